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
use axum::extract::State;
use axum::routing::{get, post};
use maud::html;
use suanli_platform_domain::Permission;
use suanli_platform_http::service::supply_onboarding;

// --- supply (issue 16, supply helper): resources, trade modes, offers
mod modes;
mod offers;
pub mod resources;
// ── issue 16, supplier money ──
pub mod agreement;
pub mod revenue;
pub mod trades;
// Issue 16, the agent's part.
pub mod agent_keys;
pub mod hosted_agent; // issue 16, platform-hosted agents
pub mod work_orders;
// Issue 18, billing: the supplier's trades placed through the platform, earnings.
pub mod exchange;

/// The supplier console's pages.
pub fn router() -> Router<WebState> {
    Router::new()
        .route("/supplier", get(overview))
        // --- supply (issue 16, supply helper)
        .merge(resources::routes())
        .merge(modes::routes())
        .merge(offers::routes())
        // issue 16, supplier money
        .merge(trades::routes())
        .merge(revenue::routes())
        .merge(agreement::routes())
        // Issue 16, the agent's part.
        .merge(work_orders::routes())
        .merge(agent_keys::routes())
        .merge(exchange::routes()) // issue 18, billing
        // Operator pages of onboarding (issue 16): the supplier review and enrolment.
        .route(
            "/ops/suppliers/registrations/{id}",
            get(crate::ops_pages::supplier_registration),
        )
        .route(
            "/ops/suppliers/{id}/enrol",
            post(crate::ops_pages::supplier_enrol),
        )
        .route(
            "/ops/suppliers/{id}/qualification",
            post(crate::ops_pages::supplier_qualify),
        )
    // ---- the other areas: `.merge(area::routes())`, one line each.
}

/// `GET /supplier`: the organisation, its supplier type and status, its supplier DID and
/// whether the trade chain has it enrolled as supplier (read now), the qualification
/// credential verified at approval, and links to the other areas.
pub async fn overview(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    let a = ctx.require(Permission::SupplyRead)?;
    let o = supply_onboarding::overview(&s.app, a).await?;
    let rec = o.supplier.as_ref();
    let did = rec.and_then(|r| r.did.clone());
    let enrolled_here = rec.is_some_and(|r| r.enrolled_ms.is_some());
    let on_chain = o
        .trade_roles
        .as_ref()
        .is_some_and(|roles| roles.iter().any(|r| r == "supplier"));
    let body = html! {
        h1 { (ctx.t("supplier.overview")) }
        dl.facts #supplier-overview {
            dt { (ctx.t("console.org")) } dd { (o.org.name) }
            dt { (ctx.t("register.supplier_type")) } dd #supplier-type { (ctx.t(&format!("org.kind.{}", o.org.kind.as_str()))) }
            dt { (ctx.t("org.status")) } dd { (ctx.t(&format!("org.status.{}", o.org.status.as_str()))) }
            dt { (ctx.t("sup.did")) } dd #supplier-did {
                @if let Some(d) = &did { code { (d) } } @else { (ctx.t("supplier.no_did")) }
            }
            dt { (ctx.t("sup.enrolment")) } dd #supplier-enrolment data-on-chain=(on_chain) {
                @if on_chain {
                    (ctx.t("supplier.enrolled_on_chain"))
                    @if let Some(at) = rec.and_then(|r| r.enrolled_ms) { " · " (ctx.lang.datetime(at)) }
                } @else if let Some(why) = &o.trade_unavailable {
                    (ctx.t("supplier.chain_unavailable")) " (" (why) ")"
                } @else if enrolled_here {
                    (ctx.t("sup.not_enrolled"))
                } @else {
                    (ctx.t("supplier.enrolment_pending"))
                }
            }
            @if let Some(r) = rec.and_then(|r| r.kyc_credential_ref.clone()) {
                dt { (ctx.t("supplier.kyc_credential")) } dd { code { (r) } }
            }
        }
        h2 { (ctx.t("register.qualification")) }
        @match &o.qualification {
            Some(q) => {
                p #qualification-state data-verified=(q.ok()) {
                    (ctx.t(if q.ok() { "qual.verified" } else { "qual.not_verified" }))
                    @if let Some(t) = &q.cpt_title { " · " (t) }
                    " · " (ctx.lang.datetime(i64::try_from(q.verified_at_ms).unwrap_or(i64::MAX)))
                }
                (crate::ops_pages::qualification_checks(&ctx, q))
            }
            None => p.empty { (ctx.t("qual.pending")) },
        }
        h2 { (ctx.t("supplier.areas")) }
        ul.links #supplier-areas {
            @for (href, key, p) in SUPPLIER.links.iter().filter(|(h, _, _)| *h != "/supplier") {
                @if p.is_none_or(|p| a.principal.has(p)) { li { a href=(href) { (ctx.t(key)) } } }
            }
        }
    };
    Ok(layout::page(
        &ctx,
        &ctx.t("supplier.overview"),
        Some(&SUPPLIER),
        body,
    ))
}
