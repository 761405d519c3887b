# goheap -- Go's runtime memory allocator in C.
#   make          build build/libgoheap.so (soname libgoheap.so.0), build/libgoheap.a,
#                 the goheap command (build/goheap: tools/goheap/) and bdwgc's
#                 libgc.so.1 on goheap (build/bdwgc/: bdwgc/)
#   make debug    the same with GH_DEBUG=1 (invariant checks, lock order) in build/debug/
#   make demo     build, then show goheap serving real programs under LD_PRELOAD
#   make test     build, then run every test suite; ends with "N passed, N failed"
#   make bench    peers side by side (bench/README.md); make bench-quick for a short run
#   make fuzz     the API fuzzer for 10 minutes (tests/fuzz/fuzz.mk)
#   make install PREFIX=/usr/local [DESTDIR=...]

VERSION_MAJOR := 0
VERSION       := 0.1.0
PREFIX        ?= /usr/local
LIBDIR        ?= $(PREFIX)/lib
INCDIR        ?= $(PREFIX)/include
CC            ?= cc
B             := build

WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
LIBFLAGS := -std=gnu11 -O2 -g -fPIC -fvisibility=hidden -ftls-model=initial-exec \
            -fno-builtin-malloc -fno-builtin-free -fno-builtin-calloc -fno-builtin-realloc \
            -fno-strict-aliasing -fno-semantic-interposition $(WARN) $(EXTRA_CFLAGS)
