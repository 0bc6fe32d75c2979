//! The operations the writer thread runs: purchases and audit appends, with the row
//! decoders, balances and journal posting they need.

use super::rq_err;
use crate::money::*;
use crate::{StoreError, StoreResult};
use rusqlite::{Connection, params};
use suanli_platform_domain::OrgId;
use suanli_platform_domain::audit::{AuditEvent, AuditRecord, GENESIS_PREV};
use suanli_platform_domain::journal::{Account, Balances, JournalTx, Line};
use suanli_platform_domain::money::Fen;
use suanli_platform_domain::pricing::Discount;

// The SQL below is the SQLite text of the same statements `money_sql.rs` / `sql.rs` run
// through sqlx (parameters `?n` instead of `$n`); the conformance and money property
// tests run both backends through the same checks.

use crate::decode;
use crate::money_sql::{
    COUPON_COLS, INSERT_INSTANCE, INST_COLS, ORDER_COLS, OrderRow, PRODUCT_COLS, SPEC_COLS, cor,
    to_json,
};
use crate::posting::{self, JournalWrites};
use crate::purchase::{PurchaseInput, PurchaseWrites, purchase, run_ready};
use suanli_platform_domain::orders::StoredCoupon;

macro_rules! c {
    ($r:expr, $c:literal) => {
        $r.get($c).map_err(rq_err)?
    };
}

/// One row of `sql` (by `params`) parsed by `parse`, or `None`.
fn one_row<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    parse: impl FnOnce(&rusqlite::Row<'_>) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let mut st = conn.prepare_cached(sql).map_err(rq_err)?;
    let mut rows = st.query(params).map_err(rq_err)?;
    match rows.next().map_err(rq_err)? {
        Some(r) => parse(r).map(Some),
        None => Ok(None),
    }
}

const BALANCES_SQL: &str = "SELECT account, balance, NULL AS digest FROM account_balances WHERE account IN (?1, ?2, ?3, ?4) \
     UNION ALL SELECT 'credit_line' AS account, limit_fen AS balance, NULL AS digest FROM credit_lines WHERE org_id = ?5";

/// The earlier result id for a replayed key (or [`StoreError::KeyReuse`]) and the
/// customer's balances, in one statement.
fn idem_and_balances(
    conn: &Connection,
    k: &str,
    digest: &str,
    org: OrgId,
) -> StoreResult<(Option<i64>, Balances)> {
    let sql = format!(
        "{BALANCES_SQL} UNION ALL SELECT 'op_idem' AS account, result_id AS balance, body_digest AS digest FROM op_idem WHERE key = ?6"
    );
    let mut st = conn.prepare_cached(&sql).map_err(rq_err)?;
    let mut rows = st
        .query(params![
            Account::Cash(org).key(),
            Account::Voucher(org).key(),
            Account::Credit(org).key(),
            Account::Frozen(org).key(),
            org.get(),
            k,
        ])
        .map_err(rq_err)?;
    let mut prior = None;
    let mut pairs = Vec::with_capacity(5);
    while let Some(r) = rows.next().map_err(rq_err)? {
        let acc: String = c!(r, "account");
        if acc == "op_idem" {
            let d: Option<String> = c!(r, "digest");
            if d.as_deref() != Some(digest) {
                return Err(StoreError::KeyReuse);
            }
            prior = Some(c!(r, "balance"));
        } else {
            pairs.push((acc, c!(r, "balance")));
        }
    }
    Ok((prior, decode::balances(pairs)?))
}

fn balances(conn: &Connection, org: OrgId) -> StoreResult<Balances> {
    let mut st = conn.prepare_cached(BALANCES_SQL).map_err(rq_err)?;
    let mut rows = st
        .query(params![
            Account::Cash(org).key(),
            Account::Voucher(org).key(),
            Account::Credit(org).key(),
            Account::Frozen(org).key(),
            org.get(),
        ])
        .map_err(rq_err)?;
    let mut pairs = Vec::with_capacity(5);
    while let Some(r) = rows.next().map_err(rq_err)? {
        pairs.push((c!(r, "account"), c!(r, "balance")));
    }
    decode::balances(pairs)
}

/// Posts a journal transaction (`crate::posting::post`) on the writer's connection.
fn post_tx(
    conn: &Connection,
    jt: &JournalTx,
    org: Option<OrgId>,
    instance: Option<i64>,
    channel: &str,
    at_ms: i64,
) -> StoreResult<i64> {
    run_ready(posting::post(
        &mut ConnWrites { conn },
        jt,
        org,
        instance,
        channel,
        at_ms,
    ))
}

