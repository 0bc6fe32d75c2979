//! Orders of supplier offers as trades on the trade chain (issue 18, `docs/exchange.md`):
//! what an order escrows, the journal entries that follow a trade's chain records
//! (order: cash → trade escrow; check-in: trade escrow → trade consumption; the close's
//! refund: trade escrow → cash), the trade's states and the members' spending limits.
//! Pure: the store applies these, the service asks them.

use crate::OrgId;
use crate::journal::{Account, IdemKey, JournalError, JournalTx, TxBuilder, TxKind};
use crate::money::Fen;
use serde::Serialize;

/// Longest contract of an order, in minutes (the trade chain's `DURATION_MINUTES_MAX`).
pub const TERM_MINUTES_MAX: u64 = 366 * 24 * 60;
/// Most units of an offer one order takes (the trade chain's `QUANTITY_MAX`).
pub const UNITS_MAX: u32 = 1_000_000;
/// Largest escrow (order value or budget) of one order, in fen.
pub const ORDER_VALUE_MAX_FEN: i64 = 1_000_000_000_000;
/// Most check-ins one trade's journal follows (the chain's bound on a trade's records).
pub const CHECKINS_PER_TRADE_MAX: usize = 100_000;

/// Why an order is refused before anything is signed or escrowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderRejection {
    /// Units outside 1..=the offer's units.
    #[error("units must be 1 to {available}")]
    Units {
        /// The offer's units.
        available: u32,
    },
    /// A term outside 1..=[`TERM_MINUTES_MAX`] minutes, or neither/both of a term and a
    /// budget.
    #[error("give either a term of 1 to {TERM_MINUTES_MAX} minutes or a pay-as-you-go budget")]
    Term,
    /// A budget (or term price) above [`ORDER_VALUE_MAX_FEN`] or overflowing.
    #[error("the order's value is out of range")]
    Value,
    /// A pay-as-you-go budget that does not cover the first check-in period.
    #[error("the budget must cover at least the first period: {first_fen} fen")]
    BudgetBelowFirstPeriod {
        /// The first period's cost, fen.
        first_fen: i64,
    },
}

impl OrderRejection {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            OrderRejection::Units { .. } => "invalid_units",
            OrderRejection::Term => "invalid_term",
            OrderRejection::Value => "amount_out_of_range",
            OrderRejection::BudgetBelowFirstPeriod { .. } => "budget_below_first_period",
        }
    }
    /// The request field it concerns.
    pub fn field(&self) -> &'static str {
        match self {
            OrderRejection::Units { .. } => "units",
            OrderRejection::Term | OrderRejection::Value => "term_minutes",
            OrderRejection::BudgetBelowFirstPeriod { .. } => "budget_fen",
        }
    }
}

/// A trade mode's prices as the order needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModePrices {
    /// Price of one unit for one minute, fen.
    pub price_fen_per_min: i64,
    /// Minimum charge of one trade, fen.
    pub min_charge_fen: i64,
    /// Check-in period, minutes.
    pub checkin_period_min: u64,
}

/// How long and how paid: a term paid up front, or pay-as-you-go within a budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderTerm {
    /// A contract of this many minutes, its whole price escrowed.
    Minutes(u64),
    /// Pay-as-you-go: this budget escrowed, the contract as long as it lasts.
    Budget(Fen),
}

/// What an order asks of the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OrderPlan {
    /// Units.
    pub units: u32,
    /// The contract's length in minutes.
    pub duration_minutes: u64,
    /// The escrow (order value), fen.
    pub value: Fen,
    /// The trade's rate: unit price × units, fen per minute.
    pub rate_fen_per_min: i64,
    /// Whether it is pay-as-you-go.
    pub payg: bool,
}

/// What `minutes` cost at `rate` with a minimum charge (as the chain's pricing):
/// `max(minutes × rate, min)`.
fn charge(minutes: u64, rate: i64, min: i64) -> Option<i64> {
    i64::try_from(minutes)
        .ok()?
        .checked_mul(rate)
        .map(|c| c.max(min))
}

