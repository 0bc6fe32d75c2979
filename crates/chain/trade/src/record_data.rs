//! The kind-specific content of a trade record ([`crate::records::Record::data`]): one
//! typed struct per record kind.
//!
//! Encoding (pinned; `docs/ledger-format.md` §trade records): the JSON object of the
//! variant's struct, compact, with the members of every object — the struct's own and
//! those of every value nested in it (requirements, scores, channel terms and states, the
//! W3C credential) — in ascending byte order of their keys. [`Sorted`] writes that order
//! explicitly, whatever order a type declares or a parsed credential arrived in, so the
//! bytes do not depend on serde_json's map features. `None` is written as `null`.

use serde::ser::{Error as _, SerializeMap, SerializeSeq};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;
use suanli_primitives::{Fen, PositiveFen, Signature};

use crate::channel::{ChannelTerms, SignedState};
use crate::model::{CloseReason, PartyDid, Requirements, Role, Scores};
use crate::records::RecordKind;

/// A JSON value written with the members of every object in ascending byte order of key.
#[derive(Debug, Clone, Copy)]
pub struct Sorted<'a>(pub &'a Value);

impl Serialize for Sorted<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(map) => {
                let mut members: Vec<(&String, &Value)> = map.iter().collect();
                members.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
                let mut out = s.serialize_map(Some(members.len()))?;
                for (key, value) in members {
                    out.serialize_entry(key, &Sorted(value))?;
                }
                out.end()
            }
            Value::Array(items) => {
                let mut out = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    out.serialize_element(&Sorted(item))?;
                }
                out.end()
            }
            other => other.serialize(s),
        }
    }
}

/// Serialises a JSON value (a credential) as [`Sorted`] does (for `serialize_with`).
pub fn sorted_value<S: Serializer>(value: &Value, s: S) -> Result<S::Ok, S::Error> {
    Sorted(value).serialize(s)
}

/// `browse` (ConType_1): the consumer looked at `supplier`'s offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrowseData {
    pub signature: Signature,
    pub supplier: PartyDid,
    pub time_ms: u64,
}

/// `order` (ConType_2): the consumer's signed order request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderData {
    pub offer_id: u64,
    pub requirements: Requirements,
    pub signature: Signature,
    pub supplier: PartyDid,
    pub time_ms: u64,
    pub value_fen: PositiveFen,
    /// The wallet paid from (v2 orders only, covered by the signature).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet: Option<crate::wallet::WalletName>,
    /// The channel delegation (v2 orders only, covered by the signature).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<crate::wallet::ChannelDelegation>,
}

/// `contract` (ConType_3): both signatures and the trade-start credential.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractData {
    pub consumer_signature: Signature,
    pub contract_end_ms: u64,
    pub contract_start_ms: u64,
    pub credential: Value,
    pub supplier_signature: Signature,
}

/// `fund`: a top-up of the escrow (also a channel's deposit and top-up).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FundData {
    pub amount_fen: PositiveFen,
}

/// `checkin` of a trade without a channel: the n-th period with its credential.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckinData {
    pub cost_fen: Fen,
    pub credential: Value,
    pub end_ms: u64,
    pub minutes: u64,
    pub n: u32,
    pub start_ms: u64,
}

/// `checkin` of a channel: the dual-signed state it settled. `cost_fen` is what this
/// check-in paid (the state's cost less the one settled before), `minutes` the state's
/// cumulative minutes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelCheckinData {
    /// Always `true`: tells a channel's check-in from a trade's.
    pub channel: bool,
    pub cost_fen: Fen,
    pub cumulative_cost_fen: Fen,
    pub end_ms: u64,
    pub minutes: u64,
    pub n: u32,
    pub start_ms: u64,
    pub state: SignedState,
}

/// `close`: how the trade ended and what the close settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseData {
    pub by_role: Role,
    pub reason: CloseReason,
    pub refund_fen: Fen,
    pub tail_cost_fen: Fen,
    pub tail_minutes: u64,
    pub unpaid_fen: Fen,
}

/// `rating` (ConType_4): the consumer's signed scores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatingData {
    pub overall_milli: u32,
    pub scores: Scores,
    pub signature: Signature,
    pub time_ms: u64,
}

/// `channel_open`: the channel's terms and what the opening settled before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelOpenData {
    pub bond_fen: Fen,
    pub challenge_window_ms: u64,
    pub deposit_fen: Fen,
    pub settled_before_fen: Fen,
    pub settled_before_minutes: u64,
    pub terms: ChannelTerms,
}

/// `channel_bond`: the supplier's posting and its bond after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelBondData {
    pub amount_fen: PositiveFen,
    pub bond_fen: Fen,
}

/// `channel_force_close`: a unilateral close and the state it posted (none: the last
/// settled one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelForceCloseData {
    pub by_role: Role,
    pub deadline_ms: u64,
    pub posted_cost_fen: Fen,
    pub posted_seq: u64,
    pub reason: CloseReason,
    pub state: Option<SignedState>,
}

/// `channel_challenge`: a later state against the posted one, and the penalty if the
/// posted state was the consumer's and stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelChallengeData {
    pub penalised_role: Option<Role>,
    pub penalty_fen: Fen,
    pub seq: u64,
    pub stale_by_role: Role,
    pub stale_seq: u64,
    pub state: SignedState,
}

