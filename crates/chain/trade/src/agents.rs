//! Agent keys: a supplier delegates a key to its agent (`suanli agent`) so that its own
//! enrolled key can stay offline. Part of [`crate::contract::TradeContract`]'s execution.
//!
//! Rules (codes in `docs/trade.md` §5): only a supplier's own enrolled key authorises or
//! revokes (`agent_not_allowed` for an agent key), with the agent key's proof of
//! possession (`bad_signature`); a key serves one party or agent only
//! (`key_in_use`); a fragment names one key of the supplier (`fragment_in_use`); at most
//! [`AGENTS_PER_SUPPLIER_MAX`] active keys per supplier and
//! [`AGENTS_RECORDED_PER_SUPPLIER_MAX`] in all, revoked ones included (`limit_reached`);
//! revocation is permanent (`agent_key_revoked` for every later use), and re-enrolling
//! the supplier with another key revokes all its agent keys. An agent key signs,
//! for its supplier only, `accept`, `checkin`, `close` and the channel operations but `bond` — the
//! contract resolves it to the supplier's party ([`Actor`]) and checks its signatures and
//! credential proofs against the agent key and its fragment.

use suanli_ledger::contract::ContractError;
use suanli_primitives::{PublicKey, Signature};

use crate::contract::Exec;
use crate::model::Role;
use crate::op::{agent_proof_digest, verify_digest};
use crate::records::{
    AgentKey, Party, agent_count_key, agent_index_key, agent_key, corrupt, decode_u64, keyof_key,
};

/// Most active (not revoked) agent keys one supplier may have.
pub const AGENTS_PER_SUPPLIER_MAX: u64 = 16;
/// Most agent keys one supplier may authorise in all, revoked ones included (they stay
/// on record, and every authorisation and channel check reads them).
pub const AGENTS_RECORDED_PER_SUPPLIER_MAX: u64 = 256;

fn err(code: &'static str, message: impl Into<String>) -> ContractError {
    ContractError::new(code, message)
}

/// Who signed: the party, and the agent key if it was not the party's own key.
#[derive(Debug, Clone)]
pub(crate) struct Actor {
    pub(crate) party: Party,
    pub(crate) agent: Option<AgentKey>,
}

impl Actor {
    /// The key that signed the transaction (and must have signed the record's signatures
    /// and credential proofs).
    pub(crate) fn key(&self) -> &PublicKey {
        self.agent.as_ref().map_or(&self.party.key, |a| &a.key)
    }

    /// The verification method fragment of [`Actor::key`] in the party's DID document.
    pub(crate) fn fragment(&self) -> &str {
        self.agent
            .as_ref()
            .map_or(self.party.key_fragment.as_str(), |a| {
                a.key_fragment.as_str()
            })
    }

    /// Since when [`Actor::key`] acts for the party.
    pub(crate) fn since_ms(&self) -> u64 {
        self.agent
            .as_ref()
            .map_or(self.party.key_since_ms, |a| a.authorised_at_ms)
    }
}

impl Exec<'_, '_> {
    pub(crate) fn agent(&self, key: &PublicKey) -> Result<Option<AgentKey>, ContractError> {
        self.get(&agent_key(key), "agent key")
    }

    /// The refusal for an agent key where only a party's own key may act.
    pub(crate) fn refuse_agent(&self, agent: &AgentKey) -> ContractError {
        if agent.is_revoked() {
            return revoked(agent);
        }
        err(
            "agent_not_allowed",
            format!(
                "an agent key of {} may only accept, check in, close and run channels of its supplier's trades (never post its bonds)",
                agent.supplier
            ),
        )
    }

    /// The signer as a party or as an active agent key of a supplier.
    pub(crate) fn actor(&self) -> Result<Actor, ContractError> {
        if self.state.get(&keyof_key(self.ctx.signer)).is_some() {
            return Ok(Actor {
                party: self.signer()?,
                agent: None,
            });
        }
        let Some(agent) = self.agent(self.ctx.signer)? else {
            return self.signer().map(|party| Actor { party, agent: None });
        };
        if agent.is_revoked() {
            return Err(revoked(&agent));
        }
        let party = self
            .party(&agent.supplier)?
            .ok_or_else(|| corrupt("party"))?;
        Ok(Actor {
            party,
            agent: Some(agent),
        })
    }

