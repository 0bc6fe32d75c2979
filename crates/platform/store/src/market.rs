//! [`MarketStore`]: what the market's in-memory search index asks the store (issue 17,
//! `docs/market.md` "In the product"). The index is built from the supply store's listed
//! offers; it is rebuilt when the **listing generation** moved — a counter that triggers
//! bump in the same transaction as every write that can change the catalogue (offer
//! versions written or moved, resources or modes changed, an organisation's status or
//! name changed; migration `0014_market`, both dialects).
//!
//! It also keeps consumers' **standing demands** (`market_demands`, migrations
//! `0016_market_demands`, `0017_market_confirm`): open until matched, cancelled or
//! expired, and a matched one until it is confirmed into a trade; a status moves only
//! forward, checked in the statement that moves it, and a match leaves its message for
//! the organisation in the same transaction. The operator's **batch allocations**
//! (`market_allocations`) are kept with their report until one method is confirmed
//! (`market_alloc.rs`).

use crate::decode::Cols;
use crate::money_sql::{oid, uid};
use crate::sql::{db_err, limit_of};
use crate::{PgStore, SqliteStore, StoreError, StoreResult};
use suanli_platform_domain::{OrgId, UserId};

/// Where a standing demand stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemandStatus {
    /// Waiting for a fitting offer.
    Open,
    /// A listed offer's resource fits (recorded in [`DemandRecord::matched`]).
    Matched,
    /// The consumer confirmed the match into a trade ([`DemandRecord::trade_serial`]).
    Confirmed,
    /// Withdrawn by the consumer.
    Cancelled,
    /// Its time ran out unmatched.
    Expired,
}

impl DemandStatus {
    /// `open`, `matched`, `confirmed`, `cancelled`, `expired`.
    pub fn as_str(self) -> &'static str {
        match self {
            DemandStatus::Open => "open",
            DemandStatus::Matched => "matched",
            DemandStatus::Confirmed => "confirmed",
            DemandStatus::Cancelled => "cancelled",
            DemandStatus::Expired => "expired",
        }
    }

    fn parse(s: &str) -> StoreResult<Self> {
        match s {
            "open" => Ok(DemandStatus::Open),
            "matched" => Ok(DemandStatus::Matched),
            "confirmed" => Ok(DemandStatus::Confirmed),
            "cancelled" => Ok(DemandStatus::Cancelled),
            "expired" => Ok(DemandStatus::Expired),
            other => Err(StoreError::Corrupt(format!("demand status {other:?}"))),
        }
    }
}

/// A new standing demand (checked by the service).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDemand {
    /// The consumer organisation.
    pub org: OrgId,
    /// Who posted it.
    pub user: UserId,
    /// The constraint, as parsed by the market core.
    pub constraint: String,
    /// Price limit, fen per unit-minute.
    pub max_price_fen_per_min: i64,
    /// Minutes wanted.
    pub duration_min: u32,
    /// Units wanted.
    pub units: u32,
    /// Public-good use.
    pub public_good: bool,
    /// Now, unix ms.
    pub at_ms: i64,
    /// When it expires unmatched, unix ms.
    pub expires_ms: i64,
    /// Most open demands the organisation may have (this one included).
    pub open_max: u32,
    /// Waits for the operator's batch allocation instead of the continuous engine.
    pub batch: bool,
}

/// What a match records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemandMatch {
    /// The listed offer version.
    pub offer_id: i64,
    /// Its resource that fits.
    pub resource_id: i64,
    /// The offer's price, fen per unit-minute.
    pub price_fen_per_min: i64,
    /// The estimate for the demand's units and duration, fen.
    pub estimate_fen: i64,
    /// The batch allocation that proposed it (`None`: the continuous engine).
    pub allocation: Option<i64>,
}

