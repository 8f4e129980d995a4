//! IP addresses: IPv6 (full, compressed, with an embedded IPv4) and every IPv4 address in a
//! dotted digit run. Both are relaxable (`Detect::ips`).

use super::{is_word, Span};

/// End of the IPv6 address starting at `i`. In a colon-separated run longer than one
/// address (`a:b:…` with more than 8 groups) this is the longest address the run starts with;
/// the caller resumes after it, so every address in the run is found.
pub(super) fn ipv6_at(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    while j < b.len() && (b[j].is_ascii_hexdigit() || b[j] == b':' || b[j] == b'.') && j - i < 46 {
        j += 1;
    }
    // Trailing dots/colons belong to the sentence, not the address (but keep "::").
    while j > i && b[j - 1] == b'.' {
        j -= 1;
    }
    let tok = std::str::from_utf8(b.get(i..j)?).ok()?;
    if tok.bytes().filter(|&c| c == b':').count() < 2 {
        return None;
    }
    if j >= b.len() || !is_word(b[j]) {
        let trimmed = if tok.ends_with(':') && !tok.ends_with("::") {
            &tok[..tok.len() - 1]
        } else {
            tok
        };
        if valid_ipv6(trimmed) {
            return Some(i + trimmed.len());
        }
    }
    // The run goes on (or is cut by the length cap): the longest prefix ending right before
    // a single ':' that is an address.
    let mut k = tok.len();
    while let Some(p) = tok[..k].rfind(':') {
        k = p;
        if k == 0 {
            break;
        }
        let cand = &tok[..k];
        if cand.bytes().filter(|&c| c == b':').count() >= 2 && valid_ipv6(cand) {
            return Some(i + k);
        }
    }
    None
}

fn valid_ipv6(s: &str) -> bool {
    if s.len() < 3 {
        return false;
    }
    let (head, tail, compressed) = match s.find("::") {
        Some(p) => {
            if s[p + 2..].contains("::") {
                return false;
            }
            (&s[..p], &s[p + 2..], true)
        }
        None => (s, "", false),
    };
    let mut groups = 0usize;
    let mut digits = 0usize;
    for (part_i, part) in [head, tail].iter().enumerate() {
        if part.is_empty() {
            continue;
        }
        let segs: Vec<&str> = part.split(':').collect();
        for (k, seg) in segs.iter().enumerate() {
            let last = part_i == 1 || !compressed;
            if last && k == segs.len() - 1 && seg.contains('.') {
                if ipv4_str(seg) {
                    groups += 2;
                    digits += 4;
                    continue;
                }
                return false;
            }
            if seg.is_empty() || seg.len() > 4 || !seg.bytes().all(|c| c.is_ascii_hexdigit()) {
                return false;
            }
            groups += 1;
            digits += seg.len();
        }
    }
    if compressed {
        // "::" stands for at least one group; demand some substance so "a::b" in prose is
        // left alone: at least 2 explicit groups or a single group after a leading "::".
        groups < 8
            && (groups >= 2 || (head.is_empty() && groups >= 1))
            && digits >= 3
            && s.bytes().any(|c| c.is_ascii_digit())
    } else {
        groups == 8
    }
}

fn ipv4_str(s: &str) -> bool {
    let mut n = 0;
    for part in s.split('.') {
        n += 1;
        if part.is_empty()
            || part.len() > 3
            || !part.bytes().all(|c| c.is_ascii_digit())
            || (part.len() > 1 && part.starts_with('0'))
        {
            return false;
        }
        match part.parse::<u16>() {
            Ok(v) if v <= 255 => {}
            _ => return false,
        }
    }
    n == 4
}

/// Every IPv4 address in the dotted digit run (`1.2.3.4.5…`) starting at `i`: each window of
/// 4 consecutive groups that are octets (≤ 255, no leading zero; the run's last group not
/// glued to a letter) is pushed to `out`, overlapping windows merged. Returns the run's end
/// and the end of the first streak of addresses found.
pub(super) fn ipv4_run(b: &[u8], i: usize, out: &mut Vec<Span>) -> (usize, Option<usize>) {
    // Start of the current streak of consecutive valid octets, and its length.
    let mut streak_start = i;
    let mut streak = 0usize;
    let mut last: Option<usize> = None;
    let mut j = i;
    loop {
        let gs = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        let g = &b[gs..j];
        let glued = j < b.len() && (b[j].is_ascii_alphabetic() || b[j] == b'_');
        let octet = !g.is_empty()
            && g.len() <= 3
            && (g.len() == 1 || g[0] != b'0')
            && g.iter().fold(0u32, |v, &c| v * 10 + u32::from(c - b'0')) <= 255
            && !glued;
        if octet {
            if streak == 0 {
                streak_start = gs;
            }
            streak += 1;
            // Every window of 4 octets in the streak: one span from the streak's start.
            if streak == 4 {
                out.push((streak_start, j));
            } else if let (true, Some(sp)) = (streak > 4, out.last_mut()) {
                sp.1 = j;
            }
            if streak >= 4 && last.is_none_or(|e| e == gs.saturating_sub(1)) {
                // The end of the first streak: the groups after it are read again by the
                // caller (a card or phone may sit between two addresses).
                last = Some(j);
            }
        } else {
            streak = 0;
        }
        if j + 1 < b.len() && b[j] == b'.' && b[j + 1].is_ascii_digit() {
            j += 1;
        } else {
            return (j, last);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::privacy::detect::test_support::{masked, RELAXED};
    use crate::privacy::detect::Detect;

    #[test]
    fn ips() {
        let d = Detect {
            ips: true,
            ..RELAXED
        };
        assert_eq!(
            masked("from 192.168.1.20:8080", d),
            "from ************:8080"
        );
        assert_eq!(
            masked("ip 2001:db8::8a2e:370:7334 x", d),
            "ip *********************** x"
        );
        assert_eq!(masked("fe80::1%eth0", d), "*******%eth0");
        assert_eq!(
            masked("2001:0db8:85a3:0000:0000:8a2e:0370:7334", d),
            "*".repeat(39)
        );
        for s in [
            "12:30:45",
            "1.2.3",
            "999.1.1.1",
            "std::vector",
            "a::b",
            "10:30 - 11:45",
            "Note: see",
        ] {
            assert_eq!(masked(s, d), s, "false positive on {s:?}");
        }
        // relaxed
        assert_eq!(masked("192.168.1.20", RELAXED), "192.168.1.20");
    }
}
