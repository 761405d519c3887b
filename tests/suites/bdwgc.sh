#!/usr/bin/env bash
# bdwgc.sh -- the Boehm-Demers-Weiser collector's own black-box tests, built
# against goheap through a compatibility header.
#
# The tests are fetched at test time from Debian's libgc source package
# (bookworm: 8.2.2; never committed): a deb-src entry for the mirror already
# in /etc/apt/sources.list.d/debian.sources is added if apt has none
# (/etc/apt/sources.list.d/goheap-src.sources), then `apt-get source
# --download-only libgc` fills the cache dir $ROOT/build/peer-src, which
# later runs reuse without touching apt; the tree is unpacked there with
# dpkg-source -x (Debian's patches applied; 8.2.2-3 has none), or with tar
# from the upstream tarball when dpkg-source is missing.
#
# Each test's .c file is compiled unchanged with -I tests/bdwgc, whose gc.h
# maps bdwgc's API onto goheap's (read its header comment: what is mapped
# exactly, what is approximated and how, what is refused), together with
# tests/bdwgc/gc_shim.c, and linked with build/libgoheap.a (-lpthread -ldl).
# No binary references a GC_* symbol (checked): every call goes to goheap.
#
# Run (name: source [flags]; what it checks):
#   gctest: tests/test.c [-DGC_THREADS -DMIN_WORDS=1]  bdwgc's main test, in
#     6 threads at once (NTHREADS=5, plus main): list reversal with cons
#     cells of 16..5016 bytes, uncollectable lists with hidden (~) links kept
#     alive only by malloc'd memory, realloc growing collected objects,
#     interior pointers on the stack, trees of 2^16 nodes with ~1/119 of them
#     finalizable (finalizer data checked, premature and duplicate
#     finalization detected, at least half must be finalized at the end),
#     disappearing links (register/move/unregister return codes), typed
#     allocation, GC_malloc_many lists held from a pthread key,
#     GC_size/GC_base/GC_memalign/GC_malloc(0) results, fork() from every
#     test thread with collections and a tree test in the child, and a bound
#     on the final heap size (26 MB per test thread).
#     -DMIN_WORDS=1: goheap's smallest object is one word (8 bytes); bdwgc's
#     default build adds a byte to every object for past-the-end pointers
#     and so expects 16-byte GC_malloc(0)/GC_malloc(7) objects.
#     Not checked under goheap (see gc.h): GC_is_visible and
#     GC_is_valid_displacement answer "valid" for everything, the reachable-
#     object enumeration visits nothing (gctest only prints its count),
#     GC_get_kind_and_size cannot tell atomic from normal objects; typed
#     objects are scanned in full; GC_do_blocking sections are scanned
#     anyway; disappearing links are emulated with goheap finalizers.
#   hugetest: tests/huge_test.c  requests of 2^63-1 bytes and more fail
#     (NULL), never succeed through a size overflow.  GC_MAXIMUM_HEAP_SIZE,
#     which the test defines, is ignored (goheap has no hard heap maximum):
#     the requests must fail anyway.
#   middletest: tests/middle.c  40000 objects of 4096 and 2048 bytes, half
#     pointer-free, at the small/large boundary.
#     GC_set_all_interior_pointers(0) is ignored (goheap always recognizes
#     interior pointers: it can only retain more).
#   realloc_test: tests/realloc_test.c  10^7 GC_NEW + GC_MALLOC_ATOMIC +
#     GC_REALLOC cycles, objects zeroed, heap size sampled every 10.
#   staticrootstest: tests/staticrootstest.c + staticrootslib.c as two
#     shared libraries (-DSTATICROOTSLIB2 for the second and the program),
#     as bdwgc builds it: trees stored only in the .data and .bss of the
#     program and of both libraries survive collections; a static pointer's
#     object keeps its contents.  Its GC_DEBUG is ignored (no debug
#     allocator: the test checks root scanning, not debugging).
#   threadkey_test: tests/threadkey_test.c  a pthread key destructor (run at
#     thread exit) re-registers the exiting thread, creates a detached
#     thread that allocates, and unregisters (30 threads, half detached).
#   subthreadcreate_test: tests/subthread_create.c [-DGC_THREADS]  threads
#     created (through GC_pthread_create, as bdwgc's gc.h redirects
#     pthread_create) by threads, 7 deep, up to ~200, detached, each
#     registered and unregistered; private/gc_atomic_ops.h gives its counters
#     GCC atomics.
#   initsecondarythread_test: tests/initsecondarythread.c [-DGC_THREADS]
#     GC_INIT and the first allocations happen in a secondary thread (on
#     Linux the test does not call GC_INIT in main).
#   cordtest: cord/tests/cordtest.c with cord/cordbscs.c, cordxtra.c,
#     cordprnt.c  bdwgc's rope library, whose nodes are collected objects
#     (atomic leaves), with lazily read file cords whose FILE* is closed by
#     a finalizer (a premature one breaks the reads); runs in a scratch dir.
#
# Not run, and why:
#   leaktest (leak_test.c), threadleaktest (thread_leak_test.c): bdwgc's leak
#     detection mode (GC_set_find_leak, CHECK_LEAKS, malloc redirected to the
#     leak-checking allocator); goheap has no such mode.
#   smashtest (smash_test.c): checks GC_DEBUG's detection of writes past an
#     object's end (debug headers and trailers); goheap has no debug
#     allocator, so the test would be a bare allocation loop.
#   tracetest (trace_test.c): GC_DEBUG back pointers
#     (GC_generate_random_backtrace); no counterpart.
#   disclaim_test, disclaim_bench, disclaim_weakmap_test: reclaim notifiers
#     (GC_register_disclaim_proc, GC_finalized_malloc) and weak maps built on
#     them; no counterpart.
#   test_atomic_ops (test_atomic_ops.c): tests the libatomic_ops primitives
#     bdwgc was configured with, not the collector.
#   test_cpp (test_cpp.cc): the gc_cpp.h C++ layer: gc_cleanup registers
#     finalizers on sub-objects embedded in other objects (interior
#     addresses, GC_register_finalizer_ignore_self semantics) and
#     GC_CHECKED_DELETE asserts GC_get_expl_freed_bytes_since_gc moves;
#     goheap finalizers take only an object's start and goheap keeps no
#     freed-bytes counter.
#   The "de" editor in cord/tests is interactive.
#
# Environment: ROOT, GOHEAP_A (static library), CC, GH_QUICK=1 (gctest with
# NTHREADS=2 and run once, shorter time limits), GH_BDWGC_GCTEST_RUNS (how
# many times gctest runs, default 3: a race may show in one run of several),
# GH_PEER_SRC (cache dir),
# GH_BDWGC_BACKEND=libgc: sanity mode, the same test objects (same gc.h,
# same gc_shim.c) linked with tests/bdwgc/gh_on_libgc.c, goheap's API
# implemented on Debian's real libgc.so.1 -- it checks this harness and the
# shim, not goheap; GH_BDWGC_ONLY="gctest cordtest" runs only those;
# GH_BDWGC_CFLAGS adds compiler flags (e.g. -DNO_TEST_HANDLE_FORK).
set -u

ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
A=${GOHEAP_A:-$ROOT/build/libgoheap.a}
CC=${CC:-cc}
QUICK=${GH_QUICK:-0}
CACHE=${GH_PEER_SRC:-$ROOT/build/peer-src}
BACKEND=${GH_BDWGC_BACKEND:-goheap}
ONLY=${GH_BDWGC_ONLY:-}
EXTRA_CFLAGS=${GH_BDWGC_CFLAGS:-}
SHIM=$ROOT/tests/bdwgc
B=$ROOT/build/bdwgc/$BACKEND
unset GOHEAP_ON_ERROR GOHEAP_STATS LD_PRELOAD

