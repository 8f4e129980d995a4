//! Beacon envelope: decompression with hard caps, a nesting pre-scan, parsing and validation.
//!
//! The edge hands this module the raw body bytes; nothing downstream sees a body that has not
//! passed every limit here. Events stay unparsed (`RawValue`) until the session object masks
//! them, so a beacon is parsed into a tree exactly once.

use std::borrow::Cow;
use std::io::Read;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::{ApiError, ErrorCode};

/// Where a recording comes from. `web` carries rrweb events; `ios`/`android` carry the
/// mobile wireframe format documented in docs/MOBILE.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Web,
    Ios,
    Android,
}

impl Platform {
    pub fn is_mobile(self) -> bool {
        !matches!(self, Platform::Web)
    }
}

/// Size and shape limits for one beacon. Defaults are documented in README ("Limits") and can
/// be overridden per project (`limits` in the project config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Bytes on the wire (compressed or not).
    pub max_body_bytes: usize,
    /// Bytes after decompression; a gzip bomb stops here, while inflating.
    pub max_decompressed_bytes: usize,
    pub max_events: usize,
    /// JSON nesting depth of the whole body (objects + arrays).
    pub max_depth: usize,
    /// Longest single JSON string (in bytes, as written, escapes included).
    pub max_string_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 1 << 20,
            // A Value tree costs ~17x its JSON (BENCHMARKS.md, memory): 4 MiB keeps one
            // beacon well inside a Workers isolate's 128 MB.
            max_decompressed_bytes: 4 << 20,
            max_events: 10_000,
            max_depth: 512,
            max_string_bytes: 1 << 20,
        }
    }
}

/// Content encodings a beacon may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
}

impl Encoding {
    /// From `Content-Encoding` and the `?enc=` query parameter (sendBeacon cannot set headers).
    pub fn from_request(header: Option<&str>, query: Option<&str>) -> Result<Encoding, ApiError> {
        let pick = |v: &str| match v.trim().to_ascii_lowercase().as_str() {
            "" | "identity" => Ok(Encoding::Identity),
            "gzip" | "x-gzip" => Ok(Encoding::Gzip),
            _ => Err(ApiError::unsupported_encoding(
                "supported encodings: identity, gzip",
            )),
        };
        let from_header = header.map(pick).transpose()?;
        let from_query = query.map(pick).transpose()?;
        Ok(match (from_header, from_query) {
            (Some(Encoding::Gzip), _) | (_, Some(Encoding::Gzip)) => Encoding::Gzip,
            _ => Encoding::Identity,
        })
    }
}

/// `Content-Type` check: beacons send JSON as `application/json` or `text/plain`
/// (the latter avoids a CORS preflight). A missing type is accepted for SDKs that omit it.
pub fn check_content_type(content_type: Option<&str>) -> Result<(), ApiError> {
    let Some(ct) = content_type else {
        return Ok(());
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "" | "application/json" | "text/plain" | "application/octet-stream" => Ok(()),
        _ => Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "send application/json or text/plain",
        )),
    }
}

/// The wire cap on a beacon body: `Err(413 body_too_large)` once `len` bytes have been
/// seen past `limits.max_body_bytes`. The edge calls it as the body streams in (so a chunked
/// body with no `Content-Length` is refused after at most one chunk past the cap), and
/// [`decode_body`] again on the whole body.
pub fn check_wire_len(len: usize, limits: &Limits) -> Result<(), ApiError> {
    if len > limits.max_body_bytes {
        return Err(ApiError::new(
            ErrorCode::BodyTooLarge,
            format!("body exceeds {} bytes", limits.max_body_bytes),
        ));
    }
    Ok(())
}

/// Inflate (if needed) with the decompressed cap enforced while reading.
pub fn decode_body<'a>(
    body: &'a [u8],
    encoding: Encoding,
    limits: &Limits,
) -> Result<Cow<'a, [u8]>, ApiError> {
    check_wire_len(body.len(), limits)?;
    match encoding {
        Encoding::Identity => Ok(Cow::Borrowed(body)),
        Encoding::Gzip => {
            let cap = limits.max_decompressed_bytes;
            let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(cap));
            let mut reader = flate2::read::GzDecoder::new(body).take(cap as u64 + 1);
            reader
                .read_to_end(&mut out)
                .map_err(|_| ApiError::new(ErrorCode::InvalidGzip, "body is not valid gzip"))?;
            if out.len() > cap {
                return Err(ApiError::new(
                    ErrorCode::DecompressedTooLarge,
                    format!("decompressed body exceeds {cap} bytes"),
                ));
            }
            Ok(Cow::Owned(out))
        }
    }
}

