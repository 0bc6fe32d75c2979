//! The user console: overview (real-name status, balances, expiry reminders), account
//! centre with recharge, ordering with the price breakdown before confirming, resources
//! with renew and unsubscribe (refund shown first), orders, statements, bills with CSV
//! export, sub-users and API tokens.

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
#[derive(Debug, Default, Deserialize)]
pub struct KeyExportForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    key_password: String,
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
    let b = accounts::own_balances(&s.app, a).await?;
    let key = keys::mine(&s.app, a).await?;
    let mut r = account_view(&ctx, &b, "", &e, key.as_ref());
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
        // Start the recharge, then the sandbox "bank" pays it.
        let paid = api::run(&ctx, &f.csrf, async {
            let started = payments::start_recharge(&s.app, a, fen).await?;
            payments::sandbox_pay(&s.app, a, started.payment.id).await
        })
        .await?;
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

// ---------------------------------------------------------------- ordering

/// The order form (both steps).
#[derive(Debug, Default, Deserialize)]
pub struct OrderForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    spec: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    months: String,
    #[serde(default)]
    quantity: String,
    #[serde(default)]
    coupon: String,
    /// `preview` or `confirm`.
    #[serde(default)]
    step: String,
    #[serde(default)]
    idem: String,
}

async fn orderable_spec(s: &WebState, spec: &str) -> Result<(SpecRecord, ProductRecord), WebError> {
    let id: i64 = spec.trim().parse().map_err(|_| WebError::NotFound)?;
    Ok(orders::orderable_spec(&s.app, id).await?)
}

/// `GET /console/order?spec=ID`
pub async fn order_page(
    State(s): State<WebState>,
    ctx: Ctx,
    Query(f): Query<OrderForm>,
) -> PageResult {
    ctx.require(Permission::OrderPlace)?;
    let (sp, p) = orderable_spec(&s, &f.spec).await?;
    Ok(order_form_view(&ctx, &sp, &p, &f, &FormErrors::default()))
}

fn order_form_view(
    ctx: &Ctx,
    sp: &SpecRecord,
    p: &ProductRecord,
    f: &OrderForm,
    e: &FormErrors,
) -> Response {
    let mut modes = Vec::new();
    if sp.pricing.prepaid.is_some() {
        modes.push(("prepaid".to_owned(), ctx.t("mode.prepaid")));
    }
    if sp.pricing.payg.is_some() {
        modes.push(("payg".to_owned(), ctx.t("mode.payg")));
    }
    let mode = if f.mode.is_empty() {
        modes.first().map_or("", |m| m.0.as_str())
    } else {
        f.mode.as_str()
    };
    let months = if f.months.is_empty() { "1" } else { &f.months };
    let quantity = if f.quantity.is_empty() {
        "1"
    } else {
        &f.quantity
    };
    let body = html! {
        h1 { (ctx.t("order.title")) ": " (p.name) " · " (sp.family) " " (sp.name) }
        (pricing_view(ctx.lang, &sp.pricing))
        (form::summary(ctx, e))
        form method="post" action="/console/order" novalidate {
            (csrf(ctx))
            input type="hidden" name="spec" value=(sp.id);
            (form::select(ctx, "mode", "order.mode", &modes, mode, e))
            (form::field(ctx, "months", "order.months", Kind::Integer, months, e, false))
            (form::field(ctx, "quantity", "order.quantity", Kind::Integer, quantity, e, true))
            (form::field(ctx, "coupon", "order.coupon", Kind::Text, &f.coupon, e, false))
            div.actions {
                button #preview-order type="submit" name="step" value="preview" { (ctx.t("order.preview")) }
                button #add-to-cart.secondary type="submit" name="step" value="cart" { (ctx.t("cart.add")) }
            }
        }
    };
    layout::page(ctx, &ctx.t("order.title"), Some(&CONSOLE), body)
}

