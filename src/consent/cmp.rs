//! Consent-management-platform cookies: Cookiebot `CookieConsent` and OneTrust
//! `OptanonConsent`. Both parsers are strict about structure (a value they cannot read is an
//! error, which the policy treats as "no consent"), bounded, and never panic.

use std::fmt;

use serde::Serialize;

use super::cookies::percent_decode;

/// Longer CMP cookie values are rejected (browsers cap a cookie at 4096 bytes).
pub const MAX_CMP_COOKIE_LEN: usize = 4096;
/// At most this many OneTrust groups / Cookiebot keys are read.
const MAX_ENTRIES: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmpError {
    Empty,
    TooLong {
        len: usize,
    },
    /// The value does not have the expected structure; the text says where.
    Malformed(&'static str),
}

impl fmt::Display for CmpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CmpError::Empty => write!(f, "empty consent cookie"),
            CmpError::TooLong { len } => write!(f, "consent cookie too long ({len} bytes)"),
            CmpError::Malformed(what) => write!(f, "malformed consent cookie: {what}"),
        }
    }
}

impl std::error::Error for CmpError {}

fn check_len(value: &str) -> Result<&str, CmpError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(CmpError::Empty);
    }
    if v.len() > MAX_CMP_COOKIE_LEN {
        return Err(CmpError::TooLong { len: v.len() });
    }
    Ok(v)
}

// ---------------------------------------------------------------------------------------
// Cookiebot
// ---------------------------------------------------------------------------------------

/// Cookiebot's `CookieConsent` cookie: a URL-encoded JavaScript object literal such as
/// `{stamp:'…',necessary:true,preferences:false,statistics:true,marketing:false,
/// method:'explicit',ver:1,utc:1700000000000,region:'de'}`, or `-1` when the visitor is
/// outside every region where the site asks for consent. Newer versions mark the
/// out-of-region case with `stamp:'-1'` (and `method:'implied'`) instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CookiebotConsent {
    pub necessary: bool,
    pub preferences: bool,
    pub statistics: bool,
    pub marketing: bool,
    /// `explicit` or `implied`, when present.
    pub method: Option<String>,
    pub region: Option<String>,
    /// Consent time, ms since the epoch, when present.
    pub utc: Option<u64>,
    /// The visitor is outside the regions where the site requires consent (`-1`).
    pub out_of_region: bool,
}

/// The four Cookiebot categories a policy may require.
pub const COOKIEBOT_CATEGORIES: [&str; 4] = ["necessary", "preferences", "statistics", "marketing"];

impl CookiebotConsent {
    pub fn parse(value: &str) -> Result<CookiebotConsent, CmpError> {
        parse_cookiebot(value)
    }

    /// The state of a category by name; `None` for an unknown name.
    pub fn category(&self, name: &str) -> Option<bool> {
        match name {
            "necessary" => Some(self.necessary),
            "preferences" => Some(self.preferences),
            "statistics" => Some(self.statistics),
            "marketing" => Some(self.marketing),
            _ => None,
        }
    }
}

fn parse_cookiebot(value: &str) -> Result<CookiebotConsent, CmpError> {
    let v = check_len(value)?;
    if v == "-1" {
        return Ok(CookiebotConsent {
            necessary: true,
            preferences: true,
            statistics: true,
            marketing: true,
            method: None,
            region: None,
            utc: None,
            out_of_region: true,
        });
    }
    let decoded = percent_decode(v, false);
    let body = decoded
        .trim()
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .ok_or(CmpError::Malformed("not an object literal"))?;
    let mut out = CookiebotConsent {
        necessary: false,
        preferences: false,
        statistics: false,
        marketing: false,
        method: None,
        region: None,
        utc: None,
        out_of_region: false,
    };
    let mut seen: Vec<&str> = Vec::new();
    let mut known = 0usize;
    for (key, val) in ObjectLiteral::new(body) {
        let (key, val) = (key?, val);
        if seen.len() >= MAX_ENTRIES {
            return Err(CmpError::Malformed("too many keys"));
        }
        if seen.contains(&key) {
            return Err(CmpError::Malformed("duplicate key"));
        }
        seen.push(key);
        let val = val.ok_or(CmpError::Malformed("missing value"))?;
        match key {
            "necessary" | "preferences" | "statistics" | "marketing" => {
                let b = match val {
                    JsValue::Bare("true") => true,
                    JsValue::Bare("false") => false,
                    _ => return Err(CmpError::Malformed("category is not a boolean")),
                };
                match key {
                    "necessary" => out.necessary = b,
                    "preferences" => out.preferences = b,
                    "statistics" => out.statistics = b,
                    _ => out.marketing = b,
                }
                known += 1;
            }
            "stamp" => {
                if val.text() == "-1" {
                    out.out_of_region = true;
                }
                known += 1;
            }
            "method" => out.method = Some(val.text().chars().take(32).collect()),
            "region" => out.region = Some(val.text().chars().take(16).collect()),
            "utc" => out.utc = val.text().parse().ok(),
            _ => {}
        }
    }
    if known == 0 {
        return Err(CmpError::Malformed("no Cookiebot fields"));
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JsValue<'a> {
    Quoted(&'a str),
    Bare(&'a str),
}

impl<'a> JsValue<'a> {
    fn text(self) -> &'a str {
        match self {
            JsValue::Quoted(s) | JsValue::Bare(s) => s,
        }
    }
}

/// Iterator over `key:value` entries of a flat JS object literal body (no nesting).
/// Quoted values (`'…'` or `"…"`) may contain commas; there are no escapes in Cookiebot's
/// values (the stamp is base64).
struct ObjectLiteral<'a> {
    rest: &'a str,
    failed: bool,
}

impl<'a> ObjectLiteral<'a> {
    fn new(body: &'a str) -> Self {
        ObjectLiteral {
            rest: body,
            failed: false,
        }
    }
}

type Entry<'a> = (Result<&'a str, CmpError>, Option<JsValue<'a>>);

impl<'a> Iterator for ObjectLiteral<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        if self.failed {
            return None;
        }
        let s = self.rest.trim_start();
        if s.is_empty() {
            return None;
        }
        let fail = |this: &mut Self, what| {
            this.failed = true;
            Some((Err(CmpError::Malformed(what)), None))
        };
        let Some((key, after)) = s.split_once(':') else {
            return fail(self, "entry without ':'");
        };
        let key = key.trim().trim_matches(|c| c == '\'' || c == '"');
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return fail(self, "bad key");
        }
        let after = after.trim_start();
        let (val, rest) = match after.as_bytes().first() {
            Some(&q @ (b'\'' | b'"')) => {
                let inner = &after[1..];
                let Some(end) = inner.find(char::from(q)) else {
                    return fail(self, "unterminated string");
                };
                (
                    JsValue::Quoted(&inner[..end]),
                    inner[end + 1..].trim_start(),
                )
            }
            _ => {
                let end = after.find(',').unwrap_or(after.len());
                let bare = after[..end].trim();
                if bare.is_empty() {
                    return fail(self, "empty value");
                }
                (JsValue::Bare(bare), &after[end..])
            }
        };
        self.rest = match rest.strip_prefix(',') {
            Some(r) => r,
            None if rest.trim().is_empty() => "",
            None => return fail(self, "junk after value"),
        };
        Some((Ok(key), Some(val)))
    }
}

