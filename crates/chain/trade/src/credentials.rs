//! The trade's credentials: the trade-start credential of a contract and the check-in
//! credential of each period. Both are W3C VCs (`eddsa-jcs-2022`) issued by the supplier's
//! DID under the trade mode's CPTs, so anyone can verify them on their own against the
//! identity chain (`POST /1.0/credentials/verify`). The contract checks each one before it
//! accepts the record: its id, issuer, schema and exact claims, and the proof against the
//! supplier's enrolled key.

use serde_json::{Map, Value};
use suanli_identity::{SuanliDid, urn};
use suanli_ledger::contract::ContractError;
use suanli_primitives::{Fen, PublicKey, SecretKey};
use suanli_vc::credential::{CredentialDraft, SchemaRef};
use suanli_vc::proof::{ProofPurpose, verify_proof};

use crate::model::{PartyDid, Serial};
use crate::records::Trade;

/// Largest credential a trade record may carry, in bytes of JSON.
pub const CREDENTIAL_BYTES_MAX: usize = 8 * 1024;

fn err(code: &'static str, message: impl Into<String>) -> ContractError {
    ContractError::new(code, message)
}

/// Id of a trade's trade-start credential.
pub fn start_credential_id(serial: &Serial) -> String {
    format!("urn:suanli:trade:{serial}:start")
}

/// Id of the n-th (1-based) check-in credential of a trade.
pub fn checkin_credential_id(serial: &Serial, n: u32) -> String {
    format!("urn:suanli:trade:{serial}:checkin:{n}")
}

/// The claims of the trade-start credential (seed 001 交易启动 template, integer fen).
pub fn start_claims(trade: &Trade) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), trade.consumer.as_str().into());
    m.insert("pdid".into(), trade.supplier.as_str().into());
    m.insert("cdid".into(), trade.consumer.as_str().into());
    m.insert("spec".into(), trade.requirements.spec.as_str().into());
    m.insert("price".into(), trade.rate_fen_per_minute.get().into());
    m.insert("minCost".into(), trade.min_cost_fen.get().into());
    m.insert("checkinCptId".into(), trade.checkin_cpt.into());
    m.insert("encryption".into(), trade.encryption.claim().into());
    m
}

/// The claims of a check-in credential (seed 001 交易结算 template, integer fen, ms).
pub fn checkin_claims(
    trade: &Trade,
    start_ms: u64,
    end_ms: u64,
    cost_fen: Fen,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), trade.consumer.as_str().into());
    m.insert("pdid".into(), trade.supplier.as_str().into());
    m.insert("cdid".into(), trade.consumer.as_str().into());
    m.insert("cost".into(), cost_fen.get().into());
    m.insert("startTs".into(), start_ms.into());
    m.insert("endTs".into(), end_ms.into());
    m.insert("tradeType".into(), trade.trade_type.as_str().into());
    m
}

fn network_of(did: &PartyDid) -> Result<SuanliDid, ContractError> {
    SuanliDid::parse(did.as_str()).map_err(|e| err("state_corrupt", e.to_string()))
}

/// A credential draft for the supplier to sign (CLI, agents and tests use this).
pub fn draft(
    trade: &Trade,
    id: String,
    cpt: u32,
    claims: Map<String, Value>,
    valid_from_ms: u64,
) -> Result<CredentialDraft, ContractError> {
    let supplier = network_of(&trade.supplier)?;
    Ok(CredentialDraft {
        id: Some(id),
        types: vec!["SuanliTradeCredential".into()],
        issuer: trade.supplier.as_str().to_owned(),
        subject: claims,
        valid_from: valid_from_ms,
        valid_until: None,
        schema: Some(SchemaRef {
            id: urn::cpt(supplier.network(), cpt, 1),
        }),
        status: None,
    })
}

/// Issues a credential with the supplier's key, naming `#key-1` as its method unless the
/// caller says otherwise.
pub fn issue(
    draft: &CredentialDraft,
    key: &SecretKey,
    fragment: &str,
    created_ms: u64,
) -> Result<Value, ContractError> {
    let vm = format!("{}#{fragment}", draft.issuer);
    suanli_vc::credential::issue(draft, &vm, created_ms, key)
        .map_err(|e| err("credential_invalid", e.to_string()))
}

/// The expected shape of a credential a record carries.
#[derive(Debug)]
pub struct Expected<'a> {
    pub id: String,
    pub issuer: &'a PartyDid,
    pub issuer_key: &'a PublicKey,
    /// The verification method the enrolled key is (`<issuer>#<fragment>`).
    pub issuer_fragment: &'a str,
    /// Since when the enrolled key acts for the issuer: the proof must be created then or
    /// later (the key may not have been the DID's before).
    pub key_since_ms: u64,
    pub cpt: u32,
    pub claims: Map<String, Value>,
    /// The block's time: the credential must be valid from then at the latest.
    pub at_ms: u64,
    /// The adopted schema of a registered CPT the claims must also satisfy (`None` for
    /// the built-ins).
    pub schema: Option<&'a Value>,
}

/// The top-level members a trade credential has — no more (no `validUntil`, no
/// `credentialStatus`: a record's credential must not expire or be revoked by its issuer
/// after it was paid for), no less.
pub const CREDENTIAL_MEMBERS: [&str; 8] = [
    "@context",
    "credentialSchema",
    "credentialSubject",
    "id",
    "issuer",
    "proof",
    "type",
    "validFrom",
];

