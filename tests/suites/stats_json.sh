#!/usr/bin/env bash
# stats_json.sh -- the heap statistics as JSON (gh_print_stats_json,
# GOHEAP_STATS=json, GOHEAP_STATS_FILE), checked with python3's json module.
#
#  1. tests/api/test_stats_json.c, built against $GOHEAP_A and run with two
#     file arguments, leaves the JSON it wrote and gh_read_stats's numbers
#     read right after (key=value); the checker wants: the document parses,
#     its keys and their order are the documented ones, every stats field is
#     gh_read_stats's, every metric agrees with the stats it comes from,
#     pauses_ns is the circular pause_ns unrolled, the size class table adds
#     up to heap_alloc, mallocs and frees, and the test's known mix of
#     allocations is in the right classes.
#  2. Under LD_PRELOAD=$GOHEAP_LIB, at exit: GOHEAP_STATS=json on stderr
#     (python, sqlite3, and ls, which closes its stderr before goheap's
#     destructor runs); GOHEAP_STATS_FILE with %p (one file per process, named
#     by its pid); GOHEAP_STATS=1 still the text summary, also into a file; a
#     GOHEAP_STATS_FILE that cannot be opened: one warning line, then the
#     report on stderr; GOHEAP_STATS=0: nothing.
#
# Python runs as its real interpreter (sys.executable): a pyenv shim is a
# shell script, and every process of it would write its own report.
# Environment: GOHEAP_LIB, GOHEAP_A (default: build/), CC, ROOT.
# Ends with "N passed, N failed"; exits non-zero on any failure.
set -u

ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
LIB=${GOHEAP_LIB:-$ROOT/build/libgoheap.so}
GOHEAP_A=${GOHEAP_A:-$ROOT/build/libgoheap.a}
CC=${CC:-cc}
unset GOHEAP_STATS GOHEAP_STATS_FILE GOHEAP_GOGC GOHEAP_MEMLIMIT GOHEAP_VERBOSE GOHEAP_DEBUG LD_PRELOAD
export LC_ALL=C

passed=0 failed=0
pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1${2:+ -- $2}"; }
check() { # name, command...: passes when the command succeeds
  local n=$1; shift
  if "$@" >"$TMP/why" 2>&1; then pass "$n"; else fail "$n" "$(tail -n 3 "$TMP/why" | tr '\n' ' ')"; fi
}
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/gh-stats-json.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# ---- the checker ------------------------------------------------------------------
cat >"$TMP/check.py" <<'PY'
"""check.py MODE ...: prints PASS/FAIL lines; exits 1 if any failed.
  test JSON KV HEADER   the test program's JSON against its key=value numbers
  one FILE [PID]        FILE holds exactly one report (of process PID)
  warned FILE PATH      FILE is the GOHEAP_STATS_FILE=PATH warning line, then one report"""
import json, re, sys

TOP = ["goheap_version", "pid", "metrics", "stats", "pauses_ns", "size_classes", "large"]
STATS = ("size version heap_alloc heap_objects heap_inuse heap_idle heap_released heap_sys metadata_sys "
         "mallocs frees large_allocs num_arenas num_threads heap_live num_gc next_gc pause_total_ns "
         "heap_marked num_forced_gc last_gc_ns memory_limit gc_percent finalizers_run gc_cpu_ns").split()
CLASS_KEYS = ["class", "size", "mallocs", "frees", "live_objects", "live_bytes"]
NAME = re.compile(r"^/[^:]+:[^:*/]+(?:[*/][^:*/]+)*$")  # runtime/metrics' Description.Name format
failed = 0


def check(name, ok, why=""):
    global failed
    failed += not ok
    print(("PASS " if ok else "FAIL ") + name + ("" if ok else " -- " + str(why)[:300]))


def is_int(v):
    return type(v) is int


def expected_metrics(st):
    """Each metric from the stats it is made of (mstats.c's key table)."""
    m = {
        "/gc/cycles/automatic:gc-cycles": st["num_gc"] - st["num_forced_gc"],
        "/gc/cycles/forced:gc-cycles": st["num_forced_gc"],
        "/gc/cycles/total:gc-cycles": st["num_gc"],
        "/gc/finalizers/executed:finalizers": st["finalizers_run"],
        "/gc/heap/allocs:objects": st["mallocs"],
        "/gc/heap/frees:objects": st["frees"],
        "/gc/heap/live:bytes": st["heap_marked"],
        "/gc/heap/objects:objects": st["heap_objects"],
        "/memory/classes/heap/free:bytes": st["heap_idle"] - st["heap_released"],
        "/memory/classes/heap/objects:bytes": st["heap_alloc"],
        "/memory/classes/heap/released:bytes": st["heap_released"],
        "/memory/classes/heap/unused:bytes": max(st["heap_inuse"] - st["heap_alloc"], 0),
        "/memory/classes/metadata/other:bytes": st["metadata_sys"],
        "/memory/classes/total:bytes": st["heap_sys"] + st["metadata_sys"],
    }
    if st["gc_percent"] >= 0:
        m["/gc/gogc:percent"] = st["gc_percent"]
    if st["next_gc"]:
        m["/gc/heap/goal:bytes"] = st["next_gc"]
    return m


