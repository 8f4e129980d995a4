//! The session Durable Object class (`SESSION`): one object per `{project}:{session}`, and the
//! same class for the per-project audit anchor chains (`{project}/anchor/NN`), admin chain
//! (`{project}/admin`), audit logs, verify jobs and visitor erasure jobs, which need the same
//! one-writer guarantee.
//! It decodes each request into a `protocol::ObjectCall` and runs it: a session's calls in
//! `session::object` (the order of their effects is decided there, over [`ObjectIo`]), the
//! audit log's in `audit_log_do`. This file only moves bytes between those and the runtime.
//!
//! Requests to one object run one at a time (an async lock held across the awaits): a
//! session's beacons come from one tab, so this costs nothing, and it keeps the audit chain,
//! the masking state and the seq set free of interleavings.

use futures_util::lock::Mutex;
use serde::Serialize;
use worker::{durable_object, wasm_bindgen, DurableObject, Env, Request, Response, Result, State};

use super::http::{now_ms, storage_err};
use super::r2::put_json_with_metadata;
use crate::error::ApiError;
use crate::protocol::ObjectCall;
use crate::session::object::{ObjectIo, SessionCore};

type ApiResult<T> = std::result::Result<T, ApiError>;

#[durable_object]
pub struct SessionObject {
    state: State,
    env: Env,
    core: SessionCore,
    /// When this object is an audit log (`audit_log_do`): its state, once loaded.
    log: crate::audit::log::LogCore,
    lock: Mutex<()>,
}

impl DurableObject for SessionObject {
    fn new(state: State, env: Env) -> Self {
        SessionObject {
            state,
            env,
            core: SessionCore::default(),
            log: crate::audit::log::LogCore::default(),
            lock: Mutex::new(()),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let _turn = self.lock.lock().await;
        let path = super::http::path(&req);
        let body = req.bytes().await.unwrap_or_default();
        let result = match ObjectCall::decode(&path, &body) {
            Ok(call) => self.serve(call).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(resp) => Ok(resp),
            Err(e) => Response::error(e.body(), e.status),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        let _turn = self.lock.lock().await;
        // An error makes the runtime retry the alarm.
        if super::audit_log_do::verify_alarm(&self.state, &self.env)
            .await
            .map_err(|e| worker::Error::RustError(e.to_string()))?
        {
            return Response::ok("ok");
        }
        if super::erase_job_do::alarm(&self.state, &self.env)
            .await
            .map_err(|e| worker::Error::RustError(e.to_string()))?
        {
            return Response::ok("ok");
        }
        if super::audit_log_do::log_alarm(&self.log_io(), &self.log)
            .await
            .map_err(|e| worker::Error::RustError(e.to_string()))?
        {
            return Response::ok("ok");
        }
        self.core
            .alarm(&self.io())
            .await
            .map_err(|e| worker::Error::RustError(e.to_string()))?;
        Response::ok("ok")
    }
}

fn ok(body: String) -> ApiResult<Response> {
    Response::ok(body).map_err(|_| ApiError::unavailable("response"))
}

fn ok_json<T: Serialize>(v: &T) -> ApiResult<Response> {
    ok(serde_json::to_string(v).map_err(|_| ApiError::unavailable("serialize"))?)
}

impl SessionObject {
    fn io(&self) -> Io<'_> {
        Io {
            state: &self.state,
            env: &self.env,
        }
    }

    fn log_io(&self) -> super::audit_log_do::LogObjectIo<'_> {
        super::audit_log_do::LogObjectIo {
            state: &self.state,
            env: &self.env,
        }
    }

    async fn serve(&self, call: ObjectCall<'_>) -> ApiResult<Response> {
        let (state, env, log, io) = (&self.state, &self.env, &self.log, self.io());
        match call {
            ObjectCall::Ingest(c, events) => ok_json(&self.core.ingest(&io, c, events).await?),
            ObjectCall::Manifest => ok(self.core.manifest(&io).await?),
            ObjectCall::Erase(e) => self.core.erase(&io, e).await.and_then(|()| ok("{}".into())),
            ObjectCall::Anchor(p) => self
                .core
                .anchor(&io, p)
                .await
                .and_then(|()| ok("{}".into())),
            ObjectCall::Admin(call) => {
                super::admin_do::serve(state, env, &self.core, &io, call).await
            }
            ObjectCall::Log(rec) => super::audit_log_do::append(&self.log_io(), log, rec).await,
            ObjectCall::LogHead => super::audit_log_do::head(&self.log_io(), log).await,
            ObjectCall::VerifyStart(job) => super::audit_log_do::verify_start(state, job).await,
            ObjectCall::VerifyStatus => super::audit_log_do::verify_status(state).await,
            ObjectCall::Analytics(c) => super::analytics::serve(state, &c),
            ObjectCall::EraseStart(job) => super::erase_job_do::start(state, job).await,
            ObjectCall::EraseStatus => super::erase_job_do::status(state).await,
            #[cfg(feature = "faults")]
            ObjectCall::LogSeed(w) => super::audit_log_do::seed(&self.log_io(), log, w).await,
        }
    }
}

/// A session object's effects on the runtime: its DO storage and alarm, R2, other objects.
struct Io<'a> {
    state: &'a State,
    env: &'a Env,
}

impl ObjectIo for Io<'_> {
    async fn get(&self, key: &'static str) -> ApiResult<Option<String>> {
        self.state
            .storage()
            .get(key)
            .await
            .map_err(storage_err("session state"))
    }

    async fn put_state(&self, entries: Vec<(&'static str, String)>) -> ApiResult<()> {
        super::http::put_multiple(&self.state.storage(), entries, "session state").await
    }

    async fn delete_state(&self, keys: &[&'static str]) -> ApiResult<()> {
        self.state
            .storage()
            .delete_multiple(keys.to_vec())
            .await
            .map(|_| ())
            .map_err(storage_err("session state"))
    }

    async fn set_alarm(&self, at_ms: u64) -> ApiResult<()> {
        super::http::set_alarm(&self.state.storage(), at_ms, "session alarm").await
    }

    async fn delete_alarm(&self) -> ApiResult<()> {
        self.state
            .storage()
            .delete_alarm()
            .await
            .map_err(storage_err("session alarm"))
    }

    async fn put(&self, key: &str, body: Vec<u8>, meta: Vec<(String, String)>) -> ApiResult<()> {
        put_json_with_metadata(self.env, key, body, meta).await
    }

    async fn call(&self, name: &str, call: ObjectCall<'_>) -> ApiResult<Option<Vec<u8>>> {
        super::objects::call(self.env, name, call).await
    }

    fn now(&self) -> u64 {
        now_ms()
    }

    fn pseudonym_key(&self) -> Option<String> {
        Some(
            self.env
                .secret(super::bindings::AUDIT_PSEUDONYM_KEY)
                .ok()?
                .to_string(),
        )
    }
}
