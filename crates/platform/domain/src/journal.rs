//! The double-entry journal. Every movement of money is a [`JournalTx`]: lines that debit
//! and credit [`Account`]s, Σ debits = Σ credits, checked here (a `JournalTx` cannot be
//! built unbalanced) and again by the store. Balances are projections of the lines;
//! corrections are new, reversing transactions, never edits.
//!
//! Sign convention: every account's balance is Σ credits − Σ debits (what the platform
//! owes: customer money, operator revenue, supplier payables), except [`Account::Bank`],
//! the platform's money held with banks and payment providers, whose balance is
//! Σ debits − Σ credits. Because every transaction balances,
//! Σ(non-bank balances) = bank balance = money in − money out — the conservation law the
//! property tests check to the fen.

use crate::ids::OrgId;
use crate::money::{Fen, MoneyError};
use serde::Serialize;

/// Why a journal transaction was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JournalError {
    /// Σ debits ≠ Σ credits.
    #[error("unbalanced: debits {debits} fen, credits {credits} fen")]
    Unbalanced {
        /// Σ debits.
        debits: i64,
        /// Σ credits.
        credits: i64,
    },
    /// No line moves any money.
    #[error("a journal transaction must move money")]
    Empty,
    /// Arithmetic overflow.
    #[error(transparent)]
    Money(#[from] MoneyError),
    /// Not enough money in the paying accounts.
    #[error("insufficient balance: {needed} fen needed, {available} fen available")]
    Insufficient {
        /// What had to be paid.
        needed: i64,
        /// What the accounts could pay.
        available: i64,
    },
    /// An idempotency key outside 1..=128 printable ASCII characters.
    #[error("idempotency key must be 1 to 128 printable ASCII characters")]
    Key,
}

/// A ledger account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Account {
    /// Money held with banks and payment providers (asset; money in debits it).
    Bank,
    /// Operator revenue (net of cash vouchers granted, which are a marketing cost).
    Revenue,
    /// What the platform owes a supplier for resources it sold (catalogue order shares).
    SupplierPayable(OrgId),
    /// What the platform owes a supplier for its trade-chain check-ins settled by
    /// statements, less its approved payouts (`docs/supply.md` §4); kept apart from the
    /// order shares so refunds of catalogue orders never touch it.
    SupplierChainPayable(OrgId),
    /// A customer's cash balance.
    Cash(OrgId),
    /// A customer's cash-voucher balance (现金券).
    Voucher(OrgId),
    /// A customer's credit account: its balance is minus the credit drawn (≤ 0).
    Credit(OrgId),
    /// A customer's frozen (held) money.
    Frozen(OrgId),
    /// Settlement credits consumers paid to suppliers on the trade chain (check-ins),
    /// brought into the books by supplier settlement statements (debited with their
    /// gross; `docs/supply.md` §4).
    TradeConsumption,
    /// A customer's money in trades on the trade chain: moved from its cash when an order
    /// escrows on the chain, paid out by check-ins, refunded at the close
    /// (`docs/exchange.md`).
    TradeEscrow(OrgId),
}

impl Account {
    /// Stable text key, e.g. `customer:12:cash`.
    pub fn key(self) -> String {
        match self {
            Account::Bank => "bank".to_owned(),
            Account::Revenue => "revenue".to_owned(),
            Account::SupplierPayable(o) => format!("supplier:{o}:payable"),
            Account::SupplierChainPayable(o) => format!("supplier:{o}:chain_payable"),
            Account::Cash(o) => format!("customer:{o}:cash"),
            Account::Voucher(o) => format!("customer:{o}:voucher"),
            Account::Credit(o) => format!("customer:{o}:credit"),
            Account::Frozen(o) => format!("customer:{o}:frozen"),
            Account::TradeConsumption => "trade:consumption".to_owned(),
            Account::TradeEscrow(o) => format!("customer:{o}:trade_escrow"),
        }
    }

