//! The scale test's seeded audit, natively: clean it verifies; with the planted damage each
//! of the edit, the deletion and the reordering is named by session and segment.

use std::collections::BTreeMap;

use veilgate::audit::log::{parse_segment_key, rollup_key, Verifier, LOG_SHARDS};
use veilgate::audit_seed::{objects, SeedSpec};

const T0: u64 = 1_793_491_200_000;

fn verify(spec: &SeedSpec) -> (serde_json::Value, veilgate::audit_seed::Planted) {
    let (objs, writers, planted) = objects(spec);
    let objs: BTreeMap<String, String> = objs.into_iter().collect();
    let mut v = Verifier::new(&spec.project, "2026-11-01", "2026-11-05");
    let mut day: Option<String> = None;
    let rollups = |d: &str| -> Vec<(u32, Option<String>)> {
        (0..LOG_SHARDS)
            .map(|s| (s, objs.get(&rollup_key(&spec.project, d, s)).cloned()))
            .collect()
    };
    for (k, t) in &objs {
        let Some((_, d, _, _)) = parse_segment_key(k) else {
            continue;
        };
        if day.as_deref() != Some(d.as_str()) {
            if let Some(p) = day.replace(d.clone()) {
                v.feed_rollups(&p, &rollups(&p));
            }
        }
        v.feed_segment(k, t);
    }
    if let Some(p) = day {
        v.feed_rollups(&p, &rollups(&p));
    }
    let live: Vec<_> = writers.iter().map(|w| w.live_head()).collect();
    (serde_json::to_value(v.finish(&live)).unwrap(), planted)
}

#[test]
fn seeded_audit_verifies_and_planted_damage_is_named() {
    let mut spec = SeedSpec {
        project: "p-seed".into(),
        sessions: 600,
        days: 3,
        start_ms: T0,
        plant: false,
    };
    let (v, _) = verify(&spec);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["records"], 1_800);

    spec.plant = true;
    let (v, planted) = verify(&spec);
    assert_eq!(v["ok"], false);
    let named: Vec<(String, String, String)> = v["broken"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["chain"].as_str().unwrap().into(),
                b["key"].as_str().unwrap().into(),
                b["problem"].as_str().unwrap().into(),
            )
        })
        .collect();
    for (p, problem) in [
        (&planted.tampered, "hash_mismatch"),
        (&planted.deleted, "gap"),
        (&planted.reordered, "gap"),
    ] {
        let (s, _, k) = p.clone().expect("planted");
        assert!(
            named.contains(&(s.clone(), k.clone(), problem.to_string())),
            "{s} {problem} in {k}: {named:?}"
        );
    }
}
