//! The event loop: each masked event by its type and source, the rows it yields, and the
//! signals judged on the way. rrweb event types: 2 FullSnapshot, 3 IncrementalSnapshot,
//! 4 Meta, 5 Custom; incremental sources: 0 Mutation, 1 MouseMove, 2 MouseInteraction
//! (2 Click, 7 TouchStart, 9 TouchEnd), 3 Scroll, 4 ViewportResize, 5 Input, 6 TouchMove,
//! 12 Drag, 14 Selection.

use crate::json::{Map, Value};
use crate::privacy::detect::{self, Detect};

use super::desc::Desc;
use super::nodes::{id_of, EDITABLE, INTERACTIVE, TEXT};
use super::path::normalise_path;
use super::rows::{Row, SignalKind};
use super::state::{AnalyticsState, OpenView, Pending, Run};
use super::{
    ACTIVE_GAP_MS, DEAD_WAIT_MS, ERROR_CLICK_MS, GRID_PX, MAX_FIELDS_PER_VIEW, MAX_MESSAGE_CHARS,
    MAX_NAME_CHARS, QUICK_BACK_MS, RAGE_MAX_DISTANCE_PX, RAGE_MAX_GAP_MS, RAGE_MIN_CLICKS,
    TAP_DEDUP_MS,
};

/// The custom event tag the SDK records errors under.
pub const ERROR_TAG: &str = "error";
/// Longest error source file name kept (chars).
const MAX_SOURCE_CHARS: usize = 100;

/// What one chunk (or [`finish`]) yielded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extract {
    /// In event order; `t` offsets from the session's first extracted event.
    pub rows: Vec<Row>,
    /// Active time added by this chunk (interaction gaps ≤ [`ACTIVE_GAP_MS`]).
    pub active_ms: u64,
    /// Extracted as a late chunk (see [`AnalyticsState::is_late`]): no cross-chunk signal.
    pub late: bool,
}

/// Extract the chunk with `seq` from its masked events (the session object's call, right
/// after `privacy::mask_chunk` on the same tree). A chunk older than the newest extracted
/// one is extracted against a scratch state (rows, no cross-chunk verdicts) and leaves the
/// state as it was.
pub fn extract_chunk(events: &[Value<'_>], seq: u32, state: &mut AnalyticsState) -> Extract {
    if state.is_late(seq) {
        let mut scratch = state.for_late_chunk();
        let mut x = Walk::run(events, &mut scratch);
        x.late = true;
        return x;
    }
    state.seq = Some(seq);
    Walk::run(events, state)
}

/// [`extract_chunk`] for events known to be in order (tests, tools).
pub fn extract_events(events: &[Value<'_>], state: &mut AnalyticsState) -> Extract {
    Walk::run(events, state)
}

/// The session ended: the open page view is closed at the last event, and clicks still
/// waiting are settled — none is dead (no 2,500 ms of recording followed it), none an
/// error click.
pub fn finish(state: &mut AnalyticsState) -> Extract {
    let mut w = Walk {
        st: state,
        x: Extract::default(),
    };
    w.st.pending.clear();
    w.st.run = None;
    let end = w.st.last;
    w.close_view(end);
    w.x
}

struct Walk<'s> {
    st: &'s mut AnalyticsState,
    x: Extract,
}

fn timestamp(v: Option<&Value>) -> Option<u64> {
    let t = v?.as_f64()?;
    (t.is_finite() && (0.0..1e15).contains(&t)).then_some(t as u64)
}

fn coord(v: Option<&Value>) -> f64 {
    v.and_then(Value::as_f64)
        .filter(|f| f.is_finite())
        .map_or(0.0, |f| f.clamp(-1e7, 1e7))
}

fn dim(v: Option<&Value>) -> Option<u32> {
    let f = v?.as_f64()?;
    (f.is_finite() && f > 0.0 && f < 1e7).then_some(f as u32)
}

/// FNV-1a: the open view remembers its URL by this, not by the text.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn px(f: f64) -> u32 {
    f.round().clamp(0.0, f64::from(u32::MAX)) as u32
}

/// A kept string: at most `max` chars, then through every detector.
fn clean_text(s: &str, max: usize) -> String {
    let s = s.trim();
    let cut: String = s.chars().take(max).collect();
    detect::scrub(&cut, Detect::ALL).into_owned()
}

