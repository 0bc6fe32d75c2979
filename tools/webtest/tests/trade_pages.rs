#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The pages of bills, the statement of trades, the supplier's platform trades and the
//! operator's view of the exchange (issue 18, billing, `docs/exchange.md` §6–8) over
//! HTTP: each in both languages with an embedded ledger attached, and who may see them —
//! the operator's view never a customer's or a supplier's, a supplier's page never a
//! customer's; a bad period answered next to its field.

use std::sync::Arc;
use suanli_platform_domain::clock::ManualClock;
use suanli_webtest::bench::{demo_password, seed};
use suanli_webtest::harness::{Client, HARNESS_ADMIN_PASSWORD, Harness, config};
use suanli_webtest::text::{is_han, visible};

/// 2026-11-22 12:00 CST.
const T0_MS: i64 = 1_795_320_000_000;

#[test]
fn bill_statement_supplier_and_operator_pages() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0_MS.unsigned_abs()));
    let h = Harness::start_with_ledger(config(dir.path()), clock).unwrap();
    let demo = seed(&h.base, 2, 2).unwrap();
    let mut admin = Client::new(&h.base);
    admin.login("admin", HARNESS_ADMIN_PASSWORD).unwrap();
    let mut cust = Client::new(&h.base);
    let c0 = &demo.customers[0].1;
    cust.login(c0, &demo_password(c0)).unwrap();
    let mut sup = Client::new(&h.base);
    sup.login("greensupply", &demo_password("greensupply"))
        .unwrap();
    let pages: Vec<(&Client, &str)> = vec![
        (&cust, "/console/trades/statement"),
        (&cust, "/console/trades/statement?period=2026-11"),
        (&admin, "/ops/trades"),
        (&sup, "/supplier/exchange"),
        (&sup, "/supplier/exchange?period=2026-11"),
    ];
    for (c, path) in pages {
        for lang in ["zh", "en"] {
            let sep = if path.contains('?') { '&' } else { '?' };
            let a = c.get(&format!("{path}{sep}lang={lang}")).unwrap();
            assert_eq!(a.status, 200, "{path} {lang}: {}", a.body);
            assert!(!a.body.contains('⟦'), "{path} {lang}: untranslated key");
            let text = visible(&a.body).replace("中文", "");
            if lang == "en" {
                let han: String = text.chars().filter(|c| is_han(*c)).take(20).collect();
                assert!(han.is_empty(), "{path} en shows Chinese text: {han}");
            } else {
                assert!(text.chars().any(is_han), "{path} zh shows no Chinese");
            }
        }
    }
    // The operator's view with the chain attached: the reconciliation is shown.
    let o = admin.get("/ops/trades?lang=en").unwrap();
    assert!(o.body.contains("id=\"reconciliation\""), "{}", o.body);
    // The supplier's page shows the current month's earnings without `period`.
    let e = sup.get("/supplier/exchange?lang=en").unwrap();
    assert!(e.body.contains("id=\"earnings\""), "{}", e.body);
    // Who may see what.
    for (c, path) in [
        (&cust, "/ops/trades"),
        (&sup, "/ops/trades"),
        (&cust, "/supplier/exchange"),
        (&sup, "/console/trades/statement"),
    ] {
        let a = c.get(&format!("{path}?lang=en")).unwrap();
        assert_eq!(a.status, 403, "{path}: {}", a.body);
    }
    // A bad period: the form says so, in both languages.
    let a = cust
        .get("/console/trades/statement?period=2026-13&lang=en")
        .unwrap();
    assert_eq!(a.status, 422);
    assert!(
        a.body.contains("The period is a month, YYYY-MM"),
        "{}",
        a.body
    );
    let a = cust
        .get("/console/trades/statement?period=nope&lang=zh")
        .unwrap();
    assert!(a.body.contains("月份格式为 YYYY-MM"), "{}", a.body);
    // Another organisation's trade bill is not found.
    let a = cust
        .get(&format!("/console/trades/{}/bill?lang=en", "ab".repeat(16)))
        .unwrap();
    assert_eq!(a.status, 404);
}
