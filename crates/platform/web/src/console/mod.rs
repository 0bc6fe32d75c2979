//! The user console: overview (real-name status, balances, expiry reminders), account
//! centre with recharge, ordering with the price breakdown before confirming, resources
//! with renew and unsubscribe (refund shown first), orders, statements, bills with CSV
//! export, sub-users and API tokens.
//!
//! This file holds the overview and the account centre; the other sections are files
//! beside it: `ordering`, `resources`, `lists` (orders, statements, bills), `team`
//! (sub-users, API tokens) and `mfa` (two-step verification).

use crate::api;
use crate::ctx::Ctx;
use crate::form::{self, FormErrors, Kind};
use crate::i18n::Lang;
use crate::layout::{self, CONSOLE, csrf};
use crate::portal::{bp_percent, pricing_view};
use crate::{PageResult, WebError, WebState};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::json;
use suanli_platform_domain::instance::InstanceStatus;
use suanli_platform_domain::money::Fen;
use suanli_platform_domain::pricing::{ChargingMode, TERM_MONTHS_MAX};
use suanli_platform_domain::{Permission, Role};
use suanli_platform_http::service::accounts::{self, BillRequest};
use suanli_platform_http::service::me::{self, TokenDraft};
use suanli_platform_http::service::orders::{self, Idem, NewOrder};
use suanli_platform_http::service::users::{self, UserDraft};
use suanli_platform_http::service::{self, ServiceError, catalogue, keys, payments};
use suanli_platform_store::{
    InstanceRecord, OrderRecord, PAGE_SIZE_MAX, ProductRecord, SpecRecord, UserKeyRecord,
};

pub use suanli_platform_http::service::accounts::parse_date;

/// Rows per page of the console's lists.
pub const LIST_PAGE_ROWS: u32 = 50;
/// Days before expiry from which a resource is flagged as expiring soon.
pub const EXPIRY_WARNING_DAYS: i64 = 7;
/// Longest API-token lifetime offered by the form, in days.
pub const TOKEN_TTL_DAYS_MAX: i64 = 365;

/// A cursor query.
#[derive(Debug, Default, Deserialize)]
pub struct Page {
    #[serde(default)]
    after: Option<i64>,
}

fn status_key(s: InstanceStatus) -> String {
    format!("status.{}", s.as_str())
}

fn mode_key(m: ChargingMode) -> String {
    format!("mode.{}", m.as_str())
}

/// `GET /console`
pub async fn overview(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    let a = ctx.user()?;
    let lang = ctx.lang;
    let can_money = a.principal.has(Permission::AccountRead) && a.org.kind.is_customer();
    let (balances, messages) = if can_money {
        (
            Some(accounts::own_balances(&s.app, a).await?),
            accounts::recent_messages(&s.app, a, LIST_PAGE_ROWS).await?,
        )
    } else {
        (None, Vec::new())
    };
    let body = html! {
        h1 { (lang.tf("console.welcome", &[&a.user.display_name])) }
        dl.facts {
            dt { (ctx.t("console.org")) } dd { (a.org.name) " · " (ctx.t(&format!("org.kind.{}", a.org.kind.as_str()))) }
            dt { (ctx.t("console.realname")) } dd { (ctx.t(&format!("org.status.{}", a.org.status.as_str()))) }
        }
        @if let Some(b) = balances {
            (balance_cards(lang, &b))
        }
        @if can_money {
            h2 { (ctx.t("console.messages")) }
            @if messages.is_empty() { p.empty { (ctx.t("console.no_messages")) } }
            ul.messages {
                @for m in messages.iter().rev() {
                    li { time { (lang.datetime(m.created_ms)) } " " (m.body) }
                }
            }
        }
    };
    Ok(layout::page(
        &ctx,
        &ctx.t("console.overview"),
        Some(&CONSOLE),
        body,
    ))
}

