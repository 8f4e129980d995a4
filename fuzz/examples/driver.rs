//! Stable fuzz driver: no nightly, no libFuzzer.
//!
//! For each target: replay every committed seed (`corpus/<target>/*`), then run mutated seeds
//! (bit flips, byte edits, dictionary tokens, splices, repeats, truncation, random bytes) from
//! a seeded RNG, for `--iters` inputs or `--seconds` per target, whichever ends first. The
//! input sequence is a function of `--seed` alone, so a run can be repeated exactly.
//!
//! A panic is a crash: the input is written to `artifacts/<target>/crash-<hash>` and the target
//! stops. An input running longer than `--timeout-ms` is a timeout: it is written to
//! `artifacts/<target>/timeout-<hash>` and the driver exits at once (a running input cannot be
//! interrupted). Exit status: 0 clean, 1 crash, 3 timeout, 2 usage.
//!
//! ```text
//! driver [--target NAME]... [--iters N] [--seconds S] [--seed N] [--max-len BYTES]
//!        [--timeout-ms MS] [--corpus DIR] [--artifacts DIR] [--quiet]
//! driver --replay NAME FILE...     run one target on files (a crash reproducer)
//! driver --list
//! driver --write-dicts DIR         libFuzzer dictionaries (DIR/<target>.dict) from the tokens
//! ```

use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use veilgate_fuzz::{common_tokens, target, token_bytes, Target, TARGETS};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn chance(&mut self, num: u64, den: u64) -> bool {
        self.next() % den < num
    }
}

const INTERESTING: &[u8] = &[
    0, 1, 0x7f, 0x80, 0xff, 0xfe, b'"', b'\\', b'{', b'}', b'[', b']', b',', b':', b';', b'=',
    b'%', b'.', b' ', b'\n', b'\r', 0xc3, 0xe2,
];

