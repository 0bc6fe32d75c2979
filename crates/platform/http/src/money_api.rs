//! Money endpoints: catalogue, accounts and statements, recharge (sandbox provider +
//! signed webhook, offline transfers with four-eyes approval), orders, renewals,
//! unsubscribes, changes of spec, operator acceptance, instance lifecycle, bills.
//!
//! Every handler checks its permission *before* reading the body (so a caller without
//! the permission always gets 403, whatever it sent), then the organisation visibility
//! (objects of invisible organisations answer 404), then validates input into domain
//! newtypes.

use crate::AppState;
use crate::auth::Authed;
use crate::error::{ApiError, ApiResult};
use crate::http::{ApiQuery, BODY_BYTES_MAX, IdParam, PageQuery, decode_json};
use crate::payment::{Callback, PaymentProvider, SIGNATURE_HEADER};
use axum::Json;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use suanli_platform_domain::journal::IdemKey;
use suanli_platform_domain::money::{
    Bp, FEN_PER_REQUEST_MAX, Fen, cst_day_start, cst_midnight, cst_month_of,
};
use suanli_platform_domain::pricing::{
    ChargingMode, CouponValue, DiscountScope, QUANTITY_MAX, SpecPricing,
};
use suanli_platform_domain::validate::BoundedText;
use suanli_platform_domain::{OrgId, OrgVisibility, Permission, UserId};
use suanli_platform_store::*;

type JsonResult = ApiResult<Json<Value>>;

/// Header carrying the client's idempotency key on order operations.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
/// Longest coupon code, in characters.
pub const COUPON_CODE_CHARS_MAX: usize = 32;
/// Longest provisioning field (resource id, access address), in characters.
pub const PROVISIONING_CHARS_MAX: usize = 200;
/// Instances one lifecycle request advances at most (the batch; `next_after` in the answer
/// continues the pass).
pub const LIFECYCLE_PAGE_MAX: u32 = 200;
/// Cash vouchers one finance user may grant alone per day (CST), in fen; a grant that
/// would go beyond waits for a second finance user's approval.
pub const VOUCHER_ALONE_DAILY_MAX_FEN: i64 = 100_000;
/// Highest credit line one finance user may set alone, in fen; a higher one waits for a
/// second finance user's approval.
pub const CREDIT_LINE_ALONE_MAX_FEN: i64 = 1_000_000;
/// Bill lines per page at most (and by default).
pub const BILL_PAGE_MAX: u32 = 200;

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

fn amount(raw: i64, field: &str) -> ApiResult<Fen> {
    if !(1..=FEN_PER_REQUEST_MAX).contains(&raw) {
        return Err(ApiError::invalid(
            field,
            format!("must be 1 to {FEN_PER_REQUEST_MAX} fen"),
        ));
    }
    Fen::new(raw).map_err(|e| ApiError::invalid(field, e.to_string()))
}

fn fen0(raw: i64, field: &str) -> ApiResult<Fen> {
    if !(0..=FEN_PER_REQUEST_MAX).contains(&raw) {
        return Err(ApiError::invalid(
            field,
            format!("must be 0 to {FEN_PER_REQUEST_MAX} fen"),
        ));
    }
    Fen::new(raw).map_err(|e| ApiError::invalid(field, e.to_string()))
}

fn bp(raw: u32, field: &str) -> ApiResult<Bp> {
    Bp::new(raw).map_err(|e| ApiError::invalid(field, e.to_string()))
}

fn text(raw: &str, field: &str) -> ApiResult<String> {
    BoundedText::parse(raw)
        .map(|t| t.as_str().to_owned())
        .map_err(|e| ApiError::invalid(field, e.to_string()))
}

fn pricing(p: SpecPricing) -> ApiResult<SpecPricing> {
    p.validate()
        .map_err(|e| ApiError::invalid("pricing", e.to_string()))?;
    let too_big = |f: Fen| f.get() > FEN_PER_REQUEST_MAX;
    let bad = p
        .prepaid
        .as_ref()
        .is_some_and(|x| too_big(x.monthly_fen) || x.yearly_fen.is_some_and(too_big))
        || p.payg.as_ref().is_some_and(|x| {
            too_big(x.per_minute_fen) || too_big(x.minimum_fen) || too_big(x.deposit_fen)
        });
    if bad {
        return Err(ApiError::invalid(
            "pricing",
            format!("prices must be at most {FEN_PER_REQUEST_MAX} fen"),
        ));
    }
    Ok(p)
}

