#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The verifier: one test per failure code, tampering of every top-level field, and the
//! report's shape.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};
use suanli_primitives::{PublicKey, SecretKey};
use suanli_vc::{
    ChainedResolver, CheckName, CheckOutcome, CredentialDraft, DidKey, DidKeyResolver, KeyResolver,
    LookupError, ProofOptions, ProofPurpose, SchemaRef, SchemaResolver, StatusPurpose, StatusRef,
    StatusResolver, Verifier, add_proof, issue, present,
};

const T0: u64 = 1_704_067_200_000; // 2024-01-01T00:00:00Z
const DAY: u64 = 86_400_000;

/// A stand-in for the chain: keys with validity windows, deactivated DIDs.
#[derive(Default)]
struct FakeChain {
    /// vm → (key, valid from, valid until (exclusive))
    keys: HashMap<String, (PublicKey, u64, u64)>,
    deactivated: HashMap<String, u64>,
}

impl KeyResolver for FakeChain {
    fn key_at(&self, vm: &str, at_ms: u64, _: ProofPurpose) -> Result<PublicKey, LookupError> {
        if !vm.starts_with("did:suanli:") {
            return Err(LookupError::MethodNotSupported(vm.into()));
        }
        let did = vm.split('#').next().unwrap();
        if self.deactivated.get(did).is_some_and(|t| *t <= at_ms) {
            return Err(LookupError::Deactivated(did.into()));
        }
        let (key, from, until) = self
            .keys
            .get(vm)
            .ok_or_else(|| LookupError::NotFound(vm.into()))?;
        if at_ms < *from || at_ms >= *until {
            return Err(LookupError::KeyNotValidAt {
                verification_method: vm.into(),
                at_ms,
            });
        }
        Ok(*key)
    }
}

#[derive(Default)]
struct Schemas(HashMap<String, Value>);

impl SchemaResolver for Schemas {
    fn schema(&self, id: &str) -> Result<Value, LookupError> {
        self.0
            .get(id)
            .cloned()
            .ok_or_else(|| LookupError::NotFound(id.into()))
    }
}

#[derive(Default)]
struct Status(HashSet<(String, u64)>);

impl StatusResolver for Status {
    fn is_set(
        &self,
        list: &str,
        _p: StatusPurpose,
        index: u64,
        _issuer: &str,
    ) -> Result<bool, LookupError> {
        if list.contains("offline") {
            return Err(LookupError::Unavailable("node unreachable".into()));
        }
        Ok(self.0.contains(&(list.to_string(), index)))
    }
}

struct World {
    chain: FakeChain,
    schemas: Schemas,
    status: Status,
    issuer_key: SecretKey,
    holder_key: SecretKey,
}

const ISSUER: &str = "did:suanli:identity:issuer";
const ISSUER_VM: &str = "did:suanli:identity:issuer#key-1";
const LIST: &str = "https://suanli.example/status/1";

impl World {
    fn new() -> World {
        let issuer_key = SecretKey::from_label("issuer");
        let holder_key = SecretKey::from_label("holder");
        let mut chain = FakeChain::default();
        chain
            .keys
            .insert(ISSUER_VM.into(), (issuer_key.public(), 0, u64::MAX));
        let mut schemas = Schemas::default();
        schemas.0.insert(
            "cpt:1".into(),
            json!({
                "title": "t", "description": "d",
                "type": "object",
                "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
                "required": ["name"],
                "additionalProperties": false
            }),
        );
        World {
            chain,
            schemas,
            status: Status::default(),
            issuer_key,
            holder_key,
        }
    }

    fn holder(&self) -> DidKey {
        DidKey::from_public_key(&self.holder_key.public())
    }

    fn verifier<'a>(&'a self, keys: &'a dyn KeyResolver) -> Verifier<'a> {
        Verifier {
            keys,
            schemas: &self.schemas,
            status: &self.status,
        }
    }

