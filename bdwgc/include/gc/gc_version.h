/* gc_version.h -- the bdwgc release whose interface goheap's libgc.so.1
 * provides (the API and ABI of libgc 8.2.2). */
#ifndef GC_VERSION_MAJOR
#define GC_VERSION_MAJOR 8
#define GC_VERSION_MINOR 2
#define GC_VERSION_MICRO 2
#endif
/* Which implementation: clients can test for goheap's. */
#define GC_GOHEAP 1
