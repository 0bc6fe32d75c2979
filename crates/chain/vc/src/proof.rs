//! Data Integrity proofs with the `eddsa-jcs-2022` cryptosuite, exactly as W3C "Data
//! Integrity EdDSA Cryptosuites v1.0" §3.3 specifies:
//!
//! 1. proof configuration = the proof options (`type` `DataIntegrityProof`, `cryptosuite`
//!    `eddsa-jcs-2022`, `created`, `verificationMethod`, `proofPurpose`, optional
//!    `challenge`/`domain`) with the unsecured document's `@context` copied in;
//! 2. hashData = SHA-256(JCS(proof configuration)) ‖ SHA-256(JCS(unsecured document));
//! 3. proofValue = base58btc multibase of the Ed25519 signature over hashData.
//!
//! Verification removes `proof`, removes `proofValue` from the proof, checks that the
//! proof's `@context` is a prefix of the document's (§3.3.2) and recomputes hashData. A
//! proof without `@context` on a document with one is accepted whether its configuration
//! included the document's `@context` (the Recommendation's §3.3.5) or not (earlier
//! drafts, whose published vectors are kept in `tests/vectors/`). Only single proofs are
//! supported (no proof sets or chains).

use serde_json::{Map, Value};
use suanli_primitives::{PublicKey, SecretKey, Signature, sha256};

use crate::VcError;
use crate::jcs::canonical_bytes;
use crate::multibase::{decode_base58btc, encode_base58btc};
use crate::time::parse_datetime_ms;

pub const PROOF_TYPE: &str = "DataIntegrityProof";
pub const CRYPTOSUITE: &str = "eddsa-jcs-2022";
/// Largest document (canonical JSON) that is signed or verified, in bytes. Credentials and
/// presentations have tighter limits of their own.
pub const DOCUMENT_BYTES_MAX: usize = 1024 * 1024;
/// Longest `challenge` or `domain`, in bytes.
pub const PROOF_STRING_BYTES_MAX: usize = 1024;

/// Why a proof was made (Data Integrity `proofPurpose`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProofPurpose {
    /// Credentials: an assertion by the issuer.
    AssertionMethod,
    /// Presentations: the holder authenticating to a verifier.
    Authentication,
}

impl ProofPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            ProofPurpose::AssertionMethod => "assertionMethod",
            ProofPurpose::Authentication => "authentication",
        }
    }

    pub fn parse(s: &str) -> Option<ProofPurpose> {
        match s {
            "assertionMethod" => Some(ProofPurpose::AssertionMethod),
            "authentication" => Some(ProofPurpose::Authentication),
            _ => None,
        }
    }
}

/// The options a proof is created with (the spec's "proof options" minus `type` and
/// `cryptosuite`, which are fixed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofOptions {
    /// DID URL of the signing key, e.g. `did:key:z6Mk…#z6Mk…`.
    pub verification_method: String,
    pub proof_purpose: ProofPurpose,
    /// XML Schema dateTime, e.g. `2023-02-24T23:36:38Z`.
    pub created: Option<String>,
    pub challenge: Option<String>,
    pub domain: Option<String>,
}

/// What a proof says, parsed (by [`proof_info`]) or verified (by [`verify_proof`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofInfo {
    pub verification_method: String,
    pub proof_purpose: ProofPurpose,
    /// `created` in Unix milliseconds.
    pub created: Option<u64>,
    pub challenge: Option<String>,
    pub domain: Option<String>,
}

