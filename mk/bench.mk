# mk/bench.mk - `make bench`: emufs against the raw emulator, side by side
# (bench/*.c, docs/performance.md).
#
#   make bench                      the whole run (about 12.5 minutes on 2
#                                   cores; slurm ~2 of them: it needs root
#                                   and slurm-wlm, and fails the run without)
#   make bench BENCH_ARGS='--only props,pins --iters 1000'
#   make bench BENCH_ARGS='--only follow,blocked'   follow/ (issue 14)
#   make bench BENCH_ARGS='--tsv runs.tsv'    append the figures to a file
#   make bench BENCH_ARGS='--vcpu-core'   the control run: every QEMU's vCPU
#                                   thread alone on the last core, all else
#                                   on the others (docs/performance.md)
#   make bench BENCH_ARGS='--only slurm'  64 instances through srun of a
#                                   one-node Slurm cluster it starts, plain
#                                   and TLS, vs srun by hand (issue 19;
#                                   root, slurm-wlm; ~2 min per round)
#   make bench BENCH_ARGS='--only boot,bulk'  the Linux guest kit (issue 15):
#                                   boot and a 4 MiB console bulk vs
#                                   -serial stdio (1.5-2.5 min; needs
#                                   `make guest-kit`, else not measured)
#
# Every bench/*.c is part of the harness (no list to keep). It is built with
# the project's flags. Of the core it links only the QMP wire format (the
# raw side's line framing) and bignum.c, which that parses numbers with:
# not the QMP client, as its raw side must stay the cheapest way to reach
# QEMU (bench/raw.c says why). libfuse: for the floor (bench/floor.c), a
# trivial FUSE file system the props rows are measured against.

BENCH_BIN    := $(BUILD)/bench/emufs-bench
BENCH_SRC    := $(wildcard bench/*.c)
BENCH_OBJ    := $(BENCH_SRC:%.c=$(BUILD)/%.o)
BENCH_CORE   := $(BUILD)/src/qemu/qmp_wire.o $(BUILD)/src/core/bignum.o
# Paths are printed into fixed buffers on purpose (PATH_MAX is the bound).
BENCH_CFLAGS := $(CFLAGS) -Wno-format-truncation \
                $(shell pkg-config --cflags jansson fuse3 2>/dev/null)
BENCH_ARGS   ?=
BENCH_LABEL   = $(shell git rev-parse --short HEAD 2>/dev/null)$(shell \
	git diff --quiet HEAD -- src fs 2>/dev/null || echo +dirty)

.PHONY: bench

$(BUILD)/bench/%.o: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -c $< -o $@

$(BENCH_BIN): $(BENCH_OBJ) $(BENCH_CORE)
	$(CC) $(LDFLAGS) -o $@ $^ \
		$(shell pkg-config --libs jansson fuse3 2>/dev/null || \
			echo -ljansson -lfuse3)

bench: $(BUILD)/emufs $(BENCH_BIN) firmware
	$(BENCH_BIN) --emufs $(BUILD)/emufs \
		--firmware $(BUILD)/firmware/ast2500-test.elf \
		--guests $(GUESTS) \
		--label '$(BENCH_LABEL)' $(BENCH_ARGS)

-include $(BENCH_OBJ:.o=.d)
