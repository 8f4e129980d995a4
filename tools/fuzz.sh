#!/usr/bin/env bash
# Fuzz veilgate's parsers and masking walk (fuzz/, docs/FUZZING.md).
#
#   tools/fuzz.sh --smoke                  CI smoke: stable toolchain only, every target, seeds
#                                          replayed + mutated inputs, a few seconds per target
#   tools/fuzz.sh [SECONDS] [TARGET...]    long run, SECONDS per target (default 60): libFuzzer
#                                          via cargo-fuzz on nightly when a nightly toolchain is
#                                          installed, else the stable driver for that long
#
# Environment: FUZZ_ENGINE=stable|libfuzzer forces an engine; FUZZ_SEED=N seeds the stable
# driver (default 24301); FUZZ_JOBS is not used (one target at a time: the machine has 2 cores).
# Exits non-zero if any target crashed or timed out; inputs land in fuzz/artifacts/<target>/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FUZZ="$ROOT/fuzz"
CARGO_FUZZ_VERSION=0.13.2
SEED="${FUZZ_SEED:-24301}"

smoke=0
if [[ "${1:-}" == "--smoke" ]]; then
  smoke=1
  shift
fi
secs="${1:-60}"
if [[ $smoke -eq 0 && $# -gt 0 ]]; then shift; fi
if ! [[ "$secs" =~ ^[0-9]+$ ]]; then
  echo "usage: tools/fuzz.sh --smoke | tools/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]" >&2
  exit 2
fi

build_driver() {
  (cd "$FUZZ" && cargo build --release --locked --example driver --quiet)
}

if [[ $smoke -eq 1 ]]; then
  # Stable only. ~3 s per target at most (seeds + up to 20,000 mutated inputs each).
  build_driver
  exec "$FUZZ/target/release/examples/driver" --seconds 3 --iters 20000 --seed "$SEED" --quiet "$@"
fi

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  build_driver
  mapfile -t targets < <("$FUZZ/target/release/examples/driver" --list)
fi

engine="${FUZZ_ENGINE:-}"
if [[ -z "$engine" ]]; then
  if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then engine=libfuzzer; else engine=stable; fi
fi

if [[ "$engine" == stable ]]; then
  echo "engine: stable driver (no nightly toolchain), ${secs}s per target" >&2
  build_driver
  args=()
  for t in "${targets[@]}"; do args+=(--target "$t"); done
  exec "$FUZZ/target/release/examples/driver" --seconds "$secs" --iters 1000000000000 --seed "$SEED" --quiet "${args[@]}"
fi

# libFuzzer through cargo-fuzz (nightly). cargo-fuzz is installed pinned when missing.
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi
echo "engine: libFuzzer (cargo +nightly fuzz $(cargo fuzz --version | awk '{print $2}')), ${secs}s per target" >&2
cd "$ROOT"
# Dictionaries follow the tokens in fuzz/src/lib.rs.
build_driver
"$FUZZ/target/release/examples/driver" --write-dicts "$FUZZ/dict" >/dev/null
cargo +nightly fuzz build --features libfuzzer --sanitizer none --fuzz-dir fuzz >&2

results=()
failed=0
for t in "${targets[@]}"; do
  # New inputs go to a scratch corpus (git-ignored); the committed seeds are only read.
  work="$FUZZ/.work/corpus/$t"
  mkdir -p "$work" "$FUZZ/artifacts/$t"
  log="$FUZZ/.work/$t.log"
  set +e
  cargo +nightly fuzz run --features libfuzzer --sanitizer none --fuzz-dir fuzz "$t" "$work" "$FUZZ/corpus/$t" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 -max_len=65536 \
    -dict="$FUZZ/dict/$t.dict" -artifact_prefix="$FUZZ/artifacts/$t/" -print_final_stats=1 \
    >"$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{print $2}' | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  result=ok
  if [[ $rc -ne 0 ]]; then
    result="FAILED rc=$rc (see $log)"
    grep -E '^(==[0-9]+== ERROR|SUMMARY|artifact_prefix|Test unit written)|panicked at' "$log" | head -5 >&2 || true
    failed=1
  fi
  line=$(printf '%-18s %12s execs %6ss cov %-6s %s' "$t" "${execs:-?}" "$secs" "${cov:-?}" "$result")
  echo "$line"
  results+=("$line")
done
echo
printf '%s\n' "${results[@]}"
exit $failed
