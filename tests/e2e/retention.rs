//! Retention at volume, end to end on `wrangler dev` with the faults build: thousands
//! of expired sessions over four projects (one with its own retention, one whose config does
//! not parse, one removed from KV) are all erased by the sweeper's alarm runs, each audited
//! with reason `retention`; nothing unexpired is touched; one erase that fails once is retried;
//! no run passes the subrequest budget.
//!
//! Sessions are seeded as their day-index entries (the object the sweep finds them by) through
//! the faults build's test-only route; `e2e_faults::the_retention_sweep_…` checks the same sweep
//! on sessions made by real beacons deletes all of their objects.
//!
//! N: `VEILGATE_RETENTION_N` (default 5,000; `make bench` runs 20,000).

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

const DAY_MS: u64 = 86_400_000;

/// A seeded project: key, config to put in KV, its share (%) of the expired sessions, the days
/// its expired sessions start on, and the days of its retained ones.
type Seeded<'a> = (&'a str, Option<&'a str>, usize, Vec<String>, Vec<String>);

fn day(ms: u64) -> String {
    veilgate::storage::utc_day(ms)
}

/// Every audit record stored in local R2 (whatever objects hold them): JSON objects, one per
/// line, that have a `kind`.
fn audit_records(state: &std::path::Path) -> Vec<Value> {
    let mut out = Vec::new();
    let mut stack = vec![state.join("v3/r2")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let Ok(bytes) = std::fs::read(&p) else {
                continue;
            };
            if !bytes.windows(9).any(|w| w == b"\"erasure\"") {
                continue;
            }
            for line in String::from_utf8_lossy(&bytes).lines() {
                if let Ok(v) = serde_json::from_str::<Value>(line) {
                    if v.get("kind").is_some() {
                        out.push(v);
                    }
                }
            }
        }
    }
    out
}

