//! The operations the writer thread runs: purchases and audit appends, with the row
//! decoders, balances and journal posting they need.

use super::rq_err;
use crate::money::*;
use crate::{StoreError, StoreResult};
use rusqlite::{Connection, params};
use suanli_platform_domain::OrgId;
use suanli_platform_domain::audit::{AuditEvent, AuditRecord, GENESIS_PREV};
use suanli_platform_domain::instance::InstanceStatus;
use suanli_platform_domain::journal::{
    Account, Balances, Funding, JournalTx, Shares, Side, TxBuilder, TxKind, payment_tx,
};
use suanli_platform_domain::money::{Bp, Fen};
use suanli_platform_domain::pricing::{ChargingMode, Coupon, CouponValue, Discount};

// The SQL below is the SQLite text of the same statements `money_sql.rs` / `sql.rs` run
// through sqlx (parameters `?n` instead of `$n`); the conformance and money property
// tests run both backends through the same checks.

use crate::money_sql::{
    INST_COLS, ORDER_COLS, OrderPlan, PRODUCT_COLS, SPEC_COLS, cor, fen, from_json, jerr, key, oid,
    plan_order, rejected, to_json, u32_of, uid,
};

macro_rules! c {
    ($r:expr, $c:literal) => {
        $r.get($c).map_err(rq_err)?
    };
}

fn product_row(r: &rusqlite::Row<'_>) -> StoreResult<ProductRecord> {
    Ok(ProductRecord {
        id: c!(r, "id"),
        category_id: c!(r, "category_id"),
        name: c!(r, "name"),
        supplier: oid(c!(r, "supplier_org_id"))?,
        region: c!(r, "region"),
        manual_provisioning: c!(r, "manual_provisioning"),
        supplier_share_bp: Bp::new(u32_of(c!(r, "supplier_share_bp"))?).map_err(cor)?,
        published: c!(r, "published"),
        created_ms: c!(r, "created_ms"),
    })
}

fn spec_row(r: &rusqlite::Row<'_>) -> StoreResult<SpecRecord> {
    let pricing: String = c!(r, "pricing");
    Ok(SpecRecord {
        id: c!(r, "id"),
        product_id: c!(r, "product_id"),
        family: c!(r, "family"),
        name: c!(r, "name"),
        pricing: from_json(&pricing)?,
        version: c!(r, "version"),
        created_ms: c!(r, "created_ms"),
    })
}

fn inst_row(r: &rusqlite::Row<'_>) -> StoreResult<InstanceRecord> {
    let pricing: String = c!(r, "pricing");
    let mode: String = c!(r, "mode");
    let status: String = c!(r, "status");
    let accepted_by: Option<i64> = c!(r, "accepted_by");
    let usage_minutes: i64 = c!(r, "usage_minutes");
    Ok(InstanceRecord {
        id: c!(r, "id"),
        org: oid(c!(r, "org_id"))?,
        user: uid(c!(r, "user_id"))?,
        product_id: c!(r, "product_id"),
        spec_id: c!(r, "spec_id"),
        supplier: oid(c!(r, "supplier_org_id"))?,
        mode: ChargingMode::parse(&mode).ok_or_else(|| cor("mode"))?,
        quantity: u32_of(c!(r, "quantity"))?,
        status: InstanceStatus::parse(&status).ok_or_else(|| cor("status"))?,
        pricing: from_json(&pricing)?,
        supplier_share_bp: Bp::new(u32_of(c!(r, "supplier_share_bp"))?).map_err(cor)?,
        anchor_ms: c!(r, "anchor_ms"),
        months_total: u32_of(c!(r, "months_total"))?,
        span_start_ms: c!(r, "span_start_ms"),
        ends_ms: c!(r, "ends_ms"),
        paid: Funding {
            cash_fen: fen(c!(r, "paid_cash_fen"))?,
            voucher_fen: fen(c!(r, "paid_voucher_fen"))?,
            credit_fen: fen(c!(r, "paid_credit_fen"))?,
        },
        paid_shares: Shares {
            supplier_fen: fen(c!(r, "paid_supplier_fen"))?,
            operator_fen: fen(c!(r, "paid_operator_fen"))?,
        },
        reminders_sent: u32_of(c!(r, "reminders_sent"))?,
        metered_ms: c!(r, "metered_ms"),
        usage_minutes: u64::try_from(usage_minutes).map_err(cor)?,
        usage_charged_fen: fen(c!(r, "usage_charged_fen"))?,
        usage_unpaid_fen: fen(c!(r, "usage_unpaid_fen"))?,
        hold_id: c!(r, "hold_id"),
        resource_id: c!(r, "resource_id"),
        access_address: c!(r, "access_address"),
        opened_ms: c!(r, "opened_ms"),
        accepted_by: accepted_by.map(uid).transpose()?,
        created_ms: c!(r, "created_ms"),
        released_ms: c!(r, "released_ms"),
    })
}

