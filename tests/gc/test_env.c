/*
 * test_env.c -- the collector's environment variables and the stop-signal
 * timeout. goheap reads its environment once, at start-up, so this program
 * re-executes itself (/proc/self/exe --case NAME) with the variables set,
 * captures the child's stdout and stderr, and kills it after 20 s (a hang
 * is a failure, never a hung test run).
 *
 *   GOHEAP_DEBUG=gctrace=1  every cycle prints one stderr line in Go 1.19's
 *                           gctrace format (checked with a regex), numbered
 *                           1, 2, 3, ... with non-decreasing @times, one per
 *                           collection (as many as num_gc); none without it.
 *   GOHEAP_GOGC             off: no automatic collection over 200 MB of
 *                           garbage, gc_percent negative, gh_collect works;
 *                           50: gc_percent 50; junk: a warning, default kept.
 *   GOHEAP_MEMLIMIT         64MiB, 512KiB, 2GiB, 1TiB, 100B, 123456, off (Go:
 *                           no limit); junk ("64MB", "12parsecs"): a warning,
 *                           no limit. With GOGC=off and 64MiB, 512 MB of
 *                           garbage is collected and heap_inuse stays < 96 MiB.
 *   stop signal             a thread named "gt-blocker" blocks the stop
 *                           signal (default SIGRTMIN+7; with the raw
 *                           rt_sigprocmask system call) while the main thread
 *                           calls gh_collect: it returns (GOHEAP_STOP_TIMEOUT_MS
 *                           200, and the default timeout), stderr names the
 *                           thread, allocation goes on, and once the thread
 *                           unblocks the signal (the stale one is delivered
 *                           then) a collection completes. With
 *                           GOHEAP_STOP_SIGNAL=SIGRTMIN+3, blocking SIGRTMIN+7
 *                           is harmless and blocking SIGRTMIN+3 is reported.
 *                           A thread blocking every signal with
 *                           pthread_sigmask or sigprocmask keeps the stop
 *                           signal (goheap interposes both): collections
 *                           complete, and the rest of its mask holds.
 *   GOHEAP_SCAN_MANUAL=0    objects referenced only from a malloc'd block
 *                           are reclaimed (>= 90 of 100 finalized), objects
 *                           referenced from a global are not; by default
 *                           the malloc'd block keeps them (none finalized).
 *   GOHEAP_GC_WORKERS       1 and 4 mark workers: a 32k-node tree and lists
 *                           stay intact through collections.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <regex.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "gctest.h"

/* ======================= the child side ======================= */

GT_NOINLINE static void garbage(size_t bytes) {
  for (size_t d = 0; d < bytes; d += 1024) {
    char *p = gh_alloc(1000);
    if (!p) abort();
    p[0] = 1;
  }
  gt_clear_regs();
}

static void print_stats(void) {
  gh_stats s = gt_stats();
  printf("num_gc=%llu\nforced=%llu\ngc_percent=%lld\nmemory_limit=%lld\n", (unsigned long long)s.num_gc,
         (unsigned long long)s.num_forced_gc, (long long)s.gc_percent, (long long)s.memory_limit);
}

static int case_trace(void) {
  garbage(64 * GT_MiB);
  for (int i = 0; i < 5; i++) gh_collect();
  print_stats();
  return 0;
}

static int case_gogc(void) {
  garbage(200 * GT_MiB);
  print_stats();
  gh_stats s0 = gt_stats();
  gh_collect();
  gh_stats s1 = gt_stats();
  printf("collect_works=%d\n", s1.num_gc == s0.num_gc + 1);
  printf("old_percent=%d\n", gh_set_gc_percent(100));
  return 0;
}

static int case_memlimit(void) {
  printf("query=%lld\n", (long long)gh_set_memory_limit(-1));
  print_stats();
  return 0;
}

