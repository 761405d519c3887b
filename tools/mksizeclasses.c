/*
 * mksizeclasses -- generate goheap's size class tables.
 *
 *   usage: mksizeclasses OUTDIR     writes OUTDIR/sizeclasses.h and OUTDIR/sizeclasses.c
 *
 * A C port of Go's runtime/mksizeclasses.go (makeClasses, computeDivMagic, printComment,
 * printClasses; see shared/reference/go-runtime.md section 1.3):
 *
 *   1. walk candidate sizes upward, size += align, where align is re-chosen only when size
 *      reaches a power of two P: P >= 2048 -> 256, P >= 128 -> P/8, P >= 16 -> 16;
 *   2. per candidate, add 8 KiB pages to the span until the tail waste
 *      (spanBytes % size) is <= spanBytes/8;
 *   3. if the previous class has the same page count and object count, raise it to this
 *      size instead of adding a class;
 *   4. raise every class to the largest size that keeps the same object count in the same
 *      span, rounded down to a multiple of 128 (largeSizeDiv), if that is larger;
 *   5. divmagic = floor((2^32-1)/size) + 1, checked exhaustively;
 *   6. (goheap only) widen the spans of classes above 256 bytes, see below.
 *
 * ONE DEVIATION from Go 1.19 (required by DESIGN.md: malloc must return 16-byte aligned
 * memory for every request above 8 bytes): the step becomes 16 at P = 16 instead of at
 * P = 32.  Go 1.19 keeps stepping by 8 up to 32 and so has a 24-byte class (68 entries);
 * with the step at 16, 24 is never a candidate and the walk produces exactly the table of
 * older Go releases (before Go 1.15 added class 24): 67 entries including class 0, the
 * same table as shared/seeds/001_*.txt (class_to_size and class_to_allocnpages match
 * entry for entry) and go-runtime.md section 1.2 with the 24-byte row removed.
 *
 * A SECOND DEVIATION, in span sizes only (class sizes are Go's): Go gives most classes
 * from 288 bytes up a span of 1-4 pages holding 2-28 objects, so an mcache that allocates
 * them refills every few allocations (Go's mcache refill is cheap next to its collector; a
 * malloc with frees pays a refill and a sweep each time). Step 6 multiplies such a span by
 * the smallest whole k that makes it hold 32 objects, up to 64 KiB (mimalloc's small page):
 * 1024 B gets 4 pages (32 objects, Go: 1 page, 8), 4096 B 8 pages (16, Go: 2). A whole
 * multiple keeps the tail waste within Go's fraction. Measured when it was made
 * (callgrind, instructions of the whole run, 1 thread): sh6bench 207M -> 169M, larson
 * 306M -> 245M, alloc-test 238M -> 229M, compiler unchanged; wall time (medians of 5,
 * 2 threads): sh6bench 0.75x, thread-churn 0.81x, larson 0.91x; peak RSS up to +1 MiB.
 *
 * A third, cosmetic difference: Go's size_to_class8[0] is 0 (class 0's size 0 "fits"
 * size 0); ours is 1, so a zero-byte request maps to the smallest real class.
 *
 * The program checks its result and exits non-zero, writing nothing, when the class
 * count, the 16-byte alignment, a waste bound or the reciprocal division is wrong.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
  PAGE_SHIFT = 13,
  PAGE_SIZE = 1 << PAGE_SHIFT,
  MAX_SMALL_SIZE = 32768,
  SMALL_SIZE_DIV = 8,
  SMALL_SIZE_MAX = 1024,
  LARGE_SIZE_DIV = 128,
  MIN_SPAN_OBJS = 32,          /* step 6: objects a span should hold ... */
  WIDE_SPAN_MAX = 64 << 10,    /* ... within this many bytes */
  NUM_CLASSES = 67, /* including class 0 */
  MAX_CLASSES = 128,
  N_CLASS8 = SMALL_SIZE_MAX / SMALL_SIZE_DIV + 1,
  N_CLASS128 = (MAX_SMALL_SIZE - SMALL_SIZE_MAX) / LARGE_SIZE_DIV + 1,
};

/* Worst-case round-up waste, (size - prev - 1) / size, allowed for classes whose
 * predecessor is >= 128 bytes.  The step rule alone gives <= 1/8, but Go's merge rule
 * (step 3) and raise rule (step 4) widen some gaps: 768->896, 1536->1792, 2304->2688
 * (14.2%), 3456->4096, 6912->8192 (15.6%), 8192->9472 (13.5%) and the worst,
 * 4096->4864: a 4097-byte request wastes 767/4864 = 15.77%.  Go 1.19's table has the
 * same gaps.  So the real bound is 16% (4/25), not 12.5%; tests/unit/test_msize.c
 * checks the same number. */
