//! Audit records and their SHA-256 hash chains (pure: the glue does the R2/DO I/O).
//!
//! One chain per session, owned by that session's Durable Object (which serialises writes
//! for its session). Records are stored in per-project log segments ([`crate::audit_log`],
//! format v2); the v1 layout below (one R2 object per record,
//! `audit/{project}/{yyyy-mm-dd}/{session}/{n:06}.json` under the UTC day of the chain's first
//! record) and its verification stay for v1 data and tests. Each record carries `prev` (the previous
//! record's hash; for record 0 the genesis `SHA-256("{project}:{session}")`) and
//! `hash = SHA-256(prev || canonical JSON of the record without hash)`, with `prev` taken as
//! its 64 lowercase hex characters. Editing, reordering or deleting a record breaks the chain
//! at that record.
//!
//! Deleting a *whole* chain is caught by anchors: when a session is finalised or erased its
//! DO appends a `finalize`/`erasure` record and then sends `{session, day, count, head}` to
//! one of [`ANCHOR_SHARDS`] per-project anchor chains (chosen by hash of the session id, so
//! no single object sees all of a project's traffic). [`verify_anchors`] checks every
//! anchored session still has exactly `count` records ending in `head`.
//!
//! Records hold no personal data: pseudonymous session id, a keyed pseudonym of the visitor
//! ([`visitor_pseudonym`]), reason codes, policy version and the *names* of signals seen.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::consent::{hex, Decision};

/// Format version of audit records.
pub const RECORD_VERSION: u32 = 1;
/// Number of anchor chains per project.
pub const ANCHOR_SHARDS: u32 = 16;
/// Most days [`days_in_range`] will list (a little over the 395-day retention maximum).
pub const MAX_RANGE_DAYS: u64 = 400;

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
    /// Keyed pseudonym of the visitor ([`visitor_pseudonym`]), never the raw id.
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

/// A record before it is chained: everything but `v`, `seq`, `prev` and `hash`.
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

    /// A consent decision. `visitor` must already be a pseudonym ([`visitor_pseudonym`]).
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
}

/// Chain id of a project's admin-change chain: shorter than any session id, so it cannot
/// collide with one; its records use the session-chain key layout.
pub const ADMIN_CHAIN: &str = "_admin";

impl Draft {
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

/// Seal a draft as record `seq` after `prev` (hex).
pub fn seal(draft: Draft, seq: u64, prev: &str) -> AuditRecord {
    let mut r = AuditRecord {
        v: RECORD_VERSION,
        project: draft.project,
        session: draft.session,
        visitor: draft.visitor,
        seq,
        at: draft.at,
        kind: draft.kind,
        decision: draft.decision,
        reason: draft.reason,
        policy_version: draft.policy_version,
        signals: draft.signals,
        beacon_seq: draft.beacon_seq,
        anchor: draft.anchor,
        prev: prev.to_string(),
        hash: String::new(),
    };
    r.hash = r.compute_hash();
    r
}

/// `hex(SHA-256("{project}:{chain}"))`: the `prev` of a chain's record 0.
pub fn genesis(project: &str, chain: &str) -> String {
    hex(&Sha256::digest(format!("{project}:{chain}").as_bytes()))
}

/// The state a chain's owner (the session DO, or an anchor DO) keeps: small and
/// serialisable. Use [`ChainHead::next`], write the record, and only then persist the
/// returned head, so that a failed write leaves no gap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub project: String,
    pub chain: String,
    /// Number of records written so far (the next record's `seq`).
    pub count: u64,
    /// Hash of the last record, or the genesis hash.
    pub head: String,
    /// UTC day of the first record, once there is one (the chain's R2 folder).
    pub first_day: Option<String>,
    /// Which kind of chain this is, set by its creator: never inferred from `chain`, so no
    /// session id can make a session chain write where an anchor chain does.
    #[serde(default)]
    pub kind: ChainKind,
}

/// A chain's kind: decides its R2 key layout and how `verify` treats it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum ChainKind {
    /// One session's decisions, finalisations and erasures.
    #[default]
    Session,
    /// Per-project anchor chain `shard` (one of [`ANCHOR_SHARDS`]).
    Anchor { shard: u32 },
}

impl ChainHead {
    /// A new session chain for session id `chain`.
    pub fn new(project: &str, chain: &str) -> ChainHead {
        ChainHead {
            project: project.to_string(),
            chain: chain.to_string(),
            count: 0,
            head: genesis(project, chain),
            first_day: None,
            kind: ChainKind::Session,
        }
    }

