//! `MoneyStore`, accounts: balances, credit lines, vouchers, statements, journal checks
//! and reversals.

macro_rules! money_accounts {
    ($Store:ident, $Row:ty, $Db:ty, $lock:literal) => {
        impl $Store {
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

        }
    };
}
