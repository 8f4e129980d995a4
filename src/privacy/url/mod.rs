//! URL scrubbing: page and meta URLs, `href`/`src`/`action`/`srcset` attributes, CSS
//! `url(…)`/`@import` (see [`scrub_css`]), network entries. [`scrub_url`] is the one URL
//! scrubber: every caller goes through it.
//!
//! The structure stays (scheme, host, path separators, parameter names); values are masked
//! with `*` keeping their encoded length:
//! - userinfo (`user:pass@`) is always masked;
//! - a host that is an IP address is masked when IPs are masked;
//! - query (and `#fragment` parameters, e.g. OAuth `#access_token=`): a value is kept only
//!   when its key (percent- and `+`-decoded) is on the allowlist ([`QUERY_ALLOWLIST`],
//!   [`QUERY_ALLOW_PREFIXES`], plus the project's `url_query_allowlist`) and is no sensitive
//!   key (denylist + project `sensitive_keys`), and even then it is masked entirely when a
//!   detector fires on its decoded form; every other value — a search term, a street address,
//!   a token — is masked entirely, escapes and `+` included. A bare parameter (`?Jane+Doe`,
//!   no `=`) is a value unless it is an allowed key;
//! - path segments and plain fragments: detector matches are masked (without the digit and
//!   high-entropy rules, which would break asset URLs needed by the replay);
//! - `mailto:`/`tel:`/`sms:` URLs: everything after the scheme;
//! - `data:` URLs are returned unchanged (the walk decides whether to drop them).
//!
//! This module is the scrubber itself (URLs, parameters, `srcset`); [`allowlist`] holds
//! which query keys keep their values, [`css`] finds the URLs inside CSS text.

mod allowlist;
mod css;

pub use allowlist::{is_allowed_query_key, QUERY_ALLOWLIST, QUERY_ALLOW_PREFIXES};
pub use css::{scrub_css, scrub_css_names, scrub_css_text};

use std::borrow::Cow;

use super::detect::{self, Detect};
use super::policy::is_sensitive_key;
use crate::percent::{self, Plus};

/// Detector settings for URLs.
#[derive(Debug, Clone, Copy)]
pub struct UrlRules<'a> {
    /// For path segments and plain fragments.
    pub path: Detect,
    /// For query values.
    pub query: Detect,
    pub extra_keys: &'a [String],
    /// The project's additions to [`QUERY_ALLOWLIST`] (`masking.url_query_allowlist`).
    pub allow: &'a [String],
}

impl<'a> UrlRules<'a> {
    pub fn new(text: Detect, extra_keys: &'a [String]) -> Self {
        UrlRules {
            path: Detect {
                numbers: false,
                entropy: false,
                ..text
            },
            query: Detect {
                numbers: false,
                ..text
            },
            extra_keys,
            allow: &[],
        }
    }

    /// These rules with the project's query allowlist additions.
    pub fn with_allow(self, allow: &'a [String]) -> Self {
        UrlRules { allow, ..self }
    }
}

fn stars(out: &mut String, raw: &str) {
    out.extend(std::iter::repeat_n('*', raw.chars().count()));
}

fn has_prefix_ci(s: &str, p: &str) -> bool {
    s.len() >= p.len() && s.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
}