fn balance_cards(lang: Lang, b: &suanli_platform_domain::journal::Balances) -> Markup {
    html! {
        ul.balances {
            li { span { (lang.t("account.cash")) } strong #bal-cash { (lang.money(b.cash_fen)) } }
            li { span { (lang.t("account.voucher")) } strong #bal-voucher { (lang.money(b.voucher_fen)) } }
            li { span { (lang.t("account.credit")) } strong #bal-credit { (lang.money(b.credit_line_fen)) } }
            li { span { (lang.t("account.credit_available")) } strong { (lang.money(b.credit_available().get())) } }
            li { span { (lang.t("account.frozen")) } strong #bal-frozen { (lang.money(b.frozen_fen)) } }
            li { span { (lang.t("account.spendable")) } strong { (lang.money(b.spendable().get())) } }
        }
    }
}

/// `GET /console/account`: balances, recharge; the place where DID key export will go.
pub async fn account(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    let a = ctx.require(Permission::AccountRead)?;
    let b = accounts::own_balances(&s.app, a).await?;
    let key = keys::mine(&s.app, a).await?;
    Ok(account_view(
        &ctx,
        &b,
        "",
        &FormErrors::default(),
        key.as_ref(),
    ))
}

fn account_view(
    ctx: &Ctx,
    b: &suanli_platform_domain::journal::Balances,
    amount: &str,
    errors: &FormErrors,
    key: Option<&UserKeyRecord>,
) -> Response {
    let body = html! {
        h1 { (ctx.t("console.account")) }
        (balance_cards(ctx.lang, b))
        @if ctx.has(Permission::OrderPlace) {
            section {
                h2 { (ctx.t("account.recharge")) }
                p.sandbox { (ctx.t("account.sandbox")) }
                (form::summary(ctx, errors))
                form method="post" action="/console/recharge" novalidate {
                    (csrf(ctx))
                    (form::field(ctx, "amount", "account.amount", Kind::Decimal, amount, errors, true))
                    div.actions { button type="submit" { (ctx.t("account.recharge_submit")) } }
                }
            }
        }
        p { a href="/console/statements" { (ctx.t("console.statements")) } " · " a href="/console/bills" { (ctx.t("console.bills")) } }
        (key_section(ctx, key, errors))
    };
    layout::page(ctx, &ctx.t("console.account"), Some(&CONSOLE), body)
}

/// The user's DID key (docs/key-custody.md): which DID and key sign the user's chain
/// records, whether the DID is on the identity chain yet, and the export form (the
/// password again; the API checks it, counts failures and audits the export).
fn key_section(ctx: &Ctx, key: Option<&UserKeyRecord>, errors: &FormErrors) -> Markup {
    html! {
        section #did-keys {
            h2 { (ctx.t("account.keys")) }
            @match key {
                None => p.hint #key-none { (ctx.t("account.key_none")) },
                Some(k) => {
                    p #key-signing { (ctx.t("account.key_signing")) }
                    dl {
                        dt { (ctx.t("account.key_did")) }
                        dd #key-did { code { (k.did.as_deref().unwrap_or("—")) } }
                        dt { (ctx.t("account.key_public")) }
                        dd #key-public { code { (k.public_key) } }
                        dt { (ctx.t("account.key_state")) }
                        dd #key-state {
                            @if k.did_created_ms.is_some() { (ctx.t("account.key_on_chain")) }
                            @else { (ctx.t("account.key_pending")) }
                        }
                    }
                    p.hint { (ctx.t("account.key_custody")) }
                    form method="post" action="/console/key-export" novalidate {
                        (csrf(ctx))
                        (form::field(ctx, "key_password", "account.key_password", Kind::Password, "", errors, true))
                        div.actions { button #key-export type="submit" { (ctx.t("account.key_export")) } }
                    }
                }
            }
        }
    }
}

/// The key export form.
#[derive(Default, Deserialize)]
pub struct KeyExportForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    key_password: String,
}

/// Written by hand: the secrets are redacted.
impl std::fmt::Debug for KeyExportForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyExportForm")
            .field("csrf", &"<redacted>")
            .field("key_password", &"<redacted>")
            .finish()
    }
}

