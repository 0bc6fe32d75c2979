//! The platform-hosted supplier agent (`docs/supply.md` §3.5, `docs/key-custody.md` §9):
//! a supplier without a machine of its own lets the platform run its agent.
//!
//! Starting it (`supply:manage`, a session and the supplier administrator's password, the
//! same checks as delegating a key by hand): the platform generates an Ed25519 agent key,
//! seals it under its hosted-agent key ([`crate::hosted_agents::Keyring`], a file in the
//! data directory, never in the database), records it `starting`, and delegates it through
//! the [`HostedAgentPort`] with the supplier DID key the password unseals for that one
//! request — the agent key signs its own proof of possession. Confirmed, it is `active`;
//! refused by the chain, the record is discarded. `suanli serve` runs every active hosted
//! agent (`crates/bridge/src/hosted_agents.rs`) with [`running`], acting for the
//! organisation as its administrator's agent token would (scope `supply:agent`).
//!
//! Stopping it (the password again) revokes the key on both chains whenever the trade
//! chain knows it (idempotent: what is already revoked is skipped), then marks the agent
//! stopped, from `starting` or `active`, and wipes its sealed key; a start overtaken by a
//! stop revokes the key its delegation authorised. Both check the session before anything
//! else. An agent whose sealed key does not open is not run and is answered with its
//! [`problem`]. One hosted agent per supplier organisation at a time. The key's secret is
//! never logged nor answered.

use super::me::require_session;
use super::supply_agent_keys as ak;
use super::{ServiceError, ServiceResult};
use crate::AppState;
use crate::auth::{Authed, Via};
use crate::hosted_agents::{HostedAgentPort, PolicyRefusal, SealedFor};
use std::sync::Arc;
use suanli_platform_domain::{OrgStatus, Permission, Principal};
use suanli_platform_store::{
    HostedAgentRecord, HostedPolicy, HostedStatus, NewHostedAgent, StoreError,
};
use suanli_primitives::SecretKey;

/// What the supplier asks for.
#[derive(Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// The agent key's verification method fragment (`agent-1`, …; not `key-1`).
    pub fragment: String,
    /// `auto` or `manual`.
    pub mode: String,
    /// With `auto`: most units of an order accepted automatically.
    #[serde(default)]
    pub max_units: Option<u32>,
    /// With `auto`: longest order accepted automatically, in minutes.
    #[serde(default)]
    pub max_minutes: Option<u64>,
    /// With `auto`: largest order value accepted automatically, in fen.
    #[serde(default)]
    pub max_value_fen: Option<i64>,
    /// Offers accepted automatically (absent or empty: every offer).
    #[serde(default)]
    pub offers: Option<Vec<u64>>,
    /// The supplier administrator's password (unseals the supplier DID key).
    pub password: String,
}

/// Written by hand: the password is redacted.
impl std::fmt::Debug for StartRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StartRequest")
            .field("fragment", &self.fragment)
            .field("mode", &self.mode)
            .field("max_units", &self.max_units)
            .field("max_minutes", &self.max_minutes)
            .field("max_value_fen", &self.max_value_fen)
            .field("offers", &self.offers)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The stop request: the administrator's password (revokes the key on the chain).
#[derive(Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StopRequest {
    /// The supplier administrator's password.
    pub password: String,
}

/// Written by hand: the password is redacted.
impl std::fmt::Debug for StopRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StopRequest")
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A hosted agent the platform runs: what the worker needs to build it.
pub struct HostedRun {
    /// The record's id (the agent's store lives under `hosted-agents/<id>`).
    pub id: i64,
    /// The supplier DID it acts for.
    pub supplier_did: String,
    /// Its key, opened from the keyring.
    pub key: SecretKey,
    /// Its verification method fragment.
    pub fragment: String,
    /// Its acceptance policy (checked when it was stored).
    pub policy: HostedPolicy,
    /// Who it acts as on the platform: the administrator who started it, with only the
    /// scope `supply:agent` (what a manual agent's API token has).
    pub acting: Authed,
}

/// Written by hand: the key is never printed.
impl std::fmt::Debug for HostedRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostedRun")
            .field("id", &self.id)
            .field("supplier_did", &self.supplier_did)
            .field("key", &"<redacted>")
            .field("fragment", &self.fragment)
            .finish_non_exhaustive()
    }
}

