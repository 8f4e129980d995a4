//! Mobile (ios/android) recordings: screens as wireframe trees in the rrweb envelope.
//! Nodes go through the same decision as web elements ([`Walker::node_facts`]).
//! The format is specified in docs/MOBILE.md; in short:
//!
//! - full snapshot `{type: 2, data: {wireframes: [Wireframe], initialOffset?}}`
//! - mutation `{type: 3, data: {source: 0, adds: [{parentId, wireframe}],
//!   updates: [{wireframe}], removes: [{parentId, id}]}}`
//! - input `{type: 3, data: {source: 5, id, text, isChecked}}` (same as web)
//! - touches, scrolls, meta (`href` = `app://bundle/Screen`), custom events: same as web
//!
//! `Wireframe = {id, kind: "view"|"text"|"input"|"image"|"web_view"|…, x, y, width, height,
//! text?, value?, placeholder?, label?, inputType?, sensitive?, base64?, src?, style?,
//! children?}`.

use crate::json::{Map, Value};
use crate::privacy::selector::Element;
use crate::privacy::state::{flag, Facts};

use super::{as_id, inherit, rules, Kind, Marks, Walker};

/// The `wireframes` of a full snapshot (the state was reset by the caller).
pub(crate) fn frames(w: &mut Walker<'_>, frames: &mut [Value]) {
    for f in frames.iter_mut() {
        walk(w, f, Facts::NONE, 0);
    }
}

/// One mutation `adds` entry with a `wireframe`: false when it is dropped (added under a
/// blocked node).
pub(crate) fn add(w: &mut Walker<'_>, add: &mut Value) -> bool {
    // No parent: the top-level wireframe of a screen.
    let pf = as_id(add.get("parentId")).map_or(Facts::NONE, |p| w.facts(p));
    if pf.has(flag::BLOCKED | flag::BLOCK_ROOT) {
        if let Some(fr) = add.get_mut("wireframe") {
            w.forget_blocked(vec![fr.take()], "children");
        }
        w.report.entries_dropped += 1;
        return false;
    }
    if let Some(fr) = add.get_mut("wireframe") {
        walk(w, fr, pf, 1);
    }
    w.rest_value(add, known_add, inherit(pf));
    true
}

/// One mutation `updates` entry: false when it is dropped (no wireframe, or a blocked node).
pub(crate) fn update(w: &mut Walker<'_>, up: &mut Value) -> bool {
    let Some(fr) = up.get_mut("wireframe") else {
        return false;
    };
    let id = as_id(fr.get("id"));
    // An update re-describes a node in place: its own sticky facts apply, plus the
    // masking it inherited (kept in the state for masked nodes).
    let f = w.facts_of(id);
    if f.has(flag::BLOCKED) {
        w.report.entries_dropped += 1;
        return false;
    }
    let parent = Facts {
        flags: f.flags & (flag::MASKED | flag::UNMASKED | flag::SENSITIVE),
        selector_bits: 0,
    };
    walk(w, fr, parent, 1);
    w.rest_value(up, known_update, parent);
    true
}

fn known_add(k: &str) -> Option<Kind> {
    match k {
        "parentId" => Some(Kind::Num),
        "wireframe" => Some(Kind::Any),
        _ => None,
    }
}

fn known_update(k: &str) -> Option<Kind> {
    match k {
        "wireframe" => Some(Kind::Any),
        _ => None,
    }
}

/// Wireframe fields that are no strings (strings are all handled in `apply`).
fn known_wireframe(k: &str) -> Option<Kind> {
    match k {
        "id" | "x" | "y" | "width" | "height" => Some(Kind::Num),
        "sensitive" | "checked" => Some(Kind::Bool),
        "children" => Some(Kind::Arr),
        // Colours, fonts, corner radius: kept as is.
        "style" => Some(Kind::Any),
        _ => None,
    }
}

/// Walk one wireframe tree.
fn walk(w: &mut Walker<'_>, root: &mut Value, parent: Facts, depth0: u32) {
    let mut stack: Vec<(&mut Value, Facts, u32)> = vec![(root, parent, depth0)];
    while let Some((v, pf, depth)) = stack.pop() {
        let Value::Object(m) = v else {
            w.scrub_json(v, Facts::MASKED);
            continue;
        };
        let id = as_id(m.get("id"));
        let kind = m
            .get("kind")
            .or_else(|| m.get("type"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_lowercase();
        // A wireframe marks itself (`sensitive`); rules match its kind and fields.
        let own = if m.get("sensitive").and_then(Value::as_bool) == Some(true) {
            flag::SENSITIVE | flag::MASKED
        } else {
            0
        };
        let el = Element {
            tag: &kind,
            attrs: Some(m),
        };
        let (mut f, _) = w.node_facts(pf, id, depth, own, &el, Marks::default());
        let input = matches!(
            kind.as_str(),
            "input" | "text_field" | "textfield" | "edit_text"
        );
        if input {
            f.flags |= flag::FORM;
            if rules::is_secret_wireframe(m) {
                f.flags |= flag::SECRET;
            }
        }
        apply(w, m, f, input);
        if let Some(i) = id {
            w.record(i, f);
        }
        if f.has(flag::BLOCK_ROOT) {
            if let Some(Value::Array(c)) = m.get_mut("children") {
                w.forget_blocked(std::mem::take(c), "children");
            }
            w.report.nodes_blocked += 1;
            continue;
        }
        if let Some(Value::Array(children)) = m.get_mut("children") {
            for c in children.iter_mut().rev() {
                stack.push((c, f, depth + 1));
            }
        }
    }
}

/// Mask the fields of one wireframe.
fn apply(w: &mut Walker<'_>, m: &mut Map, f: Facts, input: bool) {
    let masked = f.has(flag::MASKED | flag::BLOCKED | flag::SENSITIVE);
    if f.has(flag::BLOCK_ROOT) {
        // Placeholder: geometry and style only.
        let before = m.len();
        m.retain(|k, _| {
            matches!(
                k,
                "id" | "kind"
                    | "type"
                    | "x"
                    | "y"
                    | "width"
                    | "height"
                    | "style"
                    | "children"
                    | "sensitive"
            )
        });
        w.report.attributes_removed += before - m.len();
        return;
    }
    // Images: pixels dropped when masked/sensitive; remote sources scrubbed like URLs.
    for k in ["base64", "src", "image"] {
        if masked && m.contains_key(k) {
            m.remove(k);
            w.report.attributes_removed += 1;
        }
    }
    // In place, one pass: a hostile wireframe of many fields stays linear.
    for (k, v) in m.iter_mut() {
        let Value::String(s) = v else {
            continue;
        };
        let new = match k {
            "value" if input => w.form_value(s, f),
            "text" if input => w.form_value(s, f),
            "text" | "value" | "placeholder" | "label" | "hint" | "title"
            | "contentDescription" | "accessibilityLabel" => w.text_value(s, f),
            "src" | "href" | "url" => w.url_str(s, f),
            "id" | "kind" | "type" | "inputType" | "style" | "identifier" | "base64" => None,
            _ => {
                let o = w.layout_str(s, f).into_owned();
                (o != **s).then_some(o)
            }
        };
        if let Some(n) = new {
            *s = n.into();
        }
    }
    if masked {
        if let Some(c) = m.get_mut("checked") {
            *c = Value::Bool(false);
        }
    }
    // Every other field that is no string: the generic fallback (strings were handled above).
    for (k, v) in m.iter_mut() {
        if v.is_string() {
            continue;
        }
        match known_wireframe(k) {
            None => w.scrub_json(v, f),
            Some(kind) => w.known_value(v, kind, f),
        }
    }
}
