//! Real-name registration data: parsed into newtypes whose constructors enforce the
//! national standards' check digits.

use serde::Serialize;

/// Why a piece of registration data was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// Not 18 characters from the allowed alphabet.
    #[error("must be 18 characters of 0-9 and A-Z (without I, O, S, V, Z)")]
    UsccFormat,
    /// The GB 32100-2015 check character does not match.
    #[error("check character does not match (GB 32100-2015)")]
    UsccCheck,
    /// Not 17 digits followed by a digit or X.
    #[error("must be 17 digits followed by a digit or X")]
    IdFormat,
    /// The birth date is not a real date.
    #[error("birth date is not a valid date")]
    IdBirthDate,
    /// The GB 11643-1999 check character does not match.
    #[error("check character does not match (GB 11643-1999)")]
    IdCheck,
    /// Not a mainland mobile number.
    #[error("must be an 11-digit mainland China mobile number starting with 1[3-9]")]
    Phone,
    /// Empty, too long or contains control characters.
    #[error("must be 1 to {max} characters without control characters")]
    Text {
        /// Longest allowed, in characters.
        max: usize,
    },
}

const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// A unified social credit code (统一社会信用代码, GB 32100-2015).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct CreditCode(String);

impl CreditCode {
    /// Parses and checks `raw` (upper-cased, surrounding whitespace ignored).
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let s = raw.trim().to_ascii_uppercase();
        let bytes = s.as_bytes();
        if bytes.len() != 18 {
            return Err(ValidationError::UsccFormat);
        }
        let mut values = [0u32; 18];
        for (i, b) in bytes.iter().enumerate() {
            let v = USCC_ALPHABET
                .iter()
                .position(|a| a == b)
                .ok_or(ValidationError::UsccFormat)?;
            values[i] = v as u32;
        }
        if uscc_check(&values[..17]) != values[17] {
            return Err(ValidationError::UsccCheck);
        }
        Ok(Self(s))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn uscc_check(first17: &[u32]) -> u32 {
    let sum: u32 = first17.iter().zip(USCC_WEIGHTS).map(|(v, w)| v * w).sum();
    (31 - sum % 31) % 31
}

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// A resident identity card number (公民身份号码, GB 11643-1999). Sensitive: stored
/// encrypted; display it through [`IdNumber::masked`].
#[derive(Clone, PartialEq, Eq)]
pub struct IdNumber(String);

impl std::fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

impl IdNumber {
    /// Parses and checks `raw` (a trailing `x` is accepted as `X`).
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let s = raw.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        if b.len() != 18
            || !b[..17].iter().all(u8::is_ascii_digit)
            || !(b[17].is_ascii_digit() || b[17] == b'X')
        {
            return Err(ValidationError::IdFormat);
        }
        let digit = |i: usize| u32::from(b[i] - b'0');
        let year = (6..10).fold(0, |a, i| a * 10 + digit(i));
        let month = digit(10) * 10 + digit(11);
        let day = digit(12) * 10 + digit(13);
        if !valid_date(year, month, day) || year < 1800 {
            return Err(ValidationError::IdBirthDate);
        }
        let sum: u32 = (0..17).map(|i| digit(i) * ID_WEIGHTS[i]).sum();
        if ID_CHECK[(sum % 11) as usize] != b[17] {
            return Err(ValidationError::IdCheck);
        }
        Ok(Self(s))
    }

    /// The full number. Only for encryption at rest.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// First 3 and last 4 characters, the rest as `*`.
    pub fn masked(&self) -> String {
        let (head, tail) = (&self.0[..3], &self.0[14..]);
        format!("{head}{}{tail}", "*".repeat(11))
    }
}

