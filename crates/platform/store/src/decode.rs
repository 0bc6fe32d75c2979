//! Shared row decoders: one function per record type, used by every backend — the sqlx
//! rows of SQLite and PostgreSQL and the SQLite writer thread's `rusqlite` rows — through
//! the small [`Cols`] interface (read a column by name). A column list (`*_COLS` in
//! `money_sql`) and its decoder are the only places a record's columns are named for
//! reading.

use crate::money::*;
use crate::money_sql::{cor, fen, from_json, oid, u32_of, uid};
use crate::{StoreError, StoreResult};
use sqlx::Row;
use suanli_platform_domain::instance::InstanceStatus;
use suanli_platform_domain::journal::{Account, Balances, Funding, Shares};
use suanli_platform_domain::money::Bp;
use suanli_platform_domain::orders::StoredCoupon;
use suanli_platform_domain::pricing::{ChargingMode, Coupon, CouponValue, Discount};

/// A result row read by column name.
pub(crate) trait Cols {
    /// An integer column.
    fn i64(&self, c: &str) -> StoreResult<i64>;
    /// A nullable integer column.
    fn opt_i64(&self, c: &str) -> StoreResult<Option<i64>>;
    /// A text column.
    fn text(&self, c: &str) -> StoreResult<String>;
    /// A nullable text column.
    fn opt_text(&self, c: &str) -> StoreResult<Option<String>>;
    /// A boolean column.
    fn flag(&self, c: &str) -> StoreResult<bool>;
}

macro_rules! sqlx_cols {
    ($Row:ty) => {
        impl Cols for $Row {
            fn i64(&self, c: &str) -> StoreResult<i64> {
                self.try_get(c).map_err(cor)
            }
            fn opt_i64(&self, c: &str) -> StoreResult<Option<i64>> {
                self.try_get(c).map_err(cor)
            }
            fn text(&self, c: &str) -> StoreResult<String> {
                self.try_get(c).map_err(cor)
            }
            fn opt_text(&self, c: &str) -> StoreResult<Option<String>> {
                self.try_get(c).map_err(cor)
            }
            fn flag(&self, c: &str) -> StoreResult<bool> {
                self.try_get(c).map_err(cor)
            }
        }
    };
}

sqlx_cols!(sqlx::sqlite::SqliteRow);
sqlx_cols!(sqlx::postgres::PgRow);

impl Cols for rusqlite::Row<'_> {
    fn i64(&self, c: &str) -> StoreResult<i64> {
        self.get(c).map_err(cor)
    }
    fn opt_i64(&self, c: &str) -> StoreResult<Option<i64>> {
        self.get(c).map_err(cor)
    }
    fn text(&self, c: &str) -> StoreResult<String> {
        self.get(c).map_err(cor)
    }
    fn opt_text(&self, c: &str) -> StoreResult<Option<String>> {
        self.get(c).map_err(cor)
    }
    fn flag(&self, c: &str) -> StoreResult<bool> {
        self.get(c).map_err(cor)
    }
}

fn bp(r: &(impl Cols + ?Sized), c: &str) -> StoreResult<Bp> {
    Bp::new(u32_of(r.i64(c)?)?).map_err(cor)
}

fn mode(r: &(impl Cols + ?Sized)) -> StoreResult<ChargingMode> {
    ChargingMode::parse(&r.text("mode")?).ok_or_else(|| cor("mode"))
}

fn funding(
    r: &(impl Cols + ?Sized),
    cash: &str,
    voucher: &str,
    credit: &str,
) -> StoreResult<Funding> {
    Ok(Funding {
        cash_fen: fen(r.i64(cash)?)?,
        voucher_fen: fen(r.i64(voucher)?)?,
        credit_fen: fen(r.i64(credit)?)?,
    })
}

/// A `products` row (`PRODUCT_COLS`).
pub(crate) fn product(r: &(impl Cols + ?Sized)) -> StoreResult<ProductRecord> {
    Ok(ProductRecord {
        id: r.i64("id")?,
        category_id: r.i64("category_id")?,
        name: r.text("name")?,
        supplier: oid(r.i64("supplier_org_id")?)?,
        region: r.text("region")?,
        manual_provisioning: r.flag("manual_provisioning")?,
        supplier_share_bp: bp(r, "supplier_share_bp")?,
        published: r.flag("published")?,
        created_ms: r.i64("created_ms")?,
    })
}

