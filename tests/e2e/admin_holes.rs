//! The admin API's holes from issue 22: configs the loader would keep while meaning something
//! else (unknown fields, unbounded limits, origins that never match), every problem in one
//! answer; changes racing a rotation or a disable; the CLI over plain HTTP; reads of a
//! disabled project.

use serde_json::{json, Value};

use crate::admin::{admin, config, new_key};
use crate::support::worker;

fn problem_paths(r: &crate::support::Reply) -> Vec<String> {
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (400, "invalid_config"),
        "{}",
        r.text()
    );
    let mut p: Vec<String> = r.json()["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap().to_string())
        .collect();
    p.sort();
    p
}

#[test]
fn configs_that_would_mean_something_else_are_refused_with_every_path() {
    let w = worker();
    let key = new_key("valid");
    let path = format!("/v1/admin/projects/{key}");
    let mut bad = config();
    bad["retention_dayz"] = json!(7);
    bad["type"] = json!("tv");
    bad["limits"] = json!({"max_decompressed_bytes": 1u64 << 30, "max_bodyy": 1});
    bad["session"] = json!({"idle_secs": 0});
    bad["allowed_origins"] = json!(["null", "https://*.shop.example", "http://localhost:*"]);
    let r = admin(w, "PUT", &path, Some(&bad), &[]);
    assert_eq!(
        problem_paths(&r),
        [
            "allowed_origins[0]",
            "allowed_origins[1]",
            "limits.max_bodyy",
            "limits.max_decompressed_bytes",
            "retention_dayz",
            "session.idle_secs",
            "type"
        ]
    );
    assert_eq!(
        admin(w, "GET", &path, None, &[]).status,
        404,
        "nothing stored"
    );

    // A PATCH is checked the same way, and changes nothing.
    assert_eq!(admin(w, "PUT", &path, Some(&config()), &[]).status, 201);
    let before = admin(w, "GET", &path, None, &[]);
    let r = admin(
        w,
        "PATCH",
        &path,
        Some(&json!({"retention_dayz": 7, "consent": {"modee": "none"}})),
        &[],
    );
    assert_eq!(problem_paths(&r), ["consent.modee", "retention_dayz"]);
    let after = admin(w, "GET", &path, None, &[]);
    assert_eq!(before.json(), after.json());
    assert_eq!(after.json()["retention_days"], Value::from(30));
}

#[test]
fn the_cli_never_sends_the_admin_token_over_plain_http_to_another_host() {
    use crate::admin::{cli, ADMIN};
    for endpoint in ["http://veilgate.example", "http://localhost@veilgate.example"] {
        let (code, out, err) = cli(&["--endpoint", endpoint, "projects", "list"], ADMIN);
        assert_eq!(code, 2, "{out}{err}");
        assert!(err.contains("https://"), "{err}");
    }
    // The worker on 127.0.0.1 is this machine: allowed.
    assert_eq!(cli(&["projects", "list"], ADMIN).0, 0);

    // A new admin token and the hash the worker keeps, offline.
    let (code, out, err) = cli(&["--json", "admin-token", "new"], "");
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let token = v["token"].as_str().unwrap();
    assert!(token.len() >= 64, "{token}");
    assert_eq!(
        v["sha256"].as_str().unwrap(),
        veilgate::project::sha256_hex(token.as_bytes())
    );
    let (_, again, _) = cli(&["--json", "admin-token", "new"], "");
    assert_ne!(out, again, "every token is new");
}
