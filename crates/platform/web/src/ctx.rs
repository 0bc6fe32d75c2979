//! The page context: language, OEM branding, the signed-in principal (resolved exactly as
//! the API resolves a cookie session) and its CSRF token, and a one-line notice carried
//! across a redirect.

use crate::WebError;
use crate::WebState;
use crate::i18n::{LANG_COOKIE, Lang, has_key};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, Request, header};
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use suanli_platform_domain::Permission;
use suanli_platform_domain::audit::Outcome;
use suanli_platform_http::AppState;
use suanli_platform_http::auth::{Authed, SESSION_COOKIE, Via};
use suanli_platform_http::http::{AuditSlot, set_actor, set_outcome};
use suanli_platform_http::service::{sessions, settings};

/// Settings key of the OEM branding (JSON of [`Oem`]).
pub const OEM_SETTING_KEY: &str = "web.oem";
/// Longest OEM platform name, in characters.
pub const OEM_NAME_CHARS_MAX: usize = 40;
/// Longest OEM logo text, in characters.
pub const OEM_LOGO_CHARS_MAX: usize = 4;
/// Longest OEM copyright line, in characters.
pub const OEM_COPYRIGHT_CHARS_MAX: usize = 120;
/// Longest argument of a notice carried in the query string, in characters.
pub const NOTICE_ARG_CHARS_MAX: usize = 64;

/// OEM branding, applied on every page. Empty fields fall back to the defaults.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Oem {
    /// Platform name (empty: the translated default).
    #[serde(default)]
    pub name: String,
    /// Logo text (a short mark shown in the header).
    #[serde(default)]
    pub logo: String,
    /// Copyright line.
    #[serde(default)]
    pub copyright: String,
}

impl Oem {
    /// Reads the branding; a missing or unreadable setting is the default branding.
    pub async fn load(app: &AppState) -> Oem {
        match settings::read(app, OEM_SETTING_KEY).await {
            Ok(Some(v)) => serde_json::from_str(&v).unwrap_or_default(),
            Ok(None) => Oem::default(),
            Err(e) => {
                tracing::error!(error = %e, "reading the OEM settings failed");
                Oem::default()
            }
        }
    }

    /// The platform name in `lang`.
    pub fn name(&self, lang: Lang) -> String {
        if self.name.is_empty() {
            lang.t("oem.default_name")
        } else {
            self.name.clone()
        }
    }

    /// The logo mark.
    pub fn logo(&self, lang: Lang) -> String {
        if self.logo.is_empty() {
            match lang {
                Lang::Zh => "算".to_owned(),
                Lang::En => "S".to_owned(),
            }
        } else {
            self.logo.clone()
        }
    }
}

/// Pages whose forms are anonymous: their audit records name no actor from a session
/// cookie the request happens to carry.
pub const ANONYMOUS_FORMS: &[&str] = &["/login", "/register"];

/// Everything a page needs about the request.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Display language.
    pub lang: Lang,
    /// Whether the language came from `?lang=` (the response remembers it in a cookie).
    pub lang_from_query: bool,
    /// Branding.
    pub oem: Oem,
    /// The signed-in caller, if any.
    pub auth: Option<Authed>,
    /// The session's CSRF token (for forms).
    pub csrf: String,
    /// Path and query of this page without `lang` (for the language switch).
    pub here: String,
    /// Path only.
    pub path: String,
    /// A notice to show (after a redirect).
    pub notice: Option<String>,
    /// The request's headers (cookie, user agent) for in-process API calls.
    pub headers: HeaderMap,
    /// Client address, when known.
    pub peer: Option<std::net::SocketAddr>,
    /// The audit record's actor slot of this request (the pages' audit layer reads it).
    pub audit: Option<AuditSlot>,
}

/// The language of a request: `?lang=`, else the cookie, else Chinese.
pub fn lang_of(headers: &HeaderMap, query: Option<&str>) -> Lang {
    query_lang(query)
        .or_else(|| cookie(headers, LANG_COOKIE).and_then(Lang::parse))
        .unwrap_or_default()
}

fn query_lang(query: Option<&str>) -> Option<Lang> {
    query.and_then(|q| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(q)
            .ok()?
            .into_iter()
            .find(|(k, _)| k == "lang")
            .and_then(|(_, v)| Lang::parse(&v))
    })
}

