//! The portal: the catalogue with filters, product pages (specs and pricing strategies),
//! suppliers' listed offers and their pages, supplier pages, registration (personal or enterprise) and login (with TOTP).

use crate::api;
use crate::ctx::Ctx;
use crate::form::{self, FormErrors, Kind};
use crate::i18n::{Lang, parse_yuan};
use crate::layout::{self, csrf};
use crate::{PageResult, WebError, WebState};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::HeaderValue;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::BTreeSet;
use suanli_platform_domain::money::Fen;
use suanli_platform_domain::pricing::SpecPricing;
use suanli_platform_domain::{OrgId, Permission};
use suanli_platform_http::auth::{clear_cookie, session_cookie};
use suanli_platform_http::http::set_actor;
use suanli_platform_http::service::catalogue;
use suanli_platform_http::service::registrations::{self, EnterpriseDraft, PersonalDraft};
use suanli_platform_http::service::sessions::{self, Credentials};
use suanli_platform_http::service::supply_catalog;
use suanli_platform_http::service::supply_onboarding::{self, SupplierDraft};
use suanli_platform_store::{OrgRecord, ProductRecord, SpecRecord};

/// Catalogue filters.
#[derive(Debug, Default, Deserialize)]
pub struct CatalogueQuery {
    #[serde(default)]
    category: String,
    #[serde(default)]
    gpu: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    min: String,
    #[serde(default)]
    max: String,
}

/// The lowest monthly price of a product's specs.
fn from_monthly(specs: &[&SpecRecord]) -> Option<Fen> {
    specs
        .iter()
        .filter_map(|s| s.pricing.prepaid.as_ref().map(|p| p.monthly_fen))
        .min()
}

fn from_per_minute(specs: &[&SpecRecord]) -> Option<Fen> {
    specs
        .iter()
        .filter_map(|s| s.pricing.payg.as_ref().map(|p| p.per_minute_fen))
        .min()
}

