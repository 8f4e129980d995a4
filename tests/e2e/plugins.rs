//! rrweb plugin events (type 6) through the running worker. The
//! console events were recorded in Chromium with @rrweb/rrweb-plugin-console-record
//! (tests/fixtures/plugins/console.json, tools/record/plugins.mjs); the network events are
//! hand-written in the `rrweb/network@1` shape posthog-js emits (plugins/network.json).
//! What the worker stored is read back through the read API and scanned in local R2 and the
//! log: no planted secret, plugin names and structural fields intact, and the session still
//! replays in rrweb's Replayer with a replay plugin seeing every plugin event by its name.

use crate::support;

use serde_json::{json, Value};

/// Scans everything its worker stored and logged, so it has a worker of its own.
fn worker() -> &'static crate::support::Worker {
    static W: std::sync::OnceLock<crate::support::Worker> = std::sync::OnceLock::new();
    crate::support::own_worker(&W)
}

const BODY_DROPPED: &str = "[body dropped by veilgate]";

fn load(name: &str) -> Value {
    let p = support::root().join("tests/fixtures/plugins").join(name);
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// The console recording with the network events placed after its last event.
fn session_events() -> (Vec<Value>, Vec<String>) {
    let console = load("console.json");
    let network = load("network.json");
    let mut events = console["events"].as_array().unwrap().clone();
    let last = events
        .iter()
        .filter_map(|e| e["timestamp"].as_u64())
        .max()
        .unwrap();
    for (i, e) in network["events"].as_array().unwrap().iter().enumerate() {
        let mut e = e.clone();
        e["timestamp"] = json!(last + 10 * (i as u64 + 1));
        events.push(e);
    }
    let planted = console["meta"]["planted"]
        .as_array()
        .unwrap()
        .iter()
        .chain(network["planted"].as_array().unwrap())
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    (events, planted)
}

/// Two beacons of one session to `project`; returns the session id.
fn post(project: &str, events: &[Value]) -> String {
    let page = load("console.json")["page"].clone();
    let half = events.len() / 2;
    support::post_session(worker(), project, &page, [&events[..half], &events[half..]])
}

fn read_events(project: &str, s: &str, token: &str) -> (Vec<u8>, Vec<Value>) {
    let r = worker().get(
        &format!("/v1/projects/{project}/sessions/{s}/events"),
        token,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let events = r
        .json()
        .as_array()
        .expect("merged events are an array")
        .clone();
    (r.body, events)
}

fn plugin_events<'a>(events: &'a [Value], name: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["type"] == 6 && e["data"]["plugin"] == name)
        .collect()
}

fn requests(events: &[Value]) -> Vec<Value> {
    plugin_events(events, "rrweb/network@1")
        .iter()
        .flat_map(|e| e["data"]["payload"]["requests"].as_array().unwrap().clone())
        .collect()
}

