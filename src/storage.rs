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

/// Stored chunks are gzip at this level: level 1 keeps the session object's CPU per beacon
/// small (rrweb JSON still shrinks 5-8x) where higher levels buy little more.
pub const CHUNK_GZIP_LEVEL: u32 = 1;

/// R2 custom metadata of a gzip chunk (its `Content-Encoding` says so too). Readers do not
/// depend on it: [`read_chunk`] knows a gzip chunk by its magic bytes, so chunks stored plain
/// before compression read as they always did.
pub const CHUNK_ENCODING_METADATA: (&str, &str) = ("encoding", "gzip");

/// Most bytes of events one `GET …/events` answer merges (the chunks are read one at a time,
/// so this and one chunk are what the request holds): past it, 413 `events_too_large`.
pub const MAX_MERGED_EVENTS_BYTES: usize = 16 << 20;

/// A chunk document as stored: gzip of its JSON.
pub fn compress_chunk(doc: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(doc.len() / 4 + 64),
        flate2::Compression::new(CHUNK_GZIP_LEVEL),
    );
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(doc);
    enc.finish().unwrap_or_default()
}

/// Why a stored chunk could not be read.
#[derive(Debug, PartialEq, Eq)]
pub enum ChunkError {
    /// Not a chunk document (or not gzip of one).
    Unreadable(String),
    /// Its JSON passes the bytes the caller may hold.
    TooLarge,
}

/// A stored chunk's JSON: gzip (known by its magic bytes; JSON never starts with them)
/// inflated up to `cap` bytes, or a plain chunk as it is.
pub fn read_chunk(stored: &[u8], cap: usize) -> Result<std::borrow::Cow<'_, [u8]>, ChunkError> {
    use std::io::Read as _;
    if !stored.starts_with(&[0x1f, 0x8b]) {
        if stored.len() > cap {
            return Err(ChunkError::TooLarge);
        }
        return Ok(std::borrow::Cow::Borrowed(stored));
    }
    let mut out = Vec::with_capacity(stored.len().saturating_mul(6).min(cap));
    flate2::read::GzDecoder::new(stored)
        .take((cap as u64).saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| ChunkError::Unreadable(format!("gzip: {e}")))?;
    if out.len() > cap {
        return Err(ChunkError::TooLarge);
    }
    Ok(std::borrow::Cow::Owned(out))
}

/// The `events` of chunk documents (pushed in seq order, plain or gzip) concatenated into one
/// JSON array, without building trees: what an rrweb `Replayer` takes. It holds the merged
/// array and one chunk, never more than `cap` bytes of events.
pub struct EventsMerger {
    out: String,
    cap: usize,
    chunks: usize,
}

impl EventsMerger {
    pub fn new(cap: usize) -> EventsMerger {
        EventsMerger {
            out: String::from("["),
            cap,
            chunks: 0,
        }
    }

    pub fn push(&mut self, stored: &[u8]) -> Result<(), ChunkError> {
        #[derive(serde::Deserialize)]
        struct Events<'a> {
            #[serde(borrow)]
            events: Vec<&'a RawValue>,
        }
        let i = self.chunks;
        self.chunks += 1;
        // The chunk's JSON can be no longer than what is left to fill (its events are part
        // of it), plus its head.
        let left = self.cap.saturating_sub(self.out.len());
        let json = read_chunk(stored, left.saturating_add(64 << 10)).map_err(|e| match e {
            ChunkError::Unreadable(e) => ChunkError::Unreadable(format!("chunk {i}: {e}")),
            e => e,
        })?;
        let doc: Events = serde_json::from_slice(&json)
            .map_err(|e| ChunkError::Unreadable(format!("chunk {i}: {e}")))?;
        for ev in doc.events {
            // Its `,` before it and the closing `]` after it.
            let sep = usize::from(self.out.len() > 1);
            if self.out.len() + sep + ev.get().len() + 1 > self.cap {
                return Err(ChunkError::TooLarge);
            }
            if self.out.len() > 1 {
                self.out.push(',');
            }
            self.out.push_str(ev.get());
        }
        Ok(())
    }

    pub fn finish(mut self) -> String {
        self.out.push(']');
        self.out
    }
}

/// Concatenate the `events` of chunk documents (already in seq order) into one JSON array,
/// without a cap (`EventsMerger` is the bounded one the read API uses).
pub fn merge_events<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Result<String, String> {
    let mut m = EventsMerger::new(usize::MAX);
    for bytes in chunks {
        m.push(bytes).map_err(|e| match e {
            ChunkError::Unreadable(e) => e,
            ChunkError::TooLarge => "too large".to_string(),
        })?;
    }
    Ok(m.finish())
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

    /// Issue 22, item 8: chunks are stored gzip, and read back whether gzip or plain (chunks
    /// stored before compression stay readable).
    #[test]
    fn chunks_are_stored_gzip_and_read_either_way() {
        let plain = br#"{"v":1,"seq":0,"events":[{"type":4,"data":{"href":"https://a.example/"},"timestamp":1}]}"#;
        let page = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/rrweb/large.default.json"
        ))
        .unwrap();
        let stored = compress_chunk(&page);
        assert!(stored.starts_with(&[0x1f, 0x8b]));
        assert!(
            stored.len() * 5 < page.len(),
            "{} of {}",
            stored.len(),
            page.len()
        );
        assert_eq!(&*read_chunk(&stored, page.len()).unwrap(), &page[..]);
        assert_eq!(
            read_chunk(&stored, page.len() - 1),
            Err(ChunkError::TooLarge)
        );
        assert_eq!(&*read_chunk(plain, 1 << 20).unwrap(), &plain[..]);
        assert!(matches!(
            read_chunk(&[0x1f, 0x8b, 0, 1], 100),
            Err(ChunkError::Unreadable(_))
        ));
        let gz = compress_chunk(plain);
        assert_eq!(
            merge_events([&plain[..], &gz[..]]).unwrap(),
            r#"[{"type":4,"data":{"href":"https://a.example/"},"timestamp":1},{"type":4,"data":{"href":"https://a.example/"},"timestamp":1}]"#
        );
    }

    /// Issue 22, item 8: the merged events are bounded by bytes, whatever the chunk count.
    #[test]
    fn merged_events_are_bounded_by_bytes() {
        let event = r#"{"type":3,"data":{"x":"abcdefgh"},"timestamp":1}"#;
        let chunk = compress_chunk(format!(r#"{{"v":1,"events":[{event},{event}]}}"#).as_bytes());
        // Two chunks of two events: 4 events, 3 commas, 2 brackets.
        let exact = 4 * event.len() + 3 + 2;
        let mut m = EventsMerger::new(exact);
        m.push(&chunk).unwrap();
        m.push(&chunk).unwrap();
        let out = m.finish();
        assert_eq!(out.len(), exact);
        let mut m = EventsMerger::new(exact - 1);
        m.push(&chunk).unwrap();
        assert_eq!(m.push(&chunk), Err(ChunkError::TooLarge));
        // A chunk whose inflated JSON alone passes the cap stops while inflating.
        let big = compress_chunk(
            format!(
                r#"{{"v":1,"events":[{{"type":3,"data":{{"x":"{}"}},"timestamp":1}}]}}"#,
                "a".repeat(1 << 20)
            )
            .as_bytes(),
        );
        assert_eq!(
            EventsMerger::new(1000).push(&big),
            Err(ChunkError::TooLarge)
        );
    }
}