/// A `specs` row (`SPEC_COLS`).
pub(crate) fn spec(r: &(impl Cols + ?Sized)) -> StoreResult<SpecRecord> {
    Ok(SpecRecord {
        id: r.i64("id")?,
        product_id: r.i64("product_id")?,
        family: r.text("family")?,
        name: r.text("name")?,
        pricing: from_json(&r.text("pricing")?)?,
        version: r.i64("version")?,
        created_ms: r.i64("created_ms")?,
    })
}

/// An `instances` row (`INST_COLS`).
pub(crate) fn instance(r: &(impl Cols + ?Sized)) -> StoreResult<InstanceRecord> {
    Ok(InstanceRecord {
        id: r.i64("id")?,
        org: oid(r.i64("org_id")?)?,
        user: uid(r.i64("user_id")?)?,
        product_id: r.i64("product_id")?,
        spec_id: r.i64("spec_id")?,
        supplier: oid(r.i64("supplier_org_id")?)?,
        mode: mode(r)?,
        quantity: u32_of(r.i64("quantity")?)?,
        status: InstanceStatus::parse(&r.text("status")?).ok_or_else(|| cor("status"))?,
        pricing: from_json(&r.text("pricing")?)?,
        supplier_share_bp: bp(r, "supplier_share_bp")?,
        anchor_ms: r.i64("anchor_ms")?,
        months_total: u32_of(r.i64("months_total")?)?,
        span_start_ms: r.i64("span_start_ms")?,
        ends_ms: r.opt_i64("ends_ms")?,
        paid: funding(r, "paid_cash_fen", "paid_voucher_fen", "paid_credit_fen")?,
        paid_shares: Shares {
            supplier_fen: fen(r.i64("paid_supplier_fen")?)?,
            operator_fen: fen(r.i64("paid_operator_fen")?)?,
        },
        reminders_sent: u32_of(r.i64("reminders_sent")?)?,
        metered_ms: r.i64("metered_ms")?,
        usage_minutes: u64::try_from(r.i64("usage_minutes")?).map_err(cor)?,
        usage_charged_fen: fen(r.i64("usage_charged_fen")?)?,
        usage_unpaid_fen: fen(r.i64("usage_unpaid_fen")?)?,
        hold_id: r.opt_i64("hold_id")?,
        resource_id: r.opt_text("resource_id")?,
        access_address: r.opt_text("access_address")?,
        opened_ms: r.opt_i64("opened_ms")?,
        accepted_by: r.opt_i64("accepted_by")?.map(uid).transpose()?,
        created_ms: r.i64("created_ms")?,
        released_ms: r.opt_i64("released_ms")?,
    })
}

/// An `orders` row (`ORDER_COLS`).
pub(crate) fn order(r: &(impl Cols + ?Sized)) -> StoreResult<OrderRecord> {
    Ok(OrderRecord {
        id: r.i64("id")?,
        org: oid(r.i64("org_id")?)?,
        user: uid(r.i64("user_id")?)?,
        kind: r.text("kind")?,
        instance_id: r.i64("instance_id")?,
        product_id: r.i64("product_id")?,
        spec_id: r.i64("spec_id")?,
        mode: mode(r)?,
        months: u32_of(r.i64("months")?)?,
        quantity: u32_of(r.i64("quantity")?)?,
        breakdown: from_json(&r.text("breakdown")?)?,
        charged_fen: fen(r.i64("charged_fen")?)?,
        refunded_fen: fen(r.i64("refunded_fen")?)?,
        discount_fen: fen(r.i64("discount_fen")?)?,
        deposit_fen: fen(r.i64("deposit_fen")?)?,
        funding: funding(r, "cash_fen", "voucher_fen", "credit_fen")?,
        created_ms: r.i64("created_ms")?,
    })
}

/// A `money_grants` row (`GRANT_COLS`).
pub(crate) fn grant(r: &(impl Cols + ?Sized)) -> StoreResult<GrantRecord> {
    Ok(GrantRecord {
        id: r.i64("id")?,
        org: oid(r.i64("org_id")?)?,
        kind: GrantKind::parse(&r.text("kind")?).ok_or_else(|| cor("grant kind"))?,
        amount_fen: fen(r.i64("amount_fen")?)?,
        idem_key: r.opt_text("idem_key")?,
        entered_by: uid(r.i64("entered_by")?)?,
        entered_ms: r.i64("entered_ms")?,
        status: r.text("status")?,
        decided_by: r.opt_i64("decided_by")?.map(uid).transpose()?,
        decided_ms: r.opt_i64("decided_ms")?,
    })
}

