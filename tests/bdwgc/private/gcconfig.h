/*
 * tests/bdwgc/private/gcconfig.h -- stands in for bdwgc's platform
 * configuration header, which some of its tests include for platform
 * macros only.  goheap runs on Linux (x86-64, arm64).
 */
#ifndef GH_BDWGC_GCCONFIG_H
#define GH_BDWGC_GCCONFIG_H
#define LINUX 1
#define UNIX_LIKE 1
#define CPP_WORDSZ (8 * __SIZEOF_POINTER__)
#if defined(GC_THREADS) || defined(GC_PTHREADS)
#define THREADS 1
/* goheap's heap, and so its collector, works in the child of a fork() from
 * any thread: gctest's fork test is on (bdwgc.sh can turn it off with
 * -DNO_TEST_HANDLE_FORK). */
#define CAN_HANDLE_FORK 1
#endif
#endif
