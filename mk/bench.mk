# mk/bench.mk - `make bench`: emufs against the raw emulator, side by side
# (bench/emufs-bench.c, docs/performance.md).
#
#   make bench                      the whole run (1.5 to 2 minutes)
#   make bench BENCH_ARGS='--only props,pins --iters 1000'
#   make bench BENCH_ARGS='--tsv runs.tsv'    append the figures to a file

BENCH_BIN    := $(BUILD)/bench/emufs-bench
BENCH_CFLAGS := -O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror \
                -Wno-format-truncation
BENCH_ARGS   ?=
BENCH_LABEL   = $(shell git rev-parse --short HEAD 2>/dev/null)$(shell \
	git diff --quiet HEAD -- src fs 2>/dev/null || echo +dirty)

.PHONY: bench

$(BENCH_BIN): bench/emufs-bench.c
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $<

bench: $(BUILD)/emufs $(BENCH_BIN) firmware
	$(BENCH_BIN) --emufs $(BUILD)/emufs \
		--firmware $(BUILD)/firmware/ast2500-test.elf \
		--label '$(BENCH_LABEL)' $(BENCH_ARGS)
