//! Verifiable Credentials (W3C VC Data Model 2.0): building and issuing.

use serde_json::{Map, Value, json};
use suanli_primitives::SecretKey;

use crate::VcError;
use crate::did::parse_did_url;
use crate::jcs::canonical_bytes;
use crate::proof::{ProofOptions, ProofPurpose, add_proof};
use crate::time::format_datetime_ms;

/// VC Data Model 2.0 base context.
pub const CREDENTIALS_CONTEXT_V2: &str = "https://www.w3.org/ns/credentials/v2";
/// Largest credential (canonical JSON, proof included), in bytes.
pub const CREDENTIAL_BYTES_MAX: usize = 64 * 1024;
/// Most types a credential may carry besides `VerifiableCredential`.
pub const CREDENTIAL_TYPES_MAX: usize = 8;

/// Purpose of a Bitstring Status List entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusPurpose {
    Revocation,
    Suspension,
}

impl StatusPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusPurpose::Revocation => "revocation",
            StatusPurpose::Suspension => "suspension",
        }
    }

    pub fn parse(s: &str) -> Option<StatusPurpose> {
        match s {
            "revocation" => Some(StatusPurpose::Revocation),
            "suspension" => Some(StatusPurpose::Suspension),
            _ => None,
        }
    }
}

/// `credentialSchema` of type `JsonSchema`: the id (URL or CPT id) of the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaRef {
    pub id: String,
}

/// `credentialStatus` of type `BitstringStatusListEntry`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRef {
    /// Id (URL) of the BitstringStatusListCredential.
    pub list_credential: String,
    pub index: u64,
    pub purpose: StatusPurpose,
}

/// A credential before it is signed.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialDraft {
    pub id: Option<String>,
    /// Types besides `VerifiableCredential`.
    pub types: Vec<String>,
    /// Issuer DID.
    pub issuer: String,
    /// `credentialSubject`; `"id"` is the holder's DID if there is a holder.
    pub subject: Map<String, Value>,
    /// Unix ms.
    pub valid_from: u64,
    pub valid_until: Option<u64>,
    pub schema: Option<SchemaRef>,
    pub status: Option<StatusRef>,
}

impl CredentialDraft {
    /// The unsecured credential (no proof). Times after 9999-12-31 are written as that
    /// instant; [`issue`] and [`CredentialDraft::check`] reject them instead.
    pub fn to_unsecured(&self) -> Value {
        let fmt =
            |ms: u64| format_datetime_ms(ms.min(crate::time::TIME_MS_MAX)).unwrap_or_default();
        let mut vc = Map::new();
        vc.insert("@context".into(), json!([CREDENTIALS_CONTEXT_V2]));
        if let Some(id) = &self.id {
            vc.insert("id".into(), id.as_str().into());
        }
        let mut types = vec![Value::from("VerifiableCredential")];
        types.extend(
            self.types
                .iter()
                .filter(|t| t.as_str() != "VerifiableCredential")
                .map(|t| Value::from(t.as_str())),
        );
        vc.insert("type".into(), Value::Array(types));
        vc.insert("issuer".into(), self.issuer.as_str().into());
        vc.insert("validFrom".into(), fmt(self.valid_from).into());
        if let Some(until) = self.valid_until {
            vc.insert("validUntil".into(), fmt(until).into());
        }
        vc.insert(
            "credentialSubject".into(),
            Value::Object(self.subject.clone()),
        );
        if let Some(schema) = &self.schema {
            vc.insert(
                "credentialSchema".into(),
                json!({"id": schema.id, "type": "JsonSchema"}),
            );
        }
        if let Some(status) = &self.status {
            vc.insert(
                "credentialStatus".into(),
                json!({
                    "id": format!("{}#{}", status.list_credential, status.index),
                    "type": "BitstringStatusListEntry",
                    "statusPurpose": status.purpose.as_str(),
                    "statusListIndex": status.index.to_string(),
                    "statusListCredential": status.list_credential,
                }),
            );
        }
        Value::Object(vc)
    }

    /// Checks what [`to_unsecured`](Self::to_unsecured) cannot express as an error.
    pub fn check(&self) -> Result<(), VcError> {
        parse_did_url(&self.issuer)?;
        if self.issuer.contains('#') {
            return Err(VcError::InvalidDid(format!(
                "issuer {} must be a DID, not a DID URL",
                self.issuer
            )));
        }
        if let Some(Value::String(subject)) = self.subject.get("id") {
            parse_did_url(subject)?;
        } else if self.subject.contains_key("id") {
            return Err(VcError::MalformedDocument(
                "credentialSubject.id must be a string".into(),
            ));
        }
        if self.types.len() > CREDENTIAL_TYPES_MAX {
            return Err(VcError::TooMany {
                what: "credential types",
                count: self.types.len(),
                max: CREDENTIAL_TYPES_MAX,
            });
        }
        format_datetime_ms(self.valid_from)?;
        if let Some(until) = self.valid_until {
            format_datetime_ms(until)?;
            if until < self.valid_from {
                return Err(VcError::MalformedDocument(
                    "validUntil is before validFrom".into(),
                ));
            }
        }
        Ok(())
    }
}

