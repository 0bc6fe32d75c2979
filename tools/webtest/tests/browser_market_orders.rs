#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A standing demand confirmed into an order (issue 17, `docs/market.md` "Confirming a
//! match") in headless Chromium, on a platform with an embedded ledger: a consumer,
//! approved and recharged, leaves a demand for an A100 80 GB on `/market/demands` while
//! nothing fits; a supplier publishes a fitting offer and the operator approves it — the
//! continuous engine matches the demand; the consumer confirms it with its password (a
//! wrong one is refused in the page's language) and the order flow places the trade on
//! the chain, escrowed from the wallet; the demand shows `confirmed` with its trade, and
//! the market data count the trade. Setup shared with `browser_exchange_story.rs`
//! (`suanli_webtest::exchange_setup`). Needs `chromium` and `chromium-driver`; without
//! them it FAILS.

use std::time::{Duration, Instant};

use serde_json::Value;
use suanli_webtest::exchange_setup::{
    BUYER, BUYER_PASSWORD, PRICE_FEN_PER_MIN, TradingPlatform, consumer, list_offer,
    onboard_supplier,
};
use suanli_webtest::harness::Client;
use suanli_webtest::webdriver::{Driver, MISSING, Session, available};

/// Longest the test waits for the demand worker (it looks every 2 s).
const MATCH_WAIT: Duration = Duration::from_secs(30);
/// The demand's hours.
const HOURS: i64 = 3;

fn demand(api: &Client, id: i64) -> Value {
    api.get(&format!("/api/v1/market/demands/{id}"))
        .unwrap()
        .json()["demand"]
        .clone()
}

fn count(s: &Session, css: &str) -> usize {
    s.find_all(css).unwrap().len()
}

#[test]
fn a_standing_demand_is_matched_when_a_supplier_publishes_and_confirmed_into_an_order() {
    let dir = tempfile::tempdir().unwrap();
    let TradingPlatform { h, vc, .. } = TradingPlatform::start(dir.path()).unwrap();
    let base = h.base.clone();
    assert!(available(), "{MISSING}");
    let d = Driver::start().expect(MISSING);

    // The supplier is onboarded; the consumer registers, is approved and recharges.
    let (sup, op) = onboard_supplier(&d, &base, &vc).unwrap();
    let c = consumer(&d, &base, &op).unwrap();
    let mut api = Client::new(&base);
    api.login(BUYER, BUYER_PASSWORD).unwrap();

    // It leaves a demand standing: nothing is listed yet, so it stays open.
    c.goto(&format!("{base}/market/demands?lang=en")).unwrap();
    c.fill(
        "#f-constraint",
        "gpu_model == \"A100\" and mem_gb >= 80 and green_share >= 0.5",
    )
    .unwrap();
    c.fill("#f-max_price", "2.00").unwrap();
    c.fill("#f-duration_h", &HOURS.to_string()).unwrap();
    c.fill("#f-units", "1").unwrap();
    c.click("#demand-form button[type=submit]").unwrap();
    let mine = api.get("/api/v1/market/demands").unwrap().json();
    let id = mine["items"][0]["id"].as_i64().unwrap();
    assert_eq!(mine["items"][0]["status"], "open", "{mine}");

    // The supplier publishes a fitting offer and the operator approves the listing: the
    // continuous engine matches the demand.
    let offer = list_offer(&sup, &base).unwrap();
    op.goto(&format!("{base}/ops/suppliers/listings?lang=en"))
        .unwrap();
    op.click(&format!("tr[data-listing='{offer}'] button.approve"))
        .unwrap();
    let until = Instant::now() + MATCH_WAIT;
    let mut v = demand(&api, id);
    while v["status"] == "open" && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(200));
        v = demand(&api, id);
    }
    assert_eq!(v["status"], "matched", "{v}");
    assert_eq!(v["match"]["offer_id"], offer);
    let value = PRICE_FEN_PER_MIN * HOURS * 60;
    assert_eq!(v["match"]["estimate_fen"], value);

    // A wrong password is refused on the page, in its language; nothing is ordered.
    c.goto(&format!("{base}/market/demands?lang=zh")).unwrap();
    assert_eq!(
        count(&c, &format!("tr[data-demand='{id}'][data-status=matched]")),
        1
    );
    c.fill(
        &format!("form[data-confirm='{id}'] input[name=password]"),
        "not-the-password",
    )
    .unwrap();
    c.click(&format!("form[data-confirm='{id}'] button[type=submit]"))
        .unwrap();
    let e = c.text("#confirm-error").unwrap();
    assert!(e.contains("密码"), "{e}");
    assert_eq!(demand(&api, id)["status"], "matched");
    let trades = api.get("/api/v1/trades").unwrap().json();
    assert_eq!(trades["items"].as_array().unwrap().len(), 0, "{trades}");

    // Confirmed with its password: the order flow places the trade on the chain.
    c.goto(&format!("{base}/market/demands?lang=en")).unwrap();
    c.fill(
        &format!("form[data-confirm='{id}'] input[name=password]"),
        BUYER_PASSWORD,
    )
    .unwrap();
    c.click(&format!("form[data-confirm='{id}'] button[type=submit]"))
        .unwrap();
    assert_eq!(
        count(&c, "#trade[data-status=placed]"),
        1,
        "{}",
        c.text("main").unwrap_or_default()
    );
    let v = demand(&api, id);
    assert_eq!(v["status"], "confirmed", "{v}");
    let serial = v["trade_serial"].as_str().unwrap().to_owned();
    let t = api.get(&format!("/api/v1/trades/{serial}")).unwrap().json();
    assert_eq!(
        (
            t["trade"]["offer_id"].as_i64(),
            t["trade"]["value_fen"].as_i64()
        ),
        (Some(offer), Some(value)),
        "{t}"
    );
    let w = api.get("/api/v1/trades/wallet").unwrap().json();
    assert_eq!(
        w["cash_fen"],
        100_000 - value,
        "escrowed from the wallet: {w}"
    );
    c.goto(&format!("{base}/market/demands?lang=en")).unwrap();
    assert_eq!(
        count(
            &c,
            &format!("tr[data-demand='{id}'][data-status=confirmed] a.trade-link")
        ),
        1
    );
    // Confirming again is refused.
    let r = api
        .api_post(
            &format!("/api/v1/market/demands/{id}/confirm"),
            &serde_json::json!({"password": BUYER_PASSWORD}),
            Some("again-1"),
        )
        .unwrap();
    assert_eq!(
        (r.status, r.json()["error"]["code"].clone()),
        (409, serde_json::json!("demand_confirmed")),
        "{}",
        r.body
    );

    // The market data count the trade at the offer's price.
    let md = api
        .get("/api/v1/market/data?gpu_model=A100&region=cn-west")
        .unwrap()
        .json();
    let row = &md["items"][0];
    assert_eq!(
        (
            row["trades"].as_u64(),
            row["last_price_fen_per_min"].as_i64()
        ),
        (Some(1), Some(PRICE_FEN_PER_MIN)),
        "{md}"
    );
    assert_eq!(row["history"][0]["mean_fen_per_min"], PRICE_FEN_PER_MIN);
    c.goto(&format!("{base}/market/data?gpu_model=A100&lang=en"))
        .unwrap();
    assert_eq!(count(&c, "section.market-data svg.chart rect.bar"), 1);

    batch_allocation(&base, &c, &op, &api, offer);
}