def check_report(d, who):
    """What every report satisfies, whatever the program."""
    check(f"{who}: top-level keys, in order", list(d) == TOP, list(d))
    st, m, cls, large = d["stats"], dict(d["metrics"]), d["size_classes"], d["large"]
    check(f"{who}: stats keys, in order", list(st) == STATS, list(st))
    check(f"{who}: stats are integers", all(is_int(v) for v in st.values()))
    check(f"{who}: metric names in runtime/metrics' format", all(NAME.match(k) for k in m), list(m))
    check(f"{who}: metrics sorted by name", list(m) == sorted(m))
    cpu = m.pop("/cpu/classes/gc/total:cpu-seconds", None)
    check(f"{who}: /cpu/classes/gc/total:cpu-seconds is gc_cpu_ns in seconds",
          type(cpu) is float and round(cpu * 1e9) == st["gc_cpu_ns"], (cpu, st["gc_cpu_ns"]))
    ab, fb = m.pop("/gc/heap/allocs:bytes", None), m.pop("/gc/heap/frees:bytes", None)
    small = sum(c["mallocs"] * c["size"] for c in cls)
    check(f"{who}: /gc/heap/allocs:bytes covers the size classes' bytes and the live large blocks",
          is_int(ab) and ab >= small + large["live_bytes"], (ab, small, large["live_bytes"]))
    check(f"{who}: /gc/heap/frees:bytes == allocs:bytes - heap_alloc", is_int(fb) and fb == ab - st["heap_alloc"],
          (fb, ab, st["heap_alloc"]))
    if large["mallocs"] == 0:
        check(f"{who}: without large blocks, allocs:bytes is the size classes' bytes", ab == small, (ab, small))
    limit = m.pop("/gc/gomemlimit:bytes", None)
    check(f"{who}: /gc/gomemlimit:bytes >= the limit in effect", is_int(limit) and limit >= st["memory_limit"],
          (limit, st["memory_limit"]))
    want = expected_metrics(st)
    wrong = {k: (m.get(k), v) for k, v in want.items() if m.get(k) != v or not is_int(m.get(k))}
    check(f"{who}: every other metric agrees with stats", not wrong and set(m) == set(want),
          wrong or set(m) ^ set(want))
    n = min(st["num_gc"], 256)
    check(f"{who}: pauses_ns holds the last min(num_gc, 256) pauses", len(d["pauses_ns"]) == n
          and all(is_int(p) for p in d["pauses_ns"]), (len(d["pauses_ns"]), st["num_gc"]))
    if st["num_gc"] <= 256:
        check(f"{who}: pauses_ns adds up to pause_total_ns", sum(d["pauses_ns"]) == st["pause_total_ns"])
    check(f"{who}: each size class has the six keys", all(list(c) == CLASS_KEYS for c in cls))
    check(f"{who}: size classes ascending, sizes too", all(a["class"] < b["class"] and a["size"] < b["size"]
                                                           for a, b in zip(cls, cls[1:])))
    check(f"{who}: only classes with mallocs > 0", all(c["mallocs"] > 0 for c in cls))
    bad = [c for c in cls if c["live_objects"] != c["mallocs"] - c["frees"]
           or c["live_bytes"] != c["live_objects"] * c["size"]]
    check(f"{who}: live_objects = mallocs - frees, live_bytes = live_objects * size", not bad, bad[:3])
    check(f"{who}: large has mallocs, frees, live_bytes", list(large) == ["mallocs", "frees", "live_bytes"])
    check(f"{who}: large.mallocs == large_allocs", large["mallocs"] == st["large_allocs"])
    live = sum(c["live_bytes"] for c in cls) + large["live_bytes"]
    check(f"{who}: size_classes + large live_bytes == heap_alloc", live == st["heap_alloc"], (live, st["heap_alloc"]))
    mallocs = sum(c["mallocs"] for c in cls) + large["mallocs"]
    frees = sum(c["frees"] for c in cls) + large["frees"]
    check(f"{who}: size_classes + large mallocs, frees == mallocs, frees",
          (mallocs, frees) == (st["mallocs"], st["frees"]), ((mallocs, frees), (st["mallocs"], st["frees"])))
    check(f"{who}: heap_objects == mallocs - frees", st["heap_objects"] == st["mallocs"] - st["frees"])
    check(f"{who}: heap_sys == heap_inuse + heap_idle >= heap_released",
          st["heap_sys"] == st["heap_inuse"] + st["heap_idle"] and st["heap_idle"] >= st["heap_released"])


