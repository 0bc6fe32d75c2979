#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Browser tests: headless Chromium driven over WebDriver (chromedriver) through the
//! consoles as people use them. They need the Debian packages `chromium` and
//! `chromium-driver` (`scripts/ensure-chromium.sh`, run by `scripts/test.sh`); without
//! them they FAIL with that instruction — they never pass silently.

use std::sync::Arc;
use suanli_platform_domain::clock::ManualClock;
use suanli_platform_domain::money::DAY_MS;
use suanli_webtest::bench::seed;
use suanli_webtest::harness::{HARNESS_ADMIN_PASSWORD, Harness, config};
use suanli_webtest::shots::login;
use suanli_webtest::webdriver::{Driver, MISSING, Session, available};

/// 2026-11-22 12:00 CST.
const T0_MS: i64 = 1_795_320_000_000;

fn driver() -> Driver {
    assert!(available(), "{MISSING}");
    Driver::start().expect(MISSING)
}

fn session(d: &Driver) -> Session {
    d.session(1280, 900).expect("browser session")
}

/// Parses `¥1,234.56` / `-¥1.00` into fen.
fn fen(text: &str) -> i64 {
    let t = text.trim();
    let neg = t.starts_with('-') || t.starts_with('−');
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    let v: i64 = digits
        .parse()
        .unwrap_or_else(|_| panic!("not money: {text:?}"));
    if neg { -v } else { v }
}

#[test]
fn register_approve_recharge_order_unsubscribe_statements() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0_MS.unsigned_abs()));
    let h = Harness::start(config(dir.path()), clock.clone()).unwrap();
    let demo = seed(&h.base, 0, 0).unwrap();
    let d = driver();
    let base = &h.base;

    // Register (personal, real name) in the portal.
    let cust = session(&d);
    cust.goto(&format!("{base}/register")).unwrap();
    cust.fill("#f-login", "wangwu").unwrap();
    cust.fill("#f-password", "Wang-Wu-Password-9").unwrap();
    cust.fill("#f-password2", "Wang-Wu-Password-9").unwrap();
    cust.fill("#f-name", "王五").unwrap();
    cust.fill("#f-id_number", "11010519491231002X").unwrap();
    cust.fill("#f-phone", "13800138000").unwrap();
    cust.click("main form button[type=submit]").unwrap();
    let done = cust.text("main h1").unwrap();
    assert_eq!(done, "注册已提交");
    // Before approval the login page says the review is pending.
    cust.goto(&format!("{base}/login")).unwrap();
    cust.fill("#f-login", "wangwu").unwrap();
    cust.fill("#f-password", "Wang-Wu-Password-9").unwrap();
    cust.click("main form button[type=submit]").unwrap();
    assert!(cust.text("#f-password-err").unwrap().contains("审核中"));

    // The operator approves it in the operations console.
    let op = session(&d);
    login(&op, base, "admin", HARNESS_ADMIN_PASSWORD).unwrap();
    op.goto(&format!("{base}/ops/registrations")).unwrap();
    op.click("tr[data-registration] button.approve").unwrap();
    assert!(op.text("p.notice").unwrap().contains("已通过"));

    // The customer logs in and recharges (sandbox).
    login(&cust, base, "wangwu", "Wang-Wu-Password-9").unwrap();
    cust.goto(&format!("{base}/console/account")).unwrap();
    // A wrong amount: message next to the field, keyboard focus on it.
    cust.fill("#f-amount", "12.345").unwrap();
    cust.click("main form button[type=submit]").unwrap();
    assert!(cust.text("#f-amount-err").unwrap().contains("元"));
    assert_eq!(cust.focused_id().unwrap(), "f-amount");
    cust.fill("#f-amount", "100000").unwrap();
    cust.click("main form button[type=submit]").unwrap();
    assert!(cust.text("p.notice").unwrap().contains("¥100,000.00"));
    assert_eq!(fen(&cust.text("#bal-cash").unwrap()), 10_000_000);

    // Order 3 months of the demo spec: price breakdown first, then confirm.
    cust.goto(&format!("{base}/products/{}", demo.product))
        .unwrap();
    cust.click(&format!(
        "a.button[href='/console/order?spec={}']",
        demo.spec
    ))
    .unwrap();
    cust.fill("#f-months", "3").unwrap();
    cust.click("main form button[type=submit]").unwrap();
    let total = fen(&cust.text("#order-total").unwrap());
    assert_eq!(total, 3 * 3_000_000, "3 months at ¥30,000");
    cust.click("#confirm-order").unwrap();
    assert!(cust.text("p.notice").unwrap().contains("下单成功"));

    // See the resource, running.
    let status = cust.text("#resources td.status").unwrap();
    assert_eq!(status, "运行中");

    // Two hours later (the first day counts as used): unsubscribe, with the refund shown
    // before confirming.
    clock.advance_ms(DAY_MS / 12);
    cust.click("#resources a.button.secondary").unwrap();
    let refund = fen(&cust
        .text("#refund")
        .unwrap_or_else(|e| panic!("{e}: {}", cust.source().unwrap())));
    assert!(refund > 0 && refund < total, "prorated refund {refund}");
    cust.click("#confirm-unsubscribe").unwrap();
    let notice = cust.text("p.notice").unwrap();
    assert!(notice.contains("已退订"), "{notice}");
    assert_eq!(
        fen(notice.rsplit('退').next().unwrap()),
        refund,
        "refund as shown"
    );
    assert_eq!(cust.text("#resources td.status").unwrap(), "已释放");

    // Statements match: recharge, the charge and the refund, each with its balance.
    cust.goto(&format!("{base}/console/statements")).unwrap();
    let amount = |kind: &str| -> i64 {
        let els = cust
            .find_all(&format!("#statements tr[data-type={kind}] td.amount"))
            .unwrap();
        els.iter()
            .map(|e| fen(&cust.element_text(e).unwrap()))
            .sum()
    };
    assert_eq!(amount("recharge"), 10_000_000);
    assert_eq!(amount("consumption"), -total);
    assert_eq!(amount("refund"), refund);
    cust.goto(&format!("{base}/console/account")).unwrap();
    assert_eq!(
        fen(&cust.text("#bal-cash").unwrap()),
        10_000_000 - total + refund
    );
    // Same flow in English: money and dates formatted for the locale.
    cust.goto(&format!("{base}/console/statements?lang=en"))
        .unwrap();
    assert_eq!(cust.text("main h1").unwrap(), "Statements");
}

