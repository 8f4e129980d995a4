//! The search store: one SQLite database per project and month (a Durable Object of the
//! session class named `{project}/analytics/{yyyy-mm}`, its `storage.sql`), one row per
//! session, written by the session object after each stored chunk and read by the session
//! search and the analytics summary (docs/ANALYTICS.md "Storage").
//!
//! Everything here is plain Rust over the [`Sql`] port: the object implements it over the
//! Durable Object's SQL storage, the native tests over SQLite itself (rusqlite), so the
//! statements that run in the worker are the ones the tests run.
//!
//! Why one row per session, and JSON columns: rows written are what SQLite storage bills and
//! what an upsert per beacon costs, so a beacon updates exactly one row (no index column
//! changes after the insert); the per-path, per-name and per-target counts live in JSON
//! columns that `json_each` opens at query time, and the session's compact event list (what
//! funnels and heatmaps evaluate later) is NDJSON appended to the same row.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::desc::{Desc, Selector};
use super::rows::{Device, Row, SignalKind};
use super::summary::{Moment, SessionAnalytics};
use super::RULES;

/// One SQL value, both ways.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlVal {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

impl SqlVal {
    fn int(&self) -> i64 {
        match self {
            SqlVal::Int(i) => *i,
            SqlVal::Real(f) => *f as i64,
            _ => 0,
        }
    }
    fn text(&self) -> Option<&str> {
        match self {
            SqlVal::Text(s) => Some(s),
            _ => None,
        }
    }
}

fn int(v: u64) -> SqlVal {
    SqlVal::Int(i64::try_from(v).unwrap_or(i64::MAX))
}

fn text(s: impl Into<String>) -> SqlVal {
    SqlVal::Text(s.into())
}

/// The port: run one statement with positional `?` arguments, answer its rows.
pub trait Sql {
    fn exec(&self, sql: &str, args: &[SqlVal]) -> Result<Vec<Vec<SqlVal>>, String>;
}

/// Rows one search request may read at most (the rest is the next page's): keeps every
/// request's CPU bounded whatever the shard holds.
pub const MAX_SCAN: usize = 20_000;
/// Rows of the compact event list kept per session (later ones are counted, not kept).
pub const MAX_EVENT_ROWS: u64 = 2_000;
/// Distinct clicked descriptors kept per session (for `clicked=`).
pub const MAX_CLICKED: usize = 64;
/// Distinct signal targets kept per session (for the summary's top targets).
pub const MAX_TARGETS: usize = 64;
/// Longest page of search results.
pub const MAX_LIMIT: usize = 1_000;
/// Entries of each top list in the summary.
pub const TOP: usize = 100;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS sessions (
        session TEXT PRIMARY KEY,
        start_ms INTEGER NOT NULL,
        duration_ms INTEGER NOT NULL,
        active_ms INTEGER NOT NULL,
        platform TEXT NOT NULL,
        device TEXT,
        page_views INTEGER NOT NULL,
        clicks INTEGER NOT NULL,
        rage INTEGER NOT NULL,
        dead INTEGER NOT NULL,
        errors INTEGER NOT NULL,
        error_clicks INTEGER NOT NULL,
        quick_backs INTEGER NOT NULL,
        entry TEXT,
        exit TEXT,
        paths TEXT NOT NULL,
        names TEXT NOT NULL,
        clicked TEXT NOT NULL,
        targets TEXT NOT NULL,
        moments TEXT NOT NULL,
        summary TEXT NOT NULL,
        events TEXT NOT NULL,
        event_rows INTEGER NOT NULL,
        applied INTEGER NOT NULL,
        rules INTEGER NOT NULL
    ) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS sessions_by_start ON sessions (start_ms, session)",
];

/// Create the tables if this database has none (every call starts with it; cheap).
pub fn migrate(db: &impl Sql) -> Result<(), String> {
    for s in SCHEMA {
        db.exec(s, &[])?;
    }
    Ok(())
}

