/*
 * test_checks.c -- the debug build's checks fire (built only against
 * build/debug/libgoheap.a, GH_DEBUG=1).
 *
 * Each case runs in a forked child that breaks one rule on purpose, and
 * passes if the child dies by SIGABRT after printing the expected
 * "goheap: fatal error: ..." line:
 *   - taking an mcentral lock while holding the heap lock (lock order);
 *   - taking the same lock twice;
 *   - calling a _locked function without its lock (gh_assert_held);
 *   - a span whose alloc_count disagrees with its bitmaps, caught by the
 *     check that follows every sweep;
 *   - a lock nobody gave a rank.
 * A control case (locks in the right order, a sound span swept) must exit 0.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "testhelper.h"

static void lock_order(void) {
  gh_mutex_lock(&gh_heap.lock);
  gh_mutex_lock(&gh_central[5].lock);
}

static void lock_twice(void) {
  gh_mutex_lock(&gh_central[5].lock);
  gh_mutex_lock(&gh_central[5].lock);
}

static void not_held(void) { gh_pagealloc_check_locked(); }

static gh_mspan *span_of_fresh_object(void) {
  void *p = gh_malloc(48);
  return gh_span_of((uintptr_t)p);
}

static void bad_count(void) {
  gh_mspan *s = span_of_fresh_object();
  gh_mcache *c = gh_enter();
  s->alloc_count += 1;
  gh_mspan_sweep(s, NULL);
  gh_leave(c);
}

static void unranked(void) {
  static gh_mutex l; /* zeroed: rank GH_RANK_NONE */
  gh_mutex_lock(&l);
}

static void control(void) {
  gh_mutex_lock(&gh_central[5].lock);
  gh_mutex_lock(&gh_central[6].lock);
  gh_mutex_lock(&gh_heap.lock);
  gh_pagealloc_check_locked();
  gh_mutex_unlock(&gh_heap.lock);
  gh_mutex_unlock(&gh_central[6].lock);
  gh_mutex_unlock(&gh_central[5].lock);
  gh_mspan *s = span_of_fresh_object();
  gh_mcache *c = gh_enter();
  gh_mspan_sweep(s, NULL);
  gh_leave(c);
}

/* Runs fn in a child; want == NULL: must exit 0; else must abort with `want` on stderr. */
static void expect(const char *name, void (*fn)(void), const char *want) {
  int fds[2];
  if (pipe(fds) != 0) return;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    gh_free(gh_malloc(1)); /* initialised */
    fn();
    _exit(0);
  }
  close(fds[1]);
  char err[1024] = {0};
  size_t n = 0;
  ssize_t r;
  while (n < sizeof err - 1 && (r = read(fds[0], err + n, sizeof err - 1 - n)) > 0) n += (size_t)r;
  close(fds[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  bool ok = want ? WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT && strstr(err, want)
                 : WIFEXITED(st) && WEXITSTATUS(st) == 0;
  CHECKF(name, ok, "status %d, stderr: %s\n", st, err);
}

int main(void) {
  expect("control: right order, lock held, sound span", control, NULL);
  expect("mcentral lock taken under the heap lock", lock_order,
         "goheap: fatal error: lock order: taking the mcentral lock while holding the heap lock");
  expect("a lock taken twice", lock_twice, "lock order: taking a lock this thread already holds");
  expect("a _locked function without its lock", not_held, "a _locked function was called without its lock (heap");
  expect("a span's alloc_count off by one, caught after its sweep", bad_count,
         "mspan: alloc_count disagrees with the bitmaps");
  expect("a lock without a rank", unranked, "lock order: a lock without a rank");
  return TEST_SUMMARY();
}
