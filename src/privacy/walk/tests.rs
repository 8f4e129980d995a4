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