impl Walk<'_> {
    fn run(events: &[Value<'_>], st: &mut AnalyticsState) -> Extract {
        let mut w = Walk {
            st,
            x: Extract::default(),
        };
        for ev in events {
            w.event(ev);
        }
        w.x
    }

    fn off(&self, at: u64) -> u64 {
        self.st.offset(at)
    }

    fn path(&self) -> String {
        match (&self.st.view, self.st.back.last()) {
            (Some(v), _) => v.path.clone(),
            (None, Some((p, _))) => p.clone(),
            (None, None) => "/".to_owned(),
        }
    }

    fn event(&mut self, ev: &Value) {
        let Some(m) = ev.as_object() else { return };
        // Time never runs backwards inside the state (clock changes, odd clients).
        let at = timestamp(m.get("timestamp"))
            .unwrap_or(self.st.last)
            .max(self.st.last);
        self.st.last = at;
        if self.st.origin.is_none() {
            self.st.origin = Some(at);
        }
        let data = m.get("data").and_then(Value::as_object);
        match (m.get("type").and_then(Value::as_u64), data) {
            (Some(2), Some(d)) => self.snapshot(d, at),
            (Some(3), Some(d)) => self.incremental(d, at),
            (Some(4), Some(d)) => self.meta(d, at),
            (Some(5), Some(d)) => self.custom(d, at),
            _ => {}
        }
        self.judge(at);
    }

    /// Dead verdicts for clicks the recording has now gone [`DEAD_WAIT_MS`] past; clicks
    /// with no verdict left to wait for are dropped.
    fn judge(&mut self, at: u64) {
        let mut dead = Vec::new();
        self.st.pending.retain_mut(|p| {
            if p.dead && at >= p.at.saturating_add(DEAD_WAIT_MS) {
                p.dead = false;
                dead.push((p.at, p.path.clone(), p.cx, p.cy, p.target.clone()));
            }
            if p.err && at > p.at.saturating_add(ERROR_CLICK_MS) {
                p.err = false;
            }
            p.dead || p.err
        });
        for (t, path, cx, cy, target) in dead {
            self.signal(SignalKind::Dead, t, path, Some((cx, cy)), target);
        }
    }

    /// A mutation, input, scroll or navigation: no click within [`DEAD_WAIT_MS`] before it
    /// is dead.
    fn activity(&mut self, at: u64) {
        for p in &mut self.st.pending {
            if at <= p.at.saturating_add(DEAD_WAIT_MS) {
                p.dead = false;
            }
        }
    }

    /// A user interaction, for active time.
    fn interaction(&mut self, at: u64) {
        if let Some(last) = self.st.active_at {
            let gap = at.saturating_sub(last);
            if gap <= ACTIVE_GAP_MS {
                self.x.active_ms += gap;
            }
        }
        self.st.active_at = Some(at);
    }

    fn signal(
        &mut self,
        kind: SignalKind,
        at: u64,
        path: String,
        cell: Option<(u32, u32)>,
        target: Option<Desc>,
    ) {
        self.x.rows.push(Row::Signal {
            t: self.off(at),
            signal: kind,
            path,
            cx: cell.map(|c| c.0),
            cy: cell.map(|c| c.1),
            target,
        });
    }

    fn touch_depth(&mut self) {
        let bottom = px(self.st.sy).saturating_add(self.st.vh);
        if let Some(v) = &mut self.st.view {
            v.depth = v.depth.max(bottom);
        }
    }

    fn meta(&mut self, d: &Map, at: u64) {
        if let (Some(w), Some(h)) = (dim(d.get("width")), dim(d.get("height"))) {
            self.st.vw = w;
            self.st.vh = h;
        }
        self.activity(at);
        if let Some(href) = d.get("href").and_then(Value::as_str) {
            self.navigate(href, at);
        }
        self.touch_depth();
    }

    fn close_view(&mut self, at: u64) {
        if let Some(v) = self.st.view.take() {
            self.x.rows.push(Row::PageEnd {
                t: self.off(v.at),
                path: v.path.clone(),
                ms: at.saturating_sub(v.at),
                depth: v.depth,
            });
            self.st.back.push((v.path, v.at));
            if self.st.back.len() > 2 {
                self.st.back.remove(0);
            }
        }
    }

    /// A Meta event: a new page view unless it names the open view's URL again (a reload or
    /// an rrweb checkout re-describes the same page).
    fn navigate(&mut self, href: &str, at: u64) {
        let key = fnv(href.trim());
        if self.st.view.as_ref().is_some_and(|v| v.href == key) {
            return;
        }
        let path = normalise_path(href);
        self.close_view(at);
        if let [(before, _), (prev, prev_at)] = self.st.back.as_slice() {
            if *before == path && at.saturating_sub(*prev_at) <= QUICK_BACK_MS {
                let left = prev.clone();
                self.signal(SignalKind::QuickBack, at, left, None, None);
            }
        }
        self.st.sx = 0.0;
        self.st.sy = 0.0;
        self.st.run = None;
        self.x.rows.push(Row::Page {
            t: self.off(at),
            path: path.clone(),
            vw: self.st.vw,
            vh: self.st.vh,
        });
        self.st.view = Some(OpenView {
            at,
            path,
            href: key,
            depth: self.st.vh,
            fields: Vec::new(),
        });
    }

    fn snapshot(&mut self, d: &Map, at: u64) {
        self.activity(at);
        self.st.nodes.reset();
        if let Some(frames) = d.get("wireframes").and_then(Value::as_array) {
            self.st.mobile = true;
            self.st.nodes.mobile_snapshot(frames);
        }
        if let Some(root) = d.get("node") {
            self.st.nodes.web_snapshot(root);
        }
        if let Some(o) = d.get("initialOffset") {
            self.st.sx = coord(o.get("left"));
            self.st.sy = coord(o.get("top"));
        }
        if let Some(v) = &mut self.st.view {
            // Fields are rrweb ids: a new snapshot may reuse them.
            v.fields.clear();
        }
        self.touch_depth();
    }

    fn incremental(&mut self, d: &Map, at: u64) {
        match d.get("source").and_then(Value::as_u64) {
            Some(0) => {
                self.activity(at);
                self.mutation(d);
            }
            Some(1 | 6 | 12 | 14) => self.interaction(at),
            Some(2) => {
                self.interaction(at);
                self.mouse(d, at);
            }
            Some(3) => {
                self.activity(at);
                self.interaction(at);
                if self.st.nodes.is_page_scroll(id_of(d.get("id"))) {
                    self.st.sx = coord(d.get("x"));
                    self.st.sy = coord(d.get("y"));
                    self.touch_depth();
                }
            }
            Some(4) => {
                if let (Some(w), Some(h)) = (dim(d.get("width")), dim(d.get("height"))) {
                    self.st.vw = w;
                    self.st.vh = h;
                    self.touch_depth();
                }
            }
            Some(5) => {
                self.activity(at);
                self.interaction(at);
                self.input(d, at);
            }
            _ => {}
        }
    }

    fn mutation(&mut self, d: &Map) {
        let nodes = &mut self.st.nodes;
        if let Some(r) = d.get("removes").and_then(Value::as_array) {
            nodes.remove(r);
        }
        for list in ["adds", "updates"] {
            for e in d.get(list).and_then(Value::as_array).into_iter().flatten() {
                if e.get("wireframe").is_some() {
                    nodes.mobile_entry(e);
                } else if list == "adds" {
                    nodes.web_add(e);
                }
            }
        }
        for e in d
            .get("attributes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            nodes.web_attributes(e);
        }
    }

    fn mouse(&mut self, d: &Map, at: u64) {
        let id = id_of(d.get("id"));
        match d.get("type").and_then(Value::as_u64) {
            Some(2) => {
                // A mobile SDK may send a Click after the TouchEnd of the same tap.
                if let (true, Some((tid, tat)), Some(id)) = (self.st.mobile, self.st.tap, id) {
                    if tid == id && at.saturating_sub(tat) <= TAP_DEDUP_MS {
                        return;
                    }
                }
                self.click(d, id, at);
            }
            Some(9) if self.st.mobile => {
                self.st.tap = id.map(|i| (i, at));
                self.click(d, id, at);
            }
            _ => {}
        }
    }

    fn click(&mut self, d: &Map, id: Option<u32>, at: u64) {
        let (x, y) = (coord(d.get("x")), coord(d.get("y")));
        let desc = self.st.nodes.describe(id);
        let (pxx, pxy) = (px(x + self.st.sx), px(y + self.st.sy));
        let (vw, vh) = (self.st.vw, self.st.vh);
        let cx = if vw > 0 {
            px(f64::from(pxx) * 100.0 / f64::from(vw))
        } else {
            0
        };
        let cy = pxy / GRID_PX * GRID_PX;
        let path = self.path();
        self.x.rows.push(Row::Click {
            t: self.off(at),
            path: path.clone(),
            x: pxx,
            y: pxy,
            vw,
            vh,
            cx,
            cy,
            target: desc.target.clone(),
            control: desc.control.clone(),
        });
        let reported = desc.control.or(desc.target);
        // Rage: runs of close, quick clicks anywhere but on text fields.
        if desc.flags & (TEXT | EDITABLE) != 0 {
            self.st.run = None;
        } else {
            let near = self.st.run.as_ref().is_some_and(|r| {
                at.saturating_sub(r.at) <= RAGE_MAX_GAP_MS
                    && (x - r.x).hypot(y - r.y) <= RAGE_MAX_DISTANCE_PX
            });
            match &mut self.st.run {
                Some(r) if near => {
                    r.n += 1;
                    r.at = at;
                    r.x = x;
                    r.y = y;
                    if r.n == RAGE_MIN_CLICKS {
                        let (t, cell, target) = (r.first_at, (r.cx, r.cy), r.target.clone());
                        self.signal(SignalKind::Rage, t, path.clone(), Some(cell), target);
                    }
                }
                _ => {
                    self.st.run = Some(Run {
                        at,
                        x,
                        y,
                        n: 1,
                        first_at: at,
                        cx,
                        cy,
                        target: reported.clone(),
                    })
                }
            }
        }
        // The oldest waiting click gives way: never dead without evidence.
        let _ = self.st.push_pending(Pending {
            at,
            path,
            cx,
            cy,
            target: reported,
            dead: desc.flags & INTERACTIVE != 0,
            err: true,
        });
    }

    fn input(&mut self, d: &Map, at: u64) {
        let Some(id) = id_of(d.get("id")) else { return };
        let path = self.path();
        let Some(v) = &mut self.st.view else { return };
        if v.fields.contains(&id) || v.fields.len() >= MAX_FIELDS_PER_VIEW {
            return;
        }
        v.fields.push(id);
        if let Some(field) = self.st.nodes.describe(Some(id)).target {
            self.x.rows.push(Row::Input {
                t: self.off(at),
                path,
                field,
            });
        }
    }

    fn custom(&mut self, d: &Map, at: u64) {
        let Some(tag) = d.get("tag").and_then(Value::as_str) else {
            return;
        };
        let path = self.path();
        if tag == ERROR_TAG {
            return self.error(d.get("payload"), path, at);
        }
        let name = clean_text(tag, MAX_NAME_CHARS);
        if !name.is_empty() {
            self.x.rows.push(Row::Custom {
                t: self.off(at),
                path,
                name,
            });
        }
    }

    fn error(&mut self, payload: Option<&Value>, path: String, at: u64) {
        let p = payload.and_then(Value::as_object);
        let field = |k: &str| p.and_then(|p| p.get(k));
        let message = clean_text(
            field("message").and_then(Value::as_str).unwrap_or(""),
            MAX_MESSAGE_CHARS,
        );
        let source = field("source").and_then(Value::as_str).and_then(|s| {
            let s = &s[..s.find(['?', '#']).unwrap_or(s.len())];
            let file = s.rsplit('/').next().unwrap_or("");
            let file = clean_text(file, MAX_SOURCE_CHARS);
            (!file.is_empty()).then_some(file)
        });
        let num = |k: &str| {
            field(k)
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
        };
        self.x.rows.push(Row::Error {
            t: self.off(at),
            path,
            message,
            source,
            line: num("line"),
            col: num("col"),
        });
        let mut hits = Vec::new();
        for p in &mut self.st.pending {
            if p.err && at.saturating_sub(p.at) <= ERROR_CLICK_MS {
                p.err = false;
                hits.push((p.at, p.path.clone(), p.cx, p.cy, p.target.clone()));
            }
        }
        for (t, path, cx, cy, target) in hits {
            self.signal(SignalKind::ErrorClick, t, path, Some((cx, cy)), target);
        }
    }
}