    fn draft(&self) -> CredentialDraft {
        let mut subject = Map::new();
        subject.insert("id".into(), self.holder().did().into());
        subject.insert("name".into(), "Ada".into());
        subject.insert("age".into(), 36.into());
        CredentialDraft {
            id: Some("urn:uuid:7f2a".into()),
            types: vec!["KycCredential".into()],
            issuer: ISSUER.into(),
            subject,
            valid_from: T0,
            valid_until: Some(T0 + 365 * DAY),
            schema: Some(SchemaRef { id: "cpt:1".into() }),
            status: Some(StatusRef {
                list_credential: LIST.into(),
                index: 42,
                purpose: StatusPurpose::Revocation,
            }),
        }
    }

    fn vc(&self) -> Value {
        issue(&self.draft(), ISSUER_VM, T0, &self.issuer_key).unwrap()
    }
}

/// Verifies with the fake chain and did:key behind a ChainedResolver.
fn check(w: &World, vc: &Value, now: u64) -> suanli_vc::VerificationReport {
    let chained = ChainedResolver(vec![&w.chain, &DidKeyResolver]);
    w.verifier(&chained).verify_credential(vc, now)
}

fn failed(report: &suanli_vc::VerificationReport, name: CheckName) -> Option<&'static str> {
    match report.outcome(name) {
        Some(CheckOutcome::Failed { code, .. }) => Some(code),
        _ => None,
    }
}

#[test]
fn a_good_credential_passes_every_check() {
    let w = World::new();
    let r = check(&w, &w.vc(), T0 + DAY);
    assert!(r.ok(), "{r:?}");
    let names: Vec<&str> = r.checks.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["proof", "issuer_key", "schema", "validity_period", "status"]
    );
    assert!(r.checks.iter().all(|(_, o)| *o == CheckOutcome::Passed));
    assert_eq!(r.first_failure(), None);
}

#[test]
fn optional_checks_are_skipped() {
    let w = World::new();
    let mut d = w.draft();
    d.schema = None;
    d.status = None;
    let vc = issue(&d, ISSUER_VM, T0, &w.issuer_key).unwrap();
    let r = check(&w, &vc, T0);
    assert!(r.ok());
    assert!(matches!(
        r.outcome(CheckName::Schema),
        Some(CheckOutcome::Skipped(_))
    ));
    assert!(matches!(
        r.outcome(CheckName::Status),
        Some(CheckOutcome::Skipped(_))
    ));
}

#[test]
fn proof_missing_and_malformed() {
    let w = World::new();
    let mut vc = w.vc();
    vc.as_object_mut().unwrap().remove("proof");
    let r = check(&w, &vc, T0);
    assert_eq!(r.first_failure().unwrap().1, "proof_missing");
    assert!(matches!(
        r.outcome(CheckName::IssuerKey),
        Some(CheckOutcome::Skipped(_))
    ));
    // Lookups and schema validation are only spent on documents the issuer signed.
    assert!(matches!(
        r.outcome(CheckName::Schema),
        Some(CheckOutcome::Skipped(_))
    ));
    assert!(matches!(
        r.outcome(CheckName::Status),
        Some(CheckOutcome::Skipped(_))
    ));
    // The validity period needs no lookup and is still reported.
    assert_eq!(
        r.outcome(CheckName::ValidityPeriod),
        Some(&CheckOutcome::Passed)
    );

    for (field, value) in [
        ("type", json!("Ed25519Signature2020")),
        ("cryptosuite", json!("eddsa-rdfc-2022")),
        ("proofValue", json!("not multibase")),
        ("proofValue", json!(7)),
        ("created", json!("yesterday")),
        ("proofPurpose", json!("capabilityInvocation")),
    ] {
        let mut vc = w.vc();
        vc["proof"][field] = value;
        let r = check(&w, &vc, T0);
        assert_eq!(
            failed(&r, CheckName::Proof),
            Some("proof_malformed"),
            "{field}"
        );
    }
}

