//! The verifier: runs every check on a credential or presentation and reports each one
//! separately, with a stable code for each failure.
//!
//! Credential checks, in order: `proof`, `issuer_key`, `schema`, `validity_period`,
//! `status`. Presentation checks: `proof`, `holder_key`, `holder_binding`, and a report per
//! embedded credential. All checks run; only the signature check depends on another (it
//! needs the key): when the key lookup fails, `proof` is skipped ("issuer key unavailable")
//! and `issuer_key` carries the failure.
//!
//! Failure codes ([`FAILURE_CODES`]), by check:
//!
//! | check | code | meaning |
//! | --- | --- | --- |
//! | proof | `credential_malformed` / `presentation_malformed` | not a JSON object; or correctly signed but not a Data Model 2.0 credential/presentation (first `@context`, `type`, `issuer`, `credentialSubject`); or more than `PRESENTATION_CREDENTIALS_MAX` credentials |
//! | proof | `document_too_large` | over `CREDENTIAL_BYTES_MAX` / `PRESENTATION_BYTES_MAX` |
//! | proof | `proof_missing` | no `proof` |
//! | proof | `proof_malformed` | unparseable proof: wrong type or cryptosuite, missing field, bad `created`, bad multibase, unsupported purpose, proof set |
//! | proof | `proof_signature_invalid` | the signature does not verify: some signed field (of the document or the proof) changed |
//! | proof | `proof_purpose_mismatch` | valid signature, but `assertionMethod` expected for credentials / `authentication` for presentations |
//! | issuer_key, holder_key | `did_invalid` | the verification method is not a DID URL with a fragment, or the resolver calls the DID invalid |
//! | issuer_key, holder_key | `did_not_found` | unknown DID or verification method |
//! | issuer_key, holder_key | `did_method_not_supported` | no resolver for the DID method |
//! | issuer_key | `issuer_deactivated` | the issuer's DID is deactivated (the chain resolver counts a deactivation at any time: it withdraws everything the DID signed) |
//! | holder_key | `holder_deactivated` | the holder's DID was deactivated when presenting |
//! | issuer_key | `key_not_valid_at_issuance` | the key was not (yet / any more) valid at `proof.created` (else `validFrom`) |
//! | holder_key | `key_not_valid_at_presentation` | the same for the presentation's `created` |
//! | issuer_key, holder_key | `key_lookup_unavailable` | the resolver could not answer (e.g. node unreachable) |
//! | issuer_key | `issuance_time_missing` | neither `proof.created` nor `validFrom` |
//! | issuer_key | `issuer_mismatch` | the proof's verification method belongs to another DID than `issuer` |
//! | holder_key, holder_binding | `holder_mismatch` | the presentation is not signed by its `holder`, or a credential's subject `id` is not the holder (or absent: bearer credentials are not accepted in presentations) |
//! | schema | `schema_malformed`, `schema_type_unsupported` | `credentialSchema` lacks `id`/`type`, or its type is not `JsonSchema` |
//! | schema | `schema_not_found`, `schema_unavailable` | lookup failed (unknown / could not answer) |
//! | schema | `schema_invalid` | the schema itself does not compile |
//! | schema | `claims_violate_schema` | `credentialSubject` minus `id` violates the schema; the message names the JSON pointer |
//! | validity_period | `validity_malformed` | `validFrom`/`validUntil` not an XML Schema dateTime |
//! | validity_period | `not_yet_valid`, `expired` | now < `validFrom`, now > `validUntil` |
//! | status | `status_malformed` | not a `BitstringStatusListEntry` with purpose, decimal index and list |
//! | status | `revoked`, `suspended` | the status bit is set |
//! | status | `status_unavailable` | the status lookup failed |
//! | holder_binding | `challenge_mismatch`, `domain_mismatch` | the presentation proof's `challenge`/`domain` is not the verifier's |
//!
//! Lookups (keys at a time, schemas, status bits) are traits the caller implements; the
//! chain-backed implementations live above this crate. [`DidKeyResolver`] resolves
//! `did:key` without a chain and [`ChainedResolver`] tries several resolvers in turn.

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeStruct};
use serde_json::{Map, Value};
use suanli_primitives::PublicKey;