/// `GET /`: published products with filters (category, GPU model / spec family, region,
/// monthly price range). Four queries: settings, categories, products, their specs (and
/// one for the supplier names).
pub async fn catalogue(
    State(s): State<WebState>,
    ctx: Ctx,
    Query(q): Query<CatalogueQuery>,
) -> PageResult {
    let lang = ctx.lang;
    let (categories, products, specs) = catalogue::published(&s.app).await?;
    let offers = supply_catalog::catalogue_offers(&s.app, 0, LISTED_OFFERS_SHOWN).await?;
    let suppliers = names(&s, products.iter().map(|p| p.supplier)).await?;
    let families: BTreeSet<&str> = specs.iter().map(|s| s.family.as_str()).collect();
    let regions: BTreeSet<&str> = products.iter().map(|p| p.region.as_str()).collect();
    let mut errors = FormErrors::default();
    let min = if q.min.trim().is_empty() {
        None
    } else {
        let v = parse_yuan(&q.min);
        if v.is_none() {
            errors.add("min", lang.t("err.yuan"));
        }
        v
    };
    let max = if q.max.trim().is_empty() {
        None
    } else {
        let v = parse_yuan(&q.max);
        if v.is_none() {
            errors.add("max", lang.t("err.yuan"));
        }
        v
    };
    let category: Option<i64> = q.category.parse().ok();
    let shown: Vec<(&ProductRecord, Vec<&SpecRecord>)> = products
        .iter()
        .filter(|p| category.is_none_or(|c| p.category_id == c))
        .filter(|p| q.region.is_empty() || p.region == q.region)
        .filter_map(|p| {
            let mine: Vec<&SpecRecord> = specs
                .iter()
                .filter(|s| s.product_id == p.id)
                .filter(|s| q.gpu.is_empty() || s.family == q.gpu)
                .collect();
            if mine.is_empty() && !q.gpu.is_empty() {
                return None;
            }
            if min.is_some() || max.is_some() {
                let price = from_monthly(&mine)?.get();
                if min.is_some_and(|m| price < m) || max.is_some_and(|m| price > m) {
                    return None;
                }
            }
            Some((p, mine))
        })
        .collect();
    let any = (String::new(), lang.t("filter.any"));
    let cat_opts: Vec<(String, String)> = std::iter::once(any.clone())
        .chain(
            categories
                .iter()
                .map(|c| (c.id.to_string(), c.name.clone())),
        )
        .collect();
    let fam_opts: Vec<(String, String)> = std::iter::once(any.clone())
        .chain(families.iter().map(|f| ((*f).to_owned(), (*f).to_owned())))
        .collect();
    let reg_opts: Vec<(String, String)> = std::iter::once(any)
        .chain(regions.iter().map(|r| ((*r).to_owned(), (*r).to_owned())))
        .collect();
    let body = html! {
        h1 { (ctx.t("portal.title")) }
        p.lead { (ctx.t("portal.lead")) }
        form.filters method="get" action="/" role="search" {
            (form::select(&ctx, "category", "filter.category", &cat_opts, &q.category, &errors))
            (form::select(&ctx, "gpu", "filter.gpu", &fam_opts, &q.gpu, &errors))
            (form::select(&ctx, "region", "filter.region", &reg_opts, &q.region, &errors))
            (form::field(&ctx, "min", "filter.price_min", Kind::Decimal, &q.min, &errors, false))
            (form::field(&ctx, "max", "filter.price_max", Kind::Decimal, &q.max, &errors, false))
            div.actions {
                button type="submit" { (ctx.t("filter.apply")) }
                a.button.secondary href="/" { (ctx.t("filter.reset")) }
            }
        }
        p.hint { (ctx.t("filter.green_absent")) }
        @if shown.is_empty() {
            p.empty { (ctx.t("portal.none")) }
        } @else {
            ul.cards {
                @for (p, mine) in &shown {
                    li.card {
                        h2 { a href=(format!("/products/{}", p.id)) { (p.name) } }
                        p.meta {
                            (category_name(&categories, p.category_id)) " · " (p.region)
                        }
                        p.meta {
                            (ctx.t("portal.supplier")) ": "
                            a href=(format!("/suppliers/{}", p.supplier.get())) { (org_name(&suppliers, p.supplier)) }
                        }
                        p.specs { @for s in mine { span.tag { (s.family) " " (s.name) } " " } }
                        p.price {
                            @if let Some(m) = from_monthly(mine) {
                                (ctx.t("portal.from")) " " strong { (lang.money(m.get())) } (ctx.t("portal.per_month"))
                            } @else if let Some(m) = from_per_minute(mine) {
                                (ctx.t("portal.from")) " " strong { (lang.money(m.get())) } (ctx.t("portal.per_minute"))
                            }
                        }
                        a.button href=(format!("/products/{}", p.id)) { (ctx.t("portal.details")) }
                    }
                }
            }
        }
        (supply_offers(&ctx, &offers))
    };
    Ok(layout::page(&ctx, &ctx.t("portal.title"), None, body))
}

// --- supply (issue 16, supply helper): suppliers' listed offers ------------------------

/// Listed offers the catalogue shows at most.
pub const LISTED_OFFERS_SHOWN: u32 = 50;

fn offer_attrs(ctx: &Ctx, v: &supply_catalog::OfferView) -> Markup {
    html! {
        @for r in &v.resources { @let d = r.spec.get();
            p.specs data-resource=(r.id) {
                span.tag { (d.gpu_model) " ×" (d.gpu_count) } " "
                span.tag { (d.gpu_mem_gb) " GB" } " "
                span.tag { (d.cpu_cores) " " (ctx.t("supply.f.cpu_cores")) } " "
                span.tag { (d.ram_gb) " GB RAM" } " "
                span.tag { (d.tflops) " TFLOPS" } " "
                span.tag { (d.region) } " "
                span.tag { (ctx.t("supply.f.green_share")) " " (format!("{:.0}%", d.green_share * 100.0)) } " "
                span.tag { "PUE " (d.pue) }
            }
        }
    }
}

/// The listed offers of suppliers (`#supply-offers`).
fn supply_offers(ctx: &Ctx, offers: &[supply_catalog::OfferView]) -> Markup {
    let lang = ctx.lang;
    html! {
        section #supply-offers {
            h2 { (ctx.t("supply.catalogue")) }
            @if offers.is_empty() { p.empty { (ctx.t("portal.none")) } } @else {
            ul.cards {
                @for v in offers {
                    li.card data-offer=(v.offer.id) {
                        h3 { a href=(format!("/offers/{}", v.offer.id)) { (v.offer.title) } }
                        p.meta { (ctx.t("portal.supplier")) ": " (v.supplier) }
                        (offer_attrs(ctx, v))
                        p.price { strong { (lang.money(v.mode.spec.get().price_fen_per_min)) } (ctx.t("portal.per_minute")) }
                        a.button href=(format!("/offers/{}", v.offer.id)) { (ctx.t("portal.details")) }
                    }
                }
            }
            }
        }
    }
}