/// One pass over the bytes, before any tree is built: nesting depth and string length.
/// serde_json's own recursion limit (128) is too low for real DOM snapshots and its error too
/// vague for a client, so depth is checked here and the parser's limit is lifted afterwards.
pub fn prescan(json: &[u8], limits: &Limits) -> Result<(), ApiError> {
    prescan_locating(json, limits).map(|_| ())
}

/// `prescan`, which also finds where the top-level `events` array is: its byte range, when
/// the body has exactly one `"events"` key (spelled without escapes) at depth 1 and its
/// value opens with `[`. Brackets are only counted here, not matched: whoever takes the
/// range parses it strictly.
fn prescan_locating(json: &[u8], limits: &Limits) -> Result<Option<(usize, usize)>, ApiError> {
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
fn from_str_prescanned<'a, T: Deserialize<'a>>(json: &'a str) -> serde_json::Result<T> {
    let mut de = serde_json::Deserializer::from_str(json);
    de.disable_recursion_limit();
    let value = T::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Sdk {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
}

/// A parsed, validated beacon. `events` is still raw JSON text (validated to be an array of
/// `{type, data, timestamp}` objects).
pub type Envelope<'a> = EnvelopeOf<&'a RawValue>;

/// The envelope's fields over how its events are held: raw text in [`Envelope`], or as
/// `parse_body`'s single pass reads them. One struct, so both read the same fields.
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

/// Highest accepted `seq`: a session of a million beacons is no longer a session.
pub const MAX_SEQ: u64 = 1_000_000;
pub const MAX_URL_BYTES: usize = 8192;

impl<'a> Envelope<'a> {
    /// Parse and validate a decoded body. Call `prescan` first. (`parse_body` does both, in
    /// fewer passes.)
    pub fn parse(json: &'a [u8], limits: &Limits) -> Result<(Envelope<'a>, EventSpan), ApiError> {
        Self::parse_text(utf8(json)?, limits)
    }

    /// The reference path: the envelope with its events kept raw, then the events read again
    /// for their heads. `parse_body` falls back to it for anything its fast path does not take,
    /// so every refusal comes from here.
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

/// What the edge runs on a decoded body: `prescan`, then `Envelope::parse`, with the same
/// result for every body, in fewer passes. A well-formed beacon's events are read once, in
/// the same serde pass as the envelope, instead of once raw and once more for their heads.
/// Anything that pass does not take as plainly valid goes the reference way (`parse_text`),
/// so refusals and their messages are exactly `Envelope::parse`'s.
pub fn parse_body<'a>(
    json: &'a [u8],
    limits: &Limits,
) -> Result<(Envelope<'a>, EventSpan), ApiError> {
    prescan(json, limits)?;
    parse_body_text(utf8(json)?, limits)
}

/// `parse_body` after the prescan and the UTF-8 check.
fn parse_body_text<'a>(
    text: &'a str,
    limits: &Limits,
) -> Result<(Envelope<'a>, EventSpan), ApiError> {
    let Ok(fast) = from_str_prescanned::<EnvelopeOf<fast::Events>>(text) else {
        return Envelope::parse_text(text, limits);
    };
    // The same fields as the reference parse read, so the same checks in the same order.
    check_head(&fast.session, &fast.visitor, fast.seq, fast.page.as_deref())?;
    let ev = &fast.events;
    let Some(events) = fast::array_span(text, ev).and_then(fast::raw_value) else {
        return Envelope::parse_text(text, limits);
    };
    let span = if ev.plain && ev.count <= limits.max_events {
        EventSpan {
            count: ev.count,
            first_ts: ev.first_ts,
            last_ts: ev.last_ts,
        }
    } else {
        validate_events(events.get(), limits)?
    };
    Ok((fast.with_events(events), span))
}

/// What the worker runs on a decoded body: the envelope read and checked, the events only
/// located (`None` for their span). The session object checks them when it parses them for
/// masking (`parse_events`), before it writes anything, and the worker answers a refusal
/// with `parse_body`'s error for the same body; a dropped beacon's events, which never reach
/// the object, the worker checks with `validate_events` (refusing with `parse_body`'s error). Where the events cannot be located plainly,
/// this is `parse_body`, span included. Every error is `parse_body`'s.
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
            if let (Ok(()), Some(events)) = (head_ok, fast::raw_value(&text[a..b])) {
                return Ok((env.with_events(events), None));
            }
        }
    }
    parse_body_text(text, limits).map(|(env, span)| (env, Some(span)))
}

