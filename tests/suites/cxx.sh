#!/usr/bin/env bash
# cxx.sh -- C++'s operator new and delete on goheap: tests/cxx/newdelete.cc
# (every form reaches goheap; std::bad_alloc, nullptr and the new_handler on
# out of memory), preloaded into a normal C++ program and linked statically
# with libgoheap.a; and a real C++ program (g++ itself compiling it) under
# LD_PRELOAD with goheap's operators checked in its symbol bindings.
# Ends with "N passed, N failed".
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
LIB=${GOHEAP_LIB:-$ROOT/build/libgoheap.so}
A=${GOHEAP_A:-$ROOT/build/libgoheap.a}
CXX=${CXX:-g++}
passed=0 failed=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
add() { # the "N passed, N failed" line of a test program's output
  local line; line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
  if [ -z "$line" ]; then failed=$((failed + 1)); echo "FAIL $2: no result line"; tail -5 "$1"; return; fi
  passed=$((passed + ${line%% passed*})); local f=${line#*passed, }; failed=$((failed + ${f%% failed*}))
  grep -E '^(PASS|FAIL)' "$1" | sed "s/^/$2: /"
}
if ! command -v "$CXX" >/dev/null; then echo "FAIL no C++ compiler ($CXX)"; echo "0 passed, 1 failed"; exit 1; fi
"$CXX" -std=c++17 -O1 -g "$ROOT/tests/cxx/newdelete.cc" -o "$tmp/nd" -ldl || { echo "FAIL build newdelete.cc"; echo "0 passed, 1 failed"; exit 1; }
LD_PRELOAD="$LIB" "$tmp/nd" >"$tmp/pre.out" 2>&1
add "$tmp/pre.out" preloaded
"$CXX" -std=c++17 -O1 -g "$ROOT/tests/cxx/newdelete.cc" -o "$tmp/nds" "$A" -lpthread -ldl -rdynamic ||
  { failed=$((failed + 1)); echo "FAIL build newdelete.cc with libgoheap.a"; }
[ -x "$tmp/nds" ] && { "$tmp/nds" >"$tmp/static.out" 2>&1; add "$tmp/static.out" static; }
# A real C++ program (apt-config: Debian's apt, libapt-pkg and libstdc++ all
# call operator new) binds every operator new to goheap's, and works.
if command -v apt-config >/dev/null; then
  LD_DEBUG=bindings LD_PRELOAD="$LIB" apt-config dump >"$tmp/apt.out" 2>"$tmp/apt.err"; rc=$?
  ours=$(grep -c "symbol \`_Znwm'" "$tmp/apt.err" | head -1)
  theirs=$(grep "symbol \`_Znwm'" "$tmp/apt.err" | grep -vc libgoheap)
  if [ "$rc" -eq 0 ] && [ -s "$tmp/apt.out" ] && [ "$ours" -gt 0 ] && [ "$theirs" -eq 0 ]; then
    passed=$((passed + 1)); echo "PASS apt-config runs with all $ours bindings of operator new to libgoheap"
  else
    failed=$((failed + 1)); echo "FAIL apt-config: status $rc, $ours bindings of operator new, $theirs not to libgoheap"
  fi
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
