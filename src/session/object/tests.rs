//! The object's effects in order, run against [`Memory`]: an `ObjectIo` that keeps storage,
//! R2 and the audit log in maps, writes down each effect as it happens, and fails the one it
//! is told to, once.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::task::{Context, Poll, Waker};

use super::*;
use crate::consent::Reason;
use crate::envelope::{Limits, Platform};
use crate::privacy::MaskPolicy;
use crate::protocol::error_from_reply;
use crate::session::{SeqSet, MAX_CHUNKS};

const PROJECT: &str = "demo_project";
const SESSION: &str = "s_12345678";
const VISITOR: &str = "v_12345678";
const EVENTS: &str = r#"[{"type":4,"data":{"href":"https://shop.example/"},"timestamp":1}]"#;

#[derive(Default)]
struct Memory {
    state: RefCell<BTreeMap<&'static str, String>>,
    r2: RefCell<BTreeMap<String, Vec<u8>>>,
    r2_meta: RefCell<BTreeMap<String, Vec<(String, String)>>>,
    /// The audit records handed to the log, as JSON.
    log: RefCell<Vec<serde_json::Value>>,
    /// The calls to analytics stores, as JSON.
    analytics: RefCell<Vec<serde_json::Value>>,
    alarm: Cell<Option<u64>>,
    effects: RefCell<Vec<String>>,
    /// The next effect with this label fails (once).
    fail: RefCell<Option<String>>,
    now: Cell<u64>,
}

impl Memory {
    /// Note an effect; `Err` if it is the one told to fail.
    fn effect(&self, label: String) -> ApiResult<()> {
        if self.fail.borrow().as_deref() == Some(label.as_str()) {
            self.fail.take();
            self.effects.borrow_mut().push(format!("failed {label}"));
            return Err(ApiError::unavailable("injected failure"));
        }
        self.effects.borrow_mut().push(label);
        Ok(())
    }

    fn fail_next(&self, label: &str) {
        *self.fail.borrow_mut() = Some(label.to_string());
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.effects.borrow_mut())
    }

    /// The stored session state's committed seqs.
    fn committed(&self) -> Vec<u64> {
        let state = self.state.borrow();
        let Some(text) = state.get("session") else {
            return Vec::new();
        };
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        let seqs: SeqSet = serde_json::from_value(v["session"]["seqs"].clone()).unwrap();
        seqs.iter().map(u64::from).collect()
    }
}

/// What an R2 key is, in a test's words.
fn label_of(key: &str) -> String {
    if key == storage::manifest_key(&PROJECT.into(), &SESSION.into()) {
        "manifest".into()
    } else if key.starts_with(&format!("index/{PROJECT}/days/")) {
        "day-index".into()
    } else if key == storage::visitor_index_key(&PROJECT.into(), &VISITOR.into(), &SESSION.into()) {
        "visitor-index".into()
    } else if key.starts_with(&format!("index/{PROJECT}/visitors/")) {
        "another visitor's index".into()
    } else if let Some(seq) =
        (0..4).find(|&s| key == storage::chunk_key(&PROJECT.into(), &SESSION.into(), s))
    {
        format!("chunk {seq}")
    } else {
        panic!("unexpected R2 key {key}")
    }
}

impl ObjectIo for Memory {
    async fn get(&self, key: &'static str) -> ApiResult<Option<String>> {
        self.effect(format!("get {key}"))?;
        Ok(self.state.borrow().get(key).cloned())
    }