#define ROUNDUP_WASTE_NUM 4
#define ROUNDUP_WASTE_DEN 25

struct sclass {
  uint32_t size;
  uint32_t npages;
};

static struct sclass classes[MAX_CLASSES];
static int nclasses;
static uint8_t class8[N_CLASS8];
static uint8_t class128[N_CLASS128];

static int is_pow2(uint32_t x) { return x != 0 && (x & (x - 1)) == 0; }

static uint32_t next_align(uint32_t size, uint32_t align) {
  if (!is_pow2(size)) return align;
  if (size >= 2048) return 256;
  if (size >= 128) return size / 8;
  if (size >= 16) return 16; /* Go 1.19: size >= 32 (see the top comment) */
  return align;
}

static uint32_t span_pages(uint32_t size) {
  uint32_t bytes = PAGE_SIZE;
  while (bytes % size > bytes / 8) bytes += PAGE_SIZE;
  return bytes / PAGE_SIZE;
}

static uint32_t nobjs(const struct sclass *c) { return c->npages * PAGE_SIZE / c->size; }

static void add_candidate(uint32_t size) {
  struct sclass cand = {size, span_pages(size)};
  struct sclass *prev = &classes[nclasses - 1];
  if (nclasses > 1 && prev->npages == cand.npages && nobjs(prev) == nobjs(&cand)) {
    prev->size = size; /* merge: same span, same object count */
    return;
  }
  if (nclasses == MAX_CLASSES) {
    fprintf(stderr, "mksizeclasses: too many classes\n");
    exit(1);
  }
  classes[nclasses++] = cand;
}

static void raise_sizes(void) {
  for (int i = 1; i < nclasses; i++) {
    uint32_t span = classes[i].npages * PAGE_SIZE;
    uint32_t sz = (span / (span / classes[i].size)) & ~(uint32_t)(LARGE_SIZE_DIV - 1);
    if (sz > classes[i].size) classes[i].size = sz;
  }
}

/* Step 6 (goheap's departure, see the top comment): a class whose Go span holds fewer
 * than MIN_SPAN_OBJS objects gets a span of k times Go's pages, the smallest k that reaches
 * MIN_SPAN_OBJS, as long as the span stays within WIDE_SPAN_MAX bytes. */
static void widen_spans(void) {
  for (int i = 1; i < nclasses; i++) {
    struct sclass w = classes[i];
    uint32_t base = w.npages;
    while (nobjs(&w) < MIN_SPAN_OBJS && (w.npages + base) * PAGE_SIZE <= WIDE_SPAN_MAX) w.npages += base;
    classes[i] = w;
  }
}

static void make_classes(void) {
  uint32_t align = 8;
  nclasses = 1; /* class 0: large objects */
  for (uint32_t size = align; size <= MAX_SMALL_SIZE; size += align) {
    align = next_align(size, align);
    add_candidate(size);
  }
  raise_sizes();
  widen_spans();
}

static uint32_t divmagic(uint32_t size) { return size ? UINT32_MAX / size + 1 : 0; }

static int smallest_fitting(uint32_t size) {
  for (int j = 1; j < nclasses; j++)
    if (classes[j].size >= size) return j;
  return 0;
}

static void make_lookup(void) {
  for (int i = 0; i < N_CLASS8; i++) class8[i] = (uint8_t)smallest_fitting((uint32_t)i * SMALL_SIZE_DIV);
  for (int i = 0; i < N_CLASS128; i++)
    class128[i] = (uint8_t)smallest_fitting(SMALL_SIZE_MAX + (uint32_t)i * LARGE_SIZE_DIV);
}

/* ---- checks ---- */

static int fail(const char *what, int c) {
  fprintf(stderr, "mksizeclasses: check failed: %s (class %d, size %u)\n", what, c,
          c < nclasses ? classes[c].size : 0);
  return 1;
}

static int check_divmagic(int c) {
  uint32_t size = classes[c].size, m = divmagic(size);
  for (uint64_t off = 0; off <= (uint64_t)classes[c].npages * PAGE_SIZE; off++)
    if ((off * m) >> 32 != off / size) return fail("reciprocal division not exact", c);
  return 0;
}

