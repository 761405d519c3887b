/*
 * options.c -- every GOHEAP_* setting, in one table. (Go: runtime1.go:dbgvars.)
 *
 * Options are read once, at initialisation, from the environment by scanning
 * environ directly (getenv is avoided: nothing here may allocate). A bad value
 * prints a warning and keeps the default. GOHEAP_VERBOSE=1 prints the table.
 * No other file reads the environment.
 */
#include "internal.h"

typedef enum { KIND_GCMODE, KIND_BOOL, KIND_SIZE, KIND_INT, KIND_ERRMODE, KIND_GOGC, KIND_LIMIT, KIND_DEBUG, KIND_STATS, KIND_PATH } opt_kind;

typedef struct gh_option_desc {
  const char *name; /* environment variable */
  opt_kind kind;
  int64_t value;    /* current value; the default until init */
  const char *doc;
} gh_option_desc;

const char *const gh_gc_mode_names[3] = {[GH_GC_MODE_STW] = "stw", [GH_GC_MODE_CONCURRENT] = "concurrent",
                                          [GH_GC_MODE_MANUAL] = "manual"};

static GH_DATA gh_option_desc options[GH_OPT_COUNT] = {
  [GH_OPT_ON_ERROR] = {"GOHEAP_ON_ERROR", KIND_ERRMODE, GH_ERROR_ABORT,
                       "abort | report: what to do after reporting a bad free"},
  [GH_OPT_STATS] = {"GOHEAP_STATS", KIND_STATS, 0, "1 | json: print the heap summary (text or JSON) at exit"},
  [GH_OPT_STATS_FILE] = {"GOHEAP_STATS_FILE", KIND_PATH, 0, "write GOHEAP_STATS's summary to this file (%p: the pid) instead of stderr"},
  [GH_OPT_VERBOSE] = {"GOHEAP_VERBOSE", KIND_BOOL, 0, "print the options in effect at start-up"},
  [GH_OPT_RETAIN] = {"GOHEAP_RETAIN", KIND_SIZE, 32 << 20,
                     "free memory kept from the OS (bytes, K/M/G suffixes)"},
  [GH_OPT_RETAIN_PERCENT] = {"GOHEAP_RETAIN_PERCENT", KIND_INT, 10,
                             "...or this % of the heap in use, if larger"},
  [GH_OPT_SCAVENGER] = {"GOHEAP_SCAVENGER", KIND_BOOL, 1,
                        "0: no background thread returns free memory; the freeing thread does"},
  [GH_OPT_GOGC] = {"GOHEAP_GOGC", KIND_GOGC, 100, "collect when the heap grows by this % over the live heap; off: never"},
  [GH_OPT_MEMLIMIT] = {"GOHEAP_MEMLIMIT", KIND_LIMIT, INT64_MAX,
                       "soft memory limit (bytes, KiB/MiB/GiB/TiB suffixes; off: none)"},
  [GH_OPT_GCTRACE] = {"GOHEAP_DEBUG", KIND_DEBUG, 0, "gctrace=1: one line per collection on stderr"},
  [GH_OPT_GC_WORKERS] = {"GOHEAP_GC_WORKERS", KIND_INT, 0, "mark workers (0: one per CPU)"},
  [GH_OPT_GC_MODE] = {"GOHEAP_GC_MODE", KIND_GCMODE, GH_GC_MODE_STW,
                      "stw | concurrent | manual: mark with the world stopped, or while the program runs, with "
                      "the kernel's record of written pages (Linux 6.7+) or the program's gh_write_barrier calls"},
  [GH_OPT_SCAN_MANUAL] = {"GOHEAP_SCAN_MANUAL", KIND_BOOL, 1, "scan malloc'd objects for pointers to collected ones"},
  [GH_OPT_STOP_SIGNAL] = {"GOHEAP_STOP_SIGNAL", KIND_INT, 0, "signal that stops threads for a collection (0: SIGRTMIN+7)"},
  [GH_OPT_STOP_TIMEOUT_MS] = {"GOHEAP_STOP_TIMEOUT_MS", KIND_INT, 2000,
                              "a thread not stopped by then is reported and the collection cancelled"},
  [GH_OPT_MARK_BUFFERS] = {"GOHEAP_MARK_BUFFERS", KIND_INT, 0,
                           "cap on 4 KiB mark-stack buffers (0: none; small values test the overflow recovery)"},
  [GH_OPT_PROFILE_RATE] = {"GOHEAP_PROFILE_RATE", KIND_SIZE, 2 << 20,
                           "heap profile: sample one allocation per this many bytes on average (1: all; 0: off)"},
  [GH_OPT_PROFILE] = {"GOHEAP_PROFILE", KIND_PATH, 0, "write a pprof heap profile to this file (%p: the pid) at exit"},
  [GH_OPT_LEAKCHECK] = {"GOHEAP_LEAKCHECK", KIND_BOOL, 0,
                        "report malloc'd blocks nothing points to at exit (records every allocation's stack)"},
  [GH_OPT_LEAKCHECK_EXITCODE] = {"GOHEAP_LEAKCHECK_EXITCODE", KIND_INT, 23,
                                 "exit status when the leak check finds leaks (0: keep the program's)"},
  [GH_OPT_DUMP] = {"GOHEAP_DUMP", KIND_PATH, 0, "write a heap dump (goheap map's input) to this file (%p: the pid) at exit"},
};

