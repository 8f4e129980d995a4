//! Erasure and retention holes (issue 22): a session belongs to the visitor who started it; a
//! visitor with more sessions than one request may erase is erased by a job; sessions past
//! retention are not listed; a verify range has one job.
//!
//! The visitor tests use the shared worker (their ids are unique); listing and verify seed
//! data through the faults build's test-only routes, on a worker of this module's own.

use crate::support::{self, beacon, id, worker, Worker};

use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use veilgate::audit_seed::SeedSpec;

const DAY: u64 = 86_400_000;
/// `erasure::STEP_SESSIONS`: sessions one request erases before a job takes over.
const STEP: usize = veilgate::erasure::STEP_SESSIONS as usize;

fn faults() -> &'static Worker {
    static W: OnceLock<Worker> = OnceLock::new();
    W.get_or_init(|| support::start_faults(&[]))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn events(marker: &str) -> Value {
    json!([{"type": 5, "data": {"tag": marker, "payload": {}}, "timestamp": 1_700_000_000_000u64}])
}

fn send(session: &str, visitor: &str, seq: u64, marker: &str) -> support::Reply {
    worker().post(
        "/v1/ingest/demo",
        &[("Origin", "http://localhost:8787")],
        &beacon(session, visitor, seq, "web", &events(marker)),
    )
}

fn delete_visitor(v: &str) -> support::Reply {
    worker().request(
        "DELETE",
        &format!("/v1/projects/demo/visitors/{v}"),
        &[("Authorization", "Bearer demo-read")],
        None,
    )
}

fn stored_text_contains(needle: &str) -> bool {
    worker()
        .r2_objects()
        .iter()
        .any(|(_, b)| String::from_utf8_lossy(b).contains(needle))
}

#[test]
fn another_visitors_beacon_is_refused_so_visitor_erasure_misses_nothing() {
    let (s, v1, v2) = (id("s"), id("v"), id("v"));
    let marker = format!("second-visitor-text-{}", id("m"));
    let r = send(&s, &v1, 0, "first-visitor-text");
    assert_eq!(r.status, 202, "{}", r.text());
    let r = send(&s, &v2, 1, &marker);
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(r.error_code(), "visitor_mismatch");
    assert!(
        !stored_text_contains(&marker),
        "the refused beacon was stored"
    );

    let r = delete_visitor(&v1);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["sessions_erased"], 1);
    let events = worker().get(
        &format!("/v1/projects/demo/sessions/{s}/events"),
        "demo-read",
    );
    assert_eq!(events.status, 404, "{}", events.text());
    let r = delete_visitor(&v2);
    assert_eq!(
        (r.status, r.json()["sessions_erased"].clone()),
        (200, json!(0))
    );
    // Once erased, the session id is free for a new session.
    assert_eq!(send(&s, &v2, 0, "new").status, 202);
    assert_eq!(delete_visitor(&v2).json()["sessions_erased"], 1);
}

#[test]
fn a_visitor_with_many_sessions_is_erased_by_a_job_in_bounded_steps() {
    let v = id("v");
    let marker = format!("many-sessions-{}", id("m"));
    let sessions: Vec<String> = (0..STEP + 7).map(|_| id("s")).collect();
    for s in &sessions {
        let r = send(s, &v, 0, &marker);
        assert_eq!(r.status, 202, "{}", r.text());
    }
    let r = delete_visitor(&v);
    assert_eq!(r.status, 202, "{}", r.text());
    let first = r.json();
    assert_eq!(first["status"], "running", "{first}");
    assert!(first["sessions_erased"].as_u64().unwrap() <= STEP as u64);
    let loc = r.header("Location").expect("Location").to_string();
    assert_eq!(loc, format!("/v1/projects/demo/visitors/{v}/erasure"));

    let t = Instant::now();
    let mut r = worker().get(&loc, "demo-read");
    while r.status == 202 {
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "erasure job never finished"
        );
        std::thread::sleep(Duration::from_millis(200));
        r = worker().get(&loc, "demo-read");
    }
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"visitor": v, "status": "done", "sessions_erased": sessions.len()})
    );
    for s in &sessions {
        let m = worker().get(&format!("/v1/projects/demo/sessions/{s}"), "demo-read");
        assert_eq!(m.status, 404, "{s}: {}", m.text());
    }
    assert!(!stored_text_contains(&marker), "recording content left");
    assert!(
        !worker().r2_keys().iter().any(|k| k.contains(v.as_str())),
        "a key still names the visitor"
    );
    // A visitor without a job: 404 for its progress.
    let none = worker().get(
        &format!("/v1/projects/demo/visitors/{}/erasure", id("v")),
        "demo-read",
    );
    assert_eq!(none.status, 404, "{}", none.text());
}

