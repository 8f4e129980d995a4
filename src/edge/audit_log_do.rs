//! The audit log objects (`{project}/log/NN`) and verify jobs (`{project}/verify/{job}`):
//! routes of the session object class (`session_do`), which gives them the same one-request-
//! at-a-time guarantee. A log's calls run in `audit::log::LogCore` over [`LogObjectIo`] (DO
//! storage, alarm, R2): an append is stored and answered, R2 is written per flush (alarm or
//! live-head read); a verify job keeps its `VerifyJob` in storage and advances it one bounded
//! step per alarm, keeps its result a day, then deletes itself.

use worker::{Env, Response, State};

use super::audit_read::{read_lossy, run_verify};
use super::http::{now_ms, storage_err};
use super::r2::put_json;
use crate::audit::log::{self as log, object::Alarm, JobAlarm, LogCore, LogIo, VerifyJob};
use crate::error::{ApiError, ErrorCode};

type ApiResult<T> = std::result::Result<T, ApiError>;

fn ok(body: String) -> ApiResult<Response> {
    Response::ok(body).map_err(|_| ApiError::unavailable("response"))
}

/// A log object's effects on the runtime.
pub struct LogObjectIo<'a> {
    pub state: &'a State,
    pub env: &'a Env,
}

impl LogIo for LogObjectIo<'_> {
    async fn get(&self, key: &str) -> ApiResult<Option<String>> {
        self.state
            .storage()
            .get(key)
            .await
            .map_err(storage_err("audit log state"))
    }

    async fn list(&self, prefix: &str) -> ApiResult<Vec<(String, String)>> {
        let map = self
            .state
            .storage()
            .list_with_options(worker::ListOptions::new().prefix(prefix))
            .await
            .map_err(storage_err("audit log state"))?;
        let mut out = Vec::new();
        map.for_each(&mut |value, key| {
            if let (Some(k), Some(v)) = (key.as_string(), value.as_string()) {
                out.push((k, v));
            }
        });
        Ok(out)
    }

    async fn put_state(&self, entries: Vec<(String, String)>) -> ApiResult<()> {
        super::http::put_multiple(&self.state.storage(), entries, "audit log state").await
    }

    async fn delete_state(&self, keys: Vec<String>) -> ApiResult<()> {
        self.state
            .storage()
            .delete_multiple(keys)
            .await
            .map(|_| ())
            .map_err(storage_err("audit log state"))
    }

    async fn set_alarm(&self, at_ms: u64) -> ApiResult<()> {
        super::http::set_alarm(&self.state.storage(), at_ms, "audit log alarm").await
    }

    async fn r2_get(&self, key: &str) -> ApiResult<Option<String>> {
        read_lossy(self.env, key).await
    }

    async fn r2_put(&self, key: &str, body: String) -> ApiResult<()> {
        put_json(self.env, key, body.into_bytes()).await
    }

    fn now(&self) -> u64 {
        now_ms()
    }
}

/// `/log`: append one sealed record (its JSON); answered once it is in storage.
pub async fn append(io: &LogObjectIo<'_>, core: &LogCore, body: &[u8]) -> ApiResult<Response> {
    core.append(io, body).await?;
    ok("{}".into())
}

/// `/log-head`: this log's live head (`null` before its first record), after a flush.
pub async fn head(io: &LogObjectIo<'_>, core: &LogCore) -> ApiResult<Response> {
    let h = core.live_head(io).await?;
    ok(serde_json::to_string(&h).map_err(|_| ApiError::unavailable("serialize"))?)
}

/// Alarm of a log: its flush. `Ok(false)` when this object is not a log.
pub async fn log_alarm(io: &LogObjectIo<'_>, core: &LogCore) -> ApiResult<bool> {
    match core.alarm(io).await? {
        Alarm::NotALog => Ok(false),
        Alarm::Flushed => Ok(true),
        Alarm::Retry(e) => {
            worker::console_error!("audit log flush failed, retrying: {e}");
            Ok(true)
        }
    }
}

async fn set_alarm_at(state: &State, at_ms: u64) -> ApiResult<()> {
    super::http::set_alarm(&state.storage(), at_ms, "verify job alarm").await
}

async fn set_alarm_soon(state: &State) -> ApiResult<()> {
    set_alarm_at(state, now_ms() + 50).await
}

/// `/verify-start`: take over a verification the request could not finish, unless this
/// object (the range's job, `log::job_id`) is still running one: then the request joins it.
/// Answers the job this object now runs.
pub async fn verify_start(state: &State, body: &[u8]) -> ApiResult<Response> {
    let offered: VerifyJob = serde_json::from_slice(body)
        .map_err(|_| ApiError::new(ErrorCode::InvalidCall, "malformed verify job"))?;
    let existing = load_job(state).await?;
    let joined = existing.as_ref().is_some_and(|j| j.result.is_none());
    let job = VerifyJob::adopt(existing, offered);
    if !joined {
        save_job(state, &job).await?;
        set_alarm_soon(state).await?;
    }
    ok(serde_json::to_string(&job).map_err(|_| ApiError::unavailable("serialize"))?)
}

async fn save_job(state: &State, job: &VerifyJob) -> ApiResult<()> {
    let text = serde_json::to_string(job).map_err(|_| ApiError::unavailable("serialize"))?;
    state
        .storage()
        .put("verify_job", text)
        .await
        .map_err(storage_err("verify job"))
}

async fn job_of(state: &State) -> ApiResult<Option<String>> {
    state
        .storage()
        .get("verify_job")
        .await
        .map_err(storage_err("verify job"))
}

async fn load_job(state: &State) -> ApiResult<Option<VerifyJob>> {
    job_of(state)
        .await?
        .map(|t| serde_json::from_str(&t))
        .transpose()
        .map_err(|_| ApiError::unavailable("verify job state"))
}

/// `/verify-status`: the job's state (404 when this object holds no job).
pub async fn verify_status(state: &State) -> ApiResult<Response> {
    match job_of(state).await? {
        Some(j) => ok(j),
        None => Err(ApiError::not_found("no such verify job")),
    }
}

/// Alarm of a verify job: one bounded step, then the next alarm; a finished job's alarm
/// deletes it once its result has been kept `log::FINISHED_TTL_MS`. `Ok(false)` when this
/// object is not a job.
pub async fn verify_alarm(state: &State, env: &Env) -> ApiResult<bool> {
    let Some(mut job) = load_job(state).await? else {
        return Ok(false);
    };
    let now = now_ms();
    match job.on_alarm(now) {
        JobAlarm::Expire => {
            state
                .storage()
                .delete_all()
                .await
                .map_err(storage_err("verify job"))?;
        }
        JobAlarm::Wait(at) => set_alarm_at(state, at).await?,
        JobAlarm::Step => {
            run_verify(env, &mut job, log::STEP_BUDGET).await?;
            job.settle(now_ms());
            save_job(state, &job).await?;
            match job.expires_at() {
                Some(at) => set_alarm_at(state, at).await?,
                None => set_alarm_soon(state).await?,
            }
        }
    }
    Ok(true)
}

/// `/log-seed` (feature `faults` only): take the state of a log seeded straight into R2.
#[cfg(feature = "faults")]
pub async fn seed(io: &LogObjectIo<'_>, core: &LogCore, body: &[u8]) -> ApiResult<Response> {
    let w: log::LogWriter = serde_json::from_slice(body)
        .map_err(|_| ApiError::new(ErrorCode::InvalidCall, "malformed log state"))?;
    core.seed(io, w).await?;
    ok("{}".into())
}
