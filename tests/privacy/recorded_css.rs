//! A real recording (rrweb in headless Chromium, tests/privacy/record_css_canary.mjs) of a
//! page script writing an email into CSS after recording started — an appended `<style>`
//! (mutation add with `_cssText`), a text node in a `<style>`, a CSSOM rule and declaration,
//! an adopted sheet, a `style` attribute — masked as the session object masks a chunk
//! (borrowed tree, `privacy::mask_chunk`, written back): the email is stored nowhere.

use veilgate::privacy::{self, MaskPolicy, MaskState};

#[test]
fn css_a_page_script_writes_after_recording_started_is_stored_masked() {
    let report = crate::node::report(
        "record_css_canary",
        "tests/privacy/record_css_canary.mjs",
        &[],
        &[],
    );
    let canary = report["canary"].as_str().unwrap();
    let events = serde_json::to_string(&report["events"]).unwrap();
    // The recording holds the canary where the issue found it: in a mutation add of a style
    // element (its `_cssText`), and in the CSSOM events.
    let raw: Vec<serde_json::Value> = serde_json::from_str(&events).unwrap();
    let add_css = raw.iter().any(|e| {
        e["type"] == 3
            && e["data"]["source"] == 0
            && e["data"]["adds"].as_array().is_some_and(|a| {
                a.iter().any(|x| {
                    x["node"]["attributes"]["_cssText"]
                        .as_str()
                        .is_some_and(|s| s.contains(canary))
                })
            })
    });
    assert!(
        add_css,
        "no style add with the canary in its _cssText: {events}"
    );
    for source in [8, 13, 15] {
        let has = raw.iter().any(|e| {
            e["type"] == 3
                && e["data"]["source"] == source
                && e["data"].to_string().contains(canary)
        });
        assert!(has, "no source {source} event with the canary: {events}");
    }

    // The session object's path: parse to the borrowed tree, mask the chunk, write.
    let mut tree = veilgate::json::array_from_str(&events).unwrap();
    let mut state = MaskState::default();
    privacy::mask_chunk(&mut tree, 1, &MaskPolicy::default(), &mut state);
    let mut out = Vec::new();
    veilgate::json::write_array(&tree, &mut out);
    let stored = String::from_utf8(out).unwrap();
    assert!(
        !stored.contains("canary.8473") && !stored.contains("example.org"),
        "canary stored: {stored}"
    );
    // Masking changed values only: as many events, and the rules are still there.
    let back: Vec<serde_json::Value> = serde_json::from_str(&stored).unwrap();
    assert_eq!(back.len(), raw.len());
    assert!(stored.contains(".user-badge::after"), "{stored}");
}
