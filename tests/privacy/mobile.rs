//! Mobile wireframe events (docs/MOBILE.md) masked by the same rules as the web.

use serde_json::{json, Value};

use veilgate::privacy::{mask_serde_events, Action, MaskPolicy, MaskState, Record, Rule};

fn screen() -> Value {
    json!({"type": 2, "timestamp": 1, "data": {"initialOffset": {"top": 0, "left": 0}, "wireframes": [
        {"id": 1, "kind": "view", "x": 0, "y": 0, "width": 390, "height": 844, "children": [
            {"id": 2, "kind": "text", "text": "Hello Jane, your order 118842", "x": 10, "y": 10, "width": 200, "height": 20},
            {"id": 3, "kind": "input", "inputType": "email", "value": "jane@example.com", "placeholder": "Email", "label": "Email address"},
            {"id": 4, "kind": "input", "inputType": "password", "value": "hunter2"},
            {"id": 5, "kind": "view", "sensitive": true, "children": [
                {"id": 6, "kind": "text", "text": "Card 4111 1111 1111 1111"},
                {"id": 7, "kind": "image", "base64": "iVBORw0KGgoAAAA", "width": 40, "height": 40},
            ]},
            {"id": 8, "kind": "image", "src": "https://cdn.example/avatar.png?email=jane%40example.com", "base64": "iVBORw0KGgoBBBB"},
            {"id": 9, "kind": "web_view", "identifier": "chat", "children": [
                {"id": 10, "kind": "text", "text": "chat with Jane"},
            ]},
        ]},
    ]}})
}

fn run(evs: Vec<Value>, p: &MaskPolicy, st: &mut MaskState) -> Vec<Value> {
    let mut evs = evs;
    mask_serde_events(&mut evs, p, st);
    evs
}

#[test]
fn screen_snapshot_default_policy() {
    let mut st = MaskState::default();
    let evs = run(
        vec![
            json!({"type": 4, "timestamp": 0, "data": {"href": "app://com.shop/Checkout?email=jane@example.com", "width": 390, "height": 844}}),
            screen(),
        ],
        &MaskPolicy::default(),
        &mut st,
    );
    let out = serde_json::to_string(&evs).unwrap();
    for leak in [
        "jane@example.com",
        "jane%40example.com",
        "hunter2",
        "4111",
        "118842",
        "AAAA",
    ] {
        assert!(!out.contains(leak), "{leak}: {out}");
    }
    let w = &evs[1]["data"]["wireframes"][0]["children"];
    assert_eq!(w[0]["text"], "Hello Jane, your order ******");
    assert_eq!(w[1]["value"], "****************");
    assert_eq!(w[1]["placeholder"], "Email");
    assert_eq!(w[2]["value"], "*******");
    assert_eq!(w[3]["children"][0]["text"], "**** **** **** **** ****");
    assert!(
        w[3]["children"][1].get("base64").is_none(),
        "sensitive images dropped"
    );
    assert_eq!(w[3]["children"][1]["width"], 40);
    assert_eq!(w[4]["base64"], "iVBORw0KGgoBBBB", "ordinary images kept");
    assert_eq!(
        w[4]["src"],
        "https://cdn.example/avatar.png?email=******************"
    );
}

#[test]
fn incremental_updates_input_and_rules() {
    let p = MaskPolicy {
        record: Record {
            forms: true,
            ..Default::default()
        },
        rules: vec![
            Rule {
                selector: "web_view[identifier=chat]".into(),
                action: Action::Exclude,
            },
            Rule {
                selector: "[identifier=promo]".into(),
                action: Action::Unmask,
            },
        ],
        ..Default::default()
    };
    let mut st = MaskState::default();
    let evs = run(vec![screen()], &p, &mut st);
    let w = &evs[0]["data"]["wireframes"][0]["children"];
    assert_eq!(
        w[1]["value"], "****************",
        "emails still masked in recorded forms"
    );
    assert_eq!(w[5]["children"], json!([]), "excluded web view emptied");
    assert_eq!(w[2]["value"], "*******", "passwords never relax");
    // Chunk 2: updates, adds, input events.
    let evs = run(
        vec![
            json!({"type": 3, "timestamp": 2, "data": {"source": 0,
                "adds": [
                    {"parentId": 5, "wireframe": {"id": 20, "kind": "text", "text": "IBAN DE89 3704 0044 0532 0130 00"}},
                    {"parentId": 9, "wireframe": {"id": 21, "kind": "text", "text": "new chat line"}},
                    {"parentId": 1, "wireframe": {"id": 22, "kind": "text", "text": "Shipping to Jane"}},
                ],
                "updates": [
                    {"wireframe": {"id": 6, "kind": "text", "text": "Card 5555 5555 5555 4444"}},
                    {"wireframe": {"id": 2, "kind": "text", "text": "Hi Jane 42"}},
                ],
                "removes": [{"parentId": 1, "id": 8}]}}),
            json!({"type": 3, "timestamp": 3, "data": {"source": 5, "id": 3, "text": "jane2@example.com", "isChecked": false}}),
            json!({"type": 3, "timestamp": 3, "data": {"source": 5, "id": 4, "text": "hunter3", "isChecked": false}}),
            json!({"type": 3, "timestamp": 4, "data": {"source": 2, "type": 7, "id": 3, "x": 10, "y": 20}}),
        ],
        &p,
        &mut st,
    );
    let d = &evs[0]["data"];
    assert_eq!(
        d["adds"].as_array().unwrap().len(),
        2,
        "add under excluded view dropped"
    );
    assert_eq!(
        d["adds"][0]["wireframe"]["text"],
        "**** **** **** **** **** **** **"
    );
    assert_eq!(d["adds"][1]["wireframe"]["text"], "Shipping to Jane");
    assert_eq!(
        d["updates"][0]["wireframe"]["text"],
        "**** **** **** **** ****"
    );
    assert_eq!(d["updates"][1]["wireframe"]["text"], "Hi Jane **");
    assert_eq!(evs[1]["data"]["text"], "*****************");
    assert_eq!(evs[2]["data"]["text"], "*******");
    assert_eq!(evs[3]["data"]["x"], 10);
}