fn valid_date(y: u32, m: u32, d: u32) -> bool {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// A mainland China mobile number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    /// Parses `raw` (an optional `+86` prefix is dropped).
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let s = raw.trim();
        let s = s.strip_prefix("+86").unwrap_or(s);
        let b = s.as_bytes();
        if b.len() == 11
            && b[0] == b'1'
            && (b'3'..=b'9').contains(&b[1])
            && b.iter().all(u8::is_ascii_digit)
        {
            Ok(Self(s.to_owned()))
        } else {
            Err(ValidationError::Phone)
        }
    }

    /// The number.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Free text of bounded length (company name, legal person, licence reference).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct BoundedText(String);

/// Longest free-text registration field, in characters.
pub const TEXT_CHARS_MAX: usize = 200;

impl BoundedText {
    /// Trims and checks `raw`.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let t = raw.trim();
        let n = t.chars().count();
        if n == 0 || n > TEXT_CHARS_MAX || t.chars().any(char::is_control) {
            return Err(ValidationError::Text {
                max: TEXT_CHARS_MAX,
            });
        }
        Ok(Self(t.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Builds a valid code from 17 characters by appending the check character.
    fn complete_uscc(first17: &str) -> String {
        let vals: Vec<u32> = first17
            .bytes()
            .map(|b| USCC_ALPHABET.iter().position(|a| *a == b).unwrap_or(0) as u32)
            .collect();
        let c = USCC_ALPHABET[uscc_check(&vals) as usize] as char;
        format!("{first17}{c}")
    }

    #[test]
    fn published_credit_codes_verify() {
        // Codes printed on public business licences.
        for code in [
            "91350100M000100Y43",
            "91110000802100433B",
            "91440300708461136T",
        ] {
            assert_eq!(
                CreditCode::parse(code).map(|c| c.0),
                Ok(code.to_owned()),
                "{code}"
            );
        }
    }

    #[test]
    fn credit_code_errors() {
        assert_eq!(
            CreditCode::parse("9135010"),
            Err(ValidationError::UsccFormat)
        );
        assert_eq!(
            CreditCode::parse("91350100M000100Y4I"),
            Err(ValidationError::UsccFormat)
        );
        assert_eq!(
            CreditCode::parse("91350100M000100Y44"),
            Err(ValidationError::UsccCheck)
        );
    }

    #[test]
    fn published_id_number_verifies() {
        // The example number of GB 11643-1999 itself.
        let id = IdNumber::parse("11010519491231002x");
        assert_eq!(id.as_ref().map(|i| i.expose()), Ok("11010519491231002X"));
        assert_eq!(id.map(|i| i.masked()), Ok("110***********002X".to_owned()));
        assert_eq!(
            IdNumber::parse("110105194912310021"),
            Err(ValidationError::IdCheck)
        );
        assert_eq!(
            IdNumber::parse("110105194913310021"),
            Err(ValidationError::IdBirthDate)
        );
        assert_eq!(
            IdNumber::parse("11010519491231002"),
            Err(ValidationError::IdFormat)
        );
    }

    #[test]
    fn id_number_debug_is_masked() {
        let id = IdNumber::parse("11010519491231002X").unwrap_or_else(|_| unreachable!());
        assert!(!format!("{id:?}").contains("19491231"));
    }

    #[test]
    fn phones() {
        assert!(Phone::parse("+8613800138000").is_ok());
        assert!(Phone::parse("12800138000").is_err());
        assert!(Phone::parse("1380013800").is_err());
    }

    proptest! {
        #[test]
        fn any_single_character_change_is_caught(
            body in "[0-9A-HJ-NP-RTUWXY]{17}",
            pos in 0usize..18,
            replacement in 0usize..31,
        ) {
            let good = complete_uscc(&body);
            prop_assert!(CreditCode::parse(&good).is_ok());
            let mut bytes = good.into_bytes();
            let new = USCC_ALPHABET[replacement];
            prop_assume!(bytes[pos] != new);
            bytes[pos] = new;
            let bad = String::from_utf8(bytes).unwrap_or_default();
            prop_assert!(CreditCode::parse(&bad).is_err());
        }
    }
}
