//! `MoneyStore`, bills and the chain mirror.

macro_rules! money_bills {
    ($Store:ident, $Row:ty, $Db:ty, $lock:literal) => {
        impl $Store {
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
                let rows = sqlx::query("SELECT id, journal_tx_id, org_id, op, amount_fen, sent_ref, signed_ref, signed_tx FROM mirror_outbox WHERE sent_ref IS NULL AND failed_code IS NULL ORDER BY id LIMIT $1")
                    .bind(limit_of(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter()
                    .map(decode::mirror)
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
                // The wallet follows the cash account (`posting`): its projected balance.
                let rows = sqlx::query(
                    "SELECT account, balance FROM account_balances WHERE account LIKE 'customer:%:cash' ORDER BY account",
                )
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    let a: String = col!(r, "account");
                    match Account::parse(&a) {
                        Some(Account::Cash(o)) => out.push((o, col!(r, "balance"))),
                        _ => return Err(cor("cash account")),
                    }
                }
                out.sort_by_key(|(o, _)| *o);
                Ok(out)
            }
        }
    };
}
