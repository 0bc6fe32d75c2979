//! The exchange in the user console (issue 18, `docs/exchange.md`): ordering a listed
//! offer as a trade on the chain with the password (`/console/trades/new?offer=ID`), My
//! trades (`/console/trades`: the organisation's wallet, cash and chain, and its trades),
//! one trade with its chain records, access details and running cost, the rating after
//! the close, and the members' spending limits (`/console/trades/members`). Every action
//! goes through `service::trades` / `service::trade_members`.

use crate::api;
use crate::ctx::Ctx;
use crate::form::{self, FormErrors, Kind};
use crate::layout::{self, CONSOLE, csrf};
use crate::{PageResult, WebError, WebState};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::html;
use serde::Deserialize;
use suanli_platform_domain::Permission;
use suanli_platform_domain::trades::TradeStatus;
use suanli_platform_http::routes::trades::wallet_view;
use suanli_platform_http::service::trade_members as tm;
use suanli_platform_http::service::trades::{self as tr, RATING_DIMENSIONS, TradeOrder};

/// Trades on the page.
pub const TRADE_ROWS: u32 = 100;

/// The pages.
pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/console/trades", get(list))
        .route("/console/trades/new", get(new_page).post(new_post))
        .route("/console/trades/members", get(members).post(members_post))
        .route("/console/trades/{serial}", get(detail))
        .route("/console/trades/{serial}/rate", post(rate_post))
        .route("/console/trades/{serial}/stop", post(stop_post))
}

fn status_key(s: TradeStatus) -> String {
    format!("tr.status.{}", s.as_str())
}

/// `GET /console/trades`
pub async fn list(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    let a = ctx.require(Permission::AccountRead)?;
    let lang = ctx.lang;
    let trades = tr::list(&s.app, a, 0, TRADE_ROWS).await?;
    let wallet = wallet_view(&s.app, a).await?;
    let chain = wallet["chain_balance_fen"].as_i64();
    let body = html! {
        h1 { (ctx.t("tr.title")) }
        p.hint { (ctx.t("tr.hint")) }
        dl.facts #wallet data-wallet=(wallet["wallet"].as_str().unwrap_or_default()) {
            dt { (ctx.t("tr.wallet")) } dd { code { (wallet["wallet"].as_str().unwrap_or_default()) } }
            dt { (ctx.t("tr.cash")) } dd #wallet-cash data-fen=(wallet["cash_fen"].as_i64().unwrap_or(0)) { (lang.money(wallet["cash_fen"].as_i64().unwrap_or(0))) }
            dt { (ctx.t("tr.chain_balance")) } dd #wallet-chain data-fen=[chain] {
                @match chain {
                    Some(c) => { (lang.money(c)) }
                    None if wallet["chain_available"] == false => { (ctx.t("tr.chain_unavailable")) }
                    None => { (ctx.t("tr.no_wallet")) }
                }
            }
        }
        @if a.principal.has(Permission::UserManage) {
            p { a href="/console/trades/members" { (ctx.t("tr.members")) } }
        }
        p { a #statement-link href="/console/trades/statement" { (ctx.t("tb.statement")) } } // issue 18, billing
        @if trades.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
            table.data #my-trades {
                thead { tr {
                    th { (ctx.t("tr.serial")) } th { (ctx.t("tr.status")) } th { (ctx.t("tr.units")) }
                    th { (ctx.t("tr.value")) } th { (ctx.t("tr.paid")) } th { (ctx.t("tr.refunded")) }
                } }
                tbody { @for t in &trades {
                    tr data-trade=(t.serial) data-status=(t.status.as_str()) {
                        td { a href={ "/console/trades/" (t.serial) } { code { (t.serial) } } br; small { (lang.datetime(t.created_ms)) } }
                        td { (ctx.t(&status_key(t.status))) }
                        td { (t.units) " · " (t.duration_minutes) (ctx.t("tr.minutes")) @if t.payg { " · " (ctx.t("tr.payg")) } }
                        td { (lang.money(t.value.get())) }
                        td { (lang.money(t.paid.get())) }
                        td { (lang.money(t.refunded.get())) }
                    }
                } }
            }
        }
    };
    Ok(layout::page(&ctx, &ctx.t("tr.title"), Some(&CONSOLE), body))
}

/// `GET /console/trades/{serial}`
pub async fn detail(State(s): State<WebState>, ctx: Ctx, Path(serial): Path<String>) -> PageResult {
    render_detail(&s, &ctx, &serial, &FormErrors::default()).await
}

