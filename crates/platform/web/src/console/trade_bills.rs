//! Bills of trades in the user console (issue 18, billing, `docs/exchange.md` §6, §7, §9):
//! a trade's bill (`/console/trades/{serial}/bill`: one line per chain check-in with its
//! record, block height and transaction, and the journal entry that followed it; the
//! running cost read from the chain at each view), the monthly statement of the
//! organisation's trades (`/console/trades/statement?period=YYYY-MM`), the top-up that
//! answers a low-funds pause (`POST /console/trades/{serial}/topup`, the password) and
//! the download of a trade's bundle (`/console/trades/{serial}/bundle`). [`panel`] is
//! what the trade's own page (`console/trades.rs`) shows of them. Every action goes
//! through `service::trade_bills` / `service::trade_notices`.

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
use maud::{Markup, html};
use serde::Deserialize;
use suanli_platform_domain::Permission;
use suanli_platform_domain::trades::TradeStatus;
use suanli_platform_http::auth::Authed;
use suanli_platform_http::routes::trade_ops::{bundle_file_name, bundle_response};
use suanli_platform_http::service::ServiceError;
use suanli_platform_http::service::trade_bills::{self as tb, LineView, TradeBill};
use suanli_platform_http::service::trade_notices as tn;

/// The pages.
pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/console/trades/statement", get(statement))
        .route("/console/trades/{serial}/bill", get(bill))
        .route("/console/trades/{serial}/bundle", get(bundle))
        .route("/console/trades/{serial}/topup", post(topup_post))
}

/// The lines of a bill (or a statement) as a table.
pub fn lines_table(ctx: &Ctx, lines: &[LineView]) -> Markup {
    let lang = ctx.lang;
    html! {
        @if lines.is_empty() { p.empty { (ctx.t("tb.no_lines")) } } @else {
            table.data #bill-lines {
                thead { tr {
                    th { (ctx.t("tr.serial")) } th { "#" } th { (ctx.t("tr.period")) } th { (ctx.t("tr.minutes_col")) }
                    th { (ctx.t("tr.cost")) } th { (ctx.t("tb.record")) } th { (ctx.t("tb.journal")) }
                } }
                tbody { @for l in lines {
                    tr data-line=(format!("{}:{}", l.line.serial, l.line.n)) data-fen=(l.line.cost.get()) {
                        td { a href={ "/console/trades/" (l.line.serial) } { code { (l.line.serial.get(..8).unwrap_or(&l.line.serial)) "…" } } }
                        td { (l.line.n) " " small { (l.line.kind) } }
                        td { (lang.datetime(l.line.start_ms)) " – " (lang.datetime(l.line.end_ms)) }
                        td { (l.line.minutes) }
                        td { (lang.money(l.line.cost.get())) }
                        td.record { (ctx.t("tb.seq")) " " (l.line.seq) " · " (ctx.t("tb.height")) " " (l.line.height)
                            br; small { code title=(l.line.tx_ref) { (l.line.tx_ref.get(..16).unwrap_or(&l.line.tx_ref)) "…" } } }
                        td { @match (l.journal_tx_id, l.journal_fen) {
                            (Some(id), Some(f)) => { "#" (id) " · " (lang.money(f)) }
                            _ if l.line.cost.is_zero() => { "—" }
                            _ => { (ctx.t("tb.not_followed")) }
                        } }
                    }
                } }
            }
        }
    }
}

