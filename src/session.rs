//! Session state machine, owned by the session Durable Object: which seqs are stored, segment
//! boundaries (idle / maximum duration), finalization, and the manifest derived from it.
//!
//! Transitions are split in two so that nothing is acknowledged before it is durable:
//! `admit` decides (duplicate or accept) without changing anything; `commit` records a chunk
//! only after its R2 write succeeded. A failed write therefore leaves the state untouched.

use serde::{Deserialize, Serialize};

use crate::envelope::{EventSpan, Platform};

pub mod object;

/// Most chunks one session may hold; past it beacons are refused (413 `session_too_long`).
pub const MAX_CHUNKS: u32 = 10_000;
/// Distinct page URLs (already masked) remembered in the manifest.
pub const MAX_PAGES: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub idle_ms: u64,
    pub max_ms: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            idle_ms: 15 * 60_000,
            max_ms: 60 * 60_000,
        }
    }
}

/// Stored seqs as sorted, disjoint, inclusive ranges: a session's seqs are nearly contiguous,
/// so this stays a handful of pairs however long the session runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeqSet(Vec<(u32, u32)>);

impl SeqSet {
    pub fn contains(&self, seq: u32) -> bool {
        let i = self.0.partition_point(|&(_, hi)| hi < seq);
        self.0.get(i).is_some_and(|&(lo, _)| lo <= seq)
    }

    /// Returns false if already present.
    pub fn insert(&mut self, seq: u32) -> bool {
        let i = self
            .0
            .partition_point(|&(_, hi)| hi.saturating_add(1) < seq);
        match self.0.get_mut(i) {
            Some((lo, hi)) if *lo <= seq && seq <= *hi => return false,
            Some((lo, hi)) if seq.saturating_add(1) >= *lo => {
                // Touches this range: extend, then merge with the next one if they now meet.
                *lo = (*lo).min(seq);
                *hi = (*hi).max(seq);
                if let Some(&(next_lo, next_hi)) = self.0.get(i + 1) {
                    if next_lo <= self.0[i].1.saturating_add(1) {
                        self.0[i].1 = next_hi;
                        self.0.remove(i + 1);
                    }
                }
            }
            _ => self.0.insert(i, (seq, seq)),
        }
        true
    }

    pub fn len(&self) -> u64 {
        self.0.iter().map(|&(lo, hi)| u64::from(hi - lo) + 1).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().flat_map(|&(lo, hi)| lo..=hi)
    }

    pub fn ranges(&self) -> &[(u32, u32)] {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    Complete,
}

/// A stretch of the session without an idle gap and within the maximum duration. A beacon
/// after the session was finalized (or past the maximum) opens the next segment; the storage
/// layout stays keyed by seq.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub index: u32,
    pub started_at: u64,
    pub last_at: u64,
    pub first_seq: u32,
    pub last_seq: u32,
    pub chunks: u32,
    pub complete: bool,
}

/// Coarse device summary, derived from the User-Agent; the raw header is never kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub browser: String,
    pub os: String,
    pub class: String,
}

/// The consent decision last applied in this session (names and codes only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentSummary {
    pub store: bool,
    pub reason: String,
    pub at: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionState {
    pub project: String,
    pub session: String,
    pub visitor: String,
    pub platform: Platform,
    pub created_at: u64,
    pub updated_at: u64,
    pub status: Status,
    pub seqs: SeqSet,
    pub bytes: u64,
    pub events: u64,
    pub first_ts: Option<f64>,
    pub last_ts: Option<f64>,
    pub pages: Vec<String>,
    pub device: Option<Device>,
    pub consent: Option<ConsentSummary>,
    pub segments: Vec<Segment>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Already stored: acknowledge again, store nothing.
    Duplicate,
    /// Store it; `new_segment` when this beacon opens a new segment.
    Accept { new_segment: bool },
    /// The session holds `MAX_CHUNKS` already.
    Full,
}

