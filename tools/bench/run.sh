#!/usr/bin/env bash
# The seven benchmarks (BENCHMARKS.md), each against a baseline measured in the same run.
#   tools/bench/run.sh            full run (< 10 min on 2 cores) → BENCHMARKS.md
#   tools/bench/run.sh --smoke    few iterations (< 3 min once built) → target/bench/BENCHMARKS.md
#   tools/bench/run.sh --out F    write the report to F
# Exits non-zero when a benchmark fails to run — never because a goal is missed.
# Raw results (JSON) and worker logs land in target/bench/.
set -euo pipefail
source "$(dirname "$0")/../env.sh"
cd "$VEILGATE_ROOT"

SMOKE=0
OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) SMOKE=1 ;;
    --out) OUT="$2"; shift ;;
    *) echo "usage: $0 [--smoke] [--out FILE]" >&2; exit 2 ;;
  esac
  shift
done
RES="$VEILGATE_ROOT/target/bench"
[ -n "$OUT" ] || { [ "$SMOKE" = 1 ] && OUT="$RES/BENCHMARKS.md" || OUT="$VEILGATE_ROOT/BENCHMARKS.md"; }
rm -rf "$RES"; mkdir -p "$RES"
SMOKE_ARG=(); [ "$SMOKE" = 1 ] && SMOKE_ARG=(--smoke)
LOAD_SECS=20; [ "$SMOKE" = 1 ] && LOAD_SECS=3
SMALL_SECS=8; [ "$SMOKE" = 1 ] && SMALL_SECS=2   # diagnostic: ~1 KB beacons, fixed cost per request
T0=$(date +%s)
{ git rev-parse --short HEAD; [ -n "$(git status --porcelain -- src benches tools/bench Cargo.toml)" ] && echo " (+ uncommitted changes)"; } 2>/dev/null | tr -d '\n' > "$RES/commit" || true
date -u '+%Y-%m-%d %H:%M UTC' > "$RES/started"
cut -d' ' -f1-3 /proc/loadavg > "$RES/loadavg_start" 2>/dev/null || echo "?" > "$RES/loadavg_start"
step() { echo "== [$(( $(date +%s) - T0 ))s] $*" >&2; }
# Every command that produces a figure is recorded with it.
cmdlog() { printf '%s\t%s\n' "$1" "$2" >> "$RES/commands.tsv"; }

