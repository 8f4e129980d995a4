//! Audit storage v2: log segments, rollups, the stepwise verifier and list cursors.

use std::collections::BTreeMap;

use veilgate::audit::{daily_report, AuditRecord, ChainHead, Draft};
use veilgate::audit_log::{
    build_log, log_shard, merge_reports, parse_segment_key, split_segment, Cursor, LiveHead,
    LogWriter, Verifier, LOG_SHARDS, SEGMENT_RECORDS,
};
use veilgate::consent::{Decision, Reason};

const P: &str = "demo";
const T0: u64 = 1_793_491_200_000; // 2026-11-01T00:00:00Z
const DAY: u64 = 86_400_000;

/// `sessions` chains of three records each (decision, decision, finalize), spread over
/// `days` days, in time order.
fn records(sessions: usize, days: u64) -> Vec<AuditRecord> {
    let mut out = Vec::new();
    for i in 0..sessions {
        let s = format!("s_{i:08}");
        let at = T0 + (i as u64 * days * DAY) / sessions as u64;
        let mut head = ChainHead::new(P, &s);
        let reasons = [Reason::GrantedTcf, Reason::Gpc];
        for (k, r) in reasons.iter().enumerate() {
            let d = Decision::new(*r, vec![], "1".into());
            let (rec, next) = head.next(Draft::decision(P, &s, None, at + k as u64, &d, Some(0)));
            out.push(rec);
            head = next;
        }
        let (rec, _) = head.next(Draft::finalize(P, &s, at + 10, "idle"));
        out.push(rec);
    }
    out.sort_by_key(|r| r.at);
    out
}

/// What the log objects write appending `recs` one at a time (the last write of each key).
fn write_all(recs: &[AuditRecord]) -> (BTreeMap<String, String>, Vec<LiveHead>) {
    let mut writers: BTreeMap<u32, LogWriter> = BTreeMap::new();
    let mut objects = BTreeMap::new();
    for r in recs {
        let shard = log_shard(&r.session);
        let w = writers
            .entry(shard)
            .or_insert_with(|| LogWriter::new(P, shard));
        let (next, write) = w.append(r);
        objects.insert(write.segment_key, write.segment);
        objects.insert(write.rollup_key, write.rollup);
        *w = next;
    }
    let live = writers.values().map(LogWriter::live_head).collect();
    (objects, live)
}

fn verify(
    objects: &BTreeMap<String, String>,
    live: &[LiveHead],
    first: &str,
    last: &str,
) -> serde_json::Value {
    let mut v = Verifier::new(P, first, last);
    let mut day: Option<String> = None;
    let rollups = |objects: &BTreeMap<String, String>, d: &str| -> Vec<(u32, Option<String>)> {
        (0..LOG_SHARDS)
            .map(|s| {
                (
                    s,
                    objects
                        .get(&veilgate::audit_log::rollup_key(P, d, s))
                        .cloned(),
                )
            })
            .collect()
    };
    for (k, text) in objects {
        let Some((_, d, _, _)) = parse_segment_key(k) else {
            continue;
        };
        if day.as_deref() != Some(d.as_str()) {
            if let Some(prev) = day.take() {
                v.feed_rollups(&prev, &rollups(objects, &prev));
            }
            day = Some(d.clone());
        }
        v.feed_segment(k, text);
    }
    if let Some(prev) = day {
        v.feed_rollups(&prev, &rollups(objects, &prev));
    }
    serde_json::to_value(v.finish(live)).unwrap()
}

#[test]
fn appended_records_verify_and_the_rollups_count_them() {
    let recs = records(400, 3);
    let (objects, live) = write_all(&recs);
    let v = verify(&objects, &live, "2026-11-01", "2026-11-04");
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["records"], recs.len() as u64);
    assert_eq!(v["chains"], 400);
    // More than one segment per log per day, three days.
    let segments = objects.keys().filter(|k| k.ends_with(".ndjson")).count();
    assert!(segments >= 3 * LOG_SHARDS as usize + 2, "{segments}");
    for (k, t) in &objects {
        if k.ends_with(".ndjson") {
            let (h, lines) = split_segment(t).unwrap();
            assert!(lines.len() <= SEGMENT_RECORDS);
            assert_eq!(h.records as usize, lines.len());
        }
    }
    // The report from rollups equals the report over every record.
    let parts: Vec<_> = objects
        .iter()
        .filter(|(k, _)| k.contains("/rollups/"))
        .flat_map(|(_, t)| {
            serde_json::from_str::<veilgate::audit_log::Rollup>(t)
                .unwrap()
                .days
        })
        .collect();
    assert_eq!(
        merge_reports(&parts, "2026-11-01", "2026-11-04"),
        daily_report(&recs).days
    );
    // Building the log in one go gives the same objects as appending one by one.
    let mut built = BTreeMap::new();
    for s in 0..LOG_SHARDS {
        let mine: Vec<_> = recs
            .iter()
            .filter(|r| log_shard(&r.session) == s)
            .cloned()
            .collect();
        built.extend(build_log(P, s, &mine));
    }
    assert_eq!(built, objects);
}

fn find_line(objects: &BTreeMap<String, String>, session: &str, seq: u64) -> (String, usize) {
    for (k, t) in objects {
        if !k.ends_with(".ndjson") {
            continue;
        }
        for (i, l) in t.lines().enumerate() {
            if l.contains(&format!("\"session\":\"{session}\""))
                && l.contains(&format!("\"seq\":{seq},"))
            {
                return (k.clone(), i);
            }
        }
    }
    panic!("no record {session}/{seq}");
}