/// `POST /console/order`: `step=preview` shows the price breakdown (the same pricing
/// function the store charges with); `step=confirm` places the order through the API.
pub async fn order_post(
    State(s): State<WebState>,
    ctx: Ctx,
    Form(f): Form<OrderForm>,
) -> PageResult {
    let a = ctx.require(Permission::OrderPlace)?;
    let lang = ctx.lang;
    let (sp, p) = orderable_spec(&s, &f.spec).await?;
    let mut e = FormErrors::default();
    let mode = match ChargingMode::parse(&f.mode) {
        Some(m) => m,
        None => {
            e.add("mode", lang.t("err.choose"));
            ChargingMode::Prepaid
        }
    };
    let months = if mode == ChargingMode::Prepaid {
        u32::try_from(e.int(lang, "months", &f.months, 1, i64::from(TERM_MONTHS_MAX))).unwrap_or(1)
    } else {
        0
    };
    let quantity = u32::try_from(e.int(
        lang,
        "quantity",
        &f.quantity,
        1,
        i64::from(suanli_platform_domain::pricing::QUANTITY_MAX),
    ))
    .unwrap_or(1);
    let coupon = f.coupon.trim().to_owned();
    let mut breakdown = None;
    if e.is_empty() {
        match orders::quote(&s.app, a, &sp, &p, mode, months, quantity).await {
            Ok(b) => breakdown = Some(b),
            Err(ServiceError::Invalid { message, .. }) => {
                e.add("mode", format!("{} ({message})", lang.t("err.rejected")));
            }
            Err(other) => return Err(other.into()),
        }
    }
    let Some(b) = breakdown else {
        let mut r = order_form_view(&ctx, &sp, &p, &f, &e);
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(r);
    };
    if f.step == "cart" {
        let owner = ctx.user()?.user.id.get();
        let mut cart = crate::cart::Cart::of(&ctx.headers, owner);
        let added = cart.add(crate::cart::Item {
            spec: sp.id,
            mode,
            months,
            quantity,
        });
        if !added {
            e.general = Some(lang.tf("cart.full", &[&crate::cart::CART_ITEMS_MAX.to_string()]));
            let mut r = order_form_view(&ctx, &sp, &p, &f, &e);
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(r);
        }
        let mut r =
            Redirect::to(&Ctx::notice_url("/console/cart", "cart.added", "")).into_response();
        cart.set_cookie(&mut r, owner);
        return Ok(r);
    }
    if f.step == "confirm" {
        let req = NewOrder {
            spec_id: sp.id,
            mode,
            months,
            quantity,
            coupon: (!coupon.is_empty()).then(|| coupon.clone()),
        };
        let idem = if f.idem.is_empty() {
            form::idempotency_key()
        } else {
            f.idem.clone()
        };
        let placed = api::run(&ctx, &f.csrf, async {
            let idem = Idem::of_request(&idem, "/api/v1/orders", &req)?;
            orders::place(&s.app, a, idem, &req).await
        })
        .await?;
        match placed {
            Ok(o) => {
                return Ok(Redirect::to(&Ctx::notice_url(
                    "/console/resources",
                    "order.done",
                    &format!("{} / #{}", o.order.id, o.instance.id),
                ))
                .into_response());
            }
            Err(fail) => {
                e.api(
                    lang,
                    &fail,
                    &[
                        ("coupon", "coupon"),
                        ("months", "months"),
                        ("quantity", "quantity"),
                        ("mode", "mode"),
                    ],
                );
                let mut r = order_form_view(&ctx, &sp, &p, &f, &e);
                *r.status_mut() = fail.status;
                return Ok(r);
            }
        }
    }
    let idem = form::idempotency_key();
    let body = html! {
        h1 { (ctx.t("order.breakdown")) }
        p { (p.name) " · " (sp.family) " " (sp.name) " · " (ctx.t(&mode_key(mode))) " · "
            @if mode == ChargingMode::Prepaid { (months) " × " } (ctx.t("order.quantity")) " " (quantity) }
        table.breakdown #breakdown {
            tbody {
                @if mode == ChargingMode::Prepaid {
                    tr { th { (ctx.t("order.list")) } td { (lang.money(b.list_fen.get())) } }
                    @for st in &b.steps {
                        tr { th { (ctx.t(&format!("order.step.{}", st.kind))) } td { "−" (lang.money(st.off_fen.get())) } }
                    }
                    tr.total { th { (ctx.t("order.total")) } td #order-total { (lang.money(b.total_fen.get())) } }
                } @else {
                    tr.total { th { (ctx.t("order.deposit")) } td #order-total { (lang.money(b.deposit_fen.get())) } }
                }
            }
        }
        @if !coupon.is_empty() { p.hint { (lang.tf("order.coupon_note", &[&coupon])) } }
        form method="post" action="/console/order" {
            (csrf(&ctx))
            input type="hidden" name="spec" value=(sp.id);
            input type="hidden" name="mode" value=(mode.as_str());
            input type="hidden" name="months" value=(months);
            input type="hidden" name="quantity" value=(quantity);
            input type="hidden" name="coupon" value=(coupon);
            input type="hidden" name="idem" value=(idem);
            input type="hidden" name="step" value="confirm";
            div.actions {
                button #confirm-order type="submit" { (ctx.t("order.confirm")) }
                a.button.secondary href=(format!("/console/order?spec={}", sp.id)) { (ctx.t("order.back")) }
            }
        }
    };
    Ok(layout::page(
        &ctx,
        &ctx.t("order.breakdown"),
        Some(&CONSOLE),
        body,
    ))
}

// ---------------------------------------------------------------- resources

/// Product and spec names for a page of rows: two queries.
pub(crate) async fn catalogue_names(
    s: &WebState,
    product_ids: impl Iterator<Item = i64>,
) -> Result<(Vec<ProductRecord>, Vec<SpecRecord>), WebError> {
    let ids: Vec<i64> = product_ids.collect();
    Ok(catalogue::names(&s.app, &ids).await?)
}

/// A page of the console's lists.
fn rows(pg: &Page) -> service::Page {
    service::Page {
        after: pg.after.unwrap_or(0),
        limit: LIST_PAGE_ROWS,
    }
}

/// `product / family name` of a row.
pub fn spec_label(products: &[ProductRecord], specs: &[SpecRecord], pid: i64, sid: i64) -> String {
    let p = products
        .iter()
        .find(|p| p.id == pid)
        .map_or_else(|| format!("#{pid}"), |p| p.name.clone());
    let sp = specs
        .iter()
        .find(|s| s.id == sid)
        .map_or_else(|| format!("#{sid}"), |s| format!("{} {}", s.family, s.name));
    format!("{p} / {sp}")
}

/// `GET /console/resources`
pub async fn resources(State(s): State<WebState>, ctx: Ctx, Query(pg): Query<Page>) -> PageResult {
    let a = ctx.require(Permission::AccountRead)?;
    let lang = ctx.lang;
    let list = accounts::instances(&s.app, a, a.org.id.get(), rows(&pg)).await?;
    let (products, specs) = catalogue_names(&s, list.iter().map(|i| i.product_id)).await?;
    let now = s.app.clock.now_unix_ms();
    let can_order = ctx.has(Permission::OrderPlace);
    let body = html! {
        h1 { (ctx.t("console.resources")) }
        @if list.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
        table.data #resources {
            thead { tr {
                th { (ctx.t("res.id")) } th { (ctx.t("res.product")) } th { (ctx.t("order.mode")) }
                th { (ctx.t("res.status")) } th { (ctx.t("res.expires")) } th { (ctx.t("res.access")) } th { (ctx.t("res.actions")) }
            } }
            tbody {
                @for i in &list {
                    tr data-instance=(i.id) {
                        td { "#" (i.id) }
                        td { (spec_label(&products, &specs, i.product_id, i.spec_id)) " × " (i.quantity) }
                        td { (ctx.t(&mode_key(i.mode))) }
                        td.status { (ctx.t(&status_key(i.status))) }
                        td {
                            @if let Some(e) = i.ends_ms {
                                (lang.date(e))
                                @if i.status != InstanceStatus::Released && e > now && e - now < EXPIRY_WARNING_DAYS * suanli_platform_domain::money::DAY_MS {
                                    " " span.badge.warn { (ctx.t("res.expiring")) }
                                }
                            } @else { (ctx.t("common.none")) }
                        }
                        td { (i.access_address.clone().unwrap_or_else(|| ctx.t("common.none"))) }
                        td.actions {
                            @if can_order && i.status != InstanceStatus::Released {
                                @if i.mode == ChargingMode::Prepaid && i.status != InstanceStatus::Pending {
                                    form.inline method="post" action=(format!("/console/resources/{}/renew", i.id)) {
                                        (csrf(&ctx))
                                        input type="hidden" name="idem" value=(form::idempotency_key());
                                        label.visually-hidden for=(format!("renew-{}", i.id)) { (ctx.t("order.months")) }
                                        input.small id=(format!("renew-{}", i.id)) name="months" value="1" inputmode="numeric" size="2";
                                        button type="submit" { (ctx.t("res.renew")) }
                                    }
                                }
                                a.button.secondary href=(format!("/console/resources/{}/unsubscribe", i.id)) { (ctx.t("res.unsubscribe")) }
                            }
                        }
                    }
                }
            }
        }
        @if list.len() == LIST_PAGE_ROWS as usize {
            @if let Some(last) = list.last() { a href=(format!("/console/resources?after={}", last.id)) { (ctx.t("list.next")) } }
        }
        }
    };
    Ok(layout::page(
        &ctx,
        &ctx.t("console.resources"),
        Some(&CONSOLE),
        body,
    ))
}

