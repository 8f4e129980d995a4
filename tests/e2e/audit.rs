//! The audit API on local workerd: the paged audit listing gives
//! every record of a range exactly once, and admin changes are found by any range that
//! contains them.

use std::collections::BTreeMap;

use crate::support::{beacon, id, worker, Reply};
use serde_json::{json, Value};

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn ingest(key: &str, session: &str) -> Reply {
    let events = json!([{"type": 4, "data": {"href": "http://localhost:8787/", "width": 800, "height": 600}, "timestamp": 1_700_000_000_000u64}]);
    worker().post(
        &format!("/v1/ingest/{key}"),
        &[
            ("Origin", "http://localhost:8787"),
            ("Content-Type", "application/json"),
        ],
        &beacon(session, &id("v"), 0, "web", &events),
    )
}

/// Every page of `path` (following `Link: rel="next"`), as (records, pages).
fn all_pages(mut path: String, token: &str) -> (Vec<Value>, usize) {
    let mut out = Vec::new();
    let mut pages = 0;
    loop {
        let r = worker().get(&path, token);
        assert_eq!(r.status, 200, "{}", r.text());
        pages += 1;
        out.extend(
            r.text()
                .lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap()),
        );
        match r.header("Link") {
            Some(l) => {
                let start = l.find('<').unwrap() + 1;
                let end = l.find('>').unwrap();
                assert!(l.ends_with("rel=\"next\""), "{l}");
                path = l[start..end].to_string();
            }
            None => return (out, pages),
        }
        assert!(pages < 1000, "paging does not end");
    }
}

#[test]
fn paged_listing_gives_every_record_of_the_range_once() {
    let from = now_ms();
    let sessions: Vec<String> = (0..23).map(|_| id("s")).collect();
    for s in &sessions {
        assert_eq!(ingest("demo", s).status, 202);
    }
    let to = now_ms() + 1;
    let (records, pages) = all_pages(
        format!("/v1/projects/demo/audit?from={from}&to={to}&limit=4"),
        "demo-audit",
    );
    assert!(pages >= 6, "{pages} pages");
    let mut seen: BTreeMap<(String, u64), usize> = BTreeMap::new();
    for r in &records {
        let at = r["at"].as_u64().unwrap();
        assert!(at >= from && at < to, "{r}");
        *seen
            .entry((
                r["session"].as_str().unwrap().to_string(),
                r["seq"].as_u64().unwrap(),
            ))
            .or_default() += 1;
    }
    assert!(
        seen.values().all(|n| *n == 1),
        "a record on two pages: {seen:?}"
    );
    for s in &sessions {
        assert_eq!(seen.get(&(s.clone(), 0)), Some(&1), "{s} missing");
    }
    // The same range in one page holds the same records.
    let one = worker().get(
        &format!("/v1/projects/demo/audit?from={from}&to={to}&limit=1000"),
        "demo-audit",
    );
    assert_eq!(one.header("Link"), None);
    assert_eq!(one.text().lines().count(), records.len());

    // Bad paging parameters are clear errors.
    for (q, code) in [
        ("limit=0", "invalid_limit"),
        ("limit=1001", "invalid_limit"),
        ("limit=x", "invalid_limit"),
        ("cursor=nope", "invalid_cursor"),
        ("cursor=2026-11-01.7.0.0", "invalid_cursor"),
    ] {
        let r = worker().get(&format!("/v1/projects/demo/audit?{q}"), "demo-audit");
        assert_eq!((r.status, r.error_code()), (400, code.to_string()), "{q}");
    }
    let r = worker().get("/v1/projects/demo/audit/verify/0123", "demo-audit");
    assert_eq!(r.status, 404);
    let r = worker().get(
        "/v1/projects/demo/audit/verify/0123456789abcdef0123456789abcdef",
        "demo-audit",
    );
    assert_eq!(
        (r.status, r.error_code()),
        (404, "not_found".to_string()),
        "{}",
        r.text()
    );
    let v = worker()
        .get("/v1/projects/demo/audit/verify", "demo-audit")
        .json();
    assert_eq!(v["ok"], true, "{v}");
}

const ADMIN: &str = "dev-admin";

fn admin(method: &str, path: &str, body: Option<&Value>) -> Reply {
    let auth = format!("Bearer {ADMIN}");
    let text = body.map(|b| b.to_string());
    worker().request(
        method,
        path,
        &[
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/json"),
        ],
        text.as_deref().map(str::as_bytes),
    )
}

#[test]
fn admin_changes_are_listed_by_any_range_that_contains_them() {
    let key = id("audit").replace('_', "-");
    let t0 = now_ms();
    let config = json!({
        "name": "Audit e2e", "type": "web", "allowed_origins": ["http://localhost:*"],
        "consent": {"mode": "none", "version": "v1"}, "retention_days": 30,
    });
    let r = admin("PUT", &format!("/v1/admin/projects/{key}"), Some(&config));
    assert_eq!(r.status, 201, "{}", r.text());
    let r = admin(
        "POST",
        &format!("/v1/admin/projects/{key}/tokens/audit"),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let token = r.json()["token"].as_str().unwrap().to_string();
    let t1 = now_ms() + 1;
    // A range of only the second change, and one that starts after both.
    let admin_records = |from: u64, to: u64| -> Vec<Value> {
        let (recs, _) = all_pages(
            format!("/v1/projects/{key}/audit?from={from}&to={to}&limit=1"),
            &token,
        );
        recs.into_iter().filter(|r| r["kind"] == "admin").collect()
    };
    let both = admin_records(t0, t1);
    assert_eq!(both.len(), 2, "{both:?}");
    assert_eq!(both[0]["reason"], "create");
    assert_eq!(both[1]["reason"], "rotate_audit_token");
    let second_at = both[1]["at"].as_u64().unwrap();
    let only = admin_records(second_at, t1);
    assert_eq!(only.len(), 1, "{only:?}");
    assert!(admin_records(t1, t1 + 60_000).is_empty());
    // Counted in the report, and the project's audit verifies.
    let report = worker()
        .get(&format!("/v1/projects/{key}/audit/report"), &token)
        .json();
    assert_eq!(report["days"][0]["other"]["admin"], 2, "{report}");
    let v = worker()
        .get(&format!("/v1/projects/{key}/audit/verify"), &token)
        .json();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["records"], 2, "{v}");
}
