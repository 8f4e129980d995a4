//! The end-to-end harness: the real worker (build/ from `make build`) on real workerd via
//! `wrangler dev`, with fresh local R2/KV/DO state, driven over HTTP on loopback.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

#[path = "../../support/node.rs"]
mod node;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub struct Worker {
    pub base: String,
    pub state: PathBuf,
    pub log: PathBuf,
    child: Child,
    config: String,
    built: String,
    vars: Vec<(String, String)>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        // The child leads its own process group; workerd survives a kill of wrangler alone.
        let _ = Command::new("kill")
            .arg("--")
            .arg(format!("-{}", self.child.id()))
            .status();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The shared worker's variables: a short idle time so tests see sessions close in seconds.
const SHARED_VARS: &[(&str, &str)] = &[("SESSION_IDLE_SECS", "3")];

/// One worker shared by every module that only looks at its own sessions (start-up is
/// seconds, not milliseconds).
pub fn worker() -> &'static Worker {
    static W: OnceLock<Worker> = OnceLock::new();
    W.get_or_init(|| start(SHARED_VARS))
}

/// A worker like the shared one, but of one module alone (`cell` is that module's static):
/// for modules that scan everything a worker stored or logged for planted values, where
/// another module's data could match what they look for.
pub fn own_worker(cell: &'static OnceLock<Worker>) -> &'static Worker {
    cell.get_or_init(|| start(SHARED_VARS))
}

/// Start a worker with fresh state and extra `--var`s. It is stopped when the `Worker` drops,
/// and by a watchdog when the test process exits (statics are never dropped).
pub fn start(vars: &[(&str, &str)]) -> Worker {
    start_with("wrangler.toml", "build/worker/shim.mjs", vars, None)
}

/// The test-only build with fault injection (`tools/build.sh --faults`).
pub fn start_faults(vars: &[(&str, &str)]) -> Worker {
    start_with(
        "tests/wrangler.faults.toml",
        "build-faults/worker/shim.mjs",
        vars,
        None,
    )
}

/// `state`: reuse a state directory (a restart); `None` makes and seeds a fresh one.
pub fn start_with(
    config: &str,
    built: &str,
    vars: &[(&str, &str)],
    state: Option<PathBuf>,
) -> Worker {
    let root = root();
    assert!(
        root.join(built).exists(),
        "the worker is not built ({built}): run `make test` (or `make build` before `cargo test`)"
    );
    let state = match state {
        Some(s) => s,
        None => {
            let state = std::env::temp_dir().join(format!(
                "veilgate-e2e-{}-{}",
                std::process::id(),
                free_port()
            ));
            std::fs::create_dir_all(&state).unwrap();
            let mut seed = Command::new("bash");
            seed.arg(root.join("tools/seed.sh")).arg(&state);
            for f in std::fs::read_dir(root.join("tests/projects")).unwrap() {
                seed.arg(f.unwrap().path());
            }
            let ok = seed.status().unwrap().success();
            assert!(ok, "seeding local KV failed");
            state
        }
    };

    // The port is free when picked but may be taken before wrangler binds it (another
    // worker's runtime opens ephemeral ports too): then start again on another one.
    let mut attempts = 0;
    loop {
        attempts += 1;
        match launch(&root, config, built, vars, &state) {
            (w, true) => return w,
            (w, false) if attempts < 4 => drop(w),
            (w, false) => panic!("worker did not start; log:\n{}", w.log_text()),
        }
    }
}

/// One start of wrangler on a fresh port; `false` if that port was already taken.
fn launch(
    root: &std::path::Path,
    config: &str,
    built: &str,
    vars: &[(&str, &str)],
    state: &std::path::Path,
) -> (Worker, bool) {
    let port = free_port();
    let log = state.join(format!("wrangler-{port}.log"));
    let mut var_args = String::from(" --var AUDIT_PSEUDONYM_KEY:e2e-only-pseudonym-key");
    for (k, v) in vars {
        var_args.push_str(&format!(" --var {k}:{v}"));
    }
    // setsid: own process group. The loop kills the group once the test process is gone.
    let script = format!(
        "source tools/env.sh; VEILGATE_PREBUILT=1 wrangler dev -c {config} --local --ip 127.0.0.1 \
         --port {port} --inspector-port 0 --test-scheduled --persist-to '{state}' {var_args} > '{log}' 2>&1 & \
         while kill -0 {parent} 2>/dev/null && kill -0 $! 2>/dev/null; do sleep 0.5; done; kill -- -$$",
        state = state.display(),
        log = log.display(),
        parent = std::process::id(),
    );
    let child = Command::new("setsid")
        .arg("bash")
        .arg("-c")
        .arg(script)
        .current_dir(root)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let w = Worker {
        base: format!("http://127.0.0.1:{port}"),
        state: state.to_path_buf(),
        log,
        child,
        config: config.to_string(),
        built: built.to_string(),
        vars: vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(r) = ureq::get(&format!("{}/healthz", w.base))
            .timeout(Duration::from_secs(2))
            .call()
        {
            if r.status() == 200 {
                return (w, true);
            }
        }
        if w.log_text().contains("Address already in use") {
            return (w, false);
        }
        assert!(
            Instant::now() < deadline,
            "worker did not start; log:\n{}",
            w.log_text()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

impl Worker {
    /// Stop this worker and start it again on the same local state (a restart of the edge).
    pub fn restart(self) -> Worker {
        let (config, built, state) = (self.config.clone(), self.built.clone(), self.state.clone());
        let vars = self.vars.clone();
        drop(self);
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        start_with(&config, &built, &vars, Some(state))
    }
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// The documented error shape, returning its code.
    pub fn error_code(&self) -> String {
        let v = self.json();
        assert!(
            v["error"]["message"].is_string(),
            "error without message: {v}"
        );
        v["error"]["code"].as_str().expect("error.code").to_string()
    }
}

impl Worker {
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Reply {
        self.try_request(method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// `request`, but a transport failure (reset, timeout) is returned, not a panic.
    pub fn try_request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Reply, String> {
        let mut req =
            ureq::request(method, &format!("{}{path}", self.base)).timeout(Duration::from_secs(60));
        for (k, v) in headers {
            req = req.set(k, v);
        }
        let res = match body {
            Some(b) => req.send_bytes(b),
            None => req.call(),
        };
        let resp = match res {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => return Err(e.to_string()),
        };
        let status = resp.status();
        let headers = resp
            .headers_names()
            .into_iter()
            .map(|n| {
                let v = resp.header(&n).unwrap_or("").to_string();
                (n, v)
            })
            .collect();
        let mut body = Vec::new();
        let read = resp.into_reader().take(256 << 20).read_to_end(&mut body);
        // A 204 has no body; ureq reports its absence as an early EOF.
        if status != 204 {
            read.map_err(|e| e.to_string())?;
        }
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    pub fn post(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        self.request("POST", path, headers, Some(body))
    }

    pub fn get(&self, path: &str, token: &str) -> Reply {
        let auth = format!("Bearer {token}");
        self.request("GET", path, &[("Authorization", &auth)], None)
    }

    /// Keys of the live objects in local R2 (from the local R2 metadata database).
    pub fn r2_keys(&self) -> Vec<String> {
        let script = r#"
import glob, sqlite3, sys
for f in glob.glob(sys.argv[1] + '/v3/r2/miniflare-R2BucketObject/*.sqlite'):
    try:
        for row in sqlite3.connect(f).execute('select key from _mf_objects'):
            print(row[0])
    except sqlite3.Error:
        pass
"#;
        let out = Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(&self.state)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let keys: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        assert!(
            !keys.is_empty(),
            "no keys found in local R2 metadata: has its layout changed?"
        );
        keys
    }

    /// Every file under the worker's local state (R2 blobs, DO and KV databases), as
    /// (path, bytes) — for scanning what was really stored. Gzip blobs (chunks are stored
    /// gzip) are inflated, so a scan for a value sees what they hold.
    pub fn r2_objects(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = self.r2_objects_raw();
        for (_, bytes) in &mut out {
            if bytes.starts_with(&[0x1f, 0x8b]) {
                let mut inflated = Vec::new();
                if flate2::read::GzDecoder::new(&bytes[..])
                    .read_to_end(&mut inflated)
                    .is_ok()
                {
                    *bytes = inflated;
                }
            }
        }
        out
    }

    /// `r2_objects` as the files hold them.
    pub fn r2_objects_raw(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        walk(&self.state, &mut out);
        out
    }
}

fn walk(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if let Ok(bytes) = std::fs::read(&p) {
            out.push((p.display().to_string(), bytes));
        }
    }
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// A unique id per call, valid for sessions and visitors.
pub fn id(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}_{:x}{:04x}", t, N.fetch_add(1, Ordering::Relaxed))
}

pub fn beacon(
    session: &str,
    visitor: &str,
    seq: u64,
    platform: &str,
    events: &serde_json::Value,
) -> Vec<u8> {
    serde_json::json!({
        "session": session, "visitor": visitor, "seq": seq, "platform": platform,
        "page": "http://localhost:8787/demo?step=1",
        "sdk": {"name": "veilgate-tests", "version": "1"},
        "events": events,
    })
    .to_string()
    .into_bytes()
}

/// Post one new session to `project` as gzip beacons, one per piece of `events` (seq 0, 1, …),
/// each with `page`, and check every one was stored; returns the session id.
pub fn post_session<'a>(
    w: &Worker,
    project: &str,
    page: &serde_json::Value,
    pieces: impl IntoIterator<Item = &'a [serde_json::Value]>,
) -> String {
    let (s, v) = (id("s"), id("v"));
    for (seq, piece) in pieces.into_iter().enumerate() {
        let mut body: serde_json::Value = serde_json::from_slice(&beacon(
            &s,
            &v,
            seq as u64,
            "web",
            &serde_json::Value::Array(piece.to_vec()),
        ))
        .unwrap();
        body["page"] = page.clone();
        let r = w.post(
            &format!("/v1/ingest/{project}?enc=gzip"),
            &[("Origin", "http://localhost:8787")],
            &gzip(body.to_string().as_bytes()),
        );
        assert_eq!(r.status, 202, "{}", r.text());
        assert_eq!(r.json()["stored"], true, "{}", r.text());
    }
    s
}

pub fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

impl Worker {
    /// Send one raw HTTP/1.1 request (exactly these bytes, on its own connection) and read the
    /// reply. For what `ureq` refuses to send (non-ASCII header bytes) and for servers that
    /// answer before the body is read (413 on `Content-Length`): the body is written from
    /// another thread and write errors are ignored.
    pub fn raw(&self, request: Vec<u8>) -> Reply {
        use std::net::TcpStream;
        let addr = self.base.trim_start_matches("http://").to_string();
        let mut stream = TcpStream::connect(&addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut writer = stream.try_clone().unwrap();
        let sender = std::thread::spawn(move || {
            let _ = writer.write_all(&request);
            let _ = writer.flush();
        });
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        let _ = sender.join();
        parse_reply(&bytes)
            .unwrap_or_else(|| panic!("no HTTP reply: {:?}", String::from_utf8_lossy(&bytes)))
    }
}

/// A whole HTTP/1.1 request with `Host`, `Content-Length` and `Connection: close` added.
pub fn raw_request(method: &str, path: &str, headers: &[(&str, &[u8])], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n")
        .into_bytes();
    for (k, v) in headers {
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
    out
}

fn parse_reply(bytes: &[u8]) -> Option<Reply> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let rest = &bytes[end + 4..];
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked {
        let mut body = Vec::new();
        let mut at = 0;
        loop {
            let nl = at + rest[at..].windows(2).position(|w| w == b"\r\n")?;
            let size_text = String::from_utf8_lossy(&rest[at..nl]).into_owned();
            let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(rest.get(nl + 2..nl + 2 + size)?);
            at = nl + 2 + size + 2;
        }
        body
    } else {
        rest.to_vec()
    };
    Some(Reply {
        status,
        headers,
        body,
    })
}

/// Deterministic xorshift64* for shuffles and picks in load tests (no `rand` needed).
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform enough in `0..n` for tests.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

impl Worker {
    /// `post`, but a transport failure (reset, timeout) is returned, not a panic: load tests
    /// count them and retry as an SDK would.
    pub fn try_post(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Reply, String> {
        self.try_request("POST", path, headers, Some(body))
    }
}

/// Run a Chromium test script (`node SCRIPT ARGS…` with the pinned node) and return its JSON
/// report, which must say `"ok": true`. `what` names the run in failures.
pub fn browser_script(
    what: &str,
    script: &str,
    args: &[&str],
    envs: &[(&str, &str)],
) -> serde_json::Value {
    let r = node::report(what, script, args, envs);
    assert_eq!(r["ok"], true, "{what}: {r}");
    r
}

/// Replay stored events (a JSON file) in headless Chromium at 16× speed
/// (`tools/replay/check.mjs`), with a screenshot to `png`; returns the report unchecked.
pub fn replay(events: &Path, png: &Path) -> serde_json::Value {
    let (events, png) = (events.to_str().unwrap(), png.to_str().unwrap());
    node::report(
        "replay check",
        "tools/replay/check.mjs",
        &[events, png, "--speed", "16"],
        &[],
    )
}
