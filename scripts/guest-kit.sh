#!/bin/sh
# guest-kit.sh OUT: the Linux guest kit of examples/boards/, built from
# Debian 12's own arm64 packages into OUT (build/guests), never committed.
#
#   OUT/debs/      the two packages as downloaded (the cache: a second run
#                  downloads nothing)
#   OUT/arm64/Image                the kernel of linux-image-arm64
#   OUT/arm64/initrd.gz            busybox-static + examples/boards/initramfs
#   OUT/arm64/bcm2837-rpi-3-b.dtb  the kernel's Raspberry Pi 3 B tree with
#                                  the Bluetooth node removed (see below)
#
# Needs: `dpkg --add-architecture arm64` and an `apt-get update` after it
# (scripts/setup-deps.sh does both), dpkg-deb, cpio, gzip, fdtput
# (device-tree-compiler). Runs as any user: apt-get download writes to the
# current directory only. Each step is skipped when its output exists, and
# outputs appear atomically (written aside, then renamed), so an
# interrupted run leaves nothing half made.
set -eu

out=${1:?usage: guest-kit.sh OUT}
src=$(cd "$(dirname "$0")/../examples/boards/initramfs" && pwd)
mkdir -p "$out/debs" "$out/arm64"
out=$(cd "$out" && pwd)

die() { echo "guest-kit: $*" >&2; exit 1; }

for tool in apt-get apt-cache dpkg-deb cpio gzip fdtput; do
	command -v "$tool" >/dev/null 2>&1 ||
		die "$tool is missing: run \`make deps\` (scripts/setup-deps.sh)"
done
dpkg --print-foreign-architectures | grep -qx arm64 ||
	die "dpkg does not know the arm64 architecture: run \`make deps\` as" \
	    "root (it runs dpkg --add-architecture arm64 and apt-get update)"

# fetch PACKAGE: OUT/debs/PACKAGE_*.deb, downloaded once. The name of the
# file is printed.
fetch() {
	local_deb=$(ls "$out/debs/$1"_*_arm64.deb 2>/dev/null | head -n 1)
	if [ -z "$local_deb" ]; then
		echo "guest-kit: downloading $1:arm64" >&2
		# aside first: an interrupted download must not pass for the cache
		rm -rf "$out/debs/.dl"; mkdir "$out/debs/.dl"
		( cd "$out/debs/.dl" && apt-get download -q "$1:arm64" >/dev/null 2>.err ) ||
			die "cannot download $1:arm64 from the Debian archive:" \
			    "$(grep -v '^W:' "$out/debs/.dl/.err" | tail -n 1)" \
			    "(is the archive reachable? \`apt-get update\` as root may help)"
		mv "$out/debs/.dl/$1"_*_arm64.deb "$out/debs/"
		rm -rf "$out/debs/.dl"
		local_deb=$(ls "$out/debs/$1"_*_arm64.deb | head -n 1)
	fi
	echo "$local_deb"
}

# The kernel: linux-image-arm64 is a metapackage; what it depends on is
# the package with the kernel in it (linux-image-6.1.0-NN-arm64). Only
# that one is downloaded (60 MB), not the metapackage's other
# dependencies (initramfs-tools, kmod, ...), which a guest booted with
# -kernel and -initrd does not use.
if [ ! -e "$out/arm64/Image" ] || [ ! -e "$out/arm64/bcm2837-rpi-3-b.dtb" ]; then
	kpkg=$(ls "$out/debs/" 2>/dev/null | sed -n 's/^\(linux-image-[0-9][^_]*-arm64\)_.*/\1/p' | head -n 1)
	if [ -z "$kpkg" ]; then
		kpkg=$(apt-cache depends "linux-image-arm64:arm64" 2>/dev/null |
			sed -n 's/^ *Depends: \(linux-image-[0-9][^:]*-arm64\).*/\1/p' | head -n 1)
		[ -n "$kpkg" ] ||
			die "apt does not know linux-image-arm64:arm64: run \`make deps\`" \
			    "as root (apt-get update after dpkg --add-architecture arm64)"
	fi
	kdeb=$(fetch "$kpkg")
	tmp=$out/arm64/.kernel.tmp
	rm -rf "$tmp"; mkdir -p "$tmp"
	# only the two files the boards boot, not the 350 MB of modules
	dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$tmp" --wildcards \
		'./boot/vmlinuz-*' './usr/lib/linux-image-*/broadcom/bcm2837-rpi-3-b.dtb'
	# The Pi 3 B's PL011 (serial0 of QEMU's raspi3b) is wired to the
	# Bluetooth chip: with its node present the kernel gives the UART to
	# the Bluetooth driver and no ttyAMA0 appears. Without it, ttyAMA0 is
	# a console like any other.
	dtb=$(ls "$tmp"/usr/lib/linux-image-*/broadcom/bcm2837-rpi-3-b.dtb)
	fdtput -r "$dtb" /soc/serial@7e201000/bluetooth ||
		die "$kpkg's bcm2837-rpi-3-b.dtb has no node /soc/serial@7e201000/bluetooth"
	mv "$dtb" "$out/arm64/bcm2837-rpi-3-b.dtb"
	# Debian's arm64 "vmlinuz" is an uncompressed Image, booted as is
	mv "$tmp"/boot/vmlinuz-* "$out/arm64/Image"
	# dated now, not as packaged: make compares it with this script
	touch "$out/arm64/Image" "$out/arm64/bcm2837-rpi-3-b.dtb"
	echo "$kpkg" >"$out/arm64/kernel-package"
	rm -rf "$tmp"
fi

# The initramfs: a static busybox, /init and the GPIO shim agent. Rebuilt
# when one of the files of examples/boards/initramfs/ is newer.
if [ ! -e "$out/arm64/initrd.gz" ] ||
   [ -n "$(find "$src" -newer "$out/arm64/initrd.gz" -type f)" ]; then
	bdeb=$(fetch busybox-static)
	tmp=$out/arm64/.initrd.tmp
	rm -rf "$tmp"; mkdir -p "$tmp/x" "$tmp/root/bin"
	dpkg-deb -x "$bdeb" "$tmp/x"
	cp "$tmp/x/bin/busybox" "$tmp/root/bin/busybox"
	cp "$src/init" "$tmp/root/init"
	cp "$src/gpio-agent" "$src/gpio-out" "$tmp/root/bin/"
	chmod 0755 "$tmp/root/init" "$tmp/root/bin/"*
	( cd "$tmp/root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet ) |
		gzip -9 >"$tmp/initrd.gz"
	mv "$tmp/initrd.gz" "$out/arm64/initrd.gz"
	rm -rf "$tmp"
fi
