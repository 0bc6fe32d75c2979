//! Bills from check-ins, channel notices, the top-up, the bundle and the operator's view
//! (issue 18, billing, `docs/exchange.md` §6–9) against a scripted trade chain: bill
//! lines = the chain's check-ins to the fen, each naming its record and the journal entry
//! that followed it; the month's statement; supplier earnings = check-ins − commission;
//! a low-funds pause becomes a message and a top-up offer, and the top-up is signed by
//! the member's own key; the bundle downloads; the operator sees every organisation, a
//! customer never, a supplier only its own trades.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use suanli_platform_http::PortError;
use suanli_platform_http::domain::money::{Bp, Fen};
use suanli_platform_http::domain::supply::settlement::{
    AgreementTerms, AgreementText, SalesMode, SettlementPeriod,
};
use suanli_platform_http::domain::trades::order_tx;
use suanli_platform_http::domain::{OrgId, UserId};
use suanli_platform_http::exchange;
use suanli_platform_http::store::*;
use suanli_platform_http::trade_book::{ChainCheckIn, ChainTrade};
use suanli_platform_http::trade_desk::{ChannelNotice, ChannelView, TradeDesk};
use suanli_platform_http::trade_ledger::{
    OrderDraft, OrderFacts, RatingDraft, SignedOrder, Submitted, TradeLedger, WalletView,
};
use suanli_primitives::SecretKey;

/// 2026-11-10 00:00 CST.
const NOV: i64 = 1_794_240_000_000;
/// 2026-12-01 00:00 CST.
const DEC: i64 = 1_796_054_400_000;

fn f(v: i64) -> Fen {
    Fen::new(v).unwrap()
}

fn unused() -> PortError {
    PortError::Refused {
        code: "unused",
        message: "not used by this test".into(),
    }
}

