/*
 * goheap.c -- the goheap command: run any program on goheap with its
 * observability switched on, and draw a heap dump as a map.
 *
 *   goheap run [options] [--] PROGRAM [ARGS...]
 *     Sets the GOHEAP_* variables the options name, puts libgoheap first in
 *     LD_PRELOAD and execs PROGRAM: the process IS the program, so its exit
 *     status and signals reach the caller unchanged. The library comes from
 *     --lib, else $GOHEAP_LIB, else next to this binary (libgoheap.so for the
 *     build tree, ../lib/libgoheap.so.0 for an installed tree), else the
 *     install path baked in at build time (GOHEAP_LIBDIR, for a LIBDIR that is
 *     not ../lib): a build tree's command never picks an installed library.
 *   goheap map HEAPDUMP -o FILE.svg
 *     Reads a dump written by gh_dump_heap / GOHEAP_DUMP (format in
 *     src/heapdump.c), checks every line, and draws each arena as a grid of
 *     pages, 128 to a row: one outlined shape per span, its hue the object
 *     size (log scale), its lightness how full it is, its border the kind
 *     (manual solid, collected dashed or dotted); free pages grey, released
 *     white, reserved (not committed) pages very light. Rows at an arena's
 *     end that are only reserved are left out and counted in a note.
 *
 * Exit status: run: the program's, 126 if it cannot be executed, 127 if it
 * is not found; map: 0, or 1 for a bad dump or an output error; 2 for usage
 * errors (and a library that cannot be found). Plain C and libc: this is not
 * the library, and it may allocate.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "goheap.h"

#define EXIT_BAD_DUMP 1
#define EXIT_USAGE 2
#define EXIT_CANNOT_EXECUTE 126
#define EXIT_NOT_FOUND 127

#define STR2(x) #x
#define STR(x) STR2(x)
#define VERSION_STRING STR(GOHEAP_VERSION_MAJOR) "." STR(GOHEAP_VERSION_MINOR) "." STR(GOHEAP_VERSION_PATCH)

static const char usage_text[] =
    "usage: goheap run [options] [--] PROGRAM [ARGS...]\n"
    "       goheap map HEAPDUMP -o FILE.svg\n"
    "       goheap --help | --version\n"
    "\n"
    "goheap run: runs PROGRAM with libgoheap preloaded (LD_PRELOAD); the exit\n"
    "status and signals are the program's. The '--' is needed only when PROGRAM\n"
    "starts with '-'. Options (each sets a GOHEAP_* variable; see README.md):\n"
    "  --stats               heap summary on stderr at exit      GOHEAP_STATS=1\n"
    "  --json FILE           the summary as JSON, into FILE      GOHEAP_STATS=json,\n"
    "                                                            GOHEAP_STATS_FILE\n"
    "  --profile FILE        pprof heap profile at exit          GOHEAP_PROFILE\n"
    "  --profile-rate BYTES  mean bytes between samples          GOHEAP_PROFILE_RATE\n"
    "  --leaks               leak report at exit                 GOHEAP_LEAKCHECK=1\n"
    "  --leaks-exitcode N    exit status if leaks are found      GOHEAP_LEAKCHECK_EXITCODE\n"
    "  --dump FILE           heap dump at exit (goheap map's input) GOHEAP_DUMP\n"
    "  --gctrace             one line per collection on stderr   GOHEAP_DEBUG=gctrace=1\n"
    "  --gogc N|off          collector's heap growth percent     GOHEAP_GOGC\n"
    "  --memlimit SIZE|off   soft memory limit (e.g. 512MiB)     GOHEAP_MEMLIMIT\n"
    "  --lib PATH            the library to preload (default: $GOHEAP_LIB, the\n"
    "                        installed one, or the one next to this program)\n"
    "In FILE names %p becomes the process id (one file per process when the\n"
    "program starts others). Options also take the form --name=VALUE.\n"
    "\n"
    "goheap map: draws a heap dump (GOHEAP_DUMP, gh_dump_heap) as an SVG map of\n"
    "the address space: one grid of pages per arena, each span coloured by object\n"
    "size and occupancy. HEAPDUMP or FILE may be '-' (stdin, stdout).\n"
    "\n"
    "Exit status: the program's (run); 1 a malformed dump (map); 2 usage errors;\n"
    "126 PROGRAM cannot be executed; 127 PROGRAM not found.\n";

static __attribute__((noreturn, format(printf, 1, 2))) void usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("goheap: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs("\nTry 'goheap --help'.\n", stderr);
  exit(EXIT_USAGE);
}

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n);
  if (!q) {
    fputs("goheap: out of memory\n", stderr);
    exit(EXIT_BAD_DUMP);
  }
  return q;
}

/* ======================= goheap run =================================================== */

/* An option of `goheap run`: it sets `env` to `value`; if it takes an
 * argument (checked by `valid` if given), that goes into variable `arg_env`
 * or into *store. */
typedef struct run_option {
  const char *name;
  const char *env, *value;
  const char *arg_env;
  const char **store;
  bool (*valid)(const char *arg);
} run_option;

static const char *lib_option; /* --lib */

static bool all_digits(const char *s, const char **end) {
  const char *p = s;
  while (*p >= '0' && *p <= '9') p++;
  *end = p;
  return p != s;
}

