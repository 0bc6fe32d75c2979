//! `suanli serve`: the operations platform's HTTP API and web consoles (see
//! `docs/configuration.md`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use suanli_platform_http::config::{Config, Secret};
use suanli_primitives::SecretKey;

use suanli_bridge::channel_key::PlatformChannel;
use suanli_bridge::consumer_channels::CHANNEL_LISTEN_DEFAULT;
use suanli_bridge::services::ChannelAddress;
use suanli_bridge::wiring::PlatformLedger;

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Data directory (default suanli-data/platform; created if missing): ops.db, field.key,
    /// bootstrap-admin-password.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Address of the HTTP API (default 127.0.0.1:8080).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// TOML configuration file; environment variables and these flags override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// `postgres://…` to keep operations data in PostgreSQL instead of embedded SQLite.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Base URL of a separate ledger node (e.g. `http://10.0.0.5:7410`); by default an
    /// embedded node keeps its chains in DATA/node. The node's member token, if it needs
    /// one, comes from the environment variable SUANLI_NODE_TOKEN (never a flag, so it
    /// does not show in process lists).
    #[arg(long)]
    pub node: Option<String>,
    /// Also serve the embedded node's API (`docs/node-api.md`) on this loopback address,
    /// for the CLI and supplier agents on the same machine (`suanli trade … --node URL`,
    /// `suanli agent`). Loopback only: the node API has no tokens here. Prints
    /// `node API listening on http://ADDR` on standard output.
    #[arg(long)]
    pub node_listen: Option<SocketAddr>,
    /// Where the platform's consumer-side channel controller listens for the suppliers'
    /// agents (default 127.0.0.1:7420; `docs/configuration.md`).
    #[arg(long)]
    pub channel_listen: Option<SocketAddr>,
    /// The endpoint orders name for that controller (default `tcp://` and the address it
    /// listens on; set it when suppliers reach the platform at another address).
    #[arg(long)]
    pub channel_endpoint: Option<String>,
}

/// Configuration from file, then environment, then flags.
pub fn config_of(a: &ServeArgs) -> anyhow::Result<Config> {
    let mut config = match &a.config {
        Some(p) => Config::from_file(p)?,
        None => Config::default(),
    };
    config.apply_env(|k| std::env::var(k).ok())?;
    if let Some(d) = &a.data {
        config.data_dir = d.clone();
    }
    if let Some(l) = a.listen {
        config.listen = l;
    }
    if let Some(u) = &a.database_url {
        config.database_url = Some(Secret::new(u.clone()));
    }
    Ok(config)
}

pub fn run(a: ServeArgs) -> anyhow::Result<()> {
    let config = config_of(&a)?;
    tracing::info!(?config, "starting the operations platform");
    // The node's member token comes from the environment, never a flag (process lists).
    let token = std::env::var("SUANLI_NODE_TOKEN")
        .ok()
        .filter(|t| !t.is_empty());
    let ledger = PlatformLedger::open(&config.data_dir, a.node.as_deref(), token.as_deref())?;
    // Issue 18: orders delegate their channel's consumer side to the platform's channel key
    // and name the endpoint where its controller listens.
    let channel_listen = a.channel_listen.unwrap_or(CHANNEL_LISTEN_DEFAULT);
    let channel_endpoint = a
        .channel_endpoint
        .clone()
        .unwrap_or_else(|| format!("tcp://{channel_listen}"));
    let ledger = ledger.with_channel(PlatformChannel::open(&config.data_dir, &channel_endpoint)?);
    let node_api = match (a.node_listen, &ledger.embedded) {
        (None, _) => None,
        (Some(addr), Some((node, _))) => {
            anyhow::ensure!(
                addr.ip().is_loopback(),
                "--node-listen must be a loopback address (the embedded node's API has no tokens), got {addr}"
            );
            Some((addr, Arc::clone(node)))
        }
        (Some(_), None) => anyhow::bail!(
            "--node-listen serves the embedded node; with --node URL the node serves its own API"
        ),
    };
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    let platform_key = SecretKey::load_or_generate(&config.data_dir.join("platform.key"))?;
    let ports = ledger.ports(platform_key)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    let served = rt.block_on(async {
        let platform = suanli_platform_http::Platform::open(
            &config,
            Arc::new(suanli_platform_http::SystemClock),
        )
        .await?;
        // The hosted agents and the platform's consumer side of service channels (issue
        // 18), exactly as the demo starts them.
        let (platform, services) = suanli_bridge::services::start(
            ports,
            platform,
            &config.data_dir,
            ChannelAddress {
                listen: channel_listen,
                advertise: Some(channel_endpoint),
            },
        )
        .await;
        let node_task = match node_api {
            Some((addr, node)) => {
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("bind {addr}"))?;
                println!("node API listening on http://{}", listener.local_addr()?);
                let access = suanli_node_http::Access::open();
                Some(tokio::spawn(suanli_node_http::serve(
                    node,
                    access,
                    listener,
                    std::future::pending(),
                )))
            }
            None => None,
        };
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("bind {}", config.listen))?;
        // The web consoles beside the API: pages at `/`, `/console`, `/ops`, `/system`;
        // `/api/…` and `/metrics` pass through to the API router.
        let app = suanli_platform_web::router(platform.state.clone(), platform.router());
        platform
            .serve_app(app, listener, suanli_platform_http::shutdown_signal())
            .await?;
        // The hosted agents and the channel controller stop before the ledger does.
        services.stop().await;
        if let Some(t) = node_task {
            t.abort();
        }
        anyhow::Ok(())
    });
    ledger.stop();
    served
}
