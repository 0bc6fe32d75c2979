#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Supplier onboarding pages over HTTP (issue 16), on a platform with an embedded ledger:
//! the supplier's registration form (bad credential JSON and a credential about another
//! company marked next to the field), the operator's review page with every check of the
//! qualification credential verified through the identity chain, approval, the supplier
//! list and the supplier's overview with its DID enrolled on the trade chain — each page
//! in both languages; a revoked credential is shown failing and cannot be approved.

use std::sync::Arc;
use suanli_platform_domain::clock::ManualClock;
use suanli_webtest::harness::{Client, HARNESS_ADMIN_PASSWORD, Harness, config};
use suanli_webtest::onboarding::Certifier;

/// 2026-11-22 12:00 CST (the platform's clock; the ledger runs on the system clock).
const T0_MS: i64 = 1_795_320_000_000;
const CODE: &str = "91350100M000100Y43";
const OTHER_CODE: &str = "91110000802100433B";
const PASSWORD: &str = "Gpu-Park-Password-9";

fn now_ms() -> u64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    u64::try_from(d.as_millis()).unwrap()
}

fn is_han(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c)
}

/// The page in both languages: 200, no untranslated key, Chinese only in zh (outside the
/// credential's own text, which the issuer wrote).
fn both_languages(c: &Client, path: &str) -> String {
    let mut en = String::new();
    for lang in ["zh", "en"] {
        let sep = if path.contains('?') { '&' } else { '?' };
        let a = c.get(&format!("{path}{sep}lang={lang}")).unwrap();
        assert_eq!(a.status, 200, "{path} {lang}: {}", a.body);
        assert!(!a.body.contains('⟦'), "{path} {lang}: untranslated key");
        let visible: String = {
            let body = a
                .body
                .replace(suanli_webtest::onboarding::QUALIFICATION_TITLE, "");
            let mut out = String::new();
            let mut in_tag = false;
            let mut in_pre = false;
            for (i, ch) in body.char_indices() {
                if body[i..].starts_with("<pre") {
                    in_pre = true;
                }
                if body[i..].starts_with("</pre") {
                    in_pre = false;
                }
                match ch {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    ch if !in_tag && !in_pre => out.push(ch),
                    _ => {}
                }
            }
            out.replace("中文", "")
        };
        if lang == "en" {
            let han: String = visible.chars().filter(|c| is_han(*c)).take(20).collect();
            assert!(han.is_empty(), "{path} en shows Chinese text: {han}");
            en = a.body;
        } else {
            assert!(visible.chars().any(is_han), "{path} zh shows no Chinese");
        }
    }
    en
}

fn form<'a>(login: &'a str, code: &'a str, qualification: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("kind", "supplier"),
        ("login", login),
        ("password", PASSWORD),
        ("password2", PASSWORD),
        ("supplier_type", "supplier_resource"),
        ("s_display_name", "Li Si"),
        ("s_company_name", "GPU Park"),
        ("s_credit_code", code),
        ("s_licence_ref", "LIC-1"),
        ("s_legal_person", "Zhang San"),
        ("s_phone", "13800138000"),
        ("qualification", qualification),
    ]
}

fn pending_supplier_registrations(admin: &Client) -> Vec<i64> {
    let a = admin.get("/api/v1/registrations?status=pending").unwrap();
    a.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "supplier")
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}

