//! A small CSS selector subset for project masking rules, matched while walking the tree.
//!
//! Supported: type selectors (`input`, `*`), `#id`, `.class`, `[attr]`, `[attr=value]`
//! (value bare, `'single'` or `"double"` quoted; also `~=`, `^=`, `$=`, `*=`, `|=`),
//! descendant (whitespace) and child (`>`) combinators, and selector lists (`a, b`).
//! Not supported (rejected with an error): pseudo-classes, pseudo-elements, sibling
//! combinators (`+`, `~`), namespaces.
//!
//! Matching is an NFA over the root-to-node path: each element passes a bitset of
//! "partially matched" selector states to its children, so an element is matched from its
//! parent's bits and its own attributes alone. The bits are what [`super::state::MaskState`]
//! stores for nodes that later mutations may attach children to.

use crate::json::{Map, Value};

/// Maximum number of NFA state bits across all rules (one per non-final compound).
pub const MAX_STATE_BITS: usize = 64;
/// Maximum compounds in one complex selector.
pub const MAX_COMPOUNDS: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttrOp {
    Exists,
    Eq(String),
    Word(String),
    Prefix(String),
    Suffix(String),
    Contains(String),
    Dash(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Simple {
    Tag(String),
    Id(String),
    Class(String),
    Attr(String, AttrOp),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comb {
    Descendant,
    Child,
}

/// A compound selector: all simple selectors must match one element. Empty = `*`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Compound(pub Vec<Simple>);

/// One complex selector: `compounds[0] combs[0] compounds[1] …`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Complex {
    pub compounds: Vec<Compound>,
    /// `combs[k]` sits between `compounds[k]` and `compounds[k + 1]`.
    pub combs: Vec<Comb>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorError {
    pub at: usize,
    pub message: String,
}

impl std::fmt::Display for SelectorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (at character {})", self.message, self.at)
    }
}

/// Parse a selector list.
pub fn parse(input: &str) -> Result<Vec<Complex>, SelectorError> {
    let mut p = Parser {
        s: input.as_bytes(),
        i: 0,
    };
    let mut list = Vec::new();
    loop {
        p.ws();
        list.push(p.complex()?);
        p.ws();
        match p.peek() {
            None => break,
            Some(b',') => p.i += 1,
            Some(c) => return Err(p.err(format!("unexpected '{}'", c as char))),
        }
    }
    Ok(list)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c >= 0x80
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn err(&self, message: impl Into<String>) -> SelectorError {
        SelectorError {
            at: self.i,
            message: message.into(),
        }
    }
    fn ws(&mut self) -> bool {
        let st = self.i;
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')) {
            self.i += 1;
        }
        self.i > st
    }
    fn ident(&mut self, what: &str) -> Result<String, SelectorError> {
        let st = self.i;
        while let Some(c) = self.peek() {
            if c == b'\\' {
                return Err(self.err("escapes are not supported"));
            }
            if !is_ident(c) {
                break;
            }
            self.i += 1;
        }
        if st == self.i {
            return Err(self.err(format!("expected {what}")));
        }
        Ok(String::from_utf8_lossy(&self.s[st..self.i]).into_owned())
    }
    fn complex(&mut self) -> Result<Complex, SelectorError> {
        let mut compounds = vec![self.compound()?];
        let mut combs = Vec::new();
        loop {
            let had_ws = self.ws();
            let comb = match self.peek() {
                Some(b'>') => {
                    self.i += 1;
                    self.ws();
                    Comb::Child
                }
                Some(b'+' | b'~') => {
                    return Err(self.err("sibling combinators (+, ~) are not supported"))
                }
                Some(b',') | None => break,
                Some(_) if had_ws => Comb::Descendant,
                Some(c) => return Err(self.err(format!("unexpected '{}'", c as char))),
            };
            combs.push(comb);
            compounds.push(self.compound()?);
            if compounds.len() > MAX_COMPOUNDS {
                return Err(self.err(format!("more than {MAX_COMPOUNDS} compound selectors")));
            }
        }
        Ok(Complex { compounds, combs })
    }
    fn compound(&mut self) -> Result<Compound, SelectorError> {
        let mut parts = Vec::new();
        let mut any = false;
        match self.peek() {
            Some(b'*') => {
                self.i += 1;
                any = true;
            }
            Some(c) if is_ident(c) => {
                parts.push(Simple::Tag(self.ident("tag name")?.to_ascii_lowercase()));
            }
            _ => {}
        }
        loop {
            match self.peek() {
                Some(b'#') => {
                    self.i += 1;
                    parts.push(Simple::Id(self.ident("id after '#'")?));
                }
                Some(b'.') => {
                    self.i += 1;
                    parts.push(Simple::Class(self.ident("class name after '.'")?));
                }
                Some(b'[') => {
                    self.i += 1;
                    parts.push(self.attr()?);
                }
                Some(b':') => return Err(self.err("pseudo-classes are not supported")),
                Some(b'|') => return Err(self.err("namespaces are not supported")),
                _ => break,
            }
        }
        if parts.is_empty() && !any {
            return Err(match self.peek() {
                None => self.err("expected a selector"),
                Some(c) => self.err(format!("unexpected '{}'", c as char)),
            });
        }
        Ok(Compound(parts))
    }
    fn attr(&mut self) -> Result<Simple, SelectorError> {
        self.ws();
        let name = self.ident("attribute name")?.to_ascii_lowercase();
        self.ws();
        let op = match self.peek() {
            Some(b']') => {
                self.i += 1;
                return Ok(Simple::Attr(name, AttrOp::Exists));
            }
            Some(b'=') => {
                self.i += 1;
                0u8
            }
            Some(c @ (b'~' | b'^' | b'$' | b'*' | b'|'))
                if self.s.get(self.i + 1) == Some(&b'=') =>
            {
                self.i += 2;
                c
            }
            _ => return Err(self.err("expected ']' or an operator (=, ~=, ^=, $=, *=, |=)")),
        };
        self.ws();
        let value = match self.peek() {
            Some(q @ (b'"' | b'\'')) => {
                self.i += 1;
                let st = self.i;
                while let Some(c) = self.peek() {
                    if c == q {
                        break;
                    }
                    if c == b'\\' {
                        return Err(self.err("escapes are not supported"));
                    }
                    self.i += 1;
                }
                if self.peek() != Some(q) {
                    return Err(self.err("unterminated string"));
                }
                let v = String::from_utf8_lossy(&self.s[st..self.i]).into_owned();
                self.i += 1;
                v
            }
            _ => self.ident("attribute value")?,
        };
        self.ws();
        if self.peek() == Some(b'i') || self.peek() == Some(b's') {
            return Err(self.err("attribute flags (i, s) are not supported"));
        }
        if self.peek() != Some(b']') {
            return Err(self.err("expected ']'"));
        }
        self.i += 1;
        let op = match op {
            0 => AttrOp::Eq(value),
            b'~' => AttrOp::Word(value),
            b'^' => AttrOp::Prefix(value),
            b'$' => AttrOp::Suffix(value),
            b'*' => AttrOp::Contains(value),
            _ => AttrOp::Dash(value),
        };
        Ok(Simple::Attr(name, op))
    }
}

