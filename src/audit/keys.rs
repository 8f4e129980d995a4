//! Where audit data lives: the R2 key layout (per-record keys of session and anchor chains;
//! log segments and day rollups), the Durable Object names of the anchor, log, admin and
//! verify-job objects, and which shard a chain goes to. Every name here is outside what a
//! `{project}:{session}` object name can be (a `/` and no `:`), so no session id reaches one.

use sha2::{Digest, Sha256};

use super::chain::{ChainHead, ChainKind};
use super::days::parse_day;
use super::records::{anchor_chain_id, AuditRecord};

/// Number of anchor chains per project.
pub const ANCHOR_SHARDS: u32 = 16;

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

impl ChainHead {
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
}

/// Log objects per project. Each append is one object's turn, so this bounds a project's
/// audit write rate (each log does a few dozen appends a second; 1,000,000 sessions a month is
/// about one record a second), and `report` reads `days × LOG_SHARDS` rollups (≤ 802 for the
/// 400-day maximum).
pub const LOG_SHARDS: u32 = 2;

/// Which log a chain's records go to.
pub fn log_shard(chain: &str) -> u32 {
    let d = Sha256::digest(chain.as_bytes());
    u32::from(u16::from_be_bytes([d[2], d[3]])) % LOG_SHARDS
}

/// Durable Object name of log `shard` of `project`: `{project}/log/NN` (a `/` and no `:`,
/// which no `{project}:{session}` can take).
pub fn log_object_name(project: &str, shard: u32) -> String {
    format!("{project}/log/{shard:02}")
}

/// Durable Object name of `project`'s admin-change chain: in the `/` namespace.
pub fn admin_object_name(project: &str) -> String {
    format!("{project}/admin")
}

/// Durable Object name of a verify job.
pub fn verify_job_object_name(project: &str, job: &str) -> String {
    format!("{project}/verify/{job}")
}

pub fn days_prefix(project: &str) -> String {
    format!("audit/{project}/v2/days/")
}

pub fn segment_key(project: &str, day: &str, shard: u32, n: u64) -> String {
    format!("audit/{project}/v2/days/{day}/{shard:02}/{n:06}.ndjson")
}

pub fn rollups_prefix(project: &str) -> String {
    format!("audit/{project}/v2/rollups/")
}

pub fn rollup_key(project: &str, day: &str, shard: u32) -> String {
    format!("audit/{project}/v2/rollups/{day}/{shard:02}.json")
}

/// `(project, day, shard, n)` of a segment key.
pub fn parse_segment_key(key: &str) -> Option<(String, String, u32, u64)> {
    let rest = key.strip_prefix("audit/")?;
    let parts: Vec<&str> = rest.split('/').collect();
    let [p, "v2", "days", day, shard, file] = parts.as_slice() else {
        return None;
    };
    parse_day(day)?;
    let n = file.strip_suffix(".ndjson")?;
    if shard.len() != 2 || n.len() != 6 {
        return None;
    }
    let shard: u32 = shard.parse().ok().filter(|s| *s < LOG_SHARDS)?;
    Some((p.to_string(), day.to_string(), shard, n.parse().ok()?))
}

/// `(project, day, shard)` of a rollup key.
pub fn parse_rollup_key(key: &str) -> Option<(String, String, u32)> {
    let rest = key.strip_prefix("audit/")?;
    let parts: Vec<&str> = rest.split('/').collect();
    let [p, "v2", "rollups", day, file] = parts.as_slice() else {
        return None;
    };
    parse_day(day)?;
    let shard: u32 = file
        .strip_suffix(".json")?
        .parse()
        .ok()
        .filter(|s| *s < LOG_SHARDS)?;
    Some((p.to_string(), day.to_string(), shard))
}
