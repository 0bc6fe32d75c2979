//! Supplier onboarding through the API (issue 16, `docs/supply.md` §1): a supplier
//! registers with its qualification credential (bad input refused with its code, nothing
//! written), the reviewer sees the credential verified, approval is refused while it does
//! not verify and otherwise enrols the administrator's DID as the supplier DID with a
//! `kyc-supplier` credential, a retried enrolment changes nothing, and suppliers see only
//! their own overview. The chains are test doubles of the ports; the real verification is
//! tested in `suanli-bridge` (`onboarding.rs`) against an embedded node.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use suanli_platform_http::PortError;
use suanli_platform_http::keys::DidRegistry;
use suanli_platform_http::kyc::PartyEnrolment;
use suanli_platform_http::onboarding::{OnboardingLedger, QualificationCheck, QualificationReport};
use suanli_platform_http::payment::SignedTx;
use suanli_primitives::{PublicKey, SecretKey};

fn refused(message: &str) -> PortError {
    PortError::Refused {
        code: "test",
        message: message.to_owned(),
    }
}

/// The chains' double: DIDs exist once "sent"; enrolments are recorded per DID; a
/// qualification credential "verifies" as its `proof.test` says.
#[derive(Debug, Default)]
struct Chains {
    created: Mutex<Vec<String>>,
    enrolled: Mutex<Vec<(String, String, Value)>>,
    /// The whole ledger is unreachable.
    down: AtomicBool,
    /// Only enrolment fails (the trade chain is down).
    enrol_down: AtomicBool,
}

impl DidRegistry for Chains {
    fn did_of(&self, key: &PublicKey) -> String {
        format!("did:suanli:test:{}", &key.to_hex()[..32])
    }
    fn sign_create(&self, key: &SecretKey) -> Result<SignedTx, PortError> {
        Ok(SignedTx {
            reference: key.public().to_hex(),
            encoded_hex: "00".into(),
        })
    }
    fn send(&self, tx: &SignedTx) -> Result<(), PortError> {
        let mut c = self.created.lock().unwrap();
        if !c.contains(&tx.reference) {
            c.push(tx.reference.clone());
        }
        Ok(())
    }
}

impl PartyEnrolment for Chains {
    fn enrol_consumer(&self, did: &str, public: &str, claims: &Value) -> Result<Value, PortError> {
        self.enrol(did, public, claims, "consumer")
    }
    fn enrol_supplier(&self, did: &str, public: &str, claims: &Value) -> Result<Value, PortError> {
        self.enrol(did, public, claims, "supplier")
    }
}

impl Chains {
    fn enrol(
        &self,
        did: &str,
        public: &str,
        claims: &Value,
        role: &str,
    ) -> Result<Value, PortError> {
        if self.down.load(Ordering::SeqCst) || self.enrol_down.load(Ordering::SeqCst) {
            return Err(refused("ledger unreachable"));
        }
        if !self.created.lock().unwrap().iter().any(|k| k == public) {
            return Err(refused("not on the identity chain"));
        }
        let mut subject = claims.clone();
        subject["id"] = json!(did);
        let vc = json!({"id": format!("urn:test:kyc-{role}:{did}"), "credentialSubject": subject});
        self.enrolled
            .lock()
            .unwrap()
            .push((did.to_owned(), role.to_owned(), vc.clone()));
        Ok(vc)
    }

    fn enrolments(&self) -> usize {
        self.enrolled.lock().unwrap().len()
    }
}

impl OnboardingLedger for Chains {
    fn verify_qualification(&self, credential: &Value) -> Result<QualificationReport, PortError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(refused("identity chain unreachable"));
        }
        let mut checks = vec![
            QualificationCheck::passed("proof"),
            QualificationCheck::passed("issuer_key"),
            QualificationCheck::passed("cpt"),
            QualificationCheck::passed("schema"),
            QualificationCheck::passed("validity_period"),
            QualificationCheck::passed("status"),
        ];
        let fail = |checks: &mut Vec<QualificationCheck>, i: usize, code: &str| {
            checks[i] = QualificationCheck::failed(&checks[i].check.clone(), code, "test");
        };
        match credential["proof"]["test"].as_str() {
            Some("unknown_issuer") => fail(&mut checks, 1, "did_not_found"),
            Some("wrong_cpt") => fail(&mut checks, 2, "cpt_not_qualification"),
            Some("revoked") => fail(&mut checks, 5, "revoked"),
            _ => {}
        }
        Ok(QualificationReport {
            checks,
            cpt_title: Some("IDC licence".into()),
            valid_until_ms: Some(T0_MS.unsigned_abs() + 1),
            verified_at_ms: T0_MS.unsigned_abs(),
        })
    }
    fn trade_roles(&self, did: &str) -> Result<Vec<String>, PortError> {
        Ok(self
            .enrolled
            .lock()
            .unwrap()
            .iter()
            .filter(|(d, _, _)| d == did)
            .map(|(_, r, _)| r.clone())
            .collect())
    }
}

