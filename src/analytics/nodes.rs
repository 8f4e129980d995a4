//! The pruned node map kept across chunks: for each element (web) or wireframe (mobile) only
//! what a click or input needs — its parent, three flag bits and its compact descriptor —
//! never text, values or other attributes. `<head>` and text nodes are not kept. Hard bound:
//! [`MAX_NODES`]; past it later nodes are not described until the next full snapshot, which
//! rebuilds the map (rrweb restarts ids on a page load).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::json::{Map, Value};

use super::desc::{write_compact, Desc};
use super::MAX_NODES;

/// An `a`, `button`, `input` of a non-text type, `select`, `summary`, `label` or an element
/// with an interactive `role` (mobile: buttons, toggles, tabs, links).
pub(crate) const INTERACTIVE: u8 = 1;
/// A text field, `textarea` or `select` (mobile: text inputs): rage clicks are not counted there.
pub(crate) const TEXT: u8 = 2;
/// Inside `contenteditable` (inherited).
pub(crate) const EDITABLE: u8 = 4;

/// Descriptor text the map holds at most (ids and classes; tags are always kept), so the
/// state's JSON stays bounded however long the tokens of a page are.
const MAX_DESC_BYTES: u32 = 48 * 1024;

/// Walks up to this many ancestors for the interactive one.
const MAX_ANCESTORS: usize = 64;

const TEXT_INPUT_TYPES: &[&str] = &[
    "text",
    "email",
    "password",
    "search",
    "tel",
    "url",
    "number",
    "date",
    "datetime-local",
    "month",
    "week",
    "time",
];
const ROLES: &[&str] = &["button", "link", "tab", "menuitem", "checkbox"];
const MOBILE_TEXT: &[&str] = &["input", "text_field", "textfield", "edit_text"];
const MOBILE_INTERACTIVE: &[&str] = &[
    "button", "toggle", "switch", "checkbox", "radio", "tab", "link",
];

/// `[id, parent (0: none), flags, descriptor]`, sorted by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry(pub u32, pub u32, pub u8, pub String);

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Nodes {
    pub n: Vec<Entry>,
    /// Ids whose scroll is the page's: the document node, `html`, `body`.
    pub doc: Vec<u32>,
    /// The bound was hit since the last snapshot.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub full: bool,
    /// Bytes of descriptor text held: past [`MAX_DESC_BYTES`] a node keeps its tag only.
    pub b: u32,
}

/// What a click or input target is.
pub(crate) struct Described {
    pub target: Option<Desc>,
    pub control: Option<Desc>,
    pub flags: u8,
}

/// An rrweb node id (u32), if `v` is one.
pub(crate) fn id_of(v: Option<&Value>) -> Option<u32> {
    v.and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
}

fn attr<'v>(attrs: Option<&'v Map>, k: &str) -> Option<&'v str> {
    attrs.and_then(|a| a.get(k)).and_then(Value::as_str)
}

/// The attributes the map reads, found in one pass over an element's attributes.
#[derive(Default)]
struct Attrs<'v> {
    id: Option<&'v str>,
    class: Option<&'v str>,
    ty: Option<&'v str>,
    role: Option<&'v str>,
    editable: Option<&'v str>,
}

impl<'v> Attrs<'v> {
    fn of(attrs: Option<&'v Map>) -> Attrs<'v> {
        let mut a = Attrs::default();
        for (k, v) in attrs.into_iter().flat_map(|m| m.iter()) {
            let slot = match k {
                "id" => &mut a.id,
                "class" => &mut a.class,
                "type" => &mut a.ty,
                "role" => &mut a.role,
                "contenteditable" => &mut a.editable,
                _ => continue,
            };
            *slot = v.as_str();
        }
        a
    }
}

fn web_flags(tag: &str, a: &Attrs, parent: u8) -> u8 {
    let mut f = 0;
    match a.editable {
        Some(v) if v.eq_ignore_ascii_case("false") => {}
        Some(_) => f |= EDITABLE,
        None => f |= parent & EDITABLE,
    }
    let is = |v: &str, list: &[&str]| list.iter().any(|x| x.eq_ignore_ascii_case(v.trim()));
    if tag.eq_ignore_ascii_case("input") {
        f |= if is(a.ty.unwrap_or("text"), TEXT_INPUT_TYPES) {
            TEXT
        } else {
            INTERACTIVE
        };
    } else if tag.eq_ignore_ascii_case("textarea") {
        f |= TEXT;
    } else if tag.eq_ignore_ascii_case("select") {
        f |= TEXT | INTERACTIVE;
    } else if is(tag, &["a", "button", "summary", "label"]) {
        f |= INTERACTIVE;
    }
    if a.role.is_some_and(|r| is(r, ROLES)) {
        f |= INTERACTIVE;
    }
    f
}

impl Nodes {
    pub fn reset(&mut self) {
        self.n.clear();
        self.doc.clear();
        self.full = false;
        self.b = 0;
    }

