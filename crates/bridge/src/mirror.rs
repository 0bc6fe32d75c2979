//! `suanli ops …`: operations-platform maintenance.
//!
//! `reconcile` proves that the chain's settlement credits mirror the journal: every
//! customer's credits on the trade chain must equal its money in − money out in the
//! journal. The journal writes a mint (money in) or burn (money out) instruction into an
//! outbox in the same SQL transaction as the entry; `reconcile` first sends the pending
//! ones (unless `--no-mirror`), then compares and exits non-zero naming every difference.
//!
//! Settlement accounts are custodial: the platform holds one chain key per customer,
//! derived from the embedded node's credit-operator key (`SHA-256("suanli-settlement" ‖
//! operator seed ‖ org id)`); the operator mints to it, the account key burns from it.
//! It works on the embedded node under the platform's data directory, so run it while
//! `suanli serve` is stopped (the node's files are locked while it runs).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use suanli_ledger::credit::{CreditOp, PositiveFen, balance_key, decode_fen};
use suanli_ledger::{Outcome, Payload, Transaction};
use suanli_node::{Node, TxStatus};
use suanli_platform_http::domain::OrgId;
use suanli_platform_http::domain::money::Fen;
use suanli_platform_http::payment::{MirrorOp, SettlementMirror, SignedTx, pump_mirror, reconcile};
use suanli_platform_http::store::{OpsStore, PgStore, SqliteStore};
use suanli_primitives::{ChainKind, SecretKey, sha256};

use super::node::{NETWORK_DEFAULT, open_node};

/// Longest to wait for a mirror transaction to commit, in milliseconds.
const MIRROR_COMMIT_TIMEOUT_MS: u64 = 10_000;

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

/// Settlement credits on an embedded ledger node.
#[derive(Debug)]
pub struct LedgerMirror {
    node: Arc<Node>,
    operator: SecretKey,
}

impl LedgerMirror {
    /// A mirror on `node`, minting with the genesis credit operator `operator`.
    pub fn new(node: Arc<Node>, operator: SecretKey) -> Self {
        Self { node, operator }
    }

    /// The custodial settlement account of customer `org`.
    pub fn account(&self, org: OrgId) -> SecretKey {
        let mut material = b"suanli-settlement".to_vec();
        material.extend_from_slice(&self.operator.seed());
        material.extend_from_slice(&org.get().to_be_bytes());
        SecretKey::from_seed(sha256(&material).as_bytes())
    }

    fn sign_op(&self, key: &SecretKey, op: CreditOp) -> SignedTx {
        let chain = self.node.chain_id(ChainKind::Trade);
        // The next nonce counts the signer's transactions waiting in the mempool: the
        // outbox is sent in order and a pass stops at the first instruction not applied,
        // so an instruction is never signed while an earlier one of the same signer is
        // signed but not yet submitted.
        let nonce = self.node.next_nonce(ChainKind::Trade, &key.public());
        let tx = Transaction::sign(&chain, key, nonce, Payload::Credit(op));
        SignedTx {
            reference: tx.id().to_string(),
            encoded_hex: hex::encode(tx.encoded()),
        }
    }

    fn wait(&self, id: &suanli_ledger::TxId) -> Result<TxStatus, String> {
        self.node
            .wait(
                id,
                ChainKind::Trade,
                Duration::from_millis(MIRROR_COMMIT_TIMEOUT_MS),
            )
            .map_err(|e| e.to_string())
    }
}

fn amount(f: Fen) -> Result<PositiveFen, String> {
    PositiveFen::new(f.get()).map_err(|e| format!("{e:?}"))
}

impl SettlementMirror for LedgerMirror {
    fn sign(&self, op: MirrorOp, org: OrgId, fen: Fen, _memo: &str) -> Result<SignedTx, String> {
        Ok(match op {
            MirrorOp::Mint => self.sign_op(
                &self.operator,
                CreditOp::Mint {
                    to: self.account(org).public(),
                    amount: amount(fen)?,
                },
            ),
            MirrorOp::Burn => self.sign_op(
                &self.account(org),
                CreditOp::Burn {
                    amount: amount(fen)?,
                },
            ),
        })
    }

    fn send(&self, signed: &SignedTx) -> Result<(), String> {
        let bytes = hex::decode(&signed.encoded_hex).map_err(|e| e.to_string())?;
        let tx = Transaction::decode(&bytes).map_err(|e| e.to_string())?;
        let id = tx.id();
        let mut status = self.node.status(&id).map_err(|e| e.to_string())?;
        if matches!(status, TxStatus::Unknown | TxStatus::Rejected { .. }) {
            // Never admitted, or lost with a restart before its block: submit the same
            // transaction again (its nonce lets the chain apply it at most once).
            self.node.submit(tx).map_err(|e| e.to_string())?;
            status = TxStatus::Pending;
        }
        if status == TxStatus::Pending {
            status = self.wait(&id)?;
        }
        match status {
            TxStatus::Committed {
                outcome: Outcome::Applied,
                ..
            } => Ok(()),
            other => Err(format!("settlement transaction {id} ended as {other:?}")),
        }
    }