passed=0 failed=0
ok()  { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1${2:+ -- $2}"; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }
want() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }

# --- the backend -------------------------------------------------------------
case "$BACKEND" in
  goheap)
    if [ ! -f "$A" ]; then bad "goheap static library" "$A not found (run make)"; finish; fi
    if ! nm "$A" 2>/dev/null | grep -qw 'T gh_collect'; then
      bad "goheap static library has the collector" "no gh_collect in $A"; finish
    fi
    ok "goheap static library with the collector ($A)"
    BACKEND_LINK=("$A" -lpthread -ldl) ;;
  libgc)
    LIBGC=$(ldconfig -p 2>/dev/null | awk '$1 == "libgc.so.1" { print $NF; exit }')
    if [ -z "$LIBGC" ] || [ ! -f "$LIBGC" ]; then bad "libgc.so.1 (sanity backend)" "not installed"; finish; fi
    ok "sanity backend: goheap's API on $LIBGC (checks the harness, not goheap)"
    BACKEND_LINK=() ;; # set after the fetch (needs bdwgc's headers)
  *) bad "GH_BDWGC_BACKEND=$BACKEND" "expected goheap or libgc"; finish ;;
esac

# --- fetch -------------------------------------------------------------------
APTQ="-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3 -q"

. "$ROOT/tests/suites/lib/deb_src.sh" # ensure_deb_src PKG

