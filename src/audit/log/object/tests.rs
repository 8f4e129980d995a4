//! A log object's effects in order, run against [`Memory`]: a `LogIo` that keeps DO storage
//! and R2 in maps, writes down each effect as it happens, and fails the one it is told to.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::task::{Context, Poll, Waker};

use super::*;
use crate::audit::chain::ChainHead;
use crate::audit::records::Draft;
use crate::consent::{Decision, Reason};

const P: &str = "demo";
const T0: u64 = 1_793_491_200_000; // 2026-11-01T00:00:00Z

#[derive(Default)]
struct Memory {
    state: RefCell<BTreeMap<String, String>>,
    r2: RefCell<BTreeMap<String, String>>,
    alarm: Cell<Option<u64>>,
    effects: RefCell<Vec<String>>,
    /// Effects with this label fail (every time, until cleared).
    fail: RefCell<Option<String>>,
}

impl Memory {
    fn effect(&self, label: String) -> ApiResult<()> {
        if self.fail.borrow().as_deref() == Some(label.as_str()) {
            self.effects.borrow_mut().push(format!("failed {label}"));
            return Err(ApiError::unavailable("injected failure"));
        }
        self.effects.borrow_mut().push(label);
        Ok(())
    }

    fn fail(&self, label: Option<&str>) {
        *self.fail.borrow_mut() = label.map(str::to_string);
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.effects.borrow_mut())
    }

    fn r2_puts(effects: &[String]) -> usize {
        effects.iter().filter(|e| e.starts_with("r2 put")).count()
    }
}

/// What a storage or R2 key is, in a test's words.
fn label(key: &str) -> String {
    if key.ends_with(".ndjson") {
        "segment".into()
    } else if key.contains("/rollups/") {
        "rollup".into()
    } else if key.starts_with("log_line/") {
        "line".into()
    } else {
        key.into()
    }
}

impl LogIo for Memory {
    async fn get(&self, key: &str) -> ApiResult<Option<String>> {
        self.effect(format!("get {key}"))?;
        Ok(self.state.borrow().get(key).cloned())
    }

