//! Live script in recordings, neutralized at ingest.
//!
//! A stored snapshot is replayed in a viewer. Script in it must never run there, whatever the
//! replayer (rrweb's `UNSAFE_replayCanvas` lifts the iframe sandbox), so the walk removes it
//! before storage while keeping the node structure, so that the replay still renders:
//! - text inside `<script>` becomes [`SCRIPT_PLACEHOLDER`], the form rrweb's own recorder
//!   writes (rrweb-snapshot `serializeTextNode`); a text change of a script node likewise;
//! - a `<script>` element's `src` is removed (rrweb's replay turns scripts into `noscript`,
//!   so nothing is lost);
//! - event-handler attributes (`on*`, any case, any namespace prefix) are removed;
//! - `srcdoc` is removed (same-origin iframe content is recorded as a child document);
//! - any attribute whose value is a URL a browser would run as script — `javascript:`,
//!   `vbscript:`, or a `data:` document type (HTML, XHTML, XML, SVG outside image contexts,
//!   JavaScript) — is replaced by [`NEUTRAL_URL`]. The scheme is read as browsers read it:
//!   ASCII case-insensitive, with tabs, newlines, C0 controls and spaces removed, and HTML
//!   character references (`&#58;`, `&#x3A;`, `&colon;`, `&Tab;`, `&NewLine;`) decoded, so an
//!   escaped scheme that a replayer writing markup would decode is caught as well. Every
//!   attribute is checked, not only known URL attributes: SVG `<set to>`/`<animate from by>`
//!   can carry a `javascript:` href, and an `<animate values>` list is checked item by item
//!   (`values="#a;javascript:…"`). `data:image/svg+xml` is an image only where the element
//!   renders it as one ([`IMAGE_CONTEXTS`]); `<use href>` is not among them (the referenced
//!   document is cloned into the page);
//! - a refresh `<meta>` loses its `http-equiv` (it would navigate the replay's frame), and a
//!   `content` whose refresh URL runs script (`0;url=data:text/html,…`) is replaced too.
//!
//! The rules are data ([`DANGEROUS_SCHEMES`], [`DOCUMENT_TYPES`], [`IMAGE_CONTEXTS`]); the walk
//! calls [`attr`] for every attribute and [`is_script_tag`] for elements.

/// rrweb's placeholder for script text.
pub const SCRIPT_PLACEHOLDER: &str = "SCRIPT_PLACEHOLDER";

/// What replaces a URL that would run script.
pub const NEUTRAL_URL: &str = "about:blank#blocked";

/// Schemes that run script when navigated to or loaded.
pub const DANGEROUS_SCHEMES: &[&str] = &["javascript", "vbscript", "livescript", "mocha"];

/// `data:` media types that make a document that can run script.
pub const DOCUMENT_TYPES: &[&str] = &[
    "text/html",
    "application/xhtml+xml",
    "application/xml",
    "text/xml",
    "image/svg+xml",
    "text/javascript",
    "application/javascript",
    "application/ecmascript",
    "text/ecmascript",
    "application/x-javascript",
    "text/vbscript",
];

/// (tag, attribute) pairs where a `data:image/svg+xml` URL is an image (scripts in it never
/// run); elsewhere (iframe, object, embed, links) it is a document. `""` = any tag.
pub const IMAGE_CONTEXTS: &[(&str, &str)] = &[
    ("img", "src"),
    ("img", "srcset"),
    ("source", "srcset"),
    ("source", "src"),
    ("input", "src"),
    ("image", "href"),
    ("image", "xlink:href"),
    ("feimage", "href"),
    ("feimage", "xlink:href"),
    ("link", "href"),
    ("video", "poster"),
    ("", "rr_dataurl"),
    ("", "background"),
];

/// What to do with one attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Keep,
    Remove,
    Replace(&'static str),
}

/// `<script>` (HTML or SVG), by its tag name (any case).
pub fn is_script_tag(tag: &str) -> bool {
    tag.eq_ignore_ascii_case("script")
}

