//! Audit storage v2: log segments, rollups, the stepwise verifier and list cursors.

use std::collections::BTreeMap;

use veilgate::audit::log::{
    build_log, log_shard, merge_reports, parse_segment_key, split_segment, Cursor, LiveHead,
    LogHead, LogWrite, LogWriter, Rebuilt, Verifier, LOG_SHARDS, SEGMENT_RECORDS,
};
use veilgate::audit::{daily_report, AuditRecord, ChainHead, Draft};
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

fn rollups_in(objects: &BTreeMap<String, String>, d: &str) -> Vec<(u32, Option<String>)> {
    (0..LOG_SHARDS)
        .map(|s| {
            (
                s,
                objects
                    .get(&veilgate::audit::log::rollup_key(P, d, s))
                    .cloned(),
            )
        })
        .collect()
}

/// Days of the segments in `objects`, in order.
fn segment_days_in(objects: &BTreeMap<String, String>) -> Vec<String> {
    let mut days: Vec<String> = objects
        .keys()
        .filter_map(|k| parse_segment_key(k).map(|p| p.1))
        .collect();
    days.dedup();
    days
}

/// Verify in the job's order: the live heads and each day's rollups (from `pins`, what was
/// read when they were) pinned before the segments (from `objects`, read later).
fn verify_pinned(
    pins: &BTreeMap<String, String>,
    live: &[LiveHead],
    objects: &BTreeMap<String, String>,
    first: &str,
    last: &str,
) -> serde_json::Value {
    let mut v = Verifier::new(P, first, last);
    assert!(v.pin_live(live).is_empty());
    for d in segment_days_in(objects) {
        v.pin_day(&d, &rollups_in(pins, &d));
        for (k, text) in objects {
            if parse_segment_key(k).is_some_and(|p| p.1 == d) {
                v.feed_segment(k, text);
            }
        }
        v.end_day(&d);
    }
    serde_json::to_value(v.finish(&[])).unwrap()
}

fn verify(
    objects: &BTreeMap<String, String>,
    live: &[LiveHead],
    first: &str,
    last: &str,
) -> serde_json::Value {
    let pinned = verify_pinned(objects, live, objects, first, last);
    // Rollups and live heads read after the segments (seed data) give the same answer when
    // nothing is appended in between.
    let mut v = Verifier::new(P, first, last);
    for d in segment_days_in(objects) {
        for (k, text) in objects {
            if parse_segment_key(k).is_some_and(|p| p.1 == d) {
                v.feed_segment(k, text);
            }
        }
        v.feed_rollups(&d, &rollups_in(objects, &d));
    }
    let late = serde_json::to_value(v.finish(live)).unwrap();
    assert_eq!(pinned["ok"], late["ok"], "pinned {pinned}\nlate {late}");
    pinned
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
            serde_json::from_str::<veilgate::audit::log::Rollup>(t)
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
    // The admin chain's later changes must be found by a range of their own day.
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
    assert_ne!(w.seg_prev, veilgate::audit::log::log_genesis(P, w.shard));
}

// ---------------------------------------------------------------------------------------
// The stored head and the rebuild of the open segment from R2
// ---------------------------------------------------------------------------------------

/// One log's appends with, after each, the head it stores and the segment it puts.
fn one_log(n: usize) -> Vec<(LogWriter, LogHead, LogWrite, AuditRecord)> {
    let recs = records(n, 1);
    let shard = log_shard(&recs[0].session);
    let mut w = LogWriter::new(P, shard);
    let mut out = Vec::new();
    for r in recs.iter().filter(|r| log_shard(&r.session) == shard) {
        let (next, write) = w.append(r);
        out.push((next.clone(), next.stored_head(Some(r)), write, r.clone()));
        w = next;
    }
    out
}

#[test]
fn a_head_and_its_segment_in_r2_rebuild_the_writer_exactly() {
    let steps = one_log(120);
    assert!(steps.len() > SEGMENT_RECORDS, "spans a segment close");
    for (w, head, write, _) in &steps {
        let (back, how) = head.rebuild(Some(&write.segment));
        assert_eq!(how, Rebuilt::Intact);
        assert_eq!(&back, w);
        assert_eq!(back.write(), *write);
    }
    // A seeded head (no last line) too.
    let (w, _, write, _) = steps.last().unwrap();
    assert_eq!(w.stored_head(None).rebuild(Some(&write.segment)).0, *w);
    assert_eq!(
        LogWriter::new(P, 0).stored_head(None).rebuild(None),
        (LogWriter::new(P, 0), Rebuilt::Empty)
    );
}

#[test]
fn the_stored_head_is_small_whatever_the_open_segment_holds() {
    let steps = one_log(120);
    let (mut most_writer, mut most_head) = (0, 0);
    for (w, head, _, _) in &steps {
        most_writer = most_writer.max(serde_json::to_string(w).unwrap().len());
        most_head = most_head.max(serde_json::to_string(head).unwrap().len());
    }
    println!("stored per append: whole writer ≤ {most_writer} B, head ≤ {most_head} B");
    assert!(most_writer > 40_000, "{most_writer}");
    assert!(most_head < 2_000, "{most_head}");
}

