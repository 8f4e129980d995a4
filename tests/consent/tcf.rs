//! TCF decoder: real-world strings and malformed/hostile input.

use veilgate::consent::tcf::{self, TcfError, VendorEncoding, CORE_FIXED_BITS};

/// Example from the IAB's `@iabtcf/cli` documentation (an "all-no" string).
const IAB_DOC_EXAMPLE: &str = "COrVd1pOrVd1pACABCENAHCAAAAAAAAAAAiQAAAAAAAA";
/// A service-specific string seen in the wild (CMP 141), with a publisher TC segment.
const REAL_SERVICE_SPECIFIC: &str =
    "CPt3fQAPt3fQACNAFAENDLCgAAAAAAAAACiQAAAOCgDAB-AIsAZ8A6QDBAHBAAAA.YAAAAAAAAAAA";
/// A service-specific string seen in the wild (CMP 105): purposes 2–10 by legitimate
/// interest, 302 vendors by legitimate interest in a bitfield.
const REAL_LI_HEAVY: &str = "CPt6yMAPt6yMABpAGAENDECgAAAAAH_AAAqIAAAS3AJMNW4gC7MocGbQMIoEQIwrCQigUAEFAMLRAQAODgp2VgE-sIkAKAUARgRAhwBRkQCAAASAJCIAJAiwQAAAiAQAAgAQCIQAMDAIKACwEAgABAdAxRCgAECQgSIiIhTAgKgSCAlsqEEoLpDTCAKssAKARGwUACIJARWAAICwcAwRICViwQJMQbRAAMAKAUSoVqKT00BCxmQAAAAA";

#[test]
fn iab_documentation_example() {
    let tc = tcf::decode(IAB_DOC_EXAMPLE).unwrap();
    assert_eq!(tc.version, 2);
    assert_eq!(tc.created, 15_759_433_065); // 2019-12-10T02:01:46.5Z, in deciseconds
    assert_eq!(tc.last_updated, tc.created);
    assert_eq!((tc.cmp_id, tc.cmp_version, tc.consent_screen), (2, 1, 2));
    assert_eq!(tc.consent_language, "EN");
    assert_eq!(tc.vendor_list_version, 7);
    assert_eq!(tc.tcf_policy_version, 2);
    assert!(!tc.is_service_specific && !tc.use_non_standard_texts && !tc.purpose_one_treatment);
    assert_eq!(tc.publisher_cc, "ES");
    assert_eq!(tc.purposes_consent, 0);
    assert!(tc.vendor_consents.is_empty() && tc.vendor_legitimate_interests.is_empty());
    assert!(tc.publisher_restrictions.is_empty());
}

#[test]
fn real_service_specific_string_with_publisher_tc() {
    let tc = tcf::decode(REAL_SERVICE_SPECIFIC).unwrap();
    assert_eq!((tc.cmp_id, tc.cmp_version), (141, 5));
    assert_eq!(tc.vendor_list_version, 203);
    assert_eq!(tc.publisher_cc, "US");
    assert!(tc.is_service_specific);
    assert!(!tc.purpose_consent(1));
    assert!(tc.vendor_consents.is_empty());
    let li: Vec<u16> = tc.vendor_legitimate_interests.ids().collect();
    assert_eq!(li, vec![126, 278, 415, 466, 772, 898]);
    assert_eq!(
        tc.vendor_legitimate_interests.encoding,
        VendorEncoding::Range
    );
    let pub_tc = tc.publisher_tc.expect("publisher TC segment");
    assert_eq!(pub_tc.purposes_consent, 0);
    assert_eq!(pub_tc.num_custom_purposes, 0);
}

#[test]
fn real_legitimate_interest_heavy_string() {
    let tc = tcf::decode(REAL_LI_HEAVY).unwrap();
    assert_eq!((tc.cmp_id, tc.cmp_version), (105, 6));
    assert_eq!(tc.publisher_cc, "FR");
    assert_eq!(tc.purposes_consent_ids(), Vec::<u8>::new());
    assert_eq!(tc.purposes_li_ids(), (2..=10).collect::<Vec<u8>>());
    assert!(tc.purpose_li(2) && !tc.purpose_li(1));
    assert_eq!(tc.vendor_legitimate_interests.len(), 302);
    assert_eq!(
        tc.vendor_legitimate_interests
            .ids()
            .take(4)
            .collect::<Vec<_>>(),
        vec![8, 11, 14, 15]
    );
    // Legitimate interest is never consent.
    assert!(tc.vendor_consents.is_empty());
}

