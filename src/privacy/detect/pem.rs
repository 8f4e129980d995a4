//! PEM private key blocks (`-----BEGIN … PRIVATE KEY-----` … `-----END … PRIVATE KEY-----`,
//! RSA, EC, OpenSSH, encrypted PKCS#8, PGP key blocks): the whole block is masked, armour
//! lines included, not only the digits in it. A block without its end (a cut log line) is
//! masked to the end of the text. Always on. Public keys and certificates are left alone.

use super::Span;

const BEGIN: &[u8] = b"-----BEGIN ";
const END: &[u8] = b"-----END ";

/// Longest armour label read (`ENCRYPTED PRIVATE KEY`, `PGP PRIVATE KEY BLOCK`).
const MAX_LABEL: usize = 40;

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The label of an armour line whose `-----BEGIN ` / `-----END ` ends at `s`: its end and
/// whether it names a private key.
fn label(b: &[u8], s: usize) -> Option<(usize, bool)> {
    let mut e = s;
    while e < b.len() && (b[e].is_ascii_uppercase() || b[e] == b' ') && e - s < MAX_LABEL {
        e += 1;
    }
    if !b[e..].starts_with(b"-----") {
        return None;
    }
    let l = &b[s..e];
    let private = l.ends_with(b"PRIVATE KEY") || l.ends_with(b"PRIVATE KEY BLOCK");
    Some((e + 5, private))
}

/// A private key block starting at `b[i]` (the first `-` of `-----BEGIN `).
pub(super) fn pem_at(b: &[u8], i: usize) -> Option<Span> {
    if !b[i..].starts_with(BEGIN) {
        return None;
    }
    let (head_end, private) = label(b, i + BEGIN.len())?;
    if !private {
        return None;
    }
    let end = match find(&b[head_end..], END) {
        Some(k) => {
            let s = head_end + k + END.len();
            label(b, s).map_or(s, |(e, _)| e)
        }
        None => b.len(),
    };
    Some((i, end))
}
