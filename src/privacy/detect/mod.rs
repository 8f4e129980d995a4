//! PII detectors over free text: one forward pass, no regex, no allocation when nothing matches.
//!
//! Always on (never relaxable): payment cards (Luhn), IBANs (mod-97), phone numbers,
//! bearer/basic credentials, JWTs and API-key-like secrets.
//! Categories a policy may relax: emails, IP addresses (v4/v6), numbers (every digit).
//!
//! A match is replaced by `*`, one per character, so text lengths are kept.
//!
//! This module is the driver: [`scrub`] (with its prefilter), [`find`] (the scan that tries
//! each detector at each word start, in a fixed order, and resumes after a match) and
//! [`apply`]. The detectors live by concern in the submodules: [`email`], [`ip`],
//! [`numeric`] (cards and phones), [`secret`] (credentials, JWTs, API keys, random tokens)
//! and [`iban`]. The order in [`find`] is part of the rules (an address is read before the
//! digits in it are tried as a phone; an IBAN-shaped run that fails its checksum is skipped
//! so its groups are not re-read as a card), so it is written out rather than a table;
//! what the detectors match against (vendor key prefixes, authorization schemes) is data.

mod device;
mod email;
mod home;
mod iban;
mod ip;
mod keyed;
mod numeric;
mod pem;
mod secret;

use std::borrow::Cow;

use device::{imei_at, mac_at, ssn_at};
use email::email_at;
use home::{home_at, home_before};
use iban::iban_at;
use ip::{ipv4_run, ipv6_at};
use keyed::{keyed_at, secret_key_before};
use numeric::numeric_at;
use pem::pem_at;
use secret::{scheme_before, tok_end, word_secret};

/// Which relaxable categories are masked. The always-on detectors run regardless.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detect {
    pub emails: bool,
    pub ips: bool,
    /// Every digit (Unicode numeric) is masked.
    pub numbers: bool,
    /// Generic high-entropy token rule (off for URL path segments, where asset hashes live).
    pub entropy: bool,
}

impl Detect {
    /// Privacy-first: everything on.
    pub const ALL: Detect = Detect {
        emails: true,
        ips: true,
        numbers: true,
        entropy: true,
    };
    /// Only the always-on detectors.
    pub const STRUCTURED: Detect = Detect {
        emails: false,
        ips: false,
        numbers: false,
        entropy: true,
    };
}

/// Byte span `[start, end)` of a match.
pub type Span = (usize, usize);

/// Mask `s` according to `d`. Borrowed when nothing changed.
pub fn scrub(s: &str, d: Detect) -> Cow<'_, str> {
    if cannot_match(s.as_bytes(), d) {
        return Cow::Borrowed(s);
    }
    let mut spans = Vec::new();
    find(s, d, &mut spans);
    apply(s, &mut spans, d.numbers)
}

/// One cheap pass that proves most page text clean: every detector needs a digit, an `@`
/// or `%40`, two colons (IPv6, MACs), a token run of ten or more characters (JWT, key
/// prefixes, long credentials, PEM armour, dashed MACs; random-looking tokens need digits),
/// or one of the words it reads its value after, checked where that word ends: a credential
/// key before `:` or `=`, an auth scheme before ` `, `+` or `=`, a home directory before a
/// path separator. Non-ASCII text goes the full way when digits are masked
/// (`char::is_numeric` is wider than ASCII).
fn cannot_match(b: &[u8], d: Detect) -> bool {
    let mut colons = 0;
    let mut run = 0;
    for (i, &c) in b.iter().enumerate() {
        match CLASS[c as usize] {
            RUN => {
                run += 1;
                if run >= 10 {
                    return false;
                }
            }
            OTHER => run = 0,
            HIT => return false,
            NON_ASCII => {
                if d.numbers {
                    return false;
                }
                run = 0;
            }
            _ => {
                // The separators after which a value-reading detector may start.
                let named = match c {
                    b':' => {
                        colons += 1;
                        colons >= 2 || secret_key_before(b, i)
                    }
                    b'=' => secret_key_before(b, i) || scheme_before(b, i),
                    b' ' | b'+' => scheme_before(b, i),
                    _ => home_before(b, i),
                };
                if named {
                    return false;
                }
                // `= + /` belong to base64 token runs; `:`, space and `\\` end them.
                if matches!(c, b'=' | b'+' | b'/') {
                    run += 1;
                    if run >= 10 {
                        return false;
                    }
                } else {
                    run = 0;
                }
            }
        }
    }
    true
}

