//! The session search's query string (DESIGN.md "Session search"): which parameters make a
//! list a search, each filter's parse with a 400 that names the parameter, and the cursor
//! that walks the month shards. Pure: the read API hands in the decoded pairs.

use super::desc::Selector;
use super::rows::Device;
use super::store::{Has, PathMatch, Query, MAX_LIMIT};
use crate::error::{ApiError, ErrorCode};

/// Parameters that are filters: any of them makes `GET …/sessions` a search of the store.
pub const FILTERS: &[&str] = &[
    "url",
    "entry",
    "min_duration",
    "max_duration",
    "min_active",
    "has",
    "event",
    "clicked",
    "device",
    "platform",
];

/// Custom event names one search may require.
const MAX_EVENTS: usize = 10;
/// Longest filter value.
const MAX_VALUE: usize = 256;
/// Seconds a duration filter may name (about 31 years: past any session).
const MAX_SECONDS: u64 = 1_000_000_000;

pub fn is_search<'a>(mut names: impl Iterator<Item = &'a str>) -> bool {
    names.any(|n| FILTERS.contains(&n))
}

fn bad(name: &str, what: &str) -> ApiError {
    ApiError::new(ErrorCode::InvalidFilter, format!("{name}: {what}"))
}

/// The filters of a search over `from_ms..=to_ms` from the query's pairs (decoded).
pub fn parse<'a>(
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
    from_ms: u64,
    to_ms: u64,
) -> Result<(Query, Option<Cursor>), ApiError> {
    let mut q = Query {
        from_ms,
        to_ms,
        limit: 100,
        ..Query::default()
    };
    let mut cursor = None;
    let seconds = |name: &str, v: &str| -> Result<Option<u64>, ApiError> {
        match v.parse::<u64>() {
            Ok(s) if s <= MAX_SECONDS => Ok(Some(s * 1_000)),
            _ => Err(bad(name, "a whole number of seconds")),
        }
    };
    for (name, v) in pairs {
        if v.len() > MAX_VALUE {
            return Err(bad(name, "too long"));
        }
        match name {
            "url" => q.url = Some(path(name, v)?),
            "entry" => q.entry = Some(path(name, v)?),
            "min_duration" => q.min_duration_ms = seconds(name, v)?,
            "max_duration" => q.max_duration_ms = seconds(name, v)?,
            "min_active" => q.min_active_ms = seconds(name, v)?,
            "has" => {
                for w in v.split(',') {
                    let h = Has::parse(w.trim())
                        .ok_or_else(|| bad(name, "a list of rage, dead, error, quick_back"))?;
                    if !q.has.contains(&h) {
                        q.has.push(h);
                    }
                }
            }
            "event" => {
                if v.is_empty() || v.chars().count() > super::MAX_NAME_CHARS {
                    return Err(bad(name, "a custom event name of 1 to 64 characters"));
                }
                if q.events.len() == MAX_EVENTS {
                    return Err(bad(name, "at most 10 events"));
                }
                q.events.push(v.to_owned());
            }
            "clicked" => {
                let s = Selector::parse(v);
                if s.tag.is_none() && s.id.is_none() && s.classes.is_empty() {
                    return Err(bad(name, "a descriptor: tag, #id and/or .class"));
                }
                q.clicked = Some(v.to_owned());
            }
            "device" => {
                q.device = Some(match v {
                    "mobile" => Device::Mobile,
                    "tablet" => Device::Tablet,
                    "desktop" => Device::Desktop,
                    _ => return Err(bad(name, "mobile, tablet or desktop")),
                })
            }
            "platform" => {
                if !matches!(v, "web" | "ios" | "android") {
                    return Err(bad(name, "web, ios or android"));
                }
                q.platform = Some(v.to_owned());
            }
            "limit" => match v.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => q.limit = n,
                _ => return Err(ApiError::new(ErrorCode::InvalidLimit, "limit: 1 to 1000")),
            },
            "cursor" => {
                cursor = Some(Cursor::parse(v).ok_or_else(|| {
                    ApiError::new(ErrorCode::InvalidCursor, "cursor: not one this API gave")
                })?)
            }
            _ => {}
        }
    }
    if let (Some(a), Some(b)) = (q.min_duration_ms, q.max_duration_ms) {
        if a > b {
            return Err(bad("min_duration", "greater than max_duration"));
        }
    }
    Ok((q, cursor))
}

