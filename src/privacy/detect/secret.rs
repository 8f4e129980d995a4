//! Credentials and secrets in word position: the credential after an authorization scheme
//! (`Bearer …`, `Basic …`, `token …`), JWTs, API keys by their vendor prefix
//! ([`KEY_PREFIXES`]), and, with `Detect::entropy`, long random-looking tokens. Always on.

use super::keyed::after_authorization;
use super::{Detect, Span};

/// Vendor prefixes of API keys and access tokens (Stripe, OpenAI, GitHub, GitLab, Slack, AWS,
/// Google, Shopify, npm, SendGrid, Square, Facebook): a token starting with one and at least
/// ten characters longer is a secret.
const KEY_PREFIXES: &[&str] = &[
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "rk_test_",
    "pk_live_",
    "whsec_",
    "sk-",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "xoxb-",
    "xoxp-",
    "xoxa-",
    "xoxs-",
    "AKIA",
    "ASIA",
    "AIza",
    "shpat_",
    "shpss_",
    "npm_",
    "SG.",
    "sq0atp-",
    "EAAC",
    "ya29.",
];

fn is_tok(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-')
}

pub(super) fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+' | b'/' | b'=')
}

fn run(b: &[u8], i: usize, f: fn(u8) -> bool) -> usize {
    let mut j = i;
    while j < b.len() && f(b[j]) {
        j += 1;
    }
    j
}

/// Authorization schemes (ASCII case-insensitive) whose credential follows after spaces, `+`
/// or `=` (form-encoded headers).
const AUTH_SCHEMES: &[&str] = &["bearer", "basic", "token"];

/// For the prefilter: does an auth scheme word end just before `b[i]` (a space, `+` or `=`)?
pub(super) fn scheme_before(b: &[u8], i: usize) -> bool {
    i >= 5
        && matches!(b[i - 1] | 0x20, b'r' | b'c' | b'n')
        && AUTH_SCHEMES.iter().any(|s| {
            let l = s.len();
            i >= l && b[i - l..i].eq_ignore_ascii_case(s.as_bytes())
        })
}

/// Whether the run after an auth scheme is its credential. Any run after `Authorization`
/// is; otherwise the scheme word may be prose ("Bearer of bad news", "Basic plan"), so the
/// run must not read as a word: after `Bearer`, anything but a plain word (lowercase or
/// capitalized letters) under 16 characters; after `Basic` (base64 of `user:pass`), a digit
/// or base64 punctuation, or mixed case in a multiple of four characters; after `token`, 8
/// characters with a digit; after any, 16 characters and more. Entropy is not asked:
/// `Bearer abcDEF` is a credential.
fn is_credential(scheme: &str, cred: &[u8], authorization: bool) -> bool {
    let n = cred.len();
    if n == 0 {
        return false;
    }
    if authorization || n >= 16 {
        return true;
    }
    let digit = cred.iter().any(u8::is_ascii_digit);
    let punct = cred.iter().any(|c| !c.is_ascii_alphanumeric());
    match scheme {
        "bearer" => {
            let plain = cred.iter().all(u8::is_ascii_alphabetic)
                && cred[1..].iter().all(u8::is_ascii_lowercase);
            !plain
        }
        // base64 comes in fours: `dXNlcjpwYXNz` is `user:pass`; `JavaScript` is a word.
        "basic" => {
            (n >= 6 && (digit || punct))
                || (n >= 8
                    && n.is_multiple_of(4)
                    && cred[1..].iter().any(u8::is_ascii_uppercase)
                    && cred.iter().any(u8::is_ascii_lowercase))
        }
        _ => n >= 8 && digit,
    }
}

/// The end of the `[A-Za-z0-9_-]` run at `i` (a key, a token).
pub(super) fn tok_end(b: &[u8], i: usize) -> usize {
    run(b, i, is_tok)
}

