//! The market's API (issue 17, `docs/market.md` "In the product"), tag `market`: search,
//! explain, compare and the published incentive policy — public GETs (nothing is written,
//! nothing is audited) — and a consumer organisation's standing demands (`order:place`),
//! thin handlers over [`crate::service::market`].
//!
//! A constraint the core refuses answers 422 `constraint_invalid` with `field:
//! "constraint"` and the offending token's byte span: `{"error": {"code", "message",
//! "field", "span": {"start", "end"}}}`; a bad parameter 400 `invalid_query` naming it.

use super::{Access, RouteDoc};
use crate::AppState;
use crate::auth::Authed;
use crate::error::ApiError;
use crate::http::{ApiJson, ApiQuery, IdParam, PageQuery};
use crate::service::ServiceResult;
use crate::service::market::demands::{self, DemandDraft};
use crate::service::market::{self as svc, MarketError, SearchParams};
use crate::service::market::{allocate, confirm};
use crate::service::{Page, ServiceError};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use suanli_platform_store::DemandRecord;

/// A market refusal as the API answers it.
fn refusal(e: MarketError) -> Response {
    match e {
        MarketError::Constraint { ref error, .. } => {
            let span = error.span();
            let body = json!({"error": {"code": "constraint_invalid", "message": error.to_string(),
                "field": "constraint", "span": {"start": span.start, "end": span.end}}});
            (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
        }
        other => ApiError::from(ServiceError::from(other)).into_response(),
    }
}

fn answer<T: serde::Serialize>(r: Result<T, MarketError>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => refusal(e),
    }
}

async fn search(State(s): State<AppState>, ApiQuery(q): ApiQuery<SearchParams>) -> Response {
    answer(svc::search(&s, &q).await)
}

async fn explain(State(s): State<AppState>, ApiQuery(q): ApiQuery<SearchParams>) -> Response {
    answer(svc::explain(&s, &q).await)
}

/// `GET /api/v1/market/compare` parameters.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareQuery {
    /// 2 to 4 listed offer ids, comma-separated.
    pub offers: String,
    /// Minutes of the estimate.
    pub duration_min: Option<String>,
    /// Units of the estimate.
    pub units: Option<String>,
}

async fn compare(State(s): State<AppState>, ApiQuery(q): ApiQuery<CompareQuery>) -> Response {
    let p = SearchParams {
        duration_min: q.duration_min,
        units: q.units,
        ..SearchParams::default()
    };
    answer(svc::compare(&s, &q.offers, &p).await)
}

async fn market_data(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<svc::data::DataQuery>,
) -> Response {
    answer(svc::data::data(&s, &q).await)
}

async fn policy(State(s): State<AppState>) -> Json<svc::PolicyView> {
    Json(svc::policy(&s))
}

/// A standing demand as the API answers it.
pub fn demand_json(d: &DemandRecord) -> Value {
    json!({"id": d.id, "org_id": d.org.get(), "user_id": d.user.get(), "constraint": d.constraint,
        "max_price_fen_per_min": d.max_price_fen_per_min, "duration_min": d.duration_min,
        "units": d.units, "public_good": d.public_good, "batch": d.batch, "status": d.status.as_str(),
        "created_ms": d.created_ms, "expires_ms": d.expires_ms, "closed_ms": d.closed_ms,
        "match": d.matched.as_ref().map(|m| json!({"offer_id": m.offer_id, "resource_id": m.resource_id,
            "price_fen_per_min": m.price_fen_per_min, "estimate_fen": m.estimate_fen,
            "allocation_id": m.allocation})),
        "trade_serial": d.trade_serial, "confirmed_ms": d.confirmed_ms})
}

async fn post_demand(
    State(s): State<AppState>,
    a: Authed,
    ApiJson(d): ApiJson<DemandDraft>,
) -> Response {
    match demands::post(&s, &a, &d).await {
        Ok(d) => Json(json!({"demand": demand_json(&d)})).into_response(),
        Err(e) => refusal(e),
    }
}

