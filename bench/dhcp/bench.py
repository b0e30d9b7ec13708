#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""bench.py — the perfdhcp benchmark: canned responder, ISC dhcpd 4.4, Kea 2.2
and rackdhcpd, one after another, in the same two network namespaces.

Started by run.sh (which checks for root, bounds the whole run with timeout
and removes the namespaces again whatever happens); see run.sh for the
BENCH_* settings.

Topology: namespace <P>s holds the server on veth <P>s0 (10.96.0.1/12);
namespace <P>c holds perfdhcp on veth <P>c0 (10.96.0.2/12).  perfdhcp always
acts as a relay (giaddr = its -l address, replies come back to giaddr:67),
so the served subnet is the veth's own 10.96.0.0/12, with the pool from
10.97.0.0 on.  The pool is large because every rung uses fresh clients:
rate x seconds DISCOVERs each need a new address.

Method, per server, per rung of the rate ladder: start the server on an
empty lease database, wait for its first OFFER (a one-client perfdhcp
probe), wait (briefly) for the rest of the machine to be quiet, run perfdhcp
for the rung's period with -R well above the number of exchanges (every
exchange is a new client, DORA) and a 1-s exit wait, stop the server.  Rates
come from packet counts over the period (perfdhcp's own Rate: line also
divides by the exit wait).  CPU seconds are taken per process: the server
from /proc/PID/stat over the rung, perfdhcp from wait4(), every other
process on the host from /proc snapshots; a rung during which others used
more than BENCH_DIRTY_PCT % of a CPU is run again, once.  A server's ladder
stops at its first rung that loses more than BENCH_LOSS_PCT % of the
exchanges, or when perfdhcp cannot even send 80 % of the rate.
"""

import datetime
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

# ------------------------------------------------------------------ settings

ENV = os.environ


def env_int(name, default):
    v = ENV.get(name, "").strip()
    return int(v) if v else default


def env_float(name, default):
    v = ENV.get(name, "").strip()
    return float(v) if v else default


QUICK = ENV.get("BENCH_QUICK", "") not in ("", "0")
SECONDS = env_int("BENCH_SECONDS", 3 if QUICK else 10)
LADDER_DEFAULT = "1000 4000 12000 24000" if QUICK else "250 500 1000 2000 4000 6000 8000 9000 10000 11000 12000 14000 16000 20000 24000 32000"
LADDER = [int(x) for x in ENV.get("BENCH_LADDER", LADDER_DEFAULT).replace(",", " ").split()]
LOSS_LIMIT = env_float("BENCH_LOSS_PCT", 2.5)
CLIENTS = env_int("BENCH_CLIENTS", 1000000)
SERVERS = [s for s in ENV.get("BENCH_SERVERS", "canned,isc,isc-1pool,kea,rackdhcpd").replace(",", " ").split()]
START_TIMEOUT = env_float("BENCH_START_TIMEOUT", 30)
KEEP = ENV.get("BENCH_KEEP", "") not in ("", "0")
PERFDHCP = ENV.get("BENCH_PERFDHCP", "/usr/sbin/perfdhcp")
PERFDHCP_ARGS = ENV.get("BENCH_PERFDHCP_ARGS", "").split()
PERFDHCP_PRELOAD = ENV.get("BENCH_PERFDHCP_PRELOAD", "bench/dhcp/perfdhcp_rcvbuf.so")
PERFDHCP_RCVBUF = env_int("BENCH_PERFDHCP_RCVBUF", 4 << 20)
DHCPD = ENV.get("BENCH_DHCPD", "/usr/sbin/dhcpd")
KEA = ENV.get("BENCH_KEA", "/usr/sbin/kea-dhcp4")
KEA_SEVERITY = ENV.get("BENCH_KEA_SEVERITY", "WARN")
KEA_THREADS = env_int("BENCH_KEA_THREADS", 2)
CANNED = ENV.get("BENCH_CANNED", "bench/dhcp/canned")
CANNED_THREADS = env_int("BENCH_CANNED_THREADS", 2)
RACKDHCPD = ENV.get("BENCH_RACKDHCPD", "dhcpd/rackdhcpd")
RACK_WORKERS = env_int("BENCH_RACK_WORKERS", 2)
RACK_DURABILITY = ENV.get("BENCH_RACK_DURABILITY", "sync")
PERF_RECORD = ENV.get("BENCH_PERF_RECORD", "") not in ("", "0")
PERF_FREQ = env_int("BENCH_PERF_FREQ", 999)
PERF_STAT = ENV.get("BENCH_PERF_STAT", "") not in ("", "0")
PREFIX = ENV.get("BENCH_NS_PREFIX") or "rdb%d" % os.getpid()
RESULTS_DIR = ENV.get("BENCH_RESULTS_DIR", "bench/dhcp")
STAMP = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
OUT = ENV.get("BENCH_OUT") or os.path.join(RESULTS_DIR, "results-%s.json" % STAMP)

# Addresses.  One /12 link: the server, perfdhcp (= the relay, giaddr) and
# the pool all live in it.
NET, PREFIXLEN, MASK = "10.96.0.0", 12, "255.240.0.0"
SRV_ADDR, CLI_ADDR = "10.96.0.1", "10.96.0.2"
POOL_START = (10 << 24) | (97 << 16)          # 10.97.0.0
POOL_MAX = ((10 << 24) | (111 << 16) | 0xfffe) - POOL_START + 1  # to 10.111.255.254
POOL_SIZE = min(env_int("BENCH_POOL_SIZE", POOL_MAX), POOL_MAX)
ONE_POOL_SIZE = min(65521, POOL_SIZE)    # the isc-1pool row: the baseline's pool
LEASE_TIME = 3600

SRV_NS, CLI_NS = PREFIX + "s", PREFIX + "c"
SRV_IF, CLI_IF = PREFIX + "s0", PREFIX + "c0"

DURABILITY = {
    "canned": "none (stateless)",
    "isc": "fsync per lease (leases file)",
    "isc-1pool": "fsync per lease (leases file)",
    "kea": "memfile CSV, no fsync",
    "rackdhcpd": "sync group commit (fsync before each ACK)" if RACK_DURABILITY == "sync"
    else "relaxed (reply first, group commit after)",
}
TITLE = {
    "canned": "canned responder (harness ceiling)",
    "isc": "ISC dhcpd 4.4",
    "isc-1pool": "ISC dhcpd 4.4, one 65,521-address pool (as the baseline)",
    "kea": "Kea 2.2 kea-dhcp4 (MT, %d threads)" % KEA_THREADS,
    "rackdhcpd": "rackdhcpd (%d workers)" % RACK_WORKERS,
}


def ip4(n):
    return "%d.%d.%d.%d" % (n >> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255)


POOL_FIRST, POOL_LAST = ip4(POOL_START), ip4(POOL_START + POOL_SIZE - 1)

# The pool is cut into ranges of POOL_BLOCK addresses, the same ranges for
# every server.  ISC dhcpd 4.4 walks a pool's lease list on every allocation
# (its cost grows with the pool: 300/s took 1 CPU-s per 6 s from a 4k pool,
# a 64k pool saturated at ~170/s and a 327k pool at ~4/s here), and MAAS's
# dynamic ranges are small; one huge range would measure that, not the server.
POOL_BLOCK = env_int("BENCH_POOL_BLOCK", 4096) or POOL_SIZE
RANGES = [(ip4(a), ip4(min(a + POOL_BLOCK, POOL_START + POOL_SIZE) - 1))
          for a in range(POOL_START, POOL_START + POOL_SIZE, POOL_BLOCK)]


def log(msg):
    print(msg, flush=True)


# ------------------------------------------------------------ processes/CPU

CLK_TCK = os.sysconf("SC_CLK_TCK")
STARTED = {}      # pid -> expected comm, for everything we start and must stop
PF_KTHREAD = 0x00200000


def read_stat(pid):
    """(comm, utime+stime ticks, flags, utime+stime+cutime+cstime) of a process, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    lp, rp = s.find("("), s.rfind(")")
    comm = s[lp + 1:rp]
    f = s[rp + 2:].split()
    own = int(f[11]) + int(f[12])
    return comm, own, int(f[6]), own + int(f[13]) + int(f[14]), int(f[1])