/// A chain whose trades the test sets.
#[derive(Debug, Default)]
struct Chain {
    trades: Mutex<BTreeMap<String, ChainTrade>>,
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
        Ok(Submitted::Applied)
    }
    fn trade_status(&self, serial: &str) -> Result<Option<ChainTrade>, PortError> {
        Ok(self.trades.lock().unwrap().get(serial).cloned())
    }
    fn consumer_orders(
        &self,
        _: &str,
        from: u64,
        _: u32,
    ) -> Result<(u64, Vec<suanli_platform_http::trade_ledger::ChainOrder>), PortError> {
        Ok((from, Vec::new()))
    }
    fn stop(&self, _: &SecretKey, _: &str) -> Result<String, PortError> {
        Err(unused())
    }
    fn rate(&self, _: &SecretKey, _: &RatingDraft) -> Result<String, PortError> {
        Err(unused())
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

/// The desk: notices the test queues, top-ups it records, channels and bundles it sets.
#[derive(Debug, Default)]
struct Desk {
    notices: Mutex<Vec<ChannelNotice>>,
    topups: Mutex<Vec<(String, String, i64)>>,
    channels: Mutex<BTreeMap<String, ChannelView>>,
    bundles: Mutex<BTreeMap<String, String>>,
}

impl TradeDesk for Desk {
    fn top_up(&self, key: &SecretKey, serial: &str, amount_fen: i64) -> Result<String, PortError> {
        self.topups
            .lock()
            .unwrap()
            .push((key.public().to_string(), serial.to_owned(), amount_fen));
        Ok("cd".repeat(32))
    }
    fn take_notices(&self) -> Vec<ChannelNotice> {
        std::mem::take(&mut *self.notices.lock().unwrap())
    }
    fn channel(&self, serial: &str) -> Result<Option<ChannelView>, PortError> {
        Ok(self.channels.lock().unwrap().get(serial).cloned())
    }
    fn bundle_json(&self, serial: &str) -> Result<Option<String>, PortError> {
        Ok(self.bundles.lock().unwrap().get(serial).cloned())
    }
}

fn checkin(n: u32, kind: &'static str, end_ms: i64, minutes: u64, cost: i64) -> ChainCheckIn {
    ChainCheckIn {
        n,
        start_ms: end_ms - 60_000 * i64::try_from(minutes).unwrap(),
        end_ms,
        minutes,
        cost_fen: f(cost),
        at_ms: end_ms,
        kind,
        seq: n + 2,
        height: 100 + u64::from(n),
        tx_ref: format!("{:064x}", 0xbeef + n),
    }
}

fn chain_trade(serial: &str, wallet: &str, checkins: Vec<ChainCheckIn>) -> ChainTrade {
    let paid = checkins.iter().map(|c| c.cost_fen.get()).sum();
    ChainTrade {
        serial: serial.into(),
        offer_id: 9,
        mode_id: 1,
        supplier: "did:suanli:dc".into(),
        consumer: "did:suanli:buyer".into(),
        wallet: Some(wallet.into()),
        status: "active".into(),
        ordered_ms: NOV,
        contract_start_ms: Some(NOV),
        contract_end_ms: Some(DEC + 86_400_000),
        funded_fen: f(10_000),
        paid_fen: f(paid),
        unpaid_fen: Fen::ZERO,
        checkins,
        topups: Vec::new(),
        close: None,
        rating: None,
    }
}

struct World {
    srv: TestServer,
    chain: Arc<Chain>,
    desk: Arc<Desk>,
    rt: tokio::runtime::Runtime,
    store: SqliteStore,
}

impl World {
    fn new() -> Self {
        let (chain, desk) = (Arc::new(Chain::default()), Arc::new(Desk::default()));
        let (c, d): (Arc<dyn TradeLedger>, Arc<dyn TradeDesk>) = (chain.clone(), desk.clone());
        let srv = TestServer::start_platform(
            |_| {},
            Box::new(move |p| p.with_trade_ledger(c).with_trade_desk(d)),
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let store = rt.block_on(SqliteStore::open(&srv.db_path())).unwrap();
        World {
            srv,
            chain,
            desk,
            rt,
            store,
        }
    }

    /// A `placing` order of `org` (cash recharged first) supplied by `supplier`.
    async fn placing(&self, n: u8, org: i64, user: i64, supplier: i64) -> TradeRecord {
        let serial = format!("{n:02x}").repeat(16);
        let (org, user) = (OrgId::new(org).unwrap(), UserId::new(user).unwrap());
        let t = NewTrade {
            serial: serial.clone(),
            org,
            user,
            offer_id: 3,
            chain_offer_id: 9,
            supplier_org: OrgId::new(supplier).unwrap(),
            units: 1,
            duration_minutes: 60_000,
            payg: true,
            value: f(10_000),
            source: "web",
            idem_key: format!("key-{n}"),
            body_digest: format!("digest-{n}"),
            tx_ref: format!("tx-{n}"),
            tx_hex: "00ff".into(),
            at_ms: NOV,
        };
        let r = format!("r{n}");
        self.store
            .create_payment(org, user, "sandbox", &r, f(10_000), NOV)
            .await
            .unwrap();
        self.store
            .confirm_payment("sandbox", &r, f(10_000), NOV)
            .await
            .unwrap();
        let escrow = order_tx(org, &serial, t.value).unwrap();
        self.store.place_trade(&t, &escrow).await.unwrap().0
    }

    /// A placed trade of `org` (cash recharged first) supplied by `supplier`, followed
    /// into the journal from the scripted chain.
    fn trade(
        &self,
        n: u8,
        org: i64,
        user: i64,
        supplier: i64,
        chain: Option<ChainTrade>,
    ) -> String {
        let serial = format!("{n:02x}").repeat(16);
        if let Some(c) = chain {
            self.chain.trades.lock().unwrap().insert(serial.clone(), c);
        }
        let ledger: Arc<dyn TradeLedger> = self.chain.clone();
        self.rt.block_on(async {
            let placing = self.placing(n, org, user, supplier).await;
            let placed = self.store.trade_placed(&placing.serial, NOV).await.unwrap();
            if self.chain.trades.lock().unwrap().contains_key(&serial) {
                exchange::sync_trade(&self.store, &ledger, &placed, NOV)
                    .await
                    .unwrap();
            }
        });
        serial
    }

    /// An order of `org` supplied by `supplier` that the chain refused with `message`.
    fn refused(&self, n: u8, org: i64, user: i64, supplier: i64, message: &str) -> String {
        self.rt.block_on(async {
            let placing = self.placing(n, org, user, supplier).await;
            let t = self
                .store
                .trade_refused(&placing.serial, "member_limit_exceeded", message, NOV)
                .await
                .unwrap();
            t.serial
        })
    }
}

fn fen_of(v: &Value) -> i64 {
    v.as_i64().unwrap_or(i64::MIN)
}

#[test]
fn bills_statements_earnings_notices_top_ups_bundles_and_the_operator_view() {
    let w = World::new();
    let srv = &w.srv;
    let op = srv.admin();
    let (_, fin) = srv.user(&op, 1, "fin1", &["finance"]);
    let (a_org, a_user, buyer) = srv.org(&op, "enterprise", "Buyer Co", "buyer-admin");
    let (b_org, b_user, other) = srv.org(&op, "enterprise", "Other Co", "other-admin");
    let (s_org, s_user, dc) = srv.org(&op, "supplier_resource", "DC One", "dc-admin");
    let (s2_org, _, dc2) = srv.org(&op, "supplier_resource", "DC Two", "dc2-admin");

    // Trade X of Buyer Co, supplied by DC One: three settlements in November (a channel's
    // opening, a check-in, a channel check-in) and one ending in December.
    let x_serial = "01".repeat(16);
    let x = chain_trade(
        &x_serial,
        &format!("org:{a_org}"),
        vec![
            checkin(0, "channel_open", NOV + 600_000, 10, 300),
            checkin(1, "checkin", NOV + 1_200_000, 10, 1_234),
            checkin(2, "channel_checkin", DEC - 60_000, 7, 766),
            checkin(3, "channel_checkin", DEC + 60_000, 2, 99),
        ],
    );
    let x_serial_got = w.trade(1, a_org, a_user, s_org, Some(x.clone()));
    assert_eq!(x_serial_got, x_serial);
    // Trade Y of Other Co, supplied by DC Two; trade Z of Buyer Co not on the chain yet.
    let y_serial = w.trade(
        2,
        b_org,
        b_user,
        s2_org,
        Some(chain_trade(
            &"02".repeat(16),
            &format!("org:{b_org}"),
            vec![checkin(1, "checkin", NOV + 60_000, 1, 50)],
        )),
    );
    let z_serial = w.trade(3, a_org, a_user, s_org, None);

    // The bill: one line per chain settlement, to the fen, each naming its record and
    // the journal entry that followed it.
    let (s, bill) = srv.get(&format!("/api/v1/trades/{x_serial}/bill"), &buyer);
    assert_eq!(s, 200, "{bill}");
    let lines = bill["lines"].as_array().unwrap();
    assert_eq!(lines.len(), x.checkins.len());
    for (l, c) in lines.iter().zip(&x.checkins) {
        assert_eq!(
            (
                fen_of(&l["cost_fen"]),
                l["n"].as_u64(),
                l["seq"].as_u64(),
                l["height"].as_u64(),
                l["tx_ref"].as_str()
            ),
            (
                c.cost_fen.get(),
                Some(u64::from(c.n)),
                Some(u64::from(c.seq)),
                Some(c.height),
                Some(c.tx_ref.as_str())
            ),
            "{l}"
        );
        assert_eq!(
            fen_of(&l["journal_fen"]),
            c.cost_fen.get(),
            "followed into the journal: {l}"
        );
        assert!(l["journal_tx_id"].as_i64().is_some(), "{l}");
    }
    let chain_sum: i64 = x.checkins.iter().map(|c| c.cost_fen.get()).sum();
    assert_eq!(fen_of(&bill["running_cost_fen"]), chain_sum);
    assert_eq!(fen_of(&bill["journal_fen"]), chain_sum, "journal = chain");
    assert_eq!(fen_of(&bill["trade"]["paid_fen"]), chain_sum);
    assert_eq!(bill["on_chain"], true);

    // The month's statement: the lines whose span ends in November, in total.
    let (s, st) = srv.get("/api/v1/trades/statement?period=2026-11", &buyer);
    assert_eq!(s, 200, "{st}");
    assert_eq!(fen_of(&st["total_fen"]), 300 + 1_234 + 766, "{st}");
    assert_eq!(st["minutes"], 27);
    assert_eq!(st["lines"].as_array().unwrap().len(), 3);
    let (_, dec) = srv.get("/api/v1/trades/statement?period=2026-12", &buyer);
    assert_eq!(fen_of(&dec["total_fen"]), 99, "{dec}");
    let (s, now) = srv.get("/api/v1/trades/statement", &buyer);
    assert_eq!(
        (s, now["period"].as_str()),
        (200, Some("2023-11")),
        "the clock's month: {now}"
    );
    assert_err(
        srv.get("/api/v1/trades/statement?period=2026-13", &buyer),
        422,
        "invalid_period",
    );
    assert_err(
        srv.get("/api/v1/trades/statement?month=2026-11", &buyer),
        400,
        "invalid_query",
    );

    // Supplier earnings = check-ins − commission (its agreement: 15 %).
    w.rt.block_on(async {
        let terms = AgreementTerms {
            text: AgreementText::parse("supply agreement v1").unwrap(),
            sales_mode: SalesMode::Rebate,
            commission: Bp::new(1_500).unwrap(),
            period: SettlementPeriod::Monthly,
        };
        let s_org = OrgId::new(s_org).unwrap();
        let ag = w
            .store
            .record_agreement(s_org, &terms, UserId::new(1).unwrap(), NOV)
            .await
            .unwrap();
        w.store
            .accept_agreement(s_org, ag.id, UserId::new(s_user).unwrap(), NOV)
            .await
            .unwrap();
    });
    let (s, e) = srv.get("/api/v1/trades/supplied/earnings?period=2026-11", &dc);
    assert_eq!(s, 200, "{e}");
    let gross = 300 + 1_234 + 766;
    assert_eq!(fen_of(&e["earnings"]["gross_fen"]), gross, "{e}");
    assert_eq!(
        fen_of(&e["earnings"]["commission_fen"]),
        gross * 1_500 / 10_000
    );
    assert_eq!(
        fen_of(&e["earnings"]["net_fen"]),
        gross - gross * 1_500 / 10_000
    );
    assert_eq!(e["commission_bp"], 1_500);

    // A supplier sees only the trades it supplies.
    let (s, mine) = srv.get("/api/v1/trades/supplied", &dc);
    assert_eq!(s, 200, "{mine}");
    let serials: Vec<&str> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["trade"]["serial"].as_str().unwrap())
        .collect();
    assert_eq!(serials.len(), 2, "{mine}");
    assert!(serials.contains(&x_serial.as_str()) && serials.contains(&z_serial.as_str()));
    let (_, theirs) = srv.get("/api/v1/trades/supplied", &dc2);
    assert_eq!(theirs["items"].as_array().unwrap().len(), 1);
    assert_eq!(theirs["items"][0]["trade"]["serial"], y_serial.as_str());
    let (_, e2) = srv.get("/api/v1/trades/supplied/earnings?period=2026-11", &dc2);
    assert_eq!(fen_of(&e2["earnings"]["gross_fen"]), 50, "{e2}");

    // Isolation: another organisation's trade is not found; a customer or a supplier
    // never reaches the operator's view; a customer is no supplier.
    assert_err(
        srv.get(&format!("/api/v1/trades/{x_serial}/bill"), &other),
        404,
        "not_found",
    );
    assert_err(
        srv.get(&format!("/api/v1/trades/{x_serial}/bundle"), &other),
        404,
        "not_found",
    );
    for who in [&buyer, &dc, &other] {
        assert_err(srv.get("/api/v1/ops/trades", who), 403, "forbidden");
        assert_err(
            srv.get(
                &format!("/api/v1/ops/trades/orgs/{a_org}?side=customer"),
                who,
            ),
            403,
            "forbidden",
        );
    }
    assert_err(srv.get("/api/v1/trades/supplied", &buyer), 403, "forbidden");
    assert_err(
        srv.get("/api/v1/trades/statement?period=2026-11", &dc),
        403,
        "forbidden",
    );

    // The operator: per customer and per supplier, the reconciliation, one
    // organisation's trades with their channels and disputes.
    w.desk.channels.lock().unwrap().insert(
        x_serial.clone(),
        ChannelView {
            status: "closing".into(),
            opened_at_ms: NOV,
            checkins: 2,
            settled_minutes: 17,
            settled_cost_fen: 2_000,
            consumer_challenges: 0,
            supplier_challenges: 1,
            penalty: false,
            disputed: true,
        },
    );
    let (s, o) = srv.get("/api/v1/ops/trades", &fin);
    assert_eq!(s, 200, "{o}");
    let row = |list: &Value, org: i64| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|r| r["org"] == org)
            .cloned()
            .unwrap()
    };
    let a_row = row(&o["customers"], a_org);
    assert_eq!(
        (a_row["trades"].as_i64(), fen_of(&a_row["paid_fen"])),
        (Some(2), chain_sum),
        "{a_row}"
    );
    assert_eq!(row(&o["suppliers"], s_org)["trades"], 2);
    assert_eq!(row(&o["suppliers"], s2_org)["trades"], 1);
    assert_eq!(o["reconciliation"]["chain_available"], true, "{o}");
    let (s, ot) = srv.get(
        &format!("/api/v1/ops/trades/orgs/{a_org}?side=customer"),
        &fin,
    );
    assert_eq!(s, 200, "{ot}");
    assert_eq!(ot["disputes"], 1, "{ot}");
    assert_eq!(ot["trades"].as_array().unwrap().len(), 2);
    assert_err(
        srv.get(&format!("/api/v1/ops/trades/orgs/{a_org}?side=both"), &fin),
        400,
        "invalid_side",
    );
    assert_err(
        srv.get("/api/v1/ops/trades/orgs/999999?side=customer", &fin),
        404,
        "not_found",
    );

    // A low-funds pause becomes a message for Buyer Co and a top-up offer on the bill.
    w.desk.notices.lock().unwrap().push(ChannelNotice {
        serial: x_serial.clone(),
        paused: true,
        remaining_fen: 40,
        margin_fen: 120,
    });
    let mut notice = Value::Null;
    for _ in 0..100 {
        let (_, b) = srv.get(&format!("/api/v1/trades/{x_serial}/bill"), &buyer);
        if !b["notice"].is_null() {
            notice = b["notice"].clone();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        (notice["paused"].as_bool(), notice["remaining_fen"].as_i64()),
        (Some(true), Some(40)),
        "{notice}"
    );
    let (_, msgs) = srv.get(&format!("/api/v1/orgs/{a_org}/messages"), &buyer);
    assert!(
        msgs.to_string()
            .contains(&format!("Trade {x_serial} is paused")),
        "{msgs}"
    );
    let (_, msgs_b) = srv.get(&format!("/api/v1/orgs/{b_org}/messages"), &other);
    assert!(!msgs_b.to_string().contains(&x_serial), "{msgs_b}");

    // The top-up: bad amounts and a wrong password refused; then signed by the member's
    // own key (its password creates it).
    let new_pw = "Buyer-Own-Passphrase-7";
    let (s, v) = srv.post(
        "/api/v1/me/password",
        &buyer,
        json!({"current_password": pw("buyer-admin"), "new_password": new_pw}),
    );
    assert_eq!(s, 204, "{v}");
    let buyer = srv.login("buyer-admin", new_pw);
    let topup = format!("/api/v1/trades/{x_serial}/topup");
    assert_err(
        srv.post(&topup, &buyer, json!({"amount_fen": 0, "password": new_pw})),
        422,
        "invalid_amount",
    );
    assert_err(
        srv.post(
            &topup,
            &buyer,
            json!({"amount_fen": "ten", "password": new_pw}),
        ),
        422,
        "invalid_field",
    );
    assert_err(
        srv.post(
            &topup,
            &buyer,
            json!({"amount_fen": 500, "password": "wrong"}),
        ),
        422,
        "invalid_credentials",
    );
    assert_err(
        srv.post(
            &topup,
            &other,
            json!({"amount_fen": 500, "password": pw("other-admin")}),
        ),
        404,
        "not_found",
    );
    // Buyer Co's cash all went into its order's escrow: a top-up is refused until it
    // recharges (the journal's cash, not the wallet, decides).
    assert_err(
        srv.post(
            &topup,
            &buyer,
            json!({"amount_fen": 500, "password": new_pw}),
        ),
        402,
        "insufficient_balance",
    );
    assert!(w.desk.topups.lock().unwrap().is_empty());
    w.rt.block_on(async {
        let (org, user) = (OrgId::new(a_org).unwrap(), UserId::new(a_user).unwrap());
        w.store
            .create_payment(org, user, "sandbox", "r-topup", f(1_000), NOV)
            .await
            .unwrap();
        w.store
            .confirm_payment("sandbox", "r-topup", f(1_000), NOV)
            .await
            .unwrap();
    });
    let (s, v) = srv.post(
        &topup,
        &buyer,
        json!({"amount_fen": 500, "password": new_pw}),
    );
    assert_eq!(s, 200, "{v}");
    let (_, key) = srv.get("/api/v1/me/key", &buyer);
    let done = w.desk.topups.lock().unwrap().clone();
    assert_eq!(
        done,
        vec![(
            key["key"]["public_key"].as_str().unwrap().to_owned(),
            x_serial.clone(),
            500
        )]
    );

    // With an Idempotency-Key a retry never sends the top-up again; the same key for
    // another amount is a conflict.
    for _ in 0..2 {
        let (s, v) = srv.post_keyed(
            &topup,
            &buyer,
            "topup-1",
            json!({"amount_fen": 300, "password": new_pw}),
        );
        assert_eq!(s, 200, "{v}");
    }
    assert_eq!(w.desk.topups.lock().unwrap().len(), 2, "sent once");
    assert_err(
        srv.post_keyed(
            &topup,
            &buyer,
            "topup-1",
            json!({"amount_fen": 301, "password": new_pw}),
        ),
        409,
        "idempotency_conflict",
    );
    // Beyond the organisation's cash in the journal (the wallet may still hold cash
    // already spent, its burn pending): refused before anything is signed.
    let (_, acct) = srv.get(&format!("/api/v1/orgs/{a_org}/account"), &buyer);
    let cash = acct["balances"]["cash_fen"].as_i64().unwrap();
    assert!(cash > 0, "{acct}");
    assert_err(
        srv.post(
            &topup,
            &buyer,
            json!({"amount_fen": cash + 1, "password": new_pw}),
        ),
        402,
        "insufficient_balance",
    );
    assert_eq!(w.desk.topups.lock().unwrap().len(), 2);

    // The bundle downloads as the chain gives it; a trade not on the chain has none.
    let file = json!({"format": "suanli-trade-bundle/v1", "serial": x_serial}).to_string();
    w.desk
        .bundles
        .lock()
        .unwrap()
        .insert(x_serial.clone(), file.clone());
    let (s, body, headers) = srv.raw(
        "GET",
        &format!("/api/v1/trades/{x_serial}/bundle"),
        &buyer,
        None,
        Vec::new(),
    );
    assert_eq!(s, 200, "{body}");
    assert_eq!(body, serde_json::from_str::<Value>(&file).unwrap());
    let cd = headers
        .get("content-disposition")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        cd.contains(&format!("trade-{x_serial}.bundle.json")),
        "{cd}"
    );
    assert_err(
        srv.get(&format!("/api/v1/trades/{z_serial}/bundle"), &buyer),
        404,
        "not_on_chain",
    );
}