fn start(chains: &Arc<Chains>) -> TestServer {
    let c = Arc::clone(chains);
    TestServer::start_platform(
        |_| {},
        Box::new(move |p| {
            p.with_did_registry(c.clone())
                .with_enrolment(c.clone())
                .with_onboarding(c)
        }),
    )
}

/// A fourth valid credit code (GB 32100-2015 check character).
const OTHER_CODE: &str = "91350100M000100Y56";

fn credential(code: &str, test: &str) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "DataCentreLicence"],
        "issuer": "did:suanli:test:certifier",
        "validUntil": "2030-01-01T00:00:00Z",
        "credentialSchema": {"id": "urn:suanli:test:cpt:1000:1", "type": "JsonSchema"},
        "credentialSubject": {"unifiedSocialCreditCode": code, "licence": "B1-2026-001"},
        "proof": {"type": "DataIntegrityProof", "test": test}
    })
}

fn draft(login: &str, code: &str, qualification: Value) -> Value {
    json!({"login": login, "password": pw(login), "display_name": "Li Si",
           "supplier_type": "supplier_resource", "company_name": "GPU Park",
           "credit_code": code, "licence_ref": "LIC-9", "legal_person": "Zhang San",
           "phone": "13800138000", "qualification": qualification})
}

fn apply(srv: &TestServer, login: &str, code: &str, test: &str) -> (i64, i64) {
    let (s, v) = srv.post(
        "/api/v1/registrations/supplier",
        &Cred::None,
        draft(login, code, credential(code, test)),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["registration"]["kind"], "supplier");
    (
        v["registration"]["id"].as_i64().unwrap(),
        v["registration"]["org"].as_i64().unwrap(),
    )
}

#[test]
fn bad_applications_are_refused_with_their_code_and_leave_nothing() {
    let chains = Arc::new(Chains::default());
    let srv = start(&chains);
    let code = CODES[0];
    let cases = [
        (
            draft("sup", code, json!("not an object")),
            "qualification_malformed",
        ),
        (
            draft("sup", code, {
                let mut c = credential(code, "ok");
                c.as_object_mut().unwrap().remove("proof");
                c
            }),
            "qualification_malformed",
        ),
        (
            draft("sup", code, credential(CODES[1], "ok")),
            "qualification_subject_mismatch",
        ),
        (
            draft("sup", code, {
                let mut c = credential(code, "ok");
                c["credentialSubject"]["padding"] = json!("x".repeat(17 * 1024));
                c
            }),
            "qualification_too_large",
        ),
        (
            {
                let mut d = draft("sup", code, credential(code, "ok"));
                d["supplier_type"] = json!("enterprise");
                d
            },
            "invalid_field",
        ),
    ];
    for (body, want) in cases {
        let got = srv.post("/api/v1/registrations/supplier", &Cred::None, body);
        assert_eq!(got.1["error"]["code"], want, "{}", got.1);
        assert_eq!(got.0, 422, "{}", got.1);
    }
    // Nothing was written: the login is still free and no registration exists.
    let admin = srv.admin();
    let (_, v) = srv.get("/api/v1/registrations?limit=200", &admin);
    assert_eq!(v["items"].as_array().unwrap().len(), 0, "{v}");
    apply(&srv, "sup", code, "ok");
}

