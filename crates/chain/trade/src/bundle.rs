//! A trade's records with the proofs that they are on the chain — the **trade bundle**
//! (`docs/trade.md` §10) — and its offline verification: what a buyer downloads and
//! anyone checks with nothing but the bundle and, optionally, the consortium's block
//! producer keys (`suanli trade verify FILE`).
//!
//! Each entry carries one record as the chain stores it, the transaction that wrote it
//! (its binary encoding), the signed header of its block and the RFC 9162 inclusion proof
//! of the transaction against the header's `tx_root`. [`verify`] checks, entry by entry:
//! the transaction's signature and id; the header's signature (and its producer against
//! the trusted keys, when given), chain, height and time against the record; the
//! inclusion proof; that the signer is the record's party (its enrolled key, one of the
//! supplier's agent keys, or the trade's delegated channel key); that the transaction
//! carries the operation the record says, for this serial; and the signatures inside the
//! records: the order (v1 or v2 digest), the contract's countersignature, every W3C
//! credential's proof, the rating, and both signatures of every channel state. Pure: no
//! I/O, no clock.

use serde::{Deserialize, Serialize};
use suanli_ledger::{BlockHeader, ContractId, Payload, Transaction};
use suanli_primitives::merkle::{InclusionProof, leaf_hash};
use suanli_primitives::{ChainKind, PublicKey};

use crate::channel::{ChannelOp, ChannelTerms};
use crate::model::{PartyDid, Serial};
use crate::op::{self, OrderFields, TradeOp};
use crate::records::{Record, RecordData};

/// The bundle format's name and version.
pub const BUNDLE_FORMAT: &str = "suanli-trade-bundle/v1";
/// Most entries a bundle may hold.
pub const BUNDLE_ENTRIES_MAX: usize = 10_000;

/// A party of the trade and the key the chain enrolled it with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleParty {
    pub did: PartyDid,
    pub key: PublicKey,
}

/// One record and its proof.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleEntry {
    pub record: Record,
    /// The transaction's binary encoding, hex.
    pub tx_hex: String,
    /// The block header's binary encoding, hex (`docs/ledger-format.md`).
    pub header_hex: String,
    pub proof: InclusionProof,
}

/// A trade's records with their proofs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// [`BUNDLE_FORMAT`].
    pub format: String,
    pub serial: Serial,
    pub consumer: BundleParty,
    pub supplier: BundleParty,
    /// The supplier's agent keys (active or revoked) as the chain lists them.
    pub agent_keys: Vec<PublicKey>,
    /// The trade's delegated channel key, if its order delegated one.
    pub delegate_key: Option<PublicKey>,
    pub entries: Vec<BundleEntry>,
}

/// What a verified bundle showed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BundleReport {
    /// Records verified, in order.
    pub records: usize,
    /// Distinct block producer keys that signed the headers.
    pub producers: Vec<PublicKey>,
    /// W3C credentials whose proofs verified.
    pub credentials: usize,
    /// Channel states whose two signatures verified.
    pub channel_states: usize,
    /// Σ of the check-ins' costs, in fen.
    pub checkins_fen: i64,
}

/// Why a bundle does not verify: the entry (its record's sequence number, when there is
/// one) and the check that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {check}: {detail}", match .seq { Some(s) => format!("record {s}"), None => "bundle".to_owned() })]
pub struct BundleError {
    pub seq: Option<u32>,
    /// A stable code: `format`, `tx`, `tx_signature`, `tx_id`, `header`, `header_signature`,
    /// `producer`, `chain`, `height`, `time`, `inclusion`, `signer`, `operation`,
    /// `order_signature`, `contract_signature`, `credential`, `rating_signature`,
    /// `channel_state`, `sequence`.
    pub check: &'static str,
    pub detail: String,
}

fn fail(seq: Option<u32>, check: &'static str, detail: impl Into<String>) -> BundleError {
    BundleError {
        seq,
        check,
        detail: detail.into(),
    }
}

/// Verifies `bundle` (see the module documentation). `producers`: the block producer keys
/// to trust; empty trusts any producer whose signature verifies (the report names them).
pub fn verify(bundle: &Bundle, producers: &[PublicKey]) -> Result<BundleReport, BundleError> {
    if bundle.format != BUNDLE_FORMAT {
        return Err(fail(None, "format", format!("not a {BUNDLE_FORMAT} file")));
    }
    if bundle.entries.len() > BUNDLE_ENTRIES_MAX {
        return Err(fail(
            None,
            "format",
            format!("more than {BUNDLE_ENTRIES_MAX} entries"),
        ));
    }
    let mut report = BundleReport::default();
    let mut network = None;
    let mut terms: Option<ChannelTerms> = None;
    for (i, entry) in bundle.entries.iter().enumerate() {
        let seq = Some(entry.record.seq);
        if entry.record.seq as usize != i || entry.record.serial != bundle.serial {
            return Err(fail(
                seq,
                "sequence",
                "records must be the serial's, in order from 0",
            ));
        }
        let (tx, header) = check_inclusion(entry, producers, &mut network)?;
        if !report.producers.contains(&header.unsigned.proposer) {
            report.producers.push(header.unsigned.proposer);
        }
        check_signer(bundle, &entry.record, tx.signer())?;
        check_content(bundle, entry, &tx, &mut terms, &mut report)?;
        report.records += 1;
    }
    Ok(report)
}

