//! Conformance of the exchange's store ([`TradeStore`], migration `0013_trades`,
//! `docs/exchange.md`) on SQLite and PostgreSQL: an order stored with its escrow entry in
//! one transaction (refused beyond the cash, nothing stored), idempotent by its key; its
//! decision (placed, or refused with the entry reversed, once); the journal following the
//! chain's check-ins and refund once each, whatever how often it is told; the wallet
//! mirror following cash but not trade entries; conservation to the fen; member limits,
//! wallet alarms, counts, isolation of the lists.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;
use common::*;

use std::collections::BTreeMap;
use suanli_platform_domain::journal::Account;
use suanli_platform_domain::money::Fen;
use suanli_platform_domain::trades::{
    ChainSettlement, TradeStatus, order_tx, sync_entries, topup_tx,
};
use suanli_platform_domain::{OrgId, OrgKind, OrgStatus, Role, UserId};
use suanli_platform_store::*;

conformance!(
    an_order_escrows_follows_the_chain_and_conserves_money,
    a_refused_order_gives_its_cash_back_once,
    a_top_up_on_the_chain_is_escrowed_from_cash,
    member_limits_alarms_and_isolation,
);

const T0: i64 = 1_700_000_000_000;

fn f(v: i64) -> Fen {
    Fen::new(v).unwrap()
}

async fn org(s: &dyn OpsStore, kind: OrgKind, name: &str) -> OrgId {
    s.create_org(&NewOrg {
        kind,
        name: name.into(),
        status: OrgStatus::Active,
        distributor: None,
        created_ms: T0,
    })
    .await
    .unwrap()
    .id
}

async fn user(s: &dyn OpsStore, org: OrgId, login: &str) -> UserId {
    s.create_user(&NewUser {
        org,
        login: login.into(),
        display_name: login.into(),
        password_hash: "h".into(),
        roles: vec![Role::CustomerAdmin],
        created_ms: T0,
    })
    .await
    .unwrap()
    .id
}

async fn recharge(s: &dyn OpsStore, org: OrgId, u: UserId, r: &str, fen: i64) {
    s.create_payment(org, u, "sandbox", r, f(fen), T0)
        .await
        .unwrap();
    s.confirm_payment("sandbox", r, f(fen), T0).await.unwrap();
}

fn new_trade(org: OrgId, u: UserId, supplier: OrgId, n: u8, value: i64) -> NewTrade {
    NewTrade {
        serial: format!("{n:02x}").repeat(16),
        org,
        user: u,
        offer_id: 3,
        chain_offer_id: 9,
        supplier_org: supplier,
        units: 1,
        duration_minutes: 60,
        payg: false,
        value: f(value),
        source: "web",
        idem_key: format!("key-{n}"),
        body_digest: format!("digest-{n}"),
        tx_ref: format!("tx-{n}"),
        tx_hex: "00ff".into(),
        at_ms: T0 + i64::from(n),
    }
}

async fn place(s: &dyn OpsStore, n: &NewTrade) -> StoreResult<(TradeRecord, bool)> {
    s.place_trade(n, &order_tx(n.org, &n.serial, n.value).unwrap())
        .await
}

async fn balances(s: &dyn OpsStore) -> BTreeMap<String, i64> {
    s.journal_balances().await.unwrap().into_iter().collect()
}

/// Σ customer balances + revenue + payables + trade consumption = bank, to the fen.
async fn conserved(s: &dyn OpsStore) {
    let b = balances(s).await;
    let bank = b.get("bank").copied().unwrap_or(0);
    let others: i64 = b
        .iter()
        .filter(|(k, _)| k.as_str() != "bank")
        .map(|(_, v)| v)
        .sum();
    assert_eq!(others, bank, "conservation: {b:?}");
    assert_eq!(s.check_projection().await.unwrap(), Vec::<String>::new());
}

