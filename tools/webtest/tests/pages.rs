#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Pages over HTTP without a browser: every page in both languages, friendly 403/404/500
//! pages, CSRF on forms, validation messages next to the field, isolation between
//! organisations.

use serde_json::json;
use std::sync::Arc;
use suanli_platform_domain::clock::ManualClock;
use suanli_webtest::bench::{demo_password, seed};
use suanli_webtest::harness::{Client, HARNESS_ADMIN_PASSWORD, Harness, config};

/// 2026-11-22 12:00 CST.
const T0_MS: i64 = 1_795_320_000_000;

fn is_han(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c)
}

/// Text of the page outside tags, attributes excluded (good enough for checks).
fn visible(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

struct World {
    _dir: tempfile::TempDir,
    clock: Arc<ManualClock>,
    h: Harness,
    admin: Client,
    cust: Client,
    other: Client,
    demo: suanli_webtest::bench::Demo,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0_MS.unsigned_abs()));
    let h = Harness::start(config(dir.path()), clock.clone()).unwrap();
    let demo = seed(&h.base, 2, 6).unwrap();
    let mut admin = Client::new(&h.base);
    admin.login("admin", HARNESS_ADMIN_PASSWORD).unwrap();
    let mut cust = Client::new(&h.base);
    let c0 = &demo.customers[0].1;
    cust.login(c0, &demo_password(c0)).unwrap();
    let mut other = Client::new(&h.base);
    let c1 = &demo.customers[1].1;
    other.login(c1, &demo_password(c1)).unwrap();
    World {
        _dir: dir,
        clock,
        h,
        admin,
        cust,
        other,
        demo,
    }
}

#[test]
fn every_page_renders_in_both_languages() {
    let w = world();
    let anon = Client::new(&w.h.base);
    let product = format!("/products/{}", w.demo.product);
    let supplier = format!("/suppliers/{}", w.demo.supplier_org);
    let order = format!("/console/order?spec={}", w.demo.spec);
    let c360 = format!("/ops/customers/{}", w.demo.customers[0].0);
    let ops_product = format!("/ops/products/{}", w.demo.product);
    // Issue 16, the agent's part: the supplier's work orders and agent keys.
    let mut sup = Client::new(&w.h.base);
    sup.login("greensupply", &demo_password("greensupply"))
        .unwrap();
    let pages: Vec<(&Client, &str)> = vec![
        (&sup, "/supplier/work-orders"),
        (&sup, "/supplier/agent-keys"),
        (&anon, "/"),
        (&anon, &product),
        (&anon, &supplier),
        (&anon, "/login"),
        (&anon, "/register"),
        (&w.cust, "/console"),
        (&w.cust, "/console/account"),
        (&w.cust, &order),
        (&w.cust, "/console/resources"),
        // Issue 16, the agent's part.
        (&w.cust, "/console/work-orders"),
        // Issue 18, the exchange.
        (&w.cust, "/console/trades"),
        (&w.cust, "/console/trades/members"),
        (&w.cust, "/console/orders"),
        (&w.cust, "/console/statements"),
        (&w.cust, "/console/bills"),
        (&w.cust, "/console/users"),
        (&w.cust, "/console/tokens"),
        (&w.cust, "/console/security"),
        (&w.cust, "/console/cart"),
        (&w.admin, "/ops"),
        (&w.admin, "/ops/registrations"),
        (&w.admin, "/ops/customers"),
        (&w.admin, &c360),
        (&w.admin, "/ops/catalogue"),
        (&w.admin, &ops_product),
        (&w.admin, "/ops/orders"),
        (&w.admin, "/ops/finance"),
        (&w.admin, "/ops/discounts"),
        (&w.admin, "/ops/suppliers"),
        (&w.admin, "/ops/audit"),
        (&w.admin, "/system"),
        (&w.admin, "/system/roles"),
        (&w.admin, "/system/orgs"),
        (&w.admin, "/system/security"),
        (&w.admin, "/system/oem"),
        (&w.admin, "/system/audit"),
    ];
    for (c, path) in pages {
        for lang in ["zh", "en"] {
            let sep = if path.contains('?') { '&' } else { '?' };
            let a = c.get(&format!("{path}{sep}lang={lang}")).unwrap();
            assert_eq!(a.status, 200, "{path} {lang}: {}", a.body);
            assert!(!a.body.contains('⟦'), "{path} {lang}: untranslated key");
            let html_lang = if lang == "zh" { "zh-CN" } else { "en" };
            assert!(
                a.body.contains(&format!("<html lang=\"{html_lang}\"")),
                "{path} {lang}"
            );
            let text = visible(&a.body).replace("中文", "");
            if lang == "en" {
                let han: String = text.chars().filter(|c| is_han(*c)).take(20).collect();
                assert!(han.is_empty(), "{path} en shows Chinese text: {han}");
            } else {
                assert!(text.chars().any(is_han), "{path} zh shows no Chinese");
            }
        }
    }
    // Money is shown in yuan from fen: the spec costs 3,000,000 fen a month.
    let p = anon.get(&format!("{product}?lang=en")).unwrap();
    assert!(p.body.contains("¥30,000.00"), "{}", p.body);
    // The dashboard's charts are SVG from the server.
    let d = w.admin.get("/ops").unwrap();
    assert!(d.body.matches("<svg").count() >= 4);
}

