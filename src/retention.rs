//! The retention sweep's decisions: which index entries are expired, how much one
//! alarm run may do, the order projects take turns in, and when a failed erase is tried again.
//! `edge/retention.rs` moves the bytes; everything it decides comes from here.
//!
//! The cron only pokes one sweeper object ([`SWEEPER_OBJECT`]); its alarm erases a bounded batch
//! per run, keeps this [`Sweep`] in its storage and re-arms until the cycle is done. Projects are
//! found by their stored data (the `index/{project}/` prefixes in R2), not by their configs, so
//! a project whose config is unparseable or removed is still swept ([`retention_for`]).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::project::Project;
use crate::storage;
use crate::time::DAY_MS;

/// The sweeper object's name. `/` is outside the id alphabet, so no `{project}:{session}` or
/// anchor name (`{project}/anchor/NN`) can take it.
pub const SWEEPER_OBJECT: &str = "retention/sweeper";

/// Subrequests one alarm run may spend (the platform allows 1,000 per invocation; the rest is
/// margin for the state read and write and the alarm).
pub const RUN_BUDGET: u32 = 900;

/// Most subrequests one erase can cost: the object's manifest, the stored manifest, the
/// object's erase call, listing and deleting the session prefix (a session holds at most
/// `session::MAX_CHUNKS` = 10,000 chunks: 10 pages of 1,000, then one empty list), the index
/// entries, and the day entry the sweep deletes itself.
pub const ERASE_WORST_COST: u32 = 3 + (2 * 10 + 1) + 1 + 1;

/// Erases in flight at once (the platform queues more than six open connections anyway).
pub const CONCURRENCY: usize = 8;

/// Most sessions of one project per turn: a project with a million expired sessions does not
/// hold the others back; it goes to the back of the queue.
pub const TURN_SESSIONS: u32 = 40;

/// Projects looked up per discovery page, and how few queued projects make the sweep discover
/// more (the queue stays small however many projects there are).
pub const DISCOVERY_PAGE: u32 = 50;
pub const QUEUE_LOW: usize = 8;

/// Failed erases waiting for their retry, at most. With this many pending (storage itself is
/// failing) the sweep stops advancing and only retries, so nothing is lost and the state stays
/// small (well under a Durable Object value's limit).
pub const MAX_RETRIES: usize = 500;

/// Retention applied to a project whose config is unparseable or removed: the documented
/// default (`retention_days` when a config does not set it).
pub const FALLBACK_RETENTION_DAYS: u32 = 30;

/// Where a project's retention came from (logged by the sweep, never its content).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetentionSource {
    Config,
    /// The stored config does not parse: the project answers 503 and is swept with the default.
    Unparseable,
    /// No config in KV (the project was removed) but data remains.
    Removed,
}

/// The retention that applies to a project with this stored config (`None`: no KV entry).
pub fn retention_for(config: Option<&str>) -> (u32, RetentionSource) {
    match config {
        None => (FALLBACK_RETENTION_DAYS, RetentionSource::Removed),
        Some(json) => match Project::from_json(json) {
            Ok(p) => (p.retention_days, RetentionSource::Config),
            Err(_) => (FALLBACK_RETENTION_DAYS, RetentionSource::Unparseable),
        },
    }
}

/// The first day (`yyyy-mm-dd`) still retained at `now_ms`: index days before it are expired.
pub fn keep_from(now_ms: u64, retention_days: u32) -> String {
    storage::utc_day(now_ms.saturating_sub(u64::from(retention_days) * DAY_MS))
}

/// The one retention rule, for serving, listing and sweeping alike: a session is retained
/// while the UTC day it started on (its day-index day) is not before [`keep_from`]. It counts
/// whole days as the day index does, so a session is kept `retention_days` days after the end
/// of its start day at most, and what the read API serves is exactly what the sweep keeps.
pub fn day_retained(day: &str, now_ms: u64, retention_days: u32) -> bool {
    day >= keep_from(now_ms, retention_days).as_str()
}

/// [`day_retained`] for a session that started at `created_ms`.
pub fn retained(created_ms: u64, now_ms: u64, retention_days: u32) -> bool {
    day_retained(&storage::utc_day(created_ms), now_ms, retention_days)
}

/// One expired day-index entry: `index/{project}/days/{day}/{session}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub day: String,
    pub session: String,
}

impl Entry {
    pub fn key(&self, project: &str) -> String {
        storage::listed_day_index_key(project, &self.day, &self.session)
    }
}

