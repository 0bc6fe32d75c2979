//! [`TradeStore`] for both backends from one macro body (same SQL text): an order stored
//! with its escrow entry, its decision (the refusal reverses the entry in the same SQL
//! transaction), the journal entries that follow its chain records (idempotent by key),
//! member limits and wallet alarms. Trade entries name no organisation on their header,
//! so they queue no wallet-mirror instruction: the chain moves the wallet itself.

use super::{cor, fen, key, oid, uid};
use crate::decode::Cols;
use crate::sql::{db_err, limit_of};
use crate::trades::*;
use crate::{PgStore, SqliteStore, StoreError, StoreResult};
use suanli_platform_domain::journal::JournalTx;
use suanli_platform_domain::money::Fen;
use suanli_platform_domain::rejection::MoneyRejection;
use suanli_platform_domain::trades::{TradeStatus, order_tx};
use suanli_platform_domain::{OrgId, UserId};

pub(crate) const TRADE_COLS: &str = "serial, org_id, user_id, offer_id, chain_offer_id, supplier_org_id, units, \
     duration_minutes, payg, value_fen, source, tx_ref, tx_hex, status, refusal_code, refusal_message, \
     close_reason, escrow_tx_id, paid_fen, refunded_fen, checkins, rating_ref, created_ms, decided_ms, \
     closed_ms";
const LIMIT_COLS: &str = "org_id, user_id, did, limit_fen, set_by, set_ms, chain_ref, chain_ms";
const ALARM_COLS: &str = "id, org_id, journal_fen, chain_fen, raised_ms";
/// Statuses whose records the journal still follows.
const LIVE: &str = "('placing', 'placed', 'active')";

pub(crate) fn trade(r: &(impl Cols + ?Sized)) -> StoreResult<TradeRecord> {
    let u64_of = |v: i64| u64::try_from(v).map_err(cor);
    let u32_of = |v: i64| u32::try_from(v).map_err(cor);
    Ok(TradeRecord {
        serial: r.text("serial")?,
        org: oid(r.i64("org_id")?)?,
        user: uid(r.i64("user_id")?)?,
        offer_id: r.i64("offer_id")?,
        chain_offer_id: u64_of(r.i64("chain_offer_id")?)?,
        supplier_org: oid(r.i64("supplier_org_id")?)?,
        units: u32_of(r.i64("units")?)?,
        duration_minutes: u64_of(r.i64("duration_minutes")?)?,
        payg: r.i64("payg")? == 1,
        value: fen(r.i64("value_fen")?)?,
        source: r.text("source")?,
        tx_ref: r.text("tx_ref")?,
        tx_hex: r.text("tx_hex")?,
        status: TradeStatus::parse(&r.text("status")?).ok_or_else(|| cor("trade status"))?,
        refusal_code: r.opt_text("refusal_code")?,
        refusal_message: r.opt_text("refusal_message")?,
        close_reason: r.opt_text("close_reason")?,
        escrow_tx_id: r.i64("escrow_tx_id")?,
        paid: fen(r.i64("paid_fen")?)?,
        refunded: fen(r.i64("refunded_fen")?)?,
        checkins: u32_of(r.i64("checkins")?)?,
        rating_ref: r.opt_text("rating_ref")?,
        created_ms: r.i64("created_ms")?,
        decided_ms: r.opt_i64("decided_ms")?,
        closed_ms: r.opt_i64("closed_ms")?,
    })
}

fn limit_row(r: &(impl Cols + ?Sized)) -> StoreResult<MemberLimitRecord> {
    Ok(MemberLimitRecord {
        org: oid(r.i64("org_id")?)?,
        user: uid(r.i64("user_id")?)?,
        did: r.text("did")?,
        limit: fen(r.i64("limit_fen")?)?,
        set_by: uid(r.i64("set_by")?)?,
        set_ms: r.i64("set_ms")?,
        chain_ref: r.opt_text("chain_ref")?,
        chain_ms: r.opt_i64("chain_ms")?,
    })
}

fn alarm(r: &(impl Cols + ?Sized)) -> StoreResult<WalletAlarm> {
    Ok(WalletAlarm {
        id: r.i64("id")?,
        org: oid(r.i64("org_id")?)?,
        journal_fen: r.i64("journal_fen")?,
        chain_fen: r.i64("chain_fen")?,
        raised_ms: r.i64("raised_ms")?,
    })
}

fn i64_of(v: u64) -> StoreResult<i64> {
    i64::try_from(v).map_err(cor)
}

