//! Small helpers shared by the targets.

use std::borrow::Cow;
use std::io::Write;

use veilgate::error::ApiError;

/// Separator of multi-part inputs: never a byte of UTF-8 text.
pub const SEP: u8 = 0xFF;

/// Split an input on [`SEP`] into at most `n` parts (the last part keeps any further
/// separators, lossily decoded). Missing parts are `None`.
pub fn parts(data: &[u8], n: usize) -> Vec<Option<Cow<'_, str>>> {
    let mut out: Vec<Option<Cow<'_, str>>> = data
        .splitn(n, |&b| b == SEP)
        .map(|p| Some(String::from_utf8_lossy(p)))
        .collect();
    out.resize(n, None);
    out
}

/// Gzip `bytes` (fast level).
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).expect("writing to a Vec cannot fail");
    enc.finish().expect("writing to a Vec cannot fail")
}

/// Every `ApiError` must be a well-formed client or server answer whose JSON body parses and
/// names its code.
pub fn check_api_error(e: &ApiError) {
    assert!(
        (400..600).contains(&e.status),
        "status {} out of range",
        e.status
    );
    assert!(!e.code.is_empty(), "empty error code");
    assert!(
        e.code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
        "error code {:?} is not snake_case",
        e.code
    );
    let body: serde_json::Value =
        serde_json::from_str(&e.body()).expect("an error body must be JSON");
    assert_eq!(
        body["error"]["code"].as_str(),
        Some(e.code),
        "error body names another code"
    );
    assert!(
        body["error"]["message"].is_string(),
        "error body without a message"
    );
}

/// A client error (4xx) with one of `codes`.
pub fn check_client_error(e: &ApiError, codes: &[&str]) {
    check_api_error(e);
    assert!(
        (400..500).contains(&e.status),
        "{} is not a client error: {e:?}",
        e.status
    );
    assert!(
        codes.contains(&e.code),
        "unexpected error code {:?} (expected one of {codes:?})",
        e.code
    );
}

/// `VEILGATE_FUZZ_STRICT` set: known findings (tolerated so that fuzzing goes on) fail again.
pub fn strict() -> bool {
    std::env::var_os("VEILGATE_FUZZ_STRICT").is_some()
}

/// JSON text holds a `\uD800`–`\uDFFF` escape (a UTF-16 surrogate).
pub fn has_surrogate_escape(json: &str) -> bool {
    let b = json.as_bytes();
    b.windows(4).any(|w| {
        w[0] == b'\\'
            && w[1] == b'u'
            && (w[2] == b'd' || w[2] == b'D')
            && matches!(w[3], b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F')
    })
}

/// Text holds a run of more than 8 colon-separated groups of 1–4 hex digits (longer than any
/// IPv6 address).
pub fn has_long_hex_colon_run(s: &str) -> bool {
    let mut groups = 0usize;
    let mut len = 0usize;
    for b in s.bytes() {
        if b.is_ascii_hexdigit() {
            len += 1;
            if len > 4 {
                groups = 0;
                len = 1;
            }
        } else if b == b':' && len > 0 {
            groups += 1;
            len = 0;
        } else {
            if len > 0 && groups + 1 > 8 {
                return true;
            }
            groups = 0;
            len = 0;
        }
        if groups > 8 {
            return true;
        }
    }
    len > 0 && groups + 1 > 8
}

/// Text holds a run of more than 4 dot-separated groups of 1–3 decimal digits (longer than any
/// IPv4 address).
pub fn has_long_dotted_decimal_run(s: &str) -> bool {
    let mut groups = 0usize;
    let mut len = 0usize;
    for b in s.bytes().chain(std::iter::once(b' ')) {
        if b.is_ascii_digit() {
            len += 1;
            if len > 3 {
                groups = 0;
                len = 1;
            }
        } else if b == b'.' && len > 0 {
            groups += 1;
            len = 0;
        } else {
            if len > 0 && groups + 1 > 4 {
                return true;
            }
            groups = 0;
            len = 0;
        }
        if groups > 4 {
            return true;
        }
    }
    false
}

/// `after` is `before` with some more characters replaced by `*` (and nothing else changed).
pub fn only_more_stars(before: &str, after: &str) -> bool {
    before.chars().count() == after.chars().count()
        && before
            .chars()
            .zip(after.chars())
            .all(|(b, a)| a == b || a == '*')
}
