/*
 * gc_mark.h -- bdwgc 8.2's interface for object kinds, mark procedures and
 * extra roots, as goheap's libgc.so.1 provides it.  goheap scans every
 * object of a kind with pointers conservatively, in full: mark procedures
 * and descriptors are accepted and remembered but never called (see
 * bdwgc/gc.c and bdwgc/README-section.md).
 */
#ifndef GC_MARK_H
#define GC_MARK_H
#include "gc.h"

GC_EXTERN_C_BEGIN

struct GC_ms_entry {
  void *mse_start;
  GC_word mse_descr;
};
typedef struct GC_ms_entry *(GC_CALLBACK *GC_mark_proc)(GC_word *addr, struct GC_ms_entry *mark_stack_ptr,
                                                        struct GC_ms_entry *mark_stack_limit, GC_word env);

#define GC_LOG_MAX_MARK_PROCS 6
#define GC_MAX_MARK_PROCS (1 << GC_LOG_MAX_MARK_PROCS)
#define GC_RESERVED_MARK_PROCS 8
#define GC_GCJ_RESERVED_MARK_PROC_INDEX 0

/* Object descriptors: the low two bits are the tag. */
#define GC_DS_TAG_BITS 2
#define GC_DS_TAGS ((1 << GC_DS_TAG_BITS) - 1)
#define GC_DS_LENGTH 0     /* the rest: the number of bytes to scan */
#define GC_DS_BITMAP 1     /* the rest: a bitmap of pointer words, high bit first */
#define GC_DS_PROC 2       /* a mark procedure index and an environment */
#define GC_MAKE_PROC(proc_index, env) \
  (((((GC_word)(env) << GC_LOG_MAX_MARK_PROCS) | (proc_index)) << GC_DS_TAG_BITS) | GC_DS_PROC)
#define GC_DS_PER_OBJECT 3
#define GC_INDIR_PER_OBJ_BIAS 0x10

GC_API void *GC_least_plausible_heap_addr;
GC_API void *GC_greatest_plausible_heap_addr;

GC_API struct GC_ms_entry *GC_CALL GC_mark_and_push(void *obj, struct GC_ms_entry *mark_stack_ptr,
                                                    struct GC_ms_entry *mark_stack_limit, void **src);
#define GC_MARK_AND_PUSH(obj, msp, lim, src)                                          \
  ((GC_word)(obj) >= (GC_word)GC_least_plausible_heap_addr &&                         \
           (GC_word)(obj) <= (GC_word)GC_greatest_plausible_heap_addr                 \
       ? GC_mark_and_push(obj, msp, lim, src)                                         \
       : (msp))

#define GC_PROC_BYTES 100
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL GC_generic_malloc(size_t lb, int k);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL GC_generic_malloc_ignore_off_page(size_t lb, int k);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL GC_generic_malloc_uncollectable(size_t lb, int k);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL GC_generic_or_special_malloc(size_t lb, int k);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL GC_debug_generic_or_special_malloc(size_t lb, int k,
                                                                                           const char *s, int i);
#ifdef GC_DEBUG
#define GC_GENERIC_OR_SPECIAL_MALLOC(sz, knd) GC_debug_generic_or_special_malloc(sz, knd, GC_EXTRAS)
#else
#define GC_GENERIC_OR_SPECIAL_MALLOC(sz, knd) GC_generic_or_special_malloc(sz, knd)
#endif
GC_API int GC_CALL GC_get_kind_and_size(const void *, size_t *psize) GC_ATTR_NONNULL(1);

/* The predefined kinds. */
#define GC_I_PTRFREE 0
#define GC_I_NORMAL 1

GC_API void **GC_CALL GC_new_free_list(void);
GC_API void **GC_CALL GC_new_free_list_inner(void);
GC_API unsigned GC_CALL GC_new_kind(void **free_list, GC_word mark_descriptor_template, int add_size_to_descriptor,
                                    int clear_new_objects) GC_ATTR_NONNULL(1);
GC_API unsigned GC_CALL GC_new_kind_inner(void **free_list, GC_word mark_descriptor_template,
                                          int add_size_to_descriptor, int clear_new_objects) GC_ATTR_NONNULL(1);
GC_API unsigned GC_CALL GC_new_proc(GC_mark_proc);
GC_API unsigned GC_CALL GC_new_proc_inner(GC_mark_proc);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL GC_malloc_kind(size_t lb, int k);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL GC_malloc_kind_global(size_t lb, int k);

typedef void (GC_CALLBACK *GC_describe_type_fn)(void *p, char *out_buf);
#define GC_TYPE_DESCR_LEN 40
GC_API void GC_CALL GC_register_describe_type_fn(int kind, GC_describe_type_fn knd_descr_fn);
GC_API void *GC_CALL GC_clear_stack(void *);

typedef void (GC_CALLBACK *GC_push_other_roots_proc)(void);
GC_API GC_push_other_roots_proc GC_push_other_roots; /* data: ECL writes it directly */
GC_API void GC_CALL GC_set_push_other_roots(GC_push_other_roots_proc);
GC_API GC_push_other_roots_proc GC_CALL GC_get_push_other_roots(void);
GC_API void GC_CALL GC_push_all(void *bottom, void *top);
GC_API void GC_CALL GC_push_all_eager(void *bottom, void *top);
GC_API void GC_CALL GC_push_conditional(void *bottom, void *top, int all);
GC_API void GC_CALL GC_push_finalizer_structures(void);

GC_API int GC_CALL GC_is_marked(const void *) GC_ATTR_NONNULL(1);
GC_API void GC_CALL GC_clear_mark_bit(const void *) GC_ATTR_NONNULL(1);
GC_API void GC_CALL GC_set_mark_bit(const void *) GC_ATTR_NONNULL(1);
GC_API int GC_CALL GC_is_tmp_root(void *);
GC_API void GC_CALL GC_print_free_list(int kind, size_t sz_in_granules);

typedef void (GC_CALLBACK *GC_reachable_object_proc)(void *obj, size_t bytes, void *client_data);
GC_API void GC_CALL GC_enumerate_reachable_objects_inner(GC_reachable_object_proc, void *client_data)
    GC_ATTR_NONNULL(1);

/* Free-list pointers of the predefined kinds (the inline allocator's). */
GC_API void **const GC_objfreelist_ptr;
GC_API void **const GC_aobjfreelist_ptr;
GC_API void **const GC_uobjfreelist_ptr;
GC_API void **const GC_auobjfreelist_ptr;

GC_EXTERN_C_END
#endif