def cpu_seconds(pid):
    st = read_stat(pid)
    return st[1] / CLK_TCK if st else None


def thread_ticks(pid):
    """{"comm/tid": utime+stime ticks} of every thread of pid ({} if gone)."""
    out = {}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for t in tids:
        try:
            with open("/proc/%d/task/%s/stat" % (pid, t)) as f:
                s = f.read()
        except OSError:
            continue
        lp, rp = s.find("("), s.rfind(")")
        f = s[rp + 2:].split()
        out["%s/%s" % (s[lp + 1:rp], t)] = int(f[11]) + int(f[12])
    return out


def threads_delta(before, after):
    """CPU seconds per thread over a rung, busiest first (threads that
    used none are left out)."""
    d = {k: (v - before.get(k, 0)) / CLK_TCK for k, v in after.items()}
    return {k: round(v, 2) for k, v in sorted(d.items(), key=lambda kv: -kv[1]) if v > 0}


# BENCH_PERF_STAT=1: what the server's threads do per lease, counted
# (unlike CPU time, these counts hardly depend on how busy the host is).
PERF_STAT_EVENTS = ["task-clock", "context-switches"] + ["syscalls:sys_enter_" + s for s in (
    "sendmsg", "sendmmsg", "sendto", "recvmmsg", "epoll_wait", "futex", "fdatasync", "fsync", "pwrite64",
    "fcntl", "write", "writev")]


def perf_start(pid, d):
    """BENCH_PERF_RECORD=1: `perf record -g` of the server over the rung,
    into d/perf.data; BENCH_PERF_STAT=1: `perf stat` of the events above
    into d/perf-stat.txt.  None when not asked for or perf is missing."""
    if not (PERF_RECORD or PERF_STAT) or not shutil.which("perf"):
        return None
    if PERF_STAT:
        argv = ["perf", "stat", "-x", ",", "-o", os.path.join(d, "perf-stat.txt"), "-e",
                ",".join(PERF_STAT_EVENTS), "-p", str(pid)]
    else:
        argv = ["perf", "record", "-g", "-F", str(PERF_FREQ), "-p", str(pid), "-o", os.path.join(d, "perf.data")]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def perf_counts(d):
    """{event: count} from d/perf-stat.txt ({} without one)."""
    out = {}
    try:
        with open(os.path.join(d, "perf-stat.txt")) as f:
            for line in f:
                p = line.strip().split(",")
                if len(p) > 2 and p[0] and p[0][0].isdigit():
                    out[p[2].replace("syscalls:sys_enter_", "")] = float(p[0])
    except OSError:
        pass
    return out


def perf_stop(p):
    if p is None:
        return
    if p.poll() is None:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)