fn port(s: &AppState) -> ServiceResult<Arc<dyn HostedAgentPort>> {
    s.hosted_agents.clone().ok_or_else(|| ServiceError::Denied {
        code: "ledger_unavailable",
        field: None,
        message: "no trade chain is attached to this platform".to_owned(),
    })
}

fn policy_of(r: &StartRequest) -> HostedPolicy {
    HostedPolicy {
        mode: r.mode.trim().to_owned(),
        max_units: r.max_units,
        max_minutes: r.max_minutes,
        max_value_fen: r.max_value_fen,
        offers: r.offers.clone().unwrap_or_default(),
    }
}

fn policy_refusal(e: PolicyRefusal) -> ServiceError {
    ServiceError::Invalid {
        code: "invalid_policy",
        field: Some(e.field),
        message: format!("the acceptance policy: {}", e.message),
    }
}

fn exists() -> ServiceError {
    ServiceError::Conflict {
        code: "hosted_agent_exists",
        field: None,
        message: "the platform already hosts an agent for this supplier; stop it first".to_owned(),
    }
}

fn internal(what: &str) -> impl Fn(crate::crypto::CryptoError) -> ServiceError + '_ {
    move |e| ServiceError::Internal(format!("{what}: {e}"))
}

/// The organisation's hosted agent (the newest, stopped or not; `supply:read`). None
/// yet: `not_found`.
pub async fn get(s: &AppState, a: &Authed) -> ServiceResult<HostedAgentRecord> {
    a.allow(Permission::SupplyRead)?;
    ak::supplier(a)?;
    s.store
        .latest_hosted_agent(a.org.id)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// Why the organisation's hosted agent `h` cannot run, as a stable code (`None`: it can,
/// or it is stopped): its sealed key does not open under the platform's hosted-agent key
/// ([`crate::hosted_agents::Keyring::problem`]: `hosted_key_missing`,
/// `hosted_key_unreadable`, `hosted_key_unopenable`). Answered with the agent.
pub fn problem(s: &AppState, h: &HostedAgentRecord) -> Option<&'static str> {
    if h.status == HostedStatus::Stopped {
        return None;
    }
    let Some(sealed) = h.sealed_key.as_deref() else {
        return Some("hosted_key_unopenable");
    };
    s.hosted_keyring.problem(sealed, sealed_for(h))
}

fn sealed_for(h: &HostedAgentRecord) -> SealedFor<'_> {
    SealedFor {
        org: h.supplier_org.get(),
        supplier_did: &h.supplier_did,
        public_key: &h.public_key,
    }
}

/// Starts hosting the organisation's agent (`supply:manage`, a session, the password).
/// Answers the agent `active`, or still `starting` when the ledger did not answer.
pub async fn start(
    s: &AppState,
    a: &Authed,
    ip: &str,
    r: StartRequest,
) -> ServiceResult<HostedAgentRecord> {
    a.allow(Permission::SupplyManage)?;
    require_session(a, "start a hosted agent")?;
    ak::supplier(a)?;
    let hosted = port(s)?;
    let fragment = ak::fragment(&r.fragment)?;
    let policy = policy_of(&r);
    let check = policy.clone();
    let checker = Arc::clone(&hosted);
    tokio::task::spawn_blocking(move || checker.check_policy(&check))
        .await
        .map_err(|e| ServiceError::Internal(format!("policy task: {e}")))?
        .map_err(policy_refusal)?;
    let running = s.store.latest_hosted_agent(a.org.id).await?;
    if running.is_some_and(|h| h.status != HostedStatus::Stopped) {
        return Err(exists());
    }
    let supplier_key = ak::unseal(s, a, ip, r.password).await?;
    let supplier_did = ak::my_did(s, a).await?;
    let agent = SecretKey::generate()
        .map_err(|e| ServiceError::Internal(format!("generating the agent key: {e}")))?;
    let public_key = agent.public().to_hex();
    let sealed_key = s
        .hosted_keyring
        .seal(
            &agent,
            SealedFor {
                org: a.org.id.get(),
                supplier_did: &supplier_did,
                public_key: &public_key,
            },
        )
        .map_err(internal("sealing the agent key"))?;
    let new = NewHostedAgent {
        supplier_org: a.org.id,
        supplier_did: supplier_did.clone(),
        public_key,
        fragment: fragment.clone(),
        sealed_key,
        policy,
        created_by: a.user.id,
        created_ms: s.clock.now_unix_ms(),
    };
    let rec = match s.store.create_hosted_agent(&new).await {
        Err(StoreError::Conflict(_)) => return Err(exists()),
        other => other?,
    };
    let (delegated, supplier_key) = tokio::task::spawn_blocking(move || {
        let done = hosted.delegate_hosted(&supplier_key, &supplier_did, &agent, &fragment);
        (done, supplier_key)
    })
    .await
    .map_err(|e| ServiceError::Internal(format!("delegation task: {e}")))?;
    match delegated {
        Ok(()) => confirmed(s, &rec, supplier_key).await?,
        Err(crate::PortError::Refused { code, message }) => {
            s.store.discard_hosted_agent(rec.id).await?;
            return Err(ak::chain_refusal(crate::PortError::Refused {
                code,
                message,
            }));
        }
        // Unknown outcome (the ledger did not answer): the record stays `starting` and is
        // answered so; the worker activates it once the chain shows the key (`running`).
        Err(e) => {
            tracing::warn!(error = %e, agent = %rec.public_key, "hosted agent's delegation not confirmed yet");
        }
    }
    tracing::info!(user_id = a.user.id.get(), agent = %rec.public_key, "hosted agent started");
    get(s, a).await
}

