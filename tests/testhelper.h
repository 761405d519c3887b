/*
 * testhelper.h -- the one tiny harness every C test binary uses.
 *
 *   CHECK("name", expr)      one named assertion; prints FAIL lines only
 *   CHECKF("name", expr, fmt, ...)  the same with a diagnostic on failure
 *   return TEST_SUMMARY();   prints "N passed, N failed" and gives the exit code
 *   th_rand()                deterministic pseudo-random numbers
 *
 * tests/run.sh adds up the last "N passed, N failed" line of every suite.
 */
#ifndef GH_TESTHELPER_H
#define GH_TESTHELPER_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int th_passed, th_failed;

#define CHECK(name, expr)                                                   \
  do {                                                                      \
    if (expr) {                                                             \
      th_passed++;                                                          \
    } else {                                                                \
      th_failed++;                                                          \
      fprintf(stderr, "FAIL %s (%s:%d): %s\n", name, __FILE__, __LINE__, #expr); \
    }                                                                       \
  } while (0)

#define CHECKF(name, expr, ...)                                             \
  do {                                                                      \
    if (expr) {                                                             \
      th_passed++;                                                          \
    } else {                                                                \
      th_failed++;                                                          \
      fprintf(stderr, "FAIL %s (%s:%d): %s: ", name, __FILE__, __LINE__, #expr); \
      fprintf(stderr, __VA_ARGS__);                                         \
      fputc('\n', stderr);                                                  \
    }                                                                       \
  } while (0)

/* A deterministic xorshift64 generator, so failures reproduce. */
static uint64_t th_rng = 88172645463325252ull;
static inline uint64_t th_rand(void) {
  th_rng ^= th_rng << 13;
  th_rng ^= th_rng >> 7;
  th_rng ^= th_rng << 17;
  return th_rng;
}

#define TEST_SUMMARY() \
  (printf("%d passed, %d failed\n", th_passed, th_failed), fflush(stdout), th_failed ? 1 : 0)

#endif
