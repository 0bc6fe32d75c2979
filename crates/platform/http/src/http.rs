//! Request plumbing: bounded JSON bodies with field-level errors, path and query
//! extractors that answer in the JSON error format, and the middleware that audits every
//! state-changing request and counts responses.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, MatchedPath, Request};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use serde::de::DeserializeOwned;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use suanli_platform_domain::audit::{AuditEvent, Outcome};

/// Largest accepted request body, in bytes.
pub const BODY_BYTES_MAX: usize = 64 * 1024;
/// Default page size of list endpoints.
pub const PAGE_SIZE_DEFAULT: u32 = 50;
/// Longest user-agent string kept in the audit log, in bytes.
pub const USER_AGENT_BYTES_MAX: usize = 256;

/// A JSON body: `application/json`, at most [`BODY_BYTES_MAX`], decoded with the path of
/// the offending field in errors. DTOs use `#[serde(deny_unknown_fields)]`.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "request body must be application/json",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|r| {
                if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "body_too_large",
                        format!("request body exceeds {BODY_BYTES_MAX} bytes"),
                    )
                } else {
                    ApiError::new(StatusCode::BAD_REQUEST, "bad_request", "cannot read body")
                }
            })?;
        decode_json(&bytes).map(ApiJson)
    }
}

/// Decodes JSON, turning serde errors into field-level API errors.
pub fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let result: Result<T, _> = serde_path_to_error::deserialize(&mut de);
    let value = result.map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let msg = inner.to_string();
        match inner.classify() {
            serde_json::error::Category::Data => {
                // A missing field is reported at its parent's path; name it.
                let missing = msg
                    .strip_prefix("missing field `")
                    .and_then(|m| m.split('`').next());
                let field = match (missing, path.as_str()) {
                    (Some(n), ".") => n.to_owned(),
                    (Some(n), p) => format!("{p}.{n}"),
                    (None, p) => p.to_owned(),
                };
                let code = if msg.starts_with("unknown field") {
                    "unknown_field"
                } else if msg.starts_with("missing field") {
                    "missing_field"
                } else {
                    "invalid_field"
                };
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, strip_position(&msg))
                    .field(field)
            }
            _ => ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("malformed JSON: {msg}"),
            ),
        }
    })?;
    de.end().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "trailing characters after the JSON value",
        )
    })?;
    Ok(value)
}

fn strip_position(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

/// A path parameter that must be a positive row id.
#[derive(Debug, Clone, Copy)]
pub struct IdParam(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for IdParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::invalid("id", "path id missing"))?;
        match raw.parse::<i64>() {
            Ok(n) if n > 0 => Ok(IdParam(n)),
            _ => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_field",
                "id must be a positive integer",
            )
            .field("id")),
        }
    }
}

/// Query parameters, errors in the JSON format.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(q.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let field = e.path().to_string();
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_query",
                    e.into_inner().to_string(),
                )
                .field(field)
            })
    }
}

/// `?after=&limit=` of list endpoints.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Return items after this id.
    pub after: Option<i64>,
    /// At most this many (1..=`PAGE_SIZE_MAX`).
    pub limit: Option<u32>,
}

impl PageQuery {
    /// The validated limit.
    pub fn limit(&self) -> Result<u32, ApiError> {
        let max = suanli_platform_store::PAGE_SIZE_MAX;
        match self.limit {
            None => Ok(PAGE_SIZE_DEFAULT),
            Some(n) if (1..=max).contains(&n) => Ok(n),
            Some(_) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                format!("limit must be between 1 and {max}"),
            )
            .field("limit")),
        }
    }
}

/// Who acted, filled in by authentication for the audit middleware, and what a page
/// named its action (a page form post runs service operations in-process, so the
/// request's method, route and status alone would say too little).
#[derive(Debug, Default)]
pub struct AuditActor {
    /// User id.
    pub user: Option<i64>,
    /// Organisation id.
    pub org: Option<i64>,
    /// The operation's outcome, when the handler knows it (else the status decides).
    pub outcome: Option<Outcome>,
    /// The action and target the handler named for the whole request (else
    /// `METHOD route` and the request path).
    pub named: Option<(String, String)>,
    /// Events the handler recorded one by one (one per money-moving operation); when
    /// any is recorded, they replace the request's own record.
    pub events: Vec<NamedEvent>,
    /// The request changed nothing (a preview): it leaves no record.
    pub silent: bool,
}

