//! The operations console: dashboard with server-rendered SVG charts, customer review,
//! customers and their 360 view, catalogue and pricing, orders and acceptance, offline
//! recharges (four eyes), discounts and coupons, suppliers, audit log search.

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

// ---------------------------------------------------------------- dashboard

/// `GET /ops`: orders per day, revenue per product, top customers, resource usage.
pub async fn dashboard(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    let a = ctx.require(Permission::OrderManage)?;
    let lang = ctx.lang;
    let now = s.app.clock.now_unix_ms();
    let today = suanli_platform_domain::money::cst_day_start(now);
    let from = today - (DASHBOARD_DAYS - 1) * DAY_MS;
    let counts = analytics::order_counts(&s.app, a, from, today + DAY_MS).await?;
    let per_day: Vec<(String, i64)> = (0..DASHBOARD_DAYS)
        .map(|k| {
            let day = from + k * DAY_MS;
            let n = counts
                .iter()
                .find(|(d, _)| *d == day)
                .map_or(0, |(_, n)| *n);
            (lang.day_short(day), n)
        })
        .collect();
    let lines = analytics::bill_lines(
        &s.app,
        a,
        today - (REVENUE_DAYS - 1) * DAY_MS,
        today + DAY_MS,
        DASHBOARD_BILL_PAGES_MAX,
    )
    .await?;
    let mut by_product: BTreeMap<i64, i64> = BTreeMap::new();
    let mut by_customer: BTreeMap<i64, i64> = BTreeMap::new();
    for l in &lines {
        let revenue = l.prepaid_fen + l.usage_fen - l.refund_fen;
        *by_product.entry(l.product_id).or_default() += revenue;
        *by_customer.entry(l.org_id).or_default() += revenue;
    }
    let (products, _) = catalogue::names(&s.app, &[]).await?;
    let mut revenue: Vec<(String, i64)> = by_product
        .iter()
        .map(|(pid, v)| {
            (
                products
                    .iter()
                    .find(|p| p.id == *pid)
                    .map_or_else(|| format!("#{pid}"), |p| p.name.clone()),
                *v,
            )
        })
        .collect();
    revenue.sort_by_key(|r| std::cmp::Reverse(r.1));
    let mut top: Vec<(i64, i64)> = by_customer.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top.truncate(TOP_CUSTOMERS);
    let top_orgs = names(&s, top.iter().filter_map(|(o, _)| OrgId::new(*o))).await?;
    let top: Vec<(String, i64)> = top
        .iter()
        .map(|(o, v)| {
            (
                OrgId::new(*o).map_or_else(|| format!("#{o}"), |id| org_name(&top_orgs, id)),
                *v,
            )
        })
        .collect();
    let usage: Vec<(String, i64)> = analytics::instance_counts(&s.app, a)
        .await?
        .into_iter()
        .map(|(st, n)| (lang.t(&format!("status.{st}")), n))
        .collect();
    let money = |v: i64| lang.money(v);
    let count = |v: i64| lang.number(v);
    let chart = |key: &str, items: &[(String, i64)], svg: String| {
        html! {
            figure.chart-box {
                figcaption { (ctx.t(key)) }
                @if items.iter().all(|i| i.1 == 0) { p.empty { (ctx.t("dash.no_data")) } } @else { (raw(svg)) }
            }
        }
    };
    let body = html! {
        h1 { (ctx.t("ops.dashboard")) }
        div.charts {
            (chart("dash.orders_per_day", &per_day, charts::columns(&ctx.t("dash.orders_per_day"), &per_day, &count)))
            (chart("dash.revenue_per_product", &revenue, charts::bars(&ctx.t("dash.revenue_per_product"), &revenue, &money)))
            (chart("dash.top_customers", &top, charts::bars(&ctx.t("dash.top_customers"), &top, &money)))
            (chart("dash.resources", &usage, charts::bars(&ctx.t("dash.resources"), &usage, &count)))
        }
    };
    Ok(layout::page(
        &ctx,
        &ctx.t("ops.dashboard"),
        Some(&OPS),
        body,
    ))
}

// ---------------------------------------------------------------- registrations

