//! IAB TCF v2.2 TC string decoder (`euconsent-v2`).
//!
//! Decodes the core segment fully (all fields, vendor consents and legitimate interests in
//! both bitfield and range encodings, publisher restrictions) and the optional
//! "disclosed vendors" and "publisher TC" segments. Unknown segment types are skipped.
//!
//! Hostile input is expected: the decoder never panics, never allocates more than a small
//! multiple of the input length (vendor sets are stored as sorted ranges, never as a bitmap
//! sized by an attacker-chosen `MaxVendorId`), and rejects malformed strings with a typed
//! [`TcfError`]. Bits are read straight from the base64url characters: no intermediate
//! buffer.

use std::fmt;

use serde::Serialize;

/// Longest TC string accepted (all segments, dots included). Browsers cap a cookie at
/// 4096 bytes; real strings are well under 2 KiB.
pub const MAX_TC_STRING_LEN: usize = 8192;
/// Bits of the fixed part of the core segment, up to (excluding) the vendor consent section.
pub const CORE_FIXED_BITS: usize = 213;
/// At most this many segments (core + optional ones) are looked at.
const MAX_SEGMENTS: usize = 8;

/// Why a TC string was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcfError {
    Empty,
    TooLong {
        len: usize,
    },
    /// A character outside the base64url alphabet, at this byte offset of the segment.
    InvalidBase64 {
        segment: usize,
        offset: usize,
    },
    /// The segment ended while reading this field.
    Truncated {
        segment: usize,
        field: &'static str,
    },
    UnsupportedVersion(u8),
    /// A two-letter code (language, publisher country) with a letter outside A–Z.
    InvalidLetters {
        field: &'static str,
    },
    /// A range/vendor entry is invalid: zero id, end before start, over `MaxVendorId`, or
    /// not in ascending order.
    InvalidRange {
        field: &'static str,
        start: u16,
        end: u16,
    },
    /// An optional segment appeared twice, or a core segment appeared after the first.
    DuplicateSegment {
        segment_type: u8,
    },
}

impl fmt::Display for TcfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TcfError::Empty => write!(f, "empty TC string"),
            TcfError::TooLong { len } => write!(f, "TC string too long ({len} bytes)"),
            TcfError::InvalidBase64 { segment, offset } => {
                write!(
                    f,
                    "invalid base64url character in segment {segment} at {offset}"
                )
            }
            TcfError::Truncated { segment, field } => {
                write!(f, "segment {segment} truncated while reading {field}")
            }
            TcfError::UnsupportedVersion(v) => write!(f, "unsupported TC string version {v}"),
            TcfError::InvalidLetters { field } => write!(f, "invalid letters in {field}"),
            TcfError::InvalidRange { field, start, end } => {
                write!(f, "invalid range {start}..={end} in {field}")
            }
            TcfError::DuplicateSegment { segment_type } => {
                write!(f, "duplicate segment of type {segment_type}")
            }
        }
    }
}

impl std::error::Error for TcfError {}

/// How a vendor section was encoded in the string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VendorEncoding {
    Bitfield,
    Range,
}

/// A set of vendor ids, kept as sorted, disjoint, non-adjacent inclusive ranges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VendorSet {
    pub max_vendor_id: u16,
    pub encoding: VendorEncoding,
    ranges: Vec<(u16, u16)>,
}

impl VendorSet {
    /// Whether `id` is in the set (binary search over ranges).
    pub fn contains(&self, id: u16) -> bool {
        if id == 0 {
            return false;
        }
        match self.ranges.binary_search_by(|&(s, _)| s.cmp(&id)) {
            Ok(_) => true,
            Err(0) => false,
            Err(i) => self.ranges[i - 1].1 >= id,
        }
    }

    /// Inclusive ranges, ascending, merged.
    pub fn ranges(&self) -> &[(u16, u16)] {
        &self.ranges
    }

    /// Number of vendor ids in the set.
    pub fn len(&self) -> usize {
        self.ranges
            .iter()
            .map(|&(s, e)| usize::from(e - s) + 1)
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// All ids in ascending order (at most 65535, bounded by `max_vendor_id`).
    pub fn ids(&self) -> impl Iterator<Item = u16> + '_ {
        self.ranges.iter().flat_map(|&(s, e)| s..=e)
    }

