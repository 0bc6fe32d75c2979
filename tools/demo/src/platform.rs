//! The operations-platform part of `suanli demo`: starts the platform in-process on a
//! loopback port over `data_dir`, then walks registration, real-name review, login,
//! isolation between organisations, money (browse → order → use → bill → unsubscribe →
//! refund, with the balances after each step) and audit-log verification, narrating each
//! step. The platform runs on a manual clock started at the current time, so the demo can
//! let days pass in an instant.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use suanli_platform_http::config::Config;

/// A cookie-less HTTP client of the demo's platform.
#[derive(Debug)]
pub struct Client {
    base: String,
    agent: ureq::Agent,
}

#[derive(Clone, Default)]
pub(crate) struct Session {
    cookie: String,
    csrf: String,
}

impl Client {
    /// A client of the platform at `base` (`http://127.0.0.1:port`).
    pub(crate) fn new(base: &str) -> Self {
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
        s: Option<&Session>,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value, Option<String>)> {
        let mut b = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("user-agent", "suanli-demo");
        if let Some(s) = s {
            b = b
                .header("cookie", format!("suanli_session={}", s.cookie))
                .header("x-csrf-token", &s.csrf);
        }
        let bytes = match body {
            Some(v) => {
                b = b.header("content-type", "application/json");
                serde_json::to_vec(&v)?
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

    pub(crate) fn expect(
        &self,
        method: &str,
        path: &str,
        s: Option<&Session>,
        body: Option<Value>,
        want: u16,
    ) -> anyhow::Result<Value> {
        let (status, v, _) = self.call(method, path, s, body)?;
        if status != want {
            bail!("{method} {path}: expected {want}, got {status}: {v}");
        }
        Ok(v)
    }

    /// A state-changing order call with an `Idempotency-Key`; expects 200.
    fn order(&self, path: &str, s: &Session, key: &str, body: Value) -> anyhow::Result<Value> {
        self.expect_with_key(path, s, key, body, 200)
    }

    /// A POST with an `Idempotency-Key` expecting `want`.
    pub(crate) fn expect_with_key(
        &self,
        path: &str,
        s: &Session,
        key: &str,
        body: Value,
        want: u16,
    ) -> anyhow::Result<Value> {
        let b = ureq::http::Request::builder()
            .method("POST")
            .uri(format!("{}{path}", self.base))
            .header("user-agent", "suanli-demo")
            .header("cookie", format!("suanli_session={}", s.cookie))
            .header("x-csrf-token", &s.csrf)
            .header("idempotency-key", key)
            .header("content-type", "application/json");
        let mut res = self.agent.run(b.body(serde_json::to_vec(&body)?)?)?;
        let status = res.status().as_u16();
        let v: Value =
            serde_json::from_str(&res.body_mut().read_to_string()?).unwrap_or(Value::Null);
        if status != want {
            bail!("POST {path}: expected {want}, got {status}: {v}");
        }
        Ok(v)
    }

    pub(crate) fn login(&self, login: &str, password: &str) -> anyhow::Result<Session> {
        let (status, v, cookie) = self.call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"login": login, "password": password})),
        )?;
        if status != 200 {
            bail!("login {login}: {status} {v}");
        }
        Ok(Session {
            cookie: cookie.context("no session cookie")?,
            csrf: v["csrf_token"].as_str().unwrap_or_default().to_owned(),
        })
    }
}

/// The demo's platform, still serving the API and the web consoles after the walk.
#[derive(Debug)]
pub struct RunningPlatform {
    /// Where it listens (`http://127.0.0.1:port`).
    pub base: String,
    stop_tx: tokio::sync::oneshot::Sender<()>,
    server: std::thread::JoinHandle<anyhow::Result<()>>,
}

impl RunningPlatform {
    /// Stops serving (in-flight requests finish).
    pub fn stop(self) {
        let _ = self.stop_tx.send(());
        let _ = self.server.join();
    }
}

/// The ledger ports the demo's platform is given — the same as `suanli serve`'s (none in
/// the platform's own test).
pub type Ports = Option<suanli_bridge::wiring::LedgerPorts>;

