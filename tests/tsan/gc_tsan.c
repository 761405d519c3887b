/*
 * gc_tsan.c -- the collector, the finalizer queue and thread, specials, the
 * background sweeper and the scavenger under ThreadSanitizer.
 *
 * Why it is shaped like this. A collection stops every registered thread with
 * a signal. Under TSan a signal that arrives while a thread runs ordinary code
 * is deferred to that thread's next intercepted call, and one that arrives in
 * a raw futex syscall is never delivered; only a thread blocked in an
 * intercepted blocking call (sem_wait here) gets it at once. So:
 *   - GOGC is off (gh_set_gc_percent(-1)): allocation never starts a
 *     collection; the main thread (the coordinator) does every gh_collect;
 *   - W worker threads work in rounds. Phase: allocate collected objects
 *     (gh_alloc, gh_alloc_noscan payloads from 1 byte up, now and then a
 *     collected object > 32 KiB) with content patterns; set finalizers on
 *     some (and remove some again before the object is dropped); keep some in
 *     a global table (the data segment is a root), replacing and so dropping
 *     older ones, link some to older ones (reachable only through that link);
 *     free some unreferenced ones explicitly with gh_free (a finalizer set on
 *     one must be dropped by the sweep, never run);
 *     malloc/realloc/free manual blocks, small and > 32 KiB, some holding the
 *     only pointer to a collected object (malloc'd blocks are roots), some
 *     freed by the next worker in the next round (cross-thread frees, double
 *     buffered by round parity), one worker per round calls gh_malloc_trim
 *     (sweeps everything, returns free pages); GOHEAP_RETAIN=1M makes the
 *     frees of large blocks scavenge synchronously as well;
 *   - then each worker posts `done` and blocks in sem_wait on its own `go`; the
 *     coordinator waits for every `done`, runs gh_collect (the workers take
 *     the stop signal inside sem_wait), checks that num_gc went up by exactly
 *     one (a cancelled collection -- "goheap: collection cancelled" on stderr
 *     -- does not count and is a failure), checks every kept object, every
 *     kept manual block and the collected objects they hold, then posts `go`.
 * The finalizer thread runs the finalizers of the last collection and the
 * background sweeper sweeps while the workers run the next phase: that is
 * the concurrency TSan is here to watch (specials added and removed while
 * finalizers run, sweeps racing with allocation and cross-thread frees,
 * scavenging by several threads).
 *
 * goheap's own finalizer and sweeper threads idle in a raw futex wait, where
 * under TSan they would never take the stop signal; goheap counts a
 * registered thread blocked in that wait (world.c, gh_world_blocking_wait)
 * as stopped without a signal. Without that (before commit 2458500), every
 * collection here is cancelled after GOHEAP_STOP_TIMEOUT_MS (set to 500 here
 * unless given): the run reports how many were cancelled and fails; after 3
 * cancelled ones the remaining rounds run without collecting (each would
 * cost the timeout).
 *
 * Content checks (failures counted by the workers atomically, asserted by the
 * main thread): every kept object's header, fill words and noscan payload,
 * and the older object it links to; every manual block's pattern before it is
 * freed or reallocated, and the collected object it holds; a finalizer runs
 * only on an object that was dropped with its finalizer still set (never on
 * a kept one, never after removal), with its contents intact, at most once;
 * at the end, with everything dropped, most finalizable dropped objects have
 * been finalized and the heap shrank. Ends with "N passed, N failed".
 *
 * Arguments: [rounds [workers]] (default 60 rounds, 3 workers; GH_QUICK=1: 20).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "goheap.h"
#include "testhelper.h"

enum {
  MAXW = 8,         /* workers at most */
  KEEP = 384,       /* kept collected objects per worker (global table: a root) */
  MKEEP = 48,       /* kept manual blocks per worker */
  XFER = 24,        /* manual blocks handed to the next worker per round */
  NALLOC = 800,     /* collected objects per worker per phase */
  NMALLOC = 240,    /* manual blocks per worker per phase */
};

