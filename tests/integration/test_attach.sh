# test_attach.sh - `attach` targets (interface.md 6, issue 19): a QEMU
# that someone else started, which emufs reaches at its QMP and serial
# endpoints as a client. The test plays that someone: it starts QEMU
# itself (the test firmware's board, every chardev a server), on a second
# "host" (a network namespace joined to this one by a veth pair on a
# link-local /30, made here and removed on every path) with TLS on, and
# on loopback without it. The same commands a user types as for an
# emulator emufs starts, and its gdb stub through emufs's loopback relay
# with real gdb-multiarch; and every bad input: unreachable, QMP held by
# another client, a certificate that does not verify, off loopback
# without TLS, attach with keys only a launch takes, kill, the files
# emufs does not own, and QEMU killed under emufs.
#
# integration-timeout: 90

. "$TESTS_DIR/lib_extra.sh"

# QEMUs this test started (pids), ended on every path before lib.sh's
# own cleanup, which counts any QEMU naming the scratch directory as one
# that outlived its emufs.
AT_PIDS=()
AT_NS='' AT_VETH=''

_at_cleanup() {
	local p
	for p in "${AT_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	for p in "${AT_PIDS[@]}"; do
		wait_for "! alive $p" 3
	done
	# Removing the namespace removes its end of the pair, and so both.
	[ -z "$AT_NS" ] || ip netns del "$AT_NS" 2>/dev/null
	[ -z "$AT_VETH" ] || ip link del "$AT_VETH" 2>/dev/null
	return 0
}
trap '_at_rc=$?; _at_cleanup; (exit $_at_rc); _lib_cleanup' EXIT

# make_host: the second host: namespace AT_NS, its address AT_NS_IP, ours
# AT_ROOT_IP, a /30 of 169.254/16 picked from our pid (unique per test
# process, as are the names).
make_host() {
	local n=$(( $$ % 16384 )) peer=emap$$
	local a=$(( n / 64 )) b=$(( (n % 64) * 4 ))
	AT_ROOT_IP=169.254.$a.$((b + 1))
	AT_NS_IP=169.254.$a.$((b + 2))
	AT_NS=emufs-at-$$
	ip netns add "$AT_NS" || fail "ip netns add $AT_NS"
	AT_VETH=emat$$
	ip link add "$AT_VETH" type veth peer name "$peer" ||
		fail "ip link add $AT_VETH type veth"
	ip link set "$peer" netns "$AT_NS" &&
		ip addr add "$AT_ROOT_IP/30" dev "$AT_VETH" &&
		ip link set "$AT_VETH" up &&
		ip -n "$AT_NS" addr add "$AT_NS_IP/30" dev "$peer" &&
		ip -n "$AT_NS" link set "$peer" up &&
		ip -n "$AT_NS" link set lo up || fail "cannot set up the veth pair"
}

# free_port: a TCP port of loopback nobody listens on now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# make_tls HOST: credentials in $SCRATCH/tls, QEMU's server certificate
# naming HOST; TLS_JSON: settings that use them.
make_tls() {
	sh "$TESTS_DIR/../tls/make-certs.sh" "$SCRATCH/tls" "$1" ||
		fail "cannot make test certificates"
	TLS_JSON=", \"tls\": {\"dir\": \"$SCRATCH/tls\"}"
}

# listening HOST PORT: something listens at HOST:PORT (in the namespace
# when HOST is its address).
listening() {
	local pre=()
	[ "$1" = "${AT_NS_IP-}" ] && pre=(ip netns exec "$AT_NS")
	[ -n "$("${pre[@]}" ss -Hltn "src $1 and sport = :$2" 2>/dev/null)" ]
}

