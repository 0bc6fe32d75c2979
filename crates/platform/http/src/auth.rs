//! Authentication: who is calling.
//!
//! Two ways in:
//! - **session cookie** `suanli_session` (HttpOnly, SameSite=Strict, `Secure` when
//!   configured), set by `POST /api/v1/auth/login`. Because browsers send cookies
//!   automatically, every state-changing request on a cookie session must also carry the
//!   session's CSRF token in the `X-CSRF-Token` header (returned by login);
//! - **API token** `Authorization: Bearer slt_…`, created by the user, limited to scopes
//!   (a subset of permissions) and an expiry. Not sent automatically, so no CSRF token.
//!
//! The database holds SHA-256 digests of session and API tokens, never the tokens.

use crate::AppState;
use crate::crypto::{ct_eq, token_digest};
use crate::error::ApiError;
use crate::http::{AuditSlot, set_actor};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use suanli_platform_domain::{OrgStatus, Permission, Principal};
use suanli_platform_store::{OrgRecord, UserRecord};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "suanli_session";
/// Header carrying the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Prefix of API tokens.
pub const TOKEN_PREFIX: &str = "slt_";

/// How the caller authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// Cookie session (digest of its token).
    Session(String),
    /// API token.
    Token,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Authed {
    /// The principal authorisation decides on.
    pub principal: Principal,
    /// The user row.
    pub user: UserRecord,
    /// The user's organisation.
    pub org: OrgRecord,
    /// How it authenticated.
    pub via: Via,
}

impl Authed {
    /// Requires a permission: `403 insufficient_scope` when the roles grant it but the
    /// API token's scopes do not, `403 forbidden` otherwise.
    pub fn require(&self, p: Permission) -> Result<(), ApiError> {
        if self.principal.has(p) {
            return Ok(());
        }
        let by_roles = Principal::new(
            self.principal.user_id(),
            self.principal.org_id(),
            self.principal.org_kind(),
            self.principal.roles(),
        );
        if self.via == Via::Token && by_roles.has(p) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                format!("the API token lacks the scope {}", p.as_str()),
            ));
        }
        Err(ApiError::forbidden())
    }
}

fn cookie_value<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn unauth(code: &'static str, message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, code, message)
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        let now = s.clock.now_unix_ms();
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        // `known`: the user and organisation when the token lookup already read them.
        let (user_id, via, scopes, known) = if let Some(token) = bearer {
            let digest = token_digest(token.trim());
            // Token, user and organisation in one round trip; a token without them is
            // looked up alone so the answer can say what is missing.
            let (t, known) = match s.store.token_principal(&digest).await? {
                Some(p) => (p.token, Some((p.user, p.org))),
                None => (
                    s.store
                        .get_token_by_hash(&digest)
                        .await?
                        .ok_or_else(|| unauth("invalid_token", "unknown API token"))?,
                    None,
                ),
            };
            if t.revoked {
                return Err(unauth("token_revoked", "the API token was revoked"));
            }
            if t.expires_ms <= now {
                return Err(unauth("token_expired", "the API token has expired"));
            }
            (t.user, Via::Token, Some(t.scopes), known)
        } else if let Some(raw) = cookie_value(parts, SESSION_COOKIE) {
            let digest = token_digest(raw);
            let sess = s
                .store
                .get_session(&digest)
                .await?
                .ok_or_else(|| unauth("session_invalid", "no such session; log in again"))?;
            if sess.expires_ms <= now {
                s.store.delete_session(&digest).await?;
                return Err(unauth(
                    "session_expired",
                    "the session has expired; log in again",
                ));
            }
            if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
                let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
                match sent {
                    None => {
                        return Err(ApiError::new(
                            StatusCode::FORBIDDEN,
                            "csrf_missing",
                            "state-changing requests on a cookie session need the X-CSRF-Token header",
                        ));
                    }
                    Some(v) if !ct_eq(v.as_bytes(), sess.csrf_token.as_bytes()) => {
                        return Err(ApiError::new(
                            StatusCode::FORBIDDEN,
                            "csrf_invalid",
                            "the X-CSRF-Token header does not match the session",
                        ));
                    }
                    Some(_) => {}
                }
            }
            (sess.user, Via::Session(digest), None, None)
        } else {
            return Err(ApiError::unauthenticated());
        };
        let (user, org) = match known {
            Some(k) => k,
            None => {
                let user = s
                    .store
                    .get_user(user_id)
                    .await?
                    .ok_or_else(|| unauth("invalid_token", "the account no longer exists"))?;
                if user.disabled {
                    return Err(unauth("account_disabled", "the account is disabled"));
                }
                let org = s
                    .store
                    .get_org(user.org)
                    .await?
                    .ok_or_else(ApiError::internal)?;
                (user, org)
            }
        };
        if user.disabled {
            return Err(unauth("account_disabled", "the account is disabled"));
        }
        if org.status != OrgStatus::Active {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "org_inactive",
                "the organisation is not active",
            ));
        }
        let mut principal = Principal::new(user.id, org.id, org.kind, user.roles.iter().copied());
        if let Some(sc) = scopes {
            principal = principal.with_scopes(sc);
        }
        set_actor(
            parts.extensions.get::<AuditSlot>(),
            user.id.get(),
            org.id.get(),
        );
        Ok(Authed {
            principal,
            user,
            org,
            via,
        })
    }
}

/// The `Set-Cookie` value for a new session.
pub fn session_cookie(token: &str, max_age_secs: u32, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
    )
}

/// The `Set-Cookie` value that clears the session cookie.
pub fn clear_cookie(secure: bool) -> String {
    session_cookie("", 0, secure)
}
