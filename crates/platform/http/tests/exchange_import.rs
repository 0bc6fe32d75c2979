//! Trades placed on the chain past the platform (review finding H3, `docs/exchange.md`
//! §3): a member with its exported DID key orders directly on the chain, paid from its
//! organisation's wallet. The exchange worker imports the trade (source `chain`), the
//! journal follows its escrow, check-ins and refund, and the wallet equals the cash
//! again; nothing is imported twice (not by a second pass, not after a restart's fresh
//! cursors); a trade from another wallet is left alone; one whose member has no user is
//! audited, not imported. And the outbox (H4) against a scripted mirror: a definite
//! refusal is marked failed without blocking what follows, a stored transaction whose
//! nonce another took is signed anew, a new signature is stored before it is submitted,
//! an unknown outcome stops the pass.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use suanli_platform_http::PortError;
use suanli_platform_http::domain::money::Fen;
use suanli_platform_http::domain::trades::{TradeStatus, order_tx, wallet_name};
use suanli_platform_http::domain::{OrgId, OrgKind, OrgStatus, Role, UserId};
use suanli_platform_http::exchange::{self, Cursors};
use suanli_platform_http::store::*;
use suanli_platform_http::trade_book::{ChainCheckIn, ChainClose, ChainTrade};
use suanli_platform_http::trade_ledger::{
    ChainOrder, OrderDraft, OrderFacts, RatingDraft, SignedOrder, Submitted, TradeLedger,
    WalletMember, WalletView,
};
use suanli_primitives::SecretKey;

const T0: i64 = common::T0_MS;
const DID: &str = "did:suanli:member";
const STRANGER: &str = "did:suanli:stranger";
const SERIAL: &str = "0123456789abcdef0123456789abcdef";
const CASH_FEN: i64 = 10_000;
const VALUE_FEN: i64 = 3_000;

fn f(v: i64) -> Fen {
    Fen::new(v).unwrap()
}

/// A chain whose wallet, histories and trades the test sets.
#[derive(Debug, Default)]
struct Chain {
    wallet_fen: Mutex<i64>,
    members: Mutex<Vec<String>>,
    histories: Mutex<BTreeMap<String, Vec<ChainOrder>>>,
    trades: Mutex<BTreeMap<String, ChainTrade>>,
}

fn unused() -> PortError {
    PortError::Refused {
        code: "unused",
        message: "not used by this test".into(),
    }
}

impl TradeLedger for Chain {
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
        Err(unused())
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
        did: &str,
        from: u64,
        limit: u32,
    ) -> Result<(u64, Vec<ChainOrder>), PortError> {
        let h = self.histories.lock().unwrap();
        let all = h.get(did).cloned().unwrap_or_default();
        let from_i = usize::try_from(from).unwrap();
        let end = all.len().min(from_i + limit as usize);
        Ok((end.max(from_i) as u64, all[from_i.min(end)..end].to_vec()))
    }
    fn wallet_view(&self, _: &str) -> Result<Option<WalletView>, PortError> {
        Ok(Some(WalletView {
            balance_fen: *self.wallet_fen.lock().unwrap(),
            suspended: false,
            members: self
                .members
                .lock()
                .unwrap()
                .iter()
                .map(|d| WalletMember {
                    did: d.clone(),
                    limit_fen: 1_000_000,
                    spent_fen: 0,
                })
                .collect(),
        }))
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
    chain_offer_id: u64,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("ops.db")).await.unwrap();
    let org = store
        .create_org(&NewOrg {
            kind: OrgKind::Enterprise,
            name: "buyer".into(),
            status: OrgStatus::Active,
            distributor: None,
            created_ms: T0,
        })
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
    let chain_offer_id = 9;
    common::offers::listed_offer(&store, user, chain_offer_id).await;
    store
        .set_member_limit(org, user, DID, f(1_000_000), user, T0)
        .await
        .unwrap();
    store
        .create_payment(org, user, "sandbox", "r1", f(CASH_FEN), T0)
        .await
        .unwrap();
    store
        .confirm_payment("sandbox", "r1", f(CASH_FEN), T0)
        .await
        .unwrap();
    World {
        store,
        _dir: dir,
        org,
        user,
        chain_offer_id,
    }
}

impl World {
    async fn cash(&self) -> i64 {
        self.store
            .mirror_expected()
            .await
            .unwrap()
            .into_iter()
            .find(|(o, _)| *o == self.org)
            .map_or(0, |(_, c)| c)
    }

    fn order(&self, serial: &str, did: &str, wallet: Option<String>) -> ChainOrder {
        ChainOrder {
            serial: serial.into(),
            consumer: did.into(),
            wallet,
            chain_offer_id: self.chain_offer_id,
            units: 1,
            duration_minutes: 60,
            value_fen: VALUE_FEN,
            tx_ref: format!("tx-{serial}"),
            payg: false,
        }
    }
}