    /// A new anchor chain `shard` of `project`.
    pub fn new_anchor(project: &str, shard: u32) -> ChainHead {
        ChainHead {
            kind: ChainKind::Anchor { shard },
            ..ChainHead::new(project, &anchor_chain_id(shard))
        }
    }

    /// The next record (sealed) and the head after it. `draft.project`/`session` are
    /// overwritten with this chain's.
    pub fn next(&self, mut draft: Draft) -> (AuditRecord, ChainHead) {
        draft.project.clone_from(&self.project);
        draft.session.clone_from(&self.chain);
        let rec = seal(draft, self.count, &self.head);
        let next = ChainHead {
            project: self.project.clone(),
            chain: self.chain.clone(),
            count: self.count.saturating_add(1),
            head: rec.hash.clone(),
            first_day: Some(self.first_day.clone().unwrap_or_else(|| rec.day())),
            kind: self.kind,
        };
        (rec, next)
    }

    /// R2 key of a record of this chain (session chains use `first_day`; anchor chains
    /// their own layout).
    pub fn key_for(&self, rec: &AuditRecord, next: &ChainHead) -> String {
        match self.kind {
            ChainKind::Anchor { shard } => anchor_key(&self.project, shard, rec.seq),
            ChainKind::Session => record_key(
                &self.project,
                next.first_day.as_deref().unwrap_or("1970-01-01"),
                &self.chain,
                rec.seq,
            ),
        }
    }

