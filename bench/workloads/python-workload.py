"""python-workload.py -- a real program under LD_PRELOAD: CPython.

Stresses: a real interpreter's allocation traffic. bench/run.py runs it as
    PYTHONMALLOC=malloc PYTHONHASHSEED=0 python3 -I -S python-workload.py N
PYTHONMALLOC=malloc turns off CPython's own small-object allocator
(pymalloc), so every object -- ints, strings, tuples, dicts, lists, frames --
comes from the malloc under test: a flood of small short-lived objects with
a long-lived core (the dictionaries and lists kept to the end).

Work (N rounds, all deterministic): build records as dicts, serialise them
to JSON and parse them back, sort, group into a dict of lists, string
formatting and joining, a small class-instance graph, and a set of tuples.

Idea: the "real program" workloads of allocator suites (mimalloc-bench
runs lean, redis, ...); CPython with pymalloc off is the classic malloc
torture test. This script is our own.

Result: "result: <crc32>" of everything computed; it must not depend on the
allocator. Exits 3 with "WRONG:" if an internal cross-check fails.
"""
import json
import sys
import zlib


class Node:
    __slots__ = ("key", "kids", "val")

    def __init__(self, key, val):
        self.key = key
        self.val = val
        self.kids = []


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    crc = 0
    keep = []
    groups = {}
    seen = set()
    for r in range(n):
        recs = [
            {"id": r * 1000 + i, "name": "user-%d-%d" % (r, i), "tags": ["t%d" % (i % 7), "r%d" % (r % 5)],
             "score": (i * 7919 + r) % 1009, "w": [i, r, i * r]}
            for i in range(300)
        ]
        text = json.dumps(recs, sort_keys=True)
        back = json.loads(text)
        if back != recs:
            print("WRONG: json round trip", file=sys.stderr)
            sys.exit(3)
        back.sort(key=lambda d: (d["score"], d["name"]))
        for d in back:
            groups.setdefault(d["score"] % 97, []).append(d["id"])
        line = ",".join("%s:%d" % (d["name"], d["score"]) for d in back[:100])
        crc = zlib.crc32(line.encode(), crc)
        crc = zlib.crc32(text.encode(), crc)
        root = Node("root", r)
        for i in range(200):
            nd = Node("k%d" % i, i * r)
            root.kids.append(nd)
            for j in range(i % 5):
                nd.kids.append(Node("k%d.%d" % (i, j), (i, j)))
        total = sum(len(k.kids) for k in root.kids)
        seen.update((r % 50, i % 64, str(i % 13)) for i in range(400))
        crc = zlib.crc32(str(total).encode(), crc)
        if r % 10 == 0:
            keep.append(back[:50])
        if len(keep) > 20:
            keep.pop(0)
    summary = sorted((k, len(v), sum(v) % 1000003) for k, v in groups.items())
    crc = zlib.crc32(repr(summary).encode(), crc)
    crc = zlib.crc32(repr(sorted(seen)).encode(), crc)
    crc = zlib.crc32(repr([len(k) for k in keep]).encode(), crc)
    print("python-workload rounds=%d" % n)
    print("result: %08x" % crc)


main()
