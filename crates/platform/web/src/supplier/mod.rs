//! The supplier console (`/supplier`): what a supplier organisation does on the platform —
//! its overview here, and beside it one file per area (onboarding status, resources, trade
//! modes and offers, incoming trades and work orders, agent keys, revenue, settlements and
//! payouts, reputation), each exposing `routes()` merged by [`router`]. Every page calls
//! the service layer (`suanli_platform_http::service::supply_*`), which keeps suppliers to
//! their own organisation (`docs/supply.md`).

use crate::ctx::Ctx;
use crate::layout::{self, SUPPLIER};
use crate::{PageResult, WebState};
use axum::Router;
use axum::routing::get;
use maud::html;
use suanli_platform_domain::Permission;

// Issue 16, the agent's part.
pub mod agent_keys;
pub mod work_orders;

/// The supplier console's pages.
pub fn router() -> Router<WebState> {
    Router::new()
        .route("/supplier", get(overview))
        // Issue 16, the agent's part.
        .merge(work_orders::routes())
        .merge(agent_keys::routes())
}

/// `GET /supplier`: the organisation, its kind and its real-name status.
pub async fn overview(ctx: Ctx) -> PageResult {
    let a = ctx.require(Permission::SupplyRead)?;
    let body = html! {
        h1 { (ctx.t("supplier.overview")) }
        dl.facts {
            dt { (ctx.t("console.org")) } dd { (a.org.name) " · " (ctx.t(&format!("org.kind.{}", a.org.kind.as_str()))) }
            dt { (ctx.t("console.realname")) } dd { (ctx.t(&format!("org.status.{}", a.org.status.as_str()))) }
        }
    };
    Ok(layout::page(
        &ctx,
        &ctx.t("supplier.overview"),
        Some(&SUPPLIER),
        body,
    ))
}