def snapshot_others(exclude):
    """CPU ticks of every user-space process but ours, with those of its
    waited-for children (so that short jobs, a compiler run say, that start
    and end between two snapshots are counted in their parent): {pid: ticks}."""
    snap = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        pid = int(d)
        if pid in exclude:
            continue
        st = read_stat(pid)
        if st and not st[2] & PF_KTHREAD:
            snap[pid] = (st[0], st[3], st[4], st[1])
    return snap


QUIET_CPU = env_float("BENCH_QUIET_CPU", 0.3)
QUIET_MAX = env_float("BENCH_QUIET_MAX", 10)
# A rung during which other processes used more than DIRTY_PCT % of one CPU
# is run again (RETRIES times at most); the cleaner attempt is kept.
DIRTY_PCT = env_float("BENCH_DIRTY_PCT", 10)
RETRIES = env_int("BENCH_RETRIES", 1)


def wait_quiet(exclude):
    """Wait (at most QUIET_MAX s) for a 1-s window in which other processes use
    less than QUIET_CPU CPU-s: other jobs on a shared VM skew the rungs.
    Returns the seconds waited."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < QUIET_MAX:
        a = snapshot_others(exclude)
        time.sleep(1.0)
        used, _ = others_delta(a, snapshot_others(exclude))
        if used < QUIET_CPU:
            break
    return round(time.monotonic() - t0, 1)


def others_delta(before, after):
    """CPU seconds used by other processes between two snapshots, and the top
    users.  A process that ended in between moved its time to its parent's
    children counters; its own earlier share is taken off again."""
    tot, per = 0, {}
    for pid, (comm, t, _, own) in after.items():
        prev = before.get(pid)
        same = prev and prev[0] == comm
        tot += t - (prev[1] if same else 0)
        # The "top" list names processes by their own CPU only.
        d = own - (prev[3] if same else 0)
        if d > 0:
            per[comm] = per.get(comm, 0) + d
    for pid, (comm, t, _, _) in before.items():
        if pid not in after or after[pid][0] != comm:
            tot -= t
    tot = max(tot, 0)
    top = sorted(per.items(), key=lambda x: -x[1])[:3]
    return tot / CLK_TCK, ", ".join("%s %.1f" % (c, t / CLK_TCK) for c, t in top if t >= CLK_TCK // 2)


def spawn(ns, argv, logpath, env=None, comm=None):
    """Start argv inside namespace ns; `ip netns exec` execs it, so the PID is
    the program's own."""
    lf = open(logpath, "ab")
    p = subprocess.Popen(["ip", "netns", "exec", ns] + argv, stdout=lf, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    lf.close()
    STARTED[p.pid] = (comm or os.path.basename(argv[0]))[:15]
    return p


def stop(p, grace=5.0):
    """SIGTERM, then SIGKILL, the process p we started — by PID, after checking
    that the PID still names the program we started."""
    want = STARTED.get(p.pid)
    if p.poll() is None:
        st = read_stat(p.pid)
        if st and want and st[0] not in (want, "ip"):
            log("  (not stopping pid %d: it is now %r, not %r)" % (p.pid, st[0], want))
        else:
            try:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
            except ProcessLookupError:
                pass
    STARTED.pop(p.pid, None)


def run(argv, timeout=30, check=True):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    if check and r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(argv), r.returncode, r.stdout.decode(errors="replace")))
    return r.stdout.decode(errors="replace")


def tail(path, n=12):
    try:
        with open(path, errors="replace") as f:
            lines = [l.rstrip() for l in f if l.strip()]
    except OSError:
        return "(no log)"
    return " | ".join(lines[-n:]) if lines else "(empty log)"


# ---------------------------------------------------------------- topology

def ns_exists(ns):
    return os.path.exists("/run/netns/" + ns)


def topology_up():
    for ns in (SRV_NS, CLI_NS):
        if ns_exists(ns):
            raise RuntimeError("namespace %s exists already" % ns)
    run(["ip", "netns", "add", SRV_NS])
    run(["ip", "netns", "add", CLI_NS])
    run(["ip", "link", "add", SRV_IF, "netns", SRV_NS, "type", "veth", "peer", "name", CLI_IF, "netns", CLI_NS])
    for ns, ifn, addr in ((SRV_NS, SRV_IF, SRV_ADDR), (CLI_NS, CLI_IF, CLI_ADDR)):
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
        run(["ip", "-n", ns, "addr", "add", "%s/%d" % (addr, PREFIXLEN), "dev", ifn])
        run(["ip", "-n", ns, "link", "set", ifn, "up"])
    # Both ends up, and ARP settled, before the first probe.
    run(["ip", "netns", "exec", CLI_NS, "ping", "-c", "1", "-W", "2", SRV_ADDR], check=False)


def topology_down():
    for p_pid, want in list(STARTED.items()):
        st = read_stat(p_pid)
        if st and st[0] == want:
            try:
                os.kill(p_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    for ns in (SRV_NS, CLI_NS):
        if ns_exists(ns):
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)


# ----------------------------------------------------------------- servers

class Server:
    name = ""
    comm = ""
    title = ""         # default: TITLE[name]
    durability = ""    # default: DURABILITY[name]

    def __init__(self, work):
        self.work = work
        self.note = ""

    def available(self):
        """None if the server can run here, else why not."""
        return None

    def version(self):
        return ""

    def prepare(self, d):
        """Write the configuration for a run in the empty directory d; return argv."""
        raise NotImplementedError

    def env(self, d):
        return None


