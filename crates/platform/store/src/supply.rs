//! [`SupplyStore`]: a supplier's resources, trade modes and offers with their listing
//! review (migration `0008_supply`, `docs/supply.md` §2), for both backends from one macro
//! (same SQL text).
//!
//! Invariants: every method is one SQL transaction — an import writes every resource or
//! none; an offer's status moves only as `suanli_platform_domain::supply::catalog::
//! next_status` allows, checked inside the transaction that changes it (a concurrent
//! decision finds the row moved and answers [`StoreError::NotFound`]); a new version is
//! refused while another version of the same offer is in review; approving a version
//! supersedes the listed version it replaces. On SQLite the multi-statement writes take
//! the store's one write lock and `BEGIN IMMEDIATE`, like the money writes.

use crate::decode::Cols;
use crate::sql::{db_err, limit_of};
use crate::{PgStore, SqliteStore, StoreError, StoreResult};
use sqlx::Row;
use suanli_platform_domain::supply::catalog::{
    ModeDraft, ModeSpec, OfferEvent, OfferStatus, ResourceDraft, ResourceSpec, TermOption,
    next_status,
};
use suanli_platform_domain::{OrgId, UserId};

/// A stored resource.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceRecord {
    /// Id.
    pub id: i64,
    /// The supplier organisation.
    pub org: OrgId,
    /// The checked attributes.
    pub spec: ResourceSpec,
    /// Created, unix ms.
    pub created_ms: i64,
    /// Last changed, unix ms.
    pub updated_ms: i64,
}

/// A stored trade mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeRecord {
    /// Id.
    pub id: i64,
    /// The supplier organisation.
    pub org: OrgId,
    /// The checked terms.
    pub spec: ModeSpec,
    /// The mode's id on the trade chain, once published.
    pub chain_mode_id: Option<u64>,
    /// The publishing transaction.
    pub chain_tx: Option<String>,
    /// Published, unix ms.
    pub published_ms: Option<i64>,
    /// Created, unix ms.
    pub created_ms: i64,
}

/// A stored offer version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferRecord {
    /// Id (of this version).
    pub id: i64,
    /// The supplier organisation.
    pub org: OrgId,
    /// The first version's id: the same for every version of one offer.
    pub lineage_id: i64,
    /// 1, 2, …
    pub version: u32,
    /// The platform id of its trade mode.
    pub mode_id: i64,
    /// Title.
    pub title: String,
    /// Units on offer.
    pub units: u32,
    /// Validity, unix ms (start inclusive, end exclusive).
    pub valid_from_ms: i64,
    /// See `valid_from_ms`.
    pub valid_until_ms: i64,
    /// Where it stands.
    pub status: OfferStatus,
    /// The offer's id on the trade chain, once published.
    pub chain_offer_id: Option<u64>,
    /// The publishing transaction.
    pub chain_tx: Option<String>,
    /// Published on the chain, unix ms.
    pub published_ms: Option<i64>,
    /// The operator's reason when rejected.
    pub reason: Option<String>,
    /// Who decided the listing.
    pub reviewed_by: Option<UserId>,
    /// When.
    pub reviewed_ms: Option<i64>,
    /// The resources grouped, ascending.
    pub resource_ids: Vec<i64>,
    /// Created, unix ms.
    pub created_ms: i64,
}

/// A new offer version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOffer {
    /// The supplier organisation.
    pub org: OrgId,
    /// An earlier version it edits (a new version of the same offer), or a new offer.
    pub replaces: Option<i64>,
    /// The platform id of its trade mode (the organisation's).
    pub mode_id: i64,
    /// Title.
    pub title: String,
    /// The organisation's resources it groups (distinct, ascending).
    pub resource_ids: Vec<i64>,
    /// Units on offer.
    pub units: u32,
    /// Validity start, unix ms.
    pub valid_from_ms: i64,
    /// Validity end, unix ms.
    pub valid_until_ms: i64,
    /// Now, unix ms.
    pub at_ms: i64,
}

