//! URLs and CSS inside the page, and `record.text: false`, through the public
//! API only (policies as project JSON), so each test holds for any implementation of the policy.

use crate::events::{el, txt};
use serde_json::{json, Value};

use veilgate::privacy::{mask_serde_events, mask_url, MaskPolicy, MaskState};
use veilgate::project::Project;

fn policy(masking: Value) -> MaskPolicy {
    serde_json::from_value(masking).unwrap()
}

fn page(head: Vec<Value>, body: Vec<Value>) -> Value {
    json!({"type": 2, "timestamp": 1, "data": {"initialOffset": {"top": 0, "left": 0}, "node": {
    "type": 0, "id": 1, "childNodes": [
        {"type": 1, "id": 2, "name": "html", "publicId": "", "systemId": ""},
        el(3, "html", json!({}), vec![el(4, "head", json!({}), head), el(5, "body", json!({}), body)]),
    ]}}})
}

fn incr(data: Value) -> Value {
    json!({"type": 3, "timestamp": 2, "data": data})
}

fn run(events: Vec<Value>, p: &MaskPolicy) -> String {
    let mut evs = events;
    mask_serde_events(&mut evs, p, &mut MaskState::default());
    serde_json::to_string(&evs).unwrap()
}

fn m(u: &str) -> String {
    mask_url(u, &MaskPolicy::default())
}

#[test]
fn query_values_outside_the_allowlist_are_masked() {
    // A search page, a maps link (`+`-encoded), percent-encoding, a bare value.
    assert_eq!(
        m("https://shop.example/search?q=Jane+Doe&page=2"),
        "https://shop.example/search?q=********&page=2"
    );
    assert_eq!(
        m("https://maps.example/maps?q=221B+Baker+Street%2C+London&hl=en"),
        "https://maps.example/maps?q=***************************&hl=en"
    );
    assert_eq!(m("/find?who=J%C3%BCrgen%20M"), "/find?who=***************");
    assert_eq!(m("/p?Jane+Doe"), "/p?********");
    assert_eq!(m("/img.png?t=abcdefghij"), "/img.png?t=**********");
    // The harmless keys stay readable (and still pass the detectors).
    for kept in [
        "/l?utm_source=news&utm_campaign=winter&gclid=Cj0KCQ&fbclid=IwAR2&ref=home",
        "/l?lang=de&page=3&sort=price&order=asc&per_page=50",
        "/l?utm%5Fmedium=mail",
        "/l?amp",
        "https://fonts.example/css2?family=Inter:wght@400;700&display=swap",
        "/products/running-shoes-42?color=blue#reviews",
    ] {
        assert_eq!(m(kept), kept);
    }
    assert_eq!(m("/l?ref=jane@example.com"), "/l?ref=****************");
    // Fragments with parameters follow the same rule; a plain fragment is a path.
    assert_eq!(m("/#/search?q=jane&tab=all"), "/#/search?q=****&tab=all");
    assert_eq!(m("/p#q=jane"), "/p#q=****");
    assert_eq!(m("/p#:~:text=Jane%20Doe"), "/p#:~:text=**********");
    assert_eq!(m("/p#shipping"), "/p#shipping");
}

#[test]
fn masking_keeps_length_and_is_idempotent() {
    for u in [
        "https://shop.example/search?q=Jane+Doe&page=2&x",
        "https://maps.example/maps?q=221B+Baker+Street%2C+London",
        "/a?=v&&k=&%zz=%4",
        "/p#a=b&c",
    ] {
        let once = m(u);
        assert_eq!(once.chars().count(), u.chars().count(), "{u} -> {once}");
        assert_eq!(m(&once), once, "{u}");
    }
}

#[test]
fn the_project_extends_the_allowlist_but_never_past_sensitive_keys() {
    let p = policy(json!({"url_query_allowlist": ["variant", "pk_*"]}));
    assert_eq!(
        mask_url("/p?variant=red&pk_campaign=x&pkx=y&q=z", &p),
        "/p?variant=red&pk_campaign=x&pkx=*&q=*"
    );
    // Sensitive keys win over any allowlist entry that could reach them.
    let p = policy(json!({"url_query_allowlist": ["us*"]}));
    assert_eq!(
        mask_url("/p?username=jdoe&usage=1", &p),
        "/p?username=****&usage=1"
    );
}

