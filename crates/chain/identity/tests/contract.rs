//! The identity contract's rules, each rejection with its own code, and DID resolution
//! (current, by version, at a past time) through the real ledger engine.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod golden;

use common::{Chain, T0};
use serde_json::json;
use suanli_identity::contract::CPT_ID_FIRST;
use suanli_identity::document::Relationships;
use suanli_identity::op::{IdentityOp, StatusPurpose};
use suanli_identity::{Fragment, VersionSelector, resolve};
use suanli_primitives::SecretKey;

fn frag(s: &str) -> Fragment {
    Fragment::new(s).unwrap()
}

fn schema(title: &str) -> String {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "description": "test CPT",
        "type": "object",
        "properties": {"gpu": {"type": "string"}},
        "required": ["gpu"]
    })
    .to_string()
}

#[test]
fn create_resolve_and_duplicate() {
    let mut chain = Chain::new();
    let alice = SecretKey::from_label("alice");
    let did = chain.create(&alice);
    assert_eq!(
        chain.submit(&alice, IdentityOp::CreateDid),
        Err("did_exists".into())
    );
    let res = resolve(
        chain.state(),
        &chain.network,
        &did.to_string(),
        VersionSelector::Latest,
    )
    .unwrap();
    let doc = &res["didDocument"];
    assert_eq!(doc["id"], did.to_string());
    assert_eq!(doc["verificationMethod"][0]["type"], "Multikey");
    assert_eq!(doc["verificationMethod"][0]["id"], format!("{did}#key-1"));
    assert_eq!(doc["assertionMethod"][0], format!("{did}#key-1"));
    assert_eq!(res["didDocumentMetadata"]["versionId"], "1");
    assert_eq!(res["didDocumentMetadata"]["deactivated"], false);
}

#[test]
fn resolution_errors_are_the_standard_ones() {
    let chain = Chain::new();
    let code = |did: &str| {
        resolve(chain.state(), &chain.network, did, VersionSelector::Latest)
            .unwrap_err()
            .code()
    };
    assert_eq!(code("did:suanli:suanli-test:0OIl"), "invalidDid");
    assert_eq!(code("not a did"), "invalidDid");
    assert_eq!(code("did:suanli:suanli-test:3mJr7AoUXx2Wqd"), "notFound");
    assert_eq!(code("did:suanli:other-net:3mJr7AoUXx2Wqd"), "notFound");
    assert_eq!(code("did:web:example.com"), "methodNotSupported");
    let key = resolve(
        chain.state(),
        &chain.network,
        "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
        VersionSelector::Latest,
    )
    .unwrap();
    assert_eq!(
        key["didDocument"]["id"],
        "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
    );
}

#[test]
fn only_controller_keys_update_and_the_last_one_stays() {
    let mut chain = Chain::new();
    let alice = SecretKey::from_label("alice");
    let mallory = SecretKey::from_label("mallory");
    let did = chain.create(&alice);
    chain.create(&mallory);
    let id = did.id().clone();
    let add = |key: &SecretKey, f: &str, rel: Relationships| IdentityOp::AddKey {
        did: id.clone(),
        fragment: frag(f),
        key: key.public(),
        relationships: rel,
    };
    let signer2 = SecretKey::from_label("alice-2");
    assert_eq!(
        chain.submit(&mallory, add(&mallory, "evil", Relationships::ALL)),
        Err("not_controller".into())
    );
    // An assertion-only key cannot change the document.
    chain
        .submit(
            &alice,
            add(&signer2, "assert", Relationships::ASSERTION_METHOD),
        )
        .unwrap();
    assert_eq!(
        chain.submit(&signer2, IdentityOp::Deactivate { did: id.clone() }),
        Err("not_controller".into())
    );
    assert_eq!(
        chain.submit(
            &alice,
            add(&signer2, "again", Relationships::AUTHENTICATION)
        ),
        Err("key_already_present".into())
    );
    assert_eq!(
        chain.submit(
            &alice,
            add(&SecretKey::from_label("x"), "assert", Relationships::ALL)
        ),
        Err("method_exists".into())
    );
    assert_eq!(
        chain.submit(
            &alice,
            IdentityOp::RemoveKey {
                did: id.clone(),
                fragment: frag("key-1")
            }
        ),
        Err("last_controller".into())
    );
    assert_eq!(
        chain.submit(
            &alice,
            IdentityOp::RemoveKey {
                did: id.clone(),
                fragment: frag("nope")
            }
        ),
        Err("method_not_found".into())
    );
    chain
        .submit(
            &alice,
            IdentityOp::RemoveKey {
                did: id.clone(),
                fragment: frag("assert"),
            },
        )
        .unwrap();
}

