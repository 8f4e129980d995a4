//! Read API for replay services (`Authorization: Bearer <read token>`): list, manifest, merged
//! events, single chunk, and erasure of a session or of a visitor.

use worker::{Env, Request, Response};

use super::bindings;
use super::http::{self, now_ms, query_param, storage_err};
use super::objects;
use super::projects::{self, Token};
use super::r2::read_bytes;
use crate::erasure::{self, EraseIo, VisitorErasure};
use crate::error::{ApiError, ErrorCode};
use crate::ids::{ProjectKey, SessionId, VisitorId};
use crate::project::Project;
use crate::protocol::{Erase, ObjectCall};
use crate::retention;
use crate::session_summary::SessionSummary;
use crate::storage;
use crate::time::day_starts;

type Result<T> = std::result::Result<T, ApiError>;

/// Most chunks merged into one `events` response (R2 reads per request are limited).
const MAX_MERGED_CHUNKS: usize = 900;

pub async fn list_sessions(key: &ProjectKey, req: &Request, env: &Env) -> Result<Response> {
    let project = projects::authorize(key, req, env, Token::Read).await?;
    let now = now_ms();
    let (from, to) = http::time_range(req, now)?;
    let url = req.inner().url();
    let query = crate::routes::split_url(&url).1;
    if crate::analytics::search::is_search(
        query
            .split('&')
            .map(|p| p.split_once('=').map_or(p, |(k, _)| k)),
    ) {
        return super::analytics::search(key, req, env, from, to).await;
    }
    let num = |name: &str| query_param(req, name).and_then(|v| v.parse::<u64>().ok());
    let limit = num("limit").unwrap_or(100).clamp(1, 1000) as usize;
    // Cursor: `{day}/{last session returned}`.
    let cursor = query_param(req, "cursor");
    let (cursor_day, after) = match cursor.as_deref().and_then(|c| c.split_once('/')) {
        Some((d, s)) => (Some(d.to_string()), Some(s.to_string())),
        None => (None, None),
    };
    let bucket = env
        .bucket(bindings::RECORDINGS)
        .map_err(storage_err("list sessions"))?;
    let mut out = Vec::new();
    let mut next = None;
    'days: for day_ms in day_starts(from, to) {
        let day = storage::utc_day(day_ms);
        if cursor_day.as_deref().is_some_and(|c| day.as_str() < c) {
            continue;
        }
        // Past retention a session is not served, so it is not listed either (the sweep may
        // not have erased it yet): the same rule as `load_manifest`'s.
        if !retention::day_retained(&day, now, project.retention_days) {
            continue;
        }
        let mut start_after = match (&cursor_day, &after) {
            (Some(c), Some(a)) if *c == day => Some(storage::listed_day_index_key(key, &day, a)),
            _ => None,
        };
        loop {
            let mut list = bucket
                .list()
                .prefix(storage::day_index_prefix(key, &day))
                .include(vec![worker::Include::CustomMetadata])
                .limit(1000);
            if let Some(s) = &start_after {
                list = list.start_after(s.clone());
            }
            let page = list.execute().await.map_err(storage_err("list sessions"))?;
            let objects = page.objects();
            for o in &objects {
                let k = o.key();
                let session = storage::last_segment(&k).to_string();
                if out.len() == limit {
                    next = Some(format!("{day}/{}", out_last(&out)));
                    break 'days;
                }
                let mut row = serde_json::json!({"session": session, "day": day});
                // Entries written before summaries existed list without one.
                let meta = o.custom_metadata().unwrap_or_default();
                if let Some(sum) = SessionSummary::from_metadata(
                    meta.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                ) {
                    row["summary"] = serde_json::to_value(sum).unwrap_or_default();
                }
                out.push(row);
            }
            if !page.truncated() {
                break;
            }
            start_after = objects.last().map(|o| o.key());
        }
    }
    http::json(200, &serde_json::json!({"sessions": out, "cursor": next}))
}

fn out_last(out: &[serde_json::Value]) -> String {
    out.last()
        .and_then(|v| v["session"].as_str())
        .unwrap_or("")
        .to_string()
}

