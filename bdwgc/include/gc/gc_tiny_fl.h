/* gc_tiny_fl.h -- the size of the small-object free lists of the inline
 * allocator (gc_inline.h): bdwgc's 16-byte granules on 64-bit targets. */
#ifndef GC_TINY_FL_H
#define GC_TINY_FL_H
#ifndef GC_GRANULE_BYTES
#define GC_GRANULE_BYTES 16
#define GC_GRANULE_WORDS (GC_GRANULE_BYTES / (int)sizeof(void *))
#endif
#ifndef GC_TINY_FREELISTS
#define GC_TINY_FREELISTS 25
#endif
#define GC_RAW_BYTES_FROM_INDEX(i) ((i) * GC_GRANULE_BYTES)
#endif
