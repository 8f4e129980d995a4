//! The event walk: applies the compiled policy to every event of a chunk, in place.
//!
//! This module is the part the web and mobile walks share: the [`Walker`] (policy, state,
//! what the chunk learnt so far, the report), the rule for an id's facts ([`Walker::facts`],
//! which is [`MaskState::lookup_in_chunk`]), what a child inherits, and the one decision
//! every tree node goes through ([`Walker::node_facts`]: sticky facts, the depth and strict
//! fail safes, client markers and the mask/block/unmask rules). Around it:
//!
//! - `fields`: the generic fallback, every field the walk did not interpret scrubbed;
//! - `strings`: how a text, form value, URL or CSS string is masked under given facts;
//! - `rules`: the data tables (client markers, secret-input needles, attribute classes);
//! - `web`: rrweb DOM nodes and their mutation entries;
//! - `mobile`: wireframes (docs/MOBILE.md) and their mutation entries;
//! - `events`: the dispatch by event type and incremental source, on top of all of them;
//!   plugin events go to the [`PluginWalk`] the caller passes in (`privacy::plugins`).
//!
//! The event types (rrweb 2.x `EventType`) are 0 DomContentLoaded, 1 Load, 2 FullSnapshot,
//! 3 IncrementalSnapshot, 4 Meta, 5 Custom, 6 Plugin, 7 Asset, 8 Annotation.

mod events;
mod fields;
mod mobile;
mod rules;
mod strings;
mod web;

use std::collections::BTreeMap;

use crate::json::Value;

use super::policy::{Action, Compiled};
use super::selector::Element;
use super::state::{flag, Facts, MaskState};
use super::MaskReport;

pub(crate) use fields::Kind;

/// Nodes deeper than this are masked (fail safe for hostile trees). Trees are walked with an
/// explicit stack, so depth costs no native stack.
pub const MAX_DEPTH: u32 = 512;

pub(crate) struct Walker<'a> {
    pub policy: &'a Compiled,
    pub state: &'a mut MaskState,
    /// Facts (re)computed in this chunk, merged into `state` at the end (or at a snapshot).
    pub pending: BTreeMap<u32, Facts>,
    /// Highest node id seen in this chunk (since its last full snapshot).
    pub pending_max_id: u32,
    pub report: MaskReport,
    /// Seq of the chunk being masked, when known.
    pub seq: Option<u32>,
    /// Masks a plugin event's `data` (event type 6). Passed in so that the plugin walks
    /// (`privacy::plugins`) build on this module without this module naming them.
    pub plugin_walk: PluginWalk,
    /// How many JSON texts inside strings are being masked, one inside the other
    /// ([`Walker::json_text`]): bounded, so a string of JSON of a string of JSON… ends.
    pub json_nest: u8,
}

/// The walk of plugin events: [`Walker::scrub_json`] for any plugin it does not know.
pub(crate) type PluginWalk = for<'w, 'v> fn(&mut Walker<'w>, &mut Value<'v>);

/// A node id, when `v` is one (a JSON integer that fits rrweb's 32-bit ids).
pub(crate) fn as_id(v: Option<&Value>) -> Option<u32> {
    v.and_then(Value::as_u64)
        .and_then(|x| u32::try_from(x).ok())
}

/// Facts a child inherits from its parent: masking, `unmask` areas and sensitivity flow
/// down; below a blocked element everything is blocked; masking wins over an `unmask` area.
pub(crate) fn inherit(parent: Facts) -> Facts {
    let mut flags = parent.flags & (flag::MASKED | flag::UNMASKED | flag::SENSITIVE);
    if parent.has(flag::BLOCKED | flag::BLOCK_ROOT) {
        flags |= flag::BLOCKED | flag::MASKED;
    }
    if flags & flag::MASKED != 0 {
        flags &= !flag::UNMASKED;
    }
    Facts {
        flags,
        selector_bits: parent.selector_bits,
    }
}

/// What the client's markers and the policy's rules say about one element.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Marks {
    pub mask: bool,
    pub block: bool,
    pub unmask: bool,
    /// A password marker (`data-rr-is-password`).
    pub secret: bool,
}

/// Flags a node's facts keep when it is masked or blocked: the rest (form, unmask, option
/// roles) reveal nothing any more and would only grow the state.
const KEPT_WHEN_MASKED: u32 = flag::MASKED
    | flag::BLOCKED
    | flag::BLOCK_ROOT
    | flag::CSS
    | flag::SECRET
    | flag::SENSITIVE
    | flag::VALUE_TEXT
    | flag::TEXTAREA
    | flag::SCRIPT;

