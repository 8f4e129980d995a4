//! A session's analytics as its session object keeps them (DO storage `analytics`, beside the
//! masking state): the extraction state, the running totals, and the rows not yet in the
//! project-month store. The object sends a [`Put`] after each stored chunk and when the
//! session ends; a send that fails leaves its rows here for the next one, and every send
//! carries its ordinal so the store appends a send's rows once.

use serde::{Deserialize, Serialize};

use super::extract::{extract_chunk, finish, Extract};
use super::rows::Row;
use super::state::AnalyticsState;
use super::store::Put;
use super::summary::SessionAnalytics;
use crate::json::Value;

/// Rows waiting for the store at most (a store unreachable for that long loses the oldest;
/// the totals still count them).
pub const MAX_UNSENT: usize = 2_000;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Progress {
    pub state: AnalyticsState,
    /// Counts and lists for the search row; its `events` stay empty (they travel as `unsent`).
    pub totals: SessionAnalytics,
    /// Sends the store acknowledged.
    pub sent: u64,
    pub unsent: Vec<Row>,
}

impl Progress {
    /// Extract one stored chunk's masked events.
    pub fn add_chunk(&mut self, events: &[Value<'_>], seq: u32) {
        let x = extract_chunk(events, seq, &mut self.state);
        self.absorb(x);
    }

    /// The session ended (its segment was finalized): settle what waits for a verdict.
    pub fn finish(&mut self) {
        let x = finish(&mut self.state);
        self.absorb(x);
    }

    fn absorb(&mut self, x: Extract) {
        self.totals.add(&x);
        self.totals.events.clear();
        self.unsent.extend(x.rows);
        if self.unsent.len() > MAX_UNSENT {
            let extra = self.unsent.len() - MAX_UNSENT;
            self.unsent.drain(..extra);
        }
    }

    /// The next send.
    pub fn put(
        &self,
        session: &str,
        start_ms: u64,
        duration_ms: u64,
        platform: &str,
        summary: serde_json::Value,
    ) -> Put {
        Put {
            session: session.to_owned(),
            start_ms,
            duration_ms,
            platform: platform.to_owned(),
            totals: self.totals.clone(),
            summary,
            n: self.sent + 1,
            rows: self.unsent.clone(),
        }
    }

    /// The store took send `n`.
    pub fn sent(&mut self, n: u64) {
        self.sent = n;
        self.unsent.clear();
    }
}