static void **volatile live;
static int case_memlimit_work(void) {
  live = gh_alloc(128 * sizeof(void *));
  for (int i = 0; i < 128; i++) live[i] = gh_alloc_noscan(64 * GT_KiB);
  uint64_t max_inuse = 0;
  for (int k = 0; k < 128; k++) {
    garbage(4 * GT_MiB);
    uint64_t u = gt_stats().heap_inuse;
    if (u > max_inuse) max_inuse = u;
  }
  print_stats();
  printf("max_inuse=%llu\n", (unsigned long long)max_inuse);
  return 0;
}

/* GT_BLOCK_HOW: "raw" (default) blocks GT_BLOCK_SIG with the rt_sigprocmask
 * system call, behind goheap's back; "pthread" and "proc" block every
 * signal with pthread_sigmask / sigprocmask, which goheap interposes. */
static atomic_int blk_state, blk_mask_ok;
static void block_mask(int how, const sigset_t *s) {
  const char *w = getenv("GT_BLOCK_HOW");
  if (w && !strcmp(w, "pthread")) pthread_sigmask(how, s, NULL);
  else if (w && !strcmp(w, "proc")) sigprocmask(how, s, NULL);
  else syscall(SYS_rt_sigprocmask, how, s, NULL, (size_t)(_NSIG / 8));
}
static void *blocker(void *arg) {
  int sig = (int)(intptr_t)arg;
  pthread_setname_np(pthread_self(), "gt-blocker");
  sigset_t s, cur;
  sigemptyset(&s);
  sigaddset(&s, sig);
  if (getenv("GT_BLOCK_HOW")) sigfillset(&s);
  block_mask(SIG_BLOCK, &s);
  pthread_sigmask(SIG_BLOCK, NULL, &cur); /* the mask in effect: all but the stop signal? */
  atomic_store(&blk_mask_ok, sigismember(&cur, SIGUSR1) == 1 && sigismember(&cur, sig) == 0);
  void *volatile p = gh_alloc(100); /* registers the thread */
  atomic_store(&blk_state, 1);
  while (atomic_load(&blk_state) != 2) gt_sleep_ms(2);
  block_mask(SIG_UNBLOCK, &s); /* a stale stop signal may arrive now */
  atomic_store(&blk_state, 3);
  while (atomic_load(&blk_state) != 4) gt_sleep_ms(2);
  return p;
}
static int case_blocker(void) {
  const char *b = getenv("GT_BLOCK_SIG");
  int sig = b ? atoi(b) : SIGRTMIN + 7;
  pthread_t t = gt_thread(blocker, (void *)(intptr_t)sig, NULL);
  while (atomic_load(&blk_state) != 1) gt_sleep_ms(1);
  uint64_t before = gt_num_gc(), t0 = gt_now_ms();
  gh_collect();
  uint64_t after1 = gt_num_gc();
  printf("collect_returned=1\ncollect_ms=%llu\n", (unsigned long long)(gt_now_ms() - t0));
  fflush(stdout);
  char *q = gh_alloc(5000); /* the heap still works */
  memset(q, 7, 5000);
  printf("alloc_after=%d\n", q[4999] == 7);
  atomic_store(&blk_state, 2);
  while (atomic_load(&blk_state) != 3) gt_sleep_ms(1);
  gt_sleep_ms(20);
  gh_collect();
  uint64_t after2 = gt_num_gc();
  atomic_store(&blk_state, 4);
  void *p = NULL;
  pthread_join(t, &p);
  printf("before=%llu\nafter_blocked=%llu\nafter_unblocked=%llu\nheld_ok=%d\nmask_ok=%d\n",
         (unsigned long long)before, (unsigned long long)after1, (unsigned long long)after2, gh_base(p) == p,
         atomic_load(&blk_mask_ok));
  return 0;
}

