//! The free-text detectors of issue 22 (credentials whatever their entropy, password-like
//! keys, PEM private keys, user home paths, US SSNs, MAC addresses, IMEIs), each on both
//! sides of its edge, through the public `scrub` with the relaxed policy (`record.numbers:
//! false`, no emails, no IPs): these are always on.

use veilgate::privacy::detect::{scrub, Detect};

const RELAXED: Detect = Detect::STRUCTURED;

fn masked(s: &str) -> String {
    let once = scrub(s, RELAXED).into_owned();
    assert_eq!(once.chars().count(), s.chars().count(), "{s:?}");
    assert_eq!(scrub(&once, RELAXED), once, "not idempotent on {s:?}");
    assert_eq!(scrub(&once, Detect::ALL).chars().count(), s.chars().count());
    once
}

fn stars(n: usize) -> String {
    "*".repeat(n)
}

fn check(cases: &[(&str, &str)]) {
    for &(s, want) in cases {
        assert_eq!(masked(s), want, "{s:?}");
    }
}

fn clean(cases: &[&str]) {
    for &s in cases {
        assert_eq!(masked(s), s, "false positive on {s:?}");
    }
}

#[test]
fn credentials_after_an_auth_scheme_whatever_their_entropy() {
    check(&[
        ("Bearer abcDEF1234", "Bearer **********"),
        (
            "auth failed for Bearer abcDEF",
            "auth failed for Bearer ******",
        ),
        (
            "Authorization: Bearer hunter",
            "Authorization: Bearer ******",
        ),
        (
            "authorization=Basic dXNlcjpw",
            "authorization=Basic ********",
        ),
        ("Basic dXNlcjpwYXNz", "Basic ************"),
        ("Basic dXNlcg==", "Basic ********"),
        ("sent bearer abc.def.ghi ok", "sent bearer *********** ok"),
        ("Authorization: abc", "Authorization: ***"),
    ]);
    clean(&[
        "Bearer of bad news",
        "Basic plan includes support",
        "Basic JavaScript and PowerPoint skills",
        "the token is expired",
        "Bearer Bonds",
        "Token ring networks",
    ]);
}

#[test]
fn token_like_keys_in_free_text() {
    check(&[
        (
            "GET /cb?access_token=abc&x=1",
            "GET /cb?access_token=***&x=1",
        ),
        ("api_key=k1 sent", "api_key=** sent"),
        ("apikey: abc", "apikey: ***"),
        ("auth=secret", "auth=******"),
        ("x-api-key: kk", "x-api-key: **"),
        (
            "{\"accessToken\":\"abc def\"}",
            "{\"accessToken\":\"*******\"}",
        ),
        ("oauth_token='tok' rest", "oauth_token='***' rest"),
        ("csrf_token = q", "csrf_token = *"),
    ]);
    clean(&[
        "author: Jane",
        "token count 5",
        "tokens: 3 left",
        "the key: value pair",
        "auth",
        "token=",
    ]);
}

#[test]
fn password_like_keys_in_free_text() {
    check(&[
        (
            "mysql -u root mysql_pwd=s3cr3t!",
            "mysql -u root mysql_pwd=*******",
        ),
        ("passwd: hunter2", "passwd: *******"),
        ("password=hunter", "password=******"),
        ("client_secret=abc;next", "client_secret=***;next"),
        ("\"db_secret\": \"x y\"", "\"db_secret\": \"***\""),
        ("PASSWORD=x", "PASSWORD=*"),
        ("credentials: abc", "credentials: ***"),
        ("private_key=abc", "private_key=***"),
    ]);
    clean(&[
        "Forgot password?",
        "secretary: Jane",
        "passwords",
        "bypass=1",
    ]);
}

