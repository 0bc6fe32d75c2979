//! Supplier onboarding (issue 16, `docs/supply.md` §1): a supplier organisation registers
//! itself (enterprise real-name data, its supplier type, a contact phone and its
//! **qualification credential**); a reviewer with `supplier:review` sees the credential
//! verified through the identity chain and approves — refused while it does not verify;
//! approval enrols the administrator's DID as the **supplier DID** on the trade chain with
//! a `kyc-supplier` credential (retried safely by [`enrol`]); the supplier sees its
//! overview, the operator the supplier list.
//!
//! Submission checks only what needs no chain (size, shape, subject = the company's credit
//! code in the claim `unifiedSocialCreditCode`, `suanli_platform_domain::supply::onboarding`); everything
//! else is verified at review and again at approval, since a credential can be revoked
//! in between.

use super::registrations::{Applicant, submit, text};
use super::security::{parse_login, parse_name};
use super::{ServiceError, ServiceResult};
use crate::AppState;
use crate::auth::Authed;
use crate::onboarding::{QualificationCheck, QualificationReport};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use suanli_platform_domain::supply::onboarding::{
    PresentedQualification, SupplierType, check_presented, kyc_entry,
};
use suanli_platform_domain::validate::{CreditCode, Phone};
use suanli_platform_domain::{OrgId, OrgVisibility, Permission, RegistrationId, Role, UserId};
use suanli_platform_store::{
    CLAIMED_CREDIT_CODE, NewQualification, NewRegistration, OrgRecord, PAGE_SIZE_MAX,
    QUALIFICATION_SHA256, RegistrationKind, RegistrationRecord, RegistrationStatus, StoreError,
    SupplierEnrolment, SupplierListRow, SupplierQualification, SupplierRecord,
};
use suanli_primitives::error_chain;

/// Before a supplier's DID key is unsealed to sign for it (modes, offers, agent keys): once
/// the supplier DID is enrolled, only the recorded administrator (`admin_user`) whose key's
/// DID is the recorded supplier DID signs — anyone else is refused with `403
/// not_supplier_key` before the password is asked. Before enrolment the trade chain refuses
/// any key not enrolled as `supplier` (`docs/supply.md` §2, Signing).
pub(super) async fn require_supplier_key(s: &AppState, a: &Authed) -> ServiceResult<()> {
    let Some(rec) = s
        .store
        .get_supplier(a.org.id)
        .await?
        .filter(|r| r.admin_user.is_some())
    else {
        return Ok(());
    };
    let my_did = s.store.get_user_key(a.user.id).await?.and_then(|k| k.did);
    if rec.admin_user == Some(a.user.id) && my_did.is_some() && my_did == rec.did {
        return Ok(());
    }
    Err(ServiceError::Denied {
        code: "not_supplier_key",
        field: None,
        message: "only the supplier's enrolled administrator signs with the supplier DID"
            .to_owned(),
    })
}

/// A supplier organisation's application.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SupplierDraft {
    /// Login of its administrator.
    pub login: String,
    /// Password.
    pub password: String,
    /// Display name of its administrator (the contact person).
    pub display_name: String,
    /// `supplier_resource` (the platform schedules its devices) or `supplier_api` (it runs
    /// its own resources and connects by API).
    pub supplier_type: String,
    /// Company name.
    pub company_name: String,
    /// Unified social credit code (GB 32100-2015).
    pub credit_code: String,
    /// Business licence reference.
    pub licence_ref: String,
    /// Legal person.
    pub legal_person: String,
    /// Contact phone (mainland mobile number).
    pub phone: String,
    /// The qualification credential (a W3C credential, JSON) whose subject's
    /// `unifiedSocialCreditCode` is `credit_code`.
    pub qualification: Value,
}

