//! `suanli ops …`: operations-platform maintenance.
//!
//! `reconcile` proves that the chain's organisation wallets mirror the journal: every
//! customer's wallet on the trade chain must equal its cash in the journal
//! (`docs/exchange.md`). The journal writes a mint (cash up) or burn (cash down)
//! instruction into an outbox in the same SQL transaction as the entry; `reconcile` first
//! sends the pending ones and follows the exchange's trades (unless `--no-mirror`), then
//! compares, prints the trades' counts and exits non-zero naming every difference.
//!
//! The work is `suanli_bridge::mirror` (`LedgerMirror`, `reconcile_platform`). It works on the embedded node under the platform's data directory, so run it while
//! `suanli serve` is stopped (the node's files are locked while it runs).

use std::path::PathBuf;

use anyhow::bail;
use clap::{Args, Subcommand};
use suanli_bridge::mirror::reconcile_platform;

#[derive(Debug, Subcommand)]
pub enum OpsCmd {
    /// Mirror pending money in/out onto settlement credits, then compare journal and chain.
    Reconcile(ReconcileArgs),
}

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// The platform's data directory (ops.db and the embedded node under node/), as given
    /// to `suanli serve --data`, or a demo's (`suanli demo --data`: platform/ and node/).
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
    let url = a.database_url.as_deref();
    let r = reconcile_platform(&a.data_dir, url, !a.no_mirror)?;
    let (sent, checked, diffs) = (r.mirrored, r.customers, r.differences);
    // Issue 16: every supplier's books, with the differences each names.
    let suppliers = r.suppliers;
    let supplier_diffs: usize = suppliers.iter().map(|s| s.differences.len()).sum();
    if a.json {
        println!(
            "{}",
            serde_json::json!({"mirrored": sent, "mirror_failed": r.mirror_failed,
                "customers": checked, "differences": diffs,
                "suppliers": suppliers,
                // Issue 18: the exchange's trades (docs/exchange.md §5).
                "orders": r.trades.orders, "orders_on_chain": r.trades.orders_on_chain,
                "placing": r.trades.placing, "checkins": r.trades.checkins,
                "checkins_billed": r.trades.checkins_billed,
                "journal_minus_chain_fen": r.trades.journal_minus_chain_fen})
        );
    } else {
        for s in &suppliers {
            for d in &s.differences {
                println!(
                    "DIFFERENCE supplier #{} {}: {} fen vs {} fen",
                    s.org_id, d.check, d.left_fen, d.right_fen
                );
            }
        }
        println!(
            "mirrored {sent} pending instruction(s) ({} marked failed); compared {checked} customer(s)",
            r.mirror_failed
        );
        let t = &r.trades;
        println!(
            "trades: {} order(s), {} on the chain, {} placing; check-ins {} on the chain, {} billed; journal − chain {} fen",
            t.orders,
            t.orders_on_chain,
            t.placing,
            t.checkins,
            t.checkins_billed,
            t.journal_minus_chain_fen
        );
        for d in &diffs {
            println!(
                "DIFFERENCE org #{}: journal cash {} fen, chain wallet {} fen",
                d.org, d.journal_fen, d.chain_fen
            );
        }
    }
    if supplier_diffs > 0 {
        bail!("{supplier_diffs} difference(s) in suppliers' books");
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