fn order_row(r: &rusqlite::Row<'_>) -> StoreResult<OrderRecord> {
    let mode: String = c!(r, "mode");
    let breakdown: String = c!(r, "breakdown");
    Ok(OrderRecord {
        id: c!(r, "id"),
        org: oid(c!(r, "org_id"))?,
        user: uid(c!(r, "user_id"))?,
        kind: c!(r, "kind"),
        instance_id: c!(r, "instance_id"),
        product_id: c!(r, "product_id"),
        spec_id: c!(r, "spec_id"),
        mode: ChargingMode::parse(&mode).ok_or_else(|| cor("mode"))?,
        months: u32_of(c!(r, "months"))?,
        quantity: u32_of(c!(r, "quantity"))?,
        breakdown: from_json(&breakdown)?,
        charged_fen: fen(c!(r, "charged_fen"))?,
        refunded_fen: fen(c!(r, "refunded_fen"))?,
        discount_fen: fen(c!(r, "discount_fen"))?,
        deposit_fen: fen(c!(r, "deposit_fen"))?,
        funding: Funding {
            cash_fen: fen(c!(r, "cash_fen"))?,
            voucher_fen: fen(c!(r, "voucher_fen"))?,
            credit_fen: fen(c!(r, "credit_fen"))?,
        },
        created_ms: c!(r, "created_ms"),
    })
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

/// Balances from `(account, balance)` pairs (credit line as `credit_line`).
fn balances_of(rows: &[(String, i64)]) -> StoreResult<Balances> {
    let mut b = Balances::default();
    for (acc, v) in rows {
        if acc == "credit_line" {
            b.credit_line_fen = *v;
            continue;
        }
        match Account::parse(acc) {
            Some(Account::Cash(_)) => b.cash_fen = *v,
            Some(Account::Voucher(_)) => b.voucher_fen = *v,
            Some(Account::Credit(_)) => b.credit_used_fen = -*v,
            Some(Account::Frozen(_)) => b.frozen_fen = *v,
            _ => return Err(cor("balance account")),
        }
    }
    Ok(b)
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
    Ok((prior, balances_of(&pairs)?))
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
    balances_of(&pairs)
}

/// Posts a journal transaction: header, projection, lines, balance check, mirror.
fn post_tx(
    conn: &Connection,
    jt: &JournalTx,
    org: Option<OrgId>,
    instance: Option<i64>,
    channel: &str,
    at_ms: i64,
) -> StoreResult<i64> {
    let total = jt.total();
    let id: i64 = conn
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
                total.get(),
                at_ms,
            ],
            |r| r.get(0),
        )
        .map_err(rq_err)?;
    let (mut money_in, mut money_out) = (0i64, 0i64);
    let mut afters: Vec<Option<i64>> = Vec::with_capacity(jt.lines().len());
    for l in jt.lines() {
        let delta = l.account.signed(l.side, l.amount);
        let after = if l.account.customer().is_some() {
            let b: i64 = conn
                .prepare_cached(
                    "INSERT INTO account_balances (account, balance) VALUES (?1, ?2) \
                     ON CONFLICT (account) DO UPDATE SET balance = account_balances.balance + excluded.balance \
                     RETURNING balance",
                )
                .map_err(rq_err)?
                .query_row(params![l.account.key(), delta], |r| r.get(0))
                .map_err(rq_err)?;
            Some(b)
        } else {
            None
        };
        if l.account == Account::Bank {
            if l.side == Side::Debit {
                money_in += l.amount.get()
            } else {
                money_out += l.amount.get()
            }
        }
        afters.push(after);
    }
    // All lines in one statement; the balance check reads back what was stored.
    let values: Vec<String> = (0..jt.lines().len())
        .map(|i| {
            let b = i * 5;
            format!(
                "(?{}, ?{}, ?{}, ?{}, ?{})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5
            )
        })
        .collect();
    let sql = format!(
        "INSERT INTO journal_lines (tx_id, account, side, amount_fen, balance_after) VALUES {} RETURNING side, amount_fen",
        values.join(", ")
    );
    let mut args: Vec<rusqlite::types::Value> = Vec::with_capacity(jt.lines().len() * 5);
    for (l, after) in jt.lines().iter().zip(afters) {
        args.push(id.into());
        args.push(l.account.key().into());
        args.push(l.side.as_str().to_owned().into());
        args.push(l.amount.get().into());
        args.push(after.into());
    }
    let mut st = conn.prepare_cached(&sql).map_err(rq_err)?;
    let mut rows = st.query(rusqlite::params_from_iter(args)).map_err(rq_err)?;
    let (mut d, mut cr, mut n) = (0i64, 0i64, 0usize);
    while let Some(r) = rows.next().map_err(rq_err)? {
        let side: String = c!(r, "side");
        let amount: i64 = c!(r, "amount_fen");
        let sum = match side.as_str() {
            "debit" => &mut d,
            "credit" => &mut cr,
            _ => return Err(cor("journal line side")),
        };
        *sum = sum
            .checked_add(amount)
            .ok_or_else(|| cor("journal line sum"))?;
        n += 1;
    }
    if n != jt.lines().len() || d != cr || d != total.get() {
        return Err(StoreError::Corrupt(format!(
            "journal transaction {id} unbalanced"
        )));
    }
    if let Some(o) = org {
        for (op, amount) in [("mint", money_in), ("burn", money_out)] {
            if amount > 0 {
                conn.prepare_cached(
                    "INSERT INTO mirror_outbox (journal_tx_id, org_id, op, amount_fen, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(rq_err)?
                .execute(params![id, o.get(), op, amount, at_ms])
                .map_err(rq_err)?;
            }
        }
    }
    Ok(id)
}

