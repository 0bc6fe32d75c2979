//! What the trade contract keeps in state, and under which keys. Values are compact JSON
//! with a pinned member order: struct fields in declaration order (do not reorder them),
//! enum-keyed maps in enum order, a record's `data` canonical (members sorted by key, see
//! [`crate::record_data`]); amounts are [`Fen`] (plain integers). The full layout, value by
//! value, is `docs/ledger-format.md` §State layout; the golden tests pin it.
//!
//! | key | value |
//! | --- | --- |
//! | `trade/policy` | [`Policy`] |
//! | `trade/party/<did>` | [`Party`] |
//! | `trade/keyof/<32-byte key>` | the DID the key is enrolled for |
//! | `trade/mode_next`, `trade/offer_next` | u64 BE, next id |
//! | `trade/mode/<u64 BE>` | [`Mode`] |
//! | `trade/offer/<u64 BE>` | [`Offer`] |
//! | `trade/t/<serial>` | [`Trade`] |
//! | `trade/rn/<serial>` | u32 BE, records of the serial so far |
//! | `trade/r/<serial><u32 BE>` | [`Record`] |
//! | `trade/h_n/<did>`, `trade/h/<did>/<u64 BE>` | history length, serial of the n-th trade |
//! | `trade/stats/<did>` | [`SupplierStats`] |
//! | `trade/rt_n/<did>`, `trade/rt/<did>/<u64 BE>` | ratings count, [`RatingEntry`] |
//! | `trade/ch/<serial>` | [`Channel`] |
//! | `trade/sm/<did>/<u64 BE n>`, `trade/so/<did>/<u64 BE n>` | id of the supplier's n-th mode, offer |
//! | `trade/cpt/<u32 BE id>` | [`crate::cpts::AdoptedCpt`] |
//! | `trade/agent/<32-byte key>` | [`AgentKey`] |
//! | `trade/ag_n/<did>`, `trade/ag/<did>/<u64 BE>` | agent keys authorised, the n-th key (32 bytes) |
//! | `trade/w/<wallet>` | [`crate::wallet::Wallet`] |
//! | `trade/wm/<wallet>/<did>` | [`crate::wallet::WalletMember`] |
//! | `trade/wm_i/<wallet>/<u32 BE n>` | the DID of the wallet's n-th member |
//!
//! A trade's escrow is the settlement-credit balance of the account
//! [`escrow_account`]`(serial)`, which is not a public key: nobody holds a key for it and
//! no credit transfer can name it.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use suanli_ledger::TxId;
use suanli_ledger::contract::ContractError;
use suanli_primitives::hash::sha256_parts;
use suanli_primitives::{Fen, PublicKey, Signature};

use crate::model::{
    CloseReason, Encryption, PartyDid, Requirements, Role, Scores, Serial, Weights,
};
pub use crate::record_data::RecordData;
use crate::wallet::{ChannelDelegation, WalletName};

pub const POLICY_KEY: &[u8] = b"trade/policy";
pub const MODE_NEXT_KEY: &[u8] = b"trade/mode_next";
pub const OFFER_NEXT_KEY: &[u8] = b"trade/offer_next";

fn key(prefix: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut k = prefix.as_bytes().to_vec();
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}