/// What a record holds besides its envelope; the variant fixes the record's kind.
// One record is built per transaction and records are read a page at a time: the size of
// the channel variants (signed states, terms) costs nothing worth boxing them for.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum RecordData {
    Browse(BrowseData),
    Order(OrderData),
    Contract(ContractData),
    Fund(FundData),
    Checkin(CheckinData),
    ChannelCheckin(ChannelCheckinData),
    Close(CloseData),
    Rating(RatingData),
    ChannelOpen(ChannelOpenData),
    ChannelBond(ChannelBondData),
    ChannelForceClose(ChannelForceCloseData),
    ChannelChallenge(ChannelChallengeData),
}

impl RecordData {
    /// The record kind this content belongs to.
    pub fn kind(&self) -> RecordKind {
        match self {
            RecordData::Browse(_) => RecordKind::Browse,
            RecordData::Order(_) => RecordKind::Order,
            RecordData::Contract(_) => RecordKind::Contract,
            RecordData::Fund(_) => RecordKind::Fund,
            RecordData::Checkin(_) | RecordData::ChannelCheckin(_) => RecordKind::Checkin,
            RecordData::Close(_) => RecordKind::Close,
            RecordData::Rating(_) => RecordKind::Rating,
            RecordData::ChannelOpen(_) => RecordKind::ChannelOpen,
            RecordData::ChannelBond(_) => RecordKind::ChannelBond,
            RecordData::ChannelForceClose(_) => RecordKind::ChannelForceClose,
            RecordData::ChannelChallenge(_) => RecordKind::ChannelChallenge,
        }
    }

    /// The credential the record carries (a contract's trade-start credential, a trade
    /// check-in's check-in credential).
    pub fn credential(&self) -> Option<&Value> {
        match self {
            RecordData::Contract(d) => Some(&d.credential),
            RecordData::Checkin(d) => Some(&d.credential),
            _ => None,
        }
    }

    /// The supplier a browse record or an order names.
    pub fn supplier(&self) -> Option<&PartyDid> {
        match self {
            RecordData::Browse(d) => Some(&d.supplier),
            RecordData::Order(d) => Some(&d.supplier),
            _ => None,
        }
    }

    /// The content as a JSON value (members in the encoding's order).
    pub fn to_value(&self) -> Result<Value, serde_json::Error> {
        let value = match self {
            RecordData::Browse(d) => serde_json::to_value(d),
            RecordData::Order(d) => serde_json::to_value(d),
            RecordData::Contract(d) => serde_json::to_value(d),
            RecordData::Fund(d) => serde_json::to_value(d),
            RecordData::Checkin(d) => serde_json::to_value(d),
            RecordData::ChannelCheckin(d) => serde_json::to_value(d),
            RecordData::Close(d) => serde_json::to_value(d),
            RecordData::Rating(d) => serde_json::to_value(d),
            RecordData::ChannelOpen(d) => serde_json::to_value(d),
            RecordData::ChannelBond(d) => serde_json::to_value(d),
            RecordData::ChannelForceClose(d) => serde_json::to_value(d),
            RecordData::ChannelChallenge(d) => serde_json::to_value(d),
        }?;
        Ok(value)
    }

    /// Reads the content of a record of `kind` (a check-in is a channel's when it has the
    /// `channel` member).
    pub fn from_value(kind: RecordKind, value: Value) -> Result<Self, serde_json::Error> {
        use serde_json::from_value as de;
        Ok(match kind {
            RecordKind::Browse => RecordData::Browse(de(value)?),
            RecordKind::Order => RecordData::Order(de(value)?),
            RecordKind::Contract => RecordData::Contract(de(value)?),
            RecordKind::Fund => RecordData::Fund(de(value)?),
            RecordKind::Checkin if value.get("channel").is_some() => {
                RecordData::ChannelCheckin(de(value)?)
            }
            RecordKind::Checkin => RecordData::Checkin(de(value)?),
            RecordKind::Close => RecordData::Close(de(value)?),
            RecordKind::Rating => RecordData::Rating(de(value)?),
            RecordKind::ChannelOpen => RecordData::ChannelOpen(de(value)?),
            RecordKind::ChannelBond => RecordData::ChannelBond(de(value)?),
            RecordKind::ChannelForceClose => RecordData::ChannelForceClose(de(value)?),
            RecordKind::ChannelChallenge => RecordData::ChannelChallenge(de(value)?),
        })
    }
}

impl Serialize for RecordData {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let value = self.to_value().map_err(S::Error::custom)?;
        Sorted(&value).serialize(s)
    }
}

/// A record as stored, before its content is read by kind.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecordDto {
    pub(crate) serial: crate::model::Serial,
    pub(crate) seq: u32,
    pub(crate) kind: RecordKind,
    pub(crate) by: PartyDid,
    pub(crate) tx_id: suanli_ledger::TxId,
    pub(crate) height: u64,
    pub(crate) block_time_ms: u64,
    pub(crate) data: Value,
    #[serde(default)]
    pub(crate) agent_key: Option<suanli_primitives::PublicKey>,
}

impl TryFrom<RecordDto> for crate::records::Record {
    type Error = serde_json::Error;

    fn try_from(dto: RecordDto) -> Result<Self, Self::Error> {
        let data = RecordData::from_value(dto.kind, dto.data)?;
        if data.kind() != dto.kind {
            return Err(<serde_json::Error as serde::de::Error>::custom(
                "record kind and content differ",
            ));
        }
        Ok(crate::records::Record {
            serial: dto.serial,
            seq: dto.seq,
            kind: dto.kind,
            by: dto.by,
            tx_id: dto.tx_id,
            height: dto.height,
            block_time_ms: dto.block_time_ms,
            data,
            agent_key: dto.agent_key,
        })
    }
}
