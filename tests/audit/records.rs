//! Audit records: sealing, chain verification and tampering, anchors, dates, report, NDJSON.

use std::collections::BTreeMap;

use veilgate::audit::{
    self, anchor_shard, day_from_millis, day_start_millis, days_in_range, genesis, parse_day,
    parse_key, record_key, verify_anchors, verify_chain, visitor_pseudonym, AuditRecord, ChainHead,
    ChainReport, Draft, Kind, Outcome, Problem, ANCHOR_SHARDS,
};
use veilgate::consent::{Decision, Reason};

const P: &str = "demo-web";
const S: &str = "s_8r2kQ0aZ";
const T0: u64 = 1_793_491_200_000; // 2026-11-01T00:00:00Z

fn decision(reason: Reason) -> Decision {
    Decision::new(reason, vec!["tcf".into()], "2026-11-01".into())
}

/// A session chain of `n` decision records plus a finalize record, as stored objects.
fn chain(n: u64) -> (Vec<(String, String)>, ChainHead) {
    let mut head = ChainHead::new(P, S);
    let visitor = visitor_pseudonym(b"secret", P, "v_3kd9abcdef");
    let mut objects = Vec::new();
    for i in 0..n {
        let reason = if i % 2 == 0 {
            Reason::GrantedTcf
        } else {
            Reason::TcfPurposeDenied
        };
        let draft = Draft::decision(
            P,
            S,
            Some(&visitor),
            T0 + i * 60_000,
            &decision(reason),
            Some(i),
        );
        let (rec, next) = head.next(draft);
        objects.push((head.key_for(&rec, &next), rec.to_json()));
        head = next;
    }
    let (rec, next) = head.next(Draft::finalize(P, S, T0 + n * 60_000 + 1_800_000, "idle"));
    objects.push((head.key_for(&rec, &next), rec.to_json()));
    (objects, next)
}

fn broken(report: &ChainReport) -> (usize, Problem) {
    let b = report.first_broken.clone().expect("chain should be broken");
    (b.index, b.problem)
}

#[test]
fn a_sealed_chain_verifies() {
    let (objects, head) = chain(5);
    assert_eq!(
        objects[0].0,
        "audit/demo-web/2026-11-01/s_8r2kQ0aZ/000000.json"
    );
    assert_eq!(
        objects[5].0,
        "audit/demo-web/2026-11-01/s_8r2kQ0aZ/000005.json"
    );
    let report = verify_chain(P, S, &objects);
    assert!(report.ok, "{report:?}");
    assert_eq!(report.records, 6);
    assert_eq!(report.head, head.head);
    // Order of the listing does not matter.
    let mut rev = objects.clone();
    rev.reverse();
    assert_eq!(verify_chain(P, S, &rev), report);
    // Empty chain: ok, head = genesis.
    let empty = verify_chain(P, S, &[]);
    assert!(empty.ok && empty.records == 0 && empty.head == genesis(P, S));
}

#[test]
fn record_shape_and_hash_definition() {
    let (objects, _) = chain(1);
    let rec = AuditRecord::from_json(&objects[0].1).unwrap();
    assert_eq!(rec.v, 1);
    assert_eq!(rec.kind, Kind::Decision);
    assert_eq!(rec.decision, Some(Outcome::Stored));
    assert_eq!(rec.reason.as_deref(), Some("granted_tcf"));
    assert_eq!(rec.policy_version.as_deref(), Some("2026-11-01"));
    assert_eq!(rec.prev, genesis(P, S));
    assert_eq!(genesis(P, S), {
        use sha2::{Digest, Sha256};
        veilgate_hex(&Sha256::digest(b"demo-web:s_8r2kQ0aZ"))
    });
    // hash = SHA-256(prev || canonical body without hash)
    // The stored object is the canonical body with `"hash"` appended last.
    let stored = &objects[0].1;
    let suffix = format!(",\"hash\":\"{}\"}}", rec.hash);
    let canonical = format!(
        "{}}}",
        stored
            .strip_suffix(&suffix)
            .expect("hash is the last field")
    )
    .into_bytes();
    assert_eq!(canonical, rec.canonical_body());
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(rec.prev.as_bytes());
    h.update(&canonical);
    assert_eq!(veilgate_hex(&h.finalize()), rec.hash);
    // No raw visitor id in the record.
    assert!(!objects[0].1.contains("v_3kd9abcdef"));
    assert!(rec.visitor.as_deref().unwrap().starts_with("v_"));
}

