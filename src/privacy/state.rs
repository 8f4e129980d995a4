//! Masking state carried across the chunks of one session (kept in the session DO).
//!
//! What it holds: for rrweb node ids, the facts a later chunk needs to mask a mutation or
//! input event correctly — inside a masked or blocked subtree, a secret or form input, a
//! textarea/selected-option text, CSS text, an `unmask` area, and the selector-matching bits
//! passed to children. Ids carrying no fact are not stored at all.
//!
//! Representation: sorted, non-overlapping runs `[start, len, flags, selector_bits]` of
//! consecutive ids with identical facts. rrweb numbers nodes in document order, so a masked
//! or blocked subtree is usually one run whatever its size.
//!
//! Bounds and fail-safe behaviour:
//! - at most [`MAX_RUNS`] runs (about 16 bytes of JSON each, so ≲ 40 KiB);
//! - when a chunk would exceed it, the state keeps the first runs and sets `overflow`;
//!   from then on every id not covered by a kept run is treated as *masked* (text `*`,
//!   inputs `*`, no checked state), until the next full snapshot rebuilds the state;
//! - before the first full snapshot of a session, and for ids above the highest id seen,
//!   unknown ids are treated as masked too (chunks can arrive out of order).
//!
//! A new full snapshot. rrweb keeps node ids across its own re-snapshots
//! (checkouts) but restarts them at 1 on every page load, and the server cannot tell the two
//! apart. So at a full snapshot:
//! - **reset**: every fact derived from the tree — inherited masking and blocking, block
//!   placeholders, `unmask` areas, form/textarea/option/CSS/script roles, selector bits, the
//!   highest id, the overflow mark. The snapshot re-describes all of them, and keeping them
//!   would pin the old page's subtrees onto whatever nodes reuse their ids;
//! - **never reset** ([`flag::CARRIED`]): a node once a password, payment or sensitive input
//!   stays one for the rest of the session, even when its `type` changed to `text` and the
//!   new snapshot no longer shows it. If the id now names another node, that node's own value
//!   is masked: fail safe, and cheap (these facts are not inherited by children);
//! - mask and block rules and client markers are not state: they are applied to every
//!   snapshot anew.
//!
//! A chunk older than the snapshot the state describes (a retried earlier seq arriving after a
//! newer snapshot, `seq < snap_seq`) is masked against [`MaskState::for_late_chunk`]: every
//! id masked, the carried facts kept, and the session state left untouched — its facts refer
//! to a DOM the late chunk may not share. If that chunk holds its own full snapshot, what
//! follows it in the chunk is masked by that snapshot, as usual.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Most runs kept.
pub const MAX_RUNS: usize = 2500;

/// Facts about one node.
pub mod flag {
    /// Text and values of this node and its subtree are masked.
    pub const MASKED: u32 = 1;
    /// Inside a blocked subtree (not the placeholder itself): dropped from the recording.
    pub const BLOCKED: u32 = 1 << 1;
    /// The placeholder element of a blocked subtree.
    pub const BLOCK_ROOT: u32 = 1 << 2;
    /// Inside an `unmask` rule.
    pub const UNMASKED: u32 = 1 << 3;
    /// A form control whose value is user input (input, textarea, select).
    pub const FORM: u32 = 1 << 4;
    /// Password or payment input: always masked, sticky.
    pub const SECRET: u32 = 1 << 5;
    /// A `<textarea>`: its text children are its value.
    pub const TEXTAREA: u32 = 1 << 6;
    /// `<style>` element or CSS text: left as is (masking CSS breaks replays).
    pub const CSS: u32 = 1 << 7;
    /// An `<option>` that was selected: its text reveals the choice.
    pub const SELECTED: u32 = 1 << 8;
    /// A text node that is a form value (child of textarea or selected option).
    pub const VALUE_TEXT: u32 = 1 << 9;
    /// Mobile: a node marked sensitive.
    pub const SENSITIVE: u32 = 1 << 10;
    /// A `<script>` element, or a text node inside one: its text is never stored.
    pub const SCRIPT: u32 = 1 << 11;

    /// Facts that stay once set, even if the node moves.
    pub const STICKY: u32 = MASKED | BLOCKED | SECRET | SENSITIVE;
    /// Facts that a new full snapshot never resets (see the module doc).
    pub const CARRIED: u32 = SECRET | SENSITIVE;
}

/// Facts about one node: flags and the selector bits it passes to its children.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Facts {
    /// [`flag`] bits.
    pub flags: u32,
    /// The selector matcher's state for this node's children ([`super::selector::Matcher::step`]).
    pub selector_bits: u64,
}