#define OBJ_MAGIC 0x6f626a2d676854ull
#define BLK_MAGIC 0x626c6b2d676854ull
enum { ST_LIVE = 1, ST_DROPPED = 2, ST_REMOVED = 3 }; /* finalizer state of an object */

typedef struct obj {
  uint64_t magic;          /* OBJ_MAGIC ^ id */
  uint64_t id;             /* unique */
  uint32_t nfill, plen;    /* fill words, payload bytes */
  _Atomic uint32_t state;  /* ST_*: what a finalizer may expect */
  _Atomic uint32_t finalized;
  unsigned char *payload;  /* noscan, plen bytes */
  struct obj *link;        /* an older object, or NULL */
  uint64_t link_id;
  uint64_t fill[];
} obj;

typedef struct blk {       /* a manual block of at least sizeof(blk) bytes */
  uint64_t magic;          /* BLK_MAGIC ^ id */
  uint64_t id;
  size_t size;
  obj *ref;                /* a collected object only this block points to, or NULL */
  uint64_t ref_id;
  unsigned char data[];
} blk;

static int nworkers = 3, nrounds = 60;
static obj *kept[MAXW][KEEP];
static blk *mkept[MAXW][MKEEP];
static blk *xfer[2][MAXW][XFER]; /* [round parity][producer] */
static sem_t done_sem, go_sem[MAXW]; /* one `go` per worker: none can take another's turn */
static atomic_long worker_bad, fin_ok, fin_bad, fin_twice, fins_armed, fins_removed, fins_freed;
static atomic_long nobj, nblk, ncross;

static uint64_t mix(uint64_t x) {
  x ^= x >> 33, x *= 0xff51afd7ed558ccdull, x ^= x >> 33, x *= 0xc4ceb9fe1a85ec53ull;
  return x ^ (x >> 33);
}
static uint64_t xs(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13, x ^= x >> 7, x ^= x << 17;
  return *s = x;
}

static void bad(const char *what, uint64_t id) {
  if (atomic_fetch_add(&worker_bad, 1) < 10) fprintf(stderr, "FAIL %s (id %#llx)\n", what, (unsigned long long)id);
}

/* ---- collected objects -------------------------------------------------------------- */

static int obj_ok1(const obj *o) {
  if (!o || o->magic != (OBJ_MAGIC ^ o->id) || gh_base((void *)o) != o) return 0;
  for (uint32_t k = 0; k < o->nfill; k += 1 + k / 8) /* every word near the start, then sparser */
    if (o->fill[k] != mix(o->id + k)) return 0;
  if (o->nfill && o->fill[o->nfill - 1] != mix(o->id + o->nfill - 1)) return 0;
  for (uint32_t i = 0; i < o->plen; i++)
    if (o->payload[i] != (unsigned char)(mix(o->id ^ i) | 1)) return 0;
  return 1;
}
static int obj_ok(const obj *o) {
  return obj_ok1(o) && (!o->link || (o->link->id == o->link_id && obj_ok1(o->link)));
}

static void fin(void *p, void *arg) {
  obj *o = p;
  uint64_t id = (uint64_t)(uintptr_t)arg;
  uint32_t st = atomic_load(&o->state);
  if (atomic_fetch_add(&o->finalized, 1) != 0) {
    atomic_fetch_add(&fin_twice, 1);
    return;
  }
  if (o->id != id || st != ST_DROPPED || !obj_ok(o)) {
    if (atomic_fetch_add(&fin_bad, 1) < 10)
      fprintf(stderr, "FAIL finalizer: id %#llx arg %#llx state %u intact %d\n", (unsigned long long)o->id,
              (unsigned long long)id, st, obj_ok(o));
    return;
  }
  atomic_fetch_add(&fin_ok, 1);
}