/// A cookie's value.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl FromRequestParts<WebState> for Ctx {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, s: &WebState) -> Result<Self, Infallible> {
        let query = parts.uri.query();
        let q_lang = query_lang(query);
        let lang = lang_of(&parts.headers, query);
        let pairs: Vec<(String, String)> = query
            .and_then(|q| serde_urlencoded::from_str(q).ok())
            .unwrap_or_default();
        let notice = notice_of(lang, &pairs);
        let kept: Vec<&(String, String)> = pairs
            .iter()
            .filter(|(k, _)| k != "lang" && k != "msg" && k != "arg")
            .collect();
        let path = parts.uri.path().to_owned();
        let here = if kept.is_empty() {
            path.clone()
        } else {
            format!(
                "{path}?{}",
                serde_urlencoded::to_string(&kept).unwrap_or_default()
            )
        };
        let (auth, csrf) = resolve(&s.app, &parts.headers).await;
        let audit = parts.extensions.get::<AuditSlot>().cloned();
        // On the anonymous forms only a proven login names the actor (a stale session
        // cookie must not take the blame for someone's failed login).
        if let Some(a) = &auth
            && !ANONYMOUS_FORMS.contains(&path.as_str())
        {
            set_actor(audit.as_ref(), a.user.id.get(), a.org.id.get());
        }
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0);
        Ok(Ctx {
            lang,
            lang_from_query: q_lang.is_some(),
            oem: Oem::load(&s.app).await,
            auth,
            csrf,
            here,
            path,
            notice,
            headers: parts.headers.clone(),
            peer,
            audit,
        })
    }
}

/// `?msg=KEY&arg=A` → the translated notice, for keys of the table only.
fn notice_of(lang: Lang, pairs: &[(String, String)]) -> Option<String> {
    let key = pairs.iter().find(|(k, _)| k == "msg").map(|(_, v)| v)?;
    if !has_key(key) {
        return None;
    }
    let arg: String = pairs
        .iter()
        .find(|(k, _)| k == "arg")
        .map(|(_, v)| v.chars().take(NOTICE_ARG_CHARS_MAX).collect())
        .unwrap_or_default();
    Some(lang.tf(key, &[&arg]))
}

/// Resolves the session cookie with the API's own extractor (a GET, so no CSRF header is
/// needed), then reads the session's CSRF token for the page's forms.
async fn resolve(app: &AppState, headers: &HeaderMap) -> (Option<Authed>, String) {
    let Some(raw) = cookie(headers, SESSION_COOKIE) else {
        return (None, String::new());
    };
    if raw.is_empty() {
        return (None, String::new());
    }
    let mut builder = Request::builder().method(Method::GET).uri("/");
    if let Some(c) = headers.get(header::COOKIE) {
        builder = builder.header(header::COOKIE, c.clone());
    }
    let Ok(req) = builder.body(()) else {
        return (None, String::new());
    };
    let (mut parts, ()) = req.into_parts();
    let Ok(authed) = Authed::from_request_parts(&mut parts, app).await else {
        return (None, String::new());
    };
    let csrf = match &authed.via {
        Via::Session(digest) => match sessions::csrf_of(app, digest).await {
            Ok(Some(csrf)) => csrf,
            _ => String::new(),
        },
        Via::Token => String::new(),
    };
    (Some(authed), csrf)
}

impl Ctx {
    /// The client's IP address (empty when unknown), for per-address limits.
    pub fn client_ip(&self) -> String {
        self.peer.map(|p| p.ip().to_string()).unwrap_or_default()
    }

    /// The signed-in caller, or a redirect to the login page.
    /// A refusal is the outcome of the request's audit record.
    pub fn user(&self) -> Result<&Authed, WebError> {
        self.auth.as_ref().ok_or_else(|| {
            self.refused();
            WebError::Login
        })
    }

    /// Records that the request was refused (the outcome of its audit record, whatever
    /// status the page answers with, e.g. a redirect to the login page).
    pub fn refused(&self) {
        set_outcome(self.audit.as_ref(), Outcome::Denied);
    }

    /// The signed-in caller holding `p`, or the 403 page (a refusal, for the audit).
    pub fn require(&self, p: Permission) -> Result<&Authed, WebError> {
        let a = self.user()?;
        if a.principal.has(p) {
            Ok(a)
        } else {
            self.refused();
            Err(WebError::Forbidden)
        }
    }

    /// Whether the caller holds `p`.
    pub fn has(&self, p: Permission) -> bool {
        self.auth.as_ref().is_some_and(|a| a.principal.has(p))
    }

    /// Translates a key in the page's language.
    pub fn t(&self, key: &str) -> String {
        self.lang.t(key)
    }

    /// `path` with the notice `key` (and its argument) for the page after a redirect.
    pub fn notice_url(path: &str, key: &str, arg: &str) -> String {
        let sep = if path.contains('?') { '&' } else { '?' };
        let q = serde_urlencoded::to_string([("msg", key), ("arg", arg)]).unwrap_or_default();
        format!("{path}{sep}{q}")
    }
}
