//! Sessions: login (password, then TOTP or a recovery code when enabled; throttled per
//! client address and locked per account after failures; timing does not reveal which
//! logins exist) and logout. The edge turns a [`Session`] into its cookie.

use super::me::{count_failure, ip_fail};
use super::security::{settings, verify_password};
use super::{ServiceError, ServiceResult};
use crate::AppState;
use crate::auth::{Authed, Via};
use crate::crypto::{random_token, token_digest, totp, totp_match};
use serde::{Deserialize, Serialize};
use suanli_platform_domain::OrgStatus;
use suanli_platform_domain::org::Login;
use suanli_platform_store::{SessionRecord, UserRecord};

/// Login credentials.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// Login.
    pub login: String,
    /// Password.
    pub password: String,
    /// TOTP code, when the account has TOTP.
    #[serde(default)]
    pub totp_code: Option<String>,
    /// A recovery code instead of the TOTP code.
    #[serde(default)]
    pub recovery_code: Option<String>,
}

/// Written by hand: the secrets are redacted.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("login", &self.login)
            .field("password", &"<redacted>")
            .field("totp_code", &self.totp_code.as_ref().map(|_| "<redacted>"))
            .field(
                "recovery_code",
                &self.recovery_code.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// A new session.
#[derive(Clone)]
pub struct Session {
    /// The session token (the cookie's value; the store keeps its digest).
    pub token: String,
    /// Its CSRF token.
    pub csrf_token: String,
    /// Lifetime, in seconds.
    pub ttl_secs: u32,
    /// Expiry, ms.
    pub expires_ms: i64,
    /// Older sessions of the user ended to keep within the limit.
    pub sessions_ended: u32,
    /// The user.
    pub user: UserRecord,
}

/// Written by hand: the secrets are redacted.
impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("token", &"<redacted>")
            .field("csrf_token", &"<redacted>")
            .field("ttl_secs", &self.ttl_secs)
            .field("expires_ms", &self.expires_ms)
            .field("sessions_ended", &self.sessions_ended)
            .field("user", &self.user)
            .finish()
    }
}

fn refused(code: &'static str, message: &str) -> ServiceError {
    ServiceError::Unauthenticated {
        code,
        message: message.to_owned(),
    }
}

fn denied(code: &'static str, message: &str) -> ServiceError {
    ServiceError::Denied {
        code,
        field: None,
        message: message.to_owned(),
    }
}

fn internal(what: &str) -> ServiceError {
    ServiceError::Internal(what.to_owned())
}

/// Checks the second factor of `user`: a TOTP code or a recovery code (each usable once).
async fn second_factor(
    s: &AppState,
    user: &UserRecord,
    c: &Credentials,
    now: i64,
) -> ServiceResult<bool> {
    match (&c.totp_code, &c.recovery_code) {
        (Some(code), _) => {
            let secret = user
                .totp_secret_enc
                .as_deref()
                .map(|enc| s.cipher.open(enc))
                .transpose()
                .map_err(|_| internal("the TOTP secret does not open"))?
                .ok_or_else(|| internal("TOTP enabled without a secret"))?;
            let now_secs = u64::try_from(now / 1000).unwrap_or(0);
            Ok(match totp_match(&totp(secret), code.trim(), now_secs) {
                Some(step) => {
                    s.store
                        .use_totp_step(user.id, i64::try_from(step).unwrap_or(i64::MAX))
                        .await?
                }
                None => false,
            })
        }
        (None, Some(code)) => Ok(s
            .store
            .use_recovery_code(user.id, &token_digest(code.trim()), now)
            .await?),
        (None, None) => Err(refused(
            "mfa_required",
            "this account needs a TOTP code (totp_code) or a recovery code",
        )),
    }
}

