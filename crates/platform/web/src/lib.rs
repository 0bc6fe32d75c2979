//! suanli-platform-web: the web consoles, server-rendered by `suanli serve` beside the JSON API —
//! the portal (catalogue, products, suppliers, register, login), the user console
//! (`/console`), the operations console (`/ops`) and the system console (`/system`), in
//! Chinese (default) and English.
//!
//! Owns: page routing ([`router`]), the page context ([`ctx::Ctx`]: language, OEM
//! branding, the signed-in principal), the bridge that runs state-changing forms through
//! the service layer ([`api`]), the translation table and locale
//! formatting ([`i18n`]), the page shell and friendly error pages ([`layout`]), server-side
//! SVG charts ([`charts`]). The test harness, WebDriver client, page benchmark and
//! screenshots are test tooling and live in `tools/webtest` (`suanli-webtest`).
//!
//! Invariants:
//! - pages authenticate with the API's session cookie through
//!   [`suanli_platform_http::auth::Authed`] and check the same [`suanli_platform_domain::Permission`]s and
//!   organisation visibility as the API; objects outside the caller's visibility render
//!   the 404 page, missing permissions the 403 page — never an error dump;
//! - every state-changing form carries the session's CSRF token in a hidden field, checked
//!   before anything runs, and is carried out by the same typed function of the service
//!   layer ([`suanli_platform_http::service`]) that the API's handler calls, so
//!   validation, authorisation, visibility, limits and money rules are written once;
//!   input is first checked here so the message sits next to the field; every form post
//!   is audited like an API request, with the operation's outcome (not the page's
//!   redirect): an approval or price change names its object as the API would, a
//!   money-moving page leaves one record per operation (each order of a cart, both
//!   steps of a recharge), and steps that change nothing (previews, the cart cookie)
//!   leave none ([`api::run`], [`api::run_as`]);
//! - money is integer fen until [`i18n::Lang::money`] shows it as yuan;
//! - every user-visible string comes from [`i18n::texts`] in both languages; a page never
//!   panics (handlers return [`WebError`], rendered as a friendly page);
//! - a page issues a handful of store queries (no per-row queries).
//!
//! Start reading at [`router`], then [`ctx`] and one of the page modules ([`portal`],
//! [`console`], [`ops_pages`], [`system`]).

pub mod api;
pub mod cart;
pub mod charts;
pub mod console;
pub mod ctx;
pub mod form;
pub mod i18n;
pub mod layout;
// Issue 17: the market in the product.
pub mod market;
pub mod ops_pages;
pub mod portal;
pub mod supplier;
pub mod system;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use suanli_platform_http::AppState;
use tower::ServiceExt;

/// Failures of a page handler; each renders as a friendly page (or a redirect).
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Not signed in: redirect to the login page.
    #[error("not signed in")]
    Login,
    /// The permission is missing: the 403 page.
    #[error("forbidden")]
    Forbidden,
    /// No such object or not visible: the 404 page.
    #[error("not found")]
    NotFound,
    /// A store failure: the 500 page (logged).
    #[error("store: {0}")]
    Store(#[from] suanli_platform_store::StoreError),
    /// Anything else that is the server's fault: the 500 page (logged).
    #[error("internal: {0}")]
    Internal(String),
}

impl From<suanli_platform_http::service::ServiceError> for WebError {
    /// A refused read renders as the page a refusal renders as: not visible or malformed
    /// input is the 404 page, a missing permission the 403 page.
    fn from(e: suanli_platform_http::service::ServiceError) -> Self {
        use suanli_platform_http::service::ServiceError as E;
        match e {
            E::NotFound
            | E::Absent { .. }
            | E::Invalid { .. }
            | E::Malformed { .. }
            | E::Conflict { .. } => WebError::NotFound,
            E::Throttled { .. } => WebError::Forbidden,
            E::Denied { .. } => WebError::Forbidden,
            E::Unauthenticated { .. } => WebError::Login,
            E::Store(e) => WebError::Store(e),
            E::Internal(m) => WebError::Internal(m),
        }
    }
}