/// Scrub one URL. Borrowed when nothing changed.
pub fn scrub_url<'s>(url: &'s str, r: &UrlRules<'_>) -> Cow<'s, str> {
    let t = url.trim_start();
    if has_prefix_ci(t, "data:") {
        return Cow::Borrowed(url);
    }
    for scheme in ["mailto:", "tel:", "sms:", "callto:"] {
        if has_prefix_ci(t, scheme) {
            let lead = url.len() - t.len() + scheme.len();
            if url.len() == lead {
                return Cow::Borrowed(url);
            }
            let mut out = String::with_capacity(url.len());
            out.push_str(&url[..lead]);
            stars(&mut out, &url[lead..]);
            return Cow::Owned(out);
        }
    }
    let mut out = String::new();
    let mut changed = false;
    // Split off fragment and query.
    let (before_frag, frag) = match url.find('#') {
        Some(p) => (&url[..p], Some(&url[p + 1..])),
        None => (url, None),
    };
    let (base, query) = match before_frag.find('?') {
        Some(p) => (&before_frag[..p], Some(&before_frag[p + 1..])),
        None => (before_frag, None),
    };
    // scheme://authority
    let mut rest = base;
    if let Some(p) = base.find("//") {
        let scheme_ok = base[..p]
            .trim_end_matches(':')
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'));
        if scheme_ok && (p == 0 || base[..p].ends_with(':')) {
            let auth_start = p + 2;
            let auth_end = base[auth_start..]
                .find('/')
                .map_or(base.len(), |q| auth_start + q);
            out.push_str(&base[..auth_start]);
            let auth = &base[auth_start..auth_end];
            let (userinfo, hostport) = match auth.rfind('@') {
                Some(a) => (Some(&auth[..a]), &auth[a + 1..]),
                None => (None, auth),
            };
            if let Some(u) = userinfo {
                stars(&mut out, u);
                out.push('@');
                changed = true;
            }
            let host = if hostport.starts_with('[') {
                hostport.find(']').map_or(hostport, |e| &hostport[..=e])
            } else {
                hostport.rsplit_once(':').map_or(hostport, |(h, _)| h)
            };
            let host_inner = host.trim_start_matches('[').trim_end_matches(']');
            let is_ip = !host_inner.is_empty()
                && (host_inner.contains(':')
                    || host_inner.bytes().all(|c| c.is_ascii_digit() || c == b'.'));
            if r.query.ips
                && is_ip
                && detect::is_sensitive(
                    host_inner,
                    Detect {
                        ips: true,
                        ..Detect::STRUCTURED
                    },
                )
            {
                // Brackets are kept exactly as they came (an unclosed `[` gets no `]`):
                // masking never adds or removes characters.
                let lead = host.len() - host.trim_start_matches('[').len();
                out.push_str(&host[..lead]);
                stars(&mut out, host_inner);
                out.push_str(&host[lead + host_inner.len()..]);
                out.push_str(&hostport[host.len()..]);
                changed = true;
            } else {
                out.push_str(hostport);
            }
            rest = &base[auth_end..];
        }
    }
    // Path segments.
    for (k, seg) in rest.split('/').enumerate() {
        if k > 0 {
            out.push('/');
        }
        changed |= push_scrubbed(&mut out, seg, r.path, false);
    }
    if let Some(q) = query {
        out.push('?');
        changed |= scrub_params(&mut out, q, r);
    }
    if let Some(f) = frag {
        out.push('#');
        // "#/route?x=y" or "#a=b&c=d" carry parameters; anything else is path-like text.
        if let Some(p) = f.find('?') {
            changed |= push_scrubbed(&mut out, &f[..p], r.path, false);
            out.push('?');
            changed |= scrub_params(&mut out, &f[p + 1..], r);
        } else if f.contains('=') {
            changed |= scrub_params(&mut out, f, r);
        } else {
            changed |= push_scrubbed(&mut out, f, r.path, false);
        }
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(url)
    }
}

/// Where the parameter starting `s` ends: at `&`, or at a `;` that starts another `key=`
/// (old-style `a=1;b=2`). A `;` inside a value (`family=Inter:wght@400;700`) stays in it.
fn param_end(s: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(p) = s[from..].find(['&', ';']).map(|p| from + p) {
        if s.as_bytes()[p] == b'&' {
            return Some(p);
        }
        let next = &s[p + 1..];
        let seg = &next[..next.find(['&', ';']).unwrap_or(next.len())];
        if seg.contains('=') {
            return Some(p);
        }
        from = p + 1;
    }
    None
}

