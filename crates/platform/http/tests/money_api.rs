//! The money endpoints end to end over HTTP: catalogue, sandbox recharge and its signed
//! webhook, orders with idempotency keys, unsubscribe refunds, offline transfers with four
//! eyes, bills, lifecycle — and isolation between organisations and denials.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

const SECRET_HEX: &str = "00112233445566778899aabbccddeeff";

fn start() -> TestServer {
    TestServer::start_with(|c| {
        c.money.sandbox_webhook_secret =
            Some(suanli_platform_http::config::Secret::new(SECRET_HEX));
    })
}

fn call_key(
    srv: &TestServer,
    path: &str,
    cred: &Cred,
    key: Option<&str>,
    body: Value,
) -> (u16, Value) {
    // The harness has no extra-header helper; build the request by hand.
    let mut b = ureq::http::Request::builder()
        .method("POST")
        .uri(format!("{}{}", srv.base, path))
        .header("content-type", "application/json");
    if let Some(k) = key {
        b = b.header("idempotency-key", k);
    }
    match cred {
        Cred::Session { cookie, csrf } => {
            b = b
                .header("cookie", format!("suanli_session={cookie}"))
                .header("x-csrf-token", csrf);
        }
        Cred::Bearer(t) => b = b.header("authorization", format!("Bearer {t}")),
        _ => {}
    }
    let agent = ureq::Agent::new_with_config(
        ureq::config::Config::builder()
            .http_status_as_error(false)
            .build(),
    );
    let mut res = agent
        .run(b.body(serde_json::to_vec(&body).unwrap()).unwrap())
        .unwrap();
    let s = res.status().as_u16();
    let text = res.body_mut().read_to_string().unwrap_or_default();
    let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
    assert!(s < 500, "{s} {v}");
    (s, v)
}

struct Shop {
    srv: TestServer,
    admin: Cred,
    c1: (i64, Cred),
    c2: (i64, Cred),
    fin1: Cred,
    fin2: Cred,
    spec: i64,
    product: i64,
    sup: i64,
}

fn shop() -> Shop {
    let srv = start();
    let admin = srv.admin();
    let (_, fin1) = srv.user(&admin, 1, "fin1", &["finance"]);
    let (_, fin2) = srv.user(&admin, 1, "fin2", &["finance"]);
    let (sup, _, _) = srv.org(&admin, "supplier_resource", "Supplier", "sup1");
    let (c1, _, c1c) = srv.org(&admin, "enterprise", "Customer One", "cust1");
    let (c2, _, c2c) = srv.org(&admin, "enterprise", "Customer Two", "cust2");
    let (s, cat) = srv.post(
        "/api/v1/catalogue/categories",
        &admin,
        json!({"name": "GPU"}),
    );
    assert_eq!(s, 200, "{cat}");
    let (s, p) = srv.post(
        "/api/v1/catalogue/products",
        &admin,
        json!({"category_id": cat["category"]["id"], "name": "A100 80G", "supplier_org_id": sup,
               "region": "cn-east", "manual_provisioning": false, "supplier_share_bp": 7000}),
    );
    assert_eq!(s, 200, "{p}");
    let product = p["product"]["id"].as_i64().unwrap();
    let (s, sp) = srv.post(
        &format!("/api/v1/catalogue/products/{product}/specs"),
        &admin,
        json!({"family": "gpu", "name": "1x", "pricing": {
            "prepaid": {"monthly_fen": 300_000, "term_discounts": [{"min_months": 3, "off_bp": 500}]},
            "payg": {"per_minute_fen": 10, "minimum_fen": 600, "deposit_fen": 10_000}}}),
    );
    assert_eq!(s, 200, "{sp}");
    Shop {
        admin,
        c1: (c1, c1c),
        c2: (c2, c2c),
        fin1,
        fin2,
        spec: sp["spec"]["id"].as_i64().unwrap(),
        product,
        sup,
        srv,
    }
}

fn recharge(srv: &TestServer, c: &Cred, fen: i64) -> Value {
    let (s, v) = srv.post("/api/v1/recharges", c, json!({"amount_fen": fen}));
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["sandbox"], true);
    let id = v["payment"]["id"].as_i64().unwrap();
    let (s, v) = srv.post(&format!("/api/v1/recharges/{id}/sandbox-pay"), c, json!({}));
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["sandbox"], true);
    v
}