const OTHER: u8 = 0;
const RUN: u8 = 1;
const HIT: u8 = 2;
const NON_ASCII: u8 = 3;
const SEP: u8 = 4;

/// The prefilter's byte classes: token-run characters (base64, `.`, `~`), bytes every match
/// of some detector holds (digits, `@`, `%`), separators that need a look back, the rest.
const CLASS: [u8; 256] = {
    let mut t = [OTHER; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = if b >= 0x80 {
            NON_ASCII
        } else if b.is_ascii_digit() || b == b'@' || b == b'%' {
            HIT
        } else if matches!(b, b':' | b'=' | b'+' | b'/' | b'\\' | b' ') {
            SEP
        } else if b.is_ascii_alphabetic() || matches!(b, b'_' | b'-' | b'.' | b'~') {
            RUN
        } else {
            OTHER
        };
        c += 1;
    }
    t
};

/// True if any detector (as configured) would change `s`.
pub fn is_sensitive(s: &str, d: Detect) -> bool {
    matches!(scrub(s, d), Cow::Owned(_))
}

/// Replace the given spans (and, with `numbers`, every digit) by `*`, one per char.
pub fn apply<'a>(s: &'a str, spans: &mut [Span], numbers: bool) -> Cow<'a, str> {
    if spans.is_empty() && !(numbers && s.chars().any(char::is_numeric)) {
        return Cow::Borrowed(s);
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(s.len());
    let mut k = 0;
    for (i, c) in s.char_indices() {
        while k < spans.len() && spans[k].1 <= i {
            k += 1;
        }
        let in_span = k < spans.len() && spans[k].0 <= i;
        if in_span || (numbers && c.is_numeric()) {
            out.push('*');
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Every character becomes `*` (form values, secrets).
pub fn star_all(s: &str) -> String {
    "*".repeat(s.chars().count())
}

/// Every non-whitespace character becomes `*` (text of masked elements, like rrweb's maskText).
pub fn star_text(s: &str) -> Cow<'_, str> {
    if s.chars().all(char::is_whitespace) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| if c.is_whitespace() { c } else { '*' })
            .collect(),
    )
}

#[inline]
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// Find detector matches in `s`, appending byte spans to `out` (unsorted, may overlap).
pub fn find(s: &str, d: Detect, out: &mut Vec<Span>) {
    let b = s.as_bytes();
    let n = b.len();
    let mut i = 0;
    // End of the last dotted digit run searched for IPv4 addresses: a run is searched once,
    // from its first group, for every address in it (linear on long runs).
    let mut ip4_done = 0;
    // End of the last match: the next character starts a word, as it will once the match is
    // masked (`*` is no word character), so a second pass finds nothing new.
    let mut last_end = 0;
    while i < n {
        let c = b[i];
        let boundary = i == 0 || !is_word(b[i - 1]) || i == last_end;
        if c == b'@' {
            if d.emails {
                if let Some(sp) = email_at(b, i, 1) {
                    out.push(sp);
                    i = sp.1;
                    last_end = i;
                    continue;
                }
            }
        } else if c == b'%'
            && d.emails
            && b.get(i + 1) == Some(&b'4')
            && b.get(i + 2) == Some(&b'0')
        {
            if let Some(sp) = email_at(b, i, 3) {
                out.push(sp);
                i = sp.1;
                last_end = i;
                continue;
            }
        }
        if c == b'-' {
            if let Some(sp) = pem_at(b, i) {
                out.push(sp);
                i = sp.1;
                last_end = i;
                continue;
            }
        } else if c == b'/' || c == b'\\' {
            if let Some(sp) = home_at(b, i) {
                out.push(sp);
                i = sp.1;
                last_end = i;
                continue;
            }
        }
        if boundary {
            if c.is_ascii_hexdigit() {
                if let Some(sp) = mac_at(b, i) {
                    out.push(sp);
                    i = sp.1;
                    last_end = i;
                    continue;
                }
            }
            if d.ips && (c.is_ascii_hexdigit() || c == b':') {
                if let Some(end) = ipv6_at(b, i) {
                    out.push((i, end));
                    i = end;
                    last_end = i;
                    continue;
                }
            }
            if d.ips && c.is_ascii_digit() && i >= ip4_done {
                let (run_end, last) = ipv4_run(b, i, out);
                ip4_done = run_end;
                if let Some(end) = last {
                    i = end;
                    last_end = i;
                    continue;
                }
            }
            if c.is_ascii_digit() {
                if let Some(sp) = ssn_at(b, i).or_else(|| imei_at(b, i)) {
                    out.push(sp);
                    i = sp.1;
                    last_end = i;
                    continue;
                }
            }
            if c.is_ascii_digit() || c == b'+' || c == b'(' {
                if let Some(sp) = numeric_at(b, i) {
                    out.push(sp);
                    i = sp.1;
                    last_end = i;
                    continue;
                }
            }
            if c.is_ascii_alphanumeric() {
                if let Some((sp, mask)) = word_at(b, i, d) {
                    if mask {
                        out.push(sp);
                        last_end = sp.1;
                    }
                    i = sp.1.max(i + 1);
                    continue;
                }
            }
        }
        i += 1;
    }
}