async fn own_instance(s: &WebState, ctx: &Ctx, id: i64) -> Result<InstanceRecord, WebError> {
    let a = ctx.require(Permission::OrderPlace)?;
    Ok(orders::instance(&s.app, a, id).await?)
}

/// The refund an unsubscribe gives now (prepaid), with the days counted.
fn refund_preview(i: &InstanceRecord, now: i64) -> Option<(Fen, i64, i64)> {
    if i.mode != ChargingMode::Prepaid {
        return None;
    }
    let paid = i.paid.total().ok()?;
    if i.status == InstanceStatus::Pending {
        return Some((paid, 0, 0));
    }
    let end = i.ends_ms?;
    let (total, used) = suanli_platform_domain::proration::days(i.span_start_ms, end, now);
    let refund =
        suanli_platform_domain::proration::refund_amount(paid, i.span_start_ms, end, now).ok()?;
    Some((refund, used, total))
}

/// `GET /console/resources/{id}/unsubscribe`: the refund, then a confirm button.
pub async fn unsubscribe_page(
    State(s): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> PageResult {
    let i = own_instance(&s, &ctx, id).await?;
    if i.status == InstanceStatus::Released {
        return Err(WebError::NotFound);
    }
    Ok(unsubscribe_view(
        &ctx,
        &i,
        s.app.clock.now_unix_ms(),
        &FormErrors::default(),
    ))
}

fn unsubscribe_view(ctx: &Ctx, i: &InstanceRecord, now: i64, e: &FormErrors) -> Response {
    let lang = ctx.lang;
    let body = html! {
        h1 { (ctx.t("res.unsub.title")) " #" (i.id) }
        (form::summary(ctx, e))
        @match refund_preview(i, now) {
            Some((refund, used, total)) => {
                dl.facts {
                    dt { (ctx.t("res.unsub.refund")) } dd #refund { (lang.money(refund.get())) }
                    dt { (ctx.t("res.expires")) } dd { (i.ends_ms.map(|e| lang.date(e)).unwrap_or_default()) }
                    dt { "" } dd { (lang.tf("res.unsub.days", &[&used.to_string(), &total.to_string()])) }
                }
            }
            None => { p { (ctx.t("res.unsub.payg")) } }
        }
        form method="post" action=(format!("/console/resources/{}/unsubscribe", i.id)) {
            (csrf(ctx))
            input type="hidden" name="idem" value=(form::idempotency_key());
            div.actions {
                button #confirm-unsubscribe.danger type="submit" { (ctx.t("res.unsub.confirm")) }
                a.button.secondary href="/console/resources" { (ctx.t("order.back")) }
            }
        }
    };
    layout::page(ctx, &ctx.t("res.unsub.title"), Some(&CONSOLE), body)
}

/// An order operation's form on a resource.
#[derive(Debug, Default, Deserialize)]
pub struct ResourceForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    idem: String,
    #[serde(default)]
    months: String,
}

