//! The money half of the store: catalogue, journal, accounts, payments, orders, instances,
//! bills. [`MoneyStore`] is a supertrait of [`crate::OpsStore`], implemented for both
//! backends by one macro body (`money_sql.rs`).
//!
//! Every method that moves money is one SQL transaction holding the journal transaction(s)
//! *and* the order/instance/payment change they belong to: a crash loses nothing that was
//! acknowledged and never leaves half of one. Writers of one customer are serialised
//! (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: a transaction-scoped advisory lock on the
//! organisation id), so the balances read to split a payment are the balances it is posted
//! against.

use crate::StoreResult;
use serde::Serialize;
use suanli_platform_domain::instance::{InstanceStatus, LifecycleSettings, UsageSource};
use suanli_platform_domain::journal::{Balances, Funding, IdemKey, Shares};
use suanli_platform_domain::money::{Bp, Fen};
use suanli_platform_domain::pricing::{
    Breakdown, ChargingMode, CouponValue, Discount, DiscountScope, SpecPricing,
};
use suanli_platform_domain::{OrgId, UserId};

/// A product category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CategoryRecord {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Creation time.
    pub created_ms: i64,
}

/// A new product.
#[derive(Debug, Clone)]
pub struct NewProduct {
    /// Category.
    pub category_id: i64,
    /// Name.
    pub name: String,
    /// The supplier organisation behind it.
    pub supplier: OrgId,
    /// Region (for regional discounts).
    pub region: String,
    /// Whether an operator provisions each order by hand (acceptance).
    pub manual_provisioning: bool,
    /// The supplier's share of every payment.
    pub supplier_share: Bp,
    /// Creation time.
    pub at_ms: i64,
}

/// A stored product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductRecord {
    /// Id.
    pub id: i64,
    /// Category.
    pub category_id: i64,
    /// Name.
    pub name: String,
    /// Supplier organisation.
    pub supplier: OrgId,
    /// Region.
    pub region: String,
    /// Manual provisioning.
    pub manual_provisioning: bool,
    /// Supplier share in basis points.
    pub supplier_share_bp: Bp,
    /// Whether customers can see and order it.
    pub published: bool,
    /// Creation time.
    pub created_ms: i64,
}

/// A new spec of a product.
#[derive(Debug, Clone)]
pub struct NewSpec {
    /// Product.
    pub product_id: i64,
    /// Spec family (e.g. `gpu-a100`).
    pub family: String,
    /// Spec name (e.g. `8x80GB`).
    pub name: String,
    /// Pricing strategies.
    pub pricing: SpecPricing,
    /// Creation time.
    pub at_ms: i64,
}

/// A stored spec with its current pricing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpecRecord {
    /// Id.
    pub id: i64,
    /// Product.
    pub product_id: i64,
    /// Family.
    pub family: String,
    /// Name.
    pub name: String,
    /// Current pricing.
    pub pricing: SpecPricing,
    /// Pricing version (1, then +1 per change).
    pub version: i64,
    /// Creation time.
    pub created_ms: i64,
}

/// A new coupon.
#[derive(Debug, Clone)]
pub struct NewCoupon {
    /// Code.
    pub code: String,
    /// Restricted to one customer, or anyone.
    pub org: Option<OrgId>,
    /// Value.
    pub value: CouponValue,
    /// Minimum spend.
    pub min_spend: Fen,
    /// Expiry.
    pub expires_ms: i64,
    /// Creation time.
    pub at_ms: i64,
}

/// A stored coupon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CouponRecord {
    /// Id.
    pub id: i64,
    /// Code.
    pub code: String,
    /// Restricted to.
    pub org: Option<OrgId>,
    /// Value.
    pub value: CouponValue,
    /// Minimum spend.
    pub min_spend_fen: Fen,
    /// Expiry.
    pub expires_ms: i64,
    /// The order that used it.
    pub used_order_id: Option<i64>,
    /// Creation time.
    pub created_ms: i64,
}