SRCS := $(wildcard src/*.c src/os/*.c)
OBJS := $(patsubst src/%.c,$(B)/obj/%.o,$(SRCS))
HDRS := $(wildcard src/*.h src/os/*.h include/*.h)

SO     := $(B)/libgoheap.so.$(VERSION)
SONAME := libgoheap.so.$(VERSION_MAJOR)

TEST_SRCS := $(wildcard tests/unit/*.c tests/api/*.c tests/stress/*.c tests/gc/test_*.c)
TEST_BINS := $(foreach t,$(TEST_SRCS),$(B)/tests/$(word 2,$(subst /, ,$(t)))-$(basename $(notdir $(t))))

.PHONY: all lib debug tests test demo bench bench-quick install uninstall clean sizeclasses sizeclasses-check

.DEFAULT_GOAL := all
include tools/goheap/goheap.mk
include bdwgc/bdwgc.mk

all: lib $(GOHEAP_TOOL) bdwgc
lib: $(SO) $(B)/libgoheap.so $(B)/$(SONAME) $(B)/libgoheap.a

$(B)/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(LIBFLAGS) -c $< -o $@

$(SO): $(OBJS) src/libgoheap.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,-z,nodelete -Wl,--version-script=src/libgoheap.map -o $@ $(OBJS) -ldl -lpthread
$(B)/$(SONAME): $(SO)
	ln -sf $(notdir $(SO)) $@
$(B)/libgoheap.so: $(SO)
	ln -sf $(notdir $(SO)) $@
$(B)/libgoheap.a: $(OBJS)
	rm -f $@ && ar rcs $@ $(OBJS)

# The debug build: same sources, GH_DEBUG=1 (internal.h), -O1, in build/debug/.
D         := $(B)/debug
DEBUG_OBJS := $(patsubst src/%.c,$(D)/obj/%.o,$(SRCS))
$(D)/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(subst -O2,-O1,$(LIBFLAGS)) -DGH_DEBUG=1 -c $< -o $@
$(D)/libgoheap.so: $(DEBUG_OBJS) src/libgoheap.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,-z,nodelete -Wl,--version-script=src/libgoheap.map -o $@ $(DEBUG_OBJS) -ldl -lpthread
$(D)/libgoheap.a: $(DEBUG_OBJS)
	rm -f $@ && ar rcs $@ $(DEBUG_OBJS)
debug: $(D)/libgoheap.so $(D)/libgoheap.a

# Every tests/{unit,api,stress}/X.c becomes build/tests/DIR-X, linked statically:
# in those binaries the plain malloc names are goheap.
TEST_CC = $(CC) -std=gnu11 -O2 -g $(WARN) -Iinclude -Isrc -Itests $< $(B)/libgoheap.a -lpthread -ldl -o $@
TEST_DEPS = $(B)/libgoheap.a tests/testhelper.h $(HDRS)
$(B)/tests/unit-%: tests/unit/%.c $(TEST_DEPS)
	@mkdir -p $(B)/tests && $(TEST_CC)
$(B)/tests/api-%: tests/api/%.c $(TEST_DEPS)
	@mkdir -p $(B)/tests && $(TEST_CC)
$(B)/tests/stress-%: tests/stress/%.c $(TEST_DEPS)
	@mkdir -p $(B)/tests && $(TEST_CC)

# Collector tests: also linked with a shared library whose globals are roots.
$(B)/tests/lib/libgcroot.so: tests/gc/libgcroot.c
	@mkdir -p $(dir $@) && $(CC) -std=gnu11 -O2 -g -fPIC -shared $(WARN) -Iinclude $< -o $@
$(B)/tests/gc-%: tests/gc/%.c $(TEST_DEPS) tests/gc/gctest.h $(B)/tests/lib/libgcroot.so
	@mkdir -p $(B)/tests && $(CC) -std=gnu11 -O2 -g $(WARN) -Iinclude -Isrc -Itests $< $(B)/libgoheap.a \
	  -L$(B)/tests/lib -lgcroot -Wl,-rpath,'$$ORIGIN/lib' -ldl -lpthread -o $@

# The stress and collector tests again, linked with the debug library, and the
# tests of the debug checks themselves (tests/debug): build/debug/tests/.
DEBUG_TEST_SRCS := $(wildcard tests/stress/*.c tests/gc/test_*.c tests/debug/*.c)
DEBUG_TEST_BINS := $(foreach t,$(DEBUG_TEST_SRCS),$(D)/tests/$(word 2,$(subst /, ,$(t)))-$(basename $(notdir $(t))))
$(D)/tests/stress-%: tests/stress/%.c $(D)/libgoheap.a tests/testhelper.h $(HDRS)
	@mkdir -p $(D)/tests && $(CC) -std=gnu11 -O1 -g $(WARN) -DGH_DEBUG=1 -Iinclude -Isrc -Itests $< $(D)/libgoheap.a -lpthread -ldl -o $@
$(D)/tests/debug-%: tests/debug/%.c $(D)/libgoheap.a tests/testhelper.h $(HDRS)
	@mkdir -p $(D)/tests && $(CC) -std=gnu11 -O1 -g $(WARN) -DGH_DEBUG=1 -Iinclude -Isrc -Itests $< $(D)/libgoheap.a -lpthread -ldl -o $@
$(D)/tests/gc-%: tests/gc/%.c $(D)/libgoheap.a tests/testhelper.h $(HDRS) tests/gc/gctest.h $(B)/tests/lib/libgcroot.so
	@mkdir -p $(D)/tests && $(CC) -std=gnu11 -O1 -g $(WARN) -DGH_DEBUG=1 -Iinclude -Isrc -Itests $< $(D)/libgoheap.a \
	  -L$(B)/tests/lib -lgcroot -Wl,-rpath,'$$ORIGIN/../../tests/lib' -ldl -lpthread -o $@

tests: lib debug $(GOHEAP_TOOL) bdwgc $(TEST_BINS) $(DEBUG_TEST_BINS)

test: tests
	CC=$(CC) bash tests/run.sh

demo: lib $(GOHEAP_TOOL)
	bash demo/demo.sh

# The oversubscribed set: the threaded malloc workloads again with 8 threads
# on however many cores (bench/README.md), its own report (...-8t.md).
OVERSUB_WORKLOADS := larson,xmalloc-test,cache-scratch,cache-thrash,alloc-test,sh6bench,thread-churn

bench: lib
	python3 bench/run.py
	python3 bench/run.py --only manual --threads 8 --workloads $(OVERSUB_WORKLOADS) --no-callgrind \
	  --out bench/results/$$(date +%F)-8t

bench-quick: lib
	python3 bench/run.py --quick
	python3 bench/run.py --quick --only manual --threads 8 --workloads $(OVERSUB_WORKLOADS) --no-callgrind \
	  --out bench/results/$$(date +%F)-quick-8t

include tests/fuzz/fuzz.mk

# The size class table is generated; the checked-in copy must match the generator.
$(B)/mksizeclasses: tools/mksizeclasses.c
	@mkdir -p $(B)
	$(CC) -std=c11 -O2 $(WARN) $< -o $@
sizeclasses: $(B)/mksizeclasses
	$(B)/mksizeclasses src
sizeclasses-check: $(B)/mksizeclasses
	@mkdir -p $(B)/gen && $(B)/mksizeclasses $(B)/gen
	diff -u src/sizeclasses.h $(B)/gen/sizeclasses.h && diff -u src/sizeclasses.c $(B)/gen/sizeclasses.c

install: lib install-goheap
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCDIR) $(DESTDIR)$(LIBDIR)/cmake/goheap
	install -m 755 $(SO) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(SO)) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(notdir $(SO)) $(DESTDIR)$(LIBDIR)/libgoheap.so
	install -m 644 $(B)/libgoheap.a $(DESTDIR)$(LIBDIR)/
	install -m 644 include/goheap.h $(DESTDIR)$(INCDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCDIR@|$(INCDIR)|; s|@VERSION@|$(VERSION)|' \
	  goheap.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/goheap.pc
	sed -e 's|@VERSION@|$(VERSION)|' cmake/goheap-config.cmake.in > $(DESTDIR)$(LIBDIR)/cmake/goheap/goheap-config.cmake
	sed -e 's|@VERSION@|$(VERSION)|' cmake/goheap-config-version.cmake.in > $(DESTDIR)$(LIBDIR)/cmake/goheap/goheap-config-version.cmake
	$(MAKE) install-bdwgc

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libgoheap.* $(DESTDIR)$(INCDIR)/goheap.h $(DESTDIR)$(LIBDIR)/pkgconfig/goheap.pc
	rm -f $(DESTDIR)$(PREFIX)/bin/goheap
	$(MAKE) uninstall-bdwgc
	rm -rf $(DESTDIR)$(LIBDIR)/cmake/goheap

clean:
	rm -rf $(B)