/// Signs `unsecured` (a JSON object without `proof`) and returns it with a `proof`.
pub fn add_proof(
    unsecured: &Value,
    opts: &ProofOptions,
    key: &SecretKey,
) -> Result<Value, VcError> {
    let doc = unsecured
        .as_object()
        .ok_or_else(|| VcError::MalformedDocument("a document must be a JSON object".into()))?;
    if doc.contains_key("proof") {
        return Err(VcError::MalformedDocument(
            "the document already has a proof (proof sets are not supported)".into(),
        ));
    }
    if let Some(created) = &opts.created {
        parse_datetime_ms(created)?;
    }
    for s in [&opts.challenge, &opts.domain].into_iter().flatten() {
        check_len(s)?;
    }
    let mut proof = Map::new();
    proof.insert("type".into(), PROOF_TYPE.into());
    proof.insert("cryptosuite".into(), CRYPTOSUITE.into());
    if let Some(created) = &opts.created {
        proof.insert("created".into(), created.as_str().into());
    }
    proof.insert(
        "verificationMethod".into(),
        opts.verification_method.as_str().into(),
    );
    proof.insert("proofPurpose".into(), opts.proof_purpose.as_str().into());
    if let Some(challenge) = &opts.challenge {
        proof.insert("challenge".into(), challenge.as_str().into());
    }
    if let Some(domain) = &opts.domain {
        proof.insert("domain".into(), domain.as_str().into());
    }
    if let Some(context) = doc.get("@context") {
        proof.insert("@context".into(), context.clone());
    }
    let data = hash_data(&proof, unsecured)?;
    let signature = key.sign(&data);
    proof.insert(
        "proofValue".into(),
        encode_base58btc(signature.as_bytes()).into(),
    );
    let mut secured = doc.clone();
    secured.insert("proof".into(), Value::Object(proof));
    Ok(Value::Object(secured))
}

/// Parses the proof of `secured` without verifying it (so the caller can look up the key).
pub fn proof_info(secured: &Value) -> Result<ProofInfo, VcError> {
    let proof = the_proof(secured)?;
    info_of(proof)
}

/// Verifies the `eddsa-jcs-2022` proof of `secured` with `public_key`.
pub fn verify_proof(secured: &Value, public_key: &PublicKey) -> Result<ProofInfo, VcError> {
    let proof = the_proof(secured)?;
    let info = info_of(proof)?;
    let proof_value = match proof.get("proofValue") {
        Some(Value::String(s)) => s,
        Some(_) => return Err(VcError::ProofMalformed("proofValue is not a string".into())),
        None => return Err(VcError::ProofMalformed("proofValue is missing".into())),
    };
    let sig_bytes =
        decode_base58btc(proof_value).map_err(|e| VcError::ProofValueEncoding(e.to_string()))?;
    let signature = Signature::from_bytes(&sig_bytes)
        .map_err(|e| VcError::ProofValueEncoding(e.to_string()))?;

    let mut unsecured = secured.as_object().cloned().unwrap_or_default();
    unsecured.remove("proof");
    let mut options = proof.clone();
    options.remove("proofValue");
    // §3.3.2 step 5: the proof's @context must be a prefix of the document's, and the
    // document is then hashed with the proof's @context.
    if let Some(proof_context) = options.get("@context") {
        if !context_is_prefix(proof_context, unsecured.get("@context")) {
            return Err(VcError::ProofContextMismatch);
        }
        unsecured.insert("@context".into(), proof_context.clone());
    }
    let document = Value::Object(unsecured);
    let data = hash_data(&options, &document)?;
    if public_key.verify(&data, &signature) {
        return Ok(info);
    }
    // §3.3.5 copies the document's @context into the proof configuration even when the
    // proof does not carry one; drafts before the Recommendation did not. Both variants
    // sign the same document hash, so accepting either forges nothing.
    if let (None, Some(context)) = (options.get("@context"), document.get("@context")) {
        let mut with_context = options.clone();
        with_context.insert("@context".into(), context.clone());
        if public_key.verify(&hash_data(&with_context, &document)?, &signature) {
            return Ok(info);
        }
    }
    Err(VcError::SignatureInvalid)
}

/// hashData of §3.3.4/§3.3.5: SHA-256(JCS(proofConfig)) ‖ SHA-256(JCS(document)).
pub fn hash_data(
    proof_config: &Map<String, Value>,
    unsecured: &Value,
) -> Result<[u8; 64], VcError> {
    let doc_bytes = canonical_bytes(unsecured)?;
    if doc_bytes.len() > DOCUMENT_BYTES_MAX {
        return Err(VcError::TooLarge {
            what: "document",
            bytes: doc_bytes.len(),
            max_bytes: DOCUMENT_BYTES_MAX,
        });
    }
    let config_bytes = canonical_bytes(&Value::Object(proof_config.clone()))?;
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(sha256(&config_bytes).as_bytes());
    out[32..].copy_from_slice(sha256(&doc_bytes).as_bytes());
    Ok(out)
}

