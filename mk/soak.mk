# soak.mk - `make soak`: emufs under a long mixed load (tests/soak/soak.sh,
# docs/reliability.md). Not part of `make test`: 10 minutes by default.
#
#   make soak                        SOAK_SECONDS=600
#   make soak SOAK_SECONDS=60        a short run
#   make soak BUILD=build/asan SAN=1 the same on the ASan + UBSan build
#
# tests/soak/soak.sh documents the other knobs (SOAK_WRITERS, ...), read
# from the environment.

SOAK_SECONDS ?= 600

.PHONY: soak

soak: $(BUILD)/emufs firmware
	@EMUFS=$(abspath $(BUILD))/emufs FIRMWARE_DIR=$(abspath $(BUILD))/firmware \
		SOAK_SECONDS=$(SOAK_SECONDS) tests/soak/soak.sh
