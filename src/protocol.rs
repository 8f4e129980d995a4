//! Messages between the worker and the session Durable Object (internal, sent as bytes over
//! the object's stub). Pure codec: no worker types, tested natively.
//!
//! An ingest call travels as its JSON head, one newline, then the events array exactly as the
//! worker validated it. The events are the bulk of every beacon; framing them beside the head
//! instead of inside it means the object reads them once, with the masking parser, rather than
//! once more with serde to find where they end. serde_json writes the head compact, with
//! control characters escaped, so the first newline always ends it.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::consent::Decision;
use crate::envelope::{EventSpan, Limits, Platform};
use crate::privacy::MaskPolicy;
use crate::session::Device;

/// One beacon, after every check the worker can make. Its events (framed after it, see
/// [`encode_ingest`]) are still unmasked: they are masked inside the object, which holds the
/// session's masking state, before any write.
#[derive(Serialize, Deserialize)]
pub struct IngestCall<'a> {
    pub project: &'a str,
    pub session: &'a str,
    pub visitor: &'a str,
    pub seq: u32,
    pub platform: Platform,
    /// Client text: a quote or backslash in it is escaped in the head, so it cannot borrow.
    #[serde(borrow)]
    pub page: Option<Cow<'a, str>>,
    /// `None`: the worker only located the events (`envelope::parse_head`); the object
    /// checks them (`envelope::parse_events`) before anything else.
    pub span: Option<EventSpan>,
    /// The project's limits, for that check.
    pub limits: Limits,
    pub device: Option<Device>,
    pub decision: Decision,
    pub masking: Cow<'a, MaskPolicy>,
    pub idle_ms: u64,
    pub max_ms: u64,
    /// Test-only fault to inject (feature `faults`); always `None` in production builds.
    #[serde(default)]
    pub fault: Option<String>,
}

/// The object's answer; the worker passes it on to the client as is.
#[derive(Serialize, Deserialize)]
pub struct IngestReply {
    pub stored: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The body of an ingest call: `call` as JSON, a newline, `events` (a JSON array's text).
pub fn encode_ingest(call: &IngestCall<'_>, events: &str) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(events.len() + 1024);
    serde_json::to_writer(&mut out, call)?;
    out.push(b'\n');
    out.extend_from_slice(events.as_bytes());
    Ok(out)
}

/// The call and its events' text from an ingest body; `None` if it is not one. The events are
/// only split off here: the object parses them (strictly) when it masks them.
pub fn decode_ingest(body: &[u8]) -> Option<(IngestCall<'_>, &str)> {
    let nl = body.iter().position(|&c| c == b'\n')?;
    let call = serde_json::from_slice(&body[..nl]).ok()?;
    let events = std::str::from_utf8(&body[nl + 1..]).ok()?;
    Some((call, events))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::{Decision, Reason};
    use crate::envelope::EventSpan;

    fn call(page: Option<&str>, fault: Option<String>) -> IngestCall<'_> {
        IngestCall {
            project: "demo",
            session: "s_12345678",
            visitor: "v_12345678",
            seq: 7,
            platform: Platform::Web,
            page: page.map(Cow::Borrowed),
            span: Some(EventSpan {
                count: 1,
                first_ts: 1.0,
                last_ts: 1.0,
            }),
            device: None,
            limits: Limits::default(),
            decision: Decision::new(Reason::PolicyNone, Vec::new(), "v1".into()),
            masking: Cow::Owned(MaskPolicy::default()),
            idle_ms: 1,
            max_ms: 2,
            fault,
        }
    }

    #[test]
    fn a_call_round_trips_with_its_events_untouched() {
        // A page with a newline and quotes: escaped in the head, so the frame still splits.
        let events = "[{\"type\":4,\"data\":{\"href\":\"a\\nb\"},\"timestamp\":1}]\n";
        let body = encode_ingest(&call(Some("https://x.test/a\nb\"c"), None), events).unwrap();
        let (back, ev) = decode_ingest(&body).unwrap();
        assert_eq!(ev, events);
        assert_eq!(back.page.as_deref(), Some("https://x.test/a\nb\"c"));
        assert_eq!(
            (back.seq, back.session, back.fault),
            (7, "s_12345678", None)
        );
    }

    #[test]
    fn any_page_text_keeps_the_frame() {
        // Pages are client text: every char a JSON string may hold must survive the head,
        // newlines and separators included, with the events after it untouched.
        const ALPHABET: [char; 12] = [
            'a', '\n', '\r', '"', '\\', '\u{0}', '\u{1f}', '\u{7f}', '\u{2028}', 'é', '😀', '/',
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..2000 {
            let mut page = String::new();
            for _ in 0..(x % 24) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                page.push(ALPHABET[(x % ALPHABET.len() as u64) as usize]);
            }
            let events = "[\n{\"type\":1,\"timestamp\":2}\n]";
            let body = encode_ingest(&call(Some(&page), None), events).unwrap();
            let (back, ev) = decode_ingest(&body).unwrap();
            assert_eq!((back.page.as_deref(), ev), (Some(page.as_str()), events));
        }
    }

    #[test]
    fn anything_else_is_refused() {
        assert!(decode_ingest(b"").is_none());
        assert!(decode_ingest(b"{\"project\":\"demo\"}").is_none()); // no frame
        assert!(decode_ingest(b"{\"project\":\"demo\"}\n[]").is_none()); // head incomplete
        let mut body = encode_ingest(&call(None, None), "[]").unwrap();
        body.push(0xff); // events not UTF-8
        assert!(decode_ingest(&body).is_none());
    }
}
