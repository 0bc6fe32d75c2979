//! Conformance of the billing side of the exchange's store ([`TradeNoticeStore`],
//! migration `0018_trade_notices`, `docs/exchange.md` §6–8) on SQLite and PostgreSQL: a
//! channel notice stored with the organisation's message in one transaction and read
//! back newest first; the journal entries that followed a trade's check-ins, exactly this
//! trade's; the operator's totals per customer and per supplier; a supplier's trades and
//! never another's.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;
use common::*;

use suanli_platform_domain::money::Fen;
use suanli_platform_domain::trades::{ChainSettlement, TradeStatus, order_tx, sync_entries};
use suanli_platform_domain::{OrgId, OrgKind, OrgStatus, Role, UserId};
use suanli_platform_store::*;

conformance!(notices_checkin_entries_totals_and_supplier_trades);

const T0: i64 = 1_700_000_000_000;

fn f(v: i64) -> Fen {
    Fen::new(v).unwrap()
}

async fn org(s: &dyn OpsStore, kind: OrgKind, name: &str) -> OrgId {
    let new = NewOrg {
        kind,
        name: name.into(),
        status: OrgStatus::Active,
        distributor: None,
        created_ms: T0,
    };
    s.create_org(&new).await.unwrap().id
}

async fn buyer(s: &dyn OpsStore, org: OrgId, login: &str) -> UserId {
    let new = NewUser {
        org,
        login: login.into(),
        display_name: login.into(),
        password_hash: "h".into(),
        roles: vec![Role::CustomerAdmin],
        created_ms: T0,
    };
    let u = s.create_user(&new).await.unwrap().id;
    s.create_payment(org, u, "sandbox", login, f(50_000), T0)
        .await
        .unwrap();
    s.confirm_payment("sandbox", login, f(50_000), T0)
        .await
        .unwrap();
    u
}

/// A placed trade `n` of `org`, its check-ins `costs` followed into the journal.
async fn trade(
    s: &dyn OpsStore,
    org: OrgId,
    u: UserId,
    sup: OrgId,
    n: u8,
    costs: &[(u32, i64)],
) -> String {
    let t = NewTrade {
        serial: format!("{n:02x}").repeat(16),
        org,
        user: u,
        offer_id: 3,
        chain_offer_id: 9,
        supplier_org: sup,
        units: 1,
        duration_minutes: 60,
        payg: false,
        value: f(5_000),
        source: "web",
        idem_key: format!("key-{n}"),
        body_digest: format!("digest-{n}"),
        tx_ref: format!("tx-{n}"),
        tx_hex: "00ff".into(),
        at_ms: T0 + i64::from(n),
    };
    s.place_trade(&t, &order_tx(org, &t.serial, t.value).unwrap())
        .await
        .unwrap();
    s.trade_placed(&t.serial, T0 + 10).await.unwrap();
    let set: Vec<ChainSettlement> = costs
        .iter()
        .map(|(n, c)| ChainSettlement { n: *n, cost: f(*c) })
        .collect();
    let sync = TradeSync {
        entries: sync_entries(org, &t.serial, t.value, &set, None).unwrap(),
        funded: t.value,
        status: TradeStatus::Active,
        close_reason: None,
        paid: f(costs.iter().map(|(_, c)| c).sum()),
        refunded: Fen::ZERO,
        checkins: u32::try_from(costs.len()).unwrap(),
    };
    s.trade_synced(&t.serial, &sync, T0 + 20).await.unwrap();
    t.serial
}

async fn notices_checkin_entries_totals_and_supplier_trades(b: &Backend) {
    let s = b.store();
    let (a, c) = (
        org(s, OrgKind::Enterprise, "buyer").await,
        org(s, OrgKind::Enterprise, "other").await,
    );
    let (dc, dc2) = (
        org(s, OrgKind::SupplierResource, "dc").await,
        org(s, OrgKind::SupplierResource, "dc2").await,
    );
    let (ua, uc) = (buyer(s, a, "buyer").await, buyer(s, c, "other").await);
    let x = trade(s, a, ua, dc, 1, &[(0, 30), (1, 500), (2, 0), (3, 700)]).await;
    // A serial that is a prefix-neighbour of x's keys must not leak into x's entries.
    let y = trade(s, a, ua, dc2, 2, &[(1, 11)]).await;
    let z = trade(s, c, uc, dc, 3, &[]).await;

    // The journal entries that followed x's check-ins, by number (none for the free one).
    let billed = s.billed_checkins(&x).await.unwrap();
    let got: Vec<(u32, i64)> = billed.iter().map(|b| (b.n, b.amount_fen)).collect();
    assert_eq!(got, vec![(0, 30), (1, 500), (3, 700)]);
    assert!(billed.iter().all(|b| b.journal_tx_id > 0));
    assert_eq!(s.billed_checkins(&y).await.unwrap().len(), 1);
    assert!(s.billed_checkins(&z).await.unwrap().is_empty());

    // A notice with its message, in one transaction; the newest is read back.
    assert!(s.latest_channel_notice(&x).await.unwrap().is_none());
    let pause = NewChannelNotice {
        serial: x.clone(),
        org: a,
        paused: true,
        remaining_fen: 40,
        margin_fen: 120,
        at_ms: T0 + 30,
    };
    let first = s.record_channel_notice(&pause, "paused").await.unwrap();
    assert_eq!(first.notice, pause);
    let resume = NewChannelNotice {
        paused: false,
        at_ms: T0 + 40,
        ..pause.clone()
    };
    let second = s.record_channel_notice(&resume, "resumed").await.unwrap();
    assert!(second.id > first.id);
    assert_eq!(s.latest_channel_notice(&x).await.unwrap(), Some(second));
    let msgs = s.list_messages(a, 0, 50).await.unwrap();
    let bodies: Vec<&str> = msgs.iter().map(|m| m.body.as_str()).collect();
    assert!(
        bodies.contains(&"paused") && bodies.contains(&"resumed"),
        "{bodies:?}"
    );
    assert!(
        s.list_messages(c, 0, 50)
            .await
            .unwrap()
            .iter()
            .all(|m| m.body != "paused")
    );

    // The operator's totals: per customer, per supplier.
    let per_customer = s.trade_totals(TradeSide::Customer).await.unwrap();
    let ta = per_customer.iter().find(|t| t.org == a).unwrap();
    assert_eq!(
        (
            ta.name.as_str(),
            ta.trades,
            ta.live,
            ta.closed,
            ta.refused,
            ta.value_fen,
            ta.paid_fen
        ),
        ("buyer", 2, 2, 0, 0, 10_000, 1_230 + 11)
    );
    assert_eq!(
        per_customer.first().map(|t| t.org),
        Some(a),
        "most trades first"
    );
    let per_supplier = s.trade_totals(TradeSide::Supplier).await.unwrap();
    let td = per_supplier.iter().find(|t| t.org == dc).unwrap();
    assert_eq!((td.trades, td.paid_fen), (2, 1_230));

    // A supplier's trades, newest first, never another supplier's.
    let mine: Vec<String> = s
        .supplier_trades(dc, 0, 50)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.serial)
        .collect();
    assert_eq!(mine, vec![z.clone(), x.clone()]);
    let theirs = s.supplier_trades(dc2, 0, 50).await.unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].serial, y);
    let older = s.supplier_trades(dc, T0 + 3, 50).await.unwrap();
    assert_eq!(older.len(), 1, "before the newest");
}
