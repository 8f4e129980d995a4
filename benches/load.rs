//! Benchmarks 5 and 6 (issue 6): a bounded load generator on loopback.
//!   cargo bench --bench load -- --url http://127.0.0.1:P --key bench [--concurrency 16]
//!       [--seconds 20] [--max-requests 200000] [--chunks-per-session 30] [--tag NAME]
//! Sends gzip beacons of ~16 KB on the wire (rrweb events from the recorded fixtures), each
//! request its own (session, seq): thread t's n-th request is seq n % 30 of session
//! `s_{tag}_{t}_{n / 30}`. Bodies are built without compressing per request: the events are
//! deflated once, the small varying head is deflated per request, and the pieces are spliced
//! into one gzip member (sync-flushed deflate blocks, CRC-32 combined). Stops by itself at the
//! deadline or the request cap. Prints one JSON object: req/s, p50/p99/max latency, statuses.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use flate2::write::DeflateEncoder;
use flate2::Compression;

#[path = "common/mod.rs"]
mod common;
use common::Fixture;

const WIRE_TARGET: usize = 16 * 1024;

fn fixture(name: &str) -> Fixture {
    let path = format!("{}/tests/fixtures/rrweb/{name}.default.json", env!("CARGO_MANIFEST_DIR"));
    Fixture::from_json(name, &std::fs::read(&path).expect("fixture"))
}

/// Deflate `data` as non-final blocks ending byte-aligned (sync flush), or final if `last`.
fn deflate_piece(data: &[u8], last: bool) -> Vec<u8> {
    let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    if last {
        e.finish().unwrap()
    } else {
        e.flush().unwrap();
        e.get_ref().clone()
    }
}

struct Template {
    events_deflated: Vec<u8>, // the events array, non-final blocks
    tail_deflated: Vec<u8>,   // "}", final block
    rest_crc: crc32fast::Hasher,
    rest_len: u64,
    page: String,
}

impl Template {
    fn new(events: &[u8], page: &str) -> Template {
        let mut rest_crc = crc32fast::Hasher::new();
        rest_crc.update(events);
        rest_crc.update(b"}");
        Template {
            events_deflated: deflate_piece(events, false),
            tail_deflated: deflate_piece(b"}", true),
            rest_crc,
            rest_len: events.len() as u64 + 1,
            page: page.to_string(),
        }
    }

    fn body(&self, session: &str, seq: u32) -> Vec<u8> {
        let full = common::envelope_body(session, seq, &self.page, b"");
        let head = &full[..full.len() - 1]; // without the closing brace
        let mut out = Vec::with_capacity(self.events_deflated.len() + 256);
        out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
        out.extend_from_slice(&deflate_piece(head, false));
        out.extend_from_slice(&self.events_deflated);
        out.extend_from_slice(&self.tail_deflated);
        let mut crc = crc32fast::Hasher::new();
        crc.update(head);
        crc.combine(&self.rest_crc);
        out.extend_from_slice(&crc.finalize().to_le_bytes());
        out.extend_from_slice(&((head.len() as u64 + self.rest_len) as u32).to_le_bytes());
        out
    }
}

/// Events from the fixtures, in recording order, until the gzip beacon reaches ~16 KB.
fn build_template() -> (Template, usize) {
    let fx: Vec<Fixture> = ["signup", "checkout", "account", "large"].iter().map(|n| fixture(n)).collect();
    let mut texts: Vec<&str> = Vec::new();
    for f in &fx {
        texts.extend(f.event_texts().into_iter().filter(|e| e.len() <= 64 * 1024));
    }
    // Grow the prefix until the compressed size passes the target.
    let mut n = 1;
    loop {
        let ev = common::cut(&texts[..n], usize::MAX).pop().unwrap();
        if deflate_piece(&ev, true).len() + 200 >= WIRE_TARGET || n == texts.len() {
            let t = Template::new(&ev, &fx[0].page);
            return (t, ev.len());
        }
        n += 1;
    }
}

