//! Money: the one money type of suanli, integer fen ([`Fen`], never negative), a strictly
//! positive amount ([`PositiveFen`]) where a rule needs one, and basis points ([`Bp`]).
//! The chain and the platform use these alike. No floating point anywhere; signed
//! movements are two amounts (from, to), never a negative `Fen`.

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
    /// A [`PositiveFen`] of zero or less.
    #[error("amount must be a positive number of fen")]
    NotPositive,
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

/// A strictly positive amount of fen (a transfer, a mint, a deposit: zero is refused).
/// Encodes as its number of fen, like [`Fen`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct PositiveFen(Fen);

impl PositiveFen {
    /// One fen, the smallest amount.
    pub const MIN: PositiveFen = PositiveFen(Fen(1));

    /// `raw` fen; refused unless above zero.
    pub fn new(raw: i64) -> Result<Self, MoneyError> {
        if raw <= 0 {
            return Err(MoneyError::NotPositive);
        }
        Ok(PositiveFen(Fen(raw)))
    }

    /// The raw number of fen.
    pub fn get(self) -> i64 {
        self.0.0
    }

    /// The amount as a [`Fen`].
    pub fn fen(self) -> Fen {
        self.0
    }
}

impl TryFrom<Fen> for PositiveFen {
    type Error = MoneyError;
    fn try_from(v: Fen) -> Result<Self, Self::Error> {
        PositiveFen::new(v.get())
    }
}

impl TryFrom<i64> for PositiveFen {
    type Error = MoneyError;
    fn try_from(v: i64) -> Result<Self, Self::Error> {
        PositiveFen::new(v)
    }
}

impl From<PositiveFen> for i64 {
    fn from(a: PositiveFen) -> i64 {
        a.get()
    }
}

impl From<PositiveFen> for Fen {
    fn from(a: PositiveFen) -> Fen {
        a.0
    }
}

impl std::fmt::Display for PositiveFen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn positive_fen_refuses_zero() {
        assert_eq!(PositiveFen::new(0), Err(MoneyError::NotPositive));
        assert_eq!(PositiveFen::new(-5), Err(MoneyError::NotPositive));
        assert_eq!(PositiveFen::new(7).map(PositiveFen::get), Ok(7));
        assert!(serde_json::from_str::<PositiveFen>("0").is_err());
        assert_eq!(
            serde_json::to_string(&PositiveFen::MIN).ok().as_deref(),
            Some("1")
        );
    }
}