    fn get(&self, id: u32) -> Option<&Entry> {
        self.n
            .binary_search_by_key(&id, |e| e.0)
            .ok()
            .map(|i| &self.n[i])
    }

    fn insert(&mut self, mut e: Entry, tag: &str) {
        let pos = self.n.binary_search_by_key(&e.0, |x| x.0);
        if pos.is_err() && self.n.len() >= MAX_NODES {
            self.full = true;
            return;
        }
        let old = pos.map_or(0, |i| self.n[i].3.len() as u32);
        let budget = MAX_DESC_BYTES.saturating_sub(self.b.saturating_sub(old));
        if e.3.len() as u32 > budget {
            e.3.clear();
            write_compact(&mut e.3, tag, None, None);
        }
        self.b = self.b.saturating_sub(old) + e.3.len() as u32;
        match pos {
            Ok(i) => self.n[i] = e,
            Err(i) => self.n.insert(i, e),
        }
    }

    fn flags_of(&self, id: u32) -> u8 {
        self.get(id).map_or(0, |e| e.2)
    }

    /// A web full snapshot's `node` (the state was reset by the caller).
    pub fn web_snapshot(&mut self, root: &Value) {
        if root.get("type").and_then(Value::as_u64) == Some(0) {
            if let Some(id) = id_of(root.get("id")) {
                self.doc.push(id);
            }
        }
        self.web_tree(root, 0, 0, true);
    }

    /// A web mutation `adds` entry.
    pub fn web_add(&mut self, add: &Value) {
        let Some(node) = add.get("node") else { return };
        let parent = id_of(add.get("parentId")).unwrap_or(0);
        self.web_tree(node, parent, self.flags_of(parent), false);
    }

    fn web_tree(&mut self, root: &Value, parent: u32, pflags: u8, top: bool) {
        // Most mutation adds are one node without children: no stack for those.
        let Some((kids, me, flags)) = self.web_node(root, parent, pflags, top) else {
            return;
        };
        let mut stack: Vec<(&Value, u32, u8)> = kids.iter().rev().map(|c| (c, me, flags)).collect();
        while let Some((v, parent, pflags)) = stack.pop() {
            if let Some((kids, me, flags)) = self.web_node(v, parent, pflags, top) {
                stack.extend(kids.iter().rev().map(|c| (c, me, flags)));
            }
        }
    }

