#!/usr/bin/env bash
# fuzz.sh -- the whole public API under libFuzzer, against a reference model.
#
# Builds tests/fuzz/fuzz_api.c with every engine source except src/override.c
# (-DGH_NO_OVERRIDE: the plain malloc stays glibc's, which libFuzzer uses, and
# goheap is reachable only through gh_*), under -fsanitize=fuzzer,undefined
# with GH_DEBUG=1 (goheap's internal invariant checks), into a temporary
# directory. Then:
#   1. replays the committed seed corpus (tests/fuzz/corpus): every input must
#      pass the model's checks;
#   2. fuzzes for GH_FUZZ_SECONDS (default 60) starting from that corpus, and
#      prints the executions per second and total executions libFuzzer
#      measured (-print_final_stats=1) and the harness's own totals
#      (operations, content checks, deliberate errors, collections,
#      finalizers). A crash, a model mismatch (fuzz_api.c aborts with
#      "fuzz_api: MODEL MISMATCH"), a goheap fatal error, a UBSan report, a
#      timeout (-timeout) or running out of memory (-rss_limit_mb) fails the
#      suite: the crashing input is kept under build/fuzz/ and its path and
#      the first lines of the report are printed.
# Without clang's libFuzzer the suite fails (it is never skipped silently).
# Ends with "N passed, N failed".
#
# Usage: bash tests/suites/fuzz.sh              fuzz (see the variables below)
#        bash tests/suites/fuzz.sh FILE...      replay these inputs only (a crash's
#                                               reproducer; add GH_FUZZ_TRACE=1 to
#                                               print every operation)
# Variables:
#   GH_FUZZ_SECONDS     fuzzing time (default 60; `make fuzz`: 600)
#   GH_FUZZ_CORPUS_OUT  directory that keeps the new corpus entries (default: a
#                       temporary one, discarded; `make fuzz`: build/fuzz-corpus).
#                       Never the committed corpus.
#   GH_FUZZ_ARTIFACTS   where crashing inputs go (default build/fuzz)
#   GH_FUZZ_RSS_MB      libFuzzer's -rss_limit_mb (default 2048)
#   GH_FUZZ_MAX_LEN     libFuzzer's -max_len (default 2048: 256 operations)
#   GH_FUZZ_DEBUG       GH_DEBUG value for the build (default 1)
#   GH_FUZZ_CC          the compiler (default clang; libFuzzer needs clang)
#   GH_FUZZ_FLAGS       extra libFuzzer flags
#   GH_FUZZ_SEED        libFuzzer's -seed (default: 20261203 when
#                       GH_FUZZ_SECONDS is unset, as in `make test`; else random)
set -u

ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$ROOT" || exit 1

# Inside `make test` (GH_FUZZ_SECONDS unset) libFuzzer starts from a fixed
# seed, so that every fresh clone explores the same inputs and the suite's
# verdict does not depend on luck; `make fuzz` (which sets GH_FUZZ_SECONDS)
# draws a new seed each run, to find what no fixed seed reaches. GH_FUZZ_SEED
# chooses one.
if [ -z "${GH_FUZZ_SECONDS:-}" ]; then seedflag="-seed=${GH_FUZZ_SEED:-20261203}"
else seedflag=${GH_FUZZ_SEED:+-seed=$GH_FUZZ_SEED}; fi
seconds=${GH_FUZZ_SECONDS:-60}
rss=${GH_FUZZ_RSS_MB:-2048}
max_len=${GH_FUZZ_MAX_LEN:-2048}
debug=${GH_FUZZ_DEBUG:-1}
fcc=${GH_FUZZ_CC:-clang}
art=${GH_FUZZ_ARTIFACTS:-$ROOT/build/fuzz}
seeds=$ROOT/tests/fuzz/corpus

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gh_fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
ulimit -c 0 2>/dev/null || true
# goheap's options come from the environment: the harness expects the defaults
# (GOHEAP_SCAN_MANUAL=0, for one, would make malloc'd parents no roots).
for v in $(compgen -e | grep '^GOHEAP_'); do unset "$v"; done

# ---- the toolchain: clang with libFuzzer --------------------------------------------
if ! command -v "$fcc" >/dev/null 2>&1; then
  fail "toolchain: '$fcc' not found: the fuzz suite needs clang with libFuzzer (Debian: apt-get install clang)"
  finish
fi
printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$tmp/probe.c"
if ! $fcc -fsanitize=fuzzer,undefined "$tmp/probe.c" -o "$tmp/probe" >"$tmp/probe.err" 2>&1; then
  head -20 "$tmp/probe.err"
  fail "toolchain: '$fcc -fsanitize=fuzzer,undefined' cannot build a fuzzer (is libFuzzer, libclang-rt, installed?)"
  finish
fi
pass "toolchain: $($fcc --version | head -1)"
# Hot loops out of the coverage instrumentation (clang >= 13; see the file).
ignore=()
if $fcc -fsanitize=fuzzer,undefined -fsanitize-coverage-ignorelist=tests/fuzz/coverage_ignore.txt \
    "$tmp/probe.c" -o "$tmp/probe" >/dev/null 2>&1; then
  ignore=(-fsanitize-coverage-ignorelist=tests/fuzz/coverage_ignore.txt)
else
  echo "note: $fcc has no -fsanitize-coverage-ignorelist: the fuzzer runs about 4x slower"
fi

