//! One value planted in every place a string can live in rrweb events — node kinds (document,
//! doctype, element, text, CDATA, comment, style text, unknown), attributes by class (text,
//! URL, CSS, names, attribute names, unknown), full snapshots, mutation adds / texts /
//! attributes, CSSOM events (rules, declarations, adopted sheets, fonts), input, meta, custom,
//! plugin (console, network, unknown), log, canvas, asset and annotation events, unknown
//! fields — must come out masked. A refactor of the walk that loses a path fails here, naming
//! the place.
//!
//! The canaries: an email, a payment card, an API key, and, in free-text places, JSON text
//! whose secret is only known by its key (`{"authorization":"opensesame…"}`: no detector
//! reads `opensesame`), as it is or as a JSON string literal (the console plugin stringifies
//! a logged string).

use serde_json::{json, Value};

use veilgate::privacy::{mask_serde_events, MaskPolicy, MaskState};

use crate::events::{el, txt};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Canary {
    Email,
    Card,
    ApiKey,
    /// JSON text with a secret under a sensitive key.
    Json,
    /// The same JSON text as a JSON string literal (stringified twice).
    JsonLiteral,
}

impl Canary {
    fn planted(self) -> String {
        match self {
            Canary::Email => "canary.8473@example.org".into(),
            Canary::Card => "4111 1111 1111 1111".into(),
            Canary::ApiKey => "sk_live_4eC39HqLyjWDarjtT1zdp7dc".into(),
            Canary::Json => r#"{"authorization":"opensesamecanary","ok":true}"#.into(),
            Canary::JsonLiteral => serde_json::to_string(&Canary::Json.planted()).unwrap(),
        }
    }

    /// What must not be stored.
    fn needle(self) -> &'static str {
        match self {
            Canary::Email => "canary.8473",
            Canary::Card => "1111 1111",
            Canary::ApiKey => "4eC39HqLyjWDarjtT1zdp7dc",
            Canary::Json | Canary::JsonLiteral => "opensesamecanary",
        }
    }

    /// Masked whatever the policy records (always-on detectors, key masking).
    fn always_on(self) -> bool {
        self != Canary::Email
    }
}

use Canary::*;

const ALL: &[Canary] = &[Email, Card, ApiKey, Json, JsonLiteral];
/// CSS, URLs, names and layout strings: no JSON there.
const PLAIN: &[Canary] = &[Email, Card, ApiKey];
/// Names (class, id, attribute names): no spaces in a name.
const NAME: &[Canary] = &[Email, ApiKey];

type Build = fn(&str) -> Vec<Value>;

fn page(body: Vec<Value>, head: Vec<Value>) -> Value {
    json!({"type": 2, "timestamp": 1, "data": {"initialOffset": {"top": 0, "left": 0}, "node": {
    "type": 0, "id": 1, "childNodes": [
        {"type": 1, "id": 2, "name": "html", "publicId": "", "systemId": ""},
        el(3, "html", json!({}), vec![el(4, "head", json!({}), head), el(7, "body", json!({}), body)]),
    ]}}})
}

fn snap(body: Vec<Value>) -> Value {
    page(body, vec![])
}

/// The page every mutation place starts from: a style element (20, text 21), a paragraph
/// (22, text 23), an input (24).
fn base() -> Value {
    page(
        vec![
            el(22, "p", json!({"class": "note"}), vec![txt(23, "hello")]),
            el(24, "input", json!({"type": "text"}), vec![]),
        ],
        vec![el(
            20,
            "style",
            json!({}),
            vec![json!({"type": 3, "id": 21, "textContent": ".a{color:red}", "isStyle": true})],
        )],
    )
}

fn incr(data: Value) -> Value {
    json!({"type": 3, "timestamp": 2, "data": data})
}

fn mutation(data: Value) -> Vec<Value> {
    let mut d = json!({"source": 0, "adds": [], "texts": [], "attributes": [], "removes": []});
    for (k, v) in data.as_object().unwrap() {
        d[k] = v.clone();
    }
    vec![base(), incr(d)]
}

fn add(node: Value) -> Vec<Value> {
    mutation(json!({"adds": [{"parentId": 7, "nextId": null, "node": node}]}))
}

fn css(p: &str) -> String {
    format!(".user-badge::after {{ content: \"{p}\"; }}")
}