/// An `offline_transfers` row (`OFFLINE_COLS`).
pub(crate) fn offline(r: &(impl Cols + ?Sized)) -> StoreResult<OfflineRecord> {
    Ok(OfflineRecord {
        id: r.i64("id")?,
        org: oid(r.i64("org_id")?)?,
        direction: if r.text("direction")? == "in" {
            Direction::In
        } else {
            Direction::Out
        },
        amount_fen: fen(r.i64("amount_fen")?)?,
        reference: r.text("reference")?,
        entered_by: uid(r.i64("entered_by")?)?,
        entered_ms: r.i64("entered_ms")?,
        status: r.text("status")?,
        decided_by: r.opt_i64("decided_by")?.map(uid).transpose()?,
        decided_ms: r.opt_i64("decided_ms")?,
        journal_tx_id: r.opt_i64("journal_tx_id")?,
    })
}

/// A `payments` row (`PAYMENT_COLS`).
pub(crate) fn payment(r: &(impl Cols + ?Sized)) -> StoreResult<PaymentRecord> {
    Ok(PaymentRecord {
        id: r.i64("id")?,
        org: oid(r.i64("org_id")?)?,
        user: uid(r.i64("user_id")?)?,
        provider: r.text("provider")?,
        provider_ref: r.text("provider_ref")?,
        amount_fen: fen(r.i64("amount_fen")?)?,
        status: r.text("status")?,
        created_ms: r.i64("created_ms")?,
        confirmed_ms: r.opt_i64("confirmed_ms")?,
        journal_tx_id: r.opt_i64("journal_tx_id")?,
    })
}

/// A `messages` row (`id, org_id, instance_id, body, created_ms`).
pub(crate) fn message(r: &(impl Cols + ?Sized)) -> StoreResult<MessageRecord> {
    Ok(MessageRecord {
        id: r.i64("id")?,
        org: oid(r.i64("org_id")?)?,
        instance_id: r.opt_i64("instance_id")?,
        body: r.text("body")?,
        created_ms: r.i64("created_ms")?,
    })
}

/// A `mirror_outbox` row (`id, journal_tx_id, org_id, op, amount_fen, sent_ref,
/// signed_ref, signed_tx`).
pub(crate) fn mirror(r: &(impl Cols + ?Sized)) -> StoreResult<MirrorRecord> {
    Ok(MirrorRecord {
        id: r.i64("id")?,
        journal_tx_id: r.i64("journal_tx_id")?,
        org: oid(r.i64("org_id")?)?,
        op: r.text("op")?,
        amount_fen: fen(r.i64("amount_fen")?)?,
        sent_ref: r.opt_text("sent_ref")?,
        signed_ref: r.opt_text("signed_ref")?,
        signed_tx: r.opt_text("signed_tx")?,
    })
}

/// A `discounts` row (`id, rule, off_bp`).
pub(crate) fn discount(r: &(impl Cols + ?Sized)) -> StoreResult<Discount> {
    Ok(Discount {
        id: r.i64("id")?,
        scope: from_json(&r.text("rule")?)?,
        off_bp: bp(r, "off_bp")?,
    })
}

/// A `coupons` row (`COUPON_COLS`) with the facts its eligibility is decided on.
pub(crate) fn stored_coupon(r: &(impl Cols + ?Sized)) -> StoreResult<StoredCoupon> {
    Ok(StoredCoupon {
        coupon: Coupon {
            id: r.i64("id")?,
            code: r.text("code")?,
            value: from_json::<CouponValue>(&r.text("value")?)?,
            min_spend_fen: fen(r.i64("min_spend_fen")?)?,
        },
        owner: r.opt_i64("org_id")?.map(oid).transpose()?,
        used: r.opt_i64("used_order_id")?.is_some(),
        expires_ms: r.i64("expires_ms")?,
    })
}

/// Balances from `(account, balance)` pairs (the credit line as `credit_line`).
pub(crate) fn balances(pairs: impl IntoIterator<Item = (String, i64)>) -> StoreResult<Balances> {
    let mut b = Balances::default();
    for (acc, v) in pairs {
        if acc == "credit_line" {
            b.credit_line_fen = v;
            continue;
        }
        match Account::parse(&acc) {
            Some(Account::Cash(_)) => b.cash_fen = v,
            Some(Account::Voucher(_)) => b.voucher_fen = v,
            Some(Account::Credit(_)) => b.credit_used_fen = -v,
            Some(Account::Frozen(_)) => b.frozen_fen = v,
            _ => return Err(StoreError::Corrupt("balance account".into())),
        }
    }
    Ok(b)
}
