//! The exchange worker's decisions and following against a scripted trade chain
//! (`crate::exchange`, `docs/exchange.md` §3): a refusal the chain contradicts is no
//! refusal, one decider per serial, the chain's top-ups followed into the journal, a
//! chain trade that is not the stored order raises no entries.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use suanli_platform_http::PortError;
use suanli_platform_http::domain::money::Fen;
use suanli_platform_http::domain::trades::{TradeStatus, order_tx};
use suanli_platform_http::domain::{OrgId, OrgKind, OrgStatus, Role, UserId};
use suanli_platform_http::exchange;
use suanli_platform_http::payment::SettlementMirror as _;
use suanli_platform_http::store::*;
use suanli_platform_http::trade_book::{ChainTopUp, ChainTrade};
use suanli_platform_http::trade_ledger::{
    OrderDraft, OrderFacts, RatingDraft, SignedOrder, Submitted, TradeLedger, WalletView,
};
use suanli_primitives::SecretKey;

const T0: i64 = 1_700_000_000_000;
const DID: &str = "did:suanli:buyer";

fn f(v: i64) -> Fen {
    Fen::new(v).unwrap()
}

/// A chain whose answers the test sets.
#[derive(Debug, Default)]
struct Scripted {
    submit: Mutex<Option<Submitted>>,
    submits: Mutex<u32>,
    trades: Mutex<BTreeMap<String, ChainTrade>>,
}

fn unused() -> PortError {
    PortError::Refused {
        code: "unused",
        message: "not used by this test".into(),
    }
}

impl TradeLedger for Scripted {
    fn channel_key(&self) -> (String, String) {
        ("ab".repeat(32), "tcp://127.0.0.1:7420".into())
    }
    fn sign_order(&self, _: &SecretKey, _: &OrderDraft) -> Result<SignedOrder, PortError> {
        Err(unused())
    }
    fn check_order(&self, _: &str) -> Result<OrderFacts, PortError> {
        Err(unused())
    }
    fn submit(&self, _: &str) -> Result<Submitted, PortError> {
        *self.submits.lock().unwrap() += 1;
        self.submit
            .lock()
            .unwrap()
            .clone()
            .ok_or_else(|| PortError::ledger(std::io::Error::other("unreachable")))
    }
    fn trade_status(&self, serial: &str) -> Result<Option<ChainTrade>, PortError> {
        Ok(self.trades.lock().unwrap().get(serial).cloned())
    }
    fn stop(&self, _: &SecretKey, _: &str) -> Result<String, PortError> {
        Err(unused())
    }
    fn rate(&self, _: &SecretKey, _: &RatingDraft) -> Result<String, PortError> {
        Err(unused())
    }
    fn consumer_orders(
        &self,
        _: &str,
        from: u64,
        _: u32,
    ) -> Result<(u64, Vec<suanli_platform_http::trade_ledger::ChainOrder>), PortError> {
        Ok((from, Vec::new()))
    }
    fn wallet_view(&self, _: &str) -> Result<Option<WalletView>, PortError> {
        Ok(None)
    }
    fn set_member(&self, _: &str, _: &str, _: i64) -> Result<String, PortError> {
        Err(unused())
    }
    fn set_suspended(&self, _: &str, _: bool) -> Result<String, PortError> {
        Err(unused())
    }
}

struct World {
    store: SqliteStore,
    _dir: tempfile::TempDir,
    org: OrgId,
    user: UserId,
    supplier: OrgId,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("ops.db")).await.unwrap();
    let mk = |kind, name: &str| NewOrg {
        kind,
        name: name.into(),
        status: OrgStatus::Active,
        distributor: None,
        created_ms: T0,
    };
    let org = store
        .create_org(&mk(OrgKind::Enterprise, "buyer"))
        .await
        .unwrap()
        .id;
    let supplier = store
        .create_org(&mk(OrgKind::SupplierResource, "dc"))
        .await
        .unwrap()
        .id;
    let user = store
        .create_user(&NewUser {
            org,
            login: "buyer".into(),
            display_name: "buyer".into(),
            password_hash: "h".into(),
            roles: vec![Role::CustomerAdmin],
            created_ms: T0,
        })
        .await
        .unwrap()
        .id;
    store
        .create_payment(org, user, "sandbox", "r1", f(10_000), T0)
        .await
        .unwrap();
    store
        .confirm_payment("sandbox", "r1", f(10_000), T0)
        .await
        .unwrap();
    World {
        store,
        _dir: dir,
        org,
        user,
        supplier,
    }
}