#[test]
fn the_allowlist_is_validated_with_the_project() {
    let check = |masking: Value| {
        Project::from_value(&json!({"name": "t", "type": "web", "masking": masking}))
            .err()
            .map(|ps| {
                ps.iter()
                    .map(|p| format!("{}: {}", p.path, p.message))
                    .collect::<Vec<_>>()
            })
    };
    assert_eq!(
        check(json!({"url_query_allowlist": ["variant", "pk_*"], "record": {"text": false}})),
        None
    );
    for (bad, path) in [
        (json!(["token"]), "masking.url_query_allowlist[0]"),
        (json!(["ok", ""]), "masking.url_query_allowlist[1]"),
        (json!(["a*"]), "masking.url_query_allowlist[0]"),
        (json!(["a=b"]), "masking.url_query_allowlist[0]"),
        (json!(["*"]), "masking.url_query_allowlist[0]"),
        (json!(["customer_ref"]), "masking.url_query_allowlist[0]"),
    ] {
        let mut masking = json!({ "url_query_allowlist": bad });
        masking["sensitive_keys"] = json!(["customer_ref"]);
        let problems = check(masking).unwrap_or_default();
        assert!(
            problems.iter().any(|p| p.starts_with(path)),
            "{bad}: {problems:?}"
        );
    }
    let many: Vec<String> = (0..65).map(|i| format!("k{i}")).collect();
    let problems = check(json!({ "url_query_allowlist": many })).unwrap_or_default();
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("masking.url_query_allowlist:")),
        "{problems:?}"
    );
    let e = MaskPolicy::from_json(&json!({"record": {"txt": false}})).unwrap_err();
    assert!(e[0].message.contains("text"), "{e:?}");
}

#[test]
fn urls_in_attributes_and_css_are_scrubbed() {
    let events = vec![
        json!({"type": 4, "timestamp": 0, "data": {"href": "https://shop.example/search?q=Jane+Doe", "width": 800, "height": 600}}),
        page(
            vec![
                el(
                    10,
                    "style",
                    json!({}),
                    vec![json!({"type": 3, "id": 11, "isStyle": true,
                    "textContent": "@import \"/theme.css?session=s3cr3t\";\n.hero{background:URL( '/hero.jpg?t=tok_style_1' ) no-repeat}\n.x{color:red}"})],
                ),
                el(
                    12,
                    "link",
                    json!({"rel": "stylesheet", "href": "/a.css?v=3", "_cssText": ".b{background-image:url(/b.png?sig=tok_link_2)}"}),
                    vec![],
                ),
            ],
            vec![
                el(
                    20,
                    "a",
                    json!({"href": "https://maps.example/?q=221B+Baker+Street"}),
                    vec![txt(21, "Map")],
                ),
                el(
                    22,
                    "div",
                    json!({"style": "width:10px;background-image:url(\"https://cdn.example/bg.png?t=tok_inline_3&w=640\")"}),
                    vec![],
                ),
                el(
                    23,
                    "img",
                    json!({"src": "/u.png?who=jdoe", "srcset": "/u.png?who=jdoe 1x, /u2.png?w=2 2x"}),
                    vec![],
                ),
                el(24, "form", json!({"action": "/search?q=Jane"}), vec![]),
            ],
        ),
        incr(
            json!({"source": 0, "adds": [], "removes": [], "texts": [{"id": 11, "value": ".y{background:url(/y.png?t=tok_text_4)}"}],
            "attributes": [{"id": 22, "attributes": {"style": {"background-image": "url(/m.png?t=tok_mut_5)", "color": ["url(/n.png?t=tok_mut_6)", "important"]}}}]}),
        ),
        incr(
            json!({"source": 8, "id": 10, "adds": [{"rule": ".r{background:url(/r.png?t=tok_rule_7)}", "index": 0}], "replace": ".s{background:url(/s.png?t=tok_replace_8)}"}),
        ),
        incr(
            json!({"source": 13, "id": 10, "index": [0], "set": {"property": "background-image", "value": "url(/d.png?t=tok_decl_9)", "priority": ""}}),
        ),
        incr(
            json!({"source": 15, "id": 10, "styleIds": [1], "styles": [{"styleId": 1, "rules": [{"rule": ".z{background:url(/z.png?t=tok_adopted_10)}"}]}]}),
        ),
        incr(
            json!({"source": 10, "family": "Brand", "fontSource": "url(/f.woff2?t=tok_font_11)", "buffer": false}),
        ),
    ];
    let out = run(events, &MaskPolicy::default());
    for leak in [
        "Jane",
        "Baker",
        "s3cr3t",
        "jdoe",
        "tok_style_1",
        "tok_link_2",
        "tok_inline_3",
        "tok_text_4",
        "tok_mut_5",
        "tok_mut_6",
        "tok_rule_7",
        "tok_replace_8",
        "tok_decl_9",
        "tok_adopted_10",
        "tok_font_11",
    ] {
        assert!(!out.contains(leak), "{leak} stored: {out}");
    }
    // The CSS and the URLs keep their shape.
    for kept in [
        "URL( '/hero.jpg?t=***********' ) no-repeat",
        ".x{color:red}",
        "/a.css?v=3",
        "?t=************&w=640",
        "/u2.png?w=2 2x",
        "https://maps.example/?q=****************",
        "\"important\"",
    ] {
        assert!(out.contains(kept), "{kept} missing: {out}");
    }
}

