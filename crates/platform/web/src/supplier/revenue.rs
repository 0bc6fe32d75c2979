//! `/supplier/revenue`: the supplier's earnings per trade from the chain's check-ins (and
//! how much of each is settled), its settlement statements after the operator's
//! commission, its payable, and its payouts with the payout request form
//! (`docs/supply.md` §4).

use crate::api;
use crate::ctx::Ctx;
use crate::form::{self, FormErrors, Kind};
use crate::layout::{self, SUPPLIER, csrf};
use crate::supplier::agreement::percent;
use crate::{PageResult, WebState};
use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use maud::{Markup, html};
use serde::Deserialize;
use suanli_platform_domain::Permission;
use suanli_platform_http::service::Page;
use suanli_platform_http::service::supply_money as sm;
use suanli_platform_store::{PayoutRecord, StatementRecord};

/// Statements and payouts shown.
pub const REVENUE_ROWS: u32 = 50;

/// The page's routes.
pub fn routes() -> Router<WebState> {
    Router::new().route("/supplier/revenue", get(revenue).post(payout))
}

/// A statements table (also on the operator's page).
pub fn statements_table(ctx: &Ctx, list: &[StatementRecord]) -> Markup {
    let lang = ctx.lang;
    html! {
        @if list.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
        table.data #statements {
            thead { tr {
                th { (ctx.t("sm.period")) } th { "#" } th { (ctx.t("sm.checkins")) } th { (ctx.t("sm.gross")) }
                th { (ctx.t("sm.commission")) } th { (ctx.t("sm.net")) } th { (ctx.t("sm.run_at")) }
            } }
            tbody { @for st in list {
                tr {
                    td { (st.period) } td { (st.seq) } td.num { (st.checkins) }
                    td.num { (lang.money(st.gross.get())) }
                    td.num { (lang.money(st.commission.get())) " (" (percent(st.commission_bp.get())) ")" }
                    td.num { (lang.money(st.net.get())) } td { (lang.datetime(st.run_ms)) }
                }
            } }
        }
        }
    }
}

/// A payouts table; `actions` renders the operator's buttons for a row.
pub fn payouts_table(
    ctx: &Ctx,
    list: &[PayoutRecord],
    actions: &dyn Fn(&PayoutRecord) -> Markup,
) -> Markup {
    let lang = ctx.lang;
    html! {
        @if list.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
        table.data #payouts {
            thead { tr {
                th { "#" } th { (ctx.t("stmt.amount")) } th { (ctx.t("reg.submitted")) }
                th { (ctx.t("org.status")) } th { (ctx.t("sm.reason")) } th { (ctx.t("common.actions")) }
            } }
            tbody { @for p in list {
                tr {
                    td { (p.id) } td.num { (lang.money(p.amount.get())) } td { (lang.datetime(p.requested_ms)) }
                    td { (ctx.t(&format!("sm.payout.{}", p.status.as_str()))) }
                    td { (p.reason.as_deref().unwrap_or("")) }
                    td { (actions(p)) }
                }
            } }
        }
        }
    }
}

/// The payout form: the password opens the supplier's key, which signs the transfer of
/// the amount to custody on the trade chain.
#[derive(Default, Deserialize)]
pub struct PayoutForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    password: String,
}

/// Written by hand: the password is redacted.
impl std::fmt::Debug for PayoutForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayoutForm")
            .field("amount", &self.amount)
            .field("password", &"<redacted>")
            .finish_non_exhaustive()
    }
}

async fn view(s: &WebState, ctx: &Ctx, f: &PayoutForm, e: &FormErrors) -> PageResult {
    let a = ctx.require(Permission::SupplyRead)?;
    let lang = ctx.lang;
    let r = sm::my_revenue(&s.app, a).await?;
    let payouts = sm::my_payouts(&s.app, a, Page::new(None, REVENUE_ROWS)?).await?;
    let body = html! {
        h1 { (ctx.t("sm.revenue")) }
        @if !r.chain_attached { p.notice { (ctx.t("sm.no_chain")) } }
        dl.facts {
            dt { (ctx.t("sm.gross")) } dd { (lang.money(r.ledger.settled_gross.get())) }
            dt { (ctx.t("sm.commission")) } dd { (lang.money(r.ledger.settled_commission.get())) }
            dt { (ctx.t("sm.net")) } dd { (lang.money(r.ledger.settled_net.get())) }
            dt { (ctx.t("sm.paid")) } dd { (lang.money(r.ledger.paid.get())) }
            dt { (ctx.t("sm.payable")) } dd #payable { (lang.money(r.ledger.payable.get())) }
        }
        h2 { (ctx.t("sm.per_trade")) }
        @if r.trades.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
            table.data #per-trade {
                thead { tr { th { (ctx.t("sm.serial")) } th { (ctx.t("sm.consumer")) } th { (ctx.t("sm.checkins")) } th { (ctx.t("sm.earned")) } th { (ctx.t("sm.settled")) } } }
                tbody { @for t in &r.trades {
                    tr { td { code { (t.serial) } } td { code { (t.consumer) } } td.num { (t.checkins) }
                         td.num { (lang.money(t.earned_fen.get())) } td.num { (lang.money(t.settled_fen.get())) } }
                } }
            }
        }
        h2 { (ctx.t("sm.statements")) }
        (statements_table(ctx, &r.statements))
        h2 { (ctx.t("sm.payouts")) }
        (payouts_table(ctx, &payouts, &|_| html! {}))
        @if a.principal.has(Permission::SupplyManage) {
            h2 { (ctx.t("sm.request_payout")) }
            (form::summary(ctx, e))
            form method="post" action="/supplier/revenue" novalidate {
                (csrf(ctx))
                (form::field(ctx, "amount", "account.amount", Kind::Decimal, &f.amount, e, true))
                p.hint { (ctx.t("sm.payout_password_hint")) }
                (form::field(ctx, "password", "supply.password", Kind::Password, "", e, true))
                div.actions { button type="submit" { (ctx.t("common.submit")) } }
            }
        }
    };
    Ok(layout::page(
        ctx,
        &ctx.t("sm.revenue"),
        Some(&SUPPLIER),
        body,
    ))
}

/// `GET /supplier/revenue`
pub async fn revenue(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    view(&s, &ctx, &PayoutForm::default(), &FormErrors::default()).await
}

/// `POST /supplier/revenue`: request a payout.
pub async fn payout(State(s): State<WebState>, ctx: Ctx, Form(f): Form<PayoutForm>) -> PageResult {
    let a = ctx.require(Permission::SupplyManage)?;
    let lang = ctx.lang;
    let mut e = FormErrors::default();
    let amount = e.yuan(lang, "amount", &f.amount);
    if e.is_empty() {
        let action = ("POST /api/v1/supplier/payouts", "/api/v1/supplier/payouts");
        let ip = ctx.client_ip();
        let ask = sm::request_payout(&s.app, a, amount, &ip, f.password.clone());
        match api::run_as(&ctx, &f.csrf, action, ask).await? {
            Ok(_) => {
                return Ok(Redirect::to(&Ctx::notice_url(
                    "/supplier/revenue",
                    "sm.payout_requested",
                    "",
                ))
                .into_response());
            }
            Err(fail) => e.api(
                lang,
                &fail,
                &[("amount_fen", "amount"), ("password", "password")],
            ),
        }
    }
    let mut r = view(&s, &ctx, &f, &e).await?;
    *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(r)
}
