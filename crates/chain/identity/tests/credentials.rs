//! The credential verifier against the real identity chain (`ChainResolver`): keys by
//! relationship and time, qualification templates and the issuer list, status lists that
//! belong to the issuer, presentations checked against the holder's key of now.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Chain;
use serde_json::{Map, Value, json};
use suanli_identity::document::Relationships;
use suanli_identity::op::{IdentityOp, StatusPurpose};
use suanli_identity::{ChainResolver, DidId, Fragment, SuanliDid, cpt, urn};
use suanli_primitives::SecretKey;
use suanli_vc::credential::{CredentialDraft, SchemaRef, StatusRef};
use suanli_vc::verify::{VerificationReport, Verifier};

fn verify(chain: &Chain, vc: &Value, now: u64) -> VerificationReport {
    let authority = DidId::derive(&chain.authority.public());
    let r = ChainResolver {
        state: chain.state(),
        network: &chain.network,
        authority: &authority,
    };
    Verifier {
        keys: &r,
        schemas: &r,
        status: &r,
    }
    .verify_credential(vc, now)
}

fn code(report: &VerificationReport) -> &'static str {
    report.first_failure().map_or("ok", |f| f.1)
}

fn consumer_kyc(
    chain: &Chain,
    issuer: &SuanliDid,
    holder: &SuanliDid,
    list_owner: &SuanliDid,
) -> CredentialDraft {
    let mut subject = Map::new();
    subject.insert("id".into(), json!(holder.to_string()));
    subject.insert("name".into(), json!("王五"));
    subject.insert("idType".into(), json!("resident-id-card"));
    CredentialDraft {
        id: None,
        types: vec!["KycCredential".into()],
        issuer: issuer.to_string(),
        subject,
        valid_from: chain.now_ms,
        valid_until: None,
        schema: Some(SchemaRef {
            id: urn::cpt(&chain.network, cpt::builtin_id("kyc-consumer").unwrap(), 1),
        }),
        status: Some(StatusRef {
            list_credential: urn::StatusListId {
                network: chain.network.clone(),
                issuer: list_owner.id().clone(),
                purpose: StatusPurpose::Revocation,
                list: 0,
            }
            .urn(),
            index: 3,
            purpose: StatusPurpose::Revocation,
        }),
    }
}

fn sign(draft: &CredentialDraft, vm: &str, at: u64, key: &SecretKey) -> Value {
    suanli_vc::credential::issue(draft, vm, at, key).unwrap()
}

#[test]
fn qualification_credentials_need_the_authority_or_an_admitted_issuer() {
    let mut chain = Chain::new();
    let authority = chain.bootstrap_authority();
    let auth_key = chain.authority.clone();
    let issuer_key = SecretKey::from_label("issuer");
    let issuer = chain.create(&issuer_key);
    let holder = chain.create(&SecretKey::from_label("holder"));

    let draft = consumer_kyc(&chain, &issuer, &holder, &issuer);
    let vc = sign(
        &draft,
        &format!("{issuer}#key-1"),
        chain.now_ms,
        &issuer_key,
    );
    assert_eq!(
        code(&verify(&chain, &vc, chain.now_ms + 10)),
        "issuer_not_admitted"
    );

    // The authority itself may issue KYC.
    let by_authority = consumer_kyc(&chain, &authority, &holder, &authority);
    let vc_a = sign(
        &by_authority,
        &format!("{authority}#key-1"),
        chain.now_ms,
        &auth_key,
    );
    assert_eq!(code(&verify(&chain, &vc_a, chain.now_ms + 10)), "ok");

    chain
        .submit(
            &auth_key,
            IdentityOp::AdmitIssuer {
                authority: authority.id().clone(),
                issuer: issuer.id().clone(),
                name: "lab".into(),
            },
        )
        .unwrap();
    let admitted_vc = sign(
        &consumer_kyc(&chain, &issuer, &holder, &issuer),
        &format!("{issuer}#key-1"),
        chain.now_ms + 1,
        &issuer_key,
    );
    assert_eq!(code(&verify(&chain, &admitted_vc, chain.now_ms + 10)), "ok");
    // Issued before admission: still not.
    assert_eq!(
        code(&verify(&chain, &vc, chain.now_ms + 10)),
        "issuer_not_admitted"
    );

    chain
        .submit(
            &auth_key,
            IdentityOp::RemoveIssuer {
                authority: authority.id().clone(),
                issuer: issuer.id().clone(),
            },
        )
        .unwrap();
    // Credentials issued while admitted stay valid; new ones are refused.
    assert_eq!(code(&verify(&chain, &admitted_vc, chain.now_ms + 10)), "ok");
    let late = sign(
        &consumer_kyc(&chain, &issuer, &holder, &issuer),
        &format!("{issuer}#key-1"),
        chain.now_ms + 1,
        &issuer_key,
    );
    assert_eq!(
        code(&verify(&chain, &late, chain.now_ms + 10)),
        "issuer_not_admitted"
    );
}

