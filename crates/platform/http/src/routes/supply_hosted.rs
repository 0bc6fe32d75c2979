//! Routes of the platform-hosted supplier agent (`docs/supply.md` §3.5): start, read,
//! stop. Thin handlers: decode, call [`crate::service::supply_hosted`], encode. No answer
//! ever carries the agent's key, sealed or not.

use super::bodies::{obj, s_str};
use super::{Access, RouteDoc};
use crate::AppState;
use crate::auth::Authed;
use crate::error::ApiResult;
use crate::http::ApiJson;
use crate::service::supply_hosted::{self as hosted, StartRequest, StopRequest};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use suanli_platform_store::{HostedAgentRecord, HostedStatus};

/// Every hosted-agent route.
pub const ROUTES: &[RouteDoc] = &[
    RouteDoc {
        method: "GET",
        path: "/api/v1/supplier/hosted-agent",
        summary: "The supplier's platform-hosted agent (the newest, stopped ones included)",
        access: Access::Permission("supply:read"),
        body: None,
        response: Some("HostedAgentEnvelope"),
        handler: || get(one),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/supplier/hosted-agent",
        summary: "Let the platform host the supplier's agent: a key generated, sealed and delegated with the supplier DID key the password unseals (201 active; 202 starting when the ledger did not answer); session only",
        access: Access::Permission("supply:manage"),
        body: Some(b_start),
        response: Some("HostedAgentEnvelope"),
        handler: || post(start),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/supplier/hosted-agent/stop",
        summary: "Stop the hosted agent: its key revoked on the trade chain with the supplier DID key the password unseals, its sealed key wiped; session only",
        access: Access::Permission("supply:manage"),
        body: Some(b_stop),
        response: Some("HostedAgentEnvelope"),
        handler: || post(stop),
    },
];

fn b_start() -> Value {
    let int = |d: &str| json!({"type": "integer", "description": d});
    obj(
        &["fragment", "mode", "password"],
        json!({"fragment": {"type": "string", "description": "the agent key's verification method, e.g. agent-1 (1-32 of a-z 0-9 -, not key-1)"},
               "mode": {"type": "string", "enum": ["auto", "manual"]},
               "max_units": int("with auto: most units of an order accepted automatically (positive)"),
               "max_minutes": int("with auto: longest order accepted automatically, minutes (positive)"),
               "max_value_fen": int("with auto: largest order value accepted automatically, fen (positive)"),
               "offers": {"type": "array", "items": {"type": "integer"}, "description": "offers accepted automatically; absent or empty: every offer"},
               "password": s_str()}),
    )
}

fn b_stop() -> Value {
    obj(&["password"], json!({"password": s_str()}))
}

/// The hosted agent's JSON shape (`HostedAgent` in the OpenAPI document); `problem` is
/// why it cannot run ([`hosted::problem`]).
pub fn hosted_json(h: &HostedAgentRecord, problem: Option<&str>) -> Value {
    let p = &h.policy;
    json!({
        "id": h.id, "supplier_did": h.supplier_did, "public_key": h.public_key,
        "fragment": h.fragment, "status": h.status.as_str(),
        "runnable": h.status != HostedStatus::Stopped && problem.is_none(), "problem": problem,
        "policy": {"mode": p.mode, "max_units": p.max_units, "max_minutes": p.max_minutes,
                   "max_value_fen": p.max_value_fen, "offers": p.offers},
        "created_ms": h.created_ms, "started_ms": h.started_ms, "stopped_ms": h.stopped_ms,
    })
}

/// The OpenAPI schemas of the hosted agent's answers.
pub fn schemas() -> Value {
    let ni = json!({"type": "integer", "nullable": true});
    json!({
        "HostedAgent": {"type": "object", "properties": {
            "id": {"type": "integer"}, "supplier_did": {"type": "string"},
            "public_key": {"type": "string", "description": "the agent key (Ed25519, hex); its secret is never answered"},
            "fragment": {"type": "string"},
            "status": {"type": "string", "enum": ["starting", "active", "stopped"]},
            "runnable": {"type": "boolean", "description": "not stopped, and its sealed key opens under the platform's hosted-agent key (the worker can run it)"},
            "problem": {"type": "string", "nullable": true, "enum": ["hosted_key_missing", "hosted_key_unreadable", "hosted_key_unopenable"], "description": "why a starting or active agent cannot run"},
            "policy": {"type": "object", "properties": {
                "mode": {"type": "string", "enum": ["auto", "manual"]},
                "max_units": ni, "max_minutes": ni, "max_value_fen": ni,
                "offers": {"type": "array", "items": {"type": "integer"}}}},
            "created_ms": {"type": "integer"}, "started_ms": ni, "stopped_ms": ni}},
        "HostedAgentEnvelope": {"type": "object", "required": ["hosted_agent"], "properties": {
            "hosted_agent": {"$ref": "#/components/schemas/HostedAgent"}}},
    })
}

fn envelope(s: &AppState, h: &HostedAgentRecord) -> Json<Value> {
    Json(json!({ "hosted_agent": hosted_json(h, hosted::problem(s, h)) }))
}

fn ip_of(client: Option<axum::Extension<crate::http::Client>>) -> String {
    client.map(|c| c.ip.clone()).unwrap_or_default()
}

async fn one(State(s): State<AppState>, a: Authed) -> ApiResult<Json<Value>> {
    Ok(envelope(&s, &hosted::get(&s, &a).await?))
}

async fn start(
    State(s): State<AppState>,
    a: Authed,
    client: Option<axum::Extension<crate::http::Client>>,
    ApiJson(r): ApiJson<StartRequest>,
) -> ApiResult<Response> {
    let h = hosted::start(&s, &a, &ip_of(client), r).await?;
    // Still starting: the ledger did not answer; the worker confirms it from the chain.
    let status = if h.status == HostedStatus::Starting {
        StatusCode::ACCEPTED
    } else {
        StatusCode::CREATED
    };
    Ok((status, envelope(&s, &h)).into_response())
}

async fn stop(
    State(s): State<AppState>,
    a: Authed,
    client: Option<axum::Extension<crate::http::Client>>,
    ApiJson(r): ApiJson<StopRequest>,
) -> ApiResult<Json<Value>> {
    let h = hosted::stop(&s, &a, &ip_of(client), r).await?;
    Ok(envelope(&s, &h))
}
