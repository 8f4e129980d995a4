//! URLs inside CSS text: `url(…)` arguments and `@import` strings are found with CSS's own
//! tokenizing rules (strings, escapes, bad strings) and each goes through
//! [`super::scrub_url`]; the rest of the stylesheet is kept byte for byte.

use std::borrow::Cow;

use super::{scrub_url, UrlRules};

/// The URLs in CSS text (`<style>` text, `style` attributes, `_cssText`, stylesheet rule and
/// declaration events, font sources): each `url(…)` argument (quoted or not, `URL(` in any
/// case) and each `@import "…"` string goes through [`scrub_url`]; everything else is kept
/// byte for byte, so the replay renders as before. `data:` URLs are kept, or blanked when
/// `drop_data` (masked areas). Borrowed when nothing changed.
pub fn scrub_css<'s>(css: &'s str, r: &UrlRules<'_>, drop_data: bool) -> Cow<'s, str> {
    let b = css.as_bytes();
    let mut out = String::new();
    let mut last = 0;
    let mut changed = false;
    let mut i = 0;
    while i < b.len() {
        let arg = match b[i] {
            b'(' if i >= 3
                && b[i - 3..i].eq_ignore_ascii_case(b"url")
                && (i == 3 || !is_css_ident(b[i - 4])) =>
            {
                Some(css_arg(b, i + 1, true))
            }
            b'@' if b.len() > i + 7 && b[i + 1..i + 7].eq_ignore_ascii_case(b"import") => {
                let j = i
                    + 7
                    + b[i + 7..]
                        .iter()
                        .take_while(|c| c.is_ascii_whitespace())
                        .count();
                // `@import url(…)` is read at its `url(`.
                matches!(b.get(j), Some(b'"' | b'\'')).then(|| css_arg(b, j, false))
            }
            _ => None,
        };
        let Some((u0, u1, next)) = arg else {
            i += 1;
            continue;
        };
        let u = &css[u0..u1];
        let is_data = u
            .trim_start()
            .get(..5)
            .is_some_and(|p| p.eq_ignore_ascii_case("data:"));
        let new = if is_data {
            drop_data.then_some(Cow::Borrowed(""))
        } else {
            match scrub_url(u, r) {
                Cow::Owned(o) => Some(Cow::Owned(o)),
                Cow::Borrowed(_) => None,
            }
        };
        if let Some(n) = new {
            out.push_str(&css[last..u0]);
            out.push_str(&n);
            last = u1;
            changed = true;
        }
        i = next.max(i + 1);
    }
    if !changed {
        return Cow::Borrowed(css);
    }
    out.push_str(&css[last..]);
    Cow::Owned(out)
}

fn is_css_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_') || c >= 0x80
}

/// The URL of a `url(` argument starting at `start` (after the parenthesis; `in_url`) or of
/// the string starting at `start` (`@import "…"`): `(first byte, end byte, where to go on)`.
/// Every boundary is an ASCII byte, so the slices are valid UTF-8.
fn css_arg(b: &[u8], start: usize, in_url: bool) -> (usize, usize, usize) {
    let mut j = start;
    if in_url {
        j += b[j..]
            .iter()
            .take_while(|c| c.is_ascii_whitespace())
            .count();
    }
    match b.get(j) {
        Some(&q @ (b'"' | b'\'')) => {
            // A CSS string: escapes skipped; unclosed, it ends at the line's end (CSS's
            // bad-string rule).
            let mut k = j + 1;
            while k < b.len() && b[k] != q && b[k] != b'\n' {
                k += if b[k] == b'\\' { 2 } else { 1 };
            }
            let end = k.min(b.len());
            (j + 1, end, end + 1)
        }
        _ if in_url => {
            let mut k = j;
            while k < b.len() && b[k] != b')' && !b[k].is_ascii_whitespace() {
                k += if b[k] == b'\\' { 2 } else { 1 };
            }
            let end = k.min(b.len());
            (j, end, end)
        }
        _ => (j, j, j + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::privacy::url::tests::rules;

    fn css(s: &str, drop: bool) -> String {
        scrub_css(s, &rules(), drop).into_owned()
    }

    #[test]
    fn css_urls() {
        assert_eq!(
            css(".a{background:url(/a.png?t=secret)}", false),
            ".a{background:url(/a.png?t=******)}"
        );
        assert_eq!(
            css(".a{background:Url( \"/a.png?t=sec\\\"ret\" )}", false),
            ".a{background:Url( \"/a.png?t=********\" )}"
        );
        assert_eq!(
            css("@import '/t.css?sid=1';@import url(/u.css?sid=2);", false),
            "@import '/t.css?sid=*';@import url(/u.css?sid=*);"
        );
        // Not a url( function: `myurl(`; no URL at all: borrowed.
        assert_eq!(css(".a{x:myurl(/a?t=1)}", false), ".a{x:myurl(/a?t=1)}");
        assert!(matches!(
            scrub_css(".a{color:red}", &rules(), true),
            Cow::Borrowed(_)
        ));
        // data: kept, or blanked in masked areas.
        let d = ".a{background:url(data:image/png;base64,AAAA)}";
        assert_eq!(css(d, false), d);
        assert_eq!(css(d, true), ".a{background:url()}");
        assert_eq!(
            css(".a{background:url(\"data:image/png;base64,AAAA\")}", true),
            ".a{background:url(\"\")}"
        );
        // Unclosed and truncated forms, multibyte text around them.
        for s in [
            "url(",
            "url(\"",
            "url('/a?t=x",
            "url(/a?t=x",
            "@import",
            "@import \"",
            "é{background:url(/é?t=ü\\é)}",
            "url(\"/a?t=x\nb\")",
        ] {
            let once = css(s, false);
            assert_eq!(once.chars().count(), s.chars().count(), "{s:?} -> {once:?}");
            assert_eq!(css(&once, false), once, "{s:?}");
            assert!(
                !once.contains("t=x") && !once.contains("t=ü"),
                "{s:?} -> {once:?}"
            );
        }
    }
}
