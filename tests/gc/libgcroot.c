/*
 * libgcroot.c -- a shared library whose writable data must be roots of the
 * collector (tests/gc/test_roots.c). It does not call goheap: it only holds
 * pointers, in an exported global and array (.bss), a file-static in .bss and
 * one in .data. test_roots.c also dlopen()s a copy of this file under another
 * name after start-up: a second instance, with its own globals, in a library
 * loaded after the collector started.
 */
#include <stddef.h>

#define API __attribute__((visibility("default")))

API void *gcroot_global;
API void *gcroot_array[64];
static void *gcroot_static;                             /* .bss */
static void *gcroot_data[2] = {(void *)1, 0};          /* .data (initialized) */

API void gcroot_set_global(void *p) { gcroot_global = p; }
API void *gcroot_get_global(void) { return gcroot_global; }
API void gcroot_set_static(void *p) { *(void *volatile *)&gcroot_static = p; }
API void *gcroot_get_static(void) { return *(void *volatile *)&gcroot_static; }
API void gcroot_set_data(void *p) { *(void *volatile *)&gcroot_data[1] = p; }
API void *gcroot_get_data(void) { return *(void *volatile *)&gcroot_data[1]; }
API void gcroot_set_slot(int i, void *p) { gcroot_array[i & 63] = p; }
API void *gcroot_get_slot(int i) { return gcroot_array[i & 63]; }