impl Facts {
    pub const NONE: Facts = Facts {
        flags: 0,
        selector_bits: 0,
    };
    /// What an id nobody can vouch for gets (privacy by default).
    pub const MASKED: Facts = Facts {
        flags: flag::MASKED,
        selector_bits: 0,
    };
    /// True when any of `flags` is set.
    pub fn has(self, flags: u32) -> bool {
        self.flags & flags != 0
    }
}

/// One run of ids with identical facts. A tuple, so that it is stored as the array
/// `[start, len, flags, selector_bits]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run(
    /// First id of the run.
    pub u32,
    /// Number of consecutive ids.
    pub u32,
    /// [`Facts::flags`] of every id in it.
    pub u32,
    /// [`Facts::selector_bits`] of every id in it.
    pub u64,
);

impl Run {
    fn start(&self) -> u32 {
        self.0
    }
    fn end(&self) -> u64 {
        u64::from(self.0) + u64::from(self.1)
    }
    fn facts(&self) -> Facts {
        Facts {
            flags: self.2,
            selector_bits: self.3,
        }
    }
}

/// Masking state carried across the chunks of one session. Small and bounded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MaskState {
    /// A full snapshot (web) or screen snapshot (mobile) has been seen.
    #[serde(rename = "snap")]
    pub snapshot: bool,
    /// Highest node id seen.
    #[serde(rename = "max")]
    pub max_id: u32,
    /// The run cap was hit: unknown ids are masked until the next full snapshot.
    #[serde(rename = "ovf")]
    pub overflow: bool,
    pub runs: Vec<Run>,
    /// Seq of the chunk whose full snapshot the state describes (`None`: not known, e.g.
    /// masked without a seq).
    #[serde(rename = "sseq", skip_serializing_if = "Option::is_none")]
    pub snap_seq: Option<u32>,
}

impl MaskState {
    /// Facts stored for `id`, if any.
    pub fn stored(&self, id: u32) -> Option<Facts> {
        let k = self.runs.partition_point(|r| r.end() <= u64::from(id));
        self.runs.get(k).filter(|r| r.start() <= id).map(Run::facts)
    }

    /// Facts for `id` as the walk should use them, between chunks: [`Self::lookup_in_chunk`]
    /// with nothing learnt yet.
    pub fn lookup(&self, id: u32) -> Facts {
        self.lookup_in_chunk(id, &BTreeMap::new(), 0)
    }

    /// Facts for `id` while a chunk is being masked: what the chunk learnt so far
    /// (`pending`, ids up to `pending_max_id`) counts as if it were merged, since that is the
    /// state the next chunk will see. Then the stored facts; an id nobody can vouch for is
    /// masked.
    pub fn lookup_in_chunk(
        &self,
        id: u32,
        pending: &BTreeMap<u32, Facts>,
        pending_max_id: u32,
    ) -> Facts {
        if let Some(f) = pending.get(&id).copied().or_else(|| self.stored(id)) {
            return f;
        }
        if self.unknown_is_masked(id, pending_max_id) {
            Facts::MASKED
        } else {
            Facts::NONE
        }
    }

    /// True when an id without stored facts must be treated as masked: the state overflowed,
    /// no full snapshot was seen, or the id is above every id seen (rrweb numbers nodes in
    /// document order, so an id at or below the highest one seen was described, plainly).
    pub fn unknown_is_masked(&self, id: u32, pending_max_id: u32) -> bool {
        self.overflow || !self.snapshot || id > self.max_id.max(pending_max_id)
    }

    /// A full snapshot of the chunk with `seq` re-describes the document: forget every
    /// tree-derived fact, keep the [`flag::CARRIED`] ones (see the module doc).
    pub fn reset_for_snapshot(&mut self, seq: Option<u32>) {
        let runs = self.carried_runs(0);
        *self = MaskState {
            snapshot: true,
            runs,
            snap_seq: seq,
            ..MaskState::default()
        };
    }

    /// True when a chunk with `seq` is older than the snapshot this state describes.
    pub fn is_late(&self, seq: u32) -> bool {
        self.snap_seq.is_some_and(|s| seq < s)
    }

    /// The state to mask a late chunk with (thrown away afterwards): the carried facts, every
    /// other id masked.
    pub fn for_late_chunk(&self) -> MaskState {
        MaskState {
            snapshot: self.snapshot,
            max_id: self.max_id,
            overflow: true,
            runs: self.carried_runs(flag::MASKED),
            snap_seq: self.snap_seq,
        }
    }

    /// Runs holding carried facts, reduced to them, with `extra` flags added.
    fn carried_runs(&self, extra: u32) -> Vec<Run> {
        let mut out: Vec<Run> = Vec::new();
        for r in &self.runs {
            let f = r.2 & flag::CARRIED;
            if f == 0 {
                continue;
            }
            let f = f | extra;
            match out.last_mut() {
                Some(last) if last.end() == u64::from(r.0) && last.2 == f => last.1 += r.1,
                _ => out.push(Run(r.0, r.1, f, 0)),
            }
        }
        out
    }

