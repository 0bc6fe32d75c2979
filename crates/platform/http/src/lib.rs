//! suanli-platform-http: the operations platform's HTTP JSON API (`/api/v1`) and the typed
//! service layer under it.
//!
//! Owns: the typed service layer ([`service`]: one function per platform operation —
//! `service::orders::place(state, caller, idem, &NewOrder) -> Result<OrderOutcome,
//! ServiceError>` and so on — where authorisation, organisation visibility, limits and
//! validation live once; the JSON handlers and the web consoles both call it),
//! configuration ([`config`]), the JSON error contract ([`error`]), authentication
//! (password + TOTP login, cookie sessions with CSRF tokens, scoped API tokens — in
//! [`auth`]), the request extractors and the audit/metrics middleware ([`http`]), the
//! endpoint handlers that decode requests, call the service and encode answers
//! ([`handlers`]; money endpoints — catalogue, accounts, recharge, orders, instances,
//! bills — in [`money_api`]), the payment-provider interface with its clearly labelled
//! sandbox, signed webhooks and the [`payment::SettlementMirror`] chain interface
//! ([`payment`]), users' DID keys sealed under their passwords and their DIDs ([`keys`]),
//! approval → KYC credential → trade-chain enrolment ([`kyc`]), the route table that both
//! builds the router and the OpenAPI document ([`routes`]), Prometheus metrics
//! ([`metrics`]) and start-up ([`Platform`]).
//!
//! The service layer lives in this crate (not a crate of its own) because it needs what
//! the edge owns — the authenticated caller ([`auth::Authed`]), the password hasher, the
//! field cipher, key custody and the payment provider in [`AppState`] — and it is still
//! the edge layer: it knows no HTTP (no status codes, headers or JSON bodies);
//! [`service::ServiceError`] carries stable codes that [`error::ApiError`] maps to
//! statuses.
//!
//! Invariants:
//! - every endpoint except login, registration, health, metrics and the OpenAPI document
//!   requires a principal, and every service function checks a permission from
//!   [`suanli_platform_domain::Permission`] and the organisation visibility from
//!   [`suanli_platform_domain::authz`]; objects outside the caller's visibility answer `404`, never
//!   `403`, so ids of other organisations cannot be probed;
//! - every state-changing request (any method but GET/HEAD/OPTIONS) is appended to the
//!   hash-chained audit log with actor, action, target, IP, user agent and outcome;
//! - request bodies are capped at [`http::BODY_BYTES_MAX`], pages at
//!   [`suanli_platform_store::PAGE_SIZE_MAX`]; bad input answers 4xx with a stable code;
//! - passwords, tokens, TOTP secrets and ID numbers are never logged; the database holds
//!   only argon2id hashes of passwords, SHA-256 digests of tokens and recovery codes, and
//!   XChaCha20-Poly1305 ciphertext of ID numbers and TOTP secrets — and of users' DID
//!   keys, under keys derived from their passwords that it does not keep ([`keys`]).
//!
//! Start reading at [`routes`] (what exists), then [`service`] (what each operation
//! checks) and [`auth`].

// The supplier agent's chain port (issue 16, the agent's part).
pub mod agent_keys;
pub mod auth;
pub mod config;

/// The domain and store crates, re-exported for the binary (`suanli ops reconcile`,
/// `suanli bench api`).
pub use suanli_platform_domain as domain;
pub use suanli_platform_store as store;
pub mod crypto;
pub mod error;
pub mod handlers;
pub mod hosted_agents; // issue 16, platform-hosted agents
pub mod http;
pub mod keys;
pub mod kyc;
pub mod metrics;
pub mod money_api;
pub mod onboarding;
pub mod payment;
pub mod routes;
pub mod service;
// --- supply (issue 16, supply helper)
pub mod supply_ledger;
pub mod trade_book; // issue 16, supplier money
// --- payout burns (issue 16, payout helper)
pub mod payout_ledger;
// --- the market in the product (issue 17)
pub mod market_index;
// --- trades (issue 18, H-trades)
pub mod exchange;
pub mod trade_ledger;
// Issue 18, billing: bills, notices and the operator view's chain side.
pub mod trade_desk;

