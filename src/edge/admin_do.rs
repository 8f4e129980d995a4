//! The project's admin object (`{project}/admin`, the session class): runs one admin API
//! request in `admin::store` (which decides and orders every effect) over its DO storage,
//! KV and its own audit chain. This file only moves bytes.

use worker::{Env, Response, State};

use super::http::{now_ms, storage_err};
use super::projects::KvVersion;
use crate::admin::store::{self, AdminCall, AdminIo, Published};
use crate::error::ApiError;
use crate::protocol::AdminChange;
use crate::session::object::{ObjectIo, SessionCore};

type ApiResult<T> = std::result::Result<T, ApiError>;

struct Io<'a, O: ObjectIo> {
    state: &'a State,
    env: &'a Env,
    core: &'a SessionCore,
    object: &'a O,
    project: &'a str,
}

impl<O: ObjectIo> Io<'_, O> {
    fn kv(&self) -> ApiResult<worker::kv::KvStore> {
        self.env
            .kv(super::bindings::PROJECTS)
            .map_err(storage_err("admin kv"))
    }
    fn key(&self) -> String {
        format!("project:{}", self.project)
    }
}

impl<O: ObjectIo> AdminIo for Io<'_, O> {
    async fn load(&self) -> ApiResult<Option<String>> {
        self.state
            .storage()
            .get(store::STATE_KEY)
            .await
            .map_err(storage_err("admin state"))
    }

    async fn save(&self, state: String) -> ApiResult<()> {
        self.state
            .storage()
            .put(store::STATE_KEY, state)
            .await
            .map_err(storage_err("admin state"))
    }

    async fn read_kv(&self) -> ApiResult<Option<Published>> {
        let (text, meta) = self
            .kv()?
            .get(&self.key())
            .text_with_metadata::<KvVersion>()
            .await
            .map_err(|e| storage_err("admin kv read")(e.into()))?;
        Ok(text.map(|text| Published {
            text,
            version: meta.map_or(0, |m| m.v),
        }))
    }

    async fn publish(&self, text: &str, version: u64) -> ApiResult<()> {
        let err = |e: worker::kv::KvError| storage_err("admin kv write")(e.into());
        self.kv()?
            .put(&self.key(), text)
            .map_err(err)?
            .metadata(KvVersion { v: version })
            .map_err(err)?
            .execute()
            .await
            .map_err(err)
    }

    async fn record(&self, change: AdminChange) -> ApiResult<()> {
        self.core.admin(self.object, change).await
    }

    fn now(&self) -> u64 {
        now_ms()
    }

    fn random(&self) -> ApiResult<[u8; 40]> {
        let mut random = [0u8; 40];
        getrandom::fill(&mut random)
            .map_err(|_| ApiError::unavailable("no randomness for a token; retry"))?;
        Ok(random)
    }
}

/// One `ObjectCall::Admin`: the reply is `admin::store::AdminReply`'s JSON (a refusal too);
/// an error here is a storage failure.
pub async fn serve(
    state: &State,
    env: &Env,
    core: &SessionCore,
    object: &impl ObjectIo,
    body: &[u8],
) -> ApiResult<Response> {
    let call = AdminCall::decode(body)?;
    let io = Io {
        state,
        env,
        core,
        object,
        project: &call.project,
    };
    let reply = store::handle(&io, &call.project, call.op.clone()).await?;
    let text = serde_json::to_string(&reply).map_err(|_| ApiError::unavailable("serialize"))?;
    Response::ok(text).map_err(|_| ApiError::unavailable("response"))
}