/// Written by hand: the password is redacted.
impl std::fmt::Debug for SupplierDraft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupplierDraft")
            .field("login", &self.login)
            .field("password", &"<redacted>")
            .field("display_name", &self.display_name)
            .field("supplier_type", &self.supplier_type)
            .field("company_name", &self.company_name)
            .field("credit_code", &self.credit_code)
            .field("licence_ref", &self.licence_ref)
            .field("legal_person", &self.legal_person)
            .field("phone", &"<redacted>")
            .field("qualification", &"<credential>")
            .finish()
    }
}

/// A supplier's claim on its credit code or qualification credential taken by another
/// pending or approved supplier (the store's unique index, migration 0012, in the same SQL
/// transaction as the write): `409 credit_code_in_use` / `409 qualification_in_use`.
pub(super) fn claim_conflict(message: &str) -> Option<ServiceError> {
    if message.contains(CLAIMED_CREDIT_CODE) {
        Some(ServiceError::Conflict {
            code: "credit_code_in_use",
            field: Some("credit_code".to_owned()),
            message: "another supplier applied or was recorded with this credit code".to_owned(),
        })
    } else if message.contains(QUALIFICATION_SHA256) {
        Some(ServiceError::Conflict {
            code: "qualification_in_use",
            field: Some("qualification".to_owned()),
            message: "this qualification credential was presented by another supplier".to_owned(),
        })
    } else {
        None
    }
}

fn credit_code(raw: &str) -> ServiceResult<CreditCode> {
    CreditCode::parse(raw).map_err(|e| ServiceError::invalid("credit_code", e.to_string()))
}

/// A supplier organisation applies from client address `ip`: a pending organisation of
/// its type, its administrator (`SupplierAdmin`, with a DID key sealed under the password)
/// and the registration with the qualification credential, in one transaction.
pub async fn register(
    s: &AppState,
    ip: &str,
    r: &SupplierDraft,
) -> ServiceResult<RegistrationRecord> {
    let login = parse_login(&r.login)?;
    let display = parse_name(&r.display_name, "display_name")?;
    let kind = SupplierType::parse(&r.supplier_type)
        .ok_or_else(|| ServiceError::invalid("supplier_type", "supplier_resource or supplier_api"))?
        .org_kind();
    let company = parse_name(&r.company_name, "company_name")?;
    let code = credit_code(&r.credit_code)?;
    let licence = text(&r.licence_ref, "licence_ref")?;
    let legal = text(&r.legal_person, "legal_person")?;
    let phone =
        Phone::parse(&r.phone).map_err(|e| ServiceError::invalid("phone", e.to_string()))?;
    let q = check_presented(&r.qualification, &code).map_err(|e| ServiceError::Invalid {
        code: e.code(),
        field: Some("qualification".to_owned()),
        message: e.to_string(),
    })?;
    let reg = NewRegistration {
        company_name: Some(company.as_str().to_owned()),
        credit_code: Some(code.as_str().to_owned()),
        licence_ref: Some(licence),
        legal_person: Some(legal),
        phone: Some(phone.as_str().to_owned()),
        supplier: Some(NewQualification {
            credential_json: q.text().to_owned(),
            issuer: q.issuer().to_owned(),
            schema_id: q.schema_id().to_owned(),
        }),
        ..NewRegistration::default()
    };
    let who = Applicant {
        kind,
        org_name: company,
        login,
        display_name: display,
        password: r.password.clone(),
        distributor: None,
        role: Role::SupplierAdmin,
    };
    submit(s, ip, who, reg).await
}

/// The stored qualification credential of a supplier registration, back through the
/// submission checks.
fn presented(
    reg: &RegistrationRecord,
    rec: &SupplierRecord,
) -> ServiceResult<PresentedQualification> {
    let text = rec.qualification.as_deref().ok_or_else(|| {
        ServiceError::Internal("supplier registration without its credential".into())
    })?;
    let value: Value =
        serde_json::from_str(text).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let code = credit_code(reg.credit_code.as_deref().unwrap_or_default())?;
    check_presented(&value, &code).map_err(|e| ServiceError::Internal(e.to_string()))
}

