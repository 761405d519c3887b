/* gc_gcj.h -- bdwgc 8.2's gcj-style allocation (a vtable pointer in the
 * first word), on goheap: objects are scanned in full, conservatively. */
#ifndef GC_GCJ_H
#define GC_GCJ_H
#include "gc.h"
GC_EXTERN_C_BEGIN
GC_API void GC_CALL GC_init_gcj_malloc(int mp_index, void * /* really mark_proc */ mp);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL GC_gcj_malloc(size_t lb, void *ptr_to_struct_containing_descr);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL GC_debug_gcj_malloc(size_t lb, void *ptr_to_struct_containing_descr,
                                                                           const char *s, int i);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL GC_gcj_malloc_ignore_off_page(size_t lb,
                                                                                     void *ptr_to_struct_containing_descr);
GC_API int GC_gcj_kind;
GC_API int GC_gcj_debug_kind;
#ifdef GC_DEBUG
#define GC_GCJ_MALLOC(s, d) GC_debug_gcj_malloc(s, d, GC_EXTRAS)
#define GC_GCJ_MALLOC_IGNORE_OFF_PAGE(s, d) GC_debug_gcj_malloc(s, d, GC_EXTRAS)
#else
#define GC_GCJ_MALLOC(s, d) GC_gcj_malloc(s, d)
#define GC_GCJ_MALLOC_IGNORE_OFF_PAGE(s, d) GC_gcj_malloc_ignore_off_page(s, d)
#endif
GC_EXTERN_C_END
#endif