/// The order's plan: a term escrows its whole price (`max(minutes × rate, minimum)`);
/// pay-as-you-go escrows the budget and contracts for as many whole minutes as it pays
/// (at most [`TERM_MINUTES_MAX`]), refused below the first check-in period's cost.
pub fn plan_order(
    prices: ModePrices,
    units: u32,
    available: u32,
    term: OrderTerm,
) -> Result<OrderPlan, OrderRejection> {
    if units == 0 || units > available.min(UNITS_MAX) {
        return Err(OrderRejection::Units { available });
    }
    let rate = prices
        .price_fen_per_min
        .checked_mul(i64::from(units))
        .ok_or(OrderRejection::Value)?;
    let (duration, value) = match term {
        OrderTerm::Minutes(m) => {
            if !(1..=TERM_MINUTES_MAX).contains(&m) {
                return Err(OrderRejection::Term);
            }
            (
                m,
                charge(m, rate, prices.min_charge_fen).ok_or(OrderRejection::Value)?,
            )
        }
        OrderTerm::Budget(b) => {
            let minutes = if rate > 0 {
                u64::try_from(b.get() / rate).unwrap_or(0)
            } else {
                TERM_MINUTES_MAX
            };
            let duration = minutes.clamp(1, TERM_MINUTES_MAX);
            let first = charge(
                prices.checkin_period_min.min(duration),
                rate,
                prices.min_charge_fen,
            )
            .ok_or(OrderRejection::Value)?;
            if b.get() < first.max(1) {
                return Err(OrderRejection::BudgetBelowFirstPeriod {
                    first_fen: first.max(1),
                });
            }
            (duration, b.get())
        }
    };
    if value > ORDER_VALUE_MAX_FEN {
        return Err(OrderRejection::Value);
    }
    let value = Fen::new(value).map_err(|_| OrderRejection::Value)?;
    if value.is_zero() {
        return Err(OrderRejection::Value);
    }
    Ok(OrderPlan {
        units,
        duration_minutes: duration,
        value,
        rate_fen_per_min: rate,
        payg: matches!(term, OrderTerm::Budget(_)),
    })
}

/// Where a trade stands on the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TradeStatus {
    /// Stored with its escrow entry; the chain's answer is not known yet.
    Placing,
    /// The order is on the chain (escrowed), not yet accepted.
    Placed,
    /// The supplier accepted: the contract runs.
    Active,
    /// Closed on the chain; its refund is in the journal.
    Closed,
    /// The chain refused the order; its escrow entry is reversed.
    Refused,
}

impl TradeStatus {
    /// Stable text.
    pub fn as_str(self) -> &'static str {
        match self {
            TradeStatus::Placing => "placing",
            TradeStatus::Placed => "placed",
            TradeStatus::Active => "active",
            TradeStatus::Closed => "closed",
            TradeStatus::Refused => "refused",
        }
    }
    /// Parses [`TradeStatus::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        use TradeStatus::*;
        [Placing, Placed, Active, Closed, Refused]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
    /// Whether the chain may still write records the journal must follow.
    pub fn live(self) -> bool {
        matches!(
            self,
            TradeStatus::Placing | TradeStatus::Placed | TradeStatus::Active
        )
    }
}

/// The chain wallet of organisation `org` (`docs/exchange.md` §1).
pub fn wallet_name(org: OrgId) -> String {
    format!("org:{org}")
}

fn key(raw: String) -> Result<IdemKey, JournalError> {
    IdemKey::parse(&raw)
}

/// The order's escrow entry (`trade-order:{serial}`): Dr cash, Cr trade escrow.
pub fn order_tx(org: OrgId, serial: &str, value: Fen) -> Result<JournalTx, JournalError> {
    TxBuilder::new(TxKind::TradeOrder)
        .debit(Account::Cash(org), value)
        .credit(Account::TradeEscrow(org), value)
        .build(
            key(format!("trade-order:{serial}"))?,
            &format!("trade {serial}: order escrowed"),
        )
}

