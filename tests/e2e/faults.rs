//! Faults (R2 write, session object, restart) lose and double nothing; rate limits.
//! Runs the test-only build with fault injection (`tools/build.sh --faults`).

use crate::support;

use std::sync::OnceLock;

use crate::support::{beacon, id, Worker};
use serde_json::{json, Value};

const ORIGIN: (&str, &str) = ("Origin", "http://localhost:8787");

fn worker() -> &'static Worker {
    static W: OnceLock<Worker> = OnceLock::new();
    W.get_or_init(|| support::start_faults(&[]))
}

fn events(ts: u64) -> Value {
    json!([{"type": 5, "data": {"tag": "step", "payload": {"at": "x"}}, "timestamp": ts}])
}

fn post(w: &Worker, s: &str, v: &str, seq: u64, fault: Option<&str>) -> support::Reply {
    let mut headers = vec![ORIGIN];
    if let Some(f) = fault {
        headers.push(("X-Veilgate-Fault", f));
    }
    w.post(
        "/v1/ingest/demo",
        &headers,
        &beacon(s, v, seq, "web", &events(1_000 + seq)),
    )
}

fn chunk_keys(w: &Worker, s: &str) -> usize {
    w.r2_keys()
        .iter()
        .filter(|k| k.starts_with(&format!("sessions/demo/{s}/chunks/")))
        .count()
}

#[test]
fn failed_writes_answer_503_and_the_retry_stores_once() {
    let w = worker();
    for fault in ["r2_put", "after_r2_put", "do_unreachable"] {
        let (s, v) = (id("s"), id("v"));
        assert_eq!(post(w, &s, &v, 0, None).status, 202);
        let r = post(w, &s, &v, 1, Some(fault));
        assert_eq!(r.status, 503, "{fault}: {}", r.text());
        assert_eq!(r.error_code(), "storage_unavailable");
        assert!(r.header("Retry-After").is_some(), "{fault}: no Retry-After");
        // The session did not advance.
        let m = w
            .get(&format!("/v1/projects/demo/sessions/{s}"), "demo-read")
            .json();
        assert_eq!(m["seqs"], json!([0]), "{fault}");
        // The retry succeeds; nothing lost, nothing doubled.
        let r = post(w, &s, &v, 1, None);
        assert_eq!(
            (r.status, r.json()),
            (202, json!({"stored": true, "seq": 1})),
            "{fault}"
        );
        assert_eq!(post(w, &s, &v, 1, None).json()["stored"], true);
        let m = w
            .get(&format!("/v1/projects/demo/sessions/{s}"), "demo-read")
            .json();
        assert_eq!(
            (m["seqs"].clone(), m["chunks"].clone()),
            (json!([0, 1]), json!(2)),
            "{fault}"
        );
        assert_eq!(chunk_keys(w, &s), 2, "{fault}");
        let merged = w
            .get(
                &format!("/v1/projects/demo/sessions/{s}/events"),
                "demo-read",
            )
            .json();
        assert_eq!(merged.as_array().unwrap().len(), 2, "{fault}");
    }
}

#[test]
fn production_builds_ignore_the_fault_header() {
    // The shared worker of the other test binaries is the production build; start one here.
    let prod = support::start(&[]);
    let (s, v) = (id("s"), id("v"));
    let r = post(&prod, &s, &v, 0, Some("r2_put"));
    assert_eq!(r.status, 202, "{}", r.text());
}

fn masked_snapshot(ts: u64) -> Value {
    json!([{"type": 2, "timestamp": ts, "data": {"initialOffset": {"left": 0, "top": 0}, "node":
        {"type": 0, "id": 1, "childNodes": [
            {"type": 2, "id": 2, "tagName": "html", "attributes": {}, "childNodes": [
                {"type": 2, "id": 3, "tagName": "body", "attributes": {}, "childNodes": [
                    {"type": 2, "id": 4, "tagName": "div", "attributes": {"class": "rr-mask"}, "childNodes": [
                        {"type": 3, "id": 5, "textContent": "visible before"}]},
                    {"type": 2, "id": 6, "tagName": "p", "attributes": {}, "childNodes": [
                        {"type": 3, "id": 7, "textContent": "plain words"}]}]}]}]}}}])
}

