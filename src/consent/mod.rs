//! Consent signals and the per-project decision (pure Rust, no worker types).
//!
//! ```text
//! Cookie header ─► cookies::ConsentCookies ─┐
//! Sec-GPC header ───────────────────────────┼─► Signals ─► decide(&ConsentPolicy) ─► Decision
//! envelope `consent` map (SDK) ─────────────┘
//! ```
//! - [`cookies`]: Cookie header parsing (hostile input, duplicates, injection).
//! - [`tcf`]: IAB TCF v2.2 TC string decoder (`euconsent-v2`).
//! - [`cmp`]: Cookiebot `CookieConsent` and OneTrust `OptanonConsent`.
//! - [`policy`]: the decision and its precedence rules.
//! - [`optout`]: the opt-out cookie's `Set-Cookie` values and confirmation pages.
//!
//! Raw header values never leave this module: [`Signals`] holds parsed facts and
//! [`Decision::signals`] only names which signals were present. See `docs/CONSENT.md`.

pub mod cmp;
pub mod cookies;
pub mod optout;
pub mod policy;
pub mod tcf;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::encoding::hex;

pub use cmp::{CmpError, CookiebotConsent, OneTrustConsent};
pub use policy::decide;
pub use tcf::{TcString, TcfError};

/// How a project treats recording consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConsentMode {
    /// Record unless the visitor used veilgate's opt-out (GPC only with `honor_gpc`).
    #[serde(rename = "none")]
    None,
    /// Record unless the opt-out cookie or `Sec-GPC: 1` (or, with `honor_cmp_refusal`, an
    /// explicit refusal in a CMP cookie or the SDK's report).
    #[serde(rename = "opt-out", alias = "opt_out", alias = "optout")]
    OptOut,
    /// Record only with a positive signal that satisfies the policy's requirements.
    #[serde(rename = "opt-in", alias = "opt_in", alias = "optin")]
    OptIn,
}

impl ConsentMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentMode::None => "none",
            ConsentMode::OptOut => "opt-out",
            ConsentMode::OptIn => "opt-in",
        }
    }
}

/// A project's consent policy (`consent` in the project config). JSON:
///
/// ```json
/// { "mode": "opt-in",
///   "tcf_purposes": [1], "tcf_vendor": null,
///   "cookiebot": ["statistics"], "onetrust_groups": ["C0002"],
///   "sdk_keys": {"analytics_storage": "granted"},
///   "version": "2026-11-01" }
/// ```
/// `mode` is required; every other field defaults to empty/false. A project config without
/// a `consent` object gets [`ConsentPolicy::default`], the privacy-first preset above.
/// Unknown fields are rejected so that a typo cannot silently weaken a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentPolicy {
    pub mode: ConsentMode,
    /// TCF purposes (1..=24) that must all have consent in the core segment.
    #[serde(default)]
    pub tcf_purposes: Vec<u8>,
    /// GVL vendor id that must have vendor consent (legitimate interest is not consent), and
    /// must not be restricted by the publisher ("not allowed") for a required purpose.
    #[serde(default)]
    pub tcf_vendor: Option<u16>,
    /// Cookiebot categories that must all be `true` (`preferences`, `statistics`, `marketing`,
    /// `necessary`).
    #[serde(default)]
    pub cookiebot: Vec<String>,
    /// Cookiebot `-1` (visitor outside the regions where the site asks for consent) counts
    /// as a grant only when this is true. Default false: opt-in means a positive choice.
    #[serde(default)]
    pub cookiebot_out_of_region_grants: bool,
    /// OneTrust groups that must all be `:1`, e.g. `C0002` (performance).
    #[serde(default)]
    pub onetrust_groups: Vec<String>,
    /// SDK-reported keys and the value each must have (case-insensitive), e.g.
    /// `{"analytics_storage": "granted"}`. Counts only where no configured CMP cookie is
    /// present. Also accepted as `sdk`.
    #[serde(default, alias = "sdk")]
    pub sdk_keys: BTreeMap<String, String>,
    /// Honor `Sec-GPC: 1` under mode `none` too. Under `opt-out` and `opt-in` GPC always
    /// drops; this flag cannot turn that off.
    #[serde(default)]
    pub honor_gpc: bool,
    /// Under `opt-out`: also drop when a configured CMP cookie or the SDK explicitly refuses.
    #[serde(default)]
    pub honor_cmp_refusal: bool,
    /// Free-form version label recorded with every decision. When absent, a content hash of
    /// the policy (`sha256:` + 12 hex) is recorded instead.
    #[serde(default)]
    pub version: Option<String>,
}

