//! `suanli bench api`: order placements over HTTP against a running platform.
//!
//! Starts `suanli serve`'s platform in-process on a loopback port — on SQLite in a
//! temporary directory, and on PostgreSQL too when `SUANLI_BENCH_DATABASE_URL` is set or a
//! server answers on 127.0.0.1:5432 (a fresh database is created and dropped) — creates
//! customers with API tokens and money (sandbox recharges), a published prepaid product,
//! then places orders concurrently (`POST /api/v1/orders`, one idempotency key each; every
//! order is a journal transaction plus an audit record). Reported: orders/s, p50/p99
//! latency, and as the same-run baseline the rate of a trivial authenticated GET
//! (`/api/v1/me`) at the same concurrency. The machine's load average is printed with the
//! figures (the machines are shared).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;
use serde_json::{Value, json};
use suanli_platform_http::config::{Config, Secret};

/// Most orders one run may place.
const BENCH_ORDERS_MAX: usize = 1_000_000;
/// Most concurrent clients.
const BENCH_CONCURRENCY_MAX: usize = 512;
/// Customers the orders are spread over.
const BENCH_CUSTOMERS: usize = 8;
/// Cash each customer starts with, in fen.
const BENCH_RECHARGE_FEN: i64 = 900_000_000_000;
/// Local PostgreSQL probed when `SUANLI_BENCH_DATABASE_URL` is not set.
const LOCAL_PG_ADDR: &str = "127.0.0.1:5432";
/// Admin URL used for the local PostgreSQL.
const LOCAL_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Password of the benchmark's bootstrap administrator.
const ADMIN_PASSWORD: &str = "Bench-Admin-Password-1";
/// Password of the benchmark's organisation administrators (contains none of their logins).
const ORG_PASSWORD: &str = "Load-Test-Org-Password-7";

#[derive(Debug, Args)]
pub struct ApiBenchArgs {
    /// Orders to place per backend.
    #[arg(long, default_value_t = 4_000)]
    pub orders: usize,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Only SQLite, even when PostgreSQL is reachable.
    #[arg(long)]
    pub sqlite_only: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct BackendResult {
    backend: String,
    orders: usize,
    concurrency: usize,
    orders_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    baseline_get_per_s: f64,
    baseline_p99_ms: f64,
    orders_vs_baseline: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    results: Vec<BackendResult>,
    /// 1-minute load average before the run (`/proc/loadavg`).
    load_avg_1m: Option<f64>,
    cpus: usize,
    goal: &'static str,
}

fn load_avg() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

struct Http {
    base: String,
    agent: ureq::Agent,
}

enum Auth<'a> {
    None,
    Session(&'a str, &'a str),
    Bearer(&'a str),
}

impl Http {
    fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            agent: ureq::Agent::new_with_config(
                ureq::config::Config::builder()
                    .http_status_as_error(false)
                    .build(),
            ),
        }
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        auth: &Auth<'_>,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> anyhow::Result<(u16, Value, Option<String>)> {
        let mut b = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        match auth {
            Auth::None => {}
            Auth::Session(cookie, csrf) => {
                b = b
                    .header("cookie", format!("suanli_session={cookie}"))
                    .header("x-csrf-token", *csrf);
            }
            Auth::Bearer(t) => b = b.header("authorization", format!("Bearer {t}")),
        }
        if let Some(k) = key {
            b = b.header("idempotency-key", k);
        }
        let bytes = match body {
            Some(v) => {
                b = b.header("content-type", "application/json");
                serde_json::to_vec(v)?
            }
            None => Vec::new(),
        };
        let mut res = self.agent.run(b.body(bytes)?)?;
        let status = res.status().as_u16();
        let cookie = res
            .headers()
            .get("set-cookie")
            .and_then(|h| h.to_str().ok())
            .and_then(|c| c.strip_prefix("suanli_session="))
            .and_then(|c| c.split(';').next())
            .map(str::to_owned);
        let text = res.body_mut().read_to_string()?;
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::Null),
            cookie,
        ))
    }

    fn ok(&self, method: &str, path: &str, auth: &Auth<'_>, body: Value) -> anyhow::Result<Value> {
        let (s, v, _) = self.call(method, path, auth, None, Some(&body))?;
        if !(200..300).contains(&s) {
            bail!("{method} {path}: {s} {v}");
        }
        Ok(v)
    }

    fn login(&self, login: &str, password: &str) -> anyhow::Result<(String, String)> {
        let (s, v, cookie) = self.call(
            "POST",
            "/api/v1/auth/login",
            &Auth::None,
            None,
            Some(&json!({"login": login, "password": password})),
        )?;
        if s != 200 {
            bail!("login {login}: {s} {v}");
        }
        Ok((
            cookie.context("no session cookie")?,
            v["csrf_token"].as_str().unwrap_or_default().to_owned(),
        ))
    }
}

