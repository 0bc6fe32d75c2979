//! What `suanli serve` runs beside the platform's API, in one place, so that the server and
//! the demo start exactly the same exchange: the ledger ports attached to the platform, the
//! platform-hosted supplier agents ([`crate::hosted_agents`]) and the platform's consumer
//! side of service channels ([`crate::consumer_channels`]). The exchange worker (orders,
//! wallets, the journal following the chain) is started by the platform's own
//! `serve_app`.
//!
//! Start reading at [`start`].

use std::net::SocketAddr;
use std::path::Path;

use suanli_platform_http::Platform;

use crate::consumer_channels::ConsumerChannelsWorker;
use crate::hosted_agents::HostedAgents;
use crate::wiring::LedgerPorts;

/// Where the platform's consumer-side channel controller listens and what orders name as
/// its endpoint (`suanli serve --channel-listen`, `--channel-endpoint`).
#[derive(Debug, Clone)]
pub struct ChannelAddress {
    /// The address bound.
    pub listen: SocketAddr,
    /// The endpoint orders name (`tcp://` and the address bound when `None`).
    pub advertise: Option<String>,
}

/// The workers [`start`] started; [`Services::stop`] ends them before the ledger stops.
#[derive(Debug)]
pub struct Services {
    hosted: HostedAgents,
    channels: Option<ConsumerChannelsWorker>,
}

/// Attaches `ports` to `platform` and starts the hosted agents and the consumer channel
/// controller with their stores under `data_dir`. Must be called on a Tokio runtime. A
/// channel controller that cannot start (its address taken, say) is logged, not fatal:
/// trades metered by channels wait until it runs, everything else works.
pub async fn start(
    ports: LedgerPorts,
    platform: Platform,
    data_dir: &Path,
    channel: ChannelAddress,
) -> (Platform, Services) {
    let hosted = ports.hosted.clone();
    let mut wiring = ports.consumer_channels.clone();
    wiring.listen = channel.listen;
    wiring.advertise = channel.advertise;
    let platform = ports.attach(platform);
    let hosted = hosted.start(platform.state.clone(), data_dir);
    let channels = match wiring.start(data_dir).await {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::error!(error = %e, "the consumer channel controller did not start: trades metered by channels wait until it runs");
            None
        }
    };
    (platform, Services { hosted, channels })
}

impl Services {
    /// Whether the consumer channel controller runs.
    pub fn channels_running(&self) -> bool {
        self.channels.is_some()
    }

    /// Stops the hosted agents after their round, then the channel controller.
    pub async fn stop(self) {
        let hosted = self.hosted;
        if tokio::task::spawn_blocking(move || hosted.stop())
            .await
            .is_err()
        {
            tracing::error!("stopping the hosted agents panicked");
        }
        if let Some(w) = self.channels {
            w.stop().await;
        }
    }
}
