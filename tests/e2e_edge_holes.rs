//! Issue 12, items 2, 3, 5 and 6 through the running worker: session ids shaped like the
//! audit anchors' names, the opt-in CSRF guard, the streamed body cap and CORS with `*`.

mod common;

use common::{beacon, worker};
use serde_json::json;

fn events() -> serde_json::Value {
    json!([{"type": 4, "data": {"href": "https://shop.example/", "width": 1, "height": 1}, "timestamp": 1_700_000_000_000u64}])
}

fn send_demo(session: &str, seq: u64, gpc: bool) -> common::Reply {
    let body = beacon(session, "v_edgeholes01", seq, "web", &events());
    let mut headers = vec![
        ("Origin", "http://localhost:8787"),
        ("Content-Type", "text/plain"),
    ];
    if gpc {
        headers.push(("Sec-GPC", "1"));
    }
    worker().post("/v1/ingest/demo", &headers, &body)
}

/// Item 2: ids that read like the anchor chains' old names (`_anchor-NN`) are ordinary
/// sessions; they neither reach the anchor objects nor make `verify` fail.
#[test]
fn session_ids_shaped_like_anchor_names_leave_the_audit_verifiable() {
    for s in [
        "_anchor-00",
        "_anchor-1",
        "_anchor-01",
        "_anchor-15",
        "_anchor-001",
        "_anchors-01",
    ] {
        let r = send_demo(s, 0, false);
        assert_eq!(r.status, 202, "{s} stored: {}", r.text());
        let r = send_demo(s, 1, true);
        assert_eq!(r.status, 202, "{s} dropped: {}", r.text());
    }
    let r = worker().get("/v1/projects/demo/audit/verify", "demo-audit");
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["ok"], true, "{v}");
}