fn veilgate_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn edit(objects: &mut [(String, String)], i: usize, f: impl FnOnce(&mut serde_json::Value)) {
    let mut v: serde_json::Value = serde_json::from_str(&objects[i].1).unwrap();
    f(&mut v);
    objects[i].1 = serde_json::to_string(&v).unwrap();
}

#[test]
fn editing_a_record_breaks_verify_at_that_record() {
    let (orig, _) = chain(6);

    let mut o = orig.clone();
    edit(&mut o, 3, |v| v["reason"] = "granted_tcf".into());
    let r = verify_chain(P, S, &o);
    assert_eq!(broken(&r).0, 3);
    assert!(matches!(broken(&r).1, Problem::HashMismatch { .. }));
    assert_eq!(r.records, 3);
    assert_eq!(r.first_broken.unwrap().key, orig[3].0);

    // Re-hashing the edited record moves the break to the next record's prev link.
    let mut o = orig.clone();
    edit(&mut o, 3, |v| v["decision"] = "stored".into());
    let mut rec = AuditRecord::from_json(&o[3].1).unwrap();
    rec.hash = rec.compute_hash();
    o[3].1 = rec.to_json();
    assert!(matches!(
        broken(&verify_chain(P, S, &o)),
        (4, Problem::PrevMismatch { .. })
    ));

    // An added field, even if harmless-looking.
    let mut o = orig.clone();
    edit(&mut o, 2, |v| v["note"] = "ok".into());
    assert!(matches!(
        broken(&verify_chain(P, S, &o)),
        (2, Problem::Unparseable { .. })
    ));

    // Garbage instead of JSON.
    let mut o = orig.clone();
    o[1].1 = "not json".into();
    assert!(matches!(
        broken(&verify_chain(P, S, &o)),
        (1, Problem::Unparseable { .. })
    ));

    // Signals altered.
    let mut o = orig.clone();
    edit(&mut o, 0, |v| v["signals"] = serde_json::json!([]));
    assert!(matches!(
        broken(&verify_chain(P, S, &o)),
        (0, Problem::HashMismatch { .. })
    ));
}

#[test]
fn deleting_or_moving_records_is_detected() {
    let (orig, head) = chain(6);

    // Delete a middle record: gap at its position.
    let mut o = orig.clone();
    o.remove(2);
    let r = verify_chain(P, S, &o);
    assert_eq!(
        broken(&r),
        (
            2,
            Problem::Gap {
                expected_seq: 2,
                found_seq: 3
            }
        )
    );

    // Delete the first record.
    let mut o = orig.clone();
    o.remove(0);
    assert!(matches!(
        broken(&verify_chain(P, S, &o)),
        (
            0,
            Problem::Gap {
                expected_seq: 0,
                found_seq: 1
            }
        )
    ));

    // Delete the last record: the chain itself verifies; the owner's head (or an anchor) catches it.
    let mut o = orig.clone();
    o.pop();
    let r = verify_chain(P, S, &o);
    assert!(r.ok);
    assert_eq!(
        audit::check_against(&r, head.count, &head.head),
        Some(Problem::Truncated {
            expected_count: 7,
            found_count: 6
        })
    );

    // Move a record to another day folder.
    let mut o = orig.clone();
    o[4].0 = record_key(P, "2026-11-02", S, 4);
    assert!(matches!(
        broken(&verify_chain(P, S, &o)),
        (4, Problem::BadKey { .. })
    ));

    // A record of another session dropped into this chain.
    let mut o = orig.clone();
    edit(&mut o, 1, |v| v["session"] = "s_other0000".into());
    assert!(matches!(
        broken(&verify_chain(P, S, &o)),
        (1, Problem::WrongChain { .. })
    ));

    // Swap two records' bodies.
    let mut o = orig.clone();
    let b1 = o[1].1.clone();
    o[1].1 = o[2].1.clone();
    o[2].1 = b1;
    assert!(matches!(
        broken(&verify_chain(P, S, &o)),
        (1, Problem::Gap { .. })
    ));

    // A stray key.
    let mut o = orig.clone();
    o.push(("audit/demo-web/whatever.json".into(), o[0].1.clone()));
    assert!(!verify_chain(P, S, &o).ok);
}

