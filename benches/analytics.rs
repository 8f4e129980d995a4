//! Analytics extraction's added CPU on the ingest path, in the same run as the masking
//! pipeline it follows: every ~64 KB beacon cut from the recorded fixtures (as the latency
//! bench) goes through `beacon_path` (prescan, envelope, URL scrub, parse, mask, chunk
//! document) alone, and through the same path with `analytics::extract_chunk` (and the
//! summary's `add`) on the masked tree; interleaved, thread CPU time. The extraction's own CPU
//! is also clocked inside the second run, so the ratio is not a difference of two noisy sums.
//!   cargo bench --bench analytics [-- --smoke]     → one JSON object on stdout
//! Goal (issue 23): extraction ≤ 15 % of the pipeline's CPU per beacon.

use std::hint::black_box;

use veilgate::analytics::{self, AnalyticsState, SessionAnalytics};
use veilgate::privacy::{MaskPolicy, MaskState};

#[path = "../tests/support/pipeline/mod.rs"]
mod common;
#[path = "native/mod.rs"]
mod native;
use common::Fixture;
use native::{fixture, thread_cpu_ns};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo test --all-targets` runs this without `--bench`: a quick check, not a measurement.
    let test = !args.iter().any(|a| a == "--bench");
    let smoke = test || args.iter().any(|a| a == "--smoke");
    let rounds = if test {
        1
    } else if smoke {
        20
    } else {
        300
    };
    let policy = MaskPolicy::default();
    let fx: Vec<Fixture> = ["signup", "checkout", "account", "large"]
        .iter()
        .map(|n| fixture(n))
        .collect();
    let beacons: Vec<Vec<u8>> = common::beacons_64k(&fx)
        .iter()
        .enumerate()
        .map(|(i, ev)| common::envelope_body("s_bench_analytics", i as u32, &fx[0].page, ev))
        .collect();
    let (mut mask_only, mut with, mut extract) = (Vec::new(), Vec::new(), Vec::new());
    let mut rows = 0usize;
    for _ in 0..rounds {
        for b in &beacons {
            let c = thread_cpu_ns();
            black_box(common::beacon_path(
                black_box(b),
                &policy,
                &mut MaskState::default(),
            ));
            mask_only.push(thread_cpu_ns() - c);

            let mut state = AnalyticsState::default();
            let mut summary = SessionAnalytics::default();
            let mut own = 0.0;
            let c = thread_cpu_ns();
            black_box(common::beacon_path_then(
                black_box(b),
                &policy,
                &mut MaskState::default(),
                |events| {
                    let c = thread_cpu_ns();
                    let x = analytics::extract_chunk(events, 0, &mut state);
                    summary.add(&x);
                    own += thread_cpu_ns() - c;
                    rows += x.rows.len();
                },
            ));
            with.push(thread_cpu_ns() - c);
            extract.push(own);
            black_box(&summary);
        }
    }
    let sum = |v: &[f64]| v.iter().sum::<f64>();
    let mut out = serde_json::Map::new();
    out.insert("beacons".into(), beacons.len().into());
    out.insert(
        "beacon_bytes_mean".into(),
        (beacons.iter().map(Vec::len).sum::<usize>() / beacons.len().max(1)).into(),
    );
    out.insert("samples".into(), mask_only.len().into());
    out.insert("rows_per_round".into(), (rows / rounds).into());
    let ratio_own = sum(&extract) / sum(&mask_only);
    let ratio_diff = (sum(&with) - sum(&mask_only)) / sum(&mask_only);
    for v in [&mut mask_only, &mut with, &mut extract] {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    }
    out.insert(
        "pipeline_cpu_p50_us".into(),
        (common::pct(&mask_only, 50.0) / 1e3).into(),
    );
    out.insert(
        "pipeline_with_analytics_cpu_p50_us".into(),
        (common::pct(&with, 50.0) / 1e3).into(),
    );
    out.insert(
        "extract_cpu_p50_us".into(),
        (common::pct(&extract, 50.0) / 1e3).into(),
    );
    out.insert(
        "extract_cpu_p99_us".into(),
        (common::pct(&extract, 99.0) / 1e3).into(),
    );
    // Extraction CPU ÷ pipeline CPU, summed over every beacon and round.
    out.insert("added_ratio".into(), ratio_own.into());
    // The same from the two runs' totals (noisier, includes the closure's clock reads).
    out.insert("added_ratio_from_totals".into(), ratio_diff.into());
    println!("{}", serde_json::Value::Object(out));
}
