//! The `TradeBook` port (issue 16, `docs/supply.md` §4): what the platform reads from the
//! trade chain about one supplier DID — its trades with their records (order, contract,
//! check-ins with amounts and periods, top-ups, close, rating) and its reputation per
//! resource dimension. The platform does not depend on the chain: `suanli-bridge`
//! implements this over `LedgerClient`'s trade view (`crates/bridge/src/trade_book.rs`)
//! and `suanli serve` wires it in; without a ledger the supplier pages say the chain is
//! not attached.

use suanli_platform_domain::money::Fen;
use suanli_platform_domain::supply::settlement::{
    CheckIn, SettlementError, TradeSerial, check_trade_items,
};

/// Most trades the supplier's trade list shows (its newest); statements, revenue and the
/// reconciliation use every trade [`TradeBook::supplier_trades`] returns.
pub const TRADES_LIST_MAX: usize = 100;

/// A trade of the supplier as the chain recorded it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainTrade {
    /// The trade's serial (32 hex).
    pub serial: String,
    /// The offer ordered.
    pub offer_id: u64,
    /// The offer's mode.
    pub mode_id: u64,
    /// The supplier's DID as the chain records it (the platform keeps only trades whose
    /// supplier is the organisation's DID).
    pub supplier: String,
    /// The consumer's DID.
    pub consumer: String,
    /// The organisation wallet the order paid from (`org:<id>`), if any.
    pub wallet: Option<String>,
    /// `ordered`, `active` or `closed`.
    pub status: String,
    /// When ordered (Unix ms).
    pub ordered_ms: i64,
    /// Contract period, once contracted.
    pub contract_start_ms: Option<i64>,
    /// End of the contract.
    pub contract_end_ms: Option<i64>,
    /// Put into escrow (order value and top-ups).
    pub funded_fen: Fen,
    /// Paid out of escrow to the supplier (check-ins and the close's tail).
    pub paid_fen: Fen,
    /// Charged but not covered by the escrow.
    pub unpaid_fen: Fen,
    /// The settlements that paid the supplier, in order: each check-in and, after a
    /// close that charged a tail, the tail as the next number.
    pub checkins: Vec<ChainCheckIn>,
    /// Top-ups.
    pub topups: Vec<ChainTopUp>,
    /// The close, once closed.
    pub close: Option<ChainClose>,
    /// The consumer's rating, once rated.
    pub rating: Option<ChainRating>,
}

/// One settlement of a trade that paid the supplier.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainCheckIn {
    /// 1-based number.
    pub n: u32,
    /// Start of the billed span (Unix ms).
    pub start_ms: i64,
    /// End of the billed span.
    pub end_ms: i64,
    /// Minutes billed.
    pub minutes: u64,
    /// Paid to the supplier.
    pub cost_fen: Fen,
    /// Block time of the record.
    pub at_ms: i64,
    /// `checkin`, `channel_checkin`, `close_tail` or `channel_open` (number 0: the minutes
    /// since the last check-in settled when a channel opened).
    pub kind: &'static str,
    // --- issue 18, bills from check-ins (billing helper)
    /// The chain record that holds it: its sequence number among the trade's records
    /// (the close's record for a `close_tail`, the channel's opening for `channel_open`).
    pub seq: u32,
    /// The block height of that record.
    pub height: u64,
    /// The transaction that wrote it (64 hex).
    pub tx_ref: String,
}

/// A top-up of the escrow.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainTopUp {
    /// Amount.
    pub amount_fen: Fen,
    /// Block time.
    pub at_ms: i64,
}

/// How a trade ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainClose {
    /// `completed`, `stopped_by_consumer`, `supplier_fault`, `out_of_funds`, `expired`.
    pub reason: String,
    /// `consumer` or `supplier`.
    pub by: String,
    /// Refunded to the consumer.
    pub refund_fen: Fen,
    /// Block time.
    pub at_ms: i64,
}

/// The consumer's rating of a trade.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainRating {
    /// Overall score in thousandths of a point (0–100 000).
    pub overall_milli: u32,
    /// Score (0–100) per resource dimension (`cpu`, `memory`, `storage`, `disk_io`, `gpu`,
    /// `network`).
    pub scores: Vec<(String, u8)>,
    /// Block time.
    pub at_ms: i64,
}

/// A supplier's reputation as the chain's read side computes it (`docs/trade.md` §6).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ChainReputation {
    /// Orders received.
    pub orders: u64,
    /// Orders contracted.
    pub contracted: u64,
    /// Ratings received.
    pub ratings: u64,
    /// completed ÷ contracted trades that ended.
    pub completion_rate: Option<f64>,
    /// Weighted average overall score (0–100).
    pub overall: Option<f64>,
    /// Weighted average score per resource dimension.
    pub per_resource: Vec<(String, f64)>,
}

impl ChainTrade {
    /// Its settlements as the domain's check-ins (for statements), checked first: a
    /// serial that does not parse, numbers that are not 1, 2, … or costs that do not add
    /// up to `paid_fen` are an error, never a shorter list.
    pub fn settlement_items(&self) -> Result<Vec<CheckIn>, SettlementError> {
        let serial = TradeSerial::parse(&self.serial)?;
        let items: Vec<CheckIn> = self
            .checkins
            .iter()
            .map(|c| CheckIn {
                serial: serial.clone(),
                n: c.n,
                start_ms: c.start_ms,
                end_ms: c.end_ms,
                cost: c.cost_fen,
            })
            .collect();
        check_trade_items(&serial, &items, self.paid_fen)?;
        Ok(items)
    }
}

/// Reads a supplier's trades and reputation from the trade chain.
pub trait TradeBook: Send + Sync + std::fmt::Debug {
    /// Every trade whose supplier is `supplier_did` (its whole history), newest first,
    /// each with all its records; a failed or partial read is an error.
    fn supplier_trades(&self, supplier_did: &str) -> Result<Vec<ChainTrade>, crate::PortError>;
    /// The reputation of `supplier_did` now.
    fn reputation(&self, supplier_did: &str) -> Result<ChainReputation, crate::PortError>;
}