/// `POST /console/resources/{id}/unsubscribe`
pub async fn unsubscribe_post(
    State(s): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<ResourceForm>,
) -> PageResult {
    let i = own_instance(&s, &ctx, id).await?;
    let idem = if f.idem.is_empty() {
        form::idempotency_key()
    } else {
        f.idem.clone()
    };
    let a = ctx.user()?;
    let path = format!("/api/v1/instances/{id}/unsubscribe");
    let done = api::run(&ctx, &f.csrf, async {
        let idem = Idem::of(Some(&idem), &path, b"")?;
        orders::unsubscribe(&s.app, a, idem, id).await
    })
    .await?;
    match done {
        Ok(o) => Ok(Redirect::to(&Ctx::notice_url(
            "/console/resources",
            "res.unsub.done",
            &ctx.lang.money(o.order.refunded_fen.get()),
        ))
        .into_response()),
        Err(fail) => {
            let mut e = FormErrors::default();
            e.api(ctx.lang, &fail, &[]);
            let mut r = unsubscribe_view(&ctx, &i, s.app.clock.now_unix_ms(), &e);
            *r.status_mut() = fail.status;
            Ok(r)
        }
    }
}

/// `POST /console/resources/{id}/renew`
pub async fn renew_post(
    State(s): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<ResourceForm>,
) -> PageResult {
    own_instance(&s, &ctx, id).await?;
    let a = ctx.user()?;
    let lang = ctx.lang;
    let mut e = FormErrors::default();
    let months = e.int(lang, "months", &f.months, 1, i64::from(TERM_MONTHS_MAX));
    if e.is_empty() {
        let path = format!("/api/v1/instances/{id}/renew");
        let months = u32::try_from(months).unwrap_or(1);
        let renewed = api::run(&ctx, &f.csrf, async {
            let idem = Idem::of_request(&f.idem, &path, &json!({"months": months}))?;
            orders::renew(&s.app, a, idem, id, months).await
        })
        .await?;
        match renewed {
            Ok(_) => {
                return Ok(Redirect::to(&Ctx::notice_url(
                    "/console/resources",
                    "res.renew.done",
                    "",
                ))
                .into_response());
            }
            Err(fail) => e.api(lang, &fail, &[("months", "months")]),
        }
    }
    let msg = e
        .get("months")
        .map(str::to_owned)
        .or(e.general)
        .unwrap_or_default();
    let body = html! {
        h1 { (ctx.t("res.renew")) " #" (id) }
        div.form-errors role="alert" { p { (msg) } }
        p { a href="/console/resources" { (ctx.t("console.resources")) } }
    };
    let mut r = layout::page(&ctx, &ctx.t("res.renew"), Some(&CONSOLE), body);
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(r)
}

// ---------------------------------------------------------------- lists

/// An orders table (shared with the operations console).
pub fn orders_table(
    ctx: &Ctx,
    orders: &[OrderRecord],
    products: &[ProductRecord],
    specs: &[SpecRecord],
) -> Markup {
    let lang = ctx.lang;
    html! {
        table.data #orders {
            thead { tr {
                th { (ctx.t("order.id")) } th { (ctx.t("order.time")) } th { (ctx.t("order.kind")) }
                th { (ctx.t("res.product")) } th { (ctx.t("order.mode")) } th { (ctx.t("order.charged")) }
                th { (ctx.t("bills.discount")) } th { (ctx.t("order.refunded")) } th { (ctx.t("order.deposit")) }
            } }
            tbody {
                @for o in orders {
                    tr {
                        td { "#" (o.id) } td { (lang.datetime(o.created_ms)) }
                        td { (ctx.t(&format!("order.kind.{}", o.kind))) }
                        td { (spec_label(products, specs, o.product_id, o.spec_id)) " × " (o.quantity) }
                        td { (ctx.t(&mode_key(o.mode))) @if o.months > 0 { " · " (o.months) } }
                        td.num { (lang.money(o.charged_fen.get())) }
                        td.num { (lang.money(o.discount_fen.get())) }
                        td.num { (lang.money(o.refunded_fen.get())) }
                        td.num { (lang.money(o.deposit_fen.get())) }
                    }
                }
            }
        }
    }
}

/// `GET /console/orders`
pub async fn orders(State(s): State<WebState>, ctx: Ctx, Query(pg): Query<Page>) -> PageResult {
    let a = ctx.require(Permission::AccountRead)?;
    let list = accounts::orders(&s.app, a, a.org.id.get(), rows(&pg)).await?;
    let (products, specs) = catalogue_names(&s, list.iter().map(|o| o.product_id)).await?;
    let body = html! {
        h1 { (ctx.t("console.orders")) }
        @if list.is_empty() { p.empty { (ctx.t("list.empty")) } } @else { (orders_table(&ctx, &list, &products, &specs)) }
        @if list.len() == LIST_PAGE_ROWS as usize {
            @if let Some(last) = list.last() { a href=(format!("/console/orders?after={}", last.id)) { (ctx.t("list.next")) } }
        }
    };
    Ok(layout::page(
        &ctx,
        &ctx.t("console.orders"),
        Some(&CONSOLE),
        body,
    ))
}

