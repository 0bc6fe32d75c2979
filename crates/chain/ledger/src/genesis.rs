//! Genesis configuration of one chain: what every node must agree on before block 0.

use serde::{Deserialize, Serialize};
use suanli_primitives::codec::{DecodeError, Reader, Writer};
use suanli_primitives::{ChainId, ChainKind, Hash32, NetworkName, PublicKey, sha256};

/// Most proposer keys a genesis may name.
pub const PROPOSERS_MAX: usize = 64;
const GENESIS_VERSION: u8 = 1;

/// The parameters block 0 commits to. `genesis_hash` = SHA-256 of the encoding and is
/// block 0's `prev_hash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    pub chain: ChainId,
    pub timestamp_ms: u64,
    /// Keys allowed to sign blocks (one for the solo engine).
    pub proposers: Vec<PublicKey>,
    /// The only key that may mint settlement credits.
    pub credit_operator: PublicKey,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum GenesisError {
    #[error("genesis needs 1..={PROPOSERS_MAX} proposer keys, got {0}")]
    Proposers(usize),
    #[error("malformed genesis: {0}")]
    Malformed(#[from] DecodeError),
}

impl Genesis {
    pub fn new(
        chain: ChainId,
        timestamp_ms: u64,
        proposers: Vec<PublicKey>,
        credit_operator: PublicKey,
    ) -> Result<Self, GenesisError> {
        if proposers.is_empty() || proposers.len() > PROPOSERS_MAX {
            return Err(GenesisError::Proposers(proposers.len()));
        }
        Ok(Genesis {
            chain,
            timestamp_ms,
            proposers,
            credit_operator,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(GENESIS_VERSION)
            .str(self.chain.network().as_str())
            .u8(self.chain.kind().code())
            .u64(self.timestamp_ms)
            .u16(self.proposers.len() as u16);
        for p in &self.proposers {
            w.fixed(p.as_bytes());
        }
        w.fixed(self.credit_operator.as_bytes());
        w.finish()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, GenesisError> {
        let mut r = Reader::new(bytes);
        let version = r.u8("genesis version")?;
        if version != GENESIS_VERSION {
            return Err(r
                .invalid("genesis version", format!("unknown version {version}"))
                .into());
        }
        let network = r.str("network", suanli_primitives::ids::NETWORK_NAME_LEN_MAX)?;
        let network = NetworkName::new(network).map_err(|e| r.invalid("network", e.to_string()))?;
        let code = r.u8("chain")?;
        let kind = ChainKind::from_code(code)
            .ok_or_else(|| r.invalid("chain", format!("unknown chain code {code}")))?;
        let timestamp_ms = r.u64("genesis timestamp")?;
        let count = r.u16("proposer count")? as usize;
        if count == 0 || count > PROPOSERS_MAX {
            return Err(GenesisError::Proposers(count));
        }
        let mut proposers = Vec::with_capacity(count);
        for _ in 0..count {
            let bytes: [u8; 32] = r.fixed("proposer")?;
            proposers.push(
                PublicKey::from_bytes(&bytes).map_err(|e| r.invalid("proposer", e.to_string()))?,
            );
        }
        let bytes: [u8; 32] = r.fixed("credit operator")?;
        let credit_operator = PublicKey::from_bytes(&bytes)
            .map_err(|e| r.invalid("credit operator", e.to_string()))?;
        r.finish()?;
        Genesis::new(
            ChainId::new(network, kind),
            timestamp_ms,
            proposers,
            credit_operator,
        )
    }

    pub fn hash(&self) -> Hash32 {
        sha256(&self.encode())
    }
}
