//! The viewer (`/viewer/`) end to end: real headless Chromium (tools/viewer/e2e.mjs) against a
//! real worker (`wrangler dev`) with a seeded session and audit records; what the page showed
//! is checked against the read and audit APIs.

use crate::support;

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::support::{id, Worker};
use serde_json::{json, Value};

const LOCAL: (&str, &str) = ("Origin", "http://localhost:8787");

/// Values typed into the recorded signup form (tests/fixtures/planted.json); the server masks
/// them, so the viewer's DOM must never contain them.
const PLANTED: &[&str] = &["Jane Plantedsson", "Pl4nted!Secret#2024", "+1 415 555 0142"];

fn browser(w: &Worker, session: &str, mode: &str) -> Value {
    let art = support::root().join("target/e2e-viewer");
    let planted = serde_json::to_string(PLANTED).unwrap();
    let art = art.to_string_lossy();
    support::browser_script(
        mode,
        "tools/viewer/e2e.mjs",
        &[
            &w.base,
            "demo",
            "demo-read",
            "demo-audit",
            session,
            &art,
            &planted,
        ],
        &[("VIEWER_MODE", mode)],
    )
}

/// The recorded sign-up fixture's events, moved to a minute ago: it was recorded long ago, and
/// the viewer lists a recent range.
fn signup_now() -> Vec<Value> {
    let path = support::root().join("tests/fixtures/rrweb/signup.default.json");
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut events = fixture["events"].as_array().unwrap().clone();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let shift = now - 60_000 - events[0]["timestamp"].as_u64().unwrap();
    for e in &mut events {
        e["timestamp"] = json!(e["timestamp"].as_u64().unwrap() + shift);
    }
    events
}

fn seed(w: &Worker) -> String {
    let mut events = signup_now();
    let raw = serde_json::to_string(&events).unwrap();
    for p in PLANTED {
        assert!(raw.contains(p), "the fixture carries the planted {p:?}");
    }
    let (s, v) = (id("s"), id("v"));
    let half = events.len() / 2;
    // rrweb network and console plugin events (type 6) in the second beacon, for the panels.
    let t = events[half]["timestamp"].as_u64().unwrap();
    events.splice(half + 1..half + 1, plugin_events(t));
    for (seq, chunk) in [&events[..half], &events[half..]].iter().enumerate() {
        let body = support::beacon(&s, &v, seq as u64, "web", &Value::Array(chunk.to_vec()));
        let r = w.post("/v1/ingest/demo", &[LOCAL], &body);
        assert_eq!(r.status, 202, "{}", r.text());
        assert_eq!(r.json()["stored"], true);
    }
    // Two dropped decisions (Global Privacy Control) for a second reason in the chart.
    for _ in 0..2 {
        let body = support::beacon(
            &id("s"),
            &id("v"),
            0,
            "web",
            &Value::Array(events[..3].to_vec()),
        );
        let r = w.post("/v1/ingest/demo", &[LOCAL, ("Sec-GPC", "1")], &body);
        assert_eq!((r.status, r.json()["stored"].clone()), (202, json!(false)));
    }
    s
}

/// Hand-written `rrweb/network@1` and `rrweb/console@1` events in the plugins' shapes.
fn plugin_events(t: u64) -> Vec<Value> {
    let request = |url: &str, method: &str, kind: &str, status: u16| {
        json!({"url": url, "method": method, "initiatorType": kind, "status": status,
               "startTime": 1200.5, "endTime": 1262.0,
               "requestHeaders": {"content-type": "application/json"},
               "requestBody": "{\"item\":42}",
               "responseHeaders": {"content-type": "application/json"},
               "responseBody": "{\"ok\":true}"})
    };
    vec![
        json!({"type": 6, "timestamp": t + 1, "data": {"plugin": "rrweb/network@1", "payload": {"requests": [
            request("https://api.shop.example/v1/cart", "POST", "fetch", 201),
            request("https://shop.example/assets/app.css", "GET", "link", 200),
        ]}}}),
        json!({"type": 6, "timestamp": t + 2, "data": {"plugin": "rrweb/console@1", "payload": {
            "level": "warn", "payload": ["\"cart is slow\"", "1200"],
            "trace": ["checkout (https://shop.example/app.js:10:5)"]}}}),
        json!({"type": 6, "timestamp": t + 3, "data": {"plugin": "rrweb/network@1", "payload": {"requests": [
            request("https://api.shop.example/v1/checkout", "PUT", "xmlhttprequest", 500),
        ]}}}),
        json!({"type": 6, "timestamp": t + 4, "data": {"plugin": "rrweb/console@1", "payload": {
            "level": "error", "payload": ["\"checkout failed\""], "trace": []}}}),
    ]
}

