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
use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::MarketError;
use crate::attrs::{ConsumerId, DemandId, Offer, OfferId, SupplierId};
use crate::constraint::{Constraint, Failure};
use crate::incentive::{IncentivePolicy, ScoreBreakdown};

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
}

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
        Ok(Demand {
            id,
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
    key: (i64, u64),
}

/// Book key of a resting demand: highest limit first, then earliest.
type DemandKey = (Reverse<i64>, u64);

/// The matching engine. Pure: no clock (arrival order is the engine's sequence counter).
#[derive(Debug)]
pub struct Engine {
    policy: IncentivePolicy,
    offers: HashMap<OfferId, Resting>,
    offer_book: BTreeMap<(i64, u64), OfferId>,
    demands: HashMap<DemandId, (Demand, DemandKey)>,
    demand_book: BTreeMap<DemandKey, DemandId>,
    seq: u64,
    scratch: Vec<(DemandKey, DemandId)>,
}

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
            offers: HashMap::new(),
            offer_book: BTreeMap::new(),
            demands: HashMap::new(),
            demand_book: BTreeMap::new(),
            seq: 0,
            scratch: Vec::new(),
        }
    }

    pub fn policy(&self) -> &IncentivePolicy {
        &self.policy
    }

    pub fn resting_offers(&self) -> usize {
        self.offers.len()
    }

    pub fn resting_demands(&self) -> usize {
        self.demands.len()
    }

    /// Free units left on a resting offer.
    pub fn free_units(&self, id: OfferId) -> Option<u32> {
        self.offers.get(&id).map(|r| r.remaining)
    }

    /// Resting offers in rank order.
    pub fn offer_ranking(&self) -> impl Iterator<Item = OfferId> + '_ {
        self.offer_book.values().copied()
    }

    /// Add an offer: it fills resting demands it can, and rests with what is left.
    /// Fills are appended to `fills` (the caller reuses the buffer).
    pub fn submit_offer(&mut self, offer: Offer, fills: &mut Vec<Fill>) -> Result<(), MarketError> {
        if self.offers.contains_key(&offer.id()) {
            return Err(MarketError::DuplicateOffer(offer.id().0));
        }
        if self.offers.len() >= OFFERS_MAX {
            return Err(MarketError::BookFull("offers"));
        }
        self.seq += 1;
        let score = self.policy.score_bp(&offer);
        let key = (
            self.policy
                .adjusted_millifen(offer.price_fen_per_min(), score),
            self.seq,
        );
        let mut remaining = offer.units();
        let price = offer.price_fen_per_min();
        self.scratch.clear();
        for (dkey, did) in self.demand_book.iter() {
            if remaining == 0 || dkey.0.0 < price {
                break;
            }
            let Some((d, _)) = self.demands.get(did) else {
                continue;
            };
            if d.units <= remaining && d.constraint.matches(&offer) {
                remaining -= d.units;
                self.scratch.push((*dkey, *did));
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
        for (dkey, did) in self.scratch.drain(..) {
            self.demand_book.remove(&dkey);
            self.demands.remove(&did);
        }
        if remaining > 0 {
            self.offer_book.insert(key, offer.id());
            self.offers.insert(
                offer.id(),
                Resting {
                    offer,
                    remaining,
                    key,
                },
            );
        }
        Ok(())
    }

    /// Add a demand: it takes the best-ranked acceptable offer, or rests.
    /// Returns the fill if it matched at once.
    pub fn submit_demand(&mut self, demand: Demand) -> Result<Option<Fill>, MarketError> {
        if self.demands.contains_key(&demand.id) {
            return Err(MarketError::DuplicateDemand(demand.id.0));
        }
        if self.demands.len() >= DEMANDS_MAX {
            return Err(MarketError::BookFull("demands"));
        }
        self.seq += 1;
        // An adjusted price never exceeds the raw price (in millifen), so once the
        // adjusted price passes the limit no later offer can be within it.
        let limit_millifen = demand.max_price_fen_per_min.saturating_mul(1000);
        let mut hit = None;
        for (key, oid) in self.offer_book.iter() {
            if key.0 > limit_millifen {
                break;
            }
            let Some(r) = self.offers.get(oid) else {
                continue;
            };
            if r.offer.price_fen_per_min() <= demand.max_price_fen_per_min
                && r.remaining >= demand.units
                && demand.constraint.matches(&r.offer)
            {
                hit = Some(*oid);
                break;
            }
        }
        if let Some(oid) = hit
            && let Some(r) = self.offers.get_mut(&oid)
        {
            r.remaining -= demand.units;
            let fill = Fill {
                demand: demand.id,
                offer: oid,
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
                let key = r.key;
                self.offer_book.remove(&key);
                self.offers.remove(&oid);
            }
            return Ok(Some(fill));
        }
        let key = (Reverse(demand.max_price_fen_per_min), self.seq);
        self.demand_book.insert(key, demand.id);
        self.demands.insert(demand.id, (demand, key));
        Ok(None)
    }

    /// Withdraw a resting offer. Returns whether it was resting.
    pub fn cancel_offer(&mut self, id: OfferId) -> bool {
        match self.offers.remove(&id) {
            Some(r) => {
                self.offer_book.remove(&r.key);
                true
            }
            None => false,
        }
    }

    /// Withdraw a resting demand. Returns whether it was resting.
    pub fn cancel_demand(&mut self, id: DemandId) -> bool {
        match self.demands.remove(&id) {
            Some((_, key)) => {
                self.demand_book.remove(&key);
                true
            }
            None => false,
        }
    }

    /// A resting demand, for [`Engine::explain`].
    pub fn resting_demand(&self, id: DemandId) -> Option<&Demand> {
        self.demands.get(&id).map(|(d, _)| d)
    }

    /// Explain how `demand` stands against every resting offer, in rank order: which
    /// offers are candidates (with score breakdowns) and, for each rejected offer, the
    /// first check it failed (constraint clause, then price, then free units).
    pub fn explain(&self, demand: &Demand) -> Explanation {
        let mut candidates = Vec::new();
        let mut rejected = Vec::new();
        for (key, oid) in self.offer_book.iter() {
            let Some(r) = self.offers.get(oid) else {
                continue;
            };
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
