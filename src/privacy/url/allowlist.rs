//! Which query parameters keep their values: the built-in allowlist (campaign and click ids,
//! navigation, language, asset parameters) plus the project's own additions. Everything not
//! allowed is masked whole by [`super::scrub_url`]; sensitive keys win over this list.

use super::has_prefix_ci;

/// Query keys whose values are kept (through the detectors): campaign and click ids,
/// pagination, sorting, language and the usual asset parameters (image sizes, versions, web
/// fonts), so that analytics stays readable and the replay still loads the site's assets.
/// Compared with the decoded key, ASCII case-insensitively. Left out on purpose: `q`, `s`,
/// `query`, `search`, `term` (search terms), `t` (often a token), `id`, `p`, `email`-like keys,
/// `_ga`/`_gl`/`mc_eid` (visitor ids), `redirect`/`return`/`next`/`url` (URLs that carry
/// their own parameters).
pub const QUERY_ALLOWLIST: &[&str] = &[
    // campaigns and click ids
    "gclid",
    "gclsrc",
    "dclid",
    "gbraid",
    "wbraid",
    "fbclid",
    "msclkid",
    "ttclid",
    "twclid",
    "li_fat_id",
    "igshid",
    "yclid",
    "mc_cid",
    "ref",
    "source",
    "campaign",
    // listing and navigation
    "page",
    "per_page",
    "page_size",
    "pagesize",
    "limit",
    "offset",
    "sort",
    "sort_by",
    "sortby",
    "order",
    "orderby",
    "order_by",
    "dir",
    "direction",
    "view",
    "tab",
    "step",
    "section",
    "category",
    "color",
    "colour",
    "size",
    "currency",
    "mode",
    "theme",
    "amp",
    // language
    "lang",
    "language",
    "locale",
    "hl",
    "lng",
    // assets: versions, image transforms, web fonts
    "v",
    "ver",
    "version",
    "rev",
    "w",
    "h",
    "width",
    "height",
    "fit",
    "crop",
    "dpr",
    "fm",
    "format",
    "quality",
    "auto",
    "family",
    "display",
    "subset",
];

/// Prefixes of allowed query keys (`utm_source`, `utm_medium`, …).
pub const QUERY_ALLOW_PREFIXES: &[&str] = &["utm_"];

/// Is the (decoded) query key `key` allowed: built in, or named by the project's `extra`
/// entries (exact, or a prefix when the entry ends with `*`)? Sensitive keys are checked
/// separately and win.
pub fn is_allowed_query_key(key: &str, extra: &[String]) -> bool {
    let k = key.trim();
    if k.is_empty() {
        return false;
    }
    QUERY_ALLOWLIST.iter().any(|a| k.eq_ignore_ascii_case(a))
        || QUERY_ALLOW_PREFIXES.iter().any(|p| has_prefix_ci(k, p))
        || extra.iter().any(|e| match e.strip_suffix('*') {
            Some(prefix) => !prefix.is_empty() && has_prefix_ci(k, prefix),
            None => k.eq_ignore_ascii_case(e),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::privacy::policy::is_sensitive_key;

    /// No built-in allowed key is a sensitive key (those would be masked anyway, and listing
    /// them would promise what is not done).
    #[test]
    fn built_in_allowlist_names_no_sensitive_key() {
        for k in QUERY_ALLOWLIST {
            assert!(!is_sensitive_key(k, &[]), "{k}");
            assert!(is_allowed_query_key(k, &[]), "{k}");
        }
        for k in [
            "q", "s", "t", "query", "search", "id", "p", "_ga", "url", "next",
        ] {
            assert!(!is_allowed_query_key(k, &[]), "{k}");
        }
    }
}