/// An event-handler attribute: the local name (after any `prefix:`), trimmed, starts with
/// `on` in any case.
pub fn is_handler(name: &str) -> bool {
    let n = name.trim_matches(|c: char| c.is_ascii_whitespace() || c == '/');
    let local = n.rsplit(':').next().unwrap_or(n);
    local.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("on"))
}

/// The verdict for attribute `name` = `value` on element `tag` (`""` when the tag is unknown,
/// as in attribute mutations); `script` when the element is known to be a `<script>`.
pub fn attr(tag: &str, name: &str, value: Option<&str>, script: bool) -> Verdict {
    if is_handler(name) {
        return Verdict::Remove;
    }
    let key = name.trim().to_ascii_lowercase();
    if key == "srcdoc" {
        return Verdict::Remove;
    }
    if script && matches!(key.as_str(), "src" | "href" | "xlink:href") {
        return Verdict::Remove;
    }
    let Some(v) = value else {
        return Verdict::Keep;
    };
    if key == "http-equiv" && decode_refs(v).trim().eq_ignore_ascii_case("refresh") {
        // A refresh `<meta>` navigates the replay's frame to its URL; without its
        // `http-equiv` the element is inert, whatever `content` holds now or later.
        return Verdict::Remove;
    }
    let live = match key.as_str() {
        // SVG animation values: a `;`-separated list, each item set on the target in turn.
        "values" => decode_refs(v)
            .split(';')
            .any(|item| runs_script(tag, &key, item)),
        // A refresh's `content` (`0;url=…`), on a meta or an element not known.
        "content" if tag.is_empty() || tag.eq_ignore_ascii_case("meta") => {
            runs_script(tag, &key, &refresh_url(&decode_refs(v)))
        }
        _ => runs_script(tag, &key, v),
    };
    if live {
        Verdict::Replace(NEUTRAL_URL)
    } else {
        Verdict::Keep
    }
}

/// The URL of a refresh's `content` as browsers read it (HTML's "shared declarative refresh
/// steps"): a time of digits and dots, a `;` or `,`, then the URL, after an optional `url=`,
/// with an optional quote. Anything else is returned as it is, to be read as a URL itself.
fn refresh_url(content: &str) -> String {
    let t = content
        .trim_start_matches(|c: char| c.is_ascii_whitespace() || c.is_ascii_digit() || c == '.');
    let t = t.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let t = t.strip_prefix([';', ',']).unwrap_or(t);
    let t = t.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let t = match t.get(..3) {
        Some(p) if p.eq_ignore_ascii_case("url") => {
            let r = t[3..].trim_start_matches(|c: char| c.is_ascii_whitespace());
            match r.strip_prefix('=') {
                Some(r) => r.trim_start_matches(|c: char| c.is_ascii_whitespace()),
                None => t,
            }
        }
        _ => t,
    };
    t.trim_start_matches(['"', '\'']).to_string()
}

/// True when a browser would run `value` as script if it were the URL of attribute `key` on
/// element `tag`.
pub fn runs_script(tag: &str, key: &str, value: &str) -> bool {
    // Cheap exit: no scheme separator, not even an encoded one.
    if !value.contains(':') && !value.contains('&') {
        return false;
    }
    let norm = normalize(value);
    let Some(colon) = norm.find(':') else {
        return false;
    };
    let scheme = &norm[..colon];
    if !scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return false;
    }
    if DANGEROUS_SCHEMES.contains(&scheme) {
        return true;
    }
    if scheme != "data" {
        return false;
    }
    // data:[<media type>][;params][;base64],<data>
    let rest = &norm[colon + 1..];
    let end = rest.find([',', ';']).unwrap_or(rest.len());
    let media = &rest[..end];
    if !DOCUMENT_TYPES.contains(&media) {
        return false;
    }
    if media == "image/svg+xml" {
        let tag = tag.to_ascii_lowercase();
        let image = IMAGE_CONTEXTS
            .iter()
            .any(|&(t, a)| a == key && (t.is_empty() || t == tag));
        return !image;
    }
    true
}

