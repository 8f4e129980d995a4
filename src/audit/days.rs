//! The days of a range, as the audit keys and reports name them (day arithmetic itself is
//! `crate::time`).

/// Most days [`days_in_range`] will list (a little over the 395-day retention maximum).
pub const MAX_RANGE_DAYS: u64 = 400;

use crate::time::DAY_MS;
pub use crate::time::{day_start_millis, parse_day, utc_day as day_from_millis};

/// Every UTC day from the day of `from_ms` to the day of `to_ms` inclusive, at most
/// [`MAX_RANGE_DAYS`] (the glue lists one R2 prefix per day).
pub fn days_in_range(from_ms: u64, to_ms: u64) -> Vec<String> {
    if to_ms < from_ms {
        return Vec::new();
    }
    let first = from_ms / DAY_MS;
    let last = (to_ms / DAY_MS).min(first + MAX_RANGE_DAYS - 1);
    (first..=last)
        .map(|d| day_from_millis(d * DAY_MS))
        .collect()
}
