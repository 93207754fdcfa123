# test_mount.sh - mounting like every other FUSE file system (contract
# section 5): `mount -t fuse.emufs`, an fstab line, -o config=/state_dir=
# read by libfuse's option parser, the config as the mount's source, and a
# mount point that is mounted, missing or stale refused at once.

# ---- mount(8) --------------------------------------------------------------

# mount(8) drops the caller's PATH and mount.fuse3 runs `emufs` through
# /bin/sh, whose default PATH holds /usr/local/sbin: the emufs under test
# is linked there, in a private mount namespace (so nothing changes for
# the rest of the machine, and the mounts made inside stay inside).
# in_mount_ns FUNCTION: run FUNCTION of this file there, as a test of its
# own (lib.sh --run-test: its result, its cleanup inside the namespace).
in_mount_ns() {
	require_fuse
	[ "$(id -u)" = 0 ] || skip "mount -t fuse.emufs needs root"
	[ -x /sbin/mount.fuse3 ] || [ -x /usr/sbin/mount.fuse3 ] ||
		skip "no mount.fuse3 (package fuse3)"
	command -v unshare >/dev/null 2>&1 || skip "no unshare(1)"
	mkdir -p "$SCRATCH/bin"
	ln -sf "$EMUFS" "$SCRATCH/bin/emufs"
	local rc=0
	unshare --mount --propagation private bash -c '
		mount --bind "$1" /usr/local/sbin || exit 1
		exec bash "$2" --run-test "$3" "$4"' _ \
		"$SCRATCH/bin" "$TESTS_DIR/lib.sh" "${BASH_SOURCE[0]}" "$1" || rc=$?
	[ "$rc" -eq 77 ] && exit 77
	[ "$rc" -eq 0 ] || fail "$1 (in a mount namespace) failed with status $rc"
}

# daemon_pid: the emufs that mount.fuse3 started (argv[0] `emufs`, found
# on PATH); the oldest, not its janitor.
daemon_pid() { pgrep -o -f -- "^emufs .*$(_re_escape "$SCRATCH")"; }

# umount_daemon: unmount, and the daemon and its emulators end.
umount_daemon() {
	local pid
	pid=$(daemon_pid) || fail "no emufs daemon running"
	umount "$MNT" || fail "umount $MNT failed"
	wait_for "! alive $pid" 15 || fail "emufs $pid still running after umount"
	assert_no_qemu 3
}

assert_source() {
	assert_eq "$1" "$(findmnt -n -o SOURCE "$MNT")" "findmnt SOURCE of the mount"
	assert_eq fuse.emufs "$(findmnt -n -o FSTYPE "$MNT")" "findmnt FSTYPE of the mount"
}

_mount_t_boots() {
	require_qemu
	write_std_config board0
	local out
	out=$(mount -t fuse.emufs -o "state_dir=$STATE_DIR" "$CONFIG" "$MNT" 2>&1) ||
		fail "mount -t fuse.emufs failed: $out"
	# no wait: mount returns once the mount is live
	assert_source "$CONFIG"
	ctl board0 start
	wait_for "grep -qF '$BANNER' '$MNT/board0/serial0'" 5 ||
		fail "no banner on serial0: $(tail -n 3 "$MNT/board0/log" | tr '\n' '|')"
	[ -e "$STATE_DIR/board0" ] || fail "state_dir= not used: $(ls -A "$STATE_DIR" 2>&1)"
	umount_daemon
}

test_mount_t_fuse_emufs_shows_the_config_as_source_and_boots() {
	in_mount_ns _mount_t_boots
}

_fstab_line_mounts() {
	write_std_config board0
	# the options of a typical line, and what systemd adds
	printf '%s %s fuse.emufs %s 0 0\n' "$CONFIG" "$MNT" \
		"defaults,noauto,_netdev,nofail,x-systemd.automount,state_dir=$STATE_DIR" \
		>"$SCRATCH/fstab"
	local out
	out=$(mount -T "$SCRATCH/fstab" "$MNT" 2>&1) ||
		fail "mount -T fstab $MNT failed: $out"
	assert_source "$CONFIG"
	assert_state board0 stopped
	[ -e "$STATE_DIR/board0" ] || fail "state_dir= not used"
	umount_daemon
}

test_fstab_line_with_defaults_noauto_netdev_mounts() {
	in_mount_ns _fstab_line_mounts
}

# ---- -o options --------------------------------------------------------------

# run_refused NAME ARGS...: emufs -f ARGS must exit 2 at once (within 5 s)
# with one line on stderr, mounting nothing and making no state
# directory. Sets REFUSAL to the line.
run_refused() {
	local name=$1 rc=0 start elapsed
	shift
	start=$(_now_us)
	timeout 30 "$EMUFS" -f "$@" >"$SCRATCH/out" 2>"$SCRATCH/err" || rc=$?
	elapsed=$(( ($(_now_us) - start) / 1000 ))
	REFUSAL=$(cat "$SCRATCH/err")
	note "$name: $REFUSAL (${elapsed} ms)"
	assert_eq 2 "$rc" "exit status for $name (stderr: $REFUSAL)"
	[ "$elapsed" -lt 5000 ] || fail "$name refused after $elapsed ms, not at once"
	assert_eq 1 "$(wc -l <"$SCRATCH/err")" "lines on stderr for $name ($REFUSAL)"
	[ ! -e "$SCRATCH/state2" ] || fail "$name made a state directory"
}

