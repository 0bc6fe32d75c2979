//! [`AllocationStore`]: the operator's batch allocations of open standing demands (issue
//! 17, `docs/market.md` "Batch allocation"; table `market_allocations`, migration
//! `0017_market_confirm`). A run is stored with its report — both schedulers' proposals
//! and their comparison, as JSON the service writes and reads — and stays `proposed`
//! until the operator confirms one method; the claim moves it to `confirmed` in one
//! conditional statement, so two confirmations cannot both proceed.

use crate::decode::Cols;
use crate::market::{pg_lock, sqlite_lock};
use crate::money_sql::uid;
use crate::sql::{db_err, limit_of};
use crate::{PgStore, SqliteStore, StoreError, StoreResult};
use suanli_platform_domain::UserId;

/// A stored batch allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationRecord {
    /// Id.
    pub id: i64,
    /// The operator who ran it.
    pub user: UserId,
    /// Run, unix ms.
    pub created_ms: i64,
    /// The report (proposals and comparison), JSON.
    pub report_json: String,
    /// `proposed` or `confirmed`.
    pub confirmed: bool,
    /// The method confirmed (`ot_learned` or `score_rank`).
    pub method: Option<String>,
    /// Confirmed, unix ms.
    pub confirmed_ms: Option<i64>,
    /// Proposals sent to consumers when it was confirmed.
    pub confirmed_count: Option<i64>,
}

/// The batch allocations.
#[async_trait::async_trait]
pub trait AllocationStore: Send + Sync {
    /// Stores a run, `proposed`.
    async fn create_allocation(
        &self,
        user: UserId,
        at_ms: i64,
        report_json: &str,
    ) -> StoreResult<AllocationRecord>;
    /// One run.
    async fn get_allocation(&self, id: i64) -> StoreResult<Option<AllocationRecord>>;
    /// The newest runs first, at most `limit`.
    async fn list_allocations(&self, limit: u32) -> StoreResult<Vec<AllocationRecord>>;
    /// Moves a `proposed` run to `confirmed` with `method`; `false` if it was not proposed.
    async fn claim_allocation(&self, id: i64, method: &str, at_ms: i64) -> StoreResult<bool>;
    /// Records how many proposals the confirmation sent.
    async fn set_allocation_count(&self, id: i64, count: i64) -> StoreResult<()>;
}

const COLS: &str =
    "id, user_id, created_ms, report_json, status, method, confirmed_ms, confirmed_count";

fn allocation_of<R: Cols>(r: &R) -> StoreResult<AllocationRecord> {
    let confirmed = match r.text("status")?.as_str() {
        "proposed" => false,
        "confirmed" => true,
        other => return Err(StoreError::Corrupt(format!("allocation status {other:?}"))),
    };
    Ok(AllocationRecord {
        id: r.i64("id")?,
        user: uid(r.i64("user_id")?)?,
        created_ms: r.i64("created_ms")?,
        report_json: r.text("report_json")?,
        confirmed,
        method: r.opt_text("method")?,
        confirmed_ms: r.opt_i64("confirmed_ms")?,
        confirmed_count: r.opt_i64("confirmed_count")?,
    })
}

macro_rules! allocation_store {
    ($Store:ident, $lock:expr) => {
        #[async_trait::async_trait]
        impl AllocationStore for $Store {
            async fn create_allocation(&self, user: UserId, at_ms: i64, report_json: &str) -> StoreResult<AllocationRecord> {
                let sql = format!(
                    "INSERT INTO market_allocations (user_id, created_ms, report_json, status) \
                     VALUES ($1, $2, $3, 'proposed') RETURNING {COLS}"
                );
                let _g = $lock(self).await;
                let row = sqlx::query(&sql).bind(user.get()).bind(at_ms).bind(report_json.to_owned())
                    .fetch_one(&self.pool).await.map_err(db_err)?;
                allocation_of(&row)
            }

            async fn get_allocation(&self, id: i64) -> StoreResult<Option<AllocationRecord>> {
                let sql = format!("SELECT {COLS} FROM market_allocations WHERE id = $1");
                let row = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await.map_err(db_err)?;
                row.as_ref().map(allocation_of).transpose()
            }

            async fn list_allocations(&self, limit: u32) -> StoreResult<Vec<AllocationRecord>> {
                let sql = format!("SELECT {COLS} FROM market_allocations ORDER BY id DESC LIMIT $1");
                let rows = sqlx::query(&sql).bind(limit_of(limit)).fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter().map(allocation_of).collect()
            }

            async fn claim_allocation(&self, id: i64, method: &str, at_ms: i64) -> StoreResult<bool> {
                let _g = $lock(self).await;
                let n = sqlx::query("UPDATE market_allocations SET status = 'confirmed', method = $1, confirmed_ms = $2 WHERE id = $3 AND status = 'proposed'")
                    .bind(method.to_owned()).bind(at_ms).bind(id)
                    .execute(&self.pool).await.map_err(db_err)?.rows_affected();
                Ok(n == 1)
            }

            async fn set_allocation_count(&self, id: i64, count: i64) -> StoreResult<()> {
                let _g = $lock(self).await;
                sqlx::query("UPDATE market_allocations SET confirmed_count = $1 WHERE id = $2")
                    .bind(count).bind(id).execute(&self.pool).await.map_err(db_err)?;
                Ok(())
            }
        }
    };
}

allocation_store!(SqliteStore, sqlite_lock);
allocation_store!(PgStore, pg_lock);