pub(crate) async fn render_detail(
    s: &WebState,
    ctx: &Ctx,
    serial: &str,
    errors: &FormErrors,
) -> PageResult {
    let a = ctx.require(Permission::AccountRead)?;
    let lang = ctx.lang;
    let d = tr::detail(&s.app, a, serial).await?;
    let bill = super::trade_bills::bill_panel(s, ctx, a, serial, errors).await; // issue 18, billing
    let t = &d.trade;
    let body = html! {
        h1 { (ctx.t("tr.trade")) " " code { (t.serial) } }
        dl.facts #trade data-serial=(t.serial) data-status=(t.status.as_str()) {
            dt { (ctx.t("tr.status")) } dd #trade-status { (ctx.t(&status_key(t.status))) }
            @if let Some(c) = &t.refusal_code { dt { (ctx.t("tr.refusal")) } dd #trade-refusal { code { (c) } " " (t.refusal_message.as_deref().unwrap_or_default()) } }
            dt { (ctx.t("tr.units")) } dd { (t.units) " · " (t.duration_minutes) (ctx.t("tr.minutes")) @if t.payg { " · " (ctx.t("tr.payg")) } }
            dt { (ctx.t("tr.value")) } dd { (lang.money(t.value.get())) }
            dt { (ctx.t("tr.escrow")) } dd #trade-escrow data-fen=(d.escrow_fen) { (lang.money(d.escrow_fen)) }
            dt { (ctx.t("tr.running_cost")) } dd #trade-cost data-fen=(d.running_cost_fen) { (lang.money(d.running_cost_fen)) }
            dt { (ctx.t("tr.paid")) } dd #trade-paid data-fen=(t.paid.get()) { (lang.money(t.paid.get())) }
            dt { (ctx.t("tr.refunded")) } dd #trade-refunded data-fen=(t.refunded.get()) { (lang.money(t.refunded.get())) }
            @if let Some(r) = &t.close_reason { dt { (ctx.t("tr.close_reason")) } dd #trade-close { (r) } }
            dt { (ctx.t("tr.tx")) } dd { code { (t.tx_ref) } }
            @if let Some(r) = &t.rating_ref { dt { (ctx.t("tr.rating")) } dd #trade-rating { code { (r) } } }
        }
        @if let Some(w) = &d.work_order {
            h2 { (ctx.t("wo.access")) }
            @match &w.access {
                Some(acc) => { dl.facts #trade-access { dt { (ctx.t("wo.address")) } dd { code { (acc.address.as_str()) } }
                    dt { (ctx.t("wo.credentials_ref")) } dd { code { (acc.credentials_ref.as_str()) } }
                    dt { (ctx.t("wo.pool_id")) } dd { code { (acc.pool_id.as_str()) } } } }
                None => { p { (ctx.t("wo.not_yet")) } }
            }
        }
        (bill)
        h2 { (ctx.t("tr.records")) }
        @match &d.chain {
            None => { p.empty { (ctx.t("tr.not_on_chain")) } }
            Some(c) => {
                table.data #trade-checkins {
                    thead { tr { th { "#" } th { (ctx.t("tr.period")) } th { (ctx.t("tr.minutes_col")) } th { (ctx.t("tr.cost")) } th { (ctx.t("tr.kind")) } } }
                    tbody { @for k in &c.checkins { tr data-checkin=(k.n) {
                        td { (k.n) } td { (lang.datetime(k.start_ms)) " – " (lang.datetime(k.end_ms)) }
                        td { (k.minutes) } td { (lang.money(k.cost_fen.get())) } td { (k.kind) }
                    } } }
                }
                @if let Some(cl) = &c.close { p #chain-close { (ctx.t("tr.closed_by")) " " (cl.by) " · " (cl.reason) " · " (ctx.t("tr.refunded")) " " (lang.money(cl.refund_fen.get())) } }
            }
        }
        @if matches!(t.status, TradeStatus::Placed | TradeStatus::Active) && a.principal.has(Permission::OrderPlace) {
            h2 { (ctx.t("tr.stop")) }
            form.stacked #stop-form method="post" action={ "/console/trades/" (t.serial) "/stop" } {
                (csrf(ctx))
                (form::field(ctx, "password", "tr.password", Kind::Password, "", errors, true))
                button.danger type="submit" { (ctx.t("tr.stop")) }
            }
        }
        @if t.status == TradeStatus::Closed && t.rating_ref.is_none() && a.principal.has(Permission::OrderPlace) {
            h2 { (ctx.t("tr.rate")) }
            (form::summary(ctx, errors))
            form.stacked #rate-form method="post" action={ "/console/trades/" (t.serial) "/rate" } {
                (csrf(ctx))
                @for dim in &d.rating_dimensions {
                    (form::field(ctx, &format!("score_{dim}"), &format!("tr.dim.{dim}"), Kind::Integer, "", errors, true))
                }
                (form::field(ctx, "password", "tr.password", Kind::Password, "", errors, true))
                button type="submit" { (ctx.t("tr.rate")) }
            }
        }
        p { a.button.secondary href="/console/trades" { (ctx.t("tr.back")) } }
    };
    let mut r = layout::page(ctx, &ctx.t("tr.trade"), Some(&CONSOLE), body);
    if !errors.is_empty() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

