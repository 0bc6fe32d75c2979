//! Supplier onboarding rules (`docs/supply.md` §1): the supplier types of seed 004, and
//! the checks a **qualification credential** passes when an applicant presents it — its
//! size and shape, and that it is about the applicant. Whether it *verifies* (signature,
//! issuer admitted for its CPT, status, claims) is asked of the identity chain at review;
//! this module only decides what can be decided without the chain. Pure: no I/O.
//!
//! The subject is the company, named by the claim `unifiedSocialCreditCode` (the name the
//! built-in `kyc-supplier` template uses), without a `credentialSubject.id`: the applicant
//! has no DID before it registers (its key is made at registration), and W3C subject ids
//! are URLs, which a credit code is not. A qualification CPT meant for supplier onboarding
//! therefore has a `unifiedSocialCreditCode` property.

use serde_json::Value;

use crate::OrgKind;
use crate::validate::CreditCode;

/// Largest qualification credential accepted, in bytes of its JSON text.
pub const QUALIFICATION_BYTES_MAX: usize = 16 * 1024;
/// The claim naming the company a qualification credential is about.
pub const USCC_CLAIM: &str = "unifiedSocialCreditCode";

/// The supplier types of seed 004.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SupplierType {
    /// Resource supplier (资源供应商): the platform manages and schedules its devices.
    Resource,
    /// Product supplier (产品供应商): it runs its own resources and connects by API.
    Api,
}

impl SupplierType {
    /// The organisation kind of this supplier type.
    pub fn org_kind(self) -> OrgKind {
        match self {
            SupplierType::Resource => OrgKind::SupplierResource,
            SupplierType::Api => OrgKind::SupplierApi,
        }
    }

    /// Parses an organisation kind's text (`supplier_resource`, `supplier_api`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "supplier_resource" => Some(SupplierType::Resource),
            "supplier_api" => Some(SupplierType::Api),
            _ => None,
        }
    }
}

/// Why a presented qualification credential is refused at submission. Each has a stable
/// code (`docs/api-errors.md`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QualificationError {
    /// Not JSON, not an object, or not a W3C credential with issuer, schema and proof.
    #[error("not a W3C credential: {0}")]
    Malformed(String),
    /// More than [`QUALIFICATION_BYTES_MAX`] bytes.
    #[error("the credential is {0} bytes, more than 16384")]
    TooLarge(usize),
    /// Its subject is not the applicant.
    #[error("the credential is about {found:?}, not about {expected:?}")]
    SubjectMismatch {
        /// The subject the applicant must be.
        expected: String,
        /// The credential's subject id.
        found: String,
    },
}

impl QualificationError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            QualificationError::Malformed(_) => "qualification_malformed",
            QualificationError::TooLarge(_) => "qualification_too_large",
            QualificationError::SubjectMismatch { .. } => "qualification_subject_mismatch",
        }
    }
}

/// A qualification credential that passed the submission checks: the credential and the
/// facts the platform lists before it is verified.
#[derive(Debug, Clone, PartialEq)]
pub struct PresentedQualification {
    credential: Value,
    issuer: String,
    schema_id: String,
    text: String,
}

impl PresentedQualification {
    /// The credential.
    pub fn credential(&self) -> &Value {
        &self.credential
    }
    /// Its issuer's DID.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
    /// Its `credentialSchema.id` (the CPT URN, `urn:suanli:<network>:cpt:<id>:<version>`).
    pub fn schema_id(&self) -> &str {
        &self.schema_id
    }
    /// The credential as compact JSON text (what is stored).
    pub fn text(&self) -> &str {
        &self.text
    }
}

fn malformed(why: &str) -> QualificationError {
    QualificationError::Malformed(why.to_owned())
}

/// The submission checks of a qualification credential presented by the company with
/// `code`: at most [`QUALIFICATION_BYTES_MAX`] bytes; a JSON object whose `type` holds
/// `VerifiableCredential`, with a `did:suanli` issuer, one `credentialSchema` naming a
/// suanli CPT, a `proof`, and one `credentialSubject` without `id` whose
/// `unifiedSocialCreditCode` is `code`.
pub fn check_presented(
    credential: &Value,
    code: &CreditCode,
) -> Result<PresentedQualification, QualificationError> {
    let text = credential.to_string();
    if text.len() > QUALIFICATION_BYTES_MAX {
        return Err(QualificationError::TooLarge(text.len()));
    }
    let doc = credential
        .as_object()
        .ok_or_else(|| malformed("a credential is a JSON object"))?;
    let typed = match doc.get("type") {
        Some(Value::Array(types)) => types.iter().any(|t| t == "VerifiableCredential"),
        _ => false,
    };
    if !typed {
        return Err(malformed("type must list VerifiableCredential"));
    }
    let issuer = match doc.get("issuer") {
        Some(Value::String(s)) => s.as_str(),
        Some(Value::Object(o)) => o.get("id").and_then(Value::as_str).unwrap_or_default(),
        _ => "",
    };
    if !issuer.starts_with("did:suanli:") {
        return Err(malformed(
            "issuer must be the did:suanli DID of the authority or an admitted issuer",
        ));
    }
    let schema_id = doc
        .get("credentialSchema")
        .and_then(|s| s.get("id"))
        .and_then(Value::as_str)
        .filter(|id| id.starts_with("urn:suanli:") && id.contains(":cpt:"))
        .ok_or_else(|| malformed("credentialSchema.id must name a CPT (urn:suanli:…:cpt:…)"))?;
    if !doc.get("proof").is_some_and(Value::is_object) {
        return Err(malformed("the credential is not signed (no proof)"));
    }
    let subject = doc
        .get("credentialSubject")
        .and_then(Value::as_object)
        .ok_or_else(|| malformed("credentialSubject must be one object"))?;
    if subject.contains_key("id") {
        return Err(malformed(
            "credentialSubject must name the company by unifiedSocialCreditCode, without an id",
        ));
    }
    let named = subject
        .get(USCC_CLAIM)
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !named.trim().eq_ignore_ascii_case(code.as_str()) {
        return Err(QualificationError::SubjectMismatch {
            expected: code.as_str().to_owned(),
            found: named.to_owned(),
        });
    }
    Ok(PresentedQualification {
        credential: credential.clone(),
        issuer: issuer.to_owned(),
        schema_id: schema_id.to_owned(),
        text,
    })
}

