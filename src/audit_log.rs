//! Audit storage v2 (issue 13): records sealed into per-project log segments, day rollups
//! kept as records are written, and a verifier that works a time range in bounded steps.
//! Pure: the glue (`edge::audit_log_do`, `edge::audit_api`) does the R2/DO I/O.
//!
//! Records themselves are unchanged (v1, one per-session hash chain, see [`crate::audit`]).
//! What changed is where they live. Every record of a project goes, in the order its
//! writer appends it, to one of [`LOG_SHARDS`] *log* objects (chosen by hash of the chain
//! id, so a chain's records are always in one log, in seq order). A log keeps:
//!
//! - **segments** `audit/{p}/v2/days/{day}/{shard:02}/{n:06}.ndjson`: a header line then up to
//!   [`SEGMENT_RECORDS`] record lines; the log is itself a hash chain over its records,
//!   `log_head = SHA-256(prev_log_head || record.hash)`, from [`log_genesis`], running across
//!   segments and days; each header says the head before and after its records;
//! - **rollups** `audit/{p}/v2/rollups/{day}/{shard:02}.json`: per segment day, the segment
//!   count, record count, the log head at the end of that day so far, and the report counts
//!   (per record day), rewritten with every append. `report` reads these only.
//!
//! Reads therefore cost one R2 read per segment (≤ 128 records), not per record; deleting,
//! reordering or inserting any record breaks the log chain, and the live log heads (asked of
//! the log objects) pin the tail.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::audit::{
    daily_report, day_from_millis, genesis, parse_day, AuditRecord, Broken, ChainBreak, DayReport,
    Problem, RECORD_VERSION,
};
use crate::consent::hex;

/// Stored layout version (segments and rollups); records inside stay [`RECORD_VERSION`].
pub const FORMAT_VERSION: u32 = 2;
/// Log objects per project. Each append is one object's turn, so this bounds a project's
/// audit write rate (each log does a few dozen appends a second; 1,000,000 sessions a month is
/// about one record a second), and `report` reads `days × LOG_SHARDS` rollups (≤ 802 for the
/// 400-day maximum).
pub const LOG_SHARDS: u32 = 2;
/// Records per segment: a list page of 1,000 reads ~8 segments; verifying 10,000 records ~79.
/// The open segment is rewritten whole on each append (its lines are kept in R2 only; the
/// log object stores a small [`LogHead`]).
pub const SEGMENT_RECORDS: usize = 128;
/// Most problems a verification keeps (the count of all is kept too).
pub const MAX_PROBLEMS: usize = 100;
/// Most chain tails the verifier remembers to check session-chain links across segments.
pub const MAX_TAILS: usize = 512;

/// Which log a chain's records go to.
pub fn log_shard(chain: &str) -> u32 {
    let d = Sha256::digest(chain.as_bytes());
    u32::from(u16::from_be_bytes([d[2], d[3]])) % LOG_SHARDS
}

/// Durable Object name of log `shard` of `project`: `{project}/log/NN` (a `/` and no `:`,
/// which no `{project}:{session}` can take).
pub fn log_object_name(project: &str, shard: u32) -> String {
    format!("{project}/log/{shard:02}")
}

/// Durable Object name of `project`'s admin-change chain (issue 17): in the `/` namespace.
pub fn admin_object_name(project: &str) -> String {
    format!("{project}/admin")
}

/// Durable Object name of a verify job.
pub fn verify_job_object_name(project: &str, job: &str) -> String {
    format!("{project}/verify/{job}")
}

/// The log head before a log's first record.
pub fn log_genesis(project: &str, shard: u32) -> String {
    genesis(project, &format!("log/{shard:02}"))
}

/// The log head after a record with hash `record_hash`.
pub fn log_step(prev: &str, record_hash: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(record_hash.as_bytes());
    hex(&h.finalize())
}

pub fn days_prefix(project: &str) -> String {
    format!("audit/{project}/v2/days/")
}

pub fn segment_key(project: &str, day: &str, shard: u32, n: u64) -> String {
    format!("audit/{project}/v2/days/{day}/{shard:02}/{n:06}.ndjson")
}

