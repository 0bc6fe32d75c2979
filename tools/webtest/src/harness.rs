//! A platform with the web consoles on a loopback port, on its own data directory: what
//! the browser tests, the page benchmark (`suanli bench web`) and the screenshot command
//! (`suanli web screenshots`) run against. It is a *demo* instance: sandbox payments on,
//! cheap password hashing, a fixed administrator password — never a deployment.

use crate::WebtestError as WebError;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use suanli_platform_domain::clock::Clock;
use suanli_platform_http::config::{Argon2Config, Config, Secret};

/// The administrator password of a harness instance.
pub const HARNESS_ADMIN_PASSWORD: &str = "Harness-Admin-Pw-2026";

/// Time between the hosted-agent worker's passes in a harness instance, in milliseconds
/// (shorter than `suanli serve`'s, so tests see an agent's round soon).
pub const HARNESS_HOSTED_ROUND_MS: u64 = 1_000;

/// A running instance; stopped when dropped.
#[derive(Debug)]
pub struct Harness {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The address.
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The embedded ledger of [`Harness::start_with_ledger`], stopped after the server.
    pub ledger: Option<suanli_bridge::wiring::PlatformLedger>,
    /// The consumer side of service channels of [`Harness::start_with_ledger`] (issue
    /// 18), once its worker started.
    pub consumer_channels: Option<ConsumerSlot>,
}

/// Where the harness's consumer-channel handle is, once started.
pub type ConsumerSlot =
    Arc<std::sync::OnceLock<Arc<suanli_bridge::consumer_channels::ConsumerChannels>>>;

/// The configuration of a harness instance on `data_dir`.
pub fn config(data_dir: &Path) -> Config {
    let mut config = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: data_dir.to_path_buf(),
        argon2: Argon2Config {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        },
        bootstrap_admin_password: Some(Secret::new(HARNESS_ADMIN_PASSWORD.to_owned())),
        ..Config::default()
    };
    config.money.sandbox_payments = true;
    config
}

impl Harness {
    /// Starts the platform and the pages on `config` (its `listen` port may be 0), on a
    /// thread with its own runtime.
    pub fn start(config: Config, clock: Arc<dyn Clock>) -> Result<Self, WebError> {
        Self::start_inner(config, clock, None)
    }

    /// Like [`Harness::start`], with an embedded ledger node under the data directory
    /// (`DATA/node`) and every ledger port attached, as `suanli serve` has: DIDs, KYC
    /// enrolment, qualification verification (issue 16).
    pub fn start_with_ledger(config: Config, clock: Arc<dyn Clock>) -> Result<Self, WebError> {
        Self::start_with_ledger_on(config, clock, Arc::new(suanli_primitives::SystemClock))
    }

    /// [`Harness::start_with_ledger`] with the node's blocks and credentials dated by
    /// `chain_clock` (a test moves it to let check-in periods pass).
    pub fn start_with_ledger_on(
        config: Config,
        clock: Arc<dyn Clock>,
        chain_clock: Arc<dyn suanli_primitives::Clock>,
    ) -> Result<Self, WebError> {
        let internal = |e: &dyn std::fmt::Display| WebError::Internal(e.to_string());
        std::fs::create_dir_all(&config.data_dir).map_err(|e| internal(&e))?;
        let ledger = suanli_bridge::wiring::PlatformLedger::embedded(&config.data_dir, chain_clock)
            .map_err(|e| internal(&e))?;
        let key =
            suanli_primitives::SecretKey::load_or_generate(&config.data_dir.join("platform.key"))
                .map_err(|e| internal(&e))?;
        // Issue 18: the consumer-channel controller on a free loopback port, which the
        // orders name as their channel endpoint.
        let probe = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| internal(&e))?;
        let channel_addr = probe.local_addr().map_err(|e| internal(&e))?;
        drop(probe);
        let channel = suanli_bridge::channel_key::PlatformChannel::open(
            &config.data_dir,
            &format!("tcp://{channel_addr}"),
        )
        .map_err(|e| internal(&e))?;
        let ledger = ledger.with_channel(channel);
        let mut ports = ledger.ports(key).map_err(|e| internal(&e))?;
        ports.consumer_channels.listen = channel_addr;
        ports.consumer_channels.round_ms = HARNESS_HOSTED_ROUND_MS;
        let slot = ports.consumer_channels.slot();
        let mut h = Self::start_inner(config, clock, Some(ports))?;
        h.ledger = Some(ledger);
        h.consumer_channels = Some(slot);
        Ok(h)
    }

    fn start_inner(
        config: Config,
        clock: Arc<dyn Clock>,
        ports: Option<suanli_bridge::wiring::LedgerPorts>,
    ) -> Result<Self, WebError> {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel::<Result<SocketAddr, String>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = addr_tx.send(Err(e.to_string()));
                    return;
                }
            };
            rt.block_on(async move {
                // Issue 16: the hosted-agent worker runs beside a ledger, as in `suanli serve`.
                let mut hosted = None;
                // Issue 18: the consumer-channel worker too (see `start_with_ledger_on`).
                let mut channels = None;
                let platform = match suanli_platform_http::Platform::open(&config, clock).await {
                    Ok(p) => match ports {
                        Some(ports) => {
                            let mut wiring = ports.hosted.clone();
                            wiring.round_ms = HARNESS_HOSTED_ROUND_MS;
                            let channel_wiring = ports.consumer_channels.clone();
                            let p = ports.attach(p);
                            hosted = Some(wiring.start(p.state.clone(), &config.data_dir));
                            match channel_wiring.start(&config.data_dir).await {
                                Ok(w) => channels = Some(w),
                                Err(e) => {
                                    let _ = addr_tx.send(Err(e.to_string()));
                                    return;
                                }
                            }
                            p
                        }
                        None => p,
                    },
                    Err(e) => {
                        let _ = addr_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let listener = match tokio::net::TcpListener::bind(config.listen).await {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = addr_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let addr = listener.local_addr().map_err(|e| e.to_string());
                let _ = addr_tx.send(addr);
                let app = suanli_platform_web::router(platform.state.clone(), platform.router());
                let served = platform
                    .serve_app(app, listener, async {
                        let _ = stop_rx.await;
                    })
                    .await;
                if let Err(e) = served {
                    tracing::error!(error = %e, "harness server failed");
                }
                if let Some(h) = hosted {
                    let _ = tokio::task::spawn_blocking(move || h.stop()).await;
                }
                if let Some(w) = channels {
                    w.stop().await;
                }
            });
        });
        let addr = addr_rx
            .recv()
            .map_err(|e| WebError::Internal(e.to_string()))?
            .map_err(WebError::Internal)?;
        Ok(Harness {
            base: format!("http://{addr}"),
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
            ledger: None,
            consumer_channels: None,
        })
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let Some(l) = self.ledger.take() {
            l.stop();
        }
    }
}

