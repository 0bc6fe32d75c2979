#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Supplier-money pages (issue 16) over HTTP: every page in both languages without
//! untranslated keys, the operator records an agreement (bad input answered next to the
//! field, nothing written), the supplier accepts it, a payout above the payable is
//! refused next to its field, and customers cannot reach supplier pages.

use std::sync::Arc;
use suanli_platform_domain::clock::ManualClock;
use suanli_webtest::bench::{demo_password, seed};
use suanli_webtest::harness::{Client, HARNESS_ADMIN_PASSWORD, Harness, config};

/// 2026-11-22 12:00 CST.
const T0_MS: i64 = 1_795_320_000_000;

#[test]
fn supplier_money_pages_in_both_languages_and_their_forms() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0_MS.unsigned_abs()));
    let h = Harness::start(config(dir.path()), clock).unwrap();
    let demo = seed(&h.base, 1, 0).unwrap();
    let mut admin = Client::new(&h.base);
    admin.login("admin", HARNESS_ADMIN_PASSWORD).unwrap();
    let mut sup = Client::new(&h.base);
    sup.login("greensupply", &demo_password("greensupply"))
        .unwrap();
    let mut cust = Client::new(&h.base);
    let c0 = &demo.customers[0].1;
    cust.login(c0, &demo_password(c0)).unwrap();
    let money = format!("/ops/suppliers/{}/money", demo.supplier_org);

    // The operator records an agreement: a bad commission is answered next to the field.
    let bad = admin
        .form(
            &money,
            &[
                ("what", "agreement"),
                ("body", "Terms"),
                ("sales_mode", "rebate"),
                ("commission", "120"),
                ("period_kind", "monthly"),
            ],
        )
        .unwrap();
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body.contains("f-commission-err"), "{}", bad.body);
    let none = sup.get("/supplier/agreement?lang=en").unwrap();
    assert!(
        none.body.contains("No supply agreement yet"),
        "{}",
        none.body
    );
    let ok = admin
        .form(
            &money,
            &[
                ("what", "agreement"),
                ("body", "Supply agreement v1"),
                ("sales_mode", "rebate"),
                ("commission", "10"),
                ("period_kind", "monthly"),
            ],
        )
        .unwrap();
    assert_eq!(ok.status, 303, "{}", ok.body);
    // The supplier sees it (10.00%) and accepts it.
    let page = sup.get("/supplier/agreement?lang=en").unwrap();
    assert!(
        page.body.contains("10.00%") && page.body.contains("Awaiting acceptance"),
        "{}",
        page.body
    );
    let id = page
        .body
        .split("name=\"id\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let accepted = sup.form("/supplier/agreement", &[("id", &id)]).unwrap();
    assert_eq!(accepted.status, 303);
    assert!(
        sup.get("/supplier/agreement?lang=en")
            .unwrap()
            .body
            .contains("Accepted")
    );
    // A payout above the payable (nothing settled yet) is refused next to the field.
    let refused = sup
        .form("/supplier/revenue", &[("amount", "1.00")])
        .unwrap();
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("f-amount-err"), "{}", refused.body);
    // A statement needs a valid, ended period: a bad label is answered next to it.
    let bad_period = admin
        .form(&money, &[("what", "statement"), ("period", "2026-Q4")])
        .unwrap();
    assert_eq!(bad_period.status, 422, "{}", bad_period.body);
    assert!(bad_period.body.contains("f-period-err"));

    // Every page in both languages.
    let pages: Vec<(&Client, &str)> = vec![
        (&sup, "/supplier/trades"),
        (&sup, "/supplier/revenue"),
        (&sup, "/supplier/agreement"),
        (&admin, &money),
        (&admin, "/ops/supplier-payouts"),
    ];
    for (c, path) in pages {
        for lang in ["zh", "en"] {
            let a = c.get(&format!("{path}?lang={lang}")).unwrap();
            assert_eq!(a.status, 200, "{path} {lang}: {}", a.body);
            assert!(!a.body.contains('⟦'), "{path} {lang}: untranslated key");
        }
    }
    // Customers reach no supplier page; suppliers no operator page.
    assert_eq!(cust.get("/supplier/revenue").unwrap().status, 403);
    assert_eq!(cust.get("/supplier/trades").unwrap().status, 403);
    assert_eq!(sup.get(&money).unwrap().status, 403);
    assert_eq!(sup.get("/ops/supplier-payouts").unwrap().status, 403);
    // An operator page about a customer (not a supplier) is not found.
    let not_supplier = format!("/ops/suppliers/{}/money", demo.customers[0].0);
    assert_eq!(admin.get(&not_supplier).unwrap().status, 404);
}
