//! The anchor contract: anyone may commit a labelled SHA-256 digest of off-chain data
//! (for example the head of the platform's hash-chained audit log). The entry is keyed by
//! signer and nonce, so an anchor can never be overwritten.

use serde::{Deserialize, Serialize};
use suanli_primitives::Hash32;

use crate::contract::{ContractError, SystemContract, TxContext};
use crate::state::StateAccess;

/// Longest anchor label, in bytes.
pub const ANCHOR_LABEL_LEN_MAX: usize = 64;

/// A labelled digest. The label is 1..=64 printable ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "AnchorRecordDto")]
pub struct AnchorRecord {
    label: String,
    digest: Hash32,
}

#[derive(Deserialize)]
struct AnchorRecordDto {
    label: String,
    digest: Hash32,
}

impl TryFrom<AnchorRecordDto> for AnchorRecord {
    type Error = AnchorError;
    fn try_from(dto: AnchorRecordDto) -> Result<Self, Self::Error> {
        AnchorRecord::new(&dto.label, dto.digest)
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("anchor label must be 1..={ANCHOR_LABEL_LEN_MAX} printable ASCII characters")]
pub struct AnchorError;

impl AnchorRecord {
    pub fn new(label: &str, digest: Hash32) -> Result<Self, AnchorError> {
        let ok = !label.is_empty()
            && label.len() <= ANCHOR_LABEL_LEN_MAX
            && label.bytes().all(|b| (0x20..0x7f).contains(&b));
        if !ok {
            return Err(AnchorError);
        }
        Ok(AnchorRecord {
            label: label.to_owned(),
            digest,
        })
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn digest(&self) -> &Hash32 {
        &self.digest
    }
}

/// State key of an anchor: `anchor/` + signer (32 bytes) + nonce (u64 BE).
pub fn anchor_key(signer: &suanli_primitives::PublicKey, nonce: u64) -> Vec<u8> {
    let mut key = b"anchor/".to_vec();
    key.extend_from_slice(signer.as_bytes());
    key.extend_from_slice(&nonce.to_be_bytes());
    key
}

/// A committed anchor as stored under [`anchor_key`]:
/// digest (32) ‖ `u64` block timestamp ‖ label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnchor {
    pub digest: Hash32,
    pub timestamp_ms: u64,
    pub label: String,
}

impl StoredAnchor {
    fn encode(record: &AnchorRecord, timestamp_ms: u64) -> Vec<u8> {
        let mut value = record.digest.as_bytes().to_vec();
        value.extend_from_slice(&timestamp_ms.to_be_bytes());
        value.extend_from_slice(record.label.as_bytes());
        value
    }

    /// Parses a stored value; `None` if it is not an anchor entry.
    pub fn decode(value: &[u8]) -> Option<Self> {
        let digest: [u8; 32] = value.get(..32)?.try_into().ok()?;
        let timestamp: [u8; 8] = value.get(32..40)?.try_into().ok()?;
        let label = std::str::from_utf8(value.get(40..)?).ok()?;
        Some(StoredAnchor {
            digest: Hash32::from_bytes(digest),
            timestamp_ms: u64::from_be_bytes(timestamp),
            label: label.to_owned(),
        })
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct AnchorContract;

impl SystemContract for AnchorContract {
    type Op = AnchorRecord;

    fn execute(
        &self,
        ctx: &TxContext<'_>,
        op: &AnchorRecord,
        state: &mut dyn StateAccess,
    ) -> Result<(), ContractError> {
        state.put(
            anchor_key(ctx.signer, ctx.nonce),
            StoredAnchor::encode(op, ctx.timestamp_ms),
        );
        Ok(())
    }
}