static atomic_long fin_m, fin_c;
static void **volatile marr;
static void *volatile control[20];
GT_NOINLINE static void plant_manual(void) {
  marr = malloc(100 * sizeof(void *));
  for (int i = 0; i < 100; i++) {
    void *p = gh_alloc(64);
    gh_set_finalizer(p, gt_fin_count, &fin_m);
    marr[i] = p;
  }
  for (int i = 0; i < 20; i++) {
    void *p = gh_alloc(64);
    gh_set_finalizer(p, gt_fin_count, &fin_c);
    control[i] = p;
  }
}
static int case_scan_manual(void) {
  plant_manual();
  if (getenv("GT_EXPECT_NONE")) gt_settle(10);
  else gt_wait_count(&fin_m, 90, 5000);
  gt_settle(3);
  printf("fin_manual=%ld\nfin_global=%ld\n", atomic_load(&fin_m), atomic_load(&fin_c));
  return 0;
}

typedef struct tn {
  struct tn *l, *r;
  uint64_t v;
} tn;
static tn *tree(int d, uint64_t v) {
  tn *t = gh_alloc(sizeof *t);
  t->v = v;
  if (d > 0) t->l = tree(d - 1, v * 2), t->r = tree(d - 1, v * 2 + 1);
  return t;
}
static long tree_bad(tn *t, int d, uint64_t v) {
  if (!t || gh_base(t) != t || t->v != v) return 1;
  return d > 0 ? tree_bad(t->l, d - 1, v * 2) + tree_bad(t->r, d - 1, v * 2 + 1) : 0;
}
static tn *volatile groot;
static int case_workers(void) {
  groot = tree(14, 1);
  tn *local = tree(10, 1);
  long bad = 0;
  for (int i = 0; i < 10; i++) {
    garbage(4 * GT_MiB);
    gt_churn(sizeof(tn), 20000, 0);
    gh_collect();
    bad += tree_bad(groot, 14, 1) + tree_bad(local, 10, 1);
  }
  print_stats();
  printf("tree_bad=%ld\n", bad);
  return 0;
}

static int run_case(const char *name) {
  gh_set_error_mode(GH_ERROR_REPORT);
  if (!strcmp(name, "trace")) return case_trace();
  if (!strcmp(name, "gogc")) return case_gogc();
  if (!strcmp(name, "memlimit")) return case_memlimit();
  if (!strcmp(name, "memlimit-work")) return case_memlimit_work();
  if (!strcmp(name, "blocker")) return case_blocker();
  if (!strcmp(name, "scan-manual")) return case_scan_manual();
  if (!strcmp(name, "workers")) return case_workers();
  fprintf(stderr, "unknown case %s\n", name);
  return 2;
}

/* ======================= the parent side ======================= */

typedef struct {
  int status;     /* exit status, 128+signal, or -1 timeout */
  long ms;
  char *out, *err;
} result;

static char *slurp(FILE *f) {
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  rewind(f);
  char *b = malloc((size_t)n + 1);
  size_t got = fread(b, 1, (size_t)n, f);
  b[got] = 0;
  fclose(f);
  return b;
}

/* env: NULL-terminated "K=V" strings; every other GOHEAP_* variable is unset. */
static result run_child(const char *name, const char *const *env) {
  result r = {0, 0, NULL, NULL};
  FILE *o = tmpfile(), *e = tmpfile();
  uint64_t t0 = gt_now_ms();
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    static const char *clear[] = {"GOHEAP_DEBUG", "GOHEAP_GOGC", "GOHEAP_MEMLIMIT", "GOHEAP_GC_WORKERS",
                                  "GOHEAP_STOP_SIGNAL", "GOHEAP_STOP_TIMEOUT_MS", "GOHEAP_SCAN_MANUAL",
                                  "GOHEAP_ON_ERROR", "GT_BLOCK_SIG", "GT_BLOCK_HOW", "GT_EXPECT_NONE"};
    for (size_t i = 0; i < sizeof clear / sizeof clear[0]; i++) unsetenv(clear[i]);
    for (int i = 0; env && env[i]; i++) putenv((char *)env[i]);
    dup2(fileno(o), 1);
    dup2(fileno(e), 2);
    execl("/proc/self/exe", "gc-test_env", "--case", name, (char *)NULL);
    _exit(127);
  }
  int st = 0;
  for (;;) {
    pid_t w = waitpid(pid, &st, WNOHANG);
    if (w == pid) {
      r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      break;
    }
    if (gt_now_ms() - t0 > 20000) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      r.status = -1;
      break;
    }
    gt_sleep_ms(5);
  }
  r.ms = (long)(gt_now_ms() - t0);
  r.out = slurp(o);
  r.err = slurp(e);
  return r;
}

