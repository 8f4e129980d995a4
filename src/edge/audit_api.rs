//! Audit API for compliance officers (`Authorization: Bearer <audit token>`): decisions as
//! NDJSON, hash-chain verification, daily report. Reads R2 only; the chains are written by
//! the session objects (see `session_do`).

use worker::{Env, Request, Response};

use super::http::{self, now_ms, storage_err};
use super::projects::{self, Token};
use super::r2::read_bytes;
use crate::audit::{self, AuditRecord};
use crate::error::ApiError;

type Result<T> = std::result::Result<T, ApiError>;

/// Most audit objects one request reads (each is one R2 read).
const MAX_OBJECTS: usize = 5_000;

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
            let Some(bytes) = read_bytes(env, &key).await? else {
                continue;
            };
            let text = String::from_utf8(bytes)
                .map_err(|_| ApiError::unavailable("read audit failed; retry later"))?;
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
    projects::authorize(key, req, env, Token::Audit).await?;
    let (from, to) = http::time_range(req, now_ms() + 1)?;
    let records = records_in(key, env, from, to).await?;
    let body = audit::to_ndjson(audit::in_range(&records, from, to));
    let mut resp = http::raw_json(200, body)?;
    let _ = resp
        .headers_mut()
        .set("Content-Type", "application/x-ndjson");
    Ok(resp)
}

pub async fn report(key: &str, req: &Request, env: &Env) -> Result<Response> {
    projects::authorize(key, req, env, Token::Audit).await?;
    let (from, to) = http::time_range(req, now_ms() + 1)?;
    let records = records_in(key, env, from, to).await?;
    http::json(
        200,
        &audit::daily_report(audit::in_range(&records, from, to)),
    )
}

/// Recompute every chain of the project (all days and the anchor chains).
pub async fn verify(key: &str, req: &Request, env: &Env) -> Result<Response> {
    projects::authorize(key, req, env, Token::Audit).await?;
    let mut objects = Vec::new();
    read_prefix(env, &format!("audit/{key}/"), &mut objects).await?;
    http::json(200, &audit::verify_project(key, &objects))
}
