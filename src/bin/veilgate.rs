//! `veilgate`: the operators' CLI over the admin API (docs/ADMIN.md). Native only
//! (`cargo run --features cli --bin veilgate -- …`); it holds no rule of its own, the worker
//! validates every change.
//!
//! Exit codes: 0 done, 2 usage, 3 admin token refused or admin API disabled, 4 no such
//! project, 5 invalid config, 6 conflict (exists / changed since read), 7 network or other.

use std::process::ExitCode;

use serde_json::{json, Map, Value};

const USAGE: &str = "usage: veilgate [--endpoint URL] [--json] <command>
  projects list
  projects get KEY
  projects create KEY (--file CONFIG.json | --name NAME --type web|mobile|combined
                       [--origin ORIGIN]... [--consent none|opt-out|opt-in] [--retention-days N])
                       [--replace]  (overwrite an existing project)
  projects set KEY (--file PATCH.json | [--name ..] [--type ..] [--origin ..]... [--consent ..] [--retention-days N])
  projects disable KEY
  tokens rotate KEY read|audit [--grace SECONDS]
  check CONFIG.json...   (offline: the worker's own config validation, no endpoint needed)
  admin-token new        (offline: a new random admin token and the SHA-256 the worker keeps)
The admin token comes from VEILGATE_ADMIN_TOKEN; the endpoint from --endpoint or
VEILGATE_ENDPOINT (default http://localhost:8787). The token is sent only over https://, or
plain http:// to this machine (localhost, 127.0.0.0/8, [::1]).";

struct Failure(u8, String);

fn usage(msg: &str) -> Failure {
    Failure(2, format!("{msg}\n{USAGE}"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(code, msg)) => {
            eprintln!("veilgate: {msg}");
            ExitCode::from(code)
        }
    }
}

struct Opts {
    endpoint: String,
    json: bool,
    positional: Vec<String>,
    fields: Map<String, Value>,
    origins: Vec<Value>,
    file: Option<String>,
    grace: Option<String>,
    replace: bool,
}

fn parse(args: Vec<String>) -> Result<Opts, Failure> {
    let mut o = Opts {
        endpoint: std::env::var("VEILGATE_ENDPOINT")
            .unwrap_or_else(|_| "http://localhost:8787".into()),
        json: false,
        positional: Vec::new(),
        fields: Map::new(),
        origins: Vec::new(),
        file: None,
        grace: None,
        replace: false,
    };
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .ok_or_else(|| usage(&format!("{name} needs a value")))
        };
        match a.as_str() {
            "--json" => o.json = true,
            "--replace" => o.replace = true,
            "--endpoint" => o.endpoint = value("--endpoint")?,
            "--file" => o.file = Some(value("--file")?),
            "--grace" => o.grace = Some(value("--grace")?),
            "--name" => {
                o.fields.insert("name".into(), json!(value("--name")?));
            }
            "--type" => {
                o.fields.insert("type".into(), json!(value("--type")?));
            }
            "--origin" => o.origins.push(json!(value("--origin")?)),
            "--consent" => {
                o.fields
                    .insert("consent".into(), json!({"mode": value("--consent")?}));
            }
            "--retention-days" => {
                let v = value("--retention-days")?;
                let n: u64 = v
                    .parse()
                    .map_err(|_| usage("--retention-days needs a number"))?;
                o.fields.insert("retention_days".into(), json!(n));
            }
            "-h" | "--help" => return Err(Failure(0, USAGE.into())),
            f if f.starts_with("--") => return Err(usage(&format!("unknown flag {f}"))),
            _ => o.positional.push(a),
        }
    }
    if !o.origins.is_empty() {
        o.fields
            .insert("allowed_origins".into(), Value::Array(o.origins.clone()));
    }
    Ok(o)
}

/// The config or patch from `--file`, else from the flags.
fn body(o: &Opts) -> Result<Value, Failure> {
    match &o.file {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| Failure(2, format!("{path}: {e}")))?;
            serde_json::from_str(&text).map_err(|e| Failure(5, format!("{path}: not JSON: {e}")))
        }
        None if o.fields.is_empty() => Err(usage("give --file or at least one field flag")),
        None => Ok(Value::Object(o.fields.clone())),
    }
}

