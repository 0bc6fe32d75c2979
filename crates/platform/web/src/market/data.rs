//! `/market/data`: market data per GPU model and region (`docs/market.md` "Market data")
//! — the best listed prices and depth now, the cheapest levels of the book, and the daily
//! price history of the trades ordered, drawn as server-side SVG columns like the
//! dashboard's. Public, over [`suanli_platform_http::service::market::data`], the function
//! the API calls.

use crate::charts;
use crate::ctx::Ctx;
use crate::form::{self, FormErrors, Kind};
use crate::layout;
use crate::{PageResult, WebState};
use axum::extract::{Query, State};
use maud::{Markup, PreEscaped, html};
use suanli_platform_domain::supply::catalog::GPU_MODELS;
use suanli_platform_http::service::market::MarketError;
use suanli_platform_http::service::market::data::{self, DataQuery, MarketRow};

/// The filter form (text, checked by the service; a refusal shows beside its field).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct DataForm {
    gpu_model: String,
    region: String,
    days: String,
}

fn opt(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|t| !t.is_empty())
}

fn market(ctx: &Ctx, m: &MarketRow) -> Markup {
    let lang = ctx.lang;
    let per_day: Vec<(String, i64)> = m
        .history
        .iter()
        .map(|d| {
            (
                d.day.get(5..).unwrap_or(&d.day).to_owned(),
                d.mean_fen_per_min,
            )
        })
        .collect();
    let title = lang.tf("md.chart", &[&m.gpu_model, &m.region]);
    let money = |v: i64| lang.money(v);
    html! {
        section.market-data data-gpu=(m.gpu_model) data-region=(m.region) {
            h2 { (m.gpu_model) " · " (m.region) }
            dl.facts {
                dt { (ctx.t("md.best")) }
                dd.best { @match m.best_price_fen_per_min { Some(p) => { (lang.money(p)) (ctx.t("portal.per_minute")) }, None => { "—" } } }
                dt { (ctx.t("md.depth")) } dd.depth { (m.depth_units) }
                dt { (ctx.t("md.last")) }
                dd { @match m.last_price_fen_per_min { Some(p) => { (lang.money(p)) (ctx.t("portal.per_minute")) }, None => { "—" } } }
                dt { (ctx.t("md.trades")) } dd.trades { (m.trades) }
            }
            @if !m.book.is_empty() {
                table.data.book {
                    thead { tr { th { (ctx.t("md.price")) } th { (ctx.t("md.units")) } th { (ctx.t("md.offers")) } } }
                    tbody { @for l in &m.book { tr data-price=(l.price_fen_per_min) {
                        td { (lang.money(l.price_fen_per_min)) } td { (l.units) } td { (l.offers) }
                    } } }
                }
            }
            figure.chart-box {
                figcaption { (title) }
                @if per_day.is_empty() { p.empty { (ctx.t("md.no_trades")) } }
                @else { (PreEscaped(charts::columns(&title, &per_day, &money))) }
            }
        }
    }
}

/// `GET /market/data`.
pub async fn page(State(s): State<WebState>, ctx: Ctx, Query(f): Query<DataForm>) -> PageResult {
    let q = DataQuery {
        gpu_model: opt(&f.gpu_model),
        region: opt(&f.region),
        days: opt(&f.days),
    };
    let mut errors = FormErrors::default();
    let found = match data::data(&s.app, &q).await {
        Ok(d) => Some(d),
        Err(MarketError::Param { field, message }) => {
            errors.add(field, super::cards::param_message(&ctx, field, &message));
            None
        }
        Err(e) => return Err(suanli_platform_http::service::ServiceError::from(e).into()),
    };
    let any = (String::new(), ctx.t("filter.any"));
    let models: Vec<(String, String)> = std::iter::once(any)
        .chain(
            GPU_MODELS
                .iter()
                .map(|m| ((*m).to_owned(), (*m).to_owned())),
        )
        .collect();
    let body = html! {
        h1 { (ctx.t("md.title")) }
        p.lead { (ctx.t("md.lead")) }
        form.filters #market-data-form method="get" action="/market/data" {
            (form::select(&ctx, "gpu_model", "supply.f.gpu_model", &models, &f.gpu_model, &errors))
            (form::field(&ctx, "region", "supply.f.region", Kind::Text, &f.region, &errors, false))
            (form::field(&ctx, "days", "md.days", Kind::Integer, &f.days, &errors, false))
            div.actions { button type="submit" { (ctx.t("mk.search")) } }
        }
        @if let Some(d) = &found {
            div #market-data {
                @if d.items.is_empty() { p.empty { (ctx.t("md.none")) } }
                @for m in &d.items { (market(&ctx, m)) }
            }
        }
        p { a.button.secondary href="/market" { (ctx.t("mk.back")) } }
    };
    let mut r = layout::page(&ctx, &ctx.t("md.title"), None, body);
    if found.is_none() {
        *r.status_mut() = axum::http::StatusCode::BAD_REQUEST;
    }
    Ok(r)
}
