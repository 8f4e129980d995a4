//! Exactly once and in order: many concurrent sessions whose beacons arrive shuffled
//! and partly twice, and requests for the same `seq` racing each other, through the real
//! worker on local workerd. Every acknowledged chunk is stored exactly once and the merged
//! events come back in `seq` order.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::support::{beacon, id, Reply, Worker, XorShift};
use serde_json::{json, Value};

const LOCAL: (&str, &str) = ("Origin", "http://localhost:8787");
const SESSIONS: usize = 100;
const CHUNKS: usize = 30;
/// 20% of the beacons of each session are sent twice.
const TWICE: usize = CHUNKS / 5;
const THREADS: usize = 16;
const BASE_TS: u64 = 1_800_000_000_000;
/// Long enough that a session under load stays in one segment (a round of all sessions takes
/// a few seconds), short enough to wait for every manifest to be finalized by its alarm.
const IDLE_SECS: u64 = 8;

/// This binary's worker: fresh local state, sessions finalized after `IDLE_SECS` idle.
fn worker() -> &'static Worker {
    static W: OnceLock<Worker> = OnceLock::new();
    W.get_or_init(|| support::start(&[("SESSION_IDLE_SECS", &IDLE_SECS.to_string())]))
}

/// Real events from a recording: its Meta, its full snapshot and the incremental events.
struct Recording {
    meta: Value,
    snapshot: Value,
    incremental: Vec<Value>,
}

fn recording() -> Recording {
    let path = support::root().join("tests/fixtures/rrweb/signup.default.json");
    let fixture: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let events = fixture["events"].as_array().unwrap();
    let of_type = |t: u64| events.iter().find(|e| e["type"] == t).unwrap().clone();
    Recording {
        meta: of_type(4),
        snapshot: of_type(2),
        incremental: events.iter().filter(|e| e["type"] == 3).cloned().collect(),
    }
}

/// Masking stars digit runs in text, so the marker also spells its number in letters.
fn letters(n: usize) -> String {
    n.to_string()
        .bytes()
        .map(|d| (b'a' + (d - b'0')) as char)
        .collect()
}

/// The events of one chunk: a marker naming its seq, then a few recorded events (Meta and full
/// snapshot in seq 0). Timestamps are `BASE_TS + seq * 1000 + position`.
fn chunk_events(rec: &Recording, seq: usize) -> Value {
    let mut events = vec![json!({
        "type": 5,
        "data": {"tag": "chunk", "payload": {"n": seq, "word": letters(seq)}},
    })];
    if seq == 0 {
        events.push(rec.meta.clone());
        events.push(rec.snapshot.clone());
    }
    let n = rec.incremental.len();
    for k in 0..4 {
        events.push(rec.incremental[(seq * 4 + k) % n].clone());
    }
    for (i, e) in events.iter_mut().enumerate() {
        e["timestamp"] = json!(BASE_TS + seq as u64 * 1000 + i as u64);
    }
    Value::Array(events)
}

struct Session {
    id: String,
    visitor: String,
    bodies: Vec<Vec<u8>>,
    /// The order of arrival: seqs, some twice.
    order: Vec<usize>,
}

/// What it took to get one beacon acknowledged.
#[derive(Default)]
struct Effort {
    /// Retries after 429/503 (`Retry-After`): status and error code of each.
    retried_status: Vec<String>,
    /// Retries after a transport failure (reset, timeout), with the errors seen.
    transport: Vec<String>,
}

/// Post a beacon as a flaky network's SDK would: retry on 429/503 after `Retry-After` and on a
/// transport failure (the first attempt may have been stored: the retry is a duplicate).
fn send(body: &[u8]) -> (Reply, Effort) {
    let mut effort = Effort::default();
    loop {
        let r = match worker().try_post(
            "/v1/ingest/demo",
            &[LOCAL, ("Content-Type", "text/plain;charset=UTF-8")],
            body,
        ) {
            Ok(r) => r,
            Err(e) if effort.transport.len() < 5 => {
                effort.transport.push(e);
                std::thread::sleep(Duration::from_millis(500));
                continue;
            }
            Err(e) => panic!("{e} (after {:?})", effort.transport),
        };
        if (r.status == 503 || r.status == 429) && effort.retried_status.len() < 10 {
            let code = serde_json::from_slice::<Value>(&r.body).ok().and_then(|v| {
                v["error"]["code"]
                    .as_str()
                    .map(|c| format!("{c}: {}", v["error"]["message"]))
            });
            effort
                .retried_status
                .push(format!("{} {}", r.status, code.unwrap_or_default()));
            let secs: u64 = r
                .header("Retry-After")
                .and_then(|s| s.parse().ok())
                .unwrap_or(1);
            std::thread::sleep(Duration::from_secs(secs.min(5)));
            continue;
        }
        return (r, effort);
    }
}

