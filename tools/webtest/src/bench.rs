//! Demo data and the page benchmark (`suanli bench web`): seeds a harness instance with a
//! supplier, a published product, customers with money and `orders` orders (through the
//! API, as customers would), then times every main page over loopback HTTP and prints
//! p50/p95 per page beside a baseline measured in the same run (`GET /api/v1/health`) and
//! the ratio. It never asserts a time: it reports.

use crate::WebtestError as WebError;
use crate::harness::{Client, HARNESS_ADMIN_PASSWORD};
use serde_json::json;
use std::time::Instant;

/// Customers the demo data spreads orders over.
pub const DEMO_CUSTOMERS: usize = 20;
/// Threads placing demo orders.
pub const SEED_THREADS: usize = 4;
/// Money each demo customer recharges, in fen (¥1,000,000,000).
pub const DEMO_RECHARGE_FEN: i64 = 100_000_000_000;
/// Default number of timed requests per page.
pub const SAMPLES_DEFAULT: usize = 60;
/// Requests per page before timing starts.
pub const WARMUP_REQUESTS: usize = 3;
/// The page budget the benchmark reports against, in milliseconds at p95.
pub const PAGE_P95_BUDGET_MS: f64 = 100.0;

/// What the demo data consists of.
#[derive(Debug, Clone)]
pub struct Demo {
    /// The supplier organisation.
    pub supplier_org: i64,
    /// The published product.
    pub product: i64,
    /// Its prepaid spec.
    pub spec: i64,
    /// Customer organisations and their admin logins.
    pub customers: Vec<(i64, String)>,
    /// Orders placed.
    pub orders: usize,
}

/// Password of demo customer `login` (never contains the login, as the policy wants).
pub fn demo_password(login: &str) -> String {
    let hex: String = login.bytes().map(|b| format!("{b:02x}")).collect();
    format!("Demo-{hex}-Pw")
}

fn ok(a: &crate::harness::Answer, what: &str) -> Result<serde_json::Value, WebError> {
    if (200..300).contains(&a.status) {
        Ok(a.json())
    } else {
        Err(WebError::Internal(format!(
            "{what}: {} {}",
            a.status, a.body
        )))
    }
}