/// A session stored and then erased through the read API (an erasure record for the list).
fn erased_session(w: &Worker) -> String {
    let s = id("s");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let events = json!([{"type": 4, "data": {"href": "http://localhost/", "width": 800, "height": 600}, "timestamp": now},
                        {"type": 2, "data": {"node": {"type": 0, "childNodes": [], "id": 1}, "initialOffset": {"left": 0, "top": 0}}, "timestamp": now + 1}]);
    let r = w.post(
        "/v1/ingest/demo",
        &[LOCAL],
        &support::beacon(&s, &id("v"), 0, "web", &events),
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let auth = "Bearer demo-read".to_string();
    let d = w.request(
        "DELETE",
        &format!("/v1/projects/demo/sessions/{s}"),
        &[("Authorization", &auth)],
        None,
    );
    assert_eq!(d.status, 200, "{}", d.text());
    s
}

/// A day-index entry as written before summaries existed (an empty object, no metadata),
/// put straight into local R2 as the old worker would have left it.
fn old_index_entry(w: &Worker, day: &str) -> String {
    let s = id("s");
    let file = w.state.join("old-entry.json");
    std::fs::write(&file, "{}").unwrap();
    let ok = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source tools/env.sh && wrangler r2 object put 'veilgate-recordings/index/demo/days/{day}/{s}' \
             --local --persist-to '{}' --file '{}' --content-type application/json >/dev/null",
            w.state.display(),
            file.display()
        ))
        .current_dir(support::root())
        .status()
        .unwrap()
        .success();
    assert!(ok, "putting an old index entry into local R2");
    s
}

fn listed(w: &Worker) -> Vec<Value> {
    let r = w.get("/v1/projects/demo/sessions?limit=1000", "demo-read");
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["sessions"].as_array().unwrap().clone()
}