/// One statement line: a movement of one of a customer's accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementLine {
    /// Journal line id.
    pub id: i64,
    /// Journal transaction id.
    pub tx_id: i64,
    /// When.
    pub at_ms: i64,
    /// `recharge`, `deduction`, `consumption` or `refund`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The journal transaction kind.
    pub tx_kind: String,
    /// `sandbox`, `offline`, `cash`, `voucher`, `credit`, `frozen`.
    pub channel: String,
    /// Which account (`cash`, `voucher`, `credit`, `frozen`).
    pub account: String,
    /// Signed change of that account's balance.
    pub amount_fen: i64,
    /// That account's balance after the line.
    pub balance_after_fen: i64,
    /// Memo.
    pub memo: String,
    /// Instance, if any.
    pub instance_id: Option<i64>,
}

/// A recharge through a payment provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentRecord {
    /// Id.
    pub id: i64,
    /// Customer.
    pub org: OrgId,
    /// Who started it.
    pub user: UserId,
    /// Provider name (`sandbox`).
    pub provider: String,
    /// The provider's reference.
    pub provider_ref: String,
    /// Amount.
    pub amount_fen: Fen,
    /// `pending` or `confirmed`.
    pub status: String,
    /// Creation time.
    pub created_ms: i64,
    /// Confirmation time.
    pub confirmed_ms: Option<i64>,
    /// The recharge's journal transaction.
    pub journal_tx_id: Option<i64>,
}

/// Direction of an offline transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Money in (offline recharge, e.g. bank transfer).
    In,
    /// Money out (withdrawal to the customer's bank).
    Out,
}

impl Direction {
    /// Stable text.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

/// What a finance grant changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantKind {
    /// A cash voucher granted to the customer (amount = the voucher).
    Voucher,
    /// The customer's credit line set (amount = the new limit).
    CreditLine,
}

impl GrantKind {
    /// Stable text.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantKind::Voucher => "voucher",
            GrantKind::CreditLine => "credit_line",
        }
    }
    /// Parses [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [GrantKind::Voucher, GrantKind::CreditLine]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A voucher grant or credit-line change asked for by a finance user
/// ([`MoneyStore::request_grant`]).
#[derive(Debug, Clone)]
pub struct GrantRequest {
    /// Customer.
    pub org: OrgId,
    /// Voucher or credit line.
    pub kind: GrantKind,
    /// The voucher amount, or the new credit limit.
    pub amount: Fen,
    /// The client's idempotency key (vouchers).
    pub key: Option<IdemKey>,
    /// The finance user asking.
    pub by: UserId,
    /// When.
    pub at_ms: i64,
    /// Start of the (CST) day from which the user's vouchers granted alone are counted.
    pub day_start_ms: i64,
    /// What the user may do without a second approver: vouchers granted alone since
    /// `day_start_ms`, this one included, up to this; a credit line up to this.
    pub alone_max: Fen,
}

/// A stored grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GrantRecord {
    /// Id.
    pub id: i64,
    /// Customer.
    pub org: OrgId,
    /// Voucher or credit line.
    pub kind: GrantKind,
    /// The voucher amount, or the new credit limit.
    pub amount_fen: Fen,
    /// The client's idempotency key (vouchers).
    pub idem_key: Option<String>,
    /// Who asked.
    pub entered_by: UserId,
    /// When.
    pub entered_ms: i64,
    /// `alone` (within the user's limit, done), `pending` (waits for a second finance
    /// user), `approved` (done by the second user).
    pub status: String,
    /// Who approved.
    pub decided_by: Option<UserId>,
    /// When.
    pub decided_ms: Option<i64>,
}

/// A grant and, when it took effect, the customer's balances after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GrantOutcome {
    /// The grant.
    pub grant: GrantRecord,
    /// Balances after it; `None` while it waits for approval.
    pub balances: Option<Balances>,
}

/// A new offline transfer entered by finance.
#[derive(Debug, Clone)]
pub struct NewOffline {
    /// Customer.
    pub org: OrgId,
    /// In or out.
    pub direction: Direction,
    /// Amount.
    pub amount: Fen,
    /// Bank reference.
    pub reference: String,
    /// Who entered it.
    pub entered_by: UserId,
    /// When.
    pub at_ms: i64,
}

/// A stored offline transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfflineRecord {
    /// Id.
    pub id: i64,
    /// Customer.
    pub org: OrgId,
    /// In or out.
    pub direction: Direction,
    /// Amount.
    pub amount_fen: Fen,
    /// Bank reference.
    pub reference: String,
    /// Entered by.
    pub entered_by: UserId,
    /// Entered at.
    pub entered_ms: i64,
    /// `pending` or `approved`.
    pub status: String,
    /// Approved by (never the one who entered it).
    pub decided_by: Option<UserId>,
    /// Approved at.
    pub decided_ms: Option<i64>,
    /// Its journal transaction.
    pub journal_tx_id: Option<i64>,
}

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