#[test]
fn rotation_keeps_history_resolvable_by_time_and_version() {
    let mut chain = Chain::new();
    let alice = SecretKey::from_label("alice");
    let did = chain.create(&alice);
    let created_at = chain.now_ms;
    let new_key = SecretKey::from_label("alice-new");
    chain
        .submit(
            &alice,
            IdentityOp::RotateKey {
                did: did.id().clone(),
                old: frag("key-1"),
                new: frag("key-2"),
                key: new_key.public(),
            },
        )
        .unwrap();
    // The old key no longer controls the DID; the new one does.
    assert_eq!(
        chain.submit(
            &alice,
            IdentityOp::Deactivate {
                did: did.id().clone()
            }
        ),
        Err("not_controller".into())
    );
    let text = did.to_string();
    let now = resolve(
        chain.state(),
        &chain.network,
        &text,
        VersionSelector::Latest,
    )
    .unwrap();
    assert_eq!(
        now["didDocument"]["verificationMethod"][0]["id"],
        format!("{did}#key-2")
    );
    assert_eq!(now["didDocumentMetadata"]["versionId"], "2");
    let then = resolve(
        chain.state(),
        &chain.network,
        &text,
        VersionSelector::AtTime(created_at + 500),
    )
    .unwrap();
    assert_eq!(
        then["didDocument"]["verificationMethod"][0]["id"],
        format!("{did}#key-1")
    );
    assert_eq!(then["didDocumentMetadata"]["nextVersionId"], "2");
    let v1 = resolve(chain.state(), &chain.network, &text, VersionSelector::Id(1)).unwrap();
    assert_eq!(v1["didDocument"], then["didDocument"]);
    assert_eq!(
        resolve(
            chain.state(),
            &chain.network,
            &text,
            VersionSelector::AtTime(T0 - 1)
        )
        .unwrap_err()
        .code(),
        "notFound"
    );
    assert_eq!(
        resolve(chain.state(), &chain.network, &text, VersionSelector::Id(9))
            .unwrap_err()
            .code(),
        "notFound"
    );
}

#[test]
fn services_and_deactivation() {
    let mut chain = Chain::new();
    let alice = SecretKey::from_label("alice");
    let did = chain.create(&alice);
    let id = did.id().clone();
    chain
        .submit(
            &alice,
            IdentityOp::SetService {
                did: id.clone(),
                fragment: frag("channel"),
                service_type: "SuanliChannel".into(),
                endpoint: "https://supplier.example/channel".into(),
            },
        )
        .unwrap();
    let res = resolve(
        chain.state(),
        &chain.network,
        &did.to_string(),
        VersionSelector::Latest,
    )
    .unwrap();
    assert_eq!(
        res["didDocument"]["service"][0]["serviceEndpoint"],
        "https://supplier.example/channel"
    );
    assert_eq!(
        chain.submit(
            &alice,
            IdentityOp::RemoveService {
                did: id.clone(),
                fragment: frag("x")
            }
        ),
        Err("service_not_found".into())
    );
    chain
        .submit(&alice, IdentityOp::Deactivate { did: id.clone() })
        .unwrap();
    let res = resolve(
        chain.state(),
        &chain.network,
        &did.to_string(),
        VersionSelector::Latest,
    )
    .unwrap();
    assert_eq!(res["didDocumentMetadata"]["deactivated"], true);
    assert!(res["didDocument"].get("verificationMethod").is_none());
    assert_eq!(
        chain.submit(&alice, IdentityOp::Deactivate { did: id }),
        Err("did_deactivated".into())
    );
}

#[test]
fn malformed_calls_are_refused_at_admission() {
    let mut chain = Chain::new();
    let alice = SecretKey::from_label("alice");
    let did = chain.create(&alice);
    let err = chain
        .submit(
            &alice,
            IdentityOp::SetService {
                did: did.id().clone(),
                fragment: frag("s"),
                service_type: "T".into(),
                endpoint: "no scheme here".into(),
            },
        )
        .unwrap_err();
    assert!(err.contains("malformed_call"), "{err}");
    let err = chain
        .submit(
            &alice,
            IdentityOp::RegisterCpt {
                publisher: did.id().clone(),
                cpt: None,
                qualification: false,
                schema_json: json!({"title": "no description"}).to_string(),
            },
        )
        .unwrap_err();
    assert!(err.contains("malformed_call"), "{err}");
}

