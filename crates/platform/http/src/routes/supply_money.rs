//! Supplier money API (issue 16, `docs/supply.md` §4): the supplier's side under
//! `/api/v1/supplier/…`, the operator's under `/api/v1/ops/suppliers/…`. Thin handlers
//! over `service::supply_money`; this file's [`ROUTES`] are chained into the route table.

use super::{Access, RouteDoc};
use crate::AppState;
use crate::auth::Authed;
use crate::error::ApiResult;
use crate::http::{ApiJson, ApiQuery, IdParam};
use crate::service::supply_money::{self as sm, AgreementRequest};
use crate::service::{Page, ServiceError};
use axum::Json;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

type JsonResult = ApiResult<Json<Value>>;

/// `?before=ID&limit=N`: newest first, ids below `before`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BeforeQuery {
    /// Items with ids below this (absent: from the newest).
    pub before: Option<i64>,
    /// At most this many (1..=200, default 50).
    pub limit: Option<u32>,
}

fn page(q: &BeforeQuery) -> ApiResult<Page> {
    Ok(Page::new(q.before, q.limit.unwrap_or(50))?)
}

/// Without a trade chain there are no trades to read: an empty list that says so.
async fn trades(State(s): State<AppState>, a: Authed) -> JsonResult {
    match sm::my_trades(&s, &a).await {
        Ok(t) => Ok(Json(json!({"trades": t, "chain_attached": true}))),
        Err(ServiceError::Absent { .. }) => {
            Ok(Json(json!({"trades": [], "chain_attached": false})))
        }
        Err(e) => Err(e.into()),
    }
}

async fn trade(State(s): State<AppState>, a: Authed, Path(serial): Path<String>) -> JsonResult {
    Ok(Json(json!({"trade": sm::my_trade(&s, &a, &serial).await?})))
}

async fn my_agreements(State(s): State<AppState>, a: Authed) -> JsonResult {
    Ok(Json(
        json!({"agreements": sm::my_agreements(&s, &a).await?}),
    ))
}

async fn accept(State(s): State<AppState>, a: Authed, IdParam(id): IdParam) -> JsonResult {
    Ok(Json(
        json!({"agreement": sm::accept_agreement(&s, &a, id).await?}),
    ))
}

async fn revenue(State(s): State<AppState>, a: Authed) -> JsonResult {
    let r = sm::my_revenue(&s, &a).await?;
    Ok(Json(
        json!({"revenue": r, "free_payable_fen": r.ledger.free_payable().get()}),
    ))
}

async fn my_statements(
    State(s): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<BeforeQuery>,
) -> JsonResult {
    Ok(Json(
        json!({"statements": sm::my_statements(&s, &a, page(&q)?).await?}),
    ))
}

async fn my_payouts(
    State(s): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<BeforeQuery>,
) -> JsonResult {
    Ok(Json(
        json!({"payouts": sm::my_payouts(&s, &a, page(&q)?).await?}),
    ))
}

/// A payout request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayoutRequest {
    /// Amount, in fen.
    pub amount_fen: i64,
    /// The supplier administrator's password, which opens the supplier's DID key to sign
    /// the transfer of the amount to custody.
    pub password: String,
}

/// Written by hand: the password is redacted.
impl std::fmt::Debug for PayoutRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayoutRequest")
            .field("amount_fen", &self.amount_fen)
            .field("password", &"<redacted>")
            .finish()
    }
}

async fn request_payout(
    State(s): State<AppState>,
    a: Authed,
    client: Option<axum::Extension<crate::http::Client>>,
    ApiJson(r): ApiJson<PayoutRequest>,
) -> JsonResult {
    let ip = client.map(|c| c.ip.clone()).unwrap_or_default();
    Ok(Json(
        json!({"payout": sm::request_payout(&s, &a, r.amount_fen, &ip, r.password).await?}),
    ))
}

