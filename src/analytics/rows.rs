//! What extraction produces: rows with `t` offsets (ms since the session's first extracted
//! event), the shape later storage, search, heatmaps and funnels read.

use serde::{Deserialize, Serialize};

use super::{Desc, DESKTOP_MIN_WIDTH, TABLET_MIN_WIDTH};

/// Device class by viewport width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    Mobile,
    Tablet,
    Desktop,
}

impl Device {
    pub fn of_width(w: u32) -> Device {
        if w < TABLET_MIN_WIDTH {
            Device::Mobile
        } else if w < DESKTOP_MIN_WIDTH {
            Device::Tablet
        } else {
            Device::Desktop
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalKind {
    Rage,
    Dead,
    ErrorClick,
    QuickBack,
}

/// One extracted fact. Coordinates are CSS px (points on mobile); `cx` is page x ÷ viewport
/// width in hundredths, `cy` page y rounded down to the [`super::GRID_PX`] grid: a heatmap cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Row {
    /// A page (screen) view starts.
    Page {
        t: u64,
        path: String,
        vw: u32,
        vh: u32,
    },
    /// A page view ends (the next view starts, or the session ended): its time on page and
    /// the deepest bottom edge seen (scroll y + viewport height).
    PageEnd {
        /// The view's start (its `page` row's `t`).
        t: u64,
        path: String,
        ms: u64,
        depth: u32,
    },
    Click {
        t: u64,
        path: String,
        x: u32,
        y: u32,
        vw: u32,
        vh: u32,
        cx: u32,
        cy: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<Desc>,
        /// The nearest interactive element among the target and its ancestors.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        control: Option<Desc>,
    },
    /// First input into a field during a page view (never the value).
    Input { t: u64, path: String, field: Desc },
    /// `veilgate.track(name, …)`: the name only.
    Custom { t: u64, path: String, name: String },
    /// An uncaught exception or unhandled rejection the SDK recorded.
    Error {
        t: u64,
        path: String,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        line: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        col: Option<u32>,
    },
    /// A signal. Click signals carry the click's `t`, cell and target; a quick back the time
    /// of the return and the path that was left quickly.
    Signal {
        t: u64,
        signal: SignalKind,
        path: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cx: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cy: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<Desc>,
    },
}

impl Row {
    pub fn t(&self) -> u64 {
        match self {
            Row::Page { t, .. }
            | Row::PageEnd { t, .. }
            | Row::Click { t, .. }
            | Row::Input { t, .. }
            | Row::Custom { t, .. }
            | Row::Error { t, .. }
            | Row::Signal { t, .. } => *t,
        }
    }
}
