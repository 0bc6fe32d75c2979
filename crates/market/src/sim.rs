//! Market simulator: hidden "true" consumer preferences, observed choice histories, and a
//! batch of jobs placed by the three schedulers of [`crate::sched`].
//!
//! 1. Nodes: GPU offers drawn from a small catalogue (model, memory, TFLOPS, list price),
//!    with random region, green share (carbon intensity falls with it), PUE, reputation,
//!    a price around the list price, and capacity scaled so that total capacity is
//!    `capacity_ratio` × total demand.
//! 2. Consumers: each belongs to an archetype (price-sensitive, green, performance,
//!    local, reputation) whose weight vector over [`crate::prefs::FEATURE_NAMES`] plus
//!    Gaussian noise is its hidden true preference.
//! 3. History: each consumer is shown `history_per_consumer` random sets of
//!    `choice_set` nodes and picks the one maximising true utility plus Gumbel noise —
//!    exactly the conditional-logit model, so the fit is well specified.
//! 4. The platform fits each consumer's weights ([`crate::prefs::fit`]) from the history
//!    only, then schedules `jobs_per_consumer` jobs per consumer (1–4 GPUs, a memory
//!    floor, sometimes a region list, a price limit) with OT on the learned weights, with
//!    the two baselines, and — as a reference ceiling — with OT on the true weights.
//!
//! Satisfaction of a job is its true utility on the node it got, scaled so that its
//! worst feasible node is 0 and its best is 1; an unplaced job scores 0. Reported per
//! scheduler: mean satisfaction, share of jobs placed, utilisation of capacity, and the
//! mean price paid per GPU-minute (fen).

use std::collections::HashMap;

use serde::Serialize;

use crate::MarketError;
use crate::attrs::{ConsumerId, DemandId, Offer, OfferId, OfferSpec, SupplierId};
use crate::matching::{Demand, DemandSpec};
use crate::prefs::{self, Choice, FEATURES, FitParams, PrefWeights, features};
use crate::rng::SplitMix64;
use crate::sched::{self, Assignment, Job};

/// Most consumers in one simulation.
pub const CONSUMERS_MAX: u32 = 2000;
/// Most nodes in one simulation.
pub const NODES_MAX: u32 = 2000;
/// Most jobs per consumer.
pub const JOBS_PER_CONSUMER_MAX: u32 = 20;
/// Most past choices per consumer.
pub const HISTORY_PER_CONSUMER_MAX: u32 = 1000;
/// Most alternatives in one past choice.
pub const CHOICE_SET_MAX: u32 = 32;

const REGIONS: [&str; 4] = ["cn-east", "cn-west", "cn-north", "cn-south"];
/// (model, memory GiB, TFLOPS, list price fen per GPU-minute)
const CATALOGUE: [(&str, u32, f64, f64); 6] = [
    ("H100", 80, 989.0, 60.0),
    ("A100", 80, 312.0, 35.0),
    ("A100-40G", 40, 312.0, 28.0),
    ("L40S", 48, 362.0, 20.0),
    ("910B", 64, 320.0, 25.0),
    ("4090", 24, 165.0, 8.0),
];
/// Archetype true weights over (price, green, low carbon, performance, reputation, home region).
const ARCHETYPES: [(&str, [f64; FEATURES]); 5] = [
    ("price", [-6.0, 0.2, 0.2, 0.5, 0.5, 0.5]),
    ("green", [-1.0, 3.0, 2.0, 0.3, 0.5, 0.3]),
    ("performance", [-0.5, 0.0, 0.0, 5.0, 0.5, 0.3]),
    ("local", [-1.0, 0.2, 0.2, 0.5, 0.5, 3.0]),
    ("reputation", [-1.0, 0.2, 0.2, 0.5, 4.0, 0.3]),
];

/// Simulation parameters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimParams {
    pub seed: u64,
    pub consumers: u32,
    pub nodes: u32,
    pub jobs_per_consumer: u32,
    pub history_per_consumer: u32,
    pub choice_set: u32,
    /// Total capacity / total demand, in `[0.5, 10]`.
    pub capacity_ratio: f64,
    /// Target ε of the OT scheduler (costs are in `[0, 1]`).
    pub epsilon: f64,
}

impl Default for SimParams {
    fn default() -> Self {
        SimParams {
            seed: 42,
            consumers: 60,
            nodes: 40,
            jobs_per_consumer: 4,
            history_per_consumer: 40,
            choice_set: 5,
            capacity_ratio: 1.3,
            epsilon: 0.01,
        }
    }
}

