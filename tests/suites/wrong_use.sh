#!/usr/bin/env bash
# wrong_use.sh -- misuse of the malloc API is detected, reported, and (by
# default) fatal.
#
# Builds tests/wrong/wrong.c against $GOHEAP_A and runs each misuse case
# (double free small/tiny/large/cross-thread both ways, free of a stack / global / mmap
# / wild pointer, free and realloc of an interior pointer, realloc of a freed
# pointer, free_sized / free_aligned_sized with a wrong size,
# malloc_usable_size of a foreign pointer; and free, realloc and
# malloc_usable_size of a stack array as the process's very first goheap call,
# before anything has allocated or read the options) as its own process, twice:
#   default:                must die by SIGABRT (status 134) after printing a
#                           stderr line that starts "goheap: ", names the
#                           problem and contains the bad pointer (0x%lx);
#   GOHEAP_ON_ERROR=report: the same line, then the program keeps working
#                           (allocates and frees afterwards) and exits 0.
# Ends with "N passed, N failed"; exits non-zero on any failure.
set -u

ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
GOHEAP_A=${GOHEAP_A:-$ROOT/build/libgoheap.a}
CC=${CC:-cc}

passed=0
failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL $*" >&2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gh_wrong.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
ulimit -c 0 2>/dev/null || true

if [ ! -f "$GOHEAP_A" ]; then
  fail "build: $GOHEAP_A not found (run make first)"
  echo "$passed passed, $failed failed"
  exit 1
fi
if ! $CC -O1 -g -Wall -Wextra -I"$ROOT/include" -I"$ROOT/tests" "$ROOT/tests/wrong/wrong.c" \
    "$GOHEAP_A" -lpthread -o "$tmp/wrong" 2>"$tmp/build.err"; then
  cat "$tmp/build.err" >&2
  fail "build: tests/wrong/wrong.c does not compile/link against $GOHEAP_A"
  echo "$passed passed, $failed failed"
  exit 1
fi
pass

# case name | phrase the goheap line must contain (grep -iE)
cases=(
  "double-free-small|double free"
  "double-free-tiny|double free"
  "double-free-large|double free"
  "double-free-remote|double free"
  "double-free-remote2|double free"
  "free-stack|not allocated by goheap"
  "free-global|not allocated by goheap"
  "free-mmap|not allocated by goheap"
  "free-wild|not allocated by goheap"
  "free-interior-small|points into the middle of"
  "free-interior-large|points into the middle of"
  "free-interior-large-page|points into the middle of"
  "realloc-freed|double free|already free|not allocated by goheap"
  "realloc-interior|points into the middle of"
  "free-sized-wrong|size mismatch"
  "free-sized-wrong-large|size mismatch"
  "free-aligned-sized-wrong|size mismatch"
  "usable-size-foreign|not allocated by goheap"
  "first-free-stack|^goheap: free of 0x[0-9a-f]+: pointer not allocated by goheap"
  "first-realloc-stack|^goheap: realloc of 0x[0-9a-f]+: pointer not allocated by goheap"
  "first-usable-size-stack|^goheap: malloc_usable_size of 0x[0-9a-f]+: pointer not allocated by goheap"
)

# run MODE CASE PHRASE: one process, checks status and the stderr line.
run_case() {
  local mode=$1 name=$2 phrase=$3 status out err ptr line
  out="$tmp/$name.$mode.out"
  err="$tmp/$name.$mode.err"
  # The first-* cases need the bad call to be goheap's first: the heap
  # profile's unwinder, loaded at start-up, allocates, so it is off for them.
  local rate=()
  [[ $name == first-* ]] && rate=(GOHEAP_PROFILE_RATE=0)
  if [ "$mode" = abort ]; then
    (cd "$tmp" && env -u GOHEAP_ON_ERROR "${rate[@]}" timeout 60 ./wrong "$name" >"$out" 2>"$err") 2>/dev/null
  else
    (cd "$tmp" && env GOHEAP_ON_ERROR=report "${rate[@]}" timeout 60 ./wrong "$name" >"$out" 2>"$err") 2>/dev/null
  fi
  status=$?
  ptr=$(sed -n 's/^badptr=\(0x[0-9a-f]*\)$/\1/p' "$out" | head -1)
  line=$(grep -m1 '^goheap: ' "$err")

  if [ "$mode" = abort ]; then
    if [ "$status" -eq 134 ]; then pass; else
      fail "$name (default): exit status $status, want 134 (SIGABRT); stdout: $(tr '\n' ' ' <"$out")"
    fi
  else
    if [ "$status" -eq 0 ] && grep -q '^survived' "$out"; then pass; else
      fail "$name (GOHEAP_ON_ERROR=report): exit status $status, want 0 and 'survived'; stdout: $(tr '\n' ' ' <"$out")"
    fi
  fi

  if [ -z "$ptr" ]; then
    fail "$name ($mode): the program printed no badptr line"
  elif [ -z "$line" ]; then
    fail "$name ($mode): no stderr line starting 'goheap: '; stderr: $(head -c 300 "$err" | tr '\n' ' ')"
  elif ! grep '^goheap: ' "$err" | grep -iqE "$phrase"; then
    fail "$name ($mode): goheap line does not say '$phrase': $line"
  elif ! grep '^goheap: ' "$err" | grep -iE "$phrase" | grep -qE "${ptr}([^0-9a-fA-F]|\$)"; then
    fail "$name ($mode): goheap line does not contain the pointer $ptr: $line"
  else
    pass
  fi
}

for c in "${cases[@]}"; do
  name=${c%%|*}
  phrase=${c#*|}
  run_case abort "$name" "$phrase"
  run_case report "$name" "$phrase"
done

# gh_set_error_mode(GH_ERROR_REPORT) from the program works like the variable.
(cd "$tmp" && env -u GOHEAP_ON_ERROR timeout 60 ./wrong api-report >"$tmp/api.out" 2>"$tmp/api.err") 2>/dev/null
status=$?
if [ "$status" -eq 0 ] && grep -q '^survived' "$tmp/api.out" &&
  grep '^goheap: ' "$tmp/api.err" | grep -iq 'double free'; then
  pass
else
  fail "api-report: gh_set_error_mode(GH_ERROR_REPORT): status $status, stdout: $(tr '\n' ' ' <"$tmp/api.out") stderr: $(head -c 300 "$tmp/api.err" | tr '\n' ' ')"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
