//! Routes of the exchange (issue 18, `docs/exchange.md`, OpenAPI tag `trades`): ordering
//! a listed offer as a trade on the chain (with the password, or pre-signed), the
//! organisation's trades with their chain records, the rating, the wallet and its
//! members' limits; and the operator's wallet alarms. Thin handlers: decode, call
//! [`crate::service::trades`] / [`crate::service::trade_members`], encode.

use super::bodies::{obj, s_str};
use super::{Access, RouteDoc};
use crate::AppState;
use crate::auth::Authed;
use crate::error::ApiResult;
use crate::http::{ApiJson, ApiQuery, IdParam};
use crate::money_api::IDEMPOTENCY_HEADER;
use crate::service::trade_members as tm;
use crate::service::trades::{self as tr, TradeDetail, TradeOrder, TradeOutcome};
use crate::service::{ServiceError, ServiceResult};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use suanli_platform_domain::Permission;
use suanli_platform_domain::trades::wallet_name;
use suanli_platform_store::TradeRecord;

/// Default page of the trade list.
pub const TRADES_PAGE_DEFAULT: u32 = 50;

/// Every exchange route.
pub const ROUTES: &[RouteDoc] = &[
    RouteDoc {
        method: "POST",
        path: "/api/v1/trades",
        summary: "Order a listed offer as a trade on the chain: the member's DID key, unsealed with the password, signs it; escrowed from the organisation's wallet (header Idempotency-Key)",
        access: Access::Permission("order:place"),
        body: Some(b_place),
        response: Some("TradeOutcome"),
        handler: || post(place),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/trades/presigned",
        summary: "Place an order the member signed itself (suanli_ledger_client::exchange::sign_order), hex of the transaction (header Idempotency-Key)",
        access: Access::Permission("order:place"),
        body: Some(b_presigned),
        response: Some("TradeOutcome"),
        handler: || post(presigned),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/trades",
        summary: "The organisation's trades, newest first (?before=&limit=)",
        access: Access::Permission("account:read"),
        body: None,
        response: Some("TradeList"),
        handler: || get(list),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/trades/wallet",
        summary: "The organisation's wallet: its cash in the journal, its balance and members on the chain",
        access: Access::Permission("account:read"),
        body: None,
        response: Some("Wallet"),
        handler: || get(wallet),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/trades/members",
        summary: "The organisation's members with their spending limits on the wallet",
        access: Access::Permission("user:manage"),
        body: None,
        response: Some("MemberLimitList"),
        handler: || get(members),
    },
    RouteDoc {
        method: "PUT",
        path: "/api/v1/trades/members/{id}",
        summary: "Set a member's spending limit on the wallet (0 blocks it); mirrored on the chain",
        access: Access::Permission("user:manage"),
        body: Some(b_limit),
        response: Some("MemberLimit"),
        handler: || put(set_limit),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/trades/{serial}",
        summary: "One trade with its chain records, escrow, running cost and work order (access details)",
        access: Access::Permission("account:read"),
        body: None,
        response: Some("TradeDetail"),
        handler: || get(one),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/trades/{serial}/stop",
        summary: "Stop a placed or running trade: its close (stopped_by_consumer) signed on the chain by the member's key the password unseals; the refund follows",
        access: Access::Permission("order:place"),
        body: Some(b_stop),
        response: Some("TradeEnvelope"),
        handler: || post(stop),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/trades/{serial}/rate",
        summary: "Rate a closed trade (0–100 per resource dimension), signed on the chain by the member's key the password unseals",
        access: Access::Permission("order:place"),
        body: Some(b_rate),
        response: Some("TradeEnvelope"),
        handler: || post(rate),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/ops/wallet-alarms",
        summary: "Wallet alarms: organisations whose journal cash and chain wallet differed twice in a row, newest first",
        access: Access::Permission("finance:read"),
        body: None,
        response: Some("WalletAlarmList"),
        handler: || get(alarms),
    },
];