# fetch_src: sets SRC to an unpacked libgc source tree under $CACHE.
fetch_src() {
  SRC=$(ls -d "$CACHE"/libgc-[0-9]*/ 2>/dev/null | head -n 1)
  SRC=${SRC%/}
  if [ -n "$SRC" ] && [ -f "$SRC/.goheap-unpacked" ]; then return 0; fi
  mkdir -p "$CACHE" || return 1
  if ! ls "$CACHE"/libgc_*.orig.tar.* >/dev/null 2>&1; then
    ensure_deb_src libgc || return 1
    (cd "$CACHE" && apt-get $APTQ source --download-only libgc >&2) || return 1
  fi
  local dsc tb tmp
  dsc=$(ls "$CACHE"/libgc_*.dsc 2>/dev/null | head -n 1)
  tb=$(ls "$CACHE"/libgc_*.orig.tar.* 2>/dev/null | head -n 1)
  [ -n "$tb" ] || return 1
  tmp=$(mktemp -d "$CACHE/libgc-unpack.XXXXXX") || return 1
  if [ -n "$dsc" ] && command -v dpkg-source >/dev/null 2>&1 &&
     (cd "$tmp" && dpkg-source --no-check -x "$dsc" src >/dev/null 2>&1); then
    :
  else
    mkdir -p "$tmp/src" && tar -xf "$tb" -C "$tmp/src" --strip-components=1 || { rm -rf "$tmp"; return 1; }
  fi
  [ -f "$tmp/src/tests/test.c" ] && [ -f "$tmp/src/include/gc.h" ] || { rm -rf "$tmp"; return 1; }
  local ver
  ver=$(basename "$tb"); ver=${ver#libgc_}; ver=${ver%.orig.tar.*}
  rm -rf "$CACHE/libgc-$ver"
  mv "$tmp/src" "$CACHE/libgc-$ver" && rm -rf "$tmp"
  SRC=$CACHE/libgc-$ver
  touch "$SRC/.goheap-unpacked"
}

if fetch_src; then
  ok "fetched bdwgc's tests ($(ls "$CACHE"/libgc_*.dsc 2>/dev/null | xargs -r -n1 basename | head -n 1), $SRC)"
else
  bad "fetched bdwgc's tests" "apt-get source libgc failed (needs root once, a deb-src entry and the network; or populate $CACHE)"
  finish
fi
T=$SRC/tests

# --- build -------------------------------------------------------------------
mkdir -p "$B/obj" "$B/lib" "$B/cordinc" || { bad "build dir $B"; finish; }
CFLAGS=(-std=gnu11 -O2 -g -w -pthread -I"$SHIM" -I"$ROOT/include" $EXTRA_CFLAGS)
BLOG=$B/build.log
: >"$BLOG"

if ! $CC "${CFLAGS[@]}" -c "$SHIM/gc_shim.c" -o "$B/obj/gc_shim.o" >>"$BLOG" 2>&1; then
  bad "built tests/bdwgc/gc_shim.c" "$(tail -n 3 "$BLOG" | tr '\n' ' ')"; finish
fi
if [ "$BACKEND" = libgc ]; then
  # bdwgc's own gc.h, only for this file
  if ! $CC -std=gnu11 -O2 -g -w -pthread -I"$SRC/include" -I"$ROOT/include" -c "$SHIM/gh_on_libgc.c" \
       -o "$B/obj/gh_on_libgc.o" >>"$BLOG" 2>&1; then
    bad "built tests/bdwgc/gh_on_libgc.c" "$(tail -n 3 "$BLOG" | tr '\n' ' ')"; finish
  fi
  BACKEND_LINK=("$B/obj/gh_on_libgc.o" "$LIBGC" -lpthread -ldl)
fi

# link NAME SOURCES... [-- EXTRA LINK ARGS]: compile and link build/bdwgc/BACKEND/NAME
build() {
  local name=$1; shift
  local srcs=() extra=() seen=0
  for a in "$@"; do
    if [ "$a" = -- ]; then seen=1; continue; fi
    if [ $seen = 0 ]; then srcs+=("$a"); else extra+=("$a"); fi
  done
  echo "== $name" >>"$BLOG"
  # flags (-D...) among the sources apply to all of them
  local flags=() files=()
  for s in "${srcs[@]}"; do case "$s" in -*) flags+=("$s") ;; *) files+=("$s") ;; esac; done
  $CC "${CFLAGS[@]}" "${flags[@]}" "${files[@]}" "$B/obj/gc_shim.o" "${extra[@]}" "${BACKEND_LINK[@]}" \
    -o "$B/$name" >>"$BLOG" 2>&1
}