/// A supplier's supplied trades leave out its customers' refused orders (the chain's
/// refusal names the customer's wallet and limit) and the customer's member, journal
/// transaction and refusal fields (`docs/exchange.md` §8); the operator still sees them.
#[test]
fn a_supplier_sees_no_refused_orders_nor_the_customers_internal_fields() {
    let w = World::new();
    let srv = &w.srv;
    let op = srv.admin();
    let (_, fin) = srv.user(&op, 1, "fin1", &["finance"]);
    let (a_org, a_user, _) = srv.org(&op, "enterprise", "Buyer Co", "buyer-admin");
    let (s_org, _, dc) = srv.org(&op, "supplier_resource", "DC One", "dc-admin");
    let x = w.trade(1, a_org, a_user, s_org, None);
    let secret = "did:suanli:buyer may have at most 5000 fen out of wallet org:2";
    let refused = w.refused(2, a_org, a_user, s_org, secret);
    let (s, mine) = srv.get("/api/v1/trades/supplied", &dc);
    assert_eq!(s, 200, "{mine}");
    let items = mine["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{mine}");
    assert_eq!(items[0]["trade"]["serial"], x.as_str());
    for hidden in ["user_id", "escrow_tx_id", "refusal_code", "refusal_message"] {
        assert!(items[0]["trade"].get(hidden).is_none(), "{hidden}: {mine}");
    }
    assert_eq!(items[0]["trade"]["org_id"], a_org);
    assert!(!mine.to_string().contains("wallet org:"), "{mine}");
    assert!(!mine.to_string().contains(&refused), "{mine}");
    // The operator's view of the supplier keeps every order, refused ones included.
    let (s, o) = srv.get(
        &format!("/api/v1/ops/trades/orgs/{s_org}?side=supplier"),
        &fin,
    );
    assert_eq!(s, 200, "{o}");
    assert_eq!(o["trades"].as_array().unwrap().len(), 2, "{o}");
}

