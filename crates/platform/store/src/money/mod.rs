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
use suanli_platform_domain::instance::{LifecycleSettings, UsageSource};
use suanli_platform_domain::journal::{Balances, IdemKey};
use suanli_platform_domain::money::{Bp, Fen};
use suanli_platform_domain::pricing::{Discount, DiscountScope, SpecPricing};
use suanli_platform_domain::{OrgId, UserId};

mod accounts;
mod bills;
mod catalogue;
mod orders;

pub use accounts::*;
pub use bills::*;
pub use catalogue::*;
pub use orders::*;

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
    /// Mirror instructions not yet sent and not marked failed (`TradeStore::mirror_failed`),
    /// oldest first.
    async fn mirror_pending(&self, limit: u32) -> StoreResult<Vec<MirrorRecord>>;
    /// Stores the signed chain transaction of a pending mirror instruction before it is
    /// submitted; refused ([`StoreError::NotFound`]) when one is already stored or the
    /// instruction was sent.
    async fn mirror_signed(&self, id: i64, signed_ref: &str, signed_tx: &str) -> StoreResult<()>;
    /// Marks a mirror instruction sent.
    async fn mirror_sent(&self, id: i64, sent_ref: &str, at_ms: i64) -> StoreResult<()>;
    /// Per customer: its cash balance in the journal — what its chain wallet must hold
    /// once the outbox is sent and its trades are followed (`docs/exchange.md` §1).
    async fn mirror_expected(&self) -> StoreResult<Vec<(OrgId, i64)>>;
}
