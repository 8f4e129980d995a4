//! Calls to objects of the session class (`SESSION`) by name: the one place a stub is made
//! and a `protocol::ObjectCall` sent, for the worker's handlers and for the objects
//! themselves (a session appending to its audit log, pinning its head in an anchor chain).

use worker::{js_sys, Env, Request};

use super::http::storage_err;
use crate::error::{ApiError, ErrorCode};
use crate::protocol::{error_from_reply, ObjectCall};

type ApiResult<T> = std::result::Result<T, ApiError>;

/// Call a session-class object by name; `Ok(None)` for its 404, the object's refusal as it
/// sent it (`protocol::error_from_reply`). Bodies go as bytes both ways: as a JS string, a
/// beacon's events would be converted from UTF-8 to UTF-16 and back.
pub async fn call(env: &Env, name: &str, call: ObjectCall<'_>) -> ApiResult<Option<Vec<u8>>> {
    super::subrequests::count();
    let (path, body) = call
        .encode()
        .map_err(|_| ApiError::new(ErrorCode::Internal, "serialize"))?;
    let ns = env
        .durable_object(super::bindings::SESSION)
        .map_err(storage_err("session object"))?;
    let stub = ns
        .get_by_name(name)
        .map_err(storage_err("session object"))?;
    let mut init = worker::RequestInit::new();
    init.with_method(worker::Method::Post)
        .with_body(Some(js_sys::Uint8Array::from(&*body).into()));
    let req = Request::new_with_init(&format!("https://session.internal{path}"), &init)
        .map_err(storage_err("session object"))?;
    let resp = stub
        .fetch_with_request(req)
        .await
        .map_err(storage_err("session object"))?;
    let status = resp.status_code();
    let reply = super::http::body_bytes(resp)
        .await
        .map_err(storage_err("session object"))?;
    match status {
        200 => Ok(Some(reply)),
        404 => Ok(None),
        _ => Err(error_from_reply(status, &reply)),
    }
}
