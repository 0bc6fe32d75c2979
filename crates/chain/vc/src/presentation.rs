//! Verifiable Presentations (VC Data Model 2.0) with a holder proof bound to a verifier's
//! `challenge` and `domain` (proof purpose `authentication`).

use serde_json::{Value, json};
use suanli_primitives::SecretKey;

use crate::VcError;
use crate::credential::{CREDENTIALS_CONTEXT_V2, check_size};
use crate::did::parse_did_url;
use crate::proof::{ProofOptions, ProofPurpose, add_proof};
use crate::time::format_datetime_ms;

/// Most credentials one presentation may carry.
pub const PRESENTATION_CREDENTIALS_MAX: usize = 16;
/// Largest presentation (canonical JSON, proofs included), in bytes.
pub const PRESENTATION_BYTES_MAX: usize = 512 * 1024;

/// Builds and signs a presentation of `credentials` by `holder` (a DID) for the verifier
/// that asked with `challenge` and `domain`.
pub fn present(
    holder: &str,
    credentials: Vec<Value>,
    verification_method: &str,
    challenge: &str,
    domain: &str,
    created_ms: u64,
    key: &SecretKey,
) -> Result<Value, VcError> {
    let vm = parse_did_url(verification_method)?;
    parse_did_url(holder)?;
    if vm.did != holder {
        return Err(VcError::MalformedDocument(format!(
            "verification method {verification_method} does not belong to holder {holder}"
        )));
    }
    if credentials.len() > PRESENTATION_CREDENTIALS_MAX {
        return Err(VcError::TooMany {
            what: "presentation credentials",
            count: credentials.len(),
            max: PRESENTATION_CREDENTIALS_MAX,
        });
    }
    if challenge.is_empty() || domain.is_empty() {
        return Err(VcError::MalformedDocument(
            "challenge and domain must not be empty".into(),
        ));
    }
    let vp = json!({
        "@context": [CREDENTIALS_CONTEXT_V2],
        "type": ["VerifiablePresentation"],
        "holder": holder,
        "verifiableCredential": credentials,
    });
    let options = ProofOptions {
        verification_method: verification_method.to_string(),
        proof_purpose: ProofPurpose::Authentication,
        created: Some(format_datetime_ms(created_ms)?),
        challenge: Some(challenge.to_string()),
        domain: Some(domain.to_string()),
    };
    let vp = add_proof(&vp, &options, key)?;
    check_size(&vp, "presentation", PRESENTATION_BYTES_MAX)?;
    Ok(vp)
}
