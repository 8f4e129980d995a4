//! CSS text goes through the text detectors, not only the URL scrubber (issue 22 item 1): a
//! page script that appends `<style>.user-badge::after { content: "…email…" }</style>` must
//! not get the email stored. And real CSS stays byte for byte: the replay needs its
//! selectors, colours, numbers and icon-font escapes.

use std::path::Path;

use serde_json::{json, Value};

use veilgate::privacy::detect::Detect;
use veilgate::privacy::url::scrub_css_text;
use veilgate::privacy::{mask_serde_events, MaskPolicy, MaskState};

use crate::events::el;

const CANARY: &str = "canary.8473@example.org";

fn snapshot() -> Value {
    json!({"type": 2, "timestamp": 1, "data": {"initialOffset": {"top": 0, "left": 0}, "node": {
    "type": 0, "id": 1, "childNodes": [
        el(3, "html", json!({}), vec![el(4, "head", json!({}), vec![]), el(7, "body", json!({}), vec![])]),
    ]}}})
}

/// The mutation rrweb 2.2.2 emits for `document.head.appendChild(style)` with the style's
/// text set before it is added: the rule text is the element's `_cssText`.
#[test]
fn a_style_element_added_by_a_mutation_has_its_css_text_masked() {
    let rule = format!(".user-badge::after {{ content: \"{CANARY}\"; }}");
    let mut evs = vec![
        snapshot(),
        json!({"type": 3, "timestamp": 2, "data": {"source": 0, "texts": [], "attributes": [], "removes": [],
            "adds": [{"parentId": 4, "nextId": null, "node": {"type": 2, "tagName": "style",
                "attributes": {"_cssText": rule}, "childNodes": [], "id": 30}}]}}),
    ];
    mask_serde_events(&mut evs, &MaskPolicy::default(), &mut MaskState::default());
    let css = evs[1]["data"]["adds"][0]["node"]["attributes"]["_cssText"]
        .as_str()
        .unwrap();
    assert!(!css.contains("canary"), "{css}");
    // Only the email changed: the rule still parses and renders.
    assert_eq!(
        css,
        format!(
            ".user-badge::after {{ content: \"{}\"; }}",
            "*".repeat(CANARY.len())
        )
    );
}

fn css_detect() -> Detect {
    Detect {
        numbers: false,
        ..Detect::ALL
    }
}

#[test]
fn css_the_replay_needs_is_kept_byte_for_byte() {
    for css in [
        ".jsx-2349871234{color:#12345678}",
        ".a::after{content:\"\\f101\"}.b::before{content:'\\e900'}",
        ".b{transform:matrix(1,0,0,1,120,340);margin:0 0 0 0;grid-template-columns:repeat(12,1fr)}",
        "@media (min-width: 1024px) and (max-width: 1279.98px){.c{width:33.333333%}}",
        ":root{--tw-ring-offset-shadow:0 0 #0000;--brand:#ff0066;--z:2147483647}",
        ".css-1q2w3e4r{}#row-4111111111111111{}.sc-AxjAm{}",
        "@font-face{font-family:\"Inter\";src:url(data:font/woff2;base64,d09GMgABAAAAAAxYAA4AAAAAGBgAAAwCAAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAGhYbHhyBWgZgAIE0EQgKnDiWdQE2AiQDYAtCAAQgBYQ/By8btRSjopSO0Sj2/5qPz/ZdJ3Kz+0SfOg==) format(\"woff2\")}",
        "a[href^=\"tel:\"]{color:red}.x::-webkit-scrollbar{width:0}",
        "@import url(\"https://fonts.example/css2?family=Inter:wght@400;700\");",
    ] {
        assert_eq!(scrub_css_text(css, css_detect()), css, "{css}");
    }
}

#[test]
fn pii_in_css_strings_properties_selectors_and_comments_is_masked() {
    for (css, gone) in [
        (".u::after{content:\"canary.8473@example.org\"}", "canary"),
        (".u{--who:canary.8473@example.org}", "canary"),
        ("[title=\"canary.8473@example.org\"]{}", "canary"),
        ("/* canary.8473@example.org */", "canary"),
        (".u::after{content:\"4111 1111 1111 1111\"}", "1111 1111"),
        (
            ".u::after{content:\"card #4111111111111111\"}",
            "4111111111111111",
        ),
        (".u{--k:sk_live_4eC39HqLyjWDarjtT1zdp7dc}", "4eC39Hq"),
    ] {
        let out = scrub_css_text(css, css_detect());
        assert!(!out.contains(gone), "{css} -> {out}");
        assert_eq!(out.len(), css.len());
    }
}

/// Every CSS text in the recorded fixtures (real pages, real rrweb) comes through the
/// detectors unchanged: none of them holds PII, and none of it may be taken for PII.
#[test]
fn recorded_css_is_unchanged_by_the_detectors() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut seen = 0;
    for dir in ["rrweb", "rrweb-upstream"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().and_then(|x| x.to_str()) != Some("json") {
                continue;
            }
            let v: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            let mut stack = vec![&v];
            while let Some(v) = stack.pop() {
                match v {
                    Value::Object(m) => {
                        let style_text = m.get("isStyle") == Some(&Value::Bool(true));
                        for (k, x) in m {
                            let is_css = k == "_cssText"
                                || k == "rule"
                                || (k == "textContent" && style_text)
                                || k == "style";
                            if let (true, Some(s)) = (is_css, x.as_str()) {
                                seen += 1;
                                assert_eq!(scrub_css_text(s, css_detect()), s, "{}", p.display());
                            }
                            stack.push(x);
                        }
                    }
                    Value::Array(a) => stack.extend(a),
                    _ => {}
                }
            }
        }
    }
    assert!(seen > 50, "only {seen} CSS texts");
}
