//! The keyed visitor pseudonym audit records carry instead of the visitor id.

use sha2::{Digest, Sha256};

use crate::encoding::hex;

fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(msg);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// Keyed pseudonym of a visitor id for audit records: `v_` + 32 hex of
/// HMAC-SHA256(key, "{project}:{visitor}"). With a secret key (a worker secret), records
/// cannot be linked back to the visitor id without it; the same visitor maps to the same
/// pseudonym, so visitor erasure can be audited and found.
pub fn visitor_pseudonym(key: &[u8], project: &str, visitor: &str) -> String {
    let mac = hmac_sha256(key, format!("{project}:{visitor}").as_bytes());
    format!("v_{}", &hex(&mac)[..32])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn hmac_long_key_rfc4231_case_6() {
        let key = [0xaau8; 131];
        let mac = hmac_sha256(
            &key,
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        );
        assert_eq!(
            hex(&mac),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }
}
