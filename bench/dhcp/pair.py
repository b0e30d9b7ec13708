#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""pair.py — the failover PAIR benchmark: an ISC dhcpd 4.4 failover pair, a
Kea 2.2 HA hot-standby pair and a rackdhcpd failover pair (and the canned
responder, the ceiling) under perfdhcp, one after another in the same three
network namespaces.

Started by run.sh with BENCH_MODE=pair (`make bench-dhcp-pair`), which
checks for root, bounds the run and removes the namespaces whatever
happens.  The ladder, the loss rules, the perfdhcp runs and the CPU
accounting are bench.py's (imported); this file adds the topology, the
pairs' configurations, the wait for the pair to be up, and the check that
the peer's store kept up.

Topology: namespaces <P>a and <P>b hold the two servers (10.96.0.1 on <P>a0
and 10.96.0.3 on <P>b0); namespace <P>c holds perfdhcp on bridge <P>br
(10.96.0.2), to which both servers' veths are enslaved.  perfdhcp sends
every request as a broadcast on that link (-l <P>br, no server named) with
giaddr 10.96.0.2, so both servers see every DISCOVER and REQUEST, as two
rack controllers on one VLAN (or behind a relay with both as helpers) do;
replies come back unicast to giaddr:67.  The failover TCP session (647)
and Kea's HA HTTP (8000) run over the same link.

Method: a pair is started once per row, on empty stores; the ladder starts
only once it is up (a bounded wait, BENCH_PAIR_START_TIMEOUT):
  isc-pair        both dhcpd.leases files record "my state normal" and
                  "partner state normal", and the secondary's BACKUP count
                  has stopped growing (pool balancing done)
  kea-ha          both servers' last HA_STATE_TRANSITION is to HOT-STANDBY
  rackdhcpd-pair  failover-status on both: normal/normal, link up; the
                  secondary's BACKUP count steady and nothing queued
and then answers a probe client.  A row that does not get there is reported
as such and not measured.  The rungs then run one after another against the
running pair, each with clients of its own (fresh clients, DORA).  After
each rung the bench waits (at most BENCH_CATCHUP_WAIT s) until both stores
hold at least as many ACTIVE leases as perfdhcp has received ACKs in all;
what they held is reported ("stores"), which shows that the updates really
flow to the peer.  A rung whose clients would not fit in what is left of
the pool is not run.

