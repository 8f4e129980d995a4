//! The session Durable Object (`SESSION`, one per `{project}:{session}`): parses a stored
//! beacon's events (checking them when the worker only located them), applies the consent
//! decision and audits it, deduplicates by seq, masks with the session's masking state, writes
//! the chunk to R2, then records it — in that order, so a refused beacon leaves no trace and
//! nothing is acknowledged before it is durable. The same class also serves the per-project audit anchor chains
//! (`{project}/anchor/NN`, a name no `{project}:{session}` can take), which need the same one-writer guarantee.
//!
//! Requests to one object run one at a time (an async lock held across the awaits): a
//! session's beacons come from one tab, so this costs nothing, and it keeps the audit chain,
//! the masking state and the seq set free of interleavings. DO storage holds small state only
//! (no payload), as JSON under `session`, `mask` and `audit`.

use std::cell::RefCell;

use futures_util::lock::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use worker::{
    durable_object, js_sys, wasm_bindgen, DurableObject, Env, Request, Response, Result, State,
};

use super::bindings;
use super::http::now_ms;
use super::r2::{put_json, put_json_with_metadata};
use crate::audit::{self, AnchorRef, ChainHead, Draft};
use crate::consent::Decision;
use crate::envelope;
use crate::error::{ApiError, ErrorCode};
use crate::ids::{ProjectKey, SessionId, VisitorId};
use crate::privacy::{self, MaskState};
use crate::protocol::{decode_ingest, IngestCall, IngestReply};
use crate::session::{Admit, ChunkRecord, ConsentSummary, SessionState, Timeouts};
use crate::session_summary::SessionSummary;
use crate::storage;

#[derive(Clone, Serialize, Deserialize)]
struct Stored {
    session: SessionState,
    idle_ms: u64,
    max_ms: u64,
    /// When the pending alarm fires, if one is set. Setting an alarm is a storage write, so
    /// it is set once and moved forward by the alarm itself, not on every beacon.
    #[serde(default)]
    alarm_at: Option<u64>,
}

/// The audit chain this object writes, and the decision it last recorded. Kept through an
/// erasure: a later beacon with the same session id continues the chain instead of
/// overwriting its first records.
#[derive(Clone, Serialize, Deserialize)]
struct AuditState {
    head: ChainHead,
    last: Option<Decision>,
    /// Records pinned by this chain's last anchor: a chain with more is anchored again when
    /// its alarm fires, so a session whose every beacon was dropped is anchored too.
    #[serde(default)]
    anchored: u64,
}

#[derive(Default)]
struct Live {
    stored: Option<Stored>,
    mask: MaskState,
    /// The masking state as last written: most chunks leave it unchanged, and an unchanged
    /// state is not written again.
    mask_saved: String,
    audit: Option<AuditState>,
    loaded: bool,
}

#[durable_object]
pub struct SessionObject {
    state: State,
    env: Env,
    live: RefCell<Live>,
    /// When this object is an audit log (`audit_log_do`): its state, once loaded.
    log: RefCell<Option<crate::audit_log::LogWriter>>,
    lock: Mutex<()>,
}

