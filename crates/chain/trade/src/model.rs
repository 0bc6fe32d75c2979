//! The trade chain's vocabulary: serials, parties, resources, weights, scores, modes,
//! offers and requirement lists. Every type checks its invariants when it is built or
//! decoded, so the contract only ever sees well-formed values.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use suanli_identity::SuanliDid;
use suanli_primitives::Fen;

/// A value that breaks a rule of the trade vocabulary (stable code `invalid_value`); the
/// message names the field and the rule. Every check of this crate's types and operations
/// returns it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

impl InvalidValue {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        "invalid_value"
    }
}

impl From<String> for InvalidValue {
    fn from(message: String) -> Self {
        InvalidValue(message)
    }
}

impl From<InvalidValue> for String {
    fn from(e: InvalidValue) -> String {
        e.0
    }
}

impl From<suanli_identity::InvalidValue> for InvalidValue {
    fn from(e: suanli_identity::InvalidValue) -> Self {
        InvalidValue(e.0)
    }
}

/// Longest spec text (an offer's or a requirement's), in bytes.
pub const SPEC_LEN_MAX: usize = 256;
/// Longest trade type text (the check-in credential's `tradeType`), in bytes.
pub const TRADE_TYPE_LEN_MAX: usize = 64;
/// Highest score of one resource.
pub const SCORE_MAX: u8 = 100;
/// Weights are per mille and sum to this.
pub const WEIGHTS_TOTAL_PER_MILLE: u16 = 1000;
/// Longest trade a contract may run, in minutes (366 days).
pub const DURATION_MINUTES_MAX: u64 = 366 * 24 * 60;
/// Longest check-in period, in minutes (31 days).
pub const PERIOD_MINUTES_MAX: u64 = 31 * 24 * 60;
/// Largest price per minute, in fen (¥100,000 a minute).
pub const PRICE_FEN_PER_MINUTE_MAX: i64 = 10_000_000;
/// Largest minimum charge, in fen (¥10,000,000).
pub const MIN_COST_FEN_MAX: i64 = 1_000_000_000;
/// Most units one offer may hold and one order may take.
pub const QUANTITY_MAX: u32 = 100_000;
/// Milliseconds in a minute, the unit of billing.
pub const MINUTE_MS: u64 = 60_000;

fn bounded_text(what: &str, text: &str, max: usize) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err(format!("{what} must not be empty"));
    }
    if text.len() > max {
        return Err(format!(
            "{what} is {} bytes, at most {max} allowed",
            text.len()
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(format!("{what} must not contain control characters"));
    }
    Ok(())
}

/// A trade serial: 16 bytes chosen by the consumer, shared by every record of one trade
/// (seed 003's 交易序列号). Written as 32 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Serial([u8; 16]);

impl Serial {
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Serial(bytes)
    }
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        let bad = || format!("trade serial {text:?} must be 32 hex characters");
        if text.len() != 32 {
            return Err(InvalidValue::from(bad()));
        }
        let bytes = hex::decode(text).map_err(|_| bad())?;
        let array: [u8; 16] = bytes.try_into().map_err(|_| bad())?;
        Ok(Serial(array))
    }
}

impl TryFrom<String> for Serial {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, InvalidValue> {
        Serial::parse(&s)
    }
}

impl From<Serial> for String {
    fn from(s: Serial) -> String {
        s.to_string()
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Serial({self})")
    }
}

/// The DID of a party, a `did:suanli` DID (parsed, so always well formed).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PartyDid(String);

impl PartyDid {
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        SuanliDid::parse(text).map_err(|e| e.to_string())?;
        Ok(PartyDid(text.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PartyDid {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, InvalidValue> {
        PartyDid::parse(&s)
    }
}

impl From<PartyDid> for String {
    fn from(d: PartyDid) -> String {
        d.0
    }
}

impl fmt::Display for PartyDid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PartyDid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PartyDid({})", self.0)
    }
}

/// What an enrolled party may do on the trade chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Publishes modes and offers, accepts orders, checks in (needs a kyc-supplier credential).
    Supplier,
    /// Orders, funds, rates (needs a kyc-consumer credential).
    Consumer,
    /// Reads every record of every trade; never acts on a trade.
    Regulator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Supplier => "supplier",
            Role::Consumer => "consumer",
            Role::Regulator => "regulator",
        }
    }
}

/// The resources a consumer rates (seed 003 eq. 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    Cpu,
    Memory,
    Storage,
    DiskIo,
    Gpu,
    Network,
}

