/*
 * tests/bdwgc/gc_typed.h -- bdwgc's typed allocation, on goheap
 * [superset]: a type descriptor tells bdwgc which words of an object may
 * hold pointers; goheap scans every word of a gh_alloc'd object
 * conservatively, which keeps alive at least what bdwgc would.  The
 * descriptor is computed (GC_make_descriptor) and then ignored.
 */
#ifndef GH_BDWGC_GC_TYPED_H
#define GH_BDWGC_GC_TYPED_H
#include "gc.h"

typedef GC_word GC_descr;
typedef GC_word *GC_bitmap;
#define GC_WORDSZ (8 * sizeof(GC_word))
#define GC_get_bit(bm, index) (((bm)[(index) / GC_WORDSZ] >> ((index) % GC_WORDSZ)) & 1)
#define GC_set_bit(bm, index) ((bm)[(index) / GC_WORDSZ] |= (GC_word)1 << ((index) % GC_WORDSZ))
#define GC_WORD_OFFSET(t, f) (offsetof(t, f) / sizeof(GC_word))
#define GC_WORD_LEN(t) (sizeof(t) / sizeof(GC_word))
#define GC_BITMAP_SIZE(t) ((GC_WORD_LEN(t) + GC_WORDSZ - 1) / GC_WORDSZ)

GH_SHIM_FN GC_descr GC_make_descriptor(const GC_word *bm, size_t len) {
  (void)bm;
  return (GC_descr)len;
}
GH_SHIM_FN void *GC_malloc_explicitly_typed(size_t lb, GC_descr d) {
  (void)d;
  return GC_malloc(lb);
}
GH_SHIM_FN void *GC_malloc_explicitly_typed_ignore_off_page(size_t lb, GC_descr d) {
  (void)d;
  return GC_malloc(lb);
}
GH_SHIM_FN void *GC_calloc_explicitly_typed(size_t n, size_t lb, GC_descr d) {
  (void)d;
  if (lb != 0 && n > (size_t)-1 / lb) return NULL;
  return GC_malloc(n * lb);
}
#define GC_MALLOC_EXPLICITLY_TYPED(bytes, d) GC_malloc_explicitly_typed(bytes, d)
#define GC_CALLOC_EXPLICITLY_TYPED(n, bytes, d) GC_calloc_explicitly_typed(n, bytes, d)
#endif