/// A small HTTP client that keeps the session cookie and CSRF token of one user (for the
/// benchmark, the seeding of demo data and the tests).
#[derive(Debug)]
pub struct Client {
    /// Base URL.
    pub base: String,
    agent: ureq::Agent,
    /// `suanli_session=…`, once logged in.
    pub cookie: Option<String>,
    /// The session's CSRF token.
    pub csrf: Option<String>,
}

/// An answer: status and body text.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Body.
    pub body: String,
    /// `Location` header, if any.
    pub location: Option<String>,
    /// `name=value` of each `Set-Cookie` header.
    pub set_cookies: Vec<String>,
    /// `Cache-Control` header, if any.
    pub cache_control: Option<String>,
}

impl Answer {
    /// The body as JSON (`null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

impl Client {
    /// A client without a session. Redirects are not followed (tests look at them).
    pub fn new(base: &str) -> Self {
        let agent = ureq::Agent::new_with_config(
            ureq::config::Config::builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .max_idle_connections(0)
                .build(),
        );
        Client {
            base: base.to_owned(),
            agent,
            cookie: None,
            csrf: None,
        }
    }

    fn finish(
        r: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Answer, WebError> {
        let mut r = r.map_err(|e| WebError::Internal(e.to_string()))?;
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let cache_control = r
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let set_cookies = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .map(str::to_owned)
            .collect();
        let body = r
            .body_mut()
            .read_to_string()
            .map_err(|e| WebError::Internal(e.to_string()))?;
        Ok(Answer {
            status,
            body,
            location,
            set_cookies,
            cache_control,
        })
    }

    /// GET `path` with the session cookie.
    pub fn get(&self, path: &str) -> Result<Answer, WebError> {
        let mut req = self.agent.get(format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        Self::finish(req.call())
    }

    /// POST a form (`_csrf` added) to `path`.
    pub fn form(&self, path: &str, fields: &[(&str, &str)]) -> Result<Answer, WebError> {
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        if let Some(t) = &self.csrf {
            all.push(("_csrf", t));
        }
        let body =
            serde_urlencoded::to_string(&all).map_err(|e| WebError::Internal(e.to_string()))?;
        let mut req = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        Self::finish(req.send(body.as_bytes()))
    }

    /// POST JSON to the API (CSRF header and optional idempotency key added).
    pub fn api_post(
        &self,
        path: &str,
        body: &serde_json::Value,
        idem: Option<&str>,
    ) -> Result<Answer, WebError> {
        let mut req = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json");
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        if let Some(t) = &self.csrf {
            req = req.header("x-csrf-token", t);
        }
        if let Some(k) = idem {
            req = req.header("idempotency-key", k);
        }
        Self::finish(req.send(body.to_string().as_bytes()))
    }

    /// Logs in through the API; keeps the cookie and CSRF token.
    pub fn login(&mut self, login: &str, password: &str) -> Result<(), WebError> {
        let r = self
            .agent
            .post(format!("{}/api/v1/auth/login", self.base))
            .header("content-type", "application/json")
            .send(
                serde_json::json!({"login": login, "password": password})
                    .to_string()
                    .as_bytes(),
            );
        let mut r = r.map_err(|e| WebError::Internal(e.to_string()))?;
        if r.status().as_u16() != 200 {
            return Err(WebError::Internal(format!(
                "login {login}: {}",
                r.status().as_u16()
            )));
        }
        let cookie = r
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(str::to_owned);
        let body = r
            .body_mut()
            .read_to_string()
            .map_err(|e| WebError::Internal(e.to_string()))?;
        let v: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| WebError::Internal(e.to_string()))?;
        self.cookie = cookie;
        self.csrf = v["csrf_token"].as_str().map(str::to_owned);
        Ok(())
    }
}
