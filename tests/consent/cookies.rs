//! Cookie header parsing and the CMP cookie parsers, with real-world formats.

use veilgate::consent::cmp::{CmpError, CookiebotConsent, OneTrustConsent};
use veilgate::consent::cookies::{pairs, percent_decode, ConsentCookies, MAX_COPIES};

// Cookiebot `CookieConsent` as browsers send it (URL-encoded JS object literal).
const CB_STATS_YES: &str = "{stamp:%27kT2dQm8Vw1Zx+Yq/3NfUo0pLs9RaHcEb4GjIyK7tWvXn6MrB5OeDgA==%27%2Cnecessary:true%2Cpreferences:false%2Cstatistics:true%2Cmarketing:false%2Cmethod:%27explicit%27%2Cver:1%2Cutc:1761904800123%2Cregion:%27de%27}";
const CB_ALL_NO: &str = "{stamp:%27Xq8pLm2Nb7Vc4Zr1Ks6Jt9Hw3Fy0Dg5Ae+Iu/OoPiQlWxYzEnTrMuBvCaSdFgHj==%27%2Cnecessary:true%2Cpreferences:false%2Cstatistics:false%2Cmarketing:false%2Cmethod:%27explicit%27%2Cver:3%2Cutc:1750423015309%2Cregion:%27fr%27}";
/// Older format: no `method`.
const CB_OLD_ALL_YES: &str = "{stamp:%27e98aHKJpBGxwmrzOejAnJPlefBy5AnuACz9BftjhJOx2aaxDeCFUEQ==%27%2Cnecessary:true%2Cpreferences:true%2Cstatistics:true%2Cmarketing:true%2Cver:1%2Cutc:1615214322795%2Cregion:%27bg%27}";
/// Newer out-of-region form: stamp `-1`, implied.
const CB_OUT_OF_REGION: &str = "{stamp:%27-1%27%2Cnecessary:true%2Cpreferences:true%2Cstatistics:true%2Cmarketing:true%2Cmethod:%27implied%27%2Cver:1%2Cutc:1773406331342%2Cregion:%27VN%27}";
/// Unencoded quotes, as some integrations write it.
const CB_RAW_QUOTES: &str = "{stamp:'m+a2sHQeOOuoPJRBktiiVf5mOGWDtiqvOKiLgCLNxxLwBBxXgfbaWQ=='%2Cnecessary:true%2Cpreferences:true%2Cstatistics:true%2Cmarketing:true%2Cver:1}";

// OneTrust `OptanonConsent`.
const OT_C0002_NO: &str = "isGpcEnabled=0&datestamp=Mon+Nov+03+2025+10%3A15%3A02+GMT%2B0100+(Central+European+Standard+Time)&version=202409.1.0&browserGpcFlag=0&isIABGlobal=false&hosts=&consentId=0b7c7f52-3c61-4a39-9a0e-2f7d2b1f9e11&interactionCount=1&isAnonUser=1&landingPath=NotLandingPage&groups=C0001%3A1%2CC0002%3A0%2CC0003%3A1%2CC0004%3A0&intType=2&geolocation=DE%3BBE&AwaitingReconsent=false";
const OT_ALL_YES: &str = "isGpcEnabled=0&datestamp=Tue+Sep+06+2022+18%3A09%3A11+GMT-0400&version=6.34.0&isIABGlobal=false&hosts=&landingPath=NotLandingPage&groups=C0001%3A1%2CC0002%3A1%2CC0003%3A1%2CC0004%3A1&geolocation=VE%3BN&AwaitingReconsent=false";
/// Old format, custom group ids, hosts list.
const OT_CUSTOM: &str = "isIABGlobal=false&datestamp=Fri+Mar+18+2022+18%3A53%3A43+GMT-0400&version=6.3.0&landingPath=https%3A%2F%2Fshop.example%2F&groups=C0001%3A1%2CC0002%3A1%2CC0004%3A1%2CSPD_BG%3A1&hosts=H95%3A1%2CH5%3A1";
const OT_GPC: &str = "isGpcEnabled=1&datestamp=Wed+Nov+20+2024+10%3A30%3A26+GMT%2B0400&version=202406.1.0&browserGpcFlag=1&groups=C0001%3A1%2CC0002%3A0&AwaitingReconsent=false";

