#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The audit records and metrics of form posts: a page names what it did (the object
//! acted on), records one event per money-moving operation, leaves none for steps that
//! change nothing, records the operation's outcome (not the page's redirect), blames a
//! failed login on nobody but a proven user, and is counted in the response metrics.

use std::sync::Arc;
use suanli_platform_domain::clock::ManualClock;
use suanli_webtest::bench::{demo_password, seed};
use suanli_webtest::harness::{Client, HARNESS_ADMIN_PASSWORD, Harness, config};

/// 2026-11-22 12:00 CST.
const T0_MS: i64 = 1_795_320_000_000;

struct World {
    _dir: tempfile::TempDir,
    h: Harness,
    admin: Client,
    cust: Client,
    demo: suanli_webtest::bench::Demo,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0_MS.unsigned_abs()));
    let h = Harness::start(config(dir.path()), clock).unwrap();
    let demo = seed(&h.base, 2, 6).unwrap();
    let mut admin = Client::new(&h.base);
    admin.login("admin", HARNESS_ADMIN_PASSWORD).unwrap();
    let mut cust = Client::new(&h.base);
    let c0 = &demo.customers[0].1;
    cust.login(c0, &demo_password(c0)).unwrap();
    World {
        _dir: dir,
        h,
        admin,
        cust,
        demo,
    }
}

fn between<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let i = body.find(start).unwrap() + start.len();
    let j = body[i..].find(end).unwrap();
    &body[i..i + j]
}

/// Every audit record, page by page (as the operator reads them through the API).
fn audit_records(admin: &Client) -> Vec<serde_json::Value> {
    let mut all = Vec::new();
    let mut after = 0u64;
    loop {
        let a = admin
            .get(&format!("/api/v1/audit?limit=200&after={after}"))
            .unwrap();
        assert_eq!(a.status, 200, "{}", a.body);
        let items = a.json()["items"].as_array().cloned().unwrap_or_default();
        let Some(last) = items.last() else { break };
        after = last["seq"].as_u64().unwrap();
        all.extend(items);
    }
    all
}

/// The records appended since `before` records.
fn since(admin: &Client, before: usize) -> Vec<serde_json::Value> {
    audit_records(admin)[before..].to_vec()
}

/// The customer's user id, as the API knows it.
fn user_id(c: &Client) -> i64 {
    let me = c.get("/api/v1/me").unwrap();
    assert_eq!(me.status, 200, "{}", me.body);
    let v = me.json();
    v["user"]["id"]
        .as_i64()
        .or_else(|| v["id"].as_i64())
        .unwrap()
}

/// A second finance user of the operator (four eyes), logged in.
fn second_finance_user(w: &World) -> Client {
    let made = w
        .admin
        .form(
            "/system",
            &[
                ("login", "fin2"),
                ("display_name", "Finance Two"),
                ("password", "Second-Finance-Pw-1"),
                ("role", "finance"),
            ],
        )
        .unwrap();
    assert_eq!(made.status, 303, "{}", made.body);
    let mut fin2 = Client::new(&w.h.base);
    fin2.login("fin2", "Second-Finance-Pw-1").unwrap();
    fin2
}

#[test]
fn a_recharge_leaves_one_record_per_step_under_the_caller() {
    let w = world();
    let before = audit_records(&w.admin).len();
    let a = w
        .cust
        .form("/console/recharge", &[("amount", "12")])
        .unwrap();
    assert_eq!(a.status, 303, "{}", a.body);
    let new = since(&w.admin, before);
    assert_eq!(new.len(), 2, "start and pay: {new:?}");
    assert_eq!(new[0]["action"], "POST /api/v1/recharges");
    assert_eq!(new[0]["target"], "/api/v1/recharges");
    assert_eq!(new[1]["action"], "POST /api/v1/recharges/{id}/sandbox-pay");
    let target = new[1]["target"].as_str().unwrap();
    let id = target
        .strip_prefix("/api/v1/recharges/")
        .and_then(|t| t.strip_suffix("/sandbox-pay"))
        .unwrap();
    assert!(id.parse::<i64>().unwrap() > 0, "{target}");
    for r in &new {
        assert_eq!(r["outcome"], "success", "{r}");
        assert!(r["actor_user"].as_i64().is_some(), "actor named: {r}");
    }
    // A forged CSRF token: the first step is refused, the second never runs.
    let mut forged = Client::new(&w.h.base);
    forged.cookie = w.cust.cookie.clone();
    forged.csrf = Some("not-the-token".into());
    let before = audit_records(&w.admin).len();
    let refused = forged
        .form("/console/recharge", &[("amount", "12")])
        .unwrap();
    assert_eq!(refused.status, 422);
    let new = since(&w.admin, before);
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(new[0]["action"], "POST /api/v1/recharges");
    assert_eq!(new[0]["outcome"], "denied");
}