# ---- build ------------------------------------------------------------------------
srcs=()
for f in "$ROOT"/src/*.c "$ROOT"/src/os/*.c; do
  [ -f "$f" ] && [ "$(basename "$f")" != override.c ] && srcs+=("$f")
done
bin=$tmp/fuzz_api
# shellcheck disable=SC2086
if ! $fcc -g -O1 -fsanitize=fuzzer,undefined -fno-sanitize-recover=undefined "${ignore[@]}" -DGH_NO_OVERRIDE \
    -DGH_DEBUG="$debug" -Iinclude -Isrc "${srcs[@]}" tests/fuzz/fuzz_api.c -lpthread -o "$bin" \
    >"$tmp/build.err" 2>&1; then
  head -50 "$tmp/build.err"
  fail "build: tests/fuzz/fuzz_api.c with the engine, -fsanitize=fuzzer,undefined -DGH_DEBUG=$debug"
  finish
fi
pass "build: fuzz_api (GH_DEBUG=$debug)"

# Prints what a failed run left: the crashing input and the report's first lines.
report() { # log
  local log=$1 unit
  unit=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
  [ -n "$unit" ] && echo "  crashing input: $unit" && echo "  reproduce: bash tests/suites/fuzz.sh $unit   (GH_FUZZ_TRACE=1 for every operation)"
  local first
  first=$(grep -n -m1 -E '^fuzz_api: (MODEL MISMATCH|crashed)|^goheap: |runtime error:|^==[0-9]+==|^ALARM: working|ERROR: libFuzzer' "$log" | cut -d: -f1)
  [ -z "$first" ] && first=$(($(wc -l <"$log") > 30 ? $(wc -l <"$log") - 30 : 1))
  echo "  report ($log):"
  sed -n "${first},$((first + 39))p" "$log" | sed 's/^/  | /'
}

# ---- replay mode: the inputs given ----------------------------------------------------
if [ "$#" -gt 0 ]; then
  for input in "$@"; do
    if "$bin" -rss_limit_mb="$rss" -timeout=120 "$input" >"$tmp/replay.log" 2>&1; then
      pass "replay: $input"
      grep 'fuzz_api: totals' "$tmp/replay.log"
    else
      fail "replay: $input"
      report "$tmp/replay.log"
    fi
  done
  finish
fi

# ---- 1. the seed corpus -------------------------------------------------------------------
nseeds=$(find "$seeds" -type f 2>/dev/null | wc -l)
if [ "$nseeds" -eq 0 ]; then
  fail "seed corpus: no files under $seeds"
elif mkdir -p "$art" && "$bin" -runs=0 -rss_limit_mb="$rss" -timeout=120 -artifact_prefix="$art/" "$seeds" \
    >"$tmp/seeds.log" 2>&1; then
  pass "seed corpus: $nseeds inputs replayed, every check held ($(sed -n 's/^fuzz_api: totals: //p' "$tmp/seeds.log"))"
else
  fail "seed corpus: an input of $seeds fails"
  cp "$tmp/seeds.log" "$art/seeds.log" 2>/dev/null
  report "$tmp/seeds.log"
fi

# ---- 2. fuzzing ---------------------------------------------------------------------------
if [ "$failed" -ne 0 ]; then
  echo "fuzz: not run: libFuzzer would stop at the same failing seed (fix it first)"
  finish
fi
out=${GH_FUZZ_CORPUS_OUT:-$tmp/corpus}
mkdir -p "$out" "$art"
case "$(cd "$out" && pwd -P)" in
  "$(cd "$seeds" && pwd -P)") fail "GH_FUZZ_CORPUS_OUT must not be the committed corpus"; finish ;;
esac
log=$art/fuzz.log
echo "fuzz: ${seconds}s from $nseeds seeds, new entries in $out, log in $log"
# -len_control=0: stateful inputs need length from the start. The outer timeout
# catches a hang that libFuzzer's own -timeout cannot (a deadlock in a thread).
# shellcheck disable=SC2086
timeout -k 10 $((seconds + 300)) "$bin" -max_total_time="$seconds" -max_len="$max_len" -len_control=0 \
  -timeout=60 -rss_limit_mb="$rss" -print_final_stats=1 -artifact_prefix="$art/" $seedflag ${GH_FUZZ_FLAGS:-} \
  "$out" "$seeds" >"$log" 2>&1
status=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
added=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -1)
peak=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
cov=$(grep -E '^#[0-9]+' "$log" | tail -1 | sed -n 's/.*\(cov: [0-9]* ft: [0-9]*\).*/\1/p')
echo "fuzz: ${execs:-?} executions, ${rate:-?} executions/s, ${added:-?} new corpus entries, peak RSS ${peak:-?} MB, ${cov:-coverage ?}"
totals=$(sed -n 's/^fuzz_api: totals: //p' "$log" | tail -1)
[ -n "$totals" ] && echo "fuzz: harness totals: $totals"

if [ "$status" -eq 0 ] && ! grep -qE '^fuzz_api: MODEL MISMATCH|ERROR: libFuzzer|runtime error:|^goheap: fatal' "$log"; then
  pass "fuzz: ${seconds}s without a crash or model mismatch"
else
  case $status in
    124 | 137) fail "fuzz: hung (killed after $((seconds + 300))s)" ;;
    *) fail "fuzz: exit status $status" ;;
  esac
  report "$log"
fi
if [ -n "${execs:-}" ] && [ "${execs:-0}" -gt 0 ] && [ -n "$totals" ]; then
  ops=$(sed -n 's/^\([0-9]*\) inputs, \([0-9]*\) operations.*/\2/p' <<<"$totals")
  if [ "${ops:-0}" -gt 0 ]; then pass "fuzz: the harness ran $ops operations"; else fail "fuzz: no operation ran"; fi
elif [ "$status" -eq 0 ]; then
  fail "fuzz: no final statistics in $log (stat::number_of_executed_units)"
fi
finish
