#!/usr/bin/env bash
# Where the native pipeline spends its time: perf (dwarf call graphs) on `benches/core.rs profile`
# (the ~64 KB beacons through beacon_path + the large fixture through the pipeline, default policy).
#   tools/bench/profile.sh OUT.json [SECONDS]
# Built with line tables in its own target dir (target/profile) so the bench builds stay as they are.
set -euo pipefail
source "$(dirname "$0")/../env.sh"
cd "$VEILGATE_ROOT"
out="$1"; secs="${2:-8}"
command -v perf >/dev/null || { echo '{"error": "perf not installed"}' > "$out"; exit 0; }
export CARGO_TARGET_DIR="$VEILGATE_ROOT/target/profile" CARGO_PROFILE_BENCH_DEBUG=line-tables-only \
  CARGO_PROFILE_BENCH_STRIP=false
cargo bench --no-run --bench core 2> "$out.build.log" || { tail -20 "$out.build.log" >&2; exit 1; }
bin=$(cargo bench --no-run --bench core --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("target", {}).get("name") == "core" and m.get("executable"):
        print(m["executable"])')
data="$out.perf.data"
if ! VG_PROFILE_SECS="$secs" perf record -q -F 499 --call-graph dwarf,16384 -o "$data" "$bin" profile > /dev/null 2> "$out.perf.log"; then
  echo "{\"error\": \"perf record failed: $(tail -1 "$out.perf.log" | tr -d '"')\"}" > "$out"; exit 0
fi
perf report -i "$data" --children --sort symbol --stdio 2>/dev/null > "$out.children.txt"
perf report -i "$data" --no-children --sort symbol --stdio 2>/dev/null > "$out.self.txt"
python3 - "$out" <<'PY'
import json, re, sys
out = sys.argv[1]
def rows(path, col):
    r = []
    for line in open(path, errors="replace"):
        m = re.match(r"\s+([\d.]+)%\s+(?:([\d.]+)%\s+)?\[(.)\]\s+(.*?)\s{2,}", line)
        if m:
            r.append((float(m.group(col)), m.group(4).strip()))
    return r
children = rows(out + ".children.txt", 1)
selfs = rows(out + ".self.txt", 1)
def incl(pat):
    v = [p for p, s in children if re.search(pat, s)]
    return max(v) if v else 0.0
stages = {
    "edge checks: prescan": incl(r"^veilgate::envelope::prescan( \(inlined\))?$"),
    "edge checks: envelope parse + validation": incl(r"^veilgate::envelope::Envelope::parse( \(inlined\))?$"),
    "parse to the borrowed tree (json::array_from_str)": incl(r"^(veilgate::json::)?(array_)?from_str( \(inlined\))?$"),
    "mask_events": incl(r"^(veilgate::privacy::)?mask_events( \(inlined\))?$"),
    "write the chunk (json::write_array)": incl(r"^(veilgate::json::)?write_array( \(inlined\))?$"),
    "drop the tree": incl(r"^core::ptr::drop_in_place<alloc::vec::Vec<veilgate::json::Value>>$"),
    "detect::scrub (PII detectors)": incl(r"^veilgate::privacy::detect::scrub$"),
}
alloc = sum(p for p, s in selfs if re.search(r"malloc|free|_int_|unlink_chunk|consolidate|realloc", s))
btree = sum(p for p, s in selfs if "btree" in s.lower())
json.dump({"stages_inclusive_pct": stages, "allocator_self_pct": alloc, "btreemap_self_pct": btree,
           "top_self": selfs[:14]}, open(out, "w"))
PY