#[test]
fn language_switch_is_remembered() {
    let w = world();
    let anon = Client::new(&w.h.base);
    let a = anon.get("/?lang=en").unwrap();
    assert!(a.body.contains("Marketplace"));
    let a = anon.get("/").unwrap();
    assert!(a.body.contains("算力市场"), "Chinese is the default");
}

#[test]
fn friendly_error_pages() {
    let w = world();
    let anon = Client::new(&w.h.base);
    for lang in ["zh", "en"] {
        let a = anon.get(&format!("/no/such/page?lang={lang}")).unwrap();
        assert_eq!(a.status, 404);
        assert!(a.body.contains("<html"), "404 is a page");
        assert!(a.body.contains(if lang == "zh" {
            "页面不存在"
        } else {
            "Page not found"
        }));
        let a = anon
            .get(&format!("/products/not-a-number?lang={lang}"))
            .unwrap();
        assert_eq!(a.status, 404, "{}", a.body);
        assert!(a.body.contains("<html"));
        // A customer on the operations console: a 403 page, not an error dump.
        let a = w.cust.get(&format!("/ops/catalogue?lang={lang}")).unwrap();
        assert_eq!(a.status, 403);
        assert!(a.body.contains(if lang == "zh" {
            "无权访问"
        } else {
            "Access denied"
        }));
        assert!(!a.body.contains("\"error\""));
    }
    // Not signed in: to the login page.
    let a = anon.get("/console").unwrap();
    assert_eq!(a.status, 303);
    assert_eq!(a.location.as_deref(), Some("/login"));
    // The API keeps its JSON errors.
    let a = anon.get("/api/v1/nope").unwrap();
    assert_eq!(a.status, 404);
    assert!(a.json()["error"]["code"].is_string(), "{}", a.body);
}

#[test]
fn forms_need_the_session_csrf_token() {
    let w = world();
    let before = w.cust.get("/console/account").unwrap();
    let mut forged = Client::new(&w.h.base);
    forged.cookie = w.cust.cookie.clone();
    forged.csrf = Some("not-the-token".into());
    let a = forged
        .form("/console/recharge", &[("amount", "100")])
        .unwrap();
    assert_eq!(a.status, 422);
    assert!(a.body.contains("表单已过期"), "{}", a.body);
    let after = w.cust.get("/console/account").unwrap();
    let cash = |b: &str| {
        let i = b.find("id=\"bal-cash\"").unwrap();
        let j = b[i..].find("</strong>").unwrap();
        b[i..i + j].to_owned()
    };
    assert_eq!(
        cash(&before.body),
        cash(&after.body),
        "nothing was recharged"
    );
    // The web-only OEM form checks the token itself.
    let mut forged_admin = Client::new(&w.h.base);
    forged_admin.cookie = w.admin.cookie.clone();
    forged_admin.csrf = Some("wrong".into());
    let a = forged_admin
        .form("/system/oem", &[("name", "Evil")])
        .unwrap();
    assert_eq!(a.status, 403);
    let a = w
        .admin
        .form(
            "/system/oem",
            &[
                ("name", "星河算力"),
                ("logo", "星"),
                ("copyright", "© 2026 Xinghe"),
            ],
        )
        .unwrap();
    assert_eq!(a.status, 303, "{}", a.body);
    let home = Client::new(&w.h.base).get("/?lang=en").unwrap();
    assert!(
        home.body.contains("星河算力") && home.body.contains("© 2026 Xinghe"),
        "OEM branding on every page"
    );
}