async fn reputation(State(s): State<AppState>, a: Authed) -> JsonResult {
    match sm::my_reputation(&s, &a).await {
        Ok(r) => Ok(Json(json!({"reputation": r, "chain_attached": true}))),
        Err(ServiceError::Absent { .. }) => {
            Ok(Json(json!({"reputation": null, "chain_attached": false})))
        }
        Err(e) => Err(e.into()),
    }
}

async fn record_agreement(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
    ApiJson(r): ApiJson<AgreementRequest>,
) -> JsonResult {
    Ok(Json(
        json!({"agreement": sm::record_agreement(&s, &a, id, &r).await?}),
    ))
}

async fn agreements_of(State(s): State<AppState>, a: Authed, IdParam(id): IdParam) -> JsonResult {
    Ok(Json(
        json!({"agreements": sm::agreements_of(&s, &a, id).await?}),
    ))
}

/// A statement run.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatementRequest {
    /// `YYYY-MM` (monthly agreement) or `YYYY-Qn` (quarterly).
    pub period: String,
}

async fn run_statement(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
    ApiJson(r): ApiJson<StatementRequest>,
) -> JsonResult {
    let run = sm::run_statement(&s, &a, id, &r.period).await?;
    Ok(Json(
        json!({"period": run.period, "statement": run.statement, "created": run.statement.is_some()}),
    ))
}

async fn reconcile(State(s): State<AppState>, a: Authed, IdParam(id): IdParam) -> JsonResult {
    Ok(Json(
        json!({"reconciliation": sm::reconcile_supplier(&s, &a, id).await?}),
    ))
}

async fn summary(State(s): State<AppState>, a: Authed, IdParam(id): IdParam) -> JsonResult {
    Ok(Json(
        json!({"summary": sm::supplier_summary(&s, &a, id).await?}),
    ))
}

async fn statements(
    State(s): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<BeforeQuery>,
) -> JsonResult {
    Ok(Json(
        json!({"statements": sm::statements(&s, &a, page(&q)?).await?}),
    ))
}

async fn payouts(
    State(s): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<BeforeQuery>,
) -> JsonResult {
    Ok(Json(
        json!({"payouts": sm::payouts(&s, &a, page(&q)?).await?}),
    ))
}

async fn check(State(s): State<AppState>, a: Authed, IdParam(id): IdParam) -> JsonResult {
    Ok(Json(json!({"payout": sm::check_payout(&s, &a, id).await?})))
}

async fn approve(State(s): State<AppState>, a: Authed, IdParam(id): IdParam) -> JsonResult {
    Ok(Json(
        json!({"payout": sm::approve_payout(&s, &a, id).await?}),
    ))
}

/// A payout rejection.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    /// Why.
    pub reason: String,
}

async fn reject(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
    ApiJson(r): ApiJson<RejectRequest>,
) -> JsonResult {
    Ok(Json(
        json!({"payout": sm::reject_payout(&s, &a, id, &r.reason).await?}),
    ))
}

fn b_agreement() -> Value {
    super::bodies::obj(
        &["body", "sales_mode", "commission_bp", "period"],
        json!({"body": super::bodies::s_str(),
               "sales_mode": {"type": "string", "enum": ["discount", "rebate"]},
               "commission_bp": super::bodies::s_int(),
               "period": {"type": "string", "enum": ["monthly", "quarterly"]}}),
    )
}
fn b_amount() -> Value {
    super::bodies::obj(
        &["amount_fen", "password"],
        json!({"amount_fen": super::bodies::s_int(), "password": super::bodies::s_str()}),
    )
}
fn b_period() -> Value {
    super::bodies::obj(&["period"], json!({"period": super::bodies::s_str()}))
}
fn b_reason() -> Value {
    super::bodies::obj(&["reason"], json!({"reason": super::bodies::s_str()}))
}

