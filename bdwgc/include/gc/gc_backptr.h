/* gc_backptr.h -- bdwgc's back-pointer debugging interface exists only in
 * builds with KEEP_BACK_PTRS, which Debian's libgc1 is not: nothing is
 * exported, and goheap's libgc.so.1 exports nothing either.  The type is
 * declared for clients that name it. */
#ifndef GC_BACKPTR_H
#define GC_BACKPTR_H
#include "gc.h"
typedef enum {
  GC_UNREFERENCED,
  GC_NO_SPACE,
  GC_REFD_FROM_ROOT,
  GC_REFD_FROM_REG,
  GC_REFD_FROM_HEAP,
  GC_FINALIZER_REFD
} GC_ref_kind;
#endif