/// What one stored chunk adds to the state.
#[derive(Debug, Clone)]
pub struct ChunkRecord<'a> {
    pub seq: u32,
    pub bytes: u64,
    pub span: EventSpan,
    /// Already masked.
    pub page: Option<&'a str>,
    pub device: Option<Device>,
}

impl SessionState {
    pub fn new(project: &str, session: &str, visitor: &str, platform: Platform, now: u64) -> Self {
        SessionState {
            project: project.into(),
            session: session.into(),
            visitor: visitor.into(),
            platform,
            created_at: now,
            updated_at: now,
            status: Status::Active,
            seqs: SeqSet::default(),
            bytes: 0,
            events: 0,
            first_ts: None,
            last_ts: None,
            pages: Vec::new(),
            device: None,
            consent: None,
            segments: Vec::new(),
        }
    }

    fn segment_expired(&self, now: u64, t: Timeouts) -> bool {
        match self.segments.last() {
            None => false,
            Some(s) => {
                s.complete
                    || now >= s.last_at.saturating_add(t.idle_ms)
                    || now >= s.started_at.saturating_add(t.max_ms)
            }
        }
    }

    /// Decide about a beacon; changes nothing.
    pub fn admit(&self, seq: u32, now: u64, t: Timeouts) -> Admit {
        if self.seqs.contains(seq) {
            Admit::Duplicate
        } else if self.seqs.len() >= u64::from(MAX_CHUNKS) {
            Admit::Full
        } else {
            Admit::Accept {
                new_segment: self.segments.is_empty() || self.segment_expired(now, t),
            }
        }
    }

    /// Record a chunk whose write succeeded. Idempotent: a seq recorded by a racing request
    /// is not counted twice.
    pub fn commit(&mut self, chunk: ChunkRecord<'_>, now: u64, t: Timeouts) -> bool {
        let new_segment = self.segments.is_empty() || self.segment_expired(now, t);
        if !self.seqs.insert(chunk.seq) {
            return false;
        }
        if new_segment {
            if let Some(last) = self.segments.last_mut() {
                last.complete = true;
            }
            self.segments.push(Segment {
                index: self.segments.len() as u32,
                started_at: now,
                last_at: now,
                first_seq: chunk.seq,
                last_seq: chunk.seq,
                chunks: 0,
                complete: false,
            });
        }
        if let Some(seg) = self.segments.last_mut() {
            seg.last_at = now;
            seg.first_seq = seg.first_seq.min(chunk.seq);
            seg.last_seq = seg.last_seq.max(chunk.seq);
            seg.chunks += 1;
        }
        self.status = Status::Active;
        self.updated_at = now;
        self.bytes += chunk.bytes;
        self.events += chunk.span.count as u64;
        self.first_ts = Some(
            self.first_ts
                .map_or(chunk.span.first_ts, |t| t.min(chunk.span.first_ts)),
        );
        self.last_ts = Some(
            self.last_ts
                .map_or(chunk.span.last_ts, |t| t.max(chunk.span.last_ts)),
        );
        if let Some(page) = chunk.page {
            if self.pages.len() < MAX_PAGES && !self.pages.iter().any(|p| p == page) {
                self.pages.push(page.to_string());
            }
        }
        if self.device.is_none() {
            self.device = chunk.device;
        }
        true
    }

    /// When the alarm should next fire, if the session is still active.
    pub fn next_alarm(&self, t: Timeouts) -> Option<u64> {
        if self.status == Status::Complete {
            return None;
        }
        let seg = self.segments.last()?;
        Some(
            seg.last_at
                .saturating_add(t.idle_ms)
                .min(seg.started_at.saturating_add(t.max_ms)),
        )
    }

    /// The alarm fired at `now`: finalize if the segment is idle or over its maximum.
    /// Returns true when the state changed (the manifest must be rewritten).
    pub fn on_alarm(&mut self, now: u64, t: Timeouts) -> bool {
        if self.status == Status::Complete || !self.segment_expired(now, t) {
            return false;
        }
        if let Some(seg) = self.segments.last_mut() {
            seg.complete = true;
        }
        self.status = Status::Complete;
        self.updated_at = now;
        true
    }

