//! Numeric clusters: digit groups with their separators, read once and then tried as a
//! payment card (13..19 digits, card grouping, Luhn) and as a phone number (E.164 with `+`,
//! NANP, `0`/`00`-prefixed national and international forms). Always on.

use super::Span;

const MAX_GROUPS: usize = 24;

struct Cluster {
    /// Digit groups as byte ranges.
    groups: [(usize, usize); MAX_GROUPS],
    /// Separator bytes before group k (k >= 1): up to 2 chars, e.g. ") ".
    seps: [[u8; 2]; MAX_GROUPS],
    len: usize,
    plus: bool,
    paren_first: bool,
    start: usize,
}

impl Cluster {
    fn digits(&self, from: usize, to: usize) -> usize {
        self.groups[from..to].iter().map(|g| g.1 - g.0).sum()
    }
    fn glen(&self, k: usize) -> usize {
        self.groups[k].1 - self.groups[k].0
    }
}

fn scan_cluster(b: &[u8], i: usize) -> Option<Cluster> {
    let mut cl = Cluster {
        groups: [(0, 0); MAX_GROUPS],
        seps: [[0; 2]; MAX_GROUPS],
        len: 0,
        plus: false,
        paren_first: false,
        start: i,
    };
    let mut j = i;
    if b[j] == b'+' {
        cl.plus = true;
        j += 1;
    } else if b[j] == b'(' {
        cl.paren_first = true;
        j += 1;
    }
    let mut sep = [0u8; 2];
    loop {
        let gs = j;
        while j < b.len() && b[j].is_ascii_digit() && j - gs < 20 {
            j += 1;
        }
        if j == gs {
            break;
        }
        if cl.len == MAX_GROUPS {
            // A longer run: its first groups (the rest is read from later group starts).
            break;
        }
        cl.groups[cl.len] = (gs, j);
        cl.seps[cl.len] = sep;
        cl.len += 1;
        // Separator: one of " -./", optionally combined with a parenthesis.
        let mut k = j;
        let mut s = [0u8; 2];
        let mut sl = 0;
        while k < b.len() && sl < 2 && matches!(b[k], b' ' | b'-' | b'.' | b'/' | b'(' | b')') {
            s[sl] = b[k];
            sl += 1;
            k += 1;
        }
        let combo_ok = sl == 1 || (sl == 2 && (s[0] == b')' || s[1] == b'('));
        if sl == 0 || !combo_ok || k >= b.len() || !b[k].is_ascii_digit() || k - cl.start > 48 {
            break;
        }
        sep = s;
        j = k;
    }
    if cl.len == 0 {
        return None;
    }
    // A last group glued to a letter (`…1111abc`) is part of a word, not of the number: the
    // cluster ends before it (a shorter text read later gives the same answer).
    let end = cl.groups[cl.len - 1].1;
    if end < b.len() && (b[end].is_ascii_alphabetic() || b[end] == b'_') {
        cl.len -= 1;
    }
    (cl.len > 0).then_some(cl)
}

/// A card or phone number starting at `i` (the first group of the cluster read from there).
/// Matches starting at later groups are found when the scan reaches them: `find` tries every
/// group start, so a run of several numbers has each of them masked, not only its tail.
pub(super) fn numeric_at(b: &[u8], i: usize) -> Option<Span> {
    let mut cl = scan_cluster(b, i)?;
    if !after_iban_head(b, i) {
        if let Some(sp) = card_in(b, &cl) {
            return Some(sp);
        }
    }
    // The longest leading groups that form a phone number.
    while cl.len > 0 {
        if let Some(sp) = phone(b, &cl) {
            return Some(sp);
        }
        cl.len -= 1;
    }
    None
}

/// "DE89 3704…": digits right after an IBAN head belong to an IBAN (valid or not), not a card.
fn after_iban_head(b: &[u8], i: usize) -> bool {
    i >= 5
        && b[i - 1] == b' '
        && b[i - 5].is_ascii_uppercase()
        && b[i - 4].is_ascii_uppercase()
        && b[i - 3].is_ascii_digit()
        && b[i - 2].is_ascii_digit()
}

fn luhn(b: &[u8], cl: &Cluster, from: usize, to: usize) -> bool {
    let mut sum = 0u32;
    let mut dbl = false;
    for g in (from..to).rev() {
        let (s, e) = cl.groups[g];
        for &c in b[s..e].iter().rev() {
            let mut v = u32::from(c - b'0');
            if dbl {
                v *= 2;
                if v > 9 {
                    v -= 9;
                }
            }
            sum += v;
            dbl = !dbl;
        }
    }
    sum.is_multiple_of(10)
}

fn card_in(b: &[u8], cl: &Cluster) -> Option<Span> {
    if cl.plus || cl.paren_first || b[cl.groups[0].0] == b'0' {
        return None;
    }
    // Windows from the first group only (see `numeric_at`), longest first.
    for to in (1..=cl.len).rev() {
        let n = cl.digits(0, to);
        if (13..=19).contains(&n) && card_grouping(cl, 0, to) && luhn(b, cl, 0, to) {
            return Some((cl.groups[0].0, cl.groups[to - 1].1));
        }
    }
    None
}

