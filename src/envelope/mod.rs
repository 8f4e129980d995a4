//! Beacon envelope: everything between the raw body bytes and a beacon the session object may
//! store. Nothing downstream sees a body that has not passed every limit here. In order:
//! - `decode`: encodings, the wire cap, inflating with the decompressed cap;
//! - `prescan`: one pass over the bytes (depth, string length, escapes, numbers) that also
//!   locates the events;
//! - `head`: the envelope's fields; `parse_body`, the one parse every refusal comes from, and
//!   `parse_head`, the worker's read with the events only located;
//! - `events`: the events rule (`validate_events`) and the session object's read of them into
//!   the masking tree (`parse_events`).
//!
//! Events stay unparsed (`RawValue`) until the session object masks them, so a beacon is
//! parsed into a tree exactly once.

mod decode;
mod events;
mod head;
mod prescan;

use serde::{Deserialize, Serialize};

pub use decode::{
    check_content_type, check_wire_len, decode_body, inflation_cap, Encoding,
    INFLATION_RATIO_FLOOR, MAX_INFLATION_RATIO,
};
pub use events::{parse_events, validate_events, EventSpan};
pub use head::{parse_body, parse_head, Envelope, EnvelopeOf, Sdk, MAX_SEQ, MAX_URL_BYTES};
pub use prescan::{from_slice_prescanned, prescan};

/// Where a recording comes from. `web` carries rrweb events; `ios`/`android` carry the
/// mobile wireframe format documented in docs/MOBILE.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Web,
    Ios,
    Android,
}

impl Platform {
    pub fn is_mobile(self) -> bool {
        !matches!(self, Platform::Web)
    }
}

/// Size and shape limits for one beacon. Defaults are documented in README ("Limits") and can
/// be overridden per project (`limits` in the project config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Bytes on the wire (compressed or not).
    pub max_body_bytes: usize,
    /// Bytes after decompression; a gzip bomb stops here, while inflating.
    pub max_decompressed_bytes: usize,
    pub max_events: usize,
    /// JSON nesting depth of the whole body (objects + arrays).
    pub max_depth: usize,
    /// Longest single JSON string (in bytes, as written, escapes included).
    pub max_string_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 1 << 20,
            // A Value tree costs ~17x its JSON (BENCHMARKS.md, memory): 4 MiB keeps one
            // beacon well inside a Workers isolate's 128 MB.
            max_decompressed_bytes: 4 << 20,
            max_events: 10_000,
            max_depth: 512,
            max_string_bytes: 1 << 20,
        }
    }
}

/// Ids (session, visitor, project key) are 8–64 chars of `[A-Za-z0-9_-]`: safe in storage
/// keys and URLs as they are.
pub fn is_valid_id(id: &str) -> bool {
    (8..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn strip_position(e: &serde_json::Error) -> String {
    // serde_json appends " at line L column C"; the message alone is clearer for a client.
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plain beacon the submodules' tests start from.
    pub(super) const GOOD: &str = r#"{"session":"s_12345678","visitor":"v_12345678","seq":3,"platform":"web",
        "page":"https://shop.example/x","sdk":{"name":"t","version":"1"},
        "events":[{"type":4,"data":{"href":"https://shop.example/x","width":1,"height":1},"timestamp":1700000000000},
                  {"type":3,"data":{"source":2},"timestamp":1700000000500}]}"#;

    #[test]
    fn ids() {
        assert!(is_valid_id("abcd_EF-9"));
        assert!(!is_valid_id("abcdefg"));
        assert!(!is_valid_id(&"a".repeat(65)));
        assert!(!is_valid_id("abcd/efgh"));
        assert!(!is_valid_id("abcd.efgh"));
        assert!(!is_valid_id("abcdéfgh"));
    }
}