#[test]
fn record_text_false_masks_all_page_text_and_keeps_the_layout() {
    let p = policy(json!({"record": {"text": false, "forms": true}}));
    let events = vec![
        page(
            vec![el(
                10,
                "style",
                json!({}),
                vec![
                    json!({"type": 3, "id": 11, "isStyle": true, "textContent": ".a{width:12px}"}),
                ],
            )],
            vec![
                el(
                    20,
                    "h1",
                    json!({"title": "Welcome Jane", "data-state": "open", "class": "hero"}),
                    vec![txt(21, "Hello Jane Doe")],
                ),
                el(
                    22,
                    "img",
                    json!({"alt": "Jane's avatar", "src": "/a.png"}),
                    vec![],
                ),
                el(
                    23,
                    "input",
                    json!({"type": "text", "placeholder": "Your name", "aria-label": "Name field", "value": "Jane"}),
                    vec![],
                ),
                el(
                    24,
                    "input",
                    json!({"type": "submit", "value": "Send"}),
                    vec![],
                ),
                el(25, "p", json!({"class": "keep"}), vec![txt(26, "Price 12")]),
                json!({"type": 5, "id": 27, "textContent": " a comment "}),
            ],
        ),
        incr(
            json!({"source": 0, "adds": [{"parentId": 20, "nextId": null, "node": txt(30, "Added text")}], "removes": [],
            "texts": [{"id": 21, "value": "Bye Jane"}], "attributes": [{"id": 22, "attributes": {"alt": "New alt"}}]}),
        ),
        incr(json!({"source": 5, "id": 23, "text": "Jane D", "isChecked": false})),
    ];
    let out = run(events, &p);
    for leak in [
        "Jane",
        "Welcome",
        "Hello",
        "avatar",
        "Your name",
        "Name field",
        "Send",
        "Price",
        "comment",
        "Added",
        "Bye",
        "New alt",
    ] {
        assert!(!out.contains(leak), "{leak} stored: {out}");
    }
    for kept in [
        "\"textContent\":\"***** **** ***\"",
        "\"title\":\"******* ****\"",
        "\"alt\":\"****** ******\"",
        "\"text\":\"******\"",
        "\".a{width:12px}\"",
        "\"data-state\":\"open\"",
        "\"class\":\"hero\"",
        "\"src\":\"/a.png\"",
        "\"type\":\"submit\"",
    ] {
        assert!(out.contains(kept), "{kept} missing: {out}");
    }
    // The default records text through the detectors.
    let out = run(
        vec![page(
            vec![],
            vec![el(
                20,
                "h1",
                json!({"title": "Welcome"}),
                vec![txt(21, "Hello Jane")],
            )],
        )],
        &MaskPolicy::default(),
    );
    assert!(
        out.contains("Hello Jane") && out.contains("Welcome"),
        "{out}"
    );
}

#[test]
fn record_text_false_still_lets_unmask_rules_through() {
    let p = policy(json!({"record": {"text": false},
        "rules": [{"selector": ".price", "action": "unmask"}]}));
    let out = run(
        vec![page(
            vec![],
            vec![
                el(
                    20,
                    "span",
                    json!({"class": "price"}),
                    vec![txt(21, "EUR 49")],
                ),
                el(22, "span", json!({}), vec![txt(23, "Jane")]),
            ],
        )],
        &p,
    );
    assert!(out.contains("EUR 49") && !out.contains("Jane"), "{out}");
}

#[test]
fn record_text_false_masks_mobile_text() {
    let p = policy(json!({"record": {"text": false}}));
    let mut evs = vec![json!({"type": 2, "timestamp": 1, "data": {"wireframes": [
        {"id": 1, "kind": "view", "x": 0, "y": 0, "width": 100, "height": 100, "children": [
            {"id": 2, "kind": "text", "x": 0, "y": 0, "width": 50, "height": 10, "text": "Hi Jane"},
            {"id": 3, "kind": "image", "x": 0, "y": 0, "width": 50, "height": 10, "label": "Jane photo"}
        ]}
    ]}})];
    mask_serde_events(&mut evs, &p, &mut MaskState::default());
    let out = serde_json::to_string(&evs).unwrap();
    assert!(
        !out.contains("Jane") && out.contains("\"text\":\"** ****\""),
        "{out}"
    );
}