/// The customer organisation `id` if visible to the caller (else 404).
async fn visible_org(s: &AppState, a: &Authed, id: i64) -> ApiResult<OrgRecord> {
    let org = s
        .store
        .get_org(OrgId::new(id).ok_or_else(ApiError::not_found)?)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if !a.principal.org_visibility().permits(&org.facts()) {
        return Err(ApiError::not_found());
    }
    Ok(org)
}

/// The customer's own instance `id` (404 for another organisation's).
async fn own_instance(s: &AppState, a: &Authed, id: i64) -> ApiResult<InstanceRecord> {
    let inst = s
        .store
        .get_instance(id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if inst.org != a.org.id {
        return Err(ApiError::not_found());
    }
    Ok(inst)
}

fn order_ctx(
    s: &AppState,
    a: &Authed,
    headers: &HeaderMap,
    path: &str,
    raw: &[u8],
) -> ApiResult<OrderCtx> {
    let k = headers
        .get(IDEMPOTENCY_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "missing_idempotency_key",
                "order operations need an Idempotency-Key header (1 to 128 printable ASCII characters)",
            )
        })?;
    let key = IdemKey::parse(k).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_idempotency_key",
            e.to_string(),
        )
    })?;
    let mut h = Sha256::new();
    h.update(path.as_bytes());
    h.update([0]);
    h.update(raw);
    Ok(OrderCtx {
        key,
        digest: hex::encode(h.finalize()),
        org: a.org.id,
        user: a.user.id,
        at_ms: s.clock.now_unix_ms(),
    })
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
    let products = s
        .store
        .list_products(!all, q.after.unwrap_or(0), limit)
        .await?;
    let mut items = Vec::with_capacity(products.len());
    for p in products {
        let specs = s.store.list_specs(p.id).await?;
        items.push(json!({"product": p, "specs": specs}));
    }
    Ok(Json(
        json!({"categories": s.store.list_categories().await?, "items": items}),
    ))
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
    let name = text(&r.name, "name")?;
    let c = s
        .store
        .create_category(&name, s.clock.now_unix_ms())
        .await?;
    Ok(Json(json!({"category": c})))
}

/// A new product.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductReq {
    category_id: i64,
    name: String,
    supplier_org_id: i64,
    region: String,
    manual_provisioning: bool,
    supplier_share_bp: u32,
}

/// `POST /api/v1/catalogue/products`
pub async fn create_product(
    State(s): State<AppState>,
    a: Authed,
    headers: HeaderMap,
    raw: RawBody,
) -> JsonResult {
    a.require(Permission::CatalogueManage)?;
    let r: ProductReq = body(&headers, &raw)?;
    let supplier = s
        .store
        .get_org(
            OrgId::new(r.supplier_org_id)
                .ok_or_else(|| ApiError::invalid("supplier_org_id", "no such supplier"))?,
        )
        .await?
        .filter(|o| o.kind.is_supplier())
        .ok_or_else(|| ApiError::invalid("supplier_org_id", "must be a supplier organisation"))?;
    let p = s
        .store
        .create_product(&NewProduct {
            category_id: r.category_id,
            name: text(&r.name, "name")?,
            supplier: supplier.id,
            region: text(&r.region, "region")?,
            manual_provisioning: r.manual_provisioning,
            supplier_share: bp(r.supplier_share_bp, "supplier_share_bp")?,
            at_ms: s.clock.now_unix_ms(),
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::invalid("category_id", "no such category"),
            e => e.into(),
        })?;
    Ok(Json(json!({"product": p})))
}

/// A new spec.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecReq {
    family: String,
    name: String,
    pricing: SpecPricing,
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
    let r: SpecReq = body(&headers, &raw)?;
    let spec = s
        .store
        .create_spec(&NewSpec {
            product_id: id,
            family: text(&r.family, "family")?,
            name: text(&r.name, "name")?,
            pricing: pricing(r.pricing)?,
            at_ms: s.clock.now_unix_ms(),
        })
        .await?;
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
    let spec = s.store.set_spec_pricing(id, &pricing(r.pricing)?).await?;
    Ok(Json(json!({"spec": spec})))
}