/// What one listed page of a project's day index holds.
#[derive(Debug, PartialEq, Eq)]
pub struct Page {
    pub expired: Vec<Entry>,
    /// No expired entry of this project remains past this page.
    pub done: bool,
    /// Where the next page starts (the last key looked at).
    pub start_after: Option<String>,
}

/// Sort a listed page (`keys` in R2's lexicographic order, which is day order) into expired
/// entries; the first retained day ends the project. Keys that are not day-index entries of
/// `project` (none should be) are skipped, not erased.
pub fn read_page(project: &str, keys: &[String], truncated: bool, keep_from: &str) -> Page {
    let prefix = format!("index/{project}/days/");
    let mut expired = Vec::new();
    let mut start_after = None;
    for key in keys {
        let Some(rest) = key.strip_prefix(&prefix) else {
            continue;
        };
        let Some((day, session)) = rest.split_once('/') else {
            continue;
        };
        if day >= keep_from {
            return Page {
                expired,
                done: true,
                start_after,
            };
        }
        if !session.is_empty() && !session.contains('/') {
            expired.push(Entry {
                day: day.to_string(),
                session: session.to_string(),
            });
        }
        start_after = Some(key.clone());
    }
    Page {
        expired,
        done: !truncated || keys.is_empty(),
        start_after,
    }
}

impl Page {
    /// Only the first `handled` expired entries were erased this turn (the budget ran out):
    /// the rest are listed again next turn.
    pub fn cut(&mut self, handled: usize, project: &str) {
        if handled < self.expired.len() {
            self.start_after = handled.checked_sub(1).map(|i| self.expired[i].key(project));
            self.expired.truncate(handled);
            self.done = false;
        }
    }
}

/// When a failed erase is tried again: 30 s after the first failure, four times longer after
/// each further one, at most 6 hours apart. It is never given up: retention must happen.
pub fn retry_delay_ms(attempts: u32) -> u64 {
    const BASE_MS: u64 = 30_000;
    const CAP_MS: u64 = 6 * 3_600_000;
    let exp = attempts.saturating_sub(1).min(10);
    BASE_MS.saturating_mul(4u64.pow(exp)).min(CAP_MS)
}

/// A project in the current cycle and how far its day index has been swept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectCursor {
    pub project: String,
    pub keep_from: String,
    pub source: RetentionSource,
    pub start_after: Option<String>,
    /// The cycle (`Stats::cycles`) that last discovered this project; an older one means it was
    /// carried from an unfinished cycle and not rediscovered yet.
    #[serde(default)]
    pub cycle: u64,
}

/// An erase that failed, waiting for its retry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retry {
    pub project: String,
    pub entry: Entry,
    pub attempts: u32,
    pub due_ms: u64,
}

/// Totals since the sweeper was created (for logs and the test-only status route).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub cycles: u64,
    pub runs: u64,
    pub erased: u64,
    pub failed_attempts: u64,
    pub retried_ok: u64,
    /// Most subrequests any one run spent, and most sessions any one run erased.
    pub max_run_subrequests: u32,
    pub max_run_erased: u32,
    pub last_run_subrequests: u32,
    pub last_run_erased: u32,
}

/// The sweeper's whole state, kept in its storage between alarm runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sweep {
    /// The clock this cycle judges expiry by (fixed when the cycle starts).
    pub now_ms: u64,
    /// A cycle is under way.
    pub active: bool,
    /// More projects to discover; the R2 listing cursor of `index/` folders.
    pub discovering: bool,
    pub discovery_cursor: Option<String>,
    pub queue: VecDeque<ProjectCursor>,
    pub retries: Vec<Retry>,
    pub stats: Stats,
}

impl Sweep {
    /// The cron's poke: a fresh cycle judged at `now_ms`, which discovers every project again.
    /// A cycle still under way does not hold it back (one project's backlog would otherwise
    /// keep the cycle open, and every other project's newly expired data unswept, for ever):
    /// its queued projects keep their cursors, and their rediscovery only moves their window
    /// on ([`Sweep::add_project`]). Pending retries are kept. Returns whether an unfinished
    /// cycle was carried forward.
    pub fn start(&mut self, now_ms: u64) -> bool {
        let carried = self.active;
        self.now_ms = now_ms;
        self.active = true;
        self.discovering = true;
        self.discovery_cursor = None;
        self.stats.cycles += 1;
        carried
    }

