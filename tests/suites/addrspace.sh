#!/usr/bin/env bash
# addrspace.sh -- under a limit on address space (ulimit -v, RLIMIT_AS), goheap
# hands out about as much memory as the system malloc, and all of it again
# after everything was freed.
#
# tests/addrspace/probe.c allocates until malloc returns NULL (errno must be
# ENOMEM), writing a tag at both ends of every block; checks the tags, frees
# everything, and allocates until NULL again. It prints both totals (the sum
# of the requested sizes obtained). Modes: "mixed" (sizes log-uniform from 16
# bytes to 1 MiB, a fixed sequence) and "1m" (1 MiB blocks). Its pointer array
# is mmap'd, so it does not compete with the blocks.
#
# Each configuration runs the probe three times, each in a subshell with
# `ulimit -v LIMIT`:
#   glibc    the system malloc: the reference, measured here in the same run
#            (never a figure written down once: RLIMIT_AS counts every mapping,
#            the libraries and stacks included, so what fits depends on the
#            machine);
#   preload  LD_PRELOAD=$GOHEAP_LIB;
#   static   probe.c linked with $GOHEAP_A -lpthread (the plain names are goheap).
# Configurations: 256 MiB and 512 MiB (a second limit, so a ratio is not the
# accident of one limit), each with mixed and 1 MiB blocks; and 256 MiB with
# 32 MiB of other mappings already there (probe -o 32: a bigger program's
# libraries, thread stacks, reservations), which is where glibc gets ~220 MiB.
# Checks, per configuration:
#   glibc:   exit 0, round 2 >= 90% of round 1, round 1 >= 50% of the limit
#            (else the reference itself says nothing);
#   preload and static, each:
#            exit 0 (no crash, no signal, ENOMEM, tags intact) and goheap's
#            heap summary (GOHEAP_STATS=1) on stderr: goheap served the run;
#            round 1 >= 90% of glibc's round 1;
#            round 2 >= 90% of its own round 1 (freed memory is reusable).
# The figures (MiB, goheap / glibc, and how much of the limit was not mapped
# when round 1 failed) are printed as a table, last; before it, for every
# preload run, the address space at that moment (from the probe's copy of
# /proc/self/maps): how much was mapped, by kind, and the largest mappings.
# A missing tool ($CC, timeout, awk) is a FAILED check, never a skip.
# Ends with "N passed, N failed"; exits non-zero on any failure.
set -u

ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
LIB=${GOHEAP_LIB:-$ROOT/build/libgoheap.so}
GOHEAP_A=${GOHEAP_A:-$ROOT/build/libgoheap.a}
CC=${CC:-cc}
# nothing from the caller's environment may tune either allocator
for v in $(compgen -e); do
  case $v in GOHEAP_LIB | GOHEAP_A) ;; GOHEAP_* | MALLOC_* | GLIBC_TUNABLES | LD_PRELOAD) unset "$v" ;; esac
done
export LC_ALL=C