/// Verifies a supplier registration's qualification credential now: the identity chain's
/// checks and the `subject` check (`409 qualification_unavailable` without a chain or
/// when it cannot be asked).
async fn verify(
    s: &AppState,
    reg: &RegistrationRecord,
    rec: &SupplierRecord,
) -> ServiceResult<QualificationReport> {
    verify_presented(s, &presented(reg, rec)?).await
}

/// Verifies a presented qualification credential now (see [`verify`]).
async fn verify_presented(
    s: &AppState,
    q: &PresentedQualification,
) -> ServiceResult<QualificationReport> {
    let ledger = s.onboarding.clone().ok_or_else(|| ServiceError::Conflict {
        code: "qualification_unavailable",
        field: None,
        message: "no identity chain is attached: the qualification credential cannot be verified"
            .to_owned(),
    })?;
    let credential = q.credential().clone();
    let mut report = tokio::task::spawn_blocking(move || ledger.verify_qualification(&credential))
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?
        .map_err(|e| ServiceError::Conflict {
            code: "qualification_unavailable",
            field: None,
            message: format!("the identity chain could not be asked: {}", error_chain(&e)),
        })?;
    // The submission checked that the declared credit code is the subject's claim; it is
    // shown with the chain's checks. It is no proof that the applicant is that company: a
    // qualification credential is not bound to a holder (docs/supply.md §1.1).
    report.checks.push(QualificationCheck::passed("subject"));
    Ok(report)
}

/// A supplier registration under review: the registration, its supplier record and the
/// qualification credential's verification now (or why it could not be asked).
#[derive(Debug, Clone, Serialize)]
pub struct SupplierReview {
    /// The registration.
    pub registration: RegistrationRecord,
    /// Its organisation (the supplier type is its kind).
    pub org: OrgRecord,
    /// Its supplier record (the credential as presented).
    pub supplier: SupplierRecord,
    /// The verification now.
    pub verification: Option<QualificationReport>,
    /// Why the credential could not be verified (no chain, chain unreachable).
    pub unavailable: Option<String>,
    /// Other supplier registrations (any status) that declared the same credit code.
    pub same_credit_code: Vec<RegistrationRecord>,
}

/// At most this many other applications with the same credit code on the review page.
const SAME_CREDIT_CODE_SHOWN_MAX: u32 = 20;

async fn supplier_registration(
    s: &AppState,
    id: RegistrationId,
) -> ServiceResult<(RegistrationRecord, SupplierRecord)> {
    let reg = s
        .store
        .get_registration(id)
        .await?
        .filter(|r| r.kind == RegistrationKind::Supplier)
        .ok_or(ServiceError::NotFound)?;
    let rec =
        s.store.get_supplier(reg.org).await?.ok_or_else(|| {
            ServiceError::Internal("supplier registration without its record".into())
        })?;
    Ok((reg, rec))
}

/// Supplier registration `id` with its qualification credential verified now.
pub async fn review(s: &AppState, a: &Authed, id: i64) -> ServiceResult<SupplierReview> {
    a.allow(Permission::SupplierReview)?;
    let rid = RegistrationId::new(id).ok_or(ServiceError::NotFound)?;
    let (registration, supplier) = supplier_registration(s, rid).await?;
    let org = s
        .store
        .get_org(registration.org)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let (verification, unavailable) = match verify(s, &registration, &supplier).await {
        Ok(r) => (Some(r), None),
        Err(ServiceError::Conflict {
            code: "qualification_unavailable",
            message,
            ..
        }) => (None, Some(message)),
        Err(e) => return Err(e),
    };
    let same_credit_code = match registration.credit_code.as_deref() {
        Some(code) => s
            .store
            .supplier_registrations_with_credit_code(code, SAME_CREDIT_CODE_SHOWN_MAX + 1)
            .await?
            .into_iter()
            .filter(|r| r.id != registration.id)
            .take(SAME_CREDIT_CODE_SHOWN_MAX as usize)
            .collect(),
        None => Vec::new(),
    };
    Ok(SupplierReview {
        registration,
        org,
        supplier,
        verification,
        unavailable,
        same_credit_code,
    })
}

