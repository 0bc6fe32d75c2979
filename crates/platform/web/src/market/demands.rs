//! `/market/demands`: the caller's organisation's standing demands — post one (checked
//! here first so the message sits next to the field), see each one's status and match,
//! cancel an open one, confirm a matched one into an order with the password (the order
//! flow of `/console/trades/new`). Permission `order:place`, through
//! [`suanli_platform_http::service::market::demands`] and
//! [`suanli_platform_http::service::market::confirm`], the functions the API calls.

use super::cards;
use crate::api;
use crate::ctx::Ctx;
use crate::form::{self, FormErrors, Kind};
use crate::i18n::parse_yuan;
use crate::layout::{self, csrf};
use crate::portal::CsrfForm;
use crate::{PageResult, WebError, WebState};
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use maud::{Markup, html};
use serde::Deserialize;
use suanli_platform_http::service::market::check_constraint;
use suanli_platform_http::service::market::demands::{self, DemandDraft};
use suanli_platform_http::service::{Page, ServiceError};
use suanli_platform_store::{DemandRecord, DemandStatus};

/// Most demands the page lists.
const DEMANDS_SHOWN: u32 = 200;
/// Minutes in an hour (the form asks for hours).
const MINUTES_PER_HOUR: u32 = 60;

/// The form posting a demand.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DemandForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    constraint: String,
    /// Yuan per unit-minute.
    max_price: String,
    /// Hours wanted.
    duration_h: String,
    units: String,
    expires_in_hours: String,
    public_good: String,
    batch: String,
}

/// The form confirming a matched demand into an order.
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
pub struct ConfirmForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    idem: String,
    password: String,
}

/// Written by hand: the password and the CSRF token are redacted.
impl std::fmt::Debug for ConfirmForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfirmForm")
            .field("idem", &self.idem)
            .finish_non_exhaustive()
    }
}

/// The action cell of a demand: cancel an open one, confirm a matched one, the trade of
/// a confirmed one.
fn action(ctx: &Ctx, d: &DemandRecord) -> Markup {
    html! {
        @match d.status {
            DemandStatus::Open => {
                form method="post" action=(format!("/market/demands/{}/cancel", d.id)) {
                    (csrf(ctx)) button.secondary type="submit" { (ctx.t("mk.dem.cancel")) }
                }
            }
            DemandStatus::Matched => {
                form.confirm-form method="post" action=(format!("/market/demands/{}/confirm", d.id)) data-confirm=(d.id) {
                    (csrf(ctx))
                    input type="hidden" name="idem" value=(form::idempotency_key());
                    label { (ctx.t("tr.password")) " "
                        input type="password" name="password" autocomplete="current-password" required; }
                    " " button type="submit" { (ctx.t("mk.dem.confirm")) }
                }
            }
            DemandStatus::Confirmed => {
                @if let Some(sn) = &d.trade_serial {
                    a.trade-link href=(format!("/console/trades/{sn}")) { (ctx.t("mk.dem.trade")) " " code { (sn.get(..8).unwrap_or(sn)) } }
                }
            }
            _ => {}
        }
    }
}

fn table(ctx: &Ctx, list: &[DemandRecord]) -> Markup {
    let lang = ctx.lang;
    html! {
        @if list.is_empty() { p.empty { (ctx.t("mk.dem.none")) } } @else {
        table.data #demands {
            thead { tr { th { "#" } th { (ctx.t("mk.f.constraint")) } th { (ctx.t("mk.f.max_price")) }
                th { (ctx.t("mk.f.units")) } th { (ctx.t("mk.f.duration_min")) } th { (ctx.t("mk.dem.status")) }
                th { (ctx.t("mk.dem.match")) } th { } } }
            tbody { @for d in list {
                tr data-demand=(d.id) data-status=(d.status.as_str()) {
                    td { (d.id) } td { code { (d.constraint) } } td { (lang.money(d.max_price_fen_per_min)) }
                    td { (d.units) } td { (d.duration_min) }
                    td.status { (ctx.t(&format!("mk.dem.{}", d.status.as_str()))) }
                    td { @if let Some(m) = &d.matched {
                        a href=(format!("/offers/{}", m.offer_id)) { (lang.tf("mk.dem.matched_offer", &[&m.offer_id.to_string()])) }
                        " · " (lang.money(m.price_fen_per_min)) (ctx.t("portal.per_minute"))
                        " · " (ctx.t("mk.dem.estimate")) " " (lang.money(m.estimate_fen))
                        @if let Some(run) = m.allocation { " · " (lang.tf("mk.dem.by_allocation", &[&run.to_string()])) }
                    } @else if d.batch { (ctx.t("mk.dem.waits_batch")) } }
                    td { (action(ctx, d)) }
                }
            } }
        }
        }
    }
}

