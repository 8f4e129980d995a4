//! The admin object against an in-memory `AdminIo`: the races of issue 22 replayed in the
//! order the object now serialises them, adoption of KV-only projects, and the order of
//! effects (record, state, KV).

use std::cell::RefCell;

use serde_json::{json, Value};

use super::*;
use crate::project::Project;

#[derive(Default)]
struct Mem {
    state: RefCell<Option<String>>,
    kv: RefCell<Option<Published>>,
    log: RefCell<Vec<String>>,
    records: RefCell<Vec<AdminChange>>,
    fail_publish: RefCell<bool>,
    draws: RefCell<u8>,
    now: u64,
}

impl AdminIo for Mem {
    async fn load(&self) -> ApiResult<Option<String>> {
        Ok(self.state.borrow().clone())
    }
    async fn save(&self, state: String) -> ApiResult<()> {
        self.log.borrow_mut().push("save".into());
        *self.state.borrow_mut() = Some(state);
        Ok(())
    }
    async fn read_kv(&self) -> ApiResult<Option<Published>> {
        Ok(self.kv.borrow().clone())
    }
    async fn publish(&self, text: &str, version: u64) -> ApiResult<()> {
        if *self.fail_publish.borrow() {
            return Err(ApiError::unavailable("kv down"));
        }
        self.log.borrow_mut().push(format!("publish v{version}"));
        *self.kv.borrow_mut() = Some(Published {
            text: text.to_string(),
            version,
        });
        Ok(())
    }
    async fn record(&self, change: AdminChange) -> ApiResult<()> {
        self.log
            .borrow_mut()
            .push(format!("record {}", change.action));
        self.records.borrow_mut().push(change);
        Ok(())
    }
    fn now(&self) -> u64 {
        self.now
    }
    fn random(&self) -> ApiResult<[u8; 40]> {
        let mut d = self.draws.borrow_mut();
        *d += 1;
        Ok([*d; 40])
    }
}