# Worker processes: each in its own process group, killed on exit whatever happens.
PGIDS=()
cleanup() { for g in "${PGIDS[@]:-}"; do [ -n "$g" ] && kill -- "-$g" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# start_worker NAME CONFIG STATE PORT → waits until GET /healthz answers 200 (≤ 120 s).
start_worker() {
  local name="$1" config="$2" state="$3" port="$4" extra="${5:-}" log="$RES/$1.log"
  setsid bash -c "source tools/env.sh; VEILGATE_PREBUILT=1 exec wrangler dev -c '$config' --local \
    --ip 127.0.0.1 --port $port --inspector-port 0 --persist-to '$state' $extra" > "$log" 2>&1 < /dev/null &
  local pid=$!
  PGIDS+=("$pid")
  for _ in $(seq 1 240); do
    if curl -fsS -m 2 "http://127.0.0.1:$port/healthz" > /dev/null 2>&1; then return 0; fi
    kill -0 "$pid" 2>/dev/null || { echo "$name exited; log:" >&2; tail -30 "$log" >&2; return 1; }
    sleep 0.5
  done
  echo "$name did not start; log:" >&2; tail -30 "$log" >&2; return 1
}
# CPU seconds (user + system) used so far by every process of a worker's process group
# (wrangler, workerd): the server's cost of a load run, whatever else the machine is doing.
group_cpu() {
  python3 - "$1" <<'PY'
import os, subprocess, sys
pids = subprocess.run(["pgrep", "-g", sys.argv[1]], capture_output=True, text=True).stdout.split()
tot = 0
for p in pids:
    try:
        f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
        tot += int(f[11]) + int(f[12])  # utime, stime (fields 14, 15)
    except OSError:
        pass
print(tot / os.sysconf("SC_CLK_TCK"))
PY
}
# load_run NAME OUT.json ARGS... : the load generator, with the worker group's CPU before/after.
load_run() {
  local name="$1" out="$2"; shift 2
  local c0; c0=$(group_cpu "${PGIDS[-1]}")
  "${LOAD[@]}" "$@" > "$out.raw" 2>> "$RES/load-$name.log"
  local c1; c1=$(group_cpu "${PGIDS[-1]}")
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["server_cpu_s"]=float(sys.argv[3])-float(sys.argv[2]); json.dump(d,open(sys.argv[4],"w"))' \
    "$out.raw" "$c0" "$c1" "$out"
}
stop_worker() { kill -- "-$1" 2>/dev/null || true; sleep 1; }

# The ops/diagnostic wrapper config lives in tools/bench/ops: give it the root's local-only secrets.
[ -f .dev.vars ] && cp .dev.vars tools/bench/ops/.dev.vars

# --- builds -----------------------------------------------------------------------------------
step "build: worker (if stale)"
if [ ! -f build/index_bg.wasm ] || [ -n "$(find src Cargo.toml Cargo.lock wrangler.toml -newer build/index_bg.wasm 2>/dev/null | head -1)" ]; then
  bash tools/build.sh >&2
fi
step "build: native benches"
cargo bench --no-run --bench masking --bench core --bench memory --bench load >&2 2> "$RES/cargo-native.log" \
  || { tail -30 "$RES/cargo-native.log" >&2; exit 1; }
step "build: wasm bench crate"
cp Cargo.lock tools/bench/wasm/Cargo.lock
# The deployed worker's opt-level (root Cargo.toml), whatever the bench crate's own profile says.
WASM_OPT_LEVEL=$(python3 -c 'import tomllib; print(tomllib.load(open("Cargo.toml", "rb"))["profile"]["release"].get("opt-level", 3))')
# A target dir of its own: sharing target/ with worker-build's wasm32 artifacts has left two
# builds of serde_core in view of rustc ("multiple different versions of crate serde_core").
WASM_BENCH_TARGET="$VEILGATE_ROOT/target/bench-wasm"
CARGO_PROFILE_RELEASE_OPT_LEVEL="$WASM_OPT_LEVEL" CARGO_TARGET_DIR="$WASM_BENCH_TARGET" \
  cargo build --manifest-path tools/bench/wasm/Cargo.toml \
  --target wasm32-unknown-unknown --release 2> "$RES/cargo-wasm.log" || { tail -30 "$RES/cargo-wasm.log" >&2; exit 1; }
rm -rf "$RES/wasm-pkg"
"$WASM_BINDGEN_BIN" --target nodejs --out-dir "$RES/wasm-pkg" "$WASM_BENCH_TARGET/wasm32-unknown-unknown/release/veilgate_bench_wasm.wasm"

# --- 1. masking throughput, native (criterion) --------------------------------------------------
step "1. masking throughput, native (criterion)"
CRIT=(); [ "$SMOKE" = 1 ] && CRIT=(--warm-up-time 0.3 --measurement-time 1 --sample-size 10)
rm -rf target/criterion/masking_*
C1="cargo bench --bench masking -- ${CRIT[*]:-}"
cargo bench --bench masking -- "${CRIT[@]}" > "$RES/criterion.txt" 2>&1 || { tail -30 "$RES/criterion.txt" >&2; exit 1; }
cmdlog 1 "$C1"

# --- 2 + 3 native side, then wasm in Node --------------------------------------------------------
step "2/3. native throughput + latency loops"
cargo bench --bench core -- throughput "${SMOKE_ARG[@]}" > "$RES/core_throughput.json" 2> "$RES/core.log"
cargo bench --bench core -- latency "${SMOKE_ARG[@]}" > "$RES/core_latency.json" 2>> "$RES/core.log"
cmdlog 2n "cargo bench --bench core -- throughput ${SMOKE_ARG[*]:-}"
cmdlog 3n "cargo bench --bench core -- latency ${SMOKE_ARG[*]:-}"
step "2/3. wasm in Node"
node tools/bench/wasm/bench.mjs "$RES/wasm-pkg" "$VEILGATE_ROOT" "${SMOKE_ARG[@]}" > "$RES/wasm.json"
cmdlog 2w "node tools/bench/wasm/bench.mjs target/bench/wasm-pkg . ${SMOKE_ARG[*]:-}  (node $(node --version); crate tools/bench/wasm, cargo build --target wasm32-unknown-unknown --release, wasm-bindgen --target nodejs)"

# --- 4. size ------------------------------------------------------------------------------------
step "4. size"
WASM=build/index_bg.wasm
python3 - "$WASM" > "$RES/size.json" <<'PY'
import gzip, json, os, sys
p = sys.argv[1]
raw = open(p, "rb").read()
print(json.dumps({"path": p, "raw": len(raw), "gzip": len(gzip.compress(raw, 9)),
                  "js_glue_raw": os.path.getsize("build/index.js")}))
PY
# The deployed module has its names stripped; the wasm bench crate is the same code (veilgate as a
# dependency, its worker exports included) with the same profile and its names kept.
python3 tools/bench/wasm_sizes.py "$WASM_BENCH_TARGET/wasm32-unknown-unknown/release/veilgate_bench_wasm.wasm" --top 14 --json > "$RES/size_breakdown.json"
cmdlog 4 "bash tools/build.sh (worker-build --release); gzip -9 of $WASM"
# The browser SDK's two files, measured by the asset build itself (tools/assets/build.mjs).
cp public/sdk/sizes.json "$RES/sdk_sizes.json"
cmdlog 4s "node tools/assets/build.mjs (esbuild --minify, gzip -9 of public/sdk/*.js)"

# --- 5. end to end on local workerd: veilgate vs echo ---------------------------------------------
LOAD=(cargo bench --bench load --)
step "5. end to end: veilgate"
ST="$RES/state-e2e"; mkdir -p "$ST"
bash tools/seed.sh "$ST" tools/bench/projects/bench.json
P=$(free_port); start_worker veilgate wrangler.toml "$ST" "$P"
curl -fsS -m 5 -o /dev/null "http://127.0.0.1:$P/healthz"
load_run veilgate "$RES/e2e_veilgate.json" --url "http://127.0.0.1:$P" --key bench --concurrency 16 --seconds "$LOAD_SECS" --tag e2e
load_run veilgate "$RES/e2e_veilgate_small.json" --url "http://127.0.0.1:$P" --key bench --concurrency 16 --seconds "$SMALL_SECS" --wire-kb 1 --tag e2es
stop_worker "${PGIDS[-1]}"
cmdlog 5v "${LOAD[*]} --url http://127.0.0.1:PORT --key bench --concurrency 16 --seconds $LOAD_SECS  (worker: wrangler dev --local, root wrangler.toml)"
step "5. end to end: echo worker"
P=$(free_port); start_worker echo bench/echo/wrangler.toml "$RES/state-echo" "$P"
load_run echo "$RES/e2e_echo.json" --url "http://127.0.0.1:$P" --key bench --concurrency 16 --seconds "$LOAD_SECS" --tag echo
load_run echo "$RES/e2e_echo_small.json" --url "http://127.0.0.1:$P" --key bench --concurrency 16 --seconds "$SMALL_SECS" --wire-kb 1 --tag echos
stop_worker "${PGIDS[-1]}"
cmdlog 5e "${LOAD[*]} --url http://127.0.0.1:PORT --key bench --concurrency 16 --seconds $LOAD_SECS  (worker: wrangler dev --local -c bench/echo/wrangler.toml)"

step "5. diagnostic: the I/O floor (veilgate's runtime I/O, none of its processing)"
ST="$RES/state-iofloor"; mkdir -p "$ST"
P=$(free_port); start_worker iofloor bench/iofloor/wrangler.toml "$ST" "$P"
load_run iofloor "$RES/e2e_iofloor.json" --url "http://127.0.0.1:$P" --key bench --concurrency 16 --seconds "$SMALL_SECS" --tag e2ei
load_run iofloor "$RES/e2e_iofloor_small.json" --url "http://127.0.0.1:$P" --key bench --concurrency 16 --seconds "$SMALL_SECS" --wire-kb 1 --tag e2eis
stop_worker "${PGIDS[-1]}"
cmdlog 5i "${LOAD[*]} --url http://127.0.0.1:PORT --key bench --concurrency 16 --seconds $SMALL_SECS  (worker: wrangler dev --local -c bench/iofloor/wrangler.toml)"

step "5. diagnostic: veilgate with R2 puts acknowledged, not stored"
ST="$RES/state-nullr2"; mkdir -p "$ST"
bash tools/seed.sh "$ST" tools/bench/projects/bench.json
P=$(free_port); start_worker nullr2 tools/bench/ops/wrangler.toml "$ST" "$P" "--var VG_BENCH_MODE:null-r2"
load_run nullr2 "$RES/e2e_nullr2.json" --url "http://127.0.0.1:$P" --key bench --concurrency 16 --seconds "$SMALL_SECS" --tag e2en
load_run nullr2 "$RES/e2e_nullr2_small.json" --url "http://127.0.0.1:$P" --key bench --concurrency 16 --seconds "$SMALL_SECS" --wire-kb 1 --tag e2ens
stop_worker "${PGIDS[-1]}"

# --- 6. operations per session ------------------------------------------------------------------
step "6. operations per session (2 sessions x 30 chunks, then the idle alarm)"
ST="$RES/state-ops"; mkdir -p "$ST"
bash tools/seed.sh "$ST" tools/bench/projects/bench.json
P=$(free_port); start_worker ops tools/bench/ops/wrangler.toml "$ST" "$P"
"${LOAD[@]}" --url "http://127.0.0.1:$P" --key bench --concurrency 1 --max-requests 60 --seconds 120 \
  --chunks-per-session 30 --tag ops > "$RES/ops_load.json" 2> "$RES/load-ops.log"
sleep 6 # SESSION_IDLE_SECS=2 in tools/bench/ops/wrangler.toml: the alarms fire and finalize
stop_worker "${PGIDS[-1]}"
python3 tools/bench/ops_count.py "$RES/ops.log" "$ST" > "$RES/ops.json"
cmdlog 6 "${LOAD[*]} --url http://127.0.0.1:PORT --key bench --concurrency 1 --max-requests 60 --chunks-per-session 30  (worker: wrangler dev --local -c tools/bench/ops/wrangler.toml, logging wrapper; then 6 s for the idle alarm)"

# --- 7. memory ----------------------------------------------------------------------------------
step "7. memory"
cargo bench --bench memory > "$RES/memory.json" 2> "$RES/memory.log"
cmdlog 7 "cargo bench --bench memory"

# --- profile (full runs only; not one of the seven) ---------------------------------------------
if [ "$SMOKE" = 0 ]; then
  step "profile: perf on the native pipeline"
  bash tools/bench/profile.sh "$RES/profile.json" 8 || echo "profile failed (not fatal)" >&2
  cmdlog p "bash tools/bench/profile.sh target/bench/profile.json 8  (perf record --call-graph dwarf on cargo bench --bench core -- profile)"
fi

# --- audit at volume (full runs only: make test runs it with 20,000 records) ----------
if [ "$SMOKE" = 0 ]; then
  step "audit scale: 100,000 + 20,000 seeded records, list / report / verify job"
  bash tools/build.sh --faults > "$RES/build-faults.log" 2>&1
  AUDIT_SCALE_RECORDS=100000 cargo test --test e2e audit_scale:: -- --nocapture > "$RES/audit_scale.log" 2>&1
  cmdlog a "AUDIT_SCALE_RECORDS=100000 cargo test --test e2e audit_scale:: -- --nocapture"
fi

# --- retention at volume (full runs only, ~20 min locally) ----------------------------
if [ "$SMOKE" = 0 ]; then
  step "retention: 20,000 expired sessions swept (faults build, tests/e2e/retention.rs)"
  bash tools/build.sh --faults >&2
  VEILGATE_RETENTION_N=20000 cargo test --test e2e retention:: -- --nocapture > "$RES/retention.log" 2>&1 \
    || { tail -30 "$RES/retention.log" >&2; exit 1; }
  grep '^FIGURES retention' "$RES/retention.log" > "$RES/retention.txt"
  cmdlog r "VEILGATE_RETENTION_N=20000 cargo test --test e2e retention:: -- --nocapture"
fi

# --- report -------------------------------------------------------------------------------------
step "report → $OUT"
python3 tools/bench/report.py "$RES" "$SMOKE" > "$OUT.tmp"
if [ -f "$RES/audit_scale.log" ]; then
  { echo; echo "## Audit at volume"; echo; echo '```';
    grep -E "^test-scale|^audit scale" "$RES/audit_scale.log"; echo '```'; } >> "$OUT.tmp"
fi
mv "$OUT.tmp" "$OUT"
step "done"
