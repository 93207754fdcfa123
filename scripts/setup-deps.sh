#!/bin/sh
# setup-deps.sh: install what emufs needs to build and test, on Debian 12.
#
# Run by every `make test`/`make run`, so the common case (nothing missing)
# is one dpkg-query call and no output. Otherwise it runs apt-get (through
# sudo when not root) for just the missing packages. It also checks that
# /dev/fuse exists, which no package can fix inside a container.

# Build: compiler, pkg-config, FUSE 3 and jansson headers, cmocka for the
# unit tests. Run and test: fuse3 (fusermount3), QEMU for ARM, qemu-img,
# clang + lld for the test firmware, python3 and expect for the
# integration tests, gdb-multiarch for the gdb channel, bats and
# python3-pytest for the examples' suites (examples/bats, examples/pytest).
# The Renode connector's robot-port client: xmlrpc-c's core library and
# libcurl. The example boards' guest kit (scripts/guest-kit.sh):
# qemu-system-misc (qemu-system-riscv64; qemu-system-arm has aarch64
# already), cpio for the initramfs, device-tree-compiler (fdtput) for the
# Pi's device tree. TLS on the TCP links to emulators (settings.tls):
# GnuTLS's library, and certtool for the tests' certificates. A one-node
# Slurm cluster for the tests of `launcher` (scripts/slurm-cluster.sh):
# slurm-wlm and munge.
PACKAGES="build-essential pkg-config libfuse3-dev fuse3 libjansson-dev
libcmocka-dev qemu-system-arm qemu-utils clang libclang-rt-14-dev lld python3 expect
gdb-multiarch libxmlrpc-core-c3-dev libcurl4-openssl-dev bats python3-pytest
qemu-system-misc cpio device-tree-compiler libgnutls28-dev gnutls-bin
slurm-wlm munge"

set -u

check_fuse() {
	if [ ! -c /dev/fuse ]; then
		# A missing node is often just an unloaded module.
		if [ "$(id -u)" = 0 ] && command -v modprobe >/dev/null 2>&1; then
			modprobe fuse 2>/dev/null
		fi
	fi
	if [ ! -c /dev/fuse ]; then
		echo "setup-deps: /dev/fuse does not exist: emufs cannot mount." >&2
		echo "setup-deps: load the fuse module (modprobe fuse), or run" \
		     "the container with --device /dev/fuse." >&2
	fi
}

if ! command -v dpkg-query >/dev/null 2>&1; then
	# shellcheck disable=SC2086 # word splitting joins the list on one line
	echo "setup-deps: not a Debian system; install by hand:" $PACKAGES >&2
	check_fuse
	exit 0
fi

# dpkg-query prints nothing for packages it has never heard of, so compare
# against the full list rather than looking for "not-installed" lines.
# shellcheck disable=SC2086
installed=" $(dpkg-query -W -f='${Package} ${Status}\n' $PACKAGES 2>/dev/null |
	awk '$NF == "installed" { printf "%s ", $1 }')"
missing=
for p in $PACKAGES; do
	case "$installed" in
	*" $p "*) ;;
	*) missing="$missing $p" ;;
	esac
done

# The guest kit downloads arm64 packages (apt-get download, no install):
# apt must know the architecture and have its package lists.
foreign=
dpkg --print-foreign-architectures | grep -qx arm64 || foreign=arm64
# (a look at apt's list files, not apt-cache: this runs on every make test)
if [ -z "$foreign" ] &&
   ! ls /var/lib/apt/lists/*_binary-arm64_Packages* >/dev/null 2>&1; then
	foreign=lists
fi

if [ -n "$missing" ] || [ -n "$foreign" ]; then
	if [ "$(id -u)" = 0 ]; then
		sudo=
	elif command -v sudo >/dev/null 2>&1; then
		sudo=sudo
	else
		echo "setup-deps: missing:$missing${foreign:+ (arm64 package lists)};" \
		     "not root and no sudo" >&2
		exit 1
	fi
fi
if [ "$foreign" = arm64 ]; then
	echo "setup-deps: adding the arm64 architecture (for the guest kit)"
	$sudo dpkg --add-architecture arm64 || exit 1
fi
if [ -n "$foreign" ] && [ -z "$missing" ]; then
	$sudo apt-get update || {
		echo "setup-deps: apt-get update failed: the Debian archive is not" \
		     "reachable, and the guest kit cannot be downloaded" >&2
		exit 1
	}
fi

if [ -n "$missing" ]; then
	echo "setup-deps: installing:$missing"
	$sudo apt-get update || exit 1
	# shellcheck disable=SC2086
	$sudo env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y --no-install-recommends $missing || exit 1
fi

check_fuse
exit 0