#[test]
fn operator_creates_and_publishes_a_product() {
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start(
        config(dir.path()),
        Arc::new(ManualClock::new(T0_MS.unsigned_abs())),
    )
    .unwrap();
    seed(&h.base, 0, 0).unwrap();
    let d = driver();
    let base = &h.base;
    let op = session(&d);
    login(&op, base, "admin", HARNESS_ADMIN_PASSWORD).unwrap();
    op.goto(&format!("{base}/ops/catalogue?lang=en")).unwrap();
    // A category.
    op.fill("#f-cat_name", "Supercomputing").unwrap();
    op.click("input[name=what][value=category] ~ .actions button")
        .unwrap();
    assert!(op.text("p.notice").unwrap().contains("Created"));
    // A product in it, supplied by the demo supplier; empty region first: the message
    // sits next to the field.
    op.fill("#f-name", "Tianhe HPC partition").unwrap();
    op.click("#f-category option:last-child").unwrap();
    op.click("input[name=what][value=product] ~ .actions button")
        .unwrap();
    assert!(op.text("#f-region-err").unwrap().contains("required"));
    op.fill("#f-region", "cn-north-tianjin").unwrap();
    op.click("#f-category option:last-child").unwrap();
    op.click("input[name=what][value=product] ~ .actions button")
        .unwrap();
    assert!(op.text("p.notice").unwrap().contains("Created product"));
    // A spec with a monthly price, then publish.
    op.fill("#f-family", "cpu-hpc").unwrap();
    op.fill("#f-name", "128c-512GB").unwrap();
    op.fill("#f-monthly", "8800").unwrap();
    op.click("input[name=what][value=spec] ~ .actions button")
        .unwrap();
    assert!(op.text("#specs").unwrap().contains("128c-512GB"));
    assert_eq!(op.text("#pub-state").unwrap(), "Unpublished");
    op.click("#publish").unwrap();
    assert_eq!(op.text("#pub-state").unwrap(), "Published");
    // Customers see it in the catalogue, priced in yuan.
    let anon = session(&d);
    anon.goto(&format!("{base}/?lang=en&gpu=cpu-hpc")).unwrap();
    let cards = anon.text("ul.cards").unwrap();
    assert!(cards.contains("Tianhe HPC partition"), "{cards}");
    assert!(cards.contains("¥8,800.00"), "{cards}");
}

#[test]
fn a_permission_denial_is_a_page() {
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start(
        config(dir.path()),
        Arc::new(ManualClock::new(T0_MS.unsigned_abs())),
    )
    .unwrap();
    let demo = seed(&h.base, 1, 1).unwrap();
    let d = driver();
    let s = session(&d);
    let who = &demo.customers[0].1;
    login(&s, &h.base, who, &suanli_webtest::bench::demo_password(who)).unwrap();
    for (path, title) in [
        ("/ops/catalogue", "无权访问"),
        ("/system/security?lang=en", "Access denied"),
    ] {
        s.goto(&format!("{}{path}", h.base)).unwrap();
        assert_eq!(s.text("main h1").unwrap(), title);
        let src = s.source().unwrap();
        assert!(src.contains("403"));
        assert!(!src.contains("\"error\""), "no error dump");
        // The page keeps the navigation: the user can go on.
        assert!(s.find("header.top nav a[href='/']").is_ok());
    }
}
