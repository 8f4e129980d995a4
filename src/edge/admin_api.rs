//! The admin API (docs/ADMIN.md): checks the admin token and the body, then hands each request
//! to the project's admin object (`edge::admin_do`, decided in `admin::store`), the config's
//! source of truth, which publishes it to KV. Every decision (validation, merge, If-Match,
//! token rotation, what GET shows) is `crate::admin`'s.

use serde_json::{json, Value};
use worker::{Env, Request, Response};

use super::bindings;
use super::http::{self, header, query_param, storage_err};
use super::projects;
use crate::admin::store::{AdminCall, AdminOp, AdminReply};
use crate::admin::{self, TokenKind};
use crate::error::{ApiError, ErrorCode};
use crate::project::{bearer, ConfigProblem, Project};
use crate::protocol::ObjectCall;

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

/// Run `op` in the project's admin object (`admin::store` decides there, one request at a
/// time) and answer what it says. A change's new config is cached in this isolate at once.
async fn in_object(env: &Env, key: &str, op: AdminOp) -> Result<Response> {
    let call = AdminCall {
        project: key.to_string(),
        op,
    };
    let reply = super::objects::call(
        env,
        &crate::audit::log::admin_object_name(key),
        ObjectCall::Admin(&call.encode()?),
    )
    .await?
    .ok_or_else(|| ApiError::unavailable("admin object unreachable; retry"))?;
    let reply: AdminReply = serde_json::from_slice(&reply)
        .map_err(|_| ApiError::unavailable("admin object reply unreadable; retry"))?;
    match reply {
        AdminReply::Refused {
            code,
            details,
            message,
            status,
        } => {
            if !details.is_empty() {
                return invalid(details);
            }
            let code = ErrorCode::parse(&code)
                .filter(|c| c.statuses().contains(&status))
                .ok_or_else(|| ApiError::unavailable("admin object reply unreadable; retry"))?;
            Err(ApiError::with_status(status, code, message))
        }
        AdminReply::Done {
            status,
            version,
            etag,
            config,
            token,
        } => {
            if let Ok(p) = Project::from_value(&config) {
                projects::remember(key, p, version, env);
            }
            let mut resp = match token {
                Some(t) => http::json(status, &t)?,
                None => http::json(status, &admin::public_view(&config))?,
            };
            let _ = resp.headers_mut().set("ETag", &etag);
            Ok(resp)
        }
    }
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
    let if_match = header(&req, "If-Match");
    let op = match method.as_str() {
        "GET" => AdminOp::Get,
        "PUT" => AdminOp::Put {
            body: json_body(req).await?,
            if_match,
        },
        "PATCH" => AdminOp::Patch {
            patch: json_body(req).await?,
            if_match,
        },
        _ => return Err(ApiError::method_not_allowed()),
    };
    in_object(env, key, op).await
}

/// `POST /v1/admin/projects/{key}/tokens/{read|audit}?grace=SECONDS`: a new token, answered
/// once; earlier ones end after the grace.
pub async fn rotate(key: &str, kind: TokenKind, req: &Request, env: &Env) -> Result<Response> {
    authorize(req, env)?;
    let grace_secs = admin::parse_grace(query_param(req, "grace").as_deref())
        .map_err(|m| ApiError::new(ErrorCode::InvalidGrace, m))?;
    in_object(env, key, AdminOp::Rotate { kind, grace_secs }).await
}
