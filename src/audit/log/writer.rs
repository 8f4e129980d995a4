//! One log's state and its append: which segment a record goes to, what the segment and the
//! day rollup hold after it, and a retry that replaces an unacknowledged record. Also builds
//! a whole log from records (seed data and tests).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::segment::{Rollup, SegmentHeader, FORMAT_VERSION, SEGMENT_RECORDS};
use crate::audit::chain::{log_genesis, log_step};
use crate::audit::keys::{rollup_key, segment_key};
use crate::audit::records::AuditRecord;
use crate::audit::report::{daily_report, merge_reports, DayReport};

/// A log's state: the open segment (its record lines) and the day's counts before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogWriter {
    pub project: String,
    pub shard: u32,
    /// Day and number of the open segment (`None` before the first record).
    pub day: Option<String>,
    pub n: u64,
    /// Log head before the open segment.
    pub seg_prev: String,
    /// Record lines of the open segment, with their (chain, seq) for replacing a retry.
    pub lines: Vec<String>,
    pub ids: Vec<(String, u64)>,
    /// Log head after the open segment, and the open segment's counts (kept so an append
    /// does not re-read the segment; recomputed when a retry replaces a record).
    pub head: String,
    pub open_days: Vec<DayReport>,
    /// Records and counts of the day's closed segments.
    pub base_records: u64,
    pub base_days: Vec<DayReport>,
}

/// What one append writes: the open segment and the day rollup (in this order, then the
/// new state is persisted, then the writer is answered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogWrite {
    pub segment_key: String,
    pub segment: String,
    pub rollup_key: String,
    pub rollup: String,
    pub head: LiveHead,
}

/// What [`LogWriter::apply`] did: the open segment's line the record is now, and the
/// segment it closed (the writer as it was just before: its `write()` is that segment's last
/// form and its day's rollup then).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub line: usize,
    pub closed: Option<LogWriter>,
}

/// A log's live head, as its object answers it (what `verify` pins the tail with).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveHead {
    pub shard: u32,
    pub day: Option<String>,
    pub n: u64,
    pub head: String,
    /// Records of `day` up to `head` (closed segments and the open one): where in the day's
    /// stream `verify` checks this head, so records appended after it was read are no problem.
    /// Absent from an object that predates it (then the head is checked at the end of what
    /// was read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<u64>,
}

/// Which segment a log's next record goes into.
enum Placement {
    /// The log's first segment.
    First,
    /// The open segment.
    Open,
    /// The next segment of the open day: the open one is full.
    NextSegment,
    /// The first segment of a later day.
    NextDay,
}

impl LogWriter {
    pub fn new(project: &str, shard: u32) -> LogWriter {
        LogWriter {
            project: project.to_string(),
            shard,
            day: None,
            n: 0,
            seg_prev: log_genesis(project, shard),
            lines: Vec::new(),
            ids: Vec::new(),
            head: log_genesis(project, shard),
            open_days: Vec::new(),
            base_records: 0,
            base_days: Vec::new(),
        }
    }

    fn records(&self) -> Vec<AuditRecord> {
        self.lines
            .iter()
            .filter_map(|l| AuditRecord::from_json(l).ok())
            .collect()
    }

    /// Log head after the open segment.
    pub fn head(&self) -> String {
        self.head.clone()
    }

    fn recompute(&mut self) {
        let recs = self.records();
        self.head = recs
            .iter()
            .fold(self.seg_prev.clone(), |h, r| log_step(&h, &r.hash));
        self.open_days = daily_report(&recs).days;
    }

    fn push(&mut self, rec: &AuditRecord) {
        self.lines.push(rec.to_json());
        self.ids.push((rec.session.clone(), rec.seq));
        self.head = log_step(&self.head, &rec.hash);
        let one = daily_report([rec]).days;
        self.open_days = merge_reports(self.open_days.iter().chain(&one), "", "~");
    }

    pub fn live_head(&self) -> LiveHead {
        LiveHead {
            shard: self.shard,
            day: self.day.clone(),
            n: self.n,
            head: self.head(),
            records: self
                .day
                .as_ref()
                .map(|_| self.base_records + self.lines.len() as u64),
        }
    }

    /// Append `rec` (already sealed by its chain's owner) and say what to write. A record with
    /// the same chain and seq as one in the open segment replaces it: the owner only moves its
    /// head after this append is answered, so a second record with that seq means the first
    /// was never acknowledged (the same rule as the v1 per-record key being overwritten). The
    /// identical record again is a no-op rewrite.
    pub fn append(&self, rec: &AuditRecord) -> (LogWriter, LogWrite) {
        let mut next = self.clone();
        next.apply(rec);
        let write = next.write();
        (next, write)
    }

