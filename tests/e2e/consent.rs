//! Consent and opt-out through the running worker, the audit trail, tampering and
//! erasure.

use crate::support;

use crate::support::{beacon, id, worker};
use serde_json::{json, Value};

// Real-format consent strings (TCF ones built with the IAB's @iabtcf/core by
// tools/tcf/policy-strings.mjs; vendor 755 is the one test-vendor names).
const TCF_GRANTED: &str = "CQgaaaAQgdtWAAKADBENCWEAAIMAAAAAAAYgF5wAgADgLzAAAAAA.IGWQAwADgLzAZYAA";
const TCF_DENIED_P1: &str = "CQgaaaAQgdtWAAKADBENCWEAAAMAAEMAAAYgF5wAgADgLzAAAAAA.IGWQAwADgLzAZYAA";
const TCF_VENDOR_LI_ONLY: &str =
    "CQgaaaAQgdtWAAKADBENCWEAAIAAAAAAAAYgADgIF5wAQF5gAAAA.IGWQAwADgLzAZYAA";
const CB_YES: &str = "{stamp:%27kT2dQm8Vw1Zx+Yq/3NfUo0pLs9RaHcEb4GjIyK7tWvXn6MrB5OeDgA==%27%2Cnecessary:true%2Cpreferences:false%2Cstatistics:true%2Cmarketing:false%2Cmethod:%27explicit%27%2Cver:1%2Cutc:1761904800123%2Cregion:%27de%27}";
const CB_NO: &str = "{stamp:%27kT2dQm8Vw1Zx+Yq/3NfUo0pLs9RaHcEb4GjIyK7tWvXn6MrB5OeDgA==%27%2Cnecessary:true%2Cpreferences:false%2Cstatistics:false%2Cmarketing:false%2Cmethod:%27explicit%27%2Cver:1%2Cutc:1761904800123%2Cregion:%27de%27}";
const OT_YES: &str = "isGpcEnabled=0&datestamp=Mon+Nov+03+2025+10%3A15%3A02+GMT%2B0100&version=202409.1.0&interactionCount=1&landingPath=NotLandingPage&groups=C0001%3A1%2CC0002%3A1%2CC0003%3A0%2CC0004%3A0&AwaitingReconsent=false";
const OT_NO: &str = "isGpcEnabled=0&datestamp=Mon+Nov+03+2025+10%3A15%3A02+GMT%2B0100&version=202409.1.0&interactionCount=1&landingPath=NotLandingPage&groups=C0001%3A1%2CC0002%3A0%2CC0003%3A0%2CC0004%3A0&AwaitingReconsent=false";

struct Signal {
    name: &'static str,
    cookie: String,
    gpc: bool,
    sdk: Option<Value>,
}

fn signals() -> Vec<Signal> {
    let s = |name, cookie: &str, gpc, sdk| Signal {
        name,
        cookie: cookie.to_string(),
        gpc,
        sdk,
    };
    let granted = Some(json!({"analytics_storage": "granted"}));
    let denied = Some(json!({"analytics_storage": "denied"}));
    vec![
        s("no signal", "", false, None),
        s("opt-out cookie", "veilgate_optout=1", false, None),
        s("GPC", "", true, None),
        s(
            "TCF granted",
            &format!("euconsent-v2={TCF_GRANTED}"),
            false,
            None,
        ),
        s(
            "TCF denied",
            &format!("euconsent-v2={TCF_DENIED_P1}"),
            false,
            None,
        ),
        s(
            "TCF vendor denied",
            &format!("euconsent-v2={TCF_VENDOR_LI_ONLY}"),
            false,
            None,
        ),
        s(
            "Cookiebot yes",
            &format!("CookieConsent={CB_YES}"),
            false,
            None,
        ),
        s(
            "Cookiebot no",
            &format!("CookieConsent={CB_NO}"),
            false,
            None,
        ),
        s(
            "OneTrust yes",
            &format!("OptanonConsent={OT_YES}"),
            false,
            None,
        ),
        s(
            "OneTrust no",
            &format!("OptanonConsent={OT_NO}"),
            false,
            None,
        ),
        s(
            "TCF malformed",
            "euconsent-v2=C!!not-a-tc-string",
            false,
            None,
        ),
        s(
            "Cookiebot malformed",
            "CookieConsent={stamp:%27x",
            false,
            None,
        ),
        s("SDK granted", "", false, granted.clone()),
        s("SDK denied", "", false, denied.clone()),
        s(
            "cookie no, SDK yes",
            &format!("CookieConsent={CB_NO}"),
            false,
            granted,
        ),
        s(
            "cookie yes, SDK no",
            &format!("OptanonConsent={OT_YES}; theme=dark"),
            false,
            denied,
        ),
        s(
            "opt-out cookie beats TCF",
            &format!("euconsent-v2={TCF_GRANTED}; veilgate_optout=1"),
            false,
            None,
        ),
    ]
}

