//! The repository's Node scripts run from tests (headless Chromium checks), with the pinned
//! node from `tools/env.sh`: shared by the e2e harness and the native privacy tests.

use std::process::Command;

/// `node SCRIPT ARGS…` in the repository root; its stdout parsed as one JSON report.
/// `what` names the run in failures.
pub fn report(what: &str, script: &str, args: &[&str], envs: &[(&str, &str)]) -> serde_json::Value {
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("source tools/env.sh && node {script} \"$@\""))
        .arg("node")
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "{what}: no JSON report ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}
