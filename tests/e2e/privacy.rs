//! Real rrweb recordings through the running worker. Everything the worker
//! stored (local R2, Durable Object state, KV) and logged is scanned for every planted value
//! in normalized forms; the stored session must still replay in rrweb's Replayer.

use crate::support;

use serde_json::Value;

/// Scans everything its worker stored and logged, so it has a worker of its own.
fn worker() -> &'static crate::support::Worker {
    static W: std::sync::OnceLock<crate::support::Worker> = std::sync::OnceLock::new();
    crate::support::own_worker(&W)
}

const CHUNKS: usize = 5;

fn fixtures() -> Vec<(String, Value)> {
    let dir = support::root().join("tests/fixtures/rrweb");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (
                name,
                serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap(),
            )
        })
        .collect()
}

/// The forms a leaked value could take in storage.
fn forms(value: &str) -> Vec<String> {
    let mut out = vec![value.to_string(), value.to_lowercase()];
    let json = serde_json::to_string(value).unwrap();
    out.push(json[1..json.len() - 1].to_string());
    let mut url = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            url.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    out.push(url.clone());
    out.push(url.replace("%20", "+"));
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    if digits.len() >= 6 {
        out.push(digits);
    }
    out.sort();
    out.dedup();
    out
}

/// Post one fixture as `CHUNKS` beacons of one session; returns the session id.
fn post_fixture(fixture: &Value) -> String {
    let events = fixture["events"].as_array().unwrap();
    let size = events.len().div_ceil(CHUNKS);
    support::post_session(worker(), "demo", &fixture["page"], events.chunks(size))
}

#[test]
fn nothing_planted_reaches_storage_or_logs_and_sessions_still_replay() {
    let planted: Value = serde_json::from_slice(
        &std::fs::read(support::root().join("tests/fixtures/planted.json")).unwrap(),
    )
    .unwrap();
    let values: Vec<String> = planted["must_not_appear"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_str().unwrap().to_string())
        .collect();
    assert!(values.len() >= 40, "planted set shrank: {}", values.len());

    let mut sessions = Vec::new();
    for (name, fx) in fixtures() {
        sessions.push((name, post_fixture(&fx)));
    }
    // Everything is stored: every chunk of every fixture.
    for (name, s) in &sessions {
        let m = worker()
            .get(&format!("/v1/projects/demo/sessions/{s}"), "demo-read")
            .json();
        assert_eq!(m["chunks"], CHUNKS as u64, "{name}");
    }

    // Scan every file of the worker's local state and its log.
    let mut files = worker().r2_objects();
    files.push(("wrangler.log".into(), worker().log_text().into_bytes()));
    let total: usize = files.iter().map(|(_, b)| b.len()).sum();
    assert!(
        total > 1_000_000,
        "scanned only {total} bytes: is the state where we think?"
    );
    let mut leaks = Vec::new();
    for v in &values {
        for form in forms(v) {
            for (path, bytes) in &files {
                if memfind(bytes, form.as_bytes()) {
                    leaks.push(format!("{v:?} as {form:?} in {path}"));
                }
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "{} leaks:\n{}",
        leaks.len(),
        leaks.join("\n")
    );

    // The masked sessions still replay, with masked inputs showing '*'.
    for (name, s) in sessions
        .iter()
        .filter(|(n, _)| n.ends_with(".default") && !n.starts_with("large"))
    {
        let events = worker().get(
            &format!("/v1/projects/demo/sessions/{s}/events"),
            "demo-read",
        );
        assert_eq!(events.status, 200);
        let dir = std::env::temp_dir().join(format!("veilgate-replay-{}", support::id("r")));
        std::fs::create_dir_all(&dir).unwrap();
        let json = dir.join("events.json");
        std::fs::write(&json, &events.body).unwrap();
        let png = dir.join(format!("{name}.png"));
        let summary = support::replay(&json, &png);
        assert_eq!(summary["ok"], true, "{name}: {summary}");
        assert!(
            summary["events"].as_u64().unwrap() > 50,
            "{name}: {summary}"
        );
        let masked = summary["masked_inputs"].as_array().unwrap();
        assert!(
            !masked.is_empty(),
            "{name}: no masked input in the replay: {summary}"
        );
        assert!(
            std::fs::metadata(&png).unwrap().len() > 1000,
            "{name}: no screenshot"
        );
        // No planted value is visible in the replayed DOM's inputs either.
        let inputs = summary["input_values"].to_string();
        for v in &values {
            assert!(
                !inputs.contains(v.as_str()),
                "{name}: {v} visible in replay"
            );
        }
    }
}

fn memfind(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}