    /// [`LogWriter::append`] in place, rendering nothing: what a log object does per record
    /// (it writes R2 later, per flush).
    pub fn apply(&mut self, rec: &AuditRecord) -> Applied {
        let id = (rec.session.clone(), rec.seq);
        if let Some(i) = self.ids.iter().position(|x| *x == id) {
            self.lines[i] = rec.to_json();
            self.recompute();
            return Applied {
                line: i,
                closed: None,
            };
        }
        let day = rec.day();
        let closed = match self.placement(&day) {
            Placement::First | Placement::Open => None,
            Placement::NextSegment | Placement::NextDay => Some(self.clone()),
        };
        self.advance(day);
        self.push(rec);
        Applied {
            line: self.lines.len() - 1,
            closed,
        }
    }

    /// Where the next record, of UTC day `day`, goes.
    fn placement(&self, day: &str) -> Placement {
        match self.day.as_deref() {
            None => Placement::First,
            // A record may be sealed just before midnight and arrive after the log moved on:
            // it stays in the open (later) segment, counted under its own day.
            Some(open) if day <= open => {
                if self.lines.len() >= SEGMENT_RECORDS {
                    Placement::NextSegment
                } else {
                    Placement::Open
                }
            }
            Some(_) => Placement::NextDay,
        }
    }

    /// Open the segment the next record of `day` goes into (the open one stays open).
    fn advance(&mut self, day: String) {
        let head = self.head();
        match self.placement(&day) {
            Placement::First => self.day = Some(day),
            Placement::Open => {}
            Placement::NextSegment => self.close_segment(head, false),
            Placement::NextDay => {
                self.close_segment(head, true);
                self.day = Some(day);
            }
        }
    }

    fn close_segment(&mut self, head: String, new_day: bool) {
        if new_day {
            self.n = 0;
            self.base_records = 0;
            self.base_days.clear();
        } else {
            self.n += 1;
            self.base_records += self.lines.len() as u64;
            self.base_days = merge_reports(self.base_days.iter().chain(&self.open_days), "", "~");
        }
        self.seg_prev = head.clone();
        self.head = head;
        self.lines.clear();
        self.ids.clear();
        self.open_days.clear();
    }

    /// What the open segment and its day rollup hold now (what the last append wrote).
    pub fn write(&self) -> LogWrite {
        let day = self.day.clone().unwrap_or_default();
        let head = self.head();
        let header = SegmentHeader {
            v: FORMAT_VERSION,
            project: self.project.clone(),
            shard: self.shard,
            day: day.clone(),
            n: self.n,
            prev: self.seg_prev.clone(),
            head: head.clone(),
            records: self.lines.len() as u64,
        };
        let mut segment = serde_json::to_string(&header).unwrap_or_default();
        segment.push('\n');
        for l in &self.lines {
            segment.push_str(l);
            segment.push('\n');
        }
        let open = &self.open_days;
        let rollup = Rollup {
            v: FORMAT_VERSION,
            project: self.project.clone(),
            shard: self.shard,
            day: day.clone(),
            segments: self.n + 1,
            records: self.base_records + self.lines.len() as u64,
            head: head.clone(),
            days: merge_reports(self.base_days.iter().chain(open), "", "~"),
        };
        LogWrite {
            segment_key: segment_key(&self.project, &day, self.shard, self.n),
            segment,
            rollup_key: rollup_key(&self.project, &day, self.shard),
            rollup: serde_json::to_string(&rollup).unwrap_or_default(),
            head: LiveHead {
                shard: self.shard,
                day: Some(day),
                n: self.n,
                head,
                records: Some(self.base_records + self.lines.len() as u64),
            },
        }
    }
}

/// Build the segments and rollups of one log from records in order (for seeding test data
/// and for tests): what the log object would have written appending them one by one, in a
/// fraction of the work.
pub fn build_log(project: &str, shard: u32, records: &[AuditRecord]) -> Vec<(String, String)> {
    build_log_state(project, shard, records).0
}

/// [`build_log`], and the log's state after the last record (`None` for no records).
pub fn build_log_state(
    project: &str,
    shard: u32,
    records: &[AuditRecord],
) -> (Vec<(String, String)>, Option<LogWriter>) {
    let mut w = LogWriter::new(project, shard);
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for r in records {
        let (next, write) = w.append_quiet(r);
        if let Some(wr) = write {
            out.insert(wr.segment_key, wr.segment);
            out.insert(wr.rollup_key, wr.rollup);
        }
        w = next;
    }
    if w.day.is_none() {
        return (Vec::new(), None);
    }
    let wr = w.write();
    out.insert(wr.segment_key, wr.segment);
    out.insert(wr.rollup_key, wr.rollup);
    (out.into_iter().collect(), Some(w))
}

impl LogWriter {
    /// [`LogWriter::append`] that renders only a segment being closed by this record.
    fn append_quiet(&self, rec: &AuditRecord) -> (LogWriter, Option<LogWrite>) {
        let mut next = self.clone();
        let day = rec.day();
        let closed = match next.placement(&day) {
            Placement::First | Placement::Open => None,
            Placement::NextSegment | Placement::NextDay => Some(next.write()),
        };
        next.advance(day);
        next.push(rec);
        (next, closed)
    }
}
