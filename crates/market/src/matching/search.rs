//! Read-only queries over the offer book: a search (every resting offer a demand would
//! accept now, in a chosen order, paged) and bounded explanations (the first rejections
//! in rank order, or one offer's verdict). They never change the book and need only
//! `&self`, so many readers can share one engine.
//!
//! A search walks only the partitions the demand's constraint may accept (three-valued
//! evaluation on the partition's attributes, like [`Engine::submit_demand`]) and, inside a
//! partition, stops at the first offer whose ranking price passes the demand's limit. The
//! answer is exactly what filtering every resting offer would give (tested against a
//! walk of [`Engine::explain`]).

use std::cmp::Ordering;

use serde::Serialize;

use super::{Engine, Explanation, OfferKey, Rejected, Rejection, Resting};
use crate::attrs::{Offer, OfferId};
use crate::incentive::ScoreBreakdown;
use crate::matching::{Candidate, Demand};

/// The order of search results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchOrder {
    /// The book's rank: incentive-adjusted price, then arrival (the default).
    Rank,
    /// Lowest price per minute first, then rank.
    Price,
    /// Highest incentive score first, then rank.
    Score,
    /// Highest reputation first, then rank.
    Reputation,
}

impl SearchOrder {
    /// Every order.
    pub const ALL: [SearchOrder; 4] = [
        SearchOrder::Rank,
        SearchOrder::Price,
        SearchOrder::Score,
        SearchOrder::Reputation,
    ];

    /// The order's name (`rank`, `price`, `score`, `reputation`).
    pub fn name(self) -> &'static str {
        match self {
            SearchOrder::Rank => "rank",
            SearchOrder::Price => "price",
            SearchOrder::Score => "score",
            SearchOrder::Reputation => "reputation",
        }
    }

    /// Parses [`SearchOrder::name`].
    pub fn parse(s: &str) -> Option<SearchOrder> {
        SearchOrder::ALL.into_iter().find(|o| o.name() == s)
    }
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    /// 1-based position in the chosen order.
    pub position: usize,
    pub offer: OfferId,
    /// Free units left on the offer.
    pub free_units: u32,
    /// Arrival sequence (the rank's tie-break).
    pub arrival_seq: u64,
    /// The incentive score and its breakdown.
    pub score: ScoreBreakdown,
}

/// A page of search results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchPage {
    /// Offers the demand would accept now, all of them.
    pub total: usize,
    /// The first `limit` of them in the chosen order.
    pub hits: Vec<Hit>,
}

/// A bounded explanation: the first candidates and rejections in rank order, with how
/// many there are in all.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExplanationPage {
    /// What [`Engine::explain`] says, cut to the bounds.
    pub explanation: Explanation,
    /// Candidates in all.
    pub candidates_total: usize,
    /// Rejected offers in all.
    pub rejected_total: usize,
}

/// One offer's standing against a demand.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// The demand would accept it.
    Candidate { score: ScoreBreakdown },
    /// The first check it fails.
    Rejected { rejection: Rejection },
}

/// The cost of `units` slots of `offer` for `duration_min` minutes, as a trade would
/// charge it: price × units × minutes, less the public-good discount (rounded down, in the
/// consumer's favour) when `public_good`, and at least the offer's minimum charge.
pub fn estimate_cost_fen(offer: &Offer, units: u32, duration_min: u32, public_good: bool) -> i64 {
    super::cost_fen(offer, units, duration_min, public_good)
}

/// The first check an offer with `free` units fails for `demand`, in `explain`'s order:
/// constraint clause, price limit, free units.
fn rejection(demand: &Demand, r: &Resting) -> Option<Rejection> {
    if let Some(f) = demand.constraint().first_failure(&r.offer) {
        Some(Rejection::Constraint(f))
    } else if r.offer.price_fen_per_min() > demand.max_price_fen_per_min() {
        Some(Rejection::PriceAboveLimit {
            price_fen_per_min: r.offer.price_fen_per_min(),
            max_fen_per_min: demand.max_price_fen_per_min(),
        })
    } else if r.remaining < demand.units() {
        Some(Rejection::InsufficientUnits {
            free: r.remaining,
            wanted: demand.units(),
        })
    } else {
        None
    }
}

fn accepts(demand: &Demand, r: &Resting) -> bool {
    r.offer.price_fen_per_min() <= demand.max_price_fen_per_min()
        && r.remaining >= demand.units()
        && demand.constraint().matches(&r.offer)
}

/// The `limit` smallest of `v` under `cmp`, sorted.
fn smallest<T>(mut v: Vec<T>, limit: usize, cmp: impl Fn(&T, &T) -> Ordering) -> Vec<T> {
    if v.len() > limit && limit > 0 {
        v.select_nth_unstable_by(limit - 1, &cmp);
        v.truncate(limit);
    } else if limit == 0 {
        v.clear();
    }
    v.sort_unstable_by(cmp);
    v
}