/// A statements table (shared with the customer 360 view).
pub fn statements_table(ctx: &Ctx, lines: &[suanli_platform_store::StatementLine]) -> Markup {
    let lang = ctx.lang;
    html! {
        table.data #statements {
            thead { tr {
                th { (ctx.t("stmt.time")) } th { (ctx.t("stmt.type")) } th { (ctx.t("stmt.account")) }
                th { (ctx.t("stmt.amount")) } th { (ctx.t("stmt.balance")) } th { (ctx.t("stmt.memo")) }
            } }
            tbody {
                @for l in lines {
                    tr data-type=(l.kind) {
                        td { (lang.datetime(l.at_ms)) }
                        td { (ctx.t(&format!("stmt.type.{}", l.kind))) }
                        td { (ctx.t(&format!("acct.{}", l.account))) }
                        td.num.amount { (lang.money(l.amount_fen)) }
                        td.num { (lang.money(l.balance_after_fen)) }
                        td { (l.memo) @if let Some(i) = l.instance_id { " #" (i) } }
                    }
                }
            }
        }
    }
}

/// `GET /console/statements`
pub async fn statements(State(s): State<WebState>, ctx: Ctx, Query(pg): Query<Page>) -> PageResult {
    let a = ctx.require(Permission::AccountRead)?;
    let lines = accounts::statements(&s.app, a, a.org.id.get(), rows(&pg)).await?;
    let body = html! {
        h1 { (ctx.t("console.statements")) }
        @if lines.is_empty() { p.empty { (ctx.t("list.empty")) } } @else { (statements_table(&ctx, &lines)) }
        @if lines.len() == LIST_PAGE_ROWS as usize {
            @if let Some(last) = lines.last() { a href=(format!("/console/statements?after={}", last.id)) { (ctx.t("list.next")) } }
        }
    };
    Ok(layout::page(
        &ctx,
        &ctx.t("console.statements"),
        Some(&CONSOLE),
        body,
    ))
}

/// Bill filters.
#[derive(Debug, Default, Deserialize)]
pub struct BillForm {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    product: String,
    #[serde(default)]
    mode: String,
}

fn iso_date(ms: i64) -> String {
    let local = ms + suanli_platform_domain::money::CST_OFFSET_MS;
    let (y, m, d) = suanli_platform_domain::money::civil_from_days(
        local.div_euclid(suanli_platform_domain::money::DAY_MS),
    );
    format!("{y:04}-{m:02}-{d:02}")
}

fn bill_filter(
    lang: Lang,
    f: &BillForm,
    now: i64,
    e: &mut FormErrors,
) -> (BillRequest, String, String) {
    let (default_from, default_to) = accounts::default_span(now);
    let from = if f.from.trim().is_empty() {
        default_from
    } else {
        parse_date(&f.from).unwrap_or_else(|| {
            e.add("from", lang.t("err.date"));
            default_from
        })
    };
    let to = if f.to.trim().is_empty() {
        default_to
    } else {
        parse_date(&f.to).unwrap_or_else(|| {
            e.add("to", lang.t("err.date"));
            default_to
        })
    };
    let filter = BillRequest {
        from_ms: from,
        to_ms: to,
        product_id: f.product.trim().parse().ok(),
        mode: ChargingMode::parse(&f.mode),
        limit: Some(PAGE_SIZE_MAX),
        ..BillRequest::default()
    };
    (filter, iso_date(from), iso_date(to))
}

