//! What the browser SDK may learn about a project (`GET /v1/config/{key}`) and the names of
//! the SDK's own files. Public and cacheable, so it carries no tokens, hashes, origins or
//! rules that would tell a stranger more than the page already shows.

use serde_json::{json, Value};

use crate::consent::cookies::ConsentCookies;
use crate::consent::ConsentMode;
use crate::project::{CorsGrant, Project, ProjectType};

/// How long browsers and CDNs may keep the config: a consent-mode change reaches visitors
/// within five minutes, and the server decides every beacon anyway.
pub const CONFIG_CACHE_CONTROL: &str = "public, max-age=300";

/// A config that read the visitor's cookies is theirs alone, and must follow an opt-out or
/// opt-in at once: browsers revalidate it every time, shared caches never keep it.
pub const CONFIG_PRIVATE_CACHE_CONTROL: &str = "private, no-cache";

/// The loader is referenced by a fixed URL in every site's page, so it cannot be immutable;
/// one hour bounds how long a fix takes to reach visitors.
pub const SDK_CACHE_CONTROL: &str = "public, max-age=3600, stale-while-revalidate=86400";

/// The SDK files the worker serves, by route name → path inside the assets directory.
pub fn asset_path(name: &str) -> Option<&'static str> {
    match name {
        "sdk.js" => Some("/sdk/sdk.js"),
        "recorder.js" => Some("/sdk/recorder.js"),
        _ => None,
    }
}

/// The public facts of a project. A disabled project says only that, so the loader can stay
/// silent without learning the rest.
pub fn public_config(p: &Project) -> Value {
    if !p.enabled {
        return json!({"enabled": false});
    }
    let c = &p.consent;
    let mode = match c.mode {
        ConsentMode::None => "none",
        ConsentMode::OptOut => "opt-out",
        ConsentMode::OptIn => "opt-in",
    };
    let kind = match p.kind {
        ProjectType::Web => "web",
        ProjectType::Mobile => "mobile",
        ProjectType::Combined => "combined",
    };
    let r = &p.masking.record;
    json!({
        "enabled": true,
        "type": kind,
        "web": p.kind != ProjectType::Mobile,
        "consent": {
            "mode": mode,
            // Under opt-out and opt-in the server always drops GPC beacons.
            "honor_gpc": c.honor_gpc || c.mode != ConsentMode::None,
            "honor_cmp_refusal": c.honor_cmp_refusal || c.mode == ConsentMode::OptIn,
            "tcf_purposes": c.tcf_purposes,
            "tcf_vendor": c.tcf_vendor,
            "cookiebot": c.cookiebot,
            "onetrust_groups": c.onetrust_groups,
            "sdk": c.sdk_keys,
        },
        "masking": {
            "record": {"forms": r.forms, "numbers": r.numbers, "emails": r.emails,
                       "ips": r.ips, "canvas": r.canvas},
        },
        "session": {
            "idle_secs": p.session.idle_secs,
            "max_secs": p.session.max_secs,
        },
    })
}

/// How the config answer may be read across origins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigCors {
    /// `Access-Control-Allow-Origin: *`: readable by any page that sent no credentials.
    Any,
    /// The request's origin with `Access-Control-Allow-Credentials: true`, so the loader's
    /// credentialed request can read it.
    Origin(String),
}

impl ConfigCors {
    /// The same rule as a CORS grant, for answers other than the config that also say the
    /// same to every caller and read no cookie (an unknown key's 401 at ingest).
    pub fn grant(&self) -> CorsGrant {
        match self {
            ConfigCors::Any => CorsGrant {
                allow_origin: "*".into(),
                credentials: false,
            },
            ConfigCors::Origin(o) => CorsGrant {
                allow_origin: o.clone(),
                credentials: true,
            },
        }
    }
}

/// `GET /v1/config/{key}` for one request: what the loader reads and how it may read it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigReply {
    pub body: Value,
    pub cors: ConfigCors,
    pub cache_control: &'static str,
}

/// Every config answer may differ by the opt-out cookie (the shell adds `Vary: Origin` to
/// every answer for the CORS echo).
pub const CONFIG_VARY: &str = "Cookie";

