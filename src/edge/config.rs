//! Worker-wide settings from `wrangler.toml` `[vars]`, with the documented defaults.

use worker::Env;

use super::bindings;
use crate::project::SessionTimeouts;
use crate::session::Timeouts;

fn var_u64(env: &Env, name: &str, default: u64) -> u64 {
    env.var(name)
        .ok()
        .and_then(|v| v.to_string().trim().parse().ok())
        .unwrap_or(default)
}

/// Session timeouts: the project's own, else `SESSION_IDLE_SECS` / `SESSION_MAX_SECS`.
pub fn timeouts(env: &Env, project: &SessionTimeouts) -> Timeouts {
    let idle = project
        .idle_secs
        .map(u64::from)
        .unwrap_or_else(|| var_u64(env, bindings::SESSION_IDLE_SECS, 900));
    let max = project
        .max_secs
        .map(u64::from)
        .unwrap_or_else(|| var_u64(env, bindings::SESSION_MAX_SECS, 3600));
    Timeouts {
        idle_ms: idle.max(1) * 1000,
        max_ms: max.max(1) * 1000,
    }
}

/// How long an isolate trusts a cached project config.
pub fn project_cache_ms(env: &Env) -> u64 {
    var_u64(env, bindings::PROJECT_CACHE_SECS, 30) * 1000
}