use crate::credential::{CREDENTIAL_BYTES_MAX, CREDENTIALS_CONTEXT_V2, StatusPurpose};
use crate::did::parse_did_url;
use crate::did_key::DidKey;
use crate::jcs::canonical_bytes;
use crate::presentation::{PRESENTATION_BYTES_MAX, PRESENTATION_CREDENTIALS_MAX};
use crate::proof::{ProofInfo, ProofPurpose, proof_info, verify_proof};
use crate::time::parse_datetime_ms;
use crate::{VcError, cpt};

/// Every failure code the verifier reports (stable API: the edge exposes them).
pub const FAILURE_CODES: &[&str] = &[
    "credential_malformed",
    "presentation_malformed",
    "document_too_large",
    "proof_missing",
    "proof_malformed",
    "proof_signature_invalid",
    "proof_purpose_mismatch",
    "did_invalid",
    "did_not_found",
    "did_method_not_supported",
    "issuer_deactivated",
    "holder_deactivated",
    "key_not_valid_at_issuance",
    "key_not_valid_at_presentation",
    "key_lookup_unavailable",
    "issuance_time_missing",
    "issuer_mismatch",
    "holder_mismatch",
    "schema_malformed",
    "schema_type_unsupported",
    "schema_not_found",
    "schema_unavailable",
    "schema_invalid",
    "claims_violate_schema",
    "validity_malformed",
    "not_yet_valid",
    "expired",
    "status_malformed",
    "revoked",
    "suspended",
    "status_unavailable",
    "challenge_mismatch",
    "domain_mismatch",
    "issuer_not_admitted",
    "status_list_not_issuers",
    "proof_created_in_future",
];

/// Most `credentialSchema` or `credentialStatus` entries one credential may carry (each
/// costs lookups and a schema validation).
pub const REFERENCES_MAX: usize = 4;
/// How far a proof's `created` may lie ahead of the verifier's clock, in milliseconds.
pub const CLOCK_SKEW_MS_MAX: u64 = 5 * 60 * 1000;

/// Why a lookup failed. Mirrors DID resolution errors (`invalidDid`, `notFound`,
/// `methodNotSupported`) plus what a verifier needs to know about keys and time.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    #[error("invalid DID: {0}")]
    InvalidDid(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("DID method not supported: {0}")]
    MethodNotSupported(String),
    #[error("DID deactivated: {0}")]
    Deactivated(String),
    #[error("key {verification_method} was not valid at {at_ms} ms")]
    KeyNotValidAt {
        verification_method: String,
        at_ms: u64,
    },
    #[error("lookup unavailable: {0}")]
    Unavailable(String),
    /// The issuer lacks the authority the resource requires.
    #[error("not authorised: {0}")]
    NotAuthorised(String),
}

pub trait KeyResolver {
    /// Key of `verification_method` (a DID URL) as valid at `at_ms` **for `purpose`** (the
    /// method must hold the matching verification relationship: assertionMethod for
    /// credentials, authentication for presentations); also says whether its DID was
    /// deactivated (`LookupError::Deactivated`).
    fn key_at(
        &self,
        verification_method: &str,
        at_ms: u64,
        purpose: ProofPurpose,
    ) -> Result<PublicKey, LookupError>;
}

pub trait SchemaResolver {
    fn schema(&self, schema_id: &str) -> Result<Value, LookupError>;

    /// Whether `issuer` may issue credentials under `schema_id` at `at_ms` (e.g.
    /// qualification templates need an admitted issuer). `Err(NotAuthorised)` when not.
    fn issuer_may_use(
        &self,
        _schema_id: &str,
        _issuer: &str,
        _at_ms: u64,
    ) -> Result<(), LookupError> {
        Ok(())
    }
}

pub trait StatusResolver {
    /// Is bit `index` of list `list_credential` set (for `purpose`)? The list must be
    /// `issuer`'s own (`Err(NotAuthorised)` otherwise): a credential pointing at someone
    /// else's list could never be revoked by its issuer.
    fn is_set(
        &self,
        list_credential: &str,
        purpose: StatusPurpose,
        index: u64,
        issuer: &str,
    ) -> Result<bool, LookupError>;
}

/// Resolves `did:key` verification methods (`did:key:z6Mk…#z6Mk…`); any time is fine,
/// since a did:key never changes. Other methods answer `MethodNotSupported`.
#[derive(Debug, Clone, Copy, Default)]
pub struct DidKeyResolver;

