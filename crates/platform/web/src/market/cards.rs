//! Result cards, the score breakdown, "why not" lines and the messages of refusals, in
//! the page's language.

use crate::ctx::Ctx;
use maud::{Markup, html};
use suanli_platform_http::service::market::{
    Card, ConstraintError, ExplainAnswer, SearchAnswer, WhyNot,
};

/// A fraction as a whole percent.
fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

/// The supplier's reputation as a card says it (never a made-up number).
pub fn reputation(ctx: &Ctx, c: &Card) -> Markup {
    let r = &c.reputation;
    html! {
        span.reputation data-state=(r.state) {
            @match (r.stars, r.ratings) {
                (Some(stars), Some(n)) => {
                    (ctx.lang.tf("mk.rep.rated", &[&format!("{stars:.1}"), &n.to_string()]))
                }
                _ => { (ctx.t(&format!("mk.rep.{}", r.state))) }
            }
        }
    }
}

/// The five dimensions of the incentive score, each value × weight.
pub fn breakdown(ctx: &Ctx, c: &Card) -> Markup {
    html! {
        table.data.breakdown {
            thead { tr { th { (ctx.t("mk.dim")) } th { (ctx.t("mk.value")) } th { (ctx.t("mk.weight")) } th { (ctx.t("mk.points")) } } }
            tbody {
                @for d in &c.score.dimensions {
                    @let name = serde_json::to_value(d.dimension).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
                    tr data-dim=(name) {
                        td { (ctx.t(&format!("mk.dim.{name}"))) }
                        td { (format!("{:.2}", d.value)) }
                        td { (format!("{:.2}", d.weight)) }
                        td { (format!("{:.0}", d.contribution_bp)) }
                    }
                }
            }
        }
    }
}

fn attrs(ctx: &Ctx, c: &Card) -> Markup {
    let d = &c.resource;
    html! {
        p.specs {
            span.tag { (d.gpu_model) " ×" (d.gpu_count) } " "
            span.tag { (d.gpu_mem_gb) " GB" } " "
            span.tag { (d.region) } " "
            span.tag { (ctx.t("supply.f.green_share")) " " (pct(d.green_share)) } " "
            span.tag { (d.carbon_g_per_kwh) " gCO₂/kWh" } " "
            span.tag { "PUE " (d.pue) }
        }
    }
}

/// One result card (`li.card[data-offer][data-resource]`).
pub fn card(ctx: &Ctx, c: &Card, duration_min: u32, units: u32) -> Markup {
    let lang = ctx.lang;
    html! {
        li.card.market-card data-offer=(c.offer_id) data-resource=(c.resource_id) data-position=(c.position) {
            h3 { a href=(format!("/offers/{}", c.offer_id)) { (c.title) } }
            p.meta { (ctx.t("portal.supplier")) ": " (c.supplier) " · " (c.resource.name) }
            (attrs(ctx, c))
            p.price {
                strong.per-minute { (lang.money(c.price_fen_per_min)) } (ctx.t("portal.per_minute")) " · "
                span.per-hour { (lang.money(c.price_fen_per_hour)) (ctx.t("mk.per_hour")) }
            }
            p.estimate {
                (lang.tf("mk.estimate", &[&units.to_string(), &(f64::from(duration_min) / 60.0).to_string()])) " "
                strong { (lang.money(c.estimate_fen)) }
            }
            p.score {
                (ctx.t("mk.score")) " " strong.score-bp { (c.score.score_bp) } " / 10000 · "
                (ctx.t("mk.ranks_at")) " " (lang.money(c.score.adjusted_millifen_per_min / 1000)) (ctx.t("portal.per_minute"))
            }
            (breakdown(ctx, c))
            p.meta { (ctx.t("mk.reputation")) ": " (reputation(ctx, c)) }
            p.meta.energy data-source=(c.energy_data) { (ctx.t(&format!("mk.energy.{}", c.energy_data))) }
            label.compare-pick {
                input type="checkbox" name="offers" value=(c.offer_id) form="compare-form";
                " " (ctx.t("mk.compare.pick"))
            }
        }
    }
}

