//! Supplier money (issue 16, `docs/supply.md` §4): supply agreements (text, sales mode,
//! commission in basis points, settlement period), settlement statements of the trade
//! chain's check-ins, payouts of the supplier's net payable with four eyes, and the
//! supplier reconciliation that names every difference between the chain, the statements
//! and the payouts. Pure: the store reads the facts (check-ins from the chain through the
//! platform's `TradeBook` port, what was settled and paid from the journal) and applies
//! the answers.
//!
//! Rounding: the operator's commission is `⌊gross × commission_bp / 10 000⌋` of a
//! statement's gross — rounded down to the fen, so the supplier keeps the remainder —
//! and net payable = gross − commission, so gross = commission + net to the fen.

use std::collections::BTreeSet;

use crate::ids::{OrgId, UserId};
use crate::journal::{Account, IdemKey, JournalError, JournalTx, TxBuilder, TxKind};
use crate::money::{Bp, Fen, MoneyError, cst_midnight};
use crate::rejection::MoneyRejection;

/// Longest agreement text, in characters.
pub const AGREEMENT_TEXT_CHARS_MAX: usize = 20_000;
/// Most check-ins one statement settles.
pub const STATEMENT_CHECKINS_MAX: usize = 100_000;

/// Why a supplier-money input was refused (each with a stable code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettlementError {
    /// Agreement text empty or longer than [`AGREEMENT_TEXT_CHARS_MAX`].
    #[error("the agreement text must be 1 to {AGREEMENT_TEXT_CHARS_MAX} characters")]
    AgreementText,
    /// A sales mode other than `discount` or `rebate`.
    #[error("the sales mode must be discount or rebate")]
    SalesMode,
    /// A settlement period other than `monthly` or `quarterly`.
    #[error("the settlement period must be monthly or quarterly")]
    Period,
    /// A period label that does not fit the agreement's period (`YYYY-MM`, `YYYY-Qn`).
    #[error("the period must be YYYY-MM (monthly) or YYYY-Qn (quarterly)")]
    PeriodLabel,
    /// A trade serial that is not 32 lowercase hexadecimal characters.
    #[error("a trade serial is 32 hexadecimal characters")]
    Serial,
    /// The period has not ended yet at the time of the run.
    #[error("the period has not ended yet")]
    PeriodOpen,
    /// Too many check-ins for one statement.
    #[error("more than {STATEMENT_CHECKINS_MAX} check-ins in one statement")]
    TooManyCheckins,
    /// The same check-in (serial, number) read twice with different content.
    #[error("check-in {n} of trade {serial} was read twice with different amounts")]
    CheckInConflict {
        /// The trade.
        serial: String,
        /// The check-in number.
        n: u32,
    },
    /// A trade's settlements as read do not add up to what the chain says it paid, or
    /// their numbers are not 1, 2, … without gaps or repeats.
    #[error("the settlements read of trade {serial} are inconsistent with the chain: {detail}")]
    ChainInconsistent {
        /// The trade.
        serial: String,
        /// What does not fit.
        detail: String,
    },
    /// Arithmetic overflow.
    #[error(transparent)]
    Money(#[from] MoneyError),
    /// The journal refused the transaction.
    #[error(transparent)]
    Journal(#[from] JournalError),
}

impl SettlementError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            SettlementError::AgreementText => "agreement_text_invalid",
            SettlementError::SalesMode => "sales_mode_invalid",
            SettlementError::Period => "settlement_period_invalid",
            SettlementError::PeriodLabel => "period_invalid",
            SettlementError::Serial => "serial_invalid",
            SettlementError::PeriodOpen => "period_not_ended",
            SettlementError::TooManyCheckins => "too_many_checkins",
            SettlementError::CheckInConflict { .. } => "checkin_conflict",
            SettlementError::ChainInconsistent { .. } => "chain_inconsistent",
            SettlementError::Money(_) => "amount_out_of_range",
            SettlementError::Journal(_) => "journal_refused",
        }
    }
}

/// How the supplier sells through the platform (seed 004: 折扣和返佣销售模式).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SalesMode {
    /// 折扣: the platform sells at list price and keeps a discount off the supplier's price.
    Discount,
    /// 返佣: the supplier sells and pays the platform a commission (rebate).
    Rebate,
}

