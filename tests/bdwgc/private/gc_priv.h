/*
 * tests/bdwgc/private/gc_priv.h -- stands in for bdwgc's internal header,
 * which gctest (tests/test.c) includes "for output, locking, some
 * statistics and gcconfig.h".  Only the handful of utilities gctest uses
 * from it: word types, GC_printf, ABORT, GETENV, BZERO and a clock.
 */
#ifndef GH_BDWGC_GC_PRIV_H
#define GH_BDWGC_GC_PRIV_H
#include "gc.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "private/gcconfig.h"
#ifdef THREADS
#include "private/gc_atomic_ops.h"
#endif

typedef GC_word word;
typedef GC_signed_word signed_word;
#define VERBOSE 2
#define EXTERN_C_BEGIN
#define EXTERN_C_END
#define GETENV(name) getenv(name)
#define BZERO(p, n) memset((p), 0, (n))
#define ABORT(msg) (fflush(stdout), fprintf(stderr, "%s\n", (msg)), abort())
#define CLOCK_TYPE struct timespec
#define GET_TIME(t) clock_gettime(CLOCK_MONOTONIC, &(t))
#define MS_TIME_DIFF(a, b) \
  ((unsigned long)(((a).tv_sec - (b).tv_sec) * 1000 + ((a).tv_nsec - (b).tv_nsec) / 1000000))

static inline __attribute__((__unused__, __format__(__printf__, 1, 2))) void GC_printf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stdout, fmt, ap);
  va_end(ap);
  fflush(stdout);
}
static inline __attribute__((__unused__, __format__(__printf__, 1, 2))) void GC_log_printf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
}
#endif