NT=5; [ "$QUICK" = 1 ] && NT=2
TESTS=()   # name timeout expected-output-regex
declare -A BUILT=()
try_build() { # name timeout regex -- build args...
  local name=$1 tmo=$2 re=$3; shift 4
  want "$name" || return 0
  if build "$name" "$@"; then
    BUILT[$name]=1; TESTS+=("$name|$tmo|$re")
  else
    bad "build $name" "$(grep -A4 "^== $name" "$BLOG" | grep -m2 -i 'error' | tr '\n' ' ')"
  fi
}

MINW=1; [ "$BACKEND" = libgc ] && MINW=2 # bdwgc's granule is 16 bytes
try_build gctest 150 'Collector appears to work' -- -DGC_THREADS -DMIN_WORDS=$MINW -DNTHREADS=$NT "$T/test.c"
# gctest is run several times: a collector race may show in one run of a few
GCTEST_RUNS=${GH_BDWGC_GCTEST_RUNS:-3}; [ "$QUICK" = 1 ] && GCTEST_RUNS=${GH_BDWGC_GCTEST_RUNS:-1}
try_build hugetest 30 '' -- "$T/huge_test.c"
try_build middletest 60 'Final heap size is' -- "$T/middle.c"
try_build realloc_test 120 '' -- "$T/realloc_test.c"
if want staticrootstest; then
  # two shared libraries whose .data/.bss hold the only pointers to trees
  if $CC "${CFLAGS[@]}" -fPIC -shared "$T/staticrootslib.c" -o "$B/lib/libstaticrootslib_test.so" >>"$BLOG" 2>&1 &&
     $CC "${CFLAGS[@]}" -fPIC -shared -DSTATICROOTSLIB2 "$T/staticrootslib.c" \
       -o "$B/lib/libstaticrootslib2_test.so" >>"$BLOG" 2>&1; then
    try_build staticrootstest 60 '' -- -DSTATICROOTSLIB2 "$T/staticrootstest.c" -- \
      -L"$B/lib" -lstaticrootslib_test -lstaticrootslib2_test -Wl,-rpath,"$B/lib"
  else
    bad "build staticrootslib shared libraries" "$(tail -n 2 "$BLOG" | tr '\n' ' ')"
  fi