impl KeyResolver for DidKeyResolver {
    fn key_at(
        &self,
        verification_method: &str,
        _at_ms: u64,
        _purpose: ProofPurpose,
    ) -> Result<PublicKey, LookupError> {
        // A did:key's one method holds every relationship.
        let url = parse_did_url(verification_method)
            .map_err(|e| LookupError::InvalidDid(e.to_string()))?;
        if url.method != "key" {
            return Err(LookupError::MethodNotSupported(url.method.to_string()));
        }
        let dk = DidKey::parse(url.did).map_err(|e| LookupError::InvalidDid(e.to_string()))?;
        if dk.verification_method_id() != verification_method {
            return Err(LookupError::NotFound(format!(
                "{verification_method}: a did:key has only the method {}",
                dk.verification_method_id()
            )));
        }
        Ok(dk.public_key())
    }
}

/// Tries each resolver in order; a resolver answering `MethodNotSupported` passes the
/// question to the next one, any other answer is final — so a resolver must answer
/// `MethodNotSupported` (not `InvalidDid`) for DID methods it does not handle. Empty or all
/// unsupported → `MethodNotSupported`.
pub struct ChainedResolver<'a>(pub Vec<&'a dyn KeyResolver>);

impl std::fmt::Debug for ChainedResolver<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChainedResolver({} resolvers)", self.0.len())
    }
}

impl KeyResolver for ChainedResolver<'_> {
    fn key_at(
        &self,
        verification_method: &str,
        at_ms: u64,
        purpose: ProofPurpose,
    ) -> Result<PublicKey, LookupError> {
        let mut last = LookupError::MethodNotSupported(
            parse_did_url(verification_method)
                .map(|u| u.method.to_string())
                .unwrap_or_else(|_| verification_method.chars().take(80).collect()),
        );
        for resolver in &self.0 {
            match resolver.key_at(verification_method, at_ms, purpose) {
                Err(e @ LookupError::MethodNotSupported(_)) => last = e,
                other => return other,
            }
        }
        Err(last)
    }
}

/// The checks, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CheckName {
    Proof,
    IssuerKey,
    Schema,
    ValidityPeriod,
    Status,
    /// Presentations: the holder's key, looked up at the presentation's `created`.
    HolderKey,
    HolderBinding,
}

impl CheckName {
    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckName::Proof => "proof",
            CheckName::IssuerKey => "issuer_key",
            CheckName::Schema => "schema",
            CheckName::ValidityPeriod => "validity_period",
            CheckName::Status => "status",
            CheckName::HolderKey => "holder_key",
            CheckName::HolderBinding => "holder_binding",
        }
    }
}

impl Serialize for CheckName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    Passed,
    Failed { code: &'static str, message: String },
    Skipped(String),
}

impl CheckOutcome {
    fn failed(code: &'static str, message: impl Into<String>) -> Self {
        debug_assert!(FAILURE_CODES.contains(&code), "undocumented code {code}");
        CheckOutcome::Failed {
            code,
            message: message.into(),
        }
    }
}

/// Every check of one credential or presentation; for presentations also one report per
/// embedded credential. Serialises as
/// `{"ok":…,"first_failure":{check,code,message}|null,"checks":[{check,outcome,code?,message?}],"credentials":[…]}`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VerificationReport {
    pub checks: Vec<(CheckName, CheckOutcome)>,
    /// Presentations: one report per embedded credential, in order.
    pub credentials: Vec<VerificationReport>,
}

impl VerificationReport {
    /// No check failed here or in any embedded credential.
    pub fn ok(&self) -> bool {
        self.first_failure().is_none()
    }

    /// The first failed check (own checks first, then embedded credentials in order).
    pub fn first_failure(&self) -> Option<(CheckName, &'static str, &str)> {
        self.checks
            .iter()
            .find_map(|(name, outcome)| match outcome {
                CheckOutcome::Failed { code, message } => Some((*name, *code, message.as_str())),
                _ => None,
            })
            .or_else(|| self.credentials.iter().find_map(|c| c.first_failure()))
    }

    /// The outcome of `name`, if it ran.
    pub fn outcome(&self, name: CheckName) -> Option<&CheckOutcome> {
        self.checks.iter().find(|(n, _)| *n == name).map(|(_, o)| o)
    }

