//! `suanli web …` and `suanli bench web`: the web consoles' screenshot command and page
//! benchmark (both on a fresh demo instance; see `suanli_platform_web::harness`).

use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Subcommand)]
pub enum WebCmd {
    /// Regenerates the screenshots of the main pages with headless Chromium (needs
    /// chromium + chromedriver: scripts/ensure-chromium.sh).
    Screenshots(ShotsArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ShotsArgs {
    /// Output directory.
    #[arg(long, default_value = "docs/screenshots")]
    pub out: PathBuf,
}

pub fn run(cmd: WebCmd) -> anyhow::Result<()> {
    match cmd {
        WebCmd::Screenshots(a) => {
            let files = suanli_platform_web::shots::run(&a.out)?;
            for f in &files {
                println!("{}", a.out.join(f).display());
            }
            println!("{} screenshots written", files.len());
            Ok(())
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct WebBenchArgs {
    /// Orders seeded before timing.
    #[arg(long, default_value_t = 10_000)]
    pub orders: usize,
    /// Timed requests per page.
    #[arg(long, default_value_t = suanli_platform_web::bench::SAMPLES_DEFAULT)]
    pub samples: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `suanli bench web`: seeds a demo instance (SQLite, temporary directory) with `orders`
/// orders, then prints p50/p95 per page beside the `/api/v1/health` baseline.
pub fn bench(a: WebBenchArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let h = suanli_platform_web::harness::Harness::start(
        suanli_platform_web::harness::config(dir.path()),
        Arc::new(suanli_platform_http::SystemClock),
    )?;
    let started = std::time::Instant::now();
    let demo = suanli_platform_web::bench::seed(
        &h.base,
        suanli_platform_web::bench::DEMO_CUSTOMERS,
        a.orders,
    )?;
    let seeded_s = started.elapsed().as_secs_f64();
    let report = suanli_platform_web::bench::run(&h.base, &demo, a.samples.max(1))?;
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
        suanli_platform_web::bench::PAGE_P95_BUDGET_MS,
        if report.within_budget {
            "within"
        } else {
            "EXCEEDED"
        }
    );
    Ok(())
}
