//! What a trade costs: the rounding rule, the minimum charge and the escrow a trade needs.
//! Pure integer arithmetic in fen; every function is total (overflow is an error).
//!
//! The rules (also in `docs/trade.md`):
//! - a trade is billed by the minute at `rate = price_fen_per_minute × quantity`;
//! - a check-in period is a whole number of minutes (its bounds are minutes after the
//!   contract start); the tail settled at close is rounded **up** to whole minutes — a
//!   started minute is a billed minute, as in per-minute cloud billing;
//! - `minCost` is the trade's flag-fall (起步价): the cumulative charge after any
//!   settlement is `max(billed_minutes × rate, min_cost)`, and each settlement charges the
//!   difference to what was charged before. So the first settlement charges at least
//!   `min_cost` and later ones nothing until the minutes have caught up with it;
//! - a close for `supplier_fault` the supplier admits settles no tail and no minimum
//!   charge; one the consumer claims settles the time used without the minimum charge.

use suanli_primitives::Fen;

use crate::model::MINUTE_MS;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the amount overflows the fen range")]
pub struct Overflow;

/// The trade's rate per minute, in fen.
pub fn rate_fen_per_minute(price_fen_per_minute: Fen, quantity: u32) -> Result<Fen, Overflow> {
    price_fen_per_minute
        .checked_mul(u64::from(quantity))
        .map_err(|_| Overflow)
}

/// Whole minutes in `[start_ms, end_ms)`, a started minute counting as one.
pub fn minutes_ceil(start_ms: u64, end_ms: u64) -> u64 {
    end_ms.saturating_sub(start_ms).div_ceil(MINUTE_MS)
}

/// The cumulative charge after `minutes` billed minutes.
pub fn cumulative_charge(minutes: u64, rate: Fen, min_cost: Fen) -> Result<Fen, Overflow> {
    let by_time = rate.checked_mul(minutes).map_err(|_| Overflow)?;
    Ok(by_time.max(min_cost))
}

/// What settling `minutes` more costs, given what was billed and charged before.
pub fn settlement_cost(
    billed_minutes: u64,
    charged_fen: Fen,
    minutes: u64,
    rate: Fen,
    min_cost: Fen,
) -> Result<Fen, Overflow> {
    let total = billed_minutes.checked_add(minutes).ok_or(Overflow)?;
    let after = cumulative_charge(total, rate, min_cost)?;
    Ok(after.saturating_sub(charged_fen))
}

/// The least escrow an order must bring: the cost of its first period (capped at the
/// contract's length), including the minimum charge.
pub fn first_period_cost(
    period_minutes: u64,
    duration_minutes: u64,
    rate: Fen,
    min_cost: Fen,
) -> Result<Fen, Overflow> {
    cumulative_charge(period_minutes.min(duration_minutes), rate, min_cost)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(raw: i64) -> Fen {
        Fen::new(raw).unwrap()
    }

    #[test]
    fn a_started_minute_is_billed() {
        assert_eq!(minutes_ceil(0, 0), 0);
        assert_eq!(minutes_ceil(0, 1), 1);
        assert_eq!(minutes_ceil(0, 60_000), 1);
        assert_eq!(minutes_ceil(0, 60_001), 2);
        assert_eq!(minutes_ceil(10, 5), 0);
    }

    #[test]
    fn the_minimum_charge_is_a_flag_fall() {
        // rate 10 fen/min, min cost 500 fen.
        assert_eq!(settlement_cost(0, f(0), 30, f(10), f(500)), Ok(f(500)));
        assert_eq!(settlement_cost(30, f(500), 30, f(10), f(500)), Ok(f(100)));
        assert_eq!(settlement_cost(60, f(600), 30, f(10), f(500)), Ok(f(300)));
        // Without a minimum charge it is pure time.
        assert_eq!(settlement_cost(0, f(0), 30, f(10), f(0)), Ok(f(300)));
        // Zero minutes at the start still costs the flag-fall.
        assert_eq!(settlement_cost(0, f(0), 0, f(10), f(500)), Ok(f(500)));
    }

    #[test]
    fn the_charges_of_any_split_sum_to_the_charge_of_the_whole() {
        for splits in [vec![1, 1, 1], vec![50, 7, 3], vec![0, 60], vec![13, 0, 47]] {
            let (mut billed, mut charged) = (0u64, Fen::ZERO);
            for m in &splits {
                let cost = settlement_cost(billed, charged, *m, f(7), f(200)).unwrap();
                charged = charged.checked_add(cost).unwrap();
                billed += m;
            }
            assert_eq!(charged, cumulative_charge(billed, f(7), f(200)).unwrap());
        }
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        assert_eq!(rate_fen_per_minute(f(i64::MAX), 2), Err(Overflow));
        assert_eq!(cumulative_charge(u64::MAX, f(1), f(0)), Err(Overflow));
    }

    #[test]
    fn the_first_period_is_capped_by_the_contract() {
        assert_eq!(first_period_cost(60, 30, f(10), f(0)), Ok(f(300)));
        assert_eq!(first_period_cost(60, 120, f(10), f(0)), Ok(f(600)));
        assert_eq!(first_period_cost(60, 120, f(10), f(1000)), Ok(f(1000)));
    }
}