/// `GET /offers/{id}`: one listed offer — its resources' attributes, price, terms and
/// supplier (anything not listed is not found).
pub async fn offer(State(s): State<WebState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let v = supply_catalog::catalogue_offer(&s.app, id).await?;
    let lang = ctx.lang;
    let m = v.mode.spec.get();
    let body = html! {
        h1 { (v.offer.title) }
        dl.facts #supply-offer data-offer=(v.offer.id) {
            dt { (ctx.t("portal.supplier")) } dd { (v.supplier) }
            dt { (ctx.t("supply.f.price_fen_per_min")) } dd #offer-price { (lang.money(m.price_fen_per_min)) (ctx.t("portal.per_minute")) }
            dt { (ctx.t("supply.f.min_charge_fen")) } dd { (lang.money(m.min_charge_fen)) }
            dt { (ctx.t("supply.f.terms")) } dd { span.tag { (ctx.t("supply.payg")) } " " @for t in &m.terms { span.tag { (lang.tf("supply.term", &[&t.months.to_string(), &(t.discount_bp / 100).to_string()])) } " " } }
            dt { (ctx.t("supply.f.units")) } dd { (v.offer.units) }
            dt { (ctx.t("supply.valid")) } dd { (lang.datetime(v.offer.valid_from_ms)) " – " (lang.datetime(v.offer.valid_until_ms)) }
            dt { (ctx.t("supply.chain")) } dd { @if let Some(c) = v.offer.chain_offer_id { "#" (c) } }
        }
        h2 { (ctx.t("supply.f.resources")) }
        table.data #offer-resources {
            thead { tr { th { (ctx.t("supply.f.gpu_model")) } th { (ctx.t("supply.f.gpu_count")) } th { (ctx.t("supply.f.gpu_mem_gb")) }
                th { (ctx.t("supply.f.cpu_cores")) } th { (ctx.t("supply.f.ram_gb")) } th { (ctx.t("supply.f.storage_gb")) }
                th { (ctx.t("supply.f.tflops")) } th { (ctx.t("supply.f.region")) } th { (ctx.t("supply.f.green_share")) }
                th { (ctx.t("supply.f.carbon_g_per_kwh")) } th { (ctx.t("supply.f.pue")) } th { (ctx.t("supply.f.utilisation")) } } }
            tbody { @for r in &v.resources { @let d = r.spec.get(); tr {
                td { (d.gpu_model) } td { (d.gpu_count) } td { (d.gpu_mem_gb) } td { (d.cpu_cores) } td { (d.ram_gb) }
                td { (d.storage_gb) } td { (d.tflops) } td { (d.region) } td { (d.green_share) } td { (d.carbon_g_per_kwh) }
                td { (d.pue) } td { (d.utilisation) }
            } } }
        }
        // Issue 18: order the offer as a trade on the chain.
        p { a.button #order-trade href={ "/console/trades/new?offer=" (v.offer.id) } { (ctx.t("tr.order_offer")) } " " a.button.secondary href="/" { (ctx.t("order.back")) } }
    };
    Ok(layout::page(&ctx, &v.offer.title, None, body))
}

fn category_name(cats: &[suanli_platform_store::CategoryRecord], id: i64) -> String {
    cats.iter()
        .find(|c| c.id == id)
        .map_or_else(|| format!("#{id}"), |c| c.name.clone())
}

/// Names of organisations, one query.
pub async fn names(
    s: &WebState,
    ids: impl Iterator<Item = OrgId>,
) -> Result<Vec<OrgRecord>, WebError> {
    let ids: Vec<OrgId> = ids.collect();
    Ok(suanli_platform_http::service::orgs::names(&s.app, &ids).await?)
}

/// The name of organisation `id` among `orgs`.
pub fn org_name(orgs: &[OrgRecord], id: OrgId) -> String {
    orgs.iter()
        .find(|o| o.id == id)
        .map_or_else(|| format!("#{}", id.get()), |o| o.name.clone())
}

