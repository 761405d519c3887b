/*
 * bench.h -- small helpers shared by the malloc benchmark workloads.
 *
 * Every workload is a plain C program that uses only malloc/free/realloc/
 * calloc, so it measures whatever allocator the dynamic linker resolves
 * (glibc by default, or the one named in LD_PRELOAD by bench/run.py).
 *
 * Conventions every workload follows:
 *   - parameters come as positional integers on the command line, all with
 *     defaults, and are echoed back on the first output line;
 *   - every object is tagged when written and checked before it is freed, so
 *     an allocator that hands out overlapping memory is caught;
 *   - the program prints "result: <hex>" -- a checksum that depends only on
 *     the parameters, never on the allocator or the thread schedule -- and
 *     exits 0; on any wrong answer it prints "WRONG: ..." on stderr and
 *     exits 3 (bench/run.py also compares the result line across allocators).
 */
#ifndef BENCH_H
#define BENCH_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deterministic PRNG (splitmix64): the same stream on every allocator. */
typedef struct {
  uint64_t s;
} rng_t;

static inline uint64_t rng_next(rng_t *r) {
  uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static inline uint64_t rng_range(rng_t *r, uint64_t lo, uint64_t hi) {
  return lo + rng_next(r) % (hi - lo + 1);
}

static inline uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

#define WRONG(...)                          \
  do {                                      \
    fprintf(stderr, "WRONG: " __VA_ARGS__); \
    fputc('\n', stderr);                    \
    exit(3);                                \
  } while (0)

/* malloc that treats NULL as a failure of the run (exit 4). */
static inline void *xmalloc(size_t n) {
  void *p = malloc(n);
  if (!p && n) {
    fprintf(stderr, "FAILED: malloc(%zu) returned NULL\n", n);
    exit(4);
  }
  return p;
}

static inline void *xrealloc(void *q, size_t n) {
  void *p = realloc(q, n);
  if (!p && n) {
    fprintf(stderr, "FAILED: realloc(%zu) returned NULL\n", n);
    exit(4);
  }
  return p;
}

/*
 * Tag an object: an 8-byte tag at the start and at the end (objects of at
 * least 16 bytes), or every byte (smaller objects). Cheap enough not to
 * drown the allocator's cost, and enough to catch two live objects that
 * overlap.
 */
static inline void tag_fill(void *p, size_t n, uint64_t tag) {
  unsigned char *c = (unsigned char *)p;
  if (n >= 16) {
    memcpy(c, &tag, 8);
    memcpy(c + n - 8, &tag, 8);
  } else if (n >= 8) {
    memcpy(c, &tag, 8);
    memset(c + 8, (int)(tag & 0xff), n - 8);
  } else {
    memset(c, (int)(tag & 0xff), n);
  }
}

static inline int tag_ok(const void *p, size_t n, uint64_t tag) {
  const unsigned char *c = (const unsigned char *)p;
  uint64_t a, b;
  size_t i;
  if (n >= 16) {
    memcpy(&a, c, 8);
    memcpy(&b, c + n - 8, 8);
    return a == tag && b == tag;
  }
  if (n >= 8) {
    memcpy(&a, c, 8);
    if (a != tag) return 0;
    for (i = 8; i < n; i++)
      if (c[i] != (unsigned char)(tag & 0xff)) return 0;
    return 1;
  }
  for (i = 0; i < n; i++)
    if (c[i] != (unsigned char)(tag & 0xff)) return 0;
  return 1;
}

/* Runs fn(i) for i = 0..n-1, each in its own thread, and waits for all. */
static inline void run_workers(long n, void *(*fn)(void *)) {
  pthread_t *th = xmalloc(sizeof(pthread_t) * (size_t)n);
  long i;
  for (i = 0; i < n; i++) pthread_create(&th[i], NULL, fn, (void *)(intptr_t)i);
  for (i = 0; i < n; i++) pthread_join(th[i], NULL);
  free(th);
}

static inline long arg_long(int argc, char **argv, int i, long def) {
  if (argc > i) {
    char *end;
    long v = strtol(argv[i], &end, 0);
    if (*end || v < 0) {
      fprintf(stderr, "bad argument %d: %s\n", i, argv[i]);
      exit(2);
    }
    return v;
  }
  return def;
}

#endif
