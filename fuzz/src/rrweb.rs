//! Structure-aware rrweb input: events shaped like rrweb 2's (full snapshots with node trees,
//! mutations, input, style rules, meta, custom), generated from fuzzer bytes by `arbitrary`,
//! with planted personal data in texts, attributes and input values. Shapes are kept loose on
//! purpose (duplicate node ids, missing fields, wrong types now and then): the masking walk
//! must take whatever an envelope lets through.

use arbitrary::{Arbitrary, Result, Unstructured};
use serde_json::{json, Map, Value};

use veilgate::envelope::Platform;

/// Planted values: what masking must find in text and values.
pub const PII: &[&str] = &[
    "jane.doe@example.com",
    "4111 1111 1111 1111",
    "4111-1111-1111-1111",
    "+1 415 555 0100",
    "078-05-1120",
    "DE89 3704 0044 0532 0130 00",
    "hunter2",
    "plantedtok_5f3a9c1e7b",
    "192.168.10.23",
];

const WORDS: &[&str] = &[
    "",
    " ",
    "\n",
    "Hello",
    "Total: 42.00 €",
    "Create your account",
    "名前",
    "🙂",
    "a\u{0}b",
    "<script>alert(1)</script>",
    "********",
    "\u{202e}rtl",
    "x",
];

const TAGS: &[&str] = &[
    "html", "head", "body", "div", "span", "p", "a", "img", "input", "textarea", "select",
    "option", "form", "label", "button", "script", "style", "iframe", "canvas", "svg", "video",
    "td", "li", "h1", "meta", "link", "noscript", "template",
];

const ATTRS: &[&str] = &[
    "value",
    "placeholder",
    "type",
    "name",
    "id",
    "class",
    "href",
    "src",
    "srcset",
    "alt",
    "title",
    "aria-label",
    "data-user",
    "data-email",
    "style",
    "_cssText",
    "rr_dataURL",
    "autocomplete",
    "selected",
    "checked",
    "content",
    "action",
    "for",
    "rr_mediaState",
    "data-rr-mask",
    "data-private",
];

const INPUT_TYPES: &[&str] = &[
    "text",
    "email",
    "password",
    "tel",
    "number",
    "hidden",
    "search",
    "checkbox",
    "radio",
    "submit",
    "date",
    "url",
    "credit-card",
];

const CLASSES: &[&str] = &[
    "",
    "rr-mask",
    "rr-block",
    "rr-ignore",
    "private",
    "pii",
    "user-email",
    "card",
];

fn text(u: &mut Unstructured<'_>) -> Result<String> {
    Ok(match u.int_in_range(0..=9u8)? {
        0..=3 => u.choose(PII)?.to_string(),
        4..=6 => u.choose(WORDS)?.to_string(),
        7 => format!("{} {}", u.choose(WORDS)?, u.choose(PII)?),
        8 => u
            .choose(PII)?
            .repeat(usize::from(u.int_in_range(1..=40u8)?)),
        _ => String::arbitrary(u)?,
    })
}

fn id(u: &mut Unstructured<'_>) -> Result<Value> {
    Ok(match u.int_in_range(0..=15u8)? {
        0 => Value::Null,
        1 => json!(-1),
        2 => json!("7"),
        _ => json!(u.int_in_range(1..=64u32)?),
    })
}

fn attributes(u: &mut Unstructured<'_>, tag: &str) -> Result<Map<String, Value>> {
    let mut m = Map::new();
    if tag == "input" && u.ratio(3, 4)? {
        m.insert("type".into(), json!(u.choose(INPUT_TYPES)?));
    }
    if u.ratio(1, 3)? {
        m.insert("class".into(), json!(u.choose(CLASSES)?));
    }
    for _ in 0..u.int_in_range(0..=4u8)? {
        let name = u.choose(ATTRS)?.to_string();
        let v = match u.int_in_range(0..=9u8)? {
            0 => Value::Null,
            1 => json!(true),
            2 => json!(u.int_in_range(0..=9u8)?),
            3 => json!({"nested": text(u)?}),
            _ => json!(text(u)?),
        };
        m.insert(name, v);
    }
    Ok(m)
}

/// A serialized node (rrweb-snapshot): Document 0, DocumentType 1, Element 2, Text 3,
/// CDATA 4, Comment 5.
fn node(u: &mut Unstructured<'_>, depth: u32) -> Result<Value> {
    let kind = if depth == 0 {
        0
    } else {
        u.int_in_range(1..=7u8)?
    };
    let mut n = match kind {
        0 => json!({"type": 0, "childNodes": children(u, depth)?}),
        1 => json!({"type": 1, "name": "html", "publicId": "", "systemId": ""}),
        2 | 6 | 7 => {
            let tag = u.choose(TAGS)?.to_string();
            let mut e = json!({
                "type": 2,
                "tagName": tag,
                "attributes": Value::Object(attributes(u, &tag)?),
                "childNodes": children(u, depth)?,
            });
            if u.ratio(1, 8)? {
                e["isSVG"] = json!(true);
            }
            e
        }
        3 => {
            let mut t = json!({"type": 3, "textContent": text(u)?});
            if u.ratio(1, 8)? {
                t["isStyle"] = json!(true);
            }
            t
        }
        4 => json!({"type": 4, "textContent": ""}),
        _ => json!({"type": 5, "textContent": text(u)?}),
    };
    n["id"] = id(u)?;
    if u.ratio(1, 32)? {
        // A hostile shape: childNodes that is not an array, or a node that is not an object.
        return Ok(match u.int_in_range(0..=2u8)? {
            0 => {
                n["childNodes"] = json!("x");
                n
            }
            1 => json!(text(u)?),
            _ => json!([n]),
        });
    }
    Ok(n)
}

