//! `suanli bench market` and `suanli bench ot`.
//!
//! - market: a stream of offers and demands (typed constraints, price limits) through the
//!   continuous engine on one thread, with the published incentive policy and, as the
//!   same-run baseline, with plain price-time priority. Orders are built (and their
//!   constraints parsed) outside the timed region, in chunks. Throughput is measured
//!   without per-order timers; p50/p99 latency in a second pass with one timer per order.
//!   The two configurations alternate for two rounds and each reports its best round.
//! - ot: Sinkhorn on two 2-D Gaussian point clouds with squared-Euclidean cost scaled to
//!   `[0, 1]`, uniform marginals, ε = 0.01, relative marginal tolerance 1e-6: the
//!   stabilised solver on one core and on all cores, and the textbook Sinkhorn (plain
//!   kernel, `f64::exp`, no ε-scaling) on one core as the baseline.

use std::time::Instant;

use anyhow::{Context, ensure};
use clap::Args;
use serde::Serialize;
use suanli_market::attrs::{ConsumerId, DemandId, Offer, OfferId, OfferSpec, SupplierId};
use suanli_market::constraint::Constraint;
use suanli_market::incentive::IncentivePolicy;
use suanli_market::matching::{Demand, DemandSpec, Engine, Fill};
use suanli_market::ot::{self, OtProblem, SinkhornParams};
use suanli_market::rng::SplitMix64;

/// CPU time of this process so far (user + system), from `/proc/self/stat`, in seconds;
/// `None` where that file does not exist. Clock ticks are taken as 100 per second (Linux's
/// USER_HZ), so readings have 10 ms resolution. The machines are shared: wall-clock
/// figures include time the scheduler gave to other processes, CPU-time figures do not.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Most orders one market benchmark may stream.
const BENCH_ORDERS_MAX: usize = 20_000_000;
/// Rounds of each market configuration; the best round is reported.
const MARKET_ROUNDS: usize = 2;
/// Orders built ahead of each timed chunk.
const CHUNK_ORDERS: usize = 100_000;
/// Largest OT side the benchmark accepts.
const BENCH_OT_SIDE_MAX: usize = 10_000;

