//! `Cookie` request header parsing for hostile input.
//!
//! - No allocation proportional to the header: pairs are borrowed slices; only the few
//!   cookie names veilgate reads are retained, at most [`MAX_COPIES`] copies each.
//! - The whole header is scanned (linear time, nothing copied), so an opt-out cookie cannot
//!   be hidden behind kilobytes of junk or many decoy copies. The platform bounds the header
//!   size (Cloudflare: 32 KiB for all request headers).
//! - Pairs whose name is not an RFC 6265 token or whose value holds control characters
//!   (CR, LF, NUL, …: header injection attempts) are skipped, never interpreted.
//! - Duplicate names are all kept (in header order): browsers send a cookie once per
//!   matching domain/path, so two copies of a consent cookie can disagree. The policy
//!   layer requires every copy to agree before it grants anything.

/// Name of veilgate's first-party opt-out cookie.
pub const OPT_OUT_COOKIE: &str = "veilgate_optout";
/// IAB TCF v2 consent string cookie.
pub const TCF_COOKIE: &str = "euconsent-v2";
/// Cookiebot consent cookie.
pub const COOKIEBOT_COOKIE: &str = "CookieConsent";
/// OneTrust consent cookie.
pub const ONETRUST_COOKIE: &str = "OptanonConsent";

/// Copies of one interesting cookie name kept; more than that is flagged `overflow`.
pub const MAX_COPIES: usize = 4;

/// One `name=value` pair of a Cookie header. Surrounding double quotes are removed from
/// the value; nothing is percent-decoded here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair<'a> {
    pub name: &'a str,
    pub value: &'a str,
}

/// Iterate over the well-formed pairs of a Cookie header, lazily, skipping malformed ones.
pub fn pairs(header: &str) -> impl Iterator<Item = Pair<'_>> {
    header.split(';').filter_map(parse_pair)
}

fn is_ows(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// RFC 7230 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn parse_pair(raw: &str) -> Option<Pair<'_>> {
    let raw = raw.trim_matches(is_ows);
    let (name, value) = raw.split_once('=')?;
    let name = name.trim_matches(is_ows);
    let value = value.trim_matches(is_ows);
    if name.is_empty() || !name.bytes().all(is_token_byte) {
        return None;
    }
    // Control characters anywhere in the value: an injection attempt or corruption.
    if value.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return None;
    }
    let value = if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
        &value[1..value.len() - 1]
    } else {
        value
    };
    Some(Pair { name, value })
}

/// The cookies veilgate reads, borrowed from the header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsentCookies<'a> {
    /// Some copy of the opt-out cookie says "opted out" (every copy is looked at).
    pub opted_out: bool,
    /// The opt-out cookie is present at all (whatever its value).
    pub opt_out_present: bool,
    pub tcf: Vec<&'a str>,
    pub cookiebot: Vec<&'a str>,
    pub onetrust: Vec<&'a str>,
    /// Some consent cookie appeared more than [`MAX_COPIES`] times; the extra copies were
    /// not kept and the policy treats that cookie as unreadable.
    pub overflow: bool,
    /// Some consent cookie appeared more than once.
    pub duplicates: bool,
}

impl<'a> ConsentCookies<'a> {
    /// Scan the whole header (linear time, no copies of values).
    pub fn parse(header: &'a str) -> ConsentCookies<'a> {
        let mut out = ConsentCookies::default();
        for p in pairs(header) {
            let slot = match p.name {
                OPT_OUT_COOKIE => {
                    out.opt_out_present = true;
                    out.opted_out |= opt_out_value_means_opted_out(p.value);
                    continue;
                }
                TCF_COOKIE => &mut out.tcf,
                COOKIEBOT_COOKIE => &mut out.cookiebot,
                ONETRUST_COOKIE => &mut out.onetrust,
                _ => continue,
            };
            if !slot.is_empty() {
                out.duplicates = true;
            }
            if slot.len() < MAX_COPIES {
                slot.push(p.value);
            } else {
                out.overflow = true;
            }
        }
        out
    }
}

/// Any value other than empty or `0` counts as opted out: veilgate only ever sets `1`, and a
/// visitor who holds the cookie at all meant to opt out (privacy-first reading of a damaged
/// value). Opt-in clears the cookie with an empty value and `Max-Age=0`.
pub fn opt_out_value_means_opted_out(value: &str) -> bool {
    !value.is_empty() && value != "0"
}

/// Cookie values are percent-decoded by the one decoder (`crate::percent`); the name stays for
/// the consent readers and their fuzz target.
pub use crate::percent::decode_if as percent_decode;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_real_header() {
        let h =
            "_ga=GA1.2.1; euconsent-v2=CPt3fQAPt3fQA; veilgate_optout=1;CookieConsent=\"{x:1}\"";
        let c = ConsentCookies::parse(h);
        assert_eq!(c.tcf, vec!["CPt3fQAPt3fQA"]);
        assert_eq!(c.cookiebot, vec!["{x:1}"]);
        assert!(c.opted_out);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%3Ab%2Cc+d", false), "a:b,c+d");
        assert_eq!(percent_decode("a%3Ab%2Cc+d", true), "a:b,c d");
        assert_eq!(percent_decode("%", false), "%");
        assert_eq!(percent_decode("%4", false), "%4");
        assert_eq!(percent_decode("%zz%41", false), "%zzA");
        assert_eq!(percent_decode("%41", false), "A");
    }
}