/// Seeds `base` (a fresh harness instance) with demo data and `orders` orders.
pub fn seed(base: &str, customers: usize, orders: usize) -> Result<Demo, WebError> {
    let mut admin = Client::new(base);
    admin.login("admin", HARNESS_ADMIN_PASSWORD)?;
    let sup = ok(
        &admin.api_post(
            "/api/v1/orgs",
            &json!({"kind": "supplier_resource", "name": "Hangzhou Green Compute Centre",
                    "admin": {"login": "greensupply", "display_name": "Green Supply", "password": demo_password("greensupply")}}),
            None,
        )?,
        "supplier",
    )?;
    let supplier_org = sup["org"]["id"].as_i64().unwrap_or(0);
    let cat = ok(
        &admin.api_post(
            "/api/v1/catalogue/categories",
            &json!({"name": "GPU cloud"}),
            None,
        )?,
        "category",
    )?;
    let prod = ok(
        &admin.api_post(
            "/api/v1/catalogue/products",
            &json!({"category_id": cat["category"]["id"], "name": "A100 training cluster", "supplier_org_id": supplier_org,
                    "region": "cn-east-hangzhou", "manual_provisioning": false, "supplier_share_bp": 7000}),
            None,
        )?,
        "product",
    )?;
    let product = prod["product"]["id"].as_i64().unwrap_or(0);
    let spec = ok(
        &admin.api_post(
            &format!("/api/v1/catalogue/products/{product}/specs"),
            &json!({"family": "gpu-a100", "name": "8x80GB", "pricing": {
                "prepaid": {"monthly_fen": 3_000_000, "yearly_fen": 30_000_000, "term_discounts": [{"min_months": 6, "off_bp": 500}]},
                "payg": {"per_minute_fen": 120, "minimum_fen": 100, "deposit_fen": 50_000}}}),
            None,
        )?,
        "spec",
    )?;
    let spec = spec["spec"]["id"].as_i64().unwrap_or(0);
    let spec2 = ok(
        &admin.api_post(
            &format!("/api/v1/catalogue/products/{product}/specs"),
            &json!({"family": "gpu-h100", "name": "8x80GB", "pricing": {
                "prepaid": {"monthly_fen": 5_200_000}}}),
            None,
        )?,
        "spec",
    )?;
    let _ = spec2;
    ok(
        &admin.api_post(
            &format!("/api/v1/catalogue/products/{product}/publish"),
            &json!({}),
            None,
        )?,
        "publish",
    )?;
    let mut custs = Vec::new();
    for k in 0..customers {
        let login = format!("customer{k:03}");
        let v = ok(
            &admin.api_post(
                "/api/v1/orgs",
                &json!({"kind": "enterprise", "name": format!("Demo Customer {k:03} Ltd."),
                        "admin": {"login": login, "display_name": format!("Customer {k:03}"), "password": demo_password(&login)}}),
                None,
            )?,
            "customer",
        )?;
        custs.push((v["org"]["id"].as_i64().unwrap_or(0), login));
    }
    let per_thread = orders.div_ceil(SEED_THREADS.max(1));
    let chunks: Vec<Vec<(i64, String)>> = (0..SEED_THREADS)
        .map(|t| {
            custs
                .iter()
                .enumerate()
                .filter(|(i, _)| i % SEED_THREADS == t)
                .map(|(_, c)| c.clone())
                .collect()
        })
        .collect();
    let placed = std::thread::scope(|scope| -> Result<usize, WebError> {
        let handles: Vec<_> = chunks
            .into_iter()
            .enumerate()
            .map(|(t, mine)| {
                scope.spawn(move || -> Result<usize, WebError> {
                    if mine.is_empty() {
                        return Ok(0);
                    }
                    let mut clients = Vec::new();
                    for (_, login) in &mine {
                        let mut c = Client::new(base);
                        c.login(login, &demo_password(login))?;
                        let r = ok(
                            &c.api_post("/api/v1/recharges", &json!({"amount_fen": DEMO_RECHARGE_FEN}), None)?,
                            "recharge",
                        )?;
                        let pid = r["payment"]["id"].as_i64().unwrap_or(0);
                        ok(
                            &c.api_post(&format!("/api/v1/recharges/{pid}/sandbox-pay"), &json!({}), None)?,
                            "sandbox pay",
                        )?;
                        clients.push(c);
                    }
                    let mine_n = per_thread.min(orders.saturating_sub(t * per_thread));
                    for k in 0..mine_n {
                        let c = &clients[k % clients.len()];
                        let months = 1 + (k % 12) as u32;
                        let body = json!({"spec_id": spec, "mode": "prepaid", "months": months, "quantity": 1});
                        ok(
                            &c.api_post("/api/v1/orders", &body, Some(&format!("seed-{t}-{k}")))?,
                            "order",
                        )?;
                    }
                    Ok(mine_n)
                })
            })
            .collect();
        let mut n = 0;
        for h in handles {
            n += h
                .join()
                .map_err(|_| WebError::Internal("seeding thread panicked".into()))??;
        }
        Ok(n)
    })?;
    Ok(Demo {
        supplier_org,
        product,
        spec,
        customers: custs,
        orders: placed,
    })
}

/// One page's figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PageTiming {
    /// The page.
    pub page: String,
    /// Who asked (`anonymous`, `operator`, `customer`).
    pub who: String,
    /// Median, ms.
    pub p50_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// p95 / baseline p95.
    pub ratio_to_baseline: f64,
    /// Bytes of the page.
    pub bytes: usize,
}

fn time(c: &Client, path: &str, samples: usize) -> Result<(f64, f64, usize), WebError> {
    let mut bytes = 0;
    for _ in 0..WARMUP_REQUESTS {
        let a = c.get(path)?;
        if a.status != 200 {
            return Err(WebError::Internal(format!("{path}: {}", a.status)));
        }
        bytes = a.body.len();
    }
    let mut ms = Vec::with_capacity(samples);
    for _ in 0..samples {
        let t = Instant::now();
        let a = c.get(path)?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        if a.status != 200 {
            return Err(WebError::Internal(format!("{path}: {}", a.status)));
        }
    }
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let i = ((ms.len() as f64 - 1.0) * q).round() as usize;
        ms.get(i).copied().unwrap_or(0.0)
    };
    Ok((at(0.5), at(0.95), bytes))
}