#[test]
fn tampering_any_top_level_field_breaks_the_signature() {
    let w = World::new();
    let vc = w.vc();
    let fields: Vec<String> = vc
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| *k != "proof")
        .cloned()
        .collect();
    assert_eq!(fields.len(), 9, "{fields:?}");
    for field in &fields {
        for replacement in [json!("tampered"), json!(null)] {
            let mut t = vc.clone();
            t[field.as_str()] = replacement;
            let r = check(&w, &t, T0 + DAY);
            assert_eq!(
                failed(&r, CheckName::Proof),
                Some("proof_signature_invalid"),
                "{field}: {r:?}"
            );
            assert_eq!(r.first_failure().unwrap().0, CheckName::Proof);
        }
        let mut t = vc.clone();
        t.as_object_mut().unwrap().remove(field.as_str());
        let r = check(&w, &t, T0 + DAY);
        assert_eq!(
            failed(&r, CheckName::Proof),
            Some("proof_signature_invalid"),
            "-{field}"
        );
    }
    // An added field, and a nested change.
    let mut t = vc.clone();
    t["extra"] = json!(1);
    assert_eq!(
        failed(&check(&w, &t, T0), CheckName::Proof),
        Some("proof_signature_invalid")
    );
    let mut t = vc.clone();
    t["credentialSubject"]["age"] = json!(37);
    assert_eq!(
        failed(&check(&w, &t, T0), CheckName::Proof),
        Some("proof_signature_invalid")
    );
    // Proof fields other than proofValue are signed too.
    let mut t = vc.clone();
    t["proof"]["created"] = json!("2024-01-01T00:00:01Z");
    assert_eq!(
        failed(&check(&w, &t, T0), CheckName::Proof),
        Some("proof_signature_invalid")
    );
}

#[test]
fn proof_purpose_mismatch() {
    let w = World::new();
    let opts = ProofOptions {
        verification_method: ISSUER_VM.into(),
        proof_purpose: ProofPurpose::Authentication,
        created: Some("2024-01-01T00:00:00Z".into()),
        challenge: None,
        domain: None,
    };
    let vc = add_proof(&w.draft().to_unsecured(), &opts, &w.issuer_key).unwrap();
    let r = check(&w, &vc, T0);
    assert_eq!(r.first_failure().unwrap().1, "proof_purpose_mismatch");
}

#[test]
fn issuer_mismatch_wrong_issuer() {
    // An attacker signs with its own did:key but names the real issuer.
    let w = World::new();
    let attacker = SecretKey::from_label("attacker");
    let dk = DidKey::from_public_key(&attacker.public());
    let opts = ProofOptions {
        verification_method: dk.verification_method_id(),
        proof_purpose: ProofPurpose::AssertionMethod,
        created: Some("2024-01-01T00:00:00Z".into()),
        challenge: None,
        domain: None,
    };
    let vc = add_proof(&w.draft().to_unsecured(), &opts, &attacker).unwrap();
    let r = check(&w, &vc, T0);
    assert_eq!(r.outcome(CheckName::Proof), Some(&CheckOutcome::Passed));
    let (name, code, _) = r.first_failure().unwrap();
    assert_eq!((name, code), (CheckName::IssuerKey, "issuer_mismatch"));
}

fn signed_by_vm(w: &World, vm: &str, key: &SecretKey, issuer: &str) -> Value {
    let mut d = w.draft();
    d.issuer = issuer.into();
    let opts = ProofOptions {
        verification_method: vm.into(),
        proof_purpose: ProofPurpose::AssertionMethod,
        created: Some("2024-01-01T00:00:00Z".into()),
        challenge: None,
        domain: None,
    };
    add_proof(&d.to_unsecured(), &opts, key).unwrap()
}

fn key_failure(w: &World, vc: &Value) -> &'static str {
    let r = check(w, vc, T0);
    assert_eq!(
        r.outcome(CheckName::Proof),
        Some(&CheckOutcome::Skipped("issuer key unavailable".into())),
        "{r:?}"
    );
    let (name, code, _) = r.first_failure().unwrap();
    assert_eq!(name, CheckName::IssuerKey);
    code
}