/// A stored standing demand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemandRecord {
    /// Id.
    pub id: i64,
    /// The consumer organisation.
    pub org: OrgId,
    /// Who posted it.
    pub user: UserId,
    /// The constraint.
    pub constraint: String,
    /// Price limit, fen per unit-minute.
    pub max_price_fen_per_min: i64,
    /// Minutes wanted.
    pub duration_min: u32,
    /// Units wanted.
    pub units: u32,
    /// Public-good use.
    pub public_good: bool,
    /// Where it stands.
    pub status: DemandStatus,
    /// Posted, unix ms.
    pub created_ms: i64,
    /// Expires unmatched, unix ms.
    pub expires_ms: i64,
    /// The match, once matched.
    pub matched: Option<DemandMatch>,
    /// Matched, cancelled or expired, unix ms.
    pub closed_ms: Option<i64>,
    /// The trade the match was confirmed into (32 hex characters).
    pub trade_serial: Option<String>,
    /// Confirmed, unix ms.
    pub confirmed_ms: Option<i64>,
    /// Waits for the operator's batch allocation instead of the continuous engine.
    pub batch: bool,
}

/// The market index's reads and the standing demands.
#[async_trait::async_trait]
pub trait MarketStore: Send + Sync {
    /// The listing generation now (it only grows).
    async fn listing_generation(&self) -> StoreResult<i64>;
    /// Adds an open demand, refused with [`StoreError::Rejected`] `demands_open_max` when
    /// the organisation already has `open_max` open ones (checked in the same statement).
    async fn create_demand(&self, new: &NewDemand) -> StoreResult<DemandRecord>;
    /// One demand.
    async fn get_demand(&self, id: i64) -> StoreResult<Option<DemandRecord>>;
    /// `org`'s demands after id `after`, at most `limit`, by id.
    async fn list_demands(
        &self,
        org: OrgId,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<DemandRecord>>;
    /// `org`'s `confirmed` demands by id, its first `limit` (the batch allocation's
    /// learned history).
    async fn confirmed_demands(&self, org: OrgId, limit: u32) -> StoreResult<Vec<DemandRecord>>;
    /// Open demands not expired at `now_ms` waiting for the batch allocation (`batch`) or
    /// for the continuous engine (not `batch`), by id (at most `limit`).
    async fn open_demands(
        &self,
        now_ms: i64,
        batch: bool,
        limit: u32,
    ) -> StoreResult<Vec<DemandRecord>>;
    /// Closes an open demand of `org` as cancelled ([`StoreError::NotFound`] if it is not
    /// `org`'s or not open).
    async fn cancel_demand(&self, org: OrgId, id: i64, at_ms: i64) -> StoreResult<DemandRecord>;
    /// Records a match of an open, unexpired demand and leaves `message` for its
    /// organisation, in one transaction; `false` (nothing written) if it is no longer open.
    async fn match_demand(
        &self,
        id: i64,
        m: &DemandMatch,
        message: &str,
        at_ms: i64,
    ) -> StoreResult<bool>;
    /// Closes every open demand expired at `now_ms`; how many.
    async fn expire_demands(&self, now_ms: i64) -> StoreResult<u64>;
    /// Records that `org`'s matched demand was confirmed into trade `serial`
    /// ([`StoreError::NotFound`] if it is not `org`'s, not matched, or the trade was
    /// refused meanwhile).
    async fn confirm_demand(
        &self,
        org: OrgId,
        id: i64,
        serial: &str,
        at_ms: i64,
    ) -> StoreResult<DemandRecord>;
}

/// Refusal of a demand beyond the organisation's open limit.
pub const DEMANDS_OPEN_MAX: &str = "demands_open_max";

const GENERATION: &str = "SELECT generation FROM market_listing_generation WHERE id = 1";
const DEMAND_COLS: &str = "id, org_id, user_id, constraint_text, max_price_fen_per_min, duration_min, \
     units, public_good, status, created_ms, expires_ms, matched_offer_id, matched_resource_id, \
     matched_price_fen_per_min, matched_estimate_fen, closed_ms, matched_by, trade_serial, confirmed_ms, batch";

fn u32_col(v: i64, what: &str) -> StoreResult<u32> {
    u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("demand {what} {v}")))
}

