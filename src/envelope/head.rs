//! The envelope around the events: its fields, their checks, and the two ways a decoded body
//! is read. `parse_body` is the one parse every refusal comes from (prescan, UTF-8, serde over
//! the whole body, the field checks, `validate_events`). `parse_head` is what the worker runs:
//! the same prescan and UTF-8 check, then serde over the envelope with the events only
//! located; whatever it cannot read plainly goes to `parse_body`.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::events::{validate_events, EventSpan};
use super::prescan::{from_str_prescanned, prescan, prescan_locating};
use super::{is_valid_id, strip_position, Limits, Platform};
use crate::error::{ApiError, ErrorCode};

/// Highest accepted `seq`: a session of a million beacons is no longer a session.
pub const MAX_SEQ: u64 = 1_000_000;
pub const MAX_URL_BYTES: usize = 8192;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Sdk {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
}

/// A parsed, validated beacon. `events` is still raw JSON text (validated to be an array of
/// `{type, data, timestamp}` objects, or only located: see `parse_head`).
pub type Envelope<'a> = EnvelopeOf<&'a RawValue>;

/// The envelope's fields over how its events are held: raw text in [`Envelope`], skipped
/// while `parse_head` reads the fields around them. One struct, so both read the same fields.
#[derive(Debug, Deserialize)]
pub struct EnvelopeOf<E> {
    pub session: String,
    pub visitor: String,
    pub seq: u64,
    pub platform: Platform,
    #[serde(default)]
    pub page: Option<String>,
    #[serde(default)]
    pub sdk: Option<Sdk>,
    #[serde(default)]
    pub consent: Option<serde_json::Map<String, serde_json::Value>>,
    pub events: E,
}

impl<E> EnvelopeOf<E> {
    fn with_events<F>(self, events: F) -> EnvelopeOf<F> {
        EnvelopeOf {
            session: self.session,
            visitor: self.visitor,
            seq: self.seq,
            platform: self.platform,
            page: self.page,
            sdk: self.sdk,
            consent: self.consent,
            events,
        }
    }
}

impl<'a> Envelope<'a> {
    /// Parse and validate a decoded body that has passed `prescan`: the one parse
    /// (`parse_body` is `prescan` and this).
    pub fn parse(json: &'a [u8], limits: &Limits) -> Result<(Envelope<'a>, EventSpan), ApiError> {
        Self::parse_text(utf8(json)?, limits)
    }

    /// The envelope with its events kept raw, its fields checked, then the events checked.
    fn parse_text(json: &'a str, limits: &Limits) -> Result<(Envelope<'a>, EventSpan), ApiError> {
        let env: Envelope = from_str_prescanned(json).map_err(|e| {
            let msg = match e.classify() {
                serde_json::error::Category::Data => {
                    format!("envelope does not match the schema: {}", strip_position(&e))
                }
                serde_json::error::Category::Eof => "body ends before the JSON does".to_string(),
                _ => "body is not valid JSON".to_string(),
            };
            ApiError::new(ErrorCode::MalformedJson, msg)
        })?;
        check_head(&env.session, &env.visitor, env.seq, env.page.as_deref())?;
        let span = validate_events(env.events.get(), limits)?;
        Ok((env, span))
    }
}

fn utf8(json: &[u8]) -> Result<&str, ApiError> {
    std::str::from_utf8(json)
        .map_err(|_| ApiError::new(ErrorCode::InvalidUtf8, "body is not valid UTF-8"))
}