#[test]
fn did_invalid_malformed_did() {
    let w = World::new();
    let vc = signed_by_vm(
        &w,
        "did:Suanli:identity:issuer#key-1",
        &w.issuer_key,
        ISSUER,
    );
    assert_eq!(key_failure(&w, &vc), "did_invalid");
    let vc = signed_by_vm(&w, "did:key:z6Mknot-a-key#x", &w.issuer_key, ISSUER);
    assert_eq!(key_failure(&w, &vc), "did_invalid");
    let vc = signed_by_vm(&w, "did:suanli:identity:issuer", &w.issuer_key, ISSUER);
    assert_eq!(key_failure(&w, &vc), "did_invalid");
}

#[test]
fn did_not_found_unknown_did() {
    let w = World::new();
    let vm = "did:suanli:identity:nobody#key-1";
    let vc = signed_by_vm(&w, vm, &w.issuer_key, "did:suanli:identity:nobody");
    assert_eq!(key_failure(&w, &vc), "did_not_found");
}

#[test]
fn did_method_not_supported() {
    let w = World::new();
    let vc = signed_by_vm(
        &w,
        "did:web:example.com#k",
        &w.issuer_key,
        "did:web:example.com",
    );
    assert_eq!(key_failure(&w, &vc), "did_method_not_supported");
}

#[test]
fn issuer_deactivated() {
    let mut w = World::new();
    w.chain.deactivated.insert(ISSUER.into(), T0 - DAY);
    assert_eq!(key_failure(&w, &w.vc()), "issuer_deactivated");
    // Deactivated after issuance: the credential still verifies (lookup is at issuance).
    w.chain.deactivated.insert(ISSUER.into(), T0 + DAY);
    assert!(check(&w, &w.vc(), T0 + 2 * DAY).ok());
}

#[test]
fn key_rotated_before_issuance() {
    let mut w = World::new();
    let k = w.issuer_key.public();
    w.chain.keys.insert(ISSUER_VM.into(), (k, 0, T0 - 1));
    assert_eq!(key_failure(&w, &w.vc()), "key_not_valid_at_issuance");
    // Rotated after issuance: still fine.
    w.chain.keys.insert(ISSUER_VM.into(), (k, 0, T0 + 1));
    assert!(check(&w, &w.vc(), T0 + DAY).ok());
}

#[test]
fn key_lookup_falls_back_to_valid_from() {
    let w = World::new();
    let mut vc = w.draft().to_unsecured();
    vc["validFrom"] = json!("2024-01-01T00:00:00Z");
    let opts = ProofOptions {
        verification_method: ISSUER_VM.into(),
        proof_purpose: ProofPurpose::AssertionMethod,
        created: None,
        challenge: None,
        domain: None,
    };
    let vc = add_proof(&vc, &opts, &w.issuer_key).unwrap();
    assert!(check(&w, &vc, T0 + DAY).ok());
}

#[test]
fn schema_not_found_and_claims_violating_the_cpt() {
    let w = World::new();
    let mut d = w.draft();
    d.schema = Some(SchemaRef {
        id: "cpt:404".into(),
    });
    let vc = issue(&d, ISSUER_VM, T0, &w.issuer_key).unwrap();
    let r = check(&w, &vc, T0);
    assert_eq!(r.first_failure().unwrap().1, "schema_not_found");
    assert_eq!(r.outcome(CheckName::Proof), Some(&CheckOutcome::Passed));

    let mut d = w.draft();
    d.subject.insert("age".into(), json!(-3));
    let vc = issue(&d, ISSUER_VM, T0, &w.issuer_key).unwrap();
    let r = check(&w, &vc, T0);
    let (name, code, message) = r.first_failure().unwrap();
    assert_eq!((name, code), (CheckName::Schema, "claims_violate_schema"));
    assert!(message.contains("\"/age\""), "{message}");

    // The subject's id is not a claim: additionalProperties=false does not trip on it.
    let mut d = w.draft();
    d.subject.remove("name");
    let vc = issue(&d, ISSUER_VM, T0, &w.issuer_key).unwrap();
    let r = check(&w, &vc, T0);
    assert_eq!(r.first_failure().unwrap().1, "claims_violate_schema");
}