/// The consumer leaves a demand for the batch allocation; the operator runs one on its
/// page — the confirmed demand above is the consumer's learned history — compares both
/// methods and confirms OT; the proposal reaches the consumer as its demand's match.
fn batch_allocation(base: &str, c: &Session, op: &Session, api: &Client, offer: i64) {
    c.goto(&format!("{base}/market/demands?lang=en")).unwrap();
    c.fill("#f-constraint", "gpu_model == \"A100\"").unwrap();
    c.fill("#f-max_price", "2.00").unwrap();
    c.fill("#f-duration_h", "1").unwrap();
    c.fill("#f-units", "1").unwrap();
    c.click("#f-batch").unwrap();
    c.click("#demand-form button[type=submit]").unwrap();
    let mine = api.get("/api/v1/market/demands").unwrap().json();
    let id = mine["items"][1]["id"].as_i64().unwrap();
    assert_eq!(
        (
            mine["items"][1]["status"].as_str(),
            mine["items"][1]["batch"].as_bool()
        ),
        (Some("open"), Some(true)),
        "{mine}"
    );
    op.goto(&format!("{base}/ops/market/allocations?lang=en"))
        .unwrap();
    op.click("#alloc-run button[type=submit]").unwrap();
    assert_eq!(count(op, "#allocation[data-status=proposed]"), 1);
    assert_eq!(
        count(op, "#alloc-comparison tr[data-row] td[data-method]"),
        8,
        "four figures for each of the two methods"
    );
    assert_eq!(
        count(
            op,
            &format!("table.proposals[data-method=ot_learned] tr[data-demand='{id}']")
        ),
        1
    );
    let facts = op.text("#allocation p.hint").unwrap();
    // One listed resource only: its confirmed demand had no alternative to learn from.
    assert!(facts.contains("0 of 1 organisations"), "{facts}");
    op.click("form[data-confirm-method=ot_learned] button[type=submit]")
        .unwrap();
    assert_eq!(count(op, "#allocation[data-status=confirmed]"), 1);
    let d = demand(api, id);
    assert_eq!(
        (d["status"].as_str(), d["match"]["offer_id"].as_i64()),
        (Some("matched"), Some(offer)),
        "{d}"
    );
    assert!(d["match"]["allocation_id"].is_i64(), "{d}");
    // The consumer cannot run one.
    let r = api
        .api_post("/api/v1/market/allocations", &serde_json::json!({}), None)
        .unwrap();
    assert_eq!(r.status, 403, "{}", r.body);
}