fn leaks(planted: &[String], files: &[(String, Vec<u8>)]) -> Vec<String> {
    let mut out = Vec::new();
    for v in planted {
        let json = serde_json::to_string(v).unwrap();
        let forms = [
            v.clone(),
            json[1..json.len() - 1].to_string(),
            v.replace(' ', "+"),
        ];
        for form in forms {
            for (path, bytes) in files {
                if bytes.windows(form.len()).any(|w| w == form.as_bytes()) {
                    out.push(format!("{v:?} as {form:?} in {path}"));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn replay(events: &[u8]) -> Value {
    let dir = std::env::temp_dir().join(format!("veilgate-plugins-{}", support::id("r")));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("events.json");
    std::fs::write(&json, events).unwrap();
    support::replay(&json, &dir.join("plugins.png"))
}

#[test]
fn plugin_payloads_are_masked_by_shape_and_still_replay() {
    let (events, planted) = session_events();
    let s = post("demo", &events);
    let (body, stored) = read_events("demo", &s, "demo-read");
    assert_eq!(stored.len(), events.len());

    // No planted value in what the read API serves, in local R2 or in the worker's log.
    let mut files = worker().r2_objects();
    files.push(("read API".into(), body.clone()));
    files.push(("wrangler.log".into(), worker().log_text().into_bytes()));
    let found = leaks(&planted, &files);
    assert!(
        found.is_empty(),
        "{} leaks:\n{}",
        found.len(),
        found.join("\n")
    );

    // Plugin names exact, console structure intact.
    let consoles = plugin_events(&stored, "rrweb/console@1");
    let levels: Vec<_> = consoles
        .iter()
        .map(|e| e["data"]["payload"]["level"].as_str().unwrap())
        .collect();
    assert_eq!(levels, ["log", "info", "warn", "error"]);
    let login = &consoles[0]["data"]["payload"]["payload"];
    assert_eq!(login[0], "\"login attempt\"");
    let arg: Value = serde_json::from_str(login[1].as_str().unwrap()).unwrap();
    let pw = arg["password"].as_str().unwrap();
    assert!(!pw.is_empty() && pw.chars().all(|c| c == '*'), "{arg}");

    // Network: structure kept, bodies dropped for the marker, only safe headers.
    let reqs = requests(&stored);
    assert_eq!(reqs.len(), 2);
    let (a, b) = (&reqs[0], &reqs[1]);
    assert_eq!(a["method"], "POST");
    assert_eq!(a["initiatorType"], "fetch");
    assert_eq!(a["status"], 200);
    assert_eq!(a["startTime"], 1702.4);
    assert_eq!(a["endTime"], 1790.1);
    assert_eq!(a["timeOrigin"], 1796173129000u64);
    assert_eq!(b["initiatorType"], "xmlhttprequest");
    assert_eq!(b["status"], 204);
    // The URL scrubber ran (the IP host is starred by the IP rule, the token by its key).
    let url = a["name"].as_str().unwrap();
    assert!(
        url.starts_with("http://") && url.contains("/api/login?"),
        "{url}"
    );
    assert_eq!(a["requestBody"], BODY_DROPPED);
    assert_eq!(a["responseBody"], BODY_DROPPED);
    assert_eq!(b["requestBody"], BODY_DROPPED);
    assert!(b["responseBody"].is_null());
    let mut headers: Vec<_> = a["requestHeaders"].as_object().unwrap().keys().collect();
    headers.sort();
    assert_eq!(headers, ["accept", "content-type"], "{a}");
    assert_eq!(a["nextHopProtocol"], "http/1.1");
    assert_eq!(a["responseHeaders"]["content-length"], "96");
    assert!(a["responseHeaders"].get("set-cookie").is_none());

    // The stored session replays; a replay plugin sees every plugin event under its name.
    let summary = replay(&body);
    assert_eq!(summary["ok"], true, "{summary}");
    assert_eq!(summary["plugin_events"]["rrweb/console@1"], 4, "{summary}");
    assert_eq!(summary["plugin_events"]["rrweb/network@1"], 2, "{summary}");
    let inputs = summary["input_values"].to_string();
    for v in &planted {
        assert!(!inputs.contains(v.as_str()), "{v} visible in replay");
    }
}

/// A project with `masking.record.network_bodies` keeps bodies, masked by key in their own
/// encoding (JSON stays JSON, form encoding stays form encoding) and by the detectors.
#[test]
fn recorded_network_bodies_are_masked_in_their_encoding() {
    let (events, planted) = session_events();
    let s = post("test-netbodies", &events);
    let (body, stored) = read_events("test-netbodies", &s, "test-netbodies-read");
    let found = leaks(&planted, &[("read API".into(), body)]);
    assert!(
        found.is_empty(),
        "{} leaks:\n{}",
        found.len(),
        found.join("\n")
    );

    let reqs = requests(&stored);
    assert_eq!(reqs.len(), 2);
    let login: Value = serde_json::from_str(reqs[0]["requestBody"].as_str().unwrap())
        .expect("a JSON body stays JSON");
    let pw = login["password"].as_str().unwrap();
    assert!(!pw.is_empty() && pw.chars().all(|c| c == '*'), "{login}");
    assert_eq!(login["remember"], true);
    assert_eq!(login["attempt"], 1);
    let resp: Value = serde_json::from_str(reqs[0]["responseBody"].as_str().unwrap()).unwrap();
    assert_eq!(resp["ok"], true);
    // `user` is a sensitive key: its whole object is starred, its shape kept.
    assert_eq!(resp["user"]["display"], "****", "{resp}");
    let form = reqs[1]["requestBody"].as_str().unwrap();
    let keys: Vec<_> = form
        .split('&')
        .map(|p| p.split('=').next().unwrap())
        .collect();
    assert_eq!(keys, ["display", "card", "passwd", "newsletter"], "{form}");
    assert!(form.starts_with("display=Nora&"), "{form}");
    // Headers stay on the safe list: this project records bodies, not headers.
    assert!(reqs[0]["requestHeaders"].get("authorization").is_none());
}