    /// What an anchor pins for this chain.
    pub fn anchor_ref(&self) -> AnchorRef {
        AnchorRef {
            session: self.chain.clone(),
            day: self.first_day.clone().unwrap_or_default(),
            count: self.count,
            head: self.head.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------

/// `audit/{project}/{day}/{session}/{n:06}.json`
pub fn record_key(project: &str, first_day: &str, session: &str, n: u64) -> String {
    format!("audit/{project}/{first_day}/{session}/{n:06}.json")
}

/// `audit/{project}/{day}/{session}/`: all records of one session chain.
pub fn session_prefix(project: &str, first_day: &str, session: &str) -> String {
    format!("audit/{project}/{first_day}/{session}/")
}

/// `audit/{project}/{day}/`: every session chain that started that day.
pub fn day_prefix(project: &str, day: &str) -> String {
    format!("audit/{project}/{day}/")
}

/// `audit/{project}/_anchors/{shard:02}/{n:08}.json`
pub fn anchor_key(project: &str, shard: u32, n: u64) -> String {
    format!("audit/{project}/_anchors/{shard:02}/{n:08}.json")
}

/// `audit/{project}/_anchors/`
pub fn anchors_prefix(project: &str) -> String {
    format!("audit/{project}/_anchors/")
}

/// Chain id of anchor chain `shard`: `anchor/NN`. The `/` is outside the session id
/// alphabet `[A-Za-z0-9_-]`, so no session id equals it.
pub fn anchor_chain_id(shard: u32) -> String {
    format!("anchor/{shard:02}")
}

/// Durable Object name of anchor chain `shard` of `project`: `{project}/anchor/NN`. Session
/// objects are named `{project}:{session}`; a name with no `:` and a `/` is reachable by no
/// session id (nor project key, both of which are `[A-Za-z0-9_-]`).
pub fn anchor_object_name(project: &str, shard: u32) -> String {
    format!("{project}/anchor/{shard:02}")
}

/// Which anchor chain a session's anchor goes to.
pub fn anchor_shard(session: &str) -> u32 {
    let d = Sha256::digest(session.as_bytes());
    u32::from(u16::from_be_bytes([d[0], d[1]])) % ANCHOR_SHARDS
}

/// Parts of a record key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyParts {
    pub project: String,
    /// `None` for anchor keys.
    pub day: Option<String>,
    /// Session id, or the anchor chain id.
    pub chain: String,
    /// From the key's layout (`_anchors/NN/` or a day folder), not from the chain id.
    pub kind: ChainKind,
    pub n: u64,
}

/// Parse a key made by [`record_key`] or [`anchor_key`].
pub fn parse_key(key: &str) -> Option<KeyParts> {
    let rest = key.strip_prefix("audit/")?;
    let parts: Vec<&str> = rest.split('/').collect();
    let (project, a, b, file) = match parts.as_slice() {
        [p, a, b, f] => (*p, *a, *b, *f),
        _ => return None,
    };
    let n: u64 = file.strip_suffix(".json")?.parse().ok()?;
    if a == "_anchors" {
        let shard: u32 = b.parse().ok()?;
        return Some(KeyParts {
            project: project.into(),
            day: None,
            chain: anchor_chain_id(shard),
            kind: ChainKind::Anchor { shard },
            n,
        });
    }
    parse_day(a)?;
    Some(KeyParts {
        project: project.into(),
        day: Some(a.into()),
        chain: b.into(),
        kind: ChainKind::Session,
        n,
    })
}

// ---------------------------------------------------------------------------------------
// Dates (UTC, proleptic Gregorian; no chrono)
// ---------------------------------------------------------------------------------------

const MS_PER_DAY: u64 = 86_400_000;

/// Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `yyyy-mm-dd` (UTC) of a time in ms since the epoch.
pub fn day_from_millis(ms: u64) -> String {
    let (y, m, d) = civil_from_days((ms / MS_PER_DAY) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since the epoch of a `yyyy-mm-dd` date; `None` unless it is a real date ≥ 1970.
pub fn parse_day(day: &str) -> Option<u64> {
    let b = day.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |s: &str| -> Option<u32> {
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (y, m, d) = (num(&day[0..4])?, num(&day[5..7])?, num(&day[8..10])?);
    if !(1..=12).contains(&m) || d == 0 || d > 31 {
        return None;
    }
    let days = days_from_civil(i64::from(y), m, d);
    // Reject 2026-02-30 and friends: the round trip must give the same date.
    if days < 0 || civil_from_days(days) != (i64::from(y), m, d) {
        return None;
    }
    Some(days as u64)
}

/// Start of a UTC day in ms since the epoch.
pub fn day_start_millis(day: &str) -> Option<u64> {
    parse_day(day).map(|d| d * MS_PER_DAY)
}

/// Every UTC day from the day of `from_ms` to the day of `to_ms` inclusive, at most
/// [`MAX_RANGE_DAYS`] (the glue lists one R2 prefix per day).
pub fn days_in_range(from_ms: u64, to_ms: u64) -> Vec<String> {
    if to_ms < from_ms {
        return Vec::new();
    }
    let first = from_ms / MS_PER_DAY;
    let last = (to_ms / MS_PER_DAY).min(first + MAX_RANGE_DAYS - 1);
    (first..=last)
        .map(|d| day_from_millis(d * MS_PER_DAY))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Pseudonyms
// ---------------------------------------------------------------------------------------

fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(msg);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// Keyed pseudonym of a visitor id for audit records: `v_` + 32 hex of
/// HMAC-SHA256(key, "{project}:{visitor}"). With a secret key (a worker secret), records
/// cannot be linked back to the visitor id without it; the same visitor maps to the same
/// pseudonym, so visitor erasure can be audited and found.
pub fn visitor_pseudonym(key: &[u8], project: &str, visitor: &str) -> String {
    let mac = hmac_sha256(key, format!("{project}:{visitor}").as_bytes());
    format!("v_{}", &hex(&mac)[..32])
}

// ---------------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------------

/// Why a chain is broken at a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// The object is not a valid audit record (or has unknown/duplicate fields).
    Unparseable { error: String },
    /// The key is not an audit key, or does not match the record.
    BadKey { expected: Option<String> },
    /// The record belongs to another project or chain.
    WrongChain { project: String, session: String },
    /// Record numbers skip (a record was deleted) or repeat.
    Gap { expected_seq: u64, found_seq: u64 },
    /// `prev` does not link to the previous record (or genesis).
    PrevMismatch { expected: String, found: String },
    /// The record was edited: its hash does not match its content.
    HashMismatch { expected: String, found: String },
    /// Fewer records than an anchor or the chain owner says there are (tail deleted).
    Truncated {
        expected_count: u64,
        found_count: u64,
    },
    /// The last hash differs from what an anchor or the chain owner says.
    HeadMismatch { expected: String, found: String },
    /// An anchored chain has no records at all (deleted whole).
    Missing,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", serde_json::to_string(self).unwrap_or_default())
    }
}

/// The first broken record of a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Broken {
    /// Position in the (key-sorted) list of objects.
    pub index: usize,
    pub key: String,
    #[serde(flatten)]
    pub problem: Problem,
}

/// Result of verifying one chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    pub project: String,
    pub chain: String,
    pub ok: bool,
    /// Records verified before the first break (all of them when `ok`).
    pub records: u64,
    /// Hash of the last good record (genesis for an empty chain).
    pub head: String,
    pub first_broken: Option<Broken>,
}

/// Verify one chain from its stored objects `(key, body)`, in any order. Checks every key
/// parses and matches its record, numbering is 0,1,2… without gaps, project and chain
/// match, each `prev` links, each hash matches its content, and session chains live under
/// the day of their first record.
pub fn verify_chain(project: &str, chain: &str, objects: &[(String, String)]) -> ChainReport {
    let mut items: Vec<(Option<u64>, &String, &String)> = objects
        .iter()
        .map(|(k, b)| (parse_key(k).map(|p| p.n), k, b))
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));

