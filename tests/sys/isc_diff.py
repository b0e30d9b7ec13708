#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""isc_diff.py — differential check of rackdhcpd against ISC dhcpd 4.4.

One list of client messages (tests/sys/isc_diff/scenario.json) is played
against two servers configured alike (isc_diff/dhcpd.conf, isc_diff/rackdhcpd.yaml):

  live     (run inside the client network namespace) sends each message with
           scapy's sendp on the client veth to ISC dhcpd, waits for the answer
           (bounded timeout) and records it.  Messages that depend on an earlier
           answer (the REQUEST after an OFFER, a RELEASE of the bound address)
           are built from ISC's own answers.
  replay   drives `rackdhcpd --replay` ADAPTIVELY: for step k it appends the
           step's message (built from OUR earlier answers) to a capture and
           replays the whole capture (the clock comes from the capture, the
           lease table starts empty, so replay k repeats replays 1..k-1 exactly
           and adds one exchange).  Each side therefore sees a coherent
           conversation: a REQUEST always carries the address THAT server
           offered, which is what a real client does.
  compare  compares the two answer lists step by step by meaning and prints TAP.
  selftest checks the comparison on ISC's answers alone (identity must pass,
           deliberate perturbations must be caught).

Messages are assembled by hand (BOOTP header + option TLVs) and answers
decoded by hand, so option order and content are exactly what we say; scapy
only sends frames (sendp) and writes captures (wrpcap).  Use Debian's
/usr/bin/python3 (python3-scapy).
"""
import argparse
import fnmatch
import ipaddress
import json
import os
import select
import socket
import struct
import subprocess
import sys
import time

COOKIE = b"\x63\x82\x53\x63"
MSG = {"DISCOVER": 1, "OFFER": 2, "REQUEST": 3, "DECLINE": 4, "ACK": 5, "NAK": 6, "RELEASE": 7, "INFORM": 8}
MSG_NAME = {v: k for k, v in MSG.items()}
XID_BASE = 0x1D1F0000
CLIENT_MAC_DST = "ff:ff:ff:ff:ff:ff"

# ---------------------------------------------------------------------------
# Intentional differences (docs/isc-differences.md).  A mismatch is allowed
# only when (step id glob, field) matches an entry here; `field` is what the
# comparison prints: "type", "yiaddr", "siaddr", "file", "sname", "opt N",
# "opt N absent", "opt N extra", "dport".  Every entry names its section of
# docs/isc-differences.md.  Do NOT add engine bugs here.
def _u32(hx):
    return struct.unpack("!I", bytes.fromhex(hx))[0] if hx and len(hx) == 8 else None


def _t1t2(code, frac):
    """ours sends T1/T2 (58/59) that ISC leaves out: allowed when it is the RFC 2131 default."""
    def ok(ai, ao):
        lt, v = _u32(ao["options"].get("51")), _u32(ao["options"].get(code))
        return lt is not None and v == int(lt * frac)
    return ok


def _cache_threshold(ai, ao):
    """ISC re-ACKs a young lease with its remaining time (dhcp-cache-threshold 25 %)."""
    i, o = _u32(ai["options"].get("51")), _u32(ao["options"].get("51"))
    return i is not None and o is not None and o * 3 // 4 <= i <= o


def _both_nak(ai, ao):
    return ai["type"] == "NAK" and ao["type"] == "NAK"


ALLOW = [
    # (step glob, field, predicate(isc answer, our answer) or None, reason)
    ("*", "opt 58 extra", _t1t2("58", 1 / 2),
     "isc-differences.md 5: we send T1 = 50 % of the lease (the RFC 2131 4.4.5 default a client uses anyway)"),
    ("*", "opt 59 extra", _t1t2("59", 7 / 8),
     "isc-differences.md 5: we send T2 = 87.5 % of the lease (RFC 2131 4.4.5 default)"),
    ("*", "opt 56", _both_nak,
     "isc-differences.md 6: the NAK message text is free-form; ours says why"),
    ("*", "flags", _both_nak,
     "isc-differences.md 6: ISC sets the broadcast bit in a NAK it broadcasts anyway; same destination"),
    ("c4-reboot-unknown", "type", lambda ai, ao: ao is None,
     "isc-differences.md 7: INIT-REBOOT from a client we have no record of: RFC 2131 4.3.2 MUST remain silent"),
    ("*", "opt 51", _cache_threshold,
     "isc-differences.md 8: ISC's dhcp-cache-threshold re-ACKs a young lease with its remaining time"),
]


def ip2b(a):
    return socket.inet_aton(a)


def b2ip(b):
    return socket.inet_ntoa(b)


def mac2b(m):
    return bytes(int(x, 16) for x in m.split(":"))


def opt_bytes(spec):
    """Option value from the scenario's notation."""
    if spec.startswith("u8s:"):
        return bytes(int(x) for x in spec[4:].split(","))
    if spec.startswith("u16:"):
        return struct.pack("!H", int(spec[4:]))
    if spec.startswith("u32:"):
        return struct.pack("!I", int(spec[4:]))
    if spec.startswith("hex:"):
        return bytes.fromhex(spec[4:])
    if spec.startswith("ip:"):
        return b"".join(ip2b(a) for a in spec[3:].split(","))
    return spec.encode()


