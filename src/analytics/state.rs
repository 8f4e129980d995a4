//! What extraction carries from one chunk to the next (kept in the session object next to
//! the masking state): small and bounded — the node map (≤ [`MAX_NODES`]), ≤ [`MAX_PENDING`]
//! clicks awaiting a verdict, the open page view, the two views before it, the current
//! viewport and scroll, the rage run in progress, and a few timestamps.

use serde::{Deserialize, Serialize};

use super::desc::Desc;
use super::nodes::Nodes;
use super::MAX_PENDING;

/// A click still waiting for its dead and error verdicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Pending {
    /// Absolute timestamp (ms).
    pub at: u64,
    pub path: String,
    pub cx: u32,
    pub cy: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Desc>,
    /// Still a dead-click candidate: interactive, nothing happened yet.
    pub dead: bool,
    /// Still waiting for an error within the window.
    pub err: bool,
}

/// The rage run in progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Run {
    pub at: u64,
    pub x: f64,
    pub y: f64,
    pub n: u32,
    /// The run's first click: time, cell, target (the signal is reported on it).
    pub first_at: u64,
    pub cx: u32,
    pub cy: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Desc>,
}

/// The page view in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenView {
    /// Absolute start (ms).
    pub at: u64,
    pub path: String,
    /// Hash of the scrubbed href: a Meta naming the same URL is the same view.
    pub href: u64,
    /// Deepest bottom edge so far (px).
    pub depth: u32,
    /// Fields already reported in this view (rrweb ids).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<u32>,
}

/// Cross-chunk extraction state of one session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AnalyticsState {
    /// Timestamp of the first extracted event: rows' `t` are offsets from it.
    pub origin: Option<u64>,
    /// Latest timestamp seen.
    pub last: u64,
    /// Highest seq extracted: an older chunk is late.
    pub seq: Option<u32>,
    pub(crate) nodes: Nodes,
    pub view: Option<OpenView>,
    /// The two views before the open one, newest last: (path, absolute start).
    pub(crate) back: Vec<(String, u64)>,
    pub vw: u32,
    pub vh: u32,
    pub(crate) sx: f64,
    pub(crate) sy: f64,
    pub(crate) pending: Vec<Pending>,
    pub(crate) run: Option<Run>,
    /// Last interaction (for active time).
    pub(crate) active_at: Option<u64>,
    /// A wireframe (mobile) snapshot was seen: taps are touch ends too.
    pub(crate) mobile: bool,
    /// Last mobile touch end: (id, absolute time), so its Click is not a second tap.
    pub(crate) tap: Option<(u32, u64)>,
}

impl AnalyticsState {
    /// A chunk older than the newest extracted one (a retry or an unload race).
    pub fn is_late(&self, seq: u32) -> bool {
        self.seq.is_some_and(|s| seq < s)
    }

    /// The state a late chunk is extracted with: what describes nodes and the viewport is
    /// kept; what orders events in time (open view, history, pending clicks, rage run, active
    /// time) starts empty, so the late events neither settle nor fake later verdicts. It is
    /// thrown away afterwards.
    pub(crate) fn for_late_chunk(&self) -> AnalyticsState {
        AnalyticsState {
            origin: self.origin,
            nodes: self.nodes.clone(),
            vw: self.vw,
            vh: self.vh,
            mobile: self.mobile,
            ..AnalyticsState::default()
        }
    }

    pub(crate) fn offset(&self, at: u64) -> u64 {
        at.saturating_sub(self.origin.unwrap_or(at))
    }

    pub(crate) fn push_pending(&mut self, p: Pending) -> Option<Pending> {
        self.pending.push(p);
        (self.pending.len() > MAX_PENDING).then(|| self.pending.remove(0))
    }
}
