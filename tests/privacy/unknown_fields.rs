//! F4 (fuzz target `mask_events_json`, inputs in fuzz/regressions/mask_events_json/): fields
//! the walk does not expect were stored as they came. Every string the walk does not
//! interpret must be scrubbed (or dropped), in every event type, entry and node, web and
//! mobile; the fields it does interpret keep their meaning (ids, numbers, structure).

use serde_json::{json, Value};

use veilgate::privacy::{mask_serde_events, MaskPolicy, MaskState};

const PHONE: &str = "+1 415 555 0100";
const EMAIL: &str = "jane@example.com";
const NOTE: &str = "call +1 415 555 0100 or jane@example.com";

fn mask(events: &mut [Value]) -> String {
    let mut state = MaskState::default();
    mask_serde_events(events, &MaskPolicy::default(), &mut state);
    serde_json::to_string(&events).unwrap()
}

fn assert_clean(name: &str, out: &str) {
    for planted in [PHONE, EMAIL, "hunter2"] {
        if let Some(at) = out.find(planted) {
            panic!(
                "{name}: {planted:?} stored unmasked: …{}…",
                &out[at.saturating_sub(80)..(at + 40).min(out.len())]
            );
        }
    }
}

#[test]
fn fuzz_regression_inputs() {
    let inputs: [(&str, &[u8]); 2] = [
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
        for planted in [PHONE, EMAIL] {
            assert!(
                !out.contains(planted),
                "{name}: {planted} stored unmasked: {out}"
            );
        }
    }
}

fn snapshot() -> Value {
    json!({"type": 2, "timestamp": 1, "data": {"node": {"type": 0, "id": 1, "childNodes": [
        {"type": 1, "id": 2, "name": "html", "publicId": "", "systemId": ""},
        {"type": 2, "id": 3, "tagName": "html", "attributes": {}, "childNodes": [
            {"type": 2, "id": 4, "tagName": "body", "attributes": {}, "childNodes": [
                {"type": 3, "id": 5, "textContent": "Hello"},
                {"type": 2, "id": 6, "tagName": "input", "attributes": {"type": "text"},
                 "childNodes": []}
            ]}
        ]}
    ]}, "initialOffset": {"top": 0, "left": 0}}})
}

