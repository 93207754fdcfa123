# test_slurm_renode.sh - a Renode target started through a launcher
# (interface.md 6, issue 19 item 4): Renode as a Slurm job step (`srun ...
# --`) of a real one-node cluster, settings.listen on loopback. The cases
# of test_renode.sh, through srun: lifecycle, the UART both ways, props/,
# gpio/, monitor, gdb; stop and kill end the job step, and no Renode and no
# srun outlive emufs. Off loopback a Renode launcher is refused at load,
# TLS or not: Renode's own ports have none.
#
# test_srun_renode_* run the stand-in (tests/renode-standin/renode, not
# Renode); test_real_srun_renode_* a real `renode` on PATH, SKIP without.
#
# integration-fixture: scripts/slurm-cluster.sh
# integration-timeout: 120

. "$TESTS_DIR/test_renode.sh"

SRUN='["srun", "--quiet", "--nodes=1", "--ntasks=1", "--"]'

# use_srun: the configs of renode_config start stm32 through srun.
use_srun() {
	[ -n "${SLURM_CONF-}" ] ||
		fail "no SLURM_CONF: run through tests/run-integration.sh, which starts the cluster"
	export RENODE_TARGET_MORE=" \"launcher\": $SRUN,"
}

# srun_pids: the srun processes of this test. Every process emufs starts
# for the board has TMPDIR in this test's state directory (renode.c), srun
# too; renode_pids lists them all, Renode's under slurmstepd as well.
srun_pids() {
	local p
	for p in $(renode_pids); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = srun ] && echo "$p"
	done
}

# standin_pid: the stand-in process Slurm runs for this test, by the pids
# it recorded (it is not a child of emufs: slurmstepd's).
standin_pid() {
	local p
	for p in $(cat "$SCRATCH/standin/pids" 2>/dev/null); do
		alive "$p" && echo "$p"
	done
}

no_job_left() {
	[ -z "$(renode_pids)" ] && [ -z "$(squeue -h 2>/dev/null)" ]
}

# assert_no_job_left [SECONDS]: no srun, no Renode, no job step.
assert_no_job_left() {
	wait_for no_job_left "${1:-5}" ||
		fail "left behind: $(renode_pids | xargs -r ps -o pid=,args= -p | tr '\n' '|') squeue: $(squeue -h 2>&1 | tr '\n' '|')"
	assert_no_renode
}

# assert_one_job_step: the board runs as one job step, its Renode under
# Slurm (not a child of emufs), started through srun.
assert_one_job_step() {
	[ "$(squeue -h | wc -l)" -eq 1 ] || fail "squeue: $(squeue -h | tr '\n' '|')"
	[ -n "$(srun_pids)" ] || fail "no srun runs for the board"
	grep -q 'emufs: started srun (pid [0-9]*)' "$MNT/board/log" ||
		fail "log does not name srun: $(tail -n 3 "$MNT/board/log" | tr '\n' '|')"
	if [ "$RENODE_MODE" = standin ]; then
		local s
		s=$(standin_pid)
		[ -n "$s" ] || fail "the stand-in does not run"
		[ "$(ps -o ppid= -p "$s" | tr -d ' ')" != "$EMUFS_PID" ] ||
			fail "the stand-in is emufs's child: not launched through srun"
	fi
}

# Every start of test_renode.sh's cases, here through srun: each start
# is checked to be a job step, so no case passes by starting Renode as a
# child of emufs.
eval "renode_start_board() $(declare -f start_board | tail -n +2)"
start_board() {
	renode_start_board
	assert_one_job_step
}

# ---- lifecycle ------------------------------------------------------------

case_srun_lifecycle() {
	use_srun
	renode_setup "$1"
	start_board
	# Renode sends no events of its own (docs/renode.md): events is
	# emufs's EMUFS_STATE lines, as for a local Renode
	ctl board pause
	assert_state board paused
	ctl board resume
	assert_state board running
	ctl board stop
	assert_state board stopped
	wait_for '[ "$(emufs_states board)" = "starting running paused running stopping stopped" ]' 2 ||
		fail "EMUFS_STATE sequence: $(emufs_states board)"
	assert_no_job_left
	# kill ends the job step too, and a new start makes a new one
	start_board
	ctl board kill
	assert_state board stopped
	assert_no_job_left
	start_board
	unmount_emufs
	assert_no_job_left
}

test_srun_renode_lifecycle_with_state_and_events() { case_srun_lifecycle standin; }
test_real_srun_renode_lifecycle_with_state_and_events() { case_srun_lifecycle real; }

# ---- serial, props, gpio, monitor, gdb: test_renode.sh's cases ------------

test_srun_renode_uart_both_ways() { use_srun; case_uart_both_ways standin; assert_no_job_left; }
test_srun_renode_props() { use_srun; case_props standin; assert_no_job_left; }
test_srun_renode_pins() { use_srun; case_pins standin; assert_no_job_left; }
test_srun_renode_monitor() { use_srun; case_monitor standin; assert_no_job_left; }
test_srun_renode_gdb() { use_srun; case_gdb standin; assert_no_job_left; }

test_real_srun_renode_uart_both_ways() { use_srun; case_uart_both_ways real; assert_no_job_left; }
test_real_srun_renode_props() { use_srun; case_props real; assert_no_job_left; }
test_real_srun_renode_pins() { use_srun; case_pins real; assert_no_job_left; }

# ---- nothing outlives emufs ------------------------------------------------

case_srun_sigkill_of_emufs() {
	use_srun
	renode_setup "$1"
	start_board
	kill -KILL "$EMUFS_PID"
	wait_exit "$EMUFS_PID" 5
	EMUFS_PID=
	# srun dies of the parent-death signal; Slurm then ends the step.
	assert_no_job_left 10
}

test_srun_renode_sigkill_of_emufs_leaves_no_renode_and_no_srun() { case_srun_sigkill_of_emufs standin; }
test_real_srun_renode_sigkill_of_emufs_leaves_no_renode_and_no_srun() { case_srun_sigkill_of_emufs real; }

# ---- bad input --------------------------------------------------------------

# Off loopback, with settings.tls (credentials that load): still refused,
# exit 2, the target's launcher named. The unit test
# test_refuse_renode_launcher_off_loopback has the case without TLS.
test_srun_renode_off_loopback_is_refused_at_load_even_with_tls() {
	use_srun
	sh "$TESTS_DIR/../tls/make-certs.sh" "$SCRATCH/tls" 10.1.2.3 ||
		fail "cannot make test certificates"
	RENODE_SETTINGS_MORE=", \"listen\": \"10.1.2.3\", \"tls\": { \"dir\": \"$SCRATCH/tls\" }" \
		renode_config standin
	expect_config_refused 'targets.stm32.launcher: not allowed with settings.listen "10.1.2.3" off loopback: renode'"'"'s ports have no TLS'
	# the same with listen on loopback loads: only the address was refused
	sed -i 's/"10\.1\.2\.3"/"127.0.0.1"/' "$CONFIG"
	mount_emufs
	unmount_emufs
}
