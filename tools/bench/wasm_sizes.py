#!/usr/bin/env python3
"""Code size of a wasm module by crate / by function, from its `name` section.

  python3 tools/bench/wasm_sizes.py target/wasm32-unknown-unknown/release/veilgate.wasm [--top N] [--json]

Reads the module cargo produced (before wasm-bindgen and wasm-opt strip the names): sizes are
of function bodies before wasm-opt, so they rank the contributors rather than add up to the
deployed size. Data segments (string constants, tables) are reported as one line.
"""
import collections
import json
import re
import sys


def leb(b, i):
    r = s = 0
    while True:
        x = b[i]
        i += 1
        r |= (x & 0x7F) << s
        s += 7
        if x < 0x80:
            return r, i


def parse(path):
    b = open(path, "rb").read()
    assert b[:4] == b"\0asm"
    i, n_imported, bodies, names, data = 8, 0, [], {}, 0
    while i < len(b):
        sid = b[i]
        size, i = leb(b, i + 1)
        end = i + size
        if sid == 2:  # imports: count imported functions (they take the first indices)
            n, j = leb(b, i)
            for _ in range(n):
                for _ in range(2):
                    ln, j = leb(b, j)
                    j += ln
                kind = b[j]
                j += 1
                if kind == 0:
                    _, j = leb(b, j)
                    n_imported += 1
                elif kind == 1:
                    j += 1
                    flags, j = leb(b, j)
                    _, j = leb(b, j)
                    if flags & 1:
                        _, j = leb(b, j)
                elif kind == 2:
                    flags, j = leb(b, j)
                    _, j = leb(b, j)
                    if flags & 1:
                        _, j = leb(b, j)
                elif kind == 3:
                    j += 2
                elif kind == 4:
                    j += 1
                    _, j = leb(b, j)
        elif sid == 10:
            n, j = leb(b, i)
            for _ in range(n):
                sz, j = leb(b, j)
                bodies.append(sz)
                j += sz
        elif sid == 11:
            data = size
        elif sid == 0:
            ln, j = leb(b, i)
            if b[j:j + ln] == b"name":
                j += ln
                while j < end:
                    sub = b[j]
                    ssz, j = leb(b, j + 1)
                    if sub == 1:
                        n, k = leb(b, j)
                        for _ in range(n):
                            idx, k = leb(b, k)
                            ln2, k = leb(b, k)
                            names[idx] = b[k:k + ln2].decode("utf-8", "replace")
                            k += ln2
                    j += ssz
        i = end
    funcs = [(names.get(n_imported + k, f"func[{n_imported + k}]"), sz) for k, sz in enumerate(bodies)]
    return funcs, data, len(b)


def demangle_crate(name):
    # Legacy mangling _ZN<len><ident>...: the first path segment is the crate (or a std type path).
    m = re.match(r"_ZN(\d+)", name)
    if m:
        ln = int(m.group(1))
        seg = name[len(m.group(0)):len(m.group(0)) + ln]
        if seg.startswith("_$LT$"):
            inner = re.match(r"_\$LT\$([A-Za-z0-9_]+)", seg)
            return "<" + (inner.group(1) if inner else "?") + " impl>"
        return seg
    if "::" in name:
        n = name.lstrip("<")
        return n.split("::")[0]
    return name.split("$")[0][:40]


def segments(name):
    """Path segments of a legacy-mangled Rust symbol (_ZN…E)."""
    segs, i = [], 3
    if not name.startswith("_ZN"):
        return segs
    while i < len(name) and name[i].isdigit():
        j = i
        while name[j].isdigit():
            j += 1
        ln = int(name[i:j])
        segs.append(name[j:j + ln])
        i = j + ln
    return segs


def own_modules(funcs, crate):
    """Code of `crate` by module (its functions whose path starts with crate::module)."""
    c = collections.Counter()
    for name, sz in funcs:
        segs = segments(name)
        if len(segs) >= 2 and segs[0] == crate:
            mod = segs[1] if segs[1] != "edge" or len(segs) < 3 else f"edge::{segs[2]}"
            c[mod] += sz
    return c


def main():
    path = sys.argv[1]
    top = int(sys.argv[sys.argv.index("--top") + 1]) if "--top" in sys.argv else 15
    funcs, data, total = parse(path)
    by_crate = collections.Counter()
    for name, sz in funcs:
        by_crate[demangle_crate(name)] += sz
    code = sum(sz for _, sz in funcs)
    out = {"file": path, "bytes": total, "code": code, "data": data,
           "by_crate": by_crate.most_common(top),
           "by_function": sorted(funcs, key=lambda f: -f[1])[:top],
           "veilgate_by_module": own_modules(funcs, "veilgate").most_common(top)}
    if "--json" in sys.argv:
        print(json.dumps(out))
        return
    print(f"{path}: {total} bytes, code {code}, data {data}")
    for c, sz in out["by_crate"]:
        print(f"{sz:>9}  {100 * sz / code:5.1f}%  {c}")


if __name__ == "__main__":
    main()