static int check_class(int c) {
  const struct sclass *k = &classes[c];
  uint32_t span = k->npages * PAGE_SIZE, prev = classes[c - 1].size;
  int bad = 0;
  if (k->size <= prev) bad |= fail("sizes not increasing", c);
  if (k->size > 8 && k->size % 16 != 0) bad |= fail("size > 8 not a multiple of 16", c);
  if (k->npages > 255 || nobjs(k) > 65535) bad |= fail("npages/nelems overflow their types", c);
  if (span % k->size > span / 8) bad |= fail("span tail waste > 1/8", c);
  if (nobjs(k) < MIN_SPAN_OBJS && span * 2 <= WIDE_SPAN_MAX) bad |= fail("span not widened", c);
  if (nobjs(k) > 1024) bad |= fail("more objects than GH_MAX_OBJS_PER_SPAN", c);
  if (prev >= 128 && (uint64_t)(k->size - prev - 1) * ROUNDUP_WASTE_DEN > (uint64_t)k->size * ROUNDUP_WASTE_NUM)
    bad |= fail("round-up waste above bound", c);
  return bad | check_divmagic(c);
}

static int check_lookup(void) {
  for (uint32_t s = 0; s <= MAX_SMALL_SIZE; s++) {
    int c = s <= SMALL_SIZE_MAX ? class8[(s + SMALL_SIZE_DIV - 1) / SMALL_SIZE_DIV]
                                : class128[(s - SMALL_SIZE_MAX + LARGE_SIZE_DIV - 1) / LARGE_SIZE_DIV];
    if (c != smallest_fitting(s)) return fail("lookup table misses the smallest class", c);
  }
  return 0;
}

static int check_all(void) {
  int bad = 0;
  if (nclasses != NUM_CLASSES) {
    fprintf(stderr, "mksizeclasses: %d classes, want %d\n", nclasses, NUM_CLASSES);
    return 1;
  }
  if (classes[1].size != 8 || classes[nclasses - 1].size != MAX_SMALL_SIZE) bad |= fail("endpoints", 1);
  for (int c = 1; c < nclasses; c++) bad |= check_class(c);
  return bad | check_lookup();
}

/* ---- output ---- */

static const char banner[] = "/* Code generated by tools/mksizeclasses; DO NOT EDIT. */\n";

static uint32_t min_align(uint32_t size) {
  uint32_t a = size & -size;
  return a > PAGE_SIZE ? PAGE_SIZE : a;
}

static void print_comment(FILE *f) {
  fprintf(f, "/*\n * %5s  %9s  %5s  %7s  %10s  %9s  %9s\n", "class", "bytes/obj", "pages", "objects",
          "tail waste", "max waste", "min align");
  for (int c = 1; c < nclasses; c++) {
    const struct sclass *k = &classes[c];
    uint32_t span = k->npages * PAGE_SIZE, n = nobjs(k), tail = span - n * k->size;
    double maxw = (double)((k->size - classes[c - 1].size - 1) * n + tail) / span;
    fprintf(f, " * %5d  %9u  %5u  %7u  %10u  %8.2f%%  %9u\n", c, k->size, k->npages, n, tail,
            100 * maxw, min_align(k->size));
  }
  fprintf(f, " */\n");
}

