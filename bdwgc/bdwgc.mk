# bdwgc/bdwgc.mk -- libgc.so.1 on goheap (bdwgc 8.2's ABI), included by the
# top Makefile (or: make -f Makefile -f bdwgc/bdwgc.mk build/bdwgc/libgc.so.1).
#   $(B)/bdwgc/libgc.so.1   soname libgc.so.1, NEEDED libgoheap.so.0, found
#                           through RUNPATH $ORIGIN/.. (build tree and
#                           $(LIBDIR)/goheap alike); + libgc.so (link name)
#   install-bdwgc           $(LIBDIR)/goheap/libgc.so.1 (never over the
#                           system's libgc), $(INCDIR)/goheap/{gc.h,gc/*.h},
#                           $(LIBDIR)/goheap/pkgconfig/bdw-gc.pc; needs
#                           libgoheap.so.0 in $(LIBDIR) (make install)
BDWGC_VERSION := 8.2.2
BDWGC_SRCS := $(wildcard bdwgc/*.c)
BDWGC_OBJS := $(patsubst bdwgc/%.c,$(B)/bdwgc/obj/%.o,$(BDWGC_SRCS))
BDWGC_HDRS := bdwgc/include/gc.h $(wildcard bdwgc/include/gc/*.h) include/goheap.h
BDWGC_LIB  := $(B)/bdwgc/libgc.so.1
BDWGC_CFLAGS := $(filter-out -fno-builtin-% -ftls-model=initial-exec,$(LIBFLAGS)) \
                -fno-builtin-malloc -fno-builtin-free -fno-builtin-calloc -fno-builtin-realloc \
                -Ibdwgc/include -Ibdwgc/include/gc -Iinclude

.PHONY: bdwgc install-bdwgc uninstall-bdwgc
bdwgc: $(BDWGC_LIB) $(B)/bdwgc/libgc.so

$(B)/bdwgc/obj/%.o: bdwgc/%.c $(BDWGC_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BDWGC_CFLAGS) -c $< -o $@

$(BDWGC_LIB): $(BDWGC_OBJS) $(B)/$(SONAME)
	$(CC) -shared -Wl,-soname,libgc.so.1 -Wl,-z,nodelete -Wl,--enable-new-dtags \
	  -Wl,-rpath,'$$ORIGIN/..:$$ORIGIN' -o $@ $(BDWGC_OBJS) \
	  -Wl,--no-as-needed $(B)/$(SONAME) -Wl,--as-needed -ldl -lpthread
$(B)/bdwgc/libgc.so: $(BDWGC_LIB)
	ln -sf libgc.so.1 $@

install-bdwgc: $(BDWGC_LIB)
	install -d $(DESTDIR)$(LIBDIR)/goheap/pkgconfig $(DESTDIR)$(INCDIR)/goheap/gc
	install -m 755 $(BDWGC_LIB) $(DESTDIR)$(LIBDIR)/goheap/libgc.so.1
	ln -sf libgc.so.1 $(DESTDIR)$(LIBDIR)/goheap/libgc.so
	install -m 644 bdwgc/include/gc.h $(DESTDIR)$(INCDIR)/goheap/
	install -m 644 bdwgc/include/gc/*.h $(DESTDIR)$(INCDIR)/goheap/gc/
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCDIR@|$(INCDIR)|; s|@VERSION@|$(BDWGC_VERSION)|' \
	  bdwgc/bdw-gc.pc.in > $(DESTDIR)$(LIBDIR)/goheap/pkgconfig/bdw-gc.pc

uninstall-bdwgc:
	rm -f $(DESTDIR)$(LIBDIR)/goheap/libgc.so.1 $(DESTDIR)$(LIBDIR)/goheap/libgc.so
	rm -f $(DESTDIR)$(LIBDIR)/goheap/pkgconfig/bdw-gc.pc
	rm -rf $(DESTDIR)$(INCDIR)/goheap/gc $(DESTDIR)$(INCDIR)/goheap/gc.h