impl SalesMode {
    /// Stable text.
    pub fn as_str(self) -> &'static str {
        match self {
            SalesMode::Discount => "discount",
            SalesMode::Rebate => "rebate",
        }
    }
    /// Parses [`SalesMode::as_str`].
    pub fn parse(s: &str) -> Result<Self, SettlementError> {
        match s {
            "discount" => Ok(SalesMode::Discount),
            "rebate" => Ok(SalesMode::Rebate),
            _ => Err(SettlementError::SalesMode),
        }
    }
}

/// How often statements are run (periods are calendar months or quarters in CST).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SettlementPeriod {
    /// One statement per calendar month.
    Monthly,
    /// One statement per calendar quarter.
    Quarterly,
}

impl SettlementPeriod {
    /// Stable text.
    pub fn as_str(self) -> &'static str {
        match self {
            SettlementPeriod::Monthly => "monthly",
            SettlementPeriod::Quarterly => "quarterly",
        }
    }
    /// Parses [`SettlementPeriod::as_str`].
    pub fn parse(s: &str) -> Result<Self, SettlementError> {
        match s {
            "monthly" => Ok(SettlementPeriod::Monthly),
            "quarterly" => Ok(SettlementPeriod::Quarterly),
            _ => Err(SettlementError::Period),
        }
    }
}

/// One settlement period: `YYYY-MM` (monthly) or `YYYY-Qn` (quarterly), CST.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeriodKey {
    year: i64,
    /// First month of the period, 1..=12.
    month: u32,
    kind: SettlementPeriod,
}

impl PeriodKey {
    /// Parses a label of the agreement's `kind`.
    pub fn parse(label: &str, kind: SettlementPeriod) -> Result<Self, SettlementError> {
        let bad = || SettlementError::PeriodLabel;
        let (y, rest) = label.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || !y.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let year: i64 = y.parse().map_err(|_| bad())?;
        let month = match kind {
            SettlementPeriod::Monthly => {
                if rest.len() != 2 || !rest.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                rest.parse::<u32>().map_err(|_| bad())?
            }
            SettlementPeriod::Quarterly => match rest {
                "Q1" => 1,
                "Q2" => 4,
                "Q3" => 7,
                "Q4" => 10,
                _ => return Err(bad()),
            },
        };
        if !(2000..=9999).contains(&year) || !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Self { year, month, kind })
    }

    /// The label (`2026-11`, `2026-Q4`).
    pub fn label(&self) -> String {
        match self.kind {
            SettlementPeriod::Monthly => format!("{:04}-{:02}", self.year, self.month),
            SettlementPeriod::Quarterly => format!("{:04}-Q{}", self.year, self.month / 3 + 1),
        }
    }

    /// `[start, end)` in Unix milliseconds: CST midnights.
    pub fn bounds(&self) -> (i64, i64) {
        let months = match self.kind {
            SettlementPeriod::Monthly => 1,
            SettlementPeriod::Quarterly => 3,
        };
        let start = cst_midnight(self.year, self.month, 1);
        let (ey, em) = if self.month + months > 12 {
            (self.year + 1, self.month + months - 12)
        } else {
            (self.year, self.month + months)
        };
        (start, cst_midnight(ey, em, 1))
    }
}

/// Agreement text: 1..=[`AGREEMENT_TEXT_CHARS_MAX`] characters, not only blanks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementText(String);

impl AgreementText {
    /// Validates `raw`.
    pub fn parse(raw: &str) -> Result<Self, SettlementError> {
        let t = raw.trim();
        if t.is_empty() || t.chars().count() > AGREEMENT_TEXT_CHARS_MAX {
            return Err(SettlementError::AgreementText);
        }
        Ok(Self(t.to_owned()))
    }
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The commercial terms of a supply agreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementTerms {
    /// The agreement's text.
    pub text: AgreementText,
    /// Discount or rebate.
    pub sales_mode: SalesMode,
    /// The operator's commission (or discount) on gross, in basis points.
    pub commission: Bp,
    /// How often statements are run.
    pub period: SettlementPeriod,
}

/// A trade serial on the trade chain: 32 lowercase hexadecimal characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TradeSerial(String);

impl TradeSerial {
    /// Validates `raw` (case-insensitive; kept lowercase).
    pub fn parse(raw: &str) -> Result<Self, SettlementError> {
        if raw.len() != 32 || !raw.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(SettlementError::Serial);
        }
        Ok(Self(raw.to_ascii_lowercase()))
    }
    /// The serial.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One check-in of a trade as the chain recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckIn {
    /// The trade.
    pub serial: TradeSerial,
    /// Its check-in number (1-based; the close's tail settlement counts as the next one;
    /// 0 is the settlement made when a channel opened).
    pub n: u32,
    /// Start of the billed span (Unix ms).
    pub start_ms: i64,
    /// End of the billed span (Unix ms); the check-in belongs to the period holding it.
    pub end_ms: i64,
    /// What the check-in moved from the escrow to the supplier.
    pub cost: Fen,
}

