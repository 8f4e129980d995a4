//! The consent decision. Precedence, first match wins:
//!
//! 1. veilgate's opt-out cookie → drop `opt_out_cookie` (every mode).
//! 2. `Sec-GPC: 1` → drop `gpc` (opt-out, opt-in; none only with `honor_gpc`).
//! 3. mode `none` → store `policy_none`.
//! 4. mode `opt-out` → store `not_opted_out` (with `honor_cmp_refusal`: an explicit refusal
//!    in a configured CMP cookie, or in the SDK report where no such cookie is present,
//!    drops with that refusal's reason).
//! 5. mode `opt-in`:
//!    a. the configured CMP cookies that are present decide ("cookies win"). Every copy of
//!    every present configured cookie must grant: any refusal drops with its reason
//!    (`tcf_purpose_denied`, `tcf_vendor_denied`, `denied_cookiebot`, `denied_onetrust`);
//!    otherwise any unreadable copy drops with `consent_unparseable`; otherwise store with
//!    the first grant (`granted_tcf`, `granted_cookiebot`, `granted_onetrust`).
//!    b. only when no configured CMP cookie is present: the SDK's report (`sdk_keys`):
//!    all keys as required → `granted_sdk`; any key with another value → `denied_sdk`.
//!    c. otherwise drop `no_consent_signal`.
//!
//! A CMP cookie the policy does not configure (say, a Cookiebot cookie when the policy
//! names no Cookiebot category) cannot be interpreted and is ignored for the decision
//! (it is still named in `signals`).

use super::{ConsentMode, ConsentPolicy, Decision, Reason, Signals};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Granted(Reason),
    Denied(Reason),
    Unparseable,
}

/// Decide whether to store a beacon. Total: never fails, never panics.
pub fn decide(policy: &ConsentPolicy, signals: &Signals) -> Decision {
    let reason = decide_reason(policy, signals);
    Decision::new(reason, signals.names(), policy.version_label())
}

fn decide_reason(policy: &ConsentPolicy, signals: &Signals) -> Reason {
    if signals.opt_out_cookie {
        return Reason::OptOutCookie;
    }
    if signals.gpc && policy.gpc_drops() {
        return Reason::Gpc;
    }
    match policy.mode {
        ConsentMode::None => Reason::PolicyNone,
        ConsentMode::OptOut => {
            if policy.honor_cmp_refusal {
                if let Some(Verdict::Denied(r)) = cookie_or_sdk_verdict(policy, signals) {
                    return r;
                }
            }
            Reason::NotOptedOut
        }
        ConsentMode::OptIn => match cookie_or_sdk_verdict(policy, signals) {
            Some(Verdict::Granted(r)) | Some(Verdict::Denied(r)) => r,
            Some(Verdict::Unparseable) => Reason::ConsentUnparseable,
            None => Reason::NoConsentSignal,
        },
    }
}

fn cookie_or_sdk_verdict(policy: &ConsentPolicy, signals: &Signals) -> Option<Verdict> {
    let cookies = cookie_verdicts(policy, signals);
    if !cookies.is_empty() {
        return Some(combine(&cookies));
    }
    sdk_verdict(policy, signals)
}

/// One verdict per copy of each present, configured CMP cookie, in the order TCF,
/// Cookiebot, OneTrust.
fn cookie_verdicts(policy: &ConsentPolicy, signals: &Signals) -> Vec<Verdict> {
    let mut out = Vec::new();
    if policy.uses_tcf() {
        for copy in &signals.tcf {
            out.push(match copy {
                Err(_) => Verdict::Unparseable,
                Ok(tc) => tcf_verdict(policy, tc),
            });
        }
    }
    if policy.uses_cookiebot() {
        for copy in &signals.cookiebot {
            out.push(match copy {
                Err(_) => Verdict::Unparseable,
                Ok(cb) => {
                    let region_ok = !cb.out_of_region || policy.cookiebot_out_of_region_grants;
                    let all = policy
                        .cookiebot
                        .iter()
                        .all(|c| cb.category(c) == Some(true));
                    if region_ok && all {
                        Verdict::Granted(Reason::GrantedCookiebot)
                    } else {
                        Verdict::Denied(Reason::DeniedCookiebot)
                    }
                }
            });
        }
    }
    if policy.uses_onetrust() {
        for copy in &signals.onetrust {
            out.push(match copy {
                Err(_) => Verdict::Unparseable,
                Ok(ot) => {
                    if policy
                        .onetrust_groups
                        .iter()
                        .all(|g| ot.group(g) == Some(true))
                    {
                        Verdict::Granted(Reason::GrantedOnetrust)
                    } else {
                        Verdict::Denied(Reason::DeniedOnetrust)
                    }
                }
            });
        }
    }
    // More copies of a configured cookie than were read: the unread ones could refuse.
    if signals.cookie_overflow && !out.is_empty() {
        out.push(Verdict::Unparseable);
    }
    out
}

fn tcf_verdict(policy: &ConsentPolicy, tc: &super::TcString) -> Verdict {
    if !policy.tcf_purposes.iter().all(|&p| tc.purpose_consent(p)) {
        return Verdict::Denied(Reason::TcfPurposeDenied);
    }
    if let Some(v) = policy.tcf_vendor {
        // Vendor legitimate interest is not consent: only the vendor consent bit counts.
        let consented = tc.vendor_consents.contains(v);
        let restricted = policy
            .tcf_purposes
            .iter()
            .any(|&p| tc.vendor_purpose_not_allowed(v, p));
        if !consented || restricted {
            return Verdict::Denied(Reason::TcfVendorDenied);
        }
    }
    Verdict::Granted(Reason::GrantedTcf)
}

fn combine(verdicts: &[Verdict]) -> Verdict {
    if let Some(d) = verdicts.iter().find(|v| matches!(v, Verdict::Denied(_))) {
        return *d;
    }
    if verdicts.contains(&Verdict::Unparseable) {
        return Verdict::Unparseable;
    }
    verdicts.first().copied().unwrap_or(Verdict::Unparseable)
}

fn sdk_verdict(policy: &ConsentPolicy, signals: &Signals) -> Option<Verdict> {
    if !policy.uses_sdk() {
        return None;
    }
    let sdk = signals.sdk.as_ref()?;
    let mut all = true;
    for (key, want) in &policy.sdk_keys {
        match sdk.get(key) {
            Some(got) if got.eq_ignore_ascii_case(want.trim()) => {}
            Some(_) => return Some(Verdict::Denied(Reason::DeniedSdk)),
            None => all = false,
        }
    }
    all.then_some(Verdict::Granted(Reason::GrantedSdk))
}
