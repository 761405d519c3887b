#!/usr/bin/env python3
"""layers.py -- the real file-level call graph must follow the layer order
written in src/internal.h's header comment.

The graph comes from the objects, not the sources: for every build/obj/*.o and
build/obj/os/*.o, `nm` gives the global symbols it defines and the ones it
uses (U); a used symbol defined by another goheap object is an edge
"user -> definer" (calls and data references alike; inline functions count
where they are inlined).

The order is the block of src/internal.h's header comment that starts with the
line "Layers, bottom up (checked by tools/lint/layers.py):" and ends at the
next blank comment line. In it:
  a line of file names       one layer, bottom up; files are named as their
                             objects under build/obj, without .o (os/os_linux)
  everywhere: f g ...        files every layer may use; they themselves may use
                             only each other and the bottom layer
  back edges:                the lines after it are deliberate exceptions,
  a -> b: reason             "a -> b, c: reason" lists several
An edge A -> B is allowed when B is in a lower layer than A, or the same one,
or B is an "everywhere" file, or the edge is listed. Fails, naming them, on
every edge that breaks the order unlisted, every listed edge that no longer
exists or that the order allows anyway (stale), and every object missing from
the block or named there without an object.

usage: layers.py [--root DIR] [--header FILE] [--obj DIR] [--graph]
  --graph prints the whole graph (edge: symbols) and exits 0.
"""
import argparse
import glob
import os
import re
import subprocess
import sys

START = "Layers, bottom up (checked by tools/lint/layers.py):"


def symbols(obj):
    r = subprocess.run(["nm", "-P", obj], capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"layers: nm -P {obj} failed: {r.stderr.strip()[:200]}")
    out = r.stdout
    defined, used = set(), set()
    for line in out.splitlines():
        f = line.split()
        if len(f) < 2:
            continue
        name, kind = f[0], f[1]
        if kind == "U":
            used.add(name)
        elif kind.isupper():  # T D B R C V W ...: global definitions
            defined.add(name)
    return defined, used


def graph(objdir):
    objs = sorted(glob.glob(os.path.join(objdir, "*.o")) + glob.glob(os.path.join(objdir, "*", "*.o")))
    if not objs:
        sys.exit(f"layers: no objects under {objdir} (build first)")
    definer, uses = {}, {}
    for o in objs:
        name = os.path.relpath(o, objdir)[:-2]
        d, u = symbols(o)
        uses[name] = u
        for s in d:
            definer.setdefault(s, name)
    edges = {}
    for a, u in uses.items():
        for s in u:
            b = definer.get(s)
            if b and b != a:
                edges.setdefault((a, b), set()).add(s)
    return set(uses), edges


def parse_order(header):
    try:
        lines = open(header, encoding="utf-8").read().splitlines()
    except OSError as e:
        sys.exit(f"layers: {e}")
    body = None
    for i, line in enumerate(lines):
        if START in line:
            body = []
            for j in range(i + 1, len(lines)):
                raw = lines[j]
                end = "*/" in raw
                t = re.sub(r"^\s*\*+(?!/)", "", raw.split("*/")[0]).strip()
                if not t:
                    break
                body.append((j + 1, t))
                if end:
                    break
            break
    if body is None:
        sys.exit(f'layers: {header}: no line "{START}" in the header comment')
    layers, everywhere, listed, errors = [], set(), {}, []
    in_back = False
    for ln, t in body:
        where = f"{header}:{ln}"
        if t.lower().startswith("everywhere:"):
            everywhere.update(t.split(":", 1)[1].split())
            continue
        if t.lower().startswith("back edges"):
            in_back = True
            continue
        if in_back:
            m = re.match(r"^([\w/.]+(?:\s*,\s*[\w/.]+)*)\s*->\s*([\w/.]+(?:\s*,\s*[\w/.]+)*)\s*:\s*(.*)$", t)
            if not m:
                if listed and not re.search(r"->", t):
                    continue  # a reason continued on the next line
                errors.append(f"{where}: cannot read back edge {t!r} (want 'a -> b: reason')")
                continue
            if not m.group(3):
                errors.append(f"{where}: back edge without a reason: {t}")
            for a in re.split(r"\s*,\s*", m.group(1)):
                for b in re.split(r"\s*,\s*", m.group(2)):
                    listed[(a, b)] = ln
        else:
            layers.append((ln, t.split("--")[0].split()))
    return layers, everywhere, listed, errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=".")
    ap.add_argument("--header")
    ap.add_argument("--obj")
    ap.add_argument("--graph", action="store_true")
    args = ap.parse_args()
    header = os.path.normpath(args.header or os.path.join(args.root, "src", "internal.h"))
    objdir = args.obj or os.path.join(args.root, "build", "obj")
    files, edges = graph(objdir)
    if args.graph:
        for (a, b), syms in sorted(edges.items()):
            print(f"{a} -> {b}: {' '.join(sorted(syms))}")
        return 0
    header = os.path.relpath(header)
    layers, everywhere, listed, problems = parse_order(header)
    rank = {}
    for i, (ln, names) in enumerate(layers):
        for f in names:
            if f in rank:
                problems.append(f"{header}:{ln}: {f} named twice in the layer order")
            rank[f] = i
    for f in everywhere:
        if f in rank:
            problems.append(f"{header}: {f} is both in a layer and 'everywhere'")
    named = set(rank) | everywhere
    for f in sorted(files - named):
        problems.append(f"{f}.o is in no layer of {header}'s layer order")
    for f in sorted(named - files):
        problems.append(f"{f} is in {header}'s layer order but there is no {f}.o")

    def allowed(a, b):
        if b in everywhere:
            return True
        if a in everywhere:
            return rank.get(b) == 0
        return a in rank and b in rank and rank[b] <= rank[a]

    for (a, b), syms in sorted(edges.items()):
        if (a, b) in listed or a not in named or b not in named:
            continue
        if not allowed(a, b):
            s = sorted(syms)
            more = f" +{len(s) - 4}" if len(s) > 4 else ""
            problems.append(f"back edge {a} -> {b} not listed ({' '.join(s[:4])}{more})")
    for (a, b), ln in sorted(listed.items(), key=lambda kv: kv[1]):
        if (a, b) not in edges:
            problems.append(f"{header}:{ln}: stale back edge {a} -> {b}: {a}.o uses nothing of {b}.o")
        elif allowed(a, b):
            problems.append(f"{header}:{ln}: {a} -> {b} is listed as a back edge but the order allows it")
    if problems:
        print(f"{len(problems)} layer-order problem(s) (order: {header}; graph: layers.py --graph):")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