/// What the session object sends after a stored chunk (and when the session ends).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Put {
    pub session: String,
    /// When the session's first beacon was stored (ms): its place in ranges and pages.
    pub start_ms: u64,
    pub duration_ms: u64,
    pub platform: String,
    /// The session's running totals (replace what the row had: idempotent).
    pub totals: SessionAnalytics,
    /// The list summary the day index carries too (`session_summary`), shown in each row.
    pub summary: Value,
    /// This send's ordinal for the session (1, 2, …): its `rows` are appended once, so a
    /// repeated send changes nothing.
    pub n: u64,
    /// Rows extracted since the previous send.
    pub rows: Vec<Row>,
}

#[derive(Serialize, Deserialize)]
struct Target {
    s: SignalKind,
    d: String,
    p: String,
    n: u64,
}

/// The row's accumulated JSON columns.
#[derive(Default)]
struct Aggregates {
    paths: BTreeMap<String, u64>,
    names: BTreeMap<String, u64>,
    clicked: Vec<String>,
    targets: Vec<Target>,
}

impl Aggregates {
    fn read(paths: &str, names: &str, clicked: &str, targets: &str) -> Aggregates {
        Aggregates {
            paths: serde_json::from_str(paths).unwrap_or_default(),
            names: serde_json::from_str(names).unwrap_or_default(),
            clicked: serde_json::from_str(clicked).unwrap_or_default(),
            targets: serde_json::from_str(targets).unwrap_or_default(),
        }
    }

    fn add(&mut self, rows: &[Row]) {
        let keep_clicked = |d: &Option<Desc>, list: &mut Vec<String>| {
            if let Some(d) = d {
                let s = d.to_string();
                if !s.is_empty() && list.len() < MAX_CLICKED && !list.contains(&s) {
                    list.push(s);
                }
            }
        };
        for row in rows {
            match row {
                Row::Page { path, .. } => *self.paths.entry(path.clone()).or_default() += 1,
                Row::Custom { name, .. } => *self.names.entry(name.clone()).or_default() += 1,
                Row::Click {
                    target, control, ..
                } => {
                    keep_clicked(target, &mut self.clicked);
                    keep_clicked(control, &mut self.clicked);
                }
                Row::Signal {
                    signal,
                    path,
                    target,
                    ..
                } if *signal != SignalKind::QuickBack => {
                    let d = target.as_ref().map(Desc::to_string).unwrap_or_default();
                    let found = self
                        .targets
                        .iter()
                        .position(|t| t.s == *signal && t.d == d && t.p == *path);
                    match found {
                        Some(i) => self.targets[i].n += 1,
                        None if self.targets.len() < MAX_TARGETS => self.targets.push(Target {
                            s: *signal,
                            d,
                            p: path.clone(),
                            n: 1,
                        }),
                        None => {}
                    }
                }
                _ => {}
            }
        }
    }
}

fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn device_word(d: Option<Device>) -> SqlVal {
    match d {
        Some(d) => text(to_json(&d).trim_matches('"')),
        None => SqlVal::Null,
    }
}

fn opt_text(s: &Option<String>) -> SqlVal {
    s.as_ref().map_or(SqlVal::Null, |s| text(s.as_str()))
}