fn mutate(rng: &mut Rng, base: &[u8], pool: &[Vec<u8>], dict: &[&str], max_len: usize) -> Vec<u8> {
    let mut v = base.to_vec();
    let rounds = 1 + rng.below(6);
    for _ in 0..rounds {
        let len = v.len();
        match rng.below(14) {
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                v[i] = rng.next() as u8;
            }
            2 => {
                let i = rng.below(len + 1);
                let n = 1 + rng.below(8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                v.splice(i..i, bytes);
            }
            3 if len > 0 => {
                let a = rng.below(len);
                let b = (a + 1 + rng.below(64.min(len - a))).min(len);
                v.drain(a..b);
            }
            4 if len > 0 => {
                let a = rng.below(len);
                let b = (a + 1 + rng.below(128.min(len - a))).min(len);
                let chunk = v[a..b].to_vec();
                let at = rng.below(len + 1);
                v.splice(at..at, chunk);
            }
            5 | 6 => {
                let tokens = if rng.chance(3, 4) && !dict.is_empty() {
                    dict
                } else {
                    common_tokens()
                };
                let t = token_bytes(tokens[rng.below(tokens.len())]);
                let at = rng.below(len + 1);
                v.splice(at..at, t);
            }
            7 if len > 0 => {
                let tokens = if !dict.is_empty() {
                    dict
                } else {
                    common_tokens()
                };
                let t = token_bytes(tokens[rng.below(tokens.len())]);
                let at = rng.below(len);
                let end = (at + t.len()).min(len);
                v.splice(at..end, t);
            }
            8 if !pool.is_empty() => {
                let other = &pool[rng.below(pool.len())];
                let cut = rng.below(v.len() + 1);
                let from = rng.below(other.len() + 1);
                v.truncate(cut);
                v.extend_from_slice(&other[from..]);
            }
            9 if len > 0 => {
                let i = rng.below(len);
                v[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            10 if len > 0 => {
                v.truncate(rng.below(len));
            }
            11 => {
                let at = rng.below(len + 1);
                v.insert(at, 0xFF);
            }
            12 if len > 0 => {
                let i = rng.below(len);
                v[i] = v[i].wrapping_add((rng.below(33) as u8).wrapping_sub(16));
            }
            13 if len > 0 => {
                // Repeat a short chunk many times: depth, length and quadratic-time probes.
                let a = rng.below(len);
                let b = (a + 1 + rng.below(8.min(len - a))).min(len);
                let chunk = v[a..b].to_vec();
                let times = 1 + rng.below(2000);
                let mut rep = Vec::with_capacity(chunk.len() * times);
                for _ in 0..times {
                    rep.extend_from_slice(&chunk);
                }
                v.splice(a..a, rep);
            }
            _ => {}
        }
        if v.len() > max_len.max(base.len()) {
            v.truncate(max_len.max(base.len()));
        }
    }
    v
}

fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn load_corpus(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<PathBuf> = match fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
        .into_iter()
        .filter_map(|p| fs::read(&p).ok().map(|b| (p.display().to_string(), b)))
        .collect()
}

/// The input being run now, for the watchdog.
struct Current {
    target: Mutex<&'static str>,
    input: Mutex<Vec<u8>>,
    started_ms: AtomicU64,
    busy: AtomicBool,
}

struct Opts {
    targets: Vec<&'static Target>,
    iters: u64,
    seconds: f64,
    seed: u64,
    max_len: usize,
    timeout_ms: u64,
    corpus: PathBuf,
    artifacts: PathBuf,
    quiet: bool,
}

struct Outcome {
    name: &'static str,
    seeds: usize,
    execs: u64,
    secs: f64,
    crash: Option<String>,
    slowest_ms: f64,
}

fn save(artifacts: &Path, target: &str, kind: &str, data: &[u8]) -> PathBuf {
    let dir = artifacts.join(target);
    let _ = fs::create_dir_all(&dir);
    let p = dir.join(format!("{kind}-{:016x}", fnv(data)));
    let _ = fs::write(&p, data);
    p
}

fn run_one(t: &Target, cur: &Current, data: &[u8], epoch: Instant) -> Result<f64, String> {
    *cur.input.lock().unwrap() = data.to_vec();
    let start = Instant::now();
    cur.started_ms
        .store(epoch.elapsed().as_millis() as u64, Ordering::SeqCst);
    cur.busy.store(true, Ordering::SeqCst);
    let r = panic::catch_unwind(AssertUnwindSafe(|| (t.run)(data)));
    cur.busy.store(false, Ordering::SeqCst);
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    match r {
        Ok(()) => Ok(ms),
        Err(e) => Err(e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".into())),
    }
}

fn fuzz_target(t: &'static Target, o: &Opts, cur: &Current, epoch: Instant) -> Outcome {
    *cur.target.lock().unwrap() = t.name;
    let seeds = load_corpus(&o.corpus.join(t.name));
    let mut rng = Rng(o.seed ^ fnv(t.name.as_bytes()));
    let start = Instant::now();
    let mut out = Outcome {
        name: t.name,
        seeds: seeds.len(),
        execs: 0,
        secs: 0.0,
        crash: None,
        slowest_ms: 0.0,
    };
    let mut pool: Vec<Vec<u8>> = seeds.iter().map(|(_, b)| b.clone()).collect();
    if pool.is_empty() {
        pool.push(Vec::new());
    }
    let base_len = pool.len();
    let on_input = |data: &[u8], out: &mut Outcome| -> bool {
        out.execs += 1;
        match run_one(t, cur, data, epoch) {
            Ok(ms) => {
                out.slowest_ms = out.slowest_ms.max(ms);
                true
            }
            Err(msg) => {
                let p = save(&o.artifacts, t.name, "crash", data);
                out.crash = Some(format!("{msg} (input: {})", p.display()));
                false
            }
        }
    };
    for (_, s) in &seeds {
        if !on_input(s, &mut out) {
            out.secs = start.elapsed().as_secs_f64();
            return out;
        }
    }
    let deadline = start + Duration::from_secs_f64(o.seconds);
    let mut i = 0u64;
    while i < o.iters && Instant::now() < deadline {
        i += 1;
        let data = if rng.chance(1, 20) {
            let n = rng.below(o.max_len.min(4096) + 1);
            (0..n).map(|_| rng.next() as u8).collect()
        } else {
            let base = pool[rng.below(pool.len())].clone();
            mutate(&mut rng, &base, &pool, t.dict, o.max_len)
        };
        if !on_input(&data, &mut out) {
            break;
        }
        // Keep some mutants to mutate further (a mutation chain, without coverage feedback).
        if rng.chance(1, 8) {
            if pool.len() < base_len + 256 {
                pool.push(data);
            } else {
                let k = base_len + rng.below(256);
                pool[k] = data;
            }
        }
    }
    out.secs = start.elapsed().as_secs_f64();
    out
}

/// One libFuzzer dictionary per target: its tokens and the common JSON ones, `\xNN`-escaped.
fn write_dicts(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    for t in TARGETS {
        let mut text = format!(
            "# {} (written by `driver --write-dicts` from src/lib.rs)\n",
            t.name
        );
        for (i, tok) in t.dict.iter().chain(common_tokens()).enumerate() {
            let mut esc = String::new();
            for b in token_bytes(tok) {
                if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
                    esc.push(char::from(b));
                } else {
                    esc.push_str(&format!("\\x{b:02X}"));
                }
            }
            text.push_str(&format!("t{i}=\"{esc}\"\n"));
        }
        fs::write(dir.join(format!("{}.dict", t.name)), text)?;
    }
    Ok(())
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: driver [--target NAME]... [--iters N] [--seconds S] [--seed N] [--max-len BYTES] \
         [--timeout-ms MS] [--corpus DIR] [--artifacts DIR] [--quiet]\n       driver --replay NAME FILE...\n       driver --list"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut o = Opts {
        targets: Vec::new(),
        iters: 2000,
        seconds: 5.0,
        seed: 0x5eed,
        max_len: 65536,
        timeout_ms: 10_000,
        corpus: here.join("corpus"),
        artifacts: here.join("artifacts"),
        quiet: false,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    let mut replay: Option<(&'static Target, Vec<String>)> = None;
    while let Some(a) = it.next() {
        let mut val = || it.next().cloned();
        match a.as_str() {
            "--list" => {
                for t in TARGETS {
                    println!("{}", t.name);
                }
                return ExitCode::SUCCESS;
            }
            "--target" => match val().as_deref().and_then(target) {
                Some(t) => o.targets.push(t),
                None => return usage(),
            },
            "--iters" => match val().and_then(|v| v.parse().ok()) {
                Some(n) => o.iters = n,
                None => return usage(),
            },
            "--seconds" => match val().and_then(|v| v.parse().ok()) {
                Some(n) => o.seconds = n,
                None => return usage(),
            },
            "--seed" => match val().and_then(|v| v.parse().ok()) {
                Some(n) => o.seed = n,
                None => return usage(),
            },
            "--max-len" => match val().and_then(|v| v.parse().ok()) {
                Some(n) => o.max_len = n,
                None => return usage(),
            },
            "--timeout-ms" => match val().and_then(|v| v.parse().ok()) {
                Some(n) => o.timeout_ms = n,
                None => return usage(),
            },
            "--corpus" => match val() {
                Some(d) => o.corpus = d.into(),
                None => return usage(),
            },
            "--artifacts" => match val() {
                Some(d) => o.artifacts = d.into(),
                None => return usage(),
            },
            "--quiet" => o.quiet = true,
            "--write-dicts" => {
                let Some(dir) = val() else { return usage() };
                return match write_dicts(Path::new(&dir)) {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("{dir}: {e}");
                        ExitCode::from(1)
                    }
                };
            }
            "--replay" => {
                let Some(t) = val().as_deref().and_then(target) else {
                    return usage();
                };
                replay = Some((t, it.by_ref().cloned().collect()));
                break;
            }
            _ => return usage(),
        }
    }
    if o.targets.is_empty() {
        o.targets = TARGETS.iter().collect();
    }

    // Panics are reported once, by the driver, with the saved input.
    let quiet = o.quiet;
    panic::set_hook(Box::new(move |info| {
        if !quiet {
            eprintln!("panic: {info}");
        }
    }));

    let cur = Arc::new(Current {
        target: Mutex::new(""),
        input: Mutex::new(Vec::new()),
        started_ms: AtomicU64::new(0),
        busy: AtomicBool::new(false),
    });
    let epoch = Instant::now();
    {
        // Watchdog: an input over the timeout is saved and the process exits.
        let cur = Arc::clone(&cur);
        let artifacts = o.artifacts.clone();
        let timeout = o.timeout_ms;
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(100));
            if cur.busy.load(Ordering::SeqCst) {
                let elapsed =
                    epoch.elapsed().as_millis() as u64 - cur.started_ms.load(Ordering::SeqCst);
                if elapsed > timeout && cur.busy.load(Ordering::SeqCst) {
                    let name = *cur.target.lock().unwrap();
                    let data = cur.input.lock().unwrap().clone();
                    let p = save(&artifacts, name, "timeout", &data);
                    eprintln!(
                        "TIMEOUT {name}: an input ran over {timeout} ms (input: {})",
                        p.display()
                    );
                    std::process::exit(3);
                }
            }
        });
    }

    // Targets run on a thread with the 8 MiB stack a main thread (and libFuzzer) has.
    let worker = std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || {
            if let Some((t, files)) = replay {
                let mut failed = false;
                for f in files {
                    let data = fs::read(&f).unwrap_or_else(|e| panic!("{f}: {e}"));
                    match run_one(t, &cur, &data, epoch) {
                        Ok(ms) => println!("{}: {f}: ok ({ms:.1} ms)", t.name),
                        Err(msg) => {
                            println!("{}: {f}: CRASH: {msg}", t.name);
                            failed = true;
                        }
                    }
                }
                return if failed { 1 } else { 0 };
            }
            println!(
                "{:<18} {:>6} {:>10} {:>8} {:>10} {:>10}  result",
                "target", "seeds", "execs", "secs", "execs/s", "slowest_ms"
            );
            let mut crashes = 0;
            let mut total_execs = 0u64;
            let all = Instant::now();
            for t in &o.targets {
                let r = fuzz_target(t, &o, &cur, epoch);
                total_execs += r.execs;
                println!(
                    "{:<18} {:>6} {:>10} {:>8.1} {:>10.0} {:>10.1}  {}",
                    r.name,
                    r.seeds,
                    r.execs,
                    r.secs,
                    r.execs as f64 / r.secs.max(1e-9),
                    r.slowest_ms,
                    r.crash
                        .as_deref()
                        .map_or("ok".to_string(), |c| format!("CRASH: {c}"))
                );
                if r.crash.is_some() {
                    crashes += 1;
                }
            }
            println!(
                "{} targets, {} execs in {:.1} s, seed {}: {} crashed",
                o.targets.len(),
                total_execs,
                all.elapsed().as_secs_f64(),
                o.seed,
                crashes
            );
            if crashes > 0 {
                1
            } else {
                0
            }
        });
    match worker.map(|h| h.join()) {
        Ok(Ok(0)) => ExitCode::SUCCESS,
        Ok(Ok(_)) => ExitCode::from(1),
        _ => ExitCode::from(1),
    }
}