fn places() -> Vec<(&'static str, &'static [Canary], Build)> {
    vec![
        // ---- full snapshot: nodes ------------------------------------------------------
        ("snapshot doctype publicId", PLAIN, |p| {
            let mut s = snap(vec![]);
            s["data"]["node"]["childNodes"][0]["publicId"] = json!(p);
            vec![s]
        }),
        ("snapshot document compatMode", PLAIN, |p| {
            let mut s = snap(vec![]);
            s["data"]["node"]["compatMode"] = json!(p);
            vec![s]
        }),
        ("snapshot text node", ALL, |p| {
            vec![snap(vec![el(10, "p", json!({}), vec![txt(11, p)])])]
        }),
        ("snapshot CDATA node", ALL, |p| {
            vec![snap(vec![el(
                10,
                "p",
                json!({}),
                vec![json!({"type": 4, "id": 11, "textContent": p})],
            )])]
        }),
        ("snapshot comment node", ALL, |p| {
            vec![snap(vec![json!({"type": 5, "id": 10, "textContent": p})])]
        }),
        ("snapshot unknown node type", ALL, |p| {
            vec![snap(vec![json!({"type": 9, "id": 10, "textContent": p})])]
        }),
        ("snapshot unknown node field", ALL, |p| {
            vec![snap(vec![
                json!({"type": 2, "id": 10, "tagName": "p", "attributes": {}, "childNodes": [], "extra": p}),
            ])]
        }),
        ("snapshot style text (isStyle)", PLAIN, |p| {
            vec![page(
                vec![],
                vec![el(
                    10,
                    "style",
                    json!({}),
                    vec![json!({"type": 3, "id": 11, "textContent": css(p), "isStyle": true})],
                )],
            )]
        }),
        ("snapshot style text (no isStyle)", PLAIN, |p| {
            vec![page(
                vec![],
                vec![el(10, "style", json!({}), vec![txt(11, &css(p))])],
            )]
        }),
        ("snapshot style _cssText", PLAIN, |p| {
            vec![page(
                vec![],
                vec![el(10, "style", json!({"_cssText": css(p)}), vec![])],
            )]
        }),
        ("snapshot link _cssText", PLAIN, |p| {
            vec![page(
                vec![],
                vec![el(
                    10,
                    "link",
                    json!({"rel": "stylesheet", "href": "/a.css", "_cssText": css(p)}),
                    vec![],
                )],
            )]
        }),
        ("snapshot style attribute", PLAIN, |p| {
            vec![snap(vec![el(
                10,
                "div",
                json!({"style": format!("color: red; --who: \"{p}\"")}),
                vec![],
            )])]
        }),
        (
            "snapshot style attribute, custom property unquoted",
            &[Email, ApiKey],
            |p| {
                vec![snap(vec![el(
                    10,
                    "div",
                    json!({"style": format!("--who:{p}")}),
                    vec![],
                )])]
            },
        ),
        ("snapshot textarea text", ALL, |p| {
            vec![snap(vec![el(10, "textarea", json!({}), vec![txt(11, p)])])]
        }),
        ("snapshot title attribute", ALL, |p| {
            vec![snap(vec![el(10, "p", json!({"title": p}), vec![])])]
        }),
        ("snapshot data-* attribute", ALL, |p| {
            vec![snap(vec![el(10, "p", json!({"data-state": p}), vec![])])]
        }),
        ("snapshot unknown attribute", PLAIN, |p| {
            vec![snap(vec![el(10, "p", json!({"x-note": p}), vec![])])]
        }),
        ("snapshot class attribute", NAME, |p| {
            vec![snap(vec![el(
                10,
                "p",
                json!({"class": format!("badge {p}")}),
                vec![],
            )])]
        }),
        ("snapshot id attribute", NAME, |p| {
            vec![snap(vec![el(10, "p", json!({"id": p}), vec![])])]
        }),
        ("snapshot attribute name", NAME, |p| {
            let mut attrs = serde_json::Map::new();
            attrs.insert(p.to_string(), json!(""));
            vec![snap(vec![el(10, "p", Value::Object(attrs), vec![])])]
        }),
        ("snapshot SVG attribute", PLAIN, |p| {
            vec![snap(vec![
                json!({"type": 2, "id": 10, "tagName": "circle", "isSVG": true, "attributes": {"data-x": "1", "fill": p}, "childNodes": []}),
            ])]
        }),
        ("snapshot blocked element style", PLAIN, |p| {
            vec![snap(vec![el(
                10,
                "div",
                json!({"class": "rr-block", "rr_width": "10px", "rr_height": "10px", "style": format!("--who: \"{p}\"")}),
                vec![],
            )])]
        }),
        ("snapshot blocked element class", NAME, |p| {
            vec![snap(vec![el(
                10,
                "div",
                json!({"class": format!("rr-block {p}"), "rr_width": "10px", "rr_height": "10px"}),
                vec![],
            )])]
        }),
        ("snapshot href query", PLAIN, |p| {
            vec![snap(vec![el(
                10,
                "a",
                json!({"href": format!("https://shop.example/p?q={p}")}),
                vec![],
            )])]
        }),
        ("snapshot href path", &[Email], |p| {
            vec![snap(vec![el(
                10,
                "a",
                json!({"href": format!("https://shop.example/u/{p}")}),
                vec![],
            )])]
        }),
        ("snapshot input value", ALL, |p| {
            vec![snap(vec![el(
                10,
                "input",
                json!({"type": "text", "value": p}),
                vec![],
            )])]
        }),
        ("snapshot meta content", ALL, |p| {
            vec![page(
                vec![],
                vec![el(
                    10,
                    "meta",
                    json!({"name": "description", "content": p}),
                    vec![],
                )],
            )]
        }),
        // ---- mutations -------------------------------------------------------------------
        ("mutation add: style element _cssText", PLAIN, |p| {
            add(el(30, "style", json!({"_cssText": css(p)}), vec![]))
        }),
        ("mutation add: style element with text child", PLAIN, |p| {
            add(el(
                30,
                "style",
                json!({}),
                vec![json!({"type": 3, "id": 31, "textContent": css(p), "isStyle": true})],
            ))
        }),
        ("mutation add: text node into a style element", PLAIN, |p| {
            mutation(json!({"adds": [{"parentId": 20, "nextId": null, "node": txt(30, &css(p))}]}))
        }),
        ("mutation add: text node", ALL, |p| add(txt(30, p))),
        ("mutation add: element style attribute", PLAIN, |p| {
            add(el(
                30,
                "div",
                json!({"style": format!("--who: \"{p}\"")}),
                vec![],
            ))
        }),
        ("mutation add: element title", ALL, |p| {
            add(el(30, "div", json!({"title": p}), vec![]))
        }),
        ("mutation add: unknown field on the entry", ALL, |p| {
            mutation(
                json!({"adds": [{"parentId": 7, "nextId": null, "node": txt(30, "x"), "extra": p}]}),
            )
        }),
        ("mutation text: page text", ALL, |p| {
            mutation(json!({"texts": [{"id": 23, "value": p}]}))
        }),
        ("mutation text: style text", PLAIN, |p| {
            mutation(json!({"texts": [{"id": 21, "value": css(p)}]}))
        }),
        ("mutation attribute: title", ALL, |p| {
            mutation(json!({"attributes": [{"id": 22, "attributes": {"title": p}}]}))
        }),
        ("mutation attribute: style string", PLAIN, |p| {
            mutation(
                json!({"attributes": [{"id": 22, "attributes": {"style": format!("--who: \"{p}\"")}}]}),
            )
        }),
        ("mutation attribute: style object value", PLAIN, |p| {
            mutation(
                json!({"attributes": [{"id": 22, "attributes": {"style": {"--who": format!("\"{p}\"")}}}]}),
            )
        }),
        ("mutation attribute: style object property", NAME, |p| {
            let mut st = serde_json::Map::new();
            st.insert(format!("--{p}"), json!("1"));
            mutation(json!({"attributes": [{"id": 22, "attributes": {"style": st}}]}))
        }),
        ("mutation attribute: class", NAME, |p| {
            mutation(json!({"attributes": [{"id": 22, "attributes": {"class": p}}]}))
        }),
        ("mutation attribute: _cssText", PLAIN, |p| {
            mutation(json!({"attributes": [{"id": 20, "attributes": {"_cssText": css(p)}}]}))
        }),
        ("mutation attribute: unknown field on the entry", ALL, |p| {
            mutation(json!({"attributes": [{"id": 22, "attributes": {}, "extra": p}]}))
        }),
        // ---- CSSOM ------------------------------------------------------------------------
        ("StyleSheetRule adds[].rule", PLAIN, |p| {
            vec![
                base(),
                incr(json!({"source": 8, "id": 20, "adds": [{"rule": css(p), "index": 0}]})),
            ]
        }),
        ("StyleSheetRule replace", PLAIN, |p| {
            vec![
                base(),
                incr(json!({"source": 8, "styleId": 1, "replace": css(p)})),
            ]
        }),
        ("StyleSheetRule replaceSync", PLAIN, |p| {
            vec![
                base(),
                incr(json!({"source": 8, "styleId": 1, "replaceSync": css(p)})),
            ]
        }),
        ("StyleSheetRule removes (not an index)", PLAIN, |p| {
            vec![
                base(),
                incr(json!({"source": 8, "id": 20, "removes": [{"index": p}]})),
            ]
        }),
        ("StyleDeclaration set.value", PLAIN, |p| {
            vec![
                base(),
                incr(
                    json!({"source": 13, "id": 20, "index": [0], "set": {"property": "--who", "value": format!("\"{p}\""), "priority": ""}}),
                ),
            ]
        }),
        ("StyleDeclaration set.property", NAME, |p| {
            vec![
                base(),
                incr(
                    json!({"source": 13, "id": 20, "index": [0], "set": {"property": format!("--{p}"), "value": "1"}}),
                ),
            ]
        }),
        ("StyleDeclaration remove.property", NAME, |p| {
            vec![
                base(),
                incr(
                    json!({"source": 13, "id": 20, "index": [0], "remove": {"property": format!("--{p}")}}),
                ),
            ]
        }),
        ("AdoptedStyleSheet styles[].rules[].rule", PLAIN, |p| {
            vec![
                base(),
                incr(
                    json!({"source": 15, "id": 1, "styleIds": [1], "styles": [{"styleId": 1, "rules": [{"rule": css(p), "index": 0}]}]}),
                ),
            ]
        }),
        ("Font family", PLAIN, |p| {
            vec![
                base(),
                incr(
                    json!({"source": 10, "family": p, "fontSource": "url(/f.woff2)", "buffer": false, "descriptors": {}}),
                ),
            ]
        }),
        ("Font descriptors", PLAIN, |p| {
            vec![
                base(),
                incr(
                    json!({"source": 10, "family": "F", "fontSource": "url(/f.woff2)", "buffer": false, "descriptors": {"style": p}}),
                ),
            ]
        }),
        ("Asset CSS payload", PLAIN, |p| {
            vec![
                json!({"type": 7, "timestamp": 2, "data": {"url": "https://shop.example/a.css", "payload": {"rr_type": "CssText", "cssTexts": [css(p)]}}}),
            ]
        }),
        // ---- other incremental sources -----------------------------------------------------
        ("Input text", ALL, |p| {
            vec![
                base(),
                incr(json!({"source": 5, "id": 24, "text": p, "isChecked": false})),
            ]
        }),
        ("Log payload (deprecated source 11)", ALL, |p| {
            vec![incr(
                json!({"source": 11, "level": "log", "trace": [], "payload": [p]}),
            )]
        }),
        ("unknown incremental source", ALL, |p| {
            vec![incr(json!({"source": 99, "x": p}))]
        }),
        ("pointer event unknown field", ALL, |p| {
            vec![incr(
                json!({"source": 2, "type": 1, "id": 22, "x": 1, "y": 2, "note": p}),
            )]
        }),
        // ---- meta, custom, plugin, annotation, unknown events ------------------------------
        ("Meta href", PLAIN, |p| {
            vec![
                json!({"type": 4, "timestamp": 1, "data": {"href": format!("https://shop.example/p?who={p}"), "width": 1, "height": 1}}),
            ]
        }),
        ("Custom event payload string", ALL, |p| {
            vec![json!({"type": 5, "timestamp": 1, "data": {"tag": "t", "payload": p}})]
        }),
        ("Custom event payload nested", ALL, |p| {
            vec![
                json!({"type": 5, "timestamp": 1, "data": {"tag": "t", "payload": {"a": [{"b": p}]}}}),
            ]
        }),
        ("Custom event tag", PLAIN, |p| {
            vec![json!({"type": 5, "timestamp": 1, "data": {"tag": p, "payload": {}}})]
        }),
        ("Plugin console payload argument", ALL, |p| {
            let arg = serde_json::to_string(p).unwrap();
            vec![
                json!({"type": 6, "timestamp": 1, "data": {"plugin": "rrweb/console@1", "payload": {"level": "log", "trace": ["f@https://shop.example/a.js:1:1"], "payload": [arg]}}}),
            ]
        }),
        ("Plugin console trace", ALL, |p| {
            vec![
                json!({"type": 6, "timestamp": 1, "data": {"plugin": "rrweb/console@1", "payload": {"level": "log", "trace": [p], "payload": []}}}),
            ]
        }),
        ("Plugin network request url", PLAIN, |p| {
            vec![
                json!({"type": 6, "timestamp": 1, "data": {"plugin": "rrweb/network@1", "payload": {"requests": [{"url": format!("https://api.example/x?who={p}"), "method": "GET"}]}}}),
            ]
        }),
        ("Plugin network unknown request field", ALL, |p| {
            vec![
                json!({"type": 6, "timestamp": 1, "data": {"plugin": "rrweb/network@1", "payload": {"requests": [{"url": "https://api.example/x", "note": p}]}}}),
            ]
        }),
        ("Plugin unknown plugin payload", ALL, |p| {
            vec![
                json!({"type": 6, "timestamp": 1, "data": {"plugin": "acme/x@1", "payload": {"msg": p}}}),
            ]
        }),
        ("Annotation payload", ALL, |p| {
            vec![json!({"type": 8, "timestamp": 1, "data": {"tag": "t", "payload": p}})]
        }),
        ("Load event unknown field", ALL, |p| {
            vec![json!({"type": 1, "timestamp": 1, "data": {"x": p}})]
        }),
        ("unknown event type", ALL, |p| {
            vec![json!({"type": 42, "timestamp": 1, "data": {"x": [p]}})]
        }),
        ("event unknown top-level field", ALL, |p| {
            vec![json!({"type": 1, "timestamp": 1, "data": {}, "x": p})]
        }),
    ]
}

