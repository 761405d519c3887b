/*
 * cg-malloc-free.c -- instruction count of the small-object fast path.
 *
 * Run under `valgrind --tool=callgrind --collect-atstart=no`: only the
 * measured loop is counted (CALLGRIND_TOGGLE_COLLECT around it), and
 * bench/run.py runs it with two values of N and divides the difference of
 * the totals by the difference of the N's, so one-time costs (the thread's
 * first cache, the first span of each class) cancel out.
 *
 *   cg-malloc-free pair  N   N x { p = malloc(16..64); free(p); }
 *                            (the same object comes back every time: the
 *                            pure fast path of both calls)
 *   cg-malloc-free batch N   N/1000 x { 1000 mallocs of 16..64; 1000 frees }
 *                            (amortises cache refills and flushes too)
 *
 * Sizes cycle through 16, 32, 48, 64. Prints "result: <hex>" (a sum over
 * the objects' first bytes) so nothing is optimised away.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <valgrind/callgrind.h>

#define BATCH 1000

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "pair";
  long n = argc > 2 ? atol(argv[2]) : 100000, i, j;
  static void *ptrs[BATCH];
  uint64_t sum = 0;
  volatile size_t sizes[4] = {16, 32, 48, 64};
  if (strcmp(mode, "pair") == 0) {
    CALLGRIND_TOGGLE_COLLECT;
    for (i = 0; i < n; i++) {
      char *p = malloc(sizes[i & 3]);
      p[0] = (char)i;
      sum += (unsigned char)p[0];
      free(p);
    }
    CALLGRIND_TOGGLE_COLLECT;
  } else if (strcmp(mode, "batch") == 0) {
    CALLGRIND_TOGGLE_COLLECT;
    for (i = 0; i + BATCH <= n; i += BATCH) {
      for (j = 0; j < BATCH; j++) {
        char *p = malloc(sizes[j & 3]);
        p[0] = (char)j;
        ptrs[j] = p;
      }
      for (j = 0; j < BATCH; j++) {
        sum += *(unsigned char *)ptrs[j];
        free(ptrs[j]);
      }
    }
    CALLGRIND_TOGGLE_COLLECT;
  } else {
    fprintf(stderr, "usage: cg-malloc-free pair|batch N\n");
    return 2;
  }
  printf("result: %llx\n", (unsigned long long)sum);
  return 0;
}
