/*
 * xmalloc-test.c -- producer/consumer frees.
 *
 * Stresses: the remote-free path in bulk. Producer threads only allocate,
 * consumer threads only free, so every single free is of an object another
 * (live, busy) thread allocated, and memory must flow back from the
 * consumers' side to the producers' caches.
 *
 * Idea: xmalloc-test by Lever & Boreham ("malloc() Performance in a
 * Multithreaded Linux Environment", USENIX 2000), also in mimalloc-bench.
 * Producers allocate batches of `batch` objects of 8..512 bytes and push each
 * batch on a bounded shared queue; consumers pop batches, check and free
 * every object. Our own code, not the original's.
 *
 * Parameters: xmalloc-test [producers=1] [consumers=1] [objects=4000000]
 *                          [batch=64] [queue=256]
 * Result: the sum of the tags of all objects (independent of timing).
 */
#include <pthread.h>
#include <stdatomic.h>

#include "bench.h"

typedef struct batch {
  struct batch *next;
  int n;
  void *obj[];
} batch_t;

static long producers, consumers, objects, batchsz, queuemax;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t notempty = PTHREAD_COND_INITIALIZER, notfull = PTHREAD_COND_INITIALIZER;
static batch_t *qhead, *qtail;
static long qlen, producers_left;
static _Atomic uint64_t total_sum;
static _Atomic long total_freed;

static inline size_t obj_size(uint64_t g) { return 8 + (size_t)(mix64(g) % 505); }
static inline uint64_t obj_tag(uint64_t g) { return mix64(g ^ 0x5bd1e995ULL); }

static void *producer(void *arg) {
  long id = (long)(intptr_t)arg;
  long per = objects / producers + (id < objects % producers ? 1 : 0);
  uint64_t base = (uint64_t)id << 40;
  long made = 0;
  while (made < per) {
    int n = (int)(per - made < batchsz ? per - made : batchsz), i;
    batch_t *b = xmalloc(sizeof(batch_t) + sizeof(void *) * (size_t)n);
    b->next = NULL;
    b->n = n;
    for (i = 0; i < n; i++) {
      uint64_t g = base + (uint64_t)(made + i);
      size_t sz = obj_size(g);
      uint64_t *o = xmalloc(sz);
      o[0] = g; /* the object's id, so the consumer can recompute size/tag */
      if (sz >= 16) memcpy((char *)o + sz - 8, &(uint64_t){obj_tag(g)}, 8);
      b->obj[i] = o;
    }
    made += n;
    pthread_mutex_lock(&mu);
    while (qlen >= queuemax) pthread_cond_wait(&notfull, &mu);
    if (qtail)
      qtail->next = b;
    else
      qhead = b;
    qtail = b;
    qlen++;
    pthread_cond_signal(&notempty);
    pthread_mutex_unlock(&mu);
  }
  pthread_mutex_lock(&mu);
  producers_left--;
  pthread_cond_broadcast(&notempty);
  pthread_mutex_unlock(&mu);
  return NULL;
}

static void *consumer(void *arg) {
  uint64_t sum = 0;
  long freed = 0;
  (void)arg;
  for (;;) {
    batch_t *b;
    int i;
    pthread_mutex_lock(&mu);
    while (!qhead && producers_left > 0) pthread_cond_wait(&notempty, &mu);
    b = qhead;
    if (!b) {
      pthread_mutex_unlock(&mu);
      break;
    }
    qhead = b->next;
    if (!qhead) qtail = NULL;
    qlen--;
    pthread_cond_signal(&notfull);
    pthread_mutex_unlock(&mu);
    for (i = 0; i < b->n; i++) {
      uint64_t *o = b->obj[i];
      uint64_t g = o[0], t;
      size_t sz = obj_size(g);
      if (sz >= 16) {
        memcpy(&t, (char *)o + sz - 8, 8);
        if (t != obj_tag(g)) WRONG("object %llx: tail tag changed", (unsigned long long)g);
      }
      sum += obj_tag(g);
      freed++;
      free(o);
    }
    free(b);
  }
  atomic_fetch_add(&total_sum, sum);
  atomic_fetch_add(&total_freed, freed);
  return NULL;
}

int main(int argc, char **argv) {
  pthread_t *th;
  long i, p;
  uint64_t expect = 0;
  producers = arg_long(argc, argv, 1, 1);
  consumers = arg_long(argc, argv, 2, 1);
  objects = arg_long(argc, argv, 3, 4000000);
  batchsz = arg_long(argc, argv, 4, 64);
  queuemax = arg_long(argc, argv, 5, 256);
  if (producers < 1 || consumers < 1 || batchsz < 1 || queuemax < 1) {
    fprintf(stderr, "bad parameters\n");
    return 2;
  }
  printf("xmalloc-test producers=%ld consumers=%ld objects=%ld batch=%ld queue=%ld\n", producers,
         consumers, objects, batchsz, queuemax);
  producers_left = producers;
  th = xmalloc(sizeof(pthread_t) * (size_t)(producers + consumers));
  for (i = 0; i < consumers; i++) pthread_create(&th[i], NULL, consumer, NULL);
  for (i = 0; i < producers; i++)
    pthread_create(&th[consumers + i], NULL, producer, (void *)(intptr_t)i);
  for (i = 0; i < producers + consumers; i++) pthread_join(th[i], NULL);
  free(th);
  for (p = 0; p < producers; p++) {
    long per = objects / producers + (p < objects % producers ? 1 : 0);
    for (i = 0; i < per; i++) expect += obj_tag(((uint64_t)p << 40) + (uint64_t)i);
  }
  if (atomic_load(&total_freed) != objects)
    WRONG("freed %ld objects, expected %ld", atomic_load(&total_freed), objects);
  if (atomic_load(&total_sum) != expect) WRONG("tag sum mismatch");
  printf("result: %016llx\n", (unsigned long long)expect);
  return 0;
}
