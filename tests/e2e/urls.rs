//! URLs and CSS inside the page and `record.text: false`, through
//! the real worker on local workerd; what was stored is read back through the read API, and
//! every local state file and the log are scanned for the planted values.

use crate::support::id;
use serde_json::{json, Value};

/// Scans everything its worker stored and logged, so it has a worker of its own.
fn worker() -> &'static crate::support::Worker {
    static W: std::sync::OnceLock<crate::support::Worker> = std::sync::OnceLock::new();
    crate::support::own_worker(&W)
}

const LOCAL: (&str, &str) = ("Origin", "http://localhost:8787");
const TS: u64 = 1_800_000_000_000;

/// What the page carries in clear and must not be stored (the name, "Jane", is page text: the
/// default keeps it, `record.text: false` does not).
const PLANTED: &[&str] = &[
    "Baker",
    "tok_inline_7f3k",
    "tok_style_9q2m",
    "tok_rule_4x8n",
    "tok_page_5w1z",
];

fn el(id: u64, tag: &str, attributes: Value, children: Value) -> Value {
    json!({"type": 2, "tagName": tag, "attributes": attributes, "childNodes": children, "id": id})
}

fn text(id: u64, t: &str) -> Value {
    json!({"type": 3, "textContent": t, "id": id})
}

/// A search results page for "Jane Doe": a maps link, an inline style and a `<style>` with
/// tokens in their URLs, then a stylesheet rule added by script.
fn events() -> Value {
    json!([
        {"type": 4, "timestamp": TS, "data": {"href": "http://localhost:8787/search?q=Jane+Doe&page=1&variant=b", "width": 800, "height": 600}},
        {"type": 2, "timestamp": TS + 1, "data": {"initialOffset": {"left": 0, "top": 0}, "node": {"type": 0, "id": 1, "childNodes": [
            {"type": 1, "name": "html", "publicId": "", "systemId": "", "id": 2},
            el(3, "html", json!({}), json!([
                el(4, "head", json!({}), json!([
                    el(5, "style", json!({}), json!([{"type": 3, "id": 6, "isStyle": true,
                        "textContent": ".hero{background:url('/hero.jpg?t=tok_style_9q2m')}"}]))
                ])),
                el(7, "body", json!({}), json!([
                    el(8, "h1", json!({"title": "Results for Jane Doe"}), json!([text(9, "Results for Jane Doe")])),
                    el(10, "a", json!({"href": "https://maps.example/maps?q=221B+Baker+Street,+London&hl=en"}), json!([text(11, "Directions")])),
                    el(12, "div", json!({"class": "banner", "style": "background-image:url(https://cdn.example/b.png?t=tok_inline_7f3k&w=640)"}), json!([]))
                ]))
            ]))
        ]}}},
        {"type": 3, "timestamp": TS + 2, "data": {"source": 8, "id": 5, "adds": [{"rule": ".x{background:url(/x.png?t=tok_rule_4x8n)}", "index": 1}]}}
    ])
}

fn post(project: &str, session: &str) {
    let body = json!({
        "session": session, "visitor": id("v"), "seq": 0, "platform": "web",
        "page": "http://localhost:8787/search?q=Jane+Doe&k=tok_page_5w1z&utm_source=news",
        "sdk": {"name": "veilgate-tests", "version": "1"},
        "events": events(),
    });
    let r = worker().post(
        &format!("/v1/ingest/{project}"),
        &[LOCAL, ("Content-Type", "text/plain")],
        body.to_string().as_bytes(),
    );
    assert_eq!(r.status, 202, "{}", r.text());
    assert_eq!(r.json()["stored"], true, "{}", r.text());
}

/// The stored chunk and the manifest, as the read API serves them.
fn stored(project: &str, token: &str, session: &str) -> (String, Value) {
    let c = worker().get(
        &format!("/v1/projects/{project}/sessions/{session}/chunks/0"),
        token,
    );
    assert_eq!(c.status, 200, "{}", c.text());
    let m = worker().get(&format!("/v1/projects/{project}/sessions/{session}"), token);
    assert_eq!(m.status, 200, "{}", m.text());
    (c.text(), m.json())
}

#[test]
fn urls_and_css_in_the_page_are_stored_masked_and_no_text_projects_store_no_text() {
    let (default_s, notext_s) = (id("s"), id("s"));
    post("demo", &default_s);
    post("test-notext", &notext_s);

    // The privacy-first default: query values outside the allowlist and CSS URL tokens
    // masked, text through the detectors, structure and harmless keys kept.
    let (chunk, manifest) = stored("demo", "demo-read", &default_s);
    for leak in PLANTED {
        assert!(!chunk.contains(leak), "{leak} stored: {chunk}");
    }
    for kept in [
        "/search?q=********&page=1&variant=*",
        "https://maps.example/maps?q=*************************&hl=en",
        "url(https://cdn.example/b.png?t=***************&w=640)",
        ".hero{background:url('/hero.jpg?t=**************')}",
        ".x{background:url(/x.png?t=*************)}",
        "Results for Jane Doe",
    ] {
        assert!(chunk.contains(kept), "{kept} missing: {chunk}");
    }
    let pages = manifest["pages"].to_string();
    assert!(
        pages.contains("/search?q=********&k=*************&utm_source=news"),
        "{manifest}"
    );

    // record.text: false — every text node and text attribute starred (layout kept), the
    // project's own allowlist entry kept.
    let (chunk, manifest) = stored("test-notext", "t-notext-read", &notext_s);
    assert!(!chunk.contains("Jane"), "text stored: {chunk}");
    assert!(
        manifest["pages"]
            .to_string()
            .contains("/search?q=********&k=*************&utm_source=news"),
        "{manifest}"
    );
    for kept in [
        "\"textContent\":\"******* *** **** ***\"",
        "\"title\":\"******* *** **** ***\"",
        "\"textContent\":\"**********\"",
        "/search?q=********&page=1&variant=b",
        "\"class\":\"banner\"",
    ] {
        assert!(chunk.contains(kept), "{kept} missing: {chunk}");
    }

    // Nowhere in local state or the log, in either project.
    let mut files = worker().r2_objects();
    files.push(("wrangler.log".into(), worker().log_text().into_bytes()));
    let mut leaks = Vec::new();
    for (path, bytes) in &files {
        let text = String::from_utf8_lossy(bytes);
        for p in PLANTED {
            if text.contains(p) {
                leaks.push(format!("{p} in {path}"));
            }
        }
    }
    assert!(leaks.is_empty(), "{leaks:?}");
}
