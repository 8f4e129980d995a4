//! The browser SDK end to end: real headless Chromium (tools/sdk/e2e.mjs) loads the demo shop
//! pages with the loader served by a real worker (`wrangler dev`), and what the browser did is
//! checked against the worker's read API and its local storage.

mod common;

use std::process::Command;
use std::sync::OnceLock;

use common::Worker;
use serde_json::Value;

/// One worker for this binary with the production session timeouts, so a slow browser step
/// never splits a journey into segments.
fn w() -> &'static Worker {
    static W: OnceLock<Worker> = OnceLock::new();
    W.get_or_init(|| common::start(&[]))
}

fn browser(scenario: &str) -> Value {
    common::browser_script(scenario, "tools/sdk/e2e.mjs", &[&w().base, scenario], &[])
}

/// The session has exactly chunks 0..next_seq: nothing lost, nothing doubled, no gap.
fn assert_contiguous(key: &str, session: &str, next_seq: u64) -> Value {
    let m = w().get(
        &format!("/v1/projects/{key}/sessions/{session}"),
        "demo-read",
    );
    assert_eq!(m.status, 200, "{}", m.text());
    let m = m.json();
    assert_eq!(m["chunks"], next_seq, "{m}");
    for seq in 0..next_seq {
        let c = w().get(
            &format!("/v1/projects/{key}/sessions/{session}/chunks/{seq}"),
            "demo-read",
        );
        assert_eq!(c.status, 200, "chunk {seq} of {session}");
    }
    let past = w().get(
        &format!("/v1/projects/{key}/sessions/{session}/chunks/{next_seq}"),
        "demo-read",
    );
    assert_eq!(past.status, 404, "a chunk past the client's last seq");
    m
}

fn memfind(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn sdk_files_and_config_are_public_and_cacheable() {
    for (path, min) in [("/v1/sdk.js", 1000), ("/v1/recorder.js", 20_000)] {
        let r = w().request("GET", path, &[], None);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("Access-Control-Allow-Origin"), Some("*"), "{path}");
        assert!(
            r.header("Cache-Control").unwrap().contains("max-age"),
            "{path}"
        );
        assert!(r.header("Content-Type").unwrap().contains("javascript"));
        assert!(r.body.len() > min, "{path}: {} bytes", r.body.len());
    }
    let c = w().request("GET", "/v1/config/demo", &[], None);
    assert_eq!(c.status, 200);
    assert_eq!(c.header("Access-Control-Allow-Origin"), Some("*"));
    assert!(c.header("Cache-Control").unwrap().starts_with("public"));
    assert_eq!(c.json()["consent"]["mode"], "opt-out");
    for secret in ["714a5517", "fb6b5154", "localhost", "sha256"] {
        assert!(!c.text().contains(secret), "{secret} in {}", c.text());
    }
    let unknown = w().request("GET", "/v1/config/no-such-project", &[], None);
    assert_eq!(unknown.status, 401);
    assert_eq!(unknown.error_code(), "unauthorized");
    let disabled = w().request("GET", "/v1/config/test-disabled", &[], None);
    assert_eq!(disabled.json(), serde_json::json!({"enabled": false}));
}

#[test]
fn a_journey_across_pages_and_a_reload_is_one_masked_replayable_session() {
    let r = browser("journey");
    let session = r["session"].as_str().unwrap();
    let n = r["next_seq"].as_u64().unwrap();
    assert!(n >= 2, "{r}");
    let m = assert_contiguous("demo", session, n);
    // Five pages and a reload: six page loads, each with its own full snapshot.
    assert_eq!(m["pages"].as_array().unwrap().len(), 5, "{m}");
    let events = w().get(
        &format!("/v1/projects/demo/sessions/{session}/events"),
        "demo-read",
    );
    assert_eq!(events.status, 200);
    let ev: Value = events.json();
    let list = ev
        .as_array()
        .or_else(|| ev["events"].as_array())
        .expect("events array");
    let full = list.iter().filter(|e| e["type"] == 2).count();
    assert_eq!(full, 6, "full snapshots, one per page load");
    assert!(
        list.iter()
            .any(|e| e["type"] == 5 && e["data"]["tag"] == "checkout_filled"),
        "the custom event arrived"
    );

    // The planted values are nowhere: not in what the read API returns, not in any stored
    // file, not in the worker's log.
    let mut files = w().r2_objects();
    files.push(("events".into(), events.body.clone()));
    files.push(("log".into(), w().log_text().into_bytes()));
    for (k, v) in r["planted"].as_object().unwrap() {
        let v = v.as_str().unwrap();
        for (path, bytes) in &files {
            assert!(!memfind(bytes, v.as_bytes()), "planted {k} {v:?} in {path}");
        }
    }

    let dir = std::env::temp_dir().join(format!("veilgate-sdk-{}", common::id("r")));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("events.json"), &events.body).unwrap();
    let out = Command::new("bash")
        .arg("-c")
        .arg("source tools/env.sh && node tools/replay/check.mjs \"$1/events.json\" \"$1/r.png\"")
        .arg("replay")
        .arg(&dir)
        .current_dir(common::root())
        .output()
        .unwrap();
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("replay: {e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    assert_eq!(summary["ok"], true, "{summary}");
}

#[test]
fn offline_then_back_loses_and_doubles_nothing() {
    let r = browser("offline");
    assert!(
        r["queued_while_offline"].as_u64().unwrap() >= 2,
        "chunks were queued across reloads while the worker was unreachable: {r}"
    );
    assert_contiguous(
        "demo",
        r["session"].as_str().unwrap(),
        r["next_seq"].as_u64().unwrap(),
    );
}

#[test]
fn refused_consent_downloads_no_recorder_and_sends_nothing_until_granted() {
    for scenario in ["gpc", "optout"] {
        let r = browser(scenario);
        assert_eq!(r["recorder_requests"], 0, "{r}");
        assert_eq!(r["ingest_requests"], 0, "{r}");
    }
    for scenario in ["tcf", "cookiebot", "onetrust", "sdk"] {
        let r = browser(scenario);
        assert_eq!(r["denied"]["recorder_requests"], 0, "{r}");
        assert_eq!(r["denied"]["ingest_requests"], 0, "{r}");
        // Granted later, without a reload: recording starts and is stored.
        let s = r["session"].as_str().unwrap();
        let m = w().get(
            &format!("/v1/projects/test-sdk-optin/sessions/{s}"),
            "demo-read",
        );
        assert_eq!(m.status, 200, "{scenario}: {}", m.text());
        assert!(m.json()["chunks"].as_u64().unwrap() >= 1);
        // Withdrawn: nothing more is sent.
        assert_eq!(r["after_withdrawal"], 0, "{r}");
    }
}

#[test]
fn a_broken_site_or_a_blocked_recorder_keeps_the_site_working() {
    let r = browser("broken");
    assert_eq!(r["site_works"], true, "{r}");
    assert_eq!(r["api_calls_ok"], true, "{r}");
    assert_eq!(r["page_errors"], serde_json::json!(["site bug"]), "{r}");
}
