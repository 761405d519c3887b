/*
 * test_stats_json.c -- gh_print_stats_json (src/mstats.c) writes
 * gh_read_stats's numbers, and a known mix of allocations shows up in them.
 *
 * The mix: 2000 malloc'd objects of 48 bytes (1000 by a thread that frees 500
 * of them and exits, 1000 here, 500 freed), 300 of 1000 bytes (all kept), six
 * large blocks (two freed), and 800 collected 96-byte objects of which 200
 * stay reachable from a global, then gh_collect(). The test then waits until
 * the statistics hold still (the background sweeper may still be finishing
 * the cycle), writes the JSON to a file, and calls gh_read_stats right after
 * with nothing allocated in between: both must agree exactly.
 *
 * Alone (tests/run.sh) it checks the text with strstr and sscanf: every
 * stats field and a few metrics against gh_read_stats, the per-class table
 * against heap_alloc, the mix in its classes. With two arguments,
 * JSON_FILE KV_FILE, it also leaves the JSON and gh_read_stats's numbers
 * (key=value lines) there for tests/suites/stats_json.sh, which checks the
 * whole structure with python3.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "goheap.h"
#include "testhelper.h"

#define N48 1000          /* 48-byte objects per thread; half of them freed */
#define N1000 300         /* 1000-byte objects, kept */
#define NCOLL 800         /* 96-byte collected objects ... */
#define NCOLL_KEPT 200    /* ... of which these stay reachable */
#define MEMLIMIT (1ull << 40)
static const size_t large_sizes[6] = {40000, 100000, 250000, 1 << 20, 3 << 20, 70000};
static void *kept48[2 * N48], *kept1000[N1000], *large[6];
static void *collected[NCOLL];
/* Through volatile pointers: the compiler may not drop an allocation whose
 * result it can prove unused. */
static void *(*volatile do_malloc)(size_t) = malloc;
static void (*volatile do_free)(void *) = free;
static void *(*volatile do_gh_alloc)(size_t) = gh_alloc;

static void *alloc_48s(void *out) {
  void **v = out;
  for (int i = 0; i < N48; i++) {
    v[i] = do_malloc(48);
    memset(v[i], 0x5a, 48);
  }
  for (int i = 0; i < N48; i += 2) do_free(v[i]), v[i] = NULL;
  return NULL;
}

static void allocate_mix(void) {
  pthread_t t;
  pthread_create(&t, NULL, alloc_48s, kept48);
  pthread_join(t, NULL); /* its cache, and its counts, are given back at exit */
  alloc_48s(kept48 + N48);
  for (int i = 0; i < N1000; i++) kept1000[i] = do_malloc(1000);
  for (int i = 0; i < 6; i++) large[i] = do_malloc(large_sizes[i]);
  do_free(large[1]), large[1] = NULL;
  do_free(large[4]), large[4] = NULL;
  for (int i = 0; i < NCOLL; i++) collected[i] = do_gh_alloc(96);
  for (int i = NCOLL_KEPT; i < NCOLL; i++) collected[i] = NULL;
  gh_collect();
}

static gh_stats read_stats(void) {
  gh_stats s;
  memset(&s, 0, sizeof s);
  s.size = sizeof s;
  gh_read_stats(&s);
  return s;
}

/* Until two readings 20 ms apart are the same (at most 4 s). */
static void wait_still(void) {
  gh_stats a = read_stats();
  for (int i = 0; i < 200; i++) {
    nanosleep(&(struct timespec){0, 20000000}, NULL);
    gh_stats b = read_stats();
    if (memcmp(&a, &b, sizeof a) == 0) return;
    a = b;
  }
}

/* Every field of gh_stats but pause_ns, as the JSON's "stats" names them. */
#define STATS_FIELDS(X)                                                                                  \
  X(size) X(version) X(heap_alloc) X(heap_objects) X(heap_inuse) X(heap_idle) X(heap_released)           \
  X(heap_sys) X(metadata_sys) X(mallocs) X(frees) X(large_allocs) X(num_arenas) X(num_threads)           \
  X(heap_live) X(num_gc) X(next_gc) X(pause_total_ns) X(heap_marked) X(num_forced_gc) X(last_gc_ns)      \
  X(memory_limit) X(gc_percent) X(finalizers_run) X(gc_cpu_ns)