#[test]
fn anchors_catch_deleted_and_truncated_chains() {
    let (objects, head) = chain(3);
    let shard = anchor_shard(S);
    assert!(shard < ANCHOR_SHARDS);

    // The anchor chain for that shard pins the session's count and head.
    let anchor_head = ChainHead::new_anchor(P, shard);
    let (anchor_rec, anchor_next) =
        anchor_head.next(Draft::anchor(P, shard, T0 + 9_999_999, head.anchor_ref()));
    assert_eq!(
        anchor_head.key_for(&anchor_rec, &anchor_next),
        format!("audit/demo-web/_anchors/{shard:02}/00000000.json")
    );
    let anchor_objects = vec![(
        anchor_head.key_for(&anchor_rec, &anchor_next),
        anchor_rec.to_json(),
    )];
    let ar = verify_chain(P, &audit::anchor_chain_id(shard), &anchor_objects);
    assert!(ar.ok, "{ar:?}");

    let hashes: BTreeMap<u64, String> = objects
        .iter()
        .map(|(_, b)| {
            let r = AuditRecord::from_json(b).unwrap();
            (r.seq, r.hash)
        })
        .collect();
    let hash_at = |_: &str, n: u64| hashes.get(&n).cloned();

    let mut chains = BTreeMap::new();
    chains.insert(S.to_string(), verify_chain(P, S, &objects));
    assert!(verify_anchors(std::slice::from_ref(&anchor_rec), &chains, &hash_at).is_empty());

    // Whole chain deleted.
    let none = BTreeMap::new();
    let problems = verify_anchors(std::slice::from_ref(&anchor_rec), &none, &hash_at);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].problem, Problem::Missing);
    assert_eq!(problems[0].session, S);

    // Tail deleted.
    let mut chains = BTreeMap::new();
    chains.insert(S.to_string(), verify_chain(P, S, &objects[..2]));
    assert!(matches!(
        verify_anchors(std::slice::from_ref(&anchor_rec), &chains, &hash_at)[0].problem,
        Problem::Truncated { .. }
    ));

    // Chain grew after its anchor (a late beacon): fine while the anchored prefix matches.
    let (longer, _) = chain(5);
    let mut chains = BTreeMap::new();
    chains.insert(S.to_string(), verify_chain(P, S, &longer));
    let longer_hashes: BTreeMap<u64, String> = longer
        .iter()
        .map(|(_, b)| AuditRecord::from_json(b).unwrap())
        .map(|r| (r.seq, r.hash))
        .collect();
    let problems = verify_anchors(std::slice::from_ref(&anchor_rec), &chains, &|_, n| {
        longer_hashes.get(&n).cloned()
    });
    // chain(5)'s record 3 is a decision, not chain(3)'s finalize: the prefix differs.
    assert!(matches!(problems[0].problem, Problem::HeadMismatch { .. }));
}

