//! The market in the product (issue 17, `docs/market.md` "In the product"): search over
//! every listed supplier offer, "why not" explanations, side-by-side comparison and the
//! published incentive policy. Public, like the catalogue they read: no permission, no
//! organisation's data beyond what the catalogue shows.
//!
//! Every operation checks its parameters first ([`query::SearchParams::check`]: each
//! refusal names its parameter; a constraint's refusal carries the core's byte span),
//! then takes the market index's current snapshot ([`crate::market_index`]) and asks the
//! market core: [`Engine::search`](suanli_market::matching::Engine::search) for results
//! ranked by the published incentive policy, [`Engine::explain_page`] and
//! [`Engine::verdict`] for the first failing check of the offers that do not match.
//! Resources that are not online are not offered; an explanation says so.

pub mod allocate;
pub mod confirm;
pub mod data;
pub mod demands;
pub mod query;

use serde::Serialize;
use suanli_market::attrs::{ConsumerId, DemandId, OfferId};
use suanli_market::constraint::Failure;
use suanli_market::incentive::{Dimension, ScoreBreakdown};
use suanli_market::matching::{Demand, DemandSpec, Rejection, Verdict, estimate_cost_fen};
use suanli_platform_domain::supply::catalog::ResourceDraft;

pub use query::{
    RESULTS_DEFAULT, RESULTS_MAX, SearchParams, SearchRequest, WHY_NOT_DEFAULT, WHY_NOT_MAX,
};
pub use suanli_market::constraint::ConstraintError;

use super::ServiceError;
use crate::AppState;
use crate::market_index::{Entry, Reputation, Snapshot};

/// Fewest offers one comparison shows.
pub const COMPARE_OFFERS_MIN: usize = 2;
/// Most offers one comparison shows.
pub const COMPARE_OFFERS_MAX: usize = 4;
/// The version of the published incentive policy (`docs/market.md`): bumped whenever a
/// weight, the strength or a dimension's definition changes.
pub const POLICY_VERSION: u32 = 1;
/// When this version took effect (China Standard Time).
pub const POLICY_SINCE: &str = "2026-12-06";
/// Where the energy figures of every offer come from today: the supplier's declaration on
/// its resource. No certification credential backs them yet (`docs/market.md`).
pub const ENERGY_DATA_SOURCE: &str = "supplier_declared";

/// Why a market operation refused.
#[derive(Debug, thiserror::Error)]
pub enum MarketError {
    /// A parameter out of range or malformed (`invalid_query`, naming it).
    #[error("{field}: {message}")]
    Param {
        /// The parameter.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The constraint does not parse or type-check (`constraint_invalid`); the span is
    /// the offending token's bytes in `text`.
    #[error("{error}")]
    Constraint {
        /// The core's refusal, with its span.
        error: ConstraintError,
        /// The text the span points into (the advanced box, or the composed constraint).
        text: String,
    },
    /// The store or the index.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<MarketError> for ServiceError {
    fn from(e: MarketError) -> Self {
        match e {
            MarketError::Param { field, message } => ServiceError::Malformed {
                code: "invalid_query",
                field: Some(field.to_owned()),
                message: format!("{field}: {message}"),
            },
            MarketError::Constraint { ref error, .. } => ServiceError::Invalid {
                code: "constraint_invalid",
                field: Some("constraint".to_owned()),
                message: error.to_string(),
            },
            MarketError::Service(e) => e,
        }
    }
}

impl From<suanli_platform_store::StoreError> for MarketError {
    fn from(e: suanli_platform_store::StoreError) -> Self {
        MarketError::Service(e.into())
    }
}

/// Checks a constraint's text the way a search or a demand does (for forms that show the
/// refusal next to the field before running anything).
pub fn check_constraint(text: &str) -> Result<(), ConstraintError> {
    suanli_market::constraint::Constraint::parse(text).map(|_| ())
}

/// A supplier's reputation as a card shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReputationView {
    /// `rated`, `no_ratings`, `no_ledger` or `unavailable`.
    pub state: &'static str,
    /// Ratings on the trade chain (when rated).
    pub ratings: Option<u64>,
    /// Overall score 0..=100 as the trade chain computes it (when rated).
    pub overall: Option<f64>,
    /// The market's reputation 0..=5 (`overall / 20`, when rated).
    pub stars: Option<f64>,
}

fn reputation_view(r: &Reputation) -> ReputationView {
    let (ratings, overall) = match r {
        Reputation::Rated { ratings, overall } => (Some(*ratings), Some(*overall)),
        _ => (None, None),
    };
    ReputationView {
        state: r.state(),
        ratings,
        overall,
        stars: r.stars(),
    }
}