static void print_header(FILE *f) {
  fputs(banner, f);
  fputs("/*\n * Size class tables, from tools/mksizeclasses.c (a port of Go's\n"
        " * runtime/mksizeclasses.go with every class above 8 bytes a multiple of 16, and\n"
        " * spans widened to hold 32 objects where 64 KiB allows).\n"
        " * Regenerate: cc -O2 -o /tmp/mksizeclasses tools/mksizeclasses.c && /tmp/mksizeclasses src\n"
        " *\n"
        " * tail waste: span bytes - objects * size.\n"
        " * max waste: ((size - prev size - 1) * objects + tail waste) / span bytes.\n"
        " * min align: largest power of two dividing the size (capped at the page size).\n */\n",
        f);
  print_comment(f);
  fputs("#ifndef GH_SIZECLASSES_H\n#define GH_SIZECLASSES_H\n\n#include <stdint.h>\n\n", f);
  fprintf(f, "#define GH_NUM_SIZE_CLASSES %d /* including class 0 = large */\n", nclasses);
  fprintf(f, "#define GH_PAGE_SHIFT %d\n#define GH_PAGE_SIZE %d\n", PAGE_SHIFT, PAGE_SIZE);
  fprintf(f, "#define GH_MAX_SMALL_SIZE %d\n#define GH_SMALL_SIZE_DIV %d\n", MAX_SMALL_SIZE, SMALL_SIZE_DIV);
  fprintf(f, "#define GH_SMALL_SIZE_MAX %d\n#define GH_LARGE_SIZE_DIV %d\n\n", SMALL_SIZE_MAX, LARGE_SIZE_DIV);
  fputs("extern const uint32_t gh_class_to_size[GH_NUM_SIZE_CLASSES];\n"
        "extern const uint8_t  gh_class_to_allocnpages[GH_NUM_SIZE_CLASSES];\n"
        "extern const uint32_t gh_class_to_divmagic[GH_NUM_SIZE_CLASSES];\n"
        "extern const uint16_t gh_class_to_nelems[GH_NUM_SIZE_CLASSES];\n"
        "extern const uint8_t  gh_size_to_class8[GH_SMALL_SIZE_MAX / GH_SMALL_SIZE_DIV + 1];\n"
        "extern const uint8_t  gh_size_to_class128[(GH_MAX_SMALL_SIZE - GH_SMALL_SIZE_MAX) / "
        "GH_LARGE_SIZE_DIV + 1];\n\n#endif /* GH_SIZECLASSES_H */\n",
        f);
}

enum field { F_SIZE, F_NPAGES, F_DIVMAGIC, F_NELEMS };

static uint32_t field_of(int c, enum field fld) {
  if (c == 0) return 0;
  switch (fld) {
  case F_SIZE: return classes[c].size;
  case F_NPAGES: return classes[c].npages;
  case F_DIVMAGIC: return divmagic(classes[c].size);
  default: return nobjs(&classes[c]);
  }
}

static void print_row(FILE *f, int i, int n, uint32_t v) {
  fprintf(f, "%s%u,%s", i % 8 == 0 ? "  " : " ", v, i % 8 == 7 || i == n - 1 ? "\n" : "");
}

static void print_class_table(FILE *f, const char *decl, enum field fld) {
  fprintf(f, "const %s[GH_NUM_SIZE_CLASSES] = {\n", decl);
  for (int c = 0; c < nclasses; c++) print_row(f, c, nclasses, field_of(c, fld));
  fputs("};\n\n", f);
}

static void print_u8_table(FILE *f, const char *decl, const uint8_t *t, int n) {
  fprintf(f, "const %s = {\n", decl);
  for (int i = 0; i < n; i++) print_row(f, i, n, t[i]);
  fputs("};\n", f);
}

static void print_source(FILE *f) {
  fputs(banner, f);
  fputs("/* Size class tables; see sizeclasses.h and tools/mksizeclasses.c. */\n"
        "#include \"sizeclasses.h\"\n\n", f);
  print_class_table(f, "uint32_t gh_class_to_size", F_SIZE);
  print_class_table(f, "uint8_t gh_class_to_allocnpages", F_NPAGES);
  print_class_table(f, "uint32_t gh_class_to_divmagic", F_DIVMAGIC);
  print_class_table(f, "uint16_t gh_class_to_nelems", F_NELEMS);
  fputs("/* [i] = smallest class >= i * GH_SMALL_SIZE_DIV (entry 0: class 1, unlike Go's 0). */\n", f);
  print_u8_table(f, "uint8_t gh_size_to_class8[GH_SMALL_SIZE_MAX / GH_SMALL_SIZE_DIV + 1]", class8, N_CLASS8);
  fputs("\n/* [i] = smallest class >= GH_SMALL_SIZE_MAX + i * GH_LARGE_SIZE_DIV. */\n", f);
  print_u8_table(f,
                 "uint8_t gh_size_to_class128[(GH_MAX_SMALL_SIZE - GH_SMALL_SIZE_MAX) / "
                 "GH_LARGE_SIZE_DIV + 1]",
                 class128, N_CLASS128);
}

static int write_file(const char *dir, const char *name, void (*emit)(FILE *)) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "mksizeclasses: %s: %s\n", path, strerror(errno));
    return 1;
  }
  emit(f);
  if (fclose(f) != 0) {
    fprintf(stderr, "mksizeclasses: %s: write failed\n", path);
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: mksizeclasses OUTDIR\n");
    return 2;
  }
  make_classes();
  make_lookup();
  if (check_all()) return 1;
  if (write_file(argv[1], "sizeclasses.h", print_header)) return 1;
  return write_file(argv[1], "sizeclasses.c", print_source);
}
