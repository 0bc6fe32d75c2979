//! `/supplier/offers`: the supplier's offers — resources grouped under a trade mode —,
//! each version with its listing status (the operator's reason when rejected);
//! publishing a draft on the trade chain with the supplier's key, unpublishing, and
//! editing (a new version; refused while a version is in review).

use super::modes::PasswordForm;
use super::resources::{ROWS_MAX, friendly, general, refusal_errors, respond, run};
use crate::ctx::Ctx;
use crate::form::{self, FormErrors, Kind};
use crate::layout::csrf;
use crate::{PageResult, WebError, WebState};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, html};
use suanli_platform_domain::Permission;
use suanli_platform_domain::money::DAY_MS;
use suanli_platform_domain::supply::catalog::{FieldProblem, OfferDraft, OfferStatus, Problem};
use suanli_platform_http::service::Page;
use suanli_platform_http::service::supply_catalog::{self as svc, SupplyError};
use suanli_platform_store::OfferRecord;

/// Longest validity an offer made here gets, in days.
pub const OFFER_DAYS_MAX: i64 = 366;

/// The offer pages.
pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/supplier/offers", get(page).post(add))
        .route("/supplier/offers/{id}", get(one))
        .route("/supplier/offers/{id}/edit", post(edit))
        .route("/supplier/offers/{id}/publish", post(publish))
        .route("/supplier/offers/{id}/unpublish", post(unpublish))
}

/// The offer form (`resource` repeats, one per ticked resource).
#[derive(Debug, Default, Clone)]
pub struct OfferForm {
    csrf: String,
    title: String,
    mode_id: String,
    resources: Vec<i64>,
    units: String,
    days: String,
}

fn parse_form(pairs: Vec<(String, String)>) -> OfferForm {
    let mut f = OfferForm::default();
    for (k, v) in pairs {
        match k.as_str() {
            "_csrf" => f.csrf = v,
            "title" => f.title = v,
            "mode_id" => f.mode_id = v,
            "resource" => f.resources.extend(v.parse::<i64>().ok()),
            "units" => f.units = v,
            "days" => f.days = v,
            _ => {}
        }
    }
    f
}

fn draft(f: &OfferForm, now_ms: i64) -> Result<OfferDraft, Vec<FieldProblem>> {
    let mut out = Vec::new();
    let mut num = |field: &'static str, v: &str| -> i64 {
        match v.trim().parse::<i64>() {
            Ok(n) => n,
            Err(_) => {
                out.push(FieldProblem {
                    field,
                    problem: Problem::NotAWholeNumber,
                });
                0
            }
        }
    };
    let mode_id = num("mode_id", &f.mode_id);
    let units = num("units", &f.units);
    let days = num("days", &f.days);
    if !(1..=OFFER_DAYS_MAX).contains(&days) {
        out.push(FieldProblem {
            field: "days",
            problem: Problem::OutOfRange {
                range: format!("1..={OFFER_DAYS_MAX}"),
            },
        });
    }
    let units = u32::try_from(units).map_err(|_| {
        out.push(FieldProblem {
            field: "units",
            problem: Problem::NotAWholeNumber,
        })
    });
    if !out.is_empty() {
        return Err(out);
    }
    Ok(OfferDraft {
        title: f.title.clone(),
        mode_id,
        resource_ids: f.resources.clone(),
        units: units.unwrap_or(0),
        valid_from_ms: now_ms,
        valid_until_ms: now_ms + days * DAY_MS,
    })
}

const FIELDS: &[(&str, &str)] = &[
    ("title", "title"),
    ("mode_id", "mode_id"),
    ("resource_ids", "resource"),
    ("units", "units"),
    ("valid_until_ms", "days"),
    ("password", "password"),
];

async fn offer_form(
    s: &WebState,
    ctx: &Ctx,
    action: &str,
    id: &str,
    f: &OfferForm,
    errors: &FormErrors,
) -> Result<Markup, WebError> {
    let a = ctx.require(Permission::SupplyManage)?;
    let modes = svc::list_modes(&s.app, a).await?;
    let resources = svc::list_resources(&s.app, a, Page::new(None, ROWS_MAX)?).await?;
    let mode_opts: Vec<(String, String)> = modes
        .iter()
        .map(|m| {
            let chain = if m.chain_mode_id.is_some() {
                ctx.t("supply.on_chain")
            } else {
                ctx.t("supply.not_on_chain")
            };
            (
                m.id.to_string(),
                format!("#{} {} ({chain})", m.id, m.spec.get().name),
            )
        })
        .collect();
    let res_err = errors.get("resource");
    Ok(html! {
        form id=(id) method="post" action=(action) novalidate {
            (csrf(ctx))
            (general(errors))
            (form::field(ctx, "title", "supply.f.title", Kind::Text, &f.title, errors, true))
            (form::select(ctx, "mode_id", "supply.f.mode", &mode_opts, &f.mode_id, errors))
            fieldset.field.has-error[res_err.is_some()] {
                legend { (ctx.t("supply.f.resources")) }
                @for r in &resources {
                    label.check { input type="checkbox" name="resource" value=(r.id) checked[f.resources.contains(&r.id)];
                        " " (r.spec.get().name) " · " (r.spec.get().gpu_model) "×" (r.spec.get().gpu_count) }
                }
                @if let Some(m) = res_err { p.field-error id="f-resource-err" role="alert" { (m) } }
            }
            (form::field(ctx, "units", "supply.f.units", Kind::Integer, &f.units, errors, true))
            (form::field(ctx, "days", "supply.f.days", Kind::Integer, &f.days, errors, true))
            div.actions { button type="submit" { (ctx.t("common.save")) } }
        }
    })
}

