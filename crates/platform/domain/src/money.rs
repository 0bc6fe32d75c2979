//! Money and time arithmetic of the platform's books: integer fen ([`Fen`]), basis points
//! ([`Bp`]) and the calendar (China Standard Time, UTC+8, no daylight saving) that terms
//! and bills are counted in. No floating point anywhere.

use serde::{Deserialize, Serialize};

/// Why an amount was refused or an operation overflowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Amounts are never negative.
    #[error("amount must not be negative")]
    Negative,
    /// The result does not fit in 63 bits of fen.
    #[error("amount overflows")]
    Overflow,
    /// Basis points above 10 000 (100 %).
    #[error("basis points must be between 0 and 10000")]
    Bp,
}

/// A non-negative amount of money in fen (1 yuan = 100 fen).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(try_from = "i64", into = "i64")]
pub struct Fen(i64);

/// The largest amount the platform accepts in a single request: 10^12 fen (10 billion yuan).
pub const FEN_PER_REQUEST_MAX: i64 = 1_000_000_000_000;

impl Fen {
    /// Zero.
    pub const ZERO: Fen = Fen(0);

    /// `raw` fen; refused when negative.
    pub fn new(raw: i64) -> Result<Self, MoneyError> {
        if raw < 0 {
            Err(MoneyError::Negative)
        } else {
            Ok(Fen(raw))
        }
    }

    /// The raw number of fen.
    pub fn get(self) -> i64 {
        self.0
    }

    /// Whether it is zero.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `self + o`.
    pub fn checked_add(self, o: Fen) -> Result<Fen, MoneyError> {
        self.0.checked_add(o.0).map(Fen).ok_or(MoneyError::Overflow)
    }

    /// `self - o`; refused when it would be negative.
    pub fn checked_sub(self, o: Fen) -> Result<Fen, MoneyError> {
        Fen::new(self.0.checked_sub(o.0).ok_or(MoneyError::Overflow)?)
    }

    /// `self - o`, or zero.
    pub fn saturating_sub(self, o: Fen) -> Fen {
        Fen((self.0 - o.0).max(0))
    }

    /// `self × n`.
    pub fn checked_mul(self, n: u64) -> Result<Fen, MoneyError> {
        let n = i64::try_from(n).map_err(|_| MoneyError::Overflow)?;
        self.0.checked_mul(n).map(Fen).ok_or(MoneyError::Overflow)
    }

    /// `⌊self × num / den⌋`, computed in 128 bits. `den` must be positive.
    pub fn mul_div_floor(self, num: i64, den: i64) -> Result<Fen, MoneyError> {
        if den <= 0 || num < 0 {
            return Err(MoneyError::Overflow);
        }
        let v = i128::from(self.0) * i128::from(num) / i128::from(den);
        i64::try_from(v).map(Fen).map_err(|_| MoneyError::Overflow)
    }

    /// The part `bp` of this amount, rounded down: `⌊self × bp / 10 000⌋`.
    pub fn part(self, bp: Bp) -> Fen {
        // bp ≤ 10 000, so the result is ≤ self and cannot overflow.
        Fen((i128::from(self.0) * i128::from(bp.0) / 10_000) as i64)
    }

    /// The smaller of two amounts.
    pub fn min(self, o: Fen) -> Fen {
        if self <= o { self } else { o }
    }

    /// Sum of amounts.
    pub fn sum(items: impl IntoIterator<Item = Fen>) -> Result<Fen, MoneyError> {
        items.into_iter().try_fold(Fen::ZERO, Fen::checked_add)
    }
}

impl TryFrom<i64> for Fen {
    type Error = MoneyError;
    fn try_from(v: i64) -> Result<Self, Self::Error> {
        Fen::new(v)
    }
}

impl From<Fen> for i64 {
    fn from(f: Fen) -> i64 {
        f.0
    }
}

impl std::fmt::Display for Fen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// Basis points, 0 ..= 10 000 (0 % ..= 100 %). Discount rates are basis points *off*.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(try_from = "u32", into = "u32")]
pub struct Bp(u16);

impl Bp {
    /// Nothing off.
    pub const ZERO: Bp = Bp(0);

    /// `raw` basis points; refused above 10 000.
    pub fn new(raw: u32) -> Result<Self, MoneyError> {
        u16::try_from(raw)
            .ok()
            .filter(|v| *v <= 10_000)
            .map(Bp)
            .ok_or(MoneyError::Bp)
    }

