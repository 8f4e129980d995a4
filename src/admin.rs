//! The admin API's decisions: which project keys may be created, how a change is
//! merged and validated, how tokens rotate, what a config looks like without its secrets.
//! Pure: `edge/admin_api.rs` only moves the bytes to and from KV.

use serde_json::{Map, Value};

pub mod store;

use crate::encoding::hex;
use crate::project::{sha256_hex, token_matches, ConfigProblem, Project, TokenEntry};

/// Default grace of a rotated-out token: one day, so a replay service can switch without downtime.
pub const DEFAULT_GRACE_SECS: u64 = 86_400;
/// Longest grace accepted (30 days): a rotation is meant to end.
pub const MAX_GRACE_SECS: u64 = 30 * 86_400;
/// Live tokens kept per kind; past that the oldest go, so rotations cannot grow a config forever.
pub const MAX_LIVE_TOKENS: usize = 8;

/// Fields only the token routes write; a PUT or PATCH naming them is refused.
const TOKEN_FIELDS: [&str; 4] = [
    "read_token_sha256",
    "audit_token_sha256",
    "read_tokens",
    "audit_tokens",
];

pub use crate::ids::is_valid_new_key;

/// The ETag of a config: its version and a hash of its bytes, so any change changes it (and
/// a change undone later, `enabled` off then on, still has a new one).
pub fn etag(version: u64, stored: &str) -> String {
    format!("\"{version}-{}\"", &sha256_hex(stored.as_bytes())[..32])
}

/// What to do with a PUT, given the current ETag (if the project exists) and `If-Match`.
#[derive(Debug, PartialEq, Eq)]
pub enum PutDecision {
    Create,
    Replace,
    /// 409: the project exists and the request did not say it means to replace it.
    NeedsIfMatch,
    /// 412: the project changed since the caller read it.
    Stale,
}

pub fn put_decision(current: Option<&str>, if_match: Option<&str>) -> PutDecision {
    match (current, if_match.map(str::trim)) {
        (None, _) => PutDecision::Create,
        (Some(_), None) => PutDecision::NeedsIfMatch,
        (Some(tag), Some(m)) if etag_matches(tag, m) => PutDecision::Replace,
        (Some(_), Some(_)) => PutDecision::Stale,
    }
}

/// `If-Match` may list several tags (`"a", "b"`), weak or strong, or be `*`.
pub fn etag_matches(current: &str, if_match: &str) -> bool {
    if_match
        .split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == current)
}

/// Refuse token fields in a body: tokens are issued by `…/tokens/{kind}` only.
fn token_field_problems(body: &Value) -> Vec<ConfigProblem> {
    let Some(obj) = body.as_object() else {
        return Vec::new();
    };
    TOKEN_FIELDS
        .iter()
        .filter(|f| obj.contains_key(**f))
        .map(|f| ConfigProblem {
            path: (*f).to_string(),
            message: "tokens are issued by POST …/tokens/read or …/tokens/audit".into(),
        })
        .collect()
}

/// Copy the token fields of the stored config into the new one (a PUT or PATCH keeps tokens).
fn carry_tokens(new: &mut Value, stored: Option<&Value>) {
    let (Some(obj), Some(old)) = (new.as_object_mut(), stored.and_then(Value::as_object)) else {
        return;
    };
    for f in TOKEN_FIELDS {
        if let Some(v) = old.get(f) {
            obj.insert(f.to_string(), v.clone());
        }
    }
}

/// The config to store for a PUT body: checked by the loader's own `Project::from_value`, with
/// the stored tokens kept. Every problem at once.
pub fn prepare_put(
    body: &Value,
    stored: Option<&Value>,
) -> Result<(Value, Project), Vec<ConfigProblem>> {
    let mut problems = token_field_problems(body);
    let mut next = body.clone();
    carry_tokens(&mut next, stored);
    match Project::from_value(&next) {
        Ok(p) if problems.is_empty() => Ok((next, p)),
        Ok(_) => Err(problems),
        Err(mut more) => {
            problems.append(&mut more);
            Err(problems)
        }
    }
}

