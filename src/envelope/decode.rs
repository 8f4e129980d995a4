//! The wire side of a beacon: which encodings and media types it may use, the cap on its
//! bytes as sent, and inflating it with the cap on its bytes as decoded. The one place a body
//! is decompressed; nothing reads a body that has not passed here.

use std::borrow::Cow;
use std::io::Read;

use super::Limits;
use crate::error::{ApiError, ErrorCode};

/// Content encodings a beacon may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
}

impl Encoding {
    /// From `Content-Encoding` and the `?enc=` query parameter (sendBeacon cannot set headers).
    pub fn from_request(header: Option<&str>, query: Option<&str>) -> Result<Encoding, ApiError> {
        let pick = |v: &str| match v.trim().to_ascii_lowercase().as_str() {
            "" | "identity" => Ok(Encoding::Identity),
            "gzip" | "x-gzip" => Ok(Encoding::Gzip),
            _ => Err(ApiError::unsupported_encoding(
                "supported encodings: identity, gzip",
            )),
        };
        let from_header = header.map(pick).transpose()?;
        let from_query = query.map(pick).transpose()?;
        Ok(match (from_header, from_query) {
            (Some(Encoding::Gzip), _) | (_, Some(Encoding::Gzip)) => Encoding::Gzip,
            _ => Encoding::Identity,
        })
    }
}

/// `Content-Type` check: beacons send JSON as `application/json` or `text/plain`
/// (the latter avoids a CORS preflight). A missing type is accepted for SDKs that omit it.
pub fn check_content_type(content_type: Option<&str>) -> Result<(), ApiError> {
    let Some(ct) = content_type else {
        return Ok(());
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "" | "application/json" | "text/plain" | "application/octet-stream" => Ok(()),
        _ => Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "send application/json or text/plain",
        )),
    }
}

/// The wire cap on a beacon body: `Err(413 body_too_large)` once `len` bytes have been
/// seen past `limits.max_body_bytes`. The edge calls it as the body streams in (so a chunked
/// body with no `Content-Length` is refused after at most one chunk past the cap), and
/// [`decode_body`] again on the whole body.
pub fn check_wire_len(len: usize, limits: &Limits) -> Result<(), ApiError> {
    if len > limits.max_body_bytes {
        return Err(ApiError::new(
            ErrorCode::BodyTooLarge,
            format!("body exceeds {} bytes", limits.max_body_bytes),
        ));
    }
    Ok(())
}

/// Most a gzip body may expand, past [`INFLATION_RATIO_FLOOR`]: recorded pages compress
/// 3–10× (the fixtures of tests/fixtures/rrweb at gzip level 6), so 32× leaves room for very
/// repetitive pages while a small body can no longer buy the full decompressed cap (a 22 KB
/// body of one repeated string inflated 182× to 4 MB, each byte stored, masked and parsed).
pub const MAX_INFLATION_RATIO: usize = 32;

/// Inflated bytes any gzip body may reach whatever its ratio: a small beacon of repeated
/// mouse moves compresses far better than a page, and costs little.
pub const INFLATION_RATIO_FLOOR: usize = 256 << 10;

/// The most bytes a gzip body of `wire_len` bytes may inflate to: the decompressed cap, and
/// [`MAX_INFLATION_RATIO`] times its size past [`INFLATION_RATIO_FLOOR`].
pub fn inflation_cap(wire_len: usize, limits: &Limits) -> usize {
    let by_ratio = wire_len
        .saturating_mul(MAX_INFLATION_RATIO)
        .max(INFLATION_RATIO_FLOOR);
    limits.max_decompressed_bytes.min(by_ratio)
}