/* The value of "key=" in the child's stdout, or LLONG_MIN. */
static long long kv(const result *r, const char *key) {
  size_t k = strlen(key);
  for (const char *p = r->out; p && *p;) {
    if (!strncmp(p, key, k) && p[k] == '=') return strtoll(p + k + 1, NULL, 10);
    p = strchr(p, '\n');
    if (p) p++;
  }
  return LLONG_MIN;
}

static void show(const char *what, const result *r) {
  fprintf(stderr, "  [%s] status %d after %ld ms\n  stdout: %.600s\n  stderr: %.1500s\n", what, r->status, r->ms,
          r->out, r->err);
}
static void free_result(result *r) {
  free(r->out);
  free(r->err);
}

#define NUM "[0-9]+(\\.[0-9]+)?"
static const char *trace_re = "^gc ([0-9]+) @([0-9]+\\.[0-9]{3})s [0-9]+%: " NUM "\\+" NUM "\\+" NUM " ms clock, " NUM
                              "\\+" NUM "/" NUM "/" NUM "\\+" NUM " ms cpu, [0-9]+->[0-9]+->[0-9]+ MB, [0-9]+ MB goal, "
                              "[0-9]+ MB stacks, [0-9]+ MB globals, [0-9]+ P( \\(forced\\))?$";

static void test_gctrace(void) {
  const char *env[] = {"GOHEAP_DEBUG=gctrace=1", NULL};
  result r = run_child("trace", env);
  regex_t re;
  if (regcomp(&re, trace_re, REG_EXTENDED) != 0) abort();
  int lines = 0, bad = 0, order_bad = 0, forced = 0;
  long long last_n = 0;
  double last_t = -1;
  char *save = NULL;
  char *copy = strdup(r.err);
  for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    if (strncmp(line, "gc ", 3) != 0) continue;
    lines++;
    regmatch_t m[3];
    if (regexec(&re, line, 3, m, 0) != 0) {
      if (bad++ < 3) fprintf(stderr, "  gctrace line does not match Go's format: '%s'\n", line);
      continue;
    }
    long long n = strtoll(line + m[1].rm_so, NULL, 10);
    double t = strtod(line + m[2].rm_so, NULL);
    if (n != last_n + 1 || t < last_t) {
      if (order_bad++ < 3) fprintf(stderr, "  gctrace out of order: '%s' after gc %lld @%.3fs\n", line, last_n, last_t);
    }
    last_n = n, last_t = t;
    forced += strstr(line, "(forced)") != NULL;
  }
  free(copy);
  regfree(&re);
  long long num = kv(&r, "num_gc");
  int ok = r.status == 0 && lines > 0 && bad == 0;
  CHECKF("gctrace=1: the child ran and printed gc lines", r.status == 0 && lines >= 6, "%d lines", lines);
  CHECKF("gctrace=1: every 'gc ' line matches Go 1.19's format", lines > 0 && bad == 0, "%d of %d bad", bad, lines);
  CHECKF("gctrace=1: cycles numbered 1, 2, 3, ... with non-decreasing times", lines > 0 && order_bad == 0, "%d bad",
         order_bad);
  CHECKF("gctrace=1: one line per collection", num >= 0 && lines >= num && lines <= num + 1, "%d lines, num_gc %lld",
         lines, num);
  if (!ok) show("gctrace", &r);
  printf("gctrace: %d lines (%d forced)\n", lines, forced);
  free_result(&r);

  result q = run_child("trace", NULL);
  CHECKF("without GOHEAP_DEBUG no gc lines are printed", q.status == 0 && !strstr(q.err, "gc 1 @"), "status %d",
         q.status);
  if (q.status != 0 || strstr(q.err, "gc 1 @")) show("no trace", &q);
  free_result(&q);
}

