//! The audit log objects (`{project}/log/NN`) and verify jobs (`{project}/verify/{job}`):
//! routes of the session object class (`session_do`), which gives them the same one-request-
//! at-a-time guarantee. A log stores its new head (`LogHead`: its state without the open
//! segment's lines, which live in R2), writes the open segment and day rollup to R2, then
//! answers; a verify job keeps its `VerifyJob` in storage and advances it one bounded step
//! per alarm, keeps its result a day, then deletes itself.

use std::cell::RefCell;

use worker::{js_sys, wasm_bindgen, Env, Response, State};

use super::audit_read::{read_lossy, run_verify};
use super::http::{now_ms, storage_err};
use super::r2::put_json;
use crate::audit::log::{self as log, JobAlarm, LogHead, LogWriter, Rebuilt, VerifyJob};
use crate::audit::AuditRecord;
use crate::error::{ApiError, ErrorCode};

type ApiResult<T> = std::result::Result<T, ApiError>;

fn ok(body: String) -> ApiResult<Response> {
    Response::ok(body).map_err(|_| ApiError::unavailable("response"))
}

/// Storage key of the log's [`LogHead`].
const HEAD_KEY: &str = "log_head";
/// Where a log object may hold its whole [`LogWriter`] instead of a head (an earlier stored
/// form; read only when no head is stored).
const LEGACY_KEY: &str = "log";

async fn load(
    state: &State,
    env: &Env,
    cache: &RefCell<Option<LogWriter>>,
) -> ApiResult<Option<LogWriter>> {
    if let Some(w) = cache.borrow().as_ref() {
        return Ok(Some(w.clone()));
    }
    let get = |key: &'static str| async move {
        state
            .storage()
            .get::<String>(key)
            .await
            .map_err(storage_err("audit log state"))
    };
    let w = match get(HEAD_KEY).await? {
        Some(s) => {
            let h = serde_json::from_str::<LogHead>(&s)
                .map_err(|_| ApiError::unavailable("audit log state unreadable"))?;
            Some(rebuild(env, &h).await?)
        }
        None => match get(LEGACY_KEY).await? {
            Some(s) => Some(
                serde_json::from_str::<LogWriter>(&s)
                    .map_err(|_| ApiError::unavailable("audit log state unreadable"))?,
            ),
            None => None,
        },
    };
    cache.borrow_mut().clone_from(&w);
    Ok(w)
}

/// The writer of a waking log: its open segment's lines from R2, checked against the stored
/// head; then R2 is brought up to what the head pins (the last append's segment or rollup put
/// may not have happened), so the log never moves past a segment or day R2 does not hold.
async fn rebuild(env: &Env, h: &LogHead) -> ApiResult<LogWriter> {
    let Some(key) = h.segment_key() else {
        return Ok(h.rebuild(None).0);
    };
    let text = read_lossy(env, &key).await?;
    let (w, how) = h.rebuild(text.as_deref());
    match how {
        Rebuilt::Empty => {}
        Rebuilt::Lost => worker::console_error!(
            "audit log {} open segment {key} does not match its stored head; continuing in a new segment",
            log::log_object_name(&h.project, h.shard)
        ),
        Rebuilt::Intact | Rebuilt::RolledForward => {
            let write = w.write();
            if text.as_deref() != Some(write.segment.as_str()) {
                put_json(env, &write.segment_key, write.segment.into_bytes()).await?;
            }
            if read_lossy(env, &write.rollup_key).await?.as_deref() != Some(write.rollup.as_str()) {
                put_json(env, &write.rollup_key, write.rollup.into_bytes()).await?;
            }
        }
    }
    Ok(w)
}

/// `/log`: append one sealed record (its JSON). The new head is stored first, then the
/// segment and rollup are written, then the log answers: nothing is acknowledged before it
/// is durable, and a failure or crash leaves R2 at most one write behind the stored head,
/// which the next wake rolls forward ([`LogHead::rebuild`]); a retry of the record replaces
/// it.
pub async fn append(
    state: &State,
    env: &Env,
    cache: &RefCell<Option<LogWriter>>,
    body: &[u8],
) -> ApiResult<Response> {
    let rec: AuditRecord = serde_json::from_slice(body)
        .map_err(|_| ApiError::new(ErrorCode::InvalidCall, "malformed log call"))?;
    let shard = log::log_shard(&rec.session);
    let w = load(state, env, cache)
        .await?
        .unwrap_or_else(|| LogWriter::new(&rec.project, shard));
    if w.project != rec.project || w.shard != shard {
        return Err(ApiError::new(
            ErrorCode::InvalidCall,
            "record for another log",
        ));
    }
    let (next, write) = w.append(&rec);
    // Until R2 holds what the stored head pins, the next request rebuilds from storage.
    *cache.borrow_mut() = None;
    store_head(state, &next.stored_head(Some(&rec))).await?;
    put_json(env, &write.segment_key, write.segment.into_bytes()).await?;
    put_json(env, &write.rollup_key, write.rollup.into_bytes()).await?;
    *cache.borrow_mut() = Some(next);
    ok("{}".into())
}

async fn store_head(state: &State, head: &LogHead) -> ApiResult<()> {
    let text = serde_json::to_string(head).map_err(|_| ApiError::unavailable("serialize"))?;
    state
        .storage()
        .put(HEAD_KEY, text)
        .await
        .map_err(storage_err("audit log state"))
}

/// `/log-head`: this log's live head (`null` before its first record).
pub async fn head(
    state: &State,
    env: &Env,
    cache: &RefCell<Option<LogWriter>>,
) -> ApiResult<Response> {
    let h = load(state, env, cache).await?.map(|w| w.live_head());
    ok(serde_json::to_string(&h).map_err(|_| ApiError::unavailable("serialize"))?)
}

async fn set_alarm_at(state: &State, at_ms: u64) -> ApiResult<()> {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at_ms as f64));
    state
        .storage()
        .set_alarm(worker::ScheduledTime::new(date))
        .await
        .map_err(storage_err("verify job alarm"))
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
pub async fn seed(
    state: &State,
    cache: &RefCell<Option<LogWriter>>,
    body: &[u8],
) -> ApiResult<Response> {
    let w: LogWriter = serde_json::from_slice(body)
        .map_err(|_| ApiError::new(ErrorCode::InvalidCall, "malformed log state"))?;
    store_head(state, &w.stored_head(None)).await?;
    *cache.borrow_mut() = Some(w);
    ok("{}".into())
}