fn chunk_keys_by_session() -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for k in worker().r2_keys() {
        let parts: Vec<&str> = k.split('/').collect();
        if let ["sessions", "demo", s, "chunks", _] = parts.as_slice() {
            out.entry(s.to_string()).or_default().push(k.clone());
        }
    }
    out
}

/// How many stored R2 blobs hold each (session, seq) chunk document.
fn chunk_blobs(sessions: &BTreeSet<String>) -> BTreeMap<(String, u64), usize> {
    let mut out = BTreeMap::new();
    for (path, bytes) in worker().r2_objects() {
        if !path.contains("/r2/") || path.ends_with(".sqlite") {
            continue;
        }
        let Ok(doc) = serde_json::from_slice::<Value>(&bytes) else {
            continue;
        };
        let (Some(s), Some(seq)) = (doc["session"].as_str(), doc["seq"].as_u64()) else {
            continue;
        };
        if doc["events"].is_array() && sessions.contains(s) {
            *out.entry((s.to_string(), seq)).or_insert(0) += 1;
        }
    }
    out
}

/// Manifest and merged events of one session after the load: (segments, problems).
fn check_session(rec: &Recording, s: &Session) -> (usize, Vec<String>) {
    let expected_seqs: Vec<usize> = (0..CHUNKS).collect();
    let mut problems = Vec::new();
    let m = worker().get(&format!("/v1/projects/demo/sessions/{}", s.id), "demo-read");
    assert_eq!(m.status, 200, "{}: {}", s.id, m.text());
    let m = m.json();
    let segments = m["segments"].as_array().map_or(0, Vec::len);
    if segments > 1 {
        // How a later segment came about: the idle time between segments as the object saw it.
        let seg = m["segments"].as_array().unwrap();
        let gaps: Vec<i64> = seg
            .windows(2)
            .map(|w| {
                w[1]["started_at"].as_i64().unwrap_or(0) - w[0]["last_at"].as_i64().unwrap_or(0)
            })
            .collect();
        println!(
            "exactly once: {} has {segments} segments, idle ms between them {gaps:?}",
            s.id
        );
    }
    if m["chunks"] != CHUNKS
        || m["seqs"] != json!(expected_seqs)
        || m["visitor"] != *s.visitor
        || m["complete"] != true
    {
        problems.push(format!(
            "{}: manifest chunks {} seqs {}",
            s.id, m["chunks"], m["seqs"]
        ));
    }
    let merged = worker().get(
        &format!("/v1/projects/demo/sessions/{}/events", s.id),
        "demo-read",
    );
    assert_eq!(merged.status, 200, "{}: {}", s.id, merged.text());
    let merged = merged.json();
    let merged = merged.as_array().unwrap();
    let markers: Vec<(u64, String)> = merged
        .iter()
        .filter(|e| e["type"] == 5 && e["data"]["tag"] == "chunk")
        .map(|e| {
            let p = &e["data"]["payload"];
            (p["n"].as_u64().unwrap(), p["word"].as_str().unwrap().into())
        })
        .collect();
    let want_markers: Vec<(u64, String)> = (0..CHUNKS).map(|n| (n as u64, letters(n))).collect();
    if markers != want_markers {
        problems.push(format!("{}: markers in order {markers:?}", s.id));
    }
    let stamps: Vec<u64> = merged
        .iter()
        .map(|e| e["timestamp"].as_u64().unwrap())
        .collect();
    let want_stamps: Vec<u64> = (0..CHUNKS)
        .flat_map(|seq| {
            chunk_events(rec, seq)
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["timestamp"].as_u64().unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    if stamps != want_stamps {
        problems.push(format!("{}: timestamps out of seq order", s.id));
    }
    // Masking did its work on the recorded events (the fixture's planted values).
    let text = serde_json::to_string(merged).unwrap();
    for planted in ["jane.url.planted@example.com", "plantedtok_5f3a9c1e7b"] {
        if text.contains(planted) {
            problems.push(format!("{}: {planted} not masked", s.id));
        }
    }
    (segments, problems)
}

#[test]
fn hundred_sessions_shuffled_and_retried_are_stored_exactly_once_in_order() {
    let rec = recording();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let sessions: Vec<Session> = (0..SESSIONS)
        .map(|_| {
            let (s, v) = (id("s"), id("v"));
            let bodies = (0..CHUNKS)
                .map(|seq| beacon(&s, &v, seq as u64, "web", &chunk_events(&rec, seq)))
                .collect();
            let mut seqs: Vec<usize> = (0..CHUNKS).collect();
            rng.shuffle(&mut seqs);
            let mut order: Vec<usize> = (0..CHUNKS).collect();
            order.extend_from_slice(&seqs[..TWICE]);
            rng.shuffle(&mut order);
            Session {
                id: s,
                visitor: v,
                bodies,
                order,
            }
        })
        .collect();
    // All sessions at once: the i-th arrival of every session, then the (i+1)-th, ...; 16
    // threads take from one queue, so beacons of one session are sometimes in flight together.
    let per_session = CHUNKS + TWICE;
    let queue: Vec<(usize, usize)> = (0..per_session)
        .flat_map(|i| (0..SESSIONS).map(move |s| (s, i)))
        .map(|(s, i)| (s, sessions[s].order[i]))
        .collect();
    worker();

    let next = AtomicUsize::new(0);
    let retries = Mutex::new(Vec::<String>::new());
    let failures = Mutex::new(Vec::<String>::new());
    let transport = Mutex::new(Vec::<String>::new());
    let arrivals = Mutex::new(vec![Vec::<f64>::new(); SESSIONS]);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(s, seq)) = queue.get(i) else {
                    break;
                };
                let (r, effort) = send(&sessions[s].bodies[seq]);
                arrivals.lock().unwrap()[s].push(started.elapsed().as_secs_f64());
                retries.lock().unwrap().extend(effort.retried_status);
                transport.lock().unwrap().extend(effort.transport);
                let want = json!({"stored": true, "seq": seq});
                if r.status != 202 || serde_json::from_slice::<Value>(&r.body).ok() != Some(want) {
                    failures.lock().unwrap().push(format!(
                        "{} seq {seq}: {} {}",
                        sessions[s].id,
                        r.status,
                        r.text()
                    ));
                }
            });
        }
    });
    let elapsed = started.elapsed();
    let failures = failures.into_inner().unwrap();
    let transport = transport.into_inner().unwrap();
    let retries = retries.into_inner().unwrap();
    // Idle gaps longer than IDLE_SECS within a session legitimately open a new segment.
    let gapped = arrivals
        .into_inner()
        .unwrap()
        .into_iter()
        .filter(|t| {
            let mut t = t.clone();
            t.sort_by(f64::total_cmp);
            t.windows(2).any(|w| w[1] - w[0] > IDLE_SECS as f64)
        })
        .count();
    let mut retry_kinds = BTreeMap::<&str, usize>::new();
    for r in &retries {
        *retry_kinds.entry(r.as_str()).or_insert(0) += 1;
    }
    let sent = queue.len();
    println!(
        "exactly once: {SESSIONS} sessions x {CHUNKS} chunks = {} beacons + {} duplicates = {sent} \
         requests from {THREADS} threads in {:.1} s ({:.0} req/s), {} retries after 429/503 {retry_kinds:?}, {} after transport errors {:?}, {} failures",
        SESSIONS * CHUNKS,
        SESSIONS * TWICE,
        elapsed.as_secs_f64(),
        sent as f64 / elapsed.as_secs_f64(),
        retries.len(),
        transport.len(),
        transport.iter().take(3).collect::<Vec<_>>(),
        failures.len(),
    );
    assert!(failures.is_empty(), "{failures:#?}");

    // Every session goes idle now: its alarm finalizes the manifest.
    let finalizing = Instant::now();
    let mut pending: Vec<&Session> = sessions.iter().collect();
    support::wait_until(
        "every manifest complete",
        Duration::from_secs(IDLE_SECS + 90),
        || {
            pending.retain(|s| {
                let m = worker().get(&format!("/v1/projects/demo/sessions/{}", s.id), "demo-read");
                m.status != 200 || m.json()["complete"] != true
            });
            pending.is_empty()
        },
    );
    println!(
        "exactly once: every manifest complete {:.1} s after the last beacon",
        finalizing.elapsed().as_secs_f64()
    );

    // Read back from 4 threads (a replay service reads sessions in parallel too).
    let verify = Instant::now();
    let next = AtomicUsize::new(0);
    let checked = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                while let Some(s) = sessions.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let result = check_session(&rec, s);
                    checked.lock().unwrap().push(result);
                }
            });
        }
    });
    let mut segments = BTreeMap::<usize, usize>::new();
    let mut problems = Vec::new();
    for (n, p) in checked.into_inner().unwrap() {
        *segments.entry(n).or_insert(0) += 1;
        problems.extend(p);
    }

    let keys = chunk_keys_by_session();
    let ids: BTreeSet<String> = sessions.iter().map(|s| s.id.clone()).collect();
    let blobs = chunk_blobs(&ids);
    let mut objects = 0;
    for s in &sessions {
        let got: Vec<String> = keys.get(&s.id).cloned().unwrap_or_default();
        let want: Vec<String> = (0..CHUNKS)
            .map(|seq| format!("sessions/demo/{}/chunks/{seq:08}.json", s.id))
            .collect();
        let mut sorted = got.clone();
        sorted.sort();
        if sorted != want {
            problems.push(format!("{}: chunk keys {got:?}", s.id));
        }
        objects += got.len();
        for seq in 0..CHUNKS {
            let n = blobs.get(&(s.id.clone(), seq as u64)).copied().unwrap_or(0);
            if n != 1 {
                problems.push(format!("{} seq {seq}: {n} stored blobs", s.id));
            }
        }
    }
    println!(
        "exactly once: {objects} chunk objects in local R2 for {} acknowledged chunks, {} blobs; \
         sessions by segment count {segments:?} ({gapped} sessions had a gap over {IDLE_SECS} s \
         between replies); verified in {:.1} s",
        SESSIONS * CHUNKS,
        blobs.values().sum::<usize>(),
        verify.elapsed().as_secs_f64()
    );
    assert!(problems.is_empty(), "{problems:#?}");
}