    /// Parses [`Account::key`] output.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "bank" => return Some(Account::Bank),
            "revenue" => return Some(Account::Revenue),
            "trade:consumption" => return Some(Account::TradeConsumption),
            _ => {}
        }
        let mut parts = s.split(':');
        let (kind, id, sub) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let org = OrgId::new(id.parse().ok()?)?;
        match (kind, sub) {
            ("supplier", "payable") => Some(Account::SupplierPayable(org)),
            ("supplier", "chain_payable") => Some(Account::SupplierChainPayable(org)),
            ("customer", "cash") => Some(Account::Cash(org)),
            ("customer", "voucher") => Some(Account::Voucher(org)),
            ("customer", "credit") => Some(Account::Credit(org)),
            ("customer", "frozen") => Some(Account::Frozen(org)),
            ("customer", "trade_escrow") => Some(Account::TradeEscrow(org)),
            _ => None,
        }
    }

    /// The customer organisation owning this account, if it is a customer account.
    pub fn customer(self) -> Option<OrgId> {
        match self {
            Account::Cash(o)
            | Account::Voucher(o)
            | Account::Credit(o)
            | Account::Frozen(o)
            | Account::TradeEscrow(o) => Some(o),
            _ => None,
        }
    }

    /// The customer-facing name of a customer account (statement channel).
    pub fn channel(self) -> &'static str {
        match self {
            Account::Cash(_) => "cash",
            Account::Voucher(_) => "voucher",
            Account::Credit(_) => "credit",
            Account::Frozen(_) => "frozen",
            Account::Bank => "bank",
            Account::Revenue => "revenue",
            Account::SupplierPayable(_) | Account::SupplierChainPayable(_) => "supplier",
            Account::TradeConsumption => "trade",
            Account::TradeEscrow(_) => "trade_escrow",
        }
    }

    /// How a line changes this account's balance: `+amount` or `-amount`.
    pub fn signed(self, side: Side, amount: Fen) -> i64 {
        let a = amount.get();
        let credit_normal = self != Account::Bank;
        match (side, credit_normal) {
            (Side::Credit, true) | (Side::Debit, false) => a,
            _ => -a,
        }
    }
}

/// Debit or credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Left side.
    Debit,
    /// Right side.
    Credit,
}

impl Side {
    /// Stable text.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Debit => "debit",
            Side::Credit => "credit",
        }
    }
    /// Parses [`Side::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "debit" => Some(Side::Debit),
            "credit" => Some(Side::Credit),
            _ => None,
        }
    }
}

/// What a journal transaction is, and so which statement type it shows as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TxKind {
    /// Money in through a payment provider or an approved offline transfer.
    Recharge,
    /// Money out to the customer (approved offline withdrawal).
    Withdrawal,
    /// A cash voucher granted by the operator.
    VoucherGrant,
    /// Payment of a new prepaid order.
    Purchase,
    /// Payment of a renewal.
    Renewal,
    /// Payment for the rest of the term on the new spec of a change of spec.
    ChangeSpec,
    /// Pay-as-you-go usage charged.
    Usage,
    /// Prorated refund: of an unsubscribed order, or of the old spec's rest of the term
    /// on a change of spec.
    Refund,
    /// A pay-as-you-go deposit frozen.
    Hold,
    /// A hold released back to the customer.
    HoldVoid,
    /// A hold (partly) taken as payment.
    HoldPost,
    /// The exact reversal of an earlier transaction.
    Reversal,
    /// A supplier settlement statement (trade-chain consumption → supplier payable and
    /// operator commission).
    SupplierSettlement,
    /// An approved supplier payout (supplier payable → bank).
    SupplierPayout,
    /// An order placed on the trade chain: cash → trade escrow (`docs/exchange.md`).
    TradeOrder,
    /// A check-in of a trade: trade escrow → trade consumption.
    TradeCheckin,
    /// A trade's close refund: trade escrow → cash.
    TradeRefund,
}