fn chain_trade(serial: &str, wallet: &str) -> ChainTrade {
    ChainTrade {
        serial: serial.into(),
        offer_id: 9,
        mode_id: 1,
        supplier: "did:suanli:dc".into(),
        consumer: DID.into(),
        wallet: Some(wallet.into()),
        status: "active".into(),
        ordered_ms: T0,
        contract_start_ms: Some(T0),
        contract_end_ms: Some(T0 + 3_600_000),
        funded_fen: f(VALUE_FEN),
        paid_fen: Fen::ZERO,
        unpaid_fen: Fen::ZERO,
        checkins: Vec::new(),
        topups: Vec::new(),
        close: None,
        rating: None,
    }
}

#[tokio::test]
async fn a_trade_placed_past_the_platform_is_imported_and_followed_once() {
    let w = world().await;
    let wallet = wallet_name(w.org);
    let chain = Arc::new(Chain::default());
    // The wallet held the cash; the member's own order escrowed 3,000 of it on the chain.
    *chain.wallet_fen.lock().unwrap() = CASH_FEN - VALUE_FEN;
    chain.members.lock().unwrap().push(DID.into());
    let other = "fedcba9876543210fedcba9876543210";
    chain.histories.lock().unwrap().insert(
        DID.into(),
        vec![
            w.order(SERIAL, DID, Some(wallet.clone())),
            // Paid from no wallet (the member's own credits): not the organisation's.
            w.order(other, DID, None),
        ],
    );
    chain
        .trades
        .lock()
        .unwrap()
        .insert(SERIAL.into(), chain_trade(SERIAL, &wallet));
    let port: Arc<dyn TradeLedger> = chain.clone();
    let mut cursors = Cursors::default();
    assert_eq!(
        exchange::follow_all(&w.store, &port, &mut cursors, T0 + 1)
            .await
            .unwrap(),
        2,
        "imported, then followed"
    );
    let t = w.store.get_trade(SERIAL).await.unwrap().unwrap();
    assert_eq!(
        (t.source.as_str(), t.status, t.user, t.value),
        ("chain", TradeStatus::Active, w.user, f(VALUE_FEN))
    );
    assert!(w.store.get_trade(other).await.unwrap().is_none());
    assert_eq!(
        w.cash().await,
        CASH_FEN - VALUE_FEN,
        "the journal follows the escrow"
    );
    let (_, diffs) = exchange::compare_wallets(&w.store, &port, &Default::default())
        .await
        .unwrap();
    assert!(diffs.is_empty(), "wallet = cash: {diffs:?}");

    // A check-in of 1,000 and the close refunding 2,000 are followed; the wallet gets the
    // refund back on the chain.
    let mut c = chain_trade(SERIAL, &wallet);
    c.status = "closed".into();
    c.checkins = vec![ChainCheckIn {
        n: 1,
        start_ms: T0,
        end_ms: T0 + 600_000,
        minutes: 10,
        cost_fen: f(1_000),
        at_ms: T0,
        kind: "checkin",
        seq: 0,
        height: 0,
        tx_ref: String::new(),
    }];
    c.paid_fen = f(1_000);
    c.close = Some(ChainClose {
        reason: "stopped_by_consumer".into(),
        by: "consumer".into(),
        refund_fen: f(2_000),
        at_ms: T0,
    });
    chain.trades.lock().unwrap().insert(SERIAL.into(), c);
    *chain.wallet_fen.lock().unwrap() = CASH_FEN - 1_000;
    exchange::follow_all(&w.store, &port, &mut cursors, T0 + 2)
        .await
        .unwrap();
    let t = w.store.get_trade(SERIAL).await.unwrap().unwrap();
    assert_eq!(
        (t.status, t.paid, t.refunded, t.checkins),
        (TradeStatus::Closed, f(1_000), f(2_000), 1)
    );
    assert_eq!(w.cash().await, CASH_FEN - 1_000);
    let (_, diffs) = exchange::compare_wallets(&w.store, &port, &Default::default())
        .await
        .unwrap();
    assert!(diffs.is_empty(), "wallet = cash after the close: {diffs:?}");

    // A restart reads the histories from the start: nothing is imported twice.
    let mut fresh = Cursors::default();
    assert_eq!(
        exchange::import_foreign(&w.store, &port, &mut fresh, T0 + 3)
            .await
            .unwrap(),
        0
    );
    assert_eq!(w.cash().await, CASH_FEN - 1_000);
    assert_eq!(w.store.trade_counts().await.unwrap().orders, 1);
    assert!(w.store.check_projection().await.unwrap().is_empty());
    let audit = w.store.list_audit(0, 100).await.unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|r| r.event.action == "trade_imported")
            .count(),
        1
    );
}

