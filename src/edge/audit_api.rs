//! Audit API for compliance officers (`Authorization: Bearer <audit token>`): records as
//! paged NDJSON, verification (at once, or as a job on Durable Object alarms), and the daily
//! report from rollups. Reads the log segments and rollups (`crate::audit::log`) through
//! `audit_read`; the records are written by the session objects through the log objects
//! (`audit_log_do`). Every request spends a bounded number of R2 operations, whatever the
//! volume.

use worker::{Env, Request, Response};

use super::audit_read::{flush_logs, invalid, list_keys, read_text, run_verify};
use super::http::{self, now_ms};
use super::projects::{self, Token};
use crate::audit::log::{
    self as log, parse_rollup_key, parse_segment_key, split_segment, Cursor, Rollup, VerifyJob,
};
use crate::audit::{AuditRecord, Report};
use crate::error::{ApiError, ErrorCode};
use crate::protocol::ObjectCall;

type Result<T> = std::result::Result<T, ApiError>;

/// Segments one list page reads at most (a page may hold fewer than `limit` records, with a
/// `next` link, when a range is sparse).
const PAGE_SEGMENTS: usize = 40;
const MAX_LIMIT: usize = 1_000;

fn query_limit(req: &Request) -> Result<usize> {
    match http::query_param(req, "limit") {
        None => Ok(MAX_LIMIT),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidLimit,
                    "limit must be an integer from 1 to 1000",
                )
            }),
    }
}

/// `GET …/audit?from=&to=&limit=&cursor=`: records with `from <= at < to` in storage order
/// (segment day, log, segment, line); the next page in `Link: <…>; rel="next"`.
pub async fn list(key: &str, req: &Request, env: &Env) -> Result<Response> {
    projects::authorize(key, req, env, Token::Audit).await?;
    let (from, to) = http::time_range(req, now_ms() + 1)?;
    let limit = query_limit(req)?;
    flush_logs(env, key).await?;
    let cursor = match http::query_param(req, "cursor") {
        None => None,
        Some(c) => Some(Cursor::decode(&c).ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidCursor, "cursor is not one this API gave")
        })?),
    };
    let (first_day, last_day) = log::segment_days(from, to);
    let prefix = log::days_prefix(key);
    let mut out = String::new();
    let mut count = 0usize;
    let mut next: Option<Cursor> = None;
    let mut reads = 0usize;
    // The segment to start in (at a line), then the ones listed after it.
    let mut pending: Vec<(String, u64)> = Vec::new();
    let mut after = match &cursor {
        Some(c) => {
            pending.push((c.key(key), c.line));
            c.key(key)
        }
        None => format!("{prefix}{first_day}"),
    };
    let mut more = true;
    'pages: loop {
        if pending.is_empty() {
            if !more {
                break;
            }
            let (keys, truncated) = list_keys(env, &prefix, &after, 100).await?;
            more = truncated;
            if keys.is_empty() {
                break;
            }
            pending.extend(keys.into_iter().map(|k| (k, 0)));
        }
        let (seg_key, start) = pending.remove(0);
        after.clone_from(&seg_key);
        let Some((_, day, shard, n)) = parse_segment_key(&seg_key) else {
            continue;
        };
        if day > last_day {
            break;
        }
        if reads == PAGE_SEGMENTS {
            next = Some(Cursor {
                day,
                shard,
                n,
                line: start,
            });
            break;
        }
        reads += 1;
        let Some(text) = read_text(env, &seg_key).await? else {
            continue;
        };
        let (_, lines) = split_segment(&text).map_err(|_| invalid(&seg_key))?;
        for (i, line) in lines.iter().enumerate().skip(start as usize) {
            let rec = AuditRecord::from_json(line).map_err(|_| invalid(&seg_key))?;
            if rec.at < from || rec.at >= to {
                continue;
            }
            if count == limit {
                next = Some(Cursor {
                    day: day.clone(),
                    shard,
                    n,
                    line: i as u64,
                });
                break 'pages;
            }
            out.push_str(line);
            out.push('\n');
            count += 1;
        }
    }
    let mut resp = http::raw_json(200, out)?;
    let h = resp.headers_mut();
    let _ = h.set("Content-Type", "application/x-ndjson");
    if let Some(c) = next {
        let _ = h.set(
            "Link",
            &format!(
                "</v1/projects/{key}/audit?from={from}&to={to}&limit={limit}&cursor={}>; rel=\"next\"",
                c.encode()
            ),
        );
    }
    Ok(resp)
}

