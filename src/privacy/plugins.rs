//! rrweb plugin events (event type 6, `{plugin, payload}`): the network and console record
//! plugins get a walk that knows their shape, so that structural fields survive (the replay
//! plugins match the exact plugin name) and free-form fields (bodies, headers, logged
//! values) are masked by key as well as by the detectors. Any other plugin: every string.
//!
//! Network shape: posthog-js `rrweb/network@1`, `{requests: [{url, method, initiatorType,
//! status, startTime, endTime, requestHeaders, requestBody, responseHeaders, responseBody,
//! …}]}`. Console shape: `@rrweb/rrweb-plugin-console-record`, `{level, trace: [..],
//! payload: [..]}` where each payload entry is a JSON-stringified argument.

use std::borrow::Cow;

use crate::json::{self, Map, Value};

use super::detect;
use super::policy::is_sensitive_key;
use super::state::Facts;
use super::walk::{Kind, Walker};

pub const NETWORK: &str = "rrweb/network@1";
pub const CONSOLE: &str = "rrweb/console@1";

/// Plugin names kept as they are; other names go through the detectors like any string.
const KNOWN_PLUGINS: &[&str] = &[NETWORK, CONSOLE, "rrweb/sequential-id@1"];

/// Replaces a network body the project did not opt to record.
pub const BODY_DROPPED: &str = "[body dropped by veilgate]";

/// Headers whose value is kept by default (no identity in them).
const SAFE_HEADERS: &[&str] = &["content-type", "content-length", "accept", "cache-control"];
/// Header names whose value is always masked.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "proxy-authorization",
];
const SECRET_HEADER_PARTS: &[&str] = &["token", "secret", "session", "csrf", "auth", "key"];

fn is_secret_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    SECRET_HEADERS.contains(&n.as_str()) || SECRET_HEADER_PARTS.iter().any(|p| n.contains(p))
}

/// A short word such as `GET`, `fetch`, `xmlhttprequest`, `log`: structural, never PII.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_alphabetic() || b == b'-' || b == b'_')
}

/// An ALPN protocol id as resource timing reports it: `http/1.1`, `h2`, `h3`.
fn is_protocol(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 16
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'-'))
}

fn known_plugin_event(k: &str) -> Option<Kind> {
    match k {
        "plugin" | "payload" => Some(Kind::Any),
        _ => None,
    }
}

fn known_request(k: &str) -> Option<Kind> {
    match k {
        "url"
        | "name"
        | "method"
        | "initiatorType"
        | "entryType"
        | "nextHopProtocol"
        | "renderBlockingStatus"
        | "deliveryType"
        | "requestHeaders"
        | "responseHeaders"
        | "requestBody"
        | "responseBody" => Some(Kind::Any),
        // PerformanceResourceTiming numbers: a long integer such as an epoch `timeOrigin`
        // would otherwise meet the card rule and turn into a string of stars.
        "status"
        | "startTime"
        | "endTime"
        | "timeOrigin"
        | "timestamp"
        | "duration"
        | "transferSize"
        | "encodedBodySize"
        | "decodedBodySize"
        | "responseStatus"
        | "fetchStart"
        | "domainLookupStart"
        | "domainLookupEnd"
        | "connectStart"
        | "connectEnd"
        | "secureConnectionStart"
        | "requestStart"
        | "responseStart"
        | "responseEnd"
        | "redirectStart"
        | "redirectEnd"
        | "workerStart"
        | "firstInterimResponseStart"
        | "finalResponseHeadersStart" => Some(Kind::Num),
        "isInitial" => Some(Kind::Bool),
        _ => None,
    }
}

fn known_console(k: &str) -> Option<Kind> {
    match k {
        "level" | "trace" | "payload" => Some(Kind::Any),
        _ => None,
    }
}

/// Mask a plugin event's `data` in place.
pub(crate) fn plugin(w: &mut Walker<'_>, data: &mut Value<'_>) {
    let Value::Object(m) = data else {
        return w.scrub_json(data, Facts::MASKED);
    };
    let name = m.get("plugin").and_then(Value::as_str).unwrap_or("");
    let known = KNOWN_PLUGINS.contains(&name);
    let name = name.to_owned();
    if let Some(p) = m.get_mut("payload") {
        match name.as_str() {
            NETWORK => network(w, p),
            CONSOLE => console(w, p),
            _ => w.scrub_json(p, Facts::NONE),
        }
    }
    if !known {
        if let Some(p) = m.get_mut("plugin") {
            w.scrub_json(p, Facts::NONE);
        }
    }
    w.rest(m, known_plugin_event, Facts::NONE);
}

fn network(w: &mut Walker<'_>, p: &mut Value<'_>) {
    let Value::Object(m) = p else {
        return w.scrub_json(p, Facts::MASKED);
    };
    for (k, v) in m.iter_mut() {
        match (k, v) {
            ("requests", Value::Array(reqs)) => {
                for r in reqs.iter_mut() {
                    match r {
                        Value::Object(r) => request(w, r),
                        other => w.scrub_json(other, Facts::MASKED),
                    }
                }
            }
            (_, v) => w.scrub_json(v, Facts::NONE),
        }
    }
}

