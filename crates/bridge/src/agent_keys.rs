//! `AgentKeys` over a [`LedgerClient`]: the facts of a trade a work order is raised for,
//! read from the trade chain's state (`docs/supply.md` §3.4), so the platform records the
//! trade's parties and amounts as the chain has them; a supplier's agent keys, their
//! delegation and revocation (`suanli_ledger_client::supply`, signed with the supplier's
//! DID key the platform unsealed for the request).

use std::sync::Arc;

use suanli_identity::Fragment;
use suanli_ledger_client::LedgerClient;
use suanli_ledger_client::supply;
use suanli_platform_http::PortError;
use suanli_platform_http::agent_keys::{AgentKeyFacts, AgentKeys, TradeFacts, TradeStage};
use suanli_primitives::{ChainKind, PublicKey, SecretKey, Signature};
use suanli_trade::records::{Status, Trade, trade_key};
use suanli_trade::{PartyDid, Serial};

/// The agent's chain port over a ledger client.
#[derive(Debug, Clone)]
pub struct LedgerAgentKeys {
    pub(crate) ledger: Arc<dyn LedgerClient>,
}

impl LedgerAgentKeys {
    /// The port over `ledger`.
    pub fn new(ledger: Arc<dyn LedgerClient>) -> Self {
        Self { ledger }
    }
}

/// The platform's view of a trade record.
pub fn facts(t: &Trade) -> TradeFacts {
    TradeFacts {
        supplier_did: t.supplier.as_str().to_owned(),
        consumer_did: t.consumer.as_str().to_owned(),
        offer_id: t.offer_id,
        units: t.requirements.quantity,
        minutes: t.requirements.duration_minutes,
        value_fen: t.funded_fen.get(),
        stage: match t.status {
            Status::Ordered => TradeStage::Ordered,
            Status::Active => TradeStage::Active,
            Status::Closed => TradeStage::Closed,
        },
    }
}

impl AgentKeys for LedgerAgentKeys {
    fn trade(&self, serial: &str) -> Result<Option<TradeFacts>, PortError> {
        let serial = Serial::parse(serial).map_err(|e| PortError::Refused {
            code: "invalid_serial",
            message: e.to_string(),
        })?;
        let Some(bytes) = self
            .ledger
            .state_get(ChainKind::Trade, &trade_key(&serial))
            .map_err(PortError::ledger)?
        else {
            return Ok(None);
        };
        let t: Trade = serde_json::from_slice(&bytes).map_err(PortError::ledger)?;
        Ok(Some(facts(&t)))
    }

    fn agents(&self, supplier_did: &str) -> Result<Vec<AgentKeyFacts>, PortError> {
        let did = PartyDid::parse(supplier_did).map_err(|e| PortError::Refused {
            code: "invalid_did",
            message: e.to_string(),
        })?;
        let keys =
            supply::supplier_agents(self.ledger.as_ref(), &did).map_err(PortError::ledger)?;
        Ok(keys
            .into_iter()
            .map(|k| AgentKeyFacts {
                key: k.key.to_hex(),
                fragment: k.key_fragment,
                authorised_at_ms: k.authorised_at_ms,
                revoked_at_ms: k.revoked_at_ms,
            })
            .collect())
    }

    fn delegate(
        &self,
        supplier: &SecretKey,
        agent: &PublicKey,
        proof: &Signature,
        fragment: &str,
    ) -> Result<(), PortError> {
        let fragment = Fragment::new(fragment).map_err(|e| PortError::Refused {
            code: "invalid_fragment",
            message: e.to_string(),
        })?;
        supply::authorise_agent_key(self.ledger.as_ref(), supplier, agent, proof, &fragment)
            .map_err(refusal)?;
        Ok(())
    }

    fn revoke(&self, supplier: &SecretKey, agent: &PublicKey) -> Result<(), PortError> {
        supply::revoke_agent_key(self.ledger.as_ref(), supplier, agent).map_err(refusal)?;
        Ok(())
    }
}

/// A refusal (the chain's rule, e.g. `agent_key_revoked`, or a request that cannot
/// succeed as given) is `chain_refused` with the rule in the message; an unreachable or
/// failing ledger stays a ledger error.
pub(crate) fn refusal(e: suanli_ledger_client::ClientError) -> PortError {
    match e.code() {
        "ledger_unreachable" | "tx_not_committed" | "ledger_storage" | "ledger_bad_answer" => {
            PortError::ledger(e)
        }
        code => PortError::Refused {
            code: "chain_refused",
            message: format!("{code}: {e}"),
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::time::Duration;
    use suanli_identity::{IdentityOp, SuanliDid};
    use suanli_ledger::{MempoolConfig, Payload};
    use suanli_ledger_client::embedded::{NETWORK_DEFAULT, open_node, stop};
    use suanli_primitives::NetworkName;
    use suanli_trade::{Role, TradeOp};

    #[test]
    fn delegates_lists_and_revokes_an_agent_key_on_both_chains() {
        let dir = tempfile::tempdir().unwrap();
        let mempool = MempoolConfig {
            block_interval_ms: 5,
            ..MempoolConfig::default()
        };
        let running = open_node(dir.path(), NETWORK_DEFAULT, None, mempool).unwrap();
        let operator = SecretKey::load(&dir.path().join("operator.key")).unwrap();
        let ledger: Arc<dyn LedgerClient> = running.0.clone();
        let wait = Duration::from_secs(15);
        let supplier = SecretKey::from_label("bridge/agent-keys/supplier");
        let create = Payload::Call(IdentityOp::CreateDid.to_call().unwrap());
        ledger
            .transact(ChainKind::Identity, &supplier, create, wait)
            .unwrap();
        let network = NetworkName::new(NETWORK_DEFAULT).unwrap();
        let did = SuanliDid::for_initial_key(network, &supplier.public()).to_string();
        let enroll = TradeOp::Enroll {
            did: PartyDid::parse(&did).unwrap(),
            role: Role::Supplier,
            key: supplier.public(),
            key_fragment: "key-1".into(),
            kyc_credential_id: Some("urn:test:kyc".into()),
            kyc_credential_sha256: Some("00".repeat(32)),
        };
        suanli_ledger_client::trade::submit(ledger.as_ref(), &operator, &enroll, "enroll").unwrap();

        let port = LedgerAgentKeys::new(Arc::clone(&ledger));
        let agent_key = SecretKey::from_label("bridge/agent-keys/agent");
        let agent = agent_key.public();
        assert!(port.agents(&did).unwrap().is_empty());
        let proof =
            suanli_trade::op::agent_proof(&agent_key, &PartyDid::parse(&did).unwrap(), "agent-1");
        port.delegate(&supplier, &agent, &proof, "agent-1").unwrap();
        let keys = port.agents(&did).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(
            (keys[0].key.as_str(), keys[0].fragment.as_str()),
            (agent.to_hex().as_str(), "agent-1")
        );
        assert_eq!(keys[0].revoked_at_ms, None);
        // Another key cannot revoke it; the supplier's can, for good.
        let stranger = SecretKey::from_label("bridge/agent-keys/stranger");
        assert_eq!(
            port.revoke(&stranger, &agent).unwrap_err().code(),
            "chain_refused"
        );
        port.revoke(&supplier, &agent).unwrap();
        assert!(port.agents(&did).unwrap()[0].revoked_at_ms.is_some());
        assert_eq!(port.trade(&"ab".repeat(16)).unwrap(), None);
        assert_eq!(port.trade("zz").unwrap_err().code(), "invalid_serial");
        stop(running);
    }
}