impl Engine {
    /// Every resting offer `demand` would accept now — its constraint holds, its price is
    /// within the limit, it has the free units — ordered by `order` (ties by rank), the
    /// first `limit` of them, with the number of all.
    pub fn search(&self, demand: &Demand, order: SearchOrder, limit: usize) -> SearchPage {
        let limit_millifen = demand.max_price_fen_per_min().saturating_mul(1000);
        let mut found: Vec<(OfferKey, &Resting, i64)> = Vec::new();
        for part in &self.partitions {
            if part.book.is_empty()
                || part
                    .book
                    .first_key_value()
                    .is_some_and(|(k, _)| k.0 > limit_millifen)
                || demand
                    .constraint()
                    .expr()
                    .eval_partial(&|a| part.key.known(a))
                    == Some(false)
            {
                continue;
            }
            for (key, r) in &part.book {
                // An adjusted price never exceeds the raw one, so none after this is
                // within the limit.
                if key.0 > limit_millifen {
                    break;
                }
                if accepts(demand, r) {
                    found.push((*key, r, self.sort_value(order, &r.offer)));
                }
            }
        }
        let total = found.len();
        let top = smallest(found, limit, |a, b| a.2.cmp(&b.2).then(a.0.cmp(&b.0)));
        let hits = top
            .into_iter()
            .enumerate()
            .map(|(i, (key, r, _))| Hit {
                position: i + 1,
                offer: r.offer.id(),
                free_units: r.remaining,
                arrival_seq: key.1,
                score: self.policy.breakdown(&r.offer),
            })
            .collect();
        SearchPage { total, hits }
    }

    /// The primary sort value of an offer under `order` (smaller first).
    fn sort_value(&self, order: SearchOrder, offer: &Offer) -> i64 {
        match order {
            SearchOrder::Rank => 0,
            SearchOrder::Price => offer.price_fen_per_min(),
            SearchOrder::Score => -i64::from(self.policy.score_bp(offer)),
            // Reputation is 0..=5 (checked by `Offer::new`): micro-points are exact enough
            // and keep the key an integer.
            SearchOrder::Reputation => -((offer.spec().reputation * 1e6).round() as i64),
        }
    }

    /// [`Engine::explain`] cut to the first `candidates_max` candidates and the first
    /// `rejected_max` rejections in rank order, with the totals. The lists are exactly the
    /// prefixes of `explain`'s; reasons are worked out only for the rejections shown.
    pub fn explain_page(
        &self,
        demand: &Demand,
        candidates_max: usize,
        rejected_max: usize,
    ) -> ExplanationPage {
        let mut cands: Vec<(OfferKey, &Resting)> = Vec::new();
        let mut rejs: Vec<(OfferKey, &Resting)> = Vec::new();
        for part in &self.partitions {
            for (key, r) in &part.book {
                if accepts(demand, r) {
                    cands.push((*key, r));
                } else {
                    rejs.push((*key, r));
                }
            }
        }
        let (candidates_total, rejected_total) = (cands.len(), rejs.len());
        let would_match = cands.iter().min_by_key(|c| c.0).map(|c| c.1.offer.id());
        let by_key = |a: &(OfferKey, &Resting), b: &(OfferKey, &Resting)| a.0.cmp(&b.0);
        let candidates: Vec<Candidate> = smallest(cands, candidates_max, by_key)
            .into_iter()
            .enumerate()
            .map(|(i, (key, r))| Candidate {
                rank: i + 1,
                offer: r.offer.id(),
                arrival_seq: key.1,
                score: self.policy.breakdown(&r.offer),
            })
            .collect();
        let rejected = smallest(rejs, rejected_max, by_key)
            .into_iter()
            .filter_map(|(_, r)| {
                rejection(demand, r).map(|rejection| Rejected {
                    offer: r.offer.id(),
                    rejection,
                })
            })
            .collect();
        ExplanationPage {
            explanation: Explanation {
                demand: demand.id(),
                constraint: demand.constraint().source().to_string(),
                would_match,
                candidates,
                rejected,
            },
            candidates_total,
            rejected_total,
        }
    }

    /// One resting offer's standing against `demand` (`None` if it is not resting).
    pub fn verdict(&self, demand: &Demand, offer: OfferId) -> Option<Verdict> {
        let (p, key) = self.offer_keys.get(&offer)?;
        let r = self.partitions.get(*p)?.book.get(key)?;
        Some(match rejection(demand, r) {
            Some(rejection) => Verdict::Rejected { rejection },
            None => Verdict::Candidate {
                score: self.policy.breakdown(&r.offer),
            },
        })
    }

    /// A resting offer (`None` if it is not resting).
    pub fn resting_offer(&self, offer: OfferId) -> Option<&Offer> {
        let (p, key) = self.offer_keys.get(&offer)?;
        self.partitions.get(*p)?.book.get(key).map(|r| &r.offer)
    }
}
