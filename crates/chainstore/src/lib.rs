//! suanli chain store and node runtime (layer 3: storage and networking around the pure
//! ledger engine).
//!
//! Owns the durable block store on redb ([`store`]), the consensus boundary with the solo
//! engine ([`consensus`]), the node facade that admits transactions and runs one block
//! producer per chain ([`node`]), and offline verification/export ([`verify`]).
//!
//! Invariants:
//! - A block, its outcomes, its transaction-index entries and its state writes are one
//!   redb write transaction; a transaction is acknowledged only after that commit.
//! - After a crash the node restarts at the last durable block with the state it had.
//! - Transactions are admitted only with a valid signature, the right chain, and the
//!   signer's next nonce; a full mempool pushes back with a retryable error.
//!
//! Start reading at [`node::Node`].

pub mod consensus;
pub mod node;
pub mod store;
pub mod verify;

pub use consensus::{Consensus, ConsensusError, Solo};
pub use node::{Node, NodeConfig, NodeError, SubmitError, TxProof, TxStatus};
pub use store::{ChainStore, StoreError, TxLocation};
