//! The session Durable Object (`SESSION`, one per `{project}:{session}`): applies the consent
//! decision, deduplicates by seq, masks with the session's masking state, writes the chunk to
//! R2, then records it — in that order, so nothing is acknowledged before it is durable.
//!
//! Concurrency: the object may interleave requests at every `await`. State lives in one
//! `RefCell` that is never borrowed across an await; `SessionState::commit` is idempotent and
//! masking only ever adds to the masking state, so interleaved beacons cannot lose or double
//! anything. DO storage holds only small state (no payload): `session` and `mask`, as JSON.

use std::cell::RefCell;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use worker::{durable_object, js_sys, wasm_bindgen, DurableObject, Env, Request, Response, Result, State};

use super::http::now_ms;
use super::protocol::{IngestCall, IngestReply};
use crate::envelope::from_slice_prescanned;
use crate::error::ApiError;
use crate::privacy::{self, MaskState};
use crate::session::{Admit, ChunkRecord, ConsentSummary, SessionState, Timeouts};
use crate::storage;

#[derive(Clone, Serialize, Deserialize)]
struct Stored {
    session: SessionState,
    idle_ms: u64,
    max_ms: u64,
}

struct Live {
    stored: Stored,
    mask: MaskState,
}

impl Live {
    fn timeouts(&self) -> Timeouts {
        Timeouts { idle_ms: self.stored.idle_ms, max_ms: self.stored.max_ms }
    }
}

#[durable_object]
pub struct SessionObject {
    state: State,
    env: Env,
    live: RefCell<Option<Live>>,
}

impl DurableObject for SessionObject {
    fn new(state: State, env: Env) -> Self {
        SessionObject { state, env, live: RefCell::new(None) }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let result = match req.path().as_str() {
            "/ingest" => match req.text().await {
                Ok(body) => self.ingest(&body).await,
                Err(_) => Err(ApiError::bad_request("unreadable_body", "unreadable")),
            },
            "/manifest" => self.manifest().await,
            "/delete" => self.delete().await,
            _ => Err(ApiError::not_found("no such object route")),
        };
        match result {
            Ok(resp) => Ok(resp),
            Err(e) => Response::error(e.body(), e.status),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        self.ensure_loaded().await.map_err(|e| worker::Error::RustError(e.to_string()))?;
        let now = now_ms();
        let (changed, next) = {
            let mut live = self.live.borrow_mut();
            let Some(live) = live.as_mut() else { return Response::ok("no session") };
            let t = live.timeouts();
            (live.stored.session.on_alarm(now, t), live.stored.session.next_alarm(t))
        };
        if changed {
            // An error here makes the runtime retry the alarm.
            self.save().await.map_err(|e| worker::Error::RustError(e.to_string()))?;
            self.write_manifest().await.map_err(|e| worker::Error::RustError(e.to_string()))?;
        } else if let Some(at) = next {
            self.set_alarm(at).await.map_err(|e| worker::Error::RustError(e.to_string()))?;
        }
        Response::ok("ok")
    }
}

type ApiResult<T> = std::result::Result<T, ApiError>;

fn storage_err(op: &'static str) -> impl FnOnce(worker::Error) -> ApiError {
    super::http::storage_err(op)
}

impl SessionObject {
    async fn ensure_loaded(&self) -> ApiResult<()> {
        if self.live.borrow().is_some() {
            return Ok(());
        }
        let storage = self.state.storage();
        let session: Option<String> = storage.get("session").await.map_err(storage_err("session state"))?;
        let Some(session) = session else { return Ok(()) };
        let mask: Option<String> = storage.get("mask").await.map_err(storage_err("session state"))?;
        let stored: Stored = serde_json::from_str(&session)
            .map_err(|_| ApiError::unavailable("session state unreadable"))?;
        let mask: MaskState = mask
            .and_then(|m| serde_json::from_str(&m).ok())
            .unwrap_or_default();
        // Another request may have loaded it while this one awaited.
        let mut live = self.live.borrow_mut();
        if live.is_none() {
            *live = Some(Live { stored, mask });
        }
        Ok(())
    }