fn card_grouping(cl: &Cluster, from: usize, to: usize) -> bool {
    let k = to - from;
    if k == 1 {
        return true;
    }
    // Same separator throughout, only space or dash.
    let sep = cl.seps[from + 1];
    if !matches!(sep, [b' ', 0] | [b'-', 0]) || (from + 1..to).any(|g| cl.seps[g] != sep) {
        return false;
    }
    let lens: Vec<usize> = (from..to).map(|g| cl.glen(g)).collect();
    match lens.as_slice() {
        [4, 6, 5] | [4, 6, 4] => true,
        _ => {
            let (last, head) = lens.split_last().unwrap_or((&0, &[]));
            head.iter().all(|&l| l == 4) && (1..=4).contains(last)
        }
    }
}

fn phone(b: &[u8], cl: &Cluster) -> Option<Span> {
    let start = cl.start;
    let end = cl.groups[cl.len - 1].1;
    let total = cl.digits(0, cl.len);
    if (1..cl.len).any(|g| cl.seps[g].contains(&b'/')) {
        return None;
    }
    let lens = &mut [0usize; MAX_GROUPS][..cl.len];
    for (g, l) in lens.iter_mut().enumerate() {
        *l = cl.glen(g);
    }
    // International: "+" then 8..15 digits (E.164 allows up to 15).
    if cl.plus {
        return ((8..=15).contains(&total)).then_some((start, end));
    }
    let digit = |k: usize| b.get(cl.groups[0].0 + k).copied().unwrap_or(b'0');
    // NANP: (415) 555-0132, 415-555-0132, 415.555.0132, 415 555 0132, 1-415-555-0132.
    let nanp = match &*lens {
        [3, 3, 4] => (b'2'..=b'9').contains(&digit(0)),
        [1, 3, 3, 4] => digit(0) == b'1' && !cl.paren_first,
        _ => false,
    };
    if nanp {
        let s1 = cl.seps[cl.len - 2];
        let s2 = cl.seps[cl.len - 1];
        if s1 == s2 || (cl.paren_first && s2 == [b'-', 0]) {
            return Some((start, end));
        }
    }
    // "00" international prefix or leading-0 national forms (Europe): >= 2 groups, first of
    // 2..5 digits, the rest 2..8, one consistent separator (space, dash or dot).
    if cl.len >= 2 && !cl.paren_first && (2..=5).contains(&lens[0]) {
        let sep = cl.seps[1];
        let consistent = (1..cl.len).all(|g| cl.seps[g] == sep)
            && matches!(sep, [b' ', 0] | [b'-', 0] | [b'.', 0]);
        let groups_ok = lens[1..].iter().all(|&l| (2..=8).contains(&l));
        let national = digit(0) == b'0' && digit(1) != b'0' && (10..=12).contains(&total);
        let intl =
            digit(0) == b'0' && digit(1) == b'0' && digit(2) != b'0' && (11..=15).contains(&total);
        if consistent && groups_ok && (national || intl) {
            return Some((start, end));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use crate::privacy::detect::test_support::{hit, masked, RELAXED};

    #[test]
    fn cards() {
        for c in [
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "4111111111111111",
            "3782 822463 10005",
            "5555555555554444",
            "6011 0009 9013 9424",
        ] {
            let s = format!("card: {c}.");
            let m = masked(&s, RELAXED);
            assert_eq!(m, format!("card: {}.", "*".repeat(c.len())), "{c}");
        }
        // A card followed by another number: the window finds the card.
        assert_eq!(
            masked("4111 1111 1111 1111 2030", RELAXED),
            "******************* 2030"
        );
    }

    #[test]
    fn card_near_misses() {
        for s in [
            "4111 1111 1111 1112", // Luhn fails
            "1234567812345678",    // Luhn fails
            "ORD-2024-118842",
            "order 2024-118842-0001",
            "2024-01-15",
            "15/01/2024 14:30",
            "$1,299.99",
            "v2.4.1",
            "1.18.0",
            "10.0.19041.1",
            "Total: 4,111.11 EUR",
            "12:45:30",
            "ISBN 978-3-16-148410-0",
        ] {
            assert!(!hit(s), "false positive on {s:?}: {}", masked(s, RELAXED));
        }
    }

    #[test]
    fn phones() {
        for s in [
            "+1 415 555 0132",
            "+14155550132",
            "+44 20 7946 0958",
            "(415) 555-0132",
            "415-555-0132",
            "415.555.0132",
            "1-415-555-0132",
            "020 7946 0958",
            "06 12 34 56 78",
            "0049 30 1234567",
            "030-1234567",
        ] {
            let m = masked(&format!("call {s} now"), RELAXED);
            assert_eq!(m, format!("call {} now", "*".repeat(s.len())), "{s}");
        }
        for s in [
            "2024-01-15",
            "05.06.2024 12",
            "05/06/2024 12:30",
            "ORD-2024-118842",
            "Item 123-456",
            "2024 2025 2026",
            "+5%",
            "1.2.3",
            "100 200 300",
        ] {
            assert!(!hit(s), "false positive on {s:?}: {}", masked(s, RELAXED));
        }
    }
}