#[test]
fn authority_admits_issuers_and_only_they_register_qualification_cpts() {
    let mut chain = Chain::new();
    let authority = chain.bootstrap_authority();
    let auth_key = chain.authority.clone();
    let issuer_key = SecretKey::from_label("issuer");
    let issuer = chain.create(&issuer_key);
    let outsider_key = SecretKey::from_label("outsider");
    let outsider = chain.create(&outsider_key);

    let qual = |publisher: &suanli_identity::SuanliDid| IdentityOp::RegisterCpt {
        publisher: publisher.id().clone(),
        cpt: None,
        qualification: true,
        schema_json: schema("GPU operator licence"),
    };
    assert_eq!(
        chain.submit(&issuer_key, qual(&issuer)),
        Err("issuer_not_admitted".into())
    );
    // Someone else cannot pose as the authority.
    assert_eq!(
        chain.submit(
            &outsider_key,
            IdentityOp::AdmitIssuer {
                authority: outsider.id().clone(),
                issuer: issuer.id().clone(),
                name: "x".into()
            }
        ),
        Err("not_authority".into())
    );
    chain
        .submit(
            &auth_key,
            IdentityOp::AdmitIssuer {
                authority: authority.id().clone(),
                issuer: issuer.id().clone(),
                name: "Computing Power Certification Centre".into(),
            },
        )
        .unwrap();
    chain.submit(&issuer_key, qual(&issuer)).unwrap();
    assert_eq!(
        chain.submit(
            &auth_key,
            IdentityOp::AdmitIssuer {
                authority: authority.id().clone(),
                issuer: issuer.id().clone(),
                name: "again".into()
            }
        ),
        Err("issuer_already_admitted".into())
    );
    // A plain (non-qualification) CPT needs no admission.
    chain
        .submit(
            &outsider_key,
            IdentityOp::RegisterCpt {
                publisher: outsider.id().clone(),
                cpt: None,
                qualification: false,
                schema_json: schema("my trade start"),
            },
        )
        .unwrap();
    chain
        .submit(
            &auth_key,
            IdentityOp::RemoveIssuer {
                authority: authority.id().clone(),
                issuer: issuer.id().clone(),
            },
        )
        .unwrap();
    assert_eq!(
        chain.submit(&issuer_key, qual(&issuer)),
        Err("issuer_not_admitted".into())
    );
}

#[test]
fn cpts_are_versioned_immutable_and_owned() {
    let mut chain = Chain::new();
    let alice = SecretKey::from_label("alice");
    let bob = SecretKey::from_label("bob");
    let a = chain.create(&alice);
    let b = chain.create(&bob);
    let register = |did: &suanli_identity::SuanliDid, cpt, title: &str| IdentityOp::RegisterCpt {
        publisher: did.id().clone(),
        cpt,
        qualification: false,
        schema_json: schema(title),
    };
    chain.submit(&alice, register(&a, None, "v1")).unwrap();
    chain.submit(&alice, register(&a, None, "second")).unwrap();
    chain
        .submit(&alice, register(&a, Some(CPT_ID_FIRST), "v2"))
        .unwrap();
    assert_eq!(
        chain.submit(&bob, register(&b, Some(CPT_ID_FIRST), "hijack")),
        Err("not_cpt_publisher".into())
    );
    assert_eq!(
        chain.submit(&alice, register(&a, Some(5), "builtin")),
        Err("cpt_not_found".into())
    );
    let v1 = suanli_identity::cpt::get(chain.state(), CPT_ID_FIRST, Some(1))
        .unwrap()
        .unwrap();
    let latest = suanli_identity::cpt::get(chain.state(), CPT_ID_FIRST, None)
        .unwrap()
        .unwrap();
    assert_eq!(v1.title, "v1");
    assert_eq!((latest.title.as_str(), latest.version), ("v2", 2));
    let listed = suanli_identity::cpt::list(chain.state(), 0, 10).unwrap();
    assert_eq!(
        listed.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![CPT_ID_FIRST, CPT_ID_FIRST + 1]
    );
    let trade_start = suanli_identity::cpt::builtin_id("trade-start").unwrap();
    assert!(
        suanli_identity::cpt::get(chain.state(), trade_start, None)
            .unwrap()
            .is_some()
    );
}

#[test]
fn revocation_is_permanent_and_suspension_reversible() {
    let mut chain = Chain::new();
    let alice = SecretKey::from_label("alice");
    let did = chain.create(&alice);
    let set = |purpose, index, set| IdentityOp::SetStatus {
        issuer: did.id().clone(),
        purpose,
        list: 0,
        index,
        set,
    };
    chain
        .submit(&alice, set(StatusPurpose::Revocation, 7, true))
        .unwrap();
    assert_eq!(
        chain.submit(&alice, set(StatusPurpose::Revocation, 7, true)),
        Err("status_already_set".into())
    );
    assert_eq!(
        chain.submit(&alice, set(StatusPurpose::Revocation, 7, false)),
        Err("revocation_permanent".into())
    );
    chain
        .submit(&alice, set(StatusPurpose::Suspension, 9000, true))
        .unwrap();
    chain
        .submit(&alice, set(StatusPurpose::Suspension, 9000, false))
        .unwrap();
    assert_eq!(
        chain.submit(&alice, set(StatusPurpose::Suspension, 9000, false)),
        Err("status_not_set".into())
    );
    let bits = suanli_identity::contract::status_list_bits(
        chain.state(),
        did.id(),
        StatusPurpose::Revocation,
        0,
    )
    .unwrap();
    assert_eq!(bits.len(), 131_072 / 8);
    assert!(suanli_vc::status_list::bit(&bits, 7));
    assert!(!suanli_vc::status_list::bit(&bits, 8));
    let mallory = SecretKey::from_label("mallory");
    chain.create(&mallory);
    assert_eq!(
        chain.submit(&mallory, set(StatusPurpose::Revocation, 1, true)),
        Err("not_controller".into())
    );
}