/// `GET /console/bills`
pub async fn bills(State(s): State<WebState>, ctx: Ctx, Query(f): Query<BillForm>) -> PageResult {
    let a = ctx.require(Permission::AccountRead)?;
    let lang = ctx.lang;
    let mut e = FormErrors::default();
    let (mut filter, from, to) = bill_filter(lang, &f, s.app.clock.now_unix_ms(), &mut e);
    filter.org_id = Some(a.org.id.get());
    let lines = accounts::bill(&s.app, a, &filter).await?.items;
    let (products, _) = catalogue_names(&s, std::iter::empty()).await?;
    let mut prod_opts = vec![(String::new(), ctx.t("filter.any"))];
    prod_opts.extend(products.iter().map(|p| (p.id.to_string(), p.name.clone())));
    let mode_opts = vec![
        (String::new(), ctx.t("filter.any")),
        ("prepaid".to_owned(), ctx.t("mode.prepaid")),
        ("payg".to_owned(), ctx.t("mode.payg")),
    ];
    let csv_q = serde_urlencoded::to_string([
        ("from", from.as_str()),
        ("to", to.as_str()),
        ("product", f.product.as_str()),
        ("mode", f.mode.as_str()),
    ])
    .unwrap_or_default();
    let body = html! {
        h1 { (ctx.t("console.bills")) }
        form.filters method="get" action="/console/bills" {
            (form::field(&ctx, "from", "bills.period_from", Kind::Date, &from, &e, false))
            (form::field(&ctx, "to", "bills.period_to", Kind::Date, &to, &e, false))
            (form::select(&ctx, "product", "bills.product", &prod_opts, &f.product, &e))
            (form::select(&ctx, "mode", "bills.mode", &mode_opts, &f.mode, &e))
            div.actions {
                button type="submit" { (ctx.t("filter.apply")) }
                a.button.secondary href=(format!("/console/bills.csv?{csv_q}")) download { (ctx.t("bills.csv")) }
            }
        }
        @if lines.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
            table.data #bills {
                thead { tr {
                    th { (ctx.t("bills.product")) } th { (ctx.t("bills.mode")) } th { (ctx.t("bills.prepaid")) }
                    th { (ctx.t("bills.usage")) } th { (ctx.t("bills.refund")) } th { (ctx.t("bills.discount")) }
                    th { (ctx.t("bills.unpaid")) } th { (ctx.t("bills.due")) }
                } }
                tbody {
                    @for l in &lines {
                        tr {
                            td { (products.iter().find(|p| p.id == l.product_id).map_or_else(|| format!("#{}", l.product_id), |p| p.name.clone())) }
                            td { (ChargingMode::parse(&l.mode).map_or_else(|| l.mode.clone(), |m| ctx.t(&mode_key(m)))) }
                            td.num { (lang.money(l.prepaid_fen)) } td.num { (lang.money(l.usage_fen)) }
                            td.num { (lang.money(l.refund_fen)) } td.num { (lang.money(l.discount_fen)) }
                            td.num { (lang.money(l.unpaid_fen)) } td.num.due { (lang.money(l.amount_due_fen)) }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(
        &ctx,
        &ctx.t("console.bills"),
        Some(&CONSOLE),
        body,
    ))
}

/// `GET /console/bills.csv`: the same lines as CSV (amounts in yuan with two decimals).
pub async fn bills_csv(
    State(s): State<WebState>,
    ctx: Ctx,
    Query(f): Query<BillForm>,
) -> PageResult {
    let a = ctx.require(Permission::AccountRead)?;
    let mut e = FormErrors::default();
    let (mut filter, from, to) = bill_filter(ctx.lang, &f, s.app.clock.now_unix_ms(), &mut e);
    if !e.is_empty() {
        return Err(WebError::NotFound);
    }
    filter.org_id = Some(a.org.id.get());
    let lines = accounts::bill(&s.app, a, &filter).await?.items;
    let yuan = |fen: i64| {
        let sign = if fen < 0 { "-" } else { "" };
        let a = fen.unsigned_abs();
        format!("{sign}{}.{:02}", a / 100, a % 100)
    };
    let mut out = String::from(
        "product_id,mode,prepaid_yuan,usage_yuan,refund_yuan,discount_yuan,unpaid_yuan,amount_due_yuan\n",
    );
    for l in &lines {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{}\n",
            l.product_id,
            l.mode,
            yuan(l.prepaid_fen),
            yuan(l.usage_fen),
            yuan(l.refund_fen),
            yuan(l.discount_fen),
            yuan(l.unpaid_fen),
            yuan(l.amount_due_fen)
        ));
    }
    let disposition = format!("attachment; filename=\"bill-{from}-{to}.csv\"");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        out,
    )
        .into_response())
}

// ---------------------------------------------------------------- sub-users, tokens

/// A new user.
#[derive(Debug, Default, Deserialize)]
pub struct UserForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
}

/// The users of the caller's organisation with a form to add one (shared with the system
/// console).
pub async fn users_view(
    s: &WebState,
    ctx: &Ctx,
    action: &str,
    f: &UserForm,
    e: &FormErrors,
    section: &layout::Section,
) -> PageResult {
    let a = ctx.require(Permission::UserRead)?;
    let list = users::of_own_org(&s.app, a, PAGE_SIZE_MAX).await?;
    let grantable: Vec<(String, String)> = Role::ALL
        .iter()
        .filter(|r| r.allowed_in(a.org.kind) && a.principal.can_grant(**r))
        .map(|r| (r.as_str().to_owned(), r.as_str().to_owned()))
        .collect();
    let body = html! {
        h1 { (ctx.t(if section.title == "sys.title" { "sys.users" } else { "console.users" })) }
        table.data #users {
            thead { tr { th { (ctx.t("users.login")) } th { (ctx.t("users.name")) } th { (ctx.t("users.roles")) } th { (ctx.t("users.state")) } } }
            tbody {
                @for u in &list {
                    tr {
                        td { (u.login) } td { (u.display_name) }
                        td { @for r in &u.roles { code { (r.as_str()) } " " } }
                        td { (ctx.t(if u.disabled { "users.disabled" } else { "users.enabled" })) }
                    }
                }
            }
        }
        @if ctx.has(Permission::UserManage) && !grantable.is_empty() {
            h2 { (ctx.t("users.create")) }
            (form::summary(ctx, e))
            form method="post" action=(action) novalidate {
                (csrf(ctx))
                (form::field(ctx, "login", "users.login", Kind::Text, &f.login, e, true))
                (form::field(ctx, "display_name", "users.name", Kind::Text, &f.display_name, e, true))
                (form::field(ctx, "password", "users.password", Kind::Password, "", e, true))
                (form::select(ctx, "role", "sys.role", &grantable, &f.role, e))
                div.actions { button type="submit" { (ctx.t("users.create")) } }
            }
        }
    };
    Ok(layout::page(
        ctx,
        &ctx.t("console.users"),
        Some(section),
        body,
    ))
}

