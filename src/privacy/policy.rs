//! The project masking policy (`masking` in the project config) and its validation.
//!
//! ```json
//! "masking": {
//!   "record": { "forms": false, "numbers": false, "emails": false, "ips": false, "canvas": false,
//!               "text": true, "network_bodies": false, "network_headers": false },
//!   "rules": [
//!     { "selector": ".product-title, .price", "action": "unmask" },
//!     { "selector": "#account .address", "action": "mask" },
//!     { "selector": "[data-widget=chat]", "action": "exclude" }
//!   ],
//!   "sensitive_keys": ["customer_ref"],
//!   "url_query_allowlist": ["variant", "pk_*"]
//! }
//! ```
//! Every field is optional; `{}` (or no `masking` at all) is the privacy-first default.
//! See docs/PRIVACY.md for the semantics.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::detect::Detect;
use super::selector::{self, Complex, Matcher};

/// Most rules a project may have (like Smartlook).
pub const MAX_RULES: usize = 20;
/// Longest selector accepted.
pub const MAX_SELECTOR_LEN: usize = 512;
/// Most extra sensitive keys.
pub const MAX_SENSITIVE_KEYS: usize = 64;
/// Most entries a project may add to the URL query allowlist.
pub const MAX_QUERY_ALLOWLIST: usize = 64;
/// Longest query key (or key prefix) a project may allow.
pub const MAX_QUERY_KEY_LEN: usize = 64;

/// A project's masking policy. `Default` is privacy-first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MaskPolicy {
    /// Categories the project chose to record in clear (all `false` by default).
    pub record: Record,
    /// Up to [`MAX_RULES`] selector rules, applied in addition to the client markers.
    pub rules: Vec<Rule>,
    /// Extra key names (query parameters, custom event properties) whose values are masked,
    /// on top of the built-in denylist. Matched case-insensitively as substrings after
    /// removing `_`, `-` and `.`.
    pub sensitive_keys: Vec<String>,
    /// URL query (and fragment) parameter names whose values are kept (through the
    /// detectors), on top of the built-in allowlist ([`super::url::QUERY_ALLOWLIST`]); every
    /// other parameter's value is masked. Matched case-insensitively; a trailing `*` makes
    /// an entry a prefix (`"pk_*"`). Sensitive keys are masked whatever this says.
    pub url_query_allowlist: Vec<String>,
}

/// What the project opted to record unmasked. Passwords and other secret inputs, payment
/// cards, IBANs, phone numbers and credentials are masked whatever is set here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Record {
    /// Form values (input, textarea, select) other than secret inputs.
    pub forms: bool,
    /// Digits in text.
    pub numbers: bool,
    /// Email addresses in text.
    pub emails: bool,
    /// IPv4/IPv6 addresses in text.
    pub ips: bool,
    /// Canvas pixels (`rr_dataURL` on canvas, canvas mutations, canvas assets) outside masked
    /// or blocked areas.
    pub canvas: bool,
    /// Page text: text nodes, comments and text-bearing attributes (`alt`, `title`,
    /// `aria-label`, `placeholder`, `value`, …). `true` (the default) runs them through the
    /// detectors; `false` (Sentry's mask-all-text) stars them all, whitespace kept, outside
    /// `unmask` rules — and form values with them, whatever `forms` says.
    pub text: bool,
    /// Network plugin request and response bodies (dropped for a marker by default; when
    /// recorded, masked by key and by the detectors).
    pub network_bodies: bool,
    /// Network plugin headers beyond the safe list (secret headers stay masked).
    pub network_headers: bool,
}