/// A check-in's identity: each is settled at most once.
pub type CheckInKey = (TradeSerial, u32);

/// A settlement statement: what one run settles for one supplier and period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Σ of the settled check-ins' costs.
    pub gross: Fen,
    /// The operator's commission: `⌊gross × bp / 10 000⌋`.
    pub commission: Fen,
    /// gross − commission: what the supplier is owed.
    pub net: Fen,
    /// The check-ins it settles (each once), in serial and number order.
    pub checkins: Vec<CheckIn>,
}

/// Checks one trade's settlements as read from the chain before anything is settled
/// from them: numbered 1, 2, … without gaps or repeats (and 0, a channel's opening
/// settlement, at most once), and their costs add up to what the chain says the trade
/// paid the supplier (`paid`).
pub fn check_trade_items(
    serial: &TradeSerial,
    items: &[CheckIn],
    paid: Fen,
) -> Result<(), SettlementError> {
    let bad = |detail: String| SettlementError::ChainInconsistent {
        serial: serial.as_str().to_owned(),
        detail,
    };
    let mut numbers: Vec<u32> = items.iter().map(|c| c.n).collect();
    numbers.sort_unstable();
    // Number 0 (a channel's opening settlement) at most once, then 1, 2, … .
    let first = usize::from(numbers.first() == Some(&0));
    for (i, n) in numbers.iter().enumerate() {
        if usize::try_from(*n).ok() != (i + 1).checked_sub(first) {
            return Err(bad(format!(
                "settlement numbers {numbers:?} are not 1, 2, …"
            )));
        }
    }
    let sum = Fen::sum(items.iter().map(|c| c.cost))?;
    if sum != paid {
        return Err(bad(format!(
            "settlements add up to {} fen, the trade paid {} fen",
            sum.get(),
            paid.get()
        )));
    }
    Ok(())
}

/// The statement of `period` for check-ins of the supplier's trades: those whose end lies
/// in the period, that cost more than 0 (a check-in of 0 moves no money and is never
/// settled) and that no earlier statement settled (`settled`); a check-in listed twice
/// is taken once, and refused if the two differ. Refused while the period has not ended
/// at `now_ms`.
pub fn settle(
    period: &PeriodKey,
    checkins: &[CheckIn],
    settled: &BTreeSet<CheckInKey>,
    commission: Bp,
    now_ms: i64,
) -> Result<Statement, SettlementError> {
    let (start, end) = period.bounds();
    if now_ms < end {
        return Err(SettlementError::PeriodOpen);
    }
    let mut seen: std::collections::BTreeMap<CheckInKey, &CheckIn> =
        std::collections::BTreeMap::new();
    let mut taken: Vec<CheckIn> = Vec::new();
    for c in checkins {
        let key = (c.serial.clone(), c.n);
        if let Some(first) = seen.get(&key) {
            if *first != c {
                return Err(SettlementError::CheckInConflict {
                    serial: c.serial.as_str().to_owned(),
                    n: c.n,
                });
            }
            continue;
        }
        seen.insert(key.clone(), c);
        if c.end_ms < start || c.end_ms >= end || c.cost.is_zero() || settled.contains(&key) {
            continue;
        }
        taken.push(c.clone());
    }
    if taken.len() > STATEMENT_CHECKINS_MAX {
        return Err(SettlementError::TooManyCheckins);
    }
    taken.sort_by(|a, b| (&a.serial, a.n).cmp(&(&b.serial, b.n)));
    let gross = Fen::sum(taken.iter().map(|c| c.cost))?;
    let commission = gross.part(commission);
    let net = gross.checked_sub(commission)?;
    debug_assert_eq!(commission.checked_add(net).ok(), Some(gross));
    Ok(Statement {
        gross,
        commission,
        net,
        checkins: taken,
    })
}