impl SimParams {
    fn check(&self) -> Result<(), MarketError> {
        let bad = |what: String| Err(MarketError::Sim(what));
        if self.consumers == 0 || self.consumers > CONSUMERS_MAX {
            return bad(format!("consumers must be in 1..={CONSUMERS_MAX}"));
        }
        if self.nodes == 0 || self.nodes > NODES_MAX {
            return bad(format!("nodes must be in 1..={NODES_MAX}"));
        }
        if self.jobs_per_consumer == 0 || self.jobs_per_consumer > JOBS_PER_CONSUMER_MAX {
            return bad(format!(
                "jobs_per_consumer must be in 1..={JOBS_PER_CONSUMER_MAX}"
            ));
        }
        if self.history_per_consumer > HISTORY_PER_CONSUMER_MAX {
            return bad(format!(
                "history_per_consumer must be at most {HISTORY_PER_CONSUMER_MAX}"
            ));
        }
        if self.choice_set < 2 || self.choice_set > CHOICE_SET_MAX.min(self.nodes.max(2)) {
            return bad(format!(
                "choice_set must be in 2..={} (and at most the node count)",
                CHOICE_SET_MAX
            ));
        }
        if !(0.5..=10.0).contains(&self.capacity_ratio) {
            return bad("capacity_ratio must be in 0.5..=10".into());
        }
        if (self.consumers as usize) * (self.jobs_per_consumer as usize) > sched::JOBS_MAX {
            return bad(format!("at most {} jobs in total", sched::JOBS_MAX));
        }
        if !(self.epsilon.is_finite() && self.epsilon > 0.0) {
            return bad("epsilon must be positive".into());
        }
        Ok(())
    }
}

/// One scheduler's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SchedulerResult {
    pub name: &'static str,
    /// Mean scaled true utility over all jobs (unplaced = 0), in `[0, 1]`.
    pub satisfaction: f64,
    pub placed_share: f64,
    pub utilisation: f64,
    /// Units-weighted mean price paid per GPU-minute, fen.
    pub mean_price_fen_per_gpu_min: f64,
}

/// The simulator's report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimReport {
    pub params: SimParams,
    pub jobs: usize,
    pub demand_units: u64,
    pub capacity_units: u64,
    /// Mean cosine similarity between learned and true weights.
    pub prefs_cosine_mean: f64,
    pub ot_iterations: u32,
    pub ot_marginal_error: f64,
    pub ot_converged: bool,
    /// OT on learned preferences, fixed score-and-rank, most free memory, and OT on the
    /// hidden true preferences (a ceiling the platform cannot reach).
    pub results: Vec<SchedulerResult>,
}

impl SimReport {
    pub fn result(&self, name: &str) -> Option<&SchedulerResult> {
        self.results.iter().find(|r| r.name == name)
    }
}

struct Consumer {
    id: ConsumerId,
    home: &'static str,
    truth: PrefWeights,
}

fn pick<T: Copy>(rng: &mut SplitMix64, xs: &[T]) -> T {
    xs[rng.below(xs.len() as u64) as usize]
}