/// The live manifest from the session object, or the stored one from R2.
async fn load_manifest(
    key: &ProjectKey,
    session: &SessionId,
    project: &Project,
    env: &Env,
) -> Result<serde_json::Value> {
    let text = match call_object(key, session, ObjectCall::Manifest, env).await? {
        Some(t) => t,
        None => {
            let stored = read_bytes(env, &storage::manifest_key(key, session)).await?;
            let Some(bytes) = stored else {
                return Err(ApiError::not_found("no such session"));
            };
            String::from_utf8(bytes)
                .map_err(|_| ApiError::unavailable("stored manifest unreadable"))?
        }
    };
    let m: serde_json::Value = serde_json::from_str(&text)
        .map_err(|_| ApiError::unavailable("stored manifest unreadable"))?;
    // Past retention a session is no longer served, even before the sweep deletes it.
    let created = m["created_at"].as_u64().unwrap_or(0);
    if !retention::retained(created, now_ms(), project.retention_days) {
        return Err(ApiError::not_found("no such session"));
    }
    Ok(m)
}

/// Ask the session object; `None` when it holds no such session.
async fn call_object(
    key: &ProjectKey,
    session: &SessionId,
    call: ObjectCall<'_>,
    env: &Env,
) -> Result<Option<String>> {
    objects::call(env, &format!("{key}:{session}"), call)
        .await?
        .map(String::from_utf8)
        .transpose()
        .map_err(|_| ApiError::unavailable("session object failed; retry later"))
}

/// A read token's view of one session: its manifest, once the token is checked.
async fn authorized_manifest(
    key: &ProjectKey,
    session: &SessionId,
    req: &Request,
    env: &Env,
) -> Result<serde_json::Value> {
    let project = projects::authorize(key, req, env, Token::Read).await?;
    load_manifest(key, session, &project, env).await
}

pub async fn manifest(
    key: &ProjectKey,
    session: &SessionId,
    req: &Request,
    env: &Env,
) -> Result<Response> {
    http::json(200, &authorized_manifest(key, session, req, env).await?)
}

pub async fn events(
    key: &ProjectKey,
    session: &SessionId,
    req: &Request,
    env: &Env,
) -> Result<Response> {
    let m = authorized_manifest(key, session, req, env).await?;
    let seqs: Vec<u32> = m["seqs"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_u64().map(|s| s as u32))
                .collect()
        })
        .unwrap_or_default();
    if seqs.len() > MAX_MERGED_CHUNKS {
        return Err(ApiError::new(
            ErrorCode::TooManyChunks,
            format!("session has more than {MAX_MERGED_CHUNKS} chunks; read them one by one"),
        ));
    }
    // One chunk at a time: the request holds the merged events (bounded) and one chunk.
    let mut merged = storage::EventsMerger::new(storage::MAX_MERGED_EVENTS_BYTES);
    for seq in seqs {
        // A chunk the manifest lists is durable; its absence means an erasure raced this read.
        let Some(bytes) = read_bytes(env, &storage::chunk_key(key, session, seq)).await? else {
            return Err(ApiError::not_found("no such session"));
        };
        merged.push(&bytes).map_err(chunk_error)?;
    }
    http::raw_json(200, merged.finish())
}

fn chunk_error(e: storage::ChunkError) -> ApiError {
    match e {
        storage::ChunkError::TooLarge => ApiError::new(
            ErrorCode::EventsTooLarge,
            format!(
                "the session's events pass {} bytes; read them chunk by chunk",
                storage::MAX_MERGED_EVENTS_BYTES
            ),
        ),
        storage::ChunkError::Unreadable(_) => ApiError::unavailable("stored chunk unreadable"),
    }
}