    let mut report = ChainReport {
        project: project.to_string(),
        chain: chain.to_string(),
        ok: true,
        records: 0,
        head: genesis(project, chain),
        first_broken: None,
    };
    let mut first_day: Option<String> = None;
    for (index, (_, key, body)) in items.into_iter().enumerate() {
        let fail = |problem| Broken {
            index,
            key: key.clone(),
            problem,
        };
        let problem = check_record(
            project,
            chain,
            index as u64,
            &report.head,
            &mut first_day,
            key,
            body,
        );
        match problem {
            Ok(hash) => {
                report.records += 1;
                report.head = hash;
            }
            Err(p) => {
                report.ok = false;
                report.first_broken = Some(fail(p));
                break;
            }
        }
    }
    report
}

fn check_record(
    project: &str,
    chain: &str,
    expected_seq: u64,
    prev: &str,
    first_day: &mut Option<String>,
    key: &str,
    body: &str,
) -> Result<String, Problem> {
    let Some(parts) = parse_key(key) else {
        return Err(Problem::BadKey { expected: None });
    };
    let rec = AuditRecord::from_json(body).map_err(|error| Problem::Unparseable { error })?;
    if rec.v != RECORD_VERSION {
        return Err(Problem::Unparseable {
            error: format!("unsupported record version {}", rec.v),
        });
    }
    if rec.project != project
        || rec.session != chain
        || parts.project != project
        || parts.chain != chain
    {
        return Err(Problem::WrongChain {
            project: rec.project,
            session: rec.session,
        });
    }
    if rec.seq != expected_seq || parts.n != expected_seq {
        let found_seq = if rec.seq != expected_seq {
            rec.seq
        } else {
            parts.n
        };
        return Err(Problem::Gap {
            expected_seq,
            found_seq,
        });
    }
    if rec.prev != prev {
        return Err(Problem::PrevMismatch {
            expected: prev.to_string(),
            found: rec.prev,
        });
    }
    let hash = rec.compute_hash();
    if rec.hash != hash {
        return Err(Problem::HashMismatch {
            expected: hash,
            found: rec.hash,
        });
    }
    let day = first_day.get_or_insert_with(|| rec.day()).clone();
    let expected_key = match parts.kind {
        ChainKind::Anchor { shard } => anchor_key(project, shard, rec.seq),
        ChainKind::Session => record_key(project, &day, chain, rec.seq),
    };
    if key != expected_key {
        return Err(Problem::BadKey {
            expected: Some(expected_key),
        });
    }
    Ok(hash)
}

/// Compare a verified chain against what its owner or an anchor says it should be
/// (count and head). Returns the problem, if any.
pub fn check_against(
    report: &ChainReport,
    expected_count: u64,
    expected_head: &str,
) -> Option<Problem> {
    if !report.ok {
        return report.first_broken.as_ref().map(|b| b.problem.clone());
    }
    if report.records == 0 && expected_count > 0 {
        return Some(Problem::Missing);
    }
    if report.records < expected_count {
        return Some(Problem::Truncated {
            expected_count,
            found_count: report.records,
        });
    }
    if report.records == expected_count && report.head != expected_head {
        return Some(Problem::HeadMismatch {
            expected: expected_head.to_string(),
            found: report.head.clone(),
        });
    }
    // More records than anchored: the session went on after finalisation; a later anchor
    // covers the rest. The anchored prefix must still match, which the caller can check
    // with the record at `expected_count - 1`.
    None
}

/// A problem found by [`verify_anchors`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnchorProblem {
    pub session: String,
    pub day: String,
    #[serde(flatten)]
    pub problem: Problem,
}

