//! `suanli bench market-api`: market searches over HTTP against a platform holding
//! 100,000 listed offers (issue 17).
//!
//! Starts `suanli serve`'s platform in-process on a loopback port (SQLite in a temporary
//! directory), seeds the listing — supplier organisations and their published trade
//! modes through the store, then `--offers` resources and as many listed offers (one
//! resource each, attributes spread over six GPU models, eight regions and the ranges of
//! the energy figures) in three set-based SQL statements, because 300,000 single-offer
//! transactions would time the seeding, not the search —, warms the market index with one
//! search, then runs a mix of searches (`GET /api/v1/market/search`: the start-up's
//! A100 search, region and price filters, an advanced constraint, the whole market by
//! score) from `--concurrency` clients. The same-run baseline is the market core's
//! in-memory query on the same data: the same searches parsed and run by
//! `Engine::search` on the index's own engine, on one thread. Reported: searches/s, p50
//! and p99 latency over HTTP, the baseline's rate and p99, and their ratio; with the load
//! average (the machines are shared).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;
use suanli_platform_http::AppState;
use suanli_platform_http::config::{Config, Secret};
use suanli_platform_http::domain::supply::catalog::ModeDraft;
use suanli_platform_http::domain::{OrgKind, OrgStatus};
use suanli_platform_http::service::market::SearchParams;
use suanli_platform_http::store::{NewOrg, SqliteStore};

/// Most listed offers one run may seed.
const BENCH_OFFERS_MAX: usize = 1_000_000;
/// Most searches one run may time.
const BENCH_SEARCHES_MAX: usize = 1_000_000;
/// Most concurrent clients.
const BENCH_CONCURRENCY_MAX: usize = 256;
/// Supplier organisations the offers are spread over.
const BENCH_SUPPLIERS: usize = 50;
/// Password of the benchmark's bootstrap administrator.
const ADMIN_PASSWORD: &str = "Bench-Admin-Password-1";
/// How long the seeded offers stay valid, in milliseconds (30 days).
const VALIDITY_MS: i64 = 30 * 86_400_000;

#[derive(Debug, Args)]
pub struct MarketApiBenchArgs {
    /// Listed offers to seed (one resource each).
    #[arg(long, default_value_t = 100_000)]
    pub offers: usize,
    /// Searches to time over HTTP (and in the baseline).
    #[arg(long, default_value_t = 2_000)]
    pub searches: usize,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    offers: usize,
    searches: usize,
    concurrency: usize,
    searches_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    baseline_per_s: f64,
    baseline_p99_ms: f64,
    ratio: f64,
    seed_ms: f64,
    index_build_ms: f64,
    /// 1-minute load average before the run (`/proc/loadavg`).
    load_avg_1m: Option<f64>,
    cpus: usize,
    goal: &'static str,
}

/// The searches, as query strings (each also a [`SearchParams`] for the baseline).
const QUERIES: &[&str] = &[
    "gpu_model=A100&gpu_count_min=8&gpu_mem_gb_min=80&green_pct_min=50&max_price_fen_per_min=400&duration_min=240",
    "gpu_model=H100&region=cn-west&sort=price",
    "gpu_model=4090&max_price_fen_per_min=150&sort=price",
    "green_pct_min=80&carbon_max=200&sort=score",
    "constraint=gpu_model%20in%20%5B%22A100%22%2C%22H100%22%5D%20and%20mem_gb%20%3E%3D%2080%20and%20region%20%3D%3D%20%22cn-east%22",
    "gpu_count_min=4&pue_max=1.3&sort=reputation",
    "region=cn-north&units=4",
    "sort=score",
];

fn load_avg() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn params(q: &str) -> anyhow::Result<SearchParams> {
    Ok(serde_urlencoded::from_str(q)?)
}

