//! Identifiers of people and devices with a fixed shape: US social security numbers
//! (`ddd-dd-dddd`, valid area/group/serial), MAC addresses (six two-hex-digit groups, one
//! separator, `:` or `-`) and IMEIs (15 digits, Luhn, plain or `dd-dddddd-dddddd-d`). Always
//! on: they are masked even when a policy keeps numbers (`record.numbers: false`).
//!
//! Each must stand alone: a digit, word character or another group of the same shape right
//! before or after means the run is something else (a longer number, an IPv6 address, a
//! date), and it is left to the other detectors.

use super::Span;

/// A run continues through `c`: the shape is part of something longer.
fn glued(c: Option<&u8>) -> bool {
    matches!(c, Some(c) if c.is_ascii_alphanumeric() || *c == b'_')
}

fn digits(b: &[u8]) -> bool {
    b.iter().all(u8::is_ascii_digit)
}

fn num(b: &[u8]) -> u32 {
    b.iter().fold(0, |n, c| n * 10 + u32::from(c - b'0'))
}

/// Before `i`: a separator glued to more of the same run (`1-123-45-6789`, `aa:bb:…`)?
/// `ssn:078-05-1120` is no run: a label ends with a letter.
fn continues_before(b: &[u8], i: usize, hex: bool) -> bool {
    i >= 2
        && matches!(b[i - 1], b'-' | b':' | b'.')
        && (b[i - 2].is_ascii_digit() || (hex && b[i - 2].is_ascii_hexdigit()))
}

/// After `e`: a separator followed by more of the run?
fn continues_after(b: &[u8], e: usize) -> bool {
    matches!(b.get(e), Some(b'-' | b':' | b'.')) && glued(b.get(e + 1))
}

/// `ddd-dd-dddd` at `i`, with the SSA's rules: area not 000, 666 or 9xx; group not 00;
/// serial not 0000 (what cannot be an SSN is likely a part or order number).
pub(super) fn ssn_at(b: &[u8], i: usize) -> Option<Span> {
    let e = i + 11;
    let t = b.get(i..e)?;
    if !(digits(&t[0..3]) && t[3] == b'-' && digits(&t[4..6]) && t[6] == b'-' && digits(&t[7..]))
        || glued(b.get(e))
        || continues_after(b, e)
        || continues_before(b, i, false)
    {
        return None;
    }
    let (area, group, serial) = (num(&t[0..3]), num(&t[4..6]), num(&t[7..]));
    (area != 0 && area != 666 && area < 900 && group != 0 && serial != 0).then_some((i, e))
}

/// `xx:xx:xx:xx:xx:xx` or `xx-xx-xx-xx-xx-xx` at `i`.
pub(super) fn mac_at(b: &[u8], i: usize) -> Option<Span> {
    let e = i + 17;
    let t = b.get(i..e)?;
    let sep = t[2];
    if !matches!(sep, b':' | b'-') {
        return None;
    }
    for g in 0..6 {
        let k = g * 3;
        if !(t[k].is_ascii_hexdigit() && t[k + 1].is_ascii_hexdigit()) || (g < 5 && t[k + 2] != sep)
        {
            return None;
        }
    }
    if glued(b.get(e)) || continues_after(b, e) || continues_before(b, i, true) {
        return None;
    }
    Some((i, e))
}

/// An IMEI at `i`: 15 digits, plain or grouped 2-6-6-1 by `-` or spaces, Luhn-valid.
pub(super) fn imei_at(b: &[u8], i: usize) -> Option<Span> {
    let mut d = [0u8; 15];
    let plain = b.get(i..i + 15).filter(|t| digits(t));
    let e = if let Some(t) = plain {
        d.copy_from_slice(t);
        i + 15
    } else {
        let t = b.get(i..i + 18)?;
        let sep = t[2];
        if !matches!(sep, b'-' | b' ') || t[9] != sep || t[16] != sep {
            return None;
        }
        let mut n = 0;
        for (k, &c) in t.iter().enumerate() {
            if k == 2 || k == 9 || k == 16 {
                continue;
            }
            if !c.is_ascii_digit() {
                return None;
            }
            d[n] = c;
            n += 1;
        }
        i + 18
    };
    if glued(b.get(e)) || continues_after(b, e) || continues_before(b, i, false) || !luhn(&d) {
        return None;
    }
    Some((i, e))
}

fn luhn(d: &[u8]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(k, c)| {
            let v = u32::from(c - b'0');
            if k % 2 == 1 {
                let x = v * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                v
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(ssn_at(b"123-45-6789", 0), Some((0, 11)));
        assert_eq!(ssn_at(b"123-45-6789-1", 0), None);
        assert_eq!(mac_at(b"00:1a:2b:3c:4d:5e", 0), Some((0, 17)));
        assert_eq!(mac_at(b"00:1a:2b:3c:4d:5e:6f", 0), None);
        assert_eq!(imei_at(b"490154203237518", 0), Some((0, 15)));
        assert_eq!(imei_at(b"49 015420 323751 8", 0), Some((0, 18)));
        assert_eq!(imei_at(b"4901542032375180", 0), None);
        assert!(luhn(b"79927398713"));
        assert!(!luhn(b"79927398710"));
    }
}