class Canned(Server):
    # the program name the kernel shows (BENCH_CANNED may be a renamed copy)
    name, comm = "canned", os.path.basename(CANNED)[:15]

    def available(self):
        return None if os.access(CANNED, os.X_OK) else "%s not built (make bench/dhcp/canned)" % CANNED

    def version(self):
        return "bench/dhcp/canned"

    def prepare(self, d):
        bound = SECONDS + 60
        return [os.path.abspath(CANNED), "-a", SRV_ADDR, "-P", "%s-%s" % (POOL_FIRST, POOL_LAST), "-m", MASK,
                "-l", str(LEASE_TIME), "-t", str(CANNED_THREADS), "-T", str(bound)]


class Isc(Server):
    name, comm = "isc", "dhcpd"

    def available(self):
        return None if os.access(DHCPD, os.X_OK) else "%s not found (apt-get install isc-dhcp-server)" % DHCPD

    def version(self):
        return run([DHCPD, "--version"], check=False).strip()

    @staticmethod
    def conf_text(ranges=None, head="", pool_extra=""):
        """dhcpd.conf: head (e.g. a failover peer) and the subnet, with
        pool_extra in every pool block."""
        # A statement of its own in each pool block keeps dhcpd from merging
        # the blocks back into one pool (it merges pools whose statements,
        # permits and failover peer are the same).
        pools = "".join("    pool {{ {x}max-lease-time {lt}; range {a} {b}; }}\n".format(
            x=pool_extra, lt=LEASE_TIME, a=a, b=b) for a, b in (ranges or RANGES))
        return """# ISC dhcpd 4.4 as shipped, except ping-check (which would add 1 s per OFFER)
authoritative;
ddns-update-style none;
default-lease-time {lt};
max-lease-time {lt};
ping-check false;
# delayed-ack defaults to 0: every DHCPACK follows a lease write + fsync.
{head}subnet {net} netmask {mask} {{
{pools}}}
""".format(lt=LEASE_TIME, head=head, net=NET, mask=MASK, pools=pools)

    ranges = None    # conf_text's default: RANGES

    def prepare(self, d):
        conf = os.path.join(d, "dhcpd.conf")
        with open(conf, "w") as f:
            f.write(self.conf_text(self.ranges))
        leases = os.path.join(d, "dhcpd.leases")
        open(leases, "w").close()          # dhcpd exits if it does not exist
        return [DHCPD, "-4", "-f", "-q", "-cf", conf, "-lf", leases, "-pf", os.path.join(d, "dhcpd.pid"), SRV_IF]


class IscOnePool(Isc):
    """ISC as ../shared/docs/bench-baseline configured it: one pool of
    65,521 addresses (the first of ours), where its lease lists grow long.
    The `isc` row's 4,096-address ranges make it ~3x faster; the issue's
    "20x ISC" was set against the baseline."""
    name = "isc-1pool"
    ranges = [(ip4(POOL_START), ip4(POOL_START + ONE_POOL_SIZE - 1))]


class Kea(Server):
    name, comm = "kea", "kea-dhcp4"

    def available(self):
        return None if os.access(KEA, os.X_OK) else "%s not found (apt-get install kea-dhcp4-server)" % KEA

    def version(self):
        return run([KEA, "-V"], check=False).splitlines()[0].strip()

    def env(self, d):
        e = dict(os.environ)
        e["KEA_PIDFILE_DIR"] = d
        e["KEA_LOCKFILE_DIR"] = d
        return e

    @staticmethod
    def conf_dict(d, ifn=SRV_IF, ranges=None):
        return {
            "Dhcp4": {
                "interfaces-config": {"interfaces": [ifn], "dhcp-socket-type": "raw"},
                "lease-database": {"type": "memfile", "persist": True, "lfc-interval": 3600,
                                   "name": os.path.join(d, "kea-leases4.csv")},
                "valid-lifetime": LEASE_TIME, "renew-timer": LEASE_TIME // 4, "rebind-timer": LEASE_TIME // 2,
                "authoritative": True,
                "multi-threading": {"enable-multi-threading": KEA_THREADS > 0,
                                    "thread-pool-size": max(KEA_THREADS, 1), "packet-queue-size": 64},
                "subnet4": [{"id": 1, "subnet": "%s/%d" % (NET, PREFIXLEN), "interface": ifn,
                             "pools": [{"pool": "%s - %s" % r} for r in (ranges or RANGES)]}],
                "loggers": [{"name": "kea-dhcp4", "severity": KEA_SEVERITY,
                             "output_options": [{"output": os.path.join(d, "kea.log")}]}],
            }
        }

    def prepare(self, d):
        conf = self.conf_dict(d)
        path = os.path.join(d, "kea-dhcp4.json")
        with open(path, "w") as f:
            json.dump(conf, f, indent=1)
        return [KEA, "-c", path]


