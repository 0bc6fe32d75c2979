//! Shared setup of the browser tests that trade on a chain (`tests/browser_exchange_story.rs`,
//! `tests/browser_market_orders.rs`): a platform with an embedded ledger whose clock the
//! test moves ([`Skip`]), a supplier registered with its credential and approved
//! ([`onboard_supplier`]), its resource, mode and offer published on the supplier's pages
//! ([`list_offer`]), and a personal consumer registered, approved and recharged
//! ([`consumer`]).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::WebtestError as WebError;
use crate::harness::{HARNESS_ADMIN_PASSWORD, Harness, config};
use crate::onboarding::Certifier;
use crate::shots::login;
use crate::webdriver::{Driver, Session};
use suanli_platform_domain::clock::ManualClock;
use suanli_primitives::Clock;

/// The supplier's unified social credit code (its credential's subject).
pub const CODE: &str = "91510100MA6CGREEN8";
/// The supplier administrator's login.
pub const LOGIN: &str = "gpupark";
/// Its password.
pub const PASSWORD: &str = "Green-A100-Park-9";
/// The consumer's login.
pub const BUYER: &str = "zhaoliu";
/// Its password.
pub const BUYER_PASSWORD: &str = "Zhao-Liu-Password-9";
/// The supplier's resource: an A100 80 GB node in cn-west, hydro-powered.
pub const CSV: &str = "name,location,status,gpu_model,gpu_count,gpu_mem_gb,cpu_cores,ram_gb,storage_gb,tflops,region,available_from_min,available_until_min,green_share,carbon_g_per_kwh,pue,utilisation
hydro-a100-01,Ya'an hall 1,online,gpu-a100,8,80,128,1024,7680,2496,cn-west,0,5256000,0.92,35,1.15,0.4
";
/// The mode's price, fen per minute (¥1.80).
pub const PRICE_FEN_PER_MIN: i64 = 180;
/// Browser window of the sessions.
const WINDOW_PX: (u32, u32) = (1280, 900);

/// Real time plus an offset the test moves forward (the chain's and the agent's clock).
#[derive(Debug, Default)]
pub struct Skip(pub AtomicI64);

impl Clock for Skip {
    fn now_ms(&self) -> u64 {
        suanli_primitives::SystemClock
            .now_ms()
            .saturating_add_signed(self.0.load(Ordering::SeqCst))
    }
}

/// Real time, unix ms.
pub fn real_ms() -> i64 {
    i64::try_from(suanli_primitives::SystemClock.now_ms()).unwrap_or(i64::MAX)
}

/// A platform with an embedded ledger on `dir`, its clocks, and the supplier's
/// qualification credential issued by the identity chain's authority.
pub struct TradingPlatform {
    /// The platform.
    pub h: Harness,
    /// The platform's clock (starts at real time).
    pub pclock: Arc<ManualClock>,
    /// The chain's clock.
    pub chain_clock: Arc<Skip>,
    /// The supplier's credential (JSON) for [`CODE`].
    pub vc: String,
}

impl std::fmt::Debug for TradingPlatform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TradingPlatform")
            .field("base", &self.h.base)
            .finish_non_exhaustive()
    }
}

impl TradingPlatform {
    /// Starts it on SQLite.
    pub fn start(dir: &Path) -> Result<Self, WebError> {
        Self::start_on(dir, None)
    }

    /// Starts it on the PostgreSQL database at `database_url`, or on SQLite without one.
    pub fn start_on(dir: &Path, database_url: Option<&str>) -> Result<Self, WebError> {
        let internal = |e: &dyn std::fmt::Display| WebError::Internal(e.to_string());
        let pclock = Arc::new(ManualClock::new(real_ms().unsigned_abs()));
        let chain_clock = Arc::new(Skip::default());
        let mut cfg = config(dir);
        cfg.database_url = database_url.map(suanli_platform_http::config::Secret::new);
        let h = Harness::start_with_ledger_on(cfg, pclock.clone(), chain_clock.clone())
            .map_err(|e| internal(&e))?;
        let ledger = h
            .ledger
            .as_ref()
            .ok_or_else(|| WebError::Internal("no ledger".into()))?
            .client
            .clone();
        let certifier = Certifier::open(ledger.as_ref(), dir)?;
        let cpt = certifier.register_cpt(ledger.as_ref())?;
        let vc = certifier
            .issue(cpt, CODE, 0, chain_clock.now_ms())?
            .to_string();
        Ok(TradingPlatform {
            h,
            pclock,
            chain_clock,
            vc,
        })
    }
}

/// A browser session of the tests' size.
pub fn session(d: &Driver) -> Result<Session, WebError> {
    d.session(WINDOW_PX.0, WINDOW_PX.1)
}

