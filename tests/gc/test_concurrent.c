/*
 * test_concurrent.c -- the concurrent mark's write barrier (GOHEAP_GC_MODE=concurrent).
 *
 * The hazard a mark that runs beside the program must survive: a thread
 * moves the only pointer to an object out of a holder the mark has not
 * scanned yet into one it has already scanned, then clears the old place.
 * Without the kernel's written-page record (mbarrier.c) the object is never
 * marked and is freed while reachable. Here mutator threads do exactly
 * that, all the time, between holders of three kinds: collected objects
 * (scanned), malloc'd blocks (roots), and holders allocated during the mark
 * (black); a collector thread collects back to back; every leaf carries a
 * checksum over its whole body, checked at every move and at the end; and
 * each thread frees objects another thread allocated (remote frees queue
 * spans for sweeping in the middle of a mark). A
 * leaf freed while reachable is reused and zeroed by the next collected
 * allocation of its size, so its checksum breaks.
 *
 * Every store of a pointer into heap memory is followed by gh_write_barrier
 * (STORE below): GOHEAP_GC_MODE=manual relies on them instead of the kernel.
 * In the stw mode (the default) the same test must pass too; make test runs
 * it in all three (tests/run.sh). It also checks that the mode in effect is
 * the one GOHEAP_GC_MODE asked for, or that the fallback said why. With
 * GH_TEST_NO_BARRIER=1 the manual mode gets no barrier calls: leaves break
 * (a check that the barrier is what keeps them; not run by make test, since
 * whether a given run hits the race is chance).
 */
#include "gctest.h"
#include "../testhelper.h"
#include <goheap.h>

#define THREADS 3
#define HOLDERS 256 /* per thread */
#define SLOTS 16    /* leaves per holder */
#define LEAF_WORDS 8

typedef struct leaf {
  uint64_t id, sum;
  uint64_t body[LEAF_WORDS - 2];
} leaf;

static int no_barrier;

/* A pointer store into heap memory, reported to the manual mode's barrier. */
#define STORE(slot, value)                         \
  do {                                             \
    (slot) = (value);                              \
    if (!no_barrier) gh_write_barrier(&(slot));    \
  } while (0)

static atomic_int stop;
static atomic_long moves, bad, renewed, remote_frees;

/* Each thread posts temporary objects into the next thread's mailbox, which
 * that thread frees: explicit frees from another thread, during marks (they
 * queue spans for sweeping while the mark runs). */
#define MAILBOX 64
static _Atomic(void *) mailbox[THREADS][MAILBOX];

static uint64_t body_sum(const leaf *l) {
  uint64_t s = l->id * 0x9e3779b97f4a7c15ull;
  for (int i = 0; i < LEAF_WORDS - 2; i++) s = (s ^ l->body[i]) * 0x100000001b3ull;
  return s;
}

static leaf *new_leaf(uint64_t id) {
  leaf *l = gh_alloc(sizeof *l);
  l->id = id;
  for (int i = 0; i < LEAF_WORDS - 2; i++) l->body[i] = id * 31 + (uint64_t)i;
  l->sum = body_sum(l);
  return l;
}

static int leaf_ok(const leaf *l) { return l && l->sum == body_sum(l) && l->body[0] == l->id * 31; }

typedef struct holder {
  leaf *slot[SLOTS];
} holder;

/* Each thread's holders: [0, H/3) collected, [H/3, 2H/3) malloc'd, the rest
 * collected and replaced now and then (so some are allocated during a mark).
 * The table itself is collected memory, so the holders are reached through
 * the heap too. */
typedef struct table {
  holder *h[HOLDERS];
} table;

static table *volatile tables[THREADS];

static holder *new_holder(int manual) {
  holder *h = manual ? calloc(1, sizeof *h) : gh_alloc(sizeof *h);
  return h;
}

