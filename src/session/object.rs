//! What an object of the session class does for each call (`protocol::ObjectCall`), written
//! against [`ObjectIo`] — its storage, its alarm, its R2 puts and its calls to other objects —
//! so the order of those effects is plain code that runs natively against an in-memory
//! implementation in the tests. The edge (`edge::session_do`) implements `ObjectIo` over the
//! Durable Object's `State` and `Env`, and does nothing else.
//!
//! The order is the contract (ARCHITECTURE.md, invariants): an ingest parses (and, if the
//! worker only located them, checks) its events before anything is read, audited or written,
//! so a refused beacon leaves no trace; the consent decision's audit record is in the log
//! before the state records it; the indexes are written before the first chunk; the chunk is
//! in R2 before its seq is committed, so nothing is acknowledged before it is durable and a
//! retried seq after a failed write does it again; a stored seq writes nothing.
//!
//! State lives in DO storage as JSON under `session` ([`Stored`]), `mask` (the masking
//! state) and `audit` ([`AuditState`]); no payload ever does. One request runs at a time (the
//! edge holds a lock across the awaits), so the state here has no interleavings.

use std::cell::RefCell;

use serde::{Deserialize, Serialize};

use super::{Admit, ChunkRecord, ConsentSummary, SessionState, Timeouts};
use crate::analytics::progress::Progress;
use crate::analytics::store as analytics_store;
use crate::audit::{self, AnchorRef, ChainHead, Draft};
use crate::consent::Decision;
use crate::envelope;
use crate::error::{ApiError, ErrorCode};
use crate::ids::{ProjectKey, SessionId, VisitorId};
use crate::privacy::{self, MaskState};
use crate::protocol::{AdminChange, Erase, IngestCall, IngestReply, ObjectCall, Pin};
use crate::session_summary::SessionSummary;
use crate::storage;

type ApiResult<T> = std::result::Result<T, ApiError>;

