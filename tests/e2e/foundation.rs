//! The worker stores and serves sessions end to end on local workerd.

use crate::support;

use std::time::Duration;

use crate::support::{beacon, gzip, id, worker};
use serde_json::{json, Value};

const LOCAL: (&str, &str) = ("Origin", "http://localhost:8787");

/// A real rrweb recording (see tests/fixtures/README.md), split into `n` beacons.
fn recorded_chunks(n: usize) -> Vec<Value> {
    let path = support::root().join("tests/fixtures/rrweb/signup.default.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let fixture: Value = serde_json::from_str(&text).unwrap();
    let events = fixture["events"].as_array().unwrap().clone();
    assert!(events.len() >= n * 2, "fixture too short");
    let size = events.len().div_ceil(n);
    events
        .chunks(size)
        .map(|c| Value::Array(c.to_vec()))
        .collect()
}

fn small_events(ts: u64) -> Value {
    json!([
        {"type": 4, "data": {"href": "http://localhost:8787/demo", "width": 800, "height": 600}, "timestamp": ts},
        {"type": 3, "data": {"source": 1, "positions": [{"x": 1, "y": 2, "id": 5, "timeOffset": 0}]}, "timestamp": ts + 10}
    ])
}

fn ingest(key: &str, body: &[u8], headers: &[(&str, &str)]) -> support::Reply {
    worker().post(&format!("/v1/ingest/{key}"), headers, body)
}

/// A `demo` session's manifest through the read API.
fn manifest(s: &str) -> Value {
    worker()
        .get(&format!("/v1/projects/demo/sessions/{s}"), "demo-read")
        .json()
}

fn assert_stored(r: support::Reply, seq: u64) {
    assert_eq!(
        (r.status, r.json()),
        (202, json!({"stored": true, "seq": seq}))
    );
}

fn ts(events: &Value) -> Vec<(u64, u64)> {
    events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["timestamp"].as_u64().unwrap(),
                e["type"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn recorded_session_in_three_chunks_reads_back_merged_in_order() {
    let (s, v) = (id("s"), id("v"));
    let chunks = recorded_chunks(3);
    for (seq, events) in chunks.iter().enumerate() {
        let r = ingest(
            "demo",
            &beacon(&s, &v, seq as u64, "web", events),
            &[LOCAL, ("Content-Type", "text/plain")],
        );
        assert_eq!(r.status, 202, "{}", r.text());
        assert_eq!(r.json(), json!({"stored": true, "seq": seq}));
        assert_eq!(
            r.header("Access-Control-Allow-Origin"),
            Some("http://localhost:8787")
        );
    }
    let merged = worker().get(
        &format!("/v1/projects/demo/sessions/{s}/events"),
        "demo-read",
    );
    assert_eq!(merged.status, 200, "{}", merged.text());
    let expected: Vec<Value> = chunks
        .iter()
        .flat_map(|c| c.as_array().unwrap().clone())
        .collect();
    assert_eq!(ts(&merged.json()), ts(&Value::Array(expected)));

    let m = worker()
        .get(&format!("/v1/projects/demo/sessions/{s}"), "demo-read")
        .json();
    assert_eq!(m["chunks"], 3);
    assert_eq!(m["seqs"], json!([0, 1, 2]));
    assert_eq!(m["visitor"], v.as_str());
    assert_eq!(m["complete"], false);

    let c = worker().get(
        &format!("/v1/projects/demo/sessions/{s}/chunks/1"),
        "demo-read",
    );
    assert_eq!(c.status, 200);
    assert_eq!(c.json()["seq"], 1);
    assert_eq!(
        worker()
            .get(
                &format!("/v1/projects/demo/sessions/{s}/chunks/7"),
                "demo-read"
            )
            .status,
        404
    );

    let list = worker()
        .get("/v1/projects/demo/sessions", "demo-read")
        .json();
    assert!(
        list["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["session"] == s.as_str()),
        "{list}"
    );
}

#[test]
fn retried_seq_is_acknowledged_and_stored_once() {
    let (s, v) = (id("s"), id("v"));
    let body = beacon(&s, &v, 0, "web", &small_events(1_700_000_000_000));
    for _ in 0..3 {
        assert_stored(ingest("demo", &body, &[LOCAL]), 0);
    }
    assert_eq!(manifest(&s)["chunks"], 1);
    let merged = worker()
        .get(
            &format!("/v1/projects/demo/sessions/{s}/events"),
            "demo-read",
        )
        .json();
    assert_eq!(merged.as_array().unwrap().len(), 2);
    let stored = worker()
        .r2_objects()
        .into_iter()
        .filter(|(_, b)| {
            String::from_utf8_lossy(b).contains(&format!("\"session\":\"{s}\",\"seq\""))
        })
        .count();
    assert_eq!(stored, 1, "chunk objects in local R2");
}

#[test]
fn a_page_url_with_quotes_and_backslashes_is_stored() {
    // The page is client text: escaped on its way to the session object, it must still arrive.
    let (s, v) = (id("s"), id("v"));
    let body = json!({
        "session": s, "visitor": v, "seq": 0, "platform": "web",
        "page": "http://localhost:8787/a\"b\\c?q=\"x\"",
        "events": small_events(1_700_000_000_000),
    })
    .to_string();
    assert_stored(ingest("demo", body.as_bytes(), &[LOCAL]), 0);
    let m = manifest(&s);
    assert_eq!(m["chunks"], 1);
    assert!(m.to_string().contains("/a\\\"b\\\\c"), "page kept: {m}");
}

#[test]
fn out_of_order_chunks_are_merged_in_seq_order() {
    let (s, v) = (id("s"), id("v"));
    for seq in [2u64, 0, 1] {
        let r = ingest(
            "demo",
            &beacon(&s, &v, seq, "web", &small_events(1_000_000 + seq * 100)),
            &[LOCAL],
        );
        assert_eq!(r.status, 202, "{}", r.text());
    }
    let merged = worker()
        .get(
            &format!("/v1/projects/demo/sessions/{s}/events"),
            "demo-read",
        )
        .json();
    let stamps: Vec<u64> = ts(&merged).into_iter().map(|(t, _)| t).collect();
    assert_eq!(
        stamps,
        vec![1_000_000, 1_000_010, 1_000_100, 1_000_110, 1_000_200, 1_000_210]
    );
}

#[test]
fn gzip_bodies_by_header_and_by_query() {
    let v = id("v");
    let s1 = id("s");
    let r = ingest(
        "demo",
        &gzip(&beacon(&s1, &v, 0, "web", &small_events(5))),
        &[LOCAL, ("Content-Encoding", "gzip")],
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let s2 = id("s");
    let r = worker().post(
        "/v1/ingest/demo?enc=gzip",
        &[LOCAL, ("Content-Type", "text/plain;charset=UTF-8")],
        &gzip(&beacon(&s2, &v, 0, "web", &small_events(5))),
    );
    assert_eq!(r.status, 202, "{}", r.text());
    for s in [s1, s2] {
        let m = worker().get(&format!("/v1/projects/demo/sessions/{s}"), "demo-read");
        assert_eq!(m.json()["chunks"], 1);
    }
    let r = ingest(
        "demo",
        b"not gzip at all",
        &[LOCAL, ("Content-Encoding", "gzip")],
    );
    assert_eq!((r.status, r.error_code().as_str()), (400, "invalid_gzip"));
    let r = ingest("demo", b"{}", &[LOCAL, ("Content-Encoding", "br")]);
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (415, "unsupported_encoding")
    );
}

#[test]
fn refusals_are_json_with_the_right_status() {
    let (s, v) = (id("s"), id("v"));
    let good = beacon(&s, &v, 0, "web", &small_events(5));
    type Case<'a> = (&'a str, Vec<u8>, Vec<(&'a str, &'a str)>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "nosuchproject",
            good.clone(),
            vec![LOCAL],
            401,
            "unauthorized",
        ),
        (
            "test-disabled",
            good.clone(),
            vec![LOCAL],
            403,
            "project_disabled",
        ),
        (
            "demo-web",
            good.clone(),
            vec![("Origin", "https://evil.example")],
            403,
            "origin_not_allowed",
        ),
        (
            "demo-web",
            beacon(&s, &v, 0, "ios", &small_events(5)),
            vec![("Origin", "https://shop.example")],
            403,
            "platform_not_allowed",
        ),
        (
            "test-mobile",
            good.clone(),
            vec![],
            403,
            "platform_not_allowed",
        ),
        (
            "demo",
            b"{\"session\": \"s_1234".to_vec(),
            vec![LOCAL],
            400,
            "malformed_json",
        ),
        ("demo", b"[]".to_vec(), vec![LOCAL], 400, "malformed_json"),
        (
            "demo",
            vec![b' '; 2 << 20],
            vec![LOCAL],
            413,
            "body_too_large",
        ),
        (
            "demo",
            good.clone(),
            vec![LOCAL, ("Content-Type", "text/html")],
            415,
            "unsupported_media_type",
        ),
    ];
    for (key, body, headers, status, code) in cases {
        let r = ingest(key, &body, &headers);
        assert_eq!(r.status, status, "{key}: {}", r.text());
        assert_eq!(r.error_code(), code, "{key}");
        assert!(r
            .header("Content-Type")
            .unwrap()
            .starts_with("application/json"));
    }
    // Nothing of the refused session was stored.
    assert_eq!(
        worker()
            .get(&format!("/v1/projects/demo/sessions/{s}"), "demo-read")
            .status,
        404
    );
    let r = worker().request("GET", "/v1/ingest/demo", &[], None);
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (405, "method_not_allowed")
    );
    let r = worker().request("GET", "/nowhere", &[], None);
    assert_eq!((r.status, r.error_code().as_str()), (404, "not_found"));
}

#[test]
fn cors_preflight_only_for_allowed_origins() {
    let r = worker().request(
        "OPTIONS",
        "/v1/ingest/demo-web",
        &[("Origin", "https://shop.example")],
        None,
    );
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("Access-Control-Allow-Origin"),
        Some("https://shop.example")
    );
    let r = worker().request(
        "OPTIONS",
        "/v1/ingest/demo-web",
        &[("Origin", "https://evil.example")],
        None,
    );
    assert_eq!(r.status, 403);
    assert_eq!(r.header("Access-Control-Allow-Origin"), None);
}