/// `GET /ops/registrations?status=pending`
pub async fn registrations(
    State(s): State<WebState>,
    ctx: Ctx,
    Query(q): Query<Page>,
) -> PageResult {
    let a = ctx.require(Permission::RegistrationReview)?;
    let lang = ctx.lang;
    let status_text = q.status.clone().unwrap_or_else(|| "pending".into());
    let status = RegistrationStatus::parse(&status_text);
    let list = registrations::list(&s.app, a, status, q.after, LIST_PAGE_ROWS).await?;
    let opts = ["pending", "approved", "rejected"];
    let body = html! {
        h1 { (ctx.t("ops.registrations")) }
        nav.tabs aria-label=(ctx.t("reg.filter")) {
            @for o in opts {
                a href=(format!("/ops/registrations?status={o}")) aria-current=[(status_text == o).then_some("page")] { (ctx.t(&format!("reg.status.{o}"))) }
            }
        }
        @if list.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
        table.data #registrations {
            thead { tr { th { "#" } th { (ctx.t("reg.kind")) } th { (ctx.t("reg.applicant")) } th { (ctx.t("reg.submitted")) } th { (ctx.t("reg.status")) } th { (ctx.t("common.actions")) } } }
            tbody {
                @for r in &list {
                    tr data-registration=(r.id.get()) {
                        td { (r.id.get()) }
                        td { (ctx.t(&format!("register.{}", r.kind.as_str()))) }
                        td {
                            @if let Some(c) = &r.company_name { (c) " · " (r.credit_code.clone().unwrap_or_default()) " · " (r.legal_person.clone().unwrap_or_default()) }
                            @if let Some(n) = &r.person_name { (n) " · " (r.id_number_masked.clone().unwrap_or_default()) " · " (r.phone.clone().unwrap_or_default()) }
                        }
                        td { (lang.datetime(r.submitted_ms)) }
                        td { (ctx.t(&format!("reg.status.{}", r.status.as_str()))) }
                        td.actions {
                            @if r.status == RegistrationStatus::Pending {
                                form.inline method="post" action=(format!("/ops/registrations/{}/approve", r.id.get())) {
                                    (csrf(&ctx)) button.approve type="submit" { (ctx.t("reg.approve")) }
                                }
                                form.inline method="post" action=(format!("/ops/registrations/{}/reject", r.id.get())) {
                                    (csrf(&ctx))
                                    label.visually-hidden for=(format!("reason-{}", r.id.get())) { (ctx.t("reg.reason")) }
                                    input id=(format!("reason-{}", r.id.get())) name="reason" required placeholder=(ctx.t("reg.reason"));
                                    button.danger type="submit" { (ctx.t("reg.reject")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        }
    };
    Ok(layout::page(
        &ctx,
        &ctx.t("ops.registrations"),
        Some(&OPS),
        body,
    ))
}

/// A decision form.
#[derive(Debug, Default, Deserialize)]
pub struct DecisionForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    reason: String,
}

/// `POST /ops/registrations/{id}/{approve|reject}`
pub async fn decide_registration(
    State(s): State<WebState>,
    ctx: Ctx,
    Path((id, decision)): Path<(i64, String)>,
    Form(f): Form<DecisionForm>,
) -> PageResult {
    let a = ctx.require(Permission::RegistrationReview)?;
    let (reason, key) = match decision.as_str() {
        "approve" => (None, "reg.approved"),
        "reject" => {
            if f.reason.trim().is_empty() {
                let fail = ApiFailure {
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    code: "invalid_field".into(),
                    message: String::new(),
                    field: Some("reason".into()),
                };
                let mut r = refused(&ctx, &fail, "/ops/registrations")?;
                *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                return Ok(r);
            }
            (Some(f.reason.trim()), "reg.rejected")
        }
        _ => return Err(WebError::NotFound),
    };
    let decided = api::run(&ctx, &f.csrf, async {
        match reason {
            None => registrations::approve(&s.app, a, id).await,
            Some(r) => registrations::reject(&s.app, a, id, r).await,
        }
    })
    .await?;
    match decided {
        Ok(_) => Ok(done("/ops/registrations", key, &id.to_string())),
        Err(fail) => refused(&ctx, &fail, "/ops/registrations"),
    }
}

// ---------------------------------------------------------------- customers

fn org_row_cells(ctx: &Ctx, o: &OrgRecord) -> maud::Markup {
    html! {
        td { (o.id.get()) }
        td { a href=(format!("/ops/customers/{}", o.id.get())) { (o.name) } }
        td { (ctx.t(&format!("org.kind.{}", o.kind.as_str()))) }
        td { (ctx.t(&format!("org.status.{}", o.status.as_str()))) }
        td { (ctx.lang.date(o.created_ms)) }
    }
}

/// `GET /ops/customers`: the organisations the caller sees.
pub async fn customers(State(s): State<WebState>, ctx: Ctx, Query(q): Query<Page>) -> PageResult {
    let a = ctx.require(Permission::OrgRead)?;
    let page = service::Page {
        after: q.after.unwrap_or(0),
        limit: LIST_PAGE_ROWS,
    };
    let list = orgs::list(&s.app, a, page).await?;
    let body = html! {
        h1 { (ctx.t("ops.customers")) }
        table.data #customers {
            thead { tr { th { (ctx.t("org.id")) } th { (ctx.t("org.name")) } th { (ctx.t("org.kind")) } th { (ctx.t("org.status")) } th { (ctx.t("org.created")) } } }
            tbody { @for o in &list { tr { (org_row_cells(&ctx, o)) } } }
        }
        @if list.len() == LIST_PAGE_ROWS as usize {
            @if let Some(last) = list.last() { a href=(format!("/ops/customers?after={}", last.id.get())) { (ctx.t("list.next")) } }
        }
    };
    Ok(layout::page(
        &ctx,
        &ctx.t("ops.customers"),
        Some(&OPS),
        body,
    ))
}

/// Rows of each list in the customer 360 view.
pub const C360_ROWS: u32 = 20;

/// `GET /ops/customers/{id}`: one customer at a glance (404 outside the caller's
/// visibility).
pub async fn customer(State(s): State<WebState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let a = ctx.require(Permission::OrgRead)?;
    let org = service::visible_org(&s.app, a, id).await?;
    let lang = ctx.lang;
    let users = if a.principal.has(Permission::UserRead) {
        let first = service::Page {
            after: 0,
            limit: C360_ROWS,
        };
        // Outside the caller's user visibility the list is empty, not the page missing.
        match users::list(&s.app, a, id, first).await {
            Ok(list) => list,
            Err(ServiceError::NotFound) => Vec::new(),
            Err(other) => return Err(other.into()),
        }
    } else {
        Vec::new()
    };
    let money = a.principal.has(Permission::AccountRead) && org.kind.is_customer();
    let (balances, instances, orders, lines) = if money {
        let g = accounts::glance(&s.app, a, id, C360_ROWS).await?;
        (Some(g.balances), g.instances, g.orders, g.statements)
    } else {
        (None, Vec::new(), Vec::new(), Vec::new())
    };
    let pids: Vec<i64> = instances
        .iter()
        .map(|i| i.product_id)
        .chain(orders.iter().map(|o| o.product_id))
        .collect();
    let (products, specs) = catalogue::names(&s.app, &pids).await?;
    let body = html! {
        h1 { (ctx.t("c360.title")) ": " (org.name) }
        dl.facts {
            dt { (ctx.t("org.kind")) } dd { (ctx.t(&format!("org.kind.{}", org.kind.as_str()))) }
            dt { (ctx.t("org.status")) } dd { (ctx.t(&format!("org.status.{}", org.status.as_str()))) }
            dt { (ctx.t("org.created")) } dd { (lang.datetime(org.created_ms)) }
        }
        @if !users.is_empty() {
            h2 { (ctx.t("c360.users")) }
            table.data { tbody { @for u in &users { tr { td { (u.login) } td { (u.display_name) } td { @for r in &u.roles { code { (r.as_str()) } " " } } } } } }
        }
        @if let Some(b) = balances {
            h2 { (ctx.t("c360.balances")) }
            dl.facts {
                dt { (ctx.t("account.cash")) } dd { (lang.money(b.cash_fen)) }
                dt { (ctx.t("account.voucher")) } dd { (lang.money(b.voucher_fen)) }
                dt { (ctx.t("account.credit")) } dd { (lang.money(b.credit_line_fen)) }
                dt { (ctx.t("account.credit_used")) } dd { (lang.money(b.credit_used_fen)) }
                dt { (ctx.t("account.frozen")) } dd { (lang.money(b.frozen_fen)) }
            }
            @if ctx.has(Permission::FinanceManage) {
                div.two {
                    form method="post" action=(format!("/ops/customers/{}", org.id.get())) novalidate {
                        (csrf(&ctx))
                        input type="hidden" name="what" value="voucher";
                        input type="hidden" name="idem" value=(form::idempotency_key());
                        (form::field(&ctx, "voucher", "fin.voucher", Kind::Decimal, "", &FormErrors::default(), true))
                        div.actions { button type="submit" { (ctx.t("fin.grant")) } }
                    }
                    form method="post" action=(format!("/ops/customers/{}", org.id.get())) novalidate {
                        (csrf(&ctx))
                        input type="hidden" name="what" value="credit";
                        (form::field(&ctx, "credit", "fin.credit_line", Kind::Decimal, "", &FormErrors::default(), true))
                        div.actions { button type="submit" { (ctx.t("common.save")) } }
                    }
                }
            }
            h2 { (ctx.t("c360.instances")) }
            @if instances.is_empty() { p.empty { (ctx.t("list.empty")) } }
            ul { @for i in &instances { li { "#" (i.id) " " (spec_label(&products, &specs, i.product_id, i.spec_id)) " · " (ctx.t(&format!("status.{}", i.status.as_str()))) } } }
            h2 { (ctx.t("c360.orders")) }
            @if orders.is_empty() { p.empty { (ctx.t("list.empty")) } } @else { (orders_table(&ctx, &orders, &products, &specs)) }
            h2 { (ctx.t("c360.statements")) }
            @if lines.is_empty() { p.empty { (ctx.t("list.empty")) } } @else { (statements_table(&ctx, &lines)) }
        }
    };
    Ok(layout::page(&ctx, &org.name, Some(&OPS), body))
}

/// A voucher grant or credit-line change on the 360 view.
#[derive(Debug, Default, Deserialize)]
pub struct GrantForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    /// `voucher` or `credit`.
    #[serde(default)]
    what: String,
    #[serde(default)]
    voucher: String,
    #[serde(default)]
    credit: String,
    #[serde(default)]
    idem: String,
}

/// What the 360 view's finance forms grant.
enum Grant {
    /// A credit line, in fen.
    Credit(i64),
    /// A cash voucher.
    Voucher(VoucherGrant),
}

/// `POST /ops/customers/{id}`: grants a cash voucher or sets the credit line through the
/// API (beyond one finance user's limit it waits for a second one: four eyes).
pub async fn customer_post(
    State(s): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<GrantForm>,
) -> PageResult {
    let a = ctx.require(Permission::FinanceManage)?;
    let lang = ctx.lang;
    let back = format!("/ops/customers/{id}");
    let mut e = FormErrors::default();
    let (grant, field) = if f.what == "credit" {
        let fen = e.yuan_opt(lang, "credit", &f.credit).unwrap_or_else(|| {
            if e.get("credit").is_none() {
                e.add("credit", lang.t("err.required"));
            }
            0
        });
        (Grant::Credit(fen), "credit")
    } else {
        let fen = e.yuan(lang, "voucher", &f.voucher);
        let key = if f.idem.is_empty() {
            form::idempotency_key()
        } else {
            f.idem.clone()
        };
        (
            Grant::Voucher(VoucherGrant {
                amount_fen: fen,
                idempotency_key: key,
            }),
            "voucher",
        )
    };
    if let Some(m) = e.get(field) {
        let msg = m.to_owned();
        let body = html! {
            div.form-errors role="alert" { p { (msg) } }
            p { a.button href=(back) { (ctx.t("order.back")) } }
        };
        let mut r = layout::page(&ctx, &ctx.t("error.form"), Some(&OPS), body);
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(r);
    }
    let granted = api::run(&ctx, &f.csrf, async {
        match &grant {
            Grant::Credit(fen) => accounts::set_credit_line(&s.app, a, id, *fen).await,
            Grant::Voucher(v) => accounts::grant_voucher(&s.app, a, id, v).await,
        }
    })
    .await?;
    match granted {
        Ok(g) => {
            let key = if g.balances.is_none() {
                "fin.grant_pending"
            } else {
                "fin.granted"
            };
            Ok(done(&back, key, ""))
        }
        Err(fail) => refused(&ctx, &fail, &back),
    }
}

// ---------------------------------------------------------------- catalogue

pub use suanli_platform_http::service::orgs::ORGS_SCANNED_MAX;

/// Active supplier organisations (every page of organisations).
async fn supplier_orgs(s: &WebState) -> Result<Vec<OrgRecord>, WebError> {
    Ok(orgs::suppliers(&s.app).await?)
}

/// The catalogue forms (category, product).
#[derive(Debug, Default, Deserialize)]
pub struct CatalogueForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    /// `category` or `product`.
    #[serde(default)]
    what: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    cat_name: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    supplier: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    manual: Option<String>,
    #[serde(default)]
    share: String,
}

async fn catalogue_view(s: &WebState, ctx: &Ctx, f: &CatalogueForm, e: &FormErrors) -> PageResult {
    let a = ctx.require(Permission::CatalogueManage)?;
    let (categories, products) = catalogue::manage(&s.app, a).await?;
    let suppliers = supplier_orgs(s).await?;
    let cat_opts: Vec<(String, String)> = categories
        .iter()
        .map(|c| (c.id.to_string(), c.name.clone()))
        .collect();
    let sup_opts: Vec<(String, String)> = suppliers
        .iter()
        .map(|o| (o.id.get().to_string(), o.name.clone()))
        .collect();
    let product_form = f.what == "product";
    let empty = FormErrors::default();
    let (ce, pe) = if product_form {
        (&empty, e)
    } else {
        (e, &empty)
    };
    let body = html! {
        h1 { (ctx.t("ops.catalogue")) }
        h2 { (ctx.t("cat.products")) }
        @if products.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
        table.data #products {
            thead { tr { th { "#" } th { (ctx.t("cat.name")) } th { (ctx.t("cat.category")) } th { (ctx.t("cat.supplier")) } th { (ctx.t("cat.region")) } th { (ctx.t("org.status")) } th { (ctx.t("common.actions")) } } }
            tbody {
                @for p in &products {
                    tr data-product=(p.id) {
                        td { (p.id) }
                        td { (p.name) }
                        td { (categories.iter().find(|c| c.id == p.category_id).map_or_else(String::new, |c| c.name.clone())) }
                        td { (suppliers.iter().find(|o| o.id == p.supplier).map_or_else(|| format!("#{}", p.supplier.get()), |o| o.name.clone())) }
                        td { (p.region) }
                        td.pub-state { (ctx.t(if p.published { "product.published" } else { "product.unpublished" })) }
                        td { a.button href=(format!("/ops/products/{}", p.id)) { (ctx.t("cat.manage")) } }
                    }
                }
            }
        }
        }
        div.two {
            section {
                h2 { (ctx.t("cat.new_product")) }
                @if sup_opts.is_empty() { p.hint { (ctx.t("cat.no_supplier")) } }
                @if cat_opts.is_empty() { p.hint { (ctx.t("cat.new_category")) } }
                @if product_form { (form::summary(ctx, pe)) }
                form method="post" action="/ops/catalogue" novalidate {
                    (csrf(ctx))
                    input type="hidden" name="what" value="product";
                    (form::field(ctx, "name", "cat.name", Kind::Text, &f.name, pe, true))
                    (form::select(ctx, "category", "cat.category", &cat_opts, &f.category, pe))
                    (form::select(ctx, "supplier", "cat.supplier", &sup_opts, &f.supplier, pe))
                    (form::field(ctx, "region", "cat.region", Kind::Text, &f.region, pe, true))
                    (form::field(ctx, "share", "cat.share", Kind::Decimal, if f.share.is_empty() { "70" } else { &f.share }, pe, true))
                    (form::checkbox(ctx, "manual", "cat.manual", f.manual.is_some()))
                    div.actions { button type="submit" { (ctx.t("cat.create")) } }
                }
            }
            section {
                h2 { (ctx.t("cat.categories")) }
                ul { @for c in &categories { li { (c.name) } } }
                h3 { (ctx.t("cat.new_category")) }
                @if !product_form { (form::summary(ctx, ce)) }
                form method="post" action="/ops/catalogue" novalidate {
                    (csrf(ctx))
                    input type="hidden" name="what" value="category";
                    (form::field(ctx, "cat_name", "cat.name", Kind::Text, &f.cat_name, ce, true))
                    div.actions { button type="submit" { (ctx.t("cat.create")) } }
                }
            }
        }
    };
    Ok(layout::page(ctx, &ctx.t("ops.catalogue"), Some(&OPS), body))
}

/// `GET /ops/catalogue`
pub async fn catalogue(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    ctx.require(Permission::CatalogueManage)?;
    catalogue_view(&s, &ctx, &CatalogueForm::default(), &FormErrors::default()).await
}

/// What the catalogue form creates.
enum Draft {
    /// A category of this name.
    Category(String),
    /// A product.
    Product(ProductDraft),
}

/// `POST /ops/catalogue`: a new category or product.
pub async fn catalogue_post(
    State(s): State<WebState>,
    ctx: Ctx,
    Form(f): Form<CatalogueForm>,
) -> PageResult {
    let a = ctx.require(Permission::CatalogueManage)?;
    let lang = ctx.lang;
    let mut e = FormErrors::default();
    let call = if f.what == "category" {
        let name = e.required(lang, "cat_name", &f.cat_name);
        e.is_empty().then_some(Draft::Category(name))
    } else {
        let name = e.required(lang, "name", &f.name);
        let category: i64 = f.category.parse().unwrap_or_else(|_| {
            e.add("category", lang.t("err.choose"));
            0
        });
        let supplier: i64 = f.supplier.parse().unwrap_or_else(|_| {
            e.add("supplier", lang.t("err.choose"));
            0
        });
        let region = e.required(lang, "region", &f.region);
        let share = e.percent_bp(lang, "share", &f.share);
        e.is_empty().then(|| {
            Draft::Product(ProductDraft {
                category_id: category,
                name,
                supplier_org_id: supplier,
                region,
                manual_provisioning: f.manual.is_some(),
                supplier_share_bp: share,
            })
        })
    };
    if let Some(draft) = call {
        let created = api::run(&ctx, &f.csrf, async {
            match &draft {
                Draft::Category(name) => catalogue::create_category(&s.app, a, name)
                    .await
                    .map(|_| None),
                Draft::Product(p) => catalogue::create_product(&s.app, a, p)
                    .await
                    .map(|p| Some(p.id)),
            }
        })
        .await?;
        match created {
            Ok(Some(id)) => {
                return Ok(done(
                    &format!("/ops/products/{id}"),
                    "cat.created_product",
                    &id.to_string(),
                ));
            }
            Ok(None) => return Ok(done("/ops/catalogue", "disc.created", "")),
            Err(fail) => e.api(
                lang,
                &fail,
                &[
                    (
                        "name",
                        if f.what == "category" {
                            "cat_name"
                        } else {
                            "name"
                        },
                    ),
                    ("category_id", "category"),
                    ("supplier_org_id", "supplier"),
                    ("region", "region"),
                    ("supplier_share_bp", "share"),
                ],
            ),
        }
    }
    let mut r = catalogue_view(&s, &ctx, &f, &e).await?;
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(r)
}

/// The product page's forms (new spec, publish, unpublish).
#[derive(Debug, Default, Deserialize)]
pub struct ProductForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    /// `spec`, `publish` or `unpublish`.
    #[serde(default)]
    what: String,
    #[serde(default)]
    family: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    monthly: String,
    #[serde(default)]
    yearly: String,
    #[serde(default)]
    per_minute: String,
    #[serde(default)]
    minimum: String,
    #[serde(default)]
    deposit: String,
    /// The spec being repriced (`what=pricing`).
    #[serde(default)]
    spec: String,
    #[serde(default)]
    p_monthly: String,
    #[serde(default)]
    p_yearly: String,
    #[serde(default)]
    p_per_minute: String,
    #[serde(default)]
    p_minimum: String,
    #[serde(default)]
    p_deposit: String,
}