impl JournalWrites for ConnWrites<'_> {
    async fn header(
        &mut self,
        jt: &JournalTx,
        org: Option<OrgId>,
        instance: Option<i64>,
        channel: &str,
        at_ms: i64,
    ) -> StoreResult<i64> {
        self.conn
            .prepare_cached(
                "INSERT INTO journal_tx (idem_key, body_digest, kind, org_id, instance_id, channel, memo, total_fen, at_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id",
            )
            .map_err(rq_err)?
            .query_row(
                params![
                    jt.key().as_str(),
                    jt.body_digest(),
                    jt.kind().as_str(),
                    org.map(OrgId::get),
                    instance,
                    channel,
                    jt.memo(),
                    jt.total().get(),
                    at_ms,
                ],
                |r| r.get(0),
            )
            .map_err(rq_err)
    }

    async fn project(&mut self, account: &str, delta: i64) -> StoreResult<i64> {
        self.conn
            .prepare_cached(
                "INSERT INTO account_balances (account, balance) VALUES (?1, ?2) \
                 ON CONFLICT (account) DO UPDATE SET balance = account_balances.balance + excluded.balance \
                 RETURNING balance",
            )
            .map_err(rq_err)?
            .query_row(params![account, delta], |r| r.get(0))
            .map_err(rq_err)
    }

    async fn lines(
        &mut self,
        id: i64,
        lines: &[Line],
        afters: &[Option<i64>],
    ) -> StoreResult<Vec<(String, i64)>> {
        let sql = format!(
            "INSERT INTO journal_lines (tx_id, account, side, amount_fen, balance_after) VALUES {} \
             RETURNING side, amount_fen",
            posting::line_values(lines.len(), '?')
        );
        let mut args: Vec<rusqlite::types::Value> = Vec::with_capacity(lines.len() * 5);
        for (l, after) in lines.iter().zip(afters) {
            args.push(id.into());
            args.push(l.account.key().into());
            args.push(l.side.as_str().to_owned().into());
            args.push(l.amount.get().into());
            args.push((*after).into());
        }
        let mut st = self.conn.prepare_cached(&sql).map_err(rq_err)?;
        let mut rows = st.query(rusqlite::params_from_iter(args)).map_err(rq_err)?;
        let mut out = Vec::with_capacity(lines.len());
        while let Some(r) = rows.next().map_err(rq_err)? {
            out.push((
                r.get("side").map_err(rq_err)?,
                r.get("amount_fen").map_err(rq_err)?,
            ));
        }
        Ok(out)
    }

    async fn mirror(
        &mut self,
        id: i64,
        org: OrgId,
        op: &str,
        amount: i64,
        at_ms: i64,
    ) -> StoreResult<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO mirror_outbox (journal_tx_id, org_id, op, amount_fen, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(rq_err)?
            .execute(params![id, org.get(), op, amount, at_ms])
            .map_err(rq_err)?;
        Ok(())
    }
}

fn spec_product(conn: &Connection, spec: i64) -> StoreResult<(SpecRecord, ProductRecord)> {
    let s = one_row(
        conn,
        &format!("SELECT {SPEC_COLS} FROM specs WHERE id = ?1"),
        [spec],
        |r| decode::spec(r),
    )?
    .ok_or(StoreError::NotFound)?;
    let p = one_row(
        conn,
        &format!("SELECT {PRODUCT_COLS} FROM products WHERE id = ?1"),
        [s.product_id],
        |r| decode::product(r),
    )?
    .ok_or(StoreError::NotFound)?;
    Ok((s, p))
}

fn discounts(conn: &Connection) -> StoreResult<Vec<Discount>> {
    let mut st = conn
        .prepare_cached("SELECT id, rule, off_bp FROM discounts WHERE active = ?1 ORDER BY id")
        .map_err(rq_err)?;
    let mut rows = st.query([true]).map_err(rq_err)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(rq_err)? {
        out.push(decode::discount(r)?);
    }
    Ok(out)
}

