/*
 * msize.h -- size -> size class, class properties, object index by reciprocal.
 *
 * Header-only wrappers over the generated tables in sizeclasses.{h,c} (made by
 * tools/mksizeclasses.c, a port of Go's runtime/mksizeclasses.go; see
 * shared/reference/go-runtime.md sections 1.2-1.5).  Go equivalents:
 *
 *   gh_size_to_class      malloc.go:mallocgc's size_to_class8/size_to_class128 lookup.
 *                         Sizes up to 1024 index the 8-byte-step table (so 1017..1024 need
 *                         no unsigned wrap-around as in Go); larger sizes the 128-byte-step
 *                         table.  Shifts only, no division.  Size 0 maps to class 1 (8 B).
 *   gh_div_by_elemsize    mbitmap.go:(*mspan).divideByElemSize: offset / elemsize as
 *                         (offset * divmagic) >> 32, exact for 0 <= offset <= span bytes
 *                         (checked by the generator and by tests/unit/test_msize.c).
 *                         A large span stores divmagic 0, so every offset gives index 0.
 *   gh_roundupsize        msize.go:roundupsize: the class size for small sizes, whole
 *                         8 KiB pages above GH_MAX_SMALL_SIZE; 0 when that overflows.
 *
 * Preconditions: gh_size_to_class needs size <= GH_MAX_SMALL_SIZE; the class accessors
 * need c < GH_NUM_SIZE_CLASSES (class 0, "large", reads as all zeros).
 */
#ifndef GH_MSIZE_H
#define GH_MSIZE_H

#include <stddef.h>
#include <stdint.h>

#include "sizeclasses.h"

static inline uint32_t gh_size_to_class(size_t size) {
  if (size <= GH_SMALL_SIZE_MAX)
    return gh_size_to_class8[(size + GH_SMALL_SIZE_DIV - 1) >> 3];
  return gh_size_to_class128[(size - GH_SMALL_SIZE_MAX + GH_LARGE_SIZE_DIV - 1) >> 7];
}

static inline size_t gh_class_size(uint32_t c) { return gh_class_to_size[c]; }

static inline uint32_t gh_class_npages(uint32_t c) { return gh_class_to_allocnpages[c]; }

static inline uint32_t gh_class_nelems(uint32_t c) { return gh_class_to_nelems[c]; }

static inline uint32_t gh_div_by_elemsize(uintptr_t offset, uint32_t divmagic) {
  return (uint32_t)(((uint64_t)offset * divmagic) >> 32);
}

static inline size_t gh_roundupsize(size_t size) {
  if (size <= GH_MAX_SMALL_SIZE) return gh_class_size(gh_size_to_class(size));
  if (size > SIZE_MAX - (GH_PAGE_SIZE - 1)) return 0;
  return (size + GH_PAGE_SIZE - 1) & ~(size_t)(GH_PAGE_SIZE - 1);
}

/* The shifts above hard-code the table steps; keep them in sync with the generator. */
_Static_assert(GH_SMALL_SIZE_DIV == 1 << 3, "size_to_class8 step must be 8");
_Static_assert(GH_LARGE_SIZE_DIV == 1 << 7, "size_to_class128 step must be 128");
_Static_assert(GH_PAGE_SIZE == 1 << GH_PAGE_SHIFT, "page size");

#endif /* GH_MSIZE_H */