/// What an element looks like to the matcher.
pub struct Element<'a> {
    /// Lowercase tag name.
    pub tag: &'a str,
    pub attrs: Option<&'a Map<'a>>,
}

impl Element<'_> {
    fn attr(&self, name: &str) -> Option<&str> {
        let attrs = self.attrs?;
        match attrs.get(name) {
            Some(Value::String(s)) => Some(s),
            Some(Value::Bool(true)) => Some(""),
            Some(Value::Number(_)) => Some(""),
            _ => None,
        }
    }
    fn attr_owned(&self, name: &str) -> Option<String> {
        let attrs = self.attrs?;
        match attrs.get(name) {
            Some(Value::String(s)) => Some(s.to_string()),
            Some(Value::Bool(true)) => Some(String::new()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        }
    }
    pub fn has_class(&self, class: &str) -> bool {
        self.attr("class")
            .is_some_and(|c| c.split_ascii_whitespace().any(|t| t == class))
    }
}

impl Compound {
    pub fn matches(&self, el: &Element<'_>) -> bool {
        self.0.iter().all(|s| match s {
            Simple::Tag(t) => el.tag.eq_ignore_ascii_case(t),
            Simple::Id(id) => el.attr("id") == Some(id.as_str()),
            Simple::Class(c) => el.has_class(c),
            Simple::Attr(name, op) => {
                let Some(v) = el.attr_owned(name) else {
                    return false;
                };
                match op {
                    AttrOp::Exists => true,
                    AttrOp::Eq(x) => v == *x,
                    AttrOp::Word(x) => v.split_ascii_whitespace().any(|w| w == x),
                    AttrOp::Prefix(x) => !x.is_empty() && v.starts_with(x.as_str()),
                    AttrOp::Suffix(x) => !x.is_empty() && v.ends_with(x.as_str()),
                    AttrOp::Contains(x) => !x.is_empty() && v.contains(x.as_str()),
                    AttrOp::Dash(x) => v == *x || v.starts_with(&format!("{x}-")),
                }
            }
        })
    }
}

/// Rules compiled into one NFA. `T` is the per-rule payload (the action).
#[derive(Debug, Clone)]
pub struct Matcher<T> {
    sels: Vec<(Complex, T, usize)>,
    /// Bits whose pending compound may match at any depth below (descendant combinator).
    desc_mask: u64,
}

impl<T: Copy> Matcher<T> {
    /// Build from (selector, payload) pairs. Errors if more than [`MAX_STATE_BITS`] states.
    pub fn new(items: Vec<(Complex, T)>) -> Result<Self, String> {
        let mut sels = Vec::with_capacity(items.len());
        let mut bit = 0usize;
        let mut desc_mask = 0u64;
        for (c, t) in items {
            let needed = c.compounds.len().saturating_sub(1);
            if bit + needed > MAX_STATE_BITS {
                return Err(format!(
                    "selectors too complex: more than {MAX_STATE_BITS} combinator steps in total"
                ));
            }
            for (k, comb) in c.combs.iter().enumerate() {
                if *comb == Comb::Descendant {
                    desc_mask |= 1u64 << (bit + k);
                }
            }
            sels.push((c, t, bit));
            bit += needed;
        }
        Ok(Matcher { sels, desc_mask })
    }

