//! Server-side masking of recordings, applied before any byte is stored.
//!
//! Pure Rust, no worker types. The session Durable Object calls [`mask_events`] on every
//! chunk with the project's [`MaskPolicy`] and the session's [`MaskState`], then persists the
//! state (small, bounded) next to its other session facts. See docs/PRIVACY.md for what is
//! masked and why, docs/MOBILE.md for the mobile event format.
//!
//! Layout: `policy` (config + validation), `selector` (CSS subset, NFA matcher), `detect`
//! (PII detectors over text), `url` (URL scrubbing), `script` (live script neutralized),
//! `walk` (the event walk: shared node decision, web DOM, mobile wireframes), `plugins`
//! (network and console plugin events, passed to the walk), `state` (cross-chunk state).

pub mod detect;
pub mod plugins;
pub mod policy;
pub mod script;
pub mod selector;
pub mod state;
pub mod url;
mod walk;

use std::borrow::Cow;

use serde::Serialize;

use crate::json::Value;

pub use policy::{Action, MaskPolicy, PolicyError, Record, Rule};
pub use state::MaskState;

/// What one [`mask_events`] call did (for logs and metrics: counts only, no content).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MaskReport {
    /// Events visited.
    pub events: usize,
    /// Strings (text, values, attributes, URLs) that were changed.
    pub strings_masked: usize,
    /// Attributes and payloads removed (canvas data, data: images in masked areas, …).
    pub attributes_removed: usize,
    /// Elements turned into blocked placeholders.
    pub nodes_blocked: usize,
    /// Nodes removed from inside blocked elements.
    pub nodes_removed: usize,
    /// Mutation entries dropped because they target blocked content.
    pub entries_dropped: usize,
    /// The policy had an unusable mask/exclude rule: everything was masked (fail safe).
    pub strict: bool,
    /// The state hit its cap: unknown nodes are masked until the next full snapshot.
    pub state_overflow: bool,
}

/// Mask one chunk's events in place, before any byte is stored.
///
/// Never panics and never fails: on anything it cannot interpret it masks more, not less.
/// Event shapes decide web or mobile, not the beacon's platform (a mobile app may send web-view
/// rrweb events).
/// The events are a borrowed tree ([`crate::json`]): parse them with
/// [`crate::json::array_from_str`] after the depth prescan.
pub fn mask_events(
    events: &mut [Value<'_>],
    policy: &MaskPolicy,
    state: &mut MaskState,
) -> MaskReport {
    walk_chunk(events, None, policy, state)
}

/// [`mask_events`] for the chunk with `seq` (the session object's call): a chunk older than
/// the full snapshot the state describes is masked fail safe and leaves the state as it was
/// (see [`state`]).
pub fn mask_chunk(
    events: &mut [Value<'_>],
    seq: u32,
    policy: &MaskPolicy,
    state: &mut MaskState,
) -> MaskReport {
    if state.is_late(seq) {
        let mut late = state.for_late_chunk();
        return walk_chunk(events, Some(seq), policy, &mut late);
    }
    walk_chunk(events, Some(seq), policy, state)
}

fn walk_chunk(
    events: &mut [Value<'_>],
    seq: Option<u32>,
    policy: &MaskPolicy,
    state: &mut MaskState,
) -> MaskReport {
    let compiled = policy::Compiled::new(policy);
    let mut w = walk::Walker::new(&compiled, state, plugins::plugin);
    w.seq = seq;
    for ev in events.iter_mut() {
        w.event(ev);
    }
    let mut report = w.finish();
    report.strict = compiled.strict;
    report
}

/// [`mask_events`] for callers holding `serde_json` trees (tests, tools): the same walk,
/// through a JSON round trip.
pub fn mask_serde_events(
    events: &mut [serde_json::Value],
    policy: &MaskPolicy,
    state: &mut MaskState,
) -> MaskReport {
    mask_serde_chunk(events, None, policy, state)
}

/// [`mask_chunk`] (or, without a seq, [`mask_events`]) for `serde_json` trees.
pub fn mask_serde_chunk(
    events: &mut [serde_json::Value],
    seq: Option<u32>,
    policy: &MaskPolicy,
    state: &mut MaskState,
) -> MaskReport {
    let text = serde_json::to_string(&*events).unwrap_or_else(|_| "[]".into());
    let Ok(mut borrowed) = crate::json::array_from_str(&text) else {
        // Not reachable for trees serde_json wrote; fail safe all the same.
        events.iter_mut().for_each(|e| *e = serde_json::Value::Null);
        return MaskReport::default();
    };
    let report = match seq {
        Some(seq) => mask_chunk(&mut borrowed, seq, policy, state),
        None => mask_events(&mut borrowed, policy, state),
    };
    let mut masked = Vec::with_capacity(text.len());
    crate::json::write_array(&borrowed, &mut masked);
    let back: Vec<serde_json::Value> = serde_json::from_slice(&masked).unwrap_or_default();
    if back.len() != events.len() {
        events.iter_mut().for_each(|e| *e = serde_json::Value::Null);
        return report;
    }
    for (e, b) in events.iter_mut().zip(back) {
        *e = b;
    }
    report
}

/// Scrub a page/meta URL: query values outside the allowlist, sensitive keys, PII in path
/// and query (see [`url`]).
pub fn mask_url(url: &str, policy: &MaskPolicy) -> String {
    mask_url_cow(url, policy).into_owned()
}

/// [`mask_url`] without an allocation when nothing changes.
pub fn mask_url_cow<'a>(url: &'a str, policy: &MaskPolicy) -> Cow<'a, str> {
    let d = detect::Detect {
        emails: !policy.record.emails,
        ips: !policy.record.ips,
        numbers: !policy.record.numbers,
        entropy: true,
    };
    let rules =
        url::UrlRules::new(d, &policy.sensitive_keys).with_allow(&policy.url_query_allowlist);
    url::scrub_url(url, &rules)
}

/// Validate a project's `masking` config object (unknown fields, rule count, selector
/// syntax). For the glue to call when a project config is loaded or saved.
pub fn validate_policy(masking: &serde_json::Value) -> Result<MaskPolicy, Vec<PolicyError>> {
    MaskPolicy::from_json(masking)
}