static uint64_t rng(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static void *mutator(void *arg) {
  long t = (long)arg;
  uint64_t r = 0x1234567 + (uint64_t)t * 7919, next_id = (uint64_t)t << 40;
  table *tab = gh_alloc(sizeof *tab);
  for (int i = 0; i < HOLDERS; i++) {
    STORE(tab->h[i], new_holder(i >= HOLDERS / 3 && i < 2 * HOLDERS / 3));
    for (int k = 0; k < SLOTS; k++) STORE(tab->h[i]->slot[k], new_leaf(++next_id));
  }
  tables[t] = tab;
  while (!atomic_load(&stop)) {
    uint64_t x = rng(&r);
    holder *a = tab->h[x % HOLDERS], *b = tab->h[(x >> 16) % HOLDERS];
    int i = (int)((x >> 32) % SLOTS), j = (int)((x >> 40) % SLOTS);
    leaf *p = a->slot[i];
    if (!leaf_ok(p)) atomic_fetch_add(&bad, 1);
    /* the move: the pointer leaves a, lands in b; b's old leaf goes to a */
    leaf *q = b->slot[j];
    STORE(b->slot[j], p);
    STORE(a->slot[i], q);
    atomic_fetch_add(&moves, 1);
    if ((x >> 48) % 64 == 0) { /* a fresh leaf replaces one (garbage for the mark to find) */
      STORE(a->slot[i], new_leaf(++next_id));
      atomic_fetch_add(&renewed, 1);
    }
    if ((x >> 20) % 8 == 0) { /* post a temporary to the next thread; free one posted to us */
      void *tmp = gh_alloc(48 + (x >> 60) * 16), *empty = NULL;
      if (!atomic_compare_exchange_strong(&mailbox[(t + 1) % THREADS][(x >> 24) % MAILBOX], &empty, tmp))
        gh_free(tmp); /* the slot is taken */
      void *mine = atomic_exchange(&mailbox[t][(x >> 30) % MAILBOX], NULL);
      if (mine) gh_free(mine), atomic_fetch_add(&remote_frees, 1);
    }
    if ((x >> 54) % 256 == 0) { /* a holder allocated now takes over a collected one's leaves */
      int n = 2 * HOLDERS / 3 + (int)((x >> 8) % (HOLDERS - 2 * HOLDERS / 3));
      holder *old = tab->h[n], *fresh = new_holder(0);
      for (int k = 0; k < SLOTS; k++) fresh->slot[k] = old->slot[k];
      if (!no_barrier) gh_write_barrier_range(fresh->slot, sizeof fresh->slot);
      STORE(tab->h[n], fresh);
      for (int k = 0; k < SLOTS; k++) old->slot[k] = NULL;
    }
  }
  return NULL;
}

static void *collector(void *arg) {
  (void)arg;
  while (!atomic_load(&stop)) gh_collect();
  return NULL;
}

static long check_all(void) {
  long n = 0;
  for (int t = 0; t < THREADS; t++)
    for (int i = 0; i < HOLDERS; i++)
      for (int k = 0; k < SLOTS; k++) n += !leaf_ok(tables[t]->h[i]->slot[k]);
  return n;
}

int main(void) {
  const char *mode = getenv("GOHEAP_GC_MODE");
  no_barrier = getenv("GH_TEST_NO_BARRIER") && atoi(getenv("GH_TEST_NO_BARRIER"));
  unsigned ms = getenv("GH_TEST_CONCURRENT_MS") ? (unsigned)atoi(getenv("GH_TEST_CONCURRENT_MS")) : 3000;
  pthread_t th[THREADS], col;
  for (long t = 0; t < THREADS; t++) pthread_create(&th[t], NULL, mutator, (void *)t);
  while (!tables[THREADS - 1] || !tables[0] || !tables[1]) gt_sleep_ms(1);
  uint64_t gc0 = gt_num_gc(), t0 = gt_now_ms();
  pthread_create(&col, NULL, collector, NULL);
  gt_sleep_ms(ms);
  atomic_store(&stop, 1);
  for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
  pthread_join(col, NULL);
  uint64_t gcs = gt_num_gc() - gc0;
  gh_collect();
  gh_collect();
  long broken = check_all();
  CHECKF("collections ran while the mutators moved pointers", gcs >= 20, "%llu collections", (unsigned long long)gcs);
  CHECKF("no leaf read broken during the moves", atomic_load(&bad) == 0, "%ld broken reads", atomic_load(&bad));
  CHECKF("every leaf intact at the end", broken == 0, "%ld broken leaves", broken);
  CHECKF("the mutators made progress", atomic_load(&moves) > 10000, "%ld moves", atomic_load(&moves));
  int m = gh_gc_mode();
  const char *names[] = {"stw", "concurrent", "manual"};
  CHECKF("the mode asked for, or stw", m == GH_GC_STW || (mode && strcmp(mode, names[m]) == 0),
         "GOHEAP_GC_MODE=%s, gh_gc_mode %d", mode ? mode : "", m);
  CHECKF("manual is never refused", !mode || strcmp(mode, "manual") != 0 || m == GH_GC_MANUAL, "gh_gc_mode %d", m);
  CHECKF("objects were freed by another thread", atomic_load(&remote_frees) > 1000, "%ld", atomic_load(&remote_frees));
  printf("test_concurrent: mode %s%s, %llu collections, %ld moves, %ld leaves renewed, %ld remote frees, %llu ms\n",
         names[m], no_barrier ? " (no barrier calls)" : "", (unsigned long long)gcs, atomic_load(&moves), atomic_load(&renewed),
         atomic_load(&remote_frees), (unsigned long long)(gt_now_ms() - t0));
  return TEST_SUMMARY();
}
