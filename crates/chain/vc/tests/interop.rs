#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Interoperability: a credential issued by suanli with a `did:key` issuer verifies under
//! the generic `eddsa-jcs-2022` procedure alone — written out again here from the W3C
//! specification with ed25519-dalek, sha2, serde_json_canonicalizer and bs58 directly,
//! sharing no code with suanli-vc's verifier. No suanli-specific field is needed.

use ed25519_dalek::{Signature, VerifyingKey};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use suanli_primitives::SecretKey;
use suanli_vc::{CredentialDraft, DidKey, issue, present};

/// A minimal, independent eddsa-jcs-2022 verifier (Data Integrity EdDSA Cryptosuites v1.0
/// §3.3.2) with did:key resolution (Ed25519 only). Returns why it rejects.
fn independent_verify(secured: &Value) -> Result<(), String> {
    let mut document: Map<String, Value> = secured.as_object().ok_or("not an object")?.clone();
    let proof = document.remove("proof").ok_or("no proof")?;
    let mut options: Map<String, Value> = proof.as_object().ok_or("proof not an object")?.clone();
    let proof_value = options
        .remove("proofValue")
        .and_then(|v| v.as_str().map(str::to_string))
        .ok_or("no proofValue")?;
    if options.get("type") != Some(&json!("DataIntegrityProof"))
        || options.get("cryptosuite") != Some(&json!("eddsa-jcs-2022"))
    {
        return Err("not DataIntegrityProof/eddsa-jcs-2022".into());
    }
    if let Some(ctx) = options.get("@context") {
        let doc_ctx = document.get("@context").ok_or("document has no @context")?;
        let (p, d) = (
            ctx.as_array().ok_or("ctx")?,
            doc_ctx.as_array().ok_or("ctx")?,
        );
        if p.len() > d.len() || p.iter().zip(d).any(|(a, b)| a != b) {
            return Err("@context mismatch".into());
        }
        document.insert("@context".into(), ctx.clone());
    }
    // Resolve the did:key verification method to its Ed25519 key.
    let vm = options["verificationMethod"]
        .as_str()
        .ok_or("no verificationMethod")?;
    let (did, fragment) = vm.split_once('#').ok_or("no fragment")?;
    let multikey = did.strip_prefix("did:key:").ok_or("not did:key")?;
    if fragment != multikey {
        return Err("fragment is not the key".into());
    }
    let raw = bs58::decode(multikey.strip_prefix('z').ok_or("not base58btc")?)
        .into_vec()
        .map_err(|e| e.to_string())?;
    let key_bytes: [u8; 32] = raw
        .strip_prefix(&[0xed, 0x01][..])
        .ok_or("not an Ed25519 multikey")?
        .try_into()
        .map_err(|_| "bad key length")?;
    let key = VerifyingKey::from_bytes(&key_bytes).map_err(|e| e.to_string())?;
    // hashData = SHA-256(JCS(proofConfig)) || SHA-256(JCS(document))
    let mut hash_data =
        Sha256::digest(serde_json_canonicalizer::to_vec(&options).unwrap()).to_vec();
    hash_data.extend(Sha256::digest(
        serde_json_canonicalizer::to_vec(&document).unwrap(),
    ));
    let sig_bytes = bs58::decode(
        proof_value
            .strip_prefix('z')
            .ok_or("proofValue not base58btc")?,
    )
    .into_vec()
    .map_err(|e| e.to_string())?;
    let signature = Signature::from_slice(&sig_bytes).map_err(|e| e.to_string())?;
    key.verify_strict(&hash_data, &signature)
        .map_err(|e| format!("signature: {e}"))
}

fn did_key_credential() -> Value {
    let key = SecretKey::from_label("interop issuer");
    let issuer = DidKey::from_public_key(&key.public());
    let mut subject = Map::new();
    subject.insert(
        "id".into(),
        "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp".into(),
    );
    subject.insert("name".into(), "计算中心 A".into());
    subject.insert("gpus".into(), 64.into());
    let draft = CredentialDraft {
        id: Some("urn:uuid:0f4c7c1e-2f44-4ad0-9e0a-5b0a4ad0a6f1".into()),
        types: vec!["SupplierQualification".into()],
        issuer: issuer.did().into(),
        subject,
        valid_from: 1_704_067_200_000,
        valid_until: Some(1_735_689_600_000),
        schema: None,
        status: None,
    };
    issue(
        &draft,
        &issuer.verification_method_id(),
        1_704_067_200_000,
        &key,
    )
    .unwrap()
}

#[test]
fn the_independent_verifier_accepts_the_w3c_vector() {
    // The manifest directory at run time (a build cache reused by another checkout would
    // carry the compile-time path of the checkout that built it).
    let dir = std::env::var("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned());
    let path = format!("{dir}/tests/vectors/signedJCS.json");
    let signed: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    independent_verify(&signed).unwrap();
}

#[test]
fn a_suanli_credential_verifies_generically() {
    let vc = did_key_credential();
    independent_verify(&vc).unwrap();
    // Only standard fields are present.
    let allowed = [
        "@context",
        "id",
        "type",
        "issuer",
        "validFrom",
        "validUntil",
        "credentialSubject",
        "credentialSchema",
        "credentialStatus",
        "proof",
    ];
    for k in vc.as_object().unwrap().keys() {
        assert!(allowed.contains(&k.as_str()), "non-standard field {k}");
    }
    let proof_fields: Vec<&str> = vc["proof"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for k in &proof_fields {
        assert!(
            [
                "type",
                "cryptosuite",
                "created",
                "verificationMethod",
                "proofPurpose",
                "proofValue",
                "@context"
            ]
            .contains(k),
            "non-standard proof field {k}"
        );
    }
}

#[test]
fn the_independent_verifier_rejects_tampering() {
    let vc = did_key_credential();
    let mut t = vc.clone();
    t["credentialSubject"]["gpus"] = 65.into();
    assert!(independent_verify(&t).is_err());
    let mut t = vc.clone();
    t["validUntil"] = "2099-01-01T00:00:00Z".into();
    assert!(independent_verify(&t).is_err());
}

#[test]
fn a_suanli_presentation_verifies_generically() {
    let holder_key = SecretKey::from_label("interop holder");
    let holder = DidKey::from_public_key(&holder_key.public());
    let vp = present(
        holder.did(),
        vec![did_key_credential()],
        &holder.verification_method_id(),
        "challenge-1",
        "verifier.example",
        1_704_153_600_000,
        &holder_key,
    )
    .unwrap();
    independent_verify(&vp).unwrap();
    independent_verify(&vp["verifiableCredential"][0]).unwrap();
}