fn status_cell(ctx: &Ctx, o: &OfferRecord) -> Markup {
    html! {
        span.status data-status=(o.status.as_str()) { (ctx.t(&format!("supply.offer.{}", o.status.as_str()))) }
        @if let Some(r) = &o.reason { @if o.status == OfferStatus::Rejected { p.reason { (ctx.t("supply.reason")) ": " (r) } } }
    }
}

async fn view(
    s: &WebState,
    ctx: &Ctx,
    f: &OfferForm,
    errors: &FormErrors,
) -> Result<Markup, WebError> {
    let a = ctx.require(Permission::SupplyRead)?;
    let list = svc::list_offers(&s.app, a, Page::new(None, ROWS_MAX)?).await?;
    let form = if ctx.has(Permission::SupplyManage) {
        Some(offer_form(s, ctx, "/supplier/offers", "offer-form", f, errors).await?)
    } else {
        None
    };
    Ok(html! {
        h1 { (ctx.t("supply.offers")) }
        @if list.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
        table.data #offers {
            thead { tr { th { "#" } th { (ctx.t("supply.f.title")) } th { (ctx.t("supply.version")) }
                th { (ctx.t("supply.f.units")) } th { (ctx.t("supply.chain")) } th { (ctx.t("supply.status")) } } }
            tbody { @for o in &list { tr data-offer=(o.id) data-lineage=(o.lineage_id) {
                td { a href=(format!("/supplier/offers/{}", o.id)) { (o.id) } }
                td { (o.title) } td { "v" (o.version) } td { (o.units) }
                td { @if let Some(c) = o.chain_offer_id { "#" (c) } @else { (ctx.t("supply.not_on_chain")) } }
                td { (status_cell(ctx, o)) }
            } } }
        }
        }
        @if let Some(form) = form { h2 { (ctx.t("supply.offer.add")) } (form) }
    })
}

/// `GET /supplier/offers`
pub async fn page(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    let f = OfferForm {
        units: "1".into(),
        days: "30".into(),
        ..Default::default()
    };
    let body = view(&s, &ctx, &f, &FormErrors::default()).await?;
    Ok(respond(&ctx, &ctx.t("supply.offers"), body, false))
}

/// `POST /supplier/offers`
pub async fn add(
    State(s): State<WebState>,
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let a = ctx.require(Permission::SupplyManage)?;
    let f = parse_form(pairs);
    let now = s.app.clock.now_unix_ms();
    let r = run(&ctx, &f.csrf, async {
        let d = draft(&f, now).map_err(SupplyError::Fields)?;
        svc::create_offer(&s.app, a, &d).await
    })
    .await?;
    match r {
        Ok(o) => Ok(Redirect::to(&Ctx::notice_url(
            &format!("/supplier/offers/{}", o.id),
            "supply.offer.added",
            &o.title,
        ))
        .into_response()),
        Err(refusal) => {
            friendly(&refusal)?;
            let errors = refusal_errors(&ctx, &refusal, FIELDS);
            let body = view(&s, &ctx, &f, &errors).await?;
            Ok(respond(&ctx, &ctx.t("supply.offers"), body, true))
        }
    }
}

