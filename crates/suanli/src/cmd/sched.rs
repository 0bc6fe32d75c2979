//! `suanli sched …`: the data-driven scheduler at the edge.
//!
//! - `simulate` runs the market simulator (hidden true preferences, learned preferences,
//!   OT scheduler vs the two baselines) and prints the comparison.
//! - `solve` exposes the Sinkhorn solver on the JSON format of `docs/ot-format.md`; the
//!   input is checked here, at the edge, with messages that name the offending entry.

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use suanli_market::ot::{self, OtProblem, SinkhornParams};
use suanli_market::sim::{self, SimParams};

/// Largest accepted problem file, in bytes.
const INPUT_MAX_BYTES: u64 = 1 << 30;
/// Most seeds one `simulate --seeds` run goes through.
const SEEDS_MAX: u32 = 100;

#[derive(Debug, Subcommand)]
pub enum SchedCmd {
    /// Compare the OT scheduler with the fixed score-and-rank and most-free-memory
    /// baselines in a simulated market with hidden consumer preferences.
    Simulate(SimulateArgs),
    /// Solve an entropic optimal-transport problem (format: docs/ot-format.md).
    Solve(SolveArgs),
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Seed of the simulated market (same seed, same report).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long, default_value_t = 60)]
    pub consumers: u32,
    #[arg(long, default_value_t = 40)]
    pub nodes: u32,
    #[arg(long, default_value_t = 4)]
    pub jobs_per_consumer: u32,
    /// Past choices observed per consumer (what preferences are learned from).
    #[arg(long, default_value_t = 40)]
    pub history: u32,
    /// Offers shown in each past choice.
    #[arg(long, default_value_t = 5)]
    pub choice_set: u32,
    /// Total capacity / total demand.
    #[arg(long, default_value_t = 1.3)]
    pub capacity_ratio: f64,
    /// Target ε of the OT scheduler (costs are scaled to [0, 1]).
    #[arg(long, default_value_t = 0.01)]
    pub epsilon: f64,
    /// Run this many seeds (`seed`, `seed + 1`, …) and compare OT on learned preferences
    /// with score-and-rank on each and on average (1..=100).
    #[arg(long, default_value_t = 1)]
    pub seeds: u32,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SolveArgs {
    /// Problem file (JSON, see docs/ot-format.md).
    #[arg(long)]
    pub input: PathBuf,
    /// Where to write the plan (JSON); `-` for standard output.
    #[arg(long)]
    pub output: PathBuf,
}

pub fn run(cmd: SchedCmd) -> anyhow::Result<()> {
    match cmd {
        SchedCmd::Simulate(a) => simulate(a),
        SchedCmd::Solve(a) => solve(a),
    }
}

fn simulate(a: SimulateArgs) -> anyhow::Result<()> {
    let params = SimParams {
        seed: a.seed,
        consumers: a.consumers,
        nodes: a.nodes,
        jobs_per_consumer: a.jobs_per_consumer,
        history_per_consumer: a.history,
        choice_set: a.choice_set,
        capacity_ratio: a.capacity_ratio,
        epsilon: a.epsilon,
    };
    if a.seeds != 1 {
        return seeds(&params, a.seeds, a.json);
    }
    let report = sim::run(&params)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "{} jobs ({} GPU units) on {} nodes ({} units); seed {}",
        report.jobs, report.demand_units, params.nodes, report.capacity_units, params.seed
    );
    println!(
        "learned preferences: mean cosine to the hidden truth {:.3}; OT: {} iterations, marginal error {:.1e}",
        report.prefs_cosine_mean, report.ot_iterations, report.ot_marginal_error
    );
    println!(
        "{:<18} {:>12} {:>8} {:>11} {:>16}",
        "scheduler", "satisfaction", "placed", "utilisation", "fen/GPU-minute"
    );
    for r in &report.results {
        println!(
            "{:<18} {:>12.3} {:>8.3} {:>11.3} {:>16.2}",
            r.name, r.satisfaction, r.placed_share, r.utilisation, r.mean_price_fen_per_gpu_min
        );
    }
    Ok(())
}

