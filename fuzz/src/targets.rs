//! The target bodies. Each is `pub fn(&[u8])` and panics on a finding.

use std::collections::BTreeMap;

use arbitrary::{Arbitrary, Unstructured};
use serde_json::value::RawValue;
use serde_json::Value;

use veilgate::audit::{self, AuditRecord, ChainHead, Draft, Kind, Outcome};
use veilgate::consent::cookies::{self, ConsentCookies, MAX_COPIES};
use veilgate::consent::{
    self, tcf, ConsentMode, ConsentPolicy, CookiebotConsent, OneTrustConsent, Reason, Signals,
    MAX_SDK_KEYS,
};
use veilgate::envelope::{self, Encoding, Envelope, Limits, Platform};
use veilgate::privacy::{self, MaskPolicy, MaskState};

use veilgate::project::{self, Project};
use veilgate::routes::{self, Route};
use veilgate::session;
use veilgate::storage;

use crate::envelope_common::{parse_head_then_heads, SMALL};
use crate::rrweb;
use crate::util::{check_api_error, check_client_error, gzip as gzip_bytes, parts};

// ---------------------------------------------------------------------------------------
// Envelope: identity and gzip bodies, caps, prescan, parse
// ---------------------------------------------------------------------------------------

/// The body as sent (identity) under the default and small limits, then gzipped by the
/// harness so that every input also takes the inflate path: the round trip must give the
/// body back, or refuse it for its size only.
pub fn envelope(data: &[u8]) {
    for limits in [Limits::default(), SMALL] {
        ingest_body(data, Encoding::Identity, &limits);
    }
    let gz = gzip_bytes(data);
    for limits in [Limits::default(), SMALL] {
        match envelope::decode_body(&gz, Encoding::Gzip, &limits) {
            Ok(out) => {
                assert_eq!(&*out, data, "gzip round trip changed the body");
                assert!(out.len() <= limits.max_decompressed_bytes);
            }
            Err(e) => {
                check_client_error(&e, &["body_too_large", "decompressed_too_large"]);
                match e.code {
                    "body_too_large" => assert!(gz.len() > limits.max_body_bytes),
                    _ => assert!(data.len() > envelope::inflation_cap(gz.len(), &limits)),
                }
            }
        }
    }
}

/// What the edge does with a body: decode with caps, prescan, parse; check what comes out.
fn ingest_body(body: &[u8], encoding: Encoding, limits: &Limits) {
    let json = match envelope::decode_body(body, encoding, limits) {
        Ok(json) => json,
        Err(e) => {
            check_client_error(
                &e,
                &["body_too_large", "decompressed_too_large", "invalid_gzip"],
            );
            if e.code == "body_too_large" {
                assert!(body.len() > limits.max_body_bytes);
            }
            return;
        }
    };
    assert!(json.len() <= limits.max_decompressed_bytes.max(limits.max_body_bytes));
    if encoding == Encoding::Identity {
        assert_eq!(json, body, "identity decoding changed the body");
    } else {
        assert!(
            json.len() <= limits.max_decompressed_bytes,
            "inflated past the cap"
        );
    }
    let pre = envelope::prescan(&json, limits);
    // `parse_body`, the one parse every refusal comes from, is both steps: the same envelope,
    // events and span, or the same refusal, message included.
    let two_steps = pre.clone().and_then(|()| Envelope::parse(&json, limits));
    assert_eq!(
        format!("{:?}", envelope::parse_body(&json, limits)),
        format!("{two_steps:?}"),
        "parse_body disagrees with prescan + Envelope::parse"
    );
    // The edge splits them: the worker's parse_head, the session object's event check.
    assert_eq!(
        format!("{:?}", parse_head_then_heads(&json, limits)),
        format!("{two_steps:?}"),
        "parse_head + parse_events disagree with prescan + Envelope::parse"
    );
    if let Err(e) = pre {
        // malformed_json: a lone surrogate escape or a number beyond f64 (F1, fixed).
        check_client_error(&e, &["too_deep", "string_too_long", "malformed_json"]);
        return;
    }
    match Envelope::parse(&json, limits) {
        Ok((env, span)) => {
            assert!(
                envelope::is_valid_id(&env.session),
                "accepted session id {:?}",
                env.session
            );
            assert!(
                envelope::is_valid_id(&env.visitor),
                "accepted visitor id {:?}",
                env.visitor
            );
            assert!(env.seq <= envelope::MAX_SEQ);
            if let Some(page) = &env.page {
                assert!(page.len() <= envelope::MAX_URL_BYTES);
            }
            assert!(span.count >= 1 && span.count <= limits.max_events);
            assert!(span.first_ts.is_finite() && span.last_ts.is_finite());
            assert!(0.0 <= span.first_ts && span.first_ts <= span.last_ts);
            // The raw events are an array of exactly `count` values, and parse as trees (what
            // the session object does next).
            let raw: Vec<&RawValue> = envelope::from_slice_prescanned(env.events.get().as_bytes())
                .expect("events re-parse");
            assert_eq!(raw.len(), span.count);
            // F1 (fixed on main): what Envelope::parse accepts, the session object can parse
            // into trees. fuzz/regressions/envelope/, tests/fuzz/regressions.rs.
            let mut events = match veilgate::json::array_from_str(env.events.get()) {
                Ok(events) => events,
                Err(e) => panic!("events accepted by Envelope::parse do not parse as trees: {e}"),
            };
            // The masking walk runs on every accepted beacon, on the tree the session object
            // builds.
            let mut state = MaskState::default();
            privacy::mask_events(&mut events, &MaskPolicy::default(), &mut state);
            if let Some(page) = &env.page {
                let _ = privacy::mask_url(page, &MaskPolicy::default());
            }
            // Consent from the SDK map, with no cookie.
            let signals = Signals::from_request(None, None, env.consent.as_ref());
            let _ = consent::decide(&ConsentPolicy::default(), &signals);
        }
        Err(e) => check_client_error(
            &e,
            &[
                "invalid_utf8",
                "malformed_json",
                "invalid_id",
                "invalid_seq",
                "invalid_page",
                "invalid_events",
                "too_many_events",
            ],
        ),
    }
}