/// The rating form.
#[derive(Clone, Default, Deserialize)]
pub struct RateForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(flatten)]
    scores: std::collections::BTreeMap<String, String>,
}

impl std::fmt::Debug for RateForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RateForm(<redacted>)")
    }
}

/// `POST /console/trades/{serial}/rate`
pub async fn rate_post(
    State(s): State<WebState>,
    ctx: Ctx,
    Path(serial): Path<String>,
    Form(f): Form<RateForm>,
) -> PageResult {
    let a = ctx.require(Permission::OrderPlace)?;
    let mut errors = FormErrors::default();
    let mut scores = Vec::new();
    for dim in RATING_DIMENSIONS {
        let name = format!("score_{dim}");
        if let Some(v) = f.scores.get(&name).filter(|v| !v.trim().is_empty()) {
            let n = errors.int(ctx.lang, &name, v, 0, 100);
            scores.push(((*dim).to_owned(), u8::try_from(n).unwrap_or(0)));
        }
    }
    if !errors.is_empty() {
        return render_detail(&s, &ctx, &serial, &errors).await;
    }
    let password = f.scores.get("password").cloned().unwrap_or_default();
    let ip = ctx.client_ip();
    match api::run(
        &ctx,
        &f.csrf,
        tr::rate(&s.app, a, &ip, &serial, &scores, password),
    )
    .await?
    {
        Ok(t) => Ok(Redirect::to(&Ctx::notice_url(
            &format!("/console/trades/{}", t.serial),
            "tr.rated",
            &t.serial,
        ))
        .into_response()),
        Err(fail) if fail.code == "forbidden" => Err(WebError::Forbidden),
        Err(fail) => {
            errors.api(
                ctx.lang,
                &fail,
                &[("scores", "score_gpu"), ("password", "password")],
            );
            render_detail(&s, &ctx, &serial, &errors).await
        }
    }
}

/// The stop form.
#[derive(Clone, Default, Deserialize)]
pub struct StopForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    password: String,
}

impl std::fmt::Debug for StopForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StopForm(<redacted>)")
    }
}

/// `POST /console/trades/{serial}/stop`
pub async fn stop_post(
    State(s): State<WebState>,
    ctx: Ctx,
    Path(serial): Path<String>,
    Form(f): Form<StopForm>,
) -> PageResult {
    let a = ctx.require(Permission::OrderPlace)?;
    let ip = ctx.client_ip();
    match api::run(
        &ctx,
        &f.csrf,
        tr::stop(&s.app, a, &ip, &serial, f.password.clone()),
    )
    .await?
    {
        Ok(t) => Ok(Redirect::to(&Ctx::notice_url(
            &format!("/console/trades/{}", t.serial),
            "tr.stopped",
            &t.serial,
        ))
        .into_response()),
        Err(fail) if fail.code == "forbidden" => Err(WebError::Forbidden),
        Err(fail) => {
            let mut errors = FormErrors::default();
            errors.api(ctx.lang, &fail, &[("password", "password")]);
            render_detail(&s, &ctx, &serial, &errors).await
        }
    }
}

/// `?offer=` of the order page.
#[derive(Debug, Deserialize)]
pub struct NewQuery {
    offer: i64,
}

/// The order form.
#[derive(Clone, Default, Deserialize)]
pub struct OrderForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    offer_id: String,
    #[serde(default)]
    idem: String,
    #[serde(default)]
    units: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    term_minutes: String,
    #[serde(default)]
    budget_yuan: String,
    #[serde(default)]
    password: String,
}

