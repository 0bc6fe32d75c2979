//! [`MoneyStore`] for both backends from one macro body (same SQL text). Only the
//! transaction start differs: SQLite serialises money writers on the store's write lock
//! and `BEGIN IMMEDIATE`; PostgreSQL takes a transaction-scoped advisory lock on the
//! customer organisation.

use crate::money::*;
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
use suanli_platform_domain::pricing::{
    Breakdown, ChargingMode, Coupon, CouponValue, Discount, DiscountScope, QuoteRequest,
    SpecPricing, TERM_MONTHS_MAX, quote,
};
use suanli_platform_domain::proration::{
    add_shares, refund_amount, refund_shares, shares_of, split_refund, sub_shares,
};
use suanli_platform_domain::{OrgId, UserId};

pub(crate) fn cor(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}
pub(crate) fn rejected(msg: impl Into<String>) -> StoreError {
    StoreError::Rejected(msg.into())
}
pub(crate) fn jerr(e: JournalError) -> StoreError {
    match e {
        JournalError::Insufficient { needed, available } => {
            StoreError::Insufficient { needed, available }
        }
        other => StoreError::Rejected(other.to_string()),
    }
}
pub(crate) fn merr(e: MoneyError) -> StoreError {
    StoreError::Rejected(e.to_string())
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
struct OrderRow<'a> {
    ctx: &'a OrderCtx,
    kind: &'a str,
    inst: &'a InstanceRecord,
    months: u32,
    breakdown: &'a Breakdown,
    charged: Fen,
    refunded: Fen,
    funding: Funding,
}

