//! Every threshold on both sides of its edge, on hand-made streams (masked first).

use serde_json::json;
use veilgate::analytics::{
    self, AnalyticsState, Desc, Device, Row, Selector, SignalKind, ACTIVE_GAP_MS, DEAD_WAIT_MS,
    ERROR_CLICK_MS, MAX_NODES, QUICK_BACK_MS, RAGE_MAX_DISTANCE_PX, RAGE_MAX_GAP_MS,
};

use crate::support::*;

fn rage_run(id: u64, gap: u64, step: f64, n: usize) -> Session {
    let clicks = (0..n)
        .map(|i| click(2_000 + gap * i as u64, id, 100.0 + step * i as f64, 200.0))
        .collect();
    on_page(clicks)
}

#[test]
fn rage_needs_three_clicks_each_within_a_second_and_30_px() {
    assert_eq!(RAGE_MAX_GAP_MS, 1_000);
    assert_eq!(RAGE_MAX_DISTANCE_PX, 30.0);
    let s = rage_run(PLAIN, 1_000, 30.0, 3);
    assert_eq!(s.count(SignalKind::Rage), 1, "{:?}", s.rows);
    assert_eq!(s.count(SignalKind::Rage), s.summary.rage as usize);
    assert_eq!(rage_run(PLAIN, 1_001, 0.0, 3).count(SignalKind::Rage), 0);
    assert_eq!(rage_run(PLAIN, 100, 30.5, 3).count(SignalKind::Rage), 0);
    assert_eq!(rage_run(PLAIN, 100, 0.0, 2).count(SignalKind::Rage), 0);
    // One run counts once, however long it goes on.
    assert_eq!(rage_run(PLAIN, 100, 1.0, 9).count(SignalKind::Rage), 1);
    // Diagonal: 21.3 px each way is 30.1 px apart.
    let diag = on_page(vec![
        click(2_000, PLAIN, 100.0, 100.0),
        click(2_100, PLAIN, 121.3, 121.3),
        click(2_200, PLAIN, 142.6, 142.6),
    ]);
    assert_eq!(diag.count(SignalKind::Rage), 0);
}

#[test]
fn rage_is_reported_on_the_runs_first_target_and_not_on_text_fields() {
    let s = rage_run(BUY_SPAN, 200, 0.0, 3);
    let r = s.signals(SignalKind::Rage);
    let Row::Signal { target, t, .. } = r[0] else {
        unreachable!()
    };
    assert_eq!(target.as_ref().unwrap().to_string(), "button#buy.primary");
    assert_eq!(*t, 1_000, "at the run's first click");
    for id in [EMAIL, BIO, SELECT, EDITABLE] {
        let s = rage_run(id, 100, 0.0, 5);
        assert_eq!(s.count(SignalKind::Rage), 0, "id {id}");
        assert_eq!(s.clicks().len(), 5, "the clicks still count");
    }
    // A click on a text field breaks a run.
    let s = on_page(vec![
        click(2_000, PLAIN, 100.0, 100.0),
        click(2_100, PLAIN, 100.0, 100.0),
        click(2_200, EMAIL, 100.0, 100.0),
        click(2_300, PLAIN, 100.0, 100.0),
    ]);
    assert_eq!(s.count(SignalKind::Rage), 0);
}

#[test]
fn a_double_click_into_a_text_field_is_neither_rage_nor_dead() {
    let s = on_page(vec![
        click(2_000, EMAIL, 50.0, 50.0),
        click(2_080, EMAIL, 50.0, 50.0),
        click(2_160, EMAIL, 50.0, 50.0),
        mouse_move(9_000),
    ]);
    assert_eq!(s.count(SignalKind::Rage), 0);
    assert_eq!(s.count(SignalKind::Dead), 0);
}

