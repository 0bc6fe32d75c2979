//! The market in the portal (issue 17, `docs/market.md` "In the product"): `/market`
//! searches every listed offer's resources with form filters and an advanced constraint
//! box, ranks them by the published incentive policy with the breakdown on each card,
//! and says why the others do not fit; `/market/compare` sets 2–4 offers side by side;
//! `/market/policy` publishes the policy. Public pages over
//! [`suanli_platform_http::service::market`], the functions the API calls.

mod allocations;
mod cards;
mod compare;
mod data;
mod demands;

pub use compare::{compare, policy};
pub use demands::{cancel as demand_cancel, list as demands, post as demand_post};

/// The market pages added with the order flow (issue 17): confirming a matched demand,
/// market data, the operator's batch allocations.
pub fn routes() -> axum::Router<WebState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/market/demands/{id}/confirm", post(demands::confirm))
        .route("/market/data", get(data::page))
        .route(
            "/ops/market/allocations",
            get(allocations::list).post(allocations::run),
        )
        .route("/ops/market/allocations/{id}", get(allocations::show))
        .route(
            "/ops/market/allocations/{id}/confirm",
            post(allocations::confirm),
        )
}

use crate::ctx::Ctx;
use crate::form::{self, FormErrors, Kind};
use crate::i18n::parse_yuan;
use crate::layout;
use crate::{PageResult, WebState};
use axum::extract::{Query, State};
use maud::{Markup, html};
use serde::Deserialize;
use suanli_platform_domain::supply::catalog::GPU_MODELS;
use suanli_platform_http::service::market::{
    self as svc, ExplainAnswer, MarketError, SearchAnswer, SearchParams,
};

/// Minutes in an hour (the form asks for hours).
const MINUTES_PER_HOUR: i64 = 60;
/// Longest duration the form accepts, in hours (the market's 366 days).
const DURATION_MAX_H: i64 = 8_784;

/// The search form's fields (all text: each is checked and its error shown beside it).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct MarketForm {
    gpu_model: String,
    gpu_count_min: String,
    gpu_mem_gb_min: String,
    region: String,
    /// Yuan per unit-minute.
    max_price: String,
    available_from_min: String,
    available_until_min: String,
    green_pct_min: String,
    carbon_max: String,
    pue_max: String,
    reputation_min: String,
    units: String,
    /// Hours of the estimate.
    duration_h: String,
    sort: String,
    constraint: String,
    /// Set by the form's button: a search was asked for.
    go: String,
}