/// More trades than one old page (100) sharing one creation time: the statement and the
/// supplier's earnings count every one of them (`docs/exchange.md` §6: never shorter).
#[test]
fn statements_and_earnings_keep_every_trade_sharing_a_creation_time() {
    let w = World::new();
    let srv = &w.srv;
    let op = srv.admin();
    let (a_org, a_user, buyer) = srv.org(&op, "enterprise", "Buyer Co", "buyer-admin");
    let (s_org, _, dc) = srv.org(&op, "supplier_resource", "DC One", "dc-admin");
    let trades: u8 = 130;
    for n in 1..=trades {
        let serial = format!("{n:02x}").repeat(16);
        let c = chain_trade(
            &serial,
            &format!("org:{a_org}"),
            vec![checkin(1, "checkin", NOV + 60_000, 1, 10)],
        );
        w.trade(n, a_org, a_user, s_org, Some(c));
    }
    let (s, st) = srv.get("/api/v1/trades/statement?period=2026-11", &buyer);
    assert_eq!(s, 200, "{st}");
    assert_eq!(st["trades"], i64::from(trades), "{st}");
    assert_eq!(fen_of(&st["total_fen"]), 10 * i64::from(trades), "{st}");
    let (s, e) = srv.get("/api/v1/trades/supplied/earnings?period=2026-11", &dc);
    assert_eq!(s, 200, "{e}");
    assert_eq!(e["trades"], i64::from(trades), "{e}");
    assert_eq!(
        fen_of(&e["earnings"]["gross_fen"]),
        10 * i64::from(trades),
        "{e}"
    );
}