/// The transaction and header of `entry`, checked: signatures, id, chain, height, time,
/// producer and inclusion.
fn check_inclusion(
    entry: &BundleEntry,
    producers: &[PublicKey],
    network: &mut Option<String>,
) -> Result<(Transaction, BlockHeader), BundleError> {
    let r = &entry.record;
    let seq = Some(r.seq);
    let tx_bytes = hex::decode(&entry.tx_hex).map_err(|e| fail(seq, "tx", e.to_string()))?;
    let tx = Transaction::decode(&tx_bytes).map_err(|e| fail(seq, "tx", e.to_string()))?;
    tx.verify_signature()
        .map_err(|e| fail(seq, "tx_signature", e.to_string()))?;
    if tx.id() != r.tx_id {
        return Err(fail(
            seq,
            "tx_id",
            format!(
                "the transaction is {}, the record names {}",
                tx.id(),
                r.tx_id
            ),
        ));
    }
    let header_bytes =
        hex::decode(&entry.header_hex).map_err(|e| fail(seq, "header", e.to_string()))?;
    let mut reader = suanli_primitives::codec::Reader::new(&header_bytes);
    let header =
        BlockHeader::decode_from(&mut reader).map_err(|e| fail(seq, "header", e.to_string()))?;
    if !header.verify_signature() {
        return Err(fail(
            seq,
            "header_signature",
            "the block header's signature does not verify",
        ));
    }
    if !producers.is_empty() && !producers.contains(&header.unsigned.proposer) {
        return Err(fail(
            seq,
            "producer",
            format!(
                "block signed by {}, not a trusted producer",
                header.unsigned.proposer
            ),
        ));
    }
    let chain = &header.unsigned.chain;
    let net = chain.network().to_string();
    if chain.kind() != ChainKind::Trade
        || tx.chain() != chain
        || network.get_or_insert(net.clone()) != &net
    {
        return Err(fail(
            seq,
            "chain",
            "the transaction and block must be of one trade chain",
        ));
    }
    if header.unsigned.height != r.height {
        return Err(fail(
            seq,
            "height",
            format!(
                "block {} but the record says {}",
                header.unsigned.height, r.height
            ),
        ));
    }
    if header.unsigned.timestamp_ms != r.block_time_ms {
        return Err(fail(seq, "time", "the block's time is not the record's"));
    }
    if !entry
        .proof
        .verify(&leaf_hash(tx.id().0.as_bytes()), &header.unsigned.tx_root)
    {
        return Err(fail(
            seq,
            "inclusion",
            "the inclusion proof does not lead to the block's tx_root",
        ));
    }
    Ok((tx, header))
}

/// The transaction's signer may act for the record's party.
fn check_signer(bundle: &Bundle, r: &Record, signer: &PublicKey) -> Result<(), BundleError> {
    let ok = if r.by == bundle.consumer.did {
        *signer == bundle.consumer.key || bundle.delegate_key.as_ref() == Some(signer)
    } else if r.by == bundle.supplier.did {
        *signer == bundle.supplier.key
            || (r.agent_key.as_ref() == Some(signer) && bundle.agent_keys.contains(signer))
    } else {
        false
    };
    if ok {
        return Ok(());
    }
    Err(fail(
        Some(r.seq),
        "signer",
        format!("{signer} does not act for {}", r.by),
    ))
}

enum Op {
    Trade(TradeOp),
    Channel(ChannelOp),
}

fn decode_op(tx: &Transaction, seq: Option<u32>) -> Result<Op, BundleError> {
    let Payload::Call(call) = tx.payload() else {
        return Err(fail(seq, "operation", "not a contract call"));
    };
    match call.contract() {
        ContractId::Trade => TradeOp::decode(call.body())
            .map(Op::Trade)
            .map_err(|e| fail(seq, "operation", e.to_string())),
        ContractId::Channel => ChannelOp::decode(call.body())
            .map(Op::Channel)
            .map_err(|e| fail(seq, "operation", e.to_string())),
        other => Err(fail(
            seq,
            "operation",
            format!("a call of contract {other:?}"),
        )),
    }
}