macro_rules! trade_store {
    ($Store:ident, $Db:ty) => {
        impl $Store {
            async fn tr_row_in(
                tx: &mut sqlx::Transaction<'static, $Db>,
                serial: &str,
            ) -> StoreResult<TradeRecord> {
                let sql = format!("SELECT {TRADE_COLS} FROM trade_orders WHERE serial = $1");
                let r = sqlx::query(&sql)
                    .bind(serial.to_owned())
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(db_err)?;
                trade(r.as_ref().ok_or(StoreError::NotFound)?)
            }

            /// Opens the trade's SQL transaction under its organisation's lock.
            async fn tr_begin(
                &self,
                serial: &str,
            ) -> StoreResult<(
                Option<tokio::sync::MutexGuard<'_, ()>>,
                sqlx::Transaction<'static, $Db>,
                TradeRecord,
            )> {
                let org = self.tr_get(serial).await?.ok_or(StoreError::NotFound)?.org;
                let (g, mut tx) = self.m_begin(Some(org)).await?;
                let row = Self::tr_row_in(&mut tx, serial).await?;
                Ok((g, tx, row))
            }

            async fn tr_get(&self, serial: &str) -> StoreResult<Option<TradeRecord>> {
                let sql = format!("SELECT {TRADE_COLS} FROM trade_orders WHERE serial = $1");
                let r = sqlx::query(&sql)
                    .bind(serial.to_owned())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                r.as_ref().map(trade).transpose()
            }

            async fn tr_insert(
                tx: &mut sqlx::Transaction<'static, $Db>,
                n: &NewTrade,
                escrow_tx_id: i64,
            ) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO trade_orders (serial, org_id, user_id, offer_id, chain_offer_id, supplier_org_id, \
                     units, duration_minutes, payg, value_fen, source, idem_key, body_digest, tx_ref, tx_hex, \
                     status, escrow_tx_id, created_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'placing', $16, $17)",
                )
                .bind(n.serial.clone())
                .bind(n.org.get())
                .bind(n.user.get())
                .bind(n.offer_id)
                .bind(i64_of(n.chain_offer_id)?)
                .bind(n.supplier_org.get())
                .bind(i64::from(n.units))
                .bind(i64_of(n.duration_minutes)?)
                .bind(i64::from(n.payg))
                .bind(n.value.get())
                .bind(n.source)
                .bind(n.idem_key.clone())
                .bind(n.body_digest.clone())
                .bind(n.tx_ref.clone())
                .bind(n.tx_hex.clone())
                .bind(escrow_tx_id)
                .bind(n.at_ms)
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl TradeStore for $Store {
            async fn place_trade(
                &self,
                n: &NewTrade,
                escrow: &JournalTx,
            ) -> StoreResult<(TradeRecord, bool)> {
                let (_g, mut tx) = self.m_begin(Some(n.org)).await?;
                let sql = format!(
                    "SELECT {TRADE_COLS}, body_digest FROM trade_orders WHERE org_id = $1 AND idem_key = $2"
                );
                let prior = sqlx::query(&sql)
                    .bind(n.org.get())
                    .bind(n.idem_key.clone())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
                if let Some(r) = prior {
                    return if r.text("body_digest")? == n.body_digest {
                        Ok((trade(&r)?, true))
                    } else {
                        Err(StoreError::KeyReuse)
                    };
                }
                let cash = Self::tx_balances(&mut tx, n.org).await?.cash_fen;
                if cash < n.value.get() {
                    return Err(StoreError::Money(MoneyRejection::InsufficientFunds {
                        needed: n.value.get(),
                        available: cash.max(0),
                    }));
                }
                debug_assert_eq!(escrow.total(), n.value, "the escrow entry moves the order's value");
                let jid = Self::post_tx(&mut tx, escrow, None, None, "trade", n.at_ms).await?;
                Self::tr_insert(&mut tx, n, jid).await?;
                let out = Self::tr_row_in(&mut tx, &n.serial).await?;
                tx.commit().await.map_err(db_err)?;
                Ok((out, false))
            }

            async fn import_trade(
                &self,
                n: &NewTrade,
                escrow: &JournalTx,
            ) -> StoreResult<(TradeRecord, bool)> {
                let (_g, mut tx) = self.m_begin(Some(n.org)).await?;
                let prior = sqlx::query("SELECT serial FROM trade_orders WHERE serial = $1")
                    .bind(n.serial.clone())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
                if prior.is_some() {
                    let out = Self::tr_row_in(&mut tx, &n.serial).await?;
                    return Ok((out, false));
                }
                debug_assert_eq!(escrow.total(), n.value, "the escrow entry moves the order's value");
                // No cash check: the chain took the value from the wallet already.
                let (jid, _) = Self::post_idem(&mut tx, escrow, None, "trade", n.at_ms).await?;
                Self::tr_insert(&mut tx, n, jid).await?;
                sqlx::query("UPDATE trade_orders SET status = 'placed', decided_ms = $1 WHERE serial = $2")
                    .bind(n.at_ms)
                    .bind(n.serial.clone())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let out = Self::tr_row_in(&mut tx, &n.serial).await?;
                tx.commit().await.map_err(db_err)?;
                Ok((out, true))
            }

            async fn mirror_failed(&self, id: i64, code: &str, message: &str, at_ms: i64) -> StoreResult<()> {
                let n = sqlx::query(
                    "UPDATE mirror_outbox SET failed_code = $1, failed_message = $2, failed_ms = $3 \
                     WHERE id = $4 AND sent_ref IS NULL AND failed_code IS NULL",
                )
                .bind(code.to_owned())
                .bind(message.chars().take(crate::trades::REFUSAL_MESSAGE_CHARS_MAX).collect::<String>())
                .bind(at_ms)
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(db_err)?
                .rows_affected();
                if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            }

            async fn mirror_resign(&self, id: i64) -> StoreResult<()> {
                let n = sqlx::query(
                    "UPDATE mirror_outbox SET signed_ref = NULL, signed_tx = NULL \
                     WHERE id = $1 AND sent_ref IS NULL AND failed_code IS NULL",
                )
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(db_err)?
                .rows_affected();
                if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            }

            async fn mirror_failed_count(&self) -> StoreResult<(u64, i64)> {
                let r = sqlx::query(
                    "SELECT CAST(COUNT(*) AS BIGINT) AS n, CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) AS fen \
                     FROM mirror_outbox WHERE failed_code IS NOT NULL",
                )
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
                Ok((u64::try_from(r.i64("n")?).map_err(cor)?, r.i64("fen")?))
            }

            async fn trade_placed(&self, serial: &str, at_ms: i64) -> StoreResult<TradeRecord> {
                let (_g, mut tx, row) = self.tr_begin(serial).await?;
                if row.status != TradeStatus::Placing {
                    return Ok(row);
                }
                sqlx::query("UPDATE trade_orders SET status = 'placed', decided_ms = $1 WHERE serial = $2")
                    .bind(at_ms)
                    .bind(serial.to_owned())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let out = Self::tr_row_in(&mut tx, serial).await?;
                tx.commit().await.map_err(db_err)?;
                Ok(out)
            }

            async fn trade_refused(
                &self,
                serial: &str,
                code: &str,
                message: &str,
                at_ms: i64,
            ) -> StoreResult<TradeRecord> {
                let (_g, mut tx, row) = self.tr_begin(serial).await?;
                if row.status != TradeStatus::Placing {
                    return Ok(row);
                }
                let original = order_tx(row.org, serial, row.value).map_err(cor)?;
                let rev = original.reversal(key(format!("trade-refused:{serial}"))?);
                let rid = Self::post_tx(&mut tx, &rev, None, None, "trade", at_ms).await?;
                sqlx::query("INSERT INTO journal_reversals (original_tx_id, reversal_tx_id) VALUES ($1, $2)")
                    .bind(row.escrow_tx_id)
                    .bind(rid)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                sqlx::query(
                    "UPDATE trade_orders SET status = 'refused', refusal_code = $1, refusal_message = $2, \
                     decided_ms = $3 WHERE serial = $4",
                )
                .bind(code.to_owned())
                .bind(message.chars().take(crate::trades::REFUSAL_MESSAGE_CHARS_MAX).collect::<String>())
                .bind(at_ms)
                .bind(serial.to_owned())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                // A demand confirmed into this order is matched again (docs/market.md
                // "Confirming a match": a refused order leaves the demand matched).
                sqlx::query(
                    "UPDATE market_demands SET status = 'matched', trade_serial = NULL, confirmed_ms = NULL \
                     WHERE trade_serial = $1 AND status = 'confirmed'",
                )
                .bind(serial.to_owned())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                let out = Self::tr_row_in(&mut tx, serial).await?;
                tx.commit().await.map_err(db_err)?;
                Ok(out)
            }

            async fn trade_synced(
                &self,
                serial: &str,
                s: &TradeSync,
                at_ms: i64,
            ) -> StoreResult<TradeRecord> {
                let (_g, mut tx, row) = self.tr_begin(serial).await?;
                if !row.status.live() {
                    return Ok(row);
                }
                let moved = s.paid.checked_add(s.refunded).map_err(cor)?;
                if s.funded < row.value || moved > s.funded {
                    return Err(cor(format!("trade {serial}: the chain moved more than its escrow")));
                }
                for e in &s.entries {
                    Self::post_idem(&mut tx, e, None, "trade", at_ms).await?;
                }
                let closed = s.status == TradeStatus::Closed;
                sqlx::query(
                    "UPDATE trade_orders SET status = $1, close_reason = $2, paid_fen = $3, refunded_fen = $4, \
                     checkins = $5, decided_ms = COALESCE(decided_ms, $6), \
                     closed_ms = CASE WHEN $7 = 1 THEN $6 ELSE closed_ms END, value_fen = $9 WHERE serial = $8",
                )
                .bind(s.status.as_str())
                .bind(s.close_reason.clone())
                .bind(s.paid.get())
                .bind(s.refunded.get())
                .bind(i64::from(s.checkins))
                .bind(at_ms)
                .bind(i64::from(closed))
                .bind(serial.to_owned())
                .bind(s.funded.get())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                let out = Self::tr_row_in(&mut tx, serial).await?;
                // Conservation: what left the escrow never exceeds what entered it.
                debug_assert!(out.paid.get() + out.refunded.get() <= out.value.get());
                tx.commit().await.map_err(db_err)?;
                Ok(out)
            }

            async fn trade_rated(&self, serial: &str, tx_ref: &str) -> StoreResult<TradeRecord> {
                let n = sqlx::query(
                    "UPDATE trade_orders SET rating_ref = $1 WHERE serial = $2 AND status = 'closed' AND rating_ref IS NULL",
                )
                .bind(tx_ref.to_owned())
                .bind(serial.to_owned())
                .execute(&self.pool)
                .await
                .map_err(db_err)?
                .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                self.tr_get(serial).await?.ok_or(StoreError::NotFound)
            }

            async fn trade_by_idem(
                &self,
                org: OrgId,
                idem_key: &str,
            ) -> StoreResult<Option<(TradeRecord, String)>> {
                let sql = format!(
                    "SELECT {TRADE_COLS}, body_digest FROM trade_orders WHERE org_id = $1 AND idem_key = $2"
                );
                let r = sqlx::query(&sql)
                    .bind(org.get())
                    .bind(idem_key.to_owned())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                match r {
                    Some(r) => Ok(Some((trade(&r)?, r.text("body_digest")?))),
                    None => Ok(None),
                }
            }

            async fn offer_by_chain_id(&self, chain_offer_id: u64) -> StoreResult<Option<i64>> {
                let r = sqlx::query(
                    "SELECT id FROM supply_offers WHERE chain_offer_id = $1 ORDER BY id DESC LIMIT 1",
                )
                .bind(i64_of(chain_offer_id)?)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                r.as_ref().map(|r| r.i64("id")).transpose()
            }

            async fn get_trade(&self, serial: &str) -> StoreResult<Option<TradeRecord>> {
                self.tr_get(serial).await
            }

            async fn list_trades(
                &self,
                org: Option<OrgId>,
                before_ms: i64,
                limit: u32,
            ) -> StoreResult<Vec<TradeRecord>> {
                let sql = format!(
                    "SELECT {TRADE_COLS} FROM trade_orders WHERE ($1 = 0 OR org_id = $1) AND created_ms < $2 \
                     ORDER BY created_ms DESC, serial DESC LIMIT $3"
                );
                let rows = sqlx::query(&sql)
                    .bind(org.map_or(0, OrgId::get))
                    .bind(if before_ms <= 0 { i64::MAX } else { before_ms })
                    .bind(limit_of(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(trade).collect()
            }

            async fn live_trades(&self, after: &str, limit: u32) -> StoreResult<Vec<TradeRecord>> {
                let sql = format!(
                    "SELECT {TRADE_COLS} FROM trade_orders WHERE status IN {LIVE} AND serial > $1 ORDER BY serial LIMIT $2"
                );
                let rows = sqlx::query(&sql)
                    .bind(after.to_owned())
                    .bind(limit_of(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(trade).collect()
            }

            async fn trades_after(&self, after: &str, limit: u32) -> StoreResult<Vec<TradeRecord>> {
                let sql = format!(
                    "SELECT {TRADE_COLS} FROM trade_orders WHERE serial > $1 ORDER BY serial LIMIT $2"
                );
                let rows = sqlx::query(&sql)
                    .bind(after.to_owned())
                    .bind(limit_of(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(trade).collect()
            }

            async fn trade_counts(&self) -> StoreResult<TradeCounts> {
                let r = sqlx::query(
                    "SELECT CAST(COUNT(*) AS BIGINT) AS orders, \
                     CAST(COALESCE(SUM(CASE WHEN status IN ('placed', 'active', 'closed') THEN 1 ELSE 0 END), 0) AS BIGINT) AS on_chain, \
                     CAST(COALESCE(SUM(CASE WHEN status = 'placing' THEN 1 ELSE 0 END), 0) AS BIGINT) AS placing, \
                     CAST(COALESCE(SUM(checkins), 0) AS BIGINT) AS checkins FROM trade_orders",
                )
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
                let u = |v: i64| u64::try_from(v).map_err(cor);
                Ok(TradeCounts {
                    orders: u(r.i64("orders")?)?,
                    orders_on_chain: u(r.i64("on_chain")?)?,
                    placing: u(r.i64("placing")?)?,
                    checkins_billed: u(r.i64("checkins")?)?,
                })
            }

            async fn orgs_placing(&self) -> StoreResult<Vec<OrgId>> {
                let rows = sqlx::query(
                    "SELECT DISTINCT org_id FROM trade_orders WHERE status = 'placing' ORDER BY org_id",
                )
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                rows.iter().map(|r| oid(r.i64("org_id")?)).collect()
            }

            async fn set_member_limit(
                &self,
                org: OrgId,
                user: UserId,
                did: &str,
                limit: Fen,
                by: UserId,
                at_ms: i64,
            ) -> StoreResult<MemberLimitRecord> {
                let sql = format!(
                    "INSERT INTO org_member_limits (org_id, user_id, did, limit_fen, set_by, set_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (org_id, user_id) DO UPDATE SET \
                     did = excluded.did, limit_fen = excluded.limit_fen, set_by = excluded.set_by, \
                     set_ms = excluded.set_ms, chain_ref = NULL, chain_ms = NULL RETURNING {LIMIT_COLS}"
                );
                let r = sqlx::query(&sql)
                    .bind(org.get())
                    .bind(user.get())
                    .bind(did.to_owned())
                    .bind(limit.get())
                    .bind(by.get())
                    .bind(at_ms)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_err)?;
                limit_row(&r)
            }

            async fn member_limits(&self, org: OrgId) -> StoreResult<Vec<MemberLimitRecord>> {
                let sql = format!("SELECT {LIMIT_COLS} FROM org_member_limits WHERE org_id = $1 ORDER BY user_id");
                let rows = sqlx::query(&sql)
                    .bind(org.get())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(limit_row).collect()
            }

            async fn member_limits_pending(&self, limit: u32) -> StoreResult<Vec<MemberLimitRecord>> {
                let sql = format!(
                    "SELECT {LIMIT_COLS} FROM org_member_limits WHERE chain_ref IS NULL ORDER BY set_ms, org_id, user_id LIMIT $1"
                );
                let rows = sqlx::query(&sql)
                    .bind(limit_of(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(limit_row).collect()
            }

            async fn member_limit_sent(
                &self,
                org: OrgId,
                user: UserId,
                set_ms: i64,
                chain_ref: &str,
                at_ms: i64,
            ) -> StoreResult<()> {
                sqlx::query(
                    "UPDATE org_member_limits SET chain_ref = $1, chain_ms = $2 \
                     WHERE org_id = $3 AND user_id = $4 AND set_ms = $5 AND chain_ref IS NULL",
                )
                .bind(chain_ref.to_owned())
                .bind(at_ms)
                .bind(org.get())
                .bind(user.get())
                .bind(set_ms)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn raise_wallet_alarm(
                &self,
                org: OrgId,
                journal_fen: i64,
                chain_fen: i64,
                at_ms: i64,
            ) -> StoreResult<WalletAlarm> {
                let sql = format!(
                    "INSERT INTO wallet_alarms (org_id, journal_fen, chain_fen, raised_ms) VALUES ($1, $2, $3, $4) \
                     RETURNING {ALARM_COLS}"
                );
                let r = sqlx::query(&sql)
                    .bind(org.get())
                    .bind(journal_fen)
                    .bind(chain_fen)
                    .bind(at_ms)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_err)?;
                alarm(&r)
            }

            async fn wallet_alarms(&self, limit: u32) -> StoreResult<Vec<WalletAlarm>> {
                let sql = format!("SELECT {ALARM_COLS} FROM wallet_alarms ORDER BY id DESC LIMIT $1");
                let rows = sqlx::query(&sql)
                    .bind(limit_of(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(alarm).collect()
            }
        }
    };
}

trade_store!(SqliteStore, sqlx::Sqlite);
trade_store!(PgStore, sqlx::Postgres);
