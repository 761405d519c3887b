/* gc.h -- goheap's bdwgc-compatible interface (see gc/gc.h). Clients of
 * bdwgc include either <gc.h> or <gc/gc.h>; both name the same thing. */
#include "gc/gc.h"