impl Default for ConsentPolicy {
    /// Privacy-first preset: opt-in, granted by TCF purpose 1, Cookiebot `statistics`,
    /// OneTrust `C0002`, or (without any of those cookies) SDK `analytics_storage: granted`.
    fn default() -> Self {
        ConsentPolicy {
            mode: ConsentMode::OptIn,
            tcf_purposes: vec![1],
            tcf_vendor: None,
            cookiebot: vec!["statistics".into()],
            cookiebot_out_of_region_grants: false,
            onetrust_groups: vec!["C0002".into()],
            sdk_keys: BTreeMap::from([("analytics_storage".to_string(), "granted".to_string())]),
            honor_gpc: false,
            honor_cmp_refusal: false,
            version: Some("default-1".into()),
        }
    }
}

impl ConsentPolicy {
    /// A policy with just a mode and nothing required.
    pub fn with_mode(mode: ConsentMode) -> Self {
        ConsentPolicy {
            mode,
            tcf_purposes: Vec::new(),
            tcf_vendor: None,
            cookiebot: Vec::new(),
            cookiebot_out_of_region_grants: false,
            onetrust_groups: Vec::new(),
            sdk_keys: BTreeMap::new(),
            honor_gpc: false,
            honor_cmp_refusal: false,
            version: None,
        }
    }

    /// The label recorded with each decision: `version`, or a content hash of the policy.
    pub fn version_label(&self) -> String {
        if let Some(v) = self
            .version
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            return v.chars().take(64).collect();
        }
        let canonical = serde_json::to_vec(self).unwrap_or_default();
        let digest = Sha256::digest(&canonical);
        format!("sha256:{}", &hex(&digest)[..12])
    }

    pub fn uses_tcf(&self) -> bool {
        !self.tcf_purposes.is_empty() || self.tcf_vendor.is_some()
    }

    pub fn uses_cookiebot(&self) -> bool {
        !self.cookiebot.is_empty()
    }

    pub fn uses_onetrust(&self) -> bool {
        !self.onetrust_groups.is_empty()
    }

    pub fn uses_sdk(&self) -> bool {
        !self.sdk_keys.is_empty()
    }

    /// Whether `Sec-GPC: 1` drops under this policy.
    pub fn gpc_drops(&self) -> bool {
        self.mode != ConsentMode::None || self.honor_gpc
    }

    /// Problems a config loader should report (the decision itself never fails: an `opt-in`
    /// policy that can never be satisfied simply drops everything with `no_consent_signal`).
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut errs = Vec::new();
        for &p in &self.tcf_purposes {
            if !(1..=24).contains(&p) {
                errs.push(format!("tcf_purposes: {p} is not a purpose id (1..=24)"));
            }
        }
        if self.tcf_vendor == Some(0) {
            errs.push("tcf_vendor: 0 is not a vendor id".into());
        }
        for c in &self.cookiebot {
            if !cmp::COOKIEBOT_CATEGORIES.contains(&c.as_str()) {
                errs.push(format!("cookiebot: unknown category {c:?}"));
            }
        }
        for g in &self.onetrust_groups {
            if g.is_empty() || g.len() > 32 {
                errs.push(format!("onetrust_groups: bad group id {g:?}"));
            }
        }
        let can_grant =
            self.uses_tcf() || self.uses_cookiebot() || self.uses_onetrust() || self.uses_sdk();
        if self.mode == ConsentMode::OptIn && !can_grant {
            errs.push("mode opt-in needs at least one of tcf_purposes, tcf_vendor, cookiebot, onetrust_groups, sdk_keys".into());
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs)
        }
    }
}