/// The `type` of a trade credential.
pub const CREDENTIAL_TYPES: [&str; 2] = ["VerifiableCredential", "SuanliTradeCredential"];

/// The envelope: exactly [`CREDENTIAL_MEMBERS`], the VC 2.0 context, [`CREDENTIAL_TYPES`],
/// and `validFrom` no later than `at_ms` — so a credential the chain accepts also passes
/// every check of a standalone verifier.
fn check_envelope(vc: &Value, at_ms: u64) -> Result<(), ContractError> {
    let members = vc
        .as_object()
        .ok_or_else(|| err("credential_mismatch", "a credential is a JSON object"))?;
    let mut keys: Vec<&str> = members.keys().map(String::as_str).collect();
    keys.sort_unstable();
    if keys != CREDENTIAL_MEMBERS {
        return Err(err(
            "credential_mismatch",
            format!(
                "a trade credential has exactly the members {}",
                CREDENTIAL_MEMBERS.join(", ")
            ),
        ));
    }
    if members["@context"] != serde_json::json!([suanli_vc::credential::CREDENTIALS_CONTEXT_V2])
        || members["type"] != serde_json::json!(CREDENTIAL_TYPES)
    {
        return Err(err(
            "credential_mismatch",
            "a trade credential has the VC 2.0 context and types VerifiableCredential, SuanliTradeCredential",
        ));
    }
    let valid_from = members["validFrom"]
        .as_str()
        .and_then(|t| suanli_vc::time::parse_datetime_ms(t).ok())
        .ok_or_else(|| err("credential_mismatch", "validFrom is not an XML dateTime"))?;
    if valid_from > at_ms {
        return Err(err(
            "credential_mismatch",
            "the credential's validFrom lies after the block's time",
        ));
    }
    Ok(())
}

/// Checks a record's credential against what the trade says it must be. Codes:
/// `credential_too_large`, `credential_mismatch` (id, issuer, schema or claims differ)
/// and `credential_proof_invalid`.
pub fn check(vc: &Value, expected: &Expected<'_>) -> Result<(), ContractError> {
    let bytes = serde_json::to_vec(vc).map_err(|e| err("credential_mismatch", e.to_string()))?;
    if bytes.len() > CREDENTIAL_BYTES_MAX {
        return Err(err(
            "credential_too_large",
            format!(
                "the credential is {} bytes, at most {CREDENTIAL_BYTES_MAX} allowed",
                bytes.len()
            ),
        ));
    }
    let mismatch = |what: &str| {
        err(
            "credential_mismatch",
            format!("the credential's {what} is not what this trade record needs"),
        )
    };
    check_envelope(vc, expected.at_ms)?;
    if vc.get("id").and_then(Value::as_str) != Some(expected.id.as_str()) {
        return Err(err(
            "credential_mismatch",
            format!("the credential's id must be {}", expected.id),
        ));
    }
    if vc.get("issuer").and_then(Value::as_str) != Some(expected.issuer.as_str()) {
        return Err(mismatch("issuer (it must be the supplier's DID)"));
    }
    let schema = vc
        .pointer("/credentialSchema/id")
        .and_then(Value::as_str)
        .ok_or_else(|| mismatch("credentialSchema"))?;
    let (network, cpt, version) =
        urn::parse_cpt(schema).map_err(|_| mismatch("credentialSchema"))?;
    if version != 1
        || vc.pointer("/credentialSchema/type").and_then(Value::as_str) != Some("JsonSchema")
    {
        return Err(err(
            "credential_mismatch",
            "the credential's schema must be version 1 of the mode's CPT, of type JsonSchema",
        ));
    }
    let issuer_did = network_of(expected.issuer)?;
    if cpt != expected.cpt || &network != issuer_did.network() {
        return Err(err(
            "credential_mismatch",
            format!(
                "the credential must use CPT {} of network {}",
                expected.cpt,
                issuer_did.network().as_str()
            ),
        ));
    }
    if vc.get("credentialSubject") != Some(&Value::Object(expected.claims.clone())) {
        return Err(err(
            "credential_mismatch",
            format!(
                "the credential's claims must be exactly {}",
                Value::Object(expected.claims.clone())
            ),
        ));
    }
    if let Some(schema) = expected.schema {
        crate::cpts::validate_record_claims(schema, &expected.claims)?;
    }
    let info = verify_proof(vc, expected.issuer_key)
        .map_err(|e| err("credential_proof_invalid", e.to_string()))?;
    let method = format!("{}#{}", expected.issuer, expected.issuer_fragment);
    if info.verification_method != method || info.proof_purpose != ProofPurpose::AssertionMethod {
        return Err(err(
            "credential_proof_invalid",
            format!(
                "the proof must be an assertionMethod proof by {method}, the supplier's enrolled key"
            ),
        ));
    }
    // A standalone verifier checks the key at the proof's creation: it must be when the
    // enrolled key already acted for the supplier, and not in the future.
    match info.created {
        Some(created) if (expected.key_since_ms..=expected.at_ms).contains(&created) => {}
        _ => {
            return Err(err(
                "credential_proof_invalid",
                "the proof's created time must lie between the supplier key's enrolment and the block's time",
            ));
        }
    }
    Ok(())
}