# run_qemu HOST [TLS_DIR]: the board as its owner would run it: QMP at
# HOST:QMP_PORT, serial0 at HOST:SER_PORT (QEMU's mux, as emufs's own),
# its gdb stub at HOST:GDB_PORT (on a chardev: TLS needs one), every
# chardev a server, TLS ones with a TLS_DIR. In the namespace when HOST is its address (fixed ports there:
# the namespace is ours), else on free loopback ports. Sets QEMU_PID.
run_qemu() {
	local host=$1 tls=${2-} opt='' creds=() pre=()
	require_qemu
	if [ "$host" = "${AT_NS_IP-}" ]; then
		pre=(ip netns exec "$AT_NS")
		QMP_PORT=4444 SER_PORT=4445 GDB_PORT=4446
	else
		QMP_PORT=$(free_port) SER_PORT=$(free_port) GDB_PORT=$(free_port)
	fi
	if [ -n "$tls" ]; then
		creds=(-object "tls-creds-x509,id=tls0,dir=$tls,endpoint=server,verify-peer=on")
		opt=,tls-creds=tls0
	fi
	mkdir -p "$SCRATCH/fw"
	cp "$FIRMWARE_DIR/ast2500-test.elf" "$SCRATCH/fw/"
	rm -f "$SCRATCH/qemu.pid"
	"${pre[@]}" "$QEMU_ARM" -machine ast2500-evb \
		-kernel "$SCRATCH/fw/ast2500-test.elf" -nic none \
		-display none -monitor none "${creds[@]}" \
		-chardev "socket,id=qmp,host=$host,port=$QMP_PORT,server=on,wait=off$opt" \
		-mon chardev=qmp,mode=control \
		-chardev "socket,id=s0,host=$host,port=$SER_PORT,server=on,wait=off,mux=on$opt" \
		-serial chardev:s0 \
		-chardev "socket,id=g,host=$host,port=$GDB_PORT,server=on,wait=off$opt" \
		-gdb chardev:g \
		-pidfile "$SCRATCH/qemu.pid" >>"$SCRATCH/qemu.out" 2>&1 &
	AT_PIDS+=("$!")
	wait_for "[ -s '$SCRATCH/qemu.pid' ] && listening $host $QMP_PORT && listening $host $SER_PORT && listening $host $GDB_PORT" 20 ||
		fail "QEMU did not come up in 20 s: pid file: $(cat "$SCRATCH/qemu.pid" 2>&1), listening: $("${pre[@]}" ss -Hltn 2>&1 | tr '\n' '|'), QEMU: $(tail -n 3 "$SCRATCH/qemu.out" | tr '\n' '|')"
	QEMU_PID=$(cat "$SCRATCH/qemu.pid")
	AT_PIDS+=("$QEMU_PID")
}

# write_attach_config HOST [SETTINGS] [TARGET_EXTRA]: instance board0 of
# target remote, attached to run_qemu's endpoints at HOST, with the
# board's gpio; request timeout 3 s.
write_attach_config() {
	local h=$1
	cat >"$SCRATCH/cfg.json" <<EOJ
{ "targets": { "remote": { "emulator": "qemu",
    "attach": { "qmp": "$h:$QMP_PORT", "serial": { "serial0": "$h:$SER_PORT" },
                "gdb": "$h:$GDB_PORT" }${3-}$AST_GPIO_JSON } },
  "instances": { "board0": { "target": "remote" } },
  "settings": { "request_timeout_ms": 3000${2-} } }
EOJ
	CONFIG=$SCRATCH/cfg.json
}

# The attached board in the namespace, over TLS, started.
setup_tls_remote() {
	make_host
	make_tls "$AT_NS_IP"
	run_qemu "$AT_NS_IP" "$SCRATCH/tls"
	write_attach_config "$AT_NS_IP" "$TLS_JSON"
	mount_emufs
	ctl board0 start
	grep -q "QMP link: TLS, QEMU's server certificate verified for $AT_NS_IP" "$MNT/board0/log" ||
		fail "the QMP link is not TLS: $(tail -n 4 "$MNT/board0/log" | tr '\n' '|')"
	grep -q "serial0 link: TLS, QEMU's server certificate verified" "$MNT/board0/log" ||
		fail "serial0's link is not TLS"
	grep -q "gdb link: TLS, QEMU's server certificate verified for $AT_NS_IP" "$MNT/board0/log" ||
		fail "the gdb link is not TLS: $(grep gdb "$MNT/board0/log" | tr '\n' '|')"
}