/// `POST /console/key-export`: the user's DID key as a PKCS#8 PEM download, after the API
/// checked the password; a wrong password is shown next to the field.
pub async fn key_export(
    State(s): State<WebState>,
    ctx: Ctx,
    Form(f): Form<KeyExportForm>,
) -> PageResult {
    let a = ctx.require(Permission::AccountRead)?;
    let lang = ctx.lang;
    let mut e = FormErrors::default();
    if f.key_password.is_empty() {
        e.add("key_password", lang.t("err.required"));
    } else {
        let ip = ctx.peer.map(|p| p.ip().to_string()).unwrap_or_default();
        let exported = keys::export(&s.app, a, &ip, f.key_password.clone());
        match api::run(&ctx, &f.csrf, exported).await? {
            Ok(x) => {
                let pem = x.pkcs8_pem.as_str().to_owned();
                if !pem.is_empty() {
                    return Ok((
                        [
                            (header::CONTENT_TYPE, "application/x-pem-file"),
                            (header::CACHE_CONTROL, "no-store"),
                            (
                                header::CONTENT_DISPOSITION,
                                "attachment; filename=\"suanli-did-key.pem\"",
                            ),
                        ],
                        pem,
                    )
                        .into_response());
                }
                e.add("key_password", lang.t("account.key_export_failed"));
            }
            Err(fail) => e.api(lang, &fail, &[("password", "key_password")]),
        }
    }
    // The key section alone: balances exist only in customer organisations, a key in
    // every one.
    let key = keys::mine(&s.app, a).await?;
    let body = html! {
        h1 { (ctx.t("console.account")) }
        (key_section(&ctx, key.as_ref(), &e))
    };
    let mut r = layout::page(&ctx, &ctx.t("console.account"), Some(&CONSOLE), body);
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(r)
}

/// The recharge form.
#[derive(Debug, Default, Deserialize)]
pub struct RechargeForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    amount: String,
}

/// `POST /console/recharge`: a sandbox recharge (start, then the sandbox pays).
pub async fn recharge(
    State(s): State<WebState>,
    ctx: Ctx,
    Form(f): Form<RechargeForm>,
) -> PageResult {
    let a = ctx.require(Permission::OrderPlace)?;
    let lang = ctx.lang;
    let mut e = FormErrors::default();
    let fen = e.yuan(lang, "amount", &f.amount);
    if e.is_empty() {
        // Start the recharge, then the sandbox "bank" pays it: two operations, audited
        // one by one as the API names them.
        let action = ("POST /api/v1/recharges", "/api/v1/recharges");
        let started = api::run_as(
            &ctx,
            &f.csrf,
            action,
            payments::start_recharge(&s.app, a, fen),
        )
        .await?;
        let paid = match started {
            Ok(started) => {
                let id = started.payment.id;
                let target = format!("/api/v1/recharges/{id}/sandbox-pay");
                let action = ("POST /api/v1/recharges/{id}/sandbox-pay", target.as_str());
                api::run_as(&ctx, &f.csrf, action, payments::sandbox_pay(&s.app, a, id)).await?
            }
            Err(fail) => Err(fail),
        };
        match paid {
            Ok(_) => {
                return Ok(Redirect::to(&Ctx::notice_url(
                    "/console/account",
                    "account.recharged",
                    &lang.money(fen),
                ))
                .into_response());
            }
            Err(fail) => e.api(lang, &fail, &[("amount_fen", "amount")]),
        }
    }
    let b = accounts::own_balances(&s.app, a).await?;
    let key = keys::mine(&s.app, a).await?;
    let mut r = account_view(&ctx, &b, &f.amount, &e, key.as_ref());
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(r)
}

mod lists;
mod mfa;
mod ordering;
mod resources;
mod team;
// Issue 16, the agent's part: access details of work orders.
pub mod work_orders;
// Issue 18, H-trades: the exchange.
pub mod trades;
// Issue 18, billing: bills, statement, top-up, bundle download.
pub mod trade_bills;

pub use lists::*;
pub use mfa::*;
pub use ordering::*;
pub use resources::*;
pub use team::*;