/// Every event type and every level of it, with a stray field holding PII.
#[test]
fn unknown_fields_everywhere_are_scrubbed() {
    let cases: Vec<(&str, Value)> = vec![
        (
            "event level",
            json!({"type": 3, "timestamp": 2, "note": NOTE,
            "data": {"source": 1, "positions": []}}),
        ),
        (
            "event level, no data",
            json!({"type": 3, "timestamp": 2, "note": NOTE}),
        ),
        ("snapshot data", {
            let mut s = snapshot();
            s["data"]["note"] = json!(NOTE);
            s
        }),
        ("initialOffset", {
            let mut s = snapshot();
            s["data"]["initialOffset"]["note"] = json!(NOTE);
            s
        }),
        ("document node", {
            let mut s = snapshot();
            s["data"]["node"]["note"] = json!(NOTE);
            s
        }),
        ("doctype name", {
            let mut s = snapshot();
            s["data"]["node"]["childNodes"][0]["publicId"] = json!(NOTE);
            s
        }),
        ("element node", {
            let mut s = snapshot();
            s["data"]["node"]["childNodes"][1]["note"] = json!({"deep": [NOTE]});
            s
        }),
        ("textContent on an element", {
            let mut s = snapshot();
            s["data"]["node"]["childNodes"][1]["textContent"] = json!(NOTE);
            s
        }),
        ("text node", {
            let mut s = snapshot();
            s["data"]["node"]["childNodes"][1]["childNodes"][0]["childNodes"][0]["note"] =
                json!(NOTE);
            s
        }),
        ("attribute holding an object", {
            let mut s = snapshot();
            s["data"]["node"]["childNodes"][1]["attributes"]["title"] = json!({"x": NOTE});
            s
        }),
        (
            "mutation data",
            json!({"type": 3, "timestamp": 3, "data": {"source": 0,
            "adds": [], "removes": [], "texts": [], "attributes": [], "note": NOTE}}),
        ),
        (
            "mutation add entry",
            json!({"type": 3, "timestamp": 3, "data": {"source": 0,
            "adds": [{"parentId": 4, "nextId": null, "note": NOTE,
                      "node": {"type": 3, "id": 9, "textContent": "x"}}]}}),
        ),
        (
            "mutation text entry",
            json!({"type": 3, "timestamp": 3, "data": {"source": 0,
            "texts": [{"id": 5, "value": "x", "note": NOTE}]}}),
        ),
        (
            "mutation text entry, not an object",
            json!({"type": 3, "timestamp": 3,
            "data": {"source": 0, "texts": [NOTE]}}),
        ),
        (
            "mutation text value, not a string",
            json!({"type": 3, "timestamp": 3,
            "data": {"source": 0, "texts": [{"id": 5, "value": {"v": NOTE}}]}}),
        ),
        (
            "mutation attribute entry",
            json!({"type": 3, "timestamp": 3, "data": {"source": 0,
            "attributes": [{"id": 4, "attributes": {"class": "x"}, "note": NOTE}]}}),
        ),
        (
            "mutation remove entry",
            json!({"type": 3, "timestamp": 3, "data": {"source": 0,
            "removes": [{"parentId": 4, "id": 5, "note": NOTE}]}}),
        ),
        (
            "mutation adds, not an array",
            json!({"type": 3, "timestamp": 3,
            "data": {"source": 0, "adds": {"node": {"type": 3, "textContent": NOTE}}}}),
        ),
        (
            "web add in a mutation with updates",
            json!({"type": 3, "timestamp": 3,
            "data": {"source": 0, "updates": [],
                     "adds": [{"parentId": 4, "nextId": null,
                               "node": {"type": 2, "id": 9, "tagName": "input",
                                        "attributes": {"value": "hunter2"}, "childNodes": []}}],
                     "texts": [{"id": 5, "value": NOTE}]}}),
        ),
        (
            "input",
            json!({"type": 3, "timestamp": 4, "data": {"source": 5, "id": 6,
            "text": "x", "isChecked": false, "note": NOTE}}),
        ),
        (
            "input text, not a string",
            json!({"type": 3, "timestamp": 4,
            "data": {"source": 5, "id": 6, "text": [NOTE]}}),
        ),
        (
            "mouse move",
            json!({"type": 3, "timestamp": 5, "data": {"source": 1,
            "positions": [{"x": 1, "y": 2, "id": 5, "timeOffset": 0, "note": NOTE}]}}),
        ),
        (
            "mouse interaction",
            json!({"type": 3, "timestamp": 5, "data": {"source": 2,
            "type": 1, "id": 5, "x": 1.5, "y": 2.25, "note": NOTE}}),
        ),
        (
            "scroll",
            json!({"type": 3, "timestamp": 5, "data": {"source": 3, "id": 1,
            "x": 0, "y": 10, "note": NOTE}}),
        ),
        (
            "selection",
            json!({"type": 3, "timestamp": 5, "data": {"source": 14,
            "ranges": [{"start": 5, "startOffset": 0, "end": 5, "endOffset": 2, "n": NOTE}]}}),
        ),
        (
            "style sheet rule",
            json!({"type": 3, "timestamp": 5, "data": {"source": 8,
            "id": 4, "adds": [{"rule": "body{}", "index": 0}], "note": NOTE}}),
        ),
        (
            "canvas",
            json!({"type": 3, "timestamp": 5, "data": {"source": 9, "id": 6,
            "type": 0, "commands": [], "note": NOTE}}),
        ),
        (
            "unknown source",
            json!({"type": 3, "timestamp": 5, "data": {"source": 99,
            "note": NOTE}}),
        ),
        (
            "meta",
            json!({"type": 4, "timestamp": 6, "data": {"href": "https://shop.example/",
            "width": 1, "height": 1, "note": NOTE}}),
        ),
        (
            "meta href, not a string",
            json!({"type": 4, "timestamp": 6,
            "data": {"href": {"u": NOTE}, "width": 1, "height": 1}}),
        ),
        (
            "custom",
            json!({"type": 5, "timestamp": 7, "data": {"tag": "t", "payload": {},
            "note": NOTE}}),
        ),
        (
            "asset",
            json!({"type": 7, "timestamp": 8, "data": {"url": "https://shop.example/a.png",
            "payload": {"rr_type": "CssText", "cssTexts": []}, "note": NOTE}}),
        ),
        (
            "asset failed",
            json!({"type": 7, "timestamp": 8, "data": {
            "url": "https://shop.example/a.png", "failed": {"message": NOTE}}}),
        ),
    ];
    for (name, ev) in cases {
        let mut events = vec![snapshot(), ev];
        let out = mask(&mut events);
        assert_clean(name, &out);
    }
}

