//! The dispatch: each event by its type, each incremental snapshot by its source, each
//! mutation entry by its shape (web node or mobile wireframe). Incremental sources (rrweb
//! `IncrementalSource`): 0 Mutation, 1 MouseMove, 2 MouseInteraction, 3 Scroll,
//! 4 ViewportResize, 5 Input, 6 TouchMove, 7 MediaInteraction, 8 StyleSheetRule,
//! 9 CanvasMutation, 10 Font, 11 Log, 12 Drag, 13 StyleDeclaration, 14 Selection,
//! 15 AdoptedStyleSheet, 16 CustomElement.

use std::borrow::Cow;

use crate::json::Value;
use crate::privacy::detect;
use crate::privacy::state::{flag, Facts};

use super::{as_id, mobile, Kind, Walker};

fn known_event(k: &str) -> Option<Kind> {
    match k {
        "type" | "timestamp" | "delay" => Some(Kind::Num),
        "data" => Some(Kind::Any),
        _ => None,
    }
}

fn known_meta(k: &str) -> Option<Kind> {
    match k {
        "href" => Some(Kind::Str),
        "width" | "height" => Some(Kind::Num),
        _ => None,
    }
}

fn known_snapshot(k: &str) -> Option<Kind> {
    match k {
        "node" | "wireframes" => Some(Kind::Any),
        "initialOffset" => Some(Kind::Fields(known_offset)),
        _ => None,
    }
}

fn known_offset(k: &str) -> Option<Kind> {
    match k {
        "top" | "left" => Some(Kind::Num),
        _ => None,
    }
}

fn known_mutation(k: &str) -> Option<Kind> {
    match k {
        "source" => Some(Kind::Num),
        "adds" | "removes" | "texts" | "attributes" | "updates" => Some(Kind::Arr),
        "isAttachIframe" => Some(Kind::Bool),
        _ => None,
    }
}

fn known_input(k: &str) -> Option<Kind> {
    match k {
        "source" | "id" => Some(Kind::Num),
        "text" => Some(Kind::Str),
        "isChecked" | "userTriggered" => Some(Kind::Bool),
        _ => None,
    }
}

fn known_canvas(k: &str) -> Option<Kind> {
    match k {
        "source" | "id" | "type" => Some(Kind::Num),
        "commands" | "args" => Some(Kind::Any),
        "property" => Some(Kind::Str),
        "setter" => Some(Kind::Bool),
        _ => None,
    }
}

/// Pointer, scroll, resize, media, selection, drag (sources 1, 2, 3, 4, 6, 7, 12, 14).
fn known_pointer(k: &str) -> Option<Kind> {
    match k {
        "source" | "id" | "x" | "y" | "type" | "pointerType" | "width" | "height"
        | "currentTime" | "volume" | "playbackRate" => Some(Kind::Num),
        "muted" | "loop" => Some(Kind::Bool),
        "positions" => Some(Kind::Entries(known_position)),
        "ranges" => Some(Kind::Entries(known_range)),
        _ => None,
    }
}

fn known_position(k: &str) -> Option<Kind> {
    match k {
        "x" | "y" | "id" | "timeOffset" => Some(Kind::Num),
        _ => None,
    }
}

fn known_range(k: &str) -> Option<Kind> {
    match k {
        "start" | "startOffset" | "end" | "endOffset" => Some(Kind::Num),
        _ => None,
    }
}

/// StyleSheetRule, Font, StyleDeclaration, AdoptedStyleSheet, CustomElement (8, 10, 13, 15,
/// 16): CSS, font and element names, kept.
fn known_css(k: &str) -> Option<Kind> {
    match k {
        "source" | "id" | "styleId" => Some(Kind::Num),
        "adds" | "removes" | "replace" | "replaceSync" | "family" | "fontSource" | "buffer"
        | "descriptors" | "index" | "set" | "remove" | "styleIds" | "styles" | "define" => {
            Some(Kind::Any)
        }
        _ => None,
    }
}

fn known_asset(k: &str) -> Option<Kind> {
    match k {
        "url" => Some(Kind::Str),
        "payload" => Some(Kind::Any),
        _ => None,
    }
}