    /// Discover more projects now: few of this cycle's projects are queued and the listing is
    /// not exhausted. Projects carried from an unfinished cycle do not count, so however many
    /// of them still have a backlog, discovery (and every other project) goes on beside them.
    pub fn wants_discovery(&self) -> bool {
        let current = self
            .queue
            .iter()
            .filter(|c| c.cycle == self.stats.cycles)
            .count();
        self.active && self.discovering && current < QUEUE_LOW
    }

    /// Add discovered projects (by key, with their stored config) to the back of the queue.
    /// A project still queued from the cycle before keeps its place and its cursor (what lies
    /// before it is erased or waiting in `retries`); its window moves to this cycle's clock.
    pub fn add_project(&mut self, project: &str, config: Option<&str>) {
        let (days, source) = retention_for(config);
        if let Some(c) = self.queue.iter_mut().find(|c| c.project == project) {
            c.keep_from = keep_from(self.now_ms, days);
            c.source = source;
            c.cycle = self.stats.cycles;
            return;
        }
        self.queue.push_back(ProjectCursor {
            project: project.to_string(),
            keep_from: keep_from(self.now_ms, days),
            source,
            start_after: None,
            cycle: self.stats.cycles,
        });
    }

    pub fn discovered_page(&mut self, cursor: Option<String>, truncated: bool) {
        self.discovering = truncated && cursor.is_some();
        self.discovery_cursor = cursor;
    }

    /// Whether the forward sweep may take another turn (retries are not backed up).
    pub fn may_advance(&self) -> bool {
        self.retries.len() < MAX_RETRIES
    }

    /// After a project's turn: back of the queue if more remains.
    pub fn turn_done(&mut self, mut cursor: ProjectCursor, page: &Page) {
        if !page.done {
            cursor.start_after = page.start_after.clone().or(cursor.start_after);
            self.queue.push_back(cursor);
        }
    }

    /// The cycle ends when every project is swept; failed erases stay in `retries`.
    pub fn settle(&mut self) {
        if self.active && !self.discovering && self.queue.is_empty() {
            self.active = false;
        }
    }

    /// An entry already waiting for its retry (a later cycle lists it again): not erased twice.
    pub fn is_pending(&self, project: &str, entry: &Entry) -> bool {
        self.retries
            .iter()
            .any(|r| r.project == project && r.entry == *entry)
    }

    /// Retries due at `now_ms`, oldest due first, taken out of the list (at most `n`).
    pub fn take_due(&mut self, now_ms: u64, n: usize) -> Vec<Retry> {
        self.retries.sort_by_key(|r| r.due_ms);
        let due = self
            .retries
            .iter()
            .take_while(|r| r.due_ms <= now_ms)
            .count()
            .min(n);
        self.retries.drain(..due).collect()
    }

    /// A failed erase (first time or again): tried again after its backoff.
    pub fn failed(&mut self, project: &str, entry: Entry, attempts_before: u32, now_ms: u64) {
        let attempts = attempts_before + 1;
        self.stats.failed_attempts += 1;
        self.retries.push(Retry {
            project: project.to_string(),
            entry,
            attempts,
            due_ms: now_ms + retry_delay_ms(attempts),
        });
    }

    /// When the alarm should fire next: at once while the cycle has work, else at the first
    /// retry's due time, else never (the next cron poke re-arms it).
    pub fn next_alarm(&self, now_ms: u64) -> Option<u64> {
        if self.active && (self.may_advance() || self.retries.is_empty()) {
            return Some(now_ms);
        }
        self.retries.iter().map(|r| r.due_ms.max(now_ms)).min()
    }
}

/// One alarm run's subrequest budget. Erases run in waves of up to [`CONCURRENCY`]; a wave is
/// started only if every erase in it could take [`ERASE_WORST_COST`], and each is then charged
/// what it really spent, so a run never passes [`RUN_BUDGET`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub spent: u32,
}

impl Budget {
    pub fn new() -> Self {
        Budget { spent: 0 }
    }

    pub fn left(&self) -> u32 {
        RUN_BUDGET.saturating_sub(self.spent)
    }

    /// Take `n` subrequests if they are left.
    pub fn take(&mut self, n: u32) -> bool {
        if self.left() < n {
            return false;
        }
        self.spent += n;
        true
    }

    /// Charge what was really spent (already bounded by a reservation).
    pub fn charge(&mut self, n: u32) {
        self.spent += n;
    }

