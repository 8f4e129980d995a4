//! Inputs found by fuzzing (`fuzz/`, see docs/FUZZING.md), kept as regression tests of the
//! invariant each one broke. The inputs live under `fuzz/regressions/<target>/`.

use serde_json::Value;

use veilgate::envelope::{self, Envelope, Limits};

/// F1 (fuzz target `envelope`): a beacon whose events hold a lone UTF-16 surrogate escape
/// (`"\ud800"`, `"\udc00"`) passes `prescan` and `Envelope::parse` (the events stay raw and
/// serde_json does not decode escapes it skips), but the session object's parse of the same
/// events into trees (`from_slice_prescanned::<Vec<Value>>`, before masking) refuses it. An
/// envelope that `Envelope::parse` accepts must be one the masking step can read: either
/// refuse it at the edge (`invalid_events`), or accept it all the way.
#[test]
fn envelope_accepts_only_events_the_session_object_can_parse() {
    let inputs: [(&str, &[u8]); 3] = [
        (
            "lone-leading-surrogate.json",
            include_bytes!("../fuzz/regressions/envelope/lone-leading-surrogate.json"),
        ),
        (
            "lone-trailing-surrogate.json",
            include_bytes!("../fuzz/regressions/envelope/lone-trailing-surrogate.json"),
        ),
        (
            "lone-surrogate-in-key-found.json",
            include_bytes!("../fuzz/regressions/envelope/lone-surrogate-in-key-found.json"),
        ),
    ];
    let limits = Limits::default();
    for (name, body) in inputs {
        envelope::prescan(body, &limits).unwrap();
        let Ok((env, _)) = Envelope::parse(body, &limits) else {
            continue; // refused at the edge: fine
        };
        let trees = envelope::from_slice_prescanned::<Vec<Value>>(env.events.get().as_bytes());
        assert!(
            trees.is_ok(),
            "{name}: Envelope::parse accepted events that do not parse as JSON trees: {:?}",
            trees.err()
        );
    }
}
