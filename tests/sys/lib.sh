# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=sh
#
# lib.sh — shared helpers for the system tests in tests/sys: network
# namespaces joined by veth pairs, processes started and stopped by PID, and
# one cleanup trap that undoes all of it, whatever way the test ends.
#
# Source it, then:
#
#   need_root; need_netns; need_cmd dhcpd      # each may skip the whole test
#   sys_init isc_diff                          # temp dir $SYS_TMP, unique $SYS_ID, trap
#   ns_create srv; ns_create cli               # -> "$(ns_name srv)" = rd-<id>-srv
#   veth_create srv s0 cli c0                  # veth pair s0 (in srv) <-> c0 (in cli), up
#   ns_addr srv s0 192.0.2.1/24
#   proc_start isc ip netns exec "$(ns_name srv)" dhcpd -f ...   # PID -> $SYS_TMP/isc.pid
#   proc_stop isc
#
# Everything is named after $SYS_ID (the test name and the shell's PID), so
# tests running at the same time cannot collide, and the trap removes only
# what this script created: the namespaces it made (deleting a namespace
# deletes the veth ends inside it), the processes it started (by PID, never
# by name), and its temp dir.  Loops here are bounded in count and time.
#
# Skipping: skip_all prints "1..0 # SKIP reason" and exits $RD_SKIP_STATUS
# (default 77, the automake "skipped" status).  Under the TAP driver, which
# reads the plan, set RD_SKIP_STATUS=0 if a non-zero exit would count as an
# error there.

: "${RD_SKIP_STATUS:=77}"

SYS_ID=
SYS_TMP=
SYS_NS=     # namespaces created, space separated (full names)
SYS_PROCS=  # labels of started processes

skip_all() {	# skip_all REASON
	echo "1..0 # SKIP $1"
	exit "$RD_SKIP_STATUS"
}

need_root() {
	[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces)"
}

need_cmd() {	# need_cmd NAME... : skip unless every command exists
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip_all "$c not found"
	done
}

need_netns() {
	need_cmd ip
	probe="rd-probe-$$"
	ip netns add "$probe" >/dev/null 2>&1 || skip_all "ip netns unavailable"
	if ! ip netns exec "$probe" ip link set lo up >/dev/null 2>&1; then
		ip netns del "$probe" >/dev/null 2>&1
		skip_all "cannot enter a network namespace"
	fi
	ip netns del "$probe" >/dev/null 2>&1
	if ! ip link add "rdpv$$" type veth peer name "rdpw$$" >/dev/null 2>&1; then
		skip_all "cannot create veth pairs"
	fi
	ip link del "rdpv$$" >/dev/null 2>&1
}

sys_init() {	# sys_init NAME: unique id, temp dir, cleanup trap
	SYS_ID="$1-$$"
	SYS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/rd-$1.XXXXXX") || exit 99
	trap 'sys_cleanup' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

ns_name() {	# ns_name SHORT -> full namespace name
	echo "rd-$SYS_ID-$1"
}

ns_create() {	# ns_create SHORT
	n=$(ns_name "$1")
	ip netns add "$n" || return 1
	SYS_NS="$SYS_NS $n"
	ip netns exec "$n" ip link set lo up
}

ns_exec() {	# ns_exec SHORT CMD...
	n=$(ns_name "$1")
	shift
	ip netns exec "$n" "$@"
}

# veth_create NS1 IF1 NS2 IF2: a veth pair created in NS1 (so nothing ever
# appears in the host namespace), IF2 moved to NS2, both up.
veth_create() {
	a=$(ns_name "$1")
	b=$(ns_name "$3")
	ip -n "$a" link add "$2" type veth peer name "$4" || return 1
	ip -n "$a" link set "$4" netns "$b" || return 1
	ip -n "$a" link set "$2" up || return 1
	ip -n "$b" link set "$4" up
}

ns_addr() {	# ns_addr NS IF ADDR/LEN
	ip -n "$(ns_name "$1")" addr add "$3" dev "$2"
}

ns_mac() {	# ns_mac NS IF -> MAC
	ip -n "$(ns_name "$1")" -o link show dev "$2" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'
}

# proc_start LABEL CMD...: run CMD in the background, stdout/stderr to
# $SYS_TMP/LABEL.out, PID to $SYS_TMP/LABEL.pid.
proc_start() {
	label=$1
	shift
	"$@" >"$SYS_TMP/$label.out" 2>&1 &
	echo $! >"$SYS_TMP/$label.pid"
	SYS_PROCS="$SYS_PROCS $label"
}

proc_alive() {	# proc_alive LABEL
	[ -f "$SYS_TMP/$1.pid" ] && kill -0 "$(cat "$SYS_TMP/$1.pid")" 2>/dev/null
}

# proc_stop LABEL: TERM, wait up to 3 s, then KILL; by PID only.
proc_stop() {
	f="$SYS_TMP/$1.pid"
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 30 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	rm -f "$f"
}

# wait_for SECONDS CMD...: retry CMD every 0.1 s until it succeeds or time is up.
wait_for() {
	limit=$(($1 * 10))
	shift
	i=0
	while [ $i -lt $limit ]; do
		"$@" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# TAP lines numbered as they are printed: t_ok STATUS DESCRIPTION [FILE...]
# prints "ok N" or "not ok N" (then the last 30 lines of each FILE, for the
# log); T counts them, FAILED the failures (print "1..$T" at the end).
T=0
FAILED=0
t_ok() {
	st=$1
	d=$2
	shift 2
	T=$((T + 1))
	if [ "$st" -eq 0 ]; then
		echo "ok $T - $d"
	else
		echo "not ok $T - $d"
		FAILED=$((FAILED + 1))
		for f in "$@"; do
			[ -f "$f" ] || continue
			echo "# --- $f (last 30 lines)"
			tail -n 30 "$f" | sed 's/^/#   /'
		done
	fi
}

sys_cleanup() {
	rc=$?
	trap - EXIT INT TERM
	for p in $SYS_PROCS; do
		proc_stop "$p"
	done
	for n in $SYS_NS; do
		ip netns del "$n" 2>/dev/null
	done
	if [ -n "$SYS_TMP" ] && [ -d "$SYS_TMP" ]; then
		if [ -n "${RD_KEEP_TMP:-}" ]; then
			echo "# kept $SYS_TMP" >&2
		else
			rm -rf "$SYS_TMP"
		fi
	fi
	exit $rc
}