static bool valid_count(const char *s) {
  const char *end;
  return all_digits(s, &end) && *end == 0;
}

static bool valid_gogc(const char *s) { return strcmp(s, "off") == 0 || valid_count(s); }

static bool valid_exitcode(const char *s) { return valid_count(s) && strlen(s) <= 3 && atoi(s) <= 255; }

/* Digits with an optional K/M/G/T suffix (KiB, MB... too), as GOHEAP_PROFILE_RATE. */
static bool valid_size(const char *s) {
  const char *end;
  if (!all_digits(s, &end)) return false;
  if (*end == 0) return true;
  if (!strchr("kKmMgGtT", *end)) return false;
  end++;
  return *end == 0 || strcasecmp(end, "b") == 0 || strcasecmp(end, "ib") == 0;
}

/* Go's GOMEMLIMIT: digits, then nothing, B, KiB, MiB, GiB or TiB; or off. */
static bool valid_memlimit(const char *s) {
  static const char *const units[] = {"", "B", "KiB", "MiB", "GiB", "TiB"};
  const char *end;
  if (strcmp(s, "off") == 0) return true;
  if (!all_digits(s, &end)) return false;
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    if (strcmp(end, units[i]) == 0) return true;
  return false;
}

static const run_option run_options[] = {
    {"stats", "GOHEAP_STATS", "1", NULL, NULL, NULL},
    {"json", "GOHEAP_STATS", "json", "GOHEAP_STATS_FILE", NULL, NULL},
    {"profile", NULL, NULL, "GOHEAP_PROFILE", NULL, NULL},
    {"profile-rate", NULL, NULL, "GOHEAP_PROFILE_RATE", NULL, valid_size},
    {"leaks", "GOHEAP_LEAKCHECK", "1", NULL, NULL, NULL},
    {"leaks-exitcode", NULL, NULL, "GOHEAP_LEAKCHECK_EXITCODE", NULL, valid_exitcode},
    {"dump", NULL, NULL, "GOHEAP_DUMP", NULL, NULL},
    {"gctrace", "GOHEAP_DEBUG", "gctrace=1", NULL, NULL, NULL},
    {"gogc", NULL, NULL, "GOHEAP_GOGC", NULL, valid_gogc},
    {"memlimit", NULL, NULL, "GOHEAP_MEMLIMIT", NULL, valid_memlimit},
    {"lib", NULL, NULL, NULL, &lib_option, NULL},
};

static const run_option *find_run_option(const char *name, size_t len) {
  for (size_t i = 0; i < sizeof run_options / sizeof run_options[0]; i++)
    if (strlen(run_options[i].name) == len && strncmp(run_options[i].name, name, len) == 0) return &run_options[i];
  return NULL;
}

static void set_env(const char *name, const char *value) {
  if (setenv(name, value, 1) != 0) {
    fprintf(stderr, "goheap: cannot set %s: %s\n", name, strerror(errno));
    exit(EXIT_USAGE);
  }
}

/* Applies option argv[*i] (and its argument, which may be the next word). */
static void apply_run_option(char **argv, int argc, int *i) {
  const char *arg = argv[*i] + 2, *eq = strchr(arg, '='), *value = NULL;
  size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
  const run_option *o = find_run_option(arg, len);
  if (!o) usage_error("run: unknown option '%s'", argv[*i]);
  if (o->arg_env || o->store) {
    if (eq) value = eq + 1;
    else if (*i + 1 < argc) value = argv[++*i];
    else usage_error("run: option '--%s' needs an argument", o->name);
    if (!*value || (o->valid && !o->valid(value))) usage_error("run: bad value '%s' for --%s", value, o->name);
  } else if (eq) {
    usage_error("run: option '--%s' takes no argument", o->name);
  }
  if (o->env) set_env(o->env, o->value);
  if (o->arg_env) set_env(o->arg_env, value);
  if (o->store) *o->store = value;
}

/* An absolute path to an existing file, or NULL. */
static char *existing(const char *path) {
  if (!path || access(path, R_OK) != 0) return NULL;
  return realpath(path, NULL);
}

/* path joined to the directory of this executable. */
static char *beside_self(const char *rel) {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return NULL;
  self[n] = 0;
  char *slash = strrchr(self, '/');
  if (!slash) return NULL;
  slash[1] = 0;
  char *path = xrealloc(NULL, strlen(self) + strlen(rel) + 1);
  strcpy(path, self);
  strcat(path, rel);
  char *abs = existing(path);
  free(path);
  return abs;
}

static char *find_library(const char *lib_opt) {
  const char *chosen = lib_opt ? lib_opt : getenv("GOHEAP_LIB");
  if (chosen) {
    char *abs = existing(chosen);
    if (!abs) usage_error("library %s: %s (from %s)", chosen, strerror(errno), lib_opt ? "--lib" : "GOHEAP_LIB");
    return abs;
  }
  char *abs = beside_self("libgoheap.so");
  if (!abs) abs = beside_self("../lib/libgoheap.so.0");
#ifdef GOHEAP_LIBDIR
  if (!abs) abs = existing(GOHEAP_LIBDIR "/libgoheap.so.0");
#endif
  if (!abs) usage_error("cannot find libgoheap.so; give it with --lib PATH or GOHEAP_LIB");
  return abs;
}

