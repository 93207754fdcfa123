# examples-test: the demo board's tests in the tools people already use,
# examples/bats (Debian's bats) and examples/pytest (Debian's
# python3-pytest, run as pytest-3: Debian's python3, whatever python3 is
# first on PATH). Part of `make test`. A missing tool fails the target:
# `make deps` installs both, and a skipped example would look like a pass.

PYTEST ?= pytest-3

.PHONY: examples-test

examples-test: $(BUILD)/emufs demo-firmware
	@command -v bats >/dev/null || \
		{ echo "examples-test: bats is missing (make deps installs it)" >&2; exit 1; }
	@command -v $(PYTEST) >/dev/null || \
		{ echo "examples-test: $(PYTEST) is missing (make deps installs python3-pytest)" >&2; exit 1; }
	EMUFS=$(abspath $(BUILD))/emufs DEMO_FIRMWARE=$(abspath $(BUILD))/examples/demo.elf \
		bats examples/bats
	EMUFS=$(abspath $(BUILD))/emufs DEMO_FIRMWARE=$(abspath $(BUILD))/examples/demo.elf \
		PYTHONDONTWRITEBYTECODE=1 $(PYTEST) -q -p no:cacheprovider examples/pytest
