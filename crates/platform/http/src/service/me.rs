//! The caller's own account: password change (the DID key follows the password), TOTP
//! enrolment with recovery codes, and API tokens. Account-security changes need a
//! logged-in session: an API token, whatever its scopes, cannot take over its account.

use super::security::{check_new_password, hash_password, new_user_key, settings, verify_password};
use super::{ServiceError, ServiceResult};
use crate::AppState;
use crate::auth::{Authed, TOKEN_PREFIX, Via};
use crate::crypto::{self, random_token, token_digest, totp, totp_match};
use serde::{Deserialize, Serialize};
use suanli_platform_domain::{Permission, TokenId};
use suanli_platform_store::{NewToken, TokenRecord, UserRecord};

/// Longest API token lifetime, in seconds (one year).
pub const TOKEN_TTL_SECS_MAX: u32 = 365 * 86_400;
/// Longest API token name, in characters.
pub const TOKEN_NAME_CHARS_MAX: usize = 64;
/// Recovery codes issued when TOTP is enabled.
pub const RECOVERY_CODES_COUNT: usize = 10;

/// Account-security changes (password, MFA, tokens, key export) need a logged-in
/// session (`session_required`).
pub fn require_session(a: &Authed, what: &str) -> ServiceResult<()> {
    if a.via == Via::Token {
        return Err(ServiceError::Denied {
            code: "session_required",
            field: None,
            message: format!("API tokens cannot {what}; log in"),
        });
    }
    Ok(())
}

/// Counts a failed password check from client address `ip`.
pub fn ip_fail(s: &AppState, ip: &str, now: i64, window_ms: i64) {
    if let Ok(mut w) = s.login_failures.lock() {
        w.fail(ip, now, window_ms);
    }
}

/// Counts a failed password check of `user` from `ip`: per address, and per account
/// (locking it after the policy's number of failures).
pub async fn count_failure(
    s: &AppState,
    user: &UserRecord,
    now: i64,
    ip: &str,
) -> ServiceResult<()> {
    s.metrics.login_failed();
    let window_ms = i64::from(settings(s).await?.login.ip_window_secs) * 1000;
    ip_fail(s, ip, now, window_ms);
    let n = s.store.add_failed_login(user.id).await?;
    let policy = settings(s).await?.login;
    if let Some(until) = policy.lock_after_failure(n, now) {
        s.store.lock_user(user.id, until).await?;
        tracing::warn!(
            user_id = user.id.get(),
            "account locked after failed logins"
        );
    }
    Ok(())
}

/// Changes the caller's password (`current` must match; a wrong one counts like a failed
/// login from `ip`). The DID key follows: re-encrypted under the new password, or — for
/// an account whose password someone else set — created now. Ends every session of the
/// user.
pub async fn change_password(
    s: &AppState,
    a: &Authed,
    ip: &str,
    current: &str,
    new: &str,
) -> ServiceResult<()> {
    require_session(a, "change the password")?;
    if !verify_password(s, current.to_owned(), a.user.password_hash.clone()).await {
        count_failure(s, &a.user, s.clock.now_unix_ms(), ip).await?;
        return Err(ServiceError::Invalid {
            code: "invalid_credentials",
            field: Some("current_password".to_owned()),
            message: "the current password is wrong".to_owned(),
        });
    }
    check_new_password(s, new, &a.user.login, Some(a.user.id), "new_password").await?;
    let now = s.clock.now_unix_ms();
    let key = match s.store.get_user_key(a.user.id).await? {
        Some(stored) => s
            .custody
            .rewrap(&stored, current, new, now)
            .await
            .map_err(|e| {
                tracing::error!(user_id = a.user.id.get(), error = %e, "re-encrypting the user key failed");
                ServiceError::Internal("re-encrypting the user key failed".to_owned())
            })?,
        None => new_user_key(s, new).await?,
    };
    let hash = hash_password(s, new.to_owned()).await?;
    s.store
        .set_password(a.user.id, &hash, now, Some(&key))
        .await?;
    s.did_kick.notify_one();
    Ok(())
}

/// A started TOTP enrolment.
#[derive(Clone, Serialize)]
pub struct TotpEnrolment {
    /// The secret, base32.
    pub secret_base32: String,
    /// The `otpauth://` URI for authenticator apps.
    pub otpauth_uri: String,
}

/// Written by hand: the secrets are redacted.
impl std::fmt::Debug for TotpEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpEnrolment")
            .field("secret_base32", &"<redacted>")
            .field("otpauth_uri", &"<redacted>")
            .finish()
    }
}

fn already_enabled() -> ServiceError {
    ServiceError::Conflict {
        code: "mfa_already_enabled",
        field: None,
        message: "TOTP is already enabled".to_owned(),
    }
}

fn internal(what: &str) -> ServiceError {
    ServiceError::Internal(what.to_owned())
}