pub fn party_key(did: &PartyDid) -> Vec<u8> {
    key("trade/party/", &[did.as_str().as_bytes()])
}
pub fn keyof_key(pk: &PublicKey) -> Vec<u8> {
    key("trade/keyof/", &[pk.as_bytes()])
}
pub fn mode_key(id: u64) -> Vec<u8> {
    key("trade/mode/", &[&id.to_be_bytes()])
}
pub fn offer_key(id: u64) -> Vec<u8> {
    key("trade/offer/", &[&id.to_be_bytes()])
}
pub fn trade_key(serial: &Serial) -> Vec<u8> {
    key("trade/t/", &[serial.as_bytes()])
}
pub fn record_count_key(serial: &Serial) -> Vec<u8> {
    key("trade/rn/", &[serial.as_bytes()])
}
pub fn record_key(serial: &Serial, seq: u32) -> Vec<u8> {
    key("trade/r/", &[serial.as_bytes(), &seq.to_be_bytes()])
}
pub fn history_count_key(did: &PartyDid) -> Vec<u8> {
    key("trade/h_n/", &[did.as_str().as_bytes()])
}
pub fn history_key(did: &PartyDid, n: u64) -> Vec<u8> {
    key(
        "trade/h/",
        &[did.as_str().as_bytes(), b"/", &n.to_be_bytes()],
    )
}
/// The id of `did`'s n-th mode (n counts from 0 to its stats' `modes`).
pub fn supplier_mode_key(did: &PartyDid, n: u64) -> Vec<u8> {
    key(
        "trade/sm/",
        &[did.as_str().as_bytes(), b"/", &n.to_be_bytes()],
    )
}
/// The id of `did`'s n-th offer (n counts from 0 to its stats' `offers`).
pub fn supplier_offer_key(did: &PartyDid, n: u64) -> Vec<u8> {
    key(
        "trade/so/",
        &[did.as_str().as_bytes(), b"/", &n.to_be_bytes()],
    )
}
/// A registered CPT a supplier adopted (`crate::cpts::AdoptedCpt`).
pub fn cpt_key(cpt: u32) -> Vec<u8> {
    key("trade/cpt/", &[&cpt.to_be_bytes()])
}
pub fn agent_key(pk: &PublicKey) -> Vec<u8> {
    key("trade/agent/", &[pk.as_bytes()])
}
pub fn agent_count_key(did: &PartyDid) -> Vec<u8> {
    key("trade/ag_n/", &[did.as_str().as_bytes()])
}
pub fn agent_index_key(did: &PartyDid, n: u64) -> Vec<u8> {
    key(
        "trade/ag/",
        &[did.as_str().as_bytes(), b"/", &n.to_be_bytes()],
    )
}
pub fn stats_key(did: &PartyDid) -> Vec<u8> {
    key("trade/stats/", &[did.as_str().as_bytes()])
}
pub fn rating_count_key(did: &PartyDid) -> Vec<u8> {
    key("trade/rt_n/", &[did.as_str().as_bytes()])
}
pub fn rating_key(did: &PartyDid, n: u64) -> Vec<u8> {
    key(
        "trade/rt/",
        &[did.as_str().as_bytes(), b"/", &n.to_be_bytes()],
    )
}

/// The settlement-credit account holding a trade's escrow: the first of
/// SHA-256("suanli/trade/escrow/v2" ‖ serial ‖ counter), counter = 0, 1, … (u32 BE), that is
/// not a valid public key. Balances of keys and of accounts share one key space, and a
/// credit `mint` or `transfer` names its payee by public key, so an account that is a valid
/// key could be paid into by anyone, around the contract, and its escrow would no longer be
/// `funded − paid − refunded`. About half of all hashes are not keys: the search ends at
/// once.
pub fn escrow_account(serial: &Serial) -> [u8; 32] {
    let candidate = |counter: u32| {
        *sha256_parts(&[
            b"suanli/trade/escrow/v2".as_slice(),
            serial.as_bytes(),
            &counter.to_be_bytes(),
        ])
        .as_bytes()
    };
    (0..=u32::MAX)
        .map(candidate)
        .find(|account| PublicKey::from_bytes(account).is_err())
        .unwrap_or_else(|| candidate(0))
}

pub fn corrupt(what: &str) -> ContractError {
    ContractError::new("state_corrupt", format!("stored {what} does not decode"))
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, ContractError> {
    serde_json::from_slice(bytes).map_err(|_| corrupt(what))
}

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising these types cannot fail: every map key is a string.
    serde_json::to_vec(value).unwrap_or_default()
}

pub fn decode_u64(bytes: Option<Vec<u8>>) -> u64 {
    bytes
        .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0)
}

pub fn decode_u32(bytes: Option<Vec<u8>>) -> u32 {
    bytes
        .and_then(|b| <[u8; 4]>::try_from(b.as_slice()).ok())
        .map(u32::from_be_bytes)
        .unwrap_or(0)
}

/// Platform policy, set by the operator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Keep consumers' browse records on chain (off by default: a browse record tells
    /// every member node who looked at which supplier, which most consumers would not
    /// want; it is kept only where the platform's users agreed to it).
    pub record_browse: bool,
}

/// An enrolled party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub did: PartyDid,
    pub key: PublicKey,
    /// The verification method of `key` in the DID document.
    #[serde(default = "default_key_fragment")]
    pub key_fragment: String,
    /// Since when `key` acts for the DID (its enrolment).
    #[serde(default)]
    pub key_since_ms: u64,
    pub roles: Vec<Role>,
    pub kyc_credential_id: Option<String>,
    pub kyc_credential_sha256: Option<String>,
    pub enrolled_at_ms: u64,
}

fn default_key_fragment() -> String {
    "key-1".into()
}

impl Party {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// A key a supplier delegated to its agent (`authorise_agent`): it may accept orders
/// (countersignature and trade-start credential), check in, close and run the channel
/// operations of that supplier's trades — never publish, withdraw or delegate. Revocation
/// is permanent: the key is refused from then on (`agent_key_revoked`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentKey {
    pub key: PublicKey,
    /// The supplier the key acts for.
    pub supplier: PartyDid,
    /// The key's verification method in the supplier's DID document: the credentials
    /// the agent issues must name `<supplier>#<key_fragment>`.
    pub key_fragment: String,
    pub authorised_at_ms: u64,
    pub revoked_at_ms: Option<u64>,
}

