/*
 * testhelper.h -- the one tiny harness every C test binary uses.
 *
 *   CHECK("name", expr)      one named assertion; prints FAIL lines only
 *   CHECKF("name", expr, fmt, ...)  the same with a diagnostic on failure
 *   return TEST_SUMMARY();   prints "N passed, N failed" and gives the exit code
 *   th_rand()                deterministic pseudo-random numbers
 *   th_fork_and_wait(fn)     runs fn in a forked child; its exit status, 128+N for signal N
 *
 * tests/run.sh adds up the last "N passed, N failed" line of every suite.
 */
#ifndef GH_TESTHELPER_H
#define GH_TESTHELPER_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* Forks, runs child() in the child and exits with its result; returns the
 * child's exit status, 128+N if signal N killed it, -1 if fork or wait failed. */
static inline int th_fork_and_wait(int (*child)(void)) {
  pid_t pid = fork();
  if (pid == 0) _exit(child());
  int st = 0;
  if (pid < 0 || waitpid(pid, &st, 0) != pid) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#define TEST_SUMMARY() \
  (printf("%d passed, %d failed\n", th_passed, th_failed), fflush(stdout), th_failed ? 1 : 0)

#endif