#[test]
fn keys_sign_only_in_their_relationships_and_lists_must_be_the_issuers() {
    let mut chain = Chain::new();
    let authority = chain.bootstrap_authority();
    let auth_key = chain.authority.clone();
    let holder = chain.create(&SecretKey::from_label("holder"));
    let login = SecretKey::from_label("login-device");
    chain
        .submit(
            &auth_key,
            IdentityOp::AddKey {
                did: authority.id().clone(),
                fragment: Fragment::new("login").unwrap(),
                key: login.public(),
                relationships: Relationships::AUTHENTICATION,
            },
        )
        .unwrap();
    let draft = consumer_kyc(&chain, &authority, &holder, &authority);
    let vc = sign(&draft, &format!("{authority}#login"), chain.now_ms, &login);
    assert_eq!(
        code(&verify(&chain, &vc, chain.now_ms + 10)),
        "key_not_valid_at_issuance"
    );

    // A status list of someone else would leave the credential unrevocable by its issuer.
    let other = chain.create(&SecretKey::from_label("other"));
    let foreign = consumer_kyc(&chain, &authority, &holder, &other);
    let vc = sign(
        &foreign,
        &format!("{authority}#key-1"),
        chain.now_ms,
        &auth_key,
    );
    assert_eq!(
        code(&verify(&chain, &vc, chain.now_ms + 10)),
        "status_list_not_issuers"
    );

    // Revocation on the issuer's own list is seen.
    let own = sign(
        &draft,
        &format!("{authority}#key-1"),
        chain.now_ms,
        &auth_key,
    );
    assert_eq!(code(&verify(&chain, &own, chain.now_ms + 10)), "ok");
    chain
        .submit(
            &auth_key,
            IdentityOp::SetStatus {
                issuer: authority.id().clone(),
                purpose: StatusPurpose::Revocation,
                list: 0,
                index: 3,
                set: true,
            },
        )
        .unwrap();
    assert_eq!(code(&verify(&chain, &own, chain.now_ms + 10)), "revoked");
}

#[test]
fn rotation_deactivation_and_presentations_use_the_right_key_version() {
    let mut chain = Chain::new();
    let authority = chain.bootstrap_authority();
    let auth_key = chain.authority.clone();
    let holder_key = SecretKey::from_label("holder");
    let holder = chain.create(&holder_key);
    let before = sign(
        &consumer_kyc(&chain, &authority, &holder, &authority),
        &format!("{authority}#key-1"),
        chain.now_ms,
        &auth_key,
    );

    let new_auth = SecretKey::from_label("authority-2");
    chain
        .submit(
            &auth_key,
            IdentityOp::RotateKey {
                did: authority.id().clone(),
                old: Fragment::new("key-1").unwrap(),
                new: Fragment::new("key-2").unwrap(),
                key: new_auth.public(),
            },
        )
        .unwrap();
    let now = chain.now_ms + 10;
    assert_eq!(code(&verify(&chain, &before, now)), "ok");
    let after = sign(
        &consumer_kyc(&chain, &authority, &holder, &authority),
        &format!("{authority}#key-1"),
        now,
        &auth_key,
    );
    assert_eq!(
        code(&verify(&chain, &after, now)),
        "key_not_valid_at_issuance"
    );
    // A proof dated in the verifier's future is refused outright.
    let future = sign(
        &consumer_kyc(&chain, &authority, &holder, &authority),
        &format!("{authority}#key-2"),
        now + 3_600_000,
        &new_auth,
    );
    assert_eq!(
        code(&verify(&chain, &future, now)),
        "proof_created_in_future"
    );

    // The holder's leaked key-1 is rotated out; a presentation back-dated to before the
    // rotation still needs the key valid now.
    let holder_new = SecretKey::from_label("holder-2");
    let created_before = chain.now_ms;
    chain
        .submit(
            &holder_key,
            IdentityOp::RotateKey {
                did: holder.id().clone(),
                old: Fragment::new("key-1").unwrap(),
                new: Fragment::new("key-2").unwrap(),
                key: holder_new.public(),
            },
        )
        .unwrap();
    let authority_id = DidId::derive(&chain.authority.public());
    let r = ChainResolver {
        state: chain.state(),
        network: &chain.network,
        authority: &authority_id,
    };
    let verifier = Verifier {
        keys: &r,
        schemas: &r,
        status: &r,
    };
    let stolen = suanli_vc::presentation::present(
        &holder.to_string(),
        vec![before.clone()],
        &format!("{holder}#key-1"),
        "c",
        "d",
        created_before,
        &holder_key,
    )
    .unwrap();
    let report = verifier.verify_presentation(&stolen, "c", "d", chain.now_ms + 10);
    assert_eq!(
        report.first_failure().unwrap().1,
        "key_not_valid_at_presentation"
    );
    let honest = suanli_vc::presentation::present(
        &holder.to_string(),
        vec![before.clone()],
        &format!("{holder}#key-2"),
        "c",
        "d",
        chain.now_ms,
        &holder_new,
    )
    .unwrap();
    assert!(
        verifier
            .verify_presentation(&honest, "c", "d", chain.now_ms + 10)
            .ok()
    );

    chain
        .submit(
            &new_auth,
            IdentityOp::Deactivate {
                did: authority.id().clone(),
            },
        )
        .unwrap();
    assert_eq!(
        code(&verify(&chain, &before, chain.now_ms + 10)),
        "issuer_deactivated"
    );
}

#[test]
fn unknown_and_malformed_issuers() {
    let mut chain = Chain::new();
    let holder = chain.create(&SecretKey::from_label("holder"));
    let ghost_key = SecretKey::from_label("ghost");
    let ghost = chain.did_of(&ghost_key);
    let vc = sign(
        &consumer_kyc(&chain, &ghost, &holder, &ghost),
        &format!("{ghost}#key-1"),
        chain.now_ms,
        &ghost_key,
    );
    assert_eq!(
        code(&verify(&chain, &vc, chain.now_ms + 10)),
        "did_not_found"
    );
    let mut bad = vc.clone();
    bad["proof"]["verificationMethod"] = json!("did:suanli:suanli-test:0OIl#key-1");
    assert_eq!(
        code(&verify(&chain, &bad, chain.now_ms + 10)),
        "did_invalid"
    );
}