    /// A matcher without rules.
    pub fn empty() -> Self {
        Matcher {
            sels: Vec::new(),
            desc_mask: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.sels.is_empty()
    }

    /// Match `el`, given the bits its parent passed down. Calls `hit` for each matching
    /// selector's payload and returns the bits to pass to `el`'s children.
    pub fn step(&self, parent_bits: u64, el: &Element<'_>, mut hit: impl FnMut(T)) -> u64 {
        // Descendant-pending states stay alive for the whole subtree.
        let mut out = parent_bits & self.desc_mask;
        for (c, t, base) in &self.sels {
            let last = c.compounds.len() - 1;
            // Start states and pending states advance independently.
            for (j, comp) in c.compounds.iter().enumerate() {
                let pending = if j == 0 {
                    true
                } else {
                    parent_bits & (1u64 << (base + j - 1)) != 0
                };
                if !pending || !comp.matches(el) {
                    continue;
                }
                if j == last {
                    hit(*t);
                } else {
                    out |= 1u64 << (base + j);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attrs(v: serde_json::Value) -> Map<'static> {
        match crate::json::from_str(&v.to_string()).unwrap().into_owned() {
            Value::Object(m) => m,
            _ => Map::default(),
        }
    }

    #[test]
    fn parses_the_subset() {
        for s in [
            "input",
            "#card",
            ".price",
            "[data-private]",
            "[data-kind=secret]",
            "[data-kind='a b']",
            "[data-kind=\"x\"]",
            "form.checkout > input[type=text]",
            "div .a  >  span, p",
            "*",
            "*.x",
            "[name^=card]",
        ] {
            assert!(parse(s).is_ok(), "{s}: {:?}", parse(s));
        }
    }

    #[test]
    fn reports_errors() {
        for (s, frag) in [
            ("", "expected a selector"),
            ("a:hover", "pseudo-classes"),
            ("a + b", "sibling"),
            ("a ~ b", "sibling"),
            ("[x=", "attribute value"),
            ("[x='a]", "unterminated"),
            ("a,", "expected a selector"),
            (".", "class name"),
            ("a >", "expected a selector"),
            ("[x=y i]", "flags"),
            ("a)", "unexpected ')'"),
        ] {
            let e = parse(s).expect_err(s);
            assert!(e.message.contains(frag), "{s}: {e}");
        }
    }

    fn run(m: &Matcher<u8>, path: &[(&str, serde_json::Value)]) -> Vec<u8> {
        let mut bits = 0;
        let mut hits = Vec::new();
        let last = path.len() - 1;
        for (k, (tag, a)) in path.iter().enumerate() {
            let a = attrs(a.clone());
            let el = Element {
                tag,
                attrs: Some(&a),
            };
            bits = m.step(bits, &el, |t| {
                if k == last {
                    hits.push(t)
                }
            });
        }
        hits
    }

    #[test]
    fn nfa_matching() {
        let items: Vec<(Complex, u8)> = [
            ("form.checkout > input[type=text]", 1),
            ("div .a span", 2),
            ("#x", 3),
            ("[data-k]", 4),
        ]
        .iter()
        .flat_map(|(s, t)| parse(s).unwrap().into_iter().map(move |c| (c, *t)))
        .collect();
        let m = Matcher::new(items).unwrap();
        let form = ("form", json!({"class": "checkout big"}));
        let input = ("input", json!({"type": "text"}));
        let div = ("div", json!({}));
        assert_eq!(run(&m, &[form.clone(), input.clone()]), vec![1]);
        assert_eq!(
            run(&m, &[form.clone(), div.clone(), input.clone()]),
            Vec::<u8>::new()
        );
        let a = ("p", json!({"class": "a"}));
        let span = ("span", json!({}));
        assert_eq!(run(&m, &[div.clone(), a.clone(), span.clone()]), vec![2]);
        assert_eq!(
            run(
                &m,
                &[
                    div.clone(),
                    div.clone(),
                    a.clone(),
                    div.clone(),
                    span.clone()
                ]
            ),
            vec![2]
        );
        assert_eq!(
            run(&m, &[a.clone(), div.clone(), span.clone()]),
            Vec::<u8>::new()
        );
        assert_eq!(
            run(&m, &[("b", json!({"id": "x", "data-k": ""}))]),
            vec![3, 4]
        );
    }

    #[test]
    fn too_many_bits() {
        let c = parse("a b c d e f g h").unwrap().remove(0);
        let items = (0..10).map(|_| (c.clone(), 0u8)).collect();
        assert!(Matcher::new(items).is_err());
    }
}