#[test]
fn approval_needs_a_verified_qualification_and_enrols_the_supplier_did_once() {
    let chains = Arc::new(Chains::default());
    let srv = start(&chains);
    let admin = srv.admin();
    let (reg, org) = apply(&srv, "gpu", CODES[0], "ok");

    // The review shows every check, the subject's included.
    let (s, v) = srv.get(
        &format!("/api/v1/ops/suppliers/registrations/{reg}"),
        &admin,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["org"]["kind"], "supplier_resource");
    let checks: Vec<&str> = v["verification"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(
        checks,
        [
            "proof",
            "issuer_key",
            "cpt",
            "schema",
            "validity_period",
            "status",
            "subject"
        ]
    );
    assert!(
        v["verification"]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["outcome"] == "passed")
    );

    // Each unverifiable credential: approval refused, nothing decided.
    for (login, code, test) in [
        ("rev", CODES[1], "revoked"),
        ("cpt", CODES[2], "wrong_cpt"),
        ("iss", OTHER_CODE, "unknown_issuer"),
    ] {
        let (bad, bad_org) = apply(&srv, login, code, test);
        let got = srv.post(
            &format!("/api/v1/registrations/{bad}/approve"),
            &admin,
            json!({}),
        );
        assert_err(got.clone(), 409, "qualification_not_verified");
        assert!(
            got.1["error"]["message"]
                .as_str()
                .unwrap()
                .contains(match test {
                    "revoked" => "status revoked",
                    "wrong_cpt" => "cpt cpt_not_qualification",
                    _ => "issuer_key did_not_found",
                })
        );
        let (_, r) = srv.get(&format!("/api/v1/registrations/{bad}"), &admin);
        assert_eq!(r["registration"]["status"], "pending");
        let (_, o) = srv.get(&format!("/api/v1/orgs/{bad_org}"), &admin);
        assert_eq!(
            o["org"]["status"].as_str().or(o["status"].as_str()),
            Some("pending"),
            "{o}"
        );
    }
    // A chain that cannot be asked refuses approval too.
    chains.down.store(true, Ordering::SeqCst);
    assert_err(
        srv.post(
            &format!("/api/v1/registrations/{reg}/approve"),
            &admin,
            json!({}),
        ),
        409,
        "qualification_unavailable",
    );
    chains.down.store(false, Ordering::SeqCst);

    let (s, v) = srv.post(
        &format!("/api/v1/registrations/{reg}/approve"),
        &admin,
        json!({}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["kyc"]["status"], "enrolled", "{v}");
    let did = v["kyc"]["did"].as_str().unwrap().to_owned();
    assert_eq!(chains.enrolments(), 1);
    let (did_enrolled, role, vc) = chains.enrolled.lock().unwrap()[0].clone();
    assert_eq!(
        (did_enrolled.as_str(), role.as_str()),
        (did.as_str(), "supplier")
    );
    let claims = &vc["credentialSubject"];
    assert_eq!(claims["unifiedSocialCreditCode"], CODES[0]);
    assert_eq!(claims["organisationName"], "GPU Park");
    assert_eq!(
        claims["contact"],
        json!({"name": "Li Si", "phone": "13800138000"})
    );
    assert_eq!(claims["qualifications"][0]["name"], "IDC licence");
    assert_eq!(
        claims["qualifications"][0]["issuedBy"],
        "did:suanli:test:certifier"
    );

    // The supplier admin's DID is the supplier DID; the overview reads its enrolment.
    let sup = srv.login("gpu", &pw("gpu"));
    let (_, key) = srv.get("/api/v1/me/key", &sup);
    assert_eq!(key["key"]["did"], did.as_str());
    let (s, o) = srv.get("/api/v1/supplier", &sup);
    assert_eq!(s, 200, "{o}");
    assert_eq!(o["org"]["id"], org);
    assert_eq!(o["supplier"]["did"], did.as_str());
    assert_eq!(o["trade_roles"], json!(["supplier"]));
    assert_eq!(o["qualification"]["cpt_title"], "IDC licence");

    // Enrolling again (a retry) changes nothing and asks the chain nothing.
    let (s, e) = srv.post(
        &format!("/api/v1/ops/suppliers/{org}/enrol"),
        &admin,
        json!({}),
    );
    assert_eq!(s, 200, "{e}");
    assert_eq!(e["supplier"]["did"], did.as_str());
    let (s, _) = srv.post(
        &format!("/api/v1/registrations/{reg}/enrol"),
        &admin,
        json!({}),
    );
    assert_eq!(s, 200);
    assert_eq!(chains.enrolments(), 1);

    // The operator's list shows it with its DID and verified qualification.
    let (_, list) = srv.get("/api/v1/ops/suppliers", &admin);
    let row = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["org"]["id"] == org)
        .unwrap()
        .clone();
    assert_eq!(row["supplier"]["did"], did.as_str());
    assert!(row["supplier"]["qualification_verified_ms"].is_i64());
}

