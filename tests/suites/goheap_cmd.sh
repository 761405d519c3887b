#!/usr/bin/env bash
# goheap_cmd.sh -- the goheap command (tools/goheap/goheap.c) and the heap
# dump it draws (src/heapdump.c, gh_dump_heap).
#
#   goheap --help, --version (the version of include/goheap.h);
#   goheap run: arguments (spaces, quotes, empty strings, globs) reach the
#     program unchanged; it execs (the program has goheap's pid); the exit
#     status (0, 3, 255) and a death by signal (SIGTERM, SIGSEGV: 143, 139)
#     are the program's; libgoheap is mapped in the program, found through
#     --lib, GOHEAP_LIB or next to the binary; existing LD_PRELOAD entries
#     are kept after it; --stats prints the summary; every option reaches the
#     library (GOHEAP_VERBOSE=1's table: --gogc, --memlimit, --gctrace,
#     --json, --profile, --profile-rate, --leaks, --leaks-exitcode, --dump);
#     --json writes JSON to its file with %p replaced; a missing program gives
#     127, a file that cannot be executed 126, bad usage 2;
#   gh_dump_heap: tests/goheap/mapheap.c builds a known heap (1000 malloc(48)
#     of 1200 with 200 freed, 100 malloc(1 MiB), 500 gh_alloc(64), 300
#     gh_alloc_noscan(256), 1000 gh_alloc(80) of garbage and a gh_collect) and
#     dumps it before, after the 48-byte blocks (frees not swept yet) and at
#     the end; the differences are exactly those counts, the garbage is gone,
#     and each arena's records cover its pages exactly once.
#     With a registered thread that blocks the stop signal the dump fails
#     with EAGAIN, and works once that thread is gone; dumps taken while three
#     threads allocate and free are complete and consistent;
#   goheap map: the SVG is well-formed XML with one element (class "span")
#     per span record and the legend; -o - writes the same to stdout;
#     malformed dumps give exit 1 and "FILE:LINE:" of the bad line;
#   goheap run --dump of a real program writes a dump goheap map accepts.
#
# Environment: ROOT; GOHEAP_LIB (libgoheap.so), GOHEAP_A (libgoheap.a) and
# GOHEAP_TOOL (the goheap binary), by default those of $ROOT/build; CC.
# Prints PASS/FAIL lines and ends with "N passed, N failed".
set -u

ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
LIB=${GOHEAP_LIB:-$ROOT/build/libgoheap.so}
GOHEAP_A=${GOHEAP_A:-$ROOT/build/libgoheap.a}
TOOL=${GOHEAP_TOOL:-$ROOT/build/goheap}
CC=${CC:-cc}
unset LD_PRELOAD GOHEAP_STATS GOHEAP_STATS_FILE GOHEAP_VERBOSE GOHEAP_DUMP GOHEAP_PROFILE GOHEAP_LEAKCHECK
export LC_ALL=C

