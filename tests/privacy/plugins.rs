//! rrweb plugin events (type 6): network (`rrweb/network@1`, posthog-js shape) and console
//! (`rrweb/console@1`, @rrweb/rrweb-plugin-console-record shape), hand-written fixtures.

use serde_json::{json, Value};

use veilgate::privacy::{mask_serde_events, MaskPolicy, MaskState, Record};

fn run(ev: Value, policy: &MaskPolicy) -> Value {
    let mut evs = vec![ev];
    mask_serde_events(&mut evs, policy, &mut MaskState::default());
    evs.pop().unwrap()
}

fn network_event() -> Value {
    json!({"type": 6, "timestamp": 5, "data": {"plugin": "rrweb/network@1", "payload": {"requests": [{
        "url": "https://api.example.com/login?q=Jane&utm_source=x",
        "method": "POST", "initiatorType": "fetch", "status": 200,
        "startTime": 1234.5, "endTime": 1300.25,
        "requestHeaders": {"Content-Type": "application/json", "Authorization": "Bearer abcdefghijkl",
                           "X-Csrf-Token": "tokentokentoken", "X-Customer": "janedoe"},
        "requestBody": "{\"username\":\"janedoe\",\"password\":\"pwsecretletters\"}",
        "responseHeaders": {"content-length": "42", "set-cookie": "sid=sessionletters"},
        "responseBody": "user=janedoe&password=pwsecretletters"
    }]}}})
}

fn console_event() -> Value {
    json!({"type": 6, "timestamp": 6, "data": {"plugin": "rrweb/console@1", "payload": {
        "level": "log",
        "trace": ["at login (https://app.example.com/app.js:10:5)"],
        "payload": ["\"logged in\"", "{\"password\":\"pwsecretletters\",\"token\":\"tkletterssecret\"}"]
    }}})
}

fn bodies_on() -> MaskPolicy {
    MaskPolicy {
        record: Record {
            network_bodies: true,
            ..Record::default()
        },
        ..MaskPolicy::default()
    }
}

/// None of the secret header values of `network_event` in `s`, in any field.
fn assert_no_header_secret(s: &str) {
    assert!(
        !s.contains("abcdefghijkl")
            && !s.contains("tokentokentoken")
            && !s.contains("sessionletters"),
        "{s}"
    );
}

#[test]
fn plugin_names_and_structural_fields_survive() {
    let out = run(network_event(), &MaskPolicy::default());
    assert_eq!(out["data"]["plugin"], "rrweb/network@1");
    let r = &out["data"]["payload"]["requests"][0];
    assert_eq!(r["method"], "POST");
    assert_eq!(r["initiatorType"], "fetch");
    assert_eq!(r["status"], 200);
    assert_eq!(r["startTime"], 1234.5);
    assert_eq!(r["endTime"], 1300.25);
    let out = run(console_event(), &MaskPolicy::default());
    assert_eq!(out["data"]["plugin"], "rrweb/console@1");
    assert_eq!(out["data"]["payload"]["level"], "log");
}

#[test]
fn network_bodies_dropped_by_default_and_headers_filtered() {
    let out = run(network_event(), &MaskPolicy::default());
    let s = out.to_string();
    assert!(!s.contains("pwsecretletters"), "{s}");
    assert!(!s.contains("janedoe"), "{s}");
    let r = &out["data"]["payload"]["requests"][0];
    assert_eq!(r["requestBody"], veilgate::privacy::plugins::BODY_DROPPED);
    assert_eq!(r["responseBody"], veilgate::privacy::plugins::BODY_DROPPED);
    assert_eq!(r["requestHeaders"]["Content-Type"], "application/json");
    assert_eq!(r["responseHeaders"]["content-length"], "42");
    assert!(r["requestHeaders"].get("X-Customer").is_none());
    // Only the safe list by default: secret headers are not even named.
    assert!(r["requestHeaders"].get("Authorization").is_none(), "{r}");
    assert!(r["responseHeaders"].get("set-cookie").is_none(), "{r}");
    assert_no_header_secret(&s);
}

#[test]
fn network_bodies_when_recorded_are_masked_by_key_in_their_encoding() {
    let out = run(network_event(), &bodies_on());
    let r = &out["data"]["payload"]["requests"][0];
    let req = r["requestBody"].as_str().unwrap();
    let parsed: Value = serde_json::from_str(req).expect("still JSON");
    assert!(!req.contains("pwsecretletters"), "{req}");
    assert!(parsed["password"]
        .as_str()
        .unwrap()
        .chars()
        .all(|c| c == '*'));
    let resp = r["responseBody"].as_str().unwrap();
    assert!(
        resp.starts_with("user=") && resp.contains("&password="),
        "{resp}"
    );
    assert!(
        !resp.contains("pwsecretletters") && !resp.contains("janedoe"),
        "{resp}"
    );
}