fn sync(
    org: OrgId,
    serial: &str,
    value: i64,
    costs: &[(u32, i64)],
    refund: Option<i64>,
) -> TradeSync {
    let set: Vec<ChainSettlement> = costs
        .iter()
        .map(|(n, c)| ChainSettlement { n: *n, cost: f(*c) })
        .collect();
    TradeSync {
        entries: sync_entries(org, serial, f(value), &set, refund.map(f)).unwrap(),
        funded: f(value),
        status: if refund.is_some() {
            TradeStatus::Closed
        } else {
            TradeStatus::Active
        },
        close_reason: refund.map(|_| "stopped_by_consumer".to_owned()),
        paid: f(costs.iter().map(|(_, c)| c).sum()),
        refunded: f(refund.unwrap_or(0)),
        checkins: u32::try_from(costs.len()).unwrap(),
    }
}

async fn an_order_escrows_follows_the_chain_and_conserves_money(b: &Backend) {
    let s = b.store();
    let cust = org(s, OrgKind::Enterprise, "buyer").await;
    let sup = org(s, OrgKind::SupplierResource, "dc").await;
    let u = user(s, cust, "buyer").await;
    recharge(s, cust, u, "r1", 10_000).await;
    assert_eq!(
        s.mirror_pending(10).await.unwrap().len(),
        1,
        "the recharge mints"
    );

    let n = new_trade(cust, u, sup, 1, 3_000);
    let (t, replayed) = place(s, &n).await.unwrap();
    assert!(!replayed);
    assert_eq!(t.status, TradeStatus::Placing);
    assert_eq!(s.balances(cust).await.unwrap().cash_fen, 7_000);
    let esc = Account::TradeEscrow(cust).key();
    assert_eq!(balances(s).await.get(&esc), Some(&3_000));
    assert_eq!(
        s.mirror_pending(10).await.unwrap().len(),
        1,
        "an order writes no mirror instruction: the chain moves the wallet itself"
    );
    assert_eq!(s.orgs_placing().await.unwrap(), vec![cust]);
    // A replay answers the stored trade; another request under the key is refused.
    let (again, replayed) = place(s, &n).await.unwrap();
    assert!(replayed && again == t);
    let mut other = n.clone();
    other.body_digest = "another".into();
    assert!(matches!(place(s, &other).await, Err(StoreError::KeyReuse)));
    // Beyond the cash: refused, nothing stored.
    let big = new_trade(cust, u, sup, 2, 7_001);
    assert!(matches!(
        place(s, &big).await,
        Err(StoreError::Money(MoneyRejection::InsufficientFunds {
            needed: 7_001,
            available: 7_000
        }))
    ));
    assert!(s.get_trade(&big.serial).await.unwrap().is_none());

    let placed = s.trade_placed(&t.serial, T0 + 10).await.unwrap();
    assert_eq!(
        (placed.status, placed.decided_ms),
        (TradeStatus::Placed, Some(T0 + 10))
    );
    assert_eq!(
        s.trade_placed(&t.serial, T0 + 99).await.unwrap(),
        placed,
        "decided once"
    );
    assert!(s.orgs_placing().await.unwrap().is_empty());

    // Check-ins, told twice: posted once each (the zero-cost one has no entry).
    let first = sync(cust, &t.serial, 3_000, &[(1, 500), (2, 0), (3, 700)], None);
    let a = s.trade_synced(&t.serial, &first, T0 + 20).await.unwrap();
    let a2 = s.trade_synced(&t.serial, &first, T0 + 21).await.unwrap();
    assert_eq!(
        (a.status, a.paid, a.checkins),
        (TradeStatus::Active, f(1_200), 3)
    );
    assert_eq!(a2, a);
    let bal = balances(s).await;
    assert_eq!(bal.get(&esc), Some(&1_800));
    assert_eq!(bal.get("trade:consumption"), Some(&1_200));
    conserved(s).await;

    // The close refunds the rest to cash; a later sync changes nothing.
    let last = sync(
        cust,
        &t.serial,
        3_000,
        &[(1, 500), (2, 0), (3, 700)],
        Some(1_800),
    );
    let c = s.trade_synced(&t.serial, &last, T0 + 30).await.unwrap();
    assert_eq!(
        (c.status, c.refunded, c.closed_ms),
        (TradeStatus::Closed, f(1_800), Some(T0 + 30))
    );
    assert_eq!(c.close_reason.as_deref(), Some("stopped_by_consumer"));
    assert_eq!(s.trade_synced(&t.serial, &last, T0 + 31).await.unwrap(), c);
    assert_eq!(s.balances(cust).await.unwrap().cash_fen, 8_800);
    assert_eq!(balances(s).await.get(&esc), Some(&0));
    conserved(s).await;
    // The wallet follows the cash (the recharge minted 10,000; the chain escrowed 3,000
    // and refunded 1,800 itself): the journal's expectation is the cash.
    assert_eq!(s.mirror_expected().await.unwrap(), vec![(cust, 8_800)]);
    assert_eq!(s.mirror_pending(10).await.unwrap().len(), 1);
    assert!(s.live_trades("", 10).await.unwrap().is_empty());

    // Rated once, only after the close.
    let r = s.trade_rated(&t.serial, "tx-rating").await.unwrap();
    assert_eq!(r.rating_ref.as_deref(), Some("tx-rating"));
    assert!(matches!(
        s.trade_rated(&t.serial, "again").await,
        Err(StoreError::NotFound)
    ));
    let counts = s.trade_counts().await.unwrap();
    assert_eq!(
        counts,
        TradeCounts {
            orders: 1,
            orders_on_chain: 1,
            placing: 0,
            checkins_billed: 3
        }
    );
}

