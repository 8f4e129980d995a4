//! Benchmark 7: memory.
//!   cargo bench --bench memory            → one JSON object on stdout
//! - Peak heap while processing the largest beacon (the large fixture as one beacon, through
//!   `beacon_path`), measured by a counting global allocator: peak live bytes above what was
//!   live before, against the same for the floor (parse the body to a `Value`, serialize).
//! - The largest per-session masking state: each default fixture masked in 64 KiB chunks
//!   with one `MaskState` carried across them, its serialized JSON length after each chunk.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use veilgate::privacy::{MaskPolicy, MaskState};

#[path = "../tests/support/pipeline/mod.rs"]
mod common;
#[path = "native/mod.rs"]
mod native;
use common::Fixture;
use native::fixture;

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let live = LIVE.fetch_add(l.size(), Relaxed) + l.size();
            PEAK.fetch_max(live, Relaxed);
            ALLOCS.fetch_add(1, Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            if new >= l.size() {
                let live = LIVE.fetch_add(new - l.size(), Relaxed) + (new - l.size());
                PEAK.fetch_max(live, Relaxed);
            } else {
                LIVE.fetch_sub(l.size() - new, Relaxed);
            }
            ALLOCS.fetch_add(1, Relaxed);
        }
        q
    }
}

#[global_allocator]
static A: Counting = Counting;

/// Peak live heap above the starting point while `f` runs, and the number of allocations.
fn peak_of(f: impl FnOnce()) -> (usize, usize) {
    let start = LIVE.load(Relaxed);
    PEAK.store(start, Relaxed);
    let a0 = ALLOCS.load(Relaxed);
    f();
    (PEAK.load(Relaxed) - start, ALLOCS.load(Relaxed) - a0)
}

fn main() {
    let default = MaskPolicy::default();
    let mut out = serde_json::Map::new();
    // `cargo test --all-targets` runs this binary without `--bench`: check it works on the small
    // fixtures only (a debug build on the 2 MB fixture takes long), measure nothing.
    let test = !std::env::args().any(|a| a == "--bench");
    let largest = if test { "signup" } else { "large" };

    let large = fixture(largest);
    let body = common::envelope_body("s_bench_memory", 0, &large.page, &large.events);
    let (peak, allocs) = peak_of(|| {
        black_box(common::beacon_path(
            black_box(&body),
            &default,
            &mut MaskState::default(),
        ));
    });
    let (floor_peak, floor_allocs) = peak_of(|| {
        black_box(common::baseline_body(black_box(&body)));
    });
    let fx: Vec<Fixture> = ["signup", "checkout", "account", "large"]
        .iter()
        .map(|n| fixture(n))
        .collect();
    let b64 = common::beacons_64k(&fx);
    let body64 = common::envelope_body("s_bench_memory", 1, &fx[0].page, &b64[0]);
    let (peak64, _) = peak_of(|| {
        black_box(common::beacon_path(
            black_box(&body64),
            &default,
            &mut MaskState::default(),
        ));
    });
    let (floor64, _) = peak_of(|| {
        black_box(common::baseline_body(black_box(&body64)));
    });
    out.insert("beacon64_bytes".into(), body64.len().into());
    out.insert("beacon64_peak_bytes".into(), peak64.into());
    out.insert("beacon64_floor_peak_bytes".into(), floor64.into());
    out.insert("largest_beacon_bytes".into(), body.len().into());
    out.insert("peak_bytes".into(), peak.into());
    out.insert("allocations".into(), allocs.into());
    out.insert("floor_peak_bytes".into(), floor_peak.into());
    out.insert("floor_allocations".into(), floor_allocs.into());

    let mut states = serde_json::Map::new();
    let mut largest = 0usize;
    for name in ["signup", "checkout", "account", "large"] {
        let f = if name == "large" {
            fixture("large")
        } else {
            fixture(name)
        };
        let texts = f.event_texts();
        let chunks = common::cut(&texts, 64 * 1024);
        let mut state = MaskState::default();
        let mut max = 0usize;
        for c in &chunks {
            black_box(common::pipeline(c, &default, &mut state));
            max = max.max(serde_json::to_string(&state).unwrap().len());
        }
        largest = largest.max(max);
        states.insert(
            name.into(),
            serde_json::json!({"chunks": chunks.len(), "max_state_bytes": max}),
        );
    }
    out.insert("mask_state".into(), states.into());
    out.insert("largest_mask_state_bytes".into(), largest.into());
    out.insert(
        "decompressed_cap_bytes".into(),
        veilgate::envelope::Limits::default()
            .max_decompressed_bytes
            .into(),
    );
    println!("{}", serde_json::Value::Object(out));
}
