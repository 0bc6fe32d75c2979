//! [`TradeNoticeStore`] (issue 18, billing, `docs/exchange.md` §7–8, migration
//! `0018_trade_notices`): the channel notices the platform relayed to customers — each
//! stored with the message it leaves for the organisation, in one SQL transaction — and
//! the operator's reads of trades: per customer or per supplier totals, a supplier's
//! trades. One macro body for both backends.

use crate::decode::Cols;
use crate::money_sql::oid;
use crate::money_sql::trades::{TRADE_COLS, trade};
use crate::sql::{db_err, limit_of};
use crate::trades::TradeRecord;
use crate::{PgStore, SqliteStore, StoreResult};
use suanli_platform_domain::OrgId;

/// Most rows of the per-organisation totals (the organisations with the newest trades).
pub const TRADE_TOTALS_MAX: u32 = 500;

/// A channel notice to store.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NewChannelNotice {
    /// The trade.
    pub serial: String,
    /// The ordering organisation (the message's addressee).
    pub org: OrgId,
    /// Paused (`true`) or resumed.
    pub paused: bool,
    /// The escrow left, fen.
    pub remaining_fen: i64,
    /// The supplier's margin, fen.
    pub margin_fen: i64,
    /// When relayed.
    pub at_ms: i64,
}

/// A channel notice as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChannelNoticeRecord {
    /// Id.
    pub id: i64,
    /// The notice.
    #[serde(flatten)]
    pub notice: NewChannelNotice,
}

/// Which side of trades totals are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradeSide {
    /// The ordering (customer) organisation.
    Customer,
    /// The supplier organisation.
    Supplier,
}

impl TradeSide {
    /// `customer` or `supplier`.
    pub fn as_str(self) -> &'static str {
        match self {
            TradeSide::Customer => "customer",
            TradeSide::Supplier => "supplier",
        }
    }
    /// Parses [`TradeSide::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "customer" => Some(TradeSide::Customer),
            "supplier" => Some(TradeSide::Supplier),
            _ => None,
        }
    }
    fn column(self) -> &'static str {
        match self {
            TradeSide::Customer => "org_id",
            TradeSide::Supplier => "supplier_org_id",
        }
    }
}

/// One organisation's trades in total, as the platform stores them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TradeTotals {
    /// The organisation.
    pub org: OrgId,
    /// Its name.
    pub name: String,
    /// Trades.
    pub trades: i64,
    /// Trades the chain may still write to (`placing`, `placed`, `active`).
    pub live: i64,
    /// Closed trades.
    pub closed: i64,
    /// Refused orders.
    pub refused: i64,
    /// Σ what the escrows received (refused orders excluded), fen.
    pub value_fen: i64,
    /// Σ check-ins followed, fen.
    pub paid_fen: i64,
    /// Σ refunds at close, fen.
    pub refunded_fen: i64,
}

/// Channel notices and the operator's reads of trades.
#[async_trait::async_trait]
pub trait TradeNoticeStore: Send + Sync {
    /// Stores a notice and the organisation's message `message` in one SQL transaction.
    async fn record_channel_notice(
        &self,
        n: &NewChannelNotice,
        message: &str,
    ) -> StoreResult<ChannelNoticeRecord>;
    /// The newest notice of trade `serial`.
    async fn latest_channel_notice(&self, serial: &str)
    -> StoreResult<Option<ChannelNoticeRecord>>;
    /// Totals per organisation on `side`, organisations with the most trades first (at
    /// most [`TRADE_TOTALS_MAX`]).
    async fn trade_totals(&self, side: TradeSide) -> StoreResult<Vec<TradeTotals>>;
    /// The trades supplied by `supplier`, newest first, created before `before_ms` (0:
    /// from the newest).
    async fn supplier_trades(
        &self,
        supplier: OrgId,
        before_ms: i64,
        limit: u32,
    ) -> StoreResult<Vec<TradeRecord>>;
    /// The trades of `org` on `side` that may hold settlements in `[from_ms, to_ms)`:
    /// created before `to_ms`, not refused, not closed before `from_ms`; newest first
    /// (`created_ms`, then `serial`), at most `limit` — one statement, no paging, so trades
    /// sharing a creation time are never split.
    async fn period_trades(
        &self,
        side: TradeSide,
        org: OrgId,
        from_ms: i64,
        to_ms: i64,
        limit: u32,
    ) -> StoreResult<Vec<TradeRecord>>;
    /// Every organisation's trades created at or after `since_ms`, not refused, newest
    /// first (`created_ms`, then `serial`), at most `limit`, in one statement.
    async fn trades_since(&self, since_ms: i64, limit: u32) -> StoreResult<Vec<TradeRecord>>;
    /// The journal entries that followed trade `serial`'s check-ins
    /// (`trade-checkin:{serial}:{n}`): `(n, journal transaction id, amount in fen)` by `n`.
    async fn billed_checkins(&self, serial: &str) -> StoreResult<Vec<BilledCheckin>>;
}

