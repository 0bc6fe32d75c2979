//! The wallet mirror: each customer's cash in the platform's journal mirrored onto its
//! organisation wallet on the trade chain (`SettlementMirror`, `docs/exchange.md` §1):
//! the operator's `wallet_mint` on cash in, `wallet_burn` on cash out, into the keyless
//! wallet `org:<id>`. The exchange worker of `suanli serve` sends the outbox continuously;
//! `suanli ops reconcile` sends what is pending and compares journal and chain.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use suanli_ledger::MempoolConfig;
use suanli_ledger::Transaction;
use suanli_ledger::credit::PositiveFen;
use suanli_ledger_client::LedgerClient;
use suanli_ledger_client::embedded::{NETWORK_DEFAULT, open_node, stop};
use suanli_ledger_client::exchange::{self, WalletOp};
use suanli_platform_http::PortError;
use suanli_platform_http::domain::OrgId;
use suanli_platform_http::domain::money::Fen;
use suanli_platform_http::domain::trades::wallet_name;
use suanli_platform_http::exchange::outbox::pump_mirror;
use suanli_platform_http::payment::{Difference, MirrorOp, SettlementMirror, SignedTx, reconcile};
use suanli_platform_http::service::supply_money::SupplierReconciliation;
use suanli_platform_http::store::{OpsStore, PgStore, SqliteStore};
use suanli_platform_http::trade_ledger::Submitted;
use suanli_primitives::{Clock, SecretKey, SystemClock};
use suanli_trade::wallet::WalletName;

use crate::BridgeError;
use crate::operator::OperatorSigner;
use crate::trade_ledger::resend_answer;

/// Longest to wait for a mirror transaction to commit, in milliseconds.
const MIRROR_COMMIT_TIMEOUT_MS: u64 = 10_000;
/// Longest reference a wallet mint or burn carries (the journal transaction it mirrors).
const MIRROR_REFERENCE_CHARS_MAX: usize = 64;

/// Organisation wallets on a ledger whose operator key this platform holds.
#[derive(Debug)]
pub struct LedgerMirror {
    ledger: Arc<dyn LedgerClient>,
    operator: OperatorSigner,
}

impl LedgerMirror {
    /// A mirror on `ledger`, signing with the genesis operator `operator` (shared with
    /// the other ports that sign with it, `crate::operator`).
    pub fn new(ledger: Arc<dyn LedgerClient>, operator: impl Into<OperatorSigner>) -> Self {
        Self {
            ledger,
            operator: operator.into(),
        }
    }

    fn wallet(org: OrgId) -> Result<WalletName, BridgeError> {
        WalletName::parse(&wallet_name(org))
            .map_err(|e| BridgeError::invalid("wallet_invalid", e.to_string()))
    }

    /// Signs the instruction at the operator's next nonce (counting the mempool) with
    /// `operator` — the caller holds the signer's lock.
    fn sign_mirror(
        &self,
        operator: &SecretKey,
        op: MirrorOp,
        org: OrgId,
        fen: Fen,
        memo: &str,
    ) -> Result<SignedTx, BridgeError> {
        let amount_fen = PositiveFen::new(fen.get())?;
        let reference: String = memo.chars().take(MIRROR_REFERENCE_CHARS_MAX).collect();
        let op = match op {
            MirrorOp::Mint => WalletOp::Mint {
                amount_fen,
                reference,
            },
            MirrorOp::Burn => WalletOp::Burn {
                amount_fen,
                reference,
            },
        };
        let tx = exchange::sign_wallet_op(self.ledger.as_ref(), operator, &Self::wallet(org)?, op)
            .map_err(|e| match e {
                suanli_ledger_client::ClientError::Ledger(l) => BridgeError::Ledger(l),
                other => {
                    BridgeError::invalid("mirror_sign", suanli_primitives::error_chain(&other))
                }
            })?;
        Ok(SignedTx {
            reference: tx.id().to_string(),
            encoded_hex: hex::encode(tx.encoded()),
        })
    }

    /// Commits `signed` (the caller holds the signer's lock): applied, definitely refused
    /// (`resend_answer`), or `Err` when unknown.
    fn send_locked(&self, signed: &SignedTx) -> Result<Submitted, BridgeError> {
        // Never admitted, or lost with a restart before its block: the same transaction is
        // submitted again (its nonce lets the chain apply it at most once).
        let wait = Duration::from_millis(MIRROR_COMMIT_TIMEOUT_MS);
        let tx = Transaction::decode(&hex::decode(&signed.encoded_hex)?)?;
        match self.ledger.commit(&tx, wait) {
            Ok(_) => Ok(Submitted::Applied),
            Err(e) => resend_answer(e, || self.ledger.status(&tx.id())),
        }
    }

