//! Pins the canonical bytes and hash of an audit record: the stored layout (v2 segments) may
//! change, the record itself must not, or every chain written so far stops verifying.

use veilgate::audit::{ChainHead, Draft};
use veilgate::consent::{Decision, Reason};

#[test]
fn a_decision_record_keeps_its_canonical_bytes_and_hash() {
    let head = ChainHead::new("demo-web", "s_8r2kQ0aZ");
    let d = Decision::new(Reason::GrantedTcf, vec!["tcf".into()], "2026-11-01".into());
    let draft = Draft::decision(
        "demo-web",
        "s_8r2kQ0aZ",
        Some("v_50deee46c210d09df0e6e97e04331564"),
        1_793_491_200_000,
        &d,
        Some(0),
    );
    let (rec, _) = head.next(draft);
    let json = rec.to_json();
    let expected = GOLDEN;
    assert_eq!(json, expected);
    assert_eq!(rec.compute_hash(), rec.hash);
}

const GOLDEN: &str = r#"{"v":1,"project":"demo-web","session":"s_8r2kQ0aZ","visitor":"v_50deee46c210d09df0e6e97e04331564","seq":0,"at":1793491200000,"kind":"decision","decision":"stored","reason":"granted_tcf","policy_version":"2026-11-01","signals":["tcf"],"beacon_seq":0,"anchor":null,"prev":"d4a8707618d3f8ff0f00a80bc3ac254fd6328fdec83605ab87710f4b40373fb9","hash":"4e21f081f8a0b66bfb44d25bf22247ce30c76ae1e71f8bd48b448dc186a65079"}"#;