fn arg<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map(|s| s.as_str())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = arg(&args, "--url").expect("--url").trim_end_matches('/').to_string();
    let key = arg(&args, "--key").unwrap_or("bench").to_string();
    let conc: usize = arg(&args, "--concurrency").unwrap_or("16").parse().unwrap();
    let seconds: f64 = arg(&args, "--seconds").unwrap_or("20").parse().unwrap();
    let max_requests: u64 = arg(&args, "--max-requests").unwrap_or("200000").parse().unwrap();
    let per_session: u32 = arg(&args, "--chunks-per-session").unwrap_or("30").parse().unwrap();
    let tag = arg(&args, "--tag").unwrap_or("load").to_string();
    let run = std::process::id();

    let (tpl, raw_len) = build_template();
    // Self-check: the spliced body is one valid gzip member holding the envelope.
    let sample = tpl.body("s_selfcheck_0000", 7);
    let mut dec = String::new();
    flate2::read::GzDecoder::new(&sample[..]).read_to_string(&mut dec).expect("spliced gzip decodes");
    let v: serde_json::Value = serde_json::from_str(&dec).expect("spliced body is JSON");
    assert_eq!(v["seq"], 7);
    assert!(dec.len() > raw_len && dec.ends_with("]}"));

    let tpl = Arc::new(tpl);
    let sent = Arc::new(AtomicU64::new(0));
    let results: Arc<Mutex<(Vec<f64>, BTreeMap<String, u64>)>> = Arc::new(Mutex::new((Vec::new(), BTreeMap::new())));
    let origin = "http://127.0.0.1:8787";
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let threads: Vec<_> = (0..conc)
        .map(|t| {
            let (tpl, sent, results, url, key, tag) =
                (tpl.clone(), sent.clone(), results.clone(), url.clone(), key.clone(), tag.clone());
            std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(10)).build();
                let mut lat = Vec::new();
                let mut statuses: BTreeMap<String, u64> = BTreeMap::new();
                let mut n: u32 = 0;
                while Instant::now() < deadline && sent.fetch_add(1, Relaxed) < max_requests {
                    let session = format!("s_{tag}_{run}_{t}_{}", n / per_session);
                    let body = tpl.body(&session, n % per_session);
                    n += 1;
                    let t0 = Instant::now();
                    let r = agent
                        .post(&format!("{url}/v1/ingest/{key}"))
                        .set("Content-Type", "text/plain")
                        .set("Content-Encoding", "gzip")
                        .set("Origin", origin)
                        .send_bytes(&body);
                    let status = match r {
                        Ok(resp) => {
                            let s = resp.status();
                            let _ = resp.into_string();
                            s.to_string()
                        }
                        Err(ureq::Error::Status(s, resp)) => {
                            let b = resp.into_string().unwrap_or_default();
                            if statuses.get(&s.to_string()).is_none() {
                                eprintln!("status {s}: {}", b.chars().take(300).collect::<String>());
                            }
                            s.to_string()
                        }
                        Err(e) => {
                            eprintln!("transport: {e}");
                            "transport".into()
                        }
                    };
                    lat.push(t0.elapsed().as_secs_f64() * 1e3);
                    *statuses.entry(status).or_default() += 1;
                }
                let mut r = results.lock().unwrap();
                r.0.extend(lat);
                for (k, v) in statuses {
                    *r.1.entry(k).or_default() += v;
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let (mut lat, statuses) = Arc::try_unwrap(results).ok().unwrap().into_inner().unwrap();
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let ok = statuses.get("202").copied().unwrap_or(0);
    let out = serde_json::json!({
        "url": url, "concurrency": conc, "seconds": elapsed, "requests": lat.len(),
        "ok_202": ok, "statuses": statuses,
        "req_s": lat.len() as f64 / elapsed, "ok_req_s": ok as f64 / elapsed,
        "p50_ms": common::pct(&lat, 50.0), "p99_ms": common::pct(&lat, 99.0),
        "max_ms": lat.last().copied().unwrap_or(f64::NAN),
        "wire_bytes": sample.len(), "raw_bytes": dec.len(),
    });
    println!("{out}");
}