fi
try_build threadkey_test 60 '' -- "$T/threadkey_test.c"
try_build subthreadcreate_test 60 '^subthread_create: created' -- -DGC_THREADS "$T/subthread_create.c"
try_build initsecondarythread_test 30 '' -- -DGC_THREADS "$T/initsecondarythread.c"
if want cordtest; then
  cp "$SRC/include/cord.h" "$SRC/include/cord_pos.h" "$SRC/include/ec.h" "$B/cordinc/" 2>>"$BLOG"
  try_build cordtest 60 '^SUCCEEDED' -- -I"$B/cordinc" "$SRC/cord/tests/cordtest.c" "$SRC/cord/cordbscs.c" \
    "$SRC/cord/cordxtra.c" "$SRC/cord/cordprnt.c"
fi

# every call must go to goheap
leaks=""
[ "$BACKEND" = goheap ] && for t in "${TESTS[@]}"; do
  n=${t%%|*}
  if nm -u "$B/$n" 2>/dev/null | grep -q ' GC_'; then leaks+=" $n"; fi
done
[ "$BACKEND" = goheap ] && [ -f "$B/lib/libstaticrootslib_test.so" ] && nm -D -u "$B"/lib/*.so 2>/dev/null | grep -q ' GC_' && leaks+=" staticrootslib"
if [ "$BACKEND" = goheap ] && [ ${#TESTS[@]} -gt 0 ]; then
  if [ -z "$leaks" ]; then ok "no test binary references a GC_* symbol (${#TESTS[@]} built)"
  else bad "no test binary references a GC_* symbol" "$leaks"; fi
fi

# --- run ---------------------------------------------------------------------
RUN=$(mktemp -d "${TMPDIR:-/tmp}/gh-bdwgc.XXXXXX")
trap 'rm -rf "$RUN"' EXIT
run_test() { # name timeout regex label
  local name=$1 tmo=$2 re=$3 label=$4 rc secs why out=$RUN/$4.out
  [ "$QUICK" = 1 ] && tmo=$(( tmo > 60 ? 60 : tmo ))
  mkdir -p "$RUN/$label"
  t0=$(date +%s.%N)
  (cd "$RUN/$label" && timeout -k 5 "$tmo" "$B/$name" >"$out" 2>&1)
  rc=$?
  secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  if [ $rc -ne 0 ]; then
    case $rc in 124|137) why="timed out after $tmo s" ;; 134) why="SIGABRT" ;; 139) why="SIGSEGV" ;;
      *) why="exit $rc" ;; esac
    bad "$label" "$why (${secs}s)"
    grep -v '^ *$' "$out" | tail -n 15 | sed 's/^/    /'
  elif [ -n "$re" ] && ! grep -Eq -- "$re" "$out"; then
    bad "$label" "exit 0 but no line matching /$re/"
    tail -n 10 "$out" | sed 's/^/    /'
  elif grep -q 'skipped' "$out"; then
    bad "$label" "the test skipped itself: $(grep -m1 skipped "$out")"
  else
    ok "$label (${secs}s)"
    [ "$name" = gctest ] && grep -E '^(Completed|Finalized|Final heap|Total number|Allocated [0-9]+ coll)' \
      "$out" | sed 's/^/    /'
  fi
  return 0
}
for t in "${TESTS[@]}"; do
  IFS='|' read -r name tmo re <<<"$t"
  if [ "$name" = gctest ] && [ "$GCTEST_RUNS" -gt 1 ]; then
    for k in $(seq 1 "$GCTEST_RUNS"); do run_test "$name" "$tmo" "$re" "gctest-run$k"; done
  else
    run_test "$name" "$tmo" "$re" "$name"
  fi
done

finish