/// Issues (signs) a credential: proof purpose `assertionMethod`, `created` = `created_ms`.
/// `verification_method` must be a DID URL of the issuer's key.
pub fn issue(
    draft: &CredentialDraft,
    verification_method: &str,
    created_ms: u64,
    key: &SecretKey,
) -> Result<Value, VcError> {
    draft.check()?;
    let vm = parse_did_url(verification_method)?;
    if vm.did != draft.issuer {
        return Err(VcError::MalformedDocument(format!(
            "verification method {verification_method} does not belong to issuer {}",
            draft.issuer
        )));
    }
    let options = ProofOptions {
        verification_method: verification_method.to_string(),
        proof_purpose: ProofPurpose::AssertionMethod,
        created: Some(format_datetime_ms(created_ms)?),
        challenge: None,
        domain: None,
    };
    let vc = add_proof(&draft.to_unsecured(), &options, key)?;
    check_size(&vc, "credential", CREDENTIAL_BYTES_MAX)?;
    Ok(vc)
}

/// Like [`issue`], but first validates the claims (`credentialSubject` without `id`)
/// against `schema`, the CPT that `draft.schema` names — claims are checked at issuance
/// as well as at verification. Fails with [`VcError::ClaimsViolateSchema`].
pub fn issue_with_schema(
    draft: &CredentialDraft,
    schema: &Value,
    verification_method: &str,
    created_ms: u64,
    key: &SecretKey,
) -> Result<Value, VcError> {
    if draft.schema.is_none() {
        return Err(VcError::MalformedDocument(
            "the draft names no credentialSchema to validate against".into(),
        ));
    }
    let mut claims = draft.subject.clone();
    claims.remove("id");
    crate::cpt::validate_claims(schema, &Value::Object(claims))?;
    issue(draft, verification_method, created_ms, key)
}

pub(crate) fn check_size(v: &Value, what: &'static str, max_bytes: usize) -> Result<(), VcError> {
    let bytes = canonical_bytes(v)?.len();
    if bytes > max_bytes {
        return Err(VcError::TooLarge {
            what,
            bytes,
            max_bytes,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::did_key::DidKey;

    pub(crate) fn draft(issuer: &str) -> CredentialDraft {
        let mut subject = Map::new();
        subject.insert("id".into(), "did:example:holder".into());
        subject.insert("name".into(), "Ada".into());
        CredentialDraft {
            id: Some("urn:uuid:1".into()),
            types: vec!["KycCredential".into()],
            issuer: issuer.into(),
            subject,
            valid_from: 1_704_067_200_000,
            valid_until: Some(1_735_689_600_000),
            schema: Some(SchemaRef { id: "cpt:7".into() }),
            status: Some(StatusRef {
                list_credential: "https://example.org/status/1".into(),
                index: 94_567,
                purpose: StatusPurpose::Revocation,
            }),
        }
    }

    #[test]
    fn unsecured_shape() {
        let vc = draft("did:example:issuer").to_unsecured();
        assert_eq!(vc["@context"], json!([CREDENTIALS_CONTEXT_V2]));
        assert_eq!(vc["type"], json!(["VerifiableCredential", "KycCredential"]));
        assert_eq!(vc["validFrom"], "2024-01-01T00:00:00Z");
        assert_eq!(vc["validUntil"], "2025-01-01T00:00:00Z");
        assert_eq!(
            vc["credentialSchema"],
            json!({"id": "cpt:7", "type": "JsonSchema"})
        );
        assert_eq!(vc["credentialStatus"]["statusListIndex"], "94567");
        assert_eq!(vc["credentialStatus"]["type"], "BitstringStatusListEntry");
        assert_eq!(vc["credentialStatus"]["statusPurpose"], "revocation");
    }

    #[test]
    fn issue_checks_the_draft() {
        let key = SecretKey::from_label("issuer");
        let dk = DidKey::from_public_key(&key.public());
        let vm = dk.verification_method_id();
        let vc = issue(&draft(dk.did()), &vm, 1_704_067_200_000, &key).unwrap();
        assert_eq!(vc["proof"]["proofPurpose"], "assertionMethod");
        assert_eq!(vc["proof"]["created"], "2024-01-01T00:00:00Z");

        assert!(issue(&draft("not a did"), &vm, 0, &key).is_err());
        assert!(issue(&draft("did:example:other"), &vm, 0, &key).is_err());
        let mut d = draft(dk.did());
        d.valid_until = Some(0);
        assert!(issue(&d, &vm, 0, &key).is_err());
        let mut d = draft(dk.did());
        d.subject
            .insert("blob".into(), "x".repeat(CREDENTIAL_BYTES_MAX).into());
        assert!(matches!(
            issue(&d, &vm, 0, &key),
            Err(VcError::TooLarge { .. })
        ));
    }

    #[test]
    fn issue_with_schema_validates_claims_first() {
        let key = SecretKey::from_label("issuer");
        let dk = DidKey::from_public_key(&key.public());
        let vm = dk.verification_method_id();
        let schema = json!({"title": "t", "description": "d", "type": "object",
            "properties": {"name": {"type": "string"}}, "additionalProperties": false});
        assert!(issue_with_schema(&draft(dk.did()), &schema, &vm, 0, &key).is_ok());
        let mut d = draft(dk.did());
        d.subject.insert("name".into(), 7.into());
        assert!(matches!(
            issue_with_schema(&d, &schema, &vm, 0, &key),
            Err(VcError::ClaimsViolateSchema { path, .. }) if path == "/name"
        ));
        d.schema = None;
        assert!(issue_with_schema(&d, &schema, &vm, 0, &key).is_err());
    }
}
