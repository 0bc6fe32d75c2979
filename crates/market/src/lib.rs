//! # suanli-market: the market core
//!
//! This crate owns everything the exchange decides about *who gets which compute*: typed
//! offers and demands, the constraint language demands are written in, the published
//! incentive policy, the continuous matching engine and its explanations, consumer
//! preferences learned from history, the optimal-transport scheduler with its two
//! baselines, and the simulator that compares them. It is a pure core: no I/O, no clock,
//! no ambient randomness (the simulator takes a seed), no floating point for money
//! (prices and costs are `i64` fen; `f64` is used only for scores, preferences and
//! transport plans).
//!
//! Invariants:
//! - An [`attrs::Offer`] or [`matching::Demand`] that exists is valid: every attribute is
//!   in range and every constraint is parsed and type-checked.
//! - Matching is deterministic: the offer book is totally ordered by
//!   `(incentive-adjusted price, arrival sequence)`; the same inputs in the same order
//!   always give the same fills.
//! - A transport plan from [`ot::sinkhorn`] meets its marginals within the requested
//!   tolerance or says it did not (`converged: false`); [`ot::round_assignment`] never
//!   exceeds a capacity.
//! - Everything is bounded by named limits (`*_MAX*` constants in each module).
//!
//! Where to start reading: [`constraint`] (the language), then [`matching::Engine`]
//! (submit / explain), then [`ot::sinkhorn`] and [`sched::schedule_ot`], then [`sim::run`].
//! `docs/market.md` is the user-facing description; `docs/ot-format.md` the solver's
//! JSON format.

pub mod attrs;
pub mod constraint;
pub mod incentive;
pub mod matching;
pub mod ot;
pub mod prefs;
pub mod rng;
pub mod sched;
pub mod sim;

pub use constraint::{Constraint, ConstraintError, Span};

/// Errors of the market core.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MarketError {
    #[error("constraint: {0}")]
    Constraint(#[from] ConstraintError),
    #[error("attribute {attr} = {value} outside {range}")]
    AttrOutOfRange {
        attr: &'static str,
        value: String,
        range: String,
    },
    #[error("demand: {0}")]
    DemandOutOfRange(String),
    #[error("incentive policy: {0}")]
    Policy(String),
    #[error("offer {0} already in the book")]
    DuplicateOffer(u64),
    #[error("demand {0} already in the book")]
    DuplicateDemand(u64),
    #[error("the {0} book is full")]
    BookFull(&'static str),
    #[error("transport problem: {0}")]
    Ot(#[from] ot::OtError),
    #[error("preferences: {0}")]
    Prefs(String),
    #[error("schedule: {0}")]
    Sched(String),
    #[error("simulation: {0}")]
    Sim(String),
}
