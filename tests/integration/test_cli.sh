# test_cli.sh - the command line (contract section 1): --help, --version,
# configs refused before mounting, daemon mode, the state directory.

test_help_exits_0_and_prints_usage() {
	local out rc=0
	out=$("$EMUFS" --help 2>&1) || rc=$?
	assert_eq 0 "$rc" "exit status of emufs --help"
	grep -q -- '--state-dir' <<<"$out" || fail "--help does not mention --state-dir: $out"
	grep -qi 'usage' <<<"$out" || fail "--help prints no usage line: $out"
}

test_version_exits_0_and_prints_version() {
	local out rc=0
	out=$("$EMUFS" --version 2>&1) || rc=$?
	assert_eq 0 "$rc" "exit status of emufs --version"
	grep -Eq '^emufs [0-9]+\.[0-9]+' <<<"$out" || fail "--version printed \"$out\""
}

# expect_config_refused JSON_PATH_TEXT: emufs -f -c $CONFIG mnt must refuse
# the config: exit status 2, one line on stderr naming the file and
# JSON_PATH_TEXT, nothing mounted.
expect_config_refused() {
	local want=$1 rc=0 err lines
	timeout 10 "$EMUFS" -f -c "$CONFIG" --state-dir "$SCRATCH/state" "$MNT" \
		>"$SCRATCH/stdout" 2>"$SCRATCH/stderr" || rc=$?
	err=$(cat "$SCRATCH/stderr")
	is_mounted "$MNT" && fail "the bad config was mounted"
	[ "$rc" -ne 124 ] || fail "emufs accepted the bad config and ran"
	assert_eq 2 "$rc" "exit status for a bad config (stderr: $err)"
	lines=$(wc -l <"$SCRATCH/stderr")
	assert_eq 1 "$lines" "lines on stderr ($err)"
	grep -qF -- "$(basename "$CONFIG")" <<<"$err" || fail "message does not name the file: $err"
	[ -z "$want" ] || grep -qF -- "$want" <<<"$err" ||
		fail "message does not name \"$want\": $err"
	[ ! -d "$SCRATCH/state" ] || [ -z "$(ls -A "$SCRATCH/state")" ] ||
		fail "state directory populated for a refused config"
	note "refused: $err"
}