/// Lowercase, with HTML character references decoded and every whitespace and control
/// character removed (browsers strip them from schemes), up to the first `,` (enough to read
/// a scheme and a data media type).
fn normalize(value: &str) -> String {
    let decoded = decode_refs(value);
    let mut out = String::with_capacity(decoded.len().min(128));
    for c in decoded.chars() {
        if c == ',' {
            out.push(c);
            break;
        }
        if c.is_whitespace() || c.is_control() || c == '\u{feff}' {
            continue;
        }
        out.push(c.to_ascii_lowercase());
        if out.len() > 256 {
            break;
        }
    }
    out
}

/// Decode numeric character references and the few named ones that matter for schemes.
fn decode_refs(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('&') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find('&') {
        out.push_str(&rest[..p]);
        rest = &rest[p + 1..];
        if let Some((c, used)) = char_ref(rest) {
            out.push(c);
            rest = &rest[used..];
        } else {
            out.push('&');
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// One reference after `&`: the character and the bytes it used (`;` optional, as browsers
/// accept in attribute values for numeric references).
fn char_ref(s: &str) -> Option<(char, usize)> {
    const NAMED: &[(&str, char)] = &[
        ("colon", ':'),
        ("tab", '\t'),
        ("newline", '\n'),
        ("nbsp", ' '),
        ("lpar", '('),
        ("rpar", ')'),
        ("sol", '/'),
        ("comma", ','),
        ("period", '.'),
        ("plus", '+'),
    ];
    if let Some(num) = s.strip_prefix('#') {
        let (hex, digits) = match num.strip_prefix(['x', 'X']) {
            Some(h) => (true, h),
            None => (false, num),
        };
        let len = digits
            .find(|c: char| {
                !(if hex {
                    c.is_ascii_hexdigit()
                } else {
                    c.is_ascii_digit()
                })
            })
            .unwrap_or(digits.len());
        if len == 0 || len > 8 {
            return None;
        }
        let n = u32::from_str_radix(&digits[..len], if hex { 16 } else { 10 }).ok()?;
        let c = char::from_u32(n).unwrap_or('\u{fffd}');
        let mut used = 1 + usize::from(hex) + len;
        if s[used..].starts_with(';') {
            used += 1;
        }
        return Some((c, used));
    }
    for &(name, c) in NAMED {
        // Bytes, not `&s[..n]`: `n` need not fall on a char boundary of `s`.
        let b = s.as_bytes();
        if b.len() > name.len()
            && b[..name.len()].eq_ignore_ascii_case(name.as_bytes())
            && b[name.len()] == b';'
        {
            return Some((c, name.len() + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_reference_cut_by_a_multibyte_char_is_kept_as_text() {
        // "nbsp" would end inside the 3-byte U+FFFD: no reference, and no panic.
        assert_eq!(decode_refs("&nbs\u{fffd};x"), "&nbs\u{fffd};x");
        assert_eq!(decode_refs("&col\u{e9}n;"), "&col\u{e9}n;");
        assert!(!runs_script(
            "a",
            "href",
            "java&nbs\u{fffd};script:alert(1)"
        ));
        assert_eq!(decode_refs("&colon;"), ":");
    }

    #[test]
    fn schemes_as_browsers_read_them() {
        for v in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "  javascript:alert(1)",
            "java\tscript:alert(1)",
            "java\nscript:alert(1)",
            "\u{0}javascript:alert(1)",
            "javascript&#58;alert(1)",
            "javascript&#x3A;alert(1)",
            "javascript&colon;alert(1)",
            "&#106;avascript:alert(1)",
            "&#x6A&#x61vascript:alert(1)",
            "java&Tab;script:alert(1)",
            "vbscript:msgbox(1)",
            "data:text/html,<script>alert(1)</script>",
            "DATA:TEXT/HTML;base64,PHNjcmlwdD4=",
            "data:application/xhtml+xml,<x/>",
        ] {
            assert!(runs_script("a", "href", v), "{v:?}");
        }
        for v in [
            "https://shop.example/x?javascript:1",
            "/javascript:alert",
            "java%73cript:alert(1)",
            "#javascript:",
            "data:image/png;base64,iVBOR",
            "data:text/plain,hello",
            "mailto:a@b.example",
            "",
            "about:blank",
        ] {
            assert!(!runs_script("a", "href", v), "{v:?}");
        }
        let svg = "data:image/svg+xml,<svg onload=alert(1)>";
        assert!(runs_script("iframe", "src", svg));
        assert!(runs_script("object", "data", svg));
        assert!(
            !runs_script("img", "src", svg),
            "an image never runs script"
        );
        assert!(!runs_script("IMG", "src", svg));
    }

    #[test]
    fn handler_attributes_in_any_case_and_prefix() {
        for n in ["onerror", "ONLOAD", "onClick", "xlink:onload", " onfocus"] {
            assert_eq!(attr("img", n, Some("x"), false), Verdict::Remove, "{n}");
        }
        for n in ["one", "class", "_onload", "data-on", "content"] {
            // `one` starts with "on": removed too — no standard attribute does, and an
            // unknown one costs nothing to lose.
            let want = if n == "one" {
                Verdict::Remove
            } else {
                Verdict::Keep
            };
            assert_eq!(attr("div", n, Some("x"), false), want, "{n}");
        }
    }

    #[test]
    fn animation_lists_refresh_metas_and_svg_use() {
        let n = Verdict::Replace(NEUTRAL_URL);
        for v in [
            "#a;javascript:alert(1)",
            "#a ; java\tscript:x",
            "#a&#59;javascript:x",
        ] {
            assert_eq!(attr("animate", "values", Some(v), false), n, "{v:?}");
            assert_eq!(attr("", "values", Some(v), false), n, "{v:?}");
        }
        assert_eq!(
            attr("animate", "values", Some("red;#0f0;blue"), false),
            Verdict::Keep
        );
        assert_eq!(
            attr("meta", "http-equiv", Some(" REFRESH"), false),
            Verdict::Remove
        );
        assert_eq!(
            attr("", "http-equiv", Some("refresh"), false),
            Verdict::Remove
        );
        assert_eq!(
            attr("meta", "http-equiv", Some("content-type"), false),
            Verdict::Keep
        );
        for c in [
            "0;url=data:text/html,<script>x</script>",
            "0; URL = 'javascript:x'",
            "5,data:text/html;base64,PHNjcmlwdD4=",
            "0;url=\"data:image/svg+xml,<svg onload=x>\"",
        ] {
            assert_eq!(attr("meta", "content", Some(c), false), n, "{c:?}");
            assert_eq!(attr("", "content", Some(c), false), n, "{c:?}");
        }
        for c in [
            "0;url=/next",
            "width=device-width",
            "text/html; charset=utf-8",
        ] {
            assert_eq!(
                attr("meta", "content", Some(c), false),
                Verdict::Keep,
                "{c:?}"
            );
        }
        assert_eq!(refresh_url(" 1.5 ; url= \"/a\""), "/a\"");
        assert_eq!(refresh_url("0;urlx"), "urlx");
        assert_eq!(refresh_url(""), "");
        let doc = "data:image/svg+xml,<svg><script>x</script></svg>#a";
        assert_eq!(attr("use", "href", Some(doc), false), n);
        assert_eq!(attr("use", "xlink:href", Some(doc), false), n);
        assert_eq!(attr("image", "href", Some(doc), false), Verdict::Keep);
    }

    #[test]
    fn srcdoc_and_script_src() {
        assert_eq!(
            attr("iframe", "srcdoc", Some("<script>x</script>"), false),
            Verdict::Remove
        );
        assert_eq!(attr("", "SRCDOC", Some(""), false), Verdict::Remove);
        assert_eq!(
            attr("script", "src", Some("https://evil.example/x.js"), true),
            Verdict::Remove
        );
        assert_eq!(
            attr("img", "src", Some("https://shop.example/x.png"), false),
            Verdict::Keep
        );
        assert_eq!(
            attr("set", "to", Some("javascript:alert(1)"), false),
            Verdict::Replace(NEUTRAL_URL)
        );
        assert!(is_script_tag("SCRIPT") && !is_script_tag("noscript"));
    }
}
