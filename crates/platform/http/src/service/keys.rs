//! The caller's own DID key (`docs/key-custody.md`): which DID and public key sign the
//! caller's chain records and whether the DID is on the identity chain yet. The secret
//! stays sealed; exporting it is [`crate::keys::export_my_key`].

use super::me::{count_failure, require_session};
use super::security::{settings, verify_password};
use super::{ServiceError, ServiceResult};
use crate::AppState;
use crate::auth::Authed;
use suanli_platform_store::UserKeyRecord;

/// The caller's key, if it has one yet (every signed-in user may read its own).
pub async fn mine(s: &AppState, a: &Authed) -> ServiceResult<Option<UserKeyRecord>> {
    Ok(s.store.get_user_key(a.user.id).await?)
}

/// The secret key of an exported DID key, with its DID and public key.
pub struct KeyExport {
    /// The DID.
    pub did: Option<String>,
    /// The public key.
    pub public_key: String,
    /// The secret key as PKCS#8 v1 PEM (zeroed when dropped).
    pub pkcs8_pem: zeroize::Zeroizing<String>,
}

/// Written by hand: the secrets are redacted.
impl std::fmt::Debug for KeyExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyExport")
            .field("did", &self.did)
            .field("public_key", &self.public_key)
            .field("pkcs8_pem", &"<redacted>")
            .finish()
    }
}

fn no_key() -> ServiceError {
    ServiceError::Absent {
        code: "no_key",
        message: "you have no DID key yet: it is created at registration, or at your first \
                  password change when someone else set your password"
            .to_owned(),
    }
}

/// The caller's key, or `no_key` (not found).
pub async fn mine_or_none(s: &AppState, a: &Authed) -> ServiceResult<UserKeyRecord> {
    mine(s, a).await?.ok_or_else(no_key)
}

/// Exports the caller's secret key after checking `password` again: needs a logged-in
/// session; a wrong password counts like a failed login from `ip` (account lock,
/// per-address throttling).
pub async fn export(
    s: &AppState,
    a: &Authed,
    ip: &str,
    password: String,
) -> ServiceResult<KeyExport> {
    require_session(a, "export the DID key")?;
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
            message: "too many failed password checks from this address; try again later"
                .to_owned(),
        });
    }
    if a.user.locked_until_ms.is_some_and(|t| t > now) {
        return Err(ServiceError::Throttled {
            code: "account_locked",
            locked: true,
            message: "too many failed password checks; the account is temporarily locked"
                .to_owned(),
        });
    }
    let stored = mine_or_none(s, a).await?;
    let password = zeroize::Zeroizing::new(password);
    if !verify_password(s, password.to_string(), a.user.password_hash.clone()).await {
        count_failure(s, &a.user, now, ip).await?;
        return Err(ServiceError::Invalid {
            code: "invalid_credentials",
            field: Some("password".to_owned()),
            message: "the password is wrong".to_owned(),
        });
    }
    let pem = s.custody.export_pem(&stored, &password).await.map_err(|e| {
        tracing::error!(user_id = a.user.id.get(), error = %e, "the user key does not open with the verified password");
        ServiceError::Internal("the user key does not open".to_owned())
    })?;
    tracing::info!(user_id = a.user.id.get(), "DID key exported");
    Ok(KeyExport {
        did: stored.did,
        public_key: stored.public_key,
        pkcs8_pem: pem,
    })
}
