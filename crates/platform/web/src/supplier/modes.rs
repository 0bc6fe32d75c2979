//! `/supplier/modes`: the supplier's trade modes — price per minute, minimum charge,
//! check-in period, rating weights, prepaid terms beside pay-as-you-go, and its own
//! trade-start and check-in CPTs — and publishing one on the trade chain with the
//! supplier's key (the password opens it for that request). The chain's refusal (e.g. a
//! CPT that is not the supplier's) shows next to the CPT field.

use super::resources::{friendly, general, refusal_errors, respond, run};
use crate::ctx::Ctx;
use crate::form::{self, FormErrors, Kind};
use crate::layout::csrf;
use crate::{PageResult, WebError, WebState};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::BTreeMap;
use suanli_platform_domain::Permission;
use suanli_platform_domain::supply::catalog::{FieldProblem, ModeDraft, Problem, TermOption};
use suanli_platform_http::service::supply_catalog::{self as svc, SupplyError};

/// The mode pages.
pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/supplier/modes", get(page).post(add))
        .route("/supplier/modes/{id}/publish", post(publish))
}

/// The mode form.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ModeForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    price_fen_per_min: String,
    #[serde(default)]
    min_charge_fen: String,
    #[serde(default)]
    checkin_period_min: String,
    #[serde(default)]
    weights: String,
    #[serde(default)]
    terms: String,
    #[serde(default)]
    trade_start_cpt: String,
    #[serde(default)]
    checkin_cpt: String,
}

/// The publish form: the password opens the supplier's key.
#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default, rename = "_csrf")]
    pub(crate) csrf: String,
    #[serde(default)]
    pub(crate) password: String,
}

/// Written by hand: the password is redacted.
impl std::fmt::Debug for PasswordForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordForm { password: <redacted> }")
    }
}

fn whole<T: std::str::FromStr>(
    field: &'static str,
    v: &str,
    out: &mut Vec<FieldProblem>,
) -> Option<T> {
    let v = v.trim();
    if v.is_empty() {
        out.push(FieldProblem {
            field,
            problem: Problem::Missing,
        });
        return None;
    }
    v.parse()
        .map_err(|_| {
            out.push(FieldProblem {
                field,
                problem: Problem::NotAWholeNumber,
            })
        })
        .ok()
}

/// `a=1,b=2` pairs.
fn pairs<T: std::str::FromStr>(
    field: &'static str,
    v: &str,
    sep: char,
    out: &mut Vec<FieldProblem>,
) -> Vec<(String, T)> {
    let mut got = Vec::new();
    for p in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match p
            .split_once(sep)
            .and_then(|(k, n)| n.trim().parse().ok().map(|n| (k.trim().to_owned(), n)))
        {
            Some(kv) => got.push(kv),
            None => out.push(FieldProblem {
                field,
                problem: Problem::NotAWholeNumber,
            }),
        }
    }
    got
}

/// Reads the form into a draft (every unreadable field named).
pub fn draft(f: &ModeForm) -> Result<ModeDraft, Vec<FieldProblem>> {
    let mut out = Vec::new();
    let price = whole("price_fen_per_min", &f.price_fen_per_min, &mut out);
    let min = whole("min_charge_fen", &f.min_charge_fen, &mut out);
    let period = whole("checkin_period_min", &f.checkin_period_min, &mut out);
    let start = whole("trade_start_cpt", &f.trade_start_cpt, &mut out);
    let checkin = whole("checkin_cpt", &f.checkin_cpt, &mut out);
    let weights: BTreeMap<String, u16> = pairs("weights", &f.weights, '=', &mut out)
        .into_iter()
        .collect();
    let terms: Vec<TermOption> = pairs::<u32>("terms", &f.terms, ':', &mut out)
        .into_iter()
        .filter_map(|(m, bp)| {
            m.parse().ok().map(|months| TermOption {
                months,
                discount_bp: bp,
            })
        })
        .collect();
    match (price, min, period, start, checkin) {
        (Some(price), Some(min), Some(period), Some(start), Some(checkin)) if out.is_empty() => {
            Ok(ModeDraft {
                name: f.name.clone(),
                price_fen_per_min: price,
                min_charge_fen: min,
                checkin_period_min: period,
                weights,
                terms,
                trade_start_cpt: start,
                checkin_cpt: checkin,
            })
        }
        _ => Err(out),
    }
}