/// At most this many SDK consent keys are read from the envelope.
pub const MAX_SDK_KEYS: usize = 32;

/// What the request carried: raw header values are parsed here and never stored.
/// Each consent cookie keeps one entry per copy found in the header (usually one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signals {
    /// The opt-out cookie says opted out.
    pub opt_out_cookie: bool,
    /// `Sec-GPC: 1`.
    pub gpc: bool,
    pub tcf: Vec<Result<TcString, TcfError>>,
    pub cookiebot: Vec<Result<CookiebotConsent, CmpError>>,
    pub onetrust: Vec<Result<OneTrustConsent, CmpError>>,
    /// The SDK's report, normalised: lower-case string values (`true`/`false` become
    /// `granted`/`denied`); `None` when the envelope had no `consent` object.
    pub sdk: Option<BTreeMap<String, String>>,
    /// A consent cookie had more copies than were read.
    pub cookie_overflow: bool,
}

impl Signals {
    /// `cookie`: the raw `Cookie` header; `sec_gpc`: the raw `Sec-GPC` header;
    /// `sdk`: the envelope's `consent` object as the SDK reported it.
    pub fn from_request(
        cookie: Option<&str>,
        sec_gpc: Option<&str>,
        sdk: Option<&serde_json::Map<String, serde_json::Value>>,
    ) -> Signals {
        let mut s = Signals {
            gpc: sec_gpc.is_some_and(|v| v.trim() == "1"),
            sdk: sdk.map(normalise_sdk),
            ..Signals::default()
        };
        if let Some(header) = cookie {
            let c = cookies::ConsentCookies::parse(header);
            s.opt_out_cookie = c.opted_out;
            s.tcf = c.tcf.iter().map(|v| tcf::decode(v)).collect();
            s.cookiebot = c
                .cookiebot
                .iter()
                .map(|v| CookiebotConsent::parse(v))
                .collect();
            s.onetrust = c
                .onetrust
                .iter()
                .map(|v| OneTrustConsent::parse(v))
                .collect();
            s.cookie_overflow = c.overflow;
        }
        s
    }

    /// Names of the signals present (never values), in a fixed order, e.g.
    /// `["gpc","tcf","tcf_unparseable"]`.
    pub fn names(&self) -> Vec<String> {
        let mut n: Vec<&str> = Vec::new();
        if self.opt_out_cookie {
            n.push("opt_out_cookie");
        }
        if self.gpc {
            n.push("gpc");
        }
        let mut cmp = |present: bool, bad: bool, name: &'static str, bad_name: &'static str| {
            if present {
                n.push(name);
            }
            if bad {
                n.push(bad_name);
            }
        };
        cmp(
            !self.tcf.is_empty(),
            self.tcf.iter().any(Result::is_err),
            "tcf",
            "tcf_unparseable",
        );
        cmp(
            !self.cookiebot.is_empty(),
            self.cookiebot.iter().any(Result::is_err),
            "cookiebot",
            "cookiebot_unparseable",
        );
        cmp(
            !self.onetrust.is_empty(),
            self.onetrust.iter().any(Result::is_err),
            "onetrust",
            "onetrust_unparseable",
        );
        if self
            .cookiebot
            .iter()
            .any(|c| c.as_ref().is_ok_and(|c| c.out_of_region))
        {
            n.push("cookiebot_out_of_region");
        }
        if self.tcf.len() > 1
            || self.cookiebot.len() > 1
            || self.onetrust.len() > 1
            || self.cookie_overflow
        {
            n.push("duplicate_cookies");
        }
        if self.sdk.is_some() {
            n.push("sdk");
        }
        n.into_iter().map(String::from).collect()
    }
}

