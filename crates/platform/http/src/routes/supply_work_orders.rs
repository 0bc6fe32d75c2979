//! Routes of the provisioning work orders (`docs/supply.md` §3): the supplier agent raises
//! and closes them, the supplier decides and fills them back, the consumer reads its own.
//! Thin handlers: decode, call [`crate::service::supply_work_orders`], encode.

use super::bodies::{obj, s_str};
use super::{Access, RouteDoc};
use crate::AppState;
use crate::auth::Authed;
use crate::error::ApiResult;
use crate::http::{ApiJson, ApiQuery, IdParam};
use crate::service::supply_agent_keys::{self as ak, DelegateRequest, RevokeRequest};
use crate::service::supply_work_orders::{self as wo, FillRequest, RaiseRequest};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use suanli_platform_store::WorkOrderRecord;

/// Default page of the work-order lists.
pub const WORK_ORDERS_PAGE_DEFAULT: u32 = 50;

/// Every work-order route.
pub const ROUTES: &[RouteDoc] = &[
    RouteDoc {
        method: "POST",
        path: "/api/v1/supplier/work-orders",
        summary: "The supplier agent raises the provisioning work order of a trade on one of its offers (again: the same one)",
        access: Access::Permission("supply:agent"),
        body: Some(b_raise),
        response: Some("WorkOrderEnvelope"),
        handler: || post(raise),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/supplier/work-orders",
        summary: "The supplier's work orders, newest first (?status=&before=&limit=)",
        access: Access::Permission("supply:read"),
        body: None,
        response: Some("WorkOrderList"),
        handler: || get(list),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/supplier/work-orders/{id}",
        summary: "One of the supplier's work orders (supply:read, or supply:agent for the agent)",
        access: Access::Permission("supply:read"),
        body: None,
        response: Some("WorkOrderEnvelope"),
        handler: || get(one),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/supplier/work-orders/{id}/approve",
        summary: "Approve an order the agent left for manual acceptance",
        access: Access::Permission("supply:manage"),
        body: None,
        response: Some("WorkOrderEnvelope"),
        handler: || post(approve),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/supplier/work-orders/{id}/decline",
        summary: "Decline an order the agent left for manual acceptance",
        access: Access::Permission("supply:manage"),
        body: None,
        response: Some("WorkOrderEnvelope"),
        handler: || post(decline),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/supplier/work-orders/{id}/fill",
        summary: "Fill back (or correct) the access details: address, credentials reference, pool id",
        access: Access::Permission("supply:manage"),
        body: Some(b_fill),
        response: Some("WorkOrderEnvelope"),
        handler: || post(fill),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/supplier/work-orders/{id}/close",
        summary: "The supplier agent closes a work order at the trade's end",
        access: Access::Permission("supply:agent"),
        body: None,
        response: Some("WorkOrderEnvelope"),
        handler: || post(close),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/supplier/agent-keys",
        summary: "The agent keys the caller's supplier DID delegated (revoked ones included)",
        access: Access::Permission("supply:read"),
        body: None,
        response: Some("AgentKeyList"),
        handler: || get(agent_keys),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/supplier/agent-keys",
        summary: "Delegate an agent key (DID document + trade chain), signed by the supplier DID key the password unseals; session only",
        access: Access::Permission("supply:manage"),
        body: Some(b_delegate),
        response: None,
        handler: || post(delegate),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/supplier/agent-keys/revoke",
        summary: "Revoke an agent key, signed by the supplier DID key the password unseals; session only",
        access: Access::Permission("supply:manage"),
        body: Some(b_revoke),
        response: None,
        handler: || post(revoke),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/me/work-orders",
        summary: "The work orders of the caller's organisation's trades, with their access details",
        access: Access::Permission("account:read"),
        body: None,
        response: Some("WorkOrderList"),
        handler: || get(mine),
    },
];

fn b_raise() -> Value {
    obj(
        &["serial"],
        json!({"serial": {"type": "string", "description": "the trade's serial, 32 hex characters"},
               "needs_approval": {"type": "boolean", "description": "leave the order for the supplier to approve (manual policy)"}}),
    )
}

fn b_delegate() -> Value {
    obj(
        &["public_key", "proof", "fragment", "password"],
        json!({"public_key": {"type": "string", "description": "Ed25519, 64 hex characters (suanli agent keygen)"},
               "proof": {"type": "string", "description": "the agent key's proof of possession, 128 hex characters (suanli agent proof)"},
               "fragment": {"type": "string", "description": "its verification method in the DID document, e.g. agent-1"},
               "password": s_str()}),
    )
}

fn b_revoke() -> Value {
    obj(
        &["public_key", "password"],
        json!({"public_key": s_str(), "password": s_str()}),
    )
}

fn b_fill() -> Value {
    obj(
        &["address", "credentials_ref", "pool_id"],
        json!({"address": {"type": "string", "description": "host, host:port or URL"},
               "credentials_ref": {"type": "string", "description": "where the credentials are kept (a reference, never the secret)"},
               "pool_id": s_str()}),
    )
}

