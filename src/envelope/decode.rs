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

/// Inflate (if needed) with the decompressed cap enforced while reading: a gzip bomb stops
/// one byte past the cap, however far it would have expanded.
pub fn decode_body<'a>(
    body: &'a [u8],
    encoding: Encoding,
    limits: &Limits,
) -> Result<Cow<'a, [u8]>, ApiError> {
    check_wire_len(body.len(), limits)?;
    match encoding {
        Encoding::Identity => Ok(Cow::Borrowed(body)),
        Encoding::Gzip => {
            let cap = limits.max_decompressed_bytes;
            let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(cap));
            let mut reader = flate2::read::GzDecoder::new(body).take(cap as u64 + 1);
            reader
                .read_to_end(&mut out)
                .map_err(|_| ApiError::new(ErrorCode::InvalidGzip, "body is not valid gzip"))?;
            if out.len() > cap {
                return Err(ApiError::new(
                    ErrorCode::DecompressedTooLarge,
                    format!("decompressed body exceeds {cap} bytes"),
                ));
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
