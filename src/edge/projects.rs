//! Project configs from KV (`project:{key}`), cached briefly in the isolate.

use std::cell::RefCell;
use std::rc::Rc;

use worker::{Env, Request};

use super::bindings;
use super::http::{header, now_ms, storage_err};
use crate::error::{ApiError, ErrorCode};
use crate::project::{bearer, Project, ProjectCache};

thread_local! {
    static CACHE: RefCell<ProjectCache> = RefCell::new(ProjectCache::default());
}

/// Unknown keys are remembered for less time than known ones, so a newly created project
/// starts working quickly.
const NEGATIVE_TTL_MS: u64 = 5_000;

/// The project for `key`, or 401 for an unknown key. A stored config that does not parse is
/// a 503: refusing is safer than recording under a guessed policy.
pub async fn load(key: &str, env: &Env) -> Result<Rc<Project>, ApiError> {
    let now = now_ms();
    if let Some(hit) = CACHE.with(|c| c.borrow().get(key, now)) {
        return hit.ok_or_else(unknown);
    }
    super::subrequests::count();
    let kv = env
        .kv(bindings::PROJECTS)
        .map_err(storage_err("project lookup"))?;
    let (raw, meta) = kv
        .get(&format!("project:{key}"))
        .text_with_metadata::<KvVersion>()
        .await
        .map_err(|e| storage_err("project lookup")(e.into()))?;
    let project = match raw {
        None => None,
        Some(json) => Some(Project::from_json(&json).map_err(|e| {
            worker::console_error!("project {key}: invalid config: {e}");
            ApiError::new(
                ErrorCode::ProjectMisconfigured,
                "this project's configuration is invalid",
            )
        })?),
    };
    let ttl = if project.is_some() {
        super::config::project_cache_ms(env)
    } else {
        NEGATIVE_TTL_MS
    };
    let version = meta.map_or(0, |m| m.v);
    CACHE.with(|c| c.borrow_mut().put(key, project, version, now, ttl));
    CACHE
        .with(|c| c.borrow().get(key, now))
        .flatten()
        .ok_or_else(unknown)
}

/// KV metadata of `project:{key}`: the version the project's admin object published (absent
/// on a config written by hand or by `tools/seed.sh`: version 0).
#[derive(serde::Serialize, serde::Deserialize)]
pub struct KvVersion {
    pub v: u64,
}

/// After an admin change: this isolate serves the new config (its `version`) at once, and no
/// older KV copy replaces it; others read it from KV within `PROJECT_CACHE_SECS` plus KV's
/// own propagation.
pub fn remember(key: &str, project: Project, version: u64, env: &Env) {
    let ttl = super::config::project_cache_ms(env);
    CACHE.with(|c| {
        c.borrow_mut()
            .put(key, Some(project), version, now_ms(), ttl)
    });
}

fn unknown() -> ApiError {
    ApiError::unauthorized("unknown project key")
}

/// Which API a bearer token is for.
#[derive(Clone, Copy)]
pub enum Token {
    /// Replay services: the read API.
    Read,
    /// Compliance officers: the audit API.
    Audit,
}

/// The project for `key` if the request carries its token of that kind. Unknown project,
/// missing token and wrong token all look the same: 401, no hint whether the project or any
/// session exists.
pub async fn authorize(
    key: &str,
    req: &Request,
    env: &Env,
    kind: Token,
) -> Result<Rc<Project>, ApiError> {
    let refused = || match kind {
        Token::Read => ApiError::unauthorized("missing or invalid read token"),
        Token::Audit => ApiError::unauthorized("missing or invalid audit token"),
    };
    let auth = header(req, "Authorization");
    let project = load(key, env).await.map_err(|e| match e.status {
        401 => refused(),
        _ => e,
    })?;
    let ok = match (bearer(auth.as_deref()), kind) {
        (Some(t), Token::Read) => project.read_token_ok(t, now_ms()),
        (Some(t), Token::Audit) => project.audit_token_ok(t, now_ms()),
        (None, _) => false,
    };
    if ok {
        Ok(project)
    } else {
        Err(refused())
    }
}
