//! Reading audit data for the audit API and the verify jobs: listing and reading segments and
//! rollups in R2, the logs' live heads, and one bounded step of a verification. Shared by the
//! API (`audit_api`) and the verify-job objects (`audit_log_do`), so neither calls the other.

use worker::Env;

use super::http::storage_err;
use super::r2::read_bytes;
use crate::audit::log::{
    self as log, parse_rollup_key, parse_segment_key, LiveHead, VerifyJob, LOG_SHARDS,
};
use crate::error::{ApiError, ErrorCode};

type Result<T> = std::result::Result<T, ApiError>;

pub async fn list_keys(
    env: &Env,
    prefix: &str,
    after: &str,
    limit: u32,
) -> Result<(Vec<String>, bool)> {
    super::subrequests::count();
    let bucket = env
        .bucket(super::bindings::RECORDINGS)
        .map_err(storage_err("read audit"))?;
    let page = bucket
        .list()
        .prefix(prefix.to_string())
        .start_after(after.to_string())
        .limit(limit)
        .execute()
        .await
        .map_err(storage_err("read audit"))?;
    Ok((
        page.objects().iter().map(|o| o.key()).collect(),
        page.truncated(),
    ))
}

pub async fn read_text(env: &Env, key: &str) -> Result<Option<String>> {
    match read_bytes(env, key).await? {
        None => Ok(None),
        Some(b) => String::from_utf8(b).map(Some).map_err(|_| invalid(key)),
    }
}

pub fn invalid(key: &str) -> ApiError {
    // An unparseable object is not skipped silently: verify names it; here it is an error.
    ApiError::new(
        ErrorCode::AuditRecordInvalid,
        format!("{key} is not a valid audit segment; run verify"),
    )
}

/// An object's text with any invalid UTF-8 replaced: for readers that report what is wrong
/// with a segment rather than refuse it.
pub async fn read_lossy(env: &Env, key: &str) -> Result<Option<String>> {
    Ok(read_bytes(env, key)
        .await?
        .map(|b| String::from_utf8_lossy(&b).into_owned()))
}

/// Live heads of the project's logs (one object call each).
async fn live_heads(env: &Env, project: &str) -> Result<Vec<LiveHead>> {
    let mut out = Vec::new();
    for shard in 0..LOG_SHARDS {
        let name = log::log_object_name(project, shard);
        if let Some(body) =
            super::objects::call(env, &name, crate::protocol::ObjectCall::LogHead).await?
        {
            if let Ok(Some(h)) = serde_json::from_slice::<Option<LiveHead>>(&body) {
                out.push(h);
            }
        }
    }
    Ok(out)
}

/// Bring R2 up to every record the project's logs hold: each log flushes before it answers
/// its head. The listing and the report read R2 only, so they call this first and see every
/// acknowledged record (at one object call per log).
pub async fn flush_logs(env: &Env, project: &str) -> Result<()> {
    live_heads(env, project).await.map(|_| ())
}

async fn rollups_of(env: &Env, project: &str, day: &str) -> Result<Vec<(u32, Option<String>)>> {
    let mut out = Vec::new();
    for shard in 0..LOG_SHARDS {
        out.push((
            shard,
            read_text(env, &log::rollup_key(project, day, shard)).await?,
        ));
    }
    Ok(out)
}

/// Run `job` for about `budget` R2 operations; sets `job.result` when it is done.
pub async fn run_verify(env: &Env, job: &mut VerifyJob, budget: usize) -> Result<()> {
    let project = job.verifier.project.clone();
    let prefix = log::days_prefix(&project);
    let mut ops = 0usize;
    // What pins the log is read before the records it pins (the log may be appended to
    // meanwhile): the live heads before any segment, a day's rollups before its segments.
    if !job.verifier.live_pinned() {
        let live = live_heads(env, &project).await?;
        ops += live.len();
        job.unpinned = job.verifier.pin_live(&live);
    }
    let mut listing_done = false;
    while ops < budget && !listing_done {
        let room = (budget - ops).clamp(1, 1000) as u32;
        let (keys, truncated) = list_keys(env, &prefix, &job.list_after(), room).await?;
        ops += 1;
        let mut consumed = 0;
        for k in &keys {
            let day = parse_segment_key(k).map(|p| p.1).unwrap_or_default();
            if day > job.verifier.last_day {
                listing_done = true;
                break;
            }
            if job.current_day.as_deref() != Some(day.as_str()) {
                if let Some(d) = job.current_day.take() {
                    job.verifier.end_day(&d);
                }
                let r = rollups_of(env, &project, &day).await?;
                ops += r.len();
                job.verifier.pin_day(&day, &r);
                job.current_day = Some(day.clone());
            }
            // Bytes that are not text are a finding (the segment is named), not an error.
            let text = read_lossy(env, k).await?.unwrap_or_default();
            ops += 1;
            job.verifier.feed_segment(k, &text);
            job.after = Some(k.clone());
            consumed += 1;
            if ops >= budget {
                break;
            }
        }
        if !truncated && consumed == keys.len() {
            listing_done = true;
        }
    }
    if !listing_done {
        return Ok(());
    }
    if let Some(d) = job.current_day.take() {
        job.verifier.end_day(&d);
    }
    // Rollups of days whose segments are all gone.
    let rprefix = log::rollups_prefix(&project);
    let (keys, _) = list_keys(
        env,
        &rprefix,
        &format!("{rprefix}{}", job.verifier.first_day),
        1000,
    )
    .await?;
    let mut days: Vec<String> = keys
        .iter()
        .filter_map(|k| parse_rollup_key(k).map(|p| p.1))
        .filter(|d| *d <= job.verifier.last_day && !job.verifier.day_checked(d))
        .collect();
    days.dedup();
    for d in days.into_iter().take(budget) {
        let r = rollups_of(env, &project, &d).await?;
        job.verifier.pin_day(&d, &r);
        job.verifier.end_day(&d);
    }
    let result = job.verifier.clone().finish(&job.unpinned);
    job.result =
        Some(serde_json::to_string(&result).map_err(|_| ApiError::unavailable("serialize"))?);
    Ok(())
}