passed=0 failed=0
ok()  { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1${2:+ -- $2}"; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }
MARK_RE='goheap.*heap summary'
TMO=120   # per probe run, seconds; a run takes well under a second

TMP=$(mktemp -d "${TMPDIR:-/tmp}/gh-addrspace.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
ulimit -c 0 2>/dev/null || true

# --- tools, libraries, the probe ------------------------------------------
missing=
for t in "$CC" timeout awk; do command -v "$t" >/dev/null 2>&1 || missing="$missing $t"; done
if [ -n "$missing" ]; then
  bad "tools" "not installed:$missing"
  finish
fi
if ! (ulimit -v 262144) 2>/dev/null; then
  bad "tools" "cannot set ulimit -v 262144 here (hard limit $(ulimit -H -v))"
  finish
fi
ok "tools ($CC, timeout, awk, ulimit -v)"

PROBE_SRC=$ROOT/tests/addrspace/probe.c
if $CC -std=gnu11 -O2 -Wall -Wextra -o "$TMP/probe" "$PROBE_SRC" 2>"$TMP/build.err"; then
  ok "build probe.c with $CC (links only libc)"
else
  cat "$TMP/build.err"
  bad "build probe.c with $CC"
  finish
fi
have_static=0
if [ ! -f "$GOHEAP_A" ]; then
  bad "build probe.c with $GOHEAP_A" "$GOHEAP_A not found (run make)"
elif $CC -std=gnu11 -O2 -Wall -Wextra -o "$TMP/probe_static" "$PROBE_SRC" "$GOHEAP_A" -lpthread 2>"$TMP/build_static.err"; then
  ok "build probe.c with $GOHEAP_A -lpthread"
  have_static=1
else
  cat "$TMP/build_static.err"
  bad "build probe.c with $GOHEAP_A -lpthread"
fi
have_lib=1
if [ ! -f "$LIB" ]; then
  bad "library exists" "$LIB not found (run make)"
  have_lib=0
fi

# --- running ----------------------------------------------------------------
# run TAG KIND MODE LIMIT_KIB OTHER_MIB: one probe run under the limit; the
# status goes to $TMP/TAG.rc, output to TAG.out / TAG.err, maps to TAG.maps.
run() {
  local tag=$1 kind=$2 mode=$3 lim=$4 other=$5 rc
  local args=("$mode" -o "$other" -m "$TMP/$tag.maps")
  case $kind in
    glibc)   (ulimit -v "$lim" && exec timeout -k 5 "$TMO" "$TMP/probe" "${args[@]}") ;;
    preload) (ulimit -v "$lim" && exec timeout -k 5 "$TMO" env LD_PRELOAD="$LIB" GOHEAP_STATS=1 "$TMP/probe" "${args[@]}") ;;
    static)  (ulimit -v "$lim" && exec timeout -k 5 "$TMO" env GOHEAP_STATS=1 "$TMP/probe_static" "${args[@]}") ;;
  esac >"$TMP/$tag.out" 2>"$TMP/$tag.err"
  rc=$?
  echo "$rc" >"$TMP/$tag.rc"
}
# val TAG KEY: a number the probe printed ("" if none)
val() { awk -v k="$2" '$1 == k { print $2 }' "$TMP/$1.out" 2>/dev/null | tail -n 1; }
mib() { awk -v b="${1:-0}" 'BEGIN { printf "%.1f", b / 1048576 }'; }
# pct A B: A as a percentage of B, one decimal
pct() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (b > 0) printf "%.1f%%", 100 * a / b; else printf "-" }'; }
# at_least_pct A B P: A >= P% of B (integers; false if either is missing)
at_least_pct() { [ -n "$1" ] && [ -n "$2" ] && [ "$2" -gt 0 ] && [ $(($1 * 100)) -ge $(($2 * $3)) ]; }
# why TAG: a readable reason for a run's non-zero status
why() {
  local rc
  rc=$(cat "$TMP/$1.rc")
  case $rc in
    2) echo "status 2: probe error: $(head -c 300 "$TMP/$1.err")" ;;
    3) echo "status 3: malloc returned NULL without errno ENOMEM: $(head -c 300 "$TMP/$1.err")" ;;
    4) echo "status 4: a block's tag was overwritten: $(head -c 300 "$TMP/$1.err")" ;;
    124 | 137) echo "status $rc: still running after ${TMO}s (timeout)" ;;
    *) if [ "$rc" -gt 128 ]; then echo "killed by signal $((rc - 128)) (status $rc): $(tail -c 300 "$TMP/$1.err")"
       else echo "status $rc: $(tail -c 300 "$TMP/$1.err")"; fi ;;
  esac
}
# mapped TAG: bytes mapped at the failure, from TAG.maps ("" if none)
mapped() {
  local f=$TMP/$1.maps range lo hi sum=0
  [ -s "$f" ] || return 0
  while read -r range _; do
    lo=${range%-*} hi=${range#*-}
    sum=$((sum + 16#$hi - 16#$lo))
  done <"$f"
  echo "$sum"
}
# unused TAG LIMIT_KIB: MiB of the limit not mapped at the failure ("-" if unknown)
unused() {
  local m
  m=$(mapped "$1")
  if [ -n "$m" ]; then mib $(($2 * 1024 - m)); else echo -; fi
}
# where TAG LIMIT_KIB: one line, the address space at the failure: how much
# of the limit was mapped, by kind, and the four largest mappings
where() {
  local f=$TMP/$1.maps lim=$(($2 * 1024)) range perms path lo hi sz total=0 files=0 none=0 n=0 big
  [ -s "$f" ] || { echo "no copy of /proc/self/maps"; return; }
  : >"$TMP/$1.sizes"
  while read -r range perms _ _ _ path; do
    lo=${range%-*} hi=${range#*-}
    sz=$((16#$hi - 16#$lo))
    total=$((total + sz)); n=$((n + 1))
    case $perms in ---*) none=$((none + sz)) ;; esac
    case $path in /*) files=$((files + sz)) ;; esac
    echo "$sz $lo $perms ${path##*/}" >>"$TMP/$1.sizes"
  done <"$f"
  big=$(sort -rn "$TMP/$1.sizes" | head -n 4 | while read -r sz lo perms path; do
    printf '%s MiB %s %s; ' "$(mib "$sz")" "$perms" "${path:-anon@$lo}"; done)
  echo "$(mib $total) of $(mib $lim) MiB mapped in $n mappings ($(mib $((lim - total))) MiB unused;" \
    "files $(mib $files) MiB, PROT_NONE $(mib $none) MiB); largest: ${big%; }"
}

# --- the configurations -------------------------------------------------------
# limit KiB | other MiB | mode
configs=(
  "262144|0|mixed"
  "262144|0|1m"
  "524288|0|mixed"
  "524288|0|1m"
  "262144|32|mixed"
  "262144|32|1m"
)
rows=()
notes=()
for c in "${configs[@]}"; do
  IFS='|' read -r lim other mode <<<"$c"
  name="$((lim / 1024)) MiB limit"
  [ "$other" -gt 0 ] && name="$name + $other MiB other mappings"
  name="$name, $mode"
  g=ref.$lim.$other.$mode
  run "$g" glibc "$mode" "$lim" "$other"
  g1=$(val "$g" round1_bytes) g2=$(val "$g" round2_bytes)
  grc=$(cat "$TMP/$g.rc")
  if [ "$grc" -ne 0 ]; then
    bad "$name: glibc reference: exit 0" "$(why "$g")"
  elif ! at_least_pct "$g2" "$g1" 90; then
    bad "$name: glibc reference: round 2 >= 90% of round 1" "round 1 $(mib "$g1") MiB, round 2 $(mib "$g2") MiB"
  elif ! at_least_pct "$g1" $((lim * 1024)) 50; then
    bad "$name: glibc reference: round 1 >= 50% of the limit" "$(mib "$g1") MiB of $((lim / 1024)) MiB: the reference says nothing"
  else
    ok "$name: glibc reference: exit 0, $(mib "$g1") MiB, then $(mib "$g2") MiB"
  fi
  rows+=("$(printf '%-8s %5s  %-5s  %-15s %10s %10s %12s %13s %10s' "$((lim / 1024)) MiB" "$other" "$mode" "glibc" \
    "$(mib "$g1")" "$(mib "$g2")" "100.0%" "$(pct "$g2" "$g1")" "$(unused "$g" "$lim")")")
  for kind in preload static; do
    if [ "$kind" = preload ] && [ "$have_lib" = 0 ]; then bad "$name: goheap $kind" "$LIB not found"; continue; fi
    if [ "$kind" = static ] && [ "$have_static" = 0 ]; then bad "$name: goheap $kind" "no static probe"; continue; fi
    t=$kind.$lim.$other.$mode
    run "$t" "$kind" "$mode" "$lim" "$other"
    r1=$(val "$t" round1_bytes) r2=$(val "$t" round2_bytes)
    rc=$(cat "$TMP/$t.rc")
    if [ "$rc" -ne 0 ]; then
      bad "$name: goheap $kind: exit 0" "$(why "$t")"
    elif ! grep -Eq "$MARK_RE" "$TMP/$t.err"; then
      bad "$name: goheap $kind: exit 0 and goheap served it" "no heap summary on stderr: was goheap really the malloc?"
    else
      ok "$name: goheap $kind: exit 0 and goheap served it (heap summary)"
    fi
    if at_least_pct "$r1" "$g1" 90; then
      ok "$name: goheap $kind: round 1 >= 90% of glibc's ($(mib "$r1") MiB vs $(mib "$g1") MiB: $(pct "$r1" "$g1"))"
    else
      bad "$name: goheap $kind: round 1 >= 90% of glibc's" "goheap $(mib "$r1") MiB, glibc $(mib "$g1") MiB: $(pct "$r1" "$g1")"
    fi
    if at_least_pct "$r2" "$r1" 90; then
      ok "$name: goheap $kind: round 2 >= 90% of round 1 ($(mib "$r2") MiB vs $(mib "$r1") MiB)"
    else
      bad "$name: goheap $kind: round 2 >= 90% of round 1" "round 1 $(mib "$r1") MiB, round 2 $(mib "$r2") MiB"
    fi
    rows+=("$(printf '%-8s %5s  %-5s  %-15s %10s %10s %12s %13s %10s' "$((lim / 1024)) MiB" "$other" "$mode" "goheap $kind" \
      "$(mib "$r1")" "$(mib "$r2")" "$(pct "$r1" "$g1")" "$(pct "$r2" "$r1")" "$(unused "$t" "$lim")")")
    [ "$kind" = preload ] && notes+=("  $name: $(where "$t" "$lim")")
  done
done

echo
echo "where goheap's address space was when malloc failed (preload runs; static ones match):"
for n in "${notes[@]}"; do echo "$n"; done
echo
echo "figures (MiB of requested sizes obtained before malloc returned NULL):"
printf '%-8s %5s  %-5s  %-15s %10s %10s %12s %13s %10s\n' limit other mode allocator "round 1" "round 2" "r1 / glibc" "r2 / r1" unused
for r in "${rows[@]}"; do echo "$r"; done
echo "(other: MiB of other mappings made first; unused: MiB of the limit not mapped when round 1 failed)"
finish