// ---------------------------------------------------------------------------------------
// OneTrust
// ---------------------------------------------------------------------------------------

/// OneTrust's `OptanonConsent` cookie: a query string such as
/// `isGpcEnabled=0&datestamp=…&version=202310.1.0&browserGpcFlag=0&isIABGlobal=false&hosts=
/// &consentId=…&interactionCount=1&landingPath=NotLandingPage&groups=C0001%3A1%2CC0002%3A0
/// &geolocation=DE%3BBE&AwaitingReconsent=false`. Only `groups` is required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OneTrustConsent {
    /// `(group id, consented)` in cookie order, e.g. `("C0002", false)`.
    pub groups: Vec<(String, bool)>,
    /// OneTrust saw GPC and applied it (`isGpcEnabled=1`).
    pub gpc_enabled: bool,
    pub interaction_count: Option<u32>,
    pub awaiting_reconsent: bool,
    pub version: Option<String>,
}

impl OneTrustConsent {
    pub fn parse(value: &str) -> Result<OneTrustConsent, CmpError> {
        parse_onetrust(value)
    }

    /// The state of a group by id; `None` when the group is not in the cookie.
    pub fn group(&self, id: &str) -> Option<bool> {
        self.groups.iter().find(|(g, _)| g == id).map(|&(_, on)| on)
    }
}

fn parse_onetrust(value: &str) -> Result<OneTrustConsent, CmpError> {
    let v = check_len(value)?;
    let mut groups_raw: Option<String> = None;
    let mut out = OneTrustConsent {
        groups: Vec::new(),
        gpc_enabled: false,
        interaction_count: None,
        awaiting_reconsent: false,
        version: None,
    };
    for part in v.split('&') {
        let Some((k, raw)) = part.split_once('=') else {
            continue;
        };
        match k {
            "groups" => {
                if groups_raw.is_some() {
                    return Err(CmpError::Malformed("duplicate groups"));
                }
                groups_raw = Some(percent_decode(raw, true).into_owned());
            }
            "isGpcEnabled" => out.gpc_enabled = raw == "1",
            "interactionCount" => out.interaction_count = raw.parse().ok(),
            "AwaitingReconsent" => out.awaiting_reconsent = raw == "true",
            "version" => out.version = Some(percent_decode(raw, true).chars().take(32).collect()),
            _ => {}
        }
    }
    let groups = groups_raw.ok_or(CmpError::Malformed("no groups"))?;
    for entry in groups.split(',').filter(|e| !e.trim().is_empty()) {
        if out.groups.len() >= MAX_ENTRIES {
            return Err(CmpError::Malformed("too many groups"));
        }
        let (id, flag) = entry
            .trim()
            .split_once(':')
            .ok_or(CmpError::Malformed("group without ':'"))?;
        let valid_id = !id.is_empty()
            && id.len() <= 32
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid_id {
            return Err(CmpError::Malformed("bad group id"));
        }
        let on = match flag {
            "1" => true,
            "0" => false,
            _ => return Err(CmpError::Malformed("group flag is not 0/1")),
        };
        if out.groups.iter().any(|(g, _)| g == id) {
            return Err(CmpError::Malformed("duplicate group"));
        }
        out.groups.push((id.to_string(), on));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_literal_rejects_junk() {
        assert!(parse_cookiebot("{necessary:true x}").is_err());
        assert!(parse_cookiebot("{necessary:'true}").is_err());
        assert!(parse_cookiebot("{:true}").is_err());
        assert!(parse_cookiebot("{}").is_err());
        assert!(parse_cookiebot("necessary:true").is_err());
    }
}
