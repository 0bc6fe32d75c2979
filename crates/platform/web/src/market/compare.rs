//! `/market/compare`: 2–4 listed offers side by side with the estimate for a duration;
//! `/market/policy`: the published incentive policy.

use super::cards;
use crate::ctx::Ctx;
use crate::layout;
use crate::{PageResult, WebState};
use axum::extract::{RawQuery, State};
use maud::{Markup, html};
use suanli_platform_http::service::market::{
    self as svc, COMPARE_OFFERS_MAX, COMPARE_OFFERS_MIN, Card, MarketError, SearchParams,
};

/// The query's pairs (`offers` may repeat: one per ticked card).
fn pairs(q: Option<&str>) -> Vec<(String, String)> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(q.unwrap_or("")).unwrap_or_default()
}

fn row(ctx: &Ctx, key: &str, items: &[Card], f: impl Fn(&Card) -> String) -> Markup {
    html! {
        tr data-row=(key) {
            th scope="row" { (ctx.t(key)) }
            @for c in items { td { (f(c)) } }
        }
    }
}

fn table(ctx: &Ctx, a: &svc::CompareAnswer) -> Markup {
    let lang = ctx.lang;
    let hours = (f64::from(a.duration_min) / 60.0).to_string();
    html! {
        table.data #market-compare {
            thead { tr {
                th { }
                @for c in &a.items {
                    th data-offer=(c.offer_id) data-resource=(c.resource_id) {
                        a href=(format!("/offers/{}", c.offer_id)) { (c.title) }
                    }
                }
            } }
            tbody {
                (row(ctx, "portal.supplier", &a.items, |c| c.supplier.clone()))
                (row(ctx, "supply.f.gpu_model", &a.items, |c| c.resource.gpu_model.clone()))
                (row(ctx, "supply.f.gpu_count", &a.items, |c| c.resource.gpu_count.to_string()))
                (row(ctx, "supply.f.gpu_mem_gb", &a.items, |c| c.resource.gpu_mem_gb.to_string()))
                (row(ctx, "supply.f.cpu_cores", &a.items, |c| c.resource.cpu_cores.to_string()))
                (row(ctx, "supply.f.ram_gb", &a.items, |c| c.resource.ram_gb.to_string()))
                (row(ctx, "supply.f.storage_gb", &a.items, |c| c.resource.storage_gb.to_string()))
                (row(ctx, "supply.f.tflops", &a.items, |c| c.resource.tflops.to_string()))
                (row(ctx, "supply.f.region", &a.items, |c| c.resource.region.clone()))
                (row(ctx, "supply.f.status", &a.items, |c| ctx.t(&format!("supply.status.{}", c.resource.status))))
                (row(ctx, "mk.window", &a.items, |c| format!("{} – {}", c.resource.available_from_min, c.resource.available_until_min)))
                (row(ctx, "supply.f.green_share", &a.items, |c| format!("{:.0}%", c.resource.green_share * 100.0)))
                (row(ctx, "supply.f.carbon_g_per_kwh", &a.items, |c| c.resource.carbon_g_per_kwh.to_string()))
                (row(ctx, "supply.f.pue", &a.items, |c| c.resource.pue.to_string()))
                (row(ctx, "supply.f.utilisation", &a.items, |c| format!("{:.0}%", c.resource.utilisation * 100.0)))
                (row(ctx, "mk.energy", &a.items, |c| ctx.t(&format!("mk.energy.{}", c.energy_data))))
                tr data-row="mk.reputation" { th scope="row" { (ctx.t("mk.reputation")) } @for c in &a.items { td { (cards::reputation(ctx, c)) } } }
                (row(ctx, "mk.score", &a.items, |c| c.score.score_bp.to_string()))
                (row(ctx, "mk.price_min", &a.items, |c| lang.money(c.price_fen_per_min)))
                (row(ctx, "mk.price_hour", &a.items, |c| lang.money(c.price_fen_per_hour)))
                (row(ctx, "supply.f.min_charge_fen", &a.items, |c| lang.money(c.min_charge_fen)))
                tr.total data-row="mk.estimate_total" {
                    th scope="row" { (lang.tf("mk.estimate", &[&a.units.to_string(), &hours])) }
                    @for c in &a.items { td { strong { (lang.money(c.estimate_fen)) } } }
                }
            }
        }
    }
}

