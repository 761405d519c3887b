/*
 * bdwgc/traced.h -- the objects libgc.so.1 traces itself, from goheap's mark
 * callback (bdwgc/traced.c): objects of a kind with a mark procedure, and
 * objects with a layout (typed allocation).  Internal to libgc.so.1.
 */
#ifndef GOHEAP_BDWGC_TRACED_H
#define GOHEAP_BDWGC_TRACED_H

#include <pthread.h>
#include <stddef.h>

#include "gc.h"
#include "gc/gc_mark.h"
#include "gc/gc_typed.h"

/* A descriptor is a layout (traced_is_layout) when its objects are noscan
 * for goheap and traced word by word here: a GC_DS_BITMAP, or a bitmap
 * longer than one word made by traced_make_descriptor.  (A GC_DS_LENGTH
 * descriptor is served by a scanned object: [superset].) */
int traced_is_layout(GC_word descr);
GC_descr traced_make_descriptor(const GC_word *bm, size_t len);
unsigned traced_new_proc(GC_mark_proc proc); /* GC_new_proc */

/* Records obj: traced in every collection that marks it (every collection
 * for a root: an uncollectable object of a mark-procedure kind).  stride:
 * for an array of layouts (GC_calloc_explicitly_typed) the element size,
 * else 0.  traced_find gives back what was recorded (0: obj was not);
 * traced_remove forgets obj. */
int traced_add(void *obj, GC_word descr, size_t stride, int root); /* 0: out of memory */
int traced_find(void *obj, GC_word *descr, size_t *stride);
void traced_remove(void *obj);

/* From goheap's mark callback, world stopped.  traced_begin starts a
 * collection; traced_pass traces each recorded object that is marked and
 * was not traced yet in this collection, as long as that finds some;
 * traced_forget_dead forgets the objects that were not marked. */
void traced_begin(void);
void traced_pass(void);
void traced_forget_dead(void);

extern pthread_mutex_t traced_lock; /* taken around fork (bdwgc/gc.c) */

#endif
