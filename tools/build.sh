#!/usr/bin/env bash
# Build the worker (wasm32, release) into build/. Run by wrangler's [build] command.
#   tools/build.sh            the worker as deployed
#   tools/build.sh --faults   the test-only variant with fault injection, into build-faults/
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$VEILGATE_ROOT"
if [ "${1:-}" = "--faults" ]; then
  exec worker-build --release --out-dir build-faults --features faults
fi
# Tests build once and start several workers; each start would otherwise rebuild.
# Static assets (the browser SDK) live in public/, which wrangler.toml's [assets] serves; parallel
# test workers must not rebuild it under each other.
if [ "${VEILGATE_PREBUILT:-}" = 1 ] && [ -f build/worker/shim.mjs ]; then
  [ -f public/sdk/recorder.js ] && [ -f public/viewer/viewer.js ] || VEILGATE_QUIET=1 node tools/assets/build.mjs
  exit 0
fi
VEILGATE_QUIET=1 node tools/assets/build.mjs
worker-build --release