async fn a_refused_order_gives_its_cash_back_once(b: &Backend) {
    let s = b.store();
    let cust = org(s, OrgKind::Enterprise, "buyer").await;
    let sup = org(s, OrgKind::SupplierResource, "dc").await;
    let u = user(s, cust, "buyer").await;
    recharge(s, cust, u, "r1", 5_000).await;
    let n = new_trade(cust, u, sup, 7, 2_000);
    let (t, _) = place(s, &n).await.unwrap();
    assert_eq!(s.live_trades("", 10).await.unwrap().len(), 1);
    let r = s
        .trade_refused(&t.serial, "member_limit_exceeded", "over the limit", T0 + 5)
        .await
        .unwrap();
    assert_eq!(r.status, TradeStatus::Refused);
    assert_eq!(r.refusal_code.as_deref(), Some("member_limit_exceeded"));
    assert_eq!(s.balances(cust).await.unwrap().cash_fen, 5_000);
    assert_eq!(
        balances(s).await.get(&Account::TradeEscrow(cust).key()),
        Some(&0)
    );
    // Decided once: neither a second refusal nor a late "placed" changes it.
    assert_eq!(
        s.trade_refused(&t.serial, "x", "y", T0 + 6).await.unwrap(),
        r
    );
    assert_eq!(s.trade_placed(&t.serial, T0 + 7).await.unwrap(), r);
    assert_eq!(s.balances(cust).await.unwrap().cash_fen, 5_000);
    conserved(s).await;
    // A refused trade is not followed, and its replay answers the refusal.
    assert!(s.live_trades("", 10).await.unwrap().is_empty());
    let (again, replayed) = place(s, &n).await.unwrap();
    assert!(replayed && again.status == TradeStatus::Refused);
    let (by_key, digest) = s.trade_by_idem(cust, "key-7").await.unwrap().unwrap();
    assert_eq!((by_key.serial, digest), (t.serial, "digest-7".to_owned()));
    assert_eq!(s.trade_counts().await.unwrap().orders_on_chain, 0);
}