static char text[1 << 20];

/* `"key": value` followed by a comma or the end of its line. */
static bool has_member(const char *key, long long value) {
  char want[128];
  snprintf(want, sizeof want, "\"%s\": %lld", key, value);
  for (const char *p = strstr(text, want); p; p = strstr(p + 1, want)) {
    char next = p[strlen(want)];
    if (next == ',' || next == '\n' || next == '}') return true;
  }
  return false;
}

typedef struct entry { unsigned long long cls, size, mallocs, frees, live_objects, live_bytes; } entry;

/* The size_classes entry for objects of `size` bytes; false if none. */
static bool class_of_size(unsigned long long size, entry *out) {
  for (const char *p = strstr(text, "{\"class\": "); p; p = strstr(p + 1, "{\"class\": ")) {
    entry e;
    if (sscanf(p, "{\"class\": %llu, \"size\": %llu, \"mallocs\": %llu, \"frees\": %llu, \"live_objects\": %llu, "
                  "\"live_bytes\": %llu}",
               &e.cls, &e.size, &e.mallocs, &e.frees, &e.live_objects, &e.live_bytes) == 6 &&
        e.size == size) {
      *out = e;
      return true;
    }
  }
  return false;
}

static void check_stats(const gh_stats *st) {
#define CHECK_FIELD(f) CHECKF("stats." #f " is gh_read_stats's", has_member(#f, (long long)st->f), "%lld", (long long)st->f);
  STATS_FIELDS(CHECK_FIELD)
#undef CHECK_FIELD
  CHECK("pid", has_member("pid", getpid()));
  CHECK("/gc/heap/allocs:objects is mallocs", has_member("/gc/heap/allocs:objects", (long long)st->mallocs));
  CHECK("/gc/heap/objects:objects is heap_objects", has_member("/gc/heap/objects:objects", (long long)st->heap_objects));
  CHECK("/gc/cycles/total:gc-cycles is num_gc", has_member("/gc/cycles/total:gc-cycles", (long long)st->num_gc));
  CHECK("/memory/classes/heap/released:bytes is heap_released",
        has_member("/memory/classes/heap/released:bytes", (long long)st->heap_released));
  CHECK("/memory/classes/total:bytes is heap_sys + metadata_sys",
        has_member("/memory/classes/total:bytes", (long long)(st->heap_sys + st->metadata_sys)));
  CHECK("/gc/gomemlimit:bytes is the limit set", has_member("/gc/gomemlimit:bytes", (long long)MEMLIMIT));
  CHECK("stats.memory_limit is at most the limit set", (uint64_t)st->memory_limit <= MEMLIMIT);
}

static void check_classes(const gh_stats *st) {
  unsigned long long live = 0, mallocs = 0, frees = 0, lm, lf, lb;
  for (const char *p = strstr(text, "{\"class\": "); p; p = strstr(p + 1, "{\"class\": ")) {
    entry e = {0};
    sscanf(p, "{\"class\": %llu, \"size\": %llu, \"mallocs\": %llu, \"frees\": %llu, \"live_objects\": %llu, "
              "\"live_bytes\": %llu}",
           &e.cls, &e.size, &e.mallocs, &e.frees, &e.live_objects, &e.live_bytes);
    CHECKF("a class's live_bytes is live_objects * size", e.live_bytes == e.live_objects * e.size, "class %llu", e.cls);
    live += e.live_bytes, mallocs += e.mallocs, frees += e.frees;
  }
  const char *l = strstr(text, "\"large\": {");
  CHECK("large present", l && sscanf(l, "\"large\": {\"mallocs\": %llu, \"frees\": %llu, \"live_bytes\": %llu}",
                                     &lm, &lf, &lb) == 3);
  if (!l) return;
  CHECKF("size_classes + large live_bytes == heap_alloc", live + lb == st->heap_alloc, "%llu + %llu vs %llu",
         live, lb, (unsigned long long)st->heap_alloc);
  CHECK("size_classes + large mallocs == mallocs", mallocs + lm == st->mallocs);
  CHECK("size_classes + large frees == frees", frees + lf == st->frees);
  CHECK("large mallocs == large_allocs", lm == st->large_allocs);
  CHECKF("the six large blocks, two freed", lm >= 6 && lf >= 2, "%llu mallocs, %llu frees", lm, lf);
  unsigned long long kept = 0;
  for (int i = 0; i < 6; i++) kept += large[i] ? large_sizes[i] : 0;
  CHECKF("large live_bytes >= the four kept", lb >= kept, "%llu < %llu", lb, kept);
}

