#!/usr/bin/env bash
# slurm-cluster.sh - a one-node Slurm cluster of this machine, in a
# directory of its own, for the tests of `launcher` (interface.md 6).
#
#   scripts/slurm-cluster.sh start DIR   munged, slurmctld, slurmd; waits
#                                        until the node is idle and a job
#                                        step runs; prints SLURM_CONF=...
#   scripts/slurm-cluster.sh stop DIR    ends the daemons started by start
#                                        in DIR, by their pids
#
# Everything lives in DIR: the config (clients find it through SLURM_CONF,
# the daemons through -f, so /etc/slurm is never read or written), the
# state, the logs, munged's socket (slurm.conf's AuthInfo), the pids. Two
# clusters in two directories do not meet: the daemons' ports are picked
# free at start. munged needs the system's key (/etc/munge/munge.key,
# made by the munge package, or made here with mungekey) and runs as the
# munge user, as the package's service would. Needs root (slurmd runs
# job steps as their user). Fails (status 1) with the daemons' log tails
# when the cluster does not come up within START_TIMEOUT seconds.
#
# Slurm 22.05 (Debian 12's slurm-wlm) without systemd or cgroups:
# ProctrackType=proctrack/linuxproc, TaskPlugin=task/none (see
# ../shared/reference/slurm.md). OverSubscribe=FORCE:32 lets 64 job steps
# share the 2 CPUs of this machine.

set -u

START_TIMEOUT=${START_TIMEOUT:-30}

die() {
	echo "slurm-cluster: $*" >&2
	exit 1
}

# The last lines of every daemon's log, for a failed start.
log_tails() {
	local f
	for f in "$1"/munged.log "$1"/slurmctld.log "$1"/slurmd.log; do
		[ -s "$f" ] || continue
		echo "--- $f (tail)" >&2
		tail -n 8 "$f" >&2
	done
}

# A TCP port free on this machine now (the kernel's pick).
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])'
}

# wait_until SECONDS COMMAND...: retry every 0.1 s.
wait_until() {
	local end=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}

node_idle() {
	[ "$(sinfo -h -N -o %t 2>/dev/null)" = idle ]
}

start() {
	local dir=$1 host
	host=$(hostname -s)
	[ "$(id -u)" = 0 ] || die "needs root (slurmd runs job steps as their users)"
	for p in munged slurmctld slurmd sinfo srun; do
		command -v "$p" >/dev/null 2>&1 ||
			die "$p not found: install slurm-wlm and munge (scripts/setup-deps.sh)"
	done
	mkdir -p "$dir/munge" "$dir/ctld" "$dir/d" || die "cannot make $dir"
	dir=$(cd "$dir" && pwd)

	# munged: the system's key, a socket of our own; it checks that its
	# directories are the munge user's and not writable by others.
	if [ ! -s /etc/munge/munge.key ]; then
		mungekey --create >/dev/null 2>&1 || die "mungekey --create failed"
		chown munge:munge /etc/munge/munge.key
	fi
	# (mktemp -d makes DIR 0700: the munge user must reach its own.)
	chmod 0755 "$dir"
	chown munge:munge "$dir/munge"
	chmod 0755 "$dir/munge"
	setpriv --reuid munge --regid munge --init-groups \
		munged --foreground --force --socket="$dir/munge/munge.sock" \
		--pid-file="$dir/munge/munged.pid" \
		--seed-file="$dir/munge/munged.seed" \
		--log-file="$dir/munge/munged.log" \
		>"$dir/munged.log" 2>&1 </dev/null &
	echo $! >"$dir/munged.pid"

	cat >"$dir/slurm.conf" <<EOF
ClusterName=emufs
SlurmctldHost=$host
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.sock
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
StateSaveLocation=$dir/ctld
SlurmdSpoolDir=$dir/d
SlurmctldPidFile=$dir/ctld/slurmctld.pid
SlurmdPidFile=$dir/d/slurmd.pid
ReturnToService=2
SchedulerParameters=defer_batch
MessageTimeout=10
NodeName=$host CPUs=$(nproc) RealMemory=1000 State=UNKNOWN
PartitionName=emufs Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:32
EOF
	export SLURM_CONF=$dir/slurm.conf
	wait_until 10 test -S "$dir/munge/munge.sock" || {
		log_tails "$dir"
		stop "$dir"
		die "munged did not start"
	}
	# -D: in the foreground, so $! is the daemon's pid; -i: a fresh
	# state (no jobs of an earlier cluster in this directory).
	slurmctld -D -i -f "$SLURM_CONF" -L "$dir/slurmctld.log" \
		>>"$dir/slurmctld.log" 2>&1 </dev/null &
	echo $! >"$dir/slurmctld.pid"
	slurmd -D -f "$SLURM_CONF" -L "$dir/slurmd.log" \
		>>"$dir/slurmd.log" 2>&1 </dev/null &
	echo $! >"$dir/slurmd.pid"
	if ! wait_until "$START_TIMEOUT" node_idle ||
	   ! timeout "$START_TIMEOUT" srun --quiet -N1 -- true >>"$dir/srun.log" 2>&1; then
		echo "slurm-cluster: the node is not idle after ${START_TIMEOUT}s:" \
		     "$(sinfo -h -N 2>&1 | head -n 2)" >&2
		log_tails "$dir"
		stop "$dir"
		exit 1
	fi
	echo "SLURM_CONF=$SLURM_CONF"
}

# stop DIR: each daemon by its pid: SIGTERM, then SIGKILL after 5 s.
stop() {
	local dir=$1 d pid n
	for d in slurmd slurmctld munged; do
		pid=$(cat "$dir/$d.pid" 2>/dev/null) || continue
		kill -TERM "$pid" 2>/dev/null
		for ((n = 0; n < 50; n++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
		rm -f "$dir/$d.pid"
	done
	return 0
}

case ${1-} in
start) [ $# -eq 2 ] || die "usage: $0 start DIR"; start "$2" ;;
stop) [ $# -eq 2 ] || die "usage: $0 stop DIR"; stop "$2" ;;
*) die "usage: $0 start|stop DIR" ;;
esac