#[test]
fn dead_click_edges() {
    assert_eq!(DEAD_WAIT_MS, 2_500);
    let dead = |rest: Vec<serde_json::Value>| {
        let mut ev = vec![click(2_000, BUY, 10.0, 10.0)];
        ev.extend(rest);
        on_page(ev).count(SignalKind::Dead)
    };
    // Recording goes on to exactly 2,500 ms past the click, nothing happened: dead.
    assert_eq!(dead(vec![mouse_move(4_500)]), 1);
    // It ends 1 ms before: no evidence, not dead.
    assert_eq!(dead(vec![mouse_move(4_499)]), 0);
    assert_eq!(dead(vec![]), 0);
    // A mutation within the window (inclusive) saves it, one just after does not.
    assert_eq!(dead(vec![mutation(4_500), mouse_move(6_000)]), 0);
    assert_eq!(dead(vec![mutation(4_501), mouse_move(6_000)]), 1);
    // Input, scroll and navigation count as a reaction too.
    assert_eq!(dead(vec![input(3_000, EMAIL, "x"), mouse_move(6_000)]), 0);
    assert_eq!(dead(vec![scroll(3_000, DOC, 10.0), mouse_move(6_000)]), 0);
    let mut nav = page(3_000, "https://shop.example/next", 1280, 800);
    nav.push(mouse_move(6_000));
    assert_eq!(dead(nav), 0);
    // A mouse move or another click is no reaction.
    assert_eq!(
        dead(vec![
            mouse_move(3_000),
            click(3_500, PLAIN, 500.0, 500.0),
            mouse_move(6_000)
        ]),
        1
    );
}

#[test]
fn dead_clicks_need_an_interactive_target() {
    for (id, want) in [
        (BUY, 1),
        (BUY_SPAN, 1),
        (LINK, 1),
        (CHECK, 1),
        (ROLE, 1),
        (PLAIN, 0),
        (EMAIL, 0),
    ] {
        let s = on_page(vec![click(2_000, id, 1.0, 1.0), mouse_move(5_000)]);
        assert_eq!(s.count(SignalKind::Dead), want, "id {id}");
    }
}

#[test]
fn a_dead_verdict_waits_across_chunks_and_the_session_end_settles_nothing_as_dead() {
    let mut s = Session::new();
    let mut ev = page(1_000, "https://shop.example/", 1280, 800);
    ev.push(click(2_000, BUY, 1.0, 1.0));
    s.chunk(&ev);
    assert_eq!(s.count(SignalKind::Dead), 0);
    s.chunk(&[mouse_move(4_000)]);
    assert_eq!(s.count(SignalKind::Dead), 0);
    s.chunk(&[mouse_move(4_600)]);
    assert_eq!(s.count(SignalKind::Dead), 1);

    let mut s = Session::new();
    let mut ev = page(1_000, "https://shop.example/", 1280, 800);
    ev.push(click(2_000, BUY, 1.0, 1.0));
    ev.push(mouse_move(4_000));
    s.chunk(&ev);
    s.finish();
    assert_eq!(s.count(SignalKind::Dead), 0);
}

#[test]
fn error_click_edges() {
    assert_eq!(ERROR_CLICK_MS, 5_000);
    let s = on_page(vec![click(2_000, PLAIN, 1.0, 1.0), error(7_000, "boom")]);
    assert_eq!(s.count(SignalKind::ErrorClick), 1);
    assert_eq!(s.summary.errors, 1);
    assert_eq!(s.summary.error_clicks, 1);
    let s = on_page(vec![click(2_000, PLAIN, 1.0, 1.0), error(7_001, "boom")]);
    assert_eq!(s.count(SignalKind::ErrorClick), 0);
    assert_eq!(s.summary.errors, 1);
    // An error before the click is no error click.
    let s = on_page(vec![error(1_500, "boom"), click(2_000, PLAIN, 1.0, 1.0)]);
    assert_eq!(s.count(SignalKind::ErrorClick), 0);
    // The error row keeps message, file name and position; errors are no custom events.
    let Some(Row::Error {
        message,
        source,
        line,
        col,
        ..
    }) = s.rows.iter().find(|r| matches!(r, Row::Error { .. }))
    else {
        panic!("no error row")
    };
    assert_eq!(
        (message.as_str(), source.as_deref(), *line, *col),
        ("boom", Some("app.js"), Some(3), Some(7))
    );
    assert!(s.summary.names.is_empty());
}

