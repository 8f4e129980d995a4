//! Issue 22 item 15: only the visitor opts out. `GET /v1/opt-out` sets the cookie on a
//! top-level navigation (the headers Chromium sends when a link is followed); an `<img>`,
//! a `fetch`, a frame or a client without fetch metadata gets the page with its button and
//! no cookie; the button's POST sets it when same-origin. Real Chromium: tools/sdk/e2e.mjs
//! scenario `img-optout` (run from `sdk::`).

use crate::support::worker;

/// What Chromium 13x sends for each kind of request to another site's URL.
const IMG: &[(&str, &str)] = &[
    ("Sec-Fetch-Site", "cross-site"),
    ("Sec-Fetch-Mode", "no-cors"),
    ("Sec-Fetch-Dest", "image"),
    (
        "Accept",
        "image/avif,image/webp,image/apng,image/*,*/*;q=0.8",
    ),
];
const FETCH: &[(&str, &str)] = &[
    ("Sec-Fetch-Site", "cross-site"),
    ("Sec-Fetch-Mode", "cors"),
    ("Sec-Fetch-Dest", "empty"),
    ("Origin", "https://evil.example"),
];
const IFRAME: &[(&str, &str)] = &[
    ("Sec-Fetch-Site", "cross-site"),
    ("Sec-Fetch-Mode", "navigate"),
    ("Sec-Fetch-Dest", "iframe"),
];
const NAVIGATION: &[(&str, &str)] = &[
    ("Sec-Fetch-Site", "cross-site"),
    ("Sec-Fetch-Mode", "navigate"),
    ("Sec-Fetch-Dest", "document"),
    ("Sec-Fetch-User", "?1"),
    ("Upgrade-Insecure-Requests", "1"),
];

#[test]
fn an_img_or_fetch_gets_no_cookie_and_a_navigation_does() {
    for (what, h) in [
        ("img", IMG),
        ("fetch", FETCH),
        ("iframe", IFRAME),
        ("no fetch metadata", &[][..]),
    ] {
        let r = worker().request("GET", "/v1/opt-out", h, None);
        assert_eq!(r.status, 200, "{what}");
        assert_eq!(r.header("Set-Cookie"), None, "{what} must not opt out");
        let html = r.text();
        assert!(
            html.contains("<form method=\"post\" action=\"/v1/opt-out\">"),
            "{what}: {html}"
        );
        assert!(!html.contains("<script"));
        assert!(r
            .header("Content-Security-Policy")
            .unwrap()
            .contains("form-action 'self'"));
    }
    let r = worker().request("GET", "/v1/opt-out", NAVIGATION, None);
    assert_eq!(r.status, 200);
    let cookie = r.header("Set-Cookie").expect("a navigation opts out");
    assert!(cookie.starts_with("veilgate_optout=1;"), "{cookie}");
    assert!(r.text().contains("href=\"/v1/opt-in\""));
}

#[test]
fn the_pages_button_opts_out_when_posted_from_this_origin() {
    let own = worker().base.clone();
    let admitted: [&[(&str, &str)]; 2] = [
        &[("Origin", &own), ("Sec-Fetch-Site", "same-origin")],
        &[("Sec-Fetch-Site", "same-origin")],
    ];
    for h in admitted {
        let r = worker().request("POST", "/v1/opt-out", h, Some(b""));
        assert_eq!(r.status, 200, "{h:?}: {}", r.text());
        assert!(
            r.header("Set-Cookie")
                .is_some_and(|c| c.starts_with("veilgate_optout=1;")),
            "{h:?}"
        );
    }
    let refused: [&[(&str, &str)]; 3] = [
        &[],
        &[
            ("Origin", "https://evil.example"),
            ("Sec-Fetch-Site", "cross-site"),
        ],
        &[("Origin", "null")],
    ];
    for h in refused {
        let r = worker().request("POST", "/v1/opt-out", h, Some(b""));
        assert_eq!(r.status, 200, "{h:?}");
        assert_eq!(r.header("Set-Cookie"), None, "{h:?}");
        assert!(r.text().contains("action=\"/v1/opt-out\""));
    }
}
