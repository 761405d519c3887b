#!/usr/bin/env bash
# preload.sh -- real programs under LD_PRELOAD=$GOHEAP_LIB.
#
# Each program runs twice: once with the system malloc (the reference) and
# once with goheap preloaded.  The checks are that the preloaded run exits 0,
# that its output equals the reference (and, where there is one, a known
# answer), and that goheap really served it: the library shows up in the
# process's /proc/PID/maps (where the program can print that itself) and/or
# the GOHEAP_STATS=1 heap summary appears on its stderr.
#
# A missing program is a FAILED check, never a silent skip (.ci/run installs
# them all).  GH_QUICK=1 shrinks the workloads.
#
# Time limits scale with the machine.  A fixed limit fails on a busy machine
# for no fault of goheap's (the git workload once took 134 s under the system
# malloc, and more than a fixed 150 s preloaded), so every workload's
# reference run (system malloc) is timed in this same suite run, and each
# preloaded run of that workload gets
#   limit = max(GH_PRELOAD_MIN_TIMEOUT, GH_PRELOAD_FACTOR x the reference's wall time)
#         = max(60 s, 4 x reference) by default.
# Why 4: two factors of about 2, multiplied.  goheap's own cost: measured with
# GH_QUICK=1 on 2 shared cores, the preloaded run took 0.2x to 1.75x the
# reference's time (sqlite3 1.6x, g++ 1.4x, the external sort 1.6x, gcc -S
# 1.75x on 0.4 s; python, git and perl ran faster than their references).
# The load: the reference and the preloaded run are minutes apart, and on a
# shared machine the load can change in between (one more CPU-bound job on 2
# cores doubles a run's time; in that same run perl's reference took 4.3 s,
# its preloaded run 0.9 s).  So 4 ~ 1.75 x 2, rounded up: the 134 s git
# reference above would allow 536 s.  A goheap that hangs, or that is several
# times slower, still fails.  The 60 s floor keeps short workloads (gcc, the
# C++ program, sort) from failing on a scheduling
# hiccup or a cold page cache.  A reference run has only an absolute cap,
# GH_PRELOAD_REF_TIMEOUT (1200 s: the reference is not what is tested); if a
# reference hits it, its preloaded run gets the same cap.  A run stopped by
# its limit says which limit it exceeded and what the reference took, on its
# stderr and on the FAIL line.  GH_PRELOAD_TIMES=FILE appends lines
# "workload reference_s preloaded_s limit_s" to FILE (for tuning the factor).
#
# Environment: GOHEAP_LIB (absolute path of libgoheap.so), ROOT (repo root).
# For development a stand-in library can be given as GOHEAP_LIB (e.g.
# /usr/lib/x86_64-linux-gnu/libmimalloc.so.2); its "loaded" marker is then
# MIMALLOC_VERBOSE=1's "mimalloc: process init" line instead of the summary.
set -u

ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
LIB=${GOHEAP_LIB:-$ROOT/build/libgoheap.so}
QUICK=${GH_QUICK:-0}
REF_CAP=${GH_PRELOAD_REF_TIMEOUT:-${GH_PRELOAD_TIMEOUT:-1200}}  # a reference run, seconds (absolute)
FACTOR=${GH_PRELOAD_FACTOR:-4}                                 # preloaded limit = FACTOR x reference ...
MIN_TMO=${GH_PRELOAD_MIN_TIMEOUT:-60}                          # ... but at least this, seconds
TIMES=${GH_PRELOAD_TIMES:-}
unset GOHEAP_ON_ERROR GOHEAP_STATS LD_PRELOAD MALLOC_CHECK_ MALLOC_PERTURB_
export LC_ALL=C PYTHONHASHSEED=0

