//! The page shell (header with the OEM brand, navigation by permission, language switch,
//! footer) and the friendly error pages (403, 404, 500 and the rest).

use crate::ctx::{Ctx, Oem};
use crate::i18n::{LANG_COOKIE, Lang};
use crate::{WebError, WebState};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use suanli_platform_domain::Permission;

/// Marker on a response that should become a friendly error page.
#[derive(Debug, Clone, Copy)]
pub struct ErrorMarker;

impl axum::response::IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = match &self {
            WebError::Login => return Redirect::to("/login").into_response(),
            WebError::Forbidden => StatusCode::FORBIDDEN,
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::Store(e) => {
                tracing::error!(error = %e, "page failed on the store");
                StatusCode::INTERNAL_SERVER_ERROR
            }
            WebError::Internal(e) => {
                tracing::error!(error = %e, "page failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let mut r = status.into_response();
        r.extensions_mut().insert(ErrorMarker);
        r
    }
}

/// Middleware: any error answer of a page route that is not already a page (a
/// [`WebError`], or an extractor's rejection such as a malformed path id) becomes the
/// friendly page for its status, in the request's language.
pub async fn friendly_errors(State(s): State<WebState>, req: Request, next: Next) -> Response {
    let lang = crate::ctx::lang_of(req.headers(), req.uri().query());
    let is_api = req.uri().path().starts_with("/api/") || req.uri().path() == "/metrics";
    let r = next.run(req).await;
    let status = r.status();
    let is_html = r
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_api || !(status.is_client_error() || status.is_server_error()) || is_html {
        return r;
    }
    let oem = Oem::load(&s.app).await;
    let status = match status {
        StatusCode::FORBIDDEN | StatusCode::NOT_FOUND | StatusCode::INTERNAL_SERVER_ERROR => status,
        s if s.is_server_error() => StatusCode::INTERNAL_SERVER_ERROR,
        // A malformed path id or query: nothing there.
        _ => StatusCode::NOT_FOUND,
    };
    error_page(lang, &oem, status)
}

/// A friendly error page.
pub fn error_page(lang: Lang, oem: &Oem, status: StatusCode) -> Response {
    let code = status.as_u16();
    let key = match code {
        403 => "403",
        404 => "404",
        _ => "500",
    };
    let body = html! {
        section.error-page {
            p.code { (code) }
            h1 { (lang.t(&format!("error.{key}.title"))) }
            p { (lang.t(&format!("error.{key}.body"))) }
            p { a.button href="/" { (lang.t("error.back")) } }
        }
    };
    let ctx = Ctx {
        lang,
        lang_from_query: false,
        oem: oem.clone(),
        auth: None,
        csrf: String::new(),
        here: "/".into(),
        path: "/".into(),
        notice: None,
        headers: Default::default(),
        peer: None,
        audit: None,
    };
    let mut r = shell(&ctx, &lang.t(&format!("error.{key}.title")), None, body);
    *r.status_mut() = if code == 403 || code == 404 {
        status
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    r
}

/// A section of a console: its key (`nav.console` …), base path and sub-pages.
#[derive(Debug, Clone, Copy)]
pub struct Section {
    /// Title key.
    pub title: &'static str,
    /// Links: (href, title key, permission needed).
    pub links: &'static [(&'static str, &'static str, Option<Permission>)],
}

/// The user console's menu.
pub const CONSOLE: Section = Section {
    title: "console.title",
    links: &[
        ("/console", "console.overview", None),
        (
            "/console/account",
            "console.account",
            Some(Permission::AccountRead),
        ),
        (
            "/console/resources",
            "console.resources",
            Some(Permission::AccountRead),
        ),
        // Issue 16, the agent's part: access details of work orders.
        (
            "/console/work-orders",
            "wo.mine",
            Some(Permission::AccountRead),
        ),
        // Issue 18, H-trades: My trades.
        (
            "/console/trades",
            "nav.trades",
            Some(Permission::AccountRead),
        ),
        (
            "/console/orders",
            "console.orders",
            Some(Permission::AccountRead),
        ),
        (
            "/console/statements",
            "console.statements",
            Some(Permission::AccountRead),
        ),
        (
            "/console/bills",
            "console.bills",
            Some(Permission::AccountRead),
        ),
        (
            "/console/users",
            "console.users",
            Some(Permission::UserRead),
        ),
        ("/console/tokens", "console.tokens", None),
        ("/console/security", "mfa.title", None),
    ],
};

/// The operations console's menu.
pub const OPS: Section = Section {
    title: "ops.title",
    links: &[
        ("/ops", "ops.dashboard", Some(Permission::OrderManage)),
        (
            "/ops/registrations",
            "ops.registrations",
            Some(Permission::RegistrationReview),
        ),
        ("/ops/customers", "ops.customers", Some(Permission::OrgRead)),
        (
            "/ops/catalogue",
            "ops.catalogue",
            Some(Permission::CatalogueManage),
        ),
        ("/ops/orders", "ops.orders", Some(Permission::OrderManage)),
        (
            "/ops/finance",
            "ops.finance",
            Some(Permission::FinanceManage),
        ),
        (
            "/ops/discounts",
            "ops.discounts",
            Some(Permission::CatalogueManage),
        ),
        (
            "/ops/suppliers",
            "ops.suppliers",
            // The supplier list and review (issue 16); creating one needs org:admin.
            Some(Permission::SupplierReview),
        ),
        // ── issue 16, supplier money ──
        (
            "/ops/supplier-payouts",
            "sm.payouts",
            Some(Permission::FinanceRead),
        ),
        // Issue 18, billing: the operator's view of the exchange.
        ("/ops/trades", "to.title", Some(Permission::FinanceRead)),
        ("/ops/audit", "ops.audit", Some(Permission::AuditRead)),
        // --- supply (issue 16, supply helper)
        (
            "/ops/suppliers/listings",
            "supply.listings",
            Some(Permission::SupplierReview),
        ),
        // issue 17, the market's batch allocation
        (
            "/ops/market/allocations",
            "mk.alloc.title",
            Some(Permission::OrderManage),
        ),
    ],
};

/// The supplier console's menu (one link per area; `crate::supplier`).
pub const SUPPLIER: Section = Section {
    title: "supplier.console",
    links: &[
        (
            "/supplier",
            "supplier.overview",
            Some(Permission::SupplyRead),
        ),
        // --- supply (issue 16, supply helper)
        (
            "/supplier/resources",
            "supply.resources",
            Some(Permission::SupplyRead),
        ),
        (
            "/supplier/modes",
            "supply.modes",
            Some(Permission::SupplyRead),
        ),
        (
            "/supplier/offers",
            "supply.offers",
            Some(Permission::SupplyRead),
        ),
        // ── issue 16, supplier money ──
        (
            "/supplier/trades",
            "sm.trades",
            Some(Permission::SupplyRead),
        ),
        (
            "/supplier/revenue",
            "sm.revenue",
            Some(Permission::SupplyRead),
        ),
        (
            "/supplier/agreement",
            "sm.agreement",
            Some(Permission::SupplyRead),
        ),
        // Issue 16, the agent's part.
        (
            "/supplier/work-orders",
            "wo.title",
            Some(Permission::SupplyRead),
        ),
        (
            "/supplier/agent-keys",
            "ak.title",
            Some(Permission::SupplyRead),
        ),
        // Issue 18, billing: trades placed through the platform.
        (
            "/supplier/exchange",
            "tb.supplied",
            Some(Permission::SupplyRead),
        ),
    ],
};

/// The system console's menu.
pub const SYSTEM: Section = Section {
    title: "sys.title",
    links: &[
        ("/system", "sys.users", Some(Permission::UserRead)),
        ("/system/roles", "sys.roles", None),
        ("/system/orgs", "sys.orgs", Some(Permission::OrgRead)),
        (
            "/system/security",
            "sys.security",
            Some(Permission::SettingsManage),
        ),
        ("/system/oem", "sys.oem", Some(Permission::SettingsManage)),
        ("/system/audit", "sys.audit", Some(Permission::AuditRead)),
    ],
};

/// Renders a full page (200).
pub fn page(ctx: &Ctx, title: &str, section: Option<&Section>, body: Markup) -> Response {
    shell(ctx, title, section, body)
}

fn shell(ctx: &Ctx, title: &str, section: Option<&Section>, body: Markup) -> Response {
    let lang = ctx.lang;
    let brand = ctx.oem.name(lang);
    let other = lang.other();
    let sep = if ctx.here.contains('?') { '&' } else { '?' };
    let switch = format!("{}{sep}lang={}", ctx.here, other.code());
    let year = "2026";
    let copyright = if ctx.oem.copyright.is_empty() {
        format!("© {year} {brand}")
    } else {
        ctx.oem.copyright.clone()
    };
    let markup = html! {
        (DOCTYPE)
        html lang=(lang.html_lang()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (brand) }
                link rel="stylesheet" href="/static/style.css";
                script src="/static/app.js" defer {}
            }
            body {
                a.skip href="#main" { (lang.t("nav.skip")) }
                header.top {
                    a.brand href="/" {
                        span.logo aria-hidden="true" { (ctx.oem.logo(lang)) }
                        span.brand-name { (brand) }
                    }
                    button.menu-toggle type="button" aria-controls="topnav" aria-expanded="false" { (lang.t("nav.menu")) }
                    nav #topnav aria-label=(lang.t("nav.menu")) {
                        a href="/" { (lang.t("nav.portal")) }
                        a href="/market" { (lang.t("nav.market")) }
                        @if let Some(a) = &ctx.auth {
                            @if a.principal.has(Permission::AccountRead) || a.principal.has(Permission::OrderPlace) {
                                a href="/console" { (lang.t("nav.console")) }
                            } @else {
                                a href="/console/tokens" { (lang.t("nav.console")) }
                            }
                            @if SUPPLIER.links.iter().any(|(_, _, p)| p.is_some_and(|p| a.principal.has(p))) {
                                a href=(first_link(ctx, &SUPPLIER)) { (lang.t("nav.supplier")) }
                            }
                            @if OPS.links.iter().any(|(_, _, p)| p.is_some_and(|p| a.principal.has(p))) {
                                a href=(first_link(ctx, &OPS)) { (lang.t("nav.ops")) }
                            }
                            @if SYSTEM.links.iter().any(|(_, _, p)| p.is_some_and(|p| a.principal.has(p))) {
                                a href=(first_link(ctx, &SYSTEM)) { (lang.t("nav.system")) }
                            }
                            span.who { (a.user.display_name) }
                            form.inline method="post" action="/logout" {
                                input type="hidden" name="_csrf" value=(ctx.csrf);
                                button.link type="submit" { (lang.t("nav.logout")) }
                            }
                        } @else {
                            a href="/login" { (lang.t("nav.login")) }
                            a href="/register" { (lang.t("nav.register")) }
                        }
                        a.lang href=(switch) hreflang=(other.code()) lang=(other.html_lang()) { (lang.t("nav.lang")) }
                    }
                }
                div.wrap {
                    @if let Some(sec) = section {
                        nav.side aria-label=(lang.t(sec.title)) {
                            h2 { (lang.t(sec.title)) }
                            ul {
                                @for (href, key, perm) in sec.links {
                                    @if perm.is_none_or(|p| ctx.has(p)) {
                                        li {
                                            a href=(href) aria-current=[(ctx.path == *href).then_some("page")] { (lang.t(key)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    main #main tabindex="-1" {
                        @if let Some(n) = &ctx.notice {
                            p.notice role="status" { (n) }
                        }
                        (body)
                    }
                }
                footer.bottom {
                    span { (copyright) }
                    span { " · " (lang.t("site.tagline")) " · " }
                    a href="/api/v1/openapi.json" { (lang.t("footer.api")) }
                }
            }
        }
    };
    let mut r = (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response();
    // Signed-in pages can carry secrets (a new API token, a TOTP secret, recovery codes,
    // balances): never kept in the browser's cache for back/forward after logout.
    if ctx.auth.is_some() {
        r.headers_mut().insert(
            header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store"),
        );
    }
    if ctx.lang_from_query {
        let c = format!(
            "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            lang.code()
        );
        if let Ok(v) = HeaderValue::from_str(&c) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

fn first_link(ctx: &Ctx, sec: &Section) -> &'static str {
    sec.links
        .iter()
        .find(|(_, _, p)| p.is_none_or(|p| ctx.has(p)))
        .map_or("/", |(h, _, _)| *h)
}

/// A hidden CSRF field.
pub fn csrf(ctx: &Ctx) -> Markup {
    html! { input type="hidden" name="_csrf" value=(ctx.csrf); }
}

/// Raw, trusted markup (SVG built by [`crate::charts`]).
pub fn raw(s: String) -> Markup {
    PreEscaped(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_pages_in_both_languages() {
        for (lang, code, text) in [
            (Lang::Zh, StatusCode::INTERNAL_SERVER_ERROR, "服务暂时出错"),
            (
                Lang::En,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
            ),
            (Lang::En, StatusCode::BAD_GATEWAY, "Something went wrong"),
            (Lang::Zh, StatusCode::FORBIDDEN, "无权访问"),
            (Lang::En, StatusCode::NOT_FOUND, "Page not found"),
        ] {
            let r = error_page(lang, &Oem::default(), code);
            let expect = if code == StatusCode::BAD_GATEWAY {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                code
            };
            assert_eq!(r.status(), expect);
            let body = futures_body(r);
            assert!(body.contains(text), "{body}");
            assert!(body.contains("<html"));
        }
        // A store failure becomes a marked 500 that the middleware turns into the page.
        let r = WebError::Internal("boom".into()).into_response();
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(r.extensions().get::<ErrorMarker>().is_some());
        assert!(
            !futures_body(r).contains("boom"),
            "no detail reaches the user"
        );
    }

    fn futures_body(r: Response) -> String {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let b = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
            String::from_utf8_lossy(&b).into_owned()
        })
    }
}