    fn push(&mut self, start: u16, end: u16) {
        if let Some(last) = self.ranges.last_mut() {
            if u32::from(last.1) + 1 == u32::from(start) {
                last.1 = end;
                return;
            }
        }
        self.ranges.push((start, end));
    }
}

/// One publisher restriction: `purpose_id` with `restriction_type`
/// (0 = not allowed, 1 = require consent, 2 = require legitimate interest, 3 = undefined)
/// for the vendors in `vendors` (inclusive ranges as encoded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublisherRestriction {
    pub purpose_id: u8,
    pub restriction_type: u8,
    pub vendors: Vec<(u16, u16)>,
}

impl PublisherRestriction {
    pub fn applies_to(&self, vendor: u16) -> bool {
        self.vendors
            .iter()
            .any(|&(s, e)| s <= vendor && vendor <= e)
    }
}

/// The optional publisher TC segment (segment type 3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublisherTc {
    /// Bit `i` (LSB = purpose 1) set when the publisher has consent for purpose `i+1`.
    pub purposes_consent: u32,
    pub purposes_li_transparency: u32,
    pub num_custom_purposes: u8,
    /// Bit `i` = custom purpose `i+1` (at most 63 custom purposes).
    pub custom_purposes_consent: u64,
    pub custom_purposes_li_transparency: u64,
}

/// A decoded TC string. Bit sets use bit `i` (LSB) for id `i+1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TcString {
    pub version: u8,
    /// Deciseconds since the Unix epoch.
    pub created: u64,
    pub last_updated: u64,
    pub cmp_id: u16,
    pub cmp_version: u16,
    pub consent_screen: u8,
    /// Two upper-case letters, e.g. `EN`.
    pub consent_language: String,
    pub vendor_list_version: u16,
    pub tcf_policy_version: u8,
    pub is_service_specific: bool,
    pub use_non_standard_texts: bool,
    /// 12 bits; bit `i` = special feature `i+1`.
    pub special_feature_opt_ins: u16,
    /// 24 bits; bit `i` = purpose `i+1`.
    pub purposes_consent: u32,
    pub purposes_li_transparency: u32,
    pub purpose_one_treatment: bool,
    pub publisher_cc: String,
    pub vendor_consents: VendorSet,
    pub vendor_legitimate_interests: VendorSet,
    pub publisher_restrictions: Vec<PublisherRestriction>,
    pub disclosed_vendors: Option<VendorSet>,
    pub publisher_tc: Option<PublisherTc>,
}

impl TcString {
    /// Decode a TC string (core segment plus optional segments separated by `.`).
    pub fn decode(s: &str) -> Result<TcString, TcfError> {
        decode(s)
    }

    /// Whether purpose `p` (1..=24) has consent.
    pub fn purpose_consent(&self, p: u8) -> bool {
        bit(self.purposes_consent, p, 24)
    }

    /// Whether purpose `p` has legitimate-interest transparency (never consent).
    pub fn purpose_li(&self, p: u8) -> bool {
        bit(self.purposes_li_transparency, p, 24)
    }

    pub fn special_feature_opt_in(&self, f: u8) -> bool {
        bit(u32::from(self.special_feature_opt_ins), f, 12)
    }

    /// Whether the publisher restricts `vendor` from processing `purpose` at all
    /// (restriction type 0, "not allowed").
    pub fn vendor_purpose_not_allowed(&self, vendor: u16, purpose: u8) -> bool {
        self.publisher_restrictions
            .iter()
            .any(|r| r.purpose_id == purpose && r.restriction_type == 0 && r.applies_to(vendor))
    }

    /// Ids of purposes with consent, ascending.
    pub fn purposes_consent_ids(&self) -> Vec<u8> {
        ids_of(self.purposes_consent, 24)
    }

    pub fn purposes_li_ids(&self) -> Vec<u8> {
        ids_of(self.purposes_li_transparency, 24)
    }

    pub fn special_feature_ids(&self) -> Vec<u8> {
        ids_of(u32::from(self.special_feature_opt_ins), 12)
    }
}

