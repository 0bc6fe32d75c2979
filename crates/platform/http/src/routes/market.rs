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
use crate::service::market::demands::{self, DemandDraft};
use crate::service::market::{self as svc, MarketError, SearchParams};
use crate::service::{Page, ServiceError};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
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

async fn policy(State(s): State<AppState>) -> Json<svc::PolicyView> {
    Json(svc::policy(&s))
}

/// A standing demand as the API answers it.
pub fn demand_json(d: &DemandRecord) -> Value {
    json!({"id": d.id, "org_id": d.org.get(), "user_id": d.user.get(), "constraint": d.constraint,
        "max_price_fen_per_min": d.max_price_fen_per_min, "duration_min": d.duration_min,
        "units": d.units, "public_good": d.public_good, "status": d.status.as_str(),
        "created_ms": d.created_ms, "expires_ms": d.expires_ms, "closed_ms": d.closed_ms,
        "match": d.matched.as_ref().map(|m| json!({"offer_id": m.offer_id, "resource_id": m.resource_id,
            "price_fen_per_min": m.price_fen_per_min, "estimate_fen": m.estimate_fen}))})
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
            "expires_in_hours": int}})
}

const ORDER_PLACE: Access = Access::Permission("order:place");

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
];
