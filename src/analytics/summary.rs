//! The per-session accumulator: the search row's summary fields (DESIGN.md "Session search")
//! and the compact, bounded event list funnels and heatmaps are evaluated on.

use serde::{Deserialize, Serialize};

use super::extract::Extract;
use super::rows::{Device, Row, SignalKind};
use super::RULES;

/// Distinct paths kept.
pub const MAX_PATHS: usize = 20;
/// Distinct custom event names kept (for `event=`).
pub const MAX_NAMES: usize = 20;
/// Signals kept as moments (the first ones, by time).
pub const MAX_MOMENTS: usize = 10;
/// Rows kept in the event list; later ones are counted in `dropped` only.
pub const MAX_ROWS: usize = 2_000;

/// A signal a player can seek to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moment {
    pub kind: SignalKind,
    pub t: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionAnalytics {
    /// [`RULES`] the rows were extracted with.
    pub rules: u32,
    pub page_views: u64,
    pub clicks: u64,
    pub rage: u64,
    pub dead: u64,
    pub errors: u64,
    pub error_clicks: u64,
    pub quick_backs: u64,
    /// Sum of the gaps between consecutive interactions (mouse, touch, scroll, input,
    /// selection, drag) that are ≤ `ACTIVE_GAP_MS`; a longer gap counts nothing.
    pub active_ms: u64,
    /// Path of the first page view (by time).
    pub entry: Option<String>,
    /// Path of the last page view (by time).
    pub exit: Option<String>,
    entry_t: Option<u64>,
    exit_t: Option<u64>,
    /// Distinct paths, first seen first, at most [`MAX_PATHS`].
    pub paths: Vec<String>,
    /// Distinct custom event names, at most [`MAX_NAMES`].
    pub names: Vec<String>,
    /// The first signals by time, at most [`MAX_MOMENTS`].
    pub moments: Vec<Moment>,
    /// By the viewport width of the first page view.
    pub device: Option<Device>,
    /// Rows ordered by `t`, at most [`MAX_ROWS`].
    pub events: Vec<Row>,
    /// Rows not kept in `events` (counts above still include them).
    pub dropped: u64,
}

impl Default for SessionAnalytics {
    fn default() -> Self {
        SessionAnalytics {
            rules: RULES,
            page_views: 0,
            clicks: 0,
            rage: 0,
            dead: 0,
            errors: 0,
            error_clicks: 0,
            quick_backs: 0,
            active_ms: 0,
            entry: None,
            exit: None,
            entry_t: None,
            exit_t: None,
            paths: Vec::new(),
            names: Vec::new(),
            moments: Vec::new(),
            device: None,
            events: Vec::new(),
            dropped: 0,
        }
    }
}

fn add_distinct(list: &mut Vec<String>, s: &str, max: usize) {
    if list.len() < max && !list.iter().any(|p| p == s) {
        list.push(s.to_owned());
    }
}

impl SessionAnalytics {
    pub fn add(&mut self, x: &Extract) {
        self.active_ms = self.active_ms.saturating_add(x.active_ms);
        for row in &x.rows {
            self.count(row);
            if self.events.len() < MAX_ROWS {
                let t = row.t();
                let at = self.events.partition_point(|r| r.t() <= t);
                self.events.insert(at, row.clone());
            } else {
                self.dropped += 1;
            }
        }
    }

    fn count(&mut self, row: &Row) {
        match row {
            Row::Page { t, path, vw, .. } => {
                self.page_views += 1;
                add_distinct(&mut self.paths, path, MAX_PATHS);
                if self.entry_t.is_none_or(|e| *t < e) {
                    self.entry_t = Some(*t);
                    self.entry = Some(path.clone());
                }
                if self.exit_t.is_none_or(|e| *t >= e) {
                    self.exit_t = Some(*t);
                    self.exit = Some(path.clone());
                }
                if self.device.is_none() && *vw > 0 {
                    self.device = Some(Device::of_width(*vw));
                }
            }
            Row::Click { .. } => self.clicks += 1,
            Row::Custom { name, .. } => add_distinct(&mut self.names, name, MAX_NAMES),
            Row::Error { .. } => self.errors += 1,
            Row::Signal { t, signal, .. } => {
                match signal {
                    SignalKind::Rage => self.rage += 1,
                    SignalKind::Dead => self.dead += 1,
                    SignalKind::ErrorClick => self.error_clicks += 1,
                    SignalKind::QuickBack => self.quick_backs += 1,
                }
                let m = Moment {
                    kind: *signal,
                    t: *t,
                };
                let at = self.moments.partition_point(|x| x.t <= m.t);
                if at < MAX_MOMENTS {
                    self.moments.insert(at, m);
                    self.moments.truncate(MAX_MOMENTS);
                }
            }
            Row::PageEnd { .. } | Row::Input { .. } => {}
        }
    }

    /// `has=` of the search: `rage`, `dead`, `error`, `quick_back`.
    pub fn has(&self, signal: &str) -> bool {
        match signal {
            "rage" => self.rage > 0,
            "dead" => self.dead > 0,
            "error" => self.errors > 0,
            "quick_back" => self.quick_backs > 0,
            _ => false,
        }
    }
}
