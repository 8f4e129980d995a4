//! What a log object (`{project}/log/NN`) does per call — append, live head, flush alarm,
//! seed — written against [`LogIo`] (its DO storage, its alarm, R2), so the order of its
//! effects is plain code that runs natively against an in-memory implementation in the
//! tests. The edge (`edge::audit_log_do`) implements `LogIo` over the Durable Object's `State`
//! and `Env`.
//!
//! **A record is durable once it is in the object's storage**, and that is all an append
//! waits for: one atomic storage write of the log's state ([`LogState`]: its head and counts,
//! without lines) and the record's line under its own key ([`line_key`]), then the answer.
//! R2 is written per *flush*, not per record: an alarm at most [`FLUSH_MS`] after the first
//! unflushed append, and any read of the live head (the audit API's list, report and verify
//! call it first), writes every segment closed since the last flush, the open segment, then
//! the day rollups — one put each, however many records the batch holds — and only then
//! marks the state flushed and drops the closed segments' lines. R2 is never read back to
//! rebuild the log: storage holds the open segment's lines, so a flush is derived from
//! storage alone and a repeated flush (after a crash or a failed put) writes the same bytes.
//! Until it succeeds nothing is dropped; past [`MAX_CLOSED`] unflushed segments an append is
//! refused (503) rather than let storage grow without bound while R2 fails.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::head::{LogHead, Rebuilt};
use super::writer::{LiveHead, LogWriter};
use crate::audit::keys::log_shard;
use crate::audit::records::AuditRecord;
use crate::error::{ApiError, ErrorCode};

type ApiResult<T> = std::result::Result<T, ApiError>;

/// Storage key of the log's [`LogState`].
pub const STATE_KEY: &str = "log_state";
/// An earlier stored form: a [`LogHead`] whose open segment's lines are in R2. Read only when
/// no state is stored, and then converted.
pub const HEAD_KEY: &str = "log_head";
/// An earlier stored form still: the whole [`LogWriter`].
pub const LEGACY_KEY: &str = "log";
/// Prefix of the record lines a log keeps in storage (the open segment's, and those of
/// segments closed since the last flush).
pub const LINE_PREFIX: &str = "log_line/";

/// Most a flush waits after the first unflushed append.
pub const FLUSH_MS: u64 = 500;
/// When a failed flush is tried again.
pub const RETRY_MS: u64 = 5_000;
/// Unflushed closed segments at which appends are refused (each up to
/// [`SEGMENT_RECORDS`](super::SEGMENT_RECORDS) lines in storage; a flush writes them all, one
/// put each, well inside an invocation's subrequests).
pub const MAX_CLOSED: usize = 16;
/// Keys per storage put or delete (the platform's limit).
const BATCH_KEYS: usize = 128;

/// Storage key of line `i` of segment `n` of `day`.
pub fn line_key(day: &str, n: u64, i: usize) -> String {
    format!("{LINE_PREFIX}{day}/{n:06}/{i:03}")
}

fn parse_line_key(key: &str) -> Option<(String, u64, usize)> {
    let rest = key.strip_prefix(LINE_PREFIX)?;
    let mut parts = rest.split('/');
    let (day, n, i) = (parts.next()?, parts.next()?, parts.next()?);
    Some((day.to_string(), n.parse().ok()?, i.parse().ok()?))
}

/// Stored lines by segment (day, n): (line index, key, line).
type StoredLines = BTreeMap<(String, u64), Vec<(usize, String, String)>>;

/// What a log object stores under [`STATE_KEY`] (rewritten with every append and flush).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogState {
    /// The log after every record it acknowledged, without the open segment's lines.
    pub head: LogHead,
    /// Segments closed since the last flush, each as the log was just before it closed.
    pub closed: Vec<LogHead>,
    /// R2 lacks something this state holds.
    pub dirty: bool,
}

