//! The viewer (`/viewer/`) end to end: real headless Chromium (tools/viewer/e2e.mjs) against a
//! real worker (`wrangler dev`) with a seeded session and audit records; what the page showed
//! is checked against the read and audit APIs.

mod common;

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use common::{id, Worker};
use serde_json::{json, Value};

const LOCAL: (&str, &str) = ("Origin", "http://localhost:8787");

/// Values typed into the recorded signup form (tests/fixtures/planted.json); the server masks
/// them, so the viewer's DOM must never contain them.
const PLANTED: &[&str] = &["Jane Plantedsson", "Pl4nted!Secret#2024", "+1 415 555 0142"];

fn browser(w: &Worker, session: &str, mode: &str) -> Value {
    let art = common::root().join("target/e2e-viewer");
    let planted = serde_json::to_string(PLANTED).unwrap();
    let art = art.to_string_lossy();
    common::browser_script(
        mode,
        "tools/viewer/e2e.mjs",
        &[
            &w.base,
            "demo",
            "demo-read",
            "demo-audit",
            session,
            &art,
            &planted,
        ],
        &[("VIEWER_MODE", mode)],
    )
}

fn seed(w: &Worker) -> String {
    let path = common::root().join("tests/fixtures/rrweb/signup.default.json");
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut events = fixture["events"].as_array().unwrap().clone();
    // The fixture was recorded long ago; move it to now so it falls in the viewer's range.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let shift = now - 60_000 - events[0]["timestamp"].as_u64().unwrap();
    for e in &mut events {
        e["timestamp"] = json!(e["timestamp"].as_u64().unwrap() + shift);
    }
    let raw = serde_json::to_string(&events).unwrap();
    for p in PLANTED {
        assert!(raw.contains(p), "the fixture carries the planted {p:?}");
    }
    let (s, v) = (id("s"), id("v"));
    let half = events.len() / 2;
    for (seq, chunk) in [&events[..half], &events[half..]].iter().enumerate() {
        let body = common::beacon(&s, &v, seq as u64, "web", &Value::Array(chunk.to_vec()));
        let r = w.post("/v1/ingest/demo", &[LOCAL], &body);
        assert_eq!(r.status, 202, "{}", r.text());
        assert_eq!(r.json()["stored"], true);
    }
    // Two dropped decisions (Global Privacy Control) for a second reason in the chart.
    for _ in 0..2 {
        let body = common::beacon(
            &id("s"),
            &id("v"),
            0,
            "web",
            &Value::Array(events[..3].to_vec()),
        );
        let r = w.post("/v1/ingest/demo", &[LOCAL, ("Sec-GPC", "1")], &body);
        assert_eq!((r.status, r.json()["stored"].clone()), (202, json!(false)));
    }
    s
}