/// One resource of one listed offer, as a result card, a comparison column or an
/// explanation line shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Card {
    /// Position in the results (1-based; a comparison's column).
    pub position: usize,
    /// The listed offer version.
    pub offer_id: i64,
    /// The resource.
    pub resource_id: i64,
    /// The offer's title.
    pub title: String,
    /// The supplier's name.
    pub supplier: String,
    /// The resource's attributes.
    pub resource: ResourceDraft,
    /// Units on offer.
    pub units_offered: u32,
    /// Price per unit-minute, fen.
    pub price_fen_per_min: i64,
    /// Price per unit-hour, fen (60 × the minute price).
    pub price_fen_per_hour: i64,
    /// Minimum charge of one trade, fen.
    pub min_charge_fen: i64,
    /// The estimate for `units` × `duration_min`: price × units × minutes, at least the
    /// minimum charge (the core's cost rule).
    pub estimate_fen: i64,
    /// The incentive score, its five dimensions and the ranking price.
    pub score: ScoreBreakdown,
    /// The supplier's reputation.
    pub reputation: ReputationView,
    /// Where the energy figures come from ([`ENERGY_DATA_SOURCE`]).
    pub energy_data: &'static str,
}

fn card(snap: &Snapshot, id: OfferId, position: usize, r: &SearchRequest) -> Option<Card> {
    let e: &Entry = snap.entry(id)?;
    let price = e.market.price_fen_per_min();
    Some(Card {
        position,
        offer_id: e.listing.offer.id,
        resource_id: e.resource.id,
        title: e.listing.offer.title.clone(),
        supplier: e.listing.supplier.clone(),
        resource: e.resource.spec.get().clone(),
        units_offered: e.market.units(),
        price_fen_per_min: price,
        price_fen_per_hour: price.saturating_mul(60),
        min_charge_fen: e.market.spec().min_charge_fen,
        estimate_fen: estimate_cost_fen(&e.market, r.units, r.duration_min, false),
        score: snap.engine.policy().breakdown(&e.market),
        reputation: reputation_view(&e.reputation),
        energy_data: ENERGY_DATA_SOURCE,
    })
}

/// A search's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchAnswer {
    /// The composed constraint the core evaluated.
    pub constraint: String,
    /// `rank`, `price`, `score` or `reputation`.
    pub sort: &'static str,
    /// Units wanted.
    pub units: u32,
    /// Minutes of the estimates.
    pub duration_min: u32,
    /// The price limit, fen per unit-minute.
    pub max_price_fen_per_min: i64,
    /// Resources of listed offers that match, all of them.
    pub total: usize,
    /// The first `limit` in the chosen order.
    pub items: Vec<Card>,
    /// The incentive policy's version the ranking used.
    pub policy_version: u32,
}

fn demand(r: &SearchRequest) -> Result<Demand, MarketError> {
    Demand::with_constraint(
        DemandId(0),
        DemandSpec {
            consumer: ConsumerId(0),
            constraint: String::new(),
            max_price_fen_per_min: r.max_price_fen_per_min,
            duration_min: r.duration_min,
            units: r.units,
            public_good: false,
            preference_weights: None,
        },
        r.constraint.clone(),
    )
    .map_err(|e| MarketError::Service(ServiceError::Internal(e.to_string())))
}

/// Searches every listed offer's resources (anyone).
pub async fn search(s: &AppState, p: &SearchParams) -> Result<SearchAnswer, MarketError> {
    let r = p.check()?;
    if r.offer.is_some() {
        return Err(MarketError::Param {
            field: "offer",
            message: "applies to explain only".to_owned(),
        });
    }
    let snap = s.market.snapshot(s).await?;
    search_in(&snap, &r)
}

/// [`search`] on a snapshot (also what the benchmark's baseline asks the core directly).
pub fn search_in(snap: &Snapshot, r: &SearchRequest) -> Result<SearchAnswer, MarketError> {
    let d = demand(r)?;
    let limit = r.limit.unwrap_or(RESULTS_DEFAULT).min(RESULTS_MAX);
    let page = snap.engine.search(&d, r.sort, limit);
    Ok(SearchAnswer {
        constraint: r.constraint.source().to_owned(),
        sort: r.sort.name(),
        units: r.units,
        duration_min: r.duration_min,
        max_price_fen_per_min: r.max_price_fen_per_min,
        total: page.total,
        items: page
            .hits
            .iter()
            .filter_map(|h| card(snap, h.offer, h.position, r))
            .collect(),
        policy_version: POLICY_VERSION,
    })
}

