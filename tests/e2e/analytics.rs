//! Behaviour analytics end to end: beacons stored by the real worker are searchable by what
//! happened within seconds (freshness), every filter answers exactly its sessions, the summary
//! counts them, and an erased session leaves the search at once.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{gzip, id, wait_until, worker};

const LOCAL: (&str, &str) = ("Origin", "http://localhost:8787");

fn el(id: u64, tag: &str, attrs: Value, children: Vec<Value>) -> Value {
    json!({"type": 2, "id": id, "tagName": tag, "attributes": attrs, "childNodes": children})
}

/// A page with a buy button (id 5) and a plain card (id 7), viewed at `w` px.
fn page(t: u64, path: &str, w: u32) -> Vec<Value> {
    let body = el(
        4,
        "body",
        json!({}),
        vec![
            el(
                5,
                "button",
                json!({"id": "buy", "class": "primary"}),
                vec![],
            ),
            el(7, "div", json!({"class": "card"}), vec![]),
        ],
    );
    let html = el(
        2,
        "html",
        json!({}),
        vec![el(3, "head", json!({}), vec![]), body],
    );
    vec![
        json!({"type": 4, "timestamp": t, "data": {"href": format!("http://localhost:8787{path}"), "width": w, "height": 700}}),
        json!({"type": 2, "timestamp": t, "data": {"node": {"type": 0, "id": 1, "childNodes": [html]}, "initialOffset": {"top": 0, "left": 0}}}),
    ]
}

fn click(t: u64, node: u64, x: u64) -> Value {
    json!({"type": 3, "timestamp": t, "data": {"source": 2, "type": 2, "id": node, "x": x, "y": 100}})
}

fn custom(t: u64, name: &str) -> Value {
    json!({"type": 5, "timestamp": t, "data": {"tag": name, "payload": {}}})
}

fn scroll(t: u64) -> Value {
    json!({"type": 3, "timestamp": t, "data": {"source": 3, "id": 1, "x": 0, "y": 50}})
}

/// A session's beacon; its visitor is derived from the session (a session has one visitor).
fn post(session: &str, seq: u64, events: Vec<Value>) {
    let body = json!({
        "session": session, "visitor": format!("v{session}"), "seq": seq, "platform": "web",
        "page": "http://localhost:8787/",
        "events": events,
    });
    let r = worker().post(
        "/v1/ingest/demo?enc=gzip",
        &[LOCAL],
        &gzip(body.to_string().as_bytes()),
    );
    assert_eq!(
        (r.status, r.json()["stored"].clone()),
        (202, json!(true)),
        "{}",
        r.text()
    );
}

/// A name only this run uses (letters only: a custom event name passes the detectors, which
/// mask digits under the default policy).
fn run_name() -> String {
    let n = id("x");
    let letters: String = n
        .bytes()
        .rev()
        .filter(|b| b.is_ascii_hexdigit())
        .take(8)
        .map(|b| (b'a' + (b % 16)) as char)
        .collect();
    format!("run_{letters}")
}