impl AgentKey {
    pub fn is_revoked(&self) -> bool {
        self.revoked_at_ms.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mode {
    pub id: u64,
    pub supplier: PartyDid,
    pub terms: crate::model::ModeTerms,
    pub published_at_ms: u64,
    /// The transaction that published it (its signer is the supplier's enrolled key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_id: Option<TxId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub id: u64,
    pub supplier: PartyDid,
    pub terms: crate::model::OfferTerms,
    /// Units not taken by open trades.
    pub available: u32,
    pub withdrawn: bool,
    pub published_at_ms: u64,
    /// The transaction that published it (its signer is the supplier's enrolled key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_id: Option<TxId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Ordered, escrow held, waiting for the supplier's contract.
    Ordered,
    /// Contracted: check-ins run.
    Active,
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closure {
    pub reason: CloseReason,
    pub by: Role,
    pub at_ms: u64,
    /// Minutes settled by the close itself (the unbilled tail).
    pub tail_minutes: u64,
    /// What the close charged (tail and minimum charge).
    pub tail_cost_fen: Fen,
    /// Returned to the consumer.
    pub refund_fen: Fen,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    pub scores: Scores,
    pub overall_milli: u32,
    pub at_ms: u64,
}

/// One trade: its terms (copied from the mode and offer when ordered, so later changes
/// never alter it), its state and its money.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trade {
    pub serial: Serial,
    pub consumer: PartyDid,
    pub supplier: PartyDid,
    pub mode_id: u64,
    pub offer_id: u64,
    pub requirements: Requirements,
    pub rate_fen_per_minute: Fen,
    pub min_cost_fen: Fen,
    pub period_minutes: u64,
    pub trade_type: String,
    pub trade_start_cpt: u32,
    pub checkin_cpt: u32,
    pub encryption: Encryption,
    pub weights: Weights,
    pub status: Status,
    pub ordered_at_ms: u64,
    /// The supplier must accept before this (the offer's end of validity).
    pub accept_by_ms: u64,
    pub order_signature: Signature,
    pub contract_start_ms: Option<u64>,
    pub contract_end_ms: Option<u64>,
    /// End of the last settled period.
    pub billed_until_ms: Option<u64>,
    pub billed_minutes: u64,
    /// Charged to the consumer so far (check-ins and the close's tail).
    pub charged_fen: Fen,
    /// Put into escrow (order value and top-ups).
    pub funded_fen: Fen,
    /// Paid out of escrow to the supplier.
    pub paid_fen: Fen,
    /// Charged but not covered by the escrow (only a close can leave this).
    pub unpaid_fen: Fen,
    pub checkins: u32,
    /// Top-ups so far (at most `FUNDS_PER_TRADE_MAX`).
    #[serde(default)]
    pub funds: u32,
    pub closure: Option<Closure>,
    pub rating: Option<Rating>,
    /// The agent key that accepted the contract (absent when the supplier's own key did):
    /// a service channel opened on the trade takes the supplier's statements signed by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_key: Option<PublicKey>,
    /// The organisation wallet the order was paid from (refunds and bonds go back to it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet: Option<WalletName>,
    /// The consumer's channel side, delegated with the order (`crate::wallet`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegate: Option<ChannelDelegation>,
}

impl Trade {
    /// What the escrow must hold: funded − paid − refunded. Signed, so that a broken
    /// invariant shows as a negative number instead of being clamped away.
    pub fn escrow_expected_fen(&self) -> i64 {
        self.funded_fen.get()
            - self.paid_fen.get()
            - self.closure.as_ref().map_or(0, |c| c.refund_fen.get())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Browse,
    Order,
    Contract,
    Fund,
    Checkin,
    Close,
    Rating,
    /// A service channel opened on the trade.
    ChannelOpen,
    /// The supplier posted (added to) its channel bond.
    ChannelBond,
    /// A unilateral channel close opened its challenge window.
    ChannelForceClose,
    /// A later state was posted against a unilateral close.
    ChannelChallenge,
}

/// One linked record of a trade: what was done, by whom, in which transaction. `kind`
/// always equals `data.kind()` (reading a record checks it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "crate::record_data::RecordDto")]
pub struct Record {
    pub serial: Serial,
    pub seq: u32,
    pub kind: RecordKind,
    pub by: PartyDid,
    pub tx_id: TxId,
    pub height: u64,
    pub block_time_ms: u64,
    /// Kind-specific content: signatures, credential, amounts.
    pub data: RecordData,
    /// The supplier's agent key that signed the transaction (absent when the party's own
    /// enrolled key did).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_key: Option<PublicKey>,
}

/// Per supplier: what its trades came to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplierStats {
    /// Orders received.
    pub orders: u64,
    /// Orders it contracted.
    pub contracted: u64,
    /// Contracted trades closed, by reason.
    pub closed: BTreeMap<CloseReason, u64>,
    /// Orders closed before a contract (withdrawn, expired, declined).
    pub lapsed: u64,
    pub ratings: u64,
    /// Of the `supplier_fault` closes, how many the consumer claimed (the rest the
    /// supplier admitted).
    #[serde(default)]
    pub fault_claims_by_consumer: u64,
    /// Modes and offers published (quotas).
    #[serde(default)]
    pub modes: u64,
    #[serde(default)]
    pub offers: u64,
}

/// One rating in a supplier's rating index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatingEntry {
    pub serial: Serial,
    pub at_ms: u64,
    pub overall_milli: u32,
    pub scores: Scores,
    /// What the rated trade charged, and what a full first period costs under its terms:
    /// the reputation weighs a rating by how much of that the rater paid, so ratings of
    /// trades stopped after a minute count for little.
    #[serde(default)]
    pub charged_fen: Fen,
    #[serde(default)]
    pub full_period_fen: Fen,
}

// ---- service channels (`docs/channel-protocol.md`) -----------------------------------

/// `trade/ch/<serial>`: the channel of a trade.
pub fn channel_key(serial: &Serial) -> Vec<u8> {
    key("trade/ch/", &[serial.as_bytes()])
}

/// The keyless account holding one party's channel bond, derived like
/// [`escrow_account`] (never a valid public key, so only the contract moves it).
pub fn bond_account(serial: &Serial, role: Role) -> [u8; 32] {
    let candidate = |counter: u32| {
        *sha256_parts(&[
            b"suanli/channel/bond/v1".as_slice(),
            serial.as_bytes(),
            role.as_str().as_bytes(),
            &counter.to_be_bytes(),
        ])
        .as_bytes()
    };
    (0..=u32::MAX)
        .map(candidate)
        .find(|account| PublicKey::from_bytes(account).is_err())
        .unwrap_or_else(|| candidate(0))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelStatus {
    /// Metering off the chain; check-ins settle the latest state.
    Open,
    /// A unilateral close is waiting for its challenge window to pass.
    Closing,
    /// Settled; the trade is closed.
    Closed,
}

/// A dual-signed state the chain has seen, in short.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PostedState {
    pub seq: u64,
    pub minutes: u64,
    pub cost_fen: Fen,
    #[serde(with = "hex_bytes32")]
    pub usage_sha256: [u8; 32],
}

mod hex_bytes32 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let bytes = hex::decode(&text).map_err(serde::de::Error::custom)?;
        <[u8; 32]>::try_from(bytes.as_slice())
            .map_err(|_| serde::de::Error::custom("expected 64 hex characters"))
    }
}