impl TxKind {
    /// Stable text.
    pub fn as_str(self) -> &'static str {
        match self {
            TxKind::Recharge => "recharge",
            TxKind::Withdrawal => "withdrawal",
            TxKind::VoucherGrant => "voucher_grant",
            TxKind::Purchase => "purchase",
            TxKind::Renewal => "renewal",
            TxKind::ChangeSpec => "change_spec",
            TxKind::Usage => "usage",
            TxKind::Refund => "refund",
            TxKind::Hold => "hold",
            TxKind::HoldVoid => "hold_void",
            TxKind::HoldPost => "hold_post",
            TxKind::Reversal => "reversal",
            TxKind::SupplierSettlement => "supplier_settlement",
            TxKind::SupplierPayout => "supplier_payout",
            TxKind::TradeOrder => "trade_order",
            TxKind::TradeCheckin => "trade_checkin",
            TxKind::TradeRefund => "trade_refund",
        }
    }

    /// Parses [`TxKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        use TxKind::*;
        [
            Recharge,
            Withdrawal,
            VoucherGrant,
            Purchase,
            Renewal,
            ChangeSpec,
            Usage,
            Refund,
            Hold,
            HoldVoid,
            HoldPost,
            Reversal,
            SupplierSettlement,
            SupplierPayout,
            TradeOrder,
            TradeCheckin,
            TradeRefund,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// The statement type (seed 002 交易类型: 充值、扣除、消费、退费) of a customer line
    /// of this kind.
    pub fn statement_type(self) -> &'static str {
        match self {
            TxKind::Recharge | TxKind::VoucherGrant => "recharge",
            TxKind::Withdrawal | TxKind::Hold | TxKind::Reversal | TxKind::SupplierPayout => {
                "deduction"
            }
            TxKind::Purchase
            | TxKind::Renewal
            | TxKind::ChangeSpec
            | TxKind::Usage
            | TxKind::HoldPost
            | TxKind::SupplierSettlement
            | TxKind::TradeOrder
            | TxKind::TradeCheckin => "consumption",
            TxKind::Refund | TxKind::HoldVoid | TxKind::TradeRefund => "refund",
        }
    }
}

/// One line of a journal transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    /// The account.
    pub account: Account,
    /// Debit or credit.
    pub side: Side,
    /// How much (positive).
    pub amount: Fen,
}

/// A client-chosen idempotency key: 1..=128 printable ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdemKey(String);

/// Longest idempotency key, in characters.
pub const IDEM_KEY_CHARS_MAX: usize = 128;

impl IdemKey {
    /// Validates `raw`.
    pub fn parse(raw: &str) -> Result<Self, JournalError> {
        let ok = !raw.is_empty()
            && raw.len() <= IDEM_KEY_CHARS_MAX
            && raw.bytes().all(|b| b.is_ascii_graphic());
        ok.then(|| IdemKey(raw.to_owned())).ok_or(JournalError::Key)
    }
    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A balanced journal transaction: at least one line, every amount positive,
/// Σ debits = Σ credits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalTx {
    key: IdemKey,
    kind: TxKind,
    lines: Vec<Line>,
    memo: String,
}

/// Builds a [`JournalTx`] line by line; zero amounts are dropped.
#[derive(Debug, Clone)]
pub struct TxBuilder {
    kind: TxKind,
    lines: Vec<Line>,
}

impl TxBuilder {
    /// A transaction of `kind`.
    pub fn new(kind: TxKind) -> Self {
        Self {
            kind,
            lines: Vec::new(),
        }
    }
    /// Debits `account` with `amount`.
    pub fn debit(mut self, account: Account, amount: Fen) -> Self {
        if !amount.is_zero() {
            self.lines.push(Line {
                account,
                side: Side::Debit,
                amount,
            });
        }
        self
    }
    /// Credits `account` with `amount`.
    pub fn credit(mut self, account: Account, amount: Fen) -> Self {
        if !amount.is_zero() {
            self.lines.push(Line {
                account,
                side: Side::Credit,
                amount,
            });
        }
        self
    }
    /// Checks the balance and seals the transaction under `key`.
    pub fn build(self, key: IdemKey, memo: &str) -> Result<JournalTx, JournalError> {
        JournalTx::new(key, self.kind, self.lines, memo)
    }
}

