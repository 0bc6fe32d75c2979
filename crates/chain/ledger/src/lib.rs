//! suanli ledger engine: the pure, deterministic heart of the consortium ledger.
//!
//! Owns the transaction envelope ([`tx`]), block headers and bodies ([`block`]), genesis
//! configuration ([`genesis`]), the key-value state and its commitment ([`state`]), the
//! system-contract boundary with the built-in contracts ([`contract`], [`credit`],
//! [`anchor`]), the plug-in point for the identity, trade and channel contracts
//! ([`extension`]), the bounded mempool ([`mempool`]) and the per-chain engine that executes
//! and verifies blocks ([`engine`]).
//!
//! Invariants:
//! - No I/O, no clock reads, no randomness: time arrives as a parameter, so replaying the
//!   same blocks reproduces every state commitment bit for bit.
//! - A signer's nonces run 0, 1, 2, … on each chain with no gaps and no reuse.
//! - Settlement credits are conserved: the sum of balances equals minted − burned.
//! - Every encoding is the canonical one of `suanli_primitives::codec`
//!   (specified in `docs/ledger-format.md`).
//!
//! Start reading at [`engine::ChainEngine`], then [`tx::Transaction`] and
//! [`block::Block`].

pub mod anchor;
pub mod block;
pub mod contract;
pub mod credit;
pub mod engine;
pub mod extension;
pub mod genesis;
pub mod mempool;
pub mod state;
pub mod tx;

pub use block::{Block, BlockHeader, UnsignedHeader};
pub use engine::{BlockError, ChainEngine, ExecutedBlock};
pub use extension::{ContractCall, ContractId, ExtensionContract, Extensions};
pub use genesis::Genesis;
pub use mempool::{AdmitError, Mempool, MempoolConfig};
pub use state::{State, WriteSet};
pub use tx::{Outcome, Payload, Transaction, TxError, TxId};