static obj *obj_new(uint64_t id, uint64_t r, obj *link) {
  uint32_t nfill = (r % 997 == 0) ? 4500 + (uint32_t)(r >> 20) % 3000 : (uint32_t)(r >> 8) % 40;
  uint32_t plen = 1 + (uint32_t)(r >> 32) % (r % 5 ? 40 : 600);
  obj *o = gh_alloc(sizeof(obj) + nfill * sizeof(uint64_t));
  unsigned char *pl = gh_alloc_noscan(plen);
  if (!o || !pl) abort();
  o->id = id, o->magic = OBJ_MAGIC ^ id, o->nfill = nfill, o->plen = plen;
  for (uint32_t k = 0; k < nfill; k++) o->fill[k] = mix(id + k);
  for (uint32_t i = 0; i < plen; i++) pl[i] = (unsigned char)(mix(id ^ i) | 1);
  o->payload = pl;
  if (link) o->link = link, o->link_id = link->id;
  atomic_store_explicit(&o->state, ST_LIVE, memory_order_relaxed);
  atomic_fetch_add(&nobj, 1);
  return o;
}

/* The worker lets go of o: a finalizer still set may run from now on. */
static void obj_drop(obj *o) {
  if (atomic_load_explicit(&o->state, memory_order_relaxed) == ST_LIVE) {
    atomic_store_explicit(&o->state, ST_DROPPED, memory_order_relaxed);
  }
}

/* ---- manual blocks ------------------------------------------------------------------- */

static unsigned char blk_byte(uint64_t id, size_t i) { return (unsigned char)(id * 31 + i * 7 + (i >> 8)); }

static blk *blk_new(uint64_t id, size_t size, obj *ref) {
  if (size < sizeof(blk)) size = sizeof(blk);
  blk *b = gh_malloc(size);
  if (!b) abort();
  b->id = id, b->magic = BLK_MAGIC ^ id, b->size = size, b->ref = ref, b->ref_id = ref ? ref->id : 0;
  size_t n = size - sizeof(blk);
  for (size_t i = 0; i < n; i += 1 + i / 64) b->data[i] = blk_byte(id, i);
  if (n) b->data[n - 1] = blk_byte(id, n - 1);
  atomic_fetch_add(&nblk, 1);
  return b;
}

static int blk_ok(const blk *b) {
  if (!b || b->magic != (BLK_MAGIC ^ b->id) || gh_base((void *)b) != b || gh_malloc_usable_size((void *)b) < b->size ||
      gh_is_collected((void *)b))
    return 0;
  size_t n = b->size - sizeof(blk);
  for (size_t i = 0; i < n; i += 1 + i / 64)
    if (b->data[i] != blk_byte(b->id, i)) return 0;
  if (n && b->data[n - 1] != blk_byte(b->id, n - 1)) return 0;
  return !b->ref || (b->ref->id == b->ref_id && obj_ok(b->ref));
}

static void blk_free(blk *b, const char *what) {
  if (!blk_ok(b)) bad(what, b ? b->id : 0);
  if (b && b->ref) obj_drop(b->ref);
  gh_free(b);
}

/* ---- workers -------------------------------------------------------------------------- */

typedef struct worker {
  int w;
  uint64_t rng;
  obj *recent; /* a kept object a new one may link to */
} worker;

static size_t msize(uint64_t r) {
  switch (r % 16) {
  case 0: return 33 * 1024 + (size_t)(r >> 16) % (160 * 1024); /* large */
  case 1: case 2: return 2048 + (size_t)(r >> 16) % 30000;
  default: return (size_t)(r >> 16) % 1024;
  }
}

