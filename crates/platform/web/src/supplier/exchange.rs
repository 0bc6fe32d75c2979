//! The supplier's trades placed through the platform (issue 18, billing,
//! `docs/exchange.md` §8): `/supplier/exchange?period=YYYY-MM` — its own supplied trades
//! with the chain's view and their channels, and its earnings of the month (without
//! `period`, the current month) from their check-ins (gross, the operator's commission,
//! net). Only trades it supplies
//! (`service::trade_ops::supplied`, `service::trade_bills::supplier_earnings`).

use crate::console::trade_bills::by_period;
use crate::ctx::Ctx;
use crate::form::{self, FormErrors, Kind};
use crate::layout::{self, SUPPLIER};
use crate::ops_pages::trades::trades_table;
use crate::{PageResult, WebState};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use maud::html;
use serde::Deserialize;
use suanli_platform_domain::Permission;
use suanli_platform_http::service::trade_bills as tb;
use suanli_platform_http::service::trade_ops as to;

/// The page.
pub fn routes() -> Router<WebState> {
    Router::new().route("/supplier/exchange", get(page))
}

/// `?period=`.
#[derive(Debug, Default, Deserialize)]
pub struct PeriodQuery {
    #[serde(default)]
    period: Option<String>,
}

/// `GET /supplier/exchange?period=YYYY-MM`
pub async fn page(State(s): State<WebState>, ctx: Ctx, Query(q): Query<PeriodQuery>) -> PageResult {
    let a = ctx.require(Permission::SupplyRead)?;
    let lang = ctx.lang;
    let trades = to::supplied(&s.app, a).await?;
    let period = q.period.filter(|p| !p.trim().is_empty());
    let mut errors = FormErrors::default();
    // Without `period`, the current month (as the API answers).
    let asked = period.as_deref().unwrap_or("");
    let earned = by_period(
        tb::supplier_earnings(&s.app, a, asked).await,
        &ctx,
        &mut errors,
    )?;
    let body = html! {
        h1 { (ctx.t("tb.supplied")) }
        p.hint { (ctx.t("tb.supplied_hint")) }
        form.inline method="get" action="/supplier/exchange" {
            (form::field(&ctx, "period", "tb.period", Kind::Text, period.as_deref().or(earned.as_ref().map(|e| e.statement.period.as_str())).unwrap_or(""), &errors, true))
            button type="submit" { (ctx.t("tb.earnings")) }
        }
        @if let Some(e) = &earned {
            dl.facts #earnings data-period=(e.statement.period) {
                dt { (ctx.t("tb.gross")) } dd #earnings-gross data-fen=(e.earnings.gross.get()) { (lang.money(e.earnings.gross.get())) }
                dt { (ctx.t("tb.commission")) } dd #earnings-commission data-fen=(e.earnings.commission.get()) { (lang.money(e.earnings.commission.get())) " (" (e.commission_bp) " bp)" }
                dt { (ctx.t("tb.net")) } dd #earnings-net data-fen=(e.earnings.net.get()) { (lang.money(e.earnings.net.get())) }
            }
        }
        (trades_table(&ctx, &trades))
    };
    let mut r = layout::page(&ctx, &ctx.t("tb.supplied"), Some(&SUPPLIER), body);
    if !errors.is_empty() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}