async fn member_limits_alarms_and_isolation(b: &Backend) {
    let s = b.store();
    let cust = org(s, OrgKind::Enterprise, "buyer").await;
    let stranger = org(s, OrgKind::Enterprise, "stranger").await;
    let sup = org(s, OrgKind::SupplierResource, "dc").await;
    let u = user(s, cust, "buyer").await;
    let v = user(s, stranger, "other").await;
    recharge(s, cust, u, "r1", 5_000).await;
    recharge(s, stranger, v, "r2", 5_000).await;
    place(s, &new_trade(cust, u, sup, 1, 100)).await.unwrap();
    place(s, &new_trade(stranger, v, sup, 2, 100))
        .await
        .unwrap();
    let mine = s.list_trades(Some(cust), 0, 50).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert!(mine.iter().all(|t| t.org == cust));
    assert_eq!(s.list_trades(None, 0, 50).await.unwrap().len(), 2);
    let all = s.trades_after("", 1).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(s.trades_after(&all[0].serial, 10).await.unwrap().len(), 1);
    assert!(s.trade_by_idem(stranger, "key-1").await.unwrap().is_none());

    let l = s
        .set_member_limit(cust, u, "did:suanli:test:buyer", f(1_000), u, T0)
        .await
        .unwrap();
    assert_eq!((l.limit, l.chain_ref.clone()), (f(1_000), None));
    assert_eq!(s.member_limits_pending(10).await.unwrap(), vec![l.clone()]);
    // Marked sent only for the limit it mirrored.
    s.member_limit_sent(cust, u, T0 - 1, "stale", T0)
        .await
        .unwrap();
    assert_eq!(s.member_limits_pending(10).await.unwrap().len(), 1);
    s.member_limit_sent(cust, u, T0, "tx-limit", T0 + 1)
        .await
        .unwrap();
    assert!(s.member_limits_pending(10).await.unwrap().is_empty());
    // A new limit is mirrored again.
    let l2 = s
        .set_member_limit(cust, u, "did:suanli:test:buyer", f(0), u, T0 + 2)
        .await
        .unwrap();
    assert_eq!((l2.limit, l2.chain_ref), (f(0), None));
    assert_eq!(s.member_limits(cust).await.unwrap().len(), 1);
    assert!(s.member_limits(stranger).await.unwrap().is_empty());

    let a = s
        .raise_wallet_alarm(cust, 4_900, 5_000, T0 + 3)
        .await
        .unwrap();
    assert_eq!((a.org, a.journal_fen, a.chain_fen), (cust, 4_900, 5_000));
    assert_eq!(s.wallet_alarms(10).await.unwrap(), vec![a]);
    assert_eq!(s.offer_by_chain_id(424_242).await.unwrap(), None);
}

async fn a_top_up_on_the_chain_is_escrowed_from_cash(b: &Backend) {
    let s = b.store();
    let cust = org(s, OrgKind::Enterprise, "buyer").await;
    let sup = org(s, OrgKind::SupplierResource, "dc").await;
    let u = user(s, cust, "buyer").await;
    recharge(s, cust, u, "r1", 5_000).await;
    let (t, _) = place(s, &new_trade(cust, u, sup, 8, 1_000)).await.unwrap();
    s.trade_placed(&t.serial, T0 + 1).await.unwrap();
    let pending = s.mirror_pending(100).await.unwrap().len();
    // The chain funded 1,500 (the order and a top-up of 500) and paid 1,200 out of it.
    let mut up = sync(cust, &t.serial, 1_500, &[(1, 1_200)], None);
    up.entries
        .insert(0, topup_tx(cust, &t.serial, 1, f(500)).unwrap());
    up.funded = f(1_500);
    let r = s.trade_synced(&t.serial, &up, T0 + 2).await.unwrap();
    assert_eq!((r.value, r.paid), (f(1_500), f(1_200)));
    assert_eq!(s.balances(cust).await.unwrap().cash_fen, 3_500);
    assert_eq!(
        balances(s).await.get(&Account::TradeEscrow(cust).key()),
        Some(&300)
    );
    // No mirror instruction: the chain moved the wallet itself.
    assert_eq!(s.mirror_pending(100).await.unwrap().len(), pending);
    // Told again: nothing more.
    s.trade_synced(&t.serial, &up, T0 + 3).await.unwrap();
    assert_eq!(s.balances(cust).await.unwrap().cash_fen, 3_500);
    // A chain that says it funded less than the escrow is refused.
    let mut less = sync(cust, &t.serial, 900, &[], None);
    less.funded = f(900);
    assert!(s.trade_synced(&t.serial, &less, T0 + 4).await.is_err());
    conserved(s).await;
}
