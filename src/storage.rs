//! The R2 layout (fixed by DESIGN.md) and the stored documents. Keys are built only from the
//! checked id types of `ids`, so no key can escape its prefix or name another object.

use serde::Serialize;
use serde_json::value::RawValue;

use crate::envelope::Platform;
use crate::ids::{ProjectKey, SessionId, VisitorId};

pub fn session_prefix(project: &ProjectKey, session: &SessionId) -> String {
    format!("sessions/{project}/{session}/")
}

pub fn sessions_prefix(project: &ProjectKey) -> String {
    format!("sessions/{project}/")
}

pub fn chunk_key(project: &ProjectKey, session: &SessionId, seq: u32) -> String {
    format!("sessions/{project}/{session}/chunks/{seq:08}.json")
}

pub fn manifest_key(project: &ProjectKey, session: &SessionId) -> String {
    format!("sessions/{project}/{session}/manifest.json")
}

/// Index of sessions by the UTC day they started, for listing by time range:
/// `index/{project}/days/{yyyy-mm-dd}/{session}` (an empty object; the key is the data, and
/// its custom metadata `summary` the session's `session_summary::SessionSummary`, absent on
/// entries written before summaries existed). The day is that of the session's `created_at`.
pub fn day_index_key(project: &ProjectKey, day: &str, session: &SessionId) -> String {
    listed_day_index_key(project, day, session)
}

/// `day_index_key` of parts read back from a listed key (the retention sweep re-derives the
/// keys it listed, and only those): the same layout, no id check, since nothing from a client
/// reaches it.
pub fn listed_day_index_key(project: &str, day: &str, session: &str) -> String {
    format!("index/{project}/days/{day}/{session}")
}

pub fn day_index_prefix(project: &ProjectKey, day: &str) -> String {
    format!("index/{project}/days/{day}/")
}

/// Visitor → sessions, for erasure of everything of one visitor:
/// `index/{project}/visitors/{visitor}/{session}`.
pub fn visitor_index_key(project: &ProjectKey, visitor: &VisitorId, session: &SessionId) -> String {
    format!("index/{project}/visitors/{visitor}/{session}")
}

pub fn visitor_index_prefix(project: &ProjectKey, visitor: &VisitorId) -> String {
    format!("index/{project}/visitors/{visitor}/")
}

/// The last path segment of a listed key.
pub fn last_segment(key: &str) -> &str {
    key.trim_end_matches('/').rsplit('/').next().unwrap_or("")
}

/// One stored beacon: `sessions/{project}/{session}/chunks/{seq:08}.json`, the fields below
/// followed by `events`. Events are masked before the document is built; nothing else in it
/// comes from the client unmasked (`page` is masked too).
#[derive(Serialize)]
pub struct ChunkHead<'a> {
    pub v: u32,
    pub project: &'a str,
    pub session: &'a str,
    pub seq: u32,
    pub platform: Platform,
    pub page: Option<&'a str>,
    pub received_at: u64,
}

/// The chunk document's bytes, with `events` written straight into it (no intermediate string
/// that would be copied and validated again).
pub fn chunk_document(
    head: &ChunkHead<'_>,
    events: &[crate::json::Value<'_>],
    size_hint: usize,
) -> serde_json::Result<Vec<u8>> {
    // Sized once: the masked events are about as long as the recorded ones.
    let mut out = Vec::with_capacity(size_hint + 512);
    serde_json::to_writer(&mut out, head)?;
    out.pop(); // the head's closing brace
    out.extend_from_slice(b",\"events\":");
    crate::json::write_array(events, &mut out);
    out.push(b'}');
    Ok(out)
}

/// Concatenate the `events` of chunk documents (already in seq order) into one JSON array,
/// without building trees: what an rrweb `Replayer` takes.
pub fn merge_events<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Result<String, String> {
    #[derive(serde::Deserialize)]
    struct Events<'a> {
        #[serde(borrow)]
        events: Vec<&'a RawValue>,
    }
    let mut out = String::from("[");
    let mut first = true;
    for (i, bytes) in chunks.into_iter().enumerate() {
        let doc: Events = serde_json::from_slice(bytes).map_err(|e| format!("chunk {i}: {e}"))?;
        for ev in doc.events {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(ev.get());
        }
    }
    out.push(']');
    Ok(out)
}

pub use crate::time::utc_day;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_the_design() {
        assert_eq!(
            chunk_key(&"demo".into(), &"s_12345678".into(), 7),
            "sessions/demo/s_12345678/chunks/00000007.json"
        );
        assert_eq!(
            manifest_key(&"demo".into(), &"s_12345678".into()),
            "sessions/demo/s_12345678/manifest.json"
        );
        assert_eq!(last_segment("index/demo/days/2026-11-23/s_1/"), "s_1");
        assert_eq!(last_segment("index/demo/visitors/v/s_2"), "s_2");
    }

    #[test]
    fn chunk_documents_are_json_with_events_last() {
        let head = ChunkHead {
            v: 1,
            project: "demo",
            session: "s_12345678",
            seq: 3,
            platform: Platform::Web,
            page: Some("https://shop.example/?q=*"),
            received_at: 7,
        };
        let events = vec![serde_json::json!({"type": 4, "data": {"x": "\"}"}, "timestamp": 1})];
        let text = serde_json::to_string(&events).unwrap();
        let tree = crate::json::array_from_str(&text).unwrap();
        let bytes = chunk_document(&head, &tree, text.len()).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["seq"], 3);
        assert_eq!(v["page"], "https://shop.example/?q=*");
        assert_eq!(v["events"][0]["data"]["x"], "\"}");
        assert_eq!(
            merge_events([&bytes[..]]).unwrap(),
            serde_json::to_string(&events).unwrap()
        );
    }

    #[test]
    fn merges_events_in_the_given_order() {
        let a = br#"{"v":1,"seq":0,"events":[{"type":4,"data":{},"timestamp":1},{"type":2,"data":{},"timestamp":2}]}"#;
        let b = br#"{"v":1,"seq":1,"events":[{"type":3,"data":{"x":"]"},"timestamp":3}]}"#;
        let merged = merge_events([&a[..], &b[..]]).unwrap();
        let v: Vec<serde_json::Value> = serde_json::from_str(&merged).unwrap();
        assert_eq!(
            v.iter()
                .map(|e| e["timestamp"].as_u64().unwrap())
                .collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert_eq!(merge_events(std::iter::empty()).unwrap(), "[]");
        assert!(merge_events([&b"{"[..]]).is_err());
    }
}
