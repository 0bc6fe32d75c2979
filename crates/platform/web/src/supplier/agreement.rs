//! `/supplier/agreement`: the supplier's supply agreement versions (text, sales mode,
//! commission, settlement period) and accepting the newest one (`docs/supply.md` §4).

use crate::api;
use crate::ctx::Ctx;
use crate::form::api_message;
use crate::layout::{self, SUPPLIER, csrf};
use crate::{PageResult, WebState};
use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use maud::html;
use serde::Deserialize;
use suanli_platform_domain::Permission;
use suanli_platform_http::service::supply_money as sm;

/// The page's routes.
pub fn routes() -> Router<WebState> {
    Router::new().route("/supplier/agreement", get(agreement).post(accept))
}

/// Basis points as a percentage (`1000` → `10.00%`).
pub fn percent(bp: u32) -> String {
    format!("{}.{:02}%", bp / 100, bp % 100)
}

async fn view(s: &WebState, ctx: &Ctx, error: Option<String>) -> PageResult {
    let a = ctx.require(Permission::SupplyRead)?;
    let lang = ctx.lang;
    let list = sm::my_agreements(&s.app, a).await?;
    let can_accept = a.principal.has(Permission::SupplyManage);
    let body = html! {
        h1 { (ctx.t("sm.agreement")) }
        @if let Some(m) = &error { div.form-errors role="alert" { p { (m) } } }
        @if list.is_empty() { p.empty { (ctx.t("sm.no_agreement")) } }
        @for (i, g) in list.iter().enumerate() {
            section.card {
                h2 { (ctx.t("sm.version")) " " (g.version) }
                dl.facts {
                    dt { (ctx.t("sm.sales_mode")) } dd { (ctx.t(&format!("sm.mode.{}", g.sales_mode.as_str()))) }
                    dt { (ctx.t("sm.commission")) } dd { (percent(g.commission.get())) }
                    dt { (ctx.t("sm.settlement_period")) } dd { (ctx.t(&format!("sm.period.{}", g.period.as_str()))) }
                    dt { (ctx.t("org.status")) } dd {
                        @match g.accepted_ms {
                            Some(t) => { (ctx.t("sm.accepted")) " " (lang.datetime(t)) },
                            None => (ctx.t("sm.not_accepted")),
                        }
                    }
                }
                pre.agreement { (g.body) }
                @if i == 0 && g.accepted_ms.is_none() && can_accept {
                    form.inline method="post" action="/supplier/agreement" {
                        (csrf(ctx))
                        input type="hidden" name="id" value=(g.id);
                        button type="submit" { (ctx.t("sm.accept")) }
                    }
                }
            }
        }
    };
    Ok(layout::page(
        ctx,
        &ctx.t("sm.agreement"),
        Some(&SUPPLIER),
        body,
    ))
}

/// `GET /supplier/agreement`
pub async fn agreement(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    view(&s, &ctx, None).await
}

/// The accept form.
#[derive(Debug, Default, Deserialize)]
pub struct AcceptForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    id: String,
}

/// `POST /supplier/agreement`: accept the newest version.
pub async fn accept(State(s): State<WebState>, ctx: Ctx, Form(f): Form<AcceptForm>) -> PageResult {
    let a = ctx.require(Permission::SupplyManage)?;
    let id: i64 = f.id.trim().parse().map_err(|_| crate::WebError::NotFound)?;
    let target = format!("/api/v1/supplier/agreements/{id}/accept");
    let action = (
        "POST /api/v1/supplier/agreements/{id}/accept",
        target.as_str(),
    );
    match api::run_as(&ctx, &f.csrf, action, sm::accept_agreement(&s.app, a, id)).await? {
        Ok(_) => Ok(Redirect::to(&Ctx::notice_url(
            "/supplier/agreement",
            "sm.accepted_notice",
            "",
        ))
        .into_response()),
        Err(fail) if fail.status == axum::http::StatusCode::NOT_FOUND => {
            Err(crate::WebError::NotFound)
        }
        Err(fail) => view(&s, &ctx, Some(api_message(ctx.lang, &fail))).await,
    }
}