/// Organisations, users and published modes through the store, then resources, offers and
/// their links in three statements.
async fn seed(db: &std::path::Path, offers: usize, now: i64) -> anyhow::Result<()> {
    let store = SqliteStore::open(db).await?;
    use suanli_platform_http::store::{OpsStore as _, SupplyStore as _};
    for k in 0..BENCH_SUPPLIERS {
        let org = store
            .create_org(&NewOrg {
                kind: OrgKind::SupplierResource,
                name: format!("Bench supplier {k}"),
                status: OrgStatus::Active,
                distributor: None,
                created_ms: now,
            })
            .await?;
        let mode = ModeDraft {
            name: "by the minute".into(),
            price_fen_per_min: 100 + 40 * (k as i64 % 8),
            min_charge_fen: 1000,
            checkin_period_min: 60,
            weights: [("gpu".to_owned(), 1000)].into(),
            terms: vec![],
            trade_start_cpt: 1,
            checkin_cpt: 2,
        }
        .check()
        .map_err(|e| anyhow::anyhow!("bench mode: {e:?}"))?;
        let m = store.create_mode(org.id, &mode, now).await?;
        store
            .set_mode_published(m.id, k as u64 + 1, "bench", now)
            .await?;
    }
    let resources = format!(
        "WITH RECURSIVE n(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM n WHERE x + 1 < {offers})
         INSERT INTO supply_resources (org_id, name, location, status, gpu_model, gpu_count,
           gpu_mem_gb, cpu_cores, ram_gb, storage_gb, tflops, region, available_from_min,
           available_until_min, green_share, carbon_g_per_kwh, pue, utilisation, created_ms, updated_ms)
         SELECT o.id, 'node-' || x, 'hall ' || (x % 7), CASE WHEN x % 50 = 0 THEN 'maintenance' ELSE 'online' END,
           CASE x % 6 WHEN 0 THEN 'A100' WHEN 1 THEN 'H100' WHEN 2 THEN 'A100-40G' WHEN 3 THEN 'L40S'
             WHEN 4 THEN '910B' ELSE '4090' END,
           CASE (x / 6) % 4 WHEN 0 THEN 1 WHEN 1 THEN 2 WHEN 2 THEN 4 ELSE 8 END,
           CASE x % 6 WHEN 0 THEN 80 WHEN 1 THEN 80 WHEN 2 THEN 40 WHEN 3 THEN 48 WHEN 4 THEN 64 ELSE 24 END,
           64, 512, 4000, 100.0 + (x % 900),
           CASE (x / 24) % 8 WHEN 0 THEN 'cn-west' WHEN 1 THEN 'cn-east' WHEN 2 THEN 'cn-north'
             WHEN 3 THEN 'cn-south' WHEN 4 THEN 'cn-central' WHEN 5 THEN 'cn-northwest'
             WHEN 6 THEN 'cn-southwest' ELSE 'cn-northeast' END,
           0, 1000000, ((x * 37) % 101) / 100.0, 900.0 * (1.0 - ((x * 37) % 101) / 100.0),
           1.1 + (x % 5) * 0.1, ((x * 13) % 100) / 100.0, {now}, {now}
         FROM n JOIN orgs o ON o.name = 'Bench supplier ' || (x % {BENCH_SUPPLIERS})"
    );
    store.execute_raw(&resources).await?;
    let offers_sql = format!(
        "INSERT INTO supply_offers (id, org_id, lineage_id, version, mode_id, title, units,
           valid_from_ms, valid_until_ms, status, chain_offer_id, chain_tx, published_ms,
           reviewed_by, reviewed_ms, created_ms)
         SELECT r.id, r.org_id, r.id, 1, m.id, 'Bench offer ' || r.id, 1 + r.id % 8, {now},
           {until}, 'listed', r.id, 'bench', {now}, 1, {now}, {now}
         FROM supply_resources r JOIN supply_modes m ON m.org_id = r.org_id",
        until = now + VALIDITY_MS
    );
    store.execute_raw(&offers_sql).await?;
    store
        .execute_raw(
            "INSERT INTO supply_offer_resources (offer_id, resource_id) SELECT id, id FROM supply_resources",
        )
        .await?;
    drop(store);
    Ok(())
}