fn b_place() -> Value {
    obj(
        &["offer_id", "units", "password"],
        json!({"offer_id": {"type": "integer", "description": "the listed offer (/offers/{id})"},
               "units": {"type": "integer", "minimum": 1},
               "term_minutes": {"type": "integer", "minimum": 1, "description": "a term paid up front (or budget_fen)"},
               "budget_fen": {"type": "integer", "minimum": 1, "description": "pay-as-you-go within this budget (or term_minutes)"},
               "password": s_str()}),
    )
}

fn b_presigned() -> Value {
    obj(
        &["tx"],
        json!({"tx": {"type": "string", "description": "the signed order transaction's encoding, hex"}}),
    )
}

fn b_rate() -> Value {
    obj(
        &["scores", "password"],
        json!({"scores": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 100},
                          "description": "score per resource dimension: cpu, memory, storage, disk_io, gpu, network"},
               "password": s_str()}),
    )
}

fn b_stop() -> Value {
    obj(&["password"], json!({"password": s_str()}))
}

fn b_limit() -> Value {
    obj(
        &["limit_fen"],
        json!({"limit_fen": {"type": "integer", "minimum": 0}}),
    )
}

/// The trade's JSON shape (`Trade` in the OpenAPI document).
pub fn trade_json(t: &TradeRecord) -> Value {
    json!({
        "serial": t.serial, "org_id": t.org.get(), "user_id": t.user.get(), "offer_id": t.offer_id,
        "chain_offer_id": t.chain_offer_id, "supplier_org": t.supplier_org.get(), "units": t.units,
        "duration_minutes": t.duration_minutes, "payg": t.payg, "value_fen": t.value.get(),
        "source": t.source, "tx_ref": t.tx_ref, "status": t.status.as_str(),
        "refusal_code": t.refusal_code, "refusal_message": t.refusal_message,
        "close_reason": t.close_reason, "escrow_tx_id": t.escrow_tx_id, "paid_fen": t.paid.get(),
        "refunded_fen": t.refunded.get(), "checkins": t.checkins, "rating_ref": t.rating_ref,
        "created_ms": t.created_ms, "decided_ms": t.decided_ms, "closed_ms": t.closed_ms,
    })
}