/// What the trade's page shows of its bill: the running cost with a link to the lines,
/// the newest channel notice (a pause offers the top-up form) and the bundle download.
pub fn panel(ctx: &Ctx, a: &Authed, b: &TradeBill, errors: &FormErrors) -> Markup {
    let lang = ctx.lang;
    let t = &b.trade;
    let running = matches!(t.status, TradeStatus::Placed | TradeStatus::Active);
    let paused = b
        .notice
        .as_ref()
        .map(|n| &n.notice)
        .filter(|n| n.paused && running);
    html! {
        section #trade-bill-panel {
            h2 { (ctx.t("tb.bill")) }
            p { (ctx.t("tr.running_cost")) " " strong #bill-running data-fen=(b.running_cost_fen) { (lang.money(b.running_cost_fen)) }
                " · " a href={ "/console/trades/" (t.serial) "/bill" } { (ctx.t("tb.lines_link")) } }
            @if let Some(l) = &b.live {
                p #bill-live data-minutes=(l.minutes) data-fen=(l.cost_fen) {
                    (lang.tf("tb.live", &[l.minutes.to_string().as_str(), lang.money(l.cost_fen).as_str()]))
                }
            }
            @if let Some(n) = paused {
                div.notice.warning #trade-paused role="status" {
                    p { (lang.tf("tb.paused", &[lang.money(n.remaining_fen).as_str(), lang.money(n.margin_fen).as_str()])) }
                }
            }
            @if running && a.principal.has(Permission::OrderPlace) {
                h3 { (ctx.t("tb.topup")) }
                (form::summary(ctx, errors))
                form.stacked #topup-form method="post" action={ "/console/trades/" (t.serial) "/topup" } {
                    (csrf(ctx))
                    (form::field(ctx, "amount_yuan", "tb.amount", Kind::Decimal, "", errors, true))
                    (form::field(ctx, "topup_password", "tr.password", Kind::Password, "", errors, true))
                    button type="submit" { (ctx.t("tb.topup")) }
                }
            }
            @if b.on_chain {
                p { a.button.secondary #bundle-download href={ "/console/trades/" (t.serial) "/bundle" } download=(bundle_file_name(&t.serial)) { (ctx.t("tb.bundle")) } }
                p.hint { (ctx.t("tb.bundle_hint")) " " code { "suanli trade verify " (bundle_file_name(&t.serial)) } }
            }
        }
    }
}

