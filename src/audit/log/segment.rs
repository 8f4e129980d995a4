//! What a log writes to R2: segments (a header line, then record lines) and day rollups, how
//! a segment is read back, the list cursor that points into one, and which segment days a
//! time range reads.

use serde::{Deserialize, Serialize};

use crate::audit::days::{day_from_millis, parse_day};
use crate::audit::keys::{segment_key, LOG_SHARDS};
use crate::audit::report::DayReport;

/// Stored layout version (segments and rollups); records inside stay [`RECORD_VERSION`](crate::audit::RECORD_VERSION).
pub const FORMAT_VERSION: u32 = 2;

/// Records per segment: a list page of 1,000 reads ~8 segments; verifying 10,000 records ~79.
/// The open segment is rewritten whole on each append (its lines are kept in R2 only; the
/// log object stores a small [`LogHead`](super::LogHead)).
pub const SEGMENT_RECORDS: usize = 128;

/// First line of a segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentHeader {
    pub v: u32,
    pub project: String,
    pub shard: u32,
    pub day: String,
    pub n: u64,
    /// Log head before this segment's first record.
    pub prev: String,
    /// Log head after its last record.
    pub head: String,
    pub records: u64,
}

/// A day rollup of one log: what `report` reads, and what `verify` checks segments against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rollup {
    pub v: u32,
    pub project: String,
    pub shard: u32,
    /// The segment day (a record sealed just before midnight may land in the next day's
    /// segment; `days` counts it under its own day).
    pub day: String,
    pub segments: u64,
    pub records: u64,
    /// Log head after the day's last record so far.
    pub head: String,
    /// Counts of this day's segments' records, by record day.
    pub days: Vec<DayReport>,
}

/// Parse a segment: its header and its record lines (unparsed).
pub fn split_segment(text: &str) -> Result<(SegmentHeader, Vec<&str>), String> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: SegmentHeader = serde_json::from_str(lines.next().ok_or("empty segment")?)
        .map_err(|e| format!("segment header: {e}"))?;
    if header.v != FORMAT_VERSION {
        return Err(format!("unsupported segment version {}", header.v));
    }
    Ok((header, lines.collect()))
}

/// A list cursor: the segment to continue in and the record line to start at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub day: String,
    pub shard: u32,
    pub n: u64,
    pub line: u64,
}

impl Cursor {
    /// `{day}.{shard}.{n}.{line}` (URL-safe as it is).
    pub fn encode(&self) -> String {
        format!("{}.{}.{}.{}", self.day, self.shard, self.n, self.line)
    }

    pub fn decode(s: &str) -> Option<Cursor> {
        let parts: Vec<&str> = s.split('.').collect();
        let [day, shard, n, line] = parts.as_slice() else {
            return None;
        };
        parse_day(day)?;
        let digits =
            |v: &str| !v.is_empty() && v.len() <= 12 && v.bytes().all(|b| b.is_ascii_digit());
        if !(digits(shard) && digits(n) && digits(line)) {
            return None;
        }
        Some(Cursor {
            day: day.to_string(),
            shard: shard.parse().ok().filter(|s| *s < LOG_SHARDS)?,
            n: n.parse().ok()?,
            line: line.parse().ok()?,
        })
    }

    pub fn key(&self, project: &str) -> String {
        segment_key(project, &self.day, self.shard, self.n)
    }
}

/// Segment days to read for records with `from <= at < to`: a record can sit in the
/// segment of the day after its own (sealed just before midnight).
pub fn segment_days(from_ms: u64, to_ms: u64) -> (String, String) {
    let last = day_from_millis(to_ms.saturating_add(crate::time::DAY_MS));
    (day_from_millis(from_ms), last)
}
