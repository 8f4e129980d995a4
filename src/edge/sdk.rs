//! The browser SDK: its two files (built by tools/assets/build.mjs into the `ASSETS`
//! directory, so they stay out of the wasm) and its public project config.

use worker::{Env, Headers, Request, Response};

use super::bindings;
use super::http::storage_err;
use crate::error::{ApiError, ErrorCode};
use crate::sdk;

type Result<T> = std::result::Result<T, ApiError>;

/// Any site may load the SDK and read its config: both are public by design.
fn public_headers(h: &Headers, cache: &str) {
    let _ = h.set("Access-Control-Allow-Origin", "*");
    let _ = h.set("Cache-Control", cache);
    let _ = h.set("X-Content-Type-Options", "nosniff");
    let _ = h.set("Cross-Origin-Resource-Policy", "cross-origin");
}

pub async fn asset(name: &str, req: &Request, env: &Env) -> Result<Response> {
    let path = sdk::asset_path(name).ok_or_else(|| ApiError::not_found("no such file"))?;
    let assets = env
        .assets(bindings::ASSETS)
        .map_err(|_| ApiError::not_found("the SDK is not part of this build"))?;
    let url = format!("https://assets.invalid{path}");
    let mut init = worker::RequestInit::new();
    init.with_method(worker::Method::Get);
    let sub = Request::new_with_init(&url, &init).map_err(storage_err("sdk asset"))?;
    // Conditional requests let browsers revalidate without downloading again.
    if let Some(tag) = super::http::header(req, "If-None-Match") {
        let _ = sub.headers().set("If-None-Match", &tag);
    }
    let resp = assets
        .fetch_request(sub)
        .await
        .map_err(storage_err("sdk asset"))?;
    match resp.status_code() {
        200 | 304 => {}
        404 => return Err(ApiError::not_found("the SDK is not part of this build")),
        _ => return Err(ApiError::unavailable("sdk asset failed; retry later")),
    }
    let status = resp.status_code();
    let etag = resp.headers().get("ETag").ok().flatten();
    let body = if status == 304 {
        Vec::new()
    } else {
        let mut resp = resp;
        resp.bytes().await.map_err(storage_err("sdk asset"))?
    };
    let h = Headers::new();
    let _ = h.set("Content-Type", "text/javascript; charset=utf-8");
    if let Some(tag) = etag {
        let _ = h.set("ETag", &tag);
    }
    public_headers(&h, sdk::SDK_CACHE_CONTROL);
    let out = if status == 304 {
        Response::empty()
    } else {
        Response::from_bytes(body)
    };
    out.map(|r| r.with_status(status).with_headers(h))
        .map_err(|_| ApiError::new(ErrorCode::Internal, "response"))
}

/// The loader asks with credentials; `sdk::config_reply` decides what the cookie may change
/// and how the answer may be read.
pub async fn config(key: &str, req: &Request, env: &Env) -> Result<Response> {
    let origin = super::http::header(req, "Origin");
    let (mut resp, reply) = match super::projects::load(key, env).await {
        Ok(p) => {
            let cookie = super::http::header(req, "Cookie");
            let reply = sdk::config_reply(&p, origin.as_deref(), cookie.as_deref());
            (super::http::json(200, &reply.body)?, Some(reply))
        }
        Err(e) => (super::http::error_response(&e, None)?, None),
    };
    let cache = match &reply {
        Some(r) => r.cache_control,
        None => "public, max-age=60",
    };
    let h = resp.headers_mut();
    public_headers(h, cache);
    // An unknown key's refusal must be readable by the credentialed request too, so the
    // loader can say why it does nothing; it depends on no cookie.
    let cors = match reply {
        Some(r) => r.cors,
        None => sdk::config_reply_cors(origin.as_deref()),
    };
    if let sdk::ConfigCors::Origin(o) = cors {
        let _ = h.set("Access-Control-Allow-Origin", &o);
        let _ = h.set("Access-Control-Allow-Credentials", "true");
    }
    let _ = h.append("Vary", sdk::CONFIG_VARY);
    Ok(resp)
}