#[derive(Debug, Args)]
pub struct MarketBenchArgs {
    /// Orders (offers + demands) to stream.
    #[arg(long, default_value_t = 1_000_000)]
    pub orders: usize,
    /// Offers resting in the book before the stream starts.
    #[arg(long, default_value_t = 2_000)]
    pub book: usize,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Percentage of the stream that are offers (each 1–8 units, mean 4.5); demands are
    /// one unit each. 20 % gives supply ≈ 1.1 × demand.
    #[arg(long, default_value_t = 20)]
    pub offer_pct: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct OtBenchArgs {
    /// Problem sizes n (= m), comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = vec![1000usize, 5000])]
    pub sizes: Vec<usize>,
    /// Target ε (costs are scaled to [0, 1]).
    #[arg(long, default_value_t = 0.01)]
    pub epsilon: f64,
    /// Relative L1 marginal tolerance.
    #[arg(long, default_value_t = 1e-6)]
    pub tolerance: f64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Skip the textbook baseline (it needs another n × m kernel).
    #[arg(long)]
    pub no_baseline: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

const MODELS: [(&str, u32); 5] = [
    ("H100", 80),
    ("A100", 80),
    ("A100-40G", 40),
    ("L40S", 48),
    ("4090", 24),
];
const REGIONS: [&str; 4] = ["cn-east", "cn-west", "cn-north", "cn-south"];
const CONSTRAINTS: [&str; 5] = [
    r#"gpu_model in ["A100", "H100"] and mem_gb >= 80"#,
    "mem_gb >= 24",
    r#"region == "cn-east" and mem_gb >= 40"#,
    "mem_gb >= 40 and green_share >= 0.3",
    r#"gpu_model == "4090" or tflops >= 300"#,
];

enum Order {
    Offer(Offer),
    Demand(Demand),
}

struct Workload {
    rng: SplitMix64,
    offer_pct: u64,
    constraints: Vec<Constraint>,
    next_id: u64,
}

impl Workload {
    fn new(seed: u64, offer_pct: u64) -> anyhow::Result<Self> {
        let constraints = CONSTRAINTS
            .iter()
            .map(|c| Constraint::parse(c))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Workload {
            rng: SplitMix64::new(seed),
            offer_pct,
            constraints,
            next_id: 0,
        })
    }

    fn offer(&mut self) -> anyhow::Result<Offer> {
        let r = &mut self.rng;
        let (model, mem_gb) = MODELS[r.below(MODELS.len() as u64) as usize];
        let green = r.next_f64();
        self.next_id += 1;
        let spec = OfferSpec {
            supplier: SupplierId(r.below(500)),
            gpu_model: model.to_string(),
            gpu_count: 1,
            mem_gb,
            cpu_cores: 16,
            ram_gb: 128,
            tflops: [165.0, 312.0, 362.0, 989.0][r.below(4) as usize],
            storage_gb: 1000,
            region: REGIONS[r.below(4) as usize].to_string(),
            available_from_min: 0,
            available_until_min: 1_000_000,
            units: 1 + r.below(8) as u32,
            price_fen_per_min: 20 + r.below(60) as i64,
            min_charge_fen: 0,
            green_share: green,
            carbon_g_per_kwh: 800.0 * (1.0 - green),
            pue: r.uniform(1.1, 1.6),
            utilisation: r.uniform(0.2, 0.9),
            public_good_discount_pct: r.below(20) as u32,
            reputation: r.uniform(3.0, 5.0),
        };
        Ok(Offer::new(OfferId(self.next_id), spec)?)
    }

    fn demand(&mut self) -> anyhow::Result<Demand> {
        let k = self.rng.below(self.constraints.len() as u64) as usize;
        self.next_id += 1;
        let spec = DemandSpec {
            consumer: ConsumerId(self.rng.below(10_000)),
            constraint: String::new(),
            max_price_fen_per_min: 40 + self.rng.below(60) as i64,
            duration_min: 60,
            units: 1,
            public_good: false,
            preference_weights: None,
        };
        Ok(Demand::with_constraint(
            DemandId(self.next_id),
            spec,
            self.constraints[k].clone(),
        )?)
    }

    /// A chunk of the stream: `offer_pct` % offers, the rest demands.
    fn chunk(&mut self, len: usize) -> anyhow::Result<Vec<Order>> {
        (0..len)
            .map(|_| {
                Ok(if self.rng.below(100) < self.offer_pct {
                    Order::Offer(self.offer()?)
                } else {
                    Order::Demand(self.demand()?)
                })
            })
            .collect()
    }
}

#[derive(Debug, Serialize)]
struct MarketRun {
    /// Wall clock.
    orders_per_s: f64,
    /// Per second of this process's CPU time (10 ms resolution), robust to other load.
    orders_per_cpu_s: Option<f64>,
    p50_us: f64,
    p99_us: f64,
    max_us: f64,
    fills: u64,
    resting_offers: usize,
    resting_demands: usize,
}

#[derive(Debug, Serialize)]
struct MarketReport {
    /// With the published incentive policy (the figure the goal refers to), wall clock.
    orders_per_s: f64,
    /// The same per second of CPU time.
    orders_per_cpu_s: Option<f64>,
    p99_us: f64,
    with_incentives: MarketRun,
    /// Baseline: plain price-time priority in the same run.
    without_incentives: MarketRun,
    /// with / without, throughput.
    ratio: f64,
    orders: usize,
    initial_book: usize,
    offer_pct: u64,
    /// Best of this many alternating rounds per configuration.
    rounds: usize,
    threads: usize,
}

fn run_market(args: &MarketBenchArgs, policy: IncentivePolicy) -> anyhow::Result<MarketRun> {
    let mut engine = Engine::new(policy);
    let mut w = Workload::new(args.seed, args.offer_pct)?;
    let mut fills: Vec<Fill> = Vec::with_capacity(64);
    for _ in 0..args.book {
        engine.submit_offer(w.offer()?, &mut fills)?;
    }
    let mut fill_count = 0u64;
    // Pass 1: throughput, no per-order timers.
    let mut seconds = 0.0;
    let mut done = 0;
    let cpu_start = process_cpu_seconds();
    let mut cpu_building = 0.0;
    while done < args.orders {
        let b0 = process_cpu_seconds();
        let chunk = w.chunk(CHUNK_ORDERS.min(args.orders - done))?;
        if let (Some(b0), Some(b1)) = (b0, process_cpu_seconds()) {
            cpu_building += b1 - b0;
        }
        done += chunk.len();
        let t = Instant::now();
        for o in chunk {
            match o {
                Order::Offer(o) => {
                    fills.clear();
                    engine.submit_offer(o, &mut fills)?;
                    fill_count += fills.len() as u64;
                }
                Order::Demand(d) => {
                    if engine.submit_demand(d)?.is_some() {
                        fill_count += 1;
                    }
                }
            }
        }
        seconds += t.elapsed().as_secs_f64();
    }
    let cpu_matching = match (cpu_start, process_cpu_seconds()) {
        (Some(a), Some(b)) if b - a - cpu_building > 0.0 => Some(b - a - cpu_building),
        _ => None,
    };
    let (resting_offers, resting_demands) = (engine.resting_offers(), engine.resting_demands());
    // Pass 2: latency of each order, on a fresh engine with the same stream.
    let mut engine = Engine::new(engine.policy().clone());
    let mut w = Workload::new(args.seed, args.offer_pct)?;
    for _ in 0..args.book {
        engine.submit_offer(w.offer()?, &mut fills)?;
    }
    let mut lat_ns: Vec<u64> = Vec::with_capacity(args.orders);
    let mut done = 0;
    while done < args.orders {
        let chunk = w.chunk(CHUNK_ORDERS.min(args.orders - done))?;
        done += chunk.len();
        for o in chunk {
            let t = Instant::now();
            match o {
                Order::Offer(o) => {
                    fills.clear();
                    engine.submit_offer(o, &mut fills)?;
                }
                Order::Demand(d) => {
                    engine.submit_demand(d)?;
                }
            }
            lat_ns.push(t.elapsed().as_nanos() as u64);
        }
    }
    lat_ns.sort_unstable();
    let pct = |p: f64| {
        let i = ((lat_ns.len() as f64 - 1.0) * p).round() as usize;
        lat_ns.get(i).copied().unwrap_or(0) as f64 / 1000.0
    };
    Ok(MarketRun {
        orders_per_s: args.orders as f64 / seconds.max(1e-12),
        orders_per_cpu_s: cpu_matching.map(|c| args.orders as f64 / c),
        p50_us: pct(0.50),
        p99_us: pct(0.99),
        max_us: pct(1.0),
        fills: fill_count,
        resting_offers,
        resting_demands,
    })
}

pub fn market(args: MarketBenchArgs) -> anyhow::Result<()> {
    ensure!(
        (1..=BENCH_ORDERS_MAX).contains(&args.orders),
        "--orders must be 1..={BENCH_ORDERS_MAX}"
    );
    ensure!(args.book <= 1_000_000, "--book must be at most 1000000");
    ensure!(
        (1..=99).contains(&args.offer_pct),
        "--offer-pct must be 1..=99"
    );
    // Alternate the two configurations and keep each one's best round: the first run of a
    // process also pays for faulting in fresh heap pages, and the machine is shared.
    let mut with = run_market(&args, IncentivePolicy::default())?;
    let mut without = run_market(&args, IncentivePolicy::none())?;
    for _ in 1..MARKET_ROUNDS {
        let w = run_market(&args, IncentivePolicy::default())?;
        if w.orders_per_s > with.orders_per_s {
            with = w;
        }
        let o = run_market(&args, IncentivePolicy::none())?;
        if o.orders_per_s > without.orders_per_s {
            without = o;
        }
    }
    let report = MarketReport {
        orders_per_s: with.orders_per_s,
        orders_per_cpu_s: with.orders_per_cpu_s,
        p99_us: with.p99_us,
        ratio: with.orders_per_s / without.orders_per_s,
        with_incentives: with,
        without_incentives: without,
        orders: args.orders,
        initial_book: args.book,
        offer_pct: args.offer_pct,
        rounds: MARKET_ROUNDS,
        threads: 1,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for (name, r) in [
            ("with incentives", &report.with_incentives),
            ("plain price-time", &report.without_incentives),
        ] {
            println!(
                "{name:<17} {:>12.0} orders/s ({:.0} per CPU-second)  p50 {:.2} µs  p99 {:.2} µs  max {:.1} µs  ({} fills)",
                r.orders_per_s,
                r.orders_per_cpu_s.unwrap_or(f64::NAN),
                r.p50_us,
                r.p99_us,
                r.max_us,
                r.fills
            );
        }
        println!("ratio with/without: {:.3}", report.ratio);
    }
    Ok(())
}

#[derive(Debug, Serialize)]
struct OtRun {
    n: usize,
    /// Stabilised solver, one thread, wall clock.
    ms_single: f64,
    /// The same in process CPU time (10 ms resolution).
    cpu_ms_single: Option<f64>,
    /// Stabilised solver, all threads of the pool.
    ms_parallel: f64,
    threads: usize,
    iterations: u32,
    stages: u32,
    marginal_error: f64,
    converged: bool,
    objective: f64,
    /// Textbook Sinkhorn on one thread (None when skipped).
    naive_ms: Option<f64>,
    naive_cpu_ms: Option<f64>,
    naive_iterations: Option<u32>,
    naive_marginal_error: Option<f64>,
    /// naive_ms / ms_single.
    speedup_vs_naive: Option<f64>,
}

#[derive(Debug, Serialize)]
struct OtReport {
    ms_1000: Option<f64>,
    ms_5000: Option<f64>,
    epsilon: f64,
    tolerance: f64,
    runs: Vec<OtRun>,
}

fn gaussian_problem(n: usize, seed: u64) -> anyhow::Result<OtProblem> {
    let mut r = SplitMix64::new(seed);
    let xs: Vec<(f64, f64)> = (0..n).map(|_| (r.normal(), r.normal())).collect();
    let ys: Vec<(f64, f64)> = (0..n)
        .map(|_| (2.0 + 0.5 * r.normal(), 1.0 + r.normal()))
        .collect();
    let mut cost = Vec::with_capacity(n * n);
    for x in &xs {
        for y in &ys {
            cost.push((x.0 - y.0).powi(2) + (x.1 - y.1).powi(2));
        }
    }
    let mx = cost.iter().copied().fold(0.0, f64::max).max(1e-300);
    cost.iter_mut().for_each(|c| *c /= mx);
    let w = vec![1.0 / n as f64; n];
    Ok(OtProblem::new(n, n, cost, w.clone(), w)?)
}

pub fn ot(args: OtBenchArgs) -> anyhow::Result<()> {
    ensure!(
        !args.sizes.is_empty(),
        "--sizes must name at least one size"
    );
    for &n in &args.sizes {
        ensure!(
            (1..=BENCH_OT_SIDE_MAX).contains(&n),
            "sizes must be 1..={BENCH_OT_SIDE_MAX}"
        );
    }
    let single = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .context("thread pool")?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let multi = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("thread pool")?;
    let mut runs = Vec::new();
    for &n in &args.sizes {
        let p = gaussian_problem(n, args.seed)?;
        let params = SinkhornParams {
            epsilon: args.epsilon,
            tolerance: args.tolerance,
            iterations_max: 100_000,
            eps_scaling_factor: 10.0,
            parallel: false,
        };
        let c0 = process_cpu_seconds();
        let t = Instant::now();
        let s = single.install(|| ot::sinkhorn(&p, &params))?;
        let ms_single = t.elapsed().as_secs_f64() * 1e3;
        let cpu_ms_single = match (c0, process_cpu_seconds()) {
            (Some(a), Some(b)) => Some((b - a) * 1e3),
            _ => None,
        };
        drop(s.plan);
        let par = SinkhornParams {
            parallel: true,
            ..params.clone()
        };
        let t = Instant::now();
        let sp = multi.install(|| ot::sinkhorn(&p, &par))?;
        let ms_parallel = t.elapsed().as_secs_f64() * 1e3;
        drop(sp);
        let mut naive_cpu_ms = None;
        let (naive_ms, naive_iterations, naive_marginal_error) = if args.no_baseline {
            (None, None, None)
        } else {
            let c0 = process_cpu_seconds();
            let t = Instant::now();
            let nv = single.install(|| ot::sinkhorn_naive(&p, &params))?;
            let ms = t.elapsed().as_secs_f64() * 1e3;
            naive_cpu_ms = match (c0, process_cpu_seconds()) {
                (Some(a), Some(b)) => Some((b - a) * 1e3),
                _ => None,
            };
            (Some(ms), Some(nv.iterations), Some(nv.marginal_error))
        };
        runs.push(OtRun {
            n,
            ms_single,
            cpu_ms_single,
            ms_parallel,
            threads,
            iterations: s.iterations,
            stages: s.stages,
            marginal_error: s.marginal_error,
            converged: s.converged,
            objective: s.objective,
            naive_ms,
            naive_cpu_ms,
            naive_iterations,
            naive_marginal_error,
            speedup_vs_naive: naive_ms.map(|m| m / ms_single),
        });
    }
    let pick = |n: usize| runs.iter().find(|r| r.n == n).map(|r| r.ms_single);
    let report = OtReport {
        ms_1000: pick(1000),
        ms_5000: pick(5000),
        epsilon: args.epsilon,
        tolerance: args.tolerance,
        runs,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for r in &report.runs {
            println!(
                "n = {:>5}: {:>9.1} ms (1 thread), {:>9.1} ms ({} threads), {} iterations in {} stages, marginal error {:.2e}, converged {}",
                r.n,
                r.ms_single,
                r.ms_parallel,
                r.threads,
                r.iterations,
                r.stages,
                r.marginal_error,
                r.converged
            );
            if let (Some(ms), Some(it)) = (r.naive_ms, r.naive_iterations) {
                println!(
                    "          textbook Sinkhorn: {ms:>9.1} ms, {it} iterations (stabilised is {:.2}× faster)",
                    ms / r.ms_single
                );
            }
        }
    }
    Ok(())
}
