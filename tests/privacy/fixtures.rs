//! Real rrweb recordings (tests/fixtures, see its README) masked with the default policy:
//! no planted value may survive in any normalized form. Events are fed in several chunks
//! through one MaskState that is serialized between chunks, as the session DO does.

use std::path::Path;

use serde_json::Value;

use veilgate::privacy::{mask_serde_events, mask_url, MaskPolicy, MaskState, Record};

const CHUNKS: usize = 7;

struct Masked {
    name: String,
    /// Masked page URL + every masked event + the state, serialized.
    output: String,
    state_bytes: usize,
    events: usize,
}

fn fixtures() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rrweb");
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return out;
    };
    let mut paths: Vec<_> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if p.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let name = p
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        let v: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        out.push((name, v));
    }
    out
}

fn mask_fixture(name: &str, fx: &Value, policy: &MaskPolicy) -> Masked {
    let events = fx["events"].as_array().cloned().unwrap_or_default();
    let n = events.len();
    let mut state_json = serde_json::to_string(&MaskState::default()).unwrap();
    let mut output = String::new();
    output.push_str(&mask_url(fx["page"].as_str().unwrap_or(""), policy));
    let size = n.div_ceil(CHUNKS).max(1);
    for chunk in events.chunks(size) {
        let mut chunk = chunk.to_vec();
        let mut state: MaskState = serde_json::from_str(&state_json).unwrap();
        mask_serde_events(&mut chunk, policy, &mut state);
        state_json = serde_json::to_string(&state).unwrap();
        output.push_str(&serde_json::to_string(&chunk).unwrap());
    }
    output.push_str(&state_json);
    Masked {
        name: name.to_string(),
        output,
        state_bytes: state_json.len(),
        events: n,
    }
}

fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else if b == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The forms in which a planted value could still be found.
fn forms(v: &str) -> Vec<String> {
    let mut f = vec![v.to_string(), v.to_lowercase()];
    let digits: String = v.chars().filter(char::is_ascii_digit).collect();
    if digits.len() >= 6 {
        f.push(digits);
    }
    f.push(url_encode(v));
    f.push(url_encode(v).replace('+', "%20"));
    let json = serde_json::to_string(v).unwrap();
    f.push(json[1..json.len() - 1].to_string());
    // JSON escaping of a JSON string (values inside serialized payload strings).
    let json2 = serde_json::to_string(&json[1..json.len() - 1]).unwrap();
    f.push(json2[1..json2.len() - 1].to_string());
    f.sort();
    f.dedup();
    f
}

/// `fixtures()`, all of them: they are committed, so finding fewer means a test would prove
/// nothing.
fn recorded_fixtures() -> Vec<(String, Value)> {
    let fx = fixtures();
    assert!(
        fx.len() >= 7,
        "expected the recorded fixtures, found {}",
        fx.len()
    );
    fx
}

fn planted() -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/planted.json");
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

