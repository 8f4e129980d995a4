//! Shared by the native benches (`benches/*.rs`) and the wasm bench crate
//! (`tools/bench/wasm`): the pipeline exactly as the session object runs it, its JSON-only
//! baseline, and how beacons are cut from the recorded fixtures. No file I/O here (wasm has
//! none); callers pass bytes.
#![allow(dead_code)]

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use veilgate::envelope::{self, Limits};
use veilgate::privacy::{self, MaskPolicy, MaskState};

/// The session object's pipeline for one chunk (src/edge/session_do.rs, `ingest`): parse the
/// events to a borrowed tree (`veilgate::json`), mask in place with the session's state,
/// serialize. Returns the masked JSON.
pub fn pipeline(events: &[u8], policy: &MaskPolicy, state: &mut MaskState) -> String {
    let text = std::str::from_utf8(events).expect("utf-8");
    let mut v = veilgate::json::array_from_str(text).expect("events parse");
    privacy::mask_events(&mut v, policy, state);
    let mut out = Vec::with_capacity(text.len());
    veilgate::json::write_array(&v, &mut out);
    String::from_utf8(out).expect("utf-8")
}

/// The floor: the same parse to `Vec<Value>` and the same serialization, no masking.
pub fn baseline(events: &[u8]) -> String {
    let v: Vec<Value> = envelope::from_slice_prescanned(events).expect("events parse");
    serde_json::to_string(&v).expect("serialize")
}

/// The floor for a whole beacon body: parse it to a `Value`, serialize.
pub fn baseline_body(body: &[u8]) -> String {
    let v: Value = envelope::from_slice_prescanned(body).expect("body parse");
    serde_json::to_string(&v).expect("serialize")
}

/// Everything the Rust code does to one beacon body between the HTTP request and the storage
/// writes, I/O excluded, as src/edge (ingest + session_do) does it: prescan, envelope parse and
/// validation with the events only located (`envelope::parse_head`), URL scrub, events parsed
/// to the borrowed tree and their heads checked (`envelope::parse_events`), masked,
/// written straight into the stored chunk document (`storage::chunk_document`). Returns the
/// document's length.
pub fn beacon_path(body: &[u8], policy: &MaskPolicy, state: &mut MaskState) -> usize {
    beacon_path_then(body, policy, state, |_| {})
}

/// [`beacon_path`] with `after_mask` run on the masked tree before it is written (where the
/// session object will extract analytics: `benches/analytics.rs`).
pub fn beacon_path_then(
    body: &[u8],
    policy: &MaskPolicy,
    state: &mut MaskState,
    mut after_mask: impl FnMut(&[veilgate::json::Value<'_>]),
) -> usize {
    let limits = Limits::default();
    let (env, span) = envelope::parse_head(body, &limits).expect("envelope");
    let page = env.page.as_deref().map(|p| privacy::mask_url(p, policy));
    let text = env.events.get();
    let (mut events, _span) = envelope::parse_events(text, span, &limits).expect("events");
    privacy::mask_events(&mut events, policy, state);
    after_mask(&events);
    let head = veilgate::storage::ChunkHead {
        v: 1,
        project: "bench",
        session: &env.session,
        seq: env.seq as u32,
        platform: env.platform,
        page: page.as_deref(),
        received_at: 1_700_000_000_000,
    };
    veilgate::storage::chunk_document(&head, &events, env.events.get().len())
        .expect("doc")
        .len()
}

#[derive(Deserialize)]
struct FixtureDoc<'a> {
    page: String,
    #[serde(borrow)]
    events: &'a RawValue,
}

/// A recorded fixture: the page URL and the raw `events` array, byte for byte as recorded.
pub struct Fixture {
    pub name: String,
    pub page: String,
    pub events: Vec<u8>,
}

impl Fixture {
    pub fn from_json(name: &str, json: &[u8]) -> Fixture {
        let d: FixtureDoc = envelope::from_slice_prescanned(json).expect("fixture");
        Fixture {
            name: name.into(),
            page: d.page,
            events: d.events.get().as_bytes().to_vec(),
        }
    }

    /// Each event's raw JSON text.
    pub fn event_texts(&self) -> Vec<&str> {
        let v: Vec<&RawValue> = envelope::from_slice_prescanned(&self.events).expect("events");
        v.into_iter().map(|r| r.get()).collect()
    }
}

/// Cut a stream of events into consecutive chunks of at most `max` bytes (an event larger
/// than `max` is a chunk of its own): what an SDK flushing every `max` bytes would send.
pub fn cut(events: &[&str], max: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    for e in events {
        if !cur.is_empty() && cur.len() + e.len() + 2 > max {
            cur.push(b']');
            out.push(std::mem::take(&mut cur));
        }
        cur.push(if cur.is_empty() { b'[' } else { b',' });
        cur.extend_from_slice(e.as_bytes());
    }
    if !cur.is_empty() {
        cur.push(b']');
        out.push(cur);
    }
    out
}

/// The ~64 KB beacons of the latency bench: the default fixtures' events in recording order
/// (signup, checkout, account, large), events over 64 KiB left out (no 64 KB beacon can hold
/// them; bench 1 and 7 cover them), cut at 64 KiB, keeping the cuts of 48–64 KiB.
pub fn beacons_64k(fixtures: &[Fixture]) -> Vec<Vec<u8>> {
    const MAX: usize = 64 * 1024;
    let mut all: Vec<&str> = Vec::new();
    for f in fixtures {
        all.extend(f.event_texts().into_iter().filter(|e| e.len() + 2 <= MAX));
    }
    cut(&all, MAX)
        .into_iter()
        .filter(|c| c.len() >= 48 * 1024)
        .collect()
}

/// A beacon body (the ingest envelope) around a raw events array.
pub fn envelope_body(session: &str, seq: u32, page: &str, events: &[u8]) -> Vec<u8> {
    let mut b = format!(
        r#"{{"session":"{session}","visitor":"v_bench_visitor","seq":{seq},"platform":"web","page":{},"sdk":{{"name":"veilgate-bench","version":"1"}},"events":"#,
        serde_json::to_string(page).unwrap()
    )
    .into_bytes();
    b.extend_from_slice(events);
    b.push(b'}');
    b
}

/// The policy with selectors (tools/bench/policy.selectors.json), validated as a project config
/// is, and whether it differs from the default once parsed.
pub fn selectors_policy(json: &str) -> (MaskPolicy, bool) {
    let v: Value = serde_json::from_str(json).expect("tools/bench/policy.selectors.json is JSON");
    let p = privacy::validate_policy(&v).unwrap_or_else(|e| {
        panic!("tools/bench/policy.selectors.json is not a valid masking policy: {e:?}")
    });
    let differs = serde_json::to_string(&p).unwrap()
        != serde_json::to_string(&MaskPolicy::default()).unwrap();
    (p, differs)
}

/// Nearest-rank percentile of sorted samples.
pub fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    pct(v, 50.0)
}
