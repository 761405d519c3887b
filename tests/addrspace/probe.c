/*
 * probe.c -- how much of a limited address space does malloc hand out?
 *
 * Usage: probe MODE [-o MIB] [-m MAPS_FILE]
 *   MODE mixed: sizes from a deterministic generator, log-uniform from 16 bytes
 *               to 1 MiB (an octave 2^e, e in [4, 20), picked uniformly, then a
 *               size uniform within [2^e, 2^(e+1))); block i's size is a hash of
 *               i, so both rounds (and every allocator) see the same sequence.
 *   MODE 1m:    every block exactly 1 MiB.
 *
 * Round 1 allocates until malloc returns NULL, writing a tag (the block's index,
 * an 8-byte word) at the first and last 8 bytes of every block; the failed call
 * must have set errno to ENOMEM. Every tag is then checked (two blocks that
 * overlap, or a block the allocator scribbled on, show up here), everything is
 * freed, and round 2 does the same again from block 0: memory that was freed
 * must be reusable. Output, one "key value" per line, sizes in bytes:
 *   round1_bytes N / round1_blocks N / round2_bytes N / round2_blocks N
 * (bytes = the sum of the requested sizes obtained). Exit status 0 unless
 * something is wrong: errno other than ENOMEM at the failure, a tag destroyed,
 * the pointer array full (the probe itself is undersized), a malloc that never
 * fails (more than 64 GiB handed out: no limit in force). A crash is a crash.
 *
 * -o MIB maps MIB MiB of PROT_NONE address space first (never touched): the
 * "other mappings" of a bigger program (its libraries, thread stacks, a JIT's
 * reservations), which count against RLIMIT_AS like everything else.
 * -m MAPS_FILE copies /proc/self/maps there at the moment round 1's malloc
 * fails: where the address space went.
 *
 * The pointer array comes from mmap, not malloc, so it does not compete with
 * the blocks inside the allocator (it does count against RLIMIT_AS, equally for
 * every allocator: 512 KiB). Output goes through write(2) from a stack buffer:
 * stdio would malloc its buffer, perhaps when no memory is left.
 * Plain C, libc only: it runs with glibc's malloc, under LD_PRELOAD, or linked
 * with an allocator's static library.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CAP ((size_t)1 << 16) /* blocks per round; ~5600 mixed blocks fill 512 MiB */
#define NEVER_FAILS ((uint64_t)64 << 30)

static int mode_1m;

static uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15u;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
  return x ^ (x >> 31);
}

static size_t size_of(size_t i) {
  if (mode_1m) return (size_t)1 << 20;
  uint64_t r = splitmix64(i);
  unsigned e = 4 + (unsigned)(r % 16); /* 16 octaves: [16, 32) ... [512 KiB, 1 MiB) */
  return ((size_t)1 << e) + (size_t)((r >> 8) & (((uint64_t)1 << e) - 1));
}

static void out(int fd, const char *fmt, unsigned long long v) {
  char buf[128];
  int n = snprintf(buf, sizeof buf, fmt, v);
  if (n > 0) {
    ssize_t w = write(fd, buf, (size_t)n);
    (void)w;
  }
}

static void say(const char *s) {
  ssize_t w = write(2, s, strlen(s));
  (void)w;
}

static void copy_maps(const char *path) {
  int in = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  int o = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  char buf[8192];
  ssize_t n;
  if (in >= 0 && o >= 0)
    while ((n = read(in, buf, sizeof buf)) > 0)
      if (write(o, buf, (size_t)n) != n) break;
  if (in >= 0) close(in);
  if (o >= 0) close(o);
}

static void tag(char *p, size_t size, uint64_t v) {
  memcpy(p, &v, sizeof v);
  memcpy(p + size - sizeof v, &v, sizeof v);
}

static int tag_ok(const char *p, size_t size, uint64_t v) {
  uint64_t a, b;
  memcpy(&a, p, sizeof a);
  memcpy(&b, p + size - sizeof b, sizeof b);
  return a == v && b == v;
}

/* One round: fills blocks[] until malloc fails; returns 0 or an exit status. */
static int round_(void **blocks, size_t *count, uint64_t *bytes, const char *maps, int round) {
  size_t n = 0;
  uint64_t total = 0;
  for (;;) {
    if (n == CAP) {
      say("probe: pointer array full: raise CAP\n");
      return 2;
    }
    if (total > NEVER_FAILS) {
      say("probe: malloc never fails: is the address space limited?\n");
      return 2;
    }
    size_t sz = size_of(n);
    errno = 0;
    char *p = malloc(sz);
    if (!p) {
      int e = errno;
      if (maps) copy_maps(maps);
      if (e != ENOMEM) {
        out(2, "probe: malloc returned NULL with errno %llu, not ENOMEM\n", (unsigned long long)e);
        return 3;
      }
      break;
    }
    tag(p, sz, ((uint64_t)round << 32) ^ n);
    blocks[n++] = p;
    total += sz;
  }
  for (size_t i = 0; i < n; i++)
    if (!tag_ok(blocks[i], size_of(i), ((uint64_t)round << 32) ^ i)) {
      out(2, "probe: block %llu was overwritten (overlapping blocks?)\n", (unsigned long long)i);
      return 4;
    }
  *count = n;
  *bytes = total;
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2 || (strcmp(argv[1], "mixed") != 0 && strcmp(argv[1], "1m") != 0)) {
  usage:
    say("usage: probe mixed|1m [-o MIB] [-m MAPS_FILE]\n");
    return 2;
  }
  mode_1m = strcmp(argv[1], "1m") == 0;
  const char *maps = NULL;
  for (int i = 2; i < argc; i += 2) {
    if (i + 1 >= argc) goto usage;
    if (strcmp(argv[i], "-m") == 0) {
      maps = argv[i + 1];
    } else if (strcmp(argv[i], "-o") == 0) {
      size_t mib = strtoul(argv[i + 1], NULL, 10);
      if (mib && mmap(NULL, mib << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0) == MAP_FAILED) {
        say("probe: cannot map the other mappings (-o)\n");
        return 2;
      }
    } else {
      goto usage;
    }
  }
  void **blocks = mmap(NULL, CAP * sizeof *blocks, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (blocks == MAP_FAILED) {
    say("probe: cannot map the pointer array\n");
    return 2;
  }
  size_t n1, n2;
  uint64_t b1, b2;
  int rc = round_(blocks, &n1, &b1, maps, 1);
  if (rc) return rc;
  out(1, "round1_bytes %llu\n", b1);
  out(1, "round1_blocks %llu\n", n1);
  for (size_t i = 0; i < n1; i++) free(blocks[i]);
  rc = round_(blocks, &n2, &b2, NULL, 2);
  if (rc) return rc;
  out(1, "round2_bytes %llu\n", b2);
  out(1, "round2_blocks %llu\n", n2);
  for (size_t i = 0; i < n2; i++) free(blocks[i]);
  return 0;
}