use config::Config;
use std::net::SocketAddr;
use std::sync::Arc;
use suanli_platform_domain::clock::Clock;
use suanli_platform_store::{OpsStore, PgStore, SqliteStore};

/// The system clock (the one `Clock` of `suanli-primitives`): the only clock the platform
/// reads in production.
pub use suanli_platform_domain::clock::SystemClock;

/// Publishes the audit-log head somewhere tamper-evident (the trade chain). The server
/// calls it after every appended record with the new head; it must not block (queue and
/// anchor in the background). This crate has no implementation: it does not depend on
/// the ledger; the binary plugs one in with [`Platform::with_anchor`], and without one
/// the server logs at start-up that the audit head is not anchored.
pub trait AuditAnchor: Send + Sync + std::fmt::Debug {
    /// Anchors head `hash` at sequence number `seq`.
    fn anchor(&self, seq: u64, hash: [u8; 32]) -> Result<(), PortError>;
}

/// The error of the ledger ports this crate defines and the binary implements
/// ([`AuditAnchor`], [`keys::DidRegistry`], [`kyc::PartyEnrolment`],
/// [`payment::SettlementMirror`]). This crate does not know the implementation's error
/// types, so a ledger failure carries it boxed as its source (downcast to read it).
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// The request cannot succeed as given (a DID not on the chain, a key that is not the
    /// DID's, malformed claims or amounts): retrying the same request will not help.
    #[error("{message}")]
    Refused {
        /// A stable machine-readable code.
        code: &'static str,
        /// What is wrong, for people.
        message: String,
    },
    /// The ledger failed, refused the transaction or could not be reached.
    #[error(transparent)]
    Ledger(Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl PortError {
    /// A ledger failure with `source` as its cause.
    pub fn ledger(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        PortError::Ledger(Box::new(source))
    }

    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            PortError::Refused { code, .. } => code,
            PortError::Ledger(_) => "ledger",
        }
    }
}

