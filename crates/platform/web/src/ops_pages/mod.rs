//! The operations console: dashboard with server-rendered SVG charts, customer review,
//! customers and their 360 view, catalogue and pricing, orders and acceptance, offline
//! recharges (four eyes), discounts and coupons, suppliers, audit log search.
//!
//! This file holds what the sections share; each section is a file beside it:
//! `dashboard`, `review` (registrations), `customers`, `products` (catalogue),
//! `acceptance` (orders), `finance`, `discounts`, `suppliers`, `audit_log`.

use crate::api::{self, ApiFailure};
use crate::charts;
use crate::console::{LIST_PAGE_ROWS, orders_table, spec_label, statements_table};
use crate::ctx::Ctx;
use crate::form::{self, FormErrors, Kind};
use crate::layout::{self, OPS, csrf, raw};
use crate::portal::{bp_percent, names, org_name, pricing_view};
use crate::{PageResult, WebError, WebState};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use suanli_platform_domain::audit::Outcome;
use suanli_platform_domain::money::DAY_MS;
use suanli_platform_domain::money::Fen;
use suanli_platform_domain::pricing::{CouponValue, DiscountScope};
use suanli_platform_domain::{OrgId, OrgKind, Permission};
use suanli_platform_http::service::accounts::{self, VoucherGrant};
use suanli_platform_http::service::catalogue::{
    self, CouponDraft, DiscountDraft, ProductDraft, SpecDraft,
};
use suanli_platform_http::service::orders::{self, Acceptance};
use suanli_platform_http::service::orgs::{self, AdminDraft, OrgDraft};
use suanli_platform_http::service::payments::{self, OfflineTransfer};
use suanli_platform_http::service::users;
use suanli_platform_http::service::{self, ServiceError, analytics, audit, registrations};
use suanli_platform_store::{AuditFilter, Direction, OrgRecord, PAGE_SIZE_MAX, RegistrationStatus};

/// Days shown by the orders-per-day chart.
pub const DASHBOARD_DAYS: i64 = 14;
/// Days the revenue and top-customer charts look back.
pub const REVENUE_DAYS: i64 = 30;
/// Bill pages the dashboard reads at most (each [`PAGE_SIZE_MAX`] lines).
pub const DASHBOARD_BILL_PAGES_MAX: usize = 5;
/// Customers in the top-customers chart.
pub const TOP_CUSTOMERS: usize = 5;
/// Longest validity of a coupon made here, in days.
pub const COUPON_DAYS_MAX: i64 = 3_650;

/// A cursor query.
#[derive(Debug, Default, Deserialize)]
pub struct Page {
    #[serde(default)]
    after: Option<i64>,
    #[serde(default)]
    status: Option<String>,
}

/// Redirect back with a notice.
fn done(path: &str, key: &str, arg: &str) -> Response {
    Redirect::to(&Ctx::notice_url(path, key, arg)).into_response()
}

/// A failed API call on a simple action: the friendly page for 403/404, else the form
/// message on `back`'s page.
fn refused(ctx: &Ctx, fail: &ApiFailure, back: &str) -> PageResult {
    match fail.status {
        StatusCode::FORBIDDEN if fail.code == "forbidden" => Err(WebError::Forbidden),
        StatusCode::NOT_FOUND => Err(WebError::NotFound),
        _ => {
            let msg = form::api_message(ctx.lang, fail);
            let body = html! {
                div.form-errors role="alert" { p { (msg) } }
                p { a.button href=(back) { (ctx.t("order.back")) } }
            };
            let mut r = layout::page(ctx, &ctx.t("error.form"), Some(&OPS), body);
            *r.status_mut() = if fail.status.is_client_error() {
                fail.status
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            Ok(r)
        }
    }
}

mod acceptance;
mod audit_log;
mod customers;
mod dashboard;
mod discounts;
mod finance;
mod products;
mod review;
mod suppliers;
// --- supply (issue 16, supply helper)
pub mod supply_listings;
mod supply_money; // issue 16, supplier money
// Issue 18, billing: the operator's view of the exchange.
pub mod trades;

pub use acceptance::*;
pub use audit_log::*;
pub use customers::*;
pub use dashboard::*;
pub use discounts::*;
pub use finance::*;
pub use products::*;
pub use review::*;
pub use suppliers::*;
pub use supply_money::*; // issue 16, supplier money
