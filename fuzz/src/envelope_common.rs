//! What the `envelope` target and tests/envelope_parse_body.rs (which includes this file by
//! path) share: the small limits, and the edge's split of a beacon's checks in one call.

use veilgate::envelope::{self, Envelope, EventSpan, Limits};
use veilgate::error::ApiError;

/// Limits small enough that the fuzzer (and a short hand-written body) reaches every refusal.
pub const SMALL: Limits = Limits {
    max_body_bytes: 4096,
    max_decompressed_bytes: 2048,
    max_events: 3,
    max_depth: 6,
    max_string_bytes: 48,
};

/// The worker's `parse_head`; for events it only located, the session object's
/// `parse_events`; any refusal answered with `parse_body`'s, as the worker answers it. Must
/// equal `parse_body`.
pub fn parse_head_then_heads<'a>(
    json: &'a [u8],
    limits: &Limits,
) -> Result<(Envelope<'a>, EventSpan), ApiError> {
    let (env, span) = envelope::parse_head(json, limits)?;
    if let Some(span) = span {
        return Ok((env, span));
    }
    match envelope::parse_events(env.events.get(), None, limits) {
        Ok((_, span)) => Ok((env, span)),
        Err(e) => Err(envelope::parse_body(json, limits).err().unwrap_or(e)),
    }
}