impl Resource {
    pub const ALL: [Resource; 6] = [
        Resource::Cpu,
        Resource::Memory,
        Resource::Storage,
        Resource::DiskIo,
        Resource::Gpu,
        Resource::Network,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Cpu => "cpu",
            Resource::Memory => "memory",
            Resource::Storage => "storage",
            Resource::DiskIo => "disk_io",
            Resource::Gpu => "gpu",
            Resource::Network => "network",
        }
    }
}

/// Rating weights δᵢ in per mille, summing to exactly 1000. A resource with weight 0 (or
/// absent) is not rated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "BTreeMap<Resource, u16>", into = "BTreeMap<Resource, u16>")]
pub struct Weights(BTreeMap<Resource, u16>);

impl Weights {
    pub fn new(weights: BTreeMap<Resource, u16>) -> Result<Self, InvalidValue> {
        let total: u32 = weights.values().map(|w| u32::from(*w)).sum();
        if total != u32::from(WEIGHTS_TOTAL_PER_MILLE) {
            return Err(InvalidValue::from(format!(
                "rating weights are per mille and must sum to {WEIGHTS_TOTAL_PER_MILLE}, they sum to {total}"
            )));
        }
        Ok(Weights(
            weights.into_iter().filter(|(_, w)| *w > 0).collect(),
        ))
    }
    pub fn get(&self, resource: Resource) -> u16 {
        self.0.get(&resource).copied().unwrap_or(0)
    }
    /// The resources that carry weight (and so must be rated).
    pub fn rated(&self) -> impl Iterator<Item = (Resource, u16)> + '_ {
        self.0.iter().map(|(r, w)| (*r, *w))
    }
}

impl TryFrom<BTreeMap<Resource, u16>> for Weights {
    type Error = InvalidValue;
    fn try_from(m: BTreeMap<Resource, u16>) -> Result<Self, InvalidValue> {
        Weights::new(m)
    }
}

impl From<Weights> for BTreeMap<Resource, u16> {
    fn from(w: Weights) -> Self {
        w.0
    }
}

/// Per-resource scores Sᵢ, each 0..=[`SCORE_MAX`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "BTreeMap<Resource, u8>", into = "BTreeMap<Resource, u8>")]
pub struct Scores(BTreeMap<Resource, u8>);

impl Scores {
    pub fn new(scores: BTreeMap<Resource, u8>) -> Result<Self, InvalidValue> {
        if let Some((r, s)) = scores.iter().find(|(_, s)| **s > SCORE_MAX) {
            return Err(InvalidValue::from(format!(
                "score {s} for {} is out of range 0..={SCORE_MAX}",
                r.as_str()
            )));
        }
        Ok(Scores(scores))
    }
    pub fn get(&self, resource: Resource) -> Option<u8> {
        self.0.get(&resource).copied()
    }
    pub fn iter(&self) -> impl Iterator<Item = (Resource, u8)> + '_ {
        self.0.iter().map(|(r, s)| (*r, *s))
    }

    /// Checks that exactly the weighted resources are scored and returns the overall score
    /// Σ δᵢSᵢ (seed 003 eq. 10) in thousandths of a point: weights are per mille, so the
    /// sum is exact in integers (0..=100,000).
    pub fn overall_milli(&self, weights: &Weights) -> Result<u32, InvalidValue> {
        for (resource, _) in weights.rated() {
            if !self.0.contains_key(&resource) {
                return Err(InvalidValue::from(format!(
                    "{} carries weight in this trade mode and must be scored",
                    resource.as_str()
                )));
            }
        }
        if let Some(r) = self.0.keys().find(|r| weights.get(**r) == 0) {
            return Err(InvalidValue::from(format!(
                "{} carries no weight in this trade mode and must not be scored",
                r.as_str()
            )));
        }
        Ok(weights
            .rated()
            .map(|(r, w)| u32::from(w) * u32::from(self.get(r).unwrap_or(0)))
            .sum())
    }
}

impl TryFrom<BTreeMap<Resource, u8>> for Scores {
    type Error = InvalidValue;
    fn try_from(m: BTreeMap<Resource, u8>) -> Result<Self, InvalidValue> {
        Scores::new(m)
    }
}

impl From<Scores> for BTreeMap<Resource, u8> {
    fn from(s: Scores) -> Self {
        s.0
    }
}

/// How a trade's payload (usage details, access credentials) is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encryption {
    /// No payload encryption (the only mode implemented; CP-ABE arrives later).
    #[serde(alias = "plain")]
    Plaintext,
}

