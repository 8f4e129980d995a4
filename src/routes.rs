//! The route table: method + path → what to do. Pure, so every path the worker answers is
//! tested natively; the edge only dispatches on the result.

use crate::admin::TokenKind;
use crate::error::{ApiError, ErrorCode};
use crate::ids::{ProjectKey, SessionId, VisitorId};
use crate::percent::{decode, Plus};
use crate::time::DAY_MS;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Health,
    IngestPreflight {
        key: ProjectKey,
    },
    Ingest {
        key: ProjectKey,
    },
    /// `GET`/`POST /v1/opt-out`: sets the opt-out cookie on a navigation or a same-origin POST.
    OptOut,
    /// `GET /v1/opt-in`: the page whose button posts; changes nothing.
    OptInPage,
    /// `POST /v1/opt-in`: clears the opt-out cookie, same-origin only.
    OptIn,
    ListSessions {
        key: ProjectKey,
    },
    /// `GET …/analytics/summary` (read token).
    AnalyticsSummary {
        key: ProjectKey,
    },
    Manifest {
        key: ProjectKey,
        session: SessionId,
    },
    Events {
        key: ProjectKey,
        session: SessionId,
    },
    Chunk {
        key: ProjectKey,
        session: SessionId,
        seq: u32,
    },
    DeleteSession {
        key: ProjectKey,
        session: SessionId,
    },
    DeleteVisitor {
        key: ProjectKey,
        visitor: VisitorId,
    },
    /// `GET …/visitors/{visitor}/erasure`: a visitor erasure job's progress.
    VisitorErasure {
        key: ProjectKey,
        visitor: VisitorId,
    },
    Audit {
        key: ProjectKey,
    },
    AuditVerify {
        key: ProjectKey,
    },
    /// `GET …/audit/verify/{job}`: a verify job's state (32 lowercase hex).
    AuditVerifyJob {
        key: ProjectKey,
        job: String,
    },
    AuditReport {
        key: ProjectKey,
    },
    /// The browser SDK's public project facts.
    SdkConfig {
        key: ProjectKey,
    },
    /// A file of the browser SDK (`sdk.js`, `recorder.js`).
    SdkAsset {
        name: &'static str,
    },
    AdminList,
    AdminProject {
        key: ProjectKey,
    },
    AdminRotate {
        key: ProjectKey,
        kind: TokenKind,
    },
}

