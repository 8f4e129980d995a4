#!/usr/bin/env bash
# Build the worker (wasm32, release) into build/. Run by wrangler's [build] command.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$VEILGATE_ROOT"
# Tests build once and start several workers; each start would otherwise rebuild.
if [ "${VEILGATE_PREBUILT:-}" = 1 ] && [ -f build/worker/shim.mjs ]; then exit 0; fi
worker-build --release