def load_one(text, who):
    try:
        d, end = json.JSONDecoder().raw_decode(text)
    except ValueError as e:
        check(f"{who}: parses as JSON", False, e)
        return None
    check(f"{who}: one JSON object and nothing else", text[end:].strip() == "", repr(text[end:end + 80]))
    return d


def mode_test(json_path, kv_path, header):
    d = load_one(open(json_path).read(), "test")
    if d is None:
        return
    kv = dict(line.rstrip("\n").split("=", 1) for line in open(kv_path))
    h = dict(re.findall(r"#define GOHEAP_VERSION_(MAJOR|MINOR|PATCH) (\d+)", open(header).read()))
    check("test: goheap_version is goheap.h's", d["goheap_version"] == f"{h['MAJOR']}.{h['MINOR']}.{h['PATCH']}",
          d["goheap_version"])
    check("test: pid", d["pid"] == int(kv["pid"]))
    check_report(d, "test")
    st = d["stats"]
    diff = {k: (st.get(k), int(kv[k])) for k in STATS if st.get(k) != int(kv[k])}
    check("test: every stats field equals gh_read_stats's, read after", not diff, diff)
    ring = [int(x) for x in kv["pause_ns"].split(",")]
    g = st["num_gc"]
    check("test: pauses_ns is pause_ns unrolled, oldest first",
          d["pauses_ns"] == [ring[k % 256] for k in range(g - min(g, 256), g)])
    check("test: /gc/gomemlimit:bytes is the limit the test set",
          d["metrics"]["/gc/gomemlimit:bytes"] == int(kv["gomemlimit"]))
    by_size = {c["size"]: c for c in d["size_classes"]}
    c48, c96, c1024 = by_size.get(48, {}), by_size.get(96, {}), by_size.get(1024, {})
    check("test: 48-byte class: >= 2000 mallocs, >= 1000 frees, >= 1000 live",
          c48.get("mallocs", 0) >= 2000 and c48.get("frees", 0) >= 1000 and c48.get("live_objects", 0) >= 1000, c48)
    check("test: 1024-byte class (1000-byte requests): >= 300 live", c1024.get("live_objects", 0) >= 300, c1024)
    check("test: 96-byte class (collected): >= 200 live, >= 450 of 600 dropped freed",
          c96.get("live_objects", 0) >= 200 and c96.get("frees", 0) >= 450, c96)
    check("test: large: >= 6 mallocs, >= 2 frees, >= 1408576 live bytes",
          d["large"]["mallocs"] >= 6 and d["large"]["frees"] >= 2 and d["large"]["live_bytes"] >= 1408576, d["large"])
    check("test: one forced collection at least", st["num_forced_gc"] >= 1 and st["num_gc"] >= st["num_forced_gc"])


def mode_one(path, pid=None):
    d = load_one(open(path).read(), path.rsplit("/", 1)[-1])
    if d is None:
        return
    check_report(d, path.rsplit("/", 1)[-1])
    if pid is not None:
        check(f"{path}: pid {pid}", d["pid"] == int(pid), d["pid"])


def mode_warned(path, option_path):
    first, _, rest = open(path).read().partition("\n")
    want = f"goheap: cannot write GOHEAP_STATS_FILE={option_path}: No such file or directory"
    check("warning: one line naming the file and the reason", first == want, first)
    d = load_one(rest, "after the warning")
    if d is not None:
        check_report(d, "after the warning")


{"test": mode_test, "one": mode_one, "warned": mode_warned}[sys.argv[1]](*sys.argv[2:])
sys.exit(1 if failed else 0)
PY

# py_checks NAME ARGS...: runs the checker, passes its PASS/FAIL lines on and counts them.
py_checks() {
  local n=$1; shift
  python3 "$TMP/check.py" "$@" >"$TMP/py.out" 2>&1
  local rc=$? p f
  p=$(grep -c '^PASS ' "$TMP/py.out") f=$(grep -c '^FAIL ' "$TMP/py.out")
  sed "s/^\(PASS\|FAIL\) /\1 $n: /" "$TMP/py.out"
  passed=$((passed + p)) failed=$((failed + f))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then fail "$n: the checker" "exited $rc"; fi
}

# ---- 1. the test program -------------------------------------------------------------
if [ ! -f "$GOHEAP_A" ]; then fail "build" "$GOHEAP_A not found (run make first)"; finish; fi
if ! $CC -std=gnu11 -O2 -g -Wall -Wextra -I"$ROOT/include" -I"$ROOT/tests" "$ROOT/tests/api/test_stats_json.c" \
    "$GOHEAP_A" -lpthread -ldl -o "$TMP/test_stats_json" 2>"$TMP/build.err"; then
  fail "build tests/api/test_stats_json.c against $GOHEAP_A" "$(head -c 300 "$TMP/build.err")"
  finish
