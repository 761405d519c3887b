#!/usr/bin/env bash
# profile.sh -- the heap profile (GOHEAP_PROFILE_RATE, gh_write_heap_profile,
# GOHEAP_PROFILE at exit) read back by `go tool pprof` (Debian's golang-go):
#  - tests/profile/shares.c requests 3 bytes in alloc_a for every byte in
#    alloc_b (4 GiB in all): at GOHEAP_PROFILE_RATE=524288 (Go's default rate,
#    8,000 samples; goheap's default of 2 MiB would give 2,000 and a 2-sigma
#    band close to the tolerance) pprof's alloc_space
#    shares are within 10% of 75/25; after it frees alloc_b's live blocks,
#    alloc_b is gone from inuse_space and alloc_a is not; pprof -svg draws it;
#  - tests/profile/counts.c with GOHEAP_PROFILE_RATE=1: exact object counts
#    per function, malloc'd and collected, from four threads, inuse after
#    frees and a collection;
#  - GOHEAP_PROFILE=FILE at exit: /usr/bin/python3 under LD_PRELOAD, and
#    pprof symbolizes Python's own functions; %p gives each process its file;
#  - GOHEAP_PROFILE_RATE=0 records nothing; a file that cannot be written
#    gives one warning line and the program's own exit status;
#  - fork() while other threads add profile records (every allocation
#    sampled): build/{,debug/}tests/stress-test_fork must finish (a thread
#    that held a span's specials lock at the fork once deadlocked the child),
#    within 10 times its own run with the profile off, plus 30 s.
# Ends with "N passed, N failed".
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
LIB=${GOHEAP_LIB:-$ROOT/build/libgoheap.so}
A=${GOHEAP_A:-$ROOT/build/libgoheap.a}
CC=${CC:-cc}
passed=0 failed=0
pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }
check() { if eval "$2"; then pass "$1"; else fail "$1"; fi; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
if ! command -v go >/dev/null; then fail "go tool pprof is installed (apt-get install golang-go)"; echo "$passed passed, $failed failed"; exit 1; fi
export GOFLAGS=-mod=mod GOCACHE="$tmp/gocache" HOME=${HOME:-$tmp}
pprof_top() { # index, binary, profile: "function value" lines of -top
  go tool pprof -top -sample_index="$1" "$2" "$3" 2>/dev/null |
    awk 'f && NF >= 6 {print $6, $1} /flat%/ {f = 1}'
}
value_of() { awk -v fn="$1" '$1 == fn {print $2; exit}'; }
share() { # index binary profile function: its flat% of the total
  go tool pprof -top -sample_index="$1" "$2" "$3" 2>/dev/null | awk -v fn="$4" '$6 == fn {sub("%", "", $2); print $2; exit}'
}

build() { # name source linkage -> binary
  local extra=()
  [ "$3" = static ] && extra=("$A" -lpthread -ldl) || extra=(-L"$(dirname "$LIB")" -lgoheap -Wl,-rpath,"$(dirname "$LIB")" -lpthread)
  $CC -std=gnu11 -O1 -g -fno-builtin-malloc -I"$ROOT/include" "$2" -o "$tmp/$1" "${extra[@]}"
}

for link in shared static; do
  build shares "$ROOT/tests/profile/shares.c" $link || { fail "build shares.c ($link)"; continue; }
  if ! GOHEAP_PROFILE_RATE=524288 "$tmp/shares" "$tmp/p1.pb" "$tmp/p2.pb" >/dev/null; then fail "shares runs ($link)"; continue; fi
  a=$(share alloc_space "$tmp/shares" "$tmp/p1.pb" alloc_a); b=$(share alloc_space "$tmp/shares" "$tmp/p1.pb" alloc_b)
  echo "  $link: alloc_space shares alloc_a ${a:-?}%, alloc_b ${b:-?}% (expected 75/25)"
  check "alloc_a's share of alloc_space is 75% +-10% ($link: ${a:-none})" "[ -n '$a' ] && awk 'BEGIN{exit !($a >= 67.5 && $a <= 82.5)}'"
  check "alloc_b's share of alloc_space is 25% +-10% ($link: ${b:-none})" "[ -n '$b' ] && awk 'BEGIN{exit !($b >= 22.5 && $b <= 27.5)}'"
  o=$(share alloc_objects "$tmp/shares" "$tmp/p1.pb" alloc_b)
  check "alloc_b's share of alloc_objects is 25% +-10% ($link: ${o:-none})" "[ -n '$o' ] && awk 'BEGIN{exit !($o >= 22.5 && $o <= 27.5)}'"
  if [ $link = shared ]; then # the call graph as SVG (pprof runs graphviz's dot)
    go tool pprof -svg -sample_index=alloc_space "$tmp/shares" "$tmp/p1.pb" >"$tmp/p1.svg" 2>/dev/null
    check "pprof -svg draws the profile: well-formed SVG naming alloc_a and alloc_b" \
      "python3 -c 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1])' $tmp/p1.svg && grep -q alloc_a $tmp/p1.svg && grep -q alloc_b $tmp/p1.svg"
  fi
  before=$(pprof_top inuse_space "$tmp/shares" "$tmp/p1.pb"); after=$(pprof_top inuse_space "$tmp/shares" "$tmp/p2.pb")
  check "before the frees both functions hold memory in use ($link)" "echo '$before' | grep -q '^alloc_a ' && echo '$before' | grep -q '^alloc_b '"
  check "after alloc_b's blocks are freed, only alloc_a holds memory in use ($link)" "echo '$after' | grep -q '^alloc_a ' && ! echo '$after' | grep -q '^alloc_b '"
done

build counts "$ROOT/tests/profile/counts.c" static || fail "build counts.c"
if GOHEAP_PROFILE_RATE=1 "$tmp/counts" "$tmp/c.pb" >/dev/null; then
  alloc=$(pprof_top alloc_objects "$tmp/counts" "$tmp/c.pb"); inuse=$(pprof_top inuse_objects "$tmp/counts" "$tmp/c.pb")
  for want in "keep_f 1000 1000" "drop_f 500 -" "collect_f 100 -" "thread_f 1000 1000"; do
    set -- $want
    got_a=$(echo "$alloc" | value_of "$1"); got_i=$(echo "$inuse" | value_of "$1")
    check "rate 1: $1 allocated $2 objects (got ${got_a:-none})" "[ '${got_a:-}' = '$2' ]"
    if [ "$3" = - ]; then check "rate 1: nothing of $1 in use after its frees (got ${got_i:-none})" "[ -z '$got_i' ]"
    else check "rate 1: $1 has $3 objects in use (got ${got_i:-none})" "[ '${got_i:-}' = '$3' ]"; fi
  done
else
  fail "counts runs"
fi
if GOHEAP_PROFILE_RATE=0 "$tmp/counts" "$tmp/c0.pb" >/dev/null; then
  check "rate 0 records no sample" "[ -z \"\$(pprof_top alloc_objects $tmp/counts $tmp/c0.pb)\" ]"
else
  fail "counts runs with rate 0"
fi

# At exit, under LD_PRELOAD, in a real program (Debian's python3: its own functions are exported).
py=/usr/bin/python3
GOHEAP_PROFILE="$tmp/py.%p.pb" LD_PRELOAD="$LIB" "$py" -c 'import json; d=[{"k": i, "v": str(i) * 10} for i in range(100000)]; print(len(json.dumps(d)))' >/dev/null
files=("$tmp"/py.*.pb)
check "GOHEAP_PROFILE=FILE.%p writes one profile per process (got ${#files[@]})" "[ ${#files[@]} -eq 1 ] && [ -s '${files[0]}' ]"
top=$(go tool pprof -top -sample_index=alloc_space "$py" "${files[0]}" 2>/dev/null)
echo "$top" | sed -n '1,12p' | sed 's/^/  | /'
check "pprof symbolizes python3's own functions (Py*)" "echo \"\$top\" | awk '{print \$6}' | grep -q '^_*Py'"
check "pprof shows nothing of goheap's own frames" "! echo \"\$top\" | awk '{print \$6}' | grep -q -E '^(gh_|small_alloc|large_alloc)'"
out=$(GOHEAP_PROFILE=/nonexistent/dir/p.pb LD_PRELOAD="$LIB" /usr/bin/python3 -c "import sys; sys.exit(5)" 2>&1); rc=$?
check "an unwritable GOHEAP_PROFILE is one warning, status kept (rc $rc)" "[ $rc -eq 5 ] && echo '$out' | grep -q 'goheap: cannot write GOHEAP_PROFILE=/nonexistent/dir/p.pb'"
for t in "$ROOT/build/tests/stress-test_fork" "$ROOT/build/debug/tests/stress-test_fork"; do
  [ -x "$t" ] || { fail "$t is built (make tests)"; continue; }
  s0=$SECONDS; GOHEAP_PROFILE_RATE=0 "$t" >/dev/null 2>&1; ref=$((SECONDS - s0))
  limit=$((10 * ref + 30))
  out=$(GOHEAP_PROFILE_RATE=1 timeout "$limit" "$t" 2>&1); rc=$?
  check "fork amid profile records: $(basename "$(dirname "$(dirname "$t")")")/$(basename "$t") (rc $rc, limit ${limit}s)" \
    "[ $rc -eq 0 ] && echo \"\$out\" | grep -q ' 0 failed'"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