static void warn(const char *name, const char *value) {
  char msg[200];
  gh_buf b = {msg, msg + sizeof msg - 1};
  gh_buf_str(&b, "goheap: warning: ignoring bad value ");
  gh_buf_str(&b, name);
  gh_buf_str(&b, "=");
  gh_buf_str(&b, value);
  gh_buf_str(&b, "; keeping the default\n");
  gh_os_write_stderr(msg, (size_t)(b.p - msg));
}

static bool str_eq(const char *a, const char *b) {
  while (*a && (*a | 32) == (*b | 32)) a++, b++;
  return *a == 0 && *b == 0;
}

/* Parses a decimal number with an optional K/M/G/T (or KiB...) suffix. */
static bool parse_size(const char *s, int64_t *out) {
  uint64_t v = 0;
  if (*s < '0' || *s > '9') return false;
  while (*s >= '0' && *s <= '9') {
    if (v > (UINT64_MAX - 9) / 10) return false;
    v = v * 10 + (uint64_t)(*s++ - '0');
  }
  int shift = 0;
  if (*s) {
    switch (*s++ | 32) {
    case 'k': shift = 10; break;
    case 'm': shift = 20; break;
    case 'g': shift = 30; break;
    case 't': shift = 40; break;
    default: return false;
    }
    if (*s && !str_eq(s, "ib") && !str_eq(s, "b")) return false;
  }
  if (v > (uint64_t)INT64_MAX >> shift) return false;
  *out = (int64_t)(v << shift);
  return true;
}

/* Go's GOMEMLIMIT: digits, then nothing, "B", or an IEC unit (KiB ... TiB). */
static bool parse_iec(const char *s, int64_t *out) {
  const char *digits_end = s;
  while (*digits_end >= '0' && *digits_end <= '9') digits_end++;
  if (digits_end == s) return false;
  static const char *const units[] = {"", "B", "KiB", "MiB", "GiB", "TiB"};
  for (int u = 0; u < 6; u++) {
    const char *a = digits_end, *b = units[u];
    while (*a && *a == *b) a++, b++;
    if (*a || *b) continue;
    char num[24];
    size_t n = (size_t)(digits_end - s);
    if (n >= sizeof num) return false;
    __builtin_memcpy(num, s, n);
    num[n] = 0;
    if (!parse_size(num, out)) return false;
    int shift = u <= 1 ? 0 : 10 * (u - 1);
    if (*out > INT64_MAX >> shift) return false;
    *out <<= shift;
    return true;
  }
  return false;
}

static void read_environment(void);

