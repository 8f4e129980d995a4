//! A beacon's events: the rule for what an events array must be (`validate_events`, the one
//! that refuses), and the session object's read of them into the masking tree, which accepts
//! plainly valid events on the tree it builds anyway and leaves everything else to that rule.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::prescan::from_str_prescanned;
use super::{strip_position, Limits};
use crate::error::{ApiError, ErrorCode};
use crate::json::Value;

/// The head of one event: enough to check the envelope shape without building its tree.
#[derive(Deserialize)]
struct EventHead<'a> {
    #[serde(rename = "type")]
    kind: u8,
    timestamp: f64,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

/// Summary of a beacon's events, computed during validation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EventSpan {
    pub count: usize,
    pub first_ts: f64,
    pub last_ts: f64,
}

/// The check of an events array's text: their heads, count and span, with `invalid_events` /
/// `too_many_events` refusals. Every refusal of events comes from here.
pub fn validate_events(text: &str, limits: &Limits) -> Result<EventSpan, ApiError> {
    let heads: Vec<EventHead> = from_str_prescanned(text).map_err(|e| {
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

/// The session object's read of a stored beacon's events: the masking tree and the events'
/// span. `checked` is the span when the worker checked the events (`parse_head` fell back to
/// `parse_body`); `None` has them checked here, on the tree (`check_event_heads`).
pub fn parse_events<'a>(
    text: &'a str,
    checked: Option<EventSpan>,
    limits: &Limits,
) -> Result<(Vec<Value<'a>>, EventSpan), ApiError> {
    let (tree, repeated) = crate::json::array_from_str_noting_repeats(text)
        .map_err(|_| ApiError::new(ErrorCode::InvalidEvents, "events are not valid JSON"))?;
    let span = match checked {
        Some(span) => span,
        None => check_event_heads(&tree, repeated, text, limits)?,
    };
    Ok((tree, span))
}

/// The session object's check of events `parse_head` only located: `validate_events`'s
/// acceptance and span, read from the tree the object parses for masking (`repeated`: some
/// object in it repeated a key). Anything the tree does not show plainly valid — an event that
/// is not an object, a repeated key, a type or timestamp that is not a plain non-negative
/// number — goes to `validate_events`, which decides.
fn check_event_heads(
    tree: &[Value],
    repeated: bool,
    text: &str,
    limits: &Limits,
) -> Result<EventSpan, ApiError> {
    match plain_span(tree, limits) {
        Some(span) if !repeated => Ok(span),
        _ => validate_events(text, limits),
    }
}

fn plain_span(tree: &[Value], limits: &Limits) -> Option<EventSpan> {
    if tree.is_empty() || tree.len() > limits.max_events {
        return None;
    }
    let (mut first_ts, mut last_ts) = (f64::INFINITY, f64::NEG_INFINITY);
    for ev in tree {
        let m = ev.as_object()?;
        let kind: u8 = plain(m.get("type"))?.parse().ok().filter(|k| *k <= 6)?;
        let ts: f64 = plain(m.get("timestamp"))?.parse().ok()?;
        let data = !matches!(m.get("data"), None | Some(Value::Null));
        if !ts.is_finite() || (!data && kind != 1) {
            return None;
        }
        first_ts = first_ts.min(ts);
        last_ts = last_ts.max(ts);
    }
    Some(EventSpan {
        count: tree.len(),
        first_ts,
        last_ts,
    })
}

/// A number's text without a sign: serde reads `-0` as 0 and the tree as -0.0, and a negative
/// type or timestamp is refused anyway.
fn plain<'v>(v: Option<&'v Value<'_>>) -> Option<&'v str> {
    match v {
        Some(Value::Number(n)) if !n.as_str().starts_with('-') => Some(n.as_str()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"[{"type":4,"data":{"href":"https://shop.example/x","width":1,"height":1},"timestamp":1700000000000},
                  {"type":3,"data":{"source":2},"timestamp":1700000000500}]"#;

    #[test]
    fn the_tree_check_agrees_with_the_rule() {
        let limits = Limits::default();
        let (tree, repeated) = crate::json::array_from_str_noting_repeats(GOOD).unwrap();
        let heads = check_event_heads(&tree, repeated, GOOD, &limits).unwrap();
        assert_eq!(heads, validate_events(GOOD, &limits).unwrap());
        assert_eq!(parse_events(GOOD, None, &limits).unwrap().1, heads);
        // A repeated event key the tree would settle silently goes to the rule.
        let dup = r#"[{"type":9,"type":2,"data":{},"timestamp":1}]"#;
        let (tree, repeated) = crate::json::array_from_str_noting_repeats(dup).unwrap();
        assert!(repeated);
        assert!(check_event_heads(&tree, repeated, dup, &limits).is_err());
        // Not plain (a string timestamp): the rule's refusal, message included.
        let odd = r#"[{"type":1,"timestamp":"1"}]"#;
        assert_eq!(
            parse_events(odd, None, &limits).unwrap_err(),
            validate_events(odd, &limits).unwrap_err()
        );
    }
}