/// The object runs one call at a time and each call runs to its end before the next:
/// polling it to completion here is exactly that order.
fn run(io: &Mem, op: AdminOp) -> AdminReply {
    block_on(handle(io, "shop-2026", op)).expect("no storage failure")
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let mut f = std::pin::pin!(f);
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn config() -> Value {
    json!({"name": "Shop", "type": "web", "consent": {"mode": "none", "version": "v1"}})
}

fn done(r: &AdminReply) -> (u16, u64, String, Value, Option<NewToken>) {
    match r {
        AdminReply::Done {
            status,
            version,
            etag,
            config,
            token,
        } => (
            *status,
            *version,
            etag.clone(),
            config.clone(),
            token.clone(),
        ),
        other => panic!("refused: {other:?}"),
    }
}

fn refused(r: &AdminReply) -> (u16, String) {
    match r {
        AdminReply::Refused { status, code, .. } => (*status, code.clone()),
        other => panic!("not refused: {other:?}"),
    }
}

/// What a reader of KV loads.
fn published(io: &Mem) -> (Project, u64) {
    let p = io.kv.borrow().clone().expect("published");
    (Project::from_json(&p.text).unwrap(), p.version)
}

fn rotate(io: &Mem, kind: TokenKind, grace_secs: u64) -> String {
    done(&run(io, AdminOp::Rotate { kind, grace_secs }))
        .4
        .unwrap()
        .token
}

fn create(io: &Mem) -> String {
    let r = run(
        io,
        AdminOp::Put {
            body: config(),
            if_match: None,
        },
    );
    assert_eq!(done(&r).0, 201);
    done(&r).2
}

#[test]
fn a_patch_read_before_a_revocation_cannot_bring_the_old_token_back() {
    let io = Mem::default();
    create(&io);
    let old = rotate(&io, TokenKind::Read, 0);
    // The operator reads the config (its ETag) ...
    let (_, _, tag_before, _, _) = done(&run(&io, AdminOp::Get));
    // ... a rotation with grace 0 revokes `old` ...
    let new = rotate(&io, TokenKind::Read, 0);
    // ... then the operator's PATCH arrives: without If-Match it merges into the current
    // config (tokens untouched); with the ETag it read, it is refused as stale.
    let r = run(
        &io,
        AdminOp::Patch {
            patch: json!({"retention_days": 7}),
            if_match: None,
        },
    );
    assert_eq!(done(&r).3["retention_days"], json!(7));
    let stale = run(
        &io,
        AdminOp::Patch {
            patch: json!({"retention_days": 9}),
            if_match: Some(tag_before),
        },
    );
    assert_eq!(refused(&stale), (412, "etag_mismatch".into()));
    let (p, _) = published(&io);
    assert!(!p.read_token_ok(&old, 1), "the revoked token stays revoked");
    assert!(p.read_token_ok(&new, 1), "the new token works");
    assert_eq!(p.retention_days, 7);
}

#[test]
fn two_rotations_in_a_row_each_hand_out_a_working_token() {
    let io = Mem::default();
    create(&io);
    let a = rotate(&io, TokenKind::Audit, 3600);
    let b = rotate(&io, TokenKind::Audit, 3600);
    let (p, v) = published(&io);
    assert!(p.audit_token_ok(&a, 1) && p.audit_token_ok(&b, 1));
    assert_eq!(v, 3);
    // With grace 0 the second revokes the first, and only the first.
    let c = rotate(&io, TokenKind::Audit, 0);
    let (p, _) = published(&io);
    assert!(!p.audit_token_ok(&a, 1) && !p.audit_token_ok(&b, 1) && p.audit_token_ok(&c, 1));
}

#[test]
fn a_stale_patch_cannot_undo_a_disable() {
    let io = Mem::default();
    let tag = create(&io);
    run(
        &io,
        AdminOp::Patch {
            patch: json!({"enabled": false}),
            if_match: None,
        },
    );
    // A change written against the config before the disable: merged, not replayed whole.
    run(
        &io,
        AdminOp::Patch {
            patch: json!({"name": "Shop 2"}),
            if_match: None,
        },
    );
    assert!(!published(&io).0.enabled);
    for op in [
        AdminOp::Patch {
            patch: json!({"enabled": true}),
            if_match: Some(tag.clone()),
        },
        AdminOp::Put {
            body: config(),
            if_match: Some(tag.clone()),
        },
    ] {
        assert_eq!(refused(&run(&io, op)), (412, "etag_mismatch".into()));
    }
    assert!(!published(&io).0.enabled);
    // Off then on again: the same bytes as before, but not the same ETag.
    let on = done(&run(
        &io,
        AdminOp::Patch {
            patch: json!({"enabled": null, "name": "Shop"}),
            if_match: None,
        },
    ));
    assert_eq!(on.3, config());
    assert_ne!(on.2, tag);
}

#[test]
fn a_kv_only_project_is_adopted_on_its_first_change() {
    let io = Mem::default();
    let seeded = json!({"name": "Demo", "type": "web", "read_token_sha256": crate::project::sha256_hex(b"demo-read")});
    *io.kv.borrow_mut() = Some(Published {
        text: seeded.to_string(),
        version: 0,
    });
    let (status, version, _, cfg, _) = done(&run(&io, AdminOp::Get));
    assert_eq!((status, version, cfg), (200, 0, seeded.clone()));
    assert!(io.state.borrow().is_none(), "a read adopts nothing");
    // Re-seeded by hand before any change: still the KV copy.
    let reseeded = json!({"name": "Demo 2", "type": "web"});
    *io.kv.borrow_mut() = Some(Published {
        text: reseeded.to_string(),
        version: 0,
    });
    assert_eq!(done(&run(&io, AdminOp::Get)).3, reseeded);
    let t = rotate(&io, TokenKind::Read, 0);
    let (p, v) = published(&io);
    assert_eq!((p.name.as_str(), v), ("Demo 2", 1));
    assert!(p.read_token_ok(&t, 1));
    // From now on the object's config is the truth, whatever a stale KV read says.
    *io.kv.borrow_mut() = Some(Published {
        text: reseeded.to_string(),
        version: 0,
    });
    let (_, v, _, cfg, _) = done(&run(&io, AdminOp::Get));
    assert_eq!(v, 1);
    assert!(cfg["read_tokens"].is_array());
    // An unknown key is 404 and stores nothing.
    let empty = Mem::default();
    assert_eq!(
        refused(&run(&empty, AdminOp::Get)),
        (404, "not_found".into())
    );
    assert!(empty.state.borrow().is_none() && empty.kv.borrow().is_none());
}

#[test]
fn record_then_state_then_kv_and_a_failed_kv_write_is_retried_first() {
    let io = Mem::default();
    create(&io);
    assert_eq!(
        *io.log.borrow(),
        ["record create", "save", "publish v1", "save"]
    );
    io.log.borrow_mut().clear();
    *io.fail_publish.borrow_mut() = true;
    let e = block_on(handle(
        &io,
        "shop-2026",
        AdminOp::Patch {
            patch: json!({"enabled": false}),
            if_match: None,
        },
    ))
    .unwrap_err();
    assert_eq!(e.status, 503);
    assert_eq!(published(&io).1, 1, "KV still holds v1");
    *io.fail_publish.borrow_mut() = false;
    io.log.borrow_mut().clear();
    // Any next call publishes v2 before it answers.
    let (_, v, _, cfg, _) = done(&run(&io, AdminOp::Get));
    assert_eq!((v, cfg["enabled"].clone()), (2, json!(false)));
    assert_eq!(*io.log.borrow(), ["publish v2", "save"]);
    assert!(!published(&io).0.enabled);
    // Every change has its record, names only.
    let actions: Vec<String> = io
        .records
        .borrow()
        .iter()
        .map(|r| r.action.clone())
        .collect();
    assert_eq!(actions, ["create", "patch"]);
    assert_eq!(io.records.borrow()[1].fields, ["enabled"]);
}

#[test]
fn refusals_change_nothing() {
    let io = Mem::default();
    let short = block_on(handle(
        &io,
        "short",
        AdminOp::Put {
            body: config(),
            if_match: None,
        },
    ))
    .unwrap();
    assert_eq!(refused(&short), (400, "invalid_key".into()));
    create(&io);
    let before = (io.state.borrow().clone(), io.kv.borrow().clone());
    for (op, want) in [
        (
            AdminOp::Put {
                body: config(),
                if_match: None,
            },
            (409, "project_exists"),
        ),
        (
            AdminOp::Patch {
                patch: json!({"retention_dayz": 3}),
                if_match: None,
            },
            (400, "invalid_config"),
        ),
        (
            AdminOp::Patch {
                patch: json!({"read_tokens": []}),
                if_match: None,
            },
            (400, "invalid_config"),
        ),
    ] {
        let r = run(&io, op);
        assert_eq!(refused(&r), (want.0, want.1.to_string()));
    }
    assert_eq!(before, (io.state.borrow().clone(), io.kv.borrow().clone()));
    assert_eq!(io.records.borrow().len(), 1);
    // The call's wire form round-trips, and a malformed one is a clear refusal.
    let call = AdminCall {
        project: "p".into(),
        op: AdminOp::Rotate {
            kind: TokenKind::Read,
            grace_secs: 5,
        },
    };
    assert_eq!(AdminCall::decode(&call.encode().unwrap()).unwrap(), call);
    assert_eq!(
        AdminCall::decode(b"{\"op\":\"nope\"}").unwrap_err().code,
        "invalid_call"
    );
}
