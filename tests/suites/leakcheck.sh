#!/usr/bin/env bash
# leakcheck.sh -- the leak check (GOHEAP_LEAKCHECK=1, gh_check_leaks; src/leakcheck.c).
#
# Part 1, known leaks reported exactly: tests/leak/known.c has one allocating
# function per leak, each with a size of its own (its header lists them: a
# direct leak from one call site called 3 times, a lost list of 10 nodes, an
# overwritten global, a large block, a lost cycle of two, leaks of a second
# thread, calloc/realloc/posix_memalign/strdup leaks), and blocks that stay
# reachable (a global, through another block, only from an anonymous mapping,
# only through an interior pointer, a __thread variable, the stack of a thread
# still blocked at exit) or are freed. Each expected group's kind, bytes and
# object count are checked, frame #0 symbolized (addr2line -f on the printed
# object+offset) to the function that allocated, nothing else reported, the
# SUMMARY totals, and the exit status (23 by default, the program's own 5 with
# GOHEAP_LEAKCHECK_EXITCODE=0, 7 with =7; tests/leak/noleak.c: 0 and nothing
# printed). All of it twice: under LD_PRELOAD=$GOHEAP_LIB, and linked with
# libgoheap.a (cc ... libgoheap.a -lpthread -ldl). A variant (-DMIDCHECK)
# calls gh_check_leaks(2) half way through main: its return value and its
# report, then gh_check_leaks(-1) (same value, nothing printed). valgrind run
# on known.c checks the test program itself: it must find exactly the
# expected totals (a compiler that drops a store would change them).
#
# Part 2, real programs against valgrind, after known.c (whose answers are
# known: a check of the matching itself): python3 (-c: a dict, a list, a
# class, json, and five 12345-byte blocks leaked through ctypes, a known leak
# that both tools must find), git (init, add, commit, log, status, diff in a
# temporary repository, fixed dates), gcc -O2 -c of a small generated file
# (driver, cc1 and as: goheap's check runs in every process since the
# environment is inherited; valgrind with --trace-children=yes, one log per
# process), sqlite3 with a fixed SQL script. Each runs plainly, under goheap's
# check (GOHEAP_LEAKCHECK=1 GOHEAP_LEAKCHECK_EXITCODE=0) and under valgrind
# --leak-check=full; tests/leak/lkreport.py matches every group goheap reports
# with valgrind's loss records by stack (the same return addresses in the same
# objects, after the allocator frames) and kind: goheap's direct leaks must be
# "definitely lost" for valgrind, its indirect ones "definitely" or
# "indirectly lost". An unconfirmed goheap report is a FAIL (its stack is
# shown); what valgrind finds and goheap does not is listed, not failed
# (different runs of a program need not leak the same). One SUMMARY line per
# program gives both tools' figures, TIME lines the wall times.
#
# Needs: cc, python3, addr2line (binutils), valgrind, git, gcc, sqlite3; a
# missing one is a FAIL, never a silent skip.
# Environment: ROOT (repo root), GOHEAP_LIB (libgoheap.so), GOHEAP_A
# (libgoheap.a), CC; for development GH_LEAK_PARTS=1 or 2 (only that part),
# GH_LEAK_KEEP=1 (keep the temporary directory: reports and valgrind logs).
# Output: PASS/FAIL lines, then "N passed, N failed". About 1 minute on 2 cores
# (valgrind: gcc 12 s, git 12 s, python3 4 s).
set -u

ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
LIB=${GOHEAP_LIB:-$ROOT/build/libgoheap.so}
LIBA=${GOHEAP_A:-$ROOT/build/libgoheap.a}
CC=${CC:-cc}
PARTS=${GH_LEAK_PARTS:-12}   # for development: 1 or 2 runs only that part
LEAK=$ROOT/tests/leak
for v in $(compgen -e | grep '^GOHEAP_'); do unset "$v"; done
unset LD_PRELOAD MALLOC_CHECK_ MALLOC_PERTURB_ PYTHONMALLOC VALGRIND_OPTS
export LC_ALL=C PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1

