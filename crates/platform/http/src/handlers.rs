//! Endpoint handlers of sessions, registration, the caller's own account, organisations,
//! users, invites, the audit log and settings. Each one decodes the request, calls the
//! typed function of [`crate::service`] that holds the rules (permission, visibility,
//! limits, validation) and encodes its answer as JSON.

use crate::AppState;
use crate::auth::{Authed, clear_cookie, session_cookie};
use crate::crypto;
use crate::error::{ApiError, ApiResult};
use crate::http::{ApiJson, ApiQuery, AuditSlot, IdParam, PageQuery, set_actor};
use crate::service::Page;
use crate::service::me::{self, TokenDraft};
pub use crate::service::me::{
    RECOVERY_CODES_COUNT, TOKEN_NAME_CHARS_MAX, TOKEN_TTL_SECS_MAX, count_failure, ip_fail,
    require_session,
};
use crate::service::orgs::{self, OrgDraft};
use crate::service::registrations::{self, EnterpriseDraft, PersonalDraft};
pub use crate::service::registrations::{
    REASON_CHARS_MAX, REGISTRATION_WINDOW_SECS, REGISTRATIONS_PER_ADDRESS_MAX,
};
use crate::service::sessions::{self, Credentials};
use crate::service::users::{self, UserDraft};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use suanli_platform_domain::security::SecuritySettings;
use suanli_platform_domain::{OrgId, Permission, Role, UserId};
use suanli_platform_store::*;

pub use crate::service::security::{SECURITY_SETTINGS_KEY, settings, verify_password};
pub use crate::service::users::ROLES_PER_USER_MAX;

type JsonResult = ApiResult<Json<Value>>;

// ---------------------------------------------------------------- helpers

/// What the API shows of a user.
#[derive(Debug, Serialize)]
pub struct UserView {
    id: UserId,
    org_id: OrgId,
    login: String,
    display_name: String,
    roles: Vec<Role>,
    disabled: bool,
    totp_enabled: bool,
    created_ms: i64,
}