pub async fn chunk(
    key: &ProjectKey,
    session: &SessionId,
    seq: u32,
    req: &Request,
    env: &Env,
) -> Result<Response> {
    authorized_manifest(key, session, req, env).await?;
    let Some(bytes) = read_bytes(env, &storage::chunk_key(key, session, seq)).await? else {
        return Err(ApiError::not_found("no such chunk"));
    };
    let json =
        storage::read_chunk(&bytes, storage::MAX_MERGED_EVENTS_BYTES).map_err(chunk_error)?;
    http::raw_json(
        200,
        String::from_utf8(json.into_owned())
            .map_err(|_| ApiError::unavailable("stored chunk unreadable"))?,
    )
}

pub async fn delete_session(
    key: &ProjectKey,
    session: &SessionId,
    req: &Request,
    env: &Env,
) -> Result<Response> {
    projects::authorize(key, req, env, Token::Read).await?;
    let deleted = erase_session(key, session, "session_erasure", env).await?;
    http::json(
        200,
        &serde_json::json!({"deleted": deleted, "session": session}),
    )
}

/// `DELETE …/visitors/{visitor}`: one bounded step of the visitor's erasure
/// (`erasure::STEP_SESSIONS` sessions); `200` when that was all, else the visitor's job object
/// takes over and the answer is `202` with `Location: …/visitors/{visitor}/erasure`. While a
/// job runs, a request joins it.
pub async fn delete_visitor(
    key: &ProjectKey,
    visitor: &VisitorId,
    req: &Request,
    env: &Env,
) -> Result<Response> {
    projects::authorize(key, req, env, Token::Read).await?;
    let name = erasure::job_object_name(key, visitor);
    if let Some(job) = erase_job(env, &name, ObjectCall::EraseStatus).await? {
        if !job.done {
            return erasure_reply(key, &job);
        }
    }
    let mut job = VisitorErasure::new(key, visitor);
    job.step(&VisitorIndex { key, visitor, env }, erasure::STEP_SESSIONS)
        .await?;
    if job.done {
        return erasure_reply(key, &job);
    }
    let state = serde_json::to_vec(&job).map_err(|_| ApiError::unavailable("serialize"))?;
    let Some(job) = erase_job(env, &name, ObjectCall::EraseStart(&state)).await? else {
        return Err(ApiError::unavailable(
            "erasure job not started; retry later",
        ));
    };
    erasure_reply(key, &job)
}

/// `GET …/visitors/{visitor}/erasure`: 202 while the visitor's erasure job runs, 200 when it
/// is done (kept `erasure::FINISHED_TTL_MS`), 404 when there is none.
pub async fn visitor_erasure(
    key: &ProjectKey,
    visitor: &VisitorId,
    req: &Request,
    env: &Env,
) -> Result<Response> {
    projects::authorize(key, req, env, Token::Read).await?;
    let name = erasure::job_object_name(key, visitor);
    match erase_job(env, &name, ObjectCall::EraseStatus).await? {
        Some(job) if !job.is_expired(now_ms()) => erasure_reply(key, &job),
        _ => Err(ApiError::not_found("no erasure job for this visitor")),
    }
}

async fn erase_job(env: &Env, name: &str, call: ObjectCall<'_>) -> Result<Option<VisitorErasure>> {
    objects::call(env, name, call)
        .await?
        .map(|b| serde_json::from_slice(&b))
        .transpose()
        .map_err(|_| ApiError::unavailable("erasure job state unreadable"))
}

fn erasure_reply(key: &ProjectKey, job: &VisitorErasure) -> Result<Response> {
    if job.done {
        return http::json(200, &job.reply());
    }
    let mut resp = http::json(202, &job.reply())?;
    let _ = resp.headers_mut().set(
        "Location",
        &format!("/v1/projects/{key}/visitors/{}/erasure", job.visitor),
    );
    Ok(resp)
}

/// A visitor's erasure over R2 and the session objects (`erasure::EraseIo`), for the request
/// and for the job object.
pub struct VisitorIndex<'a> {
    pub key: &'a ProjectKey,
    pub visitor: &'a VisitorId,
    pub env: &'a Env,
}

