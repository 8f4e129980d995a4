//! The names the worker looks up in its `Env`: the bindings, vars and secrets `wrangler.toml`
//! (and `wrangler secret put`) declare. One list, so a rename in `wrangler.toml` has one
//! counterpart here.

/// R2: chunks, manifests, indexes, audit segments.
pub const RECORDINGS: &str = "RECORDINGS";
/// KV: project configs by key.
pub const PROJECTS: &str = "PROJECTS";
/// Static assets (SDK files, viewer).
pub const ASSETS: &str = "ASSETS";
/// Durable Object namespace of the session objects (also the audit anchor chains).
pub const SESSION: &str = "SESSION";
/// Durable Object namespace of the retention sweeper.
pub const SWEEPER: &str = "SWEEPER";

/// Vars (`[vars]`): session segment timeouts and the project cache's lifetime.
pub const SESSION_IDLE_SECS: &str = "SESSION_IDLE_SECS";
pub const SESSION_MAX_SECS: &str = "SESSION_MAX_SECS";
pub const PROJECT_CACHE_SECS: &str = "PROJECT_CACHE_SECS";
/// Fault-injection builds only: shift the sweep's clock, fail one erase.
#[cfg(feature = "faults")]
pub const FAULT_CLOCK_OFFSET_DAYS: &str = "FAULT_CLOCK_OFFSET_DAYS";
#[cfg(feature = "faults")]
pub const FAULT_RETENTION_FAIL_ONCE: &str = "FAULT_RETENTION_FAIL_ONCE";

/// Secrets: the admin token's SHA-256, the key of visitor pseudonyms in audit records.
pub const ADMIN_TOKEN_SHA256: &str = "ADMIN_TOKEN_SHA256";
pub const AUDIT_PSEUDONYM_KEY: &str = "AUDIT_PSEUDONYM_KEY";