#[test]
fn chain_head_is_persisted_only_after_the_write() {
    let head = ChainHead::new(P, S);
    let (rec, next) = head.next(Draft::decision(
        P,
        S,
        None,
        T0,
        &decision(Reason::Gpc),
        Some(0),
    ));
    // `head` is unchanged: a failed R2 write leaves nothing to undo.
    assert_eq!(head.count, 0);
    assert_eq!(next.count, 1);
    assert_eq!(next.head, rec.hash);
    assert_eq!(next.first_day.as_deref(), Some("2026-11-01"));
    assert_eq!(rec.decision, Some(Outcome::Dropped));
    // The head round-trips through JSON (DO storage).
    let back: ChainHead = serde_json::from_str(&serde_json::to_string(&next).unwrap()).unwrap();
    assert_eq!(back, next);
    // A chain crossing midnight stays in its first day's folder.
    let (rec2, next2) = next.next(Draft::decision(
        P,
        S,
        None,
        T0 + 86_400_000 * 3,
        &decision(Reason::Gpc),
        Some(1),
    ));
    assert_eq!(
        next.key_for(&rec2, &next2),
        "audit/demo-web/2026-11-01/s_8r2kQ0aZ/000001.json"
    );
}

#[test]
fn keys_parse() {
    let k = parse_key("audit/demo/2026-11-01/s_abcdefgh/000012.json").unwrap();
    assert_eq!(
        (k.project.as_str(), k.day.as_deref(), k.chain.as_str(), k.n),
        ("demo", Some("2026-11-01"), "s_abcdefgh", 12)
    );
    let k = parse_key("audit/demo/_anchors/07/00000003.json").unwrap();
    assert_eq!((k.day, k.chain.as_str(), k.n), (None, "anchor/07", 3));
    for bad in [
        "",
        "audit/demo/2026-13-01/s/000001.json",
        "audit/demo/x/s/000001.json",
        "sessions/demo/s/000001.json",
        "audit/demo/2026-11-01/s/abc.json",
        "audit/demo/2026-11-01/s/1.txt",
    ] {
        assert!(parse_key(bad).is_none(), "{bad}");
    }
}

#[test]
fn utc_days_without_chrono() {
    assert_eq!(day_from_millis(0), "1970-01-01");
    assert_eq!(day_from_millis(86_399_999), "1970-01-01");
    assert_eq!(day_from_millis(86_400_000), "1970-01-02");
    assert_eq!(day_from_millis(951_782_400_000), "2000-02-29");
    assert_eq!(day_from_millis(951_868_800_000), "2000-03-01");
    assert_eq!(day_from_millis(1_709_164_800_000), "2024-02-29");
    assert_eq!(day_from_millis(T0), "2026-11-01");
    assert_eq!(day_from_millis(T0 - 1), "2026-10-31");
    assert_eq!(day_from_millis(2_147_483_647_000), "2038-01-19");
    assert_eq!(day_from_millis(4_107_542_400_000), "2100-03-01");
    assert_eq!(day_from_millis(253_402_300_799_000), "9999-12-31");
    let _ = day_from_millis(u64::MAX); // no panic
                                       // Round trip over a long span, every 7 hours.
    let mut ms = 0u64;
    while ms < 4_200_000_000_000 {
        let day = day_from_millis(ms);
        let start = day_start_millis(&day).unwrap();
        assert!(start <= ms && ms < start + 86_400_000, "{day}");
        ms += 25_200_000;
    }
    assert_eq!(parse_day("2024-02-29"), Some(19_782));
    for bad in [
        "2023-02-29",
        "2026-02-30",
        "2026-04-31",
        "2026-00-10",
        "2026-1-01",
        "1969-12-31",
        "abcd-ef-gh",
        "2026-11-01x",
        "+026-11-01",
    ] {
        assert_eq!(parse_day(bad), None, "{bad}");
    }
    assert_eq!(
        days_in_range(T0 - 1, T0 + 86_400_000),
        vec!["2026-10-31", "2026-11-01", "2026-11-02"]
    );
    assert!(days_in_range(T0, T0 - 1).is_empty());
    assert_eq!(
        days_in_range(0, u64::MAX).len(),
        audit::MAX_RANGE_DAYS as usize
    );
}