#[test]
fn cookiebot_real_formats() {
    let c = CookiebotConsent::parse(CB_STATS_YES).unwrap();
    assert!(c.necessary && c.statistics && !c.preferences && !c.marketing);
    assert_eq!(c.method.as_deref(), Some("explicit"));
    assert_eq!(c.region.as_deref(), Some("de"));
    assert_eq!(c.utc, Some(1_761_904_800_123));
    assert!(!c.out_of_region);

    let c = CookiebotConsent::parse(CB_ALL_NO).unwrap();
    assert!(c.necessary && !c.statistics && !c.preferences && !c.marketing);

    let c = CookiebotConsent::parse(CB_OLD_ALL_YES).unwrap();
    assert!(c.statistics && c.marketing && c.method.is_none());

    let c = CookiebotConsent::parse(CB_OUT_OF_REGION).unwrap();
    assert!(c.out_of_region && c.statistics);
    assert_eq!(c.method.as_deref(), Some("implied"));

    let c = CookiebotConsent::parse("-1").unwrap();
    assert!(c.out_of_region && c.statistics && c.marketing);

    let c = CookiebotConsent::parse(CB_RAW_QUOTES).unwrap();
    assert!(c.statistics);
    assert_eq!(c.category("statistics"), Some(true));
    assert_eq!(c.category("bogus"), None);
}

#[test]
fn cookiebot_malformed() {
    for bad in [
        "",
        "0",
        "true",
        "{stamp:%27abc",
        "{statistics:yes}",
        "{statistics:true%2Cstatistics:false}",
        "{foo:1}",
        "{statistics:true,",
        "%7Bstatistics:true%7D%7D",
        "{statistics:true}}",
    ] {
        assert!(
            CookiebotConsent::parse(bad).is_err(),
            "{bad:?} should be rejected"
        );
    }
    assert!(matches!(
        CookiebotConsent::parse(&"x".repeat(5000)),
        Err(CmpError::TooLong { .. })
    ));
    // Percent-encoded braces are fine.
    assert!(
        CookiebotConsent::parse("%7Bnecessary:true%2Cstatistics:true%7D")
            .unwrap()
            .statistics
    );
}

#[test]
fn onetrust_real_formats() {
    let o = OneTrustConsent::parse(OT_C0002_NO).unwrap();
    assert_eq!(o.group("C0001"), Some(true));
    assert_eq!(o.group("C0002"), Some(false));
    assert_eq!(o.group("C0003"), Some(true));
    assert_eq!(o.group("C0005"), None);
    assert_eq!(o.interaction_count, Some(1));
    assert!(!o.gpc_enabled && !o.awaiting_reconsent);
    assert_eq!(o.version.as_deref(), Some("202409.1.0"));

    let o = OneTrustConsent::parse(OT_ALL_YES).unwrap();
    assert_eq!(o.groups.len(), 4);
    assert!(o.groups.iter().all(|(_, on)| *on));

    let o = OneTrustConsent::parse(OT_CUSTOM).unwrap();
    assert_eq!(o.group("SPD_BG"), Some(true));
    assert_eq!(o.group("C0003"), None);

    let o = OneTrustConsent::parse(OT_GPC).unwrap();
    assert!(o.gpc_enabled);
    assert_eq!(o.group("C0002"), Some(false));
}

#[test]
fn onetrust_malformed() {
    for bad in [
        "",
        "isGpcEnabled=0",
        "groups=C0001",
        "groups=C0001%3A2",
        "groups=C0001%3A1&groups=C0002%3A1",
        "groups=C0001%3A1%2CC0001%3A0",
        "groups=%3A1",
        "groups=C00%2001%3A1",
    ] {
        assert!(
            OneTrustConsent::parse(bad).is_err(),
            "{bad:?} should be rejected"
        );
    }
    // An empty group list is readable: nothing granted.
    assert!(OneTrustConsent::parse("groups=&hosts=")
        .unwrap()
        .groups
        .is_empty());
}

#[test]
fn cookie_header_real_world() {
    let header = format!(
        "_ga=GA1.2.2051422233.1615214325; CookieConsent={CB_STATS_YES}; _hjid=b5a6b371; \
         OptanonConsent={OT_C0002_NO}; euconsent-v2=CPt3fQAPt3fQACNAFAENDLCgAAAAAAAAACiQAAAOCgDAB-AIsAZ8A6QDBAHBAAAA.YAAAAAAAAAAA; \
         OptanonAlertBoxClosed=2025-11-03T09:15:02.240Z"
    );
    let c = ConsentCookies::parse(&header);
    assert_eq!(c.cookiebot, vec![CB_STATS_YES]);
    assert_eq!(c.onetrust, vec![OT_C0002_NO]);
    assert_eq!(c.tcf.len(), 1);
    assert!(!c.opted_out && !c.opt_out_present && !c.duplicates && !c.overflow);
}

