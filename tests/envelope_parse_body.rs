//! `envelope::parse_body` (and the rewritten `prescan`) against the checks they replaced
//! (tests/support/reference), and so the edge's split of the same checks (`parse_head` in the
//! worker, `parse_events` in the session object): for every body, the same envelope, the
//! same raw events and the same span, or the same refusal (status, code, message).

use std::path::Path;

use veilgate::envelope::{self, Envelope, EventSpan, Limits};
use veilgate::error::ApiError;

#[path = "support/reference/mod.rs"]
mod reference;

#[path = "support/pipeline/mod.rs"]
mod common;

#[path = "../fuzz/src/envelope_common.rs"]
mod envelope_common;
use envelope_common::{parse_head_then_heads, SMALL};

type Outcome = Result<(String, EventSpan), ApiError>;

/// Everything a caller can see of a parse, as one comparable value.
fn seen(r: Result<(Envelope<'_>, EventSpan), ApiError>) -> Outcome {
    r.map(|(e, span)| {
        let fields = format!(
            "{:?}|{:?}|{}|{:?}|{:?}|{:?}|{:?}|{}",
            e.session,
            e.visitor,
            e.seq,
            e.platform,
            e.page,
            e.sdk,
            e.consent,
            e.events.get()
        );
        (fields, span)
    })
}

fn same(body: &[u8], limits: &Limits) {
    let old = seen(reference::check(body, limits));
    let new = seen(envelope::parse_body(body, limits));
    agree(body, &old, &new);
    // The edge as it runs: the worker's parse_head, the object's check of the events.
    let split = seen(parse_head_then_heads(body, limits));
    agree(body, &old, &split);
    assert_eq!(
        reference::prescan(body, limits),
        envelope::prescan(body, limits),
        "prescan differs for {}",
        String::from_utf8_lossy(&body[..body.len().min(300)])
    );
}

fn agree(body: &[u8], old: &Outcome, new: &Outcome) {
    let what = || String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
    match (old, new) {
        (Ok((a, sa)), Ok((b, sb))) => {
            assert_eq!(a, b, "envelope differs for {}", what());
            // Bit for bit: -0.0 and 0.0 are different timestamps to a reader.
            assert_eq!(
                (sa.count, sa.first_ts.to_bits(), sa.last_ts.to_bits()),
                (sb.count, sb.first_ts.to_bits(), sb.last_ts.to_bits()),
                "span differs for {}",
                what()
            );
        }
        _ => assert_eq!(old, new, "outcome differs for {}", what()),
    }
}

fn same_all_limits(body: &[u8]) {
    same(body, &Limits::default());
    same(body, &SMALL);
}

const GOOD: &str = r#"{"session":"s_12345678","visitor":"v_12345678","seq":3,"platform":"web","page":"https://shop.example/x","sdk":{"name":"t","version":"1"},"events":[{"type":4,"data":{"href":"https://shop.example/x","width":1,"height":1},"timestamp":1700000000000},{"type":3,"data":{"source":2,"t":"\u00e9\"\\"},"timestamp":1700000000500.25}]}"#;

fn replace_once(s: &str, needle: &str, with: &[u8]) -> Vec<u8> {
    let at = s.find(needle).expect("needle");
    [
        &s.as_bytes()[..at],
        with,
        &s.as_bytes()[at + needle.len()..],
    ]
    .concat()
}

fn with_events(events: &str) -> String {
    format!(
        r#"{{"session":"s_12345678","visitor":"v_12345678","seq":1,"platform":"web","events":{events}}}"#
    )
}

#[test]
fn hand_written_bodies() {
    let events = [
        // Plain.
        r#"[{"type":1,"timestamp":0}]"#,
        r#"[{"type":2,"data":{},"timestamp":1},{"type":3,"data":[],"timestamp":2}]"#,
        " [ \n { \"type\" : 4 , \"data\" : { } , \"timestamp\" : 5 } \r\n , {\"timestamp\":3,\"type\":0,\"data\":0}\t] ",
        r#"[{"data":{"a":[1,{"b":"]}"}]},"type":5,"timestamp":9,"x":[]}]"#,
        r#"[{"type":6,"data":1,"timestamp":1700000000000,"extra":{"events":[]}}]"#,
        // Timestamps as serde_json reads them.
        r#"[{"type":1,"timestamp":-0}]"#,
        r#"[{"type":1,"timestamp":-0.0}]"#,
        r#"[{"type":1,"timestamp":1e3}]"#,
        r#"[{"type":1,"timestamp":123456789012345}]"#,
        r#"[{"type":1,"timestamp":1234567890123456}]"#,
        r#"[{"type":1,"timestamp":12345678901234567890123}]"#,
        r#"[{"type":1,"timestamp":0.1},{"type":1,"timestamp":0.30000000000000004}]"#,
        r#"[{"type":1,"timestamp":-1}]"#,
        r#"[{"type":1,"timestamp":"1"}]"#,
        r#"[{"type":1,"timestamp":null}]"#,
        // Types.
        r#"[{"type":7,"data":{},"timestamp":1}]"#,
        r#"[{"type":255,"data":{},"timestamp":1}]"#,
        r#"[{"type":256,"data":{},"timestamp":1}]"#,
        r#"[{"type":-0,"data":{},"timestamp":1}]"#,
        r#"[{"type":4.0,"data":{},"timestamp":1}]"#,
        r#"[{"type":"4","data":{},"timestamp":1}]"#,
        r#"[{"type":04,"data":{},"timestamp":1}]"#,
        // Data.
        r#"[{"type":0,"timestamp":1}]"#,
        r#"[{"type":2,"timestamp":1}]"#,
        r#"[{"type":2,"data":null,"timestamp":1}]"#,
        r#"[{"type":2,"data": null ,"timestamp":1}]"#,
        r#"[{"type":1,"data":null,"timestamp":1}]"#,
        // Keys: escaped, repeated, missing, empty.
        r#"[{"typ\u0065":2,"data":{},"timestamp":1}]"#,
        r#"[{"type":2,"d\u0061ta":{},"timestamp":1}]"#,
        r#"[{"\u0078":2,"type":2,"data":{},"timestamp":1}]"#,
        r#"[{"type":2,"type":2,"data":{},"timestamp":1}]"#,
        r#"[{"type":2,"typ\u0065":2,"data":{},"timestamp":1}]"#,
        r#"[{"type":2,"data":{},"timestamp":1,"timest\u0061mp":-1}]"#,
        r#"[{"type":2,"data":{},"data":{},"timestamp":1}]"#,
        r#"[{"type":2,"data":{},"timestamp":1,"timestamp":2}]"#,
        r#"[{"type":2,"data":{}}]"#,
        r#"[{"data":{},"timestamp":1}]"#,
        r#"[{"":1,"type":1,"timestamp":1}]"#,
        r#"[{}]"#,
        r#"[{"type":1,"timestamp":1},{}]"#,
        // Not arrays of objects.
        "[]",
        "[ ]",
        "{}",
        "null",
        "\"x\"",
        "5",
        "[5]",
        "[null]",
        r#"[[4, 1700000000000, {}]]"#,
        r#"[[1, 1700000000000]]"#,
        r#"[[4, 1700000000000, {}, 1]]"#,
        r#"[{"type":1,"timestamp":1},[1,2]]"#,
        r#"[{"type":1,"timestamp":1},]"#,
        r#"[{"type":1,"timestamp":1}"#,
        r#"[{"type":1,"timestamp":1}]]"#,
        // Too many for SMALL.
        r#"[{"type":1,"timestamp":1},{"type":1,"timestamp":2},{"type":1,"timestamp":3},{"type":1,"timestamp":4}]"#,
    ];
    for e in events {
        same_all_limits(with_events(e).as_bytes());
    }
    let bodies: Vec<Vec<u8>> = vec![
        GOOD.as_bytes().to_vec(),
        GOOD.replace("\"events\"", "\"ev\\u0065nts\"").into_bytes(),
        GOOD.replace("\"seq\":3", "\"seq\":3,\"events\":[]")
            .into_bytes(),
        GOOD.replace("\"seq\":3", "\"x\":[{\"type\":1,\"timestamp\":1}]")
            .into_bytes(),
        GOOD.replace("\"seq\":3", "\"seq\":3000000").into_bytes(),
        GOOD.replace("s_12345678", "short").into_bytes(),
        GOOD.replace("\"platform\":\"web\"", "\"platform\":\"tv\"")
            .into_bytes(),
        GOOD.replace("\"sdk\"", "\"consent\":{\"a\":[1,{\"b\":null}]},\"sdk\"")
            .into_bytes(),
        GOOD.replace("https://shop.example/x\",\"sdk", &"x".repeat(9000))
            .into_bytes(),
        // The envelope as a JSON array (serde reads a struct from one).
        br#"["s_12345678","v_12345678",1,"web",null,null,null,[{"type":1,"timestamp":1}]]"#
            .to_vec(),
        br#"["s_12345678","v_12345678",1,"web"]"#.to_vec(),
        // Encodings.
        GOOD.replace("\\u00e9", "\u{e9}").into_bytes(),
        GOOD.replace("\\u00e9", "\\ud83d\\ude00").into_bytes(),
        GOOD.replace("\\u00e9", "\\ud83d").into_bytes(),
        [GOOD.as_bytes(), b" "].concat(),
        [GOOD.as_bytes(), b" x"].concat(),
        [b"\xef\xbb\xbf", GOOD.as_bytes()].concat(),
        replace_once(GOOD, "\"t\":\"", b"\"t\":\"\xff"),
        replace_once(GOOD, "\"sdk\":{", b"\"x\":\"\xc3\",\"sdk\":{"),
        replace_once(GOOD, "\"sdk\":{", "\u{e9}\"sdk\":{".as_bytes()),
        replace_once(GOOD, "\"sdk\":{", b"\xe9\"sdk\":{"),
        Vec::new(),
        b"not json".to_vec(),
        b"[1,2]".to_vec(),
        b"{\"session\":}".to_vec(),
        b"{\"session\":\"\xff\"}".to_vec(),
        "[".repeat(600).into_bytes(),
        format!("{}{}", "[".repeat(300), "]".repeat(300)).into_bytes(),
        format!("{{\"a\":\"{}\"}}", "x".repeat(60)).into_bytes(),
        b"[1e999]".to_vec(),
        b"[1e308, -2.5e-300, 12345678901234567890, 0.000001]".to_vec(),
    ];
    for b in &bodies {
        same_all_limits(b);
    }
    // Strings around SMALL's length limit, closed and not, with and without escapes.
    for n in 40..56 {
        let x = "x".repeat(n);
        for body in [
            format!("{{\"a\":\"{x}\"}}"),
            format!("{{\"a\":\"{x}"),
            format!("{{\"a\":\"\\\"{x}\\\\\"}}"),
            format!("{{\"{x}\":1}}"),
            with_events(&format!("[{{\"type\":1,\"timestamp\":1,\"s\":\"{x}\"}}]")),
        ] {
            same_all_limits(body.as_bytes());
        }
    }
}

const MUTATIONS: &[&[u8]] = &[
    b"\"", b"\\", b"{", b"}", b"[", b"]", b",", b":", b"0", b"-", b" ", b"x", b"\xff", b"\xc3",
    b"\\u", b"\\ud800", b"null", b"1e999",
];

/// Every truncation, deletion, replacement and insertion at every byte of a small beacon.
#[test]
fn mutations_of_a_beacon() {
    let body = GOOD.as_bytes();
    for p in 0..=body.len() {
        same_all_limits(&body[..p]);
        if p == body.len() {
            break;
        }
        same_all_limits(&[&body[..p], &body[p + 1..]].concat());
        for m in MUTATIONS {
            same_all_limits(&[&body[..p], m, &body[p + 1..]].concat());
            same_all_limits(&[&body[..p], m, &body[p..]].concat());
        }
    }
}

fn fixtures() -> Vec<common::Fixture> {
    ["signup", "checkout", "account", "large"]
        .iter()
        .map(|name| {
            let path = format!(
                "{}/tests/fixtures/rrweb/{name}.default.json",
                env!("CARGO_MANIFEST_DIR")
            );
            common::Fixture::from_json(name, &std::fs::read(path).expect("fixture"))
        })
        .collect()
}

/// Recorded sessions, as whole beacons and cut as an SDK would send them.
#[test]
fn recorded_fixtures() {
    let fixtures = fixtures();
    for f in &fixtures {
        let whole = common::envelope_body("s_fixture_session", 0, &f.page, &f.events);
        same(&whole, &Limits::default());
        let texts = f.event_texts();
        for (i, cut) in common::cut(&texts, 16 * 1024).iter().enumerate() {
            let body = common::envelope_body("s_fixture_session", i as u32, &f.page, cut);
            same(&body, &Limits::default());
        }
    }
    for (i, beacon) in common::beacons_64k(&fixtures).iter().enumerate() {
        let body =
            common::envelope_body("s_fixture_session", i as u32, "https://x.example/", beacon);
        let (_, span) = envelope::parse_body(&body, &Limits::default()).expect("a recorded beacon");
        assert!(span.count > 0);
        same(&body, &Limits::default());
    }
}

/// The fuzz corpus and the inputs that once broke an invariant.
#[test]
fn fuzz_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for dir in ["fuzz/corpus/envelope", "fuzz/regressions/envelope"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries {
            let body = std::fs::read(entry.expect("dir entry").path()).expect("corpus file");
            same_all_limits(&body);
            n += 1;
        }
    }
    assert!(n > 0, "no fuzz corpus found");
}

/// Random bodies over the bytes the scanners care about (and every byte value now and then),
/// at every alignment: the prescan's eight-bytes-at-a-time string skip against the byte loop.
#[test]
fn random_bodies() {
    const ALPHABET: &[u8] = b"\"\"\"\\\\u d80cDC[]{}[]{},:-+1eE9.0 x\t";
    let limits = Limits {
        max_depth: 4,
        max_string_bytes: 12,
        ..SMALL
    };
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..60_000 {
        let len = (next() % 48) as usize;
        let body: Vec<u8> = (0..len)
            .map(|_| {
                let r = next();
                if r % 5 == 0 {
                    (r >> 8) as u8
                } else {
                    ALPHABET[(r >> 8) as usize % ALPHABET.len()]
                }
            })
            .collect();
        assert_eq!(
            reference::prescan(&body, &limits),
            envelope::prescan(&body, &limits),
            "prescan differs for {body:?}"
        );
        assert_eq!(
            reference::prescan(&body, &Limits::default()),
            envelope::prescan(&body, &Limits::default()),
            "prescan differs for {body:?}"
        );
    }
}
