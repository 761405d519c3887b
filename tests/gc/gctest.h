/*
 * gctest.h -- helpers shared by the collector tests (tests/gc/test_*.c).
 *
 * The collector is conservative: any word that looks like a pointer into an
 * object keeps it alive, so a test that wants an object to be garbage must
 * make sure no copy of its address lingers in a register or a dead stack
 * slot. The tools:
 *
 *   GT_NOINLINE            build garbage in a separate, non-inlined function,
 *                          so its locals die with that function's frame;
 *   gt_clear_stack()       overwrite a few dozen KiB of the stack below the
 *                          caller with zeros (those dead frames) and clear
 *                          the caller-saved registers;
 *   gt_hide / gt_reveal    keep an address in a form the scanner does not
 *                          take for a pointer (bitwise complement);
 *   gt_collect_n(n)        clear the stack, then n full collections;
 *   gt_fin_count           a finalizer that adds 1 to the atomic_long its arg
 *                          points to; gt_wait_count() collects and sleeps
 *                          until such a counter reaches a target (bounded);
 *   gt_churn(size, n)      allocate n objects of a size and fill them with
 *                          0xEE: if a live object of that size had been freed
 *                          by mistake, its slot is reused and its pattern lost;
 *   gt_fill / gt_check     a pattern derived from a seed, over a whole object;
 *   gt_stats()             gh_read_stats in one expression;
 *   gt_now_ms()            a monotonic clock.
 *
 * A global that is written but never read (a static holding the only pointer
 * to an object, read back through a hidden copy) is optimized away by the
 * compiler: declare such roots volatile.
 *
 * Reclamation is asserted statistically (e.g. >= 90% of N dropped objects
 * finalized) because a stale copy of an address may legitimately survive
 * somewhere; survival is asserted exactly.
 */
#ifndef GH_GCTEST_H
#define GH_GCTEST_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "goheap.h"
#include "testhelper.h"

#if defined(__clang__)
#define GT_NOINLINE __attribute__((noinline, unused))
#else
#define GT_NOINLINE __attribute__((noinline, noclone, unused))
#endif
#define GT_KiB ((size_t)1024)
#define GT_MiB ((size_t)1024 * 1024)

/* ---- libgcroot.so: a shared library whose writable data are roots --------- */
extern void *gcroot_global;                /* an exported global (.bss) */
extern void *gcroot_array[64];             /* an exported array (.bss) */
void gcroot_set_global(void *p);
void *gcroot_get_global(void);
void gcroot_set_static(void *p);           /* a file-static in .bss */
void *gcroot_get_static(void);
void gcroot_set_data(void *p);             /* a file-static in .data (initialized) */
void *gcroot_get_data(void);
void gcroot_set_slot(int i, void *p);      /* gcroot_array[i] */
void *gcroot_get_slot(int i);

