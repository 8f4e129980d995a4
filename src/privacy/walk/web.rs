//! rrweb DOM nodes (`NodeType`: 0 Document, 1 DocumentType, 2 Element, 3 Text, 4 CDATA,
//! 5 Comment) in full snapshots and mutations: element roles (form controls, textarea,
//! selected option, style, script), attributes by class, blocked placeholders, and the web
//! mutation entries (`adds` with a `node`, `attributes`, `texts`, `removes`).

use std::borrow::Cow;

use crate::json::{Map, Value};
use crate::privacy::detect;
use crate::privacy::policy::is_sensitive_key;
use crate::privacy::script;
use crate::privacy::selector::Element;
use crate::privacy::state::{flag, Facts};
use crate::privacy::url;

use super::rules::{self, is_page_text_attr, is_structural_attr, is_text_attr, is_url_attr};
use super::strings::mask_url_fully;
use super::{as_id, inherit, Kind, Walker};

enum AttrOut {
    Keep,
    Set(String),
    Remove,
    /// A `style` object (attribute mutations: `{property: value | [value, priority]}`): its
    /// values are CSS.
    Css,
    /// Not a string the walk reads (an object or array under an attribute name): scrubbed
    /// like unknown JSON.
    Json,
}

fn known_add(k: &str) -> Option<Kind> {
    match k {
        "parentId" | "nextId" | "previousId" => Some(Kind::Num),
        "node" | "wireframe" => Some(Kind::Any),
        _ => None,
    }
}

fn known_remove(k: &str) -> Option<Kind> {
    match k {
        "parentId" | "id" => Some(Kind::Num),
        "isShadow" => Some(Kind::Bool),
        _ => None,
    }
}

fn known_text(k: &str) -> Option<Kind> {
    match k {
        "id" => Some(Kind::Num),
        "value" => Some(Kind::Str),
        _ => None,
    }
}

fn known_attr_entry(k: &str) -> Option<Kind> {
    match k {
        "id" => Some(Kind::Num),
        "attributes" => Some(Kind::Obj),
        _ => None,
    }
}

fn known_element(k: &str) -> Option<Kind> {
    match k {
        "type" | "id" | "rootId" => Some(Kind::Num),
        "tagName" => Some(Kind::Str),
        "attributes" => Some(Kind::Obj),
        "childNodes" => Some(Kind::Arr),
        "isSVG" | "needBlock" | "isShadowHost" | "isShadow" | "isCustom" => Some(Kind::Bool),
        _ => None,
    }
}

fn known_text_node(k: &str) -> Option<Kind> {
    match k {
        "type" | "id" | "rootId" => Some(Kind::Num),
        "textContent" => Some(Kind::Str),
        "childNodes" => Some(Kind::Arr),
        "isStyle" | "isShadow" => Some(Kind::Bool),
        _ => None,
    }
}

/// Document and doctype nodes: their strings (`name`, `publicId`, `systemId`,
/// `compatMode`) go through the detectors without the digit rule (see `Walker::doc_node`).
fn known_doc_node(k: &str) -> Option<Kind> {
    match k {
        "type" | "id" | "rootId" => Some(Kind::Num),
        "childNodes" => Some(Kind::Arr),
        "name" | "publicId" | "systemId" | "compatMode" => Some(Kind::Any),
        "isShadow" => Some(Kind::Bool),
        _ => None,
    }
}

