//! The parser: strict RFC 8259, the same language as serde_json, into a tree that borrows
//! strings and numbers from the text (see the parent module). Recursive, bounded by
//! [`MAX_DEPTH`].

use std::borrow::Cow;
use std::fmt;

use super::{Map, Number, Value};

/// Why text is not JSON, and where (byte offset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub message: &'static str,
    pub at: usize,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.message, self.at)
    }
}

impl std::error::Error for Error {}

/// Nesting the parser follows (it recurses). Beacons are held to `Limits::max_depth` (512)
/// by the prescan before this runs; this bound only keeps any other caller off the stack's
/// end.
pub const MAX_DEPTH: usize = 2048;

fn parse(json: &str) -> Result<(Value<'_>, bool), Error> {
    let mut p = Parser {
        s: json,
        b: json.as_bytes(),
        i: 0,
        depth: 0,
        items: Vec::new(),
        entries: Vec::new(),
        repeated: false,
    };
    let v = p.value()?;
    p.ws();
    if p.i != p.b.len() {
        return Err(p.err("trailing characters"));
    }
    Ok((v, p.repeated))
}

/// Parse JSON text into a borrowed tree.
pub fn from_str(json: &str) -> Result<Value<'_>, Error> {
    parse(json).map(|(v, _)| v)
}

/// Parse a JSON array into borrowed values (a chunk's events).
pub fn array_from_str(json: &str) -> Result<Vec<Value<'_>>, Error> {
    array_from_str_noting_repeats(json).map(|(a, _)| a)
}

/// `array_from_str`, and whether any object in it repeated a key (the tree keeps the last,
/// as `JSON.parse` does; a check that must agree with serde's derived structs, which refuse a
/// repeated field, needs to know).
pub fn array_from_str_noting_repeats(json: &str) -> Result<(Vec<Value<'_>>, bool), Error> {
    match parse(json)? {
        (Value::Array(a), repeated) => Ok((a, repeated)),
        _ => Err(Error {
            message: "expected an array",
            at: 0,
        }),
    }
}

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    depth: usize,
    /// Elements and entries of the containers being parsed, innermost last. A finished
    /// container moves its own off in one allocation of the exact size, instead of growing a
    /// vector of its own by doubling (most rrweb objects and arrays hold a handful).
    items: Vec<Value<'a>>,
    entries: Vec<(Cow<'a, str>, Value<'a>)>,
    /// Some object repeated a key.
    repeated: bool,
}