/// `GET /market/compare?offers=1&offers=2&duration_min=&units=`.
pub async fn compare(State(s): State<WebState>, ctx: Ctx, RawQuery(q): RawQuery) -> PageResult {
    let pairs = pairs(q.as_deref());
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let offers: Vec<String> = pairs
        .iter()
        .filter(|(n, _)| n == "offers")
        .flat_map(|(_, v)| v.split(',').map(str::to_owned).collect::<Vec<_>>())
        .collect();
    let params = SearchParams {
        duration_min: get("duration_min"),
        units: get("units"),
        ..SearchParams::default()
    };
    let answer = svc::compare(&s.app, &offers.join(","), &params).await;
    let body = match answer {
        Ok(a) => html! {
            h1 { (ctx.t("mk.compare.title")) }
            form.filters method="get" action="/market/compare" {
                @for o in &offers { input type="hidden" name="offers" value=(o); }
                div.field { label for="f-duration" { (ctx.t("mk.f.duration_min")) }
                    input #f-duration type="number" name="duration_min" min="1" value=(a.duration_min); }
                div.field { label for="f-units" { (ctx.t("mk.f.units")) }
                    input #f-units type="number" name="units" min="1" value=(a.units); }
                div.actions { button type="submit" { (ctx.t("mk.compare.update")) } }
            }
            (table(&ctx, &a))
            p { a.button.secondary href="/market" { (ctx.t("mk.back")) } }
        },
        Err(MarketError::Param { field, message }) => html! {
            h1 { (ctx.t("mk.compare.title")) }
            p.error #compare-error role="alert" {
                @if field == "offers" {
                    (ctx.lang.tf("mk.compare.count", &[&COMPARE_OFFERS_MIN.to_string(), &COMPARE_OFFERS_MAX.to_string()]))
                } @else {
                    (cards::param_message(&ctx, field, &message))
                }
            }
            p { a.button.secondary href="/market" { (ctx.t("mk.back")) } }
        },
        Err(MarketError::Constraint { .. }) => return Err(crate::WebError::NotFound),
        Err(MarketError::Service(e)) => return Err(e.into()),
    };
    Ok(layout::page(&ctx, &ctx.t("mk.compare.title"), None, body))
}

/// `GET /market/policy`: the published incentive policy.
pub async fn policy(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    let p = svc::policy(&s.app);
    let lang = ctx.lang;
    let body = html! {
        h1 { (ctx.t("mk.policy.title")) }
        p.lead #policy-version data-version=(p.version) {
            (lang.tf("mk.policy.version", &[&p.version.to_string(), p.since]))
        }
        p { (lang.tf("mk.policy.strength", &[&format!("{:.0}", f64::from(p.strength_bp) / 100.0)])) }
        p { (ctx.t("mk.policy.price")) }
        table.data #policy-dimensions {
            thead { tr { th { (ctx.t("mk.dim")) } th { (ctx.t("mk.weight")) } th { (ctx.t("mk.policy.formula")) } th { (ctx.t("mk.policy.source")) } } }
            tbody {
                @for d in &p.dimensions {
                    tr data-dim=(d.name) {
                        td { (ctx.t(&format!("mk.dim.{}", d.name))) }
                        td { (format!("{:.2}", d.weight)) }
                        td { code { (d.formula) } }
                        td { (ctx.t(&format!("mk.src.{}", d.name))) }
                    }
                }
            }
        }
        h2 { (ctx.t("mk.energy")) }
        p #policy-energy data-source=(p.energy_data) { (ctx.t("mk.policy.energy")) }
        h2 { (ctx.t("mk.policy.history")) }
        table.data #policy-history {
            thead { tr { th { (ctx.t("mk.policy.ver")) } th { (ctx.t("mk.policy.since")) } th { (ctx.t("mk.policy.change")) } } }
            tbody { tr { td { (p.version) } td { (p.since) } td { (ctx.t("mk.policy.v1")) } } }
        }
        p { a.button.secondary href="/market" { (ctx.t("mk.back")) } }
    };
    Ok(layout::page(&ctx, &ctx.t("mk.policy.title"), None, body))
}