/// The OpenAPI schemas of the exchange's answers.
pub fn schemas() -> Value {
    let ni = json!({"type": "integer", "nullable": true});
    let ns = json!({"type": "string", "nullable": true});
    let int = json!({"type": "integer"});
    let trade = json!({"type": "object", "properties": {
        "serial": {"type": "string"}, "org_id": int, "user_id": int, "offer_id": int, "chain_offer_id": int,
        "supplier_org": int, "units": int, "duration_minutes": int, "payg": {"type": "boolean"},
        "value_fen": int, "source": {"type": "string", "enum": ["web", "presigned", "chain"]}, "tx_ref": {"type": "string"},
        "status": {"type": "string", "enum": ["placing", "placed", "active", "closed", "refused"]},
        "refusal_code": ns, "refusal_message": ns, "close_reason": ns, "escrow_tx_id": int,
        "paid_fen": int, "refunded_fen": int, "checkins": int, "rating_ref": ns,
        "created_ms": int, "decided_ms": ni, "closed_ms": ni}});
    let limit = json!({"type": "object", "properties": {"org": int, "user": int, "did": {"type": "string"},
        "limit": int, "set_by": int, "set_ms": int, "chain_ref": ns, "chain_ms": ni}});
    json!({
        "Trade": trade,
        "TradeOutcome": {"type": "object", "required": ["trade", "replayed"], "properties": {
            "trade": {"$ref": "#/components/schemas/Trade"}, "replayed": {"type": "boolean"}}},
        "TradeEnvelope": {"type": "object", "required": ["trade"], "properties": {
            "trade": {"$ref": "#/components/schemas/Trade"}}},
        "TradeList": {"type": "object", "required": ["items"], "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Trade"}}}},
        "TradeDetail": {"type": "object", "required": ["trade", "escrow_fen", "running_cost_fen"], "properties": {
            "trade": {"$ref": "#/components/schemas/Trade"},
            "chain": {"type": "object", "nullable": true, "description": "the trade's records on the chain: status, funded_fen, paid_fen, unpaid_fen, contract_start_ms, contract_end_ms, checkins, topups, close, rating"},
            "escrow_fen": int, "running_cost_fen": int,
            "rating_dimensions": {"type": "array", "items": {"type": "string"}, "description": "the dimensions a rating scores: those the trade mode weighs"},
            "work_order": {"nullable": true, "allOf": [{"$ref": "#/components/schemas/WorkOrder"}]}}},
        "Wallet": {"type": "object", "required": ["wallet", "cash_fen"], "properties": {
            "wallet": {"type": "string"}, "cash_fen": int, "chain_balance_fen": ni,
            "suspended": {"type": "boolean", "nullable": true},
            "members": {"type": "array", "items": {"type": "object", "properties": {
                "did": {"type": "string"}, "limit_fen": int, "spent_fen": int}}}}},
        "MemberLimit": limit,
        "MemberLimitList": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {
            "type": "object", "properties": {"user_id": int, "login": {"type": "string"},
            "display_name": {"type": "string"}, "did": ns,
            "limit": {"nullable": true, "allOf": [{"$ref": "#/components/schemas/MemberLimit"}]}}}}}},
        "WalletAlarmList": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {
            "type": "object", "properties": {"id": int, "org": int, "journal_fen": int, "chain_fen": int,
            "raised_ms": int}}}}},
    })
}

fn idem_of(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(IDEMPOTENCY_HEADER)
        .and_then(|v| v.to_str().ok())
}

fn ip_of(client: Option<axum::Extension<crate::http::Client>>) -> String {
    client.map(|c| c.ip.clone()).unwrap_or_default()
}

fn outcome(o: &TradeOutcome) -> Response {
    let status = if o.replayed {
        StatusCode::OK
    } else if o.trade.status == suanli_platform_domain::trades::TradeStatus::Placing {
        StatusCode::ACCEPTED
    } else {
        StatusCode::CREATED
    };
    let body = json!({ "trade": trade_json(&o.trade), "replayed": o.replayed });
    (status, Json(body)).into_response()
}

/// The order body of `POST /api/v1/trades`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaceBody {
    offer_id: i64,
    units: u32,
    #[serde(default)]
    term_minutes: Option<u64>,
    #[serde(default)]
    budget_fen: Option<i64>,
    password: String,
}

