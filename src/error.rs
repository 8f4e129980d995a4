//! One error type for every refusal; the edge turns it into a status and a JSON body in one place.
//!
//! Every code the worker can answer is a variant of [`ErrorCode`], declared once in the table
//! below with its status, so a status cannot drift from its code and README's error table is
//! checked against the list (`every_code_is_documented`).

use std::fmt;

macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $status:literal $(| $other:literal)*;)+) => {
        /// A stable, machine-readable refusal code (the `code` of the JSON error body).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)+
        }

        impl ErrorCode {
            /// Every code, in the table's order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)+
                }
            }

            /// The statuses this code is answered with; the first is the usual one.
            pub const fn statuses(self) -> &'static [u16] {
                match self {
                    $(ErrorCode::$variant => &[$status $(, $other)*],)+
                }
            }

            /// The code named `code`, e.g. read back from a Durable Object's error body.
            pub fn parse(code: &str) -> Option<ErrorCode> {
                match code {
                    $($code => Some(ErrorCode::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

// One `Variant = "code", status;` per line: README's error table is checked against it
// (`every_code_is_documented`).
error_codes! {
    BadUrl = "bad_url", 400;
    InvalidBody = "invalid_body", 400;
    InvalidCall = "invalid_call", 400;
    InvalidConfig = "invalid_config", 400;
    InvalidCursor = "invalid_cursor", 400;
    InvalidEvents = "invalid_events", 400;
    InvalidFilter = "invalid_filter", 400;
    InvalidGrace = "invalid_grace", 400;
    InvalidGzip = "invalid_gzip", 400;
    InvalidId = "invalid_id", 400;
    InvalidJson = "invalid_json", 400;
    InvalidKey = "invalid_key", 400;
    InvalidLimit = "invalid_limit", 400;
    InvalidPage = "invalid_page", 400;
    InvalidRange = "invalid_range", 400;
    InvalidSeed = "invalid_seed", 400;
    InvalidSeq = "invalid_seq", 400;
    InvalidUtf8 = "invalid_utf8", 400;
    MalformedJson = "malformed_json", 400;
    TooDeep = "too_deep", 400;
    UnreadableBody = "unreadable_body", 400;
    Unauthorized = "unauthorized", 401;
    CrossSiteOptIn = "cross_site_opt_in", 403;
    OriginNotAllowed = "origin_not_allowed", 403;
    PlatformNotAllowed = "platform_not_allowed", 403;
    ProjectDisabled = "project_disabled", 403;
    NotFound = "not_found", 404;
    MethodNotAllowed = "method_not_allowed", 405;
    AuditRecordInvalid = "audit_record_invalid", 409;
    ProjectExists = "project_exists", 409;
    VisitorMismatch = "visitor_mismatch", 409;
    EtagMismatch = "etag_mismatch", 412;
    BodyTooLarge = "body_too_large", 413;
    ConfigTooLarge = "config_too_large", 413;
    DecompressedTooLarge = "decompressed_too_large", 413;
    EventsTooLarge = "events_too_large", 413;
    SessionTooLong = "session_too_long", 413;
    StringTooLong = "string_too_long", 413;
    TooManyChunks = "too_many_chunks", 413;
    TooManyEvents = "too_many_events", 413;
    UnsupportedEncoding = "unsupported_encoding", 415;
    UnsupportedMediaType = "unsupported_media_type", 415;
    QuotaExceeded = "quota_exceeded", 429;
    RateLimited = "rate_limited", 429;
    Internal = "internal", 500;
    AdminDisabled = "admin_disabled", 503;
    /// 503 when a beacon or read meets a stored config that does not parse (the operator
    /// must fix it; retrying may then succeed), 409 when the admin API is asked to patch it
    /// (the request conflicts with what is stored: PUT a new one).
    ProjectMisconfigured = "project_misconfigured", 503 | 409;
    StorageUnavailable = "storage_unavailable", 503;
}

impl ErrorCode {
    /// The usual status of this code.
    pub const fn status(self) -> u16 {
        self.statuses()[0]
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refusal with its HTTP status, a stable machine-readable code and a human message.
/// Messages never echo request content (no payload, cookie or token can leak through them).
/// `status` and `code` follow from the [`ErrorCode`] it was built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// Seconds, for 429 and 503 (`Retry-After`).
    pub retry_after: Option<u32>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::with_status(code.status(), code, message)
    }
    /// For a code answered with more than one status (`ErrorCode::statuses`).
    pub fn with_status(status: u16, code: ErrorCode, message: impl Into<String>) -> Self {
        debug_assert!(
            code.statuses().contains(&status),
            "{code} is never {status}"
        );
        ApiError {
            status,
            code: code.as_str(),
            message: message.into(),
            retry_after: None,
        }
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }
    pub fn method_not_allowed() -> Self {
        Self::new(
            ErrorCode::MethodNotAllowed,
            "method not allowed on this route",
        )
    }
    pub fn unsupported_encoding(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::UnsupportedEncoding, message)
    }
    pub fn rate_limited(code: ErrorCode, retry_after: u32) -> Self {
        ApiError {
            retry_after: Some(retry_after.max(1)),
            ..Self::new(code, "over the project's rate limit or quota; retry later")
        }
    }
    /// Storage (R2, KV, Durable Object) failed: nothing was acknowledged, the client retries.
    pub fn unavailable(message: impl Into<String>) -> Self {
        ApiError {
            retry_after: Some(2),
            ..Self::new(ErrorCode::StorageUnavailable, message)
        }
    }

    /// The code this error was built from.
    pub fn error_code(&self) -> Option<ErrorCode> {
        ErrorCode::parse(self.code)
    }

    pub fn body(&self) -> String {
        serde_json::json!({"error": {"code": self.code, "message": self.message}}).to_string()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_is_the_documented_shape() {
        let e = ApiError::new(ErrorCode::MalformedJson, "body is not \"JSON\"");
        let v: serde_json::Value = serde_json::from_str(&e.body()).unwrap();
        assert_eq!(v["error"]["code"], "malformed_json");
        assert_eq!(v["error"]["message"], "body is not \"JSON\"");
        assert_eq!(e.status, 400);
    }

    #[test]
    fn retryable_errors_carry_retry_after() {
        assert_eq!(ApiError::unavailable("r2").retry_after, Some(2));
        assert_eq!(
            ApiError::rate_limited(ErrorCode::RateLimited, 0).retry_after,
            Some(1)
        );
        assert_eq!(
            ApiError::rate_limited(ErrorCode::RateLimited, 0).status,
            429
        );
    }

    #[test]
    fn codes_are_distinct_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for &c in ErrorCode::ALL {
            assert!(seen.insert(c.as_str()), "{c} twice");
            assert_eq!(ErrorCode::parse(c.as_str()), Some(c));
            assert_eq!(ApiError::new(c, "m").error_code(), Some(c));
            assert!(c
                .as_str()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
        }
        assert_eq!(ErrorCode::parse("nope"), None);
    }

    /// README's "Errors" table: one row per code, `| `code` | statuses | when |`.
    fn documented_codes(readme: &str) -> Vec<(String, Vec<u16>)> {
        let section = readme
            .split("\n## Errors")
            .nth(1)
            .expect("README has an `## Errors` section");
        let section = section.split("\n## ").next().unwrap_or(section);
        section
            .lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line.trim().trim_matches('|').split('|').collect();
                let code = cells.first()?.trim().strip_prefix('`')?.strip_suffix('`')?;
                let statuses = cells
                    .get(1)?
                    .split(',')
                    .map(|s| s.trim().parse::<u16>().ok())
                    .collect::<Option<Vec<_>>>()?;
                Some((code.to_string(), statuses))
            })
            .collect()
    }

    #[test]
    fn every_code_is_documented() {
        let documented = documented_codes(include_str!("../README.md"));
        for &c in ErrorCode::ALL {
            let row = documented.iter().find(|(code, _)| code == c.as_str());
            assert_eq!(
                row.map(|(_, s)| s.as_slice()),
                Some(c.statuses()),
                "README's error table: `{c}` missing or with other statuses"
            );
        }
        for (code, _) in &documented {
            assert!(
                ErrorCode::parse(code).is_some(),
                "README documents `{code}`, which the worker never answers"
            );
        }
        assert_eq!(
            documented.len(),
            ErrorCode::ALL.len(),
            "a code listed twice"
        );
    }

    #[test]
    fn the_table_check_can_fail() {
        let readme = "x\n## Errors\n| code | status | when |\n|---|---|---|\n| `bad_url` | 400 | x |\n## Next\n| `other` | 1 | y |\n";
        assert_eq!(
            documented_codes(readme),
            vec![("bad_url".into(), vec![400])]
        );
    }
}