#[tokio::test]
async fn a_member_without_a_user_is_audited_and_not_imported() {
    let w = world().await;
    let wallet = wallet_name(w.org);
    let chain = Arc::new(Chain::default());
    chain.members.lock().unwrap().push(STRANGER.into());
    chain.histories.lock().unwrap().insert(
        STRANGER.into(),
        vec![w.order(SERIAL, STRANGER, Some(wallet.clone()))],
    );
    let port: Arc<dyn TradeLedger> = chain.clone();
    let mut cursors = Cursors::default();
    assert_eq!(
        exchange::import_foreign(&w.store, &port, &mut cursors, T0 + 1)
            .await
            .unwrap(),
        0
    );
    assert!(w.store.get_trade(SERIAL).await.unwrap().is_none());
    assert_eq!(w.cash().await, CASH_FEN, "nothing escrowed in the journal");
    let audit = w.store.list_audit(0, 100).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|r| r.event.action == "trade_import_failed" && r.event.target.contains(SERIAL)),
        "audited"
    );
}

#[tokio::test]
async fn one_trade_that_cannot_be_imported_does_not_stop_the_others() {
    let w = world().await;
    let wallet = wallet_name(w.org);
    // A row stored before the prefix was reserved, under the client key `chain:S`: the
    // import of S collides with it.
    let offer = w
        .store
        .offer_by_chain_id(w.chain_offer_id)
        .await
        .unwrap()
        .unwrap();
    let supplier = w.store.get_offer(offer).await.unwrap().unwrap().org;
    let legacy = NewTrade {
        serial: "aa".repeat(16),
        org: w.org,
        user: w.user,
        offer_id: offer,
        chain_offer_id: w.chain_offer_id,
        supplier_org: supplier,
        units: 1,
        duration_minutes: 60,
        payg: false,
        value: f(100),
        source: "web",
        idem_key: format!("chain:{SERIAL}"),
        body_digest: "d".into(),
        tx_ref: "tx-legacy".into(),
        tx_hex: "00".into(),
        at_ms: T0,
    };
    let escrow = order_tx(w.org, &legacy.serial, legacy.value).unwrap();
    w.store.place_trade(&legacy, &escrow).await.unwrap();
    let second = "bb".repeat(16);
    let chain = Arc::new(Chain::default());
    chain.members.lock().unwrap().push(DID.into());
    chain.histories.lock().unwrap().insert(
        DID.into(),
        vec![
            w.order(SERIAL, DID, Some(wallet.clone())),
            w.order(&second, DID, Some(wallet.clone())),
        ],
    );
    let port: Arc<dyn TradeLedger> = chain.clone();
    let mut cursors = Cursors::default();
    assert_eq!(
        exchange::import_foreign(&w.store, &port, &mut cursors, T0 + 1)
            .await
            .unwrap(),
        1,
        "the second trade is imported"
    );
    assert!(w.store.get_trade(SERIAL).await.unwrap().is_none());
    assert!(w.store.get_trade(&second).await.unwrap().is_some());
    let audit = w.store.list_audit(0, 100).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|r| r.event.action == "trade_import_failed" && r.event.target.contains(SERIAL)),
        "the failed import is audited"
    );
}

/// A mirror whose answers the test scripts per journal transaction (the memo).
#[derive(Debug)]
struct Mirror {
    store: Arc<dyn OpsStore>,
    /// memo → answers of successive sends (`None`: the outcome is unknown).
    script: Mutex<BTreeMap<String, Vec<Option<Submitted>>>>,
    signed: Mutex<Vec<String>>,
    sent: Mutex<Vec<String>>,
}

impl Mirror {
    fn answer(&self, memo: &str) -> Result<Submitted, PortError> {
        let mut s = self.script.lock().unwrap();
        let next = s
            .get_mut(memo)
            .and_then(|v| (!v.is_empty()).then(|| v.remove(0)));
        self.sent.lock().unwrap().push(memo.to_owned());
        match next {
            Some(Some(a)) => Ok(a),
            Some(None) => Err(PortError::ledger(std::io::Error::other("timed out"))),
            None => Ok(Submitted::Applied),
        }
    }
}