/// The listing decision on an offer in review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingDecision {
    /// The offer version.
    pub offer_id: i64,
    /// Approve (list) or reject.
    pub approve: bool,
    /// The reason of a rejection.
    pub reason: Option<String>,
    /// The operator deciding.
    pub by: UserId,
    /// Now, unix ms.
    pub at_ms: i64,
}

/// Resources, trade modes and offers of suppliers.
#[async_trait::async_trait]
pub trait SupplyStore: Send + Sync {
    /// Adds every resource of `specs` to `org`, or none (a name the organisation already
    /// uses, or used twice, is a [`StoreError::Conflict`] naming it).
    async fn import_resources(
        &self,
        org: OrgId,
        specs: &[ResourceSpec],
        at_ms: i64,
    ) -> StoreResult<Vec<ResourceRecord>>;
    /// Replaces the attributes of `org`'s resource `id` ([`StoreError::NotFound`] if it
    /// is not `org`'s).
    /// Refused with [`StoreError::Conflict`] [`RESOURCE_IN_LISTING`] while an offer
    /// version with this resource is in review or listed (checked in the same statement).
    async fn update_resource(
        &self,
        org: OrgId,
        id: i64,
        spec: &ResourceSpec,
        at_ms: i64,
    ) -> StoreResult<ResourceRecord>;
    /// One resource.
    async fn get_resource(&self, id: i64) -> StoreResult<Option<ResourceRecord>>;
    /// `org`'s resources after id `after`, at most `limit`, by id.
    async fn list_resources(
        &self,
        org: OrgId,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<ResourceRecord>>;
    /// The resources with these ids (unknown ids skipped), by id.
    async fn resources_by_ids(&self, ids: &[i64]) -> StoreResult<Vec<ResourceRecord>>;

    /// Adds a trade mode (not yet published).
    async fn create_mode(&self, org: OrgId, spec: &ModeSpec, at_ms: i64)
    -> StoreResult<ModeRecord>;
    /// One trade mode.
    async fn get_mode(&self, id: i64) -> StoreResult<Option<ModeRecord>>;
    /// `org`'s trade modes, by id.
    async fn list_modes(&self, org: OrgId) -> StoreResult<Vec<ModeRecord>>;
    /// Records a mode's publication on the chain ([`StoreError::NotFound`] if it was
    /// published already).
    async fn set_mode_published(
        &self,
        id: i64,
        chain_mode_id: u64,
        chain_tx: &str,
        at_ms: i64,
    ) -> StoreResult<ModeRecord>;

    /// Adds an offer version as a draft: a new offer, or a new version of `replaces`
    /// (refused with [`StoreError::Conflict`] `offer_in_review` while a version of it is
    /// in review). The mode and every resource must be the organisation's
    /// ([`StoreError::NotFound`] otherwise).
    async fn create_offer(&self, new: &NewOffer) -> StoreResult<OfferRecord>;
    /// One offer version.
    async fn get_offer(&self, id: i64) -> StoreResult<Option<OfferRecord>>;
    /// Offer versions of `org` (every organisation's when `None`), of one status when
    /// given, after id `after`, at most `limit`, by id.
    async fn list_offers(
        &self,
        org: Option<OrgId>,
        status: Option<OfferStatus>,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<OfferRecord>>;
    /// Every version of the offer `lineage_id`, by version.
    async fn offer_versions(&self, lineage_id: i64) -> StoreResult<Vec<OfferRecord>>;
    /// A draft published on the chain: now in review.
    async fn set_offer_published(
        &self,
        id: i64,
        chain_offer_id: u64,
        chain_tx: &str,
        at_ms: i64,
    ) -> StoreResult<OfferRecord>;
    /// The operator's listing decision on a version in review; approving supersedes the
    /// listed versions of the same offer. Returns the decided version and the superseded
    /// ones.
    async fn decide_listing(
        &self,
        d: &ListingDecision,
    ) -> StoreResult<(OfferRecord, Vec<OfferRecord>)>;
    /// The supplier withdrew the version (on the chain too).
    async fn withdraw_offer(&self, id: i64, at_ms: i64) -> StoreResult<OfferRecord>;
}

const RESOURCE_COLS: &str = "id, org_id, name, location, status, gpu_model, gpu_count, \
     gpu_mem_gb, cpu_cores, ram_gb, storage_gb, tflops, region, available_from_min, \
     available_until_min, green_share, carbon_g_per_kwh, pue, utilisation, created_ms, updated_ms";
const MODE_COLS: &str = "id, org_id, name, price_fen_per_min, min_charge_fen, \
     checkin_period_min, weights, terms, trade_start_cpt, checkin_cpt, chain_mode_id, chain_tx, \
     published_ms, created_ms";
const OFFER_COLS: &str = "id, org_id, lineage_id, version, mode_id, title, units, \
     valid_from_ms, valid_until_ms, status, chain_offer_id, chain_tx, published_ms, reason, \
     reviewed_by, reviewed_ms, created_ms";
const INSERT_RESOURCE: &str = "INSERT INTO supply_resources (org_id, name, location, status, \
     gpu_model, gpu_count, gpu_mem_gb, cpu_cores, ram_gb, storage_gb, tflops, region, \
     available_from_min, available_until_min, green_share, carbon_g_per_kwh, pue, utilisation, \
     created_ms, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
     $14, $15, $16, $17, $18, $19, $19) RETURNING id";
const UPDATE_RESOURCE: &str = "UPDATE supply_resources SET name = $2, location = $3, status = $4, \
     gpu_model = $5, gpu_count = $6, gpu_mem_gb = $7, cpu_cores = $8, ram_gb = $9, \
     storage_gb = $10, tflops = $11, region = $12, available_from_min = $13, \
     available_until_min = $14, green_share = $15, carbon_g_per_kwh = $16, pue = $17, \
     utilisation = $18, updated_ms = $19 WHERE id = $20 AND org_id = $1 \
     AND NOT EXISTS (SELECT 1 FROM supply_offer_resources r JOIN supply_offers o ON o.id = r.offer_id \
     WHERE r.resource_id = $20 AND o.status IN ('in_review', 'listed'))";

/// Refusal prefix of a change to a resource of an offer version in review or listed.
pub const RESOURCE_IN_LISTING: &str = "resource_in_listing";

fn cor(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn conflict_or(e: sqlx::Error, what: &str) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(what.into()),
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => StoreError::NotFound,
        _ => db_err(e),
    }
}