async fn publish(s: &AppState, a: &Authed, id: i64, on: bool) -> JsonResult {
    a.require(Permission::CatalogueManage)?;
    s.store.set_product_published(id, on).await?;
    Ok(Json(json!({"product": s.store.get_product(id).await?})))
}

/// `POST /api/v1/catalogue/products/{id}/publish`
pub async fn publish_product(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
) -> JsonResult {
    publish(&s, &a, id, true).await
}

/// `POST /api/v1/catalogue/products/{id}/unpublish`
pub async fn unpublish_product(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
) -> JsonResult {
    publish(&s, &a, id, false).await
}

/// A new discount rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscountReq {
    rule: DiscountScope,
    off_bp: u32,
}

/// `POST /api/v1/discounts`
pub async fn create_discount(
    State(s): State<AppState>,
    a: Authed,
    headers: HeaderMap,
    raw: RawBody,
) -> JsonResult {
    a.require(Permission::CatalogueManage)?;
    let r: DiscountReq = body(&headers, &raw)?;
    match &r.rule {
        DiscountScope::Customer { org_id } => {
            s.store
                .get_org(*org_id)
                .await?
                .filter(|o| o.kind.is_customer())
                .ok_or_else(|| ApiError::invalid("org_id", "must be a customer organisation"))?;
        }
        DiscountScope::Region { region } => {
            text(region, "region")?;
        }
        DiscountScope::Volume { min_quantity } => {
            if *min_quantity == 0 || *min_quantity > QUANTITY_MAX {
                return Err(ApiError::invalid(
                    "min_quantity",
                    format!("must be 1 to {QUANTITY_MAX}"),
                ));
            }
        }
        DiscountScope::Global => {}
    }
    let d = s
        .store
        .create_discount(&r.rule, bp(r.off_bp, "off_bp")?, s.clock.now_unix_ms())
        .await?;
    Ok(Json(json!({"discount": d})))
}

/// `GET /api/v1/discounts`
pub async fn list_discounts(State(s): State<AppState>, a: Authed) -> JsonResult {
    a.require(Permission::CatalogueManage)?;
    Ok(Json(json!({"items": s.store.list_discounts().await?})))
}

/// A new coupon.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CouponReq {
    code: String,
    org_id: Option<i64>,
    value: CouponValue,
    min_spend_fen: i64,
    expires_ms: i64,
}

fn coupon_code(raw: &str) -> ApiResult<String> {
    let ok = !raw.is_empty()
        && raw.len() <= COUPON_CODE_CHARS_MAX
        && raw
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    ok.then(|| raw.to_owned()).ok_or_else(|| {
        ApiError::invalid(
            "code",
            format!("1 to {COUPON_CODE_CHARS_MAX} characters of A-Z, 0-9, - and _"),
        )
    })
}

/// `POST /api/v1/coupons`
pub async fn create_coupon(
    State(s): State<AppState>,
    a: Authed,
    headers: HeaderMap,
    raw: RawBody,
) -> JsonResult {
    a.require(Permission::CatalogueManage)?;
    let r: CouponReq = body(&headers, &raw)?;
    let org = match r.org_id {
        Some(o) => Some(
            s.store
                .get_org(
                    OrgId::new(o).ok_or_else(|| ApiError::invalid("org_id", "no such customer"))?,
                )
                .await?
                .filter(|o| o.kind.is_customer())
                .ok_or_else(|| ApiError::invalid("org_id", "must be a customer organisation"))?
                .id,
        ),
        None => None,
    };
    if let CouponValue::AmountOff { fen } = r.value {
        amount(fen.get(), "value.fen")?;
    }
    let now = s.clock.now_unix_ms();
    if r.expires_ms <= now {
        return Err(ApiError::invalid("expires_ms", "must be in the future"));
    }
    let c = s
        .store
        .create_coupon(&NewCoupon {
            code: coupon_code(&r.code)?,
            org,
            value: r.value,
            min_spend: fen0(r.min_spend_fen, "min_spend_fen")?,
            expires_ms: r.expires_ms,
            at_ms: now,
        })
        .await?;
    Ok(Json(json!({"coupon": c})))
}

