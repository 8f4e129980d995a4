//! The fuzzing smoke in `cargo test` (and so `make test`): `tools/fuzz.sh --smoke` builds the
//! separate `fuzz/` crate on the stable toolchain and runs every fuzz target for a few seconds
//! (committed seeds, then seeded mutations). Fails on any crash or timeout. See
//! docs/FUZZING.md. `VEILGATE_SKIP_FUZZ_SMOKE=1` skips it (e.g. while iterating on one test).

use std::process::Command;

#[test]
fn fuzz_smoke_every_target() {
    if std::env::var_os("VEILGATE_SKIP_FUZZ_SMOKE").is_some() {
        eprintln!("fuzz smoke skipped (VEILGATE_SKIP_FUZZ_SMOKE)");
        return;
    }
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("bash")
        .arg(format!("{root}/tools/fuzz.sh"))
        .arg("--smoke")
        .current_dir(root)
        // The outer cargo's settings are for the main crate, not the fuzz crate.
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("run tools/fuzz.sh --smoke");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "fuzz smoke failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}
