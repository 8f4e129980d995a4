//! UTC days (proleptic Gregorian, no chrono): the day of a time, a day's start, and the days
//! of a range, as the audit keys and reports name them.

/// Most days [`days_in_range`] will list (a little over the 395-day retention maximum).
pub const MAX_RANGE_DAYS: u64 = 400;

const MS_PER_DAY: u64 = 86_400_000;

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
pub fn day_from_millis(ms: u64) -> String {
    let (y, m, d) = civil_from_days((ms / MS_PER_DAY) as i64);
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
    parse_day(day).map(|d| d * MS_PER_DAY)
}

/// Every UTC day from the day of `from_ms` to the day of `to_ms` inclusive, at most
/// [`MAX_RANGE_DAYS`] (the glue lists one R2 prefix per day).
pub fn days_in_range(from_ms: u64, to_ms: u64) -> Vec<String> {
    if to_ms < from_ms {
        return Vec::new();
    }
    let first = from_ms / MS_PER_DAY;
    let last = (to_ms / MS_PER_DAY).min(first + MAX_RANGE_DAYS - 1);
    (first..=last)
        .map(|d| day_from_millis(d * MS_PER_DAY))
        .collect()
}