def tlv(code, value):
    out = b""
    while True:  # RFC 3396 split for long values
        out += bytes([code, min(len(value), 255)]) + value[:255]
        value = value[255:]
        if not value:
            return out


def bootp(op, xid, chaddr, options, ciaddr="0.0.0.0", yiaddr="0.0.0.0", siaddr="0.0.0.0",
          giaddr="0.0.0.0", flags=0, secs=0, hops=0):
    hdr = struct.pack("!BBBBIHH", op, 1, 6, hops, xid, secs, flags)
    hdr += ip2b(ciaddr) + ip2b(yiaddr) + ip2b(siaddr) + ip2b(giaddr)
    hdr += mac2b(chaddr).ljust(16, b"\0") + b"\0" * 64 + b"\0" * 128
    return (hdr + COOKIE + options + b"\xff").ljust(300, b"\0")


def parse_bootp(p):
    """Decode a BOOTP/DHCP payload into a plain dict (None if it is not one)."""
    if len(p) < 240 or p[236:240] != COOKIE:
        return None
    op, htype, hlen, hops, xid, secs, flags = struct.unpack("!BBBBIHH", p[:12])
    d = {"op": op, "xid": xid, "flags": flags, "hops": hops,
         "ciaddr": b2ip(p[12:16]), "yiaddr": b2ip(p[16:20]), "siaddr": b2ip(p[20:24]),
         "giaddr": b2ip(p[24:28]), "chaddr": p[28:28 + min(hlen, 16)].hex(":")}
    sname, file = p[44:108], p[108:236]
    opts = {}

    def walk(buf):
        i = 0
        while i < len(buf):
            c = buf[i]
            if c == 0:
                i += 1
                continue
            if c == 255 or i + 1 >= len(buf):
                break
            n = buf[i + 1]
            opts[c] = opts.get(c, b"") + buf[i + 2:i + 2 + n]  # RFC 3396 concatenation
            i += 2 + n
    walk(p[240:])
    ovl = opts.get(52, b"\0")[0]
    if ovl & 1:
        walk(file)
        file = b""
    if ovl & 2:
        walk(sname)
        sname = b""
    d["file"] = file.split(b"\0")[0].decode("latin-1")
    d["sname"] = sname.split(b"\0")[0].decode("latin-1")
    d["type"] = MSG_NAME.get(opts.get(53, b"\0")[0], "BOOTP") if 53 in opts else "BOOTP"
    d["options"] = {str(k): v.hex() for k, v in sorted(opts.items())}
    return d


def parse_frame(f):
    """Ethernet (optionally 802.1Q) / IPv4 / UDP -> (ip dst, udp dport, payload) or None."""
    if len(f) < 14:
        return None
    et, off = struct.unpack("!H", f[12:14])[0], 14
    if et == 0x8100:
        et, off = struct.unpack("!H", f[16:18])[0], 18
    if et != 0x0800 or len(f) < off + 20:
        return None
    ihl = (f[off] & 15) * 4
    if f[off + 9] != 17:
        return None
    dst = b2ip(f[off + 16:off + 20])
    u = off + ihl
    sport, dport = struct.unpack("!HH", f[u:u + 4])
    if 67 not in (sport, dport) and 68 not in (sport, dport):
        return None
    return dst, dport, f[u + 8:]