macro_rules! route {
    ($m:literal, $path:literal, $sum:literal, $perm:literal, $body:expr, $h:expr) => {
        RouteDoc {
            method: $m,
            path: $path,
            summary: $sum,
            access: Access::Permission($perm),
            body: $body,
            response: None,
            handler: || $h,
        }
    };
}

/// The supplier-money routes.
pub const ROUTES: &[RouteDoc] = &[
    route!(
        "GET",
        "/api/v1/supplier/trades",
        "The supplier's incoming trades, from the trade chain",
        "supply:read",
        None,
        get(trades)
    ),
    route!(
        "GET",
        "/api/v1/supplier/trades/{serial}",
        "One of the supplier's trades with its records",
        "supply:read",
        None,
        get(trade)
    ),
    route!(
        "GET",
        "/api/v1/supplier/agreements",
        "The supplier's agreement versions",
        "supply:read",
        None,
        get(my_agreements)
    ),
    route!(
        "POST",
        "/api/v1/supplier/agreements/{id}/accept",
        "Accept the newest agreement version",
        "supply:manage",
        None,
        post(accept)
    ),
    route!(
        "GET",
        "/api/v1/supplier/revenue",
        "Revenue per trade, settled and payable amounts",
        "supply:read",
        None,
        get(revenue)
    ),
    route!(
        "GET",
        "/api/v1/supplier/statements",
        "The supplier's settlement statements",
        "supply:read",
        None,
        get(my_statements)
    ),
    route!(
        "GET",
        "/api/v1/supplier/payouts",
        "The supplier's payouts",
        "supply:read",
        None,
        get(my_payouts)
    ),
    route!(
        "POST",
        "/api/v1/supplier/payouts",
        "Request a payout of the net payable",
        "supply:manage",
        Some(b_amount),
        post(request_payout)
    ),
    route!(
        "GET",
        "/api/v1/supplier/reputation",
        "The supplier's reputation per resource dimension",
        "supply:read",
        None,
        get(reputation)
    ),
    route!(
        "POST",
        "/api/v1/ops/suppliers/{id}/agreements",
        "Record a new agreement version for a supplier",
        "supplier:review",
        Some(b_agreement),
        post(record_agreement)
    ),
    route!(
        "GET",
        "/api/v1/ops/suppliers/{id}/agreements",
        "A supplier's agreement versions",
        "supplier:review",
        None,
        get(agreements_of)
    ),
    route!(
        "POST",
        "/api/v1/ops/suppliers/{id}/statements",
        "Run a supplier's settlement statement for a period (idempotent)",
        "finance:manage",
        Some(b_period),
        post(run_statement)
    ),
    route!(
        "GET",
        "/api/v1/ops/suppliers/{id}/reconciliation",
        "Compare a supplier's chain check-ins, statements and payouts",
        "finance:read",
        None,
        get(reconcile)
    ),
    route!(
        "GET",
        "/api/v1/ops/suppliers/{id}/summary",
        "A supplier's revenue and reputation",
        "supplier:review",
        None,
        get(summary)
    ),
    route!(
        "GET",
        "/api/v1/ops/supplier-statements",
        "Every supplier's statements",
        "finance:read",
        None,
        get(statements)
    ),
    route!(
        "GET",
        "/api/v1/ops/supplier-payouts",
        "Every supplier's payouts",
        "finance:read",
        None,
        get(payouts)
    ),
    route!(
        "POST",
        "/api/v1/ops/supplier-payouts/{id}/check",
        "First finance check of a payout (not its requester)",
        "finance:manage",
        None,
        post(check)
    ),
    route!(
        "POST",
        "/api/v1/ops/supplier-payouts/{id}/approve",
        "Approve a checked payout (four eyes: not its checker)",
        "finance:manage",
        None,
        post(approve)
    ),
    route!(
        "POST",
        "/api/v1/ops/supplier-payouts/{id}/reject",
        "Reject a payout with a reason",
        "finance:manage",
        Some(b_reason),
        post(reject)
    ),
];
