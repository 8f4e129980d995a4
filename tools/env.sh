# Sourced by the other scripts: the pinned tools, none downloaded at build time.
VEILGATE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$VEILGATE_ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# worker-build would download these from GitHub; point it at the registry-installed ones.
export WASM_BINDGEN_BIN="$HOME/.cargo/bin/wasm-bindgen"
export WASM_OPT_BIN="$VEILGATE_ROOT/node_modules/.bin/wasm-opt"
export ESBUILD_BIN="$VEILGATE_ROOT/node_modules/.bin/esbuild"
export WRANGLER_SEND_METRICS=false
# The exact wasm-bindgen the lockfile resolved: the CLI must match it.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$VEILGATE_ROOT/Cargo.lock"
}
