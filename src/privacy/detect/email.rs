//! Email addresses: found from their `@` (or a URL-encoded `%40`) outwards, so text without
//! one costs nothing. The address ends at its last top-level label (alphabetic, 2+ chars).

use super::Span;

fn is_local(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80 || b"._%+-!#$&'*^`{|}~".contains(&b)
}

fn is_label(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b >= 0x80
}

/// `at` is the index of '@' (or "%40", `at_len` 3). Returns the span of the whole address.
pub(super) fn email_at(b: &[u8], at: usize, at_len: usize) -> Option<Span> {
    let mut start = at;
    while start > 0 && at - start < 64 && is_local(b[start - 1]) {
        start -= 1;
    }
    // A URL-encoded local part may itself start after "%3D" etc.; keep it simple.
    while start < at && b[start] == b'.' {
        start += 1;
    }
    if start == at {
        return None;
    }
    let mut j = at + at_len;
    let mut labels = 0;
    // The longest domain ending in a top-level label (alphabetic, 2+ chars): in
    // `jane@example.com.0.0.1` the address is `jane@example.com`, whatever follows it.
    let mut best: Option<usize> = None;
    loop {
        let ls = j;
        while j < b.len() && is_label(b[j]) && j - ls < 63 {
            j += 1;
        }
        if j == ls {
            break;
        }
        labels += 1;
        let tld = &b[ls..j];
        if labels >= 2
            && tld.len() >= 2
            && tld.iter().all(|&c| c.is_ascii_alphabetic() || c >= 0x80)
        {
            best = Some(j);
        }
        if j + 1 < b.len() && b[j] == b'.' && is_label(b[j + 1]) {
            j += 1;
            continue;
        }
        break;
    }
    best.map(|e| (start, e))
}

#[cfg(test)]
mod tests {
    use crate::privacy::detect::test_support::{masked, RELAXED};
    use crate::privacy::detect::Detect;

    #[test]
    fn emails() {
        let d = Detect {
            emails: true,
            ..RELAXED
        };
        assert_eq!(
            masked("mail jane.doe+x@example.co.uk now", d),
            "mail ************************ now"
        );
        assert_eq!(masked("a@b.c", d), "a@b.c");
        assert_eq!(masked("user@localhost", d), "user@localhost");
        assert_eq!(masked("q=jane%40example.com", d), "q=******************");
        assert_eq!(masked("josé@exämple.de.", d), "***************.");
        assert_eq!(masked("@handle and foo@ bar", d), "@handle and foo@ bar");
        // The address ends at its top-level label, whatever follows (idempotent).
        assert_eq!(
            masked("jane@example.com.0.0.1 x", d),
            "****************.0.0.1 x"
        );
        assert_eq!(masked("jane@example.com.x", d), "****************.x");
        // relaxed: emails pass
        assert_eq!(masked("jane@example.com", RELAXED), "jane@example.com");
    }
}