impl From<&UserRecord> for UserView {
    fn from(u: &UserRecord) -> Self {
        Self {
            id: u.id,
            org_id: u.org,
            login: u.login.clone(),
            display_name: u.display_name.clone(),
            roles: u.roles.clone(),
            disabled: u.disabled,
            totp_enabled: u.totp_enabled,
            created_ms: u.created_ms,
        }
    }
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

// ---------------------------------------------------------------- public

/// `GET /api/v1/health`
pub async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /metrics`
pub async fn metrics(State(s): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
        .into_response()
}

/// `POST /api/v1/auth/login`
pub async fn login(
    State(s): State<AppState>,
    slot: Option<axum::Extension<AuditSlot>>,
    client: Option<axum::Extension<crate::http::Client>>,
    ApiJson(req): ApiJson<Credentials>,
) -> ApiResult<Response> {
    let ip = client.map(|c| c.ip.clone()).unwrap_or_default();
    // From the proven password on, the attempt is audited under the user's name.
    let proven = |user, org| set_actor(slot.as_deref(), user, org);
    let session = sessions::login(&s, &ip, &req, proven).await?;
    let mut headers = HeaderMap::new();
    let cookie = session_cookie(&session.token, session.ttl_secs, s.cookie_secure);
    headers.insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|_| ApiError::internal())?,
    );
    let body = json!({
        "user": UserView::from(&session.user),
        "csrf_token": session.csrf_token,
        "expires_ms": session.expires_ms,
        "sessions_ended": session.sessions_ended,
    });
    Ok((headers, Json(body)).into_response())
}

/// `POST /api/v1/auth/logout`
pub async fn logout(State(s): State<AppState>, a: Authed) -> ApiResult<Response> {
    sessions::logout(&s, &a).await?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&clear_cookie(s.cookie_secure)).map_err(|_| ApiError::internal())?,
    );
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}

// ---------------------------------------------------------------- registration

fn client_ip(client: Option<axum::Extension<crate::http::Client>>) -> String {
    client.map(|c| c.ip.clone()).unwrap_or_default()
}

/// `POST /api/v1/registrations/enterprise`
pub async fn register_enterprise(
    State(s): State<AppState>,
    client: Option<axum::Extension<crate::http::Client>>,
    ApiJson(r): ApiJson<EnterpriseDraft>,
) -> ApiResult<Response> {
    let rec = registrations::enterprise(&s, &client_ip(client), &r).await?;
    Ok((StatusCode::CREATED, Json(json!({"registration": rec}))).into_response())
}

/// `POST /api/v1/registrations/personal`
pub async fn register_personal(
    State(s): State<AppState>,
    client: Option<axum::Extension<crate::http::Client>>,
    ApiJson(r): ApiJson<PersonalDraft>,
) -> ApiResult<Response> {
    let rec = registrations::personal(&s, &client_ip(client), &r).await?;
    Ok((StatusCode::CREATED, Json(json!({"registration": rec}))).into_response())
}

/// `?status=&after=&limit=` of the registration list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegQuery {
    status: Option<String>,
    after: Option<i64>,
    limit: Option<u32>,
}

/// `GET /api/v1/registrations`
pub async fn list_registrations(
    State(s): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<RegQuery>,
) -> JsonResult {
    a.require(Permission::RegistrationReview)?;
    let status = match q.status.as_deref() {
        None => None,
        Some(x) => Some(RegistrationStatus::parse(x).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                "status must be pending, approved or rejected",
            )
            .field("status")
        })?),
    };
    let limit = PageQuery {
        after: q.after,
        limit: q.limit,
    }
    .limit()?;
    let items = registrations::list(&s, &a, status, q.after, limit).await?;
    Ok(Json(json!({ "items": items })))
}

/// `GET /api/v1/registrations/{id}`
pub async fn get_registration(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
) -> JsonResult {
    let r = registrations::get(&s, &a, id).await?;
    Ok(Json(json!({ "registration": r })))
}

/// `POST /api/v1/registrations/{id}/reveal-id-number` — decrypts a personal
/// registration's ID number for the reviewer comparing it with the submitted document.
/// A POST so that every reveal is in the audit log.
pub async fn reveal_id_number(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
) -> JsonResult {
    let id_number = registrations::reveal_id_number(&s, &a, id).await?;
    Ok(Json(json!({ "id_number": id_number })))
}

/// Rejection body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectReq {
    reason: String,
}

fn decided_json(d: registrations::Decided) -> Json<Value> {
    match d.kyc {
        None => Json(json!({ "registration": d.registration })),
        Some(kyc) => Json(json!({ "registration": d.registration, "kyc": kyc })),
    }
}

/// `POST /api/v1/registrations/{id}/approve`
pub async fn approve_registration(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
) -> JsonResult {
    Ok(decided_json(registrations::approve(&s, &a, id).await?))
}

/// `POST /api/v1/registrations/{id}/reject`
pub async fn reject_registration(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
    ApiJson(r): ApiJson<RejectReq>,
) -> JsonResult {
    Ok(decided_json(
        registrations::reject(&s, &a, id, &r.reason).await?,
    ))
}

// ---------------------------------------------------------------- me

/// `GET /api/v1/me`
pub async fn me(a: Authed) -> Json<Value> {
    Json(json!({
        "user": UserView::from(&a.user),
        "org": a.org,
        "permissions": a.principal.permissions(),
    }))
}

/// Password change.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordReq {
    current_password: String,
    new_password: String,
}

/// Redacts the secret fields.
impl std::fmt::Debug for PasswordReq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordReq")
            .field("current_password", &"<redacted>")
            .field("new_password", &"<redacted>")
            .finish()
    }
}

/// `POST /api/v1/me/password` — ends every session of the user, this one included.
pub async fn change_password(
    State(s): State<AppState>,
    a: Authed,
    client: Option<axum::Extension<crate::http::Client>>,
    ApiJson(r): ApiJson<PasswordReq>,
) -> ApiResult<Response> {
    let ip = client.map(|c| c.ip.clone()).unwrap_or_default();
    me::change_password(&s, &a, &ip, &r.current_password, &r.new_password).await?;
    Ok(no_content())
}

/// `POST /api/v1/me/mfa/totp` — starts TOTP enrolment: a new secret, not yet required.
pub async fn totp_setup(State(s): State<AppState>, a: Authed) -> JsonResult {
    let t = me::totp_setup(&s, &a).await?;
    Ok(Json(
        json!({ "secret_base32": t.secret_base32, "otpauth_uri": t.otpauth_uri }),
    ))
}

/// TOTP confirmation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TotpConfirm {
    code: String,
}

/// Redacts the secret fields.
impl std::fmt::Debug for TotpConfirm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpConfirm")
            .field("code", &"<redacted>")
            .finish()
    }
}

/// `POST /api/v1/me/mfa/totp/confirm` — enables TOTP after a correct code; returns the
/// recovery codes (shown once; stored as SHA-256 digests).
pub async fn totp_confirm(
    State(s): State<AppState>,
    a: Authed,
    ApiJson(r): ApiJson<TotpConfirm>,
) -> JsonResult {
    let codes = me::totp_confirm(&s, &a, &r.code).await?;
    Ok(Json(json!({ "recovery_codes": codes })))
}

/// `POST /api/v1/me/tokens` — the token is in the answer once and never again.
pub async fn create_token(
    State(s): State<AppState>,
    a: Authed,
    ApiJson(r): ApiJson<TokenDraft>,
) -> ApiResult<Response> {
    let (token, rec) = me::create_token(&s, &a, &r).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "token": token, "record": rec })),
    )
        .into_response())
}

/// `GET /api/v1/me/tokens`
pub async fn list_tokens(State(s): State<AppState>, a: Authed) -> JsonResult {
    Ok(Json(json!({ "items": me::tokens(&s, &a).await? })))
}

/// `DELETE /api/v1/me/tokens/{id}`
pub async fn revoke_token(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
) -> ApiResult<Response> {
    me::revoke_token(&s, &a, id).await?;
    Ok(no_content())
}

// ---------------------------------------------------------------- organisations

/// `GET /api/v1/orgs`
pub async fn list_orgs(
    State(s): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> JsonResult {
    a.require(Permission::OrgRead)?;
    let items = orgs::list(&s, &a, Page::new(q.after, q.limit()?)?).await?;
    Ok(Json(json!({ "items": items })))
}

/// `GET /api/v1/orgs/{id}`
pub async fn get_org(State(s): State<AppState>, a: Authed, IdParam(id): IdParam) -> JsonResult {
    Ok(Json(json!({ "org": orgs::get(&s, &a, id).await? })))
}

/// `POST /api/v1/orgs` — the operator creates suppliers, distributors and customers
/// directly (already verified offline), each with an administrator.
pub async fn create_org(
    State(s): State<AppState>,
    a: Authed,
    ApiJson(r): ApiJson<OrgDraft>,
) -> ApiResult<Response> {
    let (org, user) = orgs::create(&s, &a, &r).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "org": org, "admin": UserView::from(&user) })),
    )
        .into_response())
}

/// Organisation update.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrgReq {
    name: String,
}

/// `PATCH /api/v1/orgs/{id}`
pub async fn update_org(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
    ApiJson(r): ApiJson<UpdateOrgReq>,
) -> JsonResult {
    Ok(Json(
        json!({ "org": orgs::rename(&s, &a, id, &r.name).await? }),
    ))
}

/// `DELETE /api/v1/orgs/{id}` — suspends (organisations are never erased).
pub async fn suspend_org(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
) -> ApiResult<Response> {
    orgs::suspend(&s, &a, id).await?;
    Ok(no_content())
}

/// Sales-owner assignment.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SalesOwnerReq {
    user_id: Option<i64>,
}

/// `PUT /api/v1/orgs/{id}/sales-owner`
pub async fn set_sales_owner(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
    ApiJson(r): ApiJson<SalesOwnerReq>,
) -> JsonResult {
    let org = orgs::set_sales_owner(&s, &a, id, r.user_id).await?;
    Ok(Json(json!({ "org": org })))
}

// ---------------------------------------------------------------- users

/// `GET /api/v1/orgs/{id}/users`
pub async fn list_org_users(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> JsonResult {
    a.require(Permission::UserRead)?;
    let users = users::list(&s, &a, id, Page::new(q.after, q.limit()?)?).await?;
    let items: Vec<UserView> = users.iter().map(UserView::from).collect();
    Ok(Json(json!({ "items": items })))
}

/// `POST /api/v1/orgs/{id}/users` — creates a (sub-)user in one's own organisation.
pub async fn create_user(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
    ApiJson(r): ApiJson<UserDraft>,
) -> ApiResult<Response> {
    let user = users::create(&s, &a, id, &r).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "user": UserView::from(&user) })),
    )
        .into_response())
}

/// `GET /api/v1/users/{id}`
pub async fn get_user(State(s): State<AppState>, a: Authed, IdParam(id): IdParam) -> JsonResult {
    let u = users::get(&s, &a, id).await?;
    Ok(Json(json!({ "user": UserView::from(&u) })))
}

/// Role replacement.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolesReq {
    roles: Vec<Role>,
}

/// `PUT /api/v1/users/{id}/roles`
pub async fn set_roles(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
    ApiJson(r): ApiJson<RolesReq>,
) -> JsonResult {
    let u = users::set_roles(&s, &a, id, &r.roles).await?;
    Ok(Json(json!({ "user": UserView::from(&u) })))
}

/// `DELETE /api/v1/users/{id}` — disables the user and ends its sessions.
pub async fn disable_user(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
) -> ApiResult<Response> {
    users::disable(&s, &a, id).await?;
    Ok(no_content())
}

// ---------------------------------------------------------------- invites

/// `POST /api/v1/invite-codes` — a distributor's invite code for customer registration.
pub async fn create_invite(State(s): State<AppState>, a: Authed) -> ApiResult<Response> {
    a.require(Permission::InviteManage)?;
    let code = hex::encode_upper(crypto::random_bytes::<6>().map_err(|_| ApiError::internal())?);
    s.store
        .create_invite(&code, a.org.id, s.clock.now_unix_ms())
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "code": code }))).into_response())
}

// ---------------------------------------------------------------- audit

/// Query of the audit list: `after` is a sequence number; the rest filter.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    after: Option<u64>,
    limit: Option<u32>,
    actor_org: Option<i64>,
    actor_user: Option<i64>,
    outcome: Option<String>,
    from_ms: Option<i64>,
    to_ms: Option<i64>,
}

/// `GET /api/v1/audit`
pub async fn list_audit(
    State(s): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> JsonResult {
    a.require(Permission::AuditRead)?;
    let limit = PageQuery {
        after: None,
        limit: q.limit,
    }
    .limit()?;
    let outcome = match q.outcome.as_deref() {
        None => None,
        Some(o) => Some(
            suanli_platform_domain::audit::Outcome::parse(o).ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_query",
                    "outcome must be success, denied or error",
                )
                .field("outcome")
            })?,
        ),
    };
    let filter = AuditFilter {
        actor_org: q.actor_org,
        actor_user: q.actor_user,
        outcome,
        from_ms: q.from_ms,
        to_ms: q.to_ms,
    };
    let items = crate::service::audit::search(&s, &a, &filter, q.after.unwrap_or(0), limit).await?;
    Ok(Json(json!({ "items": items })))
}

/// `GET /api/v1/audit/verify` — recomputes the whole hash chain.
pub async fn verify_audit(State(s): State<AppState>, a: Authed) -> JsonResult {
    match crate::service::audit::verify(&s, &a).await? {
        Ok((records, head)) => Ok(Json(json!({
            "valid": true,
            "records": records,
            "head": hex::encode(head),
        }))),
        Err(e) => Ok(Json(json!({ "valid": false, "error": e.to_string() }))),
    }
}

// ---------------------------------------------------------------- settings

/// `GET /api/v1/settings/security`
pub async fn get_settings(State(s): State<AppState>, a: Authed) -> JsonResult {
    let current = crate::service::security::read_settings(&s, &a).await?;
    Ok(Json(json!({ "settings": current })))
}

/// `PUT /api/v1/settings/security`
pub async fn put_settings(
    State(s): State<AppState>,
    a: Authed,
    ApiJson(new): ApiJson<SecuritySettings>,
) -> JsonResult {
    crate::service::security::save_settings(&s, &a, &new).await?;
    Ok(Json(json!({ "settings": new })))
}
