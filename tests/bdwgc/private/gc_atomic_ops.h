/*
 * tests/bdwgc/private/gc_atomic_ops.h -- the libatomic_ops subset bdwgc's
 * tests use (counters, one acquire/release pointer), on GCC's __atomic
 * builtins.
 */
#ifndef GH_BDWGC_GC_ATOMIC_OPS_H
#define GH_BDWGC_GC_ATOMIC_OPS_H
#include "gc.h"
typedef GC_word AO_t;
typedef unsigned char AO_TS_t;
#define AO_TS_INITIALIZER 0
#define AO_TS_CLEAR 0
#define AO_TS_SET 1
#define AO_HAVE_compiler_barrier 1
#define AO_compiler_barrier() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#define AO_HAVE_nop_full 1
#define AO_nop_full() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define AO_HAVE_load 1
#define AO_load(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define AO_HAVE_load_acquire 1
#define AO_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define AO_HAVE_store 1
#define AO_store(p, v) __atomic_store_n((p), (AO_t)(v), __ATOMIC_RELAXED)
#define AO_HAVE_store_release 1
#define AO_store_release(p, v) __atomic_store_n((p), (AO_t)(v), __ATOMIC_RELEASE)
#define AO_HAVE_fetch_and_add 1
#define AO_fetch_and_add(p, v) __atomic_fetch_add((p), (AO_t)(v), __ATOMIC_SEQ_CST)
#define AO_HAVE_fetch_and_add1 1
#define AO_fetch_and_add1(p) __atomic_fetch_add((p), (AO_t)1, __ATOMIC_SEQ_CST)
#define AO_HAVE_compare_and_swap 1
#define AO_compare_and_swap(p, o, n) \
  ({ AO_t ghshim_o_ = (AO_t)(o); __atomic_compare_exchange_n((p), &ghshim_o_, (AO_t)(n), 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); })
#define AO_HAVE_compare_and_swap_release 1
#define AO_compare_and_swap_release(p, o, n) AO_compare_and_swap(p, o, n)
#define AO_HAVE_or 1
#define AO_or(p, v) ((void)__atomic_fetch_or((p), (AO_t)(v), __ATOMIC_SEQ_CST))
#endif
