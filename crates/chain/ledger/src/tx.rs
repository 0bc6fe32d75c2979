//! The transaction envelope: chain id, signer, nonce, typed payload, signature.
//!
//! Encoding (version 1, see `docs/ledger-format.md`):
//! `u8 version | str network | u8 chain | [32] signer | u64 nonce | payload | [64] signature`
//! where `payload` is a `u16` tag followed by the variant's fields. The signed message is
//! the ASCII domain tag `suanli/tx/v1` followed by every byte of the encoding before the
//! signature. The transaction id is SHA-256 of the whole encoding.

use std::fmt;

use serde::{Deserialize, Serialize};
use suanli_primitives::codec::{DecodeError, Reader, Writer};
use suanli_primitives::{
    ChainId, ChainKind, Hash32, NetworkName, PublicKey, SecretKey, Signature, sha256,
};

use crate::anchor::AnchorRecord;
use crate::credit::{CreditOp, PositiveFen};
use crate::extension::{CALL_BODY_BYTES_MAX, ContractCall, ContractId};

/// Encoding version of transactions.
pub const TX_VERSION: u8 = 1;
/// Domain-separation tag prepended to the bytes a signer signs.
pub const TX_SIGNING_DOMAIN: &[u8] = b"suanli/tx/v1";
/// Largest encoded transaction accepted anywhere, in bytes.
pub const TX_BYTES_MAX: usize = 16 * 1024;

/// A transaction id: SHA-256 of the full encoded transaction.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TxId(pub Hash32);

impl fmt::Debug for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TxId({})", self.0)
    }
}

impl fmt::Display for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What a transaction asks a system contract to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Payload {
    /// Settlement credits (trade chain).
    Credit(CreditOp),
    /// A timestamped commitment to an off-chain digest (both chains).
    Anchor(AnchorRecord),
    /// A call to an installed contract (identity, trade, channel): see [`crate::extension`].
    Call(ContractCall),
}

const TAG_CREDIT_MINT: u16 = 0x0001;
const TAG_CREDIT_TRANSFER: u16 = 0x0002;
const TAG_CREDIT_BURN: u16 = 0x0003;
const TAG_ANCHOR: u16 = 0x0100;
const TAG_CALL: u16 = 0x0200;

impl Payload {
    pub fn encode(&self, w: &mut Writer) {
        match self {
            Payload::Credit(CreditOp::Mint { to, amount }) => {
                w.u16(TAG_CREDIT_MINT)
                    .fixed(to.as_bytes())
                    .i64(amount.get());
            }
            Payload::Credit(CreditOp::Transfer { to, amount }) => {
                w.u16(TAG_CREDIT_TRANSFER)
                    .fixed(to.as_bytes())
                    .i64(amount.get());
            }
            Payload::Credit(CreditOp::Burn { amount }) => {
                w.u16(TAG_CREDIT_BURN).i64(amount.get());
            }
            Payload::Anchor(record) => {
                w.u16(TAG_ANCHOR)
                    .str(record.label())
                    .fixed(record.digest().as_bytes());
            }
            Payload::Call(call) => {
                w.u16(TAG_CALL)
                    .u16(call.contract().code())
                    .bytes(call.body());
            }
        }
    }

    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let tag = r.u16("payload tag")?;
        match tag {
            TAG_CREDIT_MINT => Ok(Payload::Credit(CreditOp::Mint {
                to: read_key(r, "mint recipient")?,
                amount: read_amount(r)?,
            })),
            TAG_CREDIT_TRANSFER => Ok(Payload::Credit(CreditOp::Transfer {
                to: read_key(r, "transfer recipient")?,
                amount: read_amount(r)?,
            })),
            TAG_CREDIT_BURN => Ok(Payload::Credit(CreditOp::Burn {
                amount: read_amount(r)?,
            })),
            TAG_ANCHOR => {
                let label = r.str("anchor label", crate::anchor::ANCHOR_LABEL_LEN_MAX)?;
                let digest = Hash32::from_bytes(r.fixed("anchor digest")?);
                let record = AnchorRecord::new(label, digest)
                    .map_err(|e| r.invalid("anchor label", e.to_string()))?;
                Ok(Payload::Anchor(record))
            }
            TAG_CALL => {
                let code = r.u16("contract id")?;
                let contract = ContractId::from_code(code)
                    .ok_or_else(|| r.invalid("contract id", format!("unknown contract {code}")))?;
                let body = r.bytes("call body", CALL_BODY_BYTES_MAX)?.to_vec();
                let call = ContractCall::new(contract, body)
                    .map_err(|e| r.invalid("call body", e.to_string()))?;
                Ok(Payload::Call(call))
            }
            other => Err(r.invalid("payload tag", format!("unknown payload tag {other:#06x}"))),
        }
    }

    /// The chains on which this payload may appear.
    pub fn allowed_on(&self, chain: ChainKind) -> bool {
        match self {
            Payload::Credit(_) => chain == ChainKind::Trade,
            Payload::Anchor(_) => true,
            Payload::Call(call) => call.contract().chain() == chain,
        }
    }
}

