//! `MoneyStore`, recharge: payments, offline transfers, finance grants (four eyes).

macro_rules! money_recharge {
    ($Store:ident, $Row:ty, $Db:ty, $lock:literal) => {
        impl $Store {
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
                r.as_ref().map(decode::payment).transpose()
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
                let pay = decode::payment(&first)?;
                if pay.amount_fen != amount {
                    return Err(StoreError::Money(MoneyRejection::AmountMismatch));
                }
                let (_g, mut tx) = self.m_begin(Some(pay.org)).await?;
                let r = sqlx::query(&sql)
                    .bind(provider.to_owned())
                    .bind(provider_ref.to_owned())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let pay = decode::payment(&r)?;
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
                decode::offline(&r)
            }

            async fn approve_offline(&self, id: i64, by: UserId, at_ms: i64) -> StoreResult<OfflineRecord> {
                let sql = format!("SELECT {OFFLINE_COLS} FROM offline_transfers WHERE id = $1");
                let r = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await.map_err(db_err)?;
                let first = decode::offline(r.as_ref().ok_or(StoreError::NotFound)?)?;
                let (_g, mut tx) = self.m_begin(Some(first.org)).await?;
                let r = sqlx::query(&sql).bind(id).fetch_one(&mut *tx).await.map_err(db_err)?;
                let t = decode::offline(&r)?;
                if t.status != "pending" {
                    return Err(StoreError::Money(MoneyRejection::NotPending("transfer")));
                }
                if t.entered_by == by {
                    return Err(StoreError::Money(MoneyRejection::FourEyes));
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
                let out = decode::offline(&r)?;
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
                        let rec = decode::grant(&r)?;
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
                let rec = decode::grant(&r)?;
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
                let first = decode::grant(r.as_ref().ok_or(StoreError::NotFound)?)?;
                let (_g, mut tx) = self.m_begin(Some(first.org)).await?;
                let r = sqlx::query(&sql).bind(id).fetch_one(&mut *tx).await.map_err(db_err)?;
                let g = decode::grant(&r)?;
                if g.status != "pending" {
                    return Err(StoreError::Money(MoneyRejection::NotPending("grant")));
                }
                if g.entered_by == by {
                    return Err(StoreError::Money(MoneyRejection::FourEyes));
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
                let rec = decode::grant(&r)?;
                let balances = Self::tx_balances(&mut tx, g.org).await?;
                tx.commit().await.map_err(db_err)?;
                Ok(GrantOutcome { grant: rec, balances: Some(balances) })
            }

            async fn grant_worklist(&self, limit: u32) -> StoreResult<Vec<GrantRecord>> {
                let sql = format!("SELECT {GRANT_COLS} FROM money_grants {WORKLIST_ORDER} LIMIT $1");
                let rows = sqlx::query(&sql).bind(limit_of(limit)).fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter().map(decode::grant).collect()
            }

            async fn offline_worklist(&self, limit: u32) -> StoreResult<Vec<OfflineRecord>> {
                let sql = format!("SELECT {OFFLINE_COLS} FROM offline_transfers {WORKLIST_ORDER} LIMIT $1");
                let rows = sqlx::query(&sql).bind(limit_of(limit)).fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter().map(decode::offline).collect()
            }

            async fn list_grants(&self, after: i64, limit: u32) -> StoreResult<Vec<GrantRecord>> {
                let sql = format!("SELECT {GRANT_COLS} FROM money_grants WHERE id > $1 ORDER BY id LIMIT $2");
                let rows = sqlx::query(&sql).bind(after).bind(limit_of(limit)).fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter().map(decode::grant).collect()
            }

            async fn list_offline(&self, after: i64, limit: u32) -> StoreResult<Vec<OfflineRecord>> {
                let sql = format!("SELECT {OFFLINE_COLS} FROM offline_transfers WHERE id > $1 ORDER BY id LIMIT $2");
                let rows = sqlx::query(&sql).bind(after).bind(limit_of(limit)).fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter().map(decode::offline).collect()
            }

        }
    };
}
