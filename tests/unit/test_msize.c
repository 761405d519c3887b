/*
 * test_msize.c -- white-box test of the size class tables (src/sizeclasses.c, generated
 * by tools/mksizeclasses.c after Go's runtime/mksizeclasses.go) and src/msize.h.
 *
 * Exhaustive: every request size 0..GH_MAX_SMALL_SIZE, every class, every offset of
 * every class's span.  Failures are counted per property and reported by one CHECKF
 * each (with the first failing size), so a broken table fails loudly in a few lines.
 *
 * Round-up waste bounds, (class size - size) / class size, as the table really has them:
 *   size 1..8       <= 7/8    (1 byte in the 8-byte class)
 *   size 9..127     <= 15/32  (17 bytes in the 32-byte class: no 24-byte class, since every
 *                              class above 8 bytes is a multiple of 16)
 *   size >= 128     <= 4/25 = 16%, NOT 1/8: Go's merge and raise rules widen a few gaps;
 *                   the worst is 4097 bytes in the 4864-byte class (767/4864 = 15.77%).
 * Span tail waste is <= 1/8 for every class, as in Go.
 */
#include <stdint.h>
#include <stdio.h>

#include "msize.h"
#include "testhelper.h"

/* Reference answer by linear scan, independent of the lookup tables. */
static uint32_t ref_class(size_t size) {
  for (uint32_t c = 1; c < GH_NUM_SIZE_CLASSES; c++)
    if (gh_class_to_size[c] >= size) return c;
  return 0;
}

/* a/b > n/d, in integers. */
static int frac_above(uint64_t a, uint64_t b, uint64_t n, uint64_t d) { return a * d > n * b; }

struct tally {
  long fails;
  long first; /* first failing size/class, -1 if none */
};

static void note(struct tally *t, int bad, long what) {
  if (!bad) return;
  if (t->fails++ == 0) t->first = what;
}

static void test_table_shape(void) {
  int increasing = 1;
  for (int c = 2; c < GH_NUM_SIZE_CLASSES; c++)
    increasing &= gh_class_to_size[c] > gh_class_to_size[c - 1];
  CHECK("67 entries", GH_NUM_SIZE_CLASSES == 67);
  CHECK("class 0 is empty", gh_class_to_size[0] == 0 && gh_class_to_allocnpages[0] == 0 &&
                                gh_class_to_divmagic[0] == 0 && gh_class_to_nelems[0] == 0);
  CHECK("first class 8", gh_class_to_size[1] == 8);
  CHECK("second class 16", gh_class_to_size[2] == 16);
  CHECK("no 24-byte class", gh_class_to_size[3] == 32);
  CHECK("last class 32768", gh_class_to_size[GH_NUM_SIZE_CLASSES - 1] == GH_MAX_SMALL_SIZE);
  CHECK("sizes increase", increasing);
}

static void test_class_fields(void) {
  struct tally nel = {0, -1}, tail = {0, -1}, magic = {0, -1}, align = {0, -1};
  for (uint32_t c = 1; c < GH_NUM_SIZE_CLASSES; c++) {
    uint32_t size = gh_class_to_size[c], span = gh_class_npages(c) * GH_PAGE_SIZE;
    note(&nel, gh_class_nelems(c) != span / size || gh_class_npages(c) == 0, c);
    note(&tail, frac_above(span % size, span, 1, 8), c);
    note(&magic, gh_class_to_divmagic[c] != UINT32_MAX / size + 1, c);
    note(&align, size > 8 ? size % 16 != 0 : size % 8 != 0, c);
  }
  CHECKF("nelems = span / size", nel.fails == 0, "%ld bad, first class %ld", nel.fails, nel.first);
  CHECKF("span tail waste <= 1/8", tail.fails == 0, "%ld bad, first class %ld", tail.fails, tail.first);
  CHECKF("divmagic formula", magic.fails == 0, "%ld bad, first class %ld", magic.fails, magic.first);
  CHECKF("class sizes 16-aligned above 8", align.fails == 0, "%ld bad, first class %ld", align.fails,
         align.first);
}

/* Round-up waste bound for a request of `size` bytes (size >= 1), as n/d. */
static void waste_bound(size_t size, uint64_t *n, uint64_t *d) {
  if (size <= 8) *n = 7, *d = 8;
  else if (size < 128) *n = 15, *d = 32;
  else *n = 4, *d = 25;
}

