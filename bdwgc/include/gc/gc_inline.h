/*
 * gc_inline.h -- bdwgc 8.2's inline allocation interface, on goheap.
 * The free lists a client keeps are filled by GC_generic_malloc_many
 * (objects linked through their first word); the GC_MALLOC_WORDS family
 * allocates through GC_malloc_kind.
 */
#ifndef GC_INLINE_H
#define GC_INLINE_H
#include "gc.h"
#include "gc_mark.h"
#include "gc_tiny_fl.h"

GC_EXTERN_C_BEGIN

#define GC_ROUNDED_UP_GRANULES(lb) (((lb) + GC_GRANULE_BYTES - 1) / GC_GRANULE_BYTES)
#define GC_SIZE_IS_SMALL(lb) (GC_ROUNDED_UP_GRANULES(lb) < GC_TINY_FREELISTS)
#define GC_PREFETCH_FOR_WRITE(x) __builtin_prefetch((x), 1)

/* Returns, in *result, a list of objects of lb bytes of kind k linked
 * through their first word (GC_NEXT), or NULL if out of memory. */
GC_API void GC_CALL GC_generic_malloc_many(size_t lb, int k, void **result);

/* The fast allocation macros: take an object from the client's free list
 * tiny_fl[granules], refilling it with GC_generic_malloc_many. */
#define GC_FAST_MALLOC_GRANS(result, granules, tiny_fl, num_direct, kind, default_expr, init) \
  do {                                                                                      \
    if ((granules) >= GC_TINY_FREELISTS || (granules) == 0) {                               \
      (result) = (default_expr);                                                            \
    } else {                                                                                \
      void **gc_my_fl_ = (tiny_fl) + (granules);                                            \
      void *gc_my_entry_ = *gc_my_fl_;                                                      \
      (void)(num_direct);                                                                   \
      if (gc_my_entry_ == 0) {                                                              \
        GC_generic_malloc_many((granules) * GC_GRANULE_BYTES, (kind), gc_my_fl_);           \
        gc_my_entry_ = *gc_my_fl_;                                                          \
      }                                                                                     \
      if (gc_my_entry_ == 0) {                                                              \
        (result) = (default_expr);                                                          \
      } else {                                                                              \
        *gc_my_fl_ = GC_NEXT(gc_my_entry_);                                                 \
        (result) = gc_my_entry_;                                                            \
        (void)(init);                                                                       \
        GC_NEXT(result) = 0; /* the link word; the rest is zeroed by goheap */              \
      }                                                                                     \
    }                                                                                       \
  } while (0)

#define GC_MALLOC_WORDS_KIND(result, n, tiny_fl, kind, init)                                      \
  do {                                                                                            \
    size_t gc_granules_ = GC_ROUNDED_UP_GRANULES((n) * sizeof(void *));                           \
    GC_FAST_MALLOC_GRANS(result, gc_granules_, tiny_fl, 0, kind,                                  \
                         GC_malloc_kind((n) * sizeof(void *), kind), init);                       \
  } while (0)
#define GC_MALLOC_WORDS(result, n, tiny_fl) GC_MALLOC_WORDS_KIND(result, n, tiny_fl, GC_I_NORMAL, 1)
#define GC_MALLOC_ATOMIC_WORDS(result, n, tiny_fl) GC_MALLOC_WORDS_KIND(result, n, tiny_fl, GC_I_PTRFREE, 0)
#define GC_CONS(result, first, second, tiny_fl)                           \
  do {                                                                    \
    void *gc_l_;                                                          \
    GC_MALLOC_WORDS_KIND(gc_l_, 2, tiny_fl, GC_I_NORMAL, 0);              \
    if (gc_l_ != 0) {                                                     \
      ((void **)gc_l_)[0] = (void *)(first);                              \
      ((void **)gc_l_)[1] = (void *)(second);                             \
    }                                                                     \
    (result) = gc_l_;                                                     \
  } while (0)

GC_EXTERN_C_END
#endif
