//! Golden commitment of the identity chain: a fixed scenario (fixed keys, fixed block
//! times) that runs every identity operation, an anchor and a failed call through the real
//! engine, and pins the resulting head hash, state commitment and a digest of every state
//! entry. Any change of an encoding (operation, stored record, key layout, outcome) changes
//! one of them: such a change must be deliberate, documented in `docs/ledger-format.md`,
//! and the constants below updated in the same commit.

use suanli_identity::Fragment;
use suanli_identity::contract::CPT_ID_FIRST;
use suanli_identity::document::Relationships;
use suanli_identity::op::{IdentityOp, StatusPurpose};
use suanli_ledger::anchor::AnchorRecord;
use suanli_ledger::{Payload, State};
use suanli_primitives::{SecretKey, sha256};

use crate::common::Chain;

/// Head block hash after the scenario.
const HEAD_HASH: &str = "a100daab0c7520c5c0e89812c308eb9a4f964ac3a445cac0db4ab130f1c637b1";
/// State commitment (`state_root`) of the head block.
const STATE_ROOT: &str = "7fbe09c19c8cad5b61d8b0a5f8f7f48397893454bf38e386dbaa419adecf7d11";
/// SHA-256 over every state entry, sorted by key (`u32 BE len ‖ key ‖ u32 BE len ‖ value`).
const STATE_DIGEST: &str = "4287ce57e41b8e38c5f9804b3d5a449ca36d9a6377643e32a181731ec742929b";

/// A digest of the whole state, independent of the history that produced it.
pub fn state_digest(state: &State) -> String {
    let mut entries: Vec<(&[u8], &[u8])> = state.scan_prefix(b"").collect();
    entries.sort();
    let mut bytes = Vec::new();
    for (key, value) in entries {
        bytes.extend_from_slice(&(key.len() as u32).to_be_bytes());
        bytes.extend_from_slice(key);
        bytes.extend_from_slice(&(value.len() as u32).to_be_bytes());
        bytes.extend_from_slice(value);
    }
    sha256(&bytes).to_hex()
}

fn frag(s: &str) -> Fragment {
    Fragment::new(s).unwrap()
}

/// A CPT schema as fixed text (not built with `json!`, whose member order is not pinned).
fn schema(title: &str) -> String {
    format!(
        r#"{{"$schema":"https://json-schema.org/draft/2020-12/schema","title":"{title}","description":"golden CPT","type":"object","properties":{{"gpu":{{"type":"string"}}}},"required":["gpu"]}}"#
    )
}

fn scenario() -> Chain {
    let mut chain = Chain::new();
    let authority = chain.bootstrap_authority();
    let auth_key = chain.authority.clone();

    // A DID through its whole life: keys, services, rotation.
    let alice = SecretKey::from_label("golden-alice");
    let did = chain.create(&alice);
    let id = did.id().clone();
    chain
        .submit(
            &alice,
            IdentityOp::AddKey {
                did: id.clone(),
                fragment: frag("assert"),
                key: SecretKey::from_label("golden-alice-assert").public(),
                relationships: Relationships::ASSERTION_METHOD,
            },
        )
        .unwrap();
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
    let rotated = SecretKey::from_label("golden-alice-2");
    chain
        .submit(
            &alice,
            IdentityOp::RotateKey {
                did: id.clone(),
                old: frag("key-1"),
                new: frag("key-2"),
                key: rotated.public(),
            },
        )
        .unwrap();
    chain
        .submit(
            &rotated,
            IdentityOp::RemoveService {
                did: id.clone(),
                fragment: frag("channel"),
            },
        )
        .unwrap();
    chain
        .submit(
            &rotated,
            IdentityOp::RemoveKey {
                did: id.clone(),
                fragment: frag("assert"),
            },
        )
        .unwrap();

    // The authority-issuer list, CPTs and status lists.
    let issuer_key = SecretKey::from_label("golden-issuer");
    let issuer = chain.create(&issuer_key);
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
    for (cpt, title) in [(None, "GPU operator licence"), (Some(CPT_ID_FIRST), "v2")] {
        chain
            .submit(
                &issuer_key,
                IdentityOp::RegisterCpt {
                    publisher: issuer.id().clone(),
                    cpt,
                    qualification: true,
                    schema_json: schema(title),
                },
            )
            .unwrap();
    }
    for (purpose, index, set) in [
        (StatusPurpose::Revocation, 7, true),
        (StatusPurpose::Suspension, 3, true),
        (StatusPurpose::Suspension, 3, false),
    ] {
        chain
            .submit(
                &issuer_key,
                IdentityOp::SetStatus {
                    issuer: issuer.id().clone(),
                    purpose,
                    list: 0,
                    index,
                    set,
                },
            )
            .unwrap();
    }
    chain
        .submit(
            &auth_key,
            IdentityOp::RemoveIssuer {
                authority: authority.id().clone(),
                issuer: issuer.id().clone(),
            },
        )
        .unwrap();

    // A deactivated DID, a failed call (its outcome is committed) and an anchor.
    let bob = SecretKey::from_label("golden-bob");
    let bob_did = chain.create(&bob);
    chain
        .submit(
            &bob,
            IdentityOp::Deactivate {
                did: bob_did.id().clone(),
            },
        )
        .unwrap();
    assert_eq!(
        chain.submit(&bob, IdentityOp::CreateDid),
        Err("did_exists".into())
    );
    let anchor = AnchorRecord::new("audit-log", sha256(b"golden audit head")).unwrap();
    chain
        .submit_payload(&rotated, Payload::Anchor(anchor))
        .unwrap();
    chain
}

#[test]
fn the_identity_chain_commitment_of_a_fixed_scenario_is_pinned() {
    let chain = scenario();
    let head = chain.engine.head();
    let got = (
        head.hash.to_hex(),
        head.unsigned.state_root.to_hex(),
        state_digest(chain.state()),
    );
    assert_eq!(head.unsigned.height, 19, "the scenario's length changed");
    assert_eq!(
        got,
        (
            HEAD_HASH.to_owned(),
            STATE_ROOT.to_owned(),
            STATE_DIGEST.to_owned()
        ),
        "an encoding changed the identity chain's commitment (head hash, state root, \
         state digest); if deliberate, document it and update the constants"
    );
}

#[test]
fn the_scenario_is_deterministic() {
    let (a, b) = (scenario(), scenario());
    assert_eq!(a.engine.head(), b.engine.head());
    assert_eq!(state_digest(a.state()), state_digest(b.state()));
}
