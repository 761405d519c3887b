#!/usr/bin/env python3
"""locks.py -- every function whose name ends in `_locked` asserts its lock.

internal.h's rule: a function whose name ends in `_locked` needs the lock its
comment names. Debug builds check that with gh_assert_held(&lock); this
check makes sure every such definition (src/*.c, src/os/*.c, and static
inline ones in src/*.h) calls gh_assert_held( within the first few
statements of its body (--statements, default 3: room for a declaration or
an early return before it). Comments and strings are ignored.
Fails with "file:line: name" for each that does not.

usage: locks.py [--root DIR] [--statements N] [--list]
  --list prints every `_locked` definition and whether it asserts, and exits 0.
"""
import argparse
import glob
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clex import blank_comments_and_strings, line_of, matching  # noqa: E402

NAME = re.compile(r"\b(\w+_locked)\s*\(")


def brace_depths(text):
    depth, out = 0, [0] * (len(text) + 1)
    for i, c in enumerate(text):
        out[i] = depth
        if c == "{":
            depth += 1
        elif c == "}":
            depth = max(depth - 1, 0)
    out[len(text)] = depth
    return out


def definitions(text):
    """(name, offset of the name, offset of the body's '{', offset past its '}')."""
    depth = brace_depths(text)
    for m in NAME.finditer(text):
        if depth[m.start()] != 0:
            continue  # a call inside some body
        close = matching(text, m.end() - 1)
        if close < 0:
            continue
        rest = re.match(r"(?:\s|__attribute__\s*\(\(.*?\)\))*\{", text[close:], re.S)
        if not rest:
            continue  # a prototype or a call at file scope
        brace = close + rest.end() - 1
        yield m.group(1), m.start(), brace, matching(text, brace, "{}")


def first_statements(body, n):
    """The text of body (just inside its braces) up to the end of its n-th statement."""
    paren, count = 0, 0
    lines = [ln for ln in body.split("\n") if not ln.lstrip().startswith("#")]
    body = "\n".join(lines)
    for i, c in enumerate(body):
        if c == "(":
            paren += 1
        elif c == ")":
            paren -= 1
        elif c == ";" and paren == 0:
            count += 1
            if count == n:
                return body[:i + 1]
    return body


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=".")
    ap.add_argument("--statements", type=int, default=3)
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    src = os.path.join(args.root, "src")
    files = sorted(glob.glob(os.path.join(src, "*.c")) + glob.glob(os.path.join(src, "os", "*.c")) +
                   glob.glob(os.path.join(src, "*.h")) + glob.glob(os.path.join(src, "os", "*.h")))
    if not files:
        sys.exit(f"locks: no sources under {src}")
    bad = []
    for f in files:
        text = blank_comments_and_strings(open(f, encoding="utf-8", errors="replace").read())
        rel = os.path.relpath(f, args.root)
        for name, at, brace, end in definitions(text):
            window = first_statements(text[brace + 1:end - 1], args.statements)
            m = re.search(r"\bgh_assert_held\s*\(", window)
            ok = m is not None
            where = f"{rel}:{line_of(text, at)}: {name}"
            if args.list:
                arg = window[m.end() - 1:matching(window, m.end() - 1)] if ok else ""
                print(f"{where}: {'gh_assert_held' + arg if ok else 'no gh_assert_held'}")
            elif not ok:
                bad.append(f"{where}")
    if bad:
        print(f"{len(bad)} `_locked` function(s) without gh_assert_held( in the first {args.statements} statements:")
        print("\n".join(bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