    pub fn manifest(&self) -> Manifest<'_> {
        Manifest {
            v: 1,
            project: &self.project,
            session: &self.session,
            visitor: &self.visitor,
            platform: self.platform,
            status: self.status,
            complete: self.status == Status::Complete,
            created_at: self.created_at,
            updated_at: self.updated_at,
            first_ts: self.first_ts,
            last_ts: self.last_ts,
            chunks: self.seqs.len(),
            bytes: self.bytes,
            events: self.events,
            seqs: self.seqs.iter().collect(),
            segments: &self.segments,
            pages: &self.pages,
            device: self.device.as_ref(),
            consent: self.consent.as_ref(),
        }
    }
}

/// `sessions/{project}/{session}/manifest.json`: what a replay service reads first.
#[derive(Debug, Serialize)]
pub struct Manifest<'a> {
    pub v: u32,
    pub project: &'a str,
    pub session: &'a str,
    pub visitor: &'a str,
    pub platform: Platform,
    pub status: Status,
    pub complete: bool,
    pub created_at: u64,
    pub updated_at: u64,
    pub first_ts: Option<f64>,
    pub last_ts: Option<f64>,
    pub chunks: u64,
    pub bytes: u64,
    pub events: u64,
    pub seqs: Vec<u32>,
    pub segments: &'a [Segment],
    pub pages: &'a [String],
    pub device: Option<&'a Device>,
    pub consent: Option<&'a ConsentSummary>,
}

