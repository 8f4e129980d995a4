//! A visitor's erasure against an in-memory index: which sessions each step erases, in which
//! order, and what a failure part way leaves.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::future::Future;
use std::task::{Context, Poll, Waker};

use super::*;

#[derive(Default)]
struct Memory {
    /// The visitor's index.
    index: RefCell<BTreeSet<String>>,
    /// Sessions holding data (an index entry may have none: its first chunk never landed).
    data: RefCell<BTreeSet<String>>,
    effects: RefCell<Vec<String>>,
    fail: RefCell<Option<String>>,
}

impl Memory {
    fn with(sessions: usize) -> Memory {
        let m = Memory::default();
        for i in 0..sessions {
            m.index.borrow_mut().insert(format!("s_{i:04}"));
            m.data.borrow_mut().insert(format!("s_{i:04}"));
        }
        m
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.effects.borrow_mut())
    }
}

impl EraseIo for Memory {
    async fn list(&self, after: Option<&str>, limit: u32) -> ApiResult<(Vec<String>, bool)> {
        self.effects
            .borrow_mut()
            .push(format!("list after {after:?}"));
        let all: Vec<String> = self
            .index
            .borrow()
            .iter()
            .filter(|s| after.is_none_or(|a| s.as_str() > a))
            .cloned()
            .collect();
        let page: Vec<String> = all.iter().take(limit as usize).cloned().collect();
        Ok((page, all.len() > limit as usize))
    }

    async fn erase(&self, session: &str) -> ApiResult<bool> {
        if self.fail.borrow().as_deref() == Some(session) {
            self.fail.take();
            return Err(ApiError::unavailable("injected failure"));
        }
        self.effects.borrow_mut().push(format!("erase {session}"));
        self.index.borrow_mut().remove(session);
        Ok(self.data.borrow_mut().remove(session))
    }
}

fn run<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("in-memory I/O never waits"),
    }
}

fn job() -> VisitorErasure {
    VisitorErasure::new(&"demo".into(), &"v_12345678".into())
}

#[test]
fn a_few_sessions_are_erased_in_one_step() {
    let io = Memory::with(3);
    let mut j = job();
    run(j.step(&io, STEP_SESSIONS)).unwrap();
    assert!(j.done);
    assert_eq!(j.erased, 3);
    assert_eq!(
        io.take(),
        [
            "list after None",
            "erase s_0000",
            "erase s_0001",
            "erase s_0002"
        ]
    );
    assert!(io.index.borrow().is_empty());
}

#[test]
fn many_sessions_take_bounded_steps_until_none_is_left() {
    let io = Memory::with(60);
    let mut j = job();
    let mut steps = 0;
    while !j.done {
        run(j.step(&io, STEP_SESSIONS)).unwrap();
        let erased = io.take().iter().filter(|e| e.starts_with("erase")).count();
        assert!(erased <= STEP_SESSIONS as usize);
        steps += 1;
        assert!(steps < 10);
    }
    assert_eq!((steps, j.erased), (3, 60));
    assert!(io.data.borrow().is_empty() && io.index.borrow().is_empty());
    // Done is done: no more listing.
    run(j.step(&io, STEP_SESSIONS)).unwrap();
    assert!(io.take().is_empty());
}

#[test]
fn a_failure_part_way_keeps_what_was_done_and_the_next_step_goes_on() {
    let io = Memory::with(5);
    // An entry whose session never held a chunk is still erased (and not counted).
    io.index.borrow_mut().insert("s_0002a".into());
    *io.fail.borrow_mut() = Some("s_0003".into());
    let mut j = job();
    assert!(run(j.step(&io, 10)).is_err());
    assert_eq!(
        (j.after.as_deref(), j.erased, j.done),
        (Some("s_0002a"), 3, false)
    );
    run(j.step(&io, 10)).unwrap();
    assert_eq!(
        io.take()[4..],
        [
            "erase s_0002a",
            "list after Some(\"s_0002a\")",
            "erase s_0003",
            "erase s_0004"
        ]
    );
    assert!(j.done);
    assert_eq!(j.erased, 5);
    assert!(io.index.borrow().is_empty());
}

#[test]
fn a_second_request_joins_a_running_job_and_a_finished_one_expires() {
    let mut running = job();
    running.after = Some("s_0001".into());
    running.erased = 2;
    assert_eq!(VisitorErasure::adopt(Some(running.clone()), job()), running);
    assert_eq!(VisitorErasure::adopt(None, job()), job());
    assert_eq!(running.on_alarm(5), JobAlarm::Step);
    assert_eq!(running.reply()["status"], "running");
    let mut done = running;
    done.done = true;
    done.settle(100);
    done.settle(200);
    assert_eq!(done.reply()["status"], "done");
    assert_eq!(done.reply()["sessions_erased"], 2);
    assert_eq!(VisitorErasure::adopt(Some(done.clone()), job()), job());
    assert_eq!(done.on_alarm(150), JobAlarm::Wait(100 + FINISHED_TTL_MS));
    assert!(!done.is_expired(99 + FINISHED_TTL_MS));
    assert_eq!(done.on_alarm(100 + FINISHED_TTL_MS), JobAlarm::Expire);
    assert_eq!(
        job_object_name(&"demo".into(), &"v_12345678".into()),
        "demo/erase/v_12345678"
    );
}
