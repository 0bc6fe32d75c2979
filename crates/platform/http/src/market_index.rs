//! The market's in-memory index of listed offers (issue 17, `docs/market.md` "In the
//! product"): every resource of every listed offer as one market-core offer
//! ([`suanli_market::attrs::Offer`]) in one [`Engine`], so a search is the core's query
//! on memory, not a walk of the store.
//!
//! A [`Snapshot`] is immutable and shared (`Arc`); a search takes the current one. It is
//! rebuilt when
//! - the store's **listing generation** moved (triggers bump it in the same transaction
//!   as every write that can change the catalogue: migration `0014_market`), checked on
//!   every request with one small read;
//! - an offer in it passed its `valid_until_ms` (the catalogue drops it);
//! - [`REPUTATION_REFRESH_MS`] passed since the suppliers' reputations were read from the
//!   trade chain (only when a [`crate::trade_book::TradeBook`] is attached; the offers
//!   are re-scored from memory, the store is not read again).
//!
//! What enters: exactly what the public catalogue lists (`service::supply_catalog::
//! catalogue_offers`): listed versions still valid whose supplier organisation is active.
//! Resources that are not `online` are kept beside the engine (`Snapshot::offline`), so
//! an explanation can say why they are not offered.

use std::collections::HashMap;
use std::sync::Arc;

use suanli_market::attrs::{Offer, OfferId, OfferSpec, SupplierId};
use suanli_market::incentive::IncentivePolicy;
use suanli_market::matching::Engine;
use suanli_platform_domain::supply::catalog::{OfferStatus, ResourceStatus};
use suanli_platform_domain::{OrgId, OrgStatus};
use suanli_platform_store::{ModeRecord, OfferRecord, OrgRecord, PAGE_SIZE_MAX, ResourceRecord};

use crate::AppState;
use crate::service::{ServiceError, ServiceResult};
use crate::trade_book::ChainReputation;

/// How long suppliers' reputations read from the trade chain are used before they are
/// read again, in milliseconds.
pub const REPUTATION_REFRESH_MS: i64 = 60_000;
/// The trade chain's overall score is 0..=100; the market's reputation 0..=5.
const CHAIN_SCORE_PER_STAR: f64 = 20.0;

/// A listed offer as the index keeps it (shared by its resources' entries).
#[derive(Debug)]
pub struct Listing {
    /// The listed version.
    pub offer: OfferRecord,
    /// Its trade mode (price, minimum charge).
    pub mode: ModeRecord,
    /// The supplier organisation's name.
    pub supplier: String,
}

/// What the index knows of a supplier's reputation. It never makes one up: without a
/// ledger, without ratings or when the chain could not be read, it says so.
#[derive(Debug, Clone, PartialEq)]
pub enum Reputation {
    /// No trade chain is attached.
    NoLedger,
    /// The supplier has no ratings on the trade chain (or no supplier DID yet).
    NoRatings,
    /// The trade chain could not be read (logged); read again at the next refresh.
    Unavailable,
    /// As the trade chain computes it (`docs/trade.md` §6).
    Rated {
        /// Ratings received.
        ratings: u64,
        /// Weighted average overall score, 0..=100.
        overall: f64,
    },
}

impl Reputation {
    /// The market's reputation (0..=5) and whether there is one.
    pub fn stars(&self) -> Option<f64> {
        match self {
            Reputation::Rated { overall, .. } => {
                Some((overall / CHAIN_SCORE_PER_STAR).clamp(0.0, 5.0))
            }
            _ => None,
        }
    }

    /// `no_ledger`, `no_ratings`, `unavailable` or `rated`.
    pub fn state(&self) -> &'static str {
        match self {
            Reputation::NoLedger => "no_ledger",
            Reputation::NoRatings => "no_ratings",
            Reputation::Unavailable => "unavailable",
            Reputation::Rated { .. } => "rated",
        }
    }
}

/// One resource of one listed offer: what a search finds.
#[derive(Debug)]
pub struct Entry {
    /// The listed offer.
    pub listing: Arc<Listing>,
    /// The resource.
    pub resource: ResourceRecord,
    /// The market-core offer built from both (reputation 0 when there is none).
    pub market: Offer,
    /// The supplier's reputation.
    pub reputation: Reputation,
}