fn spec_product(conn: &Connection, spec: i64) -> StoreResult<(SpecRecord, ProductRecord)> {
    let s = one_row(
        conn,
        &format!("SELECT {SPEC_COLS} FROM specs WHERE id = ?1"),
        [spec],
        spec_row,
    )?
    .ok_or(StoreError::NotFound)?;
    let p = one_row(
        conn,
        &format!("SELECT {PRODUCT_COLS} FROM products WHERE id = ?1"),
        [s.product_id],
        product_row,
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
        let rule: String = c!(r, "rule");
        out.push(Discount {
            id: c!(r, "id"),
            scope: from_json(&rule)?,
            off_bp: Bp::new(u32_of(c!(r, "off_bp"))?).map_err(cor)?,
        });
    }
    Ok(out)
}

fn coupon(conn: &Connection, code: &str, org: OrgId, at_ms: i64) -> StoreResult<Coupon> {
    one_row(
        conn,
        "SELECT id, code, org_id, value, min_spend_fen, expires_ms, used_order_id FROM coupons WHERE code = ?1",
        [code],
        |r| {
            let owner: Option<i64> = c!(r, "org_id");
            let used: Option<i64> = c!(r, "used_order_id");
            let expires: i64 = c!(r, "expires_ms");
            if owner.is_some_and(|o| o != org.get()) {
                return Err(rejected("no such coupon"));
            }
            if used.is_some() {
                return Err(rejected("coupon already used"));
            }
            if at_ms >= expires {
                return Err(rejected("coupon expired"));
            }
            let value: String = c!(r, "value");
            Ok(Coupon {
                id: c!(r, "id"),
                code: c!(r, "code"),
                value: from_json::<CouponValue>(&value)?,
                min_spend_fen: fen(c!(r, "min_spend_fen"))?,
            })
        },
    )?
    .ok_or_else(|| rejected("no such coupon"))
}