#[test]
fn mobile_unknown_fields_are_scrubbed() {
    let screen = || {
        json!({"type": 2, "timestamp": 1, "data": {"wireframes": [
            {"id": 1, "kind": "view", "x": 0, "y": 0, "width": 390, "height": 844,
             "style": {"color": "#222"}, "children": [
                {"id": 2, "kind": "text", "text": "Hello", "x": 0, "y": 0, "width": 10,
                 "height": 10},
                {"id": 3, "kind": "input", "value": "", "x": 0, "y": 0, "width": 10,
                 "height": 10}
            ]}
        ]}})
    };
    let cases: Vec<(&str, Value)> = vec![
        ("snapshot data", {
            let mut s = screen();
            s["data"]["note"] = json!(NOTE);
            s
        }),
        ("updates inside a full snapshot", {
            let mut s = screen();
            s["data"]["updates"] =
                json!([{"wireframe": {"id": 3, "kind": "input", "value": PHONE}}]);
            s
        }),
        ("wireframe object field", {
            let mut s = screen();
            s["data"]["wireframes"][0]["children"][0]["extra"] =
                json!({"kind": "input", "value": NOTE});
            s
        }),
        ("wireframe array field", {
            let mut s = screen();
            s["data"]["wireframes"][0]["items"] = json!([NOTE]);
            s
        }),
        ("wireframe number field, not a number", {
            let mut s = screen();
            s["data"]["wireframes"][0]["x"] = json!([NOTE]);
            s
        }),
        ("web node next to wireframes", {
            let mut s = snapshot();
            s["data"]["wireframes"] = screen()["data"]["wireframes"].clone();
            s["data"]["node"]["childNodes"][1]["childNodes"][0]["childNodes"][0]["textContent"] =
                json!(NOTE);
            s
        }),
        (
            "mobile add entry",
            json!({"type": 3, "timestamp": 2, "data": {"source": 0,
            "adds": [{"parentId": 1, "wireframe": {"id": 9, "kind": "text", "text": "x"},
                      "note": NOTE}]}}),
        ),
        (
            "mobile update entry",
            json!({"type": 3, "timestamp": 2, "data": {"source": 0,
            "updates": [{"wireframe": {"id": 2, "kind": "text", "text": "x"}, "note": NOTE}]}}),
        ),
        (
            "mobile mutation data",
            json!({"type": 3, "timestamp": 2, "data": {"source": 0,
            "updates": [], "note": NOTE}}),
        ),
        (
            "mobile mutation with web texts",
            json!({"type": 3, "timestamp": 2,
            "data": {"source": 0, "updates": [], "texts": [{"id": 2, "value": NOTE}]}}),
        ),
    ];
    for (name, ev) in cases {
        let mut events = vec![screen(), ev];
        let out = mask(&mut events);
        assert_clean(name, &out);
    }
}

/// The fallback leaves what the walk interprets alone: ids, coordinates, timestamps, flags,
/// CSS and structure come out as they went in.
#[test]
fn known_fields_keep_their_meaning() {
    let mut events = vec![
        json!({"type": 4, "timestamp": 1_795_456_748_742u64, "delay": 0,
               "data": {"href": "https://shop.example/", "width": 1280, "height": 800}}),
        snapshot(),
        json!({"type": 3, "timestamp": 1_795_456_748_743u64, "data": {"source": 1,
               "positions": [{"x": 231.33999633789065, "y": 642.5599975585938, "id": 5,
                              "timeOffset": -12}]}}),
        json!({"type": 3, "timestamp": 1_795_456_748_744u64, "data": {"source": 2,
               "type": 1, "id": 5, "x": 4111111111111111.0, "y": 2, "pointerType": 0}}),
        json!({"type": 3, "timestamp": 1_795_456_748_745u64, "data": {"source": 7,
               "type": 0, "id": 5, "currentTime": 12.5, "volume": 1, "muted": false,
               "loop": false, "playbackRate": 1}}),
        json!({"type": 3, "timestamp": 1_795_456_748_746u64, "data": {"source": 8,
               "id": 4, "adds": [{"rule": "a { color: rgb(1, 2, 3) }", "index": 0}]}}),
        json!({"type": 3, "timestamp": 1_795_456_748_747u64, "data": {"source": 0,
               "adds": [], "removes": [{"parentId": 4, "id": 5}], "texts": [],
               "attributes": [{"id": 4, "attributes": {"style": {"color": "red"}}}]}}),
    ];
    let before = events.clone();
    mask(&mut events);
    assert_eq!(events, before);
}