impl Walker<'_> {
    fn attr(&mut self, tag: &str, k: &str, v: &Value, f: Facts, is_svg: bool) -> AttrOut {
        let masked = f.has(flag::MASKED | flag::BLOCKED | flag::SENSITIVE);
        let key = k.to_ascii_lowercase();
        let key = key.as_str();
        if key == "rr_dataurl" {
            let canvas = tag == "canvas" || tag.is_empty();
            if masked || (canvas && !self.policy.record.canvas) {
                self.report.attributes_removed += 1;
                return AttrOut::Remove;
            }
            return AttrOut::Keep;
        }
        if matches!(key, "checked" | "selected") {
            let hide_choice =
                key == "selected" && !(self.policy.record.forms || f.has(flag::UNMASKED));
            if masked || f.has(flag::SECRET) || hide_choice {
                self.report.attributes_removed += 1;
                return AttrOut::Remove;
            }
            return AttrOut::Keep;
        }
        let Some(s) = v.as_str() else {
            // Numbers, booleans, null (removed attribute), style objects (attribute mutations:
            // CSS) are kept; any other object or array is no attribute value: scrubbed.
            return match v {
                Value::Object(_) if key == "style" => AttrOut::Css,
                Value::Object(_) | Value::Array(_) => AttrOut::Json,
                _ => AttrOut::Keep,
            };
        };
        if key == "style" || key == "_csstext" {
            return self.css_text(s, f).map_or(AttrOut::Keep, AttrOut::Set);
        }
        if key == "value" {
            // Unknown elements (attribute mutations) count as form controls: fail safe.
            let form = matches!(tag, "input" | "textarea" | "select" | "");
            if form {
                return self.form_value(s, f).map_or(AttrOut::Keep, AttrOut::Set);
            }
            return self.text_value(s, f).map_or(AttrOut::Keep, AttrOut::Set);
        }
        if is_url_attr(key) || key == "srcset" {
            let is_data = s
                .trim_start()
                .get(..5)
                .is_some_and(|p| p.eq_ignore_ascii_case("data:"));
            if is_data {
                if masked {
                    self.report.attributes_removed += 1;
                    return AttrOut::Remove;
                }
                return AttrOut::Keep;
            }
            if masked && matches!(tag, "a" | "area" | "form") && matches!(key, "href" | "action") {
                return AttrOut::Set(mask_url_fully(s));
            }
            let rules = self.url_rules(f);
            let out = if key == "srcset" {
                url::scrub_srcset(s, &rules)
            } else {
                url::scrub_url(s, &rules)
            };
            return match out {
                Cow::Owned(o) => {
                    self.report.strings_masked += 1;
                    AttrOut::Set(o)
                }
                Cow::Borrowed(_) => AttrOut::Keep,
            };
        }
        if key.starts_with("data-") && is_sensitive_key(&key[5..], &self.policy.extra_keys) {
            let o = detect::star_all(s);
            return if o == s {
                AttrOut::Keep
            } else {
                AttrOut::Set(o)
            };
        }
        if is_text_attr(key) {
            return self
                .text_value_as(s, f, is_page_text_attr(key))
                .map_or(AttrOut::Keep, AttrOut::Set);
        }
        if is_structural_attr(key) || (is_svg && !masked) {
            // Names and geometry the replay needs as they are; an email or a secret a script
            // wrote into them is still no name.
            let d = self.name_detect(f);
            return match url::scrub_css_names(s, d) {
                Cow::Owned(o) => {
                    self.report.strings_masked += 1;
                    AttrOut::Set(o)
                }
                Cow::Borrowed(_) => AttrOut::Keep,
            };
        }
        // Anything else: detectors without the digit rule (layout numbers live here).
        match self.layout_str(s, f) {
            Cow::Owned(o) => {
                self.report.strings_masked += 1;
                AttrOut::Set(o)
            }
            Cow::Borrowed(_) => AttrOut::Keep,
        }
    }

    fn attributes(&mut self, tag: &str, attrs: &mut Map, f: Facts, is_svg: bool, button: bool) {
        // One pass, in place: a hostile element with many attributes stays linear.
        let in_script = f.has(flag::SCRIPT);
        attrs.retain(|k, v| {
            // Live script first (handlers, srcdoc, script URLs), then masking.
            match script::attr(tag, k, v.as_str(), in_script) {
                script::Verdict::Keep => {}
                script::Verdict::Remove => {
                    self.report.attributes_removed += 1;
                    return false;
                }
                script::Verdict::Replace(r) => {
                    self.report.strings_masked += 1;
                    *v = Value::from(r);
                    return true;
                }
            }
            let out = if button && k == "value" {
                match v.as_str() {
                    Some(s) => self.text_value(s, f).map_or(AttrOut::Keep, AttrOut::Set),
                    None => AttrOut::Keep,
                }
            } else {
                self.attr(tag, k, v, f, is_svg)
            };
            match out {
                AttrOut::Keep => true,
                AttrOut::Set(s) => {
                    *v = Value::from(s);
                    true
                }
                AttrOut::Remove => false,
                AttrOut::Css => {
                    self.css_strings(v, f);
                    true
                }
                AttrOut::Json => {
                    self.scrub_json(v, f);
                    true
                }
            }
        });
        self.attribute_names(attrs, f);
    }

    /// Attribute names are names, but the HTML parser takes almost anything as one
    /// (`<div jane@example.com>`): the name detectors over each (emails, cards, secrets).
    fn attribute_names(&mut self, attrs: &mut Map, f: Facts) {
        let d = self.name_detect(f);
        let bad = |k: &str| matches!(url::scrub_css_names(k, d), Cow::Owned(_));
        if !attrs.keys().any(bad) {
            return;
        }
        self.report.strings_masked += 1;
        let old = std::mem::take(attrs);
        *attrs = old
            .into_iter()
            .map(|(k, v)| (Cow::Owned(url::scrub_css_names(&k, d).into_owned()), v))
            .collect();
    }

    /// Reduce a blocked element to rrweb's placeholder: class, size, no children.
    fn placeholder_attrs(&mut self, attrs: &mut Map, f: Facts) {
        let before = attrs.len();
        attrs.retain(|k, v| match k {
            "class" | "rr_width" | "rr_height" => true,
            "style" => v.as_str().is_some_and(|s| !s.contains("url(")),
            _ => false,
        });
        self.report.attributes_removed += before - attrs.len();
        // What is kept is still text a script could have written into.
        for (k, v) in attrs.iter_mut() {
            let Some(s) = v.as_str() else { continue };
            let new = if k == "style" {
                self.css_text(s, f)
            } else {
                match url::scrub_css_names(s, self.name_detect(f)) {
                    Cow::Owned(o) => Some(o),
                    Cow::Borrowed(_) => None,
                }
            };
            self.set_str(v, new);
        }
    }

    /// Remove the children of a blocked element, remembering their ids as blocked.
    fn strip_children(&mut self, node: &mut Map) {
        if let Some(Value::Array(children)) = node.get_mut("childNodes") {
            self.forget_blocked(std::mem::take(children), "childNodes");
        }
    }

    /// An element's facts (the shared decision plus its roles), its attributes masked.
    fn element(&mut self, node: &mut Map, id: Option<u32>, parent: Facts, depth: u32) -> Facts {
        let tag = node
            .get("tagName")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_lowercase();
        let is_svg = node.get("isSVG").and_then(Value::as_bool).unwrap_or(false);
        let attrs = node.get("attributes").and_then(Value::as_object);
        let el = Element { tag: &tag, attrs };
        let (mut facts, marks) = self.node_facts(parent, id, depth, 0, &el, rules::markers(attrs));
        let secret = marks.secret || rules::is_secret_input(&tag, attrs);
        let input_type = attrs
            .and_then(|a| a.get("type"))
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        let selected = tag == "option" && attrs.is_some_and(|a| a.contains_key("selected"));
        // Rich-text editors: what is typed there is user input, masked like a form value.
        let editable = attrs
            .and_then(|a| a.get("contenteditable"))
            .is_some_and(|v| v.as_str().is_none_or(|s| !s.eq_ignore_ascii_case("false")));
        if editable && !(self.policy.record.forms || facts.has(flag::UNMASKED)) {
            facts.flags |= flag::MASKED;
        }
        let button = tag == "input"
            && matches!(input_type.as_str(), "submit" | "button" | "reset" | "image");
        match tag.as_str() {
            "input" if !button => facts.flags |= flag::FORM,
            "textarea" => facts.flags |= flag::FORM | flag::TEXTAREA,
            "select" => facts.flags |= flag::FORM,
            "style" => facts.flags |= flag::CSS,
            "option" if selected => facts.flags |= flag::SELECTED,
            _ => {}
        }
        if script::is_script_tag(&tag) {
            facts.flags |= flag::SCRIPT;
        }
        if secret {
            facts.flags |= flag::SECRET;
        }
        if let Some(Value::Object(attrs)) = node.get_mut("attributes") {
            if facts.has(flag::BLOCK_ROOT) {
                self.placeholder_attrs(attrs, facts);
            } else {
                self.attributes(&tag, attrs, facts, is_svg, button);
            }
        }
        if facts.has(flag::BLOCK_ROOT) {
            self.report.nodes_blocked += 1;
        }
        facts
    }

    fn text(&mut self, node: &mut Map, id: Option<u32>, parent: Facts, comment: bool) -> Facts {
        let mut facts = self.leaf_facts(parent, id);
        facts.selector_bits = 0;
        let is_style = node
            .get("isStyle")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if !comment && (is_style || parent.has(flag::CSS)) {
            facts.flags |= flag::CSS;
        }
        if !comment && parent.has(flag::TEXTAREA | flag::SELECTED) {
            facts.flags |= flag::VALUE_TEXT | (parent.flags & flag::SECRET);
            if parent.has(flag::UNMASKED) {
                facts.flags |= flag::UNMASKED;
            }
        }
        if self.policy.strict {
            facts.flags |= flag::MASKED;
        }
        if !comment && parent.has(flag::SCRIPT) {
            facts.flags |= flag::SCRIPT;
        }
        if facts.has(flag::SCRIPT) {
            self.script_text(node.get_mut("textContent"));
        } else if let Some(v) = node.get_mut("textContent") {
            if let Some(s) = v.as_str() {
                let new = self.text_value(s, facts);
                self.set_str(v, new);
            }
        }
        facts
    }

    /// Walk a serialized node tree (full snapshot root or a mutation's added node).
    pub fn walk_tree(&mut self, root: &mut Value, parent: Facts, depth0: u32) {
        let mut stack: Vec<(&mut Value, Facts, u32)> = vec![(root, parent, depth0)];
        while let Some((v, pf, depth)) = stack.pop() {
            let Value::Object(node) = v else {
                // Not a node: scrub whatever strings it holds.
                self.scrub_json(v, inherit(pf));
                continue;
            };
            let id = as_id(node.get("id"));
            let ty = node.get("type").and_then(Value::as_u64);
            let facts = match ty {
                Some(2) => {
                    let f = self.element(node, id, pf, depth);
                    self.rest(node, known_element, f);
                    f
                }
                Some(3) | Some(4) => {
                    let f = self.text(node, id, pf, false);
                    self.rest(node, known_text_node, f);
                    f
                }
                Some(5) => {
                    let f = self.text(node, id, pf, true);
                    self.rest(node, known_text_node, f);
                    f
                }
                Some(0) | Some(1) => {
                    let f = self.leaf_facts(pf, id);
                    for k in ["name", "publicId", "systemId", "compatMode"] {
                        if let Some(v) = node.get_mut(k) {
                            self.layout_text(v, f);
                        }
                    }
                    self.rest(node, known_doc_node, f);
                    f
                }
                _ => {
                    // Unknown node type: mask all of its strings, keep its shape.
                    let mut f = inherit(pf);
                    f.flags |= flag::MASKED;
                    for (k, x) in node.iter_mut() {
                        if k != "id" && k != "type" {
                            self.scrub_json_masked(x);
                        }
                    }
                    if let Some(id) = id {
                        self.record(id, f);
                    }
                    continue;
                }
            };
            if let Some(id) = id {
                self.record(id, facts);
            }
            if facts.has(flag::BLOCK_ROOT) {
                self.strip_children(node);
                continue;
            }
            if let Some(Value::Array(children)) = node.get_mut("childNodes") {
                for c in children.iter_mut().rev() {
                    stack.push((c, facts, depth + 1));
                }
            }
        }
    }
}

