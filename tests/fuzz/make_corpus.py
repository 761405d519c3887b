#!/usr/bin/env python3
"""make_corpus.py -- writes the seed corpus of tests/fuzz/fuzz_api.c.

Usage: python3 tests/fuzz/make_corpus.py [OUTDIR]   (default: tests/fuzz/corpus)

Deterministic (fixed seeds): running it again gives the same files. Each file
is a sequence of the harness's 8-byte records (see fuzz_api.c, "Input
format"): op, sub, aux, idx (2 bytes LE), sizesel, raw (2 bytes LE). One file
per operation (after a prelude that allocates objects of every kind, so the
operation has targets), a few scenarios (finalizers, roots, children, every
error, every realloc case), and some random mixes. The op numbers are read
from fuzz_api.c's op_names table.
"""
import os
import random
import re
import sys

def harness_ops():
    """The operation names, in enum order, from fuzz_api.c's op_names table."""
    src = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz_api.c")).read()
    table = re.search(r"op_names\[NOPS\] = \{(.*?)\};", src, re.S).group(1)
    return re.findall(r'"([a-z_]+)"', table)


OPS = harness_ops()
OP = {name: i for i, name in enumerate(OPS)}
MAX_LEN = 2048  # fuzz.sh's -max_len


def size_fields(size):
    """(sel, raw, aux) so that the harness's gen_size gives `size`."""
    if size <= 32:
        return 0, size, 0
    if size <= 512:
        return 100, size, 0
    if size <= 4096:
        return 160, size, 0
    if size <= 32800:
        return 200, size, 0
    if size < (1 << 20):
        return 236, size >> 4, size & 15
    assert size <= (4 << 20)
    return 250, size >> 6, size & 63  # (size must be a multiple of 64 here)


def rec(op, sub=0, aux=0, idx=0, size=None, sel=0, raw=0):
    if size is not None:
        sel, raw, saux = size_fields(size)
        aux = aux | saux
    return bytes([OP[op], sub & 255, aux & 255, idx & 255, (idx >> 8) & 255, sel & 255, raw & 255, (raw >> 8) & 255])


def align_aux(align):
    """aux for gen_align: 1..4096 as 1 << (aux % 13), above as 1 << (13 + aux % 10)."""
    shift = align.bit_length() - 1
    return shift if shift < 13 else 200 + (shift - 13)


PRELUDE = b"".join([
    rec("malloc", size=24),
    rec("malloc", size=100),
    rec("calloc", sub=2, size=64),
    rec("gh_alloc", size=40),
    rec("gh_alloc_noscan", size=7),
    rec("gh_alloc_noscan", size=3),
    rec("gh_alloc_noscan", size=200),
    rec("aligned_alloc", aux=align_aux(64), size=100),
    rec("posix_memalign", aux=align_aux(4096), size=5000),
    rec("malloc", size=40000),
    rec("gh_alloc", size=70000),
    rec("memalign", aux=align_aux(128), size=30),
    rec("valloc", size=10),
    rec("pvalloc", size=5000),
    rec("gh_alloc", size=0),
    rec("malloc", size=0),
])


def per_op_files():
    files = {}
    for name in OPS:
        body = bytearray(PRELUDE)
        for k in range(24):
            sub = (k * 37 + 11) & 255 if k >= 8 else k
            body += rec(name, sub=sub, aux=(k * 29) & 255, idx=k * 3, size=[1, 8, 17, 100, 1000, 5000, 33000, 24][k % 8])
        body += rec("verify")
        files["op-" + name] = bytes(body)
    return files