# ---------------------------------------------------------------------------
# Building a step's message from the scenario and one side's state.

class Side:
    """What one server told the clients so far."""

    def __init__(self, server):
        self.server = server
        self.offer = {}     # client -> (yiaddr, server id)
        self.lease = {}     # client -> address bound by the last ACK
        self.previous = {}  # client -> last address the client held or was offered

    def note(self, client, ans):
        if not ans:
            return
        sid = ans["options"].get("54")
        sid = b2ip(bytes.fromhex(sid)) if sid else self.server
        if ans["type"] == "OFFER":
            self.offer[client] = (ans["yiaddr"], sid)
        elif ans["type"] == "ACK" and ans["yiaddr"] != "0.0.0.0":
            self.lease[client] = ans["yiaddr"]
            self.previous[client] = ans["yiaddr"]


def resolve(val, client, side):
    if val is None:
        return None
    if val == "offer":
        return side.offer.get(client, ("0.0.0.0", side.server))[0]
    if val == "lease":
        return side.lease.get(client, "0.0.0.0")
    if val.startswith("lease:"):
        return side.lease.get(val[6:], "0.0.0.0")
    if val == "server":
        return side.server
    return val


def resolve_sid(val, client, side):
    if val == "offer":
        return side.offer.get(client, ("0.0.0.0", side.server))[1]
    return resolve(val, client, side)


def build(sc, k, side, server_mac):
    """(frame bytes, info dict) for step k on `side`."""
    st = sc["steps"][k]
    cl = sc["clients"][st["client"]]
    client = st["client"]
    mtype = MSG[st["msg"]]
    opts = tlv(53, bytes([mtype]))
    requested = resolve(st.get("requested"), client, side)
    ciaddr = resolve(st.get("ciaddr"), client, side) or "0.0.0.0"
    sid = resolve_sid(st.get("server_id"), client, side) if st.get("server_id") else None
    if sid:
        opts += tlv(54, ip2b(sid))
    if requested:
        opts += tlv(50, ip2b(requested))
    merged = dict(cl.get("opts", {}))
    merged.update(st.get("opts", {}))
    if mtype in (MSG["DECLINE"], MSG["RELEASE"]):  # RFC 2131 table 5: no PRL, no vendor options
        merged = {c: v for c, v in merged.items() if c in ("61", "12")}
    relay82 = merged.pop("82", None)
    for code, v in merged.items():
        opts += tlv(int(code), opt_bytes(v))
    if relay82:
        opts += tlv(82, opt_bytes(relay82))  # a relay appends 82 last
    giaddr = st.get("giaddr", "0.0.0.0")
    flags = 0x8000 if cl.get("broadcast") else 0
    payload = bootp(1, XID_BASE + k, cl["mac"], opts, ciaddr=ciaddr, giaddr=giaddr,
                    flags=flags, hops=st.get("hops", 0), secs=st.get("secs", 0))
    from scapy.all import Ether, IP, UDP, Raw  # noqa: E402
    if giaddr != "0.0.0.0":
        fr = Ether(src="02:00:00:00:0e:01", dst=server_mac) / IP(src=giaddr, dst=side.server) / \
            UDP(sport=67, dport=67) / Raw(payload)
    elif st.get("unicast"):
        fr = Ether(src=cl["mac"], dst=server_mac) / IP(src=ciaddr, dst=side.server) / \
            UDP(sport=68, dport=67) / Raw(payload)
    else:
        fr = Ether(src=cl["mac"], dst=CLIENT_MAC_DST) / IP(src=ciaddr, dst="255.255.255.255") / \
            UDP(sport=68, dport=67) / Raw(payload)
    info = {"requested": requested, "ciaddr": ciaddr, "server_id": sid}
    return bytes(fr), info


def expects_reply(st):
    return st["msg"] not in ("RELEASE", "DECLINE")


# ---------------------------------------------------------------------------
# live: ISC dhcpd over a veth