test_bad_json_is_refused_with_status_2() {
	write_config bad.json <<'EOF'
{ "targets": { "demo": { "emulator": "qemu", }
EOF
	expect_config_refused ""
}

test_missing_machine_is_refused_naming_json_path() {
	write_config <<'EOF'
{ "targets": { "demo": { "emulator": "qemu",
                         "qemu": { "binary": "qemu-system-arm" } } } }
EOF
	expect_config_refused "targets.demo.qemu.machine"
}

test_wrong_type_is_refused_naming_json_path() {
	write_config <<'EOF'
{ "targets": { "demo": { "emulator": "qemu",
                         "qemu": { "binary": "qemu-system-arm", "machine": 5 } } } }
EOF
	expect_config_refused "targets.demo.qemu.machine"
}

test_unknown_emulator_is_refused_naming_json_path() {
	write_config <<'EOF'
{ "targets": { "demo": { "emulator": "bochs",
                         "qemu": { "binary": "qemu-system-arm", "machine": "virt" } } } }
EOF
	expect_config_refused "targets.demo.emulator"
}

test_unknown_target_is_refused_naming_json_path() {
	write_config <<'EOF'
{ "targets": { "demo": { "emulator": "qemu",
                         "qemu": { "binary": "qemu-system-arm", "machine": "virt" } } },
  "instances": { "board0": { "target": "nosuch" } } }
EOF
	expect_config_refused "instances.board0.target"
}

test_invalid_instance_name_is_refused() {
	write_config <<'EOF'
{ "targets": { "demo": { "emulator": "qemu",
                         "qemu": { "binary": "qemu-system-arm", "machine": "virt" } } },
  "instances": { "bad name": { "target": "demo" } } }
EOF
	expect_config_refused "bad name"
}

test_reserved_channel_name_is_refused() {
	write_config <<'EOF'
{ "targets": { "demo": { "emulator": "qemu",
                         "qemu": { "binary": "qemu-system-arm", "machine": "virt" },
                         "serial": { "ctl": 0 } } } }
EOF
	expect_config_refused "targets.demo.serial"
}

test_unreadable_config_is_refused_with_status_2() {
	CONFIG=$SCRATCH/does-not-exist.json
	expect_config_refused ""
}

test_no_mountpoint_exits_2() {
	write_std_config board0
	local rc=0
	timeout 10 "$EMUFS" -f -c "$CONFIG" >"$SCRATCH/out" 2>&1 || rc=$?
	assert_eq 2 "$rc" "exit status without a mount point ($(head -n 1 "$SCRATCH/out"))"
	[ -s "$SCRATCH/out" ] || fail "no message without a mount point"
}

# Without -f emufs daemonizes once the mount is live: the next command of
# a script can use it; fusermount3 -u ends the daemon and its emulators.
test_daemon_mode_mount_is_live_when_command_returns() {
	require_qemu
	require_fuse
	write_std_config board0 board1+
	local rc=0
	timeout 20 "$EMUFS" -c "$CONFIG" --state-dir "$STATE_DIR" "$MNT" \
		>"$SCRATCH/out" 2>&1 || rc=$?
	assert_eq 0 "$rc" "exit status of emufs (daemon mode): $(cat "$SCRATCH/out")"
	# no wait: the mount must be usable at once
	assert_eq "board0 board1" "$(ls "$MNT" | tr '\n' ' ' | sed 's/ $//')" "ls of the mount"
	[ -n "$(emufs_pids)" ] || fail "no emufs process left running in the background"
	wait_state board1 running 10
	fusermount3 -u "$MNT" || fail "fusermount3 -u failed"
	wait_for '[ -z "$(emufs_pids)" ]' 10 ||
		fail "the daemon did not exit after fusermount3 -u"
	assert_no_qemu 2
	is_mounted "$MNT" && fail "still mounted"
	return 0
}

test_debug_option_stays_in_foreground() {
	require_fuse
	write_std_config board0
	mount_emufs -d
	alive "$EMUFS_PID" || fail "emufs -d did not stay in the foreground"
	unmount_emufs
}

test_fuse_options_are_passed_through() {
	require_fuse
	write_std_config board0
	mount_emufs -o allow_other,noatime
	local opts
	opts=$(awk -v p="$MNT" '$2 == p { print $4 }' /proc/self/mounts)
	grep -q allow_other <<<"$opts" || fail "no allow_other in the mount options: $opts"
	grep -q noatime <<<"$opts" || fail "no noatime in the mount options: $opts"
	unmount_emufs
}

test_bad_fuse_option_is_refused() {
	require_fuse
	write_std_config board0
	local rc=0
	timeout 10 "$EMUFS" -f -c "$CONFIG" --state-dir "$STATE_DIR" -o no_such_option "$MNT" \
		>"$SCRATCH/out" 2>&1 || rc=$?
	[ "$rc" -ne 124 ] || fail "emufs mounted with an unknown -o option"
	[ "$rc" -ne 0 ] || fail "emufs exited 0 with an unknown -o option"
	is_mounted "$MNT" && fail "mounted with an unknown -o option"
	note "status $rc: $(head -n 2 "$SCRATCH/out" | tr '\n' '|')"
}

test_state_dir_is_created_0700() {
	require_fuse
	write_std_config board0
	STATE_DIR=$SCRATCH/state
	umask 000
	mount_emufs
	umask 022
	[ -d "$STATE_DIR" ] || fail "state directory $STATE_DIR not created"
	assert_eq 700 "$(stat -c %a "$STATE_DIR")" "mode of the state directory"
	unmount_emufs
}

# --state-dir may name a directory that already holds the user's files;
# emufs may clear what an earlier emufs left there (docs/emufs.1: "emptied
# of what an earlier emufs left in it"), but must not delete files it
# never made.
test_state_dir_keeps_files_emufs_did_not_make() {
	require_fuse
	write_std_config board0
	STATE_DIR=$SCRATCH/mine
	mkdir -p "$STATE_DIR/notes"
	echo keep >"$STATE_DIR/precious.txt"
	echo keep >"$STATE_DIR/notes/todo.txt"
	mount_emufs
	[ -e "$STATE_DIR/precious.txt" ] ||
		fail "emufs deleted $STATE_DIR/precious.txt (a file it did not make) when it mounted"
	[ -e "$STATE_DIR/notes/todo.txt" ] ||
		fail "emufs deleted $STATE_DIR/notes/todo.txt (a file it did not make) when it mounted"
	unmount_emufs
	[ -e "$STATE_DIR/precious.txt" ] ||
		fail "emufs deleted $STATE_DIR/precious.txt (a file it did not make) when it exited"
	return 0
}

test_default_state_dir_is_under_xdg_runtime_dir() {
	require_qemu
	require_fuse
	write_std_config board0
	mkdir -m 700 "$SCRATCH/xdg"
	export XDG_RUNTIME_DIR=$SCRATCH/xdg
	STATE_DIR=
	mount_emufs
	local base=$SCRATCH/xdg/emufs-$(id -u) dirs
	[ -d "$base" ] || fail "no $base: $(find "$SCRATCH/xdg" | tr '\n' ' ')"
	dirs=$(find "$base" -mindepth 1 -maxdepth 1 -type d)
	[ "$(wc -l <<<"$dirs")" -eq 1 ] && [ -n "$dirs" ] ||
		fail "expected one state directory in $base, found: $dirs"
	assert_eq 700 "$(stat -c %a "$dirs")" "mode of the default state directory"
	# the emulator's sockets live there
	ctl board0 start
	pgrep -f -- "qemu-system[^ ]* .*$(_re_escape "$base")" >/dev/null ||
		fail "QEMU's command line does not use $base"
	ctl board0 stop
	unmount_emufs
}

# Relative paths in the config are relative to the config file's
# directory, also for a daemon (which changes its directory to /).
test_relative_paths_in_config_resolve_from_config_dir() {
	require_qemu
	require_fuse
	mkdir -p "$SCRATCH/proj/fw" "$SCRATCH/elsewhere"
	cp "$FIRMWARE_DIR/ast2500-test.elf" "$SCRATCH/proj/fw/"
	write_config proj/emufs.json <<EOF
{ "targets": { "ast": { "emulator": "qemu",
    "qemu": { "binary": "$QEMU_ARM", "machine": "ast2500-evb",
              "kernel": "fw/ast2500-test.elf", "args": ["-nic", "none"] },
    "serial": { "serial0": 0 } } },
  "instances": { "board0": { "target": "ast" } } }
EOF
	cd "$SCRATCH/elsewhere" || fail "cd"
	local rc=0
	timeout 20 "$EMUFS" -c ../proj/emufs.json --state-dir "$STATE_DIR" "$MNT" \
		>"$SCRATCH/out" 2>&1 || rc=$?
	assert_eq 0 "$rc" "exit status of emufs: $(cat "$SCRATCH/out")"
	ctl board0 start
	wait_for "grep -qF '$BANNER' '$MNT/board0/serial0'" 2 ||
		fail "no banner: the relative kernel path did not resolve"
	ctl board0 stop
	fusermount3 -u "$MNT" || fail "fusermount3 -u failed"
	wait_for '[ -z "$(emufs_pids)" ]' 10 || fail "the daemon did not exit"
}