    async fn put_state(&self, entries: Vec<(&'static str, String)>) -> ApiResult<()> {
        let keys: Vec<_> = entries.iter().map(|(k, _)| *k).collect();
        self.effect(format!("save {}", keys.join("+")))?;
        self.state.borrow_mut().extend(entries);
        Ok(())
    }

    async fn delete_state(&self, keys: &[&'static str]) -> ApiResult<()> {
        self.effect(format!("delete {}", keys.join("+")))?;
        let mut state = self.state.borrow_mut();
        for k in keys {
            state.remove(k);
        }
        Ok(())
    }

    async fn set_alarm(&self, at_ms: u64) -> ApiResult<()> {
        self.effect("alarm".into())?;
        self.alarm.set(Some(at_ms));
        Ok(())
    }

    async fn delete_alarm(&self) -> ApiResult<()> {
        self.effect("delete alarm".into())?;
        self.alarm.set(None);
        Ok(())
    }

    async fn put(&self, key: &str, body: Vec<u8>, meta: Vec<(String, String)>) -> ApiResult<()> {
        self.effect(format!("put {}", label_of(key)))?;
        self.r2.borrow_mut().insert(key.to_string(), body);
        self.r2_meta.borrow_mut().insert(key.to_string(), meta);
        Ok(())
    }

    async fn call(&self, _name: &str, call: ObjectCall<'_>) -> ApiResult<Option<Vec<u8>>> {
        let (path, body) = call.encode().unwrap();
        match path {
            "/log" => {
                self.effect("log".into())?;
                self.log
                    .borrow_mut()
                    .push(serde_json::from_slice(&body).unwrap());
            }
            "/anchor" => self.effect("anchor".into())?,
            "/analytics" => {
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                self.effect(format!("analytics {}", v["op"].as_str().unwrap()))?;
                self.analytics.borrow_mut().push(v);
            }
            other => panic!("a session object does not call {other}"),
        }
        Ok(Some(b"{}".to_vec()))
    }

    fn now(&self) -> u64 {
        self.now.get()
    }

    fn pseudonym_key(&self) -> Option<String> {
        Some("pseudonym key".into())
    }
}

/// Run a future whose every await is ready at once (all of `Memory`'s are).
fn run<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("in-memory I/O never waits"),
    }
}

fn beacon(seq: u32, reason: Reason) -> IngestCall<'static> {
    IngestCall {
        project: PROJECT,
        session: SESSION,
        visitor: VISITOR,
        seq,
        platform: Platform::Web,
        page: Some(Cow::Borrowed("https://shop.example/")),
        span: None,
        limits: Limits::default(),
        device: None,
        decision: Decision::new(reason, Vec::new(), "v1".into()),
        masking: Cow::Owned(MaskPolicy::default()),
        idle_ms: 1_000,
        max_ms: 10_000,
        fault: None,
    }
}

fn ingest(core: &SessionCore, io: &Memory, seq: u32) -> ApiResult<IngestReply> {
    run(core.ingest(io, beacon(seq, Reason::PolicyNone), EVENTS))
}

fn index(effects: &[String], label: &str) -> usize {
    effects
        .iter()
        .position(|e| e == label)
        .unwrap_or_else(|| panic!("no {label} in {effects:?}"))
}

#[test]
fn the_first_beacon_audits_then_indexes_then_writes_the_chunk_then_commits() {
    let (core, io) = (SessionCore::default(), Memory::default());
    let reply = ingest(&core, &io, 0).unwrap();
    assert_eq!((reply.stored, reply.seq), (true, Some(0)));
    assert_eq!(
        io.take(),
        [
            "get session",
            "get mask",
            "get audit",
            "get analytics",
            "log",
            "save audit",
            "save audit",
            "alarm",
            "put day-index",
            "put visitor-index",
            "put chunk 0",
            "alarm",
            "analytics put",
            "save session+mask+analytics",
            "put manifest",
            "put day-index",
        ]
    );
    assert_eq!(io.committed(), [0]);
    let log = io.log.borrow();
    assert_eq!((log.len(), log[0]["kind"].as_str()), (1, Some("decision")));
}

