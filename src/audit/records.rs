//! The audit record: its fields, its canonical bytes (what the hash covers) and its stored
//! form (one line of JSON; NDJSON for many). [`Draft`] is a record before it is chained;
//! `chain` seals it. `tests/audit/golden.rs` pins these bytes: stored chains only verify
//! while they stay exactly the same.
//!
//! Records hold no personal data: pseudonymous session id, a keyed pseudonym of the visitor
//! ([`crate::audit::visitor_pseudonym`]), reason codes, policy version and the *names* of
//! signals seen.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::days::day_from_millis;
use crate::consent::Decision;
use crate::encoding::hex;

/// Format version of audit records.
pub const RECORD_VERSION: u32 = 1;

/// What a record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A consent decision (session start, and every change).
    Decision,
    /// A session's recordings were erased (session or visitor erasure, retention sweep).
    Erasure,
    /// The session was finalised (idle alarm); closes the chain for anchoring.
    Finalize,
    /// A record of an anchor chain: a session chain's final count and head.
    Anchor,
    /// An operator changed the project through the admin API (chain [`ADMIN_CHAIN`]).
    Admin,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Decision => "decision",
            Kind::Erasure => "erasure",
            Kind::Finalize => "finalize",
            Kind::Anchor => "anchor",
            Kind::Admin => "admin",
        }
    }
}

/// Outcome of a decision record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Stored,
    Dropped,
}

/// What an anchor record pins: a session chain's length and head at finalisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnchorRef {
    pub session: String,
    /// UTC day of the session chain's first record (its R2 folder).
    pub day: String,
    /// Number of records in the session chain, including its finalize/erasure record.
    pub count: u64,
    /// Hash of the session chain's last record.
    pub head: String,
}

/// One audit record as stored (one R2 object, or one NDJSON line). All fields are always
/// serialised, in this order; unknown fields are rejected when reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    pub v: u32,
    pub project: String,
    /// Chain id: the session id, or `anchor/NN` for an anchor chain.
    pub session: String,
    /// Keyed pseudonym of the visitor ([`visitor_pseudonym`](crate::audit::visitor_pseudonym)), never the raw id.
    pub visitor: Option<String>,
    /// Position in the chain, from 0; the `n` of the R2 key.
    pub seq: u64,
    /// Milliseconds since the Unix epoch.
    pub at: u64,
    pub kind: Kind,
    pub decision: Option<Outcome>,
    /// Reason code: a consent reason for decisions; for erasure e.g. `session_erasure`,
    /// `visitor_erasure`, `retention`; for finalize `idle`.
    pub reason: Option<String>,
    pub policy_version: Option<String>,
    /// Names of the signals seen (never values).
    pub signals: Vec<String>,
    /// The ingest `seq` of the beacon that was decided, when there is one.
    pub beacon_seq: Option<u64>,
    pub anchor: Option<AnchorRef>,
    pub prev: String,
    pub hash: String,
}

/// The record minus `hash`: what is hashed, serialised as compact JSON in field order.
#[derive(Serialize)]
struct Body<'a> {
    v: u32,
    project: &'a str,
    session: &'a str,
    visitor: &'a Option<String>,
    seq: u64,
    at: u64,
    kind: Kind,
    decision: Option<Outcome>,
    reason: &'a Option<String>,
    policy_version: &'a Option<String>,
    signals: &'a [String],
    beacon_seq: Option<u64>,
    anchor: &'a Option<AnchorRef>,
    prev: &'a str,
}

impl AuditRecord {
    /// Canonical serialisation of the record without `hash`.
    pub fn canonical_body(&self) -> Vec<u8> {
        let body = Body {
            v: self.v,
            project: &self.project,
            session: &self.session,
            visitor: &self.visitor,
            seq: self.seq,
            at: self.at,
            kind: self.kind,
            decision: self.decision,
            reason: &self.reason,
            policy_version: &self.policy_version,
            signals: &self.signals,
            beacon_seq: self.beacon_seq,
            anchor: &self.anchor,
            prev: &self.prev,
        };
        // Serialising plain strings, integers and enums cannot fail.
        serde_json::to_vec(&body).unwrap_or_default()
    }

    /// `SHA-256(prev || canonical_body)` as lowercase hex.
    pub fn compute_hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.prev.as_bytes());
        h.update(self.canonical_body());
        hex(&h.finalize())
    }

    /// The stored form: one line of JSON (no trailing newline).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Result<AuditRecord, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    /// UTC day of `at`.
    pub fn day(&self) -> String {
        day_from_millis(self.at)
    }
}