#[test]
fn a_failed_enrolment_is_retried_safely_and_suppliers_see_only_their_own() {
    let chains = Arc::new(Chains::default());
    let srv = start(&chains);
    let admin = srv.admin();
    let (reg, org) = apply(&srv, "one", CODES[0], "ok");
    // The trade chain is down at approval: approved, enrolment failed, nothing recorded.
    chains.enrol_down.store(true, Ordering::SeqCst);
    let (s, v) = srv.post(
        &format!("/api/v1/registrations/{reg}/approve"),
        &admin,
        json!({}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["kyc"]["status"], "failed", "{v}");
    assert_eq!(v["kyc"]["code"], "enrolment_failed");
    let one = srv.login("one", &pw("one"));
    let (_, o) = srv.get("/api/v1/supplier", &one);
    assert_eq!(o["supplier"]["did"], Value::Null, "{o}");
    assert_err(
        srv.post(
            &format!("/api/v1/ops/suppliers/{org}/enrol"),
            &admin,
            json!({}),
        ),
        409,
        "enrolment_failed",
    );
    // Retried once it is back: enrolled once, and again changes nothing.
    chains.enrol_down.store(false, Ordering::SeqCst);
    let (s, e) = srv.post(
        &format!("/api/v1/ops/suppliers/{org}/enrol"),
        &admin,
        json!({}),
    );
    assert_eq!(s, 200, "{e}");
    assert!(e["supplier"]["did"].is_string());
    let (s, _) = srv.post(
        &format!("/api/v1/ops/suppliers/{org}/enrol"),
        &admin,
        json!({}),
    );
    assert_eq!(s, 200);
    assert_eq!(chains.enrolments(), 1);
    let (_, r2) = apply(&srv, "two", CODES[1], "ok");
    let two_org = r2;
    let r2 = {
        let (_, v) = srv.get("/api/v1/registrations?status=pending", &admin);
        v["items"][0]["id"].as_i64().unwrap()
    };
    let (s, v) = srv.post(
        &format!("/api/v1/registrations/{r2}/approve"),
        &admin,
        json!({}),
    );
    assert_eq!((s, &v["kyc"]["status"]), (200, &json!("enrolled")), "{v}");

    // Suppliers see their own overview only; customers and suppliers cannot reach the
    // operator's supplier operations.
    let two = srv.login("two", &pw("two"));
    let (_, o1) = srv.get("/api/v1/supplier", &one);
    let (_, o2) = srv.get("/api/v1/supplier", &two);
    assert_eq!(
        (o1["org"]["id"].clone(), o2["org"]["id"].clone()),
        (json!(org), json!(two_org))
    );
    assert_ne!(o1["supplier"]["did"], o2["supplier"]["did"]);
    for cred in [&one, &two] {
        assert_err(srv.get("/api/v1/ops/suppliers", cred), 403, "forbidden");
        assert_err(
            srv.post(
                &format!("/api/v1/ops/suppliers/{org}/enrol"),
                cred,
                json!({}),
            ),
            403,
            "forbidden",
        );
        assert_err(
            srv.get(&format!("/api/v1/ops/suppliers/registrations/{reg}"), cred),
            403,
            "forbidden",
        );
    }
    let (_, _, customer) = srv.enterprise(&admin, "buyer", CODES[2], None);
    assert_err(srv.get("/api/v1/supplier", &customer), 403, "forbidden");

    // An operator-created supplier: not enrolled before the operator records its verified
    // qualification, nor before its administrator has a DID (first own password change).
    let (made, _, apico) = srv.org(&admin, "supplier_api", "API Co", "apico");
    assert_err(
        srv.post(
            &format!("/api/v1/ops/suppliers/{made}/enrol"),
            &admin,
            json!({}),
        ),
        409,
        "supplier_not_qualified",
    );
    let qualify = |test: &str| {
        json!({"credit_code": CODES[2], "legal_person": "Wu", "phone": "13900139000",
               "qualification": credential(CODES[2], test)})
    };
    let path = format!("/api/v1/ops/suppliers/{made}/qualification");
    assert_err(
        srv.post(&path, &admin, qualify("revoked")),
        409,
        "qualification_not_verified",
    );
    assert_err(srv.post(&path, &apico, qualify("ok")), 403, "forbidden");
    assert_err(
        srv.post(
            &format!("/api/v1/ops/suppliers/{org}/qualification"),
            &admin,
            qualify("ok"),
        ),
        409,
        "supplier_registered",
    );
    let (s, v) = srv.post(&path, &admin, qualify("ok"));
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["kyc"]["code"], "supplier_no_did", "{v}");
    assert_eq!(v["supplier"]["credit_code"], CODES[2]);
    let (s, v) = srv.post(
        "/api/v1/me/password",
        &apico,
        json!({"current_password": pw("apico"), "new_password": "Api-Co-Own-Password-1"}),
    );
    assert_eq!(s, 204, "{v}");
    let apico = srv.login("apico", "Api-Co-Own-Password-1");
    let (s, e) = srv.post(
        &format!("/api/v1/ops/suppliers/{made}/enrol"),
        &admin,
        json!({}),
    );
    assert_eq!(s, 200, "{e}");
    let (_, key) = srv.get("/api/v1/me/key", &apico);
    assert_eq!(e["supplier"]["did"], key["key"]["did"]);
    let (_, o) = srv.get("/api/v1/supplier", &apico);
    assert_eq!(o["trade_roles"], json!(["supplier"]), "{o}");
    assert_err(
        srv.post(&path, &admin, qualify("ok")),
        409,
        "already_enrolled",
    );
    // A customer is no supplier at all.
    let (_, me) = srv.get("/api/v1/me", &customer);
    let customer_org = me["org"]["id"].as_i64().unwrap();
    assert_err(
        srv.post(
            &format!("/api/v1/ops/suppliers/{customer_org}/enrol"),
            &admin,
            json!({}),
        ),
        404,
        "not_found",
    );
}