pub fn rollups_prefix(project: &str) -> String {
    format!("audit/{project}/v2/rollups/")
}

pub fn rollup_key(project: &str, day: &str, shard: u32) -> String {
    format!("audit/{project}/v2/rollups/{day}/{shard:02}.json")
}

/// `(project, day, shard, n)` of a segment key.
pub fn parse_segment_key(key: &str) -> Option<(String, String, u32, u64)> {
    let rest = key.strip_prefix("audit/")?;
    let parts: Vec<&str> = rest.split('/').collect();
    let [p, "v2", "days", day, shard, file] = parts.as_slice() else {
        return None;
    };
    parse_day(day)?;
    let n = file.strip_suffix(".ndjson")?;
    if shard.len() != 2 || n.len() != 6 {
        return None;
    }
    let shard: u32 = shard.parse().ok().filter(|s| *s < LOG_SHARDS)?;
    Some((p.to_string(), day.to_string(), shard, n.parse().ok()?))
}

/// `(project, day, shard)` of a rollup key.
pub fn parse_rollup_key(key: &str) -> Option<(String, String, u32)> {
    let rest = key.strip_prefix("audit/")?;
    let parts: Vec<&str> = rest.split('/').collect();
    let [p, "v2", "rollups", day, file] = parts.as_slice() else {
        return None;
    };
    parse_day(day)?;
    let shard: u32 = file
        .strip_suffix(".json")?
        .parse()
        .ok()
        .filter(|s| *s < LOG_SHARDS)?;
    Some((p.to_string(), day.to_string(), shard))
}

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

// ---------------------------------------------------------------------------------------
// Writing: one log's state (kept in its DO's storage)
// ---------------------------------------------------------------------------------------

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

/// A log's live head, as its object answers it (what `verify` pins the tail with).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveHead {
    pub shard: u32,
    pub day: Option<String>,
    pub n: u64,
    pub head: String,
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
        }
    }

    /// Append `rec` (already sealed by its chain's owner) and say what to write. A record with
    /// the same chain and seq as one in the open segment replaces it: the owner only moves its
    /// head after this append is answered, so a second record with that seq means the first
    /// was never acknowledged (the same rule as the v1 per-record key being overwritten). The
    /// identical record again is a no-op rewrite.
    pub fn append(&self, rec: &AuditRecord) -> (LogWriter, LogWrite) {
        let mut next = self.clone();
        let day = rec.day();
        let id = (rec.session.clone(), rec.seq);
        match next.ids.iter().position(|i| *i == id) {
            Some(i) => {
                next.lines[i] = rec.to_json();
                next.recompute();
            }
            None => {
                let head = next.head();
                match next.day.clone() {
                    None => next.day = Some(day),
                    // A record may be sealed just before midnight and arrive after the log moved
                    // on: it stays in the open (later) segment, counted under its own day.
                    Some(open) if day <= open => {
                        if next.lines.len() >= SEGMENT_RECORDS {
                            next.close_segment(head, false);
                        }
                    }
                    Some(_) => {
                        next.close_segment(head, true);
                        next.day = Some(day);
                    }
                }
                next.push(rec);
            }
        }
        let write = next.write();
        (next, write)
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
            },
        }
    }
}

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
        let mut closed = None;
        match next.day.clone() {
            None => next.day = Some(day),
            Some(open) if day <= open => {
                if next.lines.len() >= SEGMENT_RECORDS {
                    closed = Some(next.write());
                    let head = next.head();
                    next.close_segment(head, false);
                }
            }
            Some(_) => {
                closed = Some(next.write());
                let head = next.head();
                next.close_segment(head, true);
                next.day = Some(day);
            }
        }
        next.push(rec);
        (next, closed)
    }
}

// ---------------------------------------------------------------------------------------
// Reading a segment
// ---------------------------------------------------------------------------------------

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
    let last = day_from_millis(to_ms.saturating_add(86_400_000));
    (day_from_millis(from_ms), last)
}

// ---------------------------------------------------------------------------------------
// Verifying, in steps
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct ShardPos {
    day: String,
    n: u64,
    head: String,
    /// Records and segments seen for `day` (compared with its rollup).
    day_records: u64,
    day_segments: u64,
}

