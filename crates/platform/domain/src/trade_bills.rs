//! Bills of trades from the trade chain's check-ins (issue 18, `docs/exchange.md` §6).
//!
//! A trade placed through the platform is billed by what the chain recorded, never by
//! the platform's own metering: each settlement the chain holds (a check-in, a channel's
//! check-in, the close's tail, a channel's opening settlement) is one **bill line** that
//! names its chain record (the trade's serial and the record's sequence number, its block
//! height and transaction). [`CheckinUsage`] is the platform's [`UsageSource`] over those
//! lines; the statement of a period is the sum of the lines whose span ends in it (the
//! rule supplier statements use, `supply::settlement::settle`), so what a customer is
//! billed for a month is what its suppliers are settled for it, to the fen. A supplier's
//! earnings from the same lines are gross − the operator's commission
//! (`⌊gross × bp / 10 000⌋`).
//!
//! Pure: the service reads the chain and calls these.

use crate::instance::UsageSource;
use crate::money::{Bp, Fen, MoneyError};
use serde::Serialize;

/// Most bill lines one statement holds (more is an error, never a shorter bill).
pub const STATEMENT_LINES_MAX: usize = 100_000;

/// One bill line: one settlement of a trade as the chain recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BillLine {
    /// The trade's serial (32 hex).
    pub serial: String,
    /// The settlement's number (check-ins 1, 2, …; the close's tail the next; 0 a
    /// channel's opening settlement).
    pub n: u32,
    /// `checkin`, `channel_checkin`, `close_tail` or `channel_open`.
    pub kind: String,
    /// The chain record holding it: its sequence number among the trade's records.
    pub seq: u32,
    /// That record's block height.
    pub height: u64,
    /// The transaction that wrote it.
    pub tx_ref: String,
    /// Start of the billed span (Unix ms).
    pub start_ms: i64,
    /// End of the billed span (Unix ms): the line belongs to the period holding it.
    pub end_ms: i64,
    /// Minutes billed.
    pub minutes: u64,
    /// What it cost (paid from the trade's escrow to the supplier), fen.
    #[serde(rename = "cost_fen")]
    pub cost: Fen,
    /// Block time of the record (Unix ms).
    pub at_ms: i64,
}

/// The usage of trades as the chain's check-ins give it: the platform's [`UsageSource`]
/// for trade-backed resources. The lines are already priced by the chain; the platform
/// neither meters nor prices them again.
#[derive(Debug, Clone, Default)]
pub struct CheckinUsage {
    lines: Vec<BillLine>,
}

impl CheckinUsage {
    /// The usage of the given lines (any trades).
    pub fn new(lines: Vec<BillLine>) -> Self {
        Self { lines }
    }

    /// The lines whose span ends in `[from_ms, to_ms)`, in serial and number order.
    pub fn lines_in(&self, from_ms: i64, to_ms: i64) -> Vec<&BillLine> {
        let mut out: Vec<&BillLine> = self
            .lines
            .iter()
            .filter(|l| (from_ms..to_ms).contains(&l.end_ms))
            .collect();
        out.sort_by(|a, b| (&a.serial, a.n).cmp(&(&b.serial, b.n)));
        out
    }

    /// Σ of the costs of every line.
    pub fn total(&self) -> Result<Fen, MoneyError> {
        Fen::sum(self.lines.iter().map(|l| l.cost))
    }
}

impl UsageSource for CheckinUsage {
    /// Minutes the chain billed in `[from_ms, to_ms)` (lines by their end). The
    /// `instance` is not consulted: a `CheckinUsage` holds the lines of the trades it is
    /// asked about.
    fn minutes(&self, _instance: i64, from_ms: i64, to_ms: i64) -> u64 {
        self.lines_in(from_ms, to_ms)
            .iter()
            .fold(0u64, |m, l| m.saturating_add(l.minutes))
    }
}

/// Why a bill cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BillError {
    /// More lines than [`STATEMENT_LINES_MAX`].
    #[error("more than {STATEMENT_LINES_MAX} bill lines")]
    TooManyLines,
    /// The amounts overflow.
    #[error(transparent)]
    Money(#[from] MoneyError),
}

impl BillError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            BillError::TooManyLines => "too_many_lines",
            BillError::Money(_) => "amount_out_of_range",
        }
    }
}