fn run(args: Vec<String>) -> Result<(), Failure> {
    let o = parse(args)?;
    if o.positional.first().map(String::as_str) == Some("check") {
        return check(&o.positional[1..]);
    }
    if o.positional
        .iter()
        .map(String::as_str)
        .eq(["admin-token", "new"])
    {
        return new_admin_token(o.json);
    }
    // Before the token is even read: it must never travel in clear text over a network.
    endpoint_allowed(&o.endpoint).map_err(|m| Failure(2, m))?;
    let token = std::env::var("VEILGATE_ADMIN_TOKEN")
        .map_err(|_| Failure(3, "set VEILGATE_ADMIN_TOKEN to the admin token".into()))?;
    let api = |method: &str, path: &str, body: Option<&Value>, extra: Option<(&str, &str)>| {
        call(&o.endpoint, &token, method, path, body, extra)
    };
    let pos: Vec<&str> = o.positional.iter().map(String::as_str).collect();
    let project = |k: &str| format!("/v1/admin/projects/{k}");
    let (status, reply) = match pos.as_slice() {
        ["projects", "list"] => {
            // Follow the cursor: an operator wants every key.
            let mut keys = Vec::new();
            let mut cursor = String::new();
            loop {
                let (s, page) = api(
                    "GET",
                    &format!("/v1/admin/projects?cursor={cursor}"),
                    None,
                    None,
                )?;
                if s != 200 {
                    return Err(failure(s, &page));
                }
                keys.extend(page["projects"].as_array().cloned().unwrap_or_default());
                match page["cursor"].as_str() {
                    Some(c) => cursor = c.to_string(),
                    None => break,
                }
            }
            (200, json!({"projects": keys}))
        }
        ["projects", "get", key] => api("GET", &project(key), None, None)?,
        // `--replace` overwrites an existing project on purpose (`If-Match: *`).
        ["projects", "create", key] => {
            let replace = o.replace.then_some(("If-Match", "*"));
            api("PUT", &project(key), Some(&body(&o)?), replace)?
        }
        ["projects", "set", key] => api("PATCH", &project(key), Some(&body(&o)?), None)?,
        ["projects", "disable", key] => api(
            "PATCH",
            &project(key),
            Some(&json!({"enabled": false})),
            None,
        )?,
        ["tokens", "rotate", key, kind @ ("read" | "audit")] => {
            let grace = o
                .grace
                .as_deref()
                .map(|g| format!("?grace={g}"))
                .unwrap_or_default();
            api(
                "POST",
                &format!("{}/tokens/{kind}{grace}", project(key)),
                None,
                None,
            )?
        }
        _ => return Err(usage("unknown command")),
    };
    if !(200..300).contains(&status) {
        return Err(failure(status, &reply));
    }
    if o.json {
        println!("{reply}");
    } else {
        print_human(&pos, &reply);
    }
    Ok(())
}

/// Whether the admin token may be sent to `endpoint`: https anywhere, plain http only to this
/// machine (a token sent in clear text over a network is a token anyone on the path holds).
fn endpoint_allowed(endpoint: &str) -> Result<(), String> {
    let lower = endpoint.trim().to_ascii_lowercase();
    if lower.starts_with("https://") {
        return Ok(());
    }
    let Some(rest) = lower.strip_prefix("http://") else {
        return Err(format!(
            "endpoint {endpoint}: give an https:// URL (or http:// to localhost)"
        ));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // No `user@` part: `http://localhost@evil.example` goes to evil.example.
    let host = if authority.contains('@') {
        ""
    } else if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    let loopback = host == "localhost"
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(format!(
            "refusing to send the admin token over plain http to {endpoint}: use https:// \
             (plain http is allowed only to localhost, 127.0.0.0/8 and [::1])"
        ))
    }
}

/// `admin-token new`: 32 random bytes from the OS as `vga_<64 hex>`, and the SHA-256 the
/// worker holds as `ADMIN_TOKEN_SHA256`. The token is printed once; nothing is stored.
fn new_admin_token(json_out: bool) -> Result<(), Failure> {
    use std::io::Read;
    let mut random = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut random))
        .map_err(|e| Failure(7, format!("no randomness from /dev/urandom: {e}")))?;
    let token = format!("vga_{}", veilgate::encoding::hex(&random));
    let sha256 = veilgate::project::sha256_hex(token.as_bytes());
    if json_out {
        println!("{}", json!({"token": token, "sha256": sha256}));
    } else {
        println!("admin token (shown once; keep it in your secret store):\n{token}");
        println!("its SHA-256, for the worker:\n{sha256}");
        println!("set it with: printf %s {sha256} | wrangler secret put ADMIN_TOKEN_SHA256");
    }
    Ok(())
}

