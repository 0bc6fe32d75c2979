//! Security rules shared by every area that sets a password or reads the policy: the
//! stored security settings, password hashing and checking (argon2id, off the async
//! runtime), the password policy with its history, and the DID key every user gets
//! sealed under its password.

use super::{ServiceError, ServiceResult};
use crate::AppState;
use suanli_platform_domain::UserId;
use suanli_platform_domain::org::{DisplayName, Login};
use suanli_platform_domain::security::{PasswordError, SecuritySettings};
use suanli_platform_store::NewUserKey;

/// Settings key of the security settings document.
pub const SECURITY_SETTINGS_KEY: &str = "security";

/// The security settings in force (the defaults until an administrator saves some).
pub async fn settings(s: &AppState) -> ServiceResult<SecuritySettings> {
    match s.store.get_setting(SECURITY_SETTINGS_KEY).await? {
        Some(text) => serde_json::from_str(&text).map_err(|e| {
            tracing::error!(error = %e, "stored security settings do not parse");
            ServiceError::Internal("stored security settings do not parse".to_owned())
        }),
        None => Ok(SecuritySettings::default()),
    }
}

/// The argon2id hash of `password` (computed off the async runtime).
pub async fn hash_password(s: &AppState, password: String) -> ServiceResult<String> {
    let h = s.hasher.clone();
    tokio::task::spawn_blocking(move || h.hash(&password))
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?
        .map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            ServiceError::Internal("password hashing failed".to_owned())
        })
}

/// Whether `password` matches the hash `phc` (computed off the async runtime).
pub async fn verify_password(s: &AppState, password: String, phc: String) -> bool {
    let h = s.hasher.clone();
    tokio::task::spawn_blocking(move || h.verify(&password, &phc))
        .await
        .unwrap_or(false)
}

/// A refusal of the password policy on `field` (`password_reused`, `password_policy`).
pub fn policy_error(e: PasswordError, field: &str) -> ServiceError {
    let code = if e == PasswordError::Reused {
        "password_reused"
    } else {
        "password_policy"
    };
    ServiceError::Invalid {
        code,
        field: Some(field.to_owned()),
        message: e.to_string(),
    }
}

/// Checks a new password against the policy and (for existing users) the history.
pub async fn check_new_password(
    s: &AppState,
    password: &str,
    login: &str,
    user: Option<UserId>,
    field: &str,
) -> ServiceResult<()> {
    let policy = settings(s).await?.password;
    policy
        .check(password, login)
        .map_err(|e| policy_error(e, field))?;
    if let Some(u) = user
        && policy.history > 0
    {
        for old in s.store.password_history(u, policy.history).await? {
            if verify_password(s, password.to_owned(), old).await {
                return Err(policy_error(PasswordError::Reused, field));
            }
        }
    }
    Ok(())
}

/// A new DID key sealed under `password` (with its DID-creating transaction when an
/// identity chain is attached).
pub async fn new_user_key(s: &AppState, password: &str) -> ServiceResult<NewUserKey> {
    s.custody
        .create(password, s.dids.as_ref(), s.clock.now_unix_ms())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "creating a user key failed");
            ServiceError::Internal("creating a user key failed".to_owned())
        })
}

/// A login (`invalid_field` on `login`).
pub fn parse_login(raw: &str) -> ServiceResult<Login> {
    parse_login_at(raw, "login")
}

/// A login (`invalid_field` on `field`).
pub fn parse_login_at(raw: &str, field: &str) -> ServiceResult<Login> {
    Login::parse(raw)
        .ok_or_else(|| ServiceError::invalid(field, "3 to 64 characters of a-z, 0-9 and . _ @ -"))
}

/// A display name (`invalid_field` on `field`).
pub fn parse_name(raw: &str, field: &str) -> ServiceResult<DisplayName> {
    DisplayName::parse(raw).ok_or_else(|| {
        ServiceError::invalid(field, "1 to 100 characters without control characters")
    })
}

/// The security settings, for an administrator (`settings.manage`).
pub async fn read_settings(
    s: &AppState,
    a: &crate::auth::Authed,
) -> ServiceResult<SecuritySettings> {
    a.allow(suanli_platform_domain::Permission::SettingsManage)?;
    settings(s).await
}

/// Replaces the security settings (validated: `invalid_field` on the offending one).
pub async fn save_settings(
    s: &AppState,
    a: &crate::auth::Authed,
    new: &SecuritySettings,
) -> ServiceResult<()> {
    a.allow(suanli_platform_domain::Permission::SettingsManage)?;
    new.validate()
        .map_err(|e| ServiceError::invalid(e.field, e.message))?;
    let text = serde_json::to_string(new).map_err(|e| ServiceError::Internal(e.to_string()))?;
    s.store.put_setting(SECURITY_SETTINGS_KEY, &text).await?;
    Ok(())
}
