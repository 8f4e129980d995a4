//! A verify job: the verification of a range too large for one request, carried between
//! alarms of its own object, and the R2 budgets of a request and of one step.

use serde::{Deserialize, Serialize};

use super::segment::segment_days;
use super::verifier::Verifier;
use super::writer::LiveHead;
use crate::audit::keys::days_prefix;

/// R2 operations a verify request spends before handing the range to a job.
pub const SYNC_BUDGET: usize = 100;
/// R2 operations one job step (one alarm) spends.
pub const STEP_BUDGET: usize = 200;
/// How long a finished job's result stays readable; then its object's alarm deletes it.
pub const FINISHED_TTL_MS: u64 = crate::time::DAY_MS;

/// The job of a range: one per (project, `from`, `to`), so a second request for a range
/// whose verification is still running joins it instead of starting another (32 lowercase
/// hex, the form the route takes).
pub fn job_id(project: &str, from_ms: u64, to_ms: u64) -> String {
    crate::project::sha256_hex(format!("verify\n{project}\n{from_ms}\n{to_ms}").as_bytes())[..32]
        .to_string()
}

/// What a job object's alarm does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobAlarm {
    /// One more bounded step of the verification.
    Step,
    /// Finished and past [`FINISHED_TTL_MS`]: delete the job.
    Expire,
    /// Finished: keep the result until then.
    Wait(u64),
}

impl JobAlarm {
    /// A job's alarm given when its kept result expires (`None`: still running). The rule
    /// every job object (verify, visitor erasure) follows.
    pub fn of(expires_at: Option<u64>, now_ms: u64) -> JobAlarm {
        match expires_at {
            None => JobAlarm::Step,
            Some(t) if now_ms >= t => JobAlarm::Expire,
            Some(t) => JobAlarm::Wait(t),
        }
    }
}

/// Where a verification is: the verifier and the last segment key it read. What a verify
/// job keeps in its object's storage between alarms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyJob {
    pub verifier: Verifier,
    /// Last segment key read (the listing resumes after it).
    pub after: Option<String>,
    /// Day of the segments being read (its rollups are checked when the next day starts).
    pub current_day: Option<String>,
    /// The final answer (JSON of a [`Verification`](super::Verification)) once done.
    pub result: Option<String>,
    /// Live heads read at the start without a record count (from an object older than the
    /// count), so not pinned: checked at the end against where the log ended.
    #[serde(default)]
    pub unpinned: Vec<LiveHead>,
    /// When the result was stored (jobs finished before this field existed read as 0, so
    /// they expire at their next alarm or read).
    #[serde(default)]
    pub finished_at: Option<u64>,
}

impl VerifyJob {
    pub fn new(project: &str, from_ms: u64, to_ms: u64) -> VerifyJob {
        let (first, last) = segment_days(from_ms, to_ms);
        VerifyJob {
            verifier: Verifier::new(project, &first, &last),
            after: None,
            current_day: None,
            result: None,
            unpinned: Vec::new(),
            finished_at: None,
        }
    }

    /// A request hands the job object `offered` for its range: a running job goes on and
    /// the request answers it; a finished or expired one is replaced by the new run.
    pub fn adopt(existing: Option<VerifyJob>, offered: VerifyJob) -> VerifyJob {
        match existing {
            Some(job) if job.result.is_none() => job,
            _ => offered,
        }
    }

    /// After a step: a stored result starts the time it is kept.
    pub fn settle(&mut self, now_ms: u64) {
        if self.result.is_some() && self.finished_at.is_none() {
            self.finished_at = Some(now_ms);
        }
    }

    /// When a finished job is deleted (`None` while it runs).
    pub fn expires_at(&self) -> Option<u64> {
        self.result.as_ref()?;
        Some(
            self.finished_at
                .unwrap_or(0)
                .saturating_add(FINISHED_TTL_MS),
        )
    }

    /// A finished job past its time: answered as unknown even before its alarm deletes it.
    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.on_alarm(now_ms) == JobAlarm::Expire
    }

    pub fn on_alarm(&self, now_ms: u64) -> JobAlarm {
        JobAlarm::of(self.expires_at(), now_ms)
    }

    /// Where the segment listing resumes (`start_after`).
    pub fn list_after(&self) -> String {
        self.after.clone().unwrap_or_else(|| {
            format!(
                "{}{}",
                days_prefix(&self.verifier.project),
                self.verifier.first_day
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = crate::time::DAY_MS;

    #[test]
    fn one_job_per_project_and_range() {
        let a = job_id("demo", 1_000, 2_000);
        assert_eq!(a, job_id("demo", 1_000, 2_000));
        assert_eq!(a.len(), 32);
        assert!(a
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_ne!(a, job_id("demo", 1_000, 2_001));
        assert_ne!(a, job_id("demo", 999, 2_000));
        assert_ne!(a, job_id("other", 1_000, 2_000));
    }

    #[test]
    fn a_second_request_joins_the_running_job_and_a_finished_one_is_redone() {
        let mut running = VerifyJob::new("demo", 0, 3 * DAY);
        running.after = Some("audit/demo/v2/days/x".into());
        let fresh = VerifyJob::new("demo", 0, 3 * DAY);
        assert_eq!(VerifyJob::adopt(None, fresh.clone()), fresh);
        assert_eq!(
            VerifyJob::adopt(Some(running.clone()), fresh.clone()),
            running
        );
        let mut done = running;
        done.result = Some("{}".into());
        done.settle(5);
        assert_eq!(VerifyJob::adopt(Some(done), fresh.clone()), fresh);
    }

    #[test]
    fn a_finished_job_is_kept_a_day_then_deleted() {
        let mut job = VerifyJob::new("demo", 0, DAY);
        assert_eq!(job.on_alarm(10), JobAlarm::Step);
        job.settle(10);
        assert_eq!(job.finished_at, None, "still running");
        job.result = Some("{}".into());
        job.settle(100);
        job.settle(200);
        assert_eq!(job.finished_at, Some(100));
        assert_eq!(job.on_alarm(150), JobAlarm::Wait(100 + FINISHED_TTL_MS));
        assert!(!job.is_expired(100 + FINISHED_TTL_MS - 1));
        assert!(job.is_expired(100 + FINISHED_TTL_MS));
        assert_eq!(job.on_alarm(100 + FINISHED_TTL_MS), JobAlarm::Expire);
        // A job stored before `finished_at` existed.
        let mut old: VerifyJob = serde_json::from_str(
            &serde_json::to_string(&VerifyJob::new("demo", 0, DAY))
                .unwrap()
                .replace(",\"finished_at\":null", ""),
        )
        .unwrap();
        assert_eq!(old.finished_at, None);
        old.result = Some("{}".into());
        assert_eq!(old.on_alarm(FINISHED_TTL_MS), JobAlarm::Expire);
    }
}
