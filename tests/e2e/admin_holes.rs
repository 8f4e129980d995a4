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
    for endpoint in [
        "http://veilgate.example",
        "http://localhost@veilgate.example",
    ] {
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

/// Rotations, disables and patches racing each other on the real worker: each change is
/// decided inside the project's admin object, one at a time, so none writes back a config
/// read before another (issue 22: a revoked token came back, a new one never worked).
#[test]
fn racing_changes_never_resurrect_a_revoked_token_or_undo_a_disable() {
    use crate::admin::{rotate, sessions};
    let w = worker();
    let key = new_key("race");
    let path = format!("/v1/admin/projects/{key}");
    assert_eq!(admin(w, "PUT", &path, Some(&config()), &[]).status, 201);
    let mut revoked: Vec<String> = Vec::new();
    let mut live = rotate(&key, "read", "?grace=0");
    for round in 0..4 {
        // A burst of PATCHes (each a read-modify-write before the fix) around a revoking
        // rotation, and two rotations with a grace at the same time.
        let (new, graced) = std::thread::scope(|s| {
            let patches: Vec<_> = (0..6)
                .map(|i| {
                    let path = path.clone();
                    s.spawn(move || {
                        let r = admin(
                            w,
                            "PATCH",
                            &path,
                            Some(&json!({"retention_days": 10 + round * 10 + i})),
                            &[],
                        );
                        assert_eq!(r.status, 200, "{}", r.text());
                    })
                })
                .collect();
            let revoking = s.spawn(|| rotate(&key, "read", "?grace=0"));
            let graced: Vec<_> = (0..2)
                .map(|_| s.spawn(|| rotate(&key, "audit", "?grace=3600")))
                .collect();
            for p in patches {
                p.join().unwrap();
            }
            (
                revoking.join().unwrap(),
                graced
                    .into_iter()
                    .map(|g| g.join().unwrap())
                    .collect::<Vec<_>>(),
            )
        });
        revoked.push(std::mem::replace(&mut live, new));
        assert_eq!(
            sessions(&key, &live),
            200,
            "round {round}: the new token works"
        );
        for old in &revoked {
            assert_eq!(
                sessions(&key, old),
                401,
                "round {round}: a revoked token came back"
            );
        }
        for t in &graced {
            let r = w.get(&format!("/v1/projects/{key}/audit"), t);
            assert_eq!(
                r.status, 200,
                "round {round}: a rotated-in audit token never worked"
            );
        }
    }

    // Disable while other changes race it: it stays disabled; a change made against the
    // config read before the disable is refused.
    let tag = admin(w, "GET", &path, None, &[])
        .header("ETag")
        .unwrap()
        .to_string();
    std::thread::scope(|s| {
        let others: Vec<_> = (0..6)
            .map(|i| {
                let path = path.clone();
                s.spawn(move || {
                    admin(
                        w,
                        "PATCH",
                        &path,
                        Some(&json!({"name": format!("n{i}")})),
                        &[],
                    )
                })
            })
            .collect();
        let off = admin(w, "PATCH", &path, Some(&json!({"enabled": false})), &[]);
        assert_eq!(off.status, 200, "{}", off.text());
        for o in others {
            assert_eq!(o.join().unwrap().status, 200);
        }
    });
    let stale = admin(
        w,
        "PATCH",
        &path,
        Some(&json!({"enabled": true})),
        &[("If-Match", &tag)],
    );
    assert_eq!(
        (stale.status, stale.error_code().as_str()),
        (412, "etag_mismatch")
    );
    assert_eq!(
        admin(w, "GET", &path, None, &[]).json()["enabled"],
        json!(false)
    );
    assert_eq!(crate::admin::ingest(&key).status, 403);
}

/// A disabled project refuses recordings, but its read, audit and erasure APIs keep working
/// for their token holders: a compliance officer must still audit and erase after a site is
/// switched off (docs/ADMIN.md, "Disabling a project").
#[test]
fn a_disabled_project_refuses_ingest_and_stays_readable_and_erasable() {
    use crate::admin::rotate;
    use crate::support::{beacon, id};
    let w = worker();
    let key = new_key("off");
    let path = format!("/v1/admin/projects/{key}");
    assert_eq!(admin(w, "PUT", &path, Some(&config()), &[]).status, 201);
    let read = rotate(&key, "read", "?grace=0");
    let audit = rotate(&key, "audit", "?grace=0");
    let session = id("s");
    let events = json!([{"type": 4, "data": {"href": "http://localhost:8787/", "width": 800, "height": 600}, "timestamp": 1_700_000_000_000u64}]);
    let send = |seq: u64| {
        w.post(
            &format!("/v1/ingest/{key}"),
            &[
                ("Origin", "http://localhost:8787"),
                ("Content-Type", "application/json"),
            ],
            &beacon(&session, &id("v"), seq, "web", &events),
        )
    };
    assert_eq!(send(0).status, 202);
    let off = admin(w, "PATCH", &path, Some(&json!({"enabled": false})), &[]);
    assert_eq!(off.status, 200, "{}", off.text());

    let refused = send(1);
    assert_eq!(
        (refused.status, refused.error_code().as_str()),
        (403, "project_disabled")
    );
    let m = w.get(&format!("/v1/projects/{key}/sessions/{session}"), &read);
    assert_eq!(m.status, 200, "{}", m.text());
    let a = w.get(&format!("/v1/projects/{key}/audit"), &audit);
    assert_eq!(a.status, 200, "{}", a.text());
    let auth = format!("Bearer {read}");
    let del = w.request(
        "DELETE",
        &format!("/v1/projects/{key}/sessions/{session}"),
        &[("Authorization", &auth)],
        None,
    );
    assert!(
        del.status == 200 || del.status == 204,
        "{} {}",
        del.status,
        del.text()
    );
    assert_eq!(
        w.get(&format!("/v1/projects/{key}/sessions/{session}"), &read)
            .status,
        404
    );
    // Tokens still only work for their holders.
    assert_eq!(
        w.get(&format!("/v1/projects/{key}/audit"), &read).status,
        401
    );
}
