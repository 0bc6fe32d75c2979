//! The consensus boundary. A block producer asks its `Consensus` whether to propose, has
//! it seal the header, and hands it the block to finalize; only a finalized block is
//! written and acknowledged. [`Solo`] is the single-node engine: this node is the only
//! proposer and a block is final as soon as it is sealed.
//!
//! A multi-node engine (e.g. openraft, crash-fault tolerant) plugs in here: `finalize`
//! appends the block to the replicated log and returns once a quorum holds it, followers
//! receive finalized blocks and apply them with `ChainEngine::validate`, and
//! `local_proposer` returns `None` on followers.

use std::fmt;

use suanli_ledger::{Block, BlockHeader, UnsignedHeader};
use suanli_primitives::{PublicKey, SecretKey};

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ConsensusError {
    #[error("this node is not a proposer")]
    NotProposer,
    #[error("block could not be finalized: {0}")]
    NotFinal(String),
}

pub trait Consensus: Send + Sync + fmt::Debug {
    /// Keys allowed to sign blocks (written into each chain's genesis).
    fn proposers(&self) -> Vec<PublicKey>;
    /// This node's proposer key, if it proposes.
    fn local_proposer(&self) -> Option<PublicKey>;
    /// Signs a header this node proposes.
    fn seal(&self, header: UnsignedHeader) -> Result<BlockHeader, ConsensusError>;
    /// Returns once `block` is final under this engine.
    fn finalize(&self, block: &Block) -> Result<(), ConsensusError>;
}

/// One node proposes and commits alone.
pub struct Solo {
    key: SecretKey,
}

impl Solo {
    pub fn new(key: SecretKey) -> Self {
        Solo { key }
    }
}

impl fmt::Debug for Solo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Solo(proposer={})", self.key.public())
    }
}

impl Consensus for Solo {
    fn proposers(&self) -> Vec<PublicKey> {
        vec![self.key.public()]
    }

    fn local_proposer(&self) -> Option<PublicKey> {
        Some(self.key.public())
    }

    fn seal(&self, header: UnsignedHeader) -> Result<BlockHeader, ConsensusError> {
        if header.proposer != self.key.public() {
            return Err(ConsensusError::NotProposer);
        }
        Ok(header.seal(&self.key))
    }

    fn finalize(&self, _block: &Block) -> Result<(), ConsensusError> {
        Ok(())
    }
}
