//! The admin API on local workerd — create, ingest at once, tokens with grace,
//! disable, validation with paths, the admin token, and the CLI driving the same flow.

use crate::support;

use std::time::Duration;

use crate::support::{beacon, id, worker, Reply, Worker};
use serde_json::{json, Value};

/// `.dev.vars` holds the SHA-256 of this local-only token.
pub(crate) const ADMIN: &str = "dev-admin";

pub(crate) fn admin(
    w: &Worker,
    method: &str,
    path: &str,
    body: Option<&Value>,
    extra: &[(&str, &str)],
) -> Reply {
    let auth = format!("Bearer {ADMIN}");
    let mut headers = vec![
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    headers.extend_from_slice(extra);
    let text = body.map(|b| b.to_string());
    w.request(method, path, &headers, text.as_deref().map(str::as_bytes))
}

pub(crate) fn config() -> Value {
    json!({
        "name": "Admin e2e shop", "type": "web",
        "allowed_origins": ["http://localhost:*"],
        "consent": {"mode": "none", "version": "v1"},
        "retention_days": 30,
    })
}

pub(crate) fn ingest(key: &str) -> Reply {
    let events = json!([{"type": 4, "data": {"href": "http://localhost:8787/", "width": 800, "height": 600}, "timestamp": 1_700_000_000_000u64}]);
    let body = beacon(&id("s"), &id("v"), 0, "web", &events);
    worker().post(
        &format!("/v1/ingest/{key}"),
        &[
            ("Origin", "http://localhost:8787"),
            ("Content-Type", "application/json"),
        ],
        &body,
    )
}

pub(crate) fn new_key(prefix: &str) -> String {
    id(prefix).replace('_', "-")
}

pub(crate) fn rotate(key: &str, kind: &str, grace: &str) -> String {
    let r = admin(
        worker(),
        "POST",
        &format!("/v1/admin/projects/{key}/tokens/{kind}{grace}"),
        None,
        &[],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["token"].as_str().unwrap().to_string()
}

pub(crate) fn sessions(key: &str, token: &str) -> u16 {
    worker()
        .get(&format!("/v1/projects/{key}/sessions"), token)
        .status
}

#[test]
fn create_ingest_read_and_disable() {
    let w = worker();
    let key = new_key("shop");
    // Unknown before: 401 on ingest (and this isolate caches that as unknown).
    assert_eq!(ingest(&key).status, 401);
    let r = admin(
        w,
        "PUT",
        &format!("/v1/admin/projects/{key}"),
        Some(&config()),
        &[],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let etag = r.header("ETag").expect("ETag").to_string();
    // The isolate that made the change serves it at once.
    assert_eq!(ingest(&key).status, 202);
    let token = rotate(&key, "read", "");
    assert_eq!(sessions(&key, &token), 200);
    assert_eq!(sessions(&key, "not-the-token"), 401);

    // GET shows the token's id and time, never its hash.
    let got = admin(w, "GET", &format!("/v1/admin/projects/{key}"), None, &[]);
    assert_eq!(got.status, 200);
    let v = got.json();
    assert_eq!(v["read_tokens"].as_array().unwrap().len(), 1);
    assert!(v["read_tokens"][0]["id"].is_string() && v["read_tokens"][0]["created_ms"].is_u64());
    assert!(!got.text().contains("sha256"), "{}", got.text());
    assert_ne!(
        got.header("ETag").unwrap(),
        etag,
        "a token changes the ETag"
    );

    // A second PUT without If-Match cannot overwrite; a stale ETag neither; `*` can.
    let path = format!("/v1/admin/projects/{key}");
    assert_eq!(
        admin(w, "PUT", &path, Some(&config()), &[]).error_code(),
        "project_exists"
    );
    assert_eq!(
        admin(w, "PUT", &path, Some(&config()), &[("If-Match", &etag)]).status,
        412
    );
    let r = admin(w, "PUT", &path, Some(&config()), &[("If-Match", "*")]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(sessions(&key, &token), 200, "a replace keeps the tokens");

    // The list pages over the keys.
    let list = admin(w, "GET", "/v1/admin/projects?limit=1", None, &[]).json();
    assert_eq!(list["projects"].as_array().unwrap().len(), 1);
    assert!(list["cursor"].is_string(), "{list}");

    // Disable: 403 project_disabled at once on this isolate.
    let r = admin(w, "PATCH", &path, Some(&json!({"enabled": false})), &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["enabled"], json!(false));
    let refused = ingest(&key);
    assert_eq!(
        (refused.status, refused.error_code().as_str()),
        (403, "project_disabled")
    );
}

#[test]
fn rotation_with_grace_and_at_once() {
    let w = worker();
    let key = new_key("rot");
    assert_eq!(
        admin(
            w,
            "PUT",
            &format!("/v1/admin/projects/{key}"),
            Some(&config()),
            &[]
        )
        .status,
        201
    );
    let first = rotate(&key, "audit", "");
    let audit = |t: &str| worker().get(&format!("/v1/projects/{key}/audit"), t).status;
    assert_eq!(audit(&first), 200);
    let second = rotate(&key, "audit", "?grace=2");
    assert_eq!(
        (audit(&first), audit(&second)),
        (200, 200),
        "both live during the grace"
    );
    support::wait_until(
        "the old audit token to expire",
        Duration::from_secs(30),
        || audit(&first) == 401,
    );
    assert_eq!(audit(&second), 200);
    let third = rotate(&key, "audit", "?grace=0");
    assert_eq!(
        (audit(&second), audit(&third)),
        (401, 200),
        "grace=0 revokes at once"
    );
    assert_eq!(
        admin(
            w,
            "POST",
            &format!("/v1/admin/projects/{key}/tokens/audit?grace=-1"),
            None,
            &[]
        )
        .error_code(),
        "invalid_grace"
    );
}

#[test]
fn invalid_configs_answer_every_path_and_change_nothing() {
    let w = worker();
    let key = new_key("bad");
    let path = format!("/v1/admin/projects/{key}");
    let mut bad = config();
    bad["retention_days"] = json!(400);
    bad["masking"] = json!({"rules": [{"selector": "input", "action": "mask"}, {"selector": "a:hover", "action": "mask"}]});
    bad["consent"] = json!({"mode": "opt-in", "tcf_purposes": [99]});
    let r = admin(w, "PUT", &path, Some(&bad), &[]);
    assert_eq!((r.status, r.error_code().as_str()), (400, "invalid_config"));
    let paths: Vec<String> = r.json()["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        paths,
        [
            "retention_days",
            "consent.tcf_purposes",
            "masking.rules[1].selector"
        ]
    );
    assert_eq!(
        admin(w, "GET", &path, None, &[]).status,
        404,
        "nothing stored"
    );

    assert_eq!(admin(w, "PUT", &path, Some(&config()), &[]).status, 201);
    let before = admin(w, "GET", &path, None, &[]);
    let r = admin(
        w,
        "PATCH",
        &path,
        Some(&json!({"retention_days": 0, "type": "tv"})),
        &[],
    );
    assert_eq!(r.status, 400);
    let after = admin(w, "GET", &path, None, &[]);
    assert_eq!(
        (before.text(), before.header("ETag")),
        (after.text(), after.header("ETag"))
    );
    let r = admin(w, "PATCH", &path, Some(&json!({"read_tokens": []})), &[]);
    assert_eq!(
        r.json()["error"]["details"][0]["path"],
        json!("read_tokens")
    );
    // Short keys are for existing projects only.
    assert_eq!(
        admin(w, "PUT", "/v1/admin/projects/short", Some(&config()), &[]).error_code(),
        "invalid_key"
    );
}

#[test]
fn admin_token_is_required() {
    let w = worker();
    let cases: [&[(&str, &str)]; 3] = [
        &[],
        &[("Authorization", "Bearer dev-admiN")],
        &[("Authorization", "Bearer demo-read")],
    ];
    let mut bodies = Vec::new();
    for headers in cases {
        let r = w.request("GET", "/v1/admin/projects", headers, None);
        assert_eq!(r.status, 401);
        bodies.push(r.text());
        let r = w.request(
            "PUT",
            "/v1/admin/projects/tokenless1",
            headers,
            Some(config().to_string().as_bytes()),
        );
        assert_eq!(r.status, 401);
    }
    assert!(bodies.windows(2).all(|b| b[0] == b[1]), "{bodies:?}");
    assert_eq!(
        admin(w, "GET", "/v1/admin/projects/tokenless1", None, &[]).status,
        404
    );
}

#[test]
fn no_admin_secret_means_disabled() {
    let w = support::start(&[("ADMIN_TOKEN_SHA256", "")]);
    for (m, p) in [
        ("GET", "/v1/admin/projects"),
        ("PUT", "/v1/admin/projects/whatever1"),
        ("POST", "/v1/admin/projects/demo/tokens/read"),
    ] {
        let r = admin(&w, m, p, Some(&config()), &[]);
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (503, "admin_disabled"),
            "{m} {p}"
        );
    }
}

/// The operator CLI, built natively with `--features cli`, against the same worker.
pub(crate) fn cli(args: &[&str], token: &str) -> (i32, String, String) {
    static BUILT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    let bin = BUILT.get_or_init(|| {
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "--quiet", "--features", "cli", "--bin", "veilgate"])
            .current_dir(support::root())
            .status()
            .expect("cargo build");
        assert!(status.success(), "building the CLI failed");
        support::root().join("target/debug/veilgate")
    });
    let out = std::process::Command::new(bin)
        .args(["--endpoint", &worker().base])
        .args(args)
        .env("VEILGATE_ADMIN_TOKEN", token)
        .output()
        .expect("run veilgate");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_cli_drives_create_and_rotate() {
    let key = new_key("cli");
    let (code, out, err) = cli(
        &[
            "projects",
            "create",
            &key,
            "--name",
            "CLI shop",
            "--type",
            "web",
            "--origin",
            "http://localhost:*",
            "--consent",
            "none",
            "--retention-days",
            "14",
        ],
        ADMIN,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("CLI shop"), "{out}");
    assert_eq!(ingest(&key).status, 202);
    let (code, out, err) = cli(
        &["--json", "tokens", "rotate", &key, "read", "--grace", "0"],
        ADMIN,
    );
    assert_eq!(code, 0, "{err}");
    let token = serde_json::from_str::<Value>(&out).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(sessions(&key, &token), 200);
    // Meaningful exit codes: exists 6, invalid 5, bad token 3, unknown project 4.
    let again = ["projects", "create", &key, "--name", "x", "--type", "web"];
    assert_eq!(cli(&again, ADMIN).0, 6);
    let (code, _, err) = cli(&["projects", "set", &key, "--retention-days", "999"], ADMIN);
    assert_eq!(code, 5);
    assert!(err.contains("retention_days"), "{err}");
    assert_eq!(cli(&["projects", "list"], "wrong").0, 3);
    assert_eq!(cli(&["projects", "get", "nosuchproject"], ADMIN).0, 4);
    let (code, out, _) = cli(&["projects", "list"], ADMIN);
    assert!(code == 0 && out.lines().any(|l| l == key), "{out}");
    assert_eq!(cli(&["projects", "disable", &key], ADMIN).0, 0);
    assert_eq!(ingest(&key).status, 403);
}
