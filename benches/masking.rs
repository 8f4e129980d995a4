//! Benchmark 1: masking throughput, native, criterion.
//! The session object's pipeline (parse to `Vec<Value>`, `mask_events`, serialize) on the
//! recorded fixtures, with the privacy-first default policy and with a policy with selectors,
//! against the floor: the same parse + serialize without masking. Bytes = the events array.
//! `tools/bench/run.sh` reads the medians from target/criterion/*/new/estimates.json.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use veilgate::privacy::{MaskPolicy, MaskState};

#[path = "../tests/support/pipeline/mod.rs"]
mod common;
#[path = "native/mod.rs"]
mod native;
use native::fixture;

fn masking(c: &mut Criterion) {
    let sel_json = std::fs::read_to_string(format!(
        "{}/tools/bench/policy.selectors.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("policy");
    let (selectors, _) = common::selectors_policy(&sel_json);
    let default = MaskPolicy::default();
    for name in ["signup", "large"] {
        let f = fixture(name);
        let mut g = c.benchmark_group(format!("masking_{name}"));
        g.throughput(Throughput::Bytes(f.events.len() as u64));
        g.bench_function("baseline", |b| {
            b.iter(|| black_box(common::baseline(black_box(&f.events))))
        });
        g.bench_function("mask_default", |b| {
            b.iter(|| {
                black_box(common::pipeline(
                    black_box(&f.events),
                    &default,
                    &mut MaskState::default(),
                ))
            })
        });
        g.bench_function("mask_selectors", |b| {
            b.iter(|| {
                black_box(common::pipeline(
                    black_box(&f.events),
                    &selectors,
                    &mut MaskState::default(),
                ))
            })
        });
        g.finish();
    }
}

criterion_group!(benches, masking);
criterion_main!(benches);
