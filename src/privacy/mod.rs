//! Server-side masking of recordings. PLACEHOLDER: the privacy work replaces this file,
//! keeping the public contract below (types and function signatures) so the edge compiles.

pub mod detect;
pub mod policy;
pub mod selector;
pub mod state;
pub mod url;
pub use policy::MaskPolicy;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::envelope::Platform;

/// A project's masking policy (`masking` in the project config). `Default` is privacy-first.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MaskPolicyOld {}

/// Masking state carried across the chunks of one session (kept in the session DO).
/// Must stay small and bounded.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MaskState {}

/// Mask one chunk's events in place, before any byte is stored.
pub fn mask_events(
    _events: &mut [Value],
    _platform: Platform,
    _policy: &MaskPolicy,
    _state: &mut MaskState,
) {
}

/// Scrub a page/meta URL (sensitive query parameters, PII in path and query).
pub fn mask_url(url: &str, _policy: &MaskPolicy) -> String {
    url.to_string()
}
