//! The supplier agent's chain port, [`AgentKeys`] (`docs/supply.md` §3,
//! `docs/key-custody.md` §9): what the platform needs from the chains for the supplier
//! agent — the facts of a trade a work order is raised for (so the work order's parties
//! come from the chain, never from the agent's word), the supplier's agent keys, and the
//! delegation and revocation of an agent key, signed with the supplier DID's key that the
//! supplier administrator's password unseals for that one request.
//!
//! This crate does not depend on the chain: `suanli-bridge` implements the port over a
//! `LedgerClient` (`crates/bridge/src/agent_keys.rs`) and `suanli serve` plugs it in with
//! [`crate::Platform::with_agent_keys`].

use crate::PortError;
use suanli_primitives::{PublicKey, SecretKey, Signature};

/// Where a trade stands on the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradeStage {
    /// Ordered, waiting for the supplier's contract.
    Ordered,
    /// Contracted and running.
    Active,
    /// Closed.
    Closed,
}

/// What the trade chain says about one trade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeFacts {
    /// The supplier's DID.
    pub supplier_did: String,
    /// The consumer's DID.
    pub consumer_did: String,
    /// The offer ordered from.
    pub offer_id: u64,
    /// Units ordered.
    pub units: u32,
    /// Minutes ordered.
    pub minutes: u64,
    /// Value escrowed with the order, in fen.
    pub value_fen: i64,
    /// Where it stands.
    pub stage: TradeStage,
}

/// An agent key a supplier delegated, as the trade chain records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentKeyFacts {
    /// The key (hex).
    pub key: String,
    /// Its verification method fragment in the supplier's DID document.
    pub fragment: String,
    /// When it was authorised (chain time, ms).
    pub authorised_at_ms: u64,
    /// When it was revoked, if it was.
    pub revoked_at_ms: Option<u64>,
}

/// The supplier agent's chain port.
pub trait AgentKeys: Send + Sync + std::fmt::Debug {
    /// The trade with this serial (32 hex characters), if the chain has one.
    fn trade(&self, serial: &str) -> Result<Option<TradeFacts>, PortError>;
    /// The agent keys the supplier `supplier_did` delegated, revoked ones included.
    fn agents(&self, supplier_did: &str) -> Result<Vec<AgentKeyFacts>, PortError>;
    /// Delegates `agent` under `#fragment`: added to the supplier's DID document
    /// (assertionMethod) and authorised on the trade chain, both signed by `supplier`, the
    /// supplier's DID key. `proof` is the agent key's proof of possession (`suanli agent
    /// proof` prints it: its signature over the supplier DID, the key and the fragment).
    fn delegate(
        &self,
        supplier: &SecretKey,
        agent: &PublicKey,
        proof: &Signature,
        fragment: &str,
    ) -> Result<(), PortError>;
    /// Revokes `agent` on the trade chain (refused from then on) and removes it from the
    /// supplier's DID document, signed by `supplier`.
    fn revoke(&self, supplier: &SecretKey, agent: &PublicKey) -> Result<(), PortError>;
}