/// The account of what the platform owes supplier `org` for its settled trade-chain
/// check-ins: statements credit it, approved payouts debit it, the reconciliation compares
/// against it. Separate from `supplier:{org}:payable` (catalogue order shares).
pub fn chain_payable(org: OrgId) -> Account {
    Account::SupplierChainPayable(org)
}

/// The journal entry of a statement: the trade chain's consumption (gross) is owed to the
/// supplier (net, on [`chain_payable`]) and earned by the operator (commission).
pub fn settlement_tx(
    key: IdemKey,
    supplier: OrgId,
    s: &Statement,
    memo: &str,
) -> Result<JournalTx, SettlementError> {
    debug_assert_eq!(s.commission.checked_add(s.net).ok(), Some(s.gross));
    Ok(TxBuilder::new(TxKind::SupplierSettlement)
        .debit(Account::TradeConsumption, s.gross)
        .credit(chain_payable(supplier), s.net)
        .credit(Account::Revenue, s.commission)
        .build(key, memo)?)
}

/// The journal entry of an approved payout: the supplier's payable leaves through the
/// bank. Refused above what the supplier is owed (`payable`).
pub fn payout_tx(
    key: IdemKey,
    supplier: OrgId,
    amount: Fen,
    payable: Fen,
    memo: &str,
) -> Result<JournalTx, MoneyRejection> {
    check_payout(amount, payable)?;
    Ok(TxBuilder::new(TxKind::SupplierPayout)
        .debit(chain_payable(supplier), amount)
        .credit(Account::Bank, amount)
        .build(key, memo)?)
}

/// A payout must be positive and at most the payable still free (net payable minus the
/// payouts already requested and not rejected).
pub fn check_payout(amount: Fen, payable: Fen) -> Result<(), MoneyRejection> {
    if amount.is_zero() || amount > payable {
        return Err(MoneyRejection::PayoutAbovePayable {
            requested: amount.get(),
            payable: payable.get(),
        });
    }
    Ok(())
}

/// Four eyes on a payout: the finance user who checks it (first eyes) and the one who
/// approves it (second eyes) are two people, and neither asked for it.
pub fn check_four_eyes(
    requested_by: UserId,
    checked_by: UserId,
    approver: UserId,
) -> Result<(), MoneyRejection> {
    if approver == checked_by || approver == requested_by || checked_by == requested_by {
        return Err(MoneyRejection::FourEyes);
    }
    Ok(())
}

/// The facts of one supplier's books, each from its own source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SupplierBooks {
    /// Σ check-in costs on the chain in ended periods (from the `TradeBook`).
    pub chain_checkins: Fen,
    /// Σ gross of the statements (journal settlement entries).
    pub settled_gross: Fen,
    /// Σ net of the statements.
    pub settled_net: Fen,
    /// The supplier's payable balance in the journal.
    pub payable: Fen,
    /// Σ approved payouts (journal payout entries).
    pub paid: Fen,
    /// Σ payouts whose burn the chain has (settlement-mirror outbox sent).
    pub burned: Fen,
}

/// One difference between two of a supplier's books.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BooksDifference {
    /// `checkins_vs_settled`, `settled_vs_paid` or `burned_vs_paid`.
    pub check: &'static str,
    /// The first book's amount.
    pub left_fen: i64,
    /// The second book's amount.
    pub right_fen: i64,
}

/// Compares a supplier's books: every check-in of an ended period settled
/// (`checkins_vs_settled`), statements' net = payable + paid (`settled_vs_paid`), every
/// paid fen burned on the chain (`burned_vs_paid`). Empty when they agree.
pub fn reconcile_books(b: &SupplierBooks) -> Vec<BooksDifference> {
    let mut out = Vec::new();
    let mut check = |name, left: i64, right: i64| {
        if left != right {
            out.push(BooksDifference {
                check: name,
                left_fen: left,
                right_fen: right,
            });
        }
    };
    check(
        "checkins_vs_settled",
        b.chain_checkins.get(),
        b.settled_gross.get(),
    );
    check(
        "settled_vs_paid",
        b.settled_net.get(),
        b.payable.get().saturating_add(b.paid.get()),
    );
    check("burned_vs_paid", b.burned.get(), b.paid.get());
    out
}

#[cfg(test)]
mod tests;