fn read_key(r: &mut Reader<'_>, what: &'static str) -> Result<PublicKey, DecodeError> {
    let bytes: [u8; 32] = r.fixed(what)?;
    PublicKey::from_bytes(&bytes).map_err(|e| r.invalid(what, e.to_string()))
}

fn read_amount(r: &mut Reader<'_>) -> Result<PositiveFen, DecodeError> {
    let raw = r.i64("amount")?;
    PositiveFen::new(raw).map_err(|e| r.invalid("amount", e.to_string()))
}

/// Why a transaction cannot be accepted. Every variant names the rule it broke.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum TxError {
    #[error("malformed transaction: {0}")]
    Malformed(#[from] DecodeError),
    #[error("transaction is {len} bytes, more than the {max} allowed")]
    TooLarge { len: usize, max: usize },
    #[error("unsupported transaction version {0}; this node speaks version {TX_VERSION}")]
    Version(u8),
    #[error("wrong chain: transaction is for {got}, this chain is {expected}")]
    WrongChain { expected: String, got: String },
    #[error("signature does not verify against the signer's public key")]
    BadSignature,
    #[error("{contract} contract refused the call: {code}: {message}")]
    CallRejected {
        contract: ContractId,
        code: &'static str,
        message: String,
    },
    #[error("payload {payload} is not allowed on the {chain} chain")]
    PayloadNotAllowed {
        payload: &'static str,
        chain: ChainKind,
    },
}

/// A signed transaction. Construct with [`Transaction::sign`] or [`Transaction::decode`];
/// the cached encoding and id always match the fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    chain: ChainId,
    signer: PublicKey,
    nonce: u64,
    payload: Payload,
    signature: Signature,
    /// `TX_SIGNING_DOMAIN ‖ encoding`: both the signed message and the encoding are
    /// slices of it, so verification needs no copy.
    framed: Vec<u8>,
    id: TxId,
}

impl Transaction {
    pub fn sign(chain: &ChainId, key: &SecretKey, nonce: u64, payload: Payload) -> Self {
        let signer = key.public();
        let unsigned = encode_unsigned(chain, &signer, nonce, &payload);
        let signature = key.sign(&signing_message(&unsigned));
        Self::assemble(chain.clone(), signer, nonce, payload, signature, unsigned)
    }

    /// Rebuilds a signed transaction from its fields (e.g. a JSON form). The signature
    /// is not checked here; call [`Transaction::verify_signature`].
    pub fn from_parts(
        chain: ChainId,
        signer: PublicKey,
        nonce: u64,
        payload: Payload,
        signature: Signature,
    ) -> Self {
        let unsigned = encode_unsigned(&chain, &signer, nonce, &payload);
        Self::assemble(chain, signer, nonce, payload, signature, unsigned)
    }

    fn assemble(
        chain: ChainId,
        signer: PublicKey,
        nonce: u64,
        payload: Payload,
        signature: Signature,
        unsigned: Vec<u8>,
    ) -> Self {
        let mut framed = Vec::with_capacity(TX_SIGNING_DOMAIN.len() + unsigned.len() + 64);
        framed.extend_from_slice(TX_SIGNING_DOMAIN);
        framed.extend_from_slice(&unsigned);
        framed.extend_from_slice(signature.as_bytes());
        let id = TxId(sha256(&framed[TX_SIGNING_DOMAIN.len()..]));
        Transaction {
            chain,
            signer,
            nonce,
            payload,
            signature,
            framed,
            id,
        }
    }

    /// Decodes one transaction that must span all of `bytes`. Does not check the signature.
    pub fn decode(bytes: &[u8]) -> Result<Self, TxError> {
        if bytes.len() > TX_BYTES_MAX {
            return Err(TxError::TooLarge {
                len: bytes.len(),
                max: TX_BYTES_MAX,
            });
        }
        let mut r = Reader::new(bytes);
        let tx = Self::decode_from(&mut r)?;
        r.finish()?;
        Ok(tx)
    }

