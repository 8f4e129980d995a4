//! The audit trail: consent decisions, erasures, finalisations and admin changes as records
//! in SHA-256 hash chains that a compliance officer can list, count and verify. Pure: the
//! edge (`edge::session_do`, `edge::audit_log_do`, `edge::audit_api`) does the R2/DO I/O.
//!
//! - [`records`]: the record, its canonical bytes and stored form;
//! - [`chain`]: sealing records into chains, chain heads, the log chain step;
//! - [`keys`]: R2 keys and Durable Object names of audit data;
//! - [`verify`]: verification of per-record chains and anchors;
//! - [`report`]: per-day counts;
//! - [`log`]: the per-project log that stores every record (segments, rollups, the writer,
//!   the stepwise verifier and verify jobs);
//! - [`days`], [`pseudonym`]: UTC days, the visitor pseudonym.
//!
//! Where records live: each record of a project is appended, in its chain's order, to one of
//! [`LOG_SHARDS`] log objects, which write it into NDJSON segments and keep day rollups
//! ([`log`]). The per-record layout, one R2 object per record under
//! `audit/{project}/{yyyy-mm-dd}/{session}/{n:06}.json` ([`record_key`]), with anchor
//! chains pinning each finalised or erased session's count and head ([`verify_anchors`]),
//! is still written by the anchor objects and read by [`verify_project`].

pub mod chain;
pub mod days;
pub mod keys;
pub mod log;
pub mod pseudonym;
pub mod records;
pub mod report;
pub mod verify;

pub use chain::*;
pub use days::*;
pub use keys::*;
pub use pseudonym::*;
pub use records::*;
pub use report::*;
pub use verify::*;
