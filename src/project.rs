//! Project configuration (the `project:{key}` JSON in KV) and the checks made against it:
//! enabled flag, origin allowlist, platform vs project type, read/audit tokens.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::consent::ConsentPolicy;
use crate::envelope::{Limits, Platform};
use crate::error::ApiError;
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
    pub chunks_per_day: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            beacons_per_minute: 6000,
            chunks_per_day: 0,
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
        let p: Project = serde_json::from_str(json).map_err(|e| e.to_string())?;
        if p.retention_days == 0 || p.retention_days > MAX_RETENTION_DAYS {
            return Err(format!("retention_days must be 1..={MAX_RETENTION_DAYS}"));
        }
        p.consent
            .validate()
            .map_err(|errs| format!("consent: {}", errs.join("; ")))?;
        p.masking.validate().map_err(|errs| {
            let msgs: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
            format!("masking: {}", msgs.join("; "))
        })?;
        for h in [&p.read_token_sha256, &p.audit_token_sha256] {
            if !h.is_empty() && decode_hex32(h).is_none() {
                return Err("token hashes must be 64 hex characters".into());
            }
        }
        Ok(p)
    }

    pub fn check_enabled(&self) -> Result<(), ApiError> {
        if self.enabled {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "project_disabled",
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
            Err(ApiError::forbidden(
                "platform_not_allowed",
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
            Some(_) => Err(ApiError::forbidden(
                "origin_not_allowed",
                "this origin may not send recordings to this project",
            )),
        }
    }

    pub fn read_token_ok(&self, presented: &str) -> bool {
        token_matches(presented, &self.read_token_sha256)
    }

    pub fn audit_token_ok(&self, presented: &str) -> bool {
        token_matches(presented, &self.audit_token_sha256)
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

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

fn decode_hex32(s: &str) -> Option<[u8; 32]> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in b.chunks_exact(2).enumerate() {
        let nib = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
        out[i] = (nib(pair[0])? << 4) | nib(pair[1])?;
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
        assert!(p.read_token_ok("secret-read"));
        assert!(!p.read_token_ok("secret-reaD"));
        assert!(!p.read_token_ok(""));
        // No audit token configured: nothing matches, not even the empty string.
        assert!(!p.audit_token_ok(""));
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
            .starts_with("masking:"));
        let bad_consent =
            r#"{"name":"t","type":"web","consent":{"mode":"opt-in","tcf_purposes":[99]}}"#;
        assert!(Project::from_json(bad_consent)
            .unwrap_err()
            .starts_with("consent:"));
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