#[test]
fn validation_messages_sit_next_to_the_field() {
    let w = world();
    let a = w
        .cust
        .form("/console/recharge?lang=en", &[("amount", "12.345")])
        .unwrap();
    assert_eq!(a.status, 422);
    let field = a.body.find("id=\"f-amount\"").unwrap();
    let msg = a.body.find("id=\"f-amount-err\"").unwrap();
    assert!(
        msg > field && msg - field < 600,
        "message right after the field"
    );
    assert!(a.body.contains("Enter an amount in yuan"));
    assert!(a.body.contains("aria-invalid=\"true\""));
    // Registration: API-side validation lands on the field it names.
    let anon = Client::new(&w.h.base);
    let a = anon
        .form(
            "/register",
            &[
                ("kind", "personal"),
                ("login", "lisi"),
                ("password", "Li-Si-Password-1"),
                ("password2", "Li-Si-Password-1"),
                ("name", "Li Si"),
                ("id_number", "110105194912310021"),
                ("phone", "13800138000"),
            ],
        )
        .unwrap();
    assert_eq!(a.status, 422, "{}", a.body);
    assert!(a.body.contains("id=\"f-id_number-err\""), "{}", a.body);
    // Required fields.
    let a = anon
        .form("/register?lang=en", &[("kind", "enterprise")])
        .unwrap();
    assert_eq!(a.status, 422);
    for f in ["login", "company_name", "credit_code", "legal_person"] {
        assert!(a.body.contains(&format!("id=\"f-{f}-err\"")), "{f}");
    }
}

#[test]
fn organisations_are_isolated() {
    let w = world();
    // The other customer's resource: 404, not 403, not the page.
    let theirs = w.other.get("/console/resources").unwrap();
    let i = theirs.body.find("data-instance=\"").unwrap() + "data-instance=\"".len();
    let id: String = theirs.body[i..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let a = w
        .cust
        .get(&format!("/console/resources/{id}/unsubscribe"))
        .unwrap();
    assert_eq!(a.status, 404);
    let a = w
        .cust
        .form(
            &format!("/console/resources/{id}/unsubscribe"),
            &[("idem", "x1")],
        )
        .unwrap();
    assert_eq!(a.status, 404);
    // Another organisation's 360 view: 404 for a customer (it holds org:read, own only).
    let a = w
        .cust
        .get(&format!("/ops/customers/{}", w.demo.customers[1].0))
        .unwrap();
    assert_eq!(a.status, 404);
    // Own statements only.
    let mine = w.cust.get("/console/statements").unwrap();
    assert!(
        !mine.body.contains(&format!("#{id}<")),
        "no foreign instance in statements"
    );
    // Nothing of the other customer in the user list.
    let users = w.cust.get("/console/users").unwrap();
    assert!(!users.body.contains(&w.demo.customers[1].1));
    let _ = json!({});
}

fn base32(s: &str) -> Vec<u8> {
    let mut bits = 0u64;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.trim_end_matches('=').chars() {
        let v = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
            .find(c.to_ascii_uppercase())
            .unwrap() as u64;
        bits = (bits << 5) | v;
        n += 5;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

fn between<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let i = body.find(start).unwrap() + start.len();
    let j = body[i..].find(end).unwrap();
    &body[i..i + j]
}

#[test]
fn two_step_verification_enrolment_and_login() {
    let w = world();
    let page = w.cust.get("/console/security").unwrap();
    assert!(page.body.contains("未开启"));
    let started = w
        .cust
        .form("/console/security", &[("step", "start")])
        .unwrap();
    assert_eq!(started.status, 200, "{}", started.body);
    let secret = between(&started.body, "id=\"mfa-secret\">", "<").to_owned();
    let totp = suanli_platform_http::crypto::totp(base32(&secret));
    let code = |ms: i64| totp.generate(u64::try_from(ms / 1000).unwrap());
    // A wrong code: the message sits next to the code field.
    let bad = w
        .cust
        .form(
            "/console/security",
            &[
                ("step", "confirm"),
                ("secret", &secret),
                ("uri", "u"),
                ("code", "000000"),
            ],
        )
        .unwrap();
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("id=\"f-code-err\""));
    let ok = w
        .cust
        .form(
            "/console/security",
            &[
                ("step", "confirm"),
                ("secret", &secret),
                ("uri", "u"),
                ("code", &code(T0_MS)),
            ],
        )
        .unwrap();
    assert!(ok.body.contains("id=\"recovery-codes\""), "{}", ok.body);
    assert!(ok.body.contains("已开启"));
    // Logging in now asks for the code, on the same page.
    let login = &w.demo.customers[0].1;
    let anon = Client::new(&w.h.base);
    let a = anon
        .form(
            "/login",
            &[("login", login), ("password", &demo_password(login))],
        )
        .unwrap();
    assert_eq!(a.status, 401);
    assert!(a.body.contains("id=\"f-totp_code\""), "{}", a.body);
    w.clock.advance_ms(60_000);
    let a = anon
        .form(
            "/login",
            &[
                ("login", login),
                ("password", &demo_password(login)),
                ("totp_code", &code(T0_MS + 60_000)),
            ],
        )
        .unwrap();
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(a.location.as_deref(), Some("/console"));
}

#[test]
fn operators_change_a_specs_pricing() {
    let w = world();
    let path = format!("/ops/products/{}", w.demo.product);
    let spec = w.demo.spec.to_string();
    let bad = w
        .admin
        .form(
            &path,
            &[("what", "pricing"), ("spec", &spec), ("p_monthly", "lots")],
        )
        .unwrap();
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("id=\"f-p_monthly-err\""));
    let none = w
        .admin
        .form(&path, &[("what", "pricing"), ("spec", &spec)])
        .unwrap();
    assert_eq!(none.status, 422, "a price is required");
    let ok = w
        .admin
        .form(
            &path,
            &[
                ("what", "pricing"),
                ("spec", &spec),
                ("p_monthly", "25,000"),
            ],
        )
        .unwrap();
    assert_eq!(ok.status, 303, "{}", ok.body);
    let page = Client::new(&w.h.base)
        .get(&format!("/products/{}?lang=en", w.demo.product))
        .unwrap();
    assert!(page.body.contains("¥25,000.00"), "{}", page.body);
    // Customers cannot.
    let denied = w
        .cust
        .form(
            &path,
            &[("what", "pricing"), ("spec", &spec), ("p_monthly", "1")],
        )
        .unwrap();
    assert_eq!(denied.status, 403);
}

