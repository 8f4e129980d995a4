#!/usr/bin/env python3
"""Benchmark 6: count the `VGOPS` lines that tools/bench/ops/counting.mjs logged into a
wrangler log, and cross-check against the objects in the local R2 state.
  python3 tools/bench/ops_count.py WRANGLER_LOG STATE_DIR  → JSON on stdout
"""
import collections
import glob
import json
import os
import sqlite3
import sys

counts, rows, ms = collections.Counter(), collections.Counter(), collections.defaultdict(list)
puts_by_class, do_paths = collections.Counter(), collections.Counter()


def key_class(key):
    if "/chunks/" in key:
        return "chunk"
    if key.endswith("manifest.json"):
        return "manifest"
    p = key.split("/")
    return p[0] + "/" + (p[2] if len(p) > 2 and p[0] == "index" else "…")


for line in open(sys.argv[1], errors="replace"):
    i = line.find("VGOPS ")
    if i < 0:
        continue
    parts = line[i + 6:].split()
    kind = parts[0]
    counts[kind] += 1
    if kind == "r2.A.put" and len(parts) > 1 and not parts[1].startswith("ms="):
        puts_by_class[key_class(parts[1])] += 1
    if kind == "do.request.fetch" and len(parts) > 1:
        do_paths[parts[1]] += 1
    for p in parts[1:]:
        if p.startswith("rows="):
            rows[kind] += int(p[5:])
        if p.startswith("ms="):
            ms[kind].append(int(p[3:]))
# Cross-check: distinct objects in the local R2 (miniflare's object table), by key prefix.
objects = collections.Counter()
for db in glob.glob(os.path.join(sys.argv[2], "v3", "r2", "miniflare-R2BucketObject", "*.sqlite")):
    if os.path.basename(db).startswith("metadata"):
        continue
    for (key,) in sqlite3.connect(db).execute("select key from _mf_objects"):
        objects[key_class(key)] += 1
mean_ms = {k: sum(v) / len(v) for k, v in ms.items()}
print(json.dumps({"sessions": 2, "chunks_per_session": 30, "counts": counts, "rows": rows, "r2_objects": objects, "r2_puts_by_class": puts_by_class, "do_fetch_by_path": do_paths, "mean_ms": mean_ms}))