impl World {
    async fn order(&self, n: u8, value: i64) -> TradeRecord {
        let t = NewTrade {
            serial: format!("{n:02x}").repeat(16),
            org: self.org,
            user: self.user,
            offer_id: 3,
            chain_offer_id: 9,
            supplier_org: self.supplier,
            units: 1,
            duration_minutes: 60,
            payg: false,
            value: f(value),
            source: "web",
            idem_key: format!("key-{n}"),
            body_digest: format!("digest-{n}"),
            tx_ref: format!("tx-{n}"),
            tx_hex: "00ff".into(),
            at_ms: T0,
        };
        let escrow = order_tx(t.org, &t.serial, t.value).unwrap();
        self.store.place_trade(&t, &escrow).await.unwrap().0
    }

    async fn cash(&self) -> i64 {
        self.store
            .mirror_expected()
            .await
            .unwrap()
            .into_iter()
            .find(|(o, _)| *o == self.org)
            .map_or(0, |(_, c)| c)
    }
}

fn chain_trade(serial: &str, funded: i64) -> ChainTrade {
    ChainTrade {
        serial: serial.into(),
        offer_id: 9,
        mode_id: 1,
        supplier: "did:suanli:dc".into(),
        consumer: DID.into(),
        wallet: Some("org:1".into()),
        status: "ordered".into(),
        ordered_ms: T0,
        contract_start_ms: None,
        contract_end_ms: None,
        funded_fen: f(funded),
        paid_fen: Fen::ZERO,
        unpaid_fen: Fen::ZERO,
        checkins: Vec::new(),
        topups: Vec::new(),
        close: None,
        rating: None,
    }
}

fn port(s: &Arc<Scripted>) -> Arc<dyn TradeLedger> {
    Arc::clone(s) as Arc<dyn TradeLedger>
}

#[tokio::test]
async fn a_refusal_the_chain_contradicts_places_the_order() {
    let w = world().await;
    let t = w.order(1, 3_000).await;
    assert_eq!(w.cash().await, 7_000);
    let chain = Arc::new(Scripted::default());
    // Another decider's submission was taken: the second answer is `nonce_replayed`,
    // but the chain holds the trade.
    *chain.submit.lock().unwrap() = Some(Submitted::Refused {
        code: "nonce_replayed".into(),
        message: "nonce 3 was already used".into(),
    });
    chain
        .trades
        .lock()
        .unwrap()
        .insert(t.serial.clone(), chain_trade(&t.serial, 3_000));
    let d = exchange::decide(&w.store, &port(&chain), &t, T0 + 5)
        .await
        .unwrap();
    assert_eq!(d.status, TradeStatus::Placed);
    assert_eq!(
        w.cash().await,
        7_000,
        "the escrow stays: the wallet paid it"
    );

    // Without the trade on the chain the refusal is definite: the escrow comes back.
    let t2 = w.order(2, 1_000).await;
    *chain.submit.lock().unwrap() = Some(Submitted::Refused {
        code: "member_limit_exceeded".into(),
        message: "over".into(),
    });
    let d2 = exchange::decide(&w.store, &port(&chain), &t2, T0 + 6)
        .await
        .unwrap();
    assert_eq!(d2.status, TradeStatus::Refused);
    assert_eq!(w.cash().await, 7_000);
}