#[test]
fn an_approval_from_the_finance_page_names_the_transfer() {
    let w = world();
    let org = w.demo.customers[0].0.to_string();
    let before_entry = audit_records(&w.admin).len();
    let entered = w
        .admin
        .form(
            "/ops/finance",
            &[
                ("what", "enter"),
                ("org", &org),
                ("direction", "in"),
                ("amount", "500"),
                ("reference", "BANK-REF-1"),
            ],
        )
        .unwrap();
    assert_eq!(entered.status, 303, "{}", entered.body);
    // The entry is named as the API names it (the first half of the four-eyes move).
    let entry: Vec<_> = since(&w.admin, before_entry)
        .into_iter()
        .filter(|r| r["action"] == "POST /api/v1/offline-transfers")
        .collect();
    assert_eq!(entry.len(), 1, "{entry:?}");
    assert_eq!(entry[0]["target"], "/api/v1/offline-transfers");
    let fin2 = second_finance_user(&w);
    let page = fin2.get("/ops/finance").unwrap();
    let id = between(
        &page.body,
        "name=\"what\" value=\"approve\"><input type=\"hidden\" name=\"id\" value=\"",
        "\"",
    )
    .to_owned();
    let before = audit_records(&w.admin).len();
    let a = fin2
        .form("/ops/finance", &[("what", "approve"), ("id", &id)])
        .unwrap();
    assert_eq!(a.status, 303, "{}", a.body);
    let new = since(&w.admin, before);
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(
        new[0]["action"],
        "POST /api/v1/offline-transfers/{id}/approve"
    );
    assert_eq!(
        new[0]["target"],
        format!("/api/v1/offline-transfers/{id}/approve")
    );
    assert_eq!(new[0]["outcome"], "success");
    assert_eq!(new[0]["actor_user"].as_i64(), Some(user_id(&fin2)));
    // Approving it again is refused, and recorded as refused, with the same id.
    let before = audit_records(&w.admin).len();
    let again = fin2
        .form("/ops/finance", &[("what", "approve"), ("id", &id)])
        .unwrap();
    assert!(again.status >= 300, "{}", again.body);
    let new = since(&w.admin, before);
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(
        new[0]["target"],
        format!("/api/v1/offline-transfers/{id}/approve")
    );
    assert_eq!(new[0]["outcome"], "denied");
}

#[test]
fn a_cart_of_two_leaves_two_order_records_and_its_steps_none() {
    let w = world();
    let spec = w.demo.spec.to_string();
    let mut c = Client::new(&w.h.base);
    c.cookie = w.cust.cookie.clone();
    c.csrf = w.cust.csrf.clone();
    let session = c.cookie.clone().unwrap();
    let before = audit_records(&w.admin).len();
    // The preview changes nothing.
    let preview = c
        .form(
            "/console/order",
            &[
                ("spec", &spec),
                ("mode", "prepaid"),
                ("months", "1"),
                ("quantity", "1"),
            ],
        )
        .unwrap();
    assert_eq!(preview.status, 200, "{}", preview.body);
    for (months, qty) in [("2", "1"), ("1", "3")] {
        let a = c
            .form(
                "/console/order",
                &[
                    ("spec", &spec),
                    ("mode", "prepaid"),
                    ("months", months),
                    ("quantity", qty),
                    ("step", "cart"),
                ],
            )
            .unwrap();
        assert_eq!(a.status, 303, "{}", a.body);
        let cart = a
            .set_cookies
            .iter()
            .find(|v| v.starts_with("suanli_cart="))
            .unwrap();
        c.cookie = Some(format!("{session}; {cart}"));
    }
    assert_eq!(
        since(&w.admin, before),
        Vec::<serde_json::Value>::new(),
        "previews and cart steps are not actions"
    );
    let a = c
        .form(
            "/console/cart",
            &[("action", "checkout"), ("idem", "cart-1")],
        )
        .unwrap();
    assert_eq!(a.status, 303, "{}", a.body);
    let new = since(&w.admin, before);
    assert_eq!(new.len(), 2, "one per order: {new:?}");
    for r in &new {
        assert_eq!(r["action"], "POST /api/v1/orders");
        assert_eq!(r["outcome"], "success");
        assert!(r["actor_user"].as_i64().is_some(), "{r}");
    }
}

