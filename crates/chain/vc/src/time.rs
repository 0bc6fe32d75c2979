//! XML Schema `dateTime` ↔ Unix milliseconds, without reading a clock.
//!
//! Hand-rolled rather than the `time` crate: the conversion is two short, well-known
//! functions (H. Hinnant's `days_from_civil` / `civil_from_days`, exact for the proleptic
//! Gregorian calendar), the accepted grammar is narrow and we want it exact, and it keeps
//! the dependency set small.
//!
//! Accepted: `YYYY-MM-DDThh:mm:ss[.f+](Z|±hh:mm)` with a four-digit year from 1970 to 9999.
//! A time-zone designator is required (VC Data Model 2.0 asks for one; without it the
//! instant is ambiguous). Fractions finer than a millisecond are truncated. Leap seconds
//! (`:60`) and the XSD 1.1 `24:00:00` are rejected. Formatting writes UTC with `Z`, and
//! `.mmm` only when the milliseconds are not zero.

use crate::VcError;

/// The last representable instant: 9999-12-31T23:59:59.999Z, in ms.
pub const TIME_MS_MAX: u64 = 253_402_300_799_999;

const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day number since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Parses an XML Schema `dateTime` with a time zone into Unix milliseconds.
pub fn parse_datetime_ms(s: &str) -> Result<u64, VcError> {
    let err = |why: &'static str| VcError::InvalidDateTime(s.chars().take(64).collect(), why);
    let b = s.as_bytes();
    if b.len() < 20 || b.len() > 64 {
        return Err(err("wrong length"));
    }
    let num = |range: std::ops::Range<usize>| -> Result<u32, VcError> {
        let digits = &b[range];
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(err("expected digits"));
        }
        Ok(digits
            .iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')))
    };
    if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return Err(err("expected YYYY-MM-DDThh:mm:ss"));
    }
    let year = i64::from(num(0..4)?);
    let (month, day) = (num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if year < 1970 {
        return Err(err("years before 1970 are not supported"));
    }
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(err("no such date"));
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(err("no such time of day"));
    }
    let mut i = 19;
    let mut millis = 0u32;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 3 {
                millis = millis * 10 + u32::from(b[i] - b'0');
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return Err(err("empty fraction"));
        }
        for _ in n..3 {
            millis *= 10;
        }
    }
    let offset_minutes: i64 = match &b[i..] {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if oh > 14 || om > 59 || (oh == 14 && om != 0) {
                return Err(err("time-zone offset out of range"));
            }
            let m = i64::from(oh * 60 + om);
            if *sign == b'-' { -m } else { m }
        }
        _ => return Err(err("a time zone (Z or ±hh:mm) is required")),
    };
    let days = days_from_civil(year, month, day);
    let ms = days * MS_PER_DAY
        + i64::from(hour) * 3_600_000
        + i64::from(minute) * 60_000
        + i64::from(second) * 1000
        + i64::from(millis)
        - offset_minutes * 60_000;
    u64::try_from(ms)
        .ok()
        .filter(|ms| *ms <= TIME_MS_MAX)
        .ok_or_else(|| err("outside 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z"))
}

/// Formats Unix milliseconds as `YYYY-MM-DDThh:mm:ss[.mmm]Z`.
pub fn format_datetime_ms(ms: u64) -> Result<String, VcError> {
    if ms > TIME_MS_MAX {
        return Err(VcError::TimeOutOfRange(ms));
    }
    let ms = ms as i64; // ≤ TIME_MS_MAX < i64::MAX
    let (days, rem) = (ms.div_euclid(MS_PER_DAY), ms.rem_euclid(MS_PER_DAY));
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss, frac) = (
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    );
    Ok(if frac == 0 {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{frac:03}Z")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        for (s, ms) in [
            ("1970-01-01T00:00:00Z", 0),
            ("2023-02-24T23:36:38Z", 1_677_281_798_000),
            ("2024-01-01T00:00:00Z", 1_704_067_200_000),
            ("2000-02-29T12:00:00.5Z", 951_825_600_500),
            ("2024-01-01T08:00:00+08:00", 1_704_067_200_000),
            ("2023-12-31T19:00:00-05:00", 1_704_067_200_000),
            ("2024-01-01T00:00:00.123456789Z", 1_704_067_200_123),
            ("9999-12-31T23:59:59.999Z", TIME_MS_MAX),
        ] {
            assert_eq!(parse_datetime_ms(s).unwrap(), ms, "{s}");
        }
    }

    #[test]
    fn format_round_trips() {
        assert_eq!(format_datetime_ms(0).unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_datetime_ms(951_825_600_500).unwrap(),
            "2000-02-29T12:00:00.500Z"
        );
        assert!(format_datetime_ms(TIME_MS_MAX + 1).is_err());
        let mut ms = 0u64;
        while ms < TIME_MS_MAX {
            let s = format_datetime_ms(ms).unwrap();
            assert_eq!(parse_datetime_ms(&s).unwrap(), ms, "{s}");
            ms = ms * 3 + 86_399_999 + 7;
        }
        // Every day boundary over four centuries round-trips through the civil functions.
        for day in (0..146_097 * 2).step_by(13) {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
    }

    #[test]
    fn rejects_bad_input() {
        for s in [
            "",
            "2024-01-01",
            "2024-01-01T00:00:00",
            "2024-01-01 00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T23:59:60Z",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00+1:00",
            "2024-01-01T00:00:00+15:00",
            "1969-12-31T23:59:59Z",
            "1970-01-01T00:00:00+00:01",
            "+2024-01-01T00:00:00Z",
            "2024-01-01T00:00:00z",
            "２０２４-01-01T00:00:00Z",
        ] {
            assert!(
                matches!(parse_datetime_ms(s), Err(VcError::InvalidDateTime(..))),
                "{s:?}"
            );
        }
    }
}
