//! The steps order and instance operations share: loading, writing orders, bill items and
//! instances, metering and charging usage, holds, refunds.

macro_rules! money_steps {
    ($Store:ident, $Row:ty, $Db:ty, $lock:literal) => {
        impl $Store {
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

            async fn inst_in(tx: &mut sqlx::Transaction<'static, $Db>, id: i64) -> StoreResult<Option<InstanceRecord>> {
                let sql = format!("SELECT {INST_COLS} FROM instances WHERE id = $1");
                let r = sqlx::query(&sql).bind(id).fetch_optional(&mut **tx).await.map_err(db_err)?;
                r.as_ref().map(decode::instance).transpose()
            }

            async fn spec_product_in(
                conn: &mut <$Db as sqlx::Database>::Connection,
                spec: i64,
            ) -> StoreResult<(SpecRecord, ProductRecord)> {
                let sql = format!("SELECT {SPEC_COLS} FROM specs WHERE id = $1");
                let r = sqlx::query(&sql).bind(spec).fetch_optional(&mut *conn).await.map_err(db_err)?;
                let s = decode::spec(r.as_ref().ok_or(StoreError::NotFound)?)?;
                let sql = format!("SELECT {PRODUCT_COLS} FROM products WHERE id = $1");
                let r = sqlx::query(&sql).bind(s.product_id).fetch_optional(&mut *conn).await.map_err(db_err)?;
                let p = decode::product(r.as_ref().ok_or(StoreError::NotFound)?)?;
                Ok((s, p))
            }

            async fn discounts_in(conn: &mut <$Db as sqlx::Database>::Connection) -> StoreResult<Vec<Discount>> {
                let rows = sqlx::query("SELECT id, rule, off_bp FROM discounts WHERE active = $1 ORDER BY id")
                    .bind(true)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(decode::discount).collect()
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
                Ok(o.record(col!(r, "id")))
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
                let order = decode::order(r.as_ref().ok_or(StoreError::NotFound)?)?;
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
                .map_err(|e| StoreError::Money(e.into()))
            }

            async fn region_of(tx: &mut sqlx::Transaction<'static, $Db>, product: i64) -> StoreResult<String> {
                let r = sqlx::query("SELECT region FROM products WHERE id = $1")
                    .bind(product)
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(db_err)?;
                Ok(col!(r, "region"))
            }

            /// Where a refund's money goes back to (`orders::refund_destination`).
            fn settle_credit(by_source: &Funding, b: &Balances) -> StoreResult<Funding> {
                Ok(refund_destination(by_source, b)?)
            }

            /// The prorated refund of the current span of a prepaid instance at `now`
            /// (`orders::span_refund`).
            fn prepaid_refund(inst: &InstanceRecord, now_ms: i64) -> StoreResult<(Funding, Shares)> {
                Ok(span_refund(inst.status, &inst.paid, &inst.paid_shares, inst.span_start_ms, inst.ends_ms, now_ms)?)
            }
        }
    };
}