Settings (besides bench.py's, see run.sh; BENCH_LADDER's default here is
"250 500 1000 2000 3000 4000 5000 6000 7000 8000 12000 16000", and with BENCH_QUICK
"250 1000 4000 8000 12000"):
  BENCH_PAIR_SERVERS="canned,isc-pair,isc-pair-1pool,kea-ha,rackdhcpd-pair"
  BENCH_PAIR_SPLIT=128          ISC and rackdhcpd: hash buckets of the primary
  BENCH_PAIR_POOL_SIZE=393216   addresses (131072 with BENCH_QUICK); every pair
                                balances half of them to the secondary at
                                start-up, and the ladder's clients add up
  BENCH_ISC_PAIR_POOL_SIZE=32768  the ISC pair's pool (16384 with BENCH_QUICK),
                                the first addresses of the same pool
  BENCH_PAIR_START_TIMEOUT=300  bound for a pair to come up, seconds
  BENCH_CATCHUP_WAIT=20         bound for the stores to catch up after a rung
  BENCH_RACK_FO_EXTRA=""        YAML lines added to both rackdhcpd failover
                                entries, e.g. "ack_after_peer: true"
  BENCH_PAIR_MAX_UNACKED=10     ISC and rackdhcpd max-unacked-updates (MAAS: 10)
  BENCH_KEA_HEARTBEAT=10000     Kea HA heartbeat-delay, ms
  BENCH_PERFDHCP_ARGS="-g single"  extra perfdhcp arguments, here single-thread
                                by default (bench.py's default is none)
"""

import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench as B  # noqa: E402  (after the path)
from bench import ENV, env_int, log, run, spawn, stop  # noqa: E402

QUICK = B.QUICK
SECONDS = B.SECONDS
# Lower first rungs than the single-server bench: the ISC pair loses more
# than 2.5 % from ~500/s (bench-baseline), and a ladder that starts above a
# row's capacity measures nothing for it.  bench_server reads B.LADDER.
B.LADDER = LADDER = [int(x) for x in ENV.get(
    "BENCH_LADDER", "250 1000 4000 8000 12000" if QUICK else "250 500 1000 2000 3000 4000 5000 6000 7000 8000 12000 16000"
).replace(",", " ").split()]
# perfdhcp in its single-thread mode (-g single) for every row, unless
# BENCH_PERFDHCP_ARGS says otherwise.  Its default with two CPUs is
# multi-threaded, which spends more CPU for the same rate on this 2-vCPU box
# (canned ceiling at 12,000/s offered: 14.3 CPU-s against 10.7 per 10-s
# rung), CPU that two servers of a pair need as well: the load generator then
# takes the servers' CPU and the rows measure the contention between them.
if "BENCH_PERFDHCP_ARGS" not in ENV:
    B.PERFDHCP_ARGS = ["-g", "single"]
SERVERS = ENV.get("BENCH_PAIR_SERVERS", "canned,isc-pair,isc-pair-1pool,kea-ha,rackdhcpd-pair").replace(",", " ").split()
SPLIT = env_int("BENCH_PAIR_SPLIT", 128)
POOL_SIZE = min(env_int("BENCH_PAIR_POOL_SIZE", 131072 if QUICK else 393216), B.POOL_MAX)
ISC_POOL_SIZE = min(env_int("BENCH_ISC_PAIR_POOL_SIZE", 16384 if QUICK else 32768), POOL_SIZE)
START_TIMEOUT = env_int("BENCH_PAIR_START_TIMEOUT", 300)
CATCHUP_WAIT = env_int("BENCH_CATCHUP_WAIT", 20)
RACK_FO_EXTRA = ENV.get("BENCH_RACK_FO_EXTRA", "")
MAX_UNACKED = env_int("BENCH_PAIR_MAX_UNACKED", 10)     # MAAS writes 10
KEA_HEARTBEAT = env_int("BENCH_KEA_HEARTBEAT", 10000)
FO_NAME = "failover-vlan-5001"     # MAAS's naming

P = B.PREFIX
CLI_NS = B.CLI_NS                  # <P>c: perfdhcp and the bridge
BR = P + "br"
NS = {"a": P + "a", "b": P + "b"}
IF = {"a": P + "a0", "b": P + "b0"}
PORT = {"a": P + "pa", "b": P + "pb"}   # their peers, on the bridge
ADDR = {"a": "10.96.0.1", "b": "10.96.0.3"}
WHERE = {"local": BR, "target": None}   # perfdhcp: broadcast on the bridge

def ranges(size):
    """The first size addresses of bench.py's pool, in its POOL_BLOCK ranges."""
    return [(B.ip4(a), B.ip4(min(a + B.POOL_BLOCK, B.POOL_START + size) - 1))
            for a in range(B.POOL_START, B.POOL_START + size, B.POOL_BLOCK)]


RANGES = ranges(POOL_SIZE)
ISC_RANGES = ranges(ISC_POOL_SIZE)


# ---------------------------------------------------------------- topology

def topology_up():
    for ns in list(NS.values()) + [CLI_NS]:
        if B.ns_exists(ns):
            raise RuntimeError("namespace %s exists already" % ns)
        run(["ip", "netns", "add", ns])
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
    run(["ip", "-n", CLI_NS, "link", "add", BR, "type", "bridge", "stp_state", "0", "forward_delay", "0"])
    # With br_netfilter loaded on the host (Docker loads it), every frame
    # the bridge forwards also goes through the iptables hooks: ~4 % of a
    # server's CPU in a profile, for every row alike.  No row uses
    # iptables, so the bench's own namespace turns that off.
    for fam in ("arptables", "iptables", "ip6tables"):
        path = "/proc/sys/net/bridge/bridge-nf-call-" + fam
        run(["ip", "netns", "exec", CLI_NS, "sh", "-c", "[ ! -e %s ] || echo 0 > %s" % (path, path)], check=False)
    for k in ("a", "b"):
        run(["ip", "link", "add", IF[k], "netns", NS[k], "type", "veth", "peer", "name", PORT[k], "netns", CLI_NS])
        run(["ip", "-n", CLI_NS, "link", "set", PORT[k], "master", BR])
        run(["ip", "-n", CLI_NS, "link", "set", PORT[k], "up"])
        run(["ip", "-n", NS[k], "addr", "add", "%s/%d" % (ADDR[k], B.PREFIXLEN), "dev", IF[k]])
        run(["ip", "-n", NS[k], "link", "set", IF[k], "up"])
    run(["ip", "-n", CLI_NS, "addr", "add", "%s/%d" % (B.CLI_ADDR, B.PREFIXLEN), "dev", BR])
    run(["ip", "-n", CLI_NS, "link", "set", BR, "up"])
    for k in ("a", "b"):
        run(["ip", "netns", "exec", CLI_NS, "ping", "-c", "1", "-W", "2", ADDR[k]], check=False)


def topology_down():
    B.topology_down()        # kills what is left of ours, by PID
    for ns in list(NS.values()) + [CLI_NS]:
        if B.ns_exists(ns):
            run(["ip", "netns", "del", ns], check=False)


# ----------------------------------------------------------- store readers

def isc_counts(path):
    """{state: count} over the addresses of an ISC leases file (the last
    record of each address wins), and the failover states recorded last."""
    last, mine, partner = {}, None, None
    cur = None
    try:
        with open(path, errors="replace") as f:
            for line in f:
                s = line.strip()
                if s.startswith("lease "):
                    cur = s.split()[1]
                elif cur and s.startswith("binding state "):
                    last[cur] = s.split()[2].rstrip(";")
                elif s == "}":
                    cur = None
                elif s.startswith("my state "):
                    mine = s.split()[2]
                elif s.startswith("partner state "):
                    partner = s.split()[2]
    except OSError:
        pass
    n = {}
    for st in last.values():
        n[st] = n.get(st, 0) + 1
    return n, mine, partner


def kea_active(path):
    """Addresses whose last record in a Kea memfile CSV is an active lease
    (state 0, lifetime > 0)."""
    last = {}
    try:
        with open(path, errors="replace") as f:
            for line in f:
                c = line.rstrip("\n").split(",")
                if len(c) < 10 or c[0] == "address":
                    continue
                last[c[0]] = c[9] == "0" and c[3] != "0"
    except OSError:
        pass
    return sum(1 for v in last.values() if v)


def rack_active(d):
    """ACTIVE rows in a rackdhcpd SQLite store (read-only), or None."""
    try:
        con = sqlite3.connect("file:%s?mode=ro" % os.path.join(d, "state", "leases.db"), uri=True, timeout=5)
        try:
            return con.execute("SELECT count(*) FROM leases WHERE state = 2").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return None


def rack_ctl(d, command):
    """One control-socket request; the result, or None."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(os.path.join(d, "ctl.sock"))
            s.sendall(json.dumps({"command": command}).encode() + b"\n")
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(1 << 16)
                if not chunk:
                    break
                buf += chunk
        r = json.loads(buf)
        return r.get("result") if r.get("ok") else None
    except (OSError, ValueError):
        return None


# ------------------------------------------------------------------- pairs

class Pair(B.Server):
    """Two servers (or one, for canned) started once for the whole ladder."""
    pool_size = POOL_SIZE
    stateless = False

    def __init__(self, work):
        super().__init__(work)
        self.procs, self.dirs, self.used, self.acks, self.rung_no = {}, {}, 0, 0, 0

    def start_one(self, k, d):
        """Write k's configuration in d; its argv."""
        raise NotImplementedError

    def up_state(self):
        """(True, how) once the pair is up, else (False, what it is still at)."""
        return True, ""

    def stores(self):
        """ACTIVE leases in each server's store: {"a": n, "b": n}."""
        return {}

    def counters(self):
        """Replication counters to record after each rung (or {})."""
        return {}

    def up(self):
        d0 = os.path.join(self.work, self.name)
        os.makedirs(d0)
        for k in self.keys:
            d = os.path.join(d0, k)
            os.makedirs(d)
            self.dirs[k] = d
            try:
                argv = self.start_one(k, d)
            except B.StartError as e:
                raise B.RungFailed(str(e), True)
            except Exception as e:   # noqa: BLE001 — any failure to prepare is the row's failure
                raise B.RungFailed("%s: %s" % (type(e).__name__, e), True)
            self.procs[k] = spawn(NS[k], argv, os.path.join(d, "server.log"), env=self.env(d), comm=self.comm)
        t0, how = time.monotonic(), "?"
        while time.monotonic() - t0 < START_TIMEOUT:
            dead = [k for k, p in self.procs.items() if p.poll() is not None]
            if dead:
                raise B.RungFailed("server %s exited (status %s); log: %s" % (
                    dead[0], self.procs[dead[0]].returncode, self.log_tail(dead[0])), True)
            ok, how = self.up_state()
            if ok and B.probe(d0, **WHERE):
                self.used, self.acks = 1, 1          # the probe client's lease
                return "%.1f s (%s)" % (time.monotonic() - t0, how)
            time.sleep(1.0)
        raise B.RungFailed("not up within %d s: %s; logs: %s" % (
            START_TIMEOUT, how, " // ".join("%s: %s" % (k, self.log_tail(k)) for k in self.keys)), True)

    def log_tail(self, k):
        return B.tail(os.path.join(self.dirs[k], "server.log"), 6)

    def down(self):
        for p in self.procs.values():
            stop(p)
        self.procs = {}

    def catch_up(self, want):
        """Wait (bounded) until every store holds >= want ACTIVE leases."""
        t0 = time.monotonic()
        while True:
            n = self.stores()
            if not n:
                return n, 0.0, None              # stateless: nothing to catch up
            if all(v is not None and v >= want for v in n.values()):
                return n, round(time.monotonic() - t0, 1), True
            if time.monotonic() - t0 > CATCHUP_WAIT:
                return n, round(time.monotonic() - t0, 1), False
            time.sleep(0.5)


class CannedPair(Pair, B.Canned):
    name, comm, keys = "canned", "canned", ("a",)
    stateless = True       # hands out its range round and round: no pool to run out of
    title = "canned responder (harness ceiling, one responder)"

    def start_one(self, k, d):
        return [os.path.abspath(B.CANNED), "-B", "-a", ADDR[k], "-P", "%s-%s" % (RANGES[0][0], RANGES[-1][1]),
                "-m", B.MASK, "-l", str(B.LEASE_TIME), "-t", str(B.CANNED_THREADS),
                "-T", str(START_TIMEOUT + len(LADDER) * (SECONDS + 120))]


class IscPair(Pair, B.Isc):
    name, comm, keys = "isc-pair", "dhcpd", ("a", "b")
    # ISC's pool balancing at start-up (half the pool as BNDUPDs, ~100-150/s
    # here) and its linear lease lists make a big pool impractical; a
    # smaller pool only makes ISC faster (bench-baseline gotcha 17).
    pool_size = ISC_POOL_SIZE
    ranges = ISC_RANGES
    title = "ISC dhcpd 4.4 failover pair (split %d)" % SPLIT
    durability = "fsync per lease (leases file), BNDUPD after the ACK"

    def start_one(self, k, d):
        me, peer = ADDR[k], ADDR["b" if k == "a" else "a"]
        # The failover statement as MAAS writes it (mclt and split on the primary).
        head = """failover peer "{n}" {{
  {role};
  address {me}; port 647;
  peer address {peer}; peer port 647;
  max-response-delay 60;
  max-unacked-updates {mu};
{prim}  load balance max seconds 3;
}}
""".format(n=FO_NAME, role="primary" if k == "a" else "secondary", me=me, peer=peer, mu=MAX_UNACKED,
           prim="  mclt 3600;\n  split %d;\n" % SPLIT if k == "a" else "")
        conf = os.path.join(d, "dhcpd.conf")
        with open(conf, "w") as f:
            f.write(B.Isc.conf_text(self.ranges, head, 'failover peer "%s"; ' % FO_NAME))
        leases = os.path.join(d, "dhcpd.leases")
        open(leases, "w").close()
        self.backup_seen = (0, time.monotonic())
        return [B.DHCPD, "-4", "-f", "-q", "-cf", conf, "-lf", leases, "-pf", os.path.join(d, "dhcpd.pid"), IF[k]]

    def up_state(self):
        states = [isc_counts(os.path.join(self.dirs[k], "dhcpd.leases")) for k in self.keys]
        if not all(s[1] == "normal" and s[2] == "normal" for s in states):
            return False, "failover states a %s/%s, b %s/%s" % (states[0][1], states[0][2], states[1][1], states[1][2])
        return balanced(self, states[1][0].get("backup", 0))

    def stores(self):
        return {k: isc_counts(os.path.join(self.dirs[k], "dhcpd.leases"))[0].get("active", 0) for k in self.keys}


class IscPairOnePool(IscPair):
    """The same ISC pair with its addresses in one pool, as
    ../shared/docs/bench-baseline configured its ISC failover pair (one
    65,521-address pool; here the same ISC_POOL_SIZE addresses as the
    isc-pair row, so only the layout differs): its lease lists grow long,
    as in a MAAS subnet with one dynamic range."""
    name = "isc-pair-1pool"
    ranges = [(ISC_RANGES[0][0], ISC_RANGES[-1][1])]
    title = "ISC dhcpd 4.4 failover pair, one pool (split %d)" % SPLIT


def balanced(pair, backup, queued=0):
    """Pool balancing is over once the secondary's BACKUP count is above 0,
    nothing is queued, and the count has not moved for 3 s."""
    last, since = pair.backup_seen
    if backup != last:
        pair.backup_seen = (backup, time.monotonic())
        return False, "balancing: secondary holds %d BACKUP" % backup
    if backup == 0 or queued or time.monotonic() - since < 3:
        return False, "balancing: secondary holds %d BACKUP%s" % (backup, ", %d queued" % queued if queued else "")
    return True, "normal, %d BACKUP on the secondary" % backup


class KeaHa(Pair, B.Kea):
    name, comm, keys = "kea-ha", "kea-dhcp4", ("a", "b")
    title = "Kea 2.2 HA hot-standby (MT, %d threads)" % B.KEA_THREADS
    durability = "memfile CSV, no fsync; ACK after the standby's lease-update reply"
    HOOKS = "/usr/lib/x86_64-linux-gnu/kea/hooks"

    def available(self):
        why = super().available()
        if why:
            return why
        for lib in ("libdhcp_ha.so", "libdhcp_lease_cmds.so"):
            if not os.path.exists(os.path.join(self.HOOKS, lib)):
                return "%s/%s not found (dpkg -L kea-dhcp4-server)" % (self.HOOKS, lib)
        return None

    def start_one(self, k, d):
        conf = B.Kea.conf_dict(d, IF[k], RANGES)
        dh = conf["Dhcp4"]
        # HA's dedicated listener needs multi-threading (Kea 2.2).
        dh["multi-threading"] = {"enable-multi-threading": True, "thread-pool-size": max(B.KEA_THREADS, 1),
                                 "packet-queue-size": 64}
        dh["loggers"].append({"name": "kea-dhcp4.ha-hooks", "severity": "INFO",
                              "output_options": [{"output": os.path.join(d, "ha.log")}]})
        peers = [{"name": "kea-a", "url": "http://%s:8000/" % ADDR["a"], "role": "primary", "auto-failover": True},
                 {"name": "kea-b", "url": "http://%s:8000/" % ADDR["b"], "role": "standby", "auto-failover": True}]
        dh["hooks-libraries"] = [
            {"library": os.path.join(self.HOOKS, "libdhcp_lease_cmds.so"), "parameters": {}},
            {"library": os.path.join(self.HOOKS, "libdhcp_ha.so"), "parameters": {"high-availability": [{
                "this-server-name": "kea-" + k, "mode": "hot-standby",
                "heartbeat-delay": KEA_HEARTBEAT, "max-response-delay": 60000, "max-ack-delay": 5000,
                "max-unacked-clients": 5, "sync-timeout": 60000,
                "multi-threading": {"enable-multi-threading": True, "http-dedicated-listener": True,
                                    "http-listener-threads": 2, "http-client-threads": 2},
                "peers": peers}]}}]
        path = os.path.join(d, "kea-dhcp4.json")
        with open(path, "w") as f:
            json.dump(conf, f, indent=1)
        return [B.KEA, "-c", path]

    def ha_state(self, k):
        last = None
        try:
            with open(os.path.join(self.dirs[k], "ha.log"), errors="replace") as f:
                for line in f:
                    m = re.search(r"HA_STATE_TRANSITION .* to ([A-Z-]+) state", line)
                    if m:
                        last = m.group(1)
        except OSError:
            pass
        return last

    def up_state(self):
        st = {k: self.ha_state(k) for k in self.keys}
        return all(v == "HOT-STANDBY" for v in st.values()), "HA states a %s, b %s" % (st["a"], st["b"])

    def stores(self):
        return {k: kea_active(os.path.join(self.dirs[k], "kea-leases4.csv")) for k in self.keys}

    def log_tail(self, k):
        return B.tail(os.path.join(self.dirs[k], "kea.log"), 4) + " / " + B.tail(os.path.join(self.dirs[k], "ha.log"), 3)


class RackPair(Pair, B.Rack):
    name, comm, keys = "rackdhcpd-pair", "rackdhcpd", ("a", "b")
    title = "rackdhcpd failover pair (split %d, %d workers)%s" % (
        SPLIT, B.RACK_WORKERS, " [%s]" % "; ".join(l.strip() for l in RACK_FO_EXTRA.split("\n") if l.strip())
        if RACK_FO_EXTRA.strip() else "")
    durability = ("sync group commit (fsync before each ACK), BNDUPD streamed" if B.RACK_DURABILITY == "sync"
                  else "relaxed (reply first, group commit after), BNDUPD streamed")

    def start_one(self, k, d):
        me, peer = ADDR[k], ADDR["b" if k == "a" else "a"]
        extra = "".join("    %s\n" % l.strip() for l in RACK_FO_EXTRA.split("\n") if l.strip())
        tail = """failover:
  - name: {n}
    role: {role}
    address: {me}
    peer_address: {peer}
    mclt: 3600
    max_response_delay: 60
    max_unacked_updates: {mu}
    load_balance_max_seconds: 3
{prim}{extra}""".format(n=FO_NAME, role="primary" if k == "a" else "secondary", me=me, peer=peer, mu=MAX_UNACKED,
                        prim="    split: %d\n" % SPLIT if k == "a" else "", extra=extra)
        self.backup_seen = (0, time.monotonic())
        argv = self.prepare(d, ns=NS[k], ifn=IF[k], ranges=RANGES,
                            pool_extra="        failover_peer: %s\n" % FO_NAME, tail=tail)
        if k == "a" and "ack_after_peer" not in RACK_FO_EXTRA:
            self.note = self.ack_mode(d, NS[k])
        return argv

    def ack_mode(self, d, ns):
        """Whether this build has failover ack_after_peer (an ACK that waits
        for the peer's BNDACK; work in progress when this was written): the
        configuration with the key added is checked, nothing else depends
        on it."""
        path = os.path.join(d, "rackdhcpd.yaml")
        probe = os.path.join(d, "ack-probe.yaml")
        with open(path) as f, open(probe, "w") as g:
            g.write(f.read().replace("    load_balance_max_seconds: 3\n",
                                     "    load_balance_max_seconds: 3\n    ack_after_peer: false\n"))
        r = subprocess.run(["ip", "netns", "exec", ns, B.RACKDHCPD, "--check-config", probe],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        return ("this build knows failover ack_after_peer; its default applies (see docs/config.md)"
                if r.returncode == 0 else
                "this build has no failover ack_after_peer: the ACK leaves after our own fsync, the BNDUPD follows")

    def fo(self, k):
        st = rack_ctl(self.dirs[k], "status")
        if not st:
            return None, None
        rel = [r for r in st.get("failover") or [] if r.get("name") == FO_NAME]
        return (rel[0] if rel else None), st

    def up_state(self):
        got = {k: self.fo(k) for k in self.keys}
        desc = []
        for k in self.keys:
            r = got[k][0]
            if not r:
                return False, "%s: no failover status yet" % k
            desc.append("%s %s/%s%s" % (k, r.get("state"), r.get("partner_state"), "" if r.get("linked") else " (link down)"))
        if not all(got[k][0].get("state") == "normal" and got[k][0].get("partner_state") == "normal"
                   and got[k][0].get("linked") for k in self.keys):
            return False, ", ".join(desc)
        backup = sum(p.get("backup", 0) for p in got["b"][1].get("pools", []))
        queued = sum(got[k][0].get("queued_updates", 0) + got[k][0].get("unacked_updates", 0) for k in self.keys)
        return balanced(self, backup, queued)

    def stores(self):
        return {k: rack_active(self.dirs[k]) for k in self.keys}

    def counters(self):
        out = {}
        for k in self.keys:
            r = self.fo(k)[0] or {}
            out[k] = {x: r.get(x) for x in ("bndupd_sent", "bndack_received", "bndupd_received", "bndack_sent",
                                            "bndupd_rejected", "queued_updates", "unacked_updates")}
        return out


PAIR_CLASSES = {c.name: c for c in (CannedPair, IscPair, IscPairOnePool, KeaHa, RackPair)}


# ------------------------------------------------------------------ a rung

def pair_rung(srv, work, idx, rate, attempt):
    """One rung against the running pair (started by the first rung)."""
    if not srv.procs:
        srv.ready_after = srv.up()
        log("  up after %s" % srv.ready_after)
        if srv.note:
            log("  note: " + srv.note)
    clients = rate * SECONDS
    if not srv.stateless and srv.used + clients > 0.9 * srv.pool_size:
        raise PoolFull("%d new clients would not fit in what is left of the %d-address pool (%d used)"
                       % (clients, srv.pool_size, srv.used))
    srv.rung_no += 1
    d = os.path.join(work, srv.name, "%d%s" % (rate, "-%d" % attempt if attempt else ""))
    os.makedirs(d)
    # -W: after the period, 1 s without sending, to collect the answers
    # still in flight.  -R: every exchange a new client.
    argv = B.perfdhcp_argv(rate, SECONDS, min(max(B.CLIENTS, 2 * clients), 1 << 24), B.rung_mac(srv.rung_no), ["-W", "1000000"], **WHERE)
    pids = [p.pid for p in srv.procs.values()]
    ours = {os.getpid()} | set(pids)
    waited = B.wait_quiet(ours) if B.QUIET_MAX > 0 else 0
    # BENCH_PERF_RECORD / BENCH_PERF_STAT: one perf per server, in d/<a|b>.
    perfs = []
    for k, p in srv.procs.items():
        os.makedirs(os.path.join(d, k))
        perfs.append(B.perf_start(p.pid, os.path.join(d, k)))
    before = B.snapshot_others(ours)
    c0 = [B.cpu_seconds(p) for p in pids]
    t0 = time.monotonic()
    out, pcpu, status = B.run_perfdhcp(argv, os.path.join(d, "perfdhcp.log"), SECONDS + 30)
    wall = time.monotonic() - t0
    c1 = [B.cpu_seconds(p) for p in pids]
    for p in perfs:
        B.perf_stop(p)
    after = B.snapshot_others(ours)
    alive = all(p.poll() is None for p in srv.procs.values())
    r = B.parse_perfdhcp(out)
    srv_cpu = (round(sum(b - a for a, b in zip(c0, c1)), 2)
               if None not in c0 and None not in c1 else None)
    rung = {"offered": rate, "seconds": SECONDS, "clients": clients, "wall_s": round(wall, 2),
            "ready_after": srv.ready_after, "waited_for_quiet_s": waited, "perfdhcp_status": status,
            "perfdhcp_cpu_s": round(pcpu, 2), "server_cpu_s": srv_cpu}
    other, rung["other_top"] = B.others_delta(before, after)
    rung["other_cpu_s"] = round(other, 2)
    rung["dirty"] = other > B.DIRTY_PCT / 100.0 * wall
    if "DO" not in r or "RA" not in r or "sent" not in r["DO"]:
        raise B.RungFailed("no statistics from perfdhcp: " + " | ".join(out.strip().splitlines()[-5:]), False)
    do, ra = r["DO"], r["RA"]
    sent, acks = do.get("sent", 0), ra.get("rcvd", 0)
    srv.used += sent
    srv.acks += acks
    rung.update({
        "discover_sent": sent, "offer_rcvd": do.get("rcvd", 0), "request_sent": ra.get("sent", 0),
        "ack_rcvd": acks, "sent_per_s": round(sent / SECONDS, 1), "leases_per_s": round(acks / SECONDS, 1),
        "loss_pct": round(100.0 * (1 - acks / sent), 3) if sent else 100.0,
        "do_avg_ms": do.get("avg_ms"), "ra_avg_ms": ra.get("avg_ms"),
        "dora_avg_ms": round(do.get("avg_ms", 0) + ra.get("avg_ms", 0), 3)
        if do.get("avg_ms") is not None and ra.get("avg_ms") is not None else None,
        "do_max_ms": do.get("max_ms"), "ra_max_ms": ra.get("max_ms"),
    })
    if not alive:
        rung["error"] = "a server exited during the rung: " + " // ".join(srv.log_tail(k) for k in srv.keys)
        return rung
    stores, secs, ok = srv.catch_up(srv.acks)
    rung["acks_total"] = srv.acks
    rung["stores_active"] = stores
    rung["stores_caught_up"] = ok
    rung["catch_up_s"] = secs
    rung["replication"] = srv.counters()
    return rung


class PoolFull(Exception):
    pass


def fmt_stores(r):
    if "stores_active" not in r or not r["stores_active"]:
        return "stores: - (stateless)" if "stores_active" in r else ""
    s = r["stores_active"]
    txt = "stores ACTIVE: %s, ACKs so far %d: %s after %.1f s" % (
        ", ".join("%s %s" % (k, v) for k, v in sorted(s.items())), r["acks_total"],
        "caught up" if r["stores_caught_up"] else "NOT caught up", r["catch_up_s"])
    rep = r.get("replication")
    if rep:
        txt += "; BNDUPD sent a %s b %s, BNDACK rcvd a %s b %s" % (
            rep["a"].get("bndupd_sent"), rep["b"].get("bndupd_sent"),
            rep["a"].get("bndack_received"), rep["b"].get("bndack_received"))
    return txt


# ----------------------------------------------------------------- summary

def summary(rows):
    def extra(r, b, s):
        s["pool"] = r.get("pool_size")
        if b:
            s["stores"] = fmt_stores(b).split(":", 1)[-1].strip()
            s["stores_caught_up"] = b.get("stores_caught_up")
        if r.get("stopped"):
            s["stopped"] = r["stopped"]
        if r.get("note"):
            s["note"] = r["note"]
    return B.summary(rows, refs=(("x_isc_pair", "isc-pair"), ("x_isc_pair_1pool", "isc-pair-1pool"),
                                 ("x_kea_ha", "kea-ha")), extra=extra)


def print_summary(summ):
    log("\n== pair summary: highest leases/s with <= %g %% of exchanges lost (%d-s rungs, fresh clients, DORA, "
        "%d-address pool, ISC pair %d) ==" % (B.LOSS_LIMIT, SECONDS, POOL_SIZE, ISC_POOL_SIZE))
    log("| pair | durability | pool | leases/s (offered) | avg DORA ms | stores caught up | % of canned "
        "| × ISC pair | × ISC pair one pool | × Kea HA |")
    log("|---|---|---|---|---|---|---|---|---|---|")

    def f(v, fmt):
        return fmt % v if v is not None else "-"
    for s in summ:
        if "leases_per_s" in s:
            log("| %s | %s | %s | %.0f (%d/s) | %.2f | %s | %s | %s | %s | %s |" % (
                s["title"], s["durability"], s["pool"], s["leases_per_s"], s["offered"], s["dora_avg_ms"] or 0,
                {True: "yes", False: "NO", None: "-"}[s.get("stores_caught_up")],
                f(s.get("pct_of_canned"), "%.1f %%"), f(s.get("x_isc_pair"), "%.2f"),
                f(s.get("x_isc_pair_1pool"), "%.2f"), f(s.get("x_kea_ha"), "%.2f")))
        else:
            msg = s["status"] + (": " + s["error"] if s.get("error") else "")
            log("| %s | %s | %s | %s | - | - | - | - | - | - |" % (s["title"], s["durability"], s["pool"],
                                                         (msg[:400] + ("…" if len(msg) > 400 else "")).replace("|", "/")))
    for s in summ:
        if s.get("stopped"):
            log("%s: ladder stopped: %s" % (s["title"], s["stopped"]))
        if s.get("note"):
            log("%s: %s" % (s["title"], s["note"]))


def main():
    for s in SERVERS:
        if s not in PAIR_CLASSES:
            sys.exit("pair.py: unknown row %r (known: %s)" % (s, ", ".join(PAIR_CLASSES)))
    if not os.access(B.PERFDHCP, os.X_OK):
        print("pair.py: %s not found (apt-get install kea-admin / kea-perfdhcp)" % B.PERFDHCP)
        sys.exit(77)
    work = ENV.get("BENCH_WORKDIR") or tempfile.mkdtemp(prefix="rdbpair-", dir=ENV.get("TMPDIR", "/var/tmp"))
    os.makedirs(work, exist_ok=True)
    m = B.meta()
    m.update({"workdir": work, "mode": "pair", "pool": "%s-%s (%d addresses, %d ranges)" % (
        RANGES[0][0], RANGES[-1][1], POOL_SIZE, len(RANGES)), "split": SPLIT,
        "isc_pair_pool": "%s-%s (%d addresses)" % (ISC_RANGES[0][0], ISC_RANGES[-1][1], ISC_POOL_SIZE),
        "server_addrs": ADDR, "perfdhcp": "broadcast on %s, giaddr %s" % (BR, B.CLI_ADDR),
        "rack_failover_extra": RACK_FO_EXTRA})
    log("perfdhcp PAIR benchmark: %s; %d-s rungs, ladder %s /s, stop above %g %% lost; perfdhcp arguments %s; "
        "namespaces %s, %s, %s; work %s"
        % (", ".join(SERVERS), SECONDS, " ".join(map(str, LADDER)), B.LOSS_LIMIT, " ".join(B.PERFDHCP_ARGS) or "-",
           NS["a"], NS["b"], CLI_NS, work))
    log("servers %s (a, primary) and %s (b, secondary/standby); perfdhcp broadcasts on %s (giaddr %s); "
        "pool %s-%s (%d addresses in %d ranges; the ISC pair's: the first %d), split %d" % (
            ADDR["a"], ADDR["b"], BR, B.CLI_ADDR, RANGES[0][0], RANGES[-1][1], POOL_SIZE, len(RANGES),
            ISC_POOL_SIZE, SPLIT))
    rows = []
    try:
        topology_up()
        for name in SERVERS:
            srv = PAIR_CLASSES[name](work)
            log("\n== %s — durability: %s ==" % (srv.title, srv.durability or B.DURABILITY.get(name, "")))
            log("  " + B.RUNG_HDR)
            try:
                bench_pair(srv, work, rows)
            finally:
                srv.down()
    finally:
        topology_down()
        summ = summary(rows)
        if rows:
            print_summary(summ)
            out = ENV.get("BENCH_OUT") or os.path.join(B.RESULTS_DIR, "pair-results-%s.json" % B.STAMP)
            os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
            with open(out, "w") as f:
                json.dump({"meta": m, "servers": rows, "summary": summ}, f, indent=1)
            log("\nresults: %s" % out)
        if B.KEEP:
            log("work directory kept: %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


def bench_pair(srv, work, rows):
    """bench.py's ladder with the pair's rung; each rung's store line below it."""
    def rung_fn(s, w, idx, rate, attempt):
        try:
            r = pair_rung(s, w, idx, rate, attempt)
        except PoolFull as e:
            raise StopLadder(str(e))
        return r
    rows_before = len(rows)
    try:
        B.bench_server(srv, work, rows, rung_fn=rung_fn, after_rung=lambda r: log("      " + fmt_stores(r)))
    except StopLadder as e:
        row = rows[rows_before]
        row["stopped"] = str(e)
        row["best"] = B.best_rung(row)
        log("  ladder stops: " + str(e))
    finally:
        # Also when interrupted: the summary still describes the row.
        if len(rows) > rows_before:
            row = rows[rows_before]
            row["pool_size"] = "-" if srv.stateless else srv.pool_size
            if srv.note:
                row["note"] = srv.note
            row["ready_after"] = getattr(srv, "ready_after", None)


class StopLadder(Exception):
    pass


if __name__ == "__main__":
    B.install_signal_handlers()
    main()