impl JournalTx {
    /// A transaction from raw lines; refused unless balanced and non-empty.
    pub fn new(
        key: IdemKey,
        kind: TxKind,
        lines: Vec<Line>,
        memo: &str,
    ) -> Result<Self, JournalError> {
        let lines: Vec<Line> = lines.into_iter().filter(|l| !l.amount.is_zero()).collect();
        if lines.is_empty() {
            return Err(JournalError::Empty);
        }
        let total =
            |side: Side| Fen::sum(lines.iter().filter(|l| l.side == side).map(|l| l.amount));
        let (debits, credits) = (total(Side::Debit)?, total(Side::Credit)?);
        if debits != credits {
            return Err(JournalError::Unbalanced {
                debits: debits.get(),
                credits: credits.get(),
            });
        }
        Ok(Self {
            key,
            kind,
            lines,
            memo: memo.chars().take(MEMO_CHARS_MAX).collect(),
        })
    }

    /// The idempotency key.
    pub fn key(&self) -> &IdemKey {
        &self.key
    }
    /// The kind.
    pub fn kind(&self) -> TxKind {
        self.kind
    }
    /// The lines.
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }
    /// The memo.
    pub fn memo(&self) -> &str {
        &self.memo
    }
    /// Σ debits (= Σ credits).
    pub fn total(&self) -> Fen {
        Fen::sum(
            self.lines
                .iter()
                .filter(|l| l.side == Side::Debit)
                .map(|l| l.amount),
        )
        .unwrap_or(Fen::ZERO)
    }

    /// Σ debits − Σ credits: zero for every transaction (the conservation the journal
    /// rests on; the store asserts it again before posting).
    pub fn imbalance(&self) -> i64 {
        self.lines
            .iter()
            .map(|l| match l.side {
                Side::Debit => l.amount.get(),
                Side::Credit => -l.amount.get(),
            })
            .sum()
    }

    /// The reversing transaction: every line on the other side.
    pub fn reversal(&self, key: IdemKey) -> JournalTx {
        debug_assert_eq!(self.imbalance(), 0);
        JournalTx {
            key,
            kind: TxKind::Reversal,
            lines: self
                .lines
                .iter()
                .map(|l| Line {
                    side: match l.side {
                        Side::Debit => Side::Credit,
                        Side::Credit => Side::Debit,
                    },
                    ..*l
                })
                .collect(),
            memo: format!("reversal of {}", self.key.as_str()),
        }
    }

    /// A stable digest of the body (kind, lines, memo) — what an idempotent replay must
    /// match.
    pub fn body_digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(self.kind.as_str());
        for l in &self.lines {
            h.update(format!(
                "|{}:{}:{}",
                l.account.key(),
                l.side.as_str(),
                l.amount.get()
            ));
        }
        h.update("|");
        h.update(&self.memo);
        hex::encode(h.finalize())
    }
}

/// Longest journal memo, in characters.
pub const MEMO_CHARS_MAX: usize = 200;

/// A customer's balances, projected from the journal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Balances {
    /// Cash.
    pub cash_fen: i64,
    /// Cash vouchers.
    pub voucher_fen: i64,
    /// Credit drawn (≥ 0).
    pub credit_used_fen: i64,
    /// Credit line granted by finance.
    pub credit_line_fen: i64,
    /// Frozen (held) money.
    pub frozen_fen: i64,
}

impl Balances {
    /// Credit still available.
    pub fn credit_available(&self) -> Fen {
        Fen::new((self.credit_line_fen - self.credit_used_fen).max(0)).unwrap_or(Fen::ZERO)
    }
    /// What the customer can spend now: cash + vouchers + available credit.
    pub fn spendable(&self) -> Fen {
        let v = self.cash_fen.max(0) + self.voucher_fen.max(0);
        Fen::new(v)
            .and_then(|v| v.checked_add(self.credit_available()))
            .unwrap_or(Fen::ZERO)
    }
}

/// How a payment was funded, in the fixed order cash → voucher → credit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Funding {
    /// From cash.
    pub cash_fen: Fen,
    /// From cash vouchers.
    pub voucher_fen: Fen,
    /// From the credit line.
    pub credit_fen: Fen,
}

impl Funding {
    /// Σ of the three.
    pub fn total(&self) -> Result<Fen, MoneyError> {
        Fen::sum([self.cash_fen, self.voucher_fen, self.credit_fen])
    }

