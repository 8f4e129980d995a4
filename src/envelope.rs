//! Beacon envelope: decompression with caps, parsing and validation. (placeholder; foundation owns it)

use serde::{Deserialize, Serialize};

/// Where a recording comes from. `web` carries rrweb events; `ios`/`android` carry the
/// mobile wireframe format documented in `privacy::mobile`.
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