static void test_gogc_env(void) {
  const char *off[] = {"GOHEAP_GOGC=off", NULL};
  result r = run_child("gogc", off);
  CHECKF("GOHEAP_GOGC=off: no automatic collection over 200 MB of garbage", r.status == 0 && kv(&r, "num_gc") == 0,
         "num_gc %lld", kv(&r, "num_gc"));
  CHECK("GOHEAP_GOGC=off: gc_percent is negative", kv(&r, "gc_percent") < 0 && kv(&r, "gc_percent") != LLONG_MIN);
  CHECK("GOHEAP_GOGC=off: gh_collect still collects", kv(&r, "collect_works") == 1);
  CHECK("GOHEAP_GOGC=off: gh_set_gc_percent returns a negative old value", kv(&r, "old_percent") < 0);
  if (r.status != 0 || kv(&r, "num_gc") != 0) show("GOGC=off", &r);
  free_result(&r);

  const char *fifty[] = {"GOHEAP_GOGC=50", NULL};
  r = run_child("memlimit", fifty);
  CHECKF("GOHEAP_GOGC=50: gc_percent 50", r.status == 0 && kv(&r, "gc_percent") == 50, "%lld", kv(&r, "gc_percent"));
  free_result(&r);

  const char *junk[] = {"GOHEAP_GOGC=lots", NULL};
  r = run_child("memlimit", junk);
  CHECKF("GOHEAP_GOGC=lots: a warning naming the variable, default 100 kept",
         r.status == 0 && strstr(r.err, "GOHEAP_GOGC") && kv(&r, "gc_percent") == 100, "gc_percent %lld",
         kv(&r, "gc_percent"));
  if (r.status != 0 || !strstr(r.err, "GOHEAP_GOGC")) show("GOGC=lots", &r);
  free_result(&r);
}

static void test_memlimit_env(void) {
  static const struct {
    const char *env;
    long long want;
  } cases[] = {
      {"GOHEAP_MEMLIMIT=64MiB", 64LL << 20},   {"GOHEAP_MEMLIMIT=512KiB", 512LL << 10},
      {"GOHEAP_MEMLIMIT=2GiB", 2LL << 30},     {"GOHEAP_MEMLIMIT=1TiB", 1LL << 40},
      {"GOHEAP_MEMLIMIT=100B", 100},           {"GOHEAP_MEMLIMIT=123456", 123456},
      {"GOHEAP_MEMLIMIT=off", INT64_MAX},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *env[] = {cases[i].env, NULL};
    result r = run_child("memlimit", env);
    char name[128];
    snprintf(name, sizeof name, "%s parses to %lld", cases[i].env, cases[i].want);
    CHECKF(name, r.status == 0 && kv(&r, "memory_limit") == cases[i].want && kv(&r, "query") == cases[i].want,
           "stats %lld, gh_set_memory_limit(-1) %lld, status %d", kv(&r, "memory_limit"), kv(&r, "query"), r.status);
    free_result(&r);
  }
  static const char *junk[] = {"GOHEAP_MEMLIMIT=64MB", "GOHEAP_MEMLIMIT=12parsecs"};
  for (size_t i = 0; i < 2; i++) {
    const char *env[] = {junk[i], NULL};
    result r = run_child("memlimit", env);
    char name[128];
    snprintf(name, sizeof name, "%s: a warning naming the variable, no limit", junk[i]);
    CHECKF(name, r.status == 0 && strstr(r.err, "GOHEAP_MEMLIMIT") && kv(&r, "memory_limit") == INT64_MAX,
           "limit %lld, status %d", kv(&r, "memory_limit"), r.status);
    if (r.status != 0 || !strstr(r.err, "GOHEAP_MEMLIMIT")) show(junk[i], &r);
    free_result(&r);
  }
  const char *work[] = {"GOHEAP_GOGC=off", "GOHEAP_MEMLIMIT=64MiB", NULL};
  result r = run_child("memlimit-work", work);
  CHECKF("GOGC=off + MEMLIMIT=64MiB: 512 MB of garbage is collected", r.status == 0 && kv(&r, "num_gc") >= 3,
         "num_gc %lld", kv(&r, "num_gc"));
  CHECKF("GOGC=off + MEMLIMIT=64MiB: heap_inuse stays < 96 MiB", kv(&r, "max_inuse") > 0 &&
                                                                     kv(&r, "max_inuse") < 96LL << 20,
         "max heap_inuse %lld MiB", kv(&r, "max_inuse") >> 20);
  if (r.status != 0) show("memlimit-work", &r);
  free_result(&r);
}

