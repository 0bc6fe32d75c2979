//! Prorated refunds and the split of payments and refunds between their sources.
//!
//! Formula (docs/money.md): a paid span `[start, end)` of `total_days` = ⌈(end − start) /
//! 1 day⌉ days, unsubscribed at `now`, has used `used_days` = ⌈(now − start) / 1 day⌉
//! days (every started day counts as used; before `start` nothing is used). The refund is
//! `⌊paid × (total_days − used_days) / total_days⌋` fen — rounded down, the remainder
//! stays with the platform. A same-day unsubscribe therefore pays for one day.
//!
//! The refund goes back to the balances the payment came from, in proportion
//! (`⌊refund × part / paid⌋` each), with the rounding remainder (at most two fen) given to
//! cash, then vouchers, then credit, never beyond what each source paid. Revenue and the
//! supplier's payable give back in the proportion they received.

use crate::journal::{Funding, Shares};
use crate::money::{Bp, DAY_MS, Fen, MoneyError};

fn ceil_days(ms: i64) -> i64 {
    if ms <= 0 {
        0
    } else {
        (ms + DAY_MS - 1) / DAY_MS
    }
}

/// Days of `[start, end)` and days used at `now`, as the formula counts them.
pub fn days(start_ms: i64, end_ms: i64, now_ms: i64) -> (i64, i64) {
    let total = ceil_days(end_ms - start_ms);
    let used = ceil_days(now_ms - start_ms).min(total);
    (total, used)
}

/// The refund of `paid` for the span `[start, end)` unsubscribed at `now`.
pub fn refund_amount(
    paid: Fen,
    start_ms: i64,
    end_ms: i64,
    now_ms: i64,
) -> Result<Fen, MoneyError> {
    let (total, used) = days(start_ms, end_ms, now_ms);
    if total == 0 {
        return Ok(Fen::ZERO);
    }
    paid.mul_div_floor(total - used, total)
}

/// The price of the rest of a span for a new full-span price (change of spec):
/// `⌈full × (total_days − used_days) / total_days⌉`.
pub fn remaining_charge(
    full: Fen,
    start_ms: i64,
    end_ms: i64,
    now_ms: i64,
) -> Result<Fen, MoneyError> {
    let (total, used) = days(start_ms, end_ms, now_ms);
    if total == 0 {
        return Ok(Fen::ZERO);
    }
    let rest = total - used;
    let floor = full.mul_div_floor(rest, total)?;
    let exact = i128::from(full.get()) * i128::from(rest) % i128::from(total) == 0;
    if exact {
        Ok(floor)
    } else {
        floor.checked_add(Fen::new(1)?)
    }
}

/// Splits `refund` (≤ Σ `paid`) over the sources of `paid`.
pub fn split_refund(refund: Fen, paid: &Funding) -> Result<Funding, MoneyError> {
    let total = paid.total()?;
    if refund > total {
        return Err(MoneyError::Overflow);
    }
    if total.is_zero() {
        return Ok(Funding::default());
    }
    let t = total.get();
    let mut out = Funding {
        cash_fen: refund.mul_div_floor(paid.cash_fen.get(), t)?,
        voucher_fen: refund.mul_div_floor(paid.voucher_fen.get(), t)?,
        credit_fen: refund.mul_div_floor(paid.credit_fen.get(), t)?,
    };
    let mut rest = refund.checked_sub(out.total()?)?;
    for (got, cap) in [
        (&mut out.cash_fen, paid.cash_fen),
        (&mut out.voucher_fen, paid.voucher_fen),
        (&mut out.credit_fen, paid.credit_fen),
    ] {
        let room = cap.saturating_sub(*got);
        let add = rest.min(room);
        *got = got.checked_add(add)?;
        rest = rest.checked_sub(add)?;
    }
    Ok(out)
}