// ---------------------------------------------------------------- accounts

/// `GET /api/v1/orgs/{id}/account`: balances.
pub async fn account(State(s): State<AppState>, a: Authed, IdParam(id): IdParam) -> JsonResult {
    a.require(Permission::AccountRead)?;
    let org = visible_org(&s, &a, id).await?;
    let b = s.store.balances(org.id).await?;
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
    let org = visible_org(&s, &a, id).await?;
    let items = s
        .store
        .statements(org.id, q.after.unwrap_or(0), q.limit()?)
        .await?;
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
    let org = visible_org(&s, &a, id).await?;
    let items = s
        .store
        .list_orders(Some(org.id), q.after.unwrap_or(0), q.limit()?)
        .await?;
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
    let org = visible_org(&s, &a, id).await?;
    let items = s
        .store
        .list_instances(Some(org.id), q.after.unwrap_or(0), q.limit()?)
        .await?;
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
    let org = visible_org(&s, &a, id).await?;
    let items = s
        .store
        .list_messages(org.id, q.after.unwrap_or(0), q.limit()?)
        .await?;
    Ok(Json(json!({"items": items})))
}

/// A credit line.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditReq {
    limit_fen: i64,
}

async fn customer_org(s: &AppState, a: &Authed, id: i64) -> ApiResult<OrgRecord> {
    let org = visible_org(s, a, id).await?;
    if !org.kind.is_customer() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_a_customer",
            "accounts exist only for customer organisations",
        ));
    }
    Ok(org)
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
    let org = customer_org(&s, &a, id).await?;
    let now = s.clock.now_unix_ms();
    let g = s
        .store
        .request_grant(&GrantRequest {
            org: org.id,
            kind: GrantKind::CreditLine,
            amount: fen0(r.limit_fen, "limit_fen")?,
            key: None,
            by: a.user.id,
            at_ms: now,
            day_start_ms: cst_day_start(now),
            alone_max: Fen::new(CREDIT_LINE_ALONE_MAX_FEN).map_err(|_| ApiError::internal())?,
        })
        .await?;
    Ok(grant_json(&g))
}

/// The answer to a grant request: the balances when it took effect, `pending` while it
/// waits for a second finance user.
fn grant_json(g: &GrantOutcome) -> Json<Value> {
    Json(json!({"grant": g.grant, "pending": g.balances.is_none(), "balances": g.balances}))
}

/// A cash voucher grant.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoucherReq {
    amount_fen: i64,
    idempotency_key: String,
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
    let r: VoucherReq = body(&headers, &raw)?;
    let key = IdemKey::parse(&r.idempotency_key)
        .map_err(|e| ApiError::invalid("idempotency_key", e.to_string()))?;
    let org = customer_org(&s, &a, id).await?;
    let now = s.clock.now_unix_ms();
    let g = s
        .store
        .request_grant(&GrantRequest {
            org: org.id,
            kind: GrantKind::Voucher,
            amount: amount(r.amount_fen, "amount_fen")?,
            key: Some(key),
            by: a.user.id,
            at_ms: now,
            day_start_ms: cst_day_start(now),
            alone_max: Fen::new(VOUCHER_ALONE_DAILY_MAX_FEN).map_err(|_| ApiError::internal())?,
        })
        .await?;
    Ok(grant_json(&g))
}

