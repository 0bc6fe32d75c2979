//! The bridge from a page's form to the platform's rules.
//!
//! Pages call the typed service layer ([`suanli_platform_http::service`]) — the same
//! functions the API's handlers call — through [`run`]: it first checks the form's CSRF
//! token against the session's (as the API checks the `X-CSRF-Token` header), then runs
//! the operation and turns a refusal into an [`ApiFailure`] the form shows next to its
//! field. Server faults become [`WebError`]s (the 500 page).
//!
//! Anonymous forms (login, registration) carry no CSRF token and run through
//! [`run_open`]; the pages' same-origin check guards them.

use crate::WebError;
use crate::ctx::Ctx;
use axum::http::StatusCode;
use suanli_platform_domain::audit::Outcome;
use suanli_platform_http::crypto::ct_eq;
use suanli_platform_http::error::ApiError;
use suanli_platform_http::http::{record_event, set_outcome};
use suanli_platform_http::service::ServiceError;

/// A refused operation, as a form shows it: the status the API would answer, the stable
/// code, the (English) message and the offending field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code.
    pub code: String,
    /// Message (English).
    pub message: String,
    /// Offending field, if any.
    pub field: Option<String>,
}

impl ApiFailure {
    /// The failure of a refused service operation; a server fault is a [`WebError`].
    pub fn of(e: ServiceError) -> Result<Self, WebError> {
        let e = ApiError::from(e);
        if e.status.is_server_error() {
            return Err(WebError::Internal(format!("{}: {}", e.code, e.message)));
        }
        Ok(ApiFailure {
            status: e.status,
            code: e.code.to_owned(),
            message: e.message,
            field: e.field,
        })
    }
}

/// Checks a form's CSRF token against the session's (`csrf_missing` / `csrf_invalid`,
/// as the API answers a missing or wrong `X-CSRF-Token` header).
pub fn check_csrf(ctx: &Ctx, token: &str) -> Result<(), ApiFailure> {
    let fail = |code: &str, message: &str| ApiFailure {
        status: StatusCode::FORBIDDEN,
        code: code.to_owned(),
        message: message.to_owned(),
        field: None,
    };
    if token.is_empty() {
        return Err(fail(
            "csrf_missing",
            "state-changing requests on a cookie session need the CSRF token",
        ));
    }
    if ctx.csrf.is_empty() || !ct_eq(token.as_bytes(), ctx.csrf.as_bytes()) {
        return Err(fail(
            "csrf_invalid",
            "the CSRF token does not match the session",
        ));
    }
    Ok(())
}

/// Runs a state-changing service operation for a form carrying the CSRF token `token`:
/// the token is checked first (the operation does not run without it); a refusal is an
/// [`ApiFailure`] for the form, a server fault a [`WebError`]. The operation's outcome
/// becomes the outcome of the page's audit record.
pub async fn run<T>(
    ctx: &Ctx,
    token: &str,
    op: impl std::future::Future<Output = Result<T, ServiceError>>,
) -> Result<Result<T, ApiFailure>, WebError> {
    let r = checked(ctx, token, op).await;
    set_outcome(ctx.audit.as_ref(), outcome_of(&r));
    r
}

/// [`run`] for an operation audited as its own event `action` on `target` (named as the
/// API names it, e.g. `POST /api/v1/offline-transfers/{id}/approve` on
/// `/api/v1/offline-transfers/17/approve`): a page running several operations leaves
/// one record for each, and none of its own.
pub async fn run_as<T>(
    ctx: &Ctx,
    token: &str,
    (action, target): (&str, &str),
    op: impl std::future::Future<Output = Result<T, ServiceError>>,
) -> Result<Result<T, ApiFailure>, WebError> {
    let r = checked(ctx, token, op).await;
    record_event(ctx.audit.as_ref(), action, target, outcome_of(&r));
    r
}

async fn checked<T>(
    ctx: &Ctx,
    token: &str,
    op: impl std::future::Future<Output = Result<T, ServiceError>>,
) -> Result<Result<T, ApiFailure>, WebError> {
    if let Err(f) = check_csrf(ctx, token) {
        return Ok(Err(f));
    }
    match op.await {
        Ok(v) => Ok(Ok(v)),
        Err(e) => ApiFailure::of(e).map(Err),
    }
}

/// The audit outcome of an operation's result.
pub fn outcome_of<T>(r: &Result<Result<T, ApiFailure>, WebError>) -> Outcome {
    match r {
        Ok(Ok(_)) => Outcome::Success,
        Ok(Err(f)) => Outcome::from_status(f.status.as_u16()),
        Err(WebError::Internal(_) | WebError::Store(_)) => Outcome::Error,
        Err(_) => Outcome::Denied,
    }
}

/// Runs a service operation of an anonymous form (login, registration), which carries no
/// CSRF token: the same-origin check of the pages guards it. Its outcome becomes the
/// outcome of the page's audit record.
pub async fn run_open<T>(
    ctx: &Ctx,
    op: impl std::future::Future<Output = Result<T, ServiceError>>,
) -> Result<Result<T, ApiFailure>, WebError> {
    let r = match op.await {
        Ok(v) => Ok(Ok(v)),
        Err(e) => ApiFailure::of(e).map(Err),
    };
    set_outcome(ctx.audit.as_ref(), outcome_of(&r));
    r
}