# assert_gdb_relayed: `gdb` gives a port of emufs's on 127.0.0.1 (not
# QEMU's address), two gdb-multiarch sessions work through it and the
# machine runs on after each; `stop` closes the port. Leaves board0
# stopped.
assert_gdb_relayed() {
	local addr
	addr=$(cat "$MNT/board0/gdb") || fail "cat gdb failed"
	grep -q "gdb link to .*:$GDB_PORT: relayed to $addr" "$MNT/board0/log" ||
		fail "log: $(grep gdb "$MNT/board0/log" | tr '\n' '|')"
	gdb_relay_works "$addr"
	ctl board0 stop
	assert_state board0 stopped
	expect_errno ESRCH read "$MNT/board0/gdb"
	wait_for "[ -z \"\$(ss -tlnH 'src 127.0.0.1 and sport = :${addr##*:}')\" ]" 2 ||
		fail "the relay's port is still open after stop"
	alive "$QEMU_PID" || fail "stop ended the attached QEMU"
}

# The attached board on loopback, plain TCP, started.
setup_local() {
	run_qemu 127.0.0.1
	write_attach_config 127.0.0.1 "" "${1-}"
	mount_emufs
	ctl board0 start
}

# ---- on the second host, over TLS -------------------------------------------

test_attach_tls_netns_start_stop_leaves_qemu_running() {
	setup_tls_remote
	assert_state board0 running
	pause_resume_with_events board0
	ctl board0 stop
	assert_state board0 stopped
	alive "$QEMU_PID" || fail "stop ended the attached QEMU"
	grep -q 'disconnect: the emulator was left running' "$MNT/board0/log" ||
		fail "log: $(tail -n 2 "$MNT/board0/log" | tr '\n' '|')"
	# Start reconnects, and leaves the machine as it is: paused by
	# someone else meanwhile, it is `paused` for emufs too.
	python3 - "$AT_NS" "$AT_NS_IP" "$QMP_PORT" "$SCRATCH/tls" <<'EOPY' ||
import socket, ssl, subprocess, sys
ns, host, port, d = sys.argv[1:]
ctx = ssl.create_default_context(cafile=d + "/ca-cert.pem")
ctx.load_cert_chain(d + "/client-cert.pem", d + "/client-key.pem")
s = ctx.wrap_socket(socket.create_connection((host, int(port)), 5), server_hostname=host)
f = s.makefile("rwb", buffering=0)
f.readline()
for cmd in (b'{"execute":"qmp_capabilities"}', b'{"execute":"stop"}'):
    for b in cmd:       # one byte per record (docs/scale-out.md)
        f.write(bytes([b]))
    while b'"return"' not in f.readline():
        pass
s.close()
EOPY
		fail "could not pause QEMU from another client"
	ctl board0 start
	assert_state board0 paused
	grep -q 'attached to QEMU at .*: it is paused, and stays as it was' "$MNT/board0/log" ||
		fail "log: $(tail -n 2 "$MNT/board0/log" | tr '\n' '|')"
	ctl board0 resume
	assert_state board0 running
	wait_for '[ "$(emufs_states board0)" = "starting running paused running stopping stopped starting paused running" ]' 2 ||
		fail "EMUFS_STATE sequence: $(emufs_states board0)"
	ctl board0 stop
	alive "$QEMU_PID" || fail "the second stop ended the attached QEMU"
	unmount_emufs
	alive "$QEMU_PID" || fail "unmounting ended the attached QEMU"
}

test_attach_tls_netns_serial_props_gpio_qmp_gdb() {
	setup_tls_remote
	assert_board_works board0
	assert_gdb_relayed
	unmount_emufs
}

# QEMU's server certificate names another host than the one dialled:
# emufs, the TLS client, refuses it and says so.
test_attach_tls_certificate_not_naming_host_is_eio_with_the_end() {
	make_host
	make_tls 10.9.9.9
	run_qemu "$AT_NS_IP" "$SCRATCH/tls"
	write_attach_config "$AT_NS_IP" "$TLS_JSON"
	mount_emufs
	expect_errno EIO sh "echo start >'$MNT/board0/ctl'"
	assert_state board0 stopped
	grep -q "start failed: QMP link to $AT_NS_IP:$QMP_PORT: emufs (client): the peer's certificate does not verify: .*" "$MNT/board0/log" ||
		fail "log does not say which end and why: $(tail -n 2 "$MNT/board0/log" | tr '\n' '|')"
	alive "$QEMU_PID" || fail "QEMU ended"
	unmount_emufs
}

