//! Shared test harness: a platform on a temporary data directory with a manual clock and
//! cheap argon2 parameters, served on 127.0.0.1:0 by its own tokio runtime, and a small
//! blocking client.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use std::sync::Arc;
use suanli_platform_domain::clock::ManualClock;
use suanli_platform_http::config::{Argon2Config, Config, Secret};

pub mod offers;

pub const ADMIN_PASSWORD: &str = "Bootstrap-Admin-Pw-1";
/// 2023-11-14T22:13:20Z.
pub const T0_MS: i64 = 1_700_000_000_000;

pub struct TestServer {
    pub base: String,
    pub clock: Arc<ManualClock>,
    pub dir: tempfile::TempDir,
    agent: ureq::Agent,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// How a request authenticates.
#[derive(Debug, Clone)]
pub enum Cred {
    None,
    /// Cookie session with its CSRF token.
    Session {
        cookie: String,
        csrf: String,
    },
    /// Cookie session without sending the CSRF token.
    SessionNoCsrf {
        cookie: String,
    },
    /// API token.
    Bearer(String),
}

impl Cred {
    pub fn without_csrf(&self) -> Cred {
        match self {
            Cred::Session { cookie, .. } => Cred::SessionNoCsrf {
                cookie: cookie.clone(),
            },
            other => other.clone(),
        }
    }
}

impl TestServer {
    pub fn start() -> Self {
        Self::start_with(|_| {})
    }

    pub fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        Self::start_full(tweak, None, None)
    }

    /// A platform with an identity chain (a test double of the binary's ledger registry).
    pub fn start_with_dids(dids: Arc<dyn suanli_platform_http::keys::DidRegistry>) -> Self {
        Self::start_full(|_| {}, Some(dids), None)
    }

    pub fn start_full(
        tweak: impl FnOnce(&mut Config),
        dids: Option<Arc<dyn suanli_platform_http::keys::DidRegistry>>,
        enrolment: Option<Arc<dyn suanli_platform_http::kyc::PartyEnrolment>>,
    ) -> Self {
        Self::start_all(tweak, dids, enrolment, None, None)
    }

    // --- supply (issue 16, supply helper)
    /// A platform whose suppliers publish through `supply` (a test double of the trade
    /// chain).
    pub fn start_with_supply(
        supply: Arc<dyn suanli_platform_http::supply_ledger::SupplyLedger>,
    ) -> Self {
        Self::start_ext(|_| {}, None, None, Some(supply))
    }

    pub fn start_ext(
        tweak: impl FnOnce(&mut Config),
        dids: Option<Arc<dyn suanli_platform_http::keys::DidRegistry>>,
        enrolment: Option<Arc<dyn suanli_platform_http::kyc::PartyEnrolment>>,
        supply: Option<Arc<dyn suanli_platform_http::supply_ledger::SupplyLedger>>,
    ) -> Self {
        Self::start_all(tweak, dids, enrolment, supply, None)
    }

    /// [`TestServer::start_full`] with the supplier agent's chain port too.
    pub fn start_ports(
        tweak: impl FnOnce(&mut Config),
        dids: Option<Arc<dyn suanli_platform_http::keys::DidRegistry>>,
        enrolment: Option<Arc<dyn suanli_platform_http::kyc::PartyEnrolment>>,
        agent_keys: Option<Arc<dyn suanli_platform_http::agent_keys::AgentKeys>>,
    ) -> Self {
        Self::start_all(tweak, dids, enrolment, None, agent_keys)
    }

    /// A platform with every optional port given.
    pub fn start_all(
        tweak: impl FnOnce(&mut Config),
        dids: Option<Arc<dyn suanli_platform_http::keys::DidRegistry>>,
        enrolment: Option<Arc<dyn suanli_platform_http::kyc::PartyEnrolment>>,
        supply: Option<Arc<dyn suanli_platform_http::supply_ledger::SupplyLedger>>,
        agent_keys: Option<Arc<dyn suanli_platform_http::agent_keys::AgentKeys>>,
    ) -> Self {
        Self::start_platform(
            tweak,
            Box::new(move |mut platform| {
                if let Some(d) = dids {
                    platform = platform.with_did_registry(d);
                }
                if let Some(e) = enrolment {
                    platform = platform.with_enrolment(e);
                }
                if let Some(l) = supply {
                    platform = platform.with_supply_ledger(l);
                }
                if let Some(k) = agent_keys {
                    platform = platform.with_agent_keys(k);
                }
                platform
            }),
        )
    }