/// `a=1&b=2` (also `;`-separated); separators are kept as they were.
fn scrub_params(out: &mut String, q: &str, r: &UrlRules<'_>) -> bool {
    let mut changed = false;
    let mut rest = q;
    loop {
        let (pair, sep, next) = match param_end(rest) {
            Some(p) => (&rest[..p], Some(&rest[p..=p]), Some(&rest[p + 1..])),
            None => (rest, None, None),
        };
        match pair.split_once('=') {
            Some((k, v)) => {
                changed |= push_scrubbed(out, k, r.query, true);
                out.push('=');
                if keeps_value(k, r) {
                    changed |= push_scrubbed(out, v, r.query, true);
                } else if v.bytes().any(|b| b != b'*') {
                    stars(out, v);
                    changed = true;
                } else {
                    out.push_str(v);
                }
            }
            // A bare parameter: a flag (`?amp`) when it is an allowed key, else a value.
            None if keeps_value(pair, r) => changed |= push_scrubbed(out, pair, r.query, true),
            None if pair.bytes().any(|b| b != b'*') => {
                stars(out, pair);
                changed = true;
            }
            None => out.push_str(pair),
        }
        match (sep, next) {
            (Some(s), Some(n)) => {
                out.push_str(s);
                rest = n;
            }
            _ => break,
        }
    }
    changed
}

/// Whether the value of the raw (encoded) key `k` is kept (through the detectors).
fn keeps_value(k: &str, r: &UrlRules<'_>) -> bool {
    let key = percent::decode(k, Plus::Space);
    is_allowed_query_key(&key, r.allow) && !is_sensitive_key(&key, r.extra_keys)
}

/// Append `raw` scrubbed. Returns true if it changed. Detection runs on the decoded form;
/// when the raw text has escapes and a detector fires, the whole component is masked.
fn push_scrubbed(out: &mut String, raw: &str, d: Detect, whole: bool) -> bool {
    if raw.is_empty() {
        return false;
    }
    let decoded = percent::decode_if(raw, whole);
    // Escapes (valid or not) or form-encoded spaces: the masked decoded text would not line up
    // with the raw text.
    let has_escapes = raw.bytes().any(|c| c == b'%' || (whole && c == b'+'));
    match detect::scrub(&decoded, d) {
        Cow::Borrowed(_) => {
            out.push_str(raw);
            false
        }
        Cow::Owned(masked) => {
            if has_escapes || whole {
                stars(out, raw);
            } else {
                out.push_str(&masked);
            }
            true
        }
    }
}

