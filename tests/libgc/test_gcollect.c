/*
 * tests/libgc/test_gcollect.c -- GC_gcollect with finalizers registered
 * returns as soon as the finalizers of what it found unreachable are queued.
 * It used to wait for a sentinel object's finalizer, which a stale pointer
 * on the stack often kept alive: then each call slept out its limit (about
 * 0.5 s; 150 forks of tests/libgc/stress_fork_finalizers.c took 30-90 s).
 * Now it waits on goheap's finalizer queue (gh_await_finalizers).
 *   - 10 GC_gcollect calls with 1,000 finalizable objects dropped before
 *     each take at most 20 times as long as 10 with no finalizer registered
 *     (plus 200 ms);
 *   - with GC_set_finalize_on_demand(1), when GC_gcollect returns, the
 *     dropped objects' finalizers are ready: GC_should_invoke_finalizers()
 *     is true and GC_invoke_finalizers() runs at least 900 of 1,000.
 * Prints PASS/FAIL lines, then "N passed, N failed".
 */
#define GC_THREADS 1
#include <gc.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

static int passed, failed;
static void check(const char *name, int ok, const char *detail) {
  if (ok) passed++, printf("PASS %s\n", name);
  else failed++, printf("FAIL %s: %s\n", name, detail);
}
static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}
static long finalized;
static void fin(void *obj, void *cd) {
  (void)obj, (void)cd;
  finalized++;
}
static __attribute__((noinline)) void drop_finalizable(int n) {
  for (int i = 0; i < n; i++) GC_REGISTER_FINALIZER(GC_MALLOC(32), fin, NULL, NULL, NULL);
}
static __attribute__((noinline)) void clear_stack(void) {
  volatile char buf[8192];
  memset((char *)buf, 0, sizeof buf);
}
static double ten_collections(int drop) {
  double t0 = now_ms();
  for (int i = 0; i < 10; i++) {
    if (drop) drop_finalizable(drop);
    clear_stack();
    GC_gcollect();
  }
  return now_ms() - t0;
}

int main(void) {
  GC_INIT();
  ten_collections(0); /* warm up */
  double ref = ten_collections(0);
  double ms = ten_collections(1000);
  char d[128];
  snprintf(d, sizeof d, "%.1f ms, %.1f ms with no finalizer", ms, ref);
  check("10 GC_gcollect with finalizers registered: no sleeping on a sentinel", ms < 20 * ref + 200, d);

  GC_invoke_finalizers();
  GC_set_finalize_on_demand(1);
  finalized = 0;
  drop_finalizable(1000);
  clear_stack();
  GC_gcollect();
  int should = GC_should_invoke_finalizers();
  int ran = GC_invoke_finalizers();
  snprintf(d, sizeof d, "should_invoke %d, %d run, %ld finalized", should, ran, finalized);
  check("on return, the dropped objects' finalizers are ready (finalize on demand)", should && ran >= 900, d);
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
