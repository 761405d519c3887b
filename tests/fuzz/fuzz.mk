# tests/fuzz/fuzz.mk -- make fragment for the libFuzzer harness (tests/fuzz/fuzz_api.c).
# Included by the top-level Makefile (`include tests/fuzz/fuzz.mk`). Targets:
#
#   make fuzz                  tests/suites/fuzz.sh for GH_FUZZ_SECONDS (default 600),
#                              keeping the new corpus entries in build/fuzz-corpus (reused
#                              by the next run; the committed tests/fuzz/corpus is never
#                              written); crashing inputs and the log go to build/fuzz/
#   make fuzz GH_FUZZ_SECONDS=3600
#   make fuzz-repro FUZZ_INPUT=build/fuzz/crash-...
#                              replays one input (GH_FUZZ_TRACE=1 prints every operation)
#   make fuzz-corpus           regenerates the committed seed corpus (tests/fuzz/make_corpus.py)
#
# The other GH_FUZZ_* variables of tests/suites/fuzz.sh (GH_FUZZ_RSS_MB,
# GH_FUZZ_DEBUG, GH_FUZZ_FLAGS, ...) pass through the environment. Building needs clang
# with libFuzzer; the harness is built into a temporary directory, not with the library.

GH_FUZZ_MK_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
GH_FUZZ_ROOT := $(abspath $(GH_FUZZ_MK_DIR)/../..)
GH_FUZZ_SECONDS ?= 600
GH_FUZZ_CORPUS_DIR ?= $(GH_FUZZ_ROOT)/build/fuzz-corpus

.PHONY: fuzz fuzz-repro fuzz-corpus

fuzz:
	@mkdir -p $(GH_FUZZ_CORPUS_DIR)
	GH_FUZZ_SECONDS=$(GH_FUZZ_SECONDS) GH_FUZZ_CORPUS_OUT=$(GH_FUZZ_CORPUS_DIR) \
	  bash $(GH_FUZZ_ROOT)/tests/suites/fuzz.sh

fuzz-repro:
	@test -n "$(FUZZ_INPUT)" || { echo "usage: make fuzz-repro FUZZ_INPUT=<file>"; exit 2; }
	bash $(GH_FUZZ_ROOT)/tests/suites/fuzz.sh $(FUZZ_INPUT)

fuzz-corpus:
	python3 $(GH_FUZZ_ROOT)/tests/fuzz/make_corpus.py