/// The benchmark's result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BenchReport {
    /// Orders in the database.
    pub orders: usize,
    /// Timed requests per page.
    pub samples: usize,
    /// Baseline p50, ms (`GET /api/v1/health`).
    pub baseline_p50_ms: f64,
    /// Baseline p95, ms.
    pub baseline_p95_ms: f64,
    /// Per page.
    pub pages: Vec<PageTiming>,
    /// The slowest page's p95, ms.
    pub worst_p95_ms: f64,
    /// Whether every page is within [`PAGE_P95_BUDGET_MS`].
    pub within_budget: bool,
}

/// Times the main pages of a seeded instance.
pub fn run(base: &str, demo: &Demo, samples: usize) -> Result<BenchReport, WebError> {
    let anon = Client::new(base);
    let mut op = Client::new(base);
    op.login("admin", HARNESS_ADMIN_PASSWORD)?;
    let (cust_org, cust_login) = demo
        .customers
        .first()
        .cloned()
        .ok_or_else(|| WebError::Internal("no demo customer".into()))?;
    let mut cu = Client::new(base);
    cu.login(&cust_login, &demo_password(&cust_login))?;
    let (b50, b95, _) = time(&anon, "/api/v1/health", samples)?;
    let pages: Vec<(&Client, &str, String)> = vec![
        (&anon, "anonymous", "/".into()),
        (&anon, "anonymous", format!("/products/{}", demo.product)),
        (
            &anon,
            "anonymous",
            format!("/suppliers/{}", demo.supplier_org),
        ),
        (&anon, "anonymous", "/login".into()),
        (&anon, "anonymous", "/register".into()),
        (&cu, "customer", "/console".into()),
        (&cu, "customer", "/console/account".into()),
        (
            &cu,
            "customer",
            format!("/console/order?spec={}", demo.spec),
        ),
        (&cu, "customer", "/console/resources".into()),
        (&cu, "customer", "/console/orders".into()),
        (&cu, "customer", "/console/statements".into()),
        (&cu, "customer", "/console/bills".into()),
        (&cu, "customer", "/console/users".into()),
        (&cu, "customer", "/console/tokens".into()),
        (&cu, "customer", "/console/security".into()),
        (&cu, "customer", "/console/cart".into()),
        (&op, "operator", "/ops".into()),
        (&op, "operator", "/ops/registrations".into()),
        (&op, "operator", "/ops/customers".into()),
        (&op, "operator", format!("/ops/customers/{cust_org}")),
        (&op, "operator", "/ops/catalogue".into()),
        (&op, "operator", format!("/ops/products/{}", demo.product)),
        (&op, "operator", "/ops/orders".into()),
        (&op, "operator", "/ops/finance".into()),
        (&op, "operator", "/ops/discounts".into()),
        (&op, "operator", "/ops/suppliers".into()),
        (&op, "operator", "/ops/audit".into()),
        (&op, "operator", "/system".into()),
        (&op, "operator", "/system/roles".into()),
        (&op, "operator", "/system/orgs".into()),
        (&op, "operator", "/system/security".into()),
        (&op, "operator", "/system/oem".into()),
        (&op, "operator", "/system/audit".into()),
    ];
    let mut out = Vec::new();
    for (c, who, path) in pages {
        let (p50, p95, bytes) = time(c, &path, samples)?;
        out.push(PageTiming {
            page: path,
            who: who.to_owned(),
            p50_ms: p50,
            p95_ms: p95,
            ratio_to_baseline: if b95 > 0.0 { p95 / b95 } else { 0.0 },
            bytes,
        });
    }
    let worst = out.iter().map(|p| p.p95_ms).fold(0.0, f64::max);
    Ok(BenchReport {
        orders: demo.orders,
        samples,
        baseline_p50_ms: b50,
        baseline_p95_ms: b95,
        pages: out,
        worst_p95_ms: worst,
        within_budget: worst <= PAGE_P95_BUDGET_MS,
    })
}