async fn view(
    s: &WebState,
    ctx: &Ctx,
    f: &ModeForm,
    errors: &FormErrors,
    publish: Option<(i64, &FormErrors)>,
) -> Result<Markup, WebError> {
    let a = ctx.require(Permission::SupplyRead)?;
    let list = svc::list_modes(&s.app, a).await?;
    let lang = ctx.lang;
    let manage = ctx.has(Permission::SupplyManage);
    let defaults = |v: &str, d: &str| {
        if v.is_empty() {
            d.to_owned()
        } else {
            v.to_owned()
        }
    };
    Ok(html! {
        h1 { (ctx.t("supply.modes")) }
        @if list.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
        table.data #modes {
            thead { tr {
                th { "#" } th { (ctx.t("supply.f.mode_name")) } th { (ctx.t("supply.f.price_fen_per_min")) }
                th { (ctx.t("supply.f.min_charge_fen")) } th { (ctx.t("supply.f.checkin_period_min")) }
                th { (ctx.t("supply.f.weights")) } th { (ctx.t("supply.f.terms")) } th { (ctx.t("supply.f.cpts")) }
                th { (ctx.t("supply.chain")) } th { (ctx.t("common.actions")) }
            } }
            tbody { @for m in &list { @let t = m.spec.get(); tr data-mode=(m.id) {
                td { (m.id) } td { (t.name) } td { (lang.money(t.price_fen_per_min)) } td { (lang.money(t.min_charge_fen)) }
                td { (t.checkin_period_min) }
                td { @for (k, w) in &t.weights { span.tag { (k) " " (w) "‰" } " " } }
                td { span.tag { (ctx.t("supply.payg")) } " " @for term in &t.terms { span.tag { (lang.tf("supply.term", &[&term.months.to_string(), &(term.discount_bp / 100).to_string()])) } " " } }
                td { (t.trade_start_cpt) " / " (t.checkin_cpt) }
                td { @if let Some(c) = m.chain_mode_id { (ctx.t("supply.on_chain")) " #" (c) } @else { (ctx.t("supply.not_on_chain")) } }
                td.actions { @if manage && m.chain_mode_id.is_none() {
                    @let pe = publish.filter(|(id, _)| *id == m.id).map(|(_, e)| e);
                    form.inline method="post" action=(format!("/supplier/modes/{}/publish", m.id)) data-publish-mode=(m.id) {
                        (csrf(ctx))
                        @if let Some(e) = pe { (general(e)) }
                        (form::field(ctx, "password", "supply.password", Kind::Password, "", pe.unwrap_or(&FormErrors::default()), true))
                        @if let Some(msg) = pe.and_then(|e| e.get("trade_start_cpt")) { p.field-error role="alert" { (msg) } }
                        button type="submit" { (ctx.t("supply.publish")) }
                    }
                } }
            } } }
        }
        }
        @if manage {
        h2 { (ctx.t("supply.mode.add")) }
        form #mode-form method="post" action="/supplier/modes" novalidate {
            (csrf(ctx))
            (general(errors))
            (form::field(ctx, "name", "supply.f.mode_name", Kind::Text, &f.name, errors, true))
            (form::field(ctx, "price_fen_per_min", "supply.f.price_fen_per_min", Kind::Integer, &f.price_fen_per_min, errors, true))
            (form::field(ctx, "min_charge_fen", "supply.f.min_charge_fen", Kind::Integer, &f.min_charge_fen, errors, true))
            (form::field(ctx, "checkin_period_min", "supply.f.checkin_period_min", Kind::Integer, &f.checkin_period_min, errors, true))
            (form::field(ctx, "weights", "supply.f.weights", Kind::Text, &defaults(&f.weights, "gpu=600,memory=200,network=200"), errors, true))
            (form::field(ctx, "terms", "supply.f.terms", Kind::Text, &f.terms, errors, false))
            p.hint { (ctx.t("supply.hint.terms")) }
            (form::field(ctx, "trade_start_cpt", "supply.f.trade_start_cpt", Kind::Integer, &defaults(&f.trade_start_cpt, "1"), errors, true))
            (form::field(ctx, "checkin_cpt", "supply.f.checkin_cpt", Kind::Integer, &defaults(&f.checkin_cpt, "2"), errors, true))
            p.hint { (ctx.t("supply.hint.cpts")) }
            div.actions { button type="submit" { (ctx.t("supply.mode.add")) } }
        }
        }
    })
}

/// `GET /supplier/modes`
pub async fn page(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    let body = view(&s, &ctx, &ModeForm::default(), &FormErrors::default(), None).await?;
    Ok(respond(&ctx, &ctx.t("supply.modes"), body, false))
}

/// `POST /supplier/modes`
pub async fn add(State(s): State<WebState>, ctx: Ctx, Form(f): Form<ModeForm>) -> PageResult {
    let a = ctx.require(Permission::SupplyManage)?;
    let r = run(&ctx, &f.csrf, async {
        let d = draft(&f).map_err(SupplyError::Fields)?;
        svc::create_mode(&s.app, a, &d).await
    })
    .await?;
    match r {
        Ok(m) => Ok(Redirect::to(&Ctx::notice_url(
            "/supplier/modes",
            "supply.mode.added",
            &m.spec.get().name,
        ))
        .into_response()),
        Err(refusal) => {
            friendly(&refusal)?;
            let errors = refusal_errors(&ctx, &refusal, &[("name", "name")]);
            let body = view(&s, &ctx, &f, &errors, None).await?;
            Ok(respond(&ctx, &ctx.t("supply.modes"), body, true))
        }
    }
}

/// `POST /supplier/modes/{id}/publish`
pub async fn publish(
    State(s): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<PasswordForm>,
) -> PageResult {
    let a = ctx.require(Permission::SupplyManage)?;
    let ip = ctx.client_ip();
    let r = run(&ctx, &f.csrf, async {
        Ok(svc::publish_mode(&s.app, a, id, &ip, f.password.clone()).await?)
    })
    .await?;
    match r {
        Ok(m) => Ok(Redirect::to(&Ctx::notice_url(
            "/supplier/modes",
            "supply.mode.published",
            &m.spec.get().name,
        ))
        .into_response()),
        Err(refusal) => {
            friendly(&refusal)?;
            let errors = refusal_errors(
                &ctx,
                &refusal,
                &[
                    ("password", "password"),
                    ("trade_start_cpt", "trade_start_cpt"),
                ],
            );
            let body = view(
                &s,
                &ctx,
                &ModeForm::default(),
                &FormErrors::default(),
                Some((id, &errors)),
            )
            .await?;
            Ok(respond(&ctx, &ctx.t("supply.modes"), body, true))
        }
    }
}
