/* tests/bdwgc/private/gc_alloc_ptrs.h -- bdwgc's free-list pointers;
 * nothing in goheap corresponds and gctest only includes the header. */
