//! The project's admin object (`{project}/admin`) as the source of truth of its config: every
//! admin request is decided here, one at a time (the object runs one request at a time, so
//! the `If-Match` comparison, the merge or rotation and the version bump see no interleaving),
//! and KV (`project:{key}`) is only the cache readers use, published with the version it holds
//! (KV metadata `{"v":N}`), so a reader can tell an older copy from a newer one.
//!
//! Before the fix the worker read KV, changed the config in memory and wrote it back: a PATCH
//! whose read came before a `grace=0` rotation wrote the old token list back (the revoked token
//! worked again), a stale PATCH undid a disable, two rotations each dropped the other's token.
//!
//! A project known only in KV (seeded by `tools/seed.sh`, written by hand) is read from KV for
//! as long as the object has made no change of its own (version 0): the first change adopts
//! it. From then on the object owns the config; a hand edit of KV is replaced by the next
//! change.
//!
//! Pure over [`AdminIo`] (its DO storage, the KV copy, the audit chain, clock, randomness):
//! the order of the effects is here and tested natively with an in-memory `AdminIo`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    etag, etag_matches, issue, prepare_patch, prepare_put, put_decision, rotate, PutDecision,
    TokenKind,
};
use crate::error::{ApiError, ErrorCode};
use crate::project::{ConfigProblem, Project};
use crate::protocol::AdminChange;

type ApiResult<T> = std::result::Result<T, ApiError>;

/// DO storage key of the admin object's [`Stored`].
pub const STATE_KEY: &str = "admin_config";

/// DO storage `admin_config`: the config, its version (bumped by every change) and the last
/// version KV is known to hold (lower: publish again before anything else).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stored {
    pub version: u64,
    pub config: Value,
    pub published: u64,
}

/// What an admin request asks of the object (the worker has checked the admin token, the
/// body's size and JSON, and `grace`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum AdminOp {
    Get,
    Put {
        body: Value,
        if_match: Option<String>,
    },
    Patch {
        patch: Value,
        if_match: Option<String>,
    },
    Rotate {
        kind: TokenKind,
        grace_secs: u64,
    },
}

/// One call to `{project}/admin` (`protocol::ObjectCall::Admin` carries its JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminCall {
    pub project: String,
    #[serde(flatten)]
    pub op: AdminOp,
}

impl AdminCall {
    pub fn encode(&self) -> ApiResult<Vec<u8>> {
        serde_json::to_vec(self).map_err(|_| ApiError::new(ErrorCode::Internal, "serialize"))
    }

    pub fn decode(body: &[u8]) -> ApiResult<AdminCall> {
        serde_json::from_slice(body)
            .map_err(|_| ApiError::new(ErrorCode::InvalidCall, "malformed admin call"))
    }
}

/// The object's answer to one [`AdminOp`]: always sent with status 200 (a refusal is a
/// decision, not a failure); anything else from the object is a storage failure (503).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum AdminReply {
    /// The config now (with its token hashes: the worker caches it and shows
    /// `admin::public_view` of it), its version and ETag; a rotation's new token.
    Done {
        status: u16,
        version: u64,
        etag: String,
        config: Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<NewToken>,
    },
    Refused {
        status: u16,
        code: String,
        message: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        details: Vec<ConfigProblem>,
    },
}

/// A rotation's answer (`secret` is never stored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewToken {
    pub token: String,
    pub id: String,
    pub created_ms: u64,
    pub previous_valid_until_ms: u64,
}

impl AdminReply {
    fn refused(e: ApiError) -> AdminReply {
        AdminReply::Refused {
            status: e.status,
            code: e.code.to_string(),
            message: e.message,
            details: Vec::new(),
        }
    }

    fn invalid(problems: Vec<ConfigProblem>) -> AdminReply {
        AdminReply::Refused {
            status: 400,
            code: ErrorCode::InvalidConfig.as_str().to_string(),
            message: format!(
                "the config has {} problem(s); nothing was changed",
                problems.len()
            ),
            details: problems,
        }
    }
}