#[test]
fn refused_logouts_and_expired_sessions_are_recorded_as_refused() {
    let w = world();
    let before = audit_records(&w.admin).len();
    // A logout with a wrong CSRF token: the session stays, the page still redirects.
    let mut forged = Client::new(&w.h.base);
    forged.cookie = w.cust.cookie.clone();
    forged.csrf = Some("not-the-token".into());
    let out = forged.form("/logout", &[]).unwrap();
    assert_eq!(out.status, 303);
    assert_eq!(w.cust.get("/console/account").unwrap().status, 200);
    // A logout without a session.
    let anon = Client::new(&w.h.base);
    assert_eq!(anon.form("/logout", &[]).unwrap().status, 303);
    // A form posted on an expired (unknown) session: redirected to the login page.
    let mut expired = Client::new(&w.h.base);
    expired.cookie = Some("suanli_session=expired-or-unknown".into());
    expired.csrf = Some("whatever".into());
    let post = expired
        .form("/console/recharge", &[("amount", "12")])
        .unwrap();
    assert_eq!(post.status, 303);
    let new = since(&w.admin, before);
    assert_eq!(new.len(), 3, "{new:?}");
    assert_eq!(new[0]["action"], "POST /logout");
    assert_eq!(new[1]["action"], "POST /logout");
    assert_eq!(new[2]["action"], "POST /console/recharge");
    for r in &new {
        assert_eq!(r["outcome"], "denied", "{r}");
        assert_eq!(r["status"], 303, "{r}");
    }
    assert!(new[1]["actor_user"].is_null() && new[2]["actor_user"].is_null());
    // A logout that ends the session is a success.
    let before = audit_records(&w.admin).len();
    assert_eq!(w.cust.form("/logout", &[]).unwrap().status, 303);
    let new = since(&w.admin, before);
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(new[0]["outcome"], "success");
}

#[test]
fn a_failed_login_is_not_blamed_on_the_session_the_browser_holds() {
    let w = world();
    let before = audit_records(&w.admin).len();
    // The customer's browser (its session cookie) tries the operator's login.
    let mut c = Client::new(&w.h.base);
    c.cookie = w.cust.cookie.clone();
    let a = c
        .form(
            "/login",
            &[("login", "admin"), ("password", "wrong-password")],
        )
        .unwrap();
    assert_eq!(a.status, 401, "{}", a.body);
    let new = since(&w.admin, before);
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(new[0]["action"], "POST /login");
    assert_eq!(new[0]["outcome"], "denied");
    assert!(new[0]["actor_user"].is_null(), "nobody proven: {}", new[0]);
}

fn responses(c: &Client, class: &str) -> u64 {
    let m = c.get("/metrics").unwrap();
    let line = format!("suanli_http_responses_total{{class=\"{class}\"}} ");
    m.body
        .lines()
        .find_map(|l| l.strip_prefix(&line))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn form_posts_are_counted_in_the_response_metrics() {
    let w = world();
    let anon = Client::new(&w.h.base);
    let redirects = responses(&anon, "3xx");
    let refused = responses(&anon, "4xx");
    assert_eq!(
        w.cust
            .form("/console/recharge", &[("amount", "1")])
            .unwrap()
            .status,
        303
    );
    assert_eq!(
        w.cust
            .form("/console/recharge", &[("amount", "x")])
            .unwrap()
            .status,
        422
    );
    assert_eq!(responses(&anon, "3xx"), redirects + 1);
    assert_eq!(responses(&anon, "4xx"), refused + 1);
}

#[test]
fn a_wrong_key_password_outside_customer_organisations_shows_the_key_section() {
    let w = world();
    let fin2 = second_finance_user(&w);
    let a = fin2
        .form(
            "/console/key-export?lang=en",
            &[("key_password", "not-the-password")],
        )
        .unwrap();
    assert_eq!(a.status, 422, "{}", a.body);
    assert!(a.body.contains("id=\"did-keys\""), "{}", a.body);
    assert!(!a.body.contains("PRIVATE KEY"));
}

#[test]
fn a_price_change_names_the_spec() {
    let w = world();
    let path = format!("/ops/products/{}", w.demo.product);
    let spec = w.demo.spec;
    let before = audit_records(&w.admin).len();
    let ok = w
        .admin
        .form(
            &path,
            &[
                ("what", "pricing"),
                ("spec", &spec.to_string()),
                ("p_monthly", "25,000"),
            ],
        )
        .unwrap();
    assert_eq!(ok.status, 303, "{}", ok.body);
    let new = since(&w.admin, before);
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(new[0]["action"], "PUT /api/v1/catalogue/specs/{id}/pricing");
    assert_eq!(
        new[0]["target"],
        format!("/api/v1/catalogue/specs/{spec}/pricing")
    );
    assert_eq!(new[0]["outcome"], "success");
}
