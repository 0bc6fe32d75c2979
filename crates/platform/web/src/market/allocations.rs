//! `/ops/market/allocations`: the operator's batch allocation of the standing demands
//! that wait for it (`docs/market.md` "Batch allocation") — run one, see both methods
//! side by side (satisfaction, share placed, utilisation, mean price) with their
//! proposals, and confirm one method, which sends each proposal to its organisation.
//! Permission `order:manage`, through
//! [`suanli_platform_http::service::market::allocate`], the functions the API calls.

use crate::api;
use crate::ctx::Ctx;
use crate::form;
use crate::layout::{self, OPS, csrf};
use crate::portal::CsrfForm;
use crate::{PageResult, WebError, WebState};
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use maud::{Markup, html};
use serde::Deserialize;
use suanli_platform_domain::Permission;
use suanli_platform_http::service::market::allocate::{self, Allocation, MethodReport};

/// The form confirming one method.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct MethodForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    method: String,
}

/// One figure of a method, as the comparison shows it.
type Figure = fn(&MethodReport) -> String;

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// Both methods' figures, one column each.
fn comparison(ctx: &Ctx, a: &Allocation) -> Markup {
    let lang = ctx.lang;
    let rows: [(&str, Figure); 4] = [
        ("mk.alloc.satisfaction", |m| {
            format!("{:.3}", m.satisfaction)
        }),
        ("mk.alloc.placed", |m| {
            format!("{} ({})", m.placed, pct(m.placed_share))
        }),
        ("mk.alloc.utilisation", |m| pct(m.utilisation)),
        ("mk.alloc.price", |m| {
            format!("{:.2}", m.mean_price_fen_per_min)
        }),
    ];
    html! {
        table.data #alloc-comparison {
            thead { tr { th { } @for m in &a.report.methods { th data-method=(m.method) { (ctx.t(&format!("mk.alloc.m.{}", m.method))) } } } }
            tbody { @for (key, f) in rows { tr data-row=(key) {
                th { (ctx.t(key)) }
                @for m in &a.report.methods { td data-method=(m.method) { (f(m)) } }
            } } }
        }
        p.hint { (lang.tf("mk.alloc.facts", &[&a.report.demands.to_string(), &a.report.nodes.to_string(),
            &a.report.consumers_with_history.to_string(), &a.report.consumers.to_string(),
            &a.report.history_choices.to_string()])) }
    }
}

fn proposals(ctx: &Ctx, a: &Allocation, m: &MethodReport) -> Markup {
    let lang = ctx.lang;
    html! {
        h3 { (ctx.t(&format!("mk.alloc.m.{}", m.method))) }
        @if m.proposals.is_empty() { p.empty { (ctx.t("mk.alloc.none_placed")) } } @else {
        table.data.proposals data-method=(m.method) {
            thead { tr { th { (ctx.t("mk.alloc.demand")) } th { (ctx.t("mk.alloc.org")) } th { (ctx.t("mk.dem.match")) }
                th { (ctx.t("mk.f.units")) } th { (ctx.t("mk.dem.estimate")) } th { (ctx.t("mk.alloc.satisfaction")) } } }
            tbody { @for p in &m.proposals { tr data-demand=(p.demand_id) {
                td { "#" (p.demand_id) } td { "#" (p.org_id) }
                td { a href=(format!("/offers/{}", p.offer_id)) { (lang.tf("mk.dem.matched_offer", &[&p.offer_id.to_string()])) }
                    " · " (lang.money(p.price_fen_per_min)) (ctx.t("portal.per_minute")) }
                td { (p.units) } td { (lang.money(p.estimate_fen)) } td { (format!("{:.3}", p.satisfaction)) }
            } } }
        }
        }
        @if a.status == "proposed" {
            form.inline method="post" action=(format!("/ops/market/allocations/{}/confirm", a.id)) data-confirm-method=(m.method) {
                (csrf(ctx)) input type="hidden" name="method" value=(m.method);
                button type="submit" { (lang.tf("mk.alloc.confirm", &[&ctx.t(&format!("mk.alloc.m.{}", m.method))])) }
            }
        }
    }
}