#[test]
fn cart_buys_everything_once() {
    let w = world();
    let spec = w.demo.spec.to_string();
    let mut c = Client::new(&w.h.base);
    c.cookie = w.cust.cookie.clone();
    c.csrf = w.cust.csrf.clone();
    let session = c.cookie.clone().unwrap();
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
    let page = c.get("/console/cart?lang=en").unwrap();
    assert!(
        page.body.contains("¥150,000.00"),
        "5 months of ¥30,000: {}",
        page.body
    );
    let idem = between(&page.body, "name=\"idem\" value=\"", "\"").to_owned();
    let orders_before = w
        .cust
        .get("/console/orders")
        .unwrap()
        .body
        .matches("<tr>")
        .count();
    let a = c
        .form("/console/cart", &[("action", "checkout"), ("idem", &idem)])
        .unwrap();
    assert_eq!(a.status, 303, "{}", a.body);
    assert!(
        a.set_cookies.iter().any(|v| v == "suanli_cart="),
        "cart emptied"
    );
    // The same checkout again (e.g. a double submit with the old cart): nothing bought twice.
    let again = c
        .form("/console/cart", &[("action", "checkout"), ("idem", &idem)])
        .unwrap();
    assert_eq!(again.status, 303);
    let orders_after = w
        .cust
        .get("/console/orders")
        .unwrap()
        .body
        .matches("<tr>")
        .count();
    assert_eq!(orders_after, orders_before + 2);
}

#[test]
fn vouchers_and_credit_lines_with_four_eyes() {
    let w = world();
    let org = w.demo.customers[0].0;
    let path = format!("/ops/customers/{org}");
    let bad = w
        .admin
        .form(&path, &[("what", "voucher"), ("voucher", "-1")])
        .unwrap();
    assert_eq!(bad.status, 422);
    let a = w
        .admin
        .form(
            &path,
            &[("what", "voucher"), ("voucher", "100"), ("idem", "v-1")],
        )
        .unwrap();
    assert_eq!(a.status, 303, "{}", a.body);
    assert!(a.location.unwrap().contains("fin.granted"));
    let acct = w.cust.get("/console/account").unwrap();
    assert!(
        acct.body.contains("id=\"bal-voucher\">¥100.00<"),
        "{}",
        acct.body
    );
    // Beyond one person's limit: waits for a second finance user.
    let a = w
        .admin
        .form(&path, &[("what", "credit"), ("credit", "20000")])
        .unwrap();
    assert!(a.location.unwrap().contains("fin.grant_pending"));
    let fin = w.admin.get("/ops/finance").unwrap();
    assert!(fin.body.contains("id=\"grants\""));
    assert!(
        !fin.body.contains("value=\"approve_grant\""),
        "not by the one who asked"
    );
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
    let page = fin2.get("/ops/finance").unwrap();
    let id = between(
        &page.body,
        "name=\"what\" value=\"approve_grant\"><input type=\"hidden\" name=\"id\" value=\"",
        "\"",
    )
    .to_owned();
    let a = fin2
        .form("/ops/finance", &[("what", "approve_grant"), ("id", &id)])
        .unwrap();
    assert_eq!(a.status, 303, "{}", a.body);
    let acct = w.cust.get("/console/account").unwrap();
    assert!(
        acct.body.contains("id=\"bal-credit\">¥20,000.00<"),
        "{}",
        acct.body
    );
}

