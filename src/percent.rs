//! Percent-decoding (`%XX` escapes), the one decoder for query strings, cookies and URLs.
//!
//! The escapes themselves are decoded by the `percent-encoding` crate (the worker already
//! links it through `url`); what this module adds is the one choice callers differ in:
//! whether `+` means a space (query strings and form bodies) or is kept (cookie values,
//! path segments, `mailto:` bodies). Invalid escapes (`%zz`, a trailing `%4`) are kept
//! literally, and bytes that decode to invalid UTF-8 become U+FFFD, so the output is never
//! longer in characters than the input and decoding never fails on input.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

/// Whether `+` in the input stands for a space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plus {
    /// `application/x-www-form-urlencoded`: query strings, form bodies.
    Space,
    /// Everything else: a `+` stays a `+`.
    Keep,
}

/// Decode `s`. Borrowed when no escape was decoded and no `+` replaced.
pub fn decode(s: &str, plus: Plus) -> Cow<'_, str> {
    if plus == Plus::Space && s.contains('+') {
        // A literal `+` only: an escaped `%2B` still decodes to `+`, as a form decoder does.
        let spaced = s.replace('+', " ");
        return Cow::Owned(percent_decode_str(&spaced).decode_utf8_lossy().into_owned());
    }
    percent_decode_str(s).decode_utf8_lossy()
}

/// [`decode`] with `+` as a space when `plus_is_space`: for callers that carry the choice as
/// a flag.
pub fn decode_if(s: &str, plus_is_space: bool) -> Cow<'_, str> {
    decode(
        s,
        if plus_is_space {
            Plus::Space
        } else {
            Plus::Keep
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_read_plus_as_space() {
        // routes.rs `query_param`: keys and values of a request's query string.
        assert_eq!(decode("project%20key+x", Plus::Space), "project key x");
        assert_eq!(decode("a%2Bb+c", Plus::Space), "a+b c");
        assert_eq!(decode("%", Plus::Space), "%");
        assert_eq!(decode("%4", Plus::Space), "%4");
        assert_eq!(decode("%zz%41", Plus::Space), "%zzA");
        assert_eq!(decode("%%41", Plus::Space), "%A");
        assert_eq!(decode("%C3%A9", Plus::Space), "é");
    }

    #[test]
    fn cookies_choose_per_cookie() {
        // consent/cookies.rs and consent/cmp.rs: CMP cookies, some form-encoded, some not.
        assert_eq!(decode("a%3Ab%2Cc+d", Plus::Keep), "a:b,c+d");
        assert_eq!(decode("a%3Ab%2Cc+d", Plus::Space), "a:b,c d");
        assert_eq!(decode_if("a%3Ab%2Cc+d", false), "a:b,c+d");
        assert_eq!(decode_if("a%3Ab%2Cc+d", true), "a:b,c d");
        assert_eq!(decode("%", Plus::Keep), "%");
        assert_eq!(decode("%4", Plus::Keep), "%4");
        assert_eq!(decode("%zz%41", Plus::Keep), "%zzA");
        assert_eq!(decode("%41", Plus::Keep), "A");
    }

    #[test]
    fn urls_keep_invalid_escapes_and_borrow_when_unchanged() {
        // privacy/url/ and privacy/plugins.rs: query keys/values (`+` is a space), path
        // segments and `mailto:` bodies (it is not).
        assert_eq!(decode("a%40b+c%zz%4", Plus::Space), "a@b c%zz%4");
        assert!(matches!(
            decode("plain/path", Plus::Space),
            Cow::Borrowed(_)
        ));
        assert!(matches!(decode("a+b", Plus::Keep), Cow::Borrowed(_)));
        assert!(matches!(decode("a+b", Plus::Space), Cow::Owned(_)));
        assert!(matches!(decode("%41", Plus::Keep), Cow::Owned(_)));
        // Bytes that are no UTF-8 are replaced, never an error.
        assert_eq!(decode("%FF%41", Plus::Keep), "\u{FFFD}A");
        assert_eq!(decode("%E2%82", Plus::Keep), "\u{FFFD}");
    }

    #[test]
    fn never_longer_than_the_input() {
        let alphabet = b"%+aF0zZ9\xc3\xa9";
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 12) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|k| alphabet[((x >> (k * 5)) % alphabet.len() as u64) as usize])
                .collect();
            let s = String::from_utf8_lossy(&bytes);
            for plus in [Plus::Space, Plus::Keep] {
                assert!(
                    decode(&s, plus).chars().count() <= s.chars().count(),
                    "{s:?}"
                );
            }
        }
    }
}