    /// Decodes one transaction from a reader positioned at its first byte.
    pub fn decode_from(r: &mut Reader<'_>) -> Result<Self, TxError> {
        let version = r.u8("tx version")?;
        if version != TX_VERSION {
            return Err(TxError::Version(version));
        }
        let network = r.str("network", suanli_primitives::ids::NETWORK_NAME_LEN_MAX)?;
        let network = NetworkName::new(network).map_err(|e| r.invalid("network", e.to_string()))?;
        let kind_code = r.u8("chain")?;
        let kind = ChainKind::from_code(kind_code)
            .ok_or_else(|| r.invalid("chain", format!("unknown chain code {kind_code}")))?;
        let signer = read_key(r, "signer")?;
        let nonce = r.u64("nonce")?;
        let payload = Payload::decode(r)?;
        let signature = Signature::from_bytes(&r.fixed::<64>("signature")?)
            .map_err(|e| r.invalid("signature", e.to_string()))?;
        let chain = ChainId::new(network, kind);
        let unsigned = encode_unsigned(&chain, &signer, nonce, &payload);
        Ok(Self::assemble(
            chain, signer, nonce, payload, signature, unsigned,
        ))
    }

    pub fn chain(&self) -> &ChainId {
        &self.chain
    }
    pub fn signer(&self) -> &PublicKey {
        &self.signer
    }
    pub fn nonce(&self) -> u64 {
        self.nonce
    }
    pub fn payload(&self) -> &Payload {
        &self.payload
    }
    pub fn signature(&self) -> &Signature {
        &self.signature
    }
    pub fn id(&self) -> TxId {
        self.id
    }
    /// The canonical encoding (what is hashed into the id and stored in blocks).
    pub fn encoded(&self) -> &[u8] {
        &self.framed[TX_SIGNING_DOMAIN.len()..]
    }

    /// The exact bytes the signer signed.
    pub fn signing_message(&self) -> &[u8] {
        &self.framed[..self.framed.len() - 64]
    }

    pub fn verify_signature(&self) -> Result<(), TxError> {
        if self.signer.verify(self.signing_message(), &self.signature) {
            Ok(())
        } else {
            Err(TxError::BadSignature)
        }
    }

    /// Stateless checks for a given chain: right chain, payload allowed there.
    pub fn check_chain(&self, chain: &ChainId) -> Result<(), TxError> {
        if &self.chain != chain {
            return Err(TxError::WrongChain {
                expected: chain.to_string(),
                got: self.chain.to_string(),
            });
        }
        if !self.payload.allowed_on(chain.kind()) {
            return Err(TxError::PayloadNotAllowed {
                payload: payload_name(&self.payload),
                chain: chain.kind(),
            });
        }
        Ok(())
    }
}

/// Verifies the signatures of many transactions (Ed25519 batch verification as the fast
/// path); one verdict per transaction, in order.
pub fn verify_signatures(txs: &[Transaction]) -> Vec<bool> {
    let items: Vec<(&[u8], &Signature, &PublicKey)> = txs
        .iter()
        .map(|tx| (tx.signing_message(), tx.signature(), tx.signer()))
        .collect();
    suanli_primitives::keys::verify_many(&items)
}

pub fn payload_name(payload: &Payload) -> &'static str {
    match payload {
        Payload::Credit(CreditOp::Mint { .. }) => "credit.mint",
        Payload::Credit(CreditOp::Transfer { .. }) => "credit.transfer",
        Payload::Credit(CreditOp::Burn { .. }) => "credit.burn",
        Payload::Anchor(_) => "anchor",
        Payload::Call(call) => match call.contract() {
            ContractId::Identity => "call.identity",
            ContractId::Trade => "call.trade",
            ContractId::Channel => "call.channel",
        },
    }
}

/// The exact bytes a signer signs for a transaction with these fields (domain tag ‖
/// encoding without the signature): what a client that keeps its own key signs.
pub fn signing_bytes(
    chain: &ChainId,
    signer: &PublicKey,
    nonce: u64,
    payload: &Payload,
) -> Vec<u8> {
    signing_message(&encode_unsigned(chain, signer, nonce, payload))
}

