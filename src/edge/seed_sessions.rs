//! Test-only state seeding (feature `faults`, never in production builds): the retention
//! scale test needs thousands of expired sessions, and sending their beacons would take far
//! too long. A seeded session is its day-index entry only (`index/{p}/days/{day}/{s}`), the
//! one object the sweep finds a session by; the erasure path handles the rest (no object
//! state, no manifest: nothing else to delete). A smaller test with real beacons checks that
//! the same sweep deletes every object of a real session.
//!
//! `POST /__test/seed-sessions` `{"project", "entries": [[day, session], …], "config"?}`
//! (`config`: a raw KV value for `project:{project}`, e.g. one that does not parse);
//! `GET /__test/retention`: the sweeper's status (counts only).

use futures_util::future::join_all;
use worker::{Env, Request, Response};

use super::bindings;
use super::http::{self, storage_err};
use crate::error::{ApiError, ErrorCode};
use crate::ids::{ProjectKey, SessionId};
use crate::storage;

type Result<T> = std::result::Result<T, ApiError>;

/// Puts in flight at once.
const PARALLEL: usize = 25;

pub async fn handle(path: &str, mut req: Request, env: &Env) -> Option<Result<Response>> {
    match path {
        "/__test/seed-sessions" => Some(seed(&mut req, env).await),
        "/__test/retention" => Some(
            super::retention::call_sweeper(env, "/status", "")
                .await
                .and_then(|t| http::raw_json(200, t)),
        ),
        _ => None,
    }
}

async fn seed(req: &mut Request, env: &Env) -> Result<Response> {
    #[derive(serde::Deserialize)]
    struct Seed {
        project: String,
        #[serde(default)]
        entries: Vec<(String, String)>,
        config: Option<String>,
    }
    let bad = |m: &str| ApiError::new(ErrorCode::InvalidSeed, m.to_string());
    let text = req.text().await.map_err(|_| bad("unreadable body"))?;
    let s: Seed = serde_json::from_str(&text).map_err(|_| bad("malformed seed"))?;
    let day_ok = |d: &str| d.len() == 10 && d.bytes().all(|b| b.is_ascii_digit() || b == b'-');
    let invalid = || bad("invalid project, day or session id");
    let project = ProjectKey::parse(&s.project).ok_or_else(invalid)?;
    let entries = s
        .entries
        .iter()
        .map(|(d, id)| Some((d.as_str(), SessionId::parse(id).filter(|_| day_ok(d))?)))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(invalid)?;
    if let Some(config) = &s.config {
        env.kv(bindings::PROJECTS)
            .map_err(storage_err("seed"))?
            .put(&format!("project:{}", s.project), config.as_str())
            .map_err(|e| storage_err("seed")(e.into()))?
            .execute()
            .await
            .map_err(|e| storage_err("seed")(e.into()))?;
    }
    let bucket = env
        .bucket(bindings::RECORDINGS)
        .map_err(storage_err("seed"))?;
    for wave in entries.chunks(PARALLEL) {
        let puts = wave.iter().map(|(day, session)| {
            bucket
                .put(
                    storage::day_index_key(&project, day, session),
                    Vec::<u8>::new(),
                )
                .execute()
        });
        for r in join_all(puts).await {
            r.map_err(storage_err("seed"))?;
        }
    }
    http::json(200, &serde_json::json!({"seeded": s.entries.len()}))
}
