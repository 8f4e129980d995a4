//! The privacy walk natively (masking, blocking, URLs, script, plugins, mobile wireframes,
//! fields it does not expect), on handcrafted events and on real recordings; `rrweb_upstream`
//! replays masked copies of rrweb's own test streams in headless Chromium.

mod css_text;
mod detectors;
mod events;
mod fixtures;
mod mobile;
#[path = "../support/node.rs"]
mod node;
mod planted_everywhere;
mod plugins;
mod recorded_css;
mod rrweb_upstream;
mod script;
mod script_holes;
mod unknown_fields;
mod urls;
mod walk;