/// Bill filters.
#[derive(Debug, Clone, Default)]
pub struct BillFilter {
    /// Period start (inclusive).
    pub from_ms: i64,
    /// Period end (exclusive).
    pub to_ms: i64,
    /// One customer.
    pub org: Option<OrgId>,
    /// One ordering user.
    pub user: Option<UserId>,
    /// One product.
    pub product: Option<i64>,
    /// One charging mode.
    pub mode: Option<ChargingMode>,
    /// Only lines after this one in the order (customer, product, mode): the cursor of the
    /// next page (the last line of the previous page).
    pub after: Option<BillKey>,
    /// Lines per page; `None` (and anything above it) is [`crate::PAGE_SIZE_MAX`].
    pub limit: Option<u32>,
}

/// Where a bill line sits in the order of a bill: customer, product, charging mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillKey {
    /// Customer.
    pub org_id: i64,
    /// Product.
    pub product_id: i64,
    /// Charging mode (`prepaid`, `payg`).
    pub mode: String,
}

impl BillLine {
    /// This line's position (the cursor for the page after it).
    pub fn key(&self) -> BillKey {
        BillKey {
            org_id: self.org_id,
            product_id: self.product_id,
            mode: self.mode.clone(),
        }
    }
}

/// One bill line: a customer × product × charging mode in a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BillLine {
    /// Customer.
    pub org_id: i64,
    /// Product.
    pub product_id: i64,
    /// Mode.
    pub mode: String,
    /// Prepaid charges (purchases, renewals, changes of spec).
    pub prepaid_fen: i64,
    /// Pay-as-you-go usage charged.
    pub usage_fen: i64,
    /// Refunds.
    pub refund_fen: i64,
    /// Discounts and coupons applied.
    pub discount_fen: i64,
    /// Usage that could not be charged (owed).
    pub unpaid_fen: i64,
    /// prepaid + usage − refunds + unpaid.
    pub amount_due_fen: i64,
}

/// A settlement-credit mirror instruction (mint on money in, burn on money out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MirrorRecord {
    /// Id.
    pub id: i64,
    /// The journal transaction mirrored.
    pub journal_tx_id: i64,
    /// Customer.
    pub org: OrgId,
    /// `mint` or `burn`.
    pub op: String,
    /// Amount.
    pub amount_fen: Fen,
    /// The chain transaction that carried it, once sent.
    pub sent_ref: Option<String>,
    /// The chain transaction signed for it (reference), stored before it is submitted.
    pub signed_ref: Option<String>,
    /// That signed transaction, encoded (hex): what a retry submits again.
    pub signed_tx: Option<String>,
}