#[test]
fn not_yet_valid_and_expired() {
    let w = World::new();
    let vc = w.vc();
    assert_eq!(
        check(&w, &vc, T0 - 1).first_failure().unwrap().1,
        "not_yet_valid"
    );
    assert!(check(&w, &vc, T0).ok());
    assert!(check(&w, &vc, T0 + 365 * DAY).ok());
    let r = check(&w, &vc, T0 + 365 * DAY + 1);
    assert_eq!(
        r.first_failure().map(|f| (f.0, f.1)),
        Some((CheckName::ValidityPeriod, "expired"))
    );
}

#[test]
fn revoked_suspended_and_status_unavailable() {
    let mut w = World::new();
    w.status.0.insert((LIST.into(), 42));
    let r = check(&w, &w.vc(), T0);
    assert_eq!(
        r.first_failure().map(|f| (f.0, f.1)),
        Some((CheckName::Status, "revoked"))
    );

    let mut d = w.draft();
    d.status = Some(StatusRef {
        list_credential: LIST.into(),
        index: 42,
        purpose: StatusPurpose::Suspension,
    });
    let vc = issue(&d, ISSUER_VM, T0, &w.issuer_key).unwrap();
    assert_eq!(check(&w, &vc, T0).first_failure().unwrap().1, "suspended");

    let mut d = w.draft();
    d.status = Some(StatusRef {
        list_credential: "https://offline.example/status/1".into(),
        index: 1,
        purpose: StatusPurpose::Revocation,
    });
    let vc = issue(&d, ISSUER_VM, T0, &w.issuer_key).unwrap();
    assert_eq!(
        check(&w, &vc, T0).first_failure().unwrap().1,
        "status_unavailable"
    );
}

#[test]
fn all_checks_run_and_report_in_order() {
    // Revoked and expired and violating the schema: every failure is reported.
    let mut w = World::new();
    w.status.0.insert((LIST.into(), 42));
    let mut d = w.draft();
    d.subject.insert("age".into(), json!("old"));
    let vc = issue(&d, ISSUER_VM, T0, &w.issuer_key).unwrap();
    let r = check(&w, &vc, T0 + 400 * DAY);
    assert_eq!(failed(&r, CheckName::Schema), Some("claims_violate_schema"));
    assert_eq!(failed(&r, CheckName::ValidityPeriod), Some("expired"));
    assert_eq!(failed(&r, CheckName::Status), Some("revoked"));
    assert_eq!(r.first_failure().unwrap().0, CheckName::Schema);
}

#[test]
fn report_serialises_to_json() {
    let mut w = World::new();
    w.status.0.insert((LIST.into(), 42));
    let r = check(&w, &w.vc(), T0);
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["first_failure"]["check"], "status");
    assert_eq!(v["first_failure"]["code"], "revoked");
    assert_eq!(
        v["checks"][0],
        json!({"check": "proof", "outcome": "passed"})
    );
    assert_eq!(v["checks"][4]["outcome"], "failed");
    assert_eq!(v["credentials"], json!([]));
}

#[test]
fn malformed_documents_are_reported_not_panicked_on() {
    let w = World::new();
    for doc in [
        json!(null),
        json!([1]),
        json!("vc"),
        json!({}),
        json!({"proof": {}}),
    ] {
        let r = check(&w, &doc, T0);
        assert!(!r.ok(), "{doc}");
    }
    let mut big = w.vc();
    big["credentialSubject"]["blob"] = json!("x".repeat(70 * 1024));
    assert_eq!(
        check(&w, &big, T0).first_failure().unwrap().1,
        "document_too_large"
    );
}

// ---------------------------------------------------------------- presentations

