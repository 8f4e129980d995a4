//! The search store (`analytics::store`) on SQLite itself: every filter on both sides, paging,
//! idempotent sends, erasure and the summary's merge across shards.

#[path = "../support/sqlite.rs"]
mod sqlite;

use serde_json::json;
use sqlite::Sqlite;
use veilgate::analytics::store::{self, Has, PathMatch, Put, Query};
use veilgate::analytics::{Desc, Device, Row, SessionAnalytics, SignalKind};

fn desc(tag: &str, id: Option<&str>, classes: &[&str]) -> Desc {
    Desc {
        tag: tag.into(),
        id: id.map(Into::into),
        classes: classes.iter().map(|c| c.to_string()).collect(),
    }
}

fn page(t: u64, path: &str, vw: u32) -> Row {
    Row::Page {
        t,
        path: path.into(),
        vw,
        vh: 700,
    }
}

fn click(t: u64, path: &str, target: Desc, control: Option<Desc>) -> Row {
    Row::Click {
        t,
        path: path.into(),
        x: 10,
        y: 10,
        vw: 1280,
        vh: 700,
        cx: 1,
        cy: 0,
        target: Some(target),
        control,
    }
}

/// A send as the session object makes it: totals accumulated from every row so far.
fn put_rows(
    db: &Sqlite,
    session: &str,
    start_ms: u64,
    duration_ms: u64,
    n: u64,
    rows: Vec<Row>,
    all: &[Row],
) {
    let mut totals = SessionAnalytics::default();
    let x = veilgate::analytics::Extract {
        rows: all.to_vec(),
        active_ms: duration_ms / 2,
        late: false,
    };
    totals.add(&x);
    totals.events.clear();
    store::put(
        db,
        &Put {
            session: session.into(),
            start_ms,
            duration_ms,
            platform: "web".into(),
            totals,
            summary: json!({"v": 1, "chunks": n}),
            n,
            rows,
        },
    )
    .unwrap();
}

fn put_all(db: &Sqlite, session: &str, start_ms: u64, duration_ms: u64, rows: Vec<Row>) {
    put_rows(db, session, start_ms, duration_ms, 1, rows.clone(), &rows);
}

fn ids(db: &Sqlite, q: &Query) -> Vec<String> {
    store::search(db, q)
        .unwrap()
        .rows
        .iter()
        .map(|r| r["session"].as_str().unwrap().to_owned())
        .collect()
}

fn q() -> Query {
    Query {
        from_ms: 0,
        to_ms: u64::MAX / 2,
        limit: 100,
        ..Query::default()
    }
}

fn shop() -> Sqlite {
    let db = Sqlite::memory();
    store::migrate(&db).unwrap();
    store::migrate(&db).unwrap(); // a second migration is harmless
    put_all(&db, "s_home_only", 1_000, 20_000, vec![page(0, "/", 1280)]);
    put_all(
        &db,
        "s_rage_buyer",
        2_000,
        90_000,
        vec![
            page(0, "/product/:id", 1280),
            click(
                10,
                "/product/:id",
                desc("span", None, &["label"]),
                Some(desc("button", Some("buy"), &["primary", "big"])),
            ),
            Row::Signal {
                t: 10,
                signal: SignalKind::Rage,
                path: "/product/:id".into(),
                cx: Some(1),
                cy: Some(0),
                target: Some(desc("button", Some("buy"), &["primary"])),
            },
            Row::Custom {
                t: 20,
                path: "/product/:id".into(),
                name: "add_to_cart".into(),
            },
            page(30, "/checkout", 1280),
        ],
    );
    put_all(
        &db,
        "s_phone_error",
        3_000,
        5_000,
        vec![
            page(0, "/checkout", 390),
            Row::Error {
                t: 5,
                path: "/checkout".into(),
                message: "boom".into(),
                source: None,
                line: None,
                col: None,
            },
            Row::Signal {
                t: 6,
                signal: SignalKind::Dead,
                path: "/checkout".into(),
                cx: None,
                cy: None,
                target: Some(desc("a", None, &["help"])),
            },
        ],
    );
    db
}