# emufs's client certificate is of another CA than QEMU's: QEMU refuses
# it (TLS 1.3 tells the client after its own handshake), and log says
# that QEMU's end ended the link, and why emufs thinks so.
test_attach_tls_client_certificate_refused_by_qemu_is_eio() {
	make_host
	make_tls "$AT_NS_IP"
	run_qemu "$AT_NS_IP" "$SCRATCH/tls"
	sh "$TESTS_DIR/../tls/make-certs.sh" "$SCRATCH/rogue" "$AT_NS_IP" || fail "certs"
	mkdir -p "$SCRATCH/emufs-tls"
	cp "$SCRATCH/tls/ca-cert.pem" "$SCRATCH/tls/server-cert.pem" \
		"$SCRATCH/tls/server-key.pem" "$SCRATCH/emufs-tls/"
	cp "$SCRATCH/rogue/client-cert.pem" "$SCRATCH/rogue/client-key.pem" \
		"$SCRATCH/emufs-tls/"
	write_attach_config "$AT_NS_IP" ", \"tls\": {\"dir\": \"$SCRATCH/emufs-tls\"}"
	mount_emufs
	expect_errno EIO sh "echo start >'$MNT/board0/ctl'"
	assert_state board0 stopped
	grep -q "start failed: .*QEMU ends the link when it does not accept emufs's client certificate" "$MNT/board0/log" ||
		fail "log does not say which end: $(tail -n 2 "$MNT/board0/log" | tr '\n' '|')"
	note "$(tail -n 1 "$MNT/board0/log")"
	alive "$QEMU_PID" || fail "QEMU ended"
	unmount_emufs
}

# ---- on loopback, plain TCP ---------------------------------------------------

test_attach_loopback_without_tls_serial_and_stop() {
	setup_local
	assert_state board0 running
	echo hello >"$MNT/board0/serial0" || fail "echo hello > serial0 failed"
	wait_text "$MNT/board0/serial0" "? hello" 3
	ctl board0 stop
	assert_state board0 stopped
	alive "$QEMU_PID" || fail "stop ended the attached QEMU"
	ctl board0 start
	assert_state board0 running
	echo again >"$MNT/board0/serial0" || fail "echo again > serial0 failed"
	wait_text "$MNT/board0/serial0" "? again" 3
	unmount_emufs
}

# The stub on loopback, plain TCP: relayed all the same (interface.md 6:
# `gdb` gives emufs's port for every attached QEMU). Connecting to the
# stub stopped the machine (QEMU's stub does at every connect): emufs ran
# it again, QEMU itself says running (assert_board_works's qmp).
test_attach_loopback_without_tls_gdb_relayed() {
	setup_local
	assert_state board0 running
	assert_board_works board0
	assert_gdb_relayed
	unmount_emufs
}

# The gdb link broken under a running attachment (ss -K resets QEMU's
# end): crashed at once, as for the other links, and log names gdb.
test_attach_broken_gdb_link_is_crashed_with_gdb_named() {
	setup_local
	ss -K state established src 127.0.0.1 sport = ":$GDB_PORT" >/dev/null 2>&1 ||
		fail "ss -K could not reset the gdb link"
	wait_state board0 crashed 4
	grep -q 'the gdb connection to the attached QEMU broke' "$MNT/board0/log" ||
		fail "log: $(tail -n 3 "$MNT/board0/log" | tr '\n' '|')"
	alive "$QEMU_PID" || fail "the attached QEMU ended"
	unmount_emufs
}

