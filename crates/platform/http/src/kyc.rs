//! Approval → KYC credential → enrolment on the trade chain (`docs/key-custody.md` §7,
//! `docs/trade.md` §1).
//!
//! When the operator approves a real-name registration, the platform has the approved
//! party's DID (created by the party's own key, [`crate::keys`]) issued a `kyc-consumer`
//! credential (CPT 4) by the identity chain's genesis authority and enrolled as a consumer
//! on the trade chain, naming that credential. Both chain steps are done by the binary
//! through [`PartyEnrolment`] (this crate does not depend on the chain crates); the
//! approval stands whatever they answer, and the answer says what happened (`kyc`).

use crate::AppState;
use crate::auth::Authed;
use crate::error::{ApiError, ApiResult};
use crate::http::IdParam;
use crate::payment::SignedTx;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use suanli_platform_store::{RegistrationKind, RegistrationRecord};
use suanli_primitives::error_chain;

/// Issues KYC credentials and enrols parties on the trade chain. Implemented by the
/// binary with the genesis authority's (operator's) key.
pub trait PartyEnrolment: Send + Sync + std::fmt::Debug {
    /// Issues a `kyc-consumer` credential about `did` with `claims` (a JSON object without
    /// `id`) and enrols `did` — whose DID document must hold `public_key_hex` as `#key-1`
    /// — as a consumer on the trade chain, naming the credential's id and SHA-256.
    /// Returns the credential.
    fn enrol_consumer(
        &self,
        did: &str,
        public_key_hex: &str,
        claims: &Value,
    ) -> Result<Value, crate::PortError>;

    /// The same for a supplier (issue 16, `docs/supply.md` §1): issues a `kyc-supplier`
    /// credential (CPT 3) about `did` with `claims` and enrols `did` as a supplier. Safe to
    /// repeat: the credential's id is fixed per DID and enrolling again changes nothing but
    /// the credential digest the chain records.
    fn enrol_supplier(
        &self,
        did: &str,
        public_key_hex: &str,
        claims: &Value,
    ) -> Result<Value, crate::PortError>;
}

/// Why the KYC claims of a registration cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KycError {
    /// The registration lacks a field the claims need.
    #[error("{0}")]
    Incomplete(&'static str),
}

/// The `kyc-consumer` claims of an approved registration: the person (a personal
/// registration's name; an enterprise's legal representative, with the company as
/// `organisation`) and the document type the review checked. The ID number itself is
/// never put in the credential (`docs/cpt-templates.md`).
pub fn kyc_claims(r: &RegistrationRecord) -> Result<Value, KycError> {
    let mut c = Map::new();
    match r.kind {
        RegistrationKind::Personal => {
            let name = r
                .person_name
                .clone()
                .ok_or(KycError::Incomplete("personal registration without a name"))?;
            c.insert("name".into(), name.into());
        }
        RegistrationKind::Enterprise | RegistrationKind::Supplier => {
            let name = r.legal_person.clone().ok_or(KycError::Incomplete(
                "enterprise registration without a legal representative",
            ))?;
            c.insert("name".into(), name.into());
            if let Some(company) = &r.company_name {
                c.insert("organisation".into(), company.clone().into());
            }
        }
    }
    c.insert("idType".into(), "resident-id-card".into());
    Ok(Value::Object(c))
}

/// The DID of `user`'s key, on the identity chain, and its public key (hex). Sends the
/// stored DID-creating transaction now when the worker has not yet: the DID must be on the
/// identity chain before anything is said about it.
pub(crate) async fn did_on_chain(
    s: &AppState,
    user: suanli_platform_domain::UserId,
) -> Result<(String, String), String> {
    let key = s
        .store
        .get_user_key(user)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the applicant has no DID key")?;
    let did = key.did.clone().ok_or(
        "the applicant's key has no DID (no identity chain was attached when it was made)",
    )?;
    if key.did_created_ms.is_none() {
        // The DID must be on the identity chain before anything is said about it: send its
        // stored creation now rather than wait for the worker.
        let (reference, encoded_hex) = key.did_tx.clone().ok_or("no DID-creating transaction")?;
        let registry = s.dids.clone().ok_or("no identity chain attached")?;
        let tx = SignedTx {
            reference,
            encoded_hex,
        };
        tokio::task::spawn_blocking(move || registry.send(&tx))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| error_chain(&e))?;
        s.store
            .set_did_created(user, s.clock.now_unix_ms())
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok((did, key.public_key))
}