/// The money half of the store.
#[async_trait::async_trait]
pub trait MoneyStore: Send + Sync {
    // --- catalogue
    /// Creates a category.
    async fn create_category(&self, name: &str, at_ms: i64) -> StoreResult<CategoryRecord>;
    /// All categories.
    async fn list_categories(&self) -> StoreResult<Vec<CategoryRecord>>;
    /// The specs of these products (at most [`crate::PAGE_SIZE_MAX`] product ids), by
    /// product then id: one query for a page of products.
    async fn specs_of_products(&self, product_ids: &[i64]) -> StoreResult<Vec<SpecRecord>>;
    /// Orders created in `[from_ms, to_ms)` counted per China-Standard-Time day: (the
    /// day's start in ms, count), by day.
    async fn order_counts_by_day(&self, from_ms: i64, to_ms: i64) -> StoreResult<Vec<(i64, i64)>>;
    /// Instances counted by status: (status, count), by status.
    async fn instance_counts_by_status(&self) -> StoreResult<Vec<(String, i64)>>;
    /// Creates an (unpublished) product.
    async fn create_product(&self, p: &NewProduct) -> StoreResult<ProductRecord>;
    /// One product.
    async fn get_product(&self, id: i64) -> StoreResult<Option<ProductRecord>>;
    /// Products by id after `after`; only published ones when `published_only`.
    async fn list_products(
        &self,
        published_only: bool,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<ProductRecord>>;
    /// Publishes or unpublishes a product.
    async fn set_product_published(&self, id: i64, published: bool) -> StoreResult<()>;
    /// Adds a spec.
    async fn create_spec(&self, s: &NewSpec) -> StoreResult<SpecRecord>;
    /// One spec.
    async fn get_spec(&self, id: i64) -> StoreResult<Option<SpecRecord>>;
    /// A product's specs.
    async fn list_specs(&self, product_id: i64) -> StoreResult<Vec<SpecRecord>>;
    /// Replaces a spec's pricing (orders already placed keep their snapshot).
    async fn set_spec_pricing(&self, id: i64, pricing: &SpecPricing) -> StoreResult<SpecRecord>;
    /// Creates a discount rule.
    async fn create_discount(
        &self,
        scope: &DiscountScope,
        off: Bp,
        at_ms: i64,
    ) -> StoreResult<Discount>;
    /// Active discount rules.
    async fn list_discounts(&self) -> StoreResult<Vec<Discount>>;
    /// Creates a coupon.
    async fn create_coupon(&self, c: &NewCoupon) -> StoreResult<CouponRecord>;

    // --- accounts
    /// A customer's balances.
    async fn balances(&self, org: OrgId) -> StoreResult<Balances>;
    /// Sets a customer's credit line.
    async fn set_credit_line(
        &self,
        org: OrgId,
        limit: Fen,
        by: UserId,
        at_ms: i64,
    ) -> StoreResult<Balances>;
    /// Grants a cash voucher (idempotent on `key`).
    async fn grant_voucher(
        &self,
        org: OrgId,
        amount: Fen,
        key: &IdemKey,
        at_ms: i64,
    ) -> StoreResult<Balances>;
    /// A customer's statement lines, newest last, after line id `after`.
    async fn statements(
        &self,
        org: OrgId,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<StatementLine>>;
    /// Every account's balance computed from the journal lines (not the projection).
    async fn journal_balances(&self) -> StoreResult<Vec<(String, i64)>>;
    /// Accounts whose projected balance differs from the journal (should be none).
    async fn check_projection(&self) -> StoreResult<Vec<String>>;
    /// Reverses journal transaction `tx_id` with a new, mirrored transaction (the only
    /// way to correct the journal). Idempotent on `key`. A transaction is reversed at most
    /// once ([`StoreError::AlreadyReversed`]) and a reversal never
    /// ([`StoreError::ReversalOfReversal`]).
    async fn reverse_journal_tx(&self, tx_id: i64, key: &IdemKey, at_ms: i64) -> StoreResult<i64>;

    // --- recharge
    /// Records a payment started with a provider.
    async fn create_payment(
        &self,
        org: OrgId,
        user: UserId,
        provider: &str,
        provider_ref: &str,
        amount: Fen,
        at_ms: i64,
    ) -> StoreResult<PaymentRecord>;
    /// One payment.
    async fn get_payment(&self, id: i64) -> StoreResult<Option<PaymentRecord>>;
    /// Confirms a payment (provider callback): posts the recharge once; a repeated
    /// confirmation returns the confirmed payment unchanged. The amount must match.
    async fn confirm_payment(
        &self,
        provider: &str,
        provider_ref: &str,
        amount: Fen,
        at_ms: i64,
    ) -> StoreResult<PaymentRecord>;
    /// Enters an offline transfer (pending until approved).
    async fn create_offline(&self, n: &NewOffline) -> StoreResult<OfflineRecord>;
    /// Approves a pending offline transfer by someone other than who entered it and posts
    /// it. [`crate::StoreError::Rejected`] for the same user.
    async fn approve_offline(&self, id: i64, by: UserId, at_ms: i64) -> StoreResult<OfflineRecord>;
    /// Offline transfers by id after `after`.
    async fn list_offline(&self, after: i64, limit: u32) -> StoreResult<Vec<OfflineRecord>>;
    /// A voucher grant or credit-line change: done at once when within the user's limit
    /// (`alone_max`), otherwise stored pending a second finance user's approval. Voucher
    /// requests are idempotent on their key (the same key answers the same grant).
    async fn request_grant(&self, g: &GrantRequest) -> StoreResult<GrantOutcome>;
    /// Approves a pending grant by a finance user other than the one who asked (four
    /// eyes, also a `CHECK` in the schema) and carries it out.
    async fn approve_grant(&self, id: i64, by: UserId, at_ms: i64) -> StoreResult<GrantOutcome>;
    /// Grants by id after `after`.
    async fn list_grants(&self, after: i64, limit: u32) -> StoreResult<Vec<GrantRecord>>;
    /// Offline transfers for a work list: the pending ones first (oldest first), then the
    /// newest decided ones.
    async fn offline_worklist(&self, limit: u32) -> StoreResult<Vec<OfflineRecord>>;
    /// Grants for a work list: the pending ones first (oldest first), then the newest.
    async fn grant_worklist(&self, limit: u32) -> StoreResult<Vec<GrantRecord>>;

    // --- orders and instances
    /// A new purchase.
    async fn place_order(&self, o: &PlaceOrder) -> StoreResult<OrderOutcome>;
    /// Renews a prepaid instance for `months` at the snapshot price.
    async fn renew(&self, c: &OrderCtx, instance: i64, months: u32) -> StoreResult<OrderOutcome>;
    /// Unsubscribes: prorated refund (prepaid) or final usage (metered by
    /// [`suanli_platform_domain::instance::MeteredUsage`]) and deposit release (pay-as-you-go); the
    /// instance is released.
    async fn unsubscribe(&self, c: &OrderCtx, instance: i64) -> StoreResult<OrderOutcome>;
    /// Changes a prepaid instance to another spec of the same product for the rest of its
    /// term: prorated refund of the old, prorated charge of the new.
    async fn change_spec(
        &self,
        c: &OrderCtx,
        instance: i64,
        spec: i64,
    ) -> StoreResult<OrderOutcome>;
    /// Operator acceptance of a pending (manual) instance.
    async fn accept_instance(
        &self,
        id: i64,
        p: &Provisioning,
        by: UserId,
        at_ms: i64,
    ) -> StoreResult<InstanceRecord>;
    /// One instance.
    async fn get_instance(&self, id: i64) -> StoreResult<Option<InstanceRecord>>;
    /// Instances of a customer (or all), by id after `after`.
    async fn list_instances(
        &self,
        org: Option<OrgId>,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<InstanceRecord>>;
    /// Instances waiting for the supplier's acceptance (status `pending`), oldest first.
    async fn pending_instances(&self, limit: u32) -> StoreResult<Vec<InstanceRecord>>;
    /// Orders of a customer (or all), by id after `after`.
    async fn list_orders(
        &self,
        org: Option<OrgId>,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<OrderRecord>>;
    /// Advances one batch of live instances to `now` — those with id above `after`, at
    /// most `limit` (capped at [`crate::PAGE_SIZE_MAX`]), in id order: reminders, expiry,
    /// release, usage metering and charging, pause and resume. The report's `next_after`
    /// says whether more may remain and where to continue.
    async fn advance_lifecycle(
        &self,
        now_ms: i64,
        settings: &LifecycleSettings,
        usage: &dyn UsageSource,
        after: i64,
        limit: u32,
    ) -> StoreResult<AdvanceReport>;
    /// A customer's messages.
    async fn list_messages(
        &self,
        org: OrgId,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<MessageRecord>>;
    /// A customer's newest messages, newest first (the console's overview).
    async fn recent_messages(&self, org: OrgId, limit: u32) -> StoreResult<Vec<MessageRecord>>;

    // --- bills and the chain mirror
    /// Bill lines for a period: one page (`f.limit`, after `f.after`) in the order
    /// customer, product, charging mode.
    async fn bills(&self, f: &BillFilter) -> StoreResult<Vec<BillLine>>;
    /// Mirror instructions not yet sent, oldest first.
    async fn mirror_pending(&self, limit: u32) -> StoreResult<Vec<MirrorRecord>>;
    /// Stores the signed chain transaction of a pending mirror instruction before it is
    /// submitted; refused ([`StoreError::NotFound`]) when one is already stored or the
    /// instruction was sent.
    async fn mirror_signed(&self, id: i64, signed_ref: &str, signed_tx: &str) -> StoreResult<()>;
    /// Marks a mirror instruction sent.
    async fn mirror_sent(&self, id: i64, sent_ref: &str, at_ms: i64) -> StoreResult<()>;
    /// Per customer: money in − money out in the journal (what the chain must hold).
    async fn mirror_expected(&self) -> StoreResult<Vec<(OrgId, i64)>>;
}