/// `n` threads post the same beacon at the same moment; every reply and the stored state.
fn race(n: usize, body: &[u8], seq: u64) -> Vec<Reply> {
    let barrier = Arc::new(Barrier::new(n));
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .map(|_| {
                let barrier = barrier.clone();
                scope.spawn(move || {
                    barrier.wait();
                    worker().post("/v1/ingest/demo", &[LOCAL], body)
                })
            })
            .collect();
        let replies: Vec<Reply> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        for r in &replies {
            assert_eq!(
                (r.status, r.json()),
                (202, json!({"stored": true, "seq": seq})),
                "racing seq {seq}"
            );
        }
        replies
    })
}

#[test]
fn racing_requests_for_one_seq_store_one_chunk() {
    let rec = recording();
    worker();
    let mut sessions = Vec::new();
    for round in 0..4 {
        let (s, v) = (id("s"), id("v"));
        let threads = if round % 2 == 0 { 2 } else { 8 };
        // The first chunk of a new session (object created by the race), then a later one.
        for seq in [0u64, 1] {
            race(
                threads,
                &beacon(&s, &v, seq, "web", &chunk_events(&rec, seq as usize)),
                seq,
            );
        }
        sessions.push((s, threads));
    }
    let keys = chunk_keys_by_session();
    let ids: BTreeSet<String> = sessions.iter().map(|(s, _)| s.clone()).collect();
    let blobs = chunk_blobs(&ids);
    for (s, threads) in &sessions {
        let m = worker()
            .get(&format!("/v1/projects/demo/sessions/{s}"), "demo-read")
            .json();
        assert_eq!(m["chunks"], 2, "{threads} racing threads: {m}");
        assert_eq!(m["seqs"], json!([0, 1]));
        let got = keys.get(s).cloned().unwrap_or_default();
        assert_eq!(got.len(), 2, "{threads} racing threads: chunk keys {got:?}");
        for seq in 0..2u64 {
            assert_eq!(
                blobs.get(&(s.clone(), seq)).copied().unwrap_or(0),
                1,
                "{threads} racing threads, seq {seq}: stored blobs"
            );
        }
        let merged = worker()
            .get(
                &format!("/v1/projects/demo/sessions/{s}/events"),
                "demo-read",
            )
            .json();
        let markers: Vec<&Value> = merged
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == 5)
            .map(|e| &e["data"]["payload"]["n"])
            .collect();
        assert_eq!(markers, vec![&json!(0), &json!(1)]);
        println!("racing: {threads} threads x seqs 0,1 of {s}: 2 chunks, 2 objects");
    }
}
