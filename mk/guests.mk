# guests.mk - the guest kit of the example boards (examples/boards/).
#
#   make guest-kit   build/guests/: a Debian arm64 kernel and an initramfs
#                    (scripts/guest-kit.sh, downloads ~61 MB once), the
#                    riscv-virt guest, and the lm3s firmware: what the
#                    boards' configs (examples/boards/NAME/board.json)
#                    name, relative to themselves
#
# Always under the top build/, whatever BUILD is: the sanitizer builds
# share one kit (and one download). Everything is made only when missing
# or older than its sources, so a second `make guest-kit` does nothing.
GUESTS       := build/guests
RISCV_GUEST  := $(GUESTS)/riscv/guest.elf
RISCV_SRC    := examples/boards/riscv-virt/guest
ARM64_KIT    := $(GUESTS)/arm64/Image $(GUESTS)/arm64/initrd.gz \
                $(GUESTS)/arm64/bcm2837-rpi-3-b.dtb

.PHONY: guest-kit

guest-kit: $(ARM64_KIT) $(RISCV_GUEST)
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

# The board tests boot the kit: make test builds it first.
integration: guest-kit
