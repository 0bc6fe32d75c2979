//! `suanli supplier …` against a running `suanli serve` (`docs/supply.md` §2): a
//! supplier administrator's API token imports resources from CSV (a bad file is refused
//! whole, every bad cell named), creates an offer and lists it; publishing asks the trade
//! chain, which refuses a supplier key not enrolled there, and the command says so.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::suanli;
use serde_json::{Value, json};
use std::process::{Command, Stdio};

const HEAD: &str = "name,location,status,gpu_model,gpu_count,gpu_mem_gb,cpu_cores,ram_gb,storage_gb,tflops,region,available_from_min,available_until_min,green_share,carbon_g_per_kwh,pue,utilisation";

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// POST JSON with an optional session (cookie, CSRF token); answers status, body, cookie.
fn post(
    agent: &ureq::Agent,
    url: &str,
    session: Option<(&str, &str)>,
    body: &Value,
) -> (u16, Value, Option<String>) {
    let mut req = agent.post(url).header("content-type", "application/json");
    if let Some((cookie, csrf)) = session {
        req = req.header("cookie", cookie).header("x-csrf-token", csrf);
    }
    let mut r = req.send(body.to_string()).unwrap();
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_owned);
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        cookie,
    )
}

fn login(agent: &ureq::Agent, base: &str, login: &str, password: &str) -> (String, String) {
    let (s, v, cookie) = post(
        agent,
        &format!("{base}/api/v1/auth/login"),
        None,
        &json!({"login": login, "password": password}),
    );
    assert_eq!(s, 200, "login {login}: {v}");
    (
        cookie.unwrap(),
        v["csrf_token"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn supplier_cli_imports_creates_lists_and_reports_the_chains_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let mut child = suanli()
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data"])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let agent = agent();
    let up = (0..400).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        agent.get(&format!("{base}/api/v1/health")).call().is_ok()
    });
    assert!(up, "suanli serve did not come up");
    let admin_pw = std::fs::read_to_string(dir.path().join("bootstrap-admin-password")).unwrap();
    let (cookie, csrf) = login(&agent, &base, "admin", admin_pw.trim());
    let first = "Supplier-First-Pw-1";
    let (s, v, _) = post(
        &agent,
        &format!("{base}/api/v1/orgs"),
        Some((&cookie, &csrf)),
        &json!({"kind": "supplier_resource", "name": "DC One",
                "admin": {"login": "dcone", "display_name": "DC One", "password": first}}),
    );
    assert_eq!(s, 201, "{v}");
    // The admin's first own password change creates its DID key.
    let (c, t) = login(&agent, &base, "dcone", first);
    let pw = "Supplier-Second-Pw-2";
    let (s, v, _) = post(
        &agent,
        &format!("{base}/api/v1/me/password"),
        Some((&c, &t)),
        &json!({"current_password": first, "new_password": pw}),
    );
    assert_eq!(s, 204, "{v}");
    let (c, t) = login(&agent, &base, "dcone", pw);
    let (s, v, _) = post(
        &agent,
        &format!("{base}/api/v1/me/tokens"),
        Some((&c, &t)),
        &json!({"name": "cli", "scopes": ["supply:read", "supply:manage"], "ttl_secs": 3600}),
    );
    assert_eq!(s, 201, "{v}");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, v["token"].as_str().unwrap()).unwrap();
    let pw_file = dir.path().join("pw");
    std::fs::write(&pw_file, pw).unwrap();
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_suanli"))
            .arg("supplier")
            .args(args)
            .args(["--platform", &base, "--token-file"])
            .arg(&token_file)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, format!("{HEAD}\nn1,DC,online,a100,8,80,128,1024,8000,2496,cn-west,0,100,0.5,300,1.2,0.1\nn2,DC,online,a100,8,80,128,1024,8000,2496,cn-west,0,100,0.5,300,4,0.1\n")).unwrap();
    let (ok, _, err) = cli(&["resource", "import", "--csv", bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("csv_invalid") && err.contains("line 3 column pue"),
        "{err}"
    );
    let (ok, out, err) = cli(&["resource", "list"]);
    assert!(ok, "{err}");
    assert!(out.trim().is_empty(), "nothing imported: {out}");
    let good = dir.path().join("good.csv");
    std::fs::write(
        &good,
        format!(
            "{HEAD}\nn1,DC,online,gpu-a100,8,80,128,1024,8000,2496,cn-west,0,100,0.5,300,1.2,0.1\n"
        ),
    )
    .unwrap();
    let (ok, out, err) = cli(&["resource", "import", "--csv", good.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("imported 1 resource(s)"), "{out}");
    let (ok, out, _) = cli(&["resource", "list"]);
    assert!(ok && out.contains("A100x8"), "{out}");

    let (s, v, _) = post(
        &agent,
        &format!("{base}/api/v1/supplier/modes"),
        Some((&c, &t)),
        &json!({"name": "m", "price_fen_per_min": 300, "min_charge_fen": 0, "checkin_period_min": 60,
                "weights": {"gpu": 1000}, "trade_start_cpt": 1, "checkin_cpt": 2}),
    );
    assert_eq!(s, 200, "{v}");
    let mode = v["mode"]["id"].to_string();
    let (ok, out, err) = cli(&[
        "offer",
        "create",
        "--title",
        "A100 x8",
        "--mode",
        &mode,
        "--resources",
        "1",
        "--units",
        "2",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("status draft"), "{out}");
    let (ok, out, _) = cli(&["offer", "list"]);
    assert!(ok && out.contains("\"A100 x8\""), "{out}");
    // Publishing signs with the supplier's key; its key is not enrolled as a supplier on
    // this chain (onboarding does that), so the chain refuses and the command says so.
    let out = Command::new(env!("CARGO_BIN_EXE_suanli"))
        .args([
            "supplier",
            "offer",
            "publish",
            "1",
            "--platform",
            &base,
            "--token-file",
        ])
        .arg(&token_file)
        .arg("--password-file")
        .arg(&pw_file)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("chain_refused"), "{err}");

    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    assert!(child.wait().unwrap().success());
}