/// Walks the platform part of the demo on an in-process `suanli serve` (API and web
/// consoles) over `data_dir` (use a fresh directory) on a manual clock started [`PLATFORM_CLOCK_BEHIND_MS`] in the
/// past (so that days can pass in an instant and the walk ends before real time), and leaves it serving: the caller stops it — and
/// serves on on the real clock with [`start`].
/// How far behind real time the demo platform's manual clock starts (11 days: more than
/// the 10 days and 90 minutes the walk moves it).
pub const PLATFORM_CLOCK_BEHIND_MS: i64 = 11 * suanli_platform_http::domain::money::DAY_MS;

pub fn run(data_dir: &Path, ports: Ports) -> anyhow::Result<RunningPlatform> {
    let now =
        suanli_platform_http::domain::clock::Clock::now_unix_ms(&suanli_platform_http::SystemClock);
    // The walk moves the clock 10 days and 90 minutes forward; it starts that much (and a
    // day) in the past, so the platform restarted on the real clock finds nothing dated
    // in its future.
    let start_ms = now.saturating_sub(PLATFORM_CLOCK_BEHIND_MS).max(0);
    let clock = Arc::new(suanli_platform_http::domain::clock::ManualClock::new(
        start_ms.unsigned_abs(),
    ));
    let (running, client) = start(data_dir, clock.clone(), ports)?;
    match walk(&client, data_dir, &clock) {
        Ok(()) => Ok(running),
        Err(e) => {
            running.stop();
            Err(e)
        }
    }
}

/// Starts the platform over `data_dir` on `clock` with `ports`, serving on a loopback
/// port until stopped.
pub fn start(
    data_dir: &Path,
    clock: Arc<dyn suanli_platform_http::domain::clock::Clock>,
    ports: Ports,
) -> anyhow::Result<(RunningPlatform, Client)> {
    let mut config = Config {
        listen: "127.0.0.1:0".parse()?,
        data_dir: data_dir.to_owned(),
        ..Config::default()
    };
    // The demo pays with the labelled sandbox provider (no real money).
    config.money.sandbox_payments = true;
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server_config = config.clone();
    let server_clock = clock;
    let server = std::thread::spawn(move || -> anyhow::Result<()> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        rt.block_on(async move {
            let mut platform =
                suanli_platform_http::Platform::open(&server_config, server_clock).await?;
            if let Some(ports) = ports {
                platform = ports.attach(platform);
            }
            let listener = tokio::net::TcpListener::bind(server_config.listen).await?;
            addr_tx.send(listener.local_addr()?)?;
            let app = suanli_platform_web::router(platform.state.clone(), platform.router());
            platform
                .serve_app(app, listener, async {
                    let _ = stop_rx.await;
                })
                .await?;
            anyhow::Ok(())
        })
    });
    let addr = match addr_rx.recv() {
        Ok(a) => a,
        Err(_) => {
            return match server.join() {
                Ok(Err(e)) => Err(e.context("platform did not start")),
                _ => bail!("platform did not start"),
            };
        }
    };
    let client = Client {
        base: format!("http://{addr}"),
        agent: ureq::Agent::new_with_config(
            ureq::config::Config::builder()
                .http_status_as_error(false)
                .build(),
        ),
    };
    let running = RunningPlatform {
        base: client.base.clone(),
        stop_tx,
        server,
    };
    Ok((running, client))
}

