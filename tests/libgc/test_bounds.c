/*
 * tests/libgc/test_bounds.c -- GC_least/greatest_plausible_heap_addr, data
 * symbols of libgc.so.1 (and so roots, like all of a library's data), must
 * bound every object without pointing into one: the first and the last
 * object a program allocates are collected like any other (before, they
 * held the lowest object's address and the highest object's last byte, and
 * kept both alive for good).  Prints PASS/FAIL lines, then "N passed, N failed".
 */
#define GC_THREADS 1
#include <gc.h>
#include <gc_mark.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int passed, failed;
static void check(const char *name, int ok) {
  if (ok) passed++, printf("PASS %s\n", name);
  else failed++, printf("FAIL %s\n", name);
}
static int finalized;
static void fin(void *obj, void *cd) {
  (void)obj, (void)cd;
  finalized++;
}
static GC_word first, last;
static __attribute__((noinline)) void allocate(void) {
  void *p = GC_MALLOC(96);
  first = GC_HIDE_POINTER(p);
  GC_REGISTER_FINALIZER(p, fin, NULL, NULL, NULL);
  for (int i = 0; i < 1000; i++) (void)GC_MALLOC(200);
  p = GC_MALLOC(1 << 20);
  last = GC_HIDE_POINTER(p);
  GC_REGISTER_FINALIZER(p, fin, NULL, NULL, NULL);
}
static __attribute__((noinline)) void clear_stack(void) {
  volatile char buf[16384];
  memset((char *)buf, 0, sizeof buf);
}

int main(void) {
  GC_INIT();
  GC_set_finalize_on_demand(1);
  allocate();
  clear_stack();
  uintptr_t lo = (uintptr_t)GC_least_plausible_heap_addr, hi = (uintptr_t)GC_greatest_plausible_heap_addr;
  uintptr_t f = (uintptr_t)GC_REVEAL_POINTER(first), l = (uintptr_t)GC_REVEAL_POINTER(last);
  check("the plausible heap bounds enclose the first and the last object", lo <= f && l + (1 << 20) - 1 <= hi);
  check("neither bound points into either object", GC_base((void *)lo) == NULL && GC_base((void *)hi) == NULL);
  for (int i = 0; i < 10 && finalized < 2; i++) {
    clear_stack();
    GC_gcollect();
    GC_invoke_finalizers();
  }
  check("the first and the last object allocated are finalized once unreachable", finalized == 2);
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
