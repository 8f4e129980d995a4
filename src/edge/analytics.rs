//! Behaviour analytics at the edge: the store objects' SQL port (`{project}/analytics/{month}`,
//! objects of the session class, over their SQLite storage) and the read API's session search
//! and summary, which ask every month shard of the range. What a store does and how a search
//! is read are decided in `analytics::{store,search}`; this file only moves bytes.

use worker::{Env, Request, Response, SqlStorageValue, State};

use super::http::{self, now_ms};
use super::objects;
use super::projects::{self, Token};
use crate::analytics::search::{self, Cursor};
use crate::analytics::store::{self, Call, Page, Sql, SqlVal, Summary};
use crate::error::{ApiError, ErrorCode};
use crate::ids::ProjectKey;
use crate::protocol::ObjectCall;

type Result<T> = std::result::Result<T, ApiError>;

struct DoSql(worker::SqlStorage);

impl Sql for DoSql {
    fn exec(&self, sql: &str, args: &[SqlVal]) -> std::result::Result<Vec<Vec<SqlVal>>, String> {
        let binds: Vec<SqlStorageValue> = args
            .iter()
            .map(|a| match a {
                SqlVal::Null => SqlStorageValue::Null,
                SqlVal::Int(i) => SqlStorageValue::Integer(*i),
                SqlVal::Real(f) => SqlStorageValue::Float(*f),
                SqlVal::Text(s) => SqlStorageValue::String(s.clone()),
            })
            .collect();
        let cursor = self.0.exec(sql, binds).map_err(|e| e.to_string())?;
        cursor
            .raw()
            .map(|row| {
                row.map_err(|e| e.to_string()).map(|r| {
                    r.into_iter()
                        .map(|v| match v {
                            SqlStorageValue::Integer(i) => SqlVal::Int(i),
                            SqlStorageValue::Float(f) => SqlVal::Real(f),
                            SqlStorageValue::String(s) => SqlVal::Text(s),
                            SqlStorageValue::Boolean(b) => SqlVal::Int(i64::from(b)),
                            SqlStorageValue::Null | SqlStorageValue::Blob(_) => SqlVal::Null,
                        })
                        .collect()
                })
            })
            .collect()
    }
}

/// A store object's call.
pub fn serve(state: &State, call: &Call) -> Result<Response> {
    let answer = store::handle(&DoSql(state.storage().sql()), call)
        .map_err(|_| ApiError::unavailable("analytics store failed; retry later"))?;
    Response::ok(answer.to_string()).map_err(|_| ApiError::unavailable("response"))
}

async fn ask<T: serde::de::DeserializeOwned + Default>(
    env: &Env,
    key: &ProjectKey,
    month: &str,
    call: Call,
) -> Result<T> {
    let reply = objects::call(
        env,
        &store::shard_name(key, month),
        ObjectCall::Analytics(call),
    )
    .await?;
    match reply {
        Some(bytes) => serde_json::from_slice(&bytes)
            .map_err(|_| ApiError::unavailable("analytics store answer unreadable")),
        None => Ok(T::default()),
    }
}

/// `GET …/sessions` with filters (the read token and range already checked by the caller):
/// one page, oldest first, across the month shards of the range.
pub async fn search(
    key: &ProjectKey,
    req: &Request,
    env: &Env,
    from: u64,
    to: u64,
) -> Result<Response> {
    let url = req.inner().url();
    let pairs = crate::routes::query_pairs(crate::routes::split_url(&url).1);
    let (q, cursor) = search::parse(
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        from,
        to,
    )?;
    let months = store::months(from, to);
    let start = match &cursor {
        Some(c) => months
            .iter()
            .position(|m| *m == c.month)
            .ok_or_else(|| ApiError::new(ErrorCode::InvalidCursor, "cursor: outside this range"))?,
        None => 0,
    };
    let mut rows = Vec::new();
    let mut next = None;
    for (i, month) in months.iter().enumerate().skip(start) {
        let mut sq = q.clone();
        sq.limit = q.limit - rows.len();
        sq.after = cursor
            .as_ref()
            .filter(|_| i == start)
            .and_then(|c| c.after.clone());
        let page: Page = ask(env, key, month, Call::Search(sq)).await?;
        rows.extend(page.rows);
        if let Some(after) = page.next {
            next = Some(Cursor {
                month: month.clone(),
                after: Some(after),
            });
            break;
        }
        if rows.len() >= q.limit {
            next = months.get(i + 1).map(|m| Cursor {
                month: m.clone(),
                after: None,
            });
            break;
        }
    }
    http::json(
        200,
        &serde_json::json!({
            "rules": crate::analytics::RULES,
            "sessions": rows,
            "cursor": next.map(|c| c.to_string()),
        }),
    )
}

/// `GET …/analytics/summary?from=&to=`.
pub async fn summary(key: &ProjectKey, req: &Request, env: &Env) -> Result<Response> {
    projects::authorize(key, req, env, Token::Read).await?;
    let (from, to) = http::time_range(req, now_ms())?;
    let mut parts = Vec::new();
    for month in store::months(from, to) {
        let s: Summary = ask(
            env,
            key,
            &month,
            Call::Summary {
                from_ms: from,
                to_ms: to,
            },
        )
        .await?;
        parts.push(s);
    }
    http::json(200, &store::merge_summaries(&parts).to_json(from, to))
}