/// The pricing strategies of a spec, as a definition list.
pub fn pricing_view(lang: Lang, p: &SpecPricing) -> Markup {
    html! {
        dl.pricing {
            dt { (lang.t("product.prepaid")) }
            @if let Some(pp) = &p.prepaid {
                dd { (lang.t("product.monthly")) ": " (lang.money(pp.monthly_fen.get())) }
                @if let Some(y) = pp.yearly_fen { dd { (lang.t("product.yearly")) ": " (lang.money(y.get())) } }
                @for t in &pp.term_discounts {
                    dd { (lang.tf("product.term_discount_item", &[&t.min_months.to_string(), &bp_percent(t.off_bp.get())])) }
                }
            } @else {
                dd { (lang.t("product.not_offered")) }
            }
            dt { (lang.t("product.payg")) }
            @if let Some(g) = &p.payg {
                dd { (lang.t("product.per_minute")) ": " (lang.money(g.per_minute_fen.get())) }
                dd { (lang.t("product.minimum")) ": " (lang.money(g.minimum_fen.get())) }
                dd { (lang.t("product.deposit")) ": " (lang.money(g.deposit_fen.get())) }
            } @else {
                dd { (lang.t("product.not_offered")) }
            }
        }
    }
}

/// Basis points as a percentage (`1250` → `12.5%`).
pub fn bp_percent(bp: u32) -> String {
    let whole = bp / 100;
    let frac = bp % 100;
    if frac == 0 {
        format!("{whole}%")
    } else if frac % 10 == 0 {
        format!("{whole}.{}%", frac / 10)
    } else {
        format!("{whole}.{frac:02}%")
    }
}