static void phase(worker *k, int round) {
  int w = k->w;
  uint64_t base = ((uint64_t)w << 48) | ((uint64_t)round << 24);
  /* collected objects */
  for (uint32_t i = 0; i < NALLOC; i++) {
    uint64_t r = xs(&k->rng);
    uint64_t id = base | i;
    obj *link = (r & 7) == 0 ? k->recent : NULL;
    obj *o = obj_new(id, r, link);
    bool armed = r % 3 == 0;
    if (armed) gh_set_finalizer(o, fin, (void *)(uintptr_t)id);
    if (armed && (r >> 12) % 8 == 0) { /* changed our mind */
      atomic_store_explicit(&o->state, ST_REMOVED, memory_order_relaxed);
      gh_set_finalizer(o, NULL, NULL);
      atomic_fetch_add(&fins_removed, 1);
      armed = false;
    }
    if (armed) atomic_fetch_add(&fins_armed, 1);
    if ((r >> 20) % 4 == 0) { /* keep: replaces an older one, which is dropped */
      uint32_t slot = (uint32_t)(r >> 24) % KEEP;
      obj *old = kept[w][slot];
      if (old) {
        if (!obj_ok(old)) bad("kept object", old->id);
        obj_drop(old);
      }
      kept[w][slot] = o;
      k->recent = o;
    } else if ((r >> 28) % 8 == 0) { /* nothing else points to it: free it explicitly */
      if (!obj_ok(o)) bad("new object", id);
      if (armed) atomic_fetch_sub(&fins_armed, 1), atomic_fetch_add(&fins_freed, 1);
      atomic_store_explicit(&o->state, ST_REMOVED, memory_order_relaxed); /* its special goes at the sweep */
      unsigned char *pl = o->payload;
      gh_free(o);
      gh_free(pl); /* ignored for tiny payloads (shared 16-byte blocks) */
    } else {
      if (!obj_ok(o)) bad("new object", id);
      obj_drop(o); /* garbage at once */
    }
  }
  /* manual blocks: freed at once, kept, reallocated, or handed to the next worker */
  for (uint32_t i = 0; i < NMALLOC; i++) {
    uint64_t r = xs(&k->rng);
    uint64_t id = base | (1u << 20) | i;
    obj *ref = NULL;
    if (r % 5 == 0) { /* the block holds the only pointer to a collected object */
      ref = obj_new(id ^ (1ull << 47), xs(&k->rng), NULL);
    }
    blk *b = blk_new(id, msize(r), ref);
    switch ((r >> 8) % 4) {
    case 0: blk_free(b, "block freed by its owner"); break;
    case 1: { /* keep, freeing the one it replaces */
      uint32_t slot = (uint32_t)(r >> 24) % MKEEP;
      if (mkept[w][slot]) blk_free(mkept[w][slot], "kept block");
      mkept[w][slot] = b;
      break;
    }
    case 2: { /* realloc to another size, content kept */
      if (!blk_ok(b)) bad("block before realloc", id);
      size_t old = b->size, nsz = msize(r >> 5);
      if (nsz < old) nsz = old; /* grow only: the pattern covers the old size */
      blk *nb = gh_realloc(b, nsz);
      if (!nb) abort();
      if (!blk_ok(nb)) bad("block after realloc", id);
      blk_free(nb, "reallocated block");
      break;
    }
    default: { /* for the next worker to free next round */
      uint32_t slot = (uint32_t)(r >> 24) % XFER;
      blk **x = &xfer[round & 1][w][slot];
      if (*x) blk_free(*x, "own handed block");
      *x = b;
      break;
    }
    }
  }
  /* the blocks the previous worker handed over last round: cross-thread frees */
  int from = (w + nworkers - 1) % nworkers;
  for (uint32_t slot = 0; slot < XFER; slot++) {
    blk **x = &xfer[(round + 1) & 1][from][slot];
    if (*x) {
      blk_free(*x, "block from another thread");
      atomic_fetch_add(&ncross, 1);
      *x = NULL;
    }
  }
  if (round % nworkers == w) gh_malloc_trim(0); /* sweeps everything, returns free pages */
}

static void sem_wait_intr(sem_t *s) {
  while (sem_wait(s) != 0)
    if (errno != EINTR) abort();
}

static void *worker_main(void *arg) {
  worker *k = arg;
  if (gh_register_thread() != 0) bad("gh_register_thread", (uint64_t)k->w);
  for (int round = 0; round < nrounds; round++) {
    phase(k, round);
    sem_post(&done_sem);
    sem_wait_intr(&go_sem[k->w]); /* blocked here, in an intercepted call, while the coordinator collects */
  }
  return NULL;
}

/* ---- the coordinator's checks (workers blocked) --------------------------------------- */

