//! Orders: placing one (prepaid or pay-as-you-go), the price preview the store charges
//! with, renewals, unsubscribes with prorated refunds, changes of spec, operator
//! acceptance of manually provisioned products, the operator's lists and the lifecycle
//! pass. Every money-moving operation carries an [`Idem`]potency key: a replay with the
//! same key and request answers the first outcome; with another request, a conflict.

use super::{ServiceError, ServiceResult, own_instance, visible_org};
use crate::AppState;
use crate::auth::Authed;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use suanli_platform_domain::Permission;
use suanli_platform_domain::journal::IdemKey;
use suanli_platform_domain::pricing::{
    Breakdown, ChargingMode, QUANTITY_MAX, QuoteRequest, quote as price,
};
use suanli_platform_store::{
    AdvanceReport, InstanceRecord, OrderCtx, OrderOutcome, OrderRecord, PlaceOrder, ProductRecord,
    Provisioning, SpecRecord,
};

/// Longest coupon code, in characters.
pub const COUPON_CODE_CHARS_MAX: usize = 32;
/// Longest provisioning field (resource id, access address), in characters.
pub const PROVISIONING_CHARS_MAX: usize = 200;
/// Instances one lifecycle request advances at most (the batch; `next_after` in the
/// report continues the pass).
pub const LIFECYCLE_PAGE_MAX: u32 = 200;

/// The idempotency of one order operation: the client's key and the digest of the
/// request it came with (`sha256(path ‖ 0 ‖ body)`).
#[derive(Debug, Clone)]
pub struct Idem {
    /// The client's key.
    pub key: IdemKey,
    /// Digest of the request (a replay must match it).
    pub digest: String,
}

impl Idem {
    /// The key `raw` (missing: `missing_idempotency_key`; malformed:
    /// `invalid_idempotency_key`) for the request `body` sent to `path`.
    pub fn of(raw: Option<&str>, path: &str, body: &[u8]) -> ServiceResult<Self> {
        let raw = raw.ok_or_else(|| ServiceError::Malformed {
            code: "missing_idempotency_key",
            field: None,
            message: "order operations need an Idempotency-Key header (1 to 128 printable ASCII characters)".to_owned(),
        })?;
        let key = IdemKey::parse(raw).map_err(|e| ServiceError::Malformed {
            code: "invalid_idempotency_key",
            field: None,
            message: e.to_string(),
        })?;
        let mut h = Sha256::new();
        h.update(path.as_bytes());
        h.update([0]);
        h.update(body);
        Ok(Idem {
            key,
            digest: hex::encode(h.finalize()),
        })
    }

    /// The key `raw` for the typed request `req`: its JSON form with the keys of every
    /// object sorted is the body (the fingerprint does not depend on the field order of
    /// the type, and equals that of a JSON body with sorted keys).
    pub fn of_request<T: Serialize>(raw: &str, path: &str, req: &T) -> ServiceResult<Self> {
        let value = serde_json::to_value(req).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let body = serde_json::to_vec(&sorted(value))
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        Self::of(Some(raw), path, &body)
    }

    fn ctx(self, s: &AppState, a: &Authed) -> OrderCtx {
        OrderCtx {
            key: self.key,
            digest: self.digest,
            org: a.org.id,
            user: a.user.id,
            at_ms: s.clock.now_unix_ms(),
        }
    }
}

