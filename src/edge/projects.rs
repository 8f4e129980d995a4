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
    let raw = kv
        .get(&format!("project:{key}"))
        .text()
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
    CACHE.with(|c| c.borrow_mut().put(key, project, now, ttl));
    CACHE
        .with(|c| c.borrow().get(key, now))
        .flatten()
        .ok_or_else(unknown)
}

/// After an admin change: this isolate reads the new config on its next request; others keep
/// theirs for at most `PROJECT_CACHE_SECS`.
pub fn forget(key: &str) {
    CACHE.with(|c| c.borrow_mut().forget(key));
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
