//! Response helpers: JSON bodies, the one error → response mapping, CORS and security headers.

use serde::Serialize;
use worker::{Headers, Response};

use crate::error::{ApiError, ErrorCode};
use crate::project::CorsGrant;

type Result<T> = std::result::Result<T, ApiError>;

/// Map a runtime failure (KV, R2, DO) to a retryable 503, logging only the operation name.
pub fn storage_err(op: &'static str) -> impl FnOnce(worker::Error) -> ApiError {
    move |e| {
        worker::console_error!("storage failure in {op}: {}", short(&e.to_string()));
        ApiError::unavailable(format!("{op} failed; retry later"))
    }
}

/// Runtime error texts can quote request content; keep only a short prefix for the log.
fn short(s: &str) -> String {
    s.chars().take(120).collect()
}

/// Set this object's alarm to `at_ms` (every object class's one way to do it).
pub async fn set_alarm(storage: &worker::Storage, at_ms: u64, what: &'static str) -> Result<()> {
    let date = worker::js_sys::Date::new(&worker::wasm_bindgen::JsValue::from_f64(at_ms as f64));
    storage
        .set_alarm(worker::ScheduledTime::new(date))
        .await
        .map_err(storage_err(what))
}

/// Write several values to this object's storage in one atomic put.
pub async fn put_multiple<K: Into<worker::wasm_bindgen::JsValue>>(
    storage: &worker::Storage,
    entries: Vec<(K, String)>,
    what: &'static str,
) -> Result<()> {
    let obj = worker::js_sys::Object::new();
    for (key, value) in entries {
        let _ = worker::js_sys::Reflect::set(&obj, &key.into(), &value.into());
    }
    storage
        .put_multiple_raw(obj)
        .await
        .map_err(storage_err(what))
}

pub fn json<T: Serialize>(status: u16, body: &T) -> Result<Response> {
    let text =
        serde_json::to_string(body).map_err(|_| ApiError::new(ErrorCode::Internal, "serialize"))?;
    raw_json(status, text)
}

pub fn raw_json(status: u16, text: String) -> Result<Response> {
    let headers = Headers::new();
    let _ = headers.set("Content-Type", "application/json; charset=utf-8");
    let _ = headers.set("Cache-Control", "no-store");
    let _ = headers.set("X-Content-Type-Options", "nosniff");
    Response::ok(text)
        .map(|r| r.with_status(status).with_headers(headers))
        .map_err(|_| ApiError::new(ErrorCode::Internal, "response"))
}

pub fn error_response(e: &ApiError, cors_origin: Option<&CorsGrant>) -> Result<Response> {
    let mut resp = raw_json(e.status, e.body())?;
    if let Some(secs) = e.retry_after {
        let _ = resp.headers_mut().set("Retry-After", &secs.to_string());
    }
    if let Some(o) = cors_origin {
        cors(resp.headers_mut(), o);
    }
    Ok(resp)
}

/// Set what `Project::cors_grant` decided.
pub fn cors(headers: &mut Headers, grant: &CorsGrant) {
    let _ = headers.set("Access-Control-Allow-Origin", &grant.allow_origin);
    // Not a CORS-safelisted response header: without this the SDK cannot honour it.
    let _ = headers.set("Access-Control-Expose-Headers", "Retry-After");
    if grant.credentials {
        let _ = headers.set("Access-Control-Allow-Credentials", "true");
    }
}

pub fn preflight(origin: &CorsGrant) -> Result<Response> {
    let mut resp = Response::empty()
        .map_err(|_| ApiError::new(ErrorCode::Internal, "response"))?
        .with_status(204);
    let h = resp.headers_mut();
    cors(h, origin);
    let _ = h.set("Access-Control-Allow-Methods", "POST, OPTIONS");
    let _ = h.set(
        "Access-Control-Allow-Headers",
        "Content-Type, Content-Encoding",
    );
    let _ = h.set("Access-Control-Max-Age", "86400");
    Ok(resp)
}

pub fn header(req: &worker::Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

pub fn query_param(req: &worker::Request, name: &str) -> Option<String> {
    crate::routes::query_param(crate::routes::split_url(&req.inner().url()).1, name)
}

/// The request's path, without the `url` crate (see `routes::split_url`).
pub fn path(req: &worker::Request) -> String {
    crate::routes::split_url(&req.inner().url()).0.to_string()
}

/// `from`/`to` query parameters in ms (`routes::time_range`: the rule and its tests).
pub fn time_range(req: &worker::Request, default_to: u64) -> Result<(u64, u64)> {
    crate::routes::time_range(
        query_param(req, "from").as_deref(),
        query_param(req, "to").as_deref(),
        default_to,
        now_ms(),
    )
}

pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// Read a request body as it streams in, refusing it (413) as soon as it passes the wire
/// cap: a chunked body has no `Content-Length` to check first, and reading it whole would
/// let one request exhaust the isolate's memory.
pub async fn read_body_capped(
    req: &mut worker::Request,
    limits: &crate::envelope::Limits,
) -> Result<Vec<u8>> {
    use futures_util::StreamExt as _;
    let unreadable = || {
        ApiError::new(
            ErrorCode::UnreadableBody,
            "the request body could not be read",
        )
    };
    let mut stream = match req.stream() {
        Ok(s) => s,
        // No body at all.
        Err(_) => return Ok(Vec::new()),
    };
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| unreadable())?;
        crate::envelope::check_wire_len(body.len().saturating_add(chunk.len()), limits)?;
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A response's whole body in one `arrayBuffer()`. workers-rs's `Response::bytes` reads a
/// streamed body chunk by chunk through a Rust stream, several promise turns even for the
/// session object's few-byte reply, on every beacon.
pub async fn body_bytes(resp: Response) -> worker::Result<Vec<u8>> {
    let stream = match resp.body() {
        worker::ResponseBody::Stream(s) => s,
        worker::ResponseBody::Body(b) => return Ok(b.clone()),
        worker::ResponseBody::Empty => return Ok(Vec::new()),
    };
    // A fresh wrapper around the body stream (workers-rs's own conversion unwraps).
    let web = worker::web_sys::Response::new_with_opt_readable_stream(Some(stream))?;
    let buf = worker::wasm_bindgen_futures::JsFuture::from(web.array_buffer()?).await?;
    Ok(js_sys::Uint8Array::new(&buf).to_vec())
}
