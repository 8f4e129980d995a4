//! rrweb's own test event streams (tests/fixtures/rrweb-upstream, converted from
//! packages/rrweb/test/events by tools/fixtures/rrweb-upstream.mjs) still replay in rrweb's
//! Replayer after server-side masking, with the default and a mask-all-text policy: every full
//! snapshot is rebuilt, no replay error, and the replayed document keeps the raw stream's node
//! structure (masking changes values, never which nodes exist). One headless Chromium replays
//! the raw and masked copies (tools/replay/check-batch.mjs).

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use veilgate::privacy::{mask_serde_events, MaskPolicy, MaskState};

/// Upstream streams not replayed here, with why.
const SKIP: &[(&str, &str)] = &[
    // Timestamps mix Date.now()-relative and absolute values (a 17e9 ms gap): a live replay
    // never reaches the end. rrweb's own test seeks with pause(t) instead.
    ("video-playback", "timestamps span 17e9 ms"),
    // The <video> source is not fetched offline, so the raw stream already fails in Chromium
    // ("play() request was interrupted by a call to pause()"), and it lasts 39 s.
    (
        "video-playback-on-full-snapshot",
        "raw replay errors offline",
    ),
];

/// Chunks per stream, with the mask state carried between them as the session DO does.
const CHUNKS: usize = 3;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures() -> Vec<(String, Vec<Value>)> {
    let dir = root().join("tests/fixtures/rrweb-upstream");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("json"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        let name = p.file_stem().unwrap().to_str().unwrap().to_string();
        if SKIP.iter().any(|(s, _)| *s == name) {
            continue;
        }
        let v: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        out.push((name, v["events"].as_array().unwrap().clone()));
    }
    out
}

fn mask(events: &[Value], policy: &MaskPolicy) -> Vec<Value> {
    let mut state = MaskState::default();
    let mut out = Vec::new();
    for chunk in events.chunks(events.len().div_ceil(CHUNKS).max(1)) {
        let mut chunk = chunk.to_vec();
        mask_serde_events(&mut chunk, policy, &mut state);
        state = serde_json::from_str(&serde_json::to_string(&state).unwrap()).unwrap();
        out.extend(chunk);
    }
    out
}

fn replay_batch(files: &[PathBuf]) -> Value {
    let mut args = vec!["--speed", "64"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    crate::node::report("check-batch", "tools/replay/check-batch.mjs", &args, &[])
}

#[test]
fn upstream_events_replay_after_masking() {
    let fixtures = fixtures();
    assert!(fixtures.len() >= 20, "only {} fixtures", fixtures.len());
    let policies = [
        ("default", MaskPolicy::default()),
        (
            "alltext",
            MaskPolicy::from_json(&json!({"record": {"text": false}})).unwrap(),
        ),
    ];
    let dir = root().join("target/rrweb-upstream");
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, events: &[Value]| -> PathBuf {
        let p = dir.join(format!("{name}.json"));
        std::fs::write(&p, serde_json::to_vec(events).unwrap()).unwrap();
        p
    };
    let mut files = Vec::new();
    let mut changed = 0;
    for (name, events) in &fixtures {
        files.push(write(&format!("{name}.raw"), events));
        for (variant, policy) in &policies {
            let masked = mask(events, policy);
            assert_eq!(
                masked.len(),
                events.len(),
                "{name}.{variant}: events dropped"
            );
            changed += usize::from(&masked != events);
            files.push(write(&format!("{name}.{variant}"), &masked));
        }
    }
    // The masker did something on these streams (else the comparison below proves nothing).
    assert!(
        changed >= fixtures.len(),
        "masking changed only {changed} streams"
    );

    let report = replay_batch(&files);
    let get = |p: &Path| report[p.to_str().unwrap()].clone();
    let mut failures = Vec::new();
    for (name, _) in &fixtures {
        let raw = get(&dir.join(format!("{name}.raw.json")));
        // The upstream stream itself replays cleanly here, so any error below is masking's.
        assert_eq!(raw["ok"], true, "{name} raw: {raw}");
        for (variant, _) in &policies {
            let m = get(&dir.join(format!("{name}.{variant}.json")));
            if m["ok"] != true {
                failures.push(format!("{name}.{variant}: {}", m["errors"]));
            }
            if m["rebuilt"] != raw["full_snapshots"] {
                failures.push(format!(
                    "{name}.{variant}: rebuilt {} of {} full snapshots",
                    m["rebuilt"], raw["full_snapshots"]
                ));
            }
            for k in ["nodes", "elements", "text_nodes"] {
                if m[k] != raw[k] {
                    failures.push(format!("{name}.{variant}: {k} {} (raw {})", m[k], raw[k]));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