    pub(crate) fn authorise_agent(
        &mut self,
        key: PublicKey,
        key_fragment: String,
        proof: &Signature,
    ) -> Result<(), ContractError> {
        let supplier = self.signer()?;
        if !supplier.has(Role::Supplier) {
            return Err(err(
                "role_missing",
                format!("{} is not enrolled as a supplier", supplier.did),
            ));
        }
        let digest = agent_proof_digest(&supplier.did, &key, &key_fragment);
        if !verify_digest(&key, &digest, proof) {
            return Err(err(
                "bad_signature",
                format!(
                    "the proof does not verify with key {key}: the agent key signs its consent to act for {} as #{key_fragment}",
                    supplier.did
                ),
            ));
        }
        if let Some(existing) = self.agent(&key)? {
            if existing.is_revoked() {
                return Err(revoked(&existing));
            }
            return Err(err(
                "key_in_use",
                format!("key {key} is already an agent key"),
            ));
        }
        if self.state.get(&keyof_key(&key)).is_some() {
            return Err(err(
                "key_in_use",
                format!("key {key} is enrolled for a party; an agent key must be its own"),
            ));
        }
        let count_key = agent_count_key(&supplier.did);
        let n = decode_u64(self.state.get(&count_key));
        if n >= AGENTS_RECORDED_PER_SUPPLIER_MAX {
            return Err(err(
                "limit_reached",
                format!(
                    "a supplier may authorise at most {AGENTS_RECORDED_PER_SUPPLIER_MAX} agent keys in all, revoked ones included"
                ),
            ));
        }
        let mut taken = key_fragment == supplier.key_fragment;
        let mut active = 0;
        for i in 0..n {
            if let Some(other) = self.agent_at(&supplier, i)?
                && !other.is_revoked()
            {
                active += 1;
                taken |= other.key_fragment == key_fragment;
            }
        }
        if active >= AGENTS_PER_SUPPLIER_MAX {
            return Err(err(
                "limit_reached",
                format!(
                    "a supplier may have at most {AGENTS_PER_SUPPLIER_MAX} active agent keys; revoke one first"
                ),
            ));
        }
        if taken {
            return Err(err(
                "fragment_in_use",
                format!(
                    "#{key_fragment} already names a key of {}; choose another fragment",
                    supplier.did
                ),
            ));
        }
        let agent = AgentKey {
            key,
            supplier: supplier.did.clone(),
            key_fragment,
            authorised_at_ms: self.ctx.timestamp_ms,
            revoked_at_ms: None,
        };
        self.put(agent_key(&key), &agent);
        self.state
            .put(agent_index_key(&supplier.did, n), key.as_bytes().to_vec());
        self.state.put(count_key, (n + 1).to_be_bytes().to_vec());
        Ok(())
    }

    fn agent_at(&self, supplier: &Party, n: u64) -> Result<Option<AgentKey>, ContractError> {
        let Some(bytes) = self.state.get(&agent_index_key(&supplier.did, n)) else {
            return Ok(None);
        };
        let key = PublicKey::from_bytes(&bytes).map_err(|_| corrupt("agent index"))?;
        self.agent(&key)
    }

    /// The supplier's agent keys that are not revoked.
    pub(crate) fn active_agent_keys(
        &self,
        supplier: &Party,
    ) -> Result<Vec<PublicKey>, ContractError> {
        let n = decode_u64(self.state.get(&agent_count_key(&supplier.did)));
        let mut keys = Vec::new();
        for i in 0..n {
            if let Some(agent) = self.agent_at(supplier, i)?
                && !agent.is_revoked()
            {
                keys.push(agent.key);
            }
        }
        Ok(keys)
    }

    /// Revokes every active agent key of `supplier` (its enrolled key changed: keys its
    /// old key authorised stop acting for it).
    pub(crate) fn revoke_all_agents(&mut self, supplier: &Party) -> Result<(), ContractError> {
        for key in self.active_agent_keys(supplier)? {
            let mut agent = self.agent(&key)?.ok_or_else(|| corrupt("agent key"))?;
            agent.revoked_at_ms = Some(self.ctx.timestamp_ms);
            self.put(agent_key(&key), &agent);
        }
        Ok(())
    }

    pub(crate) fn revoke_agent(&mut self, key: PublicKey) -> Result<(), ContractError> {
        let supplier = self.signer()?;
        let mut agent = self
            .agent(&key)?
            .ok_or_else(|| err("agent_not_found", format!("{key} is not an agent key")))?;
        if agent.supplier != supplier.did {
            return Err(err(
                "not_agent_owner",
                "only the supplier that authorised an agent key may revoke it",
            ));
        }
        if agent.is_revoked() {
            return Err(revoked(&agent));
        }
        agent.revoked_at_ms = Some(self.ctx.timestamp_ms);
        self.put(agent_key(&key), &agent);
        Ok(())
    }
}

fn revoked(agent: &AgentKey) -> ContractError {
    err(
        "agent_key_revoked",
        format!(
            "agent key {} of {} was revoked at {}",
            agent.key,
            agent.supplier,
            agent.revoked_at_ms.unwrap_or_default()
        ),
    )
}