/// A log object's effects. Errors are the edge's (`ApiError::unavailable` for storage).
// No `Send` bound: an object runs on one thread.
#[allow(async_fn_in_trait)]
pub trait LogIo {
    /// One DO storage value.
    async fn get(&self, key: &str) -> ApiResult<Option<String>>;
    /// The DO storage values whose keys start with `prefix`, in key order.
    async fn list(&self, prefix: &str) -> ApiResult<Vec<(String, String)>>;
    /// Several DO storage values in one atomic write (at most 128).
    async fn put_state(&self, entries: Vec<(String, String)>) -> ApiResult<()>;
    /// Delete DO storage values (at most 128).
    async fn delete_state(&self, keys: Vec<String>) -> ApiResult<()>;
    async fn set_alarm(&self, at_ms: u64) -> ApiResult<()>;
    /// An R2 object's text (invalid UTF-8 replaced), `None` if absent.
    async fn r2_get(&self, key: &str) -> ApiResult<Option<String>>;
    async fn r2_put(&self, key: &str, body: String) -> ApiResult<()>;
    fn now(&self) -> u64;
}

/// What the alarm did.
#[derive(Debug)]
pub enum Alarm {
    /// The object holds no log (another use of the class).
    NotALog,
    Flushed,
    /// The flush failed; it is tried again at the next alarm (set).
    Retry(ApiError),
}

struct Live {
    w: LogWriter,
    /// Segments closed since the last flush, as the log was just before each closed.
    closed: Vec<LogWriter>,
    dirty: bool,
    /// Line keys of flushed segments not deleted yet.
    stale: Vec<String>,
}

impl Live {
    fn state(&self) -> LogState {
        LogState {
            head: self.w.stored_head(None),
            closed: self.closed.iter().map(|c| c.stored_head(None)).collect(),
            dirty: self.dirty,
        }
    }

    /// The R2 puts of a flush: every segment closed since the last one and the open one,
    /// then the rollup of each day they touch in its last form. Segments go first so no
    /// rollup in R2 counts records its segments do not hold yet (`verify` reads rollups
    /// before segments).
    fn flush_puts(&self) -> Vec<(String, String)> {
        let mut all: Vec<&LogWriter> = self.closed.iter().collect();
        if !self.w.lines.is_empty() {
            all.push(&self.w);
        }
        let (mut segments, mut rollups) = (Vec::new(), Vec::new());
        for (i, w) in all.iter().enumerate() {
            let write = w.write();
            segments.push((write.segment_key, write.segment));
            if all.get(i + 1).is_none_or(|next| next.day != w.day) {
                rollups.push((write.rollup_key, write.rollup));
            }
        }
        segments.extend(rollups);
        segments
    }
}

/// One log object's state, loaded from storage on its first call and kept while it lives.
#[derive(Default)]
pub struct LogCore {
    live: RefCell<Option<Live>>,
    /// Whether a flush alarm is set (unknown after a wake: the next append sets one).
    armed: Cell<bool>,
}

fn ser<T: Serialize>(v: &T) -> ApiResult<String> {
    serde_json::to_string(v).map_err(|_| ApiError::unavailable("serialize"))
}

fn unreadable() -> ApiError {
    ApiError::unavailable("audit log state unreadable")
}

fn lines_of(w: &LogWriter) -> Vec<(String, String)> {
    let day = w.day.clone().unwrap_or_default();
    w.lines
        .iter()
        .enumerate()
        .map(|(i, l)| (line_key(&day, w.n, i), l.clone()))
        .collect()
}

impl LogCore {
    /// Load the log if need be; `false` when this object holds none yet.
    async fn load(&self, io: &impl LogIo) -> ApiResult<bool> {
        if self.live.borrow().is_some() {
            return Ok(true);
        }
        let live = match io.get(STATE_KEY).await? {
            Some(text) => Some(Self::from_state(io, &text).await?),
            None => self.convert(io).await?,
        };
        let found = live.is_some();
        *self.live.borrow_mut() = live;
        Ok(found)
    }

