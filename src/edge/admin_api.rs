//! The admin API (docs/ADMIN.md): moves project configs between HTTP and KV. Every
//! decision (validation, merge, If-Match, token rotation, what GET shows) is `crate::admin`'s.

use serde_json::{json, Value};
use worker::{Env, Request, Response};

use super::bindings;
use super::http::{self, header, now_ms, query_param, storage_err};
use super::projects;
use crate::admin::{self, PutDecision, TokenKind};
use crate::error::{ApiError, ErrorCode};
use crate::project::{bearer, ConfigProblem, Project};

type Result<T> = std::result::Result<T, ApiError>;

/// Largest config body accepted; real configs are a few KiB.
const MAX_BODY: usize = 256 << 10;
/// Largest page of the project list.
const MAX_PAGE: u64 = 100;

/// No `ADMIN_TOKEN_SHA256` secret: 503, never open. Missing and wrong token look the same.
fn authorize(req: &Request, env: &Env) -> Result<()> {
    let secret = env
        .secret(bindings::ADMIN_TOKEN_SHA256)
        .map(|s| s.to_string())
        .unwrap_or_default();
    if secret.trim().is_empty() {
        return Err(ApiError::new(
            ErrorCode::AdminDisabled,
            "the admin API is not configured on this deployment (ADMIN_TOKEN_SHA256)",
        ));
    }
    let auth = header(req, "Authorization");
    if admin::admin_token_ok(bearer(auth.as_deref()), &secret) {
        Ok(())
    } else {
        Err(ApiError::unauthorized("missing or invalid admin token"))
    }
}

fn kv(env: &Env) -> Result<worker::kv::KvStore> {
    env.kv(bindings::PROJECTS).map_err(storage_err("admin"))
}

async fn stored(env: &Env, key: &str) -> Result<Option<String>> {
    kv(env)?
        .get(&format!("project:{key}"))
        .text()
        .await
        .map_err(|e| storage_err("admin read")(e.into()))
}

/// Audit first, then write: a failed write leaves a record of an attempted change, never a
/// change without a record.
async fn store(
    env: &Env,
    key: &str,
    action: &str,
    before: Option<&Value>,
    config: &Value,
    project: &Project,
) -> Result<String> {
    let fields = admin::changed_fields(before, config);
    super::objects::record_admin_change(
        env,
        key,
        action,
        &fields,
        &project.consent.version_label(),
    )
    .await?;
    let text = config.to_string();
    kv(env)?
        .put(&format!("project:{key}"), text.clone())
        .map_err(|e| storage_err("admin write")(e.into()))?
        .execute()
        .await
        .map_err(|e| storage_err("admin write")(e.into()))?;
    projects::forget(key);
    Ok(text)
}

fn invalid(problems: Vec<ConfigProblem>) -> Result<Response> {
    http::json(
        400,
        &json!({"error": {
            "code": ErrorCode::InvalidConfig.as_str(),
            "message": format!("the config has {} problem(s); nothing was changed", problems.len()),
            "details": problems,
        }}),
    )
}

fn with_etag(status: u16, stored: &str) -> Result<Response> {
    let value: Value = serde_json::from_str(stored).unwrap_or(Value::Null);
    let mut resp = http::json(status, &admin::public_view(&value))?;
    let _ = resp.headers_mut().set("ETag", &admin::etag(stored));
    Ok(resp)
}

async fn json_body(mut req: Request) -> Result<Value> {
    let bytes = req
        .bytes()
        .await
        .map_err(|_| ApiError::new(ErrorCode::InvalidJson, "could not read the body"))?;
    if bytes.len() > MAX_BODY {
        return Err(ApiError::new(
            ErrorCode::ConfigTooLarge,
            "config body over 256 KiB",
        ));
    }
    serde_json::from_slice(&bytes)
        .map_err(|_| ApiError::new(ErrorCode::InvalidJson, "the body is not JSON"))
}

fn not_found() -> ApiError {
    ApiError::not_found("no such project")
}

/// `GET /v1/admin/projects?limit=&cursor=`: one KV list page of keys.
pub async fn list(req: &Request, env: &Env) -> Result<Response> {
    authorize(req, env)?;
    let limit = query_param(req, "limit")
        .and_then(|l| l.parse::<u64>().ok())
        .unwrap_or(MAX_PAGE)
        .clamp(1, MAX_PAGE);
    let mut list = kv(env)?.list().prefix("project:".to_string()).limit(limit);
    if let Some(c) = query_param(req, "cursor").filter(|c| !c.is_empty()) {
        list = list.cursor(c);
    }
    let page = list
        .execute()
        .await
        .map_err(|e| storage_err("admin list")(e.into()))?;
    let keys: Vec<&str> = page
        .keys
        .iter()
        .map(|k| k.name.trim_start_matches("project:"))
        .collect();
    let cursor = (!page.list_complete).then_some(page.cursor).flatten();
    http::json(200, &json!({"projects": keys, "cursor": cursor}))
}

