//! One pass over the decoded bytes before any tree is built: nesting depth, string length,
//! and the escapes and numbers serde_json would only refuse later, when the session object
//! builds its tree. The same pass locates the top-level `events` array, so the worker can read
//! the envelope around it without reading the events.

use serde::Deserialize;

use super::Limits;
use crate::error::{ApiError, ErrorCode};

/// Nesting depth and string length, checked before parsing. serde_json's own recursion limit
/// (128) is too low for real DOM snapshots and its error too vague for a client, so depth is
/// checked here and the parser's limit is lifted afterwards ([`from_slice_prescanned`]).
pub fn prescan(json: &[u8], limits: &Limits) -> Result<(), ApiError> {
    prescan_locating(json, limits).map(|_| ())
}

/// `prescan`, which also finds where the top-level `events` array is: its byte range, when
/// the body has exactly one `"events"` key (spelled without escapes) at depth 1 and its
/// value opens with `[`. Brackets are only counted here, not matched: whoever takes the
/// range parses it strictly.
pub(super) fn prescan_locating(
    json: &[u8],
    limits: &Limits,
) -> Result<Option<(usize, usize)>, ApiError> {
    let mut depth = 0usize;
    let mut paired_low = usize::MAX;
    let mut i = 0;
    let mut events_keys = 0;
    let mut open_at = usize::MAX;
    let (mut ev_start, mut ev_end) = (None, None);
    while let Some(&b) = json.get(i) {
        match b {
            b'"' => {
                let start = i;
                i = string_end(json, i + 1, &mut paired_low)?;
                if i - start > limits.max_string_bytes {
                    return Err(string_too_long(limits));
                }
                if depth == 1 && json.get(start + 1..i) == Some(b"events".as_slice()) {
                    let after = |mut j: usize| {
                        while let Some(b' ' | b'\n' | b'\r' | b'\t') = json.get(j) {
                            j += 1;
                        }
                        j
                    };
                    let colon = after(i + 1);
                    if json.get(colon) == Some(&b':') {
                        events_keys += 1;
                        open_at = after(colon + 1);
                    }
                }
            }
            b'{' | b'[' => {
                if i == open_at && b == b'[' {
                    ev_start = Some(i);
                }
                depth += 1;
                if depth > limits.max_depth {
                    return Err(ApiError::new(
                        ErrorCode::TooDeep,
                        format!("JSON nesting exceeds depth {}", limits.max_depth),
                    ));
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 1 && ev_start.is_some() && ev_end.is_none() {
                    ev_end = Some(i + 1);
                }
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while json
                    .get(i + 1)
                    .is_some_and(|c| matches!(c, b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-'))
                {
                    i += 1;
                }
                check_number(&json[start..=i])?;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(match (events_keys, ev_start, ev_end) {
        (1, Some(s), Some(e)) => Some((s, e)),
        _ => None,
    })
}

/// From just inside a string's opening quote: the index of its closing quote, or `json.len()`
/// for a string the body ends in. Refuses lone surrogate escapes on the way.
fn string_end(json: &[u8], mut i: usize, paired_low: &mut usize) -> Result<usize, ApiError> {
    loop {
        i = skip_to_quote_or_escape(json, i);
        match json.get(i) {
            Some(b'\\') => {
                // serde_json skips strings it does not decode (raw events, ignored fields)
                // without checking their escapes, but refuses a lone surrogate when it builds
                // a tree. Refuse it here, so what the edge accepts the session object can read.
                if json.get(i + 1) == Some(&b'u') && lone_surrogate(json, i + 2, paired_low) {
                    return Err(ApiError::new(
                        ErrorCode::MalformedJson,
                        "a string holds an unpaired UTF-16 surrogate escape",
                    ));
                }
                i = (i + 2).min(json.len());
            }
            _ => return Ok(i),
        }
    }
}

/// The first `"` or `\\` at or after `i` (or `json.len()`), eight bytes at a time: most of a
/// recording's bytes are string contents, and this is where the prescan spends its time.
fn skip_to_quote_or_escape(json: &[u8], mut i: usize) -> usize {
    const ONES: u64 = u64::MAX / 255;
    const HIGH: u64 = ONES << 7;
    let has_byte = |w: u64, b: u8| {
        let x = w ^ (ONES * u64::from(b));
        // Exact for the lowest flagged byte, which is the only one used.
        x.wrapping_sub(ONES) & !x & HIGH
    };
    while let Some(chunk) = json.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let hits = has_byte(w, b'"') | has_byte(w, b'\\');
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while json.get(i).is_some_and(|&b| b != b'"' && b != b'\\') {
        i += 1;
    }
    i.min(json.len())
}

/// A number token outside strings. serde_json skips numbers it does not decode (raw events)
/// but refuses one beyond f64 when it builds a tree: refuse it here too. Only long tokens or
/// ones with an exponent can overflow, so the common short ones are not parsed.
fn check_number(token: &[u8]) -> Result<(), ApiError> {
    if token.len() <= 15 && !token.iter().any(|&c| c == b'e' || c == b'E') {
        return Ok(());
    }
    let finite = std::str::from_utf8(token)
        .ok()
        .and_then(|t| t.parse::<f64>().ok())
        .is_none_or(f64::is_finite);
    if finite {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::MalformedJson,
            "a number is out of range",
        ))
    }
}

/// `json[at..]` starts the 4 hex digits of a `\u` escape. `paired_low` is where the hex of
/// the low half of the last well-formed pair starts. Returns whether this escape is a lone
/// surrogate, and updates `paired_low` when it opens a well-formed pair.
fn lone_surrogate(json: &[u8], at: usize, paired_low: &mut usize) -> bool {
    let hex4 = |from: usize| -> Option<u16> {
        let digits = json.get(from..from + 4)?;
        u16::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
    };
    match hex4(at) {
        Some(0xD800..=0xDBFF) => {
            let paired = json.get(at + 4..at + 6) == Some(b"\\u")
                && matches!(hex4(at + 6), Some(0xDC00..=0xDFFF));
            if paired {
                *paired_low = at + 6;
            }
            !paired
        }
        Some(0xDC00..=0xDFFF) => *paired_low != at,
        _ => false,
    }
}

fn string_too_long(limits: &Limits) -> ApiError {
    ApiError::new(
        ErrorCode::StringTooLong,
        format!("a JSON string exceeds {} bytes", limits.max_string_bytes),
    )
}

/// Parse with serde_json's recursion limit lifted; `prescan` has already bounded the depth.
pub fn from_slice_prescanned<'a, T: Deserialize<'a>>(json: &'a [u8]) -> serde_json::Result<T> {
    let mut de = serde_json::Deserializer::from_slice(json);
    de.disable_recursion_limit();
    let value = T::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// `from_slice_prescanned` for text known to be UTF-8: serde_json then skips its own UTF-8
/// checks of every string and raw value it reads.
pub(super) fn from_str_prescanned<'a, T: Deserialize<'a>>(json: &'a str) -> serde_json::Result<T> {
    let mut de = serde_json::Deserializer::from_str(json);
    de.disable_recursion_limit();
    let value = T::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_is_checked_before_parsing() {
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        let err = prescan(deep.as_bytes(), &Limits::default()).unwrap_err();
        assert_eq!(err.code, "too_deep");
        // Brackets inside strings do not count.
        let s = format!("{{\"a\":\"{}\"}}", "[".repeat(10_000));
        prescan(s.as_bytes(), &Limits::default()).unwrap();
        // Deeper than serde_json's own limit of 128 but within ours parses.
        let ok = "[".repeat(300) + &"]".repeat(300);
        prescan(ok.as_bytes(), &Limits::default()).unwrap();
        let v: serde_json::Value = from_slice_prescanned(ok.as_bytes()).unwrap();
        assert!(v.is_array());
    }

    #[test]
    fn lone_surrogates_are_refused_before_parsing() {
        let limits = Limits::default();
        for bad in [
            r#"{"a":"\\ud83d\ude00"}"#,
            r#"{"a":"\ud800"}"#,
            r#"{"a":"\udc00x"}"#,
            r#"{"a":"\ud800\u0041"}"#,
            r#"{"\udfff":1}"#,
        ] {
            assert_eq!(
                prescan(bad.as_bytes(), &limits).unwrap_err().code,
                "malformed_json",
                "{bad}"
            );
        }
        for good in [
            r#"{"a":"\ud83d\ude00"}"#,
            r#"{"a":"\u00e9\\udc00"}"#,
            r#"{"a":"\\ud800"}"#,
        ] {
            prescan(good.as_bytes(), &limits).unwrap();
            let _: serde_json::Value = serde_json::from_str(good).unwrap();
        }
    }

    #[test]
    fn numbers_beyond_f64_are_refused_before_parsing() {
        let limits = Limits::default();
        let huge = format!("[1{}]", "0".repeat(400));
        for bad in ["[1e999]", "[-1E400]", "{\"a\":[0, 2e+309]}", huge.as_str()] {
            assert_eq!(
                prescan(bad.as_bytes(), &limits).unwrap_err().code,
                "malformed_json",
                "{bad}"
            );
            assert!(serde_json::from_str::<serde_json::Value>(bad).is_err());
        }
        for good in [
            "[1e308, -2.5e-300, 12345678901234567890, 0.000001]",
            "{\"a\":\"1e999\"}",
            "1e5",
        ] {
            prescan(good.as_bytes(), &limits).unwrap();
            let _: serde_json::Value = serde_json::from_str(good).unwrap();
        }
    }

    #[test]
    fn long_strings_are_refused() {
        let limits = Limits {
            max_string_bytes: 100,
            ..Limits::default()
        };
        let s = format!("{{\"a\":\"{}\"}}", "x".repeat(101));
        assert_eq!(
            prescan(s.as_bytes(), &limits).unwrap_err().code,
            "string_too_long"
        );
        let s = format!("{{\"a\":\"{}", "x".repeat(101));
        assert_eq!(
            prescan(s.as_bytes(), &limits).unwrap_err().code,
            "string_too_long"
        );
        let s = format!("{{\"a\":\"{}\"}}", "x\\\"".repeat(20));
        prescan(s.as_bytes(), &limits).unwrap();
    }

    #[test]
    fn locates_the_top_level_events_array() {
        let limits = Limits::default();
        let body = br#"{"a":{"events":[9]}, "events" : [1,[2]] ,"b":3}"#;
        let (s, e) = prescan_locating(body, &limits).unwrap().unwrap();
        assert_eq!(&body[s..e], b"[1,[2]]");
        // Twice, escaped, or not an array: not located (the full parse decides).
        for body in [
            &br#"{"events":[1],"events":[2]}"#[..],
            br#"{"ev\u0065nts":[1]}"#,
            br#"{"events":{"a":[1]}}"#,
        ] {
            assert_eq!(prescan_locating(body, &limits).unwrap(), None);
        }
    }
}