/// Pricing strategies from the five price fields named `{prefix}monthly` … (yuan), as the
/// API's JSON; messages on the fields.
fn pricing_json(lang: crate::i18n::Lang, e: &mut FormErrors, prefix: &str, v: [&str; 5]) -> Value {
    let n = |k: &str| format!("{prefix}{k}");
    let monthly = e.yuan_opt(lang, &n("monthly"), v[0]);
    let yearly = e.yuan_opt(lang, &n("yearly"), v[1]);
    let per_minute = e.yuan_opt(lang, &n("per_minute"), v[2]);
    let minimum = e.yuan_opt(lang, &n("minimum"), v[3]).unwrap_or(0);
    let deposit = e.yuan_opt(lang, &n("deposit"), v[4]).unwrap_or(0);
    if monthly.is_none()
        && per_minute.is_none()
        && e.get(&n("monthly")).is_none()
        && e.get(&n("per_minute")).is_none()
    {
        e.add(&n("monthly"), lang.t("cat.need_mode"));
    }
    let mut pricing = serde_json::Map::new();
    if let Some(m) = monthly {
        let mut pp = json!({"monthly_fen": m});
        if let Some(y) = yearly {
            pp["yearly_fen"] = json!(y);
        }
        pricing.insert("prepaid".into(), pp);
    }
    if let Some(pm) = per_minute {
        pricing.insert(
            "payg".into(),
            json!({"per_minute_fen": pm, "minimum_fen": minimum, "deposit_fen": deposit}),
        );
    }
    Value::Object(pricing)
}