    /// The log from its stored state and lines.
    async fn from_state(io: &impl LogIo, text: &str) -> ApiResult<Live> {
        let st: LogState = serde_json::from_str(text).map_err(|_| unreadable())?;
        let mut segments: StoredLines = BTreeMap::new();
        for (k, v) in io.list(LINE_PREFIX).await? {
            if let Some((day, n, i)) = parse_line_key(&k) {
                segments.entry((day, n)).or_default().push((i, k, v));
            }
        }
        let mut take = |h: &LogHead| -> ApiResult<LogWriter> {
            let Some(day) = h.day.clone() else {
                return Ok(h.rebuild(None).0);
            };
            let mut lines = segments.remove(&(day, h.n)).unwrap_or_default();
            lines.sort();
            let in_order = lines.iter().enumerate().all(|(i, l)| l.0 == i);
            let lines: Vec<String> = lines.into_iter().map(|l| l.2).collect();
            // Storage is written only here, atomically with the state: a mismatch is a bug,
            // and guessing would put a wrong segment in R2.
            in_order
                .then(|| h.with_lines(lines))
                .flatten()
                .ok_or_else(|| ApiError::unavailable("audit log lines do not match its state"))
        };
        let closed = st.closed.iter().map(&mut take).collect::<ApiResult<_>>()?;
        let w = take(&st.head)?;
        let stale = segments
            .into_values()
            .flat_map(|v| v.into_iter().map(|l| l.1))
            .collect();
        Ok(Live {
            w,
            closed,
            dirty: st.dirty,
            stale,
        })
    }

    /// A log stored in an earlier form: rebuilt (its open segment's lines from R2), stored in
    /// the current one, flushed by the next alarm if R2 was behind.
    async fn convert(&self, io: &impl LogIo) -> ApiResult<Option<Live>> {
        let (w, dirty) = match io.get(HEAD_KEY).await? {
            Some(s) => {
                let h = serde_json::from_str::<LogHead>(&s).map_err(|_| unreadable())?;
                let text = match h.segment_key() {
                    Some(k) => io.r2_get(&k).await?,
                    None => None,
                };
                let (w, how) = h.rebuild(text.as_deref());
                // A lost segment stays as R2 has it, for `verify` to name; the log goes on.
                (w, how == Rebuilt::RolledForward)
            }
            None => match io.get(LEGACY_KEY).await? {
                Some(s) => (
                    serde_json::from_str::<LogWriter>(&s).map_err(|_| unreadable())?,
                    true,
                ),
                None => return Ok(None),
            },
        };
        let live = Live {
            w,
            closed: Vec::new(),
            dirty,
            stale: Vec::new(),
        };
        Self::store_whole(io, &live).await?;
        io.delete_state(vec![HEAD_KEY.into(), LEGACY_KEY.into()])
            .await?;
        if dirty {
            self.arm(io, io.now() + FLUSH_MS).await?;
        }
        Ok(Some(live))
    }

    /// Store a whole log: its open segment's lines, then its state.
    async fn store_whole(io: &impl LogIo, live: &Live) -> ApiResult<()> {
        for chunk in lines_of(&live.w).chunks(BATCH_KEYS) {
            io.put_state(chunk.to_vec()).await?;
        }
        io.put_state(vec![(STATE_KEY.into(), ser(&live.state())?)])
            .await
    }

    async fn arm(&self, io: &impl LogIo, at_ms: u64) -> ApiResult<()> {
        io.set_alarm(at_ms).await?;
        self.armed.set(true);
        Ok(())
    }

    /// Append one sealed record (its JSON): stored with the log's new state in one write,
    /// then answered; R2 gets it at the next flush. A record with the chain and seq of one in
    /// the open segment replaces it (see [`LogWriter::append`]).
    pub async fn append(&self, io: &impl LogIo, body: &[u8]) -> ApiResult<()> {
        let rec: AuditRecord = serde_json::from_slice(body)
            .map_err(|_| ApiError::new(ErrorCode::InvalidCall, "malformed log call"))?;
        let shard = log_shard(&rec.session);
        if !self.load(io).await? {
            *self.live.borrow_mut() = Some(Live {
                w: LogWriter::new(&rec.project, shard),
                closed: Vec::new(),
                dirty: false,
                stale: Vec::new(),
            });
        }
        let next = {
            let live = self.live.borrow();
            let live = live.as_ref().ok_or_else(unreadable)?;
            if live.w.project != rec.project || live.w.shard != shard {
                return Err(ApiError::new(
                    ErrorCode::InvalidCall,
                    "record for another log",
                ));
            }
            (live.closed.len() < MAX_CLOSED).then(|| {
                let mut w = live.w.clone();
                let applied = w.apply(&rec);
                let state = LogState {
                    head: w.stored_head(None),
                    closed: live
                        .closed
                        .iter()
                        .chain(&applied.closed)
                        .map(|c| c.stored_head(None))
                        .collect(),
                    dirty: true,
                };
                (w, applied, state)
            })
        };
        let Some((w, applied, state)) = next else {
            // R2 has failed for a while: refuse (the beacon is retried) rather than grow.
            if !self.armed.get() {
                self.arm(io, io.now() + FLUSH_MS).await?;
            }
            return Err(ApiError::unavailable("audit log is behind its R2 writes"));
        };
        let day = w.day.clone().unwrap_or_default();
        let entries = vec![
            (STATE_KEY.to_string(), ser(&state)?),
            (
                line_key(&day, w.n, applied.line),
                w.lines[applied.line].clone(),
            ),
        ];
        io.put_state(entries).await?;
        if let Some(live) = self.live.borrow_mut().as_mut() {
            live.w = w;
            live.closed.extend(applied.closed);
            live.dirty = true;
        }
        if !self.armed.get() {
            self.arm(io, io.now() + FLUSH_MS).await?;
        }
        Ok(())
    }