impl Encryption {
    /// The value of the trade-start credential's `encryption` claim.
    pub fn claim(self) -> &'static str {
        match self {
            Encryption::Plaintext => "plaintext",
        }
    }
}

/// Why a trade ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// The contract ran to its end (either party, at or after the contract's end).
    Completed,
    /// The consumer stopped the trade (any time before the end, also before acceptance).
    StoppedByConsumer,
    /// The supplier failed to deliver (admitted by the supplier or claimed by the
    /// consumer); the unbilled tail and the minimum charge are waived.
    SupplierFault,
    /// The escrow no longer covers the next period (supplier only).
    OutOfFunds,
    /// The order was not accepted before its offer lapsed (either party).
    Expired,
}

impl CloseReason {
    pub const ALL: [CloseReason; 5] = [
        CloseReason::Completed,
        CloseReason::StoppedByConsumer,
        CloseReason::SupplierFault,
        CloseReason::OutOfFunds,
        CloseReason::Expired,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Completed => "completed",
            CloseReason::StoppedByConsumer => "stopped_by_consumer",
            CloseReason::SupplierFault => "supplier_fault",
            CloseReason::OutOfFunds => "out_of_funds",
            CloseReason::Expired => "expired",
        }
    }
}

/// A supplier's published terms (seed 001 交易模式).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModeTerms {
    /// CPT of the trade-start credential (built-in 1 by default).
    #[serde(default = "default_start_cpt")]
    pub trade_start_cpt: u32,
    /// CPT of the check-in credentials (built-in 2 by default).
    #[serde(default = "default_checkin_cpt")]
    pub checkin_cpt: u32,
    /// Price of one unit for one minute, in fen.
    pub price_fen_per_minute: Fen,
    /// The minimum charge of a trade (起步价), in fen; see `pricing`.
    #[serde(default)]
    pub min_cost_fen: Fen,
    /// Length of one check-in period, in minutes.
    pub checkin_period_minutes: u64,
    /// Rating weights, per mille.
    pub weights: Weights,
    /// Payload encryption the supplier requires.
    #[serde(default = "default_encryption")]
    pub encryption: Encryption,
    /// The check-in credential's `tradeType`, e.g. `payg-minute`.
    pub trade_type: String,
}

/// Id of the built-in trade-start CPT on the identity chain.
pub const CPT_TRADE_START: u32 = 1;
/// Id of the built-in check-in CPT on the identity chain.
pub const CPT_CHECKIN: u32 = 2;

fn default_start_cpt() -> u32 {
    CPT_TRADE_START
}
fn default_checkin_cpt() -> u32 {
    CPT_CHECKIN
}
fn default_encryption() -> Encryption {
    Encryption::Plaintext
}

impl ModeTerms {
    pub fn check(&self) -> Result<(), InvalidValue> {
        // The built-ins, or registered CPTs (the contract checks that the supplier adopted
        // them: `crate::cpts`).
        let registered = |cpt: u32| cpt >= suanli_identity::contract::CPT_ID_FIRST;
        if !(self.trade_start_cpt == CPT_TRADE_START || registered(self.trade_start_cpt))
            || !(self.checkin_cpt == CPT_CHECKIN || registered(self.checkin_cpt))
        {
            return Err(InvalidValue::from(format!(
                "a mode's trade_start_cpt is the built-in {CPT_TRADE_START} or a registered CPT (id from {}), its checkin_cpt the built-in {CPT_CHECKIN} or a registered CPT",
                suanli_identity::contract::CPT_ID_FIRST
            )));
        }
        if !(1..=PRICE_FEN_PER_MINUTE_MAX).contains(&self.price_fen_per_minute.get()) {
            return Err(InvalidValue::from(format!(
                "price_fen_per_minute must be 1..={PRICE_FEN_PER_MINUTE_MAX}, got {}",
                self.price_fen_per_minute.get()
            )));
        }
        if !(0..=MIN_COST_FEN_MAX).contains(&self.min_cost_fen.get()) {
            return Err(InvalidValue::from(format!(
                "min_cost_fen must be 0..={MIN_COST_FEN_MAX}, got {}",
                self.min_cost_fen.get()
            )));
        }
        if !(1..=PERIOD_MINUTES_MAX).contains(&self.checkin_period_minutes) {
            return Err(InvalidValue::from(format!(
                "checkin_period_minutes must be 1..={PERIOD_MINUTES_MAX}, got {}",
                self.checkin_period_minutes
            )));
        }
        Ok(bounded_text(
            "trade_type",
            &self.trade_type,
            TRADE_TYPE_LEN_MAX,
        )?)
    }
}

