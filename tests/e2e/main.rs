//! End-to-end tests: the real worker on real workerd (`wrangler dev`, local R2/KV/DO), one
//! module per area, in one binary so the tests share one worker start and one link.
//!
//! `support::worker()` is shared by every module that only reads back its own sessions (ids
//! from `support::id` are unique). A module starts its own worker (`support::start`,
//! `start_faults`, `own_worker`) when it needs other variables, the faults build, a restart,
//! or scans everything a worker stored: retention sweeps, key counts and planted-value scans
//! then see only that module's data. Run one module with `cargo test --test e2e <module>::`.

mod support;

mod admin;
mod audit;
mod audit_scale;
mod consent;
mod edge_holes;
mod exactly_once;
mod faults;
mod foundation;
mod hostile;
mod plugins;
mod privacy;
mod retention;
mod sdk;
mod urls;
mod viewer;
