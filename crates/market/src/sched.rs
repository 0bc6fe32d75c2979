//! Batch scheduling: assign N jobs (demands) to M resource nodes (offers) with capacities.
//!
//! - [`schedule_ot`] — the data-driven scheduler. Each job's consumer has preference
//!   weights learned from its history ([`crate::prefs`]) — or the demand's own explicit
//!   weights when it carries them; the utility of node `j` for job
//!   `i` is `w_c · features(j)`. The cost is the utility gap to the best feasible pair,
//!   scaled to `[0, 1]` over all feasible pairs; infeasible pairs (constraint fails, price
//!   above the limit, node too small) cost `+inf`. Marginals: job `i` carries its size in
//!   units, node `j` its capacity; a dummy node "unassigned" (cost
//!   [`UNASSIGNED_COST`]) absorbs demand that cannot be placed and a dummy job "idle"
//!   (cost 0) absorbs spare capacity, so the problem is balanced. The entropic plan
//!   ([`crate::ot::sinkhorn`]) is rounded to whole jobs on single nodes with
//!   [`crate::ot::round_assignment`], which never exceeds a capacity.
//! - [`schedule_score_rank`] — baseline (a) of the seed: a fixed, platform-wide score of
//!   every node ([`FIXED_SCORE_WEIGHTS`]); jobs in arrival order each take the
//!   best-scored feasible node with room.
//! - [`schedule_most_free_memory`] — baseline (b): filter the feasible nodes, then take
//!   the one with the most free GPU memory (free units × memory per unit).

use std::collections::HashMap;

use serde::Serialize;

use crate::MarketError;
use crate::attrs::{ConsumerId, Offer};
use crate::matching::Demand;
use crate::ot::{OtProblem, SinkhornParams, round_assignment, sinkhorn};
use crate::prefs::{FEATURES, PrefWeights, features};

/// Most jobs in one batch.
pub const JOBS_MAX: usize = 5000;
/// Most nodes in one batch.
pub const NODES_MAX: usize = 5000;
/// Cost of leaving a job unassigned (feasible costs are in `[0, 1]`).
pub const UNASSIGNED_COST: f64 = 2.0;
/// Baseline (a)'s fixed score weights over [`crate::prefs::FEATURE_NAMES`]: cheaper,
/// greener, faster, better rated — the same for every consumer.
pub const FIXED_SCORE_WEIGHTS: [f64; FEATURES] = [-1.0, 0.5, 0.5, 1.0, 1.0, 0.0];

/// A job to place: a demand plus the consumer's home region (for the region feature).
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub demand: Demand,
    pub home_region: String,
}

impl Job {
    /// Can this job run on the node at all (ignoring other jobs)?
    pub fn feasible(&self, node: &Offer) -> bool {
        self.demand.units() <= node.units()
            && node.price_fen_per_min() <= self.demand.max_price_fen_per_min()
            && self.demand.constraint().matches(node)
    }
}

/// The result of a scheduler: for each job, the index of its node, if any.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assignment {
    pub node_of_job: Vec<Option<usize>>,
}

/// The OT scheduler's result with solver diagnostics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OtSchedule {
    pub assignment: Assignment,
    pub iterations: u32,
    pub marginal_error: f64,
    pub converged: bool,
    /// Fractional objective `<C, P>` over the real (non-dummy) block.
    pub objective: f64,
}

/// The Sinkhorn settings of a batch schedule at regularisation `epsilon` (the simulator's
/// and the platform's batch allocation's): tolerance 1e-4, ε-scaling by 4, one thread.
pub fn batch_params(epsilon: f64) -> SinkhornParams {
    SinkhornParams {
        epsilon,
        tolerance: 1e-4,
        iterations_max: 20_000,
        eps_scaling_factor: 4.0,
        parallel: false,
    }
}

fn check_sizes(jobs: &[Job], nodes: &[Offer]) -> Result<(), MarketError> {
    if jobs.len() > JOBS_MAX || nodes.len() > NODES_MAX {
        return Err(MarketError::Sched(format!(
            "{} jobs and {} nodes; at most {JOBS_MAX} and {NODES_MAX}",
            jobs.len(),
            nodes.len()
        )));
    }
    Ok(())
}

