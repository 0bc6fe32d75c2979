//! The `SupplyLedger` port: a supplier's trade modes and offers published on (and offers
//! withdrawn from) the trade chain, each transaction **signed by the supplier's own key**
//! — the supplier administrator's DID key, unsealed with that administrator's password
//! for the one request (`docs/key-custody.md`, `docs/supply.md` §2). This crate does not
//! depend on the chain crates: the binary implements the port (`suanli-bridge`,
//! `supply.rs`) over the ledger client; the chain checks the terms again and refuses what
//! it does not accept (e.g. a CPT the supplier did not register), and the refusal is shown
//! next to the field.

use std::collections::BTreeMap;
use suanli_primitives::SecretKey;

/// A trade mode's terms as the trade chain takes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainMode {
    /// Price of one unit for one minute, fen.
    pub price_fen_per_min: i64,
    /// Minimum charge of one trade, fen.
    pub min_charge_fen: i64,
    /// Check-in period, minutes.
    pub checkin_period_min: u64,
    /// Rating weights per resource dimension, per mille.
    pub weights: BTreeMap<String, u16>,
    /// CPT of the trade-start credential.
    pub trade_start_cpt: u32,
    /// CPT of the check-in credentials.
    pub checkin_cpt: u32,
    /// The check-in credential's `tradeType` (`payg-minute`).
    pub trade_type: String,
}

/// An offer's terms as the trade chain takes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainOffer {
    /// The mode's id on the trade chain.
    pub mode_id: u64,
    /// What an order must name (a summary of the resources; at most 256 bytes).
    pub spec: String,
    /// Units on offer.
    pub quantity: u32,
    /// Validity, unix ms (start inclusive).
    pub valid_from_ms: u64,
    /// Validity end, unix ms (exclusive).
    pub valid_until_ms: u64,
}

/// What the chain recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The mode's or offer's id on the trade chain.
    pub chain_id: u64,
    /// The transaction id.
    pub tx: String,
}

/// Publishes and withdraws a supplier's modes and offers, signed by `key`. Blocking (the
/// service runs it off the async runtime).
pub trait SupplyLedger: Send + Sync + std::fmt::Debug {
    /// Publishes a trade mode signed by `key`.
    fn publish_mode(
        &self,
        key: &SecretKey,
        mode: &ChainMode,
    ) -> Result<Published, crate::PortError>;
    /// Publishes an offer signed by `key` (its mode must be `key`'s supplier's).
    fn publish_offer(
        &self,
        key: &SecretKey,
        offer: &ChainOffer,
    ) -> Result<Published, crate::PortError>;
    /// Withdraws the offer `chain_offer_id`, signed by `key`; returns the transaction id.
    fn withdraw_offer(
        &self,
        key: &SecretKey,
        chain_offer_id: u64,
    ) -> Result<String, crate::PortError>;
}