PY=/usr/bin/python3; [ -x "$PY" ] || PY=$(command -v python3 || true)
passed=0 failed=0
pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1${2:+ -- $2}"; }
check() { # NAME CMD...: passes when CMD succeeds
  local __name=$1; shift
  if "$@"; then pass "$__name"; else fail "$__name"; fi
}
# absorb: echo lkreport.py's output, counting its PASS/FAIL lines
absorb() {
  local line
  while IFS= read -r line; do
    case "$line" in
      PASS\ *) passed=$((passed + 1)) ;;
      FAIL\ *) failed=$((failed + 1)) ;;
    esac
    echo "$line"
  done
}
finish() {
  echo "TIME total: $(secs $(($(now_ms) - T_START))) s"
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}
now_ms() { local t=${EPOCHREALTIME//[!0-9]/}; echo $((10#$t / 1000)); }
secs() { printf '%d.%d' $(($1 / 1000)) $(($1 % 1000 / 100)); }
# timed VAR CMD...: runs CMD, its wall time in ms goes to VAR, returns its status
timed() {
  local __v=$1 t0 rc; shift
  t0=$(now_ms)
  "$@"
  rc=$?
  printf -v "$__v" '%s' $(($(now_ms) - t0))
  return $rc
}
tailerr() { [ -s "$1" ] && { echo "---- tail of $1:"; tail -n "${2:-15}" "$1"; } | sed 's/^/    /'; return 0; }
T_START=$(now_ms)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/gh-leak.XXXXXX")
[ -n "${GH_LEAK_KEEP:-}" ] && echo "keeping $TMP"
[ -n "${GH_LEAK_KEEP:-}" ] || trap 'rm -rf "$TMP"' EXIT

missing=
for p in "$CC" addr2line valgrind git gcc sqlite3; do command -v "$p" >/dev/null 2>&1 || missing="$missing $p"; done
[ -n "$PY" ] && [ -x "$PY" ] || missing="$missing python3"
[ -z "$missing" ] || fail "needed programs installed" "missing:$missing (apt-get install$missing; addr2line is in binutils)"
if [ ! -f "$LIB" ] || [ ! -f "$LIBA" ]; then
  fail "library built" "$LIB or $LIBA not found (run make)"
  finish
fi
if [ -z "$PY" ] || ! command -v addr2line >/dev/null 2>&1; then finish; fi
LK() { "$PY" "$LEAK/lkreport.py" "$@"; }
HAVE_VG=0; command -v valgrind >/dev/null 2>&1 && HAVE_VG=1

# ===========================================================================
# Part 1: known leaks, reported exactly
# ===========================================================================
CFLAGS="-O1 -g -fno-builtin-malloc -pthread -Wall"
# known.c for LD_PRELOAD and valgrind (parts 1 and 2)
$CC $CFLAGS -o "$TMP/known_vg" "$LEAK/known.c" -ldl 2>"$TMP/cc.err" || fail "known.c compiles" "$(head -c 300 "$TMP/cc.err")"

T1=$(now_ms)
if [[ "$PARTS" == *1* ]]; then

# expectations (lkreport.py known): group KIND FUNCTION BYTES COUNT [frame #0 regex]
cat >"$TMP/mid.expect" <<'EOF'
group Direct leak_direct 999 3
group Direct leak_list 72 1
group Indirect leak_list 648 9
group Direct leak_global 4000 1
group Direct leak_large 200000 1
group Direct leak_cycle 152 1
group Indirect leak_cycle 152 1
absent reach_global
absent reach_via_heap
absent reach_mmap
absent reach_interior
absent reach_tls
absent free_one
no-others
summary 206023 17 205223 7 800 10
EOF
MID_BYTES=206023
{
  grep '^group' "$TMP/mid.expect"
  cat <<'EOF'
group Direct thread_leaks 2775 5
group Direct leak_calloc 637 1
group Direct leak_realloc 2500 1
group Direct leak_realloc_inplace 780 1
group Direct leak_memalign 1000 1
group Direct leak_strdup 58 1 (^|_)strdup$
absent reach_global
absent reach_via_heap
absent reach_mmap
absent reach_interior
absent reach_tls
absent reach_thread_stack_body
absent free_one
no-others
summary 213773 27 212973 17 800 10
EOF
} >"$TMP/all.expect"
grep '^summary' "$TMP/all.expect" >"$TMP/all.summary"

# the test program itself, under valgrind: exactly the expected totals
if [ "$HAVE_VG" = 1 ]; then
  if [ -x "$TMP/known_vg" ]; then
    # This checks the fixture, not goheap: valgrind classifies a block by
    # what its scan finds, and once in a few dozen runs (1 of 3 fresh-clone
    # CI runs on 2026-12-03) a stale copy of leak_large's pointer left the
    # 200000 B block out of "definitely lost". Up to 3 runs; the count is
    # printed.
    vg_ok=0
    for try in 1 2 3; do
      timeout 120 valgrind --leak-check=full --log-file="$TMP/selfcheck.vg" "$TMP/known_vg" >/dev/null 2>&1
      if grep -q 'definitely lost: 212,973 bytes in 17 blocks' "$TMP/selfcheck.vg" &&
        grep -q 'indirectly lost: 800 bytes in 10 blocks' "$TMP/selfcheck.vg"; then vg_ok=1; break; fi
      echo "known.c under valgrind, run $try: $(grep -E '(definitely|indirectly) lost:' "$TMP/selfcheck.vg" | sed 's/^==[0-9]*== *//' | tr '\n' ' ')"
    done
    if [ $vg_ok = 1 ]; then
      pass "known.c under valgrind: definitely lost 212973 B in 17, indirectly lost 800 B in 10 (the expected totals; run $try)"
    else
      fail "known.c under valgrind: definitely lost 212973 B in 17, indirectly lost 800 B in 10 (the expected totals)" \
        "$(grep -E '(definitely|indirectly) lost:' "$TMP/selfcheck.vg" | sed 's/^==[0-9]*== *//' | tr '\n' ' ')"
    fi
  else
    fail "known.c compiles" "$(head -c 300 "$TMP/cc.err")"
  fi
fi

for mode in preload static; do
  if [ $mode = preload ]; then
    RUN=(env LD_PRELOAD="$LIB")
    LINK=(-ldl)
    DEFS=()
  else
    RUN=(env)
    LINK=("$LIBA" -lpthread -ldl)
    DEFS=(-DSTATIC_GOHEAP -I"$ROOT/include")
  fi
  K=$TMP/known_$mode M=$TMP/known_mid_$mode N=$TMP/noleak_$mode
  if ! $CC $CFLAGS "${DEFS[@]}" -o "$K" "$LEAK/known.c" "${LINK[@]}" 2>"$TMP/cc.err" ||
    ! $CC $CFLAGS "${DEFS[@]}" -DMIDCHECK -o "$M" "$LEAK/known.c" "${LINK[@]}" 2>>"$TMP/cc.err" ||
    ! $CC $CFLAGS -o "$N" "$LEAK/noleak.c" "${LINK[@]}" 2>>"$TMP/cc.err"; then
    fail "$mode: known.c and noleak.c build" "$(head -c 400 "$TMP/cc.err")"
    continue
  fi
  "${RUN[@]}" GOHEAP_LEAKCHECK=1 "$K" >"$TMP/k.$mode.out" 2>"$TMP/k.$mode.err"
  rc=$?
  why="exit status $rc"
  if [ $mode = static ] && command -v nm >/dev/null 2>&1 && ! nm "$K" | grep -q ' T gh_check_leaks$'; then
    why="$why; leakcheck.o (gh_check_leaks, and the destructor that runs the exit-time reports) is not linked in: nothing references it"
  fi
  [ $rc -eq 23 ] && grep -q '^known: done' "$TMP/k.$mode.out" &&
    pass "$mode: known.c exits 23 (GOHEAP_LEAKCHECK_EXITCODE's default)" ||
    { fail "$mode: known.c exits 23 (GOHEAP_LEAKCHECK_EXITCODE's default)" "$why"; tailerr "$TMP/k.$mode.err"; }
  absorb < <(LK known "$TMP/k.$mode.err" "$K" "$TMP/all.expect" "$mode")
  "${RUN[@]}" GOHEAP_LEAKCHECK=1 GOHEAP_LEAKCHECK_EXITCODE=0 "$K" >/dev/null 2>"$TMP/k0.err"
  rc=$?
  [ $rc -eq 5 ] && grep -q 'goheap: detected memory leaks' "$TMP/k0.err" &&
    pass "$mode: GOHEAP_LEAKCHECK_EXITCODE=0: the report, and the program's own status 5" ||
    fail "$mode: GOHEAP_LEAKCHECK_EXITCODE=0: the report, and the program's own status 5" "exit status $rc, $(grep -c 'detected memory leaks' "$TMP/k0.err") report(s)"
  "${RUN[@]}" GOHEAP_LEAKCHECK=1 GOHEAP_LEAKCHECK_EXITCODE=7 "$K" >/dev/null 2>"$TMP/k7.err"
  rc=$?
  [ $rc -eq 7 ] && pass "$mode: GOHEAP_LEAKCHECK_EXITCODE=7: exit status 7" ||
    fail "$mode: GOHEAP_LEAKCHECK_EXITCODE=7: exit status 7" "exit status $rc"
  "${RUN[@]}" GOHEAP_LEAKCHECK=1 "$N" >"$TMP/n.out" 2>"$TMP/n.err"
  rc=$?
  [ $rc -eq 0 ] && [ ! -s "$TMP/n.err" ] && grep -q '^noleak: sum 4950$' "$TMP/n.out" &&
    pass "$mode: noleak.c: exit 0, nothing on stderr" ||
    { fail "$mode: noleak.c: exit 0, nothing on stderr" "exit status $rc"; tailerr "$TMP/n.err"; }
  # gh_check_leaks(2) half way through main, with every stack recorded
  "${RUN[@]}" GOHEAP_LEAKCHECK=1 "$M" >"$TMP/m.$mode.out" 2>"$TMP/m.$mode.err"
  rc=$?
  if [ "$(cat "$TMP/m.$mode.out")" = "$(printf 'midcheck %s\nquietcheck %s\nknown: done' $MID_BYTES $MID_BYTES)" ]; then
    pass "$mode: gh_check_leaks(2) half way returns $MID_BYTES, gh_check_leaks(-1) then too"
  else
    fail "$mode: gh_check_leaks(2) half way returns $MID_BYTES, gh_check_leaks(-1) then too" \
      "stdout: $(tr '\n' ' ' <"$TMP/m.$mode.out")"
  fi
  nrep=$(grep -c 'goheap: detected memory leaks' "$TMP/m.$mode.err")
  [ "$nrep" -eq 2 ] && [ $rc -eq 23 ] && pass "$mode midcheck: two reports (gh_check_leaks(2), at exit; none from fd -1), exit 23" ||
    fail "$mode midcheck: two reports (gh_check_leaks(2), at exit; none from fd -1), exit 23" "$nrep report(s), exit status $rc"
  absorb < <(LK known "$TMP/m.$mode.err" "$M" "$TMP/mid.expect" "$mode midcheck report" 0)
  absorb < <(LK known "$TMP/m.$mode.err" "$M" "$TMP/all.summary" "$mode midcheck, report at exit")
  # the API without GOHEAP_LEAKCHECK: stacks not recorded (sampled at the
  # default rate), sizes those of the slots or the requests, no report at exit
  "${RUN[@]}" "$M" >"$TMP/m2.out" 2>"$TMP/m2.err"
  rc=$?
  v=$(sed -n 's/^midcheck //p' "$TMP/m2.out")
  [ -n "$v" ] && [ "$v" -ge $MID_BYTES ] && [ "$v" -le $((MID_BYTES + 12288)) ] && [ $rc -eq 5 ] &&
    [ "$(grep -c 'detected memory leaks' "$TMP/m2.err")" -eq 1 ] &&
    pass "$mode: gh_check_leaks without GOHEAP_LEAKCHECK: $MID_BYTES..+12288 bytes (slot sizes), one report, exit 5" ||
    fail "$mode: gh_check_leaks without GOHEAP_LEAKCHECK: $MID_BYTES..+12288 bytes (slot sizes), one report, exit 5" \
      "returned '${v}', $(grep -c 'detected memory leaks' "$TMP/m2.err") report(s), exit status $rc"
done
echo "TIME part 1 (known leaks): $(secs $(($(now_ms) - T1))) s"
fi

# ===========================================================================
# Part 2: real programs, goheap's check against valgrind
# ===========================================================================
T2=$(now_ms)
GH=(env LD_PRELOAD="$LIB" GOHEAP_LEAKCHECK=1 GOHEAP_LEAKCHECK_EXITCODE=0)
# shellcheck disable=SC2054 # the commas belong to one option
VG_OPTS=(--leak-check=full --show-leak-kinds=definite,indirect --num-callers=40 -v -v --trace-children=yes)
TIMES=$TMP/times
: >"$TIMES"
# program NAME [STATUS]: runs NAME's workload (the function wl_NAME OUTDIR
# RUNNER...) plainly, under goheap's check and under valgrind, which must
# exit with STATUS (0), then compares the reports
program() {
  local n=$1 st=${2:-0} t_plain t_gh t_vg rc_gh rc_vg
  mkdir -p "$TMP/$n.plain" "$TMP/$n.gh" "$TMP/$n.vg"
  timed t_plain "wl_$n" "$TMP/$n.plain" >"$TMP/$n.plain.out" 2>"$TMP/$n.plain.err"
  timed t_gh "wl_$n" "$TMP/$n.gh" "${GH[@]}" >"$TMP/$n.gh.out" 2>"$TMP/$n.gh.err"
  rc_gh=$?
  timed t_vg "wl_$n" "$TMP/$n.vg" valgrind "${VG_OPTS[@]}" --log-file="$TMP/$n.vg/log.%p" >"$TMP/$n.vg.out" 2>"$TMP/$n.vg.err"
  rc_vg=$?
  echo "TIME $n: plain $(secs "$t_plain") s, goheap check $(secs "$t_gh") s, valgrind $(secs "$t_vg") s"
  echo "$n $t_plain $t_gh $t_vg" >>"$TIMES"
  [ $rc_gh -eq "$st" ] && pass "$n: exit $st under goheap's check" ||
    { fail "$n: exit $st under goheap's check" "exit status $rc_gh"; tailerr "$TMP/$n.gh.err"; }
  [ $rc_vg -eq "$st" ] && pass "$n: exit $st under valgrind" ||
    { fail "$n: exit $st under valgrind" "exit status $rc_vg"; tailerr "$TMP/$n.vg.err"; }
  check "$n: same output under goheap's check and valgrind as plain" \
    eval 'cmp -s "$TMP/$n.plain.out" "$TMP/$n.gh.out" && cmp -s "$TMP/$n.plain.out" "$TMP/$n.vg.out"'
  local logs=("$TMP/$n.vg"/log.*)
  if [ ! -e "${logs[0]}" ]; then
    fail "$n: valgrind wrote its logs"
    return
  fi
  absorb < <(LK compare "$n" "$TMP/$n.gh.err" "${logs[@]}")
}

# known.c first: its answers are known, so this checks the matching itself
wl_known() { local dir=$1; shift; "$@" "$TMP/known_vg"; }

# python3 -c: a dict, a list, a class, json; five 12345-byte blocks leaked through ctypes
PYPROG='import json, ctypes
class Point:
    def __init__(self, x, y): self.x, self.y = x, y
    def __repr__(self): return "Point(%d,%d)" % (self.x, self.y)
d = {("k%d" % i): [i, i * 2, str(i)] for i in range(2000)}
l = [Point(i, i * i) for i in range(2000)]
s = json.dumps({"d": d, "l": [repr(p) for p in l]}, sort_keys=True)
back = json.loads(s)
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
for i in range(5): libc.malloc(12345)
print(len(s), len(back["d"]), sum(len(v) for v in back["d"].values()), back["l"][7])'
wl_python3() { local dir=$1; shift; "$@" "$PY" -c "$PYPROG"; }

# git in a fresh repository: fixed identities and dates
wl_git() {
  local dir=$1; shift
  (
    export HOME=$dir GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=Gopher GIT_AUTHOR_EMAIL=gopher@example.org \
      GIT_COMMITTER_NAME=Gopher GIT_COMMITTER_EMAIL=gopher@example.org \
      GIT_AUTHOR_DATE="@1700000000 +0000" GIT_COMMITTER_DATE="@1700000000 +0000"
    cd "$dir" || exit 1
    "$@" git init -q -b main repo || exit 1
    cd repo || exit 1
    mkdir src
    for i in 1 2 3 4 5; do seq "$i" $((i * 50)) >"src/f$i.txt"; done
    "$@" git add . && "$@" git commit -q -m first || exit 1
    echo change >>src/f1.txt && seq 7 >src/new.txt
    "$@" git add -A && "$@" git commit -q -m second || exit 1
    echo more >>src/f2.txt
    "$@" git log --oneline --stat && "$@" git status --short && "$@" git diff HEAD~1 --stat
  )
}

# gcc -O2 -c of a generated file (driver, cc1, as)
{
  echo '#include <stdio.h>'
  echo '#include <stdlib.h>'
  echo 'struct node { struct node *next; int v; };'
  for i in $(seq 1 20); do
    echo "static int f$i(struct node *n, int a) { int s = $i; for (; n; n = n->next) s += (n->v ^ a) % ($i + 3); return s; }"
  done
  echo 'int main(int argc, char **argv) { struct node *h = NULL; (void)argv;'
  echo '  for (int i = 0; i < 100 * argc; i++) { struct node *n = malloc(sizeof *n); n->v = i; n->next = h; h = n; }'
  echo '  long s = 0;'
  for i in $(seq 1 20); do echo "  s += f$i(h, $i);"; done
  echo '  printf("%ld\n", s); return 0; }'
} >"$TMP/prog.c"
wl_gcc() { local dir=$1; shift; "$@" gcc -O2 -c -o "$dir/prog.o" "$TMP/prog.c" && echo "compiled $(test -s "$dir/prog.o" && echo ok)"; }

cat >"$TMP/t.sql" <<'EOF'
CREATE TABLE t(id INTEGER PRIMARY KEY, grp INTEGER, name TEXT);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000)
  INSERT INTO t SELECT x, x % 17, 'name-' || (x * 7919 % 10007) FROM c;
CREATE INDEX t_name ON t(name);
SELECT grp, count(*), min(name), max(name) FROM t GROUP BY grp ORDER BY grp LIMIT 3;
SELECT count(*) FROM t WHERE name LIKE 'name-12%';
UPDATE t SET name = upper(name) WHERE grp < 5;
DELETE FROM t WHERE id % 3 = 0;
SELECT count(*), sum(id) FROM t;
PRAGMA integrity_check;
EOF
wl_sqlite3() { local dir=$1; shift; "$@" sqlite3 -batch "$dir/t.db" <"$TMP/t.sql"; }

if [[ "$PARTS" != *2* ]]; then
  :
elif [ "$HAVE_VG" = 1 ]; then
  [ -x "$TMP/known_vg" ] && program known 5
  for n in python3 git gcc sqlite3; do
    case $n in python3) [ -n "$PY" ] || continue ;; *) command -v "$n" >/dev/null 2>&1 || continue ;; esac
    program "$n"
  done
  # the known leak in python3: both tools find the five ctypes blocks
  for t in goheap valgrind; do
    f=$TMP/python3.gh.err
    [ $t = valgrind ] && f=$(ls "$TMP"/python3.vg/log.* 2>/dev/null | head -n 1)
    if [ $t = goheap ]; then
      grep -q '^Direct leak of 61725 byte(s) in 5 object(s)' "$f" 2>/dev/null
    else
      grep -q '61,725 bytes in 5 blocks are definitely lost' "$f" 2>/dev/null
    fi && pass "python3: $t finds the 5 x 12345 bytes leaked through ctypes" ||
      fail "python3: $t finds the 5 x 12345 bytes leaked through ctypes" "$(grep -h -E 'SUMMARY|definitely lost:' "$f" 2>/dev/null | head -n 3 | tr '\n' ' ')"
  done
else
  fail "part 2 (real programs against valgrind)" "valgrind not installed (apt-get install valgrind)"
fi
echo "TIME part 2 (real programs): $(secs $(($(now_ms) - T2))) s"
finish