fn children(u: &mut Unstructured<'_>, depth: u32) -> Result<Value> {
    if depth >= 12 {
        return Ok(json!([]));
    }
    let n = u.int_in_range(0..=4u8)?;
    let mut v = Vec::new();
    for _ in 0..n {
        if u.is_empty() {
            break;
        }
        v.push(node(u, depth + 1)?);
    }
    Ok(Value::Array(v))
}

fn incremental(u: &mut Unstructured<'_>) -> Result<Value> {
    let source = u.int_in_range(0..=15u8)?;
    Ok(match source {
        0 => {
            let mut adds = Vec::new();
            for _ in 0..u.int_in_range(0..=3u8)? {
                adds.push(json!({"parentId": id(u)?, "nextId": id(u)?, "node": node(u, 1)?}));
            }
            let mut texts = Vec::new();
            for _ in 0..u.int_in_range(0..=3u8)? {
                texts.push(json!({"id": id(u)?, "value": text(u)?}));
            }
            let mut attrs = Vec::new();
            for _ in 0..u.int_in_range(0..=3u8)? {
                let tag = u.choose(TAGS)?.to_string();
                attrs
                    .push(json!({"id": id(u)?, "attributes": Value::Object(attributes(u, &tag)?)}));
            }
            let removes: Vec<Value> = (0..u.int_in_range(0..=2u8)?)
                .map(|_| Ok(json!({"parentId": id(u)?, "id": id(u)?})))
                .collect::<Result<_>>()?;
            json!({"source": 0, "texts": texts, "attributes": attrs, "removes": removes, "adds": adds})
        }
        5 => {
            let mut d = json!({"source": 5, "text": text(u)?, "isChecked": bool::arbitrary(u)?, "id": id(u)?});
            if u.ratio(1, 2)? {
                d["userTriggered"] = json!(true);
            }
            d
        }
        8 => {
            json!({"source": 8, "id": id(u)?, "adds": [{"rule": format!("input[value=\"{}\"] {{ color: red }}", text(u)?), "index": 0}]})
        }
        13 => {
            json!({"source": 13, "id": id(u)?, "set": {"property": "content", "value": text(u)?}})
        }
        2 => json!({"source": 2, "type": u.int_in_range(0..=9u8)?, "id": id(u)?, "x": 1, "y": 2}),
        3 => json!({"source": 3, "id": id(u)?, "x": 0, "y": u.int_in_range(0..=5000u32)?}),
        11 => {
            json!({"source": 11, "level": "log", "payload": [json!(text(u)?).to_string()], "trace": []})
        }
        _ => {
            json!({"source": source, "id": id(u)?, "positions": [{"x": 1, "y": 2, "id": id(u)?, "timeOffset": -5}]})
        }
    })
}

fn event(u: &mut Unstructured<'_>, ts: u64) -> Result<Value> {
    let kind = u.int_in_range(0..=6u8)?;
    let data = match kind {
        0 | 1 => json!({}),
        2 => json!({"node": node(u, 0)?, "initialOffset": {"left": 0, "top": 0}}),
        3 => incremental(u)?,
        4 => {
            json!({"href": format!("https://shop.example/account?email={}&token={}", u.choose(PII)?, u.choose(PII)?), "width": 1280, "height": 800})
        }
        5 => json!({"tag": "identify", "payload": {"email": u.choose(PII)?, "name": text(u)?}}),
        _ => {
            json!({"plugin": "rrweb/console@1", "payload": {"level": "log", "payload": [text(u)?]}})
        }
    };
    // Incremental events dominate real recordings.
    let kind = if kind == 1 && u.ratio(1, 2)? { 3 } else { kind };
    let data = if kind == 3 && data.get("source").is_none() {
        incremental(u)?
    } else {
        data
    };
    Ok(json!({"type": kind, "data": data, "timestamp": ts}))
}

/// A recording: events split into chunks, for one platform.
#[derive(Debug)]
pub struct Recording {
    pub platform: Platform,
    pub chunks: Vec<Vec<Value>>,
}

impl<'a> Arbitrary<'a> for Recording {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let platform = match u.int_in_range(0..=9u8)? {
            0 => Platform::Ios,
            1 => Platform::Android,
            _ => Platform::Web,
        };
        let mut ts = 1_700_000_000_000u64;
        let mut chunks = Vec::new();
        let n_chunks = u.int_in_range(1..=4u8)?;
        for c in 0..n_chunks {
            let mut events = Vec::new();
            if c == 0 && u.ratio(3, 4)? {
                events.push(json!({"type": 4, "data": {"href": "https://shop.example/", "width": 1, "height": 1}, "timestamp": ts}));
                events.push(json!({"type": 2, "data": {"node": node(u, 0)?, "initialOffset": {"left": 0, "top": 0}}, "timestamp": ts}));
            }
            for _ in 0..u.int_in_range(0..=12u8)? {
                if u.is_empty() {
                    break;
                }
                ts += u64::from(u.int_in_range(0..=5000u16)?);
                events.push(event(u, ts)?);
            }
            chunks.push(events);
        }
        Ok(Recording { platform, chunks })
    }
}

impl Recording {
    pub fn into_chunks(self) -> (Vec<Vec<Value>>, Platform) {
        (self.chunks, self.platform)
    }
}

/// What holds of one event before and after masking, whatever the policy: it stays an
/// event of the same type and time.
pub fn check_masked(before: &Value, after: &Value) {
    if before.is_object() {
        assert_eq!(
            before.get("type"),
            after.get("type"),
            "masking changed an event's type"
        );
        assert_eq!(
            before.get("timestamp"),
            after.get("timestamp"),
            "masking changed an event's timestamp"
        );
    }
}
