#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# run.sh — DHCPv4 server throughput with perfdhcp: the canned responder
# (the harness ceiling), ISC dhcpd 4.4, Kea 2.2 and rackdhcpd, one after
# another in the same pair of network namespaces, on a rising rate ladder.
# Prints a table per server and a summary, and writes JSON.  bench.py
# (next to this file) does the work; this wrapper checks that it can run,
# bounds the whole run in time, and removes the namespaces and anything
# still running in them, however it ends.
#
# `make bench-dhcp` in a build directory runs it with the built binaries.
# BENCH_MODE=pair (`make bench-dhcp-pair`) runs pair.py instead: failover
# pairs (ISC, Kea HA, rackdhcpd) in three namespaces; its settings are
# described at the top of pair.py.
# Needs root (network namespaces).  Exit status 77 when it cannot run here.
#
# Settings (environment):
#   BENCH_SECONDS=10        length of each rung (perfdhcp -p)
#   BENCH_QUICK=1           smoke run: 3-s rungs, ladder 1000 4000 12000 24000
#   BENCH_LADDER="500 1000 …"  offered rates (DORA exchanges/s)
#   BENCH_LOSS_PCT=2.5      a server's ladder stops at its first rung losing more
#   BENCH_SERVERS="canned,isc,isc-1pool,kea,rackdhcpd"   which rows, in this order
#   BENCH_CLIENTS=1000000   perfdhcp -R (raised to 2 x rate x seconds if lower)
#   BENCH_POOL_SIZE         addresses in the pool (default and maximum 983039)
#   BENCH_OUT=FILE          JSON results (default $BENCH_RESULTS_DIR/results-<date>.json)
#   BENCH_RESULTS_DIR=DIR   default: bench/dhcp in a build directory, else .
#   BENCH_TIMEOUT=1800      bound for the whole run, seconds (3600 with BENCH_MODE=pair)
#   BENCH_KEEP=1            keep the work directory (configs, logs, lease files)
#   BENCH_CANNED, BENCH_RACKDHCPD, BENCH_DHCPD, BENCH_KEA, BENCH_PERFDHCP  binaries
#   BENCH_RACK_WORKERS=2, BENCH_RACK_DURABILITY=sync, BENCH_KEA_THREADS=2,
#   BENCH_KEA_SEVERITY=WARN, BENCH_CANNED_THREADS=2, BENCH_PERFDHCP_ARGS="…"
#   BENCH_PERFDHCP_PRELOAD=…/perfdhcp_rcvbuf.so, BENCH_PERFDHCP_RCVBUF=4194304 (0: no shim)
#   BENCH_POOL_BLOCK=4096   addresses per range (the pool is cut into ranges)
#   BENCH_PERF_STAT=1       perf stat of the server per rung: task-clock, context
#                           switches and syscall counts, printed per lease
#   BENCH_PERF_RECORD=1     perf record -g of the server per rung (rung directory,
#                           kept with BENCH_KEEP=1); BENCH_PERF_FREQ=999 Hz
#   BENCH_QUIET_MAX=10, BENCH_QUIET_CPU=0.3: before each rung, wait up to
#                           QUIET_MAX s for a 1-s window in which other processes
#                           use < QUIET_CPU CPU-s (0: do not wait)

here=$(cd "$(dirname "$0")" && pwd)

if [ "$(id -u)" -ne 0 ]; then
	echo "bench-dhcp: needs root (it creates network namespaces); skipped." >&2
	exit 77
fi
for c in ip timeout python3; do
	if ! command -v "$c" >/dev/null 2>&1; then
		echo "bench-dhcp: $c not found; skipped." >&2
		exit 77
	fi
done
if ! ip netns add "rdbprobe$$" 2>/dev/null; then
	echo "bench-dhcp: cannot create network namespaces here; skipped." >&2
	exit 77
fi
ip netns del "rdbprobe$$"

# Results go to the build directory's bench/dhcp when run from one (make
# bench-dhcp sets this), else to the current directory.
if [ -z "${BENCH_RESULTS_DIR:-}" ]; then
	if [ -x bench/dhcp/canned ]; then BENCH_RESULTS_DIR=bench/dhcp; else BENCH_RESULTS_DIR=.; fi
	export BENCH_RESULTS_DIR
fi

# Unique names: everything this run creates starts with $prefix.
prefix="rdb$$"
export BENCH_NS_PREFIX="$prefix"

# Backstop: bench.py removes what it made, but if it is killed, end whatever
# of ours still runs in our namespaces (by PID, after checking the
# program name), then delete them.
# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
	# BENCH_RACKDHCPD / BENCH_CANNED may be renamed copies: their names too
	rack_comm=$(basename "${BENCH_RACKDHCPD:-rackdhcpd}" | cut -c1-15)
	canned_comm=$(basename "${BENCH_CANNED:-canned}" | cut -c1-15)
	for ns in "${prefix}s" "${prefix}c" "${prefix}a" "${prefix}b"; do
		[ -e "/run/netns/$ns" ] || continue
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			comm=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
			case "$comm" in
			canned|dhcpd|kea-dhcp4|rackdhcpd|perfdhcp|ping|"$rack_comm"|"$canned_comm") ;;
			*) echo "bench-dhcp: leaving $comm ($pid) in $ns alone" >&2; continue ;;
			esac
			echo "bench-dhcp: killing leftover $comm ($pid) in $ns" >&2
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
}
trap cleanup EXIT

# timeout runs bench.py in a process group of its own, so a Ctrl-C at the
# terminal reaches only this shell: pass it on as SIGTERM, which timeout
# forwards to bench.py, which then stops its servers and cleans up.
case "${BENCH_MODE:-single}" in
single) script=bench.py limit=${BENCH_TIMEOUT:-1800} ;;
pair) script=pair.py limit=${BENCH_TIMEOUT:-3600} ;;
*) echo "bench-dhcp: BENCH_MODE must be single or pair" >&2; exit 2 ;;
esac
timeout --kill-after=20 "$limit" python3 "$here/$script" &
tpid=$!
trap 'kill -TERM "$tpid" 2>/dev/null' INT TERM HUP
while :; do
	wait "$tpid"
	rc=$?
	kill -0 "$tpid" 2>/dev/null || break
done
[ "$rc" -eq 124 ] && echo "bench-dhcp: stopped after BENCH_TIMEOUT=$limit s" >&2
exit "$rc"
