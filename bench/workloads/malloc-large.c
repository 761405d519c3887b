/*
 * malloc-large.c -- large blocks.
 *
 * Stresses: the large-object path (objects far above the small size
 * classes: whole page runs or mmap), and what the allocator does with freed
 * large blocks: keep and reuse them (few page faults, higher RSS) or give
 * them back to the OS (lower RSS, a page fault per page on reuse). A window
 * of `window` live blocks of random sizes in [minkb, maxkb] KiB; each step
 * frees the oldest block and allocates a new one, then writes one word in
 * every 4 KiB page of it (as a program filling a buffer would touch it).
 *
 * Idea: malloc-large from mimalloc-bench (blocks of 5-25 MiB in a loop),
 * widened here to 64 KiB .. 16 MiB so that both the "large span" and the
 * "huge/mmap" ranges of every allocator are hit. Our own code.
 *
 * Parameters: malloc-large [steps=4000] [window=8] [minkb=64] [maxkb=16384]
 * Result: a hash of the sizes and tags checked (fixed by parameters).
 */
#include "bench.h"

#define PAGE 4096

static void fill(unsigned char *p, size_t n, uint64_t tag) {
  size_t off;
  for (off = 0; off + 8 <= n; off += PAGE) memcpy(p + off, &tag, 8);
  memcpy(p + n - 8, &tag, 8);
}
static int check(const unsigned char *p, size_t n, uint64_t tag) {
  size_t off;
  uint64_t v;
  for (off = 0; off + 8 <= n; off += PAGE) {
    memcpy(&v, p + off, 8);
    if (v != tag) return 0;
  }
  memcpy(&v, p + n - 8, 8);
  return v == tag;
}

int main(int argc, char **argv) {
  long steps = arg_long(argc, argv, 1, 4000);
  long window = arg_long(argc, argv, 2, 8);
  long minkb = arg_long(argc, argv, 3, 64);
  long maxkb = arg_long(argc, argv, 4, 16384);
  rng_t r = {99};
  unsigned char **blk;
  size_t *sz;
  uint64_t *tag, h = 0;
  long i;
  if (window < 1 || minkb < 1 || maxkb < minkb) {
    fprintf(stderr, "bad parameters\n");
    return 2;
  }
  printf("malloc-large steps=%ld window=%ld size=%ldKiB..%ldKiB\n", steps, window, minkb, maxkb);
  blk = xmalloc(sizeof(void *) * (size_t)window);
  sz = xmalloc(sizeof(size_t) * (size_t)window);
  tag = xmalloc(sizeof(uint64_t) * (size_t)window);
  memset(blk, 0, sizeof(void *) * (size_t)window);
  for (i = 0; i < steps; i++) {
    long k = i % window;
    if (blk[k]) {
      if (!check(blk[k], sz[k], tag[k])) WRONG("step %ld: block changed", i);
      h = mix64(h ^ tag[k] ^ sz[k]);
      free(blk[k]);
    }
    /* sizes skewed toward the low end: most large buffers are not huge */
    {
      uint64_t x = rng_next(&r);
      long kb = (x & 3) ? minkb + (long)((x >> 2) % (uint64_t)((maxkb - minkb) / 8 + 1))
                        : minkb + (long)((x >> 2) % (uint64_t)(maxkb - minkb + 1));
      sz[k] = (size_t)kb * 1024 - (size_t)((x >> 40) % 64);
    }
    tag[k] = mix64((uint64_t)i + 1);
    blk[k] = xmalloc(sz[k]);
    fill(blk[k], sz[k], tag[k]);
  }
  for (i = 0; i < window; i++) {
    if (!blk[i]) continue;
    if (!check(blk[i], sz[i], tag[i])) WRONG("final: block changed");
    h = mix64(h ^ tag[i] ^ sz[i]);
    free(blk[i]);
  }
  free(blk);
  free(sz);
  free(tag);
  printf("result: %016llx\n", (unsigned long long)h);
  return 0;
}
