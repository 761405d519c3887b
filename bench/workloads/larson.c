/*
 * larson.c -- a server-like mix with cross-thread frees.
 *
 * Stresses: the per-thread caches under a steady random replace pattern, and
 * frees of objects allocated by a thread that has since exited (every block
 * a generation inherits was allocated by its predecessor, so each of its
 * frees is a cross-thread free into a cache/span owned by a dead thread).
 *
 * Idea: Larson & Krishnan, "Memory Allocation for Long-Running Server
 * Applications" (ISMM 1998), the "larson" benchmark also used by Hoard,
 * mimalloc-bench and others. Like the original, each of `threads` lanes holds
 * an array of `slots` blocks; a thread of the lane does `ops` rounds of
 * "pick a random slot, free its block, allocate a new one of a random size
 * in [minsize, maxsize]", then starts a new thread that inherits the array
 * and exits. The main thread allocates the first arrays and frees what is
 * left at the end. Our own code, not the original's.
 *
 * Parameters: larson [threads=2] [generations=20] [ops=100000] [slots=1000]
 *                    [minsize=8] [maxsize=1000]
 * Result: the sum of the tags of every block freed (independent of timing).
 */
#include <pthread.h>
#include <stdatomic.h>

#include "bench.h"

typedef struct lane {
  int id;
  long gens_left, ops, slots, minsize, maxsize;
  void **blk;
  size_t *sz;
  uint64_t *tag;
  uint64_t counter;
  uint64_t sum;
  rng_t rng;
} lane_t;

static pthread_mutex_t done_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;
static int lanes_done;

static void *lane_thread(void *arg) {
  lane_t *l = (lane_t *)arg;
  long i;
  for (i = 0; i < l->ops; i++) {
    long k = (long)(rng_next(&l->rng) % (uint64_t)l->slots);
    if (!tag_ok(l->blk[k], l->sz[k], l->tag[k]))
      WRONG("lane %d slot %ld: block content changed", l->id, k);
    l->sum += l->tag[k];
    free(l->blk[k]);
    l->sz[k] = rng_range(&l->rng, (uint64_t)l->minsize, (uint64_t)l->maxsize);
    l->tag[k] = mix64(((uint64_t)l->id << 48) ^ ++l->counter);
    l->blk[k] = xmalloc(l->sz[k]);
    tag_fill(l->blk[k], l->sz[k], l->tag[k]);
  }
  if (--l->gens_left > 0) {
    pthread_t t;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &at, lane_thread, l) != 0) {
      fprintf(stderr, "FAILED: pthread_create\n");
      exit(4);
    }
    pthread_attr_destroy(&at);
  } else {
    pthread_mutex_lock(&done_mu);
    lanes_done++;
    pthread_cond_signal(&done_cv);
    pthread_mutex_unlock(&done_mu);
  }
  return NULL;
}

int main(int argc, char **argv) {
  long threads = arg_long(argc, argv, 1, 2);
  long gens = arg_long(argc, argv, 2, 20);
  long ops = arg_long(argc, argv, 3, 100000);
  long slots = arg_long(argc, argv, 4, 1000);
  long minsize = arg_long(argc, argv, 5, 8);
  long maxsize = arg_long(argc, argv, 6, 1000);
  long t, k;
  uint64_t total = 0;
  lane_t *lanes;

  if (threads < 1 || gens < 1 || slots < 1 || minsize < 1 || maxsize < minsize) {
    fprintf(stderr, "bad parameters\n");
    return 2;
  }
  printf("larson threads=%ld generations=%ld ops=%ld slots=%ld size=%ld..%ld\n", threads, gens,
         ops, slots, minsize, maxsize);
  lanes = xmalloc(sizeof(lane_t) * (size_t)threads);
  for (t = 0; t < threads; t++) {
    lane_t *l = &lanes[t];
    memset(l, 0, sizeof *l);
    l->id = (int)t;
    l->gens_left = gens;
    l->ops = ops;
    l->slots = slots;
    l->minsize = minsize;
    l->maxsize = maxsize;
    l->rng.s = 0x1234 + (uint64_t)t;
    l->blk = xmalloc(sizeof(void *) * (size_t)slots);
    l->sz = xmalloc(sizeof(size_t) * (size_t)slots);
    l->tag = xmalloc(sizeof(uint64_t) * (size_t)slots);
    for (k = 0; k < slots; k++) {
      l->sz[k] = rng_range(&l->rng, (uint64_t)minsize, (uint64_t)maxsize);
      l->tag[k] = mix64(((uint64_t)t << 48) ^ ++l->counter);
      l->blk[k] = xmalloc(l->sz[k]);
      tag_fill(l->blk[k], l->sz[k], l->tag[k]);
    }
  }
  for (t = 0; t < threads; t++) {
    pthread_t th;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &at, lane_thread, &lanes[t]) != 0) {
      fprintf(stderr, "FAILED: pthread_create\n");
      return 4;
    }
    pthread_attr_destroy(&at);
  }
  pthread_mutex_lock(&done_mu);
  while (lanes_done < threads) pthread_cond_wait(&done_cv, &done_mu);
  pthread_mutex_unlock(&done_mu);

  for (t = 0; t < threads; t++) {
    lane_t *l = &lanes[t];
    for (k = 0; k < slots; k++) {
      if (!tag_ok(l->blk[k], l->sz[k], l->tag[k])) WRONG("final check lane %ld slot %ld", t, k);
      l->sum += l->tag[k];
      free(l->blk[k]);
    }
    free(l->blk);
    free(l->sz);
    free(l->tag);
    total += l->sum;
  }
  free(lanes);
  printf("result: %016llx\n", (unsigned long long)total);
  return 0;
}