/// A top-up's entry (`trade-topup:{serial}:{n}`, `n` from 1 in the chain's order of its
/// `fund` records): Dr cash, Cr trade escrow. Its header names no organisation, so it
/// writes no mirror instruction: the chain moved the wallet itself.
pub fn topup_tx(org: OrgId, serial: &str, n: u32, amount: Fen) -> Result<JournalTx, JournalError> {
    TxBuilder::new(TxKind::TradeOrder)
        .debit(Account::Cash(org), amount)
        .credit(Account::TradeEscrow(org), amount)
        .build(
            key(format!("trade-topup:{serial}:{n}"))?,
            &format!("trade {serial}: top-up {n}"),
        )
}

/// A check-in's entry (`trade-checkin:{serial}:{n}`): Dr trade escrow, Cr trade
/// consumption (the clearing account supplier statements debit).
pub fn checkin_tx(org: OrgId, serial: &str, n: u32, cost: Fen) -> Result<JournalTx, JournalError> {
    TxBuilder::new(TxKind::TradeCheckin)
        .debit(Account::TradeEscrow(org), cost)
        .credit(Account::TradeConsumption, cost)
        .build(
            key(format!("trade-checkin:{serial}:{n}"))?,
            &format!("trade {serial}: check-in {n}"),
        )
}

/// The close's refund entry (`trade-refund:{serial}`): Dr trade escrow, Cr cash.
pub fn refund_tx(org: OrgId, serial: &str, refund: Fen) -> Result<JournalTx, JournalError> {
    TxBuilder::new(TxKind::TradeRefund)
        .debit(Account::TradeEscrow(org), refund)
        .credit(Account::Cash(org), refund)
        .build(
            key(format!("trade-refund:{serial}"))?,
            &format!("trade {serial}: refund at close"),
        )
}

/// One settlement of a trade as the chain recorded it (what the journal follows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainSettlement {
    /// Its number (check-ins 1, 2, …; a close's tail the next; 0 a channel's opening).
    pub n: u32,
    /// Paid to the supplier from the escrow.
    pub cost: Fen,
}

/// Why a trade's chain records cannot be followed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    /// The chain paid and refunded more than the platform escrowed for it (funded).
    #[error("the chain moved {moved} fen out of an escrow of {funded} fen")]
    Overdrawn {
        /// What the platform escrowed (order and top-ups).
        funded: i64,
        /// Check-ins plus refund.
        moved: i64,
    },
    /// A journal entry could not be built.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// Too many check-ins.
    #[error("more than {CHECKINS_PER_TRADE_MAX} check-ins")]
    TooMany,
}

/// The journal entries that follow a trade's chain records: one per settlement (a
/// zero-cost one has none) and, once closed, the refund. Keys are per record, so posting
/// them again changes nothing. `funded` is what the platform escrowed; the chain can never
/// move more (checked, and asserted in debug builds).
pub fn sync_entries(
    org: OrgId,
    serial: &str,
    funded: Fen,
    settlements: &[ChainSettlement],
    refund: Option<Fen>,
) -> Result<Vec<JournalTx>, SyncError> {
    if settlements.len() > CHECKINS_PER_TRADE_MAX {
        return Err(SyncError::TooMany);
    }
    let mut out = Vec::with_capacity(settlements.len() + 1);
    let mut moved = Fen::ZERO;
    for s in settlements {
        moved = moved.checked_add(s.cost).map_err(JournalError::Money)?;
        if !s.cost.is_zero() {
            out.push(checkin_tx(org, serial, s.n, s.cost)?);
        }
    }
    if let Some(r) = refund {
        moved = moved.checked_add(r).map_err(JournalError::Money)?;
        if !r.is_zero() {
            out.push(refund_tx(org, serial, r)?);
        }
    }
    if moved > funded {
        return Err(SyncError::Overdrawn {
            funded: funded.get(),
            moved: moved.get(),
        });
    }
    // Conservation: every entry moves money out of this trade's escrow only, and never
    // more than it holds.
    debug_assert!(out.iter().all(|t| t.imbalance() == 0));
    Ok(out)
}