#[test]
fn viewer_lists_replays_masked_and_charts_the_audit_report() {
    let w = common::start(&[]);
    let session = seed(&w);
    let art = common::root().join("target/e2e-viewer");
    let r = browser(&w, &session, "full");

    // Served with the strict CSP; nothing but the worker was asked; no console error.
    let csp = r["csp"].as_str().unwrap_or_default();
    for d in [
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "default-src 'none'",
    ] {
        assert!(csp.contains(d), "CSP lacks {d}: {csp}");
    }
    assert_eq!(r["foreign_requests"], json!([]), "{r}");
    assert_eq!(r["page_errors"], json!([]), "{r}");
    assert_eq!(
        r["console_errors_before_wrong"], 0,
        "{}",
        r["console_errors"]
    );

    // Read token: the session is listed; its replay rendered in a sandbox without scripts,
    // the screenshot is not blank, and no planted value reached the DOM.
    assert!(
        r["listed"].as_array().unwrap().contains(&json!(session)),
        "{r}"
    );
    let sandbox = r["iframe_sandbox"].as_str().unwrap_or_default();
    assert!(
        !sandbox.contains("allow-scripts"),
        "replay iframe sandbox: {sandbox}"
    );
    assert!(
        r["iframe_sandbox"].is_string(),
        "the replay iframe is sandboxed"
    );
    assert!(
        r["player_colors"].as_u64().unwrap() > 50,
        "blank replay: {r}"
    );
    assert!(art.join("replay.png").exists());
    assert_eq!(
        r["planted_found"],
        json!([]),
        "unmasked values in the viewer"
    );

    // The token only ever in sessionStorage and headers, cleared by "forget".
    assert_eq!(r["token_in_url"], json!([]), "{r}");
    assert_eq!(r["session_storage_has_token"], true);
    assert_eq!(r["after_forget"], "[]");
    for k in ["local_storage", "local_storage_end"] {
        assert_eq!(r[k], "[]", "{k}");
    }

    // Audit token: each bar's total and each segment equal the report for the same range.
    let report_req = r["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .find(|u| u.contains("/audit/report?"))
        .expect("the page asked for the report");
    let query = report_req.split_once('?').unwrap().1;
    let report = w.get(
        &format!("/v1/projects/demo/audit/report?{query}"),
        "demo-audit",
    );
    assert_eq!(report.status, 200);
    let mut want = BTreeMap::new();
    let mut want_series = BTreeMap::new();
    for d in report.json()["days"].as_array().unwrap() {
        let day = d["day"].as_str().unwrap().to_string();
        want.insert(
            day.clone(),
            d["stored"].as_u64().unwrap() + d["dropped"].as_u64().unwrap(),
        );
        for (reason, c) in d["reasons"].as_object().unwrap() {
            for o in ["stored", "dropped"] {
                let n = c[o].as_u64().unwrap();
                if n > 0 {
                    want_series.insert((day.clone(), format!("{o}: {reason}")), n);
                }
            }
        }
    }
    let mut got = BTreeMap::new();
    let mut got_series = BTreeMap::new();
    for b in r["bars"].as_array().unwrap() {
        let day = b["day"].as_str().unwrap().to_string();
        got.insert(day.clone(), b["total"].as_u64().unwrap());
        for (s, n) in b["series"].as_object().unwrap() {
            got_series.insert((day.clone(), s.clone()), n.as_u64().unwrap());
        }
    }
    assert_eq!(got, want);
    assert_eq!(got_series, want_series);
    assert!(
        want.values().sum::<u64>() >= 3,
        "a stored session and 2 drops: {want:?}"
    );
    assert!(
        want_series.keys().any(|(_, s)| s == "dropped: gpc"),
        "{want_series:?}"
    );
    assert!(
        r["verify_text"].as_str().unwrap().starts_with("Verified"),
        "{r}"
    );
    // The download holds every record of the range (the decisions charted, at least).
    assert!(
        r["ndjson_lines"].as_u64().unwrap() >= want.values().sum::<u64>(),
        "{r}"
    );

    // A wrong token: a clear message after one request, no retry loop.
    assert!(
        r["wrong_token_message"]
            .as_str()
            .unwrap()
            .contains("not a valid read token"),
        "{r}"
    );
    assert_eq!(r["wrong_token_requests"], 1, "{r}");

    // An attacker with bucket access edits one stored decision: the viewer names the chain.
    let blob = w
        .r2_objects()
        .into_iter()
        .find(|(path, b)| {
            path.contains("/blobs/")
                && String::from_utf8_lossy(b).contains("\"decision\":\"dropped\"")
        })
        .expect("a dropped decision in local R2");
    let edited = String::from_utf8(blob.1)
        .unwrap()
        // Same length: local R2 keeps the object size in its metadata.
        .replacen("\"decision\":\"dropped\"", "\"decision\":\"stored\" ", 1);
    std::fs::write(&blob.0, edited).unwrap();
    let v = browser(&w, &session, "verify");
    assert!(
        v["verify_text"]
            .as_str()
            .unwrap()
            .starts_with("Broken: 1 chain"),
        "{v}"
    );
    let broken = v["broken"].as_array().unwrap();
    assert_eq!(broken.len(), 1, "{v}");
    assert!(
        broken[0].as_str().unwrap().contains("first broken record"),
        "{v}"
    );
}