fn walk(
    c: &Client,
    data_dir: &Path,
    clock: &suanli_platform_http::domain::clock::ManualClock,
) -> anyhow::Result<()> {
    println!(
        "== Operations platform (suanli serve, in-process on {})",
        c.base
    );
    let pw_file = data_dir.join(suanli_platform_http::BOOTSTRAP_PASSWORD_FILE);
    let admin_pw = std::fs::read_to_string(&pw_file)
        .with_context(|| format!("{} (use a fresh data directory)", pw_file.display()))?;
    let admin = c.login(suanli_platform_http::BOOTSTRAP_ADMIN_LOGIN, admin_pw.trim())?;
    println!(
        "1. The operator administrator logs in (its first password was generated into {} with mode 0600).",
        pw_file.display()
    );

    let v = c.expect(
        "POST",
        "/api/v1/orgs",
        Some(&admin),
        Some(json!({"kind": "supplier_resource", "name": "North China Supercomputing Centre",
                    "admin": {"login": "ncsc-admin", "display_name": "NCSC admin", "password": "Gpu-Hall-7-Racks"}})),
        201,
    )?;
    let supplier_org = v["org"]["id"].as_i64().unwrap_or_default();
    println!(
        "2. The operator creates a resource supplier, organisation #{supplier_org}, with its administrator `ncsc-admin`."
    );

    let v = c.expect(
        "POST",
        "/api/v1/registrations/enterprise",
        None,
        Some(json!({"login": "acme-admin", "password": "Acme-Render-Farm-1", "display_name": "ACME admin",
                    "company_name": "ACME Rendering Co., Ltd.", "credit_code": "91350100M000100Y43",
                    "licence_ref": "BL-2024-000123", "legal_person": "Zhang San"})),
        201,
    )?;
    let reg = v["registration"]["id"].as_i64().unwrap_or_default();
    println!(
        "3. A consumer registers as an enterprise (unified social credit code 91350100M000100Y43, check character verified): registration #{reg}, status {}.",
        v["registration"]["status"]
    );
    let (status, v, _) = c.call(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"login": "acme-admin", "password": "Acme-Render-Farm-1"})),
    )?;
    println!(
        "4. Before review it cannot log in: {status} {}.",
        v["error"]["code"]
    );

    let v = c.expect(
        "GET",
        "/api/v1/registrations?status=pending",
        Some(&admin),
        None,
        200,
    )?;
    println!(
        "5. The operator sees {} pending registration(s) and approves #{reg}.",
        v["items"].as_array().map_or(0, Vec::len)
    );
    let v = c.expect(
        "POST",
        &format!("/api/v1/registrations/{reg}/approve"),
        Some(&admin),
        None,
        200,
    )?;
    println!(
        "   status {}; KYC: {} — credential {} issued by the genesis authority to the applicant's DID, which is enrolled as a consumer on the trade chain.",
        v["registration"]["status"], v["kyc"]["status"], v["registration"]["kyc_credential_ref"]
    );

    let acme = c.login("acme-admin", "Acme-Render-Farm-1")?;
    let me = c.expect("GET", "/api/v1/me", Some(&acme), None, 200)?;
    println!(
        "6. The consumer logs in as {} of organisation #{} with permissions {}.",
        me["user"]["roles"], me["org"]["id"], me["permissions"]
    );
    // The DID key made at registration (docs/key-custody.md): its DID is created on the
    // identity chain by a transaction the key itself signed.
    let mut key = c.expect("GET", "/api/v1/me/key", Some(&acme), None, 200)?;
    for _ in 0..100 {
        if key["key"]["did_on_chain"] == json!(true) || key["key"]["did"].is_null() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        key = c.expect("GET", "/api/v1/me/key", Some(&acme), None, 200)?;
    }
    println!(
        "   Its DID key, made at registration and kept encrypted under its password ({} m={} KiB): {} (on the identity chain: {}).",
        key["key"]["encryption"]["kdf"],
        key["key"]["encryption"]["memory_kib"],
        key["key"]["did"],
        key["key"]["did_on_chain"]
    );
    let (status, v, _) = c.call(
        "GET",
        &format!("/api/v1/orgs/{supplier_org}"),
        Some(&acme),
        None,
    )?;
    println!(
        "7. It cannot see the supplier's organisation by id: {status} {} (isolation by organisation).",
        v["error"]["code"]
    );
    let v = c.expect("GET", "/api/v1/orgs", Some(&acme), None, 200)?;
    println!(
        "   Its organisation list holds {} entry.",
        v["items"].as_array().map_or(0, Vec::len)
    );

    let (admin, acme) = money(c, clock, &admin, &acme, supplier_org, admin_pw.trim())?;

    let v = c.expect("GET", "/api/v1/audit?limit=200", Some(&admin), None, 200)?;
    let _ = acme;
    println!("8. The audit log recorded every state-changing request:");
    for r in v["items"].as_array().into_iter().flatten() {
        println!(
            "   #{:<2} {:<45} user {:<4} {:<8} {}",
            r["seq"],
            r["action"].as_str().unwrap_or_default(),
            r["actor_user"]
                .as_i64()
                .map_or("-".to_owned(), |u| u.to_string()),
            r["outcome"].as_str().unwrap_or_default(),
            r["hash"]
                .as_str()
                .and_then(|h| h.get(..16))
                .unwrap_or_default()
        );
    }
    let v = c.expect("GET", "/api/v1/audit/verify", Some(&admin), None, 200)?;
    if v["valid"] != true {
        bail!("audit chain does not verify: {v}");
    }
    println!(
        "9. The hash chain verifies: {} records, head {}.",
        v["records"], v["head"]
    );
    Ok(())
}

