/*
 * test_stress.c -- multi-threaded allocator stress with corruption detection.
 *
 * Usage: test_stress [THREADS [SCALE [ITER]]]   (defaults 4 1 1500000)
 *   THREADS  worker threads in phases A and C
 *   SCALE    multiplies the working set (transfer slots, live blocks per
 *            thread) and the number of short-lived threads in phase B
 *   ITER     operations per worker thread in each of phases A and C
 * GH_QUICK=1 in the environment divides ITER and the phase-B thread count
 * by 8.
 *
 * What it tests:
 *   A. producer/consumer: even threads allocate and publish blocks into a
 *      shared array of transfer slots (atomic exchange / CAS), odd threads
 *      take them and free them, so most frees are cross-thread frees;
 *   B. thread churn: thousands of short-lived threads each malloc/free a
 *      little and leave some blocks in the slots for other threads to free
 *      (and free what earlier threads left), exercising per-thread cache
 *      creation and release at thread exit;
 *   C. mixed: every thread mixes malloc/calloc/realloc/posix_memalign/
 *      free/free_sized on a local working set with slot transfers; sizes
 *      1 B..64 KiB plus occasional large blocks up to 4 MiB.
 *   D. throughout: every block is filled with a pattern derived from its
 *      address, size and a per-allocation tag when allocated and checked
 *      before it is freed or reallocated (realloc must carry the prefix),
 *      so a block handed out twice, overlapping blocks, or corruption by
 *      the allocator are caught; calloc must return zeroes; aligned blocks
 *      must be aligned; at checkpoints all threads stop at a barrier and
 *      every live block of every thread (and every slot) is checked and
 *      sorted by address to verify [p, p+usable) ranges never overlap.
 *   End: all blocks freed; after gh_malloc_trim, gh_read_stats must show no
 *   leaked objects or bytes (remote frees all accounted for).
 *
 * Built two ways: by default with the plain names (malloc, free, ... which
 * are goheap's in the test binaries), and with -DSTRESS_GH_API with the gh_
 * twins only, for the ThreadSanitizer build (tests/suites/tsan.sh) where the
 * plain names stay TSan's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "goheap.h"
#include "testhelper.h"

#ifdef STRESS_GH_API
#define S_MALLOC gh_malloc
#define S_CALLOC gh_calloc
#define S_REALLOC gh_realloc
#define S_FREE gh_free
#define S_POSIX_MEMALIGN gh_posix_memalign
#define S_USABLE gh_malloc_usable_size
#define S_FREE_SIZED(p, n) gh_free_sized(p, n)
#else
extern void free_sized(void *p, size_t size) __attribute__((weak));
#define S_MALLOC malloc
#define S_CALLOC calloc
#define S_REALLOC realloc
#define S_FREE free
#define S_POSIX_MEMALIGN posix_memalign
#define S_USABLE malloc_usable_size
#define S_FREE_SIZED(p, n) (free_sized ? free_sized(p, n) : free(p))
#endif

#define KiB ((size_t)1024)
#define MiB ((size_t)1024 * 1024)
#define MAX_SIZE (4 * MiB)
#define FULL_LIMIT (64 * KiB) /* blocks above this are filled sparsely */
#define SPARSE 32             /* one word in 32 (256 bytes) for big blocks */
#define TINY_BIT ((uintptr_t)1) /* slot pointer tag: block < 16 bytes */

/* ---- configuration and shared state ---------------------------------------- */

static int nthreads = 4, scale = 1;
static long iters = 1500000;
static int quick;

static _Atomic(uintptr_t) *slots;
static size_t nslots;
static size_t nlive; /* live blocks per worker */

