//! Audit API for compliance officers (`Authorization: Bearer <audit token>`): decisions as
//! NDJSON, hash-chain verification, daily report. Reads R2 only; the chains are written by
//! the session objects (see `session_do`).

use worker::{Env, Request, Response};

use super::http::{self, header, now_ms, query_param, storage_err};
use super::projects;
use crate::audit::{self, AuditRecord};
use crate::error::ApiError;
use crate::project::bearer;

type Result<T> = std::result::Result<T, ApiError>;

/// Most audit objects one request reads (each is one R2 read).
const MAX_OBJECTS: usize = 5_000;

async fn authorize(key: &str, req: &Request, env: &Env) -> Result<()> {
    let auth = header(req, "Authorization");
    let project = projects::load(key, env).await.map_err(|e| match e.status {
        401 => ApiError::unauthorized("missing or invalid audit token"),
        _ => e,
    })?;
    match bearer(auth.as_deref()) {
        Some(t) if project.audit_token_ok(t) => Ok(()),
        _ => Err(ApiError::unauthorized("missing or invalid audit token")),
    }
}

/// `from`/`to` in ms (default: the last 7 days).
fn range(req: &Request) -> Result<(u64, u64)> {
    let num = |name: &str| query_param(req, name).and_then(|v| v.parse::<u64>().ok());
    let to = num("to").unwrap_or_else(|| now_ms() + 1);
    let from = num("from").unwrap_or(to.saturating_sub(7 * 86_400_000));
    if from > to || to - from > audit::MAX_RANGE_DAYS * 86_400_000 {
        return Err(ApiError::bad_request(
            "invalid_range",
            "from..to must be ordered and span at most 400 days",
        ));
    }
    Ok((from, to))
}

/// Every object under `prefix` as (key, body).
async fn read_prefix(env: &Env, prefix: &str, out: &mut Vec<(String, String)>) -> Result<()> {
    let bucket = env
        .bucket("RECORDINGS")
        .map_err(storage_err("read audit"))?;
    let mut cursor: Option<String> = None;
    loop {
        let mut list = bucket.list().prefix(prefix.to_string());
        if let Some(c) = &cursor {
            list = list.cursor(c.clone());
        }
        let page = list.execute().await.map_err(storage_err("read audit"))?;
        for o in page.objects() {
            if out.len() >= MAX_OBJECTS {
                return Err(ApiError::too_large(
                    "range_too_large",
                    "too many audit records; narrow from..to",
                ));
            }
            let key = o.key();
            let Some(obj) = bucket
                .get(key.clone())
                .execute()
                .await
                .map_err(storage_err("read audit"))?
            else {
                continue;
            };
            let text = match obj.body() {
                Some(b) => b.text().await.map_err(storage_err("read audit"))?,
                None => String::new(),
            };
            out.push((key, text));
        }
        cursor = page.cursor();
        if !page.truncated() || cursor.is_none() {
            return Ok(());
        }
    }
}

/// Records whose chain started on a day in range (one day earlier too: a session that
/// crossed midnight keeps its chain under its first day).
async fn records_in(key: &str, env: &Env, from: u64, to: u64) -> Result<Vec<AuditRecord>> {
    let mut objects = Vec::new();
    for day in audit::days_in_range(from.saturating_sub(86_400_000), to) {
        read_prefix(env, &audit::day_prefix(key, &day), &mut objects).await?;
    }
    // An unparseable record is not skipped silently: verify names it; here it is an error.
    let mut records = Vec::with_capacity(objects.len());
    for (k, body) in &objects {
        let rec = AuditRecord::from_json(body).map_err(|_| {
            ApiError::new(
                409,
                "audit_record_invalid",
                format!("{k} is not a valid audit record; run verify"),
            )
        })?;
        records.push(rec);
    }
    Ok(records)
}

pub async fn list(key: &str, req: &Request, env: &Env) -> Result<Response> {
    authorize(key, req, env).await?;
    let (from, to) = range(req)?;
    let records = records_in(key, env, from, to).await?;
    let body = audit::to_ndjson(audit::in_range(&records, from, to));
    let mut resp = http::raw_json(200, body)?;
    let _ = resp
        .headers_mut()
        .set("Content-Type", "application/x-ndjson");
    Ok(resp)
}

pub async fn report(key: &str, req: &Request, env: &Env) -> Result<Response> {
    authorize(key, req, env).await?;
    let (from, to) = range(req)?;
    let records = records_in(key, env, from, to).await?;
    http::json(
        200,
        &audit::daily_report(audit::in_range(&records, from, to)),
    )
}

/// Recompute every chain of the project (all days and the anchor chains).
pub async fn verify(key: &str, req: &Request, env: &Env) -> Result<Response> {
    authorize(key, req, env).await?;
    let mut objects = Vec::new();
    read_prefix(env, &format!("audit/{key}/"), &mut objects).await?;
    http::json(200, &audit::verify_project(key, &objects))
}