fn outcome(conn: &Connection, order_id: i64, replayed: bool) -> StoreResult<OrderOutcome> {
    let order = one_row(
        conn,
        &format!("SELECT {ORDER_COLS} FROM orders WHERE id = ?1"),
        [order_id],
        |r| decode::order(r),
    )?
    .ok_or(StoreError::NotFound)?;
    let instance = one_row(
        conn,
        &format!("SELECT {INST_COLS} FROM instances WHERE id = ?1"),
        [order.instance_id],
        |r| decode::instance(r),
    )?
    .ok_or(StoreError::NotFound)?;
    let balances = balances(conn, order.org)?;
    Ok(OrderOutcome {
        order,
        instance,
        balances,
        replayed,
    })
}

/// A purchase (`MoneyStore::place_order`): the idempotency check and the catalogue, then
/// the one purchase body (`crate::purchase`) through [`ConnWrites`], in the writer's
/// transaction.
pub(crate) fn place_order(conn: &Connection, o: &PlaceOrder) -> StoreResult<OrderOutcome> {
    let c = &o.ctx;
    let idem = format!("order:{}:{}", c.org, c.key.as_str());
    let (prior, bal) = idem_and_balances(conn, &idem, &c.digest, c.org)?;
    if let Some(id) = prior {
        return outcome(conn, id, true);
    }
    let (spec, product) = spec_product(conn, o.spec_id)?;
    let discounts = discounts(conn)?;
    let input = PurchaseInput {
        order: o,
        idem: &idem,
        spec: &spec,
        product: &product,
        discounts: &discounts,
        balances: &bal,
    };
    run_ready(purchase(&mut ConnWrites { conn }, &input))
}

/// [`INSERT_INSTANCE`] with SQLite's `?n` parameters.
static INSERT_INSTANCE_Q: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| INSERT_INSTANCE.replace('$', "?"));

/// A purchase's writes on the writer's connection (synchronous: they never wait).
struct ConnWrites<'c> {
    conn: &'c Connection,
}

