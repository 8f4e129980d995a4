//! IBANs: two letters, two check digits and 11..30 alphanumerics (grouped by four or not),
//! validated with ISO 7064 mod 97-10. Always on.

use super::{is_word, Span};

/// IBAN: 2 uppercase letters, 2 check digits, 11..30 alphanumerics, optionally in groups of 4
/// separated by single spaces. Validated with ISO 7064 mod 97-10.
pub(super) fn iban_at(b: &[u8], i: usize) -> Option<(Span, bool)> {
    if b.len() < i + 15
        || !b[i].is_ascii_uppercase()
        || !b[i + 1].is_ascii_uppercase()
        || !b[i + 2].is_ascii_digit()
        || !b[i + 3].is_ascii_digit()
    {
        return None;
    }
    // Collect candidate end positions at group boundaries.
    let mut ends: [usize; 12] = [0; 12];
    let mut ne = 0;
    let mut j = i;
    let mut count = 0;
    loop {
        let gs = j;
        while j < b.len() && (b[j].is_ascii_uppercase() || b[j].is_ascii_digit()) && count < 34 {
            j += 1;
            count += 1;
        }
        if j == gs {
            break;
        }
        if ne < ends.len() {
            ends[ne] = j;
            ne += 1;
        }
        if j + 1 < b.len()
            && b[j] == b' '
            && (b[j + 1].is_ascii_uppercase() || b[j + 1].is_ascii_digit())
            && j - gs == 4
        {
            j += 1;
            continue;
        }
        break;
    }
    for &e in ends[..ne].iter().rev() {
        if e < b.len() && is_word(b[e]) {
            continue;
        }
        let chars: Vec<u8> = b[i..e].iter().copied().filter(|&c| c != b' ').collect();
        if (15..=34).contains(&chars.len()) && mod97(&chars) == 1 {
            return Some(((i, e), true));
        }
    }
    // IBAN-shaped but invalid: skip the whole run (unmasked).
    let e = ends[..ne].last().copied().unwrap_or(i + 4);
    Some(((i, e), false)).filter(|_| e - i >= 15)
}

fn mod97(chars: &[u8]) -> u32 {
    let mut r: u32 = 0;
    let rotated = chars[4..].iter().chain(chars[..4].iter());
    for &c in rotated {
        if c.is_ascii_digit() {
            r = (r * 10 + u32::from(c - b'0')) % 97;
        } else {
            let v = u32::from(c - b'A') + 10;
            r = (r * 100 + v) % 97;
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use crate::privacy::detect::test_support::{hit, masked, RELAXED};

    #[test]
    fn ibans() {
        for s in [
            "DE89 3704 0044 0532 0130 00",
            "DE89370400440532013000",
            "GB82 WEST 1234 5698 7654 32",
            "FR1420041010050500013M02606",
        ] {
            let m = masked(&format!("IBAN {s}, thanks"), RELAXED);
            assert_eq!(m, format!("IBAN {}, thanks", "*".repeat(s.len())), "{s}");
        }
        for s in [
            "DE89 3704 0044 0532 0130 01",
            "DE00370400440532013000",
            "AB12 is a code",
            "GB82 WEST 1234 5698 7654 33",
        ] {
            assert!(!hit(s), "false positive on {s:?}: {}", masked(s, RELAXED));
        }
    }
}