#[test]
fn pem_private_key_blocks_are_masked_whole() {
    let body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n";
    for kind in [
        "PRIVATE KEY",
        "RSA PRIVATE KEY",
        "OPENSSH PRIVATE KEY",
        "EC PRIVATE KEY",
    ] {
        let block = format!("-----BEGIN {kind}-----\n{body}-----END {kind}-----");
        let s = format!("key: {block}\nnext line");
        let m = masked(&format!("loaded {block} done"));
        assert_eq!(m, format!("loaded {} done", stars(block.len())), "{kind}");
        assert!(!masked(&s).contains("PRIVATE"), "{s}");
        // A truncated block (log line cut) is masked to the end.
        let cut = format!("x -----BEGIN {kind}-----\nabc");
        assert_eq!(masked(&cut), format!("x {}", stars(cut.len() - 2)));
    }
    // Short bodies without digits or long runs are masked too.
    assert_eq!(
        masked("-----BEGIN PRIVATE KEY-----abc-----END PRIVATE KEY-----"),
        stars(55)
    );
    clean(&[
        "-----BEGIN CERTIFICATE-----",
        "-----BEGIN PUBLIC KEY----- x -----END PUBLIC KEY-----",
        "----- section -----",
    ]);
}

#[test]
fn user_home_paths_keep_the_path_but_not_the_user() {
    check(&[
        (
            "at /Users/jane/app/main.js:10",
            "at /Users/****/app/main.js:10",
        ),
        ("open /home/jo/x", "open /home/**/x"),
        ("file:///home/jane.doe/a", "file:///home/********/a"),
        ("C:\\Users\\jane\\AppData", "C:\\Users\\****\\AppData"),
        (
            "C:\\Users\\Jane Doe\\Documents",
            "C:\\Users\\********\\Documents",
        ),
        ("C:/Users/jane/x", "C:/Users/****/x"),
        ("in (/home/al)", "in (/home/**)"),
        ("cd /home/jane", "cd /home/****"),
        ("C:\\\\Users\\\\jane\\\\x", "C:\\\\Users\\\\****\\\\x"),
    ]);
    clean(&[
        "GET /api/users/me",
        "https://shop.example/home/products",
        "/home",
        "/usersettings/x",
        "see ~/projects",
    ]);
}

#[test]
fn us_social_security_numbers_even_without_number_masking() {
    check(&[
        ("SSN 123-45-6789.", "SSN ***********."),
        ("ssn:078-05-1120", "ssn:***********"),
    ]);
    clean(&[
        "000-12-3456",
        "666-12-3456",
        "900-12-3456",
        "123-00-4567",
        "123-45-0000",
        "1123-45-6789",
        "123-45-67890",
        "2024-01-15",
        "2024-01-15T10:30:00Z",
        "v1.2.3-rc.1",
    ]);
}

#[test]
fn mac_addresses() {
    check(&[
        ("mac 00:1A:2b:3C:4d:5E up", "mac ***************** up"),
        ("aa-bb-cc-dd-ee-ff", "*****************"),
        ("(ac:de:48:00:11:22)", "(*****************)"),
    ]);
    clean(&[
        "10:30:45",
        "2024-01-15 10:30:45",
        "00:1A:2b:3C:4d",
        "00:1A:2b-3C:4d:5E",
        "#aabbcc",
        "aa:bb:cc:dd:ee:ff:00:11",
        "123e4567-e89b-12d3-a456-426614174000",
    ]);
}

#[test]
fn imeis() {
    check(&[
        ("IMEI 490154203237518", "IMEI ***************"),
        ("imei=35-209900-176148-1", "imei=******************"),
    ]);
    clean(&[
        // Luhn fails.
        "490154203237517",
        // Timestamps (ms, µs) and other lengths.
        "1733600000000",
        "1733600000000000",
        "app.490154203237518x.js",
    ]);
}

#[test]
fn no_false_positives_on_everyday_page_text() {
    clean(&[
        "Updated 2024-01-15T10:30:00.123Z by the build",
        "version 1.24.3 (build 20240115)",
        "color: #ff00aa; background: rgba(0, 0, 0, 0.5)",
        "/assets/app.3f2a9c1b7d.js",
        "uuid 123e4567-e89b-12d3-a456-426614174000",
        "semver ^2.0.0-beta.3+exp.sha.5114f85",
        "meeting at 10:30, room 4-B",
        "Sign in with your password and username",
    ]);
}