/// The supplier registers with its credential `vc`; the operator approves it. Answers
/// (supplier, operator) sessions, both signed in.
pub fn onboard_supplier(d: &Driver, base: &str, vc: &str) -> Result<(Session, Session), WebError> {
    let sup = session(d)?;
    sup.goto(&format!("{base}/register?lang=en"))?;
    sup.click("#f-kind option[value=supplier]")?;
    sup.fill("#f-login", LOGIN)?;
    sup.fill("#f-password", PASSWORD)?;
    sup.fill("#f-password2", PASSWORD)?;
    sup.click("#f-supplier_type option[value=supplier_resource]")?;
    sup.fill("#f-s_display_name", "Li Si")?;
    sup.fill("#f-s_company_name", "GPU Park Ya'an")?;
    sup.fill("#f-s_credit_code", CODE)?;
    sup.fill("#f-s_licence_ref", "BL-2026-0815")?;
    sup.fill("#f-s_legal_person", "Wang Wu")?;
    sup.fill("#f-s_phone", "13800138001")?;
    sup.fill("#f-qualification", vc)?;
    sup.click("main form button[type=submit]")?;
    let op = session(d)?;
    login(&op, base, "admin", HARNESS_ADMIN_PASSWORD)?;
    op.goto(&format!("{base}/ops/registrations?lang=en"))?;
    op.click("tr[data-registration] a.button")?;
    op.click("button.approve")?;
    login(&sup, base, LOGIN, PASSWORD)?;
    sup.goto(&format!("{base}/supplier?lang=en"))?;
    Ok((sup, op))
}

/// Resources ([`CSV`]), a mode (built-in CPTs, [`PRICE_FEN_PER_MIN`], hourly check-ins)
/// and an offer of 1 unit for 30 days on the supplier's pages, published with its key;
/// answers the platform's offer id (in review until the operator approves it).
pub fn list_offer(s: &Session, base: &str) -> Result<i64, WebError> {
    s.goto(&format!("{base}/supplier/resources?lang=en"))?;
    s.fill("#f-csv", CSV)?;
    s.click("#import-form button[type=submit]")?;
    s.goto(&format!("{base}/supplier/modes?lang=en"))?;
    s.fill("#f-name", "A100 by the minute")?;
    s.fill("#f-price_fen_per_min", &PRICE_FEN_PER_MIN.to_string())?;
    s.fill("#f-min_charge_fen", "0")?;
    s.fill("#f-checkin_period_min", "60")?;
    s.fill("#f-trade_start_cpt", "1")?;
    s.fill("#f-checkin_cpt", "2")?;
    s.click("#mode-form button[type=submit]")?;
    s.goto(&format!("{base}/supplier/modes?lang=en"))?;
    s.fill("form[data-publish-mode] input[name=password]", PASSWORD)?;
    s.click("form[data-publish-mode] button[type=submit]")?;
    s.goto(&format!("{base}/supplier/offers?lang=en"))?;
    s.fill("#f-title", "Hydro-powered A100 80GB")?;
    s.click("#offer-form input[name=resource]")?;
    s.fill("#f-units", "1")?;
    s.fill("#f-days", "30")?;
    s.click("#offer-form button[type=submit]")?;
    s.goto(&format!("{base}/supplier/offers?lang=en"))?;
    s.click("#offers tr[data-offer] a")?;
    s.fill("#offer-action input[name=password]", PASSWORD)?;
    s.click("#offer-action button[type=submit]")?;
    let url = s.url()?;
    url.rsplit('/')
        .next()
        .and_then(|t| t.split('?').next())
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| WebError::Internal(format!("no offer id in {url}")))
}

/// A personal customer registers in the portal, the operator (`op`) approves it (its DID
/// is enrolled on the trade chain as a consumer), it recharges ¥1,000 in the sandbox.
pub fn consumer(d: &Driver, base: &str, op: &Session) -> Result<Session, WebError> {
    let c = session(d)?;
    c.goto(&format!("{base}/register?lang=en"))?;
    c.fill("#f-login", BUYER)?;
    c.fill("#f-password", BUYER_PASSWORD)?;
    c.fill("#f-password2", BUYER_PASSWORD)?;
    c.fill("#f-name", "Zhao Liu")?;
    c.fill("#f-id_number", "11010519491231002X")?;
    c.fill("#f-phone", "13800138000")?;
    c.click("main form button[type=submit]")?;
    op.goto(&format!("{base}/ops/registrations?lang=en"))?;
    op.click("tr[data-registration] button.approve")?;
    login(&c, base, BUYER, BUYER_PASSWORD)?;
    c.goto(&format!("{base}/console/account?lang=en"))?;
    c.fill("#f-amount", "1000")?;
    c.click("main form button[type=submit]")?;
    Ok(c)
}