/// `GET /api/v1/money-grants`: voucher grants and credit-line changes, done and pending.
pub async fn list_grants(
    State(s): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> JsonResult {
    a.require(Permission::FinanceManage)?;
    Ok(Json(
        json!({"items": s.store.list_grants(q.after.unwrap_or(0), q.limit()?).await?}),
    ))
}

/// `POST /api/v1/money-grants/{id}/approve` (four eyes: not by who asked for it).
pub async fn approve_grant(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
) -> JsonResult {
    a.require(Permission::FinanceManage)?;
    let g = s
        .store
        .approve_grant(id, a.user.id, s.clock.now_unix_ms())
        .await?;
    Ok(grant_json(&g))
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
    payments_enabled(&s)?;
    let r: RechargeReq = body(&headers, &raw)?;
    let amt = amount(r.amount_fen, "amount_fen")?;
    let p = &s.money.provider;
    let (reference, url) = p.start(amt).map_err(|e| {
        tracing::error!(error = %e, "payment provider failed");
        ApiError::internal()
    })?;
    let pay = s
        .store
        .create_payment(
            a.org.id,
            a.user.id,
            p.name(),
            &reference,
            amt,
            s.clock.now_unix_ms(),
        )
        .await?;
    Ok(Json(
        json!({"payment": pay, "pay_url": url, "sandbox": p.is_sandbox(),
        "notice": "SANDBOX payment provider: no real money moves"}),
    ))
}

/// Recharges need a payment provider; the only one is the sandbox, off unless configured.
fn payments_enabled(s: &AppState) -> ApiResult<()> {
    if s.money.provider.is_sandbox() && !s.money.sandbox_enabled {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "payments_unavailable",
            "no payment provider is enabled: the sandbox (no real money) is off; a test or demo deployment sets [money] sandbox_payments = true",
        ));
    }
    Ok(())
}

async fn confirm(s: &AppState, raw: &[u8], signature: &str) -> ApiResult<PaymentRecord> {
    payments_enabled(s)?;
    if !s.money.provider.verify(raw, signature) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad_signature",
            "the webhook signature does not verify",
        ));
    }
    let cb: Callback = decode_json(raw)?;
    if cb.status != "paid" {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_paid",
            "only status \"paid\" confirms a payment",
        ));
    }
    let amt = amount(cb.amount_fen, "amount_fen")?;
    Ok(s.store
        .confirm_payment(
            s.money.provider.name(),
            &cb.provider_ref,
            amt,
            s.clock.now_unix_ms(),
        )
        .await?)
}

/// `POST /api/v1/recharges/{id}/sandbox-pay`: the sandbox "bank" pays: it signs the
/// callback a real provider would send and feeds it through the webhook path.
pub async fn sandbox_pay(State(s): State<AppState>, a: Authed, IdParam(id): IdParam) -> JsonResult {
    a.require(Permission::OrderPlace)?;
    let pay = s
        .store
        .get_payment(id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if pay.org != a.org.id {
        return Err(ApiError::not_found());
    }
    let cb = Callback {
        provider_ref: pay.provider_ref.clone(),
        amount_fen: pay.amount_fen.get(),
        status: "paid".into(),
    };
    let raw = serde_json::to_vec(&cb).map_err(|_| ApiError::internal())?;
    let sig = s.money.provider.sign(&raw);
    let pay = confirm(&s, &raw, &sig).await?;
    let b = s.store.balances(pay.org).await?;
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
    let pay = confirm(&s, &raw.0, sig).await?;
    Ok(Json(json!({"payment": pay, "sandbox": true})))
}

/// An offline transfer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfflineReq {
    org_id: i64,
    direction: Direction,
    amount_fen: i64,
    reference: String,
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
    let r: OfflineReq = body(&headers, &raw)?;
    let org = customer_org(&s, &a, r.org_id)
        .await
        .map_err(|_| ApiError::invalid("org_id", "must be a visible customer organisation"))?;
    let t = s
        .store
        .create_offline(&NewOffline {
            org: org.id,
            direction: r.direction,
            amount: amount(r.amount_fen, "amount_fen")?,
            reference: text(&r.reference, "reference")?,
            entered_by: a.user.id,
            at_ms: s.clock.now_unix_ms(),
        })
        .await?;
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
        json!({"items": s.store.list_offline(q.after.unwrap_or(0), q.limit()?).await?}),
    ))
}

/// `POST /api/v1/offline-transfers/{id}/approve` (four eyes: not by who entered it).
pub async fn approve_offline(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
) -> JsonResult {
    a.require(Permission::FinanceManage)?;
    let t = s
        .store
        .approve_offline(id, a.user.id, s.clock.now_unix_ms())
        .await?;
    Ok(Json(
        json!({"transfer": t, "balances": s.store.balances(t.org).await?}),
    ))
}

