//! Self-registration and its review: enterprises, persons and suppliers
//! (`supply_onboarding.rs`) apply (throttled per client
//! address, a distributor's invite code refers them), reviewers list, read, reveal a
//! person's ID number (every reveal is audited), approve — which issues the KYC
//! credential and enrols the party on the trade chain when a ledger is attached — or
//! reject with a reason.

use super::security::{check_new_password, hash_password, new_user_key, parse_login, parse_name};
use super::{ServiceError, ServiceResult};
use crate::AppState;
use crate::auth::Authed;
use serde::{Deserialize, Serialize};
use suanli_platform_domain::org::{DisplayName, Login};
use suanli_platform_domain::validate::{BoundedText, CreditCode, IdNumber, Phone};
use suanli_platform_domain::{OrgId, OrgKind, OrgStatus, Permission, RegistrationId, Role};
use suanli_platform_store::{
    Decision, NewOrg, NewRegistration, NewUser, RegistrationKind, RegistrationRecord,
    RegistrationStatus, StoreError,
};

/// Longest rejection reason, in characters.
pub const REASON_CHARS_MAX: usize = 500;
/// Registrations accepted from one client address per [`REGISTRATION_WINDOW_SECS`].
pub const REGISTRATIONS_PER_ADDRESS_MAX: u32 = 20;
/// The registration-throttling window, in seconds.
pub const REGISTRATION_WINDOW_SECS: i64 = 3_600;

/// An enterprise's application.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EnterpriseDraft {
    /// Login of its administrator.
    pub login: String,
    /// Password.
    pub password: String,
    /// Display name of its administrator.
    pub display_name: String,
    /// Company name.
    pub company_name: String,
    /// Unified social credit code (GB 32100-2015).
    pub credit_code: String,
    /// Business licence reference.
    pub licence_ref: String,
    /// Legal person.
    pub legal_person: String,
    /// A distributor's invite code.
    #[serde(default)]
    pub invite_code: Option<String>,
}

/// Written by hand: the secrets are redacted.
impl std::fmt::Debug for EnterpriseDraft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnterpriseDraft")
            .field("login", &self.login)
            .field("password", &"<redacted>")
            .field("display_name", &self.display_name)
            .field("company_name", &self.company_name)
            .field("credit_code", &self.credit_code)
            .field("licence_ref", &self.licence_ref)
            .field("legal_person", &self.legal_person)
            .field(
                "invite_code",
                &self.invite_code.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// A person's application.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PersonalDraft {
    /// Login.
    pub login: String,
    /// Password.
    pub password: String,
    /// Name.
    pub name: String,
    /// Resident ID number (GB 11643-1999).
    pub id_number: String,
    /// Phone.
    pub phone: String,
    /// A distributor's invite code.
    #[serde(default)]
    pub invite_code: Option<String>,
}

/// Written by hand: the secrets are redacted.
impl std::fmt::Debug for PersonalDraft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersonalDraft")
            .field("login", &self.login)
            .field("password", &"<redacted>")
            .field("name", &self.name)
            .field("id_number", &"<redacted>")
            .field("phone", &"<redacted>")
            .field(
                "invite_code",
                &self.invite_code.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

pub(super) fn text(raw: &str, field: &str) -> ServiceResult<String> {
    BoundedText::parse(raw)
        .map(|t| t.as_str().to_owned())
        .map_err(|e| ServiceError::invalid(field, e.to_string()))
}

/// The active distributor an invite code refers to (`invalid_invite_code`).
async fn invite(s: &AppState, code: &Option<String>) -> ServiceResult<Option<OrgId>> {
    match code.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(c) => match s.store.get_invite(c).await? {
            // A suspended or rejected distributor's codes no longer refer anyone.
            Some(d)
                if s.store
                    .get_org(d)
                    .await?
                    .is_some_and(|o| o.status == OrgStatus::Active) =>
            {
                Ok(Some(d))
            }
            _ => Err(ServiceError::Invalid {
                code: "invalid_invite_code",
                field: Some("invite_code".to_owned()),
                message: "no such invite code, or its distributor is not active".to_owned(),
            }),
        },
    }
}

/// Who is registering (validated).
pub(super) struct Applicant {
    pub(super) kind: OrgKind,
    pub(super) org_name: DisplayName,
    pub(super) login: Login,
    pub(super) display_name: DisplayName,
    pub(super) password: String,
    pub(super) distributor: Option<OrgId>,
    /// The administrator's role: `CustomerAdmin`, or `SupplierAdmin` for a supplier.
    pub(super) role: Role,
}