/// Yuan with two decimals, from fen.
fn yuan(v: &Value) -> String {
    let f = v.as_i64().unwrap_or_default();
    let sign = if f < 0 { "-" } else { "" };
    format!("{sign}¥{}.{:02}", f.abs() / 100, f.abs() % 100)
}

fn balances_line(c: &Client, s: &Session, org: i64) -> anyhow::Result<String> {
    let v = c.expect(
        "GET",
        &format!("/api/v1/orgs/{org}/account"),
        Some(s),
        None,
        200,
    )?;
    let b = &v["balances"];
    Ok(format!(
        "cash {}, vouchers {}, credit drawn {} of {}, frozen {}",
        yuan(&b["cash_fen"]),
        yuan(&b["voucher_fen"]),
        yuan(&b["credit_used_fen"]),
        yuan(&b["credit_line_fen"]),
        yuan(&b["frozen_fen"])
    ))
}

/// Money: browse → order → use → bill → unsubscribe → refund. Returns fresh sessions
/// (days pass on the manual clock, sessions expire).
fn money(
    c: &Client,
    clock: &suanli_platform_http::domain::clock::ManualClock,
    admin: &Session,
    acme: &Session,
    supplier: i64,
    admin_pw: &str,
) -> anyhow::Result<(Session, Session)> {
    const DAY_MS: i64 = 86_400_000;
    let me = c.expect("GET", "/api/v1/me", Some(acme), None, 200)?;
    let org = me["org"]["id"].as_i64().unwrap_or_default();
    println!("M. Money (amounts are integer fen in the API; shown here in yuan).");
    let cat = c.expect(
        "POST",
        "/api/v1/catalogue/categories",
        Some(admin),
        Some(json!({"name": "GPU compute"})),
        200,
    )?;
    let p = c.expect(
        "POST",
        "/api/v1/catalogue/products",
        Some(admin),
        Some(json!({"category_id": cat["category"]["id"], "name": "A100 80GB node", "supplier_org_id": supplier,
                    "region": "cn-north", "manual_provisioning": false, "supplier_share_bp": 7000})),
        200,
    )?;
    let pid = p["product"]["id"].as_i64().unwrap_or_default();
    let prepaid = c.expect(
        "POST",
        &format!("/api/v1/catalogue/products/{pid}/specs"),
        Some(admin),
        Some(json!({"family": "a100", "name": "1 GPU monthly",
                    "pricing": {"prepaid": {"monthly_fen": 300_000, "yearly_fen": 3_000_000,
                                            "term_discounts": [{"min_months": 3, "off_bp": 500}]}}})),
        200,
    )?;
    let payg = c.expect(
        "POST",
        &format!("/api/v1/catalogue/products/{pid}/specs"),
        Some(admin),
        Some(json!({"family": "a100", "name": "1 GPU by the minute",
                    "pricing": {"payg": {"per_minute_fen": 10, "minimum_fen": 600, "deposit_fen": 10_000}}})),
        200,
    )?;
    c.expect(
        "POST",
        &format!("/api/v1/catalogue/products/{pid}/publish"),
        Some(admin),
        None,
        200,
    )?;
    c.expect(
        "POST",
        "/api/v1/discounts",
        Some(admin),
        Some(json!({"rule": {"scope": "region", "region": "cn-north"}, "off_bp": 300})),
        200,
    )?;
    c.expect(
        "POST",
        "/api/v1/coupons",
        Some(admin),
        Some(
            json!({"code": "WELCOME-100", "value": {"kind": "amount_off", "fen": 10_000},
                    "min_spend_fen": 100_000, "expires_ms": clock_now(clock) + 30 * DAY_MS}),
        ),
        200,
    )?;
    println!(
        "   M1. The operator lists product #{pid} (supplier #{supplier} gets 70 %), two specs, a 3 % cn-north discount and coupon WELCOME-100, and publishes it."
    );

    let cat = c.expect("GET", "/api/v1/catalogue", Some(acme), None, 200)?;
    println!("   M2. Browse: the consumer sees");
    for item in cat["items"].as_array().into_iter().flatten() {
        for sp in item["specs"].as_array().into_iter().flatten() {
            let pr = &sp["pricing"];
            let price = if pr["prepaid"].is_object() {
                format!(
                    "{} per month, 5 % off from 3 months",
                    yuan(&pr["prepaid"]["monthly_fen"])
                )
            } else {
                format!(
                    "{} per minute, minimum {}, deposit {}",
                    yuan(&pr["payg"]["per_minute_fen"]),
                    yuan(&pr["payg"]["minimum_fen"]),
                    yuan(&pr["payg"]["deposit_fen"])
                )
            };
            println!(
                "       {} / {} (spec #{}): {price}",
                item["product"]["name"].as_str().unwrap_or_default(),
                sp["name"].as_str().unwrap_or_default(),
                sp["id"]
            );
        }
    }

    let r = c.expect(
        "POST",
        "/api/v1/recharges",
        Some(acme),
        Some(json!({"amount_fen": 1_000_000})),
        200,
    )?;
    let pay = r["payment"]["id"].as_i64().unwrap_or_default();
    c.expect(
        "POST",
        &format!("/api/v1/recharges/{pay}/sandbox-pay"),
        Some(acme),
        None,
        200,
    )?;
    println!(
        "   M3. Recharge {} through the SANDBOX payment provider (sandbox: {}; no real money moves; confirmed by its HMAC-signed callback). Balances: {}",
        yuan(&json!(1_000_000)),
        r["sandbox"],
        balances_line(c, acme, org)?
    );
    c.expect(
        "POST",
        &format!("/api/v1/orgs/{org}/vouchers"),
        Some(admin),
        Some(json!({"amount_fen": 20_000, "idempotency_key": "demo-welcome"})),
        200,
    )?;
    println!(
        "   M4. The operator grants a {} cash voucher. Balances: {}",
        yuan(&json!(20_000)),
        balances_line(c, acme, org)?
    );

    let o = c.order("/api/v1/orders", acme, "demo-order-1",
        json!({"spec_id": prepaid["spec"]["id"], "mode": "prepaid", "months": 3, "quantity": 1, "coupon": "WELCOME-100"}))?;
    let b = &o["order"]["breakdown"];
    let steps: Vec<String> = b["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|st| {
            format!(
                "{} −{}",
                st["kind"].as_str().unwrap_or_default(),
                yuan(&st["off_fen"])
            )
        })
        .collect();
    println!(
        "   M5. Order 3 months prepaid: list {}, {} → {} paid from cash {}, vouchers {}, credit {} (cash → vouchers → credit). Balances: {}",
        yuan(&b["list_fen"]),
        steps.join(", "),
        yuan(&o["order"]["charged_fen"]),
        yuan(&o["order"]["funding"]["cash_fen"]),
        yuan(&o["order"]["funding"]["voucher_fen"]),
        yuan(&o["order"]["funding"]["credit_fen"]),
        balances_line(c, acme, org)?
    );
    let prepaid_inst = o["instance"]["id"].as_i64().unwrap_or_default();
    let g = c.order(
        "/api/v1/orders",
        acme,
        "demo-order-2",
        json!({"spec_id": payg["spec"]["id"], "mode": "payg", "quantity": 1}),
    )?;
    let payg_inst = g["instance"]["id"].as_i64().unwrap_or_default();
    println!(
        "   M6. Order by the minute: deposit {} frozen. Balances: {}",
        yuan(&g["order"]["deposit_fen"]),
        balances_line(c, acme, org)?
    );
    let again = c.order(
        "/api/v1/orders",
        acme,
        "demo-order-2",
        json!({"spec_id": payg["spec"]["id"], "mode": "payg", "quantity": 1}),
    )?;
    println!(
        "       Sent again with the same Idempotency-Key: replayed {}, same order #{}, nothing charged twice.",
        again["replayed"], again["order"]["id"]
    );

    clock.advance_ms(90 * 60_000);
    let admin = c.login(suanli_platform_http::BOOTSTRAP_ADMIN_LOGIN, admin_pw)?;
    let rep = c.expect("POST", "/api/v1/lifecycle/advance", Some(&admin), None, 200)?;
    println!(
        "   M7. Use: 90 minutes pass; the lifecycle pass meters the pay-as-you-go instance and charges {} (90 min × ¥0.10). Balances: {}",
        yuan(&rep["report"]["usage_charged_fen"]),
        balances_line(c, acme, org)?
    );

    let bill = c.expect("GET", "/api/v1/bills", Some(acme), None, 200)?;
    println!(
        "   M8. Bill for {}:",
        bill["period"].as_str().unwrap_or_default()
    );
    for l in bill["items"].as_array().into_iter().flatten() {
        println!(
            "       product #{} {:<7} prepaid {}  usage {}  discounts {}  refunds {}  amount due {}",
            l["product_id"],
            l["mode"].as_str().unwrap_or_default(),
            yuan(&l["prepaid_fen"]),
            yuan(&l["usage_fen"]),
            yuan(&l["discount_fen"]),
            yuan(&l["refund_fen"]),
            yuan(&l["amount_due_fen"])
        );
    }

    clock.advance_ms(10 * DAY_MS);
    // Sessions last hours: both log in again.
    let acme = c.login("acme-admin", "Acme-Render-Farm-1")?;
    let admin = c.login(suanli_platform_http::BOOTSTRAP_ADMIN_LOGIN, admin_pw)?;
    let u = c.order(
        &format!("/api/v1/instances/{prepaid_inst}/unsubscribe"),
        &acme,
        "demo-unsub-1",
        json!({}),
    )?;
    let span = (u["instance"]["ends_ms"].as_i64().unwrap_or_default()
        - u["instance"]["span_start_ms"].as_i64().unwrap_or_default())
        / DAY_MS;
    println!(
        "   M9. Ten days later the consumer unsubscribes the prepaid instance: refund ⌊paid × ({span} − 11 used days) / {span}⌋ = {} back to where it came from (cash {}, vouchers {}). Balances: {}",
        yuan(&u["order"]["refunded_fen"]),
        yuan(&u["order"]["funding"]["cash_fen"]),
        yuan(&u["order"]["funding"]["voucher_fen"]),
        balances_line(c, &acme, org)?
    );
    let u2 = c.order(
        &format!("/api/v1/instances/{payg_inst}/unsubscribe"),
        &acme,
        "demo-unsub-2",
        json!({}),
    )?;
    println!(
        "   M10. It releases the pay-as-you-go instance: the ten days of use since the last metering cost {}; the deposit is released. Balances: {}",
        yuan(&u2["order"]["charged_fen"]),
        balances_line(c, &acme, org)?
    );
    let st = c.expect(
        "GET",
        &format!("/api/v1/orgs/{org}/statements?limit=200"),
        Some(&acme),
        None,
        200,
    )?;
    println!("   M11. Statement (type, channel, amount, balance after):");
    for l in st["items"].as_array().into_iter().flatten() {
        println!(
            "       {:<12} {:<8} {:>12}  → {:<8} {}",
            l["type"].as_str().unwrap_or_default(),
            l["channel"].as_str().unwrap_or_default(),
            yuan(&l["amount_fen"]),
            l["account"].as_str().unwrap_or_default(),
            yuan(&l["balance_after_fen"])
        );
    }
    Ok((admin, acme))
}

fn clock_now(clock: &suanli_platform_http::domain::clock::ManualClock) -> i64 {
    suanli_platform_http::domain::clock::Clock::now_unix_ms(clock)
}

#[cfg(test)]
mod tests {
    #[test]
    fn platform_demo_runs_on_a_fresh_directory() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        super::run(&dir.path().join("platform"), None).unwrap_or_else(|e| panic!("{e:#}"));
    }
}