fn request(w: &mut Walker<'_>, r: &mut Map<'_>) {
    let bodies = w.policy.record.network_bodies;
    let headers = w.policy.record.network_headers;
    for (k, v) in r.iter_mut() {
        match k {
            "url" | "name" => {
                if let Some(s) = v.as_str() {
                    if let Some(o) = w.url_str(s, Facts::NONE) {
                        *v = Value::from(o);
                    }
                } else {
                    w.scrub_json(v, Facts::MASKED);
                }
            }
            "method" | "initiatorType" | "entryType" | "renderBlockingStatus" | "deliveryType"
                if !v.as_str().is_some_and(is_token) =>
            {
                w.scrub_json(v, Facts::MASKED)
            }
            "nextHopProtocol" if !v.as_str().is_some_and(is_protocol) => {
                w.scrub_json(v, Facts::MASKED)
            }
            "requestHeaders" | "responseHeaders" => header_map(w, v, headers),
            "requestBody" | "responseBody" => {
                if v.is_null() {
                } else if !bodies {
                    *v = Value::from(BODY_DROPPED);
                    w.report.strings_masked += 1;
                } else {
                    body(w, v);
                }
            }
            _ => {}
        }
    }
    w.rest(r, known_request, Facts::NONE);
}

fn header_map(w: &mut Walker<'_>, v: &mut Value<'_>, keep_all: bool) {
    let Value::Object(h) = v else {
        if !v.is_null() {
            w.scrub_json(v, Facts::MASKED);
        }
        return;
    };
    let before = h.len();
    let old = std::mem::take(h);
    for (name, mut val) in old.into_iter() {
        let lower = name.to_ascii_lowercase();
        if SAFE_HEADERS.contains(&lower.as_str()) {
            // content-length is digits; the digit rule would star a harmless size.
            if !(lower == "content-length" && val.as_str().is_some_and(is_digits)) {
                w.scrub_json(&mut val, Facts::NONE);
            }
        } else if !keep_all {
            continue;
        } else if is_secret_header(&name) {
            // Recorded headers keep the name (it tells that a request was authenticated),
            // never the value.
            w.scrub_json(&mut val, Facts::MASKED);
        } else {
            w.scrub_json(&mut val, Facts::NONE);
        }
        h.insert(name, val);
    }
    w.report.attributes_removed += before - h.len();
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.len() <= 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// A recorded body: structured values masked by key; a string holding JSON or form
/// encoding is masked by key and written back in the same encoding; other text goes
/// through the detectors.
fn body(w: &mut Walker<'_>, v: &mut Value<'_>) {
    let Value::String(s) = v else {
        return w.scrub_json(v, Facts::NONE);
    };
    if let Some(o) = encoded_text(w, s) {
        *v = Value::from(o);
    }
}

/// Mask a string that may hold JSON or form encoding; `None` when unchanged.
fn encoded_text(w: &mut Walker<'_>, s: &str) -> Option<String> {
    let t = s.trim_start();
    if t.starts_with('{') || t.starts_with('[') || t.starts_with('"') {
        if let Ok(mut parsed) = json::from_str(s) {
            w.scrub_json(&mut parsed, Facts::NONE);
            assignments_in_strings(w, &mut parsed);
            let mut out = Vec::with_capacity(s.len());
            parsed.write_to(&mut out);
            let out = String::from_utf8(out).ok()?;
            return (out != s).then_some(out);
        }
    }
    if looks_form(s) {
        return form(w, s);
    }
    let keyed = mask_assignments(s, &w.policy.extra_keys);
    let text = keyed.as_deref().unwrap_or(s);
    match detect::scrub(text, w.text_detect(Facts::NONE)) {
        Cow::Owned(o) => {
            w.report.strings_masked += 1;
            Some(o)
        }
        Cow::Borrowed(_) if keyed.is_some() => {
            w.report.strings_masked += 1;
            keyed
        }
        Cow::Borrowed(_) => None,
    }
}

/// Free text inside a parsed body or logged value (an error message, a log line).
fn assignments_in_strings(w: &mut Walker<'_>, v: &mut Value<'_>) {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) => {
                if let Some(o) = mask_assignments(s, &w.policy.extra_keys) {
                    w.report.strings_masked += 1;
                    *s = o.into();
                }
            }
            Value::Array(a) => stack.extend(a.iter_mut()),
            Value::Object(m) => stack.extend(m.iter_mut().map(|(_, x)| x)),
            _ => {}
        }
    }
}

