//! The rrweb event walk: applies the compiled policy to every event type, in place.
//!
//! Event types (rrweb 2.x `EventType`): 0 DomContentLoaded, 1 Load, 2 FullSnapshot,
//! 3 IncrementalSnapshot, 4 Meta, 5 Custom, 6 Plugin, 7 Asset, 8 Annotation.
//! Incremental sources (`IncrementalSource`): 0 Mutation, 1 MouseMove, 2 MouseInteraction,
//! 3 Scroll, 4 ViewportResize, 5 Input, 6 TouchMove, 7 MediaInteraction, 8 StyleSheetRule,
//! 9 CanvasMutation, 10 Font, 11 Log, 12 Drag, 13 StyleDeclaration, 14 Selection,
//! 15 AdoptedStyleSheet, 16 CustomElement.
//! Node types (`NodeType`): 0 Document, 1 DocumentType, 2 Element, 3 Text, 4 CDATA, 5 Comment.
//!
//! The node tree is walked with an explicit stack (no recursion): depth is unbounded for the
//! stack, and nodes deeper than [`MAX_DEPTH`] are masked.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::json::{Map, Value};

use super::detect::{self, Detect};
use super::policy::{is_sensitive_key, Action, Compiled};
use super::script;
use super::selector::Element;
use super::state::{flag, Facts, MaskState};
use super::url::{self, UrlRules};
use super::MaskReport;

/// Nodes deeper than this are masked (fail safe for hostile trees).
pub const MAX_DEPTH: u32 = 512;

pub(crate) struct Walker<'a> {
    pub pol: &'a Compiled,
    pub state: &'a mut MaskState,
    pub updates: BTreeMap<u32, Facts>,
    pub max_id: u32,
    pub report: MaskReport,
    /// Seq of the chunk being masked, when known.
    pub seq: Option<u32>,
}

fn as_id(v: Option<&Value>) -> Option<u32> {
    v.and_then(Value::as_u64)
        .and_then(|x| u32::try_from(x).ok())
}

/// Facts a child inherits from its parent.
fn inherit(p: Facts) -> Facts {
    let mut f = p.f & (flag::MASKED | flag::UNMASKED | flag::SENSITIVE);
    if p.has(flag::BLOCKED | flag::BLOCK_ROOT) {
        f |= flag::BLOCKED | flag::MASKED;
    }
    if f & flag::MASKED != 0 {
        f &= !flag::UNMASKED;
    }
    Facts { f, q: p.q }
}

/// Client-side markers honoured server-side: (mask, block, secret).
fn markers(el: &Element<'_>, attrs: Option<&Map>) -> (bool, bool, bool) {
    let mut mask = false;
    let mut block = false;
    let mut secret = false;
    if let Some(Value::String(class)) = attrs.and_then(|a| a.get("class")) {
        for c in class.split_ascii_whitespace() {
            match c {
                "rr-block" => block = true,
                "rr-mask" | "rr-ignore" | "smartlook-hide" => mask = true,
                _ => {}
            }
        }
    }
    if let Some(a) = attrs {
        if a.contains_key("data-recording-disable") {
            block = true;
        }
        if a.contains_key("data-recording-sensitive") || a.contains_key("data-recording-ignore") {
            mask = true;
        }
        match a.get("data-sl").and_then(Value::as_str) {
            Some("exclude") => block = true,
            Some("mask") => mask = true,
            _ => {}
        }
        if a.contains_key("data-rr-is-password") {
            secret = true;
        }
    }
    let _ = el;
    (mask, block, secret)
}

/// Password, payment and one-time-code inputs (never relaxable). Like Smartlook, any
/// attribute name or value mentioning card/credit/expiry/cvv/cvc marks a payment input.
fn is_secret_input(tag: &str, attrs: Option<&Map>) -> bool {
    if !matches!(tag, "input" | "textarea" | "select" | "") {
        return false;
    }
    let Some(a) = attrs else { return false };
    for (k, v) in a.iter() {
        let key = k.to_ascii_lowercase();
        if matches!(key.as_str(), "value" | "style" | "_csstext" | "class") {
            continue;
        }
        let Some(v) = v.as_str() else { continue };
        let v = v.to_ascii_lowercase();
        if key == "type" && v == "password" {
            return true;
        }
        if key == "autocomplete"
            && (v.contains("password") || v.contains("one-time-code") || v.contains("cc-"))
        {
            return true;
        }
        for needle in [
            "password", "passwd", "card", "credit", "expiry", "cvv", "cvc", "iban", "ssn",
        ] {
            if key.contains(needle) || (key != "type" && v.contains(needle)) {
                return true;
            }
        }
    }
    false
}

