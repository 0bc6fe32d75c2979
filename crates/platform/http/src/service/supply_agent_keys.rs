//! The supplier's agent keys (`docs/supply.md` §3.1, `docs/key-custody.md` §9): list,
//! delegate and revoke, through the [`AgentKeys`](crate::agent_keys::AgentKeys) port.
//! Delegating and revoking are signed by the supplier DID's key: the supplier
//! administrator's password unseals it for that one request (the same checks as a key
//! export — a logged-in session, throttling, a wrong password counting as a failed
//! login), and only the administrator whose DID is the supplier DID can do it.

use super::{ServiceError, ServiceResult};
use crate::AppState;
use crate::agent_keys::{AgentKeyFacts, AgentKeys};
use crate::auth::Authed;
use std::sync::Arc;
use suanli_platform_domain::Permission;
use suanli_primitives::{PublicKey, SecretKey, Signature};

/// Longest fragment, in characters.
pub const FRAGMENT_CHARS_MAX: usize = 32;

/// A delegation asked for.
#[derive(Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelegateRequest {
    /// The agent's public key, hex (what `suanli agent keygen` printed).
    pub public_key: String,
    /// The agent key's proof of possession, hex (what `suanli agent proof` printed).
    pub proof: String,
    /// Its fragment in the DID document (`agent-1`, …).
    pub fragment: String,
    /// The supplier administrator's password (unseals the supplier DID key).
    pub password: String,
}

/// A revocation asked for.
#[derive(Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    /// The agent's public key, hex.
    pub public_key: String,
    /// The supplier administrator's password.
    pub password: String,
}

/// Written by hand: the password is redacted.
impl std::fmt::Debug for DelegateRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DelegateRequest")
            .field("public_key", &self.public_key)
            .field("proof", &self.proof)
            .field("fragment", &self.fragment)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Written by hand: the password is redacted.
impl std::fmt::Debug for RevokeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevokeRequest")
            .field("public_key", &self.public_key)
            .field("password", &"<redacted>")
            .finish()
    }
}

pub(super) fn port(s: &AppState) -> ServiceResult<Arc<dyn AgentKeys>> {
    s.agent_keys.clone().ok_or_else(|| ServiceError::Denied {
        code: "ledger_unavailable",
        field: None,
        message: "no trade chain is attached to this platform".to_owned(),
    })
}

pub(super) fn supplier(a: &Authed) -> ServiceResult<()> {
    if a.org.kind.is_supplier() {
        Ok(())
    } else {
        Err(ServiceError::forbidden())
    }
}

fn agent_key(raw: &str) -> ServiceResult<PublicKey> {
    PublicKey::from_hex(raw.trim()).map_err(|_| ServiceError::Invalid {
        code: "invalid_public_key",
        field: Some("public_key".to_owned()),
        message: "the public key: 64 hex characters of an Ed25519 key (as `suanli agent keygen` prints it)"
            .to_owned(),
    })
}

fn proof(raw: &str) -> ServiceResult<Signature> {
    hex::decode(raw.trim())
        .ok()
        .and_then(|b| Signature::from_bytes(&b).ok())
        .ok_or_else(|| ServiceError::Invalid {
            code: "invalid_proof",
            field: Some("proof".to_owned()),
            message: "the proof: 128 hex characters, as `suanli agent proof` prints them"
                .to_owned(),
        })
}

pub(super) fn fragment(raw: &str) -> ServiceResult<String> {
    let f = raw.trim();
    let ok = !f.is_empty()
        && f.len() <= FRAGMENT_CHARS_MAX
        && f.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && f != "key-1";
    if ok {
        Ok(f.to_owned())
    } else {
        Err(ServiceError::Invalid {
            code: "invalid_fragment",
            field: Some("fragment".to_owned()),
            message: format!(
                "the fragment: 1 to {FRAGMENT_CHARS_MAX} of a-z, 0-9 and '-', not key-1 (e.g. agent-1)"
            ),
        })
    }
}

/// The supplier DID: the caller's own DID (its key's), which must be the DID of a
/// supplier administrator of a supplier organisation.
pub(super) async fn my_did(s: &AppState, a: &Authed) -> ServiceResult<String> {
    let key = super::keys::mine_or_none(s, a).await?;
    key.did.ok_or_else(|| ServiceError::Absent {
        code: "no_did",
        message: "your key has no DID on the identity chain yet".to_owned(),
    })
}

/// The agent keys of the caller's supplier DID (`supply:read`).
pub async fn list(s: &AppState, a: &Authed) -> ServiceResult<Vec<AgentKeyFacts>> {
    a.allow(Permission::SupplyRead)?;
    supplier(a)?;
    let port = port(s)?;
    let did = my_did(s, a).await?;
    tokio::task::spawn_blocking(move || port.agents(&did))
        .await
        .map_err(|e| ServiceError::Internal(format!("agent key task: {e}")))?
        .map_err(|e| ServiceError::Internal(format!("reading the trade chain: {e}")))
}

/// Unseals the caller's DID key with `password` (the key export's checks).
pub(super) async fn unseal(
    s: &AppState,
    a: &Authed,
    ip: &str,
    password: String,
) -> ServiceResult<SecretKey> {
    super::supply_onboarding::require_supplier_key(s, a).await?;
    let export = super::keys::export(s, a, ip, password).await?;
    SecretKey::from_pem(&export.pkcs8_pem)
        .map_err(|e| ServiceError::Internal(format!("the unsealed key does not parse: {e}")))
}

pub(super) fn chain_refusal(e: crate::PortError) -> ServiceError {
    match e {
        crate::PortError::Refused { code, message } => ServiceError::Conflict {
            code,
            field: None,
            message,
        },
        other => ServiceError::Internal(format!("the chain refused or failed: {other}")),
    }
}

/// Delegates an agent key (`supply:manage`, a session and the password).
pub async fn delegate(s: &AppState, a: &Authed, ip: &str, r: DelegateRequest) -> ServiceResult<()> {
    a.allow(Permission::SupplyManage)?;
    supplier(a)?;
    let port = port(s)?;
    let agent = agent_key(&r.public_key)?;
    let fragment = fragment(&r.fragment)?;
    let proof = proof(&r.proof)?;
    let supplier_key = unseal(s, a, ip, r.password).await?;
    tokio::task::spawn_blocking(move || port.delegate(&supplier_key, &agent, &proof, &fragment))
        .await
        .map_err(|e| ServiceError::Internal(format!("delegation task: {e}")))?
        .map_err(chain_refusal)?;
    tracing::info!(user_id = a.user.id.get(), agent = %agent, "agent key delegated");
    Ok(())
}

/// Revokes an agent key (`supply:manage`, a session and the password).
pub async fn revoke(s: &AppState, a: &Authed, ip: &str, r: RevokeRequest) -> ServiceResult<()> {
    a.allow(Permission::SupplyManage)?;
    supplier(a)?;
    let port = port(s)?;
    let agent = agent_key(&r.public_key)?;
    let supplier_key = unseal(s, a, ip, r.password).await?;
    tokio::task::spawn_blocking(move || port.revoke(&supplier_key, &agent))
        .await
        .map_err(|e| ServiceError::Internal(format!("revocation task: {e}")))?
        .map_err(chain_refusal)?;
    tracing::info!(user_id = a.user.id.get(), agent = %agent, "agent key revoked");
    Ok(())
}