# kill is EINVAL; what emufs does not own is ENOTSUP, each with a line in
# log; trace switches still work (QMP's trace-event-set-state).
test_attach_kill_firmware_snapshots_trace_log_refused() {
	setup_local
	expect_refused EINVAL board0 ctl kill "not emufs's to kill"
	alive "$QEMU_PID" || fail "kill ended the attached QEMU"
	assert_state board0 running
	expect_errno ENOTSUP read "$MNT/board0/firmware"
	log_mentions board0 "firmware: not supported on an attached emulator" ||
		fail "log: $(tail -n 1 "$MNT/board0/log")"
	expect_refused ENOTSUP board0 firmware "$SCRATCH/fw/ast2500-test.elf" "attached"
	expect_errno ENOTSUP mkdir "$MNT/board0/snapshots/s1"
	log_mentions board0 "snapshot: not supported on an attached emulator" ||
		fail "log: $(tail -n 1 "$MNT/board0/log")"
	expect_errno ENOTSUP read "$MNT/board0/trace/log"
	log_mentions board0 "trace/log: not supported on an attached emulator" ||
		fail "log: $(tail -n 1 "$MNT/board0/log")"
	expect_ok write "$MNT/board0/trace/events/aspeed_gpio_write" 1
	assert_content "$MNT/board0/trace/events/aspeed_gpio_write" $'1\n'
	unmount_emufs
}

# QEMU killed under an attached instance: crashed within the request
# timeout, the reason in log.
test_attach_qemu_killed_is_crashed_with_reason() {
	setup_local
	kill -KILL "$QEMU_PID"
	wait_state board0 crashed 4
	grep -q 'connection to the attached QEMU broke' "$MNT/board0/log" ||
		fail "log: $(tail -n 3 "$MNT/board0/log" | tr '\n' '|')"
	grep -q 'ended by itself: the emulator can no longer be reached' "$MNT/board0/log" ||
		fail "log: $(tail -n 3 "$MNT/board0/log" | tr '\n' '|')"
	unmount_emufs
}

# ---- bad input ------------------------------------------------------------------

# assert_start_failed_within MS: board0's log has "start failed" at most
# MS after "starting target" (emufs's own timestamps: the shell around
# it is slow on a loaded machine, emufs's deadline is not).
assert_start_failed_within() {
	local ms
	ms=$(python3 - "$MNT/board0/log" <<'EOPY'
import datetime, sys
t = {}
for line in open(sys.argv[1]):
    for key in ("starting target", "start failed"):
        if "emufs: " + key in line:
            t[key] = datetime.datetime.fromisoformat(line.split(" ")[0])
print(int((t["start failed"] - t["starting target"]).total_seconds() * 1000))
EOPY
) || fail "no start and failure in log: $(tail -n 3 "$MNT/board0/log" | tr '\n' '|')"
	[ "$ms" -le "$1" ] || fail "start failed after $ms ms, expected within $1 (request timeout 3000)"
	note "start failed after $ms ms"
}

test_attach_unreachable_is_eio_with_the_address() {
	require_qemu
	QMP_PORT=$(free_port) SER_PORT=$(free_port) GDB_PORT=$(free_port)
	write_attach_config 127.0.0.1
	mount_emufs
	expect_errno EIO sh "echo start >'$MNT/board0/ctl'"
	assert_start_failed_within 3500
	grep -q "start failed: QMP link: connect to 127.0.0.1:$QMP_PORT: Connection refused" "$MNT/board0/log" ||
		fail "log: $(tail -n 2 "$MNT/board0/log" | tr '\n' '|')"
	assert_state board0 stopped
	unmount_emufs
}

# QMP and serial reachable, the gdb stub not: EIO within the request
# timeout, log names the address, and QEMU lives on.
test_attach_gdb_unreachable_is_eio_with_the_address() {
	run_qemu 127.0.0.1
	GDB_PORT=$(free_port)
	write_attach_config 127.0.0.1
	mount_emufs
	expect_errno EIO sh "echo start >'$MNT/board0/ctl'"
	assert_start_failed_within 3500
	grep -q "start failed: gdb link: connect to 127.0.0.1:$GDB_PORT: Connection refused" "$MNT/board0/log" ||
		fail "log: $(tail -n 2 "$MNT/board0/log" | tr '\n' '|')"
	assert_state board0 stopped
	alive "$QEMU_PID" || fail "the attached QEMU ended"
	unmount_emufs
}

