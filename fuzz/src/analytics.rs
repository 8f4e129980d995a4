//! The analytics extraction target: whatever a beacon's events are, once masked, extraction
//! never panics, its state stays bounded and survives its own JSON (the session object stores
//! it), and what comes out keeps its own rules.

use veilgate::analytics::{self, AnalyticsState, Row, SessionAnalytics, SignalKind};
use veilgate::envelope::{self, Limits};
use veilgate::privacy::{self, MaskPolicy, MaskState};

/// Most chunks one input is cut into.
const MAX_CHUNKS: usize = 8;
/// The state's JSON stays under this (DO storage values; MAX_NODES entries of ≤ ~180 bytes).
const MAX_STATE_JSON: usize = 512 * 1024;

/// Events as JSON text, chunks separated by the byte `0xFF`: each masked with the default
/// policy (`privacy::mask_chunk`, as the session object does), then extracted with one
/// `AnalyticsState` that goes through its JSON between chunks; the session then finishes.
pub fn analytics(data: &[u8]) {
    let limits = Limits::default();
    let policy = MaskPolicy::default();
    let mut mask = MaskState::default();
    let mut state = AnalyticsState::default();
    let mut summary = SessionAnalytics::default();
    let mut rows: Vec<Row> = Vec::new();
    for (seq, part) in data.split(|&b| b == 0xFF).take(MAX_CHUNKS).enumerate() {
        // Chunks out of order now and then: late chunks must leave the state alone.
        let seq = if seq % 3 == 2 {
            seq as u32 - 2
        } else {
            seq as u32
        };
        let Ok(text) = std::str::from_utf8(part) else {
            continue;
        };
        if envelope::prescan(part, &limits).is_err() {
            continue;
        }
        let Ok(mut tree) = veilgate::json::array_from_str(text) else {
            continue;
        };
        privacy::mask_chunk(&mut tree, seq, &policy, &mut mask);
        let before = state.clone();
        let x = analytics::extract_chunk(&tree, seq, &mut state);
        if x.late {
            assert_eq!(state, before, "a late chunk changed the state");
        }
        summary.add(&x);
        rows.extend(x.rows);
        let stored = serde_json::to_string(&state).expect("state serialises");
        assert!(
            stored.len() <= MAX_STATE_JSON,
            "state of {} bytes",
            stored.len()
        );
        let back: AnalyticsState = serde_json::from_str(&stored).expect("state parses back");
        assert_eq!(back, state, "state changed through its JSON");
        state = back;
    }
    let x = analytics::finish(&mut state);
    summary.add(&x);
    rows.extend(x.rows);
    assert!(state.view.is_none(), "finish leaves a view open");
    check(&rows, &summary);
}

fn check(rows: &[Row], summary: &SessionAnalytics) {
    let mut signals = [0u64; 4];
    for r in rows {
        let text = serde_json::to_string(r).expect("row serialises");
        let back: Row = serde_json::from_str(&text).expect("row parses back");
        assert_eq!(&back, r);
        match r {
            Row::Page { path, .. } | Row::PageEnd { path, .. } | Row::Input { path, .. } => {
                check_path(path)
            }
            Row::Click {
                path,
                target,
                control,
                ..
            } => {
                check_path(path);
                for d in [target, control].into_iter().flatten() {
                    assert!(d.classes.len() <= analytics::MAX_CLASSES, "{d}");
                    assert!(d.tag.len() <= 32, "{d}");
                }
            }
            Row::Custom { name, path, .. } => {
                check_path(path);
                assert!(name.chars().count() <= analytics::MAX_NAME_CHARS);
            }
            Row::Error { message, .. } => {
                assert!(message.chars().count() <= analytics::MAX_MESSAGE_CHARS)
            }
            Row::Signal { signal, path, .. } => {
                check_path(path);
                signals[*signal as usize] += 1;
            }
        }
    }
    if summary.dropped == 0 {
        assert_eq!(summary.events.len(), rows.len());
        let count = |k: SignalKind| signals[k as usize];
        assert_eq!(summary.rage, count(SignalKind::Rage));
        assert_eq!(summary.dead, count(SignalKind::Dead));
        assert_eq!(summary.error_clicks, count(SignalKind::ErrorClick));
        assert_eq!(summary.quick_backs, count(SignalKind::QuickBack));
    }
    assert!(summary.paths.len() <= 20 && summary.moments.len() <= 10);
    assert!(summary.events.windows(2).all(|w| w[0].t() <= w[1].t()));
}

/// A normalised path: absolute, no query, no fragment, no empty segment, no digits-only one.
fn check_path(p: &str) {
    assert!(p.starts_with('/'), "{p:?}");
    assert!(!p.contains(['?', '#']), "{p:?}");
    if p == "/" {
        return;
    }
    assert!(!p.ends_with('/'), "{p:?}");
    for seg in p.split('/').skip(1).filter(|s| *s != ":id") {
        assert!(!seg.is_empty(), "{p:?}");
        assert!(!seg.bytes().all(|b| b.is_ascii_digit()), "{p:?}");
        assert!(!seg.contains('*'), "{p:?}");
    }
}