/// Expected (stored, reason) per signal, for the projects
/// [test-none (`none`), demo (`opt-out`), demo-web (`opt-in`), test-vendor (`opt-in` + vendor 755)].
fn expected(signal: &str) -> [(bool, &'static str); 4] {
    const NONE: (bool, &str) = (true, "policy_none");
    const OUT: (bool, &str) = (true, "not_opted_out");
    const NOSIG: (bool, &str) = (false, "no_consent_signal");
    match signal {
        "no signal" => [NONE, OUT, NOSIG, NOSIG],
        "opt-out cookie" | "opt-out cookie beats TCF" => [(false, "opt_out_cookie"); 4],
        "GPC" => [NONE, (false, "gpc"), (false, "gpc"), (false, "gpc")],
        "TCF granted" => [NONE, OUT, (true, "granted_tcf"), (true, "granted_tcf")],
        "TCF denied" => [
            NONE,
            OUT,
            (false, "tcf_purpose_denied"),
            (false, "tcf_purpose_denied"),
        ],
        "TCF vendor denied" => [
            NONE,
            OUT,
            (true, "granted_tcf"),
            (false, "tcf_vendor_denied"),
        ],
        "Cookiebot yes" => [NONE, OUT, (true, "granted_cookiebot"), NOSIG],
        "Cookiebot no" => [NONE, OUT, (false, "denied_cookiebot"), NOSIG],
        "OneTrust yes" => [NONE, OUT, (true, "granted_onetrust"), NOSIG],
        "OneTrust no" => [NONE, OUT, (false, "denied_onetrust"), NOSIG],
        "TCF malformed" => [
            NONE,
            OUT,
            (false, "consent_unparseable"),
            (false, "consent_unparseable"),
        ],
        "Cookiebot malformed" => [NONE, OUT, (false, "consent_unparseable"), NOSIG],
        "SDK granted" => [NONE, OUT, (true, "granted_sdk"), NOSIG],
        "SDK denied" => [NONE, OUT, (false, "denied_sdk"), NOSIG],
        "cookie no, SDK yes" => [NONE, OUT, (false, "denied_cookiebot"), NOSIG],
        "cookie yes, SDK no" => [NONE, OUT, (true, "granted_onetrust"), NOSIG],
        other => panic!("no expectation for {other}"),
    }
}

const PROJECTS: [(&str, &str, &str); 4] = [
    ("test-none", "https://any.example", "test-none-audit"),
    ("demo", "http://localhost:8787", "demo-audit"),
    ("demo-web", "https://shop.example", "demo-web-audit"),
    ("test-vendor", "https://any.example", "test-vendor-audit"),
];

fn events() -> Value {
    json!([{"type": 4, "data": {"href": "https://shop.example/", "width": 1, "height": 1}, "timestamp": 1_700_000_000_000u64}])
}

fn send(
    key: &str,
    origin: &str,
    session: &str,
    visitor: &str,
    seq: u64,
    sig: &Signal,
) -> support::Reply {
    let mut body: Value =
        serde_json::from_slice(&beacon(session, visitor, seq, "web", &events())).unwrap();
    if let Some(sdk) = &sig.sdk {
        body["consent"] = sdk.clone();
    }
    let mut headers = vec![("Origin", origin), ("Content-Type", "text/plain")];
    if !sig.cookie.is_empty() {
        headers.push(("Cookie", &sig.cookie));
    }
    if sig.gpc {
        headers.push(("Sec-GPC", "1"));
    }
    worker().post(
        &format!("/v1/ingest/{key}"),
        &headers,
        body.to_string().as_bytes(),
    )
}

fn audit_records(key: &str, token: &str) -> Vec<Value> {
    let r = worker().get(&format!("/v1/projects/{key}/audit"), token);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("Content-Type"), Some("application/x-ndjson"));
    r.text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn consent_matrix_through_the_worker_with_its_audit_trail() {
    let mut cells = 0;
    let mut sessions = Vec::new();
    for sig in signals() {
        for (i, (key, origin, _)) in PROJECTS.iter().enumerate() {
            let (s, v) = (id("s"), id("v"));
            let r = send(key, origin, &s, &v, 0, &sig);
            assert_eq!(r.status, 202, "{key} / {}: {}", sig.name, r.text());
            let (store, reason) = expected(sig.name)[i];
            let got = r.json();
            if store {
                assert_eq!(
                    got,
                    json!({"stored": true, "seq": 0}),
                    "{key} / {}",
                    sig.name
                );
            } else {
                assert_eq!(
                    got,
                    json!({"stored": false, "reason": reason}),
                    "{key} / {}",
                    sig.name
                );
            }
            sessions.push((i, s, v, store, reason, sig.name));
            cells += 1;
        }
    }
    assert_eq!(cells, 68);
    for (i, (key, _, token)) in PROJECTS.iter().enumerate() {
        let records = audit_records(key, token);
        for (_, s, v, store, reason, name) in sessions.iter().filter(|x| x.0 == i) {
            let mine: Vec<&Value> = records
                .iter()
                .filter(|r| r["session"] == s.as_str() && r["kind"] == "decision")
                .collect();
            assert_eq!(mine.len(), 1, "{key} / {name}: one decision record");
            let rec = mine[0];
            assert_eq!(rec["kind"], "decision");
            assert_eq!(
                rec["decision"],
                if *store { "stored" } else { "dropped" },
                "{key} / {name}"
            );
            assert_eq!(rec["reason"], *reason, "{key} / {name}");
            assert!(rec["policy_version"].is_string());
            let text = rec.to_string();
            // No personal data: no raw visitor id, no raw cookie value.
            assert!(
                !text.contains(v.as_str()),
                "raw visitor id in audit: {text}"
            );
            for raw in [TCF_GRANTED, CB_YES, OT_YES, "analytics_storage"] {
                assert!(!text.contains(raw), "raw signal value in audit: {text}");
            }
            // Dropped sessions stored nothing readable.
            let m = worker().get(
                &format!("/v1/projects/{key}/sessions/{s}"),
                &token.replace("audit", "read"),
            );
            assert_eq!(m.status, if *store { 200 } else { 404 }, "{key} / {name}");
        }
        let verify = worker()
            .get(&format!("/v1/projects/{key}/audit/verify"), token)
            .json();
        assert_eq!(verify["ok"], true, "{key}: {verify}");
    }
    let report = worker()
        .get("/v1/projects/demo-web/audit/report", "demo-web-audit")
        .json();
    let day = &report["days"][0];
    assert!(day["dropped"].as_u64().unwrap() >= 10, "{report}");
    assert!(
        day["reasons"]["granted_tcf"]["stored"].as_u64().unwrap() >= 2,
        "{report}"
    );
}

#[test]
fn withdrawal_mid_session_stops_storage_and_is_audited() {
    let (s, v) = (id("s"), id("v"));
    let sig = |cookie: &str| Signal {
        name: "",
        cookie: cookie.to_string(),
        gpc: false,
        sdk: None,
    };
    let yes = sig(&format!("CookieConsent={CB_YES}"));
    let no = sig(&format!("CookieConsent={CB_NO}"));
    assert_eq!(
        send("demo-web", "https://shop.example", &s, &v, 0, &yes).json()["stored"],
        true
    );
    assert_eq!(
        send("demo-web", "https://shop.example", &s, &v, 1, &yes).json()["stored"],
        true
    );
    let r = send("demo-web", "https://shop.example", &s, &v, 2, &no).json();
    assert_eq!(r, json!({"stored": false, "reason": "denied_cookiebot"}));
    assert_eq!(
        send("demo-web", "https://shop.example", &s, &v, 3, &no).json()["stored"],
        false
    );
    let m = worker()
        .get(
            &format!("/v1/projects/demo-web/sessions/{s}"),
            "demo-web-read",
        )
        .json();
    assert_eq!(m["seqs"], json!([0, 1]));
    let mine: Vec<Value> = audit_records("demo-web", "demo-web-audit")
        .into_iter()
        .filter(|r| r["session"] == s.as_str() && r["kind"] == "decision")
        .collect();
    // One record when consent was first seen, one when it changed: not one per beacon.
    assert_eq!(mine.len(), 2, "{mine:?}");
    assert_eq!(
        (mine[0]["reason"].clone(), mine[0]["beacon_seq"].clone()),
        (json!("granted_cookiebot"), json!(0))
    );
    assert_eq!(
        (mine[1]["reason"].clone(), mine[1]["beacon_seq"].clone()),
        (json!("denied_cookiebot"), json!(2))
    );
    assert_eq!(mine[1]["prev"], mine[0]["hash"]);
}

#[test]
fn opt_out_page_sets_the_cookie_and_opt_in_clears_it() {
    // A link followed (a top-level navigation): e2e `opt_out::` covers the other requests.
    let nav = [
        ("Sec-Fetch-Mode", "navigate"),
        ("Sec-Fetch-Dest", "document"),
    ];
    let r = worker().request("GET", "/v1/opt-out", &nav, None);
    assert_eq!(r.status, 200);
    let cookie = r.header("Set-Cookie").unwrap();
    assert!(cookie.starts_with("veilgate_optout=1;"), "{cookie}");
    for attr in [
        "Max-Age=34128000",
        "Secure",
        "HttpOnly",
        "SameSite=None",
        "Path=/",
    ] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    assert!(r.header("Content-Type").unwrap().starts_with("text/html"));
    assert!(r
        .header("Content-Security-Policy")
        .unwrap()
        .contains("default-src 'none'"));
    assert!(r.text().contains("/v1/opt-in"));
    // Opting back in is a same-origin POST from the opt-in page (e2e_edge_holes covers it).
    let r = worker().request("GET", "/v1/opt-in", &[], None);
    assert_eq!(r.header("Set-Cookie"), None);
    assert!(r.text().contains("/v1/opt-out"));
}

#[test]
fn audit_api_needs_the_audit_token_of_its_project() {
    for token in ["", "demo-read", "demo-web-audit", "nope"] {
        let r = worker().get("/v1/projects/demo/audit", token);
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (401, "unauthorized"),
            "{token:?}"
        );
    }
    assert_eq!(
        worker()
            .get("/v1/projects/demo/audit/verify", "demo-audit")
            .status,
        200
    );
}