class Rack(Server):
    # the program name the kernel shows (BENCH_RACKDHCPD may be a renamed copy)
    name, comm = "rackdhcpd", os.path.basename(RACKDHCPD)[:15]
    with_rate_limit = True

    def available(self):
        return None if os.access(RACKDHCPD, os.X_OK) else "%s not built" % RACKDHCPD

    def version(self):
        return run([RACKDHCPD, "-V"], check=False).strip()

    def yaml(self, d, ifn=SRV_IF, ranges=None, pool_extra="", tail=""):
        """The configuration; pool_extra goes into every pool (indented
        under its range), tail after the subnets (a failover section)."""
        rl = "  rate_limit: {new_clients: {rate: 0}}\n" if self.with_rate_limit else ""
        return """# written by bench/dhcp/bench.py
server:
  interfaces: [{ifn}]
  state_dir: {d}/state
  control_socket: {d}/ctl.sock
  pidfile: {d}/pid
  workers: {w}
  durability: {dur}
  log_level: warning
{rl}subnets:
  - cidr: {net}/{pl}
    lease_time: {lt}
    min_lease_time: {lt}
    max_lease_time: {lt}
    pools:
{pools}{tail}""".format(ifn=ifn, d=d, w=RACK_WORKERS, dur=RACK_DURABILITY, rl=rl, net=NET, pl=PREFIXLEN,
                        lt=LEASE_TIME, tail=tail,
                        pools="".join("      - range: %s-%s\n%s" % (a, b, pool_extra) for a, b in (ranges or RANGES)))

    def prepare(self, d, ns=SRV_NS, **yaml_kw):
        """Write and check the configuration (in namespace ns, where its
        interface is); yaml_kw: yaml()'s."""
        path = os.path.join(d, "rackdhcpd.yaml")
        os.mkdir(os.path.join(d, "state"), 0o700)    # a directory of its own, as it insists
        for attempt in (0, 1):
            with open(path, "w") as f:
                f.write(self.yaml(d, **yaml_kw))
            r = subprocess.run(["ip", "netns", "exec", ns, RACKDHCPD, "--check-config", path],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
            out = r.stdout.decode(errors="replace").strip()
            if r.returncode == 0:
                return [os.path.abspath(RACKDHCPD), "-c", path, "-f"]
            if attempt == 0 and self.with_rate_limit and "rate_limit" in out:
                self.with_rate_limit = False
                self.note = ("server.rate_limit not accepted by this build: the new-client "
                             "rate limit is at its default")
                continue
            raise StartError("configuration refused: " + out.replace("\n", " | "))


SERVER_CLASSES = {c.name: c for c in (Canned, Isc, IscOnePool, Kea, Rack)}


class StartError(Exception):
    pass


# ---------------------------------------------------------------- perfdhcp

def parse_perfdhcp(text):
    """The two exchange sections of perfdhcp's report: {'DO': {...}, 'RA': {...}}."""
    res = {}
    for key, title in (("DO", "DISCOVER-OFFER"), ("RA", "REQUEST-ACK")):
        m = re.search(r"\*\*\*Statistics for: %s\*\*\*(.*?)(?:\*\*\*|\Z)" % title, text, re.S)
        if not m:
            continue
        sec, d = m.group(1), {}
        for field, rx in (("sent", r"sent packets: (\d+)"), ("rcvd", r"received packets: (\d+)"),
                          ("drops", r"drops: (\d+)"), ("avg_ms", r"avg delay: ([\d.]+) ms"),
                          ("min_ms", r"min delay: ([\d.]+) ms"), ("max_ms", r"max delay: ([\d.]+) ms")):
            mm = re.search(rx, sec)
            if mm:
                d[field] = float(mm.group(1)) if "." in mm.group(1) else int(mm.group(1))
        res[key] = d
    return res


def perfdhcp_argv(rate, seconds, clients, mac, extra=(), local=CLI_ADDR, target=SRV_ADDR):
    """perfdhcp's command line.  local: -l, an address (then target is the
    one server sent to) or an interface with target None (then every
    request is broadcast on that link, which is how a pair sees it)."""
    return [PERFDHCP, "-4", "-l", local, "-R", str(clients), "-r", str(rate), "-p", str(seconds),
            "-b", "mac=" + mac] + list(extra) + PERFDHCP_ARGS + ([target] if target else [])


def perfdhcp_env():
    e = dict(os.environ)
    if PERFDHCP_RCVBUF > 0 and os.path.exists(PERFDHCP_PRELOAD):
        e["LD_PRELOAD"] = os.path.abspath(PERFDHCP_PRELOAD)
        e["RD_BENCH_RCVBUF"] = str(PERFDHCP_RCVBUF)
    return e


def run_perfdhcp(argv, logpath, limit):
    """Run perfdhcp in the client namespace; (output, cpu seconds, exit status)."""
    with open(logpath, "wb") as lf:
        p = subprocess.Popen(["ip", "netns", "exec", CLI_NS] + argv, stdout=lf, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True, env=perfdhcp_env())
    STARTED[p.pid] = "perfdhcp"
    deadline = time.monotonic() + limit
    status, ru = None, None
    while True:
        pid, st, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            status = os.waitstatus_to_exitcode(st)
            p.returncode = status
            break
        if time.monotonic() > deadline:
            if read_stat(p.pid) and read_stat(p.pid)[0] == "perfdhcp":
                os.kill(p.pid, signal.SIGKILL)
            pid, st, ru = os.wait4(p.pid, 0)
            status = "killed after %.0f s" % limit
            p.returncode = -9
            break
        time.sleep(0.05)
    STARTED.pop(p.pid, None)
    with open(logpath, errors="replace") as f:
        out = f.read()
    return out, ru.ru_utime + ru.ru_stime, status


PROBE_MAC = "02:ff:00:00:00:01"


def probe(workdir, **where):
    """One exchange from a client of its own; True if an OFFER came back.
    where: perfdhcp_argv's local/target."""
    out, _, _ = run_perfdhcp(perfdhcp_argv(1, 2, 1, PROBE_MAC, ["-n", "1", "-W", "500000"], **where),
                             os.path.join(workdir, "probe.log"), 15)
    r = parse_perfdhcp(out)
    return r.get("DO", {}).get("rcvd", 0) >= 1


def rung_mac(idx):
    # perfdhcp adds its sequential client number to the last three octets;
    # the third octet keeps the rungs' client spaces apart.
    return "00:0c:%02x:00:00:00" % (0x10 + idx)


# ----------------------------------------------------------------- running

def wait_ready(proc, workdir):
    t0 = time.monotonic()
    while time.monotonic() - t0 < START_TIMEOUT:
        if proc.poll() is not None:
            return False, "exited with status %s" % proc.returncode
        if probe(workdir):
            return True, "%.1f s" % (time.monotonic() - t0)
        time.sleep(0.2)
    return False, "no answer within %.0f s" % START_TIMEOUT


class RungFailed(Exception):
    def __init__(self, msg, at_start):
        super().__init__(msg)
        self.msg, self.at_start = msg, at_start


def run_rung(srv, work, idx, rate, attempt):
    """Start srv on an empty database, offer `rate` exchanges/s for SECONDS,
    stop it; the rung's figures.  RungFailed if the server does not start."""
    d = os.path.join(work, "%s-%d%s" % (srv.name, rate, "-%d" % attempt if attempt else ""))
    os.makedirs(d)
    logpath = os.path.join(d, "server.log")
    try:
        argv = srv.prepare(d)
    except StartError as e:
        raise RungFailed(str(e), True)
    except Exception as e:   # noqa: BLE001 — any failure to prepare is the row's failure
        raise RungFailed("%s: %s" % (type(e).__name__, e), True)
    proc = spawn(SRV_NS, argv, logpath, env=srv.env(d), comm=srv.comm)
    ok, how = wait_ready(proc, d)
    if not ok:
        stop(proc)
        extra = os.path.join(d, "kea.log")
        raise RungFailed("%s; log: %s" % (how, tail(logpath) if os.path.getsize(logpath) or not
                                          os.path.exists(extra) else tail(extra)), True)
    clients = min(max(CLIENTS, 2 * rate * SECONDS), 1 << 24)
    # -W: after the period, 1 s (perfdhcp's drop time) without sending,
    # to collect the answers still in flight instead of counting them lost.
    argv = perfdhcp_argv(rate, SECONDS, clients, rung_mac(idx), ["-W", "1000000"])
    ours = {os.getpid(), proc.pid}
    waited = wait_quiet(ours) if QUIET_MAX > 0 else 0
    perf = perf_start(proc.pid, d)
    before = snapshot_others(ours)
    c0 = cpu_seconds(proc.pid)
    th0 = thread_ticks(proc.pid)
    t0 = time.monotonic()
    out, pcpu, status = run_perfdhcp(argv, os.path.join(d, "perfdhcp.log"), SECONDS + 30)
    wall = time.monotonic() - t0
    c1 = cpu_seconds(proc.pid)
    th1 = thread_ticks(proc.pid)
    perf_stop(perf)
    after = snapshot_others(ours)
    alive = proc.poll() is None
    stop(proc)
    r = parse_perfdhcp(out)
    rung = {"offered": rate, "seconds": SECONDS, "clients": clients, "wall_s": round(wall, 2),
            "ready_after": how, "waited_for_quiet_s": waited, "perfdhcp_status": status,
            "perfdhcp_cpu_s": round(pcpu, 2),
            "server_cpu_s": round(c1 - c0, 2) if c0 is not None and c1 is not None else None,
            "server_threads_cpu_s": threads_delta(th0, th1)}
    other, rung["other_top"] = others_delta(before, after)
    rung["other_cpu_s"] = round(other, 2)
    rung["dirty"] = other > DIRTY_PCT / 100.0 * wall
    if "DO" not in r or "RA" not in r or "sent" not in r["DO"]:
        raise RungFailed("no statistics from perfdhcp: " + " | ".join(out.strip().splitlines()[-5:])
                         + ("" if alive else "; server exited: " + tail(logpath)), False)
    do, ra = r["DO"], r["RA"]
    sent = do.get("sent", 0)
    acks = ra.get("rcvd", 0)
    rung.update({
        "discover_sent": sent, "offer_rcvd": do.get("rcvd", 0), "request_sent": ra.get("sent", 0),
        "ack_rcvd": acks,
        "sent_per_s": round(sent / SECONDS, 1),
        "leases_per_s": round(acks / SECONDS, 1),
        "loss_pct": round(100.0 * (1 - acks / sent), 3) if sent else 100.0,
        "server_cpu_us_per_lease": round(1e6 * rung["server_cpu_s"] / acks, 1)
        if acks and rung["server_cpu_s"] is not None else None,
        "server_per_lease": {k: round(v / acks, 3) for k, v in perf_counts(d).items()} if acks else {},
        "do_avg_ms": do.get("avg_ms"), "ra_avg_ms": ra.get("avg_ms"),
        "dora_avg_ms": round(do.get("avg_ms", 0) + ra.get("avg_ms", 0), 3)
        if do.get("avg_ms") is not None and ra.get("avg_ms") is not None else None,
        "do_max_ms": do.get("max_ms"), "ra_max_ms": ra.get("max_ms"),
    })
    if sent > POOL_SIZE:
        rung["note"] = "more DISCOVERs than pool addresses"
    if not alive:
        rung["error"] = "server exited during the rung: " + tail(logpath)
    return rung


def bench_server(srv, work, rows, rung_fn=None, after_rung=None):
    """The rate ladder for one server (rung_fn: run_rung, or the pair
    bench's own; after_rung(rung) is called after each rung is printed);
    its row, also appended to rows at once."""
    rung_fn = rung_fn or run_rung
    row = {"server": srv.name, "title": srv.title or TITLE[srv.name],
           "durability": srv.durability or DURABILITY[srv.name], "status": "ok", "rungs": []}
    rows.append(row)      # so that an interrupted run still reports what it measured
    why = srv.available()
    if why:
        row["status"], row["error"] = "skipped", why
        log("  skipped: " + why)
        return row
    try:
        row["version"] = srv.version()
    except Exception as e:   # noqa: BLE001 — the version is only informative
        row["version"] = "? (%s)" % e
    for idx, rate in enumerate(LADDER):
        rung = None
        for attempt in range(1 + RETRIES):
            try:
                r = rung_fn(srv, work, idx, rate, attempt)
            except RungFailed as e:
                if not row["rungs"] and e.at_start:
                    row["status"], row["error"] = "failed to start", e.msg
                    log("  failed to start: " + e.msg)
                else:
                    row["status"], row["error"] = "failed at %d/s" % rate, e.msg
                    log("  %6d/s: %s" % (rate, e.msg))
                rung = None
                break
            if rung is None or r["other_cpu_s"] < rung["other_cpu_s"]:
                rung = r
            rung["attempts"] = attempt + 1
            if "error" in r or not r["dirty"] or attempt == RETRIES:
                break
            log("  %6d/s: %.1f CPU-s used by other processes during the rung: once more" % (rate, r["other_cpu_s"]))
        if rung is None:
            break
        row["rungs"].append(rung)
        log("  " + fmt_rung(rung))
        if rung.get("server_cpu_us_per_lease") is not None:
            log("          server CPU %.1f us/lease; per thread (CPU-s): %s" % (
                rung["server_cpu_us_per_lease"],
                ", ".join("%s %.2f" % kv for kv in rung.get("server_threads_cpu_s", {}).items())))
        if rung.get("server_per_lease"):
            log("          per lease: " + ", ".join("%s %g" % kv for kv in rung["server_per_lease"].items()))
        if after_rung:
            after_rung(rung)
        if "error" in rung:
            row["status"], row["error"] = "failed at %d/s" % rate, rung["error"]
            break
        if rung["loss_pct"] > LOSS_LIMIT:
            break
        if rung["sent_per_s"] < 0.8 * rate:
            # perfdhcp could not even send the rate: higher rungs would not
            # offer more load, only take time.
            rung["note"] = "perfdhcp sent < 80 % of the rate: ladder stops"
            log("  (perfdhcp could not send %d/s: ladder stops)" % rate)
            break
    if srv.note:
        row["note"] = srv.note
    row["best"] = best_rung(row)
    return row


def best_rung(row):
    ok = [r for r in row["rungs"] if "error" not in r and r.get("loss_pct", 100) <= LOSS_LIMIT]
    # Below the first rung that lost too much: a rung above it that happened
    # to pass (load came and went) would not be a capacity.
    for i, r in enumerate(row["rungs"]):
        if "error" in r or r.get("loss_pct", 100) > LOSS_LIMIT:
            ok = [x for x in ok if row["rungs"].index(x) < i]
            break
    return max(ok, key=lambda r: r["leases_per_s"]) if ok else None


# ------------------------------------------------------------------ output

RUNG_HDR = ("offered/s  sent/s  leases/s   lost %   D-O ms   R-A ms  DORA ms  "
            "srv CPU-s  perfdhcp CPU-s  other CPU-s")


def fmt_rung(r):
    def ms(v):
        return "%8.2f" % v if v is not None else "       -"
    other = "%10.1f%s" % (r["other_cpu_s"], "*" if r.get("dirty") else " ")
    if r.get("other_top"):
        other += " (" + r["other_top"] + ")"
    srv = "%9.1f" % r["server_cpu_s"] if r.get("server_cpu_s") is not None else "        -"
    return "%9d %7.0f %9.0f %8.2f %s %s %s  %s %15.1f %s%s" % (
        r["offered"], r["sent_per_s"], r["leases_per_s"], r["loss_pct"], ms(r["do_avg_ms"]),
        ms(r["ra_avg_ms"]), ms(r["dora_avg_ms"]), srv, r["perfdhcp_cpu_s"], other,
        "  [" + r["note"] + "]" if r.get("note") else "")


def summary(rows, refs=(("x_isc", "isc"), ("x_isc_1pool", "isc-1pool")), extra=None):
    """One entry per row: its best rung, and its ratio to the canned ceiling
    and to each reference row (refs: (key, row name) pairs); extra(row,
    best, entry) adds what a caller wants besides."""
    by = {r["server"]: r for r in rows}

    def best(name):
        b = by.get(name, {}).get("best")
        return b["leases_per_s"] if b else None

    for r in rows:
        if "best" not in r:       # the run was interrupted during this server
            r["best"] = best_rung(r)
            r["status"] = "interrupted"
    ceiling = best("canned")
    ref = [(key, best(name)) for key, name in refs]
    out = []
    for r in rows:
        b = r.get("best")
        s = {"server": r["server"], "title": r["title"], "durability": r["durability"], "status": r["status"]}
        if b:
            s.update({"leases_per_s": b["leases_per_s"], "offered": b["offered"],
                      "dora_avg_ms": b["dora_avg_ms"], "loss_pct": b["loss_pct"],
                      "pct_of_canned": round(100.0 * b["leases_per_s"] / ceiling, 1) if ceiling else None})
            s.update({key: round(b["leases_per_s"] / v, 2) if v else None for key, v in ref})
        elif r["status"] == "ok":
            s["status"] = "no rung with <= %g %% lost" % LOSS_LIMIT
        if r.get("error"):
            s["error"] = r["error"]
        if extra:
            extra(r, b, s)
        out.append(s)
    return out


def print_summary(summ):
    log("\n== summary: highest leases/s with <= %g %% of exchanges lost (%d-s rungs, fresh clients, DORA) =="
        % (LOSS_LIMIT, SECONDS))
    hdr = "| server | durability | leases/s (offered) | avg DORA ms | % of canned | × ISC | × ISC one pool |"
    log(hdr)
    log("|---|---|---|---|---|---|---|")
    for s in summ:
        if "leases_per_s" in s:
            log("| %s | %s | %.0f (%d/s) | %.2f | %s | %s | %s |" % (
                s["title"], s["durability"], s["leases_per_s"], s["offered"], s["dora_avg_ms"] or 0,
                "%.1f %%" % s["pct_of_canned"] if s.get("pct_of_canned") is not None else "-",
                "%.2f" % s["x_isc"] if s.get("x_isc") is not None else "-",
                "%.2f" % s["x_isc_1pool"] if s.get("x_isc_1pool") is not None else "-"))
        else:
            msg = s["status"] + (": " + s["error"] if s.get("error") else "")
            if len(msg) > 400:
                msg = msg[:400] + "…"
            log("| %s | %s | %s | - | - | - | - |" % (s["title"], s["durability"], msg.replace("|", "/")))
    for s in summ:
        if "leases_per_s" in s and s["status"] != "ok":
            log("%s: %s%s" % (s["title"], s["status"], ": " + s["error"][:400] if s.get("error") else ""))


def meta():
    def cmd(argv):
        try:
            return run(argv, check=False).strip().splitlines()[0]
        except Exception:   # noqa: BLE001
            return None
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "host": platform.node(), "kernel": platform.release(), "cpus": os.cpu_count(),
        "perfdhcp": cmd([PERFDHCP, "-v"]), "seconds_per_rung": SECONDS, "ladder": LADDER,
        "loss_limit_pct": LOSS_LIMIT, "clients_min": CLIENTS, "pool": "%s-%s (%d addresses, %d ranges of up to %d)" % (
            POOL_FIRST, POOL_LAST, POOL_SIZE, len(RANGES), POOL_BLOCK),
        "subnet": "%s/%d" % (NET, PREFIXLEN), "server_addr": SRV_ADDR, "perfdhcp_addr": CLI_ADDR,
        "perfdhcp_extra_args": PERFDHCP_ARGS, "quick": QUICK,
        "perfdhcp_rcvbuf": PERFDHCP_RCVBUF if "LD_PRELOAD" in perfdhcp_env() else "default (no shim)",
        "definitions": {
            "leases_per_s": "DHCPACKs received by perfdhcp / test period (-p)",
            "loss_pct": "100 * (1 - ACKs received / DISCOVERs sent)",
            "dora_avg_ms": "perfdhcp's avg DISCOVER->OFFER delay + avg REQUEST->ACK delay",
            "server_cpu_s": "server process utime+stime over the rung (/proc/PID/stat)",
            "perfdhcp_cpu_s": "perfdhcp utime+stime (wait4)",
            "other_cpu_s": "CPU of every other user-space process on the host during the rung "
                           "(utime+stime, with their reaped children's)",
        },
    }