def run_live(args, sc):
    from scapy.all import sendp, wrpcap, Ether  # noqa: E402
    side = Side(sc["server"])
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    s.bind((args.iface, 0))
    out, frames = [], []
    t_end = time.monotonic() + args.budget
    for k, st in enumerate(sc["steps"]):
        fr, info = build(sc, k, side, args.server_mac)
        while True:  # drain whatever arrived late for earlier steps
            r, _, _ = select.select([s], [], [], 0)
            if not r:
                break
            s.recv(65535)
        # A client that unicasts from ciaddr holds that address: give it to
        # the client end for the step, so that the server's ARP is answered.
        tmp_addr = None
        if st.get("unicast") and info["ciaddr"] not in ("0.0.0.0", None):
            tmp_addr = "%s/32" % info["ciaddr"]
            if subprocess.run(["ip", "addr", "add", tmp_addr, "dev", args.iface],
                              capture_output=True).returncode != 0:
                tmp_addr = None
        t0 = time.time()
        sendp(Ether(fr), iface=args.iface, verbose=False)
        frames.append((t0, fr))
        wait = args.timeout if expects_reply(st) else args.silence
        wait = max(0.05, min(wait, t_end - time.monotonic()))
        deadline = time.monotonic() + wait
        answers = []
        while time.monotonic() < deadline:
            r, _, _ = select.select([s], [], [], max(0.0, deadline - time.monotonic()))
            if not r:
                break
            pkt, addr = s.recvfrom(65535)
            if addr[2] == socket.PACKET_OUTGOING:
                continue
            pf = parse_frame(pkt)
            if not pf:
                continue
            d = parse_bootp(pf[2])
            if not d or d["op"] != 2 or d["xid"] != XID_BASE + k:
                continue
            d["ip_dst"], d["dport"] = pf[0], pf[1]
            frames.append((time.time(), pkt))
            answers.append(d)
            # one answer is what we wait for; linger briefly for a duplicate
            deadline = min(deadline, time.monotonic() + 0.05)
        if tmp_addr:
            subprocess.run(["ip", "addr", "del", tmp_addr, "dev", args.iface], capture_output=True)
        ans = answers[0] if answers else None
        side.note(st["client"], ans)
        out.append({"id": st["id"], "sent": info, "answer": ans, "answers": len(answers)})
    s.close()
    if args.pcap:
        from scapy.all import Ether as E  # noqa: E402
        pk = []
        for t, b in frames:
            p = E(b)
            p.time = t
            pk.append(p)
        wrpcap(args.pcap, pk)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    return 0


# ---------------------------------------------------------------------------
# replay: rackdhcpd --replay, adaptively