/// `GET …/audit/report`: counts per UTC day of the range, from the day rollups only.
pub async fn report(key: &str, req: &Request, env: &Env) -> Result<Response> {
    projects::authorize(key, req, env, Token::Audit).await?;
    let (from, to) = http::time_range(req, now_ms() + 1)?;
    flush_logs(env, key).await?;
    let (first_day, seg_last) = log::segment_days(from, to);
    let last_day = crate::audit::day_from_millis(to.saturating_sub(1).max(from));
    let prefix = log::rollups_prefix(key);
    let mut after = format!("{prefix}{first_day}");
    let mut parts = Vec::new();
    'list: loop {
        let (keys, truncated) = list_keys(env, &prefix, &after, 1000).await?;
        for k in &keys {
            let Some((_, day, _)) = parse_rollup_key(k) else {
                continue;
            };
            if day > seg_last {
                break 'list;
            }
            if let Some(t) = read_text(env, k).await? {
                let r: Rollup = serde_json::from_str(&t).map_err(|_| invalid(k))?;
                parts.extend(r.days);
            }
        }
        match keys.last() {
            Some(k) if truncated => after.clone_from(k),
            _ => break,
        }
    }
    http::json(
        200,
        &Report {
            days: log::merge_reports(&parts, &first_day, &last_day),
        },
    )
}

/// `GET …/audit/verify?from=&to=`: answered at once when the range fits one request's budget;
/// otherwise `202` with `Location: …/audit/verify/{job}` and the job goes on on alarms.
pub async fn verify(key: &str, req: &Request, env: &Env) -> Result<Response> {
    projects::authorize(key, req, env, Token::Audit).await?;
    let to_default = now_ms() + 1;
    let (from, to) = match (http::query_param(req, "from"), http::query_param(req, "to")) {
        // No range: everything the audit can hold (the retention maximum and a little).
        (None, None) => (
            to_default.saturating_sub(crate::time::days_ms(crate::audit::MAX_RANGE_DAYS) - 1),
            to_default,
        ),
        _ => http::time_range(req, to_default)?,
    };
    // One job per range: while one runs, a request for the same range answers it.
    let id = log::job_id(key, from, to);
    let name = log::verify_job_object_name(key, &id);
    if let Some(body) = super::objects::call(env, &name, ObjectCall::VerifyStatus).await? {
        let state = job_state(&body)?;
        if state.result.is_none() {
            return running(key, &id, &state);
        }
    }
    let mut job = VerifyJob::new(key, from, to);
    run_verify(env, &mut job, log::SYNC_BUDGET).await?;
    if let Some(result) = job.result {
        return http::raw_json(200, result);
    }
    let state = serde_json::to_vec(&job).map_err(|_| ApiError::unavailable("serialize"))?;
    let Some(body) = super::objects::call(env, &name, ObjectCall::VerifyStart(&state)).await?
    else {
        return Err(ApiError::unavailable("verify job not started; retry later"));
    };
    running(key, &id, &job_state(&body)?)
}

fn job_state(body: &[u8]) -> Result<VerifyJob> {
    serde_json::from_slice(body).map_err(|_| ApiError::unavailable("verify job state"))
}

/// `202` for a job still running, with where to ask again.
fn running(key: &str, id: &str, job: &VerifyJob) -> Result<Response> {
    let mut resp = http::json(
        202,
        &serde_json::json!({"job": id, "status": "running",
            "segments": job.verifier.segments, "records": job.verifier.records}),
    )?;
    let _ = resp
        .headers_mut()
        .set("Location", &format!("/v1/projects/{key}/audit/verify/{id}"));
    Ok(resp)
}

/// `GET …/audit/verify/{job}`: 202 while running, 200 with the result when done.
pub async fn verify_job(key: &str, job: &str, req: &Request, env: &Env) -> Result<Response> {
    projects::authorize(key, req, env, Token::Audit).await?;
    let name = log::verify_job_object_name(key, job);
    let Some(body) = super::objects::call(env, &name, ObjectCall::VerifyStatus).await? else {
        return Err(ApiError::not_found("no such verify job"));
    };
    let state = job_state(&body)?;
    if state.is_expired(now_ms()) {
        return Err(ApiError::not_found("no such verify job"));
    }
    match state.result {
        Some(r) => http::raw_json(200, r),
        None => running(key, job, &state),
    }
}
