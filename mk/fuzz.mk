# fuzz.mk - libFuzzer targets for the core's parsers (issue 8).
#
#   make fuzz-build    build $(BUILD)/fuzz/fuzz_<target> for every target
#   make fuzz          install what is missing (clang's libFuzzer runtime is
#                      libclang-rt-14-dev), build, run each target for
#                      FUZZ_SECONDS (20); fuzz-run: the same without deps
#   make fuzz FUZZ_SECONDS=60 FUZZ_TARGETS="qmp shim" FUZZ_FLAGS=-max_len=8192
#   make fuzz-run FUZZ_RUNS=10000000 FUZZ_TARGETS=ctl
#                      run to an execution count instead of a time (-runs=;
#                      no time limit then): how docs/reliability.md's
#                      figures were made
#
# A target is tests/fuzz/fuzz_<target>.c compiled by clang together with
# the src/ files it exercises, all instrumented (not libemufs-core.a: gcc
# builds that without coverage instrumentation, so libFuzzer would be
# blind inside it). A run starts from a scratch copy of
# tests/fuzz/corpus/<target>/ in $(BUILD)/fuzz/corpus/, so the tree is
# never written; a new crash, leak or UB report is saved in
# $(BUILD)/fuzz/artifacts/<target>/. Reproducers kept in
# tests/fuzz/crashes/<target>-* are replayed first: one that still fails
# fails its target without fuzzing it. Run one input by hand with
#   $(BUILD)/fuzz/fuzz_<target> FILE
# One summary line per target comes from libFuzzer's final stats
# (-print_final_stats=1); `make fuzz` fails if any target failed.

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 20
FUZZ_FLAGS   ?=
FUZZ_RUNS    ?=
# What bounds a run: an execution count if FUZZ_RUNS is set, else a time.
FUZZ_LIMIT   := $(if $(FUZZ_RUNS),-runs=$(FUZZ_RUNS),-max_total_time=$(FUZZ_SECONDS))
FUZZ_WHAT    := $(if $(FUZZ_RUNS),$(FUZZ_RUNS) runs,$(FUZZ_SECONDS) s)
FUZZ_DIR     := $(BUILD)/fuzz

FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined \
               -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
               -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow \
               -Wno-unused-parameter -pthread -Isrc \
               $(shell pkg-config --cflags jansson 2>/dev/null)
FUZZ_LIBS   := $(shell pkg-config --libs jansson 2>/dev/null || echo -ljansson)

# The src/ files each target links; ctl's instance_* are stubs in its
# fuzz_ctl.c.
FUZZ_SRC_config    := src/core/config.c src/core/config_read.c \
                      src/core/config_load.c src/core/config_target.c \
                      src/qemu/qemu_config.c src/renode/renode_config.c \
                      src/renode/renode_parse.c src/core/propval.c \
                      src/core/bignum.c
FUZZ_SRC_qmp       := src/core/clock.c src/core/bignum.c src/qemu/qmp.c src/qemu/qmp_reply.c src/qemu/qmp_state.c \
                      src/qemu/qmp_wire.c src/qemu/qmp_sendq.c
FUZZ_SRC_ctl       := src/core/ctl.c
FUZZ_SRC_propval   := src/core/propval.c src/core/bignum.c
FUZZ_SRC_shim      := src/core/shim.c
FUZZ_SRC_preconfig := src/qemu/preconfig.c
FUZZ_SRC_robot     := src/renode/robot.c
# qmp reads through the harness's fake read(2): see fuzz_qmp.c.
FUZZ_LIBS_qmp      := -Wl,--wrap=read
# Libraries beyond jansson, per target (robot: as mk/renode.mk links it).
FUZZ_LIBS_robot    := -lxmlrpc -lxmlrpc_util \
                      $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl)

FUZZ_ALL_TARGETS := config qmp ctl propval shim preconfig \
                    $(if $(and $(wildcard tests/fuzz/fuzz_robot.c),$(wildcard src/renode/robot.c)),robot)
FUZZ_TARGETS     ?= $(FUZZ_ALL_TARGETS)
FUZZ_BINS        := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)