def main():
    for s in SERVERS:
        if s not in SERVER_CLASSES:
            sys.exit("bench.py: unknown server %r (known: %s)" % (s, ", ".join(SERVER_CLASSES)))
    if not os.access(PERFDHCP, os.X_OK):
        print("bench.py: %s not found (apt-get install kea-admin / kea-perfdhcp)" % PERFDHCP)
        sys.exit(77)
    work = ENV.get("BENCH_WORKDIR") or tempfile.mkdtemp(prefix="rdbench-", dir=ENV.get("TMPDIR", "/var/tmp"))
    os.makedirs(work, exist_ok=True)
    m = meta()
    m["workdir"] = work
    log("perfdhcp benchmark: %s; %d-s rungs, ladder %s /s, stop above %g %% lost; namespaces %s/%s; work %s"
        % (", ".join(SERVERS), SECONDS, " ".join(map(str, LADDER)), LOSS_LIMIT, SRV_NS, CLI_NS, work))
    log("subnet %s/%d, server %s, perfdhcp (relay) %s, pool %s-%s (%d addresses in %d ranges)" % (
        NET, PREFIXLEN, SRV_ADDR, CLI_ADDR, POOL_FIRST, POOL_LAST, POOL_SIZE, len(RANGES)))
    rows = []
    try:
        topology_up()
        for name in SERVERS:
            srv = SERVER_CLASSES[name](work)
            log("\n== %s — durability: %s ==" % (TITLE[name], DURABILITY[name]))
            log("  " + RUNG_HDR)
            bench_server(srv, work, rows)
    finally:
        topology_down()
        summ = summary(rows)
        if rows:
            print_summary(summ)
            os.makedirs(os.path.dirname(os.path.abspath(OUT)), exist_ok=True)
            with open(OUT, "w") as f:
                json.dump({"meta": m, "servers": rows, "summary": summ}, f, indent=1)
            log("\nresults: %s" % OUT)
        if KEEP:
            log("work directory kept: %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


def on_signal(sig, _frame):
    raise SystemExit(128 + sig)


def install_signal_handlers():
    """TERM/INT/HUP end the run through main's finally (servers stopped,
    namespaces removed, results written)."""
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)


if __name__ == "__main__":
    install_signal_handlers()
    main()
