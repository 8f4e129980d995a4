//! Writes the committed seed corpus `corpus/<target>/` from the project's own fixtures:
//! beacons cut from `tests/fixtures/rrweb/*.json` (not the 2 MB benchmark one), TC strings from
//! `tests/fixtures/tcf/generated.json`, the Cookiebot/OneTrust values and cookie headers of
//! `tests/consent/`, the seeded project configs, audit chains made by `ChainHead`.
//!
//! `cargo run --release --example seeds` (from `fuzz/`). Deterministic; existing seeds with the
//! same name are overwritten, others (e.g. added by hand or by `cargo fuzz cmin`) are kept.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use veilgate::audit::{self, ChainHead, Draft};
use veilgate::consent::{Decision, Reason};
use veilgate_fuzz::util::gzip;

const SEP: &str = "\u{ff}"; // placeholder, replaced by the byte 0xFF in `put`

struct Out {
    root: PathBuf,
    total: usize,
    files: usize,
}

impl Out {
    /// Write one seed; `\u{ff}` in text stands for the 0xFF part separator.
    fn put(&mut self, target: &str, name: &str, data: impl AsRef<[u8]>) {
        let dir = self.root.join(target);
        fs::create_dir_all(&dir).unwrap();
        let bytes = replace_sep(data.as_ref());
        self.total += bytes.len();
        self.files += 1;
        fs::write(dir.join(name), bytes).unwrap();
    }
}

fn replace_sep(data: &[u8]) -> Vec<u8> {
    let sep = SEP.as_bytes(); // C3 BF
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i..].starts_with(sep) {
            out.push(0xFF);
            i += sep.len();
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap()
}

fn beacon(
    seq: u64,
    page: &str,
    events: &[Value],
    platform: &str,
    consent: Option<Value>,
) -> String {
    let mut b = json!({
        "session": "s_fuzzseed01",
        "visitor": "v_fuzzseed01",
        "seq": seq,
        "platform": platform,
        "page": page,
        "sdk": {"name": "veilgate-web", "version": "0.1.0"},
        "events": events,
    });
    if let Some(c) = consent {
        b["consent"] = c;
    }
    b.to_string()
}

const CB_STATS_YES: &str = "{stamp:%27kT2dQm8Vw1Zx+Yq/3NfUo0pLs9RaHcEb4GjIyK7tWvXn6MrB5OeDgA==%27%2Cnecessary:true%2Cpreferences:false%2Cstatistics:true%2Cmarketing:false%2Cmethod:%27explicit%27%2Cver:1%2Cutc:1761904800123%2Cregion:%27de%27}";
const CB_ALL_NO: &str = "{stamp:%27Xq8pLm2Nb7Vc4Zr1Ks6Jt9Hw3Fy0Dg5Ae+Iu/OoPiQlWxYzEnTrMuBvCaSdFgHj==%27%2Cnecessary:true%2Cpreferences:false%2Cstatistics:false%2Cmarketing:false%2Cmethod:%27explicit%27%2Cver:3%2Cutc:1750423015309%2Cregion:%27fr%27}";
const CB_OLD_ALL_YES: &str = "{stamp:%27e98aHKJpBGxwmrzOejAnJPlefBy5AnuACz9BftjhJOx2aaxDeCFUEQ==%27%2Cnecessary:true%2Cpreferences:true%2Cstatistics:true%2Cmarketing:true%2Cver:1%2Cutc:1615214322795%2Cregion:%27bg%27}";
const CB_OUT_OF_REGION: &str = "{stamp:%27-1%27%2Cnecessary:true%2Cpreferences:true%2Cstatistics:true%2Cmarketing:true%2Cmethod:%27implied%27%2Cver:1%2Cutc:1773406331342%2Cregion:%27VN%27}";
const CB_RAW_QUOTES: &str = "{stamp:'m+a2sHQeOOuoPJRBktiiVf5mOGWDtiqvOKiLgCLNxxLwBBxXgfbaWQ=='%2Cnecessary:true%2Cpreferences:true%2Cstatistics:true%2Cmarketing:true%2Cver:1}";
const OT_C0002_NO: &str = "isGpcEnabled=0&datestamp=Mon+Nov+03+2025+10%3A15%3A02+GMT%2B0100+(Central+European+Standard+Time)&version=202409.1.0&browserGpcFlag=0&isIABGlobal=false&hosts=&consentId=0b7c7f52-3c61-4a39-9a0e-2f7d2b1f9e11&interactionCount=1&isAnonUser=1&landingPath=NotLandingPage&groups=C0001%3A1%2CC0002%3A0%2CC0003%3A1%2CC0004%3A0&intType=2&geolocation=DE%3BBE&AwaitingReconsent=false";
const OT_ALL_YES: &str = "isGpcEnabled=0&datestamp=Tue+Sep+06+2022+18%3A09%3A11+GMT-0400&version=6.34.0&isIABGlobal=false&hosts=&landingPath=NotLandingPage&groups=C0001%3A1%2CC0002%3A1%2CC0003%3A1%2CC0004%3A1&geolocation=VE%3BN&AwaitingReconsent=false";
const OT_CUSTOM: &str = "isIABGlobal=false&datestamp=Fri+Mar+18+2022+18%3A53%3A43+GMT-0400&version=6.3.0&landingPath=https%3A%2F%2Fshop.example%2F&groups=C0001%3A1%2CC0002%3A1%2CC0004%3A1%2CSPD_BG%3A1&hosts=H95%3A1%2CH5%3A1";
const OT_GPC: &str = "isGpcEnabled=1&datestamp=Wed+Nov+20+2024+10%3A30%3A26+GMT%2B0400&version=202406.1.0&browserGpcFlag=1&groups=C0001%3A1%2CC0002%3A0&AwaitingReconsent=false";
const TCF_IAB_DOC: &str = "COrVd1pOrVd1pACABCENAHCAAAAAAAAAAAiQAAAAAAAA";