const CHALLENGE: &str = "c-8f1e";
const DOMAIN: &str = "verifier.example";

fn vp(w: &World, credentials: Vec<Value>, challenge: &str, domain: &str) -> Value {
    let holder = w.holder();
    present(
        holder.did(),
        credentials,
        &holder.verification_method_id(),
        challenge,
        domain,
        T0 + DAY,
        &w.holder_key,
    )
    .unwrap()
}

fn check_vp(w: &World, vp: &Value) -> suanli_vc::VerificationReport {
    let chained = ChainedResolver(vec![&w.chain, &DidKeyResolver]);
    w.verifier(&chained)
        .verify_presentation(vp, CHALLENGE, DOMAIN, T0 + 2 * DAY)
}

#[test]
fn a_good_presentation_passes() {
    let w = World::new();
    let r = check_vp(&w, &vp(&w, vec![w.vc()], CHALLENGE, DOMAIN));
    assert!(r.ok(), "{r:?}");
    let names: Vec<&str> = r.checks.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["proof", "holder_key", "holder_binding"]);
    assert_eq!(r.credentials.len(), 1);
    assert!(r.credentials[0].ok());
}

#[test]
fn wrong_challenge_or_domain() {
    let w = World::new();
    let r = check_vp(&w, &vp(&w, vec![w.vc()], "other", DOMAIN));
    assert_eq!(
        r.first_failure().map(|f| (f.0, f.1)),
        Some((CheckName::HolderBinding, "challenge_mismatch"))
    );
    let r = check_vp(&w, &vp(&w, vec![w.vc()], CHALLENGE, "evil.example"));
    assert_eq!(r.first_failure().unwrap().1, "domain_mismatch");
    // Rewriting the challenge after signing breaks the signature instead.
    let mut t = vp(&w, vec![w.vc()], "other", DOMAIN);
    t["proof"]["challenge"] = CHALLENGE.into();
    assert_eq!(
        check_vp(&w, &t).first_failure().unwrap().1,
        "proof_signature_invalid"
    );
}

#[test]
fn holder_mismatch() {
    let w = World::new();
    // A credential about someone else.
    let mut d = w.draft();
    d.subject
        .insert("id".into(), "did:suanli:identity:someone-else".into());
    let other = issue(&d, ISSUER_VM, T0, &w.issuer_key).unwrap();
    let r = check_vp(&w, &vp(&w, vec![other], CHALLENGE, DOMAIN));
    assert_eq!(
        r.first_failure().map(|f| (f.0, f.1)),
        Some((CheckName::HolderBinding, "holder_mismatch"))
    );
    // A presentation signed by someone other than its holder.
    let thief = SecretKey::from_label("thief");
    let tk = DidKey::from_public_key(&thief.public());
    let mut stolen = vp(&w, vec![w.vc()], CHALLENGE, DOMAIN);
    stolen.as_object_mut().unwrap().remove("proof");
    let opts = ProofOptions {
        verification_method: tk.verification_method_id(),
        proof_purpose: ProofPurpose::Authentication,
        created: Some("2024-01-02T00:00:00Z".into()),
        challenge: Some(CHALLENGE.into()),
        domain: Some(DOMAIN.into()),
    };
    let stolen = add_proof(&stolen, &opts, &thief).unwrap();
    let r = check_vp(&w, &stolen);
    assert_eq!(r.outcome(CheckName::Proof), Some(&CheckOutcome::Passed));
    assert_eq!(failed(&r, CheckName::HolderKey), Some("holder_mismatch"));
    assert_eq!(
        failed(&r, CheckName::HolderBinding),
        Some("holder_mismatch")
    );
}

#[test]
fn presentation_reports_each_credential() {
    let mut w = World::new();
    w.status.0.insert((LIST.into(), 42));
    let r = check_vp(&w, &vp(&w, vec![w.vc()], CHALLENGE, DOMAIN));
    assert!(r.checks.iter().all(|(_, o)| *o == CheckOutcome::Passed));
    assert!(!r.ok());
    assert_eq!(
        r.first_failure().map(|f| (f.0, f.1)),
        Some((CheckName::Status, "revoked"))
    );
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["credentials"][0]["first_failure"]["code"], "revoked");
}

