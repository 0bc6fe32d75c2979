//! Money endpoints: catalogue, accounts and statements, recharge (sandbox provider +
//! signed webhook, offline transfers with four-eyes approval), orders, renewals,
//! unsubscribes, changes of spec, operator acceptance, instance lifecycle, bills.
//!
//! Each handler decodes the request, calls the typed function of [`crate::service`] that
//! holds the rules (authorisation, visibility, limits, validation) and encodes its answer.
//! Every handler checks its permission *before* reading the body (so a caller without
//! the permission always gets 403, whatever it sent); the service checks it again.

use crate::AppState;
use crate::auth::Authed;
use crate::error::{ApiError, ApiResult};
use crate::http::{ApiQuery, BODY_BYTES_MAX, IdParam, PageQuery, decode_json};
use crate::payment::{Callback, SIGNATURE_HEADER};
use crate::service::accounts::{self, BillRequest, VoucherGrant};
use crate::service::catalogue::{self, CouponDraft, DiscountDraft, ProductDraft, SpecDraft};
use crate::service::orders::{self, Acceptance, Idem, NewOrder};
use crate::service::payments::{self, OfflineTransfer};
use crate::service::{Page, ServiceResult};
use axum::Json;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use suanli_platform_domain::Permission;
use suanli_platform_domain::pricing::{ChargingMode, SpecPricing};
use suanli_platform_store::{GrantOutcome, OrderOutcome};

pub use crate::service::accounts::{
    BILL_PAGE_MAX, CREDIT_LINE_ALONE_MAX_FEN, VOUCHER_ALONE_DAILY_MAX_FEN,
};
pub use crate::service::orders::{
    COUPON_CODE_CHARS_MAX, LIFECYCLE_PAGE_MAX, PROVISIONING_CHARS_MAX,
};

type JsonResult = ApiResult<Json<Value>>;

/// Header carrying the client's idempotency key on order operations.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// The raw body, read only after the handler has checked the caller's permission.
#[derive(Debug)]
pub struct RawBody(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::body::Bytes::from_request(req, state)
            .await
            .map(RawBody)
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
            })
    }
}

fn body<T: DeserializeOwned>(headers: &HeaderMap, raw: &RawBody) -> ApiResult<T> {
    let is_json = headers
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
    decode_json(&raw.0)
}

/// The validated page of a list query.
fn page(q: &PageQuery) -> ApiResult<Page> {
    Ok(Page::new(q.after, q.limit()?)?)
}

/// The idempotency of an order operation from its header and body.
fn idem(headers: &HeaderMap, path: &str, raw: &[u8]) -> ServiceResult<Idem> {
    Idem::of(
        headers
            .get(IDEMPOTENCY_HEADER)
            .and_then(|v| v.to_str().ok()),
        path,
        raw,
    )
}

fn outcome_json(o: &OrderOutcome) -> Json<Value> {
    Json(
        json!({"order": o.order, "instance": o.instance, "balances": o.balances, "replayed": o.replayed}),
    )
}

// ---------------------------------------------------------------- catalogue

/// Catalogue query.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogueQuery {
    /// Include unpublished products (catalogue managers only).
    all: Option<bool>,
    after: Option<i64>,
    limit: Option<u32>,
}

/// `GET /api/v1/catalogue`: products with their specs and current prices.
pub async fn catalogue(
    State(s): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<CatalogueQuery>,
) -> JsonResult {
    let all = q.all.unwrap_or(false);
    if all {
        a.require(Permission::CatalogueManage)?;
    }
    let limit = PageQuery {
        after: None,
        limit: q.limit,
    }
    .limit()?;
    let c = catalogue::browse(&s, &a, all, Page::new(q.after, limit)?).await?;
    Ok(Json(json!({"categories": c.categories, "items": c.items})))
}

/// Name of a category.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameReq {
    name: String,
}

/// `POST /api/v1/catalogue/categories`
pub async fn create_category(
    State(s): State<AppState>,
    a: Authed,
    headers: HeaderMap,
    raw: RawBody,
) -> JsonResult {
    a.require(Permission::CatalogueManage)?;
    let r: NameReq = body(&headers, &raw)?;
    let c = catalogue::create_category(&s, &a, &r.name).await?;
    Ok(Json(json!({"category": c})))
}

/// `POST /api/v1/catalogue/products`
pub async fn create_product(
    State(s): State<AppState>,
    a: Authed,
    headers: HeaderMap,
    raw: RawBody,
) -> JsonResult {
    a.require(Permission::CatalogueManage)?;
    let r: ProductDraft = body(&headers, &raw)?;
    let p = catalogue::create_product(&s, &a, &r).await?;
    Ok(Json(json!({"product": p})))
}