impl Walker<'_> {
    pub fn event(&mut self, ev: &mut Value) {
        self.report.events += 1;
        let Value::Object(obj) = ev else {
            self.scrub_json_masked(ev);
            return;
        };
        let ty = obj.get("type").and_then(Value::as_u64);
        if let Some(data) = obj.get_mut("data") {
            match ty {
                Some(2) => self.full_snapshot(data),
                Some(3) => self.incremental(data),
                Some(4) => self.meta(data),
                Some(7) => self.asset(data),
                Some(6) => (self.plugin_walk)(self, data),
                // Custom ({tag, payload}), Plugin, Annotation, DomContentLoaded, Load and
                // unknown types: every string.
                _ => self.scrub_json(data, Facts::NONE),
            }
        }
        self.rest(obj, known_event, Facts::NONE);
    }

    fn meta(&mut self, data: &mut Value) {
        let Value::Object(m) = data else {
            return self.scrub_json_masked(data);
        };
        if let Some(h) = m.get_mut("href") {
            self.url_value(h, Facts::NONE);
        }
        self.rest(m, known_meta, Facts::NONE);
    }

    /// A web snapshot (`node`) or a mobile one (`wireframes`); both are walked if both come.
    fn full_snapshot(&mut self, data: &mut Value) {
        self.reset_for_snapshot();
        let Value::Object(m) = data else {
            return self.scrub_json_masked(data);
        };
        let frames = m.get("wireframes").is_some_and(Value::is_array);
        if !frames && !m.contains_key("node") {
            return self.scrub_json_masked(data);
        }
        if let Some(Value::Array(frames)) = m.get_mut("wireframes") {
            mobile::frames(self, frames);
        }
        if let Some(root) = m.get_mut("node") {
            self.walk_tree(root, Facts::NONE, 0);
        }
        self.rest(m, known_snapshot, Facts::NONE);
    }

    fn asset(&mut self, data: &mut Value) {
        let Value::Object(m) = data else {
            return self.scrub_json_masked(data);
        };
        if let Some(u) = m.get_mut("url") {
            if u.as_str().is_some_and(|s| !s.starts_with("data:")) {
                self.url_value(u, Facts::NONE);
            } else if u.is_string() {
                *u = Value::from("");
            }
        }
        let is_css = m
            .get("payload")
            .and_then(|p| p.get("rr_type"))
            .and_then(Value::as_str)
            == Some("CssText");
        if is_css {
            if let Some(Value::Object(p)) = m.get_mut("payload") {
                if let Some(t) = p.get_mut("cssTexts") {
                    self.css_strings(t, Facts::NONE);
                }
            }
        }
        if m.contains_key("payload") && !is_css && !self.policy.record.canvas {
            m.remove("payload");
            m.insert(
                "failed",
                Value::Object(
                    [(Cow::Borrowed("message"), Value::from("masked by veilgate"))]
                        .into_iter()
                        .collect(),
                ),
            );
            self.report.attributes_removed += 1;
        }
        self.rest(m, known_asset, Facts::NONE);
    }

    fn incremental(&mut self, data: &mut Value) {
        let source = data.get("source").and_then(Value::as_u64);
        match source {
            Some(0) => self.mutation(data),
            Some(5) => self.input(data),
            Some(9) => self.canvas(data),
            // Pointer, scroll, resize, media, selection, drag: numbers and ids only.
            Some(1 | 2 | 3 | 4 | 6 | 7 | 12 | 14) => {
                self.rest_value(data, known_pointer, Facts::NONE)
            }
            // CSS (rules, declarations, adopted sheets), fonts, custom element names: kept,
            // like <style> text, so that the replay renders; every string in them (rules,
            // values, property and font names, indexes that are no numbers) is CSS text:
            // URLs scrubbed, the rest through the detectors.
            Some(8 | 10 | 13 | 15 | 16) => {
                if let Value::Object(m) = data {
                    for (k, v) in m.iter_mut() {
                        if !matches!(k, "source" | "id" | "styleId") {
                            self.css_strings(v, Facts::NONE);
                        }
                    }
                }
                self.rest_value(data, known_css, Facts::NONE)
            }
            // Log (deprecated console capture) and anything unknown: scrub all strings.
            _ => self.scrub_json(data, Facts::NONE),
        }
    }

    fn input(&mut self, data: &mut Value) {
        let Some(id) = as_id(data.get("id")) else {
            return self.scrub_json_masked(data);
        };
        let f = self.facts(id);
        if let Some(t) = data.get_mut("text") {
            if let Some(s) = t.as_str() {
                let known_form = f.has(flag::FORM);
                let new = if known_form {
                    self.form_value(s, f)
                } else {
                    // Not known as a revealable form control: always starred.
                    let o = detect::star_all(s);
                    (o != s).then(|| {
                        self.report.strings_masked += 1;
                        o
                    })
                };
                self.set_str(t, new);
            }
        }
        if f.has(flag::MASKED | flag::BLOCKED | flag::SECRET | flag::SENSITIVE) {
            if let Some(c) = data.get_mut("isChecked") {
                if c.as_bool() == Some(true) {
                    *c = Value::Bool(false);
                }
            }
        }
        if let Value::Object(m) = data {
            self.rest(m, known_input, f);
        }
    }

    fn canvas(&mut self, data: &mut Value) {
        let f = self.facts_of(as_id(data.get("id")));
        let Value::Object(m) = data else { return };
        if !self.policy.record.canvas || f.has(flag::MASKED | flag::BLOCKED | flag::SENSITIVE) {
            let had = m.contains_key("commands") || m.contains_key("args");
            m.remove("property");
            m.remove("args");
            m.remove("setter");
            m.insert("commands", Value::Array(Vec::new()));
            if had {
                self.report.attributes_removed += 1;
            }
        } else {
            for k in ["commands", "args"] {
                if let Some(v) = m.get_mut(k) {
                    self.scrub_canvas_args(v, f);
                }
            }
        }
        self.rest(m, known_canvas, f);
    }

    /// Canvas allowed: text drawn with fillText/strokeText still goes through the detectors.
    fn scrub_canvas_args(&mut self, v: &mut Value, f: Facts) {
        let mut stack = vec![v];
        let d = self.text_detect(f);
        while let Some(v) = stack.pop() {
            match v {
                Value::String(s) if !s.starts_with("data:") => {
                    if let Cow::Owned(o) = self.free_text(s, d, f) {
                        self.report.strings_masked += 1;
                        *s = o.into();
                    }
                }
                Value::Array(a) => stack.extend(a.iter_mut()),
                Value::Object(m) => {
                    // Serialized args: {rr_type, base64|src|args|index}; keep binary blobs.
                    stack.extend(
                        m.iter_mut()
                            .filter(|(k, _)| *k != "base64" && *k != "src")
                            .map(|(_, x)| x),
                    )
                }
                _ => {}
            }
        }
    }

    /// A mutation: web entries (`adds` with a `node`, `texts`, `attributes`, `removes`) and
    /// mobile ones (`adds` with a `wireframe`, `updates`), each entry by its own shape.
    fn mutation(&mut self, data: &mut Value) {
        let Value::Object(m) = data else { return };
        // Adds first: texts and attributes in the same mutation may target added nodes.
        if let Some(Value::Array(adds)) = m.get_mut("adds") {
            adds.retain_mut(|add| {
                if add.get("wireframe").is_some() {
                    mobile::add(self, add)
                } else {
                    self.add_node(add)
                }
            });
        }
        if let Some(Value::Array(updates)) = m.get_mut("updates") {
            updates.retain_mut(|up| mobile::update(self, up));
        }
        if let Some(Value::Array(attrs)) = m.get_mut("attributes") {
            attrs.retain_mut(|a| self.attribute_entry(a));
        }
        if let Some(Value::Array(texts)) = m.get_mut("texts") {
            texts.retain_mut(|t| self.text_entry(t));
        }
        if let Some(Value::Array(removes)) = m.get_mut("removes") {
            removes.iter_mut().for_each(|r| self.remove_entry(r));
        }
        self.rest(m, known_mutation, Facts::NONE);
    }
}