    /// Write to R2 what storage holds and R2 lacks, then mark the state flushed and drop the
    /// flushed segments' lines. Nothing changes in storage before the puts succeed.
    pub async fn flush(&self, io: &impl LogIo) -> ApiResult<()> {
        let (dirty, puts, state, drop) = {
            let live = self.live.borrow();
            let Some(live) = live.as_ref() else {
                return Ok(());
            };
            if !live.dirty && live.stale.is_empty() {
                return Ok(());
            }
            let mut drop: Vec<String> = live
                .closed
                .iter()
                .flat_map(lines_of)
                .map(|l| l.0)
                .chain(live.stale.iter().cloned())
                .collect();
            drop.sort();
            let flushed = Live {
                w: live.w.clone(),
                closed: Vec::new(),
                dirty: false,
                stale: Vec::new(),
            };
            (live.dirty, live.flush_puts(), ser(&flushed.state())?, drop)
        };
        if dirty {
            for (key, body) in puts {
                io.r2_put(&key, body).await?;
            }
            io.put_state(vec![(STATE_KEY.into(), state)]).await?;
        }
        if let Some(live) = self.live.borrow_mut().as_mut() {
            live.closed.clear();
            live.dirty = false;
            live.stale.clone_from(&drop);
        }
        for chunk in drop.chunks(BATCH_KEYS) {
            io.delete_state(chunk.to_vec()).await?;
        }
        if let Some(live) = self.live.borrow_mut().as_mut() {
            live.stale.clear();
        }
        Ok(())
    }

    /// The flush alarm: flush, or set the next try.
    pub async fn alarm(&self, io: &impl LogIo) -> ApiResult<Alarm> {
        if self.live.borrow().is_none() {
            // Only a log in the current form sets alarms; other objects of the class read
            // one key here.
            let Some(text) = io.get(STATE_KEY).await? else {
                return Ok(Alarm::NotALog);
            };
            let live = Self::from_state(io, &text).await?;
            *self.live.borrow_mut() = Some(live);
        }
        self.armed.set(false);
        match self.flush(io).await {
            Ok(()) => Ok(Alarm::Flushed),
            Err(e) => {
                self.arm(io, io.now() + RETRY_MS).await?;
                Ok(Alarm::Retry(e))
            }
        }
    }

    /// This log's live head (`None` before its first record), flushed first: the head pins
    /// only what R2 holds, so `verify` reading it before the segments finds them all.
    pub async fn live_head(&self, io: &impl LogIo) -> ApiResult<Option<LiveHead>> {
        if !self.load(io).await? {
            return Ok(None);
        }
        self.flush(io).await?;
        Ok(self.live.borrow().as_ref().map(|l| l.w.live_head()))
    }

    /// Take the state of a log seeded straight into R2 (feature `faults`).
    pub async fn seed(&self, io: &impl LogIo, w: LogWriter) -> ApiResult<()> {
        let live = Live {
            w,
            closed: Vec::new(),
            dirty: false,
            stale: Vec::new(),
        };
        Self::store_whole(io, &live).await?;
        *self.live.borrow_mut() = Some(live);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