/// `api_key=…`, `token: …` in free text: a log line or error message is not JSON, yet it
/// names its secrets the same way. The value after a sensitive key is starred up to the next
/// separator; `None` when nothing changes.
fn mask_assignments(s: &str, extra: &[String]) -> Option<String> {
    let word = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.');
    let stop = |c: u8| {
        c.is_ascii_whitespace()
            || matches!(
                c,
                b'&' | b','
                    | b';'
                    | b'"'
                    | b'\''
                    | b'('
                    | b')'
                    | b'['
                    | b']'
                    | b'{'
                    | b'}'
                    | b'<'
                    | b'>'
            )
    };
    let b = s.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !(word(b[i]) && (i == 0 || !word(b[i - 1]))) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && word(b[i]) {
            i += 1;
        }
        if i < b.len() && (b[i] == b'=' || b[i] == b':') {
            let key = &s[start..i];
            let mut j = i + 1;
            while j < b.len() && b[j] == b' ' {
                j += 1;
            }
            let from = j;
            while j < b.len() && !stop(b[j]) {
                j += 1;
            }
            if j > from && is_sensitive_key(key, extra) {
                spans.push((from, j));
                i = j;
            } else {
                // `failed: api_key=…`: the value may itself start with a key.
                i = from;
            }
        }
    }
    if spans.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for (a, z) in spans {
        out.push_str(&s[last..a]);
        out.push_str(&detect::star_all(&s[a..z]));
        last = z;
    }
    out.push_str(&s[last..]);
    (out != s).then_some(out)
}

/// One line of `key=value` pairs. Bare flags (`a=1&remember`) do not stop a body from being
/// form encoding: were it then left to the detectors, `password=…&remember` would keep the
/// password's letters.
fn looks_form(s: &str) -> bool {
    s.contains('=')
        && !s.bytes().any(|b| b.is_ascii_whitespace())
        && s.split('&').all(|p| !p.starts_with('='))
}

/// `a=1&password=x`: values under sensitive keys become stars of the same length, others
/// go through the detectors (decoded), every value re-encoded.
fn form(w: &mut Walker<'_>, s: &str) -> Option<String> {
    let d = w.text_detect(Facts::NONE);
    let mut out = String::with_capacity(s.len());
    for (i, pair) in s.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        let Some((k, val)) = pair.split_once('=') else {
            // A bare flag is a key only; a key can still hold an email or a number.
            match detect::scrub(&crate::percent::decode_if(pair, true), d) {
                Cow::Owned(o) => out.push_str(&form_encode(&o)),
                Cow::Borrowed(_) => out.push_str(pair),
            }
            continue;
        };
        out.push_str(k);
        out.push('=');
        let key = crate::percent::decode_if(k, true);
        let dec = crate::percent::decode_if(val, true);
        if is_sensitive_key(&key, &w.policy.extra_keys) {
            out.push_str(&detect::star_all(&dec));
        } else {
            match detect::scrub(&dec, d) {
                Cow::Owned(o) => out.push_str(&form_encode(&o)),
                Cow::Borrowed(_) => out.push_str(val),
            }
        }
    }
    if out != s {
        w.report.strings_masked += 1;
        Some(out)
    } else {
        None
    }
}

fn form_encode(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                o.push(b as char)
            }
            b' ' => o.push('+'),
            _ => o.push_str(&format!("%{b:02X}")),
        }
    }
    o
}

fn console(w: &mut Walker<'_>, p: &mut Value<'_>) {
    let Value::Object(m) = p else {
        return w.scrub_json(p, Facts::MASKED);
    };
    for (k, v) in m.iter_mut() {
        match k {
            "level" if !v.as_str().is_some_and(is_token) => w.scrub_json(v, Facts::MASKED),
            // Each logged argument is a JSON string of the value: mask it by key too.
            "payload" => match v {
                Value::Array(args) => {
                    for a in args.iter_mut() {
                        match a {
                            Value::String(s) => {
                                if let Some(o) = encoded_text(w, s) {
                                    *a = Value::from(o);
                                }
                            }
                            other => w.scrub_json(other, Facts::NONE),
                        }
                    }
                }
                other => w.scrub_json(other, Facts::NONE),
            },
            "trace" => w.scrub_json(v, Facts::NONE),
            _ => {}
        }
    }
    w.rest(m, known_console, Facts::NONE);
}

#[cfg(test)]
mod tests {
    use super::mask_assignments;

    #[test]
    fn assignments_in_free_text() {
        let none: &[String] = &[];
        assert_eq!(
            mask_assignments("auth failed: api_key=akletters (retry)", none).as_deref(),
            Some("auth failed: api_key=********* (retry)")
        );
        assert_eq!(
            mask_assignments("token: tkletters, step=2", none).as_deref(),
            Some("token: *********, step=2")
        );
        // Non-ASCII values are starred per character; unrelated keys are left alone.
        assert_eq!(
            mask_assignments("password=pässwörd&lang=de", none).as_deref(),
            Some("password=********&lang=de")
        );
        assert_eq!(mask_assignments("step=2 of 3: done", none), None);
        let extra = ["customer_ref".to_string()];
        assert_eq!(
            mask_assignments("customer_ref=abc", &extra).as_deref(),
            Some("customer_ref=***")
        );
    }
}
