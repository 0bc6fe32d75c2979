//! `MoneyStore`, orders and instances: renewals, unsubscribes, changes of spec,
//! acceptance, lists, the lifecycle pass, messages.

macro_rules! money_orders {
    ($Store:ident, $Row:ty, $Db:ty, $lock:literal) => {
        impl $Store {
            async fn place_order(&self, o: &PlaceOrder) -> StoreResult<OrderOutcome> {
                self.place_order_serialised(o).await
            }

            async fn renew(&self, c: &OrderCtx, instance: i64, months: u32) -> StoreResult<OrderOutcome> {
                check_renewal_months(months)?;
                let idem = format!("renew:{}:{}", c.org, c.key.as_str());
                let (_g, mut tx) = self.m_begin(Some(c.org)).await?;
                if let Some(id) = Self::idem_check(&mut tx, &idem, &c.digest).await? {
                    tx.rollback().await.map_err(db_err)?;
                    drop(_g);
                    return self.outcome(id, true).await;
                }
                let mut inst = Self::own_inst(&mut tx, c, instance).await?;
                let region = Self::region_of(&mut tx, inst.product_id).await?;
                let discounts = Self::discounts_in(&mut *tx).await?;
                let bal = Self::tx_balances(&mut tx, c.org).await?;
                let plan = plan_renewal(&RenewalRequest {
                    facts: RenewalFacts { mode: inst.mode, status: inst.status, months_total: inst.months_total, anchor_ms: inst.anchor_ms },
                    customer: inst.org,
                    quantity: inst.quantity,
                    months,
                    at_ms: c.at_ms,
                    pricing: &inst.pricing,
                    region: &region,
                    discounts: &discounts,
                    supplier_share: inst.supplier_share_bp,
                    balances: &bal,
                })?;
                let (b, funding, shares) = (plan.breakdown, plan.funding, plan.shares);
                inst.months_total = plan.months_total;
                if let Some(end) = plan.new_end_ms {
                    inst.ends_ms = Some(end);
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
                    return Err(StoreError::Money(MoneyRejection::InstanceReleased));
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
                            return Err(StoreError::Money(MoneyRejection::UsageUnpaid { unpaid_fen: inst.usage_unpaid_fen.get() }));
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
                    return Err(StoreError::Money(MoneyRejection::SpecChangeNotAllowed));
                }
                let (new_spec, product) = Self::spec_product_in(&mut *tx, spec).await?;
                if new_spec.product_id != inst.product_id || !product.published {
                    return Err(StoreError::Money(MoneyRejection::SpecOfOtherProduct));
                }
                if new_spec.id == inst.spec_id {
                    return Err(StoreError::Money(MoneyRejection::SameSpec));
                }
                inst.ends_ms.ok_or_else(|| cor("prepaid instance without end"))?;
                let (by_source, shares_back) = Self::prepaid_refund(&inst, c.at_ms)?;
                let refund = by_source.total().map_err(merr)?;
                let discounts = Self::discounts_in(&mut *tx).await?;
                let full = Self::prepaid_quote(&inst, &new_spec.pricing, inst.months_total, &product.region, &discounts)?;
                inst.pricing.prepaid.as_ref().ok_or_else(|| cor("prepaid instance without prepaid pricing"))?;
                let charge = rest_of_term_charge(refund, &inst.pricing, &new_spec.pricing)?;
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
                let (funding, shares) = fund_and_share(charge, &bal, inst.supplier_share_bp)?;
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
                    return Err(StoreError::Money(MoneyRejection::NotPending("instance")));
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
                r.as_ref().map(decode::instance).transpose()
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
                rows.iter().map(decode::instance).collect()
            }

            async fn pending_instances(&self, limit: u32) -> StoreResult<Vec<InstanceRecord>> {
                let sql = format!("SELECT {INST_COLS} FROM instances WHERE status = 'pending' ORDER BY id LIMIT $1");
                let rows = sqlx::query(&sql)
                    .bind(limit_of(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(decode::instance).collect()
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
                rows.iter().map(decode::order).collect()
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
                    .map(decode::message)
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
                    .map(decode::message)
                    .collect()
            }

        }
    };
}