#[test]
fn presentation_purpose_must_be_authentication() {
    let w = World::new();
    let mut t = vp(&w, vec![w.vc()], CHALLENGE, DOMAIN);
    t.as_object_mut().unwrap().remove("proof");
    let holder = w.holder();
    let opts = ProofOptions {
        verification_method: holder.verification_method_id(),
        proof_purpose: ProofPurpose::AssertionMethod,
        created: Some("2024-01-02T00:00:00Z".into()),
        challenge: Some(CHALLENGE.into()),
        domain: Some(DOMAIN.into()),
    };
    let t = add_proof(&t, &opts, &w.holder_key).unwrap();
    assert_eq!(
        check_vp(&w, &t).first_failure().unwrap().1,
        "proof_purpose_mismatch"
    );
}

#[test]
fn did_key_resolver_alone() {
    let w = World::new();
    let holder = w.holder();
    let r = DidKeyResolver.key_at(
        &holder.verification_method_id(),
        0,
        ProofPurpose::AssertionMethod,
    );
    assert_eq!(r, Ok(w.holder_key.public()));
    assert!(matches!(
        DidKeyResolver.key_at(
            &format!("{}#other", holder.did()),
            0,
            ProofPurpose::AssertionMethod
        ),
        Err(LookupError::NotFound(_))
    ));
    assert!(matches!(
        DidKeyResolver.key_at(ISSUER_VM, 0, ProofPurpose::AssertionMethod),
        Err(LookupError::MethodNotSupported(_))
    ));
    assert!(matches!(
        DidKeyResolver.key_at("did:key:zzz#zzz", 0, ProofPurpose::AssertionMethod),
        Err(LookupError::InvalidDid(_))
    ));
    assert!(matches!(
        ChainedResolver(vec![]).key_at(ISSUER_VM, 0, ProofPurpose::AssertionMethod),
        Err(LookupError::MethodNotSupported(_))
    ));
}

#[test]
fn every_byte_of_the_credential_is_protected() {
    // Change each byte of the compact JSON in turn; whatever still parses as a different
    // JSON value must fail verification (and nothing may panic).
    let w = World::new();
    let vc = w.vc();
    let text = serde_json::to_string(&vc).unwrap();
    let mut checked = 0;
    for i in 0..text.len() {
        for replacement in [b'x', b'0'] {
            let mut bytes = text.as_bytes().to_vec();
            if bytes[i] == replacement {
                continue;
            }
            bytes[i] = replacement;
            let Ok(tampered) = serde_json::from_slice::<Value>(&bytes) else {
                continue;
            };
            if tampered == vc {
                continue;
            }
            checked += 1;
            let r = check(&w, &tampered, T0 + DAY);
            assert!(
                !r.ok(),
                "byte {i} -> {}: {}",
                replacement as char,
                String::from_utf8_lossy(&bytes)
            );
        }
    }
    assert!(checked > text.len(), "{checked}");
}