#[test]
fn every_expired_session_of_every_project_is_erased_in_bounded_runs() {
    let n: usize = std::env::var("VEILGATE_RETENTION_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let ago = |days: u64| day(now - days * DAY_MS);

    // demo keeps 30 days (its real config); rt-long 90 (seeded); rt-broken's config does not
    // parse and rt-gone has none: both get the default 30.
    let projects: [Seeded; 4] = [
        (
            "demo",
            None,
            40,
            vec![ago(31), ago(45), ago(200)],
            vec![ago(28), ago(1)],
        ),
        (
            "rt-long",
            Some(r#"{"name":"Long","type":"web","retention_days":90}"#),
            25,
            vec![ago(92), ago(300)],
            vec![ago(60), ago(88)],
        ),
        (
            "rt-broken",
            Some("{\"name\": \"Broken\", \"type\":"),
            25,
            vec![ago(33), ago(50)],
            vec![ago(20)],
        ),
        ("rt-gone", None, 10, vec![ago(40)], vec![ago(5)]),
    ];
    let fail_once = "s_failonce_0001".to_string();
    let w = support::start_faults(&[("FAULT_RETENTION_FAIL_ONCE", &fail_once)]);

    let mut expired: BTreeSet<(String, String)> = BTreeSet::new();
    let mut retained: BTreeSet<String> = BTreeSet::new();
    let t_seed = Instant::now();
    for (pi, (project, config, share, old_days, keep_days)) in projects.iter().enumerate() {
        let count = n * share / 100;
        let mut entries: Vec<(String, String)> = (0..count)
            .map(|i| {
                let session = if pi == 0 && i == 0 {
                    fail_once.clone()
                } else {
                    format!("s_rt{pi}_{i:07}")
                };
                (old_days[i % old_days.len()].clone(), session)
            })
            .collect();
        for (i, d) in keep_days.iter().enumerate() {
            for j in 0..25 {
                entries.push((d.clone(), format!("s_keep{pi}_{i}_{j:03}")));
            }
        }
        for (d, s) in &entries {
            let key = format!("index/{project}/days/{d}/{s}");
            if keep_days.contains(d) {
                retained.insert(key);
            } else {
                expired.insert((project.to_string(), s.clone()));
            }
        }
        for (i, batch) in entries.chunks(500).enumerate() {
            let mut body = json!({"project": project, "entries": batch});
            if i == 0 {
                if let Some(c) = config {
                    body["config"] = json!(c);
                }
            }
            let r = w.post("/__test/seed-sessions", &[], body.to_string().as_bytes());
            assert_eq!(r.status, 200, "{}", r.text());
        }
    }
    let expired_total = expired.len();
    assert!(expired_total >= n - 4, "{expired_total}");
    eprintln!(
        "seeded {expired_total} expired + {} retained sessions in {:.1}s",
        retained.len(),
        t_seed.elapsed().as_secs_f64()
    );
    // The broken project really is unreadable: it answers 503, and is swept all the same.
    assert_eq!(
        w.get("/v1/projects/rt-broken/sessions", "x").status,
        503,
        "rt-broken's config should not parse"
    );

    let t_sweep = Instant::now();
    let r = w.request("GET", "/__scheduled?cron=17+3+*+*+*", &[], None);
    assert_eq!(r.status, 200, "{}", r.text());
    let mut status = Value::Null;
    support::wait_until(
        "the sweep to finish with no retry pending",
        // Local R2 erases ~10 sessions a second whatever the concurrency: a fixed bound would
        // fail the bench's 20,000 on time alone. 900 s stays the floor (5,000 take ~250-400 s).
        Duration::from_secs(900.max(n as u64 / 4)),
        || {
            // The sweeper answers between its runs; a run in progress can hold the call.
            let Ok(r) = w.try_request("GET", "/__test/retention", &[], None) else {
                return false;
            };
            if r.status != 200 {
                return false;
            }
            status = r.json();
            status["active"] == false && status["pending_retries"] == 0
        },
    );
    let secs = t_sweep.elapsed().as_secs_f64();
    let stats = &status["stats"];
    eprintln!("sweep of {expired_total}: {secs:.1}s, status {status}");
    for line in w
        .log_text()
        .lines()
        .filter(|l| l.contains("retention") && !l.contains("/__test/"))
    {
        eprintln!("log: {line}");
    }

    let keys: BTreeSet<String> = w.r2_keys().into_iter().collect();
    let left: Vec<&String> = keys
        .iter()
        .filter(|k| k.starts_with("index/") && !retained.contains(*k))
        .collect();
    assert!(
        left.is_empty(),
        "{} expired entries left, e.g. {:?}",
        left.len(),
        &left[..left.len().min(5)]
    );
    let missing: Vec<&String> = retained.iter().filter(|k| !keys.contains(*k)).collect();
    assert!(missing.is_empty(), "retained sessions touched: {missing:?}");

    // Each erasure audited once, with reason `retention`; nothing retained was audited.
    let mut audited: BTreeMap<(String, String), usize> = BTreeMap::new();
    for r in audit_records(&w.state) {
        if r["kind"] == "erasure" && r["reason"] == "retention" {
            let k = (
                r["project"].as_str().unwrap_or("").to_string(),
                r["session"].as_str().unwrap_or("").to_string(),
            );
            *audited.entry(k).or_default() += 1;
        }
    }
    let unaudited: Vec<_> = expired
        .iter()
        .filter(|k| !audited.contains_key(*k))
        .take(5)
        .collect();
    assert!(
        unaudited.is_empty(),
        "not audited: {unaudited:?} ({} audited)",
        audited.len()
    );
    let twice: Vec<_> = audited.iter().filter(|(_, c)| **c != 1).take(5).collect();
    assert!(twice.is_empty(), "audited more than once: {twice:?}");
    assert_eq!(
        audited.len(),
        expired_total,
        "an erasure audited that was not expired"
    );

    assert_eq!(stats["erased"], expired_total as u64, "{status}");
    assert_eq!(
        stats["failed_attempts"], 1,
        "the injected failure: {status}"
    );
    assert_eq!(stats["retried_ok"], 1, "its retry: {status}");
    let runs = stats["runs"].as_u64().unwrap();
    assert!(runs > 1, "more than one run's worth: {status}");
    let max_sub = stats["max_run_subrequests"].as_u64().unwrap();
    assert!(max_sub <= 1_000, "a run made {max_sub} subrequests");
    eprintln!(
        "FIGURES retention n={expired_total} runs={runs} max_erased_per_run={} mean_erased_per_run={:.0} \
         max_subrequests_per_run={max_sub} sweep_secs={secs:.1}",
        stats["max_run_erased"],
        expired_total as f64 / runs as f64
    );
}