fn op_serial(op: &Op) -> Option<Serial> {
    match op {
        Op::Channel(c) => Some(*c.serial()),
        Op::Trade(t) => match t {
            TradeOp::Browse { serial, .. }
            | TradeOp::Order { serial, .. }
            | TradeOp::Accept { serial, .. }
            | TradeOp::Fund { serial, .. }
            | TradeOp::Checkin { serial, .. }
            | TradeOp::Close { serial, .. }
            | TradeOp::Rate { serial, .. } => Some(*serial),
            _ => None,
        },
    }
}

/// The operation is the record's, and the signatures inside the record verify.
fn check_content(
    bundle: &Bundle,
    entry: &BundleEntry,
    tx: &Transaction,
    terms: &mut Option<ChannelTerms>,
    report: &mut BundleReport,
) -> Result<(), BundleError> {
    let r = &entry.record;
    let seq = Some(r.seq);
    let op = decode_op(tx, seq)?;
    if op_serial(&op) != Some(bundle.serial) {
        return Err(fail(
            seq,
            "operation",
            "the transaction is not about this trade",
        ));
    }
    let consumer = &bundle.consumer.key;
    match &r.data {
        RecordData::Order(d) => {
            let digest = op::order_digest_v2(
                OrderFields {
                    serial: &r.serial,
                    time_ms: d.time_ms,
                    supplier: &d.supplier,
                    offer_id: d.offer_id,
                    requirements: &d.requirements,
                    value_fen: d.value_fen,
                },
                d.wallet.as_ref(),
                d.channel.as_ref(),
            );
            let same = matches!(&op, Op::Trade(TradeOp::Order { signature, .. }) if *signature == d.signature);
            if !same || !op::verify_digest(consumer, &digest, &d.signature) {
                return Err(fail(
                    seq,
                    "order_signature",
                    "the consumer's order signature does not verify",
                ));
            }
        }
        RecordData::Contract(d) => {
            let message = op::contract_message(&d.consumer_signature);
            if !tx.signer().verify(&message, &d.supplier_signature) {
                return Err(fail(
                    seq,
                    "contract_signature",
                    "the supplier's countersignature does not verify",
                ));
            }
            credential(&d.credential, tx.signer(), seq, report)?;
        }
        RecordData::Checkin(d) => {
            credential(&d.credential, tx.signer(), seq, report)?;
            report.checkins_fen += d.cost_fen.get();
        }
        RecordData::Rating(d) => {
            let digest = op::rating_digest(
                &r.serial,
                d.time_ms,
                &bundle.supplier.did,
                d.overall_milli,
                &d.scores,
            );
            if !op::verify_digest(consumer, &digest, &d.signature) {
                return Err(fail(
                    seq,
                    "rating_signature",
                    "the consumer's rating signature does not verify",
                ));
            }
        }
        RecordData::ChannelOpen(d) => *terms = Some(d.terms),
        RecordData::ChannelCheckin(d) => {
            channel_state(bundle, terms.as_ref(), &d.state, seq)?;
            report.channel_states += 1;
            report.checkins_fen += d.cost_fen.get();
        }
        RecordData::ChannelForceClose(_)
        | RecordData::ChannelChallenge(_)
        | RecordData::ChannelBond(_)
        | RecordData::Browse(_)
        | RecordData::Fund(_)
        | RecordData::Close(_) => {}
    }
    Ok(())
}

fn credential(
    vc: &serde_json::Value,
    issuer_key: &PublicKey,
    seq: Option<u32>,
    report: &mut BundleReport,
) -> Result<(), BundleError> {
    suanli_vc::proof::verify_proof(vc, issuer_key)
        .map_err(|e| fail(seq, "credential", e.to_string()))?;
    report.credentials += 1;
    Ok(())
}

fn channel_state(
    bundle: &Bundle,
    terms: Option<&ChannelTerms>,
    state: &crate::channel::SignedState,
    seq: Option<u32>,
) -> Result<(), BundleError> {
    let Some(terms) = terms else {
        return Err(fail(
            seq,
            "channel_state",
            "a channel check-in before the channel's opening",
        ));
    };
    // The supplier's statements are signed by the key in the terms, or — once that agent
    // key was revoked — by the supplier's enrolled key or another of its agent keys
    // (`docs/channel-protocol.md` §4).
    let s = &state.statement;
    let supplier_ok = std::iter::once(&terms.supplier_key)
        .chain(std::iter::once(&bundle.supplier.key))
        .chain(bundle.agent_keys.iter())
        .any(|k| s.verify(k, &state.supplier_signature));
    if !supplier_ok || !s.verify(&terms.consumer_key, &state.consumer_signature) {
        return Err(fail(
            seq,
            "channel_state",
            "the state's two signatures do not verify with the channel's keys",
        ));
    }
    Ok(())
}
