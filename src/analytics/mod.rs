//! Behaviour analytics derived from the **masked** recording (DESIGN.md "Behaviour
//! analytics", docs/ANALYTICS.md): page views, clicks, inputs, custom events, errors and the
//! signals (rage, dead, error click, quick back), extracted per chunk from the very tree the
//! masking walk produced, so nothing here can see a byte the recording does not store.
//!
//! Pure Rust, no worker types. The session object calls [`extract_chunk`] right after
//! [`crate::privacy::mask_chunk`] on the same borrowed events, with the session's
//! [`AnalyticsState`] (small, bounded, serde like `MaskState`), adds the returned
//! [`Extract`] to the session's [`SessionAnalytics`] (the search-row summary plus the compact
//! event list funnels and heatmaps are evaluated on), and calls [`finish`] when the session
//! ends so clicks still waiting for a verdict are settled.
//!
//! Layout: `path` (URL path normalisation), `desc` (element descriptors and the tokens they
//! may hold), `nodes` (the pruned node map kept across chunks), `state`, `extract` (the event
//! loop and the signals), `rows` (what comes out), `summary` (the per-session accumulator).
//!
//! Privacy: outputs hold no typed value, no query, no id-like path segment, no visitor id;
//! every kept string (paths, descriptor tokens, custom event names, error messages) went
//! through [`crate::privacy::detect`] again here, after the walk.

mod desc;
mod extract;
mod nodes;
mod path;
pub mod progress;
mod rows;
pub mod search;
mod state;
pub mod store;
mod summary;

pub use desc::{Desc, Selector};
pub use extract::{extract_chunk, extract_events, finish, Extract, ERROR_TAG};
pub use path::normalise_path;
pub use rows::{Device, Row, SignalKind};
pub use state::{AnalyticsState, OpenView};
pub use summary::{Moment, SessionAnalytics};

/// Version of the extraction rules, stored in every row set and answer (`rules`). Bump it
/// when a definition or threshold below changes meaning.
pub const RULES: u32 = 1;

/// A rage run: at least this many clicks …
pub const RAGE_MIN_CLICKS: u32 = 3;
/// … each at most this long after the previous one …
pub const RAGE_MAX_GAP_MS: u64 = 1_000;
/// … and at most this far from it (client coordinates, Euclidean).
pub const RAGE_MAX_DISTANCE_PX: f64 = 30.0;
/// A dead click: no mutation, input, scroll or navigation within this long after it
/// (inclusive), judged only once the recording reaches this far past the click.
pub const DEAD_WAIT_MS: u64 = 2_500;
/// An error click: an error at most this long after the click.
pub const ERROR_CLICK_MS: u64 = 5_000;
/// A quick back: the view before the previous one again, at most this long after the previous.
pub const QUICK_BACK_MS: u64 = 5_000;
/// Active time: gaps between interactions up to this long count, longer ones are idle.
pub const ACTIVE_GAP_MS: u64 = 5_000;
/// Viewport widths (CSS px or points): below this, `mobile` …
pub const TABLET_MIN_WIDTH: u32 = 600;
/// … below this, `tablet`; from here, `desktop`.
pub const DESKTOP_MIN_WIDTH: u32 = 1_024;
/// A path segment (or descriptor token) this long or longer mixing letters and digits is an id.
pub const ID_SEGMENT_MIN_LEN: usize = 16;
/// Heatmap grid: page y rounded down to this many px.
pub const GRID_PX: u32 = 16;
/// Longest custom event name kept (chars).
pub const MAX_NAME_CHARS: usize = 64;
/// Longest error message kept (chars).
pub const MAX_MESSAGE_CHARS: usize = 200;
/// A descriptor keeps at most this many classes.
pub const MAX_CLASSES: usize = 3;
/// Nodes the cross-chunk node map holds at most (hard bound; later nodes are not described
/// until the next full snapshot).
pub const MAX_NODES: usize = 2_048;
/// Clicks waiting for a dead / error verdict, at most (the oldest are settled as not dead).
pub const MAX_PENDING: usize = 32;
/// Fields remembered per page view (an input row once per field).
pub const MAX_FIELDS_PER_VIEW: usize = 64;
/// A mobile tap: a Click within this long of a TouchEnd on the same view is the same tap.
pub const TAP_DEDUP_MS: u64 = 500;