/// One seed's comparison of OT on learned preferences with score-and-rank.
#[derive(Debug, Serialize)]
struct SeedRow {
    seed: u64,
    ot_learned: sim::SchedulerResult,
    score_rank: sim::SchedulerResult,
}

fn mean(rows: &[SeedRow], f: impl Fn(&SeedRow) -> f64) -> f64 {
    rows.iter().map(f).sum::<f64>() / rows.len().max(1) as f64
}

/// `simulate --seeds N`: seeds `p.seed ..< p.seed + n`, one row each and the means.
fn seeds(p: &SimParams, n: u32, json: bool) -> anyhow::Result<()> {
    if !(1..=SEEDS_MAX).contains(&n) {
        bail!("--seeds must be 1 to {SEEDS_MAX}");
    }
    let mut rows = Vec::new();
    for k in 0..u64::from(n) {
        let params = SimParams {
            seed: p.seed.wrapping_add(k),
            ..p.clone()
        };
        let r = sim::run(&params)?;
        let pick = |name: &str| {
            r.result(name)
                .cloned()
                .with_context(|| format!("the report has no {name}"))
        };
        rows.push(SeedRow {
            seed: params.seed,
            ot_learned: pick("ot_learned")?,
            score_rank: pick("score_rank")?,
        });
    }
    let means = [
        mean(&rows, |r| r.ot_learned.satisfaction),
        mean(&rows, |r| r.score_rank.satisfaction),
        mean(&rows, |r| r.ot_learned.mean_price_fen_per_gpu_min),
        mean(&rows, |r| r.score_rank.mean_price_fen_per_gpu_min),
        mean(&rows, |r| r.ot_learned.utilisation),
        mean(&rows, |r| r.score_rank.utilisation),
    ];
    let wins = rows
        .iter()
        .filter(|r| r.ot_learned.satisfaction > r.score_rank.satisfaction)
        .count();
    if json {
        let out = serde_json::json!({"seeds": rows, "mean": {
            "ot_learned": {"satisfaction": means[0], "mean_price_fen_per_gpu_min": means[2], "utilisation": means[4]},
            "score_rank": {"satisfaction": means[1], "mean_price_fen_per_gpu_min": means[3], "utilisation": means[5]}},
            "ot_more_satisfying_seeds": wins});
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "{:>6} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8}",
        "seed", "sat OT", "sat S&R", "fen OT", "fen S&R", "util OT", "util S&R"
    );
    let line = |label: &str, v: [f64; 6]| {
        println!(
            "{label:>6} {:>9.3} {:>9.3} {:>9.2} {:>9.2} {:>8.3} {:>8.3}",
            v[0], v[1], v[2], v[3], v[4], v[5]
        );
    };
    for r in &rows {
        let (o, b) = (&r.ot_learned, &r.score_rank);
        line(
            &r.seed.to_string(),
            [
                o.satisfaction,
                b.satisfaction,
                o.mean_price_fen_per_gpu_min,
                b.mean_price_fen_per_gpu_min,
                o.utilisation,
                b.utilisation,
            ],
        );
    }
    line("mean", means);
    println!("OT on learned preferences more satisfying on {wins} of {n} seeds");
    Ok(())
}

/// The problem file. `null` in the cost matrix marks a forbidden pair.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProblemDto {
    cost: Vec<Vec<Option<f64>>>,
    a: Vec<f64>,
    b: Vec<f64>,
    epsilon: f64,
    #[serde(default = "default_tolerance")]
    tolerance: f64,
    #[serde(default = "default_iterations_max")]
    iterations_max: u32,
    #[serde(default = "default_eps_scaling_factor")]
    eps_scaling_factor: f64,
    #[serde(default)]
    assign: Option<AssignDto>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignDto {
    sizes: Vec<u32>,
    capacities: Vec<u32>,
}

fn default_tolerance() -> f64 {
    SinkhornParams::default().tolerance
}
fn default_iterations_max() -> u32 {
    SinkhornParams::default().iterations_max
}
fn default_eps_scaling_factor() -> f64 {
    SinkhornParams::default().eps_scaling_factor
}

