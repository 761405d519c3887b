/*
 * test_fork.c -- fork() during and between collections.
 *
 * A collector thread calls gh_collect in a loop and a mutator thread
 * allocates and drops linked nodes, while the main thread forks 50 times at
 * random moments (and a second thread alternates gh_collect and fork 10
 * times). Each child (a 10 s alarm turns a hang into a failure):
 *   3  finds the parent's global list of collected nodes intact,
 *   4  ... still intact after its own gh_collect,
 *   5  allocates a list of 5000 collected nodes, collects 3 times with
 *      garbage in between, and finds it intact,
 *   6  gets automatic collections from allocating 32 MB of garbage,
 *   7  gets finalizers run (>= 45 of 50 dropped objects) within 3 s: the
 *      finalizer thread works in the child,
 *   8  can start a thread that allocates and collects,
 *   9  reports no bad call;
 * and exits 0; otherwise with the number above (or a signal: 128+N).
 *
 * Then a fork while the finalizer thread runs a finalizer (which waits for
 * the parent's go-ahead): in the child that finalizer's object stays
 * allocated and intact across collections (the finalizer may be half done
 * there, so it is neither run again nor freed), and its slot is not handed
 * out again; in the parent the finalizer finishes. Exit codes 20-23.
 */
#define _GNU_SOURCE
#include <sys/wait.h>

#include "gctest.h"

typedef struct node {
  struct node *next;
  unsigned char *payload;
  uint64_t sum;
  uint32_t len;
  unsigned char data[];
} node;

static uint64_t sum_of(const node *n) {
  uint64_t h = 0xcbf29ce484222325ull ^ n->len;
  for (uint32_t i = 0; i < n->len; i++) h = (h ^ n->data[i]) * 0x100000001b3ull;
  for (int i = 0; i < 24; i++) h = (h ^ n->payload[i]) * 0x100000001b3ull;
  return h;
}
static node *node_new(uint64_t r) {
  uint32_t len = (uint32_t)(r % 300);
  node *n = gh_alloc(sizeof(node) + len);
  n->payload = gh_alloc_noscan(24);
  n->len = len;
  for (uint32_t i = 0; i < len; i++) n->data[i] = (unsigned char)(r >> (i % 40)) ^ (unsigned char)i;
  for (int i = 0; i < 24; i++) n->payload[i] = (unsigned char)(r >> i) + (unsigned char)i;
  n->sum = sum_of(n);
  return n;
}
GT_NOINLINE static node *list_new(int n, uint64_t seed) {
  node *head = NULL;
  for (int i = 0; i < n; i++) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    node *x = node_new(seed >> 7);
    x->next = head;
    head = x;
  }
  return head;
}
static int list_ok(const node *n, int expect) {
  int c = 0;
  for (; n; n = n->next, c++)
    if (gh_base((void *)n) != n || sum_of(n) != n->sum) return 0;
  return c == expect;
}

static node *volatile parent_list;
static atomic_int stop;

GT_NOINLINE static void garbage(size_t bytes) {
  for (size_t d = 0; d < bytes; d += 1024) {
    char *p = gh_alloc(1000);
    p[0] = 1;
  }
  gt_clear_regs();
}

static atomic_long child_fin;
GT_NOINLINE static void plant_finalizable(int n) {
  for (int i = 0; i < n; i++) gh_set_finalizer(gh_alloc(64), gt_fin_count, &child_fin);
}

static void *child_thread(void *arg) {
  node *l = list_new(500, 99);
  gh_collect();
  garbage(GT_MiB);
  return (void *)(intptr_t)list_ok(l, 500);
}

static int child_work(void) {
  alarm(10);
  if (!list_ok(parent_list, 2000)) return 3;
  gh_collect();
  if (!list_ok(parent_list, 2000)) return 4;
  node *volatile mine = list_new(5000, 1234);
  for (int i = 0; i < 3; i++) {
    garbage(2 * GT_MiB);
    gt_clear_stack();
    gh_collect();
  }
  if (!list_ok(mine, 5000) || !list_ok(parent_list, 2000)) return 5;
  gh_stats s0 = gt_stats();
  garbage(32 * GT_MiB);
  gh_stats s1 = gt_stats();
  if (s1.num_gc - s1.num_forced_gc <= s0.num_gc - s0.num_forced_gc) return 6;
  plant_finalizable(50);
  if (!gt_wait_count(&child_fin, 45, 3000)) return 7;
  pthread_t t;
  void *ok = NULL;
  if (pthread_create(&t, NULL, child_thread, NULL) != 0 || pthread_join(t, &ok) != 0 || !ok) return 8;
  if (!list_ok(mine, 5000) || !list_ok(parent_list, 2000)) return 5;
  return gh_error_count() == 0 ? 0 : 9;
}

static int fork_and_wait(void) { return th_fork_and_wait(child_work); }

