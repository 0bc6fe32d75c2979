//! The operator's view of the exchange (issue 18, billing, `docs/exchange.md` §8),
//! `finance:read`: `/ops/trades` — trades per customer and per supplier, the
//! reconciliation now (`journal − chain`), the wallet alarms and the unpaid tails —, and
//! `/ops/trades/orgs/{id}?side=customer|supplier` — one organisation's trades with the
//! chain's view, their channels and disputes. Read-only; through `service::trade_ops`.

use crate::ctx::Ctx;
use crate::layout::{self, OPS};
use crate::{PageResult, WebState};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use maud::{Markup, html};
use serde::Deserialize;
use suanli_platform_domain::Permission;
use suanli_platform_http::service::trade_ops::{self as to, OpsTrade};
use suanli_platform_store::{TradeSide, TradeTotals};

/// The pages.
pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/ops/trades", get(overview))
        .route("/ops/trades/orgs/{id}", get(org_trades))
}

fn totals_table(ctx: &Ctx, id: &str, side: TradeSide, rows: &[TradeTotals]) -> Markup {
    let lang = ctx.lang;
    html! {
        @if rows.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
            table.data id=(id) {
                thead { tr {
                    th { (ctx.t("to.org")) } th { (ctx.t("to.trades")) } th { (ctx.t("to.live")) }
                    th { (ctx.t("to.closed")) } th { (ctx.t("to.refused")) } th { (ctx.t("tr.value")) }
                    th { (ctx.t("tr.paid")) } th { (ctx.t("tr.refunded")) }
                } }
                tbody { @for r in rows {
                    tr data-org=(r.org.get()) {
                        td { a href={ "/ops/trades/orgs/" (r.org.get()) "?side=" (side.as_str()) } { (r.name) } }
                        td { (r.trades) } td { (r.live) } td { (r.closed) } td { (r.refused) }
                        td { (lang.money(r.value_fen)) } td data-fen=(r.paid_fen) { (lang.money(r.paid_fen)) }
                        td { (lang.money(r.refunded_fen)) }
                    }
                } }
            }
        }
    }
}

/// `GET /ops/trades`
pub async fn overview(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    let a = ctx.require(Permission::FinanceRead)?;
    let lang = ctx.lang;
    let o = to::overview(&s.app, a).await?;
    let body = html! {
        h1 { (ctx.t("to.title")) }
        p.hint { (ctx.t("to.hint")) }
        h2 { (ctx.t("to.reconciliation")) }
        @match &o.reconciliation {
            None => { p.empty { (ctx.t("to.no_chain")) } }
            Some(r) if !r.chain_available => { p.empty #reconciliation { (ctx.t("tr.chain_unavailable")) } }
            Some(r) => {
                dl.facts #reconciliation data-diff=(r.journal_minus_chain_fen) {
                    dt { (ctx.t("to.compared")) } dd { (r.compared) }
                    dt { (ctx.t("to.journal_minus_chain")) } dd #journal-minus-chain { (lang.money(r.journal_minus_chain_fen)) }
                }
                @for d in &r.differences {
                    p.notice.warning data-org=(d.org) { (lang.tf("to.difference", &[d.org.to_string().as_str(), lang.money(d.journal_fen).as_str(), lang.money(d.chain_fen).as_str()])) }
                }
            }
        }
        h2 { (ctx.t("to.alarms")) }
        @if o.alarms.is_empty() { p.empty #alarms { (ctx.t("to.no_alarms")) } } @else {
            table.data #alarms { thead { tr { th { (ctx.t("to.org")) } th { (ctx.t("to.journal")) } th { (ctx.t("to.chain")) } th { (ctx.t("to.raised")) } } }
                tbody { @for al in &o.alarms { tr data-alarm=(al.id) {
                    td { (al.org.get()) } td { (lang.money(al.journal_fen)) } td { (lang.money(al.chain_fen)) } td { (lang.datetime(al.raised_ms)) }
                } } } }
        }
        h2 { (ctx.t("to.unpaid")) }
        @if o.unpaid.is_empty() { p.empty #unpaid { (ctx.t("to.no_unpaid")) } } @else {
            table.data #unpaid { thead { tr { th { (ctx.t("tr.serial")) } th { (ctx.t("to.customer")) } th { (ctx.t("to.supplier")) } th { (ctx.t("tb.unpaid")) } th { (ctx.t("tr.close_reason")) } } }
                tbody { @for u in &o.unpaid { tr data-trade=(u.serial) {
                    td { code { (u.serial) } } td { (u.org.get()) } td { (u.supplier_org.get()) }
                    td data-fen=(u.unpaid_fen) { (lang.money(u.unpaid_fen)) } td { (u.close_reason.as_deref().unwrap_or("—")) }
                } } } }
        }
        h2 { (ctx.t("to.per_customer")) }
        (totals_table(&ctx, "per-customer", TradeSide::Customer, &o.customers))
        h2 { (ctx.t("to.per_supplier")) }
        (totals_table(&ctx, "per-supplier", TradeSide::Supplier, &o.suppliers))
    };
    Ok(layout::page(&ctx, &ctx.t("to.title"), Some(&OPS), body))
}

