//! What the browser SDK may learn about a project (`GET /v1/config/{key}`) and the names of
//! the SDK's own files. Public and cacheable, so it carries no tokens, hashes, origins or
//! rules that would tell a stranger more than the page already shows.

use serde_json::{json, Value};

use crate::consent::ConsentMode;
use crate::project::{Project, ProjectType};

/// How long browsers and CDNs may keep the config: a consent-mode change reaches visitors
/// within five minutes, and the server decides every beacon anyway.
pub const CONFIG_CACHE_CONTROL: &str = "public, max-age=300";

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

    #[test]
    fn only_the_two_sdk_files_are_served() {
        assert_eq!(asset_path("sdk.js"), Some("/sdk/sdk.js"));
        assert_eq!(asset_path("recorder.js"), Some("/sdk/recorder.js"));
        assert_eq!(asset_path("../wrangler.toml"), None);
    }
}
