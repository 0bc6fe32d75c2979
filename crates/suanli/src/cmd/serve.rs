//! `suanli serve`: the operations platform's HTTP API and web consoles (see
//! `docs/configuration.md`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use suanli_platform_http::config::{Config, Secret};
use suanli_primitives::SecretKey;

use suanli_bridge::anchor::LedgerAnchor;
use suanli_bridge::dids::{LedgerDids, LedgerParties};
use suanli_ledger_client::embedded::{NETWORK_DEFAULT, Running, open_node, stop};
use suanli_ledger_client::{HttpLedger, LedgerClient};

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
    let (target, embedded) = ledger_target(&a, &config.data_dir)?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    let platform_key = SecretKey::load_or_generate(&config.data_dir.join("platform.key"))?;
    tracing::info!(key = %platform_key.public(), "platform key anchors the audit-log head on the trade chain");
    let dids = Arc::new(LedgerDids::new(Arc::clone(&target))?);
    // Approved parties' KYC credentials and enrolment need the genesis operator's key,
    // which only an embedded node has here (docs/key-custody.md §7).
    let parties = match &embedded {
        Some((node, _)) => {
            let path = config.data_dir.join("node").join("operator.key");
            let operator = SecretKey::load(&path)
                .with_context(|| format!("the embedded node's operator key {}", path.display()))?;
            // The embedded node runs on the system clock: so are its credentials dated.
            let clock = Arc::new(suanli_primitives::SystemClock);
            Some(Arc::new(LedgerParties::new(
                Arc::clone(node) as Arc<dyn LedgerClient>,
                clock,
                operator,
            )))
        }
        None => {
            tracing::warn!(
                "separate ledger node: approved registrations are not issued KYC credentials nor enrolled on the trade chain (the operator key is not here)"
            );
            None
        }
    };
    let anchor = Arc::new(LedgerAnchor::start(target, platform_key)?);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    let served = rt.block_on(async move {
        let mut platform = suanli_platform_http::Platform::open(
            &config,
            Arc::new(suanli_platform_http::SystemClock),
        )
        .await?
        .with_anchor(anchor)
        .with_did_registry(dids);
        if let Some(p) = parties {
            platform = platform.with_enrolment(p);
        }
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("bind {}", config.listen))?;
        // The web consoles beside the API: pages at `/`, `/console`, `/ops`, `/system`;
        // `/api/…` and `/metrics` pass through to the API router.
        let app = suanli_platform_web::router(platform.state.clone(), platform.router());
        platform
            .serve_app(app, listener, suanli_platform_http::shutdown_signal())
            .await?;
        anyhow::Ok(())
    });
    if let Some(running) = embedded {
        stop(running);
    }
    served
}

/// The ledger the platform writes to: `--node URL`, or an embedded node under DATA/node.
fn ledger_target(
    a: &ServeArgs,
    data_dir: &std::path::Path,
) -> anyhow::Result<(Arc<dyn LedgerClient>, Option<Running>)> {
    if let Some(url) = &a.node {
        let url = url.trim_end_matches('/');
        anyhow::ensure!(
            url.starts_with("http://") || url.starts_with("https://"),
            "--node must be an http:// or https:// URL of a ledger node, got {url:?}"
        );
        tracing::info!(node = url, "using a separate ledger node");
        let token = std::env::var("SUANLI_NODE_TOKEN")
            .ok()
            .filter(|t| !t.is_empty());
        return Ok((Arc::new(HttpLedger::new(url, token.as_deref())), None));
    }
    let (node, producers) = open_node(
        &data_dir.join("node"),
        NETWORK_DEFAULT,
        None,
        suanli_ledger::MempoolConfig::default(),
    )?;
    tracing::info!(dir = %data_dir.join("node").display(), "embedded ledger node ready");
    Ok((
        Arc::clone(&node) as Arc<dyn LedgerClient>,
        Some((node, producers)),
    ))
}
