//! Behaviour analytics extraction (`veilgate::analytics`) natively: hand-made streams that put
//! every threshold on both sides of its edge, planted values that must never reach an output,
//! mobile wireframes, and recordings made with the real recorder in Chromium
//! (`tests/fixtures/analytics/`, `tools/record/analytics.mjs`). Every stream is masked with the
//! privacy-first default first, as in the session object: extraction only ever sees masked trees.

mod edges;
mod fixtures;
mod mobile;
mod privacy;
mod store;
mod support;
