//! Fuzz targets for veilgate's parsers and masking walk.
//!
//! Every target is a plain `pub fn(&[u8])` in [`targets`], listed in [`TARGETS`]. Two engines
//! run the same functions:
//!
//! - libFuzzer through `cargo fuzz` (nightly): `fuzz_targets/<name>.rs` is a one-line
//!   `fuzz_target!` around the function (feature `libfuzzer`).
//! - the stable driver (`src/bin/driver.rs`): replays the committed seeds under
//!   `corpus/<name>/`, then mutates them (and feeds random bytes) with a seeded RNG for a
//!   number of inputs or a time budget. Deterministic for a given seed; no nightly needed.
//!
//! A target fails by panicking: a crash in veilgate, or a broken invariant (`assert!`).
//!
//! Multi-part inputs (a cookie header plus `Sec-GPC` plus an SDK map, a method plus a path, …)
//! are split on the byte `0xFF`, which never occurs in UTF-8: seeds stay readable text, and each
//! part may hold any other byte, NUL and CR/LF included.

pub mod rrweb;
pub mod targets;
pub mod util;

/// One fuzz target: its name (also the `cargo fuzz` target and the corpus folder), its body,
/// and tokens the stable driver splices into inputs (libFuzzer reads `dict/<name>.dict`,
/// written from these by `driver --write-dicts`). Tokens are text; use [`token_bytes`] to get
/// their bytes: a char up to U+00FF stands for that byte (so `\u{ff}` is the part separator
/// `0xFF` and `\u{8b}` a raw gzip byte), any other char for its UTF-8.
pub struct Target {
    pub name: &'static str,
    pub run: fn(&[u8]),
    pub dict: &'static [&'static str],
}

const JSON_TOKENS: &[&str] = &[
    "{", "}", "[", "]", ",", ":", "\"", "\\", "\\u0000", "\\ud800", "null", "true", "false", "-0",
    "1e999", "0.5", "-1", "18446744073709551616", "\"\"",
];