async fn product_view(
    s: &WebState,
    ctx: &Ctx,
    id: i64,
    f: &ProductForm,
    e: &FormErrors,
) -> PageResult {
    let a = ctx.require(Permission::CatalogueManage)?;
    let (p, specs) = catalogue::product(&s.app, a, id).await?;
    let spec_opts: Vec<(String, String)> = specs
        .iter()
        .map(|sp| {
            (
                sp.id.to_string(),
                format!("{} {} (v{})", sp.family, sp.name, sp.version),
            )
        })
        .collect();
    let body = html! {
        h1 { (p.name) " " span.badge #pub-state { (ctx.t(if p.published { "product.published" } else { "product.unpublished" })) } }
        p { a href=(format!("/products/{}", p.id)) { (ctx.t("portal.details")) } " · " (p.region) }
        form.inline method="post" action=(format!("/ops/products/{}", p.id)) {
            (csrf(ctx))
            @if p.published {
                input type="hidden" name="what" value="unpublish";
                button #unpublish.secondary type="submit" { (ctx.t("cat.unpublish")) }
            } @else {
                input type="hidden" name="what" value="publish";
                button #publish type="submit" { (ctx.t("cat.publish")) }
            }
        }
        h2 { (ctx.t("product.specs")) }
        @if specs.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
            table.data #specs {
                thead { tr { th { (ctx.t("product.family")) } th { (ctx.t("product.spec")) } th { (ctx.t("product.prepaid")) " / " (ctx.t("product.payg")) } } }
                tbody { @for sp in &specs { tr { td { (sp.family) } td { (sp.name) } td { (pricing_view(ctx.lang, &sp.pricing)) } } } }
            }
        }
        @if !specs.is_empty() {
            h2 { (ctx.t("cat.reprice")) }
            p.hint { (ctx.t("cat.reprice_note")) }
            @if f.what == "pricing" { (form::summary(ctx, e)) }
            form method="post" action=(format!("/ops/products/{}", p.id)) novalidate {
                (csrf(ctx))
                input type="hidden" name="what" value="pricing";
                (form::select(ctx, "spec", "product.spec", &spec_opts, &f.spec, e))
                (form::field(ctx, "p_monthly", "cat.monthly", Kind::Decimal, &f.p_monthly, e, false))
                (form::field(ctx, "p_yearly", "cat.yearly", Kind::Decimal, &f.p_yearly, e, false))
                (form::field(ctx, "p_per_minute", "cat.per_minute", Kind::Decimal, &f.p_per_minute, e, false))
                (form::field(ctx, "p_minimum", "cat.minimum", Kind::Decimal, &f.p_minimum, e, false))
                (form::field(ctx, "p_deposit", "cat.deposit", Kind::Decimal, &f.p_deposit, e, false))
                div.actions { button type="submit" { (ctx.t("common.save")) } }
            }
        }
        h2 { (ctx.t("cat.new_spec")) }
        @if f.what != "pricing" { (form::summary(ctx, e)) }
        form method="post" action=(format!("/ops/products/{}", p.id)) novalidate {
            (csrf(ctx))
            input type="hidden" name="what" value="spec";
            (form::field(ctx, "family", "cat.family", Kind::Text, &f.family, e, true))
            (form::field(ctx, "name", "cat.spec_name", Kind::Text, &f.name, e, true))
            (form::field(ctx, "monthly", "cat.monthly", Kind::Decimal, &f.monthly, e, false))
            (form::field(ctx, "yearly", "cat.yearly", Kind::Decimal, &f.yearly, e, false))
            (form::field(ctx, "per_minute", "cat.per_minute", Kind::Decimal, &f.per_minute, e, false))
            (form::field(ctx, "minimum", "cat.minimum", Kind::Decimal, &f.minimum, e, false))
            (form::field(ctx, "deposit", "cat.deposit", Kind::Decimal, &f.deposit, e, false))
            div.actions { button type="submit" { (ctx.t("cat.create")) } }
        }
    };
    Ok(layout::page(ctx, &p.name, Some(&OPS), body))
}

