//! CSS text: its URLs — `url(…)` arguments and `@import` strings, found with CSS's own
//! tokenizing rules (strings, escapes, bad strings) — each go through [`super::scrub_url`]
//! ([`scrub_css`]); the rest of it goes through the text detectors ([`scrub_css_text`]). What
//! is not masked is kept byte for byte, so the replay renders as before.

use std::borrow::Cow;

use crate::privacy::detect::{self, Detect, Span};

use super::{scrub_url, UrlRules};

/// The URLs in CSS text (`<style>` text, `style` attributes, `_cssText`, stylesheet rule and
/// declaration events, font sources): each `url(…)` argument (quoted or not, `URL(` in any
/// case) and each `@import "…"` string goes through [`scrub_url`]; everything else is kept
/// byte for byte, so the replay renders as before. `data:` URLs are kept, or blanked when
/// `drop_data` (masked areas). Borrowed when nothing changed.
pub fn scrub_css<'s>(css: &'s str, r: &UrlRules<'_>, drop_data: bool) -> Cow<'s, str> {
    let mut out = String::new();
    let mut last = 0;
    let mut changed = false;
    for (u0, u1) in url_spans(css.as_bytes()) {
        let u = &css[u0..u1];
        let new = if is_data(u) {
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
    }
    if !changed {
        return Cow::Borrowed(css);
    }
    out.push_str(&css[last..]);
    Cow::Owned(out)
}

/// PII in CSS text outside its URLs (those are [`scrub_css`]'s): a `content: "…"` string
/// shows text on the page, and a script can put anything in a custom property, an attribute
/// selector or a comment. The detectors `d` run over all of it (callers leave the digit rule
/// out: CSS is made of numbers), except:
/// - URL arguments, which keep what [`scrub_url`] left (a `data:` font is no secret);
/// - outside strings and comments, where names live: no random-token guess (generated class
///   names look random), and a run of digits that starts inside an identifier
///   (`.jsx-2349871234`, `#row-4111111111111111`, a colour `#12345678`) is kept: class and id
///   names stay as the DOM has them, or the selectors would no longer match and the replay
///   would lose its layout. Emails and key-shaped secrets are masked there too.
///
/// Lengths are kept; borrowed when nothing changed.
pub fn scrub_css_text(css: &str, d: Detect) -> Cow<'_, str> {
    scrub_names_and_text(css, d, true)
}

/// Names the DOM and CSS share (`class`, `id`, `name`, SVG attributes, attribute names): the
/// detectors `d` as [`scrub_css_text`] runs them outside strings, so that the stylesheet's
/// selectors still match the names.
pub fn scrub_css_names(s: &str, d: Detect) -> Cow<'_, str> {
    scrub_names_and_text(s, d, false)
}

fn scrub_names_and_text(css: &str, d: Detect, is_css: bool) -> Cow<'_, str> {
    let b = css.as_bytes();
    // Names: no random-token guess (a generated class name looks random), and a digit run
    // glued to a name (`jsx-2349871234`, `#12345678`) is part of the name.
    let names = Detect {
        entropy: false,
        ..d
    };
    let mut spans: Vec<Span> = Vec::new();
    detect::find(css, names, &mut spans);
    let (urls, text) = if is_css {
        (url_spans(b), text_spans(b))
    } else {
        (Vec::new(), Vec::new())
    };
    let overlaps = |list: &[Span], (s, e): Span| list.iter().any(|&(a, z)| s < z && a < e);
    spans.retain(|&(s, e)| {
        let in_name = s > 0
            && (is_css_ident(b[s - 1]) || matches!(b[s - 1], b'\\' | b'#'))
            && b[s..e]
                .iter()
                .all(|c| c.is_ascii_digit() || b" -.()+".contains(c));
        // Dropped: inside a URL, or a digit run of a name outside strings and comments.
        let name_digits = in_name && !overlaps(&text, (s, e));
        !overlaps(&urls, (s, e)) && !name_digits
    });
    // Strings and comments are free text: every detector, `d` as given.
    if is_css && !text.is_empty() && d != names {
        let mut all = Vec::new();
        detect::find(css, d, &mut all);
        spans.extend(
            all.into_iter()
                .filter(|&sp| overlaps(&text, sp) && !overlaps(&urls, sp)),
        );
    }
    if spans.is_empty() {
        return Cow::Borrowed(css);
    }
    detect::apply(css, &mut spans, false)
}

/// The byte spans of the free text in `b`: quoted strings and comments, where nothing is a
/// name the DOM must match.
fn text_spans(b: &[u8]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = b[i + 2..]
                    .windows(2)
                    .position(|w| w == b"*/")
                    .map_or(b.len(), |p| i + 2 + p);
                out.push((i + 2, end));
                i = end + 2;
            }
            b'"' | b'\'' => {
                let (s, e, next) = css_arg(b, i, false);
                out.push((s, e));
                i = next.max(i + 1);
            }
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    out
}

fn is_data(u: &str) -> bool {
    u.trim_start()
        .get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case("data:"))
}

/// The byte spans of the URLs in `b`: `url(` arguments and `@import` strings, in order.
fn url_spans(b: &[u8]) -> Vec<Span> {
    let mut out = Vec::new();
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
        out.push((u0, u1));
        i = next.max(i + 1);
    }
    out
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
