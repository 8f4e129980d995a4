//! Verification of the stored log in bounded steps: fed segments in key order, each day's
//! rollups and the logs' live heads; it checks the log chain, the session chains inside it,
//! segment numbering, the rollups' counts and that the log reaches where its object says.
//! Serialisable, so a verify job carries it from one alarm to the next.
//!
//! A rollup or a live head *pins* the log: after `records` records of its day the log head is
//! `head`. The log may be appended to while it is read, so a pin is read before the records it
//! pins ([`Verifier::pin_live`] at the start, [`Verifier::pin_day`] before a day's segments)
//! and checked where the stream reaches its count: records appended after the pin was read
//! only come after that position (the chain still covers them), while a record deleted,
//! changed or reordered before it moves the head there, and a pin never reached is a
//! truncation.

mod pins;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::segment::{split_segment, Rollup};
use super::writer::LiveHead;
use crate::audit::chain::{genesis, log_step};
use crate::audit::keys::{log_shard, parse_segment_key, rollup_key, segment_key};
use crate::audit::records::{AuditRecord, RECORD_VERSION};
use crate::audit::verify::{Broken, ChainBreak, Problem};

/// Most problems a verification keeps (the count of all is kept too).
pub const MAX_PROBLEMS: usize = 100;
/// Most chain tails the verifier remembers to check session-chain links across segments.
pub const MAX_TAILS: usize = 512;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct ShardPos {
    day: String,
    n: u64,
    head: String,
    /// Records and segments seen for `day` (compared with its rollup).
    day_records: u64,
    day_segments: u64,
}

/// Where one shard's log must be after `records` records of `day` (a rollup or a live head).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Pin {
    day: String,
    records: u64,
    /// Segments of the day up to that record (for a live head, its segment's `n + 1`).
    segments: u64,
    head: String,
    reached: bool,
}

/// A verification in progress: the live heads first ([`Verifier::pin_live`]), then for each
/// day of the range in order its rollups ([`Verifier::pin_day`]), its segments in key order
/// (shard, then n) and [`Verifier::end_day`]; then [`Verifier::finish`]. Serialisable, so a
/// job can carry it from one alarm to the next.
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
    /// Per shard, the pinned rollup of the day being read (`None`: it was absent).
    #[serde(default)]
    day_pins: BTreeMap<u32, (String, Option<Pin>)>,
    /// Per shard, its live head read at the start (at most one each).
    #[serde(default)]
    live_pins: BTreeMap<u32, Pin>,
    /// Whether [`Verifier::pin_live`] was called (then a rollup absent when pinned may be a
    /// day begun after the start).
    #[serde(default)]
    live_pinned: bool,
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
    /// Always empty: the per-record verification's field, kept so its readers parse this
    /// answer too; the log chain covers what the anchors checked there.
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
            day_pins: BTreeMap::new(),
            live_pins: BTreeMap::new(),
            live_pinned: false,
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
        // Log head after each number of records (for the pins).
        let mut heads = Vec::with_capacity(lines.len() + 1);
        for (i, line) in lines.iter().enumerate() {
            heads.push(head.clone());
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
        heads.push(head.clone());
        self.check_pins(shard, &day, n, day_segments, day_records, &heads);
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

    /// Check `day`'s rollups read *after* its segments, so they must match the segments fed
    /// exactly: for a log nothing writes to while it is read (seed data, tests); a live log
    /// is verified with [`Verifier::pin_day`] and [`Verifier::end_day`].
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

    /// Finish: a pinned live head in the range that the stream did not reach is named; `live`
    /// are heads read *after* the segments (unpinned), where the log must end exactly.
    pub fn finish(mut self, live: &[LiveHead]) -> Verification {
        let unreached: Vec<(u32, Pin)> = self
            .live_pins
            .iter()
            .filter(|(_, p)| !p.reached)
            .filter(|(_, p)| {
                p.day.as_str() >= self.first_day.as_str()
                    && p.day.as_str() <= self.last_day.as_str()
            })
            .map(|(s, p)| (*s, p.clone()))
            .collect();
        for (shard, pin) in unreached {
            let n = pin.segments.saturating_sub(1);
            let key = segment_key(&self.project, &pin.day, shard, n);
            let chain = log_chain(shard);
            match self.shards.get(&shard).cloned() {
                Some(p) if p.day == pin.day && p.n == n => self.problem(
                    chain,
                    0,
                    &key,
                    Problem::Truncated {
                        expected_count: pin.records,
                        found_count: p.day_records,
                    },
                ),
                Some(p) => self.problem(
                    chain,
                    0,
                    &key,
                    Problem::Gap {
                        expected_seq: n,
                        found_seq: p.n,
                    },
                ),
                None => self.problem(chain, 0, &key, Problem::Missing),
            }
        }
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

    /// Whether the live heads are pinned yet (the job reads them first).
    pub fn live_pinned(&self) -> bool {
        self.live_pinned
    }

    /// Days already checked (the glue calls [`Verifier::end_day`] once per day).
    pub fn day_checked(&self, day: &str) -> bool {
        self.days_checked.contains(day)
    }
}
