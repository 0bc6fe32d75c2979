//! `suanli bench web`: page timings (p50/p95 per page) on a demo dataset, beside the
//! `GET /api/v1/health` baseline (see `suanli_webtest::bench`).

use clap::Args;
use std::sync::Arc;

#[derive(Debug, Clone, Args)]
pub struct WebBenchArgs {
    /// Orders seeded before timing.
    #[arg(long, default_value_t = 10_000)]
    pub orders: usize,
    /// Timed requests per page.
    #[arg(long, default_value_t = suanli_webtest::bench::SAMPLES_DEFAULT)]
    pub samples: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `suanli bench web`: seeds a demo instance (SQLite, temporary directory) with `orders`
/// orders, then prints p50/p95 per page beside the `/api/v1/health` baseline.
pub fn run(a: WebBenchArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let h = suanli_webtest::harness::Harness::start(
        suanli_webtest::harness::config(dir.path()),
        Arc::new(suanli_platform_http::SystemClock),
    )?;
    let started = std::time::Instant::now();
    let demo =
        suanli_webtest::bench::seed(&h.base, suanli_webtest::bench::DEMO_CUSTOMERS, a.orders)?;
    let seeded_s = started.elapsed().as_secs_f64();
    let report = suanli_webtest::bench::run(&h.base, &demo, a.samples.max(1))?;
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_default();
    if a.json {
        let mut v = serde_json::to_value(&report)?;
        v["seed_secs"] = serde_json::json!(seeded_s);
        v["load_average_1m"] = serde_json::json!(load);
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!(
        "web pages on {} orders (seeded in {seeded_s:.1} s), {} samples each, load average {load}",
        report.orders, report.samples
    );
    println!(
        "baseline GET /api/v1/health: p50 {:.2} ms, p95 {:.2} ms",
        report.baseline_p50_ms, report.baseline_p95_ms
    );
    println!(
        "{:<34} {:<10} {:>9} {:>9} {:>8} {:>8}",
        "page", "who", "p50 ms", "p95 ms", "×base", "bytes"
    );
    for p in &report.pages {
        println!(
            "{:<34} {:<10} {:>9.2} {:>9.2} {:>8.1} {:>8}",
            p.page, p.who, p.p50_ms, p.p95_ms, p.ratio_to_baseline, p.bytes
        );
    }
    println!(
        "slowest p95 {:.2} ms; budget {} ms: {}",
        report.worst_p95_ms,
        suanli_webtest::bench::PAGE_P95_BUDGET_MS,
        if report.within_budget {
            "within"
        } else {
            "EXCEEDED"
        }
    );
    Ok(())
}