/// Why one resource of a listed offer is not a result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum WhyNot {
    /// The first top-level clause it fails, with the resource's values of what it reads.
    Constraint(Failure),
    /// Priced above the limit.
    PriceAboveLimit {
        /// Its price.
        price_fen_per_min: i64,
        /// The limit.
        max_fen_per_min: i64,
    },
    /// Fewer free units than wanted.
    InsufficientUnits {
        /// Units on offer.
        free: u32,
        /// Units wanted.
        wanted: u32,
    },
    /// The resource is not online (`offline`, `maintenance`).
    NotOnline {
        /// Its status.
        status: String,
    },
}

impl From<Rejection> for WhyNot {
    fn from(r: Rejection) -> Self {
        match r {
            Rejection::Constraint(f) => WhyNot::Constraint(f),
            Rejection::PriceAboveLimit {
                price_fen_per_min,
                max_fen_per_min,
            } => WhyNot::PriceAboveLimit {
                price_fen_per_min,
                max_fen_per_min,
            },
            Rejection::InsufficientUnits { free, wanted } => {
                WhyNot::InsufficientUnits { free, wanted }
            }
        }
    }
}

/// One explained resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explained {
    /// The offer and resource, as a card shows them.
    pub card: Card,
    /// The first check it fails.
    pub why: WhyNot,
}

/// An explanation's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExplainAnswer {
    /// The composed constraint.
    pub constraint: String,
    /// The resource the search puts first (offer and resource ids), if any.
    pub would_match: Option<(i64, i64)>,
    /// Resources that match.
    pub candidates_total: usize,
    /// Resources that do not (offline ones included).
    pub rejected_total: usize,
    /// The first of them: the market's rejections in rank order, then resources not
    /// online.
    pub rejected: Vec<Explained>,
}

fn ids(snap: &Snapshot, id: OfferId) -> Option<(i64, i64)> {
    snap.entry(id).map(|e| (e.listing.offer.id, e.resource.id))
}

fn not_online(
    snap: &Snapshot,
    id: OfferId,
    position: usize,
    r: &SearchRequest,
) -> Option<Explained> {
    let status = snap.entry(id)?.resource.spec.get().status.clone();
    Some(Explained {
        card: card(snap, id, position, r)?,
        why: WhyNot::NotOnline { status },
    })
}

/// "Why not": the first failing check of the resources a search does not return, or of
/// one listed offer's resources (`offer`) — anyone.
pub async fn explain(s: &AppState, p: &SearchParams) -> Result<ExplainAnswer, MarketError> {
    let r = p.check()?;
    let snap = s.market.snapshot(s).await?;
    let d = demand(&r)?;
    let limit = r.limit.unwrap_or(WHY_NOT_DEFAULT).min(WHY_NOT_MAX);
    match r.offer {
        Some(offer) => explain_offer(&snap, &d, &r, offer),
        None => Ok(explain_all(&snap, &d, &r, limit)),
    }
}

fn explain_all(snap: &Snapshot, d: &Demand, r: &SearchRequest, limit: usize) -> ExplainAnswer {
    let page = snap.engine.explain_page(d, 0, limit);
    let mut rejected: Vec<Explained> = page
        .explanation
        .rejected
        .into_iter()
        .enumerate()
        .filter_map(|(i, x)| {
            Some(Explained {
                card: card(snap, x.offer, i + 1, r)?,
                why: x.rejection.into(),
            })
        })
        .collect();
    for &id in &snap.offline {
        if rejected.len() >= limit {
            break;
        }
        let n = rejected.len() + 1;
        rejected.extend(not_online(snap, id, n, r));
    }
    ExplainAnswer {
        constraint: r.constraint.source().to_owned(),
        would_match: page.explanation.would_match.and_then(|o| ids(snap, o)),
        candidates_total: page.candidates_total,
        rejected_total: page.rejected_total + snap.offline.len(),
        rejected,
    }
}

fn explain_offer(
    snap: &Snapshot,
    d: &Demand,
    r: &SearchRequest,
    offer: i64,
) -> Result<ExplainAnswer, MarketError> {
    let entries = snap.by_offer.get(&offer).ok_or(ServiceError::NotFound)?;
    let (mut matching, mut rejected) = (Vec::new(), Vec::new());
    for &id in entries {
        let n = rejected.len() + 1;
        match snap.engine.verdict(d, id) {
            Some(Verdict::Candidate { .. }) => matching.push(id),
            Some(Verdict::Rejected { rejection }) => {
                rejected.extend(card(snap, id, n, r).map(|card| Explained {
                    card,
                    why: rejection.into(),
                }))
            }
            None => rejected.extend(not_online(snap, id, n, r)),
        }
    }
    Ok(ExplainAnswer {
        constraint: r.constraint.source().to_owned(),
        would_match: matching.first().and_then(|&o| ids(snap, o)),
        candidates_total: matching.len(),
        rejected_total: rejected.len(),
        rejected,
    })
}

