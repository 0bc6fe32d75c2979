//! The market's API (issue 17, `docs/market.md` "In the product"), tag `market`: search,
//! explain, compare and the published incentive policy. Public GETs (nothing is written,
//! nothing is audited), thin handlers over [`crate::service::market`].
//!
//! A constraint the core refuses answers 422 `constraint_invalid` with `field:
//! "constraint"` and the offending token's byte span: `{"error": {"code", "message",
//! "field", "span": {"start", "end"}}}`; a bad parameter 400 `invalid_query` naming it.

use super::{Access, RouteDoc};
use crate::AppState;
use crate::error::ApiError;
use crate::http::ApiQuery;
use crate::service::ServiceError;
use crate::service::market::{self as svc, MarketError, SearchParams};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

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
];