/// The KV copy as a reader finds it: the value and the version in its metadata (0: written
/// by hand or by `tools/seed.sh`, never by the object).
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub text: String,
    pub version: u64,
}

/// The admin object's effects.
// No `Send` bound: an object runs on one thread.
#[allow(async_fn_in_trait)]
pub trait AdminIo {
    /// DO storage [`STATE_KEY`].
    async fn load(&self) -> ApiResult<Option<String>>;
    async fn save(&self, state: String) -> ApiResult<()>;
    /// KV `project:{key}` with its version.
    async fn read_kv(&self) -> ApiResult<Option<Published>>;
    /// KV `project:{key}` := `text`, metadata `{"v": version}`.
    async fn publish(&self, text: &str, version: u64) -> ApiResult<()>;
    /// Append the change to the project's admin audit chain (in the log before it answers).
    async fn record(&self, change: AdminChange) -> ApiResult<()>;
    fn now(&self) -> u64;
    fn random(&self) -> ApiResult<[u8; 40]>;
}

fn ser<T: Serialize>(v: &T) -> ApiResult<String> {
    serde_json::to_string(v).map_err(|_| ApiError::unavailable("serialize"))
}

/// The config text as stored in KV and hashed for the ETag.
fn text(config: &Value) -> String {
    config.to_string()
}

fn not_found() -> AdminReply {
    AdminReply::refused(ApiError::not_found("no such project"))
}

/// The current config: the object's own once it has changed it, else the KV copy (version
/// 0, or the version a copy published by an object carries).
async fn current(io: &impl AdminIo) -> ApiResult<Option<Stored>> {
    if let Some(s) = io.load().await? {
        let stored: Stored = serde_json::from_str(&s)
            .map_err(|_| ApiError::unavailable("admin state unreadable"))?;
        return Ok(Some(stored));
    }
    Ok(io.read_kv().await?.map(|p| Stored {
        // A value that is not JSON stays visible as one that no change can merge into (a
        // PUT with `If-Match` replaces it).
        config: serde_json::from_str(&p.text).unwrap_or(Value::Null),
        version: p.version,
        published: p.version,
    }))
}

/// One admin request, start to end: decide against the object's own current config, then
/// (for a change) audit record, new state, KV copy — in that order, so nothing is changed
/// without its record and nothing is published that the object does not hold.
pub async fn handle(io: &impl AdminIo, project: &str, op: AdminOp) -> ApiResult<AdminReply> {
    let mut cur = current(io).await?;
    // A change whose KV write failed is published before anything else is decided.
    if let Some(c) = cur.as_mut().filter(|c| c.published < c.version) {
        io.publish(&text(&c.config), c.version).await?;
        c.published = c.version;
        io.save(ser(c)?).await?;
    }
    let (action, next, token) = match decide(io, project, cur.as_ref(), op)? {
        Decision::Answer(reply) => return Ok(reply),
        Decision::Change {
            action,
            config,
            token,
        } => (action, config, token),
    };
    let project_cfg = Project::from_value(&next)
        .map_err(|_| ApiError::new(ErrorCode::Internal, "a checked config failed its check"))?;
    let version = cur.as_ref().map_or(0, |c| c.version) + 1;
    io.record(AdminChange {
        project: project.to_string(),
        action: action.to_string(),
        fields: super::changed_fields(cur.as_ref().map(|c| &c.config), &next),
        policy_version: project_cfg.consent.version_label(),
    })
    .await?;
    let mut stored = Stored {
        version,
        config: next,
        published: cur.as_ref().map_or(0, |c| c.published),
    };
    io.save(ser(&stored)?).await?;
    let body = text(&stored.config);
    // Stored and recorded: a failed KV write is retried by the next request (above), and
    // until then this one fails, so no caller believes a revocation is in effect before it is.
    io.publish(&body, version).await?;
    stored.published = version;
    io.save(ser(&stored)?).await?;
    let status = if action == "create" || token.is_some() {
        201
    } else {
        200
    };
    Ok(AdminReply::Done {
        status,
        version,
        etag: etag(version, &body),
        config: stored.config,
        token,
    })
}