def scenarios():
    s = {}
    # every realloc case (sub % 8), both calls, on every object of the prelude
    b = bytearray(PRELUDE)
    for op in ("realloc", "reallocarray"):
        for v in range(8):
            for idx in range(0, 16, 3):
                b += rec(op, sub=v | (idx << 3), aux=idx * 5, idx=idx, size=[9, 70, 3000, 50000, 16][idx % 5])
    s["realloc-all"] = bytes(b[:MAX_LEN])
    # aligned allocations: every alignment up to 4 MiB, good and bad
    b = bytearray()
    for shift in range(23):
        for op in ("posix_memalign", "aligned_alloc", "memalign"):
            b += rec(op, sub=shift, aux=align_aux(1 << shift), size=[0, 1, 100, 9000][shift % 4])
    for bad in range(9):
        b += rec("posix_memalign", sub=224 + bad, size=10) + rec("aligned_alloc", sub=224 + bad, size=10)
    b += rec("free_aligned_sized", idx=0) * 8 + rec("verify")
    s["aligned-all"] = bytes(b[:MAX_LEN])
    # finalizers: set, drop, collect, replace, remove, on tiny and large objects
    b = bytearray(PRELUDE)
    for k in range(6):
        b += rec("gh_alloc", size=[16, 48, 5000, 40000, 1, 200][k])
        b += rec("gh_alloc_noscan", size=[5, 12, 64, 9][k % 4])
    for idx in range(20):
        b += rec("finalizer", sub=idx % 3, idx=idx)
    b += rec("finalizer", sub=3, idx=2) + rec("finalizer", sub=0, idx=4)
    b += rec("finalizer", sub=205, idx=5) + rec("finalizer", sub=245, idx=7)
    b += rec("drop", idx=1) + rec("drop", idx=3) + rec("collect") + rec("gh_free", idx=2) + rec("collect", sub=3)
    s["finalizers"] = bytes(b)
    # finalizer on a parent whose child must stay alive while it runs
    b = bytearray()
    for k in range(8):
        b += rec("gh_alloc", size=64 + 16 * k)
        b += rec("child", sub=0 if k % 2 else 2, idx=k, size=[24, 7, 300, 40000][k % 4])
        b += rec("finalizer", sub=1, idx=k)
    b += rec("drop", idx=0) + rec("drop", idx=1) + rec("collect") + rec("collect") + rec("verify")
    s["finalizer-child"] = bytes(b)
    # roots: register the page, move pointers there, collect, move back, unregister
    b = bytearray()
    for k in range(12):
        b += rec("gh_alloc", size=[32, 8, 100, 50000][k % 4]) + rec("gh_alloc_noscan", size=[5, 300][k % 2])
    for k in range(12):
        b += rec("roots", sub=1, idx=k, raw=k * 7)
    b += rec("collect") + rec("verify")
    b += rec("roots", sub=3, idx=1) + rec("roots", sub=4, aux=40, raw=3) + rec("roots", sub=4, aux=0, raw=9)
    b += rec("collect") + rec("roots", sub=5, raw=1) + rec("roots", sub=0) + rec("collect")
    s["roots"] = bytes(b)
    # children of malloc'd and scan parents; collections must keep them
    b = bytearray()
    for k in range(10):
        b += rec("malloc" if k % 2 else "gh_alloc", size=[8, 16, 100, 3000, 40000][k % 5])
    for k in range(10):
        b += rec("child", sub=(k % 2) * 2, idx=k, size=[1, 15, 16, 64, 9000][k % 5])
    b += rec("collect") + rec("realloc", sub=0, idx=3, size=2) + rec("realloc", sub=1, idx=4, size=5000)
    b += rec("child", sub=1, idx=5) + rec("collect") + rec("free", idx=1) + rec("collect") + rec("verify")
    s["children"] = bytes(b)
    # every deliberate error, through every call
    b = bytearray(PRELUDE)
    for sub in range(24):
        b += rec("err_foreign", sub=sub, aux=sub * 3)
    for sub in range(12):
        b += rec("err_interior", sub=sub, aux=sub + 1, idx=sub, raw=sub * 13)
    for sub in range(16):
        b += rec("malloc", size=[24, 100, 9000, 40000][sub % 4])
        b += rec("err_double", sub=(sub * 4 + sub % 4) & 255, idx=sub * 5)
    for sub in range(8):
        b += rec("err_sized", sub=sub, idx=sub * 2, raw=sub * 100)
    b += rec("child", sub=6, idx=0) + rec("verify")
    s["errors"] = bytes(b[:MAX_LEN])
    # GC percent changes with allocation pressure
    b = bytearray()
    for v in range(6):
        b += rec("gc_percent", sub=v)
        for k in range(8):
            b += rec("gh_alloc", size=[100000, 300000, 64, 3000][k % 4]) + rec("drop", idx=k)
        b += rec("stats")
    s["gc-percent"] = bytes(b)
    # unsatisfiable requests
    b = bytearray()
    for sub in range(10):
        for aux in (0, 7, 15, 250):
            b += rec("fail_alloc", sub=sub, aux=aux) + rec("fail_alloc", sub=sub + 16, aux=aux)
    s["fail-alloc"] = bytes(b)
    # many small objects of one class, freed in a mix of ways, then trim
    b = bytearray()
    for k in range(120):
        b += rec("malloc" if k % 3 else "gh_alloc", size=48)
    for k in range(60):
        b += rec(["free", "free_sized", "gh_free", "drop"][k % 4], idx=k * 7)
    b += rec("trim") + rec("trim", sub=1) + rec("stats") + rec("verify")
    s["one-class"] = bytes(b)
    # tiny objects sharing blocks
    b = bytearray()
    for k in range(40):
        b += rec("gh_alloc_noscan", size=[1, 2, 3, 4, 5, 6, 7, 8, 12, 15, 16, 0][k % 12])
    for k in range(20):
        b += rec(["gh_free", "base", "finalizer", "err_interior", "realloc"][k % 5], sub=k, idx=k * 3, size=k + 3)
    b += rec("collect") + rec("verify")
    s["tiny"] = bytes(b)
    return s


def random_mixes(n):
    out = {}
    for i in range(n):
        r = random.Random(1000 + i)
        nrec = r.randint(32, 200)
        b = bytearray()
        for _ in range(nrec):
            op = r.choice(OPS + ["malloc", "gh_alloc", "gh_alloc_noscan", "free", "drop"] * 3)
            sel = r.choice([r.randrange(0, 100)] * 6 + [r.randrange(100, 220)] * 3 + [r.randrange(220, 256)])
            b += rec(op, sub=r.randrange(256), aux=r.randrange(256), idx=r.randrange(65536), sel=sel, raw=r.randrange(65536))
        out["mix-%02d" % i] = bytes(b)
    return out


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    os.makedirs(outdir, exist_ok=True)
    files = {}
    files.update(per_op_files())
    files.update(scenarios())
    files.update(random_mixes(12))
    for old in os.listdir(outdir):
        if old not in files:
            os.remove(os.path.join(outdir, old))
    total = 0
    for name, data in sorted(files.items()):
        assert len(data) <= MAX_LEN, (name, len(data))
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)
        total += len(data)
    print("make_corpus: %d files, %d bytes in %s" % (len(files), total, outdir))


if __name__ == "__main__":
    main()
