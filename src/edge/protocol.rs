//! Messages between the worker and the session Durable Object (internal, JSON over the stub,
//! sent and read as bytes).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::consent::Decision;
use crate::envelope::{EventSpan, Platform};
use crate::privacy::MaskPolicy;
use crate::session::Device;

/// One beacon, after every check the worker can make. `events` are still unmasked: they are
/// masked inside the object, which holds the session's masking state, before any write.
#[derive(Serialize, Deserialize)]
pub struct IngestCall<'a> {
    pub project: &'a str,
    pub session: &'a str,
    pub visitor: &'a str,
    pub seq: u32,
    pub platform: Platform,
    pub page: Option<&'a str>,
    pub span: EventSpan,
    pub device: Option<Device>,
    pub decision: Decision,
    pub masking: std::borrow::Cow<'a, MaskPolicy>,
    pub idle_ms: u64,
    pub max_ms: u64,
    /// Test-only fault to inject (feature `faults`); always `None` in production builds.
    #[serde(default)]
    pub fault: Option<String>,
    #[serde(borrow)]
    pub events: &'a RawValue,
}

/// The object's answer; the worker passes it on to the client as is.
#[derive(Serialize, Deserialize)]
pub struct IngestReply {
    pub stored: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