/// `srcset`: comma-separated `url descriptor` candidates.
pub fn scrub_srcset<'s>(v: &'s str, r: &UrlRules<'_>) -> Cow<'s, str> {
    let mut out = String::with_capacity(v.len());
    let mut changed = false;
    for (k, cand) in v.split(',').enumerate() {
        if k > 0 {
            out.push(',');
        }
        let lead = cand.len() - cand.trim_start().len();
        let body = cand.trim_start();
        let url_end = body.find(char::is_whitespace).unwrap_or(body.len());
        out.push_str(&cand[..lead]);
        let u = scrub_url(&body[..url_end], r);
        changed |= matches!(u, Cow::Owned(_));
        out.push_str(&u);
        out.push_str(&body[url_end..]);
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn rules() -> UrlRules<'static> {
        UrlRules::new(
            Detect {
                emails: true,
                ips: true,
                numbers: true,
                entropy: true,
            },
            &[],
        )
    }

    fn m(u: &str) -> String {
        scrub_url(u, &rules()).into_owned()
    }

    #[test]
    fn query_keys_and_values() {
        assert_eq!(
            m("https://shop.example/checkout?step=2&email=jane%40example.com&token=abc123"),
            "https://shop.example/checkout?step=2&email=******************&token=******"
        );
        assert_eq!(
            m("/search?q=jane@example.com&page=3"),
            "/search?q=****************&page=3"
        );
        assert_eq!(
            m("/p?ref=ORD-2024-118842&sort=price"),
            "/p?ref=ORD-2024-118842&sort=price"
        );
        assert_eq!(m("/p?card=4111111111111111"), "/p?card=****************");
        assert_eq!(m("/p?n=4111+1111+1111+1111"), "/p?n=*******************");
    }

    #[test]
    fn structure_is_kept() {
        for u in [
            "https://shop.example/",
            "https://shop.example/static/app.3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c.js",
            "/products/running-shoes-42?color=blue#reviews",
            "https://cdn.example/img/2024/01/15/photo.jpg",
            "",
            "#",
            "?",
            "javascript:void(0)",
            "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk",
        ] {
            assert_eq!(m(u), u);
        }
    }

    #[test]
    fn authority_path_fragment() {
        assert_eq!(
            m("https://bob:hunter2@example.com/x"),
            "https://***********@example.com/x"
        );
        assert_eq!(
            m("http://192.168.0.12:8080/admin"),
            "http://************:8080/admin"
        );
        assert_eq!(m("http://[2001:db8::1]/"), "http://[***********]/");
        assert_eq!(
            m("/users/jane.doe@example.com/profile"),
            "/users/********************/profile"
        );
        assert_eq!(
            m("/cb#access_token=abc.def&state=1"),
            "/cb#access_token=*******&state=*"
        );
        assert_eq!(m("/#/account?session=xyz"), "/#/account?session=***");
        assert_eq!(m("mailto:jane@example.com"), "mailto:****************");
        assert_eq!(m("tel:+14155550132"), "tel:************");
        assert_eq!(
            m("/reset/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"),
            "/reset/****************************************"
        );
    }

    /// Masking keeps the URL's characters: an unclosed or doubled bracket stays as it was.
    #[test]
    fn ip_hosts_keep_their_brackets() {
        assert_eq!(m("https://[7.0.0.1"), "https://[*******");
        assert_eq!(m("http://[[2001:db8::1]]/x"), "http://[[***********]]/x");
        assert_eq!(m("http://[2001:db8::1/x"), "http://[***********/x");
        for u in [
            "https://[7.0.0.1",
            "http://[27.0.0.1:43117/a?b=1",
            "http://[::1",
        ] {
            let once = m(u);
            assert_eq!(once.chars().count(), u.chars().count(), "{u}");
            assert_eq!(m(&once), once, "{u}");
        }
    }

    #[test]
    fn srcset() {
        let r = rules();
        assert_eq!(
            scrub_srcset("/a.png?u=jane@example.com 1x, /b.png 2x", &r),
            "/a.png?u=**************** 1x, /b.png 2x"
        );
    }

    #[test]
    fn query_allowlist() {
        assert_eq!(m("/s?q=Jane+Doe&page=2"), "/s?q=********&page=2");
        assert_eq!(m("/s?page=1;token=x;v=2"), "/s?page=1;token=*;v=2");
        assert_eq!(
            m("/css2?family=Inter:wght@400;700&display=swap"),
            "/css2?family=Inter:wght@400;700&display=swap"
        );
        assert_eq!(m("/s?UTM_Source=x&Page=2"), "/s?UTM_Source=x&Page=2");
        let extra = ["variant".to_string(), "pk_*".to_string()];
        let r = rules().with_allow(&extra);
        assert_eq!(
            scrub_url("/p?Variant=a&pk_x=b&pk=c", &r),
            "/p?Variant=a&pk_x=b&pk=*"
        );
        // Masked values stay as they are (idempotent, nothing counted as changed).
        assert!(matches!(scrub_url("/s?q=****", &rules()), Cow::Borrowed(_)));
    }

    /// A component with an escape, even an invalid one, is starred whole when a detector
    /// fires: the decoded text's match need not line up with the raw text.
    #[test]
    fn a_component_with_an_escape_is_masked_whole() {
        assert_eq!(
            m("/u/%zz(jane@example.com"),
            format!("/u/{}", "*".repeat(20))
        );
        assert_eq!(
            m("/u/%28jane@example.com"),
            format!("/u/{}", "*".repeat(19))
        );
        assert_eq!(m("/u/((jane@example.com"), "/u/((****************");
    }
}