/// `GET /ops/products/{id}`
pub async fn product(State(s): State<WebState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    ctx.require(Permission::CatalogueManage)?;
    product_view(
        &s,
        &ctx,
        id,
        &ProductForm::default(),
        &FormErrors::default(),
    )
    .await
}

/// `POST /ops/products/{id}`
pub async fn product_post(
    State(s): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<ProductForm>,
) -> PageResult {
    let a = ctx.require(Permission::CatalogueManage)?;
    let lang = ctx.lang;
    let back = format!("/ops/products/{id}");
    let simple = match f.what.as_str() {
        "publish" => Some((true, "cat.published_ok")),
        "unpublish" => Some((false, "cat.unpublished_ok")),
        _ => None,
    };
    if let Some((on, key)) = simple {
        let published = api::run(&ctx, &f.csrf, catalogue::publish(&s.app, a, id, on)).await?;
        return match published {
            Ok(_) => Ok(done(&back, key, "")),
            Err(fail) => refused(&ctx, &fail, &back),
        };
    }
    let mut e = FormErrors::default();
    if f.what == "pricing" {
        let spec: i64 = f.spec.parse().unwrap_or_else(|_| {
            e.add("spec", lang.t("err.choose"));
            0
        });
        let pricing = pricing_json(
            lang,
            &mut e,
            "p_",
            [
                &f.p_monthly,
                &f.p_yearly,
                &f.p_per_minute,
                &f.p_minimum,
                &f.p_deposit,
            ],
        );
        if e.is_empty() {
            let set = api::run(&ctx, &f.csrf, async {
                let p = catalogue::pricing_of(pricing)?;
                catalogue::set_pricing(&s.app, a, spec, p).await
            })
            .await?;
            match set {
                Ok(_) => return Ok(done(&back, "sec.saved", "")),
                Err(fail) if fail.status == StatusCode::NOT_FOUND => {
                    return Err(WebError::NotFound);
                }
                Err(fail) => e.api(
                    lang,
                    &fail,
                    &[
                        ("pricing.prepaid.yearly_fen", "p_yearly"),
                        ("pricing.prepaid", "p_monthly"),
                        ("pricing.payg.minimum_fen", "p_minimum"),
                        ("pricing.payg.deposit_fen", "p_deposit"),
                        ("pricing.payg", "p_per_minute"),
                        ("pricing", "p_monthly"),
                    ],
                ),
            }
        }
        let mut r = product_view(&s, &ctx, id, &f, &e).await?;
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(r);
    }
    let family = e.required(lang, "family", &f.family);
    let name = e.required(lang, "name", &f.name);
    let pricing = pricing_json(
        lang,
        &mut e,
        "",
        [&f.monthly, &f.yearly, &f.per_minute, &f.minimum, &f.deposit],
    );
    if e.is_empty() {
        let created = api::run(&ctx, &f.csrf, async {
            let draft = SpecDraft {
                family,
                name,
                pricing: catalogue::pricing_of(pricing)?,
            };
            catalogue::create_spec(&s.app, a, id, draft).await
        })
        .await?;
        match created {
            Ok(_) => return Ok(done(&back, "disc.created", "")),
            Err(fail) if fail.status == StatusCode::NOT_FOUND => return Err(WebError::NotFound),
            Err(fail) => e.api(
                lang,
                &fail,
                &[
                    ("family", "family"),
                    ("name", "name"),
                    ("pricing.prepaid.yearly_fen", "yearly"),
                    ("pricing.prepaid", "monthly"),
                    ("pricing.payg.minimum_fen", "minimum"),
                    ("pricing.payg.deposit_fen", "deposit"),
                    ("pricing.payg", "per_minute"),
                    ("pricing", "monthly"),
                ],
            ),
        }
    }
    let mut r = product_view(&s, &ctx, id, &f, &e).await?;
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(r)
}

// ---------------------------------------------------------------- orders and acceptance

/// `GET /ops/orders`: every order, and the instances of the page awaiting acceptance.
pub async fn orders(State(s): State<WebState>, ctx: Ctx, Query(q): Query<Page>) -> PageResult {
    let a = ctx.require(Permission::OrderManage)?;
    let page = service::Page {
        after: q.after.unwrap_or(0),
        limit: LIST_PAGE_ROWS,
    };
    let list = orders::list_all(&s.app, a, page).await?;
    // Every instance waiting for acceptance (oldest first), whatever page of orders is shown.
    let instances = orders::pending_instances(&s.app, a, PAGE_SIZE_MAX).await?;
    let pending: Vec<_> = instances.iter().collect();
    let pids: Vec<i64> = list
        .iter()
        .map(|o| o.product_id)
        .chain(pending.iter().map(|i| i.product_id))
        .collect();
    let (products, specs) = catalogue::names(&s.app, &pids).await?;
    let customers = names(&s, pending.iter().map(|i| i.org)).await?;
    let body = html! {
        h1 { (ctx.t("ops.orders")) }
        h2 { (ctx.t("acc.pending")) }
        @if pending.is_empty() { p.empty { (ctx.t("list.empty")) } }
        @for i in &pending {
            form.card method="post" action=(format!("/ops/instances/{}/accept", i.id)) novalidate {
                (csrf(&ctx))
                p { "#" (i.id) " · " (spec_label(&products, &specs, i.product_id, i.spec_id)) " · " (ctx.t("acc.customer")) ": " (org_name(&customers, i.org)) }
                (form::field(&ctx, "resource_id", "acc.resource_id", Kind::Text, "", &FormErrors::default(), true))
                (form::field(&ctx, "access_address", "acc.address", Kind::Text, "", &FormErrors::default(), true))
                div.actions { button type="submit" { (ctx.t("acc.accept")) } }
            }
        }
        h2 { (ctx.t("console.orders")) }
        @if list.is_empty() { p.empty { (ctx.t("list.empty")) } } @else { (orders_table(&ctx, &list, &products, &specs)) }
        @if list.len() == LIST_PAGE_ROWS as usize {
            @if let Some(last) = list.last() { a href=(format!("/ops/orders?after={}", last.id)) { (ctx.t("list.next")) } }
        }
    };
    Ok(layout::page(&ctx, &ctx.t("ops.orders"), Some(&OPS), body))
}

/// The acceptance form.
#[derive(Debug, Default, Deserialize)]
pub struct AcceptForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    resource_id: String,
    #[serde(default)]
    access_address: String,
}

/// `POST /ops/instances/{id}/accept`: provisioning details filled back.
pub async fn accept(
    State(s): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<AcceptForm>,
) -> PageResult {
    let a = ctx.require(Permission::OrderManage)?;
    let r = Acceptance {
        resource_id: f.resource_id.trim().to_owned(),
        access_address: f.access_address.trim().to_owned(),
        opened_ms: None,
    };
    match api::run(&ctx, &f.csrf, orders::accept(&s.app, a, id, &r)).await? {
        Ok(_) => Ok(done("/ops/orders", "acc.accepted", &id.to_string())),
        Err(fail) => refused(&ctx, &fail, "/ops/orders"),
    }
}

