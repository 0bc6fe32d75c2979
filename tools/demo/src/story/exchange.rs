//! The exchange the story runs on: the demo's node (with its HTTP API) and the platform
//! started exactly as `suanli serve` starts it — the ledger ports, the exchange worker,
//! the platform-hosted supplier agents and the platform's consumer side of service
//! channels ([`suanli_bridge::services`]) — over the data directory laid out as `suanli
//! serve --data DIR` lays it out: the platform's data in `DIR`, the embedded node in
//! `DIR/node`. So `suanli serve --data DIR` and `suanli ops reconcile --data DIR` open
//! what the demo leaves.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::bail;
use suanli_bridge::channel_key::PlatformChannel;
use suanli_bridge::services::{self, ChannelAddress};
use suanli_bridge::wiring::PlatformLedger;
use suanli_platform_http::config::Config;
use suanli_primitives::{Clock, SecretKey};

use crate::Stage;
use crate::platform::Client;

/// The platform of the story, serving until [`Platform::stop`].
#[derive(Debug)]
pub(crate) struct Platform {
    /// Where it listens (`http://127.0.0.1:port`).
    pub base: String,
    /// Where its consumer-side channel controller listens.
    pub channel: SocketAddr,
    stop_tx: tokio::sync::oneshot::Sender<()>,
    server: std::thread::JoinHandle<anyhow::Result<()>>,
}

impl Platform {
    /// Stops serving; the hosted agents and the channel controller stop after it.
    pub fn stop(self) {
        let _ = self.stop_tx.send(());
        match self.server.join() {
            Ok(Err(e)) => eprintln!("the platform stopped with an error: {e:#}"),
            Err(_) => eprintln!("the platform's thread panicked"),
            Ok(Ok(())) => {}
        }
    }

    /// A client of its API.
    pub fn client(&self) -> Client {
        Client::new(&self.base)
    }
}

/// A free loopback address for the channel controller (bound and released; the controller
/// binds it again at once).
pub(crate) fn free_loopback() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// Starts the platform over `data` on `clock`, its ledger ports on `stage`'s node with the
/// genesis `operator`, its channel controller on `channel`.
pub(crate) fn start(
    data: &Path,
    stage: &Stage,
    operator: &SecretKey,
    clock: Arc<dyn Clock>,
    channel: SocketAddr,
) -> anyhow::Result<Platform> {
    let endpoint = format!("tcp://{channel}");
    let ledger =
        PlatformLedger::over_node(Arc::clone(&stage.node), operator.clone(), clock.clone())
            .with_channel(PlatformChannel::open(data, &endpoint)?);
    let platform_key = SecretKey::load_or_generate(&data.join("platform.key"))?;
    let ports = ledger.ports(platform_key)?;
    let mut config = Config {
        listen: "127.0.0.1:0".parse()?,
        data_dir: data.to_owned(),
        ..Config::default()
    };
    // The demo pays with the labelled sandbox provider (no real money).
    config.money.sandbox_payments = true;
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || -> anyhow::Result<()> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        rt.block_on(async move {
            let platform = suanli_platform_http::Platform::open(&config, clock).await?;
            let address = ChannelAddress {
                listen: channel,
                advertise: Some(endpoint),
            };
            let (platform, services) =
                services::start(ports, platform, &config.data_dir, address).await;
            let listener = tokio::net::TcpListener::bind(config.listen).await?;
            addr_tx.send(listener.local_addr()?)?;
            let app = suanli_platform_web::router(platform.state.clone(), platform.router());
            let served = platform
                .serve_app(app, listener, async {
                    let _ = stop_rx.await;
                })
                .await;
            services.stop().await;
            served?;
            anyhow::Ok(())
        })
    });
    let Ok(addr) = addr_rx.recv() else {
        return match server.join() {
            Ok(Err(e)) => Err(e.context("the platform did not start")),
            _ => bail!("the platform did not start"),
        };
    };
    Ok(Platform {
        base: format!("http://{addr}"),
        channel,
        stop_tx,
        server,
    })
}
