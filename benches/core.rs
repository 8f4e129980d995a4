//! Benchmarks 2 (native side) and 3, without criterion so that the wasm bench in
//! Node (tools/bench/wasm) runs the very same loops: per-iteration wall time, median.
//!   cargo bench --bench core -- throughput|latency [--smoke]     → one JSON object on stdout
//! throughput: pipeline and floor on the signup and large fixtures (MB/s of the events array).
//! latency: every ~64 KB beacon cut from the fixtures through `beacon_path` (prescan, envelope,
//! URL scrub, mask pipeline, chunk document), fresh masking state per beacon; p50/p99/max.

use std::hint::black_box;
use std::time::Instant;

use veilgate::privacy::{MaskPolicy, MaskState};

#[path = "../tests/support/pipeline/mod.rs"]
mod common;
#[path = "native/mod.rs"]
mod native;
use common::Fixture;
use native::{fixture, thread_cpu_ns};

fn root() -> &'static str {
    env!("CARGO_MANIFEST_DIR")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo test --all-targets` runs this binary without `--bench`: a quick check that it
    // works (tiny fixture, two iterations), not a measurement.
    let test = !args.iter().any(|a| a == "--bench");
    let smoke = test || args.iter().any(|a| a == "--smoke");
    let mode = args
        .iter()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .cloned()
        .unwrap_or_else(|| "throughput".into());
    let sel_json = std::fs::read_to_string(format!("{}/tools/bench/policy.selectors.json", root()))
        .expect("policy");
    let (selectors, sel_differs) = common::selectors_policy(&sel_json);
    let default = MaskPolicy::default();
    let mut out = serde_json::Map::new();
    out.insert(
        "selectors_policy_differs_from_default".into(),
        sel_differs.into(),
    );
    match mode.as_str() {
        "throughput" => {
            let sets = if test {
                vec![("signup", 2)]
            } else {
                vec![
                    ("signup", if smoke { 30 } else { 400 }),
                    ("large", if smoke { 3 } else { 30 }),
                ]
            };
            for (name, iters) in sets {
                let f = fixture(name);
                let mb = f.events.len() as f64 / 1e6;
                let mut m = serde_json::Map::new();
                m.insert("bytes".into(), f.events.len().into());
                m.insert("iters".into(), iters.into());
                let workloads: [(&str, &dyn Fn()); 3] = [
                    ("baseline", &|| {
                        black_box(common::baseline(black_box(&f.events)));
                    }),
                    ("mask_default", &|| {
                        black_box(common::pipeline(
                            black_box(&f.events),
                            &default,
                            &mut MaskState::default(),
                        ));
                    }),
                    ("mask_selectors", &|| {
                        black_box(common::pipeline(
                            black_box(&f.events),
                            &selectors,
                            &mut MaskState::default(),
                        ));
                    }),
                ];
                // Interleaved: each round runs every workload once, so a change in machine load
                // hits all of them alike; wall and thread-CPU time per iteration, medians.
                let mut wall: [Vec<f64>; 3] = Default::default();
                let mut cpu: [Vec<f64>; 3] = Default::default();
                for round in 0..iters + (iters / 10).max(1) {
                    for (i, (_, run)) in workloads.iter().enumerate() {
                        let (c, t) = (thread_cpu_ns(), Instant::now());
                        run();
                        if round >= (iters / 10).max(1) {
                            wall[i].push(t.elapsed().as_nanos() as f64);
                            cpu[i].push(thread_cpu_ns() - c);
                        }
                    }
                }
                for (i, (w, _)) in workloads.iter().enumerate() {
                    let med = common::median(&mut wall[i]);
                    let cmed = common::median(&mut cpu[i]);
                    m.insert(format!("{w}_median_ns"), med.into());
                    m.insert(format!("{w}_mb_s"), (mb / (med / 1e9)).into());
                    m.insert(format!("{w}_cpu_median_ns"), cmed.into());
                    m.insert(format!("{w}_cpu_mb_s"), (mb / (cmed / 1e9)).into());
                }
                out.insert(name.into(), m.into());
            }
        }
        "latency" => {
            let fx: Vec<Fixture> = ["signup", "checkout", "account", "large"]
                .iter()
                .map(|n| fixture(n))
                .collect();
            let beacons: Vec<Vec<u8>> = common::beacons_64k(&fx)
                .iter()
                .enumerate()
                .map(|(i, ev)| common::envelope_body("s_bench_latency", i as u32, &fx[0].page, ev))
                .collect();
            let rounds = if test {
                1
            } else if smoke {
                20
            } else {
                400
            };
            let mut path = Vec::new();
            let mut path_cpu = Vec::new();
            let mut floor = Vec::new();
            for _ in 0..rounds {
                for b in &beacons {
                    let (c, t) = (thread_cpu_ns(), Instant::now());
                    black_box(common::beacon_path(
                        black_box(b),
                        &default,
                        &mut MaskState::default(),
                    ));
                    path.push(t.elapsed().as_nanos() as f64 / 1e3);
                    path_cpu.push((thread_cpu_ns() - c) / 1e3);
                    let t = Instant::now();
                    black_box(common::baseline_body(black_box(b)));
                    floor.push(t.elapsed().as_nanos() as f64 / 1e3);
                }
            }
            for v in [&mut path, &mut path_cpu, &mut floor] {
                v.sort_by(|a, b| a.partial_cmp(b).unwrap());
            }
            out.insert("beacons".into(), beacons.len().into());
            out.insert(
                "beacon_bytes".into(),
                beacons.iter().map(|b| b.len()).collect::<Vec<_>>().into(),
            );
            out.insert("samples".into(), path.len().into());
            out.insert("p50_us".into(), common::pct(&path, 50.0).into());
            out.insert("p99_us".into(), common::pct(&path, 99.0).into());
            out.insert(
                "max_us".into(),
                path.last().copied().unwrap_or(f64::NAN).into(),
            );
            out.insert("cpu_p50_us".into(), common::pct(&path_cpu, 50.0).into());
            out.insert("cpu_p99_us".into(), common::pct(&path_cpu, 99.0).into());
            out.insert("floor_p50_us".into(), common::pct(&floor, 50.0).into());
            out.insert("floor_p99_us".into(), common::pct(&floor, 99.0).into());
        }
        "profile" => {
            // For perf / callgrind: the pipeline (default policy) on the ~64 KB beacons and the
            // large fixture, round after round, for VG_PROFILE_SECS seconds (default 10).
            let secs: f64 = std::env::var("VG_PROFILE_SECS")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(10.0);
            let fx: Vec<Fixture> = ["signup", "checkout", "account", "large"]
                .iter()
                .map(|n| fixture(n))
                .collect();
            let beacons: Vec<Vec<u8>> = common::beacons_64k(&fx)
                .iter()
                .enumerate()
                .map(|(i, ev)| common::envelope_body("s_bench_profile", i as u32, &fx[0].page, ev))
                .collect();
            let t = Instant::now();
            let mut rounds = 0u64;
            while t.elapsed().as_secs_f64() < secs {
                for b in &beacons {
                    black_box(common::beacon_path(
                        black_box(b),
                        &default,
                        &mut MaskState::default(),
                    ));
                }
                black_box(common::pipeline(
                    black_box(&fx[3].events),
                    &default,
                    &mut MaskState::default(),
                ));
                rounds += 1;
            }
            out.insert("rounds".into(), rounds.into());
        }
        m => panic!("unknown mode {m}: throughput | latency | profile"),
    }
    println!("{}", serde_json::Value::Object(out));
}
