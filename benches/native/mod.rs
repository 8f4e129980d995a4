//! Shared by the native benches only (file I/O and the thread CPU clock, which the wasm bench
//! crate has no use for; `tests/support/pipeline` is shared with it).
#![allow(dead_code)]

use super::common::Fixture;

/// A recorded fixture of `tests/fixtures/rrweb`, default-masked variant.
pub fn fixture(name: &str) -> Fixture {
    let path = format!(
        "{}/tests/fixtures/rrweb/{name}.default.json",
        env!("CARGO_MANIFEST_DIR")
    );
    Fixture::from_json(name, &std::fs::read(&path).expect("fixture"))
}

/// CPU time of this thread (ns): what Workers bill and limit, and immune to the preemption a
/// shared machine adds to wall time.
pub fn thread_cpu_ns() -> f64 {
    #[repr(C)]
    struct Timespec {
        sec: i64,
        nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut t = Timespec { sec: 0, nsec: 0 };
    // SAFETY: a valid pointer to a timespec.
    unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.sec as f64 * 1e9 + t.nsec as f64
}
