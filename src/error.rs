//! One error type for every refusal; the edge turns it into a status and a JSON body in one place.

use std::fmt;

/// A refusal with its HTTP status, a stable machine-readable code and a human message.
/// Messages never echo request content (no payload, cookie or token can leak through them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// Seconds, for 429 and 503 (`Retry-After`).
    pub retry_after: Option<u32>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(401, "unauthorized", message)
    }
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(403, code, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "not_found", message)
    }
    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "method_not_allowed",
            "method not allowed on this route",
        )
    }
    pub fn too_large(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(413, code, message)
    }
    pub fn unsupported_encoding(message: impl Into<String>) -> Self {
        Self::new(415, "unsupported_encoding", message)
    }
    pub fn rate_limited(code: &'static str, retry_after: u32) -> Self {
        ApiError {
            retry_after: Some(retry_after.max(1)),
            ..Self::new(
                429,
                code,
                "over the project's rate limit or quota; retry later",
            )
        }
    }
    /// Storage (R2, KV, Durable Object) failed: nothing was acknowledged, the client retries.
    pub fn unavailable(message: impl Into<String>) -> Self {
        ApiError {
            retry_after: Some(2),
            ..Self::new(503, "storage_unavailable", message)
        }
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
        let e = ApiError::bad_request("malformed_json", "body is not \"JSON\"");
        let v: serde_json::Value = serde_json::from_str(&e.body()).unwrap();
        assert_eq!(v["error"]["code"], "malformed_json");
        assert_eq!(v["error"]["message"], "body is not \"JSON\"");
        assert_eq!(e.status, 400);
    }

    #[test]
    fn retryable_errors_carry_retry_after() {
        assert_eq!(ApiError::unavailable("r2").retry_after, Some(2));
        assert_eq!(
            ApiError::rate_limited("rate_limited", 0).retry_after,
            Some(1)
        );
        assert_eq!(ApiError::rate_limited("rate_limited", 0).status, 429);
    }
}