/// The data-driven scheduler: entropic OT on learned preferences, then integral rounding.
/// Consumers missing from `prefs` are treated as indifferent (zero weights).
pub fn schedule_ot(
    jobs: &[Job],
    nodes: &[Offer],
    prefs: &HashMap<ConsumerId, PrefWeights>,
    params: &SinkhornParams,
) -> Result<OtSchedule, MarketError> {
    check_sizes(jobs, nodes)?;
    let (n, m) = (jobs.len(), nodes.len());
    if n == 0 || m == 0 {
        return Ok(OtSchedule {
            assignment: Assignment {
                node_of_job: vec![None; n],
            },
            iterations: 0,
            marginal_error: 0.0,
            converged: true,
            objective: 0.0,
        });
    }
    // Utilities of feasible pairs.
    let zero = PrefWeights::zero();
    let mut util = vec![f64::NAN; n * m];
    let (mut umin, mut umax) = (f64::INFINITY, f64::NEG_INFINITY);
    for (i, job) in jobs.iter().enumerate() {
        let w = job
            .demand
            .preference()
            .or_else(|| prefs.get(&job.demand.consumer()))
            .unwrap_or(&zero);
        for (j, node) in nodes.iter().enumerate() {
            if job.feasible(node) {
                let u = w.utility(&features(node, &job.home_region));
                util[i * m + j] = u;
                umin = umin.min(u);
                umax = umax.max(u);
            }
        }
    }
    let span = if umax > umin { umax - umin } else { 1.0 };
    // (n + 1) × (m + 1): last row "idle capacity", last column "unassigned".
    let (rn, rm) = (n + 1, m + 1);
    let mut cost = vec![0.0; rn * rm];
    for i in 0..n {
        for j in 0..m {
            let u = util[i * m + j];
            cost[i * rm + j] = if u.is_nan() {
                f64::INFINITY
            } else {
                (umax - u) / span
            };
        }
        cost[i * rm + m] = UNASSIGNED_COST;
    }
    let sizes: Vec<u32> = jobs.iter().map(|j| j.demand.units()).collect();
    let caps: Vec<u32> = nodes.iter().map(Offer::units).collect();
    let demand_total: f64 = sizes.iter().map(|&s| f64::from(s)).sum();
    let cap_total: f64 = caps.iter().map(|&c| f64::from(c)).sum();
    let mut a: Vec<f64> = sizes.iter().map(|&s| f64::from(s)).collect();
    a.push(cap_total);
    let mut b: Vec<f64> = caps.iter().map(|&c| f64::from(c)).collect();
    b.push(demand_total);
    let problem = OtProblem::new(rn, rm, cost, a, b)?;
    let sol = sinkhorn(&problem, params)?;
    // Round on the real block only.
    let mut plan = Vec::with_capacity(n * m);
    let mut real_cost = Vec::with_capacity(n * m);
    let mut objective = 0.0;
    for i in 0..n {
        for j in 0..m {
            let p = sol.plan[i * rm + j];
            let c = problem.cost()[i * rm + j];
            plan.push(p);
            real_cost.push(c);
            if p > 0.0 && c.is_finite() {
                objective += p * c;
            }
        }
    }
    let node_of_job = round_assignment(&plan, &real_cost, n, m, &sizes, &caps);
    Ok(OtSchedule {
        assignment: Assignment { node_of_job },
        iterations: sol.iterations,
        marginal_error: sol.marginal_error,
        converged: sol.converged,
        objective,
    })
}

/// Baseline (a): fixed score-and-rank, jobs in arrival order.
pub fn schedule_score_rank(jobs: &[Job], nodes: &[Offer]) -> Result<Assignment, MarketError> {
    check_sizes(jobs, nodes)?;
    let fixed = PrefWeights(FIXED_SCORE_WEIGHTS);
    let scores: Vec<f64> = nodes
        .iter()
        .map(|o| fixed.utility(&features(o, "")))
        .collect();
    let mut order: Vec<usize> = (0..nodes.len()).collect();
    order.sort_by(|&x, &y| scores[y].total_cmp(&scores[x]).then(x.cmp(&y)));
    let mut left: Vec<u32> = nodes.iter().map(Offer::units).collect();
    let node_of_job = jobs
        .iter()
        .map(|job| {
            let j = order
                .iter()
                .copied()
                .find(|&j| left[j] >= job.demand.units() && job.feasible(&nodes[j]))?;
            left[j] -= job.demand.units();
            Some(j)
        })
        .collect();
    Ok(Assignment { node_of_job })
}

