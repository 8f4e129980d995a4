//! The audit at volume, end to end on `wrangler dev` (the
//! `faults` build, whose test-only route seeds log segments straight into R2). Two projects,
//! three days: every page of the listing, the report, and verify (a job on alarms for the
//! larger project, with one planted edit, deletion and reordering, each named), with every
//! request's subrequests counted (`X-Veilgate-Subrequests`) and kept ≤ 1,000.
//!
//! `AUDIT_SCALE_RECORDS` sets the larger project's records (default 16,000, plus 10,000 in
//! the other: 26,000 in `make test`); `make bench` runs it with 100,000.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::support::{Reply, Worker};
use serde_json::{json, Value};
use veilgate::audit::daily_report;
use veilgate::audit_seed::{self, SeedSpec};

const DAY: u64 = 86_400_000;
const LIMIT: u32 = 1_000;

fn subrequests(r: &Reply) -> u32 {
    r.header("X-Veilgate-Subrequests")
        .and_then(|v| v.parse().ok())
        .expect("the faults build counts subrequests")
}

struct Run {
    max_subrequests: u32,
    requests: u32,
}

impl Run {
    fn get(&mut self, w: &Worker, path: &str, token: &str) -> Reply {
        let r = w.get(path, token);
        let n = subrequests(&r);
        assert!(n <= 1_000, "{path}: {n} subrequests");
        self.max_subrequests = self.max_subrequests.max(n);
        self.requests += 1;
        r
    }
}

fn seed(w: &Worker, spec: &SeedSpec) -> Value {
    let mut skip = 0u64;
    loop {
        let body = json!({"spec": spec, "skip": skip, "take": 250}).to_string();
        let r = w.post(
            "/__test/seed-audit",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        skip = v["next"].as_u64().unwrap();
        if skip == v["total"].as_u64().unwrap() {
            return v;
        }
    }
}

fn today_start() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    now / DAY * DAY
}

fn list_all(
    run: &mut Run,
    w: &Worker,
    key: &str,
    token: &str,
    from: u64,
    to: u64,
) -> (Vec<Value>, u32) {
    let mut path = format!("/v1/projects/{key}/audit?from={from}&to={to}&limit={LIMIT}");
    let mut out = Vec::new();
    let mut pages = 0;
    loop {
        let r = run.get(w, &path, token);
        assert_eq!(r.status, 200, "{}", r.text());
        pages += 1;
        out.extend(
            r.text()
                .lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap()),
        );
        let Some(link) = r.header("Link") else {
            return (out, pages);
        };
        path = link[link.find('<').unwrap() + 1..link.find('>').unwrap()].to_string();
        assert!(pages < 10_000);
    }
}