/// Creates a user in the caller's organisation through the API.
pub async fn users_create(
    s: &WebState,
    ctx: &Ctx,
    f: &UserForm,
    back: &str,
    section: &layout::Section,
) -> PageResult {
    let a = ctx.require(Permission::UserManage)?;
    let lang = ctx.lang;
    let mut e = FormErrors::default();
    let login = e.required(lang, "login", &f.login);
    let name = e.required(lang, "display_name", &f.display_name);
    if f.password.is_empty() {
        e.add("password", lang.t("err.required"));
    }
    let role = Role::parse(&f.role);
    if role.is_none() {
        e.add("role", lang.t("err.choose"));
    }
    if let (true, Some(role)) = (e.is_empty(), role) {
        let draft = UserDraft {
            login: login.clone(),
            display_name: name,
            password: f.password.clone(),
            roles: vec![role],
        };
        let created = api::run(
            ctx,
            &f.csrf,
            users::create(&s.app, a, a.org.id.get(), &draft),
        );
        match created.await? {
            Ok(_) => {
                return Ok(
                    Redirect::to(&Ctx::notice_url(back, "users.created", &login)).into_response(),
                );
            }
            Err(fail) => {
                e.api(
                    lang,
                    &fail,
                    &[
                        ("login", "login"),
                        ("display_name", "display_name"),
                        ("password", "password"),
                        ("roles", "role"),
                    ],
                );
                if fail.code == "login_taken" {
                    e.general = None;
                    e.add("login", lang.t("err.login_taken"));
                }
                if fail.code.starts_with("password") {
                    e.general = None;
                    e.add("password", form::api_message(lang, &fail));
                }
            }
        }
    }
    let mut r = users_view(s, ctx, back, f, &e, section).await?;
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(r)
}

/// `GET /console/users`
pub async fn users(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    users_view(
        &s,
        &ctx,
        "/console/users",
        &UserForm::default(),
        &FormErrors::default(),
        &CONSOLE,
    )
    .await
}

/// `POST /console/users`
pub async fn users_post(
    State(s): State<WebState>,
    ctx: Ctx,
    Form(f): Form<UserForm>,
) -> PageResult {
    users_create(&s, &ctx, &f, "/console/users", &CONSOLE).await
}

