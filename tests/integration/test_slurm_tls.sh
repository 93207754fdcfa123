# test_slurm_tls.sh - the launcher's links with settings.tls (interface.md
# 6, issue 19): QEMU as a Slurm job step, its QMP and serial links TLS
# with both ends verified (QEMU's tls-creds-x509 client, emufs's GnuTLS
# server), with credentials this test makes (tests/tls/make-certs.sh).
# The same user commands as test_slurm.sh, through TLS; and the two ways
# verification fails: start is EIO and `log` says which end and why.
#
# integration-fixture: scripts/slurm-cluster.sh
# integration-timeout: 90

. "$TESTS_DIR/test_slurm.sh"

# make_tls [HOST]: credentials in $SCRATCH/tls whose server certificate
# names HOST (default 127.0.0.1, settings.listen's default); TLS_JSON
# the settings that use them.
make_tls() {
	sh "$TESTS_DIR/../tls/make-certs.sh" "$SCRATCH/tls" "${1:-127.0.0.1}" ||
		fail "cannot make test certificates"
	TLS_JSON="{\"tls\": {\"dir\": \"$SCRATCH/tls\"}}"
}

# The running board of test_slurm.sh, with TLS on every link.
setup_srun_running() {
	make_tls
	write_srun_config "" "$AST_GPIO_JSON" "$TLS_JSON"
	mount_emufs
	ctl board0 start
	wait_banner board0 serial0 5
}

# Every link TLS: QEMU was given the credentials, and emufs verified its
# certificate on the QMP link, the gdb stub's and serial0's.
assert_links_are_tls() {
	local q
	q=$(job_qemu_pid) || fail "no QEMU runs for the job"
	tr '\0' ' ' <"/proc/$q/cmdline" | grep -q 'tls-creds-x509,id=emufs-tls' ||
		fail "QEMU has no TLS credentials: $(tr '\0' ' ' <"/proc/$q/cmdline")"
	grep -q "QMP link: TLS, QEMU's client certificate verified" "$MNT/board0/log" ||
		fail "the QMP link is not TLS: $(tail -n 5 "$MNT/board0/log" | tr '\n' '|')"
	grep -q "serial0 link: TLS, QEMU's client certificate verified" "$MNT/board0/log" ||
		fail "serial0's link is not TLS"
	grep -q "gdb link: TLS, QEMU's client certificate verified" "$MNT/board0/log" ||
		fail "the gdb stub's link is not TLS"
}

test_tls_srun_lifecycle_with_state_and_events() {
	setup_srun_running
	assert_links_are_tls
	ctl board0 pause
	assert_state board0 paused
	wait_for 'has_event board0 STOP' 2 || fail "no STOP event"
	ctl board0 resume
	assert_state board0 running
	ctl board0 stop
	assert_state board0 stopped
	grep -q 'quit: the emulator exited with status 0' "$MNT/board0/log" ||
		fail "stop did not end QEMU by quit"
	assert_no_job_left
	unmount_emufs
}

# gdb through the relay over TLS (test_slurm.sh's
# test_srun_gdb_relayed_to_a_loopback_port_twice also runs here, with TLS).
test_tls_srun_gdb_session() {
	setup_srun_running
	assert_links_are_tls
	gdb_session "$(cat "$MNT/board0/gdb")"
	gdb_session "$(cat "$MNT/board0/gdb")"
	wait_state board0 running 2
	unmount_emufs
}

test_tls_srun_serial_props_gpio_qmp() {
	setup_srun_running
	assert_links_are_tls
	assert_board_works board0
	unmount_emufs
}

# QEMU's client certificate signed by another CA than the directory's:
# QEMU itself refuses to start with it (emufs's own refusal of such a
# peer is tests/unit/core/test_tls.c's: with one directory for both ends,
# QEMU checks its pair first), and `log` has QEMU's reason.
test_tls_client_certificate_of_another_ca_is_eio_and_logged() {
	make_tls
	sh "$TESTS_DIR/../tls/make-certs.sh" "$SCRATCH/rogue" || fail "certs"
	cp "$SCRATCH/rogue/client-cert.pem" "$SCRATCH/rogue/client-key.pem" "$SCRATCH/tls/"
	write_srun_config "" "" "$TLS_JSON"
	mount_emufs
	expect_errno EIO sh "echo start >'$MNT/board0/ctl'"
	grep -q "qemu-system-arm: Our own certificate .*client-cert.pem failed validation" "$MNT/board0/log" ||
		fail "log does not say why: $(tail -n 4 "$MNT/board0/log" | tr '\n' '|')"
	assert_no_job_left 10
	unmount_emufs
}

# emufs's server certificate does not name the address QEMU dials: QEMU
# ends the link once it has checked it, and `log` says so.
test_tls_server_certificate_not_naming_listen_is_eio_and_logged() {
	make_tls 10.9.9.9
	write_srun_config "" "" "$TLS_JSON"
	mount_emufs
	expect_errno EIO sh "echo start >'$MNT/board0/ctl'"
	grep -q "the QMP link's TLS: .*server certificate does not name 127.0.0.1" "$MNT/board0/log" ||
		fail "log does not say why: $(tail -n 4 "$MNT/board0/log" | tr '\n' '|')"
	assert_no_job_left 10
	unmount_emufs
}
