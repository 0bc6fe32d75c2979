//! The continuous matching engine.
//!
//! Offers rest in a book ordered by `(adjusted price, arrival sequence)`: the adjusted
//! price is the offer's price lowered by its incentive score under the published
//! [`IncentivePolicy`] (computed once, when the offer enters), and the arrival sequence is
//! the engine's own counter, so ties are broken by time and the order is total and
//! deterministic. Demands that find nothing rest in a book ordered by
//! `(highest max price, arrival sequence)`.
//!
//! - A new demand walks the offer book from the best rank and takes the first offer that
//!   satisfies its constraint, is priced at or below its limit and has enough free units.
//!   A demand is filled whole from one offer (a job runs on one node).
//! - A new offer walks the demand book from the highest limit and fills every resting
//!   demand it can, until its units run out.
//! - The trade price is always the offer's own price per minute (suppliers post prices;
//!   a demand's limit only bounds it). The incentive adjustment changes *who* wins, never
//!   *what* is paid. A public-good demand pays the offer's public-good discount.
//!
//! [`Engine::explain`] shows, for any demand, the ranked candidates with their score
//! breakdowns and, for every rejected offer, the first reason: the first constraint clause
//! it failed, or its price, or its free units.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use serde::Serialize;

use crate::MarketError;
use crate::attrs::{Attr, ConsumerId, DemandId, Offer, OfferId, SupplierId, Val};
use crate::constraint::{Constraint, Failure};
use crate::incentive::{IncentivePolicy, ScoreBreakdown};

mod search;
pub use search::{ExplanationPage, Hit, SearchOrder, SearchPage, Verdict, estimate_cost_fen};

/// Most offers resting in one engine.
pub const OFFERS_MAX: usize = 1_000_000;
/// Most demands resting in one engine.
pub const DEMANDS_MAX: usize = 1_000_000;
/// Most units one demand may ask for.
pub const DEMAND_UNITS_MAX: u32 = 1024;
/// Longest duration one demand may ask for, in minutes (366 days).
pub const DURATION_MAX_MIN: u32 = 527_040;

/// The unchecked description of a demand (also the JSON shape).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct DemandSpec {
    pub consumer: ConsumerId,
    /// Constraint source in the constraint language.
    pub constraint: String,
    pub max_price_fen_per_min: i64,
    pub duration_min: u32,
    pub units: u32,
    /// Public-good use (research, education): pays the offer's public-good discount.
    #[serde(default)]
    pub public_good: bool,
    /// Explicit preference weights over [`crate::prefs::FEATURE_NAMES`]; when present the
    /// scheduler uses them instead of the weights learned from the consumer's history.
    #[serde(default)]
    pub preference_weights: Option<[f64; crate::prefs::FEATURES]>,
}

/// Largest absolute explicit preference weight.
pub const PREFERENCE_WEIGHT_ABS_MAX: f64 = 100.0;

/// A validated demand: its constraint is parsed and type-checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Demand {
    id: DemandId,
    consumer: ConsumerId,
    constraint: Constraint,
    max_price_fen_per_min: i64,
    duration_min: u32,
    units: u32,
    public_good: bool,
    preference: Option<crate::prefs::PrefWeights>,
}

impl Demand {
    pub fn new(id: DemandId, spec: DemandSpec) -> Result<Demand, MarketError> {
        let constraint = Constraint::parse(&spec.constraint)?;
        Demand::with_constraint(id, spec, constraint)
    }

