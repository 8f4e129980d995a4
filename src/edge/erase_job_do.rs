//! A visitor's erasure job (`{project}/erase/{visitor}`, `erasure::job_object_name`): a route
//! of the session object class (`session_do`), so its calls and alarms run one at a time. It
//! keeps its `VisitorErasure` in storage and takes one bounded step per alarm
//! (`erasure::STEP_SESSIONS` sessions) until the visitor's index is empty, keeps the final
//! count a day (`erasure::FINISHED_TTL_MS`), then deletes itself. What a step does, and in
//! which order, is `crate::erasure`'s.

use worker::{Env, Response, State};

use super::http::{now_ms, storage_err};
use super::read_api::VisitorIndex;
use crate::audit::log::JobAlarm;
use crate::erasure::{self, VisitorErasure};
use crate::error::{ApiError, ErrorCode};
use crate::ids::{ProjectKey, VisitorId};

type ApiResult<T> = std::result::Result<T, ApiError>;

const KEY: &str = "visitor_erasure";

fn ok(job: &VisitorErasure) -> ApiResult<Response> {
    let body = serde_json::to_string(job).map_err(|_| ApiError::unavailable("serialize"))?;
    Response::ok(body).map_err(|_| ApiError::unavailable("response"))
}

async fn load(state: &State) -> ApiResult<Option<VisitorErasure>> {
    let text: Option<String> = state
        .storage()
        .get(KEY)
        .await
        .map_err(storage_err("erasure job"))?;
    text.map(|t| serde_json::from_str(&t))
        .transpose()
        .map_err(|_| ApiError::unavailable("erasure job state unreadable"))
}

async fn save(state: &State, job: &VisitorErasure) -> ApiResult<()> {
    let text = serde_json::to_string(job).map_err(|_| ApiError::unavailable("serialize"))?;
    state
        .storage()
        .put(KEY, text)
        .await
        .map_err(storage_err("erasure job"))
}

async fn set_alarm_at(state: &State, at_ms: u64) -> ApiResult<()> {
    super::http::set_alarm(&state.storage(), at_ms, "erasure job alarm").await
}

/// `/erase-start`: take over a visitor's erasure the request could not finish, unless this
/// job is still running (the request joins it). Answers the job it now runs.
pub async fn start(state: &State, body: &[u8]) -> ApiResult<Response> {
    let offered: VisitorErasure = serde_json::from_slice(body)
        .map_err(|_| ApiError::new(ErrorCode::InvalidCall, "malformed erasure job"))?;
    let existing = load(state).await?;
    let joined = existing.as_ref().is_some_and(|j| !j.done);
    let job = VisitorErasure::adopt(existing, offered);
    if !joined {
        save(state, &job).await?;
        set_alarm_at(state, now_ms() + 50).await?;
    }
    ok(&job)
}

/// `/erase-status`: the job's state (404 when this object holds none).
pub async fn status(state: &State) -> ApiResult<Response> {
    match load(state).await? {
        Some(job) => ok(&job),
        None => Err(ApiError::not_found("no erasure job for this visitor")),
    }
}

/// Alarm of an erasure job: one bounded step, then the next alarm; a failed step is tried
/// again after `erasure::RETRY_MS` (never given up). `Ok(false)` when this object is not one.
pub async fn alarm(state: &State, env: &Env) -> ApiResult<bool> {
    let Some(mut job) = load(state).await? else {
        return Ok(false);
    };
    let now = now_ms();
    match job.on_alarm(now) {
        JobAlarm::Expire => state
            .storage()
            .delete_all()
            .await
            .map_err(storage_err("erasure job"))?,
        JobAlarm::Wait(at) => set_alarm_at(state, at).await?,
        JobAlarm::Step => {
            let (Some(key), Some(visitor)) = (
                ProjectKey::parse(&job.project),
                VisitorId::parse(&job.visitor),
            ) else {
                return Err(ApiError::new(
                    ErrorCode::InvalidCall,
                    "malformed erasure job",
                ));
            };
            let io = VisitorIndex {
                key: &key,
                visitor: &visitor,
                env,
            };
            let stepped = job.step(&io, erasure::STEP_SESSIONS).await;
            job.settle(now_ms());
            // What the step did is kept either way: the next one goes on from there.
            save(state, &job).await?;
            let next = match (&stepped, job.expires_at()) {
                (Err(e), _) => {
                    worker::console_error!("visitor erasure step failed: {}", e.code);
                    now_ms() + erasure::RETRY_MS
                }
                (Ok(()), Some(at)) => at,
                (Ok(()), None) => now_ms() + 50,
            };
            set_alarm_at(state, next).await?;
        }
    }
    Ok(true)
}