/* ---- time ------------------------------------------------------------------ */
static inline uint64_t gt_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
static inline void gt_sleep_ms(unsigned ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* ---- hiding pointers from the conservative scanner ------------------------- */
/* ~p of a user-space address has its top bits set: never inside the heap. */
static inline uintptr_t gt_hide(const void *p) { return ~(uintptr_t)p; }
static inline void *gt_reveal(uintptr_t h) { return (void *)~h; }

/* ---- clearing dead stack and registers ------------------------------------- */
static inline void gt_clear_regs(void) {
#if defined(__x86_64__)
  /* The caller-saved registers (the callee-saved ones belong to live frames). */
  __asm__ volatile("xor %%eax, %%eax\n\txor %%ecx, %%ecx\n\txor %%edx, %%edx\n\t"
                   "xor %%esi, %%esi\n\txor %%edi, %%edi\n\txor %%r8d, %%r8d\n\t"
                   "xor %%r9d, %%r9d\n\txor %%r10d, %%r10d\n\txor %%r11d, %%r11d\n\t"
                   "pxor %%xmm0, %%xmm0\n\tpxor %%xmm1, %%xmm1\n\tpxor %%xmm2, %%xmm2\n\t"
                   "pxor %%xmm3, %%xmm3\n\tpxor %%xmm4, %%xmm4\n\tpxor %%xmm5, %%xmm5\n\t"
                   "pxor %%xmm6, %%xmm6\n\tpxor %%xmm7, %%xmm7"
                   ::: "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "xmm0",
                     "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "memory");
#else
  __asm__ volatile("" ::: "memory");
#endif
}

/* Zeros 32 KiB of stack below the caller's frame (dead frames of functions
 * that have returned), then the scratch registers. */
GT_NOINLINE static void gt_clear_stack(void) {
  volatile uintptr_t buf[4096];
  for (size_t i = 0; i < sizeof buf / sizeof buf[0]; i++) buf[i] = 0;
  __asm__ volatile("" : : "r"(buf) : "memory");
  gt_clear_regs();
}

/* ---- stats ----------------------------------------------------------------- */
static inline gh_stats gt_stats(void) {
  gh_stats s;
  memset(&s, 0, sizeof s);
  s.size = sizeof s;
  gh_read_stats(&s);
  return s;
}
static inline uint64_t gt_num_gc(void) { return gt_stats().num_gc; }

/* ---- collections ----------------------------------------------------------- */
GT_NOINLINE static void gt_collect_n(int n) {
  gt_clear_stack();
  for (int i = 0; i < n; i++) gh_collect();
}

/* Allocates n objects of the given size, fills each with 0xEE, drops them. */
GT_NOINLINE static void gt_churn(size_t size, int n, int noscan) {
  for (int i = 0; i < n; i++) {
    unsigned char *p = noscan ? gh_alloc_noscan(size) : gh_alloc(size);
    if (!p) abort();
    memset(p, 0xEE, size);
  }
  gt_clear_regs();
}

/* Collections and churn of several sizes: a premature free gets overwritten. */
GT_NOINLINE static void gt_collect_and_churn(int rounds, const size_t *sizes, int nsizes) {
  for (int r = 0; r < rounds; r++) {
    gt_clear_stack();
    gh_collect();
    for (int i = 0; i < nsizes; i++) {
      size_t n = sizes[i] >= 32 * GT_KiB ? 4 : sizes[i] >= 4096 ? 64 : 512;
      gt_churn(sizes[i], (int)n, (i + r) & 1);
    }
  }
  gt_clear_stack();
}

/* ---- patterns -------------------------------------------------------------- */
static inline unsigned char gt_pat(uint64_t seed, size_t i) {
  uint64_t x = seed * 0x9e3779b97f4a7c15ull + i * 0xbf58476d1ce4e5b9ull;
  x ^= x >> 29;
  return (unsigned char)(x ^ (x >> 8) ^ (x >> 17));
}
static inline void gt_fill(void *p, size_t n, uint64_t seed) {
  unsigned char *c = p;
  for (size_t i = 0; i < n; i++) c[i] = gt_pat(seed, i);
}
static inline int gt_check(const void *p, size_t n, uint64_t seed) {
  const unsigned char *c = p;
  for (size_t i = 0; i < n; i++)
    if (c[i] != gt_pat(seed, i)) return 0;
  return 1;
}

/* ---- finalizer counting ---------------------------------------------------- */
__attribute__((unused)) static void gt_fin_count(void *obj, void *arg) {
  (void)obj;
  atomic_fetch_add((atomic_long *)arg, 1);
}

/* Collects and sleeps until *c >= target or ms milliseconds have passed;
 * returns 1 if the target was reached. */
GT_NOINLINE static int gt_wait_count(atomic_long *c, long target, unsigned ms) {
  uint64_t end = gt_now_ms() + ms;
  for (;;) {
    if (atomic_load(c) >= target) return 1;
    if (gt_now_ms() > end) return 0;
    gt_clear_stack();
    gh_collect();
    gt_sleep_ms(5);
  }
}

/* Runs n collections with a little sleep between (time for the finalizer
 * thread), for tests that expect nothing to happen. */
GT_NOINLINE static void gt_settle(int n) {
  for (int i = 0; i < n; i++) {
    gt_clear_stack();
    gh_collect();
    gt_sleep_ms(3);
  }
}

/* ---- threads --------------------------------------------------------------- */
static inline pthread_t gt_thread(void *(*fn)(void *), void *arg, const char *name) {
  pthread_t t;
  if (pthread_create(&t, NULL, fn, arg) != 0) {
    perror("pthread_create");
    abort();
  }
  if (name) pthread_setname_np(t, name);
  return t;
}

/* A one-shot flag threads wait on (spinning with a short sleep). */
static inline void gt_wait_flag(atomic_int *f, int v) {
  while (atomic_load(f) != v) gt_sleep_ms(1);
}

#endif
