/*
 * thread-churn.c -- many short-lived threads.
 *
 * Stresses: per-thread state set-up and tear-down: the first malloc in a new
 * thread (cache creation), the flush of a dying thread's cache back to the
 * shared heap, and frees -- by the main thread -- of objects whose
 * allocating thread has already exited. The main thread starts `concurrent`
 * threads at a time, `threads` in all; each allocates `objs` objects of
 * 8..2048 bytes, frees half of them itself and hands the other half back;
 * the main thread joins it, checks and frees the rest.
 *
 * Idea: the thread-creation tests of allocator suites (mimalloc-bench's
 * "glibc-thread", the thread tests of jemalloc and tcmalloc) and of servers
 * that spawn a thread per request. Our own code.
 *
 * Parameters: thread-churn [threads=4000] [concurrent=4] [objs=500]
 * Result: the sum of the tags of every object freed (fixed by parameters).
 */
#include <pthread.h>

#include "bench.h"

static long nthreads, concurrent, objs;

typedef struct {
  long id;
  void **keep; /* objs/2 objects handed back to main */
  uint64_t sum;
} job_t;

static inline size_t osize(long id, long i) { return 8 + (size_t)(mix64(((uint64_t)id << 32) + (uint64_t)i) % 2041); }
static inline uint64_t otag(long id, long i) { return mix64(((uint64_t)id << 32) ^ (uint64_t)i ^ 0xc0ffee); }

static void *worker(void *arg) {
  job_t *j = (job_t *)arg;
  void **p = xmalloc(sizeof(void *) * (size_t)objs);
  long i, half = objs / 2;
  j->sum = 0;
  for (i = 0; i < objs; i++) {
    p[i] = xmalloc(osize(j->id, i));
    tag_fill(p[i], osize(j->id, i), otag(j->id, i));
  }
  for (i = half; i < objs; i++) {
    if (!tag_ok(p[i], osize(j->id, i), otag(j->id, i))) WRONG("thread %ld obj %ld", j->id, i);
    j->sum += otag(j->id, i);
    free(p[i]);
  }
  j->keep = p; /* p[0..half) still live */
  return NULL;
}

int main(int argc, char **argv) {
  pthread_t *th;
  job_t *jobs;
  uint64_t sum = 0;
  long started = 0, i, k;
  nthreads = arg_long(argc, argv, 1, 4000);
  concurrent = arg_long(argc, argv, 2, 4);
  objs = arg_long(argc, argv, 3, 500);
  if (concurrent < 1 || objs < 2) {
    fprintf(stderr, "bad parameters\n");
    return 2;
  }
  printf("thread-churn threads=%ld concurrent=%ld objs=%ld\n", nthreads, concurrent, objs);
  th = xmalloc(sizeof(pthread_t) * (size_t)concurrent);
  jobs = xmalloc(sizeof(job_t) * (size_t)concurrent);
  while (started < nthreads) {
    long n = nthreads - started < concurrent ? nthreads - started : concurrent;
    for (i = 0; i < n; i++) {
      jobs[i].id = started + i;
      if (pthread_create(&th[i], NULL, worker, &jobs[i]) != 0) {
        fprintf(stderr, "FAILED: pthread_create\n");
        return 4;
      }
    }
    for (i = 0; i < n; i++) {
      pthread_join(th[i], NULL);
      for (k = 0; k < objs / 2; k++) {
        if (!tag_ok(jobs[i].keep[k], osize(jobs[i].id, k), otag(jobs[i].id, k)))
          WRONG("main: thread %ld obj %ld", jobs[i].id, k);
        sum += otag(jobs[i].id, k);
        free(jobs[i].keep[k]);
      }
      free(jobs[i].keep);
      sum += jobs[i].sum;
    }
    started += n;
  }
  free(th);
  free(jobs);
  printf("result: %016llx\n", (unsigned long long)sum);
  return 0;
}