/// A verification in progress: feed it every segment of the range in key order (days
/// ascending, then shard, then n), each day's rollups when the day is done, and the live
/// heads at the end. Serialisable, so a job can carry it from one alarm to the next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verifier {
    pub project: String,
    pub first_day: String,
    pub last_day: String,
    shards: BTreeMap<u32, ShardPos>,
    /// Chain → (seq, hash) of the last record seen, for checking session-chain links.
    tails: BTreeMap<String, (u64, String)>,
    chains_seen: u64,
    pub records: u64,
    pub segments: u64,
    /// Problems as their JSON (a [`ChainBreak`] each), so the state round-trips.
    problems: Vec<serde_json::Value>,
    problem_count: u64,
    /// Days with segments whose rollups were checked.
    days_checked: BTreeSet<String>,
}

/// The final answer of a verification (the v1 shape, plus the log-level counts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub ok: bool,
    pub from_day: String,
    pub to_day: String,
    /// Chains read (counted at the first record of each; a chain whose tail the verifier had
    /// to forget, past [`MAX_TAILS`] open at once, counts again).
    pub chains: u64,
    pub records: u64,
    pub segments: u64,
    /// Each problem found, named by chain (a session id, or `log/NN` for a log), the key of
    /// the segment (or rollup) and the record's line in it.
    pub broken: Vec<serde_json::Value>,
    /// How many problems there were (only the first [`MAX_PROBLEMS`] are listed).
    pub problems: u64,
    /// Kept for v1 readers; anchors are checked through the log chain now.
    pub anchor_problems: Vec<serde_json::Value>,
}

fn log_chain(shard: u32) -> String {
    format!("log/{shard:02}")
}

impl Verifier {
    pub fn new(project: &str, first_day: &str, last_day: &str) -> Verifier {
        Verifier {
            project: project.to_string(),
            first_day: first_day.to_string(),
            last_day: last_day.to_string(),
            shards: BTreeMap::new(),
            tails: BTreeMap::new(),
            chains_seen: 0,
            records: 0,
            segments: 0,
            problems: Vec::new(),
            problem_count: 0,
            days_checked: BTreeSet::new(),
        }
    }

    fn problem(&mut self, chain: String, index: usize, key: &str, problem: Problem) {
        self.problem_count += 1;
        if self.problems.len() < MAX_PROBLEMS {
            let b = ChainBreak {
                chain,
                broken: Broken {
                    index,
                    key: key.to_string(),
                    problem,
                },
            };
            self.problems
                .push(serde_json::to_value(&b).unwrap_or_default());
        }
    }

