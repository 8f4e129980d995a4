//! The worker's checks of one beacon body before it goes to the session object: what
//! `edge/ingest.rs` ran before (`prescan`, then `Envelope::parse`: UTF-8, the envelope with
//! raw events, the events again for their heads; tests/support/reference) against what it runs now
//! (`envelope::parse_head`: the prescan locates the events, serde reads the envelope around
//! them; the session object checks the events on the tree it builds for masking), on beacons
//! cut from the recorded fixtures.
//!   cargo bench --bench edge [-- --smoke]
//! Old and new run interleaved, alternating which goes first, in rounds over the same beacons;
//! thread CPU time (immune to the preemption of a shared machine). Prints per set the median
//! round of each and the median of the per-round ratios old/new. Timings are never asserted.

use std::hint::black_box;

use veilgate::envelope::{self, Limits};

#[path = "../tests/support/pipeline/mod.rs"]
mod common;
#[path = "native/mod.rs"]
mod native;
use common::Fixture;
use native::{fixture, thread_cpu_ns};

#[path = "../tests/support/reference/mod.rs"]
mod reference;

fn old(body: &[u8], limits: &Limits) -> usize {
    let (env, span) = reference::check(body, limits).expect("old accepts a recorded beacon");
    env.events.get().len() + span.count
}

/// The worker's part only: for a plain beacon the span comes later, from the session object.
fn new(body: &[u8], limits: &Limits) -> usize {
    let (env, span) = envelope::parse_head(body, limits).expect("new accepts a recorded beacon");
    env.events.get().len() + span.map_or(0, |s| s.count)
}

/// The worker's and the session object's checks together (not timed): what `old` gives.
fn new_with_object(body: &[u8], limits: &Limits) -> usize {
    let (env, span) = envelope::parse_head(body, limits).expect("new accepts a recorded beacon");
    let (_, span) =
        envelope::parse_events(env.events.get(), span, limits).expect("the object accepts it");
    env.events.get().len() + span.count
}

/// Total CPU ns of one pass over `bodies` with `f`, `reps` times each.
fn round(bodies: &[Vec<u8>], reps: usize, f: fn(&[u8], &Limits) -> usize) -> f64 {
    let limits = Limits::default();
    let t0 = thread_cpu_ns();
    for b in bodies {
        for _ in 0..reps {
            black_box(f(black_box(b), &limits));
        }
    }
    thread_cpu_ns() - t0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo test --benches` runs this without `--bench`: one short round, as a check that it
    // runs and that both sides agree, not a measurement.
    let test = !args.iter().any(|a| a == "--bench");
    let smoke = test || args.iter().any(|a| a == "--smoke");
    let rounds = if test {
        1
    } else if smoke {
        5
    } else {
        31
    };

    let fixtures: Vec<Fixture> = ["signup", "checkout", "account", "large"]
        .iter()
        .map(|n| fixture(n))
        .collect();
    let mut texts: Vec<&str> = Vec::new();
    for f in &fixtures {
        texts.extend(f.event_texts());
    }
    let page = &fixtures[0].page;
    let bodies = |events: Vec<Vec<u8>>| -> Vec<Vec<u8>> {
        events
            .iter()
            .enumerate()
            .map(|(i, e)| common::envelope_body("s_bench_session", i as u32, page, e))
            .collect()
    };
    let keep = |max: usize| move |c: &Vec<u8>| c.len() >= max * 3 / 4 && c.len() <= max;
    // (name, beacons, repetitions per beacon per round): about as much work per set.
    let mut sets: Vec<(&str, Vec<Vec<u8>>, usize)> = vec![
        (
            "16k",
            bodies(
                common::cut(&texts, 16 << 10)
                    .into_iter()
                    .filter(keep(16 << 10))
                    .collect(),
            ),
            8,
        ),
        ("64k", bodies(common::beacons_64k(&fixtures)), 8),
        (
            "128k",
            bodies(
                common::cut(&texts, 128 << 10)
                    .into_iter()
                    .filter(keep(128 << 10))
                    .collect(),
            ),
            4,
        ),
        ("large", bodies(vec![fixtures[3].events.clone()]), 2),
    ];
    if test {
        for (_, b, reps) in &mut sets {
            b.truncate(2);
            *reps = 1;
        }
    }

    println!(
        "edge checks, old (prescan + Envelope::parse) vs new (envelope::parse_head); {rounds} rounds, thread CPU time"
    );
    println!(
        "{:<6} {:>7} {:>9} {:>12} {:>12} {:>9} {:>9} {:>10}",
        "set",
        "beacons",
        "avg KiB",
        "old us/beac",
        "new us/beac",
        "old MB/s",
        "new MB/s",
        "old/new"
    );
    for (name, b, reps) in &sets {
        assert!(!b.is_empty(), "no {name} beacons in the fixtures");
        // Same answer both ways, before anything is timed.
        for body in b {
            let limits = Limits::default();
            assert_eq!(old(body, &limits), new_with_object(body, &limits));
        }
        let bytes: usize = b.iter().map(Vec::len).sum();
        let n = (b.len() * reps) as f64;
        // Warm-up.
        round(b, 1, old);
        round(b, 1, new);
        let (mut olds, mut news, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for r in 0..rounds {
            let (o, nw) = if r % 2 == 0 {
                let o = round(b, *reps, old);
                (o, round(b, *reps, new))
            } else {
                let nw = round(b, *reps, new);
                (round(b, *reps, old), nw)
            };
            olds.push(o);
            news.push(nw);
            ratios.push(o / nw);
        }
        let o = common::median(&mut olds);
        let nw = common::median(&mut news);
        let mbs = |ns: f64| (bytes * reps) as f64 / ns * 1e3;
        println!(
            "{:<6} {:>7} {:>9.1} {:>12.1} {:>12.1} {:>9.0} {:>9.0} {:>9.2}x",
            name,
            b.len(),
            bytes as f64 / b.len() as f64 / 1024.0,
            o / n / 1e3,
            nw / n / 1e3,
            mbs(o),
            mbs(nw),
            common::median(&mut ratios)
        );
    }
}
