//! `suanli-webtest`: test tooling of the web consoles (it never compiles into the product
//! crates). [`harness`] starts a whole platform (API + pages) on a temporary directory
//! with an injected clock and gives a cookie-keeping HTTP [`harness::Client`];
//! [`bench::seed`] fills it with a demo dataset and [`bench::run`] times the pages;
//! [`webdriver`] drives headless Chromium for the browser tests (`tests/browser.rs`) and
//! [`shots`] (`suanli web screenshots`). The page tests (`tests/pages.rs`) and browser
//! tests of `suanli-platform-web` live here beside the harness they use.
//!
//! [`onboarding::Certifier`] issues qualification credentials as the identity chain's
//! authority of a harness with an embedded ledger (supplier onboarding).
//!
//! Start reading at [`harness::Harness::start`].

pub mod bench;
pub mod exchange_setup; // issues 17/18: the trading browser tests' shared setup
pub mod harness;
pub mod onboarding;
pub mod shots;
pub mod shots_supplier; // issue 16, the supplier console's screenshots
pub mod webdriver;
// Issue 18, billing: page text for language checks.
pub mod text;

/// A failure of the tooling (the harness, a seeding request, the browser).
#[derive(Debug, thiserror::Error)]
pub enum WebtestError {
    /// What went wrong, for people (the tooling's failures end a test or a command).
    #[error("internal: {0}")]
    Internal(String),
}