/// A check-in's journal entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BilledCheckin {
    /// The check-in's number.
    pub n: u32,
    /// The journal transaction.
    pub journal_tx_id: i64,
    /// Its amount, fen.
    pub amount_fen: i64,
}

const NOTICE_COLS: &str = "id, serial, org_id, paused, remaining_fen, margin_fen, at_ms";

fn notice(r: &(impl Cols + ?Sized)) -> StoreResult<ChannelNoticeRecord> {
    Ok(ChannelNoticeRecord {
        id: r.i64("id")?,
        notice: NewChannelNotice {
            serial: r.text("serial")?,
            org: oid(r.i64("org_id")?)?,
            paused: r.i64("paused")? == 1,
            remaining_fen: r.i64("remaining_fen")?,
            margin_fen: r.i64("margin_fen")?,
            at_ms: r.i64("at_ms")?,
        },
    })
}

fn totals(r: &(impl Cols + ?Sized)) -> StoreResult<TradeTotals> {
    Ok(TradeTotals {
        org: oid(r.i64("org")?)?,
        name: r.text("name")?,
        trades: r.i64("trades")?,
        live: r.i64("live")?,
        closed: r.i64("closed")?,
        refused: r.i64("refused")?,
        value_fen: r.i64("value_fen")?,
        paid_fen: r.i64("paid_fen")?,
        refunded_fen: r.i64("refunded_fen")?,
    })
}