/// Human-readable attributes: full text detection (digits included). All but `data-*` are
/// page text, starred with `record.text: false` ([`is_page_text_attr`]).
fn is_text_attr(k: &str) -> bool {
    is_page_text_attr(k) || k.starts_with("data-")
}

/// Attributes a visitor reads (or hears): masked with the text when `record.text` is off.
/// `data-*` is not among them: CSS selects on it, and starring it would change the layout.
fn is_page_text_attr(k: &str) -> bool {
    matches!(
        k,
        "title"
            | "alt"
            | "placeholder"
            | "aria-label"
            | "aria-description"
            | "aria-valuetext"
            | "aria-placeholder"
            | "aria-roledescription"
            | "label"
            | "summary"
            | "abbr"
            | "content"
            | "download"
            | "value"
    )
}

fn is_url_attr(k: &str) -> bool {
    matches!(
        k,
        "href"
            | "src"
            | "action"
            | "formaction"
            | "poster"
            | "cite"
            | "background"
            | "data"
            | "xlink:href"
            | "ping"
            | "longdesc"
            | "codebase"
            | "manifest"
            | "rr_src"
            | "itemid"
    )
}

/// Attributes left alone: structure, styling hooks, geometry, rrweb bookkeeping.
fn is_structural_attr(k: &str) -> bool {
    matches!(
        k,
        "class"
            | "id"
            | "type"
            | "rel"
            | "for"
            | "role"
            | "name"
            | "lang"
            | "dir"
            | "width"
            | "height"
            | "tabindex"
            | "target"
            | "method"
            | "autocomplete"
            | "integrity"
            | "nonce"
            | "crossorigin"
            | "referrerpolicy"
            | "loading"
            | "decoding"
            | "sizes"
            | "media"
            | "charset"
            | "http-equiv"
            | "colspan"
            | "rowspan"
            | "maxlength"
            | "minlength"
            | "min"
            | "max"
            | "step"
            | "size"
            | "cols"
            | "rows"
            | "span"
            | "start"
            | "_cssText"
    ) || k.starts_with("rr_")
        || k.starts_with("xmlns")
        || k.starts_with("aria-")
}

enum AttrOut {
    Keep,
    Set(String),
    Remove,
    /// A `style` object (attribute mutations: `{property: value | [value, priority]}`): its
    /// values are CSS.
    Css,
    /// Not a string the walk reads (an object or array under an attribute name): scrubbed
    /// like unknown JSON.
    Json,
}

// ---- the fields the walk interprets ------------------------------------------------------
//
// Every object the walk visits (event, event data, mutation entry, node, wireframe) is
// finished by [`Walker::rest`]: a field listed here *with the type listed* was read by the
// walk; anything else — an unknown field, or a known one holding another type — is scrubbed
// like unknown JSON (detectors; starred inside masked content, or when a known field has the
// wrong type). Nothing reaches storage because the walk did not expect it.

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

fn known_add(k: &str) -> Option<Kind> {
    match k {
        "parentId" | "nextId" | "previousId" => Some(Kind::Num),
        "node" | "wireframe" => Some(Kind::Any),
        _ => None,
    }
}

fn known_remove(k: &str) -> Option<Kind> {
    match k {
        "parentId" | "id" => Some(Kind::Num),
        "isShadow" => Some(Kind::Bool),
        _ => None,
    }
}

fn known_text(k: &str) -> Option<Kind> {
    match k {
        "id" => Some(Kind::Num),
        "value" => Some(Kind::Str),
        _ => None,
    }
}