/// The envelope fields besides the events, in the order `Envelope::parse` checks them.
fn check_head(session: &str, visitor: &str, seq: u64, page: Option<&str>) -> Result<(), ApiError> {
    check_id("session", session)?;
    check_id("visitor", visitor)?;
    if seq > MAX_SEQ {
        return Err(ApiError::new(
            ErrorCode::InvalidSeq,
            format!("seq must be ≤ {MAX_SEQ}"),
        ));
    }
    if page.is_some_and(|p| p.len() > MAX_URL_BYTES) {
        return Err(ApiError::new(
            ErrorCode::InvalidPage,
            "page URL is too long",
        ));
    }
    Ok(())
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

/// The full check of a decoded body: `prescan`, then `Envelope::parse`. Every refusal of a
/// beacon is this function's, whichever side (worker or session object) finds the fault: the
/// worker answers any refusal of a body it only located with this function's error.
pub fn parse_body<'a>(
    json: &'a [u8],
    limits: &Limits,
) -> Result<(Envelope<'a>, EventSpan), ApiError> {
    prescan(json, limits)?;
    Envelope::parse(json, limits)
}

/// What the worker runs on a decoded body: the envelope read and checked, the events only
/// located (`None` for their span). The session object checks them when it parses them for
/// masking (`parse_events`), before it writes anything. Where the events cannot be located
/// plainly, or the envelope around them is not plainly valid, this is `parse_body`, span
/// included, so every error it returns is `parse_body`'s.
pub fn parse_head<'a>(
    json: &'a [u8],
    limits: &Limits,
) -> Result<(Envelope<'a>, Option<EventSpan>), ApiError> {
    let located = prescan_locating(json, limits)?;
    let text = utf8(json)?;
    if let Some((a, b)) = located {
        // The envelope without its events: a few hundred bytes, read by serde at once.
        let mut head = String::with_capacity(text.len() - (b - a) + 2);
        head.push_str(&text[..a]);
        head.push_str("[]");
        head.push_str(&text[b..]);
        if let Ok(env) = from_str_prescanned::<EnvelopeOf<serde::de::IgnoredAny>>(&head) {
            let head_ok = check_head(&env.session, &env.visitor, env.seq, env.page.as_deref());
            if let (Ok(()), Some(events)) = (head_ok, located_events(&text[a..b])) {
                return Ok((env.with_events(events), None));
            }
        }
    }
    Envelope::parse_text(text, limits).map(|(env, span)| (env, Some(span)))
}

/// The located events as a borrowed `&RawValue`, without reading them: the session object
/// reads them strictly when it builds its tree, and a syntax pass here would cost the worker
/// as much as the rest of `parse_head`. serde_json has no public constructor for a borrowed
/// raw value, so this gives its `Deserialize` impl the one-entry map serde_json's own
/// deserializer hands over for one. Should a serde_json release change that map, serde_json
/// reads the text instead (same result, one more pass); the unit test
/// `located_events_are_not_read` says so first.
fn located_events(text: &str) -> Option<&RawValue> {
    raw_value_unread(text)
        .or_else(|_| serde_json::from_str(text))
        .ok()
}