    async fn save(&self) -> ApiResult<()> {
        let (session, mask) = {
            let live = self.live.borrow();
            let Some(live) = live.as_ref() else { return Ok(()) };
            (
                serde_json::to_string(&live.stored).map_err(|_| ApiError::unavailable("serialize"))?,
                serde_json::to_string(&live.mask).map_err(|_| ApiError::unavailable("serialize"))?,
            )
        };
        let storage = self.state.storage();
        let obj = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&obj, &"session".into(), &session.into());
        let _ = js_sys::Reflect::set(&obj, &"mask".into(), &mask.into());
        storage.put_multiple_raw(obj).await.map_err(storage_err("session state"))
    }

    async fn set_alarm(&self, at_ms: u64) -> ApiResult<()> {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at_ms as f64));
        self.state
            .storage()
            .set_alarm(worker::ScheduledTime::new(date))
            .await
            .map_err(storage_err("session alarm"))
    }

    async fn write_manifest(&self) -> ApiResult<()> {
        let (key, body) = {
            let live = self.live.borrow();
            let Some(live) = live.as_ref() else { return Ok(()) };
            let s = &live.stored.session;
            (
                storage::manifest_key(&s.project, &s.session),
                serde_json::to_vec(&s.manifest()).map_err(|_| ApiError::unavailable("serialize"))?,
            )
        };
        put_json(&self.env, &key, body).await
    }

    async fn ingest(&self, body: &str) -> ApiResult<Response> {
        let call: IngestCall = serde_json::from_str(body)
            .map_err(|_| ApiError::bad_request("invalid_call", "malformed session call"))?;
        let now = now_ms();
        let t = Timeouts { idle_ms: call.idle_ms, max_ms: call.max_ms };
        self.ensure_loaded().await?;

        if !call.decision.store {
            let changed = self.note_consent(&call, now, false);
            if changed {
                self.save().await?;
            }
            return reply(IngestReply { stored: false, seq: None, reason: Some(call.decision.reason.clone()) });
        }

        // Decide and mask synchronously on the live state.
        let (admit, first_chunk, masked, page) = {
            let mut live = self.live.borrow_mut();
            let live = live.get_or_insert_with(|| Live {
                stored: Stored {
                    session: SessionState::new(call.project, call.session, call.visitor, call.platform, now),
                    idle_ms: t.idle_ms,
                    max_ms: t.max_ms,
                },
                mask: MaskState::default(),
            });
            let admit = live.stored.session.admit(call.seq, now, t);
            if admit != (Admit::Accept { new_segment: false }) && admit != (Admit::Accept { new_segment: true }) {
                (admit, false, None, None)
            } else {
                let mut events: Vec<Value> = from_slice_prescanned(call.events.get().as_bytes())
                    .map_err(|_| ApiError::bad_request("invalid_events", "events are not valid JSON"))?;
                // Masking state only grows, so masking a chunk that then fails to store is safe.
                privacy::mask_events(&mut events, call.platform, &call.masking, &mut live.mask);
                let masked = serde_json::to_string(&events).map_err(|_| ApiError::unavailable("serialize"))?;
                let page = call.page.map(|p| privacy::mask_url(p, &call.masking));
                (admit, live.stored.session.seqs.is_empty(), Some(masked), page)
            }
        };
        let new_segment = match admit {
            Admit::Duplicate => return reply(IngestReply { stored: true, seq: Some(call.seq), reason: None }),
            Admit::Full => {
                return Err(ApiError::too_large("session_too_long", "this session holds the maximum number of chunks"))
            }
            Admit::Accept { new_segment } => new_segment,
        };
        let masked = masked.unwrap_or_default();
        let events = RawValue::from_string(masked).map_err(|_| ApiError::unavailable("serialize"))?;
        let doc = storage::ChunkDoc {
            v: 1,
            project: call.project,
            session: call.session,
            seq: call.seq,
            platform: call.platform,
            page: page.as_deref(),
            received_at: now,
            events: &events,
        };
        let bytes = serde_json::to_vec(&doc).map_err(|_| ApiError::unavailable("serialize"))?;
        let size = bytes.len() as u64;

        if first_chunk {
            // Indexes first: an index entry without chunks is harmless, chunks without an
            // index entry would escape erasure and listing.
            let day = storage::utc_day(now);
            put_json(&self.env, &storage::day_index_key(call.project, &day, call.session), b"{}".to_vec()).await?;
            put_json(&self.env, &storage::visitor_index_key(call.project, call.visitor, call.session), b"{}".to_vec())
                .await?;
        }
        put_json(&self.env, &storage::chunk_key(call.project, call.session, call.seq), bytes).await?;

        // Durable in R2: now record it.
        self.note_consent(&call, now, true);
        let next_alarm = {
            let mut live = self.live.borrow_mut();
            let Some(live) = live.as_mut() else {
                return Err(ApiError::unavailable("session state vanished"));
            };
            live.stored.idle_ms = t.idle_ms;
            live.stored.max_ms = t.max_ms;
            live.stored.session.commit(
                ChunkRecord { seq: call.seq, bytes: size, span: call.span, page: page.as_deref(), device: call.device.clone() },
                now,
                t,
            );
            live.stored.session.next_alarm(t)
        };
        self.save().await?;
        if let Some(at) = next_alarm {
            self.set_alarm(at).await?;
        }
        if first_chunk || new_segment {
            self.write_manifest().await?;
        }
        reply(IngestReply { stored: true, seq: Some(call.seq), reason: None })
    }

    /// Remember the decision applied; true if it differs from the previous one.
    fn note_consent(&self, call: &IngestCall<'_>, now: u64, store: bool) -> bool {
        let mut live = self.live.borrow_mut();
        let live = live.get_or_insert_with(|| Live {
            stored: Stored {
                session: SessionState::new(call.project, call.session, call.visitor, call.platform, now),
                idle_ms: call.idle_ms,
                max_ms: call.max_ms,
            },
            mask: MaskState::default(),
        });
        let prev = live.stored.session.consent.as_ref();
        let changed = prev.is_none_or(|c| c.store != store || c.reason != call.decision.reason);
        if changed {
            live.stored.session.consent =
                Some(ConsentSummary { store, reason: call.decision.reason.clone(), at: now });
        }
        changed
    }

    async fn manifest(&self) -> ApiResult<Response> {
        self.ensure_loaded().await?;
        let body = {
            let live = self.live.borrow();
            match live.as_ref() {
                Some(l) if !l.stored.session.seqs.is_empty() => {
                    serde_json::to_string(&l.stored.session.manifest()).map_err(|_| ApiError::unavailable("serialize"))?
                }
                _ => return Err(ApiError::not_found("no such session")),
            }
        };
        Response::ok(body).map_err(|_| ApiError::unavailable("response"))
    }

    async fn delete(&self) -> ApiResult<Response> {
        let storage = self.state.storage();
        storage.delete_alarm().await.map_err(storage_err("session alarm"))?;
        storage.delete_all().await.map_err(storage_err("session state"))?;
        *self.live.borrow_mut() = None;
        Response::ok("{}").map_err(|_| ApiError::unavailable("response"))
    }
}

