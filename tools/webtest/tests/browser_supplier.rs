#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Browser test of supplier onboarding (issue 16) in headless Chromium, on a platform with
//! an embedded ledger: a supplier registers on /register with its qualification credential
//! (issued by the identity chain's authority on a qualification CPT), the operator opens
//! its review, sees every check of the credential verified and approves, and the supplier
//! administrator logs in and sees /supplier with its DID enrolled on the trade chain.
//! Needs `chromium` and `chromium-driver` (as `tests/browser.rs`); without them it FAILS.

use std::sync::Arc;
use suanli_platform_domain::clock::ManualClock;
use suanli_webtest::harness::{HARNESS_ADMIN_PASSWORD, Harness, config};
use suanli_webtest::onboarding::Certifier;
use suanli_webtest::shots::login;
use suanli_webtest::webdriver::{Driver, MISSING, available};

/// 2026-11-22 12:00 CST (the platform's clock; the ledger runs on the system clock).
const T0_MS: i64 = 1_795_320_000_000;
const CODE: &str = "91440300708461136T";
const PASSWORD: &str = "Green-Compute-Pw-9";

#[test]
fn a_supplier_registers_is_verified_approved_and_sees_its_did_enrolled() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0_MS.unsigned_abs()));
    let h = Harness::start_with_ledger(config(dir.path()), clock).unwrap();
    let ledger = h.ledger.as_ref().unwrap().client.clone();
    let certifier = Certifier::open(ledger.as_ref(), dir.path()).unwrap();
    let cpt = certifier.register_cpt(ledger.as_ref()).unwrap();
    let now = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let vc = certifier.issue(cpt, CODE, 0, now).unwrap().to_string();
    assert!(available(), "{MISSING}");
    let d = Driver::start().expect(MISSING);
    let base = &h.base;

    // The supplier registers in the portal, pasting its qualification credential.
    let sup = d.session(1280, 900).expect("browser session");
    sup.goto(&format!("{base}/register?lang=en")).unwrap();
    sup.click("#f-kind option[value=supplier]").unwrap();
    sup.fill("#f-login", "greencompute").unwrap();
    sup.fill("#f-password", PASSWORD).unwrap();
    sup.fill("#f-password2", PASSWORD).unwrap();
    sup.click("#f-supplier_type option[value=supplier_resource]")
        .unwrap();
    sup.fill("#f-s_display_name", "Chen Jing").unwrap();
    sup.fill("#f-s_company_name", "Shenzhen Green Compute")
        .unwrap();
    sup.fill("#f-s_credit_code", CODE).unwrap();
    sup.fill("#f-s_licence_ref", "SZ-2026-77").unwrap();
    sup.fill("#f-s_legal_person", "Wu Min").unwrap();
    sup.fill("#f-s_phone", "13900139000").unwrap();
    sup.fill("#f-qualification", &vc).unwrap();
    sup.click("main form button[type=submit]").unwrap();
    let done = sup.text("main h1").unwrap();
    assert!(
        done == "Registration submitted" || done == "注册已提交",
        "{done}"
    );

    // The operator reviews it: every check passed, then approves.
    let op = d.session(1280, 900).expect("browser session");
    login(&op, base, "admin", HARNESS_ADMIN_PASSWORD).unwrap();
    op.goto(&format!("{base}/ops/registrations?lang=en"))
        .unwrap();
    op.click("tr[data-registration] a.button").unwrap();
    assert_eq!(op.text("#qualification-state").unwrap(), "Verified");
    let checks = op.find_all("#qualification-checks tr[data-check]").unwrap();
    assert_eq!(checks.len(), 7);
    let passed = op
        .find_all("#qualification-checks tr[data-outcome=passed]")
        .unwrap();
    assert_eq!(passed.len(), 7);
    op.click("button.approve").unwrap();
    let notice = op.text("p.notice").unwrap();
    assert!(
        notice.contains("pproved") || notice.contains("已通过"),
        "{notice}"
    );

    // The supplier administrator logs in and sees its DID enrolled on the trade chain.
    login(&sup, base, "greencompute", PASSWORD).unwrap();
    sup.goto(&format!("{base}/supplier?lang=en")).unwrap();
    let did = sup.text("#supplier-did").unwrap();
    assert!(did.starts_with("did:suanli:"), "{did}");
    assert!(
        sup.text("#supplier-enrolment")
            .unwrap()
            .starts_with("Enrolled on the trade chain as supplier")
    );
    assert_eq!(sup.text("#supplier-type").unwrap(), "Resource supplier");
    assert!(
        sup.text("#qualification-state")
            .unwrap()
            .starts_with("Verified")
    );
}