#[test]
fn tampering_with_an_audit_object_is_named_by_verify() {
    let (s, v) = (id("s"), id("v"));
    let sig = Signal {
        name: "",
        cookie: String::new(),
        gpc: true,
        sdk: None,
    };
    assert_eq!(
        send("test-tamper", "https://any.example", &s, &v, 0, &sig).status,
        202
    );
    let none = Signal {
        name: "",
        cookie: "veilgate_optout=1".into(),
        gpc: false,
        sdk: None,
    };
    assert_eq!(
        send("test-tamper", "https://any.example", &s, &v, 1, &none).json()["stored"],
        false
    );
    let verify = |w: &support::Worker| {
        w.get("/v1/projects/test-tamper/audit/verify", "test-tamper-audit")
            .json()
    };
    assert_eq!(verify(worker())["ok"], true);
    // Edit record 1 of this session's chain in local R2 (the stored bytes, as an attacker with
    // bucket access would): its line in the log segment that holds it.
    let is_it = |l: &str| l.contains(&format!("\"session\":\"{s}\"")) && l.contains("\"seq\":1,");
    let blob = worker()
        .r2_objects()
        .into_iter()
        .find(|(path, b)| path.contains("/blobs/") && String::from_utf8_lossy(b).lines().any(is_it))
        .expect("the audit record in local R2");
    let text = String::from_utf8(blob.1).unwrap();
    let line = text.lines().position(is_it).unwrap();
    let edited: Vec<String> = text
        .lines()
        .map(|l| match is_it(l) {
            // Same length: local R2 keeps the object size in its metadata.
            true => l.replace("\"decision\":\"dropped\"", "\"decision\":\"stored\" "),
            false => l.to_string(),
        })
        .collect();
    std::fs::write(&blob.0, edited.join("\n") + "\n").unwrap();
    let v = verify(worker());
    assert_eq!(v["ok"], false, "{v}");
    let broken = &v["broken"][0];
    assert_eq!(broken["chain"], s.as_str());
    assert_eq!(broken["problem"], "hash_mismatch", "{v}");
    assert_eq!(broken["index"], line, "{v}");
    assert!(
        broken["key"].as_str().unwrap().ends_with(".ndjson")
            && broken["key"].as_str().unwrap().contains("/v2/days/"),
        "{v}"
    );
}