#[derive(Debug, Serialize)]
struct PlanDto {
    n: usize,
    m: usize,
    plan: Vec<Vec<f64>>,
    iterations: u32,
    marginal_error: f64,
    objective: f64,
    converged: bool,
    epsilon: f64,
    stages: u32,
    absorptions: u32,
    log_domain_iterations: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    assignment: Option<Vec<Option<usize>>>,
}

/// Parse and check a problem; every message names the offending entry.
fn parse_problem(text: &str) -> anyhow::Result<(OtProblem, SinkhornParams, Option<AssignDto>)> {
    let dto: ProblemDto = serde_json::from_str(text).context("problem file is not valid")?;
    let n = dto.cost.len();
    if n == 0 {
        bail!("cost matrix has no rows");
    }
    let m = dto.cost[0].len();
    if m == 0 {
        bail!("cost matrix row 0 is empty");
    }
    if n > ot::SIDE_MAX || m > ot::SIDE_MAX || n * m > ot::ENTRIES_MAX {
        bail!(
            "cost matrix is {n} × {m}; at most {} per side and {} entries",
            ot::SIDE_MAX,
            ot::ENTRIES_MAX
        );
    }
    let mut cost = Vec::with_capacity(n * m);
    for (i, row) in dto.cost.iter().enumerate() {
        if row.len() != m {
            bail!(
                "cost matrix is not rectangular: row {i} has {} entries, row 0 has {m}",
                row.len()
            );
        }
        cost.extend(row.iter().map(|c| c.unwrap_or(f64::INFINITY)));
    }
    if dto.a.len() != n {
        bail!(
            "a has {} entries but the cost matrix has {n} rows",
            dto.a.len()
        );
    }
    if dto.b.len() != m {
        bail!(
            "b has {} entries but the cost matrix has {m} columns",
            dto.b.len()
        );
    }
    if let Some(asg) = &dto.assign {
        if asg.sizes.len() != n {
            bail!("assign.sizes has {} entries, expected {n}", asg.sizes.len());
        }
        if asg.capacities.len() != m {
            bail!(
                "assign.capacities has {} entries, expected {m}",
                asg.capacities.len()
            );
        }
    }
    let params = SinkhornParams {
        epsilon: dto.epsilon,
        tolerance: dto.tolerance,
        iterations_max: dto.iterations_max,
        eps_scaling_factor: dto.eps_scaling_factor,
        parallel: true,
    };
    params.check()?;
    let problem = OtProblem::new(n, m, cost, dto.a, dto.b)?;
    Ok((problem, params, dto.assign))
}