    fn balance_of(&self, org: OrgId) -> Result<i64, BridgeError> {
        let view = exchange::wallet_view(self.ledger.as_ref(), &Self::wallet(org)?).map_err(
            |e| match e {
                suanli_ledger_client::ClientError::Ledger(l) => BridgeError::Ledger(l),
                other => {
                    BridgeError::invalid("wallet_view", suanli_primitives::error_chain(&other))
                }
            },
        )?;
        Ok(view.map_or(0, |v| v.balance_fen))
    }
}

impl SettlementMirror for LedgerMirror {
    fn sign(&self, op: MirrorOp, org: OrgId, fen: Fen, memo: &str) -> Result<SignedTx, PortError> {
        let (_signing, operator) = self.operator.lock();
        Ok(self.sign_mirror(operator, op, org, fen, memo)?)
    }

    fn sign_and_send(
        &self,
        op: MirrorOp,
        org: OrgId,
        fen: Fen,
        memo: &str,
        record: &mut dyn FnMut(&SignedTx) -> Result<(), PortError>,
    ) -> Result<(SignedTx, Submitted), PortError> {
        // One hold of the operator's lock from the signature to the chain's answer: no
        // other port signs at this nonce meanwhile (`crate::operator`).
        let (_signing, operator) = self.operator.lock();
        let tx = self.sign_mirror(operator, op, org, fen, memo)?;
        record(&tx)?;
        let sent = self.send_locked(&tx)?;
        Ok((tx, sent))
    }

    fn send(&self, signed: &SignedTx) -> Result<Submitted, PortError> {
        let _signing = self.operator.lock();
        Ok(self.send_locked(signed)?)
    }

    fn balance(&self, org: OrgId) -> Result<i64, PortError> {
        Ok(self.balance_of(org)?)
    }
}

/// What [`reconcile_platform`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciliation {
    /// Pending mint/burn instructions sent first.
    pub mirrored: u64,
    /// Mirror instructions the chain refused, marked failed (`docs/exchange.md` §1).
    pub mirror_failed: u64,
    /// Customers compared.
    pub customers: usize,
    /// Customers whose journal and chain differ.
    pub differences: Vec<Difference>,
    /// Every supplier's books (issue 16: chain check-ins vs settled, settled vs paid,
    /// burned vs paid), each with the differences it names.
    pub suppliers: Vec<SupplierReconciliation>,
    /// The exchange's trades: followed, counted, and journal cash vs wallets (issue 18).
    pub trades: crate::trade_ledger::TradeReconciliation,
}

/// Where a platform's store and its embedded node are, given the directory an operator
/// names (`docs/exchange.md` §5): `suanli serve --data D` keeps `D/ops.db` and the node in
/// `D/node`; `suanli demo --data D` keeps the platform in `D/platform` and the node in
/// `D/node` — so `D` or `D/platform` of a demo is found too. Answers (the platform's
/// directory, the node's directory).
pub fn platform_layout(
    data_dir: &Path,
    database_url: Option<&str>,
) -> Result<(PathBuf, PathBuf), BridgeError> {
    let has_store = |d: &Path| database_url.is_some() || d.join("ops.db").exists();
    let has_node = |d: &Path| d.join("operator.key").exists();
    let demo_platform = data_dir.join("platform");
    let candidates = [
        (data_dir.to_path_buf(), data_dir.join("node")),
        (demo_platform, data_dir.join("node")),
        (
            data_dir.to_path_buf(),
            data_dir
                .parent()
                .map_or_else(|| data_dir.join("node"), |p| p.join("node")),
        ),
    ];
    candidates
        .into_iter()
        .find(|(p, n)| has_store(p) && has_node(n))
        .ok_or_else(|| {
            BridgeError::invalid(
                "no_store",
                format!(
                    "{}: neither it nor its platform/ holds ops.db next to a node directory with operator.key (is --data the platform's data directory, as given to `suanli serve --data`, or a demo's?)",
                    data_dir.display()
                ),
            )
        })
}

