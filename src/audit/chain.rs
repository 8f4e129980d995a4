//! The hash chains. A record carries `prev` (the previous record's hash; for record 0 the
//! genesis `SHA-256("{project}:{chain}")`) and `hash = SHA-256(prev || canonical body)`, with
//! `prev` taken as its 64 lowercase hex characters, so editing, reordering or deleting a
//! record breaks its chain at that record. One chain per session (owned by that session's
//! Durable Object, which serialises its writes), one per anchor shard, one for admin changes;
//! [`ChainHead`] is what a chain's owner keeps between records. The per-project log that
//! stores records chains their hashes again ([`log_step`]), so a deleted record or whole
//! session chain also breaks the log.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::records::{anchor_chain_id, AnchorRef, AuditRecord, Draft, RECORD_VERSION};
use crate::encoding::hex;

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

/// The log head before a log's first record.
pub fn log_genesis(project: &str, shard: u32) -> String {
    genesis(project, &format!("log/{shard:02}"))
}

/// The log head after a record with hash `record_hash`.
pub fn log_step(prev: &str, record_hash: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(record_hash.as_bytes());
    hex(&h.finalize())
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
    /// Per-project anchor chain `shard` (one of [`ANCHOR_SHARDS`](crate::audit::ANCHOR_SHARDS)).
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
