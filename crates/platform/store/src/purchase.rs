//! The one purchase body ([`crate::MoneyStore::place_order`]) for every backend.
//!
//! The domain decides (`suanli_platform_domain::orders`: coupon eligibility, price,
//! funding, shares, the instance's first status and term, whether the coupon is used up,
//! the balances after); [`purchase`] applies the decision through [`PurchaseWrites`],
//! which each backend implements: PostgreSQL inside its sqlx transaction
//! (`money_sql/pg_order.rs`), SQLite on the writer thread's own connection
//! (`sqlite_writer/ops.rs`), whose writes are synchronous, so the body runs to completion
//! in one poll there ([`run_ready`]) and the writer thread keeps its speed.

use crate::money::*;
use crate::money_sql::{OrderRow, jerr, key};
use crate::{StoreError, StoreResult};
use suanli_platform_domain::OrgId;
use suanli_platform_domain::journal::{
    Account, Balances, JournalTx, TxBuilder, TxKind, payment_tx,
};
use suanli_platform_domain::money::Fen;
use suanli_platform_domain::orders::{
    PurchasePlan, PurchaseRequest, StoredCoupon, eligible_coupon, plan_purchase,
};
use suanli_platform_domain::pricing::{ChargingMode, Discount};
use suanli_platform_domain::rejection::MoneyRejection;

/// The writes of a purchase, one implementation per backend, all inside the operation's
/// SQL transaction.
pub(crate) trait PurchaseWrites {
    /// The coupon stored under `code`, if any.
    async fn coupon(&mut self, code: &str) -> StoreResult<Option<StoredCoupon>>;
    /// Inserts a new instance (its `id` is ignored) and answers its id.
    async fn insert_instance(&mut self, inst: &InstanceRecord) -> StoreResult<i64>;
    /// Inserts the order row.
    async fn insert_order(&mut self, row: &OrderRow<'_>) -> StoreResult<OrderRecord>;
    /// Posts a journal transaction of the customer `org` for instance `instance`.
    async fn post(
        &mut self,
        jt: &JournalTx,
        org: OrgId,
        instance: i64,
        channel: &str,
        at_ms: i64,
    ) -> StoreResult<i64>;
    /// Records a bill item of a paid amount with its discount (none when both are zero).
    async fn bill_item(
        &mut self,
        inst: &InstanceRecord,
        kind: &str,
        amount: Fen,
        discount: Fen,
        at_ms: i64,
    ) -> StoreResult<()>;
    /// Opens a pending deposit hold and answers its id.
    async fn insert_hold(
        &mut self,
        org: OrgId,
        instance: i64,
        amount: Fen,
        at_ms: i64,
    ) -> StoreResult<i64>;
    /// Records the instance's hold.
    async fn set_hold(&mut self, instance: i64, hold: i64) -> StoreResult<()>;
    /// Marks the coupon used by `order`; `false` when another order used it first.
    async fn use_coupon(&mut self, coupon: i64, order: i64) -> StoreResult<bool>;
    /// Stores the operation's idempotency key with the order it answers.
    async fn idem_put(&mut self, key: &str, digest: &str, order: i64) -> StoreResult<()>;
}

/// What a purchase is applied from: the request, its idempotency key (already checked:
/// not a replay), the catalogue and the balances read under the customer's write lock.
pub(crate) struct PurchaseInput<'a> {
    /// The request.
    pub order: &'a PlaceOrder,
    /// The operation's idempotency key.
    pub idem: &'a str,
    /// The spec ordered.
    pub spec: &'a SpecRecord,
    /// Its product.
    pub product: &'a ProductRecord,
    /// Active discounts.
    pub discounts: &'a [Discount],
    /// The customer's balances.
    pub balances: &'a Balances,
}

