/*
 * test_fork.c -- fork() in a multi-threaded process: while worker threads
 * allocate, free and hand blocks to each other, the main thread forks many
 * times. Each child must find a working heap: the locks free, the spans of
 * the threads that did not survive the fork released (goheap's stats count
 * one thread), and allocation, cross-thread frees in the child's own new
 * thread, and content checks all fine. Also forks from a worker thread.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "goheap.h"
#include "testhelper.h"

enum { WORKERS = 3, SLOTS = 256, FORKS = 150 };
static _Atomic(char *) slots[SLOTS];
static atomic_int stop;

static void fill(char *p, size_t n, unsigned tag) { memset(p, (int)(tag & 0xff), n); }
static int check(const char *p, size_t n, unsigned tag) {
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)p[i] != (tag & 0xff)) return 0;
  return 1;
}

static void *worker(void *arg) {
  uint64_t x = (uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;
  while (!atomic_load(&stop)) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    size_t n = 8 + x % 3000;
    char *p = malloc(n);
    if (!p) abort();
    p[0] = (char)n;
    char *old = atomic_exchange(&slots[x % SLOTS], p);
    free(old); /* often another thread's block */
  }
  return NULL;
}

static void *child_thread(void *arg) {
  char **blocks = arg;
  for (int i = 0; i < 1000; i++) free(blocks[i]); /* cross-thread frees in the child */
  return NULL;
}

/* Runs in the child: returns the exit status. */
static int child_work(void) {
  gh_stats st = {.size = sizeof st};
  gh_read_stats(&st);
  if (st.num_threads > 1) return 3; /* dead threads' caches must be gone */
  char **blocks = malloc(1000 * sizeof *blocks);
  for (int i = 0; i < 1000; i++) {
    blocks[i] = malloc(16 + (size_t)i * 7);
    fill(blocks[i], 16 + (size_t)i * 7, (unsigned)i);
  }
  for (int i = 0; i < 1000; i++)
    if (!check(blocks[i], 16 + (size_t)i * 7, (unsigned)i)) return 4;
  pthread_t t;
  if (pthread_create(&t, NULL, child_thread, blocks) != 0) return 5;
  pthread_join(t, NULL);
  for (int i = 0; i < SLOTS; i++) { /* blocks inherited from the parent's threads */
    char *p = atomic_exchange(&slots[i], NULL);
    free(p);
  }
  void *big = malloc(10 << 20);
  if (!big) return 6;
  memset(big, 1, 10 << 20);
  free(big);
  free(blocks);
  return gh_error_count() == 0 ? 0 : 7;
}

static int fork_and_wait(void) { return th_fork_and_wait(child_work); }

static void *forking_worker(void *arg) {
  (void)arg;
  int bad = 0;
  for (int i = 0; i < 20; i++) bad += fork_and_wait() != 0;
  return (void *)(intptr_t)bad;
}

int main(void) {
  pthread_t w[WORKERS], fw;
  for (intptr_t i = 0; i < WORKERS; i++) pthread_create(&w[i], NULL, worker, (void *)i);
  int bad = 0, last = 0;
  for (int i = 0; i < FORKS; i++) {
    int rc = fork_and_wait();
    if (rc != 0) bad++, last = rc;
  }
  void *fbad;
  pthread_create(&fw, NULL, forking_worker, NULL);
  pthread_join(fw, &fbad);
  atomic_store(&stop, 1);
  for (int i = 0; i < WORKERS; i++) pthread_join(w[i], NULL);
  for (int i = 0; i < SLOTS; i++) free(atomic_exchange(&slots[i], NULL));
  CHECKF("150 children forked amid allocating threads all work", bad == 0, "%d failed, last status %d", bad, last);
  CHECKF("20 children forked from a worker thread all work", fbad == NULL, "%ld failed", (long)(intptr_t)fbad);
  CHECK("no bad call reported in the parent", gh_error_count() == 0);
  return TEST_SUMMARY();
}
