//! The supplier console's screenshots (issue 16) for `suanli web screenshots`: a second
//! instance with an embedded ledger, where a data centre registers with its qualification
//! credential and is approved (enrolled on the trade chain), imports its resources, defines
//! and publishes a mode and an offer on its pages (signed with its key) and lets the
//! platform host its agent; then each supplier page is shot.

use crate::WebtestError as WebError;
use crate::harness::{Client, HARNESS_ADMIN_PASSWORD, Harness, config};
use crate::onboarding::Certifier;
use crate::shots::{SHOT_HEIGHT_PX, SHOT_WIDTH_PX, login, tempfile_dir};
use crate::webdriver::{Driver, Session};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use suanli_primitives::Clock;

const LOGIN: &str = "gpupark";
const PASSWORD: &str = "Green-A100-Park-9";
const CODE: &str = "91510100MA6CGREEN8";
const CSV: &str = "name,location,status,gpu_model,gpu_count,gpu_mem_gb,cpu_cores,ram_gb,storage_gb,tflops,region,available_from_min,available_until_min,green_share,carbon_g_per_kwh,pue,utilisation
hydro-a100-01,Ya'an hall 1,online,gpu-a100,8,80,128,1024,7680,2496,cn-west,0,5256000,0.92,35,1.15,0.4
hydro-a100-02,Ya'an hall 1,online,gpu-a100,8,80,128,1024,7680,2496,cn-west,0,5256000,0.92,35,1.15,0.55
";

fn internal(e: impl std::fmt::Display) -> WebError {
    WebError::Internal(e.to_string())
}

/// Registers the supplier in the portal and has the operator approve it.
fn onboard(h: &Harness, dir: &Path) -> Result<(), WebError> {
    let ledger = h
        .ledger
        .as_ref()
        .ok_or_else(|| internal("no ledger"))?
        .client
        .clone();
    let certifier = Certifier::open(ledger.as_ref(), dir)?;
    let cpt = certifier.register_cpt(ledger.as_ref())?;
    let now = suanli_primitives::SystemClock.now_ms();
    let vc = certifier.issue(cpt, CODE, 0, now)?.to_string();
    let form = [
        ("kind", "supplier"),
        ("login", LOGIN),
        ("password", PASSWORD),
        ("password2", PASSWORD),
        ("supplier_type", "supplier_resource"),
        ("s_display_name", "Li Si"),
        ("s_company_name", "GPU Park Ya'an"),
        ("s_credit_code", CODE),
        ("s_licence_ref", "BL-2026-0815"),
        ("s_legal_person", "Wang Wu"),
        ("s_phone", "13800138001"),
        ("qualification", &vc),
    ];
    let a = Client::new(&h.base).form("/register", &form)?;
    if a.status != 200 {
        return Err(internal(format!("registration: {}", a.status)));
    }
    let mut admin = Client::new(&h.base);
    admin.login("admin", HARNESS_ADMIN_PASSWORD)?;
    let pending = admin.get("/api/v1/registrations?status=pending")?.json();
    let id = pending["items"][0]["id"]
        .as_i64()
        .ok_or_else(|| internal("no pending registration"))?;
    let ok = admin.form(&format!("/ops/registrations/{id}/approve"), &[])?;
    if ok.status != 303 {
        return Err(internal(format!("approval: {} {}", ok.status, ok.body)));
    }
    Ok(())
}

/// Resources, a published mode and an offer sent to review, on the supplier's pages.
fn list(s: &Session, base: &str) -> Result<(), WebError> {
    s.goto(&format!("{base}/supplier/resources?lang=zh"))?;
    s.fill("#f-csv", CSV)?;
    s.click("#import-form button[type=submit]")?;
    s.goto(&format!("{base}/supplier/modes"))?;
    s.fill("#f-name", "A100 按分钟计费")?;
    s.fill("#f-price_fen_per_min", "180")?;
    s.fill("#f-min_charge_fen", "0")?;
    s.fill("#f-checkin_period_min", "60")?;
    s.fill("#f-trade_start_cpt", "1")?;
    s.fill("#f-checkin_cpt", "2")?;
    s.click("#mode-form button[type=submit]")?;
    s.goto(&format!("{base}/supplier/modes"))?;
    s.fill("form[data-publish-mode] input[name=password]", PASSWORD)?;
    s.click("form[data-publish-mode] button[type=submit]")?;
    s.goto(&format!("{base}/supplier/offers"))?;
    s.fill("#f-title", "水电 A100 80GB")?;
    s.click("#offer-form input[name=resource]")?;
    s.fill("#f-units", "1")?;
    s.fill("#f-days", "30")?;
    s.click("#offer-form button[type=submit]")?;
    s.goto(&format!("{base}/supplier/offers"))?;
    s.click("#offers tr[data-offer] a")?;
    s.fill("#offer-action input[name=password]", PASSWORD)?;
    s.click("#offer-action button[type=submit]")?;
    Ok(())
}

/// Shoots the supplier console into `out`, adding the file names to `written`.
pub fn run(driver: &Driver, out: &Path, written: &mut Vec<String>) -> Result<(), WebError> {
    let dir = tempfile_dir()?;
    let h = Harness::start_with_ledger(
        config(dir.path()),
        Arc::new(suanli_platform_http::SystemClock),
    )?;
    onboard(&h, dir.path())?;
    let s = driver.session(SHOT_WIDTH_PX, SHOT_HEIGHT_PX)?;
    login(&s, &h.base, LOGIN, PASSWORD)?;
    list(&s, &h.base)?;
    let mut api = Client::new(&h.base);
    api.login(LOGIN, PASSWORD)?;
    let body = json!({"fragment": "hosted-1", "mode": "auto", "max_units": 4,
        "max_minutes": 1440, "max_value_fen": 500000, "password": PASSWORD});
    let hosted = api.api_post("/api/v1/supplier/hosted-agent", &body, None)?;
    if hosted.status != 201 {
        return Err(internal(format!("hosted agent: {}", hosted.body)));
    }
    for (name, path) in [
        ("supplier-overview-zh", "/supplier?lang=zh"),
        ("supplier-resources-zh", "/supplier/resources"),
        ("supplier-modes-zh", "/supplier/modes"),
        ("supplier-offers-zh", "/supplier/offers"),
        ("supplier-work-orders-zh", "/supplier/work-orders"),
        ("supplier-agent-keys-zh", "/supplier/agent-keys"),
        ("supplier-revenue-zh", "/supplier/revenue"),
        // The hosted agent's section, scrolled to by its fragment.
        (
            "supplier-hosted-agent-zh",
            "/supplier/agent-keys#hosted-agent",
        ),
        ("supplier-agent-keys-en", "/supplier/agent-keys?lang=en"),
        (
            "supplier-hosted-agent-en",
            "/supplier/agent-keys#hosted-agent",
        ),
        ("supplier-offers-en", "/supplier/offers"),
    ] {
        s.goto(&format!("{}{path}", h.base))?;
        s.find("footer.bottom")?;
        let file = format!("{name}.png");
        std::fs::write(out.join(&file), s.screenshot()?).map_err(internal)?;
        written.push(file);
    }
    Ok(())
}