fn page(
    ctx: &Ctx,
    f: &DemandForm,
    errors: &FormErrors,
    list: &[DemandRecord],
    status: StatusCode,
) -> PageResult {
    let body = html! {
        h1 { (ctx.t("mk.dem.title")) }
        p.lead { (ctx.t("mk.dem.lead")) }
        @if let Some(e) = errors.get("confirm") { p.error #confirm-error role="alert" { (e) } }
        form #demand-form method="post" action="/market/demands" {
            (csrf(ctx))
            div.field.wide.has-error[errors.get("constraint").is_some()] {
                label for="f-constraint" { (ctx.t("mk.f.constraint")) }
                textarea #f-constraint name="constraint" rows="2" spellcheck="false" { (f.constraint) }
                @if let Some(e) = errors.get("constraint") { p.error #constraint-error role="alert" { (e) } }
            }
            (form::field(ctx, "max_price", "mk.f.max_price", Kind::Decimal, &f.max_price, errors, true))
            (form::field(ctx, "duration_h", "mk.f.duration_h", Kind::Integer, &f.duration_h, errors, true))
            (form::field(ctx, "units", "mk.f.units", Kind::Integer, &f.units, errors, true))
            (form::field(ctx, "expires_in_hours", "mk.dem.expires", Kind::Integer, &f.expires_in_hours, errors, false))
            div.field { label { input type="checkbox" name="public_good" value="1" checked[!f.public_good.is_empty()]; " " (ctx.t("mk.dem.public_good")) } }
            div.field { label { input #f-batch type="checkbox" name="batch" value="1" checked[!f.batch.is_empty()]; " " (ctx.t("mk.dem.batch")) } }
            @if let Some(e) = errors.get("form") { p.error role="alert" { (e) } }
            div.actions { button type="submit" { (ctx.t("mk.dem.post")) } }
        }
        h2 { (ctx.t("mk.dem.mine")) }
        (table(ctx, list))
        p { a.button.secondary href="/market" { (ctx.t("mk.back")) } }
    };
    let mut r = layout::page(ctx, &ctx.t("mk.dem.title"), None, body);
    *r.status_mut() = status;
    Ok(r)
}

async fn mine(s: &WebState, ctx: &Ctx) -> Result<Vec<DemandRecord>, WebError> {
    let a = ctx.user()?;
    let page = Page::new(None, DEMANDS_SHOWN)?;
    Ok(demands::list(&s.app, a, page).await?)
}

/// `GET /market/demands`.
pub async fn list(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    let list = mine(&s, &ctx).await?;
    page(
        &ctx,
        &DemandForm::default(),
        &FormErrors::default(),
        &list,
        StatusCode::OK,
    )
}

/// The draft, or the form's errors (price in yuan, hours; the constraint with its span).
fn draft(ctx: &Ctx, f: &DemandForm, errors: &mut FormErrors) -> Option<DemandDraft> {
    let lang = ctx.lang;
    if let Err(e) = check_constraint(&f.constraint) {
        errors.add(
            "constraint",
            cards::constraint_message(ctx, &e, &f.constraint),
        );
    }
    let price = parse_yuan(&f.max_price);
    if price.is_none() {
        errors.add("max_price", lang.t("err.yuan"));
    }
    let hours = f
        .duration_h
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|h| (1..=8_784).contains(h));
    if hours.is_none() {
        errors.add("duration_h", lang.tf("mk.err.hours", &["8784"]));
    }
    let units = errors.int(lang, "units", &f.units, 1, 1024);
    let expires = match f.expires_in_hours.trim() {
        "" => None,
        t => Some(errors.int(lang, "expires_in_hours", t, 1, 720)),
    };
    if !errors.is_empty() {
        return None;
    }
    Some(DemandDraft {
        constraint: f.constraint.clone(),
        max_price_fen_per_min: price?,
        duration_min: hours? * MINUTES_PER_HOUR,
        units: u32::try_from(units).ok()?,
        public_good: !f.public_good.is_empty(),
        expires_in_hours: expires.and_then(|e| u32::try_from(e).ok()),
        batch: !f.batch.is_empty(),
    })
}

/// `POST /market/demands`.
pub async fn post(State(s): State<WebState>, ctx: Ctx, Form(f): Form<DemandForm>) -> PageResult {
    let a = ctx.user()?;
    let mut errors = FormErrors::default();
    if let Some(d) = draft(&ctx, &f, &mut errors) {
        let op = async {
            demands::post(&s.app, a, &d)
                .await
                .map_err(ServiceError::from)
        };
        match api::run(&ctx, &f.csrf, op).await? {
            Ok(_) => return Ok(Redirect::to("/market/demands").into_response()),
            Err(fail) if fail.status == StatusCode::FORBIDDEN && fail.code == "forbidden" => {
                return Err(WebError::Forbidden);
            }
            Err(fail) => {
                let field = match fail.field.as_deref() {
                    Some("max_price_fen_per_min") => "max_price",
                    Some("duration_min") => "duration_h",
                    Some("units") => "units",
                    Some("expires_in_hours") => "expires_in_hours",
                    Some("constraint") => "constraint",
                    _ => "form",
                };
                errors.add(field, form::api_message(ctx.lang, &fail));
            }
        }
    }
    let list = mine(&s, &ctx).await?;
    page(&ctx, &f, &errors, &list, StatusCode::UNPROCESSABLE_ENTITY)
}

/// `POST /market/demands/{id}/cancel`.
pub async fn cancel(
    State(s): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    let a = ctx.user()?;
    match api::run(&ctx, f.token(), demands::cancel(&s.app, a, id)).await? {
        Ok(_) => Ok(Redirect::to("/market/demands").into_response()),
        Err(fail) if fail.status == StatusCode::NOT_FOUND => Err(WebError::NotFound),
        Err(fail) if fail.status == StatusCode::FORBIDDEN => Err(WebError::Forbidden),
        Err(_) => Ok(Redirect::to("/market/demands").into_response()),
    }
}

/// `POST /market/demands/{id}/confirm`: the matched demand becomes an order (the trade's
/// page next); a refusal is shown above the list in the page's language.
pub async fn confirm(
    State(s): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<ConfirmForm>,
) -> PageResult {
    let a = ctx.user()?;
    let ip = ctx.client_ip();
    let idem = if f.idem.is_empty() {
        form::idempotency_key()
    } else {
        f.idem.clone()
    };
    let op = suanli_platform_http::service::market::confirm::confirm(
        &s.app,
        a,
        &ip,
        Some(&idem),
        id,
        f.password.clone(),
    );
    match api::run(&ctx, &f.csrf, op).await? {
        Ok(c) => Ok(Redirect::to(&Ctx::notice_url(
            &format!("/console/trades/{}", c.trade.trade.serial),
            "tr.placed",
            &c.trade.trade.serial,
        ))
        .into_response()),
        Err(fail) if fail.code == "forbidden" => Err(WebError::Forbidden),
        // Only the demand itself missing is a 404 page; the order flow's 404s (`no_did`,
        // an offer not on the chain) show at `#confirm-error` like its other refusals.
        Err(fail)
            if fail.status == StatusCode::NOT_FOUND
                && suanli_platform_http::service::market::demands::get(&s.app, a, id)
                    .await
                    .is_err() =>
        {
            Err(WebError::NotFound)
        }
        Err(fail) => {
            let mut errors = FormErrors::default();
            errors.add(
                "confirm",
                format!("#{id}: {}", form::api_message(ctx.lang, &fail)),
            );
            let list = mine(&s, &ctx).await?;
            page(
                &ctx,
                &DemandForm::default(),
                &errors,
                &list,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
    }
}