fn oid(v: i64) -> StoreResult<OrgId> {
    OrgId::new(v).ok_or_else(|| cor("org id"))
}

fn u32_of(v: i64) -> StoreResult<u32> {
    u32::try_from(v).map_err(cor)
}

fn opt_u64(v: Option<i64>) -> StoreResult<Option<u64>> {
    v.map(|x| u64::try_from(x).map_err(cor)).transpose()
}

fn i64_of(v: u64) -> StoreResult<i64> {
    i64::try_from(v).map_err(cor)
}

/// A real-number column (attributes such as TFLOPS and PUE; never money).
pub(crate) trait RealCol {
    fn f64(&self, c: &str) -> StoreResult<f64>;
}

impl RealCol for sqlx::sqlite::SqliteRow {
    fn f64(&self, c: &str) -> StoreResult<f64> {
        self.try_get(c).map_err(cor)
    }
}

impl RealCol for sqlx::postgres::PgRow {
    fn f64(&self, c: &str) -> StoreResult<f64> {
        self.try_get(c).map_err(cor)
    }
}

fn resource_of<R: Cols + RealCol>(r: &R) -> StoreResult<ResourceRecord> {
    let s = |c: &str| r.text(c);
    let i = |c: &str| r.i64(c);
    let u = |c: &str| i(c).and_then(u32_of);
    let f = |c: &str| r.f64(c);
    let draft = ResourceDraft {
        name: s("name")?,
        location: s("location")?,
        status: s("status")?,
        gpu_model: s("gpu_model")?,
        gpu_count: u("gpu_count")?,
        gpu_mem_gb: u("gpu_mem_gb")?,
        cpu_cores: u("cpu_cores")?,
        ram_gb: u("ram_gb")?,
        storage_gb: u("storage_gb")?,
        tflops: f("tflops")?,
        region: s("region")?,
        available_from_min: i("available_from_min")?,
        available_until_min: i("available_until_min")?,
        green_share: f("green_share")?,
        carbon_g_per_kwh: f("carbon_g_per_kwh")?,
        pue: f("pue")?,
        utilisation: f("utilisation")?,
    };
    let spec = draft
        .check()
        .map_err(|e| cor(format!("resource attributes: {e:?}")))?;
    Ok(ResourceRecord {
        id: i("id")?,
        org: oid(i("org_id")?)?,
        spec,
        created_ms: i("created_ms")?,
        updated_ms: i("updated_ms")?,
    })
}

