/*
 * tests/bdwgc/gc_inline.h -- bdwgc's inline allocation macros, on goheap:
 * the caller's free-list array is not used (goheap keeps per-thread caches
 * of its own); each macro is one allocation through gc.h.
 */
#ifndef GH_BDWGC_GC_INLINE_H
#define GH_BDWGC_GC_INLINE_H
#include "gc.h"
#include "gc_mark.h"

#ifndef GC_TINY_FREELISTS
#define GC_TINY_FREELISTS 33
#endif
#define GC_MALLOC_WORDS_KIND(result, n, tiny_fl, kind, init) \
  do { \
    (void)(tiny_fl); \
    (void)(init); \
    (result) = GC_generic_or_special_malloc((n) * sizeof(GC_word), (kind)); \
  } while (0)
#define GC_MALLOC_WORDS(result, n, tiny_fl) GC_MALLOC_WORDS_KIND(result, n, tiny_fl, GC_I_NORMAL, 0)
#define GC_MALLOC_ATOMIC_WORDS(result, n, tiny_fl) GC_MALLOC_WORDS_KIND(result, n, tiny_fl, GC_I_PTRFREE, 0)
#define GC_CONS(result, first, second, tiny_fl) \
  do { \
    void **ghshim_l_ = (void **)GC_malloc(2 * sizeof(void *)); \
    (void)(tiny_fl); \
    if (ghshim_l_) { \
      ghshim_l_[0] = (void *)(first); \
      ghshim_l_[1] = (void *)(second); \
    } \
    (result) = (void *)ghshim_l_; \
  } while (0)
#endif
