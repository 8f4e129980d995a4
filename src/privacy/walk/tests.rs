//! The rule for an id's facts, pinned: the walk asks the state ([`MaskState::lookup_in_chunk`])
//! with what the chunk learnt so far; an id nobody can vouch for is masked.

use std::collections::BTreeMap;

use serde_json::json;

use crate::privacy::state::{flag, Facts, MaskState};
use crate::privacy::{mask_serde_events, MaskPolicy};

fn snapshot_state() -> MaskState {
    MaskState {
        snapshot: true,
        max_id: 10,
        ..MaskState::default()
    }
}

#[test]
fn unknown_id_is_masked_and_the_chunk_so_far_counts() {
    let state = snapshot_state();
    let pending: BTreeMap<u32, Facts> = [(
        12,
        Facts {
            flags: flag::FORM,
            selector_bits: 0,
        },
    )]
    .into();
    // Between chunks: at or below the highest id seen is plain, above it masked.
    assert_eq!(state.lookup(10), Facts::NONE);
    assert_eq!(state.lookup(11), Facts::MASKED);
    // During a chunk that saw ids up to 20: its facts first, its ids count as seen.
    assert_eq!(state.lookup_in_chunk(12, &pending, 20).flags, flag::FORM);
    assert_eq!(state.lookup_in_chunk(15, &pending, 20), Facts::NONE);
    assert_eq!(state.lookup_in_chunk(21, &pending, 20), Facts::MASKED);
    // What the chunk decided is what the next chunk sees once merged.
    let mut merged = state.clone();
    merged.merge(&pending, 20);
    for id in 0..30 {
        assert_eq!(
            merged.lookup(id),
            state.lookup_in_chunk(id, &pending, 20),
            "id {id}"
        );
    }
    // Overflow and no snapshot yet: nothing unknown is plain.
    let overflowed = MaskState {
        overflow: true,
        ..snapshot_state()
    };
    assert_eq!(overflowed.lookup_in_chunk(5, &pending, 20), Facts::MASKED);
    assert_eq!(
        MaskState::default().lookup_in_chunk(5, &pending, 20),
        Facts::MASKED
    );
}

/// The walk uses the rule above, not the state alone: a text node the chunk's own snapshot
/// described as plain keeps its text change, an id never seen is starred. Asking the state
/// without the chunk (`MaskState::lookup`, whose max id the snapshot reset to 0) would star
/// both.
#[test]
fn walk_asks_the_state_with_the_chunk_so_far() {
    let mut events = vec![
        json!({"type": 2, "timestamp": 1, "data": {"node": {"type": 0, "id": 1, "childNodes": [
            {"type": 2, "id": 2, "tagName": "p", "attributes": {}, "childNodes": [
                {"type": 3, "id": 3, "textContent": "hello"}]}]}}}),
        json!({"type": 3, "timestamp": 2, "data": {"source": 0, "adds": [], "removes": [],
            "attributes": [], "texts": [
                {"id": 3, "value": "good morning"},
                {"id": 99, "value": "good evening"}]}}),
    ];
    let mut state = MaskState::default();
    mask_serde_events(&mut events, &MaskPolicy::default(), &mut state);
    let texts = &events[1]["data"]["texts"];
    assert_eq!(texts[0]["value"], "good morning");
    assert_eq!(texts[1]["value"], "**** *******");
}

/// JSON text inside strings is masked by key, however it is nested, and the bounds hold:
/// too deep, too long or not JSON at all, the text gets the detectors only, never a panic.
#[test]
fn json_text_in_strings_is_masked_by_key_within_bounds() {
    let secret = r#"{"authorization":"opensesame","ok":true}"#;
    let once = serde_json::to_string(secret).unwrap();
    let twice = serde_json::to_string(&once).unwrap();
    for payload in [
        secret.to_string(),
        once.clone(),
        twice,
        format!(" [{secret}] "),
    ] {
        let mut evs =
            vec![json!({"type": 5, "timestamp": 1, "data": {"tag": "t", "payload": payload}})];
        mask_serde_events(&mut evs, &MaskPolicy::default(), &mut MaskState::default());
        let out = evs[0]["data"]["payload"].as_str().unwrap().to_string();
        assert!(!out.contains("opensesame"), "{payload} -> {out}");
        assert!(
            out.contains("authorization") && out.contains("true"),
            "{out}"
        );
        // Masking what was masked changes nothing.
        let mut again = evs.clone();
        mask_serde_events(
            &mut again,
            &MaskPolicy::default(),
            &mut MaskState::default(),
        );
        assert_eq!(again, evs);
    }
    // Untouched JSON text keeps its spacing and escapes.
    let clean = "{ \"a\" : \"x\\/y\" }";
    let mut evs = vec![json!({"type": 5, "timestamp": 1, "data": {"tag": "t", "payload": clean}})];
    mask_serde_events(&mut evs, &MaskPolicy::default(), &mut MaskState::default());
    assert_eq!(evs[0]["data"]["payload"], clean);
    // Deeper than the nesting cap: JSON in a string literal five times over is left to the
    // detectors (still no panic), and so is a text nested deeper than the bracket cap.
    let mut deep = secret.to_string();
    for _ in 0..6 {
        deep = serde_json::to_string(&deep).unwrap();
    }
    let brackets = format!("{}\"password\"{}", "[".repeat(100), "]".repeat(100));
    for payload in [deep, brackets, "{".repeat(10_000), "[\"\\".to_string()] {
        let mut evs =
            vec![json!({"type": 5, "timestamp": 1, "data": {"tag": "t", "payload": payload}})];
        mask_serde_events(&mut evs, &MaskPolicy::default(), &mut MaskState::default());
    }
}