    /// A platform given its ports by `attach` (any of `with_…`).
    pub fn start_platform(
        tweak: impl FnOnce(&mut Config),
        attach: Box<
            dyn FnOnce(suanli_platform_http::Platform) -> suanli_platform_http::Platform + Send,
        >,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(T0_MS.unsigned_abs()));
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().join("data"),
            argon2: Argon2Config {
                memory_kib: 64,
                iterations: 1,
                parallelism: 1,
            },
            key_wrap: Argon2Config {
                memory_kib: 64,
                iterations: 1,
                parallelism: 1,
            },
            bootstrap_admin_password: Some(Secret::new(ADMIN_PASSWORD)),
            ..Config::default()
        };
        config.money.sandbox_payments = true;
        tweak(&mut config);
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let c = clock.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let platform = attach(
                    suanli_platform_http::Platform::open(&config, c)
                        .await
                        .unwrap(),
                );
                let listener = tokio::net::TcpListener::bind(config.listen).await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                platform
                    .serve(listener, async {
                        let _ = stop_rx.await;
                    })
                    .await
                    .unwrap();
            });
        });
        let addr = addr_rx.recv().unwrap();
        // No pooled connections: a request refused before its body was read (e.g. 401
        // on a POST) leaves a connection the server closes, and reusing it from the pool
        // failed now and then with "peer disconnected".
        let agent = ureq::Agent::new_with_config(
            ureq::config::Config::builder()
                .http_status_as_error(false)
                .max_idle_connections(0)
                .build(),
        );
        TestServer {
            base: format!("http://{addr}"),
            clock,
            dir,
            agent,
            shutdown: Some(stop_tx),
            thread: Some(thread),
        }
    }

    pub fn db_path(&self) -> std::path::PathBuf {
        self.dir.path().join("data").join("ops.db")
    }

    /// Sends raw bytes with explicit headers; returns status, JSON body (or the text as a
    /// JSON string) and the response headers.
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        cred: &Cred,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, Value, ureq::http::HeaderMap) {
        self.raw_headers(method, path, cred, content_type, &[], body)
    }

    /// POSTs `body` as JSON with header `Idempotency-Key: key`.
    pub fn post_keyed(&self, path: &str, cred: &Cred, key: &str, body: Value) -> (u16, Value) {
        let bytes = serde_json::to_vec(&body).unwrap();
        let extra = [("idempotency-key", key)];
        let (s, v, _) =
            self.raw_headers("POST", path, cred, Some("application/json"), &extra, bytes);
        s_check(s, &v);
        (s, v)
    }

    /// [`Self::raw`] with `extra` headers.
    pub fn raw_headers(
        &self,
        method: &str,
        path: &str,
        cred: &Cred,
        content_type: Option<&str>,
        extra: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (u16, Value, ureq::http::HeaderMap) {
        let mut b = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{}", self.base, path))
            .header("user-agent", "suanli-tests/1");
        for (k, v) in extra {
            b = b.header(*k, *v);
        }
        if let Some(ct) = content_type {
            b = b.header("content-type", ct);
        }
        match cred {
            Cred::None => {}
            Cred::Session { cookie, csrf } => {
                b = b
                    .header("cookie", format!("suanli_session={cookie}"))
                    .header("x-csrf-token", csrf);
            }
            Cred::SessionNoCsrf { cookie } => {
                b = b.header("cookie", format!("suanli_session={cookie}"));
            }
            Cred::Bearer(t) => {
                b = b.header("authorization", format!("Bearer {t}"));
            }
        }
        let req = b.body(body).unwrap();
        let mut res = self.agent.run(req).unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.body_mut().read_to_string().unwrap_or_default();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value, headers)
    }

    pub fn call(&self, method: &str, path: &str, cred: &Cred, body: Option<Value>) -> (u16, Value) {
        let (ct, bytes) = match body {
            Some(v) => (Some("application/json"), serde_json::to_vec(&v).unwrap()),
            None => (None, Vec::new()),
        };
        let (s, v, _) = self.raw(method, path, cred, ct, bytes);
        s_check(s, &v);
        (s, v)
    }

    pub fn get(&self, path: &str, cred: &Cred) -> (u16, Value) {
        self.call("GET", path, cred, None)
    }

    pub fn post(&self, path: &str, cred: &Cred, body: Value) -> (u16, Value) {
        self.call("POST", path, cred, Some(body))
    }

    pub fn try_login(
        &self,
        login: &str,
        password: &str,
        extra: Value,
    ) -> (u16, Value, Option<Cred>) {
        let mut body = json!({"login": login, "password": password});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        let (s, v, headers) = self.raw(
            "POST",
            "/api/v1/auth/login",
            &Cred::None,
            Some("application/json"),
            serde_json::to_vec(&body).unwrap(),
        );
        s_check(s, &v);
        let cred = headers
            .get("set-cookie")
            .and_then(|h| h.to_str().ok())
            .and_then(|c| c.strip_prefix("suanli_session="))
            .and_then(|c| c.split(';').next())
            .map(|cookie| Cred::Session {
                cookie: cookie.to_owned(),
                csrf: v["csrf_token"].as_str().unwrap_or_default().to_owned(),
            });
        (s, v, cred)
    }

    pub fn login(&self, login: &str, password: &str) -> Cred {
        let (s, v, cred) = self.try_login(login, password, json!({}));
        assert_eq!(s, 200, "login {login}: {v}");
        cred.expect("session cookie")
    }

    pub fn admin(&self) -> Cred {
        self.login("admin", ADMIN_PASSWORD)
    }

    /// Creates a user in `org` (as `by`) and logs it in.
    pub fn user(&self, by: &Cred, org: i64, login: &str, roles: &[&str]) -> (i64, Cred) {
        let (s, v) = self.post(
            &format!("/api/v1/orgs/{org}/users"),
            by,
            json!({"login": login, "display_name": login, "password": pw(login), "roles": roles}),
        );
        assert_eq!(s, 201, "create user {login}: {v}");
        (
            v["user"]["id"].as_i64().unwrap(),
            self.login(login, &pw(login)),
        )
    }

    /// Creates an organisation with its admin (as the operator) and logs the admin in.
    pub fn org(&self, op: &Cred, kind: &str, name: &str, admin: &str) -> (i64, i64, Cred) {
        let (s, v) = self.post(
            "/api/v1/orgs",
            op,
            json!({"kind": kind, "name": name,
                   "admin": {"login": admin, "display_name": admin, "password": pw(admin)}}),
        );
        assert_eq!(s, 201, "create org {name}: {v}");
        (
            v["org"]["id"].as_i64().unwrap(),
            v["admin"]["id"].as_i64().unwrap(),
            self.login(admin, &pw(admin)),
        )
    }

    /// Registers an enterprise, has the operator approve it, logs its admin in.
    pub fn enterprise(
        &self,
        op: &Cred,
        login: &str,
        code: &str,
        invite: Option<&str>,
    ) -> (i64, i64, Cred) {
        let mut body = json!({
            "login": login, "password": pw(login), "display_name": login,
            "company_name": format!("{login} Co., Ltd."), "credit_code": code,
            "licence_ref": "LIC-2024-0001", "legal_person": "Zhang San",
        });
        if let Some(i) = invite {
            body["invite_code"] = json!(i);
        }
        let (s, v) = self.post("/api/v1/registrations/enterprise", &Cred::None, body);
        assert_eq!(s, 201, "register {login}: {v}");
        let rid = v["registration"]["id"].as_i64().unwrap();
        let (s, v2) = self.post(
            &format!("/api/v1/registrations/{rid}/approve"),
            op,
            json!({}),
        );
        assert_eq!(s, 200, "approve {login}: {v2}");
        (
            v["registration"]["org"].as_i64().unwrap(),
            v["registration"]["user"].as_i64().unwrap(),
            self.login(login, &pw(login)),
        )
    }
}

/// The password tests give user `login`.
/// (Derived from the login without containing it, which the policy forbids.)
pub fn pw(login: &str) -> String {
    let hex: String = login.bytes().map(|b| format!("{b:02x}")).collect();
    format!("Pw-{hex}-Long")
}

/// Every answer is JSON; every error has the contract's shape; nothing is a 500.
fn s_check(status: u16, v: &Value) {
    assert!(status < 500, "server error {status}: {v}");
    if status >= 400 {
        assert!(
            v["error"]["code"].is_string(),
            "error without code: {status} {v}"
        );
        assert!(
            v["error"]["message"].is_string(),
            "error without message: {v}"
        );
    }
}

/// Asserts an error status and code.
#[track_caller]
pub fn assert_err(got: (u16, Value), status: u16, code: &str) {
    assert_eq!(
        (got.0, got.1["error"]["code"].as_str()),
        (status, Some(code)),
        "{}",
        got.1
    );
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Valid unified social credit codes for tests (check characters computed).
pub const CODES: [&str; 3] = [
    "91350100M000100Y43",
    "91110000802100433B",
    "91440300708461136T",
];
/// A valid resident ID number (the GB 11643 example).
pub const ID_NUMBER: &str = "11010519491231002X";