static void test_stop_signal(void) {
  char sig7[32], sig3[32], stopsig3[48];
  snprintf(sig7, sizeof sig7, "GT_BLOCK_SIG=%d", SIGRTMIN + 7);
  snprintf(sig3, sizeof sig3, "GT_BLOCK_SIG=%d", SIGRTMIN + 3);
  snprintf(stopsig3, sizeof stopsig3, "GOHEAP_STOP_SIGNAL=%d", SIGRTMIN + 3);

  const char *e1[] = {sig7, "GOHEAP_STOP_TIMEOUT_MS=200", NULL};
  result r = run_child("blocker", e1);
  int ok = r.status == 0 && kv(&r, "collect_returned") == 1;
  CHECKF("a thread blocking the stop signal: gh_collect returns, no hang", ok, "status %d (-1: killed after 20 s)",
         r.status);
  CHECKF("... within about the 200 ms timeout (< 3 s)", kv(&r, "collect_ms") >= 0 && kv(&r, "collect_ms") < 3000,
         "%lld ms", kv(&r, "collect_ms"));
  CHECK("... stderr names the thread (gt-blocker)", strstr(r.err, "gt-blocker") != NULL);
  CHECK("... the program goes on allocating", kv(&r, "alloc_after") == 1);
  CHECKF("... once unblocked (stale signal delivered), a collection completes",
         kv(&r, "after_unblocked") > kv(&r, "after_blocked") && kv(&r, "after_blocked") != LLONG_MIN, "%lld -> %lld",
         kv(&r, "after_blocked"), kv(&r, "after_unblocked"));
  CHECK("... the blocker's object survived", kv(&r, "held_ok") == 1);
  if (!ok || !strstr(r.err, "gt-blocker") || kv(&r, "after_unblocked") <= kv(&r, "after_blocked")) show("blocker", &r);
  free_result(&r);

  const char *e2[] = {sig7, NULL};
  r = run_child("blocker", e2);
  CHECKF("with the default stop timeout, gh_collect returns too (within 20 s)",
         r.status == 0 && kv(&r, "collect_returned") == 1 && strstr(r.err, "gt-blocker"), "status %d after %ld ms",
         r.status, r.ms);
  if (r.status != 0 || !strstr(r.err, "gt-blocker")) show("blocker, default timeout", &r);
  free_result(&r);

  const char *e3[] = {sig7, stopsig3, "GOHEAP_STOP_TIMEOUT_MS=200", NULL};
  r = run_child("blocker", e3);
  CHECKF("GOHEAP_STOP_SIGNAL=SIGRTMIN+3: blocking SIGRTMIN+7 does not matter, the collection completes",
         r.status == 0 && kv(&r, "after_blocked") == kv(&r, "before") + 1 && !strstr(r.err, "gt-blocker"),
         "status %d, num_gc %lld -> %lld", r.status, kv(&r, "before"), kv(&r, "after_blocked"));
  if (r.status != 0 || kv(&r, "after_blocked") != kv(&r, "before") + 1) show("stop signal +3, blocking +7", &r);
  free_result(&r);

  const char *e4[] = {sig3, stopsig3, "GOHEAP_STOP_TIMEOUT_MS=200", NULL};
  r = run_child("blocker", e4);
  CHECKF("GOHEAP_STOP_SIGNAL=SIGRTMIN+3: blocking SIGRTMIN+3 is reported, no hang",
         r.status == 0 && kv(&r, "collect_returned") == 1 && strstr(r.err, "gt-blocker") &&
             kv(&r, "after_unblocked") > kv(&r, "after_blocked"),
         "status %d", r.status);
  if (r.status != 0 || !strstr(r.err, "gt-blocker")) show("stop signal +3, blocking +3", &r);
  free_result(&r);

  for (int i = 0; i < 2; i++) {
    const char *e5[] = {sig7, i ? "GT_BLOCK_HOW=proc" : "GT_BLOCK_HOW=pthread", "GOHEAP_STOP_TIMEOUT_MS=200", NULL};
    r = run_child("blocker", e5);
    CHECKF(i ? "sigprocmask blocking every signal leaves the stop signal out: the collection completes"
             : "pthread_sigmask blocking every signal leaves the stop signal out: the collection completes",
           r.status == 0 && kv(&r, "after_blocked") == kv(&r, "before") + 1 && !strstr(r.err, "gt-blocker") &&
               kv(&r, "mask_ok") == 1,
           "status %d, num_gc %lld -> %lld, other signals blocked %lld", r.status, kv(&r, "before"),
           kv(&r, "after_blocked"), kv(&r, "mask_ok"));
    if (r.status != 0 || kv(&r, "after_blocked") != kv(&r, "before") + 1) show("blocking every signal", &r);
    free_result(&r);
  }
}