/// A platform served on a loopback port by its own runtime, stopped on drop.
struct Served {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
}

impl Served {
    fn start(config: Config) -> anyhow::Result<Self> {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || -> anyhow::Result<()> {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let platform = suanli_platform_http::Platform::open(
                    &config,
                    Arc::new(suanli_platform_http::SystemClock),
                )
                .await?;
                let listener = tokio::net::TcpListener::bind(config.listen).await?;
                addr_tx.send(listener.local_addr()?)?;
                platform
                    .serve(listener, async {
                        let _ = stop_rx.await;
                    })
                    .await?;
                Ok(())
            })
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(60))
            .context("the platform did not start")?;
        Ok(Self {
            base: format!("http://{addr}"),
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

/// Creates the catalogue and the customers; returns the spec id and each customer's token.
fn setup(http: &Http) -> anyhow::Result<(i64, Vec<String>)> {
    let (cookie, csrf) = http.login("admin", ADMIN_PASSWORD)?;
    let admin = Auth::Session(&cookie, &csrf);
    let org = |kind: &str, name: &str, login: &str| -> anyhow::Result<i64> {
        let v = http.ok(
            "POST",
            "/api/v1/orgs",
            &admin,
            json!({"kind": kind, "name": name,
                   "admin": {"login": login, "display_name": login, "password": ORG_PASSWORD}}),
        )?;
        v["org"]["id"].as_i64().context("org id")
    };
    let sup = org("supplier_resource", "Bench supplier", "benchsup")?;
    let cat = http.ok(
        "POST",
        "/api/v1/catalogue/categories",
        &admin,
        json!({"name": "GPU"}),
    )?;
    let p = http.ok(
        "POST",
        "/api/v1/catalogue/products",
        &admin,
        json!({"category_id": cat["category"]["id"], "name": "A100", "supplier_org_id": sup,
               "region": "cn-east", "manual_provisioning": false, "supplier_share_bp": 7000}),
    )?;
    let pid = p["product"]["id"].as_i64().context("product id")?;
    let spec = http.ok(
        "POST",
        &format!("/api/v1/catalogue/products/{pid}/specs"),
        &admin,
        json!({"family": "gpu", "name": "1x",
               "pricing": {"prepaid": {"monthly_fen": 300_000, "term_discounts": [{"min_months": 3, "off_bp": 500}]}}}),
    )?;
    http.ok(
        "POST",
        &format!("/api/v1/catalogue/products/{pid}/publish"),
        &admin,
        json!({}),
    )?;
    let mut tokens = Vec::new();
    for i in 0..BENCH_CUSTOMERS {
        let login = format!("benchc{i}");
        org("enterprise", &format!("Bench customer {i}"), &login)?;
        let (c, x) = http.login(&login, ORG_PASSWORD)?;
        let s = Auth::Session(&c, &x);
        let t = http.ok(
            "POST",
            "/api/v1/me/tokens",
            &s,
            json!({"name": "bench", "scopes": ["order:place", "account:read"], "ttl_secs": 86_400}),
        )?;
        let token = t["token"].as_str().context("token")?.to_owned();
        let b = Auth::Bearer(&token);
        let pay = http.ok(
            "POST",
            "/api/v1/recharges",
            &b,
            json!({"amount_fen": BENCH_RECHARGE_FEN}),
        )?;
        let id = pay["payment"]["id"].as_i64().context("payment id")?;
        http.ok(
            "POST",
            &format!("/api/v1/recharges/{id}/sandbox-pay"),
            &b,
            json!({}),
        )?;
        tokens.push(token);
    }
    Ok((spec["spec"]["id"].as_i64().context("spec id")?, tokens))
}

/// Runs `total` requests over `concurrency` threads; returns (requests/s, p50 ms, p99 ms).
fn load(
    base: &str,
    total: usize,
    concurrency: usize,
    tokens: &[String],
    request: impl Fn(&Http, &str, usize) -> anyhow::Result<()> + Sync,
) -> anyhow::Result<(f64, f64, f64)> {
    let per = total.div_ceil(concurrency);
    let start = Instant::now();
    let lat: Vec<Vec<f64>> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..concurrency)
            .map(|w| {
                let request = &request;
                let token = &tokens[w % tokens.len()];
                sc.spawn(move || -> anyhow::Result<Vec<f64>> {
                    let http = Http::new(base);
                    let mut l = Vec::with_capacity(per);
                    for i in 0..per {
                        let n = w * per + i;
                        if n >= total {
                            break;
                        }
                        let t = Instant::now();
                        request(&http, token, n)?;
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
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    Ok((all.len() as f64 / wall, pct(0.50), pct(0.99)))
}

fn bench_backend(
    name: &str,
    config: Config,
    orders: usize,
    concurrency: usize,
) -> anyhow::Result<BackendResult> {
    let served = Served::start(config)?;
    let http = Http::new(&served.base);
    let (spec, tokens) = setup(&http)?;
    let body = json!({"spec_id": spec, "mode": "prepaid", "months": 1, "quantity": 1});
    let order = |h: &Http, token: &str, n: usize| -> anyhow::Result<()> {
        let (s, v, _) = h.call(
            "POST",
            "/api/v1/orders",
            &Auth::Bearer(token),
            Some(&format!("bench-{n}")),
            Some(&body),
        )?;
        if s != 200 {
            bail!("order {n}: {s} {v}");
        }
        Ok(())
    };
    let get = |h: &Http, token: &str, _n: usize| -> anyhow::Result<()> {
        let (s, v, _) = h.call("GET", "/api/v1/me", &Auth::Bearer(token), None, None)?;
        if s != 200 {
            bail!("GET /api/v1/me: {s} {v}");
        }
        Ok(())
    };
    // Warm up both paths, then measure the baseline and the orders.
    load(&served.base, concurrency * 4, concurrency, &tokens, get)?;
    let (base_rate, _, base_p99) = load(&served.base, orders, concurrency, &tokens, get)?;
    let (rate, p50, p99) = load(&served.base, orders, concurrency, &tokens, order)?;
    drop(served);
    Ok(BackendResult {
        backend: name.to_owned(),
        orders,
        concurrency,
        orders_per_s: rate,
        p50_ms: p50,
        p99_ms: p99,
        baseline_get_per_s: base_rate,
        baseline_p99_ms: base_p99,
        orders_vs_baseline: if base_rate > 0.0 {
            rate / base_rate
        } else {
            0.0
        },
    })
}

fn base_config(dir: &std::path::Path) -> anyhow::Result<Config> {
    let mut config = Config {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.to_owned(),
        bootstrap_admin_password: Some(Secret::new(ADMIN_PASSWORD)),
        ..Config::default()
    };
    // The benchmark funds its customers through the sandbox provider.
    config.money.sandbox_payments = true;
    Ok(config)
}

pub fn run(a: ApiBenchArgs) -> anyhow::Result<()> {
    if a.orders == 0 || a.orders > BENCH_ORDERS_MAX {
        bail!("--orders must be 1 to {BENCH_ORDERS_MAX}");
    }
    if a.concurrency == 0 || a.concurrency > BENCH_CONCURRENCY_MAX {
        bail!("--concurrency must be 1 to {BENCH_CONCURRENCY_MAX}");
    }
    let load_avg_1m = load_avg();
    let mut results = Vec::new();
    let dir = tempfile::tempdir()?;
    results.push(bench_backend(
        "sqlite",
        base_config(&dir.path().join("sqlite"))?,
        a.orders,
        a.concurrency,
    )?);
    let pg_admin = match std::env::var("SUANLI_BENCH_DATABASE_URL") {
        Ok(u) => Some(u),
        Err(_)
            if !a.sqlite_only
                && std::net::TcpStream::connect_timeout(
                    &LOCAL_PG_ADDR.parse()?,
                    Duration::from_millis(300),
                )
                .is_ok() =>
        {
            Some(LOCAL_PG_URL.to_owned())
        }
        Err(_) => None,
    };
    if let Some(admin) = pg_admin.filter(|_| !a.sqlite_only) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let name = format!("suanli_bench_{}", std::process::id());
        let url = rt.block_on(suanli_platform_http::store::PgStore::create_database(
            &admin, &name,
        ))?;
        let mut config = base_config(&dir.path().join("pg"))?;
        config.database_url = Some(Secret::new(url));
        let r = bench_backend("postgres", config, a.orders, a.concurrency);
        rt.block_on(suanli_platform_http::store::PgStore::drop_database(
            &admin, &name,
        ))?;
        results.push(r?);
    }
    let report = Report {
        results,
        load_avg_1m,
        cpus: std::thread::available_parallelism().map_or(1, usize::from),
        goal: ">= 2000 orders/s with p99 <= 50 ms on SQLite",
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "suanli bench api: {} orders per backend, {} concurrent clients, {} CPUs, load average {}",
        a.orders,
        a.concurrency,
        report.cpus,
        report
            .load_avg_1m
            .map_or("?".to_owned(), |l| format!("{l:.2}"))
    );
    for r in &report.results {
        println!(
            "  {:<8} orders_per_s {:>8.0}  p50_ms {:>6.2}  p99_ms {:>6.2}  | baseline GET /api/v1/me {:>8.0}/s (p99 {:.2} ms)  ratio {:.2}",
            r.backend,
            r.orders_per_s,
            r.p50_ms,
            r.p99_ms,
            r.baseline_get_per_s,
            r.baseline_p99_ms,
            r.orders_vs_baseline
        );
    }
    println!("  goal: {}", report.goal);
    Ok(())
}