impl Walker<'_> {
    pub fn new<'a>(
        policy: &'a Compiled,
        state: &'a mut MaskState,
        plugin_walk: PluginWalk,
    ) -> Walker<'a> {
        Walker {
            policy,
            state,
            pending: BTreeMap::new(),
            pending_max_id: 0,
            report: MaskReport::default(),
            seq: None,
            plugin_walk,
            json_nest: 0,
        }
    }

    // ---- state -------------------------------------------------------------------------

    /// The facts of node `id` for an event that refers to it (a mutation entry, an input).
    pub fn facts(&self, id: u32) -> Facts {
        self.state
            .lookup_in_chunk(id, &self.pending, self.pending_max_id)
    }

    /// [`Self::facts`] of an optional id: no id is no node the state can vouch for.
    pub fn facts_of(&self, id: Option<u32>) -> Facts {
        id.map_or(Facts::MASKED, |id| self.facts(id))
    }

    /// The sticky facts node `id` had before (0 for a node not known).
    fn sticky(&self, id: Option<u32>) -> u32 {
        let Some(id) = id else { return 0 };
        self.pending
            .get(&id)
            .copied()
            .or_else(|| self.state.stored(id))
            .map_or(0, |f| f.flags & flag::STICKY)
    }

    /// Remember the facts of node `id` for the rest of the chunk and the session.
    pub fn record(&mut self, id: u32, facts: Facts) {
        self.pending_max_id = self.pending_max_id.max(id);
        let mut f = facts;
        if f.has(flag::MASKED | flag::BLOCKED) {
            f.flags &= KEPT_WHEN_MASKED;
        }
        if !(self.policy.record.forms || f.has(flag::UNMASKED)) {
            f.flags &= !flag::FORM;
        }
        if f != Facts::NONE || self.pending.contains_key(&id) || self.state.stored(id).is_some() {
            self.pending.insert(id, f);
        }
    }

    pub fn reset_for_snapshot(&mut self) {
        // Facts learnt earlier in this chunk count too: a password input switched to text
        // just before the snapshot stays secret.
        let pending = std::mem::take(&mut self.pending);
        self.state.merge(&pending, self.pending_max_id);
        self.state.reset_for_snapshot(self.seq);
        self.pending_max_id = 0;
    }

    pub fn finish(self) -> MaskReport {
        let Walker {
            state,
            pending,
            pending_max_id,
            mut report,
            ..
        } = self;
        state.merge(&pending, pending_max_id);
        report.state_overflow = state.overflow;
        report
    }

    // ---- the node decision -------------------------------------------------------------

    /// Run the policy's rules on `el` (matched below a parent in `parent_bits`): the selector
    /// bits for its children, and `marks` with the rules' actions added.
    pub(crate) fn apply_rules(
        &self,
        parent_bits: u64,
        el: &Element<'_>,
        mut marks: Marks,
    ) -> (u64, Marks) {
        let bits = self.policy.matcher.step(parent_bits, el, |a| match a {
            Action::Mask => marks.mask = true,
            Action::Exclude => marks.block = true,
            Action::Unmask => marks.unmask = true,
        });
        (bits, marks)
    }

    /// The facts of one tree node (web element or wireframe) before its kind's own roles:
    /// inherited from `parent`, its own sticky facts, the flags it carries itself (`own`,
    /// e.g. a sensitive wireframe), masked below [`MAX_DEPTH`] or under a strict policy, then
    /// the markers' and rules' verdict: block (placeholder), mask, or unmask where nothing
    /// masks. Returns the facts and the verdict.
    pub(crate) fn node_facts(
        &self,
        parent: Facts,
        id: Option<u32>,
        depth: u32,
        own: u32,
        el: &Element<'_>,
        markers: Marks,
    ) -> (Facts, Marks) {
        let mut facts = inherit(parent);
        facts.flags |= self.sticky(id);
        if depth > MAX_DEPTH || self.policy.strict {
            facts.flags |= flag::MASKED;
        }
        facts.flags |= own;
        let (bits, marks) = self.apply_rules(parent.selector_bits, el, markers);
        facts.selector_bits = bits;
        if !facts.has(flag::BLOCKED) {
            if marks.block {
                facts.flags |= flag::BLOCK_ROOT | flag::MASKED;
            } else if marks.mask {
                facts.flags |= flag::MASKED;
            }
        }
        if marks.unmask && !facts.has(flag::MASKED) {
            facts.flags |= flag::UNMASKED;
        }
        (facts, marks)
    }

    /// The facts of a leaf or document node (text, comment, doctype): inherited plus its own
    /// sticky facts; rules do not match them.
    pub(crate) fn leaf_facts(&self, parent: Facts, id: Option<u32>) -> Facts {
        let mut facts = inherit(parent);
        facts.flags |= self.sticky(id);
        facts
    }

    /// Drop whole subtrees (web `childNodes` or mobile `children`), remembering every id in
    /// them as blocked so later changes to those nodes are dropped too.
    pub(crate) fn forget_blocked(&mut self, mut stack: Vec<Value>, children_key: &str) {
        while let Some(mut v) = stack.pop() {
            self.report.nodes_removed += 1;
            if let Some(id) = as_id(v.get("id")) {
                self.record(
                    id,
                    Facts {
                        flags: flag::BLOCKED | flag::MASKED,
                        selector_bits: 0,
                    },
                );
            }
            if let Some(Value::Array(c)) = v.get_mut(children_key) {
                stack.append(c);
            }
        }
    }
}

#[cfg(test)]
mod tests;
