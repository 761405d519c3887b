#!/usr/bin/env bash
# ubsan.sh -- the engine under UndefinedBehaviorSanitizer: no shift past the
# width, no signed overflow, no misaligned access, no out-of-bounds index into
# a fixed array, in any code path the unit, API and stress tests reach.
# Builds the library sources with -fsanitize=undefined (fatal on the first
# report) into a static library, links the unit, API and stress tests against
# it (UBSan does not replace malloc, so goheap stays the allocator), runs them
# scaled down, and fails on any report. Ends with "N passed, N failed".
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
CC=${CC:-cc}
cd "$ROOT" || exit 1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
flags="-std=gnu11 -O1 -g -fsanitize=undefined -fno-sanitize-recover=all"
objs=""
for f in src/*.c src/os/*.c; do
  o="$tmp/$(basename "$f" .c).o"
  if ! $CC $flags -fPIC -ftls-model=initial-exec -fno-builtin-malloc -fno-builtin-free -c "$f" -o "$o" 2>"$tmp/err"; then
    cat "$tmp/err"; echo "FAIL build $f"; echo "0 passed, 1 failed"; exit 1
  fi
  objs="$objs $o"
done
ar rcs "$tmp/libgoheap-ubsan.a" $objs
export GH_QUICK=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in tests/unit/*.c tests/api/*.c tests/stress/*.c; do
  name=$(basename "$t" .c)
  if ! $CC $flags -Iinclude -Isrc -Itests "$t" "$tmp/libgoheap-ubsan.a" -lpthread -o "$tmp/$name" 2>"$tmp/err"; then
    cat "$tmp/err"; echo "FAIL build $name"; failed=$((failed + 1)); continue
  fi
  if "$tmp/$name" >"$tmp/$name.log" 2>&1 && ! grep -q "runtime error" "$tmp/$name.log"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); echo "FAIL $name under UBSan:"; grep -m5 -A5 "runtime error\|FAIL" "$tmp/$name.log"
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