/// An immutable index of the listed offers.
#[derive(Debug)]
pub struct Snapshot {
    /// The online entries, as market-core offers ([`OfferId`] = index into `entries`).
    pub engine: Engine,
    /// Every entry, online or not, by [`OfferId`].
    pub entries: Vec<Entry>,
    /// Entries whose resource is not online (not in the engine).
    pub offline: Vec<OfferId>,
    /// Entries of each listed offer (platform offer id → entries).
    pub by_offer: HashMap<i64, Vec<OfferId>>,
    generation: i64,
    expires_ms: i64,
    reputation_read_ms: Option<i64>,
}

impl Snapshot {
    /// One entry.
    pub fn entry(&self, id: OfferId) -> Option<&Entry> {
        usize::try_from(id.0).ok().and_then(|i| self.entries.get(i))
    }
}

/// How often the demand worker looks at the listing generation and closes expired
/// demands, in milliseconds.
pub const DEMAND_PASS_INTERVAL_MS: u64 = 2_000;

/// Keeps the index current without a search asking: every [`DEMAND_PASS_INTERVAL_MS`] it
/// takes the snapshot (which rebuilds it, and matches the standing demands, when the
/// listing changed) and closes expired demands. Runs for the server's life.
pub async fn demand_worker(state: AppState) {
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(DEMAND_PASS_INTERVAL_MS)).await;
        if let Err(e) = state.market.snapshot(&state).await {
            tracing::warn!(error = %e, "market index not refreshed");
        }
        if let Err(e) = state.store.expire_demands(state.clock.now_unix_ms()).await {
            tracing::warn!(error = %e, "expired demands not closed");
        }
    }
}

/// The shared, rebuilt-on-change index.
#[derive(Debug)]
pub struct MarketIndex {
    policy: IncentivePolicy,
    current: std::sync::RwLock<Option<Arc<Snapshot>>>,
    build: tokio::sync::Mutex<()>,
    /// Demands being confirmed into orders now (one confirmation at a time per demand).
    confirming: Arc<std::sync::Mutex<std::collections::HashSet<i64>>>,
    /// The market data's computed base (`service::market::data`), tied to one snapshot:
    /// a rebuilt index is a new snapshot, so a rebuild invalidates it.
    data: tokio::sync::Mutex<Option<Arc<crate::service::market::data::DataBase>>>,
}

/// Held while a demand is confirmed; frees it when dropped.
#[derive(Debug)]
pub struct Confirming {
    set: Arc<std::sync::Mutex<std::collections::HashSet<i64>>>,
    id: i64,
}

impl Drop for Confirming {
    fn drop(&mut self) {
        if let Ok(mut set) = self.set.lock() {
            set.remove(&self.id);
        }
    }
}

impl Default for MarketIndex {
    fn default() -> Self {
        MarketIndex::new(IncentivePolicy::default())
    }
}

impl MarketIndex {
    /// An empty index ranking by `policy`.
    pub fn new(policy: IncentivePolicy) -> Self {
        MarketIndex {
            policy,
            current: std::sync::RwLock::new(None),
            build: tokio::sync::Mutex::new(()),
            confirming: Arc::default(),
            data: tokio::sync::Mutex::new(None),
        }
    }

    /// The market data's cached base (one computation at a time holds the lock).
    pub(crate) fn data_cache(
        &self,
    ) -> &tokio::sync::Mutex<Option<Arc<crate::service::market::data::DataBase>>> {
        &self.data
    }

    /// Marks demand `id` as being confirmed; `None` while another request confirms it.
    pub fn begin_confirm(&self, id: i64) -> Option<Confirming> {
        let mut set = self.confirming.lock().ok()?;
        set.insert(id).then(|| Confirming {
            set: Arc::clone(&self.confirming),
            id,
        })
    }

    /// The published incentive policy the index ranks by.
    pub fn policy(&self) -> &IncentivePolicy {
        &self.policy
    }