/// One operation a handler recorded for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedEvent {
    /// Action, e.g. `POST /api/v1/orders`.
    pub action: String,
    /// Target, e.g. `/api/v1/orders` or `/api/v1/offline-transfers/17/approve`.
    pub target: String,
    /// Outcome of the operation.
    pub outcome: Outcome,
}

/// Shared slot in request extensions.
pub type AuditSlot = Arc<Mutex<AuditActor>>;

fn with_slot(slot: Option<&AuditSlot>, f: impl FnOnce(&mut AuditActor)) {
    if let Some(slot) = slot
        && let Ok(mut a) = slot.lock()
    {
        f(&mut a);
    }
}

/// Sets the actor of the current request.
pub fn set_actor(slot: Option<&AuditSlot>, user: i64, org: i64) {
    with_slot(slot, |a| {
        a.user = Some(user);
        a.org = Some(org);
    });
}

/// Names the action and target of the current request's audit record.
pub fn set_target(slot: Option<&AuditSlot>, action: &str, target: &str) {
    with_slot(slot, |a| {
        a.named = Some((action.to_owned(), target.to_owned()))
    });
}

/// Records the outcome of the current request's operation (the last one recorded wins).
pub fn set_outcome(slot: Option<&AuditSlot>, outcome: Outcome) {
    with_slot(slot, |a| a.outcome = Some(outcome));
}

/// Records one operation of the current request as its own audit event.
pub fn record_event(slot: Option<&AuditSlot>, action: &str, target: &str, outcome: Outcome) {
    with_slot(slot, |a| {
        a.events.push(NamedEvent {
            action: action.to_owned(),
            target: target.to_owned(),
            outcome,
        });
    });
}

/// Marks the current request as changing nothing: it leaves no audit record.
pub fn set_silent(slot: Option<&AuditSlot>) {
    with_slot(slot, |a| a.silent = true);
}

/// Client address and user agent.
#[derive(Debug, Clone)]
pub struct Client {
    /// IP address.
    pub ip: String,
    /// User agent (truncated).
    pub user_agent: String,
}

fn client_of(req: &Request) -> Client {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default();
    let mut user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if user_agent.len() > USER_AGENT_BYTES_MAX {
        let mut cut = USER_AGENT_BYTES_MAX;
        while !user_agent.is_char_boundary(cut) {
            cut -= 1;
        }
        user_agent.truncate(cut);
    }
    Client { ip, user_agent }
}

/// Middleware of the API and of the web pages: logs each request (method, route, status
/// — never bodies or query strings), counts responses, and appends the audit records of
/// every state-changing request. The handler names the actor through the [`AuditSlot`],
/// and may name the action, target and outcome ([`set_target`], [`set_outcome`]), record
/// one event per operation ([`record_event`]) or none ([`set_silent`]); a page form post
/// runs its operations in-process, so method, route and status alone would say too
/// little.
pub async fn audit_and_count(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    audited(&state, req, next, true).await
}

async fn audited(state: &AppState, mut req: Request, next: Next, count: bool) -> Response {
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "(unmatched)".to_owned());
    let target = req.uri().path().to_owned();
    let client = client_of(&req);
    let slot: AuditSlot = Arc::default();
    req.extensions_mut().insert(slot.clone());
    req.extensions_mut().insert(client.clone());
    let response = next.run(req).await;
    let status = response.status().as_u16();
    if count {
        state.metrics.response(status);
        tracing::info!(method = %method, route = %route, status, "request");
    }
    let mutating = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !mutating {
        return response;
    }
    let actor = match slot.lock() {
        Ok(mut a) => std::mem::take(&mut *a),
        Err(_) => AuditActor::default(),
    };
    let default = NamedEvent {
        action: format!("{method} {route}"),
        target,
        outcome: Outcome::from_status(status),
    };
    for e in events_of(
        actor.events,
        actor.named,
        actor.outcome,
        actor.silent,
        default,
    ) {
        let event = AuditEvent {
            at_ms: state.clock.now_unix_ms(),
            actor_user: actor.user,
            actor_org: actor.org,
            action: e.action,
            target: e.target,
            ip: client.ip.clone(),
            user_agent: client.user_agent.clone(),
            outcome: e.outcome,
            status,
        };
        append_audit(state, &event).await;
    }
    response
}