#[test]
fn a_crash_before_the_segment_put_is_rolled_forward_from_the_head() {
    let steps = one_log(120);
    for pair in steps.windows(2) {
        let (_, _, before, _) = &pair[0];
        let (w, head, write, _) = &pair[1];
        // R2 still holds the previous write's segment (or none, when this append opened a new
        // segment).
        let r2 = (before.segment_key == write.segment_key).then_some(before.segment.as_str());
        let (back, how) = head.rebuild(r2);
        assert_eq!(how, Rebuilt::RolledForward);
        assert_eq!(&back, w);
        assert_eq!(back.write(), *write, "the glue rewrites this");
    }
}

#[test]
fn an_unpersisted_retry_replacement_rolls_forward_too() {
    let steps = one_log(4);
    let (w, _, write, rec) = &steps[1];
    let mut again = rec.clone();
    again.at += 5;
    again.hash = again.compute_hash();
    let (next, _) = w.append(&again);
    let head = next.stored_head(Some(&again));
    // The head was stored, the segment put of the replacement was not.
    let (back, how) = head.rebuild(Some(&write.segment));
    assert_eq!(how, Rebuilt::RolledForward);
    assert_eq!(back, next);
    assert!(back.write().segment.contains(&again.hash));
}

#[test]
fn an_open_segment_edited_or_deleted_in_r2_is_not_trusted() {
    let steps = one_log(40);
    let (w, head, write, _) = steps.last().unwrap();
    // An earlier line: the last one is the head's own `last`, which a rebuild restores.
    let rec = &steps[1].3;
    let mut edited = rec.clone();
    edited.at += 1;
    edited.hash = edited.compute_hash();
    let forged = write.segment.replace(&rec.to_json(), &edited.to_json());
    assert_ne!(forged, write.segment);
    let truncated: String = write
        .segment
        .lines()
        .take(2)
        .map(|l| format!("{l}\n"))
        .collect();
    let extra = format!("{}{}\n", write.segment, steps[0].3.to_json());
    for r2 in [
        None,
        Some(forged.as_str()),
        Some(truncated.as_str()),
        Some(extra.as_str()),
        Some("junk"),
    ] {
        let (back, how) = head.rebuild(r2);
        assert_eq!(how, Rebuilt::Lost);
        // The log goes on in the next segment, linked to the head it stored, with the lost
        // segment's records still counted: `verify` reports the break instead of it being
        // papered over.
        assert_eq!((back.n, back.seg_prev.as_str()), (w.n + 1, w.head.as_str()));
        assert!(back.lines.is_empty());
        let (_, next) = back.append(&steps[0].3);
        let rollup: veilgate::audit::log::Rollup = serde_json::from_str(&next.rollup).unwrap();
        assert_eq!(rollup.records, w.base_records + w.lines.len() as u64 + 1);
    }
}

#[test]
fn verify_reports_a_deleted_open_segment_after_the_log_went_on() {
    let recs: Vec<AuditRecord> = {
        let all = records(60, 1);
        let shard = log_shard(&all[0].session);
        all.into_iter()
            .filter(|r| log_shard(&r.session) == shard)
            .collect()
    };
    let shard = log_shard(&recs[0].session);
    let (half, rest) = recs.split_at(recs.len() / 2);
    let mut objects = BTreeMap::new();
    let mut w = LogWriter::new(P, shard);
    let mut head = w.stored_head(None);
    for r in half {
        let (next, write) = w.append(r);
        head = next.stored_head(Some(r));
        objects.insert(write.segment_key, write.segment);
        objects.insert(write.rollup_key, write.rollup);
        w = next;
    }
    objects.remove(&head.segment_key().unwrap());
    let (mut w, how) = head.rebuild(None);
    assert_eq!(how, Rebuilt::Lost);
    for r in rest {
        let (next, write) = w.append(r);
        objects.insert(write.segment_key, write.segment);
        objects.insert(write.rollup_key, write.rollup);
        w = next;
    }
    let v = verify(&objects, &[w.live_head()], "2026-11-01", "2026-11-02");
    assert_eq!(v["ok"], false, "{v}");
    // Without the deletion the same appends verify.
    let (whole, live) = write_all(&recs);
    assert_eq!(
        verify(&whole, &live, "2026-11-01", "2026-11-02")["ok"],
        true
    );
}

/// The records of one log (one shard), in time order.
fn one_shard(sessions: usize) -> Vec<AuditRecord> {
    let all = records(sessions, 1);
    let shard = log_shard(&all[0].session);
    all.into_iter()
        .filter(|r| log_shard(&r.session) == shard)
        .collect()
}