/// `GET`, `PUT` and `PATCH /v1/admin/projects/{key}`.
pub async fn project(key: &str, req: Request, env: &Env) -> Result<Response> {
    authorize(&req, env)?;
    let method = req.method().to_string();
    let current = stored(env, key).await?;
    match method.as_str() {
        "GET" => with_etag(200, &current.ok_or_else(not_found)?),
        "PUT" => {
            let if_match = header(&req, "If-Match");
            let decision = admin::put_decision(current.as_deref(), if_match.as_deref());
            match decision {
                PutDecision::NeedsIfMatch => {
                    return Err(ApiError::new(
                        ErrorCode::ProjectExists,
                        "this project exists; send If-Match with its ETag (or *) to replace it",
                    ))
                }
                PutDecision::Stale => return Err(stale()),
                PutDecision::Create if !admin::is_valid_new_key(key) => {
                    return Err(ApiError::new(
                        ErrorCode::InvalidKey,
                        "a new project key is 8-64 characters of A-Z a-z 0-9 _ -",
                    ))
                }
                _ => {}
            }
            let body = json_body(req).await?;
            let before = current
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok());
            match admin::prepare_put(&body, before.as_ref()) {
                Err(problems) => invalid(problems),
                Ok((next, p)) => {
                    let action = if decision == PutDecision::Create {
                        "create"
                    } else {
                        "replace"
                    };
                    let text = store(env, key, action, before.as_ref(), &next, &p).await?;
                    let status = if decision == PutDecision::Create {
                        201
                    } else {
                        200
                    };
                    with_etag(status, &text)
                }
            }
        }
        "PATCH" => {
            let current = current.ok_or_else(not_found)?;
            if let Some(tag) = header(&req, "If-Match") {
                if !admin::etag_matches(&current, &tag) {
                    return Err(stale());
                }
            }
            let before: Value = serde_json::from_str(&current).unwrap_or(Value::Null);
            let patch = json_body(req).await?;
            match admin::prepare_patch(&before, &patch) {
                Err(problems) => invalid(problems),
                Ok((next, p)) => with_etag(
                    200,
                    &store(env, key, "patch", Some(&before), &next, &p).await?,
                ),
            }
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

fn stale() -> ApiError {
    ApiError::new(
        ErrorCode::EtagMismatch,
        "the project changed since it was read; GET it again",
    )
}

/// `POST /v1/admin/projects/{key}/tokens/{read|audit}?grace=SECONDS`: a new token, answered
/// once; earlier ones end after the grace.
pub async fn rotate(key: &str, kind: TokenKind, req: &Request, env: &Env) -> Result<Response> {
    authorize(req, env)?;
    let grace = admin::parse_grace(query_param(req, "grace").as_deref())
        .map_err(|m| ApiError::new(ErrorCode::InvalidGrace, m))?;
    let current = stored(env, key).await?.ok_or_else(not_found)?;
    let before: Value = serde_json::from_str(&current).map_err(|_| {
        ApiError::with_status(
            409,
            ErrorCode::ProjectMisconfigured,
            "the stored config is not JSON; PUT a new one",
        )
    })?;
    let mut random = [0u8; 40];
    getrandom::fill(&mut random)
        .map_err(|_| ApiError::unavailable("no randomness for a token; retry"))?;
    let now = now_ms();
    let issued = admin::issue(&random, now);
    let next = admin::rotate(&before, kind, issued.entry.clone(), now, grace);
    let project = match Project::from_value(&next) {
        Ok(p) => p,
        Err(problems) => return invalid(problems),
    };
    let action = match kind {
        TokenKind::Read => "rotate_read_token",
        TokenKind::Audit => "rotate_audit_token",
    };
    let text = store(env, key, action, Some(&before), &next, &project).await?;
    let mut resp = http::json(
        201,
        &json!({
            "token": issued.secret,
            "id": issued.entry.id,
            "created_ms": issued.entry.created_ms,
            "previous_valid_until_ms": now + grace * 1000,
        }),
    )?;
    let _ = resp.headers_mut().set("ETag", &admin::etag(&text));
    Ok(resp)
}
