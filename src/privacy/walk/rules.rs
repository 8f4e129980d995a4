//! The walk's rules as data (in the manner of Relay's `relay-pii` builtin table): the client
//! markers honoured server-side, the needles that make an input a secret one, and which
//! attributes hold page text, URLs or structure. The walks read these tables; adding a
//! marker or a needle is one line here.

use crate::json::{Map, Value};

use super::Marks;

/// What a client marker asks for.
#[derive(Clone, Copy)]
pub(crate) enum Mark {
    Mask,
    Block,
    Secret,
}

/// Classes that mark an element (rrweb's defaults, Smartlook's).
const MARKER_CLASSES: &[(&str, Mark)] = &[
    ("rr-block", Mark::Block),
    ("rr-mask", Mark::Mask),
    ("rr-ignore", Mark::Mask),
    ("smartlook-hide", Mark::Mask),
];

/// Attributes that mark an element: present (`None`), or holding exactly this value.
const MARKER_ATTRS: &[(&str, Option<&str>, Mark)] = &[
    ("data-recording-disable", None, Mark::Block),
    ("data-recording-sensitive", None, Mark::Mask),
    ("data-recording-ignore", None, Mark::Mask),
    ("data-sl", Some("exclude"), Mark::Block),
    ("data-sl", Some("mask"), Mark::Mask),
    ("data-rr-is-password", None, Mark::Secret),
];

/// The client markers on an element's attributes (web; wireframes mark with `sensitive`).
pub(crate) fn markers(attrs: Option<&Map>) -> Marks {
    let mut marks = Marks::default();
    let Some(a) = attrs else { return marks };
    let mut set = |m: Mark| match m {
        Mark::Mask => marks.mask = true,
        Mark::Block => marks.block = true,
        Mark::Secret => marks.secret = true,
    };
    if let Some(Value::String(class)) = a.get("class") {
        for c in class.split_ascii_whitespace() {
            if let Some((_, m)) = MARKER_CLASSES.iter().find(|(name, _)| *name == c) {
                set(*m);
            }
        }
    }
    for (name, value, m) in MARKER_ATTRS {
        let hit = match value {
            None => a.contains_key(name),
            Some(want) => a.get(name).and_then(Value::as_str) == Some(*want),
        };
        if hit {
            set(*m);
        }
    }
    marks
}

// ---- secret inputs (never relaxable) --------------------------------------------------

/// Elements whose attributes can make them a secret input (`""`: an attribute mutation,
/// whose element is not known).
const SECRET_INPUT_TAGS: &[&str] = &["input", "textarea", "select", ""];
/// Attributes whose values say nothing about the input's purpose (the value itself, styling).
const SECRET_SKIP_ATTRS: &[&str] = &["value", "style", "_csstext", "class"];
/// `autocomplete` tokens of password, one-time-code and payment fields.
const SECRET_AUTOCOMPLETE: &[&str] = &["password", "one-time-code", "cc-"];
/// Like Smartlook: any attribute name, or value other than `type`'s, mentioning one of these
/// marks a password or payment input.
const SECRET_NEEDLES: &[&str] = &[
    "password", "passwd", "card", "credit", "expiry", "cvv", "cvc", "iban", "ssn",
];

/// Password, payment and one-time-code inputs on the web.
pub(crate) fn is_secret_input(tag: &str, attrs: Option<&Map>) -> bool {
    if !SECRET_INPUT_TAGS.contains(&tag) {
        return false;
    }
    let Some(a) = attrs else { return false };
    for (k, v) in a.iter() {
        let key = k.to_ascii_lowercase();
        if SECRET_SKIP_ATTRS.contains(&key.as_str()) {
            continue;
        }
        let Some(v) = v.as_str() else { continue };
        let v = v.to_ascii_lowercase();
        if key == "type" && v == "password" {
            return true;
        }
        if key == "autocomplete" && SECRET_AUTOCOMPLETE.iter().any(|n| v.contains(n)) {
            return true;
        }
        for needle in SECRET_NEEDLES {
            if key.contains(needle) || (key != "type" && v.contains(needle)) {
                return true;
            }
        }
    }
    false
}

/// Mobile `inputType`s of secret fields (lower case).
const MOBILE_SECRET_INPUT_TYPES: &[&str] = &[
    "password",
    "secure",
    "pin",
    "otp",
    "one_time_code",
    "credit_card",
    "card",
];
/// Wireframe fields that name an input's purpose.
const MOBILE_SECRET_FIELDS: &[&str] = &["label", "placeholder", "identifier", "name"];
/// Needles in those fields that mark a secret input.
const MOBILE_SECRET_NEEDLES: &[&str] =
    &["password", "passcode", "card", "cvv", "cvc", "iban", "ssn"];

/// Password, PIN, one-time-code and payment inputs in a wireframe.
pub(crate) fn is_secret_wireframe(m: &Map) -> bool {
    let field = |k: &str| {
        m.get(k)
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
    };
    let input_type = field("inputType").unwrap_or_default();
    MOBILE_SECRET_INPUT_TYPES.contains(&input_type.as_str())
        || MOBILE_SECRET_NEEDLES.iter().any(|n| {
            MOBILE_SECRET_FIELDS
                .iter()
                .any(|k| field(k).is_some_and(|v| v.contains(n)))
        })
}

// ---- attribute classes ----------------------------------------------------------------

/// Human-readable attributes: full text detection (digits included). All but `data-*` are
/// page text, starred with `record.text: false` ([`is_page_text_attr`]).
pub(crate) fn is_text_attr(k: &str) -> bool {
    is_page_text_attr(k) || k.starts_with("data-")
}

/// Attributes a visitor reads (or hears): masked with the text when `record.text` is off.
/// `data-*` is not among them: CSS selects on it, and starring it would change the layout.
pub(crate) fn is_page_text_attr(k: &str) -> bool {
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

/// Attributes holding a URL: scrubbed as URLs.
pub(crate) fn is_url_attr(k: &str) -> bool {
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
pub(crate) fn is_structural_attr(k: &str) -> bool {
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