/// Apply one send: insert the session's row or bring it up to date; a send already applied
/// (same or lower `n`) only refreshes the totals.
pub fn put(db: &impl Sql, p: &Put) -> Result<(), String> {
    let found = db.exec(
        "SELECT paths, names, clicked, targets, event_rows, applied FROM sessions WHERE session = ?",
        &[text(p.session.as_str())],
    )?;
    let fresh = found.is_empty();
    let (mut agg, event_rows, applied) = match found.first() {
        Some(r) if r.len() == 6 => (
            Aggregates::read(
                r[0].text().unwrap_or("{}"),
                r[1].text().unwrap_or("{}"),
                r[2].text().unwrap_or("[]"),
                r[3].text().unwrap_or("[]"),
            ),
            r[4].int().max(0) as u64,
            r[5].int().max(0) as u64,
        ),
        _ => (Aggregates::default(), 0, 0),
    };
    let append = p.n > applied;
    let mut add_events = String::new();
    let mut added = 0u64;
    if append {
        agg.add(&p.rows);
        for row in &p.rows {
            if event_rows + added >= MAX_EVENT_ROWS {
                break;
            }
            add_events.push_str(&to_json(row));
            add_events.push('\n');
            added += 1;
        }
    }
    let t = &p.totals;
    let mut args = vec![
        int(p.duration_ms),
        int(t.active_ms),
        device_word(t.device),
        int(t.page_views),
        int(t.clicks),
        int(t.rage),
        int(t.dead),
        int(t.errors),
        int(t.error_clicks),
        int(t.quick_backs),
        opt_text(&t.entry),
        opt_text(&t.exit),
        text(to_json(&agg.paths)),
        text(to_json(&agg.names)),
        text(to_json(&agg.clicked)),
        text(to_json(&agg.targets)),
        text(to_json(&t.moments)),
        text(to_json(&p.summary)),
        text(add_events),
        int(added),
        int(p.n.max(applied)),
        int(u64::from(t.rules)),
    ];
    if fresh {
        args.insert(0, text(p.session.as_str()));
        args.insert(1, int(p.start_ms));
        args.insert(2, text(p.platform.as_str()));
        db.exec(
            "INSERT INTO sessions (session, start_ms, platform, duration_ms, active_ms, device,
               page_views, clicks, rage, dead, errors, error_clicks, quick_backs, entry, exit,
               paths, names, clicked, targets, moments, summary, events, event_rows, applied, rules)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            &args,
        )?;
    } else {
        // start_ms is indexed and never changes: it is not in the SET list, so an update
        // writes the row alone.
        args.push(text(p.session.as_str()));
        db.exec(
            "UPDATE sessions SET duration_ms = ?, active_ms = ?, device = ?, page_views = ?,
               clicks = ?, rage = ?, dead = ?, errors = ?, error_clicks = ?, quick_backs = ?,
               entry = ?, exit = ?, paths = ?, names = ?, clicked = ?, targets = ?, moments = ?,
               summary = ?, events = events || ?, event_rows = event_rows + ?, applied = ?,
               rules = ?
             WHERE session = ?",
            &args,
        )?;
    }
    Ok(())
}

/// Remove a session's row (erasure, retention).
pub fn erase(db: &impl Sql, session: &str) -> Result<bool, String> {
    let had = !db
        .exec("SELECT 1 FROM sessions WHERE session = ?", &[text(session)])?
        .is_empty();
    db.exec("DELETE FROM sessions WHERE session = ?", &[text(session)])?;
    Ok(had)
}

/// A path filter: exact, or a prefix (`/product/*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathMatch {
    pub path: String,
    pub prefix: bool,
}

impl PathMatch {
    pub fn parse(s: &str) -> Option<PathMatch> {
        if !s.starts_with('/') || s.len() > 512 {
            return None;
        }
        Some(match s.strip_suffix('*') {
            Some(p) => PathMatch {
                path: p.to_owned(),
                prefix: true,
            },
            None => PathMatch {
                path: s.to_owned(),
                prefix: false,
            },
        })
    }

    /// The SQL condition on `col` (a text expression) and its arguments.
    fn condition(&self, col: &str, args: &mut Vec<SqlVal>) -> String {
        if self.prefix {
            args.push(int(self.path.chars().count() as u64));
            args.push(text(self.path.as_str()));
            format!("substr({col}, 1, ?) = ?")
        } else {
            args.push(text(self.path.as_str()));
            format!("{col} = ?")
        }
    }
}

/// `has=` words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Has {
    Rage,
    Dead,
    Error,
    QuickBack,
}

impl Has {
    pub fn parse(s: &str) -> Option<Has> {
        Some(match s {
            "rage" => Has::Rage,
            "dead" => Has::Dead,
            "error" => Has::Error,
            "quick_back" => Has::QuickBack,
            _ => return None,
        })
    }
    fn column(self) -> &'static str {
        match self {
            Has::Rage => "rage",
            Has::Dead => "dead",
            Has::Error => "errors",
            Has::QuickBack => "quick_backs",
        }
    }
}

/// A search: the range and every filter of DESIGN.md's session search, ANDed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Query {
    pub from_ms: u64,
    pub to_ms: u64,
    #[serde(default)]
    pub url: Option<PathMatch>,
    #[serde(default)]
    pub entry: Option<PathMatch>,
    #[serde(default)]
    pub min_duration_ms: Option<u64>,
    #[serde(default)]
    pub max_duration_ms: Option<u64>,
    #[serde(default)]
    pub min_active_ms: Option<u64>,
    #[serde(default)]
    pub has: Vec<Has>,
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub clicked: Option<String>,
    #[serde(default)]
    pub device: Option<Device>,
    #[serde(default)]
    pub platform: Option<String>,
    /// Resume after this (start_ms, session).
    #[serde(default)]
    pub after: Option<(u64, String)>,
    pub limit: usize,
}

