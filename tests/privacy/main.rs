//! The privacy walk natively (masking, blocking, URLs, script, plugins, mobile wireframes,
//! fields it does not expect), on handcrafted events and on real recordings; `rrweb_upstream`
//! replays masked copies of rrweb's own test streams in headless Chromium.

mod detectors;
mod events;
mod fixtures;
mod mobile;
#[path = "../support/node.rs"]
mod node;
mod plugins;
mod rrweb_upstream;
mod script;
mod unknown_fields;
mod urls;
mod walk;
