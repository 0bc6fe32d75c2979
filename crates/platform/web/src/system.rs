//! The system console: users and roles of the operator, the role → permission matrix,
//! the organisation structure, security settings (password policy, lockout, sessions),
//! OEM branding (applied on every page) and the audit log.

use crate::api;
use crate::console::{UserForm, users_create, users_view};
use crate::ctx::{
    Ctx, OEM_COPYRIGHT_CHARS_MAX, OEM_LOGO_CHARS_MAX, OEM_NAME_CHARS_MAX, OEM_SETTING_KEY, Oem,
};
use crate::form::{self, FormErrors, Kind};
use crate::layout::{self, SYSTEM, csrf};
use crate::ops_pages::{AuditQuery, audit_view};
use crate::{PageResult, WebError, WebState};
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use maud::html;
use serde::Deserialize;
use suanli_platform_domain::security::SecuritySettings;
use suanli_platform_domain::{Permission, Role};
use suanli_platform_http::crypto::ct_eq;
use suanli_platform_http::service::{self, orgs, security};
use suanli_platform_store::PAGE_SIZE_MAX;

/// `GET /system`
pub async fn users(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    users_view(
        &s,
        &ctx,
        "/system",
        &UserForm::default(),
        &FormErrors::default(),
        &SYSTEM,
    )
    .await
}

/// `POST /system`
pub async fn users_post(
    State(s): State<WebState>,
    ctx: Ctx,
    Form(f): Form<UserForm>,
) -> PageResult {
    users_create(&s, &ctx, &f, "/system", &SYSTEM).await
}