/// The worker's and the session object's checks of a beacon that would be stored, in one
/// call (tests, fuzzing): `parse_head`; for events it only located, the object's
/// `parse_events`; any refusal answered with `parse_body`'s. Must equal `parse_body`.
pub fn parse_head_then_heads<'a>(
    json: &'a [u8],
    limits: &Limits,
) -> Result<(Envelope<'a>, EventSpan), ApiError> {
    let (env, span) = parse_head(json, limits)?;
    if let Some(span) = span {
        return Ok((env, span));
    }
    match parse_events(env.events.get(), None, limits) {
        Ok((_, span)) => Ok((env, span)),
        Err(e) => Err(parse_body(json, limits).err().unwrap_or(e)),
    }
}

/// The session object's read of a stored beacon's events: the masking tree and the events'
/// span. `checked` is the span when the worker checked the events (`parse_head` fell back to
/// `parse_body`); `None` has them checked here, on the tree (`check_event_heads`).
pub fn parse_events<'a>(
    text: &'a str,
    checked: Option<EventSpan>,
    limits: &Limits,
) -> Result<(Vec<crate::json::Value<'a>>, EventSpan), ApiError> {
    let (tree, repeated) = crate::json::array_from_str_noting_repeats(text)
        .map_err(|_| ApiError::new(ErrorCode::InvalidEvents, "events are not valid JSON"))?;
    let span = match checked {
        Some(span) => span,
        None => check_event_heads(&tree, repeated, text, limits)?,
    };
    Ok((tree, span))
}

/// The session object's check of events `parse_head` only located: `parse_body`'s acceptance
/// and span, read from the tree the object parses for masking (`repeated`: some object in it
/// repeated a key). Anything the tree does not show plainly valid — an event that is not an
/// object, a repeated key, a type or timestamp that is not a plain non-negative number — is
/// checked on the text the reference way.
fn check_event_heads(
    tree: &[crate::json::Value],
    repeated: bool,
    text: &str,
    limits: &Limits,
) -> Result<EventSpan, ApiError> {
    match plain_span(tree, limits) {
        Some(span) if !repeated => Ok(span),
        _ => validate_events(text, limits),
    }
}

