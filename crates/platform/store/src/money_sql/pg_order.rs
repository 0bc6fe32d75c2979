//! The PostgreSQL purchase (SQLite runs its own on the writer thread: `sqlite_writer`).

use super::*;

impl PgStore {
    /// The purchase (SQLite runs its own on the writer thread: `sqlite_writer.rs`).
    pub(super) async fn place_order_now(&self, o: &PlaceOrder) -> StoreResult<OrderOutcome> {
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
