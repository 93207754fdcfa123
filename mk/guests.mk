# guests.mk - the guest kit of the example boards (examples/boards/).
#
#   make guest-kit   build/guests/: a Debian arm64 kernel and an initramfs
#                    (scripts/guest-kit.sh, downloads ~61 MB once), the
#                    riscv-virt guest, and one config per board in
#                    build/guests/boards/NAME.json
#
# Always under the top build/, whatever BUILD is: the sanitizer builds
# share one kit (and one download). Everything is made only when missing
# or older than its sources, so a second `make guest-kit` does nothing.
GUESTS       := build/guests
GUESTS_ABS   := $(abspath $(GUESTS))
BOARD_SRC    := $(wildcard examples/boards/*/board.json)
BOARD_CONFIGS := $(BOARD_SRC:examples/boards/%/board.json=$(GUESTS)/boards/%.json)
RISCV_GUEST  := $(GUESTS)/riscv/guest.elf
RISCV_SRC    := examples/boards/riscv-virt/guest
ARM64_KIT    := $(GUESTS)/arm64/Image $(GUESTS)/arm64/initrd.gz \
                $(GUESTS)/arm64/bcm2837-rpi-3-b.dtb

.PHONY: guest-kit

guest-kit: $(ARM64_KIT) $(RISCV_GUEST) $(BOARD_CONFIGS)
	@$(MAKE) -s -C tests/firmware OUT=$(abspath build)/firmware

# One run of the script makes all three (each step skips what exists).
$(ARM64_KIT) &: scripts/guest-kit.sh $(wildcard examples/boards/initramfs/*)
	@scripts/guest-kit.sh $(GUESTS)

# Debian 12 has no riscv64 kernel: a bare-metal guest, built like the test
# firmware with clang and lld.
$(RISCV_GUEST): $(RISCV_SRC)/start.S $(RISCV_SRC)/guest.c $(RISCV_SRC)/link.ld
	@mkdir -p $(dir $@)
	clang --target=riscv64-unknown-elf -march=rv64imac -mabi=lp64 \
		-mcmodel=medany -ffreestanding -nostdlib -fuse-ld=lld -O2 -g \
		-Wall -Wextra -Werror -fno-unwind-tables \
		-fno-asynchronous-unwind-tables -T $(RISCV_SRC)/link.ld -o $@ \
		$(RISCV_SRC)/start.S $(RISCV_SRC)/guest.c

# The configs name the kit by absolute paths: QEMU's -initrd and -dtb are
# passed through qemu.args, which emufs does not resolve against the
# config file's directory (as it does "kernel"). @KIT@ is build/guests,
# @BUILD@ is build.
$(GUESTS)/boards/%.json: examples/boards/%/board.json
	@mkdir -p $(dir $@)
	sed -e 's|@KIT@|$(GUESTS_ABS)|g' -e 's|@BUILD@|$(abspath build)|g' $< >$@

# The board tests boot the kit: make test builds it first.
integration: guest-kit
integration: export GUESTS_DIR := $(GUESTS_ABS)
