//! veilgate: a privacy-enforcing ingest edge for rrweb session recordings.
//!
//! Everything that decides is plain Rust in the modules below and is tested natively;
//! `edge` (wasm32 only) moves bytes between HTTP, KV, the session Durable Object and R2.
//! See ARCHITECTURE.md for the data flow and the invariants.

pub mod admin;
pub mod analytics;
pub mod audit;
pub mod audit_seed;
pub mod consent;
pub mod encoding;
pub mod envelope;
pub mod erasure;
pub mod error;
pub mod ids;
pub mod json;
pub mod percent;
pub mod privacy;
pub mod project;
pub mod protocol;
pub mod ratelimit;
pub mod retention;
pub mod routes;
pub mod sdk;
pub mod session;
pub mod session_summary;
pub mod storage;
pub mod time;

#[cfg(target_arch = "wasm32")]
mod edge;