fn reply(r: IngestReply) -> ApiResult<Response> {
    let text = serde_json::to_string(&r).map_err(|_| ApiError::unavailable("serialize"))?;
    Response::ok(text).map_err(|_| ApiError::unavailable("response"))
}

pub async fn put_json(env: &Env, key: &str, body: Vec<u8>) -> ApiResult<()> {
    let bucket = env.bucket("RECORDINGS").map_err(storage_err("recording storage"))?;
    bucket
        .put(key, body)
        .http_metadata(worker::HttpMetadata {
            content_type: Some("application/json".into()),
            ..Default::default()
        })
        .execute()
        .await
        .map(|_| ())
        .map_err(storage_err("recording storage"))
}

/// Rebuild the object's refusal on the worker side (same status and code).
pub fn error_from_reply(status: u16, body: &str) -> ApiError {
    let code = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_string))
        .unwrap_or_default();
    match (status, code.as_str()) {
        (413, _) => ApiError::too_large("session_too_long", "this session holds the maximum number of chunks"),
        (400, "invalid_events") => ApiError::bad_request("invalid_events", "events are not valid JSON"),
        (503, _) | (500, _) => ApiError::unavailable("session storage failed; retry later"),
        _ => ApiError::unavailable("session object failed; retry later"),
    }
}