impl<'a> Parser<'a> {
    fn err(&self, message: &'static str) -> Error {
        Error {
            message,
            at: self.i,
        }
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    fn value(&mut self) -> Result<Value<'a>, Error> {
        self.ws();
        match self.b.get(self.i) {
            None => Err(self.err("unexpected end of input")),
            Some(b'{') => self.nested(Self::object),
            Some(b'[') => self.nested(Self::array),
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.err("expected a value")),
        }
    }

    fn nested(&mut self, f: fn(&mut Self) -> Result<Value<'a>, Error>) -> Result<Value<'a>, Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        let v = f(self);
        self.depth -= 1;
        v
    }

    fn literal(&mut self, word: &'static str, v: Value<'a>) -> Result<Value<'a>, Error> {
        if self.b[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(self.err("expected a value"))
        }
    }

    fn array(&mut self) -> Result<Value<'a>, Error> {
        self.i += 1;
        self.ws();
        if self.b.get(self.i) == Some(&b']') {
            self.i += 1;
            return Ok(Value::Array(Vec::new()));
        }
        let start = self.items.len();
        loop {
            let v = self.value()?;
            self.items.push(v);
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Value::Array(self.items.drain(start..).collect()));
                }
                _ => return Err(self.err("expected ',' or ']'")),
            }
        }
    }

    fn object(&mut self) -> Result<Value<'a>, Error> {
        self.i += 1;
        self.ws();
        if self.b.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Ok(Value::Object(Map::new()));
        }
        let start = self.entries.len();
        loop {
            self.ws();
            if self.b.get(self.i) != Some(&b'"') {
                return Err(self.err("expected a key"));
            }
            let k = self.string()?;
            self.ws();
            if self.b.get(self.i) != Some(&b':') {
                return Err(self.err("expected ':'"));
            }
            self.i += 1;
            let v = self.value()?;
            self.entries.push((k, v));
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    let mut m = Map {
                        entries: self.entries.drain(start..).collect(),
                    };
                    self.repeated |= m.dedup();
                    return Ok(Value::Object(m));
                }
                _ => return Err(self.err("expected ',' or '}'")),
            }
        }
    }

    /// At the opening quote. Borrowed unless there is an escape.
    fn string(&mut self) -> Result<Cow<'a, str>, Error> {
        let start = self.i + 1;
        let mut j = plain_run(self.b, start);
        match self.b.get(j) {
            Some(b'"') => {
                self.i = j + 1;
                // Quote, backslash and control bytes are ASCII: `j` is a char boundary.
                return Ok(Cow::Borrowed(&self.s[start..j]));
            }
            Some(b'\\') => {}
            Some(_) => {
                self.i = j;
                return Err(self.err("control character in string"));
            }
            None => {
                self.i = j;
                return Err(self.err("unterminated string"));
            }
        }
        let mut out = String::with_capacity(j - start + 16);
        out.push_str(&self.s[start..j]);
        loop {
            match self.b.get(j) {
                Some(b'"') => {
                    self.i = j + 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    self.i = j;
                    let c = match self.b.get(j + 1) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            let (c, len) = self.unicode_escape(j)?;
                            out.push(c);
                            j += len;
                            continue;
                        }
                        _ => return Err(self.err("invalid escape")),
                    };
                    out.push(c);
                    j += 2;
                }
                Some(_) => {
                    let end = plain_run(self.b, j);
                    if end == j {
                        self.i = j;
                        return Err(self.err("control character in string"));
                    }
                    out.push_str(&self.s[j..end]);
                    j = end;
                }
                None => {
                    self.i = j;
                    return Err(self.err("unterminated string"));
                }
            }
        }
    }

    /// `\uXXXX` at `j`, with its low half when it is a high surrogate; lone surrogates are
    /// refused (as serde_json does). Returns the char and the bytes consumed.
    fn unicode_escape(&self, j: usize) -> Result<(char, usize), Error> {
        let hex4 = |at: usize| -> Option<u32> {
            let d = self.b.get(at..at + 4)?;
            let mut v = 0u32;
            for &c in d {
                v = v * 16 + (c as char).to_digit(16)?;
            }
            Some(v)
        };
        let hi = hex4(j + 2).ok_or_else(|| self.err("invalid \\u escape"))?;
        match hi {
            0xD800..=0xDBFF => {
                let lo = (self.b.get(j + 6..j + 8) == Some(b"\\u"))
                    .then(|| hex4(j + 8))
                    .flatten()
                    .filter(|lo| (0xDC00..=0xDFFF).contains(lo))
                    .ok_or_else(|| self.err("lone surrogate in \\u escape"))?;
                let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                char::from_u32(c)
                    .map(|c| (c, 12))
                    .ok_or_else(|| self.err("invalid \\u escape"))
            }
            0xDC00..=0xDFFF => Err(self.err("lone surrogate in \\u escape")),
            _ => char::from_u32(hi)
                .map(|c| (c, 6))
                .ok_or_else(|| self.err("invalid \\u escape")),
        }
    }

    fn number(&mut self) -> Result<Value<'a>, Error> {
        let start = self.i;
        let b = self.b;
        let mut i = start;
        let digits = |i: &mut usize| {
            let from = *i;
            while b.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i > from
        };
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                digits(&mut i);
            }
            _ => {
                self.i = i;
                return Err(self.err("invalid number"));
            }
        }
        let mut plain = true;
        if b.get(i) == Some(&b'.') {
            i += 1;
            plain = false;
            if !digits(&mut i) {
                self.i = i;
                return Err(self.err("invalid number"));
            }
        }
        if let Some(b'e' | b'E') = b.get(i) {
            i += 1;
            plain = false;
            if let Some(b'+' | b'-') = b.get(i) {
                i += 1;
            }
            if !digits(&mut i) {
                self.i = i;
                return Err(self.err("invalid number"));
            }
        }
        let text = &self.s[start..i];
        // As serde_json: a number beyond f64 is an error. Short plain integers cannot be.
        if (!plain || text.len() > 15) && !text.parse::<f64>().is_ok_and(f64::is_finite) {
            self.i = start;
            return Err(self.err("number out of range"));
        }
        self.i = i;
        Ok(Value::Number(Number(Cow::Borrowed(text))))
    }
}