    /// Adds another funding source by source.
    pub fn plus(&self, o: &Funding) -> Result<Funding, MoneyError> {
        Ok(Funding {
            cash_fen: self.cash_fen.checked_add(o.cash_fen)?,
            voucher_fen: self.voucher_fen.checked_add(o.voucher_fen)?,
            credit_fen: self.credit_fen.checked_add(o.credit_fen)?,
        })
    }

    /// Subtracts a refund by source.
    pub fn minus(&self, o: &Funding) -> Result<Funding, MoneyError> {
        Ok(Funding {
            cash_fen: self.cash_fen.checked_sub(o.cash_fen)?,
            voucher_fen: self.voucher_fen.checked_sub(o.voucher_fen)?,
            credit_fen: self.credit_fen.checked_sub(o.credit_fen)?,
        })
    }
}

/// Splits `amount` over the customer's balances: cash first, then cash vouchers, then
/// available credit. Refused when they cannot cover it.
pub fn fund(amount: Fen, b: &Balances) -> Result<Funding, JournalError> {
    let cash = Fen::new(b.cash_fen.max(0))?;
    let voucher = Fen::new(b.voucher_fen.max(0))?;
    let credit = b.credit_available();
    let from_cash = amount.min(cash);
    let rest = amount.checked_sub(from_cash)?;
    let from_voucher = rest.min(voucher);
    let rest = rest.checked_sub(from_voucher)?;
    if rest > credit {
        return Err(JournalError::Insufficient {
            needed: amount.get(),
            available: Fen::sum([cash, voucher, credit])?.get(),
        });
    }
    Ok(Funding {
        cash_fen: from_cash,
        voucher_fen: from_voucher,
        credit_fen: rest,
    })
}

/// How a customer payment is shared: the supplier's part and the operator's part.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Shares {
    /// To the supplier's payable.
    pub supplier_fen: Fen,
    /// To operator revenue.
    pub operator_fen: Fen,
}

/// Payment of `funding` for a product of `supplier` taking `shares`: debits the customer's
/// sources, credits the supplier's payable and operator revenue.
pub fn payment_tx(
    kind: TxKind,
    key: IdemKey,
    customer: OrgId,
    supplier: OrgId,
    funding: &Funding,
    shares: &Shares,
    memo: &str,
) -> Result<JournalTx, JournalError> {
    // What the customer pays is what the supplier and the operator receive.
    debug_assert_eq!(
        funding.total().ok(),
        shares.supplier_fen.checked_add(shares.operator_fen).ok()
    );
    TxBuilder::new(kind)
        .debit(Account::Cash(customer), funding.cash_fen)
        .debit(Account::Voucher(customer), funding.voucher_fen)
        .debit(Account::Credit(customer), funding.credit_fen)
        .credit(Account::SupplierPayable(supplier), shares.supplier_fen)
        .credit(Account::Revenue, shares.operator_fen)
        .build(key, memo)
}

/// The refund of `funding` / `shares` (the exact mirror of [`payment_tx`]).
pub fn refund_tx(
    kind: TxKind,
    key: IdemKey,
    customer: OrgId,
    supplier: OrgId,
    funding: &Funding,
    shares: &Shares,
    memo: &str,
) -> Result<JournalTx, JournalError> {
    // What goes back to the customer is what the supplier and the operator give back.
    debug_assert_eq!(
        funding.total().ok(),
        shares.supplier_fen.checked_add(shares.operator_fen).ok()
    );
    TxBuilder::new(kind)
        .credit(Account::Cash(customer), funding.cash_fen)
        .credit(Account::Voucher(customer), funding.voucher_fen)
        .credit(Account::Credit(customer), funding.credit_fen)
        .debit(Account::SupplierPayable(supplier), shares.supplier_fen)
        .debit(Account::Revenue, shares.operator_fen)
        .build(key, memo)
}

/// Money in: `amount` arrives at the bank; it first repays credit drawn, the rest is cash.
pub fn recharge_tx(
    key: IdemKey,
    customer: OrgId,
    amount: Fen,
    credit_used: Fen,
    memo: &str,
) -> Result<JournalTx, JournalError> {
    let repay = amount.min(credit_used);
    TxBuilder::new(TxKind::Recharge)
        .debit(Account::Bank, amount)
        .credit(Account::Credit(customer), repay)
        .credit(Account::Cash(customer), amount.checked_sub(repay)?)
        .build(key, memo)
}