enum Decision {
    Answer(AdminReply),
    Change {
        action: &'static str,
        config: Value,
        token: Option<NewToken>,
    },
}

fn decide(
    io: &impl AdminIo,
    project: &str,
    cur: Option<&Stored>,
    op: AdminOp,
) -> ApiResult<Decision> {
    let tag = cur.map(|c| etag(c.version, &text(&c.config)));
    let answer = |r| Ok(Decision::Answer(r));
    match op {
        AdminOp::Get => match cur {
            None => answer(not_found()),
            Some(c) => answer(AdminReply::Done {
                status: 200,
                version: c.version,
                etag: tag.unwrap_or_default(),
                config: c.config.clone(),
                token: None,
            }),
        },
        AdminOp::Put { body, if_match } => {
            let decision = put_decision(tag.as_deref(), if_match.as_deref());
            match decision {
                PutDecision::NeedsIfMatch => answer(AdminReply::refused(ApiError::new(
                    ErrorCode::ProjectExists,
                    "this project exists; send If-Match with its ETag (or *) to replace it",
                ))),
                PutDecision::Stale => answer(AdminReply::refused(stale())),
                PutDecision::Create if !super::is_valid_new_key(project) => {
                    answer(AdminReply::refused(ApiError::new(
                        ErrorCode::InvalidKey,
                        "a new project key is 8-64 characters of A-Z a-z 0-9 _ -",
                    )))
                }
                PutDecision::Create | PutDecision::Replace => {
                    match prepare_put(&body, cur.map(|c| &c.config)) {
                        Err(problems) => answer(AdminReply::invalid(problems)),
                        Ok((config, _)) => Ok(Decision::Change {
                            action: if decision == PutDecision::Create {
                                "create"
                            } else {
                                "replace"
                            },
                            config,
                            token: None,
                        }),
                    }
                }
            }
        }
        AdminOp::Patch { patch, if_match } => {
            let Some(c) = cur else {
                return answer(not_found());
            };
            if let (Some(m), Some(t)) = (if_match.as_deref(), tag.as_deref()) {
                if !etag_matches(t, m) {
                    return answer(AdminReply::refused(stale()));
                }
            }
            match prepare_patch(&c.config, &patch) {
                Err(problems) => answer(AdminReply::invalid(problems)),
                Ok((config, _)) => Ok(Decision::Change {
                    action: "patch",
                    config,
                    token: None,
                }),
            }
        }
        AdminOp::Rotate { kind, grace_secs } => {
            let Some(c) = cur else {
                return answer(not_found());
            };
            if !c.config.is_object() {
                return answer(AdminReply::refused(ApiError::with_status(
                    409,
                    ErrorCode::ProjectMisconfigured,
                    "the stored config is not a JSON object; PUT a new one",
                )));
            }
            let now = io.now();
            let issued = issue(&io.random()?, now);
            let config = rotate(&c.config, kind, issued.entry.clone(), now, grace_secs);
            if let Err(problems) = Project::from_value(&config) {
                return answer(AdminReply::invalid(problems));
            }
            Ok(Decision::Change {
                action: match kind {
                    TokenKind::Read => "rotate_read_token",
                    TokenKind::Audit => "rotate_audit_token",
                },
                config,
                token: Some(NewToken {
                    token: issued.secret,
                    id: issued.entry.id,
                    created_ms: issued.entry.created_ms,
                    previous_valid_until_ms: now.saturating_add(grace_secs.saturating_mul(1000)),
                }),
            })
        }
    }
}

fn stale() -> ApiError {
    ApiError::new(
        ErrorCode::EtagMismatch,
        "the project changed since it was read; GET it again",
    )
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