#[test]
fn browse_order_use_bill_unsubscribe_refund() {
    let sh = shop();
    let srv = &sh.srv;
    let (c1, c1c) = (&sh.c1.0, &sh.c1.1);
    // Unpublished products are invisible to customers.
    let (_, cat) = srv.get("/api/v1/catalogue", c1c);
    assert_eq!(cat["items"].as_array().unwrap().len(), 0);
    assert_err(srv.get("/api/v1/catalogue?all=true", c1c), 403, "forbidden");
    let (s, _) = srv.post(
        &format!("/api/v1/catalogue/products/{}/publish", sh.product),
        &sh.admin,
        json!({}),
    );
    assert_eq!(s, 200);
    let (_, cat) = srv.get("/api/v1/catalogue", c1c);
    assert_eq!(cat["items"][0]["specs"][0]["id"], sh.spec);

    let v = recharge(srv, c1c, 1_000_000);
    assert_eq!(v["balances"]["cash_fen"], 1_000_000);

    // No idempotency key: refused; with one: placed; replayed: the same order.
    let order = json!({"spec_id": sh.spec, "mode": "prepaid", "months": 3, "quantity": 1});
    assert_eq!(
        call_key(srv, "/api/v1/orders", c1c, None, order.clone()).1["error"]["code"],
        "missing_idempotency_key"
    );
    let (s, o) = call_key(srv, "/api/v1/orders", c1c, Some("buy-1"), order.clone());
    assert_eq!(s, 200, "{o}");
    // 3 × 300 000 = 900 000, term discount 5 % → 855 000.
    assert_eq!(o["order"]["charged_fen"], 855_000);
    assert_eq!(o["balances"]["cash_fen"], 145_000);
    let (_, again) = call_key(srv, "/api/v1/orders", c1c, Some("buy-1"), order.clone());
    assert_eq!(
        (again["replayed"].clone(), again["order"]["id"].clone()),
        (json!(true), o["order"]["id"].clone())
    );
    let mut other = order.clone();
    other["quantity"] = json!(2);
    assert_err(
        call_key(srv, "/api/v1/orders", c1c, Some("buy-1"), other),
        409,
        "idempotency_conflict",
    );
    let inst = o["instance"]["id"].as_i64().unwrap();

    // Not enough money: 402 with the amounts.
    let big = json!({"spec_id": sh.spec, "mode": "prepaid", "months": 12, "quantity": 5});
    assert_err(
        call_key(srv, "/api/v1/orders", c1c, Some("too-big"), big),
        402,
        "insufficient_balance",
    );

    // Ten days later: unsubscribe with the prorated refund.
    srv.clock.advance_ms(10 * 86_400_000);
    // Sessions last hours: log in again.
    let c1c = &srv.login("cust1", &pw("cust1"));
    let (s, u) = call_key(
        srv,
        &format!("/api/v1/instances/{inst}/unsubscribe"),
        c1c,
        Some("unsub-1"),
        json!({}),
    );
    assert_eq!(s, 200, "{u}");
    assert_eq!(u["instance"]["status"], "released");
    let refund = u["order"]["refunded_fen"].as_i64().unwrap();
    let days_total = (u["instance"]["ends_ms"].as_i64().unwrap()
        - u["instance"]["span_start_ms"].as_i64().unwrap())
        / 86_400_000;
    assert_eq!(refund, 855_000 * (days_total - 10) / days_total);
    assert_eq!(u["balances"]["cash_fen"], 145_000 + refund);

    // Statements: recharge, consumption, refund, each with the balance after.
    let (_, st) = srv.get(&format!("/api/v1/orgs/{c1}/statements"), c1c);
    let kinds: Vec<&str> = st["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["recharge", "consumption", "refund"]);
    assert_eq!(st["items"][0]["channel"], "sandbox");
    assert_eq!(st["items"][2]["balance_after_fen"], 145_000 + refund);

    // The bill of the month: prepaid charge, discount, refund, amount due.
    let (s, b) = srv.get("/api/v1/bills", c1c);
    assert_eq!(s, 200, "{b}");
    let line = &b["items"][0];
    assert_eq!(line["prepaid_fen"], 855_000);
    assert_eq!(line["discount_fen"], 45_000);
    assert_eq!(line["refund_fen"], refund);
    assert_eq!(line["amount_due_fen"], 855_000 - refund);
    assert_eq!(
        srv.get("/api/v1/bills?mode=payg", c1c).1["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_err(
        srv.get("/api/v1/bills?period=2023-13", c1c),
        400,
        "invalid_query",
    );
    // Paging: one line per page, the cursor of a full page leads to the (empty) rest.
    assert_eq!(b["next_after"], Value::Null, "a short page is the last");
    let (s, p1) = srv.get("/api/v1/bills?limit=1", c1c);
    assert_eq!(s, 200, "{p1}");
    assert_eq!(p1["items"][0], b["items"][0]);
    let cursor = p1["next_after"].as_str().unwrap().to_owned();
    let (s, p2) = srv.get(&format!("/api/v1/bills?limit=1&after={cursor}"), c1c);
    assert_eq!(s, 200, "{p2}");
    let second: Vec<Value> = b["items"]
        .as_array()
        .unwrap()
        .iter()
        .skip(1)
        .take(1)
        .cloned()
        .collect();
    assert_eq!(p2["items"].as_array().unwrap(), &second);
    for bad in [
        "/api/v1/bills?limit=0",
        "/api/v1/bills?limit=201",
        "/api/v1/bills?after=1:2",
        "/api/v1/bills?after=1:2:monthly",
        "/api/v1/bills?after=x:2:payg",
    ] {
        assert_err(srv.get(bad, c1c), 400, "invalid_query");
    }
}

#[test]
fn organisations_are_isolated_and_roles_are_enforced() {
    let sh = shop();
    let srv = &sh.srv;
    srv.post(
        &format!("/api/v1/catalogue/products/{}/publish", sh.product),
        &sh.admin,
        json!({}),
    );
    let (c1, c1c) = (&sh.c1.0, &sh.c1.1);
    let (c2, c2c) = (&sh.c2.0, &sh.c2.1);
    recharge(srv, c1c, 500_000);
    let (_, o) = call_key(
        srv,
        "/api/v1/orders",
        c1c,
        Some("k"),
        json!({"spec_id": sh.spec, "mode": "payg", "quantity": 1}),
    );
    let inst = o["instance"]["id"].as_i64().unwrap();
    assert_eq!(o["balances"]["frozen_fen"], 10_000);
    // Another customer sees nothing of it: 404, never 403.
    for path in ["account", "statements", "orders", "instances", "messages"] {
        assert_err(
            srv.get(&format!("/api/v1/orgs/{c1}/{path}"), c2c),
            404,
            "not_found",
        );
        assert_eq!(srv.get(&format!("/api/v1/orgs/{c2}/{path}"), c2c).0, 200);
    }
    assert_err(
        call_key(
            srv,
            &format!("/api/v1/instances/{inst}/unsubscribe"),
            c2c,
            Some("x"),
            json!({}),
        ),
        404,
        "not_found",
    );
    assert_err(
        call_key(
            srv,
            &format!("/api/v1/instances/{inst}/renew"),
            c2c,
            Some("x"),
            json!({"months": 1}),
        ),
        404,
        "not_found",
    );
    assert_err(
        srv.get(&format!("/api/v1/bills?org_id={c1}"), c2c),
        404,
        "not_found",
    );
    // Customers cannot manage the catalogue, finance or operations.
    assert_err(
        srv.post("/api/v1/catalogue/categories", c1c, json!({"name": "x"})),
        403,
        "forbidden",
    );
    assert_err(
        srv.post("/api/v1/offline-transfers", c1c, json!({})),
        403,
        "forbidden",
    );
    assert_err(
        srv.post("/api/v1/lifecycle/advance", c1c, json!({})),
        403,
        "forbidden",
    );
    assert_err(
        srv.post(&format!("/api/v1/orgs/{c1}/vouchers"), c1c, json!({})),
        403,
        "forbidden",
    );
    // Operators do not place orders for customers.
    assert_err(
        call_key(srv, "/api/v1/orders", &sh.admin, Some("op"), json!({})),
        403,
        "forbidden",
    );
    // Finance sees every customer's bills and account.
    assert_eq!(
        srv.get(&format!("/api/v1/orgs/{c1}/account"), &sh.fin1).0,
        200
    );
    let (s, b) = srv.get(&format!("/api/v1/bills?org_id={c1}&mode=payg"), &sh.fin1);
    assert_eq!(s, 200, "{b}");
    // Sub-users read their organisation's account but cannot order.
    let (_, sub) = srv.user(c1c, *c1, "sub1", &["customer_sub_user"]);
    assert_eq!(srv.get(&format!("/api/v1/orgs/{c1}/account"), &sub).0, 200);
    assert_err(
        call_key(srv, "/api/v1/orders", &sub, Some("s"), json!({})),
        403,
        "forbidden",
    );
}

#[test]
fn webhook_signatures_and_offline_four_eyes() {
    let sh = shop();
    let srv = &sh.srv;
    let (c1, c1c) = (&sh.c1.0, &sh.c1.1);
    let (_, p) = srv.post("/api/v1/recharges", c1c, json!({"amount_fen": 12_345}));
    assert_eq!(p["sandbox"], true);
    let body = json!({"provider_ref": p["payment"]["provider_ref"], "amount_fen": 12_345, "status": "paid"});
    let raw = serde_json::to_vec(&body).unwrap();
    let hook = |sig: &str, raw: &[u8]| {
        let agent = ureq::Agent::new_with_config(
            ureq::config::Config::builder()
                .http_status_as_error(false)
                .build(),
        );
        let req = ureq::http::Request::builder()
            .method("POST")
            .uri(format!("{}/api/v1/payments/sandbox/webhook", srv.base))
            .header("content-type", "application/json")
            .header("x-suanli-signature", sig)
            .body(raw.to_vec())
            .unwrap();
        let mut res = agent.run(req).unwrap();
        let s = res.status().as_u16();
        let v: Value = serde_json::from_str(&res.body_mut().read_to_string().unwrap()).unwrap();
        (s, v)
    };
    let secret = hex::decode(SECRET_HEX).unwrap();
    assert_err(hook("00", &raw), 401, "bad_signature");
    let forged = serde_json::to_vec(&json!({"provider_ref": p["payment"]["provider_ref"], "amount_fen": 99_999_999, "status": "paid"})).unwrap();
    assert_err(
        hook(&suanli_platform_http::payment::sign(&secret, &raw), &forged),
        401,
        "bad_signature",
    );
    let sig = suanli_platform_http::payment::sign(&secret, &raw);
    let (s, v) = hook(&sig, &raw);
    assert_eq!(
        (s, v["payment"]["status"].as_str()),
        (200, Some("confirmed")),
        "{v}"
    );
    // Replayed callbacks change nothing.
    assert_eq!(hook(&sig, &raw).0, 200);
    assert_eq!(
        srv.get(&format!("/api/v1/orgs/{c1}/account"), c1c).1["balances"]["cash_fen"],
        12_345
    );

    // Offline recharge: entered by fin1, not approvable by fin1, approved by fin2.
    let (s, t) = srv.post("/api/v1/offline-transfers", &sh.fin1,
        json!({"org_id": c1, "direction": "in", "amount_fen": 50_000, "reference": "ICBC 2025-001"}));
    assert_eq!(s, 200, "{t}");
    let id = t["transfer"]["id"].as_i64().unwrap();
    assert_eq!(
        srv.get(&format!("/api/v1/orgs/{c1}/account"), c1c).1["balances"]["cash_fen"],
        12_345
    );
    assert_err(
        srv.post(
            &format!("/api/v1/offline-transfers/{id}/approve"),
            &sh.fin1,
            json!({}),
        ),
        403,
        "four_eyes",
    );
    let (s, a) = srv.post(
        &format!("/api/v1/offline-transfers/{id}/approve"),
        &sh.fin2,
        json!({}),
    );
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["balances"]["cash_fen"], 62_345);
    assert_err(
        srv.post(
            &format!("/api/v1/offline-transfers/{id}/approve"),
            &sh.fin2,
            json!({}),
        ),
        422,
        "not_pending",
    );
    // Withdrawals beyond the cash balance are refused at approval.
    let (_, t) = srv.post(
        "/api/v1/offline-transfers",
        &sh.fin1,
        json!({"org_id": c1, "direction": "out", "amount_fen": 70_000, "reference": "W-1"}),
    );
    let id = t["transfer"]["id"].as_i64().unwrap();
    assert_err(
        srv.post(
            &format!("/api/v1/offline-transfers/{id}/approve"),
            &sh.fin2,
            json!({}),
        ),
        402,
        "insufficient_balance",
    );
    // Bad input answers with the field.
    let (s, v) = srv.post(
        "/api/v1/offline-transfers",
        &sh.fin1,
        json!({"org_id": c1, "direction": "in", "amount_fen": 0, "reference": "x"}),
    );
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (422, Some("amount_fen")),
        "{v}"
    );
    let (s, v) = srv.post("/api/v1/recharges", c1c, json!({"amount_fen": -5}));
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (422, Some("amount_fen")),
        "{v}"
    );
}

