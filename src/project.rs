//! Project configuration (the `project:{key}` JSON in KV) and the checks made against it:
//! enabled flag, origin allowlist, platform vs project type, read/audit tokens.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::consent::ConsentPolicy;
use crate::encoding::{hex, hex_digit};
use crate::envelope::{Limits, Platform};
use crate::error::{ApiError, ErrorCode};
use crate::privacy::MaskPolicy;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProjectType {
    Web,
    Mobile,
    Combined,
}

/// Longest retention a project may set: 13 months.
pub const MAX_RETENTION_DAYS: u32 = 395;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Project {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ProjectType,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Exact origins (`https://shop.example`), or a host with any port (`http://localhost:*`).
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    #[serde(default)]
    pub consent: ConsentPolicy,
    #[serde(default)]
    pub masking: MaskPolicy,
    #[serde(default = "default_retention")]
    pub retention_days: u32,
    #[serde(default)]
    pub rate_limit: RateLimit,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub session: SessionTimeouts,
    /// Hex SHA-256 of the read token (replay services). Tokens themselves are never stored.
    #[serde(default)]
    pub read_token_sha256: String,
    /// Hex SHA-256 of the audit token (compliance officers).
    #[serde(default)]
    pub audit_token_sha256: String,
    /// Tokens issued by the admin API (several may be live during a rotation's grace). The
    /// single-hash fields above stay for configs written by hand before the admin API.
    #[serde(default)]
    pub read_tokens: Vec<TokenEntry>,
    #[serde(default)]
    pub audit_tokens: Vec<TokenEntry>,
}

/// One issued token: only its SHA-256 is stored; `expires_ms` is set when a rotation gives it
/// a grace period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenEntry {
    pub id: String,
    pub sha256: String,
    pub created_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_ms: Option<u64>,
}

/// One problem in a config, with the JSON path of the offending value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigProblem {
    pub path: String,
    pub message: String,
}

fn problem(path: impl Into<String>, message: impl Into<String>) -> ConfigProblem {
    ConfigProblem {
        path: path.into(),
        message: message.into(),
    }
}

fn yes() -> bool {
    true
}
fn default_retention() -> u32 {
    30
}

/// Per-project beacon rate (per isolate, per minute) and daily quota of stored chunks.
/// 0 means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RateLimit {
    pub beacons_per_minute: u32,
    /// Chunks stored per UTC day (refused and dropped beacons do not count).
    pub chunks_per_day: u32,
    /// Bytes of stored chunks per UTC day, as inflated (a gzip body counts what it expands to).
    pub bytes_per_day: u64,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            beacons_per_minute: 6000,
            chunks_per_day: 0,
            bytes_per_day: 0,
        }
    }
}

/// When a session segment ends. Defaults like Smartlook's: 15 minutes idle, 60 minutes at most.
/// `None` takes the worker-wide default (`SESSION_IDLE_SECS` / `SESSION_MAX_SECS`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionTimeouts {
    pub idle_secs: Option<u32>,
    pub max_secs: Option<u32>,
}

impl Project {
    /// Parse and check a stored config. A config that fails here is treated as unusable
    /// (the edge answers 503 `project_misconfigured`), never half-applied.
    pub fn from_json(json: &str) -> Result<Project, String> {
        let value: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
        Project::from_value(&value).map_err(|problems| {
            let msgs: Vec<String> = problems
                .iter()
                .map(|p| format!("{}: {}", p.path, p.message))
                .collect();
            msgs.join("; ")
        })
    }