#[test]
fn a_credit_code_and_a_credential_serve_one_supplier() {
    let chains = Arc::new(Chains::default());
    let srv = start(&chains);
    let admin = srv.admin();
    let (first, _) = apply(&srv, "first", CODES[0], "ok");
    // Another application with the same credit code (another credential): refused.
    let mut other = credential(CODES[0], "ok");
    other["credentialSubject"]["licence"] = json!("B1-2026-002");
    assert_err(
        srv.post(
            "/api/v1/registrations/supplier",
            &Cred::None,
            draft("second", CODES[0], other.clone()),
        ),
        409,
        "credit_code_in_use",
    );
    // The same credential again: refused by one of the two claims.
    let (s, v) = srv.post(
        "/api/v1/registrations/supplier",
        &Cred::None,
        draft("third", CODES[0], credential(CODES[0], "ok")),
    );
    assert_eq!(s, 409, "{v}");
    assert!(
        ["credit_code_in_use", "qualification_in_use"]
            .contains(&v["error"]["code"].as_str().unwrap_or_default()),
        "{v}"
    );
    // Nor can the operator record that credit code for a supplier it created.
    let (made, _, _) = srv.org(&admin, "supplier_api", "API Co", "apico");
    assert_err(
        srv.post(
            &format!("/api/v1/ops/suppliers/{made}/qualification"),
            &admin,
            json!({"credit_code": CODES[0], "legal_person": "Wu", "phone": "13900139000",
                   "qualification": other.clone()}),
        ),
        409,
        "credit_code_in_use",
    );
    // A rejected application releases its claims; the review shows the earlier one.
    let (s, v) = srv.post(
        &format!("/api/v1/registrations/{first}/reject"),
        &admin,
        json!({"reason": "not the company"}),
    );
    assert_eq!(s, 200, "{v}");
    let (again, _) = apply(&srv, "again", CODES[0], "ok");
    let (s, v) = srv.get(
        &format!("/api/v1/ops/suppliers/registrations/{again}"),
        &admin,
    );
    assert_eq!(s, 200, "{v}");
    let same: Vec<i64> = v["same_credit_code"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(same, vec![first]);
}