    fn push(&mut self, name: CheckName, outcome: CheckOutcome) {
        self.checks.push((name, outcome));
    }
}

struct CheckJson<'a>(CheckName, &'a CheckOutcome);

impl Serialize for CheckJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("check", self.0.as_str())?;
        match self.1 {
            CheckOutcome::Passed => m.serialize_entry("outcome", "passed")?,
            CheckOutcome::Failed { code, message } => {
                m.serialize_entry("outcome", "failed")?;
                m.serialize_entry("code", code)?;
                m.serialize_entry("message", message)?;
            }
            CheckOutcome::Skipped(reason) => {
                m.serialize_entry("outcome", "skipped")?;
                m.serialize_entry("message", reason)?;
            }
        }
        m.end()
    }
}

struct FailureJson<'a>(CheckName, &'static str, &'a str);

impl Serialize for FailureJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("check", self.0.as_str())?;
        m.serialize_entry("code", self.1)?;
        m.serialize_entry("message", self.2)?;
        m.end()
    }
}

impl Serialize for VerificationReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("VerificationReport", 4)?;
        st.serialize_field("ok", &self.ok())?;
        st.serialize_field(
            "first_failure",
            &self.first_failure().map(|(n, c, m)| FailureJson(n, c, m)),
        )?;
        let checks: Vec<CheckJson<'_>> =
            self.checks.iter().map(|(n, o)| CheckJson(*n, o)).collect();
        st.serialize_field("checks", &checks)?;
        st.serialize_field("credentials", &self.credentials)?;
        st.end()
    }
}

/// Verifies credentials and presentations against the caller's lookups.
pub struct Verifier<'a> {
    pub keys: &'a dyn KeyResolver,
    pub schemas: &'a dyn SchemaResolver,
    pub status: &'a dyn StatusResolver,
}

impl std::fmt::Debug for Verifier<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Verifier")
    }
}

/// At which time the signer's key must have been valid.
#[derive(Debug, Clone, Copy)]
enum KeyTime {
    /// A credential: at the proof's `created` (else `validFrom`), which may not lie in the
    /// verifier's future.
    Issued {
        fallback_at: Option<u64>,
        now_ms: u64,
    },
    /// A presentation: now.
    Now(u64),
}

/// Result of the proof + key checks shared by credentials and presentations.
struct Signed {
    proof: CheckOutcome,
    key: CheckOutcome,
    info: Option<ProofInfo>,
}

