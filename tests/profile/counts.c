/*
 * counts.c -- exact counts for tests/suites/profile.sh, run with
 * GOHEAP_PROFILE_RATE=1 (every allocation sampled): keep_f allocates 1000
 * blocks and keeps them, drop_f allocates 500 and frees them, collect_f makes
 * 100 collected objects that become garbage before a collection, and 4
 * threads allocate 250 blocks each in thread_f and keep them. The profile
 * goes to argv[1].
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "goheap.h"

static void *kept[1000], *thread_kept[4][250];

__attribute__((noinline)) void keep_f(int i) { kept[i] = malloc(40); }
__attribute__((noinline)) void *drop_f(void) { return malloc(200); }
__attribute__((noinline)) void collect_f(void **slot) { *slot = gh_alloc(64); }
__attribute__((noinline)) void *thread_f(void *arg) {
  void **out = arg;
  for (int i = 0; i < 250; i++) out[i] = malloc(24);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  for (int i = 0; i < 1000; i++) keep_f(i);
  for (int i = 0; i < 500; i++) free(drop_f());
  void *volatile slot = NULL;
  for (int i = 0; i < 100; i++) collect_f((void **)&slot);
  slot = NULL;
  pthread_t t[4];
  for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, thread_f, thread_kept[i]);
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  gh_collect();
  int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || gh_write_heap_profile(fd) != 0) return 1;
  close(fd);
  printf("ok\n");
  return 0;
}