/// A new session of one small beacon on `demo`: (session, visitor, manifest path).
fn one_small_session() -> (String, String, String) {
    let (s, v) = (id("s"), id("v"));
    let r = ingest(
        "demo",
        &beacon(&s, &v, 0, "web", &small_events(5)),
        &[LOCAL],
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let path = format!("/v1/projects/demo/sessions/{s}");
    (s, v, path)
}

#[test]
fn read_tokens_are_checked_and_never_cross_projects() {
    let (_, _, path) = one_small_session();
    assert_eq!(worker().get(&path, "demo-read").status, 200);
    for token in [
        "",
        "wrong",
        "demo-web-read",
        "demo-audit",
        "demo-reae",
        "Demo-read",
    ] {
        let r = worker().get(&path, token);
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (401, "unauthorized"),
            "token {token:?}"
        );
    }
    let r = worker().request("GET", &path, &[], None);
    assert_eq!(r.status, 401);
    // A wrong token learns nothing about existence: same answer for a session that does not exist.
    let missing = worker().get(&format!("/v1/projects/demo/sessions/{}", id("s")), "wrong");
    assert_eq!(
        (missing.status, missing.body),
        (401, worker().get(&path, "wrong").body)
    );
    assert_eq!(
        worker()
            .get("/v1/projects/demo-web/sessions", "demo-read")
            .status,
        401
    );
}

#[test]
fn idle_session_is_finalized_by_the_alarm() {
    let (s, v, path) = one_small_session();
    support::wait_until(
        "the idle alarm to finalize the session",
        Duration::from_secs(60),
        || worker().get(&path, "demo-read").json()["complete"] == true,
    );
    let m = worker().get(&path, "demo-read").json();
    assert_eq!(m["status"], "complete");
    assert_eq!(m["segments"][0]["complete"], true);
    // A beacon after finalization opens the next segment of the same session.
    assert_eq!(
        ingest(
            "demo",
            &beacon(&s, &v, 1, "web", &small_events(9)),
            &[LOCAL]
        )
        .status,
        202
    );
    let m = worker().get(&path, "demo-read").json();
    assert_eq!(
        (
            m["complete"].clone(),
            m["segments"].as_array().unwrap().len()
        ),
        (json!(false), 2)
    );
}