/// `v` with the keys of every object in sorted order (whatever order the map type keeps).
fn sorted(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            let mut pairs: Vec<(String, Value)> = m.into_iter().collect();
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(pairs.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// A new order (`POST /api/v1/orders`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    /// The spec ordered.
    pub spec_id: i64,
    /// Prepaid or pay-as-you-go.
    pub mode: ChargingMode,
    /// Months (prepaid).
    #[serde(default)]
    pub months: u32,
    /// How many (1..=[`QUANTITY_MAX`]).
    pub quantity: u32,
    /// A coupon code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon: Option<String>,
}

/// A coupon code: 1 to [`COUPON_CODE_CHARS_MAX`] characters of `A-Z 0-9 - _`.
pub fn coupon_code(raw: &str) -> ServiceResult<String> {
    let ok = !raw.is_empty()
        && raw.len() <= COUPON_CODE_CHARS_MAX
        && raw
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    ok.then(|| raw.to_owned()).ok_or_else(|| {
        ServiceError::invalid(
            "code",
            format!("1 to {COUPON_CODE_CHARS_MAX} characters of A-Z, 0-9, - and _"),
        )
    })
}

/// Places an order: charges the prepaid price (or freezes the pay-as-you-go deposit) and
/// creates its instance.
pub async fn place(
    s: &AppState,
    a: &Authed,
    idem: Idem,
    r: &NewOrder,
) -> ServiceResult<OrderOutcome> {
    a.allow(Permission::OrderPlace)?;
    if r.quantity == 0 || r.quantity > QUANTITY_MAX {
        return Err(ServiceError::invalid(
            "quantity",
            format!("must be 1 to {QUANTITY_MAX}"),
        ));
    }
    let coupon = r
        .coupon
        .as_deref()
        .map(coupon_code)
        .transpose()
        .map_err(|e| e.at("coupon"))?;
    Ok(s.store
        .place_order(&PlaceOrder {
            ctx: idem.ctx(s, a),
            spec_id: r.spec_id,
            mode: r.mode,
            months: r.months,
            quantity: r.quantity,
            coupon,
        })
        .await?)
}

/// A spec that may be ordered, with its product: the product is published (else not
/// found).
pub async fn orderable_spec(
    s: &AppState,
    spec_id: i64,
) -> ServiceResult<(SpecRecord, ProductRecord)> {
    let sp = s
        .store
        .get_spec(spec_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let p = s
        .store
        .get_product(sp.product_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if !p.published {
        return Err(ServiceError::NotFound);
    }
    Ok((sp, p))
}

/// The price breakdown of an order before it is placed, by the same pricing function the
/// store charges with (discount rules applied; coupons are checked when placing).
/// A strategy that cannot price the order is `rejected` on the field `mode`.
pub async fn quote(
    s: &AppState,
    a: &Authed,
    spec: &SpecRecord,
    product: &ProductRecord,
    mode: ChargingMode,
    months: u32,
    quantity: u32,
) -> ServiceResult<Breakdown> {
    a.allow(Permission::OrderPlace)?;
    let discounts = s.store.list_discounts().await?;
    price(&QuoteRequest {
        pricing: &spec.pricing,
        mode,
        months,
        quantity,
        customer: a.org.id,
        region: &product.region,
        discounts: &discounts,
        coupon: None,
    })
    .map_err(|e| ServiceError::Invalid {
        code: "rejected",
        field: Some("mode".to_owned()),
        message: e.to_string(),
    })
}

/// The caller's own instance `id`, for an order operation on it.
pub async fn instance(s: &AppState, a: &Authed, id: i64) -> ServiceResult<InstanceRecord> {
    a.allow(Permission::OrderPlace)?;
    own_instance(s, a, id).await
}

/// Renews the caller's prepaid instance `id` by `months`.
pub async fn renew(
    s: &AppState,
    a: &Authed,
    idem: Idem,
    id: i64,
    months: u32,
) -> ServiceResult<OrderOutcome> {
    a.allow(Permission::OrderPlace)?;
    own_instance(s, a, id).await?;
    Ok(s.store.renew(&idem.ctx(s, a), id, months).await?)
}

/// Unsubscribes the caller's instance `id` (prorated refund of a prepaid term).
pub async fn unsubscribe(
    s: &AppState,
    a: &Authed,
    idem: Idem,
    id: i64,
) -> ServiceResult<OrderOutcome> {
    a.allow(Permission::OrderPlace)?;
    own_instance(s, a, id).await?;
    Ok(s.store.unsubscribe(&idem.ctx(s, a), id).await?)
}

/// Changes the spec of the caller's instance `id` to `spec_id`.
pub async fn change_spec(
    s: &AppState,
    a: &Authed,
    idem: Idem,
    id: i64,
    spec_id: i64,
) -> ServiceResult<OrderOutcome> {
    a.allow(Permission::OrderPlace)?;
    own_instance(s, a, id).await?;
    Ok(s.store.change_spec(&idem.ctx(s, a), id, spec_id).await?)
}

/// Provisioning details of an accepted instance.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Acceptance {
    /// Resource id at the supplier.
    pub resource_id: String,
    /// Where the customer reaches it.
    pub access_address: String,
    /// When it opened (default now; not in the future, not before the order).
    pub opened_ms: Option<i64>,
}

fn prov_text(raw: &str, field: &str) -> ServiceResult<String> {
    let ok = !raw.trim().is_empty()
        && raw.chars().count() <= PROVISIONING_CHARS_MAX
        && !raw.chars().any(char::is_control);
    ok.then(|| raw.to_owned()).ok_or_else(|| {
        ServiceError::invalid(
            field,
            format!("1 to {PROVISIONING_CHARS_MAX} characters without control characters"),
        )
    })
}

/// The operator accepts instance `id` of a manually provisioned product.
pub async fn accept(
    s: &AppState,
    a: &Authed,
    id: i64,
    r: &Acceptance,
) -> ServiceResult<InstanceRecord> {
    a.allow(Permission::OrderManage)?;
    let now = s.clock.now_unix_ms();
    let opened = r.opened_ms.unwrap_or(now);
    if opened > now {
        return Err(ServiceError::invalid(
            "opened_ms",
            "must not be in the future",
        ));
    }
    let inst = s
        .store
        .get_instance(id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    visible_org(s, a, inst.org.get()).await?;
    if opened < inst.created_ms {
        return Err(ServiceError::invalid(
            "opened_ms",
            "must not be before the order",
        ));
    }
    let p = Provisioning {
        resource_id: prov_text(&r.resource_id, "resource_id")?,
        access_address: prov_text(&r.access_address, "access_address")?,
        opened_ms: opened,
    };
    Ok(s.store.accept_instance(id, &p, a.user.id, now).await?)
}

/// Every order (operator).
pub async fn list_all(
    s: &AppState,
    a: &Authed,
    page: super::Page,
) -> ServiceResult<Vec<OrderRecord>> {
    a.allow(Permission::OrderManage)?;
    Ok(s.store.list_orders(None, page.after, page.limit).await?)
}

/// Every instance (operator; pending ones await acceptance).
pub async fn list_all_instances(
    s: &AppState,
    a: &Authed,
    page: super::Page,
) -> ServiceResult<Vec<InstanceRecord>> {
    a.allow(Permission::OrderManage)?;
    Ok(s.store.list_instances(None, page.after, page.limit).await?)
}

/// Every instance waiting for the operator's acceptance (operator).
pub async fn pending_instances(
    s: &AppState,
    a: &Authed,
    limit: u32,
) -> ServiceResult<Vec<InstanceRecord>> {
    a.allow(Permission::OrderManage)?;
    Ok(s.store.pending_instances(limit).await?)
}

/// Advances up to [`LIFECYCLE_PAGE_MAX`] instances after `after` to the server clock's
/// now (reminders, expiry, release, usage charging, pause/resume).
pub async fn advance(s: &AppState, a: &Authed, after: Option<i64>) -> ServiceResult<AdvanceReport> {
    a.allow(Permission::OrderManage)?;
    let after = match after {
        None => 0,
        Some(v) if v >= 0 => v,
        Some(_) => {
            return Err(ServiceError::bad_query(
                "after",
                "after must not be negative",
            ));
        }
    };
    Ok(s.store
        .advance_lifecycle(
            s.clock.now_unix_ms(),
            &s.money.lifecycle,
            &suanli_platform_domain::instance::MeteredUsage,
            after,
            LIFECYCLE_PAGE_MAX,
        )
        .await?)
}

/// One line of a basket to price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    /// The spec.
    pub spec_id: i64,
    /// Prepaid or pay-as-you-go.
    pub mode: ChargingMode,
    /// Months (prepaid).
    pub months: u32,
    /// How many.
    pub quantity: u32,
}

/// A priced line: its spec and product (`None`: no longer orderable) and its price
/// (`None`: the strategy cannot price it).
#[derive(Debug, Clone)]
pub struct PricedLine {
    /// The published spec and its product.
    pub spec: Option<(SpecRecord, ProductRecord)>,
    /// The price.
    pub breakdown: Option<Breakdown>,
}

/// Prices a basket with the same pricing function the store charges with; three queries
/// whatever its size.
pub async fn quote_lines(
    s: &AppState,
    a: &Authed,
    lines: &[Line],
) -> ServiceResult<Vec<PricedLine>> {
    a.allow(Permission::OrderPlace)?;
    let products = s
        .store
        .list_products(true, 0, suanli_platform_store::PAGE_SIZE_MAX)
        .await?;
    let ids: Vec<i64> = products.iter().map(|p| p.id).collect();
    let specs = s.store.specs_of_products(&ids).await?;
    let discounts = s.store.list_discounts().await?;
    let priced = lines
        .iter()
        .map(|l| {
            let sp = specs.iter().find(|x| x.id == l.spec_id);
            let p = sp.and_then(|sp| products.iter().find(|p| p.id == sp.product_id));
            let (Some(sp), Some(p)) = (sp, p) else {
                return PricedLine {
                    spec: None,
                    breakdown: None,
                };
            };
            let breakdown = price(&QuoteRequest {
                pricing: &sp.pricing,
                mode: l.mode,
                months: l.months,
                quantity: l.quantity,
                customer: a.org.id,
                region: &p.region,
                discounts: &discounts,
                coupon: None,
            })
            .ok();
            PricedLine {
                spec: Some((sp.clone(), p.clone())),
                breakdown,
            }
        })
        .collect();
    Ok(priced)
}