impl Verifier<'_> {
    /// Verifies a credential at `now_ms`.
    pub fn verify_credential(&self, vc: &Value, now_ms: u64) -> VerificationReport {
        let mut report = VerificationReport::default();
        let Some(doc) = well_formed(vc, "credential", CREDENTIAL_BYTES_MAX, &mut report) else {
            return report;
        };
        let issuer = match doc.get("issuer") {
            Some(Value::String(s)) => Some(s.as_str()),
            Some(Value::Object(o)) => o.get("id").and_then(Value::as_str),
            _ => None,
        };
        let fallback_at = doc
            .get("validFrom")
            .and_then(Value::as_str)
            .and_then(|s| parse_datetime_ms(s).ok());
        let signed = self.proof_and_key(
            vc,
            ProofPurpose::AssertionMethod,
            issuer,
            "issuer",
            KeyTime::Issued {
                fallback_at,
                now_ms,
            },
        );
        // A correctly signed document must still be a VC Data Model 2.0 credential.
        let proof = match (signed.proof, shape_error(doc, "VerifiableCredential")) {
            (CheckOutcome::Passed, Some(why)) => CheckOutcome::failed("credential_malformed", why),
            (outcome, _) => outcome,
        };
        let signature_ok = proof == CheckOutcome::Passed && signed.key == CheckOutcome::Passed;
        report.push(CheckName::Proof, proof);
        report.push(CheckName::IssuerKey, signed.key);
        // Lookups and schema validation cost work: only for documents the issuer signed.
        let (schema, status) = match (signature_ok, issuer) {
            (true, Some(issuer)) => {
                let at = signed
                    .info
                    .as_ref()
                    .and_then(|i| i.created)
                    .or(fallback_at)
                    .unwrap_or(now_ms);
                (
                    self.check_schema(doc, issuer, at),
                    self.check_status(doc, issuer),
                )
            }
            _ => {
                let why = || CheckOutcome::Skipped("the issuer's signature did not verify".into());
                (why(), why())
            }
        };
        report.push(CheckName::Schema, schema);
        report.push(CheckName::ValidityPeriod, check_validity(doc, now_ms));
        report.push(CheckName::Status, status);
        report
    }

    /// Verifies a presentation for the verifier that asked with `challenge` and `domain`,
    /// and every credential in it at `now_ms`.
    pub fn verify_presentation(
        &self,
        vp: &Value,
        challenge: &str,
        domain: &str,
        now_ms: u64,
    ) -> VerificationReport {
        let mut report = VerificationReport::default();
        let Some(doc) = well_formed(vp, "presentation", PRESENTATION_BYTES_MAX, &mut report) else {
            return report;
        };
        let holder = doc.get("holder").and_then(|h| match h {
            Value::String(s) => Some(s.as_str()),
            Value::Object(o) => o.get("id").and_then(Value::as_str),
            _ => None,
        });
        let credentials: Vec<&Value> = match doc.get("verifiableCredential") {
            None => Vec::new(),
            Some(Value::Array(items)) => items.iter().collect(),
            Some(single) => vec![single],
        };
        if credentials.len() > PRESENTATION_CREDENTIALS_MAX {
            report.push(
                CheckName::Proof,
                CheckOutcome::failed(
                    "presentation_malformed",
                    format!(
                        "{} credentials, more than {PRESENTATION_CREDENTIALS_MAX}",
                        credentials.len()
                    ),
                ),
            );
            return report;
        }
        // The holder's key must be valid now: a presentation answers a fresh challenge, so
        // its `created` (chosen by the signer) must not select an older key.
        let signed = self.proof_and_key(
            vp,
            ProofPurpose::Authentication,
            holder,
            "holder",
            KeyTime::Now(now_ms),
        );
        let proof = match (signed.proof, shape_error(doc, "VerifiablePresentation")) {
            (CheckOutcome::Passed, Some(why)) => {
                CheckOutcome::failed("presentation_malformed", why)
            }
            (outcome, _) => outcome,
        };
        report.push(CheckName::Proof, proof);
        report.push(CheckName::HolderKey, signed.key);
        report.push(
            CheckName::HolderBinding,
            check_binding(
                signed.info.as_ref(),
                holder,
                &credentials,
                challenge,
                domain,
            ),
        );
        report.credentials = credentials
            .iter()
            .map(|c| self.verify_credential(c, now_ms))
            .collect();
        report
    }

    fn proof_and_key(
        &self,
        doc: &Value,
        purpose: ProofPurpose,
        signer: Option<&str>,
        role: &str,
        time: KeyTime,
    ) -> Signed {
        let info = match proof_info(doc) {
            Ok(info) => info,
            Err(e) => {
                let code = match e {
                    VcError::ProofMissing => "proof_missing",
                    _ => "proof_malformed",
                };
                return Signed {
                    proof: CheckOutcome::failed(code, e.to_string()),
                    key: CheckOutcome::Skipped("no usable proof".into()),
                    info: None,
                };
            }
        };
        let key_result = self.lookup_key(&info, signer, role, time, purpose);
        let proof = match &key_result {
            Err(_) => CheckOutcome::Skipped(format!("{role} key unavailable")),
            Ok((key, _)) => match verify_proof(doc, key) {
                Ok(_) if info.proof_purpose != purpose => CheckOutcome::failed(
                    "proof_purpose_mismatch",
                    format!(
                        "proofPurpose is {}, expected {}",
                        info.proof_purpose.as_str(),
                        purpose.as_str()
                    ),
                ),
                Ok(_) => CheckOutcome::Passed,
                Err(e @ (VcError::SignatureInvalid | VcError::ProofContextMismatch)) => {
                    CheckOutcome::failed("proof_signature_invalid", e.to_string())
                }
                Err(e @ VcError::TooLarge { .. }) => {
                    CheckOutcome::failed("document_too_large", e.to_string())
                }
                Err(e) => CheckOutcome::failed("proof_malformed", e.to_string()),
            },
        };
        let key = match key_result {
            Ok((_, Some(mismatch))) => mismatch,
            Ok((_, None)) => CheckOutcome::Passed,
            Err(failure) => failure,
        };
        Signed {
            proof,
            key,
            info: Some(info),
        }
    }

    /// The signer's key, and an `issuer_mismatch` outcome when the key is fine but belongs
    /// to someone other than the document's issuer/holder.
    fn lookup_key(
        &self,
        info: &ProofInfo,
        signer: Option<&str>,
        role: &str,
        time: KeyTime,
        purpose: ProofPurpose,
    ) -> Result<(PublicKey, Option<CheckOutcome>), CheckOutcome> {
        let vm = &info.verification_method;
        let url =
            parse_did_url(vm).map_err(|e| CheckOutcome::failed("did_invalid", e.to_string()))?;
        if url.fragment.is_none() {
            return Err(CheckOutcome::failed(
                "did_invalid",
                format!("verificationMethod {vm} has no fragment naming a key"),
            ));
        }
        let at_ms = match time {
            KeyTime::Now(now) => now,
            KeyTime::Issued {
                fallback_at,
                now_ms,
            } => {
                let at = info.created.or(fallback_at).ok_or_else(|| {
                    CheckOutcome::failed(
                        "issuance_time_missing",
                        "the proof has no created time and the credential no validFrom",
                    )
                })?;
                if at > now_ms.saturating_add(CLOCK_SKEW_MS_MAX) {
                    return Err(CheckOutcome::failed(
                        "proof_created_in_future",
                        format!(
                            "the proof was created at {at} ms, after the verifier's clock ({now_ms} ms) plus {CLOCK_SKEW_MS_MAX} ms"
                        ),
                    ));
                }
                at
            }
        };
        let key = self.keys.key_at(vm, at_ms, purpose).map_err(|e| {
            let code = match (&e, role) {
                (LookupError::InvalidDid(_), _) => "did_invalid",
                (LookupError::NotFound(_), _) => "did_not_found",
                (LookupError::MethodNotSupported(_), _) => "did_method_not_supported",
                (LookupError::Deactivated(_), "issuer") => "issuer_deactivated",
                (LookupError::Deactivated(_), _) => "holder_deactivated",
                (LookupError::KeyNotValidAt { .. }, "issuer") => "key_not_valid_at_issuance",
                (LookupError::KeyNotValidAt { .. }, _) => "key_not_valid_at_presentation",
                (LookupError::Unavailable(_) | LookupError::NotAuthorised(_), _) => {
                    "key_lookup_unavailable"
                }
            };
            CheckOutcome::failed(code, e.to_string())
        })?;
        let mismatch = match signer {
            Some(s) if s == url.did => None,
            Some(s) => Some(CheckOutcome::failed(
                if role == "issuer" {
                    "issuer_mismatch"
                } else {
                    "holder_mismatch"
                },
                format!("the proof is by {}, the {role} is {s}", url.did),
            )),
            None => Some(CheckOutcome::failed(
                if role == "issuer" {
                    "issuer_mismatch"
                } else {
                    "holder_mismatch"
                },
                format!("the document names no {role}"),
            )),
        };
        Ok((key, mismatch))
    }

    fn check_schema(&self, doc: &Map<String, Value>, issuer: &str, issued_at: u64) -> CheckOutcome {
        let refs: Vec<&Value> = match doc.get("credentialSchema") {
            None => return CheckOutcome::Skipped("no credentialSchema".into()),
            Some(Value::Array(items)) => items.iter().collect(),
            Some(one) => vec![one],
        };
        if refs.len() > REFERENCES_MAX {
            return CheckOutcome::failed(
                "schema_malformed",
                format!(
                    "{} credentialSchema entries, more than {REFERENCES_MAX}",
                    refs.len()
                ),
            );
        }
        let subjects: Vec<&Value> = match doc.get("credentialSubject") {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(one) => vec![one],
            None => Vec::new(),
        };
        for r in refs {
            let (Some(id), Some(kind)) = (
                r.get("id").and_then(Value::as_str),
                r.get("type").and_then(Value::as_str),
            ) else {
                return CheckOutcome::failed(
                    "schema_malformed",
                    "credentialSchema needs a string id and type",
                );
            };
            if kind != "JsonSchema" {
                return CheckOutcome::failed(
                    "schema_type_unsupported",
                    format!("credentialSchema type {kind:?} (only JsonSchema)"),
                );
            }
            let schema = match self.schemas.schema(id) {
                Ok(s) => s,
                Err(LookupError::Unavailable(m)) => {
                    return CheckOutcome::failed("schema_unavailable", m);
                }
                Err(e) => return CheckOutcome::failed("schema_not_found", e.to_string()),
            };
            match self.schemas.issuer_may_use(id, issuer, issued_at) {
                Ok(()) => {}
                Err(LookupError::NotAuthorised(m)) => {
                    return CheckOutcome::failed("issuer_not_admitted", m);
                }
                Err(e) => return CheckOutcome::failed("schema_unavailable", e.to_string()),
            }
            for subject in &subjects {
                let mut claims = (*subject).clone();
                if let Value::Object(m) = &mut claims {
                    m.remove("id");
                }
                match cpt::validate_claims(&schema, &claims) {
                    Ok(()) => {}
                    Err(e @ VcError::ClaimsViolateSchema { .. }) => {
                        return CheckOutcome::failed("claims_violate_schema", e.to_string());
                    }
                    Err(e) => return CheckOutcome::failed("schema_invalid", e.to_string()),
                }
            }
        }
        CheckOutcome::Passed
    }

    fn check_status(&self, doc: &Map<String, Value>, issuer: &str) -> CheckOutcome {
        let entries: Vec<&Value> = match doc.get("credentialStatus") {
            None => return CheckOutcome::Skipped("no credentialStatus".into()),
            Some(Value::Array(items)) => items.iter().collect(),
            Some(one) => vec![one],
        };
        if entries.len() > REFERENCES_MAX {
            return CheckOutcome::failed(
                "status_malformed",
                format!(
                    "{} credentialStatus entries, more than {REFERENCES_MAX}",
                    entries.len()
                ),
            );
        }
        for entry in entries {
            let field = |name: &str| entry.get(name).and_then(Value::as_str);
            if field("type") != Some("BitstringStatusListEntry") {
                return CheckOutcome::failed(
                    "status_malformed",
                    "credentialStatus type must be BitstringStatusListEntry",
                );
            }
            let Some(purpose) = field("statusPurpose").and_then(StatusPurpose::parse) else {
                return CheckOutcome::failed(
                    "status_malformed",
                    "statusPurpose must be revocation or suspension",
                );
            };
            let index = field("statusListIndex")
                .filter(|s| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|s| s.parse::<u64>().ok());
            let (Some(index), Some(list)) = (index, field("statusListCredential")) else {
                return CheckOutcome::failed(
                    "status_malformed",
                    "statusListIndex must be a decimal string and statusListCredential a URL",
                );
            };
            match self.status.is_set(list, purpose, index, issuer) {
                Ok(false) => {}
                Ok(true) => {
                    let (code, what) = match purpose {
                        StatusPurpose::Revocation => ("revoked", "revoked"),
                        StatusPurpose::Suspension => ("suspended", "suspended"),
                    };
                    return CheckOutcome::failed(code, format!("{what}: bit {index} of {list}"));
                }
                Err(LookupError::NotAuthorised(m)) => {
                    return CheckOutcome::failed("status_list_not_issuers", m);
                }
                Err(e) => return CheckOutcome::failed("status_unavailable", e.to_string()),
            }
        }
        CheckOutcome::Passed
    }
}