/// Before a supplier registration is approved (`registrations::approve`): its
/// qualification credential must verify now. The report (JSON) to record with the
/// decision; `409 qualification_not_verified` naming the first failed check otherwise.
pub(super) async fn approval_report(
    s: &AppState,
    a: &Authed,
    reg: &RegistrationRecord,
) -> ServiceResult<String> {
    a.allow(Permission::SupplierReview)?;
    let rec =
        s.store.get_supplier(reg.org).await?.ok_or_else(|| {
            ServiceError::Internal("supplier registration without its record".into())
        })?;
    verified_report(verify(s, reg, &rec).await?)
}

/// The report (JSON) of a credential that verified; `409 qualification_not_verified`
/// naming the first failed check otherwise.
fn verified_report(report: QualificationReport) -> ServiceResult<String> {
    if let Some(f) = report.first_failure() {
        return Err(ServiceError::Conflict {
            code: "qualification_not_verified",
            field: Some("qualification".to_owned()),
            message: format!(
                "the qualification credential does not verify: {} {}: {}",
                f.check,
                f.code.as_deref().unwrap_or("skipped"),
                f.message.as_deref().unwrap_or_default()
            ),
        });
    }
    serde_json::to_string(&report).map_err(|e| ServiceError::Internal(e.to_string()))
}

/// The real-name facts the `kyc-supplier` claims are made of.
struct RealName<'a> {
    company: &'a str,
    credit_code: &'a str,
    legal_person: &'a str,
    phone: &'a str,
}

/// The `kyc-supplier` claims (`docs/cpt-templates.md`) of a supplier whose qualification
/// verified (`rec.qualification_report`), its administrator `admin` the contact.
async fn kyc_supplier_claims(
    s: &AppState,
    who: &RealName<'_>,
    rec: &SupplierRecord,
    admin: UserId,
) -> ServiceResult<Value> {
    let text = rec
        .qualification
        .as_deref()
        .ok_or_else(|| ServiceError::Internal("supplier without its credential".into()))?;
    let value: Value =
        serde_json::from_str(text).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let q = check_presented(&value, &credit_code(who.credit_code)?)
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let report: QualificationReport = rec
        .qualification_report
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| ServiceError::Internal(e.to_string()))?
        .ok_or_else(|| ServiceError::Internal("supplier without its verification".into()))?;
    let admin = s
        .store
        .get_user(admin)
        .await?
        .ok_or(ServiceError::NotFound)?;
    Ok(json!({
        "organisationName": who.company,
        "unifiedSocialCreditCode": who.credit_code,
        "legalRepresentative": who.legal_person,
        "qualifications": [kyc_entry(report.cpt_title.as_deref().unwrap_or_default(), &q, report.valid_until_ms)],
        "contact": {"name": admin.display_name, "phone": who.phone},
    }))
}