    /// Build with an already-checked constraint (the spec's `constraint` text is ignored).
    pub fn with_constraint(
        id: DemandId,
        spec: DemandSpec,
        constraint: Constraint,
    ) -> Result<Demand, MarketError> {
        if spec.max_price_fen_per_min < 0
            || spec.max_price_fen_per_min > crate::attrs::PRICE_MAX_FEN_PER_MIN
        {
            return Err(MarketError::DemandOutOfRange(format!(
                "max_price_fen_per_min {} outside 0..={}",
                spec.max_price_fen_per_min,
                crate::attrs::PRICE_MAX_FEN_PER_MIN
            )));
        }
        if spec.units == 0 || spec.units > DEMAND_UNITS_MAX {
            return Err(MarketError::DemandOutOfRange(format!(
                "units {} outside 1..={DEMAND_UNITS_MAX}",
                spec.units
            )));
        }
        if spec.duration_min == 0 || spec.duration_min > DURATION_MAX_MIN {
            return Err(MarketError::DemandOutOfRange(format!(
                "duration_min {} outside 1..={DURATION_MAX_MIN}",
                spec.duration_min
            )));
        }
        if let Some(w) = &spec.preference_weights
            && w.iter()
                .any(|x| !x.is_finite() || x.abs() > PREFERENCE_WEIGHT_ABS_MAX)
        {
            return Err(MarketError::DemandOutOfRange(format!(
                "preference weights must be finite and within ±{PREFERENCE_WEIGHT_ABS_MAX}"
            )));
        }
        Ok(Demand {
            id,
            preference: spec.preference_weights.map(crate::prefs::PrefWeights),
            consumer: spec.consumer,
            constraint,
            max_price_fen_per_min: spec.max_price_fen_per_min,
            duration_min: spec.duration_min,
            units: spec.units,
            public_good: spec.public_good,
        })
    }

    pub fn id(&self) -> DemandId {
        self.id
    }
    pub fn consumer(&self) -> ConsumerId {
        self.consumer
    }
    pub fn constraint(&self) -> &Constraint {
        &self.constraint
    }
    pub fn max_price_fen_per_min(&self) -> i64 {
        self.max_price_fen_per_min
    }
    pub fn units(&self) -> u32 {
        self.units
    }
    pub fn duration_min(&self) -> u32 {
        self.duration_min
    }
    /// Explicit preference weights, if the demand carries them.
    pub fn preference(&self) -> Option<&crate::prefs::PrefWeights> {
        self.preference.as_ref()
    }
}

/// One trade: a demand filled from an offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fill {
    pub demand: DemandId,
    pub offer: OfferId,
    pub consumer: ConsumerId,
    pub supplier: SupplierId,
    pub units: u32,
    pub price_fen_per_min: i64,
    pub duration_min: u32,
    /// `max(price * units * duration, less the public-good discount rounded down in the
    /// consumer's favour, min_charge_fen)`.
    pub cost_fen: i64,
}

#[derive(Debug, Clone)]
struct Resting {
    offer: Offer,
    remaining: u32,
}

/// Book key of a resting offer: lowest adjusted price first, then earliest.
type OfferKey = (i64, u64);
/// Book key of a resting demand: highest limit first, then earliest.
type DemandKey = (Reverse<i64>, u64);

/// The discrete resource attributes that define an offer's partition of the book (its
/// "instrument"): GPU model, GPU count, memory per GPU, region.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PartKey {
    gpu_model: String,
    gpu_count: u32,
    mem_gb: u32,
    region: String,
}

impl PartKey {
    fn of(offer: &Offer) -> PartKey {
        let s = offer.spec();
        PartKey {
            gpu_model: s.gpu_model.clone(),
            gpu_count: s.gpu_count,
            mem_gb: s.mem_gb,
            region: s.region.clone(),
        }
    }

    fn known(&self, attr: Attr) -> Option<Val<'_>> {
        match attr {
            Attr::GpuModel => Some(Val::Str(&self.gpu_model)),
            Attr::GpuCount => Some(Val::Int(i64::from(self.gpu_count))),
            Attr::MemGb => Some(Val::Int(i64::from(self.mem_gb))),
            Attr::Region => Some(Val::Str(&self.region)),
            _ => None,
        }
    }
}

#[derive(Debug)]
struct Partition {
    key: PartKey,
    book: BTreeMap<OfferKey, Resting>,
    /// Resting demands whose constraint may accept this partition, in demand-book order.
    demands: BTreeSet<DemandKey>,
}

/// A resting demand with the partitions it is indexed under.
#[derive(Debug)]
struct RestingDemand {
    demand: Demand,
    parts: Vec<usize>,
}

