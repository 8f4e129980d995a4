//! Credentials named by their key in free text: `password=…`, `mysql_pwd=…`, `passwd: …`,
//! `client_secret=…`, `access_token=…`, `api_key: …`, `"accessToken":"…"`, `auth=…`,
//! `Authorization: …`. The value is masked whatever it looks like (a low-entropy password is
//! still a password); the key is kept. Always on.
//!
//! A key is a run of `[A-Za-z0-9_-]` ending (ASCII case-insensitively) with one of
//! [`KEY_SUFFIXES`], optionally closed by a quote, then `:` or `=` (spaces around allowed,
//! not newlines). The value is the quoted string, or the run up to whitespace or a delimiter
//! (`& ; , " ' < > ) ] }`). After `Authorization` an auth scheme word (`Bearer`, `Basic`, …)
//! is kept and the credential after it masked.

use super::Span;

/// Key endings that name a credential. Matched at the end of the key, so `mysql_pwd`,
/// `client_secret`, `x-api-key`, `accessToken`, `oauth` are covered; whole-word keys that
/// are too common in prose (`key`, `pass`) are left out.
const KEY_SUFFIXES: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "auth",
    "authorization",
    "credentials",
    "credential",
    "privatekey",
    "private_key",
    "private-key",
    "secret_key",
    "access_key",
];

/// Auth scheme words kept in front of the credential after an `Authorization` key.
const SCHEMES: &[&str] = &["bearer", "basic", "token", "digest", "negotiate"];

/// Longest value read (a quoted value without its closing quote ends at the line's end).
const MAX_VALUE: usize = 1024;

fn is_key(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

fn ends_with_ci(s: &[u8], suffix: &str) -> bool {
    s.len() >= suffix.len() && s[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}

/// Whether `key` names a credential.
pub(super) fn is_secret_key(key: &[u8]) -> bool {
    // Cheap first: every suffix ends in one of these letters.
    matches!(
        key.last().map(u8::to_ascii_lowercase),
        Some(b'd' | b't' | b'n' | b'y' | b'h' | b's' | b'l')
    ) && KEY_SUFFIXES.iter().any(|k| ends_with_ci(key, k))
}

/// For the prefilter: does the key (possibly quoted) ending just before `b[i]` name a
/// credential? `b[i]` is the `:` or `=` (spaces before it are not looked through: the
/// prefilter is only a shortcut, the scan reads them).
pub(super) fn secret_key_before(b: &[u8], i: usize) -> bool {
    let mut e = i;
    while e > 0 && matches!(b[e - 1], b' ' | b'"' | b'\'') && i - e < 4 {
        e -= 1;
    }
    let mut s = e;
    while s > 0 && is_key(b[s - 1]) && e - s < 64 {
        s -= 1;
    }
    is_secret_key(&b[s..e])
}

/// A key naming a credential starting at word start `i` and ending at `k` (the end of its
/// `[A-Za-z0-9_-]` run, which the caller has read), and its value's span.
pub(super) fn keyed_at(b: &[u8], i: usize, k: usize) -> Option<Span> {
    let mut j = k;
    if matches!(b.get(j), Some(b'"' | b'\'')) {
        j += 1;
    }
    while b.get(j) == Some(&b' ') {
        j += 1;
    }
    if !matches!(b.get(j), Some(b':' | b'=')) || !is_secret_key(&b[i..k]) {
        return None;
    }
    j += 1;
    while matches!(b.get(j), Some(b' ' | b'\t')) {
        j += 1;
    }
    let (mut s, quote) = match b.get(j) {
        Some(&q @ (b'"' | b'\'')) => (j + 1, Some(q)),
        _ => (j, None),
    };
    if ends_with_ci(&b[i..k], "authorization") {
        s = after_scheme(b, s);
    }
    let e = match quote {
        Some(q) => {
            let mut e = s;
            while e < b.len() && b[e] != q && b[e] != b'\n' && e - s < MAX_VALUE {
                e += if b[e] == b'\\' && e + 1 < b.len() {
                    2
                } else {
                    1
                };
            }
            e.min(b.len())
        }
        None => {
            let mut e = s;
            while e < b.len()
                && !b[e].is_ascii_whitespace()
                && !matches!(
                    b[e],
                    b'&' | b';' | b',' | b'"' | b'\'' | b'<' | b'>' | b')' | b']' | b'}'
                )
                && e - s < MAX_VALUE
            {
                e += 1;
            }
            e
        }
    };
    (e > s).then_some((s, e))
}

/// Past an auth scheme word and its spaces, if the value starts with one.
fn after_scheme(b: &[u8], s: usize) -> usize {
    for sc in SCHEMES {
        let l = sc.len();
        if b.len() > s + l && b[s..s + l].eq_ignore_ascii_case(sc.as_bytes()) && b[s + l] == b' ' {
            let mut j = s + l;
            while b.get(j) == Some(&b' ') {
                j += 1;
            }
            return j;
        }
    }
    s
}

/// For the auth scheme rule: is `Authorization` (header or key) right before word start
/// `i`, so that whatever follows the scheme is a credential?
pub(super) fn after_authorization(b: &[u8], i: usize) -> bool {
    let mut e = i;
    while e > 0 && matches!(b[e - 1], b' ' | b'"' | b'\'' | b':' | b'=') && i - e < 6 {
        e -= 1;
    }
    e < i && ends_with_ci(&b[..e], "authorization")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        for k in [
            "mysql_pwd",
            "PASSWORD",
            "client_secret",
            "x-api-key",
            "accessToken",
            "oauth",
        ] {
            assert!(is_secret_key(k.as_bytes()), "{k}");
        }
        for k in ["author", "key", "tokens", "secretary", "bypass", ""] {
            assert!(!is_secret_key(k.as_bytes()), "{k}");
        }
        assert!(secret_key_before(b"a \"apikey\": x", 10));
        assert!(!secret_key_before(b"a key: x", 5));
    }

    #[test]
    fn values() {
        fn v(s: &str) -> Option<&str> {
            let k = s.bytes().position(|c| !is_key(c)).unwrap_or(s.len());
            keyed_at(s.as_bytes(), 0, k).map(|(a, e)| &s[a..e])
        }
        assert_eq!(v("password=x y"), Some("x"));
        assert_eq!(v("token: \"a \\\" b\" c"), Some("a \\\" b"));
        assert_eq!(v("Authorization: Bearer abc"), Some("abc"));
        assert_eq!(v("token="), None);
        assert_eq!(v("token count"), None);
        assert_eq!(v("pwd='unclosed"), Some("unclosed"));
    }
}