fn context_is_prefix(proof_context: &Value, doc_context: Option<&Value>) -> bool {
    let as_list = |v: &Value| -> Vec<Value> {
        match v {
            Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        }
    };
    let Some(doc_context) = doc_context else {
        return false;
    };
    let (p, d) = (as_list(proof_context), as_list(doc_context));
    p.len() <= d.len() && p.iter().zip(&d).all(|(a, b)| a == b)
}

fn check_len(s: &str) -> Result<(), VcError> {
    if s.len() > PROOF_STRING_BYTES_MAX {
        return Err(VcError::TooLarge {
            what: "proof challenge or domain",
            bytes: s.len(),
            max_bytes: PROOF_STRING_BYTES_MAX,
        });
    }
    Ok(())
}

fn the_proof(secured: &Value) -> Result<&Map<String, Value>, VcError> {
    let doc = secured
        .as_object()
        .ok_or_else(|| VcError::MalformedDocument("a document must be a JSON object".into()))?;
    match doc.get("proof") {
        None | Some(Value::Null) => Err(VcError::ProofMissing),
        Some(Value::Object(p)) => Ok(p),
        Some(Value::Array(items)) if items.len() == 1 => items[0]
            .as_object()
            .ok_or_else(|| VcError::ProofMalformed("proof is not an object".into())),
        Some(Value::Array(items)) if items.is_empty() => Err(VcError::ProofMissing),
        Some(Value::Array(_)) => Err(VcError::ProofMalformed(
            "proof sets and chains (more than one proof) are not supported".into(),
        )),
        Some(_) => Err(VcError::ProofMalformed("proof is not an object".into())),
    }
}

