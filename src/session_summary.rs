//! The small per-session summary kept with a session's day-index entry
//! (`index/{project}/days/{day}/{session}`, R2 custom metadata `summary`), so the sessions list
//! shows what each session is without one manifest read per row.
//!
//! It holds no personal data: no visitor id (not even the pseudonymous one the manifest has),
//! no page URL (only how many pages), the coarse device words, the platform and the consent
//! reason code. R2 limits an object's custom metadata to 2 KiB; every field here is bounded
//! (numbers, three device words, a reason code), so it fits with room to spare.

use serde::{Deserialize, Serialize};

use crate::envelope::Platform;
use crate::session::{Device, SessionState, Status};

/// The custom-metadata key the summary is stored under (as one JSON string).
pub const META_KEY: &str = "summary";

/// Longest summary accepted back from storage; anything longer was not written by us.
const MAX_LEN: usize = 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionSummary {
    pub v: u32,
    /// When the first stored beacon arrived (ms since the epoch).
    pub started_at: u64,
    /// When the summary was last brought up to date (a segment started or was finalized).
    pub updated_at: u64,
    /// Span of the recorded events (last event timestamp − first), ms; 0 before any chunk.
    pub duration_ms: u64,
    pub chunks: u64,
    pub events: u64,
    /// Distinct pages recorded (the URLs stay in the manifest).
    pub pages: u64,
    pub platform: Platform,
    pub device: Option<Device>,
    /// The consent decision last applied: stored or not, and its reason code.
    pub consent: Option<ConsentOutcome>,
    pub status: Status,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentOutcome {
    pub store: bool,
    pub reason: String,
}

impl SessionSummary {
    pub fn of(s: &SessionState) -> SessionSummary {
        let duration_ms = match (s.first_ts, s.last_ts) {
            (Some(a), Some(b)) if b > a && (b - a).is_finite() => (b - a) as u64,
            _ => 0,
        };
        SessionSummary {
            v: 1,
            started_at: s.created_at,
            updated_at: s.updated_at,
            duration_ms,
            chunks: s.seqs.len(),
            events: s.events,
            pages: s.pages.len() as u64,
            platform: s.platform,
            device: s.device.clone(),
            consent: s.consent.as_ref().map(|c| ConsentOutcome {
                store: c.store,
                reason: c.reason.clone(),
            }),
            status: s.status,
        }
    }

    /// The custom metadata of the day-index entry.
    pub fn to_metadata(&self) -> Vec<(String, String)> {
        // Serialising numbers, enums and short strings cannot fail.
        vec![(
            META_KEY.to_string(),
            serde_json::to_string(self).unwrap_or_default(),
        )]
    }

    /// The summary of a listed index entry; `None` for an entry written before summaries
    /// existed (an empty object) or for metadata that is not ours.
    pub fn from_metadata<'a>(
        mut meta: impl Iterator<Item = (&'a str, &'a str)>,
    ) -> Option<SessionSummary> {
        let (_, text) = meta.find(|(k, _)| *k == META_KEY)?;
        if text.len() > MAX_LEN {
            return None;
        }
        serde_json::from_str(text).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::EventSpan;
    use crate::session::{ChunkRecord, ConsentSummary, Timeouts};

    const T: Timeouts = Timeouts {
        idle_ms: 1_000,
        max_ms: 10_000,
    };

    fn session() -> SessionState {
        let mut s = SessionState::new("demo", "s_12345678", "v_secretvisitor", Platform::Web, 500);
        s.consent = Some(ConsentSummary {
            store: true,
            reason: "not_opted_out".into(),
            at: 500,
        });
        for (seq, page) in [(0, "https://shop.example/a"), (1, "https://shop.example/b")] {
            s.commit(
                ChunkRecord {
                    seq,
                    bytes: 10,
                    span: EventSpan {
                        count: 3,
                        first_ts: 1_000.0 + 2_000.0 * seq as f64,
                        last_ts: 2_500.0 + 2_000.0 * seq as f64,
                    },
                    page: Some(page),
                    device: Some(Device {
                        browser: "chrome".into(),
                        os: "linux".into(),
                        class: "desktop".into(),
                    }),
                },
                600 + u64::from(seq),
                T,
            );
        }
        s
    }

    #[test]
    fn summarises_what_the_manifest_knows() {
        let s = session();
        let sum = SessionSummary::of(&s);
        assert_eq!(sum.started_at, 500);
        assert_eq!(sum.updated_at, 601);
        assert_eq!(sum.duration_ms, 3_500);
        assert_eq!((sum.chunks, sum.events, sum.pages), (2, 6, 2));
        assert_eq!(sum.device.as_ref().unwrap().class, "desktop");
        assert_eq!(sum.consent.as_ref().unwrap().reason, "not_opted_out");
        assert_eq!(sum.status, Status::Active);
        let mut done = s.clone();
        assert!(done.on_alarm(10_000, T));
        assert_eq!(SessionSummary::of(&done).status, Status::Complete);
    }

    #[test]
    fn holds_no_visitor_id_no_url_and_fits_r2_metadata() {
        let meta = SessionSummary::of(&session()).to_metadata();
        let text = &meta[0].1;
        assert!(!text.contains("v_secretvisitor"), "{text}");
        assert!(!text.contains("shop.example"), "{text}");
        // R2: custom metadata (keys and values) at most 2 KiB.
        assert!(meta.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>() < 2048);
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(v["consent"]["store"], true);
        assert_eq!(v["status"], "active");
        assert_eq!(v["platform"], "web");
    }

    #[test]
    fn reads_back_and_tolerates_old_or_foreign_entries() {
        let sum = SessionSummary::of(&session());
        let meta = sum.to_metadata();
        let back =
            SessionSummary::from_metadata(meta.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(back, Some(sum));
        // An entry from before summaries: no metadata at all.
        assert_eq!(SessionSummary::from_metadata(std::iter::empty()), None);
        for bad in ["", "{}", "not json", &"x".repeat(5_000)] {
            assert_eq!(
                SessionSummary::from_metadata([(META_KEY, bad)].into_iter()),
                None
            );
        }
        // A fresh session (index written before its first chunk): zero counts, no span.
        let fresh = SessionState::new("demo", "s_12345678", "v_1", Platform::Ios, 9);
        let f = SessionSummary::of(&fresh);
        assert_eq!((f.duration_ms, f.chunks, f.events, f.pages), (0, 0, 0, 0));
    }
}
