//! URL scrubbing: page and meta URLs, `href`/`src`/`action`/`srcset` attributes.
//!
//! The structure stays (scheme, host, path separators, parameter names); values are masked
//! with `*` keeping their encoded length:
//! - userinfo (`user:pass@`) is always masked;
//! - a host that is an IP address is masked when IPs are masked;
//! - query (and `#fragment` parameters, e.g. OAuth `#access_token=`): the value of a
//!   sensitive key (denylist + project `sensitive_keys`) is masked; any other value is
//!   masked entirely when a detector fires on its decoded form;
//! - path segments and plain fragments: detector matches are masked (without the digit and
//!   high-entropy rules, which would break asset URLs needed by the replay);
//! - `mailto:`/`tel:`/`sms:` URLs: everything after the scheme;
//! - `data:` URLs are returned unchanged (the walk decides whether to drop them).

use std::borrow::Cow;

use super::detect::{self, Detect};
use super::policy::is_sensitive_key;

/// Detector settings for URLs.
#[derive(Debug, Clone, Copy)]
pub struct UrlRules<'a> {
    /// For path segments and plain fragments.
    pub path: Detect,
    /// For query values.
    pub query: Detect,
    pub extra_keys: &'a [String],
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
        }
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
                if host.starts_with('[') {
                    out.push('[');
                    stars(&mut out, host_inner);
                    out.push(']');
                } else {
                    stars(&mut out, host);
                }
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

/// `a=1&b=2` (also `;`-separated); separators are kept as they were.
fn scrub_params(out: &mut String, q: &str, r: &UrlRules<'_>) -> bool {
    let mut changed = false;
    let mut rest = q;
    loop {
        let (pair, sep, next) = match rest.find(['&', ';']) {
            Some(p) => (&rest[..p], Some(&rest[p..=p]), Some(&rest[p + 1..])),
            None => (rest, None, None),
        };
        match pair.split_once('=') {
            Some((k, v)) => {
                let key = percent_decode(k, true);
                changed |= push_scrubbed(out, k, r.query, true);
                out.push('=');
                if !v.is_empty() && is_sensitive_key(&key, r.extra_keys) {
                    stars(out, v);
                    changed = true;
                } else {
                    changed |= push_scrubbed(out, v, r.query, true);
                }
            }
            None => changed |= push_scrubbed(out, pair, r.query, true),
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

/// Append `raw` scrubbed. Returns true if it changed. Detection runs on the decoded form;
/// when the raw text has escapes and a detector fires, the whole component is masked.
fn push_scrubbed(out: &mut String, raw: &str, d: Detect, whole: bool) -> bool {
    if raw.is_empty() {
        return false;
    }
    let decoded = percent_decode(raw, whole);
    let has_escapes = matches!(decoded, Cow::Owned(_));
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

/// Percent-decode (and `+` → space in query components). Invalid escapes are kept.
pub fn percent_decode(s: &str, plus: bool) -> Cow<'_, str> {
    if !s.bytes().any(|c| c == b'%' || (plus && c == b'+')) {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' && i + 2 < b.len() {
            let h = (b[i + 1] as char).to_digit(16);
            let l = (b[i + 2] as char).to_digit(16);
            if let (Some(h), Some(l)) = (h, l) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(if plus && c == b'+' { b' ' } else { c });
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
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

    fn rules() -> UrlRules<'static> {
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
            "/cb#access_token=*******&state=1"
        );
        assert_eq!(m("/#/account?session=xyz"), "/#/account?session=***");
        assert_eq!(m("mailto:jane@example.com"), "mailto:****************");
        assert_eq!(m("tel:+14155550132"), "tel:************");
        assert_eq!(
            m("/reset/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"),
            "/reset/****************************************"
        );
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
    fn decode() {
        assert_eq!(percent_decode("a%40b+c%zz%4", true), "a@b c%zz%4");
        assert_eq!(percent_decode("%", false), "%");
    }
}