fn outcome(conn: &Connection, order_id: i64, replayed: bool) -> StoreResult<OrderOutcome> {
    let order = one_row(
        conn,
        &format!("SELECT {ORDER_COLS} FROM orders WHERE id = ?1"),
        [order_id],
        order_row,
    )?
    .ok_or(StoreError::NotFound)?;
    let instance = one_row(
        conn,
        &format!("SELECT {INST_COLS} FROM instances WHERE id = ?1"),
        [order.instance_id],
        inst_row,
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

/// A purchase (`MoneyStore::place_order`): the same rules and rows as the sqlx body in
/// `money_sql.rs`, in the writer's transaction.
pub(crate) fn place_order(conn: &Connection, o: &PlaceOrder) -> StoreResult<OrderOutcome> {
    let c = &o.ctx;
    let idem = format!("order:{}:{}", c.org, c.key.as_str());
    let (prior, bal) = idem_and_balances(conn, &idem, &c.digest, c.org)?;
    if let Some(id) = prior {
        return outcome(conn, id, true);
    }
    let (spec, product) = spec_product(conn, o.spec_id)?;
    if !product.published {
        return Err(StoreError::NotFound);
    }
    let discounts = discounts(conn)?;
    let coupon = match &o.coupon {
        Some(code) => Some(coupon(conn, code, c.org, c.at_ms)?),
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
    let inst_id: i64 = conn
        .prepare_cached(&format!(
            "INSERT INTO instances ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, \
             0, ?20, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, ?21, NULL) RETURNING id",
            INST_COLS.trim_start_matches("id, ")
        ))
        .map_err(rq_err)?
        .query_row(
            params![
                c.org.get(),
                c.user.get(),
                product.id,
                spec.id,
                product.supplier.get(),
                o.mode.as_str(),
                i64::from(o.quantity),
                status.as_str(),
                to_json(&spec.pricing)?,
                i64::from(product.supplier_share_bp.get()),
                c.at_ms,
                i64::from(months),
                c.at_ms,
                ends,
                funding.cash_fen.get(),
                funding.voucher_fen.get(),
                funding.credit_fen.get(),
                shares.supplier_fen.get(),
                shares.operator_fen.get(),
                c.at_ms,
                c.at_ms,
            ],
            |r| r.get(0),
        )
        .map_err(rq_err)?;
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
    let order_id: i64 = conn
        .prepare_cached(
            "INSERT INTO orders (org_id, user_id, kind, instance_id, product_id, spec_id, mode, months, quantity, \
             breakdown, charged_fen, refunded_fen, discount_fen, deposit_fen, cash_fen, voucher_fen, credit_fen, created_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18) RETURNING id",
        )
        .map_err(rq_err)?
        .query_row(
            params![
                c.org.get(),
                c.user.get(),
                "purchase",
                inst.id,
                inst.product_id,
                inst.spec_id,
                inst.mode.as_str(),
                i64::from(months),
                i64::from(breakdown.quantity),
                to_json(&breakdown)?,
                breakdown.total_fen.get(),
                0i64,
                breakdown.discount_fen().get(),
                breakdown.deposit_fen.get(),
                funding.cash_fen.get(),
                funding.voucher_fen.get(),
                funding.credit_fen.get(),
                c.at_ms,
            ],
            |r| r.get(0),
        )
        .map_err(rq_err)?;
    let order = OrderRecord {
        id: order_id,
        org: c.org,
        user: c.user,
        kind: "purchase".to_owned(),
        instance_id: inst.id,
        product_id: inst.product_id,
        spec_id: inst.spec_id,
        mode: inst.mode,
        months,
        quantity: breakdown.quantity,
        breakdown: breakdown.clone(),
        charged_fen: breakdown.total_fen,
        refunded_fen: Fen::ZERO,
        discount_fen: breakdown.discount_fen(),
        deposit_fen: breakdown.deposit_fen,
        funding,
        created_ms: c.at_ms,
    };
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
                post_tx(conn, &jt, Some(c.org), Some(inst_id), "order", c.at_ms)?;
            }
            let (amount, discount) = (breakdown.total_fen, breakdown.discount_fen());
            if !(amount.is_zero() && discount.is_zero()) {
                conn.prepare_cached(
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
                    "prepaid",
                    amount.get(),
                    discount.get(),
                    0i64,
                    c.at_ms,
                ])
                .map_err(rq_err)?;
            }
        }
        ChargingMode::Payg => {
            let d = breakdown.deposit_fen;
            let hold: i64 = conn
                .prepare_cached(
                    "INSERT INTO holds (org_id, instance_id, amount_fen, posted_fen, status, created_ms) VALUES (?1, ?2, ?3, 0, 'pending', ?4) RETURNING id",
                )
                .map_err(rq_err)?
                .query_row(params![c.org.get(), inst_id, d.get(), c.at_ms], |r| r.get(0))
                .map_err(rq_err)?;
            if !d.is_zero() {
                let jt = TxBuilder::new(TxKind::Hold)
                    .debit(Account::Cash(c.org), d)
                    .credit(Account::Frozen(c.org), d)
                    .build(
                        key(format!("hold:{hold}"))?,
                        &format!("deposit of order {order_id}"),
                    )
                    .map_err(jerr)?;
                post_tx(conn, &jt, Some(c.org), Some(inst_id), "frozen", c.at_ms)?;
            }
            inst.hold_id = Some(hold);
            conn.prepare_cached("UPDATE instances SET hold_id = ?1 WHERE id = ?2")
                .map_err(rq_err)?
                .execute(params![hold, inst_id])
                .map_err(rq_err)?;
        }
    }
    // A coupon is used up only by an order it discounted.
    let applied = breakdown.steps.iter().any(|st| st.kind == "coupon");
    if let Some(cp) = coupon.as_ref().filter(|_| applied) {
        let n = conn
            .prepare_cached(
                "UPDATE coupons SET used_order_id = ?1 WHERE id = ?2 AND used_order_id IS NULL",
            )
            .map_err(rq_err)?
            .execute(params![order_id, cp.id])
            .map_err(rq_err)?;
        if n != 1 {
            return Err(rejected("coupon already used"));
        }
    }
    conn.prepare_cached("INSERT INTO op_idem (key, body_digest, result_id) VALUES (?1, ?2, ?3)")
        .map_err(rq_err)?
        .execute(params![idem, c.digest, order_id])
        .map_err(rq_err)?;
    let mut balances = bal;
    balances.cash_fen -= funding.cash_fen.get() + breakdown.deposit_fen.get();
    balances.voucher_fen -= funding.voucher_fen.get();
    balances.credit_used_fen += funding.credit_fen.get();
    balances.frozen_fen += breakdown.deposit_fen.get();
    Ok(OrderOutcome {
        order,
        instance: inst,
        balances,
        replayed: false,
    })
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
