//! The consent decision: a policy × signal matrix, precedence rules, the policy JSON.

use serde_json::{json, Map, Value};
use veilgate::consent::{decide, ConsentMode, ConsentPolicy, Decision, Reason, Signals};

// Built with @iabtcf/core by tools/tcf/policy-strings.mjs (GVL with vendors 7, 755, 812).
const TCF_GRANTED: &str = "CQgaaaAQgdtWAAKADBENCWEAAIMAAAAAAAYgF5wAgADgLzAAAAAA.IGWQAwADgLzAZYAA";
const TCF_DENIED_P1: &str = "CQgaaaAQgdtWAAKADBENCWEAAAMAAEMAAAYgF5wAgADgLzAAAAAA.IGWQAwADgLzAZYAA";
const TCF_VENDOR_LI_ONLY: &str =
    "CQgaaaAQgdtWAAKADBENCWEAAIAAAAAAAAYgADgIF5wAQF5gAAAA.IGWQAwADgLzAZYAA";
const TCF_VENDOR_RESTRICTED: &str =
    "CQgaaaAQgdtWAAKADBENCWEgAIAAAAAAAAYgF5wAgADgLzAAAACCAAgLzAAA.YAAAAAAAAAAA";

const CB_YES: &str = "{stamp:%27kT2dQm8Vw1Zx+Yq/3NfUo0pLs9RaHcEb4GjIyK7tWvXn6MrB5OeDgA==%27%2Cnecessary:true%2Cpreferences:false%2Cstatistics:true%2Cmarketing:false%2Cmethod:%27explicit%27%2Cver:1%2Cutc:1761904800123%2Cregion:%27de%27}";
const CB_NO: &str = "{stamp:%27kT2dQm8Vw1Zx+Yq/3NfUo0pLs9RaHcEb4GjIyK7tWvXn6MrB5OeDgA==%27%2Cnecessary:true%2Cpreferences:false%2Cstatistics:false%2Cmarketing:false%2Cmethod:%27explicit%27%2Cver:1%2Cutc:1761904800123%2Cregion:%27de%27}";
const OT_YES: &str = "isGpcEnabled=0&datestamp=Mon+Nov+03+2025+10%3A15%3A02+GMT%2B0100&version=202409.1.0&interactionCount=1&landingPath=NotLandingPage&groups=C0001%3A1%2CC0002%3A1%2CC0003%3A0%2CC0004%3A0&AwaitingReconsent=false";
const OT_NO: &str = "isGpcEnabled=0&datestamp=Mon+Nov+03+2025+10%3A15%3A02+GMT%2B0100&version=202409.1.0&interactionCount=1&landingPath=NotLandingPage&groups=C0001%3A1%2CC0002%3A0%2CC0003%3A0%2CC0004%3A0&AwaitingReconsent=false";

fn policy(v: Value) -> ConsentPolicy {
    serde_json::from_value(v).expect("policy json")
}

/// The `demo-web` policy of DESIGN.md.
fn opt_in() -> ConsentPolicy {
    policy(json!({
        "mode": "opt-in", "tcf_purposes": [1], "tcf_vendor": null,
        "cookiebot": ["statistics"], "onetrust_groups": ["C0002"],
        "sdk_keys": {"analytics_storage": "granted"}, "version": "2026-11-01"
    }))
}

fn opt_in_vendor() -> ConsentPolicy {
    policy(json!({"mode": "opt-in", "tcf_purposes": [1], "tcf_vendor": 755, "version": "v-vendor"}))
}