    /// Check one segment.
    pub fn feed_segment(&mut self, key: &str, text: &str) {
        self.segments += 1;
        let Some((project, day, shard, n)) = parse_segment_key(key) else {
            self.problem("log".into(), 0, key, Problem::BadKey { expected: None });
            return;
        };
        let chain = log_chain(shard);
        if project != self.project {
            self.problem(chain, 0, key, Problem::BadKey { expected: None });
            return;
        }
        let (header, lines) = match split_segment(text) {
            Ok(x) => x,
            Err(error) => {
                self.problem(chain, 0, key, Problem::Unparseable { error });
                return;
            }
        };
        if header.project != project || header.shard != shard || header.day != day || header.n != n
        {
            self.problem(
                chain.clone(),
                0,
                key,
                Problem::BadKey {
                    expected: Some(segment_key(
                        &header.project,
                        &header.day,
                        header.shard,
                        header.n,
                    )),
                },
            );
        }
        // Segment numbering and the log link from the previous segment seen.
        let pos = self.shards.get(&shard).cloned();
        match &pos {
            Some(p) => {
                let expected_n = if p.day == day { p.n + 1 } else { 0 };
                if n != expected_n {
                    self.problem(
                        chain.clone(),
                        0,
                        key,
                        Problem::Gap {
                            expected_seq: expected_n,
                            found_seq: n,
                        },
                    );
                }
                if header.prev != p.head {
                    self.problem(
                        chain.clone(),
                        0,
                        key,
                        Problem::PrevMismatch {
                            expected: p.head.clone(),
                            found: header.prev.clone(),
                        },
                    );
                }
            }
            // The range's first segment of this log: its link back is trusted unless it is the
            // log's very first segment, which must start at genesis.
            None if n != 0 => self.problem(
                chain.clone(),
                0,
                key,
                Problem::Gap {
                    expected_seq: 0,
                    found_seq: n,
                },
            ),
            None => {}
        }
        let mut head = header.prev.clone();
        let mut count = 0u64;
        let mut seen_here: BTreeSet<String> = BTreeSet::new();
        for (i, line) in lines.iter().enumerate() {
            let index = i + 1;
            count += 1;
            let rec = match AuditRecord::from_json(line) {
                Ok(r) if r.v == RECORD_VERSION => r,
                Ok(r) => {
                    self.problem(
                        chain.clone(),
                        index,
                        key,
                        Problem::Unparseable {
                            error: format!("unsupported record version {}", r.v),
                        },
                    );
                    continue;
                }
                Err(error) => {
                    self.problem(chain.clone(), index, key, Problem::Unparseable { error });
                    continue;
                }
            };
            head = log_step(&head, &rec.hash);
            self.records += 1;
            if rec.project != self.project || log_shard(&rec.session) != shard {
                self.problem(
                    rec.session.clone(),
                    index,
                    key,
                    Problem::WrongChain {
                        project: rec.project.clone(),
                        session: rec.session.clone(),
                    },
                );
                continue;
            }
            let computed = rec.compute_hash();
            if computed != rec.hash {
                self.problem(
                    rec.session.clone(),
                    index,
                    key,
                    Problem::HashMismatch {
                        expected: computed,
                        found: rec.hash.clone(),
                    },
                );
            }
            match self.tails.get(&rec.session).cloned() {
                Some((seq, hash)) => {
                    if rec.seq != seq + 1 {
                        self.problem(
                            rec.session.clone(),
                            index,
                            key,
                            Problem::Gap {
                                expected_seq: seq + 1,
                                found_seq: rec.seq,
                            },
                        );
                    } else if rec.prev != hash {
                        self.problem(
                            rec.session.clone(),
                            index,
                            key,
                            Problem::PrevMismatch {
                                expected: hash,
                                found: rec.prev.clone(),
                            },
                        );
                    }
                }
                None => {
                    self.chains_seen += 1;
                    let g = genesis(&self.project, &rec.session);
                    if rec.seq == 0 && rec.prev != g {
                        self.problem(
                            rec.session.clone(),
                            index,
                            key,
                            Problem::PrevMismatch {
                                expected: g,
                                found: rec.prev.clone(),
                            },
                        );
                    }
                    // seq > 0 with no tail: its predecessor is before the range (or beyond the
                    // verifier's memory); the log chain still covers it.
                }
            }
            seen_here.insert(rec.session.clone());
            self.tails
                .insert(rec.session.clone(), (rec.seq, rec.hash.clone()));
        }
        if count != header.records {
            self.problem(
                chain.clone(),
                0,
                key,
                Problem::Truncated {
                    expected_count: header.records,
                    found_count: count,
                },
            );
        }
        if head != header.head {
            self.problem(
                chain.clone(),
                0,
                key,
                Problem::HeadMismatch {
                    expected: header.head.clone(),
                    found: head.clone(),
                },
            );
        }
        if self.tails.len() > MAX_TAILS {
            self.tails.retain(|c, _| seen_here.contains(c));
        }
        let (day_records, day_segments) = match &pos {
            Some(p) if p.day == day => (p.day_records, p.day_segments),
            _ => (0, 0),
        };
        self.shards.insert(
            shard,
            ShardPos {
                day,
                n,
                head,
                day_records: day_records + count,
                day_segments: day_segments + 1,
            },
        );
    }