/* LD_PRELOAD = lib, then whatever was there. */
static void preload(const char *lib) {
  const char *old = getenv("LD_PRELOAD");
  char *value = xrealloc(NULL, strlen(lib) + (old ? strlen(old) : 0) + 2);
  strcpy(value, lib);
  if (old && *old) {
    strcat(value, ":");
    strcat(value, old);
  }
  set_env("LD_PRELOAD", value);
  free(value);
}

static int cmd_run(int argc, char **argv) {
  int i = 2;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (strcmp(argv[i], "--") == 0) {
      i++;
      break;
    }
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      fputs(usage_text, stdout);
      return 0;
    }
    if (strncmp(argv[i], "--", 2) != 0) usage_error("run: unknown option '%s'", argv[i]);
    apply_run_option(argv, argc, &i);
  }
  if (i >= argc) usage_error("run: no program given");
  char *lib = find_library(lib_option);
  preload(lib);
  free(lib);
  execvp(argv[i], argv + i);
  int e = errno;
  fprintf(stderr, "goheap: %s: %s\n", argv[i], strerror(e));
  return e == ENOENT || e == ENOTDIR ? EXIT_NOT_FOUND : EXIT_CANNOT_EXECUTE;
}

/* ======================= goheap map: reading a dump ==================================== */

typedef enum { RUN_SPAN, RUN_FREE, RUN_RELEASED, RUN_RESERVED } run_kind;
typedef enum { KIND_MANUAL, KIND_SCAN, KIND_NOSCAN } span_kind;
static const char *const span_kind_names[] = {"manual", "scan", "noscan"};

/* One record of pages: a span, or a run of free, released or reserved pages. */
typedef struct page_run {
  run_kind kind;
  uint64_t start, npages;
  unsigned long line;
  /* spans only */
  char state[32];
  uint64_t spanclass, sizeclass, elemsize, nelems, allocated, swept;
  span_kind span_kind;
} page_run;

typedef struct arena {
  uint64_t base, size;
  uint64_t used_pages;       /* pages up to the last one that is not reserved */
  uint64_t shown_rows, rows; /* rows drawn; rows in all */
  double y;                  /* top of its grid in the picture */
} arena;

typedef struct heapdump {
  uint64_t pid, pagesize;
  arena *arenas;
  size_t narenas;
  page_run *runs;
  size_t nruns, cap;
} heapdump;

#define MAX_FIELDS 12

typedef struct parser {
  const char *file;
  unsigned long line;
  char *f[MAX_FIELDS];
  int nf;
  heapdump *d;
} parser;

static __attribute__((noreturn, format(printf, 2, 3))) void bad_dump(const parser *p, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "goheap: map: %s:%lu: ", p->file, p->line);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(EXIT_BAD_DUMP);
}

/* Splits the line into fields at spaces; too many is an error. */
static void split(parser *p, char *line) {
  p->nf = 0;
  for (char *tok = strtok(line, " \t\r\n"); tok; tok = strtok(NULL, " \t\r\n")) {
    if (p->nf == MAX_FIELDS) bad_dump(p, "too many fields");
    p->f[p->nf++] = tok;
  }
}