/// One page of one shard.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Page {
    pub rows: Vec<Value>,
    /// Where this shard's next page starts, if it has more.
    pub next: Option<(u64, String)>,
    /// Rows read (the bench and the docs' limits).
    pub scanned: u64,
}

const ROW_COLUMNS: &str = "session, start_ms, duration_ms, active_ms, platform, device, clicks, \
     rage, dead, errors, quick_backs, entry, exit, paths, moments, summary, rules, clicked";

fn where_clause(q: &Query, args: &mut Vec<SqlVal>) -> String {
    let mut w = vec!["start_ms >= ?".to_owned(), "start_ms <= ?".to_owned()];
    args.push(int(q.from_ms));
    args.push(int(q.to_ms));
    if let Some((t, s)) = &q.after {
        w.push("(start_ms > ? OR (start_ms = ? AND session > ?))".into());
        args.push(int(*t));
        args.push(int(*t));
        args.push(text(s.as_str()));
    }
    for (col, op, v) in [
        ("duration_ms", ">=", q.min_duration_ms),
        ("duration_ms", "<=", q.max_duration_ms),
        ("active_ms", ">=", q.min_active_ms),
    ] {
        if let Some(v) = v {
            w.push(format!("{col} {op} ?"));
            args.push(int(v));
        }
    }
    for h in &q.has {
        w.push(format!("{} > 0", h.column()));
    }
    if let Some(d) = q.device {
        w.push("device = ?".into());
        args.push(device_word(Some(d)));
    }
    if let Some(p) = &q.platform {
        w.push("platform = ?".into());
        args.push(text(p.as_str()));
    }
    if let Some(u) = &q.url {
        let c = u.condition("key", args);
        w.push(format!(
            "EXISTS (SELECT 1 FROM json_each(sessions.paths) WHERE {c})"
        ));
    }
    if let Some(e) = &q.entry {
        w.push(e.condition("entry", args));
    }
    for name in &q.events {
        w.push("EXISTS (SELECT 1 FROM json_each(sessions.names) WHERE key = ?)".into());
        args.push(text(name.as_str()));
    }
    w.join(" AND ")
}

fn clicked_matches(sel: &Selector, clicked: &str) -> bool {
    let list: Vec<String> = serde_json::from_str(clicked).unwrap_or_default();
    list.iter().any(|d| sel.matches(&Desc::parse_compact(d)))
}

/// One page of sessions matching `q`, oldest first. `clicked=` is checked on the rows SQL
/// selected (a descriptor's parts must match one element), so a page may come back short
/// with a `next` when [`MAX_SCAN`] rows were read.
pub fn search(db: &impl Sql, q: &Query) -> Result<Page, String> {
    let limit = q.limit.clamp(1, MAX_LIMIT);
    let sel = q.clicked.as_deref().map(Selector::parse);
    let mut page = Page::default();
    let mut q = q.clone();
    // One row more than a page tells whether there is a next one; a post-filter reads more.
    let batch = if sel.is_some() { 500 } else { limit + 1 };
    loop {
        let mut args = Vec::new();
        let w = where_clause(&q, &mut args);
        args.push(int(batch as u64));
        let rows = db.exec(
            &format!(
                "SELECT {ROW_COLUMNS} FROM sessions WHERE {w} ORDER BY start_ms, session LIMIT ?"
            ),
            &args,
        )?;
        let got = rows.len();
        for r in rows {
            if page.rows.len() == limit {
                // A row after a full page: the page ends at the row read before it.
                page.next = q.after;
                return Ok(page);
            }
            page.scanned += 1;
            q.after = Some((
                r[1].int().max(0) as u64,
                r[0].text().unwrap_or("").to_owned(),
            ));
            if sel
                .as_ref()
                .is_none_or(|s| clicked_matches(s, r[17].text().unwrap_or("[]")))
            {
                page.rows.push(row_json(&r));
            }
            if page.scanned as usize >= MAX_SCAN {
                page.next = q.after;
                return Ok(page);
            }
        }
        if got < batch {
            return Ok(page);
        }
    }
}