    fn current(&self) -> Option<Arc<Snapshot>> {
        self.current
            .read()
            .map(|g| g.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    fn fresh(snap: &Snapshot, generation: i64, now: i64, chain: bool) -> bool {
        snap.generation == generation
            && now < snap.expires_ms
            && (!chain
                || snap
                    .reputation_read_ms
                    .is_some_and(|t| now < t.saturating_add(REPUTATION_REFRESH_MS)))
    }

    /// The current snapshot, rebuilt first if the listing changed, an offer expired or
    /// the reputations are due.
    pub async fn snapshot(&self, s: &AppState) -> ServiceResult<Arc<Snapshot>> {
        let generation = s.store.listing_generation().await?;
        let now = s.clock.now_unix_ms();
        let chain = s.trade_book.is_some();
        if let Some(snap) = self.current()
            && Self::fresh(&snap, generation, now, chain)
        {
            return Ok(snap);
        }
        let _building = self.build.lock().await;
        // Another request may have rebuilt it while this one waited.
        let old = self.current();
        if let Some(snap) = &old
            && Self::fresh(snap, generation, now, chain)
        {
            return Ok(Arc::clone(snap));
        }
        let snap = match old {
            // Only the reputations are due: re-score what is in memory.
            Some(snap) if snap.generation == generation && now < snap.expires_ms => {
                let reps = reputations(s, &snap.entries).await?;
                Arc::new(
                    self.assemble(
                        snap.entries
                            .iter()
                            .map(|e| (Arc::clone(&e.listing), e.resource.clone()))
                            .collect(),
                        &reps,
                        generation,
                        Some(now),
                    ),
                )
            }
            _ => {
                let rows = load(s, now).await?;
                let reps = if chain {
                    reputations_of(s, rows.iter().map(|(l, _)| l.offer.org)).await?
                } else {
                    HashMap::new()
                };
                let snap = Arc::new(self.assemble(rows, &reps, generation, chain.then_some(now)));
                // The listing changed: standing demands meet it (logged, never fails a search).
                match crate::service::market::demands::match_open(s, &snap).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(matched = n, "standing demands matched"),
                    Err(e) => tracing::warn!(error = %e, "standing demands not matched"),
                }
                snap
            }
        };
        match self.current.write() {
            Ok(mut g) => *g = Some(Arc::clone(&snap)),
            Err(p) => *p.into_inner() = Some(Arc::clone(&snap)),
        }
        Ok(snap)
    }

    /// Builds a snapshot from listed offers' resources and the suppliers' reputations.
    fn assemble(
        &self,
        rows: Vec<(Arc<Listing>, ResourceRecord)>,
        reps: &HashMap<OrgId, Reputation>,
        generation: i64,
        reputation_read_ms: Option<i64>,
    ) -> Snapshot {
        let mut engine = Engine::new(self.policy.clone());
        let mut entries = Vec::with_capacity(rows.len());
        let mut offline = Vec::new();
        let mut by_offer: HashMap<i64, Vec<OfferId>> = HashMap::new();
        let mut expires_ms = i64::MAX;
        let mut fills = Vec::new();
        for (listing, resource) in rows {
            let id = OfferId(entries.len() as u64);
            let reputation = reps
                .get(&listing.offer.org)
                .cloned()
                .unwrap_or(Reputation::NoLedger);
            let Some(market) = market_offer(id, &listing, &resource, &reputation) else {
                continue;
            };
            expires_ms = expires_ms.min(listing.offer.valid_until_ms);
            let online = resource.spec.status() == ResourceStatus::Online;
            if online {
                if let Err(e) = engine.submit_offer(market.clone(), &mut fills) {
                    tracing::error!(error = %e, offer = listing.offer.id, "market index: offer not indexed");
                    continue;
                }
            } else {
                offline.push(id);
            }
            by_offer.entry(listing.offer.id).or_default().push(id);
            entries.push(Entry {
                listing,
                resource,
                market,
                reputation,
            });
        }
        Snapshot {
            engine,
            entries,
            offline,
            by_offer,
            generation,
            expires_ms,
            reputation_read_ms,
        }
    }
}

/// The market-core offer of one resource of a listed offer, or `None` (logged) if the
/// market refuses it (the domain checked every attribute with the market's ranges, so
/// this does not happen with stored data).
fn market_offer(id: OfferId, l: &Listing, r: &ResourceRecord, rep: &Reputation) -> Option<Offer> {
    let d = r.spec.get();
    let m = l.mode.spec.get();
    let spec = OfferSpec {
        supplier: SupplierId(u64::try_from(l.offer.org.get()).unwrap_or(0)),
        gpu_model: d.gpu_model.clone(),
        gpu_count: d.gpu_count,
        mem_gb: d.gpu_mem_gb,
        cpu_cores: d.cpu_cores,
        ram_gb: d.ram_gb,
        tflops: d.tflops,
        storage_gb: d.storage_gb,
        region: d.region.clone(),
        available_from_min: d.available_from_min,
        available_until_min: d.available_until_min,
        units: l.offer.units,
        price_fen_per_min: m.price_fen_per_min,
        min_charge_fen: m.min_charge_fen,
        green_share: d.green_share,
        carbon_g_per_kwh: d.carbon_g_per_kwh,
        pue: d.pue,
        utilisation: d.utilisation,
        // Trade modes have no public-good discount yet.
        public_good_discount_pct: 0,
        // No reputation scores 0 in the reputation dimension; the card says why.
        reputation: rep.stars().unwrap_or(0.0),
    };
    match Offer::new(id, spec) {
        Ok(o) => Some(o),
        Err(e) => {
            tracing::error!(error = %e, offer = l.offer.id, resource = r.id, "market index: resource refused by the market");
            None
        }
    }
}

/// Every listed offer still valid at `now` whose supplier is active, with each of its
/// resources (what the public catalogue lists).
async fn load(s: &AppState, now: i64) -> ServiceResult<Vec<(Arc<Listing>, ResourceRecord)>> {
    let mut orgs: HashMap<OrgId, Option<OrgRecord>> = HashMap::new();
    let mut modes: HashMap<i64, Option<ModeRecord>> = HashMap::new();
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = s
            .store
            .list_offers(None, Some(OfferStatus::Listed), after, PAGE_SIZE_MAX)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        let ids: Vec<i64> = page
            .iter()
            .flat_map(|o| o.resource_ids.iter().copied())
            .collect();
        let resources: HashMap<i64, ResourceRecord> = s
            .store
            .resources_by_ids(&ids)
            .await?
            .into_iter()
            .map(|r| (r.id, r))
            .collect();
        for offer in page.into_iter().filter(|o| o.valid_until_ms > now) {
            if let std::collections::hash_map::Entry::Vacant(e) = orgs.entry(offer.org) {
                e.insert(s.store.get_org(offer.org).await?);
            }
            let Some(Some(org)) = orgs.get(&offer.org) else {
                continue;
            };
            if org.status != OrgStatus::Active {
                continue;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = modes.entry(offer.mode_id) {
                e.insert(s.store.get_mode(offer.mode_id).await?);
            }
            let Some(Some(mode)) = modes.get(&offer.mode_id) else {
                continue;
            };
            let rs: Vec<ResourceRecord> = offer
                .resource_ids
                .iter()
                .filter_map(|id| resources.get(id).cloned())
                .collect();
            let listing = Arc::new(Listing {
                offer,
                mode: mode.clone(),
                supplier: org.name.clone(),
            });
            out.extend(rs.into_iter().map(|r| (Arc::clone(&listing), r)));
        }
    }
    Ok(out)
}

async fn reputations(s: &AppState, entries: &[Entry]) -> ServiceResult<HashMap<OrgId, Reputation>> {
    reputations_of(s, entries.iter().map(|e| e.listing.offer.org)).await
}

/// Each supplier's reputation from the trade chain (suppliers without a DID have no
/// ratings; a failed read is [`Reputation::Unavailable`], never a number).
async fn reputations_of(
    s: &AppState,
    orgs: impl Iterator<Item = OrgId>,
) -> ServiceResult<HashMap<OrgId, Reputation>> {
    let Some(book) = s.trade_book.clone() else {
        return Ok(HashMap::new());
    };
    let mut orgs: Vec<OrgId> = orgs.collect();
    orgs.sort_unstable_by_key(|o| o.get());
    orgs.dedup();
    let mut out = HashMap::new();
    for org in orgs {
        let Some(did) = crate::service::supply_money::supplier_did(s, org).await? else {
            out.insert(org, Reputation::NoRatings);
            continue;
        };
        let book = Arc::clone(&book);
        let read: Result<ChainReputation, _> =
            tokio::task::spawn_blocking(move || book.reputation(&did))
                .await
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let rep = match read {
            Ok(r) => match r.overall {
                Some(overall) if r.ratings > 0 => Reputation::Rated {
                    ratings: r.ratings,
                    overall,
                },
                _ => Reputation::NoRatings,
            },
            Err(e) => {
                tracing::warn!(error = %e, org = org.get(), "market index: reputation not read");
                Reputation::Unavailable
            }
        };
        out.insert(org, rep);
    }
    Ok(out)
}