fn detail(ctx: &Ctx, a: &Allocation) -> Markup {
    let lang = ctx.lang;
    html! {
        section #allocation data-allocation=(a.id) data-status=(a.status) {
            h2 { (lang.tf("mk.alloc.run", &[&a.id.to_string()])) " · " (ctx.t(&format!("mk.alloc.s.{}", a.status))) }
            @if let (Some(m), Some(n)) = (&a.method, a.sent) {
                p #alloc-sent { (lang.tf("mk.alloc.sent", &[&ctx.t(&format!("mk.alloc.m.{m}")), &n.to_string()])) }
            }
            (comparison(ctx, a))
            @for m in &a.report.methods { (proposals(ctx, a, m)) }
        }
    }
}

async fn render(
    s: &WebState,
    ctx: &Ctx,
    shown: Option<&Allocation>,
    error: Option<&str>,
) -> PageResult {
    let a = ctx.require(Permission::OrderManage)?;
    let runs = allocate::list(&s.app, a).await?;
    let body = html! {
        h1 { (ctx.t("mk.alloc.title")) }
        p.lead { (ctx.t("mk.alloc.lead")) }
        form #alloc-run method="post" action="/ops/market/allocations" {
            (csrf(ctx)) button type="submit" { (ctx.t("mk.alloc.run_now")) }
        }
        @if let Some(e) = error { p.error #alloc-error role="alert" { (e) } }
        @if let Some(run) = shown { (detail(ctx, run)) }
        h2 { (ctx.t("mk.alloc.history")) }
        @if runs.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
        table.data #allocations {
            thead { tr { th { "#" } th { (ctx.t("mk.alloc.demands")) } th { (ctx.t("mk.dem.status")) } th { } } }
            tbody { @for r in &runs { tr data-allocation=(r.id) data-status=(r.status) {
                td { (r.id) } td { (r.report.demands) }
                td { (ctx.t(&format!("mk.alloc.s.{}", r.status))) }
                td { a href=(format!("/ops/market/allocations/{}", r.id)) { (ctx.t("mk.alloc.open")) } }
            } } }
        }
        }
    };
    let mut r = layout::page(ctx, &ctx.t("mk.alloc.title"), Some(&OPS), body);
    if error.is_some() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

/// `GET /ops/market/allocations`.
pub async fn list(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    render(&s, &ctx, None, None).await
}

/// `GET /ops/market/allocations/{id}`.
pub async fn show(State(s): State<WebState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let a = ctx.require(Permission::OrderManage)?;
    let run = allocate::get(&s.app, a, id).await?;
    render(&s, &ctx, Some(&run), None).await
}

/// `POST /ops/market/allocations`: runs one and shows it.
pub async fn run(State(s): State<WebState>, ctx: Ctx, Form(f): Form<CsrfForm>) -> PageResult {
    let a = ctx.require(Permission::OrderManage)?;
    match api::run(&ctx, f.token(), allocate::run(&s.app, a)).await? {
        Ok(run) => Ok(Redirect::to(&format!("/ops/market/allocations/{}", run.id)).into_response()),
        Err(fail) if fail.code == "forbidden" => Err(WebError::Forbidden),
        Err(fail) => {
            let msg = form::api_message(ctx.lang, &fail);
            render(&s, &ctx, None, Some(&msg)).await
        }
    }
}

/// `POST /ops/market/allocations/{id}/confirm`.
pub async fn confirm(
    State(s): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<MethodForm>,
) -> PageResult {
    let a = ctx.require(Permission::OrderManage)?;
    let op = allocate::confirm(&s.app, a, id, &f.method);
    match api::run(&ctx, &f.csrf, op).await? {
        Ok(_) => Ok(Redirect::to(&format!("/ops/market/allocations/{id}")).into_response()),
        Err(fail) if fail.status == StatusCode::NOT_FOUND => Err(WebError::NotFound),
        Err(fail) if fail.code == "forbidden" => Err(WebError::Forbidden),
        Err(fail) => {
            let msg = form::api_message(ctx.lang, &fail);
            let run = allocate::get(&s.app, a, id).await?;
            render(&s, &ctx, Some(&run), Some(&msg)).await
        }
    }
}
