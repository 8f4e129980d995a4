//! The browser SDK end to end: real headless Chromium (tools/sdk/e2e.mjs) loads the demo shop
//! pages with the loader served by a real worker (`wrangler dev`), and what the browser did is
//! checked against the worker's read API and its local storage.

use crate::support;

use std::process::Command;
use std::sync::OnceLock;

use crate::support::Worker;
use serde_json::Value;

/// One worker for this binary with the production session timeouts, so a slow browser step
/// never splits a journey into segments.
fn w() -> &'static Worker {
    static W: OnceLock<Worker> = OnceLock::new();
    W.get_or_init(|| support::start(&[]))
}

fn browser(scenario: &str) -> Value {
    support::browser_script(scenario, "tools/sdk/e2e.mjs", &[&w().base, scenario], &[])
}

/// The test-only fault build (`tools/build.sh --faults`), started only by the test that needs it.
fn wf() -> &'static Worker {
    static W: OnceLock<Worker> = OnceLock::new();
    W.get_or_init(|| support::start_faults(&[]))
}

fn browser_with_faults(scenario: &str) -> Value {
    support::browser_script(
        scenario,
        "tools/sdk/e2e.mjs",
        &[&w().base, scenario, &wf().base],
        &[],
    )
}

/// The session has exactly chunks 0..next_seq: nothing lost, nothing doubled, no gap.
fn assert_contiguous(key: &str, session: &str, next_seq: u64) -> Value {
    assert_contiguous_on(w(), key, "demo-read", session, next_seq)
}