/// The delegation of `rec` committed: it becomes `active` — unless the worker activated it
/// meanwhile (nothing to do), or it was stopped while the delegation was on its way: then
/// the key the stop could not see on the chain yet is revoked now.
async fn confirmed(
    s: &AppState,
    rec: &HostedAgentRecord,
    supplier_key: SecretKey,
) -> ServiceResult<()> {
    match s
        .store
        .activate_hosted_agent(rec.id, s.clock.now_unix_ms())
        .await
    {
        Ok(()) => return Ok(()),
        Err(StoreError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    let now = s.store.latest_hosted_agent(rec.supplier_org).await?;
    let stopped = now.is_none_or(|h| h.id != rec.id || h.status == HostedStatus::Stopped);
    if stopped {
        tracing::info!(agent = %rec.public_key, "hosted agent stopped while starting: revoking its key");
        revoke(s, supplier_key, rec).await?;
    }
    Ok(())
}

/// Revokes `rec`'s key on both chains if the trade chain knows it (revoked there or not:
/// the revocation also removes the key from the supplier's DID document when it is still
/// listed there, and skips what is already done). A key the chain never saw (a delegation
/// still unanswered) has nothing to revoke.
async fn revoke(
    s: &AppState,
    supplier_key: SecretKey,
    rec: &HostedAgentRecord,
) -> ServiceResult<()> {
    let keys = ak::port(s)?;
    let (did, public) = (rec.supplier_did.clone(), rec.public_key.clone());
    tokio::task::spawn_blocking(move || {
        let known = keys.agents(&did)?.iter().any(|k| k.key == public);
        if !known {
            return Ok(());
        }
        let agent = suanli_primitives::PublicKey::from_hex(&public).map_err(|e| {
            crate::PortError::Refused {
                code: "chain_refused",
                message: format!("stored agent key: {e}"),
            }
        })?;
        keys.revoke(&supplier_key, &agent)
    })
    .await
    .map_err(|e| ServiceError::Internal(format!("revocation task: {e}")))?
    .map_err(ak::chain_refusal)
}

/// Stops the organisation's hosted agent (`supply:manage`, a session, the password):
/// its key revoked on both chains (when the trade chain knows it), the agent stopped and
/// its sealed key wiped. None running: `not_found`.
pub async fn stop(
    s: &AppState,
    a: &Authed,
    ip: &str,
    r: StopRequest,
) -> ServiceResult<HostedAgentRecord> {
    a.allow(Permission::SupplyManage)?;
    require_session(a, "stop a hosted agent")?;
    ak::supplier(a)?;
    ak::port(s)?;
    let rec = s
        .store
        .latest_hosted_agent(a.org.id)
        .await?
        .filter(|h| h.status != HostedStatus::Stopped)
        .ok_or(ServiceError::NotFound)?;
    let supplier_key = ak::unseal(s, a, ip, r.password).await?;
    revoke(s, supplier_key, &rec).await?;
    let now = s.clock.now_unix_ms();
    match s.store.stop_hosted_agent(rec.id, a.user.id, now).await {
        Err(StoreError::NotFound) => return Err(ServiceError::NotFound),
        other => other?,
    }
    tracing::info!(user_id = a.user.id.get(), agent = %rec.public_key, "hosted agent stopped");
    get(s, a).await
}

/// The hosted agents to run now, for the worker (no caller: this is the platform acting
/// for each supplier). A `starting` agent whose key the chain shows authorised becomes
/// `active`; one whose administrator is disabled or whose organisation is not active is
/// left out (logged). Never answered by any API.
pub async fn running(s: &AppState) -> ServiceResult<Vec<HostedRun>> {
    let keys = ak::port(s)?;
    let mut out = Vec::new();
    for rec in s.store.running_hosted_agents().await? {
        // One agent's trouble (a store error confirming it, a key that does not open)
        // is logged and leaves the others running.
        if rec.status == HostedStatus::Starting {
            match confirm(s, &keys, &rec).await {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(hosted_agent = rec.id, code = e.code(), error = %e, "confirming a hosted agent");
                    continue;
                }
            }
        }
        match run_of(s, rec).await {
            Ok(Some(run)) => out.push(run),
            Ok(None) => {}
            Err(e) => tracing::warn!(code = e.code(), error = %e, "hosted agent not runnable"),
        }
    }
    Ok(out)
}

/// Activates a `starting` agent once the chain shows its key authorised.
async fn confirm(
    s: &AppState,
    keys: &Arc<dyn crate::agent_keys::AgentKeys>,
    rec: &HostedAgentRecord,
) -> ServiceResult<bool> {
    let (port, did, public) = (
        Arc::clone(keys),
        rec.supplier_did.clone(),
        rec.public_key.clone(),
    );
    let listed = tokio::task::spawn_blocking(move || port.agents(&did))
        .await
        .map_err(|e| ServiceError::Internal(format!("agent key task: {e}")))?;
    let authorised = match listed {
        Ok(list) => list
            .iter()
            .any(|k| k.key == public && k.revoked_at_ms.is_none()),
        Err(e) => {
            tracing::warn!(error = %e, "reading the hosted agent's key from the chain");
            false
        }
    };
    if authorised {
        match s
            .store
            .activate_hosted_agent(rec.id, s.clock.now_unix_ms())
            .await
        {
            Ok(()) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(authorised)
}

async fn run_of(s: &AppState, rec: HostedAgentRecord) -> ServiceResult<Option<HostedRun>> {
    let Some(user) = s.store.get_user(rec.created_by).await? else {
        return Ok(None);
    };
    let Some(org) = s.store.get_org(rec.supplier_org).await? else {
        return Ok(None);
    };
    if user.disabled || org.status != OrgStatus::Active || user.org != org.id {
        tracing::info!(
            hosted_agent = rec.id,
            "hosted agent paused: its administrator or organisation is not active"
        );
        return Ok(None);
    }
    let Some(sealed) = rec.sealed_key.as_deref() else {
        return Ok(None);
    };
    let key = match s.hosted_keyring.open(sealed, sealed_for(&rec)) {
        Ok(k) => k,
        Err(e) => {
            let code = crate::hosted_agents::problem_code(&e);
            tracing::error!(hosted_agent = rec.id, code, error = %e, "hosted agent not runnable: its sealed key does not open");
            return Ok(None);
        }
    };
    let principal = Principal::new(user.id, org.id, org.kind, user.roles.iter().copied())
        .with_scopes([Permission::SupplyAgent]);
    Ok(Some(HostedRun {
        id: rec.id,
        supplier_did: rec.supplier_did,
        key,
        fragment: rec.fragment,
        policy: rec.policy,
        acting: Authed {
            principal,
            user,
            org,
            via: Via::Token,
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::{StartRequest, StopRequest};

    #[test]
    fn the_requests_hide_the_password() {
        let secret = "s3cret-VALUE-never-printed";
        let start = StartRequest {
            fragment: "hosted-1".into(),
            mode: "manual".into(),
            password: secret.into(),
            ..StartRequest::default()
        };
        let stop = StopRequest {
            password: secret.into(),
        };
        for debug in [format!("{start:?}"), format!("{stop:?}")] {
            assert!(!debug.contains(secret), "{debug}");
            assert!(debug.contains("<redacted>"), "{debug}");
        }
    }
}