/// Run one simulation.
pub fn run(params: &SimParams) -> Result<SimReport, MarketError> {
    params.check()?;
    let mut rng = SplitMix64::new(params.seed);

    // Consumers with hidden preferences.
    let consumers: Vec<Consumer> = (0..params.consumers)
        .map(|c| {
            let (_, base) = ARCHETYPES[c as usize % ARCHETYPES.len()];
            let truth = PrefWeights(std::array::from_fn(|k| base[k] + 0.3 * rng.normal()));
            Consumer {
                id: ConsumerId(u64::from(c)),
                home: pick(&mut rng, &REGIONS),
                truth,
            }
        })
        .collect();

    // Jobs.
    let mut jobs = Vec::new();
    for c in &consumers {
        for _ in 0..params.jobs_per_consumer {
            let units = pick(&mut rng, &[1u32, 1, 1, 2, 2, 4]);
            let mem = pick(&mut rng, &[16u32, 24, 24, 40, 48, 64]);
            let constraint = if rng.next_f64() < 0.2 {
                format!(
                    "mem_gb >= {mem} and region in [\"{}\", \"{}\"]",
                    c.home,
                    pick(&mut rng, &REGIONS)
                )
            } else {
                format!("mem_gb >= {mem}")
            };
            let spec = DemandSpec {
                consumer: c.id,
                constraint,
                max_price_fen_per_min: 90,
                duration_min: 60,
                units,
                public_good: false,
                preference_weights: None,
            };
            let demand = Demand::new(DemandId(jobs.len() as u64), spec)?;
            jobs.push(Job {
                demand,
                home_region: c.home.to_string(),
            });
        }
    }
    let demand_units: u64 = jobs.iter().map(|j| u64::from(j.demand.units())).sum();

    // Nodes, with capacity scaled to the demand.
    let avg_units =
        (params.capacity_ratio * demand_units as f64 / f64::from(params.nodes)).max(1.0);
    let mut nodes = Vec::new();
    for k in 0..params.nodes {
        let (model, mem_gb, tflops, list) = pick(&mut rng, &CATALOGUE);
        let green = rng.next_f64();
        let spec = OfferSpec {
            supplier: SupplierId(u64::from(k)),
            gpu_model: model.to_string(),
            gpu_count: 1,
            mem_gb,
            cpu_cores: 16,
            ram_gb: 128,
            tflops,
            storage_gb: 1000,
            region: pick(&mut rng, &REGIONS).to_string(),
            available_from_min: 0,
            available_until_min: 100_000,
            units: (avg_units * rng.uniform(0.5, 1.5)).round().max(1.0) as u32,
            price_fen_per_min: (list * rng.uniform(0.8, 1.3) * (1.0 + 0.15 * green)).round() as i64,
            min_charge_fen: 0,
            green_share: green,
            carbon_g_per_kwh: (800.0 * (1.0 - green) + rng.uniform(0.0, 100.0)).min(2000.0),
            pue: rng.uniform(1.1, 1.6),
            utilisation: rng.uniform(0.3, 0.9),
            public_good_discount_pct: 0,
            reputation: rng.uniform(3.0, 5.0),
        };
        nodes.push(Offer::new(OfferId(u64::from(k)), spec)?);
    }
    let capacity_units: u64 = nodes.iter().map(|o| u64::from(o.units())).sum();

    // Histories and fits.
    let mut learned = HashMap::new();
    let mut truths = HashMap::new();
    let mut cos_sum = 0.0;
    for c in &consumers {
        let mut choices = Vec::new();
        for _ in 0..params.history_per_consumer {
            let mut shown: Vec<usize> = Vec::new();
            while shown.len() < params.choice_set as usize {
                let j = rng.below(u64::from(params.nodes)) as usize;
                if !shown.contains(&j) {
                    shown.push(j);
                }
            }
            let alts: Vec<_> = shown.iter().map(|&j| features(&nodes[j], c.home)).collect();
            let mut best = (f64::NEG_INFINITY, 0);
            for (k, x) in alts.iter().enumerate() {
                let u = c.truth.utility(x) + rng.gumbel();
                if u > best.0 {
                    best = (u, k);
                }
            }
            choices.push(Choice::new(alts, best.1)?);
        }
        let fit = prefs::fit(&choices, &FitParams::default())?;
        cos_sum += fit.weights.cosine(&c.truth);
        learned.insert(c.id, fit.weights);
        truths.insert(c.id, c.truth);
    }

    let ot_params = sched::batch_params(params.epsilon);
    let ot = sched::schedule_ot(&jobs, &nodes, &learned, &ot_params)?;
    let score_rank = sched::schedule_score_rank(&jobs, &nodes)?;
    let free_mem = sched::schedule_most_free_memory(&jobs, &nodes)?;
    let oracle = sched::schedule_ot(&jobs, &nodes, &truths, &ot_params)?;

    let evaluate = |name: &'static str, a: &Assignment| -> SchedulerResult {
        let e = sched::evaluate(&jobs, &nodes, a, &truths);
        SchedulerResult {
            name,
            satisfaction: e.satisfaction,
            placed_share: e.placed_share,
            utilisation: e.utilisation,
            // Every simulated node has one GPU per unit.
            mean_price_fen_per_gpu_min: e.mean_price_fen_per_unit_min,
        }
    };
    let results = vec![
        evaluate("ot_learned", &ot.assignment),
        evaluate("score_rank", &score_rank),
        evaluate("most_free_memory", &free_mem),
        evaluate("ot_true_prefs", &oracle.assignment),
    ];
    Ok(SimReport {
        params: params.clone(),
        jobs: jobs.len(),
        demand_units,
        capacity_units,
        prefs_cosine_mean: cos_sum / consumers.len() as f64,
        ot_iterations: ot.iterations,
        ot_marginal_error: ot.marginal_error,
        ot_converged: ot.converged,
        results,
    })
}