fn normalise_sdk(map: &serde_json::Map<String, serde_json::Value>) -> BTreeMap<String, String> {
    map.iter()
        .filter(|(k, _)| !k.is_empty() && k.len() <= 64)
        .filter_map(|(k, v)| {
            let v = match v {
                serde_json::Value::String(s) if s.len() <= 32 => s.trim().to_ascii_lowercase(),
                serde_json::Value::Bool(true) => "granted".into(),
                serde_json::Value::Bool(false) => "denied".into(),
                _ => return None,
            };
            Some((k.clone(), v))
        })
        .take(MAX_SDK_KEYS)
        .collect()
}

/// Every reason code a consent decision can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// veilgate's opt-out cookie is set (any mode).
    OptOutCookie,
    /// `Sec-GPC: 1` (opt-out and opt-in; none with `honor_gpc`).
    Gpc,
    /// TCF string present but a required purpose lacks consent.
    TcfPurposeDenied,
    /// TCF string present but the named vendor lacks consent or is restricted.
    TcfVendorDenied,
    /// A configured consent cookie could not be read (opt-in: no consent).
    ConsentUnparseable,
    /// Opt-in without any signal that could grant.
    NoConsentSignal,
    GrantedTcf,
    GrantedCookiebot,
    GrantedOnetrust,
    GrantedSdk,
    DeniedCookiebot,
    DeniedOnetrust,
    DeniedSdk,
    /// Mode `none`, not opted out.
    PolicyNone,
    /// Mode `opt-out`, not opted out.
    NotOptedOut,
}

impl Reason {
    pub const ALL: [Reason; 15] = [
        Reason::OptOutCookie,
        Reason::Gpc,
        Reason::TcfPurposeDenied,
        Reason::TcfVendorDenied,
        Reason::ConsentUnparseable,
        Reason::NoConsentSignal,
        Reason::GrantedTcf,
        Reason::GrantedCookiebot,
        Reason::GrantedOnetrust,
        Reason::GrantedSdk,
        Reason::DeniedCookiebot,
        Reason::DeniedOnetrust,
        Reason::DeniedSdk,
        Reason::PolicyNone,
        Reason::NotOptedOut,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::OptOutCookie => "opt_out_cookie",
            Reason::Gpc => "gpc",
            Reason::TcfPurposeDenied => "tcf_purpose_denied",
            Reason::TcfVendorDenied => "tcf_vendor_denied",
            Reason::ConsentUnparseable => "consent_unparseable",
            Reason::NoConsentSignal => "no_consent_signal",
            Reason::GrantedTcf => "granted_tcf",
            Reason::GrantedCookiebot => "granted_cookiebot",
            Reason::GrantedOnetrust => "granted_onetrust",
            Reason::GrantedSdk => "granted_sdk",
            Reason::DeniedCookiebot => "denied_cookiebot",
            Reason::DeniedOnetrust => "denied_onetrust",
            Reason::DeniedSdk => "denied_sdk",
            Reason::PolicyNone => "policy_none",
            Reason::NotOptedOut => "not_opted_out",
        }
    }

    /// Whether this reason means the beacon is stored.
    pub fn stores(self) -> bool {
        matches!(
            self,
            Reason::GrantedTcf
                | Reason::GrantedCookiebot
                | Reason::GrantedOnetrust
                | Reason::GrantedSdk
                | Reason::PolicyNone
                | Reason::NotOptedOut
        )
    }

    pub fn parse(s: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
    /// The policy's version label ([`ConsentPolicy::version_label`]), for the audit record.
    pub policy_version: String,
}

impl Decision {
    pub fn new(reason: Reason, signals: Vec<String>, policy_version: String) -> Decision {
        Decision {
            store: reason.stores(),
            reason: reason.as_str().to_string(),
            signals,
            policy_version,
        }
    }

    pub fn reason_code(&self) -> Option<Reason> {
        Reason::parse(&self.reason)
    }

    /// `"stored"` or `"dropped"`, as in audit records.
    pub fn outcome(&self) -> &'static str {
        if self.store {
            "stored"
        } else {
            "dropped"
        }
    }

    /// Whether an audit record is due when this decision follows `previous` within a session
    /// (first beacon, or anything that an auditor would want to see change).
    pub fn differs_from(&self, previous: Option<&Decision>) -> bool {
        previous != Some(self)
    }
}
