//! The `TradeLedger` port (issue 18, `docs/exchange.md`): what the platform asks of the
//! trade chain to turn an order into a trade — the order signed by the member's own key
//! (escrowed from the organisation's wallet, with a channel delegation for pay-as-you-go),
//! a pre-signed order decoded and checked, submission of the stored bytes (idempotent),
//! the trade's records, the rating, and the organisation wallets' members and balances.
//! This crate does not depend on the chain: `suanli-bridge` implements the port over
//! `suanli_ledger_client::exchange` (`crates/bridge/src/trade_ledger.rs`).

use crate::trade_book::ChainTrade;
use suanli_primitives::SecretKey;

/// A channel delegation carried by an order: the key that may sign the consumer's channel
/// operations of that trade only, until `valid_until_ms`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Delegation {
    /// The delegated key (Ed25519 public key, 64 hex).
    pub key_hex: String,
    /// Where the delegate's channel controller listens.
    pub endpoint: String,
    /// End of the delegation, Unix ms.
    pub valid_until_ms: u64,
    /// The most the delegated key may add to the trade's escrow from the wallet, in fen.
    pub max_fen: i64,
}

/// An order to sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderDraft {
    /// The trade's serial (32 hex).
    pub serial: String,
    /// The offer's id on the chain.
    pub chain_offer_id: u64,
    /// The offer's spec (what the order must name).
    pub spec: String,
    /// Units.
    pub units: u32,
    /// Contract length, minutes.
    pub duration_minutes: u64,
    /// Escrow, fen.
    pub value_fen: i64,
    /// The paying wallet (`org:<id>`).
    pub wallet: String,
    /// The channel delegation (pay-as-you-go).
    pub channel: Option<Delegation>,
    /// The order's time, Unix ms.
    pub time_ms: u64,
}

/// A signed chain transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedOrder {
    /// The transaction id.
    pub tx_ref: String,
    /// Its encoding, hex.
    pub tx_hex: String,
}

/// What a pre-signed order says (its signature verified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFacts {
    /// The signing key (64 hex).
    pub signer_key_hex: String,
    /// The transaction id.
    pub tx_ref: String,
    /// Serial.
    pub serial: String,
    /// The offer's chain id.
    pub chain_offer_id: u64,
    /// The spec it names.
    pub spec: String,
    /// Units.
    pub units: u32,
    /// Minutes.
    pub duration_minutes: u64,
    /// Escrow, fen.
    pub value_fen: i64,
    /// The wallet it pays from, if any.
    pub wallet: Option<String>,
    /// Its channel delegation, if any.
    pub channel: Option<Delegation>,
}

/// The chain's answer to a submitted transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// Committed and applied.
    Applied,
    /// Definitely refused (at admission, or included as a failed call): `code` is the
    /// chain's stable code (`member_limit_exceeded`, `wallet_suspended`,
    /// `delegation_expired`, `bad_signature`, …).
    Refused {
        /// The chain's code.
        code: String,
        /// Its message.
        message: String,
    },
}

/// A member of a wallet as the chain holds it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WalletMember {
    /// The member's DID.
    pub did: String,
    /// Its limit, fen.
    pub limit_fen: i64,
    /// What it has spent from the wallet, fen.
    pub spent_fen: i64,
}

/// An organisation wallet as the chain holds it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WalletView {
    /// Balance, fen.
    pub balance_fen: i64,
    /// Whether the operator suspended it.
    pub suspended: bool,
    /// Its members.
    pub members: Vec<WalletMember>,
}

/// An order as the chain holds it, read from a member's trade history
/// ([`TradeLedger::consumer_orders`]): what the exchange worker imports when the platform
/// did not place it (`docs/exchange.md` §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainOrder {
    /// Serial.
    pub serial: String,
    /// The consumer DID that signed it.
    pub consumer: String,
    /// The wallet it is paid from, if any.
    pub wallet: Option<String>,
    /// The offer's chain id.
    pub chain_offer_id: u64,
    /// Units.
    pub units: u32,
    /// Minutes.
    pub duration_minutes: u64,
    /// What the order escrowed (its value, without later top-ups), fen.
    pub value_fen: i64,
    /// The order transaction's id.
    pub tx_ref: String,
    /// Whether it delegated its channel side (pay-as-you-go).
    pub payg: bool,
}

/// A rating to sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingDraft {
    /// The trade.
    pub serial: String,
    /// Score 0–100 per resource dimension.
    pub scores: Vec<(String, u8)>,
    /// Its time, Unix ms.
    pub time_ms: u64,
}

/// The trade chain as the exchange uses it. Blocking (the service runs it off the async
/// runtime). Errors: [`crate::PortError::Refused`] for what cannot succeed as given,
/// [`crate::PortError::Ledger`] when the chain could not be asked (outcome unknown).
pub trait TradeLedger: Send + Sync + std::fmt::Debug {
    /// The platform's channel key (public, 64 hex) and its endpoint, delegated to by
    /// pay-as-you-go orders.
    fn channel_key(&self) -> (String, String);
    /// Signs `draft` with the member's `key` (not submitted).
    fn sign_order(
        &self,
        key: &SecretKey,
        draft: &OrderDraft,
    ) -> Result<SignedOrder, crate::PortError>;
    /// Decodes a pre-signed order and verifies its signature (`forged_order` when it is
    /// not an order or does not verify).
    fn check_order(&self, tx_hex: &str) -> Result<OrderFacts, crate::PortError>;
    /// Submits the stored bytes (again) and waits for the outcome; `Err` when unknown.
    fn submit(&self, tx_hex: &str) -> Result<Submitted, crate::PortError>;
    /// The trade's records, if the chain has the trade.
    fn trade_status(&self, serial: &str) -> Result<Option<ChainTrade>, crate::PortError>;
    /// The consumer stops its trade: `close` with reason `stopped_by_consumer`, signed by
    /// `key` and submitted; the transaction id.
    fn stop(&self, key: &SecretKey, serial: &str) -> Result<String, crate::PortError>;
    /// Signs and submits the consumer's rating; the transaction id.
    fn rate(&self, key: &SecretKey, rating: &RatingDraft) -> Result<String, crate::PortError>;
    /// The orders in party `did`'s trade history where it is the consumer, entries
    /// `from..from + limit` counted from its first trade (oldest first); answers where the
    /// next read starts (`from` + the entries read) and those orders (a trade where `did`
    /// is the supplier is read but not answered).
    fn consumer_orders(
        &self,
        did: &str,
        from: u64,
        limit: u32,
    ) -> Result<(u64, Vec<ChainOrder>), crate::PortError>;
    /// The wallet, if it exists.
    fn wallet_view(&self, wallet: &str) -> Result<Option<WalletView>, crate::PortError>;
    /// Suspends (or resumes) the wallet (operator key): a suspended wallet pays no new
    /// order; the transaction id.
    fn set_suspended(&self, wallet: &str, suspended: bool) -> Result<String, crate::PortError>;
    /// Sets a member's limit on the wallet (operator key); the transaction id. Setting the
    /// same limit again is harmless.
    fn set_member(
        &self,
        wallet: &str,
        did: &str,
        limit_fen: i64,
    ) -> Result<String, crate::PortError>;
}
