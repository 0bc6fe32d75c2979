//! [`MoneyStore`] for both backends from one macro per section (same SQL text). Only the
//! transaction start differs: SQLite serialises money writers on the store's write lock
//! and `BEGIN IMMEDIATE`; PostgreSQL takes a transaction-scoped advisory lock on the
//! customer organisation.

mod supplier_money; // issue 16, supplier money
pub(crate) mod trades; // issue 18, trades

use crate::decode;
use crate::money::*;
use crate::posting;
use crate::sql::{db_err, limit_of};
use crate::{PgStore, SqliteStore, StoreError, StoreResult};
use sqlx::Row;
use suanli_platform_domain::instance::{
    InstanceStatus, LifecycleSettings, UsageSource, payg_due, step_prepaid,
};
use suanli_platform_domain::journal::{
    Account, Balances, Funding, IdemKey, JournalError, JournalTx, Line, Shares, Side, TxBuilder,
    TxKind, fund, payment_tx, recharge_tx, refund_tx, withdrawal_tx,
};
use suanli_platform_domain::money::{Bp, Fen, MoneyError, add_months};
use suanli_platform_domain::orders::{
    RenewalFacts, RenewalRequest, check_renewal_months, fund_and_share, plan_renewal,
    refund_destination, rest_of_term_charge, span_refund,
};
use suanli_platform_domain::pricing::{
    Breakdown, ChargingMode, Discount, DiscountScope, QuoteRequest, SpecPricing, quote,
};
use suanli_platform_domain::proration::{add_shares, shares_of, sub_shares};
use suanli_platform_domain::rejection::MoneyRejection;
use suanli_platform_domain::{OrgId, UserId};

pub(crate) fn cor(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}
/// A journal refusal as the typed money rejection it is.
pub(crate) fn jerr(e: JournalError) -> StoreError {
    StoreError::Money(e.into())
}
/// An arithmetic refusal as the typed money rejection it is.
pub(crate) fn merr(e: MoneyError) -> StoreError {
    StoreError::Money(MoneyRejection::Amount(e))
}
pub(crate) fn fen(v: i64) -> StoreResult<Fen> {
    Fen::new(v).map_err(cor)
}
pub(crate) fn oid(v: i64) -> StoreResult<OrgId> {
    OrgId::new(v).ok_or_else(|| cor("org id"))
}
pub(crate) fn uid(v: i64) -> StoreResult<UserId> {
    UserId::new(v).ok_or_else(|| cor("user id"))
}
/// A journal key derived from a client's key: a prefixed client key can exceed the key
/// limit, so long ones are replaced by their SHA-256 (still unique and deterministic).
pub(crate) fn key(s: String) -> StoreResult<IdemKey> {
    if s.len() <= suanli_platform_domain::journal::IDEM_KEY_CHARS_MAX {
        return IdemKey::parse(&s).map_err(cor);
    }
    use sha2::Digest;
    IdemKey::parse(&format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(s.as_bytes()))
    ))
    .map_err(cor)
}
pub(crate) fn u32_of(v: i64) -> StoreResult<u32> {
    u32::try_from(v).map_err(cor)
}
pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(cor)
}
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> StoreResult<T> {
    serde_json::from_str(s).map_err(cor)
}

macro_rules! col {
    ($r:expr, $c:literal) => {
        $r.try_get($c).map_err(cor)?
    };
}

pub(crate) const PRODUCT_COLS: &str = "id, category_id, name, supplier_org_id, region, manual_provisioning, \
     supplier_share_bp, published, created_ms";
pub(crate) const SPEC_COLS: &str = "id, product_id, family, name, pricing, version, created_ms";
pub(crate) const INST_COLS: &str = "id, org_id, user_id, product_id, spec_id, supplier_org_id, mode, quantity, \
     status, pricing, supplier_share_bp, anchor_ms, months_total, span_start_ms, ends_ms, \
     paid_cash_fen, paid_voucher_fen, paid_credit_fen, paid_supplier_fen, paid_operator_fen, \
     reminders_sent, metered_ms, usage_minutes, usage_charged_fen, usage_unpaid_fen, hold_id, \
     resource_id, access_address, opened_ms, accepted_by, created_ms, released_ms";