// ---- mutation entries --------------------------------------------------------------------

impl Walker<'_> {
    /// One mutation `adds` entry with a `node`: false when it is dropped (added inside a
    /// blocked element; its ids are remembered as blocked).
    pub(super) fn add_node(&mut self, add: &mut Value) -> bool {
        let pf = self.facts_of(as_id(add.get("parentId")));
        if pf.has(flag::BLOCKED | flag::BLOCK_ROOT) {
            let mut holder = Map::new();
            if let Some(n) = add.get_mut("node") {
                holder.insert("childNodes", Value::Array(vec![n.take()]));
            }
            self.strip_children(&mut holder);
            self.report.entries_dropped += 1;
            return false;
        }
        match add.get_mut("node") {
            Some(n) => {
                self.walk_tree(n, pf, 1);
                self.rest_value(add, known_add, inherit(pf));
            }
            None => self.scrub_json_masked(add),
        }
        true
    }

    /// One mutation `attributes` entry: false when it is dropped (a blocked node). Markers
    /// or rules appearing later mask the element from now on.
    pub(super) fn attribute_entry(&mut self, a: &mut Value) -> bool {
        let Some(id) = as_id(a.get("id")) else {
            self.scrub_json_masked(a);
            return true;
        };
        let mut f = self.facts(id);
        if f.has(flag::BLOCKED) {
            self.report.entries_dropped += 1;
            return false;
        }
        if let Some(Value::Object(map)) = a.get_mut("attributes") {
            let el = Element {
                tag: "",
                attrs: Some(map),
            };
            // The element's selector state is not kept: rules are matched as at the root.
            let (_, marks) = self.apply_rules(0, &el, rules::markers(Some(map)));
            let mut nf = f;
            if marks.mask || marks.block {
                nf.flags |= flag::MASKED;
                nf.flags &= !flag::UNMASKED;
            }
            if marks.secret || rules::is_secret_input("", Some(map)) {
                nf.flags |= flag::SECRET;
            }
            if nf != f {
                f = nf;
                self.record(id, f);
            }
            if f.has(flag::BLOCK_ROOT) {
                self.placeholder_attrs(map, f);
            } else {
                self.attributes("", map, f, false, false);
            }
        }
        self.rest_value(a, known_attr_entry, f);
        true
    }

    /// One mutation `texts` entry: false when it is dropped (a blocked node).
    pub(super) fn text_entry(&mut self, t: &mut Value) -> bool {
        let f = self.facts_of(as_id(t.get("id")));
        if f.has(flag::BLOCKED) {
            self.report.entries_dropped += 1;
            return false;
        }
        if f.has(flag::SCRIPT) {
            self.script_text(t.get_mut("value"));
        } else if let Some(v) = t.get_mut("value") {
            if let Some(s) = v.as_str() {
                let new = self.text_value(s, f);
                self.set_str(v, new);
            }
        }
        self.rest_value(t, known_text, f);
        true
    }

    /// One mutation `removes` entry (web or mobile): ids only.
    pub(super) fn remove_entry(&mut self, r: &mut Value) {
        let f = self.facts_of(as_id(r.get("id")));
        self.rest_value(r, known_remove, f);
    }
}