/// `?side=` of an organisation's trades.
#[derive(Debug, Default, Deserialize)]
pub struct SideQuery {
    #[serde(default)]
    side: Option<String>,
}

/// The operator's rows of trades (also the supplier's own list).
pub fn trades_table(ctx: &Ctx, rows: &[OpsTrade]) -> Markup {
    let lang = ctx.lang;
    html! {
        @if rows.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
            table.data #ops-trades {
                thead { tr {
                    th { (ctx.t("tr.serial")) } th { (ctx.t("tr.status")) } th { (ctx.t("tr.value")) }
                    th { (ctx.t("tr.paid")) } th { (ctx.t("to.chain_paid")) } th { (ctx.t("tb.unpaid")) }
                    th { (ctx.t("to.channel")) }
                } }
                tbody { @for r in rows {
                    tr data-trade=(r.trade.serial) data-disputed=(if r.channel.as_ref().is_some_and(|c| c.disputed) { "true" } else { "false" }) {
                        td { code { (r.trade.serial) } br; small { (lang.datetime(r.trade.created_ms)) } }
                        td { (ctx.t(&format!("tr.status.{}", r.trade.status.as_str()))) }
                        td { (lang.money(r.trade.value.get())) }
                        td { (lang.money(r.trade.paid.get())) }
                        td { @match r.chain_paid_fen { Some(f) => { (lang.money(f)) } None => { "—" } } }
                        td data-fen=(r.unpaid_fen) { (lang.money(r.unpaid_fen)) }
                        td { @match &r.channel {
                            None => { "—" }
                            Some(c) => {
                                (ctx.t(&format!("to.channel.{}", c.status))) " · " (c.checkins) " · " (lang.money(c.settled_cost_fen))
                                @if c.disputed { " · " strong.dispute { (ctx.t("to.disputed")) } }
                            }
                        } }
                    }
                } }
            }
        }
    }
}

/// `GET /ops/trades/orgs/{id}?side=customer|supplier`
pub async fn org_trades(
    State(s): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(q): Query<SideQuery>,
) -> PageResult {
    let a = ctx.require(Permission::FinanceRead)?;
    let side = q.side.unwrap_or_default();
    let o = to::org_trades(&s.app, a, id, &side).await?;
    let body = html! {
        h1 { (ctx.t("to.title")) " · " (o.name) }
        p { (ctx.t(&format!("to.side.{}", o.side))) " · " (ctx.t("to.disputes")) " " span #disputes { (o.disputes) } }
        (trades_table(&ctx, &o.trades))
        p { a.button.secondary href="/ops/trades" { (ctx.t("tr.back")) } }
    };
    Ok(layout::page(&ctx, &ctx.t("to.title"), Some(&OPS), body))
}