.PHONY: fuzz fuzz-run fuzz-build

fuzz-build: $(FUZZ_BINS)

# Every target depends on every fuzzed source and header: a few small
# compiles, and no stale binary after someone edits a header.
$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c \
		$(wildcard $(foreach t,$(FUZZ_ALL_TARGETS),$(FUZZ_SRC_$(t)))) \
		$(wildcard src/*/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_SRC_$*) $(FUZZ_LIBS) $(FUZZ_LIBS_$*)

# fuzz-run-<target>: replay the kept reproducers, then fuzz; never fails
# itself (so that every target runs), but leaves its summary line in
# <target>.summary for `fuzz` to print and judge. Not .PHONY: make skips
# pattern rules for phony targets; no file of this name is ever made.
fuzz-run-%: $(FUZZ_DIR)/fuzz_%
	@t=$*; d=$(FUZZ_DIR); c=$$d/corpus/$$t; a=$$d/artifacts/$$t; \
	log=$$d/$$t.log; sum=$$d/$$t.summary; \
	rm -rf $$c $$a; mkdir -p $$c $$a; rm -f $$sum; \
	cp tests/fuzz/corpus/$$t/* $$c/; \
	seeds=$$(ls $$c | wc -l); \
	repros=$$(ls tests/fuzz/crashes/$$t-* 2>/dev/null); \
	if [ -n "$$repros" ] && ! $$d/fuzz_$$t $$repros >$$d/$$t.repro.log 2>&1; \
	then \
		why=$$(grep -m1 -E 'invariant failed|^SUMMARY:' $$d/$$t.repro.log); \
		printf '%-10s FAIL: a kept reproducer still fails: %s (%s)\n' \
			$$t "$$why" $$d/$$t.repro.log > $$sum; \
		cat $$sum; exit 0; \
	fi; \
	echo "fuzz: $$t: $(FUZZ_WHAT) from $$seeds seeds"; \
	t0=$$(date +%s); \
	$$d/fuzz_$$t $(FUZZ_LIMIT) -print_final_stats=1 \
		-timeout=10 -artifact_prefix=$$a/ $(FUZZ_FLAGS) $$c \
		>$$log 2>&1; \
	rc=$$?; t1=$$(date +%s); \
	stat() { sed -n "s/^stat::$$1: *//p" $$log | tail -n1; }; \
	execs=$$(stat number_of_executed_units); \
	rate=$$(stat average_exec_per_sec); \
	secs=$$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' $$log); \
	if [ -n "$$secs" ]; then secs="$$secs s"; \
	else secs="$$((t1 - t0)) s wall-clock"; fi; \
	last=$$(grep -E '^#[0-9]+.* cov: ' $$log | tail -n1); \
	cov=$$(echo "$$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p'); \
	ft=$$(echo "$$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p'); \
	files=$$(ls $$c | wc -l); \
	line=$$(printf '%-10s execs %s (%s/s) in %s, cov %s ft %s, corpus %s -> %s files (new units %s)' \
		$$t "$${execs:-?}" "$${rate:-?}" "$$secs" "$${cov:-?}" "$${ft:-?}" \
		$$seeds $$files "$$(stat new_units_added)"); \
	if [ $$rc -eq 0 ]; then \
		printf '%s: ok\n' "$$line" > $$sum; \
	else \
		art=$$(ls $$a 2>/dev/null | head -n1); \
		why=$$(grep -m1 -E 'invariant failed|^SUMMARY:|ERROR: libFuzzer' $$log); \
		printf '%s: FAIL: %s; input %s; log %s\n' "$$line" "$$why" \
			"$$a/$$art" $$log > $$sum; \
	fi; \
	cat $$sum

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-run

fuzz-run: $(FUZZ_TARGETS:%=fuzz-run-%)
	@echo "fuzz: summary ($(FUZZ_WHAT) per target)"
	@cat $(FUZZ_TARGETS:%=$(FUZZ_DIR)/%.summary)
	@! grep -q FAIL $(FUZZ_TARGETS:%=$(FUZZ_DIR)/%.summary)
