/*
 * test_os.c -- the platform layer's pieces that the heap trusts blindly
 * (src/os/): the futex mutex gives mutual exclusion under contention (an
 * unprotected counter comes out exact) and wakes sleepers; reserved memory
 * reads as zero once committed; decommitted memory reads as zero again.
 */
#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "internal.h"
#include "testhelper.h"

enum { THREADS = 4, ROUNDS = 200000 };
static gh_mutex lock = GH_MUTEX_INIT(GH_RANK_PERSISTENT);
static uint64_t counter;

static void *bump(void *arg) {
  (void)arg;
  for (int i = 0; i < ROUNDS; i++) {
    gh_mutex_lock(&lock);
    uint64_t v = counter; /* a plain read-modify-write: only the lock protects it */
    if (i % 1000 == 0) sched_yield(); /* holders that sleep force waiters onto the futex */
    counter = v + 1;
    gh_mutex_unlock(&lock);
  }
  return NULL;
}

int main(void) {
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, bump, NULL);
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
  CHECKF("the mutex excludes: 4 threads x 200000 increments", counter == (uint64_t)THREADS * ROUNDS, "%llu",
         (unsigned long long)counter);
  CHECK("the mutex is free afterwards", lock.state == 0);

  size_t n = 4u << 20;
  char *p = gh_os_reserve(NULL, n);
  int ok = p && gh_os_commit(p, n) == 0;
  for (size_t i = 0; ok && i < n; i += 4096) ok = p[i] == 0;
  CHECK("committed memory reads as zero", ok);
  if (p) memset(p, 0x5a, n);
  ok = p && gh_os_decommit(p, n) == 0;
  for (size_t i = 0; ok && i < n; i += 4096) ok = p[i] == 0;
  CHECK("decommitted memory reads as zero again", ok);
  if (p) gh_os_release(p, n);
  char *q = gh_os_reserve_aligned(n, 64u << 20);
  CHECK("an aligned reservation is aligned", q && (uintptr_t)q % (64u << 20) == 0);
  if (q) gh_os_release(q, n);
  return TEST_SUMMARY();
}