passed=0 failed=0
pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1${2:+ -- $2}"; }
# check NAME CMD...: passes when CMD succeeds; what CMD left in $T/why goes on the FAIL line.
check() {
  local name=$1; shift
  rm -f "$T/why"
  if "$@"; then pass "$name"; else fail "$name" "$(head -c 600 "$T/why" 2>/dev/null)"; fi
}
why() { echo "$*" >"$T/why"; return 1; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

T=$(mktemp -d "${TMPDIR:-/tmp}/gh-cmd.XXXXXX")
trap 'rm -rf "$T"' EXIT
ulimit -c 0 2>/dev/null || true

for f in "$TOOL" "$LIB" "$GOHEAP_A"; do
  [ -e "$f" ] || { fail "build: $f not found (make; make $TOOL)"; finish; }
done
LIB=$(realpath "$LIB")
PY=$(python3 -c 'import sys; print(sys.executable)')  # the interpreter itself, not a wrapper script

# run_tool OUT ERR ARGS...: the tool's exit status in $rc, its output in files.
run_tool() {
  local out=$1 err=$2; shift 2
  "$TOOL" "$@" >"$out" 2>"$err"
  rc=$?
}

# ---- --help, --version ------------------------------------------------------------
help_ok() {
  run_tool "$T/help" "$T/err" --help
  [ "$rc" -eq 0 ] || { why "status $rc"; return 1; }
  for w in "goheap run" "goheap map" --stats --json --profile --profile-rate --leaks --leaks-exitcode \
      --dump --gctrace --gogc --memlimit --lib %p; do
    grep -q -e "$w" "$T/help" || { why "--help does not mention $w"; return 1; }
  done
}
check "--help describes both commands and every option" help_ok

version_ok() {
  local v
  v=$(awk '/#define GOHEAP_VERSION_(MAJOR|MINOR|PATCH)/ {printf "%s%s", sep, $3; sep="."}' "$ROOT/include/goheap.h")
  run_tool "$T/ver" "$T/err" --version
  [ "$rc" -eq 0 ] && [ "$(cat "$T/ver")" = "goheap $v" ] || why "got '$(cat "$T/ver")' (status $rc), want 'goheap $v'"
}
check "--version prints include/goheap.h's version" version_ok

# ---- goheap run: arguments, exec, status, signals -------------------------------------
args_ok() {
  local a=("a b" "" '"double"' "it's" '$HOME' '*' '  lead' 'tab	x' '\n')
  printf '[%s]\n' "${a[@]}" >"$T/want"
  "$TOOL" run --lib "$LIB" -- printf '[%s]\n' "${a[@]}" >"$T/got" 2>"$T/err" || { why "status $?"; return 1; }
  cmp -s "$T/want" "$T/got" || why "$(diff "$T/want" "$T/got" | head -5)"
}
check "run passes arguments with spaces, quotes and empty strings unchanged" args_ok

exec_ok() { # goheap execs: the program has the pid the goheap process had
  local out
  out=$(sh -c 'echo $$; exec "$0" run --lib "$1" -- sh -c "echo \$\$"' "$TOOL" "$LIB")
  [ "$(echo "$out" | sort -u | wc -l)" -eq 1 ] || why "pids differ: $out"
}
check "run execs the program (same process)" exec_ok

status_ok() {
  local want=$1; shift
  ("$TOOL" run --lib "$LIB" -- "$@"; exit $?) 2>/dev/null # the subshell reports the signal, into /dev/null
  local got=$?
  [ "$got" -eq "$want" ] || why "status $got, want $want"
}
check "run passes exit status 0" status_ok 0 sh -c 'exit 0'
check "run passes exit status 3" status_ok 3 sh -c 'exit 3'
check "run passes exit status 255" status_ok 255 sh -c 'exit 255'
check "run passes death by SIGTERM (143)" status_ok 143 sh -c 'kill -TERM $$'
check "run passes death by SIGSEGV (139)" status_ok 139 sh -c 'kill -SEGV $$'

# ---- goheap run: the library --------------------------------------------------------------
mapped() { # FILE LIB: LIB is mapped in the process whose maps are in FILE
  grep -q -F "$2" "$1" || { why "$2 not in the program's /proc/self/maps: $(grep -c . "$1") lines"; return 1; }
}
maps_ok() {
  "$TOOL" run --lib "$LIB" -- cat /proc/self/maps >"$T/maps" 2>"$T/err" || { why "status $?"; return 1; }
  mapped "$T/maps" "$LIB"
}
check "run: the program has libgoheap mapped (--lib)" maps_ok

env_lib_ok() {
  GOHEAP_LIB=$LIB "$TOOL" run -- cat /proc/self/maps >"$T/maps" 2>"$T/err" || { why "status $?"; return 1; }
  mapped "$T/maps" "$LIB"
}
check "run: GOHEAP_LIB chooses the library" env_lib_ok

default_lib_ok() { # no --lib, no GOHEAP_LIB: the installed library, or the one beside the binary
  env -u GOHEAP_LIB "$TOOL" run -- cat /proc/self/maps >"$T/maps" 2>"$T/err" || { why "status $? $(cat "$T/err")"; return 1; }
  grep -q 'libgoheap\.so' "$T/maps" || why "no libgoheap in the program's maps"
}
check "run finds a library by itself" default_lib_ok

preload_kept_ok() {
  local other
  other=$(ldd /bin/true | awk '/libc\.so/ {print $3}')
  [ -n "$other" ] || other=/lib/x86_64-linux-gnu/libc.so.6
  LD_PRELOAD=$other "$TOOL" run --lib "$LIB" -- sh -c 'echo "$LD_PRELOAD"' >"$T/pre" 2>"$T/err"
  [ "$(cat "$T/pre")" = "$LIB:$other" ] || why "LD_PRELOAD is '$(cat "$T/pre")', want '$LIB:$other'"
}
check "run keeps existing LD_PRELOAD entries after libgoheap" preload_kept_ok

stats_ok() { # (a program that allocates: sh -c 'true' may never call malloc, and print nothing)
  "$TOOL" run --lib "$LIB" --stats -- ls "$ROOT" 2>"$T/err" >/dev/null || { why "status $?"; return 1; }
  grep -q 'heap summary' "$T/err" || why "no heap summary on stderr: $(head -3 "$T/err")"
}
check "run --stats prints goheap's heap summary" stats_ok

options_ok() { # every option reaches the library: GOHEAP_VERBOSE=1 prints the table
  GOHEAP_VERBOSE=1 "$TOOL" run --lib "$LIB" --gogc 50 --memlimit 1GiB --gctrace --profile "$T/prof.%p" \
    --profile-rate=4096 --leaks --leaks-exitcode 7 --dump "$T/dump.%p" --json "$T/stats.%p.json" -- true 2>"$T/err"
  for want in GOHEAP_GOGC=50 GOHEAP_MEMLIMIT=1073741824 GOHEAP_DEBUG=gctrace=1 "GOHEAP_PROFILE=$T/prof.%p" \
      GOHEAP_PROFILE_RATE=4096 GOHEAP_LEAKCHECK=1 GOHEAP_LEAKCHECK_EXITCODE=7 "GOHEAP_DUMP=$T/dump.%p" \
      GOHEAP_STATS=json "GOHEAP_STATS_FILE=$T/stats.%p.json"; do
    grep -q -F "goheap:   $want " "$T/err" || { why "the library did not get $want"; return 1; }
  done
}
check "run: every option reaches the library (GOHEAP_VERBOSE table)" options_ok

json_ok() {
  rm -f "$T"/j.*.json
  "$TOOL" run --lib "$LIB" --json "$T/j.%p.json" -- sh -c 'echo $$ >"$0"; exec ls "$1"' "$T/j.pid" "$ROOT" >/dev/null 2>"$T/err" ||
    { why "status $?"; return 1; }
  local f="$T/j.$(cat "$T/j.pid").json"
  [ -s "$f" ] || { why "no $f: $(ls "$T")"; return 1; }
  python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$f" 2>"$T/why"
}
check "run --json FILE writes JSON to FILE with %p replaced by the pid" json_ok

code_ok() { # want, args...: the tool's status (and a "goheap: " message unless 0)
  local want=$1; shift
  "$TOOL" "$@" >"$T/out" 2>"$T/err"
  local got=$?
  [ "$got" -eq "$want" ] || { why "status $got, want $want; stderr: $(head -2 "$T/err")"; return 1; }
  [ "$want" -eq 0 ] || grep -q '^goheap: ' "$T/err" || why "no 'goheap: ' message on stderr"
}
printf 'echo hi\n' >"$T/noexec.sh" && chmod 644 "$T/noexec.sh"
check "run of a missing program: 127" code_ok 127 run --lib "$LIB" -- "$T/no-such-program"
check "run of a program not in PATH: 127" code_ok 127 run --lib "$LIB" no-such-program-xyz
check "run of a file that is not executable: 126" code_ok 126 run --lib "$LIB" -- "$T/noexec.sh"
check "run without '--' when PROGRAM does not start with '-'" code_ok 0 run --lib "$LIB" --stats true
check "run: unknown option: 2" code_ok 2 run --lib "$LIB" --no-such-option -- true
check "run: option without its argument: 2" code_ok 2 run --lib "$LIB" --json
check "run: bad --gogc value: 2" code_ok 2 run --lib "$LIB" --gogc lots -- true
check "run: bad --memlimit value: 2" code_ok 2 run --lib "$LIB" --memlimit 1gigabyte -- true
check "run: bad --leaks-exitcode value: 2" code_ok 2 run --lib "$LIB" --leaks-exitcode 300 -- true
check "run: no program: 2" code_ok 2 run --lib "$LIB" --stats
check "run: a --lib that does not exist: 2" code_ok 2 run --lib "$T/nolib.so" -- true
check "unknown command: 2" code_ok 2 frobnicate
check "no command: 2" code_ok 2
check "map without -o: 2" code_ok 2 map "$T/x.dump"

# ---- gh_dump_heap: a known heap ---------------------------------------------------------------
if ! $CC -O2 -g -Wall -Wextra -I"$ROOT/include" "$ROOT/tests/goheap/mapheap.c" "$GOHEAP_A" -lpthread -ldl \
    -o "$T/mapheap" 2>"$T/cc.err"; then
  fail "build: tests/goheap/mapheap.c against $GOHEAP_A" "$(head -5 "$T/cc.err")"
  finish
fi
pass "build: tests/goheap/mapheap.c"

check "mapheap dumps its heap (gh_dump_heap returns 0)" "$T/mapheap" "$T/heap.dump"

# The dump against what mapheap built (the .base dump holds the C library's own blocks).
cat >"$T/dumpcheck.py" <<'PY'
import sys
def load(path):
    lines = open(path).read().split("\n")
    assert lines[-1] == "", "no newline at the end"
    recs = [l.split(" ") for l in lines[:-1]]
    assert recs[0] == ["goheap-heapdump", "1"], "first line %r" % recs[0]
    assert recs[1][0] == "pid" and recs[2] == ["pagesize", "8192"], "pid/pagesize lines"
    assert recs[-1] == ["end"], "last line %r" % recs[-1]
    return recs
def spans(recs, kind, elemsize, npages=None):
    return [r for r in recs if r[0] == "span" and r[6] == kind and int(r[7]) == elemsize
            and (npages is None or int(r[2]) == npages)]
def allocated(recs, kind, elemsize, npages=None):
    return sum(int(r[9]) for r in spans(recs, kind, elemsize, npages))
def coverage(recs):  # each arena's pages covered exactly once, in address order
    arenas = [(int(r[1], 16), int(r[2])) for r in recs if r[0] == "arena"]
    assert arenas, "no arena"
    runs = [(int(r[1], 16), int(r[2])) for r in recs if r[0] in ("span", "free", "reserved")]
    addr = None
    for abase, size in arenas:
        end = abase + size
        if addr is None or addr < abase: addr = abase
        while runs and runs[0][0] < end:
            start, n = runs.pop(0)
            assert start == addr, "gap or overlap at %#x (expected %#x)" % (start, addr)
            addr = start + n * 8192
        assert addr >= end, "arena %#x: pages from %#x on have no record" % (abase, addr)
    assert not runs, "records outside the arenas"
def check(name, fn):  # fn returns (ok, detail); an exception is a failure too
    try:
        ok, detail = fn()
    except Exception as e:
        ok, detail = False, "%s: %s" % (type(e).__name__, e)
    print(("PASS " if ok else "FAIL ") + name + ("" if ok else " -- " + (detail or "no")))
def covers(recs):
    coverage(recs)
    return True, ""
def delta(recs, kind, elemsize, want, npages=None):
    got = allocated(recs, kind, elemsize, npages) - allocated(base, kind, elemsize, npages)
    return got == want, "got %d" % got
def large_ok():
    n = len(spans(dump, "manual", 1 << 20, 128)) - len(spans(base, "manual", 1 << 20, 128))
    ok, detail = delta(dump, "manual", 1 << 20, 100, 128)
    return ok and n == 100, "spans %d, %s" % (n, detail)
def all_spans(pred):
    bad = [" ".join(r) for r in dump if r[0] == "span" and not pred(r)]
    return not bad, "e.g. " + (bad[0] if bad else "")
if sys.argv[1] == "--cover":  # only the coverage of each dump given
    for f in sys.argv[2:]:
        coverage(load(f))
    sys.exit(0)
base, mid, dump = load(sys.argv[1] + ".base"), load(sys.argv[1] + ".mid"), load(sys.argv[1])
check("dump (before): records cover every arena page once", lambda: covers(base))
check("dump (middle): records cover every arena page once", lambda: covers(mid))
check("dump (after): records cover every arena page once", lambda: covers(dump))
check("dump: 48-byte manual spans hold 1000 more objects", lambda: delta(dump, "manual", 48, 1000))
check("dump: ... and already before the frees of 200 are swept", lambda: delta(mid, "manual", 48, 1000))
check("dump: 100 more large manual spans of 128 pages, each allocated", large_ok)
check("dump: 64-byte collected (scan) spans hold 500 more objects", lambda: delta(dump, "scan", 64, 500))
check("dump: 256-byte noscan spans hold 300 more objects", lambda: delta(dump, "noscan", 256, 300))
check("dump: the 1000 unreachable 80-byte objects were collected (fewer than 50 left)",
      lambda: (allocated(dump, "scan", 80) < 50, "got %d" % allocated(dump, "scan", 80)))
check("dump: span states are Go's (mSpanInUse)", lambda: all_spans(lambda r: r[3] == "mSpanInUse"))
check("dump: every span swept (the dump finishes the sweep)", lambda: all_spans(lambda r: r[10] == "1"))
check("dump: SPANCLASS = SIZECLASS*3 + kind",
      lambda: all_spans(lambda r: int(r[4]) == int(r[5]) * 3 + ("manual", "scan", "noscan").index(r[6])))
check("dump: large spans (size class 0) hold one object of all their pages",
      lambda: all_spans(lambda r: r[5] != "0" or (r[8] == "1" and int(r[7]) == int(r[2]) * 8192)))
print("spans %d" % sum(1 for r in dump if r[0] == "span"))
PY
if python3 "$T/dumpcheck.py" "$T/heap.dump" >"$T/dumpcheck.out" 2>&1; then
  while read -r word rest; do
    case $word in
      PASS) pass "$rest" ;;
      FAIL) fail "${rest%% -- *}" "${rest#* -- }" ;;
      spans) nspans=$rest ;;
    esac
  done <"$T/dumpcheck.out"