static int digit_value(char c, int base) {
  if (c >= '0' && c <= '9') return c - '0';
  if (base == 16 && c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (base == 16 && c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Field i as a decimal number, or (base 16) a 0x address. */
static uint64_t parse_number(const parser *p, int i, int base, const char *what) {
  const char *s = p->f[i], *digits = base == 16 ? s + 2 : s;
  if (base == 16 && strncmp(s, "0x", 2) != 0) bad_dump(p, "%s '%s' is not a 0x hex address", what, s);
  if (!*digits) bad_dump(p, "%s '%s' is not a number", what, s);
  uint64_t v = 0;
  for (const char *c = digits; *c; c++) {
    int dv = digit_value(*c, base);
    if (dv < 0) bad_dump(p, "%s '%s' is not a number", what, s);
    if (v > (UINT64_MAX - (uint64_t)dv) / (uint64_t)base) bad_dump(p, "%s '%s' is too large", what, s);
    v = v * (uint64_t)base + (uint64_t)dv;
  }
  return v;
}

static uint64_t parse_flag(const parser *p, int i, const char *what) {
  uint64_t v = parse_number(p, i, 10, what);
  if (v > 1) bad_dump(p, "%s must be 0 or 1, not %s", what, p->f[i]);
  return v;
}

static void need_fields(const parser *p, int n, const char *layout) {
  if (p->nf != n) bad_dump(p, "'%s' record needs %d fields (%s), found %d", p->f[0], n, layout, p->nf);
  if (!p->d->pagesize) bad_dump(p, "'%s' record before the pagesize record", p->f[0]);
}

/* The index of the arena holding addr (arenas are sorted), or narenas if none. */
static size_t arena_index(const heapdump *d, uint64_t addr) {
  size_t lo = 0, hi = d->narenas;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (addr < d->arenas[mid].base) hi = mid;
    else if (addr - d->arenas[mid].base >= d->arenas[mid].size) lo = mid + 1;
    else return mid;
  }
  return d->narenas;
}

static page_run *new_run(parser *p, run_kind kind) {
  heapdump *d = p->d;
  page_run r = {.kind = kind, .line = p->line};
  r.start = parse_number(p, 1, 16, "START");
  r.npages = parse_number(p, 2, 10, "NPAGES");
  if (r.start % d->pagesize) bad_dump(p, "START %s is not page aligned", p->f[1]);
  if (!r.npages) bad_dump(p, "NPAGES is 0");
  if (r.npages > (UINT64_MAX - r.start) / d->pagesize) bad_dump(p, "NPAGES %s is too large", p->f[2]);
  if (arena_index(d, r.start) == d->narenas) bad_dump(p, "START %s is in no arena", p->f[1]);
  if (d->nruns == d->cap) {
    d->cap = d->cap ? 2 * d->cap : 1024;
    d->runs = xrealloc(d->runs, d->cap * sizeof *d->runs);
  }
  d->runs[d->nruns] = r;
  return &d->runs[d->nruns++];
}

static span_kind parse_span_kind(const parser *p, int i) {
  for (int k = 0; k < 3; k++)
    if (strcmp(p->f[i], span_kind_names[k]) == 0) return (span_kind)k;
  bad_dump(p, "KIND '%s' is not manual, scan or noscan", p->f[i]);
}

static void rec_span(parser *p) {
  need_fields(p, 11, "span START NPAGES STATE SPANCLASS SIZECLASS KIND ELEMSIZE NELEMS ALLOCATED SWEPT");
  page_run *r = new_run(p, RUN_SPAN);
  if (strlen(p->f[3]) >= sizeof r->state) bad_dump(p, "STATE '%s' is too long", p->f[3]);
  strcpy(r->state, p->f[3]);
  r->spanclass = parse_number(p, 4, 10, "SPANCLASS");
  r->sizeclass = parse_number(p, 5, 10, "SIZECLASS");
  r->span_kind = parse_span_kind(p, 6);
  r->elemsize = parse_number(p, 7, 10, "ELEMSIZE");
  r->nelems = parse_number(p, 8, 10, "NELEMS");
  r->allocated = parse_number(p, 9, 10, "ALLOCATED");
  r->swept = parse_flag(p, 10, "SWEPT");
  if (!r->elemsize || !r->nelems) bad_dump(p, "ELEMSIZE and NELEMS must not be 0");
  if (r->allocated > r->nelems) bad_dump(p, "ALLOCATED %s is more than NELEMS %s", p->f[9], p->f[8]);
}

static void rec_free(parser *p) {
  need_fields(p, 4, "free START NPAGES RELEASED");
  page_run *r = new_run(p, RUN_FREE);
  if (parse_flag(p, 3, "RELEASED")) r->kind = RUN_RELEASED;
}

static void rec_reserved(parser *p) {
  need_fields(p, 3, "reserved START NPAGES");
  new_run(p, RUN_RESERVED);
}

static void rec_arena(parser *p) {
  need_fields(p, 3, "arena BASE SIZE");
  heapdump *d = p->d;
  arena a = {.base = parse_number(p, 1, 16, "BASE"), .size = parse_number(p, 2, 10, "SIZE")};
  if (a.base % d->pagesize || !a.size || a.size % d->pagesize) bad_dump(p, "arena is not a whole number of pages");
  if (d->narenas && a.base < d->arenas[d->narenas - 1].base + d->arenas[d->narenas - 1].size)
    bad_dump(p, "arenas must be in address order, without overlap");
  if (d->nruns) bad_dump(p, "arena record after page records");
  d->arenas = xrealloc(d->arenas, (d->narenas + 1) * sizeof *d->arenas);
  d->arenas[d->narenas++] = a;
}

static void rec_pid(parser *p) {
  if (p->nf != 2) bad_dump(p, "'pid' record needs 2 fields (pid PID), found %d", p->nf);
  p->d->pid = parse_number(p, 1, 10, "PID");
}

static void rec_pagesize(parser *p) {
  if (p->nf != 2) bad_dump(p, "'pagesize' record needs 2 fields (pagesize BYTES), found %d", p->nf);
  uint64_t ps = parse_number(p, 1, 10, "pagesize");
  if (!ps || (ps & (ps - 1))) bad_dump(p, "pagesize %s is not a power of two", p->f[1]);
  p->d->pagesize = ps;
}

static const struct {
  const char *name;
  void (*parse)(parser *p);
} records[] = {
    {"pid", rec_pid}, {"pagesize", rec_pagesize}, {"arena", rec_arena},
    {"span", rec_span}, {"free", rec_free}, {"reserved", rec_reserved},
};

static void check_header(parser *p) {
  if (p->nf != 2 || strcmp(p->f[0], "goheap-heapdump") != 0)
    bad_dump(p, "not a goheap heap dump (no 'goheap-heapdump 1' line)");
  if (strcmp(p->f[1], "1") != 0) bad_dump(p, "dump format version %s; this goheap reads version 1", p->f[1]);
}

/* Parses one line after the header; returns false at the end record. */
static bool parse_record(parser *p) {
  if (p->nf == 0) bad_dump(p, "empty line");
  if (strcmp(p->f[0], "end") == 0) {
    if (p->nf != 1) bad_dump(p, "'end' record takes no fields");
    return false;
  }
  for (size_t i = 0; i < sizeof records / sizeof records[0]; i++)
    if (strcmp(p->f[0], records[i].name) == 0) {
      records[i].parse(p);
      return true;
    }
  bad_dump(p, "unknown record '%s'", p->f[0]);
}

/* By address; records at one address in the order of their lines. */
static int by_start(const void *a, const void *b) {
  const page_run *x = a, *y = b;
  if (x->start != y->start) return x->start < y->start ? -1 : 1;
  return x->line < y->line ? -1 : x->line > y->line;
}

/* Sorts the runs by address and rejects overlapping ones. */
static void check_overlaps(parser *p) {
  heapdump *d = p->d;
  qsort(d->runs, d->nruns, sizeof *d->runs, by_start);
  for (size_t i = 1; i < d->nruns; i++) {
    const page_run *a = &d->runs[i - 1], *b = &d->runs[i];
    if (b->start < a->start + a->npages * d->pagesize) {
      p->line = b->line;
      bad_dump(p, "pages overlap those of line %lu", a->line);
    }
  }
}

static void read_dump(FILE *in, const char *file, heapdump *d) {
  parser p = {.file = file, .d = d};
  char *line = NULL;
  size_t cap = 0;
  bool ended = false;
  while (getline(&line, &cap, in) >= 0) {
    p.line++;
    if (ended) bad_dump(&p, "text after the 'end' record");
    split(&p, line);
    if (p.line == 1) check_header(&p);
    else ended = !parse_record(&p);
  }
  p.line++;
  if (ferror(in)) bad_dump(&p, "read error: %s", strerror(errno));
  if (p.line == 1) bad_dump(&p, "empty file");
  if (!ended) bad_dump(&p, "no 'end' record: the dump is truncated");
  free(line);
  check_overlaps(&p);
}

/* ======================= goheap map: drawing ========================================== */

#define COLS 128       /* pages per row */
#define CELL 8         /* pixels per page */
#define MARGIN 16
#define GRID_W (COLS * CELL)
#define PIC_W (GRID_W + 2 * MARGIN)
#define TITLE_H 52
#define LEGEND_H 128
#define ARENA_LABEL_H 18
#define ARENA_NOTE_H 16
#define ARENA_GAP 14

static const char *const free_fill = "#a6a6a6", *const released_fill = "#ffffff", *const reserved_fill = "#f3f3f3";

static void human_bytes(char *out, size_t n, uint64_t v) {
  static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double x = (double)v;
  int u = 0;
  while (x >= 1024 && u < 4) x /= 1024, u++;
  snprintf(out, n, u ? "%.1f %s" : "%.0f %s", x, units[u]);
}

/* hsl (h in degrees, s and l in 0..1) as #rrggbb. */
static void hsl_hex(char out[8], double h, double s, double l) {
  double c = (1 - fabs(2 * l - 1)) * s, hp = fmod(h, 360) / 60, x = c * (1 - fabs(fmod(hp, 2) - 1));
  double rgb[3] = {0, 0, 0};
  int sector = (int)hp;
  int ci = (sector == 0 || sector == 5) ? 0 : (sector <= 2 ? 1 : 2);    /* the strongest channel */
  int xi = (sector == 1 || sector == 4) ? 0 : (sector == 0 || sector == 3) ? 1 : 2; /* the middle one */
  rgb[ci] = c;
  rgb[xi] = x;
  double m = l - c / 2;
  snprintf(out, 8, "#%02x%02x%02x", (int)lround((rgb[0] + m) * 255), (int)lround((rgb[1] + m) * 255),
           (int)lround((rgb[2] + m) * 255));
}

/* Hue by object size on a log scale: 8 B blue ... 32 KiB red; large objects magenta. */
static double size_hue(uint64_t elemsize, bool large) {
  if (large) return 300;
  double t = (log2((double)elemsize) - 3) / 12;
  if (t < 0) t = 0;
  if (t > 1) t = 1;
  return 240 - 240 * t;
}

/* Lightness by occupancy: empty 90%, full 35%. */
static double occupancy_lightness(double occ) { return 0.90 - 0.55 * occ; }

static void span_fill(char out[8], const page_run *r) {
  double occupancy = (double)r->allocated / (double)r->nelems;
  hsl_hex(out, size_hue(r->elemsize, r->sizeclass == 0), 0.75, occupancy_lightness(occupancy));
}

/* ---- layout: which rows of each arena are drawn, and where ---- */

/* Raises used_pages of every arena the run covers (a span may cover several). */
static void note_used(heapdump *d, const page_run *r) {
  uint64_t end = r->start + r->npages * d->pagesize;
  for (size_t i = arena_index(d, r->start); i < d->narenas && d->arenas[i].base < end; i++) {
    arena *a = &d->arenas[i];
    uint64_t used = end - a->base >= a->size ? a->size / d->pagesize : (end - a->base) / d->pagesize;
    if (used > a->used_pages) a->used_pages = used;
  }
}

/* Which rows of each arena are drawn (up to the last that is not only
 * reserved pages), and where each arena's grid goes; returns the picture's height. */
static double layout(heapdump *d) {
  for (size_t j = 0; j < d->nruns; j++)
    if (d->runs[j].kind != RUN_RESERVED) note_used(d, &d->runs[j]);
  double y = TITLE_H + LEGEND_H;
  if (!d->narenas) return y + 30; /* room for a line saying so */
  for (size_t i = 0; i < d->narenas; i++) {
    arena *a = &d->arenas[i];
    a->rows = (a->size / d->pagesize + COLS - 1) / COLS;
    a->shown_rows = a->used_pages ? (a->used_pages + COLS - 1) / COLS : 1;
    a->y = y + ARENA_LABEL_H;
    y = a->y + (double)(a->shown_rows * CELL) + (a->shown_rows < a->rows ? ARENA_NOTE_H : 4) + ARENA_GAP;
  }
  return y - ARENA_GAP + MARGIN;
}

/* ---- shapes: a run of cells in a grid, as one outline ---- */

static void point(FILE *o, const char *cmd, uint64_t col, uint64_t row, double y0) {
  fprintf(o, "%s%llu %g", cmd, (unsigned long long)(MARGIN + col * CELL), y0 + (double)(row * CELL));
}

/* Columns [c0, c1) of row r. */
static void row_rect(FILE *o, uint64_t c0, uint64_t c1, uint64_t r, double y0) {
  point(o, "M", c0, r, y0);
  point(o, "L", c1, r, y0);
  point(o, "L", c1, r + 1, y0);
  point(o, "L", c0, r + 1, y0);
  fputs("Z", o);
}

/* Cells [i0, i1) of a grid COLS wide whose top is at y0: a rectangle, two, or an octagon. */
static void cells_outline(FILE *o, uint64_t i0, uint64_t i1, double y0) {
  uint64_t r0 = i0 / COLS, c0 = i0 % COLS, rl = (i1 - 1) / COLS, cl = (i1 - 1) % COLS + 1;
  if (r0 == rl || (rl == r0 + 1 && cl <= c0)) { /* one row, or two that do not touch */
    row_rect(o, c0, r0 == rl ? cl : COLS, r0, y0);
    if (r0 != rl) row_rect(o, 0, cl, rl, y0);
    return;
  }
  const uint64_t xy[8][2] = {{c0, r0}, {COLS, r0}, {COLS, rl}, {cl, rl},
                             {cl, rl + 1}, {0, rl + 1}, {0, r0 + 1}, {c0, r0 + 1}};
  for (int k = 0; k < 8; k++) point(o, k ? "L" : "M", xy[k][0], xy[k][1], y0);
  fputs("Z", o);
}

/* The outline of a run's pages in every arena it covers (a span may be larger than one). */
static void run_outline(FILE *o, const heapdump *d, const page_run *r) {
  uint64_t start = r->start, end = r->start + r->npages * d->pagesize;
  for (size_t i = 0; i < d->narenas; i++) {
    const arena *a = &d->arenas[i];
    uint64_t lo = start > a->base ? start : a->base, hi = end < a->base + a->size ? end : a->base + a->size;
    if (lo >= hi) continue;
    uint64_t i0 = (lo - a->base) / d->pagesize, i1 = (hi - a->base) / d->pagesize;
    if (i1 > a->shown_rows * COLS) i1 = a->shown_rows * COLS; /* only reserved pages are cut */
    if (i0 < i1) cells_outline(o, i0, i1, a->y);
  }
}

/* ---- the picture ---- */

static void xml_text(FILE *o, const char *s) {
  for (; *s; s++) {
    if (*s == '<') fputs("&lt;", o);
    else if (*s == '>') fputs("&gt;", o);
    else if (*s == '&') fputs("&amp;", o);
    else if (*s == '"') fputs("&quot;", o);
    else fputc(*s, o);
  }
}

static void span_title(FILE *o, const page_run *r) {
  char size[32];
  human_bytes(size, sizeof size, r->elemsize);
  fprintf(o, "<title>0x%llx: %llu page%s, ", (unsigned long long)r->start, (unsigned long long)r->npages,
          r->npages == 1 ? "" : "s");
  if (r->sizeclass) fprintf(o, "size class %llu (%s objects)", (unsigned long long)r->sizeclass, size);
  else fprintf(o, "one large object (%s)", size);
  fprintf(o, ", %s, %llu/%llu allocated, ", span_kind_names[r->span_kind], (unsigned long long)r->allocated,
          (unsigned long long)r->nelems);
  xml_text(o, r->state);
  fprintf(o, "%s</title>", r->swept ? "" : ", not yet swept");
}

/* One element per span: class "span KIND", its numbers as data-* attributes. */
static void svg_span(FILE *o, const heapdump *d, const page_run *r) {
  static const char *const dash[] = {"", " stroke-dasharray=\"3 2\"", " stroke-dasharray=\"1 1.5\""};
  char fill[8];
  span_fill(fill, r);
  fprintf(o, "<path class=\"span %s\" data-start=\"0x%llx\" data-pages=\"%llu\" data-spanclass=\"%llu\" ",
          span_kind_names[r->span_kind], (unsigned long long)r->start, (unsigned long long)r->npages,
          (unsigned long long)r->spanclass);
  fprintf(o, "data-sizeclass=\"%llu\" data-elemsize=\"%llu\" data-allocated=\"%llu\" data-nelems=\"%llu\" ",
          (unsigned long long)r->sizeclass, (unsigned long long)r->elemsize, (unsigned long long)r->allocated,
          (unsigned long long)r->nelems);
  fprintf(o, "fill=\"%s\"%s d=\"", fill, dash[r->span_kind]);
  run_outline(o, d, r);
  fputs("\">", o);
  span_title(o, r);
  fputs("</path>\n", o);
}

static void svg_pages(FILE *o, const heapdump *d, const page_run *r) {
  static const char *const names[] = {"", "free", "released", "reserved"};
  const char *fill = r->kind == RUN_FREE ? free_fill : r->kind == RUN_RELEASED ? released_fill : reserved_fill;
  fprintf(o, "<path class=\"%s\" data-start=\"0x%llx\" data-pages=\"%llu\" fill=\"%s\" d=\"", names[r->kind],
          (unsigned long long)r->start, (unsigned long long)r->npages, fill);
  run_outline(o, d, r);
  fprintf(o, "\"><title>0x%llx: %llu %s page%s</title></path>\n", (unsigned long long)r->start,
          (unsigned long long)r->npages, names[r->kind], r->npages == 1 ? "" : "s");
}

typedef struct totals {
  uint64_t spans, manual, collected, inuse_pages, objects, object_bytes, free_pages, released_pages;
} totals;

static totals count(const heapdump *d) {
  totals t = {0};
  for (size_t i = 0; i < d->nruns; i++) {
    const page_run *r = &d->runs[i];
    if (r->kind == RUN_FREE || r->kind == RUN_RELEASED) t.free_pages += r->npages;
    if (r->kind == RUN_RELEASED) t.released_pages += r->npages;
    if (r->kind != RUN_SPAN) continue;
    t.spans++;
    if (r->span_kind == KIND_MANUAL) t.manual++;
    else t.collected++;
    t.inuse_pages += r->npages;
    t.objects += r->allocated;
    t.object_bytes += r->allocated * r->elemsize;
  }
  return t;
}

static void svg_title(FILE *o, const heapdump *d) {
  totals t = count(d);
  char inuse[32], objs[32], freeb[32], rel[32];
  human_bytes(inuse, sizeof inuse, t.inuse_pages * d->pagesize);
  human_bytes(objs, sizeof objs, t.object_bytes);
  human_bytes(freeb, sizeof freeb, t.free_pages * d->pagesize);
  human_bytes(rel, sizeof rel, t.released_pages * d->pagesize);
  fprintf(o, "<text class=\"title\" x=\"%d\" y=\"22\" font-size=\"16\" font-weight=\"bold\">"
             "goheap heap map, pid %llu</text>\n", MARGIN, (unsigned long long)d->pid);
  fprintf(o, "<text class=\"totals\" x=\"%d\" y=\"42\">%zu arena%s, %llu spans (%llu manual, %llu collected), "
             "in use %s in %llu pages (objects: %llu, %s), free %s, released %s</text>\n",
          MARGIN, d->narenas, d->narenas == 1 ? "" : "s", (unsigned long long)t.spans, (unsigned long long)t.manual,
          (unsigned long long)t.collected, inuse, (unsigned long long)t.inuse_pages, (unsigned long long)t.objects,
          objs, freeb, rel);
}

static void label(FILE *o, double x, double y, const char *text) {
  fprintf(o, "<text x=\"%g\" y=\"%g\">", x, y);
  xml_text(o, text);
  fputs("</text>\n", o);
}

/* A legend key: a swatch (with extra attributes) and its text. */
static void key(FILE *o, double x, double y, const char *fill, const char *extra, const char *text) {
  fprintf(o, "<rect x=\"%g\" y=\"%g\" width=\"14\" height=\"14\" fill=\"%s\" stroke=\"#333\"%s/>\n", x, y, fill, extra);
  label(o, x + 17, y + 11, text);
}

#define LEGEND_X (MARGIN + 150)
#define LEGEND_ROW 24

static void legend_sizes(FILE *o, double y) {
  char fill[8], text[32];
  double x = LEGEND_X;
  label(o, MARGIN, y + 11, "object size (hue):");
  for (int b = 3; b <= 15; b++, x += 58) {
    hsl_hex(fill, size_hue((uint64_t)1 << b, false), 0.75, occupancy_lightness(0.8));
    if (b < 10) snprintf(text, sizeof text, "%d B", 1 << b);
    else snprintf(text, sizeof text, "%d KiB", 1 << (b - 10));
    key(o, x, y, fill, "", text);
  }
  hsl_hex(fill, size_hue(0, true), 0.75, occupancy_lightness(0.8));
  key(o, x, y, fill, "", "large");
}

static void legend_occupancy(FILE *o, double y) {
  char fill[8], text[32];
  label(o, MARGIN, y + 11, "objects allocated:");
  for (int pct = 0; pct <= 100; pct += 25) {
    hsl_hex(fill, 200, 0.75, occupancy_lightness(pct / 100.0));
    snprintf(text, sizeof text, "%d%%", pct);
    key(o, LEGEND_X + pct / 25 * 70, y, fill, "", text);
  }
}

static void legend_kinds(FILE *o, double y) {
  label(o, MARGIN, y + 11, "span kind (border):");
  key(o, LEGEND_X, y, "#ffffff", "", "manual (malloc)");
  key(o, LEGEND_X + 150, y, "#ffffff", " stroke-dasharray=\"3 2\"", "collected (gh_alloc)");
  key(o, LEGEND_X + 340, y, "#ffffff", " stroke-dasharray=\"1 1.5\"", "collected, no pointers (gh_alloc_noscan)");
  y += LEGEND_ROW;
  label(o, MARGIN, y + 11, "pages without a span:");
  key(o, LEGEND_X, y, free_fill, "", "free");
  key(o, LEGEND_X + 150, y, released_fill, "", "free, released to the OS");
  key(o, LEGEND_X + 340, y, reserved_fill, "", "reserved (not committed)");
}

static void svg_legend(FILE *o) {
  double y = TITLE_H + 4;
  fputs("<g id=\"legend\" class=\"legend\">\n", o);
  legend_sizes(o, y);
  legend_occupancy(o, y + LEGEND_ROW);
  legend_kinds(o, y + 2 * LEGEND_ROW);
  label(o, MARGIN, y + 4 * LEGEND_ROW + 11, "One row is 128 pages; hover over a span for its details.");
  fputs("</g>\n", o);
}

static void svg_arena_frame(FILE *o, const heapdump *d, const arena *a) {
  char size[32];
  human_bytes(size, sizeof size, a->size);
  fprintf(o, "<text class=\"arena-label\" x=\"%d\" y=\"%g\">arena 0x%llx (%s, %llu pages)</text>\n", MARGIN,
          a->y - 5, (unsigned long long)a->base, size, (unsigned long long)(a->size / d->pagesize));
  fprintf(o, "<rect class=\"arena\" x=\"%d\" y=\"%g\" width=\"%d\" height=\"%llu\" fill=\"none\" stroke=\"#666\"/>\n",
          MARGIN, a->y, GRID_W, (unsigned long long)(a->shown_rows * CELL));
  if (a->shown_rows < a->rows)
    fprintf(o, "<text class=\"arena-note\" x=\"%d\" y=\"%g\" font-size=\"11\" fill=\"#555\">rows %llu-%llu "
               "not shown: reserved pages only</text>\n",
            MARGIN, a->y + (double)(a->shown_rows * CELL) + 12, (unsigned long long)a->shown_rows,
            (unsigned long long)(a->rows - 1));
}

static void render(FILE *o, heapdump *d) {
  double h = layout(d);
  fprintf(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%g\" viewBox=\"0 0 %d %g\" "
             "font-family=\"sans-serif\" font-size=\"12\">\n"
             "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n",
          PIC_W, h, PIC_W, h);
  svg_title(o, d);
  svg_legend(o);
  if (!d->narenas) label(o, MARGIN, TITLE_H + LEGEND_H + 14, "(no arenas: the heap is empty)");
  fputs("<g class=\"pages\" stroke=\"#cccccc\" stroke-width=\"0.5\">\n", o);
  for (size_t i = 0; i < d->nruns; i++)
    if (d->runs[i].kind != RUN_SPAN) svg_pages(o, d, &d->runs[i]);
  fputs("</g>\n<g class=\"spans\" stroke=\"#222222\" stroke-width=\"1\">\n", o);
  for (size_t i = 0; i < d->nruns; i++)
    if (d->runs[i].kind == RUN_SPAN) svg_span(o, d, &d->runs[i]);
  fputs("</g>\n", o);
  for (size_t i = 0; i < d->narenas; i++) svg_arena_frame(o, d, &d->arenas[i]);
  fputs("</svg>\n", o);
}

static int cmd_map(int argc, char **argv) {
  const char *in_name = NULL, *out_name = NULL;
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "-o") == 0) {
      if (++i == argc) usage_error("map: -o needs a file name");
      out_name = argv[i];
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      fputs(usage_text, stdout);
      return 0;
    } else if (argv[i][0] == '-' && argv[i][1]) {
      usage_error("map: unknown option '%s'", argv[i]);
    } else if (in_name) {
      usage_error("map: more than one heap dump given");
    } else {
      in_name = argv[i];
    }
  }
  if (!in_name || !out_name) usage_error("map: usage: goheap map HEAPDUMP -o FILE.svg");
  bool in_std = strcmp(in_name, "-") == 0, out_std = strcmp(out_name, "-") == 0;
  FILE *in = in_std ? stdin : fopen(in_name, "r");
  if (!in) {
    fprintf(stderr, "goheap: map: %s: %s\n", in_name, strerror(errno));
    return EXIT_BAD_DUMP;
  }
  heapdump d = {0};
  read_dump(in, in_std ? "<stdin>" : in_name, &d);
  if (!in_std) fclose(in);
  FILE *out = out_std ? stdout : fopen(out_name, "w");
  if (!out) {
    fprintf(stderr, "goheap: map: %s: %s\n", out_name, strerror(errno));
    return EXIT_BAD_DUMP;
  }
  render(out, &d);
  bool failed = ferror(out) != 0;
  failed |= (out_std ? fflush(out) : fclose(out)) != 0;
  if (failed) {
    fprintf(stderr, "goheap: map: writing %s: %s\n", out_name, strerror(errno));
    return EXIT_BAD_DUMP;
  }
  free(d.arenas);
  free(d.runs);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) usage_error("no command given");
  const char *cmd = argv[1];
  if (strcmp(cmd, "run") == 0) return cmd_run(argc, argv);
  if (strcmp(cmd, "map") == 0) return cmd_map(argc, argv);
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
    fputs(usage_text, stdout);
    return 0;
  }
  if (strcmp(cmd, "--version") == 0) {
    puts("goheap " VERSION_STRING);
    return 0;
  }
  usage_error("unknown command '%s'", cmd);
}