#[test]
fn vouchers_and_credit_lines_beyond_the_limit_need_a_second_person() {
    let sh = shop();
    let srv = &sh.srv;
    let c1 = &sh.c1.0;
    let limit = suanli_platform_http::money_api::VOUCHER_ALONE_DAILY_MAX_FEN;
    // Within fin1's daily limit: granted at once.
    let (s, g) = srv.post(
        &format!("/api/v1/orgs/{c1}/vouchers"),
        &sh.fin1,
        json!({"amount_fen": limit, "idempotency_key": "v-1"}),
    );
    assert_eq!(s, 200, "{g}");
    assert_eq!(g["pending"], false);
    let vouchers = g["balances"]["voucher_fen"].as_i64().unwrap();
    // Beyond it: pending, nothing granted; fin1 cannot approve it, fin2 can, once.
    let (s, g) = srv.post(
        &format!("/api/v1/orgs/{c1}/vouchers"),
        &sh.fin1,
        json!({"amount_fen": 1, "idempotency_key": "v-2"}),
    );
    assert_eq!((s, &g["pending"]), (200, &json!(true)), "{g}");
    assert_eq!(g["balances"], Value::Null);
    let id = g["grant"]["id"].as_i64().unwrap();
    assert_err(
        srv.post(
            &format!("/api/v1/money-grants/{id}/approve"),
            &sh.fin1,
            json!({}),
        ),
        403,
        "four_eyes",
    );
    let (s, d) = srv.post(
        &format!("/api/v1/money-grants/{id}/approve"),
        &sh.fin2,
        json!({}),
    );
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["grant"]["status"], "approved");
    assert_eq!(d["balances"]["voucher_fen"], vouchers + 1);
    assert_err(
        srv.post(
            &format!("/api/v1/money-grants/{id}/approve"),
            &sh.fin2,
            json!({}),
        ),
        422,
        "not_pending",
    );
    // A credit line above the limit waits too.
    let high = suanli_platform_http::money_api::CREDIT_LINE_ALONE_MAX_FEN + 1;
    let (s, g) = srv.call(
        "PUT",
        &format!("/api/v1/orgs/{c1}/credit-line"),
        &sh.fin1,
        Some(json!({"limit_fen": high})),
    );
    assert_eq!((s, &g["pending"]), (200, &json!(true)), "{g}");
    let (_, list) = srv.get("/api/v1/money-grants", &sh.fin2);
    assert_eq!(list["items"].as_array().unwrap().len(), 3, "{list}");
}

