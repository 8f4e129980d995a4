//! The pins of a verification: live heads and rollups read before the records they pin, and
//! checked where the stream of records reaches their count (see the parent module's doc).

use super::{log_chain, Pin, Verifier};
use crate::audit::keys::{rollup_key, segment_key};
use crate::audit::log::segment::Rollup;
use crate::audit::log::writer::LiveHead;
use crate::audit::verify::Problem;

impl Verifier {
    /// Pin the logs' live heads, read before any segment. A head without a record count
    /// (from an object older than the count) is left to [`Verifier::finish`].
    pub fn pin_live(&mut self, live: &[LiveHead]) -> Vec<LiveHead> {
        self.live_pinned = true;
        let mut unpinned = Vec::new();
        for l in live {
            match (&l.day, l.records) {
                (Some(day), Some(records)) => {
                    self.live_pins.insert(
                        l.shard,
                        Pin {
                            day: day.clone(),
                            records,
                            segments: l.n + 1,
                            head: l.head.clone(),
                            reached: false,
                        },
                    );
                }
                (Some(_), None) => unpinned.push(l.clone()),
                (None, _) => {}
            }
        }
        unpinned
    }

    /// Pin `day`'s rollups (`(shard, text)`; a missing one is absent), read before the day's
    /// segments are fed.
    pub fn pin_day(&mut self, day: &str, rollups: &[(u32, Option<String>)]) {
        for (shard, text) in rollups {
            let pin = match text {
                None => None,
                Some(t) => match serde_json::from_str::<Rollup>(t) {
                    Ok(r) => Some(Pin {
                        day: day.to_string(),
                        records: r.records,
                        segments: r.segments,
                        head: r.head,
                        reached: false,
                    }),
                    Err(e) => {
                        let key = rollup_key(&self.project, day, *shard);
                        self.problem(
                            log_chain(*shard),
                            0,
                            &key,
                            Problem::Unparseable {
                                error: e.to_string(),
                            },
                        );
                        // Unreadable is already named; not also "missing".
                        self.day_pins.insert(
                            *shard,
                            (
                                day.to_string(),
                                Some(Pin {
                                    day: day.to_string(),
                                    records: 0,
                                    segments: 0,
                                    head: String::new(),
                                    reached: true,
                                }),
                            ),
                        );
                        continue;
                    }
                },
            };
            self.day_pins.insert(*shard, (day.to_string(), pin));
        }
    }

    /// `day`'s segments are all fed: a pinned rollup the stream did not reach is a
    /// truncation, and one absent while the day has segments is missing (unless the day
    /// began after the live heads were read).
    pub fn end_day(&mut self, day: &str) {
        self.days_checked.insert(day.to_string());
        let pins: Vec<(u32, Option<Pin>)> = self
            .day_pins
            .iter()
            .filter(|(_, (d, _))| d == day)
            .map(|(s, (_, p))| (*s, p.clone()))
            .collect();
        for (shard, pin) in pins {
            self.day_pins.remove(&shard);
            let key = rollup_key(&self.project, day, shard);
            let chain = log_chain(shard);
            let seen = self
                .shards
                .get(&shard)
                .filter(|p| p.day == day)
                .map(|p| p.day_records);
            match pin {
                None => {
                    let begun_after_start = self.live_pinned
                        && self
                            .live_pins
                            .get(&shard)
                            .is_none_or(|l| l.day.as_str() < day);
                    if seen.is_some() && !begun_after_start {
                        self.problem(chain, 0, &key, Problem::Missing);
                    }
                }
                Some(p) if !p.reached && p.records > 0 => self.problem(
                    chain,
                    0,
                    &key,
                    Problem::Truncated {
                        expected_count: p.records,
                        found_count: seen.unwrap_or(0),
                    },
                ),
                // A day the log had left when its live head was read takes no more records:
                // there the rollup must count exactly what the segments hold (an edited, lower
                // count is not a rollup read early). An unreadable rollup is already named.
                Some(p)
                    if !p.head.is_empty()
                        && seen.unwrap_or(0) != p.records
                        && self
                            .live_pins
                            .get(&shard)
                            .is_some_and(|l| l.day.as_str() > day) =>
                {
                    self.problem(
                        chain,
                        0,
                        &key,
                        Problem::Truncated {
                            expected_count: p.records,
                            found_count: seen.unwrap_or(0),
                        },
                    )
                }
                Some(_) => {}
            }
        }
    }

    /// Check the pins of `shard` whose count falls in a segment of `day`, number `n`, that
    /// holds day records `before + 1 ..= before + heads.len() - 1`; `heads[k]` is the log
    /// head after its first `k` records.
    pub(super) fn check_pins(
        &mut self,
        shard: u32,
        day: &str,
        n: u64,
        day_segments: u64,
        before: u64,
        heads: &[String],
    ) {
        let count = heads.len() as u64 - 1;
        let in_here = |p: &Pin| {
            !p.reached && p.day == day && p.records > before && p.records <= before + count
        };
        let chain = log_chain(shard);
        let mut found = Vec::new();
        if let Some((_, Some(p))) = self.day_pins.get_mut(&shard) {
            if in_here(p) {
                p.reached = true;
                found.push((p.clone(), rollup_key(&self.project, day, shard)));
            }
        }
        if let Some(p) = self.live_pins.get_mut(&shard) {
            if in_here(p) {
                p.reached = true;
                found.push((
                    p.clone(),
                    segment_key(&self.project, day, shard, p.segments - 1),
                ));
            }
        }
        for (p, key) in found {
            let at = &heads[(p.records - before) as usize];
            if p.segments != day_segments + 1 {
                self.problem(
                    chain.clone(),
                    0,
                    &key,
                    Problem::Gap {
                        expected_seq: p.segments.saturating_sub(1),
                        found_seq: n,
                    },
                );
            } else if *at != p.head {
                self.problem(
                    chain.clone(),
                    0,
                    &key,
                    Problem::HeadMismatch {
                        expected: p.head.clone(),
                        found: at.clone(),
                    },
                );
            }
        }
    }
}