/// A comparison's answer: one column per resource of each offer, in the order asked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompareAnswer {
    /// Units of the estimates.
    pub units: u32,
    /// Minutes of the estimates.
    pub duration_min: u32,
    /// The columns.
    pub items: Vec<Card>,
}

/// Compares 2 to 4 listed offers side by side with the estimate for `duration_min` and
/// `units` (anyone). `offers` is a comma-separated list of offer ids.
pub async fn compare(
    s: &AppState,
    offers: &str,
    p: &SearchParams,
) -> Result<CompareAnswer, MarketError> {
    let bad = |m: String| MarketError::Param {
        field: "offers",
        message: m,
    };
    let mut list: Vec<i64> = Vec::new();
    for t in offers.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let id: i64 = t
            .parse()
            .map_err(|_| bad(format!("{t:?} is not an offer id")))?;
        if !list.contains(&id) {
            list.push(id);
        }
    }
    if !(COMPARE_OFFERS_MIN..=COMPARE_OFFERS_MAX).contains(&list.len()) {
        return Err(bad(format!(
            "name {COMPARE_OFFERS_MIN} to {COMPARE_OFFERS_MAX} different offers"
        )));
    }
    let r = p.check()?;
    let snap = s.market.snapshot(s).await?;
    let mut items = Vec::new();
    for id in list {
        let entries = snap.by_offer.get(&id).ok_or(ServiceError::NotFound)?;
        for &e in entries {
            let n = items.len() + 1;
            items.extend(card(&snap, e, n, &r));
        }
    }
    Ok(CompareAnswer {
        units: r.units,
        duration_min: r.duration_min,
        items,
    })
}

/// One dimension of the published policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyDimension {
    /// `low_carbon`, `green_energy`, `power_utilisation`, `public_good`, `reputation`.
    pub name: &'static str,
    /// Its weight (the weights sum to 1).
    pub weight: f64,
    /// How its value in `[0, 1]` is computed.
    pub formula: &'static str,
    /// Where the data comes from.
    pub source: &'static str,
}

/// The published incentive policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyView {
    /// [`POLICY_VERSION`].
    pub version: u32,
    /// [`POLICY_SINCE`].
    pub since: &'static str,
    /// How far the best score lowers the ranking price, basis points.
    pub strength_bp: u32,
    /// The dimensions.
    pub dimensions: Vec<PolicyDimension>,
    /// [`ENERGY_DATA_SOURCE`].
    pub energy_data: &'static str,
}

fn dimension_text(d: Dimension) -> (&'static str, &'static str) {
    match d {
        Dimension::LowCarbon => (
            "1 - carbon_g_per_kwh / 1000, clamped to [0, 1]",
            "the resource's grid carbon intensity as the supplier declared it",
        ),
        Dimension::GreenEnergy => (
            "green_share",
            "the resource's renewable share as the supplier declared it",
        ),
        Dimension::PowerUtilisation => (
            "mean of clamp(2 - pue, 0, 1) and utilisation",
            "the resource's PUE and utilisation as the supplier declared them",
        ),
        Dimension::PublicGood => (
            "min(public_good_discount_pct / 50, 1)",
            "the trade mode's public-good discount (modes have none yet: 0 for every offer)",
        ),
        Dimension::Reputation => (
            "reputation / 5, reputation = the trade chain's overall score / 20",
            "the supplier's ratings on the trade chain (0 while it has none)",
        ),
    }
}

/// The published incentive policy (anyone).
pub fn policy(s: &AppState) -> PolicyView {
    policy_of(s.market.policy())
}

fn policy_of(p: &suanli_market::incentive::IncentivePolicy) -> PolicyView {
    PolicyView {
        version: POLICY_VERSION,
        since: POLICY_SINCE,
        strength_bp: p.strength_bp(),
        dimensions: p
            .weights()
            .into_iter()
            .map(|(d, weight)| {
                let (formula, source) = dimension_text(d);
                PolicyDimension {
                    name: d.name(),
                    weight,
                    formula,
                    source,
                }
            })
            .collect(),
        energy_data: ENERGY_DATA_SOURCE,
    }
}