fn row_json(r: &[SqlVal]) -> Value {
    let parse = |v: &SqlVal, d: &str| -> Value {
        serde_json::from_str(v.text().unwrap_or(d)).unwrap_or(Value::Null)
    };
    let mut summary = match parse(&r[15], "{}") {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let paths: Vec<String> = match parse(&r[13], "{}") {
        Value::Object(m) => m.keys().cloned().collect(),
        _ => Vec::new(),
    };
    let moments: Vec<Moment> = serde_json::from_value(parse(&r[14], "[]")).unwrap_or_default();
    let start = r[1].int().max(0) as u64;
    for (k, v) in [
        ("rules", json!(r[16].int())),
        ("clicks", json!(r[6].int())),
        ("rage", json!(r[7].int())),
        ("dead", json!(r[8].int())),
        ("errors", json!(r[9].int())),
        ("quick_backs", json!(r[10].int())),
        ("active_ms", json!(r[3].int())),
        ("entry", json!(r[11].text())),
        ("exit", json!(r[12].text())),
        ("paths", json!(paths)),
        ("moments", json!(moments)),
        ("device_class", json!(r[5].text())),
    ] {
        summary.insert(k.to_owned(), v);
    }
    json!({
        "session": r[0].text().unwrap_or(""),
        "day": crate::time::utc_day(start),
        "summary": summary,
    })
}

/// The project's analytics summary over one shard (merged across shards by [`merge_summaries`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub rules: u32,
    pub sessions: u64,
    pub page_views: u64,
    /// (path, page views, sessions)
    pub paths: Vec<(String, u64, u64)>,
    /// (name, count, sessions)
    pub events: Vec<(String, u64, u64)>,
    /// (signal, descriptor, path, count)
    pub targets: Vec<(SignalKind, String, String, u64)>,
}

pub fn summary(db: &impl Sql, from_ms: u64, to_ms: u64) -> Result<Summary, String> {
    let range = [int(from_ms), int(to_ms)];
    let totals = db.exec(
        "SELECT count(*), coalesce(sum(page_views), 0) FROM sessions
         WHERE start_ms >= ? AND start_ms <= ?",
        &range,
    )?;
    let top = |col: &str| -> Result<Vec<(String, u64, u64)>, String> {
        let rows = db.exec(
            &format!(
                "SELECT j.key, sum(j.value), count(*) FROM sessions, json_each(sessions.{col}) AS j
                 WHERE start_ms >= ? AND start_ms <= ?
                 GROUP BY j.key ORDER BY 2 DESC, 1 LIMIT {TOP}"
            ),
            &range,
        )?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    r[0].text().unwrap_or("").to_owned(),
                    r[1].int().max(0) as u64,
                    r[2].int().max(0) as u64,
                )
            })
            .collect())
    };
    let targets = db.exec(
        &format!(
            "SELECT json_extract(j.value, '$.s'), json_extract(j.value, '$.d'),
                    json_extract(j.value, '$.p'), sum(json_extract(j.value, '$.n'))
             FROM sessions, json_each(sessions.targets) AS j
             WHERE start_ms >= ? AND start_ms <= ?
             GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1, 2, 3 LIMIT {TOP}"
        ),
        &range,
    )?;
    let t = totals.first();
    Ok(Summary {
        rules: RULES,
        sessions: t.map_or(0, |r| r[0].int().max(0) as u64),
        page_views: t.map_or(0, |r| r[1].int().max(0) as u64),
        paths: top("paths")?,
        events: top("names")?,
        targets: targets
            .iter()
            .filter_map(|r| {
                let s: SignalKind = serde_json::from_value(json!(r[0].text()?)).ok()?;
                Some((
                    s,
                    r[1].text().unwrap_or("").to_owned(),
                    r[2].text().unwrap_or("").to_owned(),
                    r[3].int().max(0) as u64,
                ))
            })
            .collect(),
    })
}