else
  fail "dump: mapheap's dumps can be read" "$(tail -3 "$T/dumpcheck.out")"
fi
nspans=${nspans:-0}

blocked_ok() {
  GOHEAP_STOP_TIMEOUT_MS=300 "$T/mapheap" --blocked "$T/blocked.dump" 2>"$T/err" || { why "$(tail -2 "$T/err")"; return 1; }
  tail -n 1 "$T/blocked.dump" | grep -qx end || why "the second dump is incomplete"
}
check "gh_dump_heap fails with EAGAIN while a thread blocks the stop signal, then works" blocked_ok

busy_ok() { # dumps taken while 3 threads allocate: complete, consistent, drawable
  GOHEAP_STOP_TIMEOUT_MS=5000 "$T/mapheap" --busy "$T/busy.dump" 2>"$T/err" || { why "$(tail -2 "$T/err")"; return 1; }
  python3 "$T/dumpcheck.py" --cover "$T"/busy.dump.* 2>"$T/why" || return 1
  for f in "$T"/busy.dump.*; do
    "$TOOL" map "$f" -o "$T/busy.svg" 2>"$T/why" || return 1
  done
}
check "dumps taken while other threads allocate are complete and consistent" busy_ok

# ---- goheap map ---------------------------------------------------------------------------------
svg_ok() {
  run_tool "$T/out" "$T/err" map "$T/heap.dump" -o "$T/heap.svg"
  [ "$rc" -eq 0 ] || { why "status $rc: $(head -2 "$T/err")"; return 1; }
  python3 - "$T/heap.svg" "$nspans" >"$T/why" 2>&1 <<'PY'
import sys, xml.dom.minidom
doc = xml.dom.minidom.parse(sys.argv[1])
svg = doc.documentElement
assert svg.tagName == "svg", "root is %s" % svg.tagName
els = [e for e in doc.getElementsByTagName("*") if "span" in e.getAttribute("class").split()]
assert len(els) == int(sys.argv[2]), "%d span elements for %s span records" % (len(els), sys.argv[2])
assert all(e.getAttribute("data-start").startswith("0x") for e in els), "span without data-start"
legend = [e for e in doc.getElementsByTagName("g") if e.getAttribute("id") == "legend"]
assert legend, "no legend"
text = " ".join(t.firstChild.data for t in legend[0].getElementsByTagName("text") if t.firstChild)
for w in ("manual", "collected", "free", "released", "reserved", "large"):
    assert w in text, "legend lacks %r" % w
title = " ".join(t.firstChild.data for t in doc.getElementsByTagName("text") if t.firstChild and t.getAttribute("class") == "totals")
assert "arena" in title and "spans" in title and "released" in title, "no totals line: %r" % title
PY
}
check "map: well-formed SVG, one element per span, legend and totals" svg_ok