impl EraseIo for VisitorIndex<'_> {
    async fn list(&self, after: Option<&str>, limit: u32) -> Result<(Vec<String>, bool)> {
        let bucket = self
            .env
            .bucket(bindings::RECORDINGS)
            .map_err(storage_err("erase visitor"))?;
        let mut list = bucket
            .list()
            .prefix(storage::visitor_index_prefix(self.key, self.visitor))
            .limit(limit);
        if let Some(s) = after.and_then(SessionId::parse) {
            list = list.start_after(storage::visitor_index_key(self.key, self.visitor, &s));
        }
        let page = list.execute().await.map_err(storage_err("erase visitor"))?;
        // Index entries are written from checked ids only; anything else names no session.
        let sessions = page
            .objects()
            .iter()
            .filter_map(|o| SessionId::parse(storage::last_segment(&o.key())))
            .map(|s| s.to_string())
            .collect();
        Ok((sessions, page.truncated()))
    }

    async fn erase(&self, session: &str) -> Result<bool> {
        let Some(session) = SessionId::parse(session) else {
            return Ok(false);
        };
        let erased = erase_session(self.key, &session, "visitor_erasure", self.env).await?;
        // The erasure deletes the entry the manifest names; one whose session never stored a
        // manifest would otherwise keep the visitor's id in a key.
        self.env
            .bucket(bindings::RECORDINGS)
            .map_err(storage_err("erase visitor"))?
            .delete(storage::visitor_index_key(self.key, self.visitor, &session))
            .await
            .map_err(storage_err("erase visitor"))?;
        Ok(erased)
    }
}

/// Delete everything of one session: object state first (so no new chunk lands on an old
/// index), then every R2 object under its prefix, then its index entries.
pub async fn erase_session(
    key: &ProjectKey,
    session: &SessionId,
    reason: &str,
    env: &Env,
) -> Result<bool> {
    erase_session_counted(key, session, reason, env)
        .await
        .map(|(deleted, _)| deleted)
}

/// `erase_session`, also saying how many subrequests it made (the retention sweep budgets
/// them; `retention::ERASE_WORST_COST` is their bound).
pub async fn erase_session_counted(
    key: &ProjectKey,
    session: &SessionId,
    reason: &str,
    env: &Env,
) -> Result<(bool, u32)> {
    let mut calls = 0u32;
    let bucket = env
        .bucket(bindings::RECORDINGS)
        .map_err(storage_err("erase session"))?;
    calls += 1;
    let manifest_text = match call_object(key, session, ObjectCall::Manifest, env).await? {
        Some(t) => Some(t),
        None => {
            calls += 1;
            read_bytes(env, &storage::manifest_key(key, session))
                .await?
                .and_then(|b| String::from_utf8(b).ok())
        }
    };
    let erase = ObjectCall::Erase(Erase {
        project: key.to_string(),
        session: session.to_string(),
        reason: reason.to_string(),
    });
    calls += 1;
    call_object(key, session, erase, env).await?;
    let mut keys = Vec::new();
    loop {
        calls += 1;
        let page = bucket
            .list()
            .prefix(storage::session_prefix(key, session))
            .execute()
            .await
            .map_err(storage_err("erase session"))?;
        let batch: Vec<String> = page.objects().iter().map(|o| o.key()).collect();
        if batch.is_empty() {
            break;
        }
        calls += 1;
        bucket
            .delete_multiple(batch.clone())
            .await
            .map_err(storage_err("erase session"))?;
        keys.extend(batch);
    }
    if let Some(m) =
        manifest_text.and_then(|t: String| serde_json::from_str::<serde_json::Value>(&t).ok())
    {
        if let (Some(visitor), Some(created)) = (
            m["visitor"].as_str().and_then(VisitorId::parse),
            m["created_at"].as_u64(),
        ) {
            let day = storage::utc_day(created);
            let idx = vec![
                storage::day_index_key(key, &day, session),
                storage::visitor_index_key(key, &visitor, session),
            ];
            calls += 1;
            bucket
                .delete_multiple(idx)
                .await
                .map_err(storage_err("erase session"))?;
        }
    }
    Ok((!keys.is_empty(), calls))
}
