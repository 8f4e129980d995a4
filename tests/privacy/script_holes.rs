//! Script the neutralizer used to miss (issue 22 item 6), in full snapshots, mutation adds and
//! attribute mutations: SVG animation `values` lists (and `from`/`to`/`by`), refresh
//! `<meta>` elements, and `data:image/svg+xml` documents in `<use href>`.

use serde_json::{json, Value};

use veilgate::privacy::{mask_serde_events, MaskPolicy, MaskState};

use crate::events::el;

/// What a replayer allowing scripts would run: none of it may be stored.
const LIVE: &[&str] = &[
    "javascript:",
    "text/html",
    "image/svg+xml",
    "refresh",
    "alert(",
];

fn svg(id: u32, tag: &str, attrs: Value) -> Value {
    json!({"type": 2, "id": id, "tagName": tag, "isSVG": true, "attributes": attrs, "childNodes": []})
}

/// The hostile elements, ids from `id0`.
fn hostile(id0: u32) -> Vec<Value> {
    let svg_doc = "data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' id='x'><script>alert(1)</script></svg>#x";
    vec![
        svg(
            id0,
            "animate",
            json!({"attributeName": "href", "values": "#a;javascript:alert(1)"}),
        ),
        svg(
            id0 + 1,
            "animate",
            json!({"attributeName": "href", "values": "#a; JaVa\tScript:alert(2) ;#b"}),
        ),
        svg(
            id0 + 2,
            "animate",
            json!({"attributeName": "href", "values": "#a&#59;javascript&#58;alert(3)"}),
        ),
        svg(
            id0 + 3,
            "animate",
            json!({"attributeName": "href", "from": "#a", "to": "javascript:alert(4)"}),
        ),
        svg(
            id0 + 4,
            "animate",
            json!({"attributeName": "href", "by": "javascript:alert(5)"}),
        ),
        svg(
            id0 + 5,
            "set",
            json!({"attributeName": "href", "to": "data:text/html,<script>alert(6)</script>"}),
        ),
        svg(
            id0 + 6,
            "animate",
            json!({"attributeName": "href", "values": "#a;data:text/html,<b>x</b>"}),
        ),
        el(
            id0 + 7,
            "meta",
            json!({"http-equiv": "refresh", "content": "0;url=data:text/html,<script>alert(7)</script>"}),
            vec![],
        ),
        el(
            id0 + 8,
            "meta",
            json!({"http-equiv": " Refresh ", "content": "1; URL = 'javascript:alert(8)'"}),
            vec![],
        ),
        el(
            id0 + 9,
            "meta",
            json!({"http-equiv": "&#82;efresh", "content": "0,data:text/html;base64,PHNjcmlwdD4="}),
            vec![],
        ),
        svg(id0 + 10, "use", json!({"href": svg_doc})),
        svg(id0 + 11, "use", json!({"xlink:href": svg_doc})),
    ]
}

fn snapshot(body: Vec<Value>) -> Value {
    json!({"type": 2, "timestamp": 1, "data": {"initialOffset": {"top": 0, "left": 0}, "node": {
    "type": 0, "id": 1, "childNodes": [
        el(3, "html", json!({}), vec![el(4, "head", json!({}), vec![]), el(7, "body", json!({}), body)]),
    ]}}})
}

fn mask(mut evs: Vec<Value>) -> Vec<Value> {
    mask_serde_events(&mut evs, &MaskPolicy::default(), &mut MaskState::default());
    evs
}

fn assert_inert(evs: &[Value]) {
    let text = serde_json::to_string(evs).unwrap().to_ascii_lowercase();
    for needle in LIVE {
        assert!(!text.contains(needle), "{needle:?} stored: {text}");
    }
}

#[test]
fn animation_values_refresh_metas_and_svg_use_documents_in_a_full_snapshot() {
    let evs = mask(vec![snapshot(hostile(10))]);
    assert_inert(&evs);
    // Structure kept: every element still there, harmless attributes kept.
    let text = serde_json::to_string(&evs).unwrap();
    for id in 10..22 {
        assert!(
            crate::events::node(&evs, id).is_some(),
            "node {id} lost: {text}"
        );
    }
    let n = crate::events::node(&evs, 13).unwrap();
    assert_eq!(n["attributes"]["from"], "#a");
    assert_eq!(n["attributes"]["attributeName"], "href");
}

#[test]
fn the_same_in_mutation_adds() {
    let adds: Vec<Value> = hostile(30)
        .into_iter()
        .map(|n| json!({"parentId": 7, "nextId": null, "node": n}))
        .collect();
    let evs = mask(vec![
        snapshot(vec![]),
        json!({"type": 3, "timestamp": 2, "data": {"source": 0, "adds": adds, "texts": [], "attributes": [], "removes": []}}),
    ]);
    assert_inert(&evs);
}

#[test]
fn the_same_in_attribute_mutations() {
    // Attribute mutations carry no tag name: the rules hold for an unknown element too.
    let attrs: Vec<Value> = hostile(10)
        .into_iter()
        .map(|n| json!({"id": n["id"], "attributes": n["attributes"]}))
        .collect();
    let evs = mask(vec![
        snapshot(hostile(10)),
        json!({"type": 3, "timestamp": 2, "data": {"source": 0, "adds": [], "texts": [], "attributes": attrs, "removes": []}}),
    ]);
    assert_inert(&evs);
}

#[test]
fn harmless_lists_metas_and_images_are_kept() {
    let evs = mask(vec![snapshot(vec![
        svg(
            10,
            "animate",
            json!({"attributeName": "fill", "values": "red;blue;#00ff00"}),
        ),
        svg(
            11,
            "feColorMatrix",
            json!({"type": "matrix", "values": "1 0 0 0 0 0 1 0 0 0"}),
        ),
        el(
            12,
            "meta",
            json!({"name": "viewport", "content": "width=device-width"}),
            vec![],
        ),
        el(
            13,
            "meta",
            json!({"http-equiv": "content-type", "content": "text/html; charset=utf-8"}),
            vec![],
        ),
        svg(14, "use", json!({"href": "#icon-cart"})),
        svg(15, "image", json!({"href": "data:image/svg+xml,<svg/>"})),
    ])]);
    let a = |id| crate::events::node(&evs, id).unwrap()["attributes"].clone();
    assert_eq!(a(10)["values"], "red;blue;#00ff00");
    assert_eq!(a(11)["values"], "1 0 0 0 0 0 1 0 0 0");
    assert_eq!(a(12)["content"], "width=device-width");
    assert_eq!(a(13)["http-equiv"], "content-type");
    // (The digit goes to the text rule, as in any `content`.)
    assert!(a(13)["content"]
        .as_str()
        .unwrap()
        .starts_with("text/html; charset=utf-"));
    assert_eq!(a(14)["href"], "#icon-cart");
    assert_eq!(a(15)["href"], "data:image/svg+xml,<svg/>");
}
