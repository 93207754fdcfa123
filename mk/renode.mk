# renode.mk - what the Renode connector adds to the build.
#
# src/renode/robot.c speaks XML-RPC with two Debian libraries: xmlrpc-c's core
# (libxmlrpc-core-c3-dev; no pkg-config file, headers in /usr/include) for
# the documents and libcurl (libcurl4-openssl-dev) for the HTTP. Recipes
# expand PKG_LIBS when they run, after this fragment was read; robot.o
# alone gets curl's compile flags.
CURL_CFLAGS := $(shell pkg-config --cflags libcurl 2>/dev/null)
CURL_LIBS   := $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl)
PKG_LIBS += -lxmlrpc -lxmlrpc_util $(CURL_LIBS)
$(BUILD)/src/renode/robot.o: CFLAGS += $(CURL_CFLAGS)

.PHONY: renode-unit
# Just the Renode connector's unit tests.
renode-unit: $(BUILD)/tests/renode/test_robot $(BUILD)/tests/renode/test_renode_parse
	@tests/run-unit.sh $^

# The firmware of the Renode tests on real Renode (stm32f4_discovery-kit);
# the stand-in only checks that it is an ELF file. Built like
# tests/firmware's, with clang and lld.
RENODE_FW := $(BUILD)/firmware/renode/stm32f4-echo.elf
RENODE_FW_SRC := tests/renode-standin/firmware

$(RENODE_FW): $(RENODE_FW_SRC)/stm32f4-echo.c $(RENODE_FW_SRC)/stm32f4.ld
	@mkdir -p $(dir $@)
	clang --target=thumbv7em-none-eabi -mcpu=cortex-m4 -mthumb \
		-ffreestanding -nostdlib -fuse-ld=lld -O2 -g -Wall -Wextra -Werror \
		-fno-unwind-tables -fno-asynchronous-unwind-tables \
		-T $(RENODE_FW_SRC)/stm32f4.ld -o $@ $(RENODE_FW_SRC)/stm32f4-echo.c

integration: $(RENODE_FW)