fn assert_contiguous_on(w: &Worker, key: &str, token: &str, session: &str, next_seq: u64) -> Value {
    let m = w.get(&format!("/v1/projects/{key}/sessions/{session}"), token);
    assert_eq!(m.status, 200, "{}", m.text());
    let m = m.json();
    assert_eq!(m["chunks"], next_seq, "{m}");
    for seq in 0..next_seq {
        let c = w.get(
            &format!("/v1/projects/{key}/sessions/{session}/chunks/{seq}"),
            token,
        );
        assert_eq!(c.status, 200, "chunk {seq} of {session}");
    }
    let past = w.get(
        &format!("/v1/projects/{key}/sessions/{session}/chunks/{next_seq}"),
        token,
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

/// The loader asks with credentials: a listed origin's request reads the opt-out cookie and
/// gets a private answer; a wildcard-only origin's answer ignores the cookie.
#[test]
fn the_config_answers_opted_out_to_a_listed_origin_only() {
    let site = ("Origin", "http://localhost:7399");
    let out = ("Cookie", "veilgate_optout=1");
    let c = w().request("GET", "/v1/config/demo", &[site, out], None);
    assert_eq!(c.status, 200);
    assert_eq!(c.json()["opted_out"], true, "{}", c.text());
    assert_eq!(c.json()["credentials"], true);
    assert_eq!(
        c.header("Access-Control-Allow-Origin"),
        Some("http://localhost:7399")
    );
    assert_eq!(c.header("Access-Control-Allow-Credentials"), Some("true"));
    assert!(c.header("Cache-Control").unwrap().starts_with("private"));
    assert!(c.header("Vary").unwrap().contains("Cookie"));
    let c = w().request("GET", "/v1/config/demo", &[site], None);
    assert_eq!(c.json()["opted_out"], false);
    assert!(c.header("Cache-Control").unwrap().starts_with("public"));
    let wild = w().request("GET", "/v1/config/test-none", &[site, out], None);
    assert_eq!(wild.json()["opted_out"], false, "{}", wild.text());
    assert_eq!(wild.json()["credentials"], false);
    assert!(wild.header("Cache-Control").unwrap().starts_with("public"));
    let other = ("Origin", "https://elsewhere.example");
    let no = w().request("GET", "/v1/config/demo", &[other, out], None);
    assert_eq!(no.json()["origin_allowed"], false, "{}", no.text());
    assert_eq!(no.json()["opted_out"], false);
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

    let dir = std::env::temp_dir().join(format!("veilgate-sdk-{}", support::id("r")));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("events.json"), &events.body).unwrap();
    let out = Command::new("bash")
        .arg("-c")
        .arg("source tools/env.sh && node tools/replay/check.mjs \"$1/events.json\" \"$1/r.png\"")
        .arg("replay")
        .arg(&dir)
        .current_dir(support::root())
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

#[test]
fn the_workers_http_only_opt_out_cookie_downloads_no_recorder() {
    let r = browser("worker-optout");
    assert_eq!(
        r["cookie_set"], true,
        "the opt-out page set its cookie: {r}"
    );
    assert_eq!(r["page_sees_cookie"], false, "HttpOnly: {r}");
    assert_eq!(r["config_opted_out"], true, "{r}");
    assert_eq!(r["denied"]["recorder_requests"], 0, "{r}");
    assert_eq!(r["denied"]["ingest_requests"], 0, "{r}");
}

#[test]
fn a_wildcard_project_records_without_credentials() {
    let r = browser("wildcard");
    assert_contiguous_on(
        w(),
        "test-none",
        "test-none-read",
        r["session"].as_str().unwrap(),
        r["next_seq"].as_u64().unwrap(),
    );
}

#[test]
fn a_403_stops_the_sdk_for_good() {
    let r = browser("forbidden");
    assert_eq!(r["first_status"], 403, "{r}");
    assert_eq!(r["beacons"], 1, "nothing after the refusal: {r}");
    assert_eq!(r["queue_after"], Value::Null, "the queue was cleared: {r}");
}

#[test]
fn a_401_stops_the_sdk_for_good() {
    let r = browser("unknown");
    assert_eq!(r["first_status"], 401, "{r}");
    assert_eq!(r["beacons"], 1, "nothing after the refusal: {r}");
    assert_eq!(r["queue_after"], Value::Null, "the queue was cleared: {r}");
}

fn assert_retry_after_honoured(r: &Value, status: u64) {
    assert_eq!(r["refused"]["status"], status, "{r}");
    let secs: u64 = r["refused"]["retry_after"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("Retry-After readable by the page: {r}"));
    assert!(secs >= 1, "{r}");
    assert!(
        r["waited_ms"].as_f64().expect("waited_ms") >= (secs * 1000) as f64,
        "retried before Retry-After: {r}"
    );
    assert_eq!(r["retry"]["seq"], r["refused"]["seq"], "same seq: {r}");
    assert_eq!(r["retry"]["session"], r["refused"]["session"], "{r}");
}

#[test]
fn retry_after_is_honoured_on_a_real_rate_limit() {
    assert_retry_after_honoured(&browser("ratelimit"), 429);
}

#[test]
fn retry_after_is_honoured_on_a_503_and_nothing_is_lost() {
    let r = browser_with_faults("unavailable");
    assert_retry_after_honoured(&r, 503);
    assert_contiguous_on(
        wf(),
        "test-none",
        "test-none-read",
        r["session"].as_str().unwrap(),
        r["next_seq"].as_u64().unwrap(),
    );
}

#[test]
fn the_offline_queue_keeps_the_newest_200_chunks_within_1_mb() {
    let r = browser("queue-bound");
    let c = &r["by_count"];
    let next = c["next"].as_u64().unwrap();
    assert!(next > 200, "{r}");
    assert_eq!(c["items"], 200, "{r}");
    assert_eq!(
        c["first"].as_u64().unwrap(),
        next - 200,
        "oldest dropped: {r}"
    );
    assert_eq!(c["last"].as_u64().unwrap(), next - 1, "{r}");
    assert_eq!(c["contiguous"], true, "{r}");
    let b = &r["by_bytes"];
    let next = b["next"].as_u64().unwrap();
    assert!(b["chars"].as_u64().unwrap() <= 1024 * 1024, "{r}");
    assert!(b["items"].as_u64().unwrap() < 40, "big chunks dropped: {r}");
    assert_eq!(
        b["last"].as_u64().unwrap(),
        next - 1,
        "the newest kept: {r}"
    );
    assert_eq!(b["contiguous"], true, "{r}");
}

#[test]
fn a_session_rotates_after_15_idle_minutes_and_after_an_hour() {
    let r = browser("rotation");
    assert_eq!(
        r["after_idle"], 2,
        "a new session after 16 idle minutes: {r}"
    );
    let sessions = r["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 3, "and another past 60 minutes: {r}");
    let starts: Vec<u64> = sessions
        .iter()
        .map(|s| s["start"].as_u64().unwrap())
        .collect();
    assert!(starts[2] - starts[1] > 60 * 60 * 1000, "{r}");
    assert!(starts[2] - starts[1] <= 70 * 60 * 1000, "{r}");
    for (i, s) in sessions.iter().enumerate() {
        let id = s["id"].as_str().unwrap();
        assert_contiguous("demo", id, s["seq"].as_u64().unwrap());
        if i > 0 {
            let c = w().get(
                &format!("/v1/projects/demo/sessions/{id}/chunks/0"),
                "demo-read",
            );
            assert_eq!(c.status, 200);
            let v = c.json();
            let events = v.as_array().or_else(|| v["events"].as_array());
            assert!(
                events.is_some_and(|e| e.iter().any(|e| e["type"] == 2)),
                "session {i} starts with its own full snapshot: {:.300}",
                c.text()
            );
        }
    }
}

/// Issue 22 item 15 in real Chromium: an `<img>` or `fetch` of `/v1/opt-out` sets no
/// cookie; following a link to it does.
#[test]
fn an_img_of_the_opt_out_url_does_not_opt_the_visitor_out() {
    let r = browser("img-optout");
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["cookie_after_img_and_fetch"], false, "{r}");
    assert_eq!(r["cookie_after_navigation"], true, "{r}");
}

/// Issue 22 item 16: the offline queue in `localStorage` holds no query value or fragment
/// of the page URL, drops chunks older than 24 h (and unstamped ones of older SDKs), and is
/// cleared when the config says `opted_out`.
#[test]
fn the_offline_queue_keeps_no_raw_url_nothing_stale_and_nothing_after_opt_out() {
    let r = browser("queue-privacy");
    assert_eq!(r["ok"], true, "{r}");
    assert!(r["queued"].as_u64().unwrap() >= 1, "{r}");
    assert_eq!(r["queue_has_secrets"], serde_json::json!([]), "{r}");
    assert_eq!(r["queue_keeps_names"], true, "{r}");
    assert_eq!(r["stale_kept"], serde_json::json!([]), "{r}");
    assert!(r["queued_after_reload"].as_u64().unwrap() >= 2, "{r}");
    assert_eq!(r["queue_after_opt_out"], Value::Null, "{r}");
}