/// Coarse browser / OS / device class from a User-Agent. Only these three words are kept.
pub fn device_from_user_agent(ua: &str) -> Device {
    let has = |s: &str| ua.contains(s);
    let browser = if has("Edg/") {
        "edge"
    } else if has("OPR/") || has("Opera") {
        "opera"
    } else if has("Firefox/") || has("FxiOS") {
        "firefox"
    } else if has("Chrome/") || has("CriOS") || has("Chromium/") {
        "chrome"
    } else if has("Safari/") {
        "safari"
    } else {
        "other"
    };
    let os = if has("Android") {
        "android"
    } else if has("iPhone") || has("iPad") || has("iPod") {
        "ios"
    } else if has("Windows") {
        "windows"
    } else if has("Mac OS X") || has("Macintosh") {
        "macos"
    } else if has("CrOS") {
        "chromeos"
    } else if has("Linux") {
        "linux"
    } else {
        "other"
    };
    let class = if has("iPad") || (has("Android") && !has("Mobile")) {
        "tablet"
    } else if has("Mobi") || has("iPhone") {
        "mobile"
    } else {
        "desktop"
    };
    Device {
        browser: browser.into(),
        os: os.into(),
        class: class.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timeouts = Timeouts {
        idle_ms: 1_000,
        max_ms: 10_000,
    };

    fn chunk(seq: u32) -> ChunkRecord<'static> {
        ChunkRecord {
            seq,
            bytes: 100,
            span: EventSpan {
                count: 2,
                first_ts: 10.0 + seq as f64,
                last_ts: 20.0 + seq as f64,
            },
            page: Some("https://shop.example/"),
            device: None,
        }
    }

    fn state() -> SessionState {
        SessionState::new("demo_project", "s_12345678", "v_12345678", Platform::Web, 0)
    }

    #[test]
    fn seqset_merges_ranges() {
        let mut s = SeqSet::default();
        for seq in [5, 3, 4, 0, 1, 9, 2, 7, 8] {
            assert!(s.insert(seq));
        }
        assert!(!s.insert(4));
        assert_eq!(s.ranges(), &[(0, 5), (7, 9)]);
        assert!(s.insert(6));
        assert_eq!(s.ranges(), &[(0, 9)]);
        assert_eq!(s.len(), 10);
        assert!(s.contains(9) && !s.contains(10));
        assert_eq!(s.iter().collect::<Vec<_>>(), (0..10).collect::<Vec<_>>());
        let mut s = SeqSet::default();
        s.insert(u32::MAX);
        s.insert(u32::MAX - 1);
        assert_eq!(s.ranges(), &[(u32::MAX - 1, u32::MAX)]);
    }

    #[test]
    fn seqset_matches_a_naive_set() {
        // Deterministic pseudo-random inserts checked against BTreeSet.
        let mut x: u32 = 12345;
        let mut s = SeqSet::default();
        let mut naive = std::collections::BTreeSet::new();
        for _ in 0..5_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let seq = x % 300;
            assert_eq!(s.insert(seq), naive.insert(seq));
            assert!(s.ranges().windows(2).all(|w| w[0].1 + 1 < w[1].0));
        }
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            naive.into_iter().collect::<Vec<_>>()
        );
    }

    #[test]
    fn duplicates_are_acknowledged_not_recounted() {
        let mut s = state();
        assert_eq!(s.admit(0, 0, T), Admit::Accept { new_segment: true });
        assert!(s.commit(chunk(0), 0, T));
        assert_eq!(s.admit(0, 10, T), Admit::Duplicate);
        // A racing request that was admitted before the first commit: counted once.
        assert!(!s.commit(chunk(0), 10, T));
        assert_eq!(s.manifest().chunks, 1);
        assert_eq!(s.bytes, 100);
    }

    #[test]
    fn out_of_order_chunks_keep_the_span() {
        let mut s = state();
        for seq in [2, 0, 1] {
            assert!(s.commit(chunk(seq), 100, T));
        }
        let m = s.manifest();
        assert_eq!(m.seqs, vec![0, 1, 2]);
        assert_eq!((m.first_ts, m.last_ts), (Some(10.0), Some(22.0)));
        assert_eq!(m.pages.len(), 1);
        assert_eq!(s.segments.len(), 1);
        assert_eq!((s.segments[0].first_seq, s.segments[0].last_seq), (0, 2));
    }

    #[test]
    fn idle_alarm_finalizes_and_a_later_beacon_opens_a_segment() {
        let mut s = state();
        s.commit(chunk(0), 0, T);
        assert_eq!(s.next_alarm(T), Some(1_000));
        assert!(!s.on_alarm(999, T));
        assert!(s.on_alarm(1_000, T));
        assert!(s.manifest().complete);
        assert_eq!(s.next_alarm(T), None);
        assert!(!s.on_alarm(5_000, T));
        assert_eq!(s.admit(1, 5_000, T), Admit::Accept { new_segment: true });
        s.commit(chunk(1), 5_000, T);
        assert_eq!(s.status, Status::Active);
        assert_eq!(s.segments.len(), 2);
        assert!(s.segments[0].complete && !s.segments[1].complete);
    }

    #[test]
    fn maximum_duration_splits_even_without_idle() {
        let mut s = state();
        for (i, now) in (0..=10_000).step_by(500).enumerate() {
            s.commit(chunk(i as u32), now, T);
        }
        // The beacon at 10_000 hit the maximum and opened segment 1.
        assert_eq!(s.segments.len(), 2);
        assert_eq!(s.segments[1].started_at, 10_000);
        assert_eq!(s.next_alarm(T), Some(11_000));
    }

    #[test]
    fn admit_refuses_past_the_cap() {
        let mut s = state();
        s.seqs = SeqSet(vec![(0, MAX_CHUNKS - 1)]);
        assert_eq!(s.admit(MAX_CHUNKS, 0, T), Admit::Full);
        assert_eq!(s.admit(5, 0, T), Admit::Duplicate);
    }

    #[test]
    fn user_agents() {
        let d = device_from_user_agent(
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
        );
        assert_eq!(
            (d.browser.as_str(), d.os.as_str(), d.class.as_str()),
            ("chrome", "linux", "desktop")
        );
        let d = device_from_user_agent(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
        );
        assert_eq!(
            (d.browser.as_str(), d.os.as_str(), d.class.as_str()),
            ("safari", "ios", "mobile")
        );
        let d = device_from_user_agent("");
        assert_eq!((d.browser.as_str(), d.os.as_str()), ("other", "other"));
    }
}
