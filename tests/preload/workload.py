#!/usr/bin/env python3
"""A fixed, deterministic, allocation-heavy Python workload.

Used by tests/suites/preload.sh (output compared with a run without
LD_PRELOAD) and by demo/demo.sh.  Usage: workload.py [SCALE]

Run it with PYTHONMALLOC=malloc so every Python object goes through the
preloaded malloc instead of pymalloc's private arenas.  Every result line
is deterministic for a given SCALE; the last line, "mapped: ...", says
whether the library named by $GH_EXPECT_LIB (part of a file name) is mapped
into this process: its /proc/self/maps line (the executable segment), or
"NO ..."; it is left out of comparisons.
"""
import gc
import hashlib
import json
import os
import random
import signal
import sys
import threading

SCALE = int(sys.argv[1]) if len(sys.argv) > 1 else 10
out = []


def emit(name, *vals):
    out.append(name + " " + " ".join(str(v) for v in vals))


def digest(obj):
    return hashlib.sha256(repr(obj).encode()).hexdigest()[:16]


# 1. dicts: many string keys, growth, deletion, dict of dicts
rng = random.Random(12345)
d = {}
for i in range(SCALE * 20000):
    k = "key-%d" % rng.randrange(SCALE * 8000)
    d[k] = d.get(k, 0) + i
nested = {k: {"v": v, "s": str(v) * (v % 7)} for k, v in list(d.items())[: SCALE * 2000]}
for k in list(d)[::3]:
    del d[k]
emit("dicts", len(d), sum(d.values()), len(nested), digest(sorted(d.items())[:200]))

# 2. lists: list of lists, sorting, slicing, comprehension churn
rows = [[rng.random() for _ in range(20)] for _ in range(SCALE * 1000)]
rows.sort(key=lambda r: r[3])
flat = [x for r in rows[::2] for x in r[5:15]]
chunks = [flat[i : i + 97] for i in range(0, len(flat), 97)]
emit("lists", len(rows), len(flat), len(chunks), "%.6f" % sum(flat), digest([round(r[3], 9) for r in rows[:100]]))

# 3. strings and bytes: join/split/replace/format/encode
words = ["w%x" % (i * 2654435761 % 1000003) for i in range(SCALE * 10000)]
text = " ".join(words)
parts = text.replace("a", "AAA").split("A")
up = [w.upper() + w[::-1] for w in words[::5]]
blob = b"".join(w.encode() * 3 for w in words[::7])
emit("strings", len(text), len(parts), len(up), len(blob), hashlib.sha256(blob).hexdigest()[:16])

# 4. json round trip of a nested structure
doc = {
    "items": [
        {"id": i, "name": "item-%d" % i, "tags": ["t%d" % (i % 13), "u%d" % (i % 7)],
         "vals": [i * 0.5, i ** 2 % 1009], "sub": {"a": str(i), "b": [None, True, False]}}
        for i in range(SCALE * 2000)
    ],
    "meta": {"scale": SCALE, "text": text[:5000]},
}
s = json.dumps(doc, sort_keys=True)
back = json.loads(s)
s2 = json.dumps(back, sort_keys=True, indent=1)
emit("json", len(s), len(s2), back == doc, hashlib.sha256(s.encode()).hexdigest()[:16])
del doc, back, s, s2

# 5. reference cycles and the cycle collector
class Node:
    __slots__ = ("next", "payload", "__weakref__")
for _ in range(SCALE):
    nodes = [Node() for _ in range(2000)]
    for i, n in enumerate(nodes):
        n.next = nodes[(i + 1) % len(nodes)]
        n.payload = [i] * (i % 17)
    del nodes, n
    gc.collect()
emit("cycles", SCALE, gc.collect())

# 6. threads: each builds its own structures; results collected by index.
# Objects are also handed across threads through a shared list (freed by
# another thread than the one that allocated them).
NT = 4
results = [None] * NT
shared = []
lock = threading.Lock()


def worker(t):
    r = random.Random(t)
    local = {}
    acc = 0
    for i in range(SCALE * 3000):
        key = "t%d-%d" % (t, r.randrange(5000))
        local[key] = local.get(key, "") + chr(97 + i % 26)
        if i % 50 == 0:
            with lock:
                shared.append([key] * (i % 30))
                if len(shared) > 200:
                    victim = shared.pop(0)
                    acc += len(victim)
    results[t] = (len(local), sum(len(v) for v in local.values()))
    return acc


threads = [threading.Thread(target=worker, args=(t,)) for t in range(NT)]
for th in threads:
    th.start()
for th in threads:
    th.join()
emit("threads", NT, results)
del shared[:]

# 7. fork while other threads are allocating: the child must get a working heap.
#    The child also lists a directory (opendir mallocs) and builds a dict.
stop = False


def churn():
    x = []
    while not stop:
        x.append("y" * 100)
        if len(x) > 1000:
            x = []


def lister():
    # os.listdir drops the GIL around opendir()/closedir(), which malloc and
    # free a ~32 KiB buffer: this thread can be inside malloc at fork time.
    while not stop:
        os.listdir("/usr/bin")


bg = [threading.Thread(target=churn) for _ in range(2)] + [threading.Thread(target=lister)]
for th in bg:
    th.start()
ok = 0
for i in range(16):
    pid = os.fork()
    if pid == 0:
        signal.alarm(20)  # never hang the suite if the child deadlocks
        try:
            z = {str(j): [j] * 10 for j in range(20000)}
            n = len(os.listdir("/usr/bin"))
            code = 0 if len(z) == 20000 and sum(map(len, z.values())) == 200000 and n > 0 else 1
        except BaseException:
            code = 2
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    ok += os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
stop = True
for th in bg:
    th.join()
emit("fork", ok, "of", 16)

print("\n".join(out))
lib = os.environ.get("GH_EXPECT_LIB", "libgoheap.so")
with open("/proc/self/maps") as f:
    mapped = [" ".join(line.split()) for line in f if lib in line]
mapped.sort(key=lambda m: "x" not in m.split()[1])  # the executable segment first
print("mapped:", mapped[0] if mapped else "NO (%s not in /proc/self/maps)" % lib)