fn path(name: &str, v: &str) -> Result<PathMatch, ApiError> {
    PathMatch::parse(v)
        .ok_or_else(|| bad(name, "a path starting with / (a * at the end for a prefix)"))
}

/// Where a search's next page starts: a month shard, and within it after a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub month: String,
    pub after: Option<(u64, String)>,
}

impl Cursor {
    pub fn parse(s: &str) -> Option<Cursor> {
        let mut parts = s.splitn(3, '.');
        let month = parts.next()?;
        let ok_month = month.len() == 7
            && month.as_bytes()[4] == b'-'
            && month
                .bytes()
                .enumerate()
                .all(|(i, b)| i == 4 || b.is_ascii_digit());
        if !ok_month {
            return None;
        }
        let after = match (parts.next(), parts.next()) {
            (None, None) => None,
            (Some(t), Some(s)) => {
                crate::ids::SessionId::checked(s).ok()?;
                Some((t.parse().ok()?, s.to_owned()))
            }
            _ => return None,
        };
        Some(Cursor {
            month: month.to_owned(),
            after,
        })
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.month)?;
        if let Some((t, s)) = &self.after {
            write!(f, ".{t}.{s}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(q: &[(&str, &str)]) -> Result<(Query, Option<Cursor>), ApiError> {
        parse(q.iter().copied(), 0, 10)
    }

    #[test]
    fn a_bad_filter_is_refused_naming_its_parameter() {
        for (name, v) in [
            ("url", "checkout"),
            ("entry", ""),
            ("min_duration", "-1"),
            ("max_duration", "1.5"),
            ("min_active", "x"),
            ("has", "rage,angry"),
            ("event", ""),
            ("clicked", "  "),
            ("device", "phone"),
            ("platform", "windows"),
        ] {
            let e = p(&[(name, v)]).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidFilter.as_str(), "{name}");
            assert!(e.message.starts_with(name), "{name}: {}", e.message);
        }
        assert_eq!(
            p(&[("limit", "0")]).unwrap_err().code,
            ErrorCode::InvalidLimit.as_str()
        );
        assert_eq!(
            p(&[("cursor", "2026-1x")]).unwrap_err().code,
            ErrorCode::InvalidCursor.as_str()
        );
        assert!(p(&[("min_duration", "9"), ("max_duration", "8")]).is_err());
    }

    #[test]
    fn filters_parse_to_the_query() {
        let (q, c) = p(&[
            ("url", "/product/*"),
            ("min_duration", "30"),
            ("has", "rage,dead,rage"),
            ("event", "signup"),
            ("event", "buy"),
            ("device", "mobile"),
            ("cursor", "2026-12.17.s_abcdefgh"),
        ])
        .unwrap();
        assert_eq!(
            q.url,
            Some(PathMatch {
                path: "/product/".into(),
                prefix: true
            })
        );
        assert_eq!(q.min_duration_ms, Some(30_000));
        assert_eq!(q.has, vec![Has::Rage, Has::Dead]);
        assert_eq!(q.events, ["signup", "buy"]);
        assert_eq!(q.device, Some(Device::Mobile));
        let c = c.unwrap();
        assert_eq!(c.to_string(), "2026-12.17.s_abcdefgh");
        assert_eq!(
            Cursor::parse("2026-12"),
            Some(Cursor {
                month: "2026-12".into(),
                after: None
            })
        );
        assert!(Cursor::parse("2026-12.17").is_none());
        assert!(Cursor::parse("2026-12.17.a/b").is_none());
    }

    #[test]
    fn only_filters_make_a_search() {
        assert!(!is_search(["from", "to", "limit", "cursor"].into_iter()));
        assert!(is_search(["from", "has"].into_iter()));
    }
}