fn bit(set: u32, id: u8, width: u8) -> bool {
    id >= 1 && id <= width && (set >> (id - 1)) & 1 == 1
}

fn ids_of(set: u32, width: u8) -> Vec<u8> {
    (1..=width).filter(|&i| bit(set, i, width)).collect()
}

/// Reads big-endian bit fields straight out of base64url text.
struct BitReader<'a> {
    text: &'a [u8],
    pos: usize,
    segment: usize,
}

fn sextet(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'-' => Some(62),
        b'_' => Some(63),
        _ => None,
    }
}

impl<'a> BitReader<'a> {
    /// Validates the alphabet up front so errors name the bad character, not a field.
    fn new(segment_text: &'a str, segment: usize) -> Result<Self, TcfError> {
        // Tolerate trailing '=' padding that some encoders emit.
        let text = segment_text.trim_end_matches('=').as_bytes();
        if let Some(offset) = text.iter().position(|&c| sextet(c).is_none()) {
            return Err(TcfError::InvalidBase64 { segment, offset });
        }
        Ok(BitReader {
            text,
            pos: 0,
            segment,
        })
    }

    fn bits_left(&self) -> usize {
        (self.text.len() * 6).saturating_sub(self.pos)
    }

    /// Read `n` (≤ 64) bits as an unsigned integer.
    fn read(&mut self, n: usize, field: &'static str) -> Result<u64, TcfError> {
        debug_assert!(n <= 64);
        if n > self.bits_left() {
            return Err(TcfError::Truncated {
                segment: self.segment,
                field,
            });
        }
        let mut v: u64 = 0;
        for _ in 0..n {
            let c = self.text[self.pos / 6];
            let sx = sextet(c).unwrap_or(0);
            let b = (sx >> (5 - (self.pos % 6))) & 1;
            v = (v << 1) | u64::from(b);
            self.pos += 1;
        }
        Ok(v)
    }

    fn read_bool(&mut self, field: &'static str) -> Result<bool, TcfError> {
        Ok(self.read(1, field)? == 1)
    }

    fn read_u8(&mut self, n: usize, field: &'static str) -> Result<u8, TcfError> {
        // n ≤ 8 at every call site
        Ok(self.read(n, field)? as u8)
    }

    fn read_u16(&mut self, n: usize, field: &'static str) -> Result<u16, TcfError> {
        Ok(self.read(n, field)? as u16)
    }

    /// A fixed-width bit set, returned with bit `i` (LSB) = id `i+1`.
    fn read_set(&mut self, n: usize, field: &'static str) -> Result<u64, TcfError> {
        if n > self.bits_left() {
            return Err(TcfError::Truncated {
                segment: self.segment,
                field,
            });
        }
        let mut v: u64 = 0;
        for i in 0..n {
            if self.read(1, field)? == 1 {
                v |= 1 << i;
            }
        }
        Ok(v)
    }

    fn read_letters(&mut self, field: &'static str) -> Result<String, TcfError> {
        let a = self.read_u8(6, field)?;
        let b = self.read_u8(6, field)?;
        if a > 25 || b > 25 {
            return Err(TcfError::InvalidLetters { field });
        }
        Ok([char::from(b'A' + a), char::from(b'A' + b)]
            .iter()
            .collect())
    }
}

