/*
 * tests/libgc/test_fork.c -- fork() in a program that uses goheap's
 * libgc.so.1 (bdwgc 8.2's ABI), built against bdwgc/include and linked
 * with -lgc (tests/suites/libgc_dropin.sh, group "fork").  Prints a
 * PASS or FAIL line per check, then "N passed, N failed".
 *
 *   1. fork() while another thread holds the allocation lock
 *      (GC_alloc_lock): the child can take it, allocate, register links
 *      and finalizers and collect (bdwgc installs pthread_atfork handlers
 *      by default; so does goheap's libgc).
 *   2. GC_atfork_prepare/parent/child called by hand around fork(), as
 *      bdwgc's gctest does: harmless when the handlers are installed.
 *   3. fork() while another thread runs a finalizer (GC_invoke_finalizers,
 *      finalize-on-demand): in the child, where that finalizer may be half
 *      done, its object stays allocated and intact across collections, its
 *      long link is not cleared, and the finalizer does not run again; in
 *      the parent the finalizer finishes.
 * Each child has a 10 s alarm: a deadlock is a failure, not a hang.
 */
#define GC_THREADS 1
#include <gc.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int passed, failed;
static void check(const char *name, int ok, int detail) {
  if (ok) passed++, printf("PASS %s\n", name);
  else failed++, printf("FAIL %s (%d)\n", name, detail);
  fflush(stdout);
}
static void sleep_ms(unsigned ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}
/* Runs child() in a forked child; its exit status, 128+N for signal N. */
static int fork_and_wait(int (*child)(void), int by_hand) {
  if (by_hand) GC_atfork_prepare();
  pid_t pid = fork();
  if (pid == 0) {
    if (by_hand) GC_atfork_child();
    alarm(10);
    _exit(child());
  }
  if (by_hand) GC_atfork_parent();
  int st = 0;
  if (pid < 0 || waitpid(pid, &st, 0) != pid) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- 1, 2: the child's library works ------------------------------------------ */

static atomic_int finalized;
static void count_finalizer(void *obj, void *cd) {
  (void)obj, (void)cd;
  atomic_fetch_add(&finalized, 1);
}
static GC_word link_slot; /* a hidden pointer (bdwgc's rule for links in scanned memory) */
static int link_rc = -1;

static __attribute__((noinline)) void plant_garbage(void) {
  for (int i = 0; i < 100; i++) {
    void *p = GC_MALLOC(64);
    GC_REGISTER_FINALIZER(p, count_finalizer, NULL, NULL, NULL);
    if (i == 0) {
      link_slot = GC_HIDE_POINTER(p);
      link_rc = GC_general_register_disappearing_link((void **)&link_slot, p);
    }
  }
}
static int child_uses_library(void) {
  GC_alloc_lock();
  GC_alloc_unlock();
  plant_garbage();
  for (int i = 0; i < 20 && atomic_load(&finalized) < 90; i++) {
    GC_gcollect();
    GC_invoke_finalizers();
    sleep_ms(5);
  }
  if (atomic_load(&finalized) < 90) return 3;
  return link_rc == GC_SUCCESS ? 0 : 4;
}

static atomic_int holding;
static void *hold_alloc_lock(void *arg) {
  (void)arg;
  GC_alloc_lock();
  atomic_store(&holding, 1);
  sleep_ms(100);
  GC_alloc_unlock();
  return NULL;
}

/* ---- 3: a finalizer running at the fork ----------------------------------------- */

#define OBJ_SIZE 96
static atomic_int fin_entered, fin_release, fin_runs;
static GC_word obj_hidden, long_slot;

static void slow_finalizer(void *obj, void *cd) {
  (void)obj, (void)cd;
  atomic_fetch_add(&fin_runs, 1);
  atomic_store(&fin_entered, 1);
  while (!atomic_load(&fin_release)) sleep_ms(1);
}
static __attribute__((noinline)) void *plant_slow(void *arg) {
  unsigned char *p = GC_MALLOC(OBJ_SIZE);
  for (int i = 0; i < OBJ_SIZE; i++) p[i] = (unsigned char)(i * 7 + 1);
  obj_hidden = GC_HIDE_POINTER(p);
  long_slot = GC_HIDE_POINTER(p);
  GC_REGISTER_FINALIZER(p, slow_finalizer, NULL, NULL, NULL);
  GC_register_long_link((void **)&long_slot, p);
  return arg;
}
static __attribute__((noinline)) void clear_stack(void) {
  volatile char buf[16384];
  memset((char *)buf, 0, sizeof buf);
}
static void *finalizing_thread(void *arg) {
  (void)arg;
  for (int i = 0; i < 500 && !atomic_load(&fin_entered); i++) {
    clear_stack();
    GC_gcollect();
    GC_invoke_finalizers(); /* runs slow_finalizer here, once found unreachable */
    sleep_ms(2);
  }
  return NULL;
}
static int child_of_running(void) {
  for (int i = 0; i < 3; i++) {
    clear_stack();
    GC_gcollect();
  }
  unsigned char *p = GC_REVEAL_POINTER(obj_hidden);
  if (GC_base(p) != p) return 20;
  for (int i = 0; i < OBJ_SIZE; i++)
    if (p[i] != (unsigned char)(i * 7 + 1)) return 21;
  if (long_slot == 0) return 22;
  GC_invoke_finalizers();
  return atomic_load(&fin_runs) == 1 ? 0 : 23;
}

int main(void) {
  GC_INIT();
  GC_set_finalize_on_demand(1);
  alarm(60);
  pthread_t t;

  pthread_create(&t, NULL, hold_alloc_lock, NULL);
  while (!atomic_load(&holding)) sleep_ms(1);
  int rc = fork_and_wait(child_uses_library, 0);
  check("a child forked while another thread holds the allocation lock collects and finalizes", rc == 0, rc);
  pthread_join(t, NULL);

  rc = fork_and_wait(child_uses_library, 1);
  check("GC_atfork_prepare/parent/child by hand around fork() work with the handlers installed", rc == 0, rc);

  pthread_create(&t, NULL, plant_slow, NULL); /* a thread that exits: no register of ours holds the object */
  pthread_join(t, NULL);
  pthread_create(&t, NULL, finalizing_thread, NULL);
  while (!atomic_load(&fin_entered)) sleep_ms(1);
  rc = fork_and_wait(child_of_running, 0);
  check("a child forked while a finalizer runs keeps its object allocated and intact, its long link set, "
        "and does not run it again (20: freed, 21: changed, 22: link cleared, 23: ran again)",
        rc == 0, rc);
  atomic_store(&fin_release, 1);
  pthread_join(t, NULL);
  check("in the parent that finalizer finishes", atomic_load(&fin_runs) == 1, atomic_load(&fin_runs));
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