/// The platform served on a loopback port by its own runtime, seeded and with its market
/// index built before it serves; stopped on drop.
struct Served {
    base: String,
    snapshot: Arc<suanli_platform_http::market_index::Snapshot>,
    seed_ms: f64,
    index_build_ms: f64,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
}

type Ready = (
    std::net::SocketAddr,
    Arc<suanli_platform_http::market_index::Snapshot>,
    f64,
    f64,
);

impl Served {
    fn start(config: Config, offers: usize) -> anyhow::Result<Self> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<anyhow::Result<Ready>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || -> anyhow::Result<()> {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let ready = async {
                    let platform = suanli_platform_http::Platform::open(
                        &config,
                        Arc::new(suanli_platform_http::SystemClock),
                    )
                    .await?;
                    let state: AppState = platform.state.clone();
                    let t = Instant::now();
                    seed(
                        &config.data_dir.join("ops.db"),
                        offers,
                        state.clock.now_unix_ms(),
                    )
                    .await?;
                    let seed_ms = t.elapsed().as_secs_f64() * 1e3;
                    let t = Instant::now();
                    let snap = state.market.snapshot(&state).await?;
                    let build_ms = t.elapsed().as_secs_f64() * 1e3;
                    let listener = tokio::net::TcpListener::bind(config.listen).await?;
                    anyhow::Ok((platform, listener, snap, seed_ms, build_ms))
                };
                match ready.await {
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        Ok(())
                    }
                    Ok((platform, listener, snap, seed_ms, build_ms)) => {
                        ready_tx.send(Ok((listener.local_addr()?, snap, seed_ms, build_ms)))?;
                        platform
                            .serve(listener, async {
                                let _ = stop_rx.await;
                            })
                            .await?;
                        Ok(())
                    }
                }
            })
        });
        let (addr, snapshot, seed_ms, index_build_ms) = ready_rx
            .recv_timeout(Duration::from_secs(1800))
            .context("the platform did not start")??;
        Ok(Self {
            base: format!("http://{addr}"),
            snapshot,
            seed_ms,
            index_build_ms,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Percentile `p` of sorted latencies.
fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or(0.0)
}

/// `total` searches over `concurrency` client threads; (searches/s, p50 ms, p99 ms).
fn http_load(base: &str, total: usize, concurrency: usize) -> anyhow::Result<(f64, f64, f64)> {
    let per = total.div_ceil(concurrency);
    let start = Instant::now();
    let lat: Vec<Vec<f64>> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..concurrency)
            .map(|w| {
                sc.spawn(move || -> anyhow::Result<Vec<f64>> {
                    let agent = ureq::Agent::new_with_config(
                        ureq::config::Config::builder()
                            .http_status_as_error(false)
                            .build(),
                    );
                    let mut l = Vec::with_capacity(per);
                    for i in 0..per {
                        let n = w * per + i;
                        if n >= total {
                            break;
                        }
                        let q = QUERIES[n % QUERIES.len()];
                        let t = Instant::now();
                        let mut res = agent
                            .get(format!("{base}/api/v1/market/search?{q}"))
                            .call()?;
                        let body = res.body_mut().read_to_string()?;
                        if res.status().as_u16() != 200 {
                            bail!("search {q}: {} {body}", res.status());
                        }
                        l.push(t.elapsed().as_secs_f64() * 1e3);
                    }
                    Ok(l)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| anyhow::anyhow!("client thread panicked"))?
            })
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    let wall = start.elapsed().as_secs_f64();
    let mut all: Vec<f64> = lat.into_iter().flatten().collect();
    all.sort_by(f64::total_cmp);
    Ok((all.len() as f64 / wall, pct(&all, 0.50), pct(&all, 0.99)))
}

/// The same searches as the core's in-memory query on the index's engine, one thread:
/// (searches/s, p99 ms).
fn baseline(
    snap: &suanli_platform_http::market_index::Snapshot,
    total: usize,
) -> anyhow::Result<(f64, f64)> {
    use suanli_market::attrs::{ConsumerId, DemandId};
    use suanli_market::matching::{Demand, DemandSpec};
    use suanli_platform_http::service::market::RESULTS_DEFAULT;
    let parsed: Vec<SearchParams> = QUERIES
        .iter()
        .map(|q| params(q))
        .collect::<anyhow::Result<_>>()?;
    let mut lat = Vec::with_capacity(total);
    let mut found = 0usize;
    let start = Instant::now();
    for n in 0..total {
        let t = Instant::now();
        let r = parsed[n % parsed.len()]
            .check()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let d = Demand::with_constraint(
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
            r.constraint,
        )?;
        found += snap.engine.search(&d, r.sort, RESULTS_DEFAULT).hits.len();
        lat.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let wall = start.elapsed().as_secs_f64();
    if found == 0 {
        bail!("the baseline found nothing: the seeded market is empty");
    }
    lat.sort_by(f64::total_cmp);
    Ok((total as f64 / wall, pct(&lat, 0.99)))
}

pub fn run(a: MarketApiBenchArgs) -> anyhow::Result<()> {
    if a.offers == 0 || a.offers > BENCH_OFFERS_MAX {
        bail!("--offers must be 1 to {BENCH_OFFERS_MAX}");
    }
    if a.searches == 0 || a.searches > BENCH_SEARCHES_MAX {
        bail!("--searches must be 1 to {BENCH_SEARCHES_MAX}");
    }
    if a.concurrency == 0 || a.concurrency > BENCH_CONCURRENCY_MAX {
        bail!("--concurrency must be 1 to {BENCH_CONCURRENCY_MAX}");
    }
    let load_avg_1m = load_avg();
    let dir = tempfile::tempdir()?;
    let config = Config {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.path().join("sqlite"),
        bootstrap_admin_password: Some(Secret::new(ADMIN_PASSWORD)),
        ..Config::default()
    };
    let served = Served::start(config, a.offers)?;
    let listed = served.snapshot.entries.len();
    if listed != a.offers {
        bail!(
            "the index holds {listed} resources, {} were listed",
            a.offers
        );
    }
    // Warm up the clients and the server's paths, then measure both, alternating.
    http_load(&served.base, a.concurrency * QUERIES.len(), a.concurrency)?;
    let (base_rate, base_p99) = baseline(&served.snapshot, a.searches)?;
    let (rate, p50, p99) = http_load(&served.base, a.searches, a.concurrency)?;
    let report = Report {
        offers: a.offers,
        searches: a.searches,
        concurrency: a.concurrency,
        searches_per_s: rate,
        p50_ms: p50,
        p99_ms: p99,
        baseline_per_s: base_rate,
        baseline_p99_ms: base_p99,
        ratio: if base_rate > 0.0 {
            rate / base_rate
        } else {
            0.0
        },
        seed_ms: served.seed_ms,
        index_build_ms: served.index_build_ms,
        load_avg_1m,
        cpus: std::thread::available_parallelism().map_or(1, usize::from),
        goal: "p99 <= 50 ms over 100,000 listed offers and ratio >= 0.3",
    };
    drop(served);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "suanli bench market-api: {} listed offers, {} searches, {} clients, {} CPUs, load average {}",
        report.offers,
        report.searches,
        report.concurrency,
        report.cpus,
        report
            .load_avg_1m
            .map_or("?".to_owned(), |l| format!("{l:.2}"))
    );
    println!(
        "  HTTP      searches_per_s {:>8.0}  p50_ms {:>7.2}  p99_ms {:>7.2}",
        report.searches_per_s, report.p50_ms, report.p99_ms
    );
    println!(
        "  baseline  core query/s   {:>8.0}  p99_ms {:>7.2}  (one thread, in memory)",
        report.baseline_per_s, report.baseline_p99_ms
    );
    println!(
        "  ratio {:.2}; seeding {:.0} ms, index build {:.0} ms; goal: {}",
        report.ratio, report.seed_ms, report.index_build_ms, report.goal
    );
    Ok(())
}
