//! The market's order side over the API (issue 17, `docs/market.md` "Confirming a match",
//! "Batch allocation", "Market data"): a matched demand is confirmed only by its own
//! organisation, only when matched, through the order flow of `POST /api/v1/trades`
//! (its refusals, here without a trade chain); the operator's batch allocation places
//! the demands that wait for it by OT and by the score-and-rank baseline, reports both
//! and sends the confirmed method's proposals as matches; market data gives the best
//! prices and depth per GPU model and region. (The confirmation of a match into a trade
//! on a real chain is `tools/webtest/tests/browser_market_orders.rs`.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod market_common;

use common::*;
use market_common::*;
use serde_json::{Value, json};

fn confirm(srv: &TestServer, c: &Cred, id: i64, body: Value) -> (u16, Value) {
    srv.post(&format!("/api/v1/market/demands/{id}/confirm"), c, body)
}

#[test]
fn a_matched_demand_is_confirmed_by_its_own_organisation_through_the_order_flow() {
    let m = market();
    let (_, startup) = customer(&m.srv, &m.op, "Startup", "startup");
    let (_, other) = customer(&m.srv, &m.op, "Other Co", "otherco");
    let (_, matched) = post_demand(
        &m.srv,
        &startup,
        json!({"constraint": "gpu_model == \"H100\"", "max_price_fen_per_min": 600,
            "duration_min": 120, "units": 1}),
    );
    assert_eq!(matched["demand"]["status"], "matched", "{matched}");
    assert_eq!(matched["demand"]["trade_serial"], Value::Null);
    let id = matched["demand"]["id"].as_i64().unwrap();
    let (_, open) = post_demand(
        &m.srv,
        &startup,
        json!({"constraint": "gpu_model == \"L40S\"", "max_price_fen_per_min": 600,
            "duration_min": 120, "units": 1}),
    );
    let open = open["demand"]["id"].as_i64().unwrap();
    let pwd = json!({"password": pw("startup")});
    // Another organisation's demand is not found; an open one is not matched yet.
    assert_err(confirm(&m.srv, &other, id, pwd.clone()), 404, "not_found");
    assert_err(
        confirm(&m.srv, &startup, open, pwd.clone()),
        409,
        "demand_not_matched",
    );
    // The body needs the password, and nothing else.
    assert_err(
        confirm(&m.srv, &startup, id, json!({})),
        422,
        "missing_field",
    );
    assert_err(
        confirm(&m.srv, &startup, id, json!({"password": "x", "units": 3})),
        422,
        "unknown_field",
    );
    // The order flow of POST /api/v1/trades answers: it needs an Idempotency-Key.
    assert_err(
        confirm(&m.srv, &startup, id, pwd.clone()),
        400,
        "missing_idempotency_key",
    );
    // Only ordering roles confirm; nobody anonymously.
    let (_, hydro) = &m.hydro;
    assert_err(confirm(&m.srv, hydro, id, pwd.clone()), 403, "forbidden");
    assert_eq!(confirm(&m.srv, &Cred::None, id, pwd).0, 401);
    // Nothing changed.
    let (_, d) = m.srv.get(&format!("/api/v1/market/demands/{id}"), &startup);
    assert_eq!(d["demand"]["status"], "matched", "{d}");
    // A cancelled demand is not confirmed either.
    let (s, _) = m.srv.post(
        &format!("/api/v1/market/demands/{open}/cancel"),
        &startup,
        json!({}),
    );
    assert_eq!(s, 200);
    assert_err(
        confirm(&m.srv, &startup, open, json!({"password": "x"})),
        409,
        "demand_not_matched",
    );
}

