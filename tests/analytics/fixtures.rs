//! Recordings made with the real recorder (rrweb + the SDK's error capture) in headless
//! Chromium: `tests/fixtures/analytics/shop.json`, recorded by `tools/record/analytics.mjs` on
//! `tools/record/pages/analytics/`. The scenario plants a rage run on a promo tile, a click
//! that mutates the DOM, a dead click, a click that throws (an email in the message) and one
//! that rejects, a double click and typing into a search field, a scroll, and a quick back
//! from a product page. Extracted whole and cut into chunks of every size, the answer is the
//! same.

use serde_json::Value;
use veilgate::analytics::{Device, Row, SignalKind};

use crate::support::Session;

fn events() -> Vec<Value> {
    let path = format!(
        "{}/tests/fixtures/analytics/shop.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    doc["events"].as_array().unwrap().clone()
}

fn session(chunk: usize) -> Session {
    let mut s = Session::new();
    for c in events().chunks(chunk) {
        s.chunk(c);
    }
    s.finish();
    s
}

fn target(r: &Row) -> String {
    match r {
        Row::Signal {
            target: Some(d), ..
        } => d.to_string(),
        _ => String::new(),
    }
}

#[test]
fn the_recorded_scenario_gives_its_planted_signals() {
    let s = session(usize::MAX);
    let sum = &s.summary;
    assert_eq!(sum.page_views, 3, "{:?}", sum.paths);
    assert_eq!(sum.paths, vec!["/shop", "/product/:id"]);
    assert_eq!(
        (sum.entry.as_deref(), sum.exit.as_deref()),
        (Some("/shop"), Some("/shop"))
    );
    assert_eq!(sum.device, Some(Device::Desktop));

    let rage: Vec<String> = s
        .signals(SignalKind::Rage)
        .into_iter()
        .map(target)
        .collect();
    assert_eq!(rage, vec!["div#promo-tile.tile.promo"]);
    // The live button changed the DOM; the link navigated; only the coupon button is dead.
    let dead: Vec<String> = s
        .signals(SignalKind::Dead)
        .into_iter()
        .map(target)
        .collect();
    assert_eq!(dead, vec!["button#dead.btn.ghost"]);
    assert_eq!(sum.errors, 2);
    let err: Vec<String> = s
        .signals(SignalKind::ErrorClick)
        .into_iter()
        .map(target)
        .collect();
    assert!(
        err.contains(&"button#broken.btn.danger".to_string()),
        "{err:?}"
    );
    assert!(err.contains(&"button#reject.btn".to_string()), "{err:?}");
    let back = s.signals(SignalKind::QuickBack);
    assert_eq!(back.len(), 1);
    assert!(matches!(back[0], Row::Signal { path, .. } if path == "/product/:id"));

    // The double click into the search field: two clicks, no rage; one input row for it.
    let inputs: Vec<String> = s
        .rows
        .iter()
        .filter_map(|r| match r {
            Row::Input { field, .. } => Some(field.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(inputs, vec!["input#q.search"]);
    // The scroll to 1,500 px: the first view's depth reaches 1,500 + the viewport height.
    let depth = s.rows.iter().find_map(|r| match r {
        Row::PageEnd { depth, .. } => Some(*depth),
        _ => None,
    });
    assert!(depth.unwrap() >= 2_300, "{depth:?}");
    assert!(sum.active_ms > 5_000, "{}", sum.active_ms);
    assert_eq!(
        sum.moments.len() as u64,
        sum.rage + sum.dead + sum.error_clicks + sum.quick_backs
    );

    // The error message's email was masked by the worker's detectors before extraction.
    let msgs: Vec<&str> = s
        .rows
        .iter()
        .filter_map(|r| match r {
            Row::Error { message, .. } => Some(message.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(msgs.len(), 2);
    assert!(
        msgs[0].starts_with("Uncaught Error: checkout failed for ***"),
        "{msgs:?}"
    );
    for out in [
        serde_json::to_string(&s.rows).unwrap(),
        serde_json::to_string(&s.summary).unwrap(),
        serde_json::to_string(&s.state).unwrap(),
    ] {
        for p in [
            "jane.analytics.planted",
            "8812345",
            "Zebulon",
            "Analytica",
            "utm_source",
        ] {
            assert!(!out.contains(p), "{p} in {out}");
        }
    }
}

#[test]
fn any_cut_into_chunks_gives_the_same_rows() {
    let whole = session(usize::MAX);
    let n = events().len();
    for chunk in [1, 2, 7, 20, n / 2] {
        let s = session(chunk);
        assert_eq!(s.rows, whole.rows, "chunks of {chunk}");
        assert_eq!(s.summary, whole.summary, "chunks of {chunk}");
    }
}