static atomic_long errors;
static atomic_long overlaps;
static atomic_long total_allocs;

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...) {
  long n = atomic_fetch_add(&errors, 1);
  if (n >= 20) return;
  va_list ap;
  va_start(ap, fmt);
  fputs("stress: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

/* ---- deterministic PRNG ------------------------------------------------------ */

typedef struct {
  uint64_t s;
} rng_t;

static uint64_t rnd(rng_t *r) { /* xorshift64* */
  uint64_t x = r->s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  r->s = x;
  return x * 0x2545F4914F6CDD1DULL;
}

static uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

static rng_t rng_for(uint64_t a, uint64_t b) {
  rng_t r = {mix64(a * 0x9E3779B97F4A7C15ULL + b + 1) | 1};
  return r;
}

static size_t rand_size(rng_t *r) {
  uint64_t k = rnd(r) % 1000;
  if (k < 600) return 1 + rnd(r) % 128;
  if (k < 850) return 129 + rnd(r) % (2048 - 128);
  if (k < 960) return 2049 + rnd(r) % (32768 - 2048);
  if (k < 996) return 32769 + rnd(r) % (FULL_LIMIT - 32768);
  return FULL_LIMIT + 1 + rnd(r) % (MAX_SIZE - FULL_LIMIT);
}

/* ---- block patterns ------------------------------------------------------------
 * size < 16:  byte 0 = size, bytes 1.. = pattern, tag is 0.
 * size >= 16: word 0 = size, word 1 = tag, words 2.. = pattern (every word up
 *             to FULL_LIMIT, then every SPARSE-th word and the last), tail
 *             bytes after the last whole word = pattern.
 * The pattern is a function of (address, size, tag) and the position. */

static uint64_t seed_of(uintptr_t addr, size_t n, uint64_t tag) {
  return mix64((uint64_t)addr * 0x9E3779B97F4A7C15ULL ^ (uint64_t)n ^ (tag << 29 | tag >> 35));
}

static unsigned char byte_at(uint64_t s, size_t i) {
  return (unsigned char)((s >> ((i & 7) * 8)) + i);
}

static uint64_t word_at(uint64_t s, size_t i) { return s + i * 0x9E3779B97F4A7C15ULL; }

static void st64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static uint64_t ld64(const unsigned char *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

static void bfill(unsigned char *p, size_t n, uint64_t tag) {
  if (n == 0) return;
  uint64_t s = seed_of((uintptr_t)p, n, tag);
  if (n < 16) {
    p[0] = (unsigned char)n;
    for (size_t i = 1; i < n; i++) p[i] = byte_at(s, i);
    return;
  }
  size_t nw = n / 8;
  st64(p, n);
  st64(p + 8, tag);
  if (n <= FULL_LIMIT) {
    for (size_t i = 2; i < nw; i++) st64(p + 8 * i, word_at(s, i));
  } else {
    for (size_t i = 2; i < nw; i += SPARSE) st64(p + 8 * i, word_at(s, i));
    st64(p + 8 * (nw - 1), word_at(s, nw - 1));
  }
  for (size_t i = nw * 8; i < n; i++) p[i] = byte_at(s, i);
}

/* Checks the first len bytes of p against the pattern bfill would have
 * written for a block of n bytes at address addr with tag. Returns -1 if
 * good, else the offset of the first bad byte/word. */
static long bcheck(const unsigned char *p, uintptr_t addr, size_t n, uint64_t tag, size_t len) {
  if (n == 0 || len == 0) return -1;
  if (len > n) len = n;
  uint64_t s = seed_of(addr, n, tag);
  if (n < 16) {
    if (p[0] != (unsigned char)n) return 0;
    for (size_t i = 1; i < len; i++)
      if (p[i] != byte_at(s, i)) return (long)i;
    return -1;
  }
  size_t nw = n / 8;
  if (len >= 8 && ld64(p) != n) return 0;
  if (len >= 16 && ld64(p + 8) != tag) return 8;
  size_t lw = len / 8; /* whole words inside len */
  if (n <= FULL_LIMIT) {
    for (size_t i = 2; i < lw; i++)
      if (ld64(p + 8 * i) != word_at(s, i)) return (long)(8 * i);
  } else {
    for (size_t i = 2; i < lw; i += SPARSE)
      if (ld64(p + 8 * i) != word_at(s, i)) return (long)(8 * i);
    if (nw - 1 < lw && ld64(p + 8 * (nw - 1)) != word_at(s, nw - 1)) return (long)(8 * (nw - 1));
  }
  for (size_t i = nw * 8; i < len; i++)
    if (p[i] != byte_at(s, i)) return (long)i;
  return -1;
}

/* ---- a worker's local working set --------------------------------------------- */

typedef struct {
  unsigned char *p;
  size_t n;
  uint64_t tag;
  size_t align; /* 0: malloc/calloc/realloc block */
} blk_t;

typedef struct {
  int id;
  rng_t r;
  blk_t *live;
  uint64_t next_tag;
  long allocs;
} worker_t;

static worker_t *workers;
static pthread_barrier_t barrier;

static uint64_t new_tag(worker_t *w) { return ((uint64_t)w->id << 40) | ++w->next_tag; }

/* Allocates a block of n bytes with the plain malloc or calloc, fills it. */
static unsigned char *alloc_block(worker_t *w, size_t n, uint64_t tag, int use_calloc) {
  unsigned char *p;
  if (use_calloc) {
    size_t a = 1, b = n;
    if (n % 4 == 0) a = 4, b = n / 4;
    p = S_CALLOC(a, b);
    if (p) {
      /* check zeroes: all bytes for small blocks, a sample for big ones */
      size_t step = n <= FULL_LIMIT ? 1 : 251;
      for (size_t i = 0; i < n; i += step)
        if (p[i]) {
          report("calloc(%zu,%zu) = %p: byte %zu is %#x, not 0", a, b, (void *)p, i, p[i]);
          break;
        }
      if (n && p[n - 1]) report("calloc(%zu) = %p: last byte not 0", n, (void *)p);
    }
  } else {
    p = S_MALLOC(n);
  }
  if (!p) {
    report("%s(%zu) returned NULL", use_calloc ? "calloc" : "malloc", n);
    return NULL;
  }
  w->allocs++;
  if (((uintptr_t)p & (n > 8 ? 15 : 7)) != 0) report("malloc(%zu) = %p misaligned", n, (void *)p);
  bfill(p, n, n < 16 ? 0 : tag);
  return p;
}

static void verify_blk(const blk_t *b, const char *when) {
  long bad = bcheck(b->p, (uintptr_t)b->p, b->n, b->n < 16 ? 0 : b->tag, b->n);
  if (bad >= 0)
    report("%s: block %p (%zu bytes, tag %#llx) corrupted at offset %ld", when, (void *)b->p, b->n,
           (unsigned long long)b->tag, bad);
}

static void free_blk(worker_t *w, blk_t *b) {
  verify_blk(b, "before free");
  if (b->align == 0 && rnd(&w->r) % 4 == 0) S_FREE_SIZED(b->p, b->n);
  else S_FREE(b->p);
  b->p = NULL;
}

/* Puts a fresh block into slot i; frees whatever was there. */
static void verify_free_slot_value(worker_t *w, uintptr_t v, const char *when) {
  if (!v) return;
  unsigned char *p = (unsigned char *)(v & ~TINY_BIT);
  size_t n;
  uint64_t tag;
  if (v & TINY_BIT) {
    n = p[0];
    tag = 0;
    if (n == 0 || n >= 16) {
      report("%s: tiny slot block %p has a bad size byte %zu", when, (void *)p, n);
      return; /* leak it: freeing with a bad header could cascade */
    }
  } else {
    n = (size_t)ld64(p);
    tag = ld64(p + 8);
    if (n < 16 || n > MAX_SIZE) {
      report("%s: slot block %p has a bad size word %#zx", when, (void *)p, n);
      return;
    }
  }
  long bad = bcheck(p, (uintptr_t)p, n, tag, n);
  if (bad >= 0)
    report("%s: slot block %p (%zu bytes) corrupted at offset %ld", when, (void *)p, n, bad);
  size_t u = S_USABLE(p);
  if (u < n) report("%s: usable size %zu < %zu for %p", when, u, n, (void *)p);
  if (w && rnd(&w->r) % 3 == 0) S_FREE_SIZED(p, n);
  else S_FREE(p);
}

static uintptr_t slot_value(unsigned char *p, size_t n) {
  return (uintptr_t)p | (n < 16 ? TINY_BIT : 0);
}

static size_t slot_size(worker_t *w) {
  /* slot blocks: mostly small, sometimes up to 64 KiB, rarely large */
  size_t n = rand_size(&w->r);
  if (n > FULL_LIMIT && rnd(&w->r) % 4) n = 1 + rnd(&w->r) % 4096;
  return n;
}

/* Replaces local block k: free the old one, allocate a new one. */
static void op_replace(worker_t *w, size_t k) {
  blk_t *b = &w->live[k];
  if (b->p) free_blk(w, b);
  uint64_t r = rnd(&w->r) % 100;
  size_t n = rand_size(&w->r);
  uint64_t tag = new_tag(w);
  if (r < 8) { /* over-aligned */
    size_t al = (size_t)16 << (rnd(&w->r) % (r < 1 ? 13 : 9)); /* 16 B .. 64 KiB */
    void *p = NULL;
    int rc = S_POSIX_MEMALIGN(&p, al, n);
    if (rc != 0 || !p) {
      report("posix_memalign(%zu, %zu) failed: %d", al, n, rc);
      return;
    }
    w->allocs++;
    if ((uintptr_t)p & (al - 1)) report("posix_memalign(%zu, %zu) = %p misaligned", al, n, p);
    b->p = p;
    b->n = n;
    b->tag = tag;
    b->align = al;
    bfill(b->p, n, n < 16 ? 0 : tag);
    return;
  }
  if (r < 10) { /* malloc(0): unique, freeable; kept as a 0-byte block */
    unsigned char *p = S_MALLOC(0);
    if (!p) report("malloc(0) returned NULL");
    w->allocs++;
    b->p = p;
    b->n = 0;
    b->tag = 0;
    b->align = 0;
    if (!p) b->p = NULL;
    return;
  }
  b->p = alloc_block(w, n, tag, r < 25);
  b->n = n;
  b->tag = tag;
  b->align = 0;
}

/* Reallocates local block k to a new size; the prefix must come along. */
static void op_realloc(worker_t *w, size_t k) {
  blk_t *b = &w->live[k];
  if (!b->p) {
    op_replace(w, k);
    return;
  }
  verify_blk(b, "before realloc");
  size_t n2;
  uint64_t r = rnd(&w->r) % 10;
  if (r < 4) n2 = b->n + 1 + rnd(&w->r) % 64; /* small growth, often in place */
  else if (r < 6) n2 = b->n > 1 ? 1 + rnd(&w->r) % b->n : 1; /* shrink */
  else n2 = rand_size(&w->r);
  if (n2 > MAX_SIZE) n2 = MAX_SIZE;
  uintptr_t old_addr = (uintptr_t)b->p;
  size_t old_n = b->n;
  uint64_t old_tag = b->n < 16 ? 0 : b->tag;
  unsigned char *q = S_REALLOC(b->p, n2);
  if (!q) {
    report("realloc(%p, %zu) returned NULL", (void *)b->p, n2);
    return;
  }
  size_t keep = old_n < n2 ? old_n : n2;
  long bad = bcheck(q, old_addr, old_n, old_tag, keep);
  if (bad >= 0)
    report("realloc %#lx (%zu) -> %p (%zu): prefix lost at offset %ld", (unsigned long)old_addr,
           old_n, (void *)q, n2, bad);
  if (((uintptr_t)q & (n2 > 8 ? 15 : 7)) != 0) report("realloc result %p misaligned", (void *)q);
  b->p = q;
  b->n = n2;
  b->tag = new_tag(w);
  b->align = 0;
  bfill(q, n2, n2 < 16 ? 0 : b->tag);
}

/* Publishes a new block into a random slot; frees what it displaces. */
static void op_put(worker_t *w) {
  size_t n = slot_size(w);
  unsigned char *p = alloc_block(w, n, new_tag(w), rnd(&w->r) % 8 == 0);
  if (!p) return;
  size_t i = rnd(&w->r) % nslots;
  uintptr_t old = atomic_exchange_explicit(&slots[i], slot_value(p, n), memory_order_acq_rel);
  verify_free_slot_value(w, old, "displaced from slot");
}

/* Producer: publish only into an empty slot (CAS), else free locally. */
static void op_produce(worker_t *w) {
  size_t n = slot_size(w);
  unsigned char *p = alloc_block(w, n, new_tag(w), rnd(&w->r) % 8 == 0);
  if (!p) return;
  for (int tries = 0; tries < 4; tries++) {
    size_t i = rnd(&w->r) % nslots;
    uintptr_t expect = 0;
    if (atomic_compare_exchange_strong_explicit(&slots[i], &expect, slot_value(p, n),
                                                memory_order_acq_rel, memory_order_relaxed))
      return;
  }
  verify_free_slot_value(w, slot_value(p, n), "producer overflow");
}

/* Consumer: take a random slot's block and free it. */
static void op_consume(worker_t *w) {
  size_t i = rnd(&w->r) % nslots;
  uintptr_t v = atomic_exchange_explicit(&slots[i], 0, memory_order_acq_rel);
  verify_free_slot_value(w, v, "consumed from slot");
}

/* ---- checkpoints: every thread stopped, check everything ----------------------- */

typedef struct {
  uintptr_t lo, hi;
} range_t;

static int cmp_range(const void *a, const void *b) {
  const range_t *x = a, *y = b;
  return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static range_t *ranges; /* bookkeeping: plain libc/goheap memory, allocated once */

static void global_check(const char *phase, int round) {
  size_t nr = 0;
  for (int t = 0; t < nthreads; t++)
    for (size_t k = 0; k < nlive; k++) {
      blk_t *b = &workers[t].live[k];
      if (!b->p) continue;
      verify_blk(b, "checkpoint");
      size_t u = S_USABLE(b->p);
      if (u < b->n) report("checkpoint: usable %zu < size %zu at %p", u, b->n, (void *)b->p);
      ranges[nr++] = (range_t){(uintptr_t)b->p, (uintptr_t)b->p + (u ? u : 1)};
    }
  for (size_t i = 0; i < nslots; i++) {
    uintptr_t v = atomic_load_explicit(&slots[i], memory_order_acquire);
    if (!v) continue;
    unsigned char *p = (unsigned char *)(v & ~TINY_BIT);
    size_t u = S_USABLE(p);
    ranges[nr++] = (range_t){(uintptr_t)p, (uintptr_t)p + (u ? u : 1)};
  }
  qsort(ranges, nr, sizeof ranges[0], cmp_range);
  long ov = 0;
  for (size_t i = 1; i < nr; i++)
    if (ranges[i].lo < ranges[i - 1].hi) {
      if (ov++ < 5)
        fprintf(stderr, "stress: %s round %d: [%#lx,%#lx) overlaps [%#lx,%#lx)\n", phase, round,
                (unsigned long)ranges[i - 1].lo, (unsigned long)ranges[i - 1].hi,
                (unsigned long)ranges[i].lo, (unsigned long)ranges[i].hi);
    }
  atomic_fetch_add(&overlaps, ov);
}

static int rounds(void) { return quick ? 3 : 6; }

/* ---- phases ----------------------------------------------------------------------- */

static void *phase_a(void *arg) { /* producer / consumer */
  worker_t *w = arg;
  int producer = (w->id % 2) == 0;
  long per_round = iters / rounds();
  for (int round = 0; round < rounds(); round++) {
    for (long i = 0; i < per_round; i++) {
      uint64_t r = rnd(&w->r) % 100;
      if (producer) {
        if (r < 80) op_produce(w);
        else op_replace(w, rnd(&w->r) % nlive);
      } else {
        if (r < 70) op_consume(w);
        else op_replace(w, rnd(&w->r) % nlive);
      }
    }
    pthread_barrier_wait(&barrier);
    if (w->id == 0) global_check("phase A", round);
    pthread_barrier_wait(&barrier);
  }
  return NULL;
}

static void *phase_c(void *arg) { /* mixed */
  worker_t *w = arg;
  long per_round = iters / rounds();
  for (int round = 0; round < rounds(); round++) {
    for (long i = 0; i < per_round; i++) {
      uint64_t r = rnd(&w->r) % 100;
      size_t k = rnd(&w->r) % nlive;
      if (r < 50) op_replace(w, k);
      else if (r < 65) op_realloc(w, k);
      else if (r < 85) op_put(w);
      else op_consume(w);
    }
    pthread_barrier_wait(&barrier);
    if (w->id == 0) global_check("phase C", round);
    pthread_barrier_wait(&barrier);
  }
  return NULL;
}

enum { CHURN_LIVE = 16 };

static void *churn_thread(void *arg) {
  long id = (long)(intptr_t)arg;
  blk_t live[CHURN_LIVE];
  worker_t w = {.id = (int)(1000 + id % 100000), .r = rng_for(0xC0FFEE, (uint64_t)id),
                .live = live};
  memset(live, 0, sizeof live);
  int ops = 20 + (int)(rnd(&w.r) % 80);
  for (int i = 0; i < ops; i++) {
    size_t k = rnd(&w.r) % CHURN_LIVE;
    if (rnd(&w.r) % 5 == 0) op_realloc(&w, k);
    else op_replace(&w, k);
  }
  /* leave some blocks for others: into the slots, freeing what was there */
  int leave = 1 + (int)(rnd(&w.r) % 6);
  for (int i = 0; i < leave; i++) op_put(&w);
  /* the rest of the working set: mostly freed here, some handed over */
  for (int k = 0; k < CHURN_LIVE; k++) {
    if (!live[k].p) continue;
    if (live[k].align == 0 && live[k].n > 0 && rnd(&w.r) % 4 == 0) {
      verify_blk(&live[k], "churn handover");
      size_t i = rnd(&w.r) % nslots;
      uintptr_t old = atomic_exchange_explicit(&slots[i], slot_value(live[k].p, live[k].n),
                                               memory_order_acq_rel);
      verify_free_slot_value(&w, old, "displaced by churn");
    } else {
      free_blk(&w, &live[k]);
    }
  }
  atomic_fetch_add(&total_allocs, w.allocs);
  return NULL;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int run_workers(void *(*fn)(void *)) {
  pthread_t *th = malloc(sizeof *th * (size_t)nthreads);
  pthread_barrier_init(&barrier, NULL, (unsigned)nthreads);
  int ok = 1;
  for (int t = 0; t < nthreads; t++)
    if (pthread_create(&th[t], NULL, fn, &workers[t]) != 0) {
      fprintf(stderr, "stress: pthread_create failed\n");
      exit(2);
    }
  for (int t = 0; t < nthreads; t++) pthread_join(th[t], NULL);
  pthread_barrier_destroy(&barrier);
  free(th);
  return ok;
}

static long churn(long total) {
  int wave = nthreads * 2;
  pthread_t *th = malloc(sizeof *th * (size_t)wave);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * KiB);
  long made = 0;
  while (made < total) {
    int n = 0;
    for (; n < wave && made < total; n++, made++)
      if (pthread_create(&th[n], &attr, churn_thread, (void *)(intptr_t)made) != 0) {
        fprintf(stderr, "stress: pthread_create failed (churn)\n");
        exit(2);
      }
    for (int i = 0; i < n; i++) pthread_join(th[i], NULL);
  }
  pthread_attr_destroy(&attr);
  free(th);
  return made;
}

static void drain_all(void) {
  for (size_t i = 0; i < nslots; i++) {
    uintptr_t v = atomic_exchange_explicit(&slots[i], 0, memory_order_acq_rel);
    verify_free_slot_value(NULL, v, "drain");
  }
  for (int t = 0; t < nthreads; t++)
    for (size_t k = 0; k < nlive; k++)
      if (workers[t].live[k].p) free_blk(&workers[t], &workers[t].live[k]);
}

static void read_stats(gh_stats *s) {
  memset(s, 0, sizeof *s);
  s->size = sizeof *s;
  gh_read_stats(s);
}

int main(int argc, char **argv) {
  const char *q = getenv("GH_QUICK");
  quick = q && *q && strcmp(q, "0") != 0;
  if (argc > 1) nthreads = atoi(argv[1]);
  if (argc > 2) scale = atoi(argv[2]);
  if (argc > 3) iters = atol(argv[3]);
  if (nthreads < 2) nthreads = 2;
  if (scale < 1) scale = 1;
  if (quick) iters /= 8;
  if (iters < 600) iters = 600;
  long churn_threads = 8000L * scale / (quick ? 8 : 1);
  nslots = 2048 * (size_t)scale;
  nlive = 512 * (size_t)scale;
  printf("stress: %d threads, scale %d, %ld ops/thread/phase, %ld churn threads%s (%s names)\n",
         nthreads, scale, iters, churn_threads, quick ? ", quick" : "",
#ifdef STRESS_GH_API
         "gh_"
#else
         "plain"
#endif
  );
  fflush(stdout);

  gh_stats s0, s1;
  gh_malloc_trim(0);
  read_stats(&s0);

  slots = calloc(nslots, sizeof *slots);
  workers = calloc((size_t)nthreads, sizeof *workers);
  ranges = malloc(sizeof *ranges * ((size_t)nthreads * nlive + nslots));
  if (!slots || !workers || !ranges) return 2;
  for (int t = 0; t < nthreads; t++) {
    workers[t].id = t;
    workers[t].r = rng_for(0x5EED, (uint64_t)t);
    workers[t].live = calloc(nlive, sizeof(blk_t));
    if (!workers[t].live) return 2;
  }

  double t0 = now();
  run_workers(phase_a);
  long e = atomic_load(&errors), o = atomic_load(&overlaps);
  printf("stress: phase A (producer/consumer) %.1fs\n", now() - t0);
  CHECKF("phase A: producer/consumer cross-thread frees, no corruption", e == 0, "%ld errors", e);
  CHECKF("phase A: no overlapping live blocks at checkpoints", o == 0, "%ld overlaps", o);

  t0 = now();
  long made = churn(churn_threads);
  long e2 = atomic_load(&errors);
  printf("stress: phase B (%ld short-lived threads) %.1fs\n", made, now() - t0);
  CHECKF("phase B: thread churn, blocks left for other threads, no corruption", e2 == e,
         "%ld errors", e2 - e);
  /* the blocks the churn threads left behind are checked now */
  global_check("after churn", 0);
  long e3 = atomic_load(&errors), o3 = atomic_load(&overlaps);
  CHECKF("phase B: blocks left by exited threads intact and disjoint", e3 == e2 && o3 == o,
         "%ld errors, %ld overlaps", e3 - e2, o3 - o);

  t0 = now();
  run_workers(phase_c);
  long e4 = atomic_load(&errors), o4 = atomic_load(&overlaps);
  printf("stress: phase C (mixed sizes, realloc, aligned, large) %.1fs\n", now() - t0);
  CHECKF("phase C: mixed sizes 1 B..4 MiB, no corruption", e4 == e3, "%ld errors", e4 - e3);
  CHECKF("phase C: no overlapping live blocks at checkpoints", o4 == o3, "%ld overlaps", o4 - o3);

  drain_all();
  long e5 = atomic_load(&errors);
  CHECKF("drain: every remaining block intact when freed", e5 == e4, "%ld errors", e5 - e4);

  long allocs = atomic_load(&total_allocs);
  for (int t = 0; t < nthreads; t++) {
    allocs += workers[t].allocs;
    free(workers[t].live);
  }
  free(workers);
  free(slots);
  free(ranges);

  gh_malloc_trim(0);
  read_stats(&s1);
  long long dobj = (long long)s1.heap_objects - (long long)s0.heap_objects;
  long long dbytes = (long long)s1.heap_alloc - (long long)s0.heap_alloc;
  printf("stress: %ld allocations; heap objects %+lld, bytes %+lld after freeing everything\n",
         allocs, dobj, dbytes);
  CHECKF("stats: mallocs counted every allocation", s1.mallocs - s0.mallocs >= (uint64_t)allocs,
         "mallocs grew by %llu, made %ld", (unsigned long long)(s1.mallocs - s0.mallocs), allocs);
  CHECKF("stats: no leaked objects after all (cross-thread) frees", dobj < 5000,
         "%lld objects left", dobj);
  CHECKF("stats: no leaked bytes after all (cross-thread) frees", dbytes < (long long)(16 * MiB),
         "%lld bytes left", dbytes);
  return TEST_SUMMARY();
}