/// Starts TOTP enrolment: a new secret, not yet required.
pub async fn totp_setup(s: &AppState, a: &Authed) -> ServiceResult<TotpEnrolment> {
    require_session(a, "enrol MFA")?;
    if a.user.totp_enabled {
        return Err(already_enabled());
    }
    let secret = crypto::random_bytes::<20>().map_err(|_| internal("no randomness"))?;
    let sealed = s
        .cipher
        .seal(&secret)
        .map_err(|_| internal("sealing the TOTP secret failed"))?;
    s.store.set_totp(a.user.id, Some(&sealed), false).await?;
    let b32 = totp(secret.to_vec()).get_secret_base32();
    let uri = format!(
        "otpauth://totp/suanli:{}?secret={b32}&issuer=suanli&algorithm=SHA1&digits={}&period={}",
        a.user.login,
        crypto::TOTP_DIGITS,
        crypto::TOTP_STEP_SECS
    );
    Ok(TotpEnrolment {
        secret_base32: b32,
        otpauth_uri: uri,
    })
}

/// Enables TOTP after a correct `code`; the recovery codes (shown once; stored as
/// SHA-256 digests).
pub async fn totp_confirm(s: &AppState, a: &Authed, code: &str) -> ServiceResult<Vec<String>> {
    require_session(a, "enrol MFA")?;
    if a.user.totp_enabled {
        return Err(already_enabled());
    }
    let sealed = a
        .user
        .totp_secret_enc
        .clone()
        .ok_or_else(|| ServiceError::Conflict {
            code: "mfa_not_started",
            field: None,
            message: "start with POST /api/v1/me/mfa/totp".to_owned(),
        })?;
    let secret = s
        .cipher
        .open(&sealed)
        .map_err(|_| internal("opening the TOTP secret failed"))?;
    let now_secs = u64::try_from(s.clock.now_unix_ms() / 1000).unwrap_or(0);
    let step =
        totp_match(&totp(secret), code.trim(), now_secs).ok_or_else(|| ServiceError::Invalid {
            code: "mfa_invalid",
            field: Some("code".to_owned()),
            message: "wrong TOTP code".to_owned(),
        })?;
    s.store
        .use_totp_step(a.user.id, i64::try_from(step).unwrap_or(i64::MAX))
        .await?;
    let mut codes = Vec::with_capacity(RECOVERY_CODES_COUNT);
    for _ in 0..RECOVERY_CODES_COUNT {
        let b = crypto::random_bytes::<8>().map_err(|_| internal("no randomness"))?;
        codes.push(hex::encode(b));
    }
    let digests: Vec<String> = codes.iter().map(|c| token_digest(c)).collect();
    s.store.replace_recovery_codes(a.user.id, &digests).await?;
    s.store.set_totp(a.user.id, Some(&sealed), true).await?;
    Ok(codes)
}

/// A new API token.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TokenDraft {
    /// Name (1 to [`TOKEN_NAME_CHARS_MAX`] characters).
    pub name: String,
    /// Scopes: permissions the caller holds.
    pub scopes: Vec<Permission>,
    /// Lifetime, 1 to [`TOKEN_TTL_SECS_MAX`] seconds.
    pub ttl_secs: u32,
}

/// Creates an API token; the token is in the answer once and never again.
pub async fn create_token(
    s: &AppState,
    a: &Authed,
    r: &TokenDraft,
) -> ServiceResult<(String, TokenRecord)> {
    if a.via == Via::Token {
        return Err(ServiceError::Denied {
            code: "forbidden",
            field: None,
            message: "API tokens cannot create API tokens; log in".to_owned(),
        });
    }
    let name = r.name.trim();
    if name.is_empty() || name.chars().count() > TOKEN_NAME_CHARS_MAX {
        return Err(ServiceError::invalid("name", "1 to 64 characters"));
    }
    if r.scopes.is_empty() {
        return Err(ServiceError::invalid("scopes", "at least one scope"));
    }
    if let Some(p) = r.scopes.iter().find(|p| !a.principal.has(**p)) {
        return Err(ServiceError::Denied {
            code: "forbidden",
            field: Some("scopes".to_owned()),
            message: format!("you do not hold {} yourself", p.as_str()),
        });
    }
    if r.ttl_secs == 0 || r.ttl_secs > TOKEN_TTL_SECS_MAX {
        return Err(ServiceError::invalid("ttl_secs", "1 to 31536000 seconds"));
    }
    let now = s.clock.now_unix_ms();
    let token = format!(
        "{TOKEN_PREFIX}{}",
        random_token().map_err(|_| internal("no randomness"))?
    );
    let mut scopes = r.scopes.clone();
    scopes.sort();
    scopes.dedup();
    let rec = s
        .store
        .create_token(&NewToken {
            user: a.user.id,
            name: name.to_owned(),
            token_hash: token_digest(&token),
            scopes,
            created_ms: now,
            expires_ms: now + i64::from(r.ttl_secs) * 1000,
        })
        .await?;
    Ok((token, rec))
}

/// The caller's API tokens.
pub async fn tokens(s: &AppState, a: &Authed) -> ServiceResult<Vec<TokenRecord>> {
    require_session(a, "manage API tokens")?;
    Ok(s.store.list_tokens(a.user.id).await?)
}

/// Revokes the caller's API token `id` (another user's is not found).
pub async fn revoke_token(s: &AppState, a: &Authed, id: i64) -> ServiceResult<()> {
    let tid = TokenId::new(id).ok_or(ServiceError::NotFound)?;
    if s.store.revoke_token(a.user.id, tid).await? {
        Ok(())
    } else {
        Err(ServiceError::NotFound)
    }
}
