//! suanli chain store and node runtime (layer 3: storage and networking around the pure
//! ledger engine).
//!
//! Owns the durable block store on redb ([`store`]), the consensus boundary with the solo
//! engine ([`consensus`]), the node facade that admits transactions and runs one block
//! producer per chain ([`node`]), and offline verification/export ([`verify`]).
//!
//! Invariants:
//! - A block and its outcomes are one redb write transaction (one fsync); a transaction
//!   is acknowledged only after that commit. Derived data (state, transaction index) is
//!   checkpointed every `CHECKPOINT_INTERVAL_BLOCKS` blocks in the same kind of
//!   transaction.
//! - After a crash the node restarts at the last durable block: it loads the checkpoint
//!   and re-executes the blocks after it, reproducing their state commitments.
//! - Transactions are admitted only with a valid signature, the right chain, and the
//!   signer's next nonce; a full mempool pushes back with a retryable error.
//!
//! Start reading at [`node::Node`].

pub mod consensus;
pub mod node;
pub mod store;
pub mod verify;

pub use consensus::{Consensus, ConsensusError, Solo};
pub use node::{AdmissionRule, Node, NodeConfig, NodeError, SubmitError, TxProof, TxStatus};
pub use store::{ChainStore, StoreError, TxLocation};