#[test]
fn quick_back_edges() {
    assert_eq!(QUICK_BACK_MS, 5_000);
    let trip = |back_at: u64, third: &str| {
        let mut ev = page(1_000, "https://shop.example/a", 1280, 800);
        ev.extend(page(2_000, "https://shop.example/b", 1280, 800));
        ev.extend(page(back_at, third, 1280, 800));
        run(ev)
    };
    let s = trip(7_000, "https://shop.example/a");
    let q = s.signals(SignalKind::QuickBack);
    assert_eq!(q.len(), 1);
    let Row::Signal { path, t, .. } = q[0] else {
        unreachable!()
    };
    assert_eq!((path.as_str(), *t), ("/b", 6_000), "the page left quickly");
    assert_eq!(s.summary.quick_backs, 1);
    assert_eq!(
        trip(7_001, "https://shop.example/a").count(SignalKind::QuickBack),
        0
    );
    assert_eq!(
        trip(3_000, "https://shop.example/c").count(SignalKind::QuickBack),
        0
    );
    // The same URL again (a reload, an rrweb checkout) is the same view.
    let s = trip(3_000, "https://shop.example/b");
    assert_eq!(s.summary.page_views, 2);
    assert_eq!(s.summary.entry.as_deref(), Some("/a"));
    assert_eq!(s.summary.exit.as_deref(), Some("/b"));
}

#[test]
fn devices_by_viewport_width() {
    for (w, want) in [
        (599, Device::Mobile),
        (600, Device::Tablet),
        (1_023, Device::Tablet),
        (1_024, Device::Desktop),
    ] {
        assert_eq!(Device::of_width(w), want, "{w}");
        let s = run(page(1_000, "https://shop.example/", w, 700));
        assert_eq!(s.summary.device, Some(want), "{w}");
    }
}

#[test]
fn active_time_counts_gaps_up_to_five_seconds() {
    assert_eq!(ACTIVE_GAP_MS, 5_000);
    let s = on_page(vec![
        mouse_move(2_000),
        mouse_move(7_000),
        mouse_move(7_500),
    ]);
    assert_eq!(s.summary.active_ms, 5_500);
    let s = on_page(vec![
        mouse_move(2_000),
        mouse_move(7_001),
        mouse_move(7_500),
    ]);
    assert_eq!(s.summary.active_ms, 499);
}

#[test]
fn time_on_page_depth_and_click_cells() {
    let mut ev = page(1_000, "https://shop.example/p/123?q=1", 1280, 800);
    ev.push(scroll(2_000, DOC, 1_200.0));
    // An element's own scroll is not the page's.
    ev.push(scroll(2_100, PLAIN, 9_000.0));
    ev.push(click(2_500, BUY, 640.0, 100.0));
    ev.push(scroll(3_000, DOC, 300.0));
    ev.extend(page(4_000, "https://shop.example/p/124", 1280, 800));
    let s = run(ev);
    let ends: Vec<_> = s
        .rows
        .iter()
        .filter_map(|r| match r {
            Row::PageEnd {
                path, ms, depth, ..
            } => Some((path.clone(), *ms, *depth)),
            _ => None,
        })
        .collect();
    // Two products: two views of one path, the second ended by the session end.
    assert_eq!(
        ends,
        vec![
            ("/p/:id".to_string(), 3_000, 2_000),
            ("/p/:id".to_string(), 0, 800)
        ]
    );
    let Row::Click {
        x,
        y,
        cx,
        cy,
        vw,
        target,
        control,
        ..
    } = s.clicks()[0]
    else {
        unreachable!()
    };
    assert_eq!((*x, *y, *vw), (640, 1_300, 1_280));
    assert_eq!((*cx, *cy), (50, 1_296));
    assert_eq!(target.as_ref().unwrap().to_string(), "button#buy.primary");
    assert_eq!(control, target);
    let sel = Selector::parse("button#buy");
    assert!(sel.matches_click(target.as_ref(), control.as_ref()));
}

