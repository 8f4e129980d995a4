//! Test-only (feature `faults`, never in a deployed build): `POST /__test/seed-audit` writes
//! a deterministic audit of many records (`crate::audit_seed`) straight into R2 as v2 log
//! segments and rollups, in parts (`skip`, `take` objects), and on the last part hands each
//! log object its final state, so verify has live heads to pin. Sending that many beacons
//! would take hours on local R2 (~17 ms a put, a few puts a record); seeding costs one put
//! per 128 records.

use serde::Deserialize;
use worker::{Env, Request, Response};

use super::http;
use super::r2::put_json;
use crate::audit::log::log_object_name;
use crate::audit_seed::{self, SeedSpec};
use crate::error::{ApiError, ErrorCode};

#[derive(Deserialize)]
struct Call {
    spec: SeedSpec,
    skip: usize,
    take: usize,
}

pub async fn seed(mut req: Request, env: &Env) -> Result<Response, ApiError> {
    let body = req
        .bytes()
        .await
        .map_err(|_| ApiError::new(ErrorCode::InvalidBody, "unreadable"))?;
    let call: Call = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(ErrorCode::InvalidBody, e.to_string()))?;
    let (objects, writers, planted) = audit_seed::objects(&call.spec);
    let end = (call.skip + call.take.min(500)).min(objects.len());
    for (k, v) in objects.get(call.skip..end).unwrap_or_default() {
        put_json(env, k, v.clone().into_bytes()).await?;
    }
    if end == objects.len() {
        for w in &writers {
            let state = serde_json::to_vec(w).map_err(|_| ApiError::unavailable("serialize"))?;
            super::objects::call(
                env,
                &log_object_name(&w.project, w.shard),
                crate::protocol::ObjectCall::LogSeed(&state),
            )
            .await?;
        }
    }
    http::json(
        200,
        &serde_json::json!({"total": objects.len(), "next": end, "planted": planted}),
    )
}