#[test]
fn the_other_documented_codes() {
    use suanli_vc::verify::FAILURE_CODES;
    let w = World::new();
    let code = |vc: &Value| check(&w, vc, T0 + DAY).first_failure().unwrap().1;

    // Unavailable key lookups.
    struct Down;
    impl KeyResolver for Down {
        fn key_at(&self, _: &str, _: u64, _: ProofPurpose) -> Result<PublicKey, LookupError> {
            Err(LookupError::Unavailable("node unreachable".into()))
        }
    }
    let r = w.verifier(&Down).verify_credential(&w.vc(), T0);
    assert_eq!(r.first_failure().unwrap().1, "key_lookup_unavailable");

    // No created and no validFrom.
    let mut unsecured = w.draft().to_unsecured();
    unsecured.as_object_mut().unwrap().remove("validFrom");
    let opts = ProofOptions {
        verification_method: ISSUER_VM.into(),
        proof_purpose: ProofPurpose::AssertionMethod,
        created: None,
        challenge: None,
        domain: None,
    };
    let vc = add_proof(&unsecured, &opts, &w.issuer_key).unwrap();
    assert_eq!(code(&vc), "issuance_time_missing");

    // Documents signed with odd content: the signature is fine, the content is not.
    let signed = |f: &dyn Fn(&mut Value)| {
        let mut u = w.draft().to_unsecured();
        f(&mut u);
        issue_raw(&w, &u)
    };
    assert_eq!(
        code(&signed(&|u| u["credentialSchema"] = json!({"id": "cpt:1"}))),
        "schema_malformed"
    );
    assert_eq!(
        code(&signed(
            &|u| u["credentialSchema"]["type"] = json!("ShaclSchema")
        )),
        "schema_type_unsupported"
    );
    assert_eq!(
        code(&signed(&|u| u["validUntil"] = json!("soon"))),
        "validity_malformed"
    );
    assert_eq!(
        code(&signed(
            &|u| u["credentialStatus"]["statusListIndex"] = json!(42)
        )),
        "status_malformed"
    );
    assert_eq!(
        code(&signed(
            &|u| u["credentialStatus"]["statusPurpose"] = json!("message")
        )),
        "status_malformed"
    );

    // Correctly signed but not a VC Data Model 2.0 credential.
    assert_eq!(
        code(&signed(
            &|u| u["@context"] = json!(["https://www.w3.org/2018/credentials/v1"])
        )),
        "credential_malformed"
    );
    assert_eq!(
        code(&signed(&|u| u["type"] = json!(["KycCredential"]))),
        "credential_malformed"
    );
    assert_eq!(
        code(&signed(&|u| u["credentialSubject"] = json!("Ada"))),
        "credential_malformed"
    );

    // A schema that does not compile.
    let mut bad = World::new();
    bad.schemas.0.insert(
        "cpt:1".into(),
        json!({"title": "t", "description": "d", "type": "float"}),
    );
    assert_eq!(
        check(&bad, &bad.vc(), T0).first_failure().unwrap().1,
        "schema_invalid"
    );

    // Holder key problems are named for the holder.
    struct Gone;
    impl KeyResolver for Gone {
        fn key_at(&self, vm: &str, at_ms: u64, _: ProofPurpose) -> Result<PublicKey, LookupError> {
            if vm.starts_with("did:key:") {
                Err(LookupError::KeyNotValidAt {
                    verification_method: vm.into(),
                    at_ms,
                })
            } else {
                Err(LookupError::Deactivated(vm.into()))
            }
        }
    }
    let p = vp(&w, vec![], CHALLENGE, DOMAIN);
    let r = w
        .verifier(&Gone)
        .verify_presentation(&p, CHALLENGE, DOMAIN, T0);
    assert_eq!(
        r.first_failure().unwrap().1,
        "key_not_valid_at_presentation"
    );

    // Too many credentials in a presentation.
    let mut p = vp(&w, vec![], CHALLENGE, DOMAIN);
    p["verifiableCredential"] = Value::Array(vec![json!({}); 17]);
    assert_eq!(
        check_vp(&w, &p).first_failure().unwrap().1,
        "presentation_malformed"
    );

    assert_eq!(
        FAILURE_CODES.len(),
        FAILURE_CODES.iter().collect::<HashSet<_>>().len(),
        "codes are distinct"
    );
}

fn issue_raw(w: &World, unsecured: &Value) -> Value {
    let opts = ProofOptions {
        verification_method: ISSUER_VM.into(),
        proof_purpose: ProofPurpose::AssertionMethod,
        created: Some("2024-01-01T00:00:00Z".into()),
        challenge: None,
        domain: None,
    };
    add_proof(unsecured, &opts, &w.issuer_key).unwrap()
}
