# goheap.mk -- the goheap command (tools/goheap/goheap.c), included by the
# top Makefile, which defines CC, WARN, B, PREFIX, LIBDIR and DESTDIR.
#   $(GOHEAP_TOOL)   build/goheap; it finds the installed library through
#                    GOHEAP_LIBDIR, the build tree's next to itself
#   install-goheap   installs it as $(DESTDIR)$(PREFIX)/bin/goheap
# The command is plain C and libc: it only includes goheap.h for the version.

GOHEAP_TOOL := $(B)/goheap

$(GOHEAP_TOOL): tools/goheap/goheap.c include/goheap.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g $(WARN) -Iinclude -DGOHEAP_LIBDIR=\"$(LIBDIR)\" $< -lm -o $@

.PHONY: install-goheap
install-goheap: $(GOHEAP_TOOL)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(GOHEAP_TOOL) $(DESTDIR)$(PREFIX)/bin/goheap