/// Summaries of several shards as one: counts add up, lists re-ranked and cut to [`TOP`].
pub fn merge_summaries(parts: &[Summary]) -> Summary {
    fn merge3(lists: impl Iterator<Item = (String, u64, u64)>) -> Vec<(String, u64, u64)> {
        let mut m: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for (k, a, b) in lists {
            let e = m.entry(k).or_default();
            e.0 += a;
            e.1 += b;
        }
        let mut v: Vec<_> = m.into_iter().map(|(k, (a, b))| (k, a, b)).collect();
        v.sort_by(|x, y| y.1.cmp(&x.1).then_with(|| x.0.cmp(&y.0)));
        v.truncate(TOP);
        v
    }
    let mut targets: BTreeMap<(String, String, String), (SignalKind, u64)> = BTreeMap::new();
    for p in parts {
        for (s, d, path, n) in &p.targets {
            let k = (to_json(s), d.clone(), path.clone());
            targets.entry(k).or_insert((*s, 0)).1 += n;
        }
    }
    let mut tl: Vec<_> = targets
        .into_iter()
        .map(|((_, d, p), (s, n))| (s, d, p, n))
        .collect();
    tl.sort_by_key(|t| std::cmp::Reverse(t.3));
    tl.truncate(TOP);
    Summary {
        rules: RULES,
        sessions: parts.iter().map(|p| p.sessions).sum(),
        page_views: parts.iter().map(|p| p.page_views).sum(),
        paths: merge3(parts.iter().flat_map(|p| p.paths.iter().cloned())),
        events: merge3(parts.iter().flat_map(|p| p.events.iter().cloned())),
        targets: tl,
    }
}

impl Summary {
    /// The answer of `GET …/analytics/summary`.
    pub fn to_json(&self, from_ms: u64, to_ms: u64) -> Value {
        json!({
            "rules": self.rules,
            "from": from_ms,
            "to": to_ms,
            "sessions": self.sessions,
            "page_views": self.page_views,
            "paths": self.paths.iter().map(|(p, v, s)| json!({"path": p, "page_views": v, "sessions": s})).collect::<Vec<_>>(),
            "events": self.events.iter().map(|(n, c, s)| json!({"name": n, "count": c, "sessions": s})).collect::<Vec<_>>(),
            "targets": self.targets.iter().map(|(k, d, p, n)| json!({"signal": k, "target": d, "path": p, "count": n})).collect::<Vec<_>>(),
        })
    }
}

/// One call to a store object (the body of `protocol::ObjectCall::Analytics`).
// One value per call, built once and moved once: boxing a variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Call {
    Put(Put),
    Search(Query),
    Summary { from_ms: u64, to_ms: u64 },
    Erase { session: String },
}

/// What a store object does with a call: its answer as JSON.
pub fn handle(db: &impl Sql, call: &Call) -> Result<Value, String> {
    migrate(db)?;
    Ok(match call {
        Call::Put(p) => {
            put(db, p)?;
            json!({})
        }
        Call::Search(q) => serde_json::to_value(search(db, q)?).map_err(|e| e.to_string())?,
        Call::Summary { from_ms, to_ms } => {
            serde_json::to_value(summary(db, *from_ms, *to_ms)?).map_err(|e| e.to_string())?
        }
        Call::Erase { session } => json!({"erased": erase(db, session)?}),
    })
}

/// The month (`yyyy-mm`, UTC) a time falls in: a store shard.
pub fn month(ms: u64) -> String {
    let mut d = crate::time::utc_day(ms);
    d.truncate(7);
    d
}

/// The store object of `project` for the sessions that started in `month`. A `/` never
/// appears in an id, so no `{project}:{session}` object can take this name.
pub fn shard_name(project: &crate::ids::ProjectKey, month: &str) -> String {
    format!("{project}/analytics/{month}")
}

/// The months a range touches, oldest first (at most one per month of the range, which the
/// read API bounds to 400 days).
pub fn months(from_ms: u64, to_ms: u64) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut t = crate::time::floor_day(from_ms);
    while t <= to_ms {
        let m = month(t);
        if out.last() != Some(&m) {
            out.push(m);
        }
        t = match t.checked_add(crate::time::DAY_MS) {
            Some(n) => n,
            None => break,
        };
    }
    out
}