/// Written by hand: the password and the CSRF token are redacted.
impl std::fmt::Debug for OrderForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderForm")
            .field("csrf", &"<redacted>")
            .field("offer_id", &self.offer_id)
            .field("units", &self.units)
            .field("mode", &self.mode)
            .field("term_minutes", &self.term_minutes)
            .field("budget_yuan", &self.budget_yuan)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// `GET /console/trades/new?offer=ID`
pub async fn new_page(
    State(s): State<WebState>,
    ctx: Ctx,
    Query(q): Query<NewQuery>,
) -> PageResult {
    let typed = OrderForm {
        offer_id: q.offer.to_string(),
        units: "1".into(),
        mode: "term".into(),
        term_minutes: "60".into(),
        ..OrderForm::default()
    };
    render_new(&s, &ctx, &typed, &FormErrors::default()).await
}

async fn render_new(s: &WebState, ctx: &Ctx, typed: &OrderForm, errors: &FormErrors) -> PageResult {
    let _ = ctx.require(Permission::OrderPlace)?;
    let lang = ctx.lang;
    let id: i64 = typed
        .offer_id
        .trim()
        .parse()
        .map_err(|_| WebError::NotFound)?;
    let v = suanli_platform_http::service::supply_catalog::catalogue_offer(&s.app, id).await?;
    let m = v.mode.spec.get();
    let idem = if typed.idem.is_empty() {
        hex::encode(
            suanli_platform_http::crypto::random_bytes::<16>()
                .map_err(|e| WebError::Internal(e.to_string()))?,
        )
    } else {
        typed.idem.clone()
    };
    let body = html! {
        h1 { (ctx.t("tr.order")) ": " (v.offer.title) }
        p.hint { (ctx.t("tr.order_hint")) }
        dl.facts { dt { (ctx.t("portal.supplier")) } dd { (v.supplier) }
            dt { (ctx.t("supply.f.price_fen_per_min")) } dd { (lang.money(m.price_fen_per_min)) (ctx.t("portal.per_minute")) }
            dt { (ctx.t("supply.f.min_charge_fen")) } dd { (lang.money(m.min_charge_fen)) }
            dt { (ctx.t("supply.f.units")) } dd { (v.offer.units) } }
        (form::summary(ctx, errors))
        form.stacked #trade-order method="post" action="/console/trades/new" {
            (csrf(ctx))
            input type="hidden" name="offer_id" value=(v.offer.id);
            input type="hidden" name="idem" value=(idem);
            (form::field(ctx, "units", "tr.units", Kind::Integer, &typed.units, errors, true))
            fieldset { legend { (ctx.t("tr.mode")) }
                label { input type="radio" name="mode" value="term" checked[typed.mode != "payg"]; " " (ctx.t("tr.mode_term")) }
                label { input type="radio" name="mode" value="payg" checked[typed.mode == "payg"]; " " (ctx.t("tr.payg")) }
            }
            (form::field(ctx, "term_minutes", "tr.term_minutes", Kind::Integer, &typed.term_minutes, errors, false))
            (form::field(ctx, "budget_yuan", "tr.budget", Kind::Decimal, &typed.budget_yuan, errors, false))
            (form::field(ctx, "password", "tr.password", Kind::Password, "", errors, true))
            button type="submit" { (ctx.t("tr.place")) }
        }
    };
    let mut r = layout::page(ctx, &ctx.t("tr.order"), Some(&CONSOLE), body);
    if !errors.is_empty() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

