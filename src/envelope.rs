//! Beacon envelope: decompression with hard caps, a nesting pre-scan, parsing and validation.
//!
//! The edge hands this module the raw body bytes; nothing downstream sees a body that has not
//! passed every limit here. Events stay unparsed (`RawValue`) until the session object masks
//! them, so a beacon is parsed into a tree exactly once.

use std::io::Read;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::ApiError;

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
            415,
            "unsupported_media_type",
            "send application/json or text/plain",
        )),
    }
}

/// Inflate (if needed) with the decompressed cap enforced while reading.
pub fn decode_body(body: &[u8], encoding: Encoding, limits: &Limits) -> Result<Vec<u8>, ApiError> {
    if body.len() > limits.max_body_bytes {
        return Err(ApiError::too_large(
            "body_too_large",
            format!("body exceeds {} bytes", limits.max_body_bytes),
        ));
    }
    match encoding {
        Encoding::Identity => Ok(body.to_vec()),
        Encoding::Gzip => {
            let cap = limits.max_decompressed_bytes;
            let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(cap));
            let mut reader = flate2::read::GzDecoder::new(body).take(cap as u64 + 1);
            reader
                .read_to_end(&mut out)
                .map_err(|_| ApiError::bad_request("invalid_gzip", "body is not valid gzip"))?;
            if out.len() > cap {
                return Err(ApiError::too_large(
                    "decompressed_too_large",
                    format!("decompressed body exceeds {cap} bytes"),
                ));
            }
            Ok(out)
        }
    }
}

/// One pass over the bytes, before any tree is built: nesting depth and string length.
/// serde_json's own recursion limit (128) is too low for real DOM snapshots and its error too
/// vague for a client, so depth is checked here and the parser's limit is lifted afterwards.
pub fn prescan(json: &[u8], limits: &Limits) -> Result<(), ApiError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut string_start = 0usize;
    let mut paired_low = usize::MAX;
    for (i, &b) in json.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
                // serde_json skips strings it does not decode (raw events, ignored fields)
                // without checking their escapes, but refuses a lone surrogate when it builds
                // a tree. Refuse it here, so what the edge accepts the session object can read.
                if b == b'u' && lone_surrogate(json, i + 1, &mut paired_low) {
                    return Err(ApiError::bad_request(
                        "malformed_json",
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
                    return Err(ApiError::bad_request(
                        "too_deep",
                        format!("JSON nesting exceeds depth {}", limits.max_depth),
                    ));
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if in_string && json.len() - string_start > limits.max_string_bytes {
        return Err(string_too_long(limits));
    }
    Ok(())
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
    ApiError::too_large(
        "string_too_long",
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

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Sdk {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
}

/// A parsed, validated beacon. `events` is still raw JSON text (validated to be an array of
/// `{type, data, timestamp}` objects).
#[derive(Debug, Deserialize)]
pub struct Envelope<'a> {
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
    #[serde(borrow)]
    pub events: &'a RawValue,
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
    /// Parse and validate a decoded body. Call `prescan` first.
    pub fn parse(json: &'a [u8], limits: &Limits) -> Result<(Envelope<'a>, EventSpan), ApiError> {
        std::str::from_utf8(json)
            .map_err(|_| ApiError::bad_request("invalid_utf8", "body is not valid UTF-8"))?;
        let env: Envelope = from_slice_prescanned(json).map_err(|e| {
            let msg = match e.classify() {
                serde_json::error::Category::Data => {
                    format!("envelope does not match the schema: {}", strip_position(&e))
                }
                serde_json::error::Category::Eof => "body ends before the JSON does".to_string(),
                _ => "body is not valid JSON".to_string(),
            };
            ApiError::bad_request("malformed_json", msg)
        })?;
        check_id("session", &env.session)?;
        check_id("visitor", &env.visitor)?;
        if env.seq > MAX_SEQ {
            return Err(ApiError::bad_request(
                "invalid_seq",
                format!("seq must be ≤ {MAX_SEQ}"),
            ));
        }
        if let Some(page) = &env.page {
            if page.len() > MAX_URL_BYTES {
                return Err(ApiError::bad_request(
                    "invalid_page",
                    "page URL is too long",
                ));
            }
        }
        let span = validate_events(env.events, limits)?;
        Ok((env, span))
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

fn validate_events(raw: &RawValue, limits: &Limits) -> Result<EventSpan, ApiError> {
    let heads: Vec<EventHead> = from_slice_prescanned(raw.get().as_bytes()).map_err(|e| {
        ApiError::bad_request(
            "invalid_events",
            format!(
                "events must be an array of {{type, data, timestamp}}: {}",
                strip_position(&e)
            ),
        )
    })?;
    if heads.is_empty() {
        return Err(ApiError::bad_request("invalid_events", "events is empty"));
    }
    if heads.len() > limits.max_events {
        return Err(ApiError::too_large(
            "too_many_events",
            format!("a beacon carries at most {} events", limits.max_events),
        ));
    }
    let mut first_ts = f64::INFINITY;
    let mut last_ts = f64::NEG_INFINITY;
    for (i, h) in heads.iter().enumerate() {
        // rrweb event types are 0..=6; mobile uses the same envelope.
        if h.kind > 6 {
            return Err(ApiError::bad_request(
                "invalid_events",
                format!("event {i}: unknown type {}", h.kind),
            ));
        }
        if !h.timestamp.is_finite() || h.timestamp < 0.0 {
            return Err(ApiError::bad_request(
                "invalid_events",
                format!("event {i}: timestamp must be a non-negative number"),
            ));
        }
        if h.data.is_none() && h.kind != 1 {
            // type 1 (Load) carries no data in rrweb; every other type does.
            return Err(ApiError::bad_request(
                "invalid_events",
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

/// Ids (session, visitor, project key) are 8–64 chars of `[A-Za-z0-9_-]`: safe in storage
/// keys and URLs as they are.
pub fn is_valid_id(id: &str) -> bool {
    (8..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn check_id(field: &'static str, id: &str) -> Result<(), ApiError> {
    if is_valid_id(id) {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "invalid_id",
            format!("{field} must be 8-64 characters of A-Z a-z 0-9 _ -"),
        ))
    }
}

/// What the edge runs on a body before parsing: decode with caps, then the prescan.
pub fn decode_and_prescan(
    body: &[u8],
    encoding: Encoding,
    limits: &Limits,
) -> Result<Vec<u8>, ApiError> {
    let json = decode_body(body, encoding, limits)?;
    prescan(&json, limits)?;
    Ok(json)
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

    fn parse(json: &str) -> Result<(Envelope<'_>, EventSpan), ApiError> {
        let limits = Limits::default();
        prescan(json.as_bytes(), &limits)?;
        Envelope::parse(json.as_bytes(), &limits)
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
        let body = decode_body(&gzip(GOOD.as_bytes()), Encoding::Gzip, &limits).unwrap();
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
