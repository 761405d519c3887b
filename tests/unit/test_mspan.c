/*
 * test_mspan.c -- white-box tests of a span's bitmaps (src/mspan.c, src/mgcsweep.c):
 * nextFreeIndex and the alloc cache against a slow bit-by-bit reference, and the
 * sweep's merge of owner and remote frees, on synthetic spans of every size class.
 */
#include <string.h>

#include "internal.h"
#include "testhelper.h"

static uint64_t bits[4][GH_MAX_BITMAP_WORDS];

static void make_span(gh_mspan *s, uint32_t cls, uint32_t density_pct) {
  memset(s, 0, sizeof *s);
  memset(bits, 0, sizeof bits);
  s->spanclass = gh_make_spanclass(cls, false);
  s->start_addr = 0x100000;
  s->npages = gh_class_npages(cls);
  s->alloc_bits = bits[0];
  s->free_bits = bits[1];
  s->xremote_free_bits = bits[2];
  s->gcmark_bits = bits[3];
  s->xstate = GH_SPAN_IN_USE;
  gh_mspan_init_small(s, s->spanclass);
  for (uint32_t i = 0; i < s->nelems; i++)
    if (th_rand() % 100 < density_pct) s->alloc_bits[i / 64] |= 1ull << (i % 64);
  s->alloc_count = gh_mspan_count_alloc(s);
  gh_mspan_refill_alloc_cache(s, 0);
}

static bool ref_is_set(const gh_mspan *s, uint32_t i) { return s->alloc_bits[i / 64] >> (i % 64) & 1; }

/* Consumes every free slot with gh_mspan_next_free_index and compares with a scan. */
static int check_next_free(gh_mspan *s) {
  uint32_t expect = 0, bad = 0;
  for (;;) {
    while (expect < s->nelems && ref_is_set(s, expect)) expect++;
    uint32_t got = gh_mspan_next_free_index(s);
    if (got != expect) bad++;
    if (got >= s->nelems || expect >= s->nelems) break;
    expect++;
  }
  return bad == 0 && s->freeindex == s->nelems;
}

static void test_next_free_index(void) {
  int ok = 1, runs = 0;
  for (uint32_t cls = 1; cls < GH_NUM_SIZE_CLASSES; cls++)
    for (uint32_t d = 0; d <= 100; d += 10, runs++) {
      gh_mspan s;
      make_span(&s, cls, d);
      ok &= check_next_free(&s);
    }
  CHECKF("nextFreeIndex matches a bit-by-bit scan for every class and density", ok, "runs %d", runs);
}

static void test_alloc_cache_mirror(void) {
  int ok = 1;
  for (uint32_t cls = 1; cls < GH_NUM_SIZE_CLASSES; cls += 3) {
    gh_mspan s;
    make_span(&s, cls, 50);
    for (int k = 0; k < 40 && s.freeindex < s.nelems; k++) {
      uint32_t i = gh_mspan_next_free_index(&s);
      if (i >= s.nelems) break;
      s.alloc_count++;
      uint32_t w = s.freeindex / 64, b = s.freeindex % 64;
      if (s.freeindex < s.nelems && ((s.alloc_cache ^ (gh_mspan_cache_word(&s, w) >> b)) & (~0ull >> b))) ok = 0;
    }
  }
  CHECK("alloc cache mirrors ~allocBits from freeindex (invariant I2)", ok);
}

static void test_sweep_merges_frees(void) {
  int ok_bits = 1, ok_count = 1;
  for (uint32_t cls = 1; cls < GH_NUM_SIZE_CLASSES; cls++) {
    gh_mspan s;
    make_span(&s, cls, 30);
    /* allocate half of what is free, then free a random subset of the live slots */
    uint32_t n = (s.nelems - s.alloc_count) / 2;
    for (uint32_t k = 0; k < n; k++) {
      gh_mspan_next_free_index(&s);
      s.alloc_count++;
    }
    uint64_t live[GH_MAX_BITMAP_WORDS] = {0};
    for (uint32_t i = 0; i < s.nelems; i++)
      if (i < s.freeindex || ref_is_set(&s, i)) live[i / 64] |= 1ull << (i % 64);
    uint32_t freed = 0;
    for (uint32_t i = 0; i < s.nelems; i++) {
      if (!(live[i / 64] >> (i % 64) & 1) || th_rand() % 3) continue;
      bool own = th_rand() % 2; /* as free() does: owner frees count, remote ones queue */
      uint64_t *map = own ? s.free_bits : s.xremote_free_bits;
      map[i / 64] |= 1ull << (i % 64);
      if (own) s.local_frees++;
      else s.xqueued = 1;
      live[i / 64] &= ~(1ull << (i % 64));
      freed++;
    }
    uint32_t got = gh_mspan_sweep(&s, NULL);
    for (uint32_t w = 0; w < gh_span_bitmap_words(&s); w++)
      if (s.alloc_bits[w] != live[w] || s.free_bits[w] || s.xremote_free_bits[w]) ok_bits = 0;
    if (got != freed || s.alloc_count != gh_mspan_count_alloc(&s) || s.freeindex != 0) ok_count = 0;
  }
  CHECK("sweep makes alloc bits = live slots and clears both free maps", ok_bits);
  CHECK("sweep returns the number freed and recounts alloc_count", ok_count);
}

static void test_obj_index(void) {
  int ok = 1;
  for (uint32_t cls = 1; cls < GH_NUM_SIZE_CLASSES; cls++) {
    gh_mspan s;
    make_span(&s, cls, 0);
    for (uint32_t i = 0; i < s.nelems; i++) {
      uintptr_t base = s.start_addr + (uintptr_t)i * s.elemsize;
      if (gh_mspan_obj_index(&s, base) != i || gh_mspan_obj_index(&s, base + s.elemsize - 1) != i) ok = 0;
    }
  }
  CHECK("object index by reciprocal is exact at both ends of every slot", ok);
}

int main(void) {
  gh_ensure_init();
  test_next_free_index();
  test_alloc_cache_mirror();
  test_sweep_merges_frees();
  test_obj_index();
  return TEST_SUMMARY();
}