/// The end of the run from `i` that needs no attention inside a string: the first quote,
/// backslash or control byte, or the end. Eight bytes at a time (SWAR): strings are most of
/// a recording's bytes.
fn plain_run(b: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = b.get(i..i + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let v = u64::from_le_bytes(w);
        let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
        let hit = zero(v ^ (ONES * b'"' as u64))
            | zero(v ^ (ONES * b'\\' as u64))
            | (v.wrapping_sub(ONES * 0x20) & !v & HIGH);
        if hit != 0 {
            // The lowest flagged byte is exact (borrows only run upwards).
            return i + (hit.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            break;
        }
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::Value;
    use std::borrow::Cow;

    #[test]
    fn strings_and_keys_borrow_unless_escaped() {
        let text = r#"{"a":"plain","b\n":"esc\"aped","n":[1,-2,3.5,null,true]}"#;
        let v = from_str(text).unwrap();
        let m = v.as_object().unwrap();
        let (k0, v0) = m.entries.first().unwrap();
        assert!(matches!(k0, Cow::Borrowed("a")));
        assert!(matches!(v0, Value::String(Cow::Borrowed("plain"))));
        assert!(matches!(&m.entries[1].0, Cow::Owned(k) if k == "b\n"));
        assert_eq!(v.get("b\n").and_then(Value::as_str), Some("esc\"aped"));
        assert_eq!(v.get("n").unwrap().as_array().unwrap().len(), 5);
    }
    #[test]
    fn numbers_keep_their_text() {
        let v = from_str("[1.0,1E5,-0,0.000001,123456789012345678901234567890]").unwrap();
        assert_eq!(
            v.to_string(),
            "[1.0,1E5,-0,0.000001,123456789012345678901234567890]"
        );
        let a = v.as_array().unwrap();
        assert_eq!(a[0].as_u64(), None);
        assert_eq!(a[0].as_f64(), Some(1.0));
        assert_eq!(a[2].as_u64(), None);
        assert_eq!(from_str("42").unwrap().as_u64(), Some(42));
    }
    #[test]
    fn long_plain_runs_and_escapes_at_every_offset() {
        // The eight-byte scan must find a quote, backslash or control byte wherever it sits.
        for at in 0..20 {
            let pre = "a".repeat(at);
            let q = format!("\"{pre}\\n{pre}\"");
            assert_eq!(
                from_str(&q).unwrap().as_str(),
                Some(format!("{pre}\n{pre}").as_str())
            );
            let ctl = format!("\"{pre}\u{1}\"");
            assert!(from_str(&ctl).is_err(), "{at}");
            let plain = format!("\"{pre}é\"");
            assert!(matches!(
                from_str(&plain).unwrap(),
                Value::String(Cow::Borrowed(_))
            ));
        }
    }
    #[test]
    fn refuses_what_serde_json_refuses() {
        for bad in [
            "{",
            "[1,]",
            r#"{"a" 1}"#,
            "\"\\ud800\"",
            "\"\\udc00\\ud800\"",
            "01",
            "[1e999]",
            "-",
            "1.",
            ".5",
            "+1",
            "[1 2]",
            "{\"a\":1,}",
            "tru",
            "nul",
            "\"\\x\"",
            "\"abc",
            "[] x",
            "",
        ] {
            assert!(
                serde_json::from_str::<serde_json::Value>(bad).is_err(),
                "{bad}"
            );
            assert!(from_str(bad).is_err(), "{bad}");
        }
    }
}
