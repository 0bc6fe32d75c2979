//! `suanli ops …`: operations-platform maintenance.
//!
//! `reconcile` proves that the chain's settlement credits mirror the journal: every
//! customer's credits on the trade chain must equal its money in − money out in the
//! journal. The journal writes a mint (money in) or burn (money out) instruction into an
//! outbox in the same SQL transaction as the entry; `reconcile` first sends the pending
//! ones (unless `--no-mirror`), then compares and exits non-zero naming every difference.
//!
//! The mirror itself is `suanli_bridge::mirror::LedgerMirror`. It works on the embedded node under the platform's data directory, so run it while
//! `suanli serve` is stopped (the node's files are locked while it runs).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use suanli_bridge::mirror::LedgerMirror;
use suanli_ledger_client::LedgerClient;
use suanli_ledger_client::embedded::{NETWORK_DEFAULT, open_node};
use suanli_platform_http::payment::{pump_mirror, reconcile};
use suanli_platform_http::store::{OpsStore, PgStore, SqliteStore};
use suanli_primitives::SecretKey;

#[derive(Debug, Subcommand)]
pub enum OpsCmd {
    /// Mirror pending money in/out onto settlement credits, then compare journal and chain.
    Reconcile(ReconcileArgs),
}

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// The platform's data directory (ops.db and the embedded node under node/), as given
    /// to `suanli serve --data`.
    #[arg(long = "data", default_value = "suanli-data/platform")]
    pub data_dir: PathBuf,
    /// PostgreSQL URL of the operations store (default: SQLite in the data directory).
    #[arg(long)]
    pub database_url: Option<String>,
    /// Only compare; do not send pending mint/burn instructions.
    #[arg(long)]
    pub no_mirror: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: OpsCmd) -> anyhow::Result<()> {
    match cmd {
        OpsCmd::Reconcile(a) => run_reconcile(a),
    }
}

fn run_reconcile(a: ReconcileArgs) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let store: Arc<dyn OpsStore> = match &a.database_url {
        Some(url) => Arc::new(rt.block_on(PgStore::connect(url))?),
        None => {
            let path = a.data_dir.join("ops.db");
            if !path.exists() {
                bail!(
                    "{} does not exist (is --data the platform's data directory?)",
                    path.display()
                );
            }
            Arc::new(rt.block_on(SqliteStore::open(&path))?)
        }
    };
    let node_dir = a.data_dir.join("node");
    let operator = SecretKey::load(&node_dir.join("operator.key")).with_context(|| {
        format!(
            "the embedded node's credit operator key in {}",
            node_dir.display()
        )
    })?;
    let (node, producers) = open_node(
        &node_dir,
        NETWORK_DEFAULT,
        None,
        suanli_ledger::MempoolConfig::default(),
    )?;
    let mirror = LedgerMirror::new(Arc::clone(&node) as Arc<dyn LedgerClient>, operator);
    let result = rt.block_on(async {
        let sent = if a.no_mirror {
            0
        } else {
            let now = suanli_primitives::Clock::now_unix_ms(&suanli_primitives::SystemClock);
            pump_mirror(store.as_ref(), &mirror, now)
                .await
                .map_err(|e| anyhow::anyhow!("mirroring: {e}"))?
        };
        let (checked, diffs) = reconcile(store.as_ref(), &mirror)
            .await
            .map_err(|e| anyhow::anyhow!("reconciling: {e}"))?;
        anyhow::Ok((sent, checked, diffs))
    });
    node.stop();
    for p in producers {
        let _ = p.join();
    }
    let (sent, checked, diffs) = result?;
    if a.json {
        println!(
            "{}",
            serde_json::json!({"mirrored": sent, "customers": checked, "differences": diffs})
        );
    } else {
        println!("mirrored {sent} pending instruction(s); compared {checked} customer(s)");
        for d in &diffs {
            println!(
                "DIFFERENCE org #{}: journal money in − out {} fen, chain settlement credits {} fen",
                d.org, d.journal_fen, d.chain_fen
            );
        }
    }
    if !diffs.is_empty() {
        bail!(
            "{} customer(s) differ between journal and chain",
            diffs.len()
        );
    }
    if !a.json {
        println!("journal and chain agree");
    }
    Ok(())
}