#[test]
fn a_refused_beacon_leaves_no_trace() {
    let (core, io) = (SessionCore::default(), Memory::default());
    let bad = r#"[{"type":9,"data":{},"timestamp":1}]"#;
    let e = run(core.ingest(&io, beacon(0, Reason::PolicyNone), bad)).unwrap_err();
    assert_eq!((e.status, e.code), (400, "invalid_events"));
    // Too many events: a 413 of the object's own, which the worker passes on with its code.
    let mut call = beacon(0, Reason::PolicyNone);
    call.limits.max_events = 1;
    let two = r#"[{"type":4,"data":{},"timestamp":1},{"type":4,"data":{},"timestamp":2}]"#;
    let e = run(core.ingest(&io, call, two)).unwrap_err();
    assert_eq!((e.status, e.code), (413, "too_many_events"));
    assert_eq!(error_from_reply(e.status, e.body().as_bytes()), e);
    // Nothing read, audited or written.
    assert_eq!(io.take(), Vec::<String>::new());
    assert!(io.log.borrow().is_empty() && io.r2.borrow().is_empty());
}

#[test]
fn a_dropped_beacon_is_audited_and_stores_nothing() {
    let (core, io) = (SessionCore::default(), Memory::default());
    let reply = run(core.ingest(&io, beacon(0, Reason::OptOutCookie), "[]")).unwrap();
    assert_eq!(
        (reply.stored, reply.reason.as_deref()),
        (false, Some("opt_out_cookie"))
    );
    let effects = io.take();
    assert!(effects.iter().all(|e| !e.starts_with("put")), "{effects:?}");
    assert!(index(&effects, "log") < index(&effects, "alarm"));
    assert!(io.committed().is_empty());
    // The same decision again: nothing new to record.
    run(core.ingest(&io, beacon(1, Reason::OptOutCookie), "[]")).unwrap();
    assert_eq!(io.take(), Vec::<String>::new());
}

#[test]
fn the_audit_record_is_in_the_log_before_the_state_moves() {
    let (core, io) = (SessionCore::default(), Memory::default());
    io.fail_next("log");
    assert_eq!(ingest(&core, &io, 0).unwrap_err().status, 503);
    assert_eq!(
        io.take(),
        [
            "get session",
            "get mask",
            "get audit",
            "get analytics",
            "failed log"
        ]
    );
    assert!(io.state.borrow().is_empty() && io.r2.borrow().is_empty());
    ingest(&core, &io, 0).unwrap();
    io.take();
    // A changed decision: its record precedes the state that records it.
    run(core.ingest(&io, beacon(1, Reason::GrantedSdk), EVENTS)).unwrap();
    let effects = io.take();
    assert!(index(&effects, "log") < index(&effects, "save audit+session"));
    let state: serde_json::Value = serde_json::from_str(&io.state.borrow()["session"]).unwrap();
    assert_eq!(state["session"]["consent"]["reason"], "granted_sdk");
    assert_eq!(io.log.borrow().len(), 2);
}

/// Issue 22, item 8: the chunk is stored gzip and says so; it reads back as the masked chunk
/// document.
#[test]
fn the_chunk_is_stored_gzip_and_says_so() {
    let (core, io) = (SessionCore::default(), Memory::default());
    ingest(&core, &io, 0).unwrap();
    let key = storage::chunk_key(&PROJECT.into(), &SESSION.into(), 0);
    let stored = io.r2.borrow()[&key].clone();
    assert!(stored.starts_with(&[0x1f, 0x8b]), "not gzip");
    assert_eq!(
        io.r2_meta.borrow()[&key],
        [("encoding".to_string(), "gzip".to_string())]
    );
    let doc: serde_json::Value =
        serde_json::from_slice(&storage::read_chunk(&stored, 1 << 20).unwrap()).unwrap();
    assert_eq!((doc["seq"].as_u64(), doc["v"].as_u64()), (Some(0), Some(1)));
    assert_eq!(storage::merge_events([&stored[..]]).unwrap(), EVENTS);
}