/// `suanli ops reconcile`: on the platform in `data_dir` (its store: SQLite there, or
/// PostgreSQL at `database_url`; its embedded node, which must not be running; both found
/// by [`platform_layout`]), sends the pending mirror instructions and follows the
/// exchange's trades unless `mirror_first` is false, then compares every customer's cash
/// in the journal with its wallet on the chain.
pub fn reconcile_platform(
    data_dir: &Path,
    database_url: Option<&str>,
    mirror_first: bool,
) -> Result<Reconciliation, BridgeError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(BridgeError::Thread)?;
    let (platform_dir, node_dir) = platform_layout(data_dir, database_url)?;
    let store: Arc<dyn OpsStore> = match database_url {
        Some(url) => Arc::new(rt.block_on(PgStore::connect(url))?),
        None => Arc::new(rt.block_on(SqliteStore::open(&platform_dir.join("ops.db")))?),
    };
    let operator = OperatorSigner::new(SecretKey::load(&node_dir.join("operator.key"))?);
    let running = open_node(&node_dir, NETWORK_DEFAULT, None, MempoolConfig::default())?;
    // --- payout burns (issue 16, payout helper)
    let payouts: Arc<dyn suanli_platform_http::payout_ledger::PayoutLedger> =
        Arc::new(crate::payout::LedgerPayouts::new(
            Arc::clone(&running.0) as Arc<dyn LedgerClient>,
            operator.clone(),
        ));
    let mirror: Arc<dyn SettlementMirror> = Arc::new(LedgerMirror::new(
        Arc::clone(&running.0) as Arc<dyn LedgerClient>,
        operator,
    ));
    let result = rt.block_on(async {
        let mirrored = if mirror_first {
            let now = SystemClock.now_unix_ms();
            pump_mirror(&store, &mirror, now)
                .await
                .map(|p| p.sent)
                .map_err(|source| BridgeError::Reconcile {
                    stage: "mirroring",
                    source,
                })?
        } else {
            0
        };
        // Issue 18: follow the exchange's trades, then count and compare.
        let exchange = Arc::new(crate::trade_ledger::LedgerTrades::new(
            Arc::clone(&running.0) as Arc<dyn LedgerClient>,
            None,
            None,
            crate::trade_book::LedgerTradeBook::new(
                Arc::clone(&running.0) as Arc<dyn LedgerClient>,
                Arc::new(SystemClock),
            ),
        ));
        let trades = crate::trade_ledger::reconcile_trades(
            store.as_ref(),
            exchange,
            mirror_first,
            SystemClock.now_unix_ms(),
        )
        .await?;
        let (customers, differences) =
            reconcile(store.as_ref(), mirror.as_ref())
                .await
                .map_err(|source| BridgeError::Reconcile {
                    stage: "reconciling",
                    source,
                })?;
        let (mirror_failed, _) = store.mirror_failed_count().await?;
        let suppliers = crate::trade_book::reconcile_suppliers(
            store.as_ref(),
            Arc::clone(&running.0) as Arc<dyn LedgerClient>,
            Some(payouts),
        )
        .await?;
        Ok(Reconciliation {
            mirrored,
            mirror_failed,
            customers,
            differences,
            suppliers,
            trades,
        })
    });
    stop(running);
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use suanli_platform_http::domain::{OrgKind, OrgStatus, Role};
    use suanli_platform_http::payment::reconcile;
    use suanli_platform_http::store::SqliteStore;
    use suanli_platform_http::store::{MoneyStore, NewOrg, NewUser};

    /// Submits like the real mirror but reports a timeout the first time, as a commit
    /// wait that gave up while the transaction went through.
    #[derive(Debug)]
    struct TimesOutOnce {
        inner: Arc<dyn SettlementMirror>,
        failed: std::sync::atomic::AtomicBool,
    }

    impl SettlementMirror for TimesOutOnce {
        fn sign(
            &self,
            op: MirrorOp,
            org: OrgId,
            a: Fen,
            memo: &str,
        ) -> Result<SignedTx, PortError> {
            self.inner.sign(op, org, a, memo)
        }
        fn sign_and_send(
            &self,
            op: MirrorOp,
            org: OrgId,
            a: Fen,
            memo: &str,
            record: &mut dyn FnMut(&SignedTx) -> Result<(), PortError>,
        ) -> Result<(SignedTx, Submitted), PortError> {
            let done = self.inner.sign_and_send(op, org, a, memo, record)?;
            if self.failed.swap(true, std::sync::atomic::Ordering::SeqCst) {
                Ok(done)
            } else {
                Err(PortError::ledger(std::io::Error::other(
                    "timed out waiting for the commit",
                )))
            }
        }
        fn send(&self, tx: &SignedTx) -> Result<Submitted, PortError> {
            self.inner.send(tx)
        }
        fn balance(&self, org: OrgId) -> Result<i64, PortError> {
            self.inner.balance(org)
        }
    }

    #[test]
    fn the_platform_is_found_in_the_serve_and_the_demo_layouts() {
        let touch = |p: &std::path::Path| {
            std::fs::create_dir_all(p.parent().unwrap_or(p)).unwrap_or_else(|e| panic!("{e}"));
            std::fs::write(p, b"x").unwrap_or_else(|e| panic!("{e}"));
        };
        // `suanli serve --data D`: D/ops.db, D/node.
        let serve = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        touch(&serve.path().join("ops.db"));
        touch(&serve.path().join("node/operator.key"));
        let got = platform_layout(serve.path(), None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got, (serve.path().to_path_buf(), serve.path().join("node")));
        // `suanli demo --data D`: D/platform/ops.db, D/node — named as D or as D/platform.
        let demo = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        touch(&demo.path().join("platform/ops.db"));
        touch(&demo.path().join("node/operator.key"));
        let want = (demo.path().join("platform"), demo.path().join("node"));
        let got = platform_layout(demo.path(), None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got, want);
        let got =
            platform_layout(&demo.path().join("platform"), None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got, want);
        // Neither: `no_store`.
        let empty = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let e = platform_layout(empty.path(), None).map(|_| ()).unwrap_err();
        assert_eq!(e.code(), "no_store");
    }

    #[test]
    fn mirror_then_reconcile_agrees_and_finds_tampering() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let store = Arc::new(
            rt.block_on(SqliteStore::open(&dir.path().join("ops.db")))
                .unwrap_or_else(|e| panic!("{e}")),
        );
        let ops: Arc<dyn OpsStore> = store.clone();
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
        let (node, producers) = suanli_ledger_client::embedded::open_node(
            &node_dir,
            suanli_ledger_client::embedded::NETWORK_DEFAULT,
            None,
            suanli_ledger::MempoolConfig {
                block_interval_ms: 5,
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let operator =
            SecretKey::load(&node_dir.join("operator.key")).unwrap_or_else(|e| panic!("{e}"));
        let mirror: Arc<dyn SettlementMirror> = Arc::new(LedgerMirror::new(
            Arc::clone(&node) as Arc<dyn LedgerClient>,
            operator,
        ));
        rt.block_on(async {
            // Before mirroring the chain lags the journal.
            let (_, diffs) = reconcile(ops.as_ref(), mirror.as_ref())
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(diffs.len(), 1);
            assert_eq!(pump_mirror(&ops, &mirror, 2).await.map(|p| p.sent), Ok(1));
            let (n, diffs) = reconcile(ops.as_ref(), mirror.as_ref())
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!((n, diffs.len()), (1, 0));
            assert_eq!(mirror.balance(org).unwrap_or_else(|e| panic!("{e}")), 5_000);
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
            assert_eq!(pump_mirror(&ops, &mirror, 4).await.map(|p| p.sent), Ok(1));
            assert_eq!(mirror.balance(org).unwrap_or_else(|e| panic!("{e}")), 3_800);
            assert!(
                reconcile(ops.as_ref(), mirror.as_ref())
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
            let flaky: Arc<dyn SettlementMirror> = Arc::new(TimesOutOnce {
                inner: Arc::clone(&mirror),
                failed: std::sync::atomic::AtomicBool::new(false),
            });
            assert!(pump_mirror(&ops, &flaky, 6).await.is_err());
            let pending = store
                .mirror_pending(10)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(pending.len(), 1);
            let signed = pending[0].signed_ref.clone();
            assert!(signed.is_some());
            assert_eq!(pump_mirror(&ops, &mirror, 7).await.map(|p| p.sent), Ok(1));
            assert_eq!(
                mirror.balance(org).unwrap_or_else(|e| panic!("{e}")),
                4_100,
                "minted once"
            );
            assert!(
                reconcile(ops.as_ref(), mirror.as_ref())
                    .await
                    .unwrap_or_else(|e| panic!("{e}"))
                    .1
                    .is_empty()
            );
            // Credits minted outside the journal are named.
            mirror
                .mint(org, f(7), "tamper")
                .unwrap_or_else(|e| panic!("{e}"));
            let (_, diffs) = reconcile(ops.as_ref(), mirror.as_ref())
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