/// `GET /system/roles`: every role, where it may be held and what it grants.
pub async fn roles(ctx: Ctx) -> PageResult {
    ctx.user()?;
    let body = html! {
        h1 { (ctx.t("sys.roles")) }
        div.scroll {
            table.data.matrix #roles {
                thead { tr {
                    th { (ctx.t("sys.role")) } th { (ctx.t("sys.held_in")) }
                    @for p in Permission::ALL { th { code { (p.as_str()) } } }
                } }
                tbody {
                    @for r in Role::ALL {
                        tr {
                            th { code { (r.as_str()) } }
                            td { @for k in suanli_platform_domain::OrgKind::ALL { @if r.allowed_in(k) { (ctx.t(&format!("org.kind.{}", k.as_str()))) " " } } }
                            @for p in Permission::ALL {
                                td.center { @if r.permissions().contains(&p) { "✓" } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(&ctx, &ctx.t("sys.roles"), Some(&SYSTEM), body))
}

/// `GET /system/orgs`: organisations grouped by kind, customers under their distributor.
pub async fn orgs(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    let a = ctx.require(Permission::OrgRead)?;
    let all = service::Page {
        after: 0,
        limit: PAGE_SIZE_MAX,
    };
    let list = orgs::list(&s.app, a, all).await?;
    let lang = ctx.lang;
    let body = html! {
        h1 { (ctx.t("sys.orgs")) }
        @for k in suanli_platform_domain::OrgKind::ALL {
            @let of_kind: Vec<_> = list.iter().filter(|o| o.kind == k).collect();
            @if !of_kind.is_empty() {
                section {
                    h2 { (ctx.t(&format!("org.kind.{}", k.as_str()))) " (" (of_kind.len()) ")" }
                    ul.tree {
                        @for o in &of_kind {
                            li {
                                a href=(format!("/ops/customers/{}", o.id.get())) { (o.name) }
                                " · " (ctx.t(&format!("org.status.{}", o.status.as_str())))
                                " · " (lang.date(o.created_ms))
                                @if let Some(d) = o.distributor {
                                    " · " (ctx.t("sys.distributor")) ": "
                                    (list.iter().find(|x| x.id == d).map_or_else(|| format!("#{}", d.get()), |x| x.name.clone()))
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(&ctx, &ctx.t("sys.orgs"), Some(&SYSTEM), body))
}

/// The security settings form.
#[derive(Debug, Default, Deserialize)]
pub struct SecurityForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    min_chars: String,
    #[serde(default)]
    history: String,
    #[serde(default)]
    require_mixed: Option<String>,
    #[serde(default)]
    failures_max: String,
    #[serde(default)]
    lock_secs: String,
    #[serde(default)]
    session_ttl_secs: String,
    #[serde(default)]
    sessions_per_user_max: String,
}

fn security_view(
    ctx: &Ctx,
    current: &SecuritySettings,
    f: Option<&SecurityForm>,
    e: &FormErrors,
) -> axum::response::Response {
    let (p, l) = (&current.password, &current.login);
    let v = |group: &str, k: &str| {
        let n = match (group, k) {
            ("password", "min_chars") => p.min_chars,
            ("password", "history") => p.history,
            ("login", "failures_max") => l.failures_max,
            ("login", "lock_secs") => l.lock_secs,
            ("login", "session_ttl_secs") => l.session_ttl_secs,
            ("login", "sessions_per_user_max") => l.sessions_per_user_max,
            _ => return String::new(),
        };
        n.to_string()
    };
    let pick = |given: Option<&String>, group: &str, k: &str| {
        given.cloned().unwrap_or_else(|| v(group, k))
    };
    let mixed = f.map_or(p.require_mixed, |f| f.require_mixed.is_some());
    let body = html! {
        h1 { (ctx.t("sys.security")) }
        (form::summary(ctx, e))
        form method="post" action="/system/security" novalidate {
            (csrf(ctx))
            (form::field(ctx, "min_chars", "sec.min_chars", Kind::Integer, &pick(f.map(|f| &f.min_chars), "password", "min_chars"), e, true))
            (form::field(ctx, "history", "sec.history", Kind::Integer, &pick(f.map(|f| &f.history), "password", "history"), e, true))
            (form::checkbox(ctx, "require_mixed", "sec.mixed", mixed))
            (form::field(ctx, "failures_max", "sec.failures_max", Kind::Integer, &pick(f.map(|f| &f.failures_max), "login", "failures_max"), e, true))
            (form::field(ctx, "lock_secs", "sec.lock_secs", Kind::Integer, &pick(f.map(|f| &f.lock_secs), "login", "lock_secs"), e, true))
            (form::field(ctx, "session_ttl_secs", "sec.session_ttl", Kind::Integer, &pick(f.map(|f| &f.session_ttl_secs), "login", "session_ttl_secs"), e, true))
            (form::field(ctx, "sessions_per_user_max", "sec.sessions_max", Kind::Integer, &pick(f.map(|f| &f.sessions_per_user_max), "login", "sessions_per_user_max"), e, true))
            div.actions { button type="submit" { (ctx.t("sec.save")) } }
        }
        p.hint { (ctx.t("sec.mfa_note")) }
    };
    layout::page(ctx, &ctx.t("sys.security"), Some(&SYSTEM), body)
}

async fn current_security(s: &WebState, ctx: &Ctx) -> Result<SecuritySettings, WebError> {
    let a = ctx.require(Permission::SettingsManage)?;
    Ok(security::read_settings(&s.app, a).await?)
}

/// `GET /system/security`
pub async fn security(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    ctx.require(Permission::SettingsManage)?;
    let current = current_security(&s, &ctx).await?;
    Ok(security_view(&ctx, &current, None, &FormErrors::default()))
}

/// `POST /system/security`: validated here, then saved by the API (which validates again).
pub async fn security_post(
    State(s): State<WebState>,
    ctx: Ctx,
    Form(f): Form<SecurityForm>,
) -> PageResult {
    let a = ctx.require(Permission::SettingsManage)?;
    let lang = ctx.lang;
    let current = current_security(&s, &ctx).await?;
    let mut e = FormErrors::default();
    let big = i64::from(u32::MAX);
    let min_chars = e.int(lang, "min_chars", &f.min_chars, 1, 1024);
    let history = e.int(lang, "history", &f.history, 0, 1024);
    let failures = e.int(lang, "failures_max", &f.failures_max, 1, big);
    let lock = e.int(lang, "lock_secs", &f.lock_secs, 1, big);
    let ttl = e.int(lang, "session_ttl_secs", &f.session_ttl_secs, 1, big);
    let sessions = e.int(
        lang,
        "sessions_per_user_max",
        &f.sessions_per_user_max,
        1,
        big,
    );
    if e.is_empty() {
        let n = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
        let mut new = current;
        new.password.min_chars = n(min_chars);
        new.password.history = n(history);
        new.password.require_mixed = f.require_mixed.is_some();
        new.login.failures_max = n(failures);
        new.login.lock_secs = n(lock);
        new.login.session_ttl_secs = n(ttl);
        new.login.sessions_per_user_max = n(sessions);
        match api::run(&ctx, &f.csrf, security::save_settings(&s.app, a, &new)).await? {
            Ok(_) => {
                return Ok(
                    Redirect::to(&Ctx::notice_url("/system/security", "sec.saved", ""))
                        .into_response(),
                );
            }
            Err(fail) => e.api(
                lang,
                &fail,
                &[
                    ("password.min_chars", "min_chars"),
                    ("password.history", "history"),
                    ("login.failures_max", "failures_max"),
                    ("login.lock_secs", "lock_secs"),
                    ("login.session_ttl_secs", "session_ttl_secs"),
                    ("login.sessions_per_user_max", "sessions_per_user_max"),
                ],
            ),
        }
    }
    let mut r = security_view(&ctx, &current, Some(&f), &e);
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(r)
}

/// The OEM form.
#[derive(Debug, Default, Deserialize)]
pub struct OemForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    logo: String,
    #[serde(default)]
    copyright: String,
}

fn oem_view(ctx: &Ctx, f: &OemForm, e: &FormErrors) -> axum::response::Response {
    let body = html! {
        h1 { (ctx.t("sys.oem")) }
        (form::summary(ctx, e))
        form method="post" action="/system/oem" novalidate {
            (csrf(ctx))
            (form::field(ctx, "name", "oem.name", Kind::Text, &f.name, e, false))
            (form::field(ctx, "logo", "oem.logo", Kind::Text, &f.logo, e, false))
            (form::field(ctx, "copyright", "oem.copyright", Kind::Text, &f.copyright, e, false))
            div.actions { button type="submit" { (ctx.t("common.save")) } }
        }
    };
    layout::page(ctx, &ctx.t("sys.oem"), Some(&SYSTEM), body)
}

/// `GET /system/oem`
pub async fn oem(ctx: Ctx) -> PageResult {
    ctx.require(Permission::SettingsManage)?;
    let f = OemForm {
        csrf: String::new(),
        name: ctx.oem.name.clone(),
        logo: ctx.oem.logo.clone(),
        copyright: ctx.oem.copyright.clone(),
    };
    Ok(oem_view(&ctx, &f, &FormErrors::default()))
}

/// `POST /system/oem`: checks the CSRF token itself (no API endpoint carries OEM
/// settings) and stores the branding; the audit layer of the pages records the change.
pub async fn oem_post(State(s): State<WebState>, ctx: Ctx, Form(f): Form<OemForm>) -> PageResult {
    let a = ctx.require(Permission::SettingsManage)?;
    if ctx.csrf.is_empty() || !ct_eq(f.csrf.as_bytes(), ctx.csrf.as_bytes()) {
        return Err(WebError::Forbidden);
    }
    let lang = ctx.lang;
    let mut e = FormErrors::default();
    let bounded = |e: &mut FormErrors, field: &str, v: &str, max: usize| -> String {
        let v = v.trim();
        if v.chars().count() > max || v.chars().any(char::is_control) {
            e.add(field, lang.tf("err.range", &["0", &max.to_string()]));
        }
        v.to_owned()
    };
    let oem = Oem {
        name: bounded(&mut e, "name", &f.name, OEM_NAME_CHARS_MAX),
        logo: bounded(&mut e, "logo", &f.logo, OEM_LOGO_CHARS_MAX),
        copyright: bounded(&mut e, "copyright", &f.copyright, OEM_COPYRIGHT_CHARS_MAX),
    };
    if !e.is_empty() {
        let mut r = oem_view(&ctx, &f, &e);
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(r);
    }
    let text = serde_json::to_string(&oem).map_err(|e| WebError::Internal(e.to_string()))?;
    suanli_platform_http::service::settings::write(&s.app, a, OEM_SETTING_KEY, &text).await?;
    // The page's audit layer records the change (actor, address, outcome).
    Ok(Redirect::to(&Ctx::notice_url("/system/oem", "oem.saved", "")).into_response())
}

/// `GET /system/audit`
pub async fn audit(State(s): State<WebState>, ctx: Ctx, Query(q): Query<AuditQuery>) -> PageResult {
    audit_view(&s, &ctx, &q, &SYSTEM, "/system/audit").await
}