/// Inflate (if needed) with the decompressed cap ([`inflation_cap`]) enforced while reading: a
/// gzip bomb stops one byte past the cap, however far it would have expanded.
pub fn decode_body<'a>(
    body: &'a [u8],
    encoding: Encoding,
    limits: &Limits,
) -> Result<Cow<'a, [u8]>, ApiError> {
    check_wire_len(body.len(), limits)?;
    match encoding {
        Encoding::Identity => Ok(Cow::Borrowed(body)),
        Encoding::Gzip => {
            let cap = inflation_cap(body.len(), limits);
            let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(cap));
            let mut reader = flate2::read::GzDecoder::new(body).take(cap as u64 + 1);
            reader
                .read_to_end(&mut out)
                .map_err(|_| ApiError::new(ErrorCode::InvalidGzip, "body is not valid gzip"))?;
            if out.len() > cap {
                let message = if cap < limits.max_decompressed_bytes {
                    format!(
                        "decompressed body exceeds {MAX_INFLATION_RATIO} times its gzip size \
                         (and {INFLATION_RATIO_FLOOR} bytes)"
                    )
                } else {
                    format!("decompressed body exceeds {cap} bytes")
                };
                return Err(ApiError::new(ErrorCode::DecompressedTooLarge, message));
            }
            Ok(Cow::Owned(out))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const GOOD: &[u8] = crate::envelope::tests::GOOD.as_bytes();

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn gzip_round_trip_and_bomb() {
        let limits = Limits::default();
        let gz = gzip(GOOD);
        let body = decode_body(&gz, Encoding::Gzip, &limits).unwrap();
        assert_eq!(body, GOOD);
        // 64 MiB of zeros compresses to ~64 KiB: stopped while inflating at the cap.
        let bomb = gzip(&vec![0u8; 64 << 20]);
        assert!(bomb.len() < limits.max_body_bytes);
        let err = decode_body(&bomb, Encoding::Gzip, &limits).unwrap_err();
        assert_eq!((err.status, err.code), (413, "decompressed_too_large"));
        let err = decode_body(b"not gzip", Encoding::Gzip, &limits).unwrap_err();
        assert_eq!(err.code, "invalid_gzip");
        let err = decode_body(&gzip(GOOD)[..20], Encoding::Gzip, &limits).unwrap_err();
        assert_eq!(err.code, "invalid_gzip");
    }

    /// Each cap at exactly its limit, for each encoding the worker takes: `limit` bytes pass,
    /// `limit + 1` are refused with the cap's code.
    #[test]
    fn caps_hold_at_exactly_the_limit() {
        let refused = |r: Result<Cow<[u8]>, ApiError>| r.map(|_| ()).unwrap_err();
        // The wire cap, as the body streams in and on the whole body, either encoding.
        let wire = Limits {
            max_body_bytes: 100,
            ..Limits::default()
        };
        check_wire_len(100, &wire).unwrap();
        assert_eq!(
            check_wire_len(101, &wire).unwrap_err().code,
            "body_too_large"
        );
        let at = vec![b' '; 100];
        assert_eq!(
            decode_body(&at, Encoding::Identity, &wire).unwrap(),
            &at[..]
        );
        let over = vec![b' '; 101];
        let err = refused(decode_body(&over, Encoding::Identity, &wire));
        assert_eq!((err.status, err.code), (413, "body_too_large"));
        let gz = gzip(&vec![b'x'; 5000]);
        let fits = Limits {
            max_body_bytes: gz.len(),
            ..Limits::default()
        };
        assert_eq!(decode_body(&gz, Encoding::Gzip, &fits).unwrap().len(), 5000);
        let short = Limits {
            max_body_bytes: gz.len() - 1,
            ..Limits::default()
        };
        let err = refused(decode_body(&gz, Encoding::Gzip, &short));
        assert_eq!((err.status, err.code), (413, "body_too_large"));
        // The decompressed cap, while inflating: exactly the cap comes out, one more is refused.
        let inflated = Limits {
            max_decompressed_bytes: 5000,
            ..Limits::default()
        };
        let out = decode_body(&gz, Encoding::Gzip, &inflated).unwrap();
        assert_eq!(out.len(), 5000);
        let err = refused(decode_body(
            &gzip(&vec![b'x'; 5001]),
            Encoding::Gzip,
            &inflated,
        ));
        assert_eq!((err.status, err.code), (413, "decompressed_too_large"));
        // An identity body is its own decoded form: only the wire cap applies to it.
        let small_inflate = Limits {
            max_body_bytes: 100,
            max_decompressed_bytes: 10,
            ..Limits::default()
        };
        assert_eq!(
            decode_body(&at, Encoding::Identity, &small_inflate)
                .unwrap()
                .len(),
            100
        );
    }

    /// Issue 22, item 8: a small gzip body cannot buy the whole decompressed cap.
    #[test]
    fn the_inflation_ratio_is_bounded() {
        let limits = Limits::default();
        // The tester's beacon: ~22 KB of gzip inflating to ~4 MB (182x).
        let bomb = gzip(&vec![b'a'; 4_000_000]);
        assert!(bomb.len() < 30_000, "{}", bomb.len());
        let err = decode_body(&bomb, Encoding::Gzip, &limits).unwrap_err();
        assert_eq!((err.status, err.code), (413, "decompressed_too_large"));
        assert!(err.message.contains("32 times"), "{}", err.message);
        // The cap: the floor for small bodies, the ratio past it, never above the cap.
        assert_eq!(inflation_cap(1000, &limits), INFLATION_RATIO_FLOOR);
        assert_eq!(inflation_cap(100_000, &limits), 3_200_000);
        assert_eq!(
            inflation_cap(1 << 20, &limits),
            limits.max_decompressed_bytes
        );
        assert_eq!(
            inflation_cap(usize::MAX, &limits),
            limits.max_decompressed_bytes
        );
        // Under the floor any ratio is fine.
        let small = gzip(&vec![b'a'; INFLATION_RATIO_FLOOR]);
        assert_eq!(
            decode_body(&small, Encoding::Gzip, &limits).unwrap().len(),
            INFLATION_RATIO_FLOOR
        );
        let err = decode_body(
            &gzip(&vec![b'a'; INFLATION_RATIO_FLOOR + 1]),
            Encoding::Gzip,
            &limits,
        )
        .unwrap_err();
        assert_eq!(err.code, "decompressed_too_large");
        // Real recordings pass: the large fixture at gzip level 9 is ~10x.
        let page = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/rrweb/large.default.json"
        ))
        .unwrap();
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&page).unwrap();
        let gz = enc.finish().unwrap();
        assert_eq!(
            decode_body(&gz, Encoding::Gzip, &limits).unwrap().len(),
            page.len()
        );
    }

    #[test]
    fn body_cap_and_encodings() {
        let limits = Limits {
            max_body_bytes: 10,
            ..Limits::default()
        };
        let err = decode_body(&[b' '; 11], Encoding::Identity, &limits).unwrap_err();
        assert_eq!((err.status, err.code), (413, "body_too_large"));
        assert_eq!(
            Encoding::from_request(Some("gzip"), None).unwrap(),
            Encoding::Gzip
        );
        assert_eq!(
            Encoding::from_request(None, Some("gzip")).unwrap(),
            Encoding::Gzip
        );
        assert_eq!(
            Encoding::from_request(None, None).unwrap(),
            Encoding::Identity
        );
        assert_eq!(
            Encoding::from_request(Some("br"), None).unwrap_err().status,
            415
        );
        assert_eq!(
            Encoding::from_request(None, Some("zstd"))
                .unwrap_err()
                .status,
            415
        );
        assert!(check_content_type(Some("text/plain;charset=UTF-8")).is_ok());
        assert!(check_content_type(Some("application/json")).is_ok());
        assert_eq!(
            check_content_type(Some("text/html")).unwrap_err().status,
            415
        );
    }
}
