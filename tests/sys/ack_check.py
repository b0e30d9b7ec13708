#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""ack_check.py -- check a failover pair's DHCPACKs against the survivor.

Reads a client-side capture (classic pcap, as tcpdump -w writes it:
Ethernet, Linux cooked v1/v2 or raw IPv4 link types) and finds every
DHCPACK (op 2, option 53 = 5, yiaddr != 0).  Then it asserts:

 (a) no yiaddr was ACKed to two different chaddrs at overlapping times,
     where an ACK covers [capture time, capture time + option 51];
 (b) with --db: every (chaddr, yiaddr) that was ACKed, by either server,
     is ACTIVE (state 2) for that chaddr in the survivor's SQLite store
     (unless the address was ACKed to another client later: (a) judges that)
     (rackdhcpd's leases table, leasedb/store.c), and the stored end is not
     earlier than the ACK's end minus --slack seconds (the server stamps
     `ends` from its own clock before the ACK leaves).  ACKs whose lease has
     run out before --now (default: the capture's last packet) are not
     required to be there.

Prints a summary ("# ..." lines) and every violation, and exits 1 when
there is one, 0 otherwise, 2 on unusable input.  --self-test writes
synthetic captures and stores (a double ACK, a lease missing from the
store, a lease too short there, and a clean case) and checks that the
checker finds exactly what is wrong in each; it needs no root.

Only the standard library is used (struct, sqlite3).
"""
import argparse
import contextlib
import io
import os
import sqlite3
import struct
import sys
import tempfile

DHCPACK = 5
ACTIVE = 2

# ----------------------------------------------------------------- pcap


def read_pcap(path):
    """Yield (time, ip payload bytes) for each IPv4 packet of a pcap file."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise ValueError("%s: too short for a pcap header" % path)
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        raise ValueError("%s: not a classic pcap file (pcapng is not read)" % path)
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(end + "I", data[20:24])[0] & 0x0FFFFFFF
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(end + "IIII", data[off:off + 16])
        off += 16
        pkt = data[off:off + incl]
        off += incl
        t = sec + frac / (1e9 if nano else 1e6)
        ip = link_payload(linktype, pkt)
        if ip is not None:
            yield t, ip


def link_payload(linktype, pkt):
    """The IPv4 packet inside one frame, or None."""
    if linktype == 1:               # Ethernet, with 802.1Q tags skipped
        off, etype = 12, None
        while off + 2 <= len(pkt):
            etype = struct.unpack("!H", pkt[off:off + 2])[0]
            if etype in (0x8100, 0x88A8):
                off += 4
                continue
            break
        return pkt[off + 2:] if etype == 0x0800 else None
    if linktype == 113:             # Linux cooked v1
        return pkt[16:] if len(pkt) >= 16 and struct.unpack("!H", pkt[14:16])[0] == 0x0800 else None
    if linktype == 276:             # Linux cooked v2
        return pkt[20:] if len(pkt) >= 20 and struct.unpack("!H", pkt[0:2])[0] == 0x0800 else None
    if linktype in (101, 228):      # raw IP / IPv4
        return pkt
    return None


def udp_dhcp(ip):
    """The UDP payload of an IPv4/UDP datagram on port 67 or 68, or None."""
    if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
        return None
    ihl = (ip[0] & 15) * 4
    if struct.unpack("!H", ip[6:8])[0] & 0x3FFF:
        return None                 # a fragment: not ours to reassemble
    udp = ip[ihl:]
    if len(udp) < 8:
        return None
    sport, dport = struct.unpack("!HH", udp[0:4])
    if not ({sport, dport} & {67, 68}):
        return None
    return udp[8:]


def dhcp_options(msg):
    """Options of a BOOTP message as {code: bytes}, honouring overload (52)."""
    opts = {}

    def walk(buf):
        i = 0
        while i < len(buf):
            code = buf[i]
            if code == 255:
                return
            if code == 0:
                i += 1
                continue
            if i + 1 >= len(buf):
                return
            n = buf[i + 1]
            val = buf[i + 2:i + 2 + n]
            opts[code] = opts.get(code, b"") + val   # RFC 3396 concatenation
            i += 2 + n

    if len(msg) < 240 or msg[236:240] != b"\x63\x82\x53\x63":
        return None
    walk(msg[240:])
    ov = opts.get(52, b"\x00")[:1]
    if ov and ov[0] & 1:
        walk(msg[108:236])          # file
    if ov and ov[0] & 2:
        walk(msg[44:108])           # sname
    return opts


def ip_str(b):
    return "%d.%d.%d.%d" % tuple(b)


def acks(pcap):
    """Every DHCPACK in the capture: dicts of t, chaddr, yiaddr, lease, sid.

    A frame seen twice (the same reply captured on two ports of a bridge)
    counts once."""
    out, seen = [], set()
    last = None
    for t, ip in read_pcap(pcap):
        last = t
        msg = udp_dhcp(ip)
        if msg is None or len(msg) < 240 or msg[0] != 2:
            continue
        opts = dhcp_options(msg)
        if not opts or opts.get(53, b"")[:1] != bytes([DHCPACK]):
            continue
        yiaddr = msg[16:20]
        if yiaddr == b"\x00\x00\x00\x00":
            continue                # an ACK to an INFORM: no lease
        hlen = min(msg[2], 16)
        lease = struct.unpack("!I", opts[51][:4])[0] if len(opts.get(51, b"")) >= 4 else None
        sid = ip_str(opts[54][:4]) if len(opts.get(54, b"")) >= 4 else "?"
        key = (msg[4:8], bytes(msg[28:28 + hlen]), bytes(yiaddr), sid, round(t, 3))
        if key in seen:
            continue
        seen.add(key)
        out.append({"t": t, "chaddr": bytes(msg[28:28 + hlen]), "yiaddr": bytes(yiaddr), "lease": lease,
                    "sid": sid})
    return out, last


def mac_str(b):
    return ":".join("%02x" % x for x in b)

# ----------------------------------------------------------------- checks


INFINITE = 0xFFFFFFFF


def ack_end(a):
    if a["lease"] is None or a["lease"] == INFINITE:
        return float("inf")
    return a["t"] + a["lease"]


def check_double(ack_list):
    """(a): violations as text lines."""
    bad = []
    by_addr = {}
    for a in ack_list:
        by_addr.setdefault(a["yiaddr"], []).append(a)
    for addr, lst in by_addr.items():
        lst.sort(key=lambda a: a["t"])
        for i, x in enumerate(lst):
            for y in lst[i + 1:]:
                if y["chaddr"] == x["chaddr"]:
                    continue
                if y["t"] < ack_end(x) and x["t"] < ack_end(y):
                    bad.append("double ACK: %s to %s (server %s, t=%.3f, %s s) and to %s (server %s, t=%.3f, %s s)"
                               % (ip_str(addr), mac_str(x["chaddr"]), x["sid"], x["t"], x["lease"],
                                  mac_str(y["chaddr"]), y["sid"], y["t"], y["lease"]))
    return bad


def check_store(ack_list, db, now, slack):
    """(b): violations as text lines, and how many ACKs were looked up."""
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    rows = {}
    for addr, state, ends, chaddr in con.execute("SELECT addr, state, ends, chaddr FROM leases"):
        rows[addr] = (state, ends, bytes(chaddr) if chaddr is not None else b"")
    con.close()
    bad, looked = [], 0
    latest = {}                     # yiaddr -> the chaddr of its last ACK
    for a in sorted(ack_list, key=lambda a: a["t"]):
        latest[a["yiaddr"]] = a["chaddr"]
    for a in ack_list:
        end = ack_end(a)
        if end <= now:
            continue                # ran out before the check: may be gone
        if latest[a["yiaddr"]] != a["chaddr"]:
            continue                # the address went to another client later ((a) judges that)
        looked += 1
        addr = struct.unpack("!I", a["yiaddr"])[0]
        what = "%s to %s (server %s, t=%.3f)" % (ip_str(a["yiaddr"]), mac_str(a["chaddr"]), a["sid"], a["t"])
        r = rows.get(addr)
        if r is None:
            bad.append("missing from the survivor: %s" % what)
        elif r[0] != ACTIVE or r[2] != a["chaddr"]:
            bad.append("not ACTIVE for that client in the survivor: %s (state %d, chaddr %s)"
                       % (what, r[0], mac_str(r[2])))
        elif r[1] != 0 and end != float("inf") and r[1] < end - slack:
            bad.append("the survivor's lease ends too early: %s ends at %.0f, the survivor has %d"
                       % (what, end, r[1]))
    return bad, looked


def run(pcap, db, now, slack, quiet=False):
    try:
        ack_list, last = acks(pcap)
    except (OSError, ValueError) as e:
        print("ack_check: %s" % e)
        return 2
    per_sid = {}
    for a in ack_list:
        per_sid[a["sid"]] = per_sid.get(a["sid"], 0) + 1
    if not quiet:
        print("# %d DHCPACKs in the capture (%s), %d clients, %d addresses"
              % (len(ack_list), ", ".join("%s: %d" % kv for kv in sorted(per_sid.items())) or "none",
                 len({a["chaddr"] for a in ack_list}), len({a["yiaddr"] for a in ack_list})))
    if not quiet:
        sids = {}
        for a in ack_list:
            sids.setdefault((a["chaddr"], a["yiaddr"]), set()).add(a["sid"])
        print("# %d leases (client, address) ACKed by more than one server"
              % sum(1 for v in sids.values() if len(v) > 1))
    bad = check_double(ack_list)
    if db:
        try:
            sbad, looked = check_store(ack_list, db, now if now is not None else (last or 0), slack)
        except sqlite3.Error as e:
            print("ack_check: %s: %s" % (db, e))
            return 2
        bad += sbad
        if not quiet:
            print("# %d ACKs looked up in %s" % (looked, db))
    for b in bad:
        print("VIOLATION: " + b)
    return 1 if bad else 0

# ----------------------------------------------------------------- self-test


def build_ack(chaddr, yiaddr, lease, sid, xid=1):
    """A DHCPACK as an Ethernet frame, broadcast from sid to port 68."""
    bootp = bytearray(236)
    bootp[0], bootp[1], bootp[2] = 2, 1, 6
    bootp[4:8] = struct.pack("!I", xid)
    bootp[16:20] = bytes(map(int, yiaddr.split(".")))
    bootp[28:34] = bytes(int(x, 16) for x in chaddr.split(":"))
    opts = bytes([53, 1, DHCPACK, 54, 4]) + bytes(map(int, sid.split("."))) + bytes([51, 4]) + \
        struct.pack("!I", lease) + b"\xff"
    payload = bytes(bootp) + b"\x63\x82\x53\x63" + opts
    udp = struct.pack("!HHHH", 67, 68, 8 + len(payload), 0) + payload
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                      bytes(map(int, sid.split("."))), b"\xff\xff\xff\xff")
    return b"\xff" * 6 + b"\x52\x54\x00\x00\x00\x01" + b"\x08\x00" + iph + udp


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for t, fr in frames:
            f.write(struct.pack("<IIII", int(t), int((t - int(t)) * 1e6), len(fr), len(fr)))
            f.write(fr)


