/* gc_pthread_redirects.h -- with GC_THREADS (and without
 * GC_NO_THREAD_REDIRECTS), the thread calls of a client go through
 * libgc's wrappers, which register each new thread with the collector
 * before its start routine runs, as bdwgc's header arranges. */
#ifndef GC_PTHREAD_REDIRECTS_H
#define GC_PTHREAD_REDIRECTS_H
#if defined(GC_PTHREADS) && !defined(GC_NO_THREAD_REDIRECTS)
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#ifndef GC_NO_DLOPEN
#undef dlopen
#define dlopen GC_dlopen
#endif
#ifndef GC_NO_PTHREAD_SIGMASK
#undef pthread_sigmask
#define pthread_sigmask GC_pthread_sigmask
#endif
#undef pthread_create
#undef pthread_join
#undef pthread_detach
#undef pthread_exit
#undef pthread_cancel
#define pthread_create GC_pthread_create
#define pthread_join GC_pthread_join
#define pthread_detach GC_pthread_detach
#ifndef GC_NO_PTHREAD_CANCEL
#define pthread_cancel GC_pthread_cancel
#endif
#define pthread_exit GC_pthread_exit
#endif
#endif