#[test]
fn supplier_onboarding_pages_in_both_languages() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0_MS.unsigned_abs()));
    let h = Harness::start_with_ledger(config(dir.path()), clock).unwrap();
    let ledger = h.ledger.as_ref().unwrap().client.clone();
    let certifier = Certifier::open(ledger.as_ref(), dir.path()).unwrap();
    let cpt = certifier.register_cpt(ledger.as_ref()).unwrap();
    let vc = certifier.issue(cpt, CODE, 0, now_ms()).unwrap().to_string();
    let anon = Client::new(&h.base);
    both_languages(&anon, "/register");

    // Bad input: not JSON, and a credential about another company — next to the field,
    // nothing registered.
    for (q, want) in [
        ("{not json", "not valid JSON"),
        (
            &certifier
                .issue(cpt, OTHER_CODE, 1, now_ms())
                .unwrap()
                .to_string()[..],
            "not about your company",
        ),
    ] {
        let a = anon
            .form("/register?lang=en", &form("gpupark", CODE, q))
            .unwrap();
        assert_eq!(a.status, 422, "{}", a.body);
        let field = a.body.find("id=\"f-qualification\"").unwrap();
        let msg = a.body.find("id=\"f-qualification-err\"").unwrap();
        assert!(msg > field, "message after the field");
        assert!(a.body.contains(want), "{}", a.body);
    }
    let mut admin = Client::new(&h.base);
    admin.login("admin", HARNESS_ADMIN_PASSWORD).unwrap();
    assert!(pending_supplier_registrations(&admin).is_empty());

    // The supplier registers; the operator sees every check passed.
    let a = anon.form("/register", &form("gpupark", CODE, &vc)).unwrap();
    assert_eq!(a.status, 200, "{}", a.body);
    let id = pending_supplier_registrations(&admin)[0];
    let review = format!("/ops/suppliers/registrations/{id}");
    let page = both_languages(&admin, &review);
    assert_eq!(page.matches("data-outcome=\"passed\"").count(), 7, "{page}");
    assert!(page.contains("data-verified=\"true\""));
    both_languages(&admin, "/ops/registrations");

    // A second supplier whose credential is revoked before review: shown failing, and
    // approval is refused with a clear message.
    let revoked = certifier
        .issue(cpt, OTHER_CODE, 2, now_ms())
        .unwrap()
        .to_string();
    let a = anon
        .form("/register", &form("other", OTHER_CODE, &revoked))
        .unwrap();
    assert_eq!(a.status, 200, "{}", a.body);
    certifier.revoke(ledger.as_ref(), 2).unwrap();
    let other = *pending_supplier_registrations(&admin).last().unwrap();
    let page = admin
        .get(&format!("/ops/suppliers/registrations/{other}?lang=en"))
        .unwrap();
    assert!(
        page.body
            .contains("data-check=\"status\" data-outcome=\"failed\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("revoked"));
    let refused = admin
        .form(&format!("/ops/registrations/{other}/approve?lang=en"), &[])
        .unwrap();
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(refused.body.contains("does not verify"), "{}", refused.body);

    // Approval enrols the supplier DID; the list and the supplier's overview show it.
    let ok = admin
        .form(&format!("/ops/registrations/{id}/approve"), &[])
        .unwrap();
    assert_eq!(ok.status, 303, "{}", ok.body);
    let list = both_languages(&admin, "/ops/suppliers");
    assert!(list.contains("did:suanli:"), "{list}");
    assert!(list.contains("data-enrolled=\"true\""), "{list}");
    let mut supplier = Client::new(&h.base);
    supplier.login("gpupark", PASSWORD).unwrap();
    let overview = both_languages(&supplier, "/supplier");
    assert!(overview.contains("data-on-chain=\"true\""), "{overview}");
    let did = supplier.get("/api/v1/me/key").unwrap().json()["key"]["did"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(overview.contains(&did), "{overview}");
    assert!(overview.contains("Resource supplier") || overview.contains("resource"));
    // A supplier the operator created: its qualification recorded from the list's form.
    let made = admin
        .api_post(
            "/api/v1/orgs",
            &serde_json::json!({"kind": "supplier_api", "name": "API Co",
                "admin": {"login": "apico", "display_name": "Wu", "password": "Api-Co-Password-1"}}),
            None,
        )
        .unwrap();
    assert_eq!(made.status, 201, "{}", made.body);
    let made = made.json()["org"]["id"].as_i64().unwrap();
    let third = "91440300708461136T";
    let q = certifier
        .issue(cpt, third, 3, now_ms())
        .unwrap()
        .to_string();
    let bad = admin
        .form(
            &format!("/ops/suppliers/{made}/qualification?lang=en"),
            &[
                ("credit_code", third),
                ("legal_person", "Wu"),
                ("phone", "13900139000"),
                ("qualification", "{"),
            ],
        )
        .unwrap();
    assert_eq!(bad.status, 422, "{}", bad.body);
    let ok = admin
        .form(
            &format!("/ops/suppliers/{made}/qualification"),
            &[
                ("credit_code", third),
                ("legal_person", "Wu"),
                ("phone", "13900139000"),
                ("qualification", &q),
            ],
        )
        .unwrap();
    assert_eq!(ok.status, 303, "{}", ok.body);
    let list = both_languages(&admin, "/ops/suppliers");
    let row = &list[list.find(&format!("data-org=\"{made}\"")).unwrap()..];
    assert!(
        row[..row.find("</tr>").unwrap()].contains("qual.verified"),
        "{row}"
    );
    // The supplier cannot reach the operator's supplier pages.
    assert_eq!(supplier.get("/ops/suppliers").unwrap().status, 403);
    assert_eq!(supplier.get(&review).unwrap().status, 403);
}