/// Logs in from client address `ip`. `proven(user, org)` is called as soon as the
/// password is proven (the edge audits the attempt under that name from then on).
pub async fn login(
    s: &AppState,
    ip: &str,
    c: &Credentials,
    proven: impl FnOnce(i64, i64),
) -> ServiceResult<Session> {
    let now = s.clock.now_unix_ms();
    let lp = settings(s).await?.login;
    let window_ms = i64::from(lp.ip_window_secs) * 1000;
    let allowed = s
        .login_failures
        .lock()
        .map(|w| w.allowed(ip, now, window_ms, lp.ip_failures_max))
        .unwrap_or(true);
    if !allowed {
        return Err(ServiceError::Throttled {
            code: "too_many_attempts",
            locked: false,
            message: "too many failed logins from this address; try again later".to_owned(),
        });
    }
    let user = match Login::parse(&c.login) {
        Some(l) => s.store.get_user_by_login(l.as_str()).await?,
        None => None,
    };
    let wrong = || refused("invalid_credentials", "wrong login or password");
    let Some(user) = user else {
        // Same work as a real check, so timing does not reveal which logins exist.
        let _ = verify_password(s, c.password.clone(), s.dummy_hash()).await;
        s.metrics.login_failed();
        ip_fail(s, ip, now, window_ms);
        tracing::info!("login failed: unknown login");
        return Err(wrong());
    };
    if user.locked_until_ms.is_some_and(|t| t > now) {
        s.metrics.login_locked();
        return Err(ServiceError::Throttled {
            code: "account_locked",
            locked: true,
            message: "too many failed logins; the account is temporarily locked".to_owned(),
        });
    }
    if !verify_password(s, c.password.clone(), user.password_hash.clone()).await {
        count_failure(s, &user, now, ip).await?;
        tracing::info!(user_id = user.id.get(), "login failed: wrong password");
        return Err(wrong());
    }
    proven(user.id.get(), user.org.get());
    if user.totp_enabled && !second_factor(s, &user, c, now).await? {
        count_failure(s, &user, now, ip).await?;
        return Err(refused(
            "mfa_invalid",
            "the TOTP or recovery code is wrong, expired or already used",
        ));
    }
    if user.disabled {
        return Err(denied("account_disabled", "the account is disabled"));
    }
    let org = s
        .store
        .get_org(user.org)
        .await?
        .ok_or_else(|| internal("the user's organisation is missing"))?;
    match org.status {
        OrgStatus::Active => {}
        OrgStatus::Pending => {
            return Err(denied(
                "account_pending",
                "the real-name registration is waiting for review",
            ));
        }
        OrgStatus::Rejected | OrgStatus::Suspended => {
            return Err(denied("org_inactive", "the organisation is not active"));
        }
    }
    open_session(s, user, now).await
}

async fn open_session(s: &AppState, user: UserRecord, now: i64) -> ServiceResult<Session> {
    s.store.clear_failed_logins(user.id).await?;
    let policy = settings(s).await?.login;
    let token = random_token().map_err(|_| internal("no randomness"))?;
    let csrf = random_token().map_err(|_| internal("no randomness"))?;
    let expires_ms = now + i64::from(policy.session_ttl_secs) * 1000;
    s.store
        .create_session(&SessionRecord {
            token_hash: token_digest(&token),
            user: user.id,
            csrf_token: csrf.clone(),
            created_ms: now,
            expires_ms,
        })
        .await?;
    let ended = s
        .store
        .trim_sessions(
            user.id,
            policy.sessions_per_user_max,
            now,
            &token_digest(&token),
        )
        .await?;
    s.metrics.login_ok();
    tracing::info!(
        user_id = user.id.get(),
        sessions_ended = ended,
        "login succeeded"
    );
    Ok(Session {
        token,
        csrf_token: csrf,
        ttl_secs: policy.session_ttl_secs,
        expires_ms,
        sessions_ended: ended,
        user,
    })
}

/// Ends the caller's session (an API token has none to end).
pub async fn logout(s: &AppState, a: &Authed) -> ServiceResult<()> {
    if let Via::Session(digest) = &a.via {
        s.store.delete_session(digest).await?;
    }
    Ok(())
}

/// The CSRF token of the session whose token digest is `digest`, if it exists.
pub async fn csrf_of(s: &AppState, digest: &str) -> ServiceResult<Option<String>> {
    Ok(s.store.get_session(digest).await?.map(|x| x.csrf_token))
}