    /// One node of a web tree: kept if it is an element; its children and what they inherit
    /// if the walk goes on below it.
    fn web_node<'v>(
        &mut self,
        v: &'v Value,
        parent: u32,
        pflags: u8,
        top: bool,
    ) -> Option<(&'v [Value<'v>], u32, u8)> {
        let m = v.as_object()?;
        let id = id_of(m.get("id"));
        let (me, flags) = match m.get("type").and_then(Value::as_u64) {
            Some(2) => {
                let id = id?;
                let tag = m.get("tagName").and_then(Value::as_str).unwrap_or("");
                if tag.eq_ignore_ascii_case("head") {
                    return None;
                }
                let a = Attrs::of(m.get("attributes").and_then(Value::as_object));
                let flags = web_flags(tag, &a, pflags);
                let page = tag.eq_ignore_ascii_case("html") || tag.eq_ignore_ascii_case("body");
                if top && page && self.doc.len() < 4 {
                    self.doc.push(id);
                }
                if self.n.len() < MAX_NODES || self.get(id).is_some() {
                    let mut desc = String::new();
                    write_compact(&mut desc, tag, a.id, a.class);
                    self.insert(Entry(id, parent, flags, desc), tag);
                } else {
                    self.full = true;
                }
                (id, flags)
            }
            // Documents (an iframe's), shadow roots and fragments pass their parent on.
            Some(0) | Some(11) | None => (id.unwrap_or(parent), pflags),
            _ => return None,
        };
        let kids = m.get("childNodes").and_then(Value::as_array)?;
        (!kids.is_empty()).then_some((kids.as_slice(), me, flags))
    }

    /// A web mutation `attributes` entry: class, id, type, role, contenteditable changes.
    pub fn web_attributes(&mut self, entry: &Value) {
        let Some(id) = id_of(entry.get("id")) else {
            return;
        };
        let Some(changed) = entry.get("attributes").and_then(Value::as_object) else {
            return;
        };
        let Ok(i) = self.n.binary_search_by_key(&id, |e| e.0) else {
            return;
        };
        let old = Desc::parse_compact(&self.n[i].3);
        let touches = |k: &str| changed.contains_key(k);
        if touches("id") || touches("class") {
            let id_attr = match changed.get("id") {
                Some(v) => v.as_str().map(str::to_owned),
                None => old.id.clone(),
            };
            let class_attr = match changed.get("class") {
                Some(v) => v.as_str().map(str::to_owned),
                None => Some(old.classes.join(" ")),
            };
            let mut d = String::new();
            write_compact(&mut d, &old.tag, id_attr.as_deref(), class_attr.as_deref());
            let e = Entry(id, self.n[i].1, self.n[i].2, d);
            self.insert(e, &old.tag);
        }
        if touches("type") || touches("role") || touches("contenteditable") {
            let parent = self.n[i].1;
            let pflags = self.flags_of(parent);
            self.n[i].2 = web_flags(&old.tag, &Attrs::of(Some(changed)), pflags);
        }
    }

    /// Mutation `removes` (web or mobile): the nodes and everything kept under them.
    pub fn remove(&mut self, removes: &[Value]) {
        let mut gone: HashSet<u32> = removes.iter().filter_map(|r| id_of(r.get("id"))).collect();
        if gone.is_empty() {
            return;
        }
        // rrweb numbers nodes in document order: one pass in id order finds the subtrees.
        let mut freed = 0u32;
        self.n.retain(|e| {
            if gone.contains(&e.0) || gone.contains(&e.1) {
                gone.insert(e.0);
                freed += e.3.len() as u32;
                false
            } else {
                true
            }
        });
        self.b = self.b.saturating_sub(freed);
    }

    /// A mobile snapshot's `wireframes` (state reset by the caller).
    pub fn mobile_snapshot(&mut self, frames: &[Value]) {
        for f in frames {
            self.mobile_tree(f, 0);
        }
    }

    /// A mobile `adds` (with `parentId`) or `updates` entry.
    pub fn mobile_entry(&mut self, entry: &Value) {
        let Some(wf) = entry.get("wireframe") else {
            return;
        };
        let parent = match id_of(entry.get("parentId")) {
            Some(p) => p,
            // An update keeps the node where it is.
            None => id_of(wf.get("id"))
                .and_then(|id| self.get(id))
                .map_or(0, |e| e.1),
        };
        self.mobile_tree(wf, parent);
    }

    fn mobile_tree(&mut self, root: &Value, parent: u32) {
        let mut stack: Vec<(&Value, u32)> = vec![(root, parent)];
        while let Some((v, parent)) = stack.pop() {
            let Some(m) = v.as_object() else { continue };
            let Some(id) = id_of(m.get("id")) else {
                continue;
            };
            let kind = m
                .get("kind")
                .or_else(|| m.get("type"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_ascii_lowercase();
            let mut flags = 0;
            if MOBILE_TEXT.contains(&kind.as_str()) {
                flags |= TEXT;
            }
            if MOBILE_INTERACTIVE.contains(&kind.as_str()) {
                flags |= INTERACTIVE;
            }
            let mut desc = String::new();
            write_compact(&mut desc, &kind, attr(Some(m), "identifier"), None);
            self.insert(Entry(id, parent, flags, desc), &kind);
            if let Some(children) = m.get("children").and_then(Value::as_array) {
                for c in children.iter().rev() {
                    stack.push((c, id));
                }
            }
        }
    }

    /// The target's descriptor, its nearest interactive element (itself or an ancestor) and
    /// the flags that matter for signals (text field, contenteditable).
    pub fn describe(&self, id: Option<u32>) -> Described {
        let mut out = Described {
            target: None,
            control: None,
            flags: 0,
        };
        let Some(mut cur) = id else { return out };
        for step in 0..MAX_ANCESTORS {
            let Some(e) = self.get(cur) else { break };
            if step == 0 {
                out.target = Some(Desc::parse_compact(&e.3));
                out.flags = e.2;
            }
            if e.2 & INTERACTIVE != 0 {
                out.control = Some(Desc::parse_compact(&e.3));
                out.flags |= INTERACTIVE;
                break;
            }
            if e.1 == 0 || e.1 == cur {
                break;
            }
            cur = e.1;
        }
        out
    }

    pub fn is_page_scroll(&self, id: Option<u32>) -> bool {
        id.is_some_and(|id| self.doc.contains(&id))
    }
}