impl PurchaseWrites for ConnWrites<'_> {
    async fn coupon(&mut self, code: &str) -> StoreResult<Option<StoredCoupon>> {
        let sql = format!("SELECT {COUPON_COLS} FROM coupons WHERE code = ?1");
        one_row(self.conn, &sql, [code], |r| decode::stored_coupon(r))
    }

    async fn insert_instance(&mut self, i: &InstanceRecord) -> StoreResult<i64> {
        self.conn
            .prepare_cached(&INSERT_INSTANCE_Q)
            .map_err(rq_err)?
            .query_row(
                params![
                    i.org.get(),
                    i.user.get(),
                    i.product_id,
                    i.spec_id,
                    i.supplier.get(),
                    i.mode.as_str(),
                    i64::from(i.quantity),
                    i.status.as_str(),
                    to_json(&i.pricing)?,
                    i64::from(i.supplier_share_bp.get()),
                    i.anchor_ms,
                    i64::from(i.months_total),
                    i.span_start_ms,
                    i.ends_ms,
                    i.paid.cash_fen.get(),
                    i.paid.voucher_fen.get(),
                    i.paid.credit_fen.get(),
                    i.paid_shares.supplier_fen.get(),
                    i.paid_shares.operator_fen.get(),
                    i.metered_ms,
                    i.created_ms,
                ],
                |r| r.get(0),
            )
            .map_err(rq_err)
    }

    async fn insert_order(&mut self, o: &OrderRow<'_>) -> StoreResult<OrderRecord> {
        let id: i64 = self
            .conn
            .prepare_cached(
                "INSERT INTO orders (org_id, user_id, kind, instance_id, product_id, spec_id, mode, months, quantity, \
                 breakdown, charged_fen, refunded_fen, discount_fen, deposit_fen, cash_fen, voucher_fen, credit_fen, created_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18) RETURNING id",
            )
            .map_err(rq_err)?
            .query_row(
                params![
                    o.ctx.org.get(),
                    o.ctx.user.get(),
                    o.kind,
                    o.inst.id,
                    o.inst.product_id,
                    o.inst.spec_id,
                    o.inst.mode.as_str(),
                    i64::from(o.months),
                    i64::from(o.breakdown.quantity),
                    to_json(o.breakdown)?,
                    o.charged.get(),
                    o.refunded.get(),
                    o.breakdown.discount_fen().get(),
                    o.breakdown.deposit_fen.get(),
                    o.funding.cash_fen.get(),
                    o.funding.voucher_fen.get(),
                    o.funding.credit_fen.get(),
                    o.ctx.at_ms,
                ],
                |r| r.get(0),
            )
            .map_err(rq_err)?;
        Ok(o.record(id))
    }

    async fn post(
        &mut self,
        jt: &JournalTx,
        org: OrgId,
        instance: i64,
        channel: &str,
        at_ms: i64,
    ) -> StoreResult<i64> {
        post_tx(self.conn, jt, Some(org), Some(instance), channel, at_ms)
    }

    async fn bill_item(
        &mut self,
        inst: &InstanceRecord,
        kind: &str,
        amount: Fen,
        discount: Fen,
        at_ms: i64,
    ) -> StoreResult<()> {
        if amount.is_zero() && discount.is_zero() {
            return Ok(());
        }
        self.conn
            .prepare_cached(
                "INSERT INTO bill_items (org_id, user_id, product_id, instance_id, mode, kind, amount_fen, discount_fen, unpaid_fen, at_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )
            .map_err(rq_err)?
            .execute(params![
                inst.org.get(),
                inst.user.get(),
                inst.product_id,
                inst.id,
                inst.mode.as_str(),
                kind,
                amount.get(),
                discount.get(),
                0i64,
                at_ms,
            ])
            .map_err(rq_err)?;
        Ok(())
    }

    async fn insert_hold(
        &mut self,
        org: OrgId,
        instance: i64,
        amount: Fen,
        at_ms: i64,
    ) -> StoreResult<i64> {
        self.conn
            .prepare_cached(
                "INSERT INTO holds (org_id, instance_id, amount_fen, posted_fen, status, created_ms) \
                 VALUES (?1, ?2, ?3, 0, 'pending', ?4) RETURNING id",
            )
            .map_err(rq_err)?
            .query_row(params![org.get(), instance, amount.get(), at_ms], |r| {
                r.get(0)
            })
            .map_err(rq_err)
    }

    async fn set_hold(&mut self, instance: i64, hold: i64) -> StoreResult<()> {
        self.conn
            .prepare_cached("UPDATE instances SET hold_id = ?1 WHERE id = ?2")
            .map_err(rq_err)?
            .execute(params![hold, instance])
            .map_err(rq_err)?;
        Ok(())
    }

    async fn use_coupon(&mut self, coupon: i64, order: i64) -> StoreResult<bool> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE coupons SET used_order_id = ?1 WHERE id = ?2 AND used_order_id IS NULL",
            )
            .map_err(rq_err)?
            .execute(params![order, coupon])
            .map_err(rq_err)?;
        Ok(n == 1)
    }

    async fn idem_put(&mut self, key: &str, digest: &str, order: i64) -> StoreResult<()> {
        self.conn
            .prepare_cached("INSERT INTO op_idem (key, body_digest, result_id) VALUES (?1, ?2, ?3)")
            .map_err(rq_err)?
            .execute(params![key, digest, order])
            .map_err(rq_err)?;
        Ok(())
    }
}

/// Appends an audit record after the chain's head (`OpsStore::append_audit`).
pub(crate) fn append_audit(conn: &Connection, event: &AuditEvent) -> StoreResult<AuditRecord> {
    let event = event.clone().bounded();
    let head = one_row(
        conn,
        "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
        [],
        |r| {
            let s: i64 = c!(r, "seq");
            let h: Vec<u8> = c!(r, "hash");
            let h: [u8; 32] = h.try_into().map_err(|_| cor("audit hash length"))?;
            Ok((u64::try_from(s).map_err(|_| cor("audit seq"))?, h))
        },
    )?;
    let (seq, prev) = match head {
        Some((s, h)) => (s + 1, h),
        None => (1, GENESIS_PREV),
    };
    let hash = event.chain_hash(seq, &prev);
    conn.prepare_cached(
        "INSERT INTO audit_log (seq, at_ms, actor_user, actor_org, action, target, ip, user_agent, \
         outcome, status, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )
    .map_err(rq_err)?
    .execute(params![
        i64::try_from(seq).map_err(|_| cor("audit seq"))?,
        event.at_ms,
        event.actor_user,
        event.actor_org,
        event.action,
        event.target,
        event.ip,
        event.user_agent,
        event.outcome.as_str(),
        i64::from(event.status),
        prev.to_vec(),
        hash.to_vec(),
    ])
    .map_err(rq_err)?;
    Ok(AuditRecord {
        seq,
        event,
        prev_hash: prev,
        hash,
    })
}
