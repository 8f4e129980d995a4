#!/usr/bin/env bash
# Build the worker (wasm32, release) into build/. Run by wrangler's [build] command.
#   tools/build.sh            the worker as deployed
#   tools/build.sh --faults   the test-only variant with fault injection, into build-faults/
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$VEILGATE_ROOT"
# Static assets (the browser SDK) first: every start of the worker serves them from public/.
VEILGATE_QUIET=1 node tools/assets/build.mjs
if [ "${1:-}" = "--faults" ]; then
  exec worker-build --release --out-dir build-faults --features faults
fi
# Tests build once and start several workers; each start would otherwise rebuild.
if [ "${VEILGATE_PREBUILT:-}" = 1 ] && [ -f build/worker/shim.mjs ]; then exit 0; fi
worker-build --release
