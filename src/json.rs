//! A borrowed JSON tree: what the masking walk reads and rewrites.
//!
//! `serde_json::Value` copies every string and key into its own allocation and keeps objects
//! in B-trees; for a recorded DOM that tree cost more than the masking itself (parse, key
//! lookups, drop — BENCHMARKS.md, profile). Here strings and keys borrow from the input
//! unless they held escapes, numbers keep their text (written back as recorded), and objects
//! are vectors of entries in recorded order (a node has a handful of keys: a linear scan
//! beats a tree).
//!
//! The parser is strict RFC 8259 and accepts exactly what serde_json accepts (the
//! `json_tree` fuzz target checks both ways, and that both read the same value); the writer
//! escapes as serde_json does.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

/// A JSON value whose strings borrow from the text it was parsed from.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value<'a> {
    #[default]
    Null,
    Bool(bool),
    Number(Number<'a>),
    String(Cow<'a, str>),
    Array(Vec<Value<'a>>),
    Object(Map<'a>),
}

/// A JSON object: entries in recorded order, keys unique (the last of duplicates wins, as in
/// `JSON.parse` and serde_json — a replayer must never see a value the walk did not).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Map<'a> {
    entries: Vec<(Cow<'a, str>, Value<'a>)>,
}

/// A JSON number as its text: valid JSON number syntax, finite as an f64.
#[derive(Debug, Clone, PartialEq)]
pub struct Number<'a>(Cow<'a, str>);

impl Number<'_> {
    pub fn as_u64(&self) -> Option<u64> {
        self.0.parse().ok()
    }

    pub fn as_i64(&self) -> Option<i64> {
        self.0.parse().ok()
    }

    pub fn as_f64(&self) -> Option<f64> {
        self.0.parse().ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<u64> for Number<'_> {
    fn from(n: u64) -> Self {
        Number(Cow::Owned(n.to_string()))
    }
}

impl From<u32> for Number<'_> {
    fn from(n: u32) -> Self {
        Number(Cow::Owned(n.to_string()))
    }
}

impl From<i64> for Number<'_> {
    fn from(n: i64) -> Self {
        Number(Cow::Owned(n.to_string()))
    }
}

impl fmt::Display for Number<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'a> Value<'a> {
    /// The value under `key` if this is an object.
    pub fn get(&self, key: &str) -> Option<&Value<'a>> {
        self.as_object()?.get(key)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value<'a>> {
        self.as_object_mut()?.get_mut(key)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Number(n) => n.as_u64(),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => n.as_f64(),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Map<'a>> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_object_mut(&mut self) -> Option<&mut Map<'a>> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&Vec<Value<'a>>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_array_mut(&mut self) -> Option<&mut Vec<Value<'a>>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    pub fn is_string(&self) -> bool {
        matches!(self, Value::String(_))
    }

    pub fn is_array(&self) -> bool {
        matches!(self, Value::Array(_))
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Move the value out, leaving `null`.
    pub fn take(&mut self) -> Value<'a> {
        std::mem::take(self)
    }

    /// The same value with every string owned (for values kept past their input).
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Null => Value::Null,
            Value::Bool(b) => Value::Bool(b),
            Value::Number(n) => Value::Number(Number(Cow::Owned(n.0.into_owned()))),
            Value::String(s) => Value::String(Cow::Owned(s.into_owned())),
            Value::Array(a) => Value::Array(a.into_iter().map(Value::into_owned).collect()),
            Value::Object(m) => Value::Object(Map {
                entries: m
                    .entries
                    .into_iter()
                    .map(|(k, v)| (Cow::Owned(k.into_owned()), v.into_owned()))
                    .collect(),
            }),
        }
    }
}

impl From<String> for Value<'_> {
    fn from(s: String) -> Self {
        Value::String(Cow::Owned(s))
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(s: &'a str) -> Self {
        Value::String(Cow::Borrowed(s))
    }
}

impl<'a> Map<'a> {
    pub fn new() -> Self {
        Map::default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.entries.iter().position(|(k, _)| k == key)
    }