/// Money out: `amount` of cash leaves through the bank.
pub fn withdrawal_tx(
    key: IdemKey,
    customer: OrgId,
    amount: Fen,
    cash: Fen,
    memo: &str,
) -> Result<JournalTx, JournalError> {
    if amount > cash {
        return Err(JournalError::Insufficient {
            needed: amount.get(),
            available: cash.get(),
        });
    }
    TxBuilder::new(TxKind::Withdrawal)
        .debit(Account::Cash(customer), amount)
        .credit(Account::Bank, amount)
        .build(key, memo)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(n: i64) -> Fen {
        Fen::new(n).unwrap_or_else(|_| unreachable!())
    }
    fn o(n: i64) -> OrgId {
        OrgId::new(n).unwrap_or_else(|| unreachable!())
    }
    fn k(s: &str) -> IdemKey {
        IdemKey::parse(s).unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn unbalanced_and_empty_transactions_cannot_be_built() {
        let r = TxBuilder::new(TxKind::Recharge)
            .debit(Account::Bank, f(100))
            .credit(Account::Cash(o(2)), f(99))
            .build(k("a"), "");
        assert_eq!(
            r,
            Err(JournalError::Unbalanced {
                debits: 100,
                credits: 99
            })
        );
        assert_eq!(
            TxBuilder::new(TxKind::Recharge).build(k("a"), ""),
            Err(JournalError::Empty)
        );
        assert!(IdemKey::parse("").is_err());
        assert!(IdemKey::parse("has space").is_err());
        assert!(IdemKey::parse(&"x".repeat(129)).is_err());
    }

    #[test]
    fn funding_order_is_cash_voucher_credit() {
        let b = Balances {
            cash_fen: 100,
            voucher_fen: 50,
            credit_used_fen: 10,
            credit_line_fen: 100,
            frozen_fen: 0,
        };
        assert_eq!(
            fund(f(120), &b),
            Ok(Funding {
                cash_fen: f(100),
                voucher_fen: f(20),
                credit_fen: f(0)
            })
        );
        assert_eq!(
            fund(f(240), &b),
            Ok(Funding {
                cash_fen: f(100),
                voucher_fen: f(50),
                credit_fen: f(90)
            })
        );
        assert!(matches!(
            fund(f(241), &b),
            Err(JournalError::Insufficient { .. })
        ));
    }

    #[test]
    fn account_keys_round_trip_and_signs() {
        for a in [
            Account::Bank,
            Account::Revenue,
            Account::SupplierPayable(o(3)),
            Account::SupplierChainPayable(o(3)),
            Account::Cash(o(4)),
            Account::Voucher(o(4)),
            Account::Credit(o(4)),
            Account::Frozen(o(4)),
            Account::TradeConsumption,
        ] {
            assert_eq!(Account::parse(&a.key()), Some(a));
        }
        assert_eq!(Account::parse("customer:0:cash"), None);
        assert_eq!(Account::parse("customer:1:cash:x"), None);
        assert_eq!(Account::Bank.signed(Side::Debit, f(5)), 5);
        assert_eq!(Account::Bank.signed(Side::Credit, f(5)), -5);
        assert_eq!(Account::Cash(o(1)).signed(Side::Credit, f(5)), 5);
        assert_eq!(Account::Cash(o(1)).signed(Side::Debit, f(5)), -5);
    }

    #[test]
    fn recharge_repays_credit_first_and_reversal_mirrors() {
        let t = recharge_tx(k("r1"), o(5), f(100), f(30), "").unwrap_or_else(|_| unreachable!());
        let credit: i64 = t
            .lines()
            .iter()
            .filter(|l| l.account == Account::Credit(o(5)))
            .map(|l| l.amount.get())
            .sum();
        assert_eq!(credit, 30);
        let r = t.reversal(k("r1-rev"));
        let net: i64 = t
            .lines()
            .iter()
            .chain(r.lines())
            .map(|l| l.account.signed(l.side, l.amount))
            .sum();
        assert_eq!(net, 0);
        assert_ne!(t.body_digest(), r.body_digest());
    }
}
