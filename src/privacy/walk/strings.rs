//! How one string is masked under a node's facts: page text, form values, URLs, CSS,
//! layout strings, script text. Shared by the web, mobile and plugin walks; which fields hold
//! which kind of string is theirs to say.

use std::borrow::Cow;

use crate::json::Value;
use crate::privacy::detect::{self, Detect};
use crate::privacy::script;
use crate::privacy::state::{flag, Facts};
use crate::privacy::url::{self, UrlRules};

use super::Walker;

impl Walker<'_> {
    pub(crate) fn text_detect(&self, f: Facts) -> Detect {
        self.policy.detect(f.has(flag::UNMASKED))
    }

    /// Detectors for names the replay must keep as they are (attribute names, `class`,
    /// `id`, SVG attributes; see [`url::scrub_css_names`]): emails, cards, IBANs, phones,
    /// key-shaped secrets; no digit rule, no IP or random-token guess.
    pub(crate) fn name_detect(&self, f: Facts) -> Detect {
        Detect {
            numbers: false,
            ips: false,
            entropy: false,
            ..self.text_detect(f)
        }
    }

    pub(crate) fn url_rules(&self, f: Facts) -> UrlRules<'_> {
        UrlRules::new(self.text_detect(f), &self.policy.extra_keys)
            .with_allow(&self.policy.url_allow)
    }

    /// CSS text, wherever it lives (style text, `_cssText`, `style` attributes and objects,
    /// stylesheet rule and declaration events, adopted sheets, CSS assets): URLs scrubbed
    /// (`data:` URLs blanked in masked areas), then the rest through the text detectors
    /// without the digit rule — a script can write an email into a `content:` string.
    pub(crate) fn css_text(&mut self, s: &str, f: Facts) -> Option<String> {
        let masked = f.has(flag::MASKED | flag::BLOCKED | flag::SENSITIVE);
        let urls = url::scrub_css(s, &self.url_rules(f), masked);
        let d = Detect {
            numbers: false,
            ..self.text_detect(f)
        };
        let out = match url::scrub_css_text(&urls, d) {
            Cow::Owned(o) => o,
            Cow::Borrowed(_) => match urls {
                Cow::Owned(o) => o,
                Cow::Borrowed(_) => return None,
            },
        };
        self.report.strings_masked += 1;
        Some(out)
    }

    /// Every string under `v` as CSS (stylesheet rule and declaration events, font sources,
    /// CSS assets, `style` objects).
    pub(crate) fn css_strings(&mut self, v: &mut Value, f: Facts) {
        let mut stack = vec![v];
        while let Some(v) = stack.pop() {
            match v {
                Value::String(s) => {
                    if let Some(o) = self.css_text(s, f) {
                        *s = o.into();
                    }
                }
                Value::Array(a) => stack.extend(a.iter_mut()),
                Value::Object(m) => {
                    // Keys are CSS too (property names); a hostile one is text like any.
                    if m.keys().any(|k| self.css_text_peek(k, f)) {
                        let old = std::mem::take(m);
                        *m = old
                            .into_iter()
                            .map(|(k, x)| {
                                let k = self.css_text(&k, f).map_or(k, Cow::Owned);
                                (k, x)
                            })
                            .collect();
                    }
                    stack.extend(m.iter_mut().map(|(_, x)| x))
                }
                _ => {}
            }
        }
    }

    /// Whether [`Self::css_text`] would change `s` (not counted).
    fn css_text_peek(&self, s: &str, f: Facts) -> bool {
        let masked = f.has(flag::MASKED | flag::BLOCKED | flag::SENSITIVE);
        let d = Detect {
            numbers: false,
            ..self.text_detect(f)
        };
        matches!(url::scrub_css(s, &self.url_rules(f), masked), Cow::Owned(_))
            || matches!(url::scrub_css_text(s, d), Cow::Owned(_))
    }

    /// Text outside `unmask` rules is starred when the project records no page text.
    pub(crate) fn text_off(&self, f: Facts) -> bool {
        !self.policy.record.text && !f.has(flag::UNMASKED)
    }

    /// A form value (input value, textarea text, selected option text, Input event text).
    pub(crate) fn form_value(&mut self, s: &str, f: Facts) -> Option<String> {
        let reveal = !f.has(flag::SECRET | flag::MASKED | flag::BLOCKED | flag::SENSITIVE)
            && ((self.policy.record.forms && self.policy.record.text) || f.has(flag::UNMASKED));
        let out = if reveal {
            let d = self.text_detect(f);
            match self.free_text(s, d, f) {
                Cow::Borrowed(_) => return None,
                Cow::Owned(o) => o,
            }
        } else {
            let o = detect::star_all(s);
            if o == s {
                return None;
            }
            o
        };
        self.report.strings_masked += 1;
        Some(out)
    }

    /// Text content (text nodes, human-readable attributes, text mutations).
    pub(crate) fn text_value(&mut self, s: &str, f: Facts) -> Option<String> {
        self.text_value_as(s, f, true)
    }

    /// [`Self::text_value`]; `page_text` is false for strings that are no text a visitor
    /// reads (`data-*`): `record.text: false` leaves those to the detectors.
    pub(crate) fn text_value_as(&mut self, s: &str, f: Facts, page_text: bool) -> Option<String> {
        if f.has(flag::CSS) {
            return self.css_text(s, f);
        }
        if f.has(flag::VALUE_TEXT) {
            return self.form_value(s, f);
        }
        let star = f.has(flag::MASKED | flag::BLOCKED | flag::SENSITIVE)
            || (page_text && self.text_off(f));
        let out = if star {
            detect::star_text(s)
        } else {
            let d = self.text_detect(f);
            self.free_text(s, d, f)
        };
        match out {
            Cow::Borrowed(_) => None,
            Cow::Owned(o) => {
                self.report.strings_masked += 1;
                Some(o)
            }
        }
    }

    /// A string the replay needs as it is but that is no text of the page (doctype names,
    /// attributes of no known meaning): detectors without the digit rule; starred when
    /// masked. Anything but a string there is masked.
    pub(crate) fn layout_text(&mut self, v: &mut Value, f: Facts) {
        let Value::String(s) = v else {
            return self.scrub_json_masked(v);
        };
        if let Cow::Owned(o) = self.layout_str(s, f) {
            self.report.strings_masked += 1;
            *s = o.into();
        }
    }

    /// The masking of [`Self::layout_text`] for a string (not counted: callers count).
    pub(crate) fn layout_str<'s>(&self, s: &'s str, f: Facts) -> Cow<'s, str> {
        if f.has(flag::MASKED | flag::BLOCKED | flag::SENSITIVE) {
            detect::star_text(s)
        } else {
            let d = Detect {
                numbers: false,
                ..self.text_detect(f)
            };
            detect::scrub(s, d)
        }
    }

    /// Script text (a text node in `<script>`, or a text change of one): rrweb's placeholder.
    pub(crate) fn script_text(&mut self, v: Option<&mut Value>) {
        if let Some(v) = v {
            if v.as_str() != Some(script::SCRIPT_PLACEHOLDER) {
                self.report.strings_masked += 1;
                *v = Value::from(script::SCRIPT_PLACEHOLDER);
            }
        }
    }

    pub(crate) fn set_str(&mut self, v: &mut Value, new: Option<String>) {
        if let Some(n) = new {
            *v = Value::from(n);
        }
    }

    /// Scrub a URL string; `None` when unchanged.
    pub(crate) fn url_str(&mut self, s: &str, f: Facts) -> Option<String> {
        let rules = self.url_rules(f);
        match url::scrub_url(s, &rules) {
            Cow::Owned(o) => {
                self.report.strings_masked += 1;
                Some(o)
            }
            Cow::Borrowed(_) => None,
        }
    }

    /// [`Self::url_str`] in place; anything but a string is left to the caller.
    pub(crate) fn url_value(&mut self, v: &mut Value, f: Facts) {
        if let Some(o) = v.as_str().and_then(|s| self.url_str(s, f)) {
            *v = Value::from(o);
        }
    }
}

/// Masked links: keep scheme and host, star the rest (separators kept).
pub(crate) fn mask_url_fully(s: &str) -> String {
    let keep = s
        .find("://")
        .map(|p| p + 3 + s[p + 3..].find('/').unwrap_or(s.len() - p - 3))
        .unwrap_or(0);
    let mut out = String::with_capacity(s.len());
    out.push_str(&s[..keep]);
    out.extend(s[keep..].chars().map(|c| {
        if matches!(c, '/' | '?' | '&' | '=' | '#') {
            c
        } else {
            '*'
        }
    }));
    out
}