#[test]
fn viewer_lists_replays_masked_and_charts_the_audit_report() {
    // Short idle timeout: the session is finalized during the test, which updates its summary.
    let w = support::start(&[("SESSION_IDLE_SECS", "3")]);
    let session = seed(&w);
    let erased = erased_session(&w);
    let row = |w: &Worker, s: &str| listed(w).into_iter().find(|r| r["session"] == s);
    let day = row(&w, &session).expect("the session is listed")["day"]
        .as_str()
        .unwrap()
        .to_string();
    let old = old_index_entry(&w, &day);
    // Finalized: the summary written at the first chunk was brought up to date.
    support::wait_until(
        "the session's summary says complete",
        std::time::Duration::from_secs(60),
        || row(&w, &session).is_some_and(|r| r["summary"]["status"] == "complete"),
    );
    let summary = row(&w, &session).unwrap()["summary"].clone();
    let manifest = w.get(
        &format!("/v1/projects/demo/sessions/{session}"),
        "demo-read",
    );
    let m = manifest.json();
    for k in ["chunks", "events"] {
        assert_eq!(summary[k], m[k], "summary {k}: {summary} vs manifest {m}");
    }
    assert_eq!(summary["started_at"], m["created_at"]);
    assert_eq!(summary["pages"], m["pages"].as_array().unwrap().len());
    assert_eq!(
        summary["duration_ms"].as_f64().unwrap(),
        (m["last_ts"].as_f64().unwrap() - m["first_ts"].as_f64().unwrap()).floor()
    );
    assert_eq!(summary["device"], m["device"]);
    assert_eq!(summary["consent"]["reason"], m["consent"]["reason"]);
    assert_eq!(summary["consent"]["store"], true);
    assert_eq!(summary["platform"], "web");
    // No personal data in the list: not even the manifest's pseudonymous visitor id, no URL.
    let text = summary.to_string();
    assert!(!text.contains(m["visitor"].as_str().unwrap()), "{text}");
    assert!(!text.contains("http"), "{text}");
    // The old entry lists without a summary; the erased session is gone.
    let old_row = row(&w, &old).expect("an old index entry still lists");
    assert!(old_row.get("summary").is_none(), "{old_row}");
    assert!(row(&w, &erased).is_none());

    let art = support::root().join("target/e2e-viewer");
    let r = browser(&w, &session, "full");

    // The list shows the summary, as the list API has it; the old entry shows dashes.
    let cells: Vec<String> = serde_json::from_value(r["rows"][&session].clone()).unwrap();
    let d = &summary["device"];
    assert_eq!(
        cells[2..],
        [
            format!("{} / {}", summary["pages"], summary["events"]),
            format!(
                "{} · {} · {}",
                d["browser"].as_str().unwrap(),
                d["os"].as_str().unwrap(),
                d["class"].as_str().unwrap()
            ),
            "web".to_string(),
            format!("stored: {}", summary["consent"]["reason"].as_str().unwrap()),
            "complete".to_string(),
        ],
        "{r}"
    );
    assert!(cells[0].ends_with(" UTC"), "{cells:?}");
    assert!(cells[1].ends_with(" s"), "{cells:?}");
    let old_cells: Vec<String> = serde_json::from_value(r["rows"][&old].clone()).unwrap();
    assert!(old_cells.iter().all(|c| c == "—"), "{old_cells:?}");

    // Panels: one row per recorded request and console call, as `/events` holds them, at
    // their offsets from the first event; a click on a row's time seeks the player there.
    let events = w
        .get(
            &format!("/v1/projects/demo/sessions/{session}/events"),
            "demo-read",
        )
        .json();
    let events = events.as_array().unwrap();
    let t0 = events[0]["timestamp"].as_u64().unwrap();
    let plugin = |name: &'static str| {
        events
            .iter()
            // `@1`, or `@*` where a masking that stars digits in names has run.
            .filter(move |e| {
                e["type"] == 6
                    && e["data"]["plugin"]
                        .as_str()
                        .is_some_and(|p| p.strip_suffix(['1', '*']) == Some(name))
            })
    };
    let want_net: Vec<(u64, String, String)> = plugin("rrweb/network@")
        .flat_map(|e| {
            let at = e["timestamp"].as_u64().unwrap() - t0;
            e["data"]["payload"]["requests"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |q| {
                    (
                        at,
                        q["method"].as_str().unwrap().to_string(),
                        q["url"].as_str().unwrap().to_string(),
                    )
                })
        })
        .collect();
    assert_eq!(want_net.len(), 3, "the plugin events were stored");
    let got_net: Vec<(u64, String, String)> = r["network_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let c = &row["cells"];
            (
                row["offset"].as_u64().unwrap(),
                c[0].as_str().unwrap().to_string(),
                c[2].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(got_net, want_net, "{r}");
    let want_con: Vec<(u64, String)> = plugin("rrweb/console@")
        .map(|e| {
            (
                e["timestamp"].as_u64().unwrap() - t0,
                e["data"]["payload"]["level"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let got_con: Vec<(u64, String)> = r["console_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["offset"].as_u64().unwrap(),
                row["cells"][0].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(got_con, want_con, "{r}");
    assert_eq!(r["panel_html_has_script"], 0);
    let first_net = want_net[0].0;
    assert_eq!(r["seek_to"], first_net, "{r}");
    assert_eq!(r["seek_time"], first_net, "{r}");
    // The first request is the current one; the console calls came after it.
    assert_eq!(r["seek_current"], json!([first_net]), "{r}");
    assert_eq!(r["seek_past_console"], 0, "{r}");
    // Forward past the console calls, then back again: the panels follow the player.
    assert_eq!(r["seek_back_current"], json!([first_net]), "{r}");

    // Served with the strict CSP; nothing but the worker was asked; no console error.
    let csp = r["csp"].as_str().unwrap_or_default();
    for d in [
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "default-src 'none'",
    ] {
        assert!(csp.contains(d), "CSP lacks {d}: {csp}");
    }
    assert_eq!(r["foreign_requests"], json!([]), "{r}");
    assert_eq!(r["page_errors"], json!([]), "{r}");
    assert_eq!(
        r["console_errors_before_wrong"], 0,
        "{}",
        r["console_errors"]
    );

    // Read token: the session is listed; its replay rendered in a sandbox without scripts,
    // the screenshot is not blank, and no planted value reached the DOM.
    assert!(
        r["listed"].as_array().unwrap().contains(&json!(session)),
        "{r}"
    );
    let sandbox = r["iframe_sandbox"].as_str().unwrap_or_default();
    assert!(
        !sandbox.contains("allow-scripts"),
        "replay iframe sandbox: {sandbox}"
    );
    assert!(
        r["iframe_sandbox"].is_string(),
        "the replay iframe is sandboxed"
    );
    assert!(
        r["player_colors"].as_u64().unwrap() > 50,
        "blank replay: {r}"
    );
    assert!(art.join("replay.png").exists());
    assert_eq!(
        r["planted_found"],
        json!([]),
        "unmasked values in the viewer"
    );

    // The token only ever in sessionStorage and headers, cleared by "forget".
    assert_eq!(r["token_in_url"], json!([]), "{r}");
    assert_eq!(r["session_storage_has_token"], true);
    assert_eq!(r["after_forget"], "[]");
    for k in ["local_storage", "local_storage_end"] {
        assert_eq!(r[k], "[]", "{k}");
    }

    // Audit token: each bar's total and each segment equal the report for the same range.
    let report_req = r["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .find(|u| u.contains("/audit/report?"))
        .expect("the page asked for the report");
    let query = report_req.split_once('?').unwrap().1;
    let report = w.get(
        &format!("/v1/projects/demo/audit/report?{query}"),
        "demo-audit",
    );
    assert_eq!(report.status, 200);
    let mut want = BTreeMap::new();
    let mut want_series = BTreeMap::new();
    for d in report.json()["days"].as_array().unwrap() {
        let day = d["day"].as_str().unwrap().to_string();
        want.insert(
            day.clone(),
            d["stored"].as_u64().unwrap() + d["dropped"].as_u64().unwrap(),
        );
        for (reason, c) in d["reasons"].as_object().unwrap() {
            for o in ["stored", "dropped"] {
                let n = c[o].as_u64().unwrap();
                if n > 0 {
                    want_series.insert((day.clone(), format!("{o}: {reason}")), n);
                }
            }
        }
    }
    let mut got = BTreeMap::new();
    let mut got_series = BTreeMap::new();
    for b in r["bars"].as_array().unwrap() {
        let day = b["day"].as_str().unwrap().to_string();
        got.insert(day.clone(), b["total"].as_u64().unwrap());
        for (s, n) in b["series"].as_object().unwrap() {
            got_series.insert((day.clone(), s.clone()), n.as_u64().unwrap());
        }
    }
    assert_eq!(got, want);
    assert_eq!(got_series, want_series);
    assert!(
        want.values().sum::<u64>() >= 3,
        "a stored session and 2 drops: {want:?}"
    );
    assert!(
        want_series.keys().any(|(_, s)| s == "dropped: gpc"),
        "{want_series:?}"
    );
    assert!(
        r["verify_text"].as_str().unwrap().starts_with("Verified"),
        "{r}"
    );
    // The erasure is listed, with its session and reason.
    let erasures = r["erasures"].as_array().unwrap();
    assert!(
        erasures.iter().any(|e| e["session"] == erased.as_str()
            && e["text"].as_str().unwrap().contains("session_erasure")),
        "{r}"
    );
    // The download holds every record of the range (the decisions charted, at least).
    assert!(
        r["ndjson_lines"].as_u64().unwrap() >= want.values().sum::<u64>(),
        "{r}"
    );

    // A wrong token: a clear message after one request, no retry loop.
    assert!(
        r["wrong_token_message"]
            .as_str()
            .unwrap()
            .contains("not a valid read token"),
        "{r}"
    );
    assert_eq!(r["wrong_token_requests"], 1, "{r}");

    // An attacker with bucket access edits one stored decision: the viewer names the chain.
    let blob = w
        .r2_objects()
        .into_iter()
        .find(|(path, b)| {
            path.contains("/blobs/")
                && String::from_utf8_lossy(b).contains("\"decision\":\"dropped\"")
        })
        .expect("a dropped decision in local R2");
    let edited = String::from_utf8(blob.1)
        .unwrap()
        // Same length: local R2 keeps the object size in its metadata.
        .replacen("\"decision\":\"dropped\"", "\"decision\":\"stored\" ", 1);
    std::fs::write(&blob.0, edited).unwrap();
    let v = browser(&w, &session, "verify");
    assert!(
        v["verify_text"]
            .as_str()
            .unwrap()
            .starts_with("Broken: 1 chain"),
        "{v}"
    );
    let broken: Vec<&str> = v["broken"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let chains: Vec<&&str> = broken
        .iter()
        .filter(|b| b.contains("first broken record"))
        .collect();
    assert_eq!(chains.len(), 1, "{v}");
    // The chain was anchored when its session's alarm fired (idle 3 s): the anchor that
    // pinned its head names the same session.
    let chain = chains[0].split(':').next().unwrap();
    for b in broken.iter().filter(|b| b.starts_with("anchor: ")) {
        assert!(b.contains(chain), "{v}");
    }
}

/// Phone width, keyboard only and a live session's Reload, on a worker
/// with the default idle timeout so the session stays live while the page watches it.
#[test]
fn viewer_works_on_a_phone_by_keyboard_and_reloads_a_live_session() {
    let w = support::start(&[]);
    let events = signup_now();
    let (s, v) = (id("s"), id("v"));
    let half = events.len() / 2;
    let first = support::beacon(&s, &v, 0, "web", &Value::Array(events[..half].to_vec()));
    let r = w.post("/v1/ingest/demo", &[LOCAL], &first);
    assert_eq!((r.status, r.json()["stored"].clone()), (202, json!(true)));
    // The next beacon is sent by the script through the worker once the replay is open.
    let next = w.state.join("next-beacon.json");
    let body = support::beacon(&s, &v, 1, "web", &Value::Array(events[half..].to_vec()));
    std::fs::write(&next, body).unwrap();

    let art = support::root().join("target/e2e-viewer");
    let r = support::browser_script(
        "ux",
        "tools/viewer/e2e.mjs",
        &[
            &w.base,
            "demo",
            "demo-read",
            "demo-audit",
            &s,
            &art.to_string_lossy(),
            "[]",
        ],
        &[
            ("VIEWER_MODE", "ux"),
            ("VIEWER_NEXT_BEACON", &next.to_string_lossy()),
        ],
    );
    // On a mobile viewport a too-wide page widens the layout viewport itself (innerWidth grows
    // with it), so the phone's width is checked too, not only scrollWidth <= innerWidth.
    let fits = |k: &str| {
        let l = &r[k];
        let (sw, iw) = (
            l["scroll_width"].as_u64().unwrap(),
            l["inner_width"].as_u64().unwrap(),
        );
        assert!(sw <= iw, "{k}: the page overflows horizontally: {r}");
        let screen = if k.starts_with("phone") { 390 } else { 1280 };
        assert!(
            sw <= screen && iw == screen,
            "{k}: wider than the screen: {r}"
        );
    };
    for k in [
        "desktop_start",
        "desktop_open",
        "phone_start",
        "phone_list",
        "phone_open",
    ] {
        fits(k);
    }
    assert_eq!(r["phone_start"]["inner_width"], 390, "{r}");
    for (c, shown) in r["phone_controls"].as_object().unwrap() {
        assert_eq!(shown, true, "{c} hidden on a phone: {r}");
    }
    let p = &r["phone_player"];
    assert!(
        p["left"].as_f64().unwrap() >= 0.0 && p["right"].as_f64().unwrap() <= 390.0,
        "{r}"
    );
    assert!(p["height"].as_f64().unwrap() > 100.0, "{r}");
    assert_eq!(
        r["phone_player_controls"]["#player .rr-controller__btns button"],
        true
    );

    // Keyboard only: the first Tab lands on the key, the next on the token; Tab reaches the
    // Replay button, which shows a focus outline; Enter opened the replay.
    assert_eq!(r["kb_first"]["id"], "key", "{r}");
    assert_eq!(r["kb_second"]["id"], "token", "{r}");
    assert!(
        r["kb_tabs"].is_u64(),
        "Tab never reached the Replay button: {r}"
    );
    assert_ne!(r["kb_replay_focus"]["outline"], "none", "{r}");
    assert_ne!(r["kb_replay_focus"]["outline_width"], "0px", "{r}");

    // Live: the list and the manifest say so and offer Reload; after the next beacon, Reload
    // shows the chunk and event counts the read API now has.
    assert_eq!(r["live_row_state"], "live", "{r}");
    assert_eq!(r["reload_visible"], true, "{r}");
    assert_eq!(r["before"]["State"], "live", "{r}");
    assert_eq!(r["before"]["Chunks"], "1", "{r}");
    assert_eq!(r["next_beacon"]["status"], 202, "{r}");
    assert_eq!(r["next_beacon"]["body"]["stored"], true, "{r}");
    let m = w
        .get(&format!("/v1/projects/demo/sessions/{s}"), "demo-read")
        .json();
    let all = w
        .get(
            &format!("/v1/projects/demo/sessions/{s}/events"),
            "demo-read",
        )
        .json();
    assert_eq!(m["chunks"], 2);
    assert_eq!(r["after"]["Chunks"], "2", "{r}");
    assert_eq!(r["after"]["Events"], m["events"].to_string(), "{r}");
    let n = all.as_array().unwrap().len();
    assert_eq!(
        r["after_status"],
        format!("Session {s}: {n} events."),
        "{r}"
    );
    assert_ne!(r["before_status"], r["after_status"], "{r}");
    assert_eq!(r["after_player"], true, "{r}");
    assert_eq!(r["page_errors"], json!([]), "{r}");
    assert!(art.join("phone.png").exists());
}