#[test]
fn a_restart_between_chunks_keeps_session_and_masking_state() {
    let w = support::start_faults(&[]);
    let (s, v) = (id("s"), id("v"));
    let body = |seq: u64, ev: &Value| beacon(&s, &v, seq, "web", ev);
    assert_eq!(
        w.post(
            "/v1/ingest/demo",
            &[ORIGIN],
            &body(0, &masked_snapshot(1_000))
        )
        .status,
        202
    );
    assert_eq!(
        w.post("/v1/ingest/demo", &[ORIGIN], &body(1, &events(2_000)))
            .status,
        202
    );
    let w = w.restart();
    // After the restart: a text change inside the masked element, a retry of seq 1, seq 2.
    let mutation = json!([{"type": 3, "timestamp": 3_000, "data": {"source": 0, "adds": [], "removes": [],
        "attributes": [], "texts": [{"id": 5, "value": "SecretAfterRestart"}, {"id": 7, "value": "still plain"}]}}]);
    assert_eq!(
        w.post("/v1/ingest/demo", &[ORIGIN], &body(1, &events(2_000)))
            .json()["stored"],
        true
    );
    assert_eq!(
        w.post("/v1/ingest/demo", &[ORIGIN], &body(2, &mutation))
            .status,
        202
    );
    let m = w
        .get(&format!("/v1/projects/demo/sessions/{s}"), "demo-read")
        .json();
    assert_eq!(
        (m["seqs"].clone(), m["chunks"].clone()),
        (json!([0, 1, 2]), json!(3))
    );
    let c = w
        .get(
            &format!("/v1/projects/demo/sessions/{s}/chunks/2"),
            "demo-read",
        )
        .json();
    let texts = &c["events"][0]["data"]["texts"];
    assert_eq!(
        texts[0]["value"],
        "*".repeat("SecretAfterRestart".len()),
        "{c}"
    );
    assert_eq!(texts[1]["value"], "still plain", "{c}");
}

#[test]
fn over_the_rate_limit_is_429_with_retry_after() {
    let w = worker();
    let (v, mut accepted, mut limited) = (id("v"), 0, 0);
    // 5 per minute; twelve beacons cross at most one minute boundary: at most 10 pass.
    for seq in 0..12 {
        let r = w.post(
            "/v1/ingest/test-ratelimit",
            &[("Origin", "https://any.example")],
            &beacon(&id("s"), &v, seq, "web", &events(1)),
        );
        match r.status {
            202 => accepted += 1,
            429 => {
                limited += 1;
                assert_eq!(r.error_code(), "rate_limited");
                let secs: u32 = r.header("Retry-After").unwrap().parse().unwrap();
                assert!((1..=60).contains(&secs));
            }
            other => panic!("unexpected {other}: {}", r.text()),
        }
    }
    assert!(
        accepted <= 10 && limited >= 2,
        "accepted {accepted}, limited {limited}"
    );
}

#[test]
fn the_retention_sweep_erases_expired_sessions_and_audits_it() {
    // The sweep's clock runs 40 days ahead; `demo` keeps recordings 30 days.
    let w = support::start_faults(&[("FAULT_CLOCK_OFFSET_DAYS", "40")]);
    let v = id("v");
    let sessions = [id("s"), id("s")];
    for s in &sessions {
        assert_eq!(post(&w, s, &v, 0, None).status, 202);
    }
    // test-ratelimit keeps nothing of ours; demo-web has none: the sweep runs over all projects.
    let r = w.request("GET", "/__scheduled?cron=17+3+*+*+*", &[], None);
    assert_eq!(r.status, 200, "{}", r.text());
    support::wait_until(
        "the sweep to erase",
        std::time::Duration::from_secs(30),
        || {
            sessions.iter().all(|s| {
                w.get(&format!("/v1/projects/demo/sessions/{s}"), "demo-read")
                    .status
                    == 404
            })
        },
    );
    let keys = w.r2_keys();
    for s in &sessions {
        assert!(
            !keys
                .iter()
                .any(|k| k.contains(s.as_str()) && !k.starts_with("audit/")),
            "{s} left in R2: {keys:?}"
        );
    }
    let audit = w.get("/v1/projects/demo/audit", "demo-audit").text();
    let erasures = audit
        .lines()
        .filter(|l| l.contains("\"kind\":\"erasure\"") && l.contains("\"reason\":\"retention\""))
        .count();
    assert_eq!(erasures, 2, "{audit}");
    assert_eq!(
        w.get("/v1/projects/demo/audit/verify", "demo-audit").json()["ok"],
        true
    );
}