async fn tokens_view(
    s: &WebState,
    ctx: &Ctx,
    created: Option<String>,
    e: &FormErrors,
) -> PageResult {
    let a = ctx.user()?;
    let lang = ctx.lang;
    let list = me::tokens(&s.app, a).await?;
    let perms = a.principal.permissions();
    let body = html! {
        h1 { (ctx.t("console.tokens")) }
        @if let Some(t) = created {
            div.notice role="status" { p { (ctx.t("tokens.shown_once")) } pre.token { code #new-token { (t) } } }
        }
        @if list.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
            table.data {
                thead { tr { th { (ctx.t("tokens.name")) } th { (ctx.t("tokens.scopes")) } th { (ctx.t("tokens.expires")) } th { (ctx.t("common.actions")) } } }
                tbody {
                    @for t in &list {
                        tr {
                            td { (t.name) }
                            td { @for p in &t.scopes { code { (p.as_str()) } " " } }
                            td { (lang.datetime(t.expires_ms)) }
                            td {
                                @if t.revoked { (ctx.t("tokens.revoked")) } @else {
                                    form.inline method="post" action=(format!("/console/tokens/{}/revoke", t.id.get())) {
                                        (csrf(ctx)) button.danger type="submit" { (ctx.t("tokens.revoke")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { (ctx.t("tokens.create")) }
        (form::summary(ctx, e))
        form method="post" action="/console/tokens" novalidate {
            (csrf(ctx))
            (form::field(ctx, "name", "tokens.name", Kind::Text, "", e, true))
            (form::field(ctx, "days", "tokens.ttl_days", Kind::Integer, "30", e, true))
            fieldset {
                legend { (ctx.t("tokens.scopes")) }
                @for p in &perms {
                    div.field.check {
                        input id=(format!("scope-{}", p.as_str())) type="checkbox" name="scope" value=(p.as_str()) checked;
                        label for=(format!("scope-{}", p.as_str())) { code { (p.as_str()) } }
                    }
                }
                @if let Some(m) = e.get("scope") { p.field-error role="alert" { (m) } }
            }
            div.actions { button type="submit" { (ctx.t("tokens.create")) } }
        }
    };
    Ok(layout::page(
        ctx,
        &ctx.t("console.tokens"),
        Some(&CONSOLE),
        body,
    ))
}

/// `GET /console/tokens`
pub async fn tokens(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    tokens_view(&s, &ctx, None, &FormErrors::default()).await
}

/// `POST /console/tokens` (repeated `scope` fields, so read as pairs).
pub async fn tokens_post(
    State(s): State<WebState>,
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let a = ctx.user()?;
    let lang = ctx.lang;
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let scopes: Vec<&str> = pairs
        .iter()
        .filter(|(n, _)| n == "scope")
        .map(|(_, v)| v.as_str())
        .collect();
    let mut e = FormErrors::default();
    let name = e.required(lang, "name", get("name"));
    let days = e.int(lang, "days", get("days"), 1, TOKEN_TTL_DAYS_MAX);
    if scopes.is_empty() {
        e.add("scope", lang.t("err.choose"));
    }
    let scopes: Vec<Permission> = scopes
        .iter()
        .filter_map(|p| {
            let parsed = Permission::parse(p);
            if parsed.is_none() {
                e.add("scope", lang.t("err.invalid_field"));
            }
            parsed
        })
        .collect();
    if e.is_empty() {
        let draft = TokenDraft {
            name,
            scopes,
            ttl_secs: u32::try_from(days * 86_400).unwrap_or(u32::MAX),
        };
        match api::run(&ctx, get("_csrf"), me::create_token(&s.app, a, &draft)).await? {
            Ok((token, _)) => {
                return tokens_view(&s, &ctx, Some(token), &e).await;
            }
            Err(fail) => e.api(
                lang,
                &fail,
                &[("name", "name"), ("ttl_secs", "days"), ("scopes", "scope")],
            ),
        }
    }
    let mut r = tokens_view(&s, &ctx, None, &e).await?;
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(r)
}

/// `POST /console/tokens/{id}/revoke`
pub async fn token_revoke(
    State(s): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<crate::portal::CsrfForm>,
) -> PageResult {
    let a = ctx.user()?;
    match api::run(&ctx, f.token(), me::revoke_token(&s.app, a, id)).await? {
        Ok(_) => Ok(Redirect::to("/console/tokens").into_response()),
        Err(fail) if fail.status == StatusCode::NOT_FOUND => Err(WebError::NotFound),
        Err(fail) if fail.status == StatusCode::FORBIDDEN => Err(WebError::Forbidden),
        Err(_) => Err(WebError::Internal("token revoke refused".into())),
    }
}

/// Percent text of basis points (re-exported for pages that show discounts).
pub fn percent(bp: u32) -> String {
    bp_percent(bp)
}

// ---------------------------------------------------------------- two-step verification

/// The two-step verification form (`step` = `start` or `confirm`).
#[derive(Debug, Default, Deserialize)]
pub struct MfaForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    step: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    uri: String,
}

fn mfa_view(
    ctx: &Ctx,
    enabled: bool,
    pending: Option<(&str, &str)>,
    codes: Option<Vec<String>>,
    e: &FormErrors,
) -> Response {
    let body = html! {
        h1 { (ctx.t("mfa.title")) }
        p { (ctx.t("mfa.status")) ": " strong #mfa-state { (ctx.t(if enabled { "mfa.on" } else { "mfa.off" })) } }
        @if let Some(codes) = codes {
            div.notice role="status" {
                p { (ctx.t("mfa.recovery")) }
                ul #recovery-codes { @for c in &codes { li { code { (c) } } } }
            }
        }
        (form::summary(ctx, e))
        @if let Some((secret, uri)) = pending {
            p { (ctx.t("mfa.scan")) }
            dl.facts {
                dt { (ctx.t("mfa.secret")) } dd { code #mfa-secret { (secret) } }
                dt { "otpauth" } dd { code.wrap { (uri) } }
            }
            form method="post" action="/console/security" novalidate {
                (csrf(ctx))
                input type="hidden" name="step" value="confirm";
                input type="hidden" name="secret" value=(secret);
                input type="hidden" name="uri" value=(uri);
                (form::field(ctx, "code", "login.totp", Kind::Integer, "", e, true))
                div.actions { button type="submit" { (ctx.t("mfa.confirm")) } }
            }
        } @else if !enabled {
            form method="post" action="/console/security" {
                (csrf(ctx))
                input type="hidden" name="step" value="start";
                div.actions { button type="submit" { (ctx.t("mfa.start")) } }
            }
        }
    };
    layout::page(ctx, &ctx.t("mfa.title"), Some(&CONSOLE), body)
}

/// `GET /console/security`: two-step verification (TOTP) status and enrolment.
pub async fn security(ctx: Ctx) -> PageResult {
    let a = ctx.user()?;
    Ok(mfa_view(
        &ctx,
        a.user.totp_enabled,
        None,
        None,
        &FormErrors::default(),
    ))
}

/// `POST /console/security`: starts or confirms TOTP enrolment through the API.
pub async fn security_post(
    State(s): State<WebState>,
    ctx: Ctx,
    Form(f): Form<MfaForm>,
) -> PageResult {
    let a = ctx.user()?;
    let lang = ctx.lang;
    let mut e = FormErrors::default();
    if f.step == "confirm" {
        let code = e.required(lang, "code", &f.code);
        if e.is_empty() {
            match api::run(&ctx, &f.csrf, me::totp_confirm(&s.app, a, &code)).await? {
                Ok(codes) => {
                    return Ok(mfa_view(&ctx, true, None, Some(codes), &e));
                }
                Err(fail) => {
                    e.api(lang, &fail, &[("code", "code")]);
                    if let Some(g) = e.general.take() {
                        e.add("code", g);
                    }
                }
            }
        }
        let mut r = mfa_view(&ctx, false, Some((&f.secret, &f.uri)), None, &e);
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(r);
    }
    match api::run(&ctx, &f.csrf, me::totp_setup(&s.app, a)).await? {
        Ok(t) => Ok(mfa_view(
            &ctx,
            a.user.totp_enabled,
            Some((&t.secret_base32, &t.otpauth_uri)),
            None,
            &e,
        )),
        Err(fail) => {
            e.api(lang, &fail, &[]);
            let mut r = mfa_view(&ctx, a.user.totp_enabled, None, None, &e);
            *r.status_mut() = fail.status;
            Ok(r)
        }
    }
}