    /// How many erases the next wave may start.
    pub fn wave(&self, wanted: usize) -> usize {
        ((self.left() / ERASE_WORST_COST) as usize)
            .min(CONCURRENCY)
            .min(wanted)
    }

    /// Sessions a project's turn may list: one list call plus what the budget can erase.
    pub fn turn_sessions(&self) -> u32 {
        let left = self.left().saturating_sub(1);
        // Waves shrink as the budget runs low: a generous bound, the waves themselves check.
        let affordable = left / ERASE_WORST_COST * 3;
        affordable.min(TURN_SESSIONS)
    }
}

impl Default for Budget {
    fn default() -> Self {
        Budget::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_795_392_000_000 + 3_600_000; // 2026-11-23 01:00 UTC

    fn keys(project: &str, entries: &[(&str, &str)]) -> Vec<String> {
        entries
            .iter()
            .map(|(d, s)| storage::listed_day_index_key(project, d, s))
            .collect()
    }

    #[test]
    fn the_window_counts_whole_days() {
        assert_eq!(keep_from(NOW, 30), "2026-10-24");
        assert_eq!(keep_from(NOW, 1), "2026-11-22");
        let day_start = 1_792_800_000_000; // 2026-10-24 00:00 UTC
        assert_eq!(storage::utc_day(day_start), "2026-10-24");
        // The whole of a day is retained or none of it.
        assert!(retained(day_start, NOW, 30) && retained(day_start + DAY_MS - 1, NOW, 30));
        assert!(!retained(day_start - 1, NOW, 30));
        assert!(!day_retained("2026-10-23", NOW, 30));
        assert!(day_retained("2026-11-23", NOW, 0));
    }

    #[test]
    fn what_is_served_is_exactly_what_the_sweep_keeps() {
        // Sessions started every 5 hours over two months, judged at hourly clocks: the read
        // API's rule and the sweep's page decision agree on every one.
        for r in [1, 2, 30] {
            for hour in 0..48u64 {
                let now = NOW + hour * 3_600_000;
                let k = keep_from(now, r);
                for i in 0..300u64 {
                    let created = NOW - 60 * DAY_MS + i * 5 * 3_600_000;
                    let key = storage::listed_day_index_key("p", &storage::utc_day(created), "s_1");
                    let page = read_page("p", &[key], false, &k);
                    assert_eq!(
                        retained(created, now, r),
                        page.expired.is_empty(),
                        "r={r} now={now} created={created}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_page_stops_at_the_first_retained_day() {
        let k = keys(
            "p",
            &[
                ("2026-10-01", "s_aaaaaaaa"),
                ("2026-10-23", "s_bbbbbbbb"),
                ("2026-10-24", "s_cccccccc"),
            ],
        );
        let page = read_page("p", &k, true, "2026-10-24");
        assert_eq!(page.expired.len(), 2);
        assert_eq!(page.expired[1].session, "s_bbbbbbbb");
        assert!(
            page.done,
            "a retained day ends the project even if truncated"
        );
        assert_eq!(page.start_after.as_deref(), Some(k[1].as_str()));
    }

    #[test]
    fn a_full_page_of_expired_entries_continues_after_its_last_key() {
        let k = keys(
            "p",
            &[("2026-01-01", "s_aaaaaaaa"), ("2026-01-02", "s_bbbbbbbb")],
        );
        let page = read_page("p", &k, true, "2026-10-24");
        assert!(!page.done);
        assert_eq!(page.start_after.as_deref(), Some(k[1].as_str()));
        let last = read_page("p", &k, false, "2026-10-24");
        assert!(last.done);
        assert!(read_page("p", &[], true, "2026-10-24").done);
    }

    #[test]
    fn a_cut_page_resumes_after_the_last_erased_entry() {
        let k = keys(
            "p",
            &[
                ("2026-01-01", "s_aaaaaaaa"),
                ("2026-01-02", "s_bbbbbbbb"),
                ("2026-01-03", "s_cccccccc"),
            ],
        );
        let mut page = read_page("p", &k, false, "2026-10-24");
        assert!(page.done);
        page.cut(1, "p");
        assert!(!page.done);
        assert_eq!(page.start_after.as_deref(), Some(k[0].as_str()));
        assert_eq!(page.expired.len(), 1);
        let mut none = read_page("p", &k, false, "2026-10-24");
        none.cut(0, "p");
        assert_eq!(none.start_after, None, "the cursor stays where it was");
        let mut all = read_page("p", &k, false, "2026-10-24");
        all.cut(3, "p");
        assert!(all.done);
    }

    #[test]
    fn foreign_or_malformed_keys_are_never_erased() {
        let k = vec![
            "index/other/days/2026-01-01/s_aaaaaaaa".to_string(),
            "index/p/days/2026-01-01/".to_string(),
            "index/p/days/2026-01-01/x/y".to_string(),
            "index/p/days/2026-01-01/s_bbbbbbbb".to_string(),
        ];
        let page = read_page("p", &k, false, "2026-10-24");
        assert_eq!(
            page.expired,
            vec![Entry {
                day: "2026-01-01".into(),
                session: "s_bbbbbbbb".into()
            }]
        );
    }

    #[test]
    fn unreadable_or_removed_configs_get_the_default() {
        assert_eq!(
            retention_for(Some(r#"{"name":"t","type":"web","retention_days":90}"#)),
            (90, RetentionSource::Config)
        );
        assert_eq!(
            retention_for(Some(r#"{"name":"t","type":"web"}"#)),
            (30, RetentionSource::Config)
        );
        assert_eq!(
            retention_for(Some("{not json")),
            (FALLBACK_RETENTION_DAYS, RetentionSource::Unparseable)
        );
        assert_eq!(
            retention_for(Some(r#"{"name":"t","type":"web","retention_days":9999}"#)).1,
            RetentionSource::Unparseable
        );
        assert_eq!(
            retention_for(None),
            (FALLBACK_RETENTION_DAYS, RetentionSource::Removed)
        );
    }

    #[test]
    fn retries_back_off_and_never_give_up() {
        assert_eq!(retry_delay_ms(1), 30_000);
        assert_eq!(retry_delay_ms(2), 120_000);
        assert_eq!(retry_delay_ms(3), 480_000);
        assert_eq!(retry_delay_ms(9), 6 * 3_600_000);
        assert_eq!(retry_delay_ms(u32::MAX), 6 * 3_600_000);
        let mut s = Sweep::default();
        let e = |n: &str| Entry {
            day: "2026-01-01".into(),
            session: n.into(),
        };
        s.failed("p", e("s_late0000"), 2, 1_000);
        s.failed("p", e("s_early000"), 0, 1_000);
        assert!(s.take_due(1_000 + 29_999, 10).is_empty());
        let due = s.take_due(1_000 + 30_000, 10);
        assert_eq!(due.len(), 1);
        assert_eq!(
            (due[0].entry.session.as_str(), due[0].attempts),
            ("s_early000", 1)
        );
        assert_eq!(s.retries.len(), 1);
        assert_eq!(s.stats.failed_attempts, 2);
        // Failing again: attempts grow, the retry goes later.
        s.failed("p", due[0].entry.clone(), due[0].attempts, 31_000);
        assert_eq!(
            s.retries.iter().map(|r| r.due_ms).min(),
            Some(31_000 + 120_000)
        );
    }

    #[test]
    fn projects_take_turns_and_the_cycle_ends_when_all_are_swept() {
        let mut s = Sweep::default();
        assert!(!s.start(NOW));
        assert!(s.wants_discovery());
        s.add_project("a", None);
        s.add_project(
            "b",
            Some(r#"{"name":"t","type":"web","retention_days":90}"#),
        );
        s.add_project("a", None);
        assert_eq!(s.queue.len(), 2);
        s.discovered_page(None, false);
        assert!(!s.wants_discovery());
        assert_eq!(s.next_alarm(5), Some(5));
        // a has more: it goes behind b.
        let a = s.queue.pop_front().unwrap();
        assert_eq!(a.keep_from, "2026-10-24");
        let more = Page {
            expired: vec![],
            done: false,
            start_after: Some("index/a/days/2026-01-01/s_x0000000".into()),
        };
        s.turn_done(a, &more);
        let b = s.queue.pop_front().unwrap();
        assert_eq!(
            (b.project.as_str(), b.keep_from.as_str()),
            ("b", "2026-08-25")
        );
        let finished = Page {
            expired: vec![],
            done: true,
            start_after: None,
        };
        s.turn_done(b, &finished);
        let a = s.queue.pop_front().unwrap();
        assert_eq!(a.start_after, more.start_after);
        s.turn_done(a, &finished);
        s.settle();
        assert!(!s.active);
        assert_eq!(s.next_alarm(5), None);
        // A pending retry re-arms the alarm for its due time; the next poke starts a new cycle.
        s.failed(
            "a",
            Entry {
                day: "d".into(),
                session: "s".into(),
            },
            0,
            100,
        );
        assert_eq!(s.next_alarm(5), Some(30_100));
        assert!(!s.start(NOW + DAY_MS), "nothing carried");
        assert_eq!(s.retries.len(), 1);
        assert_eq!(s.stats.cycles, 2);
    }

    #[test]
    fn projects_with_a_backlog_do_not_hold_back_discovery_of_the_others() {
        let mut s = Sweep::default();
        s.start(NOW);
        for i in 0..2 * QUEUE_LOW {
            s.add_project(&format!("big{i}"), None);
        }
        assert!(
            !s.wants_discovery(),
            "enough of this cycle's projects queued"
        );
        // The next poke: all of them still have a backlog, yet discovery goes on.
        s.start(NOW + DAY_MS);
        assert_eq!(s.queue.len(), 2 * QUEUE_LOW);
        assert!(s.wants_discovery());
        s.add_project("big0", None);
        s.add_project("new", None);
        assert!(s.wants_discovery());
        for i in 0..QUEUE_LOW {
            s.add_project(&format!("new{i}"), None);
        }
        assert!(!s.wants_discovery());
    }

    #[test]
    fn every_poke_makes_progress_for_every_project_even_while_one_has_a_backlog() {
        let mut s = Sweep::default();
        s.start(NOW);
        s.add_project("big", None);
        s.add_project("small", None);
        s.discovered_page(None, false);
        // `small` is swept in one turn; `big` has more than a cycle can erase.
        let big = s.queue.pop_front().unwrap();
        let cut = Some("index/big/days/2026-01-01/s_x0000000".to_string());
        let more = Page {
            expired: vec![],
            done: false,
            start_after: cut.clone(),
        };
        s.turn_done(big, &more);
        let small = s.queue.pop_front().unwrap();
        let finished = Page {
            expired: vec![],
            done: true,
            start_after: None,
        };
        s.turn_done(small, &finished);
        s.settle();
        assert!(s.active, "big still has a backlog");
        // The next day's poke: a fresh cycle judged by the new clock, which finds every project
        // again; big goes on from where it was, small is swept for what expired since.
        assert!(s.start(NOW + DAY_MS));
        assert_eq!(s.now_ms, NOW + DAY_MS);
        assert!(s.wants_discovery());
        s.add_project("big", None);
        s.add_project("small", None);
        s.discovered_page(None, false);
        let queued: Vec<_> = s
            .queue
            .iter()
            .map(|c| {
                (
                    c.project.as_str(),
                    c.keep_from.as_str(),
                    c.start_after.clone(),
                )
            })
            .collect();
        assert_eq!(
            queued,
            [("big", "2026-10-25", cut), ("small", "2026-10-25", None)]
        );
        assert_eq!(s.stats.cycles, 2);
    }

    #[test]
    fn too_many_pending_retries_stop_the_forward_sweep_but_not_the_retries() {
        let mut s = Sweep::default();
        s.start(NOW);
        for i in 0..MAX_RETRIES {
            s.failed(
                "p",
                Entry {
                    day: "d".into(),
                    session: format!("s{i}"),
                },
                0,
                0,
            );
        }
        assert!(!s.may_advance());
        assert_eq!(s.next_alarm(7), Some(30_000), "waits for the retries");
        s.take_due(30_000, 1);
        assert!(s.may_advance());
    }

    #[test]
    fn a_run_never_passes_its_budget() {
        // Whatever each erase really costs (up to the worst case), waves keep the run in budget.
        for cost in [1, 6, 7, ERASE_WORST_COST] {
            let mut b = Budget::new();
            let mut erased = 0;
            while b.take(1) {
                let mut n = b.turn_sessions() as usize;
                if n == 0 {
                    break;
                }
                loop {
                    let w = b.wave(n);
                    if w == 0 {
                        break;
                    }
                    b.charge(cost * w as u32);
                    erased += w;
                    n -= w;
                }
            }
            assert!(b.spent <= RUN_BUDGET, "cost {cost}: spent {}", b.spent);
            assert!(erased > 0);
            if cost == 7 {
                assert!(erased >= 100, "a typical run erases {erased}");
            }
        }
        assert_eq!(Budget::new().wave(100), CONCURRENCY);
    }
}
