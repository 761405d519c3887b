/*
 * test_overflow.c -- the mark stack cannot overflow silently.
 *
 * The program re-executes itself with GOHEAP_MARK_BUFFERS=2 (two 4 KiB work
 * buffers: at most 510 queued objects), so marking a heap whose objects fan
 * out by thousands must run out of mark stack; mgcmark.c then rescans marked
 * objects until nothing overflows. Asserts that every reachable object
 * survives with its contents (a lost push would free a live object: the
 * churn afterwards overwrites freed memory) and that dropped objects are
 * still reclaimed.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gctest.h"

enum { FANOUT = 4000, LEAVES = 8, LEAF = 48 };

typedef struct mid {
  void *leaf[LEAVES];
  uint64_t tag;
} mid;

static mid **volatile wide; /* FANOUT mids, each with LEAVES leaves */

GT_NOINLINE static void build(void) {
  mid **w = gh_alloc(FANOUT * sizeof *w);
  for (int i = 0; i < FANOUT; i++) {
    mid *m = gh_alloc(sizeof *m);
    m->tag = (uint64_t)i;
    for (int k = 0; k < LEAVES; k++) {
      char *l = gh_alloc(LEAF);
      gt_fill(l, LEAF, (uint64_t)i * LEAVES + (uint64_t)k);
      m->leaf[k] = l;
    }
    w[i] = m;
  }
  wide = w;
}

GT_NOINLINE static long check(int upto) {
  long bad = 0;
  for (int i = 0; i < upto; i++) {
    mid *m = wide[i];
    if (gh_base(m) != m || m->tag != (uint64_t)i) {
      bad++;
      continue;
    }
    for (int k = 0; k < LEAVES; k++)
      bad += !(gh_base(m->leaf[k]) == m->leaf[k] && gt_check(m->leaf[k], LEAF, (uint64_t)i * LEAVES + (uint64_t)k));
  }
  return bad;
}

int main(int argc, char **argv) {
  if (!getenv("GT_OVERFLOW_CHILD")) { /* the options are read once, at start-up */
    setenv("GT_OVERFLOW_CHILD", "1", 1);
    setenv("GOHEAP_MARK_BUFFERS", "2", 1);
    execv("/proc/self/exe", argv);
    perror("execv");
    return 1;
  }
  (void)argc;
  alarm(60);
  build();
  for (int r = 0; r < 5; r++) {
    gt_clear_stack();
    gh_collect();
    gt_churn(LEAF, 20000, 0);
    gt_churn(sizeof(mid), 5000, 0);
  }
  long bad = check(FANOUT);
  CHECKF("every object of a 4000-wide, 36000-object graph survives 5 collections with 2 mark buffers", bad == 0,
         "%ld damaged", bad);
  gh_stats before = gt_stats();
  for (int i = FANOUT / 2; i < FANOUT; i++) wide[i] = NULL; /* drop half */
  gt_collect_n(3);
  gh_stats after = gt_stats();
  CHECKF("the dropped half is reclaimed", after.heap_marked + (uint64_t)(FANOUT / 4) * (LEAVES * LEAF) < before.heap_marked,
         "marked %llu -> %llu bytes", (unsigned long long)before.heap_marked, (unsigned long long)after.heap_marked);
  bad = check(FANOUT / 2);
  CHECKF("the kept half is intact", bad == 0, "%ld damaged", bad);
  printf("test_overflow: %llu collections, marked %llu -> %llu bytes\n", (unsigned long long)after.num_gc,
         (unsigned long long)before.heap_marked, (unsigned long long)after.heap_marked);
  return TEST_SUMMARY();
}
