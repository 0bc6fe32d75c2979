//! The calendar that terms and bills are counted in: China Standard Time (UTC+8, no
//! daylight saving), on milliseconds since the Unix epoch as `i64`. Pure integer
//! arithmetic.

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