/// The `qualifications` entry of a `kyc-supplier` credential for a verified qualification
/// credential: `name` the CPT's title, `number` the credential's `id` (when it has one of
/// at most 100 characters) or else `sha256:<hex>` of its JSON text, `issuedBy` the issuer,
/// `validUntil` its end of validity in Unix ms when it has one.
pub fn kyc_entry(
    cpt_title: &str,
    q: &PresentedQualification,
    valid_until_ms: Option<u64>,
) -> Value {
    use sha2::Digest;
    let number = q
        .credential
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty() && id.chars().count() <= 100)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("sha256:{}", hex::encode(sha2::Sha256::digest(&q.text))));
    let name: String = cpt_title.chars().take(200).collect();
    let mut entry = serde_json::json!({
        "name": if name.is_empty() { "qualification".to_owned() } else { name },
        "number": number,
    });
    if q.issuer.chars().count() <= 200 {
        entry["issuedBy"] = Value::String(q.issuer.clone());
    }
    if let Some(until) = valid_until_ms {
        entry["validUntil"] = Value::from(until);
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CODE: &str = "91350100M000100Y43";

    fn code() -> CreditCode {
        CreditCode::parse(CODE).unwrap()
    }

    fn vc() -> Value {
        json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential", "DataCentreLicence"],
            "issuer": "did:suanli:test:abc",
            "credentialSchema": {"id": "urn:suanli:test:cpt:1000:1", "type": "JsonSchema"},
            "credentialSubject": {"unifiedSocialCreditCode": CODE, "licence": "IDC-1"},
            "proof": {"type": "DataIntegrityProof"}
        })
    }

    #[test]
    fn a_well_formed_credential_about_the_applicant_passes() {
        let q = check_presented(&vc(), &code()).unwrap();
        assert_eq!(q.issuer(), "did:suanli:test:abc");
        assert_eq!(q.schema_id(), "urn:suanli:test:cpt:1000:1");
        let entry = kyc_entry("IDC licence", &q, Some(5));
        assert_eq!(entry["name"], "IDC licence");
        assert!(entry["number"].as_str().unwrap().starts_with("sha256:"));
        assert_eq!(entry["validUntil"], 5);
    }

    #[test]
    fn each_submission_failure_has_its_code() {
        let cases: Vec<(Value, &str)> = vec![
            (json!("text"), "qualification_malformed"),
            (json!({"type": ["Other"]}), "qualification_malformed"),
            (
                {
                    let mut v = vc();
                    v["issuer"] = json!("did:key:z6Mk");
                    v
                },
                "qualification_malformed",
            ),
            (
                {
                    let mut v = vc();
                    v["credentialSchema"] = json!({"id": "https://example.com/s"});
                    v
                },
                "qualification_malformed",
            ),
            (
                {
                    let mut v = vc();
                    v.as_object_mut().unwrap().remove("proof");
                    v
                },
                "qualification_malformed",
            ),
            (
                {
                    let mut v = vc();
                    v["credentialSubject"]["unifiedSocialCreditCode"] = json!("91110000802100433B");
                    v
                },
                "qualification_subject_mismatch",
            ),
            (
                {
                    let mut v = vc();
                    v["credentialSubject"]["id"] = json!("did:suanli:test:someone");
                    v
                },
                "qualification_malformed",
            ),
            (
                {
                    let mut v = vc();
                    v["padding"] = json!("x".repeat(QUALIFICATION_BYTES_MAX));
                    v
                },
                "qualification_too_large",
            ),
        ];
        for (v, want) in cases {
            assert_eq!(
                check_presented(&v, &code()).unwrap_err().code(),
                want,
                "{v}"
            );
        }
    }

    #[test]
    fn supplier_types_are_the_two_supplier_kinds() {
        assert_eq!(
            SupplierType::parse("supplier_resource").map(SupplierType::org_kind),
            Some(OrgKind::SupplierResource)
        );
        assert_eq!(
            SupplierType::parse("supplier_api").map(SupplierType::org_kind),
            Some(OrgKind::SupplierApi)
        );
        assert_eq!(SupplierType::parse("enterprise"), None);
    }
}