async fn enrol(
    s: &AppState,
    enrolment: Arc<dyn PartyEnrolment>,
    reg: &RegistrationRecord,
) -> Result<String, String> {
    let (did, public) = did_on_chain(s, reg.user).await?;
    let claims = kyc_claims(reg).map_err(|e| e.to_string())?;
    let did2 = did.clone();
    let credential =
        tokio::task::spawn_blocking(move || enrolment.enrol_consumer(&did2, &public, &claims))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| error_chain(&e))?;
    let id = credential["id"]
        .as_str()
        .ok_or("the KYC credential has no id")?
        .to_owned();
    s.store
        .set_kyc_credential(reg.id, &id, &credential.to_string())
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(registration = reg.id.get(), %did, credential = %id, "KYC credential issued and party enrolled on the trade chain");
    Ok(id)
}

/// After an approval: KYC credential and enrolment, when the platform has a ledger.
/// Returns what the approval answer says about it (`kyc`).
pub async fn after_approval(s: &AppState, reg: &RegistrationRecord) -> Value {
    let Some(enrolment) = s.enrolment.clone() else {
        return json!({"status": "not_configured",
                      "message": "no ledger with a KYC authority is attached to this platform"});
    };
    match enrol(s, enrolment, reg).await {
        Ok(id) => json!({"status": "enrolled", "credential_id": id}),
        Err(e) => {
            tracing::warn!(registration = reg.id.get(), error = %e, "KYC credential / enrolment failed");
            json!({"status": "failed", "message": e})
        }
    }
}

/// `POST /api/v1/registrations/{id}/enrol` — issues the KYC credential and enrols the
/// party of an approved registration whose issuance failed at approval (e.g. the ledger
/// was down). `409 already_enrolled` when it has its credential, `409 not_approved` when
/// the registration is not approved.
pub async fn retry_enrolment(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
) -> ApiResult<Json<Value>> {
    a.require(suanli_platform_domain::Permission::RegistrationReview)?;
    let rid = suanli_platform_domain::RegistrationId::new(id).ok_or_else(ApiError::not_found)?;
    let reg = s
        .store
        .get_registration(rid)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if reg.kind == RegistrationKind::Supplier {
        // A supplier's kyc-supplier credential and enrolment (idempotent).
        let supplier = crate::service::supply_onboarding::enrol(&s, &a, reg.org.get()).await?;
        return Ok(Json(json!({ "registration": reg, "supplier": supplier })));
    }
    if reg.status != suanli_platform_store::RegistrationStatus::Approved {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_approved",
            "only an approved registration's party is enrolled",
        ));
    }
    if reg.kyc_credential_ref.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_enrolled",
            "this registration's KYC credential was already issued",
        ));
    }
    let kyc = after_approval(&s, &reg).await;
    let reg = s.store.get_registration(rid).await?.unwrap_or(reg);
    Ok(Json(json!({ "registration": reg, "kyc": kyc })))
}

/// `GET /api/v1/me/kyc-credential` — the caller's KYC credential (W3C VC), issued when its
/// registration was approved.
pub async fn my_kyc_credential(State(s): State<AppState>, a: Authed) -> ApiResult<Json<Value>> {
    let text = s.store.kyc_credential_of(a.user.id).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_credential",
            "no KYC credential was issued to you (only approved self-registrations get one)",
        )
    })?;
    let credential: Value = serde_json::from_str(&text).map_err(|_| ApiError::internal())?;
    Ok(Json(json!({ "credential": credential })))
}