/// Result of a page handler.
pub type PageResult = Result<Response, WebError>;

/// Shared state of the pages.
#[derive(Debug, Clone)]
pub struct WebState {
    /// The platform's state (store, clock, money settings).
    pub app: AppState,
    /// The API router, serving `/api/…` and `/metrics` beside the pages.
    pub api: Router,
}

/// Static assets, embedded in the binary.
pub const STYLE_CSS: &str = include_str!("../assets/style.css");
/// The one hand-written script (menu toggle, confirm dialogs, focus first error).
pub const APP_JS: &str = include_str!("../assets/app.js");

/// The whole application: pages, static assets and, for `/api/…` and `/metrics`, the API
/// router `api` (which must be built from the same `app` state).
pub fn router(app: AppState, api: Router) -> Router {
    let state = WebState { app, api };
    Router::new()
        .route("/", get(portal::catalogue))
        .route("/products/{id}", get(portal::product))
        .route("/suppliers/{id}", get(portal::supplier))
        .route("/login", get(portal::login_page).post(portal::login_post))
        .route("/logout", post(portal::logout))
        .route(
            "/register",
            get(portal::register_page).post(portal::register_post),
        )
        .route("/static/style.css", get(style))
        .route("/static/app.js", get(script))
        .route("/console", get(console::overview))
        .route("/console/account", get(console::account))
        .route("/console/recharge", post(console::recharge))
        .route("/console/key-export", post(console::key_export))
        .route(
            "/console/order",
            get(console::order_page).post(console::order_post),
        )
        .route("/console/cart", get(cart::page).post(cart::post))
        .route("/console/resources", get(console::resources))
        .route(
            "/console/resources/{id}/unsubscribe",
            get(console::unsubscribe_page).post(console::unsubscribe_post),
        )
        .route("/console/resources/{id}/renew", post(console::renew_post))
        .route("/console/orders", get(console::orders))
        .route("/console/statements", get(console::statements))
        .route("/console/bills", get(console::bills))
        .route("/console/bills.csv", get(console::bills_csv))
        .route(
            "/console/users",
            get(console::users).post(console::users_post),
        )
        .route(
            "/console/tokens",
            get(console::tokens).post(console::tokens_post),
        )
        .route("/console/tokens/{id}/revoke", post(console::token_revoke))
        .route(
            "/console/security",
            get(console::security).post(console::security_post),
        )
        .route("/ops", get(ops_pages::dashboard))
        .route("/ops/registrations", get(ops_pages::registrations))
        .route(
            "/ops/registrations/{id}/{decision}",
            post(ops_pages::decide_registration),
        )
        .route("/ops/customers", get(ops_pages::customers))
        .route(
            "/ops/customers/{id}",
            get(ops_pages::customer).post(ops_pages::customer_post),
        )
        .route(
            "/ops/catalogue",
            get(ops_pages::catalogue).post(ops_pages::catalogue_post),
        )
        .route(
            "/ops/products/{id}",
            get(ops_pages::product).post(ops_pages::product_post),
        )
        .route("/ops/orders", get(ops_pages::orders))
        .route("/ops/instances/{id}/accept", post(ops_pages::accept))
        .route(
            "/ops/finance",
            get(ops_pages::finance).post(ops_pages::finance_post),
        )
        .route(
            "/ops/discounts",
            get(ops_pages::discounts).post(ops_pages::discounts_post),
        )
        .route(
            "/ops/suppliers",
            get(ops_pages::suppliers).post(ops_pages::suppliers_post),
        )
        // ── issue 16, supplier money ──
        .route(
            "/ops/suppliers/{id}/money",
            get(ops_pages::supplier_money).post(ops_pages::supplier_money_post),
        )
        .route(
            "/ops/supplier-payouts",
            get(ops_pages::supplier_payouts).post(ops_pages::supplier_payouts_post),
        )
        .route("/ops/audit", get(ops_pages::audit))
        .route("/system", get(system::users).post(system::users_post))
        .route("/system/roles", get(system::roles))
        .route("/system/orgs", get(system::orgs))
        .route(
            "/system/security",
            get(system::security).post(system::security_post),
        )
        .route("/system/oem", get(system::oem).post(system::oem_post))
        .route("/system/audit", get(system::audit))
        .merge(supplier::router())
        // --- supply (issue 16, supply helper)
        .merge(ops_pages::supply_listings::routes())
        .route("/offers/{id}", get(portal::offer))
        .route("/market", get(market::search))
        .route("/market/compare", get(market::compare))
        .route("/market/policy", get(market::policy))
        .route(
            "/market/demands",
            get(market::demands).post(market::demand_post),
        )
        .route("/market/demands/{id}/cancel", post(market::demand_cancel))
        .merge(market::routes()) // issue 17: confirming demands, batch allocations
        // Issue 16, the agent's part.
        .merge(console::work_orders::routes())
        // Issue 18, H-trades: the exchange.
        .merge(console::trades::routes())
        .merge(console::trade_bills::routes()) // issue 18, billing
        .merge(ops_pages::trades::routes()) // issue 18, billing
        .fallback(fallback)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            layout::friendly_errors,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            audit_pages,
        ))
        .layer(axum::middleware::from_fn(same_origin_posts))
        .with_state(state)
}