#[tokio::test]
async fn a_chain_trade_of_the_same_serial_but_another_value_refuses_the_order() {
    let w = world().await;
    let t = w.order(6, 3_000).await;
    assert_eq!(w.cash().await, 7_000);
    let chain = Arc::new(Scripted::default());
    // The buyer signed two orders with one serial and sent the dearer one to the chain
    // itself: the platform's bytes are refused, the chain holds the other trade.
    *chain.submit.lock().unwrap() = Some(Submitted::Refused {
        code: "trade_exists".into(),
        message: "serial taken".into(),
    });
    chain
        .trades
        .lock()
        .unwrap()
        .insert(t.serial.clone(), chain_trade(&t.serial, 900_000));
    let d = exchange::decide(&w.store, &port(&chain), &t, T0 + 5)
        .await
        .unwrap();
    assert_eq!(d.status, TradeStatus::Refused);
    assert_eq!(d.refusal_code.as_deref(), Some("trade_mismatch"));
    assert_eq!(w.cash().await, 10_000, "the escrow entry is reversed");
    let audit = w.store.list_audit(0, 100).await.unwrap();
    assert!(
        audit.iter().any(|a| a.event.action == "trade_mismatch"),
        "the mismatch is audited"
    );

    // Found by the worker (the chain holds the serial, the row still `placing`): the
    // same, here for another offer at the same value.
    let t2 = w.order(7, 1_000).await;
    let mut c = chain_trade(&t2.serial, 1_000);
    c.offer_id = 10;
    chain.trades.lock().unwrap().insert(t2.serial.clone(), c);
    let d2 = exchange::sync_trade(&w.store, &port(&chain), &t2, T0 + 6)
        .await
        .unwrap();
    assert_eq!(d2.status, TradeStatus::Refused);
    assert_eq!(w.cash().await, 10_000);

    // The same order (same offer, value, wallet): placed, the escrow stays.
    let t3 = w.order(8, 2_000).await;
    chain
        .trades
        .lock()
        .unwrap()
        .insert(t3.serial.clone(), chain_trade(&t3.serial, 2_000));
    let d3 = exchange::decide(&w.store, &port(&chain), &t3, T0 + 7)
        .await
        .unwrap();
    assert_eq!(d3.status, TradeStatus::Placed);
    assert_eq!(w.cash().await, 8_000);
}

#[tokio::test]
async fn a_decided_order_is_not_submitted_again() {
    let w = world().await;
    let t = w.order(3, 2_000).await;
    let chain = Arc::new(Scripted::default());
    *chain.submit.lock().unwrap() = Some(Submitted::Applied);
    let first = exchange::decide(&w.store, &port(&chain), &t, T0 + 5)
        .await
        .unwrap();
    assert_eq!(first.status, TradeStatus::Placed);
    // A second decider that read the row before the first decided (its copy says
    // `placing`) finds it decided and sends nothing.
    *chain.submit.lock().unwrap() = Some(Submitted::Refused {
        code: "nonce_replayed".into(),
        message: "nonce 3 was already used".into(),
    });
    let second = exchange::decide(&w.store, &port(&chain), &t, T0 + 6)
        .await
        .unwrap();
    assert_eq!(second.status, TradeStatus::Placed);
    assert_eq!(*chain.submits.lock().unwrap(), 1);
    assert_eq!(w.cash().await, 8_000);
}

fn topup(amount: i64) -> ChainTopUp {
    ChainTopUp {
        amount_fen: f(amount),
        at_ms: T0,
    }
}

