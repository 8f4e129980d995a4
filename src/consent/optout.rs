//! veilgate's own opt-out: the first-party cookie set by `GET /v1/opt-out` when the visitor
//! navigated there (one click on a link), or by the same-origin `POST /v1/opt-out` of the page
//! a GET that is no navigation gets ([`opt_out_allowed`]): any other site could otherwise
//! opt its visitors out with an `<img>` or a `fetch`. Cleared by `POST /v1/opt-in` from the
//! page `GET /v1/opt-in` shows, only when same-origin ([`opt_in_allowed`]): any other site
//! could otherwise re-enable recording with an auto-submitted form. The pages. Pure strings;
//! the glue adds the headers ([`PAGE_HEADERS`] plus `Content-Security-Policy: `[`page_csp`]).

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::cookies::OPT_OUT_COOKIE;

/// 13 months: 395 days.
pub const OPT_OUT_MAX_AGE_SECS: u64 = 395 * 24 * 60 * 60;

const COOKIE_ATTRS: &str = "Path=/; Secure; HttpOnly; SameSite=None";

/// `Set-Cookie` value for `GET /v1/opt-out`.
pub fn opt_out_set_cookie() -> String {
    format!("{OPT_OUT_COOKIE}=1; Max-Age={OPT_OUT_MAX_AGE_SECS}; {COOKIE_ATTRS}")
}

/// `Set-Cookie` value for an admitted `POST /v1/opt-in`: clears the opt-out cookie.
pub fn opt_in_clear_cookie() -> String {
    format!("{OPT_OUT_COOKIE}=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; {COOKIE_ATTRS}")
}

/// Whether a `POST /v1/opt-in` comes from the worker's own pages. `own_origin` is the
/// worker's origin (`scheme://host[:port]` of the request URL). Every signal present must
/// say same-origin, and at least one must be present: `Origin` equal to `own_origin` (never
/// `null`), `Sec-Fetch-Site: same-origin`. A request with neither (old or non-browser
/// clients) is refused: clearing an opt-out is the one action a third party must not do.
pub fn opt_in_allowed(
    origin: Option<&str>,
    sec_fetch_site: Option<&str>,
    own_origin: &str,
) -> bool {
    let origin_ok = origin.map(|o| {
        let o = o.trim();
        !o.eq_ignore_ascii_case("null") && o.eq_ignore_ascii_case(own_origin.trim_end_matches('/'))
    });
    let site_ok = sec_fetch_site.map(|s| s.trim().eq_ignore_ascii_case("same-origin"));
    match (origin_ok, site_ok) {
        (None, None) => false,
        (o, s) => o.unwrap_or(true) && s.unwrap_or(true),
    }
}

/// The `Sec-Fetch-*`, `Origin` headers of a request, as sent (absent when `None`).
#[derive(Debug, Clone, Copy, Default)]
pub struct FetchMeta<'a> {
    pub origin: Option<&'a str>,
    pub site: Option<&'a str>,
    pub mode: Option<&'a str>,
    pub dest: Option<&'a str>,
}

/// Whether a request to `/v1/opt-out` may set the opt-out cookie. A GET only when it is a
/// top-level navigation (`Sec-Fetch-Mode: navigate` and `Sec-Fetch-Dest: document`: the
/// visitor followed a link or typed the address); an `<img>`, a `fetch`, an `<iframe>` or a
/// client that sends no fetch metadata gets the page with the button instead, whose POST
/// is admitted like the opt-in's ([`opt_in_allowed`]: same-origin signals, at least one).
/// Opting out only adds privacy, but a third party must not decide it for the visitor
/// either: it would silently stop the recordings a site relies on.
pub fn opt_out_allowed(post: bool, h: FetchMeta<'_>, own_origin: &str) -> bool {
    if post {
        return opt_in_allowed(h.origin, h.site, own_origin);
    }
    let is = |v: Option<&str>, want: &str| v.is_some_and(|v| v.trim().eq_ignore_ascii_case(want));
    is(h.mode, "navigate") && is(h.dest, "document")
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#222}a.button,button{display:inline-block;padding:.5rem 1rem;border:1px solid #444;border-radius:4px;color:#222;background:#fff;font:inherit;text-decoration:none;cursor:pointer}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<meta name=\"robots\" content=\"noindex\"><title>{title}</title><style>{STYLE}</style></head>\
<body><main><h1>{title}</h1>{body}</main></body></html>\n"
    )
}

/// Confirmation page served by `GET /v1/opt-out`, with a way back.
pub fn opt_out_page_html() -> String {
    page(
        "You are opted out of session recording",
        "<p>This browser will not be recorded on this site for 13 months, or until you \
opt back in. Recordings are identified by a cookie on this domain only; if you clear your \
cookies, you will need to opt out again.</p>\
<p><a class=\"button\" href=\"/v1/opt-in\">Opt back in</a></p>",
    )
}

