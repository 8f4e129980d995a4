//! wasm exports for tools/bench/wasm/bench.mjs: inputs are loaded into wasm memory once
//! (slots), then each `run` call is one iteration of one workload, timed by the caller.
use std::cell::RefCell;

use veilgate::privacy::{MaskPolicy, MaskState};
use wasm_bindgen::prelude::*;

#[path = "../../../tests/support/pipeline/mod.rs"]
mod common;

thread_local! {
    static SLOTS: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    static FIXTURES: RefCell<Vec<common::Fixture>> = const { RefCell::new(Vec::new()) };
    static SELECTORS: RefCell<Option<MaskPolicy>> = const { RefCell::new(None) };
}

fn push(bytes: Vec<u8>) -> u32 {
    SLOTS.with(|s| {
        let mut s = s.borrow_mut();
        s.push(bytes);
        (s.len() - 1) as u32
    })
}

/// The policy with selectors; true if it parses to something other than the default.
#[wasm_bindgen]
pub fn set_selectors(json: &str) -> bool {
    let (p, differs) = common::selectors_policy(json);
    SELECTORS.with(|s| *s.borrow_mut() = Some(p));
    differs
}

/// A fixture file; returns the slot holding its raw events array.
#[wasm_bindgen]
pub fn add_fixture(name: &str, json: &[u8]) -> u32 {
    let f = common::Fixture::from_json(name, json);
    let slot = push(f.events.clone());
    FIXTURES.with(|fx| fx.borrow_mut().push(f));
    slot
}

/// Cut the ~64 KB beacons from the fixtures added so far; returns their slots.
#[wasm_bindgen]
pub fn make_beacons() -> Vec<u32> {
    let bodies: Vec<Vec<u8>> = FIXTURES.with(|fx| {
        let fx = fx.borrow();
        common::beacons_64k(&fx)
            .iter()
            .enumerate()
            .map(|(i, ev)| common::envelope_body("s_bench_latency", i as u32, &fx[0].page, ev))
            .collect()
    });
    bodies.into_iter().map(push).collect()
}

#[wasm_bindgen]
pub fn slot_len(slot: u32) -> usize {
    SLOTS.with(|s| s.borrow()[slot as usize].len())
}

/// One iteration: 0 floor (parse + serialize), 1 pipeline with the default policy,
/// 2 pipeline with the selectors policy, 3 beacon path (default policy) on a beacon body,
/// 4 floor on a beacon body (parse to `Value` + serialize).
#[wasm_bindgen]
pub fn run(slot: u32, workload: u32) -> usize {
    SLOTS.with(|s| {
        let s = s.borrow();
        let b = &s[slot as usize];
        match workload {
            0 => common::baseline(b).len(),
            1 => common::pipeline(b, &MaskPolicy::default(), &mut MaskState::default()).len(),
            2 => SELECTORS.with(|p| {
                let p = p.borrow();
                common::pipeline(
                    b,
                    p.as_ref().expect("set_selectors first"),
                    &mut MaskState::default(),
                )
                .len()
            }),
            3 => common::beacon_path(b, &MaskPolicy::default(), &mut MaskState::default()),
            4 => common::baseline_body(b).len(),
            _ => panic!("unknown workload"),
        }
    })
}

/// `iters` iterations of the pipeline (default policy) / of the floor, for callers that time
/// a whole batch.
#[wasm_bindgen]
pub fn mask_bench(bytes: &[u8], iters: u32) -> usize {
    (0..iters)
        .map(|_| common::pipeline(bytes, &MaskPolicy::default(), &mut MaskState::default()).len())
        .sum()
}

#[wasm_bindgen]
pub fn baseline(bytes: &[u8], iters: u32) -> usize {
    (0..iters).map(|_| common::baseline(bytes).len()).sum()
}