static long check_tables(int round) {
  long badn = 0;
  for (int w = 0; w < nworkers; w++) {
    for (int i = 0; i < KEEP; i++)
      if (kept[w][i] && (!obj_ok(kept[w][i]) || atomic_load(&kept[w][i]->finalized))) {
        if (badn++ < 5) fprintf(stderr, "FAIL round %d: kept object [%d][%d] damaged or finalized\n", round, w, i);
      }
    for (int i = 0; i < MKEEP; i++)
      if (mkept[w][i] && !blk_ok(mkept[w][i])) {
        if (badn++ < 5) fprintf(stderr, "FAIL round %d: kept block [%d][%d] damaged\n", round, w, i);
      }
    for (int p = 0; p < 2; p++)
      for (int i = 0; i < XFER; i++)
        if (xfer[p][w][i] && !blk_ok(xfer[p][w][i])) {
          if (badn++ < 5) fprintf(stderr, "FAIL round %d: handed block [%d][%d][%d] damaged\n", round, p, w, i);
        }
  }
  return badn;
}

static gh_stats stats(void) {
  gh_stats st;
  memset(&st, 0, sizeof st);
  st.size = sizeof st;
  gh_read_stats(&st);
  return st;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  /* Before the first goheap call: options are read once. Keep a caller's. */
  setenv("GOHEAP_STOP_TIMEOUT_MS", "500", 0);
  setenv("GOHEAP_RETAIN", "1M", 0);
  const char *quick = getenv("GH_QUICK");
  if (quick && *quick && strcmp(quick, "0") != 0) nrounds = 20;
  if (argc > 1) nrounds = atoi(argv[1]);
  if (argc > 2) nworkers = atoi(argv[2]);
  if (nrounds < 2) nrounds = 2;
  if (nworkers < 2) nworkers = 2;
  if (nworkers > MAXW) nworkers = MAXW;
  double t0 = now_s();

  CHECK("GOGC was on", gh_set_gc_percent(-1) >= 0);
  gh_free(gh_malloc(1)); /* registers this thread: the count before the workers exist */
  uint64_t base_threads = stats().num_threads;
  sem_init(&done_sem, 0, 0);
  for (int w = 0; w < MAXW; w++) sem_init(&go_sem[w], 0, 0);
  pthread_t th[MAXW];
  worker ks[MAXW];
  for (int w = 0; w < nworkers; w++) {
    ks[w] = (worker){.w = w, .rng = 0x9e3779b97f4a7c15ull * (uint64_t)(w + 1)};
    if (pthread_create(&th[w], NULL, worker_main, &ks[w]) != 0) abort();
  }

  long cancelled = 0, skipped = 0, table_bad = 0, gc_count_bad = 0, fewer_threads = 0;
  uint64_t max_sys = 0, prev_fin_run = 0;
  long fin_run_backwards = 0;
  for (int round = 0; round < nrounds; round++) {
    for (int w = 0; w < nworkers; w++) sem_wait_intr(&done_sem);
    gh_stats before = stats();
    if (before.num_threads < base_threads + (uint64_t)nworkers) fewer_threads++;
    if (cancelled < 3) { /* after 3 cancelled collections the rest would only cost time */
      gh_collect();
      uint64_t n = stats().num_gc;
      if (n != before.num_gc + 1) {
        if (n == before.num_gc) cancelled++;
        else gc_count_bad++;
      }
    } else {
      skipped++;
    }
    gh_stats after = stats();
    if (after.finalizers_run < prev_fin_run) fin_run_backwards++;
    prev_fin_run = after.finalizers_run;
    if (after.heap_sys > max_sys) max_sys = after.heap_sys;
    table_bad += check_tables(round);
    for (int w = 0; w < nworkers; w++) sem_post(&go_sem[w]);
  }
  for (int w = 0; w < nworkers; w++) pthread_join(th[w], NULL);
  double t_rounds = now_s() - t0;

  CHECKF("workers' checks", atomic_load(&worker_bad) == 0, "%ld failures", atomic_load(&worker_bad));
  CHECKF("kept objects and blocks intact after every collection", table_bad == 0, "%ld damaged", table_bad);
  CHECKF("workers registered", fewer_threads == 0, "%ld rounds saw fewer than %d threads", fewer_threads,
         (int)base_threads + nworkers);
  CHECKF("no collection cancelled", cancelled == 0,
         "%ld of %ld collections cancelled (a registered thread did not stop within GOHEAP_STOP_TIMEOUT_MS), "
         "%ld more not tried", cancelled, nrounds - skipped, skipped);
  CHECKF("num_gc +1 per gh_collect", gc_count_bad == 0, "%ld rounds", gc_count_bad);
  if (cancelled) printf("gc_tsan: %ld of %ld collections cancelled, %ld not tried\n", cancelled, nrounds - skipped, skipped);
  CHECK("finalizers_run never decreases", fin_run_backwards == 0);
  CHECK("cross-thread frees happened", atomic_load(&ncross) > 0);

  /* The end: check, then drop everything, collect until the finalizers ran. */
  CHECKF("tables intact at the end", check_tables(nrounds) == 0, "damaged");
  for (int w = 0; w < nworkers; w++) {
    for (int i = 0; i < KEEP; i++)
      if (kept[w][i]) obj_drop(kept[w][i]), kept[w][i] = NULL;
    for (int i = 0; i < MKEEP; i++)
      if (mkept[w][i]) blk_free(mkept[w][i], "kept block at the end"), mkept[w][i] = NULL;
    for (int p = 0; p < 2; p++)
      for (int i = 0; i < XFER; i++)
        if (xfer[p][w][i]) blk_free(xfer[p][w][i], "handed block at the end"), xfer[p][w][i] = NULL;
  }
  long armed = atomic_load(&fins_armed);
  gh_stats s0 = stats();
  long end_cancelled = 0;
  for (int i = 0; i < 12 && atomic_load(&fin_ok) + atomic_load(&fin_bad) < armed * 9 / 10; i++) {
    uint64_t n0 = stats().num_gc;
    gh_collect();
    if (stats().num_gc == n0 && ++end_cancelled >= 2) break; /* no point waiting */
    sleep_ms(20);
  }
  for (int i = 0; i < 100 && stats().finalizers_run < (uint64_t)(atomic_load(&fin_ok) + atomic_load(&fin_bad)); i++)
    sleep_ms(10);
  gh_collect();
  gh_malloc_trim(0);
  gh_stats s1 = stats();

  CHECKF("finalizers: contents intact, only on dropped objects", atomic_load(&fin_bad) == 0, "%ld bad",
         atomic_load(&fin_bad));
  CHECKF("finalizers: each at most once", atomic_load(&fin_twice) == 0, "%ld twice", atomic_load(&fin_twice));
  CHECKF("finalizers: most dropped finalizable objects finalized", atomic_load(&fin_ok) >= armed / 2,
         "%ld of %ld", atomic_load(&fin_ok), armed);
  CHECKF("finalizers: no more than were armed", atomic_load(&fin_ok) <= armed, "%ld of %ld", atomic_load(&fin_ok),
         armed);
  CHECKF("heap shrank once everything was dropped", s1.heap_alloc < s0.heap_alloc / 2 || s1.heap_alloc < (2u << 20),
         "heap_alloc %llu -> %llu", (unsigned long long)s0.heap_alloc, (unsigned long long)s1.heap_alloc);
  CHECK("no bad calls", gh_error_count() == 0);

  printf("gc_tsan: %d workers x %d rounds in %.1f s (%.1f s total): %ld collected objects, %ld manual blocks "
         "(%ld freed by another thread), %llu collections, %ld cancelled (+%ld at the end), finalizers armed %ld "
         "removed %ld freed %ld ran %ld, heap_sys max %llu MiB\n",
         nworkers, nrounds, t_rounds, now_s() - t0, atomic_load(&nobj), atomic_load(&nblk), atomic_load(&ncross),
         (unsigned long long)s1.num_gc, cancelled, end_cancelled, armed, atomic_load(&fins_removed),
         atomic_load(&fins_freed), atomic_load(&fin_ok),
         (unsigned long long)(max_sys >> 20));
  return TEST_SUMMARY();
}
