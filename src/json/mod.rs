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
//!
//! [`parse`] reads text into the tree, [`write`] writes it back; this module is the tree and
//! its API (the subset of `serde_json::Value`'s that the walk uses).

mod parse;
mod write;

pub use parse::{array_from_str, array_from_str_noting_repeats, from_str, Error, MAX_DEPTH};
pub use write::write_array;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
