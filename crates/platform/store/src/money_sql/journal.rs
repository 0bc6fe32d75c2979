//! Posting to the journal inside an open transaction: balances, journal transactions
//! (header, lines, projection, balance check, mirror outbox), idempotency keys.

macro_rules! money_journal {
    ($Store:ident, $Row:ty, $Db:ty, $lock:literal) => {
        impl $Store {
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
                let pairs = rows.iter().map(|r| Ok((col!(r, "account"), col!(r, "balance")))).collect::<StoreResult<Vec<(String, i64)>>>()?;
                decode::balances(pairs)
            }

            /// Posts a journal transaction (`crate::posting::post`).
            async fn post_tx(
                tx: &mut sqlx::Transaction<'static, $Db>,
                jt: &JournalTx,
                org: Option<OrgId>,
                instance: Option<i64>,
                channel: &str,
                at_ms: i64,
            ) -> StoreResult<i64> {
                posting::post(&mut SqlxJournal { tx }, jt, org, instance, channel, at_ms).await
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

        }

        impl posting::JournalWrites for SqlxJournal<'_, $Db> {
            async fn header(
                &mut self,
                jt: &JournalTx,
                org: Option<OrgId>,
                instance: Option<i64>,
                channel: &str,
                at_ms: i64,
            ) -> StoreResult<i64> {
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
                .bind(jt.total().get())
                .bind(at_ms)
                .fetch_one(&mut **self.tx)
                .await
                .map_err(db_err)?;
                Ok(col!(r, "id"))
            }

            async fn project(&mut self, account: &str, delta: i64) -> StoreResult<i64> {
                let r = sqlx::query(
                    "INSERT INTO account_balances (account, balance) VALUES ($1, $2) \
                     ON CONFLICT (account) DO UPDATE SET balance = account_balances.balance + excluded.balance \
                     RETURNING balance",
                )
                .bind(account.to_owned())
                .bind(delta)
                .fetch_one(&mut **self.tx)
                .await
                .map_err(db_err)?;
                Ok(col!(r, "balance"))
            }

            async fn lines(&mut self, id: i64, lines: &[Line], afters: &[Option<i64>]) -> StoreResult<Vec<(String, i64)>> {
                let sql = format!(
                    "INSERT INTO journal_lines (tx_id, account, side, amount_fen, balance_after) VALUES {} \
                     RETURNING side, amount_fen",
                    posting::line_values(lines.len(), '$')
                );
                let mut q = sqlx::query(&sql);
                for (l, after) in lines.iter().zip(afters) {
                    q = q.bind(id).bind(l.account.key()).bind(l.side.as_str()).bind(l.amount.get()).bind(*after);
                }
                let stored = q.fetch_all(&mut **self.tx).await.map_err(db_err)?;
                stored.iter().map(|r| Ok((col!(r, "side"), col!(r, "amount_fen")))).collect()
            }

            async fn mirror(&mut self, id: i64, org: OrgId, op: &str, amount: i64, at_ms: i64) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO mirror_outbox (journal_tx_id, org_id, op, amount_fen, created_ms) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id)
                .bind(org.get())
                .bind(op.to_owned())
                .bind(amount)
                .bind(at_ms)
                .execute(&mut **self.tx)
                .await
                .map_err(db_err)?;
                Ok(())
            }
        }
    };
}
