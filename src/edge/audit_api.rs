//! Audit API for compliance officers (`Authorization: Bearer <audit token>`): records as
//! paged NDJSON, verification (at once, or as a job on Durable Object alarms), and the daily
//! report from rollups. Reads the v2 log segments and rollups (`crate::audit_log`); the
//! records are written by the session objects through the log objects (`audit_log_do`).
//! Every request spends a bounded number of R2 operations, whatever the volume.

use worker::{Env, Request, Response};

use super::bindings;
use super::http::{self, now_ms, storage_err};
use super::projects::{self, Token};
use super::r2::read_bytes;
use crate::audit::{AuditRecord, Report};
use crate::audit_log::{
    self as log, parse_rollup_key, parse_segment_key, split_segment, Cursor, LiveHead, Rollup,
    VerifyJob, LOG_SHARDS,
};
use crate::error::{ApiError, ErrorCode};

type Result<T> = std::result::Result<T, ApiError>;

/// Segments one list page reads at most (a page may hold fewer than `limit` records, with a
/// `next` link, when a range is sparse).
const PAGE_SEGMENTS: usize = 40;
const MAX_LIMIT: usize = 1_000;

async fn list_keys(
    env: &Env,
    prefix: &str,
    after: &str,
    limit: u32,
) -> Result<(Vec<String>, bool)> {
    super::subrequests::count();
    let bucket = env
        .bucket(bindings::RECORDINGS)
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

async fn read_text(env: &Env, key: &str) -> Result<Option<String>> {
    match read_bytes(env, key).await? {
        None => Ok(None),
        Some(b) => String::from_utf8(b).map(Some).map_err(|_| invalid(key)),
    }
}

fn invalid(key: &str) -> ApiError {
    // An unparseable object is not skipped silently: verify names it; here it is an error.
    ApiError::new(
        ErrorCode::AuditRecordInvalid,
        format!("{key} is not a valid audit segment; run verify"),
    )
}

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

/// Live heads of the project's logs (one object call each).
async fn live_heads(env: &Env, project: &str) -> Result<Vec<LiveHead>> {
    let mut out = Vec::new();
    for shard in 0..LOG_SHARDS {
        let name = log::log_object_name(project, shard);
        if let Some(body) = super::session_do::call(env, &name, "/log-head", b"").await? {
            if let Ok(Some(h)) = serde_json::from_slice::<Option<LiveHead>>(&body) {
                out.push(h);
            }
        }
    }
    Ok(out)
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
                    let r = rollups_of(env, &project, &d).await?;
                    ops += r.len();
                    job.verifier.feed_rollups(&d, &r);
                }
                job.current_day = Some(day.clone());
            }
            // Bytes that are not text are a finding (the segment is named), not an error.
            let text = read_bytes(env, k)
                .await?
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
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
        let r = rollups_of(env, &project, &d).await?;
        job.verifier.feed_rollups(&d, &r);
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
        job.verifier.feed_rollups(&d, &r);
    }
    let live = live_heads(env, &project).await?;
    let result = job.verifier.clone().finish(&live);
    job.result =
        Some(serde_json::to_string(&result).map_err(|_| ApiError::unavailable("serialize"))?);
    Ok(())
}

/// `GET …/audit/verify?from=&to=`: answered at once when the range fits one request's budget;
/// otherwise `202` with `Location: …/audit/verify/{job}` and the job goes on on alarms.
pub async fn verify(key: &str, req: &Request, env: &Env) -> Result<Response> {
    projects::authorize(key, req, env, Token::Audit).await?;
    let to_default = now_ms() + 1;
    let (from, to) = match (http::query_param(req, "from"), http::query_param(req, "to")) {
        // No range: everything the audit can hold (the retention maximum and a little).
        (None, None) => (
            to_default.saturating_sub(crate::audit::MAX_RANGE_DAYS * 86_400_000 - 1),
            to_default,
        ),
        _ => http::time_range(req, to_default)?,
    };
    let mut job = VerifyJob::new(key, from, to);
    run_verify(env, &mut job, log::SYNC_BUDGET).await?;
    if let Some(result) = job.result {
        return http::raw_json(200, result);
    }
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).map_err(|_| ApiError::unavailable("no randomness"))?;
    let id = crate::consent::hex(&id);
    let state = serde_json::to_vec(&job).map_err(|_| ApiError::unavailable("serialize"))?;
    super::session_do::call(
        env,
        &log::verify_job_object_name(key, &id),
        "/verify-start",
        &state,
    )
    .await?;
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
    let Some(body) = super::session_do::call(env, &name, "/verify-status", b"").await? else {
        return Err(ApiError::not_found("no such verify job"));
    };
    let state: VerifyJob =
        serde_json::from_slice(&body).map_err(|_| ApiError::unavailable("verify job state"))?;
    match state.result {
        Some(r) => http::raw_json(200, r),
        None => {
            let mut resp = http::json(
                202,
                &serde_json::json!({"job": job, "status": "running",
                    "segments": state.verifier.segments, "records": state.verifier.records}),
            )?;
            let _ = resp.headers_mut().set(
                "Location",
                &format!("/v1/projects/{key}/audit/verify/{job}"),
            );
            Ok(resp)
        }
    }
}