def read_pcap(path):
    """Frames of a classic pcap file (what rackdhcpd --write produces) or pcapng via scapy."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return []
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        from scapy.all import rdpcap  # noqa: E402
        return [bytes(p) for p in rdpcap(path)]
    out, i = [], 24
    while i + 16 <= len(data):
        _, _, incl, _ = struct.unpack(e + "IIII", data[i:i + 16])
        out.append(data[i + 16:i + 16 + incl])
        i += 16 + incl
    return out


def run_replay(args, sc):
    from scapy.all import wrpcap, Ether  # noqa: E402
    side = Side(sc["server"])
    t0 = float(args.t0 or int(time.time()))
    frames, out, history = [], [], {}
    os.makedirs(args.tmp, exist_ok=True)
    inp, outp = os.path.join(args.tmp, "ours-in.pcap"), os.path.join(args.tmp, "ours-out.pcap")
    unstable = []
    for k, st in enumerate(sc["steps"]):
        fr, info = build(sc, k, side, args.server_mac)
        p = Ether(fr)
        p.time = t0 + k * args.step
        frames.append(p)
        wrpcap(inp, frames)
        if os.path.exists(outp):
            os.unlink(outp)
        cmd = [args.rackdhcpd, "--replay", inp, "--config", args.config, "--write", outp,
               "--link-address", sc["server"], "--server-mac", args.server_mac, "--quiet"]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        except subprocess.TimeoutExpired:
            print("replay timed out: " + " ".join(cmd), file=sys.stderr)
            return 1
        if r.returncode != 0:
            print("replay failed (%d): %s\n%s" % (r.returncode, " ".join(cmd), r.stderr), file=sys.stderr)
            return 1
        answers = {}
        for b in (read_pcap(outp) if os.path.exists(outp) else []):
            pf = parse_frame(b)
            d = parse_bootp(pf[2]) if pf else None
            if not d or d["op"] != 2:
                continue
            d["ip_dst"], d["dport"] = pf[0], pf[1]
            answers.setdefault(d["xid"] - XID_BASE, []).append(d)
        # earlier steps must come out the same as in the previous replay
        for j in range(k):
            a = answers.get(j, [None])[0]
            if json.dumps(a, sort_keys=True) != history.get(j):
                unstable.append("%s (replay %d)" % (sc["steps"][j]["id"], k + 1))
        mine = answers.get(k, [])
        ans = mine[0] if mine else None
        history[k] = json.dumps(ans, sort_keys=True)
        side.note(st["client"], ans)
        out.append({"id": st["id"], "sent": info, "answer": ans, "answers": len(mine)})
    with open(args.out, "w") as f:
        json.dump({"steps": out, "unstable": unstable}, f, indent=1)
    return 0


# ---------------------------------------------------------------------------
# compare

def in_pool(sc, a):
    lo, hi = (int(ipaddress.IPv4Address(x)) for x in sc["pool"])
    return a is not None and lo <= int(ipaddress.IPv4Address(a)) <= hi


def yiaddr_verdict(sc, st, rec, prev):
    """A string describing yiaddr by the step's rule, equal on both sides when they agree."""
    a = rec["answer"]
    if a is None:
        return "-"
    y = a["yiaddr"]
    if a["type"] == "NAK":
        return "zero" if y == "0.0.0.0" else "nonzero " + y
    rule = st.get("yiaddr", "pool")
    if rule == "zero":
        return "zero" if y == "0.0.0.0" else "nonzero " + y
    if rule == "pool":
        return "in pool" if in_pool(sc, y) else "not in pool: " + y
    if rule == "requested":
        req = rec["sent"].get("requested") or rec["sent"].get("ciaddr")
        return "= requested" if y == req else "%s, requested %s" % (y, req)
    if rule == "previous":
        return "= previous" if prev and y == prev else "%s, previous %s" % (y, prev)
    if rule == "new":
        if prev and y == prev:
            return "= previous (declined) " + y
        return "new, in pool" if in_pool(sc, y) else "not in pool: " + y
    return "= " + rule if y == rule else y


def compare_step(sc, k, ri, ro, prev_i, prev_o):
    """List of (field, isc, ours) differences for step k."""
    st = sc["steps"][k]
    ai, ao = ri["answer"], ro["answer"]
    ti = ai["type"] if ai else "none"
    to = ao["type"] if ao else "none"
    if ti != to:
        return [("type", ti, to)]
    if not ai:
        return []
    diffs = []
    vi, vo = yiaddr_verdict(sc, st, ri, prev_i), yiaddr_verdict(sc, st, ro, prev_o)
    if vi != vo:
        diffs.append(("yiaddr", "%s (%s)" % (ai["yiaddr"], vi), "%s (%s)" % (ao["yiaddr"], vo)))
    for f in ("siaddr", "file", "sname", "dport", "giaddr"):
        if ai.get(f) != ao.get(f):
            diffs.append((f, ai.get(f), ao.get(f)))
    di, do = dest_kind(ai, ri["sent"]), dest_kind(ao, ro["sent"])
    if di != do:  # RFC 2131 4.1: where the reply goes
        diffs.append(("destination", di, do))
    if (ai["flags"] ^ ao["flags"]) & 0x8000:
        diffs.append(("flags", hex(ai["flags"]), hex(ao["flags"])))
    oi, oo = ai["options"], ao["options"]
    for code in sorted(set(oi) | set(oo), key=int):
        if code in oi and code not in oo:
            diffs.append(("opt %s absent" % code, show_opt(code, oi[code]), "-"))
        elif code in oo and code not in oi:
            diffs.append(("opt %s extra" % code, "-", show_opt(code, oo[code])))
        elif oi[code] != oo[code]:
            diffs.append(("opt %s" % code, show_opt(code, oi[code]), show_opt(code, oo[code])))
    return diffs


def dest_kind(a, sent):
    d = a.get("ip_dst")
    if d == "255.255.255.255":
        return "broadcast"
    for name in ("giaddr", "yiaddr"):
        if d == a.get(name) and d != "0.0.0.0":
            return "unicast to " + name
    if d == sent.get("ciaddr"):
        return "unicast to ciaddr"
    return "unicast to " + str(d)