passed=0 failed=0
ok()  { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1${2:+ -- $2}"; }
# check NAME CMD...: one named check, passes when CMD succeeds; a reason CMD
# left in $TMP/why (a time limit exceeded) goes on the FAIL line.
check() {
  local n=$1; shift
  rm -f "$TMP/why"
  if "$@"; then ok "$n"; else bad "$n" "$(cat "$TMP/why" 2>/dev/null)"; fi
}
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }
# show the tail of a file on stderr (diagnostics for a failed check)
tailerr() { [ -s "$1" ] && { echo "---- tail of $1:" >&2; tail -n "${2:-15}" "$1" >&2; }; return 0; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/gh-preload.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# --- which library, and how it says it was loaded --------------------------
LIBNAME=$(basename "$LIB")
LIBKEY=${LIBNAME%%.so*}              # "libgoheap" / "libmimalloc": what maps lines contain
case "$LIBNAME" in
  *goheap*)   MARK_ENV=GOHEAP_STATS=1;     MARK_RE=${GH_STATS_RE:-'goheap.*heap summary'} ;;
  *mimalloc*) MARK_ENV=MIMALLOC_VERBOSE=1; MARK_RE='^mimalloc: process init' ;;
  *)          MARK_ENV=GOHEAP_STATS=1;     MARK_RE=${GH_STATS_RE:-'goheap.*heap summary'} ;;
esac
# marked FILE: the preloaded library's marker is in FILE
marked() { grep -Eqi -- "$MARK_RE" "$1"; }

if [ ! -f "$LIB" ]; then
  bad "library exists" "$LIB not found (run make)"
  finish
fi
ok "library exists ($LIB)"