fn well_formed<'v>(
    v: &'v Value,
    what: &'static str,
    max_bytes: usize,
    report: &mut VerificationReport,
) -> Option<&'v Map<String, Value>> {
    let code = if what == "credential" {
        "credential_malformed"
    } else {
        "presentation_malformed"
    };
    let Some(doc) = v.as_object() else {
        report.push(
            CheckName::Proof,
            CheckOutcome::failed(code, format!("a {what} must be a JSON object")),
        );
        return None;
    };
    match canonical_bytes(v) {
        Ok(bytes) if bytes.len() <= max_bytes => Some(doc),
        Ok(bytes) => {
            report.push(
                CheckName::Proof,
                CheckOutcome::failed(
                    "document_too_large",
                    format!("{what} is {} bytes, more than {max_bytes}", bytes.len()),
                ),
            );
            None
        }
        Err(e) => {
            report.push(CheckName::Proof, CheckOutcome::failed(code, e.to_string()));
            None
        }
    }
}

/// What makes `doc` not a VC Data Model 2.0 credential/presentation of type `kind`: the
/// first `@context` must be the v2 context and `type` must include `kind`; credentials
/// need an `issuer` and a `credentialSubject`.
fn shape_error(doc: &Map<String, Value>, kind: &str) -> Option<String> {
    let first_context = match doc.get("@context") {
        Some(Value::Array(items)) => items.first(),
        other => other,
    };
    if first_context.and_then(Value::as_str) != Some(CREDENTIALS_CONTEXT_V2) {
        return Some(format!(
            "the first @context must be {CREDENTIALS_CONTEXT_V2}"
        ));
    }
    let typed = match doc.get("type") {
        Some(Value::String(t)) => t == kind,
        Some(Value::Array(ts)) => ts.iter().any(|t| t.as_str() == Some(kind)),
        _ => false,
    };
    if !typed {
        return Some(format!("type must include {kind}"));
    }
    if kind == "VerifiableCredential" {
        if !doc.contains_key("issuer") {
            return Some("no issuer".into());
        }
        match doc.get("credentialSubject") {
            Some(Value::Object(_)) => {}
            Some(Value::Array(items))
                if !items.is_empty() && items.iter().all(Value::is_object) => {}
            _ => {
                return Some(
                    "credentialSubject must be an object or a non-empty array of objects".into(),
                );
            }
        }
    }
    None
}