impl DurableObject for SessionObject {
    fn new(state: State, env: Env) -> Self {
        SessionObject {
            state,
            env,
            live: RefCell::new(Live::default()),
            log: RefCell::new(None),
            lock: Mutex::new(()),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let _turn = self.lock.lock().await;
        let path = super::http::path(&req);
        let body = req.bytes().await.unwrap_or_default();
        let result = match path.as_str() {
            "/ingest" => self.ingest(&body).await,
            "/manifest" => self.manifest().await,
            "/delete" => self.delete(&body).await,
            "/anchor" => self.anchor(&body).await,
            "/admin" => self.admin_record(&body).await,
            "/log" => super::audit_log_do::append(&self.state, &self.env, &self.log, &body).await,
            "/log-head" => super::audit_log_do::head(&self.state, &self.env, &self.log).await,
            "/verify-start" => super::audit_log_do::verify_start(&self.state, &body).await,
            "/verify-status" => super::audit_log_do::verify_status(&self.state).await,
            #[cfg(feature = "faults")]
            "/log-seed" => super::audit_log_do::seed(&self.state, &self.log, &body).await,
            _ => Err(ApiError::not_found("no such object route")),
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
        self.finalize_if_due()
            .await
            .map_err(|e| worker::Error::RustError(e.to_string()))?;
        Response::ok("ok")
    }
}

type ApiResult<T> = std::result::Result<T, ApiError>;

fn storage_err(op: &'static str) -> impl FnOnce(worker::Error) -> ApiError {
    super::http::storage_err(op)
}

fn ser<T: Serialize>(v: &T) -> ApiResult<String> {
    serde_json::to_string(v).map_err(|_| ApiError::unavailable("serialize"))
}

impl SessionObject {
    async fn ensure_loaded(&self) -> ApiResult<()> {
        if self.live.borrow().loaded {
            return Ok(());
        }
        let storage = self.state.storage();
        let session: Option<String> = storage
            .get("session")
            .await
            .map_err(storage_err("session state"))?;
        let mask: Option<String> = storage
            .get("mask")
            .await
            .map_err(storage_err("session state"))?;
        let audit: Option<String> = storage
            .get("audit")
            .await
            .map_err(storage_err("session state"))?;
        let mut live = self.live.borrow_mut();
        live.stored = match session {
            Some(s) => Some(
                serde_json::from_str(&s)
                    .map_err(|_| ApiError::unavailable("session state unreadable"))?,
            ),
            None => None,
        };
        // An unreadable masking state must not silently restart from nothing: refuse.
        live.mask_saved = mask.clone().unwrap_or_default();
        live.mask = match mask {
            Some(m) => serde_json::from_str(&m)
                .map_err(|_| ApiError::unavailable("masking state unreadable"))?,
            None => MaskState::default(),
        };
        live.audit = match audit {
            Some(a) => Some(
                serde_json::from_str(&a)
                    .map_err(|_| ApiError::unavailable("audit state unreadable"))?,
            ),
            None => None,
        };
        live.loaded = true;
        Ok(())
    }

    async fn save(&self, what: &[&'static str]) -> ApiResult<()> {
        let obj = js_sys::Object::new();
        let mut new_mask = None;
        {
            let live = self.live.borrow();
            for key in what {
                let value = match *key {
                    "session" => live.stored.as_ref().map(ser).transpose()?,
                    "mask" => {
                        let m = ser(&live.mask)?;
                        (m != live.mask_saved).then(|| {
                            new_mask = Some(m.clone());
                            m
                        })
                    }
                    "audit" => live.audit.as_ref().map(ser).transpose()?,
                    _ => None,
                };
                if let Some(v) = value {
                    let _ = js_sys::Reflect::set(&obj, &(*key).into(), &v.into());
                }
            }
        }
        self.state
            .storage()
            .put_multiple_raw(obj)
            .await
            .map_err(storage_err("session state"))?;
        if let Some(m) = new_mask {
            self.live.borrow_mut().mask_saved = m;
        }
        Ok(())
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
            let Some(st) = live.stored.as_ref() else {
                return Ok(());
            };
            let s = &st.session;
            (
                storage::manifest_key(
                    &ProjectKey::checked(&s.project)?,
                    &SessionId::checked(&s.session)?,
                ),
                ser(&s.manifest())?,
            )
        };
        put_json(&self.env, &key, body.into_bytes()).await
    }

    /// Write the session's day-index entry with its summary (`session_summary`), so the
    /// sessions list needs no manifest read per row. Keyed by the day of `created_at`, the
    /// day erasure derives from the manifest.
    async fn write_index(&self) -> ApiResult<()> {
        let (key, meta) = {
            let live = self.live.borrow();
            let Some(st) = live.stored.as_ref() else {
                return Ok(());
            };
            let s = &st.session;
            (
                storage::day_index_key(
                    &ProjectKey::checked(&s.project)?,
                    &storage::utc_day(s.created_at),
                    &SessionId::checked(&s.session)?,
                ),
                SessionSummary::of(s).to_metadata(),
            )
        };
        put_json_with_metadata(&self.env, &key, b"{}".to_vec(), meta).await
    }

    /// Append a record to this object's audit chain: hand it to its project's audit log
    /// object (which writes it to R2 before answering), then persist the new head, so a
    /// failed write leaves no gap and a crash after it cannot reuse a number (a retried seq
    /// replaces the unacknowledged record in the log).
    /// `fresh`: this object's chain when it has none yet (its kind is fixed there, by the
    /// caller that knows which call this is, never read from a name).
    async fn append_audit(
        &self,
        fresh: impl FnOnce() -> ChainHead,
        draft: Draft,
    ) -> ApiResult<ChainHead> {
        let head = {
            let live = self.live.borrow();
            live.audit
                .as_ref()
                .map(|a| a.head.clone())
                .unwrap_or_else(fresh)
        };
        let (rec, next) = head.next(draft);
        let log = crate::audit_log::log_object_name(
            &rec.project,
            crate::audit_log::log_shard(&rec.session),
        );
        call(&self.env, &log, "/log", rec.to_json().as_bytes()).await?;
        {
            let mut live = self.live.borrow_mut();
            let last = live.audit.as_ref().and_then(|a| a.last.clone());
            let anchored = live.audit.as_ref().map_or(0, |a| a.anchored);
            live.audit = Some(AuditState {
                head: next.clone(),
                last,
                anchored,
            });
        }
        self.save(&["audit"]).await?;
        Ok(next)
    }

    fn pseudonym(&self, project: &str, visitor: &str) -> Option<String> {
        let key = self
            .env
            .secret(bindings::AUDIT_PSEUDONYM_KEY)
            .ok()?
            .to_string();
        Some(audit::visitor_pseudonym(key.as_bytes(), project, visitor))
    }

    async fn ingest(&self, body: &[u8]) -> ApiResult<Response> {
        let (call, events_json) = decode_ingest(body)
            .ok_or_else(|| ApiError::new(ErrorCode::InvalidCall, "malformed session call"))?;
        // A stored beacon's events are parsed (and, if the worker only located them, checked)
        // before anything is read, audited or written: a refused beacon leaves no trace.
        let (mut parsed, span) = match call.decision.store {
            true => {
                let (tree, span) = envelope::parse_events(events_json, call.span, &call.limits)?;
                (Some(tree), Some(span))
            }
            false => (None, None),
        };
        let now = now_ms();
        let t = Timeouts {
            idle_ms: call.idle_ms,
            max_ms: call.max_ms,
        };
        self.ensure_loaded().await?;

        // Every beacon is decided; the audit records the first decision and every change.
        let previous = self
            .live
            .borrow()
            .audit
            .as_ref()
            .and_then(|a| a.last.clone());
        if call.decision.differs_from(previous.as_ref()) {
            let visitor = self.pseudonym(call.project, call.visitor);
            let draft = Draft::decision(
                call.project,
                call.session,
                visitor.as_deref(),
                now,
                &call.decision,
                Some(u64::from(call.seq)),
            );
            self.append_audit(|| ChainHead::new(call.project, call.session), draft)
                .await?;
            {
                let mut live = self.live.borrow_mut();
                if let Some(a) = live.audit.as_mut() {
                    a.last = Some(call.decision.clone());
                }
                if let Some(st) = live.stored.as_mut() {
                    st.session.consent = Some(ConsentSummary {
                        store: call.decision.store,
                        reason: call.decision.reason.clone(),
                        at: now,
                    });
                }
            }
            self.save(&["audit", "session"]).await?;
            // Nothing stored: no segment alarm will anchor this chain, so set one that does
            // (the refusals it records must survive deletion of the whole chain).
            let no_segment = self.live.borrow().stored.is_none();
            if no_segment {
                self.set_alarm(now.saturating_add(t.idle_ms)).await?;
            }
        }
        if !call.decision.store {
            return reply(IngestReply {
                stored: false,
                seq: None,
                reason: Some(call.decision.reason.clone()),
            });
        }

        let (admit, first_chunk, masked, page) = {
            let mut live = self.live.borrow_mut();
            let Live { stored, mask, .. } = &mut *live;
            let stored = stored.get_or_insert_with(|| Stored {
                session: SessionState::new(
                    call.project,
                    call.session,
                    call.visitor,
                    call.platform,
                    now,
                ),
                idle_ms: t.idle_ms,
                max_ms: t.max_ms,
                alarm_at: None,
            });
            if stored.session.consent.is_none() {
                stored.session.consent = Some(ConsentSummary {
                    store: true,
                    reason: call.decision.reason.clone(),
                    at: now,
                });
            }
            match stored.session.admit(call.seq, now, t) {
                Admit::Accept { new_segment } => {
                    let Some(mut events) = parsed.take() else {
                        return Err(ApiError::unavailable("events not parsed"));
                    };
                    // Masking a chunk that then fails to store is safe: its retry is masked
                    // with a state that learnt at least as much (a snapshot resets only
                    // tree facts it re-describes; a late chunk is masked fail safe).
                    privacy::mask_chunk(&mut events, call.seq, call.platform, &call.masking, mask);
                    let page = call
                        .page
                        .as_deref()
                        .map(|p| privacy::mask_url(p, &call.masking));
                    (
                        Admit::Accept { new_segment },
                        stored.session.seqs.is_empty(),
                        Some(events),
                        page,
                    )
                }
                other => (other, false, None, None),
            }
        };
        let new_segment = match admit {
            Admit::Duplicate => {
                return reply(IngestReply {
                    stored: true,
                    seq: Some(call.seq),
                    reason: None,
                })
            }
            Admit::Full => {
                return Err(ApiError::new(
                    ErrorCode::SessionTooLong,
                    "this session holds the maximum number of chunks",
                ))
            }
            Admit::Accept { new_segment } => new_segment,
        };
        let head = storage::ChunkHead {
            v: 1,
            project: call.project,
            session: call.session,
            seq: call.seq,
            platform: call.platform,
            page: page.as_deref(),
            received_at: now,
        };
        let bytes = storage::chunk_document(
            &head,
            masked.as_deref().unwrap_or_default(),
            events_json.len(),
        )
        .map_err(|_| ApiError::unavailable("serialize"))?;
        let size = bytes.len() as u64;

        if first_chunk {
            // Indexes first: an index entry without chunks is harmless; chunks without an
            // index entry would escape listing and erasure.
            self.write_index().await?;
            put_json(
                &self.env,
                &storage::visitor_index_key(
                    &ProjectKey::checked(call.project)?,
                    &VisitorId::checked(call.visitor)?,
                    &SessionId::checked(call.session)?,
                ),
                b"{}".to_vec(),
            )
            .await?;
        }
        injected(&call, "r2_put")?;
        let key = storage::chunk_key(
            &ProjectKey::checked(call.project)?,
            &SessionId::checked(call.session)?,
            call.seq,
        );
        put_json(&self.env, &key, bytes).await?;
        // A crash here leaves the chunk in R2 but the state behind: the retry rewrites the
        // same key and commits once.
        injected(&call, "after_r2_put")?;

        // Durable in R2: now record it.
        let next_alarm = {
            let mut live = self.live.borrow_mut();
            let Some(stored) = live.stored.as_mut() else {
                return Err(ApiError::unavailable("session state vanished"));
            };
            stored.idle_ms = t.idle_ms;
            stored.max_ms = t.max_ms;
            let record = ChunkRecord {
                seq: call.seq,
                bytes: size,
                span: span.ok_or_else(|| ApiError::unavailable("events not parsed"))?,
                page: page.as_deref(),
                device: call.device.clone(),
            };
            stored.session.commit(record, now, t);
            // A pending alarm is never later than the new deadline (deadlines only move
            // forward), so only a session without one needs a new alarm.
            let next = stored.session.next_alarm(t);
            match (stored.alarm_at, next) {
                (None, Some(at)) => {
                    stored.alarm_at = Some(at);
                    Some(at)
                }
                _ => None,
            }
        };
        if let Some(at) = next_alarm {
            self.set_alarm(at).await?;
        }
        self.save(&["session", "mask"]).await?;
        if first_chunk || new_segment {
            self.write_manifest().await?;
            // The summary written before the first chunk had no counts yet; a new segment
            // makes a complete session live again.
            self.write_index().await?;
        }
        reply(IngestReply {
            stored: true,
            seq: Some(call.seq),
            reason: None,
        })
    }

    /// Alarm: finalize an idle (or over-long) segment, audit it and anchor the chain head.
    async fn finalize_if_due(&self) -> ApiResult<()> {
        self.ensure_loaded().await?;
        let now = now_ms();
        let due = self.live.borrow_mut().stored.as_mut().map(|stored| {
            let t = Timeouts {
                idle_ms: stored.idle_ms,
                max_ms: stored.max_ms,
            };
            let changed = stored.session.on_alarm(now, t);
            let ids = (
                stored.session.project.clone(),
                stored.session.session.clone(),
            );
            // This alarm has fired; activity since it was set moved the deadline on.
            stored.alarm_at = stored.session.next_alarm(t);
            (changed, stored.alarm_at, ids)
        });
        let Some((changed, next, ids)) = due else {
            // No stored segment: a chain of dropped beacons' decisions still gets anchored.
            return self.anchor_if_unpinned().await;
        };
        if !changed {
            if let Some(at) = next {
                self.set_alarm(at).await?;
            }
            self.save(&["session"]).await?;
            return Ok(());
        }
        self.save(&["session"]).await?;
        self.write_manifest().await?;
        self.write_index().await?;
        let (project, session) = ids;
        let head = self
            .append_audit(
                || ChainHead::new(&project, &session),
                Draft::finalize(&project, &session, now, "idle"),
            )
            .await?;
        anchor(&self.env, &project, &session, head.anchor_ref()).await?;
        self.mark_anchored(head.count).await
    }

    /// A chain with records no anchor pins yet (a session with only dropped beacons, or
    /// decisions after the last finalisation): pin its head now.
    async fn anchor_if_unpinned(&self) -> ApiResult<()> {
        let head = match self.live.borrow().audit.as_ref() {
            Some(a) if a.head.count > a.anchored && a.head.kind == audit::ChainKind::Session => {
                a.head.clone()
            }
            _ => return Ok(()),
        };
        anchor(&self.env, &head.project, &head.chain, head.anchor_ref()).await?;
        self.mark_anchored(head.count).await
    }

    async fn mark_anchored(&self, count: u64) -> ApiResult<()> {
        if let Some(a) = self.live.borrow_mut().audit.as_mut() {
            a.anchored = a.anchored.max(count);
        }
        self.save(&["audit"]).await
    }

    async fn manifest(&self) -> ApiResult<Response> {
        self.ensure_loaded().await?;
        let body = {
            let live = self.live.borrow();
            match live.stored.as_ref() {
                Some(st) if !st.session.seqs.is_empty() => ser(&st.session.manifest())?,
                _ => return Err(ApiError::not_found("no such session")),
            }
        };
        Response::ok(body).map_err(|_| ApiError::unavailable("response"))
    }

    /// Erasure: audit it, anchor the chain, then forget the session and its masking state.
    /// The audit chain head is kept (see `AuditState`).
    async fn delete(&self, body: &[u8]) -> ApiResult<Response> {
        #[derive(Deserialize)]
        struct Erase {
            project: String,
            session: String,
            reason: String,
        }
        let e: Erase = serde_json::from_slice(body)
            .map_err(|_| ApiError::new(ErrorCode::InvalidCall, "malformed erase call"))?;
        self.ensure_loaded().await?;
        let visitor = self
            .live
            .borrow()
            .stored
            .as_ref()
            .map(|s| s.session.visitor.clone());
        let pseudonym = visitor.and_then(|v| self.pseudonym(&e.project, &v));
        let draft = Draft::erasure(
            &e.project,
            &e.session,
            pseudonym.as_deref(),
            now_ms(),
            &e.reason,
        );
        let head = self
            .append_audit(|| ChainHead::new(&e.project, &e.session), draft)
            .await?;
        anchor(&self.env, &e.project, &e.session, head.anchor_ref()).await?;
        self.mark_anchored(head.count).await?;
        let storage = self.state.storage();
        storage
            .delete_alarm()
            .await
            .map_err(storage_err("session alarm"))?;
        storage
            .delete_multiple(vec!["session", "mask"])
            .await
            .map_err(storage_err("session state"))?;
        {
            let mut live = self.live.borrow_mut();
            live.stored = None;
            live.mask = MaskState::default();
        }
        Response::ok("{}").map_err(|_| ApiError::unavailable("response"))
    }

    /// This object is anchor chain `{project}/anchor/NN` (`audit::anchor_object_name`):
    /// append the pinned head. The call says it is an anchor call and which shard.
    async fn anchor(&self, body: &[u8]) -> ApiResult<Response> {
        #[derive(Deserialize)]
        struct Pin {
            project: String,
            shard: u32,
            anchored: AnchorRef,
        }
        let p: Pin = serde_json::from_slice(body)
            .map_err(|_| ApiError::new(ErrorCode::InvalidCall, "malformed anchor call"))?;
        self.ensure_loaded().await?;
        if p.shard >= audit::ANCHOR_SHARDS {
            return Err(ApiError::new(
                ErrorCode::InvalidCall,
                "no such anchor shard",
            ));
        }
        self.append_audit(
            || ChainHead::new_anchor(&p.project, p.shard),
            Draft::anchor(&p.project, p.shard, now_ms(), p.anchored),
        )
        .await?;
        Response::ok("{}").map_err(|_| ApiError::unavailable("response"))
    }
}

impl SessionObject {
    /// Admin API changes (issue 17): one chain per project, in its own object
    /// (`{project}/admin`, where no session id reaches), so changes are serialised and
    /// chained like a session's records; its records go to the audit log like any other, so
    /// any range containing them lists them.
    async fn admin_record(&self, body: &[u8]) -> ApiResult<Response> {
        #[derive(Deserialize)]
        struct Change {
            project: String,
            action: String,
            fields: Vec<String>,
            policy_version: String,
        }
        let c: Change = serde_json::from_slice(body)
            .map_err(|_| ApiError::new(ErrorCode::InvalidCall, "malformed admin call"))?;
        self.ensure_loaded().await?;
        let draft = Draft::admin(&c.project, now_ms(), &c.action, c.fields, c.policy_version);
        self.append_audit(|| ChainHead::new(&c.project, audit::ADMIN_CHAIN), draft)
            .await?;
        Response::ok("{}").map_err(|_| ApiError::unavailable("response"))
    }
}

/// Record an admin change in the project's admin chain before the change is stored, so no
/// change is ever made without its record.
pub async fn record_admin_change(
    env: &Env,
    project: &str,
    action: &str,
    fields: &[String],
    policy_version: &str,
) -> ApiResult<()> {
    let body = serde_json::json!({
        "project": project, "action": action, "fields": fields, "policy_version": policy_version,
    })
    .to_string();
    call(
        env,
        &crate::audit_log::admin_object_name(project),
        "/admin",
        body.as_bytes(),
    )
    .await
    .map(|_| ())
}

/// Pin a session chain's head in its project's anchor chain (one of `audit::ANCHOR_SHARDS`).
async fn anchor(env: &Env, project: &str, session: &str, anchored: AnchorRef) -> ApiResult<()> {
    let shard = audit::anchor_shard(session);
    let body =
        serde_json::json!({"project": project, "shard": shard, "anchored": anchored}).to_string();
    let name = audit::anchor_object_name(project, shard);
    call(env, &name, "/anchor", body.as_bytes())
        .await
        .map(|_| ())
}

/// Call a session-class object by name; `Ok(None)` for its 404. Bodies go as bytes both ways:
/// as a JS string, a beacon's events would be converted from UTF-8 to UTF-16 and back.
pub async fn call(env: &Env, name: &str, path: &str, body: &[u8]) -> ApiResult<Option<Vec<u8>>> {
    super::subrequests::count();
    let ns = env
        .durable_object(bindings::SESSION)
        .map_err(storage_err("session object"))?;
    let stub = ns
        .get_by_name(name)
        .map_err(storage_err("session object"))?;
    let mut init = worker::RequestInit::new();
    init.with_method(worker::Method::Post)
        .with_body(Some(js_sys::Uint8Array::from(body).into()));
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

/// Test-only fault points (feature `faults`, never in production builds).
#[cfg(feature = "faults")]
fn injected(call: &IngestCall<'_>, point: &str) -> ApiResult<()> {
    if call.fault.as_deref() == Some(point) {
        return Err(ApiError::unavailable(format!("injected fault: {point}")));
    }
    Ok(())
}

#[cfg(not(feature = "faults"))]
fn injected(_call: &IngestCall<'_>, _point: &str) -> ApiResult<()> {
    Ok(())
}

fn reply(r: IngestReply) -> ApiResult<Response> {
    Response::ok(ser(&r)?).map_err(|_| ApiError::unavailable("response"))
}

/// Rebuild the object's refusal on the worker side (same status and code).
pub fn error_from_reply(status: u16, body: &[u8]) -> ApiError {
    let code = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_string))
        .unwrap_or_default();
    match (status, code.as_str()) {
        (413, _) => ApiError::new(
            ErrorCode::SessionTooLong,
            "this session holds the maximum number of chunks",
        ),
        (400, "invalid_events") => {
            ApiError::new(ErrorCode::InvalidEvents, "events are not valid JSON")
        }
        _ => ApiError::unavailable("session storage failed; retry later"),
    }
}