macro_rules! money_store {
    ($Store:ident, $Row:ty, $Db:ty, $begin:literal, $lock:literal) => {
        impl $Store {
            async fn m_begin(
                &self,
                org: Option<OrgId>,
            ) -> StoreResult<(Option<tokio::sync::MutexGuard<'_, ()>>, sqlx::Transaction<'static, $Db>)> {
                let guard = self.write_guard().await;
                let mut tx = self.pool.begin_with($begin).await.map_err(db_err)?;
                if let Some(o) = org {
                    Self::m_lock(&mut tx, o).await?;
                }
                Ok((guard, tx))
            }

            async fn m_lock(tx: &mut sqlx::Transaction<'static, $Db>, org: OrgId) -> StoreResult<()> {
                if !$lock.is_empty() {
                    sqlx::query($lock).bind(org.get()).execute(&mut **tx).await.map_err(db_err)?;
                }
                Ok(())
            }

            fn grant_row(r: &$Row) -> StoreResult<GrantRecord> {
                let kind: String = col!(r, "kind");
                Ok(GrantRecord {
                    id: col!(r, "id"),
                    org: oid(col!(r, "org_id"))?,
                    kind: GrantKind::parse(&kind).ok_or_else(|| cor("grant kind"))?,
                    amount_fen: fen(col!(r, "amount_fen"))?,
                    idem_key: col!(r, "idem_key"),
                    entered_by: uid(col!(r, "entered_by"))?,
                    entered_ms: col!(r, "entered_ms"),
                    status: col!(r, "status"),
                    decided_by: r.try_get::<Option<i64>, _>("decided_by").map_err(cor)?.map(uid).transpose()?,
                    decided_ms: col!(r, "decided_ms"),
                })
            }

            /// Carries out a grant: posts the voucher (journal key from the client's key or
            /// the grant id) or sets the credit line.
            async fn do_grant(tx: &mut sqlx::Transaction<'static, $Db>, g: &GrantRecord, by: UserId, at_ms: i64) -> StoreResult<()> {
                match g.kind {
                    GrantKind::Voucher => {
                        let k = match &g.idem_key {
                            Some(k) => format!("voucher:{}:{k}", g.org),
                            None => format!("grant:{}", g.id),
                        };
                        let jt = TxBuilder::new(TxKind::VoucherGrant)
                            .debit(Account::Revenue, g.amount_fen)
                            .credit(Account::Voucher(g.org), g.amount_fen)
                            .build(key(k)?, "cash voucher granted")
                            .map_err(jerr)?;
                        Self::post_idem(tx, &jt, Some(g.org), "voucher", at_ms).await?;
                    }
                    GrantKind::CreditLine => {
                        sqlx::query(
                            "INSERT INTO credit_lines (org_id, limit_fen, set_by, set_ms) VALUES ($1, $2, $3, $4) \
                             ON CONFLICT (org_id) DO UPDATE SET limit_fen = excluded.limit_fen, set_by = excluded.set_by, set_ms = excluded.set_ms",
                        )
                        .bind(g.org.get())
                        .bind(g.amount_fen.get())
                        .bind(by.get())
                        .bind(at_ms)
                        .execute(&mut **tx)
                        .await
                        .map_err(db_err)?;
                    }
                }
                Ok(())
            }

            fn product_row(r: &$Row) -> StoreResult<ProductRecord> {
                Ok(ProductRecord {
                    id: col!(r, "id"),
                    category_id: col!(r, "category_id"),
                    name: col!(r, "name"),
                    supplier: oid(col!(r, "supplier_org_id"))?,
                    region: col!(r, "region"),
                    manual_provisioning: col!(r, "manual_provisioning"),
                    supplier_share_bp: Bp::new(u32_of(col!(r, "supplier_share_bp"))?).map_err(cor)?,
                    published: col!(r, "published"),
                    created_ms: col!(r, "created_ms"),
                })
            }

            fn spec_row(r: &$Row) -> StoreResult<SpecRecord> {
                let pricing: String = col!(r, "pricing");
                Ok(SpecRecord {
                    id: col!(r, "id"),
                    product_id: col!(r, "product_id"),
                    family: col!(r, "family"),
                    name: col!(r, "name"),
                    pricing: from_json(&pricing)?,
                    version: col!(r, "version"),
                    created_ms: col!(r, "created_ms"),
                })
            }

            fn inst_row(r: &$Row) -> StoreResult<InstanceRecord> {
                let pricing: String = col!(r, "pricing");
                let mode: String = col!(r, "mode");
                let status: String = col!(r, "status");
                Ok(InstanceRecord {
                    id: col!(r, "id"),
                    org: oid(col!(r, "org_id"))?,
                    user: uid(col!(r, "user_id"))?,
                    product_id: col!(r, "product_id"),
                    spec_id: col!(r, "spec_id"),
                    supplier: oid(col!(r, "supplier_org_id"))?,
                    mode: ChargingMode::parse(&mode).ok_or_else(|| cor("mode"))?,
                    quantity: u32_of(col!(r, "quantity"))?,
                    status: InstanceStatus::parse(&status).ok_or_else(|| cor("status"))?,
                    pricing: from_json(&pricing)?,
                    supplier_share_bp: Bp::new(u32_of(col!(r, "supplier_share_bp"))?).map_err(cor)?,
                    anchor_ms: col!(r, "anchor_ms"),
                    months_total: u32_of(col!(r, "months_total"))?,
                    span_start_ms: col!(r, "span_start_ms"),
                    ends_ms: col!(r, "ends_ms"),
                    paid: Funding {
                        cash_fen: fen(col!(r, "paid_cash_fen"))?,
                        voucher_fen: fen(col!(r, "paid_voucher_fen"))?,
                        credit_fen: fen(col!(r, "paid_credit_fen"))?,
                    },
                    paid_shares: Shares {
                        supplier_fen: fen(col!(r, "paid_supplier_fen"))?,
                        operator_fen: fen(col!(r, "paid_operator_fen"))?,
                    },
                    reminders_sent: u32_of(col!(r, "reminders_sent"))?,
                    metered_ms: col!(r, "metered_ms"),
                    usage_minutes: u64::try_from(r.try_get::<i64, _>("usage_minutes").map_err(cor)?).map_err(cor)?,
                    usage_charged_fen: fen(col!(r, "usage_charged_fen"))?,
                    usage_unpaid_fen: fen(col!(r, "usage_unpaid_fen"))?,
                    hold_id: col!(r, "hold_id"),
                    resource_id: col!(r, "resource_id"),
                    access_address: col!(r, "access_address"),
                    opened_ms: col!(r, "opened_ms"),
                    accepted_by: r.try_get::<Option<i64>, _>("accepted_by").map_err(cor)?.map(uid).transpose()?,
                    created_ms: col!(r, "created_ms"),
                    released_ms: col!(r, "released_ms"),
                })
            }

            fn order_row(r: &$Row) -> StoreResult<OrderRecord> {
                let mode: String = col!(r, "mode");
                let breakdown: String = col!(r, "breakdown");
                Ok(OrderRecord {
                    id: col!(r, "id"),
                    org: oid(col!(r, "org_id"))?,
                    user: uid(col!(r, "user_id"))?,
                    kind: col!(r, "kind"),
                    instance_id: col!(r, "instance_id"),
                    product_id: col!(r, "product_id"),
                    spec_id: col!(r, "spec_id"),
                    mode: ChargingMode::parse(&mode).ok_or_else(|| cor("mode"))?,
                    months: u32_of(col!(r, "months"))?,
                    quantity: u32_of(col!(r, "quantity"))?,
                    breakdown: from_json(&breakdown)?,
                    charged_fen: fen(col!(r, "charged_fen"))?,
                    refunded_fen: fen(col!(r, "refunded_fen"))?,
                    discount_fen: fen(col!(r, "discount_fen"))?,
                    deposit_fen: fen(col!(r, "deposit_fen"))?,
                    funding: Funding {
                        cash_fen: fen(col!(r, "cash_fen"))?,
                        voucher_fen: fen(col!(r, "voucher_fen"))?,
                        credit_fen: fen(col!(r, "credit_fen"))?,
                    },
                    created_ms: col!(r, "created_ms"),
                })
            }

            fn offline_row(r: &$Row) -> StoreResult<OfflineRecord> {
                let dir: String = col!(r, "direction");
                Ok(OfflineRecord {
                    id: col!(r, "id"),
                    org: oid(col!(r, "org_id"))?,
                    direction: if dir == "in" { Direction::In } else { Direction::Out },
                    amount_fen: fen(col!(r, "amount_fen"))?,
                    reference: col!(r, "reference"),
                    entered_by: uid(col!(r, "entered_by"))?,
                    entered_ms: col!(r, "entered_ms"),
                    status: col!(r, "status"),
                    decided_by: r.try_get::<Option<i64>, _>("decided_by").map_err(cor)?.map(uid).transpose()?,
                    decided_ms: col!(r, "decided_ms"),
                    journal_tx_id: col!(r, "journal_tx_id"),
                })
            }

            fn payment_row(r: &$Row) -> StoreResult<PaymentRecord> {
                Ok(PaymentRecord {
                    id: col!(r, "id"),
                    org: oid(col!(r, "org_id"))?,
                    user: uid(col!(r, "user_id"))?,
                    provider: col!(r, "provider"),
                    provider_ref: col!(r, "provider_ref"),
                    amount_fen: fen(col!(r, "amount_fen"))?,
                    status: col!(r, "status"),
                    created_ms: col!(r, "created_ms"),
                    confirmed_ms: col!(r, "confirmed_ms"),
                    journal_tx_id: col!(r, "journal_tx_id"),
                })
            }

            async fn tx_balances(tx: &mut sqlx::Transaction<'static, $Db>, org: OrgId) -> StoreResult<Balances> {
                // One round trip: the four projected balances and the credit line.
                let rows = sqlx::query(
                    "SELECT account, balance FROM account_balances WHERE account IN ($1, $2, $3, $4) \
                     UNION ALL SELECT 'credit_line' AS account, limit_fen AS balance FROM credit_lines WHERE org_id = $5",
                )
                .bind(Account::Cash(org).key())
                .bind(Account::Voucher(org).key())
                .bind(Account::Credit(org).key())
                .bind(Account::Frozen(org).key())
                .bind(org.get())
                .fetch_all(&mut **tx)
                .await
                .map_err(db_err)?;
                Self::balances_of(&rows)
            }

            /// Balances from `(account, balance)` rows (see [`Self::tx_balances`]).
            fn balances_of(rows: &[$Row]) -> StoreResult<Balances> {
                let mut b = Balances::default();
                for r in rows {
                    let acc: String = col!(r, "account");
                    let v: i64 = col!(r, "balance");
                    if acc == "credit_line" {
                        b.credit_line_fen = v;
                        continue;
                    }
                    match Account::parse(&acc) {
                        Some(Account::Cash(_)) => b.cash_fen = v,
                        Some(Account::Voucher(_)) => b.voucher_fen = v,
                        Some(Account::Credit(_)) => b.credit_used_fen = -v,
                        Some(Account::Frozen(_)) => b.frozen_fen = v,
                        _ => return Err(cor("balance account")),
                    }
                }
                Ok(b)
            }

            /// Posts a journal transaction: header, lines, projection, balance check, mirror.
            async fn post_tx(
                tx: &mut sqlx::Transaction<'static, $Db>,
                jt: &JournalTx,
                org: Option<OrgId>,
                instance: Option<i64>,
                channel: &str,
                at_ms: i64,
            ) -> StoreResult<i64> {
                let total = jt.total();
                let r = sqlx::query(
                    "INSERT INTO journal_tx (idem_key, body_digest, kind, org_id, instance_id, channel, memo, total_fen, at_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                )
                .bind(jt.key().as_str().to_owned())
                .bind(jt.body_digest())
                .bind(jt.kind().as_str())
                .bind(org.map(OrgId::get))
                .bind(instance)
                .bind(channel.to_owned())
                .bind(jt.memo().to_owned())
                .bind(total.get())
                .bind(at_ms)
                .fetch_one(&mut **tx)
                .await
                .map_err(db_err)?;
                let id: i64 = col!(r, "id");
                let (mut money_in, mut money_out) = (0i64, 0i64);
                let mut afters: Vec<Option<i64>> = Vec::with_capacity(jt.lines().len());
                for l in jt.lines() {
                    let delta = l.account.signed(l.side, l.amount);
                    let after: Option<i64> = if l.account.customer().is_some() {
                        let r = sqlx::query(
                            "INSERT INTO account_balances (account, balance) VALUES ($1, $2) \
                             ON CONFLICT (account) DO UPDATE SET balance = account_balances.balance + excluded.balance \
                             RETURNING balance",
                        )
                        .bind(l.account.key())
                        .bind(delta)
                        .fetch_one(&mut **tx)
                        .await
                        .map_err(db_err)?;
                        Some(col!(r, "balance"))
                    } else {
                        None
                    };
                    if l.account == Account::Bank {
                        if l.side == Side::Debit { money_in += l.amount.get() } else { money_out += l.amount.get() }
                    }
                    afters.push(after);
                }
                // All lines in one statement.
                let values: Vec<String> = (0..jt.lines().len())
                    .map(|i| {
                        let b = i * 5;
                        format!("(${}, ${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4, b + 5)
                    })
                    .collect();
                let sql = format!(
                    "INSERT INTO journal_lines (tx_id, account, side, amount_fen, balance_after) VALUES {}",
                    values.join(", ")
                );
                // The store's own balance check reads back what the database stored: the
                // lines of this (new) transaction id are exactly the rows this statement
                // inserted, returned by it (one round trip instead of a second query).
                let sql = format!("{sql} RETURNING side, amount_fen");
                let mut q = sqlx::query(&sql);
                for (l, after) in jt.lines().iter().zip(afters) {
                    q = q.bind(id).bind(l.account.key()).bind(l.side.as_str()).bind(l.amount.get()).bind(after);
                }
                let stored = q.fetch_all(&mut **tx).await.map_err(db_err)?;
                let (mut d, mut c) = (0i64, 0i64);
                for r in &stored {
                    let side: String = col!(r, "side");
                    let amount: i64 = col!(r, "amount_fen");
                    let sum = match side.as_str() {
                        "debit" => &mut d,
                        "credit" => &mut c,
                        _ => return Err(cor("journal line side")),
                    };
                    *sum = sum.checked_add(amount).ok_or_else(|| cor("journal line sum"))?;
                }
                if stored.len() != jt.lines().len() || d != c || d != total.get() {
                    return Err(StoreError::Corrupt(format!("journal transaction {id} unbalanced")));
                }
                if let Some(o) = org {
                    for (op, amount) in [("mint", money_in), ("burn", money_out)] {
                        if amount > 0 {
                            sqlx::query(
                                "INSERT INTO mirror_outbox (journal_tx_id, org_id, op, amount_fen, created_ms) VALUES ($1, $2, $3, $4, $5)",
                            )
                            .bind(id)
                            .bind(o.get())
                            .bind(op)
                            .bind(amount)
                            .bind(at_ms)
                            .execute(&mut **tx)
                            .await
                            .map_err(db_err)?;
                        }
                    }
                }
                Ok(id)
            }

            /// [`Self::post_tx`] unless a transaction with the same key exists: then its id
            /// when the body matches, [`StoreError::KeyReuse`] when it does not.
            async fn post_idem(
                tx: &mut sqlx::Transaction<'static, $Db>,
                jt: &JournalTx,
                org: Option<OrgId>,
                channel: &str,
                at_ms: i64,
            ) -> StoreResult<(i64, bool)> {
                let prior = sqlx::query("SELECT id, body_digest FROM journal_tx WHERE idem_key = $1")
                    .bind(jt.key().as_str().to_owned())
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(db_err)?;
                if let Some(r) = prior {
                    let digest: String = col!(r, "body_digest");
                    return if digest == jt.body_digest() {
                        Ok((col!(r, "id"), true))
                    } else {
                        Err(StoreError::KeyReuse)
                    };
                }
                Ok((Self::post_tx(tx, jt, org, None, channel, at_ms).await?, false))
            }

            /// Checks an operation's idempotency key: the earlier result id for a replay.
            async fn idem_check(tx: &mut sqlx::Transaction<'static, $Db>, k: &str, digest: &str) -> StoreResult<Option<i64>> {
                let r = sqlx::query("SELECT body_digest, result_id FROM op_idem WHERE key = $1")
                    .bind(k.to_owned())
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(db_err)?;
                match r {
                    None => Ok(None),
                    Some(r) => {
                        let d: String = col!(r, "body_digest");
                        if d == digest { Ok(Some(col!(r, "result_id"))) } else { Err(StoreError::KeyReuse) }
                    }
                }
            }

            async fn idem_put(tx: &mut sqlx::Transaction<'static, $Db>, k: &str, digest: &str, id: i64) -> StoreResult<()> {
                sqlx::query("INSERT INTO op_idem (key, body_digest, result_id) VALUES ($1, $2, $3)")
                    .bind(k.to_owned())
                    .bind(digest.to_owned())
                    .bind(id)
                    .execute(&mut **tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn inst_in(tx: &mut sqlx::Transaction<'static, $Db>, id: i64) -> StoreResult<Option<InstanceRecord>> {
                let sql = format!("SELECT {INST_COLS} FROM instances WHERE id = $1");
                let r = sqlx::query(&sql).bind(id).fetch_optional(&mut **tx).await.map_err(db_err)?;
                r.as_ref().map(Self::inst_row).transpose()
            }

            async fn spec_product_in(
                conn: &mut <$Db as sqlx::Database>::Connection,
                spec: i64,
            ) -> StoreResult<(SpecRecord, ProductRecord)> {
                let sql = format!("SELECT {SPEC_COLS} FROM specs WHERE id = $1");
                let r = sqlx::query(&sql).bind(spec).fetch_optional(&mut *conn).await.map_err(db_err)?;
                let s = Self::spec_row(r.as_ref().ok_or(StoreError::NotFound)?)?;
                let sql = format!("SELECT {PRODUCT_COLS} FROM products WHERE id = $1");
                let r = sqlx::query(&sql).bind(s.product_id).fetch_optional(&mut *conn).await.map_err(db_err)?;
                let p = Self::product_row(r.as_ref().ok_or(StoreError::NotFound)?)?;
                Ok((s, p))
            }

            async fn discounts_in(conn: &mut <$Db as sqlx::Database>::Connection) -> StoreResult<Vec<Discount>> {
                let rows = sqlx::query("SELECT id, rule, off_bp FROM discounts WHERE active = $1 ORDER BY id")
                    .bind(true)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(db_err)?;
                rows.iter()
                    .map(|r| {
                        let rule: String = col!(r, "rule");
                        Ok(Discount {
                            id: col!(r, "id"),
                            scope: from_json(&rule)?,
                            off_bp: Bp::new(u32_of(col!(r, "off_bp"))?).map_err(cor)?,
                        })
                    })
                    .collect()
            }

            async fn insert_order(tx: &mut sqlx::Transaction<'static, $Db>, o: &OrderRow<'_>) -> StoreResult<OrderRecord> {
                let r = sqlx::query(
                    "INSERT INTO orders (org_id, user_id, kind, instance_id, product_id, spec_id, mode, months, quantity, \
                     breakdown, charged_fen, refunded_fen, discount_fen, deposit_fen, cash_fen, voucher_fen, credit_fen, created_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING id",
                )
                .bind(o.ctx.org.get())
                .bind(o.ctx.user.get())
                .bind(o.kind.to_owned())
                .bind(o.inst.id)
                .bind(o.inst.product_id)
                .bind(o.inst.spec_id)
                .bind(o.inst.mode.as_str())
                .bind(i64::from(o.months))
                .bind(i64::from(o.breakdown.quantity))
                .bind(to_json(o.breakdown)?)
                .bind(o.charged.get())
                .bind(o.refunded.get())
                .bind(o.breakdown.discount_fen().get())
                .bind(o.breakdown.deposit_fen.get())
                .bind(o.funding.cash_fen.get())
                .bind(o.funding.voucher_fen.get())
                .bind(o.funding.credit_fen.get())
                .bind(o.ctx.at_ms)
                .fetch_one(&mut **tx)
                .await
                .map_err(db_err)?;
                Ok(OrderRecord {
                    id: col!(r, "id"),
                    org: o.ctx.org,
                    user: o.ctx.user,
                    kind: o.kind.to_owned(),
                    instance_id: o.inst.id,
                    product_id: o.inst.product_id,
                    spec_id: o.inst.spec_id,
                    mode: o.inst.mode,
                    months: o.months,
                    quantity: o.breakdown.quantity,
                    breakdown: o.breakdown.clone(),
                    charged_fen: o.charged,
                    refunded_fen: o.refunded,
                    discount_fen: o.breakdown.discount_fen(),
                    deposit_fen: o.breakdown.deposit_fen,
                    funding: o.funding,
                    created_ms: o.ctx.at_ms,
                })
            }

            #[allow(clippy::too_many_arguments)]
            async fn bill_item(
                tx: &mut sqlx::Transaction<'static, $Db>,
                inst: &InstanceRecord,
                kind: &str,
                amount: Fen,
                discount: Fen,
                unpaid: Fen,
                at_ms: i64,
            ) -> StoreResult<()> {
                if amount.is_zero() && discount.is_zero() && unpaid.is_zero() {
                    return Ok(());
                }
                sqlx::query(
                    "INSERT INTO bill_items (org_id, user_id, product_id, instance_id, mode, kind, amount_fen, discount_fen, unpaid_fen, at_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(inst.org.get())
                .bind(inst.user.get())
                .bind(inst.product_id)
                .bind(inst.id)
                .bind(inst.mode.as_str())
                .bind(kind.to_owned())
                .bind(amount.get())
                .bind(discount.get())
                .bind(unpaid.get())
                .bind(at_ms)
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            /// Writes the mutable columns of an instance back.
            async fn save_inst(tx: &mut sqlx::Transaction<'static, $Db>, i: &InstanceRecord) -> StoreResult<()> {
                sqlx::query(
                    "UPDATE instances SET spec_id = $1, status = $2, pricing = $3, anchor_ms = $4, months_total = $5, \
                     span_start_ms = $6, ends_ms = $7, paid_cash_fen = $8, paid_voucher_fen = $9, paid_credit_fen = $10, \
                     paid_supplier_fen = $11, paid_operator_fen = $12, reminders_sent = $13, metered_ms = $14, \
                     usage_minutes = $15, usage_charged_fen = $16, usage_unpaid_fen = $17, hold_id = $18, resource_id = $19, \
                     access_address = $20, opened_ms = $21, accepted_by = $22, released_ms = $23 WHERE id = $24",
                )
                .bind(i.spec_id)
                .bind(i.status.as_str())
                .bind(to_json(&i.pricing)?)
                .bind(i.anchor_ms)
                .bind(i64::from(i.months_total))
                .bind(i.span_start_ms)
                .bind(i.ends_ms)
                .bind(i.paid.cash_fen.get())
                .bind(i.paid.voucher_fen.get())
                .bind(i.paid.credit_fen.get())
                .bind(i.paid_shares.supplier_fen.get())
                .bind(i.paid_shares.operator_fen.get())
                .bind(i64::from(i.reminders_sent))
                .bind(i.metered_ms)
                .bind(i64::try_from(i.usage_minutes).map_err(cor)?)
                .bind(i.usage_charged_fen.get())
                .bind(i.usage_unpaid_fen.get())
                .bind(i.hold_id)
                .bind(i.resource_id.clone())
                .bind(i.access_address.clone())
                .bind(i.opened_ms)
                .bind(i.accepted_by.map(UserId::get))
                .bind(i.released_ms)
                .bind(i.id)
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn message(tx: &mut sqlx::Transaction<'static, $Db>, org: OrgId, inst: Option<i64>, body: &str, at_ms: i64) -> StoreResult<()> {
                sqlx::query("INSERT INTO messages (org_id, instance_id, body, created_ms) VALUES ($1, $2, $3, $4)")
                    .bind(org.get())
                    .bind(inst)
                    .bind(body.to_owned())
                    .bind(at_ms)
                    .execute(&mut **tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn hold_left(tx: &mut sqlx::Transaction<'static, $Db>, hold: Option<i64>) -> StoreResult<Fen> {
                let Some(h) = hold else { return Ok(Fen::ZERO) };
                let r = sqlx::query("SELECT amount_fen, posted_fen, status FROM holds WHERE id = $1")
                    .bind(h)
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(db_err)?;
                let status: String = col!(r, "status");
                if status != "pending" {
                    return Ok(Fen::ZERO);
                }
                let (a, p): (i64, i64) = (col!(r, "amount_fen"), col!(r, "posted_fen"));
                fen(a - p)
            }

            /// Meters `minutes` more of a pay-as-you-go instance and charges what is due:
            /// from cash → voucher → credit, then from the deposit hold; what neither covers
            /// is recorded unpaid. Returns (charged, short of money).
            async fn charge_usage(
                tx: &mut sqlx::Transaction<'static, $Db>,
                inst: &mut InstanceRecord,
                minutes: u64,
                at_ms: i64,
            ) -> StoreResult<(Fen, bool)> {
                let p = inst.pricing.payg.clone().ok_or_else(|| cor("payg instance without payg pricing"))?;
                inst.usage_minutes = inst.usage_minutes.saturating_add(minutes);
                let step = i64::try_from(minutes).map_err(cor)?.saturating_mul(60_000);
                inst.metered_ms = inst.metered_ms.saturating_add(step);
                let billed = inst.usage_charged_fen.checked_add(inst.usage_unpaid_fen).map_err(merr)?;
                let due = payg_due(&p, inst.quantity, inst.usage_minutes, billed).map_err(merr)?;
                if due.is_zero() {
                    return Ok((Fen::ZERO, false));
                }
                let bal = Self::tx_balances(tx, inst.org).await?;
                let from_accounts = due.min(bal.spendable());
                let funding = fund(from_accounts, &bal).map_err(jerr)?;
                let rest = due.checked_sub(from_accounts).map_err(merr)?;
                let from_hold = rest.min(Self::hold_left(tx, inst.hold_id).await?);
                let unpaid = rest.checked_sub(from_hold).map_err(merr)?;
                let tag = format!("{}:{}:{}", inst.id, inst.metered_ms, inst.usage_minutes);
                if !from_accounts.is_zero() {
                    let shares = shares_of(from_accounts, inst.supplier_share_bp).map_err(merr)?;
                    let jt = payment_tx(TxKind::Usage, key(format!("usage:{tag}"))?, inst.org, inst.supplier, &funding, &shares, "pay-as-you-go usage").map_err(jerr)?;
                    Self::post_tx(tx, &jt, Some(inst.org), Some(inst.id), "usage", at_ms).await?;
                }
                if !from_hold.is_zero() {
                    let shares = shares_of(from_hold, inst.supplier_share_bp).map_err(merr)?;
                    let jt = TxBuilder::new(TxKind::HoldPost)
                        .debit(Account::Frozen(inst.org), from_hold)
                        .credit(Account::SupplierPayable(inst.supplier), shares.supplier_fen)
                        .credit(Account::Revenue, shares.operator_fen)
                        .build(key(format!("holdpost:{tag}"))?, "usage taken from the deposit")
                        .map_err(jerr)?;
                    Self::post_tx(tx, &jt, Some(inst.org), Some(inst.id), "frozen", at_ms).await?;
                    sqlx::query("UPDATE holds SET posted_fen = posted_fen + $1 WHERE id = $2")
                        .bind(from_hold.get())
                        .bind(inst.hold_id)
                        .execute(&mut **tx)
                        .await
                        .map_err(db_err)?;
                }
                let charged = from_accounts.checked_add(from_hold).map_err(merr)?;
                inst.usage_charged_fen = inst.usage_charged_fen.checked_add(charged).map_err(merr)?;
                inst.usage_unpaid_fen = inst.usage_unpaid_fen.checked_add(unpaid).map_err(merr)?;
                Self::bill_item(tx, inst, "usage", charged, Fen::ZERO, unpaid, at_ms).await?;
                // Out of money only when something stays unpaid: usage the deposit still
                // covers does not pause the instance.
                Ok((charged, !unpaid.is_zero()))
            }

            /// Settles an instance's owed usage from the customer's balances (cash →
            /// voucher → credit) when they cover all of it; returns what was settled.
            async fn settle_owed(tx: &mut sqlx::Transaction<'static, $Db>, inst: &mut InstanceRecord, at_ms: i64) -> StoreResult<Fen> {
                let owed = inst.usage_unpaid_fen;
                if owed.is_zero() {
                    return Ok(Fen::ZERO);
                }
                let bal = Self::tx_balances(tx, inst.org).await?;
                if bal.spendable() < owed {
                    return Ok(Fen::ZERO);
                }
                let funding = fund(owed, &bal).map_err(jerr)?;
                let shares = shares_of(owed, inst.supplier_share_bp).map_err(merr)?;
                let jt = payment_tx(TxKind::Usage, key(format!("usage:{}:{}:settle", inst.id, at_ms))?, inst.org, inst.supplier, &funding, &shares, "owed usage settled").map_err(jerr)?;
                Self::post_tx(tx, &jt, Some(inst.org), Some(inst.id), "usage", at_ms).await?;
                inst.usage_charged_fen = inst.usage_charged_fen.checked_add(owed).map_err(merr)?;
                inst.usage_unpaid_fen = Fen::ZERO;
                Self::bill_item(tx, inst, "usage", owed, Fen::ZERO, Fen::ZERO, at_ms).await?;
                // The owed amount was billed as unpaid before; it is paid now.
                Self::bill_item(tx, inst, "settled", Fen::ZERO, Fen::ZERO, owed, at_ms).await?;
                Ok(owed)
            }

            /// Releases what is left of an instance's deposit hold back to cash.
            async fn void_hold(tx: &mut sqlx::Transaction<'static, $Db>, inst: &InstanceRecord, at_ms: i64) -> StoreResult<()> {
                let Some(h) = inst.hold_id else { return Ok(()) };
                let left = Self::hold_left(tx, Some(h)).await?;
                if !left.is_zero() {
                    let jt = TxBuilder::new(TxKind::HoldVoid)
                        .debit(Account::Frozen(inst.org), left)
                        .credit(Account::Cash(inst.org), left)
                        .build(key(format!("holdvoid:{h}"))?, "deposit released")
                        .map_err(jerr)?;
                    Self::post_tx(tx, &jt, Some(inst.org), Some(inst.id), "frozen", at_ms).await?;
                }
                sqlx::query("UPDATE holds SET status = $1, closed_ms = $2 WHERE id = $3")
                    .bind(if left.is_zero() { "posted" } else { "voided" })
                    .bind(at_ms)
                    .bind(h)
                    .execute(&mut **tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn outcome(&self, order_id: i64, replayed: bool) -> StoreResult<OrderOutcome> {
                let sql = format!("SELECT {ORDER_COLS} FROM orders WHERE id = $1");
                let r = sqlx::query(&sql).bind(order_id).fetch_optional(&self.pool).await.map_err(db_err)?;
                let order = Self::order_row(r.as_ref().ok_or(StoreError::NotFound)?)?;
                let instance = self.get_instance(order.instance_id).await?.ok_or(StoreError::NotFound)?;
                let balances = self.balances(order.org).await?;
                Ok(OrderOutcome { order, instance, balances, replayed })
            }

            /// Loads a customer's instance for an order operation (404 for another's).
            async fn own_inst(tx: &mut sqlx::Transaction<'static, $Db>, c: &OrderCtx, id: i64) -> StoreResult<InstanceRecord> {
                let inst = Self::inst_in(tx, id).await?.ok_or(StoreError::NotFound)?;
                if inst.org != c.org {
                    return Err(StoreError::NotFound);
                }
                Ok(inst)
            }

            fn prepaid_quote(
                inst: &InstanceRecord,
                pricing: &SpecPricing,
                months: u32,
                region: &str,
                discounts: &[Discount],
            ) -> StoreResult<Breakdown> {
                quote(&QuoteRequest {
                    pricing,
                    mode: ChargingMode::Prepaid,
                    months,
                    quantity: inst.quantity,
                    customer: inst.org,
                    region,
                    discounts,
                    coupon: None,
                })
                .map_err(|e| rejected(e.to_string()))
            }

            async fn region_of(tx: &mut sqlx::Transaction<'static, $Db>, product: i64) -> StoreResult<String> {
                let r = sqlx::query("SELECT region FROM products WHERE id = $1")
                    .bind(product)
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(db_err)?;
                Ok(col!(r, "region"))
            }

            /// Where a refund's credit part really goes: back to the credit account only as
            /// far as credit is still drawn (a recharge may have repaid it since), the rest
            /// to cash.
            fn settle_credit(by_source: &Funding, b: &Balances) -> StoreResult<Funding> {
                let drawn = Fen::new(b.credit_used_fen.max(0)).map_err(merr)?;
                let to_credit = by_source.credit_fen.min(drawn);
                Ok(Funding {
                    cash_fen: by_source
                        .cash_fen
                        .checked_add(by_source.credit_fen.checked_sub(to_credit).map_err(merr)?)
                        .map_err(merr)?,
                    voucher_fen: by_source.voucher_fen,
                    credit_fen: to_credit,
                })
            }

            /// The prorated refund of the current span of a prepaid instance at `now`.
            fn prepaid_refund(inst: &InstanceRecord, now_ms: i64) -> StoreResult<(Funding, Shares)> {
                let paid = inst.paid.total().map_err(merr)?;
                let refund = match (inst.status, inst.ends_ms) {
                    (InstanceStatus::Pending, _) => paid,
                    (_, Some(end)) => refund_amount(paid, inst.span_start_ms, end, now_ms).map_err(merr)?,
                    (_, None) => Fen::ZERO,
                };
                let by_source = split_refund(refund, &inst.paid).map_err(merr)?;
                let shares = refund_shares(refund, paid, &inst.paid_shares).map_err(merr)?;
                Ok((by_source, shares))
            }
        }

        #[async_trait::async_trait]
        impl MoneyStore for $Store {
            async fn create_category(&self, name: &str, at_ms: i64) -> StoreResult<CategoryRecord> {
                let r = sqlx::query("INSERT INTO categories (name, created_ms) VALUES ($1, $2) RETURNING id")
                    .bind(name.to_owned())
                    .bind(at_ms)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(CategoryRecord { id: col!(r, "id"), name: name.to_owned(), created_ms: at_ms })
            }

            async fn list_categories(&self) -> StoreResult<Vec<CategoryRecord>> {
                let rows = sqlx::query("SELECT id, name, created_ms FROM categories ORDER BY id LIMIT $1")
                    .bind(limit_of(crate::PAGE_SIZE_MAX))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter()
                    .map(|r| Ok(CategoryRecord { id: col!(r, "id"), name: col!(r, "name"), created_ms: col!(r, "created_ms") }))
                    .collect()
            }

            async fn create_product(&self, p: &NewProduct) -> StoreResult<ProductRecord> {
                let r = sqlx::query(
                    "INSERT INTO products (category_id, name, supplier_org_id, region, manual_provisioning, supplier_share_bp, published, created_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                )
                .bind(p.category_id)
                .bind(p.name.clone())
                .bind(p.supplier.get())
                .bind(p.region.clone())
                .bind(p.manual_provisioning)
                .bind(i64::from(p.supplier_share.get()))
                .bind(false)
                .bind(p.at_ms)
                .fetch_one(&self.pool)
                .await
                .map_err(|e| match &e {
                    sqlx::Error::Database(d) if d.is_foreign_key_violation() => StoreError::NotFound,
                    _ => db_err(e),
                })?;
                self.get_product(col!(r, "id")).await?.ok_or(StoreError::NotFound)
            }

            async fn get_product(&self, id: i64) -> StoreResult<Option<ProductRecord>> {
                let sql = format!("SELECT {PRODUCT_COLS} FROM products WHERE id = $1");
                let r = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await.map_err(db_err)?;
                r.as_ref().map(Self::product_row).transpose()
            }

            async fn list_products(&self, published_only: bool, after: i64, limit: u32) -> StoreResult<Vec<ProductRecord>> {
                let sql = format!(
                    "SELECT {PRODUCT_COLS} FROM products WHERE (published = $1 OR $2) AND id > $3 ORDER BY id LIMIT $4"
                );
                let rows = sqlx::query(&sql)
                    .bind(true)
                    .bind(!published_only)
                    .bind(after)
                    .bind(limit_of(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(Self::product_row).collect()
            }

            async fn set_product_published(&self, id: i64, published: bool) -> StoreResult<()> {
                let n = sqlx::query("UPDATE products SET published = $1 WHERE id = $2")
                    .bind(published)
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?
                    .rows_affected();
                if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            }

            async fn create_spec(&self, s: &NewSpec) -> StoreResult<SpecRecord> {
                if self.get_product(s.product_id).await?.is_none() {
                    return Err(StoreError::NotFound);
                }
                let r = sqlx::query(
                    "INSERT INTO specs (product_id, family, name, pricing, version, created_ms) VALUES ($1, $2, $3, $4, 1, $5) RETURNING id",
                )
                .bind(s.product_id)
                .bind(s.family.clone())
                .bind(s.name.clone())
                .bind(to_json(&s.pricing)?)
                .bind(s.at_ms)
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
                self.get_spec(col!(r, "id")).await?.ok_or(StoreError::NotFound)
            }

            async fn get_spec(&self, id: i64) -> StoreResult<Option<SpecRecord>> {
                let sql = format!("SELECT {SPEC_COLS} FROM specs WHERE id = $1");
                let r = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await.map_err(db_err)?;
                r.as_ref().map(Self::spec_row).transpose()
            }

            async fn list_specs(&self, product_id: i64) -> StoreResult<Vec<SpecRecord>> {
                let sql = format!("SELECT {SPEC_COLS} FROM specs WHERE product_id = $1 ORDER BY id LIMIT $2");
                let rows = sqlx::query(&sql)
                    .bind(product_id)
                    .bind(limit_of(crate::PAGE_SIZE_MAX))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(Self::spec_row).collect()
            }

            async fn specs_of_products(&self, product_ids: &[i64]) -> StoreResult<Vec<SpecRecord>> {
                let list = crate::sql::id_list(product_ids.iter().copied());
                if list.is_empty() {
                    return Ok(Vec::new());
                }
                let sql = format!("SELECT {SPEC_COLS} FROM specs WHERE product_id IN ({list}) ORDER BY product_id, id");
                let rows = sqlx::query(&sql)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(Self::spec_row).collect()
            }

            async fn order_counts_by_day(&self, from_ms: i64, to_ms: i64) -> StoreResult<Vec<(i64, i64)>> {
                let rows = sqlx::query(
                    "SELECT CAST((created_ms + $3) / $4 AS BIGINT) AS day, CAST(COUNT(*) AS BIGINT) AS n FROM orders \
                     WHERE created_ms >= $1 AND created_ms < $2 GROUP BY day ORDER BY day",
                )
                .bind(from_ms)
                .bind(to_ms)
                .bind(suanli_platform_domain::money::CST_OFFSET_MS)
                .bind(suanli_platform_domain::money::DAY_MS)
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                rows.iter()
                    .map(|r| {
                        let day: i64 = col!(r, "day");
                        Ok((day * suanli_platform_domain::money::DAY_MS - suanli_platform_domain::money::CST_OFFSET_MS, col!(r, "n")))
                    })
                    .collect()
            }

            async fn instance_counts_by_status(&self) -> StoreResult<Vec<(String, i64)>> {
                let rows = sqlx::query("SELECT status, CAST(COUNT(*) AS BIGINT) AS n FROM instances GROUP BY status ORDER BY status")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(|r| Ok((col!(r, "status"), col!(r, "n")))).collect()
            }

            async fn set_spec_pricing(&self, id: i64, pricing: &SpecPricing) -> StoreResult<SpecRecord> {
                let n = sqlx::query("UPDATE specs SET pricing = $1, version = version + 1 WHERE id = $2")
                    .bind(to_json(pricing)?)
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?
                    .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                self.get_spec(id).await?.ok_or(StoreError::NotFound)
            }

            async fn create_discount(&self, scope: &DiscountScope, off: Bp, at_ms: i64) -> StoreResult<Discount> {
                let r = sqlx::query("INSERT INTO discounts (rule, off_bp, active, created_ms) VALUES ($1, $2, $3, $4) RETURNING id")
                    .bind(to_json(scope)?)
                    .bind(i64::from(off.get()))
                    .bind(true)
                    .bind(at_ms)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(Discount { id: col!(r, "id"), scope: scope.clone(), off_bp: off })
            }

            async fn list_discounts(&self) -> StoreResult<Vec<Discount>> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                let d = Self::discounts_in(&mut *tx).await?;
                tx.commit().await.map_err(db_err)?;
                Ok(d)
            }

            async fn create_coupon(&self, c: &NewCoupon) -> StoreResult<CouponRecord> {
                let r = sqlx::query(
                    "INSERT INTO coupons (code, org_id, value, min_spend_fen, expires_ms, created_ms) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(c.code.clone())
                .bind(c.org.map(OrgId::get))
                .bind(to_json(&c.value)?)
                .bind(c.min_spend.get())
                .bind(c.expires_ms)
                .bind(c.at_ms)
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(CouponRecord {
                    id: col!(r, "id"),
                    code: c.code.clone(),
                    org: c.org,
                    value: c.value,
                    min_spend_fen: c.min_spend,
                    expires_ms: c.expires_ms,
                    used_order_id: None,
                    created_ms: c.at_ms,
                })
            }

            async fn balances(&self, org: OrgId) -> StoreResult<Balances> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                let b = Self::tx_balances(&mut tx, org).await?;
                tx.commit().await.map_err(db_err)?;
                Ok(b)
            }

            async fn set_credit_line(&self, org: OrgId, limit: Fen, by: UserId, at_ms: i64) -> StoreResult<Balances> {
                let (_g, mut tx) = self.m_begin(Some(org)).await?;
                sqlx::query(
                    "INSERT INTO credit_lines (org_id, limit_fen, set_by, set_ms) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (org_id) DO UPDATE SET limit_fen = excluded.limit_fen, set_by = excluded.set_by, set_ms = excluded.set_ms",
                )
                .bind(org.get())
                .bind(limit.get())
                .bind(by.get())
                .bind(at_ms)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                let b = Self::tx_balances(&mut tx, org).await?;
                tx.commit().await.map_err(db_err)?;
                Ok(b)
            }

            async fn grant_voucher(&self, org: OrgId, amount: Fen, k: &IdemKey, at_ms: i64) -> StoreResult<Balances> {
                let (_g, mut tx) = self.m_begin(Some(org)).await?;
                let jt = TxBuilder::new(TxKind::VoucherGrant)
                    .debit(Account::Revenue, amount)
                    .credit(Account::Voucher(org), amount)
                    .build(key(format!("voucher:{org}:{}", k.as_str()))?, "cash voucher granted")
                    .map_err(jerr)?;
                Self::post_idem(&mut tx, &jt, Some(org), "voucher", at_ms).await?;
                let b = Self::tx_balances(&mut tx, org).await?;
                tx.commit().await.map_err(db_err)?;
                Ok(b)
            }

            async fn statements(&self, org: OrgId, after: i64, limit: u32) -> StoreResult<Vec<StatementLine>> {
                let rows = sqlx::query(
                    "SELECT l.id, l.tx_id, t.at_ms, t.kind, t.channel, l.account, l.side, l.amount_fen, l.balance_after, t.memo, t.instance_id \
                     FROM journal_lines l JOIN journal_tx t ON t.id = l.tx_id \
                     WHERE l.account IN ($1, $2, $3, $4) AND l.id > $5 ORDER BY l.id LIMIT $6",
                )
                .bind(Account::Cash(org).key())
                .bind(Account::Voucher(org).key())
                .bind(Account::Credit(org).key())
                .bind(Account::Frozen(org).key())
                .bind(after)
                .bind(limit_of(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                rows.iter()
                    .map(|r| {
                        let kind: String = col!(r, "kind");
                        let tk = TxKind::parse(&kind).ok_or_else(|| cor("tx kind"))?;
                        let acc: String = col!(r, "account");
                        let account = Account::parse(&acc).ok_or_else(|| cor("account"))?;
                        let side: String = col!(r, "side");
                        let side = Side::parse(&side).ok_or_else(|| cor("side"))?;
                        let amount = fen(col!(r, "amount_fen"))?;
                        let channel: String = col!(r, "channel");
                        let channel = match tk {
                            TxKind::Recharge | TxKind::Withdrawal | TxKind::VoucherGrant => channel,
                            _ => account.channel().to_owned(),
                        };
                        Ok(StatementLine {
                            id: col!(r, "id"),
                            tx_id: col!(r, "tx_id"),
                            at_ms: col!(r, "at_ms"),
                            kind: tk.statement_type().to_owned(),
                            tx_kind: kind,
                            channel,
                            account: account.channel().to_owned(),
                            amount_fen: account.signed(side, amount),
                            balance_after_fen: r.try_get::<Option<i64>, _>("balance_after").map_err(cor)?.unwrap_or(0),
                            memo: col!(r, "memo"),
                            instance_id: col!(r, "instance_id"),
                        })
                    })
                    .collect()
            }

            async fn journal_balances(&self) -> StoreResult<Vec<(String, i64)>> {
                let rows = sqlx::query(
                    "SELECT account, side, CAST(SUM(amount_fen) AS BIGINT) AS s FROM journal_lines GROUP BY account, side ORDER BY account",
                )
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                let mut out: std::collections::BTreeMap<String, i64> = Default::default();
                for r in &rows {
                    let acc: String = col!(r, "account");
                    let side: String = col!(r, "side");
                    let s: i64 = col!(r, "s");
                    let a = Account::parse(&acc).ok_or_else(|| cor("account"))?;
                    let side = Side::parse(&side).ok_or_else(|| cor("side"))?;
                    *out.entry(acc).or_default() += a.signed(side, fen(s)?);
                }
                Ok(out.into_iter().collect())
            }

            async fn check_projection(&self) -> StoreResult<Vec<String>> {
                let journal: std::collections::BTreeMap<String, i64> = self
                    .journal_balances()
                    .await?
                    .into_iter()
                    .filter(|(a, _)| Account::parse(a).and_then(Account::customer).is_some())
                    .collect();
                let rows = sqlx::query("SELECT account, balance FROM account_balances")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                let mut projected = std::collections::BTreeMap::new();
                for r in &rows {
                    let a: String = col!(r, "account");
                    let b: i64 = col!(r, "balance");
                    projected.insert(a, b);
                }
                let mut bad = Vec::new();
                for k in journal.keys().chain(projected.keys()) {
                    let (j, p) = (journal.get(k).copied().unwrap_or(0), projected.get(k).copied().unwrap_or(0));
                    if j != p && !bad.contains(k) {
                        bad.push(k.clone());
                    }
                }
                Ok(bad)
            }

            async fn reverse_journal_tx(&self, tx_id: i64, k: &IdemKey, at_ms: i64) -> StoreResult<i64> {
                let head = sqlx::query("SELECT idem_key, kind, org_id, memo FROM journal_tx WHERE id = $1")
                    .bind(tx_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?
                    .ok_or(StoreError::NotFound)?;
                let org: Option<i64> = col!(head, "org_id");
                let org = org.map(oid).transpose()?;
                let (_g, mut tx) = self.m_begin(org).await?;
                let rows = sqlx::query("SELECT account, side, amount_fen FROM journal_lines WHERE tx_id = $1 ORDER BY id")
                    .bind(tx_id)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let mut lines = Vec::new();
                for r in &rows {
                    let a: String = col!(r, "account");
                    let s: String = col!(r, "side");
                    lines.push(Line {
                        account: Account::parse(&a).ok_or_else(|| cor("account"))?,
                        side: Side::parse(&s).ok_or_else(|| cor("side"))?,
                        amount: fen(col!(r, "amount_fen"))?,
                    });
                }
                let kind: String = col!(head, "kind");
                let memo: String = col!(head, "memo");
                let original = JournalTx::new(
                    key(col!(head, "idem_key"))?,
                    TxKind::parse(&kind).ok_or_else(|| cor("kind"))?,
                    lines,
                    &memo,
                )
                .map_err(cor)?;
                let rev = original.reversal(key(format!("reversal:{}", k.as_str()))?);
                // A replay of the same request answers the reversal it made.
                let prior = sqlx::query("SELECT id, body_digest FROM journal_tx WHERE idem_key = $1")
                    .bind(rev.key().as_str().to_owned())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
                if let Some(r) = prior {
                    let digest: String = col!(r, "body_digest");
                    return if digest == rev.body_digest() { Ok(col!(r, "id")) } else { Err(StoreError::KeyReuse) };
                }
                // Never a reversal of a reversal, never two reversals of one transaction.
                if original.kind() == TxKind::Reversal {
                    return Err(StoreError::ReversalOfReversal { tx_id });
                }
                let done = sqlx::query("SELECT reversal_tx_id FROM journal_reversals WHERE original_tx_id = $1")
                    .bind(tx_id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
                if done.is_some() {
                    return Err(StoreError::AlreadyReversed { tx_id });
                }
                let id = Self::post_tx(&mut tx, &rev, org, None, "reversal", at_ms).await?;
                // The primary key also settles a race between two reversals (PostgreSQL
                // transactions without a customer lock).
                sqlx::query("INSERT INTO journal_reversals (original_tx_id, reversal_tx_id) VALUES ($1, $2)")
                    .bind(tx_id)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| match db_err(e) {
                        StoreError::Conflict(_) => StoreError::AlreadyReversed { tx_id },
                        other => other,
                    })?;
                tx.commit().await.map_err(db_err)?;
                Ok(id)
            }

            async fn create_payment(&self, org: OrgId, user: UserId, provider: &str, provider_ref: &str, amount: Fen, at_ms: i64) -> StoreResult<PaymentRecord> {
                let r = sqlx::query(
                    "INSERT INTO payments (org_id, user_id, provider, provider_ref, amount_fen, status, created_ms) \
                     VALUES ($1, $2, $3, $4, $5, 'pending', $6) RETURNING id",
                )
                .bind(org.get())
                .bind(user.get())
                .bind(provider.to_owned())
                .bind(provider_ref.to_owned())
                .bind(amount.get())
                .bind(at_ms)
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
                self.get_payment(col!(r, "id")).await?.ok_or(StoreError::NotFound)
            }

            async fn get_payment(&self, id: i64) -> StoreResult<Option<PaymentRecord>> {
                let sql = format!("SELECT {PAYMENT_COLS} FROM payments WHERE id = $1");
                let r = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await.map_err(db_err)?;
                r.as_ref().map(Self::payment_row).transpose()
            }

            async fn confirm_payment(&self, provider: &str, provider_ref: &str, amount: Fen, at_ms: i64) -> StoreResult<PaymentRecord> {
                let sql = format!("SELECT {PAYMENT_COLS} FROM payments WHERE provider = $1 AND provider_ref = $2");
                let find = |p: &sqlx::Pool<$Db>| {
                    let sql = sql.clone();
                    let (provider, provider_ref) = (provider.to_owned(), provider_ref.to_owned());
                    let p = p.clone();
                    async move {
                        sqlx::query(&sql).bind(provider).bind(provider_ref).fetch_optional(&p).await.map_err(db_err)
                    }
                };
                let first = find(&self.pool).await?.ok_or(StoreError::NotFound)?;
                let pay = Self::payment_row(&first)?;
                if pay.amount_fen != amount {
                    return Err(rejected("amount does not match the payment"));
                }
                let (_g, mut tx) = self.m_begin(Some(pay.org)).await?;
                let r = sqlx::query(&sql)
                    .bind(provider.to_owned())
                    .bind(provider_ref.to_owned())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let pay = Self::payment_row(&r)?;
                if pay.status == "confirmed" {
                    return Ok(pay);
                }
                let bal = Self::tx_balances(&mut tx, pay.org).await?;
                let jt = recharge_tx(
                    key(format!("payment:{}", pay.id))?,
                    pay.org,
                    pay.amount_fen,
                    Fen::new(bal.credit_used_fen.max(0)).map_err(merr)?,
                    &format!("recharge via {}", pay.provider),
                )
                .map_err(jerr)?;
                let jid = Self::post_tx(&mut tx, &jt, Some(pay.org), None, &pay.provider, at_ms).await?;
                sqlx::query("UPDATE payments SET status = 'confirmed', confirmed_ms = $1, journal_tx_id = $2 WHERE id = $3")
                    .bind(at_ms)
                    .bind(jid)
                    .bind(pay.id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                self.get_payment(pay.id).await?.ok_or(StoreError::NotFound)
            }

            async fn create_offline(&self, n: &NewOffline) -> StoreResult<OfflineRecord> {
                let r = sqlx::query(
                    "INSERT INTO offline_transfers (org_id, direction, amount_fen, reference, entered_by, entered_ms, status) \
                     VALUES ($1, $2, $3, $4, $5, $6, 'pending') RETURNING id",
                )
                .bind(n.org.get())
                .bind(n.direction.as_str())
                .bind(n.amount.get())
                .bind(n.reference.clone())
                .bind(n.entered_by.get())
                .bind(n.at_ms)
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
                let id: i64 = col!(r, "id");
                let sql = format!("SELECT {OFFLINE_COLS} FROM offline_transfers WHERE id = $1");
                let r = sqlx::query(&sql).bind(id).fetch_one(&self.pool).await.map_err(db_err)?;
                Self::offline_row(&r)
            }

            async fn approve_offline(&self, id: i64, by: UserId, at_ms: i64) -> StoreResult<OfflineRecord> {
                let sql = format!("SELECT {OFFLINE_COLS} FROM offline_transfers WHERE id = $1");
                let r = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await.map_err(db_err)?;
                let first = Self::offline_row(r.as_ref().ok_or(StoreError::NotFound)?)?;
                let (_g, mut tx) = self.m_begin(Some(first.org)).await?;
                let r = sqlx::query(&sql).bind(id).fetch_one(&mut *tx).await.map_err(db_err)?;
                let t = Self::offline_row(&r)?;
                if t.status != "pending" {
                    return Err(rejected("the transfer is not pending"));
                }
                if t.entered_by == by {
                    return Err(rejected("four eyes: the approver must not be the user who entered it"));
                }
                let bal = Self::tx_balances(&mut tx, t.org).await?;
                let k = key(format!("offline:{}", t.id))?;
                let memo = format!("offline {} {}", t.direction.as_str(), t.reference);
                let jt = match t.direction {
                    Direction::In => recharge_tx(k, t.org, t.amount_fen, Fen::new(bal.credit_used_fen.max(0)).map_err(merr)?, &memo),
                    Direction::Out => withdrawal_tx(k, t.org, t.amount_fen, Fen::new(bal.cash_fen.max(0)).map_err(merr)?, &memo),
                }
                .map_err(jerr)?;
                let jid = Self::post_tx(&mut tx, &jt, Some(t.org), None, "offline", at_ms).await?;
                sqlx::query(
                    "UPDATE offline_transfers SET status = 'approved', decided_by = $1, decided_ms = $2, journal_tx_id = $3 \
                     WHERE id = $4 AND status = 'pending'",
                )
                .bind(by.get())
                .bind(at_ms)
                .bind(jid)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                let r = sqlx::query(&sql).bind(id).fetch_one(&mut *tx).await.map_err(db_err)?;
                let out = Self::offline_row(&r)?;
                tx.commit().await.map_err(db_err)?;
                Ok(out)
            }

            async fn request_grant(&self, g: &GrantRequest) -> StoreResult<GrantOutcome> {
                let (_g, mut tx) = self.m_begin(Some(g.org)).await?;
                // PostgreSQL: one grant request of a user at a time (its limit counts all
                // its grants today, to any customer); user locks use negative keys.
                if !$lock.is_empty() {
                    sqlx::query($lock).bind(-g.by.get()).execute(&mut *tx).await.map_err(db_err)?;
                }
                let sql = format!("SELECT {GRANT_COLS} FROM money_grants WHERE id = $1");
                if let Some(k) = &g.key {
                    let prior = sqlx::query(&format!("SELECT {GRANT_COLS} FROM money_grants WHERE org_id = $1 AND kind = $2 AND idem_key = $3"))
                        .bind(g.org.get())
                        .bind(g.kind.as_str())
                        .bind(k.as_str().to_owned())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    if let Some(r) = prior {
                        let rec = Self::grant_row(&r)?;
                        if rec.amount_fen != g.amount {
                            return Err(StoreError::KeyReuse);
                        }
                        let balances = if rec.status == "pending" { None } else { Some(Self::tx_balances(&mut tx, g.org).await?) };
                        return Ok(GrantOutcome { grant: rec, balances });
                    }
                }
                let alone = match g.kind {
                    GrantKind::Voucher => {
                        let r = sqlx::query(
                            "SELECT CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) AS total FROM money_grants \
                             WHERE entered_by = $1 AND kind = 'voucher' AND status = 'alone' AND entered_ms >= $2",
                        )
                        .bind(g.by.get())
                        .bind(g.day_start_ms)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(db_err)?;
                        let today: i64 = col!(r, "total");
                        today.checked_add(g.amount.get()).is_some_and(|t| t <= g.alone_max.get())
                    }
                    GrantKind::CreditLine => g.amount <= g.alone_max,
                };
                let r = sqlx::query(
                    "INSERT INTO money_grants (org_id, kind, amount_fen, idem_key, entered_by, entered_ms, status) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(g.org.get())
                .bind(g.kind.as_str())
                .bind(g.amount.get())
                .bind(g.key.as_ref().map(|k| k.as_str().to_owned()))
                .bind(g.by.get())
                .bind(g.at_ms)
                .bind(if alone { "alone" } else { "pending" })
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
                let id: i64 = col!(r, "id");
                let r = sqlx::query(&sql).bind(id).fetch_one(&mut *tx).await.map_err(db_err)?;
                let rec = Self::grant_row(&r)?;
                let balances = if alone {
                    Self::do_grant(&mut tx, &rec, g.by, g.at_ms).await?;
                    Some(Self::tx_balances(&mut tx, g.org).await?)
                } else {
                    None
                };
                tx.commit().await.map_err(db_err)?;
                Ok(GrantOutcome { grant: rec, balances })
            }

            async fn approve_grant(&self, id: i64, by: UserId, at_ms: i64) -> StoreResult<GrantOutcome> {
                let sql = format!("SELECT {GRANT_COLS} FROM money_grants WHERE id = $1");
                let r = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await.map_err(db_err)?;
                let first = Self::grant_row(r.as_ref().ok_or(StoreError::NotFound)?)?;
                let (_g, mut tx) = self.m_begin(Some(first.org)).await?;
                let r = sqlx::query(&sql).bind(id).fetch_one(&mut *tx).await.map_err(db_err)?;
                let g = Self::grant_row(&r)?;
                if g.status != "pending" {
                    return Err(rejected("the grant is not pending"));
                }
                if g.entered_by == by {
                    return Err(rejected("four eyes: the approver must not be the user who asked for it"));
                }
                Self::do_grant(&mut tx, &g, by, at_ms).await?;
                sqlx::query("UPDATE money_grants SET status = 'approved', decided_by = $1, decided_ms = $2 WHERE id = $3 AND status = 'pending'")
                    .bind(by.get())
                    .bind(at_ms)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let r = sqlx::query(&sql).bind(id).fetch_one(&mut *tx).await.map_err(db_err)?;
                let rec = Self::grant_row(&r)?;
                let balances = Self::tx_balances(&mut tx, g.org).await?;
                tx.commit().await.map_err(db_err)?;
                Ok(GrantOutcome { grant: rec, balances: Some(balances) })
            }

            async fn grant_worklist(&self, limit: u32) -> StoreResult<Vec<GrantRecord>> {
                let sql = format!("SELECT {GRANT_COLS} FROM money_grants {WORKLIST_ORDER} LIMIT $1");
                let rows = sqlx::query(&sql).bind(limit_of(limit)).fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter().map(Self::grant_row).collect()
            }

            async fn offline_worklist(&self, limit: u32) -> StoreResult<Vec<OfflineRecord>> {
                let sql = format!("SELECT {OFFLINE_COLS} FROM offline_transfers {WORKLIST_ORDER} LIMIT $1");
                let rows = sqlx::query(&sql).bind(limit_of(limit)).fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter().map(Self::offline_row).collect()
            }

            async fn list_grants(&self, after: i64, limit: u32) -> StoreResult<Vec<GrantRecord>> {
                let sql = format!("SELECT {GRANT_COLS} FROM money_grants WHERE id > $1 ORDER BY id LIMIT $2");
                let rows = sqlx::query(&sql).bind(after).bind(limit_of(limit)).fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter().map(Self::grant_row).collect()
            }

            async fn list_offline(&self, after: i64, limit: u32) -> StoreResult<Vec<OfflineRecord>> {
                let sql = format!("SELECT {OFFLINE_COLS} FROM offline_transfers WHERE id > $1 ORDER BY id LIMIT $2");
                let rows = sqlx::query(&sql).bind(after).bind(limit_of(limit)).fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter().map(Self::offline_row).collect()
            }

            async fn place_order(&self, o: &PlaceOrder) -> StoreResult<OrderOutcome> {
                self.place_order_serialised(o).await
            }

            async fn renew(&self, c: &OrderCtx, instance: i64, months: u32) -> StoreResult<OrderOutcome> {
                if months == 0 || months > TERM_MONTHS_MAX {
                    return Err(rejected(format!("term must be 1 to {TERM_MONTHS_MAX} months")));
                }
                let idem = format!("renew:{}:{}", c.org, c.key.as_str());
                let (_g, mut tx) = self.m_begin(Some(c.org)).await?;
                if let Some(id) = Self::idem_check(&mut tx, &idem, &c.digest).await? {
                    tx.rollback().await.map_err(db_err)?;
                    drop(_g);
                    return self.outcome(id, true).await;
                }
                let mut inst = Self::own_inst(&mut tx, c, instance).await?;
                if inst.mode != ChargingMode::Prepaid {
                    return Err(rejected("only prepaid instances are renewed"));
                }
                if matches!(inst.status, InstanceStatus::Released | InstanceStatus::Paused) {
                    return Err(rejected("the instance is released"));
                }
                let total_months = inst.months_total.saturating_add(months);
                if total_months > TERM_MONTHS_MAX * 2 {
                    return Err(rejected("the instance's total term would be too long"));
                }
                // Terms run from the first start without gaps; a renewal whose new end is
                // already past would charge for time nobody can use.
                if inst.status != InstanceStatus::Pending && add_months(inst.anchor_ms, total_months) <= c.at_ms {
                    return Err(rejected("the renewed term would already have ended: renew for more months or order anew"));
                }
                let region = Self::region_of(&mut tx, inst.product_id).await?;
                let discounts = Self::discounts_in(&mut *tx).await?;
                let pricing = inst.pricing.clone();
                let b = Self::prepaid_quote(&inst, &pricing, months, &region, &discounts)?;
                let bal = Self::tx_balances(&mut tx, c.org).await?;
                let funding = fund(b.total_fen, &bal).map_err(jerr)?;
                let shares = shares_of(b.total_fen, inst.supplier_share_bp).map_err(merr)?;
                inst.months_total = total_months;
                if inst.status != InstanceStatus::Pending {
                    inst.ends_ms = Some(add_months(inst.anchor_ms, total_months));
                    inst.status = InstanceStatus::Active;
                    inst.reminders_sent = 0;
                }
                inst.paid = inst.paid.plus(&funding).map_err(merr)?;
                inst.paid_shares = add_shares(&inst.paid_shares, &shares).map_err(merr)?;
                Self::save_inst(&mut tx, &inst).await?;
                let order = Self::insert_order(&mut tx, &OrderRow { ctx: c, kind: "renewal", inst: &inst, months, breakdown: &b, charged: b.total_fen, refunded: Fen::ZERO, funding }).await?;
                let order_id = order.id;
                if !b.total_fen.is_zero() {
                    let jt = payment_tx(TxKind::Renewal, key(format!("order:{order_id}:pay"))?, c.org, inst.supplier, &funding, &shares, &format!("renewal order {order_id}")).map_err(jerr)?;
                    Self::post_tx(&mut tx, &jt, Some(c.org), Some(inst.id), "order", c.at_ms).await?;
                }
                Self::bill_item(&mut tx, &inst, "prepaid", b.total_fen, b.discount_fen(), Fen::ZERO, c.at_ms).await?;
                Self::idem_put(&mut tx, &idem, &c.digest, order_id).await?;
                let balances = Self::tx_balances(&mut tx, c.org).await?;
                tx.commit().await.map_err(db_err)?;
                drop(_g);
                Ok(OrderOutcome { order, instance: inst, balances, replayed: false })
            }

            async fn unsubscribe(&self, c: &OrderCtx, instance: i64) -> StoreResult<OrderOutcome> {
                let idem = format!("unsub:{}:{}", c.org, c.key.as_str());
                let (_g, mut tx) = self.m_begin(Some(c.org)).await?;
                if let Some(id) = Self::idem_check(&mut tx, &idem, &c.digest).await? {
                    tx.rollback().await.map_err(db_err)?;
                    drop(_g);
                    return self.outcome(id, true).await;
                }
                let mut inst = Self::own_inst(&mut tx, c, instance).await?;
                if inst.status == InstanceStatus::Released {
                    return Err(rejected("the instance is already released"));
                }
                let empty = Breakdown {
                    mode: inst.mode,
                    months: 0,
                    quantity: inst.quantity,
                    list_fen: Fen::ZERO,
                    steps: Vec::new(),
                    total_fen: Fen::ZERO,
                    deposit_fen: Fen::ZERO,
                    pricing: inst.pricing.clone(),
                };
                let (refund, by_source, charged) = match inst.mode {
                    ChargingMode::Prepaid => {
                        let (by_source, shares) = Self::prepaid_refund(&inst, c.at_ms)?;
                        let refund = by_source.total().map_err(merr)?;
                        inst.paid = inst.paid.minus(&by_source).map_err(merr)?;
                        inst.paid_shares = sub_shares(&inst.paid_shares, &shares).map_err(merr)?;
                        (refund, (by_source, shares), Fen::ZERO)
                    }
                    ChargingMode::Payg => {
                        let mut charged = Fen::ZERO;
                        if matches!(inst.status, InstanceStatus::Active) && c.at_ms > inst.metered_ms {
                            let minutes = suanli_platform_domain::instance::MeteredUsage.minutes(inst.id, inst.metered_ms, c.at_ms);
                            charged = Self::charge_usage(&mut tx, &mut inst, minutes, c.at_ms).await?.0;
                        }
                        let settled = Self::settle_owed(&mut tx, &mut inst, c.at_ms).await?;
                        charged = charged.checked_add(settled).map_err(merr)?;
                        if !inst.usage_unpaid_fen.is_zero() {
                            // Released instances are never charged again: owed usage must be
                            // paid before the instance goes, never written off.
                            return Err(rejected(format!(
                                "{} fen of usage is unpaid; recharge, then unsubscribe",
                                inst.usage_unpaid_fen.get()
                            )));
                        }
                        Self::void_hold(&mut tx, &inst, c.at_ms).await?;
                        (Fen::ZERO, (Funding::default(), Shares::default()), charged)
                    }
                };
                inst.status = InstanceStatus::Released;
                inst.released_ms = Some(c.at_ms);
                Self::save_inst(&mut tx, &inst).await?;
                let bal = Self::tx_balances(&mut tx, c.org).await?;
                let back = Self::settle_credit(&by_source.0, &bal)?;
                let order = Self::insert_order(&mut tx, &OrderRow { ctx: c, kind: "unsubscribe", inst: &inst, months: 0, breakdown: &empty, charged, refunded: refund, funding: back }).await?;
                let order_id = order.id;
                if !refund.is_zero() {
                    let jt = refund_tx(TxKind::Refund, key(format!("order:{order_id}:refund"))?, c.org, inst.supplier, &back, &by_source.1, &format!("refund of unsubscribe order {order_id}")).map_err(jerr)?;
                    Self::post_tx(&mut tx, &jt, Some(c.org), Some(inst.id), "order", c.at_ms).await?;
                    Self::bill_item(&mut tx, &inst, "refund", refund, Fen::ZERO, Fen::ZERO, c.at_ms).await?;
                }
                Self::message(&mut tx, c.org, Some(inst.id), "instance released (unsubscribed)", c.at_ms).await?;
                Self::idem_put(&mut tx, &idem, &c.digest, order_id).await?;
                let balances = Self::tx_balances(&mut tx, c.org).await?;
                tx.commit().await.map_err(db_err)?;
                drop(_g);
                Ok(OrderOutcome { order, instance: inst, balances, replayed: false })
            }

            async fn change_spec(&self, c: &OrderCtx, instance: i64, spec: i64) -> StoreResult<OrderOutcome> {
                let idem = format!("change:{}:{}", c.org, c.key.as_str());
                let (_g, mut tx) = self.m_begin(Some(c.org)).await?;
                if let Some(id) = Self::idem_check(&mut tx, &idem, &c.digest).await? {
                    tx.rollback().await.map_err(db_err)?;
                    drop(_g);
                    return self.outcome(id, true).await;
                }
                let mut inst = Self::own_inst(&mut tx, c, instance).await?;
                if inst.mode != ChargingMode::Prepaid || !matches!(inst.status, InstanceStatus::Active | InstanceStatus::Expiring) {
                    return Err(rejected("only active prepaid instances change spec"));
                }
                let (new_spec, product) = Self::spec_product_in(&mut *tx, spec).await?;
                if new_spec.product_id != inst.product_id || !product.published {
                    return Err(rejected("the new spec must belong to the same published product"));
                }
                if new_spec.id == inst.spec_id {
                    return Err(rejected("the instance already has this spec"));
                }
                inst.ends_ms.ok_or_else(|| cor("prepaid instance without end"))?;
                let (by_source, shares_back) = Self::prepaid_refund(&inst, c.at_ms)?;
                let refund = by_source.total().map_err(merr)?;
                let discounts = Self::discounts_in(&mut *tx).await?;
                let full = Self::prepaid_quote(&inst, &new_spec.pricing, inst.months_total, &product.region, &discounts)?;
                // The terms already paid keep their prices and discounts: the rest of the
                // term costs what is refunded, scaled by the specs' monthly list prices
                // (rounded up). Re-pricing the whole term at the new spec's long-term rate
                // would let a customer switch back and forth for money.
                let old_monthly = inst.pricing.prepaid.as_ref().map(|p| p.monthly_fen).ok_or_else(|| cor("prepaid instance without prepaid pricing"))?;
                let new_monthly = new_spec.pricing.prepaid.as_ref().map(|p| p.monthly_fen).ok_or_else(|| rejected("the new spec is not sold prepaid"))?;
                let as_u128 = |f: Fen| u128::try_from(f.get()).map_err(|_| cor("negative price"));
                let scaled = (as_u128(refund)? * as_u128(new_monthly)?).div_ceil(as_u128(old_monthly)?.max(1));
                let charge = Fen::new(i64::try_from(scaled).map_err(|_| rejected("price out of range"))?).map_err(merr)?;
                let b = Breakdown { total_fen: charge, ..full };
                let mut order = Self::insert_order(&mut tx, &OrderRow { ctx: c, kind: "change_spec", inst: &inst, months: 0, breakdown: &b, charged: charge, refunded: refund, funding: Funding::default() }).await?;
                let order_id = order.id;
                if !refund.is_zero() {
                    let bal = Self::tx_balances(&mut tx, c.org).await?;
                    let back = Self::settle_credit(&by_source, &bal)?;
                    let jt = refund_tx(TxKind::Refund, key(format!("order:{order_id}:refund"))?, c.org, inst.supplier, &back, &shares_back, &format!("change of spec order {order_id}: rest of the old spec")).map_err(jerr)?;
                    Self::post_tx(&mut tx, &jt, Some(c.org), Some(inst.id), "order", c.at_ms).await?;
                    Self::bill_item(&mut tx, &inst, "refund", refund, Fen::ZERO, Fen::ZERO, c.at_ms).await?;
                }
                let bal = Self::tx_balances(&mut tx, c.org).await?;
                let funding = fund(charge, &bal).map_err(jerr)?;
                let shares = shares_of(charge, inst.supplier_share_bp).map_err(merr)?;
                if !charge.is_zero() {
                    let jt = payment_tx(TxKind::ChangeSpec, key(format!("order:{order_id}:pay"))?, c.org, inst.supplier, &funding, &shares, &format!("change of spec order {order_id}: rest of the new spec")).map_err(jerr)?;
                    Self::post_tx(&mut tx, &jt, Some(c.org), Some(inst.id), "order", c.at_ms).await?;
                }
                sqlx::query("UPDATE orders SET cash_fen = $1, voucher_fen = $2, credit_fen = $3 WHERE id = $4")
                    .bind(funding.cash_fen.get())
                    .bind(funding.voucher_fen.get())
                    .bind(funding.credit_fen.get())
                    .bind(order_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                order.funding = funding;
                inst.spec_id = new_spec.id;
                inst.pricing = new_spec.pricing.clone();
                inst.span_start_ms = c.at_ms;
                inst.paid = funding;
                inst.paid_shares = shares;
                Self::save_inst(&mut tx, &inst).await?;
                Self::bill_item(&mut tx, &inst, "prepaid", charge, b.discount_fen(), Fen::ZERO, c.at_ms).await?;
                Self::idem_put(&mut tx, &idem, &c.digest, order_id).await?;
                let balances = Self::tx_balances(&mut tx, c.org).await?;
                tx.commit().await.map_err(db_err)?;
                drop(_g);
                Ok(OrderOutcome { order, instance: inst, balances, replayed: false })
            }

            async fn accept_instance(&self, id: i64, p: &Provisioning, by: UserId, at_ms: i64) -> StoreResult<InstanceRecord> {
                let first = self.get_instance(id).await?.ok_or(StoreError::NotFound)?;
                let (_g, mut tx) = self.m_begin(Some(first.org)).await?;
                let mut inst = Self::inst_in(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
                if inst.status != InstanceStatus::Pending {
                    return Err(rejected("only pending instances are accepted"));
                }
                inst.status = InstanceStatus::Active;
                inst.resource_id = Some(p.resource_id.clone());
                inst.access_address = Some(p.access_address.clone());
                inst.opened_ms = Some(p.opened_ms);
                inst.accepted_by = Some(by);
                inst.anchor_ms = p.opened_ms;
                inst.span_start_ms = p.opened_ms;
                inst.metered_ms = p.opened_ms;
                if inst.mode == ChargingMode::Prepaid {
                    inst.ends_ms = Some(add_months(p.opened_ms, inst.months_total));
                }
                Self::save_inst(&mut tx, &inst).await?;
                Self::message(&mut tx, inst.org, Some(inst.id), &format!("instance provisioned: resource {} at {}", p.resource_id, p.access_address), at_ms).await?;
                tx.commit().await.map_err(db_err)?;
                Ok(inst)
            }

            async fn get_instance(&self, id: i64) -> StoreResult<Option<InstanceRecord>> {
                let sql = format!("SELECT {INST_COLS} FROM instances WHERE id = $1");
                let r = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await.map_err(db_err)?;
                r.as_ref().map(Self::inst_row).transpose()
            }

            async fn list_instances(&self, org: Option<OrgId>, after: i64, limit: u32) -> StoreResult<Vec<InstanceRecord>> {
                let sql = format!("SELECT {INST_COLS} FROM instances WHERE ($1 = 0 OR org_id = $1) AND id > $2 ORDER BY id LIMIT $3");
                let rows = sqlx::query(&sql)
                    .bind(org.map_or(0, OrgId::get))
                    .bind(after)
                    .bind(limit_of(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(Self::inst_row).collect()
            }

            async fn pending_instances(&self, limit: u32) -> StoreResult<Vec<InstanceRecord>> {
                let sql = format!("SELECT {INST_COLS} FROM instances WHERE status = 'pending' ORDER BY id LIMIT $1");
                let rows = sqlx::query(&sql)
                    .bind(limit_of(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(Self::inst_row).collect()
            }

            async fn list_orders(&self, org: Option<OrgId>, after: i64, limit: u32) -> StoreResult<Vec<OrderRecord>> {
                let sql = format!("SELECT {ORDER_COLS} FROM orders WHERE ($1 = 0 OR org_id = $1) AND id > $2 ORDER BY id LIMIT $3");
                let rows = sqlx::query(&sql)
                    .bind(org.map_or(0, OrgId::get))
                    .bind(after)
                    .bind(limit_of(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(Self::order_row).collect()
            }

            async fn advance_lifecycle(&self, now_ms: i64, s: &LifecycleSettings, usage: &dyn UsageSource, after: i64, limit: u32) -> StoreResult<AdvanceReport> {
                let mut report = AdvanceReport::default();
                let limit = limit_of(limit);
                {
                    let sql = format!("SELECT id, org_id FROM instances WHERE status IN {LIVE} AND id > $1 ORDER BY id LIMIT $2");
                    let page = sqlx::query(&sql).bind(after).bind(limit).fetch_all(&self.pool).await.map_err(db_err)?;
                    if i64::try_from(page.len()).map_err(cor)? == limit {
                        let last = page.last().map(|r| -> StoreResult<i64> { Ok(col!(r, "id")) }).transpose()?;
                        report.next_after = last;
                    }
                    for r in &page {
                        let id: i64 = col!(r, "id");
                        let org = oid(col!(r, "org_id"))?;
                        let (_g, mut tx) = self.m_begin(Some(org)).await?;
                        let Some(mut inst) = Self::inst_in(&mut tx, id).await? else { continue };
                        report.examined += 1;
                        let before = inst.status;
                        match inst.mode {
                            ChargingMode::Prepaid => {
                                let Some(end) = inst.ends_ms else { continue };
                                let st = step_prepaid(inst.status, end, inst.reminders_sent, now_ms, s);
                                if let Some(m) = &st.reminder {
                                    Self::message(&mut tx, org, Some(id), m, now_ms).await?;
                                    report.messages += 1;
                                }
                                inst.status = st.status;
                                inst.reminders_sent = st.reminders_sent;
                                if st.status == InstanceStatus::Released {
                                    inst.released_ms = Some(now_ms);
                                }
                            }
                            ChargingMode::Payg => match inst.status {
                                InstanceStatus::Active if now_ms > inst.metered_ms => {
                                    let minutes = usage.minutes(id, inst.metered_ms, now_ms);
                                    let (charged, short) = Self::charge_usage(&mut tx, &mut inst, minutes, now_ms).await?;
                                    report.usage_charged_fen += charged.get();
                                    if short {
                                        inst.status = InstanceStatus::Paused;
                                        report.paused += 1;
                                        report.messages += 1;
                                        Self::message(&mut tx, org, Some(id), "instance paused: balance exhausted; recharge to resume (nothing is deleted)", now_ms).await?;
                                    }
                                }
                                InstanceStatus::Paused => {
                                    let bal = Self::tx_balances(&mut tx, org).await?;
                                    if bal.spendable() > inst.usage_unpaid_fen {
                                        report.usage_charged_fen += Self::settle_owed(&mut tx, &mut inst, now_ms).await?.get();
                                        inst.status = InstanceStatus::Active;
                                        inst.metered_ms = now_ms;
                                        report.resumed += 1;
                                        report.messages += 1;
                                        Self::message(&mut tx, org, Some(id), "instance resumed", now_ms).await?;
                                    }
                                }
                                _ => {}
                            },
                        }
                        if inst.status != before {
                            report.transitions += 1;
                        }
                        Self::save_inst(&mut tx, &inst).await?;
                        tx.commit().await.map_err(db_err)?;
                    }
                }
                Ok(report)
            }

            async fn list_messages(&self, org: OrgId, after: i64, limit: u32) -> StoreResult<Vec<MessageRecord>> {
                let rows = sqlx::query("SELECT id, org_id, instance_id, body, created_ms FROM messages WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3")
                    .bind(org.get())
                    .bind(after)
                    .bind(limit_of(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter()
                    .map(|r| Ok(MessageRecord { id: col!(r, "id"), org: oid(col!(r, "org_id"))?, instance_id: col!(r, "instance_id"), body: col!(r, "body"), created_ms: col!(r, "created_ms") }))
                    .collect()
            }

            async fn recent_messages(&self, org: OrgId, limit: u32) -> StoreResult<Vec<MessageRecord>> {
                let rows = sqlx::query("SELECT id, org_id, instance_id, body, created_ms FROM messages WHERE org_id = $1 ORDER BY id DESC LIMIT $2")
                    .bind(org.get())
                    .bind(limit_of(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter()
                    .map(|r| Ok(MessageRecord { id: col!(r, "id"), org: oid(col!(r, "org_id"))?, instance_id: col!(r, "instance_id"), body: col!(r, "body"), created_ms: col!(r, "created_ms") }))
                    .collect()
            }

            async fn bills(&self, f: &BillFilter) -> StoreResult<Vec<BillLine>> {
                let sum = |kind: &str, col: &str| format!("CAST(COALESCE(SUM(CASE WHEN kind = '{kind}' THEN {col} ELSE 0 END), 0) AS BIGINT)");
                let sql = format!(
                    "SELECT org_id, product_id, mode, {} AS prepaid, {} AS usage_fen, {} AS refund, \
                     CAST(COALESCE(SUM(discount_fen), 0) AS BIGINT) AS discount, \
                     CAST(COALESCE(SUM(CASE WHEN kind = 'settled' THEN -unpaid_fen ELSE unpaid_fen END), 0) AS BIGINT) AS unpaid \
                     FROM bill_items WHERE at_ms >= $1 AND at_ms < $2 AND ($3 = 0 OR org_id = $3) AND ($4 = 0 OR user_id = $4) \
                     AND ($5 = 0 OR product_id = $5) AND ($6 = '' OR mode = $6) \
                     AND (org_id > $8 OR (org_id = $8 AND (product_id > $9 OR (product_id = $9 AND mode > $10)))) \
                     GROUP BY org_id, product_id, mode ORDER BY org_id, product_id, mode LIMIT $7",
                    sum("prepaid", "amount_fen"),
                    sum("usage", "amount_fen"),
                    sum("refund", "amount_fen"),
                );
                let rows = sqlx::query(&sql)
                    .bind(f.from_ms)
                    .bind(f.to_ms)
                    .bind(f.org.map_or(0, OrgId::get))
                    .bind(f.user.map_or(0, UserId::get))
                    .bind(f.product.unwrap_or(0))
                    .bind(f.mode.map_or("", ChargingMode::as_str))
                    .bind(limit_of(f.limit.unwrap_or(crate::PAGE_SIZE_MAX)))
                    .bind(f.after.as_ref().map_or(0, |k| k.org_id))
                    .bind(f.after.as_ref().map_or(0, |k| k.product_id))
                    .bind(f.after.as_ref().map_or(String::new(), |k| k.mode.clone()))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter()
                    .map(|r| {
                        let (p, u, rf, un): (i64, i64, i64, i64) = (col!(r, "prepaid"), col!(r, "usage_fen"), col!(r, "refund"), col!(r, "unpaid"));
                        Ok(BillLine {
                            org_id: col!(r, "org_id"),
                            product_id: col!(r, "product_id"),
                            mode: col!(r, "mode"),
                            prepaid_fen: p,
                            usage_fen: u,
                            refund_fen: rf,
                            discount_fen: col!(r, "discount"),
                            unpaid_fen: un,
                            amount_due_fen: p + u - rf + un,
                        })
                    })
                    .collect()
            }

            async fn mirror_pending(&self, limit: u32) -> StoreResult<Vec<MirrorRecord>> {
                let rows = sqlx::query("SELECT id, journal_tx_id, org_id, op, amount_fen, sent_ref, signed_ref, signed_tx FROM mirror_outbox WHERE sent_ref IS NULL ORDER BY id LIMIT $1")
                    .bind(limit_of(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter()
                    .map(|r| Ok(MirrorRecord { id: col!(r, "id"), journal_tx_id: col!(r, "journal_tx_id"), org: oid(col!(r, "org_id"))?, op: col!(r, "op"), amount_fen: fen(col!(r, "amount_fen"))?, sent_ref: col!(r, "sent_ref"), signed_ref: col!(r, "signed_ref"), signed_tx: col!(r, "signed_tx") }))
                    .collect()
            }

            async fn mirror_signed(&self, id: i64, signed_ref: &str, signed_tx: &str) -> StoreResult<()> {
                let n = sqlx::query("UPDATE mirror_outbox SET signed_ref = $1, signed_tx = $2 WHERE id = $3 AND signed_tx IS NULL AND sent_ref IS NULL")
                    .bind(signed_ref.to_owned())
                    .bind(signed_tx.to_owned())
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?
                    .rows_affected();
                if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            }

            async fn mirror_sent(&self, id: i64, sent_ref: &str, at_ms: i64) -> StoreResult<()> {
                let n = sqlx::query("UPDATE mirror_outbox SET sent_ref = $1, sent_ms = $2 WHERE id = $3 AND sent_ref IS NULL")
                    .bind(sent_ref.to_owned())
                    .bind(at_ms)
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?
                    .rows_affected();
                if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            }

            async fn mirror_expected(&self) -> StoreResult<Vec<(OrgId, i64)>> {
                let rows = sqlx::query(
                    "SELECT t.org_id, CAST(SUM(CASE WHEN l.side = 'debit' THEN l.amount_fen ELSE -l.amount_fen END) AS BIGINT) AS net \
                     FROM journal_lines l JOIN journal_tx t ON t.id = l.tx_id \
                     WHERE l.account = 'bank' AND t.org_id IS NOT NULL GROUP BY t.org_id ORDER BY t.org_id",
                )
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                rows.iter().map(|r| Ok((oid(col!(r, "org_id"))?, col!(r, "net")))).collect()
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

/// The decisions of a purchase, the same on both backends (the sqlx body here and the
/// SQLite writer's): price breakdown, funding, supplier shares, the instance's first
/// status and term.
pub(crate) struct OrderPlan {
    pub breakdown: Breakdown,
    pub funding: Funding,
    pub shares: Shares,
    pub status: InstanceStatus,
    pub ends: Option<i64>,
    pub months: u32,
}

/// Prices an order and decides how it is paid: prepaid from the balances in the funding
/// order, pay-as-you-go only when cash covers the deposit.
pub(crate) fn plan_order(
    o: &PlaceOrder,
    spec: &SpecRecord,
    product: &ProductRecord,
    discounts: &[Discount],
    coupon: Option<&Coupon>,
    bal: &Balances,
) -> StoreResult<OrderPlan> {
    let breakdown = quote(&QuoteRequest {
        pricing: &spec.pricing,
        mode: o.mode,
        months: o.months,
        quantity: o.quantity,
        customer: o.ctx.org,
        region: &product.region,
        discounts,
        coupon,
    })
    .map_err(|e| rejected(e.to_string()))?;
    let (funding, shares) = match o.mode {
        ChargingMode::Prepaid => (
            fund(breakdown.total_fen, bal).map_err(jerr)?,
            shares_of(breakdown.total_fen, product.supplier_share_bp).map_err(merr)?,
        ),
        ChargingMode::Payg => {
            let cash = Fen::new(bal.cash_fen.max(0)).map_err(merr)?;
            if breakdown.deposit_fen > cash {
                return Err(StoreError::Insufficient {
                    needed: breakdown.deposit_fen.get(),
                    available: cash.get(),
                });
            }
            (Funding::default(), Shares::default())
        }
    };
    let status = if product.manual_provisioning {
        InstanceStatus::Pending
    } else {
        InstanceStatus::Active
    };
    let (ends, months) = match o.mode {
        ChargingMode::Prepaid => (Some(add_months(o.ctx.at_ms, o.months)), o.months),
        ChargingMode::Payg => (None, 0),
    };
    Ok(OrderPlan {
        breakdown,
        funding,
        shares,
        status,
        ends,
        months,
    })
}

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

    /// The purchase (SQLite runs its own on the writer thread: `sqlite_writer.rs`).
    async fn place_order_now(&self, o: &PlaceOrder) -> StoreResult<OrderOutcome> {
        let c = &o.ctx;
        let idem = format!("order:{}:{}", c.org, c.key.as_str());
        // Catalogue reads happen before the customer's write lock (they do not
        // depend on balances; the order is priced as the catalogue stood then). No
        // read transaction around them: each statement reads a consistent state and
        // the catalogue may change before the lock is taken in any case.
        let (catalogue, discounts) = {
            let mut conn = self.pool.acquire().await.map_err(db_err)?;
            let sp = Self::spec_product_in(&mut conn, o.spec_id).await;
            let d = Self::discounts_in(&mut conn).await;
            (sp, d)
        };
        let (_g, mut tx) = self.m_begin(Some(c.org)).await?;
        let (prior, bal) = Self::idem_and_balances(&mut tx, &idem, &c.digest, c.org).await?;
        if let Some(id) = prior {
            tx.rollback().await.map_err(db_err)?;
            drop(_g);
            return self.outcome(id, true).await;
        }
        let (spec, product) = catalogue?;
        if !product.published {
            return Err(StoreError::NotFound);
        }
        let discounts = discounts?;
        let coupon = match &o.coupon {
            Some(code) => Some(Self::coupon_in(&mut tx, code, c.org, c.at_ms).await?),
            None => None,
        };
        let OrderPlan {
            breakdown,
            funding,
            shares,
            status,
            ends,
            months,
        } = plan_order(o, &spec, &product, &discounts, coupon.as_ref(), &bal)?;
        let r = sqlx::query(&format!(
            "INSERT INTO instances ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
             0, $20, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, $21, NULL) RETURNING id",
            INST_COLS.trim_start_matches("id, ")
        ))
        .bind(c.org.get())
        .bind(c.user.get())
        .bind(product.id)
        .bind(spec.id)
        .bind(product.supplier.get())
        .bind(o.mode.as_str())
        .bind(i64::from(o.quantity))
        .bind(status.as_str())
        .bind(to_json(&spec.pricing)?)
        .bind(i64::from(product.supplier_share_bp.get()))
        .bind(c.at_ms)
        .bind(i64::from(months))
        .bind(c.at_ms)
        .bind(ends)
        .bind(funding.cash_fen.get())
        .bind(funding.voucher_fen.get())
        .bind(funding.credit_fen.get())
        .bind(shares.supplier_fen.get())
        .bind(shares.operator_fen.get())
        .bind(c.at_ms)
        .bind(c.at_ms)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        let inst_id: i64 = col!(r, "id");
        let mut inst = InstanceRecord {
            id: inst_id,
            org: c.org,
            user: c.user,
            product_id: product.id,
            spec_id: spec.id,
            supplier: product.supplier,
            mode: o.mode,
            quantity: o.quantity,
            status,
            pricing: spec.pricing.clone(),
            supplier_share_bp: product.supplier_share_bp,
            anchor_ms: c.at_ms,
            months_total: months,
            span_start_ms: c.at_ms,
            ends_ms: ends,
            paid: funding,
            paid_shares: shares,
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
        };
        let order = Self::insert_order(
            &mut tx,
            &OrderRow {
                ctx: c,
                kind: "purchase",
                inst: &inst,
                months,
                breakdown: &breakdown,
                charged: breakdown.total_fen,
                refunded: Fen::ZERO,
                funding,
            },
        )
        .await?;
        let order_id = order.id;
        match o.mode {
            ChargingMode::Prepaid => {
                if !breakdown.total_fen.is_zero() {
                    let jt = payment_tx(
                        TxKind::Purchase,
                        key(format!("order:{order_id}:pay"))?,
                        c.org,
                        product.supplier,
                        &funding,
                        &shares,
                        &format!("order {order_id}"),
                    )
                    .map_err(jerr)?;
                    Self::post_tx(&mut tx, &jt, Some(c.org), Some(inst_id), "order", c.at_ms)
                        .await?;
                }
                Self::bill_item(
                    &mut tx,
                    &inst,
                    "prepaid",
                    breakdown.total_fen,
                    breakdown.discount_fen(),
                    Fen::ZERO,
                    c.at_ms,
                )
                .await?;
            }
            ChargingMode::Payg => {
                let d = breakdown.deposit_fen;
                let r = sqlx::query(
                    "INSERT INTO holds (org_id, instance_id, amount_fen, posted_fen, status, created_ms) VALUES ($1, $2, $3, 0, 'pending', $4) RETURNING id",
                )
                .bind(c.org.get())
                .bind(inst_id)
                .bind(d.get())
                .bind(c.at_ms)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
                let hold: i64 = col!(r, "id");
                if !d.is_zero() {
                    let jt = TxBuilder::new(TxKind::Hold)
                        .debit(Account::Cash(c.org), d)
                        .credit(Account::Frozen(c.org), d)
                        .build(
                            key(format!("hold:{hold}"))?,
                            &format!("deposit of order {order_id}"),
                        )
                        .map_err(jerr)?;
                    Self::post_tx(&mut tx, &jt, Some(c.org), Some(inst_id), "frozen", c.at_ms)
                        .await?;
                }
                inst.hold_id = Some(hold);
                Self::save_inst(&mut tx, &inst).await?;
            }
        }
        // A coupon is used up only by an order it discounted (below its minimum
        // spend, or on pay-as-you-go, it stays available).
        let applied = breakdown.steps.iter().any(|st| st.kind == "coupon");
        if let Some(cp) = coupon.as_ref().filter(|_| applied) {
            let n = sqlx::query(
                "UPDATE coupons SET used_order_id = $1 WHERE id = $2 AND used_order_id IS NULL",
            )
            .bind(order_id)
            .bind(cp.id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
            if n != 1 {
                return Err(rejected("coupon already used"));
            }
        }
        Self::idem_put(&mut tx, &idem, &c.digest, order_id).await?;
        // The balances after, from the ones read under the lock and what was posted.
        let mut balances = bal;
        balances.cash_fen -= funding.cash_fen.get() + breakdown.deposit_fen.get();
        balances.voucher_fen -= funding.voucher_fen.get();
        balances.credit_used_fen += funding.credit_fen.get();
        balances.frozen_fen += breakdown.deposit_fen.get();
        tx.commit().await.map_err(db_err)?;
        drop(_g);
        Ok(OrderOutcome {
            order,
            instance: inst,
            balances,
            replayed: false,
        })
    }

    /// [`Self::idem_check`] and [`Self::tx_balances`] in one round trip: the earlier
    /// result id for a replay (or [`StoreError::KeyReuse`]), and the balances.
    async fn idem_and_balances(
        tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
        k: &str,
        digest: &str,
        org: OrgId,
    ) -> StoreResult<(Option<i64>, Balances)> {
        let rows = sqlx::query(
            "SELECT account, balance, NULL AS digest FROM account_balances WHERE account IN ($1, $2, $3, $4) \
             UNION ALL SELECT 'credit_line' AS account, limit_fen AS balance, NULL AS digest FROM credit_lines WHERE org_id = $5 \
             UNION ALL SELECT 'op_idem' AS account, result_id AS balance, body_digest AS digest FROM op_idem WHERE key = $6",
        )
        .bind(Account::Cash(org).key())
        .bind(Account::Voucher(org).key())
        .bind(Account::Credit(org).key())
        .bind(Account::Frozen(org).key())
        .bind(org.get())
        .bind(k.to_owned())
        .fetch_all(&mut **tx)
        .await
        .map_err(db_err)?;
        let mut prior = None;
        let mut balance_rows = Vec::with_capacity(rows.len());
        for r in rows {
            let acc: String = col!(r, "account");
            if acc == "op_idem" {
                let d: Option<String> = col!(r, "digest");
                if d.as_deref() != Some(digest) {
                    return Err(StoreError::KeyReuse);
                }
                prior = Some(col!(r, "balance"));
            } else {
                balance_rows.push(r);
            }
        }
        Ok((prior, Self::balances_of(&balance_rows)?))
    }

    async fn coupon_in(
        tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
        code: &str,
        org: OrgId,
        at_ms: i64,
    ) -> StoreResult<Coupon> {
        let r = sqlx::query(
            "SELECT id, code, org_id, value, min_spend_fen, expires_ms, used_order_id FROM coupons WHERE code = $1",
        )
        .bind(code.to_owned())
        .fetch_optional(&mut **tx)
        .await
        .map_err(db_err)?
        .ok_or_else(|| rejected("no such coupon"))?;
        let owner: Option<i64> = col!(r, "org_id");
        let used: Option<i64> = col!(r, "used_order_id");
        let expires: i64 = col!(r, "expires_ms");
        if owner.is_some_and(|o| o != org.get()) {
            return Err(rejected("no such coupon"));
        }
        if used.is_some() {
            return Err(rejected("coupon already used"));
        }
        if at_ms >= expires {
            return Err(rejected("coupon expired"));
        }
        let value: String = col!(r, "value");
        Ok(Coupon {
            id: col!(r, "id"),
            code: col!(r, "code"),
            value: from_json::<CouponValue>(&value)?,
            min_spend_fen: fen(col!(r, "min_spend_fen"))?,
        })
    }
}