fn batch_demand(srv: &TestServer, c: &Cred) -> i64 {
    let (s, v) = post_demand(
        srv,
        c,
        json!({"constraint": "gpu_model == \"A100\" and mem_gb >= 80",
            "max_price_fen_per_min": 400, "duration_min": 60, "units": 2, "batch": true}),
    );
    assert_eq!(s, 200, "{v}");
    // It waits for the batch allocation although an offer fits now.
    assert_eq!(
        (
            v["demand"]["status"].as_str(),
            v["demand"]["batch"].as_bool()
        ),
        (Some("open"), Some(true)),
        "{v}"
    );
    v["demand"]["id"].as_i64().unwrap()
}

#[test]
fn the_operators_batch_allocation_compares_both_methods_and_sends_the_confirmed_one() {
    let m = market();
    let (org_a, a) = customer(&m.srv, &m.op, "Startup A", "starta");
    let (_, b) = customer(&m.srv, &m.op, "Startup B", "startb");
    // A's history: a demand matched at once to one of the two A100s and confirmed into a
    // trade (recorded in the store here: no trade chain in this test).
    let (_, h) = post_demand(
        &m.srv,
        &a,
        json!({"constraint": "gpu_model == \"A100\" and mem_gb >= 80",
            "max_price_fen_per_min": 400, "duration_min": 60, "units": 1}),
    );
    assert_eq!(h["demand"]["status"], "matched", "{h}");
    let hid = h["demand"]["id"].as_i64().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use suanli_platform_store::MarketStore;
        let store = suanli_platform_store::SqliteStore::open(&m.srv.db_path())
            .await
            .unwrap();
        let org = suanli_platform_domain::OrgId::new(org_a).unwrap();
        store
            .confirm_demand(org, hid, &"ab".repeat(16), 1)
            .await
            .unwrap();
    });
    let d1 = batch_demand(&m.srv, &a);
    let d2 = batch_demand(&m.srv, &b);
    let d3 = batch_demand(&m.srv, &b);
    // A later search's pass of the continuous engine leaves them alone.
    m.srv.get("/api/v1/market/search", &Cred::None);
    let (_, v) = m.srv.get(&format!("/api/v1/market/demands/{d1}"), &a);
    assert_eq!(v["demand"]["status"], "open", "{v}");
    // Only the operator runs one.
    assert_err(
        m.srv.post("/api/v1/market/allocations", &a, json!({})),
        403,
        "forbidden",
    );
    assert_eq!(m.srv.get("/api/v1/market/allocations", &Cred::None).0, 401);
    let (s, run) = m.srv.post("/api/v1/market/allocations", &m.op, json!({}));
    assert_eq!(s, 200, "{run}");
    let run = &run["allocation"];
    let rid = run["id"].as_i64().unwrap();
    assert_eq!(run["status"], "proposed");
    let r = &run["report"];
    // Three online resources (the A100s at 280 and 300, the H100), 2 units each; three
    // demands of 2 units for A100s: two are placed by either method.
    assert_eq!(
        (
            r["demands"].as_u64(),
            r["nodes"].as_u64(),
            r["capacity_units"].as_u64()
        ),
        (Some(3), Some(3), Some(6)),
        "{r}"
    );
    // A's preferences are learned from its confirmed demand (one choice between the two
    // A100s); B has no history.
    assert_eq!(
        (
            r["consumers"].as_u64(),
            r["consumers_with_history"].as_u64(),
            r["history_choices"].as_u64()
        ),
        (Some(2), Some(1), Some(1)),
        "{r}"
    );
    let methods: Vec<&str> = r["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["method"].as_str().unwrap())
        .collect();
    assert_eq!(methods, ["ot_learned", "score_rank"]);
    for x in r["methods"].as_array().unwrap() {
        assert_eq!(x["placed"], 2, "{x}");
        let offers: Vec<i64> = x["proposals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["offer_id"].as_i64().unwrap())
            .collect();
        let mut sorted = offers.clone();
        sorted.sort_unstable();
        let mut want = vec![m.green, m.coal];
        want.sort_unstable();
        assert_eq!(sorted, want, "each A100 takes one demand: {x}");
        let util = x["utilisation"].as_f64().unwrap();
        assert!((util - 4.0 / 6.0).abs() < 1e-9, "{x}");
        let price = x["mean_price_fen_per_min"].as_f64().unwrap();
        assert!((price - 290.0).abs() < 1e-9, "{x}");
    }
    // Nothing is sent before the operator confirms.
    let (_, v) = m.srv.get(&format!("/api/v1/market/demands/{d2}"), &b);
    assert_eq!(v["demand"]["status"], "open");
    let (_, list) = m.srv.get("/api/v1/market/allocations", &m.op);
    assert_eq!(list["items"][0]["id"], rid, "{list}");
    // The list leaves out the proposals (the run by id holds them).
    let listed = &list["items"][0]["report"]["methods"];
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{list}");
    assert!(listed[0].get("proposals").is_none() && listed[0].get("satisfaction").is_some());
    let (s, one) = m
        .srv
        .get(&format!("/api/v1/market/allocations/{rid}"), &m.op);
    assert_eq!((s, &one["allocation"]["report"]), (200, r));
    assert_err(
        m.srv
            .get(&format!("/api/v1/market/allocations/{}", rid + 99), &m.op),
        404,
        "not_found",
    );
    // Confirming: a method of the two, once.
    let path = format!("/api/v1/market/allocations/{rid}/confirm");
    let (s, e) = m.srv.post(&path, &m.op, json!({"method": "greedy"}));
    assert_eq!(
        (s, e["error"]["code"].as_str(), e["error"]["field"].as_str()),
        (422, Some("invalid_field"), Some("method")),
        "{e}"
    );
    assert_err(
        m.srv.post(&path, &a, json!({"method": "ot_learned"})),
        403,
        "forbidden",
    );
    let (s, done) = m.srv.post(&path, &m.op, json!({"method": "ot_learned"}));
    assert_eq!(s, 200, "{done}");
    assert_eq!(
        (
            done["allocation"]["status"].as_str(),
            done["allocation"]["method"].as_str(),
            done["allocation"]["sent"].as_i64(),
            done["skipped"].as_u64()
        ),
        (Some("confirmed"), Some("ot_learned"), Some(2), Some(0)),
        "{done}"
    );
    assert_err(
        m.srv.post(&path, &m.op, json!({"method": "score_rank"})),
        409,
        "allocation_confirmed",
    );
    // Each proposal is its demand's match, naming the allocation, with a message.
    let mut statuses = Vec::new();
    for (id, c) in [(d1, &a), (d2, &b), (d3, &b)] {
        let (_, v) = m.srv.get(&format!("/api/v1/market/demands/{id}"), c);
        if v["demand"]["status"] == "matched" {
            assert_eq!(v["demand"]["match"]["allocation_id"], rid, "{v}");
        }
        statuses.push(v["demand"]["status"].as_str().unwrap().to_owned());
    }
    assert_eq!(statuses.iter().filter(|s| *s == "matched").count(), 2);
    assert_eq!(statuses.iter().filter(|s| *s == "open").count(), 1);
    if statuses[0] == "matched" {
        let (_, msgs) = m.srv.get(&format!("/api/v1/orgs/{org_a}/messages"), &a);
        assert!(
            msgs.to_string().contains(&format!(
                "Batch allocation #{rid} proposes for standing demand #{d1}"
            )),
            "{msgs}"
        );
    }
    // Each organisation still sees only its own demands.
    let (_, mine) = m.srv.get("/api/v1/market/demands", &a);
    assert_eq!(mine["items"].as_array().unwrap().len(), 2);
}

#[test]
fn market_data_gives_best_prices_and_depth_per_model_and_region() {
    let m = market();
    let (s, v) = m.srv.get("/api/v1/market/data", &Cred::None);
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["days"], 30);
    let items = v["items"].as_array().unwrap();
    let a100 = items
        .iter()
        .find(|i| i["gpu_model"] == "A100" && i["region"] == "cn-west")
        .unwrap();
    // The online A100s at 280 and 300 fen/min, 2 units each; the one in maintenance at
    // 250 is not offered.
    assert_eq!(a100["best_price_fen_per_min"], 280, "{a100}");
    assert_eq!(a100["depth_units"], 4);
    assert_eq!(
        a100["book"],
        json!([{"price_fen_per_min": 280, "units": 2, "offers": 1},
               {"price_fen_per_min": 300, "units": 2, "offers": 1}])
    );
    assert_eq!(
        (
            a100["trades"].as_u64(),
            a100["history"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0))
    );
    let (_, v) = m
        .srv
        .get("/api/v1/market/data?gpu_model=h100&days=7", &Cred::None);
    assert_eq!(v["items"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["items"][0]["best_price_fen_per_min"], 500);
    let (_, v) = m
        .srv
        .get("/api/v1/market/data?region=eu-north", &Cred::None);
    assert_eq!(v["items"], json!([]));
    for (q, field) in [
        ("days=0", "days"),
        ("days=91", "days"),
        ("gpu_model=zz-9000", "gpu_model"),
    ] {
        let (s, e) = m.srv.get(&format!("/api/v1/market/data?{q}"), &Cred::None);
        assert_eq!(
            (s, e["error"]["code"].as_str(), e["error"]["field"].as_str()),
            (400, Some("invalid_query"), Some(field)),
            "{q}: {e}"
        );
    }
    let (s, _) = m.srv.get("/api/v1/market/data?colour=red", &Cred::None);
    assert_eq!(s, 400);
    // Documented under the market tag.
    let (_, doc) = m.srv.get("/api/v1/openapi.json", &Cred::None);
    for (path, method) in [
        ("/api/v1/market/data", "get"),
        ("/api/v1/market/demands/{id}/confirm", "post"),
        ("/api/v1/market/allocations", "post"),
        ("/api/v1/market/allocations", "get"),
        ("/api/v1/market/allocations/{id}", "get"),
        ("/api/v1/market/allocations/{id}/confirm", "post"),
    ] {
        assert_eq!(
            doc["paths"][path][method]["tags"],
            json!(["market"]),
            "{path}"
        );
    }
}

/// The request digest the order flow stores with an Idempotency-Key
/// (`service::trades::place_bound`): `bound` is `trade` for a direct order and
/// `market-confirm:{demand}` for a demand's confirmation.
fn order_digest(bound: &str, offer: i64, units: u32, minutes: u64) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in [
        bound.to_owned(),
        offer.to_string(),
        units.to_string(),
        format!("{:?}", Some(minutes)),
        format!("{:?}", None::<i64>),
    ] {
        h.update(p.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

/// An order of `org` stored `placing` under `key` with request digest `digest`, its
/// escrow funded first (as the order flow stores it before the chain answers).
fn stored_order(
    store: &suanli_platform_http::store::SqliteStore,
    ids: (i64, i64, i64, i64),
    n: u8,
    key: &str,
    digest: String,
) -> String {
    use suanli_platform_http::domain::money::Fen;
    use suanli_platform_http::domain::trades::order_tx;
    use suanli_platform_http::domain::{OrgId, UserId};
    use suanli_platform_http::store::*;
    let (org, user, offer, supplier) = ids;
    let (org, user) = (OrgId::new(org).unwrap(), UserId::new(user).unwrap());
    let serial = format!("{n:02x}").repeat(16);
    let value = Fen::new(60_000).unwrap();
    let t = NewTrade {
        serial: serial.clone(),
        org,
        user,
        offer_id: offer,
        chain_offer_id: 9,
        supplier_org: OrgId::new(supplier).unwrap(),
        units: 1,
        duration_minutes: 120,
        payg: false,
        value,
        source: "web",
        idem_key: key.into(),
        body_digest: digest,
        tx_ref: format!("tx-{n}"),
        tx_hex: "00ff".into(),
        at_ms: 1_700_000_000_000,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = format!("pay-{n}");
        store
            .create_payment(org, user, "sandbox", &r, value, t.at_ms)
            .await
            .unwrap();
        store
            .confirm_payment("sandbox", &r, value, t.at_ms)
            .await
            .unwrap();
        let escrow = order_tx(org, &serial, value).unwrap();
        store.place_trade(&t, &escrow).await.unwrap();
    });
    serial
}

fn confirm_with(srv: &TestServer, c: &Cred, id: i64, key: &str, pwd: &str) -> (u16, Value) {
    srv.post_keyed(
        &format!("/api/v1/market/demands/{id}/confirm"),
        c,
        key,
        json!({ "password": pwd }),
    )
}

/// The confirmation's Idempotency-Key is bound to the demand (`docs/market.md`
/// "Confirming a match"): a key of a direct order of the same offer, units and term does
/// not replay into the demand (409, no password needed before); the demand's own key
/// replays its order (200), also once the demand is confirmed; an order the chain
/// refuses later makes the demand `matched` again.
#[test]
fn a_confirmation_replays_only_its_own_demands_order() {
    let m = market();
    let (org, user, startup) = m.srv.org(&m.op, "enterprise", "Startup", "startup");
    let (_, v) = post_demand(
        &m.srv,
        &startup,
        json!({"constraint": "gpu_model == \"H100\"", "max_price_fen_per_min": 600,
            "duration_min": 120, "units": 1}),
    );
    assert_eq!(v["demand"]["status"], "matched", "{v}");
    let id = v["demand"]["id"].as_i64().unwrap();
    let offer = v["demand"]["match"]["offer_id"].as_i64().unwrap();
    let store = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(suanli_platform_http::store::SqliteStore::open(
            &m.srv.db_path(),
        ))
        .unwrap();
    let ids = (org, user, offer, m.hydro.0);
    // A direct order (POST /api/v1/trades) of the same offer, units and term, key K.
    let direct = stored_order(&store, ids, 1, "K", order_digest("trade", offer, 1, 120));
    assert_err(
        confirm_with(&m.srv, &startup, id, "K", "any password"),
        409,
        "idempotency_conflict",
    );
    let (_, d) = m.srv.get(&format!("/api/v1/market/demands/{id}"), &startup);
    assert_eq!(d["demand"]["status"], "matched", "{d}");
    // The demand's own order under key K2 (as a confirmation stored it): replayed.
    let bound = format!("market-confirm:{id}");
    let own = stored_order(&store, ids, 2, "K2", order_digest(&bound, offer, 1, 120));
    assert_ne!(own, direct);
    for _ in 0..2 {
        let (s, v) = confirm_with(&m.srv, &startup, id, "K2", "any password");
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["replayed"], true);
        assert_eq!(v["trade"]["serial"], own.as_str());
        assert_eq!(v["demand"]["status"], "confirmed");
        assert_eq!(v["demand"]["trade_serial"], own.as_str());
    }
    assert_err(
        confirm_with(&m.srv, &startup, id, "K3", &pw("startup")),
        409,
        "demand_confirmed",
    );
    // The chain refuses the order later: the demand is matched again.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(suanli_platform_http::store::TradeStore::trade_refused(
            &store,
            &own,
            "offer_sold_out",
            "sold out",
            1_700_000_001_000,
        ))
        .unwrap();
    let (_, d) = m.srv.get(&format!("/api/v1/market/demands/{id}"), &startup);
    assert_eq!(d["demand"]["status"], "matched", "{d}");
    assert_eq!(d["demand"]["trade_serial"], Value::Null, "{d}");
    assert_eq!(d["demand"]["confirmed_ms"], Value::Null, "{d}");
}
