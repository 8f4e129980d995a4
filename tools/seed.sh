#!/usr/bin/env bash
# Seed local KV (under STATE) with every dev/projects/*.json as `project:{file name}`.
# These projects and their tokens are for local development only.
#   tools/seed.sh STATE_DIR [extra.json ...]   (extra files: more projects, e.g. for tests)
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$VEILGATE_ROOT"
state="$1"; shift
# The worker's own validation (Project::from_value, as the admin API uses it): a seeded config
# the worker would refuse fails here, not as a 503 later.
cargo run --quiet --features cli --bin veilgate -- check dev/projects/*.json "$@"
bulk="$(mktemp)"
python3 - "$bulk" dev/projects/*.json "$@" <<'PY'
import json, os, sys
out, files = sys.argv[1], sys.argv[2:]
entries = []
for f in files:
    key = os.path.splitext(os.path.basename(f))[0]
    with open(f) as fh:
        value = json.load(fh)
    entries.append({"key": f"project:{key}", "value": json.dumps(value)})
json.dump(entries, open(out, "w"))
PY
wrangler kv bulk put --local --binding PROJECTS --persist-to "$state" "$bulk" >/dev/null
rm -f "$bulk"
