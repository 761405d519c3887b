#!/usr/bin/env bash
# tsan.sh -- the engine under ThreadSanitizer: no data races in goheap.
#
# Builds every engine source except src/override.c (so the plain malloc names
# stay TSan's and goheap is reachable only through the gh_ API) under
# -fsanitize=thread -O1 -g -DGH_NO_OVERRIDE -DGH_DEBUG=1 (internal assertions
# on; TSAN_GH_DEBUG=0 builds without them), once, and links it with:
#   - tests/stress/test_stress.c -DSTRESS_GH_API: the malloc half, scaled down
#     to fit in about a minute (cross-thread frees, thread churn, mixed sizes);
#   - tests/tsan/persistent_race.c: gh_set_finalizer (specials) racing heap
#     growth for persistentalloc (finding 3), GOGC off;
#   - tests/tsan/gc_tsan.c: the collector, finalizer queue and thread,
#     specials, background sweeper and scavenger, with collections run only
#     while the worker threads are blocked in sem_wait (see its header for
#     why), GOHEAP_STOP_TIMEOUT_MS=500.
# Each program runs with TSAN_OPTIONS="halt_on_error=1 exitcode=66" and
# checks its own results ("N passed, N failed"). A failure is: a build error,
# any TSan report (its first lines are printed), a "goheap: collection
# cancelled" line (a registered thread did not stop), a non-zero exit status
# or timeout, or a failed check of the program. Ends with "N passed, N failed".
set -u

ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
CC=${CC:-cc}
cd "$ROOT" || exit 1

passed=0
failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL $*" >&2; }
finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gh_tsan.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
ulimit -c 0 2>/dev/null || true