#[test]
fn opt_out_cookie_values() {
    assert!(ConsentCookies::parse("veilgate_optout=1").opted_out);
    assert!(ConsentCookies::parse("a=b;veilgate_optout=1").opted_out);
    assert!(ConsentCookies::parse("veilgate_optout=\"1\"").opted_out);
    assert!(ConsentCookies::parse("veilgate_optout=yes").opted_out);
    assert!(!ConsentCookies::parse("veilgate_optout=").opted_out);
    assert!(!ConsentCookies::parse("veilgate_optout=0").opted_out);
    assert!(ConsentCookies::parse("veilgate_optout=0").opt_out_present);
    // Names are case-sensitive (RFC 6265): this is not our cookie.
    assert!(!ConsentCookies::parse("VEILGATE_OPTOUT=1").opted_out);
    // Duplicates: any copy saying "opted out" wins, even behind many decoys.
    let mut h = String::new();
    for _ in 0..100 {
        h.push_str("veilgate_optout=0; ");
    }
    h.push_str("veilgate_optout=1");
    assert!(ConsentCookies::parse(&h).opted_out);
}

#[test]
fn header_injection_and_junk_is_skipped() {
    // CR/LF or NUL inside a value: the pair is skipped, never interpreted.
    let c = ConsentCookies::parse("veilgate_optout=0\r\nSet-Cookie: x=1; euconsent-v2=ABC\u{0}DEF");
    assert!(c.tcf.is_empty());
    // A pair whose name is not a token.
    assert_eq!(
        pairs("a b=1; (c)=2; d=3")
            .map(|p| p.name)
            .collect::<Vec<_>>(),
        vec!["d"]
    );
    // Empty pieces and whitespace.
    assert_eq!(
        pairs(" ; ;=; a=1 ;\tb = 2 ")
            .map(|p| (p.name, p.value))
            .collect::<Vec<_>>(),
        vec![("a", "1"), ("b", "2")]
    );
    // Values keep '=' after the first one.
    assert_eq!(pairs("k=a=b").next().unwrap().value, "a=b");
    // Non-ASCII does not panic.
    assert_eq!(
        pairs("ü=1; k=é").map(|p| p.name).collect::<Vec<_>>(),
        vec!["k"]
    );
}

#[test]
fn huge_and_duplicate_headers_are_bounded() {
    let mut h = String::new();
    for i in 0..20_000 {
        h.push_str(&format!(
            "junk{i}=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; "
        ));
    }
    for _ in 0..10 {
        h.push_str("CookieConsent=-1; ");
    }
    h.push_str("veilgate_optout=1");
    assert!(h.len() > 1_000_000);
    let c = ConsentCookies::parse(&h);
    assert!(c.opted_out);
    assert_eq!(c.cookiebot.len(), MAX_COPIES);
    assert!(c.overflow && c.duplicates);
}

#[test]
fn percent_decode_edge_cases() {
    assert_eq!(percent_decode("%27%2C%3A", false), "',:");
    assert_eq!(percent_decode("%E2%82%AC", false), "€");
    assert_eq!(percent_decode("%FF", false), "\u{FFFD}");
    assert_eq!(percent_decode("100%", false), "100%");
    assert_eq!(percent_decode("a+b", true), "a b");
}

#[test]
fn arbitrary_headers_never_panic() {
    use veilgate::consent::{decide, ConsentPolicy, Signals};
    let pieces = [
        "CookieConsent=",
        "OptanonConsent=",
        "euconsent-v2=",
        "veilgate_optout=",
        "{",
        "}",
        "stamp:",
        "%27",
        "%2C",
        "statistics:true",
        "groups=",
        "C0002%3A1",
        "%",
        "%E2%82",
        ";",
        "=",
        "\"",
        "'",
        ",",
        "&",
        "é",
        "\u{0}",
        "\r\n",
        "CPt3fQAPt3fQA",
        "-1",
        "necessary:",
        ":",
        " ",
    ];
    let policy = ConsentPolicy::default();
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for _ in 0..5000 {
        let mut h = String::new();
        for _ in 0..(x % 24) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            h.push_str(pieces[(x % pieces.len() as u64) as usize]);
        }
        let _ = CookiebotConsent::parse(&h);
        let _ = OneTrustConsent::parse(&h);
        let d = decide(&policy, &Signals::from_request(Some(&h), Some(&h), None));
        // Under the default opt-in policy, junk never grants.
        if d.store {
            assert!(d.reason.starts_with("granted_"), "{h:?} -> {d:?}");
        }
    }
}