/// Resolve a request. Unknown paths are 404, known paths with another method 405.
/// Malformed ids in a read path are 404: an id that cannot exist names nothing.
pub fn route(method: &str, path: &str) -> Result<Route, ApiError> {
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let key_ok = |k: &str| -> Result<ProjectKey, ApiError> {
        ProjectKey::parse(k).ok_or_else(|| ApiError::unauthorized("unknown project key"))
    };
    let id_ok = |s: &str| -> Result<SessionId, ApiError> {
        SessionId::parse(s).ok_or_else(|| ApiError::not_found("no such session"))
    };
    let only = |allowed: &str, r: Route| -> Result<Route, ApiError> {
        if method == allowed {
            Ok(r)
        } else {
            Err(ApiError::method_not_allowed())
        }
    };
    match parts.as_slice() {
        ["healthz"] => only("GET", Route::Health),
        ["v1", "opt-out"] => match method {
            "GET" | "POST" => Ok(Route::OptOut),
            _ => Err(ApiError::method_not_allowed()),
        },
        ["v1", "opt-in"] => match method {
            "GET" => Ok(Route::OptInPage),
            "POST" => Ok(Route::OptIn),
            _ => Err(ApiError::method_not_allowed()),
        },
        ["v1", "config", key] => only("GET", Route::SdkConfig { key: key_ok(key)? }),
        ["v1", name @ ("sdk.js" | "recorder.js")] => only(
            "GET",
            Route::SdkAsset {
                name: if *name == "sdk.js" {
                    "sdk.js"
                } else {
                    "recorder.js"
                },
            },
        ),
        ["v1", "ingest", key] => match method {
            "POST" => Ok(Route::Ingest { key: key_ok(key)? }),
            "OPTIONS" => Ok(Route::IngestPreflight { key: key_ok(key)? }),
            _ => Err(ApiError::method_not_allowed()),
        },
        ["v1", "admin", "projects"] => only("GET", Route::AdminList),
        ["v1", "admin", "projects", key, rest @ ..] => {
            let key =
                ProjectKey::parse(key).ok_or_else(|| ApiError::not_found("no such project"))?;
            match rest {
                [] => match method {
                    "GET" | "PUT" | "PATCH" => Ok(Route::AdminProject { key }),
                    _ => Err(ApiError::method_not_allowed()),
                },
                ["tokens", kind] => {
                    let kind = TokenKind::parse(kind)
                        .ok_or_else(|| ApiError::not_found("no such route"))?;
                    only("POST", Route::AdminRotate { key, kind })
                }
                _ => Err(ApiError::not_found("no such route")),
            }
        }
        ["v1", "projects", key, rest @ ..] => {
            let key = key_ok(key)?;
            match rest {
                ["sessions"] => only("GET", Route::ListSessions { key }),
                ["analytics", "summary"] => only("GET", Route::AnalyticsSummary { key }),
                ["sessions", s] => {
                    let session = id_ok(s)?;
                    match method {
                        "GET" => Ok(Route::Manifest { key, session }),
                        "DELETE" => Ok(Route::DeleteSession { key, session }),
                        _ => Err(ApiError::method_not_allowed()),
                    }
                }
                ["sessions", s, "events"] => only(
                    "GET",
                    Route::Events {
                        key,
                        session: id_ok(s)?,
                    },
                ),
                ["sessions", s, "chunks", seq] => {
                    let session = id_ok(s)?;
                    let seq = seq
                        .parse::<u32>()
                        .ok()
                        .filter(|_| seq.bytes().all(|b| b.is_ascii_digit()))
                        .ok_or_else(|| ApiError::not_found("no such chunk"))?;
                    only("GET", Route::Chunk { key, session, seq })
                }
                ["visitors", v] => {
                    let visitor = VisitorId::parse(v)
                        .ok_or_else(|| ApiError::not_found("no such visitor"))?;
                    only("DELETE", Route::DeleteVisitor { key, visitor })
                }
                ["visitors", v, "erasure"] => {
                    let visitor = VisitorId::parse(v)
                        .ok_or_else(|| ApiError::not_found("no such visitor"))?;
                    only("GET", Route::VisitorErasure { key, visitor })
                }
                ["audit"] => only("GET", Route::Audit { key }),
                ["audit", "verify"] => only("GET", Route::AuditVerify { key }),
                ["audit", "verify", job] => {
                    if job.len() != 32
                        || !job.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                    {
                        return Err(ApiError::not_found("no such verify job"));
                    }
                    only(
                        "GET",
                        Route::AuditVerifyJob {
                            key,
                            job: job.to_string(),
                        },
                    )
                }
                ["audit", "report"] => only("GET", Route::AuditReport { key }),
                _ => Err(ApiError::not_found("no such route")),
            }
        }
        _ => Err(ApiError::not_found("no such route")),
    }
}

/// `scheme://authority/path?query#fragment` → (`/path`, `query`). The runtime hands the worker
/// WHATWG-normalized URLs (dot segments resolved), so splitting is all that is left; doing it
/// here keeps the `url` crate (and its IDNA tables) out of the wasm.
pub fn split_url(url: &str) -> (&str, &str) {
    let url = url.split('#').next().unwrap_or("");
    let after_scheme = url.find("://").map_or(url, |i| &url[i + 3..]);
    let path_and_query = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    match path_and_query.split_once('?') {
        Some((p, q)) => (p, q),
        None => (path_and_query, ""),
    }
}

/// The first value of `name` in a query string, percent-decoded (`+` is a space).
pub fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(k, Plus::Space) == name).then(|| decode(v, Plus::Space).into_owned())
    })
}

/// Every pair of a query string, percent-decoded (`+` is a space), in order.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (
                decode(k, Plus::Space).into_owned(),
                decode(v, Plus::Space).into_owned(),
            )
        })
        .collect()
}

/// `https://shop.example/checkout?x` → `https://shop.example` (a `Referer` standing in for a
/// missing `Origin`); `None` for anything but an http(s) URL with a host.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    // Credentials never belong to an origin.
    let host = authority.rsplit('@').next()?;
    (!host.is_empty()).then(|| format!("{scheme}://{}", host.to_ascii_lowercase()))
}