/// The config for a request from `origin` (its `Origin` header) carrying `cookie` (its
/// `Cookie` header). The loader asks with credentials, so that veilgate's own opt-out cookie,
/// `HttpOnly` and invisible to the page, stops it before the recorder is downloaded.
///
/// The cookie is read only where the project names the origin explicitly (the grant beacons
/// get too) or where there is no `Origin` (a same-origin request). Every other origin gets an
/// answer that does not depend on the cookie at all — the same facts any page can read
/// without credentials — echoed with credentials so the loader's one request can read it;
/// that echo therefore reveals nothing a wildcard must not. Such a site is told
/// `"credentials": false`: its beacons go without credentials (a `*` grant answers them
/// without credentials, so the SDK could not read its replies otherwise), and the worker's
/// opt-out cookie does not reach the worker from that site (docs/SDK.md).
pub fn config_reply(p: &Project, origin: Option<&str>, cookie: Option<&str>) -> ConfigReply {
    let origin = origin.map(str::trim).filter(|o| !o.is_empty());
    let grant = real_origin(origin).and_then(|o| p.cors_grant(o));
    let reads_cookie = match (origin, &grant) {
        (None, _) => true,
        (Some(_), Some(g)) => g.credentials,
        (Some(_), None) => false,
    };
    let mut body = public_config(p);
    if p.enabled {
        let opted_out = reads_cookie && cookie.is_some_and(|c| ConsentCookies::parse(c).opted_out);
        body["opted_out"] = json!(opted_out);
        body["credentials"] = json!(reads_cookie);
        if origin.is_some() && grant.is_none() {
            // Beacons from this page would be refused (403): say so rather than record.
            body["origin_allowed"] = json!(false);
        }
    }
    let private = p.enabled && reads_cookie && cookie.is_some();
    ConfigReply {
        body,
        cors: config_reply_cors(origin),
        cache_control: if private {
            CONFIG_PRIVATE_CACHE_CONTROL
        } else {
            CONFIG_CACHE_CONTROL
        },
    }
}

/// `null` names no one site: never echoed (like `Project::cors_grant`).
fn real_origin(origin: Option<&str>) -> Option<&str> {
    origin
        .map(str::trim)
        .filter(|o| !o.is_empty() && !o.eq_ignore_ascii_case("null"))
}