/// The events a request leaves: those the handler recorded, else none for a silent
/// request, else one — named by the handler or `default`, with the handler's outcome
/// or the status's.
fn events_of(
    recorded: Vec<NamedEvent>,
    named: Option<(String, String)>,
    outcome: Option<Outcome>,
    silent: bool,
    default: NamedEvent,
) -> Vec<NamedEvent> {
    if !recorded.is_empty() {
        return recorded;
    }
    if silent {
        return Vec::new();
    }
    let (action, target) = named.unwrap_or((default.action, default.target));
    vec![NamedEvent {
        action,
        target,
        outcome: outcome.unwrap_or(default.outcome),
    }]
}

/// Appends `event` to the audit log and anchors the new head (failures are logged and
/// counted, never answered).
pub async fn append_audit(state: &AppState, event: &AuditEvent) {
    match state.store.append_audit(event).await {
        Ok(rec) => {
            state.metrics.audit(true);
            if let Some(anchor) = &state.anchor
                && let Err(e) = anchor.anchor(rec.seq, rec.hash)
            {
                tracing::warn!(error = %e, seq = rec.seq, "audit anchoring failed");
            }
        }
        Err(e) => {
            state.metrics.audit(false);
            tracing::error!(error = %e, "audit append failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(action: &str, target: &str, outcome: Outcome) -> NamedEvent {
        NamedEvent {
            action: action.to_owned(),
            target: target.to_owned(),
            outcome,
        }
    }

    fn page(status: u16) -> NamedEvent {
        ev(
            "POST /ops/finance",
            "/ops/finance",
            Outcome::from_status(status),
        )
    }

    #[test]
    fn a_request_leaves_its_own_record_named_by_method_route_and_status() {
        let got = events_of(Vec::new(), None, None, false, page(303));
        assert_eq!(got, vec![page(303)]);
    }

    #[test]
    fn the_operation_outcome_wins_over_the_status() {
        // A refused logout redirects (303) all the same: the record says denied.
        let got = events_of(Vec::new(), None, Some(Outcome::Denied), false, page(303));
        assert_eq!(got[0].outcome, Outcome::Denied);
        let got = events_of(Vec::new(), None, Some(Outcome::Error), false, page(200));
        assert_eq!(got[0].outcome, Outcome::Error);
    }

    #[test]
    fn a_named_action_and_target_replace_the_route_and_path() {
        let named = Some(("POST /x/{id}".to_owned(), "/x/17".to_owned()));
        let got = events_of(Vec::new(), named, Some(Outcome::Success), false, page(303));
        assert_eq!(got, vec![ev("POST /x/{id}", "/x/17", Outcome::Success)]);
    }

    #[test]
    fn recorded_events_replace_the_request_record_and_silence_drops_it() {
        let two = vec![
            ev("POST /api/v1/orders", "/api/v1/orders", Outcome::Success),
            ev("POST /api/v1/orders", "/api/v1/orders", Outcome::Denied),
        ];
        assert_eq!(
            events_of(two.clone(), None, Some(Outcome::Denied), false, page(303)),
            two
        );
        assert!(events_of(Vec::new(), None, None, true, page(303)).is_empty());
    }

    #[test]
    fn the_slot_helpers_fill_the_slot() {
        let slot: AuditSlot = Arc::default();
        set_actor(Some(&slot), 3, 4);
        set_target(Some(&slot), "POST /a/{id}", "/a/9");
        set_outcome(Some(&slot), Outcome::Denied);
        record_event(Some(&slot), "POST /b", "/b", Outcome::Success);
        set_silent(Some(&slot));
        let a = slot.lock().unwrap();
        assert_eq!((a.user, a.org), (Some(3), Some(4)));
        assert_eq!(a.named, Some(("POST /a/{id}".into(), "/a/9".into())));
        assert_eq!(a.outcome, Some(Outcome::Denied));
        assert_eq!(a.events, vec![ev("POST /b", "/b", Outcome::Success)]);
        assert!(a.silent);
        // No slot (a request outside the audited routers): nothing to do, no panic.
        set_outcome(None, Outcome::Success);
    }
}