    /// The raw value.
    pub fn get(self) -> u32 {
        u32::from(self.0)
    }
}

impl TryFrom<u32> for Bp {
    type Error = MoneyError;
    fn try_from(v: u32) -> Result<Self, Self::Error> {
        Bp::new(v)
    }
}

impl From<Bp> for u32 {
    fn from(b: Bp) -> u32 {
        u32::from(b.0)
    }
}

/// Milliseconds per day.
pub const DAY_MS: i64 = 86_400_000;
/// Offset of China Standard Time from UTC, in milliseconds. Calendar months, days and bill
/// periods are counted in CST.
pub const CST_OFFSET_MS: i64 = 8 * 3_600_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (inverse of [`days_from_civil`]).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Whether `y` is a leap year.
pub fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Days in month `m` of year `y`.
pub fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The instant `months` calendar months after `at_ms` (CST), same time of day; the day
/// of month is clamped to the target month's length (Jan 31 + 1 month = Feb 28, or
/// Feb 29 in a leap year).
pub fn add_months(at_ms: i64, months: u32) -> i64 {
    let local = at_ms + CST_OFFSET_MS;
    let day = local.div_euclid(DAY_MS);
    let time = local.rem_euclid(DAY_MS);
    let (y, m, d) = civil_from_days(day);
    let total = y * 12 + i64::from(m) - 1 + i64::from(months);
    let (ny, nm) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u32);
    let nd = d.min(days_in_month(ny, nm));
    days_from_civil(ny, nm, nd) * DAY_MS + time - CST_OFFSET_MS
}

/// The instant of local (CST) midnight starting `y-m-d`.
pub fn cst_midnight(y: i64, m: u32, d: u32) -> i64 {
    days_from_civil(y, m, d) * DAY_MS - CST_OFFSET_MS
}

/// The instant of local (CST) midnight starting the day that contains `at_ms`.
pub fn cst_day_start(at_ms: i64) -> i64 {
    (at_ms + CST_OFFSET_MS).div_euclid(DAY_MS) * DAY_MS - CST_OFFSET_MS
}

/// The first instant of the calendar month (CST) containing `at_ms`, as (year, month).
pub fn cst_month_of(at_ms: i64) -> (i64, u32) {
    let (y, m, _) = civil_from_days((at_ms + CST_OFFSET_MS).div_euclid(DAY_MS));
    (y, m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cst_day_starts_at_local_midnight() {
        let midnight = cst_midnight(2025, 1, 15);
        assert_eq!(cst_day_start(midnight), midnight);
        assert_eq!(cst_day_start(midnight + DAY_MS - 1), midnight);
        assert_eq!(cst_day_start(midnight - 1), midnight - DAY_MS);
    }

    #[test]
    fn fen_refuses_negative_and_overflow() {
        assert_eq!(Fen::new(-1), Err(MoneyError::Negative));
        assert_eq!(
            Fen::new(5).and_then(|f| f.checked_sub(Fen(6))),
            Err(MoneyError::Negative)
        );
        assert_eq!(Fen(i64::MAX).checked_add(Fen(1)), Err(MoneyError::Overflow));
        assert_eq!(Fen(1001).part(Bp(5000)), Fen(500));
        assert_eq!(Fen(12345).to_string(), "123.45");
        assert!(serde_json::from_str::<Fen>("-3").is_err());
        assert!(Bp::new(10_001).is_err());
    }

    #[test]
    fn calendar_round_trips_and_clamps_month_ends() {
        for z in [-800_000, -1, 0, 1, 19_000, 20_000, 2_000_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        let jan31 = cst_midnight(2025, 1, 31) + 3_600_000;
        assert_eq!(add_months(jan31, 1), cst_midnight(2025, 2, 28) + 3_600_000);
        let jan31_leap = cst_midnight(2024, 1, 31);
        assert_eq!(add_months(jan31_leap, 1), cst_midnight(2024, 2, 29));
        assert_eq!(add_months(jan31_leap, 2), cst_midnight(2024, 3, 31));
        assert_eq!(
            add_months(cst_midnight(2024, 2, 29), 12),
            cst_midnight(2025, 2, 28)
        );
        assert_eq!(
            add_months(cst_midnight(2023, 12, 15), 1),
            cst_midnight(2024, 1, 15)
        );
        assert_eq!(cst_month_of(cst_midnight(2024, 3, 1)), (2024, 3));
        assert_eq!(cst_month_of(cst_midnight(2024, 3, 1) - 1), (2024, 2));
    }
}