    async fn list(&self, prefix: &str) -> ApiResult<Vec<(String, String)>> {
        self.effect(format!("list {prefix}"))?;
        Ok(self
            .state
            .borrow()
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    async fn put_state(&self, entries: Vec<(String, String)>) -> ApiResult<()> {
        assert!(entries.len() <= 128, "{} keys in one put", entries.len());
        let mut labels: Vec<String> = entries.iter().map(|(k, _)| label(k)).collect();
        labels.dedup();
        self.effect(format!("save {}", labels.join("+")))?;
        self.state.borrow_mut().extend(entries);
        Ok(())
    }

    async fn delete_state(&self, keys: Vec<String>) -> ApiResult<()> {
        assert!(keys.len() <= 128, "{} keys in one delete", keys.len());
        let mut labels: Vec<String> = keys.iter().map(|k| label(k)).collect();
        labels.dedup();
        self.effect(format!("delete {}", labels.join("+")))?;
        let mut state = self.state.borrow_mut();
        for k in keys {
            state.remove(&k);
        }
        Ok(())
    }

    async fn set_alarm(&self, at_ms: u64) -> ApiResult<()> {
        self.effect("alarm".into())?;
        self.alarm.set(Some(at_ms));
        Ok(())
    }

    async fn r2_get(&self, key: &str) -> ApiResult<Option<String>> {
        self.effect(format!("r2 get {}", label(key)))?;
        Ok(self.r2.borrow().get(key).cloned())
    }

    async fn r2_put(&self, key: &str, body: String) -> ApiResult<()> {
        self.effect(format!("r2 put {}", label(key)))?;
        self.r2.borrow_mut().insert(key.to_string(), body);
        Ok(())
    }

    fn now(&self) -> u64 {
        T0
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

/// `n` first records of fresh sessions that all go to log 0, one second apart from `at`.
fn records(n: usize, at: u64) -> Vec<AuditRecord> {
    let d = Decision::new(Reason::Gpc, vec![], "1".into());
    (0..)
        .map(|i| format!("s_{at:x}_{i:06}"))
        .filter(|s| log_shard(s) == 0)
        .take(n)
        .enumerate()
        .map(|(i, s)| {
            let when = at + i as u64 * 1_000;
            ChainHead::new(P, &s)
                .next(Draft::decision(P, &s, None, when, &d, Some(0)))
                .0
        })
        .collect()
}

fn append(core: &LogCore, io: &Memory, rec: &AuditRecord) -> ApiResult<()> {
    run(core.append(io, rec.to_json().as_bytes()))
}

#[test]
fn an_append_is_answered_once_stored_without_waiting_for_r2() {
    let (core, io) = (LogCore::default(), Memory::default());
    let recs = records(20, T0);
    for r in &recs {
        append(&core, &io, r).unwrap();
    }
    let effects = io.take();
    assert_eq!(
        Memory::r2_puts(&effects),
        0,
        "20 appends wrote to R2 before answering: {effects:?}"
    );
    assert!(
        effects.iter().any(|e| e.starts_with("save ")),
        "{effects:?}"
    );
}

/// What the log would have written appending `recs` one by one, record by record (the
/// reference: [`build_log`](crate::audit::log::build_log)).
fn reference(recs: &[AuditRecord]) -> BTreeMap<String, String> {
    crate::audit::log::build_log(P, 0, recs)
        .into_iter()
        .collect()
}

fn alarm(core: &LogCore, io: &Memory) -> Alarm {
    run(core.alarm(io)).unwrap()
}

#[test]
fn the_first_append_sets_the_flush_alarm_and_each_append_is_one_storage_write() {
    let (core, io) = (LogCore::default(), Memory::default());
    let recs = records(3, T0);
    append(&core, &io, &recs[0]).unwrap();
    assert_eq!(
        io.take(),
        [
            "get log_state",
            "get log_head",
            "get log",
            "save log_state+line",
            "alarm"
        ]
    );
    assert_eq!(io.alarm.get(), Some(T0 + FLUSH_MS));
    append(&core, &io, &recs[1]).unwrap();
    append(&core, &io, &recs[2]).unwrap();
    assert_eq!(io.take(), ["save log_state+line", "save log_state+line"]);
    assert!(io.r2.borrow().is_empty());
}

#[test]
fn a_tick_writes_the_batch_in_one_segment_put_and_one_rollup_put() {
    let (core, io) = (LogCore::default(), Memory::default());
    let recs = records(100, T0);
    for r in &recs {
        append(&core, &io, r).unwrap();
    }
    io.take();
    assert!(matches!(alarm(&core, &io), Alarm::Flushed));
    assert_eq!(
        io.take(),
        ["r2 put segment", "r2 put rollup", "save log_state"]
    );
    // The same bytes as a log written record by record.
    assert_eq!(*io.r2.borrow(), reference(&recs));
    // Nothing new: the next tick writes nothing.
    assert!(matches!(alarm(&core, &io), Alarm::Flushed));
    assert_eq!(io.take(), Vec::<String>::new());
}

#[test]
fn a_batch_over_several_segments_and_days_writes_each_once_segments_before_rollups() {
    let (core, io) = (LogCore::default(), Memory::default());
    // 300 records a second apart, then 50 the next day: segments 0..=2 of day one, 0 of two.
    let mut recs = records(300, T0);
    recs.extend(records(50, T0 + 86_400_000));
    for r in &recs {
        append(&core, &io, r).unwrap();
    }
    io.take();
    alarm(&core, &io);
    assert_eq!(
        io.take(),
        [
            "r2 put segment",
            "r2 put segment",
            "r2 put segment",
            "r2 put segment",
            "r2 put rollup",
            "r2 put rollup",
            "save log_state",
            "delete line",
            "delete line",
            "delete line",
        ]
    );
    assert_eq!(*io.r2.borrow(), reference(&recs));
    // Only the open segment's lines stay in storage.
    let lines = io
        .state
        .borrow()
        .keys()
        .filter(|k| k.starts_with(LINE_PREFIX))
        .count();
    assert_eq!(lines, 50);
}

#[test]
fn a_failed_flush_keeps_the_buffer_and_its_retry_writes_the_same_bytes() {
    let (core, io) = (LogCore::default(), Memory::default());
    let recs = records(200, T0);
    for r in &recs[..150] {
        append(&core, &io, r).unwrap();
    }
    io.take();
    io.fail(Some("r2 put rollup"));
    let Alarm::Retry(e) = alarm(&core, &io) else {
        panic!("a failed flush is not retried")
    };
    assert_eq!(e.status, 503);
    let effects = io.take();
    assert_eq!(
        effects.last().map(String::as_str),
        Some("alarm"),
        "{effects:?}"
    );
    assert_eq!(io.alarm.get(), Some(T0 + RETRY_MS));
    // Nothing dropped: storage still holds both segments' lines, marked unflushed.
    let stored = io
        .state
        .borrow()
        .keys()
        .filter(|k| k.starts_with(LINE_PREFIX))
        .count();
    assert_eq!(stored, 150);
    let st: LogState = serde_json::from_str(&io.state.borrow()[STATE_KEY]).unwrap();
    assert!(st.dirty);
    assert_eq!(st.closed.len(), 1);
    // Appends go on meanwhile; the retry writes everything, as if never interrupted.
    for r in &recs[150..] {
        append(&core, &io, r).unwrap();
    }
    io.fail(None);
    assert!(matches!(alarm(&core, &io), Alarm::Flushed));
    assert_eq!(*io.r2.borrow(), reference(&recs));
}

#[test]
fn a_log_that_crashed_mid_flush_reloads_from_storage_and_flushes_the_same_bytes() {
    let io = Memory::default();
    let recs = records(160, T0);
    {
        let core = LogCore::default();
        for r in &recs[..140] {
            append(&core, &io, r).unwrap();
        }
        // R2 gets everything, then the state save fails (as a crash there would).
        io.fail(Some("save log_state"));
        assert!(matches!(alarm(&core, &io), Alarm::Retry(_)));
        io.fail(None);
    }
    let written = io.r2.borrow().clone();
    // A new instance: only storage survives.
    let core = LogCore::default();
    io.take();
    assert!(matches!(alarm(&core, &io), Alarm::Flushed));
    assert_eq!(*io.r2.borrow(), written, "a repeated flush changed R2");
    for r in &recs[140..] {
        append(&core, &io, r).unwrap();
    }
    let head = run(core.live_head(&io)).unwrap().unwrap();
    assert_eq!(*io.r2.borrow(), reference(&recs));
    assert_eq!(head.records, Some(160));
}

#[test]
fn the_live_head_pins_buffered_records_only_once_r2_holds_them() {
    let (core, io) = (LogCore::default(), Memory::default());
    let recs = records(40, T0);
    for r in &recs[..30] {
        append(&core, &io, r).unwrap();
    }
    alarm(&core, &io);
    // Ten more, buffered: the head read now must not pin what R2 lacks.
    for r in &recs[30..] {
        append(&core, &io, r).unwrap();
    }
    let live = run(core.live_head(&io)).unwrap().unwrap();
    assert_eq!(live.records, Some(40));
    let day = "2026-11-01";
    let r2 = io.r2.borrow().clone();
    let mut v = crate::audit::log::Verifier::new(P, day, day);
    assert!(v.pin_live(std::slice::from_ref(&live)).is_empty());
    let rollups: Vec<(u32, Option<String>)> = (0..crate::audit::log::LOG_SHARDS)
        .map(|s| {
            (
                s,
                r2.get(&crate::audit::log::rollup_key(P, day, s)).cloned(),
            )
        })
        .collect();
    v.pin_day(day, &rollups);
    for (k, t) in r2.iter().filter(|(k, _)| k.ends_with(".ndjson")) {
        v.feed_segment(k, t);
    }
    v.end_day(day);
    let result = serde_json::to_value(v.finish(&[])).unwrap();
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(result["records"], 40);
}

#[test]
fn past_max_closed_unflushed_segments_an_append_is_refused_and_nothing_stored() {
    let (core, io) = (LogCore::default(), Memory::default());
    io.fail(Some("r2 put segment"));
    let recs = records(MAX_CLOSED * super::super::SEGMENT_RECORDS + 2, T0);
    let (fits, over) = recs.split_at(recs.len() - 1);
    for r in fits {
        append(&core, &io, r).unwrap();
    }
    let before = io.state.borrow().clone();
    let e = append(&core, &io, &over[0]).unwrap_err();
    assert_eq!(e.status, 503);
    assert_eq!(*io.state.borrow(), before);
    // Once R2 is back, the flush catches up and appends go on.
    io.fail(None);
    assert!(matches!(alarm(&core, &io), Alarm::Flushed));
    append(&core, &io, &over[0]).unwrap();
    run(core.flush(&io)).unwrap();
    assert_eq!(*io.r2.borrow(), reference(&recs));
}

#[test]
fn a_log_stored_as_a_head_with_its_lines_in_r2_is_converted_and_goes_on() {
    let io = Memory::default();
    let recs = records(50, T0);
    // The earlier form: the head in storage, the open segment and rollup in R2.
    let (objects, w) = crate::audit::log::build_log_state(P, 0, &recs[..30]);
    let w = w.unwrap();
    io.r2.borrow_mut().extend(objects);
    io.state.borrow_mut().insert(
        HEAD_KEY.into(),
        serde_json::to_string(&w.stored_head(None)).unwrap(),
    );
    let core = LogCore::default();
    for r in &recs[30..] {
        append(&core, &io, r).unwrap();
    }
    assert!(!io.state.borrow().contains_key(HEAD_KEY));
    run(core.flush(&io)).unwrap();
    assert_eq!(*io.r2.borrow(), reference(&recs));
}

#[test]
fn a_retried_seq_replaces_its_record_whether_buffered_or_flushed() {
    let (core, io) = (LogCore::default(), Memory::default());
    let recs = records(5, T0);
    for r in &recs {
        append(&core, &io, r).unwrap();
    }
    // The same chain and seq sealed again (the owner never stored its head): it replaces.
    let mut again = recs[2].clone();
    let d = Decision::new(Reason::Gpc, vec![], "1".into());
    again = ChainHead::new(P, &again.session)
        .next(Draft::decision(
            P,
            &again.session,
            None,
            again.at + 7,
            &d,
            Some(0),
        ))
        .0;
    append(&core, &io, &again).unwrap();
    alarm(&core, &io);
    let mut want = recs.clone();
    want[2] = again.clone();
    assert_eq!(*io.r2.borrow(), reference(&want));
    // And once flushed, too.
    let again2 = ChainHead::new(P, &again.session)
        .next(Draft::decision(
            P,
            &again.session,
            None,
            again.at + 9,
            &d,
            Some(0),
        ))
        .0;
    append(&core, &io, &again2).unwrap();
    alarm(&core, &io);
    want[2] = again2;
    assert_eq!(*io.r2.borrow(), reference(&want));
}
