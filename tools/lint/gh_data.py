#!/usr/bin/env python3
"""gh_data.py -- goheap's own globals are not roots: every writable global or
static variable lives in the linker section gh_data, which the collector
leaves out of the data segments it scans.

For each build/obj/*.o and build/obj/os/*.o, `readelf -S` lists its sections;
every allocated, writable section must be empty except:
  gh_data                       goheap's variables, by design;
  .tbss, .tdata (flag T)        thread-local: each thread's TLS block is
                                scanned or not as the collector decides;
  .init_array, .fini_array,     constructor and destructor tables, no variables;
  .preinit_array
  .data.rel.ro, .data.rel.ro.*  const tables that only need relocating (such
                                as arrays of string pointers): read-only once
                                loaded (RELRO) and set at build time, so they
                                cannot hold a heap pointer; gcc also refuses
                                ("section type conflict") to put them in one
                                named section with writable variables.
Fails naming each object, section, size and the symbols in it (objdump -t).

usage: gh_data.py [--root DIR] [--obj DIR]
"""
import argparse
import glob
import os
import re
import subprocess
import sys

SECTION = re.compile(r"^\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([A-Za-z]*)\s+\d+\s+\d+\s+\d+\s*$")
SYMBOL = re.compile(r"^[0-9a-f]+\s(.{7})\s(\S+)\t([0-9a-f]+)\s+(?:\.hidden\s+|\.protected\s+|\.internal\s+)?(\S+)\s*$")
ARRAYS = {"INIT_ARRAY", "FINI_ARRAY", "PREINIT_ARRAY"}


def run(*cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"gh_data: {' '.join(cmd)} failed: {r.stderr.strip()[:200]}")
    return r.stdout


def offending_sections(obj):
    out = []
    for line in run("readelf", "-S", "-W", obj).splitlines():
        m = SECTION.match(line)
        if not m:
            continue
        name, kind, size, flags = m.group(1), m.group(2), int(m.group(3), 16), m.group(4)
        if "A" not in flags or "W" not in flags or "T" in flags or size == 0:
            continue
        if name == "gh_data" or kind in ARRAYS or name == ".data.rel.ro" or name.startswith(".data.rel.ro."):
            continue
        out.append((name, size))
    return out


def symbols_in(obj, sections):
    syms = {s: [] for s in sections}
    for line in run("objdump", "-t", obj).splitlines():
        m = SYMBOL.match(line)
        if m and m.group(2) in syms and "d" not in m.group(1) and "f" not in m.group(1):
            syms[m.group(2)].append(m.group(4))
    return syms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=".")
    ap.add_argument("--obj")
    args = ap.parse_args()
    objdir = args.obj or os.path.join(args.root, "build", "obj")
    objs = sorted(glob.glob(os.path.join(objdir, "*.o")) + glob.glob(os.path.join(objdir, "*", "*.o")))
    if not objs:
        sys.exit(f"gh_data: no objects under {objdir} (build first)")
    found, bad = [], set()
    for o in objs:
        secs = offending_sections(o)
        if not secs:
            continue
        syms = symbols_in(o, [s for s, _ in secs])
        rel = os.path.relpath(o, objdir)
        bad.add(rel)
        for s, size in secs:
            names = sorted(set(syms[s])) or ["(no symbol: string or compiler data)"]
            found.append(f"{rel}: {s} ({size} bytes): {' '.join(names)}")
    if found:
        print(f"{len(bad)} of {len(objs)} objects have writable variables outside section gh_data:")
        print("\n".join(found))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