TEXT = {12, 15, 17, 56, 60, 66, 67, 210}
IPS = {1, 3, 6, 28, 42, 50, 54}
U32 = {51, 58, 59}


def show_opt(code, hx):
    b = bytes.fromhex(hx)
    c = int(code)
    try:
        if c in TEXT:
            return repr(b.decode())
        if c in IPS and len(b) % 4 == 0:
            return ",".join(b2ip(b[i:i + 4]) for i in range(0, len(b), 4))
        if c in U32 and len(b) == 4:
            return str(struct.unpack("!I", b)[0])
        if c == 53 and len(b) == 1:
            return MSG_NAME.get(b[0], str(b[0]))
    except (UnicodeDecodeError, OSError):
        pass
    return "0x" + hx


def allowed(step_id, field, ai, ao):
    for glob, f, pred, reason in ALLOW:
        if fnmatch.fnmatchcase(step_id, glob) and (f == field or fnmatch.fnmatchcase(field, f)):
            try:
                if pred is None or pred(ai, ao):
                    return reason
            except (KeyError, TypeError, ValueError):
                pass
    return None


def load_steps(path):
    with open(path) as f:
        d = json.load(f)
    return (d["steps"], d.get("unstable", [])) if isinstance(d, dict) else (d, [])


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, good, desc, diag=()):
        self.n += 1
        if not good:
            self.failed += 1
        print("%s %d - %s" % ("ok" if good else "not ok", self.n, desc))
        for line in diag:
            print("#   " + line)

    def plan(self):
        print("1..%d" % self.n)


def sanity(tap, sc, recs, label):
    """Each ISC answer is of the kind the scenario expects (else the set-up is wrong)."""
    for k, st in enumerate(sc["steps"]):
        a = recs[k]["answer"]
        got = a["type"] if a else "none"
        exp = st.get("expect", "any")
        good = exp == "any" or got == exp
        extra = [] if recs[k].get("answers", 1) <= 1 else ["%d answers (first one used)" % recs[k]["answers"]]
        tap.ok(good, "%s %s: %s (expected %s)" % (label, st["id"], got, exp), extra if good else
               ["sent " + json.dumps(recs[k]["sent"])] + extra)


def differences(sc, isc, ours):
    """Per step: (step, list of (field, isc, ours, reason-or-None))."""
    prev_i, prev_o, res = {}, {}, []
    for k, st in enumerate(sc["steps"]):
        c = st["client"]
        d = compare_step(sc, k, isc[k], ours[k], prev_i.get(c), prev_o.get(c))
        ai, ao = isc[k]["answer"], ours[k]["answer"]
        res.append((st, [(f, a, b, allowed(st["id"], f, ai, ao)) for f, a, b in d]))
        for prev, rec in ((prev_i, isc[k]), (prev_o, ours[k])):
            a = rec["answer"]
            if a and a["type"] in ("OFFER", "ACK") and a["yiaddr"] != "0.0.0.0":
                prev[c] = a["yiaddr"]
    return res


def summary(rec):
    a = rec["answer"]
    if not a:
        return "none"
    return "%s %s" % (a["type"], a["yiaddr"])


def run_compare(args, sc):
    isc, _ = load_steps(args.isc)
    ours, unstable = load_steps(args.ours)
    tap = Tap()
    if len(isc) != len(sc["steps"]) or len(ours) != len(sc["steps"]):
        print("Bail out! answer lists do not match the scenario (%d/%d/%d steps)"
              % (len(sc["steps"]), len(isc), len(ours)))
        return 1
    sanity(tap, sc, isc, "isc")
    tap.ok(not unstable, "replay is deterministic (earlier answers unchanged as the capture grows)",
           unstable[:10])
    for st, diffs in differences(sc, isc, ours):
        k = sc["steps"].index(st)
        bad = [d for d in diffs if d[3] is None]
        lines = []
        for f, a, b, why in diffs:
            lines.append("%-16s isc %-34s ours %s%s" % (f + ":", a, b, "   [allowed: %s]" % why if why else ""))
        tap.ok(not bad, "%s: isc %s, ours %s%s" % (st["id"], summary(isc[k]), summary(ours[k]),
                                                  "" if not diffs else " (%d difference%s, %d allowed)" % (
                                                      len(diffs), "s" * (len(diffs) != 1), len(diffs) - len(bad))),
               lines)
    tap.plan()
    return 1 if tap.failed else 0