fn sdk(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

struct Req {
    cookie: Option<String>,
    gpc: Option<&'static str>,
    sdk: Option<Map<String, Value>>,
}

fn req(cookie: &str) -> Req {
    Req {
        cookie: (!cookie.is_empty()).then(|| cookie.to_string()),
        gpc: None,
        sdk: None,
    }
}

fn run(p: &ConsentPolicy, r: &Req) -> Decision {
    decide(
        p,
        &Signals::from_request(r.cookie.as_deref(), r.gpc, r.sdk.as_ref()),
    )
}

#[test]
fn matrix() {
    let none = ConsentPolicy::with_mode(ConsentMode::None);
    let opt_out = policy(json!({"mode": "opt-out", "version": "o1"}));
    let policies = [
        ("none", &none),
        ("opt-out", &opt_out),
        ("opt-in", &opt_in()),
        ("opt-in-vendor", &opt_in_vendor()),
    ];

    let gpc = |mut r: Req| {
        r.gpc = Some("1");
        r
    };
    let with_sdk = |mut r: Req, v: Value| {
        r.sdk = Some(sdk(v));
        r
    };
    // (scenario, request, expected reason per policy: none, opt-out, opt-in, opt-in-vendor)
    let rows: Vec<(&str, Req, [&str; 4])> = vec![
        (
            "no signal",
            req(""),
            [
                "policy_none",
                "not_opted_out",
                "no_consent_signal",
                "no_consent_signal",
            ],
        ),
        (
            "opt-out cookie",
            req("veilgate_optout=1"),
            ["opt_out_cookie"; 4],
        ),
        ("gpc", gpc(req("")), ["policy_none", "gpc", "gpc", "gpc"]),
        (
            "gpc: 0",
            Req {
                gpc: Some("0"),
                ..req("")
            },
            [
                "policy_none",
                "not_opted_out",
                "no_consent_signal",
                "no_consent_signal",
            ],
        ),
        (
            "tcf granted",
            req(&format!("euconsent-v2={TCF_GRANTED}")),
            ["policy_none", "not_opted_out", "granted_tcf", "granted_tcf"],
        ),
        (
            "tcf purpose denied",
            req(&format!("euconsent-v2={TCF_DENIED_P1}")),
            [
                "policy_none",
                "not_opted_out",
                "tcf_purpose_denied",
                "tcf_purpose_denied",
            ],
        ),
        (
            "tcf vendor LI only",
            req(&format!("euconsent-v2={TCF_VENDOR_LI_ONLY}")),
            [
                "policy_none",
                "not_opted_out",
                "granted_tcf",
                "tcf_vendor_denied",
            ],
        ),
        (
            "tcf vendor restricted by publisher",
            req(&format!("euconsent-v2={TCF_VENDOR_RESTRICTED}")),
            [
                "policy_none",
                "not_opted_out",
                "granted_tcf",
                "tcf_vendor_denied",
            ],
        ),
        (
            "cookiebot yes",
            req(&format!("CookieConsent={CB_YES}")),
            [
                "policy_none",
                "not_opted_out",
                "granted_cookiebot",
                "no_consent_signal",
            ],
        ),
        (
            "cookiebot no",
            req(&format!("CookieConsent={CB_NO}")),
            [
                "policy_none",
                "not_opted_out",
                "denied_cookiebot",
                "no_consent_signal",
            ],
        ),
        (
            "cookiebot -1",
            req("CookieConsent=-1"),
            [
                "policy_none",
                "not_opted_out",
                "denied_cookiebot",
                "no_consent_signal",
            ],
        ),
        (
            "onetrust yes",
            req(&format!("OptanonConsent={OT_YES}")),
            [
                "policy_none",
                "not_opted_out",
                "granted_onetrust",
                "no_consent_signal",
            ],
        ),
        (
            "onetrust no",
            req(&format!("OptanonConsent={OT_NO}")),
            [
                "policy_none",
                "not_opted_out",
                "denied_onetrust",
                "no_consent_signal",
            ],
        ),
        (
            "malformed tcf",
            req("euconsent-v2=CO!!garbage"),
            [
                "policy_none",
                "not_opted_out",
                "consent_unparseable",
                "consent_unparseable",
            ],
        ),
        (
            "malformed cookiebot",
            req("CookieConsent={stamp:%27x"),
            [
                "policy_none",
                "not_opted_out",
                "consent_unparseable",
                "no_consent_signal",
            ],
        ),
        (
            "malformed onetrust",
            req("OptanonConsent=groups=C0002%3Ayes"),
            [
                "policy_none",
                "not_opted_out",
                "consent_unparseable",
                "no_consent_signal",
            ],
        ),
        (
            "sdk granted, no cookie",
            with_sdk(req(""), json!({"analytics_storage": "granted"})),
            [
                "policy_none",
                "not_opted_out",
                "granted_sdk",
                "no_consent_signal",
            ],
        ),
        (
            "sdk denied, no cookie",
            with_sdk(
                req(""),
                json!({"analytics_storage": "denied", "ad_storage": "granted"}),
            ),
            [
                "policy_none",
                "not_opted_out",
                "denied_sdk",
                "no_consent_signal",
            ],
        ),
        (
            "sdk without the key",
            with_sdk(req(""), json!({"ad_storage": "granted"})),
            [
                "policy_none",
                "not_opted_out",
                "no_consent_signal",
                "no_consent_signal",
            ],
        ),
        (
            "cookie denies, sdk grants: cookie wins",
            with_sdk(
                req(&format!("CookieConsent={CB_NO}")),
                json!({"analytics_storage": "granted"}),
            ),
            [
                "policy_none",
                "not_opted_out",
                "denied_cookiebot",
                "no_consent_signal",
            ],
        ),
        (
            "cookie grants, sdk denies: cookie wins",
            with_sdk(
                req(&format!("OptanonConsent={OT_YES}")),
                json!({"analytics_storage": "denied"}),
            ),
            [
                "policy_none",
                "not_opted_out",
                "granted_onetrust",
                "no_consent_signal",
            ],
        ),
        (
            "malformed cookie, sdk grants: no consent",
            with_sdk(
                req("euconsent-v2=AAAA"),
                json!({"analytics_storage": "granted"}),
            ),
            [
                "policy_none",
                "not_opted_out",
                "consent_unparseable",
                "consent_unparseable",
            ],
        ),
        (
            "opt-out cookie beats a grant",
            req(&format!("euconsent-v2={TCF_GRANTED}; veilgate_optout=1")),
            ["opt_out_cookie"; 4],
        ),
        (
            "gpc beats a grant",
            gpc(req(&format!("euconsent-v2={TCF_GRANTED}"))),
            ["policy_none", "gpc", "gpc", "gpc"],
        ),
        (
            "two CMPs disagree: refusal wins",
            req(&format!(
                "euconsent-v2={TCF_GRANTED}; CookieConsent={CB_NO}"
            )),
            [
                "policy_none",
                "not_opted_out",
                "denied_cookiebot",
                "granted_tcf",
            ],
        ),
        (
            "duplicate copies disagree: refusal wins",
            req(&format!("CookieConsent={CB_YES}; CookieConsent={CB_NO}")),
            [
                "policy_none",
                "not_opted_out",
                "denied_cookiebot",
                "no_consent_signal",
            ],
        ),
        (
            "duplicate copies agree",
            req(&format!("OptanonConsent={OT_YES}; OptanonConsent={OT_YES}")),
            [
                "policy_none",
                "not_opted_out",
                "granted_onetrust",
                "no_consent_signal",
            ],
        ),
        (
            "header injection in the opt-out cookie is not an opt-out",
            req("veilgate_optout=\r\n1"),
            [
                "policy_none",
                "not_opted_out",
                "no_consent_signal",
                "no_consent_signal",
            ],
        ),
    ];

    let mut checked = 0;
    for (scenario, r, want) in &rows {
        for ((pname, p), want) in policies.iter().zip(want) {
            let d = run(p, r);
            assert_eq!(d.reason, *want, "{scenario} under {pname}: {d:?}");
            assert_eq!(
                d.store,
                Reason::parse(want).unwrap().stores(),
                "{scenario} under {pname}"
            );
            assert_eq!(d.policy_version, p.version_label());
            checked += 1;
        }
    }
    assert_eq!(checked, rows.len() * 4);
    println!("consent policy matrix: {checked} cells, all as expected");
}

#[test]
fn gpc_under_none_only_with_honor_gpc() {
    let mut p = ConsentPolicy::with_mode(ConsentMode::None);
    let r = Req {
        gpc: Some("1"),
        ..req("")
    };
    assert_eq!(run(&p, &r).reason, "policy_none");
    p.honor_gpc = true;
    assert_eq!(run(&p, &r).reason, "gpc");
    // Whitespace around the header value is tolerated; other values are not GPC.
    assert!(Signals::from_request(None, Some(" 1 "), None).gpc);
    assert!(!Signals::from_request(None, Some("true"), None).gpc);
}

#[test]
fn cookiebot_out_of_region_grants_only_when_configured() {
    let mut p = opt_in();
    assert_eq!(run(&p, &req("CookieConsent=-1")).reason, "denied_cookiebot");
    p.cookiebot_out_of_region_grants = true;
    assert_eq!(
        run(&p, &req("CookieConsent=-1")).reason,
        "granted_cookiebot"
    );
}

#[test]
fn opt_out_mode_can_honor_cmp_refusals() {
    let mut p = policy(
        json!({"mode": "opt-out", "cookiebot": ["statistics"], "sdk_keys": {"analytics_storage": "granted"}}),
    );
    assert_eq!(
        run(&p, &req(&format!("CookieConsent={CB_NO}"))).reason,
        "not_opted_out"
    );
    p.honor_cmp_refusal = true;
    assert_eq!(
        run(&p, &req(&format!("CookieConsent={CB_NO}"))).reason,
        "denied_cookiebot"
    );
    assert_eq!(
        run(&p, &req(&format!("CookieConsent={CB_YES}"))).reason,
        "not_opted_out"
    );
    // An unreadable cookie is not a refusal.
    assert_eq!(
        run(&p, &req("CookieConsent=garbage")).reason,
        "not_opted_out"
    );
    let r = Req {
        sdk: Some(sdk(json!({"analytics_storage": "denied"}))),
        ..req("")
    };
    assert_eq!(run(&p, &r).reason, "denied_sdk");
}

#[test]
fn sdk_values_are_normalised() {
    let p = opt_in();
    for (v, want) in [
        (json!("GRANTED"), "granted_sdk"),
        (json!(" granted "), "granted_sdk"),
        (json!(true), "granted_sdk"),
        (json!(false), "denied_sdk"),
        (json!("denied"), "denied_sdk"),
        (json!(1), "no_consent_signal"),
        (json!({"x": 1}), "no_consent_signal"),
    ] {
        let r = Req {
            sdk: Some(sdk(json!({ "analytics_storage": v }))),
            ..req("")
        };
        assert_eq!(run(&p, &r).reason, want, "{v}");
    }
}

#[test]
fn signals_name_what_was_present_never_values() {
    let r = Req {
        cookie: Some(format!(
            "euconsent-v2=bad!; CookieConsent=-1; OptanonConsent={OT_YES}; OptanonConsent={OT_NO}"
        )),
        gpc: Some("1"),
        sdk: Some(sdk(json!({"analytics_storage": "granted"}))),
    };
    let d = run(&opt_in(), &r);
    assert_eq!(
        d.signals,
        vec![
            "gpc",
            "tcf",
            "tcf_unparseable",
            "cookiebot",
            "onetrust",
            "cookiebot_out_of_region",
            "duplicate_cookies",
            "sdk"
        ]
    );
    let text = serde_json::to_string(&d).unwrap();
    assert!(!text.contains("C0002") && !text.contains("bad!"));
}

#[test]
fn policy_json_round_trip_and_defaults() {
    let p = opt_in();
    assert_eq!(p.mode, ConsentMode::OptIn);
    assert_eq!(p.version_label(), "2026-11-01");
    let back: ConsentPolicy = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
    assert_eq!(back, p);
    // Aliases for the mode.
    assert_eq!(policy(json!({"mode": "opt_out"})).mode, ConsentMode::OptOut);
    // mode is required; unknown fields are rejected (a typo must not weaken a policy).
    assert!(serde_json::from_value::<ConsentPolicy>(json!({})).is_err());
    assert!(serde_json::from_value::<ConsentPolicy>(
        json!({"mode": "opt-in", "cookiebots": ["statistics"]})
    )
    .is_err());
    assert!(serde_json::from_value::<ConsentPolicy>(json!({"mode": "maybe"})).is_err());
    // Without a version, the label is a stable content hash that changes with the policy.
    let a = policy(json!({"mode": "opt-in", "tcf_purposes": [1]}));
    let b = policy(json!({"mode": "opt-in", "tcf_purposes": [1, 7]}));
    assert!(a.version_label().starts_with("sha256:"));
    assert_eq!(a.version_label(), a.clone().version_label());
    assert_ne!(a.version_label(), b.version_label());
    // The default is the privacy-first preset.
    let d = ConsentPolicy::default();
    assert_eq!(d.mode, ConsentMode::OptIn);
    assert!(d.validate().is_ok());
}

#[test]
fn validate_reports_problems() {
    let p = policy(
        json!({"mode": "opt-in", "tcf_purposes": [0, 25], "tcf_vendor": 0, "cookiebot": ["stats"]}),
    );
    let errs = p.validate().unwrap_err();
    assert_eq!(errs.len(), 4, "{errs:?}");
    assert!(policy(json!({"mode": "opt-in"})).validate().is_err());
    assert!(policy(json!({"mode": "opt-out"})).validate().is_ok());
}

#[test]
fn reason_codes_are_stable() {
    for r in Reason::ALL {
        assert_eq!(Reason::parse(r.as_str()), Some(r));
        assert_eq!(serde_json::to_value(r).unwrap(), json!(r.as_str()));
    }
    let d = Decision::new(Reason::GrantedTcf, vec![], "v".into());
    assert!(d.store && d.outcome() == "stored" && d.reason_code() == Some(Reason::GrantedTcf));
    assert!(d.differs_from(None));
    assert!(!d.differs_from(Some(&d.clone())));
}

#[test]
fn seeded_project_configs_parse() {
    // The `consent` objects of dev/projects/demo.json and demo-web.json.
    let demo = policy(json!({ "mode": "opt-out", "version": "demo-2026-11" }));
    assert_eq!(demo.mode, ConsentMode::OptOut);
    assert!(demo.validate().is_ok());
    let demo_web = policy(json!({
        "mode": "opt-in", "version": "demo-web-2026-11", "tcf_purposes": [1],
        "cookiebot": ["statistics"], "onetrust_groups": ["C0002"],
        "sdk": { "analytics_storage": "granted" }
    }));
    assert_eq!(
        demo_web
            .sdk_keys
            .get("analytics_storage")
            .map(String::as_str),
        Some("granted")
    );
    assert!(demo_web.validate().is_ok());
    let r = Req {
        sdk: Some(sdk(json!({"analytics_storage": "granted"}))),
        ..req("")
    };
    assert_eq!(run(&demo_web, &r).reason, "granted_sdk");
    assert_eq!(run(&demo_web, &r).policy_version, "demo-web-2026-11");
}