    fn balance(&self, org: OrgId) -> Result<i64, String> {
        let key = balance_key(&self.account(org).public());
        Ok(self
            .node
            .state_get(ChainKind::Trade, &key)
            .and_then(|b| decode_fen(&b))
            .map_or(0, |f| f.get()))
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
    let mirror = LedgerMirror::new(Arc::clone(&node), operator);
    let result = rt.block_on(async {
        let sent = if a.no_mirror {
            0
        } else {
            pump_mirror(
                store.as_ref(),
                &mirror,
                suanli_platform_http::domain::clock::Clock::now_unix_ms(
                    &suanli_platform_http::SystemClock,
                ),
            )
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

#[cfg(test)]
mod tests {
    use super::*;
    use suanli_platform_http::domain::{OrgKind, OrgStatus, Role};
    use suanli_platform_http::store::{MoneyStore, NewOrg, NewUser};

    /// Submits like the real mirror but reports a timeout the first time, as a commit
    /// wait that gave up while the transaction went through.
    #[derive(Debug)]
    struct TimesOutOnce<'a> {
        inner: &'a LedgerMirror,
        failed: std::sync::atomic::AtomicBool,
    }

    impl SettlementMirror for TimesOutOnce<'_> {
        fn sign(&self, op: MirrorOp, org: OrgId, a: Fen, memo: &str) -> Result<SignedTx, String> {
            self.inner.sign(op, org, a, memo)
        }
        fn send(&self, tx: &SignedTx) -> Result<(), String> {
            self.inner.send(tx)?;
            if self.failed.swap(true, std::sync::atomic::Ordering::SeqCst) {
                Ok(())
            } else {
                Err("timed out waiting for the commit".into())
            }
        }
        fn balance(&self, org: OrgId) -> Result<i64, String> {
            self.inner.balance(org)
        }
    }

    #[test]
    fn mirror_then_reconcile_agrees_and_finds_tampering() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let store = rt
            .block_on(SqliteStore::open(&dir.path().join("ops.db")))
            .unwrap_or_else(|e| panic!("{e}"));
        let (org, user) = rt.block_on(async {
            let o = store
                .create_org(&NewOrg {
                    kind: OrgKind::Enterprise,
                    name: "C".into(),
                    status: OrgStatus::Active,
                    distributor: None,
                    created_ms: 0,
                })
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let u = store
                .create_user(&NewUser {
                    org: o.id,
                    login: "c".into(),
                    display_name: "c".into(),
                    password_hash: "h".into(),
                    roles: vec![Role::CustomerAdmin],
                    created_ms: 0,
                })
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            (o.id, u.id)
        });
        let f = |n| Fen::new(n).unwrap_or_else(|e| panic!("{e}"));
        rt.block_on(async {
            store
                .create_payment(org, user, "sandbox", "r1", f(5_000), 1)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            store
                .confirm_payment("sandbox", "r1", f(5_000), 1)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        });
        let node_dir = dir.path().join("node");
        let (node, producers) = open_node(
            &node_dir,
            NETWORK_DEFAULT,
            None,
            suanli_ledger::MempoolConfig {
                block_interval_ms: 5,
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let operator =
            SecretKey::load(&node_dir.join("operator.key")).unwrap_or_else(|e| panic!("{e}"));
        let mirror = LedgerMirror::new(Arc::clone(&node), operator);
        rt.block_on(async {
            // Before mirroring the chain lags the journal.
            let (_, diffs) = reconcile(&store, &mirror)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(diffs.len(), 1);
            assert_eq!(pump_mirror(&store, &mirror, 2).await, Ok(1));
            let (n, diffs) = reconcile(&store, &mirror)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!((n, diffs.len()), (1, 0));
            assert_eq!(mirror.balance(org), Ok(5_000));
            // A withdrawal burns.
            let t = store
                .create_offline(&suanli_platform_http::store::NewOffline {
                    org,
                    direction: suanli_platform_http::store::Direction::Out,
                    amount: f(1_200),
                    reference: "w".into(),
                    entered_by: user,
                    at_ms: 3,
                })
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let approver = store
                .create_user(&NewUser {
                    org,
                    login: "finance2".into(),
                    display_name: "f".into(),
                    password_hash: "h".into(),
                    roles: vec![],
                    created_ms: 0,
                })
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            store
                .approve_offline(t.id, approver.id, 3)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(pump_mirror(&store, &mirror, 4).await, Ok(1));
            assert_eq!(mirror.balance(org), Ok(3_800));
            assert!(
                reconcile(&store, &mirror)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"))
                    .1
                    .is_empty()
            );
            // A commit wait that times out (the transaction was submitted and is applied
            // anyway) leaves the signed transaction in the outbox; the next pass finds it
            // applied instead of minting again.
            store
                .create_payment(org, user, "sandbox", "r2", f(300), 5)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            store
                .confirm_payment("sandbox", "r2", f(300), 5)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let flaky = TimesOutOnce {
                inner: &mirror,
                failed: std::sync::atomic::AtomicBool::new(false),
            };
            assert!(pump_mirror(&store, &flaky, 6).await.is_err());
            let pending = store
                .mirror_pending(10)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(pending.len(), 1);
            let signed = pending[0].signed_ref.clone();
            assert!(signed.is_some());
            assert_eq!(pump_mirror(&store, &mirror, 7).await, Ok(1));
            assert_eq!(mirror.balance(org), Ok(4_100), "minted once");
            assert!(
                reconcile(&store, &mirror)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"))
                    .1
                    .is_empty()
            );
            // Credits minted outside the journal are named.
            mirror
                .mint(org, f(7), "tamper")
                .unwrap_or_else(|e| panic!("{e}"));
            let (_, diffs) = reconcile(&store, &mirror)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(diffs.len(), 1);
            assert_eq!((diffs[0].journal_fen, diffs[0].chain_fen), (4_100, 4_107));
        });
        node.stop();
        for p in producers {
            let _ = p.join();
        }
    }
}