/// `POST /api/v1/catalogue/products/{id}/specs`
pub async fn create_spec(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
    headers: HeaderMap,
    raw: RawBody,
) -> JsonResult {
    a.require(Permission::CatalogueManage)?;
    let r: SpecDraft = body(&headers, &raw)?;
    let spec = catalogue::create_spec(&s, &a, id, r).await?;
    Ok(Json(json!({"spec": spec})))
}

/// New pricing of a spec.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricingReq {
    pricing: SpecPricing,
}

/// `PUT /api/v1/catalogue/specs/{id}/pricing`: orders already placed keep their snapshot.
pub async fn set_pricing(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
    headers: HeaderMap,
    raw: RawBody,
) -> JsonResult {
    a.require(Permission::CatalogueManage)?;
    let r: PricingReq = body(&headers, &raw)?;
    let spec = catalogue::set_pricing(&s, &a, id, r.pricing).await?;
    Ok(Json(json!({"spec": spec})))
}

/// `POST /api/v1/catalogue/products/{id}/publish`
pub async fn publish_product(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
) -> JsonResult {
    let p = catalogue::publish(&s, &a, id, true).await?;
    Ok(Json(json!({"product": p})))
}

/// `POST /api/v1/catalogue/products/{id}/unpublish`
pub async fn unpublish_product(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
) -> JsonResult {
    let p = catalogue::publish(&s, &a, id, false).await?;
    Ok(Json(json!({"product": p})))
}

/// `POST /api/v1/discounts`
pub async fn create_discount(
    State(s): State<AppState>,
    a: Authed,
    headers: HeaderMap,
    raw: RawBody,
) -> JsonResult {
    a.require(Permission::CatalogueManage)?;
    let r: DiscountDraft = body(&headers, &raw)?;
    let d = catalogue::create_discount(&s, &a, &r).await?;
    Ok(Json(json!({"discount": d})))
}

/// `GET /api/v1/discounts`
pub async fn list_discounts(State(s): State<AppState>, a: Authed) -> JsonResult {
    Ok(Json(json!({"items": catalogue::discounts(&s, &a).await?})))
}

/// `POST /api/v1/coupons`
pub async fn create_coupon(
    State(s): State<AppState>,
    a: Authed,
    headers: HeaderMap,
    raw: RawBody,
) -> JsonResult {
    a.require(Permission::CatalogueManage)?;
    let r: CouponDraft = body(&headers, &raw)?;
    let c = catalogue::create_coupon(&s, &a, &r).await?;
    Ok(Json(json!({"coupon": c})))
}

// ---------------------------------------------------------------- accounts

/// `GET /api/v1/orgs/{id}/account`: balances.
pub async fn account(State(s): State<AppState>, a: Authed, IdParam(id): IdParam) -> JsonResult {
    let (org, b) = accounts::balances(&s, &a, id).await?;
    Ok(Json(
        json!({"org_id": org.id, "balances": b, "credit_available_fen": b.credit_available(), "spendable_fen": b.spendable()}),
    ))
}