pub(super) async fn submit(
    s: &AppState,
    ip: &str,
    who: Applicant,
    reg: NewRegistration,
) -> ServiceResult<RegistrationRecord> {
    let now = s.clock.now_unix_ms();
    let window_ms = REGISTRATION_WINDOW_SECS * 1000;
    let allowed = s
        .registrations
        .lock()
        .map(|w| w.allowed(ip, now, window_ms, REGISTRATIONS_PER_ADDRESS_MAX))
        .unwrap_or(true);
    if !allowed {
        return Err(ServiceError::Throttled {
            code: "too_many_attempts",
            locked: false,
            message: "too many registrations from this address; try again later".to_owned(),
        });
    }
    check_new_password(s, &who.password, who.login.as_str(), None, "password").await?;
    // The DID key, sealed under the password only the applicant knows (key-custody.md).
    let key = new_user_key(s, &who.password).await?;
    let hash = hash_password(s, who.password).await?;
    let placeholder = OrgId::new(1).ok_or_else(|| ServiceError::Internal("org id 1".into()))?;
    let rec =
        s.store
            .register(
                &NewOrg {
                    kind: who.kind,
                    name: who.org_name.as_str().to_owned(),
                    status: OrgStatus::Pending,
                    distributor: who.distributor,
                    created_ms: now,
                },
                &NewUser {
                    org: placeholder,
                    login: who.login.as_str().to_owned(),
                    display_name: who.display_name.as_str().to_owned(),
                    password_hash: hash,
                    roles: vec![who.role],
                    created_ms: now,
                },
                &NewRegistration {
                    submitted_ms: now,
                    ..reg
                },
                Some(&key),
            )
            .await
            .map_err(|e| match e {
                // A supplier's credit code or credential taken (issue 16), else the login.
                StoreError::Conflict(m) => super::supply_onboarding::claim_conflict(&m)
                    .unwrap_or_else(|| ServiceError::Conflict {
                        code: "login_taken",
                        field: Some("login".to_owned()),
                        message: "this login is already registered".to_owned(),
                    }),
                other => other.into(),
            })?;
    if let Ok(mut w) = s.registrations.lock() {
        w.fail(ip, now, window_ms);
    }
    s.did_kick.notify_one();
    Ok(rec)
}

/// An enterprise applies from client address `ip`.
pub async fn enterprise(
    s: &AppState,
    ip: &str,
    r: &EnterpriseDraft,
) -> ServiceResult<RegistrationRecord> {
    let login = parse_login(&r.login)?;
    let display = parse_name(&r.display_name, "display_name")?;
    let company = parse_name(&r.company_name, "company_name")?;
    let code = CreditCode::parse(&r.credit_code)
        .map_err(|e| ServiceError::invalid("credit_code", e.to_string()))?;
    let licence = text(&r.licence_ref, "licence_ref")?;
    let legal = text(&r.legal_person, "legal_person")?;
    let distributor = invite(s, &r.invite_code).await?;
    let reg = NewRegistration {
        company_name: Some(company.as_str().to_owned()),
        credit_code: Some(code.as_str().to_owned()),
        licence_ref: Some(licence),
        legal_person: Some(legal),
        invite_code: r.invite_code.as_ref().map(|c| c.trim().to_owned()),
        ..NewRegistration::default()
    };
    let who = Applicant {
        kind: OrgKind::Enterprise,
        org_name: company,
        login,
        display_name: display,
        password: r.password.clone(),
        distributor,
        role: Role::CustomerAdmin,
    };
    submit(s, ip, who, reg).await
}

/// A person applies from client address `ip` (the ID number is stored encrypted).
pub async fn personal(
    s: &AppState,
    ip: &str,
    r: &PersonalDraft,
) -> ServiceResult<RegistrationRecord> {
    let login = parse_login(&r.login)?;
    let name = parse_name(&r.name, "name")?;
    let id = IdNumber::parse(&r.id_number)
        .map_err(|e| ServiceError::invalid("id_number", e.to_string()))?;
    let phone =
        Phone::parse(&r.phone).map_err(|e| ServiceError::invalid("phone", e.to_string()))?;
    let distributor = invite(s, &r.invite_code).await?;
    let sealed = s
        .cipher
        .seal(id.expose().as_bytes())
        .map_err(|_| ServiceError::Internal("sealing the ID number failed".to_owned()))?;
    let reg = NewRegistration {
        person_name: Some(name.as_str().to_owned()),
        id_number_enc: Some(sealed),
        id_number_masked: Some(id.masked()),
        phone: Some(phone.as_str().to_owned()),
        invite_code: r.invite_code.as_ref().map(|c| c.trim().to_owned()),
        ..NewRegistration::default()
    };
    let who = Applicant {
        kind: OrgKind::Personal,
        org_name: name.clone(),
        login,
        display_name: name,
        password: r.password.clone(),
        distributor,
        role: Role::CustomerAdmin,
    };
    submit(s, ip, who, reg).await
}

