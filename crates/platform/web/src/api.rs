//! The bridge from a page's form to the platform's rules.
//!
//! Pages call the typed service layer ([`suanli_platform_http::service`]) — the same
//! functions the API's handlers call — through [`run`]: it first checks the form's CSRF
//! token against the session's (as the API checks the `X-CSRF-Token` header), then runs
//! the operation and turns a refusal into an [`ApiFailure`] the form shows next to its
//! field. Server faults become [`WebError`]s (the 500 page).
//!
//! Forms not yet moved to the service layer still go through [`call`]: the request is
//! built as a browser would send it to `/api/v1/…` (the caller's session cookie, the
//! form's CSRF token as the `X-CSRF-Token` header, a JSON body) and handed to the API
//! router in-process.

use crate::WebError;
use crate::ctx::Ctx;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use serde_json::Value;
use suanli_platform_http::auth::CSRF_HEADER;
use suanli_platform_http::crypto::ct_eq;
use suanli_platform_http::error::ApiError;
use suanli_platform_http::money_api::IDEMPOTENCY_HEADER;
use suanli_platform_http::service::ServiceError;
use tower::ServiceExt;

/// Largest API answer read back, in bytes.
pub const ANSWER_BYTES_MAX: usize = 4 * 1024 * 1024;

/// An API error answer.
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
/// [`ApiFailure`] for the form, a server fault a [`WebError`].
pub async fn run<T>(
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

/// Runs a service operation of an anonymous form (registration), which carries no CSRF
/// token: the same-origin check of the pages guards it.
pub async fn run_open<T>(
    op: impl std::future::Future<Output = Result<T, ServiceError>>,
) -> Result<Result<T, ApiFailure>, WebError> {
    match op.await {
        Ok(v) => Ok(Ok(v)),
        Err(e) => ApiFailure::of(e).map(Err),
    }
}

/// A successful API answer.
#[derive(Debug)]
pub struct ApiAnswer {
    /// The JSON body.
    pub body: Value,
    /// `Set-Cookie` headers (login, logout).
    pub set_cookies: Vec<HeaderValue>,
}

/// One in-process API call.
#[derive(Debug)]
pub struct Call<'a> {
    /// Method.
    pub method: Method,
    /// Path (`/api/v1/…`).
    pub path: &'a str,
    /// JSON body, if any.
    pub body: Option<Value>,
    /// CSRF token from the form.
    pub csrf: Option<&'a str>,
    /// Idempotency key from the form.
    pub idempotency_key: Option<&'a str>,
}

impl<'a> Call<'a> {
    /// A POST with a JSON body.
    pub fn post(path: &'a str, body: Option<Value>) -> Self {
        Call {
            method: Method::POST,
            path,
            body,
            csrf: None,
            idempotency_key: None,
        }
    }
    /// A PUT with a JSON body.
    pub fn put(path: &'a str, body: Value) -> Self {
        Call {
            method: Method::PUT,
            path,
            body: Some(body),
            csrf: None,
            idempotency_key: None,
        }
    }
    /// With the form's CSRF token.
    pub fn csrf(mut self, token: &'a str) -> Self {
        self.csrf = Some(token);
        self
    }
    /// With an idempotency key.
    pub fn idem(mut self, key: &'a str) -> Self {
        self.idempotency_key = Some(key);
        self
    }
}

/// Runs `call` through the API router on behalf of the page's caller.
pub async fn call(
    api: &axum::Router,
    ctx: &Ctx,
    call: Call<'_>,
) -> Result<Result<ApiAnswer, ApiFailure>, WebError> {
    let mut b = Request::builder().method(call.method).uri(call.path);
    for h in [header::COOKIE, header::USER_AGENT] {
        if let Some(v) = ctx.headers.get(&h) {
            b = b.header(h, v.clone());
        }
    }
    if let Some(t) = call.csrf {
        b = b.header(CSRF_HEADER, t);
    }
    if let Some(k) = call.idempotency_key {
        b = b.header(IDEMPOTENCY_HEADER, k);
    }
    let body = match call.body {
        Some(v) => {
            b = b.header(header::CONTENT_TYPE, "application/json");
            Body::from(serde_json::to_vec(&v).map_err(|e| WebError::Internal(e.to_string()))?)
        }
        None => Body::empty(),
    };
    let mut req = b
        .body(body)
        .map_err(|e| WebError::Internal(e.to_string()))?;
    if let Some(p) = ctx.peer {
        req.extensions_mut().insert(ConnectInfo(p));
    }
    let resp = match api.clone().oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let status = resp.status();
    let set_cookies = resp
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .cloned()
        .collect();
    let bytes = axum::body::to_bytes(resp.into_body(), ANSWER_BYTES_MAX)
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    let body: Value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    };
    if status.is_success() {
        return Ok(Ok(ApiAnswer { body, set_cookies }));
    }
    if status.is_server_error() {
        return Err(WebError::Internal(format!("API answered {status}")));
    }
    let e = &body["error"];
    Ok(Err(ApiFailure {
        status,
        code: e["code"].as_str().unwrap_or("error").to_owned(),
        message: e["message"].as_str().unwrap_or("").to_owned(),
        field: e["field"].as_str().map(str::to_owned),
    }))
}