/// Arbitrary bytes as a gzip body under several caps: never more than the cap comes out, and
/// a smaller cap never accepts what a larger one refused.
pub fn gzip(data: &[u8]) {
    let caps = [64usize, 4096, Limits::default().max_decompressed_bytes];
    let mut results = Vec::new();
    for cap in caps {
        let limits = Limits {
            max_decompressed_bytes: cap,
            ..Limits::default()
        };
        let r = envelope::decode_body(data, Encoding::Gzip, &limits);
        match &r {
            Ok(out) => assert!(
                out.len() <= cap,
                "inflated {} bytes past the cap {cap}",
                out.len()
            ),
            Err(e) => check_client_error(
                e,
                &["body_too_large", "invalid_gzip", "decompressed_too_large"],
            ),
        }
        results.push(r);
    }
    // If the largest cap accepted a body that fits a smaller cap, the smaller accepts it too.
    if let Ok(big) = &results[2] {
        for (i, cap) in caps.iter().enumerate().take(2) {
            if big.len() <= *cap {
                assert_eq!(
                    results[i].as_ref().ok(),
                    Some(big),
                    "cap {cap} refused a body that fits"
                );
            }
        }
        ingest_body(data, Encoding::Gzip, &Limits::default());
    }
}

// ---------------------------------------------------------------------------------------
// Consent: Cookie header, Sec-GPC, SDK map; TCF; CMP cookies; the decision
// ---------------------------------------------------------------------------------------

const SIGNAL_NAMES: &[&str] = &[
    "opt_out_cookie",
    "gpc",
    "tcf",
    "tcf_unparseable",
    "cookiebot",
    "cookiebot_unparseable",
    "onetrust",
    "onetrust_unparseable",
    "cookiebot_out_of_region",
    "duplicate_cookies",
    "sdk",
];

fn sdk_map(text: Option<&str>) -> Option<serde_json::Map<String, Value>> {
    text.and_then(|t| serde_json::from_str(t).ok())
}

/// Parts: Cookie header, Sec-GPC header, SDK `consent` object (JSON).
pub fn cookies(data: &[u8]) {
    let p = parts(data, 3);
    let cookie = p[0].as_deref();
    let gpc = p[1].as_deref();
    let sdk = sdk_map(p[2].as_deref());

    if let Some(header) = cookie {
        for pair in cookies::pairs(header) {
            assert!(!pair.name.is_empty());
            assert!(
                !pair.value.bytes().any(|b| b < 0x20 || b == 0x7f),
                "control byte in a cookie value"
            );
        }
        let c = ConsentCookies::parse(header);
        for v in [&c.tcf, &c.cookiebot, &c.onetrust] {
            assert!(v.len() <= MAX_COPIES);
            for value in v.iter() {
                assert!(
                    !value.bytes().any(|b| b < 0x20 || b == 0x7f),
                    "control byte in a kept value"
                );
            }
        }
        assert!(!c.opted_out || c.opt_out_present);
        assert!(!c.overflow || c.duplicates);
        for plus in [false, true] {
            let d = cookies::percent_decode(header, plus);
            assert!(
                d.len() <= header.len(),
                "percent_decode lengthened its input"
            );
        }
    }
    let s = Signals::from_request(cookie, gpc, sdk.as_ref());
    if let Some(m) = &s.sdk {
        assert!(m.len() <= MAX_SDK_KEYS);
    }
    check_signals(&s);
    for policy in [
        ConsentPolicy::default(),
        ConsentPolicy::with_mode(ConsentMode::None),
        ConsentPolicy::with_mode(ConsentMode::OptOut),
        ConsentPolicy {
            honor_cmp_refusal: true,
            ..ConsentPolicy::with_mode(ConsentMode::OptOut)
        },
        ConsentPolicy {
            tcf_vendor: Some(755),
            tcf_purposes: vec![1, 7],
            ..ConsentPolicy::default()
        },
    ] {
        check_decision(&policy, &s);
    }
}

fn check_signals(s: &Signals) {
    let names = s.names();
    for n in &names {
        assert!(
            SIGNAL_NAMES.contains(&n.as_str()),
            "signal name {n:?} is not a known name"
        );
    }
    let mut sorted = names.clone();
    sorted.dedup();
    assert_eq!(
        sorted.len(),
        names.len(),
        "duplicate signal names {names:?}"
    );
}

/// The decision's precedence rules that hold for every policy and every input.
fn check_decision(policy: &ConsentPolicy, s: &Signals) {
    let d = consent::decide(policy, s);
    let reason = Reason::parse(&d.reason).expect("decision reason is a known code");
    assert_eq!(d.store, reason.stores());
    assert_eq!(d, consent::decide(policy, s), "decide is not deterministic");
    assert_eq!(d.signals, s.names());
    assert!(!d.policy_version.is_empty() && d.policy_version.chars().count() <= 64 + 7);
    if s.opt_out_cookie {
        assert_eq!(reason, Reason::OptOutCookie, "opt-out cookie did not win");
    }
    if s.gpc && policy.gpc_drops() {
        assert!(!d.store, "GPC did not drop under {:?}", policy.mode);
    }
    match policy.mode {
        ConsentMode::None if !(s.opt_out_cookie || s.gpc && policy.honor_gpc) => {
            assert_eq!(reason, Reason::PolicyNone);
        }
        ConsentMode::OptIn if d.store => {
            // Opt-in stores only on a positive grant.
            assert!(
                matches!(
                    reason,
                    Reason::GrantedTcf
                        | Reason::GrantedCookiebot
                        | Reason::GrantedOnetrust
                        | Reason::GrantedSdk
                ),
                "opt-in stored with {reason:?}"
            );
        }
        _ => {}
    }
    // A grant by a cookie means every copy of that cookie parsed.
    match reason {
        Reason::GrantedTcf => assert!(!s.tcf.is_empty() && s.tcf.iter().all(Result::is_ok)),
        Reason::GrantedCookiebot => {
            assert!(!s.cookiebot.is_empty() && s.cookiebot.iter().all(Result::is_ok))
        }
        Reason::GrantedOnetrust => {
            assert!(!s.onetrust.is_empty() && s.onetrust.iter().all(Result::is_ok))
        }
        Reason::GrantedSdk => assert!(s.sdk.is_some()),
        _ => {}
    }
}

