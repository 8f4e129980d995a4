//! Planted values everywhere a recording can carry them — typed values, query values, ids in
//! paths, emails and record numbers in ids, classes and event names, error messages and
//! sources, mobile identifiers, the visitor id in props and attributes — and none reaches an
//! analytics output: not a row, not the summary, not the cross-chunk state (stored in the
//! session object). (A name in plain markup, e.g. a class `Zebulon`, cannot be told from a
//! design token, as in docs/PRIVACY.md; names are planted where a server can know them.)

use serde_json::json;

use crate::support::*;

const PLANTED: &[&str] = &[
    "jane.planted@example.com",
    "Zebulon",
    "Quintavious",
    "987654",
    "123e4567-e89b-12d3-a456-426614174000",
    "a1b2c3d4e5f6a7b8c9",
    "plantedtok",
    "5f3a9c1e7b",
    "4111111111111111",
    "v_3kd9x0a1b2c3d4e5f6g7h8i9",
    "sess_planted",
    "planted",
];

#[test]
fn planted_values_reach_no_output() {
    let href = "https://shop.example/account/987654/orders/a1b2c3d4e5f6a7b8c9/\
                123e4567-e89b-12d3-a456-426614174000/jane.planted%40example.com\
                ?token=plantedtok_5f3a9c1e7b&email=jane.planted@example.com&q=Zebulon#Quintavious";
    let node = |id: u64, tag: &str, attrs: serde_json::Value, kids: Vec<serde_json::Value>| json!({"type": 2, "id": id, "tagName": tag, "attributes": attrs, "childNodes": kids});
    let text = |id: u64, s: &str| json!({"type": 3, "id": id, "textContent": s});
    let body = node(
        4,
        "body",
        json!({"data-visitor": "v_3kd9x0a1b2c3d4e5f6g7h8i9"}),
        vec![
            node(
                5,
                "button",
                json!({"id": "jane.planted@example.com", "class": "btn plantedclass4111111111111111 user-987654 a1b2c3d4e5f6a7b8c9 v_3kd9x0a1b2c3d4e5f6g7h8i9"}),
                vec![text(6, "Pay Zebulon Quintavious 4111111111111111")],
            ),
            node(
                7,
                "input",
                json!({"id": "sess_planted_a1b2", "type": "text", "name": "Zebulon", "value": "Zebulon Quintavious"}),
                vec![],
            ),
            node(
                8,
                "a",
                json!({"href": href, "class": "nav", "title": "jane.planted@example.com"}),
                vec![text(9, "jane.planted@example.com")],
            ),
        ],
    );
    let mut ev = vec![
        json!({"type": 4, "timestamp": 1_000, "data": {"href": href, "width": 1280, "height": 800}}),
        json!({"type": 2, "timestamp": 1_000, "data": {"node": {"type": 0, "id": 1, "childNodes": [
            node(2, "html", json!({}), vec![node(3, "head", json!({}), vec![]), body])]}}}),
    ];
    for (i, v) in [
        "Z",
        "Ze",
        "Zebulon",
        "Zebulon Quintavious",
        "jane.planted@example.com",
    ]
    .iter()
    .enumerate()
    {
        ev.push(input(2_000 + i as u64 * 100, 7, v));
    }
    ev.push(click(3_000, 5, 10.0, 10.0));
    ev.push(click(3_100, 5, 10.0, 10.0));
    ev.push(click(3_200, 5, 10.0, 10.0));
    ev.push(click(3_300, 8, 10.0, 10.0));
    ev.push(json!({"type": 3, "timestamp": 3_400, "data": {"source": 0, "adds": [{"parentId": 4, "nextId": null,
        "node": node(20, "div", json!({"id": "order-987654", "class": "jane.planted@example.com sess_planted_77x9"}), vec![])}],
        "removes": [], "texts": [], "attributes": [{"id": 5, "attributes": {"class": "sess_planted_a1b2 ok"}}]}}));
    ev.push(click(3_500, 20, 10.0, 10.0));
    ev.push(custom(
        3_600,
        "signup jane.planted@example.com 987654",
        json!({"visitor": "v_3kd9x0a1b2c3d4e5f6g7h8i9", "email": "jane.planted@example.com"}),
    ));
    ev.push(custom(
        3_700,
        "error",
        json!({"message": "failed for jane.planted@example.com card 4111111111111111",
               "source": "https://shop.example/static/app.js?session=sess_planted_a1b2#Zebulon",
               "line": 1, "col": 2}),
    ));
    ev.push(mouse_move(9_000));
    let mut s = Session::new();
    s.chunk(&ev);
    // A mobile screen in the same session: identifiers and values planted too.
    s.chunk(&[
        json!({"type": 4, "timestamp": 10_000, "data": {"href": "app://com.shop.app/Profile/987654?user=jane.planted@example.com", "width": 390, "height": 844}}),
        json!({"type": 2, "timestamp": 10_000, "data": {"wireframes": [{"id": 1, "kind": "view", "children": [
            {"id": 2, "kind": "button", "identifier": "jane.planted@example.com", "text": "Zebulon"},
            {"id": 3, "kind": "input", "identifier": "v_3kd9x0a1b2c3d4e5f6g7h8i9", "value": "Zebulon Quintavious"}]}]}}),
        json!({"type": 3, "timestamp": 10_100, "data": {"source": 2, "type": 9, "id": 2, "x": 1, "y": 1}}),
        json!({"type": 3, "timestamp": 10_200, "data": {"source": 5, "id": 3, "text": "Zebulon Quintavious"}}),
    ]);
    s.finish();

    // The extraction did see all of it: the rows exist, only without the data.
    assert!(s.summary.clicks >= 6, "{:?}", s.summary);
    assert_eq!(s.summary.errors, 1);
    assert!(s.summary.rage >= 1);
    assert!(s
        .rows
        .iter()
        .any(|r| matches!(r, veilgate::analytics::Row::Input { .. })));
    assert_eq!(
        s.summary.entry.as_deref(),
        Some("/account/:id/orders/:id/:id/:id")
    );

    let outputs = [
        serde_json::to_string(&s.rows).unwrap(),
        serde_json::to_string(&s.summary).unwrap(),
        serde_json::to_string(&s.state).unwrap(),
    ];
    for out in &outputs {
        for p in PLANTED {
            assert!(
                !out.to_lowercase().contains(&p.to_lowercase()),
                "{p:?} reached an output: {out}"
            );
        }
    }
    // What is kept is structure: tags, safe classes, the error's file name.
    assert!(
        outputs[0].contains(r#"{"tag":"button","classes":["btn"]}"#),
        "{}",
        outputs[0]
    );
    assert!(
        outputs[0].contains("\"source\":\"app.js\""),
        "{}",
        outputs[0]
    );
}