/// `GET /products/{id}`: specs and pricing strategies; unpublished products only for
/// catalogue managers.
pub async fn product(State(s): State<WebState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let (p, specs, supplier) = catalogue::show(&s.app, ctx.auth.as_ref(), id).await?;
    let lang = ctx.lang;
    let can_order = ctx.has(Permission::OrderPlace);
    let body = html! {
        h1 { (p.name) }
        p.meta {
            (ctx.t("filter.region")) ": " (p.region) " · "
            (ctx.t("portal.supplier")) ": "
            a href=(format!("/suppliers/{}", p.supplier.get())) { (supplier.map_or_else(|| format!("#{}", p.supplier.get()), |o| o.name)) }
            " · " (if p.manual_provisioning { ctx.t("product.manual") } else { ctx.t("product.auto") })
        }
        h2 { (ctx.t("product.specs")) }
        table.data {
            thead { tr { th { (ctx.t("product.family")) } th { (ctx.t("product.spec")) } th { (ctx.t("product.prepaid")) " / " (ctx.t("product.payg")) } th { (ctx.t("common.actions")) } } }
            tbody {
                @for sp in &specs {
                    tr {
                        td { (sp.family) }
                        td { (sp.name) }
                        td { (pricing_view(lang, &sp.pricing)) }
                        td {
                            @if can_order {
                                a.button href=(format!("/console/order?spec={}", sp.id)) { (ctx.t("product.order")) }
                            } @else if ctx.auth.is_none() {
                                a href="/login" { (ctx.t("product.login_to_order")) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(&ctx, &p.name, None, body))
}

/// `GET /suppliers/{id}`: a supplier and its published products.
pub async fn supplier(State(s): State<WebState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let (org, products) = catalogue::supplier(&s.app, id).await?;
    let body = html! {
        h1 { (org.name) }
        p.meta { (ctx.t(&format!("org.kind.{}", org.kind.as_str()))) }
        p.hint { (ctx.t("supplier.reputation_absent")) }
        h2 { (ctx.t("supplier.products")) }
        @if products.is_empty() { p.empty { (ctx.t("list.empty")) } }
        ul {
            @for p in &products {
                li { a href=(format!("/products/{}", p.id)) { (p.name) } " · " (p.region) }
            }
        }
    };
    Ok(layout::page(&ctx, &org.name, None, body))
}

// ---------------------------------------------------------------- login

/// The login form.
#[derive(Default, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    totp_code: String,
    #[serde(default)]
    recovery_code: String,
}

/// Written by hand: the secrets are redacted.
impl std::fmt::Debug for LoginForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginForm")
            .field("login", &self.login)
            .field("password", &"<redacted>")
            .field("totp_code", &"<redacted>")
            .field("recovery_code", &"<redacted>")
            .finish()
    }
}

fn login_view(ctx: &Ctx, f: &LoginForm, errors: &FormErrors, mfa: bool) -> Response {
    let body = html! {
        section.narrow {
            h1 { (ctx.t("login.title")) }
            (form::summary(ctx, errors))
            form method="post" action="/login" novalidate {
                (form::field(ctx, "login", "login.login", Kind::Text, &f.login, errors, true))
                (form::field(ctx, "password", "login.password", Kind::Password, "", errors, true))
                @if mfa {
                    (form::field(ctx, "totp_code", "login.totp", Kind::Integer, "", errors, false))
                    (form::field(ctx, "recovery_code", "login.recovery", Kind::Text, "", errors, false))
                }
                div.actions { button type="submit" { (ctx.t("login.submit")) } }
            }
            p { (ctx.t("login.no_account")) " " a href="/register" { (ctx.t("nav.register")) } }
        }
    };
    layout::page(ctx, &ctx.t("login.title"), None, body)
}

/// `GET /login`
pub async fn login_page(ctx: Ctx) -> PageResult {
    Ok(login_view(
        &ctx,
        &LoginForm::default(),
        &FormErrors::default(),
        false,
    ))
}

/// `POST /login`: runs the API's login; on success forwards its session cookie.
pub async fn login_post(
    State(s): State<WebState>,
    ctx: Ctx,
    Form(f): Form<LoginForm>,
) -> PageResult {
    let lang = ctx.lang;
    let mut errors = FormErrors::default();
    let login = errors.required(lang, "login", &f.login);
    if f.password.is_empty() {
        errors.add("password", lang.t("err.required"));
    }
    if !errors.is_empty() {
        return Ok(login_view(&ctx, &f, &errors, false));
    }
    let given = |v: &str| (!v.trim().is_empty()).then(|| v.trim().to_owned());
    let creds = Credentials {
        login,
        password: f.password.clone(),
        totp_code: given(&f.totp_code),
        recovery_code: given(&f.recovery_code),
    };
    let ip = ctx.client_ip();
    // From the proven password on, the attempt is audited under the user's name.
    let proven = |user, org| set_actor(ctx.audit.as_ref(), user, org);
    match api::run_open(&ctx, sessions::login(&s.app, &ip, &creds, proven)).await? {
        Ok(session) => {
            let mut r = Redirect::to("/console").into_response();
            let cookie = session_cookie(&session.token, session.ttl_secs, s.app.cookie_secure);
            let v =
                HeaderValue::from_str(&cookie).map_err(|e| WebError::Internal(e.to_string()))?;
            r.headers_mut().append(header::SET_COOKIE, v);
            Ok(r)
        }
        Err(fail) => {
            let mfa = matches!(fail.code.as_str(), "mfa_required" | "mfa_invalid");
            let target = if mfa { "totp_code" } else { "password" };
            errors.api(lang, &fail, &[("code", target)]);
            if let Some(g) = errors.general.take() {
                errors.add(target, g);
            }
            let mut r = login_view(&ctx, &f, &errors, mfa);
            *r.status_mut() = fail.status;
            Ok(r)
        }
    }
}

/// The CSRF field of a bare form.
#[derive(Debug, Default, Deserialize)]
pub struct CsrfForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

impl CsrfForm {
    /// The submitted token.
    pub fn token(&self) -> &str {
        &self.csrf
    }
}

/// `POST /logout`
pub async fn logout(State(s): State<WebState>, ctx: Ctx, Form(f): Form<CsrfForm>) -> PageResult {
    let ended = match &ctx.auth {
        Some(a) => api::run(&ctx, &f.csrf, sessions::logout(&s.app, a))
            .await?
            .is_ok(),
        None => {
            // No session to end: refused (the API answers 401), whatever the redirect.
            ctx.refused();
            false
        }
    };
    let mut r = Redirect::to("/").into_response();
    if ended {
        let clear = clear_cookie(s.app.cookie_secure);
        let v = HeaderValue::from_str(&clear).map_err(|e| WebError::Internal(e.to_string()))?;
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    // The cart belongs to the session's user: it goes with the session.
    crate::cart::Cart::default().set_cookie(&mut r, 0);
    Ok(r)
}

// ---------------------------------------------------------------- registration

/// The registration form (both kinds).
#[derive(Default, Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password2: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    company_name: String,
    #[serde(default)]
    credit_code: String,
    #[serde(default)]
    licence_ref: String,
    #[serde(default)]
    legal_person: String,
    #[serde(default)]
    invite_code: String,
    // A supplier's fields (issue 16; own names, so the form also posts without script).
    #[serde(default)]
    supplier_type: String,
    #[serde(default)]
    s_display_name: String,
    #[serde(default)]
    s_company_name: String,
    #[serde(default)]
    s_credit_code: String,
    #[serde(default)]
    s_licence_ref: String,
    #[serde(default)]
    s_legal_person: String,
    #[serde(default)]
    s_phone: String,
    #[serde(default)]
    qualification: String,
}

/// Written by hand: the secrets are redacted.
impl std::fmt::Debug for RegisterForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisterForm")
            .field("kind", &self.kind)
            .field("login", &self.login)
            .field("password", &"<redacted>")
            .field("password2", &"<redacted>")
            .field("display_name", &self.display_name)
            .field("name", &self.name)
            .field("id_number", &"<redacted>")
            .field("phone", &"<redacted>")
            .field("company_name", &self.company_name)
            .field("credit_code", &self.credit_code)
            .field("licence_ref", &self.licence_ref)
            .field("legal_person", &self.legal_person)
            .field("invite_code", &"<redacted>")
            .field("supplier_type", &self.supplier_type)
            .field("s_company_name", &self.s_company_name)
            .field("s_credit_code", &self.s_credit_code)
            .field("s_phone", &"<redacted>")
            .finish()
    }
}

fn register_view(ctx: &Ctx, f: &RegisterForm, errors: &FormErrors) -> Response {
    let kinds = [
        ("personal".to_owned(), ctx.t("register.personal")),
        ("enterprise".to_owned(), ctx.t("register.enterprise")),
        ("supplier".to_owned(), ctx.t("register.supplier")),
    ];
    let kind = if f.kind.is_empty() {
        "personal"
    } else {
        f.kind.as_str()
    };
    let body = html! {
        section.narrow {
            h1 { (ctx.t("register.title")) }
            p.lead { (ctx.t("register.lead")) }
            (form::summary(ctx, errors))
            form method="post" action="/register" novalidate {
                (form::select(ctx, "kind", "register.kind", &kinds, kind, errors))
                (form::field(ctx, "login", "login.login", Kind::Text, &f.login, errors, true))
                (form::field(ctx, "password", "login.password", Kind::Password, "", errors, true))
                (form::field(ctx, "password2", "register.password2", Kind::Password, "", errors, true))
                fieldset data-kind="personal" {
                    legend { (ctx.t("register.personal")) }
                    (form::field(ctx, "name", "register.name", Kind::Text, &f.name, errors, true))
                    (form::field(ctx, "id_number", "register.id_number", Kind::Text, "", errors, true))
                    (form::field(ctx, "phone", "register.phone", Kind::Text, &f.phone, errors, true))
                }
                fieldset data-kind="enterprise" {
                    legend { (ctx.t("register.enterprise")) }
                    (form::field(ctx, "display_name", "register.display_name", Kind::Text, &f.display_name, errors, true))
                    (form::field(ctx, "company_name", "register.company", Kind::Text, &f.company_name, errors, true))
                    (form::field(ctx, "credit_code", "register.credit_code", Kind::Text, &f.credit_code, errors, true))
                    (form::field(ctx, "licence_ref", "register.licence", Kind::Text, &f.licence_ref, errors, true))
                    (form::field(ctx, "legal_person", "register.legal_person", Kind::Text, &f.legal_person, errors, true))
                }
                (supplier_fieldset(ctx, f, errors))
                (form::field(ctx, "invite_code", "register.invite", Kind::Text, &f.invite_code, errors, false))
                div.actions { button type="submit" { (ctx.t("register.submit")) } }
            }
        }
    };
    layout::page(ctx, &ctx.t("register.title"), None, body)
}

/// `GET /register`
pub async fn register_page(ctx: Ctx) -> PageResult {
    Ok(register_view(
        &ctx,
        &RegisterForm::default(),
        &FormErrors::default(),
    ))
}

/// `POST /register`: checks the form, then runs the API's registration.
pub async fn register_post(
    State(s): State<WebState>,
    ctx: Ctx,
    Form(f): Form<RegisterForm>,
) -> PageResult {
    let lang = ctx.lang;
    let mut e = FormErrors::default();
    let login = e.required(lang, "login", &f.login);
    if f.password.is_empty() {
        e.add("password", lang.t("err.required"));
    } else if f.password != f.password2 {
        e.add("password2", lang.t("err.password_mismatch"));
    }
    let enterprise = match f.kind.as_str() {
        "enterprise" | "supplier" => true,
        "personal" => false,
        _ => {
            e.add("kind", lang.t("err.choose"));
            false
        }
    };
    let invite = f.invite_code.trim();
    let invite_code = (!invite.is_empty()).then(|| invite.to_owned());
    let (draft, fields): (Application, &[(&str, &str)]) = if f.kind == "supplier" {
        (
            Application::Supplier(supplier_draft(lang, &mut e, &login, &f)),
            SUPPLIER_FIELDS,
        )
    } else if enterprise {
        let display_name = e.required(lang, "display_name", &f.display_name);
        let company = e.required(lang, "company_name", &f.company_name);
        let code = e.required(lang, "credit_code", &f.credit_code);
        let licence = e.required(lang, "licence_ref", &f.licence_ref);
        let legal = e.required(lang, "legal_person", &f.legal_person);
        (
            Application::Enterprise(EnterpriseDraft {
                login: login.clone(),
                password: f.password.clone(),
                display_name,
                company_name: company,
                credit_code: code,
                licence_ref: licence,
                legal_person: legal,
                invite_code,
            }),
            &[
                ("login", "login"),
                ("password", "password"),
                ("display_name", "display_name"),
                ("company_name", "company_name"),
                ("credit_code", "credit_code"),
                ("licence_ref", "licence_ref"),
                ("legal_person", "legal_person"),
                ("invite_code", "invite_code"),
                ("code", "invite_code"),
            ],
        )
    } else {
        let name = e.required(lang, "name", &f.name);
        let id = e.required(lang, "id_number", &f.id_number);
        let phone = e.required(lang, "phone", &f.phone);
        (
            Application::Personal(PersonalDraft {
                login: login.clone(),
                password: f.password.clone(),
                name,
                id_number: id,
                phone,
                invite_code,
            }),
            &[
                ("login", "login"),
                ("password", "password"),
                ("name", "name"),
                ("id_number", "id_number"),
                ("phone", "phone"),
                ("invite_code", "invite_code"),
                ("code", "invite_code"),
            ],
        )
    };
    if !e.is_empty() {
        let mut r = register_view(&ctx, &f, &e);
        *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(r);
    }
    let ip = ctx.peer.map(|p| p.ip().to_string()).unwrap_or_default();
    let submitted = api::run_open(&ctx, async {
        match &draft {
            Application::Enterprise(d) => registrations::enterprise(&s.app, &ip, d).await,
            Application::Personal(d) => registrations::personal(&s.app, &ip, d).await,
            Application::Supplier(d) => supply_onboarding::register(&s.app, &ip, d).await,
        }
    })
    .await?;
    match submitted {
        Ok(_) => {
            let body = html! {
                section.narrow {
                    h1 { (ctx.t("register.done.title")) }
                    p { (lang.tf("register.done.body", &[&login])) }
                    p { a.button href="/login" { (ctx.t("nav.login")) } }
                }
            };
            Ok(layout::page(
                &ctx,
                &ctx.t("register.done.title"),
                None,
                body,
            ))
        }
        Err(fail) => {
            e.api(lang, &fail, fields);
            if fail.code == "login_taken" {
                e.general = None;
                e.add("login", lang.t("err.login_taken"));
            }
            if fail.code.starts_with("password") {
                e.general = None;
                e.add("password", form::api_message(lang, &fail));
            }
            let mut r = register_view(&ctx, &f, &e);
            *r.status_mut() = fail.status;
            Ok(r)
        }
    }
}

/// What the registration form applies for.
enum Application {
    /// An enterprise.
    Enterprise(EnterpriseDraft),
    /// A person.
    Personal(PersonalDraft),
    /// A supplier organisation (issue 16).
    Supplier(SupplierDraft),
}

/// The API's field names of a supplier application → the form's.
const SUPPLIER_FIELDS: &[(&str, &str)] = &[
    ("login", "login"),
    ("password", "password"),
    ("display_name", "s_display_name"),
    ("supplier_type", "supplier_type"),
    ("company_name", "s_company_name"),
    ("credit_code", "s_credit_code"),
    ("licence_ref", "s_licence_ref"),
    ("legal_person", "s_legal_person"),
    ("phone", "s_phone"),
    ("qualification", "qualification"),
];

/// The supplier's fields of the registration form: its type, the enterprise real-name
/// data, a contact phone and the qualification credential (pasted JSON).
fn supplier_fieldset(ctx: &Ctx, f: &RegisterForm, errors: &FormErrors) -> Markup {
    let types = [
        (
            "supplier_resource".to_owned(),
            ctx.t("org.kind.supplier_resource"),
        ),
        ("supplier_api".to_owned(), ctx.t("org.kind.supplier_api")),
    ];
    let err = errors.get("qualification");
    html! {
        fieldset data-kind="supplier" {
            legend { (ctx.t("register.supplier")) }
            (form::select(ctx, "supplier_type", "register.supplier_type", &types, &f.supplier_type, errors))
            p.hint { (ctx.t("register.supplier_type.hint")) }
            (form::field(ctx, "s_display_name", "register.display_name", Kind::Text, &f.s_display_name, errors, true))
            (form::field(ctx, "s_company_name", "register.company", Kind::Text, &f.s_company_name, errors, true))
            (form::field(ctx, "s_credit_code", "register.credit_code", Kind::Text, &f.s_credit_code, errors, true))
            (form::field(ctx, "s_licence_ref", "register.licence", Kind::Text, &f.s_licence_ref, errors, true))
            (form::field(ctx, "s_legal_person", "register.legal_person", Kind::Text, &f.s_legal_person, errors, true))
            (form::field(ctx, "s_phone", "register.contact_phone", Kind::Text, &f.s_phone, errors, true))
            div.field.has-error[err.is_some()] {
                label for="f-qualification" { (ctx.t("register.qualification")) span.req aria-hidden="true" { " *" } }
                p.hint id="f-qualification-hint" { (ctx.t("register.qualification.hint")) }
                textarea id="f-qualification" name="qualification" rows="8" required
                    aria-invalid=[err.map(|_| "true")]
                    aria-describedby=(if err.is_some() { "f-qualification-hint f-qualification-err" } else { "f-qualification-hint" }) {
                    (f.qualification)
                }
                @if let Some(m) = err { p.field-error id="f-qualification-err" role="alert" { (m) } }
            }
        }
    }
}

/// The supplier application of the form; missing fields and a credential that is not
/// JSON are marked on `e`.
fn supplier_draft(lang: Lang, e: &mut FormErrors, login: &str, f: &RegisterForm) -> SupplierDraft {
    let qualification = match f.qualification.trim() {
        "" => {
            e.add("qualification", lang.t("err.required"));
            serde_json::Value::Null
        }
        text => serde_json::from_str(text).unwrap_or_else(|_| {
            e.add("qualification", lang.t("err.qualification_json"));
            serde_json::Value::Null
        }),
    };
    if f.supplier_type.is_empty() {
        e.add("supplier_type", lang.t("err.choose"));
    }
    SupplierDraft {
        login: login.to_owned(),
        password: f.password.clone(),
        display_name: e.required(lang, "s_display_name", &f.s_display_name),
        supplier_type: f.supplier_type.clone(),
        company_name: e.required(lang, "s_company_name", &f.s_company_name),
        credit_code: e.required(lang, "s_credit_code", &f.s_credit_code),
        licence_ref: e.required(lang, "s_licence_ref", &f.s_licence_ref),
        legal_person: e.required(lang, "s_legal_person", &f.s_legal_person),
        phone: e.required(lang, "s_phone", &f.s_phone),
        qualification,
    }
}

/// A hidden CSRF field (re-exported for the console modules).
pub fn csrf_field(ctx: &Ctx) -> Markup {
    csrf(ctx)
}

#[cfg(test)]
mod tests {
    use super::{LoginForm, RegisterForm};

    #[test]
    fn form_debug_hides_passwords_and_id_numbers() {
        let login = LoginForm {
            login: "alice".into(),
            password: "pw-SECRET".into(),
            totp_code: "123456".into(),
            ..LoginForm::default()
        };
        let debug = format!("{login:?}");
        assert!(
            !debug.contains("pw-SECRET") && !debug.contains("123456"),
            "{debug}"
        );
        assert!(debug.contains("alice"));
        let reg = RegisterForm {
            password: "pw-SECRET".into(),
            password2: "pw-SECRET".into(),
            id_number: "110101199001011234".into(),
            ..RegisterForm::default()
        };
        let debug = format!("{reg:?}");
        assert!(!debug.contains("pw-SECRET") && !debug.contains("110101199001011234"));
    }
}