fn check_validity(doc: &Map<String, Value>, now_ms: u64) -> CheckOutcome {
    let time = |name: &str| -> Result<Option<u64>, CheckOutcome> {
        match doc.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => parse_datetime_ms(s)
                .map(Some)
                .map_err(|e| CheckOutcome::failed("validity_malformed", format!("{name}: {e}"))),
            Some(_) => Err(CheckOutcome::failed(
                "validity_malformed",
                format!("{name} is not a string"),
            )),
        }
    };
    let (from, until) = match (time("validFrom"), time("validUntil")) {
        (Ok(f), Ok(u)) => (f, u),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    if let Some(from) = from.filter(|f| now_ms < *f) {
        return CheckOutcome::failed(
            "not_yet_valid",
            format!("valid from {from} ms, now is {now_ms} ms"),
        );
    }
    if let Some(until) = until.filter(|u| now_ms > *u) {
        return CheckOutcome::failed(
            "expired",
            format!("valid until {until} ms, now is {now_ms} ms"),
        );
    }
    CheckOutcome::Passed
}

fn check_binding(
    info: Option<&ProofInfo>,
    holder: Option<&str>,
    credentials: &[&Value],
    challenge: &str,
    domain: &str,
) -> CheckOutcome {
    let Some(info) = info else {
        return CheckOutcome::Skipped("no usable proof".into());
    };
    if info.challenge.as_deref() != Some(challenge) {
        return CheckOutcome::failed(
            "challenge_mismatch",
            format!(
                "proof challenge {:?}, expected {challenge:?}",
                info.challenge
            ),
        );
    }
    if info.domain.as_deref() != Some(domain) {
        return CheckOutcome::failed(
            "domain_mismatch",
            format!("proof domain {:?}, expected {domain:?}", info.domain),
        );
    }
    let Some(holder) = holder else {
        return CheckOutcome::failed("holder_mismatch", "the presentation names no holder");
    };
    let signer = parse_did_url(&info.verification_method).map(|u| u.did);
    if signer.as_deref() != Ok(holder) {
        return CheckOutcome::failed(
            "holder_mismatch",
            format!(
                "the presentation is signed by {}, the holder is {holder}",
                info.verification_method
            ),
        );
    }
    for (i, vc) in credentials.iter().enumerate() {
        let subjects: Vec<&Value> = match vc.get("credentialSubject") {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(one) => vec![one],
            None => Vec::new(),
        };
        let bound = !subjects.is_empty()
            && subjects
                .iter()
                .all(|s| s.get("id").and_then(Value::as_str) == Some(holder));
        if !bound {
            return CheckOutcome::failed(
                "holder_mismatch",
                format!("credential {i}'s subject id is not the holder {holder}"),
            );
        }
    }
    CheckOutcome::Passed
}