/// MaxVendorId(16) IsRangeEncoding(1) then a bitfield of MaxVendorId bits, or
/// NumEntries(12) range entries.
fn read_vendor_set(r: &mut BitReader<'_>, field: &'static str) -> Result<VendorSet, TcfError> {
    let max_vendor_id = r.read_u16(16, field)?;
    let is_range = r.read_bool(field)?;
    let mut set = VendorSet {
        max_vendor_id,
        encoding: if is_range {
            VendorEncoding::Range
        } else {
            VendorEncoding::Bitfield
        },
        ranges: Vec::new(),
    };
    if is_range {
        let entries = read_range_entries(r, field, Some(max_vendor_id))?;
        for (s, e) in entries {
            set.push(s, e);
        }
    } else {
        // The bitfield must be fully present before we walk it: bounded by input length.
        if usize::from(max_vendor_id) > r.bits_left() {
            return Err(TcfError::Truncated {
                segment: r.segment,
                field,
            });
        }
        let mut run_start: Option<u16> = None;
        for id in 1..=max_vendor_id {
            let on = r.read_bool(field)?;
            match (on, run_start) {
                (true, None) => run_start = Some(id),
                (false, Some(s)) => {
                    set.push(s, id - 1);
                    run_start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = run_start {
            set.push(s, max_vendor_id);
        }
    }
    Ok(set)
}

/// NumEntries(12) then entries of IsARange(1) StartOrOnlyVendorId(16) [EndVendorId(16)].
/// Entries must be ascending and non-overlapping, ids ≥ 1 and, when `max` is given, ≤ max.
fn read_range_entries(
    r: &mut BitReader<'_>,
    field: &'static str,
    max: Option<u16>,
) -> Result<Vec<(u16, u16)>, TcfError> {
    let n = r.read_u16(12, field)?;
    // Each entry takes at least 17 bits: checking up front bounds the allocation by input.
    if usize::from(n) * 17 > r.bits_left() {
        return Err(TcfError::Truncated {
            segment: r.segment,
            field,
        });
    }
    let mut out: Vec<(u16, u16)> = Vec::with_capacity(usize::from(n));
    for _ in 0..n {
        let is_range = r.read_bool(field)?;
        let start = r.read_u16(16, field)?;
        let end = if is_range {
            r.read_u16(16, field)?
        } else {
            start
        };
        let bad = start == 0
            || end < start
            || max.is_some_and(|m| end > m)
            || out.last().is_some_and(|&(_, prev_end)| start <= prev_end);
        if bad {
            return Err(TcfError::InvalidRange { field, start, end });
        }
        out.push((start, end));
    }
    Ok(out)
}

fn read_publisher_restrictions(
    r: &mut BitReader<'_>,
) -> Result<Vec<PublisherRestriction>, TcfError> {
    const F: &str = "PublisherRestrictions";
    let n = r.read_u16(12, F)?;
    // Each restriction takes at least 20 bits.
    if usize::from(n) * 20 > r.bits_left() {
        return Err(TcfError::Truncated {
            segment: r.segment,
            field: F,
        });
    }
    let mut out = Vec::with_capacity(usize::from(n));
    for _ in 0..n {
        let purpose_id = r.read_u8(6, F)?;
        let restriction_type = r.read_u8(2, F)?;
        let vendors = read_range_entries(r, F, None)?;
        out.push(PublisherRestriction {
            purpose_id,
            restriction_type,
            vendors,
        });
    }
    Ok(out)
}

fn decode_core(text: &str) -> Result<TcString, TcfError> {
    let mut r = BitReader::new(text, 0)?;
    let version = r.read_u8(6, "Version")?;
    if version != 2 {
        return Err(TcfError::UnsupportedVersion(version));
    }
    let created = r.read(36, "Created")?;
    let last_updated = r.read(36, "LastUpdated")?;
    let cmp_id = r.read_u16(12, "CmpId")?;
    let cmp_version = r.read_u16(12, "CmpVersion")?;
    let consent_screen = r.read_u8(6, "ConsentScreen")?;
    let consent_language = r.read_letters("ConsentLanguage")?;
    let vendor_list_version = r.read_u16(12, "VendorListVersion")?;
    let tcf_policy_version = r.read_u8(6, "TcfPolicyVersion")?;
    let is_service_specific = r.read_bool("IsServiceSpecific")?;
    let use_non_standard_texts = r.read_bool("UseNonStandardTexts")?;
    let special_feature_opt_ins = r.read_set(12, "SpecialFeatureOptIns")? as u16;
    let purposes_consent = r.read_set(24, "PurposesConsent")? as u32;
    let purposes_li_transparency = r.read_set(24, "PurposesLITransparency")? as u32;
    let purpose_one_treatment = r.read_bool("PurposeOneTreatment")?;
    let publisher_cc = r.read_letters("PublisherCC")?;
    let vendor_consents = read_vendor_set(&mut r, "VendorConsents")?;
    let vendor_legitimate_interests = read_vendor_set(&mut r, "VendorLegitimateInterests")?;
    // Strings from pre-2.0-final encoders may end right after the LI section; treat a
    // missing restrictions section as "no restrictions" only when not a single bit is left.
    let publisher_restrictions = if r.bits_left() == 0 {
        Vec::new()
    } else {
        read_publisher_restrictions(&mut r)?
    };
    Ok(TcString {
        version,
        created,
        last_updated,
        cmp_id,
        cmp_version,
        consent_screen,
        consent_language,
        vendor_list_version,
        tcf_policy_version,
        is_service_specific,
        use_non_standard_texts,
        special_feature_opt_ins,
        purposes_consent,
        purposes_li_transparency,
        purpose_one_treatment,
        publisher_cc,
        vendor_consents,
        vendor_legitimate_interests,
        publisher_restrictions,
        disclosed_vendors: None,
        publisher_tc: None,
    })
}

fn decode_publisher_tc(r: &mut BitReader<'_>) -> Result<PublisherTc, TcfError> {
    let purposes_consent = r.read_set(24, "PubPurposesConsent")? as u32;
    let purposes_li_transparency = r.read_set(24, "PubPurposesLITransparency")? as u32;
    let num_custom_purposes = r.read_u8(6, "NumCustomPurposes")?;
    let n = usize::from(num_custom_purposes);
    let custom_purposes_consent = r.read_set(n, "CustomPurposesConsent")?;
    let custom_purposes_li_transparency = r.read_set(n, "CustomPurposesLITransparency")?;
    Ok(PublisherTc {
        purposes_consent,
        purposes_li_transparency,
        num_custom_purposes,
        custom_purposes_consent,
        custom_purposes_li_transparency,
    })
}

/// Decode a full TC string. See the module docs for what is checked.
pub fn decode(s: &str) -> Result<TcString, TcfError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(TcfError::Empty);
    }
    if s.len() > MAX_TC_STRING_LEN {
        return Err(TcfError::TooLong { len: s.len() });
    }
    let mut segments = s.split('.');
    let core_text = segments.next().unwrap_or("");
    if core_text.is_empty() {
        return Err(TcfError::Empty);
    }
    let mut tc = decode_core(core_text)?;
    for (i, seg) in segments.enumerate().take(MAX_SEGMENTS) {
        let index = i + 1;
        if seg.is_empty() {
            return Err(TcfError::Truncated {
                segment: index,
                field: "SegmentType",
            });
        }
        let mut r = BitReader::new(seg, index)?;
        let segment_type = r.read_u8(3, "SegmentType")?;
        match segment_type {
            0 => return Err(TcfError::DuplicateSegment { segment_type }),
            1 => {
                if tc.disclosed_vendors.is_some() {
                    return Err(TcfError::DuplicateSegment { segment_type });
                }
                tc.disclosed_vendors = Some(read_vendor_set(&mut r, "DisclosedVendors")?);
            }
            3 => {
                if tc.publisher_tc.is_some() {
                    return Err(TcfError::DuplicateSegment { segment_type });
                }
                tc.publisher_tc = Some(decode_publisher_tc(&mut r)?);
            }
            // 2 = AllowedVendors (removed in TCF 2.2) and anything newer: skipped.
            _ => {}
        }
    }
    Ok(tc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_set_contains_and_merge() {
        let mut v = VendorSet {
            max_vendor_id: 100,
            encoding: VendorEncoding::Range,
            ranges: Vec::new(),
        };
        v.push(1, 3);
        v.push(4, 4);
        v.push(10, 20);
        assert_eq!(v.ranges(), &[(1, 4), (10, 20)]);
        assert!(v.contains(1) && v.contains(4) && v.contains(15) && v.contains(20));
        assert!(!v.contains(0) && !v.contains(5) && !v.contains(9) && !v.contains(21));
        assert_eq!(v.len(), 15);
    }

    #[test]
    fn bitreader_reads_msb_first() {
        // 'g' = 32 = 100000, 'B' = 1 = 000001
        let mut r = BitReader::new("gB", 0).unwrap();
        assert_eq!(r.read(1, "x").unwrap(), 1);
        assert_eq!(r.read(10, "x").unwrap(), 0);
        assert_eq!(r.read(1, "x").unwrap(), 1);
        assert!(r.read(1, "x").is_err());
    }
}