#[test]
fn indexes_come_before_the_first_chunk_only() {
    let (core, io) = (SessionCore::default(), Memory::default());
    io.fail_next("put visitor-index");
    assert_eq!(ingest(&core, &io, 0).unwrap_err().status, 503);
    let effects = io.take();
    assert!(!effects.contains(&"put chunk 0".to_string()), "{effects:?}");
    assert!(io.committed().is_empty());
    ingest(&core, &io, 0).unwrap();
    let effects = io.take();
    assert!(index(&effects, "put day-index") < index(&effects, "put chunk 0"));
    assert!(index(&effects, "put visitor-index") < index(&effects, "put chunk 0"));
    // A later chunk of the same segment: no index write at all.
    ingest(&core, &io, 1).unwrap();
    // (The masking state learnt nothing new, so it is not written again.)
    assert_eq!(
        io.take(),
        ["put chunk 1", "analytics put", "save session+analytics"]
    );
}

#[test]
fn the_chunk_is_durable_before_its_seq_is_committed_and_a_retry_redoes_it() {
    let (core, io) = (SessionCore::default(), Memory::default());
    ingest(&core, &io, 0).unwrap();
    io.take();
    // The chunk write fails: the seq is not committed, so its retry writes it again.
    io.fail_next("put chunk 1");
    assert_eq!(ingest(&core, &io, 1).unwrap_err().status, 503);
    assert_eq!(io.take(), ["failed put chunk 1"]);
    assert_eq!(io.committed(), [0]);
    ingest(&core, &io, 1).unwrap();
    let effects = io.take();
    assert!(index(&effects, "put chunk 1") < index(&effects, "save session+analytics"));
    assert_eq!(io.committed(), [0, 1]);
}

#[test]
fn a_failed_commit_after_the_chunk_is_redone_and_counted_once() {
    let (core, io) = (SessionCore::default(), Memory::default());
    ingest(&core, &io, 0).unwrap();
    io.fail_next("save session+analytics");
    assert_eq!(ingest(&core, &io, 1).unwrap_err().status, 503);
    assert_eq!(io.committed(), [0]);
    // A fresh object (as after a crash) reads the stored state and does the seq again.
    let core = SessionCore::default();
    io.take();
    ingest(&core, &io, 1).unwrap();
    assert!(io.take().contains(&"put chunk 1".to_string()));
    assert_eq!(io.committed(), [0, 1]);
    let m: serde_json::Value = serde_json::from_str(&run(core.manifest(&io)).unwrap()).unwrap();
    assert_eq!(
        (m["chunks"].as_u64(), m["events"].as_u64()),
        (Some(2), Some(2))
    );
}

#[test]
fn a_duplicate_seq_writes_nothing() {
    let (core, io) = (SessionCore::default(), Memory::default());
    ingest(&core, &io, 0).unwrap();
    io.take();
    let reply = ingest(&core, &io, 0).unwrap();
    assert_eq!((reply.stored, reply.seq), (true, Some(0)));
    assert_eq!(io.take(), Vec::<String>::new());
}

#[test]
fn a_full_session_refuses_with_its_code_and_writes_no_chunk() {
    let (core, io) = (SessionCore::default(), Memory::default());
    let mut session = SessionState::new(PROJECT, SESSION, VISITOR, Platform::Web, 0);
    session.seqs = SeqSet(vec![(0, MAX_CHUNKS - 1)]);
    let stored = Stored {
        session,
        idle_ms: 1_000,
        max_ms: 10_000,
        alarm_at: None,
    };
    io.state
        .borrow_mut()
        .insert("session", serde_json::to_string(&stored).unwrap());
    let e = ingest(&core, &io, MAX_CHUNKS).unwrap_err();
    assert_eq!((e.status, e.code), (413, "session_too_long"));
    assert_eq!(error_from_reply(e.status, e.body().as_bytes()), e);
    assert!(io.take().iter().all(|e| !e.starts_with("put")));
}

#[test]
fn an_erasure_is_audited_and_anchored_before_the_state_goes() {
    let (core, io) = (SessionCore::default(), Memory::default());
    ingest(&core, &io, 0).unwrap();
    io.take();
    let erase = || Erase {
        project: PROJECT.into(),
        session: SESSION.into(),
        reason: "session_erasure".into(),
    };
    io.fail_next("anchor");
    assert!(run(core.erase(&io, erase())).is_err());
    assert!(io.state.borrow().contains_key("session"));
    io.take();
    run(core.erase(&io, erase())).unwrap();
    assert_eq!(
        io.take(),
        [
            "log",
            "save audit",
            "anchor",
            "save audit",
            "analytics erase",
            "delete alarm",
            "delete session+mask+analytics"
        ]
    );
    assert!(!io.state.borrow().contains_key("session"));
    assert_eq!(run(core.manifest(&io)).unwrap_err().status, 404);
    // The chain survives the erasure: its head is still stored.
    assert!(io.state.borrow().contains_key("audit"));
}

