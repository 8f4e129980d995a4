//! Consent signals and the per-project decision. PLACEHOLDER: the consent work replaces this
//! file, keeping the public contract below so the edge compiles.

use serde::{Deserialize, Serialize};

/// A project's consent policy (`consent` in the project config).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsentPolicy {}

/// What the request carried: raw header values are parsed here and never stored.
#[derive(Debug, Clone, Default)]
pub struct Signals {}

impl Signals {
    /// `cookie`: the raw `Cookie` header; `sec_gpc`: the raw `Sec-GPC` header;
    /// `sdk`: the envelope's `consent` object as the SDK reported it.
    pub fn from_request(
        _cookie: Option<&str>,
        _sec_gpc: Option<&str>,
        _sdk: Option<&serde_json::Map<String, serde_json::Value>>,
    ) -> Signals {
        Signals {}
    }
}

/// The outcome for one beacon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub store: bool,
    /// Reason code, e.g. `opt_out_cookie`, `gpc`, `granted_tcf`, `no_consent_signal`.
    pub reason: String,
    /// Which signals were present (names only, never values), e.g. `["gpc","tcf"]`.
    pub signals: Vec<String>,
}

pub fn decide(_policy: &ConsentPolicy, _signals: &Signals) -> Decision {
    Decision { store: true, reason: "no_policy".into(), signals: vec![] }
}