async fn place(
    State(s): State<AppState>,
    a: Authed,
    headers: HeaderMap,
    client: Option<axum::Extension<crate::http::Client>>,
    ApiJson(b): ApiJson<PlaceBody>,
) -> ApiResult<Response> {
    let order = TradeOrder {
        offer_id: b.offer_id,
        units: b.units,
        term_minutes: b.term_minutes,
        budget_fen: b.budget_fen,
    };
    let o = tr::place(
        &s,
        &a,
        &ip_of(client),
        idem_of(&headers),
        &order,
        b.password,
    )
    .await?;
    Ok(outcome(&o))
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PresignedBody {
    tx: String,
}

async fn presigned(
    State(s): State<AppState>,
    a: Authed,
    headers: HeaderMap,
    ApiJson(b): ApiJson<PresignedBody>,
) -> ApiResult<Response> {
    Ok(outcome(
        &tr::place_presigned(&s, &a, idem_of(&headers), &b.tx).await?,
    ))
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    before: Option<i64>,
    limit: Option<u32>,
}

async fn list(
    State(s): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Value>> {
    let v = tr::list(
        &s,
        &a,
        q.before.unwrap_or(0),
        q.limit.unwrap_or(TRADES_PAGE_DEFAULT),
    )
    .await?;
    Ok(Json(
        json!({ "items": v.iter().map(trade_json).collect::<Vec<_>>() }),
    ))
}

/// The detail's JSON shape (`TradeDetail`).
pub fn detail_json(d: &TradeDetail) -> Value {
    json!({
        "trade": trade_json(&d.trade),
        "chain": d.chain,
        "escrow_fen": d.escrow_fen,
        "running_cost_fen": d.running_cost_fen,
        "work_order": d.work_order.as_ref().map(super::supply_work_orders::work_order_json),
        "rating_dimensions": d.rating_dimensions,
    })
}

async fn one(
    State(s): State<AppState>,
    a: Authed,
    Path(serial): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(detail_json(&tr::detail(&s, &a, &serial).await?)))
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RateBody {
    scores: BTreeMap<String, u8>,
    password: String,
}

async fn rate(
    State(s): State<AppState>,
    a: Authed,
    client: Option<axum::Extension<crate::http::Client>>,
    Path(serial): Path<String>,
    ApiJson(b): ApiJson<RateBody>,
) -> ApiResult<Json<Value>> {
    let scores: Vec<(String, u8)> = b.scores.into_iter().collect();
    let t = tr::rate(&s, &a, &ip_of(client), &serial, &scores, b.password).await?;
    Ok(Json(json!({ "trade": trade_json(&t) })))
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct StopBody {
    password: String,
}

async fn stop(
    State(s): State<AppState>,
    a: Authed,
    client: Option<axum::Extension<crate::http::Client>>,
    Path(serial): Path<String>,
    ApiJson(b): ApiJson<StopBody>,
) -> ApiResult<Json<Value>> {
    let t = tr::stop(&s, &a, &ip_of(client), &serial, b.password).await?;
    Ok(Json(json!({ "trade": trade_json(&t) })))
}

/// The organisation's wallet: journal cash and what the chain holds.
pub async fn wallet_view(s: &AppState, a: &Authed) -> ServiceResult<Value> {
    a.allow(Permission::AccountRead)?;
    let cash = s.store.balances(a.org.id).await?.cash_fen;
    let name = wallet_name(a.org.id);
    // The chain unreachable is no error of this answer: the cash is the journal's, the
    // chain's side is marked unavailable.
    let (chain, available) = match s.trade_ledger.clone() {
        Some(l) => {
            let w = name.clone();
            match tr::blocking(move || l.wallet_view(&w)).await {
                Ok(v) => (v, true),
                Err(e) => {
                    tracing::warn!(wallet = %name, error = %suanli_primitives::error_chain(&e), "wallet not read from the chain");
                    (None, false)
                }
            }
        }
        None => (None, true),
    };
    Ok(json!({
        "wallet": name, "cash_fen": cash, "chain_available": available,
        "chain_balance_fen": chain.as_ref().map(|v| v.balance_fen),
        "suspended": chain.as_ref().map(|v| v.suspended),
        "members": chain.as_ref().map(|v| v.members.clone()).unwrap_or_default(),
    }))
}

async fn wallet(State(s): State<AppState>, a: Authed) -> ApiResult<Json<Value>> {
    Ok(Json(wallet_view(&s, &a).await?))
}

async fn members(State(s): State<AppState>, a: Authed) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "items": tm::members(&s, &a).await? })))
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitBody {
    limit_fen: i64,
}

async fn set_limit(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
    ApiJson(b): ApiJson<LimitBody>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(tm::set_limit(&s, &a, id, b.limit_fen).await?)))
}

async fn alarms(State(s): State<AppState>, a: Authed) -> ApiResult<Json<Value>> {
    a.allow(Permission::FinanceRead)?;
    let v = s
        .store
        .wallet_alarms(crate::service::trades::WALLET_ALARMS_MAX)
        .await
        .map_err(ServiceError::from)?;
    Ok(Json(json!({ "items": v })))
}