/// A PATCH: RFC 7386 merge of `patch` into the stored config, then the same checks as a PUT.
pub fn prepare_patch(
    stored: &Value,
    patch: &Value,
) -> Result<(Value, Project), Vec<ConfigProblem>> {
    let problems = token_field_problems(patch);
    if !problems.is_empty() {
        return Err(problems);
    }
    if !patch.is_object() {
        return Err(vec![ConfigProblem {
            path: String::new(),
            message: "a merge patch is a JSON object".into(),
        }]);
    }
    let mut next = stored.clone();
    merge_patch(&mut next, patch);
    Project::from_value(&next).map(|p| (next, p))
}

/// RFC 7386: objects merge key by key, `null` deletes, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let obj = target.as_object_mut().expect("made an object above");
    for (k, v) in patch {
        if v.is_null() {
            obj.remove(k);
        } else {
            merge_patch(obj.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

/// The top-level fields whose value differs between two configs (for the audit record: names,
/// never values, so no secret or hash can leak into it).
pub fn changed_fields(before: Option<&Value>, after: &Value) -> Vec<String> {
    let empty = Map::new();
    let b = before.and_then(Value::as_object).unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| b.get(*k) != a.get(*k))
        .map(|k| k.to_string())
        .collect()
}

/// A config as `GET` answers it: token hashes removed, each token's id and times kept.
pub fn public_view(stored: &Value) -> Value {
    let mut v = stored.clone();
    if let Some(obj) = v.as_object_mut() {
        for f in ["read_token_sha256", "audit_token_sha256"] {
            if let Some(h) = obj.remove(f) {
                // Say a hand-written token exists without showing its hash.
                if h.as_str().is_some_and(|s| !s.is_empty()) {
                    obj.insert(format!("{}_legacy", &f[..f.len() - 7]), Value::Bool(true));
                }
            }
        }
        for f in ["read_tokens", "audit_tokens"] {
            if let Some(Value::Array(list)) = obj.get_mut(f) {
                for t in list.iter_mut() {
                    if let Some(t) = t.as_object_mut() {
                        t.remove("sha256");
                    }
                }
            }
        }
    }
    v
}

/// Which token list a rotation changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Read,
    Audit,
}

impl TokenKind {
    pub fn parse(s: &str) -> Option<TokenKind> {
        match s {
            "read" => Some(TokenKind::Read),
            "audit" => Some(TokenKind::Audit),
            _ => None,
        }
    }
    fn fields(self) -> (&'static str, &'static str) {
        match self {
            TokenKind::Read => ("read_token_sha256", "read_tokens"),
            TokenKind::Audit => ("audit_token_sha256", "audit_tokens"),
        }
    }
}

/// `?grace=` → seconds; absent is the default day, anything but 0..=30 days is refused.
pub fn parse_grace(param: Option<&str>) -> Result<u64, String> {
    match param {
        None => Ok(DEFAULT_GRACE_SECS),
        Some(s) => s
            .parse::<u64>()
            .ok()
            .filter(|g| *g <= MAX_GRACE_SECS && s.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| format!("grace must be whole seconds 0..={MAX_GRACE_SECS}")),
    }
}

/// A freshly issued token (`secret` is answered once and never stored).
pub struct Issued {
    pub secret: String,
    pub entry: TokenEntry,
}

/// Make a token from 32 random bytes and an id from 8 more (the caller draws them, so this
/// stays pure).
pub fn issue(random: &[u8; 40], now_ms: u64) -> Issued {
    let secret = format!("vg_{}", hex(&random[..32]));
    Issued {
        entry: TokenEntry {
            id: hex(&random[32..]),
            sha256: sha256_hex(secret.as_bytes()),
            created_ms: now_ms,
            expires_ms: None,
        },
        secret,
    }
}

/// Add `new` to the stored config's tokens of `kind`. Every token live now stops at
/// `now + grace` at the latest (at once for 0); a hand-written single hash becomes a list
/// entry with id `legacy` so it follows the same rule; expired entries are dropped.
pub fn rotate(
    stored: &Value,
    kind: TokenKind,
    new: TokenEntry,
    now_ms: u64,
    grace_secs: u64,
) -> Value {
    let (legacy_field, list_field) = kind.fields();
    let mut v = stored.clone();
    let Some(obj) = v.as_object_mut() else {
        return v;
    };
    let mut list: Vec<TokenEntry> = obj
        .get(list_field)
        .and_then(|l| serde_json::from_value(l.clone()).ok())
        .unwrap_or_default();
    if let Some(h) = obj
        .remove(legacy_field)
        .and_then(|h| h.as_str().map(str::to_string))
    {
        if !h.is_empty() {
            list.push(TokenEntry {
                id: "legacy".into(),
                sha256: h,
                created_ms: 0,
                expires_ms: None,
            });
        }
    }
    let end = now_ms.saturating_add(grace_secs.saturating_mul(1000));
    for t in &mut list {
        t.expires_ms = Some(t.expires_ms.map_or(end, |e| e.min(end)));
    }
    list.retain(|t| t.expires_ms.is_none_or(|e| e > now_ms));
    list.push(new);
    if list.len() > MAX_LIVE_TOKENS {
        let excess = list.len() - MAX_LIVE_TOKENS;
        list.drain(..excess);
    }
    obj.insert(
        list_field.to_string(),
        serde_json::to_value(list).expect("token entries serialize"),
    );
    v
}

/// The admin bearer token against the `ADMIN_TOKEN_SHA256` secret. `None` secret (or empty):
/// the admin API is disabled.
pub fn admin_token_ok(presented: Option<&str>, secret_sha256: &str) -> bool {
    presented.is_some_and(|t| token_matches(t, secret_sha256.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(r: Result<(Value, Project), Vec<ConfigProblem>>) -> Vec<String> {
        r.expect_err("should be refused")
            .into_iter()
            .map(|p| p.path)
            .collect()
    }

    #[test]
    fn every_problem_with_its_path() {
        let body = json!({
            "name": "shop", "type": "web", "retention_days": 0,
            "consent": {"mode": "opt-in", "tcf_purposes": [99]},
            "masking": {"rules": [{"selector": "a", "action": "mask"}, {"selector": "a:hover", "action": "mask"}]},
        });
        assert_eq!(
            paths(prepare_put(&body, None)),
            [
                "retention_days",
                "consent.tcf_purposes",
                "masking.rules[1].selector"
            ]
        );
        let types = json!({"name": 3, "type": "tv", "enabled": "yes"});
        let mut p = paths(prepare_put(&types, None));
        p.sort();
        assert_eq!(p, ["enabled", "name", "type"]);
        assert_eq!(paths(prepare_put(&json!({"type": "web"}), None)), ["name"]);
        assert_eq!(paths(prepare_put(&json!([1]), None)), [""]);
        assert_eq!(
            paths(prepare_put(
                &json!({"name": "s", "type": "web", "read_tokens": []}),
                None
            )),
            ["read_tokens"]
        );
    }

    #[test]
    fn the_loader_refuses_what_the_admin_api_refuses() {
        let bad = json!({"name": "s", "type": "web", "masking": {"rules": [{"selector": "a:hover", "action": "mask"}]}});
        assert!(prepare_put(&bad, None).is_err());
        assert!(Project::from_json(&bad.to_string()).is_err());
    }

    #[test]
    fn put_keeps_tokens_and_needs_if_match_to_replace() {
        let stored = json!({"name": "s", "type": "web", "read_tokens": [{"id": "a", "sha256": sha256_hex(b"t"), "created_ms": 1}]});
        let (next, p) = prepare_put(&json!({"name": "s2", "type": "web"}), Some(&stored)).unwrap();
        assert_eq!(next["read_tokens"], stored["read_tokens"]);
        assert!(p.read_token_ok("t", 2));
        let raw = stored.to_string();
        let tag = etag(3, &raw);
        assert_eq!(put_decision(None, None), PutDecision::Create);
        assert_eq!(put_decision(Some(&tag), None), PutDecision::NeedsIfMatch);
        assert_eq!(put_decision(Some(&tag), Some("*")), PutDecision::Replace);
        assert_eq!(put_decision(Some(&tag), Some(&tag)), PutDecision::Replace);
        assert_eq!(
            put_decision(Some(&tag), Some(&format!("W/{tag}, \"x\""))),
            PutDecision::Replace
        );
        assert_eq!(
            put_decision(Some(&tag), Some("\"old\"")),
            PutDecision::Stale
        );
        assert_ne!(tag, etag(3, &next.to_string()));
        assert_ne!(tag, etag(4, &raw), "the same bytes at a later version");
    }

    #[test]
    fn patch_merges_and_validates() {
        let stored = json!({"name": "s", "type": "web", "consent": {"mode": "opt-in", "tcf_purposes": [1], "version": "1"}, "retention_days": 30});
        let (next, p) = prepare_patch(
            &stored,
            &json!({"enabled": false, "consent": {"version": "2"}}),
        )
        .unwrap();
        assert!(!p.enabled);
        assert_eq!(
            next["consent"],
            json!({"mode": "opt-in", "tcf_purposes": [1], "version": "2"})
        );
        let (next, _) = prepare_patch(&stored, &json!({"retention_days": null})).unwrap();
        assert!(next.get("retention_days").is_none());
        assert_eq!(
            paths(prepare_patch(&stored, &json!({"retention_days": 396}))),
            ["retention_days"]
        );
        assert_eq!(
            paths(prepare_patch(&stored, &json!({"audit_token_sha256": "x"}))),
            ["audit_token_sha256"]
        );
        assert_eq!(changed_fields(Some(&stored), &next), ["retention_days"]);
    }

    #[test]
    fn view_hides_hashes() {
        let stored = json!({"name": "s", "type": "web", "read_token_sha256": sha256_hex(b"x"),
            "audit_tokens": [{"id": "a", "sha256": sha256_hex(b"y"), "created_ms": 5}]});
        let v = public_view(&stored);
        assert!(
            !v.to_string().contains(&sha256_hex(b"x"))
                && !v.to_string().contains(&sha256_hex(b"y"))
        );
        assert_eq!(v["audit_tokens"], json!([{"id": "a", "created_ms": 5}]));
        assert_eq!(v["read_token_legacy"], json!(true));
    }

    #[test]
    fn rotation_with_grace() {
        let stored = json!({"name": "s", "type": "web", "read_token_sha256": sha256_hex(b"old")});
        let a = issue(&[1; 40], 1_000);
        let after = rotate(&stored, TokenKind::Read, a.entry.clone(), 1_000, 2);
        let p = Project::from_value(&after).unwrap();
        assert!(p.read_token_ok("old", 2_999) && p.read_token_ok(&a.secret, 2_999));
        assert!(!p.read_token_ok("old", 3_000));
        assert!(p.read_token_ok(&a.secret, u64::MAX));
        assert!(after.get("read_token_sha256").is_none());
        // grace 0: the previous token is gone at once.
        let b = issue(&[2; 40], 1_500);
        let after = rotate(&after, TokenKind::Read, b.entry, 1_500, 0);
        let p = Project::from_value(&after).unwrap();
        assert!(!p.read_token_ok(&a.secret, 1_500) && p.read_token_ok(&b.secret, 1_500));
        assert_eq!(p.read_tokens.len(), 1);
        // A longer grace never extends a token that already ends sooner.
        let mut v = stored.clone();
        for i in 0..20u8 {
            v = rotate(&v, TokenKind::Audit, issue(&[i; 40], 10).entry, 10, 100);
        }
        let p = Project::from_value(&v).unwrap();
        assert_eq!(p.audit_tokens.len(), MAX_LIVE_TOKENS);
        assert!(p.read_token_ok("old", 0));
    }

    #[test]
    fn keys_grace_and_admin_token() {
        assert!(
            is_valid_new_key("shop-2024")
                && !is_valid_new_key("demo")
                && !is_valid_new_key("bad key!")
        );
        assert!(!is_valid_new_key(&"k".repeat(65)));
        assert_eq!(parse_grace(None), Ok(DEFAULT_GRACE_SECS));
        assert_eq!(parse_grace(Some("0")), Ok(0));
        assert!(parse_grace(Some("-1")).is_err() && parse_grace(Some("+5")).is_err());
        assert!(parse_grace(Some(&(MAX_GRACE_SECS + 1).to_string())).is_err());
        let h = sha256_hex(b"dev-admin");
        assert!(admin_token_ok(Some("dev-admin"), &h));
        assert!(!admin_token_ok(Some("dev-admin"), "") && !admin_token_ok(None, &h));
        assert!(!admin_token_ok(Some("dev-admiN"), &h));
    }
}
