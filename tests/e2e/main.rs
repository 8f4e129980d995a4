//! End-to-end tests: the real worker on real workerd (`wrangler dev`, local R2/KV/DO), one
//! module per area, in one binary so the tests share one worker start and one link.
//!
//! `support::worker()` is shared by every module that only reads back its own sessions (ids
//! from `support::id` are unique). A module starts its own worker (`support::start`,
//! `start_faults`, `own_worker`) when it needs other variables, the faults build, a restart,
//! or scans everything a worker stored: retention sweeps, key counts and planted-value scans
//! then see only that module's data. Run one module with `cargo test --test e2e <module>::`.
//!
//! Threads: libtest's default, one per core (2 on the reference machine), as each file ran
//! before; `make test` sets none on purpose. Tests of different modules on the shared worker
//! run side by side safely (unique ids, per-project limits far above test volume), and the
//! heavy modules (exactly_once, hostile, retention, audit_scale, sdk) run on workers of their
//! own. A module's own worker lives until the process exits (a static), so late in a run about
//! ten idle workers are up; they cost memory, not CPU.

mod support;

mod admin;
mod admin_holes;
mod analytics;
mod audit;
mod audit_rate;
mod audit_scale;
mod consent;
mod edge_holes;
mod erasure;
mod exactly_once;
mod faults;
mod foundation;
mod hostile;
mod ingest_holes;
mod opt_out;
mod plugins;
mod privacy;
mod retention;
mod sdk;
mod urls;
mod viewer;