/// Every target, in the order the driver runs them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "envelope",
        run: targets::envelope,
        dict: &[
            "\"session\":", "\"visitor\":", "\"seq\":", "\"platform\":", "\"web\"", "\"ios\"",
            "\"android\"", "\"page\":", "\"sdk\":", "\"consent\":", "\"events\":", "\"type\":",
            "\"data\":", "\"timestamp\":", "\"s_12345678\"", "1000000", "1000001", "{", "}", "[",
            "]", ",", "\"", "\\\"", "\\\\", "[[[[[[[[", "]]]]]]]]", "\u{0}", "\u{fffd}", "1e309",
        ],
    },
    Target {
        name: "gzip",
        run: targets::gzip,
        dict: &["\u{1f}\u{8b}\u{8}\u{0}", "\u{0}\u{0}\u{0}\u{0}", "\u{3}\u{0}", "\u{ff}\u{ff}"],
    },
    Target {
        name: "cookies",
        run: targets::cookies,
        dict: &[
            "; ", ";", "=", "\"", "veilgate_optout=", "veilgate_optout=1", "veilgate_optout=0",
            "euconsent-v2=", "CookieConsent=", "OptanonConsent=", "CookieConsent=-1", "\r\n",
            "\u{0}", "%3A", "%2C", "%27", "\u{ff}", "{\"analytics_storage\":\"granted\"}", "1",
            "groups=C0002%3A1", "{stamp:%27-1%27%2Cstatistics:true}",
        ],
    },
    Target {
        name: "tcf",
        run: targets::tcf,
        dict: &["C", "B", "A", ".", "AAAA", "____", "I", "Q", "g", "-", "_", "=", "CPt3fQAPt3fQA"],
    },
    Target {
        name: "tcf_bits",
        run: targets::tcf_bits,
        dict: &["\u{0}\u{0}", "\u{ff}\u{ff}", "\u{1}", "\u{fe}"],
    },
    Target {
        name: "cmp",
        run: targets::cmp,
        dict: &[
            "{", "}", "%2C", "%27", "'", ":", "stamp:", "necessary:", "preferences:",
            "statistics:", "marketing:", "method:", "ver:", "utc:", "region:", "true", "false",
            "-1", "&", "=", "groups=", "C0001%3A1", "C0002%3A0", "%3A", "isGpcEnabled=1",
            "interactionCount=", "AwaitingReconsent=true", "version=", "%", "+", "%FF",
        ],
    },
    Target {
        name: "decide",
        run: targets::decide,
        dict: &[
            "\"mode\":", "\"opt-in\"", "\"opt-out\"", "\"none\"", "\"tcf_purposes\":",
            "\"tcf_vendor\":", "\"cookiebot\":", "\"onetrust_groups\":", "\"sdk_keys\":",
            "\"sdk\":", "\"honor_gpc\":true", "\"honor_cmp_refusal\":true", "\"version\":",
            "\"cookiebot_out_of_region_grants\":true", "\"statistics\"", "\"C0002\"",
            "euconsent-v2=", "CookieConsent=-1", "OptanonConsent=groups=C0002%3A1",
            "veilgate_optout=1", "\u{ff}1\u{ff}", "{\"analytics_storage\":\"granted\"}",
        ],
    },
    Target {
        name: "project",
        run: targets::project,
        dict: &[
            "\"name\":", "\"type\":", "\"web\"", "\"mobile\"", "\"combined\"", "\"enabled\":",
            "\"allowed_origins\":", "\"consent\":", "\"masking\":", "\"retention_days\":",
            "\"rate_limit\":", "\"limits\":", "\"session\":", "\"read_token_sha256\":",
            "\"audit_token_sha256\":", "\"*\"", "\"http://localhost:*\"", ":*", "http://", ":",
            "\"0000000000000000000000000000000000000000000000000000000000000000\"", "395", "396",
        ],
    },
    Target {
        name: "routes",
        run: targets::routes,
        dict: &[
            "GET", "POST", "DELETE", "OPTIONS", "PUT", "/", "/v1", "/v1/ingest/", "/v1/projects/",
            "/sessions", "/events", "/chunks/", "/visitors/", "/audit", "/verify", "/report",
            "/healthz", "/v1/opt-out", "/v1/opt-in", "s_12345678", "demo", "..", "%2F", "4294967296",
            "00000003", "\u{0}",
        ],
    },
    Target {
        name: "headers",
        run: targets::headers,
        dict: &[
            "Mozilla/5.0", "Chrome/", "Edg/", "Firefox/", "Safari/", "iPhone", "Android", "Mobile",
            "gzip", "x-gzip", "identity", "br", "text/plain", "application/json", ";charset=",
            "Bearer ", "bearer ",
        ],
    },
    Target {
        name: "audit_parse",
        run: targets::audit_parse,
        dict: &[
            "\"v\":1", "\"project\":", "\"session\":", "\"visitor\":", "\"seq\":", "\"at\":",
            "\"kind\":", "\"decision\"", "\"erasure\"", "\"finalize\"", "\"anchor\"",
            "\"decision\":", "\"stored\"", "\"dropped\"", "\"reason\":", "\"policy_version\":",
            "\"signals\":", "\"beacon_seq\":", "\"anchor\":", "\"prev\":", "\"hash\":", "\n",
            "audit/", "/_anchors/", ".json", "2026-02-29", "2024-02-29", "/000000.json",
        ],
    },
    Target {
        name: "audit_chain",
        run: targets::audit_chain,
        dict: &["\u{0}", "\u{ff}", "\u{1}\u{0}\u{0}\u{0}"],
    },
    Target {
        name: "storage",
        run: targets::storage,
        dict: &["{\"events\":[", "]}", "{\"events\":[]}", "\u{ff}", "\"v\":1,", "{}", ","],
    },
    Target {
        name: "mask_events",
        run: targets::mask_events,
        dict: &["\u{0}", "\u{ff}", "\u{2}", "\u{3}", "\u{5}", "@", "jane@example.com"],
    },
    Target {
        name: "mask_events_json",
        run: targets::mask_events_json,
        dict: &[
            "\"type\":", "\"data\":", "\"node\":", "\"childNodes\":", "\"textContent\":",
            "\"attributes\":", "\"tagName\":", "\"id\":", "\"source\":", "\"text\":",
            "\"adds\":", "\"texts\":", "\"value\":", "\"href\":", "\"input\"", "\"password\"",
            "jane@example.com", "4111 1111 1111 1111", "+1 415 555 0100", "\u{ff}",
        ],
    },
    Target {
        name: "mask_url",
        run: targets::mask_url,
        dict: &[
            "http://", "https://", "?", "&", "=", "#", "%40", "@", "email=", "token=", "password=",
            "jane@example.com", "4111111111111111", "/", "%", "%%",
        ],
    },
];

/// Tokens every target may also splice in.
pub fn common_tokens() -> &'static [&'static str] {
    JSON_TOKENS
}

/// The bytes a dictionary token stands for (see [`Target`]).
pub fn token_bytes(token: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(token.len());
    for c in token.chars() {
        match u8::try_from(u32::from(c)) {
            Ok(b) => out.push(b),
            Err(_) => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    out
}

/// Look a target up by name.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}