/// The bill of a period: its lines and their totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TradeStatement {
    /// Period start (Unix ms, inclusive).
    pub from_ms: i64,
    /// Period end (exclusive).
    pub to_ms: i64,
    /// The lines, in serial and number order.
    pub lines: Vec<BillLine>,
    /// Σ minutes.
    pub minutes: u64,
    /// Σ costs, fen.
    #[serde(rename = "total_fen")]
    pub total: Fen,
}

/// The statement of `[from_ms, to_ms)` from `usage`: every line whose span ends in it.
pub fn statement(
    usage: &CheckinUsage,
    from_ms: i64,
    to_ms: i64,
) -> Result<TradeStatement, BillError> {
    let lines: Vec<BillLine> = usage
        .lines_in(from_ms, to_ms)
        .into_iter()
        .cloned()
        .collect();
    if lines.len() > STATEMENT_LINES_MAX {
        return Err(BillError::TooManyLines);
    }
    let total = Fen::sum(lines.iter().map(|l| l.cost))?;
    let minutes = usage.minutes(0, from_ms, to_ms);
    Ok(TradeStatement {
        from_ms,
        to_ms,
        lines,
        minutes,
        total,
    })
}

/// What a supplier earns from check-ins worth `gross`: the operator keeps
/// `⌊gross × commission / 10 000⌋`, the supplier the rest (gross = commission + net).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Earnings {
    /// Σ check-ins, fen.
    #[serde(rename = "gross_fen")]
    pub gross: Fen,
    /// The operator's commission, fen.
    #[serde(rename = "commission_fen")]
    pub commission: Fen,
    /// gross − commission, fen.
    #[serde(rename = "net_fen")]
    pub net: Fen,
}

/// The supplier's earnings of `gross` at `commission`.
pub fn earnings(gross: Fen, commission: Bp) -> Result<Earnings, MoneyError> {
    let fee = gross.part(commission);
    let net = gross.checked_sub(fee)?;
    // Conservation: what the consumer paid is split, nothing made or lost.
    debug_assert_eq!(fee.checked_add(net).ok(), Some(gross));
    Ok(Earnings {
        gross,
        commission: fee,
        net,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: i64) -> Fen {
        Fen::new(v).unwrap_or_default()
    }

    fn line(serial: &str, n: u32, end_ms: i64, minutes: u64, cost: i64) -> BillLine {
        BillLine {
            serial: serial.to_owned(),
            n,
            kind: "checkin".into(),
            seq: n + 1,
            height: u64::from(n) + 10,
            tx_ref: format!("{n:064x}"),
            start_ms: end_ms - 60_000 * i64::try_from(minutes).unwrap_or(0),
            end_ms,
            minutes,
            cost: f(cost),
            at_ms: end_ms,
        }
    }

    #[test]
    fn a_statement_takes_the_lines_ending_in_the_period() {
        let u = CheckinUsage::new(vec![
            line("bb", 1, 1_000, 10, 300),
            line("aa", 2, 2_000, 5, 150),
            line("aa", 1, 999, 3, 90),
            line("aa", 3, 5_000, 1, 30),
        ]);
        let s = statement(&u, 999, 5_000).unwrap();
        assert_eq!(
            s.lines
                .iter()
                .map(|l| (l.serial.as_str(), l.n))
                .collect::<Vec<_>>(),
            vec![("aa", 1), ("aa", 2), ("bb", 1)],
            "by their end, in serial and number order; the end of the period is outside"
        );
        assert_eq!((s.total, s.minutes), (f(540), 18));
        assert_eq!(u.minutes(42, 0, i64::MAX), 19);
        assert_eq!(u.total(), Ok(f(570)));
        assert_eq!(statement(&u, 6_000, 7_000).unwrap().total, Fen::ZERO);
    }

    #[test]
    fn earnings_are_gross_minus_the_commission() {
        let e = earnings(f(10_001), Bp::new(1_500).unwrap_or_default()).unwrap();
        assert_eq!((e.commission, e.net), (f(1_500), f(8_501)));
        assert_eq!(e.commission.checked_add(e.net), Ok(e.gross));
        let none = earnings(f(7), Bp::new(0).unwrap_or_default()).unwrap();
        assert_eq!(none.net, f(7));
    }
}
