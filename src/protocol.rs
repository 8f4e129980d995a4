//! Messages between the worker and the session Durable Object class (internal, sent as bytes
//! over the object's stub): every call one [`ObjectCall`] variant, its route and body encoded
//! and decoded here, and the object's refusals read back ([`error_from_reply`]). Pure codec:
//! no worker types, tested natively.
//!
//! An ingest call travels as its JSON head, one newline, then the events array exactly as the
//! worker validated it. The events are the bulk of every beacon; framing them beside the head
//! instead of inside it means the object reads them once, with the masking parser, rather than
//! once more with serde to find where they end. serde_json writes the head compact, with
//! control characters escaped, so the first newline always ends it.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::audit::AnchorRef;
use crate::consent::Decision;
use crate::envelope::{EventSpan, Limits, Platform};
use crate::error::{ApiError, ErrorCode};
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
#[derive(Debug, Serialize, Deserialize)]
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

/// Every call to an object of the session class (`edge::session_do`): a session
/// (`{project}:{session}`), an anchor chain, a project's admin chain, an audit log, a verify
/// job or a visitor's erasure job. The route a variant travels on is its name here and nowhere else.
// One value per request, built once and moved once: boxing the ingest call would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum ObjectCall<'a> {
    /// One beacon and its events' text (see [`encode_ingest`]).
    Ingest(IngestCall<'a>, &'a str),
    /// The session's live manifest (404 when it holds no chunk).
    Manifest,
    Erase(Erase),
    Anchor(Pin),
    /// An `admin::store::AdminCall`'s JSON for the project's admin object, which decodes it
    /// itself (`admin::store::decode_call`): the admin API's requests, decided there.
    Admin(&'a [u8]),
    /// An `audit::AuditRecord`'s JSON for the audit log, which decodes it itself
    /// (`edge::audit_log_do::append`): it is the log's record format, not a call's.
    Log(&'a [u8]),
    LogHead,
    /// An `audit::log::VerifyJob`'s JSON, stored as it is by the job object.
    VerifyStart(&'a [u8]),
    VerifyStatus,
    /// A call to a project-month analytics store (`analytics::store`).
    Analytics(crate::analytics::store::Call),
    /// An `erasure::VisitorErasure`'s JSON, taken over by the visitor's erasure job object.
    EraseStart(&'a [u8]),
    EraseStatus,
    /// A seeded `audit::log::LogWriter`'s JSON (test-only seeding, feature `faults`).
    #[cfg(feature = "faults")]
    LogSeed(&'a [u8]),
}

/// Erase one session: audit it, anchor it, forget the state (`reason` as in
/// `audit::Draft::erasure`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erase {
    pub project: String,
    pub session: String,
    pub reason: String,
}

/// Pin a session chain's head in anchor chain `shard` of `project`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pin {
    pub project: String,
    pub shard: u32,
    pub anchored: AnchorRef,
}

/// An admin change the admin object records in its chain (field names only, never values).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminChange {
    pub project: String,
    pub action: String,
    pub fields: Vec<String>,
    pub policy_version: String,
}

impl<'a> ObjectCall<'a> {
    /// The route and body this call travels as.
    pub fn encode(&self) -> serde_json::Result<(&'static str, Cow<'a, [u8]>)> {
        Ok(match self {
            ObjectCall::Ingest(call, events) => {
                ("/ingest", Cow::Owned(encode_ingest(call, events)?))
            }
            ObjectCall::Manifest => ("/manifest", Cow::Borrowed(&[][..])),
            ObjectCall::Erase(e) => ("/delete", Cow::Owned(serde_json::to_vec(e)?)),
            ObjectCall::Anchor(p) => ("/anchor", Cow::Owned(serde_json::to_vec(p)?)),
            ObjectCall::Admin(call) => ("/admin", Cow::Borrowed(*call)),
            ObjectCall::Log(rec) => ("/log", Cow::Borrowed(*rec)),
            ObjectCall::LogHead => ("/log-head", Cow::Borrowed(&[][..])),
            ObjectCall::VerifyStart(job) => ("/verify-start", Cow::Borrowed(*job)),
            ObjectCall::VerifyStatus => ("/verify-status", Cow::Borrowed(&[][..])),
            ObjectCall::Analytics(c) => ("/analytics", Cow::Owned(serde_json::to_vec(c)?)),
            ObjectCall::EraseStart(job) => ("/erase-start", Cow::Borrowed(*job)),
            ObjectCall::EraseStatus => ("/erase-status", Cow::Borrowed(&[][..])),
            #[cfg(feature = "faults")]
            ObjectCall::LogSeed(w) => ("/log-seed", Cow::Borrowed(*w)),
        })
    }

    /// The call a request to the object carries; a clear 400 `invalid_call` for a malformed
    /// body, 404 for a route no call has.
    pub fn decode(path: &str, body: &'a [u8]) -> Result<ObjectCall<'a>, ApiError> {
        fn parse<'b, T: Deserialize<'b>>(body: &'b [u8], what: &str) -> Result<T, ApiError> {
            serde_json::from_slice(body).map_err(|_| {
                ApiError::new(ErrorCode::InvalidCall, format!("malformed {what} call"))
            })
        }
        Ok(match path {
            "/ingest" => {
                let (call, events) = decode_ingest(body).ok_or_else(|| {
                    ApiError::new(ErrorCode::InvalidCall, "malformed session call")
                })?;
                ObjectCall::Ingest(call, events)
            }
            "/manifest" => ObjectCall::Manifest,
            "/delete" => ObjectCall::Erase(parse(body, "erase")?),
            "/anchor" => ObjectCall::Anchor(parse(body, "anchor")?),
            "/admin" => ObjectCall::Admin(body),
            "/log" => ObjectCall::Log(body),
            "/log-head" => ObjectCall::LogHead,
            "/verify-start" => ObjectCall::VerifyStart(body),
            "/verify-status" => ObjectCall::VerifyStatus,
            "/analytics" => ObjectCall::Analytics(parse(body, "analytics")?),
            "/erase-start" => ObjectCall::EraseStart(body),
            "/erase-status" => ObjectCall::EraseStatus,
            #[cfg(feature = "faults")]
            "/log-seed" => ObjectCall::LogSeed(body),
            _ => return Err(ApiError::not_found("no such object route")),
        })
    }
}

/// The refusals an object sends (its `ApiError::body()`), each passed on to the client with
/// its own status, code and message. A code the object never sends is not trusted.
const OBJECT_REFUSALS: &[ErrorCode] = &[
    ErrorCode::InvalidCall,
    ErrorCode::InvalidEvents,
    ErrorCode::TooManyEvents,
    ErrorCode::SessionTooLong,
    ErrorCode::VisitorMismatch,
];

/// The worker's copy of an object's error reply (`status`, its JSON `body`): a refusal keeps
/// its status, code and message, so the client learns the object's reason (a chunk cap is
/// not a session cap); a storage failure, or anything unreadable, is the retryable 503.
pub fn error_from_reply(status: u16, body: &[u8]) -> ApiError {
    #[derive(Deserialize)]
    struct Reply {
        error: Body,
    }
    #[derive(Deserialize)]
    struct Body {
        code: String,
        message: String,
    }
    let refusal = serde_json::from_slice::<Reply>(body).ok().and_then(|r| {
        let code = ErrorCode::parse(&r.error.code).filter(|c| OBJECT_REFUSALS.contains(c))?;
        code.statuses()
            .contains(&status)
            .then(|| ApiError::with_status(status, code, r.error.message))
    });
    refusal.unwrap_or_else(|| ApiError::unavailable("session storage failed; retry later"))
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

    fn every_call() -> Vec<ObjectCall<'static>> {
        vec![
            ObjectCall::Ingest(call(Some("https://x.test/"), None), "[]"),
            ObjectCall::Manifest,
            ObjectCall::Erase(Erase {
                project: "demo".into(),
                session: "s_12345678".into(),
                reason: "session_erasure".into(),
            }),
            ObjectCall::Anchor(Pin {
                project: "demo".into(),
                shard: 3,
                anchored: AnchorRef {
                    session: "s_12345678".into(),
                    day: "2026-01-01".into(),
                    count: 2,
                    head: "ab".into(),
                },
            }),
            ObjectCall::Admin(b"{\"project\":\"demo\",\"op\":\"get\"}"),
            ObjectCall::Log(b"{\"seq\":0}"),
            ObjectCall::LogHead,
            ObjectCall::VerifyStart(b"{\"job\":1}"),
            ObjectCall::VerifyStatus,
            ObjectCall::Analytics(crate::analytics::store::Call::Erase {
                session: "s_12345678".into(),
            }),
            ObjectCall::EraseStart(b"{\"job\":2}"),
            ObjectCall::EraseStatus,
        ]
    }

    #[test]
    fn every_call_decodes_as_itself() {
        let mut paths = std::collections::BTreeSet::new();
        for c in every_call() {
            let (path, body) = c.encode().unwrap();
            assert!(paths.insert(path), "{path} used twice");
            let back = ObjectCall::decode(path, &body).unwrap();
            // Same variant, same payload: encoding it again gives the same route and bytes.
            let (path2, body2) = back.encode().unwrap();
            assert_eq!((path2, &*body2), (path, &*body));
            match (&c, &back) {
                (ObjectCall::Erase(a), ObjectCall::Erase(b)) => assert_eq!(a, b),
                (ObjectCall::Anchor(a), ObjectCall::Anchor(b)) => assert_eq!(a, b),
                _ => {}
            }
        }
    }

    #[test]
    fn malformed_calls_are_clear_refusals() {
        for (path, what) in [
            ("/ingest", "session"),
            ("/delete", "erase"),
            ("/anchor", "anchor"),
        ] {
            let e = ObjectCall::decode(path, b"{\"project\":1}").err().unwrap();
            assert_eq!((e.status, e.code), (400, "invalid_call"), "{path}");
            assert_eq!(e.message, format!("malformed {what} call"));
        }
        let e = ObjectCall::decode("/nope", b"").err().unwrap();
        assert_eq!((e.status, e.code), (404, "not_found"));
        #[cfg(not(feature = "faults"))]
        assert!(ObjectCall::decode("/log-seed", b"{}").is_err());
    }

    #[test]
    fn the_objects_refusal_reaches_the_worker_intact() {
        // Each refusal the object sends, as it sends it, comes back with its own status and
        // code: a 413 for too many events is not the session's chunk cap.
        for e in [
            ApiError::new(
                ErrorCode::TooManyEvents,
                "a beacon carries at most 5 events",
            ),
            ApiError::new(ErrorCode::SessionTooLong, "this session holds the maximum"),
            ApiError::new(ErrorCode::InvalidEvents, "event 0: missing data"),
            ApiError::new(ErrorCode::InvalidCall, "malformed session call"),
        ] {
            let back = error_from_reply(e.status, e.body().as_bytes());
            assert_eq!(back, e);
        }
        // Storage failures and anything the object would never send are the retryable 503.
        for (status, body) in [
            (
                503,
                ApiError::unavailable("session state failed; retry later").body(),
            ),
            (413, ApiError::new(ErrorCode::TooManyChunks, "x").body()),
            (500, "not json".to_string()),
            (400, "{}".to_string()),
        ] {
            let back = error_from_reply(status, body.as_bytes());
            assert_eq!((back.status, back.code), (503, "storage_unavailable"));
            assert_eq!(back.message, "session storage failed; retry later");
        }
    }
}