impl Default for Record {
    /// Privacy-first: nothing is recorded in clear; text goes through the detectors.
    fn default() -> Self {
        Record {
            forms: false,
            numbers: false,
            emails: false,
            ips: false,
            canvas: false,
            text: true,
            network_bodies: false,
            network_headers: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub selector: String,
    pub action: Action,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Text and form values in the subtree become `*`.
    Mask,
    /// Lets text and form values through the privacy-first default (never secrets, never
    /// inside masked or blocked areas; structured detectors still apply).
    Unmask,
    /// Block: the element becomes an empty placeholder of the same size.
    Exclude,
}

/// One problem found in a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyError {
    /// JSON path of the offending value, e.g. `rules[3].selector`.
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl MaskPolicy {
    /// Check limits and selector syntax. The glue calls this when a project config is
    /// saved or loaded; `mask_events` never fails, it falls back to stricter masking.
    pub fn validate(&self) -> Result<(), Vec<PolicyError>> {
        let mut errs = Vec::new();
        if self.rules.len() > MAX_RULES {
            errs.push(PolicyError {
                path: "rules".into(),
                message: format!("at most {MAX_RULES} rules, got {}", self.rules.len()),
            });
        }
        for (i, r) in self.rules.iter().enumerate() {
            if r.selector.len() > MAX_SELECTOR_LEN {
                errs.push(PolicyError {
                    path: format!("rules[{i}].selector"),
                    message: format!("longer than {MAX_SELECTOR_LEN} characters"),
                });
                continue;
            }
            if let Err(e) = selector::parse(&r.selector) {
                errs.push(PolicyError {
                    path: format!("rules[{i}].selector"),
                    message: e.to_string(),
                });
            }
        }
        if errs.is_empty() {
            if let Compiled {
                strict: true,
                error: Some(e),
                ..
            } = Compiled::new(self)
            {
                errs.push(PolicyError {
                    path: "rules".into(),
                    message: e,
                });
            }
        }
        if self.sensitive_keys.len() > MAX_SENSITIVE_KEYS {
            errs.push(PolicyError {
                path: "sensitive_keys".into(),
                message: format!("at most {MAX_SENSITIVE_KEYS} keys"),
            });
        }
        for (i, k) in self.sensitive_keys.iter().enumerate() {
            if normalize_key(k).len() < 3 {
                errs.push(PolicyError {
                    path: format!("sensitive_keys[{i}]"),
                    message: "keys need at least 3 letters or digits".into(),
                });
            }
        }
        if self.url_query_allowlist.len() > MAX_QUERY_ALLOWLIST {
            errs.push(PolicyError {
                path: "url_query_allowlist".into(),
                message: format!("at most {MAX_QUERY_ALLOWLIST} keys"),
            });
        }
        for (i, k) in self.url_query_allowlist.iter().enumerate() {
            if let Err(message) = check_allowed_query_key(k, &self.sensitive_keys) {
                errs.push(PolicyError {
                    path: format!("url_query_allowlist[{i}]"),
                    message,
                });
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs)
        }
    }

    /// Parse and validate the `masking` object of a project config. Unknown fields are
    /// reported (a typo like `"fomrs"` would otherwise be silently ignored).
    pub fn from_json(v: &Value) -> Result<MaskPolicy, Vec<PolicyError>> {
        let mut errs = Vec::new();
        if let Some(obj) = v.as_object() {
            // The known names are the structs' own fields: an option added to `MaskPolicy` or
            // `Record` is accepted here without a second list to keep in step.
            let top = field_names(&MaskPolicy::default());
            for k in obj.keys() {
                if !top.contains(k) {
                    errs.push(PolicyError {
                        path: k.clone(),
                        message: format!("unknown field (known: {})", top.join(", ")),
                    });
                }
            }
            if let Some(rec) = obj.get("record").and_then(Value::as_object) {
                let known = field_names(&Record::default());
                for k in rec.keys() {
                    if !known.contains(k) {
                        errs.push(PolicyError {
                            path: format!("record.{k}"),
                            message: format!("unknown field (known: {})", known.join(", ")),
                        });
                    }
                }
            }
        } else if !v.is_null() {
            errs.push(PolicyError {
                path: String::new(),
                message: "masking must be an object".into(),
            });
        }
        let policy: MaskPolicy = match serde_json::from_value(v.clone()) {
            Ok(p) => p,
            Err(e) => {
                errs.push(PolicyError {
                    path: String::new(),
                    message: e.to_string(),
                });
                return Err(errs);
            }
        };
        if let Err(mut e) = policy.validate() {
            errs.append(&mut e);
        }
        if errs.is_empty() {
            Ok(policy)
        } else {
            Err(errs)
        }
    }
}

/// One `url_query_allowlist` entry: a parameter name as it appears in URLs (letters, digits,
/// `_ - . [ ]`), optionally ending in `*` (a prefix of at least 2 characters), that names no
/// sensitive key (those are masked whatever the allowlist says: allowing one is a mistake).
fn check_allowed_query_key(k: &str, extra_sensitive: &[String]) -> Result<(), String> {
    let name = k.strip_suffix('*').unwrap_or(k);
    if name.is_empty() || k.len() > MAX_QUERY_KEY_LEN {
        return Err(format!("keys are 1..={MAX_QUERY_KEY_LEN} characters"));
    }
    if k.ends_with('*') && name.len() < 2 {
        return Err("a prefix (`name*`) needs at least 2 characters".into());
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'[' | b']'))
    {
        return Err("letters, digits, `_ - . [ ]` only, with an optional `*` at the end".into());
    }
    if is_sensitive_key(name, extra_sensitive) {
        return Err(format!(
            "{name:?} is a sensitive key: its values are always masked"
        ));
    }
    Ok(())
}

/// The JSON field names of a struct (as serialized, so serde renames are honoured).
fn field_names<T: Serialize>(v: &T) -> Vec<String> {
    match serde_json::to_value(v) {
        Ok(Value::Object(m)) => m.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// Lowercase, with `_`, `-`, `.` and spaces removed.
pub fn normalize_key(k: &str) -> String {
    k.chars()
        .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Built-in denylist, matched as substrings of the normalized key.
const SENSITIVE_SUBSTR: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "auth",
    "apikey",
    "accesskey",
    "privatekey",
    "session",
    "cookie",
    "email",
    "mail",
    "ssn",
    "socialsecurity",
    "creditcard",
    "card",
    "cvv",
    "cvc",
    "iban",
    "phone",
    "mobile",
    "signature",
    "credential",
    "bearer",
    // Anti-forgery tokens (`csrf_token`, `X-XSRF-TOKEN`, `csrfmiddlewaretoken`).
    "csrf",
    "xsrf",
    "jwt",
    "birth",
    "passport",
    "ccnum",
    "ccexp",
    "cccsc",
    "taxid",
    "address",
    "postcode",
    "zipcode",
];
/// Built-in denylist, matched against the whole normalized key.
const SENSITIVE_EXACT: &[&str] = &[
    "pwd",
    "pass",
    "pw",
    "sid",
    "pin",
    "otp",
    "tel",
    "key",
    "sig",
    "code",
    "ip",
    "dob",
    "zip",
    "name",
    "firstname",
    "lastname",
    "fullname",
    "surname",
    "username",
    "user",
    "login",
];

/// Is this key (URL query parameter, JSON property, `data-*` attribute) sensitive?
pub fn is_sensitive_key(key: &str, extra: &[String]) -> bool {
    let k = normalize_key(key);
    if k.is_empty() {
        return false;
    }
    SENSITIVE_EXACT.contains(&k.as_str())
        || SENSITIVE_SUBSTR.iter().any(|s| k.contains(s))
        || extra.iter().any(|e| {
            let e = normalize_key(e);
            e.len() >= 3 && k.contains(&e)
        })
}

/// The policy prepared for one `mask_events` call.
pub(crate) struct Compiled {
    pub record: Record,
    pub matcher: Matcher<Action>,
    pub extra_keys: Vec<String>,
    /// The project's additions to the URL query allowlist.
    pub url_allow: Vec<String>,
    /// A rule could not be applied: mask all text (fail safe), ignore unmask rules.
    pub strict: bool,
    pub error: Option<String>,
}

impl Compiled {
    pub fn new(p: &MaskPolicy) -> Compiled {
        let mut items: Vec<(Complex, Action)> = Vec::new();
        let mut strict = false;
        let mut error = None;
        for r in &p.rules {
            match selector::parse(&r.selector) {
                Ok(list) if r.selector.len() <= MAX_SELECTOR_LEN => {
                    items.extend(list.into_iter().map(|c| (c, r.action)))
                }
                Ok(_) | Err(_) => {
                    if r.action != Action::Unmask {
                        strict = true;
                        error = Some(format!("invalid selector {:?}", r.selector));
                    }
                }
            }
        }
        if strict {
            items.retain(|(_, a)| *a != Action::Unmask);
        }
        let matcher = match Matcher::new(items.clone()) {
            Ok(m) => m,
            Err(e) => {
                strict = true;
                error = Some(e);
                // Keep what fits, without unmask rules.
                items.retain(|(_, a)| *a != Action::Unmask);
                let mut kept = Vec::new();
                for it in items {
                    kept.push(it);
                    if Matcher::new(kept.clone()).is_err() {
                        kept.pop();
                    }
                }
                Matcher::new(kept).unwrap_or_else(|_| Matcher::empty())
            }
        };
        Compiled {
            record: p.record,
            matcher,
            extra_keys: p.sensitive_keys.clone(),
            url_allow: p.url_query_allowlist.clone(),
            strict,
            error,
        }
    }

    /// Detectors for ordinary text; `unmasked` is true inside `unmask` rules.
    pub fn detect(&self, unmasked: bool) -> Detect {
        Detect {
            emails: !(unmasked || self.record.emails),
            ips: !(unmasked || self.record.ips),
            numbers: !(unmasked || self.record.numbers),
            entropy: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn default_is_privacy_first() {
        let p: MaskPolicy = serde_json::from_value(json!({})).unwrap();
        assert_eq!(p, MaskPolicy::default());
        assert!(
            !p.record.forms
                && !p.record.numbers
                && !p.record.emails
                && !p.record.ips
                && !p.record.canvas
        );
        // Text is recorded through the detectors unless the project turns it off.
        assert!(p.record.text);
        assert!(p.validate().is_ok());
    }

    #[test]
    fn parses_operator_json() {
        let p = MaskPolicy::from_json(&json!({
            "record": {"numbers": true, "emails": true},
            "rules": [{"selector": ".price", "action": "unmask"}, {"selector": "#chat", "action": "exclude"}],
            "sensitive_keys": ["customer_ref"]
        }))
        .unwrap();
        assert!(p.record.numbers && p.record.emails && !p.record.forms);
        assert_eq!(p.rules[1].action, Action::Exclude);
    }

    #[test]
    fn reports_errors_cleanly() {
        let e = MaskPolicy::from_json(&json!({
            "record": {"fomrs": true},
            "rules": [{"selector": "a:hover", "action": "mask"}],
            "colour": 1
        }))
        .unwrap_err();
        let paths: Vec<_> = e.iter().map(|e| e.path.as_str()).collect();
        assert!(paths.contains(&"record.fomrs"), "{e:?}");
        assert!(paths.contains(&"rules[0].selector"), "{e:?}");
        assert!(paths.contains(&"colour"), "{e:?}");
        let e = MaskPolicy::from_json(&json!({"rules": [{"selector": "a", "action": "hide"}]}))
            .unwrap_err();
        assert_eq!(e.len(), 1);
        let many: Vec<_> = (0..21)
            .map(|i| json!({"selector": format!(".c{i}"), "action": "mask"}))
            .collect();
        let e = MaskPolicy::from_json(&json!({ "rules": many })).unwrap_err();
        assert_eq!(e[0].path, "rules");
    }

    #[test]
    fn invalid_mask_rule_is_strict() {
        let p = MaskPolicy {
            rules: vec![
                Rule {
                    selector: "a:hover".into(),
                    action: Action::Mask,
                },
                Rule {
                    selector: ".ok".into(),
                    action: Action::Unmask,
                },
            ],
            ..Default::default()
        };
        let c = Compiled::new(&p);
        assert!(c.strict);
        assert!(c.matcher.is_empty());
        // An invalid unmask rule is merely skipped.
        let p = MaskPolicy {
            rules: vec![Rule {
                selector: "a:hover".into(),
                action: Action::Unmask,
            }],
            ..Default::default()
        };
        assert!(!Compiled::new(&p).strict);
    }

    #[test]
    fn sensitive_keys() {
        for k in [
            "password",
            "user_password",
            "api_key",
            "apiKey",
            "X-Auth-Token",
            "sid",
            "session_id",
            "email",
            "cc_number",
            "card",
            "Cookie",
            "access_token",
        ] {
            assert!(is_sensitive_key(k, &[]), "{k}");
        }
        for k in [
            "page",
            "utm_source",
            "q",
            "lang",
            "step",
            "sort",
            "color",
            "consider",
        ] {
            assert!(!is_sensitive_key(k, &[]), "{k}");
        }
        assert!(is_sensitive_key("customerRef", &["customer_ref".into()]));
    }
}
