# emufs.bash: mount emufs on the demo board for a bats file, and unmount it
# afterwards (`load emufs` in the .bats file, then emufs_mount in
# setup_file and emufs_unmount in teardown_file).
#
# EMUFS and DEMO_FIRMWARE say where the build is; by default this
# repository's build/ (what `make` and `make demo-firmware` make).
# Sets MNT (the mountpoint) and B (the instance directory, board0).
# shellcheck shell=bash disable=SC2034 # B is for the .bats files

repo=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
EMUFS=${EMUFS:-$repo/build/emufs}
DEMO_FIRMWARE=${DEMO_FIRMWARE:-$repo/build/examples/demo.elf}
MNT=$BATS_FILE_TMPDIR/mnt
B=$MNT/board0

# emufs_mount: examples/demo.json with this build's firmware and without
# autostart (each test starts the board itself), mounted in the
# foreground so that teardown can check emufs's exit status.
emufs_mount() {
	python3 - "$repo/examples/demo.json" "$DEMO_FIRMWARE" \
		>"$BATS_FILE_TMPDIR/demo.json" <<-'PY'
	import json, sys
	cfg = json.load(open(sys.argv[1]))
	cfg["targets"]["ast-demo"]["qemu"]["kernel"] = sys.argv[2]
	cfg["instances"]["board0"]["autostart"] = False
	json.dump(cfg, sys.stdout)
	PY
	mkdir -p "$MNT"
	# 3>&-: bats waits for every holder of its fd 3 to end
	"$EMUFS" -f -c "$BATS_FILE_TMPDIR/demo.json" \
		--state-dir "$BATS_FILE_TMPDIR/state" "$MNT" \
		>"$BATS_FILE_TMPDIR/emufs.out" 2>&1 3>&- &
	EMUFS_PID=$!
	# The one wait follow/ cannot do: for the mount itself.
	timeout 10 sh -c 'until mountpoint -q "$1"; do
		kill -0 "$2" 2>/dev/null || exit 1; sleep 0.05; done' _ "$MNT" "$EMUFS_PID" ||
		{ cat "$BATS_FILE_TMPDIR/emufs.out" >&2; return 1; }
}

# emufs_unmount: fusermount3 -u stops the board; emufs must exit 0.
emufs_unmount() {
	fusermount3 -u "$MNT"
	wait "$EMUFS_PID" || { cat "$BATS_FILE_TMPDIR/emufs.out" >&2; return 1; }
}