/// Logs and counts every page request and appends the audit records of every
/// state-changing one, as the API does for its own (`/api/…` and `/metrics` are the
/// API's, audited and counted by its router).
async fn audit_pages(
    State(s): State<WebState>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    let path = req.uri().path();
    if path.starts_with("/api/") || path == "/metrics" {
        return next.run(req).await;
    }
    suanli_platform_http::http::audit_and_count(State(s.app.clone()), req, next).await
}

/// Refuses a POST a browser sent from another site: its `Origin` names another host, or
/// `Sec-Fetch-Site` says cross-site. This closes login CSRF (a foreign page signing the
/// victim into the attacker's account) and backs up the CSRF tokens of every form.
/// Requests without either header (not from a browser) pass: the API's own tokens and
/// sessions govern them.
async fn same_origin_posts(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if req.method() == axum::http::Method::POST && !same_origin(req.headers()) {
        return (
            axum::http::StatusCode::FORBIDDEN,
            [("content-type", "text/plain; charset=utf-8")],
            "cross-site form submissions are refused: submit the form from this site",
        )
            .into_response();
    }
    next.run(req).await
}

fn same_origin(h: &axum::http::HeaderMap) -> bool {
    if let Some(site) = h.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return false;
    }
    match (
        h.get(axum::http::header::ORIGIN)
            .and_then(|v| v.to_str().ok()),
        h.get(axum::http::header::HOST)
            .and_then(|v| v.to_str().ok()),
    ) {
        (None, _) => true,
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, rest)| rest.trim_end_matches('/') == host),
        (Some(_), None) => false,
    }
}

async fn style() -> Response {
    (
        [
            ("content-type", "text/css; charset=utf-8"),
            ("cache-control", "public, max-age=3600"),
        ],
        STYLE_CSS,
    )
        .into_response()
}

async fn script() -> Response {
    (
        [
            ("content-type", "text/javascript; charset=utf-8"),
            ("cache-control", "public, max-age=3600"),
        ],
        APP_JS,
    )
        .into_response()
}

/// `/api/…` and `/metrics` go to the API (its JSON errors); anything else is the 404 page.
async fn fallback(State(s): State<WebState>, req: Request) -> Response {
    let path = req.uri().path();
    if path.starts_with("/api/") || path == "/metrics" {
        return match s.api.clone().oneshot(req).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
    }
    let lang = ctx::lang_of(req.headers(), req.uri().query());
    let oem = ctx::Oem::load(&s.app).await;
    layout::error_page(lang, &oem, StatusCode::NOT_FOUND)
}
