/*
 * shares.c -- a program whose allocations split 3:1 between two functions,
 * for tests/suites/profile.sh. alloc_a requests three bytes for every byte
 * alloc_b requests, in interleaved calls of varied sizes; both free what they
 * allocate except a fixed live set (A keeps 3 times as much as B). It writes
 * the heap profile to argv[1], then frees B's live set and writes argv[2].
 * Linked with libgoheap (shared or static).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "goheap.h"

#define LIVE 4096
static void *live_a[LIVE * 3], *live_b[LIVE];

__attribute__((noinline)) void *alloc_a(size_t n) {
  void *p = malloc(n);
  memset(p, 'a', n);
  return p;
}

__attribute__((noinline)) void *alloc_b(size_t n) {
  void *p = malloc(n);
  memset(p, 'b', n);
  return p;
}

static void write_profile(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || gh_write_heap_profile(fd) != 0) {
    perror(path);
    exit(1);
  }
  close(fd);
}

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  unsigned seed = 12345;
  size_t total = (size_t)4 << 30; /* bytes requested in all: about 8,000 samples at 512 KiB */
  for (size_t done = 0, i = 0; done < total; i++) {
    seed = seed * 1103515245 + 12345;
    size_t n = 64 + (seed >> 8) % 4000; /* the same sizes for both */
    void *a[3];
    for (int k = 0; k < 3; k++) a[k] = alloc_a(n);
    void *b = alloc_b(n);
    for (int k = 0; k < 3; k++) {
      size_t slot = (i * 3 + (size_t)k) % (LIVE * 3);
      free(live_a[slot]);
      live_a[slot] = a[k];
    }
    free(live_b[i % LIVE]);
    live_b[i % LIVE] = b;
    done += 4 * n;
  }
  write_profile(argv[1]);
  for (int i = 0; i < LIVE; i++) free(live_b[i]);
  write_profile(argv[2]);
  printf("ok\n");
  return 0;
}