// ---------------------------------------------------------------- orders

/// A new order.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderReq {
    spec_id: i64,
    mode: ChargingMode,
    #[serde(default)]
    months: u32,
    quantity: u32,
    coupon: Option<String>,
}

/// `POST /api/v1/orders` (header `Idempotency-Key`).
pub async fn place_order(
    State(s): State<AppState>,
    a: Authed,
    headers: HeaderMap,
    raw: RawBody,
) -> JsonResult {
    a.require(Permission::OrderPlace)?;
    let r: OrderReq = body(&headers, &raw)?;
    let ctx = order_ctx(&s, &a, &headers, "/api/v1/orders", &raw.0)?;
    if r.quantity == 0 || r.quantity > QUANTITY_MAX {
        return Err(ApiError::invalid(
            "quantity",
            format!("must be 1 to {QUANTITY_MAX}"),
        ));
    }
    let coupon = r
        .coupon
        .as_deref()
        .map(coupon_code)
        .transpose()
        .map_err(|e| e.field("coupon"))?;
    let o = s
        .store
        .place_order(&PlaceOrder {
            ctx,
            spec_id: r.spec_id,
            mode: r.mode,
            months: r.months,
            quantity: r.quantity,
            coupon,
        })
        .await?;
    Ok(outcome_json(&o))
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
    let ctx = order_ctx(
        &s,
        &a,
        &headers,
        &format!("/api/v1/instances/{id}/renew"),
        &raw.0,
    )?;
    own_instance(&s, &a, id).await?;
    Ok(outcome_json(&s.store.renew(&ctx, id, r.months).await?))
}

/// `POST /api/v1/instances/{id}/unsubscribe` (prorated refund).
pub async fn unsubscribe(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
    headers: HeaderMap,
) -> JsonResult {
    a.require(Permission::OrderPlace)?;
    let ctx = order_ctx(
        &s,
        &a,
        &headers,
        &format!("/api/v1/instances/{id}/unsubscribe"),
        b"",
    )?;
    own_instance(&s, &a, id).await?;
    Ok(outcome_json(&s.store.unsubscribe(&ctx, id).await?))
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
    let ctx = order_ctx(
        &s,
        &a,
        &headers,
        &format!("/api/v1/instances/{id}/change-spec"),
        &raw.0,
    )?;
    own_instance(&s, &a, id).await?;
    Ok(outcome_json(
        &s.store.change_spec(&ctx, id, r.spec_id).await?,
    ))
}

/// Provisioning details.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptReq {
    resource_id: String,
    access_address: String,
    opened_ms: Option<i64>,
}

fn prov_text(raw: &str, field: &str) -> ApiResult<String> {
    let ok = !raw.trim().is_empty()
        && raw.chars().count() <= PROVISIONING_CHARS_MAX
        && !raw.chars().any(char::is_control);
    ok.then(|| raw.to_owned()).ok_or_else(|| {
        ApiError::invalid(
            field,
            format!("1 to {PROVISIONING_CHARS_MAX} characters without control characters"),
        )
    })
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
    let r: AcceptReq = body(&headers, &raw)?;
    let now = s.clock.now_unix_ms();
    let opened = r.opened_ms.unwrap_or(now);
    if opened > now {
        return Err(ApiError::invalid("opened_ms", "must not be in the future"));
    }
    let inst = s
        .store
        .get_instance(id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    visible_org(&s, &a, inst.org.get()).await?;
    if opened < inst.created_ms {
        return Err(ApiError::invalid(
            "opened_ms",
            "must not be before the order",
        ));
    }
    let p = Provisioning {
        resource_id: prov_text(&r.resource_id, "resource_id")?,
        access_address: prov_text(&r.access_address, "access_address")?,
        opened_ms: opened,
    };
    Ok(Json(
        json!({"instance": s.store.accept_instance(id, &p, a.user.id, now).await?}),
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
        json!({"items": s.store.list_orders(None, q.after.unwrap_or(0), q.limit()?).await?}),
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
        json!({"items": s.store.list_instances(None, q.after.unwrap_or(0), q.limit()?).await?}),
    ))
}

/// `POST /api/v1/lifecycle/advance`: advances every instance to the server clock's now
/// (reminders, expiry, release, usage charging, pause/resume).
pub async fn advance(
    State(s): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<AdvanceQuery>,
) -> JsonResult {
    a.require(Permission::OrderManage)?;
    let after = match q.after {
        None => 0,
        Some(v) if v >= 0 => v,
        Some(_) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                "after must not be negative",
            )
            .field("after"));
        }
    };
    let report = s
        .store
        .advance_lifecycle(
            s.clock.now_unix_ms(),
            &s.money.lifecycle,
            &suanli_platform_domain::instance::MeteredUsage,
            after,
            LIFECYCLE_PAGE_MAX,
        )
        .await?;
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

