//! Money in integer fen (分). Never floating point.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An amount of money in fen (1 yuan = 100 fen). May be negative only where a ledger
/// movement needs a sign; balances use [`Fen::non_negative`] to enforce their invariant.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fen(i64);

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum MoneyError {
    #[error("amount overflows the 64-bit fen range")]
    Overflow,
    #[error("amount must not be negative, got {0} fen")]
    Negative(i64),
}

impl Fen {
    pub const ZERO: Fen = Fen(0);

    pub const fn new(fen: i64) -> Self {
        Fen(fen)
    }

    /// An amount that must be zero or more (a balance, a price, a transfer).
    pub fn non_negative(fen: i64) -> Result<Self, MoneyError> {
        if fen < 0 {
            return Err(MoneyError::Negative(fen));
        }
        Ok(Fen(fen))
    }

    pub const fn get(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Fen) -> Result<Fen, MoneyError> {
        self.0
            .checked_add(other.0)
            .map(Fen)
            .ok_or(MoneyError::Overflow)
    }

    pub fn checked_sub(self, other: Fen) -> Result<Fen, MoneyError> {
        self.0
            .checked_sub(other.0)
            .map(Fen)
            .ok_or(MoneyError::Overflow)
    }
}

impl fmt::Debug for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} fen", self.0)
    }
}

/// Displays as yuan with two decimals, e.g. `¥12.05`, computed with integers only.
impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}¥{}.{:02}", abs / 100, abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_exact_yuan() {
        assert_eq!(Fen::new(1205).to_string(), "¥12.05");
        assert_eq!(Fen::new(-7).to_string(), "-¥0.07");
        assert_eq!(Fen::new(i64::MIN).to_string(), "-¥92233720368547758.08");
    }

    #[test]
    fn checked_arithmetic() {
        assert_eq!(
            Fen::new(i64::MAX).checked_add(Fen::new(1)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(Fen::non_negative(-1), Err(MoneyError::Negative(-1)));
        assert_eq!(Fen::new(5).checked_sub(Fen::new(7)), Ok(Fen::new(-2)));
    }
}