// ---------------------------------------------------------------- finance

/// The offline transfer form.
#[derive(Debug, Default, Deserialize)]
pub struct OfflineForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    /// `enter` or `approve`.
    #[serde(default)]
    what: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    org: String,
    #[serde(default)]
    direction: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reference: String,
}

async fn finance_view(s: &WebState, ctx: &Ctx, f: &OfflineForm, e: &FormErrors) -> PageResult {
    let lang = ctx.lang;
    let a = ctx.require(Permission::FinanceManage)?;
    let list = payments::offline_worklist(&s.app, a, PAGE_SIZE_MAX).await?;
    let grants = accounts::grant_worklist(&s.app, a, PAGE_SIZE_MAX).await?;
    let orgs = names(
        s,
        list.iter()
            .map(|o| o.org)
            .chain(grants.iter().map(|g| g.org)),
    )
    .await?;
    let dirs = vec![
        ("in".to_owned(), ctx.t("fin.in")),
        ("out".to_owned(), ctx.t("fin.out")),
    ];
    let me = ctx.auth.as_ref().map(|a| a.user.id);
    let body = html! {
        h1 { (ctx.t("ops.finance")) }
        @if list.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
        table.data #offline {
            thead { tr { th { "#" } th { (ctx.t("acc.customer")) } th { (ctx.t("fin.direction")) } th { (ctx.t("stmt.amount")) } th { (ctx.t("fin.reference")) } th { (ctx.t("reg.submitted")) } th { (ctx.t("org.status")) } th { (ctx.t("common.actions")) } } }
            tbody {
                @for o in list.iter().rev() {
                    tr {
                        td { (o.id) } td { (org_name(&orgs, o.org)) }
                        td { (ctx.t(if o.direction.as_str() == "in" { "fin.in" } else { "fin.out" })) }
                        td.num { (lang.money(o.amount_fen.get())) } td { (o.reference) }
                        td { (lang.datetime(o.entered_ms)) }
                        td { (ctx.t(&format!("fin.status.{}", o.status))) }
                        td {
                            @if o.status == "pending" && Some(o.entered_by) != me {
                                form.inline method="post" action="/ops/finance" {
                                    (csrf(ctx))
                                    input type="hidden" name="what" value="approve";
                                    input type="hidden" name="id" value=(o.id);
                                    button type="submit" { (ctx.t("fin.approve")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        }
        h2 { (ctx.t("fin.grants")) }
        @if grants.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
        table.data #grants {
            thead { tr { th { "#" } th { (ctx.t("acc.customer")) } th { (ctx.t("fin.kind")) } th { (ctx.t("stmt.amount")) } th { (ctx.t("reg.submitted")) } th { (ctx.t("org.status")) } th { (ctx.t("common.actions")) } } }
            tbody {
                @for g in grants.iter().rev() {
                    tr {
                        td { (g.id) } td { (org_name(&orgs, g.org)) }
                        td { (ctx.t(&format!("fin.kind.{}", g.kind.as_str()))) }
                        td.num { (lang.money(g.amount_fen.get())) }
                        td { (lang.datetime(g.entered_ms)) }
                        td { (ctx.t(&format!("fin.grant.{}", g.status))) }
                        td {
                            @if g.status == "pending" && Some(g.entered_by) != me {
                                form.inline method="post" action="/ops/finance" {
                                    (csrf(ctx))
                                    input type="hidden" name="what" value="approve_grant";
                                    input type="hidden" name="id" value=(g.id);
                                    button type="submit" { (ctx.t("fin.approve")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        }
        h2 { (ctx.t("fin.enter")) }
        (form::summary(ctx, e))
        form method="post" action="/ops/finance" novalidate {
            (csrf(ctx))
            input type="hidden" name="what" value="enter";
            (form::field(ctx, "org", "fin.customer", Kind::Integer, &f.org, e, true))
            (form::select(ctx, "direction", "fin.direction", &dirs, &f.direction, e))
            (form::field(ctx, "amount", "account.amount", Kind::Decimal, &f.amount, e, true))
            (form::field(ctx, "reference", "fin.reference", Kind::Text, &f.reference, e, true))
            div.actions { button type="submit" { (ctx.t("common.submit")) } }
        }
    };
    Ok(layout::page(ctx, &ctx.t("ops.finance"), Some(&OPS), body))
}

/// `GET /ops/finance`
pub async fn finance(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    ctx.require(Permission::FinanceManage)?;
    finance_view(&s, &ctx, &OfflineForm::default(), &FormErrors::default()).await
}

/// `POST /ops/finance`: enter or approve (by a second finance user) an offline transfer.
pub async fn finance_post(
    State(s): State<WebState>,
    ctx: Ctx,
    Form(f): Form<OfflineForm>,
) -> PageResult {
    let a = ctx.require(Permission::FinanceManage)?;
    let lang = ctx.lang;
    if f.what == "approve" || f.what == "approve_grant" {
        let id: i64 = f.id.parse().map_err(|_| WebError::NotFound)?;
        let approved = if f.what == "approve" {
            api::run(&ctx, &f.csrf, async {
                payments::approve_offline(&s.app, a, id).await.map(|_| ())
            })
            .await?
        } else {
            api::run(&ctx, &f.csrf, async {
                accounts::approve_grant(&s.app, a, id).await.map(|_| ())
            })
            .await?
        };
        return match approved {
            Ok(_) => Ok(done("/ops/finance", "fin.approved", "")),
            Err(fail) => refused(&ctx, &fail, "/ops/finance"),
        };
    }
    let mut e = FormErrors::default();
    let org = e.int(lang, "org", &f.org, 1, i64::MAX);
    let amount = e.yuan(lang, "amount", &f.amount);
    let reference = e.required(lang, "reference", &f.reference);
    let direction = match f.direction.as_str() {
        "in" => Direction::In,
        "out" => Direction::Out,
        _ => {
            e.add("direction", lang.t("err.choose"));
            Direction::In
        }
    };
    if e.is_empty() {
        let r = OfflineTransfer {
            org_id: org,
            direction,
            amount_fen: amount,
            reference,
        };
        match api::run(&ctx, &f.csrf, payments::enter_offline(&s.app, a, &r)).await? {
            Ok(_) => return Ok(done("/ops/finance", "fin.entered", "")),
            Err(fail) => {
                e.api(
                    lang,
                    &fail,
                    &[
                        ("org_id", "org"),
                        ("amount_fen", "amount"),
                        ("reference", "reference"),
                    ],
                );
                if fail.status == StatusCode::NOT_FOUND || fail.code == "not_a_customer" {
                    e.general = None;
                    e.add("org", form::api_message(lang, &fail));
                }
            }
        }
    }
    let mut r = finance_view(&s, &ctx, &f, &e).await?;
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(r)
}

// ---------------------------------------------------------------- discounts

/// Discount and coupon forms.
#[derive(Debug, Default, Deserialize)]
pub struct DiscountForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    /// `discount` or `coupon`.
    #[serde(default)]
    what: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    off: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    min_spend: String,
    #[serde(default)]
    days: String,
}

async fn discounts_view(s: &WebState, ctx: &Ctx, f: &DiscountForm, e: &FormErrors) -> PageResult {
    let a = ctx.require(Permission::CatalogueManage)?;
    let list = catalogue::discounts(&s.app, a).await?;
    let scopes: Vec<(String, String)> = ["global", "customer", "region", "volume"]
        .iter()
        .map(|k| ((*k).to_owned(), ctx.t(&format!("disc.scope.{k}"))))
        .collect();
    let coupon_form = f.what == "coupon";
    let empty = FormErrors::default();
    let (de, ce) = if coupon_form {
        (&empty, e)
    } else {
        (e, &empty)
    };
    let body = html! {
        h1 { (ctx.t("ops.discounts")) }
        @if list.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
            table.data #discounts {
                thead { tr { th { "#" } th { (ctx.t("disc.scope")) } th { (ctx.t("disc.off")) } } }
                tbody {
                    @for d in &list {
                        tr {
                            td { (d.id) }
                            td { @match &d.scope {
                                suanli_platform_domain::pricing::DiscountScope::Global => { (ctx.t("disc.scope.global")) }
                                suanli_platform_domain::pricing::DiscountScope::Customer { org_id } => { (ctx.t("disc.scope.customer")) " #" (org_id.get()) }
                                suanli_platform_domain::pricing::DiscountScope::Region { region } => { (ctx.t("disc.scope.region")) " " (region) }
                                suanli_platform_domain::pricing::DiscountScope::Volume { min_quantity } => { (ctx.t("disc.scope.volume")) " ≥ " (min_quantity) }
                            } }
                            td { (bp_percent(d.off_bp.get())) }
                        }
                    }
                }
            }
        }
        div.two {
            section {
                h2 { (ctx.t("disc.create")) }
                @if !coupon_form { (form::summary(ctx, de)) }
                form method="post" action="/ops/discounts" novalidate {
                    (csrf(ctx))
                    input type="hidden" name="what" value="discount";
                    (form::select(ctx, "scope", "disc.scope", &scopes, &f.scope, de))
                    (form::field(ctx, "target", "disc.target", Kind::Text, &f.target, de, false))
                    (form::field(ctx, "off", "disc.off", Kind::Decimal, &f.off, de, true))
                    div.actions { button type="submit" { (ctx.t("cat.create")) } }
                }
            }
            section {
                h2 { (ctx.t("disc.coupons")) }
                @if coupon_form { (form::summary(ctx, ce)) }
                form method="post" action="/ops/discounts" novalidate {
                    (csrf(ctx))
                    input type="hidden" name="what" value="coupon";
                    (form::field(ctx, "code", "disc.code", Kind::Text, &f.code, ce, true))
                    (form::field(ctx, "amount", "disc.amount_off", Kind::Decimal, &f.amount, ce, true))
                    (form::field(ctx, "min_spend", "disc.min_spend", Kind::Decimal, if f.min_spend.is_empty() { "0" } else { &f.min_spend }, ce, true))
                    (form::field(ctx, "days", "disc.valid_days", Kind::Integer, if f.days.is_empty() { "30" } else { &f.days }, ce, true))
                    div.actions { button type="submit" { (ctx.t("cat.create")) } }
                }
            }
        }
    };
    Ok(layout::page(ctx, &ctx.t("ops.discounts"), Some(&OPS), body))
}

/// `GET /ops/discounts`
pub async fn discounts(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    ctx.require(Permission::CatalogueManage)?;
    discounts_view(&s, &ctx, &DiscountForm::default(), &FormErrors::default()).await
}

/// What the discounts page creates.
enum Rule {
    /// A coupon.
    Coupon(CouponDraft),
    /// A discount rule.
    Discount(DiscountDraft),
}

/// `POST /ops/discounts`
pub async fn discounts_post(
    State(s): State<WebState>,
    ctx: Ctx,
    Form(f): Form<DiscountForm>,
) -> PageResult {
    let a = ctx.require(Permission::CatalogueManage)?;
    let lang = ctx.lang;
    let mut e = FormErrors::default();
    let call = if f.what == "coupon" {
        let code = e.required(lang, "code", &f.code);
        let amount = e.yuan(lang, "amount", &f.amount);
        let min = e.yuan_opt(lang, "min_spend", &f.min_spend).unwrap_or(0);
        let days = e.int(lang, "days", &f.days, 1, COUPON_DAYS_MAX);
        let expires = s.app.clock.now_unix_ms() + days * DAY_MS;
        let fen = Fen::new(amount).unwrap_or_else(|err| {
            e.add("amount", format!("{} ({err})", lang.t("err.invalid_field")));
            Fen::ZERO
        });
        (
            Rule::Coupon(CouponDraft {
                code,
                org_id: None,
                value: CouponValue::AmountOff { fen },
                min_spend_fen: min,
                expires_ms: expires,
            }),
            vec![
                ("code", "code"),
                ("value", "amount"),
                ("min_spend_fen", "min_spend"),
                ("expires_ms", "days"),
            ],
        )
    } else {
        let off = e.percent_bp(lang, "off", &f.off);
        let target = f.target.trim();
        let rule = match f.scope.as_str() {
            "global" => DiscountScope::Global,
            "customer" => {
                // Without a valid id the field already carries its message.
                match OrgId::new(e.int(lang, "target", target, 1, i64::MAX)) {
                    Some(org_id) => DiscountScope::Customer { org_id },
                    None => DiscountScope::Global,
                }
            }
            "region" => DiscountScope::Region {
                region: e.required(lang, "target", target),
            },
            "volume" => {
                let q = e.int(
                    lang,
                    "target",
                    target,
                    1,
                    i64::from(suanli_platform_domain::pricing::QUANTITY_MAX),
                );
                DiscountScope::Volume {
                    min_quantity: u32::try_from(q).unwrap_or(1),
                }
            }
            _ => {
                e.add("scope", lang.t("err.choose"));
                DiscountScope::Global
            }
        };
        (
            Rule::Discount(DiscountDraft { rule, off_bp: off }),
            vec![("rule", "target"), ("off_bp", "off")],
        )
    };
    if e.is_empty() {
        let (rule, fields) = call;
        let created = api::run(&ctx, &f.csrf, async {
            match &rule {
                Rule::Coupon(c) => catalogue::create_coupon(&s.app, a, c).await.map(|_| ()),
                Rule::Discount(d) => catalogue::create_discount(&s.app, a, d).await.map(|_| ()),
            }
        })
        .await?;
        match created {
            Ok(_) => return Ok(done("/ops/discounts", "disc.created", "")),
            Err(fail) => {
                e.api(lang, &fail, &fields);
                if fail.code == "conflict" && f.what == "coupon" {
                    e.general = None;
                    e.add("code", lang.t("err.conflict"));
                }
            }
        }
    }
    let mut r = discounts_view(&s, &ctx, &f, &e).await?;
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(r)
}

// ---------------------------------------------------------------- suppliers

/// A new supplier organisation.
#[derive(Debug, Default, Deserialize)]
pub struct SupplierForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    admin_name: String,
    #[serde(default)]
    password: String,
}

async fn suppliers_view(s: &WebState, ctx: &Ctx, f: &SupplierForm, e: &FormErrors) -> PageResult {
    let list = supplier_orgs(s).await?;
    let kinds = vec![
        (
            "supplier_resource".to_owned(),
            ctx.t("org.kind.supplier_resource"),
        ),
        ("supplier_api".to_owned(), ctx.t("org.kind.supplier_api")),
    ];
    let body = html! {
        h1 { (ctx.t("ops.suppliers")) }
        @if list.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
            table.data #suppliers {
                thead { tr { th { (ctx.t("org.id")) } th { (ctx.t("org.name")) } th { (ctx.t("org.kind")) } th { (ctx.t("org.status")) } th { (ctx.t("org.created")) } } }
                tbody { @for o in &list { tr { (org_row_cells(ctx, o)) } } }
            }
        }
        h2 { (ctx.t("sup.new")) }
        (form::summary(ctx, e))
        form method="post" action="/ops/suppliers" novalidate {
            (csrf(ctx))
            (form::select(ctx, "kind", "sup.kind", &kinds, &f.kind, e))
            (form::field(ctx, "name", "org.name", Kind::Text, &f.name, e, true))
            (form::field(ctx, "login", "sup.admin_login", Kind::Text, &f.login, e, true))
            (form::field(ctx, "admin_name", "sup.admin_name", Kind::Text, &f.admin_name, e, true))
            (form::field(ctx, "password", "sup.admin_password", Kind::Password, "", e, true))
            div.actions { button type="submit" { (ctx.t("cat.create")) } }
        }
    };
    Ok(layout::page(ctx, &ctx.t("ops.suppliers"), Some(&OPS), body))
}

/// `GET /ops/suppliers`
pub async fn suppliers(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    ctx.require(Permission::OrgAdmin)?;
    suppliers_view(&s, &ctx, &SupplierForm::default(), &FormErrors::default()).await
}

/// `POST /ops/suppliers`
pub async fn suppliers_post(
    State(s): State<WebState>,
    ctx: Ctx,
    Form(f): Form<SupplierForm>,
) -> PageResult {
    let a = ctx.require(Permission::OrgAdmin)?;
    let lang = ctx.lang;
    let mut e = FormErrors::default();
    let kind = OrgKind::parse(&f.kind).filter(|k| k.is_supplier());
    if kind.is_none() {
        e.add("kind", lang.t("err.choose"));
    }
    let name = e.required(lang, "name", &f.name);
    let login = e.required(lang, "login", &f.login);
    let admin = e.required(lang, "admin_name", &f.admin_name);
    if f.password.is_empty() {
        e.add("password", lang.t("err.required"));
    }
    if let (true, Some(k)) = (e.is_empty(), kind) {
        let draft = OrgDraft {
            kind: k,
            name,
            admin: AdminDraft {
                login,
                display_name: admin,
                password: f.password.clone(),
            },
        };
        match api::run(&ctx, &f.csrf, orgs::create(&s.app, a, &draft)).await? {
            Ok((org, _)) => {
                return Ok(done(
                    "/ops/suppliers",
                    "sup.created",
                    &org.id.get().to_string(),
                ));
            }
            Err(fail) => {
                e.api(
                    lang,
                    &fail,
                    &[
                        ("name", "name"),
                        ("admin.login", "login"),
                        ("admin.display_name", "admin_name"),
                        ("admin.password", "password"),
                    ],
                );
                if fail.code == "login_taken" {
                    e.general = None;
                    e.add("login", lang.t("err.login_taken"));
                }
                if fail.code.starts_with("password") {
                    e.general = None;
                    e.add("password", form::api_message(lang, &fail));
                }
            }
        }
    }
    let mut r = suppliers_view(&s, &ctx, &f, &e).await?;
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(r)
}

// ---------------------------------------------------------------- audit

/// Audit search filters.
#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    org: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    after: Option<u64>,
}

/// The audit log search (shared by the operations and system consoles).
pub async fn audit_view(
    s: &WebState,
    ctx: &Ctx,
    q: &AuditQuery,
    section: &layout::Section,
    base: &str,
) -> PageResult {
    let a = ctx.require(Permission::AuditRead)?;
    let lang = ctx.lang;
    let mut e = FormErrors::default();
    let num = |e: &mut FormErrors, name: &str, v: &str| -> Option<i64> {
        if v.trim().is_empty() {
            return None;
        }
        let n = v.trim().parse::<i64>().ok().filter(|n| *n > 0);
        if n.is_none() {
            e.add(name, lang.t("err.integer"));
        }
        n
    };
    let date = |e: &mut FormErrors, name: &str, v: &str| -> Option<i64> {
        if v.trim().is_empty() {
            return None;
        }
        let d = crate::console::parse_date(v);
        if d.is_none() {
            e.add(name, lang.t("err.date"));
        }
        d
    };
    let filter = AuditFilter {
        actor_org: num(&mut e, "org", &q.org),
        actor_user: num(&mut e, "user", &q.user),
        outcome: Outcome::parse(&q.outcome),
        from_ms: date(&mut e, "from", &q.from),
        to_ms: date(&mut e, "to", &q.to),
    };
    let list = if e.is_empty() {
        audit::search(&s.app, a, &filter, q.after.unwrap_or(0), LIST_PAGE_ROWS).await?
    } else {
        Vec::new()
    };
    let outcomes: Vec<(String, String)> = std::iter::once((String::new(), ctx.t("filter.any")))
        .chain(
            ["success", "denied", "error"]
                .iter()
                .map(|o| ((*o).to_owned(), ctx.t(&format!("audit.outcome.{o}")))),
        )
        .collect();
    let next = list.last().map(|r| {
        let qs = serde_urlencoded::to_string([
            ("org", q.org.as_str()),
            ("user", q.user.as_str()),
            ("outcome", q.outcome.as_str()),
            ("from", q.from.as_str()),
            ("to", q.to.as_str()),
            ("after", &r.seq.to_string()),
        ])
        .unwrap_or_default();
        format!("{base}?{qs}")
    });
    let body = html! {
        h1 { (ctx.t("ops.audit")) }
        form.filters method="get" action=(base) {
            (form::field(ctx, "org", "audit.actor_org", Kind::Integer, &q.org, &e, false))
            (form::field(ctx, "user", "audit.actor_user", Kind::Integer, &q.user, &e, false))
            (form::select(ctx, "outcome", "audit.outcome", &outcomes, &q.outcome, &e))
            (form::field(ctx, "from", "bills.period_from", Kind::Date, &q.from, &e, false))
            (form::field(ctx, "to", "bills.period_to", Kind::Date, &q.to, &e, false))
            div.actions { button type="submit" { (ctx.t("filter.apply")) } }
        }
        @if list.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
            table.data #audit {
                thead { tr { th { (ctx.t("audit.seq")) } th { (ctx.t("audit.time")) } th { (ctx.t("audit.actor")) } th { (ctx.t("audit.action")) } th { (ctx.t("audit.target")) } th { (ctx.t("audit.outcome")) } th { (ctx.t("audit.ip")) } } }
                tbody {
                    @for r in &list {
                        tr {
                            td { (r.seq) } td { (lang.datetime(r.event.at_ms)) }
                            td { (r.event.actor_user.map_or_else(|| "—".to_owned(), |u| u.to_string())) " / " (r.event.actor_org.map_or_else(|| "—".to_owned(), |o| o.to_string())) }
                            td { code { (r.event.action) } } td { (r.event.target) }
                            td { (ctx.t(&format!("audit.outcome.{}", r.event.outcome.as_str()))) " (" (r.event.status) ")" }
                            td { (r.event.ip) }
                        }
                    }
                }
            }
            @if list.len() == LIST_PAGE_ROWS as usize { @if let Some(n) = next { a href=(n) { (ctx.t("list.next")) } } }
        }
    };
    Ok(layout::page(ctx, &ctx.t("ops.audit"), Some(section), body))
}

/// `GET /ops/audit`
pub async fn audit(State(s): State<WebState>, ctx: Ctx, Query(q): Query<AuditQuery>) -> PageResult {
    audit_view(&s, &ctx, &q, &OPS, "/ops/audit").await
}
