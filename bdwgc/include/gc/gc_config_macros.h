/* gc_config_macros.h -- configuration macros of goheap's bdwgc-compatible
 * headers: thread flavour, calling conventions, attributes.  Written for
 * goheap (Linux, GCC or Clang); declares what bdwgc 8.2 clients expect. */
#ifndef GC_CONFIG_MACROS_H
#define GC_CONFIG_MACROS_H

#if defined(GC_THREADS) || defined(_REENTRANT) && defined(GC_REENTRANT)
#ifndef GC_THREADS
#define GC_THREADS 1
#endif
#endif
#if defined(GC_THREADS) || defined(GC_LINUX_THREADS) || defined(GC_PTHREADS)
#ifndef GC_LINUX_THREADS
#define GC_LINUX_THREADS 1
#endif
#ifndef GC_PTHREADS
#define GC_PTHREADS 1
#endif
#ifndef GC_THREADS
#define GC_THREADS 1
#endif
#endif

#include <stddef.h>

#ifndef GC_API
#define GC_API extern __attribute__((__visibility__("default")))
#endif
#ifndef GC_CALL
#define GC_CALL
#endif
#ifndef GC_CALLBACK
#define GC_CALLBACK GC_CALL
#endif
#ifndef GC_GNUC_PREREQ
#if defined(__GNUC__)
#define GC_GNUC_PREREQ(major, minor) ((__GNUC__ << 8) + __GNUC_MINOR__ >= ((major) << 8) + (minor))
#else
#define GC_GNUC_PREREQ(major, minor) 0
#endif
#endif
#ifndef GC_ATTR_MALLOC
#define GC_ATTR_MALLOC __attribute__((__malloc__))
#endif
#ifndef GC_ATTR_ALLOC_SIZE
#define GC_ATTR_ALLOC_SIZE(argnum) __attribute__((__alloc_size__(argnum)))
#endif
#ifndef GC_ATTR_CALLOC_SIZE
#define GC_ATTR_CALLOC_SIZE(n, s) __attribute__((__alloc_size__(n, s)))
#endif
#ifndef GC_ATTR_NONNULL
#define GC_ATTR_NONNULL(argnum) __attribute__((__nonnull__(argnum)))
#endif
#ifndef GC_ATTR_CONST
#define GC_ATTR_CONST __attribute__((__const__))
#endif
#ifndef GC_ATTR_DEPRECATED
#define GC_ATTR_DEPRECATED __attribute__((__deprecated__))
#endif
#ifndef GC_ATTR_UNUSED
#define GC_ATTR_UNUSED __attribute__((__unused__))
#endif
#ifndef GC_ATTR_NO_SANITIZE_ADDR
#define GC_ATTR_NO_SANITIZE_ADDR
#endif
#ifndef GC_ATTR_NO_SANITIZE_MEMORY
#define GC_ATTR_NO_SANITIZE_MEMORY
#endif
#ifndef GC_ATTR_NO_SANITIZE_THREAD
#define GC_ATTR_NO_SANITIZE_THREAD
#endif
#ifndef GC_ATTR_FORMAT_PRINTF
#define GC_ATTR_FORMAT_PRINTF(spec, first) __attribute__((__format__(__printf__, spec, first)))
#endif
#ifndef GC_EXPECT
#define GC_EXPECT(expr, outcome) __builtin_expect(expr, outcome)
#endif
#ifndef GC_INLINE
#define GC_INLINE static inline
#endif
#ifndef GC_FAR
#define GC_FAR
#endif
#define GC_ADD_CALLER 0
#define GC_RETURN_ADDR 0

#ifdef __cplusplus
#define GC_EXTERN_C_BEGIN extern "C" {
#define GC_EXTERN_C_END }
#else
#define GC_EXTERN_C_BEGIN
#define GC_EXTERN_C_END
#endif
#endif /* GC_CONFIG_MACROS_H */