/// [`panel`] of trade `serial` for its page; when the chain cannot be read the page says
/// so instead of failing.
pub async fn bill_panel(
    s: &WebState,
    ctx: &Ctx,
    a: &Authed,
    serial: &str,
    errors: &FormErrors,
) -> Markup {
    match tb::trade_bill(&s.app, a, serial).await {
        Ok(b) => panel(ctx, a, &b, errors),
        Err(e) => {
            tracing::warn!(%serial, error = %e, "the trade's bill could not be read");
            html! { section #trade-bill-panel { p.empty { (ctx.t("tr.chain_unavailable")) } } }
        }
    }
}

/// `GET /console/trades/{serial}/bill`
pub async fn bill(State(s): State<WebState>, ctx: Ctx, Path(serial): Path<String>) -> PageResult {
    let a = ctx.require(Permission::AccountRead)?;
    let lang = ctx.lang;
    let b = tb::trade_bill(&s.app, a, &serial).await?;
    let t = &b.trade;
    let body = html! {
        h1 { (ctx.t("tb.bill")) " " code { (t.serial) } }
        p.hint { (ctx.t("tb.hint")) }
        dl.facts #bill data-serial=(t.serial) {
            dt { (ctx.t("tr.running_cost")) } dd #bill-running data-fen=(b.running_cost_fen) { (lang.money(b.running_cost_fen)) }
            dt { (ctx.t("tb.journal_total")) } dd #bill-journal data-fen=(b.journal_fen) { (lang.money(b.journal_fen)) }
            @if b.unpaid_fen > 0 { dt { (ctx.t("tb.unpaid")) } dd #bill-unpaid data-fen=(b.unpaid_fen) { (lang.money(b.unpaid_fen)) } }
        }
        @if !b.on_chain { p.empty { (ctx.t("tr.not_on_chain")) } }
        (lines_table(&ctx, &b.lines))
        p { a.button.secondary href={ "/console/trades/" (t.serial) } { (ctx.t("tr.back")) } }
    };
    Ok(layout::page(&ctx, &ctx.t("tb.bill"), Some(&CONSOLE), body))
}

/// `?period=` of the statement.
#[derive(Debug, Default, Deserialize)]
pub struct PeriodQuery {
    #[serde(default)]
    period: Option<String>,
}

/// The answer of a service asked for a period: a bad period (`invalid_period`,
/// `too_many_trades`) is the form's message on `period`, anything else the page's error.
pub fn by_period<T>(
    r: Result<T, ServiceError>,
    ctx: &Ctx,
    errors: &mut FormErrors,
) -> Result<Option<T>, WebError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if matches!(e.code(), "invalid_period" | "too_many_trades") => {
            errors.add("period", ctx.lang.t(&format!("err.{}", e.code())));
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /console/trades/statement?period=YYYY-MM`
pub async fn statement(
    State(s): State<WebState>,
    ctx: Ctx,
    Query(q): Query<PeriodQuery>,
) -> PageResult {
    let a = ctx.require(Permission::AccountRead)?;
    let lang = ctx.lang;
    let period = q
        .period
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| tb::current_month(s.app.clock.now_unix_ms()));
    let mut errors = FormErrors::default();
    let st = by_period(
        tb::org_statement(&s.app, a, &period).await,
        &ctx,
        &mut errors,
    )?;
    let body = html! {
        h1 { (ctx.t("tb.statement")) }
        p.hint { (ctx.t("tb.statement_hint")) }
        form.inline method="get" action="/console/trades/statement" {
            (form::field(&ctx, "period", "tb.period", Kind::Text, &period, &errors, true))
            button type="submit" { (ctx.t("tb.show")) }
        }
        @if let Some(st) = &st {
            dl.facts #statement data-period=(st.period) {
                dt { (ctx.t("tb.trades")) } dd { (st.trades) }
                dt { (ctx.t("tr.minutes_col")) } dd #statement-minutes { (st.statement.minutes) }
                dt { (ctx.t("tb.total")) } dd #statement-total data-fen=(st.statement.total.get()) { (lang.money(st.statement.total.get())) }
            }
            @let lines: Vec<LineView> = st.statement.lines.iter().cloned()
                .map(|line| LineView { line, journal_tx_id: None, journal_fen: None }).collect();
            (lines_table(&ctx, &lines))
        }
        p { a.button.secondary href="/console/trades" { (ctx.t("tr.back")) } }
    };
    let mut r = layout::page(&ctx, &ctx.t("tb.statement"), Some(&CONSOLE), body);
    if !errors.is_empty() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

/// `GET /console/trades/{serial}/bundle`: the file, as the API answers it.
pub async fn bundle(State(s): State<WebState>, ctx: Ctx, Path(serial): Path<String>) -> PageResult {
    let a = ctx.require(Permission::AccountRead)?;
    let (serial, body) = tn::bundle(&s.app, a, &serial).await?;
    Ok(bundle_response(&serial, body))
}

/// The top-up form.
#[derive(Clone, Default, Deserialize)]
pub struct TopUpForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    amount_yuan: String,
    /// The password (its own name: the page's stop form has a `password` field too).
    #[serde(default)]
    topup_password: String,
}

/// Written by hand: the password and the CSRF token are redacted.
impl std::fmt::Debug for TopUpForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopUpForm")
            .field("amount_yuan", &self.amount_yuan)
            .finish_non_exhaustive()
    }
}

/// `POST /console/trades/{serial}/topup`
pub async fn topup_post(
    State(s): State<WebState>,
    ctx: Ctx,
    Path(serial): Path<String>,
    Form(f): Form<TopUpForm>,
) -> PageResult {
    let a = ctx.require(Permission::OrderPlace)?;
    let mut errors = FormErrors::default();
    let amount = errors.yuan(ctx.lang, "amount_yuan", &f.amount_yuan);
    if !errors.is_empty() {
        return super::trades::render_detail(&s, &ctx, &serial, &errors).await;
    }
    let ip = ctx.client_ip();
    match api::run(
        &ctx,
        &f.csrf,
        tn::top_up(
            &s.app,
            a,
            &ip,
            &serial,
            amount,
            f.topup_password.clone(),
            None,
        ),
    )
    .await?
    {
        Ok(t) => Ok(Redirect::to(&Ctx::notice_url(
            &format!("/console/trades/{}", t.serial),
            "tb.topped_up",
            &t.serial,
        ))
        .into_response()),
        Err(fail) if fail.code == "forbidden" => Err(WebError::Forbidden),
        Err(fail) => {
            errors.api(
                ctx.lang,
                &fail,
                &[
                    ("amount_fen", "amount_yuan"),
                    ("password", "topup_password"),
                ],
            );
            super::trades::render_detail(&s, &ctx, &serial, &errors).await
        }
    }
}
