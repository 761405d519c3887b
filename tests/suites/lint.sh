#!/usr/bin/env bash
# lint.sh -- rules of the codebase that a reviewer should not have to check by hand:
#  - libgoheap.so exports only gh_*, the malloc family and C++'s operator new/delete;
#  - platform calls (mmap, madvise, mprotect, pthread_*, getenv) appear only in src/os/;
#  - the checked-in size class table is what tools/mksizeclasses generates;
#  - the library builds warning-free with -Wall -Wextra under gcc and clang;
#  - the install target installs a usable library (pkg-config and CMake);
#  - the fast paths (section gh_fast, which the collector's stop signal treats
#    as not a safe point) call nothing but slow paths that guard themselves
#    with gh_enter, error reports, memset and errno, and the heap profile's
#    sampling (called once the allocation is complete: a safe point);
#  - the objects' real call graph (nm) follows the layer order and the listed
#    back edges in src/internal.h's header comment (tools/lint/layers.py);
#  - __atomic_/__sync_ builtins appear only in internal.h's gh_atomic_* helpers
#    and src/os/ (tools/lint/atomics.py);
#  - every `_locked` function asserts its lock with gh_assert_held (tools/lint/locks.py);
#  - goheap's writable globals all live in section gh_data, which the collector
#    does not scan as roots (tools/lint/gh_data.py).
# Ends with "N passed, N failed".
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$ROOT" || exit 1
passed=0 failed=0
check() { # name, command...
  local name=$1; shift
  if out=$("$@" 2>&1); then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL $name"; echo "$out" | head -20; fi
}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

allowed='^(gh_[a-z0-9_]+|malloc|free|calloc|realloc|reallocarray|posix_memalign|aligned_alloc|memalign|valloc|pvalloc|malloc_usable_size|cfree|free_sized|free_aligned_sized|malloc_trim|mallopt|mallinfo|mallinfo2|malloc_stats|__libc_(malloc|free|calloc|realloc|memalign|valloc|pvalloc|cfree|free_sized|free_aligned_sized)|__posix_memalign|pthread_create|pthread_sigmask|sigprocmask|_Z(nw|na)m[A-Za-z0-9_]*|_Zd[la]Pv[A-Za-z0-9_]*)$'
exports() { nm -D --defined-only "$ROOT/build/libgoheap.so" | awk '{print $3}' | grep -v -E "$allowed"; test $? -eq 1; }
check "only the API is exported from libgoheap.so" exports

# (The definitions of the interposed pthread_create and pthread_sigmask, "int pthread_create(", are not calls.)
platform() { ! grep -n -E '\b(mmap|munmap|madvise|mprotect|getenv|pthread_[a-z_]+|syscall)\s*\(' src/*.c | grep -v '^\S*:\s*\*' | grep -v -E '\bint\s+pthread_(create|sigmask)\s*\(' ; }
check "platform calls only in src/os/" platform

# The rules that need a parser live in tools/lint/ (python3); each prints file:line
# or object and symbol names for what it rejects.
check "the call graph of build/obj follows internal.h's layer order" python3 tools/lint/layers.py --root "$ROOT"
check "atomic builtins only inside the gh_atomic_* helpers" python3 tools/lint/atomics.py --root "$ROOT"
check "every _locked function asserts its lock (gh_assert_held)" python3 tools/lint/locks.py --root "$ROOT"
check "writable globals only in section gh_data (not collector roots)" python3 tools/lint/gh_data.py --root "$ROOT"

check "size class table matches its generator" make -s sizeclasses-check

# Every call or jump from gh_fast to a symbol outside it (objdump names targets in the linked .so).
fastcalls() {
  local inside
  inside=$(objdump -t "$ROOT/build/libgoheap.so" | awk '$4 == "gh_fast" {print $NF}' | sort -u | paste -sd'|')
  objdump -d --section=gh_fast "$ROOT/build/libgoheap.so" | grep -oE '(call|jmp) +[0-9a-f]+ <[^>+]+' |
    sed -E 's/.*<//' | sort -u | grep -v -E "^($inside)\$" |
    grep -v -E '^(small_alloc_slow|tiny_alloc_slow|large_alloc|free_remote|free_unusual(\.[a-z0-9.]+)?|bad_unmapped|bad_pointer|gh_report_bad_pointer|gh_mprof_malloc|memset@plt|__errno_location@plt)$'
  test $? -eq 1
}
check "fast paths call only guarded slow paths" fastcalls

# world.c:park spills the parked thread's callee-saved registers into its own
# frame for the collector to scan; a tail call to park_here would pop them.
parkframe() { objdump -d "$ROOT/build/obj/world.o" | awk '/<park>:/,/^$/' | grep -q -E 'call +[0-9a-f]+ <park_here>'; }
check "park keeps its frame (no tail call to park_here)" parkframe
# world.c:gh_world_blocking_wait spills an idle thread's registers the same way.
blockframe() { objdump -d "$ROOT/build/obj/world.o" | awk '/<gh_world_blocking_wait>:/,/^$/' | grep -q -E 'call +[0-9a-f]+ <block_and_wait>'; }
check "the blocking wait keeps its frame (no tail call to block_and_wait)" blockframe

warnfree() { # compiler
  for f in src/*.c src/os/*.c; do
    "$1" -std=gnu11 -O2 -fPIC -Wall -Wextra -Werror -Wno-unused-parameter -c "$f" -o "$tmp/x.o" || return 1
  done
}
check "builds warning-free with gcc -Wall -Wextra -Werror" warnfree gcc
if command -v clang >/dev/null; then check "builds warning-free with clang -Wall -Wextra -Werror" warnfree clang; fi

install_use() {
  make -s install PREFIX="$tmp/prefix" >/dev/null || return 1
  cat >"$tmp/use.c" <<'C'
#include <goheap.h>
#include <stdio.h>
int main(void) { void *p = gh_malloc(100); gh_free(p); printf("%d\n", GOHEAP_VERSION); return p == 0; }
C
  PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig" cc "$tmp/use.c" $(PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig" pkg-config --cflags --libs goheap) -Wl,-rpath,"$tmp/prefix/lib" -o "$tmp/use" || return 1
  "$tmp/use" || return 1
  readelf -d "$tmp/prefix/lib/libgoheap.so" | grep -q 'SONAME.*libgoheap.so.0' || return 1
  test -f "$tmp/prefix/lib/cmake/goheap/goheap-config.cmake"
}
check "make install gives a library usable through pkg-config, with a versioned soname" install_use

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