fn mode_of<R: Cols>(r: &R) -> StoreResult<ModeRecord> {
    let s = |c: &str| r.text(c);
    let i = |c: &str| r.i64(c);
    let oi = |c: &str| r.opt_i64(c);
    let terms: Vec<TermOption> = serde_json::from_str(&s("terms")?).map_err(cor)?;
    let draft = ModeDraft {
        name: s("name")?,
        price_fen_per_min: i("price_fen_per_min")?,
        min_charge_fen: i("min_charge_fen")?,
        checkin_period_min: u64::try_from(i("checkin_period_min")?).map_err(cor)?,
        weights: serde_json::from_str(&s("weights")?).map_err(cor)?,
        terms,
        trade_start_cpt: u32_of(i("trade_start_cpt")?)?,
        checkin_cpt: u32_of(i("checkin_cpt")?)?,
    };
    let spec = draft
        .check()
        .map_err(|e| cor(format!("mode terms: {e:?}")))?;
    Ok(ModeRecord {
        id: i("id")?,
        org: oid(i("org_id")?)?,
        spec,
        chain_mode_id: opt_u64(oi("chain_mode_id")?)?,
        chain_tx: r.opt_text("chain_tx")?,
        published_ms: oi("published_ms")?,
        created_ms: i("created_ms")?,
    })
}

fn offer_of<R: Cols>(r: &R, resource_ids: Vec<i64>) -> StoreResult<OfferRecord> {
    let i = |c: &str| r.i64(c);
    let oi = |c: &str| r.opt_i64(c);
    let status = r.text("status")?;
    Ok(OfferRecord {
        id: i("id")?,
        org: oid(i("org_id")?)?,
        lineage_id: i("lineage_id")?,
        version: u32_of(i("version")?)?,
        mode_id: i("mode_id")?,
        title: r.text("title")?,
        units: u32_of(i("units")?)?,
        valid_from_ms: i("valid_from_ms")?,
        valid_until_ms: i("valid_until_ms")?,
        status: OfferStatus::parse(&status).ok_or_else(|| cor("offer status"))?,
        chain_offer_id: opt_u64(oi("chain_offer_id")?)?,
        chain_tx: r.opt_text("chain_tx")?,
        published_ms: oi("published_ms")?,
        reason: r.opt_text("reason")?,
        reviewed_by: oi("reviewed_by")?.and_then(UserId::new),
        reviewed_ms: oi("reviewed_ms")?,
        resource_ids,
        created_ms: i("created_ms")?,
    })
}