    pub fn get(&self, key: &str) -> Option<&Value<'a>> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value<'a>> {
        self.entries
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Set `key` (in place if present, else appended); returns the old value.
    pub fn insert(&mut self, key: impl Into<Cow<'a, str>>, value: Value<'a>) -> Option<Value<'a>> {
        let key = key.into();
        match self.position(&key) {
            Some(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            None => {
                self.entries.push((key, value));
                None
            }
        }
    }

    /// Remove `key`, keeping the order of the others.
    pub fn remove(&mut self, key: &str) -> Option<Value<'a>> {
        let i = self.position(key)?;
        Some(self.entries.remove(i).1)
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&str, &mut Value<'a>) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k, v));
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&str, &Value<'a>)> {
        self.entries.iter().map(|(k, v)| (k.as_ref(), v))
    }

    pub fn iter_mut(&mut self) -> impl DoubleEndedIterator<Item = (&str, &mut Value<'a>)> {
        self.entries.iter_mut().map(|(k, v)| {
            let k: &Cow<'a, str> = k;
            (k.as_ref(), v)
        })
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_ref())
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Value<'a>> {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    /// The same map with every key and string owned.
    pub fn into_owned_map(self) -> Map<'static> {
        match Value::Object(self).into_owned() {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    /// Keep the last of duplicate keys; true if there were any. Small objects (every DOM node)
    /// compare pairwise; large ones go through a hash map, so a hostile object of many keys
    /// stays linear.
    fn dedup(&mut self) -> bool {
        const SMALL: usize = 16;
        let n = self.entries.len();
        if n < 2 {
            return false;
        }
        let later_has = |i: usize| {
            let k = &self.entries[i].0;
            self.entries[i + 1..].iter().any(|(later, _)| later == k)
        };
        // Nearly every object has no duplicate: find that out without allocating.
        if n <= SMALL && !(0..n).any(later_has) {
            return false;
        }
        let mut keep = vec![true; n];
        let mut any = false;
        if n <= SMALL {
            for (i, slot) in keep.iter_mut().enumerate() {
                if later_has(i) {
                    *slot = false;
                    any = true;
                }
            }
        } else {
            let mut last: HashMap<&str, usize> = HashMap::with_capacity(n);
            for (i, (k, _)) in self.entries.iter().enumerate() {
                if let Some(prev) = last.insert(k.as_ref(), i) {
                    keep[prev] = false;
                    any = true;
                }
            }
        }
        if any {
            let mut i = 0;
            self.entries.retain(|_| {
                i += 1;
                keep[i - 1]
            });
        }
        any
    }
}

impl<'a> IntoIterator for Map<'a> {
    type Item = (Cow<'a, str>, Value<'a>);
    type IntoIter = std::vec::IntoIter<(Cow<'a, str>, Value<'a>)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a> FromIterator<(Cow<'a, str>, Value<'a>)> for Map<'a> {
    fn from_iter<T: IntoIterator<Item = (Cow<'a, str>, Value<'a>)>>(iter: T) -> Self {
        let mut m = Map {
            entries: iter.into_iter().collect(),
        };
        m.dedup();
        m
    }
}

// ---- parsing -------------------------------------------------------------------------------

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

// ---- writing -------------------------------------------------------------------------------

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
    fn the_last_duplicate_key_wins_small_and_large() {
        let v = from_str(r#"{"a":"first","b":1,"a":"last"}"#).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 2);
        assert_eq!(v.get("a").and_then(Value::as_str), Some("last"));

        let mut big = String::from("{");
        for i in 0..40 {
            big.push_str(&format!("\"k{i}\":{i},"));
        }
        big.push_str("\"k3\":\"again\"}");
        let v = from_str(&big).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 40);
        assert_eq!(v.get("k3").and_then(Value::as_str), Some("again"));
        let theirs: serde_json::Value = serde_json::from_str(&big).unwrap();
        let back: serde_json::Value = serde_json::from_str(&v.to_string()).unwrap();
        assert_eq!(back, theirs);
    }

    #[test]
    fn map_edits_keep_order() {
        let mut v = from_str(r#"{"a":1,"b":2,"c":3}"#).unwrap();
        let m = v.as_object_mut().unwrap();
        assert_eq!(
            m.insert("b", Value::from("x")),
            Some(Value::Number(2u32.into()))
        );
        assert_eq!(m.insert("d", Value::Null), None);
        assert!(m.remove("a").is_some());
        m.retain(|k, _| k != "c");
        assert_eq!(v.to_string(), r#"{"b":"x","d":null}"#);
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
