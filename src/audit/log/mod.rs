//! The per-project audit log: where every audit record is stored. Each record of a project
//! goes, in the order its chain's owner appends it, to one of [`LOG_SHARDS`] log objects
//! (chosen by hash of the chain id, so a chain's records are all in one log, in seq order).
//! A log keeps:
//!
//! - **segments** `audit/{p}/v2/days/{day}/{shard:02}/{n:06}.ndjson`: a header line then up to
//!   [`SEGMENT_RECORDS`] record lines; the log is itself a hash chain over its records,
//!   `log_head = SHA-256(prev_log_head || record.hash)`, from [`log_genesis`], running across
//!   segments and days; each header says the head before and after its records;
//! - **rollups** `audit/{p}/v2/rollups/{day}/{shard:02}.json`: per segment day, the segment
//!   count, record count, the log head at the end of that day so far, and the report counts
//!   (per record day), rewritten with every append. `report` reads these only.
//!
//! Reads therefore cost one R2 read per segment (≤ 128 records), not per record; deleting,
//! reordering or inserting any record breaks the log chain, and the live log heads (asked of
//! the log objects) pin the tail.
//!
//! [`segment`] is the stored format, [`writer`] the append, [`head`] what the object stores
//! and how it wakes, [`verifier`] and [`job`] the verification of a range in bounded steps.

pub mod head;
pub mod job;
pub mod object;
pub mod segment;
pub mod verifier;
pub mod writer;

pub use head::*;
pub use job::*;
pub use object::{LogCore, LogIo};
pub use segment::*;
pub use verifier::*;
pub use writer::*;

// The log's names and hashes live with the rest of the audit's keys and chains; these keep
// every name of the log reachable from here.
pub use crate::audit::chain::{log_genesis, log_step};
pub use crate::audit::keys::{
    admin_object_name, days_prefix, log_object_name, log_shard, parse_rollup_key,
    parse_segment_key, rollup_key, rollups_prefix, segment_key, verify_job_object_name, LOG_SHARDS,
};
pub use crate::audit::report::merge_reports;
