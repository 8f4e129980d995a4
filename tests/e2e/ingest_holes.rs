//! Issue 22's ingest holes through the running worker: the daily quota spent by requests that
//! store nothing (item 7), storage amplification (item 8) and a range that never ends
//! (item 11).

use crate::support::{self, beacon, worker};
use serde_json::json;

fn page_event() -> serde_json::Value {
    json!([{"type": 4, "data": {"href": "https://shop.example/", "width": 1, "height": 1}, "timestamp": 1_700_000_000_000u64}])
}

/// Item 7: three malformed bodies without `Origin` used to spend `chunks_per_day: 3`, and the
/// valid beacon after them got 429 with nothing stored or audited. Only stored chunks count.
#[test]
fn requests_that_store_nothing_do_not_spend_the_daily_quota() {
    let headers = [("Content-Type", "text/plain")];
    for body in [&b"{not json"[..], b"[]", b"{\"session\":1}"] {
        let r = worker().post("/v1/ingest/test-quota", &headers, body);
        assert_eq!(r.status, 400, "{}", r.text());
    }
    let s = support::id("s");
    for seq in 0..3 {
        let r = worker().post(
            "/v1/ingest/test-quota",
            &headers,
            &beacon(&s, "v_quota0001", seq, "web", &page_event()),
        );
        assert_eq!(r.status, 202, "seq {seq}: {}", r.text());
        assert_eq!(r.json()["stored"], true, "seq {seq}");
    }
    // Three chunks stored: the day's quota is spent now, and only now.
    let r = worker().post(
        "/v1/ingest/test-quota",
        &headers,
        &beacon(&s, "v_quota0001", 3, "web", &page_event()),
    );
    assert_eq!((r.status, r.error_code().as_str()), (429, "quota_exceeded"));
    assert!(r.header("Retry-After").is_some());
}

/// A gzip body of one repeated string: ~22 KB on the wire, 4 MB inflated (182x).
fn amplified_beacon() -> Vec<u8> {
    let filler = "a".repeat(900_000);
    let events = json!([
        {"type": 4, "data": {"href": "https://shop.example/", "width": 1, "height": 1}, "timestamp": 1_700_000_000_000u64},
        {"type": 5, "data": {"tag": "x", "payload": {"a": filler, "b": filler, "c": filler, "d": filler}}, "timestamp": 1_700_000_000_001u64}
    ]);
    support::gzip(&beacon(&support::id("s"), "v_amplify01", 0, "web", &events))
}

/// Item 8: a small gzip body cannot inflate into megabytes of storage.
#[test]
fn a_gzip_body_past_the_inflation_ratio_is_refused() {
    let gz = amplified_beacon();
    assert!(gz.len() < 30_000, "{}", gz.len());
    let r = worker().post(
        "/v1/ingest/demo?enc=gzip",
        &[("Origin", "http://localhost:8787")],
        &gz,
    );
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (413, "decompressed_too_large"),
        "{}",
        r.text()
    );
}