/// The results (`#market-results`) with the comparison form.
pub fn results(ctx: &Ctx, a: &SearchAnswer) -> Markup {
    html! {
        section #market-results data-total=(a.total) {
            h2 { (ctx.lang.tf("mk.results", &[&a.total.to_string()])) }
            p.hint { (ctx.t("mk.constraint_used")) " " code #constraint-used { (a.constraint) } }
            @if a.items.is_empty() {
                p.empty { (ctx.t("mk.none")) }
            } @else {
                form #compare-form method="get" action="/market/compare" {
                    input type="hidden" name="duration_min" value=(a.duration_min);
                    input type="hidden" name="units" value=(a.units);
                    button type="submit" { (ctx.t("mk.compare")) }
                }
                ul.cards {
                    @for c in &a.items { (card(ctx, c, a.duration_min, a.units)) }
                }
            }
        }
    }
}

/// One "why not" reason in the page's language.
pub fn why(ctx: &Ctx, w: &WhyNot) -> String {
    let lang = ctx.lang;
    match w {
        WhyNot::Constraint(f) => lang.tf(
            "mk.why.clause",
            &[
                &(f.index + 1).to_string(),
                &f.clause,
                &f.observed.join(", "),
            ],
        ),
        WhyNot::PriceAboveLimit {
            price_fen_per_min,
            max_fen_per_min,
        } => lang.tf(
            "mk.why.price",
            &[
                &lang.money(*price_fen_per_min),
                &lang.money(*max_fen_per_min),
            ],
        ),
        WhyNot::InsufficientUnits { free, wanted } => {
            lang.tf("mk.why.units", &[&free.to_string(), &wanted.to_string()])
        }
        WhyNot::NotOnline { status } => lang.tf(
            "mk.why.offline",
            &[&ctx.t(&format!("supply.status.{status}"))],
        ),
    }
}

/// "Why not" (`#market-why-not`): the first failing check of the resources not returned.
pub fn why_not(ctx: &Ctx, a: &ExplainAnswer) -> Markup {
    html! {
        section #market-why-not data-rejected=(a.rejected_total) {
            h2 { (ctx.lang.tf("mk.why.title", &[&a.rejected_total.to_string()])) }
            @if a.rejected.is_empty() {
                p.empty { (ctx.t("mk.why.none")) }
            } @else {
                ul.why {
                    @for r in &a.rejected {
                        @let reason = serde_json::to_value(&r.why).ok().and_then(|v| v["reason"].as_str().map(str::to_owned)).unwrap_or_default();
                        li data-offer=(r.card.offer_id) data-resource=(r.card.resource_id) data-reason=(reason) {
                            a href=(format!("/offers/{}", r.card.offer_id)) { (r.card.title) }
                            " · " (r.card.supplier) " · " (r.card.resource.name) ": "
                            span.reason { (why(ctx, &r.why)) }
                        }
                    }
                }
                @if a.rejected_total > a.rejected.len() {
                    p.hint { (ctx.lang.tf("mk.why.more", &[&(a.rejected_total - a.rejected.len()).to_string()])) }
                }
            }
        }
    }
}

/// A parameter's refusal in the page's language (the service's English detail kept).
pub fn param_message(ctx: &Ctx, field: &str, message: &str) -> String {
    match ctx.lang {
        crate::i18n::Lang::En => message.to_owned(),
        crate::i18n::Lang::Zh => ctx.lang.tf("mk.err.param", &[field, message]),
    }
}

/// A constraint's refusal in the page's language, naming the offending token and its
/// byte span.
pub fn constraint_message(ctx: &Ctx, e: &ConstraintError, text: &str) -> String {
    let span = e.span();
    let token = text.get(span.start..span.end).unwrap_or("");
    let at = span.to_string();
    let lang = ctx.lang;
    if lang == crate::i18n::Lang::En {
        return e.to_string();
    }
    match e {
        ConstraintError::TooLong { len, max, .. } => {
            lang.tf("mk.cerr.too_long", &[&len.to_string(), &max.to_string()])
        }
        ConstraintError::UnexpectedChar { .. } => lang.tf("mk.cerr.char", &[&at, token]),
        ConstraintError::UnterminatedString { .. } => lang.tf("mk.cerr.string", &[&at]),
        ConstraintError::BadNumber { .. } => lang.tf("mk.cerr.number", &[&at, token]),
        ConstraintError::Unexpected { .. } => {
            let found = if token.is_empty() {
                ctx.t("mk.cerr.end")
            } else {
                format!("`{token}`")
            };
            lang.tf("mk.cerr.unexpected", &[&at, &found])
        }
        ConstraintError::UnknownAttribute { .. } => lang.tf("mk.cerr.attribute", &[&at, token]),
        ConstraintError::Type { .. } => lang.tf("mk.cerr.type", &[&at, token]),
        ConstraintError::Limit { .. } => lang.tf("mk.cerr.limit", &[&at]),
    }
}
