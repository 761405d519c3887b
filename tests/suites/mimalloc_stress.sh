#!/usr/bin/env bash
# mimalloc_stress.sh -- mimalloc's own multi-threaded stress test, built
# against plain malloc/free and run with goheap preloaded.
#
# test/test-stress.c is fetched at test time from Debian's mimalloc source
# package (never committed): a deb-src entry for the mirror already in
# /etc/apt/sources.list.d/debian.sources is added if apt has none
# (/etc/apt/sources.list.d/goheap-src.sources), then
# `apt-get source --download-only mimalloc` fills the cache dir
# $ROOT/build/peer-src, which later runs reuse without touching apt.
#
# test-stress.c has a USE_STD_MALLOC switch: with -DUSE_STD_MALLOC its
# custom_calloc/custom_realloc/custom_free become malloc/realloc/free and it
# needs no mimalloc header or library.  Threads allocate objects of sizes
# spread over powers of two (some large, a few 25 MiB "giant" ones), fill
# them with a pattern, hand pointers to other threads through a shared
# transfer array, and check the pattern at free time (abort() on corruption);
# threads exit and are re-created every iteration with objects surviving.
#
# Not run: test-api.c and test-api-fill.c exercise mimalloc's own API
# (mi_heap_*, mi_malloc_aligned_at, mi_zalloc, ...) and include the internal
# header mimalloc-types.h; they have no plain-malloc mode, so they cannot be
# built against goheap.  main-override*.c(pp) likewise call mi_version(),
# mi_stats_print() and mimalloc's STL allocators.
#
# Environment: GOHEAP_LIB, ROOT, CC, GH_QUICK=1 (smaller runs).
set -u

ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
LIB=${GOHEAP_LIB:-$ROOT/build/libgoheap.so}
CC=${CC:-cc}
QUICK=${GH_QUICK:-0}
CACHE=${GH_PEER_SRC:-$ROOT/build/peer-src}
unset GOHEAP_ON_ERROR GOHEAP_STATS LD_PRELOAD

passed=0 failed=0
ok()  { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1${2:+ -- $2}"; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

LIBNAME=$(basename "$LIB")
case "$LIBNAME" in
  *mimalloc*) MARK_ENV=MIMALLOC_VERBOSE=1; MARK_RE='^mimalloc: process init' ;;
  *)          MARK_ENV=GOHEAP_STATS=1;     MARK_RE=${GH_STATS_RE:-'goheap.*heap summary'} ;;
esac

if [ -f "$LIB" ]; then ok "library exists ($LIB)"; else bad "library exists" "$LIB not found (run make)"; finish; fi

# --- fetch test-stress.c ---------------------------------------------------
SRC=$CACHE/test-stress.c
APTQ="-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3 -q"

. "$ROOT/tests/suites/lib/deb_src.sh" # ensure_deb_src PKG

fetch_stress_src() {
  [ -s "$SRC" ] && return 0
  mkdir -p "$CACHE" || return 1
  if ! ls "$CACHE"/mimalloc_*.orig.tar.* >/dev/null 2>&1; then
    ensure_deb_src mimalloc || return 1
    (cd "$CACHE" && apt-get $APTQ source --download-only mimalloc >&2) || return 1
  fi
  local tb
  tb=$(ls "$CACHE"/mimalloc_*.orig.tar.* | head -n 1)
  # the Debian packaging carries no patches to test/, so the upstream tarball is the source
  tar -xf "$tb" -C "$CACHE" --wildcards --no-anchored '*/test/test-stress.c' || return 1
  cp "$(ls "$CACHE"/mimalloc-*/test/test-stress.c | head -n 1)" "$SRC.tmp" && mv "$SRC.tmp" "$SRC"
}

if fetch_stress_src; then
  ok "fetched test-stress.c ($(ls "$CACHE"/mimalloc_*.dsc 2>/dev/null | xargs -r -n1 basename | head -n 1))"
else
  bad "fetched test-stress.c" "apt-get source mimalloc failed (needs root once, a deb-src entry, dpkg-dev not required)"
  finish
fi

# --- build against plain malloc --------------------------------------------
BIN=$CACHE/test-stress-std
if grep -q 'USE_STD_MALLOC' "$SRC" &&
   $CC -O2 -g -pthread -DUSE_STD_MALLOC -w -o "$BIN" "$SRC" 2>"$CACHE/build.err"; then
  ok "built test-stress.c with -DUSE_STD_MALLOC"
else
  cat "$CACHE/build.err" >&2 2>/dev/null
  bad "built test-stress.c with -DUSE_STD_MALLOC"
  finish
fi
if nm -u "$BIN" 2>/dev/null | grep -q ' mi_'; then
  bad "binary uses only the standard malloc API" "$(nm -u "$BIN" | grep ' mi_' | head -n 3 | tr '\n' ' ')"
else
  ok "binary uses only the standard malloc API"
fi

# --- run ---------------------------------------------------------------------
# THREADS SCALE ITER; the stress test's threads are created and joined every
# iteration.  Sized for < 60 s in all on 2 cores.
if [ "$QUICK" = 1 ]; then
  RUNS=("4 20 8" "16 4 4")
else
  RUNS=("4 50 20" "8 25 20" "2 200 20" "32 4 10")
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/gh-mistress.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# one reference run with the system malloc so a failure below is goheap's
if timeout -k 5 120 "$BIN" ${RUNS[0]} >"$TMP/ref.out" 2>&1; then
  ok "test-stress ${RUNS[0]} with system malloc (reference)"
else
  bad "test-stress ${RUNS[0]} with system malloc (reference)" "exit $?"
fi

for args in "${RUNS[@]}"; do
  name="test-stress $args under preload"
  t0=$(date +%s.%N)
  timeout -k 5 120 env LD_PRELOAD="$LIB" "$MARK_ENV" "$BIN" $args >"$TMP/out" 2>"$TMP/err"
  rc=$?
  t=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  if [ $rc -ne 0 ]; then
    case $rc in 124|137) why="timed out after 120 s" ;; 134) why="SIGABRT (corruption or goheap error)" ;;
      139) why="SIGSEGV" ;; *) why="exit $rc" ;; esac
    bad "$name" "$why"
    { echo "---- stdout:"; tail -n 5 "$TMP/out"; echo "---- stderr:"; grep -v '^ *$' "$TMP/err" | head -n 20; } >&2
  elif ! grep -q "^Using ${args%% *} threads" "$TMP/out"; then
    bad "$name" "unexpected output: $(head -n 1 "$TMP/out")"
  elif ! grep -Eqi -- "$MARK_RE" "$TMP/err"; then
    bad "$name" "exit 0 but no heap summary on stderr: $LIBNAME not loaded?"
  else
    ok "$name (${t}s)"
  fi
done

finish