/// `GET /api/v1/orgs/{id}/statements`
pub async fn statements(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> JsonResult {
    a.require(Permission::AccountRead)?;
    let items = accounts::statements(&s, &a, id, page(&q)?).await?;
    Ok(Json(json!({"items": items})))
}

/// `GET /api/v1/orgs/{id}/orders`
pub async fn org_orders(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> JsonResult {
    a.require(Permission::AccountRead)?;
    let items = accounts::orders(&s, &a, id, page(&q)?).await?;
    Ok(Json(json!({"items": items})))
}

/// `GET /api/v1/orgs/{id}/instances`
pub async fn org_instances(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> JsonResult {
    a.require(Permission::AccountRead)?;
    let items = accounts::instances(&s, &a, id, page(&q)?).await?;
    Ok(Json(json!({"items": items})))
}

/// `GET /api/v1/orgs/{id}/messages`: reminders and notices.
pub async fn org_messages(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> JsonResult {
    a.require(Permission::AccountRead)?;
    let items = accounts::messages(&s, &a, id, page(&q)?).await?;
    Ok(Json(json!({"items": items})))
}

/// A credit line.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditReq {
    limit_fen: i64,
}

/// `PUT /api/v1/orgs/{id}/credit-line`
pub async fn set_credit_line(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
    headers: HeaderMap,
    raw: RawBody,
) -> JsonResult {
    a.require(Permission::FinanceManage)?;
    let r: CreditReq = body(&headers, &raw)?;
    Ok(grant_json(
        &accounts::set_credit_line(&s, &a, id, r.limit_fen).await?,
    ))
}

/// The answer to a grant request: the balances when it took effect, `pending` while it
/// waits for a second finance user.
fn grant_json(g: &GrantOutcome) -> Json<Value> {
    Json(json!({"grant": g.grant, "pending": g.balances.is_none(), "balances": g.balances}))
}

/// `POST /api/v1/orgs/{id}/vouchers`
pub async fn grant_voucher(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
    headers: HeaderMap,
    raw: RawBody,
) -> JsonResult {
    a.require(Permission::FinanceManage)?;
    let r: VoucherGrant = body(&headers, &raw)?;
    Ok(grant_json(&accounts::grant_voucher(&s, &a, id, &r).await?))
}

/// `GET /api/v1/money-grants`: voucher grants and credit-line changes, done and pending.
pub async fn list_grants(
    State(s): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> JsonResult {
    a.require(Permission::FinanceManage)?;
    Ok(Json(
        json!({"items": accounts::grants(&s, &a, page(&q)?).await?}),
    ))
}

/// `POST /api/v1/money-grants/{id}/approve` (four eyes: not by who asked for it).
pub async fn approve_grant(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
) -> JsonResult {
    Ok(grant_json(&accounts::approve_grant(&s, &a, id).await?))
}

// ---------------------------------------------------------------- recharge

/// A recharge.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RechargeReq {
    amount_fen: i64,
}

/// `POST /api/v1/recharges`: starts a recharge with the (sandbox) provider.
pub async fn create_recharge(
    State(s): State<AppState>,
    a: Authed,
    headers: HeaderMap,
    raw: RawBody,
) -> JsonResult {
    a.require(Permission::OrderPlace)?;
    payments::enabled(&s)?;
    let r: RechargeReq = body(&headers, &raw)?;
    let rc = payments::start_recharge(&s, &a, r.amount_fen).await?;
    Ok(Json(
        json!({"payment": rc.payment, "pay_url": rc.pay_url, "sandbox": rc.sandbox,
        "notice": "SANDBOX payment provider: no real money moves"}),
    ))
}

/// `POST /api/v1/recharges/{id}/sandbox-pay`: the sandbox "bank" pays: it signs the
/// callback a real provider would send and feeds it through the webhook path.
pub async fn sandbox_pay(State(s): State<AppState>, a: Authed, IdParam(id): IdParam) -> JsonResult {
    let (pay, b) = payments::sandbox_pay(&s, &a, id).await?;
    Ok(Json(json!({"payment": pay, "balances": b, "sandbox": true,
        "notice": "SANDBOX payment provider: no real money moved"})))
}

/// `POST /api/v1/payments/sandbox/webhook`: provider confirmation, authenticated by the
/// `X-Suanli-Signature` HMAC; idempotent.
pub async fn sandbox_webhook(
    State(s): State<AppState>,
    headers: HeaderMap,
    raw: RawBody,
) -> JsonResult {
    let sig = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    payments::verify(&s, &raw.0, sig)?;
    let cb: Callback = decode_json(&raw.0)?;
    let pay = payments::confirm(&s, &cb).await?;
    Ok(Json(json!({"payment": pay, "sandbox": true})))
}

/// `POST /api/v1/offline-transfers`: entered by finance, pending until another finance
/// user approves it.
pub async fn create_offline(
    State(s): State<AppState>,
    a: Authed,
    headers: HeaderMap,
    raw: RawBody,
) -> JsonResult {
    a.require(Permission::FinanceManage)?;
    let r: OfflineTransfer = body(&headers, &raw)?;
    let t = payments::enter_offline(&s, &a, &r).await?;
    Ok(Json(json!({"transfer": t})))
}

/// `GET /api/v1/offline-transfers`
pub async fn list_offline(
    State(s): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> JsonResult {
    a.require(Permission::FinanceManage)?;
    Ok(Json(
        json!({"items": payments::offline(&s, &a, page(&q)?).await?}),
    ))
}

/// `POST /api/v1/offline-transfers/{id}/approve` (four eyes: not by who entered it).
pub async fn approve_offline(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
) -> JsonResult {
    let (t, b) = payments::approve_offline(&s, &a, id).await?;
    Ok(Json(json!({"transfer": t, "balances": b})))
}

// ---------------------------------------------------------------- orders

/// `POST /api/v1/orders` (header `Idempotency-Key`).
pub async fn place_order(
    State(s): State<AppState>,
    a: Authed,
    headers: HeaderMap,
    raw: RawBody,
) -> JsonResult {
    a.require(Permission::OrderPlace)?;
    let r: NewOrder = body(&headers, &raw)?;
    let idem = idem(&headers, "/api/v1/orders", &raw.0)?;
    Ok(outcome_json(&orders::place(&s, &a, idem, &r).await?))
}

/// A renewal.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenewReq {
    months: u32,
}

/// `POST /api/v1/instances/{id}/renew`
pub async fn renew(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
    headers: HeaderMap,
    raw: RawBody,
) -> JsonResult {
    a.require(Permission::OrderPlace)?;
    let r: RenewReq = body(&headers, &raw)?;
    let idem = idem(&headers, &format!("/api/v1/instances/{id}/renew"), &raw.0)?;
    Ok(outcome_json(
        &orders::renew(&s, &a, idem, id, r.months).await?,
    ))
}

/// `POST /api/v1/instances/{id}/unsubscribe` (prorated refund).
pub async fn unsubscribe(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
    headers: HeaderMap,
) -> JsonResult {
    a.require(Permission::OrderPlace)?;
    let idem = idem(
        &headers,
        &format!("/api/v1/instances/{id}/unsubscribe"),
        b"",
    )?;
    Ok(outcome_json(&orders::unsubscribe(&s, &a, idem, id).await?))
}

/// A change of spec.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeReq {
    spec_id: i64,
}

/// `POST /api/v1/instances/{id}/change-spec`
pub async fn change_spec(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
    headers: HeaderMap,
    raw: RawBody,
) -> JsonResult {
    a.require(Permission::OrderPlace)?;
    let r: ChangeReq = body(&headers, &raw)?;
    let idem = idem(
        &headers,
        &format!("/api/v1/instances/{id}/change-spec"),
        &raw.0,
    )?;
    Ok(outcome_json(
        &orders::change_spec(&s, &a, idem, id, r.spec_id).await?,
    ))
}

/// `POST /api/v1/instances/{id}/accept`: operator acceptance of a manual product.
pub async fn accept(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
    headers: HeaderMap,
    raw: RawBody,
) -> JsonResult {
    a.require(Permission::OrderManage)?;
    let r: Acceptance = body(&headers, &raw)?;
    Ok(Json(
        json!({"instance": orders::accept(&s, &a, id, &r).await?}),
    ))
}

/// `GET /api/v1/orders`: every order (operator).
pub async fn list_orders(
    State(s): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> JsonResult {
    a.require(Permission::OrderManage)?;
    Ok(Json(
        json!({"items": orders::list_all(&s, &a, page(&q)?).await?}),
    ))
}

/// `GET /api/v1/instances`: every instance (operator; pending ones await acceptance).
pub async fn list_instances(
    State(s): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> JsonResult {
    a.require(Permission::OrderManage)?;
    Ok(Json(
        json!({"items": orders::list_all_instances(&s, &a, page(&q)?).await?}),
    ))
}

/// `POST /api/v1/lifecycle/advance`: advances every instance to the server clock's now
/// (reminders, expiry, release, usage charging, pause/resume).
pub async fn advance(
    State(s): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<AdvanceQuery>,
) -> JsonResult {
    let report = orders::advance(&s, &a, q.after).await?;
    let more = report.next_after.is_some();
    Ok(Json(json!({"report": report, "more": more})))
}

/// `?after=` of a lifecycle request: continue a pass after this instance id.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdvanceQuery {
    after: Option<i64>,
}

// ---------------------------------------------------------------- bills

/// Bill filters.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillQuery {
    /// `YYYY-MM` (China Standard Time); default the current month.
    period: Option<String>,
    org_id: Option<i64>,
    user_id: Option<i64>,
    product_id: Option<i64>,
    mode: Option<ChargingMode>,
    /// Cursor `{org_id}:{product_id}:{mode}`: the `next_after` of the previous page.
    after: Option<String>,
    /// Lines per page, 1..=[`BILL_PAGE_MAX`].
    limit: Option<u32>,
}

/// `GET /api/v1/bills`: per customer × product × charging mode for a month. Customers see
/// their own organisation only.
pub async fn bills(
    State(s): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<BillQuery>,
) -> JsonResult {
    a.require(Permission::AccountRead)?;
    let (from_ms, to_ms, label) = accounts::month(q.period.as_deref(), s.clock.now_unix_ms())?;
    let bill = accounts::bill(
        &s,
        &a,
        &BillRequest {
            from_ms,
            to_ms,
            org_id: q.org_id,
            user_id: q.user_id,
            product_id: q.product_id,
            mode: q.mode,
            after: q.after,
            limit: q.limit,
        },
    )
    .await?;
    Ok(Json(
        json!({"period": label, "items": bill.items, "next_after": bill.next_after}),
    ))
}