#[test]
fn sessions_past_retention_are_not_listed() {
    let w = faults();
    let now = now_ms();
    let day = |ago: u64| veilgate::storage::utc_day(now - ago * DAY);
    // demo keeps 30 days: its entries of 40 days ago are past retention (not yet swept).
    let (old, recent) = (id("s"), id("s"));
    let seed = json!({"project": "demo", "entries": [[day(40), old], [day(2), recent]]});
    let r = w.post(
        "/__test/seed-sessions",
        &[("Content-Type", "application/json")],
        seed.to_string().as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = w.get(
        &format!(
            "/v1/projects/demo/sessions?from={}&to={now}&limit=1000",
            now - 45 * DAY
        ),
        "demo-read",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let listed: Vec<String> = r.json()["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["session"].as_str().unwrap().to_string())
        .collect();
    assert!(listed.contains(&recent), "{listed:?}");
    assert!(!listed.contains(&old), "a session past retention is listed");
}

#[test]
fn a_second_verify_of_a_running_range_answers_the_same_job() {
    let w = faults();
    let start = now_ms() / DAY * DAY - 3 * DAY;
    let spec = SeedSpec {
        project: "test-scale-b".into(),
        sessions: 5_000,
        days: 1,
        start_ms: start,
        plant: false,
    };
    let mut skip = 0u64;
    loop {
        let body = json!({"spec": spec, "skip": skip, "take": 250}).to_string();
        let r = w.post(
            "/__test/seed-audit",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        skip = r.json()["next"].as_u64().unwrap();
        if skip == r.json()["total"].as_u64().unwrap() {
            break;
        }
    }
    let path = format!(
        "/v1/projects/test-scale-b/audit/verify?from={start}&to={}",
        start + DAY
    );
    let a = w.get(&path, "test-scale-b-audit");
    assert_eq!(a.status, 202, "{}", a.text());
    // The range is far over one request's budget, so the second request cannot finish it
    // either: it answers the range's job (the running one, or the next run of it).
    let b = w.get(&path, "test-scale-b-audit");
    assert_eq!(b.status, 202, "{}", b.text());
    let job = a.json()["job"].as_str().unwrap().to_string();
    assert_eq!(
        b.json()["job"],
        job.as_str(),
        "a second job for the same range"
    );
    assert_eq!(b.header("Location"), a.header("Location"));
    // Another range is another job.
    let c = w.get(
        &format!(
            "/v1/projects/test-scale-b/audit/verify?from={start}&to={}",
            start + DAY - 1
        ),
        "test-scale-b-audit",
    );
    assert_eq!(c.status, 202, "{}", c.text());
    assert_ne!(c.json()["job"], job.as_str());
    let loc = a.header("Location").unwrap().to_string();
    let t = Instant::now();
    let mut r = w.get(&loc, "test-scale-b-audit");
    while r.status == 202 {
        assert!(
            t.elapsed() < Duration::from_secs(300),
            "verify job never finished"
        );
        std::thread::sleep(Duration::from_millis(200));
        r = w.get(&loc, "test-scale-b-audit");
    }
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["ok"], true, "{}", r.text());
}