macro_rules! trade_notice_store {
    ($Store:ident, $lock:path) => {
        #[async_trait::async_trait]
        impl TradeNoticeStore for $Store {
            async fn record_channel_notice(
                &self,
                n: &NewChannelNotice,
                message: &str,
            ) -> StoreResult<ChannelNoticeRecord> {
                let _g = $lock(self).await;
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO trade_channel_notices (serial, org_id, paused, remaining_fen, margin_fen, at_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(n.serial.clone()).bind(n.org.get()).bind(i64::from(n.paused))
                .bind(n.remaining_fen).bind(n.margin_fen).bind(n.at_ms)
                .fetch_one(&mut *tx).await.map_err(db_err)?;
                sqlx::query("INSERT INTO messages (org_id, instance_id, body, created_ms) VALUES ($1, NULL, $2, $3)")
                    .bind(n.org.get()).bind(message.to_owned()).bind(n.at_ms)
                    .execute(&mut *tx).await.map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                Ok(ChannelNoticeRecord { id, notice: n.clone() })
            }

            async fn latest_channel_notice(
                &self,
                serial: &str,
            ) -> StoreResult<Option<ChannelNoticeRecord>> {
                let sql = format!("SELECT {NOTICE_COLS} FROM trade_channel_notices WHERE serial = $1 ORDER BY id DESC LIMIT 1");
                let row = sqlx::query(&sql).bind(serial.to_owned())
                    .fetch_optional(&self.pool).await.map_err(db_err)?;
                row.as_ref().map(notice).transpose()
            }

            async fn trade_totals(&self, side: TradeSide) -> StoreResult<Vec<TradeTotals>> {
                let col = side.column();
                let sql = format!(
                    "SELECT t.{col} AS org, o.name AS name, CAST(COUNT(*) AS BIGINT) AS trades, \
                     CAST(SUM(CASE WHEN t.status IN ('placing', 'placed', 'active') THEN 1 ELSE 0 END) AS BIGINT) AS live, \
                     CAST(SUM(CASE WHEN t.status = 'closed' THEN 1 ELSE 0 END) AS BIGINT) AS closed, \
                     CAST(SUM(CASE WHEN t.status = 'refused' THEN 1 ELSE 0 END) AS BIGINT) AS refused, \
                     CAST(SUM(CASE WHEN t.status = 'refused' THEN 0 ELSE t.value_fen END) AS BIGINT) AS value_fen, \
                     CAST(SUM(t.paid_fen) AS BIGINT) AS paid_fen, CAST(SUM(t.refunded_fen) AS BIGINT) AS refunded_fen \
                     FROM trade_orders t JOIN orgs o ON o.id = t.{col} \
                     GROUP BY t.{col}, o.name ORDER BY trades DESC, org LIMIT $1"
                );
                let rows = sqlx::query(&sql).bind(i64::from(TRADE_TOTALS_MAX))
                    .fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter().map(totals).collect()
            }

            async fn supplier_trades(
                &self,
                supplier: OrgId,
                before_ms: i64,
                limit: u32,
            ) -> StoreResult<Vec<TradeRecord>> {
                let sql = format!(
                    "SELECT {TRADE_COLS} FROM trade_orders WHERE supplier_org_id = $1 AND created_ms < $2 \
                     ORDER BY created_ms DESC, serial DESC LIMIT $3"
                );
                let rows = sqlx::query(&sql)
                    .bind(supplier.get())
                    .bind(if before_ms <= 0 { i64::MAX } else { before_ms })
                    .bind(limit_of(limit))
                    .fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter().map(trade).collect()
            }

            async fn period_trades(
                &self,
                side: TradeSide,
                org: OrgId,
                from_ms: i64,
                to_ms: i64,
                limit: u32,
            ) -> StoreResult<Vec<TradeRecord>> {
                let col = side.column();
                let sql = format!(
                    "SELECT {TRADE_COLS} FROM trade_orders WHERE {col} = $1 AND created_ms < $2 \
                     AND status <> 'refused' AND (closed_ms IS NULL OR closed_ms >= $3) \
                     ORDER BY created_ms DESC, serial DESC LIMIT $4"
                );
                let rows = sqlx::query(&sql)
                    .bind(org.get())
                    .bind(to_ms)
                    .bind(from_ms)
                    .bind(i64::from(limit.max(1)))
                    .fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter().map(trade).collect()
            }

            async fn trades_since(&self, since_ms: i64, limit: u32) -> StoreResult<Vec<TradeRecord>> {
                let sql = format!(
                    "SELECT {TRADE_COLS} FROM trade_orders WHERE created_ms >= $1 AND status <> 'refused' \
                     ORDER BY created_ms DESC, serial DESC LIMIT $2"
                );
                let rows = sqlx::query(&sql)
                    .bind(since_ms)
                    .bind(i64::from(limit.max(1)))
                    .fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter().map(trade).collect()
            }

            async fn billed_checkins(&self, serial: &str) -> StoreResult<Vec<BilledCheckin>> {
                // `:` is followed by `;`: the range holds exactly this serial's keys.
                let rows = sqlx::query(
                    "SELECT id, idem_key, total_fen FROM journal_tx WHERE idem_key > $1 AND idem_key < $2 ORDER BY id",
                )
                .bind(format!("trade-checkin:{serial}:"))
                .bind(format!("trade-checkin:{serial};"))
                .fetch_all(&self.pool).await.map_err(db_err)?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    let key = r.text("idem_key")?;
                    let n = key.rsplit(':').next().and_then(|n| n.parse::<u32>().ok())
                        .ok_or_else(|| crate::money_sql::cor("check-in entry key"))?;
                    out.push(BilledCheckin { n, journal_tx_id: r.i64("id")?, amount_fen: r.i64("total_fen")? });
                }
                out.sort_by_key(|b| b.n);
                Ok(out)
            }
        }
    };
}

/// SQLite: the notice writes take the store's one write lock, like the market's.
async fn sqlite_lock(s: &SqliteStore) -> Option<tokio::sync::MutexGuard<'_, ()>> {
    Some(s.audit_lock.lock().await)
}

/// PostgreSQL: plain inserts need no lock.
async fn pg_lock(_: &PgStore) -> Option<tokio::sync::MutexGuard<'_, ()>> {
    None
}

trade_notice_store!(SqliteStore, sqlite_lock);
trade_notice_store!(PgStore, pg_lock);