/// What an order asks for (seed 003's 算力需求表).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirements {
    /// Must equal the offer's spec.
    pub spec: String,
    /// Units of the offer.
    pub quantity: u32,
    /// Length of the contract, in minutes.
    pub duration_minutes: u64,
}

impl Requirements {
    pub fn check(&self) -> Result<(), InvalidValue> {
        bounded_text("spec", &self.spec, SPEC_LEN_MAX)?;
        if !(1..=QUANTITY_MAX).contains(&self.quantity) {
            return Err(InvalidValue::from(format!(
                "quantity must be 1..={QUANTITY_MAX}, got {}",
                self.quantity
            )));
        }
        if !(1..=DURATION_MINUTES_MAX).contains(&self.duration_minutes) {
            return Err(InvalidValue::from(format!(
                "duration_minutes must be 1..={DURATION_MINUTES_MAX}, got {}",
                self.duration_minutes
            )));
        }
        Ok(())
    }

    /// The bytes the consumer's order signature covers for this list.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.spec.len() + 20);
        out.extend_from_slice(&(self.spec.len() as u32).to_be_bytes());
        out.extend_from_slice(self.spec.as_bytes());
        out.extend_from_slice(&self.quantity.to_be_bytes());
        out.extend_from_slice(&self.duration_minutes.to_be_bytes());
        out
    }
}

/// What a supplier offers under a mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferTerms {
    pub mode_id: u64,
    pub spec: String,
    pub quantity: u32,
    /// Unix ms, inclusive.
    pub valid_from_ms: u64,
    /// Unix ms, exclusive.
    pub valid_until_ms: u64,
}

impl OfferTerms {
    pub fn check(&self) -> Result<(), InvalidValue> {
        bounded_text("spec", &self.spec, SPEC_LEN_MAX)?;
        if !(1..=QUANTITY_MAX).contains(&self.quantity) {
            return Err(InvalidValue::from(format!(
                "quantity must be 1..={QUANTITY_MAX}, got {}",
                self.quantity
            )));
        }
        if self.valid_until_ms <= self.valid_from_ms {
            return Err(InvalidValue::from(
                "valid_until_ms must be after valid_from_ms".to_owned(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weights(pairs: &[(Resource, u16)]) -> Result<Weights, InvalidValue> {
        Weights::new(pairs.iter().copied().collect())
    }

    #[test]
    fn builtin_cpt_ids_match_the_identity_chain() {
        assert_eq!(
            suanli_identity::cpt::builtin_id("trade-start"),
            Some(CPT_TRADE_START)
        );
        assert_eq!(
            suanli_identity::cpt::builtin_id("check-in"),
            Some(CPT_CHECKIN)
        );
    }

    #[test]
    fn weights_must_sum_to_one_thousand() {
        assert!(weights(&[(Resource::Cpu, 500), (Resource::Gpu, 500)]).is_ok());
        assert!(weights(&[(Resource::Cpu, 500), (Resource::Gpu, 499)]).is_err());
        assert!(weights(&[]).is_err());
    }

    #[test]
    fn overall_score_is_the_weighted_sum_in_thousandths() {
        let w = weights(&[(Resource::Cpu, 300), (Resource::Gpu, 700)]).unwrap();
        let s = Scores::new([(Resource::Cpu, 80), (Resource::Gpu, 90)].into()).unwrap();
        assert_eq!(s.overall_milli(&w).unwrap(), 300 * 80 + 700 * 90);
        let missing = Scores::new([(Resource::Cpu, 80)].into()).unwrap();
        assert!(missing.overall_milli(&w).unwrap_err().0.contains("gpu"));
        let extra = Scores::new(
            [
                (Resource::Cpu, 1),
                (Resource::Gpu, 1),
                (Resource::Network, 1),
            ]
            .into(),
        )
        .unwrap();
        assert!(extra.overall_milli(&w).unwrap_err().0.contains("network"));
        assert!(Scores::new([(Resource::Cpu, 101)].into()).is_err());
    }

    #[test]
    fn serial_round_trips_and_refuses_bad_text() {
        let s = Serial::parse("00112233445566778899aabbccddeeff").unwrap();
        assert_eq!(s.to_string(), "00112233445566778899aabbccddeeff");
        assert!(Serial::parse("0011").is_err());
        assert!(Serial::parse("zz112233445566778899aabbccddeeff").is_err());
    }
}
