/*
 * test_scavenger.c -- freed memory goes back to the OS by itself
 * (src/mgcscavenge.c), without malloc_trim, in a process and in a fork child.
 *
 * With GOHEAP_RETAIN=4M and GOHEAP_RETAIN_PERCENT=0 (set here, then the test
 * re-executes itself so that goheap reads them at start), touched large
 * blocks are freed (64 MiB, and 6 MiB: less than twice the limit, which the
 * synchronous release on free used to keep for ever); the free pages kept
 * committed must come down to the retain limit and RSS must drop, with no
 * call into goheap meanwhile. With GOHEAP_SCAVENGER=0 the same memory
 * goes back from the freeing thread and no thread is added.
 * The scavenger works in 100 ms ticks: the wait allowed is 100 ticks, a
 * bound on a busy machine, not a speed measurement.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "goheap.h"
#include "testhelper.h"

#define MiB ((size_t)1024 * 1024)
#define NBLOCKS 32
#define BLOCK (2 * MiB)
#define KEEP (4 * MiB)
#define SLACK ((size_t)64 * 1024)

static size_t allowed = KEEP; /* dirty free bytes left at rest */

static size_t rss_bytes(void) {
  long pages = 0, resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return 0;
  if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
  fclose(f);
  return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t dirty_bytes(void) {
  gh_stats st = {.size = sizeof st};
  gh_read_stats(&st);
  return st.heap_idle - st.heap_released;
}

/* Frees n touched 2 MiB blocks; 0 if the dirty pages came down to the
 * retain limit and RSS dropped by all but 16 MiB of them. */
static int free_and_wait(const char *who, int n) {
  static void *blocks[NBLOCKS];
  for (int i = 0; i < n; i++) {
    blocks[i] = gh_malloc(BLOCK);
    if (!blocks[i]) return 1;
    memset(blocks[i], i + 1, BLOCK);
  }
  size_t rss_full = rss_bytes();
  for (int i = 0; i < n; i++) gh_free(blocks[i]);
  double t0 = now_s(), waited = 0;
  while (dirty_bytes() > allowed + SLACK && (waited = now_s() - t0) < 10.0) usleep(10000);
  size_t rss_after = rss_bytes();
  int ok_dirty = dirty_bytes() <= allowed + SLACK, ok_rss = rss_after + (size_t)n * BLOCK <= rss_full + 16 * MiB;
  printf("%s: dirty free pages down to %llu KiB after %.2f s; RSS %zu -> %zu MiB\n", who,
         (unsigned long long)(dirty_bytes() / 1024), waited, rss_full / MiB, rss_after / MiB);
  fflush(stdout);
  return !(ok_dirty && ok_rss);
}

static int child(void) { return free_and_wait("fork child", NBLOCKS); }

static int threads(void) {
  char line[256];
  int n = -1;
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "Threads:", 8) == 0) n = atoi(line + 8);
  fclose(f);
  return n;
}

/* GOHEAP_SCAVENGER=0 (this binary run again): freed memory still goes back,
 * from the freeing thread, down to twice the limit, and the process stays
 * single-threaded. */
static int scavenger_off(void) {
  allowed = 2 * KEEP; /* the freeing thread leaves up to twice the limit (its 100 ms grace) */
  int bad = free_and_wait("GOHEAP_SCAVENGER=0", NBLOCKS);
  int n = threads();
  printf("GOHEAP_SCAVENGER=0: %d thread(s)\n", n);
  return bad || n != 1;
}

static int run_off(char **argv) {
  pid_t pid = fork();
  if (pid == 0) {
    setenv("GH_SCAVENGER_TEST_CHILD", "off", 1);
    setenv("GOHEAP_SCAVENGER", "0", 1);
    execv("/proc/self/exe", argv);
    _exit(127);
  }
  int st = 0;
  if (pid < 0 || waitpid(pid, &st, 0) != pid) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

int main(int argc, char **argv) {
  (void)argc;
  if (!getenv("GH_SCAVENGER_TEST_CHILD")) { /* goheap reads its options at start: run again with them */
    setenv("GH_SCAVENGER_TEST_CHILD", "1", 1);
    setenv("GOHEAP_RETAIN", "4M", 1);
    setenv("GOHEAP_RETAIN_PERCENT", "0", 1);
    execv("/proc/self/exe", argv);
    perror("execv");
    return 1;
  }
  if (strcmp(getenv("GH_SCAVENGER_TEST_CHILD"), "off") == 0) return scavenger_off();
  CHECK("64 MiB freed returns to the OS without malloc_trim", free_and_wait("64 MiB", NBLOCKS) == 0);
  CHECK("... and again (the scavenger slept, then woke)", free_and_wait("64 MiB again", NBLOCKS) == 0);
  CHECK("6 MiB freed (less than twice the retain limit): an idle program keeps no more than the limit",
        free_and_wait("6 MiB", 3) == 0);
  CHECK("... and in a fork child (its scavenger starts again)", th_fork_and_wait(child) == 0);
  CHECK("GOHEAP_SCAVENGER=0: released by the freeing thread, no extra thread", run_off(argv) == 0);
  /* churn below a tick is not released: allocate and free one 16 MiB block
   * many times; the pages it reuses are never returned and re-faulted, so
   * heap_released does not climb by more than the retained excess. */
  gh_stats a = {.size = sizeof a}, b = {.size = sizeof b};
  gh_read_stats(&a);
  int got = 1;
  for (int i = 0; i < 2000 && got; i++) {
    char *p = gh_malloc(16 * MiB);
    got = p != NULL;
    if (p) p[(size_t)i * 4096 % (16 * MiB)] = 1;
    gh_free(p);
  }
  CHECK("2000 allocations of 16 MiB, each freed", got);
  gh_read_stats(&b);
  CHECKF("a block freed and taken again is reused, not re-mapped (heap_sys steady)", b.heap_sys <= a.heap_sys + 16 * MiB,
         "heap_sys %llu -> %llu", (unsigned long long)a.heap_sys, (unsigned long long)b.heap_sys);
  return TEST_SUMMARY();
}
