//! The supplier agent's chain port, [`AgentKeys`] (`docs/supply.md` §3,
//! `docs/key-custody.md` §8): what the platform needs from the trade chain for the
//! supplier agent — the facts of a trade a work order is raised for (so the work order's
//! parties come from the chain, never from the agent's word), and the delegation and
//! revocation of an agent key, signed with the supplier DID's key that the supplier
//! administrator's password unseals for that one request.
//!
//! This crate does not depend on the chain: `suanli-bridge` implements the port over a
//! `LedgerClient` (`crates/bridge/src/agent_keys.rs`) and `suanli serve` plugs it in with
//! [`crate::Platform::with_agent_keys`].

use crate::PortError;

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

/// The supplier agent's chain port.
pub trait AgentKeys: Send + Sync + std::fmt::Debug {
    /// The trade with this serial (32 hex characters), if the chain has one.
    fn trade(&self, serial: &str) -> Result<Option<TradeFacts>, PortError>;
}
