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
        }
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
