//! Element descriptors: tag, `#id`, up to [`MAX_CLASSES`] classes — never text or a value.
//! Every token is checked before it is kept: only `[A-Za-z0-9_-]`, not id-like (the path
//! rule), no run of four digits (record numbers), and nothing a detector flags; a token that
//! fails is left out, so a descriptor can only lose detail, never carry data. The node map
//! stores the compact form with the shape checks only ([`write_compact`], for every element
//! of a snapshot); the detectors run when a descriptor leaves the map ([`Desc::parse_compact`],
//! only for the elements clicked or typed into).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::privacy::detect;

use super::path::{is_id_like, TOKEN_DETECT};
use super::MAX_CLASSES;

const MAX_TAG_CHARS: usize = 32;
const MAX_TOKEN_CHARS: usize = 64;

/// What a click or input target was: `button#buy.primary`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Desc {
    pub tag: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<String>,
}

impl Desc {
    /// A descriptor from raw (masked) attribute values; every token is checked.
    pub(crate) fn from_parts(tag: &str, id: Option<&str>, class: Option<&str>) -> Desc {
        let tag = clean_tag(tag);
        let id = id.and_then(|i| clean_token(i.trim())).map(str::to_owned);
        let mut classes: Vec<String> = Vec::new();
        for c in class.unwrap_or("").split_ascii_whitespace() {
            if classes.len() == MAX_CLASSES {
                break;
            }
            if let Some(c) = clean_token(c) {
                if !classes.iter().any(|k| k == c) {
                    classes.push(c.to_owned());
                }
            }
        }
        Desc { tag, id, classes }
    }

    /// Read back the compact form the node map stores, every token through the checks
    /// (detectors included) again.
    pub(crate) fn parse_compact(s: &str) -> Desc {
        let sel = Selector::parse(s);
        let class = sel.classes.join(" ");
        Desc::from_parts(
            sel.tag.as_deref().unwrap_or(""),
            sel.id.as_deref(),
            Some(&class),
        )
    }
}

impl fmt::Display for Desc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.tag)?;
        if let Some(id) = &self.id {
            write!(f, "#{id}")?;
        }
        for c in &self.classes {
            write!(f, ".{c}")?;
        }
        Ok(())
    }
}

/// A descriptor filter (`clicked=`, a funnel's `click` step): `tag`, `#id` and/or `.class`
/// parts; every given part must match.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selector {
    pub tag: Option<String>,
    pub id: Option<String>,
    pub classes: Vec<String>,
}

impl Selector {
    /// `button#buy.primary`, `#buy`, `.primary`, `a`. Tags compare lowercase.
    pub fn parse(s: &str) -> Selector {
        let mut sel = Selector::default();
        let s = s.trim();
        let mut start = 0;
        let mut kind = b' ';
        let bytes = s.as_bytes();
        for i in 0..=bytes.len() {
            let at_mark = i < bytes.len() && (bytes[i] == b'#' || bytes[i] == b'.');
            if i == bytes.len() || at_mark {
                let part = &s[start..i];
                if !part.is_empty() {
                    match kind {
                        b'#' => sel.id = Some(part.to_owned()),
                        b'.' => sel.classes.push(part.to_owned()),
                        _ => sel.tag = Some(part.to_ascii_lowercase()),
                    }
                }
                if i < bytes.len() {
                    kind = bytes[i];
                    start = i + 1;
                }
            }
        }
        sel
    }

    /// Every given part matches `d`.
    pub fn matches(&self, d: &Desc) -> bool {
        self.tag.as_ref().is_none_or(|t| *t == d.tag)
            && self.id.as_ref().is_none_or(|i| d.id.as_ref() == Some(i))
            && self.classes.iter().all(|c| d.classes.contains(c))
    }

    /// A click matches when its target or its interactive ancestor does.
    pub fn matches_click(&self, target: Option<&Desc>, control: Option<&Desc>) -> bool {
        target.is_some_and(|d| self.matches(d)) || control.is_some_and(|d| self.matches(d))
    }
}

/// The compact form (`tag#id.c1.c2.c3`) with the shape checks only: what the node map keeps.
pub(crate) fn write_compact(out: &mut String, tag: &str, id: Option<&str>, class: Option<&str>) {
    let tag = tag.trim();
    if tag_shape_ok(tag) {
        out.extend(tag.chars().map(|c| c.to_ascii_lowercase()));
    } else {
        out.push('?');
    }
    if let Some(id) = id.map(str::trim).filter(|t| token_shape_ok(t)) {
        out.push('#');
        out.push_str(id);
    }
    let mut n = 0;
    for c in class.unwrap_or("").split_ascii_whitespace() {
        if n == MAX_CLASSES {
            break;
        }
        if token_shape_ok(c) {
            out.push('.');
            out.push_str(c);
            n += 1;
        }
    }
}

fn tag_shape_ok(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= MAX_TAG_CHARS
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn token_shape_ok(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= MAX_TOKEN_CHARS
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && !is_id_like(t)
        && !has_digit_run(t, 4)
}

fn clean_tag(tag: &str) -> String {
    let t = tag.trim().to_ascii_lowercase();
    if !t.is_empty()
        && t.len() <= MAX_TAG_CHARS
        && t.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && !detect::is_sensitive(&t, TOKEN_DETECT)
    {
        t
    } else {
        "?".to_owned()
    }
}

/// A class or id kept as is, or `None`.
pub(crate) fn clean_token(t: &str) -> Option<&str> {
    (token_shape_ok(t) && !detect::is_sensitive(t, TOKEN_DETECT)).then_some(t)
}

fn has_digit_run(t: &str, n: usize) -> bool {
    let mut run = 0;
    for b in t.bytes() {
        run = if b.is_ascii_digit() { run + 1 } else { 0 };
        if run >= n {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_that_could_carry_data_are_left_out() {
        let d = Desc::from_parts(
            "BUTTON",
            Some("user-84721"),
            Some("btn jane.doe@example.com 12345 btn primary a1b2c3d4e5f6g7h8 large extra"),
        );
        assert_eq!(d.to_string(), "button.btn.primary.large");
        let d = Desc::from_parts("a", Some("buy"), Some("col-2 h1"));
        assert_eq!(d.to_string(), "a#buy.col-2.h1");
        assert_eq!(Desc::parse_compact(&d.to_string()), d);
        assert_eq!(Desc::from_parts("we ird", None, None).tag, "?");
        let mut c = String::new();
        write_compact(
            &mut c,
            "BUTTON",
            Some("user-84721"),
            Some("btn 12345 btn primary x y"),
        );
        assert_eq!(c, "button.btn.btn.primary");
        // A token only a detector flags stays out of what leaves the map.
        let d = Desc::parse_compact("a#sk_live_abcdefghijklmnopqrstuv.nav");
        assert_eq!(d.to_string(), "a.nav");
    }

    #[test]
    fn selectors_match_every_given_part() {
        let d = Desc::from_parts("button", Some("buy"), Some("primary large"));
        for (s, want) in [
            ("button", true),
            ("#buy", true),
            (".large", true),
            ("button#buy.primary", true),
            ("a#buy", false),
            ("button.missing", false),
            ("#other", false),
        ] {
            assert_eq!(Selector::parse(s).matches(&d), want, "{s}");
        }
    }
}
