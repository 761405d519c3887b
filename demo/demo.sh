#!/usr/bin/env bash
# demo.sh -- goheap serving real programs it did not write (`make demo`).
#
#   1. a Python workload (dicts, lists, strings, json, threads, fork) run with
#      PYTHONMALLOC=malloc so every Python object is a malloc call, once with
#      the system malloc and once with LD_PRELOAD=build/libgoheap.so and
#      GOHEAP_STATS=1: wall times side by side, the libgoheap line from the
#      Python process's own /proc/self/maps, and goheap's heap summary,
#      printed by goheap as Python exits;
#   2. sqlite3 building, grouping and indexing a 200,000-row table under goheap.
#
# Installs nothing.  Options via environment: GOHEAP_LIB (library path),
# DEMO_SCALE (Python workload size, default 25: a few seconds).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LIB=${GOHEAP_LIB:-$ROOT/build/libgoheap.so}
SCALE=${DEMO_SCALE:-25}
WORKLOAD=$ROOT/tests/preload/workload.py
unset LD_PRELOAD GOHEAP_STATS GOHEAP_ON_ERROR
export LC_ALL=C PYTHONHASHSEED=0

PY=/usr/bin/python3; [ -x "$PY" ] || PY=$(command -v python3 || true)
missing=
[ -n "$PY" ] || missing="$missing python3"
command -v sqlite3 >/dev/null 2>&1 || missing="$missing sqlite3"
if [ -n "$missing" ]; then
  echo "demo: needs$missing; install with:"
  echo "    sudo apt-get install -y$missing"
  [ -n "$PY" ] || exit 1
fi
if [ ! -f "$LIB" ]; then echo "demo: $LIB not found; run 'make' first"; exit 1; fi
case $(basename "$LIB") in *mimalloc*) STATS_ENV=MIMALLOC_SHOW_STATS=1 ;; *) STATS_ENV=GOHEAP_STATS=1 ;; esac
LIBKEY=$(basename "$LIB"); LIBKEY=${LIBKEY%%.so*}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/goheap-demo.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%6.2f s", b - a }'; }

echo "goheap demo: Go's memory allocator as the malloc of unmodified programs"
echo "library: $LIB"
echo
echo "[1] $PY tests/preload/workload.py $SCALE   (PYTHONMALLOC=malloc: every object is a malloc)"
t0=$(now)
env PYTHONMALLOC=malloc GH_EXPECT_LIB="$LIBKEY" "$PY" "$WORKLOAD" "$SCALE" >"$TMP/ref.out" 2>"$TMP/ref.err"
r0=$?
t1=$(now)
env LD_PRELOAD="$LIB" "$STATS_ENV" PYTHONMALLOC=malloc GH_EXPECT_LIB="$LIBKEY" "$PY" "$WORKLOAD" "$SCALE" >"$TMP/gh.out" 2>"$TMP/gh.err"
r1=$?
t2=$(now)
printf '    %-34s %s   (exit %d)\n' "system malloc (glibc):" "$(secs "$t0" "$t1")" "$r0"
printf '    %-34s %s   (exit %d)\n' "goheap (LD_PRELOAD):" "$(secs "$t1" "$t2")" "$r1"
if diff <(grep -v '^mapped:' "$TMP/ref.out") <(grep -v '^mapped:' "$TMP/gh.out") >/dev/null; then
  echo "    results: identical ($(grep -c -v '^mapped:' "$TMP/gh.out") result lines: dicts lists strings json cycles threads fork)"
else
  echo "    results: DIFFERENT from the system malloc run:"
  diff <(grep -v '^mapped:' "$TMP/ref.out") <(grep -v '^mapped:' "$TMP/gh.out") | head -n 6 | sed 's/^/      /'
fi
echo "    python's /proc/self/maps:"
grep '^mapped:' "$TMP/gh.out" | sed 's/^mapped: /      /'
echo "    heap summary written by goheap at python's exit ($STATS_ENV):"
sed 's/^/      /' "$TMP/gh.err"
[ -s "$TMP/gh.err" ] || echo "      (nothing on stderr)"

echo
echo "[2] sqlite3: 200,000-row table, GROUP BY, CREATE INDEX, indexed query, integrity check"
if command -v sqlite3 >/dev/null 2>&1; then
  cat >"$TMP/d.sql" <<'EOF'
CREATE TABLE t(id INTEGER PRIMARY KEY, grp INTEGER, name TEXT);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000)
  INSERT INTO t SELECT x, x % 101, 'name-' || (x * 7919 % 200003) FROM c;
SELECT 'rows ' || count(*) || ', sum(id) ' || sum(id) FROM t;
SELECT 'GROUP BY: ' || count(*) || ' groups, largest ' || max(n) FROM (SELECT grp, count(*) AS n FROM t GROUP BY grp);
CREATE INDEX t_name ON t(name);
SELECT 'indexed lookup: ' || group_concat(id, ' ') FROM (SELECT id FROM t WHERE name BETWEEN 'name-4242' AND 'name-42425' ORDER BY name LIMIT 4);
SELECT 'integrity_check: ' || integrity_check FROM pragma_integrity_check;
.shell grep -m1 "$GH_LIBKEY" /proc/$PPID/maps | sed "s|.* /|mapped in sqlite3 (/proc/PID/maps): /|"
EOF
  t0=$(now)
  GH_LIBKEY=$LIBKEY sqlite3 -batch "$TMP/ref.db" <"$TMP/d.sql" >"$TMP/sq.ref" 2>&1
  t1=$(now)
  GH_LIBKEY=$LIBKEY LD_PRELOAD="$LIB" sqlite3 -batch "$TMP/gh.db" <"$TMP/d.sql" >"$TMP/sq.out" 2>&1
  r1=$?
  t2=$(now)
  sed 's/^/    /' "$TMP/sq.out"
  same=DIFFERENT; diff <(grep -v '^mapped' "$TMP/sq.ref") <(grep -v '^mapped' "$TMP/sq.out") >/dev/null && same=identical
  printf '    system malloc %s | goheap %s (exit %d) | results %s\n' "$(secs "$t0" "$t1")" "$(secs "$t1" "$t2")" "$r1" "$same"
else
  echo "    skipped: sqlite3 is not installed (sudo apt-get install -y sqlite3)"
fi

echo
echo "[3] the collector: binary-trees (depth 18) allocating with gh_alloc and never freeing"
echo "    (demo/binary-trees.c); GOHEAP_DEBUG=gctrace=1 prints one line per collection, Go's format"
if ${CC:-cc} -std=gnu11 -O2 -I"$ROOT/include" "$ROOT/demo/binary-trees.c" "$ROOT/build/libgoheap.a" -lpthread -ldl -o "$TMP/binary-trees"; then
  t0=$(now)
  GOHEAP_DEBUG=gctrace=1 "$TMP/binary-trees" 18 >"$TMP/bt.out" 2>"$TMP/bt.err"
  r=$?
  t1=$(now)
  sed 's/^/    /' "$TMP/bt.out"
  n=$(grep -c '^gc ' "$TMP/bt.err")
  echo "    gctrace: $n lines; the first three and the last:"
  grep '^gc ' "$TMP/bt.err" | head -3 | sed 's/^/      /'
  grep '^gc ' "$TMP/bt.err" | tail -1 | sed 's/^/      /'
  grep -v '^gc ' "$TMP/bt.err" | sed 's/^/    /'
  printf '    %s, exit %d\n' "$(secs "$t0" "$t1")" "$r"
else
  echo "    could not build demo/binary-trees.c"
fi