def write_db(path, rows):
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE leases (addr INTEGER PRIMARY KEY, state INTEGER NOT NULL, starts INTEGER NOT NULL,"
                " ends INTEGER NOT NULL, chaddr BLOB)")
    for addr, state, ends, chaddr in rows:
        a = struct.unpack("!I", bytes(map(int, addr.split("."))))[0]
        con.execute("INSERT INTO leases VALUES (?, ?, 0, ?, ?)",
                    (a, state, ends, bytes(int(x, 16) for x in chaddr.split(":"))))
    con.commit()
    con.close()


def self_test():
    A, B = "52:54:00:aa:00:01", "52:54:00:bb:00:02"
    T = 1700000000.0
    cases = [
        # name, frames, store rows, expected exit, expected words in the output[, now]
        ("clean: two clients, two addresses, both in the store",
         [(T, build_ack(A, "10.0.0.10", 300, "10.0.0.1")), (T + 1, build_ack(B, "10.0.0.11", 300, "10.0.0.2"))],
         [("10.0.0.10", ACTIVE, T + 300, A), ("10.0.0.11", ACTIVE, T + 301, B)], 0, []),
        ("a lease that ran out before the check need not be in the store",
         [(T - 400, build_ack(A, "10.0.0.12", 300, "10.0.0.1")), (T + 1, build_ack(B, "10.0.0.11", 300, "10.0.0.2"))],
         [("10.0.0.11", ACTIVE, T + 301, B)], 0, []),
        ("double ACK: one address to two clients, overlapping",
         [(T, build_ack(A, "10.0.0.10", 300, "10.0.0.1")), (T + 5, build_ack(B, "10.0.0.10", 300, "10.0.0.2"))],
         [("10.0.0.10", ACTIVE, T + 305, B)], 1, ["double ACK: 10.0.0.10"]),
        ("reuse after the first lease ran out is no double ACK",
         [(T, build_ack(A, "10.0.0.10", 30, "10.0.0.1")), (T + 40, build_ack(B, "10.0.0.10", 300, "10.0.0.2"))],
         [("10.0.0.10", ACTIVE, T + 340, B)], 0, [], T + 50),
        ("an ACKed lease missing from the survivor",
         [(T, build_ack(A, "10.0.0.10", 300, "10.0.0.1")), (T + 1, build_ack(B, "10.0.0.11", 300, "10.0.0.2"))],
         [("10.0.0.11", ACTIVE, T + 301, B)], 1, ["missing from the survivor: 10.0.0.10"]),
        ("the survivor's lease ends long before the client's",
         [(T, build_ack(A, "10.0.0.10", 300, "10.0.0.1"))],
         [("10.0.0.10", ACTIVE, T + 100, A)], 1, ["ends too early"]),
        ("the survivor has the address FREE",
         [(T, build_ack(A, "10.0.0.10", 300, "10.0.0.1"))],
         [("10.0.0.10", 1, T + 300, A)], 1, ["not ACTIVE"]),
    ]
    failed = 0
    with tempfile.TemporaryDirectory(prefix="ack_check.") as d:
        for i, case in enumerate(cases, 1):
            name, frames, rows, want, words = case[:5]
            now = case[5] if len(case) > 5 else T + 10
            pcap, db = os.path.join(d, "c%d.pcap" % i), os.path.join(d, "c%d.db" % i)
            write_pcap(pcap, frames)
            write_db(db, rows)
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                rc = run(pcap, db, now=now, slack=5, quiet=True)
            out = buf.getvalue()
            good = rc == want and all(w in out for w in words)
            if not good:
                failed += 1
            print("%s %d - self-test: %s (exit %d, wanted %d)" % ("ok" if good else "not ok", i, name, rc, want))
            for line in out.splitlines():
                print("#   " + line)
        print("1..%d" % len(cases))
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("pcap", nargs="?")
    ap.add_argument("--db", help="the survivor's leases.db (check b)")
    ap.add_argument("--now", type=float, help="leases ending before this are not required (default: last packet)")
    ap.add_argument("--slack", type=float, default=10.0, help="seconds the stored end may fall short (default 10)")
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    if a.self_test:
        return self_test()
    if not a.pcap:
        ap.error("a capture file is needed")
    return run(a.pcap, a.db, a.now, a.slack)


if __name__ == "__main__":
    sys.exit(main())