#[test]
fn manual_provisioning_lifecycle_and_messages() {
    let sh = shop();
    let srv = &sh.srv;
    let (c1, c1c) = (&sh.c1.0, &sh.c1.1);
    let (_, prod) = srv.post("/api/v1/catalogue/products", &sh.admin,
        json!({"category_id": 1, "name": "Bare metal", "supplier_org_id": sh.sup, "region": "cn-west",
               "manual_provisioning": true, "supplier_share_bp": 8000}));
    let pid = prod["product"]["id"].as_i64().unwrap();
    let (_, sp) = srv.post(
        &format!("/api/v1/catalogue/products/{pid}/specs"),
        &sh.admin,
        json!({"family": "bm", "name": "2x", "pricing": {"prepaid": {"monthly_fen": 100_000}}}),
    );
    srv.post(
        &format!("/api/v1/catalogue/products/{pid}/publish"),
        &sh.admin,
        json!({}),
    );
    recharge(srv, c1c, 200_000);
    let (s, o) = call_key(
        srv,
        "/api/v1/orders",
        c1c,
        Some("bm"),
        json!({"spec_id": sp["spec"]["id"], "mode": "prepaid", "months": 1, "quantity": 1}),
    );
    assert_eq!(s, 200, "{o}");
    assert_eq!(o["instance"]["status"], "pending");
    let inst = o["instance"]["id"].as_i64().unwrap();
    assert_err(
        srv.post(&format!("/api/v1/instances/{inst}/accept"), c1c, json!({})),
        403,
        "forbidden",
    );
    let (s, v) = srv.post(
        &format!("/api/v1/instances/{inst}/accept"),
        &sh.admin,
        json!({"resource_id": "", "access_address": "x"}),
    );
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (422, Some("resource_id"))
    );
    let (s, a) = srv.post(
        &format!("/api/v1/instances/{inst}/accept"),
        &sh.admin,
        json!({"resource_id": "bm-7", "access_address": "ssh root@10.1.2.3"}),
    );
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["instance"]["status"], "active");
    // 25 days on, the 7-day reminder; after the end, expired.
    srv.clock.advance_ms(25 * 86_400_000);
    let admin = srv.admin();
    let (_, r) = srv.post("/api/v1/lifecycle/advance", &admin, json!({}));
    assert_eq!(r["report"]["messages"], 1);
    assert_eq!(r["more"], false, "{r}");
    assert_eq!(r["report"]["next_after"], Value::Null);
    assert_err(
        srv.post("/api/v1/lifecycle/advance?after=-1", &admin, json!({})),
        400,
        "invalid_query",
    );
    srv.clock.advance_ms(10 * 86_400_000);
    let admin = srv.admin();
    srv.post("/api/v1/lifecycle/advance", &admin, json!({}));
    let c1c = &srv.login("cust1", &pw("cust1"));
    let (_, i) = srv.get(&format!("/api/v1/orgs/{c1}/instances"), c1c);
    assert_eq!(i["items"][0]["status"], "expired");
    // Renewal brings it back.
    let (s, r) = call_key(
        srv,
        &format!("/api/v1/instances/{inst}/renew"),
        c1c,
        Some("r"),
        json!({"months": 1}),
    );
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["instance"]["status"], "active");
    let (_, m) = srv.get(&format!("/api/v1/orgs/{c1}/messages"), c1c);
    let texts: Vec<&str> = m["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["body"].as_str().unwrap())
        .collect();
    assert!(texts.iter().any(|t| t.contains("bm-7")), "{texts:?}");
    assert!(texts.iter().any(|t| t.contains("renew")), "{texts:?}");
}

