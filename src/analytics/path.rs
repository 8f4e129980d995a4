//! Page paths: the scrubbed URL's path, normalised so that one page template is one path and
//! no identifier survives.

use crate::privacy::detect::{self, Detect};

use super::ID_SEGMENT_MIN_LEN;

/// Longest segment kept as written; a longer one is an id.
const MAX_SEGMENT_CHARS: usize = 64;
/// Segments kept; the rest of a deeper path is dropped.
const MAX_SEGMENTS: usize = 16;

/// The detectors a segment or token must pass: every structured detector and the random-token
/// rule, but not "every digit" (`/v2`, `h1` are no personal data; digit-only ids are caught
/// by [`is_id_like`]).
pub(crate) const TOKEN_DETECT: Detect = Detect {
    emails: true,
    ips: true,
    numbers: false,
    entropy: true,
};

/// The normalised path of a (scrubbed) URL: query and fragment dropped; a segment of digits
/// only, a UUID, or ≥ [`ID_SEGMENT_MIN_LEN`] chars mixing letters and digits becomes `:id`,
/// and so does a segment the masking starred (`*`) or a detector flags; empty segments and a
/// trailing slash are dropped. `app://bundle/Screen` gives `/Screen`.
pub fn normalise_path(url: &str) -> String {
    let url = url.trim();
    let end = url.find(['?', '#']).unwrap_or(url.len());
    let url = &url[..end];
    let path = match url.find("://") {
        Some(p) => url[p + 3..].find('/').map_or("", |q| &url[p + 3 + q..]),
        None if url.starts_with('/') => url,
        None => "",
    };
    let mut out = String::with_capacity(path.len().min(256) + 1);
    for seg in path.split('/').filter(|s| !s.is_empty()).take(MAX_SEGMENTS) {
        out.push('/');
        if is_id_segment(seg) {
            out.push_str(":id");
        } else {
            out.push_str(seg);
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

fn is_id_segment(seg: &str) -> bool {
    seg.contains('*')
        || seg.chars().count() > MAX_SEGMENT_CHARS
        || is_id_like(seg)
        || detect::is_sensitive(seg, TOKEN_DETECT)
}

/// Digits only, a UUID, or ≥ [`ID_SEGMENT_MIN_LEN`] chars with both letters and digits.
pub(crate) fn is_id_like(s: &str) -> bool {
    let b = s.as_bytes();
    if !b.is_empty() && b.iter().all(u8::is_ascii_digit) {
        return true;
    }
    if is_uuid(b) {
        return true;
    }
    s.chars().count() >= ID_SEGMENT_MIN_LEN
        && s.chars().any(|c| c.is_ascii_digit())
        && s.chars().any(char::is_alphabetic)
}

fn is_uuid(b: &[u8]) -> bool {
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised() {
        for (url, want) in [
            (
                "https://shop.example/product/12345?ref=mail#top",
                "/product/:id",
            ),
            ("https://shop.example/", "/"),
            ("https://shop.example", "/"),
            ("https://shop.example/a//b/", "/a/b"),
            (
                "https://shop.example/o/123e4567-e89b-12d3-a456-426614174000/edit",
                "/o/:id/edit",
            ),
            // 16 chars mixing letters and digits: an id; 15: kept; 16 letters only: kept.
            ("https://x.example/t/abcdefghijklmno1", "/t/:id"),
            ("https://x.example/t/abcdefghijklmn1", "/t/abcdefghijklmn1"),
            (
                "https://x.example/t/abcdefghijklmnop",
                "/t/abcdefghijklmnop",
            ),
            ("https://x.example/u/****************", "/u/:id"),
            ("https://x.example/u/jane%40example.com", "/u/:id"),
            ("https://x.example/v2/docs", "/v2/docs"),
            ("app://com.shop.app/CheckoutScreen", "/CheckoutScreen"),
            ("/relative/42", "/relative/:id"),
            ("about:blank", "/"),
            ("", "/"),
        ] {
            assert_eq!(normalise_path(url), want, "{url}");
        }
    }

    #[test]
    fn uuid_needs_its_exact_shape() {
        assert!(is_uuid(b"123e4567-e89b-12d3-a456-426614174000"));
        assert!(!is_uuid(b"123e4567-e89b-12d3-a456-42661417400"));
        assert!(!is_uuid(b"123e4567+e89b-12d3-a456-426614174000"));
        // Hex letters only still make a UUID.
        assert!(is_id_like("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"));
        assert!(!is_id_like("checkout"));
        assert!(is_id_like("0"));
        assert!(!is_id_like(""));
    }
}