/// The work order's JSON shape (`WorkOrder` in the OpenAPI document).
pub fn work_order_json(w: &WorkOrderRecord) -> Value {
    json!({
        "id": w.id, "supplier_org": w.supplier_org.get(), "serial": w.serial,
        "offer_id": w.offer_id, "supplier_did": w.supplier_did, "consumer_did": w.consumer_did,
        "units": w.units, "minutes": w.minutes, "value_fen": w.value_fen.get(),
        "status": w.status.as_str(), "raised_ms": w.raised_ms, "decided_ms": w.decided_ms,
        "decided_by": w.decided_by.map(|u| u.get()),
        "access": w.access.as_ref().map(|d| json!({"address": d.address.as_str(),
            "credentials_ref": d.credentials_ref.as_str(), "pool_id": d.pool_id.as_str()})),
        "filled_ms": w.filled_ms, "closed_ms": w.closed_ms,
    })
}

/// The OpenAPI schemas of the work orders' answers.
pub fn schemas() -> Value {
    let ni = json!({"type": "integer", "nullable": true});
    let work_order = json!({"type": "object", "properties": {
        "id": {"type": "integer"}, "supplier_org": {"type": "integer"}, "serial": {"type": "string"},
        "offer_id": {"type": "integer"}, "supplier_did": {"type": "string"}, "consumer_did": {"type": "string"},
        "units": {"type": "integer"}, "minutes": {"type": "integer"}, "value_fen": {"type": "integer"},
        "status": {"type": "string", "enum": ["awaiting_approval", "open", "filled", "closed", "declined"]},
        "raised_ms": {"type": "integer"}, "decided_ms": ni, "decided_by": ni,
        "access": {"type": "object", "nullable": true, "properties": {"address": {"type": "string"},
            "credentials_ref": {"type": "string"}, "pool_id": {"type": "string"}}},
        "filled_ms": ni, "closed_ms": ni}});
    json!({
        "AgentKeyList": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {
            "type": "object", "properties": {"key": {"type": "string"}, "fragment": {"type": "string"},
            "authorised_at_ms": {"type": "integer"}, "revoked_at_ms": ni}}}}},
        "WorkOrder": work_order,
        "WorkOrderEnvelope": {"type": "object", "required": ["work_order"], "properties": {
            "work_order": {"$ref": "#/components/schemas/WorkOrder"}, "created": {"type": "boolean"}}},
        "WorkOrderList": {"type": "object", "required": ["items"], "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/WorkOrder"}}}},
    })
}

fn envelope(w: &WorkOrderRecord) -> Json<Value> {
    Json(json!({ "work_order": work_order_json(w) }))
}

async fn raise(
    State(s): State<AppState>,
    a: Authed,
    ApiJson(r): ApiJson<RaiseRequest>,
) -> ApiResult<Response> {
    let (w, created) = wo::raise(&s, &a, &r).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let body = json!({ "work_order": work_order_json(&w), "created": created });
    Ok((status, Json(body)).into_response())
}

/// `?status=&before=&limit=` of the work-order lists.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    before: Option<i64>,
    limit: Option<u32>,
}

fn items(v: &[WorkOrderRecord]) -> Json<Value> {
    Json(json!({ "items": v.iter().map(work_order_json).collect::<Vec<_>>() }))
}

async fn list(
    State(s): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Value>> {
    let limit = q.limit.unwrap_or(WORK_ORDERS_PAGE_DEFAULT);
    let v = wo::list(&s, &a, q.status.as_deref(), q.before, limit).await?;
    Ok(items(&v))
}

async fn mine(
    State(s): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Value>> {
    let limit = q.limit.unwrap_or(WORK_ORDERS_PAGE_DEFAULT);
    Ok(items(&wo::mine(&s, &a, q.before, limit).await?))
}

async fn one(State(s): State<AppState>, a: Authed, IdParam(id): IdParam) -> ApiResult<Json<Value>> {
    Ok(envelope(&wo::get(&s, &a, id).await?))
}

async fn approve(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
) -> ApiResult<Json<Value>> {
    Ok(envelope(&wo::decide(&s, &a, id, true).await?))
}

async fn decline(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
) -> ApiResult<Json<Value>> {
    Ok(envelope(&wo::decide(&s, &a, id, false).await?))
}

async fn fill(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
    ApiJson(r): ApiJson<FillRequest>,
) -> ApiResult<Json<Value>> {
    Ok(envelope(&wo::fill(&s, &a, id, &r).await?))
}

async fn close(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
) -> ApiResult<Json<Value>> {
    Ok(envelope(&wo::close(&s, &a, id).await?))
}

async fn agent_keys(State(s): State<AppState>, a: Authed) -> ApiResult<Json<Value>> {
    let items: Vec<Value> = ak::list(&s, &a)
        .await?
        .iter()
        .map(|k| {
            json!({"key": k.key, "fragment": k.fragment,
            "authorised_at_ms": k.authorised_at_ms, "revoked_at_ms": k.revoked_at_ms})
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}

fn ip_of(client: Option<axum::Extension<crate::http::Client>>) -> String {
    client.map(|c| c.ip.clone()).unwrap_or_default()
}

async fn delegate(
    State(s): State<AppState>,
    a: Authed,
    client: Option<axum::Extension<crate::http::Client>>,
    ApiJson(r): ApiJson<DelegateRequest>,
) -> ApiResult<Response> {
    ak::delegate(&s, &a, &ip_of(client), r).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn revoke(
    State(s): State<AppState>,
    a: Authed,
    client: Option<axum::Extension<crate::http::Client>>,
    ApiJson(r): ApiJson<RevokeRequest>,
) -> ApiResult<Response> {
    ak::revoke(&s, &a, &ip_of(client), r).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
