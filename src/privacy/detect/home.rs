//! User names in home directory paths: `/home/jane/…`, `/Users/jane/…`,
//! `C:\Users\jane\…`, `C:/Users/jane`, `C:\Documents and Settings\jane` (also with doubled,
//! escaped backslashes). The path is kept, the user name masked. Always on.
//!
//! The directory must be a path's root: the separator before `home`/`Users` follows no path
//! or word character (`/api/users/42` and `https://shop.example/home/x` are routes, not
//! home directories), except `:` (`C:\`, `file:///`) and other separators.

use super::Span;

const DIRS: &[&str] = &["users", "home", "documents and settings"];

/// Longest user name read.
const MAX_USER: usize = 64;

fn is_sep(c: u8) -> bool {
    c == b'/' || c == b'\\'
}

/// For the prefilter: does `b[..i]` end with a home directory (`b[i]` is a separator)?
pub(super) fn home_before(b: &[u8], i: usize) -> bool {
    DIRS.iter().any(|d| {
        let l = d.len();
        i > l && is_sep(b[i - l - 1]) && b[i - l..i].eq_ignore_ascii_case(d.as_bytes())
    })
}

/// The user name after the home directory starting at the separator `b[i]`.
pub(super) fn home_at(b: &[u8], i: usize) -> Option<Span> {
    if i > 0 && (b[i - 1].is_ascii_alphanumeric() || matches!(b[i - 1], b'_' | b'-' | b'.' | b'~'))
    {
        return None;
    }
    let rest = &b[i + 1..];
    let l = DIRS
        .iter()
        .find(|d| rest.len() > d.len() && rest[..d.len()].eq_ignore_ascii_case(d.as_bytes()))?
        .len();
    let mut s = i + 1 + l;
    if !is_sep(b[s]) {
        return None;
    }
    while s < b.len() && is_sep(b[s]) {
        s += 1;
    }
    let stop = |c: u8| {
        is_sep(c)
            || c.is_ascii_control()
            || matches!(
                c,
                b'"' | b'\''
                    | b'`'
                    | b':'
                    | b'<'
                    | b'>'
                    | b'|'
                    | b'?'
                    | b'*'
                    | b')'
                    | b']'
                    | b','
                    | b';'
            )
    };
    // Windows user names may hold spaces ("Jane Doe"): up to the next separator when one
    // follows on the line; otherwise (and on Unix paths) up to whitespace.
    let mut e = s;
    while e < b.len() && !stop(b[e]) && e - s < MAX_USER {
        e += 1;
    }
    let spaced = b[i] == b'\\' && e < b.len() && is_sep(b[e]);
    if !spaced {
        e = s;
        while e < b.len() && !stop(b[e]) && !b[e].is_ascii_whitespace() && e - s < MAX_USER {
            e += 1;
        }
    }
    (e > s).then_some((s, e))
}