/// Enrols the DID of `admin` as the supplier DID of `org`: the DID on the identity chain,
/// a `kyc-supplier` credential with `who`'s claims, the trade-chain enrolment as
/// supplier, recorded on the organisation. Already enrolled: the record as it is.
async fn enrol_did(
    s: &AppState,
    org: OrgId,
    admin: UserId,
    who: &RealName<'_>,
) -> ServiceResult<SupplierRecord> {
    let rec = s
        .store
        .get_supplier(org)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if rec.kyc_credential_ref.is_some() {
        return Ok(rec);
    }
    let enrolment = s.enrolment.clone().ok_or_else(|| ServiceError::Conflict {
        code: "enrolment_unavailable",
        field: None,
        message: "no ledger with the KYC authority's key is attached to this platform".to_owned(),
    })?;
    let (did, public) = crate::kyc::did_on_chain(s, admin)
        .await
        .map_err(|message| ServiceError::Conflict {
            code: "supplier_no_did",
            field: None,
            message,
        })?;
    let claims = kyc_supplier_claims(s, who, &rec, admin).await?;
    let did2 = did.clone();
    let credential =
        tokio::task::spawn_blocking(move || enrolment.enrol_supplier(&did2, &public, &claims))
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))?
            .map_err(|e| ServiceError::Conflict {
                code: "enrolment_failed",
                field: None,
                message: error_chain(&e),
            })?;
    let reference = credential["id"]
        .as_str()
        .ok_or_else(|| ServiceError::Internal("the kyc-supplier credential has no id".into()))?
        .to_owned();
    let recorded = s
        .store
        .set_supplier_enrolment(&SupplierEnrolment {
            org,
            did: did.clone(),
            admin_user: admin,
            kyc_credential_ref: reference.clone(),
            kyc_credential: credential.to_string(),
            at_ms: s.clock.now_unix_ms(),
        })
        .await;
    match recorded {
        // Enrolled meanwhile by a concurrent retry: the chain holds the same enrolment.
        Ok(()) | Err(StoreError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    tracing::info!(org = org.get(), %did, credential = %reference, "supplier DID enrolled on the trade chain");
    s.store
        .get_supplier(org)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// Enrols the supplier DID of an approved supplier registration (its administrator's).
async fn enrol_registration(
    s: &AppState,
    reg: &RegistrationRecord,
) -> ServiceResult<SupplierRecord> {
    let who = RealName {
        company: reg.company_name.as_deref().unwrap_or_default(),
        credit_code: reg.credit_code.as_deref().unwrap_or_default(),
        legal_person: reg.legal_person.as_deref().unwrap_or_default(),
        phone: reg.phone.as_deref().unwrap_or_default(),
    };
    enrol_did(s, reg.org, reg.user, &who).await
}

/// Enrols the supplier DID of a supplier the operator created and qualified: its
/// administrator (`supplier_admin`) with a DID — which exists only after that
/// administrator's first own password change (`docs/key-custody.md` §3).
async fn enrol_created(s: &AppState, rec: &SupplierRecord) -> ServiceResult<SupplierRecord> {
    let users = s
        .store
        .list_users(OrgVisibility::All, Some(rec.org), None, PAGE_SIZE_MAX)
        .await?;
    let mut admin = None;
    for u in users
        .iter()
        .filter(|u| !u.disabled && u.roles.contains(&Role::SupplierAdmin))
    {
        if s.store
            .get_user_key(u.id)
            .await?
            .is_some_and(|k| k.did.is_some())
        {
            admin = Some(u.id);
            break;
        }
    }
    let admin = admin.ok_or_else(|| ServiceError::Conflict {
        code: "supplier_no_did",
        field: None,
        message: "no administrator of this supplier has a DID yet: it is made at their first own password change"
            .to_owned(),
    })?;
    let who = RealName {
        company: rec.company_name.as_deref().unwrap_or_default(),
        credit_code: rec.credit_code.as_deref().unwrap_or_default(),
        legal_person: rec.legal_person.as_deref().unwrap_or_default(),
        phone: rec.phone.as_deref().unwrap_or_default(),
    };
    enrol_did(s, rec.org, admin, &who).await
}

/// After a supplier registration's approval: its enrolment, as the approval answer says
/// it (`kyc`: `{"status": "enrolled" | "failed" | "not_configured", …}`).
pub(super) async fn after_approval(s: &AppState, reg: &RegistrationRecord) -> Value {
    if s.enrolment.is_none() {
        return json!({"status": "not_configured",
                      "message": "no ledger with a KYC authority is attached to this platform"});
    }
    match enrol_registration(s, reg).await {
        Ok(rec) => {
            json!({"status": "enrolled", "credential_id": rec.kyc_credential_ref, "did": rec.did})
        }
        Err(e) => {
            tracing::warn!(registration = reg.id.get(), error = %e, "supplier enrolment failed");
            json!({"status": "failed", "code": e.code(), "message": e.to_string()})
        }
    }
}

/// A supplier organisation visible to a `supplier:review` holder.
async fn supplier_org(s: &AppState, id: i64) -> ServiceResult<OrgRecord> {
    let org = OrgId::new(id).ok_or(ServiceError::NotFound)?;
    s.store
        .get_org(org)
        .await?
        .filter(|o| o.kind.is_supplier())
        .ok_or(ServiceError::NotFound)
}

/// Enrols (again) the supplier DID of supplier organisation `id` — safe to repeat: an
/// enrolled supplier answers its record unchanged. A supplier the operator created is
/// enrolled once the operator recorded its verified qualification ([`qualify`]; `409
/// supplier_not_qualified` before) and its administrator has a DID.
pub async fn enrol(s: &AppState, a: &Authed, id: i64) -> ServiceResult<SupplierRecord> {
    a.allow(Permission::SupplierReview)?;
    let org = supplier_org(s, id).await?;
    let rec = s.store.get_supplier(org.id).await?;
    if let Some(r) = rec.as_ref().filter(|r| r.kyc_credential_ref.is_some()) {
        return Ok(r.clone());
    }
    let not_qualified = || ServiceError::Conflict {
        code: "supplier_not_qualified",
        field: None,
        message: "this supplier has no verified real-name data and qualification credential"
            .to_owned(),
    };
    let rec = rec.ok_or_else(not_qualified)?;
    let Some(reg_id) = rec.registration else {
        // Created by the operator: enrolled once the operator recorded its verified
        // qualification (`qualify`).
        if rec.qualification_verified_ms.is_none() {
            return Err(not_qualified());
        }
        return enrol_created(s, &rec).await;
    };
    let reg = s
        .store
        .get_registration(reg_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if reg.status != RegistrationStatus::Approved {
        return Err(ServiceError::Conflict {
            code: "not_approved",
            field: None,
            message: "only an approved supplier is enrolled".to_owned(),
        });
    }
    enrol_registration(s, &reg).await
}

/// Supplier organisations with their records (the operator's supplier list).
pub async fn list(
    s: &AppState,
    a: &Authed,
    after: Option<i64>,
    limit: u32,
) -> ServiceResult<Vec<SupplierListRow>> {
    a.allow(Permission::SupplierReview)?;
    Ok(s.store
        .list_suppliers(after.and_then(OrgId::new), limit)
        .await?)
}

/// A supplier's own overview: its organisation, its record (DID, enrolment,
/// qualification) and the roles its DID holds on the trade chain now.
#[derive(Debug, Clone, Serialize)]
pub struct SupplierOverview {
    /// The organisation.
    pub org: OrgRecord,
    /// Its supplier record.
    pub supplier: Option<SupplierRecord>,
    /// The qualification's verification recorded at approval.
    pub qualification: Option<QualificationReport>,
    /// The roles its DID is enrolled in on the trade chain (read now).
    pub trade_roles: Option<Vec<String>>,
    /// Why the trade chain could not be read.
    pub trade_unavailable: Option<String>,
}

/// The caller's own supplier overview (`supply:read`).
pub async fn overview(s: &AppState, a: &Authed) -> ServiceResult<SupplierOverview> {
    a.allow(Permission::SupplyRead)?;
    if !a.org.kind.is_supplier() {
        return Err(ServiceError::NotFound);
    }
    let supplier = s.store.get_supplier(a.org.id).await?;
    let qualification = supplier
        .as_ref()
        .and_then(|r| r.qualification_report.as_deref())
        .and_then(|t| serde_json::from_str(t).ok());
    let did = supplier.as_ref().and_then(|r| r.did.clone());
    let (trade_roles, trade_unavailable) = match (did, s.onboarding.clone()) {
        (Some(did), Some(ledger)) => {
            match tokio::task::spawn_blocking(move || ledger.trade_roles(&did)).await {
                Ok(Ok(roles)) => (Some(roles), None),
                Ok(Err(e)) => (None, Some(error_chain(&e))),
                Err(e) => (None, Some(e.to_string())),
            }
        }
        (Some(_), None) => (None, Some("no ledger attached".to_owned())),
        (None, _) => (None, None),
    };
    Ok(SupplierOverview {
        org: a.org.clone(),
        supplier,
        qualification,
        trade_roles,
        trade_unavailable,
    })
}

/// The real-name data and qualification credential the operator records for a supplier it
/// created (`POST /api/v1/ops/suppliers/{id}/qualification`); the company name is the
/// organisation's.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QualificationDraft {
    /// Unified social credit code.
    pub credit_code: String,
    /// Legal person.
    pub legal_person: String,
    /// Contact phone.
    pub phone: String,
    /// The qualification credential (as at registration).
    pub qualification: Value,
}

/// Records the verified qualification of supplier `id`, created by the operator, and
/// enrols its DID when its administrator has one. The credential passes the submission
/// checks (`422`) and must verify now (`409 qualification_not_verified`); a supplier that
/// registered itself is reviewed with its registration (`409 supplier_registered`).
/// Answers the record and what became of the enrolment (as an approval's `kyc`).
pub async fn qualify(
    s: &AppState,
    a: &Authed,
    id: i64,
    d: &QualificationDraft,
) -> ServiceResult<(SupplierRecord, Value)> {
    a.allow(Permission::SupplierReview)?;
    let org = supplier_org(s, id).await?;
    let existing = s.store.get_supplier(org.id).await?;
    if existing.as_ref().is_some_and(|r| r.registration.is_some()) {
        return Err(ServiceError::Conflict {
            code: "supplier_registered",
            field: None,
            message: "this supplier registered itself: its qualification is reviewed with its registration"
                .to_owned(),
        });
    }
    if existing
        .as_ref()
        .is_some_and(|r| r.kyc_credential_ref.is_some())
    {
        return Err(ServiceError::Conflict {
            code: "already_enrolled",
            field: None,
            message: "this supplier is enrolled".to_owned(),
        });
    }
    let code = credit_code(&d.credit_code)?;
    let legal = text(&d.legal_person, "legal_person")?;
    let phone =
        Phone::parse(&d.phone).map_err(|e| ServiceError::invalid("phone", e.to_string()))?;
    let q = check_presented(&d.qualification, &code).map_err(|e| ServiceError::Invalid {
        code: e.code(),
        field: Some("qualification".to_owned()),
        message: e.to_string(),
    })?;
    let report = verified_report(verify_presented(s, &q).await?)?;
    s.store
        .set_supplier_qualification(&SupplierQualification {
            org: org.id,
            company_name: org.name.clone(),
            credit_code: code.as_str().to_owned(),
            legal_person: legal,
            phone: phone.as_str().to_owned(),
            qualification: NewQualification {
                credential_json: q.text().to_owned(),
                issuer: q.issuer().to_owned(),
                schema_id: q.schema_id().to_owned(),
            },
            report,
            at_ms: s.clock.now_unix_ms(),
        })
        .await
        .map_err(|e| match e {
            StoreError::Conflict(m) => claim_conflict(&m).unwrap_or(ServiceError::Conflict {
                code: "conflict",
                field: None,
                message: m,
            }),
            other => other.into(),
        })?;
    let rec = s
        .store
        .get_supplier(org.id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let kyc = match enrol_created(s, &rec).await {
        Ok(r) => json!({"status": "enrolled", "credential_id": r.kyc_credential_ref, "did": r.did}),
        Err(e) => json!({"status": "not_enrolled", "code": e.code(), "message": e.to_string()}),
    };
    let rec = s
        .store
        .get_supplier(org.id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    Ok((rec, kyc))
}
