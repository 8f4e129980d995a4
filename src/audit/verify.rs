//! Verification of per-record chains (one R2 object per record): a chain's objects in any
//! order, a whole project, and session chains against the anchors that pinned their heads.
//! What verification of the stored log reads is `log::verifier`; this stays for data in
//! this layout and for tests.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use super::chain::{genesis, ChainKind};
use super::keys::{anchor_key, parse_key, record_key};
use super::records::{AnchorRef, AuditRecord, RECORD_VERSION};

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
    let mut anchor_chains = BTreeSet::new();
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
    use crate::audit::{anchor_shard, ChainHead, Draft};

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