fn b64url_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'-' | b'+' => 62,
            _ => 63,
        }
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|&c| c != b'=') {
        acc = acc << 6 | val(c);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    if bits > 0 {
        out.push((acc << (8 - bits)) as u8);
    }
    out
}

fn main() {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let repo = here.parent().unwrap().to_path_buf();
    let mut o = Out {
        root: here.join("corpus"),
        total: 0,
        files: 0,
    };
    let fixtures = repo.join("tests/fixtures/rrweb");

    // --- envelope, gzip, storage, mask_events_json, mask_url: from the rrweb fixtures -------
    let mut pages = Vec::new();
    for name in [
        "signup.default",
        "signup.strict",
        "checkout.default",
        "checkout.strict",
        "account.default",
        "account.strict",
    ] {
        let fx = read_json(&fixtures.join(format!("{name}.json")));
        let page = fx["page"].as_str().unwrap().to_string();
        let events = fx["events"].as_array().unwrap().clone();
        pages.push(page.clone());
        // The opening beacon (Meta + FullSnapshot) of the default variants, whole.
        if name.ends_with(".default") {
            let b = beacon(0, &page, &events[..2.min(events.len())], "web", None);
            o.put("envelope", &format!("{name}-open.json"), &b);
            o.put(
                "mask_events_json",
                &format!("{name}-open.json"),
                serde_json::to_string(&events[..2]).unwrap(),
            );
            if name.starts_with("signup") {
                o.put("gzip", &format!("{name}-open.json.gz"), gzip(b.as_bytes()));
            }
        }
        // Incremental beacons: 12 events each, a few per fixture, skipping the snapshot.
        let inc: Vec<&Value> = events.iter().filter(|e| e["type"] != 2).collect();
        for (k, chunk) in inc
            .chunks(12)
            .enumerate()
            .filter(|(k, _)| k % 5 == 1)
            .take(3)
        {
            let evs: Vec<Value> = chunk.iter().map(|v| (*v).clone()).collect();
            let b = beacon(
                k as u64 + 1,
                &page,
                &evs,
                "web",
                Some(json!({"analytics_storage": "granted"})),
            );
            o.put("envelope", &format!("{name}-inc{k}.json"), &b);
            o.put(
                "mask_events_json",
                &format!("{name}-inc{k}.json"),
                serde_json::to_string(&evs).unwrap(),
            );
            if k == 1 {
                o.put(
                    "gzip",
                    &format!("{name}-inc{k}.json.gz"),
                    gzip(b.as_bytes()),
                );
                // Two stored chunk documents, as storage::merge_events reads them.
                let doc = |seq: u32, evs: &[Value]| {
                    json!({"v": 1, "project": "demo", "session": "s_fuzzseed01", "seq": seq, "platform": "web",
                           "page": page, "received_at": 1_700_000_000_000u64, "events": evs})
                    .to_string()
                };
                o.put(
                    "storage",
                    &format!("{name}-chunks"),
                    format!("{}{SEP}{}", doc(1, &evs[..6]), doc(2, &evs[6..])),
                );
            }
        }
    }
    // Hand-made envelopes: the README walk-through, mobile, edge shapes.
    let readme = r#"{"session":"s_walkthrough1","visitor":"v_walkthrough1","seq":0,"platform":"web","page":"http://localhost:8787/signup?email=jane@example.com","events":[{"type":4,"data":{"href":"http://localhost:8787/signup","width":1280,"height":720},"timestamp":1700000000000},{"type":3,"data":{"source":5,"text":"hunter2","isChecked":false,"id":42},"timestamp":1700000000100}]}"#;
    o.put("envelope", "readme.json", readme);
    o.put("gzip", "readme.json.gz", gzip(readme.as_bytes()));
    o.put(
        "gzip",
        "readme-truncated.gz",
        &gzip(readme.as_bytes())[..40],
    );
    o.put("gzip", "zeros-1MiB.gz", gzip(&vec![b' '; 1 << 20]));
    o.put("gzip", "empty.gz", gzip(b""));
    o.put("envelope", "mobile.json", r#"{"session":"s_mobile0001","visitor":"v_mobile0001","seq":7,"platform":"ios","events":[{"type":1,"timestamp":1},{"type":5,"data":{"tag":"x","payload":{}},"timestamp":2.5}],"consent":{"analytics_storage":true,"ad_storage":"denied"}}"#);
    o.put("envelope", "deep.json", format!(r#"{{"session":"s_deep000001","visitor":"v_deep000001","seq":0,"platform":"web","events":[{{"type":5,"data":{}1{},"timestamp":0}}]}}"#, "[".repeat(520), "]".repeat(520)));
    o.put("envelope", "escapes.json", r#"{"session":"s_esc0000001","visitor":"v_esc0000001","seq":1000000,"platform":"android","page":"\u0000\ud83d\ude00\"\\","events":[{"type":6,"data":{"plugin":"\\\"]]]}}}","payload":null},"timestamp":1e3}]}"#);
    o.put(
        "envelope",
        "bad-types.json",
        r#"{"session":123,"visitor":null,"seq":-1,"platform":"tv","events":{}}"#,
    );
    o.put("envelope", "truncated.json", &readme[..readme.len() / 2]);

    for (i, p) in pages.iter().enumerate() {
        o.put("mask_url", &format!("fixture-{i}"), p);
    }
    for (i, u) in [
        "http://localhost:8787/signup?email=jane@example.com",
        "https://shop.example/reset?token=abc123&password=hunter2#email=a%40b.c",
        "https://user:pass@shop.example:8443/u/jane.doe@example.com/orders/4111111111111111?q=%E2%82%AC",
        "/relative/path?phone=%2B14155550100&ssn=078-05-1120",
        "https://shop.example/?a=1&a=2&&=&%zz=%",
        "android-app://com.example.app/screen?user=42",
    ]
    .iter()
    .enumerate()
    {
        o.put("mask_url", &format!("url-{i}"), u);
    }

    // --- cookies, cmp, decide ---------------------------------------------------------------
    let tcf_cases = read_json(&repo.join("tests/fixtures/tcf/generated.json"));
    let cases = tcf_cases["cases"].as_array().unwrap();
    let tc_granted = cases[0]["tc"].as_str().unwrap().to_string();
    let headers = [
        format!("_ga=GA1.2.1; euconsent-v2={tc_granted}; veilgate_optout=1;CookieConsent=\"{{x:1}}\""),
        format!("euconsent-v2={TCF_IAB_DOC}; CookieConsent={CB_STATS_YES}; OptanonConsent={OT_C0002_NO}"),
        format!("CookieConsent={CB_OLD_ALL_YES}; CookieConsent={CB_ALL_NO}"),
        format!("OptanonConsent={OT_ALL_YES}; OptanonConsent={OT_ALL_YES}; OptanonConsent={OT_GPC}; OptanonConsent={OT_CUSTOM}; OptanonConsent={OT_ALL_YES}"),
        "veilgate_optout=0\r\nSet-Cookie: x=1; euconsent-v2=ABC\u{0}DEF".to_string(),
        "euconsent-v2=bad!; CookieConsent=-1; OptanonConsent=groups=C0002%3Ayes".to_string(),
        format!("CookieConsent={CB_OUT_OF_REGION}; veilgate_optout="),
        format!("CookieConsent={CB_RAW_QUOTES};;; =x; a b=c; \"q\"=\"v\""),
    ];
    for (i, h) in headers.iter().enumerate() {
        let gpc = if i % 2 == 0 { "1" } else { " 0 " };
        let sdk = match i % 3 {
            0 => r#"{"analytics_storage":"granted","ad_storage":false}"#,
            1 => r#"{"analytics_storage":" DENIED "}"#,
            _ => "",
        };
        o.put(
            "cookies",
            &format!("header-{i}"),
            if sdk.is_empty() {
                format!("{h}{SEP}{gpc}")
            } else {
                format!("{h}{SEP}{gpc}{SEP}{sdk}")
            },
        );
    }
    for (name, v) in [
        ("cb-stats-yes", CB_STATS_YES),
        ("cb-all-no", CB_ALL_NO),
        ("cb-old-all-yes", CB_OLD_ALL_YES),
        ("cb-out-of-region", CB_OUT_OF_REGION),
        ("cb-raw-quotes", CB_RAW_QUOTES),
        ("cb-minus-one", "-1"),
        ("cb-malformed", "{stamp:%27x"),
        ("ot-c0002-no", OT_C0002_NO),
        ("ot-all-yes", OT_ALL_YES),
        ("ot-custom", OT_CUSTOM),
        ("ot-gpc", OT_GPC),
        ("ot-bad-group", "groups=C0002%3Ayes"),
    ] {
        o.put("cmp", name, v);
    }
    let policies = [
        fs::read_to_string(repo.join("dev/projects/demo-web.json")).ok().and_then(|s| serde_json::from_str::<Value>(&s).ok()).map(|v| v["consent"].to_string()).unwrap_or_default(),
        r#"{"mode":"opt-out","honor_cmp_refusal":true,"cookiebot":["marketing"],"onetrust_groups":["C0004"]}"#.to_string(),
        r#"{"mode":"none","honor_gpc":true}"#.to_string(),
        r#"{"mode":"opt-in","tcf_purposes":[1,7,10],"tcf_vendor":755,"version":"v2"}"#.to_string(),
        r#"{"mode":"optin","sdk_keys":{"analytics_storage":"granted","functionality_storage":"GRANTED"},"cookiebot_out_of_region_grants":true}"#.to_string(),
    ];
    for (i, p) in policies.iter().enumerate() {
        let h = &headers[(i + 1) % headers.len()];
        o.put(
            "decide",
            &format!("policy-{i}"),
            format!(
                "{p}{SEP}{h}{SEP}{}{SEP}{{\"analytics_storage\":\"granted\"}}",
                i % 2
            ),
        );
    }
    o.put(
        "decide",
        "arbitrary-policy",
        format!("\u{2}\u{3}\u{1}\u{7}\u{1}\u{2}\u{3}{SEP}euconsent-v2={tc_granted}{SEP}{SEP}{{}}"),
    );

    // --- tcf, tcf_bits ------------------------------------------------------------------------
    // A spread of the generated cases: every 12th, plus any with restrictions/publisher TC.
    let mut picked = 0;
    for (i, c) in cases.iter().enumerate() {
        let tc = c["tc"].as_str().unwrap();
        let e = &c["expect"];
        let special = !e["publisherRestrictions"]
            .as_array()
            .is_none_or(|a| a.is_empty())
            && i % 3 == 0;
        if i % 12 == 0 || special {
            o.put("tcf", &format!("generated-{i:03}"), tc);
            let segs: Vec<Vec<u8>> = tc.split('.').map(b64url_decode).collect();
            let mut bits = Vec::new();
            for (k, s) in segs.iter().enumerate() {
                if k > 0 {
                    bits.extend_from_slice(SEP.as_bytes());
                }
                bits.extend_from_slice(s);
            }
            o.put("tcf_bits", &format!("generated-{i:03}"), bits);
            picked += 1;
        }
        if picked >= 80 {
            break;
        }
    }
    o.put("tcf", "iab-doc-example", TCF_IAB_DOC);
    o.put("tcf", "truncated", &TCF_IAB_DOC[..20]);
    o.put("tcf", "bad-char", "CO!!garbage");

    // --- project ------------------------------------------------------------------------------
    for dir in ["dev/projects", "tests/projects"] {
        let mut files: Vec<_> = fs::read_dir(repo.join(dir))
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .collect();
        files.sort();
        for f in files {
            let name = f.file_stem().unwrap().to_string_lossy().to_string();
            let cfg = fs::read_to_string(&f).unwrap();
            o.put(
                "project",
                &format!("{name}-a"),
                format!("{cfg}{SEP}https://shop.example{SEP}demo-web-read"),
            );
            o.put(
                "project",
                &format!("{name}-b"),
                format!("{cfg}{SEP}http://localhost:8787/{SEP}wrong"),
            );
        }
    }
    o.put("project", "full", format!(
        r#"{{"name":"x","type":"combined","enabled":false,"allowed_origins":["*","http://127.0.0.1:*"],"consent":{{"mode":"none"}},"masking":{{}},"retention_days":395,"rate_limit":{{"beacons_per_minute":0,"chunks_per_day":10}},"limits":{{"max_body_bytes":1,"max_events":1}},"session":{{"idle_secs":1,"max_secs":null}},"read_token_sha256":"{}","audit_token_sha256":""}}{SEP}http://127.0.0.1:9{SEP}t"#,
        veilgate::project::sha256_hex(b"t")
    ));

    // --- routes, headers ----------------------------------------------------------------------
    for (i, (m, p)) in [
        ("POST", "/v1/ingest/demo"),
        ("OPTIONS", "/v1/ingest/demo-web/"),
        ("GET", "/v1/projects/demo/sessions"),
        ("GET", "/v1/projects/demo/sessions/s_12345678"),
        ("DELETE", "/v1/projects/demo/sessions/s_12345678"),
        ("GET", "/v1/projects/demo/sessions/s_12345678/events"),
        (
            "GET",
            "/v1/projects/demo/sessions/s_12345678/chunks/00000003",
        ),
        ("DELETE", "/v1/projects/demo/visitors/v_12345678"),
        ("GET", "/v1/projects/demo/audit/verify"),
        ("GET", "/v1/projects/demo/audit/report"),
        ("GET", "/v1/opt-out"),
        ("GET", "/healthz"),
        ("GET", "/v1/projects/demo/sessions/..%2F../chunks/-1"),
        ("PUT", "/v1/ingest/de%00mo"),
    ]
    .iter()
    .enumerate()
    {
        o.put("routes", &format!("route-{i:02}"), format!("{m}{SEP}{p}"));
    }
    for (i, ua) in [
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.1; rv:133.0) Gecko/20100101 Firefox/133.0",
        "okhttp/4.12.0",
    ]
    .iter()
    .enumerate()
    {
        let (enc, q, ct, auth) = [("gzip", "", "text/plain;charset=UTF-8", "Bearer demo-read"), ("identity", "gzip", "application/json", "bearer  x "), ("br", "zstd", "text/html", "Basic abc")][i % 3];
        o.put("headers", &format!("ua-{i}"), format!("{ua}{SEP}{enc}{SEP}{q}{SEP}{ct}{SEP}{auth}"));
    }

    // --- audit_parse: NDJSON of real chains ---------------------------------------------------
    let mut head = ChainHead::new("demo", "s_fuzzseed01");
    let mut lines = Vec::new();
    let mut keys = Vec::new();
    let d = Decision::new(
        Reason::GrantedTcf,
        vec!["tcf".into(), "gpc".into()],
        "default-1".into(),
    );
    let v = audit::visitor_pseudonym(b"key", "demo", "v_fuzzseed01");
    for (i, draft) in [
        Draft::decision(
            "demo",
            "s_fuzzseed01",
            Some(&v),
            1_763_000_000_000,
            &d,
            Some(0),
        ),
        Draft::decision(
            "demo",
            "s_fuzzseed01",
            Some(&v),
            1_763_000_100_000,
            &Decision::new(
                Reason::OptOutCookie,
                vec!["opt_out_cookie".into()],
                "default-1".into(),
            ),
            Some(4),
        ),
        Draft::erasure(
            "demo",
            "s_fuzzseed01",
            Some(&v),
            1_763_086_400_000,
            "visitor_erasure",
        ),
        Draft::finalize("demo", "s_fuzzseed01", 1_763_090_000_000, "idle"),
    ]
    .into_iter()
    .enumerate()
    {
        let (rec, next) = head.next(draft);
        keys.push(head.key_for(&rec, &next));
        lines.push(rec.to_json());
        head = next;
        let _ = i;
    }
    let anchor_head = ChainHead::new(
        "demo",
        &audit::anchor_chain_id(audit::anchor_shard("s_fuzzseed01")),
    );
    let (anchor, _) = anchor_head.next(Draft::anchor(
        "demo",
        audit::anchor_shard("s_fuzzseed01"),
        1_763_090_000_001,
        head.anchor_ref(),
    ));
    o.put(
        "audit_parse",
        "session-chain.ndjson",
        lines.join("\n") + "\n",
    );
    o.put("audit_parse", "anchor.ndjson", anchor.to_json() + "\n\n");
    o.put(
        "audit_parse",
        "keys-and-days",
        format!(
            "{}\n{}\n2024-02-29\n2026-02-29\n1970-01-01\n9999-12-31\n",
            keys.join("\n"),
            audit::anchor_key("demo", 3, 12)
        ),
    );
    o.put(
        "audit_parse",
        "one-bad-line.ndjson",
        format!("{}\n{{\"v\":1}}\n", lines[0]),
    );

    // --- structure-aware targets: pseudo-random bytes ---------------------------------------
    let mut x = 0x0123_4567_89ab_cdefu64;
    let mut rnd = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    };
    for (i, n) in [64usize, 256, 1024, 4096].iter().enumerate() {
        o.put("audit_chain", &format!("random-{i}"), rnd(*n));
        o.put("mask_events", &format!("random-{i}"), rnd(*n * 2));
    }
    o.put(
        "storage",
        "empty-and-bad",
        format!("{{\"events\":[]}}{SEP}{{\"events\":[1,\"x\",{{}}]}}{SEP}{{\"events\":null}}"),
    );

    // --- selector: the documented examples and edge cases, each with a path shape ----------
    for (i, sel) in [
        ".product-title, .price",
        "#account .address",
        "[data-widget=chat]",
        "form input[name^=card]",
        "div > span",
        "body div div span a",
        "*",
        "input[inputType=email]",
        "[identifier=promo]",
        "web_view[identifier=chat] text",
        "td > a[href$='.pdf'], li [data-user]",
        "[class~=pii][data-email*=\"@\"]",
        "a b c d e f g h",
        "a:hover",
        "a + b",
        "[x=\\y]",
        "[lang|=en i]",
    ]
    .iter()
    .enumerate()
    {
        let shape: Vec<u8> = rnd(12).into_iter().filter(|&b| b != 0xFF).collect();
        let mut seed = format!("{sel}{SEP}").into_bytes();
        seed.extend_from_slice(&shape);
        o.put("selector", &format!("sel-{i:02}"), seed);
    }
    // Mobile wireframe events for the JSON masking target.
    o.put("mask_events_json", "mobile", r##"[{"type":4,"data":{"href":"app://com.shop.app/Checkout?email=jane@example.com","width":390,"height":844},"timestamp":1},{"type":2,"data":{"wireframes":[{"id":1,"kind":"view","x":0,"y":0,"width":390,"height":844,"children":[{"id":3,"kind":"input","x":16,"y":120,"width":358,"height":44,"inputType":"email","value":"jane@example.com","placeholder":"Email","label":"Email address","sensitive":false,"style":{"color":"#222"}},{"id":4,"kind":"text","text":"Card 4111 1111 1111 1111","x":0,"y":0,"width":1,"height":1},{"id":5,"kind":"image","base64":"iVBORw0KGgo=","sensitive":true,"x":0,"y":0,"width":1,"height":1}]}]},"timestamp":2},{"type":3,"data":{"source":0,"adds":[{"parentId":1,"wireframe":{"id":9,"kind":"input","inputType":"password","value":"hunter2"}}],"updates":[{"wireframe":{"id":3,"kind":"input","value":"+1 415 555 0100"}}],"removes":[{"parentId":1,"id":4}]},"timestamp":3},{"type":3,"data":{"source":5,"id":9,"text":"hunter2","isChecked":false},"timestamp":4}]"##);
    o.put("mask_events_json", "policy", format!(r##"[{{"type":2,"data":{{"node":{{"type":0,"id":1,"childNodes":[{{"type":2,"id":2,"tagName":"div","attributes":{{"class":"price","id":"account"}},"childNodes":[{{"type":3,"id":3,"textContent":"49,90 € jane@example.com"}}]}}]}}}},"timestamp":1}}]{SEP}{{"record":{{"numbers":true,"emails":true}},"rules":[{{"selector":".price","action":"unmask"}},{{"selector":"#account .address","action":"mask"}}],"sensitive_keys":["customer_ref"]}}"##));

    println!(
        "wrote {} seed files, {} bytes, under {}",
        o.files,
        o.total,
        o.root.display()
    );
}