/// `POST /console/trades/new`
pub async fn new_post(State(s): State<WebState>, ctx: Ctx, Form(f): Form<OrderForm>) -> PageResult {
    let a = ctx.require(Permission::OrderPlace)?;
    let lang = ctx.lang;
    let mut errors = FormErrors::default();
    let offer_id: i64 = f.offer_id.trim().parse().map_err(|_| WebError::NotFound)?;
    let units = errors.int(lang, "units", &f.units, 1, i64::from(u32::MAX));
    let (term, budget) = if f.mode == "payg" {
        (None, errors.yuan_opt(lang, "budget_yuan", &f.budget_yuan))
    } else {
        (
            Some(errors.int(lang, "term_minutes", &f.term_minutes, 1, i64::MAX)),
            None,
        )
    };
    if f.mode == "payg" && budget.is_none() && errors.is_empty() {
        errors.add("budget_yuan", lang.t("tr.budget_needed"));
    }
    if !errors.is_empty() {
        return render_new(&s, &ctx, &f, &errors).await;
    }
    let order = TradeOrder {
        offer_id,
        units: u32::try_from(units).unwrap_or(1),
        term_minutes: term.and_then(|t| u64::try_from(t).ok()),
        budget_fen: budget,
    };
    let ip = ctx.client_ip();
    let op = tr::place(&s.app, a, &ip, Some(&f.idem), &order, f.password.clone());
    match api::run(&ctx, &f.csrf, op).await? {
        Ok(o) => Ok(Redirect::to(&Ctx::notice_url(
            &format!("/console/trades/{}", o.trade.serial),
            "tr.placed",
            &o.trade.serial,
        ))
        .into_response()),
        Err(fail) if fail.code == "forbidden" => Err(WebError::Forbidden),
        Err(fail) => {
            let fields = [
                ("units", "units"),
                ("term_minutes", "term_minutes"),
                ("budget_fen", "budget_yuan"),
                ("password", "password"),
            ];
            errors.api(lang, &fail, &fields);
            // A refused order is stored under its key (sending it again replays the
            // refusal): the corrected form goes out under a new one.
            let again = OrderForm {
                idem: String::new(),
                ..f
            };
            render_new(&s, &ctx, &again, &errors).await
        }
    }
}

/// `GET /console/trades/members`
pub async fn members(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    render_members(&s, &ctx, &FormErrors::default()).await
}

async fn render_members(s: &WebState, ctx: &Ctx, errors: &FormErrors) -> PageResult {
    let a = ctx.require(Permission::UserManage)?;
    let lang = ctx.lang;
    let rows = tm::members(&s.app, a).await?;
    let body = html! {
        h1 { (ctx.t("tr.members")) }
        p.hint { (lang.tf("tr.members_hint", &[&lang.money(suanli_platform_domain::trades::DEFAULT_MEMBER_LIMIT_FEN)])) }
        (form::summary(ctx, errors))
        table.data #member-limits {
            thead { tr { th { (ctx.t("tr.member")) } th { "DID" } th { (ctx.t("tr.limit")) } th { (ctx.t("tr.on_chain")) } th { (ctx.t("common.actions")) } } }
            tbody { @for r in &rows { tr data-user=(r.user_id) {
                td { (r.display_name) " (" (r.login) ")" }
                td { @if let Some(d) = &r.did { code.did { (d) } } }
                td { @match &r.limit { Some(l) => { (lang.money(l.limit.get())) } None => { (ctx.t("tr.default_limit")) } } }
                td { @if let Some(l) = &r.limit { @if l.chain_ref.is_some() { "✓" } @else { (ctx.t("tr.pending")) } } }
                td.actions { @if r.did.is_some() {
                    form.inline method="post" action="/console/trades/members" {
                        (csrf(ctx))
                        input type="hidden" name="user_id" value=(r.user_id);
                        input type="text" inputmode="decimal" name="limit_yuan" aria-label=(ctx.t("tr.limit")) required;
                        button type="submit" { (ctx.t("tr.set_limit")) }
                    }
                } }
            } } }
        }
    };
    let mut r = layout::page(ctx, &ctx.t("tr.members"), Some(&CONSOLE), body);
    if !errors.is_empty() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

/// The limit form.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LimitForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    user_id: i64,
    #[serde(default)]
    limit_yuan: String,
}

/// `POST /console/trades/members`
pub async fn members_post(
    State(s): State<WebState>,
    ctx: Ctx,
    Form(f): Form<LimitForm>,
) -> PageResult {
    let a = ctx.require(Permission::UserManage)?;
    let mut errors = FormErrors::default();
    let limit = errors
        .yuan_opt(ctx.lang, "limit_yuan", &f.limit_yuan)
        .unwrap_or(-1);
    if !errors.is_empty() {
        return render_members(&s, &ctx, &errors).await;
    }
    match api::run(&ctx, &f.csrf, tm::set_limit(&s.app, a, f.user_id, limit)).await? {
        Ok(_) => Ok(Redirect::to(&Ctx::notice_url(
            "/console/trades/members",
            "tr.limit_set",
            &f.limit_yuan,
        ))
        .into_response()),
        Err(fail) if fail.code == "forbidden" => Err(WebError::Forbidden),
        Err(fail) => {
            errors.api(ctx.lang, &fail, &[("limit_fen", "limit_yuan")]);
            render_members(&s, &ctx, &errors).await
        }
    }
}
