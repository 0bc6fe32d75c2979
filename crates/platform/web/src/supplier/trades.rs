//! `/supplier/trades`: the supplier's incoming trades read from the trade chain (serial,
//! offer, consumer, status, check-ins, amounts) and its reputation per resource
//! dimension (`docs/supply.md` §4). Only its own: the service reads the trades of its
//! organisation's supplier DID.

use crate::ctx::Ctx;
use crate::layout::{self, SUPPLIER};
use crate::{PageResult, WebState};
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use maud::{Markup, html};
use suanli_platform_domain::Permission;
use suanli_platform_http::service::ServiceError;
use suanli_platform_http::service::supply_money as sm;
use suanli_platform_http::trade_book::ChainReputation;

/// The page's routes.
pub fn routes() -> Router<WebState> {
    Router::new().route("/supplier/trades", get(trades))
}

/// The reputation block (also used by the operator's supplier list).
pub fn reputation_view(ctx: &Ctx, r: Option<&ChainReputation>) -> Markup {
    html! {
        @match r {
            None => p.empty { (ctx.t("sm.no_reputation")) },
            Some(r) => {
                dl.facts {
                    dt { (ctx.t("sm.orders")) } dd { (r.orders) " / " (r.contracted) }
                    dt { (ctx.t("sm.ratings")) } dd { (r.ratings) }
                    dt { (ctx.t("sm.overall")) } dd { (r.overall.map_or("—".to_owned(), |v| format!("{v:.1}"))) }
                    dt { (ctx.t("sm.completion")) } dd { (r.completion_rate.map_or("—".to_owned(), |v| format!("{:.0}%", v * 100.0))) }
                }
                @if !r.per_resource.is_empty() {
                    table.data #reputation {
                        thead { tr { th { (ctx.t("sm.dimension")) } th { (ctx.t("sm.score")) } } }
                        tbody { @for (d, s) in &r.per_resource {
                            tr { td { (ctx.t(&format!("sm.dim.{d}"))) } td.num { (format!("{s:.1}")) } }
                        } }
                    }
                }
            }
        }
    }
}

/// `GET /supplier/trades`
pub async fn trades(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    let a = ctx.require(Permission::SupplyRead)?;
    let lang = ctx.lang;
    let (list, attached) = match sm::my_trades(&s.app, a).await {
        Ok(t) => (t, true),
        Err(ServiceError::Absent { .. }) => (Vec::new(), false),
        Err(e) => return Err(e.into()),
    };
    let rep = if attached {
        sm::my_reputation(&s.app, a).await?
    } else {
        None
    };
    let body = html! {
        h1 { (ctx.t("sm.trades")) }
        @if !attached { p.notice { (ctx.t("sm.no_chain")) } }
        @if list.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
            table.data #trades {
                thead { tr {
                    th { (ctx.t("sm.serial")) } th { (ctx.t("sm.offer")) } th { (ctx.t("sm.consumer")) }
                    th { (ctx.t("org.status")) } th { (ctx.t("sm.checkins")) } th { (ctx.t("sm.funded")) }
                    th { (ctx.t("sm.paid")) } th { (ctx.t("sm.rating")) }
                } }
                tbody { @for t in &list {
                    tr {
                        td { code { (t.serial) } } td { (t.offer_id) } td { code { (t.consumer) } }
                        td { (ctx.t(&format!("sm.status.{}", t.status))) }
                        td.num { (t.checkins.len()) }
                        td.num { (lang.money(t.funded_fen.get())) }
                        td.num { (lang.money(t.paid_fen.get())) }
                        td { (t.rating.as_ref().map_or("—".to_owned(), |r| format!("{:.1}", f64::from(r.overall_milli) / 1000.0))) }
                    }
                } }
            }
            h2 { (ctx.t("sm.checkins")) }
            table.data #checkins {
                thead { tr { th { (ctx.t("sm.serial")) } th { "#" } th { (ctx.t("sm.period")) } th { (ctx.t("sm.minutes")) } th { (ctx.t("stmt.amount")) } } }
                tbody { @for t in &list { @for c in &t.checkins {
                    tr {
                        td { code { (t.serial) } } td { (c.n) }
                        td { (lang.datetime(c.start_ms)) " – " (lang.datetime(c.end_ms)) }
                        td.num { (c.minutes) } td.num { (lang.money(c.cost_fen.get())) }
                    }
                } } }
            }
        }
        h2 { (ctx.t("sm.reputation")) }
        (reputation_view(&ctx, rep.as_ref()))
    };
    Ok(layout::page(
        &ctx,
        &ctx.t("sm.trades"),
        Some(&SUPPLIER),
        body,
    ))
}