/// The shares of a payment: the supplier gets `⌊amount × supplier_bp / 10 000⌋`, the
/// operator the rest.
pub fn shares_of(amount: Fen, supplier_bp: Bp) -> Result<Shares, MoneyError> {
    let supplier = amount.part(supplier_bp);
    Ok(Shares {
        supplier_fen: supplier,
        operator_fen: amount.checked_sub(supplier)?,
    })
}

/// The shares giving back `refund` of a payment of `paid` that was shared `received`.
pub fn refund_shares(refund: Fen, paid: Fen, received: &Shares) -> Result<Shares, MoneyError> {
    if paid.is_zero() {
        return Ok(Shares::default());
    }
    let supplier = refund
        .mul_div_floor(received.supplier_fen.get(), paid.get())?
        .min(received.supplier_fen);
    let operator = refund.checked_sub(supplier)?;
    if operator > received.operator_fen {
        // Cannot happen for refund ≤ paid; refuse rather than go negative.
        return Err(MoneyError::Overflow);
    }
    Ok(Shares {
        supplier_fen: supplier,
        operator_fen: operator,
    })
}

/// Adds two share splits.
pub fn add_shares(a: &Shares, b: &Shares) -> Result<Shares, MoneyError> {
    Ok(Shares {
        supplier_fen: a.supplier_fen.checked_add(b.supplier_fen)?,
        operator_fen: a.operator_fen.checked_add(b.operator_fen)?,
    })
}

/// Subtracts a refund's shares.
pub fn sub_shares(a: &Shares, b: &Shares) -> Result<Shares, MoneyError> {
    Ok(Shares {
        supplier_fen: a.supplier_fen.checked_sub(b.supplier_fen)?,
        operator_fen: a.operator_fen.checked_sub(b.operator_fen)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn f(n: i64) -> Fen {
        Fen::new(n).unwrap_or_else(|_| unreachable!())
    }

    proptest! {
        #[test]
        fn refund_split_never_exceeds_sources(c in 0i64..1_000_000, v in 0i64..1_000_000,
                                              r in 0i64..1_000_000, pct in 0i64..=100) {
            let paid = Funding { cash_fen: f(c), voucher_fen: f(v), credit_fen: f(r) };
            let total = c + v + r;
            let refund = f(total * pct / 100);
            let s = split_refund(refund, &paid).unwrap_or_default();
            prop_assert_eq!(s.total().map(Fen::get), Ok(refund.get()));
            prop_assert!(s.cash_fen <= paid.cash_fen);
            prop_assert!(s.voucher_fen <= paid.voucher_fen);
            prop_assert!(s.credit_fen <= paid.credit_fen);
        }

        #[test]
        fn refund_shares_sum_and_bounds(paid in 1i64..10_000_000, pct in 0i64..=100, bp in 0u32..=10_000) {
            let received = shares_of(f(paid), Bp::new(bp).unwrap_or_default()).unwrap_or_default();
            let refund = f(paid * pct / 100);
            let s = refund_shares(refund, f(paid), &received);
            prop_assert!(s.is_ok());
            let s = s.unwrap_or_default();
            prop_assert_eq!(s.supplier_fen.get() + s.operator_fen.get(), refund.get());
            prop_assert!(s.supplier_fen <= received.supplier_fen);
        }
    }

    #[test]
    fn remaining_charge_rounds_up() {
        let start = 0;
        let end = 30 * DAY_MS;
        assert_eq!(remaining_charge(f(100), start, end, 10 * DAY_MS), Ok(f(67)));
        assert_eq!(
            remaining_charge(f(300), start, end, 10 * DAY_MS),
            Ok(f(200))
        );
        assert_eq!(refund_amount(f(100), start, end, 10 * DAY_MS), Ok(f(66)));
        assert_eq!(refund_amount(f(100), start, end, -5), Ok(f(100)));
        assert_eq!(refund_amount(f(100), start, end, end + 1), Ok(f(0)));
    }
}
