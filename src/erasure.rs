//! Erasure of everything of one visitor, in bounded steps. The worker's `DELETE
//! …/visitors/{v}` takes one step ([`STEP_SESSIONS`] sessions at most, well inside a request's
//! subrequest limit); a visitor with more sessions is handed to the job object
//! `{project}/erase/{visitor}`, which takes one step per alarm until the visitor's index is
//! empty, and which the worker answers `202` for (`Location: …/visitors/{v}/erasure`) while it
//! runs. The order of a step's effects is here, over [`EraseIo`], tested natively against an
//! in-memory index; `edge::read_api` (the request) and `edge::erase_job_do` (the job object)
//! implement it over R2 and the session objects.
//!
//! A session belongs to the visitor who started it (`session::object` refuses another's
//! beacon, `visitor_mismatch`), so the visitor index names every session holding their data.

use serde::{Deserialize, Serialize};

use crate::audit::log::JobAlarm;
use crate::error::ApiError;
use crate::ids::{ProjectKey, VisitorId};
use crate::time::DAY_MS;

type ApiResult<T> = std::result::Result<T, ApiError>;

/// Sessions one step erases at most: a session's erasure costs at most
/// `retention::ERASE_WORST_COST` (26) subrequests and its index entry one more, so a step stays
/// under 700 of the platform's 1,000 per request or alarm, with the listing, the token check
/// and the job calls.
pub const STEP_SESSIONS: u32 = 25;

/// How long a finished job's count stays readable; then its object's alarm deletes it.
pub const FINISHED_TTL_MS: u64 = DAY_MS;

/// How long a job waits after a failed step before it tries again (the runtime's own alarm
/// retries give up after a few attempts; an erasure never does).
pub const RETRY_MS: u64 = 30_000;

/// The job object of a visitor's erasure: one per visitor, so a second request while it runs
/// joins it. `/` is outside the id alphabet, so no `{project}:{session}` can take the name.
pub fn job_object_name(project: &ProjectKey, visitor: &VisitorId) -> String {
    format!("{project}/erase/{visitor}")
}

/// Where a visitor's erasure is; what the job object keeps in its storage between alarms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitorErasure {
    pub project: String,
    pub visitor: String,
    /// The last session erased, in index order (the listing resumes after it).
    pub after: Option<String>,
    /// Sessions that held data and were erased.
    pub erased: u64,
    /// The visitor's index held no more sessions.
    pub done: bool,
    #[serde(default)]
    pub finished_at: Option<u64>,
}

/// The effects of a step: the visitor's index and the erasure path.
#[allow(async_fn_in_trait)]
pub trait EraseIo {
    /// Session ids of the visitor's index after `after` (in key order), at most `limit`, and
    /// whether more follow.
    async fn list(&self, after: Option<&str>, limit: u32) -> ApiResult<(Vec<String>, bool)>;
    /// Erase one session through the erasure path (audited `visitor_erasure`), then its entry
    /// in the visitor's index; whether the session held anything.
    async fn erase(&self, session: &str) -> ApiResult<bool>;
}

impl VisitorErasure {
    pub fn new(project: &ProjectKey, visitor: &VisitorId) -> Self {
        VisitorErasure {
            project: project.to_string(),
            visitor: visitor.to_string(),
            after: None,
            erased: 0,
            done: false,
            finished_at: None,
        }
    }

    /// One bounded step: list at most `max` sessions after the cursor and erase them in order.
    /// The cursor moves past a session only once it is erased, so a step that fails part way
    /// keeps what it did and the next one goes on from there (erasing is idempotent).
    pub async fn step(&mut self, io: &impl EraseIo, max: u32) -> ApiResult<()> {
        if self.done {
            return Ok(());
        }
        let (sessions, more) = io.list(self.after.as_deref(), max).await?;
        for s in &sessions {
            if io.erase(s).await? {
                self.erased += 1;
            }
            self.after = Some(s.clone());
        }
        self.done = !more || sessions.is_empty();
        Ok(())
    }

    /// A request hands the job object `offered`: a running job goes on (the request joins
    /// it); a finished one is replaced.
    pub fn adopt(existing: Option<VisitorErasure>, offered: VisitorErasure) -> VisitorErasure {
        match existing {
            Some(job) if !job.done => job,
            _ => offered,
        }
    }

    /// After a step: a finished job starts the time its count is kept.
    pub fn settle(&mut self, now_ms: u64) {
        if self.done && self.finished_at.is_none() {
            self.finished_at = Some(now_ms);
        }
    }

    pub fn expires_at(&self) -> Option<u64> {
        self.done.then(|| {
            self.finished_at
                .unwrap_or(0)
                .saturating_add(FINISHED_TTL_MS)
        })
    }

    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.on_alarm(now_ms) == JobAlarm::Expire
    }

    pub fn on_alarm(&self, now_ms: u64) -> JobAlarm {
        JobAlarm::of(self.expires_at(), now_ms)
    }

    /// The API's answer: `sessions_erased` so far and whether it is done.
    pub fn reply(&self) -> serde_json::Value {
        serde_json::json!({
            "visitor": self.visitor,
            "status": if self.done { "done" } else { "running" },
            "sessions_erased": self.erased,
        })
    }
}

#[cfg(test)]
mod tests;