#[tokio::test]
async fn the_chains_top_ups_are_followed_into_the_journal() {
    let w = world().await;
    assert_eq!(w.org.get(), 1, "the chain trades name wallet org:1");
    let t = w.order(4, 1_000).await;
    let chain = Arc::new(Scripted::default());
    *chain.submit.lock().unwrap() = Some(Submitted::Applied);
    let mut c = chain_trade(&t.serial, 1_600);
    c.status = "active".into();
    c.topups = vec![topup(400), topup(200)];
    chain
        .trades
        .lock()
        .unwrap()
        .insert(t.serial.clone(), c.clone());
    let placed = exchange::decide(&w.store, &port(&chain), &t, T0 + 1)
        .await
        .unwrap();
    let synced = exchange::sync_trade(&w.store, &port(&chain), &placed, T0 + 2)
        .await
        .unwrap();
    assert_eq!(
        synced.value,
        f(1_600),
        "the row's escrow is what the chain funded"
    );
    assert_eq!(w.cash().await, 10_000 - 1_600, "the top-ups left the cash");
    // Spending beyond the order's value but within what was funded is followed.
    c.status = "closed".into();
    c.checkins = vec![suanli_platform_http::trade_book::ChainCheckIn {
        n: 1,
        start_ms: T0,
        end_ms: T0 + 60_000,
        minutes: 1,
        cost_fen: f(1_500),
        at_ms: T0,
        kind: "checkin",
        seq: 0,
        height: 0,
        tx_ref: String::new(),
    }];
    c.paid_fen = f(1_500);
    c.close = Some(suanli_platform_http::trade_book::ChainClose {
        reason: "stopped_by_consumer".into(),
        by: "consumer".into(),
        refund_fen: f(100),
        at_ms: T0,
    });
    chain.trades.lock().unwrap().insert(t.serial.clone(), c);
    let closed = exchange::sync_trade(&w.store, &port(&chain), &synced, T0 + 3)
        .await
        .unwrap();
    assert_eq!(closed.status, TradeStatus::Closed);
    assert_eq!((closed.paid, closed.refunded), (f(1_500), f(100)));
    assert_eq!(w.cash().await, 10_000 - 1_500);
    // Following again changes nothing.
    exchange::sync_trade(&w.store, &port(&chain), &closed, T0 + 4)
        .await
        .unwrap();
    assert_eq!(w.cash().await, 10_000 - 1_500);
    assert!(w.store.check_projection().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_chain_trade_that_is_not_the_order_posts_nothing() {
    let w = world().await;
    let t = w.order(5, 1_000).await;
    let chain = Arc::new(Scripted::default());
    *chain.submit.lock().unwrap() = Some(Submitted::Applied);
    let placed = exchange::decide(&w.store, &port(&chain), &t, T0 + 1)
        .await
        .unwrap();
    let mut c = chain_trade(&t.serial, 1_000);
    c.wallet = Some("org:77".into());
    c.close = Some(suanli_platform_http::trade_book::ChainClose {
        reason: "stopped_by_consumer".into(),
        by: "consumer".into(),
        refund_fen: f(1_000),
        at_ms: T0,
    });
    c.status = "closed".into();
    chain.trades.lock().unwrap().insert(t.serial.clone(), c);
    let e = exchange::sync_trade(&w.store, &port(&chain), &placed, T0 + 2)
        .await
        .unwrap_err();
    assert!(matches!(e, exchange::ExchangeError::Mismatch(_)), "{e}");
    assert_eq!(
        w.cash().await,
        9_000,
        "no refund entry for another wallet's trade"
    );
    let row = w.store.get_trade(&t.serial).await.unwrap().unwrap();
    assert_eq!(row.status, TradeStatus::Placed);
}

#[test]
fn a_presigned_delegation_must_be_the_platforms_within_the_value() {
    use suanli_platform_http::service::trades::foreign_delegation;
    use suanli_platform_http::trade_ledger::Delegation;
    let platform = Scripted::default().channel_key();
    let d = |key: &str, endpoint: &str, max_fen| Delegation {
        key_hex: key.into(),
        endpoint: endpoint.into(),
        valid_until_ms: u64::MAX,
        max_fen,
    };
    assert!(foreign_delegation(&platform, &d(&platform.0, &platform.1, 1_000), 1_000).is_ok());
    for bad in [
        d(&"cd".repeat(32), &platform.1, 1_000),
        d(&platform.0, "tcp://203.0.113.9:7420", 1_000),
        d(&platform.0, &platform.1, 1_001),
    ] {
        let e = foreign_delegation(&platform, &bad, 1_000).unwrap_err();
        assert_eq!(e.code(), "foreign_delegation");
    }
    // No platform channel key: no delegation is accepted.
    let none = (String::new(), String::new());
    assert!(foreign_delegation(&none, &d("", "", 0), 1_000).is_err());
}

#[tokio::test]
async fn a_pending_instruction_skips_only_its_organisations_wallet() {
    let w = world().await;
    // A second customer whose recharge's mint was sent.
    let other = w
        .store
        .create_org(&NewOrg {
            kind: OrgKind::Enterprise,
            name: "other".into(),
            status: OrgStatus::Active,
            distributor: None,
            created_ms: T0,
        })
        .await
        .unwrap()
        .id;
    let payer = w
        .store
        .create_user(&NewUser {
            org: other,
            login: "other".into(),
            display_name: "other".into(),
            password_hash: "h".into(),
            roles: vec![Role::CustomerAdmin],
            created_ms: T0,
        })
        .await
        .unwrap()
        .id;
    w.store
        .create_payment(other, payer, "sandbox", "r2", f(500), T0)
        .await
        .unwrap();
    w.store
        .confirm_payment("sandbox", "r2", f(500), T0)
        .await
        .unwrap();
    for m in w.store.mirror_pending(100).await.unwrap() {
        if m.org == other {
            w.store.mirror_signed(m.id, "tx-m", "00").await.unwrap();
            w.store.mirror_sent(m.id, "tx-m", T0).await.unwrap();
        }
    }
    let lagging = exchange::orgs_pending(&w.store).await.unwrap().unwrap();
    assert_eq!(lagging.iter().copied().collect::<Vec<_>>(), vec![w.org]);
    // The chain shows no wallet for either: only the other's difference is seen.
    let chain = Arc::new(Scripted::default());
    let (n, diffs) = exchange::compare_wallets(&w.store, &port(&chain), &lagging)
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(diffs.len(), 1);
    assert_eq!((diffs[0].org, diffs[0].journal_fen), (other.get(), 500));
}

/// A mirror whose wallets the test reads; a reference is applied once per wallet.
#[derive(Debug, Default)]
struct Wallets {
    balances: Mutex<BTreeMap<i64, i64>>,
    references: Mutex<Vec<(i64, String)>>,
}

impl suanli_platform_http::payment::SettlementMirror for Wallets {
    fn sign(
        &self,
        op: suanli_platform_http::payment::MirrorOp,
        org: OrgId,
        amount: Fen,
        memo: &str,
    ) -> Result<suanli_platform_http::payment::SignedTx, PortError> {
        assert_eq!(op, suanli_platform_http::payment::MirrorOp::Mint);
        Ok(suanli_platform_http::payment::SignedTx {
            reference: memo.to_owned(),
            encoded_hex: format!("{}:{}", org.get(), amount.get()),
        })
    }
    fn sign_and_send(
        &self,
        op: suanli_platform_http::payment::MirrorOp,
        org: OrgId,
        amount: Fen,
        memo: &str,
        record: &mut dyn FnMut(&suanli_platform_http::payment::SignedTx) -> Result<(), PortError>,
    ) -> Result<(suanli_platform_http::payment::SignedTx, Submitted), PortError> {
        let tx = self.sign(op, org, amount, memo)?;
        record(&tx)?;
        let sent = self.send(&tx)?;
        Ok((tx, sent))
    }
    fn send(&self, tx: &suanli_platform_http::payment::SignedTx) -> Result<Submitted, PortError> {
        let (org, amount) = tx.encoded_hex.split_once(':').unwrap();
        let org: i64 = org.parse().unwrap();
        let mut refs = self.references.lock().unwrap();
        if refs.contains(&(org, tx.reference.clone())) {
            return Ok(Submitted::Refused {
                code: "reference_used".into(),
                message: "used".into(),
            });
        }
        refs.push((org, tx.reference.clone()));
        *self.balances.lock().unwrap().entry(org).or_default() += amount.parse::<i64>().unwrap();
        Ok(Submitted::Applied)
    }
    fn balance(&self, org: OrgId) -> Result<i64, PortError> {
        Ok(self
            .balances
            .lock()
            .unwrap()
            .get(&org.get())
            .copied()
            .unwrap_or(0))
    }
}

#[tokio::test]
async fn an_upgrade_mints_the_cash_the_wallet_never_had_once() {
    let w = world().await;
    // The recharge's instruction was sent before the wallets existed: not pending, and
    // the wallet holds 2,000 of the 10,000 cash.
    for m in w.store.mirror_pending(100).await.unwrap() {
        w.store.mirror_signed(m.id, "tx-m", "00").await.unwrap();
        w.store.mirror_sent(m.id, "tx-m", T0).await.unwrap();
    }
    let wallets = Arc::new(Wallets::default());
    wallets.balances.lock().unwrap().insert(w.org.get(), 2_000);
    let mirror: Arc<dyn suanli_platform_http::payment::SettlementMirror> = wallets.clone();
    let ledger = port(&Arc::new(Scripted::default()));
    assert_eq!(
        exchange::opening_mints(&w.store, &ledger, &mirror)
            .await
            .unwrap(),
        1
    );
    assert_eq!(wallets.balance(w.org).unwrap(), 10_000);
    assert_eq!(
        wallets.references.lock().unwrap().clone(),
        vec![(w.org.get(), exchange::opening_reference(w.org))]
    );
    // Recorded in the store before the mint, and the opening done.
    assert_eq!(
        w.store
            .get_setting(&exchange::opening_setting(w.org))
            .await
            .unwrap()
            .as_deref(),
        Some("8000")
    );
    assert!(
        w.store
            .get_setting(exchange::OPENING_DONE_SETTING)
            .await
            .unwrap()
            .is_some()
    );
    // A restart (the same store, a new process): the wallet fell behind meanwhile, but
    // no opening runs again — the alarm names the difference instead.
    wallets.balances.lock().unwrap().insert(w.org.get(), 9_000);
    assert_eq!(
        exchange::opening_mints(&w.store, &ledger, &mirror)
            .await
            .unwrap(),
        0
    );
    assert_eq!(wallets.balance(w.org).unwrap(), 9_000);
    assert_eq!(wallets.references.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn an_organisation_with_trades_is_opened_with_nothing() {
    let w = world().await;
    for m in w.store.mirror_pending(100).await.unwrap() {
        w.store.mirror_signed(m.id, "tx-m", "00").await.unwrap();
        w.store.mirror_sent(m.id, "tx-m", T0).await.unwrap();
    }
    let wallets = Arc::new(Wallets::default());
    let mirror: Arc<dyn suanli_platform_http::payment::SettlementMirror> = wallets.clone();
    let chain = Arc::new(Scripted::default());
    // An order still `placing`: not decided this start.
    let t = w.order(9, 1_000).await;
    assert_eq!(
        exchange::opening_mints(&w.store, &port(&chain), &mirror)
            .await
            .unwrap(),
        0
    );
    assert!(
        w.store
            .get_setting(&exchange::opening_setting(w.org))
            .await
            .unwrap()
            .is_none()
    );
    // Decided (placed): the cash and the wallet moved apart by a trade, so nothing is
    // minted and the organisation is never opened later.
    *chain.submit.lock().unwrap() = Some(Submitted::Applied);
    exchange::decide(&w.store, &port(&chain), &t, T0 + 1)
        .await
        .unwrap();
    assert_eq!(
        exchange::opening_mints(&w.store, &port(&chain), &mirror)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        w.store
            .get_setting(&exchange::opening_setting(w.org))
            .await
            .unwrap()
            .as_deref(),
        Some("0")
    );
    assert!(wallets.references.lock().unwrap().is_empty());
}