#[test]
fn sandbox_payments_are_off_unless_configured() {
    let srv = TestServer::start_with(|c| c.money.sandbox_payments = false);
    let admin = srv.admin();
    let (_, _, cust) = srv.org(&admin, "enterprise", "Customer", "cust-off");
    let (s, v) = srv.post("/api/v1/recharges", &cust, json!({"amount_fen": 1_000_000}));
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("payments_unavailable")),
        "{v}"
    );
    // Nor can a callback credit anything.
    let (s, v) = srv.post("/api/v1/payments/sandbox/webhook", &Cred::None, json!({}));
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("payments_unavailable")),
        "{v}"
    );
}

#[test]
fn money_refusals_answer_their_own_codes() {
    use suanli_platform_domain::Clock;
    let sh = shop();
    let srv = &sh.srv;
    let c1c = &sh.c1.1;
    let (s, _) = srv.post(
        &format!("/api/v1/catalogue/products/{}/publish", sh.product),
        &sh.admin,
        json!({}),
    );
    assert_eq!(s, 200);
    recharge(srv, c1c, 1_000_000);
    let now = srv.clock.now_unix_ms();
    for (code, expires) in [("ONCE", now + 86_400_000), ("SOON", now + 3_600_000)] {
        let (s, v) = srv.post(
            "/api/v1/coupons",
            &sh.admin,
            json!({"code": code, "value": {"kind": "amount_off", "fen": 1_000},
                   "min_spend_fen": 0, "expires_ms": expires}),
        );
        assert_eq!(s, 200, "{v}");
    }
    let order = |coupon: &str| json!({"spec_id": sh.spec, "mode": "prepaid", "months": 1, "quantity": 1, "coupon": coupon});
    assert_err(
        call_key(srv, "/api/v1/orders", c1c, Some("c-0"), order("NOPE")),
        422,
        "coupon_not_found",
    );
    let (s, o) = call_key(srv, "/api/v1/orders", c1c, Some("c-1"), order("ONCE"));
    assert_eq!(s, 200, "{o}");
    assert_eq!(o["order"]["charged_fen"], 299_000);
    assert_err(
        call_key(srv, "/api/v1/orders", c1c, Some("c-2"), order("ONCE")),
        422,
        "coupon_used",
    );
    srv.clock.advance_ms(2 * 3_600_000);
    let c1c = &srv.login("cust1", &pw("cust1"));
    assert_err(
        call_key(srv, "/api/v1/orders", c1c, Some("c-3"), order("SOON")),
        422,
        "coupon_expired",
    );
    // A renewal whose new end is already past names its own rule too.
    let inst = o["instance"]["id"].as_i64().unwrap();
    srv.clock.advance_ms(70 * 86_400_000);
    let c1c = &srv.login("cust1", &pw("cust1"));
    assert_err(
        call_key(
            srv,
            &format!("/api/v1/instances/{inst}/renew"),
            c1c,
            Some("r-1"),
            json!({"months": 1}),
        ),
        422,
        "term_already_ended",
    );
}
