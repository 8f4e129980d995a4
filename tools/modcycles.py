#!/usr/bin/env python3
"""Import cycles between the crate's modules (issue 16: none may remain in src/).

A module is a file under src/ (foo.rs and foo/mod.rs are `foo`); an edge A -> B is any
`crate::B…`, `super::…` or `self::…` path in A's text outside comments that names another
module. Inline test modules (`#[cfg(test)] mod tests`) are left out: a test may use what it likes.
Prints each strongly connected component of more than one module; exits 1 if there is one.
"""
import os, re, sys

root = sys.argv[1] if len(sys.argv) > 1 else "src"

def modname(path):
    rel = os.path.relpath(path, root)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        rel = rel[:-1]
    return "::".join(rel)

mods = {}
for d, _, files in os.walk(root):
    for f in files:
        if f.endswith(".rs") and "bin" not in os.path.relpath(d, root).split(os.sep):
            p = os.path.join(d, f)
            mods[modname(p)] = p

def strip(text):
    text = re.sub(r"//[^\n]*", "", text)
    # Drop the inline test module: from `#[cfg(test)]` followed by `mod` to the end of file.
    m = re.search(r"#\[cfg\(test\)\]\s*(pub\s+)?mod\s+\w+\s*\{", text)
    return text[: m.start()] if m else text

def resolve(cur, parts):
    # Longest prefix of parts that is a known module.
    for n in range(len(parts), 0, -1):
        cand = "::".join(parts[:n])
        if cand in mods:
            return cand
    return None

edges = {m: set() for m in mods}
for m, p in mods.items():
    text = strip(open(p, encoding="utf-8").read())
    base = m.split("::") if m else []
    # Expand `use x::{a, b::c}` groups one level.
    for path in re.findall(r"\b((?:crate|super|self)(?:::(?:\{[^;]*?\}|\w+))+)", text):
        heads = []
        mm = re.match(r"(.*?)::\{(.*)\}$", path, re.S)
        if mm:
            pre = mm.group(1)
            for item in re.split(r",", mm.group(2)):
                item = item.strip().split(" as ")[0].strip("{} \n")
                if item:
                    heads.append(pre + "::" + item)
        else:
            heads.append(path)
        for h in heads:
            parts = [x for x in re.split(r"::", h) if x and not x.startswith("{")]
            if not parts:
                continue
            if parts[0] == "crate":
                abs_ = parts[1:]
            elif parts[0] == "self":
                abs_ = base + parts[1:]
            else:
                up = base
                while parts and parts[0] == "super":
                    up = up[:-1]
                    parts = parts[1:]
                abs_ = up + parts
            t = resolve(m, abs_)
            if t is not None and t != m and not m.startswith(t + "::") and not t.startswith(m + "::") and t != "":
                edges[m].add(t)

# Tarjan's SCC.
index, low, stack, on, out, i = {}, {}, [], set(), [], [0]
sys.setrecursionlimit(10000)
def sc(v):
    index[v] = low[v] = i[0]; i[0] += 1; stack.append(v); on.add(v)
    for w in edges[v]:
        if w not in index:
            sc(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v: break
        if len(comp) > 1: out.append(sorted(comp))
for v in sorted(edges):
    if v not in index: sc(v)
for comp in out:
    print("cycle:", ", ".join(comp))
    for a in comp:
        for b in sorted(edges[a] & set(comp)):
            print(f"  {a} -> {b}")
print(f"{len(mods)} modules, {sum(len(e) for e in edges.values())} edges, {len(out)} cycles")
sys.exit(1 if out else 0)
