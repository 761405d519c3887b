#!/usr/bin/env bash
# tests/run.sh -- runs every test binary in build/tests and every executable
# tests/suites/*.sh, then the debug build's tests (build/debug/tests, and the
# preload suite with build/debug/libgoheap.so), and adds their closing "N passed, N failed" lines into
# one total. A suite that crashes or prints no such line counts as 1 failed.
# Usage: bash tests/run.sh [name-filter]     (make test builds first)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export ROOT
export GOHEAP_LIB="$ROOT/build/libgoheap.so"
export GOHEAP_A="$ROOT/build/libgoheap.a"
export CC=${CC:-cc}
filter=${1:-}
total_pass=0 total_fail=0
log_dir="$ROOT/build/test-logs"
mkdir -p "$log_dir"

run_one() { # name, command...
  local name=$1; shift
  [ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && return
  local log="$log_dir/$name.log" start=$SECONDS
  "$@" >"$log" 2>&1
  local rc=$?
  local line
  line=$(grep -E '^([A-Za-z_-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
  local p=0 f=0
  if [ -n "$line" ]; then
    p=$(sed -E 's/^([A-Za-z_-]+: )?([0-9]+) passed, ([0-9]+) failed.*/\2/' <<<"$line")
    f=$(sed -E 's/^([A-Za-z_-]+: )?([0-9]+) passed, ([0-9]+) failed.*/\3/' <<<"$line")
  fi
  if [ -z "$line" ] || { [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; }; then
    f=$((f + 1))
    echo "  (suite $name exited with status $rc without reporting a failure)" >>"$log"
  fi
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
  printf '%-28s %5d passed, %3d failed  (%ds)\n' "$name" "$p" "$f" $((SECONDS - start))
  if [ "$f" -ne 0 ]; then sed 's/^/    | /' "$log" | grep -v '^    | PASS' | tail -n 25; fi
}

for bin in build/tests/*; do
  [ -f "$bin" ] && [ -x "$bin" ] && run_one "$(basename "$bin")" "$bin"
done
# The collector tests again with the concurrent mark (GOHEAP_GC_MODE; where the
# kernel lacks it, the mode falls back to stw and the tests still must pass).
for bin in build/tests/gc-test_* build/debug/tests/gc-test_*; do
  [ -f "$bin" ] && [ -x "$bin" ] && run_one "concurrent-$(basename "$(dirname "$(dirname "$bin")")")-$(basename "$bin")" env GOHEAP_GC_MODE=concurrent "$bin"
done
# The manual barrier (GOHEAP_GC_MODE=manual): only the test whose every pointer
# store calls gh_write_barrier; the others store without it, as the stw and
# concurrent modes allow.
for bin in build/tests/gc-test_concurrent build/debug/tests/gc-test_concurrent; do
  [ -x "$bin" ] && run_one "manual-$(basename "$(dirname "$(dirname "$bin")")")-$(basename "$bin")" env GOHEAP_GC_MODE=manual "$bin"
done
for suite in tests/suites/*.sh; do
  [ -f "$suite" ] && run_one "$(basename "$suite" .sh)" bash "$suite"
done
# The debug build (make debug: GH_DEBUG=1 invariant and lock-order checks):
# the stress and collector tests linked with it, and the real programs under it.
for bin in build/debug/tests/*; do
  [ -f "$bin" ] && [ -x "$bin" ] && run_one "debug-$(basename "$bin")" "$bin"
done
run_one debug-preload env GOHEAP_LIB="$ROOT/build/debug/libgoheap.so" bash tests/suites/preload.sh
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