/// Registrations with `status` (all: `None`) after `after`, at most `limit`.
pub async fn list(
    s: &AppState,
    a: &Authed,
    status: Option<RegistrationStatus>,
    after: Option<i64>,
    limit: u32,
) -> ServiceResult<Vec<RegistrationRecord>> {
    a.allow(Permission::RegistrationReview)?;
    Ok(s.store
        .list_registrations(status, after.and_then(RegistrationId::new), limit)
        .await?)
}

/// Registration `id`, for a reviewer.
pub async fn get(s: &AppState, a: &Authed, id: i64) -> ServiceResult<RegistrationRecord> {
    a.allow(Permission::RegistrationReview)?;
    let rid = RegistrationId::new(id).ok_or(ServiceError::NotFound)?;
    s.store
        .get_registration(rid)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// The ID number of personal registration `id`, decrypted for the reviewer comparing it
/// with the submitted document (`no_id_number` for an enterprise registration).
pub async fn reveal_id_number(s: &AppState, a: &Authed, id: i64) -> ServiceResult<String> {
    let r = get(s, a, id).await?;
    let sealed = r.id_number_enc.ok_or_else(|| ServiceError::Conflict {
        code: "no_id_number",
        field: None,
        message: "this registration has no ID number (enterprise registration)".to_owned(),
    })?;
    let plain = s.cipher.open(&sealed).map_err(|_| {
        tracing::error!(
            registration = id,
            "ID number does not decrypt (wrong field key?)"
        );
        ServiceError::Internal("the ID number does not decrypt".to_owned())
    })?;
    String::from_utf8(plain).map_err(|e| ServiceError::Internal(e.to_string()))
}

/// A decided registration; after an approval, what became of the KYC credential and the
/// trade-chain enrolment (`kyc`: `{"status": "enrolled" | "failed" | "not_configured", …}`).
#[derive(Debug, Clone)]
pub struct Decided {
    /// The registration after the decision.
    pub registration: RegistrationRecord,
    /// The KYC outcome of an approval.
    pub kyc: Option<serde_json::Value>,
}

fn already_decided() -> ServiceError {
    ServiceError::Conflict {
        code: "already_decided",
        field: None,
        message: "this registration was already decided".to_owned(),
    }
}

async fn decide(
    s: &AppState,
    a: &Authed,
    id: i64,
    approve: bool,
    reason: Option<String>,
) -> ServiceResult<Decided> {
    a.allow(Permission::RegistrationReview)?;
    let rid = RegistrationId::new(id).ok_or(ServiceError::NotFound)?;
    let existing = s
        .store
        .get_registration(rid)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if existing.status != RegistrationStatus::Pending {
        return Err(already_decided());
    }
    let supplier = existing.kind == RegistrationKind::Supplier;
    // A supplier is approved only with its qualification credential verified now
    // (supplier:review, issue 16); its report is recorded with the decision.
    let qualification_report = if supplier && approve {
        Some(super::supply_onboarding::approval_report(s, a, &existing).await?)
    } else {
        if supplier {
            a.allow(Permission::SupplierReview)?;
        }
        None
    };
    let r = s
        .store
        .decide_registration(&Decision {
            id: rid,
            approve,
            reviewer: a.user.id,
            reason,
            at_ms: s.clock.now_unix_ms(),
            qualification_report,
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound => already_decided(),
            other => other.into(),
        })?;
    if !approve {
        return Ok(Decided {
            registration: r,
            kyc: None,
        });
    }
    // The approved party's KYC credential and enrolment on the trade chain (kyc.rs; a
    // supplier's kyc-supplier credential and enrolment: supply_onboarding.rs).
    let kyc = if supplier {
        super::supply_onboarding::after_approval(s, &r).await
    } else {
        crate::kyc::after_approval(s, &r).await
    };
    let r = s.store.get_registration(rid).await?.unwrap_or(r);
    Ok(Decided {
        registration: r,
        kyc: Some(kyc),
    })
}

/// Approves registration `id`: the organisation becomes active, the party gets its KYC
/// credential and is enrolled on the trade chain (when a ledger is attached).
pub async fn approve(s: &AppState, a: &Authed, id: i64) -> ServiceResult<Decided> {
    decide(s, a, id, true, None).await
}

/// Rejects registration `id` with `reason` (1 to [`REASON_CHARS_MAX`] characters).
pub async fn reject(s: &AppState, a: &Authed, id: i64, reason: &str) -> ServiceResult<Decided> {
    a.allow(Permission::RegistrationReview)?;
    let reason = reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > REASON_CHARS_MAX {
        return Err(ServiceError::invalid("reason", "1 to 500 characters"));
    }
    decide(s, a, id, false, Some(reason)).await
}