#[test]
fn every_filter_selects_exactly_its_sessions() {
    let db = shop();
    assert_eq!(
        ids(&db, &q()),
        ["s_home_only", "s_rage_buyer", "s_phone_error"]
    );
    let with = |f: &dyn Fn(&mut Query)| {
        let mut x = q();
        f(&mut x);
        ids(&db, &x)
    };
    assert_eq!(
        with(&|x| x.url = PathMatch::parse("/checkout")),
        ["s_rage_buyer", "s_phone_error"]
    );
    assert_eq!(
        with(&|x| x.url = PathMatch::parse("/product/*")),
        ["s_rage_buyer"]
    );
    assert_eq!(
        with(&|x| x.url = PathMatch::parse("/product")),
        Vec::<String>::new()
    );
    assert_eq!(
        with(&|x| x.entry = PathMatch::parse("/checkout")),
        ["s_phone_error"]
    );
    assert_eq!(
        with(&|x| x.entry = PathMatch::parse("/*")),
        ["s_home_only", "s_rage_buyer", "s_phone_error"]
    );
    assert_eq!(
        with(&|x| x.min_duration_ms = Some(20_000)),
        ["s_home_only", "s_rage_buyer"]
    );
    assert_eq!(
        with(&|x| x.min_duration_ms = Some(20_001)),
        ["s_rage_buyer"]
    );
    assert_eq!(
        with(&|x| x.max_duration_ms = Some(5_000)),
        ["s_phone_error"]
    );
    assert_eq!(
        with(&|x| x.max_duration_ms = Some(4_999)),
        Vec::<String>::new()
    );
    assert_eq!(with(&|x| x.min_active_ms = Some(45_000)), ["s_rage_buyer"]);
    assert_eq!(with(&|x| x.has = vec![Has::Rage]), ["s_rage_buyer"]);
    assert_eq!(
        with(&|x| x.has = vec![Has::Dead, Has::Error]),
        ["s_phone_error"]
    );
    assert_eq!(
        with(&|x| x.has = vec![Has::Rage, Has::Error]),
        Vec::<String>::new()
    );
    assert_eq!(
        with(&|x| x.has = vec![Has::QuickBack]),
        Vec::<String>::new()
    );
    assert_eq!(
        with(&|x| x.events = vec!["add_to_cart".into()]),
        ["s_rage_buyer"]
    );
    assert_eq!(
        with(&|x| x.events = vec!["add_to".into()]),
        Vec::<String>::new()
    );
    assert_eq!(
        with(&|x| x.device = Some(Device::Mobile)),
        ["s_phone_error"]
    );
    assert_eq!(
        with(&|x| x.device = Some(Device::Desktop)),
        ["s_home_only", "s_rage_buyer"]
    );
    assert_eq!(
        with(&|x| x.platform = Some("ios".into())),
        Vec::<String>::new()
    );
    assert_eq!(with(&|x| x.platform = Some("web".into())).len(), 3);
    // clicked: every given part must match one element, the target or its control.
    assert_eq!(
        with(&|x| x.clicked = Some("button#buy.primary".into())),
        ["s_rage_buyer"]
    );
    assert_eq!(
        with(&|x| x.clicked = Some("span.label".into())),
        ["s_rage_buyer"]
    );
    assert_eq!(
        with(&|x| x.clicked = Some("span#buy".into())),
        Vec::<String>::new()
    );
    assert_eq!(with(&|x| x.clicked = Some(".big".into())), ["s_rage_buyer"]);
    // The range is on the session's start.
    assert_eq!(
        with(&|x| {
            x.from_ms = 2_000;
            x.to_ms = 2_999
        }),
        ["s_rage_buyer"]
    );
}

#[test]
fn rows_carry_the_richer_summary() {
    let db = shop();
    let mut x = q();
    x.has = vec![Has::Rage];
    let page = store::search(&db, &x).unwrap();
    let s = &page.rows[0]["summary"];
    assert_eq!(s["clicks"], 1);
    assert_eq!(s["rage"], 1);
    assert_eq!(s["entry"], "/product/:id");
    assert_eq!(s["exit"], "/checkout");
    assert_eq!(s["paths"], json!(["/checkout", "/product/:id"]));
    assert_eq!(s["moments"], json!([{"kind": "rage", "t": 10}]));
    assert_eq!(s["device_class"], "desktop");
    assert_eq!(s["chunks"], 1, "the list summary is kept");
    assert_eq!(s["rules"], veilgate::analytics::RULES);
    assert_eq!(page.rows[0]["day"], "1970-01-01");
}