static bool parse(const gh_option_desc *o, const char *s, int64_t *out) {
  switch (o->kind) {
  case KIND_BOOL:
    if (str_eq(s, "1") || str_eq(s, "true") || str_eq(s, "on") || str_eq(s, "yes")) *out = 1;
    else if (str_eq(s, "0") || str_eq(s, "false") || str_eq(s, "off") || str_eq(s, "no")) *out = 0;
    else return false;
    return true;
  case KIND_ERRMODE:
    if (str_eq(s, "abort")) *out = GH_ERROR_ABORT;
    else if (str_eq(s, "report")) *out = GH_ERROR_REPORT;
    else return false;
    return true;
  case KIND_SIZE:
  case KIND_INT:
    return parse_size(s, out) && (o->kind == KIND_SIZE || *out <= 1000000);
  case KIND_GOGC:
    if (str_eq(s, "off")) *out = -1;
    else return parse_size(s, out) && *out <= 1000000;
    return true;
  case KIND_LIMIT: /* Go's GOMEMLIMIT syntax: a number with B, KiB, MiB, GiB or TiB */
    if (str_eq(s, "off")) *out = INT64_MAX;
    else return parse_iec(s, out);
    return true;
  case KIND_GCMODE:
    for (int64_t m = 0; m < 3; m++)
      if (str_eq(s, gh_gc_mode_names[m])) {
        *out = m;
        return true;
      }
    return false;
  case KIND_STATS:
    if (str_eq(s, "json")) *out = 2;
    else if (str_eq(s, "text")) *out = 1;
    else return parse(&(gh_option_desc){.kind = KIND_BOOL}, s, out);
    return true;
  case KIND_PATH: /* the environment string itself: it outlives the options */
    if (!*s) return false;
    *out = (int64_t)(uintptr_t)s;
    return true;
  case KIND_DEBUG: /* name=value; only gctrace is known */
    if (str_eq(s, "gctrace=1")) *out = 1;
    else if (str_eq(s, "gctrace=0")) *out = 0;
    else return false;
    return true;
  }
  return false;
}

static GH_DATA uint32_t xoptions_state; /* 0 unread, 1 being read, 2 read */

/* Reads the environment once; any caller returns after the options are set.
 * Called by initialisation and by the error path, which may come first (a
 * process whose first goheap call is a bad free still honours GOHEAP_ON_ERROR). */
void gh_options_init(void) {
  uint32_t state = gh_atomic_load_acquire(&xoptions_state);
  if (state == 2) return;
  if (state != 0 || !gh_atomic_cas(&xoptions_state, 0, 1)) {
    while (gh_atomic_load_acquire(&xoptions_state) != 2) gh_os_yield();
    return;
  }
  read_environment();
  gh_atomic_store_release(&xoptions_state, 2);
}

static void read_environment(void) {
  for (int i = 0; i < GH_OPT_COUNT; i++) {
    const char *s = gh_os_getenv(options[i].name);
    int64_t v;
    if (!s) continue;
    if (parse(&options[i], s, &v)) options[i].value = v;
    else warn(options[i].name, s);
  }
  if (options[GH_OPT_VERBOSE].value) gh_options_print();
}

int64_t gh_option_get(gh_option o) { return gh_atomic_load_relaxed(&options[o].value); }

const char *gh_option_path(gh_option o) { return (const char *)(uintptr_t)gh_option_get(o); }

void gh_option_set(gh_option o, int64_t v) { gh_atomic_store_relaxed(&options[o].value, v); }

void gh_options_print(void) {
  char msg[256];
  for (int i = 0; i < GH_OPT_COUNT; i++) {
    gh_buf b = {msg, msg + sizeof msg - 1};
    gh_buf_str(&b, i == 0 ? "goheap: version " GH_VERSION_STRING ", options:\n" : "");
    gh_buf_str(&b, "goheap:   ");
    gh_buf_str(&b, options[i].name);
    gh_buf_str(&b, "=");
    int64_t v = options[i].value;
    if (options[i].kind == KIND_ERRMODE) gh_buf_str(&b, v ? "report" : "abort");
    else if (options[i].kind == KIND_GOGC && v < 0) gh_buf_str(&b, "off");
    else if (options[i].kind == KIND_LIMIT && v == INT64_MAX) gh_buf_str(&b, "off");
    else if (options[i].kind == KIND_GCMODE) gh_buf_str(&b, gh_gc_mode_names[v]);
    else if (options[i].kind == KIND_DEBUG) gh_buf_str(&b, v ? "gctrace=1" : "gctrace=0");
    else if (options[i].kind == KIND_STATS) gh_buf_str(&b, v == 2 ? "json" : v ? "1" : "0");
    else if (options[i].kind == KIND_PATH) gh_buf_str(&b, v ? (const char *)(uintptr_t)v : "(none)");
    else gh_buf_u64(&b, (uint64_t)v);
    gh_buf_str(&b, "  (");
    gh_buf_str(&b, options[i].doc);
    gh_buf_str(&b, ")\n");
    gh_os_write_stderr(msg, (size_t)(b.p - msg));
  }
}