#[test]
fn an_input_row_once_per_field_per_page_view() {
    let mut ev = page(1_000, "https://shop.example/a", 1280, 800);
    ev.push(input(2_000, EMAIL, "j"));
    ev.push(input(2_100, EMAIL, "ja"));
    ev.push(input(2_200, BIO, "x"));
    ev.extend(page(3_000, "https://shop.example/b", 1280, 800));
    ev.push(input(3_100, EMAIL, "jane"));
    let s = run(ev);
    let fields: Vec<String> = s
        .rows
        .iter()
        .filter_map(|r| match r {
            Row::Input { field, path, .. } => Some(format!("{path} {field}")),
            _ => None,
        })
        .collect();
    assert_eq!(
        fields,
        vec!["/a input#email", "/a textarea#bio", "/b input#email"]
    );
}

#[test]
fn custom_event_names_are_bounded_and_detected() {
    let long = "n".repeat(80);
    let s = on_page(vec![
        custom(2_000, "add_to_cart", json!({"sku": "x"})),
        custom(2_100, &long, json!({})),
        custom(2_200, "add_to_cart", json!({})),
    ]);
    assert_eq!(
        s.summary.names,
        vec!["add_to_cart".to_string(), "n".repeat(64)]
    );
}

#[test]
fn a_late_chunk_leaves_the_state_alone() {
    let mut s = Session::new();
    let mut ev = page(1_000, "https://shop.example/", 1280, 800);
    ev.push(click(2_000, BUY, 1.0, 1.0));
    s.chunk_at(1, &ev);
    let before = serde_json::to_string(&s.state).unwrap();
    let x = s.chunk_at(0, &[click(500, BUY, 1.0, 1.0), mouse_move(900)]);
    assert!(x.late);
    assert_eq!(x.rows.len(), 1, "its click is a row");
    assert_eq!(serde_json::to_string(&s.state).unwrap(), before);
    s.chunk_at(2, &[mouse_move(4_500)]);
    assert_eq!(s.count(SignalKind::Dead), 1);
}

#[test]
fn the_node_map_is_bounded() {
    let kids: Vec<_> = (0..MAX_NODES as u64 + 500)
        .map(|i| {
            // Long tokens on every node: the descriptor text has its own budget.
            let class = if i == 0 {
                "b".to_string()
            } else {
                ["p", "q", "r"].map(|c| c.repeat(60)).join(" ")
            };
            json!({"type": 2, "id": 100 + i, "tagName": "button", "attributes": {"class": class}, "childNodes": []})
        })
        .collect();
    let ev = vec![
        meta(1_000, "https://shop.example/"),
        json!({"type": 2, "timestamp": 1_000, "data": {"node": {"type": 0, "id": 1, "childNodes": [
            {"type": 2, "id": 2, "tagName": "html", "attributes": {}, "childNodes": [
                {"type": 2, "id": 4, "tagName": "body", "attributes": {}, "childNodes": kids}]}]}}}),
        click(2_000, 100, 1.0, 1.0),
        click(2_000, 100 + MAX_NODES as u64 + 400, 1.0, 1.0),
    ];
    let mut st = AnalyticsState::default();
    let text = serde_json::to_string(&ev).unwrap();
    let tree = veilgate::json::array_from_str(&text).unwrap();
    let x = analytics::extract_events(&tree, &mut st);
    let json = serde_json::to_string(&st).unwrap();
    assert!(json.len() < 128 * 1024, "{} bytes", json.len());
    let targets: Vec<Option<Desc>> = x
        .rows
        .iter()
        .filter_map(|r| match r {
            Row::Click { target, .. } => Some(target.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        targets[0].as_ref().map(|d| d.to_string()).as_deref(),
        Some("button.b")
    );
    assert_eq!(targets[1], None, "past the bound: not described");
}