fn demand_of<R: Cols>(r: &R) -> StoreResult<DemandRecord> {
    let g = |c: &str| r.i64(c);
    let o = |c: &str| r.opt_i64(c);
    let matched = match (o("matched_offer_id")?, o("matched_resource_id")?) {
        (Some(offer_id), Some(resource_id)) => Some(DemandMatch {
            offer_id,
            resource_id,
            price_fen_per_min: o("matched_price_fen_per_min")?.unwrap_or(0),
            estimate_fen: o("matched_estimate_fen")?.unwrap_or(0),
            allocation: o("matched_by")?,
        }),
        _ => None,
    };
    Ok(DemandRecord {
        id: g("id")?,
        org: oid(g("org_id")?)?,
        user: uid(g("user_id")?)?,
        constraint: r.text("constraint_text")?,
        max_price_fen_per_min: g("max_price_fen_per_min")?,
        duration_min: u32_col(g("duration_min")?, "duration")?,
        units: u32_col(g("units")?, "units")?,
        public_good: r.flag("public_good")?,
        status: DemandStatus::parse(&r.text("status")?)?,
        created_ms: g("created_ms")?,
        expires_ms: g("expires_ms")?,
        matched,
        closed_ms: o("closed_ms")?,
        trade_serial: r.opt_text("trade_serial")?,
        confirmed_ms: o("confirmed_ms")?,
        batch: r.flag("batch")?,
    })
}