#[test]
fn the_audit_at_volume_lists_reports_and_verifies_within_the_limits() {
    let big: u64 = std::env::var("AUDIT_SCALE_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16_000);
    let w = support::start_faults(&[]);
    let start = today_start() - 5 * DAY;
    let specs = [
        (
            "test-scale-a",
            SeedSpec {
                project: "test-scale-a".into(),
                sessions: big / 3,
                days: 3,
                start_ms: start,
                plant: true,
            },
        ),
        (
            "test-scale-b",
            SeedSpec {
                project: "test-scale-b".into(),
                sessions: 10_000 / 3 + 1,
                days: 3,
                start_ms: start,
                plant: false,
            },
        ),
    ];
    let mut run = Run {
        max_subrequests: 0,
        requests: 0,
    };
    let (from, to) = (start, start + 3 * DAY);
    let mut total = 0;
    for (key, spec) in &specs {
        let t = Instant::now();
        let seeded = seed(&w, spec);
        let token = format!("{key}-audit");
        let expected = audit_seed::records(spec);
        let planted: audit_seed::Planted =
            serde_json::from_value(seeded["planted"].clone()).unwrap();
        let deleted = planted.deleted.as_ref().map(|(s, _, _)| (s.clone(), 1u64));
        total += expected.len();
        eprintln!(
            "{key}: seeded {} records in {} objects in {:?}",
            expected.len(),
            seeded["total"],
            t.elapsed()
        );

        // Every record exactly once across the pages (but the planted deletion).
        let t = Instant::now();
        let (listed, pages) = list_all(&mut run, &w, key, &token, from, to);
        eprintln!(
            "{key}: listed {} records in {pages} pages in {:?}",
            listed.len(),
            t.elapsed()
        );
        let mut seen: BTreeMap<(String, u64), u32> = BTreeMap::new();
        for r in &listed {
            *seen
                .entry((
                    r["session"].as_str().unwrap().into(),
                    r["seq"].as_u64().unwrap(),
                ))
                .or_default() += 1;
        }
        assert!(seen.values().all(|n| *n == 1), "a record listed twice");
        let want: BTreeSet<(String, u64)> = expected
            .iter()
            .map(|r| (r.session.clone(), r.seq))
            .filter(|id| Some(id) != deleted.as_ref())
            .collect();
        assert_eq!(seen.keys().cloned().collect::<BTreeSet<_>>(), want);
        assert!(pages as usize >= expected.len() / LIMIT as usize);

        // The report (from rollups) counts what was decided.
        let r = run.get(
            &w,
            &format!("/v1/projects/{key}/audit/report?from={from}&to={to}"),
            &token,
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let report: Value = r.json();
        let want = serde_json::to_value(daily_report(&expected)).unwrap();
        assert_eq!(report, want);
        assert_eq!(report["days"].as_array().unwrap().len(), 3);
        eprintln!("{key}: report of 3 days: {} subrequests", subrequests(&r));
        let one = run.get(
            &w,
            &format!(
                "/v1/projects/{key}/audit/report?from={from}&to={}",
                from + DAY
            ),
            &token,
        );
        assert_eq!(one.json()["days"], json!([want["days"][0]]));
        eprintln!("{key}: report of 1 day: {} subrequests", subrequests(&one));

        // Verify: the larger project runs as a job, polled until done.
        let t = Instant::now();
        let mut r = run.get(
            &w,
            &format!("/v1/projects/{key}/audit/verify?from={from}&to={to}"),
            &token,
        );
        let mut polls = 0;
        let mut verify_subrequests = subrequests(&r);
        if spec.plant {
            assert_eq!(r.status, 202, "{}", r.text());
        }
        if r.status == 202 {
            let loc = r.header("Location").expect("Location").to_string();
            assert!(
                loc.starts_with(&format!("/v1/projects/{key}/audit/verify/")),
                "{loc}"
            );
            while r.status == 202 {
                std::thread::sleep(Duration::from_millis(200));
                r = run.get(&w, &loc, &token);
                verify_subrequests += subrequests(&r);
                polls += 1;
                assert!(
                    t.elapsed() < Duration::from_secs(1_800),
                    "verify job never finished"
                );
            }
        }
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        eprintln!(
            "{key}: verify of {} records ({} segments) in {:?}, {polls} polls, \
             {verify_subrequests} subrequests over its requests",
            v["records"],
            v["segments"],
            t.elapsed()
        );
        let broken: Vec<(String, String)> = v["broken"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                (
                    b["chain"].as_str().unwrap().into(),
                    b["key"].as_str().unwrap().into(),
                )
            })
            .collect();
        if spec.plant {
            assert_eq!(v["ok"], false);
            for (what, p) in [
                ("tampered", &planted.tampered),
                ("deleted", &planted.deleted),
                ("reordered", &planted.reordered),
            ] {
                let (s, _, k) = p.clone().unwrap_or_else(|| panic!("nothing {what}"));
                assert!(
                    broken.contains(&(s.clone(), k.clone())),
                    "{what} {s} in {k} not named: {v}"
                );
            }
            let problem = |s: &str| -> Vec<String> {
                v["broken"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|b| b["chain"] == s)
                    .map(|b| b["problem"].as_str().unwrap().to_string())
                    .collect()
            };
            assert_eq!(
                problem(&planted.tampered.as_ref().unwrap().0),
                ["hash_mismatch"]
            );
            assert!(problem(&planted.deleted.as_ref().unwrap().0).contains(&"gap".to_string()));
            assert!(problem(&planted.reordered.as_ref().unwrap().0).contains(&"gap".to_string()));
            assert_eq!(v["records"], expected.len() as u64 - 1);
        } else {
            assert_eq!(v["ok"], true, "{v}");
            assert_eq!(v["records"], expected.len() as u64);
        }
    }
    // What writing one audit record costs: a beacon refused by the opt-out cookie (one
    // decision record, nothing stored), counted the same way.
    let r = w.post(
        "/v1/ingest/test-scale-b",
        &[
            ("Origin", "https://any.example"),
            ("Cookie", "veilgate_optout=1"),
            ("Content-Type", "text/plain"),
        ],
        &support::beacon(&support::id("s"), &support::id("v"), 0, "web", &json!([{"type": 4, "data": {"href": "https://any.example/", "width": 800, "height": 600}, "timestamp": 1_700_000_000_000u64}])),
    );
    assert_eq!(r.status, 202, "{}", r.text());
    assert_eq!(r.json()["stored"], false);
    eprintln!(
        "audit scale: a dropped beacon (one audit record written): {} subrequests",
        subrequests(&r)
    );
    assert!(
        total >= 20_000 || std::env::var("AUDIT_SCALE_RECORDS").is_ok(),
        "{total}"
    );
    eprintln!(
        "audit scale: {total} records, {} requests, at most {} subrequests in one",
        run.requests, run.max_subrequests
    );
}