/// Check every anchored session against its verified chain. `anchors`: the records of the
/// (already verified) anchor chains; `chains`: verified session chains by session id. For a
/// session anchored several times the largest count is used, and `hash_at(session, n)`
/// gives the hash of record `n` of a chain so that a chain that grew after its anchor can
/// still be checked at the anchored position.
pub fn verify_anchors(
    anchors: &[AuditRecord],
    chains: &BTreeMap<String, ChainReport>,
    hash_at: &dyn Fn(&str, u64) -> Option<String>,
) -> Vec<AnchorProblem> {
    let mut latest: BTreeMap<&str, &AnchorRef> = BTreeMap::new();
    for a in anchors.iter().filter_map(|r| r.anchor.as_ref()) {
        let e = latest.entry(a.session.as_str()).or_insert(a);
        if a.count > e.count {
            *e = a;
        }
    }
    let mut out = Vec::new();
    for (session, a) in latest {
        let problem = match chains.get(session) {
            None => Some(Problem::Missing),
            Some(report) => match check_against(report, a.count, &a.head) {
                None if report.records > a.count && a.count > 0 => {
                    match hash_at(session, a.count - 1) {
                        Some(h) if h == a.head => None,
                        found => Some(Problem::HeadMismatch {
                            expected: a.head.clone(),
                            found: found.unwrap_or_default(),
                        }),
                    }
                }
                other => other,
            },
        };
        if let Some(problem) = problem {
            out.push(AnchorProblem {
                session: session.to_string(),
                day: a.day.clone(),
                problem,
            });
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// NDJSON and reports
// ---------------------------------------------------------------------------------------

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

/// Records with `from_ms <= at < to_ms`, sorted by time, then project, chain and seq.
pub fn in_range<'a>(
    records: impl IntoIterator<Item = &'a AuditRecord>,
    from_ms: u64,
    to_ms: u64,
) -> Vec<&'a AuditRecord> {
    let mut v: Vec<&AuditRecord> = records
        .into_iter()
        .filter(|r| r.at >= from_ms && r.at < to_ms)
        .collect();
    v.sort_by(|a, b| {
        (a.at, &a.project, &a.session, a.seq).cmp(&(b.at, &b.project, &b.session, b.seq))
    });
    v
}

/// Counts for one reason on one day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub stored: u64,
    pub dropped: u64,
}

/// One UTC day of the report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayReport {
    pub day: String,
    /// Decision records by outcome.
    pub stored: u64,
    pub dropped: u64,
    /// Decision records by reason code, split by outcome.
    pub reasons: BTreeMap<String, Counts>,
    /// Other record kinds (`erasure`, `finalize`, `anchor`) by kind.
    pub other: BTreeMap<String, u64>,
}

/// Counts of audit records per UTC day: decisions by outcome and reason, other kinds by
/// kind. Days ascending.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub days: Vec<DayReport>,
}