pub(crate) const ORDER_COLS: &str = "id, org_id, user_id, kind, instance_id, product_id, spec_id, mode, \
     months, quantity, breakdown, charged_fen, refunded_fen, discount_fen, deposit_fen, cash_fen, \
     voucher_fen, credit_fen, created_ms";
/// Work lists (offline transfers, grants): what waits for a decision first, oldest first,
/// then the decided ones, newest first.
const WORKLIST_ORDER: &str = "ORDER BY CASE WHEN status = 'pending' THEN 0 ELSE 1 END, \
     CASE WHEN status = 'pending' THEN id ELSE -id END";
const OFFLINE_COLS: &str = "id, org_id, direction, amount_fen, reference, entered_by, entered_ms, \
     status, decided_by, decided_ms, journal_tx_id";
const PAYMENT_COLS: &str = "id, org_id, user_id, provider, provider_ref, amount_fen, status, \
     created_ms, confirmed_ms, journal_tx_id";

const GRANT_COLS: &str = "id, org_id, kind, amount_fen, idem_key, entered_by, entered_ms, status, \
     decided_by, decided_ms";

/// Live statuses the lifecycle pass looks at.
const LIVE: &str = "('active', 'expiring', 'expired', 'paused')";

/// What an order operation writes into the `orders` row.
pub(crate) struct OrderRow<'a> {
    /// Who asks, when.
    pub ctx: &'a OrderCtx,
    /// `purchase`, `renewal`, `change_spec`, `unsubscribe`.
    pub kind: &'a str,
    /// The instance (after the operation).
    pub inst: &'a InstanceRecord,
    /// Months paid.
    pub months: u32,
    /// The price breakdown.
    pub breakdown: &'a Breakdown,
    /// Charged now.
    pub charged: Fen,
    /// Refunded now.
    pub refunded: Fen,
    /// How the charge (or refund) was funded.
    pub funding: Funding,
}

impl OrderRow<'_> {
    /// The stored order once inserted as `id`.
    pub(crate) fn record(&self, id: i64) -> OrderRecord {
        OrderRecord {
            id,
            org: self.ctx.org,
            user: self.ctx.user,
            kind: self.kind.to_owned(),
            instance_id: self.inst.id,
            product_id: self.inst.product_id,
            spec_id: self.inst.spec_id,
            mode: self.inst.mode,
            months: self.months,
            quantity: self.breakdown.quantity,
            breakdown: self.breakdown.clone(),
            charged_fen: self.charged,
            refunded_fen: self.refunded,
            discount_fen: self.breakdown.discount_fen(),
            deposit_fen: self.breakdown.deposit_fen,
            funding: self.funding,
            created_ms: self.ctx.at_ms,
        }
    }
}

/// A journal posting's writes inside a sqlx transaction (`crate::posting`).
pub(crate) struct SqlxJournal<'t, DB: sqlx::Database> {
    tx: &'t mut sqlx::Transaction<'static, DB>,
}

/// The columns of a coupon as its eligibility is decided (`decode::stored_coupon`).
pub(crate) const COUPON_COLS: &str =
    "id, code, org_id, value, min_spend_fen, expires_ms, used_order_id";
/// A new instance: every column but the id, `$1..$21` bound from the record
/// (`purchase::PurchaseWrites::insert_instance`); SQLite's writer runs it with `?n`.
pub(crate) const INSERT_INSTANCE: &str = "INSERT INTO instances (org_id, user_id, product_id, \
     spec_id, supplier_org_id, mode, quantity, status, pricing, supplier_share_bp, anchor_ms, \
     months_total, span_start_ms, ends_ms, paid_cash_fen, paid_voucher_fen, paid_credit_fen, \
     paid_supplier_fen, paid_operator_fen, reminders_sent, metered_ms, usage_minutes, \
     usage_charged_fen, usage_unpaid_fen, hold_id, resource_id, access_address, opened_ms, \
     accepted_by, created_ms, released_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
     $11, $12, $13, $14, $15, $16, $17, $18, $19, 0, $20, 0, 0, 0, NULL, NULL, NULL, NULL, \
     NULL, $21, NULL) RETURNING id";