/// A unilateral close in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closing {
    pub by: Role,
    pub reason: CloseReason,
    pub at_ms: u64,
    /// The challenge window ends (settlement may follow) at this block time.
    pub deadline_ms: u64,
    /// The latest state posted so far (by the closer, or a later one by a challenger).
    pub posted: PostedState,
    /// Who posted `posted` (the closer, or the party whose challenge superseded it).
    pub posted_by: Role,
}

/// A stale state proven against a party: its bond went to the other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Penalty {
    pub party: Role,
    pub fen: Fen,
    /// The stale state's sequence number and the later one that proved it.
    pub stale_seq: u64,
    pub proven_by_seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    pub serial: Serial,
    pub status: ChannelStatus,
    pub opened_at_ms: u64,
    pub terms: crate::channel::ChannelTerms,
    pub challenge_window_ms: u64,
    pub consumer_bond_fen: Fen,
    pub supplier_bond_fen: Fen,
    /// The latest state settled by a check-in (default: nothing metered).
    pub settled: PostedState,
    pub checkins: u32,
    /// Bonds the supplier posted (bounded by `channel_contract::BONDS_PER_CHANNEL_MAX`).
    #[serde(default)]
    pub bonds: u32,
    /// Challenges each party posted (each bounded by
    /// `channel_contract::CHALLENGES_PER_CHANNEL_MAX`).
    #[serde(default)]
    pub consumer_challenges: u32,
    #[serde(default)]
    pub supplier_challenges: u32,
    pub closing: Option<Closing>,
    pub penalty: Option<Penalty>,
}