stdout_ok() {
  run_tool "$T/stdout.svg" "$T/err" map "$T/heap.dump" -o -
  [ "$rc" -eq 0 ] && cmp -s "$T/stdout.svg" "$T/heap.svg" || why "status $rc, or differs from the file"
}
check "map -o - writes the same SVG to stdout" stdout_ok

# bad_dump NAME LINE SED-SCRIPT: the dump edited by SED-SCRIPT fails at LINE.
bad_dump() {
  local name=$1 line=$2 script=$3
  sed -e "$script" "$T/heap.dump" >"$T/bad.dump"
  run_tool "$T/out" "$T/err" map "$T/bad.dump" -o "$T/bad.svg"
  [ "$rc" -eq 1 ] || { why "status $rc, want 1"; return 1; }
  grep -q -F "$T/bad.dump:$line: " "$T/err" || why "no '$T/bad.dump:$line:' in: $(head -2 "$T/err")"
}
first_span=$(grep -n '^span' "$T/heap.dump" | head -1 | cut -d: -f1)
first_span=${first_span:-6}
nlines=$(wc -l <"$T/heap.dump")
check "map: a bad header fails at line 1" bad_dump header 1 '1s/.*/not-a-dump 1/'
check "map: an unknown version fails at line 1" bad_dump version 1 '1s/ 1$/ 2/'
check "map: a span with a field missing fails at its line" bad_dump fields "$first_span" "${first_span}s/ [0-9]*\$//"
check "map: a bad address fails at its line" bad_dump hex "$first_span" "${first_span}s/^span 0x/span 0y/"
check "map: ALLOCATED > NELEMS fails at its line" bad_dump alloc "$first_span" "${first_span}s/ [0-9]* \\([01]\\)\$/ 99999 \\1/"
check "map: an unknown kind fails at its line" bad_dump kind "$first_span" "${first_span}s/ manual / managed /"
check "map: overlapping pages fail at the later line" bad_dump overlap "$((first_span + 1))" \
  "$((first_span + 1))s/^\\([a-z]*\\) 0x[0-9a-f]*/\\1 $(awk -v n="$first_span" 'NR == n {print $2}' "$T/heap.dump")/"
check "map: a truncated dump (no end) fails after the last line" bad_dump truncated "$nlines" '$d'
check "map: text after end fails at its line" bad_dump after "$((nlines + 1))" '$a\
span'
check "map: an empty line fails at its line" bad_dump empty 4 '4s/.*//'

# ---- goheap run --dump of a real program (the library writes GOHEAP_DUMP at exit) ------------------
run_dump_ok() {
  rm -f "$T"/run.*.dump
  "$TOOL" run --lib "$LIB" --dump "$T/run.%p.dump" -- "$PY" -c 'x = [0] * 10**6; print(len(x))' >"$T/out" 2>"$T/err" ||
    { why "status $?: $(tail -2 "$T/err")"; return 1; }
  local f
  f=$(ls "$T"/run.*.dump 2>/dev/null | head -1)
  [ -n "$f" ] || { why "no dump file written (GOHEAP_DUMP at exit)"; return 1; }
  run_tool "$T/out" "$T/err" map "$f" -o "$T/run.svg"
  [ "$rc" -eq 0 ] || why "map: status $rc: $(head -2 "$T/err")"
}
check "run --dump FILE of python3 writes a dump that map accepts" run_dump_ok

finish
