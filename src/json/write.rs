//! The writer: a tree back to JSON text, numbers as recorded and strings escaped as
//! serde_json escapes them, so a value read from serde_json's output is written byte for
//! byte as it was.

use std::fmt;

use super::Value;

impl Value<'_> {
    /// Append the JSON text of this value: numbers as recorded, strings escaped as
    /// serde_json escapes them.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Value::Null => out.extend_from_slice(b"null"),
            Value::Bool(true) => out.extend_from_slice(b"true"),
            Value::Bool(false) => out.extend_from_slice(b"false"),
            Value::Number(n) => out.extend_from_slice(n.0.as_bytes()),
            Value::String(s) => write_str(s, out),
            Value::Array(a) => write_array(a, out),
            Value::Object(m) => {
                out.push(b'{');
                for (i, (k, v)) in m.entries.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_str(k, out);
                    out.push(b':');
                    v.write_to(out);
                }
                out.push(b'}');
            }
        }
    }
}

/// Append a JSON array of values (a chunk's events).
pub fn write_array(values: &[Value<'_>], out: &mut Vec<u8>) {
    out.push(b'[');
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        v.write_to(out);
    }
    out.push(b']');
}

/// A JSON string literal, escaped as serde_json escapes: quote, backslash and control
/// characters only. Runs that need no escape are copied whole.
fn write_str(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b >= 0x20 && b != b'"' && b != b'\\' {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 0xf) as usize],
            ]),
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::new();
        self.write_to(&mut out);
        f.write_str(&String::from_utf8_lossy(&out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::from_str;

    #[test]
    fn round_trips_like_serde_json_keeping_order() {
        let text = r#"{"z":1,"a":{"y":[1.5,1e300,-0,18446744073709551615,-9223372036854775808],"s":"é\u2028\"\\/"},"m":null,"t":true}"#;
        let ours = from_str(text).unwrap().to_string();
        let theirs: serde_json::Value = serde_json::from_str(text).unwrap();
        let back: serde_json::Value = serde_json::from_str(&ours).unwrap();
        assert_eq!(back, theirs);
        // Recorded order, not sorted.
        assert!(ours.starts_with(r#"{"z":1,"a":{"y":"#), "{ours}");
    }
    #[test]
    fn writes_what_serde_json_writes_for_canonical_input() {
        // serde_json's own output, read and written again: byte for byte.
        let text = "{\"s\":\"q\\\"b\\\\c\\u0001\\u001f\\b\\f\\n\\r\\t/\u{2028}é😀\",\"n\":[0,-1,1.5,1e300,-0.0,18446744073709551615],\"o\":{},\"a\":[],\"t\":true,\"f\":false,\"z\":null}";
        let canonical: serde_json::Value = serde_json::from_str(text).unwrap();
        let canonical = serde_json::to_string(&canonical).unwrap();
        let v = from_str(&canonical).unwrap();
        assert_eq!(v.to_string(), canonical);
        let mut arr = Vec::new();
        write_array(std::slice::from_ref(&v), &mut arr);
        assert_eq!(arr, format!("[{canonical}]").into_bytes());
    }
}