#[test]
fn the_account_centre_shows_the_did_key_and_exports_it_with_the_password() {
    let w = world();
    // Accounts the operator created have no key yet, and the page says why.
    let none = w.cust.get("/console/account?lang=en").unwrap();
    assert!(none.body.contains("id=\"key-none\""), "{}", none.body);
    // A self-registered user gets its key at registration.
    let anon = Client::new(&w.h.base);
    let password = "Zhao-Liu-Password-7";
    let reg = anon
        .form(
            "/register",
            &[
                ("kind", "personal"),
                ("login", "zhaoliu"),
                ("password", password),
                ("password2", password),
                ("name", "Zhao Liu"),
                ("id_number", "11010519491231002X"),
                ("phone", "13800138000"),
            ],
        )
        .unwrap();
    assert!(reg.status < 400, "{}", reg.body);
    let list = w.admin.get("/ops/registrations").unwrap();
    let id = between(&list.body, "data-registration=\"", "\"").to_owned();
    let approved = w
        .admin
        .form(&format!("/ops/registrations/{id}/approve"), &[])
        .unwrap();
    assert!(approved.status < 400, "{}", approved.body);
    let mut user = Client::new(&w.h.base);
    user.login("zhaoliu", password).unwrap();
    let page = user.get("/console/account?lang=en").unwrap();
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"key-did\""), "{}", page.body);
    assert!(page.body.contains("signed with your own DID key"));
    let zh = user.get("/console/account?lang=zh").unwrap();
    assert!(zh.body.contains("由您自己的 DID 密钥签名"));
    // A wrong password is refused next to the field; nothing is exported.
    let wrong = user
        .form(
            "/console/key-export?lang=en",
            &[("key_password", "not-the-password")],
        )
        .unwrap();
    assert_eq!(wrong.status, 422);
    assert!(
        wrong.body.contains("id=\"f-key_password-err\""),
        "{}",
        wrong.body
    );
    assert!(!wrong.body.contains("PRIVATE KEY"));
    // The right password gives the PEM as a download, of the key the page shows.
    let pem = user
        .form("/console/key-export", &[("key_password", password)])
        .unwrap();
    assert_eq!(pem.status, 200, "{}", pem.body);
    assert!(
        pem.body.starts_with("-----BEGIN PRIVATE KEY-----"),
        "{}",
        pem.body
    );
    let key = suanli_primitives::SecretKey::from_pem(&pem.body).unwrap();
    assert!(page.body.contains(&key.public().to_hex()));
}

#[test]
fn cross_site_posts_are_refused_and_signed_in_pages_are_not_cached() {
    let w = world();
    let agent = ureq::Agent::new_with_config(
        ureq::config::Config::builder()
            .http_status_as_error(false)
            .build(),
    );
    let login = format!("{}/login", w.h.base);
    let host = w.h.base.trim_start_matches("http://").to_owned();
    // A foreign page auto-submitting the login form (login CSRF).
    let foreign = agent
        .post(&login)
        .header("origin", "http://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .send("login=admin&password=x")
        .unwrap();
    assert_eq!(foreign.status().as_u16(), 403);
    let cross = agent
        .post(&login)
        .header("sec-fetch-site", "cross-site")
        .header("content-type", "application/x-www-form-urlencoded")
        .send("login=admin&password=x")
        .unwrap();
    assert_eq!(cross.status().as_u16(), 403);
    // The same form from this site is handled (a wrong password is a form answer).
    let same = agent
        .post(&login)
        .header("origin", &format!("http://{host}"))
        .header("sec-fetch-site", "same-origin")
        .header("content-type", "application/x-www-form-urlencoded")
        .send("login=admin&password=x")
        .unwrap();
    assert_ne!(same.status().as_u16(), 403);
    // Signed-in pages (tokens, TOTP secrets, balances) are never cached.
    let signed_in = w.cust.get("/console/tokens").unwrap();
    assert_eq!(signed_in.status, 200);
    assert_eq!(signed_in.cache_control.as_deref(), Some("no-store"));
    let public = Client::new(&w.h.base).get("/").unwrap();
    assert_ne!(public.cache_control.as_deref(), Some("no-store"));
}