fn raw_value_unread(text: &str) -> Result<&RawValue, serde_json::Error> {
    use serde::de::value::{BorrowedStrDeserializer, MapDeserializer};
    const TOKEN: &str = "$serde_json::private::RawValue";
    let entry = (
        BorrowedStrDeserializer::new(TOKEN),
        BorrowedStrDeserializer::new(text),
    );
    <&RawValue>::deserialize(MapDeserializer::new(std::iter::once(entry)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::parse_events;

    use crate::envelope::tests::GOOD;

    #[test]
    fn parse_head_locates_plain_events_and_leaves_the_rest_to_parse_body() {
        let limits = Limits::default();
        let (env, span) = parse_head(GOOD.as_bytes(), &limits).unwrap();
        assert!(span.is_none(), "plain events are only located");
        let (full, full_span) = parse_body(GOOD.as_bytes(), &limits).unwrap();
        assert_eq!(env.events.get(), full.events.get());
        let (_, heads) = parse_events(env.events.get(), None, &limits).unwrap();
        assert_eq!(heads, full_span);
        // Not located: parse_body's way, span included.
        let escaped = GOOD.replace("\"events\"", "\"ev\\u0065nts\"");
        let twice = GOOD.replace("\"sdk\"", "\"events\":[],\"sdk\"");
        let object = GOOD
            .replace("\"events\":[", "\"events\":{\"a\":[")
            .replace("]}", "]}}");
        for body in [escaped, twice, object] {
            let head = parse_head(body.as_bytes(), &limits);
            let full = parse_body(body.as_bytes(), &limits);
            match (head, full) {
                (Ok((_, span)), Ok((_, s))) => assert_eq!(span, Some(s)),
                (Err(a), Err(b)) => assert_eq!(a, b),
                (a, b) => panic!("{body}: {a:?} vs {b:?}"),
            }
        }
    }

    #[test]
    fn located_events_are_not_read() {
        let text = "[1, {\"a\": \"\\u00e9\"}]";
        let raw = raw_value_unread(text)
            .expect("serde_json changed its raw value map: parse_head reads the events");
        assert_eq!(raw.get(), text);
        assert_eq!(raw.get().as_ptr(), text.as_ptr());
    }

    /// The two steps as the edge's fallback runs them, checked against `parse_body`.
    fn parse(json: &str) -> Result<(Envelope<'_>, EventSpan), ApiError> {
        let limits = Limits::default();
        let two_steps = prescan(json.as_bytes(), &limits)
            .and_then(|()| Envelope::parse(json.as_bytes(), &limits));
        let fused = parse_body(json.as_bytes(), &limits);
        assert_eq!(format!("{two_steps:?}"), format!("{fused:?}"));
        two_steps
    }

    #[test]
    fn parses_a_good_beacon() {
        let (env, span) = parse(GOOD).unwrap();
        assert_eq!(env.session, "s_12345678");
        assert_eq!(env.seq, 3);
        assert_eq!(env.platform, Platform::Web);
        assert_eq!(span.count, 2);
        assert_eq!(span.first_ts, 1700000000000.0);
        assert_eq!(span.last_ts, 1700000000500.0);
    }

    #[test]
    fn refuses_bad_ids_and_shapes() {
        for (needle, replacement, code) in [
            ("s_12345678", "short", "invalid_id"),
            ("s_12345678", "../../etc/passwd", "invalid_id"),
            ("s_12345678", "s_1234\\u00005678", "invalid_id"),
            ("\"seq\":3", "\"seq\":-1", "malformed_json"),
            ("\"seq\":3", "\"seq\":\"3\"", "malformed_json"),
            ("\"seq\":3", "\"seq\":99999999", "invalid_seq"),
            (
                "\"platform\":\"web\"",
                "\"platform\":\"tv\"",
                "malformed_json",
            ),
            (
                "{\"type\":3,\"data\":{\"source\":2}",
                "{\"type\":9,\"data\":{}",
                "invalid_events",
            ),
            (
                "\"timestamp\":1700000000500",
                "\"timestamp\":\"x\"",
                "invalid_events",
            ),
        ] {
            let json = GOOD.replace(needle, replacement);
            let err = parse(&json).unwrap_err();
            assert_eq!(err.code, code, "{needle} -> {replacement}: {err}");
            assert_eq!(err.status, 400);
        }
        let err = parse(&GOOD.replace("\"events\":[", "\"events\":[] ,\"x\":[")).unwrap_err();
        assert_eq!(err.code, "invalid_events");
    }

    #[test]
    fn refuses_truncated_and_non_json() {
        for body in [
            &GOOD[..GOOD.len() / 2],
            "",
            "not json",
            "[1,2]",
            "{\"session\":}",
        ] {
            let err = parse(body).unwrap_err();
            assert_eq!(err.status, 400, "{body:?}");
            assert_eq!(err.code, "malformed_json");
        }
        let err = Envelope::parse(b"{\"session\":\"\xff\"}", &Limits::default()).unwrap_err();
        assert_eq!(err.code, "invalid_utf8");
        let err = parse_body(b"{\"session\":\"\xff\"}", &Limits::default()).unwrap_err();
        assert_eq!(err.code, "invalid_utf8");
    }
}