/// A member's spending limit from its organisation's wallet, fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MemberLimit {
    /// The most the member may have spent from the wallet (cumulative escrow and top-ups
    /// minus refunds); 0 blocks the member.
    pub limit: Fen,
}

/// The limit every member (administrator or not) gets before its first order until the
/// organisation's administrator sets one (`service::trade_members::ensure_limit`).
pub const DEFAULT_MEMBER_LIMIT_FEN: i64 = 1_000_000;

/// Largest limit an administrator sets, fen.
pub const MEMBER_LIMIT_MAX_FEN: i64 = ORDER_VALUE_MAX_FEN;

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: i64) -> Fen {
        Fen::new(v).unwrap()
    }
    const P: ModePrices = ModePrices {
        price_fen_per_min: 3,
        min_charge_fen: 100,
        checkin_period_min: 10,
    };

    #[test]
    fn a_term_escrows_its_price_with_the_minimum() {
        let p = plan_order(P, 2, 4, OrderTerm::Minutes(60)).unwrap();
        assert_eq!(
            (p.value, p.duration_minutes, p.rate_fen_per_min),
            (f(360), 60, 6)
        );
        let p = plan_order(P, 1, 4, OrderTerm::Minutes(5)).unwrap();
        assert_eq!(p.value, f(100), "minimum charge");
        assert_eq!(
            plan_order(P, 5, 4, OrderTerm::Minutes(5)),
            Err(OrderRejection::Units { available: 4 })
        );
        assert_eq!(
            plan_order(P, 1, 4, OrderTerm::Minutes(0))
                .unwrap_err()
                .code(),
            "invalid_term"
        );
        assert_eq!(
            plan_order(P, 1, 4, OrderTerm::Minutes(TERM_MINUTES_MAX + 1)),
            Err(OrderRejection::Term)
        );
    }

    #[test]
    fn a_budget_buys_whole_minutes_and_covers_the_first_period() {
        let p = plan_order(P, 1, 1, OrderTerm::Budget(f(1_000))).unwrap();
        assert_eq!((p.value, p.duration_minutes, p.payg), (f(1_000), 333, true));
        let e = plan_order(P, 1, 1, OrderTerm::Budget(f(99))).unwrap_err();
        assert_eq!(e, OrderRejection::BudgetBelowFirstPeriod { first_fen: 100 });
        assert_eq!(e.field(), "budget_fen");
    }

    #[test]
    fn entries_follow_the_records_and_never_overdraw() {
        let o = OrgId::new(7).unwrap();
        let s = "ab".repeat(16);
        let order = order_tx(o, &s, f(500)).unwrap();
        assert_eq!(order.imbalance(), 0);
        assert_eq!(order.key().as_str(), format!("trade-order:{s}"));
        let set = [
            ChainSettlement { n: 1, cost: f(100) },
            ChainSettlement { n: 2, cost: f(0) },
            ChainSettlement { n: 3, cost: f(150) },
        ];
        let e = sync_entries(o, &s, f(500), &set, Some(f(250))).unwrap();
        assert_eq!(e.len(), 3, "the zero-cost check-in has no entry");
        assert_eq!(e[1].key().as_str(), format!("trade-checkin:{s}:3"));
        assert_eq!(e[2].kind(), TxKind::TradeRefund);
        assert_eq!(
            sync_entries(o, &s, f(500), &set, Some(f(251))),
            Err(SyncError::Overdrawn {
                funded: 500,
                moved: 501
            })
        );
    }

    #[test]
    fn statuses_round_trip() {
        for t in [
            TradeStatus::Placing,
            TradeStatus::Placed,
            TradeStatus::Active,
            TradeStatus::Closed,
            TradeStatus::Refused,
        ] {
            assert_eq!(TradeStatus::parse(t.as_str()), Some(t));
        }
        assert!(!TradeStatus::Refused.live());
        assert_eq!(wallet_name(OrgId::new(3).unwrap()), "org:3");
    }
}