fn edit(objects: &mut BTreeMap<String, String>, key: &str, f: impl FnOnce(&mut Vec<String>)) {
    let mut lines: Vec<String> = objects[key].lines().map(str::to_string).collect();
    f(&mut lines);
    objects.insert(key.to_string(), lines.join("\n") + "\n");
}

fn problems(v: &serde_json::Value) -> Vec<(String, String)> {
    v["broken"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["chain"].as_str().unwrap().to_string(),
                b["problem"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_tampered_deleted_or_reordered_record_is_named() {
    let recs = records(300, 3);
    let (clean, live) = write_all(&recs);

    let mut tampered = clean.clone();
    let (k, i) = find_line(&tampered, "s_00000100", 1);
    edit(&mut tampered, &k, |l| {
        l[i] = l[i].replace("\"gpc\"", "\"gpd\"")
    });
    let v = verify(&tampered, &live, "2026-11-01", "2026-11-04");
    assert_eq!(v["ok"], false);
    assert!(
        problems(&v).contains(&("s_00000100".into(), "hash_mismatch".into())),
        "{v}"
    );
    assert_eq!(v["broken"][0]["key"], k.as_str());
    assert_eq!(v["broken"][0]["index"], i);

    let mut deleted = clean.clone();
    let (k, i) = find_line(&deleted, "s_00000200", 1);
    edit(&mut deleted, &k, |l| {
        l.remove(i);
    });
    let v = verify(&deleted, &live, "2026-11-01", "2026-11-04");
    assert_eq!(v["ok"], false);
    assert!(
        problems(&v).contains(&("s_00000200".into(), "gap".into())),
        "{v}"
    );
    let shard = format!("log/{:02}", log_shard("s_00000200"));
    assert!(
        problems(&v).contains(&(shard.clone(), "truncated".into())),
        "{v}"
    );

    let mut reordered = clean.clone();
    let (k, i) = find_line(&reordered, "s_00000050", 1);
    let (k2, j) = find_line(&reordered, "s_00000050", 2);
    assert_eq!(k, k2, "a chain's records in one segment");
    edit(&mut reordered, &k, |l| l.swap(i, j));
    let v = verify(&reordered, &live, "2026-11-01", "2026-11-04");
    assert!(
        problems(&v).contains(&("s_00000050".into(), "gap".into())),
        "{v}"
    );
    let shard = format!("log/{:02}", log_shard("s_00000050"));
    assert!(
        problems(&v).contains(&(shard, "head_mismatch".into())),
        "{v}"
    );

    // The newest segment of a log deleted (with its rollup edited to match): the live
    // head still names it.
    let mut cut = clean.clone();
    let last = cut
        .keys()
        .rfind(|k| k.ends_with(".ndjson") && k.contains("/00/"))
        .unwrap()
        .clone();
    cut.remove(&last);
    let v = verify(&cut, &live, "2026-11-01", "2026-11-04");
    assert_eq!(v["ok"], false, "{v}");
    assert!(problems(&v).iter().any(|(c, _)| c == "log/00"), "{v}");
}

#[test]
fn a_retried_seq_replaces_its_unacknowledged_record() {
    let recs = records(2, 1);
    let mut w = LogWriter::new(P, log_shard(&recs[0].session));
    let (next, _) = w.append(&recs[0]);
    w = next;
    let mut again = recs[0].clone();
    again.at += 5;
    again.hash = again.compute_hash();
    let (next, write) = w.append(&again);
    let (h, lines) = split_segment(&write.segment).unwrap();
    assert_eq!((h.records, lines.len()), (1, 1));
    assert!(lines[0].contains(&again.hash));
    assert_eq!(next.live_head().head, write.head.head);
}

#[test]
fn cursors_round_trip_and_reject_junk() {
    let c = Cursor {
        day: "2026-11-01".into(),
        shard: 1,
        n: 12,
        line: 40,
    };
    assert_eq!(Cursor::decode(&c.encode()), Some(c.clone()));
    assert_eq!(c.key(P), "audit/demo/v2/days/2026-11-01/01/000012.ndjson");
    for bad in [
        "",
        "2026-11-01.1.2",
        "2026-13-01.0.0.0",
        "2026-11-01.9.0.0",
        "2026-11-01.0.-1.0",
        "x.0.0.0",
    ] {
        assert_eq!(Cursor::decode(bad), None, "{bad}");
    }
}

#[test]
fn a_chain_spanning_days_is_filed_under_each_record_s_own_day() {
    // Issue 17: the admin chain's later changes must be found by a range of their own day.
    let mut head = ChainHead::new(P, veilgate::audit::ADMIN_CHAIN);
    let mut w = LogWriter::new(P, log_shard(veilgate::audit::ADMIN_CHAIN));
    let mut keys = Vec::new();
    for (i, at) in [T0 + 1_000, T0 + 3 * DAY + 5].into_iter().enumerate() {
        let (rec, next) = head.next(Draft::admin(
            P,
            at,
            "patch",
            vec![format!("f{i}")],
            "1".into(),
        ));
        head = next;
        let (nw, write) = w.append(&rec);
        w = nw;
        keys.push(write.segment_key.clone());
    }
    assert!(keys[0].contains("/2026-11-01/"), "{keys:?}");
    assert!(keys[1].contains("/2026-11-04/"), "{keys:?}");
    // The new day's segment starts at n = 0 and links to the first day's head.
    assert_eq!(w.n, 0);
    assert_ne!(w.seg_prev, veilgate::audit_log::log_genesis(P, w.shard));
}
