//! Benchmarks 5 and 6: a bounded load generator on loopback.
//!   cargo bench --bench load -- --url http://127.0.0.1:P --key bench [--concurrency 16]
//!       [--seconds 20] [--max-requests 200000] [--chunks-per-session 30] [--wire-kb 16] [--tag NAME]
//! Sends gzip beacons of ~16 KB (--wire-kb) on the wire (rrweb events from the recorded fixtures), each
//! request its own (session, seq): thread t's n-th request is seq n % 30 of session
//! `s_{tag}_{t}_{n / 30}`. Bodies are built without compressing per request: the events are
//! deflated once, the small varying head is deflated per request, and the pieces are spliced
//! into one gzip member (sync-flushed deflate blocks, CRC-32 combined). Stops by itself at the
//! deadline or the request cap. Prints one JSON object: req/s, p50/p99/max latency, statuses.

use std::collections::BTreeMap;
use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use flate2::write::DeflateEncoder;
use flate2::Compression;

#[path = "../tests/support/pipeline/mod.rs"]
mod common;
#[path = "native/mod.rs"]
mod native;
use common::Fixture;
use native::fixture;

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
fn build_template(wire_target: usize) -> (Template, usize) {
    let fx: Vec<Fixture> = ["signup", "checkout", "account", "large"]
        .iter()
        .map(|n| fixture(n))
        .collect();
    let mut texts: Vec<&str> = Vec::new();
    for f in &fx {
        texts.extend(f.event_texts().into_iter().filter(|e| e.len() <= 64 * 1024));
    }
    // Grow the prefix until the compressed size passes the target.
    let mut n = 1;
    loop {
        let ev = common::cut(&texts[..n], usize::MAX).pop().unwrap();
        if deflate_piece(&ev, true).len() + 200 >= wire_target || n == texts.len() {
            let t = Template::new(&ev, &fx[0].page);
            return (t, ev.len());
        }
        n += 1;
    }
}

/// A minimal HTTP/1.1 keep-alive client: one write per request (TCP_NODELAY), so no Nagle /
/// delayed-ACK stalls distort the latencies; Content-Length and chunked responses.
struct Conn {
    addr: String,
    stream: Option<BufReader<TcpStream>>,
}

impl Conn {
    fn new(url: &str) -> Conn {
        let addr = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        Conn { addr, stream: None }
    }

    fn post(&mut self, path: &str, headers: &str, body: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
        let mut req = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n{headers}\r\n",
            self.addr,
            body.len()
        )
        .into_bytes();
        req.extend_from_slice(body);
        let mut attempt = 0;
        loop {
            if self.stream.is_none() {
                let s = TcpStream::connect(&self.addr)?;
                s.set_nodelay(true)?;
                s.set_read_timeout(Some(Duration::from_secs(15)))?;
                s.set_write_timeout(Some(Duration::from_secs(15)))?;
                self.stream = Some(BufReader::new(s));
            }
            let s = self.stream.as_mut().unwrap();
            let r = s.get_mut().write_all(&req).and_then(|_| {
                quickack(s.get_ref());
                read_response(s)
            });
            match r {
                Ok((status, body, close)) => {
                    if close {
                        self.stream = None;
                    }
                    return Ok((status, body));
                }
                // A keep-alive connection the server closed: reconnect once (ingest is
                // idempotent per seq, a resend is acknowledged as a duplicate).
                Err(e) => {
                    self.stream = None;
                    attempt += 1;
                    if attempt > 1 {
                        return Err(e);
                    }
                }
            }
        }
    }
}

/// Linux TCP_QUICKACK before each read: without it, on a kept-alive connection the client's
/// delayed ACK (40 ms) meets the server's Nagle on a response written in two parts, and every
/// request takes ~40 ms whatever the worker does. (Not sticky in Linux: set per read.)
#[cfg(target_os = "linux")]
fn quickack(s: &TcpStream) {
    use std::os::fd::AsRawFd;
    extern "C" {
        fn setsockopt(
            fd: i32,
            level: i32,
            name: i32,
            val: *const std::ffi::c_void,
            len: u32,
        ) -> i32;
    }
    const IPPROTO_TCP: i32 = 6;
    const TCP_QUICKACK: i32 = 12;
    let one: i32 = 1;
    // SAFETY: a valid fd and a 4-byte int option value.
    unsafe {
        setsockopt(
            s.as_raw_fd(),
            IPPROTO_TCP,
            TCP_QUICKACK,
            &one as *const i32 as *const _,
            4,
        );
    }
}
#[cfg(not(target_os = "linux"))]
fn quickack(_: &TcpStream) {}

