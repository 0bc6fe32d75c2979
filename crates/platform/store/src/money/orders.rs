//! Order and instance records: the order context, orders, instances, outcomes, the
//! lifecycle report, messages.

use serde::Serialize;
use suanli_platform_domain::instance::InstanceStatus;
use suanli_platform_domain::journal::{Balances, Funding, IdemKey, Shares};
use suanli_platform_domain::money::{Bp, Fen};
use suanli_platform_domain::pricing::{Breakdown, ChargingMode, SpecPricing};
use suanli_platform_domain::{OrgId, UserId};

/// Who asks for an order operation, with its idempotency key.
#[derive(Debug, Clone)]
pub struct OrderCtx {
    /// Client idempotency key.
    pub key: IdemKey,
    /// Digest of the request body (a replay must match it).
    pub digest: String,
    /// Customer.
    pub org: OrgId,
    /// User.
    pub user: UserId,
    /// When.
    pub at_ms: i64,
}

/// A new purchase.
#[derive(Debug, Clone)]
pub struct PlaceOrder {
    /// Context.
    pub ctx: OrderCtx,
    /// Spec.
    pub spec_id: i64,
    /// Mode.
    pub mode: ChargingMode,
    /// Months (prepaid).
    pub months: u32,
    /// Units.
    pub quantity: u32,
    /// Coupon code.
    pub coupon: Option<String>,
}

/// A stored order (purchase, renewal, change of spec or unsubscribe).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderRecord {
    /// Id.
    pub id: i64,
    /// Customer.
    pub org: OrgId,
    /// User.
    pub user: UserId,
    /// `purchase`, `renewal`, `change_spec`, `unsubscribe`.
    pub kind: String,
    /// Instance.
    pub instance_id: i64,
    /// Product.
    pub product_id: i64,
    /// Spec.
    pub spec_id: i64,
    /// Mode.
    pub mode: ChargingMode,
    /// Months.
    pub months: u32,
    /// Units.
    pub quantity: u32,
    /// Price breakdown with the pricing snapshot.
    pub breakdown: Breakdown,
    /// Charged now.
    pub charged_fen: Fen,
    /// Refunded now.
    pub refunded_fen: Fen,
    /// Discounts and coupon.
    pub discount_fen: Fen,
    /// Deposit frozen.
    pub deposit_fen: Fen,
    /// How the charge (or refund) was funded, by source.
    pub funding: Funding,
    /// When.
    pub created_ms: i64,
}

/// A stored instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceRecord {
    /// Id.
    pub id: i64,
    /// Customer.
    pub org: OrgId,
    /// The user who ordered it.
    pub user: UserId,
    /// Product.
    pub product_id: i64,
    /// Spec.
    pub spec_id: i64,
    /// Supplier.
    pub supplier: OrgId,
    /// Mode.
    pub mode: ChargingMode,
    /// Units.
    pub quantity: u32,
    /// Status.
    pub status: InstanceStatus,
    /// Pricing snapshot of the order.
    pub pricing: SpecPricing,
    /// Supplier share snapshot.
    pub supplier_share_bp: Bp,
    /// Start of the first term (end = anchor + months_total months).
    pub anchor_ms: i64,
    /// Months paid in total.
    pub months_total: u32,
    /// Start of the span the current payment covers.
    pub span_start_ms: i64,
    /// End of the paid term (prepaid).
    pub ends_ms: Option<i64>,
    /// What the current span was paid with.
    pub paid: Funding,
    /// How the current span's payment was shared.
    pub paid_shares: Shares,
    /// Reminders sent for the current term.
    pub reminders_sent: u32,
    /// Metered up to (pay-as-you-go).
    pub metered_ms: i64,
    /// Minutes used (pay-as-you-go).
    pub usage_minutes: u64,
    /// Usage charged so far.
    pub usage_charged_fen: Fen,
    /// Usage that could not be charged (owed).
    pub usage_unpaid_fen: Fen,
    /// Deposit hold.
    pub hold_id: Option<i64>,
    /// Provisioned resource id.
    pub resource_id: Option<String>,
    /// Access address.
    pub access_address: Option<String>,
    /// Opening time.
    pub opened_ms: Option<i64>,
    /// Operator who accepted it.
    pub accepted_by: Option<UserId>,
    /// Creation time.
    pub created_ms: i64,
    /// Release time.
    pub released_ms: Option<i64>,
}

/// What an order operation did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderOutcome {
    /// The order.
    pub order: OrderRecord,
    /// Its instance after the operation.
    pub instance: InstanceRecord,
    /// The customer's balances after it.
    pub balances: Balances,
    /// Whether this was an idempotent replay of an earlier request.
    pub replayed: bool,
}

/// Provisioning details filled back by the operator.
#[derive(Debug, Clone)]
pub struct Provisioning {
    /// Resource id at the supplier.
    pub resource_id: String,
    /// How the customer reaches it.
    pub access_address: String,
    /// When it opened.
    pub opened_ms: i64,
}

/// What one lifecycle pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AdvanceReport {
    /// Instances looked at.
    pub examined: u32,
    /// Status changes.
    pub transitions: u32,
    /// Reminders and notices stored.
    pub messages: u32,
    /// Pay-as-you-go instances paused for lack of balance.
    pub paused: u32,
    /// Paused instances resumed.
    pub resumed: u32,
    /// Usage charged.
    pub usage_charged_fen: i64,
    /// Set when the batch was full, so more live instances may remain: pass it as `after`
    /// to continue the pass. `None` when the pass reached the end.
    pub next_after: Option<i64>,
}

/// A stored message for a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageRecord {
    /// Id.
    pub id: i64,
    /// Customer.
    pub org: OrgId,
    /// Instance.
    pub instance_id: Option<i64>,
    /// Text.
    pub body: String,
    /// When.
    pub created_ms: i64,
}