async fn one_view(
    s: &WebState,
    ctx: &Ctx,
    id: i64,
    f: Option<&OfferForm>,
    errors: &FormErrors,
    action_errors: &FormErrors,
) -> Result<Markup, WebError> {
    let a = ctx.require(Permission::SupplyRead)?;
    let o = svc::get_offer(&s.app, a, id).await?;
    let manage = ctx.has(Permission::SupplyManage);
    let filled = OfferForm {
        title: o.title.clone(),
        mode_id: o.mode_id.to_string(),
        resources: o.resource_ids.clone(),
        units: o.units.to_string(),
        days: "30".into(),
        ..Default::default()
    };
    let edit = if manage {
        Some(
            offer_form(
                s,
                ctx,
                &format!("/supplier/offers/{id}/edit"),
                "offer-edit-form",
                f.unwrap_or(&filled),
                errors,
            )
            .await?,
        )
    } else {
        None
    };
    let published = o.chain_offer_id.is_some() && o.status != OfferStatus::Withdrawn;
    Ok(html! {
        h1 { (o.title) " · v" (o.version) }
        dl.facts #offer {
            dt { (ctx.t("supply.status")) } dd { (status_cell(ctx, &o)) }
            dt { (ctx.t("supply.chain")) } dd { @if let Some(c) = o.chain_offer_id { "#" (c) " · " code { (o.chain_tx.clone().unwrap_or_default()) } } @else { (ctx.t("supply.not_on_chain")) } }
            dt { (ctx.t("supply.f.units")) } dd { (o.units) }
            dt { (ctx.t("supply.f.resources")) } dd { @for r in &o.resource_ids { span.tag { "#" (r) } " " } }
            dt { (ctx.t("supply.valid")) } dd { (ctx.lang.datetime(o.valid_from_ms)) " – " (ctx.lang.datetime(o.valid_until_ms)) }
        }
        @if manage && (o.status == OfferStatus::Draft || published) {
            form #offer-action method="post" action=(format!("/supplier/offers/{id}/{}", if published { "unpublish" } else { "publish" })) novalidate {
                (csrf(ctx))
                (general(action_errors))
                (form::field(ctx, "password", "supply.password", Kind::Password, "", action_errors, true))
                div.actions { button type="submit" { (ctx.t(if published { "supply.unpublish" } else { "supply.publish" })) } }
            }
        }
        @if let Some(edit) = edit { h2 { (ctx.t("supply.offer.edit")) } p.hint { (ctx.t("supply.hint.edit")) } (edit) }
    })
}

/// `GET /supplier/offers/{id}`
pub async fn one(State(s): State<WebState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let body = one_view(
        &s,
        &ctx,
        id,
        None,
        &FormErrors::default(),
        &FormErrors::default(),
    )
    .await?;
    Ok(respond(&ctx, &ctx.t("supply.offers"), body, false))
}

/// `POST /supplier/offers/{id}/edit`: a new version.
pub async fn edit(
    State(s): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let a = ctx.require(Permission::SupplyManage)?;
    let f = parse_form(pairs);
    let now = s.app.clock.now_unix_ms();
    let r = run(&ctx, &f.csrf, async {
        let d = draft(&f, now).map_err(SupplyError::Fields)?;
        svc::edit_offer(&s.app, a, id, &d).await
    })
    .await?;
    match r {
        Ok(o) => Ok(Redirect::to(&Ctx::notice_url(
            &format!("/supplier/offers/{}", o.id),
            "supply.offer.added",
            &o.title,
        ))
        .into_response()),
        Err(refusal) => {
            friendly(&refusal)?;
            let errors = refusal_errors(&ctx, &refusal, FIELDS);
            let body = one_view(&s, &ctx, id, Some(&f), &errors, &FormErrors::default()).await?;
            Ok(respond(&ctx, &ctx.t("supply.offers"), body, true))
        }
    }
}

async fn signed(s: &WebState, ctx: &Ctx, id: i64, f: PasswordForm, publish: bool) -> PageResult {
    let a = ctx.require(Permission::SupplyManage)?;
    let ip = ctx.client_ip();
    let PasswordForm { csrf, password } = f;
    let r = run(ctx, &csrf, async {
        Ok(if publish {
            svc::publish_offer(&s.app, a, id, &ip, password).await?
        } else {
            svc::unpublish_offer(&s.app, a, id, &ip, password).await?
        })
    })
    .await?;
    match r {
        Ok(o) => {
            let key = if publish {
                "supply.offer.published"
            } else {
                "supply.offer.unpublished"
            };
            Ok(Redirect::to(&Ctx::notice_url(
                &format!("/supplier/offers/{id}"),
                key,
                &o.title,
            ))
            .into_response())
        }
        Err(refusal) => {
            friendly(&refusal)?;
            let errors = refusal_errors(ctx, &refusal, FIELDS);
            let body = one_view(s, ctx, id, None, &FormErrors::default(), &errors).await?;
            Ok(respond(ctx, &ctx.t("supply.offers"), body, true))
        }
    }
}

/// `POST /supplier/offers/{id}/publish`
pub async fn publish(
    State(s): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<PasswordForm>,
) -> PageResult {
    signed(&s, &ctx, id, f, true).await
}

/// `POST /supplier/offers/{id}/unpublish`
pub async fn unpublish(
    State(s): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<PasswordForm>,
) -> PageResult {
    signed(&s, &ctx, id, f, false).await
}
