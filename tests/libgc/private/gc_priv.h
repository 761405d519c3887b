/*
 * tests/libgc/private/gc_priv.h -- stands in for bdwgc's internal header,
 * which bdwgc's gctest includes "for output, locking, some statistics":
 * the few utilities it uses, on goheap's libgc.so.1 (bdwgc/include), whose
 * GC_printf is the exported one.  The other private/ headers come from
 * tests/bdwgc/private (after this directory in the include path).
 */
#ifndef GH_LIBGC_GC_PRIV_H
#define GH_LIBGC_GC_PRIV_H
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
void GC_printf(const char *fmt, ...) __attribute__((__format__(__printf__, 1, 2)));
void GC_log_printf(const char *fmt, ...) __attribute__((__format__(__printf__, 1, 2)));
void GC_err_printf(const char *fmt, ...) __attribute__((__format__(__printf__, 1, 2)));
#endif