fi
pass "build tests/api/test_stats_json.c against $GOHEAP_A"
timeout 120 "$TMP/test_stats_json" "$TMP/test.json" "$TMP/test.kv" >"$TMP/test.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q '^[0-9]* passed, 0 failed' "$TMP/test.out"; then
  pass "test_stats_json's own checks ($(tail -n 1 "$TMP/test.out"))"
else
  fail "test_stats_json's own checks" "status $rc: $(grep FAIL "$TMP/test.out" | head -n 3 | tr '\n' ' ')"
fi
if [ -s "$TMP/test.json" ] && [ -s "$TMP/test.kv" ]; then
  py_checks program test "$TMP/test.json" "$TMP/test.kv" "$ROOT/include/goheap.h"
else
  fail "the test program left its JSON and key=value files"
fi

# ---- 2. at exit, under LD_PRELOAD -----------------------------------------------------
if [ ! -f "$LIB" ]; then fail "library" "$LIB not found (run make first)"; finish; fi
PY=$(python3 -c 'import sys; print(sys.executable)')
run() { timeout 60 env LD_PRELOAD="$LIB" "$@"; } # run [VAR=value...] CMD...

run GOHEAP_STATS=json "$PY" -c pass 2>"$TMP/py.err"
check "GOHEAP_STATS=json python3 -c pass exits 0" test $? -eq 0
py_checks "python on stderr" one "$TMP/py.err"

out=$(run GOHEAP_STATS=json sqlite3 :memory: 'select 1' 2>"$TMP/sqlite.err")
check "GOHEAP_STATS=json sqlite3 answers 1" test "$out" = 1
py_checks "sqlite3 on stderr" one "$TMP/sqlite.err"

run GOHEAP_STATS=json ls / >/dev/null 2>"$TMP/ls.err"
py_checks "ls (closes stderr itself) on stderr" one "$TMP/ls.err"

mkdir "$TMP/files"
pid=$(run GOHEAP_STATS=json GOHEAP_STATS_FILE="$TMP/files/x.%p.json" "$PY" -c 'import os; print(os.getpid())' 2>"$TMP/file.err")
check "GOHEAP_STATS_FILE=DIR/x.%p.json: DIR/x.PID.json is written" test -s "$TMP/files/x.$pid.json"
check "GOHEAP_STATS_FILE: nothing on stderr" test ! -s "$TMP/file.err"
[ -s "$TMP/files/x.$pid.json" ] && py_checks "python into x.PID.json" one "$TMP/files/x.$pid.json" "$pid"

rm -f "$TMP/files"/*
run GOHEAP_STATS=json GOHEAP_STATS_FILE="$TMP/files/x.%p.json" bash -c "sqlite3 :memory: 'select 1' >/dev/null; true"
files=("$TMP/files"/x.*.json)
check "a shell and its sqlite3 child: two files, one per pid" test "${#files[@]}" -eq 2
for f in "${files[@]}"; do
  [ -f "$f" ] || continue
  p=${f##*/x.} p=${p%.json}
  py_checks "$(basename "$f")" one "$f" "$p"
done

run GOHEAP_STATS=1 "$PY" -c pass 2>"$TMP/text.err"
check "GOHEAP_STATS=1: the text summary on stderr" grep -q '^goheap .* heap summary (pid [0-9]*)$' "$TMP/text.err"
check "GOHEAP_STATS=1: no JSON" bash -c "! grep -q '\"metrics\"' '$TMP/text.err'"

run GOHEAP_STATS=1 GOHEAP_STATS_FILE="$TMP/files/summary.txt" "$PY" -c pass 2>"$TMP/text2.err"
check "GOHEAP_STATS=1 with GOHEAP_STATS_FILE: the summary in the file" grep -q 'heap summary' "$TMP/files/summary.txt"
check "GOHEAP_STATS=1 with GOHEAP_STATS_FILE: nothing on stderr" test ! -s "$TMP/text2.err"

missing="$TMP/no/such/dir/x.%p.json"
run GOHEAP_STATS=json GOHEAP_STATS_FILE="$missing" "$PY" -c pass 2>"$TMP/warn.err"
check "an unwritable GOHEAP_STATS_FILE does not fail the program" test $? -eq 0
py_checks "unwritable GOHEAP_STATS_FILE" warned "$TMP/warn.err" "$missing"

run GOHEAP_STATS=0 "$PY" -c pass 2>"$TMP/off.err"
check "GOHEAP_STATS=0: nothing on stderr" test ! -s "$TMP/off.err"

finish