fn opt(v: &str) -> Option<String> {
    let t = v.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

impl MarketForm {
    /// The service's parameters, or the form's own errors (price in yuan, hours).
    fn params(&self, ctx: &Ctx, errors: &mut FormErrors) -> SearchParams {
        let lang = ctx.lang;
        let max_price = opt(&self.max_price).and_then(|v| match parse_yuan(&v) {
            Some(f) => Some(f.to_string()),
            None => {
                errors.add("max_price", lang.t("err.yuan"));
                None
            }
        });
        let duration = opt(&self.duration_h).and_then(|v| match v.parse::<i64>() {
            Ok(h) if (1..=DURATION_MAX_H).contains(&h) => Some((h * MINUTES_PER_HOUR).to_string()),
            _ => {
                errors.add(
                    "duration_h",
                    lang.tf("mk.err.hours", &[&DURATION_MAX_H.to_string()]),
                );
                None
            }
        });
        SearchParams {
            gpu_model: opt(&self.gpu_model),
            gpu_count_min: opt(&self.gpu_count_min),
            gpu_mem_gb_min: opt(&self.gpu_mem_gb_min),
            region: opt(&self.region),
            max_price_fen_per_min: max_price,
            available_from_min: opt(&self.available_from_min),
            available_until_min: opt(&self.available_until_min),
            green_pct_min: opt(&self.green_pct_min),
            carbon_max: opt(&self.carbon_max),
            pue_max: opt(&self.pue_max),
            reputation_min: opt(&self.reputation_min),
            constraint: opt(&self.constraint),
            sort: opt(&self.sort),
            duration_min: duration,
            units: opt(&self.units),
            limit: None,
            offer: None,
        }
    }
}

/// The form's field of a service parameter.
fn form_field(param: &str) -> &str {
    match param {
        "max_price_fen_per_min" => "max_price",
        "duration_min" => "duration_h",
        other => other,
    }
}

/// A constraint refusal: the message in the page's language and the text with the
/// offending token marked.
struct ConstraintShown {
    message: String,
    text: String,
    start: usize,
    end: usize,
}

/// `GET /market`: the search form; with `go`, the results and why the others do not fit.
pub async fn search(
    State(s): State<WebState>,
    ctx: Ctx,
    Query(f): Query<MarketForm>,
) -> PageResult {
    let mut errors = FormErrors::default();
    let params = f.params(&ctx, &mut errors);
    let mut shown: Option<ConstraintShown> = None;
    let mut outcome: Option<(SearchAnswer, ExplainAnswer)> = None;
    if !f.go.is_empty() && errors.is_empty() {
        match run(&s, &params).await {
            Ok(v) => outcome = Some(v),
            Err(MarketError::Param { field, message }) => {
                errors.add(
                    form_field(field),
                    cards::param_message(&ctx, field, &message),
                );
            }
            Err(MarketError::Constraint { error, text }) => {
                let span = error.span();
                shown = Some(ConstraintShown {
                    message: cards::constraint_message(&ctx, &error, &text),
                    text,
                    start: span.start,
                    end: span.end,
                });
                errors.add("constraint", ctx.t("mk.err.constraint"));
            }
            Err(MarketError::Service(e)) => return Err(e.into()),
        }
    }
    let body = html! {
        h1 { (ctx.t("mk.title")) }
        p.lead { (ctx.t("mk.lead")) " " a href="/market/policy" { (ctx.t("mk.policy.link")) }
            " · " a href="/market/data" { (ctx.t("md.title")) }
            @if ctx.auth.is_some() { " · " a href="/market/demands" { (ctx.t("mk.dem.title")) } } }
        (search_form(&ctx, &f, &errors, shown.as_ref()))
        @if let Some((found, why)) = &outcome {
            (cards::results(&ctx, found))
            (cards::why_not(&ctx, why))
        }
    };
    Ok(layout::page(&ctx, &ctx.t("mk.title"), None, body))
}

async fn run(s: &WebState, p: &SearchParams) -> Result<(SearchAnswer, ExplainAnswer), MarketError> {
    let found = svc::search(&s.app, p).await?;
    let why = svc::explain(&s.app, p).await?;
    Ok((found, why))
}

fn search_form(
    ctx: &Ctx,
    f: &MarketForm,
    errors: &FormErrors,
    shown: Option<&ConstraintShown>,
) -> Markup {
    let any = (String::new(), ctx.t("filter.any"));
    let models: Vec<(String, String)> = std::iter::once(any)
        .chain(
            GPU_MODELS
                .iter()
                .map(|m| ((*m).to_owned(), (*m).to_owned())),
        )
        .collect();
    let sorts: Vec<(String, String)> = ["rank", "price", "score", "reputation"]
        .iter()
        .map(|s| ((*s).to_owned(), ctx.t(&format!("mk.sort.{s}"))))
        .collect();
    let cerr = errors.get("constraint");
    html! {
        form.filters #market-search method="get" action="/market" role="search" {
            input type="hidden" name="go" value="1";
            (form::select(ctx, "gpu_model", "supply.f.gpu_model", &models, &f.gpu_model, errors))
            (form::field(ctx, "gpu_count_min", "mk.f.gpu_count_min", Kind::Integer, &f.gpu_count_min, errors, false))
            (form::field(ctx, "gpu_mem_gb_min", "mk.f.gpu_mem_gb_min", Kind::Integer, &f.gpu_mem_gb_min, errors, false))
            (form::field(ctx, "region", "supply.f.region", Kind::Text, &f.region, errors, false))
            (form::field(ctx, "max_price", "mk.f.max_price", Kind::Decimal, &f.max_price, errors, false))
            (form::field(ctx, "green_pct_min", "mk.f.green_pct_min", Kind::Integer, &f.green_pct_min, errors, false))
            (form::field(ctx, "carbon_max", "mk.f.carbon_max", Kind::Integer, &f.carbon_max, errors, false))
            (form::field(ctx, "pue_max", "mk.f.pue_max", Kind::Decimal, &f.pue_max, errors, false))
            (form::field(ctx, "reputation_min", "mk.f.reputation_min", Kind::Decimal, &f.reputation_min, errors, false))
            (form::field(ctx, "available_from_min", "mk.f.available_from_min", Kind::Integer, &f.available_from_min, errors, false))
            (form::field(ctx, "available_until_min", "mk.f.available_until_min", Kind::Integer, &f.available_until_min, errors, false))
            (form::field(ctx, "units", "mk.f.units", Kind::Integer, &f.units, errors, false))
            (form::field(ctx, "duration_h", "mk.f.duration_h", Kind::Integer, &f.duration_h, errors, false))
            (form::select(ctx, "sort", "mk.f.sort", &sorts, &f.sort, errors))
            div.field.wide.has-error[cerr.is_some()] {
                label for="f-constraint" { (ctx.t("mk.f.constraint")) }
                textarea #f-constraint name="constraint" rows="2" spellcheck="false"
                    aria-describedby="f-constraint-help" aria-invalid=[cerr.map(|_| "true")] { (f.constraint) }
                p.hint #f-constraint-help { (ctx.t("mk.f.constraint_help")) }
                @if let Some(c) = shown {
                    div.error #constraint-error role="alert" data-start=(c.start) data-end=(c.end) {
                        p { (c.message) }
                        pre { code {
                            (c.text.get(..c.start).unwrap_or(""))
                            mark { (c.text.get(c.start..c.end).filter(|t| !t.is_empty()).unwrap_or("⌁")) }
                            (c.text.get(c.end..).unwrap_or(""))
                        } }
                    }
                }
            }
            div.actions {
                button type="submit" { (ctx.t("mk.search")) }
                a.button.secondary href="/market" { (ctx.t("filter.reset")) }
            }
        }
    }
}
