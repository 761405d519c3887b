/*
 * test_freed_not_live.c -- once free() returns, the object is gone for every
 * question about pointers, whichever thread asks and whatever a sweep is doing.
 *
 * Usage: test_freed_not_live [ROUNDS]   (default 400000; GH_QUICK=1 divides by 4)
 *
 * Pairs of threads: a producer allocates (malloc, gh_alloc, gh_alloc_noscan in
 * turn, sizes 17-96 B) and hands each object through a ring to a consumer, which
 * frees it (a remote free: the producer's mcache owns the span) and at once asks
 * gh_base, which must not return the object.
 * The producer keeps allocating, so its refills sweep the spans the consumer's
 * frees queued while the consumer asks: the sweep must publish the new alloc bits
 * before it drops the freed bits. The producer also frees a share of its own
 * objects and asks the consumer to check them (owner frees: free_bits), and asks
 * itself after each own free.
 * The producer may legitimately hand the same address out again right after the
 * free, or its span's pages to a span of another class; so each answer that
 * says "live" is kept with the producer's allocation count read before the free,
 * and excused at the end only if the producer's log shows the object gh_base
 * found allocated from that count on.
 * Found by the fuzzer: "gh_base(p) = p just after it was freed (noscan, size 21)".
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "goheap.h"
#include "testhelper.h"

enum { PAIRS = 2, RING = 256, MAX_SUSPECTS = 4096 };

typedef struct {
  void *p, *base; /* the freed object, and what gh_base answered */
  long from; /* the producer's allocation count read before the free */
} suspect;

typedef struct {
  _Atomic(uintptr_t) slot[RING]; /* 0 empty; low bit 1: already freed by the producer */
  long rounds;
  uintptr_t *log;       /* log[n]: the producer's n-th allocation */
  atomic_long count;    /* allocations logged */
  suspect sus[MAX_SUSPECTS];
  long nsus, lost;      /* consumer only */
  atomic_long bad_owner; /* the owner's own question after its own free */
} pair;

static void *produce(void *arg) {
  pair *pr = arg;
  uint64_t rng = 0x9e3779b97f4a7c15ull ^ (uintptr_t)arg;
  for (long n = 0; n < pr->rounds; n++) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    size_t size = 17 + rng % 80; /* noscan blocks of 16 B or less share the tiny class, whose free is ignored */
    void *p = n % 3 == 0 ? malloc(size) : n % 3 == 1 ? gh_alloc(size) : gh_alloc_noscan(size);
    if (!p) abort();
    memset(p, 0x5a, size);
    pr->log[n] = (uintptr_t)p;
    atomic_store_explicit(&pr->count, n + 1, memory_order_release);
    uintptr_t v = (uintptr_t)p;
    if (rng % 8 == 0) { /* an owner free, checked here and by the consumer */
      gh_free(p);
      if (gh_base(p) != NULL) atomic_fetch_add(&pr->bad_owner, 1);
      v |= 1;
    }
    _Atomic(uintptr_t) *s = &pr->slot[n % RING];
    while (atomic_load_explicit(s, memory_order_acquire) != 0) sched_yield();
    atomic_store_explicit(s, v, memory_order_release);
  }
  return NULL;
}

static void suspect_add(pair *pr, void *p, void *base, long from) {
  if (pr->nsus < MAX_SUSPECTS) pr->sus[pr->nsus++] = (suspect){p, base, from};
  else pr->lost++;
}

static void *consume(void *arg) {
  pair *pr = arg;
  for (long n = 0; n < pr->rounds; n++) {
    _Atomic(uintptr_t) *s = &pr->slot[n % RING];
    uintptr_t v;
    while ((v = atomic_load_explicit(s, memory_order_acquire)) == 0) sched_yield();
    void *p = (void *)(v & ~(uintptr_t)1);
    long from = atomic_load_explicit(&pr->count, memory_order_acquire);
    if (!(v & 1)) gh_free(p);
    void *base = gh_base(p);
    if (base != NULL) suspect_add(pr, p, base, from);
    atomic_store_explicit(s, 0, memory_order_release);
  }
  return NULL;
}

/* Suspects the producer's log does not excuse: the object gh_base found (the
 * freed one, or one its span's pages now hold) was not allocated after the free. */
static long unexcused(const pair *pr) {
  long bad = 0;
  for (long k = 0; k < pr->nsus; k++) {
    bool again = false;
    for (long n = pr->sus[k].from; n < pr->rounds && !again; n++) again = pr->log[n] == (uintptr_t)pr->sus[k].base;
    if (!again && bad++ < 3)
      fprintf(stderr, "freed %p: gh_base says %p, not allocated since\n", pr->sus[k].p, pr->sus[k].base);
  }
  return bad;
}

int main(int argc, char **argv) {
  long rounds = argc > 1 ? atol(argv[1]) : 400000;
  if (getenv("GH_QUICK")) rounds /= 4;
  static pair pairs[PAIRS];
  pthread_t t[2 * PAIRS];
  for (int i = 0; i < PAIRS; i++) {
    pairs[i].rounds = rounds;
    pairs[i].log = calloc((size_t)rounds, sizeof(uintptr_t));
    pthread_create(&t[2 * i], NULL, produce, &pairs[i]);
    pthread_create(&t[2 * i + 1], NULL, consume, &pairs[i]);
  }
  for (int i = 0; i < 2 * PAIRS; i++) pthread_join(t[i], NULL);
  long bad = 0, owner = 0, sus = 0, lost = 0;
  for (int i = 0; i < PAIRS; i++) {
    bad += unexcused(&pairs[i]), owner += pairs[i].bad_owner, sus += pairs[i].nsus, lost += pairs[i].lost;
    free(pairs[i].log);
  }
  printf("%d pairs x %ld objects; %ld answers excused by a new allocation at the address\n", PAIRS, rounds, sus - bad);
  CHECKF("a freed object is not live for another thread", bad == 0, "%ld objects still live", bad);
  CHECKF("too many suspects to check them all", lost == 0, "%ld not checked", lost);
  CHECKF("owner free, then gh_base on the owner: NULL", owner == 0, "%ld objects still live", owner);
  CHECK("no error reported", gh_error_count() == 0);
  return TEST_SUMMARY();
}