fn plain_span(tree: &[crate::json::Value], limits: &Limits) -> Option<EventSpan> {
    use crate::json::Value;
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
fn plain<'v>(v: Option<&'v crate::json::Value<'_>>) -> Option<&'v str> {
    match v {
        Some(crate::json::Value::Number(n)) if !n.as_str().starts_with('-') => Some(n.as_str()),
        _ => None,
    }
}

fn strip_position(e: &serde_json::Error) -> String {
    // serde_json appends " at line L column C"; the message alone is clearer for a client.
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// The reference check of an events array's text (`parse_body` runs it on the events it
/// reads): their heads, count and span, with `invalid_events` / `too_many_events` refusals.
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

pub use crate::ids::is_valid_id;

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

/// Decode with caps, then the prescan. (The edge runs `decode_body`, then `parse_body`, which
/// prescans as part of it.)
pub fn decode_and_prescan(
    body: &[u8],
    encoding: Encoding,
    limits: &Limits,
) -> Result<Vec<u8>, ApiError> {
    let json = decode_body(body, encoding, limits)?;
    prescan(&json, limits)?;
    Ok(json.into_owned())
}

/// `parse_body`'s single pass: the envelope with its events read as they are checked.
mod fast {
    use std::fmt;
    use std::marker::PhantomData;

    use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
    use serde::Deserialize;
    use serde_json::value::RawValue;

    /// The events array as one pass read it.
    pub(super) struct Events<'a> {
        pub count: usize,
        /// Every event is an object with unescaped keys, no repeated `type`, `timestamp` or
        /// `data`, a `type` and a `timestamp` of the right types, and passes the checks of
        /// `validate_events`. Anything else is left to `validate_events`.
        pub plain: bool,
        pub first_ts: f64,
        pub last_ts: f64,
        /// The first event's first key and the last event's last value, borrowed from the
        /// body: they locate the array's brackets.
        first_key: Option<&'a str>,
        last_value: Option<&'a str>,
    }

    impl<'de: 'a, 'a> Deserialize<'de> for Events<'a> {
        fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_seq(EventsVisitor(PhantomData))
        }
    }

    struct EventsVisitor<'a>(PhantomData<&'a ()>);

    impl<'de: 'a, 'a> Visitor<'de> for EventsVisitor<'a> {
        type Value = Events<'a>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an array of events")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Events<'a>, A::Error> {
            let mut out = Events {
                count: 0,
                plain: true,
                first_ts: f64::INFINITY,
                last_ts: f64::NEG_INFINITY,
                first_key: None,
                last_value: None,
            };
            while let Some(ev) = seq.next_element_seed(EventSeed(PhantomData))? {
                if out.count == 0 {
                    out.first_key = ev.first_key;
                }
                out.count += 1;
                out.last_value = ev.last_value;
                // What `validate_events` checks; it gives the refusal for any event that fails.
                match (ev.kind, ev.timestamp) {
                    (Some(kind), Some(ts))
                        if ev.plain
                            && kind <= 6
                            && ts.is_finite()
                            && ts >= 0.0
                            && (ev.data || kind == 1) =>
                    {
                        out.first_ts = out.first_ts.min(ts);
                        out.last_ts = out.last_ts.max(ts);
                    }
                    _ => out.plain = false,
                }
            }
            Ok(out)
        }
    }

    struct Event<'a> {
        plain: bool,
        kind: Option<u8>,
        timestamp: Option<f64>,
        data: bool,
        first_key: Option<&'a str>,
        last_value: Option<&'a str>,
    }

    struct EventSeed<'a>(PhantomData<&'a ()>);

    impl<'de: 'a, 'a> DeserializeSeed<'de> for EventSeed<'a> {
        type Value = Event<'a>;

        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Event<'a>, D::Error> {
            // Anything but an object fails the whole pass (the reference path then decides).
            d.deserialize_map(self)
        }
    }

    impl<'de: 'a, 'a> Visitor<'de> for EventSeed<'a> {
        type Value = Event<'a>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an event object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Event<'a>, A::Error> {
            let mut ev = Event {
                plain: true,
                kind: None,
                timestamp: None,
                data: false,
                first_key: None,
                last_value: None,
            };
            let (mut seen_kind, mut seen_ts, mut seen_data) = (false, false, false);
            let mut first = true;
            while let Some(key) = map.next_key_seed(KeySeed(PhantomData))? {
                // Every value is taken raw: its text is all the checks need, and the last one
                // marks where the object ends.
                let value: &'de RawValue = map.next_value()?;
                let raw = value.get();
                if first {
                    ev.first_key = key;
                    first = false;
                }
                ev.last_value = Some(raw);
                let seen = match key {
                    Some("type") => {
                        ev.kind = kind(raw);
                        &mut seen_kind
                    }
                    Some("timestamp") => {
                        ev.timestamp = timestamp(raw);
                        &mut seen_ts
                    }
                    // `Option<&RawValue>` reads only `null` as `None`.
                    Some("data") => {
                        ev.data = raw != "null";
                        &mut seen_data
                    }
                    Some(_) => continue,
                    // An escaped key may still name a field: the reference path decides.
                    None => {
                        ev.plain = false;
                        continue;
                    }
                };
                // A repeated field is refused by the reference path (with its message).
                ev.plain &= !std::mem::replace(seen, true);
            }
            Ok(ev)
        }
    }

    /// A key as it is in the body (`None` if it has escapes and had to be decoded).
    struct KeySeed<'a>(PhantomData<&'a ()>);

    impl<'de: 'a, 'a> DeserializeSeed<'de> for KeySeed<'a> {
        type Value = Option<&'a str>;

        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_str(self)
        }
    }

    impl<'de: 'a, 'a> Visitor<'de> for KeySeed<'a> {
        type Value = Option<&'a str>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a key")
        }

        fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
            Ok(Some(s))
        }

        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }
    }

    /// `type` as `EventHead` reads it (`u8`); `None` where that read fails.
    fn kind(raw: &str) -> Option<u8> {
        match raw.as_bytes() {
            [d @ b'0'..=b'9'] => Some(d - b'0'),
            _ => serde_json::from_str(raw).ok(),
        }
    }

    /// `timestamp` as `EventHead` reads it (`f64`); `None` where that read fails. An integer
    /// of up to 15 digits is what serde_json reads as a `u64` and converts with `as f64`.
    fn timestamp(raw: &str) -> Option<f64> {
        let digits = raw.as_bytes();
        if (1..=15).contains(&digits.len()) && digits.iter().all(u8::is_ascii_digit) {
            let n = digits
                .iter()
                .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
            return Some(n as f64);
        }
        serde_json::from_str(raw).ok()
    }

    /// The text of the events array, `[` to `]`, from the pointers the pass kept: between
    /// the array's `[` and its first key there can be only whitespace, `{` and the key's
    /// opening quote; between the last value and the array's `]`, only whitespace and `}`.
    /// `None` (the reference path then decides) for an empty array, an event without fields,
    /// or a first key with escapes.
    pub(super) fn array_span<'a>(json: &'a str, ev: &Events<'a>) -> Option<&'a str> {
        let offset = |s: &str| (s.as_ptr() as usize).checked_sub(json.as_ptr() as usize);
        let bytes = json.as_bytes();
        let key = offset(ev.first_key?)?;
        let last = ev.last_value?;
        let value_end = offset(last)? + last.len();
        if key > bytes.len() || value_end > bytes.len() {
            return None;
        }
        let quote = key.checked_sub(1)?;
        let open_object = before_whitespace(bytes, quote)?;
        let open_array = before_whitespace(bytes, open_object)?;
        let close_object = after_whitespace(bytes, value_end)?;
        let close_array = after_whitespace(bytes, close_object + 1)?;
        let expected = [
            (quote, b'"'),
            (open_object, b'{'),
            (open_array, b'['),
            (close_object, b'}'),
            (close_array, b']'),
        ];
        if expected.iter().all(|&(i, c)| bytes.get(i) == Some(&c)) {
            json.get(open_array..close_array + 1)
        } else {
            None
        }
    }

    fn is_whitespace(b: u8) -> bool {
        matches!(b, b' ' | b'\n' | b'\t' | b'\r')
    }

    /// The last non-whitespace byte before `i`.
    fn before_whitespace(bytes: &[u8], i: usize) -> Option<usize> {
        bytes.get(..i)?.iter().rposition(|&b| !is_whitespace(b))
    }

    /// The first non-whitespace byte from `i`.
    fn after_whitespace(bytes: &[u8], i: usize) -> Option<usize> {
        Some(i + bytes.get(i..)?.iter().position(|&b| !is_whitespace(b))?)
    }

    /// `text` (one JSON value that serde_json has just read) as a borrowed `&RawValue`,
    /// without reading it again: serde_json has no public constructor for one, so this gives
    /// its `Deserialize` impl the map its own deserializer hands over for a raw value.
    /// Should a serde_json release change that map, serde_json reads the text (same result,
    /// one more pass); the unit test `raw_value_is_built_without_a_read` says so first.
    pub(super) fn raw_value(text: &str) -> Option<&RawValue> {
        raw_value_unread(text)
            .or_else(|_| serde_json::from_str(text))
            .ok()
    }

    pub(super) fn raw_value_unread(text: &str) -> Result<&RawValue, serde_json::Error> {
        use serde::de::value::{BorrowedStrDeserializer, MapDeserializer};
        const TOKEN: &str = "$serde_json::private::RawValue";
        let entry = (
            BorrowedStrDeserializer::new(TOKEN),
            BorrowedStrDeserializer::new(text),
        );
        <&RawValue>::deserialize(MapDeserializer::new(std::iter::once(entry)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    const GOOD: &str = r#"{"session":"s_12345678","visitor":"v_12345678","seq":3,"platform":"web",
        "page":"https://shop.example/x","sdk":{"name":"t","version":"1"},
        "events":[{"type":4,"data":{"href":"https://shop.example/x","width":1,"height":1},"timestamp":1700000000000},
                  {"type":3,"data":{"source":2},"timestamp":1700000000500}]}"#;

    #[test]
    fn parse_head_locates_plain_events_and_leaves_the_rest_to_parse_body() {
        let limits = Limits::default();
        let (env, span) = parse_head(GOOD.as_bytes(), &limits).unwrap();
        assert!(span.is_none(), "plain events are only located");
        let (full, full_span) = parse_body(GOOD.as_bytes(), &limits).unwrap();
        assert_eq!(env.events.get(), full.events.get());
        let (tree, repeated) =
            crate::json::array_from_str_noting_repeats(env.events.get()).unwrap();
        let heads = check_event_heads(&tree, repeated, env.events.get(), &limits).unwrap();
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
        // A repeated event key the tree would settle silently goes to the reference check.
        let dup = r#"[{"type":9,"type":2,"data":{},"timestamp":1}]"#;
        let (tree, repeated) = crate::json::array_from_str_noting_repeats(dup).unwrap();
        assert!(repeated);
        assert!(check_event_heads(&tree, repeated, dup, &limits).is_err());
    }

    /// The two steps as the edge ran them, checked against `parse_body`.
    fn parse(json: &str) -> Result<(Envelope<'_>, EventSpan), ApiError> {
        let limits = Limits::default();
        let two_steps = prescan(json.as_bytes(), &limits)
            .and_then(|()| Envelope::parse(json.as_bytes(), &limits));
        let fused = parse_body(json.as_bytes(), &limits);
        assert_eq!(format!("{two_steps:?}"), format!("{fused:?}"));
        two_steps
    }

    #[test]
    fn plain_beacons_take_the_single_pass() {
        let spaced = GOOD
            .replace(",\"", " ,\n\t\"")
            .replace("\":", "\"\r\n: ")
            .replace("[{", "[ {");
        for body in [GOOD, &spaced] {
            let (env, span) = parse(body).unwrap();
            let fast: EnvelopeOf<fast::Events> = from_str_prescanned(body).unwrap();
            assert!(fast.events.plain);
            assert_eq!(fast.events.count, span.count);
            assert_eq!(fast::array_span(body, &fast.events), Some(env.events.get()));
        }
    }

    #[test]
    fn raw_value_is_built_without_a_read() {
        let text = "[1, {\"a\": \"\\u00e9\"}]";
        let raw = fast::raw_value_unread(text)
            .expect("serde_json changed its raw value map: parse_body reads the events twice");
        assert_eq!(raw.get(), text);
        assert_eq!(raw.get().as_ptr(), text.as_ptr());
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
    fn gzip_round_trip_and_bomb() {
        let limits = Limits::default();
        let gz = gzip(GOOD.as_bytes());
        let body = decode_body(&gz, Encoding::Gzip, &limits).unwrap();
        assert_eq!(body, GOOD.as_bytes());
        // 64 MiB of zeros compresses to ~64 KiB: stopped while inflating at the cap.
        let bomb = gzip(&vec![0u8; 64 << 20]);
        assert!(bomb.len() < limits.max_body_bytes);
        let err = decode_body(&bomb, Encoding::Gzip, &limits).unwrap_err();
        assert_eq!((err.status, err.code), (413, "decompressed_too_large"));
        let err = decode_body(b"not gzip", Encoding::Gzip, &limits).unwrap_err();
        assert_eq!(err.code, "invalid_gzip");
        let err = decode_body(&gzip(GOOD.as_bytes())[..20], Encoding::Gzip, &limits).unwrap_err();
        assert_eq!(err.code, "invalid_gzip");
    }

    #[test]
    fn body_cap_and_encodings() {
        let limits = Limits {
            max_body_bytes: 10,
            ..Limits::default()
        };
        let err = decode_body(&[b' '; 11], Encoding::Identity, &limits).unwrap_err();
        assert_eq!((err.status, err.code), (413, "body_too_large"));
        assert_eq!(
            Encoding::from_request(Some("gzip"), None).unwrap(),
            Encoding::Gzip
        );
        assert_eq!(
            Encoding::from_request(None, Some("gzip")).unwrap(),
            Encoding::Gzip
        );
        assert_eq!(
            Encoding::from_request(None, None).unwrap(),
            Encoding::Identity
        );
        assert_eq!(
            Encoding::from_request(Some("br"), None).unwrap_err().status,
            415
        );
        assert_eq!(
            Encoding::from_request(None, Some("zstd"))
                .unwrap_err()
                .status,
            415
        );
        assert!(check_content_type(Some("text/plain;charset=UTF-8")).is_ok());
        assert!(check_content_type(Some("application/json")).is_ok());
        assert_eq!(
            check_content_type(Some("text/html")).unwrap_err().status,
            415
        );
    }

    #[test]
    fn ids() {
        assert!(is_valid_id("abcd_EF-9"));
        assert!(!is_valid_id("abcdefg"));
        assert!(!is_valid_id(&"a".repeat(65)));
        assert!(!is_valid_id("abcd/efgh"));
        assert!(!is_valid_id("abcd.efgh"));
        assert!(!is_valid_id("abcdéfgh"));
    }
}