fn known_attr_entry(k: &str) -> Option<Kind> {
    match k {
        "id" => Some(Kind::Num),
        "attributes" => Some(Kind::Obj),
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

fn known_element(k: &str) -> Option<Kind> {
    match k {
        "type" | "id" | "rootId" => Some(Kind::Num),
        "tagName" => Some(Kind::Str),
        "attributes" => Some(Kind::Obj),
        "childNodes" => Some(Kind::Arr),
        "isSVG" | "needBlock" | "isShadowHost" | "isShadow" | "isCustom" => Some(Kind::Bool),
        _ => None,
    }
}

fn known_text_node(k: &str) -> Option<Kind> {
    match k {
        "type" | "id" | "rootId" => Some(Kind::Num),
        "textContent" => Some(Kind::Str),
        "childNodes" => Some(Kind::Arr),
        "isStyle" | "isShadow" => Some(Kind::Bool),
        _ => None,
    }
}

/// Document and doctype nodes: their strings (`name`, `publicId`, `systemId`,
/// `compatMode`) go through the detectors without the digit rule (see `Walker::doc_node`).
fn known_doc_node(k: &str) -> Option<Kind> {
    match k {
        "type" | "id" | "rootId" => Some(Kind::Num),
        "childNodes" => Some(Kind::Arr),
        "name" | "publicId" | "systemId" | "compatMode" => Some(Kind::Any),
        "isShadow" => Some(Kind::Bool),
        _ => None,
    }
}

impl Walker<'_> {
    pub fn new<'a>(pol: &'a Compiled, state: &'a mut MaskState) -> Walker<'a> {
        Walker {
            pol,
            state,
            updates: BTreeMap::new(),
            max_id: 0,
            report: MaskReport::default(),
            seq: None,
        }
    }

    // ---- state -------------------------------------------------------------------------

    pub fn facts(&self, id: u32) -> Facts {
        if let Some(f) = self.updates.get(&id) {
            return *f;
        }
        if let Some(f) = self.state.stored(id) {
            return f;
        }
        let seen = id <= self.state.max_id.max(self.max_id);
        if self.state.overflow || !self.state.snapshot || !seen {
            Facts {
                f: flag::MASKED,
                q: 0,
            }
        } else {
            Facts::NONE
        }
    }

    fn sticky(&self, id: Option<u32>) -> u32 {
        let Some(id) = id else { return 0 };
        self.updates
            .get(&id)
            .copied()
            .or_else(|| self.state.stored(id))
            .map_or(0, |f| f.f & flag::STICKY)
    }

    pub fn record(&mut self, id: u32, facts: Facts) {
        self.max_id = self.max_id.max(id);
        let mut f = facts;
        if f.has(flag::MASKED | flag::BLOCKED) {
            f.f &= flag::MASKED
                | flag::BLOCKED
                | flag::BLOCK_ROOT
                | flag::CSS
                | flag::SECRET
                | flag::SENSITIVE
                | flag::VALUE_TEXT
                | flag::TEXTAREA
                | flag::SCRIPT;
        }
        if !(self.pol.record.forms || f.has(flag::UNMASKED)) {
            f.f &= !flag::FORM;
        }
        if f != Facts::NONE || self.updates.contains_key(&id) || self.state.stored(id).is_some() {
            self.updates.insert(id, f);
        }
    }

    pub fn reset_for_snapshot(&mut self) {
        // Facts learnt earlier in this chunk count too: a password input switched to text
        // just before the snapshot stays secret.
        let updates = std::mem::take(&mut self.updates);
        self.state.merge(&updates, self.max_id);
        self.state.reset_for_snapshot(self.seq);
        self.max_id = 0;
    }

    pub fn finish(self) -> MaskReport {
        let Walker {
            state,
            updates,
            max_id,
            mut report,
            ..
        } = self;
        state.merge(&updates, max_id);
        report.state_overflow = state.overflow;
        report
    }

    // ---- strings ---------------------------------------------------------------------

    pub(crate) fn text_detect(&self, f: Facts) -> Detect {
        self.pol.detect(f.has(flag::UNMASKED))
    }

    fn url_rules(&self, f: Facts) -> UrlRules<'_> {
        UrlRules::new(self.text_detect(f), &self.pol.extra_keys).with_allow(&self.pol.url_allow)
    }

    /// CSS text: URLs scrubbed; `data:` URLs blanked in masked areas.
    fn css_text(&mut self, s: &str, f: Facts) -> Option<String> {
        let masked = f.has(flag::MASKED | flag::BLOCKED | flag::SENSITIVE);
        match url::scrub_css(s, &self.url_rules(f), masked) {
            Cow::Owned(o) => {
                self.report.strings_masked += 1;
                Some(o)
            }
            Cow::Borrowed(_) => None,
        }
    }

    /// Every string under `v` as CSS (stylesheet rule and declaration events, font sources,
    /// CSS assets, `style` objects).
    fn css_strings(&mut self, v: &mut Value, f: Facts) {
        let mut stack = vec![v];
        while let Some(v) = stack.pop() {
            match v {
                Value::String(s) => {
                    if let Some(o) = self.css_text(s, f) {
                        *s = o.into();
                    }
                }
                Value::Array(a) => stack.extend(a.iter_mut()),
                Value::Object(m) => stack.extend(m.iter_mut().map(|(_, x)| x)),
                _ => {}
            }
        }
    }

    /// Text outside `unmask` rules is starred when the project records no page text.
    fn text_off(&self, f: Facts) -> bool {
        !self.pol.record.text && !f.has(flag::UNMASKED)
    }

    /// A form value (input value, textarea text, selected option text, Input event text).
    pub(crate) fn form_value(&mut self, s: &str, f: Facts) -> Option<String> {
        let reveal = !f.has(flag::SECRET | flag::MASKED | flag::BLOCKED | flag::SENSITIVE)
            && ((self.pol.record.forms && self.pol.record.text) || f.has(flag::UNMASKED));
        let out = if reveal {
            match detect::scrub(s, self.text_detect(f)) {
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
    fn text_value_as(&mut self, s: &str, f: Facts, page_text: bool) -> Option<String> {
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
            detect::scrub(s, self.text_detect(f))
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
    fn layout_text(&mut self, v: &mut Value, f: Facts) {
        let Value::String(s) = v else {
            return self.scrub_json_masked(v);
        };
        let out = if f.has(flag::MASKED | flag::BLOCKED | flag::SENSITIVE) {
            detect::star_text(s)
        } else {
            let d = Detect {
                numbers: false,
                ..self.text_detect(f)
            };
            detect::scrub(s, d)
        };
        if let Cow::Owned(o) = out {
            self.report.strings_masked += 1;
            *s = o.into();
        }
    }

    /// Script text (a text node in `<script>`, or a text change of one): rrweb's placeholder.
    fn script_text(&mut self, v: Option<&mut Value>) {
        if let Some(v) = v {
            if v.as_str() != Some(script::SCRIPT_PLACEHOLDER) {
                self.report.strings_masked += 1;
                *v = Value::from(script::SCRIPT_PLACEHOLDER);
            }
        }
    }

    fn set_str(&mut self, v: &mut Value, new: Option<String>) {
        if let Some(n) = new {
            *v = Value::from(n);
        }
    }

    // ---- attributes --------------------------------------------------------------------

    fn attr(&mut self, tag: &str, k: &str, v: &Value, f: Facts, is_svg: bool) -> AttrOut {
        let masked = f.has(flag::MASKED | flag::BLOCKED | flag::SENSITIVE);
        let key = k.to_ascii_lowercase();
        let key = key.as_str();
        if key == "rr_dataurl" {
            let canvas = tag == "canvas" || tag.is_empty();
            if masked || (canvas && !self.pol.record.canvas) {
                self.report.attributes_removed += 1;
                return AttrOut::Remove;
            }
            return AttrOut::Keep;
        }
        if matches!(key, "checked" | "selected") {
            let hide_choice =
                key == "selected" && !(self.pol.record.forms || f.has(flag::UNMASKED));
            if masked || f.has(flag::SECRET) || hide_choice {
                self.report.attributes_removed += 1;
                return AttrOut::Remove;
            }
            return AttrOut::Keep;
        }
        let Some(s) = v.as_str() else {
            // Numbers, booleans, null (removed attribute), style objects (attribute mutations:
            // CSS) are kept; any other object or array is no attribute value: scrubbed.
            return match v {
                Value::Object(_) if key == "style" => AttrOut::Css,
                Value::Object(_) | Value::Array(_) => AttrOut::Json,
                _ => AttrOut::Keep,
            };
        };
        if key == "style" || key == "_csstext" {
            return self.css_text(s, f).map_or(AttrOut::Keep, AttrOut::Set);
        }
        if key == "value" {
            // Unknown elements (attribute mutations) count as form controls: fail safe.
            let form = matches!(tag, "input" | "textarea" | "select" | "");
            if form {
                return self.form_value(s, f).map_or(AttrOut::Keep, AttrOut::Set);
            }
            return self.text_value(s, f).map_or(AttrOut::Keep, AttrOut::Set);
        }
        if is_url_attr(key) || key == "srcset" {
            let is_data = s
                .trim_start()
                .get(..5)
                .is_some_and(|p| p.eq_ignore_ascii_case("data:"));
            if is_data {
                if masked {
                    self.report.attributes_removed += 1;
                    return AttrOut::Remove;
                }
                return AttrOut::Keep;
            }
            if masked && matches!(tag, "a" | "area" | "form") && matches!(key, "href" | "action") {
                return AttrOut::Set(mask_url_fully(s));
            }
            let rules = self.url_rules(f);
            let out = if key == "srcset" {
                url::scrub_srcset(s, &rules)
            } else {
                url::scrub_url(s, &rules)
            };
            return match out {
                Cow::Owned(o) => {
                    self.report.strings_masked += 1;
                    AttrOut::Set(o)
                }
                Cow::Borrowed(_) => AttrOut::Keep,
            };
        }
        if key.starts_with("data-") && is_sensitive_key(&key[5..], &self.pol.extra_keys) {
            let o = detect::star_all(s);
            return if o == s {
                AttrOut::Keep
            } else {
                AttrOut::Set(o)
            };
        }
        if is_text_attr(key) {
            return self
                .text_value_as(s, f, is_page_text_attr(key))
                .map_or(AttrOut::Keep, AttrOut::Set);
        }
        if is_structural_attr(key) || (is_svg && !masked) {
            return AttrOut::Keep;
        }
        // Anything else: detectors without the digit rule (layout numbers live here).
        let d = Detect {
            numbers: false,
            ..self.text_detect(f)
        };
        let out = if masked {
            detect::star_text(s)
        } else {
            detect::scrub(s, d)
        };
        match out {
            Cow::Owned(o) => {
                self.report.strings_masked += 1;
                AttrOut::Set(o)
            }
            Cow::Borrowed(_) => AttrOut::Keep,
        }
    }

    fn attributes(&mut self, tag: &str, attrs: &mut Map, f: Facts, is_svg: bool, button: bool) {
        // One pass, in place: a hostile element with many attributes stays linear.
        let in_script = f.has(flag::SCRIPT);
        attrs.retain(|k, v| {
            // Live script first (handlers, srcdoc, script URLs), then masking.
            match script::attr(tag, k, v.as_str(), in_script) {
                script::Verdict::Keep => {}
                script::Verdict::Remove => {
                    self.report.attributes_removed += 1;
                    return false;
                }
                script::Verdict::Replace(r) => {
                    self.report.strings_masked += 1;
                    *v = Value::from(r);
                    return true;
                }
            }
            let out = if button && k == "value" {
                match v.as_str() {
                    Some(s) => self.text_value(s, f).map_or(AttrOut::Keep, AttrOut::Set),
                    None => AttrOut::Keep,
                }
            } else {
                self.attr(tag, k, v, f, is_svg)
            };
            match out {
                AttrOut::Keep => true,
                AttrOut::Set(s) => {
                    *v = Value::from(s);
                    true
                }
                AttrOut::Remove => false,
                AttrOut::Css => {
                    self.css_strings(v, f);
                    true
                }
                AttrOut::Json => {
                    self.scrub_json(v, f);
                    true
                }
            }
        });
    }

    /// Reduce a blocked element to rrweb's placeholder: class, size, no children.
    fn placeholder_attrs(&mut self, attrs: &mut Map) {
        let before = attrs.len();
        attrs.retain(|k, v| match k {
            "class" | "rr_width" | "rr_height" => true,
            "style" => v.as_str().is_some_and(|s| !s.contains("url(")),
            _ => false,
        });
        self.report.attributes_removed += before - attrs.len();
    }

    /// Remove the children of a blocked element, remembering their ids as blocked.
    fn strip_children(&mut self, node: &mut Map) {
        if let Some(Value::Array(children)) = node.get_mut("childNodes") {
            self.forget_blocked(std::mem::take(children), "childNodes");
        }
    }

    /// Drop whole subtrees (web `childNodes` or mobile `children`), remembering every id in
    /// them as blocked so later changes to those nodes are dropped too.
    pub(super) fn forget_blocked(&mut self, mut stack: Vec<Value>, children_key: &str) {
        while let Some(mut v) = stack.pop() {
            self.report.nodes_removed += 1;
            if let Some(id) = as_id(v.get("id")) {
                self.record(
                    id,
                    Facts {
                        f: flag::BLOCKED | flag::MASKED,
                        q: 0,
                    },
                );
            }
            if let Some(Value::Array(c)) = v.get_mut(children_key) {
                stack.append(c);
            }
        }
    }

    // ---- nodes -------------------------------------------------------------------------

    fn element(&mut self, node: &mut Map, id: Option<u32>, parent: Facts, depth: u32) -> Facts {
        let tag = node
            .get("tagName")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_lowercase();
        let is_svg = node.get("isSVG").and_then(Value::as_bool).unwrap_or(false);
        let mut facts = inherit(parent);
        facts.f |= self.sticky(id);
        if depth > MAX_DEPTH || self.pol.strict {
            facts.f |= flag::MASKED;
        }
        let attrs = node.get("attributes").and_then(Value::as_object);
        let el = Element { tag: &tag, attrs };
        let (mut mask, mut block, secret_marker) = markers(&el, attrs);
        let mut unmask = false;
        facts.q = self.pol.matcher.step(parent.q, &el, |a| match a {
            Action::Mask => mask = true,
            Action::Exclude => block = true,
            Action::Unmask => unmask = true,
        });
        let secret = secret_marker || is_secret_input(&tag, attrs);
        let input_type = attrs
            .and_then(|a| a.get("type"))
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        let selected = tag == "option" && attrs.is_some_and(|a| a.contains_key("selected"));
        if !facts.has(flag::BLOCKED) {
            if block {
                facts.f |= flag::BLOCK_ROOT | flag::MASKED;
            } else if mask {
                facts.f |= flag::MASKED;
            }
        }
        if unmask && !facts.has(flag::MASKED) {
            facts.f |= flag::UNMASKED;
        }
        // Rich-text editors: what is typed there is user input, masked like a form value.
        let editable = attrs
            .and_then(|a| a.get("contenteditable"))
            .is_some_and(|v| v.as_str().is_none_or(|s| !s.eq_ignore_ascii_case("false")));
        if editable && !(self.pol.record.forms || facts.has(flag::UNMASKED)) {
            facts.f |= flag::MASKED;
        }
        let button = tag == "input"
            && matches!(input_type.as_str(), "submit" | "button" | "reset" | "image");
        match tag.as_str() {
            "input" if !button => facts.f |= flag::FORM,
            "textarea" => facts.f |= flag::FORM | flag::TEXTAREA,
            "select" => facts.f |= flag::FORM,
            "style" => facts.f |= flag::CSS,
            "option" if selected => facts.f |= flag::SELECTED,
            _ => {}
        }
        if script::is_script_tag(&tag) {
            facts.f |= flag::SCRIPT;
        }
        if secret {
            facts.f |= flag::SECRET;
        }
        if let Some(Value::Object(attrs)) = node.get_mut("attributes") {
            if facts.has(flag::BLOCK_ROOT) {
                self.placeholder_attrs(attrs);
            } else {
                self.attributes(&tag, attrs, facts, is_svg, button);
            }
        }
        if facts.has(flag::BLOCK_ROOT) {
            self.report.nodes_blocked += 1;
        }
        facts
    }

    fn text(&mut self, node: &mut Map, id: Option<u32>, parent: Facts, comment: bool) -> Facts {
        let mut facts = inherit(parent);
        facts.f |= self.sticky(id);
        facts.q = 0;
        let is_style = node
            .get("isStyle")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if !comment && (is_style || parent.has(flag::CSS)) {
            facts.f |= flag::CSS;
        }
        if !comment && parent.has(flag::TEXTAREA | flag::SELECTED) {
            facts.f |= flag::VALUE_TEXT | (parent.f & flag::SECRET);
            if parent.has(flag::UNMASKED) {
                facts.f |= flag::UNMASKED;
            }
        }
        if self.pol.strict {
            facts.f |= flag::MASKED;
        }
        if !comment && parent.has(flag::SCRIPT) {
            facts.f |= flag::SCRIPT;
        }
        if facts.has(flag::SCRIPT) {
            self.script_text(node.get_mut("textContent"));
        } else if let Some(v) = node.get_mut("textContent") {
            if let Some(s) = v.as_str() {
                let new = self.text_value(s, facts);
                self.set_str(v, new);
            }
        }
        facts
    }

    /// Walk a serialized node tree (full snapshot root or a mutation's added node).
    pub fn walk_tree(&mut self, root: &mut Value, parent: Facts, depth0: u32) {
        let mut stack: Vec<(&mut Value, Facts, u32)> = vec![(root, parent, depth0)];
        while let Some((v, pf, depth)) = stack.pop() {
            let Value::Object(node) = v else {
                // Not a node: scrub whatever strings it holds.
                self.scrub_json(v, inherit(pf));
                continue;
            };
            let id = as_id(node.get("id"));
            let ty = node.get("type").and_then(Value::as_u64);
            let facts = match ty {
                Some(2) => {
                    let f = self.element(node, id, pf, depth);
                    self.rest(node, known_element, f);
                    f
                }
                Some(3) | Some(4) => {
                    let f = self.text(node, id, pf, false);
                    self.rest(node, known_text_node, f);
                    f
                }
                Some(5) => {
                    let f = self.text(node, id, pf, true);
                    self.rest(node, known_text_node, f);
                    f
                }
                Some(0) | Some(1) => {
                    let mut f = inherit(pf);
                    f.f |= self.sticky(id);
                    for k in ["name", "publicId", "systemId", "compatMode"] {
                        if let Some(v) = node.get_mut(k) {
                            self.layout_text(v, f);
                        }
                    }
                    self.rest(node, known_doc_node, f);
                    f
                }
                _ => {
                    // Unknown node type: mask all of its strings, keep its shape.
                    let mut f = inherit(pf);
                    f.f |= flag::MASKED;
                    for (k, x) in node.iter_mut() {
                        if k != "id" && k != "type" {
                            self.scrub_json_masked(x);
                        }
                    }
                    if let Some(id) = id {
                        self.record(id, f);
                    }
                    continue;
                }
            };
            if let Some(id) = id {
                self.record(id, facts);
            }
            if facts.has(flag::BLOCK_ROOT) {
                self.strip_children(node);
                continue;
            }
            if let Some(Value::Array(children)) = node.get_mut("childNodes") {
                for c in children.iter_mut().rev() {
                    stack.push((c, facts, depth + 1));
                }
            }
        }
    }

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
                        let rules =
                            UrlRules::new(d, &self.pol.extra_keys).with_allow(&self.pol.url_allow);
                        match url::scrub_url(s, &rules) {
                            Cow::Owned(o) => Some(o),
                            Cow::Borrowed(_) => None,
                        }
                    } else {
                        match detect::scrub(s, d) {
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
                        let old = std::mem::take(m);
                        *m = old
                            .into_iter()
                            .map(|(k, x)| (Cow::Owned(detect::scrub(&k, d).into_owned()), x))
                            .collect();
                    }
                    for (k, x) in m.iter_mut() {
                        let s = sensitive || is_sensitive_key(k, &self.pol.extra_keys);
                        stack.push((x, s));
                    }
                }
                Value::Bool(_) | Value::Null => {}
            }
        }
    }

    fn scrub_json_masked(&mut self, root: &mut Value) {
        self.scrub_json(
            root,
            Facts {
                f: flag::MASKED,
                q: 0,
            },
        );
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

    // ---- events ------------------------------------------------------------------------

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
                Some(6) => super::plugins::plugin(self, data),
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

    fn url_value(&mut self, v: &mut Value, f: Facts) {
        if let Some(s) = v.as_str() {
            let rules = self.url_rules(f);
            if let Cow::Owned(o) = url::scrub_url(s, &rules) {
                self.report.strings_masked += 1;
                *v = Value::from(o);
            }
        }
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
            super::mobile::frames(self, frames);
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
        if m.contains_key("payload") && !is_css && !self.pol.record.canvas {
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
            // like <style> text, so that the replay renders; the URLs in them scrubbed.
            Some(8 | 10 | 13 | 15 | 16) => {
                if let Value::Object(m) = data {
                    for (k, v) in m.iter_mut() {
                        if matches!(
                            k,
                            "adds" | "replace" | "replaceSync" | "set" | "styles" | "fontSource"
                        ) {
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
        let f = as_id(data.get("id")).map_or(
            Facts {
                f: flag::MASKED,
                q: 0,
            },
            |id| self.facts(id),
        );
        let Value::Object(m) = data else { return };
        if !self.pol.record.canvas || f.has(flag::MASKED | flag::BLOCKED | flag::SENSITIVE) {
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
                    if let Cow::Owned(o) = detect::scrub(s, d) {
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
            let old = std::mem::take(adds);
            for mut add in old {
                if add.get("wireframe").is_some() {
                    if super::mobile::add(self, &mut add) {
                        adds.push(add);
                    }
                    continue;
                }
                let pf = match as_id(add.get("parentId")) {
                    Some(p) => self.facts(p),
                    None => Facts {
                        f: flag::MASKED,
                        q: 0,
                    },
                };
                if pf.has(flag::BLOCKED | flag::BLOCK_ROOT) {
                    // Inside a blocked element: dropped, ids remembered as blocked.
                    let mut holder = Map::new();
                    if let Some(n) = add.get_mut("node") {
                        holder.insert("childNodes", Value::Array(vec![n.take()]));
                    }
                    self.strip_children(&mut holder);
                    self.report.entries_dropped += 1;
                    continue;
                }
                match add.get_mut("node") {
                    Some(n) => {
                        self.walk_tree(n, pf, 1);
                        self.rest_value(&mut add, known_add, inherit(pf));
                    }
                    None => self.scrub_json_masked(&mut add),
                }
                adds.push(add);
            }
        }
        if let Some(Value::Array(ups)) = m.get_mut("updates") {
            let old = std::mem::take(ups);
            for mut up in old {
                if super::mobile::update(self, &mut up) {
                    ups.push(up);
                }
            }
        }
        if let Some(Value::Array(attrs)) = m.get_mut("attributes") {
            let old = std::mem::take(attrs);
            for mut a in old {
                let Some(id) = as_id(a.get("id")) else {
                    self.scrub_json_masked(&mut a);
                    attrs.push(a);
                    continue;
                };
                let mut f = self.facts(id);
                if f.has(flag::BLOCKED) {
                    self.report.entries_dropped += 1;
                    continue;
                }
                if let Some(Value::Object(map)) = a.get_mut("attributes") {
                    // Markers or rules appearing later mask the element from now on.
                    let el = Element {
                        tag: "",
                        attrs: Some(map),
                    };
                    let (mut mask, mut block, secret) = markers(&el, Some(map));
                    self.pol.matcher.step(0, &el, |act| match act {
                        Action::Mask => mask = true,
                        Action::Exclude => block = true,
                        Action::Unmask => {}
                    });
                    let mut nf = f;
                    if mask || block {
                        nf.f |= flag::MASKED;
                        nf.f &= !flag::UNMASKED;
                    }
                    if secret || is_secret_input("", Some(map)) {
                        nf.f |= flag::SECRET;
                    }
                    if nf != f {
                        f = nf;
                        self.record(id, f);
                    }
                    if f.has(flag::BLOCK_ROOT) {
                        self.placeholder_attrs(map);
                    } else {
                        self.attributes("", map, f, false, false);
                    }
                }
                self.rest_value(&mut a, known_attr_entry, f);
                attrs.push(a);
            }
        }
        if let Some(Value::Array(texts)) = m.get_mut("texts") {
            let old = std::mem::take(texts);
            for mut t in old {
                let f = match as_id(t.get("id")) {
                    Some(id) => self.facts(id),
                    None => Facts {
                        f: flag::MASKED,
                        q: 0,
                    },
                };
                if f.has(flag::BLOCKED) {
                    self.report.entries_dropped += 1;
                    continue;
                }
                if f.has(flag::SCRIPT) {
                    self.script_text(t.get_mut("value"));
                } else if let Some(v) = t.get_mut("value") {
                    if let Some(s) = v.as_str() {
                        let new = self.text_value(s, f);
                        self.set_str(v, new);
                    }
                }
                self.rest_value(&mut t, known_text, f);
                texts.push(t);
            }
        }
        if let Some(Value::Array(removes)) = m.get_mut("removes") {
            for r in removes.iter_mut() {
                let f = match as_id(r.get("id")) {
                    Some(id) => self.facts(id),
                    None => Facts {
                        f: flag::MASKED,
                        q: 0,
                    },
                };
                self.rest_value(r, known_remove, f);
            }
        }
        self.rest(m, known_mutation, Facts::NONE);
    }
}

/// Masked links: keep scheme and host, star the rest (separators kept).
fn mask_url_fully(s: &str) -> String {
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