fn info_of(proof: &Map<String, Value>) -> Result<ProofInfo, VcError> {
    let text = |name: &str| -> Result<Option<&str>, VcError> {
        match proof.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(VcError::ProofMalformed(format!("{name} is not a string"))),
        }
    };
    let required = |name: &str| -> Result<&str, VcError> {
        text(name)?.ok_or_else(|| VcError::ProofMalformed(format!("{name} is missing")))
    };
    let proof_type = required("type")?;
    if proof_type != PROOF_TYPE {
        return Err(VcError::UnsupportedProofType(proof_type.to_string()));
    }
    let suite = required("cryptosuite")?;
    if suite != CRYPTOSUITE {
        return Err(VcError::UnsupportedCryptosuite(suite.to_string()));
    }
    let verification_method = required("verificationMethod")?.to_string();
    let purpose = required("proofPurpose")?;
    let proof_purpose = ProofPurpose::parse(purpose)
        .ok_or_else(|| VcError::ProofMalformed(format!("unsupported proofPurpose {purpose:?}")))?;
    let created = text("created")?
        .map(|c| parse_datetime_ms(c).map_err(|e| VcError::ProofMalformed(format!("created: {e}"))))
        .transpose()?;
    let challenge = text("challenge")?.map(str::to_string);
    let domain = text("domain")?.map(str::to_string);
    for s in [&challenge, &domain].into_iter().flatten() {
        check_len(s).map_err(|e| VcError::ProofMalformed(e.to_string()))?;
    }
    Ok(ProofInfo {
        verification_method,
        proof_purpose,
        created,
        challenge,
        domain,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn opts() -> ProofOptions {
        ProofOptions {
            verification_method: "did:example:1#k".into(),
            proof_purpose: ProofPurpose::AssertionMethod,
            created: Some("2024-01-01T00:00:00Z".into()),
            challenge: None,
            domain: None,
        }
    }

    #[test]
    fn sign_verify_and_precise_errors() {
        let key = SecretKey::from_label("proof");
        let doc = json!({"@context": ["https://www.w3.org/ns/credentials/v2"], "a": 1});
        let signed = add_proof(&doc, &opts(), &key).unwrap();
        let info = verify_proof(&signed, &key.public()).unwrap();
        assert_eq!(info.created, Some(1_704_067_200_000));
        assert_eq!(info.proof_purpose, ProofPurpose::AssertionMethod);
        assert_eq!(proof_info(&signed).unwrap(), info);

        let other = SecretKey::from_label("other").public();
        assert_eq!(
            verify_proof(&signed, &other),
            Err(VcError::SignatureInvalid)
        );
        assert_eq!(verify_proof(&doc, &other), Err(VcError::ProofMissing));

        let mut t = signed.clone();
        t["proof"]["type"] = "Ed25519Signature2020".into();
        assert!(matches!(
            verify_proof(&t, &other),
            Err(VcError::UnsupportedProofType(_))
        ));
        let mut t = signed.clone();
        t["proof"]["cryptosuite"] = "eddsa-rdfc-2022".into();
        assert!(matches!(
            verify_proof(&t, &other),
            Err(VcError::UnsupportedCryptosuite(_))
        ));
        let mut t = signed.clone();
        t["proof"]["proofValue"] = "u3P6rHMU".into();
        assert!(matches!(
            verify_proof(&t, &other),
            Err(VcError::ProofValueEncoding(_))
        ));
        let mut t = signed.clone();
        t["proof"]["proofValue"] = "z3P6rHMU".into();
        assert!(matches!(
            verify_proof(&t, &other),
            Err(VcError::ProofValueEncoding(_))
        ));
        let mut t = signed.clone();
        t["proof"]["created"] = "yesterday".into();
        assert!(matches!(
            verify_proof(&t, &other),
            Err(VcError::ProofMalformed(_))
        ));
        let mut t = signed.clone();
        t["proof"] = json!("x");
        assert!(matches!(
            verify_proof(&t, &other),
            Err(VcError::ProofMalformed(_))
        ));
        let mut t = signed.clone();
        t["@context"] = json!(["https://example.org/other"]);
        assert_eq!(
            verify_proof(&t, &key.public()),
            Err(VcError::ProofContextMismatch)
        );
        let mut t = signed.clone();
        t["a"] = 2.into();
        assert_eq!(
            verify_proof(&t, &key.public()),
            Err(VcError::SignatureInvalid)
        );
        let mut t = signed.clone();
        t["proof"]["created"] = "2024-01-01T00:00:01Z".into();
        assert_eq!(
            verify_proof(&t, &key.public()),
            Err(VcError::SignatureInvalid)
        );
    }

    #[test]
    fn a_proof_without_context_may_have_signed_the_documents_context() {
        // A proof made by the letter of §3.3.5 without putting @context into the proof.
        let key = SecretKey::from_label("proof");
        let doc = json!({"@context": ["https://www.w3.org/ns/credentials/v2"], "a": 1});
        let mut config = Map::new();
        config.insert("type".into(), PROOF_TYPE.into());
        config.insert("cryptosuite".into(), CRYPTOSUITE.into());
        config.insert("verificationMethod".into(), "did:example:1#k".into());
        config.insert("proofPurpose".into(), "assertionMethod".into());
        let mut signed_config = config.clone();
        signed_config.insert("@context".into(), doc["@context"].clone());
        let sig = key.sign(&hash_data(&signed_config, &doc).unwrap());
        config.insert("proofValue".into(), encode_base58btc(sig.as_bytes()).into());
        let mut secured = doc.clone();
        secured["proof"] = Value::Object(config);
        assert!(verify_proof(&secured, &key.public()).is_ok());
        secured["a"] = 2.into();
        assert_eq!(
            verify_proof(&secured, &key.public()),
            Err(VcError::SignatureInvalid)
        );
    }

    #[test]
    fn single_proof_in_an_array_is_accepted_and_sets_are_not() {
        let key = SecretKey::from_label("proof");
        let signed = add_proof(&json!({"a": 1}), &opts(), &key).unwrap();
        let mut arr = signed.clone();
        arr["proof"] = json!([signed["proof"].clone()]);
        assert!(verify_proof(&arr, &key.public()).is_ok());
        arr["proof"] = json!([signed["proof"].clone(), signed["proof"].clone()]);
        assert!(matches!(
            verify_proof(&arr, &key.public()),
            Err(VcError::ProofMalformed(_))
        ));
        assert!(add_proof(&signed, &opts(), &key).is_err());
        assert!(add_proof(&json!([1]), &opts(), &key).is_err());
    }
}