/// The loader's `Project::from_value` on local files: what `make dev` seeds is what the admin
/// API would accept.
fn check(files: &[String]) -> Result<(), Failure> {
    if files.is_empty() {
        return Err(usage("check needs at least one file"));
    }
    let mut bad = String::new();
    for f in files {
        let text = std::fs::read_to_string(f).map_err(|e| Failure(2, format!("{f}: {e}")))?;
        let problems = match serde_json::from_str::<Value>(&text) {
            Err(e) => vec![format!("not JSON: {e}")],
            Ok(v) => match veilgate::project::Project::from_value(&v) {
                Ok(_) => Vec::new(),
                Err(ps) => ps
                    .iter()
                    .map(|p| format!("{}: {}", p.path, p.message))
                    .collect(),
            },
        };
        for p in problems {
            bad.push_str(&format!("\n  {f}: {p}"));
        }
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(Failure(5, format!("invalid config{bad}")))
    }
}

fn print_human(pos: &[&str], reply: &Value) {
    match pos {
        ["projects", "list"] => {
            for k in reply["projects"].as_array().into_iter().flatten() {
                println!("{}", k.as_str().unwrap_or_default());
            }
        }
        ["tokens", "rotate", key, kind] => {
            println!("new {kind} token for {key} (shown once, store it now):");
            println!("{}", reply["token"].as_str().unwrap_or_default());
            println!("id {}", reply["id"].as_str().unwrap_or_default());
        }
        [_, verb, key, ..] => {
            println!(
                "{key}: {} ({}, {}){}",
                reply["name"].as_str().unwrap_or("?"),
                reply["type"].as_str().unwrap_or("?"),
                if reply["enabled"] == json!(false) {
                    "disabled"
                } else {
                    "enabled"
                },
                if *verb == "get" {
                    String::new()
                } else {
                    format!(" — {verb} done")
                }
            );
            if *verb == "get" {
                println!(
                    "{}",
                    serde_json::to_string_pretty(reply).unwrap_or_default()
                );
            }
        }
        _ => println!("{reply}"),
    }
}

/// An error reply → exit code and message (with every `details` path for invalid configs).
fn failure(status: u16, reply: &Value) -> Failure {
    let err = &reply["error"];
    let mut msg = format!(
        "{status} {}: {}",
        err["code"].as_str().unwrap_or("error"),
        err["message"].as_str().unwrap_or("")
    );
    for d in err["details"].as_array().into_iter().flatten() {
        msg.push_str(&format!(
            "\n  {}: {}",
            d["path"].as_str().unwrap_or(""),
            d["message"].as_str().unwrap_or("")
        ));
    }
    let code = match status {
        401 | 403 | 503 if err["code"] != json!("project_misconfigured") => 3,
        404 => 4,
        400 => 5,
        409 | 412 => 6,
        _ => 7,
    };
    Failure(code, msg)
}

fn call(
    endpoint: &str,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
    extra: Option<(&str, &str)>,
) -> Result<(u16, Value), Failure> {
    let url = format!("{}{path}", endpoint.trim_end_matches('/'));
    let mut req = ureq::request(method, &url).set("Authorization", &format!("Bearer {token}"));
    if let Some((k, v)) = extra {
        req = req.set(k, v);
    }
    let res = match body {
        Some(b) => req
            .set("Content-Type", "application/json")
            .send_string(&b.to_string()),
        None => req.call(),
    };
    let resp = match res {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => return Err(Failure(7, format!("{url}: {e}"))),
    };
    let status = resp.status();
    let text = resp
        .into_string()
        .map_err(|e| Failure(7, format!("{url}: {e}")))?;
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Ok((status, value))
}

#[cfg(test)]
mod tests {
    use super::endpoint_allowed;

    #[test]
    fn the_token_goes_over_https_or_to_this_machine_only() {
        for ok in [
            "https://veilgate.example",
            "HTTPS://veilgate.example:8443/",
            "http://localhost:8787",
            "http://localhost",
            "http://127.0.0.1:8787/",
            "http://127.9.9.9",
            "http://[::1]:8787",
        ] {
            assert!(endpoint_allowed(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://veilgate.example",
            "http://10.0.0.5:8787",
            "http://localhost.evil.example",
            "http://localhost@evil.example",
            "http://127.0.0.1.evil.example",
            "ftp://localhost",
            "veilgate.example",
            "",
        ] {
            assert!(endpoint_allowed(bad).is_err(), "{bad}");
        }
    }
}