/// A bill cursor `{org_id}:{product_id}:{mode}`.
fn bill_cursor(raw: &str) -> ApiResult<BillKey> {
    let bad = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "after must be {org_id}:{product_id}:{mode}, the next_after of the previous page",
        )
        .field("after")
    };
    let mut parts = raw.splitn(3, ':');
    let (Some(o), Some(p), Some(m)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let org_id: i64 = o.parse().map_err(|_| bad())?;
    let product_id: i64 = p.parse().map_err(|_| bad())?;
    if org_id < 0 || product_id < 0 || ChargingMode::parse(m).is_none() {
        return Err(bad());
    }
    Ok(BillKey {
        org_id,
        product_id,
        mode: m.to_owned(),
    })
}

fn period(raw: Option<&str>, now_ms: i64) -> ApiResult<(i64, i64, String)> {
    let (y, m) = match raw {
        None => cst_month_of(now_ms),
        Some(p) => {
            let bad = || {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_query",
                    "period must be YYYY-MM",
                )
                .field("period")
            };
            let (y, m) = p.split_once('-').ok_or_else(bad)?;
            let y: i64 = y.parse().map_err(|_| bad())?;
            let m: u32 = m.parse().map_err(|_| bad())?;
            if !(2000..=2999).contains(&y) || !(1..=12).contains(&m) || p.len() != 7 {
                return Err(bad());
            }
            (y, m)
        }
    };
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    Ok((
        cst_midnight(y, m, 1),
        cst_midnight(ny, nm, 1),
        format!("{y:04}-{m:02}"),
    ))
}

/// `GET /api/v1/bills`: per customer × product × charging mode for a month. Customers see
/// their own organisation only.
pub async fn bills(
    State(s): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<BillQuery>,
) -> JsonResult {
    a.require(Permission::AccountRead)?;
    let (from_ms, to_ms, label) = period(q.period.as_deref(), s.clock.now_unix_ms())?;
    let org = match (a.principal.org_visibility(), q.org_id) {
        (OrgVisibility::All, o) => o
            .map(|o| OrgId::new(o).ok_or_else(ApiError::not_found))
            .transpose()?,
        (_, None) => Some(a.org.id),
        (_, Some(o)) if o == a.org.id.get() => Some(a.org.id),
        _ => return Err(ApiError::not_found()),
    };
    let user = q
        .user_id
        .map(|u| UserId::new(u).ok_or_else(|| ApiError::invalid("user_id", "must be positive")))
        .transpose()?;
    let limit = match q.limit {
        None => BILL_PAGE_MAX,
        Some(n) if (1..=BILL_PAGE_MAX).contains(&n) => n,
        Some(_) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                format!("limit must be between 1 and {BILL_PAGE_MAX}"),
            )
            .field("limit"));
        }
    };
    let after = q.after.as_deref().map(bill_cursor).transpose()?;
    let items = s
        .store
        .bills(&BillFilter {
            from_ms,
            to_ms,
            org,
            user,
            product: q.product_id,
            mode: q.mode,
            after,
            limit: Some(limit),
        })
        .await?;
    // A full page may have more after it.
    let next_after = (items.len() == usize::try_from(limit).unwrap_or(usize::MAX))
        .then(|| items.last())
        .flatten()
        .map(|l| format!("{}:{}:{}", l.org_id, l.product_id, l.mode));
    Ok(Json(
        json!({"period": label, "items": items, "next_after": next_after}),
    ))
}
