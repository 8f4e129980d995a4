//! A borrowed JSON tree: what the masking walk reads and rewrites.
//!
//! `serde_json::Value` copies every string and key into its own allocation and keeps objects
//! in B-trees; for a recorded DOM that tree cost more than the masking itself (parse, key
//! lookups, drop — BENCHMARKS.md, profile). Here strings and keys borrow from the input
//! unless they held escapes, objects are vectors of entries in recorded order (a node has a
//! handful of keys: a linear scan beats a tree), and numbers stay serde_json's `Number`, so
//! what is written back is what serde_json would write.
//!
//! Parsing goes through serde_json's parser (the same syntax checks as everywhere else);
//! serialization through serde_json's serializer (the same escaping).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
pub use serde_json::Number;

/// A JSON value whose strings borrow from the text it was parsed from.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value<'a> {
    #[default]
    Null,
    Bool(bool),
    Number(Number),
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
            Value::Number(n) => Value::Number(n),
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

    /// Keep the last of duplicate keys. Small objects (every DOM node) compare pairwise;
    /// large ones go through a hash map, so a hostile object of many keys stays linear.
    fn dedup(&mut self) {
        const SMALL: usize = 16;
        let n = self.entries.len();
        if n < 2 {
            return;
        }
        let mut keep = vec![true; n];
        let mut any = false;
        if n <= SMALL {
            for (i, slot) in keep.iter_mut().enumerate() {
                let k = &self.entries[i].0;
                if self.entries[i + 1..].iter().any(|(later, _)| later == k) {
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

/// Parse JSON text into a borrowed tree. Depth is not limited here: callers run
/// `envelope::prescan` (or another depth bound) first.
pub fn from_str(json: &str) -> serde_json::Result<Value<'_>> {
    parse(json)
}

/// Parse a JSON array into borrowed values (a chunk's events).
pub fn array_from_str(json: &str) -> serde_json::Result<Vec<Value<'_>>> {
    parse(json)
}

/// From `&str`, not bytes: serde_json then skips re-checking the UTF-8 of every string.
fn parse<'a, T: Deserialize<'a>>(json: &'a str) -> serde_json::Result<T> {
    let mut de = serde_json::Deserializer::from_str(json);
    de.disable_recursion_limit();
    let value = T::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

impl<'de> Deserialize<'de> for Value<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value<'de>, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value<'de>, E> {
        Ok(Value::Number(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value<'de>, E> {
        Ok(Value::Number(n.into()))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Value<'de>, E> {
        // As serde_json::Value: a non-finite float is null.
        Ok(Number::from_f64(n).map_or(Value::Null, Value::Number))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Value<'de>, E> {
        Ok(Value::String(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value<'de>, E> {
        Ok(Value::String(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E>(self, s: String) -> Result<Value<'de>, E> {
        Ok(Value::String(Cow::Owned(s)))
    }

    fn visit_unit<E>(self) -> Result<Value<'de>, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value<'de>, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value<'de>, D::Error> {
        Deserialize::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value<'de>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(v) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value<'de>, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(4096));
        while let Some(k) = map.next_key_seed(KeySeed)? {
            entries.push((k, map.next_value()?));
        }
        let mut m = Map { entries };
        m.dedup();
        Ok(Value::Object(m))
    }
}

/// Keys borrow like strings do (serde's own `Cow<str>` impl always copies).
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(s))
    }

    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s))
    }
}

// ---- writing -------------------------------------------------------------------------------

impl Serialize for Value<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Number(n) => n.serialize(s),
            Value::String(v) => s.serialize_str(v),
            Value::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for v in a {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Value::Object(m) => m.serialize(s),
        }
    }
}

impl Serialize for Map<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.entries.len()))?;
        for (k, v) in &self.entries {
            map.serialize_entry(k.as_ref(), v)?;
        }
        map.end()
    }
}

impl Value<'_> {
    /// Append the JSON text of this value: what `serde_json::to_writer` writes (the same
    /// escapes, numbers through serde_json), without the serializer's state machine.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Value::Null => out.extend_from_slice(b"null"),
            Value::Bool(true) => out.extend_from_slice(b"true"),
            Value::Bool(false) => out.extend_from_slice(b"false"),
            Value::Number(n) => {
                // Writing into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut *out, n);
            }
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
        let s = serde_json::to_string(self).map_err(|_| fmt::Error)?;
        f.write_str(&s)
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
        let ours = serde_json::to_string(&from_str(text).unwrap()).unwrap();
        let theirs: serde_json::Value = serde_json::from_str(text).unwrap();
        let back: serde_json::Value = serde_json::from_str(&ours).unwrap();
        assert_eq!(back, theirs);
        // Recorded order, not sorted.
        assert!(ours.starts_with(r#"{"z":1,"a":{"y":"#), "{ours}");
    }

    #[test]
    fn write_to_matches_serde_json_byte_for_byte() {
        let text = "{\"s\":\"q\\\"b\\\\c\\u0001\\u001f\\b\\f\\n\\r\\t/\\u2028é\",\"n\":[0,-1,1.5,1e300,-0.0,18446744073709551615],\"o\":{},\"a\":[],\"t\":true,\"f\":false,\"z\":null}";
        let v = from_str(text).unwrap();
        let mut ours = Vec::new();
        v.write_to(&mut ours);
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            serde_json::to_string(&v).unwrap()
        );
        let mut arr = Vec::new();
        write_array(std::slice::from_ref(&v), &mut arr);
        assert_eq!(
            arr,
            format!("[{}]", serde_json::to_string(&v).unwrap()).into_bytes()
        );
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
        let back: serde_json::Value =
            serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
        assert_eq!(back, theirs);
    }

    #[test]
    fn map_edits_keep_order() {
        let mut v = from_str(r#"{"a":1,"b":2,"c":3}"#).unwrap();
        let m = v.as_object_mut().unwrap();
        assert_eq!(
            m.insert("b", Value::from("x")),
            Some(Value::Number(2.into()))
        );
        assert_eq!(m.insert("d", Value::Null), None);
        assert!(m.remove("a").is_some());
        m.retain(|k, _| k != "c");
        assert_eq!(serde_json::to_string(&v).unwrap(), r#"{"b":"x","d":null}"#);
    }

    #[test]
    fn refuses_what_serde_json_refuses() {
        for bad in ["{", "[1,]", r#"{"a" 1}"#, "\"\\ud800\"", "01", "[1e999]"] {
            assert!(from_str(bad).is_err(), "{bad}");
        }
    }
}