fn read_response(r: &mut BufReader<TcpStream>) -> std::io::Result<(u16, Vec<u8>, bool)> {
    use std::io::{BufRead, Error, ErrorKind};
    let bad = |m: &str| Error::new(ErrorKind::InvalidData, m.to_string());
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(Error::new(ErrorKind::UnexpectedEof, "connection closed"));
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("status line"))?;
    let (mut len, mut chunked, mut close) = (None, false, false);
    loop {
        line.clear();
        r.read_line(&mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_ascii_lowercase());
            match k.as_str() {
                "content-length" => len = v.parse::<usize>().ok(),
                "transfer-encoding" => chunked = v.contains("chunked"),
                "connection" => close = v == "close",
                _ => {}
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            r.read_line(&mut line)?;
            let n = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| bad("chunk size"))?;
            if n == 0 {
                line.clear();
                r.read_line(&mut line)?;
                break;
            }
            let start = body.len();
            body.resize(start + n, 0);
            r.read_exact(&mut body[start..])?;
            let mut crlf = [0u8; 2];
            r.read_exact(&mut crlf)?;
        }
    } else if let Some(n) = len {
        body.resize(n, 0);
        r.read_exact(&mut body)?;
    } else {
        r.read_to_end(&mut body)?;
        close = true;
    }
    Ok((status, body, close))
}

/// Latencies (ms) and answers by status, merged from the threads.
type Results = (Vec<f64>, BTreeMap<String, u64>);

fn arg<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|s| s.as_str())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo test --all-targets` runs this binary without `--bench` and without a worker:
    // check the spliced gzip bodies only.
    let test = !args.iter().any(|a| a == "--bench");
    let url = match arg(&args, "--url") {
        Some(u) => u.trim_end_matches('/').to_string(),
        None if test => String::new(),
        None => panic!("--url http://127.0.0.1:PORT is required"),
    };
    let key = arg(&args, "--key").unwrap_or("bench").to_string();
    let conc: usize = arg(&args, "--concurrency").unwrap_or("16").parse().unwrap();
    let seconds: f64 = arg(&args, "--seconds").unwrap_or("20").parse().unwrap();
    let max_requests: u64 = arg(&args, "--max-requests")
        .unwrap_or("200000")
        .parse()
        .unwrap();
    let per_session: u32 = arg(&args, "--chunks-per-session")
        .unwrap_or("30")
        .parse()
        .unwrap();
    let tag = arg(&args, "--tag").unwrap_or("load").to_string();
    let run = std::process::id();

    let wire_kb: usize = arg(&args, "--wire-kb").unwrap_or("16").parse().unwrap();
    let (tpl, raw_len) = build_template(wire_kb * 1024);
    // Self-check: the spliced body is one valid gzip member holding the envelope.
    let sample = tpl.body("s_selfcheck_0000", 7);
    let mut dec = String::new();
    flate2::read::GzDecoder::new(&sample[..])
        .read_to_string(&mut dec)
        .expect("spliced gzip decodes");
    let v: serde_json::Value = serde_json::from_str(&dec).expect("spliced body is JSON");
    assert_eq!(v["seq"], 7);
    assert!(dec.len() > raw_len && dec.ends_with("]}"));
    if url.is_empty() {
        println!(
            "load: spliced gzip bodies check out ({} bytes on the wire); no --url, nothing sent",
            sample.len()
        );
        return;
    }

    let tpl = Arc::new(tpl);
    let sent = Arc::new(AtomicU64::new(0));
    let results: Arc<Mutex<Results>> = Arc::new(Mutex::new((Vec::new(), BTreeMap::new())));
    let origin = "http://127.0.0.1:8787";
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let threads: Vec<_> = (0..conc)
        .map(|t| {
            let (tpl, sent, results, url, key, tag) =
                (tpl.clone(), sent.clone(), results.clone(), url.clone(), key.clone(), tag.clone());
            std::thread::spawn(move || {
                let mut conn = Conn::new(&url);
                let mut lat = Vec::new();
                let mut statuses: BTreeMap<String, u64> = BTreeMap::new();
                let mut n: u32 = 0;
                let headers = format!(
                    "Content-Type: text/plain\r\nContent-Encoding: gzip\r\nOrigin: {origin}\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 veilgate-bench\r\n"
                );
                while Instant::now() < deadline && sent.fetch_add(1, Relaxed) < max_requests {
                    let session = format!("s_{tag}_{run}_{t}_{}", n / per_session);
                    let body = tpl.body(&session, n % per_session);
                    n += 1;
                    let t0 = Instant::now();
                    let status = match conn.post(&format!("/v1/ingest/{key}"), &headers, &body) {
                        Ok((s, b)) => {
                            if s != 202 && !statuses.contains_key(&s.to_string()) {
                                eprintln!("status {s}: {}", String::from_utf8_lossy(&b).chars().take(300).collect::<String>());
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
