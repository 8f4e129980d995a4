//! Inputs found by fuzzing (`fuzz/`, see docs/FUZZING.md), kept as regression tests of the
//! invariant each one broke. The inputs live under `fuzz/regressions/<target>/`.

use serde_json::Value;

use veilgate::envelope::{self, Envelope, Limits};

/// F1 (fuzz target `envelope`): a beacon whose events hold a lone UTF-16 surrogate escape
/// (`"\ud800"`, `"\udc00"`) or a number beyond f64 (`1e999`) passes `prescan` and
/// `Envelope::parse` (the events stay raw, and serde_json neither decodes the escapes nor the
/// numbers it skips), but the session object's parse of the same events into trees
/// (`from_slice_prescanned::<Vec<Value>>`, before masking) refuses it. An
/// envelope that `Envelope::parse` accepts must be one the masking step can read: either
/// refuse it at the edge, or accept it all the way. Fixed on main: `prescan` refuses unpaired
/// surrogate escapes and out-of-range numbers (`malformed_json`).
#[test]
fn envelope_accepts_only_events_the_session_object_can_parse() {
    let inputs: [(&str, &[u8]); 5] = [
        (
            "number-out-of-range.json",
            include_bytes!("../../fuzz/regressions/envelope/number-out-of-range.json"),
        ),
        (
            "number-out-of-range-found.json",
            include_bytes!("../../fuzz/regressions/envelope/number-out-of-range-found.json"),
        ),
        (
            "lone-leading-surrogate.json",
            include_bytes!("../../fuzz/regressions/envelope/lone-leading-surrogate.json"),
        ),
        (
            "lone-trailing-surrogate.json",
            include_bytes!("../../fuzz/regressions/envelope/lone-trailing-surrogate.json"),
        ),
        (
            "lone-surrogate-in-key-found.json",
            include_bytes!("../../fuzz/regressions/envelope/lone-surrogate-in-key-found.json"),
        ),
    ];
    let limits = Limits::default();
    for (name, body) in inputs {
        if envelope::prescan(body, &limits).is_err() {
            continue; // refused at the edge: fine
        }
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

/// F2 (fuzz target `mask_url`): in a run of more groups than one IP address, the IP
/// detectors mask only the trailing address and leave the well-formed address before it in
/// clear: `10.0.0.1.10.0.0.2` → `10.0.0.1.********`, and of 16 colon-separated hex groups
/// only the last 8; likewise a long `0111-0111-…` run (phone forms) is masked only at its
/// end. Masking the output again masks more, so masking is not idempotent.
/// The same holds for text (`detect::scrub`) where digits are recorded (`record.numbers`).
#[test]
fn ip_detectors_mask_every_address_in_a_run() {
    use veilgate::privacy::detect::{scrub, Detect};
    use veilgate::privacy::{mask_url, MaskPolicy};
    let inputs: [(&str, &[u8]); 5] = [
        (
            "dash-digit-run",
            include_bytes!("../../fuzz/regressions/mask_url/dash-digit-run"),
        ),
        (
            "ipv6-long-colon-hex-run",
            include_bytes!("../../fuzz/regressions/mask_url/ipv6-long-colon-hex-run"),
        ),
        (
            "ipv6-long-colon-hex-run-found",
            include_bytes!("../../fuzz/regressions/mask_url/ipv6-long-colon-hex-run-found"),
        ),
        (
            "ipv4-dotted-run",
            include_bytes!("../../fuzz/regressions/mask_url/ipv4-dotted-run"),
        ),
        (
            "ipv4-dotted-run-found",
            include_bytes!("../../fuzz/regressions/mask_url/ipv4-dotted-run-found"),
        ),
    ];
    let policy = MaskPolicy::default();
    for (name, url) in inputs {
        let url = String::from_utf8_lossy(url);
        let once = mask_url(&url, &policy);
        let twice = mask_url(&once, &policy);
        assert_eq!(once, twice, "{name}: mask_url is not idempotent");
    }
    let text = Detect {
        numbers: false,
        ..Detect::ALL
    };
    let once = scrub("10.0.0.1.10.0.0.2", text).into_owned();
    assert!(
        !once.contains("10.0.0.1"),
        "an IPv4 address stayed in clear: {once}"
    );
}

/// F3 (fuzz target `mask_url`): a URL whose host opens an IPv6 bracket and never closes it
/// (`https://[7.0.0.1`) comes back with a `]` added (`https://[*******]`): masking must keep
/// the URL's structure and length (one `*` per masked character, nothing added).
#[test]
fn mask_url_never_adds_characters() {
    use veilgate::privacy::{mask_url, MaskPolicy};
    let inputs: [(&str, &[u8]); 2] = [
        (
            "unclosed-bracket-host",
            include_bytes!("../../fuzz/regressions/mask_url/unclosed-bracket-host"),
        ),
        (
            "unclosed-bracket-host-found",
            include_bytes!("../../fuzz/regressions/mask_url/unclosed-bracket-host-found"),
        ),
    ];
    for (name, data) in inputs {
        // The fuzz input is `url 0xFF policy`; the URL is its first part.
        let url = String::from_utf8_lossy(data.split(|&b| b == 0xFF).next().unwrap_or(&[]));
        let out = mask_url(&url, &MaskPolicy::default());
        assert!(
            out.chars().count() <= url.chars().count(),
            "{name}: mask_url lengthened the URL: {url:?} -> {out:?}"
        );
    }
}

/// F4 (fuzz target `mask_events_json`): fields the walk does not expect in an event are
/// stored as they came, unmasked — a never-relaxable phone number and an email pass through
/// in `data.note` of a full snapshot, an Input, a Mutation or a Meta event, in an unknown
/// field of a snapshot node, and in a mobile `updates` list sent inside a full snapshot or a
/// MouseMove (source 1) event, `wireframes` sent in a Meta event, and attribute values that
/// are not strings (`"title": {"nested": "+1 415 555 0100"}`, `"src": ["jane@…"]`).
/// PRIVACY.md: "whatever it cannot interpret it masks more"; ARCHITECTURE.md: "nothing
/// unmasked is written". Unknown fields must be scrubbed (or dropped).
#[test]
fn mask_events_scrubs_fields_it_does_not_know() {
    use veilgate::privacy::{mask_serde_events, MaskPolicy, MaskState};
    let inputs: [(&str, &[u8]); 4] = [
        (
            "wireframes-in-meta-found.json",
            include_bytes!("../../fuzz/regressions/mask_events_json/wireframes-in-meta-found.json"),
        ),
        (
            "mutation-fields-in-mousemove-found.json",
            include_bytes!(
                "../../fuzz/regressions/mask_events_json/mutation-fields-in-mousemove-found.json"
            ),
        ),
        (
            "unknown-fields.json",
            include_bytes!("../../fuzz/regressions/mask_events_json/unknown-fields.json"),
        ),
        (
            "update-in-full-snapshot-found.json",
            include_bytes!(
                "../../fuzz/regressions/mask_events_json/update-in-full-snapshot-found.json"
            ),
        ),
    ];
    for (name, data) in inputs {
        let mut events: Vec<Value> = serde_json::from_slice(data).unwrap();
        let mut state = MaskState::default();
        mask_serde_events(&mut events, &MaskPolicy::default(), &mut state);
        let out = serde_json::to_string(&events).unwrap();
        for planted in ["+1 415 555 0100", "jane@example.com", "4111 1111"] {
            let at = out.find(planted);
            assert!(
                at.is_none(),
                "{name}: {planted:?} stored unmasked: …{}…",
                &out[at.unwrap().saturating_sub(60)..(at.unwrap() + 40).min(out.len())]
            );
        }
    }
}

/// F5 (fuzz target `mask_events_json`, after the walk moved to the borrowed tree): a
/// timestamp of 23 digits changed its value through `mask_serde_events` — serde_json's
/// default float parser is not correctly rounded, so its own output read back was another
/// f64. Fixed with serde_json's `float_roundtrip`; the borrowed tree keeps number text as
/// recorded, so the stored chunk never had the problem.
#[test]
fn masking_keeps_every_timestamp() {
    use veilgate::privacy::{mask_events, mask_serde_events, MaskPolicy, MaskState};
    let data =
        include_str!("../../fuzz/regressions/mask_events_json/float-text-roundtrip-found.json");
    let mut events: Vec<Value> = serde_json::from_str(data).unwrap();
    let before: Vec<Option<Value>> = events.iter().map(|e| e.get("timestamp").cloned()).collect();
    mask_serde_events(
        &mut events,
        &MaskPolicy::default(),
        &mut MaskState::default(),
    );
    let after: Vec<Option<Value>> = events.iter().map(|e| e.get("timestamp").cloned()).collect();
    assert_eq!(before, after);

    let mut tree = veilgate::json::array_from_str(data).unwrap();
    mask_events(&mut tree, &MaskPolicy::default(), &mut MaskState::default());
    let first = tree[0].get("timestamp").unwrap().to_string();
    assert_eq!(first, "17954567081205456708309");
}