static void test_scan_manual(void) {
  const char *off[] = {"GOHEAP_SCAN_MANUAL=0", NULL};
  result r = run_child("scan-manual", off);
  CHECKF("GOHEAP_SCAN_MANUAL=0: objects referenced only from a malloc'd block are reclaimed (>= 90 of 100)",
         r.status == 0 && kv(&r, "fin_manual") >= 90, "%lld finalized", kv(&r, "fin_manual"));
  CHECKF("GOHEAP_SCAN_MANUAL=0: objects referenced from a global are not", kv(&r, "fin_global") == 0, "%lld",
         kv(&r, "fin_global"));
  if (r.status != 0) show("scan-manual=0", &r);
  free_result(&r);
  const char *def[] = {"GT_EXPECT_NONE=1", NULL};
  r = run_child("scan-manual", def);
  CHECKF("by default, a malloc'd block keeps the objects it points to", r.status == 0 && kv(&r, "fin_manual") == 0,
         "%lld finalized", kv(&r, "fin_manual"));
  free_result(&r);
}

static void test_workers(void) {
  static const char *w[] = {"GOHEAP_GC_WORKERS=1", "GOHEAP_GC_WORKERS=4"};
  for (int i = 0; i < 2; i++) {
    const char *env[] = {w[i], NULL};
    result r = run_child("workers", env);
    char name[96];
    snprintf(name, sizeof name, "%s: the live trees stay intact", w[i]);
    CHECKF(name, r.status == 0 && kv(&r, "tree_bad") == 0 && kv(&r, "num_gc") >= 10, "status %d, bad %lld, num_gc %lld",
           r.status, kv(&r, "tree_bad"), kv(&r, "num_gc"));
    if (r.status != 0) show(w[i], &r);
    free_result(&r);
  }
}

int main(int argc, char **argv) {
  if (argc >= 3 && !strcmp(argv[1], "--case")) return run_case(argv[2]);
  alarm(170);
  uint64_t t0 = gt_now_ms();
  test_gctrace();
  test_gogc_env();
  test_memlimit_env();
  test_stop_signal();
  test_scan_manual();
  test_workers();
  printf("test_env: %llu ms\n", (unsigned long long)(gt_now_ms() - t0));
  return TEST_SUMMARY();
}
