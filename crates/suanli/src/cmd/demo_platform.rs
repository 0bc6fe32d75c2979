//! The operations-platform part of `suanli demo`: starts the platform in-process on a
//! loopback port over `data_dir`, then walks registration, real-name review, login,
//! isolation between organisations and audit-log verification, narrating each step.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use suanli_server::config::Config;

struct Client {
    base: String,
    agent: ureq::Agent,
}

#[derive(Clone, Default)]
struct Session {
    cookie: String,
    csrf: String,
}

impl Client {
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

    fn expect(
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

    fn login(&self, login: &str, password: &str) -> anyhow::Result<Session> {
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

/// Runs the platform walk-through on `data_dir` (use a fresh directory). Called by
/// `cmd/demo.rs`.
/// With `anchor`, every new audit-log head is handed to it (the demo anchors on its
/// embedded ledger node).
pub fn run(
    data_dir: &Path,
    anchor: Option<Arc<dyn suanli_server::AuditAnchor>>,
) -> anyhow::Result<()> {
    let config = Config {
        listen: "127.0.0.1:0".parse()?,
        data_dir: data_dir.to_owned(),
        ..Config::default()
    };
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server_config = config.clone();
    let server = std::thread::spawn(move || -> anyhow::Result<()> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        rt.block_on(async move {
            let mut platform =
                suanli_server::Platform::open(&server_config, Arc::new(suanli_server::SystemClock))
                    .await?;
            if let Some(anchor) = anchor {
                platform = platform.with_anchor(anchor);
            }
            let listener = tokio::net::TcpListener::bind(server_config.listen).await?;
            addr_tx.send(listener.local_addr()?)?;
            platform
                .serve(listener, async {
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
    let result = walk(&client, data_dir);
    let _ = stop_tx.send(());
    let _ = server.join();
    result
}

fn walk(c: &Client, data_dir: &Path) -> anyhow::Result<()> {
    println!(
        "== Operations platform (suanli serve, in-process on {})",
        c.base
    );
    let pw_file = data_dir.join(suanli_server::BOOTSTRAP_PASSWORD_FILE);
    let admin_pw = std::fs::read_to_string(&pw_file)
        .with_context(|| format!("{} (use a fresh data directory)", pw_file.display()))?;
    let admin = c.login(suanli_server::BOOTSTRAP_ADMIN_LOGIN, admin_pw.trim())?;
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
        "   status {}; KYC credential reference: {} (the identity chain's KYC credential is not issued yet, so none is recorded).",
        v["registration"]["status"], v["registration"]["kyc_credential_ref"]
    );

    let acme = c.login("acme-admin", "Acme-Render-Farm-1")?;
    let me = c.expect("GET", "/api/v1/me", Some(&acme), None, 200)?;
    println!(
        "6. The consumer logs in as {} of organisation #{} with permissions {}.",
        me["user"]["roles"], me["org"]["id"], me["permissions"]
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

    let v = c.expect("GET", "/api/v1/audit?limit=200", Some(&admin), None, 200)?;
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

#[cfg(test)]
mod tests {
    #[test]
    fn platform_demo_runs_on_a_fresh_directory() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        super::run(&dir.path().join("platform"), None).unwrap_or_else(|e| panic!("{e:#}"));
    }
}