static void check_mix(const gh_stats *st) {
  entry e;
  CHECK("48-byte class present", class_of_size(48, &e));
  CHECKF("48-byte class: >= 2000 mallocs, >= 1000 frees, >= 1000 live",
         e.mallocs >= 2 * N48 && e.frees >= N48 && e.live_objects >= N48, "%llu %llu %llu", e.mallocs, e.frees,
         e.live_objects);
  CHECK("1024-byte class present", class_of_size(1024, &e));
  CHECKF("1024-byte class: >= 300 live", e.live_objects >= N1000, "%llu", e.live_objects);
  CHECK("96-byte class present", class_of_size(96, &e));
  CHECKF("96-byte class: >= 200 live, most of the 600 dropped freed", e.live_objects >= NCOLL_KEPT && e.frees >= 450,
         "%llu live, %llu freed", e.live_objects, e.frees);
  CHECK("a forced collection", st->num_gc >= 1 && st->num_forced_gc >= 1);
  CHECK("gc_percent is 100", has_member("/gc/gogc:percent", 100));
}

/* Reads the arrays, so their stores were real, and frees the rest. */
static void check_kept(void) {
  int ok = 0;
  for (int i = 0; i < NCOLL_KEPT; i++) ok += gh_is_collected(collected[i]);
  CHECKF("the reachable collected objects survived", ok == NCOLL_KEPT, "%d of %d", ok, NCOLL_KEPT);
  for (int i = 0; i < 2 * N48; i++) do_free(kept48[i]);
  for (int i = 0; i < N1000; i++) do_free(kept1000[i]);
  for (int i = 0; i < 6; i++) do_free(large[i]);
}

static void write_kv(const char *path, const gh_stats *st) {
  FILE *f = fopen(path, "w");
  if (!f) return;
#define KV(f_) fprintf(f, #f_ "=%lld\n", (long long)st->f_);
  STATS_FIELDS(KV)
#undef KV
  fprintf(f, "pause_ns=");
  for (int i = 0; i < GH_STATS_NPAUSE; i++) fprintf(f, "%s%llu", i ? "," : "", (unsigned long long)st->pause_ns[i]);
  fprintf(f, "\npid=%d\ngomemlimit=%llu\n", getpid(), MEMLIMIT);
  fclose(f);
}

int main(int argc, char **argv) {
  char tmp[] = "/tmp/gh-stats-json.XXXXXX";
  const char *json_path = argc > 2 ? argv[1] : tmp;
  int fd = argc > 2 ? open(json_path, O_RDWR | O_CREAT | O_TRUNC, 0644) : mkstemp(tmp);
  if (fd < 0) return perror(json_path), 2;
  gh_set_gc_percent(100); /* whatever GOHEAP_GOGC says */
  gh_set_memory_limit((int64_t)MEMLIMIT);
  allocate_mix();
  wait_still();
  gh_print_stats_json(fd);
  gh_stats st = read_stats(); /* nothing allocated since the JSON's reading */
  ssize_t n = pread(fd, text, sizeof text - 1, 0);
  close(fd);
  if (argc <= 2) unlink(tmp);
  CHECKF("the JSON was written", n > 0 && (size_t)n < sizeof text - 1, "%zd bytes", n);
  CHECK("one object, one line at the end", text[0] == '{' && n > 2 && !strcmp(text + n - 2, "}\n"));
  check_stats(&st);
  check_classes(&st);
  check_mix(&st);
  if (argc > 2) write_kv(argv[2], &st);
  check_kept();
  return TEST_SUMMARY();
}