macro_rules! supply_store {
    ($Store:ident, $Db:ty, $begin:literal) => {
        impl $Store {
            async fn s_begin(
                &self,
            ) -> StoreResult<(
                Option<tokio::sync::MutexGuard<'_, ()>>,
                sqlx::Transaction<'static, $Db>,
            )> {
                let guard = self.supply_guard().await;
                let tx = self.pool.begin_with($begin).await.map_err(db_err)?;
                Ok((guard, tx))
            }

            async fn s_offer_tx(
                tx: &mut sqlx::Transaction<'static, $Db>,
                id: i64,
            ) -> StoreResult<Option<OfferRecord>> {
                let sql = format!("SELECT {OFFER_COLS} FROM supply_offers WHERE id = $1");
                let Some(r) = sqlx::query(&sql).bind(id).fetch_optional(&mut **tx).await.map_err(db_err)? else {
                    return Ok(None);
                };
                let ids: Vec<i64> = sqlx::query_scalar(
                    "SELECT resource_id FROM supply_offer_resources WHERE offer_id = $1 ORDER BY resource_id",
                )
                .bind(id)
                .fetch_all(&mut **tx)
                .await
                .map_err(db_err)?;
                offer_of(&r, ids).map(Some)
            }

            /// Moves offer `id` by `event` inside `tx`: the status read and written in
            /// the same transaction, the write conditional on the status read.
            async fn s_move(
                tx: &mut sqlx::Transaction<'static, $Db>,
                id: i64,
                event: OfferEvent,
                set: &str,
                binds: (Option<i64>, Option<String>, i64),
            ) -> StoreResult<OfferRecord> {
                let cur = Self::s_offer_tx(tx, id).await?.ok_or(StoreError::NotFound)?;
                let next = next_status(cur.status, event)
                    .map_err(|e| StoreError::Rejected(format!("{}: {e}", e.code())))?;
                let sql = format!(
                    "UPDATE supply_offers SET status = $1, {set} WHERE id = $5 AND status = $6"
                );
                let n = sqlx::query(&sql)
                    .bind(next.as_str())
                    .bind(binds.0)
                    .bind(binds.1)
                    .bind(binds.2)
                    .bind(id)
                    .bind(cur.status.as_str())
                    .execute(&mut **tx)
                    .await
                    .map_err(db_err)?
                    .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                Self::s_offer_tx(tx, id).await?.ok_or(StoreError::NotFound)
            }

            async fn s_offers(&self, rows: Vec<<$Db as sqlx::Database>::Row>) -> StoreResult<Vec<OfferRecord>> {
                let ids: Vec<i64> = rows.iter().map(|r| r.try_get::<i64, _>("id").map_err(cor)).collect::<StoreResult<_>>()?;
                let list = crate::sql::id_list(ids.iter().copied());
                let mut links: Vec<(i64, i64)> = Vec::new();
                if !list.is_empty() {
                    let sql = format!("SELECT offer_id, resource_id FROM supply_offer_resources WHERE offer_id IN ({list}) ORDER BY offer_id, resource_id");
                    for r in sqlx::query(&sql).fetch_all(&self.pool).await.map_err(db_err)? {
                        links.push((r.try_get("offer_id").map_err(cor)?, r.try_get("resource_id").map_err(cor)?));
                    }
                }
                rows.iter()
                    .zip(ids)
                    .map(|(r, id)| offer_of(r, links.iter().filter(|(o, _)| *o == id).map(|(_, res)| *res).collect()))
                    .collect()
            }
        }

        #[async_trait::async_trait]
        impl SupplyStore for $Store {
            async fn import_resources(&self, org: OrgId, specs: &[ResourceSpec], at_ms: i64) -> StoreResult<Vec<ResourceRecord>> {
                let (_g, mut tx) = self.s_begin().await?;
                let mut ids = Vec::with_capacity(specs.len());
                for spec in specs {
                    let d = spec.get();
                    let r = sqlx::query(INSERT_RESOURCE)
                        .bind(org.get()).bind(d.name.clone()).bind(d.location.clone()).bind(d.status.clone())
                        .bind(d.gpu_model.clone()).bind(i64::from(d.gpu_count)).bind(i64::from(d.gpu_mem_gb))
                        .bind(i64::from(d.cpu_cores)).bind(i64::from(d.ram_gb)).bind(i64::from(d.storage_gb))
                        .bind(d.tflops).bind(d.region.clone()).bind(d.available_from_min).bind(d.available_until_min)
                        .bind(d.green_share).bind(d.carbon_g_per_kwh).bind(d.pue).bind(d.utilisation).bind(at_ms)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(|e| conflict_or(e, &format!("a resource named {:?} exists already", d.name)))?;
                    ids.push(r.try_get::<i64, _>("id").map_err(cor)?);
                }
                tx.commit().await.map_err(db_err)?;
                self.resources_by_ids(&ids).await
            }

            async fn update_resource(&self, org: OrgId, id: i64, spec: &ResourceSpec, at_ms: i64) -> StoreResult<ResourceRecord> {
                let d = spec.get();
                let n = sqlx::query(UPDATE_RESOURCE)
                    .bind(org.get()).bind(d.name.clone()).bind(d.location.clone()).bind(d.status.clone())
                    .bind(d.gpu_model.clone()).bind(i64::from(d.gpu_count)).bind(i64::from(d.gpu_mem_gb))
                    .bind(i64::from(d.cpu_cores)).bind(i64::from(d.ram_gb)).bind(i64::from(d.storage_gb))
                    .bind(d.tflops).bind(d.region.clone()).bind(d.available_from_min).bind(d.available_until_min)
                    .bind(d.green_share).bind(d.carbon_g_per_kwh).bind(d.pue).bind(d.utilisation).bind(at_ms).bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| conflict_or(e, &format!("a resource named {:?} exists already", d.name)))?
                    .rows_affected();
                if n == 0 {
                    // Not the organisation's, or held by a version in review or listed.
                    return match self.get_resource(id).await? {
                        Some(r) if r.org == org => Err(StoreError::Conflict(format!(
                            "{RESOURCE_IN_LISTING}: this resource belongs to an offer version in review or listed"
                        ))),
                        _ => Err(StoreError::NotFound),
                    };
                }
                self.get_resource(id).await?.ok_or(StoreError::NotFound)
            }

            async fn get_resource(&self, id: i64) -> StoreResult<Option<ResourceRecord>> {
                let sql = format!("SELECT {RESOURCE_COLS} FROM supply_resources WHERE id = $1");
                let r = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await.map_err(db_err)?;
                r.as_ref().map(resource_of).transpose()
            }

            async fn list_resources(&self, org: OrgId, after: i64, limit: u32) -> StoreResult<Vec<ResourceRecord>> {
                let sql = format!("SELECT {RESOURCE_COLS} FROM supply_resources WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3");
                let rows = sqlx::query(&sql).bind(org.get()).bind(after).bind(limit_of(limit))
                    .fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter().map(resource_of).collect()
            }

            async fn resources_by_ids(&self, ids: &[i64]) -> StoreResult<Vec<ResourceRecord>> {
                let list = crate::sql::id_list(ids.iter().copied());
                if list.is_empty() {
                    return Ok(Vec::new());
                }
                let sql = format!("SELECT {RESOURCE_COLS} FROM supply_resources WHERE id IN ({list}) ORDER BY id");
                let rows = sqlx::query(&sql).fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter().map(resource_of).collect()
            }

            async fn create_mode(&self, org: OrgId, spec: &ModeSpec, at_ms: i64) -> StoreResult<ModeRecord> {
                let m = spec.get();
                let r = sqlx::query(
                    "INSERT INTO supply_modes (org_id, name, price_fen_per_min, min_charge_fen, checkin_period_min, \
                     weights, terms, trade_start_cpt, checkin_cpt, created_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                )
                .bind(org.get()).bind(m.name.clone()).bind(m.price_fen_per_min).bind(m.min_charge_fen)
                .bind(i64_of(m.checkin_period_min)?)
                .bind(serde_json::to_string(&m.weights).map_err(cor)?)
                .bind(serde_json::to_string(&m.terms).map_err(cor)?)
                .bind(i64::from(m.trade_start_cpt)).bind(i64::from(m.checkin_cpt)).bind(at_ms)
                .fetch_one(&self.pool)
                .await
                .map_err(|e| conflict_or(e, "mode"))?;
                self.get_mode(r.try_get("id").map_err(cor)?).await?.ok_or(StoreError::NotFound)
            }

            async fn get_mode(&self, id: i64) -> StoreResult<Option<ModeRecord>> {
                let sql = format!("SELECT {MODE_COLS} FROM supply_modes WHERE id = $1");
                let r = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await.map_err(db_err)?;
                r.as_ref().map(mode_of).transpose()
            }

            async fn list_modes(&self, org: OrgId) -> StoreResult<Vec<ModeRecord>> {
                let sql = format!("SELECT {MODE_COLS} FROM supply_modes WHERE org_id = $1 ORDER BY id LIMIT $2");
                let rows = sqlx::query(&sql).bind(org.get()).bind(limit_of(crate::PAGE_SIZE_MAX))
                    .fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter().map(mode_of).collect()
            }

            async fn set_mode_published(&self, id: i64, chain_mode_id: u64, chain_tx: &str, at_ms: i64) -> StoreResult<ModeRecord> {
                let n = sqlx::query(
                    "UPDATE supply_modes SET chain_mode_id = $1, chain_tx = $2, published_ms = $3 \
                     WHERE id = $4 AND chain_mode_id IS NULL",
                )
                .bind(i64_of(chain_mode_id)?).bind(chain_tx.to_owned()).bind(at_ms).bind(id)
                .execute(&self.pool).await.map_err(db_err)?.rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                self.get_mode(id).await?.ok_or(StoreError::NotFound)
            }

            async fn create_offer(&self, new: &NewOffer) -> StoreResult<OfferRecord> {
                let (_g, mut tx) = self.s_begin().await?;
                let mode_org: Option<i64> = sqlx::query_scalar("SELECT org_id FROM supply_modes WHERE id = $1")
                    .bind(new.mode_id).fetch_optional(&mut *tx).await.map_err(db_err)?;
                if mode_org != Some(new.org.get()) {
                    return Err(StoreError::NotFound);
                }
                let list = crate::sql::id_list(new.resource_ids.iter().copied());
                let own: i64 = if list.is_empty() { 0 } else {
                    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM supply_resources WHERE org_id = $1 AND id IN ({list})"))
                        .bind(new.org.get()).fetch_one(&mut *tx).await.map_err(db_err)?
                };
                if usize::try_from(own).ok() != Some(new.resource_ids.len()) || list.is_empty() {
                    return Err(StoreError::NotFound);
                }
                let (lineage, version) = match new.replaces {
                    None => (None, 1i64),
                    Some(old) => {
                        let prev = Self::s_offer_tx(&mut tx, old).await?.filter(|o| o.org == new.org).ok_or(StoreError::NotFound)?;
                        let row = sqlx::query(
                            "SELECT MAX(version) AS v, SUM(CASE WHEN status = 'in_review' THEN 1 ELSE 0 END) AS r \
                             FROM supply_offers WHERE lineage_id = $1",
                        )
                        .bind(prev.lineage_id).fetch_one(&mut *tx).await.map_err(db_err)?;
                        let in_review: Option<i64> = row.try_get("r").map_err(cor)?;
                        if in_review.unwrap_or(0) > 0 {
                            return Err(StoreError::Conflict("offer_in_review: another version of this offer is in review".into()));
                        }
                        let v: Option<i64> = row.try_get("v").map_err(cor)?;
                        (Some(prev.lineage_id), v.unwrap_or(0) + 1)
                    }
                };
                let r = sqlx::query(
                    "INSERT INTO supply_offers (org_id, lineage_id, version, mode_id, title, units, valid_from_ms, \
                     valid_until_ms, status, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'draft', $9) RETURNING id",
                )
                .bind(new.org.get()).bind(lineage).bind(version).bind(new.mode_id)
                .bind(new.title.clone()).bind(i64::from(new.units)).bind(new.valid_from_ms)
                .bind(new.valid_until_ms).bind(new.at_ms)
                .fetch_one(&mut *tx).await.map_err(|e| conflict_or(e, "offer version"))?;
                let id: i64 = r.try_get("id").map_err(cor)?;
                if lineage.is_none() {
                    sqlx::query("UPDATE supply_offers SET lineage_id = $1 WHERE id = $1")
                        .bind(id).execute(&mut *tx).await.map_err(db_err)?;
                }
                for res in &new.resource_ids {
                    sqlx::query("INSERT INTO supply_offer_resources (offer_id, resource_id) VALUES ($1, $2)")
                        .bind(id).bind(*res).execute(&mut *tx).await.map_err(db_err)?;
                }
                let out = Self::s_offer_tx(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
                tx.commit().await.map_err(db_err)?;
                Ok(out)
            }

            async fn get_offer(&self, id: i64) -> StoreResult<Option<OfferRecord>> {
                let sql = format!("SELECT {OFFER_COLS} FROM supply_offers WHERE id = $1");
                let rows = sqlx::query(&sql).bind(id).fetch_all(&self.pool).await.map_err(db_err)?;
                Ok(self.s_offers(rows).await?.pop())
            }

            async fn list_offers(&self, org: Option<OrgId>, status: Option<OfferStatus>, after: i64, limit: u32) -> StoreResult<Vec<OfferRecord>> {
                let sql = format!(
                    "SELECT {OFFER_COLS} FROM supply_offers WHERE (org_id = $1 OR $2) AND (status = $3 OR $4) \
                     AND id > $5 ORDER BY id LIMIT $6"
                );
                let rows = sqlx::query(&sql)
                    .bind(org.map_or(0, |o| o.get())).bind(org.is_none())
                    .bind(status.map_or("", |s| s.as_str())).bind(status.is_none())
                    .bind(after).bind(limit_of(limit))
                    .fetch_all(&self.pool).await.map_err(db_err)?;
                self.s_offers(rows).await
            }

            async fn offer_versions(&self, lineage_id: i64) -> StoreResult<Vec<OfferRecord>> {
                let sql = format!("SELECT {OFFER_COLS} FROM supply_offers WHERE lineage_id = $1 ORDER BY version LIMIT $2");
                let rows = sqlx::query(&sql).bind(lineage_id).bind(limit_of(crate::PAGE_SIZE_MAX))
                    .fetch_all(&self.pool).await.map_err(db_err)?;
                self.s_offers(rows).await
            }

            async fn set_offer_published(&self, id: i64, chain_offer_id: u64, chain_tx: &str, at_ms: i64) -> StoreResult<OfferRecord> {
                let (_g, mut tx) = self.s_begin().await?;
                let out = Self::s_move(
                    &mut tx, id, OfferEvent::Publish,
                    "chain_offer_id = $2, chain_tx = $3, published_ms = $4",
                    (Some(i64_of(chain_offer_id)?), Some(chain_tx.to_owned()), at_ms),
                ).await?;
                tx.commit().await.map_err(db_err)?;
                Ok(out)
            }

            async fn decide_listing(&self, d: &ListingDecision) -> StoreResult<(OfferRecord, Vec<OfferRecord>)> {
                let (_g, mut tx) = self.s_begin().await?;
                let event = if d.approve { OfferEvent::Approve } else { OfferEvent::Reject };
                let out = Self::s_move(
                    &mut tx, d.offer_id, event,
                    "reviewed_by = $2, reason = $3, reviewed_ms = $4",
                    (Some(d.by.get()), d.reason.clone(), d.at_ms),
                ).await?;
                let mut superseded = Vec::new();
                if d.approve {
                    let older: Vec<i64> = sqlx::query_scalar(
                        "SELECT id FROM supply_offers WHERE lineage_id = $1 AND status = 'listed' AND id <> $2 ORDER BY id",
                    )
                    .bind(out.lineage_id).bind(out.id).fetch_all(&mut *tx).await.map_err(db_err)?;
                    for old in older {
                        superseded.push(Self::s_move(
                            &mut tx, old, OfferEvent::Supersede,
                            "reviewed_by = COALESCE($2, reviewed_by), reason = COALESCE($3, reason), withdrawn_ms = $4",
                            (None, None, d.at_ms),
                        ).await?);
                    }
                }
                tx.commit().await.map_err(db_err)?;
                Ok((out, superseded))
            }

            async fn withdraw_offer(&self, id: i64, at_ms: i64) -> StoreResult<OfferRecord> {
                let (_g, mut tx) = self.s_begin().await?;
                let out = Self::s_move(
                    &mut tx, id, OfferEvent::Withdraw,
                    "reviewed_by = COALESCE($2, reviewed_by), reason = COALESCE($3, reason), withdrawn_ms = $4",
                    (None, None, at_ms),
                ).await?;
                tx.commit().await.map_err(db_err)?;
                Ok(out)
            }
        }
    };
}

impl SqliteStore {
    /// SQLite: the supply writes take the store's one write lock, like the money writes.
    async fn supply_guard(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        Some(self.audit_lock.lock().await)
    }
}

impl PgStore {
    /// PostgreSQL: row-level conditions keep concurrent supply writes apart.
    async fn supply_guard(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        None
    }
}

supply_store!(SqliteStore, sqlx::Sqlite, "BEGIN IMMEDIATE");
supply_store!(PgStore, sqlx::Postgres, "BEGIN");
