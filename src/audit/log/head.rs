//! The small head a log object stores instead of its open segment, and the rebuild of the
//! writer from that head and R2's copy of the segment when the object wakes, including
//! rolling forward an append that was stored but not yet written to R2.

use serde::{Deserialize, Serialize};

use super::segment::split_segment;
use super::writer::LogWriter;
use crate::audit::chain::log_step;
use crate::audit::keys::segment_key;
use crate::audit::records::AuditRecord;
use crate::audit::report::{daily_report, merge_reports, DayReport};

/// What a log object keeps in its storage: its [`LogWriter`] without the open segment's
/// lines, which are in R2 (the segment is rewritten whole on every append anyway), plus the
/// one line the last append put there. Storing the head rather than the lines keeps each
/// append's storage write ~1 KB instead of up to the whole open segment (~55 KB), and the
/// head still pins the open segment: a wake trusts R2's lines only if they chain to it.
///
/// The head is persisted *before* the segment and rollup puts (then the log answers), so a
/// crash can leave R2 one write behind the head, never ahead: [`LogHead::rebuild`] rolls that
/// write forward from `last`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogHead {
    pub project: String,
    pub shard: u32,
    pub day: Option<String>,
    pub n: u64,
    pub seg_prev: String,
    /// Log head after the open segment, and its record count and counts.
    pub head: String,
    pub records: u64,
    pub open_days: Vec<DayReport>,
    pub base_records: u64,
    pub base_days: Vec<DayReport>,
    /// Index in the open segment and line of the record the last append wrote (pushed or
    /// replaced); `None` when the head was not made by an append (seeded, or rebuilt).
    pub last: Option<(u64, String)>,
}

/// How a log's open segment was rebuilt from its stored head and R2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rebuilt {
    /// No record yet.
    Empty,
    /// R2's lines chain to the stored head as they are.
    Intact,
    /// R2 missed the last append's line (a crash or failed put after the head was stored):
    /// with it they chain to the head; the segment and rollup must be written again.
    RolledForward,
    /// R2's open segment is missing, unreadable, or does not chain to the stored head
    /// (deleted or edited outside the log). It is left as it is, for `verify` to report (the
    /// next segment links to the stored head, not to what R2 holds), and the log goes on in
    /// a new segment rather than refusing every later record of its chains.
    Lost,
}

impl LogWriter {
    /// The head to store after appending `last` (the record just appended).
    pub fn stored_head(&self, last: Option<&AuditRecord>) -> LogHead {
        let last = last.and_then(|r| {
            let id = (r.session.clone(), r.seq);
            let i = self.ids.iter().position(|x| *x == id)?;
            Some((i as u64, self.lines[i].clone()))
        });
        LogHead {
            project: self.project.clone(),
            shard: self.shard,
            day: self.day.clone(),
            n: self.n,
            seg_prev: self.seg_prev.clone(),
            head: self.head.clone(),
            records: self.lines.len() as u64,
            open_days: self.open_days.clone(),
            base_records: self.base_records,
            base_days: self.base_days.clone(),
            last,
        }
    }
}

impl LogHead {
    /// Key of the open segment (`None` before the first record).
    pub fn segment_key(&self) -> Option<String> {
        let day = self.day.as_ref()?;
        Some(segment_key(&self.project, day, self.shard, self.n))
    }

    /// The writer this head describes with `lines` as its open segment (a log object's own
    /// stored lines), or `None` if they do not chain from the segment's start to the head.
    pub fn with_lines(&self, lines: Vec<String>) -> Option<LogWriter> {
        let recs: Vec<AuditRecord> = lines
            .iter()
            .map(|l| AuditRecord::from_json(l).ok())
            .collect::<Option<_>>()?;
        let chained = recs
            .iter()
            .fold(self.seg_prev.clone(), |h, r| log_step(&h, &r.hash));
        if lines.len() as u64 != self.records || chained != self.head {
            return None;
        }
        Some(LogWriter {
            project: self.project.clone(),
            shard: self.shard,
            day: self.day.clone(),
            n: self.n,
            seg_prev: self.seg_prev.clone(),
            ids: recs.iter().map(|r| (r.session.clone(), r.seq)).collect(),
            lines,
            head: self.head.clone(),
            open_days: self.open_days.clone(),
            base_records: self.base_records,
            base_days: self.base_days.clone(),
        })
    }

    /// The writer this head describes, with its open segment's lines taken from `segment`
    /// (R2's text of [`LogHead::segment_key`], `None` if absent).
    pub fn rebuild(&self, segment: Option<&str>) -> (LogWriter, Rebuilt) {
        let mut w = LogWriter {
            project: self.project.clone(),
            shard: self.shard,
            day: self.day.clone(),
            n: self.n,
            seg_prev: self.seg_prev.clone(),
            lines: Vec::new(),
            ids: Vec::new(),
            head: self.head.clone(),
            open_days: self.open_days.clone(),
            base_records: self.base_records,
            base_days: self.base_days.clone(),
        };
        let Some(day) = self.day.clone() else {
            return (w, Rebuilt::Empty);
        };
        let from_r2: Vec<String> = segment
            .and_then(|t| split_segment(t).ok())
            .filter(|(h, _)| {
                h.project == self.project
                    && h.shard == self.shard
                    && h.day == day
                    && h.n == self.n
                    && h.prev == self.seg_prev
            })
            .map(|(_, lines)| lines.into_iter().map(str::to_string).collect())
            .unwrap_or_default();
        let mut lines = from_r2.clone();
        if let Some((i, line)) = &self.last {
            let i = *i as usize;
            match i.cmp(&lines.len()) {
                std::cmp::Ordering::Less => lines[i].clone_from(line),
                std::cmp::Ordering::Equal => lines.push(line.clone()),
                std::cmp::Ordering::Greater => {}
            }
        }
        let recs: Vec<AuditRecord> = lines
            .iter()
            .map_while(|l| AuditRecord::from_json(l).ok())
            .collect();
        let chained = recs
            .iter()
            .fold(self.seg_prev.clone(), |h, r| log_step(&h, &r.hash));
        if recs.len() == lines.len() && lines.len() as u64 == self.records && chained == self.head {
            w.ids = recs.iter().map(|r| (r.session.clone(), r.seq)).collect();
            w.lines = lines;
            w.open_days = daily_report(&recs).days;
            let how = if w.lines == from_r2 {
                Rebuilt::Intact
            } else {
                Rebuilt::RolledForward
            };
            return (w, how);
        }
        // Close the lost segment as the head knew it (its counts stay in the rollup, so a
        // deleted segment shows as missing records) and go on from the stored head.
        w.n += 1;
        w.base_records += self.records;
        w.base_days = merge_reports(self.base_days.iter().chain(&self.open_days), "", "~");
        w.seg_prev = self.head.clone();
        w.open_days.clear();
        (w, Rebuilt::Lost)
    }
}
