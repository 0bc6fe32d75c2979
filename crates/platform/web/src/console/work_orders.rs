//! The consumer's side of provisioning work orders (`/console/work-orders`,
//! `docs/supply.md` §3): for each trade of the organisation's users (by their DIDs) that a
//! supplier provisions by hand, where it stands and the access details the supplier
//! filled back — the address, the pool and the **reference** to where the credentials
//! are kept.

use crate::ctx::Ctx;
use crate::layout::{self, CONSOLE};
use crate::{PageResult, WebState};
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use maud::html;
use suanli_platform_domain::Permission;
use suanli_platform_http::service::supply_work_orders as wo;

/// Rows on the page.
pub const ACCESS_ROWS: u32 = 100;

/// The page.
pub fn routes() -> Router<WebState> {
    Router::new().route("/console/work-orders", get(page))
}

/// `GET /console/work-orders`
pub async fn page(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    let a = ctx.require(Permission::AccountRead)?;
    let lang = ctx.lang;
    let list = wo::mine(&s.app, a, None, ACCESS_ROWS).await?;
    let body = html! {
        h1 { (ctx.t("wo.mine")) }
        p.hint { (ctx.t("wo.mine_hint")) }
        @if list.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
            table.data #my-work-orders {
                thead { tr {
                    th { (ctx.t("wo.trade")) } th { (ctx.t("wo.supplier")) } th { (ctx.t("wo.status")) }
                    th { (ctx.t("wo.address")) } th { (ctx.t("wo.credentials_ref")) } th { (ctx.t("wo.pool_id")) }
                } }
                tbody { @for w in &list {
                    tr data-work-order=(w.id) {
                        td { code { (w.serial) } br; small { (lang.datetime(w.raised_ms)) } }
                        td { code.did { (w.supplier_did) } }
                        td { (ctx.t(&format!("wo.status.{}", w.status.as_str()))) }
                        @if let Some(d) = &w.access {
                            td { code { (d.address.as_str()) } }
                            td { code { (d.credentials_ref.as_str()) } }
                            td { code { (d.pool_id.as_str()) } }
                        } @else {
                            td colspan="3" { (ctx.t("wo.not_yet")) }
                        }
                    }
                } }
            }
        }
    };
    Ok(layout::page(&ctx, &ctx.t("wo.mine"), Some(&CONSOLE), body))
}
