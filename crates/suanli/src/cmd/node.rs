//! `suanli node`: a ledger node hosting the identity and trade chains, with its HTTP API.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use suanli_ledger::MempoolConfig;
use suanli_ledger_client::embedded::{NETWORK_DEFAULT, open_node};
use suanli_primitives::PublicKey;

#[derive(Debug, Clone, Args)]
pub struct NodeArgs {
    /// Data directory (created if missing): chain.redb, node.key, operator.key.
    #[arg(long, default_value = "suanli-data/node")]
    pub data: PathBuf,
    /// Address of the HTTP API.
    #[arg(long, default_value = "127.0.0.1:7410")]
    pub listen: SocketAddr,
    /// Network name, bound into every transaction (used when the chains are created).
    #[arg(long, default_value = NETWORK_DEFAULT)]
    pub network: String,
    /// Hex public key allowed to mint credits; default: the key in DATA/operator.key,
    /// created on first start. Only read when the chains are created.
    #[arg(long)]
    pub credit_operator: Option<String>,
    /// File with one member token per line; callers then need `Authorization: Bearer
    /// <token>`. Required when --listen is not a loopback address.
    #[arg(long)]
    pub api_token_file: Option<PathBuf>,
    /// File with one reader token per line: readers reach only the public API (trade and
    /// identity endpoints, submitting transactions), not the raw ledger. Needs
    /// --api-token-file.
    #[arg(long)]
    pub reader_token_file: Option<PathBuf>,
    #[command(flatten)]
    pub tuning: Tuning,
}

/// Shortest member token accepted, in characters.
const API_TOKEN_LEN_MIN: usize = 16;

/// Who may call the node API: member tokens (and reader tokens) from files, or everyone on
/// loopback only.
fn api_access(args: &NodeArgs) -> anyhow::Result<suanli_node_http::Access> {
    let Some(path) = &args.api_token_file else {
        anyhow::ensure!(
            args.reader_token_file.is_none(),
            "--reader-token-file needs --api-token-file (without member tokens everyone on loopback is a member)"
        );
        anyhow::ensure!(
            args.listen.ip().is_loopback(),
            "refusing to serve the node API on {} without --api-token-file: off loopback every caller needs a member token",
            args.listen
        );
        return Ok(suanli_node_http::Access::open());
    };
    let members = read_tokens(path)?;
    let access = suanli_node_http::Access::tokens(&members);
    match &args.reader_token_file {
        None => Ok(access),
        Some(readers) => Ok(access.with_readers(&read_tokens(readers)?)),
    }
}

/// One token per line, each at least [`API_TOKEN_LEN_MIN`] characters.
fn read_tokens(path: &Path) -> anyhow::Result<Vec<String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let tokens: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    anyhow::ensure!(
        !tokens.is_empty(),
        "{} holds no tokens (one per line)",
        path.display()
    );
    if let Some(short) = tokens.iter().position(|t| t.len() < API_TOKEN_LEN_MIN) {
        anyhow::bail!(
            "token on line {} of {} is shorter than {API_TOKEN_LEN_MIN} characters",
            short + 1,
            path.display()
        );
    }
    Ok(tokens)
}

#[derive(Debug, Clone, Args)]
pub struct Tuning {
    /// Most transactions waiting in each chain's mempool.
    #[arg(long, default_value_t = MempoolConfig::default().txs_max)]
    pub mempool_txs_max: usize,
    /// Seal a block when this many transactions wait.
    #[arg(long, default_value_t = MempoolConfig::default().block_txs_max)]
    pub block_txs_max: usize,
    /// Seal a block when the oldest waiting transaction is this old.
    #[arg(long, default_value_t = MempoolConfig::default().block_interval_ms)]
    pub block_interval_ms: u64,
}

impl Tuning {
    pub fn mempool(&self) -> anyhow::Result<MempoolConfig> {
        let (txs, block, interval) = (
            self.mempool_txs_max,
            self.block_txs_max,
            self.block_interval_ms,
        );
        Ok(suanli_ledger_client::embedded::mempool_config(
            txs, block, interval,
        )?)
    }
}

pub fn run(args: NodeArgs) -> anyhow::Result<()> {
    let operator = args
        .credit_operator
        .as_deref()
        .map(PublicKey::from_hex)
        .transpose()
        .context("--credit-operator")?;
    let access = api_access(&args)?;
    let (node, producers) = open_node(&args.data, &args.network, operator, args.tuning.mempool()?)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("binding {}", args.listen))?;
        let addr = listener.local_addr()?;
        for kind in suanli_primitives::ChainKind::ALL {
            let head = node.head(kind);
            tracing::info!(chain = %node.chain_id(kind), height = head.height(), hash = %head.hash, "chain ready");
        }
        tracing::info!(%addr, "node API listening");
        println!("listening on http://{addr}");
        suanli_node_http::serve(Arc::clone(&node), access, listener, shutdown_signal()).await?;
        anyhow::Ok(())
    })?;
    node.stop();
    for p in producers {
        let _ = p.join();
    }
    tracing::info!("node stopped");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
