//! Block headers and bodies.
//!
//! Header encoding (version 1, see `docs/ledger-format.md`):
//! `u8 version | str network | u8 chain | u64 height | [32] prev_hash | u64 timestamp_ms |
//!  [32] tx_root | [32] state_root | u32 tx_count | [32] proposer | [64] signature`.
//! The proposer signs `suanli/block/v1` followed by every byte before the signature; the
//! block hash is SHA-256 of the whole header encoding. The body is the header followed by
//! `tx_count` transactions, each as `u32 length | transaction bytes`. `tx_root` is the
//! RFC 9162 Merkle root over the transaction ids.

use serde::Serialize;
use suanli_primitives::codec::{DecodeError, Reader, Writer};
use suanli_primitives::merkle::{self, InclusionProof};
use suanli_primitives::{
    ChainId, ChainKind, Hash32, NetworkName, PublicKey, SecretKey, Signature, sha256,
};

use crate::tx::{TX_BYTES_MAX, Transaction, TxError};

pub const BLOCK_VERSION: u8 = 1;
pub const BLOCK_SIGNING_DOMAIN: &[u8] = b"suanli/block/v1";
/// Most transactions one block may carry.
pub const BLOCK_TXS_MAX: usize = 20_000;

/// A header before the proposer signs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnsignedHeader {
    pub chain: ChainId,
    pub height: u64,
    pub prev_hash: Hash32,
    pub timestamp_ms: u64,
    pub tx_root: Hash32,
    pub state_root: Hash32,
    pub tx_count: u32,
    pub proposer: PublicKey,
}

impl UnsignedHeader {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(256);
        w.u8(BLOCK_VERSION)
            .str(self.chain.network().as_str())
            .u8(self.chain.kind().code())
            .u64(self.height)
            .fixed(self.prev_hash.as_bytes())
            .u64(self.timestamp_ms)
            .fixed(self.tx_root.as_bytes())
            .fixed(self.state_root.as_bytes())
            .u32(self.tx_count)
            .fixed(self.proposer.as_bytes());
        w.finish()
    }

    pub fn signing_message(&self) -> Vec<u8> {
        let mut msg = BLOCK_SIGNING_DOMAIN.to_vec();
        msg.extend_from_slice(&self.encode());
        msg
    }

    /// Signs as proposer. The key must be the header's proposer.
    pub fn seal(self, key: &SecretKey) -> BlockHeader {
        let signature = key.sign(&self.signing_message());
        BlockHeader::from_parts(self, signature)
    }
}

/// A signed block header with its hash cached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlockHeader {
    #[serde(flatten)]
    pub unsigned: UnsignedHeader,
    pub signature: Signature,
    pub hash: Hash32,
}

impl BlockHeader {
    pub fn from_parts(unsigned: UnsignedHeader, signature: Signature) -> Self {
        let mut bytes = unsigned.encode();
        bytes.extend_from_slice(signature.as_bytes());
        let hash = sha256(&bytes);
        BlockHeader {
            unsigned,
            signature,
            hash,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = self.unsigned.encode();
        bytes.extend_from_slice(self.signature.as_bytes());
        bytes
    }

    pub fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u8("block version")?;
        if version != BLOCK_VERSION {
            return Err(r.invalid("block version", format!("unknown version {version}")));
        }
        let network = r.str("network", suanli_primitives::ids::NETWORK_NAME_LEN_MAX)?;
        let network = NetworkName::new(network).map_err(|e| r.invalid("network", e.to_string()))?;
        let code = r.u8("chain")?;
        let kind: ChainKind = ChainKind::from_code(code)
            .ok_or_else(|| r.invalid("chain", format!("unknown chain code {code}")))?;
        let height = r.u64("height")?;
        let prev_hash = Hash32::from_bytes(r.fixed("prev_hash")?);
        let timestamp_ms = r.u64("timestamp")?;
        let tx_root = Hash32::from_bytes(r.fixed("tx_root")?);
        let state_root = Hash32::from_bytes(r.fixed("state_root")?);
        let tx_count = r.u32("tx_count")?;
        let proposer_bytes: [u8; 32] = r.fixed("proposer")?;
        let proposer = PublicKey::from_bytes(&proposer_bytes)
            .map_err(|e| r.invalid("proposer", e.to_string()))?;
        let signature = Signature::from_bytes(&r.fixed::<64>("block signature")?)
            .map_err(|e| r.invalid("block signature", e.to_string()))?;
        let unsigned = UnsignedHeader {
            chain: ChainId::new(network, kind),
            height,
            prev_hash,
            timestamp_ms,
            tx_root,
            state_root,
            tx_count,
            proposer,
        };
        Ok(BlockHeader::from_parts(unsigned, signature))
    }

    pub fn verify_signature(&self) -> bool {
        self.unsigned
            .proposer
            .verify(&self.unsigned.signing_message(), &self.signature)
    }

    pub fn height(&self) -> u64 {
        self.unsigned.height
    }
}

/// A block: header plus transactions in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub header: BlockHeader,
    pub txs: Vec<Transaction>,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum BlockDecodeError {
    #[error("malformed block: {0}")]
    Malformed(#[from] DecodeError),
    #[error("block declares {0} transactions, more than the {BLOCK_TXS_MAX} allowed")]
    TooManyTxs(u32),
    #[error("transaction {index} of the block: {error}")]
    Tx { index: usize, error: TxError },
}

impl Block {
    pub fn encode(&self) -> Vec<u8> {
        let body: usize = self.txs.iter().map(|t| t.encoded().len() + 4).sum();
        let mut w = Writer::with_capacity(256 + body);
        w.fixed(&self.header.encode());
        for tx in &self.txs {
            w.bytes(tx.encoded());
        }
        w.finish()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, BlockDecodeError> {
        let mut r = Reader::new(bytes);
        let header = BlockHeader::decode_from(&mut r)?;
        let count = header.unsigned.tx_count;
        if count as usize > BLOCK_TXS_MAX {
            return Err(BlockDecodeError::TooManyTxs(count));
        }
        let mut txs = Vec::with_capacity(count as usize);
        for index in 0..count as usize {
            let tx_bytes = r.bytes("transaction", TX_BYTES_MAX)?;
            let tx = Transaction::decode(tx_bytes)
                .map_err(|error| BlockDecodeError::Tx { index, error })?;
            txs.push(tx);
        }
        r.finish()?;
        Ok(Block { header, txs })
    }

    pub fn tx_leaf_hashes(&self) -> Vec<Hash32> {
        tx_leaf_hashes(&self.txs)
    }

    /// Inclusion proof of transaction `index` against the header's `tx_root`.
    pub fn inclusion_proof(&self, index: usize) -> Option<InclusionProof> {
        merkle::inclusion_proof(&self.tx_leaf_hashes(), index)
    }
}

/// Merkle leaves of a block: leaf hash of each transaction id.
pub fn tx_leaf_hashes(txs: &[Transaction]) -> Vec<Hash32> {
    txs.iter()
        .map(|t| merkle::leaf_hash(t.id().0.as_bytes()))
        .collect()
}

pub fn tx_root(txs: &[Transaction]) -> Hash32 {
    merkle::root_of_leaf_hashes(&tx_leaf_hashes(txs))
}