#[test]
fn report_counts_by_day_decision_and_reason() {
    let (a, _) = chain(4);
    let mut records: Vec<AuditRecord> = a
        .iter()
        .map(|(_, b)| AuditRecord::from_json(b).unwrap())
        .collect();
    let head = ChainHead::new(P, "s_second00");
    let (r, _) = head.next(Draft::decision(
        P,
        "s_second00",
        None,
        T0 + 86_400_000,
        &decision(Reason::OptOutCookie),
        None,
    ));
    records.push(r);
    let (e, _) = ChainHead::new(P, "s_third000").next(Draft::erasure(
        P,
        "s_third000",
        None,
        T0 + 86_400_001,
        "visitor_erasure",
    ));
    records.push(e);
    let report = audit::daily_report(&records);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"days": [
            {"day": "2026-11-01", "stored": 2, "dropped": 2,
             "reasons": {"granted_tcf": {"stored": 2, "dropped": 0}, "tcf_purpose_denied": {"stored": 0, "dropped": 2}},
             "other": {"finalize": 1}},
            {"day": "2026-11-02", "stored": 0, "dropped": 1,
             "reasons": {"opt_out_cookie": {"stored": 0, "dropped": 1}},
             "other": {"erasure": 1}}
        ]})
    );
}

#[test]
fn ndjson_round_trip_and_errors() {
    let (a, _) = chain(3);
    let records: Vec<AuditRecord> = a
        .iter()
        .map(|(_, b)| AuditRecord::from_json(b).unwrap())
        .collect();
    let text = audit::to_ndjson(&records);
    assert_eq!(text.lines().count(), 4);
    assert_eq!(audit::parse_ndjson(&text).unwrap(), records);
    assert_eq!(
        audit::parse_ndjson(&format!("\n{text}\n\n")).unwrap(),
        records
    );
    let err = audit::parse_ndjson(&format!("{text}{{\"v\":1}}\n")).unwrap_err();
    assert_eq!(err.line, 5);
    let in_range = audit::in_range(&records, T0 + 60_000, T0 + 120_001);
    assert_eq!(
        in_range.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![1, 2]
    );
}

#[test]
fn pseudonyms_are_keyed_and_stable() {
    let a = visitor_pseudonym(b"k1", P, "v_3kd9abcdef");
    assert_eq!(a, visitor_pseudonym(b"k1", P, "v_3kd9abcdef"));
    assert_ne!(a, visitor_pseudonym(b"k2", P, "v_3kd9abcdef"));
    assert_ne!(a, visitor_pseudonym(b"k1", "demo", "v_3kd9abcdef"));
    assert_eq!(a.len(), 34);
    assert!(!a.contains("3kd9"));
}

#[test]
fn anchor_shards_spread_sessions() {
    let mut counts = [0u32; ANCHOR_SHARDS as usize];
    for i in 0..1600 {
        counts[anchor_shard(&format!("s_{i:08}")) as usize] += 1;
    }
    assert!(counts.iter().all(|&c| c > 50), "{counts:?}");
}

/// A chain's kind is what its creator said, never read from its id. Session ids shaped
/// like anchor names (`_anchor-NN`, and `anchor/NN` without its `/`)
/// key under their day as session chains, and a project of them verifies.
#[test]
fn session_ids_shaped_like_anchor_names_stay_session_chains() {
    let mut objs = Vec::new();
    for s in [
        "_anchor-07",
        "_anchor-7",
        "_anchor-007",
        "anchor-07",
        "_anchors0",
    ] {
        let head = ChainHead::new(P, s);
        let (rec, next) = head.next(Draft::finalize(P, s, 1_795_392_000_000, "idle"));
        let key = head.key_for(&rec, &next);
        assert_eq!(key, audit::record_key(P, "2026-11-23", s, 0), "{s}");
        let parts = audit::parse_key(&key).unwrap();
        assert_eq!(parts.kind, audit::ChainKind::Session, "{s}");
        objs.push((key, rec.to_json()));
    }
    let v = audit::verify_project(P, &objs);
    assert!(v.ok, "{v:?}");
    assert_ne!(audit::anchor_chain_id(7), "_anchor-07");
    assert!(!envelope_id_ok(&audit::anchor_chain_id(7)));
    assert!(audit::anchor_object_name(P, 7).contains('/'));
}

fn envelope_id_ok(id: &str) -> bool {
    veilgate::envelope::is_valid_id(id)
}
