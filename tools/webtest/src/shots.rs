//! `suanli web screenshots`: regenerates the screenshots of the main pages
//! (`docs/screenshots/*.png`) from a fresh demo instance driven by headless Chromium.

use crate::WebtestError as WebError;
use crate::bench::{demo_password, seed};
use crate::harness::{HARNESS_ADMIN_PASSWORD, Harness, config};
use crate::webdriver::{Driver, Session};
use std::path::Path;
use std::sync::Arc;

/// Orders in the screenshot instance's demo data.
pub const SHOT_ORDERS: usize = 120;
/// Customers in the screenshot instance's demo data.
pub const SHOT_CUSTOMERS: usize = 6;
/// Window width of the screenshots, in CSS pixels.
pub const SHOT_WIDTH_PX: u32 = 1280;
/// Window height of the screenshots, in CSS pixels.
pub const SHOT_HEIGHT_PX: u32 = 900;

/// Logs `login` in through the login form.
pub fn login(s: &Session, base: &str, login: &str, password: &str) -> Result<(), WebError> {
    s.goto(&format!("{base}/login"))?;
    s.fill("#f-login", login)?;
    s.fill("#f-password", password)?;
    s.click("main form button[type=submit]")?;
    s.find("span.who")?;
    Ok(())
}

/// Writes the screenshots into `out` and returns the file names.
pub fn run(out: &Path) -> Result<Vec<String>, WebError> {
    std::fs::create_dir_all(out).map_err(|e| WebError::Internal(e.to_string()))?;
    let dir = tempfile_dir()?;
    let h = Harness::start(
        config(dir.path()),
        Arc::new(suanli_platform_http::SystemClock),
    )?;
    let demo = seed(&h.base, SHOT_CUSTOMERS, SHOT_ORDERS)?;
    let driver = Driver::start()?;
    let mut written = Vec::new();
    let mut shot = |s: &Session, name: &str, path: &str| -> Result<(), WebError> {
        if !path.is_empty() {
            s.goto(&format!("{}{path}", h.base))?;
        }
        s.find("footer.bottom")?;
        let png = s.screenshot()?;
        let file = format!("{name}.png");
        std::fs::write(out.join(&file), png).map_err(|e| WebError::Internal(e.to_string()))?;
        written.push(file);
        Ok(())
    };
    {
        let s = driver.session(SHOT_WIDTH_PX, SHOT_HEIGHT_PX)?;
        shot(&s, "portal-catalogue-zh", "/?lang=zh")?;
        shot(
            &s,
            "portal-product-zh",
            &format!("/products/{}", demo.product),
        )?;
        shot(&s, "portal-register-zh", "/register")?;
        shot(&s, "portal-catalogue-en", "/?lang=en")?;
        shot(&s, "portal-login-en", "/login")?;
    }
    {
        let s = driver.session(SHOT_WIDTH_PX, SHOT_HEIGHT_PX)?;
        let (org, who) = demo
            .customers
            .first()
            .cloned()
            .ok_or_else(|| WebError::Internal("no demo customer".into()))?;
        let _ = org;
        login(&s, &h.base, &who, &demo_password(&who))?;
        shot(&s, "console-overview-zh", "/console?lang=zh")?;
        shot(&s, "console-account-zh", "/console/account")?;
        s.goto(&format!("{}/console/order?spec={}", h.base, demo.spec))?;
        s.fill("#f-months", "6")?;
        s.click("main form button[type=submit]")?;
        s.find("#breakdown")?;
        shot(&s, "console-order-breakdown-zh", "")?;
        shot(&s, "console-resources-zh", "/console/resources")?;
        shot(&s, "console-statements-zh", "/console/statements")?;
        shot(&s, "console-bills-en", "/console/bills?lang=en")?;
        shot(&s, "error-403-en", "/ops")?;
    }
    {
        let s = driver.session(SHOT_WIDTH_PX, SHOT_HEIGHT_PX)?;
        login(&s, &h.base, "admin", HARNESS_ADMIN_PASSWORD)?;
        shot(&s, "ops-dashboard-zh", "/ops?lang=zh")?;
        shot(&s, "ops-catalogue-zh", "/ops/catalogue")?;
        shot(
            &s,
            "ops-customer-360-zh",
            &format!(
                "/ops/customers/{}",
                demo.customers.first().map_or(0, |c| c.0)
            ),
        )?;
        shot(&s, "ops-audit-zh", "/ops/audit")?;
        shot(&s, "ops-dashboard-en", "/ops?lang=en")?;
        shot(&s, "system-roles-en", "/system/roles")?;
        shot(&s, "system-security-zh", "/system/security?lang=zh")?;
        shot(&s, "error-404-zh", "/no/such/page")?;
    }
    // Issue 16: the supplier console, on an instance with a ledger.
    crate::shots_supplier::run(&driver, out, &mut written)?;
    Ok(written)
}

/// A temporary data directory (removed when dropped).
pub(crate) fn tempfile_dir() -> Result<TempDir, WebError> {
    let base = std::env::temp_dir().join(format!(
        "suanli-shots-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&base).map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(TempDir(base))
}

/// A directory removed when dropped.
#[derive(Debug)]
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