/// Every place the recording cannot keep the canary in under `policy`: `(place, canary,
/// masked events)`.
fn leaks(policy: &MaskPolicy, only_always_on: bool) -> Vec<String> {
    let mut out = Vec::new();
    for (place, canaries, build) in places() {
        for &c in canaries {
            if only_always_on && !c.always_on() {
                continue;
            }
            let planted = c.planted();
            let mut evs = build(&planted);
            let raw = serde_json::to_string(&evs).unwrap();
            assert!(raw.contains(c.needle()), "{place}: {c:?} not planted");
            mask_serde_events(&mut evs, policy, &mut MaskState::default());
            let masked = serde_json::to_string(&evs).unwrap();
            if masked.contains(c.needle()) {
                out.push(format!("{place}: {c:?} stored: {masked}"));
            }
        }
    }
    out
}

#[test]
fn a_value_planted_in_any_string_of_any_event_is_masked() {
    let leaks = leaks(&MaskPolicy::default(), false);
    assert!(
        leaks.is_empty(),
        "{} leaks:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
}

/// With every relaxable category recorded, what is masked whatever the policy says (cards,
/// keys, JSON secrets by key) still is, on the paths that then reveal values (form values,
/// canvas, network bodies).
#[test]
fn always_on_canaries_are_masked_under_the_most_relaxed_policy() {
    let policy: MaskPolicy = serde_json::from_value(json!({"record": {
        "forms": true, "numbers": true, "emails": true, "ips": true, "canvas": true,
        "text": true, "network_bodies": true, "network_headers": true}}))
    .unwrap();
    let leaks = leaks(&policy, true);
    assert!(
        leaks.is_empty(),
        "{} leaks:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
}

/// The places a relaxed policy opens (bodies, canvas text) hold JSON text too.
#[test]
fn json_text_in_recorded_bodies_and_canvas_text_is_masked_by_key() {
    let policy: MaskPolicy = serde_json::from_value(json!({"record": {
        "forms": true, "canvas": true, "network_bodies": true, "network_headers": true}}))
    .unwrap();
    for c in [Json, JsonLiteral, Card, ApiKey] {
        let p = c.planted();
        let mut evs = vec![
            base(),
            json!({"type": 6, "timestamp": 1, "data": {"plugin": "rrweb/network@1", "payload": {"requests": [{
                "url": "https://api.example/x", "method": "POST",
                "requestHeaders": {"x-note": p}, "requestBody": p, "responseBody": {"data": p}}]}}}),
            incr(
                json!({"source": 9, "id": 22, "type": 0, "commands": [{"property": "fillText", "args": [p, 1, 2]}]}),
            ),
        ];
        mask_serde_events(&mut evs, &policy, &mut MaskState::default());
        let masked = serde_json::to_string(&evs).unwrap();
        assert!(!masked.contains(c.needle()), "{c:?} stored: {masked}");
    }
}