/// Baseline (b): filter feasible nodes, take the one with the most free GPU memory.
pub fn schedule_most_free_memory(jobs: &[Job], nodes: &[Offer]) -> Result<Assignment, MarketError> {
    check_sizes(jobs, nodes)?;
    let mut left: Vec<u32> = nodes.iter().map(Offer::units).collect();
    let node_of_job = jobs
        .iter()
        .map(|job| {
            let j = (0..nodes.len())
                .filter(|&j| left[j] >= job.demand.units() && job.feasible(&nodes[j]))
                .max_by(|&x, &y| {
                    let fx = u64::from(left[x]) * u64::from(nodes[x].spec().mem_gb);
                    let fy = u64::from(left[y]) * u64::from(nodes[y].spec().mem_gb);
                    // Ties: lower index wins (max_by keeps the last maximum, so reverse).
                    fx.cmp(&fy).then(y.cmp(&x))
                })?;
            left[j] -= job.demand.units();
            Some(j)
        })
        .collect();
    Ok(Assignment { node_of_job })
}

/// Units placed on each node by an assignment.
pub fn load(assignment: &Assignment, jobs: &[Job], nodes: usize) -> Vec<u64> {
    let mut load = vec![0u64; nodes];
    for (i, j) in assignment.node_of_job.iter().enumerate() {
        if let (Some(j), Some(job)) = (j, jobs.get(i))
            && let Some(l) = load.get_mut(*j)
        {
            *l += u64::from(job.demand.units());
        }
    }
    load
}

/// How an assignment serves its jobs, judged by the preferences in `prefs` (consumers
/// missing there are indifferent).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// Mean scaled utility over all jobs (unplaced = 0), in `[0, 1]`.
    pub satisfaction: f64,
    /// Share of jobs placed.
    pub placed_share: f64,
    /// Units placed / capacity units of all nodes.
    pub utilisation: f64,
    /// Units-weighted mean price of the nodes taken, fen per unit-minute.
    pub mean_price_fen_per_unit_min: f64,
    /// Each job's scaled utility on its node (`None`: not placed): its utility there,
    /// with its worst feasible node 0 and its best 1 (1 when all are equally good).
    pub per_job: Vec<Option<f64>>,
}

/// Evaluates an assignment of `jobs` to `nodes` by `prefs` (the simulator's hidden true
/// preferences, or the platform's learned ones).
pub fn evaluate(
    jobs: &[Job],
    nodes: &[Offer],
    a: &Assignment,
    prefs: &HashMap<ConsumerId, PrefWeights>,
) -> Evaluation {
    let zero = PrefWeights::zero();
    let (mut sat, mut placed, mut used, mut paid) = (0.0, 0usize, 0u64, 0.0);
    let mut per_job = Vec::with_capacity(jobs.len());
    for (i, job) in jobs.iter().enumerate() {
        let Some(j) = a
            .node_of_job
            .get(i)
            .copied()
            .flatten()
            .filter(|&j| j < nodes.len())
        else {
            per_job.push(None);
            continue;
        };
        let w = prefs.get(&job.demand.consumer()).unwrap_or(&zero);
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for node in nodes.iter().filter(|n| job.feasible(n)) {
            let u = w.utility(&features(node, &job.home_region));
            lo = lo.min(u);
            hi = hi.max(u);
        }
        let u = w.utility(&features(&nodes[j], &job.home_region));
        let scaled = if hi > lo { (u - lo) / (hi - lo) } else { 1.0 };
        per_job.push(Some(scaled));
        sat += scaled;
        placed += 1;
        used += u64::from(job.demand.units());
        paid += nodes[j].price_fen_per_min() as f64 * f64::from(job.demand.units());
    }
    let capacity: u64 = nodes.iter().map(|o| u64::from(o.units())).sum();
    let n = jobs.len().max(1) as f64;
    Evaluation {
        satisfaction: sat / n,
        placed_share: placed as f64 / n,
        utilisation: used as f64 / capacity.max(1) as f64,
        mean_price_fen_per_unit_min: if used > 0 { paid / used as f64 } else { 0.0 },
        per_job,
    }
}
