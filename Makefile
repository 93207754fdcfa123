# emufs: a FUSE file system that presents running emulators as files.
#
#   make            build build/emufs
#   make run        install what is missing, build, mount the demo (examples/)
#   make test       install what is missing, build, run unit + integration tests
#                   and the examples' bats and pytest suites (make examples-test)
#   make asan       the whole test suite under ASan + UBSan (build/asan/)
#   make tsan       unit and load tests under ThreadSanitizer (build/tsan/)
#   make soak       10 min of mixed load and QEMU kills (SOAK_SECONDS; not in test)
#   make install    PREFIX=/usr/local DESTDIR= : binary and emufs(1)
#   make clean

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
CC      ?= cc

PKGS     := fuse3 jansson gnutls
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

VERSION := 0.1.0

CFLAGS  ?= -O2 -g
# _FILE_OFFSET_BITS for every layer: the core's off_t crosses into fs/.
CFLAGS  += -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -Wall -Wextra -Werror -Wshadow \
           -Wno-unused-parameter -pthread -Isrc -MMD -MP
LDFLAGS += -pthread
# SAN=1: ASan + UBSan (make asan); SAN=thread: TSan (make tsan).
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
             -fno-sanitize-recover=undefined
TSAN_FLAGS := -fsanitize=thread -fno-omit-frame-pointer
ifeq ($(SAN),1)
CFLAGS  += $(SAN_FLAGS)
LDFLAGS += $(SAN_FLAGS)
endif
ifeq ($(SAN),thread)
CFLAGS  += $(TSAN_FLAGS)
LDFLAGS += $(TSAN_FLAGS)
endif

# Every folder of src/ is part of the core library: a new emulator is a new
# folder, with no list here to maintain.
CORE_SRC := $(wildcard src/*.c src/*/*.c)
FS_SRC   := $(wildcard fs/*.c)
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/%.o)
FS_OBJ   := $(FS_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/*/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FIRMWARE := $(BUILD)/firmware/ast2500-test.elf

.PHONY: all deps run test unit layers integration asan tsan install clean firmware \
        demo-firmware

all: $(BUILD)/emufs

deps:
	@scripts/setup-deps.sh

# fs/ (and the tests of it): libfuse's low-level API at one version, and
# the version string, defined here once.
FS_CFLAGS := -DFUSE_USE_VERSION=312 -DEMUFS_VERSION='"$(VERSION)"' -Ifs

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(FS_CFLAGS) $(PKG_CFLAGS) -c $< -o $@

# The core never sees fuse.h: it is compiled without FUSE's flags on purpose.
$(BUILD)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(shell pkg-config --cflags jansson) -c $< -o $@

# Made anew each time: a removed or moved file's object must not stay in it.
$(BUILD)/libemufs-core.a: $(CORE_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

# The adapter without its main(), for the unit tests of fs/.
# Made anew each time: a removed file's object must not stay in it.
$(BUILD)/libemufs-fs.a: $(filter-out $(BUILD)/fs/main.o,$(FS_OBJ))
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/emufs: $(BUILD)/fs/main.o $(BUILD)/libemufs-fs.a \
		$(BUILD)/libemufs-core.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libemufs-fs.a \
		$(BUILD)/libemufs-core.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(FS_CFLAGS) $(PKG_CFLAGS) -o $@ $< \
		$(BUILD)/libemufs-fs.a $(BUILD)/libemufs-core.a \
		$(LDFLAGS) $(PKG_LIBS) $(CMOCKA_LIBS)

firmware:
	@$(MAKE) -s -C tests/firmware OUT=$(abspath $(BUILD))/firmware

unit: $(UNIT_BIN)
	@tests/run-unit.sh $(UNIT_BIN)

# The one rule of dependency (docs/design.md): no cycle between modules,
# each layer includes and uses only what it may; on includes and on the
# symbols of the built objects.
layers: $(BUILD)/emufs
	@python3 tests/check-layers.py $(BUILD)

integration: $(BUILD)/emufs firmware demo-firmware
	@EMUFS=$(abspath $(BUILD))/emufs FIRMWARE_DIR=$(abspath $(BUILD))/firmware \
		DEMO_FIRMWARE=$(abspath $(BUILD))/examples/demo.elf \
		tests/run-integration.sh $(INTEGRATION_FILTER)

test: deps
	@$(MAKE) --no-print-directory all layers unit integration examples-test

asan: deps
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 all unit integration

# TSan: the unit tests and the concurrency tests of the integration suite.
tsan: deps
	@$(MAKE) --no-print-directory BUILD=build/tsan SAN=thread all unit
	@$(MAKE) --no-print-directory BUILD=build/tsan SAN=thread \
		INTEGRATION_FILTER=load integration

demo-firmware:
	@$(MAKE) -s -C examples/firmware OUT=$(abspath $(BUILD))/examples

run: deps
	@$(MAKE) --no-print-directory all demo-firmware
	@examples/run-demo.sh $(abspath $(BUILD))

install: $(BUILD)/emufs
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(BUILD)/emufs $(DESTDIR)$(PREFIX)/bin/emufs
	install -m 0644 docs/emufs.1 $(DESTDIR)$(PREFIX)/share/man/man1/emufs.1

clean:
	rm -rf $(BUILD)
	@$(MAKE) -s -C tests/firmware clean OUT=$(abspath build)/firmware
	@$(MAKE) -s -C examples/firmware clean OUT=$(abspath build)/examples

# Further targets (fuzz, bench, ...) each in a fragment of their own.
include $(wildcard mk/*.mk)

-include $(CORE_OBJ:.o=.d) $(FS_OBJ:.o=.d)