fn encode_unsigned(chain: &ChainId, signer: &PublicKey, nonce: u64, payload: &Payload) -> Vec<u8> {
    let mut w = Writer::with_capacity(160);
    w.u8(TX_VERSION)
        .str(chain.network().as_str())
        .u8(chain.kind().code())
        .fixed(signer.as_bytes())
        .u64(nonce);
    payload.encode(&mut w);
    w.finish()
}

fn signing_message(unsigned: &[u8]) -> Vec<u8> {
    let mut msg = Vec::with_capacity(TX_SIGNING_DOMAIN.len() + unsigned.len());
    msg.extend_from_slice(TX_SIGNING_DOMAIN);
    msg.extend_from_slice(unsigned);
    msg
}

/// Longest failure reason kept in an outcome, in bytes (longer ones are cut at a character
/// boundary when the outcome is made).
pub const OUTCOME_REASON_LEN_MAX: usize = 1024;

/// The result of executing one committed transaction. A failed transaction still
/// consumes its nonce; its reason is part of the state commitment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    Applied,
    Failed { reason: String },
}

impl Outcome {
    /// A failure with `reason` cut to [`OUTCOME_REASON_LEN_MAX`] bytes.
    pub fn failed(reason: &str) -> Self {
        let mut end = reason.len().min(OUTCOME_REASON_LEN_MAX);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        Outcome::Failed {
            reason: reason[..end].to_owned(),
        }
    }

    pub fn encode(&self, w: &mut Writer) {
        match self {
            Outcome::Applied => {
                w.u8(0);
            }
            Outcome::Failed { reason } => {
                w.u8(1).str(reason);
            }
        }
    }

    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8("outcome")? {
            0 => Ok(Outcome::Applied),
            1 => Ok(Outcome::Failed {
                reason: r.str("failure reason", OUTCOME_REASON_LEN_MAX)?.to_owned(),
            }),
            other => Err(r.invalid("outcome", format!("unknown outcome code {other}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain() -> ChainId {
        "suanli-test/trade".parse().unwrap()
    }

    fn transfer(key: &SecretKey, nonce: u64) -> Transaction {
        let to = SecretKey::from_label("bob").public();
        Transaction::sign(
            &chain(),
            key,
            nonce,
            Payload::Credit(CreditOp::Transfer {
                to,
                amount: PositiveFen::new(5).unwrap(),
            }),
        )
    }

    #[test]
    fn round_trip_and_signature() {
        let tx = transfer(&SecretKey::from_label("alice"), 7);
        let decoded = Transaction::decode(tx.encoded()).unwrap();
        assert_eq!(decoded, tx);
        decoded.verify_signature().unwrap();
        assert_eq!(decoded.nonce(), 7);
    }

    #[test]
    fn any_flipped_byte_breaks_decode_or_signature() {
        let tx = transfer(&SecretKey::from_label("alice"), 1);
        for i in 0..tx.encoded().len() {
            let mut bytes = tx.encoded().to_vec();
            bytes[i] ^= 0x01;
            let ok = Transaction::decode(&bytes)
                .and_then(|t| t.verify_signature().map(|()| t))
                .is_ok();
            assert!(!ok, "flipping byte {i} went unnoticed");
        }
    }

    #[test]
    fn malformed_inputs_have_reasons() {
        assert!(matches!(
            Transaction::decode(&[]),
            Err(TxError::Malformed(_))
        ));
        assert!(matches!(
            Transaction::decode(&[9]),
            Err(TxError::Version(9))
        ));
        let tx = transfer(&SecretKey::from_label("alice"), 1);
        let mut long = tx.encoded().to_vec();
        long.push(0);
        assert!(matches!(
            Transaction::decode(&long),
            Err(TxError::Malformed(DecodeError::TrailingBytes { .. }))
        ));
        assert!(matches!(
            Transaction::decode(&vec![0; TX_BYTES_MAX + 1]),
            Err(TxError::TooLarge { .. })
        ));
    }

    #[test]
    fn wrong_chain_and_payload_rules() {
        let tx = transfer(&SecretKey::from_label("alice"), 1);
        let other: ChainId = "other-net/trade".parse().unwrap();
        assert!(matches!(
            tx.check_chain(&other),
            Err(TxError::WrongChain { .. })
        ));
        let identity: ChainId = "suanli-test/identity".parse().unwrap();
        let on_identity = Transaction::sign(
            &identity,
            &SecretKey::from_label("alice"),
            0,
            tx.payload().clone(),
        );
        assert!(matches!(
            on_identity.check_chain(&identity),
            Err(TxError::PayloadNotAllowed { .. })
        ));
    }
}
