//! `/ops/suppliers/listings`: the operator's listing review of suppliers' offers — each
//! version in review with its mode, price, resources and supplier; approve (it enters the
//! catalogue) or reject with a reason the supplier sees (`supplier:review`).

use crate::ctx::Ctx;
use crate::form::FormErrors;
use crate::layout::{self, OPS, csrf};
use crate::supplier::resources::{Refusal, friendly, general, refusal_errors, run};
use crate::{PageResult, WebError, WebState};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, html};
use serde::Deserialize;
use suanli_platform_domain::Permission;
use suanli_platform_http::service::Page;
use suanli_platform_http::service::supply_catalog as svc;

/// Versions one page of the queue shows.
pub const QUEUE_ROWS_MAX: u32 = 100;

/// The listing review pages.
pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/ops/suppliers/listings", get(queue))
        .route("/ops/suppliers/listings/{id}/approve", post(approve))
        .route("/ops/suppliers/listings/{id}/reject", post(reject))
}

/// A decision form.
#[derive(Debug, Default, Deserialize)]
pub struct DecisionForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    reason: String,
}

async fn view(
    s: &WebState,
    ctx: &Ctx,
    failed: Option<(i64, &FormErrors)>,
) -> Result<Markup, WebError> {
    let a = ctx.require(Permission::SupplierReview)?;
    let queue = svc::review_queue(&s.app, a, Page::new(None, QUEUE_ROWS_MAX)?).await?;
    let mut views = Vec::with_capacity(queue.len());
    for o in queue {
        views.push(svc::review_offer(&s.app, a, o.id).await?);
    }
    let lang = ctx.lang;
    Ok(html! {
        h1 { (ctx.t("supply.listings")) }
        @if views.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
        table.data #listings {
            thead { tr { th { "#" } th { (ctx.t("portal.supplier")) } th { (ctx.t("supply.f.title")) }
                th { (ctx.t("supply.f.price_fen_per_min")) } th { (ctx.t("supply.f.resources")) }
                th { (ctx.t("supply.chain")) } th { (ctx.t("common.actions")) } } }
            tbody { @for v in &views { @let o = &v.offer; tr data-listing=(o.id) {
                td { (o.id) } td { (v.supplier) } td { (o.title) " · v" (o.version) }
                td { (lang.money(v.mode.spec.get().price_fen_per_min)) }
                td { @for r in &v.resources { @let d = r.spec.get(); span.tag { (d.name) " " (d.gpu_model) "×" (d.gpu_count) " " (d.region) } " " } }
                td { @if let Some(c) = o.chain_offer_id { "#" (c) } }
                td.actions {
                    @let errs = failed.filter(|(id, _)| *id == o.id).map(|(_, e)| e);
                    @if let Some(e) = errs { (general(e)) }
                    form.inline method="post" action=(format!("/ops/suppliers/listings/{}/approve", o.id)) {
                        (csrf(ctx)) button.approve type="submit" { (ctx.t("supply.approve")) }
                    }
                    form.inline method="post" action=(format!("/ops/suppliers/listings/{}/reject", o.id)) {
                        (csrf(ctx))
                        label.visually-hidden for=(format!("reason-{}", o.id)) { (ctx.t("supply.reason")) }
                        input id=(format!("reason-{}", o.id)) name="reason" required placeholder=(ctx.t("supply.reason"))
                            aria-invalid=[errs.and_then(|e| e.get("reason")).map(|_| "true")];
                        @if let Some(m) = errs.and_then(|e| e.get("reason")) { p.field-error role="alert" { (m) } }
                        button.danger type="submit" { (ctx.t("supply.reject")) }
                    }
                }
            } } }
        }
        }
    })
}

/// `GET /ops/suppliers/listings`
pub async fn queue(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    let body = view(&s, &ctx, None).await?;
    Ok(layout::page(
        &ctx,
        &ctx.t("supply.listings"),
        Some(&OPS),
        body,
    ))
}

async fn decided(
    s: &WebState,
    ctx: &Ctx,
    id: i64,
    r: Result<String, Refusal>,
    key: &str,
) -> PageResult {
    match r {
        Ok(title) => Ok(
            Redirect::to(&Ctx::notice_url("/ops/suppliers/listings", key, &title)).into_response(),
        ),
        Err(refusal) => {
            friendly(&refusal)?;
            let errors = refusal_errors(ctx, &refusal, &[("reason", "reason")]);
            let body = view(s, ctx, Some((id, &errors))).await?;
            let mut resp = layout::page(ctx, &ctx.t("supply.listings"), Some(&OPS), body);
            *resp.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(resp)
        }
    }
}

/// `POST /ops/suppliers/listings/{id}/approve`
pub async fn approve(
    State(s): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<DecisionForm>,
) -> PageResult {
    let a = ctx.require(Permission::SupplierReview)?;
    let r = run(&ctx, &f.csrf, async {
        Ok(svc::approve_listing(&s.app, a, id).await?.title)
    })
    .await?;
    decided(&s, &ctx, id, r, "supply.listing.approved").await
}

/// `POST /ops/suppliers/listings/{id}/reject`
pub async fn reject(
    State(s): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<DecisionForm>,
) -> PageResult {
    let a = ctx.require(Permission::SupplierReview)?;
    let r = run(&ctx, &f.csrf, async {
        Ok(svc::reject_listing(&s.app, a, id, &f.reason).await?.title)
    })
    .await?;
    decided(&s, &ctx, id, r, "supply.listing.rejected").await
}