pub fn daily_report<'a>(records: impl IntoIterator<Item = &'a AuditRecord>) -> Report {
    let mut days: BTreeMap<String, DayReport> = BTreeMap::new();
    for r in records {
        let day = r.day();
        let d = days.entry(day.clone()).or_insert_with(|| DayReport {
            day,
            ..DayReport::default()
        });
        match (r.kind, r.decision) {
            (Kind::Decision, Some(outcome)) => {
                let c = d
                    .reasons
                    .entry(r.reason.clone().unwrap_or_else(|| "unknown".into()))
                    .or_default();
                match outcome {
                    Outcome::Stored => {
                        d.stored += 1;
                        c.stored += 1;
                    }
                    Outcome::Dropped => {
                        d.dropped += 1;
                        c.dropped += 1;
                    }
                }
            }
            (kind, _) => *d.other.entry(kind.as_str().to_string()).or_default() += 1,
        }
    }
    Report {
        days: days.into_values().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn hmac_long_key_rfc4231_case_6() {
        let key = [0xaau8; 131];
        let mac = hmac_sha256(
            &key,
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        );
        assert_eq!(
            hex(&mac),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Whole-project verification
// ---------------------------------------------------------------------------------------

/// The first broken record of one chain, named by chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainBreak {
    pub chain: String,
    #[serde(flatten)]
    pub broken: Broken,
}

/// Result of verifying every chain of a project, and the session chains against the anchors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectVerification {
    pub ok: bool,
    pub chains: usize,
    pub records: u64,
    /// The first broken record of each broken chain (sorted by chain).
    pub broken: Vec<ChainBreak>,
    /// Whole or partial chains missing compared with their anchors.
    pub anchor_problems: Vec<AnchorProblem>,
    /// Objects under the audit prefix whose key is not an audit key.
    pub stray_keys: Vec<String>,
}

/// Verify all audit objects `(key, body)` of `project`: group them by chain, verify each
/// chain, then check the session chains against the anchor chains.
pub fn verify_project(project: &str, objects: &[(String, String)]) -> ProjectVerification {
    let mut by_chain: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut anchor_chains = std::collections::BTreeSet::new();
    let mut stray_keys = Vec::new();
    for (k, b) in objects {
        match parse_key(k) {
            Some(p) if p.project == project => {
                if matches!(p.kind, ChainKind::Anchor { .. }) {
                    anchor_chains.insert(p.chain.clone());
                }
                by_chain
                    .entry(p.chain)
                    .or_default()
                    .push((k.clone(), b.clone()))
            }
            _ => stray_keys.push(k.clone()),
        }
    }
    let mut reports = BTreeMap::new();
    let mut anchors = Vec::new();
    let mut broken = Vec::new();
    let mut records = 0;
    for (chain, objs) in &by_chain {
        let report = verify_chain(project, chain, objs);
        records += report.records;
        if let Some(b) = &report.first_broken {
            broken.push(ChainBreak {
                chain: chain.clone(),
                broken: b.clone(),
            });
        }
        if anchor_chains.contains(chain) {
            anchors.extend(
                objs.iter()
                    .filter_map(|(_, body)| AuditRecord::from_json(body).ok()),
            );
        } else {
            reports.insert(chain.clone(), report);
        }
    }
    let hash_at = |session: &str, n: u64| -> Option<String> {
        by_chain.get(session)?.iter().find_map(|(k, body)| {
            (parse_key(k)?.n == n)
                .then(|| AuditRecord::from_json(body).ok().map(|r| r.hash))
                .flatten()
        })
    };
    let anchor_problems = verify_anchors(&anchors, &reports, &hash_at);
    ProjectVerification {
        ok: broken.is_empty() && anchor_problems.is_empty() && stray_keys.is_empty(),
        chains: by_chain.len(),
        records,
        broken,
        anchor_problems,
        stray_keys,
    }
}

#[cfg(test)]
mod project_verification_tests {
    use super::*;

    fn chain(
        project: &str,
        session: &str,
        n: usize,
        at: u64,
    ) -> (Vec<(String, String)>, ChainHead) {
        let mut head = ChainHead::new(project, session);
        let mut objs = Vec::new();
        for i in 0..n {
            let (rec, next) = head.next(Draft::finalize(project, session, at + i as u64, "idle"));
            objs.push((head.key_for(&rec, &next), rec.to_json()));
            head = next;
        }
        (objs, head)
    }

    #[test]
    fn intact_project_verifies_and_tampering_is_named() {
        let (mut objs, head_a) = chain("p", "s_aaaaaaaa", 3, 1_795_392_000_000);
        let (b, _) = chain("p", "s_bbbbbbbb", 2, 1_795_392_000_000);
        objs.extend(b);
        let shard = anchor_shard("s_aaaaaaaa");
        let mut anchor = ChainHead::new_anchor("p", shard);
        let (rec, next) = anchor.next(Draft::anchor(
            "p",
            shard,
            1_795_392_000_100,
            head_a.anchor_ref(),
        ));
        objs.push((anchor.key_for(&rec, &next), rec.to_json()));
        anchor = next;
        let _ = anchor;
        let v = verify_project("p", &objs);
        assert!(v.ok, "{v:?}");
        assert_eq!((v.chains, v.records), (3, 6));

        // Edit one record: that record is named.
        let mut edited = objs.clone();
        edited[1].1 = edited[1].1.replace("\"idle\"", "\"gone\"");
        let v = verify_project("p", &edited);
        assert!(!v.ok);
        assert_eq!(v.broken[0].chain, "s_aaaaaaaa");
        assert_eq!(v.broken[0].broken.key, objs[1].0);

        // Delete a whole anchored chain: the anchor notices.
        let without: Vec<_> = objs
            .iter()
            .filter(|(k, _)| !k.contains("s_aaaaaaaa"))
            .cloned()
            .collect();
        let v = verify_project("p", &without);
        assert!(!v.ok);
        assert_eq!(v.anchor_problems[0].session, "s_aaaaaaaa");
        assert_eq!(v.anchor_problems[0].problem, Problem::Missing);
    }
}
