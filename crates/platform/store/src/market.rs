//! [`MarketStore`]: what the market's in-memory search index asks the store (issue 17,
//! `docs/market.md` "In the product"). The index is built from the supply store's listed
//! offers; it is rebuilt when the **listing generation** moved — a counter that triggers
//! bump in the same transaction as every write that can change the catalogue (offer
//! versions written or moved, resources or modes changed, an organisation's status or
//! name changed; migration `0014_market`, both dialects).

use crate::sql::db_err;
use crate::{PgStore, SqliteStore, StoreResult};

/// The market index's reads.
#[async_trait::async_trait]
pub trait MarketStore: Send + Sync {
    /// The listing generation now (it only grows).
    async fn listing_generation(&self) -> StoreResult<i64>;
}

const GENERATION: &str = "SELECT generation FROM market_listing_generation WHERE id = 1";

#[async_trait::async_trait]
impl MarketStore for SqliteStore {
    async fn listing_generation(&self) -> StoreResult<i64> {
        sqlx::query_scalar(GENERATION)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)
    }
}

#[async_trait::async_trait]
impl MarketStore for PgStore {
    async fn listing_generation(&self) -> StoreResult<i64> {
        sqlx::query_scalar(GENERATION)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)
    }
}
