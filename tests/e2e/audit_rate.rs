//! A flood of fresh sessions against the audit log (issue 22, item 9): every new session's
//! first beacon is audited, so the log objects' append path bounds a project's new-session
//! rate. This sends fresh sessions' first beacons, consent-dropped (`Sec-GPC: 1`: the audit
//! record is all they cost), several at a time, checks that each was answered 202 and that
//! the audit lists each one exactly once, and prints the wall time for the before/after
//! figure in the report. No timed assertion: the machine is shared.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use crate::support::{beacon, id, worker};
use serde_json::{json, Value};

const SESSIONS: usize = 200;
const THREADS: usize = 16;

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[test]
fn a_flood_of_fresh_sessions_is_answered_and_every_first_beacon_audited_once() {
    let w = worker();
    let from = now_ms();
    let sessions: Vec<String> = (0..SESSIONS).map(|_| id("s")).collect();
    let events = json!([{"type": 4, "data": {"href": "http://localhost:8787/", "width": 800, "height": 600}, "timestamp": 1_700_000_000_000u64}]);
    let bodies: Vec<Vec<u8>> = sessions
        .iter()
        .map(|s| beacon(s, &id("v"), 0, "web", &events))
        .collect();
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::<String>::new());
    let slowest = Mutex::new(0f64);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else { break };
                let sent = Instant::now();
                let r = w.post(
                    "/v1/ingest/demo",
                    &[
                        ("Origin", "http://localhost:8787"),
                        ("Content-Type", "application/json"),
                        ("Sec-GPC", "1"),
                    ],
                    body,
                );
                let took = sent.elapsed().as_secs_f64();
                let mut max = slowest.lock().unwrap();
                *max = max.max(took);
                drop(max);
                if r.status != 202 || r.json()["stored"] != false {
                    failures.lock().unwrap().push(format!(
                        "{}: {} {}",
                        sessions[i],
                        r.status,
                        r.text()
                    ));
                }
            });
        }
    });
    let elapsed = started.elapsed();
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{failures:?}");
    eprintln!(
        "audit_rate: {SESSIONS} fresh sessions' first beacons, {THREADS} at a time: {:.2} s ({:.0}/s), slowest {:.2} s",
        elapsed.as_secs_f64(),
        SESSIONS as f64 / elapsed.as_secs_f64(),
        slowest.into_inner().unwrap()
    );

    // Read right after the flood: the audit API answers what the logs hold, buffered or not.
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut path = format!("/v1/projects/demo/audit?from={from}&to={}", now_ms() + 1);
    for _ in 0..100 {
        let r = w.get(&path, "demo-audit");
        assert_eq!(r.status, 200, "{}", r.text());
        for l in r.text().lines() {
            let v: Value = serde_json::from_str(l).unwrap();
            if v["seq"] == 0 {
                *seen
                    .entry(v["session"].as_str().unwrap().to_string())
                    .or_default() += 1;
            }
        }
        match r.header("Link") {
            Some(l) => path = l[l.find('<').unwrap() + 1..l.find('>').unwrap()].to_string(),
            None => break,
        }
    }
    for s in &sessions {
        assert_eq!(seen.get(s), Some(&1), "{s} audited {:?} times", seen.get(s));
    }
    let v = w.get(
        &format!("/v1/projects/demo/audit/verify?from={from}"),
        "demo-audit",
    );
    assert_eq!(v.status, 200, "{}", v.text());
    assert_eq!(v.json()["ok"], true, "{}", v.text());
}