/// A `from`/`to` range in ms from their query values: `to` defaults to `default_to`, `from` to
/// 7 days before it; both must be integers, ordered, at most `MAX_RANGE_DAYS` apart and end
/// no later than a day past `now_ms`. The last rule keeps every day loop over a range short:
/// `to=18446744073709551615` would otherwise step days until the platform killed the request.
pub fn time_range(
    from: Option<&str>,
    to: Option<&str>,
    default_to: u64,
    now_ms: u64,
) -> Result<(u64, u64), ApiError> {
    let invalid = |m: &str| ApiError::new(ErrorCode::InvalidRange, m);
    let num = |v: Option<&str>| -> Result<Option<u64>, ApiError> {
        v.map(|v| v.trim().parse::<u64>())
            .transpose()
            .map_err(|_| invalid("from and to must be times in ms since the epoch"))
    };
    let to = num(to)?.unwrap_or(default_to);
    let from = num(from)?.unwrap_or(to.saturating_sub(7 * DAY_MS));
    if to > now_ms.saturating_add(DAY_MS) {
        return Err(invalid("to may be at most one day past now"));
    }
    if from > to || to - from > crate::audit::MAX_RANGE_DAYS * DAY_MS {
        return Err(invalid(
            "from..to must be ordered and span at most 400 days",
        ));
    }
    Ok((from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_routes() {
        assert_eq!(
            route("GET", "/v1/sdk.js"),
            Ok(Route::SdkAsset { name: "sdk.js" })
        );
        assert_eq!(
            route("GET", "/v1/recorder.js"),
            Ok(Route::SdkAsset {
                name: "recorder.js"
            })
        );
        assert_eq!(
            route("GET", "/v1/config/demo"),
            Ok(Route::SdkConfig { key: "demo".into() })
        );
        assert_eq!(route("POST", "/v1/sdk.js").unwrap_err().status, 405);
        assert_eq!(route("GET", "/v1/config/b%20d").unwrap_err().status, 401);
        assert_eq!(route("GET", "/v1/other.js").unwrap_err().status, 404);
    }

    #[test]
    fn routes() {
        assert_eq!(
            route("POST", "/v1/ingest/demo").unwrap(),
            Route::Ingest { key: "demo".into() }
        );
        assert_eq!(
            route("OPTIONS", "/v1/ingest/demo").unwrap(),
            Route::IngestPreflight { key: "demo".into() }
        );
        assert_eq!(
            route(
                "GET",
                "/v1/projects/demo/sessions/s_12345678/chunks/00000003"
            )
            .unwrap(),
            Route::Chunk {
                key: "demo".into(),
                session: "s_12345678".into(),
                seq: 3
            }
        );
        assert_eq!(
            route("DELETE", "/v1/projects/demo/visitors/v_12345678").unwrap(),
            Route::DeleteVisitor {
                key: "demo".into(),
                visitor: "v_12345678".into()
            }
        );
        assert_eq!(
            route("GET", "/v1/projects/demo/visitors/v_12345678/erasure").unwrap(),
            Route::VisitorErasure {
                key: "demo".into(),
                visitor: "v_12345678".into()
            }
        );
        assert_eq!(
            route("GET", "/v1/projects/demo/audit/verify").unwrap(),
            Route::AuditVerify { key: "demo".into() }
        );
        let job = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            route("GET", &format!("/v1/projects/demo/audit/verify/{job}")).unwrap(),
            Route::AuditVerifyJob {
                key: "demo".into(),
                job: job.into()
            }
        );
        for bad in ["0123", "0123456789ABCDEF0123456789ABCDEF", "../../x"] {
            let r = route("GET", &format!("/v1/projects/demo/audit/verify/{bad}"));
            assert_eq!(r.unwrap_err().status, 404, "{bad}");
        }
        assert_eq!(route("GET", "/v1/opt-out").unwrap(), Route::OptOut);
        assert_eq!(route("GET", "/v1/opt-in").unwrap(), Route::OptInPage);
        assert_eq!(route("POST", "/v1/opt-in").unwrap(), Route::OptIn);
        assert_eq!(route("POST", "/v1/opt-out").unwrap(), Route::OptOut);
        assert_eq!(route("PUT", "/v1/opt-out").unwrap_err().status, 405);
    }

    #[test]
    fn urls_split_by_hand() {
        assert_eq!(
            split_url("https://a.example/v1/ingest/demo?enc=gzip#x"),
            ("/v1/ingest/demo", "enc=gzip")
        );
        assert_eq!(split_url("http://127.0.0.1:8787/healthz"), ("/healthz", ""));
        assert_eq!(split_url("https://a.example"), ("/", ""));
        assert_eq!(split_url("https://a.example?x=1"), ("/", ""));
        let q = "from=1&cursor=2026-11-23%2Fs_1234+5&enc=&flag&bad=%zz%4";
        assert_eq!(query_param(q, "from").as_deref(), Some("1"));
        assert_eq!(
            query_param(q, "cursor").as_deref(),
            Some("2026-11-23/s_1234 5")
        );
        assert_eq!(query_param(q, "enc").as_deref(), Some(""));
        assert_eq!(query_param(q, "flag").as_deref(), Some(""));
        assert_eq!(query_param(q, "bad").as_deref(), Some("%zz%4"));
        assert_eq!(query_param(q, "missing"), None);
        assert_eq!(query_param("a=%", "a").as_deref(), Some("%"));
        assert_eq!(
            origin_of("https://Shop.Example:8443/checkout?step=2").as_deref(),
            Some("https://shop.example:8443")
        );
        assert_eq!(
            origin_of("http://user:pw@localhost:8787/").as_deref(),
            Some("http://localhost:8787")
        );
        assert_eq!(origin_of("javascript:alert(1)"), None);
        assert_eq!(origin_of("https:///x"), None);
    }

    #[test]
    fn refusals() {
        assert_eq!(route("GET", "/v1/ingest/demo").unwrap_err().status, 405);
        assert_eq!(
            route("PUT", "/v1/projects/demo/sessions")
                .unwrap_err()
                .status,
            405
        );
        assert_eq!(route("GET", "/nope").unwrap_err().status, 404);
        assert_eq!(
            route("GET", "/v1/projects/demo/sessions/..%2F..")
                .unwrap_err()
                .status,
            404
        );
        assert_eq!(
            route("GET", "/v1/projects/demo/sessions/s_12345678/chunks/-1")
                .unwrap_err()
                .status,
            404
        );
        assert_eq!(
            route("GET", "/v1/projects/demo/sessions/s_12345678/chunks/+1")
                .unwrap_err()
                .status,
            404
        );
        assert_eq!(route("POST", "/v1/ingest/de%00mo").unwrap_err().status, 401);
        assert_eq!(route("POST", "/v1/ingest/..").unwrap_err().status, 401);
        assert_eq!(
            route("GET", "/v1/projects/a.b/sessions")
                .unwrap_err()
                .status,
            401
        );
    }

    #[test]
    fn time_ranges_end_at_most_a_day_past_now() {
        let now = 1_795_392_000_000;
        let code = |r: Result<(u64, u64), ApiError>| r.unwrap_err().code;
        assert_eq!(
            time_range(None, None, now, now),
            Ok((now - 7 * DAY_MS, now))
        );
        assert_eq!(
            time_range(Some("5"), Some(&(now + DAY_MS).to_string()), now, now),
            Err(ApiError::new(
                ErrorCode::InvalidRange,
                "from..to must be ordered and span at most 400 days"
            ))
        );
        let day_later = (now + DAY_MS).to_string();
        assert_eq!(
            time_range(Some(&now.to_string()), Some(&day_later), now, now),
            Ok((now, now + DAY_MS))
        );
        // The hostile tester's range: refused, never looped over.
        for to in ["18446744073709551615", &(now + DAY_MS + 1).to_string()] {
            assert_eq!(
                code(time_range(None, Some(to), now, now)),
                "invalid_range",
                "{to}"
            );
            assert_eq!(
                code(time_range(Some(&now.to_string()), Some(to), now, now)),
                "invalid_range"
            );
        }
        for bad in ["-1", "1e3", "x", "18446744073709551616"] {
            assert_eq!(code(time_range(Some(bad), None, now, now)), "invalid_range");
            assert_eq!(code(time_range(None, Some(bad), now, now)), "invalid_range");
        }
        assert_eq!(
            code(time_range(Some("9"), Some("8"), now, now)),
            "invalid_range"
        );
        // A now near the end of time does not overflow.
        assert_eq!(
            time_range(None, Some("18446744073709551615"), 0, u64::MAX),
            Ok((u64::MAX - 7 * DAY_MS, u64::MAX))
        );
    }
}