# --- time limits (see the header) -------------------------------------------
# milliseconds since the epoch ($EPOCHREALTIME is "seconds.microseconds")
now_ms() { local t=${EPOCHREALTIME//[!0-9]/}; echo $((10#$t / 1000)); }
# secs MS: milliseconds as seconds with one decimal
secs() { printf '%d.%d' $(($1 / 1000)) $(($1 % 1000 / 100)); }
# ref NAME CMD...: the reference run of workload NAME (system malloc), capped
# at REF_CAP; its wall time goes to $TMP/NAME.ref_ms. Works in a pipeline.
ref() {
  local n=$1 t0 ms rc; shift
  t0=$(now_ms)
  timeout -k 5 "$REF_CAP" "$@"
  rc=$?
  ms=$(($(now_ms) - t0))
  echo "$ms $rc" >"$TMP/$n.ref_ms"
  if { [ $rc -eq 124 ] || [ $rc -eq 137 ]; } && [ $ms -ge $((REF_CAP * 1000)) ]; then
    echo "preload.sh: timed out: the reference run of '$n' (system malloc) exceeded its absolute cap of ${REF_CAP} s" >&2
  fi
  return $rc
}
# limit_of NAME: seconds allowed to a preloaded run of workload NAME, and why
limit_of() {
  local ms rc l
  if [ ! -s "$TMP/$1.ref_ms" ]; then echo "$REF_CAP no reference run was timed: the absolute cap"; return; fi
  read -r ms rc <"$TMP/$1.ref_ms"
  if { [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; } && [ "$ms" -ge $((REF_CAP * 1000)) ]; then
    echo "$REF_CAP the reference run itself hit its cap of ${REF_CAP} s"; return
  fi
  l=$(((FACTOR * ms + 999) / 1000))
  [ "$l" -lt "$MIN_TMO" ] && l=$MIN_TMO
  echo "$l max(${MIN_TMO} s, ${FACTOR} x $(secs "$ms") s, the reference run (system malloc) of the same workload)"
}
# scaled NAME CMD...: CMD under the limit that NAME's reference run set.
scaled() {
  local n=$1 lim why t0 ms rc; shift
  read -r lim why < <(limit_of "$n")
  t0=$(now_ms)
  timeout -k 5 "$lim" "$@"
  rc=$?
  ms=$(($(now_ms) - t0))
  [ -n "$TIMES" ] && echo "$n $(secs "$(cut -d' ' -f1 "$TMP/$n.ref_ms" 2>/dev/null || echo 0)") $(secs "$ms") $lim" >>"$TIMES"
  if { [ $rc -eq 124 ] || [ $rc -eq 137 ]; } && [ $ms -ge $((lim * 1000)) ]; then
    echo "preload.sh: timed out: the preloaded run of '$n' exceeded its limit of $lim s = $why; it was stopped after $(secs "$ms") s" >&2
  fi
  return $rc
}
# pre NAME CMD...: run CMD with the library preloaded and its marker enabled,
# under workload NAME's scaled limit.
pre() { local n=$1; shift; scaled "$n" env LD_PRELOAD="$LIB" "$MARK_ENV" "$@"; }
# need NAME PROG...: fail check NAME (and return 1) unless every PROG exists.
need() {
  local n=$1 p missing=; shift
  for p in "$@"; do command -v "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  [ -z "$missing" ] && return 0
  bad "$n" "not installed:$missing (apt-get install$missing)"
  return 1
}
# the "mapped" line a program printed must name the library
mapped_ok() { grep -q "^mapped: .*$LIBKEY" "$1"; }
# diff two outputs, ignoring "mapped:" lines
same() { diff <(grep -v '^mapped:' "$1") <(grep -v '^mapped:' "$2") >"$TMP/diff" 2>&1 || { tailerr "$TMP/diff" 20; return 1; }; }
# exit status check that shows stderr on failure; the line saying which time
# limit was exceeded, if one was, becomes the FAIL line's reason
rc0() {
  [ "$1" -eq 0 ] && return 0
  echo "exit status $1" >&2
  grep -h '^preload.sh: timed out' "$2" 2>/dev/null | sed 's/^preload.sh: //' | tail -n 1 >"$TMP/why"
  tailerr "$2"
  return 1
}

# ---------------------------------------------------------------------------
# 1. python3: allocation-heavy workload (dicts, lists, strings, json, cycles,
#    threads, fork from a threaded process), PYTHONMALLOC=malloc so every
#    object goes through the preloaded malloc.
# ---------------------------------------------------------------------------
PY=/usr/bin/python3; [ -x "$PY" ] || PY=$(command -v python3 || true)
if [ -n "$PY" ] && [ -x "$PY" ]; then
  W=$ROOT/tests/preload/workload.py
  S=10; [ "$QUICK" = 1 ] && S=4
  ref py env PYTHONMALLOC=malloc GH_EXPECT_LIB="$LIBKEY" "$PY" "$W" "$S" >"$TMP/py.ref" 2>"$TMP/py.ref.err"
  r0=$?
  pre py env PYTHONMALLOC=malloc GH_EXPECT_LIB="$LIBKEY" "$PY" "$W" "$S" >"$TMP/py.out" 2>"$TMP/py.err"
  r=$?
  check "python3: reference run (system malloc) exit 0" rc0 $r0 "$TMP/py.ref.err"
  check "python3: exit 0 under preload" rc0 $r "$TMP/py.err"
  check "python3: output identical to system malloc" same "$TMP/py.ref" "$TMP/py.out"
  check "python3: json round trip and fork results" grep -q '^fork 16 of 16' "$TMP/py.out"
  check "python3: $LIBKEY in /proc/self/maps" mapped_ok "$TMP/py.out"
  check "python3: heap summary on stderr" marked "$TMP/py.err"
  # the same workload with Python's own small-object allocator (pymalloc on
  # top of malloc/mmap), threads included
  pre py env GH_EXPECT_LIB="$LIBKEY" "$PY" "$W" "$S" >"$TMP/py2.out" 2>"$TMP/py2.err"
  r=$?
  check "python3 (pymalloc): exit 0 and same output" eval 'rc0 $r "$TMP/py2.err" && same "$TMP/py.ref" "$TMP/py2.out"'
else
  bad "python3" "not installed (apt-get install python3)"
fi

# ---------------------------------------------------------------------------
# 2. git: init, commit files, log, gc (multi-threaded pack-objects), fsck.
#    Fixed identities and dates make the commit ids a deterministic answer.
# ---------------------------------------------------------------------------
if need "git" git; then
  cat >"$TMP/git.sh" <<'EOF'
set -e
# $G is the git command: "git" or "env LD_PRELOAD=... git"
export HOME=$GTMP GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=Gopher GIT_AUTHOR_EMAIL=gopher@example.org \
  GIT_COMMITTER_NAME=Gopher GIT_COMMITTER_EMAIL=gopher@example.org
cd "$GTMP"
$G init -q -b main repo
cd repo
$G config gc.auto 0
$G config pack.threads 2
mkdir -p src doc
for c in $(seq 1 "$NCOMMITS"); do
  for f in $(seq 1 40); do
    i=$(( (c * 41 + f * 7) % 200 ))
    { echo "/* file $i rev $c */"; seq "$i" $((i + c * 3)); } > "src/f$i.c"
  done
  printf 'notes for commit %d\n%s\n' "$c" "$(seq -s, 1 $((c * 10)))" > doc/notes.txt
  $G add -A
  export GIT_AUTHOR_DATE="@$((1700000000 + c * 60)) +0000" GIT_COMMITTER_DATE="@$((1700000000 + c * 60)) +0000"
  $G commit -q -m "commit $c"
done
$G log --format='%H %s' | head -n 3
$G log --stat --format=%h | md5sum | sed 's/ .*/ log-stat/'
$G log -p | md5sum | sed 's/ .*/ log-p/'
$G gc -q --aggressive
$G count-objects -v | grep -E '^(count|in-pack|packs):'
$G fsck --full --strict && echo fsck-ok
$G rev-parse HEAD^{tree}
$G cat-file -p HEAD~5:src/f47.c | md5sum | sed 's/ .*/ blob/'
$G -c alias.showmaps='!grep -m1 "$GH_LIBKEY" /proc/$PPID/maps | sed "s|.* /|mapped: /|"' showmaps || echo "mapped: none"
EOF
  N=60; [ "$QUICK" = 1 ] && N=20
  mkdir -p "$TMP/gref" "$TMP/gpre"
  GTMP=$TMP/gref NCOMMITS=$N G=git GH_LIBKEY=$LIBKEY ref git bash "$TMP/git.sh" >"$TMP/git.ref" 2>"$TMP/git.ref.err"
  r0=$?
  GTMP=$TMP/gpre NCOMMITS=$N G="env LD_PRELOAD=$LIB $MARK_ENV git" GH_LIBKEY=$LIBKEY \
    scaled git bash "$TMP/git.sh" >"$TMP/git.out" 2>"$TMP/git.err"
  r=$?
  check "git: reference run exit 0" rc0 $r0 "$TMP/git.ref.err"
  check "git: init/commit/log/gc/fsck exit 0 under preload" rc0 $r "$TMP/git.err"
  check "git: commit ids, logs, packs identical to system malloc" same "$TMP/git.ref" "$TMP/git.out"
  check "git: fsck clean after gc" grep -q '^fsck-ok' "$TMP/git.out"
  check "git: $LIBKEY in git's /proc/PID/maps" mapped_ok "$TMP/git.out"
  check "git: heap summary on stderr" marked "$TMP/git.err"
fi

# ---------------------------------------------------------------------------
# 3. gcc: compile a generated C file (-O2) under preload; the assembly must
#    equal the reference compiler's and the program must print the answer.
# ---------------------------------------------------------------------------
if need "gcc" gcc; then
  NF=150; [ "$QUICK" = 1 ] && NF=50
  {
    echo '#include <stdio.h>'
    echo '#include <stdint.h>'
    echo 'struct pt { int64_t x, y; const char *name; };'
    for i in $(seq 1 "$NF"); do
      cat <<EOF
static int64_t f$i(int64_t a) {
  struct pt p = { a, a * $i, "f$i" };
  switch ((int)(a % 7)) {
  case 0: p.x += $i; break; case 1: p.y ^= $((i * 31)); break;
  case 2: p.x = p.x * 3 + p.y; break; case 3: p.y -= p.x >> 2; break;
  default: for (int k = 0; k < 5; k++) p.x += (p.y + k) % ($i + 3);
  }
  return p.x * 7 + p.y + p.name[1];
}
EOF
    done
    echo 'int main(void) { int64_t s = 0;'
    echo '  for (int64_t a = 0; a < 1000; a++) {'
    for i in $(seq 1 "$NF"); do echo "    s += f$i(a + s % 97);"; done
    echo '  }'
    echo '  printf("checksum %lld\n", (long long)s); return 0; }'
  } >"$TMP/prog.c"
  ref gcc-S gcc -O2 -S -o "$TMP/prog.ref.s" "$TMP/prog.c" 2>"$TMP/gcc.ref.err" && ref gcc-link gcc -O2 -o "$TMP/prog.ref" "$TMP/prog.c" 2>>"$TMP/gcc.ref.err"
  r0=$?
  pre gcc-S gcc -O2 -S -o "$TMP/prog.s" "$TMP/prog.c" 2>"$TMP/gcc.err" && pre gcc-link gcc -O2 -o "$TMP/prog" "$TMP/prog.c" 2>>"$TMP/gcc.err"
  r=$?
  check "gcc: reference compile exit 0" rc0 $r0 "$TMP/gcc.ref.err"
  check "gcc: compile and link exit 0 under preload" rc0 $r "$TMP/gcc.err"
  check "gcc: assembly identical to system malloc's" cmp -s "$TMP/prog.ref.s" "$TMP/prog.s"
  if [ -x "$TMP/prog" ] && [ -x "$TMP/prog.ref" ]; then
    "$TMP/prog.ref" >"$TMP/prog.ref.out"; "$TMP/prog" >"$TMP/prog.out"
    check "gcc: compiled program prints the same checksum" eval 'grep -q "^checksum " "$TMP/prog.out" && cmp -s "$TMP/prog.ref.out" "$TMP/prog.out"'
  else
    bad "gcc: compiled program prints the same checksum" "no binary"
  fi
  check "gcc: heap summary on stderr (driver, cc1, as, ld)" marked "$TMP/gcc.err"
fi

# ---------------------------------------------------------------------------
# 3b. g++: C++ (STL containers, <regex>, threads) compiled under preload; the
#    resulting binary (operator new/delete -> malloc/free, 4 threads) also runs
#    under preload.
# ---------------------------------------------------------------------------
if need "g++" g++; then
  cat >"$TMP/stl.cpp" <<'CPP'
#include <iostream>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>
int main(int argc, char **argv) {
  const int n = argc > 1 ? std::stoi(argv[1]) : 100000;
  std::vector<std::thread> ts;
  std::vector<size_t> out(4);
  for (int t = 0; t < 4; t++)
    ts.emplace_back([t, n, &out] {
      std::map<std::string, std::vector<int>> m;
      std::regex re("k([0-9]+)7");
      for (int i = 0; i < n; i++) m["k" + std::to_string(i * 31 % 50021 + t)].push_back(i);
      size_t hits = 0;
      for (auto &kv : m)
        if (std::regex_match(kv.first, re)) hits += kv.second.size();
      std::vector<std::unique_ptr<char[]>> big;
      for (int i = 0; i < 100; i++) big.emplace_back(new char[(i % 10) * 100000 + 1]());
      out[t] = hits * 100000 + m.size();
    });
  for (auto &t : ts) t.join();
  for (auto v : out) std::cout << v << "\n";
}
CPP
  NS=200000; [ "$QUICK" = 1 ] && NS=50000
  ref g++ g++ -O1 -pthread -o "$TMP/stl.ref" "$TMP/stl.cpp" 2>"$TMP/gpp.ref.err"; r0=$?
  pre g++ g++ -O1 -pthread -o "$TMP/stl" "$TMP/stl.cpp" 2>"$TMP/gpp.err"; r=$?
  check "g++: reference compile exit 0" rc0 $r0 "$TMP/gpp.ref.err"
  check "g++: compile exit 0 under preload" rc0 $r "$TMP/gpp.err"
  check "g++: binary identical to system malloc's" cmp -s "$TMP/stl.ref" "$TMP/stl"
  check "g++: heap summary on stderr (cc1plus)" marked "$TMP/gpp.err"
  if [ -x "$TMP/stl.ref" ]; then
    ref stl "$TMP/stl.ref" "$NS" >"$TMP/stl.ref.out" 2>&1
    pre stl "$TMP/stl.ref" "$NS" >"$TMP/stl.out" 2>"$TMP/stl.err"; r=$?
    check "C++ program (STL, regex, 4 threads): exit 0 and same output under preload" \
      eval 'rc0 $r "$TMP/stl.err" && same "$TMP/stl.ref.out" "$TMP/stl.out"'
  else
    bad "C++ program (STL, regex, 4 threads): exit 0 and same output under preload" "no binary"
  fi
fi

# ---------------------------------------------------------------------------
# 4. perl: a hash-heavy one-liner with a known answer.
# ---------------------------------------------------------------------------
if need "perl" perl; then
  NP=300000; [ "$QUICK" = 1 ] && NP=100000
  PL='my %h; for my $i (1..$ARGV[0]) { $h{"k" . ($i * 7919 % 200003)} .= chr(65 + $i % 26); }
      my $n = keys %h; my $s = 0; $s += length($h{$_}) for keys %h;
      my @top = (sort keys %h)[0..4]; delete @h{grep { /7$/ } keys %h};
      my %inv; push @{$inv{$h{$_}}}, $_ for keys %h;
      my $j = join(",", map { "$_=$h{$_}" } sort keys %h);
      printf "keys %d chars %d top %s left %d inv %d joined %d\n", $n, $s, "@top", scalar(keys %h), scalar(keys %inv), length $j;
      open(my $m, "<", "/proc/self/maps"); my ($l) = grep { /$ENV{GH_LIBKEY}/ } <$m>;
      print "mapped: ", ($l ? $l =~ s/.* \//\//r : "none\n");'
  GH_LIBKEY=$LIBKEY ref perl perl -e "$PL" "$NP" >"$TMP/pl.ref" 2>"$TMP/pl.ref.err"; r0=$?
  GH_LIBKEY=$LIBKEY pre perl perl -e "$PL" "$NP" >"$TMP/pl.out" 2>"$TMP/pl.err"; r=$?
  check "perl: reference run exit 0" rc0 $r0 "$TMP/pl.ref.err"
  check "perl: exit 0 under preload" rc0 $r "$TMP/pl.err"
  check "perl: output identical to system malloc" same "$TMP/pl.ref" "$TMP/pl.out"
  # known answer: 200003 is prime, so i*7919 mod 200003 takes min(N, 200003)
  # distinct values for i in 1..N, and every appended character is kept
  check "perl: known answer (keys, chars)" grep -q "^keys $((NP < 200003 ? NP : 200003)) chars $NP " "$TMP/pl.out"
  check "perl: $LIBKEY in /proc/self/maps" mapped_ok "$TMP/pl.out"
  check "perl: heap summary on stderr" marked "$TMP/pl.err"
fi

# ---------------------------------------------------------------------------
# 5. sqlite3: a fixed SQL script on a file database.
# ---------------------------------------------------------------------------
if need "sqlite3" sqlite3; then
  cat >"$TMP/t.sql" <<'EOF'
PRAGMA journal_mode=WAL;
CREATE TABLE t(id INTEGER PRIMARY KEY, grp INTEGER, name TEXT, val REAL);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000)
  INSERT INTO t SELECT x, x % 97, 'name-' || (x * 7919 % 100003) || '-' || hex(x), (x * 31 % 1000) / 10.0 FROM c;
SELECT 'count', count(*), sum(id), sum(grp) FROM t;
SELECT 'group', grp, count(*), round(sum(val), 1), min(name), max(name) FROM t GROUP BY grp ORDER BY grp LIMIT 5;
CREATE INDEX t_name ON t(name);
CREATE INDEX t_grp_val ON t(grp, val);
SELECT 'like', count(*) FROM t WHERE name LIKE 'name-1234%';
SELECT 'range', id, name FROM t WHERE name BETWEEN 'name-5' AND 'name-5001' ORDER BY name LIMIT 5;
SELECT 'max', grp, max(val) FROM t WHERE grp IN (3, 5, 7) GROUP BY grp;
SELECT 'concat', length(group_concat(name, ',')) FROM t;
SELECT 'join', count(*) FROM t a JOIN t b ON a.id = b.id + 1 WHERE a.grp = 1;
UPDATE t SET val = val * 2, name = upper(name) WHERE grp < 10;
DELETE FROM t WHERE id % 3 = 0;
SELECT 'after', count(*), round(total(val), 1) FROM t;
VACUUM;
PRAGMA integrity_check;
.shell grep -m1 "$GH_LIBKEY" /proc/$PPID/maps | sed "s|.* /|mapped: /|"
EOF
  GH_LIBKEY=$LIBKEY ref sqlite3 sqlite3 -batch "$TMP/ref.db" <"$TMP/t.sql" >"$TMP/sq.ref" 2>"$TMP/sq.ref.err"; r0=$?
  GH_LIBKEY=$LIBKEY pre sqlite3 sqlite3 -batch "$TMP/pre.db" <"$TMP/t.sql" >"$TMP/sq.out" 2>"$TMP/sq.err"; r=$?
  check "sqlite3: reference run exit 0" rc0 $r0 "$TMP/sq.ref.err"
  check "sqlite3: exit 0 under preload" rc0 $r "$TMP/sq.err"
  check "sqlite3: output identical to system malloc" same "$TMP/sq.ref" "$TMP/sq.out"
  check "sqlite3: known answers (100000 rows, sum 5000050000, integrity ok)" \
    eval 'grep -q "^count|100000|5000050000|" "$TMP/sq.out" && grep -qx ok "$TMP/sq.out"'
  check "sqlite3: $LIBKEY in sqlite3's /proc/PID/maps" mapped_ok "$TMP/sq.out"
  check "sqlite3: heap summary on stderr" marked "$TMP/sq.err"
fi

# ---------------------------------------------------------------------------
# 6. multi-threaded: sort --parallel=2 on a generated file.
#    coreutils close stdout AND stderr in an atexit handler (gnulib
#    close_stdout), so an at-exit heap summary may have nowhere to go: sort's
#    "loaded" check reads sort's /proc/PID/maps instead, from a
#    --compress-program child (whose parent is sort) in the external-merge run.
# ---------------------------------------------------------------------------
if need "sort --parallel" sort awk sha256sum gzip; then
  NL=1500000; [ "$QUICK" = 1 ] && NL=400000
  awk -v n="$NL" 'BEGIN { for (i = 0; i < n; i++) printf "%08d %x line-%d\n", (i * 2654435761) % 100000000, i * 7, i }' >"$TMP/big.txt"
  ref sort sort --parallel=2 -S 200M -k1,1 -k2 "$TMP/big.txt" 2>"$TMP/sort.ref.err" | sha256sum >"$TMP/sort.ref"; r0=${PIPESTATUS[0]}
  pre sort sort --parallel=2 -S 200M -k1,1 -k2 "$TMP/big.txt" 2>"$TMP/sort.err" | sha256sum >"$TMP/sort.out"; r=${PIPESTATUS[0]}
  check "sort --parallel=2: reference run exit 0" rc0 $r0 "$TMP/sort.ref.err"
  check "sort --parallel=2: exit 0 under preload" rc0 $r "$TMP/sort.err"
  check "sort --parallel=2: sorted output identical ($NL lines)" cmp -s "$TMP/sort.ref" "$TMP/sort.out"
  # a small-buffer run: external merge through compressed temporary files
  cat >"$TMP/cz.sh" <<CZ
#!/bin/sh
grep -m1 "$LIBKEY" /proc/\$PPID/maps | sed 's|.* /|mapped: /|' >>"$TMP/sort.maps"
exec gzip -1 "\$@"
CZ
  chmod +x "$TMP/cz.sh"
  : >"$TMP/sort.maps"
  # the reference is the same external-merge run with the system malloc (it
  # times the workload; its maps lines name no $LIBKEY, so add nothing)
  ref sort2 sort --parallel=2 -S 4M -T "$TMP" --compress-program="$TMP/cz.sh" -u "$TMP/big.txt" | sha256sum >"$TMP/sort2.ref"
  pre sort2 sort --parallel=2 -S 4M -T "$TMP" --compress-program="$TMP/cz.sh" -u "$TMP/big.txt" 2>"$TMP/sort2.err" | sha256sum >"$TMP/sort2.out"; r=${PIPESTATUS[0]}
  check "sort -S 4M -u (external merge): exit 0 and identical" eval 'rc0 $r "$TMP/sort2.err" && cmp -s "$TMP/sort2.ref" "$TMP/sort2.out"'
  check "sort: $LIBKEY in sort's /proc/PID/maps" mapped_ok "$TMP/sort.maps"
fi

finish