    /// Check `day`'s rollups (`(shard, text)`; a missing one is absent) against the segments
    /// fed for that day. Call once per day of the range, after its segments.
    pub fn feed_rollups(&mut self, day: &str, rollups: &[(u32, Option<String>)]) {
        self.days_checked.insert(day.to_string());
        for (shard, text) in rollups {
            let key = rollup_key(&self.project, day, *shard);
            let chain = log_chain(*shard);
            let pos = self.shards.get(shard).filter(|p| p.day == day).cloned();
            let rollup = match text {
                None if pos.is_none() => continue,
                None => {
                    self.problem(chain, 0, &key, Problem::Missing);
                    continue;
                }
                Some(t) => match serde_json::from_str::<Rollup>(t) {
                    Ok(r) => r,
                    Err(e) => {
                        self.problem(
                            chain,
                            0,
                            &key,
                            Problem::Unparseable {
                                error: e.to_string(),
                            },
                        );
                        continue;
                    }
                },
            };
            let (segments, records, head) = pos
                .map(|p| (p.day_segments, p.day_records, p.head))
                .unwrap_or_default();
            if rollup.segments != segments || rollup.records != records {
                // Whole segments (or a whole day of them) deleted, or the rollup edited.
                self.problem(
                    chain.clone(),
                    0,
                    &key,
                    Problem::Truncated {
                        expected_count: rollup.records,
                        found_count: records,
                    },
                );
            } else if rollup.head != head {
                self.problem(
                    chain,
                    0,
                    &key,
                    Problem::HeadMismatch {
                        expected: rollup.head,
                        found: head,
                    },
                );
            }
        }
    }

    /// Finish with the logs' live heads (what their objects hold now): a log whose live
    /// segment is in the range must end, in what was read, exactly there.
    pub fn finish(mut self, live: &[LiveHead]) -> Verification {
        for l in live {
            let Some(day) = &l.day else { continue };
            if day.as_str() < self.first_day.as_str() || day.as_str() > self.last_day.as_str() {
                continue;
            }
            let key = segment_key(&self.project, day, l.shard, l.n);
            let chain = log_chain(l.shard);
            match self.shards.get(&l.shard).cloned() {
                Some(p) if p.day == *day && p.n == l.n => {
                    if p.head != l.head {
                        self.problem(
                            chain,
                            0,
                            &key,
                            Problem::HeadMismatch {
                                expected: l.head.clone(),
                                found: p.head,
                            },
                        );
                    }
                }
                Some(p) => self.problem(
                    chain,
                    0,
                    &key,
                    Problem::Gap {
                        expected_seq: l.n,
                        found_seq: p.n,
                    },
                ),
                None => self.problem(chain, 0, &key, Problem::Missing),
            }
        }
        Verification {
            ok: self.problem_count == 0,
            from_day: self.first_day,
            to_day: self.last_day,
            chains: self.chains_seen,
            records: self.records,
            segments: self.segments,
            broken: self.problems,
            problems: self.problem_count,
            anchor_problems: Vec::new(),
        }
    }

    /// Days already checked (the glue calls [`Verifier::feed_rollups`] once per day).
    pub fn day_checked(&self, day: &str) -> bool {
        self.days_checked.contains(day)
    }
}

// ---------------------------------------------------------------------------------------
// Verify jobs
// ---------------------------------------------------------------------------------------

/// R2 operations a verify request spends before handing the range to a job.
pub const SYNC_BUDGET: usize = 100;
/// R2 operations one job step (one alarm) spends.
pub const STEP_BUDGET: usize = 200;

/// Where a verification is: the verifier and the last segment key it read. What a verify
/// job keeps in its object's storage between alarms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyJob {
    pub verifier: Verifier,
    /// Last segment key read (the listing resumes after it).
    pub after: Option<String>,
    /// Day of the segments being read (its rollups are checked when the next day starts).
    pub current_day: Option<String>,
    /// The final answer (JSON of a [`Verification`]) once done.
    pub result: Option<String>,
}

impl VerifyJob {
    pub fn new(project: &str, from_ms: u64, to_ms: u64) -> VerifyJob {
        let (first, last) = segment_days(from_ms, to_ms);
        VerifyJob {
            verifier: Verifier::new(project, &first, &last),
            after: None,
            current_day: None,
            result: None,
        }
    }

    /// Where the segment listing resumes (`start_after`).
    pub fn list_after(&self) -> String {
        self.after.clone().unwrap_or_else(|| {
            format!(
                "{}{}",
                days_prefix(&self.verifier.project),
                self.verifier.first_day
            )
        })
    }
}