impl suanli_platform_http::payment::SettlementMirror for Mirror {
    fn sign(
        &self,
        _: suanli_platform_http::payment::MirrorOp,
        _: OrgId,
        _: Fen,
        memo: &str,
    ) -> Result<suanli_platform_http::payment::SignedTx, PortError> {
        let mut signed = self.signed.lock().unwrap();
        signed.push(memo.to_owned());
        Ok(suanli_platform_http::payment::SignedTx {
            reference: format!("ref-{}", signed.len()),
            encoded_hex: memo.to_owned(),
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
        // Stored before it is submitted.
        let pending = tokio::runtime::Handle::current()
            .block_on(self.store.mirror_pending(100))
            .unwrap();
        assert!(
            pending
                .iter()
                .any(|m| m.signed_ref.as_deref() == Some(tx.reference.as_str())),
            "the signed transaction is stored before it is submitted"
        );
        let sent = self.answer(memo)?;
        Ok((tx, sent))
    }
    fn send(&self, tx: &suanli_platform_http::payment::SignedTx) -> Result<Submitted, PortError> {
        self.answer(&tx.encoded_hex)
    }
    fn balance(&self, _: OrgId) -> Result<i64, PortError> {
        Ok(0)
    }
}

fn refused(code: &str) -> Option<Submitted> {
    Some(Submitted::Refused {
        code: code.into(),
        message: format!("{code}: scripted"),
    })
}

#[tokio::test]
async fn a_refused_instruction_is_marked_failed_and_the_outbox_goes_on() {
    let World {
        store,
        _dir,
        org,
        user,
        ..
    } = world().await;
    let store: Arc<dyn OpsStore> = Arc::new(store);
    for (i, amount) in [(2, 500), (3, 700)] {
        let r = format!("r{i}");
        store
            .create_payment(org, user, "sandbox", &r, f(amount), T0)
            .await
            .unwrap();
        store
            .confirm_payment("sandbox", &r, f(amount), T0)
            .await
            .unwrap();
    }
    let pending = store.mirror_pending(100).await.unwrap();
    assert_eq!(pending.len(), 3);
    let memo = |i: usize| format!("journal tx {}", pending[i].journal_tx_id);
    // The second was signed before a crash; another transaction took its nonce since.
    store
        .mirror_signed(pending[1].id, "old-ref", &memo(1))
        .await
        .unwrap();
    let mirror = Arc::new(Mirror {
        store: Arc::clone(&store),
        script: Mutex::new(BTreeMap::from([
            (memo(0), vec![refused("limit_reached")]),
            (
                memo(1),
                vec![refused("nonce_replayed"), Some(Submitted::Applied)],
            ),
        ])),
        signed: Mutex::default(),
        sent: Mutex::default(),
    });
    let port: Arc<dyn suanli_platform_http::payment::SettlementMirror> = mirror.clone();
    let p = exchange::outbox::pump_mirror(&store, &port, T0 + 1)
        .await
        .unwrap();
    assert_eq!((p.sent, p.resigned), (2, 1), "{p:?}");
    assert_eq!(p.failed.len(), 1);
    assert_eq!(
        (
            p.failed[0].id,
            p.failed[0].code.as_str(),
            p.failed[0].amount
        ),
        (pending[0].id, "limit_reached", f(CASH_FEN))
    );
    assert!(store.mirror_pending(100).await.unwrap().is_empty());
    assert_eq!(store.mirror_failed_count().await.unwrap(), (1, CASH_FEN));
    // Signed anew once (the stored bytes could never apply), never twice.
    assert_eq!(
        mirror.signed.lock().unwrap().clone(),
        vec![memo(0), memo(2), memo(1)]
    );
    // A failed instruction is not tried again.
    let again = exchange::outbox::pump_mirror(&store, &port, T0 + 2)
        .await
        .unwrap();
    assert_eq!((again.sent, again.failed.len()), (0, 0));

    // An unknown outcome stops the pass: what follows waits, the stored bytes are sent
    // again at the next pass (not signed anew).
    for (i, amount) in [(4, 40), (5, 50)] {
        let r = format!("r{i}");
        store
            .create_payment(org, user, "sandbox", &r, f(amount), T0)
            .await
            .unwrap();
        store
            .confirm_payment("sandbox", &r, f(amount), T0)
            .await
            .unwrap();
    }
    let later = store.mirror_pending(100).await.unwrap();
    let m3 = format!("journal tx {}", later[0].journal_tx_id);
    mirror.script.lock().unwrap().insert(m3.clone(), vec![None]);
    assert!(
        exchange::outbox::pump_mirror(&store, &port, T0 + 3)
            .await
            .is_err()
    );
    let still = store.mirror_pending(100).await.unwrap();
    assert_eq!(still.len(), 2);
    assert!(still[0].signed_tx.is_some() && still[1].signed_tx.is_none());
    let p = exchange::outbox::pump_mirror(&store, &port, T0 + 4)
        .await
        .unwrap();
    assert_eq!(p.sent, 2);
    assert_eq!(
        mirror
            .signed
            .lock()
            .unwrap()
            .iter()
            .filter(|m| **m == m3)
            .count(),
        1,
        "resubmitted as stored"
    );
}