#[test]
fn pages_follow_each_other_without_gaps_or_repeats() {
    let db = Sqlite::memory();
    store::migrate(&db).unwrap();
    for i in 0..25u64 {
        // Equal starts in pairs: the cursor orders by (start, session).
        put_all(
            &db,
            &format!("s_{i:04}"),
            1_000 + i / 2,
            1_000,
            vec![page(0, "/", 1280)],
        );
    }
    for (clicked, limit) in [(None, 7usize), (None, 25), (Some("a".to_string()), 7)] {
        let mut seen = Vec::new();
        let mut x = q();
        x.limit = limit;
        x.clicked = clicked.clone();
        loop {
            let p = store::search(&db, &x).unwrap();
            seen.extend(
                p.rows
                    .iter()
                    .map(|r| r["session"].as_str().unwrap().to_owned()),
            );
            match p.next {
                Some(n) => x.after = Some(n),
                None => break,
            }
        }
        let want: Vec<String> = if clicked.is_some() {
            Vec::new()
        } else {
            (0..25).map(|i| format!("s_{i:04}")).collect()
        };
        assert_eq!(seen, want, "limit {limit}");
    }
}

#[test]
fn a_repeated_send_appends_nothing_and_later_sends_accumulate() {
    let db = Sqlite::memory();
    store::migrate(&db).unwrap();
    let first = vec![
        page(0, "/", 1280),
        Row::Custom {
            t: 1,
            path: "/".into(),
            name: "go".into(),
        },
    ];
    put_rows(&db, "s_repeat", 1, 10, 1, first.clone(), &first);
    put_rows(&db, "s_repeat", 1, 10, 1, first.clone(), &first);
    let mut all = first.clone();
    let second = vec![
        page(5, "/b", 1280),
        Row::Custom {
            t: 6,
            path: "/b".into(),
            name: "go".into(),
        },
    ];
    all.extend(second.clone());
    put_rows(&db, "s_repeat", 1, 20, 2, second, &all);
    let rows = db.exec_rows("SELECT events, event_rows, applied, names, paths FROM sessions");
    assert_eq!(rows[0][0].lines().count(), 4);
    assert_eq!(rows[0][1], "4");
    assert_eq!(rows[0][2], "2");
    assert_eq!(rows[0][3], r#"{"go":2}"#);
    assert_eq!(rows[0][4], r#"{"/":1,"/b":1}"#);
    let s = store::summary(&db, 0, 100).unwrap();
    assert_eq!(s.events, vec![("go".to_string(), 2, 1)]);
    assert_eq!(s.sessions, 1);
    assert_eq!(s.page_views, 2);
}

#[test]
fn erasure_removes_the_row_from_search_and_summary() {
    let db = shop();
    assert!(store::erase(&db, "s_rage_buyer").unwrap());
    assert!(!store::erase(&db, "s_rage_buyer").unwrap());
    assert_eq!(ids(&db, &q()), ["s_home_only", "s_phone_error"]);
    let s = store::summary(&db, 0, u64::MAX / 2).unwrap();
    assert_eq!(s.sessions, 2);
    assert!(s.events.is_empty());
    assert!(s.targets.iter().all(|t| t.0 != SignalKind::Rage));
}

#[test]
fn the_summary_ranks_paths_events_and_targets_and_merges_shards() {
    let db = shop();
    let s = store::summary(&db, 0, u64::MAX / 2).unwrap();
    assert_eq!(s.sessions, 3);
    assert_eq!(s.page_views, 4);
    assert_eq!(s.paths[0], ("/checkout".to_string(), 2, 2));
    assert_eq!(s.events, vec![("add_to_cart".to_string(), 1, 1)]);
    assert!(s.targets.contains(&(
        SignalKind::Rage,
        "button#buy.primary".into(),
        "/product/:id".into(),
        1
    )));
    assert!(s
        .targets
        .contains(&(SignalKind::Dead, "a.help".into(), "/checkout".into(), 1)));
    let other = store::summary(&shop(), 0, u64::MAX / 2).unwrap();
    let m = store::merge_summaries(&[s.clone(), other]);
    assert_eq!(m.sessions, 6);
    assert_eq!(m.paths[0], ("/checkout".to_string(), 4, 4));
    assert_eq!(m.targets.len(), s.targets.len());
    assert!(m.targets.iter().all(|t| t.3 == 2));
    // Out of range: nothing.
    assert_eq!(store::summary(&db, 5_000, 9_000).unwrap().sessions, 0);
}

trait ExecRows {
    fn exec_rows(&self, sql: &str) -> Vec<Vec<String>>;
}

impl ExecRows for Sqlite {
    fn exec_rows(&self, sql: &str) -> Vec<Vec<String>> {
        use veilgate::analytics::store::{Sql, SqlVal};
        self.exec(sql, &[])
            .unwrap()
            .into_iter()
            .map(|r| {
                r.into_iter()
                    .map(|v| match v {
                        SqlVal::Int(i) => i.to_string(),
                        SqlVal::Text(t) => t,
                        SqlVal::Real(f) => f.to_string(),
                        SqlVal::Null => "null".into(),
                    })
                    .collect()
            })
            .collect()
    }
}
