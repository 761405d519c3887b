/*
 * cg-remote-free.c -- instruction count of a cross-thread free.
 *
 * The main thread allocates N objects of 16..64 bytes and stays alive; a
 * second thread (already started, so its creation is not counted) frees
 * them all. Only that free loop is counted (CALLGRIND_TOGGLE_COLLECT around
 * it; run under `valgrind --tool=callgrind --collect-atstart=no`).
 * bench/run.py runs two values of N and divides the difference of the
 * totals by the difference of the N's, so the freeing thread's one-time
 * set-up cancels out.
 *
 *   cg-remote-free N
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <valgrind/callgrind.h>

static void **objs;
static long n;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int ready;
static uint64_t sum;

static void *freer(void *arg) {
  long i;
  (void)arg;
  pthread_mutex_lock(&mu);
  while (!ready) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  CALLGRIND_TOGGLE_COLLECT;
  for (i = 0; i < n; i++) {
    sum += *(unsigned char *)objs[i];
    free(objs[i]);
  }
  CALLGRIND_TOGGLE_COLLECT;
  return NULL;
}

int main(int argc, char **argv) {
  pthread_t t;
  long i;
  n = argc > 1 ? atol(argv[1]) : 100000;
  objs = malloc(sizeof(void *) * (size_t)n);
  if (!objs) return 4;
  pthread_create(&t, NULL, freer, NULL);
  for (i = 0; i < n; i++) {
    char *p = malloc(16 + 16 * (size_t)(i & 3));
    if (!p) return 4;
    p[0] = (char)i;
    objs[i] = p;
  }
  pthread_mutex_lock(&mu);
  ready = 1;
  pthread_cond_signal(&cv);
  pthread_mutex_unlock(&mu);
  pthread_join(t, NULL);
  free(objs);
  printf("result: %llx\n", (unsigned long long)sum);
  return 0;
}