/// The matching engine. Pure: no clock (arrival order is the engine's sequence counter).
///
/// The offer book is split into partitions by [`PartKey`]; each partition is ordered by
/// `(adjusted price, arrival)`. A demand first works out which partitions its constraint
/// can possibly accept (three-valued evaluation on the partition's attributes, cached
/// per constraint text), then takes the best offer across those partitions — exactly the
/// offer a walk of one global book would find, without walking offers that can never
/// match. Resting orders live inside the ordered books; the hash maps only locate an
/// order's key for cancels.
#[derive(Debug)]
pub struct Engine {
    policy: IncentivePolicy,
    partitions: Vec<Partition>,
    /// Best (smallest) book key of each partition, kept beside the books so that a demand
    /// can skip partitions that cannot beat its best candidate without touching them.
    partition_min: Vec<Option<OfferKey>>,
    /// Hash of a partition's attributes → partitions with that hash (compared field by
    /// field), so that finding an offer's partition allocates nothing.
    partition_of: HashMap<u64, Vec<usize>, Fx>,
    offer_keys: HashMap<OfferId, (usize, OfferKey), Fx>,
    offers_resting: usize,
    /// Constraint text → partitions it may accept. Cleared when a partition is added.
    candidates: HashMap<String, Arc<[usize]>, Fx>,
    demand_keys: HashMap<DemandId, DemandKey, Fx>,
    demand_book: BTreeMap<DemandKey, RestingDemand>,
    seq: u64,
    scratch: Vec<DemandKey>,
}

/// The Fx hash (rustc's `FxHasher`: multiply-rotate per word), for the in-process
/// constraint cache only — not collision-resistant, and it need not be: keys are the
/// engine's own constraint texts and a collision only costs a lookup.
#[derive(Debug, Default, Clone, Copy)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Hash builder of the engine's internal maps. Keys are engine-assigned ids and the
/// engine's own attribute values, so a fast non-cryptographic hash is enough.
type Fx = BuildHasherDefault<FxHasher>;

/// Most distinct partitions (GPU model × count × memory × region) in one engine.
pub const PARTITIONS_MAX: usize = 65_536;
/// Most cached constraint → partitions entries before the cache is reset.
pub const CANDIDATE_CACHE_ENTRIES_MAX: usize = 16_384;

fn cost_fen(offer: &Offer, units: u32, duration_min: u32, public_good: bool) -> i64 {
    let gross =
        i128::from(offer.price_fen_per_min()) * i128::from(units) * i128::from(duration_min);
    let net = if public_good {
        gross * i128::from(100 - offer.spec().public_good_discount_pct.min(100)) / 100
    } else {
        gross
    };
    // Bounded by PRICE_MAX * DEMAND_UNITS_MAX * DURATION_MAX < i64::MAX.
    (net as i64).max(offer.spec().min_charge_fen)
}

/// Why an offer was not a candidate for a demand.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Rejection {
    /// The first constraint clause the offer failed.
    Constraint(Failure),
    /// The offer is priced above the demand's limit.
    PriceAboveLimit {
        price_fen_per_min: i64,
        max_fen_per_min: i64,
    },
    /// Not enough free units left on the offer.
    InsufficientUnits { free: u32, wanted: u32 },
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejection::Constraint(fl) => write!(
                f,
                "failed clause #{} `{}` (at {}; offer has {})",
                fl.index + 1,
                fl.clause,
                fl.span,
                fl.observed.join(", ")
            ),
            Rejection::PriceAboveLimit {
                price_fen_per_min,
                max_fen_per_min,
            } => write!(
                f,
                "price {price_fen_per_min} fen/min above the limit {max_fen_per_min} fen/min"
            ),
            Rejection::InsufficientUnits { free, wanted } => {
                write!(f, "only {free} free units, {wanted} wanted")
            }
        }
    }
}

/// A candidate offer in rank order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    pub rank: usize,
    pub offer: OfferId,
    pub arrival_seq: u64,
    pub score: ScoreBreakdown,
}

/// A rejected offer with its first failed check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejected {
    pub offer: OfferId,
    pub rejection: Rejection,
}

/// The answer to "why did (or would) this demand match that, or nothing?".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    pub demand: DemandId,
    pub constraint: String,
    /// The offer the engine picks now: the first candidate.
    pub would_match: Option<OfferId>,
    pub candidates: Vec<Candidate>,
    pub rejected: Vec<Rejected>,
}