#[test]
fn network_headers_opt_in_keeps_others_but_never_secrets() {
    let p = MaskPolicy {
        record: Record {
            network_headers: true,
            ..Record::default()
        },
        ..MaskPolicy::default()
    };
    let out = run(network_event(), &p);
    let r = &out["data"]["payload"]["requests"][0];
    assert!(r["requestHeaders"].get("X-Customer").is_some());
    let auth = r["requestHeaders"]["Authorization"].as_str().unwrap();
    assert!(!auth.is_empty() && auth.chars().all(|c| c == '*'), "{auth}");
    let s = out.to_string();
    assert_no_header_secret(&s);
}

#[test]
fn console_payload_masked_by_key() {
    let out = run(console_event(), &MaskPolicy::default());
    let s = out.to_string();
    assert!(
        !s.contains("pwsecretletters") && !s.contains("tkletterssecret"),
        "{s}"
    );
    let arg = out["data"]["payload"]["payload"][1].as_str().unwrap();
    let parsed: Value = serde_json::from_str(arg).expect("still JSON");
    assert!(parsed.get("password").is_some());
    assert_eq!(out["data"]["payload"]["payload"][0], "\"logged in\"");
}

#[test]
fn project_sensitive_keys_apply_to_bodies() {
    let mut p = bodies_on();
    p.sensitive_keys = vec!["customer_ref".into()];
    let mut ev = network_event();
    ev["data"]["payload"]["requests"][0]["requestBody"] =
        json!("{\"customer_ref\":\"abcletters\"}");
    let out = run(ev, &p);
    assert!(!out.to_string().contains("abcletters"));
}

#[test]
fn unknown_plugin_still_scrubbed() {
    let ev = json!({"type": 6, "timestamp": 5, "data": {"plugin": "acme/x@1", "payload": {"password": "pwsecretletters"}}});
    let out = run(ev, &MaskPolicy::default());
    assert!(!out.to_string().contains("pwsecretletters"));
}

#[test]
fn form_bodies_with_bare_flags_are_still_masked_by_key() {
    let mut ev = network_event();
    ev["data"]["payload"]["requests"][0]["requestBody"] =
        json!("user=janedoe&password=pwsecretletters&remember");
    let out = run(ev, &bodies_on());
    let body = out["data"]["payload"]["requests"][0]["requestBody"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!body.contains("pwsecretletters"), "{body}");
    assert!(
        body.starts_with("user=") && body.ends_with("&remember"),
        "{body}"
    );
}

#[test]
fn network_timing_fields_and_relative_urls() {
    let mut ev = network_event();
    let r = &mut ev["data"]["payload"]["requests"][0];
    r["url"] = json!("/api/login?token=tkletterssecret");
    // A timing integer of card shape (13 digits, Visa prefix, Luhn-valid): still a number.
    r["fetchStart"] = json!(4_222_222_222_222u64);
    r["entryType"] = json!("resource");
    r["nextHopProtocol"] = json!("http/1.1");
    r["isInitial"] = json!(true);
    let out = run(ev, &MaskPolicy::default());
    let r = &out["data"]["payload"]["requests"][0];
    assert!(
        !r["url"].as_str().unwrap().contains("tkletterssecret"),
        "{r}"
    );
    assert!(r["url"].as_str().unwrap().starts_with("/api/login?token="));
    assert_eq!(r["fetchStart"], 4_222_222_222_222u64);
    assert_eq!(r["entryType"], "resource");
    assert_eq!(r["nextHopProtocol"], "http/1.1");
    assert_eq!(r["isInitial"], true);
}

/// The console fixture recorded in Chromium (tools/record/plugins.mjs): every planted value
/// gone after default masking, the plugin events still in their shape.
#[test]
fn recorded_console_fixture_loses_every_planted_value() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/plugins/console.json"
    );
    let fx: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let mut evs = fx["events"].as_array().unwrap().clone();
    let before = evs.len();
    mask_serde_events(&mut evs, &MaskPolicy::default(), &mut MaskState::default());
    assert_eq!(evs.len(), before);
    let s = serde_json::to_string(&evs).unwrap();
    for v in fx["meta"]["planted"].as_array().unwrap() {
        let v = v.as_str().unwrap();
        assert!(!s.contains(v), "{v} survived: {s}");
    }
    let consoles: Vec<_> = evs
        .iter()
        .filter(|e| e["type"] == 6 && e["data"]["plugin"] == "rrweb/console@1")
        .collect();
    assert_eq!(consoles.len(), 4);
    let levels: Vec<_> = consoles
        .iter()
        .map(|e| e["data"]["payload"]["level"].as_str().unwrap())
        .collect();
    assert_eq!(levels, ["log", "info", "warn", "error"]);
    for e in &consoles {
        for arg in e["data"]["payload"]["payload"].as_array().unwrap() {
            // The console replay parses each argument back as JSON.
            serde_json::from_str::<Value>(arg.as_str().unwrap()).expect("argument still JSON");
        }
    }
}
