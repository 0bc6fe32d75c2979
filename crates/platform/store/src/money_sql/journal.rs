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

            /// Posts a journal transaction: header, lines, projection, balance check, mirror.
            async fn post_tx(
                tx: &mut sqlx::Transaction<'static, $Db>,
                jt: &JournalTx,
                org: Option<OrgId>,
                instance: Option<i64>,
                channel: &str,
                at_ms: i64,
            ) -> StoreResult<i64> {
                debug_assert_eq!(jt.imbalance(), 0, "unbalanced journal transaction {}", jt.key().as_str());
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

        }
    };
}