/// Item 8: chunks are stored gzip (and say so), and the read API serves them as JSON. The
/// figure: a real recorded page (tests/fixtures/rrweb/large.default.json) as one beacon.
#[test]
fn chunks_are_stored_gzip_and_read_back_as_json() {
    let page: serde_json::Value = serde_json::from_slice(
        &std::fs::read(support::root().join("tests/fixtures/rrweb/large.default.json")).unwrap(),
    )
    .unwrap();
    let events = page
        .as_array()
        .cloned()
        .unwrap_or_else(|| page["events"].as_array().unwrap().clone());
    let s = support::id("s");
    let body = beacon(
        &s,
        "v_gzipstore1",
        0,
        "web",
        &serde_json::Value::Array(events.clone()),
    );
    let gz = support::gzip(&body);
    let r = worker().post(
        "/v1/ingest/demo?enc=gzip",
        &[("Origin", "http://localhost:8787")],
        &gz,
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let key = format!("\"session\":\"{s}\",\"seq\":0");
    let stored: Vec<(String, Vec<u8>)> = worker()
        .r2_objects_raw()
        .into_iter()
        .filter(|(_, b)| {
            let mut inflated = Vec::new();
            let plain = if b.starts_with(&[0x1f, 0x8b]) {
                use std::io::Read;
                let _ = flate2::read::GzDecoder::new(&b[..]).read_to_end(&mut inflated);
                &inflated
            } else {
                b
            };
            String::from_utf8_lossy(plain).contains(&key)
        })
        .collect();
    assert_eq!(stored.len(), 1, "one chunk blob");
    let blob = &stored[0].1;
    eprintln!(
        "a recorded page: {} bytes of JSON, {} bytes gzip on the wire, {} bytes stored",
        body.len(),
        gz.len(),
        blob.len()
    );
    assert!(
        blob.starts_with(&[0x1f, 0x8b]),
        "the chunk is not stored gzip"
    );
    assert!(blob.len() * 4 < body.len());
    let chunk = worker().get(
        &format!("/v1/projects/demo/sessions/{s}/chunks/0"),
        "demo-read",
    );
    assert_eq!(chunk.status, 200);
    assert_eq!(chunk.json()["seq"], 0);
    let merged = worker().get(
        &format!("/v1/projects/demo/sessions/{s}/events"),
        "demo-read",
    );
    assert_eq!(merged.status, 200);
    assert_eq!(merged.json().as_array().unwrap().len(), events.len());
}

/// Item 8: the merged events of one read are bounded by bytes (the isolate holds them), not
/// only by chunk count: five beacons of ~3.6 MB each make 18 MB, past the 16 MiB bound.
#[test]
fn an_events_read_past_its_byte_bound_is_refused() {
    let mut rng = support::XorShift(0x2222_0008);
    let words = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
        "juliet", "kilo", "lima", "mike", "november", "oscar", "papa",
    ];
    let mut text = || {
        let mut t = String::with_capacity(600_000);
        while t.len() < 590_000 {
            t.push_str(words[rng.below(words.len())]);
            t.push(' ');
        }
        t
    };
    let s = support::id("s");
    for seq in 0..5u64 {
        let mut events = vec![
            json!({"type": 4, "data": {"href": "https://shop.example/", "width": 1, "height": 1}, "timestamp": 1_700_000_000_000u64}),
        ];
        for i in 0..6u64 {
            events.push(json!({"type": 5, "data": {"tag": "bulk", "payload": {"words": text()}}, "timestamp": 1_700_000_000_001u64 + seq * 10 + i}));
        }
        let gz = support::gzip(&beacon(&s, "v_bigread01", seq, "web", &json!(events)));
        let r = worker().post(
            "/v1/ingest/demo?enc=gzip",
            &[("Origin", "http://localhost:8787")],
            &gz,
        );
        assert_eq!(
            r.status,
            202,
            "seq {seq} ({} bytes): {}",
            gz.len(),
            r.text()
        );
    }
    let r = worker().get(
        &format!("/v1/projects/demo/sessions/{s}/events"),
        "demo-read",
    );
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (413, "events_too_large")
    );
    // Each chunk is still readable on its own.
    let r = worker().get(
        &format!("/v1/projects/demo/sessions/{s}/chunks/4"),
        "demo-read",
    );
    assert_eq!(r.status, 200);
    assert_eq!(worker().get("/healthz", "").status, 200);
}

/// Item 11: `to=18446744073709551615` wrapped the list's day loop, which then ran until the
/// platform killed it (locally the worker wedged, `/healthz` too). Every range API refuses a
/// `to` past a day from now, at once.
#[test]
fn a_range_past_tomorrow_is_refused_and_the_worker_lives() {
    let huge = "18446744073709551615";
    for (path, token) in [
        (format!("/v1/projects/demo/sessions?to={huge}"), "demo-read"),
        (
            format!("/v1/projects/demo/sessions?from=0&to={huge}"),
            "demo-read",
        ),
        (format!("/v1/projects/demo/audit?to={huge}"), "demo-audit"),
        (
            format!("/v1/projects/demo/audit/report?to={huge}"),
            "demo-audit",
        ),
        (
            format!("/v1/projects/demo/audit/verify?to={huge}"),
            "demo-audit",
        ),
    ] {
        let auth = format!("Bearer {token}");
        let r = worker()
            .try_request("GET", &path, &[("Authorization", &auth)], None)
            .unwrap_or_else(|e| panic!("{path}: no answer ({e})"));
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (400, "invalid_range"),
            "{path}"
        );
    }
    assert_eq!(worker().get("/healthz", "").status, 200);
    // A range ending today still lists.
    let r = worker().get("/v1/projects/demo/sessions", "demo-read");
    assert_eq!(r.status, 200, "{}", r.text());
}