fn search(q: &str) -> Value {
    let r = worker().get(&format!("/v1/projects/demo/sessions?{q}"), "demo-read");
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn found(q: &str) -> Vec<String> {
    search(q)["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["session"].as_str().unwrap().to_owned())
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn search_finds_sessions_by_what_happened_and_forgets_an_erased_one() {
    let run = run_name();
    let now = support_now();
    let (rage, calm, phone) = (id("s"), id("s"), id("s"));
    // A visitor rage-clicks the buy button on a product page, then reaches the checkout.
    let mut e = page(now, "/product/48213", 1280);
    e.push(custom(now + 10, &run));
    e.extend([
        click(now + 100, 5, 100),
        click(now + 400, 5, 102),
        click(now + 700, 5, 104),
    ]);
    e.push(scroll(now + 900));
    post(&rage, 0, e);
    let mut e = page(now + 5_000, "/checkout", 1280);
    e.push(custom(now + 5_010, "checkout_seen"));
    post(&rage, 1, e);
    // A calm visitor looks at the home page only.
    let mut e = page(now, "/", 1280);
    e.push(custom(now + 10, &run));
    e.push(scroll(now + 3_000));
    post(&calm, 0, e);
    // A phone visitor on the checkout.
    let mut e = page(now, "/checkout", 390);
    e.push(custom(now + 10, &run));
    post(&phone, 0, e);

    let all = sorted(vec![rage.clone(), calm.clone(), phone.clone()]);
    let base = format!("event={run}");
    // Freshness: every stored beacon is searchable within 10 s of its 202.
    wait_until(
        "the run's sessions in search",
        Duration::from_secs(10),
        || sorted(found(&base)) == all,
    );
    assert_eq!(found(&format!("{base}&has=rage")), vec![rage.clone()]);
    assert_eq!(found(&format!("{base}&has=dead")), Vec::<String>::new());
    assert_eq!(
        sorted(found(&format!("{base}&url=/checkout"))),
        sorted(vec![rage.clone(), phone.clone()])
    );
    assert_eq!(found(&format!("{base}&url=/product/*")), vec![rage.clone()]);
    assert_eq!(
        found(&format!("{base}&entry=/product/:id")),
        vec![rage.clone()]
    );
    assert_eq!(found(&format!("{base}&device=mobile")), vec![phone.clone()]);
    assert_eq!(
        found(&format!("{base}&clicked=button%23buy")),
        vec![rage.clone()]
    );
    assert_eq!(
        found(&format!("{base}&clicked=.card")),
        Vec::<String>::new()
    );
    assert_eq!(
        found(&format!("{base}&event=checkout_seen")),
        vec![rage.clone()]
    );
    assert_eq!(found(&format!("{base}&min_duration=4")), vec![rage.clone()]);
    assert_eq!(found(&format!("{base}&platform=ios")), Vec::<String>::new());

    // The row's summary: counts, entry, exit, normalised paths, moments to seek to.
    let rows = search(&format!("{base}&has=rage"));
    let s = &rows["sessions"][0]["summary"];
    assert_eq!(s["rage"], 1);
    assert_eq!(s["clicks"], 3);
    assert_eq!(s["entry"], "/product/:id");
    assert_eq!(s["exit"], "/checkout");
    assert_eq!(s["moments"][0]["kind"], "rage");
    assert!(
        rows.to_string().find("48213").is_none(),
        "an id-like segment leaked: {rows}"
    );

    // A bad filter is a 400 naming it.
    let r = worker().get("/v1/projects/demo/sessions?has=angry", "demo-read");
    assert_eq!(
        (r.status, r.error_code()),
        (400, "invalid_filter".to_string())
    );
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("has"));
    // Another project's token reads nothing here.
    let r = worker().get(
        &format!("/v1/projects/demo/sessions?{base}"),
        "demo-web-read",
    );
    assert_eq!(r.status, 401);

    // Erasure removes the session from search at once.
    let r = worker().request(
        "DELETE",
        &format!("/v1/projects/demo/sessions/{rage}"),
        &[("Authorization", "Bearer demo-read")],
        None,
    );
    assert!(r.status < 300, "{} {}", r.status, r.text());
    assert_eq!(
        sorted(found(&base)),
        sorted(vec![calm.clone(), phone.clone()])
    );
    assert_eq!(found(&format!("{base}&has=rage")), Vec::<String>::new());
}

#[test]
fn the_summary_counts_paths_events_and_rage_targets() {
    let run = run_name();
    let now = support_now();
    let s = id("s");
    let mut e = page(now, "/pricing", 1280);
    e.push(custom(now + 10, &run));
    e.extend([
        click(now + 100, 5, 100),
        click(now + 300, 5, 101),
        click(now + 500, 5, 102),
    ]);
    post(&s, 0, e);
    wait_until(
        "the summary to count the run",
        Duration::from_secs(10),
        || {
            let r = worker().get("/v1/projects/demo/analytics/summary", "demo-read");
            assert_eq!(r.status, 200, "{}", r.text());
            r.json()["events"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["name"] == json!(run) && e["count"] == 1)
        },
    );
    let sum = worker()
        .get("/v1/projects/demo/analytics/summary", "demo-read")
        .json();
    assert_eq!(sum["rules"], 1);
    assert!(sum["paths"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["path"] == "/pricing"));
    assert!(sum["targets"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["signal"] == "rage"
            && t["path"] == "/pricing"
            && t["target"] == "button#buy.primary"));
    let r = worker().get("/v1/projects/demo/analytics/summary", "nope");
    assert_eq!(r.status, 401);
}

fn support_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}