/// A word-shaped match: the span and whether to mask it (an IBAN-shaped run failing its
/// checksum is returned unmasked so that its digit groups are not re-read as a card).
fn word_at(b: &[u8], i: usize, d: Detect) -> Option<(Span, bool)> {
    let end = tok_end(b, i);
    keyed_at(b, i, end)
        .or_else(|| word_secret(b, i, end, d))
        .map(|sp| (sp, true))
        .or_else(|| iban_at(b, i))
}

#[cfg(test)]
mod test_support {
    use super::{is_sensitive, scrub, Detect};

    pub const RELAXED: Detect = Detect::STRUCTURED;

    pub fn masked(s: &str, d: Detect) -> String {
        scrub(s, d).into_owned()
    }

    pub fn hit(s: &str) -> bool {
        is_sensitive(s, RELAXED)
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{masked, RELAXED};
    use super::*;

    #[test]
    fn the_prefilter_never_hides_a_match() {
        // Strings from an alphabet rich in separators and near-miss shapes; whenever the
        // prefilter calls a string clean, the full scan must agree.
        let alphabet: Vec<char> = "aeJyZ bearer token sk_live_ SG. eyJ:@%.-_~+/=é1 \t"
            .chars()
            .collect();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let all = Detect {
            emails: true,
            ips: true,
            numbers: true,
            entropy: true,
        };
        for _ in 0..200_000 {
            let len = (next() % 40) as usize;
            let s: String = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            for d in [
                all,
                Detect {
                    numbers: false,
                    ..all
                },
            ] {
                if cannot_match(s.as_bytes(), d) {
                    let mut spans = Vec::new();
                    find(&s, d, &mut spans);
                    assert!(spans.is_empty(), "{s:?}");
                    assert!(matches!(apply(&s, &mut spans, d.numbers), Cow::Borrowed(_)));
                }
            }
        }
        for long in [
            "Bearer abcdefghijklmnopqrstu",
            "eyJhbGciOiJIUzI1NiJ9.e.s",
            "sk_live_abcdefghijklmn",
        ] {
            assert!(!cannot_match(long.as_bytes(), all), "{long}");
        }
    }

    /// The same on strings built from the fragments the value-reading detectors start from
    /// (credential keys, auth schemes, home directories, PEM armour, device id shapes).
    #[test]
    fn the_prefilter_never_hides_a_keyed_or_shaped_match() {
        let parts = [
            "password",
            "Pwd",
            "x_secret",
            "token",
            "apiKey",
            "auth",
            "Authorization",
            "Bearer",
            "basic",
            "home",
            "Users",
            "C:",
            "/",
            "\\",
            "=",
            ":",
            " ",
            "\"",
            "'",
            "ab",
            "aB",
            "q",
            "-----BEGIN ",
            "PRIVATE KEY",
            "-----END ",
            "-----",
            "aa",
            "ff",
            "-",
            "\n",
            "x.y",
            "+",
            "Documents and Settings",
        ];
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut hits = 0;
        for _ in 0..200_000 {
            let len = (next() % 8) as usize;
            let s: String = (0..len)
                .map(|_| parts[(next() % parts.len() as u64) as usize])
                .collect();
            let d = Detect::STRUCTURED;
            let mut spans = Vec::new();
            find(&s, d, &mut spans);
            if !spans.is_empty() {
                hits += 1;
                assert!(!cannot_match(s.as_bytes(), d), "{s:?}");
            }
        }
        // The fragments do build matches: the check above is not vacuous.
        assert!(hits > 2_000, "{hits}");
    }

    /// A run of more groups than one address has every address in it masked, and a
    /// second pass changes nothing.
    #[test]
    fn runs_of_addresses_are_masked_whole() {
        let ips = Detect {
            ips: true,
            ..RELAXED
        };
        let cases: &[(&str, Detect, &str)] = &[
            ("10.0.0.1.10.0.0.2", ips, "*****************"),
            ("a 10.0.0.1 5 times", ips, "a ******** 5 times"),
            (
                "10.0.0.1 4111 1111 1111 1111",
                ips,
                "******** *******************",
            ),
            ("1.2.3.4.5", ips, "*********"),
            ("999.1.2.3.4.999", ips, "999.*******.999"),
            ("10.0.19041.1.2", ips, "10.0.19041.1.2"),
            ("10.0.0.1x", ips, "10.0.0.1x"),
            ("ip 10.0.0.1.", ips, "ip ********."),
            ("1:2:3:4:5:6:7:8:9", ips, "***************:9"),
            (
                "020 7946 0958 4111 1111 1111 1111",
                RELAXED,
                "************* *******************",
            ),
            (
                "0111-0111-0111-0111-0111-0111-0111",
                RELAXED,
                "**************-**************-0111",
            ),
        ];
        for &(s, d, want) in cases {
            let once = masked(s, d);
            assert_eq!(once, want, "{s:?}");
            assert_eq!(masked(&once, d), once, "not idempotent on {s:?}");
        }
        let hex16 = vec!["4311"; 16].join(":");
        let once = masked(&hex16, ips);
        assert_eq!(once, format!("{0}:{0}", "*".repeat(39)));
        // Long runs (beyond the cluster caps) are masked all along, in linear time.
        for unit in ["127.0.0.", "0111-", "4311:", "1.", "1000."] {
            let s = unit.repeat(20_000);
            let once = masked(
                &s,
                Detect {
                    ips: true,
                    ..RELAXED
                },
            );
            assert_eq!(once.chars().count(), s.chars().count());
            assert_eq!(
                masked(
                    &once,
                    Detect {
                        ips: true,
                        ..RELAXED
                    }
                ),
                once,
                "{unit}"
            );
        }
        let s = "127.0.0.".repeat(100);
        assert!(!masked(&s, ips)[..700].bytes().any(|c| c.is_ascii_digit()));
    }

    #[test]
    fn numbers() {
        assert_eq!(
            masked("Total 49.90 EUR, 3 items", Detect::ALL),
            "Total **.** EUR, * items"
        );
        assert!(matches!(
            scrub("no digits here", Detect::ALL),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn lengths_kept_and_no_panic_on_odd_input() {
        for s in [
            "",
            "@",
            "%40",
            "%4",
            "+",
            "(",
            "eyJ",
            "DE89",
            "::",
            "1.",
            "ü@ü.üü",
            "+((((",
            "4111 1111 1111 1111",
        ] {
            let m = scrub(s, Detect::ALL);
            assert_eq!(m.chars().count(), s.chars().count());
        }
    }

    #[test]
    fn random_strings_never_panic_and_keep_length() {
        let alphabet: Vec<char> = "0123456789 +-()./@%:;=&?#abcdefABCDEFeyJ_~éü€\u{1F600}DEGBskghp"
            .chars()
            .collect();
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 48) as usize;
            let s: String = (0..len)
                .map(|k| alphabet[((seed >> (k % 50)) as usize + k * 7) % alphabet.len()])
                .collect();
            let m = scrub(&s, Detect::ALL);
            assert_eq!(m.chars().count(), s.chars().count(), "{s:?}");
            let r = crate::privacy::url::UrlRules::new(Detect::ALL, &[]);
            let _ = crate::privacy::url::scrub_url(&s, &r);
            let _ = crate::privacy::url::scrub_srcset(&s, &r);
        }
    }
}