/// The effects an object can have. Each call's errors are the edge's (a storage failure is
/// `ApiError::unavailable`); the object stops at the first one.
// No `Send` bound is wanted: an object runs on one thread, and its futures hold `RefCell`
// borrows' results across awaits.
#[allow(async_fn_in_trait)]
pub trait ObjectIo {
    /// One DO storage value.
    async fn get(&self, key: &'static str) -> ApiResult<Option<String>>;
    /// Several DO storage values in one atomic write (possibly none).
    async fn put_state(&self, entries: Vec<(&'static str, String)>) -> ApiResult<()>;
    async fn delete_state(&self, keys: &[&'static str]) -> ApiResult<()>;
    async fn set_alarm(&self, at_ms: u64) -> ApiResult<()>;
    async fn delete_alarm(&self) -> ApiResult<()>;
    /// A JSON object in R2, with custom metadata.
    async fn put(&self, key: &str, body: Vec<u8>, metadata: Vec<(String, String)>)
        -> ApiResult<()>;
    /// Another object of the class, by name; `None` for its 404.
    async fn call(&self, name: &str, call: ObjectCall<'_>) -> ApiResult<Option<Vec<u8>>>;
    fn now(&self) -> u64;
    /// The key visitor ids are pseudonymised with in audit records, if configured.
    fn pseudonym_key(&self) -> Option<String>;
}

/// DO storage `session`: the session state and the timeouts it was last given.
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

/// DO storage `audit`: the audit chain this object writes, and the decision it last recorded.
/// Kept through an erasure: a later beacon with the same session id continues the chain
/// instead of overwriting its first records.
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
    /// The session's analytics (`analytics::progress`), and its JSON as last written.
    analytics: Progress,
    analytics_saved: String,
    audit: Option<AuditState>,
    loaded: bool,
}

/// One object's state, loaded from storage on its first call and kept while it lives.
#[derive(Default)]
pub struct SessionCore {
    live: RefCell<Live>,
}

fn ser<T: Serialize>(v: &T) -> ApiResult<String> {
    serde_json::to_string(v).map_err(|_| ApiError::unavailable("serialize"))
}

fn parse<T: for<'de> Deserialize<'de>>(text: Option<String>, what: &str) -> ApiResult<Option<T>> {
    text.map(|s| serde_json::from_str(&s))
        .transpose()
        .map_err(|_| ApiError::unavailable(format!("{what} unreadable")))
}

impl SessionCore {
    async fn ensure_loaded(&self, io: &impl ObjectIo) -> ApiResult<()> {
        if self.live.borrow().loaded {
            return Ok(());
        }
        let session = io.get("session").await?;
        let mask = io.get("mask").await?;
        let audit = io.get("audit").await?;
        let analytics = io.get("analytics").await?;
        let mut live = self.live.borrow_mut();
        live.stored = parse(session, "session state")?;
        // An unreadable masking state must not silently restart from nothing: refuse.
        live.mask_saved = mask.clone().unwrap_or_default();
        live.mask = parse(mask, "masking state")?.unwrap_or_default();
        live.audit = parse(audit, "audit state")?;
        live.analytics_saved = analytics.clone().unwrap_or_default();
        live.analytics = parse(analytics, "analytics state")?.unwrap_or_default();
        live.loaded = true;
        Ok(())
    }

    async fn save(&self, io: &impl ObjectIo, what: &[&'static str]) -> ApiResult<()> {
        let mut entries = Vec::new();
        let mut new_mask = None;
        let mut new_analytics = None;
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
                    "analytics" => {
                        let a = ser(&live.analytics)?;
                        (a != live.analytics_saved).then(|| {
                            new_analytics = Some(a.clone());
                            a
                        })
                    }
                    "audit" => live.audit.as_ref().map(ser).transpose()?,
                    _ => None,
                };
                if let Some(v) = value {
                    entries.push((*key, v));
                }
            }
        }
        io.put_state(entries).await?;
        let mut live = self.live.borrow_mut();
        if let Some(m) = new_mask {
            live.mask_saved = m;
        }
        if let Some(a) = new_analytics {
            live.analytics_saved = a;
        }
        Ok(())
    }

    async fn write_manifest(&self, io: &impl ObjectIo) -> ApiResult<()> {
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
        io.put(&key, body.into_bytes(), Vec::new()).await
    }

    /// Write the session's day-index entry with its summary (`session_summary`), so the
    /// sessions list needs no manifest read per row. Keyed by the day of `created_at`, the
    /// day erasure derives from the manifest.
    async fn write_index(&self, io: &impl ObjectIo) -> ApiResult<()> {
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
        io.put(&key, b"{}".to_vec(), meta).await
    }

    /// Append a record to this object's audit chain: hand it to its project's audit log
    /// object (which answers once the record is in its own storage, and writes R2 later, per
    /// flush: no R2 write is on this path), then persist the new head, so a
    /// failed write leaves no gap and a crash after it cannot reuse a number (a retried seq
    /// replaces the unacknowledged record in the log).
    /// `fresh`: this object's chain when it has none yet (its kind is fixed there, by the
    /// caller that knows which call this is, never read from a name).
    async fn append_audit(
        &self,
        io: &impl ObjectIo,
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
        let log = crate::audit::log::log_object_name(
            &rec.project,
            crate::audit::log::log_shard(&rec.session),
        );
        io.call(&log, ObjectCall::Log(rec.to_json().as_bytes()))
            .await?;
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
        self.save(io, &["audit"]).await?;
        Ok(next)
    }

    fn pseudonym(io: &impl ObjectIo, project: &str, visitor: &str) -> Option<String> {
        let key = io.pseudonym_key()?;
        Some(audit::visitor_pseudonym(key.as_bytes(), project, visitor))
    }

    /// One beacon (`events`: its events' text as the worker framed them).
    pub async fn ingest(
        &self,
        io: &impl ObjectIo,
        call: IngestCall<'_>,
        events_json: &str,
    ) -> ApiResult<IngestReply> {
        let (mut parsed, span) = match call.decision.store {
            true => {
                let (tree, span) = envelope::parse_events(events_json, call.span, &call.limits)?;
                (Some(tree), Some(span))
            }
            false => (None, None),
        };
        let now = io.now();
        let t = Timeouts {
            idle_ms: call.idle_ms,
            max_ms: call.max_ms,
        };
        self.ensure_loaded(io).await?;
        // A session belongs to the visitor who started it: it is indexed (and erased) under
        // that visitor only, so another visitor's beacon must not store anything in it.
        if let Some(st) = self.live.borrow().stored.as_ref() {
            if st.session.visitor != call.visitor {
                return Err(ApiError::new(
                    ErrorCode::VisitorMismatch,
                    "this session belongs to another visitor",
                ));
            }
        }

        // Every beacon is decided; the audit records the first decision and every change.
        let previous = self
            .live
            .borrow()
            .audit
            .as_ref()
            .and_then(|a| a.last.clone());
        if call.decision.differs_from(previous.as_ref()) {
            let visitor = Self::pseudonym(io, call.project, call.visitor);
            let draft = Draft::decision(
                call.project,
                call.session,
                visitor.as_deref(),
                now,
                &call.decision,
                Some(u64::from(call.seq)),
            );
            self.append_audit(io, || ChainHead::new(call.project, call.session), draft)
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
            self.save(io, &["audit", "session"]).await?;
            // Nothing stored: no segment alarm will anchor this chain, so set one that does
            // (the refusals it records must survive deletion of the whole chain).
            let no_segment = self.live.borrow().stored.is_none();
            if no_segment {
                io.set_alarm(now.saturating_add(t.idle_ms)).await?;
            }
        }
        if !call.decision.store {
            return Ok(IngestReply {
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
                    privacy::mask_chunk(&mut events, call.seq, &call.masking, mask);
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
                return Ok(IngestReply {
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
            self.write_index(io).await?;
            io.put(
                &storage::visitor_index_key(
                    &ProjectKey::checked(call.project)?,
                    &VisitorId::checked(call.visitor)?,
                    &SessionId::checked(call.session)?,
                ),
                b"{}".to_vec(),
                Vec::new(),
            )
            .await?;
        }
        injected(&call, "r2_put")?;
        let key = storage::chunk_key(
            &ProjectKey::checked(call.project)?,
            &SessionId::checked(call.session)?,
            call.seq,
        );
        // Stored gzip (DESIGN.md allows it; `storage::read_chunk` reads either form).
        let (k, v) = storage::CHUNK_ENCODING_METADATA;
        io.put(
            &key,
            storage::compress_chunk(&bytes),
            vec![(k.to_string(), v.to_string())],
        )
        .await?;
        // A crash here leaves the chunk in R2 but the state behind: the retry rewrites the
        // same key and commits once.
        injected(&call, "after_r2_put")?;

        // Durable in R2: now record it.
        let next_alarm = {
            let mut live = self.live.borrow_mut();
            if let Some(events) = masked.as_deref() {
                // On the masked tree, as stored: analytics never see what masking removed.
                live.analytics.add_chunk(events, call.seq);
            }
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
            io.set_alarm(at).await?;
        }
        self.send_analytics(io).await;
        self.save(io, &["session", "mask", "analytics"]).await?;
        if first_chunk || new_segment {
            self.write_manifest(io).await?;
            // The summary written before the first chunk had no counts yet; a new segment
            // makes a complete session live again.
            self.write_index(io).await?;
        }
        Ok(IngestReply {
            stored: true,
            seq: Some(call.seq),
            reason: None,
        })
    }

    /// Bring the session's row in its month's analytics store up to date. Best effort: the
    /// chunk is durable already, so a store that fails costs freshness, not the beacon; the
    /// rows wait in `Progress` for the next send (the next chunk or the finalizing alarm).
    async fn send_analytics(&self, io: &impl ObjectIo) {
        let target = {
            let live = self.live.borrow();
            let Some(st) = live.stored.as_ref() else {
                return;
            };
            let s = &st.session;
            let summary = SessionSummary::of(s);
            let Ok(project) = ProjectKey::checked(&s.project) else {
                return;
            };
            let platform = serde_json::to_value(s.platform).unwrap_or_default();
            let put = live.analytics.put(
                &s.session,
                s.created_at,
                summary.duration_ms,
                platform.as_str().unwrap_or("web"),
                serde_json::to_value(&summary).unwrap_or_default(),
            );
            (
                analytics_store::shard_name(&project, &analytics_store::month(s.created_at)),
                put,
            )
        };
        let (shard, put) = target;
        let n = put.n;
        let call = ObjectCall::Analytics(analytics_store::Call::Put(put));
        if io.call(&shard, call).await.is_ok() {
            self.live.borrow_mut().analytics.sent(n);
        }
    }

    /// The alarm: finalize an idle (or over-long) segment, audit it and anchor the chain head.
    pub async fn alarm(&self, io: &impl ObjectIo) -> ApiResult<()> {
        self.ensure_loaded(io).await?;
        let now = io.now();
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
            return self.anchor_if_unpinned(io).await;
        };
        if !changed {
            if let Some(at) = next {
                io.set_alarm(at).await?;
            }
            self.save(io, &["session"]).await?;
            return Ok(());
        }
        self.live.borrow_mut().analytics.finish();
        self.send_analytics(io).await;
        self.save(io, &["session", "analytics"]).await?;
        self.write_manifest(io).await?;
        self.write_index(io).await?;
        let (project, session) = ids;
        let head = self
            .append_audit(
                io,
                || ChainHead::new(&project, &session),
                Draft::finalize(&project, &session, now, "idle"),
            )
            .await?;
        pin(io, &project, &session, head.anchor_ref()).await?;
        self.mark_anchored(io, head.count).await
    }

    /// A chain with records no anchor pins yet (a session with only dropped beacons, or
    /// decisions after the last finalisation): pin its head now.
    async fn anchor_if_unpinned(&self, io: &impl ObjectIo) -> ApiResult<()> {
        let head = match self.live.borrow().audit.as_ref() {
            Some(a) if a.head.count > a.anchored && a.head.kind == audit::ChainKind::Session => {
                a.head.clone()
            }
            _ => return Ok(()),
        };
        pin(io, &head.project, &head.chain, head.anchor_ref()).await?;
        self.mark_anchored(io, head.count).await
    }

    async fn mark_anchored(&self, io: &impl ObjectIo, count: u64) -> ApiResult<()> {
        if let Some(a) = self.live.borrow_mut().audit.as_mut() {
            a.anchored = a.anchored.max(count);
        }
        self.save(io, &["audit"]).await
    }

    /// The live manifest's JSON; 404 while the session holds no chunk.
    pub async fn manifest(&self, io: &impl ObjectIo) -> ApiResult<String> {
        self.ensure_loaded(io).await?;
        let live = self.live.borrow();
        match live.stored.as_ref() {
            Some(st) if !st.session.seqs.is_empty() => ser(&st.session.manifest()),
            _ => Err(ApiError::not_found("no such session")),
        }
    }

    /// Erasure: audit it, anchor the chain, then forget the session and its masking state.
    /// The audit chain head is kept (see `AuditState`).
    pub async fn erase(&self, io: &impl ObjectIo, e: Erase) -> ApiResult<()> {
        self.ensure_loaded(io).await?;
        let (visitor, started) = match self.live.borrow().stored.as_ref() {
            Some(s) => (Some(s.session.visitor.clone()), Some(s.session.created_at)),
            None => (None, None),
        };
        let pseudonym = visitor.and_then(|v| Self::pseudonym(io, &e.project, &v));
        let draft = Draft::erasure(
            &e.project,
            &e.session,
            pseudonym.as_deref(),
            io.now(),
            &e.reason,
        );
        let head = self
            .append_audit(io, || ChainHead::new(&e.project, &e.session), draft)
            .await?;
        pin(io, &e.project, &e.session, head.anchor_ref()).await?;
        self.mark_anchored(io, head.count).await?;
        if let Some(started) = started {
            // Its search row goes with it, before the state that could find it again.
            let project = ProjectKey::checked(&e.project)?;
            let erase = analytics_store::Call::Erase {
                session: e.session.clone(),
            };
            let shard = analytics_store::shard_name(&project, &analytics_store::month(started));
            io.call(&shard, ObjectCall::Analytics(erase)).await?;
        }
        io.delete_alarm().await?;
        io.delete_state(&["session", "mask", "analytics"]).await?;
        let mut live = self.live.borrow_mut();
        live.stored = None;
        live.mask = MaskState::default();
        live.analytics = Progress::default();
        live.analytics_saved = String::new();
        Ok(())
    }

    /// This object is anchor chain `{project}/anchor/NN` (`audit::anchor_object_name`):
    /// append the pinned head. The call says it is an anchor call and which shard.
    pub async fn anchor(&self, io: &impl ObjectIo, p: Pin) -> ApiResult<()> {
        self.ensure_loaded(io).await?;
        if p.shard >= audit::ANCHOR_SHARDS {
            return Err(ApiError::new(
                ErrorCode::InvalidCall,
                "no such anchor shard",
            ));
        }
        self.append_audit(
            io,
            || ChainHead::new_anchor(&p.project, p.shard),
            Draft::anchor(&p.project, p.shard, io.now(), p.anchored),
        )
        .await?;
        Ok(())
    }

    /// This object is the project's admin chain (`{project}/admin`, a name no session id
    /// reaches), so changes are serialised and chained like a session's records; its records
    /// go to the audit log like any other, so any range containing them lists them.
    pub async fn admin(&self, io: &impl ObjectIo, c: AdminChange) -> ApiResult<()> {
        self.ensure_loaded(io).await?;
        let draft = Draft::admin(&c.project, io.now(), &c.action, c.fields, c.policy_version);
        self.append_audit(io, || ChainHead::new(&c.project, audit::ADMIN_CHAIN), draft)
            .await?;
        Ok(())
    }
}

/// Pin a session chain's head in its project's anchor chain (one of `audit::ANCHOR_SHARDS`).
async fn pin(
    io: &impl ObjectIo,
    project: &str,
    session: &str,
    anchored: AnchorRef,
) -> ApiResult<()> {
    let shard = audit::anchor_shard(session);
    let name = audit::anchor_object_name(project, shard);
    let call = ObjectCall::Anchor(Pin {
        project: project.to_string(),
        shard,
        anchored,
    });
    io.call(&name, call).await.map(|_| ())
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

#[cfg(test)]
mod tests;