static void *collector(void *arg) {
  (void)arg;
  uint64_t r = 1;
  while (!atomic_load(&stop)) {
    gh_collect();
    r = r * 6364136223846793005ull + 1;
    if ((r >> 60) & 1) gt_sleep_ms(1);
  }
  return NULL;
}
static atomic_long mut_bad;
static void *mutator(void *arg) {
  (void)arg;
  uint64_t seed = 77;
  while (!atomic_load(&stop)) {
    node *l = list_new(300, seed++);
    garbage(256 * GT_KiB);
    if (!list_ok(l, 300)) atomic_fetch_add(&mut_bad, 1);
  }
  return NULL;
}
static int fail_codes[256];
static void *forking_collector(void *arg) {
  (void)arg;
  int bad = 0;
  for (int i = 0; i < 10; i++) {
    gh_collect();
    int rc = fork_and_wait();
    if (rc != 0) bad++, fail_codes[rc & 255]++;
  }
  return (void *)(intptr_t)bad;
}

/* ---- a fork while a finalizer runs ---------------------------------------------- */

#define RUNNING_SIZE 96
static atomic_int running_entered, running_release;
static atomic_long running_runs;
static uintptr_t running_obj; /* hidden: the object whose finalizer runs at the fork */

static void slow_finalizer(void *obj, void *arg) {
  (void)obj;
  atomic_fetch_add((atomic_long *)arg, 1);
  atomic_store(&running_entered, 1);
  while (!atomic_load(&running_release)) gt_sleep_ms(1);
}

GT_NOINLINE static void plant_running(void) {
  void *p = gh_alloc(RUNNING_SIZE);
  gt_fill(p, RUNNING_SIZE, 7);
  running_obj = gt_hide(p);
  gh_set_finalizer(p, slow_finalizer, &running_runs);
  gt_clear_regs();
}

GT_NOINLINE static int no_slot_reuse(void *o) {
  for (int i = 0; i < 20000; i++)
    if (gh_alloc(RUNNING_SIZE) == o) return 0;
  gt_clear_regs();
  return 1;
}

static int child_of_running(void) {
  alarm(10);
  for (int i = 0; i < 3; i++) {
    gt_clear_stack();
    gh_collect();
  }
  void *o = gt_reveal(running_obj);
  if (gh_base(o) != o) return 20;
  if (!gt_check(o, RUNNING_SIZE, 7)) return 21;
  if (!no_slot_reuse(o)) return 22;
  gt_sleep_ms(20);
  return atomic_load(&running_runs) == 1 && gh_error_count() == 0 ? 0 : 23;
}

static void fork_during_finalizer(void) {
  plant_running();
  uint64_t end = gt_now_ms() + 5000;
  while (!atomic_load(&running_entered) && gt_now_ms() < end) {
    gt_clear_stack();
    gh_collect();
    gt_sleep_ms(2);
  }
  CHECK("the slow finalizer started", atomic_load(&running_entered));
  int rc = th_fork_and_wait(child_of_running);
  CHECKF("a child forked while a finalizer runs keeps that object allocated and intact", rc == 0,
         "child exit %d (20: freed, 21: changed, 22: slot reused, 23: ran again or bad call)", rc);
  atomic_store(&running_release, 1);
  CHECK("the parent's finalizer finishes", gt_wait_count(&running_runs, 1, 3000));
}

int main(void) {
  alarm(60);
  gh_set_error_mode(GH_ERROR_REPORT);
  uint64_t t0 = gt_now_ms();
  parent_list = list_new(2000, 42);
  pthread_t col = gt_thread(collector, NULL, "gt-collector");
  pthread_t mut = gt_thread(mutator, NULL, "gt-mutator");
  uint64_t g0 = gt_num_gc();
  int bad = 0;
  uint64_t r = 5;
  for (int i = 0; i < 50; i++) {
    r = r * 6364136223846793005ull + 1;
    if ((r >> 61) & 1) gt_sleep_ms(1 + (unsigned)(r >> 40) % 3);
    int rc = fork_and_wait();
    if (rc != 0) bad++, fail_codes[rc & 255]++;
  }
  void *fbad = NULL;
  pthread_t fc = gt_thread(forking_collector, NULL, "gt-forker");
  pthread_join(fc, &fbad);
  atomic_store(&stop, 1);
  pthread_join(col, NULL);
  pthread_join(mut, NULL);
  if (bad || fbad) {
    fprintf(stderr, "child exit statuses:");
    for (int i = 0; i < 256; i++)
      if (fail_codes[i]) fprintf(stderr, " %d x%d", i, fail_codes[i]);
    fprintf(stderr, " (3-9: see the top of test_fork.c; 128+N: signal N, 142 = the 10 s alarm)\n");
  }
  CHECKF("50 children forked amid collections all work", bad == 0, "%d failed", bad);
  CHECKF("10 children forked from a collecting thread all work", fbad == NULL, "%ld failed", (long)(intptr_t)fbad);
  CHECK("the parent's list is intact", list_ok(parent_list, 2000));
  CHECK("the parent's mutator saw no damage", atomic_load(&mut_bad) == 0);
  CHECK("the parent collected meanwhile", gt_num_gc() - g0 >= 10);
  fork_during_finalizer();
  CHECK("no bad call reported in the parent", gh_error_count() == 0);
  printf("test_fork: %llu collections, %llu ms\n", (unsigned long long)(gt_num_gc() - g0),
         (unsigned long long)(gt_now_ms() - t0));
  return TEST_SUMMARY();
}