#[test]
fn erasing_a_visitor_leaves_nothing_of_theirs() {
    let v = id("v");
    let sessions = [id("s"), id("s")];
    let marker = "erasure-marker-kept-as-is";
    for s in &sessions {
        let ev = json!([{"type": 5, "data": {"tag": marker, "payload": {"plan": "pro"}}, "timestamp": 1_700_000_000_000u64}]);
        let r = worker().post(
            "/v1/ingest/demo",
            &[("Origin", "http://localhost:8787")],
            &beacon(s, &v, 0, "web", &ev),
        );
        assert_eq!(r.status, 202, "{}", r.text());
    }
    assert!(worker()
        .r2_objects()
        .iter()
        .any(|(_, b)| String::from_utf8_lossy(b).contains(marker)));
    let r = worker().request(
        "DELETE",
        &format!("/v1/projects/demo/visitors/{v}"),
        &[("Authorization", "Bearer demo-read")],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["sessions_erased"], 2);
    for s in &sessions {
        assert_eq!(
            worker()
                .get(&format!("/v1/projects/demo/sessions/{s}"), "demo-read")
                .status,
            404
        );
        assert_eq!(
            worker()
                .get(
                    &format!("/v1/projects/demo/sessions/{s}/events"),
                    "demo-read"
                )
                .status,
            404
        );
    }
    for key in worker().r2_keys() {
        assert!(!key.contains(v.as_str()), "key of the visitor left: {key}");
        for s in &sessions {
            let audit = key.starts_with("audit/");
            assert!(
                !key.contains(s.as_str()) || audit,
                "key of the session left: {key}"
            );
        }
    }
    for (path, bytes) in worker()
        .r2_objects()
        .iter()
        .filter(|(p, _)| p.contains("/blobs/"))
    {
        let t = String::from_utf8_lossy(bytes);
        assert!(!t.contains(marker), "recording content left in {path}");
        assert!(!t.contains(v.as_str()), "raw visitor id left in {path}");
        for s in &sessions {
            // Only audit records (pseudonymous, no content) may still name the session.
            if t.contains(s.as_str()) {
                assert!(
                    t.contains("\"kind\":"),
                    "non-audit object names the session: {path}: {t}"
                );
            }
        }
    }
    let erasures: Vec<Value> = audit_records("demo", "demo-audit")
        .into_iter()
        .filter(|r| r["kind"] == "erasure" && sessions.iter().any(|s| r["session"] == s.as_str()))
        .collect();
    assert_eq!(erasures.len(), 2);
    assert!(erasures.iter().all(|r| r["reason"] == "visitor_erasure"));
    assert_eq!(
        worker()
            .get("/v1/projects/demo/audit/verify", "demo-audit")
            .json()["ok"],
        true
    );
}

#[test]
fn a_beacon_refused_for_its_events_leaves_no_audit_record() {
    // The worker only locates a beacon's events; the session object checks them before it
    // audits anything, and the client gets the same refusal as from a full parse.
    let (s, v) = (id("s"), id("v"));
    let bad = json!([{"type": 3, "data": {"source": 1}, "timestamp": -5}]);
    let body = beacon(&s, &v, 0, "web", &bad);
    let origin = ("Origin", "http://localhost:8787");
    for headers in [vec![origin], vec![origin, ("Sec-GPC", "1")]] {
        let r = worker().post("/v1/ingest/demo", &headers, &body);
        assert_eq!(r.status, 400, "{headers:?}: {}", r.text());
        assert_eq!(
            r.json()["error"]["message"],
            "event 0: timestamp must be a non-negative number",
            "{headers:?}"
        );
    }
    let records = audit_records("demo", "demo-audit");
    assert!(
        !records.iter().any(|r| r.to_string().contains(&s)),
        "a refused beacon was audited"
    );
}