impl std::fmt::Display for Explanation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "demand {} `{}`", self.demand.0, self.constraint)?;
        match self.would_match {
            Some(o) => writeln!(f, "matches offer {}", o.0)?,
            None => writeln!(f, "matches nothing")?,
        }
        for c in &self.candidates {
            write!(
                f,
                "  #{} offer {}: {} fen/min, score {} bp, ranks at {} millifen/min, seq {} [",
                c.rank,
                c.offer.0,
                c.score.price_fen_per_min,
                c.score.score_bp,
                c.score.adjusted_millifen_per_min,
                c.arrival_seq
            )?;
            for (i, d) in c.score.dimensions.iter().enumerate() {
                if i > 0 {
                    write!(f, ", ")?;
                }
                write!(f, "{} {:.2}x{:.2}", d.dimension.name(), d.value, d.weight)?;
            }
            writeln!(f, "]")?;
        }
        for r in &self.rejected {
            writeln!(f, "  offer {} rejected: {}", r.offer.0, r.rejection)?;
        }
        Ok(())
    }
}

impl Engine {
    pub fn new(policy: IncentivePolicy) -> Engine {
        Engine {
            policy,
            partitions: Vec::new(),
            partition_min: Vec::new(),
            partition_of: HashMap::default(),
            offer_keys: HashMap::default(),
            offers_resting: 0,
            candidates: HashMap::default(),
            demand_keys: HashMap::default(),
            demand_book: BTreeMap::new(),
            seq: 0,
            scratch: Vec::new(),
        }
    }

    pub fn policy(&self) -> &IncentivePolicy {
        &self.policy
    }

    pub fn resting_offers(&self) -> usize {
        self.offers_resting
    }

    pub fn resting_demands(&self) -> usize {
        self.demand_book.len()
    }

    /// Free units left on a resting offer.
    pub fn free_units(&self, id: OfferId) -> Option<u32> {
        let (p, key) = self.offer_keys.get(&id)?;
        self.partitions.get(*p)?.book.get(key).map(|r| r.remaining)
    }

    /// Every resting offer with its book key, in global rank order.
    fn ranked(&self) -> Vec<(OfferKey, &Resting)> {
        let mut all: Vec<(OfferKey, &Resting)> = self
            .partitions
            .iter()
            .flat_map(|p| p.book.iter().map(|(k, r)| (*k, r)))
            .collect();
        all.sort_by_key(|(k, _)| *k);
        all
    }

    /// Resting offers in rank order.
    pub fn offer_ranking(&self) -> Vec<OfferId> {
        self.ranked()
            .into_iter()
            .map(|(_, r)| r.offer.id())
            .collect()
    }