#[macro_use]
mod journal;
#[macro_use]
mod steps;
#[macro_use]
mod catalogue;
#[macro_use]
mod accounts;
#[macro_use]
mod recharge;
#[macro_use]
mod orders;
#[macro_use]
mod bills;
mod pg_order;

macro_rules! money_store {
    ($Store:ident, $Row:ty, $Db:ty, $begin:literal, $lock:literal) => {
        impl $Store {
            async fn m_begin(
                &self,
                org: Option<OrgId>,
            ) -> StoreResult<(
                Option<tokio::sync::MutexGuard<'_, ()>>,
                sqlx::Transaction<'static, $Db>,
            )> {
                let guard = self.write_guard().await;
                let mut tx = self.pool.begin_with($begin).await.map_err(db_err)?;
                if let Some(o) = org {
                    Self::m_lock(&mut tx, o).await?;
                }
                Ok((guard, tx))
            }

            async fn m_lock(
                tx: &mut sqlx::Transaction<'static, $Db>,
                org: OrgId,
            ) -> StoreResult<()> {
                if !$lock.is_empty() {
                    sqlx::query($lock)
                        .bind(org.get())
                        .execute(&mut **tx)
                        .await
                        .map_err(db_err)?;
                }
                Ok(())
            }
        }

        money_journal!($Store, $Row, $Db, $lock);
        money_steps!($Store, $Row, $Db, $lock);
        money_catalogue!($Store, $Row, $Db, $lock);
        money_accounts!($Store, $Row, $Db, $lock);
        money_recharge!($Store, $Row, $Db, $lock);
        money_orders!($Store, $Row, $Db, $lock);
        money_bills!($Store, $Row, $Db, $lock);

        // The trait's methods are the inherent ones of the section files above.
        #[async_trait::async_trait]
        impl MoneyStore for $Store {
            async fn create_category(&self, name: &str, at_ms: i64) -> StoreResult<CategoryRecord> {
                $Store::create_category(self, name, at_ms).await
            }

            async fn list_categories(&self) -> StoreResult<Vec<CategoryRecord>> {
                $Store::list_categories(self).await
            }

            async fn create_product(&self, p: &NewProduct) -> StoreResult<ProductRecord> {
                $Store::create_product(self, p).await
            }

            async fn get_product(&self, id: i64) -> StoreResult<Option<ProductRecord>> {
                $Store::get_product(self, id).await
            }

            async fn list_products(
                &self,
                published_only: bool,
                after: i64,
                limit: u32,
            ) -> StoreResult<Vec<ProductRecord>> {
                $Store::list_products(self, published_only, after, limit).await
            }

            async fn set_product_published(&self, id: i64, published: bool) -> StoreResult<()> {
                $Store::set_product_published(self, id, published).await
            }

            async fn create_spec(&self, s: &NewSpec) -> StoreResult<SpecRecord> {
                $Store::create_spec(self, s).await
            }

            async fn get_spec(&self, id: i64) -> StoreResult<Option<SpecRecord>> {
                $Store::get_spec(self, id).await
            }

            async fn list_specs(&self, product_id: i64) -> StoreResult<Vec<SpecRecord>> {
                $Store::list_specs(self, product_id).await
            }

            async fn specs_of_products(&self, product_ids: &[i64]) -> StoreResult<Vec<SpecRecord>> {
                $Store::specs_of_products(self, product_ids).await
            }

            async fn order_counts_by_day(
                &self,
                from_ms: i64,
                to_ms: i64,
            ) -> StoreResult<Vec<(i64, i64)>> {
                $Store::order_counts_by_day(self, from_ms, to_ms).await
            }

            async fn instance_counts_by_status(&self) -> StoreResult<Vec<(String, i64)>> {
                $Store::instance_counts_by_status(self).await
            }

            async fn set_spec_pricing(
                &self,
                id: i64,
                pricing: &SpecPricing,
            ) -> StoreResult<SpecRecord> {
                $Store::set_spec_pricing(self, id, pricing).await
            }

            async fn create_discount(
                &self,
                scope: &DiscountScope,
                off: Bp,
                at_ms: i64,
            ) -> StoreResult<Discount> {
                $Store::create_discount(self, scope, off, at_ms).await
            }

            async fn list_discounts(&self) -> StoreResult<Vec<Discount>> {
                $Store::list_discounts(self).await
            }

            async fn create_coupon(&self, c: &NewCoupon) -> StoreResult<CouponRecord> {
                $Store::create_coupon(self, c).await
            }

            async fn balances(&self, org: OrgId) -> StoreResult<Balances> {
                $Store::balances(self, org).await
            }

            async fn set_credit_line(
                &self,
                org: OrgId,
                limit: Fen,
                by: UserId,
                at_ms: i64,
            ) -> StoreResult<Balances> {
                $Store::set_credit_line(self, org, limit, by, at_ms).await
            }

            async fn grant_voucher(
                &self,
                org: OrgId,
                amount: Fen,
                k: &IdemKey,
                at_ms: i64,
            ) -> StoreResult<Balances> {
                $Store::grant_voucher(self, org, amount, k, at_ms).await
            }

            async fn statements(
                &self,
                org: OrgId,
                after: i64,
                limit: u32,
            ) -> StoreResult<Vec<StatementLine>> {
                $Store::statements(self, org, after, limit).await
            }

            async fn journal_balances(&self) -> StoreResult<Vec<(String, i64)>> {
                $Store::journal_balances(self).await
            }

            async fn check_projection(&self) -> StoreResult<Vec<String>> {
                $Store::check_projection(self).await
            }

            async fn reverse_journal_tx(
                &self,
                tx_id: i64,
                k: &IdemKey,
                at_ms: i64,
            ) -> StoreResult<i64> {
                $Store::reverse_journal_tx(self, tx_id, k, at_ms).await
            }

            async fn create_payment(
                &self,
                org: OrgId,
                user: UserId,
                provider: &str,
                provider_ref: &str,
                amount: Fen,
                at_ms: i64,
            ) -> StoreResult<PaymentRecord> {
                $Store::create_payment(self, org, user, provider, provider_ref, amount, at_ms).await
            }

            async fn get_payment(&self, id: i64) -> StoreResult<Option<PaymentRecord>> {
                $Store::get_payment(self, id).await
            }

            async fn confirm_payment(
                &self,
                provider: &str,
                provider_ref: &str,
                amount: Fen,
                at_ms: i64,
            ) -> StoreResult<PaymentRecord> {
                $Store::confirm_payment(self, provider, provider_ref, amount, at_ms).await
            }

            async fn create_offline(&self, n: &NewOffline) -> StoreResult<OfflineRecord> {
                $Store::create_offline(self, n).await
            }

            async fn approve_offline(
                &self,
                id: i64,
                by: UserId,
                at_ms: i64,
            ) -> StoreResult<OfflineRecord> {
                $Store::approve_offline(self, id, by, at_ms).await
            }

            async fn request_grant(&self, g: &GrantRequest) -> StoreResult<GrantOutcome> {
                $Store::request_grant(self, g).await
            }

            async fn approve_grant(
                &self,
                id: i64,
                by: UserId,
                at_ms: i64,
            ) -> StoreResult<GrantOutcome> {
                $Store::approve_grant(self, id, by, at_ms).await
            }

            async fn grant_worklist(&self, limit: u32) -> StoreResult<Vec<GrantRecord>> {
                $Store::grant_worklist(self, limit).await
            }

            async fn offline_worklist(&self, limit: u32) -> StoreResult<Vec<OfflineRecord>> {
                $Store::offline_worklist(self, limit).await
            }

            async fn list_grants(&self, after: i64, limit: u32) -> StoreResult<Vec<GrantRecord>> {
                $Store::list_grants(self, after, limit).await
            }

            async fn list_offline(
                &self,
                after: i64,
                limit: u32,
            ) -> StoreResult<Vec<OfflineRecord>> {
                $Store::list_offline(self, after, limit).await
            }

            async fn place_order(&self, o: &PlaceOrder) -> StoreResult<OrderOutcome> {
                $Store::place_order(self, o).await
            }

            async fn renew(
                &self,
                c: &OrderCtx,
                instance: i64,
                months: u32,
            ) -> StoreResult<OrderOutcome> {
                $Store::renew(self, c, instance, months).await
            }

            async fn unsubscribe(&self, c: &OrderCtx, instance: i64) -> StoreResult<OrderOutcome> {
                $Store::unsubscribe(self, c, instance).await
            }

            async fn change_spec(
                &self,
                c: &OrderCtx,
                instance: i64,
                spec: i64,
            ) -> StoreResult<OrderOutcome> {
                $Store::change_spec(self, c, instance, spec).await
            }

            async fn accept_instance(
                &self,
                id: i64,
                p: &Provisioning,
                by: UserId,
                at_ms: i64,
            ) -> StoreResult<InstanceRecord> {
                $Store::accept_instance(self, id, p, by, at_ms).await
            }

            async fn get_instance(&self, id: i64) -> StoreResult<Option<InstanceRecord>> {
                $Store::get_instance(self, id).await
            }

            async fn list_instances(
                &self,
                org: Option<OrgId>,
                after: i64,
                limit: u32,
            ) -> StoreResult<Vec<InstanceRecord>> {
                $Store::list_instances(self, org, after, limit).await
            }

            async fn pending_instances(&self, limit: u32) -> StoreResult<Vec<InstanceRecord>> {
                $Store::pending_instances(self, limit).await
            }

            async fn list_orders(
                &self,
                org: Option<OrgId>,
                after: i64,
                limit: u32,
            ) -> StoreResult<Vec<OrderRecord>> {
                $Store::list_orders(self, org, after, limit).await
            }

            async fn advance_lifecycle(
                &self,
                now_ms: i64,
                s: &LifecycleSettings,
                usage: &dyn UsageSource,
                after: i64,
                limit: u32,
            ) -> StoreResult<AdvanceReport> {
                $Store::advance_lifecycle(self, now_ms, s, usage, after, limit).await
            }

            async fn list_messages(
                &self,
                org: OrgId,
                after: i64,
                limit: u32,
            ) -> StoreResult<Vec<MessageRecord>> {
                $Store::list_messages(self, org, after, limit).await
            }

            async fn recent_messages(
                &self,
                org: OrgId,
                limit: u32,
            ) -> StoreResult<Vec<MessageRecord>> {
                $Store::recent_messages(self, org, limit).await
            }

            async fn bills(&self, f: &BillFilter) -> StoreResult<Vec<BillLine>> {
                $Store::bills(self, f).await
            }

            async fn mirror_pending(&self, limit: u32) -> StoreResult<Vec<MirrorRecord>> {
                $Store::mirror_pending(self, limit).await
            }

            async fn mirror_signed(
                &self,
                id: i64,
                signed_ref: &str,
                signed_tx: &str,
            ) -> StoreResult<()> {
                $Store::mirror_signed(self, id, signed_ref, signed_tx).await
            }

            async fn mirror_sent(&self, id: i64, sent_ref: &str, at_ms: i64) -> StoreResult<()> {
                $Store::mirror_sent(self, id, sent_ref, at_ms).await
            }

            async fn mirror_expected(&self) -> StoreResult<Vec<(OrgId, i64)>> {
                $Store::mirror_expected(self).await
            }
        }
    };
}

money_store!(
    SqliteStore,
    sqlx::sqlite::SqliteRow,
    sqlx::Sqlite,
    "BEGIN IMMEDIATE",
    ""
);
money_store!(
    PgStore,
    sqlx::postgres::PgRow,
    sqlx::Postgres,
    "BEGIN",
    "SELECT pg_advisory_xact_lock($1)"
);

impl SqliteStore {
    /// SQLite: every money writer of the process takes the one write lock.
    async fn write_guard(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        Some(self.audit_lock.lock().await)
    }

    /// A purchase, run whole on the writer thread (one hand-off, group commit).
    async fn place_order_serialised(&self, o: &PlaceOrder) -> StoreResult<OrderOutcome> {
        let o = o.clone();
        self.writer
            .call(move |conn| crate::sqlite_writer::place_order(conn, &o))
            .await
    }
}

impl PgStore {
    /// PostgreSQL: writers of one customer are serialised by the advisory lock instead.
    async fn write_guard(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        None
    }

    async fn place_order_serialised(&self, o: &PlaceOrder) -> StoreResult<OrderOutcome> {
        self.place_order_now(o).await
    }
}
