//! The generic fallback: every string the walk meets in a shape it does not interpret is
//! scrubbed, so nothing reaches storage because the walk did not expect it.
//!
//! Every object the walk visits (event, event data, mutation entry, node, wireframe) is
//! finished by [`Walker::rest`]: a field listed in the object's [`Known`] table *with the
//! type listed* was read by the walk; anything else — an unknown field, or a known one holding
//! another type — is scrubbed like unknown JSON ([`Walker::scrub_json`]: detectors; starred
//! inside masked content, or when a known field has the wrong type).

use std::borrow::Cow;

use crate::json::{Map, Value};

use super::Walker;
use crate::privacy::detect::{self, Detect};
use crate::privacy::policy::is_sensitive_key;
use crate::privacy::state::{flag, Facts};
use crate::privacy::url;

/// JSON texts inside strings inside JSON texts… masked this deep; deeper ones get the
/// detectors only.
const MAX_JSON_NEST: u8 = 4;
/// Longer strings are not parsed as JSON (the detectors still run over them).
const MAX_JSON_TEXT: usize = 256 * 1024;
/// Bracket nesting a JSON text may have to be parsed (the parser recurses).
const MAX_JSON_TEXT_DEPTH: usize = 64;

/// JSON text worth parsing: an object or array (trimmed, both ends matching) or a string
/// literal, nested no deeper than [`MAX_JSON_TEXT_DEPTH`]. One pass, no allocation.
fn looks_json(s: &str) -> bool {
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let b = t.as_bytes();
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
        return false;
    };
    let framed = matches!((first, last), (b'{', b'}') | (b'[', b']'))
        || (first == b'"' && last == b'"' && b.len() >= 2);
    if !framed {
        return false;
    }
    let (mut depth, mut in_str, mut esc) = (0usize, false, false);
    for &c in b {
        if in_str {
            match (esc, c) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            b'"' => in_str = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_JSON_TEXT_DEPTH {
                    return false;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
}

/// Which fields of an object the walk interprets, and as what.
pub(crate) type Known = fn(&str) -> Option<Kind>;

/// The JSON type the walk reads a known field as.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    Num,
    Bool,
    Str,
    Arr,
    Obj,
    /// Handled by the caller whatever its type (kept, walked or replaced).
    Any,
    /// An object with these fields.
    Fields(Known),
    /// An array whose object entries have these fields (numbers allowed too).
    Entries(Known),
}

impl Walker<'_> {
    // ---- generic JSON (custom events, plugins, logs, unknown shapes) --------------------

    /// Scrub every string with the text detectors; values under sensitive keys are starred.
    pub fn scrub_json(&mut self, root: &mut Value, f: Facts) {
        let masked = f.has(flag::MASKED | flag::BLOCKED | flag::SENSITIVE);
        let mut stack: Vec<(&mut Value, bool)> = vec![(root, masked)];
        let d = self.text_detect(f);
        while let Some((v, sensitive)) = stack.pop() {
            match v {
                Value::String(s) => {
                    let out = if sensitive {
                        let o = detect::star_all(s);
                        (o != *s).then_some(o)
                    } else if s.starts_with("http://") || s.starts_with("https://") {
                        match url::scrub_url(s, &self.url_rules(f)) {
                            Cow::Owned(o) => Some(o),
                            Cow::Borrowed(_) => None,
                        }
                    } else {
                        match self.free_text(s, d, f) {
                            Cow::Owned(o) => Some(o),
                            Cow::Borrowed(_) => None,
                        }
                    };
                    if let Some(o) = out {
                        self.report.strings_masked += 1;
                        *s = o.into();
                    }
                }
                Value::Number(n) => {
                    // Card numbers typed as JSON numbers: integers of 13+ digits.
                    let long = n.as_u64().is_some_and(|x| x >= 1_000_000_000_000)
                        || n.as_i64().is_some_and(|x| x <= -1_000_000_000_000);
                    if sensitive || long {
                        let digits = n.to_string();
                        if sensitive || detect::is_sensitive(&digits, Detect::STRUCTURED) {
                            self.report.strings_masked += 1;
                            *v = Value::from(detect::star_all(&digits));
                        }
                    }
                }
                Value::Array(a) => stack.extend(a.iter_mut().map(|x| (x, sensitive))),
                Value::Object(m) => {
                    // Keys can carry PII too ({"jane@example.com": …}).
                    let bad_key = m.keys().any(|k| !sensitive && detect::is_sensitive(k, d));
                    if bad_key {
                        self.report.strings_masked += 1;
                        let old = std::mem::take(m);
                        *m = old
                            .into_iter()
                            .map(|(k, x)| (Cow::Owned(detect::scrub(&k, d).into_owned()), x))
                            .collect();
                    }
                    for (k, x) in m.iter_mut() {
                        let s = sensitive || is_sensitive_key(k, &self.policy.extra_keys);
                        stack.push((x, s));
                    }
                }
                Value::Bool(_) | Value::Null => {}
            }
        }
    }

    /// Free text through the detectors `d`; when it is JSON text (a logged object, a body, a
    /// payload a page stringified), its values are masked by key first ([`Self::json_text`]).
    pub(crate) fn free_text<'s>(&mut self, s: &'s str, d: Detect, f: Facts) -> Cow<'s, str> {
        match self.json_text(s, f) {
            Some(keyed) => Cow::Owned(detect::scrub(&keyed, d).into_owned()),
            None => detect::scrub(s, d),
        }
    }

    /// A string holding JSON (an object, an array, or a JSON string literal that may hold
    /// either): parsed, masked like any JSON ([`Self::scrub_json`]: values under sensitive
    /// keys starred, every string through the detectors, JSON inside those strings in turn)
    /// and written back as JSON text. `None` when it is no JSON, too big or too deep to
    /// look at, or nothing changed.
    pub(crate) fn json_text(&mut self, s: &str, f: Facts) -> Option<String> {
        if self.json_nest >= MAX_JSON_NEST || s.len() > MAX_JSON_TEXT || !looks_json(s) {
            return None;
        }
        let mut parsed = crate::json::from_str(s).ok()?;
        let before = self.report.strings_masked;
        self.json_nest += 1;
        self.scrub_json(&mut parsed, f);
        self.json_nest -= 1;
        if self.report.strings_masked == before {
            // Nothing masked: the text stays as it came (its spacing, its escapes).
            return None;
        }
        let mut out = Vec::with_capacity(s.len());
        parsed.write_to(&mut out);
        let out = String::from_utf8(out).ok()?;
        (out != s).then_some(out)
    }

    pub(crate) fn scrub_json_masked(&mut self, root: &mut Value) {
        self.scrub_json(root, Facts::MASKED);
    }

    // ---- the generic fallback ----------------------------------------------------------

    /// Scrub every field of `m` the walk did not interpret (see [`Kind`]): unknown fields
    /// with the object's facts `f`, known fields holding another type than expected masked.
    pub(crate) fn rest(&mut self, m: &mut Map, known: Known, f: Facts) {
        for (k, v) in m.iter_mut() {
            match known(k) {
                None => self.scrub_json(v, f),
                Some(kind) => self.known_value(v, kind, f),
            }
        }
    }

    pub(crate) fn known_value(&mut self, v: &mut Value, kind: Kind, f: Facts) {
        match (kind, &mut *v) {
            (_, Value::Null)
            | (Kind::Any, _)
            | (Kind::Num, Value::Number(_))
            | (Kind::Bool, Value::Bool(_))
            | (Kind::Str, Value::String(_))
            | (Kind::Arr, Value::Array(_))
            | (Kind::Obj, Value::Object(_)) => {}
            (Kind::Fields(k), Value::Object(m)) => self.rest(m, k, f),
            (Kind::Entries(k), Value::Array(a)) => {
                for x in a.iter_mut() {
                    match x {
                        Value::Object(m) => self.rest(m, k, f),
                        Value::Number(_) | Value::Null => {}
                        _ => self.scrub_json_masked(x),
                    }
                }
            }
            _ => self.scrub_json_masked(v),
        }
    }

    /// Non-objects where the walk expects an object: every string masked.
    pub(crate) fn rest_value(&mut self, v: &mut Value, known: Known, f: Facts) {
        match v {
            Value::Object(m) => self.rest(m, known, f),
            _ => self.scrub_json_masked(v),
        }
    }
}
