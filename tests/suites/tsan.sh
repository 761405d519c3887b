#!/usr/bin/env bash
# tsan.sh -- the engine under ThreadSanitizer: no data races in goheap.
#
# Builds every engine source except src/override.c (so the plain malloc names
# stay TSan's and goheap is reachable only through the gh_ API) together with
# tests/stress/test_stress.c -DSTRESS_GH_API, all under -fsanitize=thread, and
# runs the stress scaled down to fit in about a minute (cross-thread frees,
# thread churn, mixed sizes). Any TSan report fails the suite
# (halt_on_error=1, exitcode=66). Ends with "N passed, N failed".
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
# $CC may carry flags (CC="gcc -m64"): split it on purpose.
# shellcheck disable=SC2086
if ! $CC -O1 -g -fsanitize=thread -DGH_NO_OVERRIDE -DSTRESS_GH_API -Iinclude -Isrc -Itests \
    "${srcs[@]}" tests/stress/test_stress.c -lpthread -o "$tmp/stress_tsan" 2>"$tmp/build.err"; then
  head -50 "$tmp/build.err" >&2
  fail "build: engine + stress test with -fsanitize=thread -DGH_NO_OVERRIDE"
  finish
fi
pass

# 4 threads; GH_QUICK=1 inside the stress divides ITER by 8 and runs 1000
# short-lived threads (TSan makes thread creation slow).
iters=1000000
if [ -n "${GH_QUICK:-}" ] && [ "${GH_QUICK}" != 0 ]; then iters=400000; fi
run() {
  GH_QUICK=1 TSAN_OPTIONS="halt_on_error=1 exitcode=66 ${TSAN_OPTIONS:-}" \
    timeout 110 "$@" "$tmp/stress_tsan" 4 1 "$iters" >"$tmp/out" 2>"$tmp/err"
}
run
status=$?
# Some kernels randomize mmap more than TSan's shadow layout allows; retry
# without ASLR when TSan itself refuses to start.
if [ "$status" -ne 0 ] && grep -q 'unexpected memory mapping\|FATAL: ThreadSanitizer' "$tmp/err" &&
  command -v setarch >/dev/null; then
  echo "tsan: retrying under setarch -R (TSan could not map its shadow)" >&2
  run setarch "$(uname -m)" -R
  status=$?
fi
cat "$tmp/out"

if grep -q 'WARNING: ThreadSanitizer' "$tmp/err"; then
  fail "ThreadSanitizer reported a problem:"
  sed -n '/WARNING: ThreadSanitizer/,/^SUMMARY/p' "$tmp/err" | head -80 >&2
else
  pass
fi
if [ "$status" -eq 0 ]; then pass; else
  case $status in
    66) fail "stress under TSan: exit 66 (a TSan report)" ;;
    124) fail "stress under TSan: timed out (110 s)" ;;
    *) fail "stress under TSan: exit status $status"; tail -20 "$tmp/err" >&2 ;;
  esac
fi
if tail -1 "$tmp/out" | grep -qE '^[0-9]+ passed, 0 failed$'; then pass; else
  fail "stress under TSan: its own checks failed: $(tail -1 "$tmp/out")"
  grep -E '^(FAIL|stress:)' "$tmp/err" | head -20 >&2
fi
finish
