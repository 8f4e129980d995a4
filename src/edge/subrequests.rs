//! Counts the subrequests (R2, KV, Durable Object calls) made while a request is served, so
//! the `faults` build can report them (`X-Veilgate-Subrequests`) and the scale test can assert
//! every audit request stays within the platform's per-request limit. Objects run in the same
//! isolate under `wrangler dev`, so their operations are counted too: the figure is an upper
//! bound of the worker's own.

use std::cell::Cell;

thread_local! {
    static COUNT: Cell<u32> = const { Cell::new(0) };
}

pub fn count() {
    COUNT.with(|c| c.set(c.get().saturating_add(1)));
}

/// The count so far, reset to zero.
pub fn take() -> u32 {
    COUNT.with(|c| c.replace(0))
}