#[test]
fn no_planted_value_survives_default_masking() {
    let fx = recorded_fixtures();
    let planted = planted();
    let must: Vec<&str> = planted["must_not_appear"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x["value"].as_str())
        .collect();
    let policy = MaskPolicy::default();
    let mut leaks = Vec::new();
    let mut largest: Option<Masked> = None;
    for (name, v) in &fx {
        let m = mask_fixture(name, v, &policy);
        let lower = m.output.to_lowercase();
        for value in &must {
            for form in forms(value) {
                let hay = if form == form.to_lowercase() {
                    &lower
                } else {
                    &m.output
                };
                if hay.contains(&form.to_lowercase()) || m.output.contains(&form) {
                    leaks.push(format!("{}: {value:?} as {form:?}", m.name));
                }
            }
        }
        eprintln!(
            "{:<18} {:>4} events, masked output {:>8} bytes, MaskState {:>5} bytes",
            m.name,
            m.events,
            m.output.len(),
            m.state_bytes
        );
        if largest
            .as_ref()
            .is_none_or(|l| l.output.len() < m.output.len())
        {
            largest = Some(m);
        }
    }
    if let Some(l) = &largest {
        eprintln!(
            "largest fixture {}: MaskState {} bytes serialized",
            l.name, l.state_bytes
        );
    }
    assert!(
        leaks.is_empty(),
        "{} leaks:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
}

fn standalone(hay: &str, needle: &str) -> usize {
    hay.match_indices(needle)
        .filter(|(i, _)| {
            let before = hay[..*i].chars().next_back();
            let after = hay[i + needle.len()..].chars().next();
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
        })
        .count()
}

#[test]
fn near_misses_survive_with_numbers_relaxed() {
    let fx = recorded_fixtures();
    let planted = planted();
    let policy = MaskPolicy {
        record: Record {
            numbers: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut false_positives = Vec::new();
    let mut checked = 0;
    for (name, v) in &fx {
        let raw = format!("{}{}", v["page"], v["events"]);
        let m = mask_fixture(name, v, &policy);
        for nm in planted["near_misses"].as_array().unwrap() {
            let Some(value) = nm["value"].as_str() else {
                continue;
            };
            let json = serde_json::to_string(value).unwrap();
            let needle = &json[1..json.len() - 1];
            if !raw.contains(needle) {
                continue;
            }
            checked += 1;
            // Standalone occurrences only ("404" inside an email address is rightly masked).
            let before = standalone(&raw, needle);
            let after = standalone(&m.output, needle);
            if after < before {
                false_positives.push(format!("{name}: {value:?} {before} -> {after}"));
            }
        }
    }
    assert!(
        checked >= 10,
        "only {checked} near misses found in the fixtures"
    );
    eprintln!(
        "near misses checked: {checked}, false positives: {}\n{}",
        false_positives.len(),
        false_positives.join("\n")
    );
    assert!(false_positives.is_empty());
}

#[test]
fn masking_is_idempotent_and_keeps_structure() {
    let fx = fixtures();
    let policy = MaskPolicy::default();
    for (name, v) in &fx {
        let mut events = v["events"].as_array().cloned().unwrap_or_default();
        let before: Vec<(Option<u64>, Option<u64>)> = events
            .iter()
            .map(|e| (e["type"].as_u64(), e["timestamp"].as_u64()))
            .collect();
        let mut st = MaskState::default();
        mask_serde_events(&mut events, &policy, &mut st);
        let after: Vec<(Option<u64>, Option<u64>)> = events
            .iter()
            .map(|e| (e["type"].as_u64(), e["timestamp"].as_u64()))
            .collect();
        assert_eq!(before, after, "{name}: event order/types changed");
        let once = serde_json::to_string(&events).unwrap();
        let mut st2 = MaskState::default();
        mask_serde_events(&mut events, &policy, &mut st2);
        assert_eq!(
            once,
            serde_json::to_string(&events).unwrap(),
            "{name}: not idempotent"
        );
    }
}

/// Rough throughput check (run with `cargo test --release -- --ignored --nocapture`):
/// parse + mask + serialize against parse + serialize on the largest fixture.
#[test]
#[ignore]
fn throughput_vs_bare_serde() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rrweb/large.default.json");
    let Ok(bytes) = std::fs::read(path) else {
        return;
    };
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    let body = serde_json::to_vec(&v["events"]).unwrap();
    let policy = MaskPolicy::default();
    let rounds = 10;
    let t = std::time::Instant::now();
    for _ in 0..rounds {
        let ev: Vec<Value> = serde_json::from_slice(&body).unwrap();
        std::hint::black_box(serde_json::to_vec(&ev).unwrap());
    }
    let bare = t.elapsed();
    let t = std::time::Instant::now();
    for _ in 0..rounds {
        let mut ev: Vec<Value> = serde_json::from_slice(&body).unwrap();
        let mut st = MaskState::default();
        mask_serde_events(&mut ev, &policy, &mut st);
        std::hint::black_box(serde_json::to_vec(&ev).unwrap());
    }
    let masked = t.elapsed();
    let mb = (body.len() * rounds) as f64 / 1e6;
    eprintln!(
        "bare {:.1} MB/s, masked {:.1} MB/s, ratio {:.2}",
        mb / bare.as_secs_f64(),
        mb / masked.as_secs_f64(),
        bare.as_secs_f64() / masked.as_secs_f64()
    );
}