/// Minimal bit writer to build hand-made (and hostile) TC strings.
#[derive(Default)]
struct Bits(Vec<bool>);

impl Bits {
    fn put(&mut self, v: u64, n: usize) -> &mut Self {
        for i in (0..n).rev() {
            self.0.push(i < 64 && v >> i & 1 == 1);
        }
        self
    }
    fn core_header(&mut self, version: u64) -> &mut Self {
        self.put(version, 6)
            .put(16_000_000_000, 36)
            .put(16_000_000_001, 36)
            .put(300, 12)
            .put(2, 12)
            .put(1, 6)
            .put(3, 6) // D
            .put(4, 6) // E
            .put(100, 12)
            .put(4, 6)
            .put(0, 1)
            .put(0, 1)
            .put(0, 12)
            .put(0b1000_0000_0000_0000_0000_0000, 24) // purpose 1 consent
            .put(0, 24)
            .put(0, 1)
            .put(3, 6)
            .put(4, 6)
    }
    fn encode(&self) -> String {
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        self.0
            .chunks(6)
            .map(|c| {
                let mut v = 0usize;
                for i in 0..6 {
                    v = v << 1 | usize::from(c.get(i).copied().unwrap_or(false));
                }
                char::from(A[v])
            })
            .collect()
    }
}

#[test]
fn hand_built_range_string_decodes() {
    let mut b = Bits::default();
    b.core_header(2);
    assert_eq!(b.0.len(), CORE_FIXED_BITS);
    // vendor consents: max 500, ranges [10..=20], [300]
    b.put(500, 16).put(1, 1).put(2, 12);
    b.put(1, 1).put(10, 16).put(20, 16);
    b.put(0, 1).put(300, 16);
    // vendor LI: bitfield, max 3: 101
    b.put(3, 16).put(0, 1).put(0b101, 3);
    // one publisher restriction: purpose 2, type 0, vendor 300
    b.put(1, 12)
        .put(2, 6)
        .put(0, 2)
        .put(1, 12)
        .put(0, 1)
        .put(300, 16);
    let tc = tcf::decode(&b.encode()).unwrap();
    assert_eq!(tc.consent_language, "DE");
    assert_eq!(tc.publisher_cc, "DE");
    assert!(tc.purpose_consent(1) && !tc.purpose_consent(2));
    assert_eq!(tc.vendor_consents.ranges(), &[(10, 20), (300, 300)]);
    assert_eq!(tc.vendor_consents.encoding, VendorEncoding::Range);
    assert!(tc.vendor_consents.contains(15) && !tc.vendor_consents.contains(21));
    assert_eq!(
        tc.vendor_legitimate_interests.ids().collect::<Vec<_>>(),
        vec![1, 3]
    );
    assert!(tc.vendor_purpose_not_allowed(300, 2));
    assert!(!tc.vendor_purpose_not_allowed(300, 1));
    assert!(!tc.vendor_purpose_not_allowed(10, 2));
}

/// A range entry: start and, for a range, its end.
type Entry = (u64, Option<u64>);

fn with_consent_ranges(max: u64, entries: &[Entry]) -> String {
    let mut b = Bits::default();
    b.core_header(2);
    b.put(max, 16).put(1, 1).put(entries.len() as u64, 12);
    for &(s, e) in entries {
        match e {
            Some(e) => b.put(1, 1).put(s, 16).put(e, 16),
            None => b.put(0, 1).put(s, 16),
        };
    }
    b.put(0, 16).put(0, 1).put(0, 12);
    b.encode()
}

#[test]
fn malformed_ranges_are_rejected() {
    let cases: &[(&str, &[Entry])] = &[
        ("end before start", &[(20, Some(10))]),
        ("over max", &[(10, Some(600))]),
        ("single over max", &[(501, None)]),
        ("zero id", &[(0, None)]),
        ("out of order", &[(100, None), (50, None)]),
        ("overlap", &[(10, Some(20)), (20, Some(30))]),
    ];
    for (what, entries) in cases {
        let s = with_consent_ranges(500, entries);
        assert!(
            matches!(tcf::decode(&s), Err(TcfError::InvalidRange { .. })),
            "{what}: {:?}",
            tcf::decode(&s)
        );
    }
    assert!(tcf::decode(&with_consent_ranges(500, &[(10, Some(20)), (22, None)])).is_ok());
}