/// A TC string as text.
pub fn tcf(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    check_tc(s);
}

fn check_tc(s: &str) {
    let r = tcf::decode(s);
    assert_eq!(r, tcf::decode(s), "decode is not deterministic");
    assert_eq!(r, consent::TcString::decode(s));
    let Ok(tc) = r else {
        let _ = r.map_err(|e| e.to_string());
        return;
    };
    assert!(s.trim().len() <= tcf::MAX_TC_STRING_LEN);
    for code in [&tc.consent_language, &tc.publisher_cc] {
        assert!(
            code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()),
            "bad letters {code:?}"
        );
    }
    assert!(tc.purposes_consent < 1 << 24 && tc.purposes_li_transparency < 1 << 24);
    assert!(tc.special_feature_opt_ins < 1 << 12);
    for p in 0..=30u8 {
        assert_eq!(
            tc.purpose_consent(p),
            tc.purposes_consent_ids().contains(&p)
        );
        let _ = (tc.purpose_li(p), tc.special_feature_opt_in(p));
    }
    let mut sets = vec![&tc.vendor_consents, &tc.vendor_legitimate_interests];
    sets.extend(tc.disclosed_vendors.as_ref());
    for set in sets {
        let ranges = set.ranges();
        for &(a, b) in ranges {
            assert!(a >= 1 && a <= b, "bad range {a}..={b}");
            assert!(b <= set.max_vendor_id, "range past MaxVendorId");
        }
        for w in ranges.windows(2) {
            assert!(
                u32::from(w[1].0) > u32::from(w[0].1) + 1,
                "ranges not sorted and merged: {ranges:?}"
            );
        }
        assert_eq!(set.len(), set.ids().count());
        assert_eq!(set.is_empty(), set.ids().next().is_none());
        for &(a, b) in ranges.iter().take(8) {
            assert!(set.contains(a) && set.contains(b));
            assert!(
                b == u16::MAX || !set.contains(b + 1),
                "contains past a range end"
            );
            assert!(!set.contains(a - 1), "contains before a range start");
        }
        assert!(!set.contains(0));
        assert!(
            !set.contains(set.max_vendor_id.saturating_add(1)) || set.max_vendor_id == u16::MAX
        );
    }
    for r in &tc.publisher_restrictions {
        for &(a, b) in &r.vendors {
            assert!(a <= b);
            assert!(r.applies_to(a) && r.applies_to(b));
        }
        let _ = tc.vendor_purpose_not_allowed(r.vendors.first().map_or(1, |v| v.0), r.purpose_id);
    }
    // Serialises (the audit and debugging paths do).
    serde_json::to_string(&tc).expect("TcString serialises");
}

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn b64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + 3);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(B64URL[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// Raw bits of a TC string: each `0xFF`-separated part of the input is base64url-encoded as
/// one segment, so every input is a syntactically valid string and the fuzzer works on the
/// fields themselves. A first byte of `0x08` (version 2 in the top 6 bits) is forced for the
/// core segment when the input starts with `0xFE`.
pub fn tcf_bits(data: &[u8]) {
    let (force_v2, data) = match data.split_first() {
        Some((0xFE, rest)) => (true, rest),
        _ => (false, data),
    };
    let mut segs: Vec<String> = Vec::new();
    for (i, part) in data.split(|&b| b == crate::util::SEP).take(9).enumerate() {
        if i == 0 && force_v2 && !part.is_empty() {
            let mut p = part.to_vec();
            p[0] = (p[0] & 0x03) | (2 << 2);
            segs.push(b64url(&p));
        } else {
            segs.push(b64url(part));
        }
    }
    check_tc(&segs.join("."));
}

/// A CMP cookie value: Cookiebot and OneTrust parsers, raw and as a cookie header.
pub fn cmp(data: &[u8]) {
    let v = String::from_utf8_lossy(data);
    let cb = CookiebotConsent::parse(&v);
    assert_eq!(cb, CookiebotConsent::parse(&v));
    match &cb {
        Ok(c) => {
            assert!(v.trim().len() <= consent::cmp::MAX_CMP_COOKIE_LEN);
            for name in consent::cmp::COOKIEBOT_CATEGORIES {
                assert!(c.category(name).is_some());
            }
            assert!(c.category("bogus").is_none());
            assert!(c.method.as_ref().is_none_or(|m| m.chars().count() <= 32));
            assert!(c.region.as_ref().is_none_or(|m| m.chars().count() <= 16));
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    let ot = OneTrustConsent::parse(&v);
    assert_eq!(ot, OneTrustConsent::parse(&v));
    match &ot {
        Ok(o) => {
            assert!(v.trim().len() <= consent::cmp::MAX_CMP_COOKIE_LEN);
            assert!(
                o.groups.len() <= 64,
                "{} OneTrust groups kept",
                o.groups.len()
            );
            for (g, on) in o.groups.iter().take(4) {
                assert!(o.group(g).is_some());
                let _ = on;
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    for plus in [false, true] {
        assert!(cookies::percent_decode(&v, plus).len() <= v.len());
    }
    // The same value as the cookies a browser would send.
    let header = format!("CookieConsent={v}; OptanonConsent={v}");
    let s = Signals::from_request(Some(&header), None, None);
    check_signals(&s);
    check_decision(
        &ConsentPolicy {
            cookiebot_out_of_region_grants: true,
            ..ConsentPolicy::default()
        },
        &s,
    );
}

#[derive(Arbitrary, Debug)]
struct PolicyInput {
    mode: u8,
    tcf_purposes: Vec<u8>,
    tcf_vendor: Option<u16>,
    cookiebot: Vec<u8>,
    cookiebot_out_of_region_grants: bool,
    onetrust_groups: Vec<String>,
    sdk_keys: Vec<(String, String)>,
    honor_gpc: bool,
    honor_cmp_refusal: bool,
    version: Option<String>,
}

impl PolicyInput {
    fn policy(self) -> ConsentPolicy {
        ConsentPolicy {
            mode: [ConsentMode::None, ConsentMode::OptOut, ConsentMode::OptIn]
                [usize::from(self.mode % 3)],
            tcf_purposes: self.tcf_purposes.into_iter().take(30).collect(),
            tcf_vendor: self.tcf_vendor,
            cookiebot: self
                .cookiebot
                .into_iter()
                .take(6)
                .map(|i| {
                    [
                        "necessary",
                        "preferences",
                        "statistics",
                        "marketing",
                        "bogus",
                    ][usize::from(i % 5)]
                    .to_string()
                })
                .collect(),
            cookiebot_out_of_region_grants: self.cookiebot_out_of_region_grants,
            onetrust_groups: self.onetrust_groups.into_iter().take(8).collect(),
            sdk_keys: self
                .sdk_keys
                .into_iter()
                .take(8)
                .collect::<BTreeMap<_, _>>(),
            honor_gpc: self.honor_gpc,
            honor_cmp_refusal: self.honor_cmp_refusal,
            version: self.version,
        }
    }
}

/// Parts: policy JSON, Cookie header, Sec-GPC, SDK map JSON. A policy that is not valid JSON
/// is built from the part's bytes by `arbitrary` instead, so every input decides something.
pub fn decide(data: &[u8]) {
    let p = parts(data, 4);
    let policy_text = p[0].as_deref().unwrap_or("");
    let policy = match serde_json::from_str::<ConsentPolicy>(policy_text) {
        Ok(policy) => {
            // The policy round-trips through its JSON form (the version label hashes it).
            let again: ConsentPolicy =
                serde_json::from_str(&serde_json::to_string(&policy).expect("policy serialises"))
                    .expect("serialised policy parses");
            assert_eq!(again, policy);
            policy
        }
        Err(_) => {
            let mut u = Unstructured::new(policy_text.as_bytes());
            match PolicyInput::arbitrary(&mut u) {
                Ok(i) => i.policy(),
                Err(_) => ConsentPolicy::default(),
            }
        }
    };
    let _ = policy.validate();
    let _ = (policy.version_label(), policy.uses_tcf(), policy.uses_sdk());
    let s = Signals::from_request(
        p[1].as_deref(),
        p[2].as_deref(),
        sdk_map(p[3].as_deref()).as_ref(),
    );
    check_signals(&s);
    check_decision(&policy, &s);
}

// ---------------------------------------------------------------------------------------
// Project config, routes, headers
// ---------------------------------------------------------------------------------------

/// Parts: project JSON, an Origin, a presented token.
pub fn project(data: &[u8]) {
    let p = parts(data, 3);
    let json = p[0].as_deref().unwrap_or("");
    let origin = p[1].as_deref();
    let token = p[2].as_deref().unwrap_or("");
    if let Some(o) = origin {
        // `*` matches everything; an exact pattern matches itself.
        assert!(project::origin_matches("*", o));
        assert!(project::origin_matches(o, o) || o.ends_with(":*") || o.ends_with('/'));
        let _ = project::origin_matches(o, json);
    }
    let _ = project::token_matches(token, json);
    let _ = project::bearer(Some(token));
    match Project::from_json(json) {
        Ok(pr) => {
            assert!((1..=project::MAX_RETENTION_DAYS).contains(&pr.retention_days));
            let _ = pr.check_enabled();
            for platform in [Platform::Web, Platform::Ios, Platform::Android] {
                if let Err(e) = pr.check_platform(platform) {
                    check_api_error(&e);
                }
            }
            let allowed = origin.is_some_and(|o| pr.origin_allowed(o));
            match pr.check_origin(origin) {
                Ok(()) => assert!(origin.is_none() || allowed),
                Err(e) => {
                    assert!(!allowed);
                    check_client_error(&e, &["origin_not_allowed"]);
                }
            }
            // The stored hash of the token grants, nothing else does (with no rotated token
            // list beside it, which grants by its own entries and expiries).
            let now = 0;
            if pr.read_tokens.is_empty() {
                let h = project::sha256_hex(token.as_bytes());
                assert_eq!(
                    pr.read_token_ok(token, now),
                    !pr.read_token_sha256.is_empty()
                        && h.eq_ignore_ascii_case(&pr.read_token_sha256),
                    "the read hash alone decides"
                );
            }
            let _ = pr.audit_token_ok(token, now);
            // The masking policy and limits of a valid project are usable.
            let _ = privacy::mask_url(
                origin.unwrap_or("https://x.example/?email=a@b.c"),
                &pr.masking,
            );
            let _ = pr.consent.validate();
            let s = Signals::from_request(Some(token), None, None);
            check_decision(&pr.consent, &s);
            // A config round-trips through its own JSON.
            let again = serde_json::to_string(&pr).expect("project serialises");
            let back = Project::from_json(&again).expect("a serialised project parses");
            assert_eq!(serde_json::to_string(&back).unwrap(), again);
        }
        Err(e) => assert!(!e.is_empty()),
    }
}

/// Parts: method, path.
pub fn routes(data: &[u8]) {
    let p = parts(data, 2);
    let (method, path) = match (&p[0], &p[1]) {
        (Some(m), Some(path)) => (m.as_ref(), path.as_ref()),
        (Some(path), None) => ("GET", path.as_ref()),
        _ => return,
    };
    match routes::route(method, path) {
        Ok(r) => {
            let key_ok = |k: &str| assert!(veilgate::ids::is_valid_key(k), "routed to key {k:?}");
            let id_ok = |s: &str| assert!(envelope::is_valid_id(s), "routed to id {s:?}");
            match &r {
                Route::Health
                | Route::OptOut
                | Route::OptIn
                | Route::OptInPage
                | Route::SdkAsset { .. }
                | Route::AdminList => {}
                Route::Ingest { key }
                | Route::IngestPreflight { key }
                | Route::ListSessions { key }
                | Route::AnalyticsSummary { key }
                | Route::SdkConfig { key }
                | Route::AdminProject { key }
                | Route::AdminRotate { key, .. } => key_ok(key),
                Route::Audit { key } | Route::AuditVerify { key } | Route::AuditReport { key } => {
                    key_ok(key)
                }
                Route::AuditVerifyJob { key, job } => {
                    key_ok(key);
                    assert!(job.len() == 32 && job.bytes().all(|b| b.is_ascii_hexdigit()));
                }
                Route::Manifest { key, session }
                | Route::Events { key, session }
                | Route::DeleteSession { key, session } => {
                    key_ok(key);
                    id_ok(session);
                    assert!(storage::session_prefix(key, session).starts_with("sessions/"));
                }
                Route::Chunk { key, session, seq } => {
                    key_ok(key);
                    id_ok(session);
                    let k = storage::chunk_key(key, session, *seq);
                    assert!(!k.contains(".."));
                }
                Route::DeleteVisitor { key, visitor } | Route::VisitorErasure { key, visitor } => {
                    key_ok(key);
                    id_ok(visitor);
                }
            }
        }
        Err(e) => {
            check_api_error(&e);
            assert!(
                [401, 404, 405].contains(&e.status),
                "route answered {}",
                e.status
            );
        }
    }
}

/// Parts: User-Agent, Content-Encoding, `?enc=`, Content-Type, Authorization.
pub fn headers(data: &[u8]) {
    let p = parts(data, 5);
    let ua = p[0].as_deref().unwrap_or("");
    let d = session::device_from_user_agent(ua);
    // Only fixed words are kept, never the user agent itself.
    for word in [&d.browser, &d.os, &d.class] {
        assert!(
            word.len() <= 16 && word.bytes().all(|b| b.is_ascii_lowercase()),
            "device word {word:?}"
        );
    }
    match envelope::Encoding::from_request(p[1].as_deref(), p[2].as_deref()) {
        Ok(_) => {}
        Err(e) => check_client_error(&e, &["unsupported_encoding"]),
    }
    if let Err(e) = envelope::check_content_type(p[3].as_deref()) {
        check_client_error(&e, &["unsupported_media_type"]);
    }
    if let Some(t) = project::bearer(p[4].as_deref()) {
        assert!(p[4].as_deref().is_some_and(|h| h.contains(t)));
    }
}

// ---------------------------------------------------------------------------------------
// Audit
// ---------------------------------------------------------------------------------------

/// NDJSON text, one record per line; each line alone; keys and days.
pub fn audit_parse(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match audit::parse_ndjson(&text) {
        Ok(records) => {
            for r in &records {
                // The stored form round-trips, and hashing never panics.
                let back = AuditRecord::from_json(&r.to_json()).expect("to_json output parses");
                assert_eq!(&back, r);
                let _ = (r.compute_hash(), r.day());
            }
            let nd = audit::to_ndjson(&records);
            assert_eq!(
                audit::parse_ndjson(&nd).expect("to_ndjson output parses"),
                records
            );
            let report = audit::daily_report(&records);
            serde_json::to_string(&report).expect("report serialises");
            assert_eq!(
                audit::in_range(&records, 0, u64::MAX).len()
                    + records.iter().filter(|r| r.at == u64::MAX).count(),
                records.len()
            );
            // Verify them as one chain (whatever they are).
            if let Some(first) = records.first() {
                let objects: Vec<(String, String)> = records
                    .iter()
                    .map(|r| {
                        (
                            audit::record_key(&r.project, &r.day(), &r.session, r.seq),
                            r.to_json(),
                        )
                    })
                    .collect();
                let rep = audit::verify_chain(&first.project, &first.session, &objects);
                serde_json::to_string(&rep).expect("chain report serialises");
            }
        }
        Err(e) => assert!(e.line >= 1),
    }
    for line in text.lines().take(16) {
        let _ = AuditRecord::from_json(line);
        if let Some(k) = audit::parse_key(line.trim()) {
            assert!(line.contains(&k.project));
        }
        if let Some(days) = audit::parse_day(line.trim()) {
            assert_eq!(
                audit::day_from_millis(days * 86_400_000),
                line.trim(),
                "parse_day round trip"
            );
        }
    }
}

#[derive(Arbitrary, Debug)]
struct DraftInput {
    kind: u8,
    at_offset: u32,
    visitor: Option<u16>,
    reason: u8,
    signals: Vec<u8>,
    beacon_seq: Option<u32>,
    text: String,
}

#[derive(Arbitrary, Debug)]
enum Tamper {
    None,
    DeleteRecord(u8),
    SwapBodies(u8, u8),
    FlipByte(u8, u16),
    AppendRecord(Vec<u8>),
    DropTail,
    RandomObjects(Vec<(String, String)>),
}

const ID_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789_-";

fn id_from(u: &mut Unstructured<'_>, min: usize) -> arbitrary::Result<String> {
    let len = min + usize::from(u.arbitrary::<u8>()? % 24);
    (0..len)
        .map(|_| {
            Ok(char::from(
                ID_ALPHABET[usize::from(u.arbitrary::<u8>()?) % ID_ALPHABET.len()],
            ))
        })
        .collect()
}

/// A session chain built with `ChainHead::next` from arbitrary drafts verifies; a tampered
/// copy fails where the tamper is, never panics; arbitrary objects never panic the verifier.
pub fn audit_chain(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(project) = id_from(&mut u, 1) else {
        return;
    };
    let Ok(anchor) = u.arbitrary::<bool>() else {
        return;
    };
    let shard = u.arbitrary::<u32>().unwrap_or(0) % audit::ANCHOR_SHARDS;
    let chain = if anchor {
        audit::anchor_chain_id(shard)
    } else {
        match id_from(&mut u, 8) {
            Ok(c) => c,
            Err(_) => return,
        }
    };
    // Realistic times: 1970 .. 2200 (keys carry a four-digit year).
    let base: u64 = u
        .int_in_range(0..=7_258_118_400_000u64)
        .unwrap_or(1_700_000_000_000);
    let drafts: Vec<DraftInput> = u
        .arbitrary_iter()
        .map(|it| it.into_iter().take(24).filter_map(Result::ok).collect())
        .unwrap_or_default();
    let tamper: Tamper = u.arbitrary().unwrap_or(Tamper::None);

    // The chain's kind is set by its creator, never read from its name.
    let mut head = if anchor {
        ChainHead::new_anchor(&project, shard)
    } else {
        ChainHead::new(&project, &chain)
    };
    let mut objects: Vec<(String, String)> = Vec::new();
    let mut records: Vec<AuditRecord> = Vec::new();
    for d in drafts {
        let at = base + u64::from(d.at_offset);
        let draft = match d.kind % 4 {
            0 => {
                let reason = Reason::ALL[usize::from(d.reason) % Reason::ALL.len()];
                let signals: Vec<String> = d
                    .signals
                    .iter()
                    .take(6)
                    .map(|&i| SIGNAL_NAMES[usize::from(i) % SIGNAL_NAMES.len()].to_string())
                    .collect();
                let decision = consent::Decision::new(reason, signals, d.text.clone());
                let visitor = d
                    .visitor
                    .map(|v| audit::visitor_pseudonym(b"k", &project, &v.to_string()));
                Draft::decision(
                    &project,
                    &chain,
                    visitor.as_deref(),
                    at,
                    &decision,
                    d.beacon_seq.map(u64::from),
                )
            }
            1 => Draft::erasure(&project, &chain, None, at, &d.text),
            2 => Draft::finalize(&project, &chain, at, &d.text),
            _ => Draft::anchor(
                &project,
                u32::from(d.reason) % audit::ANCHOR_SHARDS,
                at,
                head.anchor_ref(),
            ),
        };
        let (rec, next) = head.next(draft);
        assert_eq!(rec.seq, head.count);
        assert_eq!(rec.prev, head.head);
        assert_eq!(rec.hash, rec.compute_hash());
        let key = head.key_for(&rec, &next);
        let parsed = audit::parse_key(&key).expect("key_for makes a parseable key");
        assert_eq!(
            (parsed.project.as_str(), parsed.chain.as_str(), parsed.n),
            (project.as_str(), chain.as_str(), rec.seq)
        );
        objects.push((key, rec.to_json()));
        records.push(rec);
        head = next;
    }
    let report = audit::verify_chain(&project, &chain, &objects);
    assert!(
        report.ok,
        "a chain built by ChainHead::next does not verify: {:?}",
        report.first_broken
    );
    assert_eq!(report.records, head.count);
    assert_eq!(report.head, head.head);
    assert_eq!(audit::check_against(&report, head.count, &head.head), None);
    let n = objects.len();

    let mut tampered = objects.clone();
    let expect_broken = match tamper {
        Tamper::None => false,
        Tamper::DeleteRecord(i) if n > 1 => {
            let i = usize::from(i) % (n - 1); // not the last: that is a truncation
            tampered.remove(i);
            true
        }
        Tamper::SwapBodies(a, b) if n > 1 => {
            let (a, b) = (usize::from(a) % n, usize::from(b) % n);
            if a != b {
                let body_a = tampered[a].1.clone();
                tampered[a].1 = std::mem::replace(&mut tampered[b].1, body_a);
            }
            a != b
        }
        Tamper::FlipByte(i, pos) if n > 0 => {
            let i = usize::from(i) % n;
            let mut bytes = tampered[i].1.clone().into_bytes();
            let pos = usize::from(pos) % bytes.len();
            bytes[pos] ^= 0x01;
            tampered[i].1 = String::from_utf8_lossy(&bytes).into_owned();
            // A flip may only touch insignificant text (it cannot: the stored form is
            // compact and every byte is significant), so it must break the chain.
            true
        }
        Tamper::AppendRecord(body) => {
            tampered.push((
                audit::record_key(&project, "1970-01-01", &chain, n as u64),
                String::from_utf8_lossy(&body).into_owned(),
            ));
            true
        }
        Tamper::DropTail if n > 0 => {
            tampered.pop();
            let r = audit::verify_chain(&project, &chain, &tampered);
            assert!(r.ok);
            assert!(
                audit::check_against(&r, head.count, &head.head).is_some(),
                "a dropped tail went unnoticed"
            );
            false
        }
        Tamper::RandomObjects(extra) => {
            let extra: Vec<_> = extra.into_iter().take(8).collect();
            let _ = audit::verify_chain(&project, &chain, &extra);
            // Extra objects may or may not break the chain: only "no panic" is checked.
            tampered.extend(extra);
            false
        }
        _ => false,
    };
    let r = audit::verify_chain(&project, &chain, &tampered);
    if expect_broken {
        assert!(!r.ok, "tampered chain verified ok");
        let b = r
            .first_broken
            .as_ref()
            .expect("a broken chain names its first break");
        let _ = b.problem.to_string();
    }
    // Anchors over what we have.
    let mut chains = BTreeMap::new();
    chains.insert(chain.clone(), r.clone());
    let anchors: Vec<AuditRecord> = records
        .iter()
        .filter(|r| r.kind == Kind::Anchor)
        .cloned()
        .collect();
    let hash_at = |s: &str, i: u64| {
        records
            .iter()
            .find(|r| r.session == s && r.seq == i)
            .map(|r| r.hash.clone())
    };
    let _ = audit::verify_anchors(&anchors, &chains, &hash_at);
    for r in &records {
        assert_eq!(r.decision.is_some(), r.kind == Kind::Decision);
        assert!(
            r.decision != Some(Outcome::Stored)
                || r.reason
                    .as_deref()
                    .and_then(Reason::parse)
                    .is_some_and(Reason::stores)
        );
    }
}

// ---------------------------------------------------------------------------------------
// Storage
// ---------------------------------------------------------------------------------------

/// Chunk documents (`0xFF`-separated): the merge is a JSON array of every chunk's events.
/// The borrowed tree the walk masks (`veilgate::json`) against serde_json: the same inputs
/// accepted, the same value read (last duplicate key wins), and what it writes reads back as
/// the same value.
pub fn json_tree(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if envelope::prescan(data, &Limits::default()).is_err() {
        return;
    }
    let theirs = envelope::from_slice_prescanned::<Value>(data);
    let ours = veilgate::json::from_str(text);
    match (theirs, ours) {
        (Ok(t), Ok(o)) => {
            let written = o.to_string();
            let back: Value = serde_json::from_str(&written).expect("what it writes is JSON");
            assert_eq!(back, t, "the tree reads a different value than serde_json");
            let owned = o.clone().into_owned();
            assert_eq!(owned, o);
        }
        (Err(_), Err(_)) => {}
        (t, o) => panic!(
            "serde_json and the tree disagree: serde_json ok={}, tree ok={}",
            t.is_ok(),
            o.is_ok()
        ),
    }
}

pub fn storage(data: &[u8]) {
    let chunks: Vec<&[u8]> = data.split(|&b| b == crate::util::SEP).take(64).collect();
    match storage::merge_events(chunks.iter().copied()) {
        Ok(merged) => {
            let v: Vec<&RawValue> =
                serde_json::from_str(&merged).expect("merged events are a JSON array");
            let mut expected = 0usize;
            for c in &chunks {
                #[derive(serde::Deserialize)]
                struct Events<'a> {
                    #[serde(borrow)]
                    events: Vec<&'a RawValue>,
                }
                let json = storage::read_chunk(c, usize::MAX).expect("chunk read once");
                expected += serde_json::from_slice::<Events>(&json)
                    .expect("chunk parsed once")
                    .events
                    .len();
            }
            assert_eq!(v.len(), expected);
        }
        Err(e) => assert!(e.starts_with("chunk ")),
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = storage::last_segment(s);
    }
    if data.len() >= 8 {
        let ms = u64::from_le_bytes(data[..8].try_into().unwrap());
        let day = storage::utc_day(ms);
        assert_eq!(
            day,
            audit::day_from_millis(ms),
            "the two UTC-day functions disagree"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Privacy: the masking walk and URLs
// ---------------------------------------------------------------------------------------

/// rrweb-like events (web full snapshots, mutations, inputs, …; mobile wireframes) generated
/// by `arbitrary` (structure-aware), masked over several chunks with one `MaskState`, under
/// the default policy or an arbitrary one.
pub fn mask_events(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(input) = rrweb::Recording::arbitrary(&mut u) else {
        return;
    };
    // The platform shapes the generated events only: masking reads the events' own shape.
    let (chunks, _platform, policy) = input.into_parts();
    mask_chunks(chunks, &policy);
}

/// Events as arbitrary JSON text (what an envelope lets through), and optionally a policy
/// as JSON: the walk takes anything.
pub fn mask_events_json(data: &[u8]) {
    let p = parts(data, 2);
    let Some(text) = p[0].as_deref() else { return };
    let limits = Limits::default();
    if envelope::prescan(text.as_bytes(), &limits).is_err() {
        return;
    }
    let Ok(v) = envelope::from_slice_prescanned::<Value>(text.as_bytes()) else {
        return;
    };
    let events = match v {
        Value::Array(a) => a,
        Value::Object(ref m) if m.contains_key("events") => match v.get("events").cloned() {
            Some(Value::Array(a)) => a,
            _ => return,
        },
        other => vec![other],
    };
    let policy = match p[1]
        .as_deref()
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
    {
        Some(v) => match privacy::validate_policy(&v) {
            Ok(p) => p,
            // An invalid policy is still usable by the walk (it goes strict).
            Err(errs) => {
                assert!(!errs.is_empty());
                serde_json::from_value(v).unwrap_or_default()
            }
        },
        None => MaskPolicy::default(),
    };
    mask_chunks(vec![events], &policy);
}

fn mask_chunks(chunks: Vec<Vec<Value>>, policy: &MaskPolicy) {
    let default_policy = *policy == MaskPolicy::default();
    let mut state = MaskState::default();
    for mut events in chunks {
        let before = events.clone();
        let report = privacy::mask_serde_events(&mut events, policy, &mut state);
        assert_eq!(
            events.len(),
            before.len(),
            "masking changed the number of events"
        );
        assert!(report.events <= events.len());
        for (b, a) in before.iter().zip(&events) {
            rrweb::check_masked(b, a, default_policy);
            rrweb::check_secrets(a);
        }
        // The state stays small, and survives its own serialisation (the DO stores it).
        assert!(
            state.runs.len() <= veilgate::privacy::state::MAX_RUNS,
            "{} runs",
            state.runs.len()
        );
        let stored = serde_json::to_string(&state).expect("mask state serialises");
        let back: MaskState = serde_json::from_str(&stored).expect("mask state parses back");
        assert_eq!(back, state);
        serde_json::to_string(&events).expect("masked events serialise");
        serde_json::to_string(&report).expect("report serialises");
    }
}

/// Parts: a page URL, optionally a policy as JSON. Idempotent, never longer, and (default
/// policy) a planted email never survives outside `data:` URLs.
pub fn mask_url(data: &[u8]) {
    let p = parts(data, 2);
    let Some(url) = p[0].as_deref() else { return };
    let policy = p[1]
        .as_deref()
        .and_then(|t| serde_json::from_str::<MaskPolicy>(t).ok())
        .unwrap_or_default();
    let once = privacy::mask_url(url, &policy);
    assert_eq!(once, privacy::mask_url_cow(url, &policy));
    // KNOWN FINDING F3 (fuzz/regressions/mask_url/, tests/fuzz/regressions.rs): an
    // unclosed `[` host (`https://[7.0.0.1`) comes back with a `]` added. Tolerated here;
    // VEILGATE_FUZZ_STRICT=1 makes it fail again.
    let known_f3 = !crate::util::strict() && url.contains('[');
    assert!(
        once.chars().count() <= url.chars().count() || known_f3,
        "mask_url lengthened {url:?} -> {once:?}"
    );
    let twice = privacy::mask_url(&once, &policy);
    // KNOWN FINDING F2 (fuzz/regressions/mask_url/, tests/fuzz/regressions.rs): in a run of
    // more digit groups than one address (`10.0.0.1.10.0.0.2`, 16 colon-hex groups, long
    // `0111-0111-…` runs) the structured detectors mask only part of the run, and a second
    // pass masks more. Tolerated when the second pass only adds `*`;
    // VEILGATE_FUZZ_STRICT=1 makes it fail again.
    let known_f2 = !crate::util::strict() && crate::util::only_more_stars(&once, &twice);
    assert!(
        once == twice || known_f2,
        "mask_url is not idempotent: {url:?} -> {once:?} -> {twice:?}"
    );
    if policy == MaskPolicy::default()
        && !url.trim_start().to_ascii_lowercase().starts_with("data:")
    {
        for email in ["jane.doe@example.com", "jane.doe%40example.com"] {
            // Only where the planted address stands alone (`…@example.com11` is no address).
            assert!(
                !standalone(url, email) || !once.contains(email),
                "an email survived mask_url: {url:?} -> {once:?}"
            );
        }
    }
}

/// `needle` occurs in `hay`, every time with no address character right before or after it.
fn standalone(hay: &str, needle: &str) -> bool {
    // Like the detectors: any non-ASCII character may continue an (internationalised) address.
    let addr = |c: Option<char>| {
        c.is_some_and(|c| !c.is_ascii() || c.is_ascii_alphanumeric() || "._%+-@".contains(c))
    };
    let mut found = false;
    for (i, _) in hay.match_indices(needle) {
        let before = hay[..i].chars().next_back();
        let after = hay[i + needle.len()..].chars().next();
        if addr(before) || addr(after) {
            return false;
        }
        found = true;
    }
    found
}

// ---------------------------------------------------------------------------------------
// Selectors: parser, and the NFA matcher against a direct (backtracking) matcher
// ---------------------------------------------------------------------------------------

use veilgate::privacy::selector::{self, Comb, Complex, Element, Matcher};

const PATH_TAGS: &[&str] = &[
    "html", "body", "div", "span", "input", "form", "p", "a", "label", "td", "web_view", "text",
];
const PATH_CLASSES: &[&str] = &["", "private", "pii x", "address", "rr-mask", "a b c"];
const PATH_IDS: &[&str] = &["account", "x", "promo"];
const PATH_ATTRS: &[(&str, &[&str])] = &[
    ("type", &["email", "text", "password"]),
    ("data-user", &["", "1"]),
    ("name", &["card_number", "q"]),
    ("data-email", &["a@b.com", "x"]),
    ("inputType", &["email"]),
    ("identifier", &["promo"]),
];

/// Does `c` match the last element of `path` (root first)? Direct definition, backtracking.
fn reference_match(c: &Complex, path: &[Element<'_>]) -> bool {
    fn at(c: &Complex, k: usize, path: &[Element<'_>], i: usize) -> bool {
        if !c.compounds[k].matches(&path[i]) {
            return false;
        }
        if k == 0 {
            return true;
        }
        match c.combs[k - 1] {
            Comb::Child => i > 0 && at(c, k - 1, path, i - 1),
            Comb::Descendant => (0..i).rev().any(|j| at(c, k - 1, path, j)),
        }
    }
    !path.is_empty() && at(c, c.compounds.len() - 1, path, path.len() - 1)
}

/// Parts: a selector list, bytes that shape a root-to-leaf element path.
pub fn selector(data: &[u8]) {
    let p = parts(data, 2);
    let Some(text) = p[0].as_deref() else { return };
    let list = match selector::parse(text) {
        Ok(list) => list,
        Err(e) => {
            assert!(e.at <= text.len(), "error position past the end");
            let _ = e.to_string();
            // A policy with it fails validation for mask/exclude.
            let pol = MaskPolicy {
                rules: vec![veilgate::privacy::Rule {
                    selector: text.to_string(),
                    action: veilgate::privacy::Action::Mask,
                }],
                ..MaskPolicy::default()
            };
            assert!(
                pol.validate().is_err(),
                "a policy with an unparseable selector validated"
            );
            return;
        }
    };
    assert!(!list.is_empty());
    for c in &list {
        assert_eq!(c.compounds.len(), c.combs.len() + 1);
        assert!(c.compounds.len() <= selector::MAX_COMPOUNDS);
    }
    let Ok(m) = Matcher::new(
        list.iter()
            .cloned()
            .enumerate()
            .map(|(i, c)| (c, i))
            .collect(),
    ) else {
        let steps: usize = list.iter().map(|c| c.compounds.len() - 1).sum();
        assert!(
            steps > selector::MAX_STATE_BITS,
            "matcher refused {steps} steps"
        );
        return;
    };
    // A path of elements from the second part's bytes.
    let mut u = Unstructured::new(p[1].as_deref().map(str::as_bytes).unwrap_or(&[]));
    let mut attr_maps: Vec<(String, veilgate::json::Map<'static>)> = Vec::new();
    let depth = 1 + usize::from(u.arbitrary::<u8>().unwrap_or(0) % 10);
    for _ in 0..depth {
        let tag = u.choose(PATH_TAGS).copied().unwrap_or("div").to_string();
        let mut attrs = serde_json::Map::new();
        if let Ok(c) = u.choose(PATH_CLASSES) {
            if !c.is_empty() {
                attrs.insert("class".into(), json_str(c));
            }
        }
        if u.ratio(1, 3).unwrap_or(false) {
            attrs.insert(
                "id".into(),
                json_str(u.choose(PATH_IDS).copied().unwrap_or("x")),
            );
        }
        for (name, values) in PATH_ATTRS {
            if u.ratio(1, 4).unwrap_or(false) {
                attrs.insert(
                    (*name).into(),
                    json_str(u.choose(values).copied().unwrap_or("")),
                );
            }
        }
        // The matcher reads the walk's borrowed tree.
        let tree = match veilgate::json::from_str(&Value::Object(attrs).to_string()) {
            Ok(veilgate::json::Value::Object(m)) => m.into_owned_map(),
            _ => veilgate::json::Map::new(),
        };
        attr_maps.push((tag, tree));
    }
    let path: Vec<Element<'_>> = attr_maps
        .iter()
        .map(|(t, a)| Element {
            tag: t,
            attrs: Some(a),
        })
        .collect();
    let mut bits = 0u64;
    for i in 0..path.len() {
        let mut hits = Vec::new();
        bits = m.step(bits, &path[i], |k| hits.push(k));
        hits.sort_unstable();
        hits.dedup();
        let expected: Vec<usize> = (0..list.len())
            .filter(|&k| reference_match(&list[k], &path[..=i]))
            .collect();
        assert_eq!(
            hits, expected,
            "NFA and direct matching disagree for {text:?} at depth {i}"
        );
    }
    // In a policy, each action validates (or fails only for complexity).
    for action in [
        veilgate::privacy::Action::Mask,
        veilgate::privacy::Action::Unmask,
        veilgate::privacy::Action::Exclude,
    ] {
        let pol = MaskPolicy {
            rules: vec![veilgate::privacy::Rule {
                selector: text.to_string(),
                action,
            }],
            ..MaskPolicy::default()
        };
        if text.len() <= veilgate::privacy::policy::MAX_SELECTOR_LEN {
            assert!(
                pol.validate().is_ok(),
                "a parseable selector failed validation: {:?}",
                pol.validate()
            );
        }
    }
}

fn json_str(s: &str) -> Value {
    Value::String(s.to_string())
}