    /// The one check of a config, for loading (`from_json`) and for the admin API: every
    /// problem at once, each with its JSON path. Each field is checked on its own, so a field
    /// of the wrong type never hides another field's problem; unknown fields are refused at
    /// every level (a typo such as `retention_dayz` must not silently mean the default).
    pub fn from_value(value: &serde_json::Value) -> Result<Project, Vec<ConfigProblem>> {
        let Some(obj) = value.as_object() else {
            return Err(vec![problem("", "a project config is a JSON object")]);
        };
        let mut problems = Vec::new();
        for required in ["name", "type"] {
            if !obj.contains_key(required) {
                problems.push(problem(required, "missing"));
            }
        }
        let typed = |k: &str, problems: &mut Vec<ConfigProblem>| -> Option<()> {
            let v = obj.get(k)?;
            let err = match k {
                "name" => check::<String>(v),
                "type" => check::<ProjectType>(v),
                "enabled" => check::<bool>(v),
                "retention_days" => check::<u32>(v),
                "read_token_sha256" | "audit_token_sha256" => check::<String>(v),
                "read_tokens" | "audit_tokens" => check::<Vec<TokenEntry>>(v),
                _ => None,
            };
            match err {
                Some(message) => {
                    problems.push(problem(k, message));
                    None
                }
                None => Some(()),
            }
        };
        for k in ["name", "type", "enabled"] {
            typed(k, &mut problems);
        }
        if typed("retention_days", &mut problems).is_some() {
            let days = obj["retention_days"].as_u64().unwrap_or(0);
            if days == 0 || days > u64::from(MAX_RETENTION_DAYS) {
                problems.push(problem(
                    "retention_days",
                    format!("must be 1..={MAX_RETENTION_DAYS}"),
                ));
            }
        }
        if let Some(c) = obj.get("consent") {
            consent_problems(c, &mut problems);
        }
        // The raw object, not a parsed policy: serde ignores unknown fields, and a typo such
        // as `record.network_body` must be refused rather than silently mean "off".
        if let Some(m) = obj.get("masking") {
            if let Err(errs) = crate::privacy::validate_policy(m) {
                for e in errs {
                    let path = match e.path.as_str() {
                        "" => "masking".to_string(),
                        p => format!("masking.{p}"),
                    };
                    problems.push(problem(path, e.message));
                }
            }
        }
        if let Some(v) = obj.get("allowed_origins") {
            match serde_json::from_value::<Vec<String>>(v.clone()) {
                Err(e) => problems.push(problem("allowed_origins", e.to_string())),
                Ok(list) => {
                    for (i, pattern) in list.iter().enumerate() {
                        if let Err(message) = check_origin_pattern(pattern) {
                            problems.push(problem(format!("allowed_origins[{i}]"), message));
                        }
                    }
                }
            }
        }
        if let Some(v) = obj.get("rate_limit") {
            struct_problems::<RateLimit>("rate_limit", v, &mut problems);
        }
        if let Some(v) = obj.get("limits") {
            if let Some(l) = struct_problems::<Limits>("limits", v, &mut problems) {
                limits_problems(&l, &mut problems);
            }
        }
        if let Some(v) = obj.get("session") {
            if let Some(t) = struct_problems::<SessionTimeouts>("session", v, &mut problems) {
                session_problems(&t, &mut problems);
            }
        }
        for field in ["read_token_sha256", "audit_token_sha256"] {
            if typed(field, &mut problems).is_some() {
                let h = obj[field].as_str().unwrap_or_default();
                if !h.is_empty() && decode_hex32(h).is_none() {
                    problems.push(problem(field, "token hashes must be 64 hex characters"));
                }
            }
        }
        for field in ["read_tokens", "audit_tokens"] {
            if typed(field, &mut problems).is_some() {
                let list: Vec<TokenEntry> =
                    serde_json::from_value(obj[field].clone()).unwrap_or_default();
                for (i, t) in list.iter().enumerate() {
                    if decode_hex32(&t.sha256).is_none() {
                        problems.push(problem(
                            format!("{field}[{i}].sha256"),
                            "token hashes must be 64 hex characters",
                        ));
                    }
                }
            }
        }
        for k in obj.keys() {
            if !FIELDS.contains(&k.as_str()) {
                problems.push(problem(
                    k.clone(),
                    format!("unknown field (known: {})", FIELDS.join(", ")),
                ));
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        // Every field checked above: the whole parses.
        serde_json::from_value(value.clone()).map_err(|e| vec![problem("", e.to_string())])
    }

    pub fn check_enabled(&self) -> Result<(), ApiError> {
        if self.enabled {
            Ok(())
        } else {
            Err(ApiError::new(
                ErrorCode::ProjectDisabled,
                "this project is disabled",
            ))
        }
    }

    pub fn check_platform(&self, platform: Platform) -> Result<(), ApiError> {
        let ok = match self.kind {
            ProjectType::Web => !platform.is_mobile(),
            ProjectType::Mobile => platform.is_mobile(),
            ProjectType::Combined => true,
        };
        if ok {
            Ok(())
        } else {
            Err(ApiError::new(
                ErrorCode::PlatformNotAllowed,
                "this project's type does not accept recordings from this platform",
            ))
        }
    }

    /// Whether a browser origin may send beacons / read CORS responses.
    pub fn origin_allowed(&self, origin: &str) -> bool {
        self.allowed_origins
            .iter()
            .any(|pattern| origin_matches(pattern, origin))
    }

    /// The CORS answer for a request from `origin` (already past [`Project::check_origin`]).
    /// A real origin named by an explicit pattern is echoed with credentials (the SDK's
    /// beacons carry the opt-out cookie). One admitted only by `*` gets `*` without
    /// credentials: a wildcard never lets every site make credentialed reads. `null`
    /// (sandboxed frames, `file:`, some redirects) is never echoed: it names no one site.
    pub fn cors_grant(&self, origin: &str) -> Option<CorsGrant> {
        let real = !origin.trim().eq_ignore_ascii_case("null");
        let explicit = real
            && self
                .allowed_origins
                .iter()
                .any(|p| p != "*" && origin_matches(p, origin));
        if explicit {
            return Some(CorsGrant {
                allow_origin: origin.to_string(),
                credentials: true,
            });
        }
        self.allowed_origins
            .iter()
            .any(|p| p == "*")
            .then(|| CorsGrant {
                allow_origin: "*".to_string(),
                credentials: false,
            })
    }

    /// Beacons without `Origin` (mobile SDKs, server-side forwarders) pass: the allowlist
    /// guards against other sites' pages, which browsers make send `Origin`.
    pub fn check_origin(&self, origin: Option<&str>) -> Result<(), ApiError> {
        match origin {
            None => Ok(()),
            Some(o) if self.origin_allowed(o) => Ok(()),
            Some(_) => Err(ApiError::new(
                ErrorCode::OriginNotAllowed,
                "this origin may not send recordings to this project",
            )),
        }
    }

    /// Whether `presented` is a live read token at `now_ms`.
    pub fn read_token_ok(&self, presented: &str, now_ms: u64) -> bool {
        any_token_matches(
            presented,
            &self.read_token_sha256,
            &self.read_tokens,
            now_ms,
        )
    }

    pub fn audit_token_ok(&self, presented: &str, now_ms: u64) -> bool {
        any_token_matches(
            presented,
            &self.audit_token_sha256,
            &self.audit_tokens,
            now_ms,
        )
    }
}

/// What a response's CORS headers say: `Access-Control-Allow-Origin` and whether
/// `Access-Control-Allow-Credentials: true` goes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsGrant {
    pub allow_origin: String,
    pub credentials: bool,
}

/// `pattern` is `scheme://host[:port]`, `scheme://host:*` (any port) or `*` (any origin).
pub fn origin_matches(pattern: &str, origin: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let origin = origin.trim_end_matches('/');
    let pattern = pattern.trim_end_matches('/');
    if let Some(prefix) = pattern.strip_suffix(":*") {
        return origin.eq_ignore_ascii_case(prefix)
            || origin
                .get(..prefix.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
                && origin[prefix.len()..]
                    .strip_prefix(':')
                    .is_some_and(|port| {
                        !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
                    });
    }
    origin.eq_ignore_ascii_case(pattern)
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn decode_hex32(s: &str) -> Option<[u8; 32]> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in b.chunks_exact(2).enumerate() {
        out[i] = (hex_digit(pair[0])? << 4) | hex_digit(pair[1])?;
    }
    Some(out)
}

/// Compare a presented token with a stored SHA-256 in constant time. Hashing first makes the
/// comparison length-independent; an empty stored hash never matches (API disabled).
pub fn token_matches(presented: &str, stored_sha256_hex: &str) -> bool {
    let Some(stored) = decode_hex32(stored_sha256_hex) else {
        return false;
    };
    let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
    digest.ct_eq(&stored).into()
}

/// Every live entry is compared (no early exit), so timing says nothing about which matched.
fn any_token_matches(presented: &str, legacy: &str, list: &[TokenEntry], now_ms: u64) -> bool {
    let mut ok = token_matches(presented, legacy);
    for t in list {
        let live = t.expires_ms.is_none_or(|e| e > now_ms);
        ok |= token_matches(presented, &t.sha256) & live;
    }
    ok
}

/// The top-level fields of a config (`Project`'s own, checked against its serialization in
/// the tests).
const FIELDS: [&str; 14] = [
    "name",
    "type",
    "enabled",
    "allowed_origins",
    "consent",
    "masking",
    "retention_days",
    "rate_limit",
    "limits",
    "session",
    "read_token_sha256",
    "audit_token_sha256",
    "read_tokens",
    "audit_tokens",
];

/// Largest per-project beacon limits (docs/ADMIN.md). A beacon's tree peaks at ~5x the JSON it
/// holds (BENCHMARKS.md, memory) and an isolate has 128 MB for every request and object in
/// it, so one beacon may inflate to 8 MiB at most (~40 MB at its peak); the walk recurses
/// once per nesting level, so 512 is the deepest it is known to hold.
pub const MAX_LIMITS: Limits = Limits {
    max_body_bytes: 2 << 20,
    max_decompressed_bytes: 8 << 20,
    max_events: 20_000,
    max_depth: 512,
    max_string_bytes: 2 << 20,
};

/// Longest session idle timeout and segment a project may set: one day (a segment is one
/// object's state and one alarm; longer ones only delay finalisation and retention).
pub const MAX_SESSION_SECS: u32 = 86_400;

fn check<T: serde::de::DeserializeOwned>(v: &serde_json::Value) -> Option<String> {
    serde_json::from_value::<T>(v.clone())
        .err()
        .map(|e| e.to_string())
}

fn field_names<T: Serialize>(v: &T) -> Vec<String> {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// A nested object of a config (`limits`, `session`, `rate_limit`): each key known (the
/// struct's own fields, from its default) and of its type, each problem at `path.key`. The
/// struct made of its good keys (defaults for the others), so their own bounds are checked
/// too: one bad key hides no other problem.
fn struct_problems<T>(
    path: &str,
    v: &serde_json::Value,
    problems: &mut Vec<ConfigProblem>,
) -> Option<T>
where
    T: Serialize + serde::de::DeserializeOwned + Default,
{
    let Some(obj) = v.as_object() else {
        problems.push(problem(path, "must be an object"));
        return None;
    };
    let known = field_names(&T::default());
    let mut good = serde_json::Map::new();
    for (k, field) in obj {
        if !known.contains(k) {
            problems.push(problem(
                format!("{path}.{k}"),
                format!("unknown field (known: {})", known.join(", ")),
            ));
        } else if let Some(e) = check::<T>(&serde_json::json!({ k: field })) {
            problems.push(problem(format!("{path}.{k}"), e));
        } else {
            good.insert(k.clone(), field.clone());
        }
    }
    serde_json::from_value(serde_json::Value::Object(good))
        .map_err(|e| problems.push(problem(path, e.to_string())))
        .ok()
}

/// `consent`: each key on its own (with a stand-in `mode` when it is not the key checked),
/// so an unknown or mistyped key is named by its path; then the policy's own checks on its
/// good keys.
fn consent_problems(v: &serde_json::Value, problems: &mut Vec<ConfigProblem>) {
    let Some(obj) = v.as_object() else {
        problems.push(problem("consent", "must be an object"));
        return;
    };
    if !obj.contains_key("mode") {
        problems.push(problem("consent.mode", "missing"));
    }
    let mut good = serde_json::Map::new();
    for (k, field) in obj {
        let one = if k == "mode" {
            serde_json::json!({ "mode": field })
        } else {
            serde_json::json!({ "mode": "none", k: field })
        };
        match check::<ConsentPolicy>(&one) {
            Some(e) => problems.push(problem(format!("consent.{k}"), e)),
            None => {
                good.insert(k.clone(), field.clone());
            }
        }
    }
    if !good.contains_key("mode") {
        return;
    }
    let policy = match serde_json::from_value::<ConsentPolicy>(serde_json::Value::Object(good)) {
        Ok(p) => p,
        Err(e) => return problems.push(problem("consent", e.to_string())),
    };
    if let Err(errs) = policy.validate() {
        for e in errs {
            // Consent messages start with their field: `tcf_purposes: …`.
            match e.split_once(": ") {
                Some((field, msg)) if !field.contains(' ') => {
                    problems.push(problem(format!("consent.{field}"), msg))
                }
                _ => problems.push(problem("consent", e)),
            }
        }
    }
}

fn limits_problems(l: &Limits, problems: &mut Vec<ConfigProblem>) {
    let m = MAX_LIMITS;
    for (field, value, max) in [
        ("max_body_bytes", l.max_body_bytes, m.max_body_bytes),
        (
            "max_decompressed_bytes",
            l.max_decompressed_bytes,
            m.max_decompressed_bytes,
        ),
        ("max_events", l.max_events, m.max_events),
        ("max_depth", l.max_depth, m.max_depth),
        ("max_string_bytes", l.max_string_bytes, m.max_string_bytes),
    ] {
        if value == 0 || value > max {
            problems.push(problem(
                format!("limits.{field}"),
                format!("must be 1..={max}"),
            ));
        }
    }
}

fn session_problems(t: &SessionTimeouts, problems: &mut Vec<ConfigProblem>) {
    for (field, value) in [("idle_secs", t.idle_secs), ("max_secs", t.max_secs)] {
        if value.is_some_and(|s| s == 0 || s > MAX_SESSION_SECS) {
            problems.push(problem(
                format!("session.{field}"),
                format!("must be 1..={MAX_SESSION_SECS}"),
            ));
        }
    }
}

/// An `allowed_origins` entry that can match a browser's `Origin`: `*`, or
/// `scheme://host[:port]` / `scheme://host:*` as browsers write it — lowercase scheme, no
/// path, query, user or whitespace, no default port (a browser omits `:443` for https, so
/// such a pattern never matches). `null` is refused: it names no one site (sandboxed
/// frames, `file:`), and admitting it would admit them all.
pub fn check_origin_pattern(pattern: &str) -> Result<(), String> {
    const FORM: &str = "an origin is scheme://host[:port], scheme://host:* or *";
    if pattern == "*" {
        return Ok(());
    }
    let pattern = pattern.strip_suffix('/').unwrap_or(pattern);
    if pattern.trim().eq_ignore_ascii_case("null") {
        return Err(
            "null names no one site (sandboxed frames, file: pages); it is never allowed".into(),
        );
    }
    let Some((scheme, rest)) = pattern.split_once("://") else {
        return Err(format!("{FORM}: no scheme"));
    };
    let scheme_ok = scheme
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+.-".contains(&b));
    if !scheme_ok {
        return Err(format!(
            "{FORM}: the scheme is lowercase letters, digits, + . -"
        ));
    }
    let (host, port) = match rest.rsplit_once(':') {
        // `[::1]` without a port: the colon is inside the brackets.
        Some((h, p)) if !p.contains(']') => (h, Some(p)),
        _ => (rest, None),
    };
    let host_ok = !host.is_empty()
        && if let Some(inner) = host.strip_prefix('[') {
            inner.strip_suffix(']').is_some_and(|a| {
                !a.is_empty()
                    && a.bytes()
                        .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
            })
        } else {
            host.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
                && !host.starts_with('.')
                && !host.ends_with('.')
        };
    if !host_ok {
        return Err(format!(
            "{FORM}: the host is letters, digits, - and . (no path, wildcard, user or space)"
        ));
    }
    match port {
        None | Some("*") => Ok(()),
        Some(p) => {
            let n = p
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| p.parse::<u16>().ok())
                .flatten()
                .filter(|n| *n > 0 && p.len() <= 5 && !p.starts_with('0'));
            match n {
                None => Err(format!("{FORM}: the port is 1..=65535 or *")),
                Some(443) if scheme == "https" => {
                    Err("browsers omit the default port: write it without :443".into())
                }
                Some(80) if scheme == "http" => {
                    Err("browsers omit the default port: write it without :80".into())
                }
                Some(_) => Ok(()),
            }
        }
    }
}

/// `Authorization: Bearer <token>` → token.
pub fn bearer(header: Option<&str>) -> Option<&str> {
    let h = header?.trim();
    let (scheme, token) = h.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The isolate's short-lived cache of project configs, so a burst of beacons costs one KV
/// read. Unknown keys are cached too (negative entries), so random keys cannot flood KV.
/// Entries carry the config's version (KV metadata, set by the project's admin object): a
/// KV read older than what the isolate already holds (KV is eventually consistent; the
/// isolate that served an admin change holds the new config at once) never replaces it.
#[derive(Default)]
pub struct ProjectCache {
    entries: HashMap<String, CacheEntry>,
}

struct CacheEntry {
    expires: u64,
    version: u64,
    project: Option<std::rc::Rc<Project>>,
}

/// Most keys one isolate remembers; past that the cache starts over (cheap, rare).
const CACHE_CAPACITY: usize = 1024;

impl ProjectCache {
    /// `Some(entry)` if cached and fresh at `now_ms`; the entry is `None` for an unknown key.
    pub fn get(&self, key: &str, now_ms: u64) -> Option<Option<std::rc::Rc<Project>>> {
        match self.entries.get(key) {
            Some(e) if e.expires > now_ms => Some(e.project.clone()),
            _ => None,
        }
    }

    /// Keep `project` at `version` for `ttl_ms`, unless the cache already holds a later
    /// version (fresh or not): then that one is kept, for another `ttl_ms`.
    pub fn put(
        &mut self,
        key: &str,
        project: Option<Project>,
        version: u64,
        now_ms: u64,
        ttl_ms: u64,
    ) {
        let expires = now_ms.saturating_add(ttl_ms);
        if let Some(e) = self.entries.get_mut(key) {
            if e.version > version {
                e.expires = expires;
                return;
            }
        }
        if self.entries.len() >= CACHE_CAPACITY {
            self.entries.retain(|_, e| e.expires > now_ms);
            if self.entries.len() >= CACHE_CAPACITY {
                self.entries.clear();
            }
        }
        self.entries.insert(
            key.to_string(),
            CacheEntry {
                expires,
                version,
                project: project.map(std::rc::Rc::new),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(kind: &str) -> Project {
        Project::from_json(&format!(
            r#"{{"name":"t","type":"{kind}","allowed_origins":["https://shop.example","http://localhost:*"],
                "read_token_sha256":"{}"}}"#,
            sha256_hex(b"secret-read")
        ))
        .unwrap()
    }

    #[test]
    fn platform_vs_type() {
        let web = project("web");
        assert!(web.check_platform(Platform::Web).is_ok());
        assert_eq!(web.check_platform(Platform::Ios).unwrap_err().status, 403);
        let mobile = project("mobile");
        assert!(mobile.check_platform(Platform::Android).is_ok());
        assert_eq!(
            mobile.check_platform(Platform::Web).unwrap_err().code,
            "platform_not_allowed"
        );
        let both = project("combined");
        assert!(
            both.check_platform(Platform::Web).is_ok()
                && both.check_platform(Platform::Ios).is_ok()
        );
    }

    #[test]
    fn cors_never_echoes_null_and_star_never_grants_credentials() {
        let grant = |origins: &str, origin: &str| {
            let p = Project::from_json(&format!(
                r#"{{"name":"t","type":"combined","allowed_origins":{origins},
                "read_token_sha256":"","audit_token_sha256":""}}"#
            ))
            .unwrap();
            p.cors_grant(origin)
                .map(|g| (g.allow_origin, g.credentials))
        };
        let star = r#"["*"]"#;
        assert_eq!(grant(star, "null"), Some(("*".into(), false)));
        assert_eq!(grant(star, "NULL"), Some(("*".into(), false)));
        assert_eq!(
            grant(star, "https://evil.example"),
            Some(("*".into(), false))
        );
        let listed = r#"["https://shop.example","http://localhost:*"]"#;
        assert_eq!(
            grant(listed, "https://shop.example"),
            Some(("https://shop.example".into(), true))
        );
        assert_eq!(grant(listed, "null"), None);
        assert_eq!(grant(listed, "https://evil.example"), None);
        // A stored `null` pattern (the admin API refuses it) is still never echoed.
        let mut p = Project::from_json(r#"{"name":"t","type":"web"}"#).unwrap();
        p.allowed_origins = vec!["null".into()];
        assert_eq!(p.cors_grant("null"), None);
        // Both: a listed origin keeps credentials, any other gets the bare wildcard.
        let both = r#"["https://shop.example","*"]"#;
        assert_eq!(
            grant(both, "https://shop.example"),
            Some(("https://shop.example".into(), true))
        );
        assert_eq!(grant(both, "null"), Some(("*".into(), false)));
    }

    #[test]
    fn origins() {
        let p = project("web");
        assert!(p.check_origin(Some("https://shop.example")).is_ok());
        assert!(p.check_origin(Some("https://SHOP.example/")).is_ok());
        assert!(p.check_origin(Some("http://localhost:8787")).is_ok());
        assert!(p.check_origin(Some("http://localhost")).is_ok());
        assert!(p.check_origin(None).is_ok());
        for bad in [
            "https://evil.example",
            "http://shop.example",
            "https://shop.example.evil.example",
            "http://localhost.evil.example",
            "http://localhost:80x",
            "http://localhost:",
            "null",
        ] {
            assert_eq!(
                p.check_origin(Some(bad)).unwrap_err().code,
                "origin_not_allowed",
                "{bad}"
            );
        }
        assert!(origin_matches("*", "https://anything.example"));
    }

    #[test]
    fn tokens() {
        let p = project("web");
        assert!(p.read_token_ok("secret-read", 0));
        assert!(!p.read_token_ok("secret-reaD", 0));
        assert!(!p.read_token_ok("", 0));
        // No audit token configured: nothing matches, not even the empty string.
        assert!(!p.audit_token_ok("", 0));
        assert_eq!(bearer(Some("Bearer abc")), Some("abc"));
        assert_eq!(bearer(Some("bearer  abc ")), Some("abc"));
        assert_eq!(bearer(Some("Basic abc")), None);
        assert_eq!(bearer(Some("Bearer ")), None);
        assert_eq!(bearer(None), None);
    }

    #[test]
    fn invalid_policies_make_the_config_unusable() {
        let bad_masking = r#"{"name":"t","type":"web","masking":{"rules":[{"selector":"a:hover","action":"mask"}]}}"#;
        assert!(Project::from_json(bad_masking)
            .unwrap_err()
            .starts_with("masking."));
        let bad_consent =
            r#"{"name":"t","type":"web","consent":{"mode":"opt-in","tcf_purposes":[99]}}"#;
        assert!(Project::from_json(bad_consent)
            .unwrap_err()
            .starts_with("consent."));
    }

    #[test]
    fn masking_options_are_checked_by_name() {
        let on = r#"{"name":"t","type":"web","masking":{"record":{"network_bodies":true,"network_headers":true}}}"#;
        let p = Project::from_json(on).unwrap();
        assert!(p.masking.record.network_bodies && p.masking.record.network_headers);
        // A typo must not silently leave bodies dropped (or, worse, mean something else).
        let typo =
            serde_json::json!({"name":"t","type":"web","masking":{"record":{"network_body":true}}});
        let problems = Project::from_value(&typo).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].path, "masking.record.network_body");
        let wrong_type = serde_json::json!({"name":"t","type":"web","masking":{"record":{"network_bodies":"yes"}}});
        assert!(Project::from_value(&wrong_type).is_err());
    }

    #[test]
    fn config_validation() {
        assert!(Project::from_json(r#"{"name":"t","type":"web","retention_days":396}"#).is_err());
        assert!(Project::from_json(r#"{"name":"t","type":"tv"}"#).is_err());
        assert!(
            Project::from_json(r#"{"name":"t","type":"web","read_token_sha256":"zz"}"#).is_err()
        );
        let p = Project::from_json(r#"{"name":"t","type":"web"}"#).unwrap();
        assert!(p.enabled);
        assert_eq!(p.retention_days, 30);
        assert_eq!(p.limits, Limits::default());
    }

    fn paths(v: serde_json::Value) -> Vec<String> {
        let mut p: Vec<String> = Project::from_value(&v)
            .expect_err("should be refused")
            .into_iter()
            .map(|p| p.path)
            .collect();
        p.sort();
        p
    }

    #[test]
    fn the_field_list_is_the_structs() {
        let p = Project::from_json(r#"{"name":"t","type":"web"}"#).unwrap();
        let mut fields = field_names(&p);
        fields.sort();
        let mut known: Vec<&str> = FIELDS.to_vec();
        known.sort();
        assert_eq!(fields, known);
    }

    #[test]
    fn unknown_fields_are_refused_at_every_level() {
        use serde_json::json;
        assert_eq!(
            paths(json!({"name": "t", "type": "web", "retention_dayz": 7})),
            ["retention_dayz"]
        );
        assert_eq!(
            paths(json!({"name": "t", "type": "web",
                "limits": {"max_bodyy": 1}, "session": {"idle": 5},
                "rate_limit": {"beacons_per_min": 1}, "consent": {"mode": "none", "modee": 1}})),
            [
                "consent.modee",
                "limits.max_bodyy",
                "rate_limit.beacons_per_min",
                "session.idle"
            ]
        );
        // Known nested fields of the wrong type are named too.
        assert_eq!(
            paths(
                json!({"name": "t", "type": "web", "limits": {"max_events": "many"},
                "consent": {"mode": "sometimes", "honor_gpc": 1}})
            ),
            ["consent.honor_gpc", "consent.mode", "limits.max_events"]
        );
    }

    #[test]
    fn limits_and_session_are_bounded() {
        use serde_json::json;
        let gib = 1u64 << 30;
        assert_eq!(
            paths(json!({"name": "t", "type": "web", "limits": {
                "max_body_bytes": gib, "max_decompressed_bytes": gib, "max_events": 0,
                "max_depth": 100_000, "max_string_bytes": gib},
                "session": {"idle_secs": 0, "max_secs": 10_000_000}})),
            [
                "limits.max_body_bytes",
                "limits.max_decompressed_bytes",
                "limits.max_depth",
                "limits.max_events",
                "limits.max_string_bytes",
                "session.idle_secs",
                "session.max_secs"
            ]
        );
        let at_max = json!({"name": "t", "type": "web",
            "limits": serde_json::to_value(MAX_LIMITS).unwrap(),
            "session": {"idle_secs": MAX_SESSION_SECS, "max_secs": MAX_SESSION_SECS}});
        assert!(Project::from_value(&at_max).is_ok());
        // The defaults are inside the bounds.
        let d = Limits::default();
        assert!(d.max_decompressed_bytes <= MAX_LIMITS.max_decompressed_bytes);
    }

    #[test]
    fn origin_patterns_that_cannot_match_are_refused() {
        use serde_json::json;
        let origins = json!([
            "null",
            "shop.example",
            "https://*.shop.example",
            "https://shop.example/path",
            "https://shop.example:443",
            "http://localhost:99999",
            "HTTPS://shop.example",
            "https://sh op.example",
            "",
            "*",
            "https://shop.example",
            "https://shop.example/",
            "http://localhost:*",
            "http://127.0.0.1:8787",
            "http://[::1]:8080",
            "capacitor://localhost"
        ]);
        let problems =
            Project::from_value(&json!({"name": "t", "type": "web", "allowed_origins": origins}))
                .unwrap_err();
        let at: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            at,
            (0..9)
                .map(|i| format!("allowed_origins[{i}]"))
                .collect::<Vec<_>>()
        );
        // Every accepted pattern can match an origin a browser sends.
        let ok = Project::from_value(&json!({"name": "t", "type": "web",
            "allowed_origins": ["https://shop.example/", "http://[::1]:8080"]}))
        .unwrap();
        assert!(
            ok.origin_allowed("https://shop.example") && ok.origin_allowed("http://[::1]:8080")
        );
    }

    #[test]
    fn a_wrong_type_hides_no_other_problem() {
        use serde_json::json;
        assert_eq!(
            paths(json!({"name": 3, "type": "tv", "retention_days": 0,
                "limits": {"max_events": 0}, "allowed_origins": ["null"],
                "consent": {"mode": "opt-in", "tcf_purposes": [99]}, "zzz": 1})),
            [
                "allowed_origins[0]",
                "consent.tcf_purposes",
                "limits.max_events",
                "name",
                "retention_days",
                "type",
                "zzz"
            ]
        );
    }

    #[test]
    fn cache_expires_and_remembers_unknown_keys() {
        let mut c = ProjectCache::default();
        assert!(c.get("k", 0).is_none());
        c.put("k", Some(project("web")), 0, 1000, 30_000);
        assert!(c.get("k", 30_999).unwrap().is_some());
        assert!(c.get("k", 31_000).is_none());
        c.put("unknown", None, 0, 0, 5_000);
        assert!(c.get("unknown", 1).unwrap().is_none());
        for i in 0..(CACHE_CAPACITY + 10) {
            c.put(&format!("k{i}"), None, 0, 0, 5_000);
        }
        assert!(c.entries.len() <= CACHE_CAPACITY);
    }

    #[test]
    fn an_older_kv_copy_never_replaces_a_newer_config() {
        let mut c = ProjectCache::default();
        let mut off = project("web");
        off.enabled = false;
        // The admin change's reply: version 5, disabled.
        c.put("k", Some(off), 5, 0, 1_000);
        // Expired, then KV (not yet caught up) answers version 4, enabled: kept at 5.
        c.put("k", Some(project("web")), 4, 2_000, 1_000);
        assert!(!c.get("k", 2_500).unwrap().unwrap().enabled);
        // An equal or later version replaces it (a hand-written copy is version 0 and
        // replaces version 0).
        c.put("k", Some(project("web")), 5, 3_000, 1_000);
        assert!(c.get("k", 3_500).unwrap().unwrap().enabled);
    }
}
