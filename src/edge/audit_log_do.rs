//! The audit log objects (`{project}/log/NN`) and verify jobs (`{project}/verify/{job}`):
//! routes of the session object class (`session_do`), which gives them the same one-request-
//! at-a-time guarantee. A log appends each record a chain owner sends it to its open segment
//! and day rollup in R2, then persists its state (`LogWriter`) and answers; a verify job keeps
//! its `VerifyJob` in storage and advances it one bounded step per alarm.

use std::cell::RefCell;

use worker::{js_sys, wasm_bindgen, Env, Response, State};

use super::http::{now_ms, storage_err};
use super::r2::put_json;
use crate::audit::AuditRecord;
use crate::audit_log::{self as log, LogWriter, VerifyJob};
use crate::error::ApiError;

type ApiResult<T> = std::result::Result<T, ApiError>;

fn ok(body: String) -> ApiResult<Response> {
    Response::ok(body).map_err(|_| ApiError::unavailable("response"))
}

async fn load(state: &State, cache: &RefCell<Option<LogWriter>>) -> ApiResult<Option<LogWriter>> {
    if let Some(w) = cache.borrow().as_ref() {
        return Ok(Some(w.clone()));
    }
    let stored: Option<String> = state
        .storage()
        .get("log")
        .await
        .map_err(storage_err("audit log state"))?;
    let w = match stored {
        Some(s) => Some(
            serde_json::from_str::<LogWriter>(&s)
                .map_err(|_| ApiError::unavailable("audit log state unreadable"))?,
        ),
        None => None,
    };
    cache.borrow_mut().clone_from(&w);
    Ok(w)
}

/// `/log`: append one sealed record (its JSON). The segment and rollup are written before the
/// state is persisted and before the answer, so nothing is acknowledged before it is durable;
/// a failure leaves the previous state in force (the retry rewrites the same objects).
pub async fn append(
    state: &State,
    env: &Env,
    cache: &RefCell<Option<LogWriter>>,
    body: &[u8],
) -> ApiResult<Response> {
    let rec: AuditRecord = serde_json::from_slice(body)
        .map_err(|_| ApiError::bad_request("invalid_call", "malformed log call"))?;
    let shard = log::log_shard(&rec.session);
    let w = load(state, cache)
        .await?
        .unwrap_or_else(|| LogWriter::new(&rec.project, shard));
    if w.project != rec.project || w.shard != shard {
        return Err(ApiError::bad_request(
            "invalid_call",
            "record for another log",
        ));
    }
    let (next, write) = w.append(&rec);
    put_json(env, &write.segment_key, write.segment.into_bytes()).await?;
    put_json(env, &write.rollup_key, write.rollup.into_bytes()).await?;
    let text = serde_json::to_string(&next).map_err(|_| ApiError::unavailable("serialize"))?;
    state
        .storage()
        .put("log", text)
        .await
        .map_err(storage_err("audit log state"))?;
    *cache.borrow_mut() = Some(next);
    ok("{}".into())
}

/// `/log-head`: this log's live head (`null` before its first record).
pub async fn head(state: &State, cache: &RefCell<Option<LogWriter>>) -> ApiResult<Response> {
    let h = load(state, cache).await?.map(|w| w.live_head());
    ok(serde_json::to_string(&h).map_err(|_| ApiError::unavailable("serialize"))?)
}

async fn set_alarm_soon(state: &State) -> ApiResult<()> {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64((now_ms() + 50) as f64));
    state
        .storage()
        .set_alarm(worker::ScheduledTime::new(date))
        .await
        .map_err(storage_err("verify job alarm"))
}

/// `/verify-start`: take over a verification the request could not finish.
pub async fn verify_start(state: &State, body: &[u8]) -> ApiResult<Response> {
    let job: VerifyJob = serde_json::from_slice(body)
        .map_err(|_| ApiError::bad_request("invalid_call", "malformed verify job"))?;
    let text = serde_json::to_string(&job).map_err(|_| ApiError::unavailable("serialize"))?;
    state
        .storage()
        .put("verify_job", text)
        .await
        .map_err(storage_err("verify job"))?;
    set_alarm_soon(state).await?;
    ok("{}".into())
}

async fn job_of(state: &State) -> ApiResult<Option<String>> {
    state
        .storage()
        .get("verify_job")
        .await
        .map_err(storage_err("verify job"))
}

/// `/verify-status`: the job's state (404 when this object holds no job).
pub async fn verify_status(state: &State) -> ApiResult<Response> {
    match job_of(state).await? {
        Some(j) => ok(j),
        None => Err(ApiError::not_found("no such verify job")),
    }
}

/// Alarm of a verify job: one bounded step, then the next alarm unless done. `Ok(false)`
/// when this object is not a job.
pub async fn verify_alarm(state: &State, env: &Env) -> ApiResult<bool> {
    let Some(text) = job_of(state).await? else {
        return Ok(false);
    };
    let mut job: VerifyJob =
        serde_json::from_str(&text).map_err(|_| ApiError::unavailable("verify job state"))?;
    if job.result.is_some() {
        return Ok(true);
    }
    super::audit_api::run_verify(env, &mut job, log::STEP_BUDGET).await?;
    let text = serde_json::to_string(&job).map_err(|_| ApiError::unavailable("serialize"))?;
    state
        .storage()
        .put("verify_job", text)
        .await
        .map_err(storage_err("verify job"))?;
    if job.result.is_none() {
        set_alarm_soon(state).await?;
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
        .map_err(|_| ApiError::bad_request("invalid_call", "malformed log state"))?;
    let text = serde_json::to_string(&w).map_err(|_| ApiError::unavailable("serialize"))?;
    state
        .storage()
        .put("log", text)
        .await
        .map_err(storage_err("audit log state"))?;
    *cache.borrow_mut() = Some(w);
    ok("{}".into())
}