srcs=()
for f in "$ROOT"/src/*.c "$ROOT"/src/os/*.c; do
  [ -f "$f" ] && [ "$(basename "$f")" != override.c ] && srcs+=("$f")
done
if [ "${#srcs[@]}" -eq 0 ]; then
  fail "build: no engine sources under $ROOT/src"
  finish
fi

flags=(-O1 -g -fsanitize=thread -DGH_NO_OVERRIDE)
[ "${TSAN_GH_DEBUG:-1}" != 0 ] && flags+=(-DGH_DEBUG=1)

# The engine, once. $CC may carry flags (CC="gcc -m64"): split it on purpose.
mkdir -p "$tmp/obj"
objs=()
build_ok=1
for f in "${srcs[@]}"; do
  o="$tmp/obj/$(basename "$(dirname "$f")")_$(basename "$f" .c).o"
  # shellcheck disable=SC2086
  if ! $CC "${flags[@]}" -Iinclude -Isrc -c "$f" -o "$o" 2>>"$tmp/build.err"; then build_ok=0; fi
  objs+=("$o")
done
if [ "$build_ok" -ne 1 ]; then
  head -50 "$tmp/build.err" >&2
  fail "build: engine with ${flags[*]}"
  finish
fi

# build NAME SOURCE [extra flags]: links the engine with one test program,
# and builds the same program without TSan as NAME.ref (its reference run).
build() {
  local name=$1 src=$2
  shift 2
  # shellcheck disable=SC2086
  if $CC "${flags[@]}" "$@" -Iinclude -Isrc -Itests "$src" "${objs[@]}" -lpthread -o "$tmp/$name" \
      2>"$tmp/$name.build.err" &&
    $CC -O1 -g -DGH_NO_OVERRIDE "$@" -Iinclude -Isrc -Itests "$src" "${srcs[@]}" -lpthread -ldl -o "$tmp/$name.ref" \
      2>>"$tmp/$name.build.err"; then
    pass
    return 0
  fi
  head -50 "$tmp/$name.build.err" >&2
  fail "build: $src with ${flags[*]} $*"
  return 1
}

# run_one SECONDS OUT ERR COMMAND...
run_one() {
  local secs=$1 out=$2 err=$3
  shift 3
  TSAN_OPTIONS="halt_on_error=1 exitcode=66 ${TSAN_OPTIONS:-}" timeout "$secs" "$@" >"$out" 2>"$err"
}

# limit NAME ARGS...: the time limit of NAME under TSan, a multiple of the
# same program's run without TSan, measured now (TSan costs 5-15x; 40x and a
# floor of 120 s leave room for a loaded machine, never a fixed guess).
limit() {
  local name=$1
  shift
  local t0 t1
  t0=$(date +%s%N)
  timeout 600 "$tmp/$name.ref" "$@" >/dev/null 2>&1
  t1=$(date +%s%N)
  local s=$(((t1 - t0) * 40 / 1000000000 + 1))
  [ "$s" -lt 120 ] && s=120
  echo "$s"
}

# check NAME ARGS...: runs one program under TSan and judges it.
check() {
  local name=$1
  shift
  local secs
  secs=$(limit "$name" "$@")
  local out="$tmp/$name.out" err="$tmp/$name.err" status
  run_one "$secs" "$out" "$err" "$tmp/$name" "$@"
  status=$?
  # Some kernels randomize mmap more than TSan's shadow layout allows; retry
  # without ASLR when TSan itself refuses to start.
  if [ "$status" -ne 0 ] && grep -q 'unexpected memory mapping\|FATAL: ThreadSanitizer' "$err" &&
    command -v setarch >/dev/null; then
    echo "tsan: $name: retrying under setarch -R (TSan could not map its shadow)" >&2
    run_one "$secs" "$out" "$err" setarch "$(uname -m)" -R "$tmp/$name" "$@"
    status=$?
  fi
  echo "tsan: $name:"
  cat "$out"

  local nrep
  nrep=$(grep -c 'WARNING: ThreadSanitizer' "$err")
  if [ "$nrep" -gt 0 ]; then
    fail "$name: ThreadSanitizer reported a problem ($nrep report(s) before halting):"
    sed -n '/WARNING: ThreadSanitizer/,/^SUMMARY/p' "$err" | head -60 >&2
  else
    pass
  fi
  local ncancel
  ncancel=$(grep -c 'goheap: collection cancelled' "$err")
  if [ "$ncancel" -gt 0 ]; then
    fail "$name: $ncancel 'collection cancelled' line(s) (a registered thread did not take the stop signal):"
    grep 'goheap: collection cancelled' "$err" | head -3 >&2
  else
    pass
  fi
  if [ "$status" -eq 0 ]; then pass; else
    case $status in
      66) fail "$name under TSan: exit 66 (a TSan report)" ;;
      124) fail "$name under TSan: timed out ($secs s = max(120 s, 40 x its run without TSan))" ;;
      *)
        fail "$name under TSan: exit status $status"
        # A program that ran to its summary explains itself below.
        tail -1 "$out" | grep -qE '^[0-9]+ passed, [0-9]+ failed$' ||
          grep -v 'goheap: collection cancelled' "$err" | tail -20 >&2
        ;;
    esac
  fi
  if tail -1 "$out" | grep -qE '^[0-9]+ passed, 0 failed$'; then pass; else
    fail "$name under TSan: its own checks failed: $(tail -1 "$out")"
    grep -E '^(FAIL|stress:|gc_tsan:|goheap: (double|free|fatal|aborting))' "$err" | head -20 >&2
  fi
}

quick=
if [ -n "${GH_QUICK:-}" ] && [ "${GH_QUICK}" != 0 ]; then quick=1; fi

# The malloc half: 4 threads; GH_QUICK=1 inside the stress divides ITER by 8
# and runs 1000 short-lived threads (TSan makes thread creation slow).
iters=1000000
[ -n "$quick" ] && iters=400000
if build stress_tsan tests/stress/test_stress.c -DSTRESS_GH_API; then
  GH_QUICK=1 check stress_tsan 4 1 "$iters"
fi

# Finding 3: persistentalloc under the specials lock and the heap lock.
if build persistent_race tests/tsan/persistent_race.c; then
  check persistent_race
fi

# The collector: 3 workers x 40 rounds (16 with GH_QUICK); about 10 s when
# every collection stops the world, about 40 s when each is cancelled after
# GOHEAP_STOP_TIMEOUT_MS=500.
if build gc_tsan tests/tsan/gc_tsan.c; then
  GOHEAP_STOP_TIMEOUT_MS=${GOHEAP_STOP_TIMEOUT_MS:-500} GH_QUICK=$quick check gc_tsan
fi
finish
