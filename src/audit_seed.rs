//! Test data for the audit scale test: a deterministic project audit of many
//! sessions over several days, built into v2 log segments and rollups exactly as the log
//! objects would write them, with optional planted damage (one edited record, one deleted,
//! one pair reordered) applied to the stored bytes afterwards, as an attacker with bucket
//! access would. Pure, so the test computes the expected records and report natively; the
//! `faults` build's seed route (`edge::seed_audit`) writes the objects.

use serde::{Deserialize, Serialize};

use crate::audit::log::{build_log_state, log_shard, LogWriter, LOG_SHARDS};
use crate::audit::{AuditRecord, ChainHead, Draft};
use crate::consent::{Decision, Reason};
use crate::time::DAY_MS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedSpec {
    pub project: String,
    /// Sessions of three records each (two decisions and a finalize).
    pub sessions: u64,
    pub days: u64,
    /// Start of the first day (ms).
    pub start_ms: u64,
    pub plant: bool,
}

/// Where damage was planted: (session, seq, segment key).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Planted {
    pub tampered: Option<(String, u64, String)>,
    pub deleted: Option<(String, u64, String)>,
    pub reordered: Option<(String, u64, String)>,
}

fn session_id(i: u64) -> String {
    format!("s_seed{i:010}")
}

/// Every record of the spec, in time order.
pub fn records(spec: &SeedSpec) -> Vec<AuditRecord> {
    let span = spec.days * DAY_MS - 60_000;
    let mut out = Vec::with_capacity(spec.sessions as usize * 3);
    for i in 0..spec.sessions {
        let s = session_id(i);
        // Sessions spread evenly; a session's records are a few ms apart, so its records
        // are adjacent in its log.
        let at = spec.start_ms + i * span / spec.sessions.max(1);
        let mut head = ChainHead::new(&spec.project, &s);
        let first = match i % 3 {
            0 => Reason::GrantedTcf,
            1 => Reason::Gpc,
            _ => Reason::OptOutCookie,
        };
        for (k, reason) in [first, Reason::Gpc].into_iter().enumerate() {
            let d = Decision::new(reason, vec!["gpc".into()], "seed-1".into());
            let draft = Draft::decision(&spec.project, &s, None, at + k as u64, &d, Some(k as u64));
            let (rec, next) = head.next(draft);
            out.push(rec);
            head = next;
        }
        let (rec, _) = head.next(Draft::finalize(&spec.project, &s, at + 5, "idle"));
        out.push(rec);
    }
    out
}

/// The stored objects `(key, body)` of the spec (damage planted if asked), each log's final
/// state (for its object, so `verify` has live heads), and where damage was planted.
pub fn objects(spec: &SeedSpec) -> (Vec<(String, String)>, Vec<LogWriter>, Planted) {
    let recs = records(spec);
    let mut objects = Vec::new();
    let mut writers = Vec::new();
    for shard in 0..LOG_SHARDS {
        let mine: Vec<AuditRecord> = recs
            .iter()
            .filter(|r| log_shard(&r.session) == shard)
            .cloned()
            .collect();
        let (objs, w) = build_log_state(&spec.project, shard, &mine);
        objects.extend(objs);
        if let Some(w) = w {
            writers.push(w);
        }
    }
    let mut planted = Planted::default();
    if spec.plant && spec.sessions >= 30 {
        let n = spec.sessions;
        planted.tampered = plant(&mut objects, &session_id(n / 5), |lines, i, _| {
            lines[i] = lines[i].replace("\"seed-1\"", "\"seed-2\"");
            Some(1)
        });
        planted.deleted = plant(&mut objects, &session_id(n / 2), |lines, i, _| {
            lines.remove(i);
            Some(1)
        });
        // Reorder seq 1 and 2 of a session whose two records share a segment.
        for k in (10..n / 2).map(|d| n - d) {
            let p = plant(&mut objects, &session_id(k), |lines, i, s| {
                let j = lines.iter().position(|l| is_record(l, s, 2))?;
                lines.swap(i, j);
                Some(2)
            });
            if p.is_some() {
                planted.reordered = p;
                break;
            }
        }
    }
    (objects, writers, planted)
}

fn is_record(line: &str, session: &str, seq: u64) -> bool {
    line.contains(&format!("\"session\":\"{session}\","))
        && line.contains(&format!("\"seq\":{seq},"))
}

/// Apply `f` to the lines of the segment holding record 1 of `session` (at line `i`);
/// `f` answers the seq verify will name.
fn plant(
    objects: &mut [(String, String)],
    session: &str,
    f: impl Fn(&mut Vec<String>, usize, &str) -> Option<u64>,
) -> Option<(String, u64, String)> {
    for (key, text) in objects.iter_mut() {
        if !key.ends_with(".ndjson") {
            continue;
        }
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let Some(i) = lines.iter().position(|l| is_record(l, session, 1)) else {
            continue;
        };
        let named = f(&mut lines, i, session)?;
        *text = lines.join("\n") + "\n";
        return Some((session.to_string(), named, key.clone()));
    }
    None
}
