/*
 * mapheap.c -- a heap of known shape, dumped with gh_dump_heap, for
 * tests/suites/goheap_cmd.sh (which checks the dump's spans and draws it
 * with `goheap map`).
 *
 *   mapheap FILE            dumps the heap to FILE.base, builds the heap below,
 *                           and dumps it again to FILE (and to FILE.mid once
 *                           the 48-byte blocks are made)
 *   mapheap --blocked FILE  a registered thread blocks the stop signal: the
 *                           dump must fail with EAGAIN, and work once it is gone
 *   mapheap --busy FILE     dumps 10 times, to FILE.0 ... FILE.9, while 3 threads
 *                           allocate and free (malloc and gh_alloc, small and
 *                           large) as fast as they can
 *
 * The heap, all of it still reachable when dumped (from `kept`, a root):
 *   1000 malloc(48)              (1200 allocated, every 6th freed: in FILE.mid
 *                                 some frees are not swept yet, and must not
 *                                 count as allocated)
 *   100 malloc(1 MiB)            large manual spans of 128 pages (120
 *                                 allocated, every 6th freed)
 *   500 gh_alloc(64)             collected, scanned
 *   300 gh_alloc_noscan(256)     collected, not scanned
 * and 1000 gh_alloc(80) left unreachable before a gh_collect, so the 80-byte
 * class holds (almost) nothing. The C library allocates a few blocks of its
 * own (two of 48 bytes, with glibc), so the suite compares with FILE.base.
 * Exit status 0 when the dump calls behaved, 1 otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <goheap.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SMALL_MADE 1200
#define LARGE_MADE 120
#define SCAN_KEPT 500
#define NOSCAN_KEPT 300
#define GARBAGE 1000

/* Not static: stores to a static array that is never read could be dropped,
 * and the collected objects with them. */
void *kept[SMALL_MADE + LARGE_MADE + SCAN_KEPT + NOSCAN_KEPT];
size_t nkept;

/* Allocates n blocks with fn and keeps them, but every 6th if free_some: that one is freed at once. */
static void make(size_t n, size_t size, void *(*fn)(size_t), int free_some) {
  for (size_t i = 0; i < n; i++) {
    void *p = fn(size);
    if (!p) exit(1);
    if (free_some && i % 6 == 5) free(p);
    else kept[nkept++] = p;
  }
}

static __attribute__((noinline)) void make_garbage(void) {
  for (int i = 0; i < GARBAGE; i++) *(volatile char *)gh_alloc(80) = 1;
}

static int dump_to(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return -1;
  int r = gh_dump_heap(fd);
  int e = errno;
  close(fd);
  errno = e;
  return r;
}

static int known_heap(const char *path) {
  char name[4096];
  snprintf(name, sizeof name, "%s.base", path);
  if (dump_to(name) != 0) return 1;
  make(SMALL_MADE, 48, malloc, 1);
  snprintf(name, sizeof name, "%s.mid", path); /* some of its frees are not swept yet */
  if (dump_to(name) != 0) return 1;
  make(LARGE_MADE, 1 << 20, malloc, 1);
  make_garbage();
  make(SCAN_KEPT, 64, gh_alloc, 0);
  make(NOSCAN_KEPT, 256, gh_alloc_noscan, 0);
  gh_collect();
  return dump_to(path) == 0 ? 0 : 1;
}

/* ---- --blocked: a registered thread that blocks the stop signal ---- */

static int ready_pipe[2], go_pipe[2];

static void *blocker(void *arg) {
  (void)arg;
  sigset_t all;
  sigfillset(&all); /* the system call: goheap's pthread_sigmask would keep the stop signal */
  syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, NULL, (size_t)(_NSIG / 8));
  free(malloc(16)); /* registers the thread */
  char c = 0;
  if (write(ready_pipe[1], &c, 1) != 1 || read(go_pipe[0], &c, 1) != 1) return NULL;
  return NULL;
}

static int blocked_dump(const char *path) {
  pthread_t t;
  if (pipe(ready_pipe) || pipe(go_pipe) || pthread_create(&t, NULL, blocker, NULL)) return 1;
  char c;
  if (read(ready_pipe[0], &c, 1) != 1) return 1;
  int r = dump_to(path), e = errno;
  if (write(go_pipe[1], &c, 1) != 1 || pthread_join(t, NULL)) return 1;
  if (r != -1 || e != EAGAIN) {
    fprintf(stderr, "mapheap: gh_dump_heap with a blocked thread returned %d (errno %d), not -1/EAGAIN\n", r, e);
    return 1;
  }
  if (dump_to(path) != 0) {
    fprintf(stderr, "mapheap: gh_dump_heap failed after the blocked thread exited: %s\n", strerror(errno));
    return 1;
  }
  return 0;
}

/* ---- --busy: dumps while other threads allocate ---- */

#define BUSY_THREADS 3
#define BUSY_DUMPS 10
#define BUSY_SLOTS 512

static volatile int busy_stop;

static void *churn(void *arg) {
  void **slots = arg;
  unsigned x = (unsigned)(uintptr_t)slots;
  while (!busy_stop) {
    x = x * 1103515245u + 12345u;
    unsigned i = (x >> 8) % BUSY_SLOTS, size = 16u << ((x >> 20) % 14); /* 16 B .. 128 KiB */
    if (x & 1) {
      free(slots[i]);
      slots[i] = malloc(size);
    } else {
      slots[i] = gh_alloc(size); /* the old one, if collected, becomes garbage */
    }
  }
  return NULL;
}

static int busy_dumps(const char *path) {
  static void *slots[BUSY_THREADS][BUSY_SLOTS];
  pthread_t t[BUSY_THREADS];
  for (int i = 0; i < BUSY_THREADS; i++)
    if (pthread_create(&t[i], NULL, churn, slots[i])) return 1;
  int bad = 0;
  for (int i = 0; i < BUSY_DUMPS; i++) {
    char name[4096];
    snprintf(name, sizeof name, "%s.%d", path, i);
    bad |= dump_to(name) != 0;
    usleep(20000);
  }
  busy_stop = 1;
  for (int i = 0; i < BUSY_THREADS; i++) pthread_join(t[i], NULL);
  return bad;
}

int main(int argc, char **argv) {
  if (argc == 2) return known_heap(argv[1]);
  if (argc == 3 && strcmp(argv[1], "--blocked") == 0) return blocked_dump(argv[2]);
  if (argc == 3 && strcmp(argv[1], "--busy") == 0) return busy_dumps(argv[2]);
  fprintf(stderr, "usage: mapheap FILE | mapheap --blocked FILE | mapheap --busy FILE\n");
  return 2;
}
