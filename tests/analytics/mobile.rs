//! Mobile wireframe recordings (docs/MOBILE.md): screen views and taps.

use serde_json::json;
use veilgate::analytics::{Row, SignalKind};

use crate::support::*;

fn screen(t: u64, name: &str) -> Vec<serde_json::Value> {
    vec![
        json!({"type": 4, "timestamp": t, "data": {"href": format!("app://com.shop.app/{name}"), "width": 390, "height": 844}}),
        json!({"type": 2, "timestamp": t, "data": {"wireframes": [
            {"id": 1, "kind": "view", "x": 0, "y": 0, "width": 390, "height": 844, "children": [
                {"id": 2, "kind": "button", "identifier": "buy", "x": 16, "y": 700, "width": 358, "height": 44,
                 "children": [{"id": 3, "kind": "text", "text": "Buy now", "x": 20, "y": 710, "width": 100, "height": 20}]},
                {"id": 4, "kind": "input", "identifier": "email", "inputType": "email", "value": "jane@example.com",
                 "x": 16, "y": 120, "width": 358, "height": 44}]}]}}),
    ]
}

fn touch(t: u64, ty: u64, id: u64) -> serde_json::Value {
    json!({"type": 3, "timestamp": t, "data": {"source": 2, "type": ty, "id": id, "x": 30, "y": 712}})
}

#[test]
fn screens_are_page_views_and_taps_are_clicks_once() {
    let mut ev = screen(1_000, "HomeScreen");
    ev.push(touch(2_000, 7, 3));
    ev.push(touch(2_050, 9, 3));
    // A Click after the TouchEnd of the same tap is the same tap.
    ev.push(touch(2_060, 2, 3));
    ev.extend(screen(3_000, "CheckoutScreen"));
    ev.push(touch(3_500, 9, 4));
    ev.push(touch(3_600, 9, 4));
    ev.push(touch(3_700, 9, 4));
    let s = run(ev);
    assert_eq!(s.summary.paths, vec!["/HomeScreen", "/CheckoutScreen"]);
    assert_eq!(s.summary.clicks, 4);
    let Row::Click {
        target,
        control,
        vw,
        ..
    } = s.clicks()[0]
    else {
        unreachable!()
    };
    assert_eq!(target.as_ref().unwrap().to_string(), "text");
    assert_eq!(control.as_ref().unwrap().to_string(), "button#buy");
    assert_eq!(*vw, 390);
    assert_eq!(s.summary.device, Some(veilgate::analytics::Device::Mobile));
    // Three taps into a text input: no rage.
    assert_eq!(s.count(SignalKind::Rage), 0);
}