/// Start-up failures.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Data directory problems.
    #[error("data directory {0}: {1}")]
    DataDir(String, std::io::Error),
    /// Store problems.
    #[error(transparent)]
    Store(#[from] suanli_platform_store::StoreError),
    /// Key or hashing problems.
    #[error(transparent)]
    Crypto(#[from] crypto::CryptoError),
    /// Bind/serve problems.
    #[error("listen on {0}: {1}")]
    Listen(String, std::io::Error),
    /// Money configuration problems.
    #[error("money configuration: {0}")]
    Money(String),
    /// The payment provider's configuration (the sandbox webhook secret).
    #[error("payment configuration: {0}")]
    Payment(#[from] payment::PaymentError),
    /// Key-custody configuration problems.
    #[error("[key_wrap] configuration: {0}")]
    Keys(#[from] keys::KeyError),
}

/// Everything a request handler needs.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The operations store.
    pub store: Arc<dyn OpsStore>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Password hashing.
    pub hasher: crypto::PasswordHasher,
    /// Field encryption.
    pub cipher: crypto::FieldCipher,
    /// Whether session cookies carry `Secure`.
    pub cookie_secure: bool,
    /// Counters.
    pub metrics: Arc<metrics::Metrics>,
    /// Audit anchor, when one exists.
    pub anchor: Option<Arc<dyn AuditAnchor>>,
    /// A hash verified against when a login is unknown, so timing does not reveal it.
    pub dummy_hash: Arc<str>,
    /// Failed logins per client address (in memory, per process).
    pub login_failures: Arc<std::sync::Mutex<suanli_platform_domain::throttle::FailureWindow>>,
    /// Registrations per client address (in memory, per process).
    pub registrations: Arc<std::sync::Mutex<suanli_platform_domain::throttle::FailureWindow>>,
    /// Payment provider and lifecycle settings.
    pub money: Arc<payment::MoneyState>,
    /// Seals and opens users' DID keys (`docs/key-custody.md`).
    pub custody: keys::Custody,
    /// Creates DIDs on the identity chain, when one is attached.
    pub dids: Option<Arc<dyn keys::DidRegistry>>,
    /// Issues KYC credentials and enrols approved parties on the trade chain, when a
    /// ledger with the KYC authority's key is attached.
    pub enrolment: Option<Arc<dyn kyc::PartyEnrolment>>,
    /// Wakes the DID worker after a key with a DID-creating transaction was stored.
    pub did_kick: Arc<tokio::sync::Notify>,
    // --- issue 16, onboarding
    /// Verifies suppliers' qualification credentials and reads trade-chain enrolments,
    /// when a ledger is attached.
    pub onboarding: Option<Arc<dyn onboarding::OnboardingLedger>>,
    /// Publishes suppliers' modes and offers on the trade chain, signed by their keys,
    /// when a ledger is attached (`supply_ledger`).
    pub supply_ledger: Option<Arc<dyn supply_ledger::SupplyLedger>>,
    /// Reads suppliers' trades and reputation from the trade chain, when attached
    /// (issue 16, supplier money).
    pub trade_book: Option<Arc<dyn trade_book::TradeBook>>,
    // --- payout burns (issue 16, payout helper)
    /// Supplier payouts' settlement credits on the trade chain (`None`: no chain attached,
    /// payouts cannot be requested).
    pub payout_ledger: Option<Arc<dyn payout_ledger::PayoutLedger>>,
    /// The supplier agent's chain port (trade facts for work orders), when a ledger is
    /// attached.
    pub agent_keys: Option<Arc<dyn agent_keys::AgentKeys>>,
    // --- issue 16, platform-hosted agents
    /// What hosting suppliers' agents needs from the agent and the chains, when a ledger
    /// is attached.
    pub hosted_agents: Option<Arc<dyn hosted_agents::HostedAgentPort>>,
    /// Seals hosted agents' keys (its key file is `<data_dir>/hosted-agents.key`).
    pub hosted_keyring: Arc<hosted_agents::Keyring>,
    /// The market's in-memory index of listed offers (issue 17).
    pub market: Arc<market_index::MarketIndex>,
    // --- trades (issue 18, H-trades)
    /// The trade chain as the exchange uses it (orders, records, wallets), when attached.
    pub trade_ledger: Option<Arc<dyn trade_ledger::TradeLedger>>,
    /// The organisation wallets' mirror (mint on cash in, burn on cash out), sent
    /// continuously by the exchange worker when attached.
    pub mirror: Option<Arc<dyn payment::SettlementMirror>>,
    /// Wakes the exchange worker (after an order or a limit change).
    pub exchange_kick: Arc<tokio::sync::Notify>,
    /// Serialises the exchange's transactions signed with the operator key (wallet mints,
    /// burns and member limits), so two of them never take the same nonce.
    pub operator_lock: Arc<tokio::sync::Mutex<()>>,
    // --- issue 18, billing
    /// Top-ups, channel notices, channels and bundles of trades (`docs/exchange.md` §6–8),
    /// when a chain is attached.
    pub trade_desk: Option<Arc<dyn trade_desk::TradeDesk>>,
}

impl AppState {
    /// See [`AppState::dummy_hash`].
    pub fn dummy_hash(&self) -> String {
        self.dummy_hash.to_string()
    }
}

/// The platform: an opened store plus everything around it.
#[derive(Debug)]
pub struct Platform {
    /// Shared state.
    pub state: AppState,
}

/// Login of the first operator administrator.
pub const BOOTSTRAP_ADMIN_LOGIN: &str = "admin";
/// File under the data directory holding a generated bootstrap password.
pub const BOOTSTRAP_PASSWORD_FILE: &str = "bootstrap-admin-password";

impl Platform {
    /// Opens the data directory and store, applies migrations, creates the operator
    /// organisation and its administrator on an empty database.
    pub async fn open(config: &Config, clock: Arc<dyn Clock>) -> Result<Self, ServerError> {
        let dir = &config.data_dir;
        std::fs::create_dir_all(dir)
            .map_err(|e| ServerError::DataDir(dir.display().to_string(), e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| ServerError::DataDir(dir.display().to_string(), e))?;
        }
        let store: Arc<dyn OpsStore> = match &config.database_url {
            Some(url) => Arc::new(PgStore::connect(url.expose()).await?),
            None => Arc::new(SqliteStore::open(&dir.join("ops.db")).await?),
        };
        let cipher = match &config.field_key {
            Some(k) => crypto::FieldCipher::from_hex(k.expose())?,
            None => crypto::FieldCipher::load_or_create(dir)?,
        };
        let lifecycle = config.money.lifecycle();
        lifecycle
            .validate()
            .map_err(|e| ServerError::Money(e.to_owned()))?;
        let secret = payment::sandbox_secret(
            dir,
            config
                .money
                .sandbox_webhook_secret
                .as_ref()
                .map(config::Secret::expose),
        )
        .map_err(ServerError::Payment)?;
        let money = Arc::new(payment::MoneyState {
            provider: Arc::new(payment::SandboxProvider::new(&secret)),
            sandbox_enabled: config.money.sandbox_payments,
            lifecycle,
        });
        let hasher = crypto::PasswordHasher::new(config.argon2)?;
        let dummy_hash: Arc<str> = hasher.hash(&crypto::random_token()?)?.into();
        let state = AppState {
            store,
            clock,
            hasher,
            dummy_hash,
            login_failures: Arc::default(),
            registrations: Arc::default(),
            cipher,
            cookie_secure: config.cookie_secure,
            metrics: Arc::default(),
            anchor: None,
            money,
            custody: keys::Custody::new(config.key_wrap)?,
            dids: None,
            enrolment: None,
            supply_ledger: None,
            did_kick: Arc::default(),
            onboarding: None,
            trade_book: None,
            payout_ledger: None, // payout burns
            agent_keys: None,
            hosted_agents: None,
            hosted_keyring: Arc::new(hosted_agents::Keyring::new(
                dir.join(hosted_agents::HOSTED_KEY_FILE),
            )),
            market: Arc::default(),
            trade_ledger: None, // issue 18
            mirror: None,
            exchange_kick: Arc::default(),
            operator_lock: Arc::default(),
            trade_desk: None, // issue 18, billing
        };
        let platform = Self { state };
        platform.bootstrap(config).await?;
        tracing::info!(
            backend = platform.state.store.backend(),
            "operations store ready"
        );
        Ok(platform)
    }

    async fn bootstrap(&self, config: &Config) -> Result<(), ServerError> {
        let s = &self.state;
        if s.store.any_org().await? {
            return Ok(());
        }
        let password = match &config.bootstrap_admin_password {
            Some(p) => p.expose().to_owned(),
            None => {
                let p = crypto::random_token()?[..24].to_owned();
                let path = config.data_dir.join(BOOTSTRAP_PASSWORD_FILE);
                crypto::write_private(&path, p.as_bytes())
                    .map_err(|e| ServerError::DataDir(path.display().to_string(), e))?;
                tracing::warn!(
                    file = %path.display(),
                    "created operator administrator `admin`; its password is in the file (change it)"
                );
                p
            }
        };
        let now = s.clock.now_unix_ms();
        let org = s
            .store
            .create_org(&suanli_platform_store::NewOrg {
                kind: suanli_platform_domain::OrgKind::Operator,
                name: "Operator".into(),
                status: suanli_platform_domain::OrgStatus::Active,
                distributor: None,
                created_ms: now,
            })
            .await?;
        let hash = s.hasher.hash(&password)?;
        s.store
            .create_user(&suanli_platform_store::NewUser {
                org: org.id,
                login: BOOTSTRAP_ADMIN_LOGIN.into(),
                display_name: "Operator administrator".into(),
                password_hash: hash,
                roles: vec![
                    suanli_platform_domain::Role::OperatorAdmin,
                    suanli_platform_domain::Role::SystemAdmin,
                ],
                created_ms: now,
            })
            .await?;
        Ok(())
    }

    /// Anchors every new audit head through `anchor`.
    pub fn with_anchor(mut self, anchor: Arc<dyn AuditAnchor>) -> Self {
        self.state.anchor = Some(anchor);
        self
    }

    /// Creates users' DIDs on the identity chain through `registry`.
    pub fn with_did_registry(mut self, registry: Arc<dyn keys::DidRegistry>) -> Self {
        self.state.dids = Some(registry);
        self
    }

    /// Attaches the trade chain suppliers publish on ([`supply_ledger::SupplyLedger`]).
    pub fn with_supply_ledger(mut self, ledger: Arc<dyn supply_ledger::SupplyLedger>) -> Self {
        self.state.supply_ledger = Some(ledger);
        self
    }

    /// Issues KYC credentials and enrols approved parties through `enrolment`.
    pub fn with_enrolment(mut self, enrolment: Arc<dyn kyc::PartyEnrolment>) -> Self {
        self.state.enrolment = Some(enrolment);
        self
    }

    /// Verifies qualification credentials and reads enrolments through `ledger`.
    pub fn with_onboarding(mut self, ledger: Arc<dyn onboarding::OnboardingLedger>) -> Self {
        self.state.onboarding = Some(ledger);
        self
    }

    /// Reads suppliers' trades from the trade chain through `book` (issue 16).
    pub fn with_trade_book(mut self, book: Arc<dyn trade_book::TradeBook>) -> Self {
        self.state.trade_book = Some(book);
        self
    }

    // --- payout burns (issue 16, payout helper)
    /// Attaches the chain side of supplier payouts.
    pub fn with_payout_ledger(mut self, ledger: Arc<dyn payout_ledger::PayoutLedger>) -> Self {
        self.state.payout_ledger = Some(ledger);
        self
    }

    /// Reads trades for the supplier agent's work orders through `port`.
    pub fn with_agent_keys(mut self, port: Arc<dyn agent_keys::AgentKeys>) -> Self {
        self.state.agent_keys = Some(port);
        self
    }

    /// Hosts suppliers' agents through `port` (issue 16).
    pub fn with_hosted_agents(mut self, port: Arc<dyn hosted_agents::HostedAgentPort>) -> Self {
        self.state.hosted_agents = Some(port);
        self
    }

    // --- trades (issue 18, H-trades)
    /// Attaches the trade chain's exchange side (orders as trades, wallets).
    pub fn with_trade_ledger(mut self, ledger: Arc<dyn trade_ledger::TradeLedger>) -> Self {
        self.state.trade_ledger = Some(ledger);
        self
    }

    /// Attaches the trade desk (issue 18, billing: top-ups, notices, channels, bundles).
    pub fn with_trade_desk(mut self, desk: Arc<dyn trade_desk::TradeDesk>) -> Self {
        self.state.trade_desk = Some(desk);
        self
    }

    /// Attaches the wallet mirror, sent continuously by the exchange worker.
    pub fn with_mirror(mut self, mirror: Arc<dyn payment::SettlementMirror>) -> Self {
        self.state.mirror = Some(mirror);
        self
    }

    /// The HTTP application.
    pub fn router(&self) -> axum::Router {
        routes::router(self.state.clone())
    }

    /// Serves on `listener` until `shutdown` completes (graceful: in-flight requests
    /// finish).
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let app = self.router();
        self.serve_app(app, listener, shutdown).await
    }

    /// Like [`Platform::serve`], but serves `app` — a router that includes this API (the
    /// binary passes the web consoles, which forward `/api/…` to [`Platform::router`]).
    pub async fn serve_app(
        self,
        app: axum::Router,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let addr = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        tracing::info!(
            %addr,
            audit_anchoring = self.state.anchor.is_some(),
            "listening"
        );
        if self.state.anchor.is_none() {
            tracing::warn!(
                "no audit anchor configured: the audit head is not anchored on a ledger"
            );
        }
        match &self.state.dids {
            None => {
                tracing::warn!("no identity chain attached: users' keys are created without a DID")
            }
            Some(r) => {
                tokio::spawn(keys::did_worker(
                    Arc::clone(&self.state.store),
                    Arc::clone(r),
                    Arc::clone(&self.state.clock),
                    Arc::clone(&self.state.did_kick),
                ));
            }
        }
        // Issue 17: the market index kept current and standing demands matched.
        tokio::spawn(market_index::demand_worker(self.state.clone()));
        // --- trades (issue 18, H-trades)
        if self.state.trade_ledger.is_some() || self.state.mirror.is_some() {
            tokio::spawn(exchange::worker(self.state.clone()));
        } else {
            tracing::warn!(
                "no trade chain attached: orders are not traded on the chain and wallets are not mirrored"
            );
        }
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(|e| ServerError::Listen(addr, e))
    }
}

/// Completes on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