    /// Add an offer: it fills resting demands it can, and rests with what is left.
    /// Fills are appended to `fills` (the caller reuses the buffer).
    pub fn submit_offer(&mut self, offer: Offer, fills: &mut Vec<Fill>) -> Result<(), MarketError> {
        if self.offer_keys.contains_key(&offer.id()) {
            return Err(MarketError::DuplicateOffer(offer.id().0));
        }
        if self.offers_resting >= OFFERS_MAX {
            return Err(MarketError::BookFull("offers"));
        }
        self.seq += 1;
        let score = self.policy.score_bp(&offer);
        let key = (
            self.policy
                .adjusted_millifen(offer.price_fen_per_min(), score),
            self.seq,
        );
        let p = self.partition_for(&offer)?;
        let mut remaining = offer.units();
        let price = offer.price_fen_per_min();
        self.scratch.clear();
        // Only demands that may accept this partition, in (highest limit, arrival) order.
        for dkey in self.partitions[p].demands.iter() {
            if remaining == 0 || dkey.0.0 < price {
                break;
            }
            let Some(RestingDemand { demand: d, .. }) = self.demand_book.get(dkey) else {
                continue;
            };
            if d.units <= remaining && d.constraint.matches(&offer) {
                remaining -= d.units;
                self.scratch.push(*dkey);
                fills.push(Fill {
                    demand: d.id,
                    offer: offer.id(),
                    consumer: d.consumer,
                    supplier: offer.supplier(),
                    units: d.units,
                    price_fen_per_min: price,
                    duration_min: d.duration_min,
                    cost_fen: cost_fen(&offer, d.units, d.duration_min, d.public_good),
                });
            }
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        for dkey in scratch.drain(..) {
            self.remove_demand(&dkey);
        }
        self.scratch = scratch;
        if remaining > 0 {
            self.offer_keys.insert(offer.id(), (p, key));
            self.partitions[p]
                .book
                .insert(key, Resting { offer, remaining });
            if self.partition_min[p].is_none_or(|m| key < m) {
                self.partition_min[p] = Some(key);
            }
            self.offers_resting += 1;
        }
        Ok(())
    }

    /// The partition of an offer, created (and indexed with every resting demand that may
    /// accept it) if new.
    fn partition_for(&mut self, offer: &Offer) -> Result<usize, MarketError> {
        let s = offer.spec();
        let mut h = FxHasher::default();
        h.write(s.gpu_model.as_bytes());
        h.write(&[0xff]);
        h.write(s.region.as_bytes());
        h.write(&s.gpu_count.to_le_bytes());
        h.write(&s.mem_gb.to_le_bytes());
        let hash = h.finish();
        if let Some(ps) = self.partition_of.get(&hash) {
            for &p in ps {
                let k = &self.partitions[p].key;
                if k.gpu_model == s.gpu_model
                    && k.region == s.region
                    && k.gpu_count == s.gpu_count
                    && k.mem_gb == s.mem_gb
                {
                    return Ok(p);
                }
            }
        }
        let pk = PartKey::of(offer);
        if self.partitions.len() >= PARTITIONS_MAX {
            return Err(MarketError::BookFull("partitions"));
        }
        let p = self.partitions.len();
        let mut demands = BTreeSet::new();
        for (dkey, rd) in self.demand_book.iter_mut() {
            if rd.demand.constraint.expr().eval_partial(&|a| pk.known(a)) != Some(false) {
                demands.insert(*dkey);
                rd.parts.push(p);
            }
        }
        self.partitions.push(Partition {
            key: pk.clone(),
            book: BTreeMap::new(),
            demands,
        });
        self.partition_min.push(None);
        self.partition_of.entry(hash).or_default().push(p);
        self.candidates.clear();
        Ok(p)
    }

    /// Remove a resting demand from the book and from every partition index.
    fn remove_demand(&mut self, dkey: &DemandKey) -> Option<Demand> {
        let rd = self.demand_book.remove(dkey)?;
        for &p in &rd.parts {
            if let Some(part) = self.partitions.get_mut(p) {
                part.demands.remove(dkey);
            }
        }
        self.demand_keys.remove(&rd.demand.id);
        Some(rd.demand)
    }

    /// The partitions a constraint may accept (cached by constraint text).
    fn candidates_for(&mut self, c: &Constraint) -> Arc<[usize]> {
        if let Some(v) = self.candidates.get(c.source()) {
            return v.clone();
        }
        let v: Arc<[usize]> = self
            .partitions
            .iter()
            .enumerate()
            .filter(|(_, p)| c.expr().eval_partial(&|a| p.key.known(a)) != Some(false))
            .map(|(i, _)| i)
            .collect();
        if self.candidates.len() >= CANDIDATE_CACHE_ENTRIES_MAX {
            self.candidates.clear();
        }
        self.candidates.insert(c.source().to_string(), v.clone());
        v
    }

    /// Add a demand: it takes the best-ranked acceptable offer, or rests.
    /// Returns the fill if it matched at once.
    pub fn submit_demand(&mut self, demand: Demand) -> Result<Option<Fill>, MarketError> {
        if self.demand_keys.contains_key(&demand.id) {
            return Err(MarketError::DuplicateDemand(demand.id.0));
        }
        if self.demand_book.len() >= DEMANDS_MAX {
            return Err(MarketError::BookFull("demands"));
        }
        self.seq += 1;
        // An adjusted price never exceeds the raw price (in millifen), so once the
        // adjusted price passes the limit no later offer can be within it.
        let limit_millifen = demand.max_price_fen_per_min.saturating_mul(1000);
        let mut best: Option<(OfferKey, usize)> = None;
        let cands = self.candidates_for(&demand.constraint);
        for &p in cands.iter() {
            // Skip partitions that are empty, start above the limit, or cannot beat the
            // best candidate so far.
            match self.partition_min.get(p).copied().flatten() {
                None => continue,
                Some(m) if m.0 > limit_millifen || best.is_some_and(|(b, _)| m >= b) => continue,
                Some(_) => {}
            }
            let Some(part) = self.partitions.get(p) else {
                continue;
            };
            for (key, r) in part.book.iter() {
                if key.0 > limit_millifen || best.is_some_and(|(b, _)| *key >= b) {
                    break;
                }
                if r.offer.price_fen_per_min() <= demand.max_price_fen_per_min
                    && r.remaining >= demand.units
                    && demand.constraint.matches(&r.offer)
                {
                    best = Some((*key, p));
                    break;
                }
            }
        }
        if let Some((key, p)) = best
            && let Some(part) = self.partitions.get_mut(p)
            && let Some(r) = part.book.get_mut(&key)
        {
            r.remaining -= demand.units;
            let fill = Fill {
                demand: demand.id,
                offer: r.offer.id(),
                consumer: demand.consumer,
                supplier: r.offer.supplier(),
                units: demand.units,
                price_fen_per_min: r.offer.price_fen_per_min(),
                duration_min: demand.duration_min,
                cost_fen: cost_fen(
                    &r.offer,
                    demand.units,
                    demand.duration_min,
                    demand.public_good,
                ),
            };
            if r.remaining == 0 {
                part.book.remove(&key);
                if self.partition_min[p] == Some(key) {
                    self.partition_min[p] = part.book.first_key_value().map(|(k, _)| *k);
                }
                self.offer_keys.remove(&fill.offer);
                self.offers_resting -= 1;
            }
            return Ok(Some(fill));
        }
        let key = (Reverse(demand.max_price_fen_per_min), self.seq);
        for &p in cands.iter() {
            if let Some(part) = self.partitions.get_mut(p) {
                part.demands.insert(key);
            }
        }
        self.demand_keys.insert(demand.id, key);
        self.demand_book.insert(
            key,
            RestingDemand {
                demand,
                parts: cands.to_vec(),
            },
        );
        Ok(None)
    }

    /// Withdraw a resting offer. Returns whether it was resting.
    pub fn cancel_offer(&mut self, id: OfferId) -> bool {
        let Some((p, key)) = self.offer_keys.remove(&id) else {
            return false;
        };
        let Some(part) = self.partitions.get_mut(p) else {
            return false;
        };
        let removed = part.book.remove(&key).is_some();
        if removed {
            self.partition_min[p] = part.book.first_key_value().map(|(k, _)| *k);
            self.offers_resting -= 1;
        }
        removed
    }

    /// Withdraw a resting demand. Returns whether it was resting.
    pub fn cancel_demand(&mut self, id: DemandId) -> bool {
        match self.demand_keys.get(&id).copied() {
            Some(key) => self.remove_demand(&key).is_some(),
            None => false,
        }
    }

    /// A resting demand, for [`Engine::explain`].
    pub fn resting_demand(&self, id: DemandId) -> Option<&Demand> {
        let key = self.demand_keys.get(&id)?;
        self.demand_book.get(key).map(|rd| &rd.demand)
    }

    /// Explain how `demand` stands against every resting offer, in rank order: which
    /// offers are candidates (with score breakdowns) and, for each rejected offer, the
    /// first check it failed (constraint clause, then price, then free units).
    pub fn explain(&self, demand: &Demand) -> Explanation {
        let mut candidates = Vec::new();
        let mut rejected = Vec::new();
        for (key, r) in self.ranked() {
            let oid = &r.offer.id();
            let rejection = if let Some(f) = demand.constraint.first_failure(&r.offer) {
                Some(Rejection::Constraint(f))
            } else if r.offer.price_fen_per_min() > demand.max_price_fen_per_min {
                Some(Rejection::PriceAboveLimit {
                    price_fen_per_min: r.offer.price_fen_per_min(),
                    max_fen_per_min: demand.max_price_fen_per_min,
                })
            } else if r.remaining < demand.units {
                Some(Rejection::InsufficientUnits {
                    free: r.remaining,
                    wanted: demand.units,
                })
            } else {
                None
            };
            match rejection {
                Some(rejection) => rejected.push(Rejected {
                    offer: *oid,
                    rejection,
                }),
                None => candidates.push(Candidate {
                    rank: candidates.len() + 1,
                    offer: *oid,
                    arrival_seq: key.1,
                    score: self.policy.breakdown(&r.offer),
                }),
            }
        }
        Explanation {
            demand: demand.id,
            constraint: demand.constraint.source().to_string(),
            would_match: candidates.first().map(|c| c.offer),
            candidates,
            rejected,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attrs::OfferSpec;

    /// What a walk of the whole demand book would fill for this offer.
    fn brute_force(e: &Engine, offer: &Offer) -> Vec<DemandId> {
        let mut remaining = offer.units();
        let mut out = Vec::new();
        for (k, rd) in &e.demand_book {
            if remaining == 0 || k.0.0 < offer.price_fen_per_min() {
                break;
            }
            let d = &rd.demand;
            if d.units <= remaining && d.constraint.matches(offer) {
                remaining -= d.units;
                out.push(d.id);
            }
        }
        out
    }

    #[test]
    fn partitioned_demand_index_fills_what_a_global_walk_would() {
        let models = [("A100", 80), ("H100", 80), ("4090", 24)];
        let regions = ["east", "west"];
        let constraints = [
            r#"gpu_model == "H100""#,
            "mem_gb >= 40 and green_share > 0.5",
            r#"region == "west" or gpu_model == "4090""#,
            "true",
        ];
        let mut x = 99u64;
        let mut next = move || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            x >> 33
        };
        let mut e = Engine::new(IncentivePolicy::default());
        let mut fills = Vec::new();
        let mut filled = 0;
        for k in 0..800u64 {
            if next() % 4 == 0 {
                let (model, mem) = models[(next() % 3) as usize];
                let green = (next() % 100) as f64 / 100.0;
                let offer = Offer::new(
                    OfferId(k),
                    OfferSpec {
                        supplier: SupplierId(1),
                        gpu_model: model.into(),
                        gpu_count: 1,
                        mem_gb: mem,
                        cpu_cores: 8,
                        ram_gb: 64,
                        tflops: 100.0,
                        storage_gb: 100,
                        region: regions[(next() % 2) as usize].into(),
                        available_from_min: 0,
                        available_until_min: 1,
                        units: 1 + (next() % 4) as u32,
                        price_fen_per_min: 100 + (next() % 40) as i64,
                        min_charge_fen: 0,
                        green_share: green,
                        carbon_g_per_kwh: 500.0,
                        pue: 1.2,
                        utilisation: 0.5,
                        public_good_discount_pct: 0,
                        reputation: 4.0,
                    },
                )
                .unwrap();
                let expected = brute_force(&e, &offer);
                fills.clear();
                e.submit_offer(offer, &mut fills).unwrap();
                let got: Vec<DemandId> = fills.iter().map(|f| f.demand).collect();
                assert_eq!(got, expected, "offer {k}");
                filled += got.len();
            } else {
                let c = constraints[(next() % 4) as usize];
                let d = Demand::new(
                    DemandId(k),
                    DemandSpec {
                        consumer: ConsumerId(k),
                        constraint: c.into(),
                        max_price_fen_per_min: 90 + (next() % 50) as i64,
                        duration_min: 1,
                        units: 1 + (next() % 2) as u32,
                        public_good: false,
                        preference_weights: None,
                    },
                )
                .unwrap();
                e.submit_demand(d).unwrap();
                if next() % 10 == 0 {
                    e.cancel_demand(DemandId(k));
                }
            }
        }
        assert!(filled > 20, "{filled}");
        // Every index entry points at a resting demand and vice versa.
        for part in &e.partitions {
            for k in &part.demands {
                assert!(e.demand_book.contains_key(k));
            }
        }
        for (k, rd) in &e.demand_book {
            for &p in &rd.parts {
                assert!(e.partitions[p].demands.contains(k));
            }
        }
        for (p, part) in e.partitions.iter().enumerate() {
            assert_eq!(
                e.partition_min[p],
                part.book.first_key_value().map(|(k, _)| *k)
            );
        }
    }
}