#[test]
fn pins_read_before_one_more_record_was_appended_verify_clean() {
    // More than one segment, so the pins fall inside the stream and at its open segment.
    let recs = one_shard(120);
    assert!(recs.len() > SEGMENT_RECORDS + 1);
    let n = recs.len() - 1;
    let (before, live_before) = write_all(&recs[..n]);
    let (after, live_after) = write_all(&recs);
    let v = verify_pinned(&before, &live_before, &after, "2026-11-01", "2026-11-01");
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["records"], recs.len());
    // The old order (segments read, then the rollups and live heads after the append) names
    // the same log as truncated and its head as moved: the race this order removes.
    let mut old = Verifier::new(P, "2026-11-01", "2026-11-01");
    for (k, text) in &before {
        if parse_segment_key(k).is_some() {
            old.feed_segment(k, text);
        }
    }
    old.feed_rollups("2026-11-01", &rollups_in(&after, "2026-11-01"));
    let old = serde_json::to_value(old.finish(&live_after)).unwrap();
    assert_eq!(old["ok"], false, "{old}");
    let shard = format!("log/{:02}", log_shard(&recs[0].session));
    assert!(
        problems(&old).contains(&(shard.clone(), "truncated".into())),
        "{old}"
    );
    assert!(
        problems(&old).contains(&(shard, "head_mismatch".into())),
        "{old}"
    );
}

#[test]
fn a_deleted_tail_record_is_truncated_against_pins_read_after_it() {
    let recs = one_shard(120);
    let n = recs.len() - 1;
    // The log as stored with its last record cut (headers rewritten to match), and the
    // pins that were read before the cut, when the log held every record.
    let (cut, _) = write_all(&recs[..n]);
    let (whole, live) = write_all(&recs);
    let v = verify_pinned(&whole, &live, &cut, "2026-11-01", "2026-11-01");
    assert_eq!(v["ok"], false, "{v}");
    let shard = format!("log/{:02}", log_shard(&recs[0].session));
    let found = problems(&v);
    assert!(found.contains(&(shard.clone(), "truncated".into())), "{v}");
    // Both pins name it: the rollup at the end of the day, the live head at the end.
    assert_eq!(
        found.iter().filter(|p| p.1 == "truncated").count(),
        2,
        "{v}"
    );
}

#[test]
fn a_head_changed_at_the_pinned_position_is_found() {
    let recs = one_shard(120);
    let n = recs.len() - 1;
    let (pins, live) = write_all(&recs[..n]);
    // A rewritten log, valid in itself: a new chain's record inserted just before the
    // pinned position, so the count still reaches the pin but the head there differs.
    let intruder = {
        let s = (0..)
            .map(|i| format!("x_{i:08}"))
            .find(|s| log_shard(s) == log_shard(&recs[0].session))
            .unwrap();
        let d = Decision::new(Reason::Gpc, vec![], "1".into());
        ChainHead::new(P, &s)
            .next(Draft::decision(P, &s, None, recs[n - 1].at, &d, Some(0)))
            .0
    };
    let mut rewritten: Vec<AuditRecord> = recs[..n - 1].to_vec();
    rewritten.push(intruder);
    rewritten.extend_from_slice(&recs[n - 1..]);
    let (objects, own_live) = write_all(&rewritten);
    assert_eq!(
        verify(&objects, &own_live, "2026-11-01", "2026-11-01")["ok"],
        true,
        "the rewritten log verifies against its own pins"
    );
    let v = verify_pinned(&pins, &live, &objects, "2026-11-01", "2026-11-01");
    assert_eq!(v["ok"], false, "{v}");
    let shard = format!("log/{:02}", log_shard(&recs[0].session));
    let heads: Vec<_> = problems(&v)
        .into_iter()
        .filter(|p| *p == (shard.clone(), "head_mismatch".into()))
        .collect();
    assert_eq!(heads.len(), 2, "rollup and live head both: {v}");
}

#[test]
fn a_closed_day_s_rollup_must_count_every_record_of_the_day() {
    // Two days on one shard; the live head (read first) is on the second, so the first day
    // was closed before verify began and its rollup may not lag its segments.
    let all = records(240, 2);
    let shard = log_shard(&all[0].session);
    let recs: Vec<AuditRecord> = all
        .into_iter()
        .filter(|r| log_shard(&r.session) == shard)
        .collect();
    let (objects, live) = write_all(&recs);
    let days = segment_days_in(&objects);
    assert_eq!(days.len(), 2, "{days:?}");
    let first_day_records = recs
        .iter()
        .take_while(|r| veilgate::time::utc_day(r.at) == days[0])
        .count();
    assert!(first_day_records > 2);
    assert_eq!(
        verify_pinned(&objects, &live, &objects, &days[0], &days[1])["ok"],
        true
    );
    let rollup = veilgate::audit::log::rollup_key(P, &days[0], shard);
    // The rollup swapped for an earlier one of the same day (a consistent prefix: count and
    // head agree), and for one edited to no records at all.
    let (earlier, _) = write_all(&recs[..first_day_records - 2]);
    let mut zero: serde_json::Value = serde_json::from_str(&objects[&rollup]).unwrap();
    zero["records"] = 0.into();
    for forged in [earlier[&rollup].clone(), zero.to_string()] {
        let mut pins = objects.clone();
        pins.insert(rollup.clone(), forged);
        let v = verify_pinned(&pins, &live, &objects, &days[0], &days[1]);
        assert_eq!(v["ok"], false, "{v}");
        assert!(
            problems(&v).contains(&(format!("log/{shard:02}"), "truncated".into())),
            "{v}"
        );
    }
}
