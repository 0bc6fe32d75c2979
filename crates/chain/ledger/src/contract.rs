//! The system-contract boundary: deterministic Rust modules that execute typed payloads
//! against the chain state. A contract sees only the transaction context and the state;
//! it cannot read a clock, do I/O or draw randomness, which is what makes replay exact.

use suanli_primitives::{ChainKind, PublicKey};

use crate::state::StateAccess;
use crate::tx::TxId;

/// What a contract knows about the transaction it executes.
#[derive(Debug, Clone, Copy)]
pub struct TxContext<'a> {
    pub chain: ChainKind,
    pub signer: &'a PublicKey,
    pub nonce: u64,
    /// The transaction's id, so a contract can point its records at the transaction that
    /// made them (for inclusion proofs).
    pub tx_id: TxId,
    pub height: u64,
    /// The block's timestamp (milliseconds since the Unix epoch), chosen by the proposer.
    pub timestamp_ms: u64,
    /// The genesis operator key: mints credits on the trade chain; on the identity chain
    /// its DID is the genesis authority.
    pub operator: &'a PublicKey,
}

/// An expected failure of a contract: a stable machine code and a sentence for people.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{code}: {message}")]
pub struct ContractError {
    pub code: &'static str,
    pub message: String,
}

impl ContractError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        ContractError {
            code,
            message: message.into(),
        }
    }
}

/// A system contract. `Op` is the contract's typed payload.
pub trait SystemContract {
    type Op;

    /// Executes `op`. On error the engine discards every write the call made and records
    /// the error as the transaction's outcome.
    fn execute(
        &self,
        ctx: &TxContext<'_>,
        op: &Self::Op,
        state: &mut dyn StateAccess,
    ) -> Result<(), ContractError>;
}