/// Chain id of a project's admin-change chain: shorter than any session id, so it cannot
/// collide with one; its records use the session-chain key layout.
pub const ADMIN_CHAIN: &str = "_admin";

/// Chain id of anchor chain `shard`: `anchor/NN`. The `/` is outside the session id
/// alphabet `[A-Za-z0-9_-]`, so no session id equals it.
pub fn anchor_chain_id(shard: u32) -> String {
    format!("anchor/{shard:02}")
}

/// A record before it is chained: everything but `v`, `seq`, `prev` and `hash`. Its fields
/// repeat the record's rather than the record holding a draft: the record's field order is
/// its stored and hashed form, with `seq` among them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub project: String,
    pub session: String,
    pub visitor: Option<String>,
    pub at: u64,
    pub kind: Kind,
    pub decision: Option<Outcome>,
    pub reason: Option<String>,
    pub policy_version: Option<String>,
    pub signals: Vec<String>,
    pub beacon_seq: Option<u64>,
    pub anchor: Option<AnchorRef>,
}

impl Draft {
    fn base(project: &str, session: &str, at: u64, kind: Kind) -> Draft {
        Draft {
            project: project.to_string(),
            session: session.to_string(),
            visitor: None,
            at,
            kind,
            decision: None,
            reason: None,
            policy_version: None,
            signals: Vec::new(),
            beacon_seq: None,
            anchor: None,
        }
    }

    /// A consent decision. `visitor` must already be a pseudonym ([`visitor_pseudonym`](crate::audit::visitor_pseudonym)).
    pub fn decision(
        project: &str,
        session: &str,
        visitor: Option<&str>,
        at: u64,
        decision: &Decision,
        beacon_seq: Option<u64>,
    ) -> Draft {
        Draft {
            visitor: visitor.map(str::to_string),
            decision: Some(if decision.store {
                Outcome::Stored
            } else {
                Outcome::Dropped
            }),
            reason: Some(decision.reason.clone()),
            policy_version: Some(decision.policy_version.clone()),
            signals: decision.signals.clone(),
            beacon_seq,
            ..Draft::base(project, session, at, Kind::Decision)
        }
    }

    /// An erasure of this session's recordings (`reason`: `session_erasure`,
    /// `visitor_erasure`, `retention`).
    pub fn erasure(
        project: &str,
        session: &str,
        visitor: Option<&str>,
        at: u64,
        reason: &str,
    ) -> Draft {
        Draft {
            visitor: visitor.map(str::to_string),
            reason: Some(reason.to_string()),
            ..Draft::base(project, session, at, Kind::Erasure)
        }
    }

    /// The session was finalised (`reason`: e.g. `idle`).
    pub fn finalize(project: &str, session: &str, at: u64, reason: &str) -> Draft {
        Draft {
            reason: Some(reason.to_string()),
            ..Draft::base(project, session, at, Kind::Finalize)
        }
    }

    /// An anchor record for anchor chain `shard`, pinning a session chain's head.
    pub fn anchor(project: &str, shard: u32, at: u64, anchored: AnchorRef) -> Draft {
        Draft {
            anchor: Some(anchored),
            ..Draft::base(project, &anchor_chain_id(shard), at, Kind::Anchor)
        }
    }

    /// An admin change: `action` (`create`, `replace`, `patch`, `rotate_read_token`, …), the
    /// top-level field names that changed (never their values) and the consent policy version
    /// now in force.
    pub fn admin(
        project: &str,
        at: u64,
        action: &str,
        fields: Vec<String>,
        policy_version: String,
    ) -> Draft {
        Draft {
            reason: Some(action.to_string()),
            signals: fields,
            policy_version: Some(policy_version),
            ..Draft::base(project, ADMIN_CHAIN, at, Kind::Admin)
        }
    }
}

/// A line of NDJSON that is not an audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NdjsonError {
    /// 1-based line number.
    pub line: usize,
    pub error: String,
}

impl fmt::Display for NdjsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.error)
    }
}

impl std::error::Error for NdjsonError {}

/// Parse NDJSON (one record per line; blank lines ignored).
pub fn parse_ndjson(text: &str) -> Result<Vec<AuditRecord>, NdjsonError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| AuditRecord::from_json(l).map_err(|error| NdjsonError { line: i + 1, error }))
        .collect()
}

/// Records as NDJSON, one per line, each line ending in `\n`.
pub fn to_ndjson<'a>(records: impl IntoIterator<Item = &'a AuditRecord>) -> String {
    let mut out = String::new();
    for r in records {
        out.push_str(&r.to_json());
        out.push('\n');
    }
    out
}
