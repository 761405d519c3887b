/* javaxfc.h -- GC_finalize_all: run every registered finalizer now. */
#ifndef GC_JAVAXFC_H
#define GC_JAVAXFC_H
#include "gc.h"
GC_EXTERN_C_BEGIN
GC_API void GC_CALL GC_finalize_all(void);
GC_EXTERN_C_END
#endif