#[test]
fn analytics_follow_the_durable_chunk_wait_out_a_failed_store_and_leave_with_the_erasure() {
    let (core, io) = (SessionCore::default(), Memory::default());
    ingest(&core, &io, 0).unwrap();
    let effects = io.take();
    // Extracted from what was stored, sent once it is durable, before the state counts it.
    assert!(index(&effects, "put chunk 0") < index(&effects, "analytics put"));
    assert!(index(&effects, "analytics put") < index(&effects, "save session+mask+analytics"));
    let first = io.analytics.borrow()[0].clone();
    assert_eq!(first["n"], 1);
    assert_eq!(first["rows"][0]["kind"], "page");
    assert_eq!(first["rows"][0]["path"], "/");
    let shard = format!("{PROJECT}/analytics/{}", crate::analytics::store::month(0));
    assert_eq!(
        crate::analytics::store::shard_name(&PROJECT.into(), &crate::analytics::store::month(0)),
        shard
    );
    // A store that fails does not fail the beacon; its rows go with the next send.
    io.fail_next("analytics put");
    let next = r#"[{"type":4,"data":{"href":"https://shop.example/cart"},"timestamp":2}]"#;
    let r = run(core.ingest(&io, beacon(1, Reason::PolicyNone), next)).unwrap();
    assert_eq!((r.stored, r.seq), (true, Some(1)));
    io.take();
    ingest(&core, &io, 2).unwrap();
    let sends = io.analytics.borrow().clone();
    let last = sends.last().unwrap();
    assert_eq!(last["n"], 2, "the failed send is not counted");
    let paths: Vec<&str> = last["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "page")
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.contains(&"/cart"),
        "the failed send's rows come along: {paths:?}"
    );
    // Erasure removes the row from the session's month shard.
    io.take();
    run(core.erase(
        &io,
        Erase {
            project: PROJECT.into(),
            session: SESSION.into(),
            reason: "session_erasure".into(),
        },
    ))
    .unwrap();
    let erase = io.analytics.borrow().last().unwrap().clone();
    assert_eq!(
        erase,
        serde_json::json!({"op": "erase", "session": SESSION})
    );
}

#[test]
fn a_session_belongs_to_its_first_visitor() {
    let (core, io) = (SessionCore::default(), Memory::default());
    ingest(&core, &io, 0).unwrap();
    io.take();
    let log_before = io.log.borrow().len();
    // Another visitor's beacon in the same session, stored or dropped: refused with its code,
    // nothing audited or written (it would be indexed under nobody and escape erasure).
    for reason in [Reason::PolicyNone, Reason::OptOutCookie] {
        let mut call = beacon(1, reason);
        call.visitor = "v_other000";
        let e = run(core.ingest(&io, call, EVENTS)).unwrap_err();
        assert_eq!((e.status, e.code), (409, "visitor_mismatch"));
        assert_eq!(error_from_reply(e.status, e.body().as_bytes()), e);
    }
    assert_eq!(io.take(), Vec::<String>::new());
    assert_eq!(io.committed(), [0]);
    assert_eq!(io.log.borrow().len(), log_before);
    // After an erasure the id is free again.
    run(core.erase(
        &io,
        Erase {
            project: PROJECT.into(),
            session: SESSION.into(),
            reason: "session_erasure".into(),
        },
    ))
    .unwrap();
    let mut call = beacon(0, Reason::PolicyNone);
    call.visitor = "v_other000";
    assert!(run(core.ingest(&io, call, EVENTS)).unwrap().stored);
}
