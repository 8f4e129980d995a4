#!/usr/bin/env bash
# Install what building and running veilgate needs, from the package registries only, pinned.
# Idempotent: a second run checks versions and installs nothing.
#   tools/setup.sh          toolchain for build and dev
#   tools/setup.sh --test   plus Chromium for the recording / replay tests
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$VEILGATE_ROOT"

WORKER_BUILD_VERSION=0.8.7

rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

# npm ci would fail on platform packages this registry does not serve; install keeps the lock.
if [ ! -x node_modules/.bin/wrangler ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund
fi

if ! worker-build --version 2>/dev/null | grep -q "$WORKER_BUILD_VERSION"; then
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked
fi

# Cargo.lock may not exist yet on a fresh clone that lost it; generate it first.
[ -f Cargo.lock ] || cargo generate-lockfile
WBG="$(wasm_bindgen_version)"
if ! "$WASM_BINDGEN_BIN" --version 2>/dev/null | grep -q " $WBG\$"; then
  # Without --locked: one of its locked dependencies is no longer served by the registry.
  cargo install wasm-bindgen-cli --version "$WBG"
fi

if [ "${1:-}" = "--test" ] && ! command -v chromium >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
