/*
 * test_heap_growth.c -- the heap keeps growing correctly past arena (64 MiB)
 * boundaries while earlier large blocks stay live.
 *
 * Regression/reproducer: when the reserved region is extended in place
 * (mheap.c reserve_locked, "extending the current region"), the extension
 * `need = n - (cur_end - cur_base)` is not a multiple of the arena size, so
 * cur_end stops being arena-aligned; the next in-place extension then
 * registers an arena at an unaligned base (overwriting the entry of the arena
 * that already covers that index) and leaves the next 64 MiB index without
 * an arena, and the following large allocation crashes in set_span_map
 * (gh_arena_of() returns NULL). Found with 60, 100, 100, 100 MB kept live.
 *
 * Each block is touched on every 64th page (RSS stays small) and checked
 * before it is freed; then the same again through a mixed sequence of sizes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "goheap.h"
#include "testhelper.h"

#define MiB ((size_t)1024 * 1024)
#define STRIDE ((size_t)64 * 4096)

static void touch(unsigned char *p, size_t n, unsigned tag) {
  for (size_t i = 0; i < n; i += STRIDE) p[i] = (unsigned char)(tag + i / STRIDE);
  p[n - 1] = (unsigned char)tag;
}

static int touched_ok(const unsigned char *p, size_t n, unsigned tag) {
  for (size_t i = 0; i < n; i += STRIDE)
    if (p[i] != (unsigned char)(tag + i / STRIDE)) return 0;
  return p[n - 1] == (unsigned char)tag;
}

/* Allocates every size in mb[] (MiB) and keeps them all live; checks; frees. */
static void sequence(const char *name, const size_t *mb, int n) {
  unsigned char *keep[32];
  int ok_alloc = 1, ok_data = 1, ok_disjoint = 1;
  for (int i = 0; i < n; i++) {
    size_t sz = mb[i] * MiB;
    keep[i] = gh_malloc(sz);
    if (!keep[i]) {
      ok_alloc = 0;
      continue;
    }
    touch(keep[i], sz, (unsigned)i * 17u);
  }
  for (int i = 0; i < n; i++) {
    if (!keep[i]) continue;
    if (!touched_ok(keep[i], mb[i] * MiB, (unsigned)i * 17u)) ok_data = 0;
    for (int j = 0; j < n; j++) {
      if (j == i || !keep[j]) continue;
      uintptr_t a = (uintptr_t)keep[i], b = (uintptr_t)keep[j];
      if (a < b + mb[j] * MiB && b < a + mb[i] * MiB) ok_disjoint = 0;
    }
  }
  char buf[160];
  snprintf(buf, sizeof buf, "%s: every block allocated", name);
  CHECK(buf, ok_alloc);
  snprintf(buf, sizeof buf, "%s: every block keeps its data", name);
  CHECK(buf, ok_data);
  snprintf(buf, sizeof buf, "%s: blocks do not overlap", name);
  CHECK(buf, ok_disjoint);
  for (int i = 0; i < n; i++) gh_free(keep[i]);
  void *p = gh_malloc(1000), *q = gh_malloc(5 * MiB);
  snprintf(buf, sizeof buf, "%s: heap works after freeing them", name);
  CHECK(buf, p && q);
  gh_free(p);
  gh_free(q);
}

int main(void) {
  /* the minimal crash: three in-place extensions of the reserved region */
  static const size_t a[] = {60, 100, 100, 100};
  sequence("60,100,100,100 MB live", a, 4);
  /* sizes that leave the region end at odd offsets again and again */
  static const size_t b[] = {5, 70, 33, 130, 3, 64, 65, 1, 127, 90};
  sequence("mixed 1..130 MB live", b, 10);
  gh_malloc_trim(0);
  static const size_t c[] = {100, 100, 100, 100};
  sequence("4 x 100 MB after trim", c, 4);
  return TEST_SUMMARY();
}
