//! Stream builders and the pipeline as the session object will run it: mask, then extract.
#![allow(dead_code)]

use serde_json::{json, Value};
use veilgate::analytics::{self, AnalyticsState, Extract, Row, SessionAnalytics, SignalKind};
use veilgate::privacy::{self, MaskPolicy, MaskState};

/// Node ids of [`page`]'s DOM.
pub const DOC: u64 = 1;
pub const BUY: u64 = 5; // button#buy.primary
pub const BUY_SPAN: u64 = 6; // span inside it
pub const PLAIN: u64 = 7; // div.card
pub const EMAIL: u64 = 8; // input#email (text)
pub const BIO: u64 = 9; // textarea#bio
pub const LINK: u64 = 10; // a.nav
pub const EDITABLE: u64 = 11; // div[contenteditable]
pub const CHECK: u64 = 12; // input[type=checkbox]#terms
pub const ROLE: u64 = 13; // div[role=button].fake
pub const SELECT: u64 = 14; // select#country

fn el(id: u64, tag: &str, attrs: Value, children: Vec<Value>) -> Value {
    json!({"type": 2, "id": id, "tagName": tag, "attributes": attrs, "childNodes": children})
}

/// Meta + full snapshot of a small page with every kind of target.
pub fn page(t: u64, href: &str, w: u32, h: u32) -> Vec<Value> {
    let body = el(
        4,
        "body",
        json!({}),
        vec![
            el(
                BUY,
                "button",
                json!({"id": "buy", "class": "primary"}),
                vec![el(BUY_SPAN, "span", json!({}), vec![])],
            ),
            el(PLAIN, "div", json!({"class": "card"}), vec![]),
            el(
                EMAIL,
                "input",
                json!({"id": "email", "type": "email"}),
                vec![],
            ),
            el(BIO, "textarea", json!({"id": "bio"}), vec![]),
            el(LINK, "a", json!({"class": "nav", "href": "/next"}), vec![]),
            el(EDITABLE, "div", json!({"contenteditable": "true"}), vec![]),
            el(
                CHECK,
                "input",
                json!({"id": "terms", "type": "checkbox"}),
                vec![],
            ),
            el(
                ROLE,
                "div",
                json!({"role": "button", "class": "fake"}),
                vec![],
            ),
            el(SELECT, "select", json!({"id": "country"}), vec![]),
        ],
    );
    let html = el(
        2,
        "html",
        json!({}),
        vec![el(3, "head", json!({}), vec![]), body],
    );
    vec![
        json!({"type": 4, "timestamp": t, "data": {"href": href, "width": w, "height": h}}),
        json!({"type": 2, "timestamp": t, "data": {
            "node": {"type": 0, "id": DOC, "childNodes": [html]},
            "initialOffset": {"top": 0, "left": 0}}}),
    ]
}

pub fn meta(t: u64, href: &str) -> Value {
    json!({"type": 4, "timestamp": t, "data": {"href": href, "width": 1280, "height": 800}})
}

pub fn click(t: u64, id: u64, x: f64, y: f64) -> Value {
    json!({"type": 3, "timestamp": t, "data": {"source": 2, "type": 2, "id": id, "x": x, "y": y}})
}

pub fn mutation(t: u64) -> Value {
    json!({"type": 3, "timestamp": t, "data": {"source": 0, "adds": [], "removes": [], "texts": [], "attributes": []}})
}

pub fn scroll(t: u64, id: u64, y: f64) -> Value {
    json!({"type": 3, "timestamp": t, "data": {"source": 3, "id": id, "x": 0, "y": y}})
}

pub fn input(t: u64, id: u64, text: &str) -> Value {
    json!({"type": 3, "timestamp": t, "data": {"source": 5, "id": id, "text": text, "isChecked": false}})
}

pub fn mouse_move(t: u64) -> Value {
    json!({"type": 3, "timestamp": t, "data": {"source": 1, "positions": [{"x": 1, "y": 1, "id": 4, "timeOffset": 0}]}})
}

pub fn custom(t: u64, tag: &str, payload: Value) -> Value {
    json!({"type": 5, "timestamp": t, "data": {"tag": tag, "payload": payload}})
}

pub fn error(t: u64, message: &str) -> Value {
    custom(
        t,
        "error",
        json!({"message": message, "source": "app.js", "line": 3, "col": 7}),
    )
}

/// A session: its state, summary and every row, chunk by chunk.
pub struct Session {
    pub mask: MaskState,
    pub state: AnalyticsState,
    pub summary: SessionAnalytics,
    pub rows: Vec<Row>,
    pub seq: u32,
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

impl Session {
    pub fn new() -> Self {
        Session {
            mask: MaskState::default(),
            state: AnalyticsState::default(),
            summary: SessionAnalytics::default(),
            rows: Vec::new(),
            seq: 0,
        }
    }

    /// Mask one chunk as the session object does, then extract from the masked tree; the
    /// state goes through its JSON between chunks, as it will in DO storage.
    pub fn chunk_at(&mut self, seq: u32, events: &[Value]) -> Extract {
        let text = serde_json::to_string(events).unwrap();
        let mut tree = veilgate::json::array_from_str(&text).unwrap();
        privacy::mask_chunk(&mut tree, seq, &MaskPolicy::default(), &mut self.mask);
        let x = analytics::extract_chunk(&tree, seq, &mut self.state);
        self.summary.add(&x);
        self.rows.extend(x.rows.iter().cloned());
        let saved = serde_json::to_string(&self.state).unwrap();
        self.state = serde_json::from_str(&saved).unwrap();
        x
    }

    pub fn chunk(&mut self, events: &[Value]) -> Extract {
        let seq = self.seq;
        self.seq += 1;
        self.chunk_at(seq, events)
    }

    pub fn finish(&mut self) -> Extract {
        let x = analytics::finish(&mut self.state);
        self.summary.add(&x);
        self.rows.extend(x.rows.iter().cloned());
        x
    }

    pub fn signals(&self, kind: SignalKind) -> Vec<&Row> {
        self.rows
            .iter()
            .filter(|r| matches!(r, Row::Signal { signal, .. } if *signal == kind))
            .collect()
    }

    pub fn count(&self, kind: SignalKind) -> usize {
        self.signals(kind).len()
    }

    pub fn clicks(&self) -> Vec<&Row> {
        self.rows
            .iter()
            .filter(|r| matches!(r, Row::Click { .. }))
            .collect()
    }
}

/// One chunk, then the session's end.
pub fn run(events: Vec<Value>) -> Session {
    let mut s = Session::new();
    s.chunk(&events);
    s.finish();
    s
}

/// `page` at 1000 followed by `rest`.
pub fn on_page(rest: Vec<Value>) -> Session {
    let mut ev = page(1_000, "https://shop.example/cart", 1280, 800);
    ev.extend(rest);
    run(ev)
}
