#!/usr/bin/env python3
"""atomics.py -- the compiler's __atomic_* and __sync_* builtins are named only
by the gh_atomic_* helpers of src/internal.h (and in src/os/, which implements
the mutex and futex under them).

Every other call of one, in any src/*.c or src/*.h outside src/os/, is
reported as file:line with the builtin, its memory order, and the helper
that would replace it (taken from the gh_atomic_* macros that internal.h
defines now), or "no helper yet" with what one would have to do.
Comments and string literals are ignored. Allowed everywhere:
__atomic_signal_fence, a compiler-only barrier against this thread's signal
handler that touches no memory (internal.h wraps it as gh_signal_fence).
Allowed inside src/internal.h: the body of a `#define gh_atomic_*` macro
(continuation lines included) or of a `static inline ... gh_atomic_*(...)`.

usage: atomics.py [--root DIR]
"""
import argparse
import glob
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clex import blank_comments_and_strings, line_of, matching  # noqa: E402

BUILTIN = re.compile(r"\b(__atomic_\w+|__sync_\w+)\s*\(")
ALWAYS_ALLOWED = {"__atomic_signal_fence"}
HEADER = "src/internal.h"

# One name for each operation, whichever builtin spells it.
OP = {
    "__atomic_load_n": "load", "__atomic_load": "load",
    "__atomic_store_n": "store", "__atomic_store": "store",
    "__atomic_exchange_n": "exchange", "__atomic_exchange": "exchange",
    "__atomic_compare_exchange_n": "cas", "__atomic_compare_exchange": "cas",
    "__atomic_fetch_add": "add", "__atomic_add_fetch": "add",
    "__atomic_fetch_sub": "sub", "__atomic_sub_fetch": "sub",
    "__atomic_fetch_or": "or", "__atomic_or_fetch": "or",
    "__atomic_fetch_and": "and", "__atomic_and_fetch": "and",
    "__atomic_fetch_xor": "xor", "__atomic_xor_fetch": "xor",
    "__atomic_thread_fence": "thread_fence",
    # __sync builtins are all seq_cst (full barriers), except the two "lock" ones.
    "__sync_fetch_and_add": "add", "__sync_add_and_fetch": "add",
    "__sync_fetch_and_sub": "sub", "__sync_sub_and_fetch": "sub",
    "__sync_fetch_and_or": "or", "__sync_or_and_fetch": "or",
    "__sync_fetch_and_and": "and", "__sync_and_and_fetch": "and",
    "__sync_bool_compare_and_swap": "cas", "__sync_val_compare_and_swap": "cas",
    "__sync_lock_test_and_set": "exchange", "__sync_lock_release": "store",
    "__sync_synchronize": "thread_fence",
}
SYNC_ORDER = {"__sync_lock_test_and_set": ("acquire",), "__sync_lock_release": ("release",)}
NEW_VALUE = {"__atomic_add_fetch", "__atomic_sub_fetch", "__atomic_or_fetch", "__atomic_and_fetch",
             "__atomic_xor_fetch", "__sync_add_and_fetch", "__sync_sub_and_fetch", "__sync_or_and_fetch",
             "__sync_and_and_fetch"}


def orders(builtin, args):
    if builtin.startswith("__sync_"):
        return SYNC_ORDER.get(builtin, ("seq_cst",))
    return tuple(o.lower() for o in re.findall(r"__ATOMIC_(\w+)", args))


def helper_definitions(text):
    """(allowed offset ranges, {(op, orders): helper}) from internal.h's text."""
    ranges, helpers = [], {}
    for m in re.finditer(r"^[ \t]*#[ \t]*define[ \t]+(gh_atomic_\w+)\b", text, re.M):
        end = m.end()
        while True:  # the macro runs to the first line not ending in a backslash
            nl = text.find("\n", end)
            if nl < 0:
                nl = len(text)
                break
            if text[nl - 1] != "\\":
                break
            end = nl + 1
        ranges.append((m.start(), nl))
        body = text[m.end():nl]
        b = BUILTIN.search(body)
        if b and b.group(1) in OP:
            args_end = matching(body, b.end() - 1)
            helpers.setdefault((OP[b.group(1)], orders(b.group(1), body[b.end():args_end])), m.group(1))
    for m in re.finditer(r"\bstatic\s+inline\b[^;{}()]*\b(gh_atomic_\w+)\s*\(", text):
        close = matching(text, m.end() - 1)
        brace = text.find("{", close)
        if close > 0 and brace >= 0 and not text[close:brace].strip():
            end = matching(text, brace, "{}")
            ranges.append((m.start(), end))
            body = text[brace:end]
            b = BUILTIN.search(body)
            if b and b.group(1) in OP:
                args_end = matching(body, b.end() - 1)
                helpers.setdefault((OP[b.group(1)], orders(b.group(1), body[b.end():args_end])), m.group(1))
    return ranges, helpers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=".")
    args = ap.parse_args()
    src = os.path.join(args.root, "src")
    files = sorted(f for f in glob.glob(os.path.join(src, "**", "*.[ch]"), recursive=True)
                   if not os.path.relpath(f, src).startswith("os" + os.sep))
    if not files:
        sys.exit(f"atomics: no sources under {src}")
    texts = {f: blank_comments_and_strings(open(f, encoding="utf-8", errors="replace").read()) for f in files}
    header = os.path.join(src, "internal.h")
    ranges, helpers = helper_definitions(texts[header]) if header in texts else ([], {})
    found = []
    for f in files:
        text, rel = texts[f], os.path.relpath(f, args.root)
        for m in BUILTIN.finditer(text):
            name = m.group(1)
            if name in ALWAYS_ALLOWED:
                continue
            if f == header and any(a <= m.start() < b for a, b in ranges):
                continue
            close = matching(text, m.end() - 1)
            ords = orders(name, text[m.end():close if close > 0 else m.end()])
            op = OP.get(name)
            h = helpers.get((op, ords)) if op else None
            what = f"{op or name} {'/'.join(ords) or 'order?'}"
            if h:
                hint = h + (" (it returns the old value)" if name in NEW_VALUE else "")
            elif op:
                hint = f"no helper yet: {what}"
            else:
                hint = "no helper yet"
            found.append(f"{rel}:{line_of(text, m.start())}: {name} {'/'.join(ords)} -> {hint}")
    if found:
        print(f"{len(found)} raw atomic builtin call(s) outside the gh_atomic_* helpers:")
        print("\n".join(found))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