/// How any config answer (an error too) may be read: what it says never depends on a cookie
/// unless `config_reply` read one for an explicitly listed origin.
pub fn config_reply_cors(origin: Option<&str>) -> ConfigCors {
    match real_origin(origin) {
        Some(o) => ConfigCors::Origin(o.to_string()),
        None => ConfigCors::Any,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"{"name":"n","type":"web","allowed_origins":["https://a.example"],
        "consent":{"mode":"opt-in","tcf_purposes":[1],"cookiebot":["statistics"],
                   "onetrust_groups":["C0002"],"sdk":{"analytics_storage":"granted"}},
        "masking":{"record":{"emails":true},"rules":[{"selector":".secret","action":"mask"}]},
        "read_token_sha256":"675a90e76705a6ff238324b6782db4ab66f4aa4b34b542f5ac41ede03512b9fc",
        "audit_token_sha256":"256fbdedfed98fd779bbd5c972ad3176bb2ce4c4c0a4f587728ad3d947c1b4c9"}"#;

    #[test]
    fn carries_consent_and_masking_hints() {
        let v = public_config(&Project::from_json(FULL).unwrap());
        assert_eq!(v["enabled"], true);
        assert_eq!(v["type"], "web");
        assert_eq!(v["consent"]["mode"], "opt-in");
        assert_eq!(v["consent"]["tcf_purposes"], json!([1]));
        assert_eq!(v["consent"]["cookiebot"], json!(["statistics"]));
        assert_eq!(v["consent"]["onetrust_groups"], json!(["C0002"]));
        assert_eq!(v["consent"]["sdk"]["analytics_storage"], "granted");
        assert_eq!(v["consent"]["honor_gpc"], true);
        assert_eq!(v["masking"]["record"]["emails"], true);
        assert_eq!(v["masking"]["record"]["forms"], false);
    }

    #[test]
    fn never_carries_secrets_origins_or_rules() {
        let text = public_config(&Project::from_json(FULL).unwrap()).to_string();
        for secret in ["675a90e7", "256fbdedf", "a.example", ".secret", "\"n\""] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    }

    #[test]
    fn disabled_project_says_only_that() {
        let json = FULL.replace("\"type\":\"web\"", "\"type\":\"web\",\"enabled\":false");
        let v = public_config(&Project::from_json(&json).unwrap());
        assert_eq!(v, json!({"enabled": false}));
    }

    #[test]
    fn gpc_honored_under_none_only_when_configured() {
        let json = FULL.replace("\"mode\":\"opt-in\"", "\"mode\":\"none\"");
        let v = public_config(&Project::from_json(&json).unwrap());
        assert_eq!(v["consent"]["honor_gpc"], false);
    }

    const OUT: Option<&str> = Some("a=b; veilgate_optout=1");

    #[test]
    fn the_opt_out_cookie_answers_opted_out_for_a_listed_origin() {
        let p = Project::from_json(FULL).unwrap();
        let r = config_reply(&p, Some("https://a.example"), OUT);
        assert_eq!(r.body["opted_out"], true);
        assert_eq!(r.body["credentials"], true);
        assert_eq!(r.cors, ConfigCors::Origin("https://a.example".into()));
        assert_eq!(r.cache_control, CONFIG_PRIVATE_CACHE_CONTROL);
        let r = config_reply(&p, Some("https://a.example"), Some("veilgate_optout=0"));
        assert_eq!(r.body["opted_out"], false);
        let r = config_reply(&p, Some("https://a.example"), None);
        assert_eq!(r.body["opted_out"], false);
        assert_eq!(r.cache_control, CONFIG_CACHE_CONTROL);
        // Same-origin requests carry no Origin: the cookie is the site's own.
        let r = config_reply(&p, None, OUT);
        assert_eq!(r.body["opted_out"], true);
        assert_eq!(r.cors, ConfigCors::Any);
        assert_eq!(r.cache_control, CONFIG_PRIVATE_CACHE_CONTROL);
    }

    #[test]
    fn a_wildcard_origin_gets_an_answer_that_ignores_the_cookie() {
        let json = FULL.replace("[\"https://a.example\"]", "[\"*\"]");
        let p = Project::from_json(&json).unwrap();
        let with = config_reply(&p, Some("https://b.example"), OUT);
        let without = config_reply(&p, Some("https://b.example"), None);
        assert_eq!(with, without, "the cookie changes nothing");
        assert_eq!(with.body["opted_out"], false);
        assert_eq!(with.body["credentials"], false);
        assert!(with.body.get("origin_allowed").is_none());
        assert_eq!(with.cors, ConfigCors::Origin("https://b.example".into()));
        assert_eq!(with.cache_control, CONFIG_CACHE_CONTROL);
    }

    #[test]
    fn an_unlisted_origin_is_told_so_and_its_cookie_ignored() {
        let p = Project::from_json(FULL).unwrap();
        let r = config_reply(&p, Some("https://evil.example"), OUT);
        assert_eq!(r.body["origin_allowed"], false);
        assert_eq!(r.body["opted_out"], false);
        assert_eq!(r.body["credentials"], false);
        assert_eq!(r.cache_control, CONFIG_CACHE_CONTROL);
        let null = config_reply(&p, Some("null"), OUT);
        assert_eq!(null.cors, ConfigCors::Any, "null is never echoed");
        assert_eq!(null.body["opted_out"], false);
    }

    #[test]
    fn a_disabled_project_still_says_only_that() {
        let json = FULL.replace("\"type\":\"web\"", "\"type\":\"web\",\"enabled\":false");
        let p = Project::from_json(&json).unwrap();
        let r = config_reply(&p, Some("https://a.example"), OUT);
        assert_eq!(r.body, json!({"enabled": false}));
    }

    #[test]
    fn only_the_two_sdk_files_are_served() {
        assert_eq!(asset_path("sdk.js"), Some("/sdk/sdk.js"));
        assert_eq!(asset_path("recorder.js"), Some("/sdk/recorder.js"));
        assert_eq!(asset_path("../wrangler.toml"), None);
    }
}
