/*
 * realloc-growth.c -- buffers grown with realloc.
 *
 * Stresses: realloc: growth in place within a size class's slack, moving
 * to the next class, and the crossing from small objects to large ones
 * (page-granular spans / mmap) as buffers grow to up to `maxlen` bytes.
 * `buffers` buffers grow at once, round-robin, so the neighbour of a buffer is
 * usually live and growing in place past its class is not free. Three kinds,
 * by buffer number: a string builder that grows by exactly the appended
 * length each time (every append is a realloc), a vector that doubles its
 * capacity, and a builder that grows by 1.5x. When a buffer reaches its
 * target length it is checked byte by byte, shrunk to half with realloc,
 * checked again and freed, and a new one starts.
 *
 * Idea: the string-builder / dynamic-array pattern of most C code (and of
 * the realloc tests in allocator suites); no single original.
 *
 * Parameters: realloc-growth [buffers=64] [appends=4000000] [maxlen=262144]
 * Result: a hash of every finished buffer's contents (fixed by parameters).
 */
#include "bench.h"

typedef struct {
  unsigned char *p;
  size_t len, cap, target;
  uint64_t seed;
  int kind; /* 0 exact, 1 doubling, 2 x1.5 */
} gbuf;

static inline unsigned char byte_at(uint64_t seed, size_t i) {
  return (unsigned char)((seed >> (i & 31)) + i * 131 + (i >> 8));
}

int main(int argc, char **argv) {
  long nbuf = arg_long(argc, argv, 1, 64);
  long appends = arg_long(argc, argv, 2, 4000000);
  long maxlen = arg_long(argc, argv, 3, 262144);
  rng_t r = {7};
  gbuf *b;
  uint64_t h = 0, nseed = 1;
  long a, i;
  if (nbuf < 1 || maxlen < 64) {
    fprintf(stderr, "bad parameters\n");
    return 2;
  }
  printf("realloc-growth buffers=%ld appends=%ld maxlen=%ld\n", nbuf, appends, maxlen);
  b = xmalloc(sizeof(gbuf) * (size_t)nbuf);
  memset(b, 0, sizeof(gbuf) * (size_t)nbuf);
  for (i = 0; i < nbuf; i++) {
    b[i].kind = (int)(i % 3);
    b[i].seed = mix64(nseed++);
    b[i].target = (size_t)rng_range(&r, 64, (uint64_t)maxlen);
  }
  for (a = 0; a < appends; a++) {
    gbuf *g = &b[a % nbuf];
    size_t k = (size_t)rng_range(&r, 1, 48), need = g->len + k, j;
    if (need > g->cap) {
      size_t nc = g->kind == 0 ? need
                  : g->kind == 1 ? (g->cap ? g->cap * 2 : 16)
                                 : (g->cap ? g->cap + g->cap / 2 : 24);
      if (nc < need) nc = need;
      g->p = xrealloc(g->p, nc);
      g->cap = nc;
    }
    for (j = 0; j < k; j++) g->p[g->len + j] = byte_at(g->seed, g->len + j);
    g->len = need;
    if (g->len >= g->target) {
      uint64_t bh = g->seed;
      size_t half = g->len / 2;
      for (j = 0; j < g->len; j++) {
        if (g->p[j] != byte_at(g->seed, j)) WRONG("buffer %ld byte %zu", a % nbuf, j);
        bh = bh * 31 + g->p[j];
      }
      g->p = xrealloc(g->p, half);
      for (j = 0; j < half; j++)
        if (g->p[j] != byte_at(g->seed, j)) WRONG("buffer %ld after shrink byte %zu", a % nbuf, j);
      free(g->p);
      h = mix64(h ^ bh);
      g->p = NULL;
      g->len = g->cap = 0;
      g->seed = mix64(nseed++);
      g->target = (size_t)rng_range(&r, 64, (uint64_t)maxlen);
    }
  }
  for (i = 0; i < nbuf; i++) {
    size_t j;
    uint64_t bh = b[i].seed;
    for (j = 0; j < b[i].len; j++) {
      if (b[i].p[j] != byte_at(b[i].seed, j)) WRONG("buffer %ld final byte %zu", i, j);
      bh = bh * 31 + b[i].p[j];
    }
    h = mix64(h ^ bh);
    free(b[i].p);
  }
  free(b);
  printf("result: %016llx\n", (unsigned long long)h);
  return 0;
}
