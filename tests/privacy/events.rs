//! rrweb event builders and finders shared by the privacy tests.

use serde_json::{json, Value};

pub fn el(id: u32, tag: &str, attrs: Value, children: Vec<Value>) -> Value {
    json!({"type": 2, "id": id, "tagName": tag, "attributes": attrs, "childNodes": children})
}

pub fn txt(id: u32, text: &str) -> Value {
    json!({"type": 3, "id": id, "textContent": text})
}

/// Find a node by id anywhere in an event list.
pub fn node(evs: &[Value], id: u64) -> Option<&Value> {
    let mut stack: Vec<&Value> = evs.iter().collect();
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(m) => {
                if m.get("id").and_then(Value::as_u64) == Some(id)
                    && (m.contains_key("tagName") || m.contains_key("textContent"))
                {
                    return Some(v);
                }
                stack.extend(m.values());
            }
            Value::Array(a) => stack.extend(a.iter()),
            _ => {}
        }
    }
    None
}