# Another gdb holds QEMU's stub (one client at a time): emufs's connect
# waits in the backlog and the stub never answers: EIO within the request
# timeout, log says why.
test_attach_gdb_stub_held_by_another_client_is_eio() {
	run_qemu 127.0.0.1
	python3 - "$GDB_PORT" "$SCRATCH/holder.ready" <<'EOPY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
s.sendall(b"$qAttached#8f")
s.recv(4096)                     # the stub answered: we hold it
open(sys.argv[2], "w").close()
time.sleep(300)
EOPY
	AT_PIDS+=("$!")
	wait_for "[ -e '$SCRATCH/holder.ready' ]" 5 || fail "the other gdb did not connect"
	write_attach_config 127.0.0.1
	mount_emufs
	expect_errno EIO sh "echo start >'$MNT/board0/ctl'"
	assert_start_failed_within 3500
	grep -q "start failed: gdb link to 127.0.0.1:$GDB_PORT: no answer from the stub: Connection timed out; another client may hold it" "$MNT/board0/log" ||
		fail "log: $(tail -n 2 "$MNT/board0/log" | tr '\n' '|')"
	assert_state board0 stopped
	unmount_emufs
}

# Another client holds QMP: QEMU's socket chardev takes one client; a
# second sits in the backlog with no greeting. EIO within the request
# timeout (3 s), and log says why; once the other lets go, start works.
test_attach_qmp_held_by_another_client_is_eio() {
	run_qemu 127.0.0.1
	python3 - "$QMP_PORT" "$SCRATCH/holder.ready" <<'EOPY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
s.recv(4096)                     # the greeting: we hold it
open(sys.argv[2], "w").close()
time.sleep(300)
EOPY
	local holder=$!
	AT_PIDS+=("$holder")
	wait_for "[ -e '$SCRATCH/holder.ready' ]" 5 || fail "the other client did not connect"
	write_attach_config 127.0.0.1
	mount_emufs
	expect_errno EIO sh "echo start >'$MNT/board0/ctl'"
	assert_start_failed_within 3500
	grep -q "start failed: QMP at 127.0.0.1:$QMP_PORT: no greeting in 3000 ms; another client may hold it" "$MNT/board0/log" ||
		fail "log: $(tail -n 2 "$MNT/board0/log" | tr '\n' '|')"
	kill "$holder"
	wait "$holder" 2>/dev/null
	ctl board0 start
	assert_state board0 running
	unmount_emufs
}

test_attach_off_loopback_without_tls_is_refused_at_load() {
	QMP_PORT=4444 SER_PORT=4445 GDB_PORT=4446
	write_attach_config 169.254.10.2
	expect_config_refused 'targets.remote.attach.qmp: "169.254.10.2:4444" is not a loopback address: links off this machine need settings.tls'
	# One endpoint off loopback is enough: serial0's named.
	sed -i 's/"serial0": "169.254.10.2/"serial0": "127.0.0.1/; s/"qmp": "169.254.10.2/"qmp": "127.0.0.1/; s/"gdb": "169.254.10.2/"gdb": "127.0.0.1/' "$CONFIG"
	sed -i 's/"serial0": "127.0.0.1/"serial0": "169.254.10.2/' "$CONFIG"
	expect_config_refused 'targets.remote.attach.serial.serial0: "169.254.10.2:4445" is not a loopback address'
}

test_attach_with_launcher_or_launch_keys_is_refused_at_load() {
	QMP_PORT=4444 SER_PORT=4445 GDB_PORT=4446
	write_attach_config 127.0.0.1 "" ', "launcher": ["srun", "--"]'
	expect_config_refused 'targets.remote.launcher: not allowed with attach'
	write_attach_config 127.0.0.1 "" ', "qemu": { "binary": "qemu-system-arm" }'
	expect_config_refused 'targets.remote.qemu.binary: not allowed with attach'
	write_attach_config 127.0.0.1 "" ', "serial": { "serial0": 0 }'
	expect_config_refused 'targets.remote.serial: not allowed with attach'
}
