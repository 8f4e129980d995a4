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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    /// problem at once, each with its JSON path.
    pub fn from_value(value: &serde_json::Value) -> Result<Project, Vec<ConfigProblem>> {
        let Some(obj) = value.as_object() else {
            return Err(vec![problem("", "a project config is a JSON object")]);
        };
        let p: Project = match serde_json::from_value(value.clone()) {
            Ok(p) => p,
            Err(whole) => {
                // Name each field that does not fit its type, so an operator sees all of them.
                let mut problems = field_type_problems(obj);
                for required in ["name", "type"] {
                    if !obj.contains_key(required) {
                        problems.push(problem(required, "missing"));
                    }
                }
                if problems.is_empty() {
                    problems.push(problem("", whole.to_string()));
                }
                return Err(problems);
            }
        };
        let mut problems = Vec::new();
        if p.retention_days == 0 || p.retention_days > MAX_RETENTION_DAYS {
            problems.push(problem(
                "retention_days",
                format!("must be 1..={MAX_RETENTION_DAYS}"),
            ));
        }
        if let Err(errs) = p.consent.validate() {
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
        // The raw object, not `p.masking`: serde ignores unknown fields, and a typo such as
        // `record.network_body` must be refused rather than silently mean "off".
        let masking = match obj.get("masking") {
            Some(m) => crate::privacy::validate_policy(m).map(drop),
            None => p.masking.validate(),
        };
        if let Err(errs) = masking {
            for e in errs {
                problems.push(problem(format!("masking.{}", e.path), e.message));
            }
        }
        for (field, h) in [
            ("read_token_sha256", &p.read_token_sha256),
            ("audit_token_sha256", &p.audit_token_sha256),
        ] {
            if !h.is_empty() && decode_hex32(h).is_none() {
                problems.push(problem(field, "token hashes must be 64 hex characters"));
            }
        }
        for (field, list) in [
            ("read_tokens", &p.read_tokens),
            ("audit_tokens", &p.audit_tokens),
        ] {
            for (i, t) in list.iter().enumerate() {
                if decode_hex32(&t.sha256).is_none() {
                    problems.push(problem(
                        format!("{field}[{i}].sha256"),
                        "token hashes must be 64 hex characters",
                    ));
                }
            }
        }
        if problems.is_empty() {
            Ok(p)
        } else {
            Err(problems)
        }
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

/// Each field of a config object that does not deserialize into its own type.
fn field_type_problems(obj: &serde_json::Map<String, serde_json::Value>) -> Vec<ConfigProblem> {
    fn check<T: serde::de::DeserializeOwned>(v: &serde_json::Value) -> Option<String> {
        serde_json::from_value::<T>(v.clone())
            .err()
            .map(|e| e.to_string())
    }
    let mut out = Vec::new();
    for (k, v) in obj {
        let err = match k.as_str() {
            "name" => check::<String>(v),
            "type" => check::<ProjectType>(v),
            "enabled" => check::<bool>(v),
            "allowed_origins" => check::<Vec<String>>(v),
            "consent" => check::<ConsentPolicy>(v),
            "masking" => check::<MaskPolicy>(v),
            "retention_days" => check::<u32>(v),
            "rate_limit" => check::<RateLimit>(v),
            "limits" => check::<Limits>(v),
            "session" => check::<SessionTimeouts>(v),
            "read_token_sha256" | "audit_token_sha256" => check::<String>(v),
            "read_tokens" | "audit_tokens" => check::<Vec<TokenEntry>>(v),
            _ => None,
        };
        if let Some(message) = err {
            out.push(problem(k.clone(), message));
        }
    }
    out
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
#[derive(Default)]
pub struct ProjectCache {
    entries: HashMap<String, (u64, Option<std::rc::Rc<Project>>)>,
}

/// Most keys one isolate remembers; past that the cache starts over (cheap, rare).
const CACHE_CAPACITY: usize = 1024;

impl ProjectCache {
    /// `Some(entry)` if cached and fresh at `now_ms`; the entry is `None` for an unknown key.
    pub fn get(&self, key: &str, now_ms: u64) -> Option<Option<std::rc::Rc<Project>>> {
        match self.entries.get(key) {
            Some((expires, p)) if *expires > now_ms => Some(p.clone()),
            _ => None,
        }
    }

    /// Drop `key` at once: the isolate that changed a project must not serve the old config.
    pub fn forget(&mut self, key: &str) {
        self.entries.remove(key);
    }

    pub fn put(&mut self, key: &str, project: Option<Project>, now_ms: u64, ttl_ms: u64) {
        if self.entries.len() >= CACHE_CAPACITY {
            self.entries.retain(|_, (expires, _)| *expires > now_ms);
            if self.entries.len() >= CACHE_CAPACITY {
                self.entries.clear();
            }
        }
        self.entries.insert(
            key.to_string(),
            (now_ms + ttl_ms, project.map(std::rc::Rc::new)),
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
        assert_eq!(grant(r#"["null"]"#, "null"), None);
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

    #[test]
    fn cache_expires_and_remembers_unknown_keys() {
        let mut c = ProjectCache::default();
        assert!(c.get("k", 0).is_none());
        c.put("k", Some(project("web")), 1000, 30_000);
        assert!(c.get("k", 30_999).unwrap().is_some());
        assert!(c.get("k", 31_000).is_none());
        c.put("unknown", None, 0, 5_000);
        assert!(c.get("unknown", 1).unwrap().is_none());
        for i in 0..(CACHE_CAPACITY + 10) {
            c.put(&format!("k{i}"), None, 0, 5_000);
        }
        assert!(c.entries.len() <= CACHE_CAPACITY);
    }
}
