//! UTC days without a calendar crate: the one definition of a day's length and of the
//! `yyyy-mm-dd` names that R2 index and audit prefixes use (proleptic Gregorian).

/// One day in milliseconds.
pub const DAY_MS: u64 = 86_400_000;

/// Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `yyyy-mm-dd` (UTC) of a time in ms since the epoch.
pub fn utc_day(ms: u64) -> String {
    let (y, m, d) = civil_from_days((ms / DAY_MS) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since the epoch of a `yyyy-mm-dd` date; `None` unless it is a real date ≥ 1970.
pub fn parse_day(day: &str) -> Option<u64> {
    let b = day.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |s: &str| -> Option<u32> {
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (y, m, d) = (num(&day[0..4])?, num(&day[5..7])?, num(&day[8..10])?);
    if !(1..=12).contains(&m) || d == 0 || d > 31 {
        return None;
    }
    let days = days_from_civil(i64::from(y), m, d);
    // Reject 2026-02-30 and friends: the round trip must give the same date.
    if days < 0 || civil_from_days(days) != (i64::from(y), m, d) {
        return None;
    }
    Some(days as u64)
}

/// Start of a UTC day in ms since the epoch.
pub fn day_start_millis(day: &str) -> Option<u64> {
    parse_day(day).map(|d| d * DAY_MS)
}

/// Start of the UTC day that holds `ms`.
pub fn floor_day(ms: u64) -> u64 {
    ms - ms % DAY_MS
}

/// The start of every UTC day from the day of `from_ms` to the day of `to_ms` inclusive, as a
/// range of day numbers: a loop over it cannot overflow or wrap, whatever the bounds (a day
/// loop stepping `ms += DAY_MS` up to `u64::MAX` never ends).
pub fn day_starts(from_ms: u64, to_ms: u64) -> impl Iterator<Item = u64> {
    (from_ms / DAY_MS..=to_ms / DAY_MS).map(|d| d * DAY_MS)
}

/// `days` whole days in ms (saturating: a retention of `u32::MAX` days is not an overflow).
pub fn days_ms(days: u64) -> u64 {
    days.saturating_mul(DAY_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_days() {
        assert_eq!(utc_day(0), "1970-01-01");
        assert_eq!(utc_day(951_782_400_000), "2000-02-29");
        assert_eq!(utc_day(1_795_392_000_000 - 1), "2026-11-22");
        assert_eq!(utc_day(1_795_392_000_000), "2026-11-23");
    }

    #[test]
    fn days_parse_back() {
        assert_eq!(day_start_millis("2026-11-23"), Some(1_795_392_000_000));
        assert_eq!(parse_day("1970-01-01"), Some(0));
        for bad in [
            "2026-02-30",
            "1969-12-31",
            "2026-13-01",
            "2026-1-01",
            "20x6-01-01",
        ] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
        for d in [0u64, 59, 11_016, 20_415, 40_000] {
            assert_eq!(parse_day(&utc_day(d * DAY_MS)), Some(d));
        }
        assert_eq!(floor_day(1_795_392_000_000 + 5), 1_795_392_000_000);
        assert_eq!(days_ms(2), 172_800_000);
    }

    #[test]
    fn day_starts_end_at_the_last_day_without_wrapping() {
        let d0 = 1_795_392_000_000;
        assert_eq!(
            day_starts(d0 + 5, d0 + DAY_MS).collect::<Vec<_>>(),
            [d0, d0 + DAY_MS]
        );
        assert_eq!(day_starts(d0 + DAY_MS, d0).count(), 0);
        let last = day_starts(u64::MAX - DAY_MS, u64::MAX).last().unwrap();
        assert_eq!(last, floor_day(u64::MAX));
        assert_eq!(day_starts(u64::MAX - DAY_MS, u64::MAX).count(), 2);
    }
}