fn solve(a: SolveArgs) -> anyhow::Result<()> {
    let file = std::fs::File::open(&a.input)
        .with_context(|| format!("cannot open {}", a.input.display()))?;
    let mut text = String::new();
    file.take(INPUT_MAX_BYTES + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read {}", a.input.display()))?;
    if text.len() as u64 > INPUT_MAX_BYTES {
        bail!(
            "{} is larger than {INPUT_MAX_BYTES} bytes",
            a.input.display()
        );
    }
    let (problem, params, assign) =
        parse_problem(&text).with_context(|| format!("in {}", a.input.display()))?;
    let sol = ot::sinkhorn(&problem, &params)?;
    let assignment = assign.map(|asg| {
        ot::round_assignment(
            &sol.plan,
            problem.cost(),
            sol.n,
            sol.m,
            &asg.sizes,
            &asg.capacities,
        )
    });
    if !sol.converged {
        eprintln!(
            "warning: not converged after {} iterations (marginal error {:.3e} > tolerance {:.3e})",
            sol.iterations, sol.marginal_error, params.tolerance
        );
    }
    let out = PlanDto {
        n: sol.n,
        m: sol.m,
        plan: sol.plan.chunks(sol.m).map(<[f64]>::to_vec).collect(),
        iterations: sol.iterations,
        marginal_error: sol.marginal_error,
        objective: sol.objective,
        converged: sol.converged,
        epsilon: params.epsilon,
        stages: sol.stages,
        absorptions: sol.absorptions,
        log_domain_iterations: sol.log_domain_iterations,
        assignment,
    };
    if a.output.as_os_str() == "-" {
        let stdout = std::io::stdout();
        let mut w = std::io::BufWriter::new(stdout.lock());
        serde_json::to_writer(&mut w, &out)?;
        writeln!(w)?;
        w.flush()?;
    } else {
        let f = std::fs::File::create(&a.output)
            .with_context(|| format!("cannot create {}", a.output.display()))?;
        let mut w = std::io::BufWriter::new(f);
        serde_json::to_writer(&mut w, &out)?;
        writeln!(w)?;
        w.flush()
            .with_context(|| format!("cannot write {}", a.output.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        format!("{:#}", parse_problem(text).unwrap_err())
    }

    #[test]
    fn good_problem_parses() {
        let (p, params, asg) = parse_problem(
            r#"{"cost": [[0, 1, null], [1, 0, 2]], "a": [1, 2], "b": [1, 1, 1], "epsilon": 0.01,
                "assign": {"sizes": [1, 2], "capacities": [1, 1, 1]}}"#,
        )
        .unwrap();
        assert_eq!((p.n(), p.m()), (2, 3));
        assert!(p.cost()[2].is_infinite());
        assert_eq!(params.tolerance, SinkhornParams::default().tolerance);
        assert!(asg.is_some());
    }

    #[test]
    fn solve_writes_a_plan_that_meets_its_marginals() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("problem.json");
        let output = dir.path().join("plan.json");
        std::fs::write(
            &input,
            r#"{"cost": [[0.0, 0.7, null], [0.4, 0.1, 0.9]], "a": [1.0, 2.0],
                "b": [1.0, 1.0, 1.0], "epsilon": 0.01,
                "assign": {"sizes": [1, 2], "capacities": [1, 1, 2]}}"#,
        )
        .unwrap();
        solve(SolveArgs {
            input,
            output: output.clone(),
        })
        .unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&output).unwrap()).unwrap();
        assert_eq!(v["converged"], true);
        assert!(v["marginal_error"].as_f64().unwrap() <= 1e-6);
        let plan: Vec<Vec<f64>> = serde_json::from_value(v["plan"].clone()).unwrap();
        assert_eq!(plan[0][2], 0.0, "forbidden pair carries no mass");
        let row1: f64 = plan[1].iter().sum();
        assert!((row1 - 2.0).abs() < 1e-5);
        assert_eq!(v["assignment"], serde_json::json!([0, 2]));
    }

    #[test]
    fn bad_problems_have_clear_messages() {
        assert!(
            err(r#"{"cost": [[0, 1], [1]], "a": [1, 1], "b": [1, 1], "epsilon": 0.1}"#)
                .contains("row 1 has 1 entries")
        );
        assert!(
            err(r#"{"cost": [[0, 1]], "a": [-1], "b": [1, 1], "epsilon": 0.1}"#)
                .contains("a[0] is -1")
        );
        assert!(
            err(r#"{"cost": [[0, 1]], "a": [1], "b": [1, 1], "epsilon": 0.1}"#)
                .contains("do not balance")
        );
        assert!(
            err(r#"{"cost": [[0, 1]], "a": [2], "b": [1, 1], "epsilon": 0}"#).contains("epsilon")
        );
        assert!(
            err(r#"{"cost": [[0, NaN]], "a": [2], "b": [1, 1], "epsilon": 0.1}"#)
                .contains("not valid")
        );
        assert!(
            err(r#"{"cost": [[0, 1]], "a": [2], "b": [1, 1], "epsilon": 0.1, "eps": 1}"#)
                .contains("unknown field")
        );
        assert!(err(r#"{"cost": [], "a": [], "b": [], "epsilon": 0.1}"#).contains("no rows"));
        assert!(
            err(r#"{"cost": [[0, 1]], "a": [1, 1], "b": [1, 1], "epsilon": 0.1}"#)
                .contains("a has 2 entries")
        );
        assert!(
            err(r#"{"cost": [[null, null]], "a": [2], "b": [1, 1], "epsilon": 0.1}"#)
                .contains("every cost is infinite")
        );
    }
}
