//! The `TradeDesk` port (issue 18, `docs/exchange.md` §6–8): what the platform's bills,
//! customer notices and operator view ask of the trade chain beyond ordering — the
//! consumer's top-up of a trade signed with the member's own key (into its channel while
//! the channel is open, into the trade's escrow before), the low-funds notices of the
//! platform's consumer-side channel controller, a trade's channel as the chain holds it
//! (its disputes), and a trade's bundle for offline verification (`docs/trade.md` §10).
//! `suanli-bridge` implements it (`crates/bridge/src/trade_desk.rs`).

use suanli_primitives::SecretKey;

/// A trade's service channel as the chain holds it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChannelView {
    /// `open`, `closing` (a unilateral close waits for its challenge window) or `closed`.
    pub status: String,
    /// When opened (Unix ms).
    pub opened_at_ms: i64,
    /// Check-ins the channel made.
    pub checkins: u32,
    /// Minutes of the latest state settled.
    pub settled_minutes: u64,
    /// Cost of the latest state settled, fen.
    pub settled_cost_fen: i64,
    /// Challenges the consumer side posted.
    pub consumer_challenges: u32,
    /// Challenges the supplier side posted.
    pub supplier_challenges: u32,
    /// Whether a party was penalised for a stale state.
    pub penalty: bool,
    /// Whether the channel is in dispute: a unilateral close pending, a challenge posted
    /// or a penalty applied.
    pub disputed: bool,
}

/// A supplier's notice about a trade's channel, taken once from the platform's
/// consumer-side controller.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChannelNotice {
    /// The trade's serial.
    pub serial: String,
    /// `true`: paused for low funds; `false`: resumed.
    pub paused: bool,
    /// The escrow left after the metered usage, fen.
    pub remaining_fen: i64,
    /// The margin below which the supplier pauses, fen.
    pub margin_fen: i64,
}

/// What the platform's consumer-side channel controller holds of a trade's channel: the
/// newest state both sides signed off the chain (issue 18: the running cost between
/// check-ins).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LiveChannel {
    /// The newest dual-signed statement's sequence number (`None` before the first).
    pub seq: Option<u64>,
    /// Minutes of service it covers since the channel opened.
    pub minutes: u64,
    /// Their cost, fen.
    pub cost_fen: i64,
    /// The margin below which the supplier pauses the service, fen.
    pub margin_fen: i64,
}

/// The trade chain as bills, notices and the operator view use it. Blocking (the service
/// runs it off the async runtime). Errors: [`crate::PortError::Refused`] for what cannot
/// succeed as given (with the chain's code), [`crate::PortError::Ledger`] when the chain
/// could not be asked.
pub trait TradeDesk: Send + Sync + std::fmt::Debug {
    /// Tops trade `serial` up by `amount_fen` from its wallet, signed by the consumer's
    /// `key`: the channel's `top_up` while its channel is open, the trade's `fund` before;
    /// the transaction id. A paused channel resumes at the supplier's next round.
    fn top_up(
        &self,
        key: &SecretKey,
        serial: &str,
        amount_fen: i64,
    ) -> Result<String, crate::PortError>;
    /// The channel notices since the last call, oldest first (each returned once; empty
    /// while the controller does not run).
    fn take_notices(&self) -> Vec<ChannelNotice>;
    /// The trade's channel, if it has one.
    fn channel(&self, serial: &str) -> Result<Option<ChannelView>, crate::PortError>;
    /// The trade's bundle as its JSON file (`docs/trade.md` §10), if the chain has the
    /// trade.
    fn bundle_json(&self, serial: &str) -> Result<Option<String>, crate::PortError>;
    /// What the consumer-side controller keeps of the trade's channel: `None` while it does
    /// not keep it (not open yet, closed, or the controller does not run).
    fn live(&self, serial: &str) -> Option<LiveChannel> {
        let _ = serial;
        None
    }
}