/// Page served by a `GET /v1/opt-out` that is no navigation (or a refused POST): a plain
/// form (no script) whose button posts back; no cookie is set.
pub fn opt_out_confirm_page_html() -> String {
    page(
        "Opt out of session recording?",
        "<p>Opting out stops session recording of this browser on this site for 13 months, \
or until you opt back in. It is stored in a cookie on this domain only.</p>\
<form method=\"post\" action=\"/v1/opt-out\"><button type=\"submit\">Opt out</button></form>",
    )
}

/// Page served by `GET /v1/opt-in`: a plain form (no script) whose button posts back.
pub fn opt_in_confirm_page_html() -> String {
    page(
        "Opt back in to session recording?",
        "<p>This browser is opted out of session recording on this site. Opting back in \
removes the opt-out cookie; sessions may then be recorded again, according to the site's \
consent settings.</p>\
<form method=\"post\" action=\"/v1/opt-in\"><button type=\"submit\">Opt back in</button></form>\
<p><a href=\"/v1/opt-out\">Stay opted out</a></p>",
    )
}

/// Confirmation page served by an admitted `POST /v1/opt-in`, with a way back.
pub fn opt_in_page_html() -> String {
    page(
        "You are no longer opted out",
        "<p>The opt-out cookie has been removed. Sessions on this site may be recorded \
again, according to the site's consent settings.</p>\
<p><a class=\"button\" href=\"/v1/opt-out\">Opt out of session recording</a></p>",
    )
}

/// `Content-Security-Policy` for the pages: nothing but the one inline stylesheet, and forms
/// may post only to this origin.
pub fn page_csp() -> String {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE.as_bytes()));
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; base-uri 'none'; form-action 'self'; \
frame-ancestors 'none'"
    )
}

/// Other headers the glue should send with the pages.
pub const PAGE_HEADERS: [(&str, &str); 5] = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_values() {
        assert_eq!(
            opt_out_set_cookie(),
            "veilgate_optout=1; Max-Age=34128000; Path=/; Secure; HttpOnly; SameSite=None"
        );
        assert!(opt_in_clear_cookie().starts_with("veilgate_optout=; Max-Age=0;"));
    }

    #[test]
    fn opt_in_only_from_the_same_origin() {
        let own = "https://rec.example";
        let ok = |o, s| opt_in_allowed(o, s, own);
        assert!(ok(Some("https://rec.example"), None));
        assert!(ok(Some("https://REC.example"), Some("same-origin")));
        assert!(ok(None, Some("same-origin")));
        assert!(!ok(None, None), "no signal at all");
        assert!(!ok(Some("https://evil.example"), None));
        assert!(!ok(Some("https://evil.example"), Some("same-origin")));
        assert!(!ok(Some("https://rec.example"), Some("cross-site")));
        assert!(!ok(None, Some("cross-site")));
        assert!(!ok(None, Some("same-site")));
        assert!(!ok(None, Some("none")));
        assert!(!ok(Some("null"), None));
        assert!(!ok(Some("https://rec.example.evil.example"), None));
    }

    #[test]
    fn opt_out_only_on_a_navigation_or_a_same_origin_post() {
        let own = "https://rec.example";
        let get = |mode, dest, site| {
            opt_out_allowed(
                false,
                FetchMeta {
                    mode,
                    dest,
                    site,
                    origin: None,
                },
                own,
            )
        };
        // A link followed from any site, or the address typed.
        assert!(get(Some("navigate"), Some("document"), Some("cross-site")));
        assert!(get(Some("navigate"), Some("document"), Some("none")));
        assert!(get(Some("Navigate"), Some(" document"), None));
        // <img>, fetch, <iframe>, <script>, old clients: no cookie.
        assert!(!get(Some("no-cors"), Some("image"), Some("cross-site")));
        assert!(!get(Some("cors"), Some("empty"), Some("cross-site")));
        assert!(!get(Some("navigate"), Some("iframe"), Some("cross-site")));
        assert!(!get(Some("no-cors"), Some("script"), None));
        assert!(!get(Some("navigate"), None, None));
        assert!(!get(None, Some("document"), None));
        assert!(!get(None, None, None));
        let post = |origin, site| {
            opt_out_allowed(
                true,
                FetchMeta {
                    origin,
                    site,
                    ..FetchMeta::default()
                },
                own,
            )
        };
        assert!(post(Some(own), Some("same-origin")));
        assert!(post(None, Some("same-origin")));
        assert!(!post(Some("https://evil.example"), None));
        assert!(!post(None, Some("cross-site")));
        assert!(!post(None, None));
        let html = opt_out_confirm_page_html();
        assert!(html.contains("<form method=\"post\" action=\"/v1/opt-out\">"));
        assert!(!html.contains("<script"));
    }

    #[test]
    fn opt_in_page_is_a_plain_form_that_posts() {
        let html = opt_in_confirm_page_html();
        assert!(html.contains("<form method=\"post\" action=\"/v1/opt-in\">"));
        assert!(!html.contains("<script"));
        assert!(page_csp().contains("form-action 'self'"));
    }

    #[test]
    fn pages_link_to_each_other() {
        assert!(opt_out_page_html().contains("href=\"/v1/opt-in\""));
        assert!(opt_in_page_html().contains("href=\"/v1/opt-out\""));
        assert!(page_csp().contains("style-src 'sha256-"));
    }
}
