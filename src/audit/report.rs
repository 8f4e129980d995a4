//! Counting records: the per-day report (decisions by outcome and reason, other kinds by
//! kind), merging day reports from several rollups, and selecting records by time.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::records::{AuditRecord, Kind, Outcome};

/// Records with `from_ms <= at < to_ms`, sorted by time, then project, chain and seq.
pub fn in_range<'a>(
    records: impl IntoIterator<Item = &'a AuditRecord>,
    from_ms: u64,
    to_ms: u64,
) -> Vec<&'a AuditRecord> {
    let mut v: Vec<&AuditRecord> = records
        .into_iter()
        .filter(|r| r.at >= from_ms && r.at < to_ms)
        .collect();
    v.sort_by(|a, b| {
        (a.at, &a.project, &a.session, a.seq).cmp(&(b.at, &b.project, &b.session, b.seq))
    });
    v
}

/// Counts for one reason on one day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub stored: u64,
    pub dropped: u64,
}

/// One UTC day of the report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayReport {
    pub day: String,
    /// Decision records by outcome.
    pub stored: u64,
    pub dropped: u64,
    /// Decision records by reason code, split by outcome.
    pub reasons: BTreeMap<String, Counts>,
    /// Other record kinds (`erasure`, `finalize`, `anchor`) by kind.
    pub other: BTreeMap<String, u64>,
}

/// Counts of audit records per UTC day: decisions by outcome and reason, other kinds by
/// kind. Days ascending.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub days: Vec<DayReport>,
}

pub fn daily_report<'a>(records: impl IntoIterator<Item = &'a AuditRecord>) -> Report {
    let mut days: BTreeMap<String, DayReport> = BTreeMap::new();
    for r in records {
        let day = r.day();
        let d = days.entry(day.clone()).or_insert_with(|| DayReport {
            day,
            ..DayReport::default()
        });
        match (r.kind, r.decision) {
            (Kind::Decision, Some(outcome)) => {
                let c = d
                    .reasons
                    .entry(r.reason.clone().unwrap_or_else(|| "unknown".into()))
                    .or_default();
                match outcome {
                    Outcome::Stored => {
                        d.stored += 1;
                        c.stored += 1;
                    }
                    Outcome::Dropped => {
                        d.dropped += 1;
                        c.dropped += 1;
                    }
                }
            }
            (kind, _) => *d.other.entry(kind.as_str().to_string()).or_default() += 1,
        }
    }
    Report {
        days: days.into_values().collect(),
    }
}

/// Add `b`'s counts into `a` (same day).
fn add_day(a: &mut DayReport, b: &DayReport) {
    a.stored += b.stored;
    a.dropped += b.dropped;
    for (k, c) in &b.reasons {
        let e = a.reasons.entry(k.clone()).or_default();
        e.stored += c.stored;
        e.dropped += c.dropped;
    }
    for (k, n) in &b.other {
        *a.other.entry(k.clone()).or_default() += n;
    }
}

/// Merge day reports (from several rollups) into one list per day, keeping days in
/// `[first_day, last_day]`, ascending.
pub fn merge_reports<'a>(
    parts: impl IntoIterator<Item = &'a DayReport>,
    first_day: &str,
    last_day: &str,
) -> Vec<DayReport> {
    let mut by_day: BTreeMap<String, DayReport> = BTreeMap::new();
    for d in parts {
        if d.day.as_str() < first_day || d.day.as_str() > last_day {
            continue;
        }
        let e = by_day.entry(d.day.clone()).or_insert_with(|| DayReport {
            day: d.day.clone(),
            ..DayReport::default()
        });
        add_day(e, d);
    }
    by_day.into_values().collect()
}