#[test]
fn malformed_strings_get_typed_errors() {
    assert_eq!(tcf::decode(""), Err(TcfError::Empty));
    assert_eq!(tcf::decode("   "), Err(TcfError::Empty));
    assert!(matches!(
        tcf::decode("COrVd1pOrVd1pAC!BCENAHCAAAAAAAAAAAiQAAAAAAAA"),
        Err(TcfError::InvalidBase64 { .. })
    ));
    assert!(matches!(
        tcf::decode("COrVd1pOrVd1pACABCEN"),
        Err(TcfError::Truncated { .. })
    ));
    // TCF v1 strings start with version 1 ('B').
    assert_eq!(
        tcf::decode("BOEFEAyOEFEAyAHABDENAI4AAAB9vABAASA"),
        Err(TcfError::UnsupportedVersion(1))
    );
    let mut b = Bits::default();
    b.core_header(3).put(0, 64);
    assert_eq!(
        tcf::decode(&b.encode()),
        Err(TcfError::UnsupportedVersion(3))
    );
    assert!(matches!(
        tcf::decode(&"C".repeat(100_000)),
        Err(TcfError::TooLong { .. })
    ));
    // An optional segment that is empty or invalid.
    assert!(tcf::decode(&format!("{IAB_DOC_EXAMPLE}.")).is_err());
    assert!(matches!(
        tcf::decode(&format!("{IAB_DOC_EXAMPLE}.Y*AA")),
        Err(TcfError::InvalidBase64 { .. })
    ));
    // A second core segment.
    assert!(matches!(
        tcf::decode(&format!("{IAB_DOC_EXAMPLE}.{IAB_DOC_EXAMPLE}")),
        Err(TcfError::DuplicateSegment { segment_type: 0 })
    ));
    // Letters outside A–Z.
    let mut b = Bits::default();
    b.put(2, 6)
        .put(0, 36)
        .put(0, 36)
        .put(2, 12)
        .put(1, 12)
        .put(0, 6)
        .put(63, 6)
        .put(0, 6)
        .put(0, 200);
    assert_eq!(
        tcf::decode(&b.encode()),
        Err(TcfError::InvalidLetters {
            field: "ConsentLanguage"
        })
    );
}

#[test]
fn hostile_sizes_do_not_allocate_or_panic() {
    // MaxVendorId 65535 as a bitfield, but only a few bits follow: truncated, not a 64k walk.
    let mut b = Bits::default();
    b.core_header(2).put(65535, 16).put(0, 1).put(0, 30);
    assert!(matches!(
        tcf::decode(&b.encode()),
        Err(TcfError::Truncated { .. })
    ));
    // NumEntries 4095 ranges announced, none present.
    let mut b = Bits::default();
    b.core_header(2)
        .put(65535, 16)
        .put(1, 1)
        .put(4095, 12)
        .put(0, 40);
    assert!(matches!(
        tcf::decode(&b.encode()),
        Err(TcfError::Truncated { .. })
    ));
    // One range covering every id: stored as one range, not 65535 entries.
    let s = with_consent_ranges(65535, &[(1, Some(65535))]);
    let tc = tcf::decode(&s).unwrap();
    assert_eq!(tc.vendor_consents.ranges(), &[(1, 65535)]);
    assert_eq!(tc.vendor_consents.len(), 65535);
    assert!(tc.vendor_consents.contains(65535));
    // 4095 publisher restrictions announced with nothing behind them.
    let mut b = Bits::default();
    b.core_header(2)
        .put(0, 16)
        .put(0, 1)
        .put(0, 16)
        .put(0, 1)
        .put(4095, 12)
        .put(0, 30);
    assert!(matches!(
        tcf::decode(&b.encode()),
        Err(TcfError::Truncated { .. })
    ));
}

#[test]
fn arbitrary_text_never_panics() {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for len in 0..400 {
        let s: String = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let alphabet =
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.C";
                char::from(alphabet[(x % alphabet.len() as u64) as usize])
            })
            .collect();
        let _ = tcf::decode(&s);
        let _ = tcf::decode(&format!("C{s}"));
    }
    for s in [
        "\u{0}",
        "é",
        "C\u{202e}",
        "CO.",
        ".",
        "..",
        "C=",
        "=",
        "CPt3fQA\r\nX",
    ] {
        let _ = tcf::decode(s);
    }
}
