//! The envelope checks as they were before `envelope::parse_body` (src/envelope.rs at
//! a3b597c, verbatim but for paths): the baseline of benches/edge.rs and the oracle of
//! tests/envelope_parse_body.rs. Not used by the worker.
#![allow(dead_code)]

use serde::Deserialize;
use serde_json::value::RawValue;
use veilgate::envelope::{is_valid_id, Envelope, EventSpan, Limits, MAX_SEQ, MAX_URL_BYTES};
use veilgate::error::{ApiError, ErrorCode};

/// What the edge ran: `prescan`, then `Envelope::parse`.
pub fn check<'a>(json: &'a [u8], limits: &Limits) -> Result<(Envelope<'a>, EventSpan), ApiError> {
    prescan(json, limits)?;
    parse(json, limits)
}

pub fn prescan(json: &[u8], limits: &Limits) -> Result<(), ApiError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut string_start = 0usize;
    let mut paired_low = usize::MAX;
    let mut number_start: Option<usize> = None;
    for (i, &b) in json.iter().enumerate() {
        if let Some(start) = number_start {
            if matches!(b, b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-') {
                continue;
            }
            number_start = None;
            check_number(&json[start..i])?;
        }
        if in_string {
            if escaped {
                escaped = false;
                // serde_json skips strings it does not decode (raw events, ignored fields)
                // without checking their escapes, but refuses a lone surrogate when it builds
                // a tree. Refuse it here, so what the edge accepts the session object can read.
                if b == b'u' && lone_surrogate(json, i + 1, &mut paired_low) {
                    return Err(ApiError::new(
                        ErrorCode::MalformedJson,
                        "a string holds an unpaired UTF-16 surrogate escape",
                    ));
                }
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
                if i - string_start > limits.max_string_bytes {
                    return Err(string_too_long(limits));
                }
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                string_start = i;
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > limits.max_depth {
                    return Err(ApiError::new(
                        ErrorCode::TooDeep,
                        format!("JSON nesting exceeds depth {}", limits.max_depth),
                    ));
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'-' | b'0'..=b'9' => number_start = Some(i),
            _ => {}
        }
    }
    if let Some(start) = number_start {
        check_number(&json[start..])?;
    }
    if in_string && json.len() - string_start > limits.max_string_bytes {
        return Err(string_too_long(limits));
    }
    Ok(())
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

fn from_slice_prescanned<'a, T: Deserialize<'a>>(json: &'a [u8]) -> serde_json::Result<T> {
    let mut de = serde_json::Deserializer::from_slice(json);
    de.disable_recursion_limit();
    let value = T::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

#[derive(Deserialize)]
struct EventHead<'a> {
    #[serde(rename = "type")]
    kind: u8,
    timestamp: f64,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

/// `Envelope::parse`.
pub fn parse<'a>(json: &'a [u8], limits: &Limits) -> Result<(Envelope<'a>, EventSpan), ApiError> {
    std::str::from_utf8(json)
        .map_err(|_| ApiError::new(ErrorCode::InvalidUtf8, "body is not valid UTF-8"))?;
    let env: Envelope = from_slice_prescanned(json).map_err(|e| {
        let msg = match e.classify() {
            serde_json::error::Category::Data => {
                format!("envelope does not match the schema: {}", strip_position(&e))
            }
            serde_json::error::Category::Eof => "body ends before the JSON does".to_string(),
            _ => "body is not valid JSON".to_string(),
        };
        ApiError::new(ErrorCode::MalformedJson, msg)
    })?;
    check_id("session", &env.session)?;
    check_id("visitor", &env.visitor)?;
    if env.seq > MAX_SEQ {
        return Err(ApiError::new(
            ErrorCode::InvalidSeq,
            format!("seq must be ≤ {MAX_SEQ}"),
        ));
    }
    if let Some(page) = &env.page {
        if page.len() > MAX_URL_BYTES {
            return Err(ApiError::new(
                ErrorCode::InvalidPage,
                "page URL is too long",
            ));
        }
    }
    let span = validate_events(env.events, limits)?;
    Ok((env, span))
}

fn strip_position(e: &serde_json::Error) -> String {
    // serde_json appends " at line L column C"; the message alone is clearer for a client.
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn validate_events(raw: &RawValue, limits: &Limits) -> Result<EventSpan, ApiError> {
    let heads: Vec<EventHead> = from_slice_prescanned(raw.get().as_bytes()).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidEvents,
            format!(
                "events must be an array of {{type, data, timestamp}}: {}",
                strip_position(&e)
            ),
        )
    })?;
    if heads.is_empty() {
        return Err(ApiError::new(ErrorCode::InvalidEvents, "events is empty"));
    }
    if heads.len() > limits.max_events {
        return Err(ApiError::new(
            ErrorCode::TooManyEvents,
            format!("a beacon carries at most {} events", limits.max_events),
        ));
    }
    let mut first_ts = f64::INFINITY;
    let mut last_ts = f64::NEG_INFINITY;
    for (i, h) in heads.iter().enumerate() {
        // rrweb event types are 0..=6; mobile uses the same envelope.
        if h.kind > 6 {
            return Err(ApiError::new(
                ErrorCode::InvalidEvents,
                format!("event {i}: unknown type {}", h.kind),
            ));
        }
        if !h.timestamp.is_finite() || h.timestamp < 0.0 {
            return Err(ApiError::new(
                ErrorCode::InvalidEvents,
                format!("event {i}: timestamp must be a non-negative number"),
            ));
        }
        if h.data.is_none() && h.kind != 1 {
            // type 1 (Load) carries no data in rrweb; every other type does.
            return Err(ApiError::new(
                ErrorCode::InvalidEvents,
                format!("event {i}: missing data"),
            ));
        }
        first_ts = first_ts.min(h.timestamp);
        last_ts = last_ts.max(h.timestamp);
    }
    Ok(EventSpan {
        count: heads.len(),
        first_ts,
        last_ts,
    })
}

fn check_id(field: &'static str, id: &str) -> Result<(), ApiError> {
    if is_valid_id(id) {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::InvalidId,
            format!("{field} must be 8-64 characters of A-Z a-z 0-9 _ -"),
        ))
    }
}