# expect_in_refusal TEXT...: the refusal line holds each TEXT.
expect_in_refusal() {
	local t
	for t in "$@"; do
		grep -qF -- "$t" <<<"$REFUSAL" || fail "refusal does not say \"$t\": $REFUSAL"
	done
}

test_unknown_option_exits_2_naming_it() {
	require_fuse
	write_std_config board0
	run_refused "an unknown -o option" \
		-o "config=$CONFIG,state_dir=$SCRATCH/state2,noauto,frobnicate" "$MNT"
	expect_in_refusal frobnicate
	is_mounted "$MNT" && fail "mounted with an unknown option"
	run_refused "an unknown dash option" -c "$CONFIG" -x "$MNT"
	expect_in_refusal -x
}

test_config_given_twice_differently_exits_2() {
	require_fuse
	write_std_config board0
	cp "$CONFIG" "$SCRATCH/other.json"
	run_refused "two configs" -o "config=$SCRATCH/other.json,state_dir=$SCRATCH/state2" \
		"$CONFIG" "$MNT"
	expect_in_refusal "given twice" other.json
}

# Every option mount(8), fstab or systemd may hand a helper is accepted;
# and `config=` with `\,`, the way libfuse's option parser reads a comma.
test_standard_options_and_escaped_comma_in_config_path() {
	require_fuse
	write_std_config board0
	mv "$CONFIG" "$SCRATCH/a,b.json"
	CONFIG=$SCRATCH/a,b.json
	local opts out
	opts='rw,dev,suid,exec,nodev,nosuid,noexec,async,noatime,relatime'
	opts+=',defaults,auto,noauto,user,nouser,users,_netdev,nofail'
	opts+=',comment=x,x-systemd.automount'
	out=$(timeout 20 "$EMUFS" -o "$opts,config=$SCRATCH/a\\,b.json,state_dir=$STATE_DIR" \
		"$MNT" 2>&1) || fail "emufs -o $opts,config=...: $out"
	assert_source "$CONFIG"
	assert_state board0 stopped
	findmnt -n -o OPTIONS "$MNT" | grep -qw noexec ||
		fail "noexec did not reach the mount: $(findmnt -n -o OPTIONS "$MNT")"
	fusermount3 -u "$MNT" || fail "fusermount3 -u failed"
	wait_for '[ -z "$(emufs_pids)" ]' 10 || fail "emufs did not exit after fusermount3 -u"
}

# ---- the mount point -----------------------------------------------------------

# Before: the second emufs waited 20 s for the state directory's lock,
# which the first holds, and then blamed the state directory.
test_mounted_mountpoint_exits_2_at_once() {
	require_fuse
	write_std_config board0
	mount_emufs
	run_refused "a mounted mount point" -c "$CONFIG" --state-dir "$STATE_DIR" "$MNT"
	expect_in_refusal "already mounted" "fusermount3 -u"
	assert_state board0 stopped          # the first mount is untouched
	unmount_emufs
}

test_missing_mountpoint_exits_2() {
	require_fuse
	write_std_config board0
	run_refused "a missing mount point" -c "$CONFIG" --state-dir "$SCRATCH/state2" \
		"$SCRATCH/no-such-dir"
	expect_in_refusal no-such-dir "no such directory"
}

# A dead FUSE mount of another file system: /dev/fuse opened, mounted,
# closed (as a crashed server leaves it), so that the mount point gives
# ENOTCONN. emufs removes only an emufs's own dead mount (janitor.h).
make_stale_mount() {
	python3 - "$1" <<'EOF' || fail "cannot make a dead FUSE mount"
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open("/dev/fuse", os.O_RDWR)
opts = "fd=%d,rootmode=40000,user_id=%d,group_id=%d" % (fd, os.getuid(), os.getgid())
if libc.mount(b"deadsrc", sys.argv[1].encode(), b"fuse.deadfs", 0, opts.encode()):
    sys.exit("mount: " + os.strerror(ctypes.get_errno()))
EOF
}

test_stale_mountpoint_exits_2_naming_enotconn() {
	require_fuse
	[ "$(id -u)" = 0 ] || skip "making a dead FUSE mount needs root"
	write_std_config board0
	make_stale_mount "$MNT"
	expect_errno ENOTCONN stat "$MNT"
	run_refused "a stale mount point" -c "$CONFIG" --state-dir "$SCRATCH/state2" "$MNT"
	expect_in_refusal ENOTCONN "fusermount3 -u -z"
	# nothing changed: the dead mount is still there
	assert_eq fuse.deadfs "$(awk -v p="$MNT" '$2 == p { print $3 }' /proc/self/mounts)" \
		"type of the mount on $MNT"
}