static void test_every_size(void) {
  struct tally fit = {0, -1}, smallest = {0, -1}, align = {0, -1}, waste = {0, -1};
  uint64_t worst_n = 0, worst_d = 1; /* worst waste seen for size >= 128 */
  for (size_t s = 0; s <= GH_MAX_SMALL_SIZE; s++) {
    uint32_t c = gh_size_to_class(s);
    size_t cs = gh_class_size(c);
    uint64_t n, d;
    note(&fit, c == 0 || c >= GH_NUM_SIZE_CLASSES || cs < s, (long)s);
    note(&smallest, c != ref_class(s), (long)s);
    note(&align, s > 8 ? cs % 16 != 0 : cs % 8 != 0, (long)s);
    if (s == 0 || c == 0) continue;
    waste_bound(s, &n, &d);
    note(&waste, frac_above(cs - s, cs, n, d), (long)s);
    if (s >= 128 && frac_above(cs - s, cs, worst_n, worst_d)) worst_n = cs - s, worst_d = cs;
  }
  CHECKF("class fits", fit.fails == 0, "%ld bad, first size %ld", fit.fails, fit.first);
  CHECKF("smallest class that fits", smallest.fails == 0, "%ld bad, first size %ld", smallest.fails,
         smallest.first);
  CHECKF("alignment 16 above 8 bytes, 8 below", align.fails == 0, "%ld bad, first size %ld",
         align.fails, align.first);
  CHECKF("round-up waste within stated bounds", waste.fails == 0, "%ld bad, first size %ld",
         waste.fails, waste.first);
  CHECKF("worst waste >= 128 B is 767/4864", worst_n == 767 && worst_d == 4864, "got %llu/%llu",
         (unsigned long long)worst_n, (unsigned long long)worst_d);
  CHECK("size 0 -> smallest class", gh_size_to_class(0) == 1);
}

static void test_division(void) {
  struct tally div = {0, -1};
  for (uint32_t c = 1; c < GH_NUM_SIZE_CLASSES; c++) {
    uint32_t size = gh_class_to_size[c], m = gh_class_to_divmagic[c];
    uintptr_t span = (uintptr_t)gh_class_npages(c) * GH_PAGE_SIZE;
    long bad = 0;
    for (uintptr_t off = 0; off <= span; off++) bad += gh_div_by_elemsize(off, m) != off / size;
    note(&div, bad != 0, c);
  }
  CHECKF("reciprocal division exact", div.fails == 0, "%ld classes bad, first class %ld", div.fails,
         div.first);
  CHECK("divmagic 0 gives index 0", gh_div_by_elemsize(123456, 0) == 0);
}

static void test_roundupsize(void) {
  struct tally small = {0, -1};
  for (size_t s = 0; s <= GH_MAX_SMALL_SIZE; s++)
    note(&small, gh_roundupsize(s) != gh_class_to_size[ref_class(s)], (long)s);
  CHECKF("roundupsize small = class size", small.fails == 0, "%ld bad, first size %ld", small.fails,
         small.first);
  CHECK("roundupsize 0", gh_roundupsize(0) == 8);
  CHECK("roundupsize 32769", gh_roundupsize(GH_MAX_SMALL_SIZE + 1) == 5 * GH_PAGE_SIZE);
  CHECK("roundupsize 40960", gh_roundupsize(5 * GH_PAGE_SIZE) == 5 * GH_PAGE_SIZE);
  CHECK("roundupsize 40961", gh_roundupsize(5 * GH_PAGE_SIZE + 1) == 6 * GH_PAGE_SIZE);
  CHECK("roundupsize max page multiple", gh_roundupsize(SIZE_MAX - (GH_PAGE_SIZE - 1)) ==
                                             SIZE_MAX - (GH_PAGE_SIZE - 1));
  CHECK("roundupsize overflow", gh_roundupsize(SIZE_MAX - (GH_PAGE_SIZE - 2)) == 0);
  CHECK("roundupsize SIZE_MAX", gh_roundupsize(SIZE_MAX) == 0);
}

int main(void) {
  test_table_shape();
  test_class_fields();
  test_every_size();
  test_division();
  test_roundupsize();
  return TEST_SUMMARY();
}