def run_selftest(args, sc):
    """The comparison on ISC's answers alone: identity passes, perturbations are caught."""
    import copy
    isc, _ = load_steps(args.isc)
    tap = Tap()
    sanity(tap, sc, isc, "isc")
    res = differences(sc, isc, isc)
    tap.ok(all(not d for _, d in res), "isc compared with itself: no difference",
           ["%s: %s" % (st["id"], d) for st, d in res if d])
    ids = {st["id"]: k for k, st in enumerate(sc["steps"])}

    def perturb(step, fn, field):
        o = copy.deepcopy(isc)
        k = ids[step]
        fn(o[k])
        got = [f for f, *_ in differences(sc, isc, o)[k][1]]
        tap.ok(field in got, "perturbation of %s is caught as %r" % (step, field), ["got %s" % got])

    def shift_pool(r):  # another pool address is NOT a difference ...
        a = r["answer"]
        new = "192.0.2.199" if a["yiaddr"] != "192.0.2.199" else "192.0.2.198"
        if a.get("ip_dst") == a["yiaddr"]:
            a["ip_dst"] = new
        a["yiaddr"] = new
    o = copy.deepcopy(isc)
    shift_pool(o[ids["c1-discover"]])
    tap.ok(not differences(sc, isc, o)[ids["c1-discover"]][1],
           "another pool address on a fresh DISCOVER is not a difference")

    def set_opt(code, hx):
        return lambda r: r["answer"]["options"].__setitem__(code, hx)

    perturb("c1-request", lambda r: r["answer"].__setitem__("yiaddr", "192.0.2.5"), "yiaddr")
    perturb("c1-discover", lambda r: r["answer"].__setitem__("yiaddr", "192.0.2.5"), "yiaddr")
    perturb("rsv-discover", lambda r: r["answer"].__setitem__("yiaddr", "192.0.2.120"), "yiaddr")
    perturb("c1-request", set_opt("51", "00000e10"), "opt 51")
    perturb("c1-request", lambda r: r["answer"]["options"].pop("3"), "opt 3 absent")
    perturb("c1-request", set_opt("82", "0101ff"), "opt 82 extra")
    perturb("c4-reboot-not-mine", lambda r: r.__setitem__("answer", None), "type")
    perturb("c2-release", lambda r: r.__setitem__("answer", copy.deepcopy(isc[ids["c1-request"]]["answer"])), "type")
    perturb("bios-discover", lambda r: r["answer"].__setitem__("file", "bootx64.efi"), "file")
    perturb("bios-discover", lambda r: r["answer"].__setitem__("siaddr", "0.0.0.0"), "siaddr")

    def same_prev(r):
        r["answer"]["yiaddr"] = isc[ids["c3-request"]]["answer"]["yiaddr"]
    perturb("c3-discover-after-decline", same_prev, "yiaddr")
    tap.plan()
    return 1 if tap.failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=("live", "replay", "compare", "selftest"))
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--iface")
    ap.add_argument("--server-mac", default="02:00:00:00:00:01")
    ap.add_argument("--out")
    ap.add_argument("--pcap")
    ap.add_argument("--timeout", type=float, default=2.0, help="live: wait for an answer (s)")
    ap.add_argument("--silence", type=float, default=0.4, help="live: wait after RELEASE/DECLINE (s)")
    ap.add_argument("--budget", type=float, default=40.0, help="live: total time (s)")
    ap.add_argument("--rackdhcpd")
    ap.add_argument("--config")
    ap.add_argument("--tmp")
    ap.add_argument("--t0", type=int)
    ap.add_argument("--step", type=float, default=1.0, help="replay: seconds between messages")
    ap.add_argument("--isc")
    ap.add_argument("--ours")
    args = ap.parse_args()
    with open(args.scenario) as f:
        sc = json.load(f)
    return {"live": run_live, "replay": run_replay, "compare": run_compare,
            "selftest": run_selftest}[args.mode](args, sc)


if __name__ == "__main__":
    sys.exit(main())
