//! `suanli serve`: the operations platform's HTTP API (see `docs/configuration.md`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use suanli_server::config::{Config, Secret};

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
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    rt.block_on(async move {
        let platform =
            suanli_server::Platform::open(&config, Arc::new(suanli_server::SystemClock)).await?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("bind {}", config.listen))?;
        platform
            .serve(listener, suanli_server::shutdown_signal())
            .await?;
        anyhow::Ok(())
    })
}
