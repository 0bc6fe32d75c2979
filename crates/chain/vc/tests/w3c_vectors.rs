#![allow(clippy::unwrap_used, clippy::expect_used)]
//! W3C "Data Integrity EdDSA Cryptosuites v1.0", Appendix A "Representation:
//! eddsa-jcs-2022": every intermediate value and the final proofValue are reproduced byte
//! for byte (Ed25519 signing is deterministic). Sources: `tests/vectors/README.md`.

use serde_json::{Map, Value};
use suanli_primitives::sha256;
use suanli_vc::jcs::canonical_bytes;
use suanli_vc::multikey::decode_ed25519_secret_multikey;
use suanli_vc::proof::hash_data;
use suanli_vc::{
    ProofOptions, ProofPurpose, VcError, add_proof, decode_ed25519_multikey, proof_info,
    verify_proof,
};

fn text(name: &str) -> String {
    // The manifest directory at run time (a build cache reused by another checkout would
    // carry the compile-time path of the checkout that built it).
    let dir = std::env::var("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned());
    let path = format!("{dir}/tests/vectors/{name}");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .trim_end()
        .to_string()
}

fn json(name: &str) -> Value {
    serde_json::from_str(&text(name)).unwrap()
}

fn key_pair() -> (suanli_primitives::SecretKey, suanli_primitives::PublicKey) {
    let kp = json("keyPair.json");
    let sk = decode_ed25519_secret_multikey(kp["secretKeyMultibase"].as_str().unwrap()).unwrap();
    let pk = decode_ed25519_multikey(kp["publicKeyMultibase"].as_str().unwrap()).unwrap();
    assert_eq!(sk.public(), pk, "the vector's key pair is consistent");
    (sk, pk)
}

fn options() -> ProofOptions {
    let o = json("proofOptionsJCS.json");
    assert_eq!(o["type"], "DataIntegrityProof");
    assert_eq!(o["cryptosuite"], "eddsa-jcs-2022");
    ProofOptions {
        verification_method: o["verificationMethod"].as_str().unwrap().into(),
        proof_purpose: ProofPurpose::parse(o["proofPurpose"].as_str().unwrap()).unwrap(),
        created: o["created"].as_str().map(str::to_string),
        challenge: None,
        domain: None,
    }
}

#[test]
fn canonical_document_and_hash() {
    let unsecured = json("unsecured.json");
    let canon = canonical_bytes(&unsecured).unwrap();
    assert_eq!(
        String::from_utf8(canon.clone()).unwrap(),
        text("canonDocJCS.txt")
    );
    assert_eq!(sha256(&canon).to_hex(), text("docHashJCS.txt"));
}

#[test]
fn canonical_proof_configuration_and_hash() {
    let config: Map<String, Value> = json("proofOptionsJCS.json").as_object().unwrap().clone();
    let canon = canonical_bytes(&Value::Object(config)).unwrap();
    assert_eq!(
        String::from_utf8(canon.clone()).unwrap(),
        text("proofCanonJCS.txt")
    );
    assert_eq!(sha256(&canon).to_hex(), text("proofHashJCS.txt"));
}

#[test]
fn combined_hash_signature_and_proof_value() {
    let (sk, _) = key_pair();
    let config = json("proofOptionsJCS.json").as_object().unwrap().clone();
    let data = hash_data(&config, &json("unsecured.json")).unwrap();
    assert_eq!(hex::encode(data), text("combinedHashJCS.txt"));
    let sig = sk.sign(&data);
    assert_eq!(sig.to_hex(), text("sigHexJCS.txt"));
    assert_eq!(
        suanli_vc::multibase::encode_base58btc(sig.as_bytes()),
        text("sigBTC58JCS.txt")
    );
}

#[test]
fn add_proof_reproduces_the_signed_credential() {
    let (sk, _) = key_pair();
    let secured = add_proof(&json("unsecured.json"), &options(), &sk).unwrap();
    assert_eq!(secured, json("signedJCS.json"));
    assert_eq!(
        secured["proof"]["proofValue"],
        text("sigBTC58JCS.txt").as_str()
    );
}

#[test]
fn verify_proof_accepts_the_signed_credential() {
    let (_, pk) = key_pair();
    let signed = json("signedJCS.json");
    let info = verify_proof(&signed, &pk).unwrap();
    assert_eq!(info, proof_info(&signed).unwrap());
    assert_eq!(info.verification_method, options().verification_method);
    assert_eq!(info.proof_purpose, ProofPurpose::AssertionMethod);
    assert_eq!(info.created, Some(1_677_281_798_000));
    let mut tampered = signed.clone();
    tampered["credentialSubject"]["alumniOf"] = "The School of Forgery".into();
    assert_eq!(verify_proof(&tampered, &pk), Err(VcError::SignatureInvalid));
}

#[test]
fn earlier_editors_draft_vectors_still_verify() {
    // Two earlier snapshots of TestVectors/eddsa-jcs-2022/signedJCS.json (before the proof
    // carried @context, and with an https verification method) — same key, same algorithm.
    let (_, pk) = key_pair();
    for name in [
        "history-4ced357-signedJCS.json",
        "history-369f0f0-signedJCS.json",
    ] {
        verify_proof(&json(name), &pk).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}