/// A secret starting at the word start `i`, whose `[A-Za-z0-9_-]` run ends at `end`: its
/// span (an authorization scheme's span is the credential only).
pub(super) fn word_secret(b: &[u8], i: usize, end: usize, d: Detect) -> Option<Span> {
    // Authorization schemes: keep the scheme word, mask the credential.
    for &scheme in AUTH_SCHEMES {
        let l = scheme.len();
        if b.len() > i + l + 1
            && b[i..i + l].eq_ignore_ascii_case(scheme.as_bytes())
            && (b[i + l] == b' ' || b[i + l] == b'+' || b[i + l] == b'=')
        {
            let mut s = i + l;
            while s < b.len() && matches!(b[s], b' ' | b'+' | b'=') {
                s += 1;
            }
            let e = run(b, s, |c| is_b64(c) || c == b'.' || c == b'~');
            if is_credential(scheme, &b[s..e], after_authorization(b, i)) {
                return Some((s, e));
            }
        }
    }
    // JWT: three base64url segments, the first starting with "eyJ".
    if b[i..].starts_with(b"eyJ") {
        let e1 = run(b, i, is_tok);
        if e1 - i >= 10 && b.get(e1) == Some(&b'.') {
            let e2 = run(b, e1 + 1, is_tok);
            if e2 > e1 + 1 && b.get(e2) == Some(&b'.') {
                let e3 = run(b, e2 + 1, is_tok);
                return Some((i, e3));
            }
        }
    }
    let tok = &b[i..end];
    for p in KEY_PREFIXES {
        let pb = p.as_bytes();
        if tok.len() >= pb.len() + 10 && tok.starts_with(pb) {
            return Some((i, end));
        }
        // Prefixes containing '.' ("SG.", "ya29.") run past the token.
        if pb.contains(&b'.') && b[i..].starts_with(pb) {
            let e = run(b, i, |c| is_tok(c) || c == b'.');
            if e - i >= pb.len() + 16 {
                return Some((i, e));
            }
        }
    }
    if d.entropy {
        let e = run(b, i, is_b64);
        if looks_random(&b[i..e]) {
            return Some((i, e));
        }
    }
    None
}

/// Heuristic for generated secrets: long, mixed classes, digits spread through the token.
fn looks_random(t: &[u8]) -> bool {
    if t.len() < 24 || t.len() > 512 {
        return false;
    }
    let (mut up, mut lo, mut dg, mut digit_runs, mut trans) = (0, 0, 0, 0, 0);
    let mut prev = 0u8;
    for &c in t {
        let class = if c.is_ascii_uppercase() {
            up += 1;
            1
        } else if c.is_ascii_lowercase() {
            lo += 1;
            2
        } else if c.is_ascii_digit() {
            dg += 1;
            if prev != 3 {
                digit_runs += 1;
            }
            3
        } else {
            4
        };
        if prev != 0 && prev != class {
            trans += 1;
        }
        prev = class;
    }
    let hex = t.iter().all(u8::is_ascii_hexdigit);
    if hex {
        return t.len() >= 32 && dg >= 4 && (up + lo) >= 4;
    }
    up >= 1 && lo >= 1 && dg >= 3 && digit_runs >= 3 && trans * 3 >= t.len()
}

#[cfg(test)]
mod tests {
    use crate::privacy::detect::test_support::{hit, masked, RELAXED};

    #[test]
    fn secrets() {
        for (s, want) in [
            (
                "Authorization: Bearer abcDEF123456ghiJKL",
                "Authorization: Bearer ******************",
            ),
            (
                "key sk_live_4eC39HqLyjWDarjtT1zdp7dc!",
                "key ********************************!",
            ),
            (
                "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
                "****************************************",
            ),
            ("AKIAIOSFODNN7EXAMPLE", "********************"),
        ] {
            assert_eq!(masked(s, RELAXED), want);
        }
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert_eq!(
            masked(&format!("t={jwt}&x"), RELAXED),
            format!("t={}&x", "*".repeat(jwt.len()))
        );
        assert_eq!(
            masked("x 9fK2mQ7zL1pV8sR4tW6yB3nC5dE0aG ok", RELAXED),
            "x ****************************** ok"
        );
        for s in [
            "ThisIsMyVeryLongCamelCaseIdentifier2024",
            "running-shoes-for-women-size-10",
            "Bearer of bad news",
            "css-1x2y3z4",
            "the token is expired",
            "123e4567-e89b-12d3-a456-426614174000",
        ] {
            assert!(!hit(s), "false positive on {s:?}: {}", masked(s, RELAXED));
        }
    }
}