/// A purchase: decides through the domain, then writes the instance, the order, the
/// payment (prepaid) or the deposit hold (pay-as-you-go), the bill item, the coupon's use
/// and the idempotency key.
pub(crate) async fn purchase<W: PurchaseWrites>(
    w: &mut W,
    p: &PurchaseInput<'_>,
) -> StoreResult<OrderOutcome> {
    let (o, c) = (p.order, &p.order.ctx);
    if !p.product.published {
        return Err(StoreError::NotFound);
    }
    let coupon = match &o.coupon {
        Some(code) => Some(eligible_coupon(w.coupon(code).await?, c.org, c.at_ms)?),
        None => None,
    };
    let plan = plan_purchase(&PurchaseRequest {
        customer: c.org,
        at_ms: c.at_ms,
        mode: o.mode,
        months: o.months,
        quantity: o.quantity,
        pricing: &p.spec.pricing,
        region: &p.product.region,
        supplier_share: p.product.supplier_share_bp,
        manual_provisioning: p.product.manual_provisioning,
        discounts: p.discounts,
        coupon: coupon.as_ref(),
        balances: p.balances,
    })?;
    let mut inst = new_instance(p, &plan);
    inst.id = w.insert_instance(&inst).await?;
    let b = &plan.breakdown;
    let order = w
        .insert_order(&OrderRow {
            ctx: c,
            kind: "purchase",
            inst: &inst,
            months: plan.months,
            breakdown: b,
            charged: b.total_fen,
            refunded: Fen::ZERO,
            funding: plan.funding,
        })
        .await?;
    let order_id = order.id;
    pay_or_hold(w, p, &plan, &mut inst, order_id).await?;
    if let Some(cp) = coupon.as_ref().filter(|_| plan.coupon_used)
        && !w.use_coupon(cp.id, order_id).await?
    {
        return Err(MoneyRejection::CouponUsed.into());
    }
    w.idem_put(p.idem, &c.digest, order_id).await?;
    Ok(OrderOutcome {
        order,
        instance: inst,
        balances: plan.balances_after,
        replayed: false,
    })
}

/// Pays a prepaid purchase from the balances (funding and shares of the plan) and bills
/// it, or freezes a pay-as-you-go purchase's deposit in a new hold.
async fn pay_or_hold<W: PurchaseWrites>(
    w: &mut W,
    p: &PurchaseInput<'_>,
    plan: &PurchasePlan,
    inst: &mut InstanceRecord,
    order_id: i64,
) -> StoreResult<()> {
    let c = &p.order.ctx;
    let b = &plan.breakdown;
    match p.order.mode {
        ChargingMode::Prepaid => {
            if !b.total_fen.is_zero() {
                let k = key(format!("order:{order_id}:pay"))?;
                let memo = format!("order {order_id}");
                let jt = payment_tx(
                    TxKind::Purchase,
                    k,
                    c.org,
                    p.product.supplier,
                    &plan.funding,
                    &plan.shares,
                    &memo,
                )
                .map_err(jerr)?;
                w.post(&jt, c.org, inst.id, "order", c.at_ms).await?;
            }
            w.bill_item(inst, "prepaid", b.total_fen, b.discount_fen(), c.at_ms)
                .await
        }
        ChargingMode::Payg => {
            let d = b.deposit_fen;
            let hold = w.insert_hold(c.org, inst.id, d, c.at_ms).await?;
            if !d.is_zero() {
                let jt = TxBuilder::new(TxKind::Hold)
                    .debit(Account::Cash(c.org), d)
                    .credit(Account::Frozen(c.org), d)
                    .build(
                        key(format!("hold:{hold}"))?,
                        &format!("deposit of order {order_id}"),
                    )
                    .map_err(jerr)?;
                w.post(&jt, c.org, inst.id, "frozen", c.at_ms).await?;
            }
            inst.hold_id = Some(hold);
            w.set_hold(inst.id, hold).await
        }
    }
}

/// The instance a purchase creates (id 0 until inserted).
fn new_instance(p: &PurchaseInput<'_>, plan: &PurchasePlan) -> InstanceRecord {
    let (o, c) = (p.order, &p.order.ctx);
    InstanceRecord {
        id: 0,
        org: c.org,
        user: c.user,
        product_id: p.product.id,
        spec_id: p.spec.id,
        supplier: p.product.supplier,
        mode: o.mode,
        quantity: o.quantity,
        status: plan.status,
        pricing: p.spec.pricing.clone(),
        supplier_share_bp: p.product.supplier_share_bp,
        anchor_ms: c.at_ms,
        months_total: plan.months,
        span_start_ms: c.at_ms,
        ends_ms: plan.ends_ms,
        paid: plan.funding,
        paid_shares: plan.shares,
        reminders_sent: 0,
        metered_ms: c.at_ms,
        usage_minutes: 0,
        usage_charged_fen: Fen::ZERO,
        usage_unpaid_fen: Fen::ZERO,
        hold_id: None,
        resource_id: None,
        access_address: None,
        opened_ms: None,
        accepted_by: None,
        created_ms: c.at_ms,
        released_ms: None,
    }
}

/// Runs a future whose awaits never wait (the writer thread's [`PurchaseWrites`] are
/// synchronous) to completion in one poll.
pub(crate) fn run_ready<T>(f: impl std::future::Future<Output = StoreResult<T>>) -> StoreResult<T> {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(r) => r,
        std::task::Poll::Pending => Err(StoreError::Backend(
            "a synchronous store operation waited".into(),
        )),
    }
}