macro_rules! market_store {
    ($Store:ident, $lock:expr) => {
        #[async_trait::async_trait]
        impl MarketStore for $Store {
            async fn listing_generation(&self) -> StoreResult<i64> {
                sqlx::query_scalar(GENERATION)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_err)
            }

            async fn create_demand(&self, n: &NewDemand) -> StoreResult<DemandRecord> {
                let sql = format!(
                    "INSERT INTO market_demands (org_id, user_id, constraint_text, max_price_fen_per_min, \
                     duration_min, units, public_good, status, created_ms, expires_ms, batch) \
                     SELECT $1, $2, $3, $4, $5, $6, $7, 'open', $8, $9, $11 \
                     WHERE (SELECT COUNT(*) FROM market_demands WHERE org_id = $1 AND status = 'open') < $10 \
                     RETURNING {DEMAND_COLS}"
                );
                let _g = $lock(self).await;
                let row = sqlx::query(&sql)
                    .bind(n.org.get()).bind(n.user.get()).bind(n.constraint.clone())
                    .bind(n.max_price_fen_per_min).bind(i64::from(n.duration_min)).bind(i64::from(n.units))
                    .bind(n.public_good).bind(n.at_ms).bind(n.expires_ms).bind(i64::from(n.open_max)).bind(n.batch)
                    .fetch_optional(&self.pool).await.map_err(db_err)?;
                match row {
                    Some(r) => demand_of(&r),
                    None => Err(StoreError::Rejected(DEMANDS_OPEN_MAX.to_owned())),
                }
            }

            async fn get_demand(&self, id: i64) -> StoreResult<Option<DemandRecord>> {
                let sql = format!("SELECT {DEMAND_COLS} FROM market_demands WHERE id = $1");
                let row = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await.map_err(db_err)?;
                row.as_ref().map(demand_of).transpose()
            }

            async fn list_demands(&self, org: OrgId, after: i64, limit: u32) -> StoreResult<Vec<DemandRecord>> {
                let sql = format!("SELECT {DEMAND_COLS} FROM market_demands WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3");
                let rows = sqlx::query(&sql).bind(org.get()).bind(after).bind(limit_of(limit))
                    .fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter().map(demand_of).collect()
            }

            async fn confirmed_demands(&self, org: OrgId, limit: u32) -> StoreResult<Vec<DemandRecord>> {
                let sql = format!("SELECT {DEMAND_COLS} FROM market_demands WHERE org_id = $1 AND status = 'confirmed' ORDER BY id LIMIT $2");
                let rows = sqlx::query(&sql).bind(org.get()).bind(limit_of(limit))
                    .fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter().map(demand_of).collect()
            }

            async fn open_demands(&self, now_ms: i64, batch: bool, limit: u32) -> StoreResult<Vec<DemandRecord>> {
                let sql = format!("SELECT {DEMAND_COLS} FROM market_demands WHERE status = 'open' AND expires_ms > $1 AND batch = $3 ORDER BY id LIMIT $2");
                let rows = sqlx::query(&sql).bind(now_ms).bind(i64::from(limit)).bind(batch)
                    .fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter().map(demand_of).collect()
            }

            async fn cancel_demand(&self, org: OrgId, id: i64, at_ms: i64) -> StoreResult<DemandRecord> {
                let _g = $lock(self).await;
                let n = sqlx::query("UPDATE market_demands SET status = 'cancelled', closed_ms = $1 WHERE id = $2 AND org_id = $3 AND status = 'open'")
                    .bind(at_ms).bind(id).bind(org.get())
                    .execute(&self.pool).await.map_err(db_err)?.rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                self.get_demand(id).await?.ok_or(StoreError::NotFound)
            }

            async fn match_demand(&self, id: i64, m: &DemandMatch, message: &str, at_ms: i64) -> StoreResult<bool> {
                let _g = $lock(self).await;
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                let org: Option<i64> = sqlx::query_scalar(
                    "UPDATE market_demands SET status = 'matched', matched_offer_id = $1, matched_resource_id = $2, \
                     matched_price_fen_per_min = $3, matched_estimate_fen = $4, closed_ms = $5, matched_by = $7 \
                     WHERE id = $6 AND status = 'open' AND expires_ms > $5 RETURNING org_id",
                )
                .bind(m.offer_id).bind(m.resource_id).bind(m.price_fen_per_min).bind(m.estimate_fen)
                .bind(at_ms).bind(id).bind(m.allocation)
                .fetch_optional(&mut *tx).await.map_err(db_err)?;
                let Some(org) = org else { return Ok(false) };
                sqlx::query("INSERT INTO messages (org_id, instance_id, body, created_ms) VALUES ($1, NULL, $2, $3)")
                    .bind(org).bind(message.to_owned()).bind(at_ms)
                    .execute(&mut *tx).await.map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                Ok(true)
            }

            async fn expire_demands(&self, now_ms: i64) -> StoreResult<u64> {
                let _g = $lock(self).await;
                Ok(sqlx::query("UPDATE market_demands SET status = 'expired', closed_ms = $1 WHERE status = 'open' AND expires_ms <= $1")
                    .bind(now_ms).execute(&self.pool).await.map_err(db_err)?.rows_affected())
            }

            async fn confirm_demand(&self, org: OrgId, id: i64, serial: &str, at_ms: i64) -> StoreResult<DemandRecord> {
                let _g = $lock(self).await;
                let n = sqlx::query("UPDATE market_demands SET status = 'confirmed', trade_serial = $1, confirmed_ms = $2 WHERE id = $3 AND org_id = $4 AND status = 'matched' \
                     AND NOT EXISTS (SELECT 1 FROM trade_orders WHERE serial = $1 AND status = 'refused')")
                    .bind(serial.to_owned()).bind(at_ms).bind(id).bind(org.get())
                    .execute(&self.pool).await.map_err(db_err)?.rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                self.get_demand(id).await?.ok_or(StoreError::NotFound)
            }
        }
    };
}

/// SQLite: the demand writes take the store's one write lock, like the supply writes.
pub(crate) async fn sqlite_lock(s: &SqliteStore) -> Option<tokio::sync::MutexGuard<'_, ()>> {
    Some(s.audit_lock.lock().await)
}

/// PostgreSQL: the conditional statements keep concurrent writes apart.
pub(crate) async fn pg_lock(_: &PgStore) -> Option<tokio::sync::MutexGuard<'_, ()>> {
    None
}

market_store!(SqliteStore, sqlite_lock);
market_store!(PgStore, pg_lock);