    /// Approximate serialized size in bytes.
    pub fn approx_size(&self) -> usize {
        serde_json::to_vec(self).map(|v| v.len()).unwrap_or(0)
    }

    /// Merge the facts learnt in one chunk. `updates` holds, for every id whose facts were
    /// (re)computed in the chunk, its new facts (possibly `NONE` to clear an old entry).
    pub fn merge(&mut self, updates: &BTreeMap<u32, Facts>, max_id: u32) {
        self.max_id = self.max_id.max(max_id);
        if updates.is_empty() {
            return;
        }
        let mut out: Vec<Run> = Vec::with_capacity(self.runs.len() + updates.len().min(4096));
        let push = |out: &mut Vec<Run>, id: u32, len: u32, f: Facts| {
            if f == Facts::NONE || len == 0 {
                return;
            }
            if let Some(last) = out.last_mut() {
                if last.end() == u64::from(id) && last.2 == f.flags && last.3 == f.selector_bits {
                    last.1 = last.1.saturating_add(len);
                    return;
                }
            }
            out.push(Run(id, len, f.flags, f.selector_bits));
        };
        let mut ups = updates.iter().peekable();
        for r in &self.runs {
            // Updates before this run.
            while let Some((&id, &f)) = ups.peek() {
                if id >= r.start() {
                    break;
                }
                push(&mut out, id, 1, f);
                ups.next();
            }
            // Split the run around updates inside it.
            let mut cur = u64::from(r.start());
            while let Some((&id, &f)) = ups.peek() {
                if u64::from(id) >= r.end() {
                    break;
                }
                if u64::from(id) > cur {
                    push(
                        &mut out,
                        cur as u32,
                        (u64::from(id) - cur) as u32,
                        r.facts(),
                    );
                }
                push(&mut out, id, 1, f);
                cur = u64::from(id) + 1;
                ups.next();
            }
            if cur < r.end() {
                push(&mut out, cur as u32, (r.end() - cur) as u32, r.facts());
            }
        }
        for (&id, &f) in ups {
            push(&mut out, id, 1, f);
        }
        if out.len() > MAX_RUNS {
            out.truncate(MAX_RUNS);
            self.overflow = true;
        }
        self.runs = out;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(x: u32) -> Facts {
        Facts {
            flags: x,
            selector_bits: 0,
        }
    }

    #[test]
    fn runs_coalesce_and_split() {
        let mut s = MaskState {
            snapshot: true,
            ..Default::default()
        };
        let ups: BTreeMap<u32, Facts> = (10..20).map(|i| (i, f(flag::MASKED))).collect();
        s.merge(&ups, 30);
        assert_eq!(s.runs, vec![Run(10, 10, flag::MASKED, 0)]);
        assert_eq!(s.lookup(15), f(flag::MASKED));
        assert_eq!(s.lookup(9), Facts::NONE);
        assert_eq!(s.lookup(25), Facts::NONE);
        assert_eq!(s.lookup(31), f(flag::MASKED), "never-seen id is masked");
        // Clear one in the middle, add a neighbour.
        let ups: BTreeMap<u32, Facts> =
            [(12, Facts::NONE), (20, f(flag::MASKED)), (5, f(flag::FORM))].into();
        s.merge(&ups, 30);
        assert_eq!(
            s.runs,
            vec![
                Run(5, 1, flag::FORM, 0),
                Run(10, 2, flag::MASKED, 0),
                Run(13, 8, flag::MASKED, 0)
            ]
        );
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(
            json,
            r#"{"snap":true,"max":30,"ovf":false,"runs":[[5,1,16,0],[10,2,1,0],[13,8,1,0]]}"#
        );
        let back: MaskState = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn overflow_fails_safe() {
        let mut s = MaskState {
            snapshot: true,
            ..Default::default()
        };
        // Alternating facts never coalesce.
        let ups: BTreeMap<u32, Facts> = (0..(2 * MAX_RUNS as u32 + 10))
            .map(|i| (i * 2, f(flag::FORM)))
            .collect();
        s.merge(&ups, 100_000);
        assert!(s.overflow);
        assert_eq!(s.runs.len(), MAX_RUNS);
        assert_eq!(
            s.lookup(1),
            f(flag::MASKED),
            "unknown id masked after overflow"
        );
        assert!(s.approx_size() < 64 * 1024);
    }

    #[test]
    fn before_snapshot_everything_unknown_is_masked() {
        let s = MaskState::default();
        assert_eq!(s.lookup(1), f(flag::MASKED));
        assert_eq!(serde_json::from_str::<MaskState>("{}").unwrap(), s);
    }
}