async fn list_demands(
    State(s): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Response {
    let page = match q.limit().and_then(|l| Ok(Page::new(q.after, l)?)) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    match demands::list(&s, &a, page).await {
        Ok(v) => {
            Json(json!({"items": v.iter().map(demand_json).collect::<Vec<_>>()})).into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

async fn get_demand(State(s): State<AppState>, a: Authed, IdParam(id): IdParam) -> Response {
    match demands::get(&s, &a, id).await {
        Ok(d) => Json(json!({"demand": demand_json(&d)})).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

async fn cancel_demand(State(s): State<AppState>, a: Authed, IdParam(id): IdParam) -> Response {
    match demands::cancel(&s, &a, id).await {
        Ok(d) => Json(json!({"demand": demand_json(&d)})).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

fn b_demand() -> Value {
    let int = json!({"type": "integer"});
    json!({"type": "object", "additionalProperties": false,
        "required": ["constraint", "max_price_fen_per_min", "duration_min", "units"],
        "properties": {"constraint": {"type": "string"}, "max_price_fen_per_min": int,
            "duration_min": int, "units": int, "public_good": {"type": "boolean"},
            "expires_in_hours": int, "batch": {"type": "boolean"}}})
}

/// The body of `POST /api/v1/market/demands/{id}/confirm`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfirmBody {
    password: String,
}

impl std::fmt::Debug for ConfirmBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConfirmBody { password: <redacted> }")
    }
}

fn b_confirm() -> Value {
    json!({"type": "object", "additionalProperties": false, "required": ["password"],
        "properties": {"password": {"type": "string", "description": "the member's password: its DID key signs the order"}}})
}

async fn confirm_demand(
    State(s): State<AppState>,
    a: Authed,
    headers: HeaderMap,
    client: Option<axum::Extension<crate::http::Client>>,
    IdParam(id): IdParam,
    ApiJson(b): ApiJson<ConfirmBody>,
) -> Response {
    let ip = client.map(|c| c.ip.clone()).unwrap_or_default();
    let idem = headers
        .get(crate::money_api::IDEMPOTENCY_HEADER)
        .and_then(|v| v.to_str().ok());
    match confirm::confirm(&s, &a, &ip, idem, id, b.password).await {
        Ok(c) => {
            let status = if c.trade.replayed {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            let body = json!({"demand": demand_json(&c.demand),
                "trade": super::trades::trade_json(&c.trade.trade), "replayed": c.trade.replayed});
            (status, Json(body)).into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

fn allocation_answer(r: ServiceResult<allocate::Allocation>) -> Response {
    match r {
        Ok(a) => Json(json!({"allocation": a})).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

async fn run_allocation(State(s): State<AppState>, a: Authed) -> Response {
    allocation_answer(allocate::run(&s, &a).await)
}

/// The list's runs without their methods' `proposals` (up to 2 × 2,000 each; read one
/// run by id for them), so the list stays small.
async fn list_allocations(State(s): State<AppState>, a: Authed) -> Response {
    match allocate::list(&s, &a).await {
        Ok(v) => {
            let mut items = json!(v);
            for run in items.as_array_mut().into_iter().flatten() {
                let methods = run["report"]["methods"].as_array_mut();
                for m in methods.into_iter().flatten() {
                    if let Some(m) = m.as_object_mut() {
                        m.remove("proposals");
                    }
                }
            }
            Json(json!({ "items": items })).into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

async fn get_allocation(State(s): State<AppState>, a: Authed, IdParam(id): IdParam) -> Response {
    allocation_answer(allocate::get(&s, &a, id).await)
}

/// The body of `POST /api/v1/market/allocations/{id}/confirm`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AllocationConfirmBody {
    method: String,
}

fn b_allocation_confirm() -> Value {
    json!({"type": "object", "additionalProperties": false, "required": ["method"],
        "properties": {"method": {"type": "string", "enum": allocate::METHODS}}})
}

async fn confirm_allocation(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
    ApiJson(b): ApiJson<AllocationConfirmBody>,
) -> Response {
    match allocate::confirm(&s, &a, id, &b.method).await {
        Ok((run, skipped)) => Json(json!({"allocation": run, "skipped": skipped})).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

const ORDER_PLACE: Access = Access::Permission("order:place");
const ORDER_MANAGE: Access = Access::Permission("order:manage");

/// The market's routes (chained into the route table by `routes::all`).
pub const ROUTES: &[RouteDoc] = &[
    RouteDoc {
        method: "GET",
        path: "/api/v1/market/search",
        summary: "Search every listed offer's resources: filters and a constraint, ranked by the incentive policy with the score breakdown, per-minute and per-hour prices and an estimate",
        access: Access::Public,
        body: None,
        response: None,
        handler: || get(search),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/market/explain",
        summary: "Why not: the first failing check (clause, price, units, not online) of the resources a search does not return, or of one offer's",
        access: Access::Public,
        body: None,
        response: None,
        handler: || get(explain),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/market/compare",
        summary: "Two to four listed offers side by side with the estimate for a duration",
        access: Access::Public,
        body: None,
        response: None,
        handler: || get(compare),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/market/policy",
        summary: "The published incentive policy: version, weights, what each dimension means, where the data comes from",
        access: Access::Public,
        body: None,
        response: None,
        handler: || get(policy),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/market/data",
        summary: "Market data per GPU model and region: the best listed prices, depth (free units) and the daily price history of the trades ordered (?gpu_model=&region=&days=)",
        access: Access::Public,
        body: None,
        response: None,
        handler: || get(market_data),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/market/demands",
        summary: "Post a standing demand for the caller's organisation; matched at once if a listed offer fits, else when one appears, until it expires",
        access: ORDER_PLACE,
        body: Some(b_demand),
        response: None,
        handler: || post(post_demand),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/market/demands",
        summary: "The caller's organisation's standing demands",
        access: ORDER_PLACE,
        body: None,
        response: None,
        handler: || get(list_demands),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/market/demands/{id}",
        summary: "One of the caller's organisation's standing demands, with its match",
        access: ORDER_PLACE,
        body: None,
        response: None,
        handler: || get(get_demand),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/market/demands/{id}/cancel",
        summary: "Cancel an open standing demand",
        access: ORDER_PLACE,
        body: None,
        response: None,
        handler: || post(cancel_demand),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/market/demands/{id}/confirm",
        summary: "Confirm a matched standing demand into an order through the order flow of POST /api/v1/trades (the member's password signs it; header Idempotency-Key); the demand records the trade and becomes confirmed",
        access: ORDER_PLACE,
        body: Some(b_confirm),
        response: None,
        handler: || post(confirm_demand),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/market/allocations",
        summary: "Operator: run a batch allocation of the open batch demands — OT on learned preferences beside the score-and-rank baseline — and store both proposals with their comparison",
        access: ORDER_MANAGE,
        body: None,
        response: None,
        handler: || post(run_allocation),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/market/allocations",
        summary: "Operator: the batch allocations, newest first (each method without its proposals; read one run for them)",
        access: ORDER_MANAGE,
        body: None,
        response: None,
        handler: || get(list_allocations),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/market/allocations/{id}",
        summary: "Operator: one batch allocation with both methods' proposals and comparison",
        access: ORDER_MANAGE,
        body: None,
        response: None,
        handler: || get(get_allocation),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/market/allocations/{id}/confirm",
        summary: "Operator: confirm one method of a batch allocation; each proposal becomes the demand's match with a message to its organisation, which confirms it into an order",
        access: ORDER_MANAGE,
        body: Some(b_allocation_confirm),
        response: None,
        handler: || post(confirm_allocation),
    },
];
